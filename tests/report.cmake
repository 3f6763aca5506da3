# Report tests: tests/report/check_scan_report.c renders scan reports built
# by hand (undetermined records of both kinds, unattributed counts, a scan
# that verified nothing) as JSON, text and OpenMetrics, so that kinds of
# records the codec's inference produces only in some registries are
# checked without them; one ctest case, report.scan_report.
if(TARGET rollsafe_report)
  add_executable(check_scan_report
                 ${CMAKE_CURRENT_SOURCE_DIR}/report/check_scan_report.c)
  target_link_libraries(check_scan_report PRIVATE rollsafe_report
                        PkgConfig::CHECK)
  target_compile_options(check_scan_report PRIVATE ${RS_WARNINGS})
  add_test(NAME report.scan_report COMMAND check_scan_report)
  set_tests_properties(report.scan_report PROPERTIES
    LABELS report
    ENVIRONMENT "CK_FORK=no")
endif()

# The JSON documents against their schemas (schema/json/, validated with
# python3-jsonschema on real outputs of the demo database; a document with a
# member removed is refused), and the reason codes alike in the codec,
# docs/reasons.md and the schemas: report_schemas.<case>, reasons.<case>.
# report_schemas_postgres.* needs the server of tests/postgres.cmake.
if(TARGET rollsafe_cli)
  rs_add_script_tests(DIR ${CMAKE_CURRENT_SOURCE_DIR}/report LABEL report)
endif()
