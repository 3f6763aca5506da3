# Runtime schemas end to end: tests/runtime/test_runtime.py drives the
# built `rollsafe` with --schema, --plugin and config files, and the
# feature matrix (messages written by Python's protobuf, read and written
# again through runtime descriptors). Each test_<case> is one ctest case,
# runtime.<case>.
if(TARGET rollsafe_cli)
  # Python's protobuf writes the records: Debian's python3-protobuf.
  set(RS_RUNTIME_PYTHON /usr/bin/python3 CACHE FILEPATH
      "Python with google.protobuf (Debian python3-protobuf) for the runtime tests")
  find_program(RS_RUNTIME_PROTOC protoc REQUIRED)

  add_executable(rs_runtime_roundtrip ${CMAKE_CURRENT_SOURCE_DIR}/runtime/roundtrip_main.c)
  target_link_libraries(rs_runtime_roundtrip PRIVATE rollsafe_static)
  target_compile_options(rs_runtime_roundtrip PRIVATE ${RS_WARNINGS})

  add_subdirectory(${PROJECT_SOURCE_DIR}/examples/plugin
                   ${CMAKE_CURRENT_BINARY_DIR}/example-plugin)

  set(script ${CMAKE_CURRENT_SOURCE_DIR}/runtime/test_runtime.py)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${script})
  file(STRINGS ${script} defs REGEX "^def test_[a-z0-9_]+\\(")
  foreach(def ${defs})
    string(REGEX REPLACE "^def test_([a-z0-9_]+)\\(.*" "\\1" case "${def}")
    add_test(NAME runtime.${case}
      COMMAND ${RS_RUNTIME_PYTHON} ${script}
              --rollsafe $<TARGET_FILE:rollsafe_cli>
              --roundtrip $<TARGET_FILE:rs_runtime_roundtrip>
              --plugin $<TARGET_FILE:rollsafe_example_plugin>
              --protoc ${RS_RUNTIME_PROTOC}
              --source ${PROJECT_SOURCE_DIR}
              --work ${CMAKE_CURRENT_BINARY_DIR}/runtime-work/${case}
              ${case})
    set_tests_properties(runtime.${case} PROPERTIES LABELS runtime)
  endforeach()
endif()

# examples/plugin built on its own against an installed rollsafe.
if(TARGET rollsafe_cli)
  add_test(NAME runtime.plugin_standalone
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/runtime/test_plugin_standalone.sh
      ${PROJECT_BINARY_DIR} ${PROJECT_SOURCE_DIR} ${CMAKE_C_COMPILER})
  set_tests_properties(runtime.plugin_standalone PROPERTIES LABELS runtime
    RESOURCE_LOCK rs_build_tree_install)
endif()
