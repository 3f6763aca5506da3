# The tool's command-line conventions, man pages and bash completion
# (tests/conventions/test_conventions.py): each test_<case> is one ctest
# case, conventions.<case>.
if(TARGET rollsafe_cli AND TARGET rollsafe_docs)
  rs_add_script_tests(DIR ${CMAKE_CURRENT_SOURCE_DIR}/conventions
    LABEL conventions
    ENVIRONMENT "RS_MAN_DIR=${RS_MAN_DIR}"
                "RS_COMPLETION=${RS_COMPLETION}"
                "RS_SCHEMA_DIR=${RS_SCHEMA_DIR}")
endif()
