# `rollsafe demo` tests: tests/cli/test_demo.py runs the built binary, then
# checks the database it wrote with Python's sqlite3 and protobuf (the schema
# compiled by protoc at run time), and asks `rollsafe inspect` and `rollsafe
# scan` what the old reader makes of each kind of row. Each test_<case>
# function in the script is one ctest case, demo.<case>; run them with
# `ctest -R demo` or `-L demo`. Without protoc or python3-protobuf they fail
# with a message saying so, never pass silently.
if(TARGET rollsafe_cli)
  set(RS_DEMO_PYTHON /usr/bin/python3 CACHE FILEPATH
      "Python with google.protobuf (Debian python3-protobuf) for the demo tests")
  find_program(RS_DEMO_PROTOC protoc)
  set(rs_demo_protoc "${RS_DEMO_PROTOC}")
  if(NOT RS_DEMO_PROTOC)
    message(WARNING "protoc not found: the demo tests will fail")
    set(rs_demo_protoc "")
  endif()

  set(RS_DEMO_TEST_SCRIPT ${CMAKE_CURRENT_SOURCE_DIR}/cli/test_demo.py)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${RS_DEMO_TEST_SCRIPT})
  file(STRINGS ${RS_DEMO_TEST_SCRIPT} rs_demo_defs REGEX "^def test_[a-z0-9_]+\\(")
  foreach(def ${rs_demo_defs})
    string(REGEX REPLACE "^def test_([a-z0-9_]+)\\(.*" "\\1" case "${def}")
    add_test(NAME demo.${case}
      COMMAND ${RS_DEMO_PYTHON} ${RS_DEMO_TEST_SCRIPT}
              --rollsafe $<TARGET_FILE:rollsafe_cli>
              --protoc "${rs_demo_protoc}"
              --schema ${PROJECT_SOURCE_DIR}/schema
              --work ${CMAKE_CURRENT_BINARY_DIR}/demo-work
              ${case})
    set_tests_properties(demo.${case} PROPERTIES
      LABELS demo
      TIMEOUT 300)
  endforeach()
endif()
