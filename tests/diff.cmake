# rollsafe diff: the table-driven suite. Each folder of tests/diff/cases/ is
# one ctest case, diff.case.<folder>: tests/diff/run_case.py runs the built
# `rollsafe diff` on the folder's .proto versions (compiled by protoc at test
# time, directly and as descriptor sets) and compares the findings with
# expected.json exactly. Run them with `ctest -L diff`.
if(TARGET rollsafe_cli)
  find_package(Python3 COMPONENTS Interpreter REQUIRED)
  find_program(RS_DIFF_PROTOC protoc)
  if(NOT RS_DIFF_PROTOC)
    set(RS_DIFF_PROTOC "")
  endif()
  set(rs_diff_cases_dir ${CMAKE_CURRENT_SOURCE_DIR}/diff/cases)
  file(GLOB rs_diff_cases LIST_DIRECTORIES true CONFIGURE_DEPENDS
       ${rs_diff_cases_dir}/*)
  foreach(dir ${rs_diff_cases})
    if(IS_DIRECTORY ${dir})
      get_filename_component(case ${dir} NAME)
      add_test(NAME diff.case.${case}
        COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/diff/run_case.py
                --rollsafe $<TARGET_FILE:rollsafe_cli>
                --protoc "${RS_DIFF_PROTOC}"
                --repo ${PROJECT_SOURCE_DIR}
                --work ${CMAKE_CURRENT_BINARY_DIR}/diff-work
                ${dir})
      set_tests_properties(diff.case.${case} PROPERTIES LABELS diff)
    endif()
  endforeach()
endif()
