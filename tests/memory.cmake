# Memory-limit tests (tests/memory/test_memory.py): hostile records of a
# few MB judged by `rollsafe scan` and `rollsafe inspect` under an
# address-space limit, with their peak RSS measured. AddressSanitizer
# reserves terabytes of address space and adds its own memory, so under
# RS_SANITIZE the tests run a second, plain Release build of the CLI that
# the fixture memory.release_cli makes in the build tree.
if(TARGET rollsafe_cli)
  set(rs_memory_script ${CMAKE_CURRENT_SOURCE_DIR}/memory/test_memory.py)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${rs_memory_script})
  if(RS_SANITIZE)
    set(rs_memory_dir ${CMAKE_CURRENT_BINARY_DIR}/memory-release)
    add_test(NAME memory.release_cli
      COMMAND ${CMAKE_COMMAND} -E env --unset=CFLAGS --unset=LDFLAGS
              sh -c "${CMAKE_COMMAND} -S '${PROJECT_SOURCE_DIR}' -B '${rs_memory_dir}' -DCMAKE_BUILD_TYPE=Release -DRS_SANITIZE=OFF -DRS_WERROR=OFF -DRS_BUILD_TESTS=OFF -DRS_BUILD_CLI=ON >/dev/null && ${CMAKE_COMMAND} --build '${rs_memory_dir}' --target rollsafe_cli --parallel 2")
    set_tests_properties(memory.release_cli PROPERTIES
      LABELS memory TIMEOUT 1200 FIXTURES_SETUP rs_release_cli)
    set(rs_memory_cli ${rs_memory_dir}/src/cli/rollsafe)
  else()
    set(rs_memory_cli $<TARGET_FILE:rollsafe_cli>)
  endif()
  file(STRINGS ${rs_memory_script} rs_memory_defs REGEX "^def test_[a-z0-9_]+\\(")
  foreach(def ${rs_memory_defs})
    string(REGEX REPLACE "^def test_([a-z0-9_]+)\\(.*" "\\1" case "${def}")
    add_test(NAME memory.${case}
      COMMAND /usr/bin/python3 ${rs_memory_script}
              --rollsafe ${rs_memory_cli}
              --work ${CMAKE_CURRENT_BINARY_DIR}/memory-work
              ${case})
    set_tests_properties(memory.${case} PROPERTIES LABELS memory TIMEOUT 600)
    if(RS_SANITIZE)
      set_tests_properties(memory.${case} PROPERTIES
        FIXTURES_REQUIRED rs_release_cli)
    endif()
  endforeach()
endif()
