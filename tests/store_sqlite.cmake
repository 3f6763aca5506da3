# The SQLite adapter's writing side (tests/store/check_store_sqlite_write.c):
# real database files, one ctest case per TCase (CK_RUN_CASE), each on files
# of its own so that they run in parallel:
#   ctest -R store_sqlite   (or -L store_sqlite)
add_executable(check_store_sqlite_write
  ${CMAKE_CURRENT_SOURCE_DIR}/store/check_store_sqlite_write.c)
target_link_libraries(check_store_sqlite_write PRIVATE rollsafe_store
                      PkgConfig::CHECK)
target_compile_options(check_store_sqlite_write PRIVATE ${RS_WARNINGS})

set(RS_SQLW_WORK ${CMAKE_CURRENT_BINARY_DIR}/store-sqlite-work)
set(RS_SQLW_CASES tables page_integer page_text page_where fix atomic busy
    wal restore purge runs readonly queue leases)
foreach(case ${RS_SQLW_CASES})
  add_test(NAME store_sqlite.${case} COMMAND check_store_sqlite_write)
  set_tests_properties(store_sqlite.${case} PROPERTIES
    LABELS store_sqlite TIMEOUT 120
    ENVIRONMENT "CK_FORK=no;CK_RUN_CASE=${case};RS_SQLW_WORK=${RS_SQLW_WORK}")
endforeach()

# The read-ahead store (tests/store/check_store_prefetch.c) on a SQLite file,
# and on the PostgreSQL test server (tests/postgres.cmake's fixture).
add_executable(check_store_prefetch
  ${CMAKE_CURRENT_SOURCE_DIR}/store/check_store_prefetch.c)
target_link_libraries(check_store_prefetch PRIVATE rollsafe_store
                      PkgConfig::CHECK)
target_compile_options(check_store_prefetch PRIVATE ${RS_WARNINGS})
add_test(NAME store_sqlite.prefetch COMMAND check_store_prefetch)
set_tests_properties(store_sqlite.prefetch PROPERTIES
  LABELS store_sqlite TIMEOUT 120
  ENVIRONMENT "CK_FORK=no;RS_PREFETCH_WORK=${CMAKE_CURRENT_BINARY_DIR}/store-prefetch-work")
add_test(NAME postgres.prefetch COMMAND check_store_prefetch)
set_tests_properties(postgres.prefetch PROPERTIES
  LABELS postgres TIMEOUT 120 FIXTURES_REQUIRED pg_server
  ENVIRONMENT "CK_FORK=no;RS_PG_CONNINFO_FILE=${RS_PG_CONNINFO_FILE}")

# The text of a composite key (tests/store/check_store_key.c): written and
# read back exactly; malformed texts refused.
add_executable(check_store_key ${CMAKE_CURRENT_SOURCE_DIR}/store/check_store_key.c)
target_link_libraries(check_store_key PRIVATE rollsafe_store PkgConfig::CHECK)
target_compile_options(check_store_key PRIVATE ${RS_WARNINGS})
add_test(NAME store_sqlite.key_text COMMAND check_store_key)
set_tests_properties(store_sqlite.key_text PROPERTIES
  LABELS store_sqlite TIMEOUT 60 ENVIRONMENT "CK_FORK=no")

# The ranges of scan --jobs (tests/store/check_store_ranges.c) on SQLite
# files: a split read range after range is one scan of the table.
add_executable(check_store_ranges
  ${CMAKE_CURRENT_SOURCE_DIR}/store/check_store_ranges.c)
target_link_libraries(check_store_ranges PRIVATE rollsafe_store
                      PkgConfig::CHECK)
target_compile_options(check_store_ranges PRIVATE ${RS_WARNINGS})
add_test(NAME store_sqlite.ranges COMMAND check_store_ranges)
set_tests_properties(store_sqlite.ranges PROPERTIES
  LABELS store_sqlite TIMEOUT 120
  ENVIRONMENT "CK_FORK=no;RS_RANGES_WORK=${CMAKE_CURRENT_BINARY_DIR}/store-ranges-work")
