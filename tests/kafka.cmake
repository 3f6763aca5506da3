# Kafka topic targets: tests/kafka/test_scan_kafka.py against librdkafka's
# mock cluster, started by the helper kafka_mock (no broker runs in CI). Set
# RS_KAFKA_BOOTSTRAP in the environment of ctest to run the same cases
# against a real cluster instead.
if(TARGET rollsafe_cli)
  pkg_check_modules(RDKAFKA_TEST REQUIRED IMPORTED_TARGET rdkafka)
  add_executable(kafka_mock ${CMAKE_CURRENT_SOURCE_DIR}/kafka/kafka_mock.c)
  target_link_libraries(kafka_mock PRIVATE PkgConfig::RDKAFKA_TEST)
  target_compile_options(kafka_mock PRIVATE ${RS_WARNINGS})
  # A producer that sets provenance headers with rs_provenance_headers().
  add_executable(kafka_provenance_produce
                 ${CMAKE_CURRENT_SOURCE_DIR}/kafka/kafka_provenance_produce.c)
  target_link_libraries(kafka_provenance_produce PRIVATE rollsafe_static
                        PkgConfig::RDKAFKA_TEST)
  target_compile_options(kafka_provenance_produce PRIVATE ${RS_WARNINGS})
  set(kafka_env "RS_KAFKA_MOCK=$<TARGET_FILE:kafka_mock>"
      "RS_KAFKA_PRODUCE=$<TARGET_FILE:kafka_provenance_produce>")
  if(DEFINED ENV{RS_KAFKA_BOOTSTRAP})
    list(APPEND kafka_env "RS_KAFKA_BOOTSTRAP=$ENV{RS_KAFKA_BOOTSTRAP}")
  endif()
  rs_add_script_tests(DIR ${CMAKE_CURRENT_SOURCE_DIR}/kafka LABEL kafka
                      ENVIRONMENT ${kafka_env})
endif()
