#define _POSIX_C_SOURCE 200809L
/*
 * The shared snapshot of a parallel scan (store_export_snapshot,
 * store_open_snapshot) on the PostgreSQL test server: a store opened with
 * another store's exported snapshot reads the table as it was when that
 * store's transaction began, not the rows committed since; a store opened
 * without one sees them; a snapshot that does not exist fails the open.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store/store.h"

static char conninfo[1024];

static const char *pg(void) {
  if (conninfo[0] == '\0') {
    const char *path = getenv("RS_PG_CONNINFO_FILE");
    ck_assert_msg(path != NULL, "RS_PG_CONNINFO_FILE is not set");
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "no conninfo file %s", path);
    ck_assert_ptr_nonnull(fgets(conninfo, sizeof conninfo, f));
    fclose(f);
    conninfo[strcspn(conninfo, "\n")] = '\0';
  }
  return conninfo;
}

static void exec(PGconn *c, const char *q) {
  PGresult *r = PQexec(c, q);
  ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", q,
                PQresultErrorMessage(r));
  PQclear(r);
}

static store_target target(void) {
  store_target t;
  memset(&t, 0, sizeof t);
  t.name = "snap";
  t.kind = STORE_POSTGRES_TABLE;
  t.connection = pg();
  t.table = "snapshot_test.t";
  t.key = "id";
  t.column = "v";
  return t;
}

static size_t rows_of(store *s) {
  store_error err;
  ck_assert_msg(store_scan(s, &err) == STORE_OK, "%s", err.message);
  store_row row;
  size_t n = 0;
  int got;
  while ((got = store_next(s, &row, &err)) == 1) n++;
  ck_assert_msg(got == 0, "%s", err.message);
  return n;
}

START_TEST(shared_snapshot) {
  PGconn *c = PQconnectdb(pg());
  ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
  exec(c, "SET client_min_messages = warning");
  exec(c, "DROP SCHEMA IF EXISTS snapshot_test CASCADE");
  exec(c, "CREATE SCHEMA snapshot_test");
  exec(c, "CREATE TABLE snapshot_test.t (id int PRIMARY KEY, v bytea)");
  exec(c,
       "INSERT INTO snapshot_test.t SELECT i, '\\x08'::bytea FROM "
       "generate_series(1, 100) i");

  store_target t = target();
  store_open_options o = {0, 0};
  store_error err;
  store *first = NULL;
  ck_assert_msg(store_open(&first, &t, &o, &err) == STORE_OK, "%s",
                err.message);
  char snap[64];
  ck_assert_msg(
      store_export_snapshot(first, snap, sizeof snap, &err) == STORE_OK, "%s",
      err.message);
  ck_assert_str_ne(snap, "");

  /* Committed after the first store's snapshot. */
  exec(c,
       "INSERT INTO snapshot_test.t SELECT i, '\\x08'::bytea FROM "
       "generate_series(101, 150) i");
  exec(c, "DELETE FROM snapshot_test.t WHERE id <= 10");

  store *shared = NULL, *own = NULL;
  ck_assert_msg(store_open_snapshot(&shared, &t, &o, snap, &err) == STORE_OK,
                "%s", err.message);
  ck_assert_msg(store_open_snapshot(&own, &t, &o, NULL, &err) == STORE_OK, "%s",
                err.message);
  ck_assert_uint_eq(rows_of(shared), 100);
  ck_assert_uint_eq(rows_of(own), 140);
  store_close(shared);
  store_close(own);
  store_close(first);

  /* The exporting transaction is gone: its snapshot with it. */
  store *late = NULL;
  ck_assert_int_ne(store_open_snapshot(&late, &t, &o, snap, &err), STORE_OK);
  ck_assert_ptr_null(late);
  ck_assert_msg(strstr(err.message, "snapshot") != NULL, "%s", err.message);
  exec(c, "DROP SCHEMA snapshot_test CASCADE");
  PQfinish(c);
}
END_TEST

int main(void) {
  Suite *s = suite_create("store_snapshot");
  TCase *tc = tcase_create("snapshot");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, shared_snapshot);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
