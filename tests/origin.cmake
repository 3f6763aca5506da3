# Where the reader's schema came from, in the reports of scan, fix,
# inspect and diff (tests/origin/test_origin.py): each test_<case> is one
# ctest case, origin.<case>. The plugin is examples/plugin, built by
# tests/runtime.cmake.
if(TARGET rollsafe_cli)
  rs_add_script_tests(DIR ${CMAKE_CURRENT_SOURCE_DIR}/origin
    LABEL origin
    ENVIRONMENT "RS_PLUGIN=$<TARGET_FILE:rollsafe_example_plugin>"
                "RS_FIXTURES=${RS_FIXTURES_DIR}"
                "RS_SCHEMA_DIR=${RS_SCHEMA_DIR}")
endif()
