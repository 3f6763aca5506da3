# PostgreSQL tests: a throwaway server (tests/pg/pg_server.sh) as the ctest
# fixture pg_server, and the check suite of the PostgreSQL adapter
# (tests/store/check_store_postgres.c), one ctest case per TCase:
#   ctest -R postgres   (or -L postgres)
# A missing PostgreSQL fails postgres.server.start, and with it every test
# that needs the server: never a skip.
set(RS_PG_BIN /usr/lib/postgresql/15/bin CACHE PATH
    "PostgreSQL server binaries (initdb, pg_ctl, postgres, psql) for the tests")

# The server runs as postgres when the tests run as root, and that user may
# not reach the build tree: its directory is under /tmp, one per build tree.
string(MD5 rs_pg_hash "${CMAKE_BINARY_DIR}")
string(SUBSTRING "${rs_pg_hash}" 0 12 rs_pg_hash)
set(RS_PG_DIR /tmp/rollsafe-pg-${rs_pg_hash})
set(RS_PG_CONNINFO_FILE ${CMAKE_CURRENT_BINARY_DIR}/pg-conninfo)
set(RS_PG_SCRIPT ${CMAKE_CURRENT_SOURCE_DIR}/pg/pg_server.sh)

add_test(NAME postgres.server.start
  COMMAND sh ${RS_PG_SCRIPT} start ${RS_PG_DIR} ${RS_PG_CONNINFO_FILE})
add_test(NAME postgres.server.stop
  COMMAND sh ${RS_PG_SCRIPT} stop ${RS_PG_DIR} ${RS_PG_CONNINFO_FILE})
set_tests_properties(postgres.server.start PROPERTIES
  FIXTURES_SETUP pg_server LABELS postgres TIMEOUT 120
  ENVIRONMENT "PG_BIN=${RS_PG_BIN}")
set_tests_properties(postgres.server.stop PROPERTIES
  FIXTURES_CLEANUP pg_server LABELS postgres TIMEOUT 120
  ENVIRONMENT "PG_BIN=${RS_PG_BIN}")

add_executable(check_store_postgres
  ${CMAKE_CURRENT_SOURCE_DIR}/store/check_store_postgres.c)
target_link_libraries(check_store_postgres PRIVATE rollsafe_store
                      PkgConfig::CHECK)
target_compile_options(check_store_postgres PRIVATE ${RS_WARNINGS})

# One ctest case per TCase (CK_RUN_CASE), so that they run in parallel; each
# works in schemas of its own. copy_format needs no server.
set(RS_PG_CASES copy_format connection identifiers stream where session
    estimate password cancel writer_setup writer_page writer_fix writer_busy
    writer_restore writer_runs writer_queue)
foreach(case ${RS_PG_CASES})
  add_test(NAME postgres.store.${case} COMMAND check_store_postgres)
  set_tests_properties(postgres.store.${case} PROPERTIES
    LABELS postgres TIMEOUT 300
    ENVIRONMENT "CK_FORK=no;CK_RUN_CASE=${case};RS_PG_CONNINFO_FILE=${RS_PG_CONNINFO_FILE}")
  if(NOT case STREQUAL "copy_format")
    set_tests_properties(postgres.store.${case} PROPERTIES
      FIXTURES_REQUIRED pg_server)
  endif()
endforeach()

# The snapshot the jobs of a parallel scan share (store_export_snapshot,
# store_open_snapshot; tests/store/check_store_snapshot.c).
add_executable(check_store_snapshot
  ${CMAKE_CURRENT_SOURCE_DIR}/store/check_store_snapshot.c)
target_link_libraries(check_store_snapshot PRIVATE rollsafe_store
                      PkgConfig::CHECK)
target_compile_options(check_store_snapshot PRIVATE ${RS_WARNINGS})
add_test(NAME postgres.store.snapshot COMMAND check_store_snapshot)
set_tests_properties(postgres.store.snapshot PROPERTIES
  LABELS postgres TIMEOUT 120 FIXTURES_REQUIRED pg_server
  ENVIRONMENT "CK_FORK=no;RS_PG_CONNINFO_FILE=${RS_PG_CONNINFO_FILE}")
