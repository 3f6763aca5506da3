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

# Every diff rule: a record that hits it, scanned; the verdict equals the
# rule's stated consequence. Each folder of tests/diff/rules/ is one ctest
# case, diff.rule.<folder>: tests/diff/run_rule.py writes the folder's record
# with Python's protobuf (new.proto), reads it with the C code protoc-c
# generates from old.proto, and checks that protobuf-c's reading, the
# verdict `rollsafe diff` states for the rule and the verdict `rollsafe scan`
# gives the record stored in a SQLite table all agree. diff.rule.coverage
# checks that every rule has a record or a reason why none can hit it
# (tests/diff/rules/not_applicable.json).
if(TARGET rollsafe_cli)
  set(RS_DIFF_RULE_PYTHON /usr/bin/python3 CACHE FILEPATH
      "Python with google.protobuf (Debian python3-protobuf) for the diff rule records")
  find_program(RS_DIFF_PROTOC_C protoc-c)
  set(rs_diff_rules_dir ${CMAKE_CURRENT_SOURCE_DIR}/diff/rules)
  set(rs_diff_rule_script ${CMAKE_CURRENT_SOURCE_DIR}/diff/run_rule.py)
  add_test(NAME diff.rule.coverage
    COMMAND ${RS_DIFF_RULE_PYTHON} ${rs_diff_rule_script}
            --rollsafe $<TARGET_FILE:rollsafe_cli>
            --work ${CMAKE_CURRENT_BINARY_DIR}/diff-rule-work/coverage
            --coverage ${rs_diff_rules_dir})
  set_tests_properties(diff.rule.coverage PROPERTIES LABELS diff)
  if(RS_DIFF_PROTOC AND RS_DIFF_PROTOC_C)
    file(GLOB rs_diff_rules LIST_DIRECTORIES true CONFIGURE_DEPENDS
         ${rs_diff_rules_dir}/*)
    foreach(dir ${rs_diff_rules})
      if(IS_DIRECTORY ${dir})
        get_filename_component(rule ${dir} NAME)
        add_test(NAME diff.rule.${rule}
          COMMAND ${RS_DIFF_RULE_PYTHON} ${rs_diff_rule_script}
                  --rollsafe $<TARGET_FILE:rollsafe_cli>
                  --protoc ${RS_DIFF_PROTOC}
                  --protoc-c ${RS_DIFF_PROTOC_C}
                  --cc ${CMAKE_C_COMPILER}
                  --work ${CMAKE_CURRENT_BINARY_DIR}/diff-rule-work
                  ${dir})
        set_tests_properties(diff.rule.${rule} PROPERTIES LABELS "diff;diff_rule")
      endif()
    endforeach()
  endif()
endif()
