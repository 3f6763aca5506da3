# The rollback rehearsal (tests/rehearsal/): the migrations of migrations/,
# a service writing through the codec with checkout_v2 at 20%
# (rehearsal_service), an old reader built only from the version-1 .proto
# (old_reader) with its outbox workers (old_consumer), and the flag-kill cycle of scan, fix, down migration, up
# migration and restore, on SQLite and on the PostgreSQL server of
# tests/postgres.cmake:
#   ctest -L rehearsal
pkg_check_modules(RS_REH_SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
pkg_check_modules(RS_REH_LIBPQ REQUIRED IMPORTED_TARGET libpq)

# The old reader's own protoc-c run on schema/shop/v1/order.proto: its code
# shares nothing with the library's generated code, as old service code
# would not.
set(RS_OLD_GEN ${CMAKE_CURRENT_BINARY_DIR}/old_reader_gen)
add_custom_command(
  OUTPUT ${RS_OLD_GEN}/shop/v1/order.pb-c.c ${RS_OLD_GEN}/shop/v1/order.pb-c.h
  COMMAND ${CMAKE_COMMAND} -E make_directory ${RS_OLD_GEN}
  COMMAND ${PROTOC_C} --c_out=${RS_OLD_GEN} -I${RS_SCHEMA_DIR}
          ${RS_SCHEMA_DIR}/shop/v1/order.proto
  DEPENDS ${RS_SCHEMA_DIR}/shop/v1/order.proto
  COMMENT "protoc-c shop/v1/order.proto for old_reader"
  VERBATIM)
# old_reader reads every record; old_consumer takes outbox messages as the
# old workers do. Both judge a record with old_record.c.
set(RS_OLD_DIR ${CMAKE_CURRENT_SOURCE_DIR}/old_reader)
foreach(prog old_reader old_consumer)
  add_executable(${prog} ${RS_OLD_DIR}/${prog}.c ${RS_OLD_DIR}/old_record.c
                 ${RS_OLD_GEN}/shop/v1/order.pb-c.c)
  target_include_directories(${prog} PRIVATE ${RS_OLD_GEN})
  target_link_libraries(${prog} PRIVATE PkgConfig::PROTOBUFC
                        PkgConfig::RS_REH_SQLITE3 PkgConfig::RS_REH_LIBPQ)
endforeach()
set_source_files_properties(${RS_OLD_DIR}/old_reader.c
  ${RS_OLD_DIR}/old_consumer.c ${RS_OLD_DIR}/old_record.c
  PROPERTIES COMPILE_OPTIONS "${RS_WARNINGS}")

add_executable(rehearsal_service ${CMAKE_CURRENT_SOURCE_DIR}/rehearsal/service.c)
target_link_libraries(rehearsal_service PRIVATE rollsafe_example rollsafe_static
                      PkgConfig::RS_REH_SQLITE3 PkgConfig::RS_REH_LIBPQ)
target_compile_options(rehearsal_service PRIVATE ${RS_WARNINGS})

# Each test_<case> of tests/rehearsal/test_*.py is one ctest case,
# <script>.<case>, labelled rehearsal. protoc builds the descriptor sets the
# CI recipe (examples/ci) is run with.
if(TARGET rollsafe_cli)
  find_program(RS_REH_PROTOC protoc REQUIRED)
  rs_add_script_tests(DIR ${CMAKE_CURRENT_SOURCE_DIR}/rehearsal
    LABEL rehearsal
    ENVIRONMENT "RS_PROTOC=${RS_REH_PROTOC}"
                "RS_OLD_READER=$<TARGET_FILE:old_reader>"
                "RS_OLD_CONSUMER=$<TARGET_FILE:old_consumer>"
                "RS_SERVICE=$<TARGET_FILE:rehearsal_service>"
                "RS_MIGRATIONS=${PROJECT_SOURCE_DIR}/migrations")
endif()
