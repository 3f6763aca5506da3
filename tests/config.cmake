# Configuration file tests: tests/config/check_config.c on the YAML parser of
# src/cli/config.c (the rollsafe_config library), one ctest case for its unit
# tests (config.unit) and one per folder of tests/config/cases/
# (config.case.<folder>); run them with `ctest -R config` or `-L config`.
if(TARGET rollsafe_config)
  set(RS_CONFIG_CASES_DIR ${CMAKE_CURRENT_SOURCE_DIR}/config/cases)

  add_executable(check_config ${CMAKE_CURRENT_SOURCE_DIR}/config/check_config.c)
  target_link_libraries(check_config PRIVATE rollsafe_config PkgConfig::CHECK)
  target_compile_options(check_config PRIVATE ${RS_WARNINGS})

  # One process per ctest case (CK_FORK=no), so LeakSanitizer sees each.
  add_test(NAME config.unit COMMAND check_config)
  set_tests_properties(config.unit PROPERTIES
    LABELS config
    ENVIRONMENT "CK_FORK=no;CK_RUN_CASE=unit;RS_CONFIG_CASES=${RS_CONFIG_CASES_DIR}")

  file(GLOB rs_config_cases LIST_DIRECTORIES true CONFIGURE_DEPENDS
       ${RS_CONFIG_CASES_DIR}/*)
  foreach(dir ${rs_config_cases})
    if(IS_DIRECTORY ${dir})
      get_filename_component(case ${dir} NAME)
      add_test(NAME config.case.${case} COMMAND check_config)
      set_tests_properties(config.case.${case} PROPERTIES
        LABELS config
        ENVIRONMENT "CK_FORK=no;CK_RUN_CASE=cases;RS_CONFIG_CASES=${RS_CONFIG_CASES_DIR};RS_CONFIG_CASE=${case}")
    endif()
  endforeach()
endif()
