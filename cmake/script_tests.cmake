# rs_add_script_tests(DIR <dir> LABEL <label> [ENVIRONMENT <VAR=value>...]):
# every test_<case> function of <dir>/test_<group>.py becomes the ctest case
# <group>.<case>, run with the system Python as
#   test_<group>.py --rollsafe BIN --work WORKDIR <case>
# Scripts named *_postgres need the server of tests/postgres.cmake (fixture
# pg_server) and get its conninfo file as RS_PG_CONNINFO_FILE.
function(rs_add_script_tests)
  cmake_parse_arguments(ARG "" "DIR;LABEL" "ENVIRONMENT" ${ARGN})
  # Debian's interpreter: python3-protobuf, psycopg2 and PyYAML are
  # installed for it.
  set(python /usr/bin/python3)
  file(GLOB scripts CONFIGURE_DEPENDS ${ARG_DIR}/test_*.py)
  foreach(script ${scripts})
    get_filename_component(group ${script} NAME_WE)
    string(REGEX REPLACE "^test_" "" group ${group})
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${script})
    file(STRINGS ${script} defs REGEX "^def test_[a-z0-9_]+\\(")
    set(env ${ARG_ENVIRONMENT})
    if(group MATCHES "_postgres$")
      list(APPEND env "RS_PG_CONNINFO_FILE=${CMAKE_CURRENT_BINARY_DIR}/pg-conninfo")
    endif()
    foreach(def ${defs})
      string(REGEX REPLACE "^def test_([a-z0-9_]+)\\(.*" "\\1" case "${def}")
      add_test(NAME ${group}.${case}
        COMMAND ${python} ${script}
                --rollsafe $<TARGET_FILE:rollsafe_cli>
                --work ${CMAKE_CURRENT_BINARY_DIR}/${ARG_LABEL}-work/${group}
                ${case})
      set_tests_properties(${group}.${case} PROPERTIES LABELS ${ARG_LABEL}
                           TIMEOUT 600)
      if(env)
        set_tests_properties(${group}.${case} PROPERTIES ENVIRONMENT "${env}")
      endif()
      if(group MATCHES "_postgres$")
        set_tests_properties(${group}.${case} PROPERTIES
          FIXTURES_REQUIRED pg_server)
      endif()
    endforeach()
  endforeach()
endfunction()
