#define _POSIX_C_SOURCE 200809L
/*
 * The ranges of a parallel scan (store_split, store_set_range) on real
 * SQLite files: read one after another, a split's ranges give every row of
 * a scan of the whole table once, in the same order, whatever the number
 * of ranges and wherever the rowids lie (gaps, negative rowids, the
 * largest rowid); what cannot be read in rowid order (WITHOUT ROWID, a
 * --where) is one range, and refuses bounds. The span arithmetic is
 * checked at the ends of int64_t. A split reads the rowid bounds, never
 * the rows.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"
#include "store/store_impl.h"

static char db_path[512];

static void exec(sqlite3 *db, const char *sql) {
  char *msg = NULL;
  ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s: %s",
                sql, msg ? msg : "?");
}

/* Rows with rowids far apart: -5..-1, 1..3000 less every 7th, 10^12,
 * INT64_MAX; and a table WITHOUT ROWID. */
static void make_db(void) {
  const char *dir = getenv("RS_RANGES_WORK");
  snprintf(db_path, sizeof db_path, "%s/ranges.db", dir ? dir : "/tmp");
  if (dir != NULL) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
  }
  unlink(db_path);
  sqlite3 *db;
  ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
  exec(db, "BEGIN");
  exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
  exec(db, "CREATE TABLE named (k TEXT PRIMARY KEY, v BLOB)");
  exec(db, "CREATE TABLE empty (id INTEGER PRIMARY KEY, v BLOB)");
  exec(db, "CREATE TABLE norowid (k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID");
  exec(db,
       "WITH RECURSIVE n(i) AS (SELECT -5 UNION ALL SELECT i + 1 FROM n "
       "WHERE i < 3000) INSERT INTO t SELECT i, randomblob(i % 50) FROM n "
       "WHERE i <> 0 AND i % 7 <> 0");
  exec(db, "INSERT INTO t VALUES (1000000000000, x'01')");
  exec(db, "INSERT INTO t VALUES (9223372036854775807, x'02')");
  /* Text keys inserted out of order: rowid order is not key order. */
  exec(db,
       "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
       "WHERE i < 2000) INSERT INTO named SELECT printf('k%05d', (i * 7919) "
       "% 2003), x'03' FROM n");
  exec(db, "INSERT INTO norowid SELECT k, v FROM named");
  exec(db, "COMMIT");
  sqlite3_close(db);
}

static store_target target(const char *table, const char *key,
                           const char *where) {
  store_target t;
  memset(&t, 0, sizeof t);
  t.name = table;
  t.kind = STORE_SQLITE_TABLE;
  t.connection = db_path;
  t.table = table;
  t.key = key;
  t.column = "v";
  t.where = where;
  return t;
}

/* The keys a scan gives, one string "k1\nk2\n...", read through @p r
 * (NULL: the whole table); *n the rows. */
static char *keys_of(const store_target *t, const store_range *r, size_t *n) {
  store *s = NULL;
  store_error err;
  store_open_options o = {0, 0};
  ck_assert_msg(store_open(&s, t, &o, &err) == STORE_OK, "%s", err.message);
  if (r != NULL)
    ck_assert_msg(store_set_range(s, r, &err) == STORE_OK, "%s", err.message);
  ck_assert_msg(store_scan(s, &err) == STORE_OK, "%s", err.message);
  size_t cap = 1 << 16, len = 0;
  char *out = malloc(cap);
  ck_assert_ptr_nonnull(out);
  out[0] = '\0';
  *n = 0;
  store_row row;
  int got;
  while ((got = store_next(s, &row, &err)) == 1) {
    if (len + row.key_len + 2 > cap) {
      cap *= 2;
      out = realloc(out, cap);
      ck_assert_ptr_nonnull(out);
    }
    memcpy(out + len, row.key, row.key_len);
    len += row.key_len;
    out[len++] = '\n';
    out[len] = '\0';
    (*n)++;
  }
  ck_assert_msg(got == 0, "%s", err.message);
  store_close(s);
  return out;
}

/* Reads @p t whole, then split in n = 1..9 ranges: the same keys. */
static void check_split(const char *table, const char *key, size_t want_rows,
                        int splits) {
  store_target t = target(table, key, NULL);
  size_t n_whole;
  char *whole = keys_of(&t, NULL, &n_whole);
  ck_assert_uint_eq(n_whole, want_rows);
  for (unsigned n = 1; n <= 9; n++) {
    store *s = NULL;
    store_error err;
    store_open_options o = {0, 0};
    ck_assert(store_open(&s, &t, &o, &err) == STORE_OK);
    store_range ranges[9];
    size_t got = 0;
    ck_assert_msg(store_split(s, n, ranges, &got, &err) == STORE_OK, "%s",
                  err.message);
    store_close(s);
    ck_assert_uint_ge(got, 1);
    ck_assert_uint_le(got, n);
    if (splits && n > 1) ck_assert_uint_gt(got, 1);
    if (!splits) ck_assert_uint_eq(got, 1);
    ck_assert(!ranges[0].has_lo);
    ck_assert(!ranges[got - 1].has_hi);
    size_t total = 0, len = 0;
    char *joined = calloc(1, strlen(whole) + 1);
    ck_assert_ptr_nonnull(joined);
    for (size_t i = 0; i < got; i++) {
      if (i > 0) {
        ck_assert(ranges[i].has_lo && ranges[i - 1].has_hi);
        ck_assert(ranges[i].lo == ranges[i - 1].hi);
        ck_assert(ranges[i].lo > ranges[i - 1].lo || i == 1);
      }
      size_t k;
      char *part = keys_of(&t, &ranges[i], &k);
      ck_assert_msg(len + strlen(part) <= strlen(whole),
                    "%s: %u ranges read more rows than the table has", table,
                    n);
      memcpy(joined + len, part, strlen(part));
      len += strlen(part);
      total += k;
      free(part);
    }
    ck_assert_uint_eq(total, n_whole);
    ck_assert_msg(strcmp(joined, whole) == 0,
                  "%s: %u ranges do not give the rows of one scan in order",
                  table, n);
    free(joined);
  }
  free(whole);
}

START_TEST(rowids_far_apart) {
  make_db();
  check_split("t", "id", 5 + 3000 - 428 + 2, 1);
}
END_TEST

START_TEST(text_key_in_rowid_order) {
  make_db();
  check_split("named", "k", 2000, 1);
}
END_TEST

START_TEST(not_split) {
  make_db();
  check_split("norowid", "k", 2000, 0);
  check_split("empty", "id", 0, 0);
  /* A --where: one range, and bounds refused. */
  store_target t = target("t", "id", "id % 2 = 0");
  store *s = NULL;
  store_error err;
  store_open_options o = {0, 0};
  ck_assert(store_open(&s, &t, &o, &err) == STORE_OK);
  store_range r[4];
  size_t n = 9;
  ck_assert(store_split(s, 4, r, &n, &err) == STORE_OK);
  ck_assert_uint_eq(n, 1);
  store_range bounded = {0, 10, 0, 1};
  ck_assert_int_eq(store_set_range(s, &bounded, &err), STORE_EUSAGE);
  ck_assert_int_eq(store_split(s, 0, r, &n, &err), STORE_EUSAGE);
  store_close(s);
  t = target("norowid", "k", NULL);
  ck_assert(store_open(&s, &t, &o, &err) == STORE_OK);
  ck_assert_int_eq(store_set_range(s, &bounded, &err), STORE_EUSAGE);
  store_close(s);
}
END_TEST

/*
 * Splitting reads the rowid bounds only, never the table's rows: with a
 * leaf page in the middle of the table's b-tree overwritten with zeros (a
 * full scan fails there with SQLITE_CORRUPT), the split still succeeds.
 * One aggregate of min() and max() used to read the whole table, on the
 * thread that plans the jobs, before any job started.
 */
START_TEST(split_reads_only_the_bounds) {
  make_db();
  char path[600];
  snprintf(path, sizeof path, "%s.bounds", db_path);
  unlink(path);
  sqlite3 *db;
  ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
  exec(db, "PRAGMA page_size = 4096");
  exec(db, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
  exec(db,
       "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
       "WHERE i < 4000) INSERT INTO t SELECT i, randomblob(200) FROM n");
  /* A leaf of t half way along: on neither the first nor the last row's
   * path from the root. */
  sqlite3_stmt *st;
  ck_assert_int_eq(
      sqlite3_prepare_v2(db,
                         "SELECT pageno FROM dbstat WHERE name = 't' AND "
                         "pagetype = 'leaf' ORDER BY path LIMIT 1 OFFSET "
                         "(SELECT count(*) / 2 FROM dbstat WHERE name = 't' "
                         "AND pagetype = 'leaf')",
                         -1, &st, NULL),
      SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
  long page = (long)sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  ck_assert(page > 2);
  FILE *f = fopen(path, "r+b");
  ck_assert_ptr_nonnull(f);
  static const unsigned char zeros[4096];
  ck_assert_int_eq(fseek(f, (page - 1) * 4096L, SEEK_SET), 0);
  ck_assert_uint_eq(fwrite(zeros, 1, sizeof zeros, f), sizeof zeros);
  ck_assert_int_eq(fclose(f), 0);
  /* The page is broken for a reader of every row. */
  ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
  ck_assert_int_ne(
      sqlite3_exec(db, "SELECT min(id), max(id) FROM t", NULL, NULL, NULL),
      SQLITE_OK);
  sqlite3_close(db);

  store_target t = target("t", "id", NULL);
  t.connection = path;
  store *s = NULL;
  store_error err;
  store_open_options o = {0, 0};
  ck_assert_msg(store_open(&s, &t, &o, &err) == STORE_OK, "%s", err.message);
  store_range r[2];
  size_t n = 0;
  ck_assert_msg(store_split(s, 2, r, &n, &err) == STORE_OK, "%s", err.message);
  ck_assert_uint_eq(n, 2);
  ck_assert(r[0].has_hi && r[1].has_lo && r[0].hi == r[1].lo);
  ck_assert(r[0].hi > 1 && r[0].hi <= 4000);
  store_close(s);
  unlink(path);
}
END_TEST

START_TEST(span_ends) {
  store_range r[STORE_RANGES_MAX];
  size_t n;
  store__split_span(INT64_MIN, INT64_MAX, 3, r, &n);
  ck_assert_uint_eq(n, 3);
  ck_assert(!r[0].has_lo && r[0].has_hi && r[1].has_lo && r[1].has_hi);
  ck_assert(r[0].hi == r[1].lo && r[1].hi == r[2].lo && !r[2].has_hi);
  ck_assert(r[0].hi < r[1].hi);
  store__split_span(5, 5, 4, r, &n);
  ck_assert_uint_eq(n, 1);
  ck_assert(!r[0].has_lo && !r[0].has_hi);
  store__split_span(0, 2, 8, r, &n);
  ck_assert_uint_eq(n, 3); /* one value each, no empty range */
  ck_assert(r[0].hi == 1 && r[1].lo == 1 && r[1].hi == 2 && r[2].lo == 2);
  store__split_span(-10, 10, STORE_RANGES_MAX, r, &n);
  ck_assert_uint_eq(n, 21);
}
END_TEST

static Suite *ranges_suite(void) {
  Suite *s = suite_create("store_ranges");
  TCase *tc = tcase_create("ranges");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, rowids_far_apart);
  tcase_add_test(tc, text_key_in_rowid_order);
  tcase_add_test(tc, not_split);
  tcase_add_test(tc, span_ends);
  tcase_add_test(tc, split_reads_only_the_bounds);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(ranges_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
