# Integration tests: tests/integration/test_<target kind>.py run the built
# `rollsafe` on real databases. Each test_<case> function of a script is one
# ctest case, <script>.<case> (e.g. scan_sqlite.known_mix_envelope_reader).
if(TARGET rollsafe_cli)
  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  # Debian's interpreter: python3-protobuf and psycopg2 are installed for it.
  set(RS_SYSTEM_PYTHON /usr/bin/python3)
  file(GLOB rs_integration_scripts CONFIGURE_DEPENDS
       ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_*.py)
  foreach(script ${rs_integration_scripts})
    get_filename_component(group ${script} NAME_WE)
    string(REGEX REPLACE "^test_" "" group ${group})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${script})
    file(STRINGS ${script} defs REGEX "^def test_[a-z0-9_]+\\(")
    foreach(def ${defs})
      string(REGEX REPLACE "^def test_([a-z0-9_]+)\\(.*" "\\1" case "${def}")
      add_test(NAME ${group}.${case}
        COMMAND ${RS_SYSTEM_PYTHON} ${script}
                --rollsafe $<TARGET_FILE:rollsafe_cli>
                --work ${CMAKE_CURRENT_BINARY_DIR}/integration-work/${group}
                ${case})
      set_tests_properties(${group}.${case} PROPERTIES LABELS integration
                           TIMEOUT 600)
      # Scripts named *_postgres need the server of tests/postgres.cmake.
      if(group MATCHES "_postgres$")
        set_tests_properties(${group}.${case} PROPERTIES
          FIXTURES_REQUIRED pg_server
          ENVIRONMENT "RS_PG_CONNINFO_FILE=${CMAKE_CURRENT_BINARY_DIR}/pg-conninfo")
      endif()
    endforeach()
  endforeach()
endif()
