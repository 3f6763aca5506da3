# The README and docs/ (tests/docs/test_docs.py): each test_<case> is one
# ctest case, docs.<case>: the README's length, every relative link, the
# README's quickstart run against the built tool, every config key
# documented.
if(TARGET rollsafe_cli)
  rs_add_script_tests(DIR ${CMAKE_CURRENT_SOURCE_DIR}/docs
    LABEL docs
    ENVIRONMENT "RS_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endif()
