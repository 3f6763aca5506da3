# The fixer's own helpers (src/verify/): its random source.
add_executable(check_verify_random ${CMAKE_CURRENT_SOURCE_DIR}/verify/check_random.c)
target_link_libraries(check_verify_random PRIVATE rollsafe_verify PkgConfig::CHECK)
target_compile_options(check_verify_random PRIVATE ${RS_WARNINGS})
add_test(NAME unit.check_verify_random COMMAND check_verify_random)
set_tests_properties(unit.check_verify_random PROPERTIES ENVIRONMENT "CK_FORK=no")

# fix_result_merge: the parts of one target (fix --jobs, --shard) add up
# to the report of one fix.
add_executable(check_fix_merge ${CMAKE_CURRENT_SOURCE_DIR}/verify/check_fix_merge.c)
target_link_libraries(check_fix_merge PRIVATE rollsafe_verify PkgConfig::CHECK)
target_compile_options(check_fix_merge PRIVATE ${RS_WARNINGS})
add_test(NAME unit.check_fix_merge COMMAND check_fix_merge)
set_tests_properties(unit.check_fix_merge PROPERTIES ENVIRONMENT "CK_FORK=no")

# fix_planner_plan: what fix would write for one record, and the why that
# names every loss of it (safety promise 6).
add_executable(check_fix_plan ${CMAKE_CURRENT_SOURCE_DIR}/verify/check_fix_plan.c)
target_link_libraries(check_fix_plan PRIVATE rollsafe_verify rs_testutil
                      PkgConfig::CHECK)
target_compile_options(check_fix_plan PRIVATE ${RS_WARNINGS})
add_test(NAME unit.check_fix_plan COMMAND check_fix_plan)
set_tests_properties(unit.check_fix_plan PROPERTIES ENVIRONMENT "CK_FORK=no")
