#define _POSIX_C_SOURCE 200809L
/*
 * The SQLite adapter's writing side (store_open_writer and the operations
 * after it) against real database files. Each TCase is one ctest case
 * (CK_RUN_CASE) and works on files of its own under RS_SQLW_WORK, so the
 * cases can run in parallel.
 *
 * What the store did is checked through a second, plain sqlite3 connection:
 * the table's bytes, the backup rows and the run row as SQLite holds them,
 * never through the store's own view alone. Lock conflicts are made with a
 * second connection's BEGIN IMMEDIATE, so no assertion depends on timing.
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"

/* ---- helpers -------------------------------------------------------------
 */

static char db_path[512];

/* A fresh database file for this case: <work>/<name>.db, with no -wal,
 * -shm or -journal left from an earlier run. */
static const char *fresh_db(const char *name) {
  const char *dir = getenv("RS_SQLW_WORK");
  if (dir == NULL || dir[0] == '\0') dir = "/tmp";
  if (mkdir(dir, 0777) != 0) ck_assert_int_eq(errno, EEXIST);
  snprintf(db_path, sizeof db_path, "%s/%s.db", dir, name);
  static const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
  for (size_t i = 0; i < 4; i++) {
    char p[600];
    snprintf(p, sizeof p, "%s%s", db_path, suffixes[i]);
    unlink(p);
  }
  return db_path;
}

static sqlite3 *raw_open(const char *path) {
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(path, &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  ck_assert_msg(rc == SQLITE_OK, "open %s: %s", path, sqlite3_errmsg(db));
  return db;
}

/* sqlite3_mprintf formats: %Q, %q and %w as well as printf's. */
static void sql(sqlite3 *db, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *q = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  ck_assert_ptr_nonnull(q);
  char *msg = NULL;
  int rc = sqlite3_exec(db, q, NULL, NULL, &msg);
  ck_assert_msg(rc == SQLITE_OK, "%s: %s", q, msg ? msg : "?");
  sqlite3_free(q);
}

/* The one integer a query returns. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int64_t
query_int(sqlite3 *db, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *q = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  sqlite3_stmt *st = NULL;
  ck_assert_msg(sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK, "%s: %s",
                q, sqlite3_errmsg(db));
  ck_assert_msg(sqlite3_step(st) == SQLITE_ROW, "%s: no row", q);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_free(q);
  return v;
}

/* Whether the blob a query returns is exactly @p want (NULL: SQL NULL). */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
query_is(sqlite3 *db, const char *want, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *q = sqlite3_vmprintf(fmt, ap);
  va_end(ap);
  sqlite3_stmt *st = NULL;
  ck_assert_msg(sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK, "%s: %s",
                q, sqlite3_errmsg(db));
  ck_assert_msg(sqlite3_step(st) == SQLITE_ROW, "%s: no row", q);
  int ok;
  if (want == NULL) {
    ok = sqlite3_column_type(st, 0) == SQLITE_NULL;
  } else {
    const void *b = sqlite3_column_blob(st, 0);
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    ok = sqlite3_column_type(st, 0) != SQLITE_NULL && n == strlen(want) &&
         (n == 0 || memcmp(b, want, n) == 0);
  }
  sqlite3_finalize(st);
  sqlite3_free(q);
  return ok;
}

/* The value column of table t at integer key @p k is @p want. */
#define ROW_IS(db, k, want) \
  query_is((db), (want), "SELECT v FROM t WHERE id = %d", (k))

static store_target target_of(const char *path, const char *table,
                              const char *key, const char *column,
                              const char *where) {
  store_target t = {0};
  t.name = "orders";
  t.kind = STORE_SQLITE_TABLE;
  t.connection = path;
  t.table = table;
  t.key = key;
  t.column = column;
  t.where = where;
  return t;
}

static store *writer_on(const store_target *t, int lock_timeout_ms) {
  store_write_options w = STORE_WRITE_OPTIONS_INIT;
  w.lock_timeout_ms = lock_timeout_ms;
  store *s = NULL;
  store_error err;
  int rc = store_open_writer(&s, t, NULL, &w, &err);
  ck_assert_msg(rc == STORE_OK, "open_writer: %d %s", rc, err.message);
  ck_assert_ptr_nonnull(s);
  return s;
}

static store *writer(const char *path) {
  store_target t = target_of(path, "t", "id", "v", NULL);
  return writer_on(&t, 1000);
}

/* A table t (id INTEGER PRIMARY KEY, v BLOB) with rows 1..n holding
 * "old<k>". */
static void make_orders(const char *path, int n) {
  sqlite3 *db = raw_open(path);
  sql(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
  for (int k = 1; k <= n; k++)
    sql(db, "INSERT INTO t VALUES (%d, CAST('old%d' AS BLOB))", k, k);
  sqlite3_close(db);
}

static store_run new_run(const char *id, const char *command) {
  store_run r;
  memset(&r, 0, sizeof r);
  snprintf(r.run_id, sizeof r.run_id, "%s", id);
  snprintf(r.command, sizeof r.command, "%s", command);
  snprintf(r.target, sizeof r.target, "orders");
  snprintf(r.table, sizeof r.table, "t");
  snprintf(r.key, sizeof r.key, "id");
  snprintf(r.column, sizeof r.column, "v");
  r.to_version = 1;
  snprintf(r.status, sizeof r.status, "running");
  r.started_us = 1700000000000000;
  r.updated_us = r.started_us;
  return r;
}

static void create_run(store *s, const store_run *r) {
  store_error err;
  int rc = store_run_create(s, r, &err);
  ck_assert_msg(rc == STORE_OK, "run_create: %s", err.message);
}

static void set_checkpoint(store_run *r, const char *key) {
  r->has_checkpoint = 1;
  snprintf(r->checkpoint, sizeof r->checkpoint, "%s", key);
}

/* A swap of a text-keyed row from @p expect to @p value (strings). */
static store_swap swap_of(const char *key, const char *expect,
                          const char *value) {
  store_swap w = {0};
  w.key = key;
  w.expect = (const uint8_t *)expect;
  w.expect_len = strlen(expect);
  w.value = (const uint8_t *)value;
  w.value_len = strlen(value);
  w.swapped = -1; /* the store must say */
  return w;
}

/* Every key of the store's pages, joined by ',' into @p out. */
static void page_all(store *s, size_t limit, char *out, size_t cap) {
  const store_page_row *rows = NULL;
  store_error err;
  char after[256];
  int have_after = 0;
  size_t used = 0;
  out[0] = '\0';
  for (int pages = 0;; pages++) {
    ck_assert_msg(pages < 10000, "pages never end");
    int n = store_page(s, have_after ? after : NULL, limit, &rows, &err);
    ck_assert_msg(n >= 0, "page: %s", err.message);
    ck_assert_uint_le((size_t)n, limit);
    if (n == 0) break;
    for (int i = 0; i < n; i++) {
      int w = snprintf(out + used, cap - used, "%s%s", used ? "," : "",
                       rows[i].key);
      ck_assert(w > 0 && (size_t)w < cap - used);
      used += (size_t)w;
    }
    /* Continue from the row itself, as the fix engine does. */
    snprintf(after, sizeof after, "%s", rows[n - 1].key);
    have_after = 1;
  }
}

/* ---- tables: created once ------------------------------------------------
 */

START_TEST(tables_created_once) {
  const char *path = fresh_db("tables");
  make_orders(path, 3);
  sqlite3 *db = raw_open(path);
  ck_assert_int_eq(query_int(db,
                             "SELECT count(*) FROM sqlite_schema WHERE "
                             "name LIKE 'rollsafe%%'"),
                   0);

  store *s = writer(path);
  ck_assert_int_eq(query_int(db,
                             "SELECT count(*) FROM sqlite_schema WHERE "
                             "type = 'table' AND name IN "
                             "('rollsafe_runs', 'rollsafe_backup')"),
                   2);
  /* The documented columns, in a plain (not STRICT) table: the first
   * layout's 17 and the 20 added later (store__run_columns). */
  ck_assert_int_eq(query_int(db,
                             "SELECT count(*) FROM pragma_table_info("
                             "'rollsafe_runs')"),
                   37);
  ck_assert_int_eq(query_int(db,
                             "SELECT count(*) FROM pragma_table_info("
                             "'rollsafe_runs') WHERE name IN ('run', "
                             "'settings', 'pass', 'pass_unsettled', "
                             "'restore_checkpoint', 'restore_status')"),
                   6);
  ck_assert_int_eq(query_int(db,
                             "SELECT count(*) FROM pragma_table_info("
                             "'rollsafe_backup') WHERE name IN ('run_id', "
                             "'target', 'key', 'old_value', 'new_value', "
                             "'written_us', 'restored')"),
                   7);
  ck_assert_int_eq(query_int(db,
                             "SELECT strict FROM pragma_table_list("
                             "'rollsafe_runs')"),
                   0);
  store_run r = new_run("run-1", "fix");
  create_run(s, &r);
  store_close(s);

  /* A reopen keeps the run and needs no write lock: another connection
   * holding one does not stop it. */
  sqlite3 *locker = raw_open(path);
  sql(locker, "BEGIN IMMEDIATE");
  store_target t = target_of(path, "t", "id", "v", NULL);
  s = writer_on(&t, 10);
  sql(locker, "ROLLBACK");
  sqlite3_close(locker);
  store_run back;
  store_error err;
  ck_assert_int_eq(store_run_load(s, "run-1", &back, &err), STORE_OK);
  ck_assert_str_eq(back.run_id, "run-1");
  store_close(s);
  ck_assert_int_eq(query_int(db,
                             "SELECT count(*) FROM sqlite_schema WHERE "
                             "name LIKE 'rollsafe%%' AND type = 'table'"),
                   3); /* runs, backup, leases */
  sqlite3_close(db);
}
END_TEST

START_TEST(tables_missing_file_not_created) {
  const char *path = fresh_db("tables_missing");
  store_target t = target_of(path, "t", "id", "v", NULL);
  store_write_options w = STORE_WRITE_OPTIONS_INIT;
  store *s = NULL;
  store_error err;
  ck_assert_int_eq(store_open_writer(&s, &t, NULL, &w, &err), STORE_EIO);
  ck_assert_ptr_null(s);
  ck_assert_ptr_nonnull(strstr(err.message, path));
  ck_assert_int_ne(access(path, F_OK), 0);
}
END_TEST

START_TEST(tables_bad_targets) {
  const char *path = fresh_db("tables_bad");
  make_orders(path, 1);
  store_write_options w = STORE_WRITE_OPTIONS_INIT;
  store *s = NULL;
  store_error err;
  store_target t = target_of(path, "nope", "id", "v", NULL);
  ck_assert_int_eq(store_open_writer(&s, &t, NULL, &w, &err), STORE_EUSAGE);
  ck_assert_ptr_nonnull(strstr(err.message, "nope"));
  t = target_of(path, "t", "v", "v", NULL);
  ck_assert_int_eq(store_open_writer(&s, &t, NULL, &w, &err), STORE_EUSAGE);
  t = target_of(path, "t", "id", "v", "1; DELETE FROM t");
  ck_assert_int_eq(store_open_writer(&s, &t, NULL, &w, &err), STORE_EUSAGE);
  ck_assert_ptr_nonnull(strstr(err.message, "--where"));
  /* Closing the scan's parenthesis makes a complete first statement: what
   * follows it is refused, never run, before any table is created. */
  t = target_of(path, "t", "id", "v", "1) ; DELETE FROM t; SELECT (1");
  ck_assert_int_eq(store_open_writer(&s, &t, NULL, &w, &err), STORE_EUSAGE);
  ck_assert_ptr_nonnull(strstr(err.message, "one SQL condition"));
  /* Closing the page's subquery as well leaves the scan's statement
   * unbalanced: refused when the reads are checked. */
  t = target_of(path, "t", "id", "v", "1)) ; DELETE FROM t; SELECT ((1");
  ck_assert_int_eq(store_open_writer(&s, &t, NULL, &w, &err), STORE_EUSAGE);
  ck_assert_ptr_nonnull(strstr(err.message, "--where"));
  t = target_of(path, "t", "id", "v", "no_such_column = 1");
  ck_assert_int_eq(store_open_writer(&s, &t, NULL, &w, &err), STORE_EUSAGE);
  ck_assert_ptr_nonnull(strstr(err.message, "--where"));
  ck_assert_ptr_null(s);
  sqlite3 *db = raw_open(path);
  ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t"), 1);
  sqlite3_close(db);
}
END_TEST

/* ---- pages ---------------------------------------------------------------
 */

START_TEST(page_integer_keys_numeric_order) {
  const char *path = fresh_db("page_integer");
  sqlite3 *db = raw_open(path);
  sql(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
  static const int keys[] = {100, 9, 1000, 10, 2, 99, 11, 101};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    sql(db, "INSERT INTO t VALUES (%d, CAST('r%d' AS BLOB))", keys[i], keys[i]);
  sql(db, "UPDATE t SET v = NULL WHERE id = 11");
  sql(db, "UPDATE t SET v = x'' WHERE id = 99");
  store *s = writer(path);
  char got[4096];
  for (size_t limit = 1; limit <= 9; limit++) {
    page_all(s, limit, got, sizeof got);
    ck_assert_str_eq(got, "2,9,10,11,99,100,101,1000");
  }

  /* A key from elsewhere (a checkpoint), not the last page's own row. */
  const store_page_row *rows = NULL;
  store_error err;
  char after[8] = "9";
  int n = store_page(s, after, 3, &rows, &err);
  ck_assert_int_eq(n, 3);
  ck_assert_str_eq(rows[0].key, "10");
  ck_assert_str_eq(rows[1].key, "11");
  ck_assert_str_eq(rows[2].key, "99");
  ck_assert_int_eq(rows[0].value_is_null, 0);
  ck_assert_uint_eq(rows[0].value_len, 3);
  ck_assert_mem_eq(rows[0].value, "r10", 3);
  ck_assert_int_eq(rows[1].value_is_null, 1);
  ck_assert_ptr_null(rows[1].value);
  ck_assert_int_eq(rows[2].value_is_null, 0);
  ck_assert_uint_eq(rows[2].value_len, 0);
  ck_assert_ptr_nonnull(rows[2].value);
  n = store_page(s, "1000", 3, &rows, &err);
  ck_assert_int_eq(n, 0);
  store_close(s);

  /* Many rows, odd page sizes: each key once, in order. */
  sql(db, "DELETE FROM t");
  sql(db,
      "WITH RECURSIVE c(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM c "
      "WHERE k < 1000) INSERT INTO t SELECT k * 3, x'01' FROM c");
  s = writer(path);
  static char all[16384], want[16384];
  size_t used = 0;
  for (int k = 1; k <= 1000; k++)
    used += (size_t)snprintf(want + used, sizeof want - used, "%s%d",
                             k > 1 ? "," : "", k * 3);
  page_all(s, 7, all, sizeof all);
  ck_assert_str_eq(all, want);
  page_all(s, 1000, all, sizeof all);
  ck_assert_str_eq(all, want);
  store_close(s);
  sqlite3_close(db);
}
END_TEST

/* A key column without a declared type holds integers with no affinity:
 * a bound text would sort after all of them. */
START_TEST(page_untyped_integer_keys) {
  const char *path = fresh_db("page_untyped");
  sqlite3 *db = raw_open(path);
  sql(db, "CREATE TABLE u (k NOT NULL PRIMARY KEY, v BLOB)");
  sql(db,
      "INSERT INTO u VALUES (100, x'01'), (9, x'02'), (10, x'03'), "
      "('x', x'04')");
  sqlite3_close(db);
  store_target t = target_of(path, "u", "k", "v", NULL);
  store *s = writer_on(&t, 1000);
  char got[256];
  page_all(s, 1, got, sizeof got);
  ck_assert_str_eq(got, "9,10,100,x");
  const store_page_row *rows = NULL;
  store_error err;
  char after[8] = "9";
  ck_assert_int_eq(store_page(s, after, 10, &rows, &err), 3);
  ck_assert_str_eq(rows[0].key, "10");
  /* And a swap finds an integer key from its text form. */
  store_run r = new_run("run-u", "fix");
  create_run(s, &r);
  store_swap w[2] = {swap_of("10", "\x03", "\x33"), swap_of("x", "\x04", "Z")};
  ck_assert_int_eq(store_fix_batch(s, &r, w, 2, &err), STORE_OK);
  ck_assert_int_eq(w[0].swapped, 1);
  ck_assert_int_eq(w[1].swapped, 1);
  store_close(s);
  db = raw_open(path);
  ck_assert(query_is(db, "\x33", "SELECT v FROM u WHERE k = 10"));
  ck_assert(query_is(db, "Z", "SELECT v FROM u WHERE k = 'x'"));
  sqlite3_close(db);
}
END_TEST

START_TEST(page_text_keys) {
  const char *path = fresh_db("page_text");
  sqlite3 *db = raw_open(path);
  sql(db, "CREATE TABLE s (name TEXT PRIMARY KEY NOT NULL, v BLOB)");
  static const char *keys[] = {"b", "aa", "10", "B", "a", "9", "a b", "é"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    sql(db, "INSERT INTO s VALUES (%Q, x'00')", keys[i]);
  sqlite3_close(db);
  store_target t = target_of(path, "s", "name", "v", NULL);
  store *s = writer_on(&t, 1000);
  char got[256];
  for (size_t limit = 1; limit <= 4; limit++) {
    page_all(s, limit, got, sizeof got);
    ck_assert_str_eq(got, "10,9,B,a,a b,aa,b,é");
  }
  /* Text keys that look like numbers stay text. */
  const store_page_row *rows = NULL;
  store_error err;
  ck_assert_int_eq(store_page(s, "10", 1, &rows, &err), 1);
  ck_assert_str_eq(rows[0].key, "9");
  store_close(s);
}
END_TEST

START_TEST(page_where) {
  const char *path = fresh_db("page_where");
  make_orders(path, 30);
  sqlite3 *db = raw_open(path);
  sql(db, "UPDATE t SET v = NULL WHERE id = 4");
  sqlite3_close(db);
  store_target t =
      target_of(path, "t", "id", "v", "v IS NOT NULL AND id % 2 = 0");
  store *s = writer_on(&t, 1000);
  char got[512];
  page_all(s, 3, got, sizeof got);
  ck_assert_str_eq(got, "2,6,8,10,12,14,16,18,20,22,24,26,28,30");
  store_close(s);

  /* A condition that would escape a bare AND (...) cannot undo the key
   * condition: pages still advance and end. */
  t = target_of(path, "t", "id", "v", "id > 25) OR (id < 3");
  s = writer_on(&t, 1000);
  page_all(s, 2, got, sizeof got);
  ck_assert_str_eq(got, "1,2,26,27,28,29,30");
  store_close(s);
}
END_TEST

/* ---- fix batches ---------------------------------------------------------
 */

START_TEST(fix_swaps_and_conflicts) {
  const char *path = fresh_db("fix");
  make_orders(path, 6);
  sqlite3 *db = raw_open(path);
  sql(db, "UPDATE t SET v = x'' WHERE id = 5");
  store *s = writer(path);
  store_run r = new_run("run-f", "fix");
  create_run(s, &r);

  /* Read, then a writer changes row 3 and deletes row 4. */
  sql(db, "UPDATE t SET v = CAST('writer3' AS BLOB) WHERE id = 3");
  sql(db, "DELETE FROM t WHERE id = 4");
  store_swap w[5] = {swap_of("1", "old1", "new1"), swap_of("2", "old2", "new2"),
                     swap_of("3", "old3", "new3"), swap_of("4", "old4", "new4"),
                     swap_of("5", "", "new5")};
  set_checkpoint(&r, "5");
  /* Totals before the batch; the batch's 3 swaps and 2 conflicts are
   * added by the store in the same transaction. */
  r.converted = 10;
  r.conflicts = 1;
  r.updated_us = r.started_us + 5;
  store_error err;
  ck_assert_int_eq(store_fix_batch(s, &r, w, 5, &err), STORE_OK);
  ck_assert_int_eq(w[0].swapped, 1);
  ck_assert_int_eq(w[1].swapped, 1);
  ck_assert_int_eq(w[2].swapped, 0);
  ck_assert_int_eq(w[3].swapped, 0);
  ck_assert_int_eq(w[4].swapped, 1);

  ck_assert(ROW_IS(db, 1, "new1"));
  ck_assert(ROW_IS(db, 2, "new2"));
  ck_assert(ROW_IS(db, 3, "writer3")); /* never overwritten */
  ck_assert_int_eq(query_int(db, "SELECT count(*) FROM t WHERE id = 4"), 0);
  ck_assert(ROW_IS(db, 5, "new5"));
  ck_assert(ROW_IS(db, 6, "old6"));
  /* Stored as blobs, as the reader reads them. */
  ck_assert_int_eq(query_int(db,
                             "SELECT count(*) FROM t WHERE typeof(v) = "
                             "'blob'"),
                   5);

  /* Backups only of swapped rows: the original bytes and the new ones. */
  ck_assert_int_eq(query_int(db, "SELECT count(*) FROM rollsafe_backup"), 3);
  ck_assert(query_is(db, "old1",
                     "SELECT old_value FROM rollsafe_backup WHERE run_id = "
                     "'run-f' AND key = '1'"));
  ck_assert(query_is(db, "new1",
                     "SELECT new_value FROM rollsafe_backup WHERE key = '1'"));
  ck_assert(query_is(db, "",
                     "SELECT old_value FROM rollsafe_backup WHERE key = '5'"));
  ck_assert_int_eq(query_int(db,
                             "SELECT count(*) FROM rollsafe_backup WHERE "
                             "target = 'orders' AND restored = 0 AND "
                             "written_us > 0 AND key IN ('1','2','5')"),
                   3);
  /* The checkpoint and counts came in the same transaction. */
  ck_assert(query_is(db, "5",
                     "SELECT checkpoint FROM rollsafe_runs WHERE run_id = "
                     "'run-f'"));
  ck_assert_int_eq(query_int(db,
                             "SELECT converted * 10 + conflicts FROM "
                             "rollsafe_runs"),
                   133);

  /* A writer puts old-format bytes back in row 1 and a later pass converts
   * them again: the backup keeps what the writer wrote, the bytes our latest
   * write replaced, so that a restore never undoes the writer's change. */
  sql(db, "UPDATE t SET v = CAST('writer1' AS BLOB) WHERE id = 1");
  store_swap again = swap_of("1", "writer1", "new1b");
  ck_assert_int_eq(store_fix_batch(s, &r, &again, 1, &err), STORE_OK);
  ck_assert_int_eq(again.swapped, 1);
  ck_assert(ROW_IS(db, 1, "new1b"));
  ck_assert_int_eq(query_int(db, "SELECT count(*) FROM rollsafe_backup"), 3);
  ck_assert(query_is(db, "writer1",
                     "SELECT old_value FROM rollsafe_backup WHERE key = '1'"));
  ck_assert(query_is(db, "new1b",
                     "SELECT new_value FROM rollsafe_backup WHERE key = '1'"));

  /* The same batch twice changes nothing the second time. */
  store_swap twice = swap_of("2", "old2", "new2");
  ck_assert_int_eq(store_fix_batch(s, &r, &twice, 1, &err), STORE_OK);
  ck_assert_int_eq(twice.swapped, 0);
  ck_assert(query_is(db, "new2",
                     "SELECT new_value FROM rollsafe_backup WHERE key = '2'"));
  store_close(s);
  sqlite3_close(db);
}
END_TEST

/* A row stored as TEXT (records encoded as text) reads as its bytes; the
 * swap compares those, and writes the new value as TEXT too. */
START_TEST(fix_text_stored_value) {
  const char *path = fresh_db("fix_text");
  make_orders(path, 1);
  sqlite3 *db = raw_open(path);
  sql(db, "UPDATE t SET v = 'as text' WHERE id = 1");
  store_target t = target_of(path, "t", "id", "v", NULL);
  t.values = STORE_VALUES_TEXT;
  store *s = writer_on(&t, 1000);
  store_run r = new_run("run-t", "fix");
  create_run(s, &r);
  store_swap w = swap_of("1", "as text", "new");
  store_error err;
  ck_assert_int_eq(store_fix_batch(s, &r, &w, 1, &err), STORE_OK);
  ck_assert_int_eq(w.swapped, 1);
  ck_assert(ROW_IS(db, 1, "new"));
  ck_assert(query_is(db, "text", "SELECT typeof(v) FROM t WHERE id = 1"));
  store_close(s);
  sqlite3_close(db);
}
END_TEST

/* ---- atomic batches ------------------------------------------------------
 */

START_TEST(atomic_batch_all_or_nothing) {
  const char *path = fresh_db("atomic");
  make_orders(path, 4);
  sqlite3 *db = raw_open(path);
  sql(db,
      "CREATE TRIGGER refuse BEFORE UPDATE OF v ON t WHEN NEW.v = "
      "CAST('bad' AS BLOB) BEGIN SELECT RAISE(ABORT, 'refused by "
      "trigger'); END");
  store *s = writer(path);
  store_run r = new_run("run-a", "fix");
  create_run(s, &r);

  store_swap w[4] = {swap_of("1", "old1", "new1"), swap_of("2", "old2", "new2"),
                     swap_of("3", "old3", "bad"), swap_of("4", "old4", "new4")};
  set_checkpoint(&r, "4");
  r.converted = 4;
  store_error err;
  int rc = store_fix_batch(s, &r, w, 4, &err);
  ck_assert_int_lt(rc, 0);
  ck_assert_int_ne(rc, STORE_EBUSY);
  ck_assert_ptr_nonnull(strstr(err.message, "refused by trigger"));
  ck_assert_ptr_nonnull(strstr(err.message, "'3'"));
  for (int i = 0; i < 4; i++) ck_assert_int_eq(w[i].swapped, 0);
  /* Nothing of the batch: rows, backups, checkpoint, counts. */
  ck_assert(ROW_IS(db, 1, "old1"));
  ck_assert(ROW_IS(db, 2, "old2"));
  ck_assert(ROW_IS(db, 3, "old3"));
  ck_assert(ROW_IS(db, 4, "old4"));
  ck_assert_int_eq(query_int(db, "SELECT count(*) FROM rollsafe_backup"), 0);
  ck_assert(query_is(db, NULL, "SELECT checkpoint FROM rollsafe_runs"));
  ck_assert_int_eq(query_int(db, "SELECT converted FROM rollsafe_runs"), 0);

  /* The store is usable afterwards: a good batch commits. */
  w[2] = swap_of("3", "old3", "new3");
  ck_assert_int_eq(store_fix_batch(s, &r, w, 4, &err), STORE_OK);
  ck_assert(ROW_IS(db, 3, "new3"));
  ck_assert_int_eq(query_int(db, "SELECT count(*) FROM rollsafe_backup"), 4);

  /* A batch whose run row is missing cannot save its checkpoint: none of
   * it commits. */
  store_run ghost = new_run("no-such-run", "fix");
  store_swap g = swap_of("1", "new1", "newer1");
  rc = store_fix_batch(s, &ghost, &g, 1, &err);
  ck_assert_int_eq(rc, STORE_EUSAGE);
  ck_assert_ptr_nonnull(strstr(err.message, "no-such-run"));
  ck_assert_int_eq(g.swapped, 0);
  ck_assert(ROW_IS(db, 1, "new1"));
  ck_assert_int_eq(query_int(db, "SELECT count(*) FROM rollsafe_backup"), 4);
  store_close(s);
  sqlite3_close(db);
}
END_TEST

/* A NOT NULL constraint of the table fails the middle swap. */
START_TEST(atomic_constraint_mid_batch) {
  const char *path = fresh_db("atomic_check");
  sqlite3 *db = raw_open(path);
  sql(db,
      "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB CHECK (length(v) "
      "< 5))");
  sql(db,
      "INSERT INTO t VALUES (1, CAST('a1' AS BLOB)), (2, CAST('a2' AS "
      "BLOB)), (3, CAST('a3' AS BLOB))");
  store *s = writer(path);
  store_run r = new_run("run-c", "fix");
  create_run(s, &r);
  store_swap w[3] = {swap_of("1", "a1", "b1"), swap_of("2", "a2", "toolong"),
                     swap_of("3", "a3", "b3")};
  set_checkpoint(&r, "3");
  store_error err;
  ck_assert_int_eq(store_fix_batch(s, &r, w, 3, &err), STORE_EIO);
  ck_assert(ROW_IS(db, 1, "a1"));
  ck_assert(ROW_IS(db, 3, "a3"));
  ck_assert_int_eq(query_int(db, "SELECT count(*) FROM rollsafe_backup"), 0);
  ck_assert(query_is(db, NULL, "SELECT checkpoint FROM rollsafe_runs"));
  store_close(s);
  sqlite3_close(db);
}
END_TEST

/* ---- busy: giving way to production --------------------------------------
 */

START_TEST(busy_gives_way) {
  const char *path = fresh_db("busy");
  make_orders(path, 3);
  store_target t = target_of(path, "t", "id", "v", NULL);
  store *s = writer_on(&t, 20);
  store_run r = new_run("run-b", "fix");
  create_run(s, &r);

  sqlite3 *other = raw_open(path);
  sql(other, "BEGIN IMMEDIATE");
  store_swap w[2] = {swap_of("1", "old1", "new1"),
                     swap_of("2", "old2", "new2")};
  set_checkpoint(&r, "2");
  store_error err;
  ck_assert_int_eq(store_fix_batch(s, &r, w, 2, &err), STORE_EBUSY);
  ck_assert_int_eq(err.status, STORE_EBUSY);
  ck_assert_ptr_nonnull(strstr(err.message, "orders"));
  ck_assert_int_eq(w[0].swapped, 0);
  ck_assert_int_eq(w[1].swapped, 0);
  int64_t deleted = -1;
  ck_assert_int_eq(store_purge_run(s, "run-b", &deleted, &err), STORE_EBUSY);
  ck_assert_int_eq(store_restore_batch(s, &r, w, 2, &err), STORE_EBUSY);
  sql(other, "ROLLBACK");

  /* Nothing changed, and the run is still there. */
  ck_assert(ROW_IS(other, 1, "old1"));
  ck_assert(ROW_IS(other, 2, "old2"));
  ck_assert_int_eq(query_int(other, "SELECT count(*) FROM rollsafe_backup"), 0);
  ck_assert(query_is(other, NULL, "SELECT checkpoint FROM rollsafe_runs"));

  /* The retry goes through. */
  ck_assert_int_eq(store_fix_batch(s, &r, w, 2, &err), STORE_OK);
  ck_assert_int_eq(w[0].swapped, 1);
  ck_assert(ROW_IS(other, 2, "new2"));
  ck_assert(query_is(other, "2", "SELECT checkpoint FROM rollsafe_runs"));
  store_close(s);
  sqlite3_close(other);
}
END_TEST

/* Another connection holds the write lock for a while, then lets go: the
 * batch waits its turn (the busy handler, then the retries) instead of
 * giving up, and commits once the lock is free. */
typedef struct holder {
  sqlite3 *db;
  int hold_ms;
} holder;

static void *hold_then_release(void *arg) {
  holder *h = arg;
  struct timespec ts = {h->hold_ms / 1000, (long)(h->hold_ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
  sql(h->db, "ROLLBACK");
  return NULL;
}

START_TEST(busy_waits_its_turn) {
  const char *path = fresh_db("busy_turn");
  make_orders(path, 3);
  store_target t = target_of(path, "t", "id", "v", NULL);
  store *s = writer_on(&t, 60000);
  store_run r = new_run("run-t", "fix");
  create_run(s, &r);
  holder h = {raw_open(path), 300};
  sql(h.db, "BEGIN IMMEDIATE");
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, hold_then_release, &h), 0);
  store_swap w = swap_of("1", "old1", "new1");
  set_checkpoint(&r, "1");
  store_error err;
  int rc = store_fix_batch(s, &r, &w, 1, &err);
  pthread_join(th, NULL);
  ck_assert_msg(rc == STORE_OK, "batch: %d %s", rc, err.message);
  ck_assert_int_eq(w.swapped, 1);
  ck_assert(ROW_IS(h.db, 1, "new1"));
  sqlite3_close(h.db);
  store_close(s);
}
END_TEST

/* In WAL mode a reader in the middle of a transaction keeps its snapshot
 * while a batch commits, and a page leaves no read transaction behind
 * (a TRUNCATE checkpoint, which needs every reader gone, completes). */
START_TEST(wal_readers_not_blocked) {
  const char *path = fresh_db("wal");
  make_orders(path, 10);
  sqlite3 *db = raw_open(path);
  sql(db, "PRAGMA journal_mode = WAL");
  store_target t = target_of(path, "t", "id", "v", NULL);
  store *s = writer_on(&t, 20);
  store_run r = new_run("run-w", "fix");
  create_run(s, &r);

  sqlite3 *reader = raw_open(path);
  sql(reader, "BEGIN");
  ck_assert(ROW_IS(reader, 1, "old1"));
  store_swap w = swap_of("1", "old1", "new1");
  store_error err;
  ck_assert_int_eq(store_fix_batch(s, &r, &w, 1, &err), STORE_OK);
  ck_assert_int_eq(w.swapped, 1);
  ck_assert(ROW_IS(reader, 1, "old1")); /* its snapshot */
  ck_assert(ROW_IS(db, 1, "new1"));
  sql(reader, "COMMIT");
  ck_assert(ROW_IS(reader, 1, "new1"));
  sqlite3_close(reader);

  const store_page_row *rows = NULL;
  ck_assert_int_eq(store_page(s, NULL, 3, &rows, &err), 3);
  ck_assert_int_eq(query_int(db, "PRAGMA wal_checkpoint(TRUNCATE)"), 0);
  /* The same checkpoint while a reader holds a snapshot is busy: the check
   * above can fail. */
  reader = raw_open(path);
  sql(reader, "BEGIN");
  ck_assert(ROW_IS(reader, 1, "new1"));
  sql(db, "UPDATE t SET v = x'00' WHERE id = 10");
  ck_assert_int_eq(query_int(db, "PRAGMA wal_checkpoint(TRUNCATE)"), 1);
  sql(reader, "COMMIT");
  sqlite3_close(reader);
  store_close(s);
  sqlite3_close(db);
}
END_TEST

/* ---- restore -------------------------------------------------------------
 */

/* Fixes rows 1..n of table t ("old<k>" -> "new<k>") in run @p run_id. */
static void fix_rows(store *s, store_run *r, int n) {
  store_swap w[16];
  char keys[16][12], old[16][16], fixed[16][16];
  ck_assert_int_le(n, 16);
  for (int k = 1; k <= n; k++) {
    snprintf(keys[k - 1], sizeof keys[0], "%d", k);
    snprintf(old[k - 1], sizeof old[0], "old%d", k);
    snprintf(fixed[k - 1], sizeof fixed[0], "new%d", k);
    w[k - 1] = swap_of(keys[k - 1], old[k - 1], fixed[k - 1]);
  }
  set_checkpoint(r, keys[n - 1]);
  r->converted += n;
  store_error err;
  ck_assert_int_eq(store_fix_batch(s, r, w, (size_t)n, &err), STORE_OK);
  for (int i = 0; i < n; i++) ck_assert_int_eq(w[i].swapped, 1);
}

/* Restores run @p fix_id in pages of @p limit; returns rows restored. */
static int restore_all(store *s, const char *fix_id, store_run *rr,
                       size_t limit, char *keys_seen, size_t cap) {
  store_error err;
  char after[64];
  int have_after = 0, restored = 0;
  size_t used = 0;
  keys_seen[0] = '\0';
  for (int pages = 0;; pages++) {
    ck_assert_int_lt(pages, 1000);
    store_swap *rows = NULL;
    int n = store_backup_page(s, fix_id, have_after ? after : NULL, limit,
                              &rows, &err);
    ck_assert_msg(n >= 0, "backup_page: %s", err.message);
    if (n == 0) break;
    for (int i = 0; i < n; i++) {
      /* expect: what the fix wrote; value: the original. */
      ck_assert_uint_eq(rows[i].expect_len, strlen(rows[i].key) + 3);
      ck_assert_mem_eq(rows[i].expect, "new", 3);
      ck_assert_mem_eq(rows[i].value, "old", 3);
      used += (size_t)snprintf(keys_seen + used, cap - used, "%s%s",
                               used ? "," : "", rows[i].key);
    }
    set_checkpoint(rr, rows[n - 1].key);
    rr->restored = restored;
    ck_assert_int_eq(store_restore_batch(s, rr, rows, (size_t)n, &err),
                     STORE_OK);
    for (int i = 0; i < n; i++) restored += rows[i].swapped;
    snprintf(after, sizeof after, "%s", rows[n - 1].key);
    have_after = 1;
  }
  return restored;
}

START_TEST(restore_by_cas) {
  const char *path = fresh_db("restore");
  make_orders(path, 12);
  sqlite3 *db = raw_open(path);
  store *s = writer(path);
  store_run r = new_run("run-r", "fix");
  create_run(s, &r);
  fix_rows(s, &r, 12);
  ck_assert(ROW_IS(db, 10, "new10"));
  /* A writer changes row 2 after the fix. */
  sql(db, "UPDATE t SET v = CAST('writer2' AS BLOB) WHERE id = 2");

  store_run rr = new_run("run-r-restore", "restore");
  create_run(s, &rr);
  char seen[256];
  int restored = restore_all(s, "run-r", &rr, 5, seen, sizeof seen);
  ck_assert_int_eq(restored, 11);
  /* Backup pages are in the key column's (text) order, each key once. */
  ck_assert_str_eq(seen, "1,10,11,12,2,3,4,5,6,7,8,9");
  for (int k = 1; k <= 12; k++) {
    char want[16];
    snprintf(want, sizeof want, "old%d", k);
    ck_assert_msg(ROW_IS(db, k, k == 2 ? "writer2" : want), "row %d", k);
  }
  ck_assert_int_eq(query_int(db,
                             "SELECT count(*) FROM rollsafe_backup WHERE "
                             "run_id = 'run-r' AND restored = 1"),
                   11);
  ck_assert_int_eq(query_int(db,
                             "SELECT restored FROM rollsafe_backup WHERE "
                             "key = '2'"),
                   0);
  ck_assert(query_is(db, "9",
                     "SELECT checkpoint FROM rollsafe_runs WHERE run_id = "
                     "'run-r-restore'"));

  /* Twice: nothing left to restore, nothing changes. */
  restored = restore_all(s, "run-r", &rr, 100, seen, sizeof seen);
  ck_assert_int_eq(restored, 0);
  ck_assert(ROW_IS(db, 2, "writer2"));
  ck_assert(ROW_IS(db, 1, "old1"));
  store_close(s);
  sqlite3_close(db);
}
END_TEST

/* The outcome and holds_value of each backup row of @p fix_id (12 rows at
 * most, in backup order) by store_restore_check, as "D0,C1,..." letters:
 * D done, C conflict, F in flight, G gone; then holds_value. */
static void check_all(store *s, const char *fix_id, char *out, size_t cap) {
  store_error err;
  store_swap *rows = NULL;
  int n = store_backup_page(s, fix_id, NULL, 100, &rows, &err);
  ck_assert_msg(n >= 0, "backup_page: %s", err.message);
  int rc = store_restore_check(s, rows, (size_t)n, &err);
  ck_assert_msg(rc == STORE_OK, "restore_check: %s", err.message);
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < n; i++) {
    ck_assert_int_eq(rows[i].swapped, 0);
    used += (size_t)snprintf(out + used, cap - used, "%s%s:%c%d",
                             used ? "," : "", rows[i].key,
                             "CDFG"[rows[i].outcome], rows[i].holds_value);
  }
}

START_TEST(restore_check_predicts_the_batch) {
  const char *path = fresh_db("restore_check");
  make_orders(path, 4);
  sqlite3 *db = raw_open(path);
  store *s = writer(path);
  store_run r = new_run("run-c", "fix");
  create_run(s, &r);
  fix_rows(s, &r, 4);
  /* After the fix: a writer changes 2, deletes 3, and puts 4 back by hand
   * (the original bytes again). */
  sql(db, "UPDATE t SET v = CAST('writer2' AS BLOB) WHERE id = 2");
  sql(db, "DELETE FROM t WHERE id = 3");
  sql(db, "UPDATE t SET v = CAST('old4' AS BLOB) WHERE id = 4");
  int changes = sqlite3_total_changes(db);
  char got[256];
  check_all(s, "run-c", got, sizeof got);
  /* A table's row that is gone is a conflict, as the batch says. */
  ck_assert_str_eq(got, "1:D0,2:C0,3:C0,4:C1");
  ck_assert(ROW_IS(db, 1, "new1")); /* nothing written */
  ck_assert(
      query_is(db, "0", "SELECT count(*) FROM rollsafe_backup WHERE restored"));
  ck_assert_int_eq(sqlite3_total_changes(db), changes);
  store_run rr = new_run("run-c-restore", "restore");
  create_run(s, &rr);
  char seen[64];
  ck_assert_int_eq(restore_all(s, "run-c", &rr, 10, seen, sizeof seen), 1);
  check_all(s, "run-c", got, sizeof got);
  ck_assert_str_eq(got, "1:C1,2:C0,3:C0,4:C1");
  store_close(s);
  sqlite3_close(db);
}
END_TEST

/* ---- purge ---------------------------------------------------------------
 */

START_TEST(purge_deletes_one_run) {
  const char *path = fresh_db("purge");
  make_orders(path, 5);
  sqlite3 *db = raw_open(path);
  store *s = writer(path);
  store_run a = new_run("run-a", "fix"), b = new_run("run-b", "fix");
  create_run(s, &a);
  create_run(s, &b);
  fix_rows(s, &a, 3);
  sql(db, "UPDATE t SET v = CAST('old1' AS BLOB) WHERE id = 1");
  store_swap w = swap_of("1", "old1", "new1");
  ck_assert_int_eq(store_fix_batch(s, &b, &w, 1, NULL), STORE_OK);
  ck_assert_int_eq(query_int(db, "SELECT count(*) FROM rollsafe_backup"), 4);

  int64_t deleted = -1;
  store_error err;
  ck_assert_int_eq(store_purge_run(s, "run-a", &deleted, &err), STORE_OK);
  ck_assert_int_eq(deleted, 3);
  ck_assert_int_eq(query_int(db, "SELECT count(*) FROM rollsafe_backup"), 1);
  ck_assert_int_eq(query_int(db,
                             "SELECT count(*) FROM rollsafe_backup WHERE "
                             "run_id = 'run-b'"),
                   1);
  ck_assert_int_eq(query_int(db, "SELECT count(*) FROM rollsafe_runs"), 1);
  store_run back;
  ck_assert_int_eq(store_run_load(s, "run-a", &back, &err), STORE_EUSAGE);
  /* The table itself is untouched by a purge. */
  ck_assert(ROW_IS(db, 2, "new2"));
  /* Purging again: there is no such run. */
  ck_assert_int_eq(store_purge_run(s, "run-a", &deleted, &err), STORE_EUSAGE);
  ck_assert_int_eq(deleted, 0);
  ck_assert_ptr_nonnull(strstr(err.message, "run-a"));
  store_close(s);
  sqlite3_close(db);
}
END_TEST

/* ---- runs ----------------------------------------------------------------
 */

START_TEST(runs_create_load_update_list) {
  const char *path = fresh_db("runs");
  make_orders(path, 1);
  store *s = writer(path);
  store_run a = new_run("20261126T103000Z-3f9a", "fix");
  a.to_version = 2;
  a.started_us = 2000;
  store_run b = new_run("20261126T093000Z-0001", "restore");
  b.started_us = 1000;
  set_checkpoint(&b, "k'\"; DROP TABLE t; --");
  store_error err;
  /* a is worked on (its lease held), b was left running by a process
   * that is gone: it reads as interrupted. */
  ck_assert_int_eq(store_run_lease(s, a.run_id, &err), STORE_OK);
  create_run(s, &a);
  create_run(s, &b);
  ck_assert_int_eq(store_run_create(s, &a, &err), STORE_EUSAGE);
  ck_assert_ptr_nonnull(strstr(err.message, "already exists"));

  store_run back;
  ck_assert_int_eq(store_run_load(s, a.run_id, &back, &err), STORE_OK);
  ck_assert_str_eq(back.run_id, a.run_id);
  ck_assert_str_eq(back.command, "fix");
  ck_assert_str_eq(back.target, "orders");
  ck_assert_str_eq(back.table, "t");
  ck_assert_str_eq(back.key, "id");
  ck_assert_str_eq(back.column, "v");
  ck_assert_str_eq(back.status, "running");
  ck_assert_uint_eq(back.to_version, 2);
  ck_assert_int_eq(back.has_checkpoint, 0);
  ck_assert_int_eq(back.started_us, 2000);

  a.converted = 7;
  a.conflicts = 1;
  a.lossy = 2;
  a.impossible = 3;
  a.corrupt = 4;
  a.restored = 5;
  a.updated_us = 9999;
  set_checkpoint(&a, "42");
  snprintf(a.status, sizeof a.status, "done");
  ck_assert_int_eq(store_run_update(s, &a, &err), STORE_OK);
  ck_assert_int_eq(store_run_load(s, a.run_id, &back, &err), STORE_OK);
  ck_assert_str_eq(back.status, "done");
  ck_assert_int_eq(back.has_checkpoint, 1);
  ck_assert_str_eq(back.checkpoint, "42");
  ck_assert_int_eq(back.converted, 7);
  ck_assert_int_eq(back.conflicts, 1);
  ck_assert_int_eq(back.lossy, 2);
  ck_assert_int_eq(back.impossible, 3);
  ck_assert_int_eq(back.corrupt, 4);
  ck_assert_int_eq(back.restored, 5);
  ck_assert_int_eq(back.updated_us, 9999);
  ck_assert_int_eq(back.started_us, 2000);

  store_run *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(store_run_list(s, &list, &n, &err), STORE_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(list[0].run_id, b.run_id); /* oldest first */
  ck_assert_str_eq(list[0].command, "restore");
  ck_assert_str_eq(list[0].checkpoint, "k'\"; DROP TABLE t; --");
  ck_assert_str_eq(list[0].status, "interrupted");
  ck_assert_str_eq(list[1].run_id, a.run_id);
  ck_assert_str_eq(list[1].status, "done");
  free(list);
  ck_assert_int_eq(store_run_load(s, b.run_id, &back, &err), STORE_OK);
  ck_assert_str_eq(back.status, "interrupted");
  /* The table keeps what was stored. */
  sqlite3 *db = raw_open(path);
  ck_assert(query_is(db, "running",
                     "SELECT status FROM rollsafe_runs WHERE run_id = "
                     "'20261126T093000Z-0001'"));
  sqlite3_close(db);

  store_run ghost = new_run("ghost", "fix");
  ck_assert_int_eq(store_run_update(s, &ghost, &err), STORE_EUSAGE);
  store_close(s);
}
END_TEST

/* Leases: one holder at a time; a holder whose process is gone, or (on
 * another host) whose heartbeat expired, holds nothing. */
START_TEST(leases_one_holder) {
  const char *path = fresh_db("leases");
  make_orders(path, 1);
  store *a = writer(path), *b = writer(path);
  store_error err;
  store_run r = new_run("run-l", "fix");
  ck_assert_int_eq(store_run_lease(a, "run-l", &err), STORE_OK);
  create_run(a, &r);
  ck_assert_int_eq(store_run_lease(b, "run-l", &err), STORE_EBUSY);
  ck_assert_ptr_nonnull(strstr(err.message, "run-l"));
  ck_assert_ptr_nonnull(strstr(err.message, "another rollsafe process"));
  store_run back;
  ck_assert_int_eq(store_run_load(b, "run-l", &back, &err), STORE_OK);
  ck_assert_str_eq(back.status, "running");
  /* Taking it again is harmless; releasing frees it. */
  ck_assert_int_eq(store_run_lease(a, "run-l", &err), STORE_OK);
  store_run_release(a, "run-l");
  ck_assert_int_eq(store_run_load(b, "run-l", &back, &err), STORE_OK);
  ck_assert_str_eq(back.status, "interrupted");
  ck_assert_int_eq(store_run_lease(b, "run-l", &err), STORE_OK);
  ck_assert_int_eq(store_run_lease(a, "run-l", &err), STORE_EBUSY);
  /* Closing gives back what is held. */
  store_close(b);
  ck_assert_int_eq(store_run_lease(a, "run-l", &err), STORE_OK);
  store_close(a);

  sqlite3 *db = raw_open(path);
  ck_assert_int_eq(query_int(db, "SELECT count(*) FROM rollsafe_leases"), 0);
  /* A process of this host that has ended: its lease is free. */
  pid_t child = fork();
  ck_assert_int_ge(child, 0);
  if (child == 0) _exit(0);
  int wstatus;
  ck_assert_int_eq(waitpid(child, &wstatus, 0), child);
  char host[256] = "", boot[64] = "";
  gethostname(host, sizeof host);
  FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
  if (f != NULL) {
    if (fgets(boot, sizeof boot, f) == NULL) boot[0] = '\0';
    fclose(f);
  }
  boot[strcspn(boot, "\n")] = '\0';
  sql(db,
      "INSERT INTO rollsafe_leases VALUES ('run-l', 'gone', '%s/%s', %d, 0, "
      "0, 9000000000000000)",
      host, boot, (int)child);
  store *c = writer(path);
  ck_assert_int_eq(store_run_load(c, "run-l", &back, &err), STORE_OK);
  ck_assert_str_eq(back.status, boot[0] ? "interrupted" : "running");
  if (boot[0]) ck_assert_int_eq(store_run_lease(c, "run-l", &err), STORE_OK);
  store_close(c);
  /* A live process (this one) holds it. */
  sql(db, "DELETE FROM rollsafe_leases");
  sql(db,
      "INSERT INTO rollsafe_leases VALUES ('run-l', 'me', '%s/%s', %d, 0, 0, "
      "9000000000000000)",
      host, boot, (int)getpid());
  c = writer(path);
  ck_assert_int_eq(store_run_lease(c, "run-l", &err), STORE_EBUSY);
  store_close(c);
  /* Another host: live until its heartbeat expires. */
  sql(db, "DELETE FROM rollsafe_leases");
  sql(db,
      "INSERT INTO rollsafe_leases VALUES ('run-l', 'far', 'elsewhere/x', 1, "
      "0, 0, 9000000000000000)");
  c = writer(path);
  ck_assert_int_eq(store_run_lease(c, "run-l", &err), STORE_EBUSY);
  ck_assert_ptr_nonnull(strstr(err.message, "elsewhere"));
  sql(db, "UPDATE rollsafe_leases SET expires_us = 1");
  ck_assert_int_eq(store_run_load(c, "run-l", &back, &err), STORE_OK);
  ck_assert_str_eq(back.status, "interrupted");
  ck_assert_int_eq(store_run_lease(c, "run-l", &err), STORE_OK);
  store_close(c);
  sqlite3_close(db);
}
END_TEST

START_TEST(runs_load_missing) {
  const char *path = fresh_db("runs_missing");
  make_orders(path, 1);
  store *s = writer(path);
  store_run back;
  store_error err;
  ck_assert_int_eq(store_run_load(s, "nope", &back, &err), STORE_EUSAGE);
  ck_assert_int_eq(err.status, STORE_EUSAGE);
  ck_assert_ptr_nonnull(strstr(err.message, "no run 'nope' in "));
  ck_assert_ptr_nonnull(strstr(err.message, path));
  store_run *list = (store_run *)&back;
  size_t n = 99;
  ck_assert_int_eq(store_run_list(s, &list, &n, &err), STORE_OK);
  ck_assert_ptr_null(list);
  ck_assert_uint_eq(n, 0);
  store_close(s);
}
END_TEST

/* One run's rows for two targets of one database (row ids R and R/2, the
 * same run): store_run_parts finds both, a runs-only store reads them
 * without the table, and a batch commits the counts of its own outcome. */
START_TEST(runs_rows_per_target) {
  const char *path = fresh_db("runs_rows");
  make_orders(path, 4);
  /* A database without rollsafe's tables has no runs, and a runs-only
   * store creates none. */
  store_target db = target_of(path, NULL, NULL, NULL, NULL);
  store *rs = NULL;
  store_error err;
  ck_assert_int_eq(store_open_runs(&rs, &db, NULL, NULL, &err), STORE_OK);
  store_run *list = NULL;
  size_t n = 99;
  ck_assert_int_eq(store_run_list(rs, &list, &n, &err), STORE_OK);
  ck_assert_uint_eq(n, 0);
  ck_assert_int_eq(store_run_parts(rs, "R", &list, &n, &err), STORE_OK);
  ck_assert_uint_eq(n, 0);
  store_run back;
  ck_assert_int_eq(store_run_load(rs, "R", &back, &err), STORE_EUSAGE);
  store_close(rs);
  sqlite3 *db3 = raw_open(path);
  ck_assert_int_eq(query_int(db3,
                             "SELECT count(*) FROM sqlite_schema WHERE "
                             "name LIKE 'rollsafe%%'"),
                   0);

  store *s = writer(path);
  store_run a = new_run("R", "fix"), b = new_run("R/2", "fix");
  snprintf(a.run, sizeof a.run, "R");
  snprintf(b.run, sizeof b.run, "R");
  snprintf(b.target, sizeof b.target, "events");
  snprintf(a.settings, sizeof a.settings, "{\"kind\":\"sqlite-table\"}");
  create_run(s, &a);
  create_run(s, &b);
  store_run legacy = new_run("L", "fix");
  create_run(s, &legacy);
  ck_assert_int_eq(store_run_parts(s, "R", &list, &n, &err), STORE_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(list[0].run, "R");
  ck_assert_str_eq(list[1].run, "R");
  ck_assert_str_eq(list[0].target, "orders");
  ck_assert_str_eq(list[0].settings, "{\"kind\":\"sqlite-table\"}");
  ck_assert_str_eq(list[1].target, "events");
  free(list);
  /* A row that names no run is its own run. */
  ck_assert_int_eq(store_run_parts(s, "L", &list, &n, &err), STORE_OK);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(list[0].run, "L");
  free(list);

  /* A batch adds its outcome: lossy swaps to lossy, misses to conflicts
   * and to the pass's unsettled rows. */
  store_swap w[3] = {swap_of("1", "old1", "new1"), swap_of("2", "old2", "new2"),
                     swap_of("3", "changed", "new3")};
  w[1].lossy = 1;
  a.lossy_skipped = 5;
  a.rows_read = 3;
  a.pass = 2;
  set_checkpoint(&a, "3");
  ck_assert_int_eq(store_fix_batch(s, &a, w, 3, &err), STORE_OK);
  ck_assert_int_eq(store_run_load(s, "R", &back, &err), STORE_OK);
  ck_assert_int_eq(back.converted, 2);
  ck_assert_int_eq(back.lossy, 1);
  ck_assert_int_eq(back.conflicts, 1);
  ck_assert_int_eq(back.pass_unsettled, 1);
  ck_assert_int_eq(back.lossy_skipped, 5);
  ck_assert_int_eq(back.rows_read, 3);
  ck_assert_int_eq(back.pass, 2);
  ck_assert_str_eq(back.checkpoint, "3");
  /* The backup rows are the row's: R, not R/2. */
  ck_assert_int_eq(query_int(db3,
                             "SELECT count(*) FROM rollsafe_backup WHERE "
                             "run_id = 'R'"),
                   2);
  store_close(s);

  /* A runs-only store reads them all, and purges one row. */
  ck_assert_int_eq(store_open_runs(&rs, &db, NULL, NULL, &err), STORE_OK);
  ck_assert_int_eq(store_run_list(rs, &list, &n, &err), STORE_OK);
  ck_assert_uint_eq(n, 3);
  free(list);
  int64_t deleted = 0;
  ck_assert_int_eq(store_purge_run(rs, "R", &deleted, &err), STORE_OK);
  ck_assert_int_eq(deleted, 2);
  ck_assert_int_eq(store_run_parts(rs, "R", &list, &n, &err), STORE_OK);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(list[0].run_id, "R/2");
  free(list);
  ck_assert_int_eq(store_run_create(rs, &a, &err), STORE_EUSAGE);
  store_close(rs);
  sqlite3_close(db3);
}
END_TEST

/* ---- a read-only store does not write ------------------------------------
 */

START_TEST(readonly_refuses_writing) {
  const char *path = fresh_db("readonly");
  make_orders(path, 2);
  store_target t = target_of(path, "t", "id", "v", NULL);
  store *s = NULL;
  store_error err;
  ck_assert_int_eq(store_open(&s, &t, NULL, &err), STORE_OK);
  store_run r = new_run("run-ro", "fix");
  store_run back;
  store_run *list = NULL;
  size_t n = 0;
  const store_page_row *rows = NULL;
  store_swap *backups = NULL;
  store_swap w = swap_of("1", "old1", "new1");
  int64_t deleted = 0;
  ck_assert_int_eq(store_run_create(s, &r, &err), STORE_EUSAGE);
  ck_assert_ptr_nonnull(strstr(err.message, "read-only"));
  ck_assert_int_eq(store_run_load(s, "run-ro", &back, &err), STORE_EUSAGE);
  ck_assert_int_eq(store_run_update(s, &r, &err), STORE_EUSAGE);
  ck_assert_int_eq(store_run_list(s, &list, &n, &err), STORE_EUSAGE);
  ck_assert_int_eq(store_page(s, NULL, 10, &rows, &err), STORE_EUSAGE);
  ck_assert_int_eq(store_fix_batch(s, &r, &w, 1, &err), STORE_EUSAGE);
  ck_assert_int_eq(store_backup_page(s, "run-ro", NULL, 10, &backups, &err),
                   STORE_EUSAGE);
  ck_assert_int_eq(store_restore_batch(s, &r, &w, 1, &err), STORE_EUSAGE);
  ck_assert_int_eq(store_purge_run(s, "run-ro", &deleted, &err), STORE_EUSAGE);
  store_close(s);
  sqlite3 *db = raw_open(path);
  ck_assert(ROW_IS(db, 1, "old1"));
  ck_assert_int_eq(query_int(db,
                             "SELECT count(*) FROM sqlite_schema WHERE "
                             "name LIKE 'rollsafe%%'"),
                   0);
  sqlite3_close(db);
}
END_TEST

/* ---- queues: outcomes of a batch ------------------------------------------
 */

/* A queue q (id, v, state) with rows 1..6 holding "old<k>" in the states
 * the test needs. */
static void make_queue(const char *path) {
  sqlite3 *db = raw_open(path);
  sql(db, "CREATE TABLE q (id INTEGER PRIMARY KEY, v BLOB, state TEXT)");
  static const char *const states[] = {"pending", "processing", "done",
                                       "pending", "pending",    "retry"};
  for (int k = 1; k <= 6; k++)
    sql(db, "INSERT INTO q VALUES (%d, CAST('old%d' AS BLOB), %Q)", k, k,
        states[k - 1]);
  sqlite3_close(db);
}

/* A writer on make_queue's table as a queue: state column `state`, pending
 * `pending` and `retry`, in flight `processing`. @p t must outlive it. */
static store *queue_writer(const char *path, store_target *t) {
  make_queue(path);
  *t = target_of(path, "q", "id", "v", NULL);
  t->kind = STORE_SQLITE_QUEUE;
  t->state_column = "state";
  t->pending_states = "pending,retry";
  t->in_flight_states = "processing";
  return writer_on(t, 1000);
}

START_TEST(queue_batch_outcomes) {
  const char *path = fresh_db("queue");
  store_target t;
  store *s = queue_writer(path, &t);
  /* The reads cover pending and in-flight messages only (not 3: done). */
  char keys[256];
  page_all(s, 2, keys, sizeof keys);
  ck_assert_str_eq(keys, "1,2,4,5,6");
  store_run r = new_run("q1", "fix");
  snprintf(r.table, sizeof r.table, "q");
  create_run(s, &r);
  sqlite3 *db = raw_open(path);
  sql(db, "DELETE FROM q WHERE id = 4");                      /* consumed */
  sql(db, "UPDATE q SET v = CAST('x' AS BLOB) WHERE id = 5"); /* changed */
  store_swap w[6] = {
      swap_of("1", "old1", "new1"), swap_of("2", "old2", "new2"),
      swap_of("3", "old3", "new3"), swap_of("4", "old4", "new4"),
      swap_of("5", "old5", "new5"), swap_of("6", "old6", "new6")};
  set_checkpoint(&r, "6");
  store_error err;
  int rc = store_fix_batch(s, &r, w, 6, &err);
  ck_assert_msg(rc == STORE_OK, "batch: %s", err.message);
  ck_assert_int_eq(w[0].outcome, STORE_SWAP_DONE);
  ck_assert_int_eq(w[0].swapped, 1);
  ck_assert_int_eq(w[1].outcome, STORE_SWAP_IN_FLIGHT); /* processing */
  ck_assert_int_eq(w[2].outcome, STORE_SWAP_GONE);      /* done */
  ck_assert_int_eq(w[3].outcome, STORE_SWAP_GONE);      /* deleted */
  ck_assert_int_eq(w[4].outcome, STORE_SWAP_CONFLICT);  /* bytes changed */
  ck_assert_int_eq(w[5].outcome, STORE_SWAP_DONE);      /* retry is pending */
  for (int i = 1; i < 5; i++) ck_assert_int_eq(w[i].swapped, 0);
  ck_assert(query_is(db, "new1", "SELECT v FROM q WHERE id = 1"));
  ck_assert(query_is(db, "old2", "SELECT v FROM q WHERE id = 2"));
  ck_assert(query_is(db, "old3", "SELECT v FROM q WHERE id = 3"));
  ck_assert(query_is(db, "new6", "SELECT v FROM q WHERE id = 6"));
  /* Only swaps and real conflicts go to the run's counts. */
  ck_assert_int_eq(query_int(db, "SELECT converted FROM rollsafe_runs"), 2);
  ck_assert_int_eq(query_int(db, "SELECT conflicts FROM rollsafe_runs"), 1);
  ck_assert_int_eq(query_int(db, "SELECT count(*) FROM rollsafe_backup"), 2);
  /* Restore: 1 is consumed meanwhile (done), 6 is still pending. */
  sql(db, "UPDATE q SET state = 'done' WHERE id = 1");
  store_swap *rows = NULL;
  int n = store_backup_page(s, "q1", NULL, 10, &rows, &err);
  ck_assert_int_eq(n, 2);
  store_run rr = new_run("q1r", "restore");
  snprintf(rr.table, sizeof rr.table, "q");
  create_run(s, &rr);
  rc = store_restore_batch(s, &rr, rows, (size_t)n, &err);
  ck_assert_msg(rc == STORE_OK, "restore: %s", err.message);
  ck_assert_str_eq(rows[0].key, "1");
  ck_assert_int_eq(rows[0].outcome, STORE_SWAP_GONE);
  ck_assert_int_eq(rows[1].outcome, STORE_SWAP_DONE);
  ck_assert(query_is(db, "new1", "SELECT v FROM q WHERE id = 1"));
  ck_assert(query_is(db, "old6", "SELECT v FROM q WHERE id = 6"));
  sqlite3_close(db);
  store_close(s);
}
END_TEST

START_TEST(restore_check_queue) {
  const char *path = fresh_db("restore_check_q");
  store_target t;
  store *s = queue_writer(path, &t);
  store_run r = new_run("qc", "fix");
  snprintf(r.table, sizeof r.table, "q");
  create_run(s, &r);
  store_swap w[3] = {swap_of("1", "old1", "new1"), swap_of("5", "old5", "new5"),
                     swap_of("6", "old6", "new6")};
  set_checkpoint(&r, "6");
  store_error err;
  ck_assert_int_eq(store_fix_batch(s, &r, w, 3, &err), STORE_OK);
  sqlite3 *db = raw_open(path);
  sql(db, "UPDATE q SET state = 'done' WHERE id = 1");       /* consumed */
  sql(db, "UPDATE q SET state = 'processing' WHERE id = 5"); /* held */
  char got[256];
  check_all(s, "qc", got, sizeof got);
  ck_assert_str_eq(got, "1:G0,5:F0,6:D0");
  sql(db, "DELETE FROM q WHERE id = 1");
  sql(db, "UPDATE q SET state = 'pending', v = CAST('x' AS BLOB) WHERE id = 5");
  check_all(s, "qc", got, sizeof got);
  ck_assert_str_eq(got, "1:G0,5:C0,6:D0");
  ck_assert(query_is(db, "new6", "SELECT v FROM q WHERE id = 6"));
  sqlite3_close(db);
  store_close(s);
}
END_TEST

START_TEST(queue_bad_options) {
  const char *path = fresh_db("queue_bad");
  make_queue(path);
  store_target t = target_of(path, "q", "id", "v", NULL);
  t.kind = STORE_SQLITE_QUEUE;
  static const struct {
    const char *column, *pending, *flight, *message;
  } cases[] = {
      {"nope", NULL, NULL, "no column 'nope' (the state column)"},
      {"state", "a,,b", NULL, "each state is 1 to 63 bytes"},
      {"state",
       "pending,0123456789012345678901234567890123456789012345678901234567890"
       "123",
       NULL, "each state is 1 to 63 bytes"},
      {"st\nate", NULL, NULL, "a name of 1 to 63 bytes without control"},
      {"state", "a,b", "b", "state 'b' is both pending and in flight"},
      {"state", "it's \"x\"\n", "it's \"x\"\n",
       "state 'it's \"x\"?' is both pending and in flight"},
      {NULL, NULL, "processing", "in-flight states need a state column"},
      {"v", NULL, NULL, "cannot be the key or the record column"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    t.state_column = cases[i].column;
    t.pending_states = cases[i].pending;
    t.in_flight_states = cases[i].flight;
    store *s = (store *)1;
    store_error err;
    int rc = store_open(&s, &t, NULL, &err);
    ck_assert_int_eq(rc, STORE_EUSAGE);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err.message, cases[i].message) != NULL, "case %zu: %s",
                  i, err.message);
  }
}
END_TEST

static TCase *tcase(Suite *suite, const char *name) {
  TCase *tc = tcase_create(name);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(suite, tc);
  return tc;
}

static Suite *store_sqlite_write_suite(void) {
  Suite *s = suite_create("store_sqlite_write");
  TCase *tc = tcase(s, "tables");
  tcase_add_test(tc, tables_created_once);
  tcase_add_test(tc, tables_missing_file_not_created);
  tcase_add_test(tc, tables_bad_targets);
  tc = tcase(s, "page_integer");
  tcase_add_test(tc, page_integer_keys_numeric_order);
  tcase_add_test(tc, page_untyped_integer_keys);
  tc = tcase(s, "page_text");
  tcase_add_test(tc, page_text_keys);
  tc = tcase(s, "page_where");
  tcase_add_test(tc, page_where);
  tc = tcase(s, "fix");
  tcase_add_test(tc, fix_swaps_and_conflicts);
  tcase_add_test(tc, fix_text_stored_value);
  tc = tcase(s, "atomic");
  tcase_add_test(tc, atomic_batch_all_or_nothing);
  tcase_add_test(tc, atomic_constraint_mid_batch);
  tc = tcase(s, "busy");
  tcase_add_test(tc, busy_gives_way);
  tcase_add_test(tc, busy_waits_its_turn);
  tc = tcase(s, "leases");
  tcase_add_test(tc, leases_one_holder);
  tc = tcase(s, "wal");
  tcase_add_test(tc, wal_readers_not_blocked);
  tc = tcase(s, "restore");
  tcase_add_test(tc, restore_by_cas);
  tcase_add_test(tc, restore_check_predicts_the_batch);
  tcase_add_test(tc, restore_check_queue);
  tc = tcase(s, "purge");
  tcase_add_test(tc, purge_deletes_one_run);
  tc = tcase(s, "runs");
  tcase_add_test(tc, runs_create_load_update_list);
  tcase_add_test(tc, runs_load_missing);
  tcase_add_test(tc, runs_rows_per_target);
  tc = tcase(s, "readonly");
  tcase_add_test(tc, readonly_refuses_writing);
  tc = tcase(s, "queue");
  tcase_add_test(tc, queue_batch_outcomes);
  tcase_add_test(tc, queue_bad_options);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(store_sqlite_write_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
