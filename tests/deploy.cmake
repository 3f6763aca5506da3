# The assumptions examples/kubernetes states (tests/deploy/test_deploy.py):
# each test_<case> is one ctest case, deploy.<case>.
if(TARGET rollsafe_cli)
  rs_add_script_tests(DIR ${CMAKE_CURRENT_SOURCE_DIR}/deploy
    LABEL deploy
    ENVIRONMENT "RS_EXAMPLES=${PROJECT_SOURCE_DIR}/examples"
                "RS_SCHEMA_DIR=${RS_SCHEMA_DIR}")
endif()
