#define _POSIX_C_SOURCE 200809L
/*
 * src/store/sqlite.c: the SQLite adapter.
 *
 * The database is opened read-only and read with one prepared statement
 * that steps row by row, so memory stays flat whatever the table size. In
 * WAL mode a reader never blocks a writer: the statement reads from the
 * snapshot it started on while the writer appends to the log. In rollback
 * journal mode a writer holding the lock makes us wait up to the busy
 * timeout instead of failing at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "store_impl.h"

/* How long a statement waits for a writer's lock before giving up. */
#define SQLITE_BUSY_TIMEOUT_MS 5000

typedef struct sqlite_store {
  struct store base;
  sqlite3 *db;
  sqlite3_stmt *scan;
  char *sql;    /* the scan statement, built with %w quoting */
  char *schema; /* "main" unless the table names an attached schema */
  char *table;
  char *target_name;
  int rowid_key; /* the key is the rowid: max(rowid) estimates the size */
  int done;
} sqlite_store;

static int fail_db(sqlite_store *s, store_error *err, store_status status,
                   const char *what) {
  return store__fail(err, status, "target '%s' (%s): %s: %s", s->target_name,
                     s->base.description, what, sqlite3_errmsg(s->db));
}

/* Whether @p table has a single-column unique, non-partial index on @p key. */
static int has_unique_index(sqlite_store *s, const char *key, int *out,
                            store_error *err) {
  sqlite3_stmt *list = NULL, *info = NULL;
  *out = 0;
  if (sqlite3_prepare_v2(s->db,
                         "SELECT name FROM pragma_index_list(?1, ?2) "
                         "WHERE \"unique\" = 1 AND partial = 0",
                         -1, &list, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(s->db,
                         "SELECT count(*), max(name = ?2) FROM "
                         "pragma_index_info(?1, ?3)",
                         -1, &info, NULL) != SQLITE_OK) {
    int rc = fail_db(s, err, STORE_EIO, "cannot read the table's indexes");
    sqlite3_finalize(list);
    sqlite3_finalize(info);
    return rc;
  }
  sqlite3_bind_text(list, 1, s->table, -1, SQLITE_STATIC);
  sqlite3_bind_text(list, 2, s->schema, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(list)) == SQLITE_ROW && !*out) {
    sqlite3_reset(info);
    sqlite3_bind_text(info, 1, (const char *)sqlite3_column_text(list, 0), -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(info, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(info, 3, s->schema, -1, SQLITE_STATIC);
    if (sqlite3_step(info) == SQLITE_ROW && sqlite3_column_int(info, 0) == 1 &&
        sqlite3_column_int(info, 1) == 1)
      *out = 1;
  }
  int status = STORE_OK;
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    status = fail_db(s, err, STORE_EIO, "cannot read the table's indexes");
  sqlite3_finalize(list);
  sqlite3_finalize(info);
  return status;
}

/*
 * Checks the table, the key and the column, and learns whether the key is
 * the rowid. The pragma table functions take the names as bound values, so
 * nothing here is spliced into SQL.
 */
static int check_target(sqlite_store *s, const store_target *t,
                        store_error *err) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db,
                         "SELECT name, type, \"notnull\", pk FROM "
                         "pragma_table_info(?1, ?2)",
                         -1, &st, NULL) != SQLITE_OK)
    return fail_db(s, err, STORE_EIO, "cannot read the schema");
  sqlite3_bind_text(st, 1, s->table, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, s->schema, -1, SQLITE_STATIC);
  int rc, n_cols = 0, n_pk = 0, key_found = 0, key_pk = 0, key_notnull = 0;
  int column_found = 0, integer_pk = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 0);
    const char *type = (const char *)sqlite3_column_text(st, 1);
    int pk = sqlite3_column_int(st, 3);
    n_cols++;
    if (pk > 0) n_pk++;
    if (name == NULL) continue;
    if (strcmp(name, t->key) == 0) {
      key_found = 1;
      key_pk = pk > 0;
      key_notnull = sqlite3_column_int(st, 2) != 0;
      integer_pk =
          pk > 0 && type != NULL && sqlite3_stricmp(type, "INTEGER") == 0;
    }
    if (strcmp(name, t->column) == 0) column_found = 1;
  }
  if (rc != SQLITE_DONE) {
    int status = fail_db(s, err, STORE_EIO, "cannot read the schema");
    sqlite3_finalize(st);
    return status;
  }
  sqlite3_finalize(st);
  if (n_cols == 0)
    return store__fail(
        err, STORE_EUSAGE, "target '%s' (%s): no table '%s' in schema '%s'",
        s->target_name, s->base.description, s->table, s->schema);
  if (!key_found)
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': table '%s' has no column '%s' (the key)",
                       s->target_name, s->table, t->key);
  if (!column_found)
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': table '%s' has no column '%s'",
                       s->target_name, s->table, t->column);
  /* A one-column primary key names rows; so does a unique index on a
   * NOT NULL column. A column that is part of a composite key does not. */
  /* SQLite lets a rowid table's non-INTEGER primary key hold NULL: such a
   * key must be declared NOT NULL to name rows (a NULL met anyway stops the
   * scan, see sqlite_next). */
  int is_key = key_pk && n_pk == 1 && (integer_pk || key_notnull);
  if (!is_key && key_notnull) {
    int status = has_unique_index(s, t->key, &is_key, err);
    if (status != STORE_OK) return status;
  }
  if (!is_key)
    return store__fail(
        err, STORE_EUSAGE,
        "target '%s': '%s' is neither the primary key of table '%s' nor a "
        "unique not-null column; rollsafe needs one to name rows",
        s->target_name, t->key, s->table);
  s->rowid_key = integer_pk && n_pk == 1;
  return STORE_OK;
}

static int64_t sqlite_estimate_rows(store *base) {
  sqlite_store *s = (sqlite_store *)base;
  int64_t n = -1;
  sqlite3_stmt *st = NULL;
  /* ANALYZE's statistics first: "N ..." where N is the table's row count. */
  char *sql = sqlite3_mprintf(
      "SELECT stat FROM \"%w\".sqlite_stat1 WHERE tbl = ?1 AND idx IS NULL "
      "UNION ALL SELECT stat FROM \"%w\".sqlite_stat1 WHERE tbl = ?1 LIMIT 1",
      s->schema, s->schema);
  if (sql != NULL &&
      sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, s->table, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
      const char *stat = (const char *)sqlite3_column_text(st, 0);
      if (stat != NULL) n = strtoll(stat, NULL, 10);
    }
  }
  sqlite3_finalize(st);
  sqlite3_free(sql);
  st = NULL;
  sql = NULL;
  /* Otherwise the largest rowid, one b-tree descent, when rows are keyed by
   * it (deleted rows make it an overestimate, which progress can live with). */
  if (n < 0 && s->rowid_key) {
    sql = sqlite3_mprintf("SELECT max(rowid) FROM \"%w\".\"%w\"", s->schema,
                          s->table);
    if (sql != NULL &&
        sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) == SQLITE_INTEGER)
      n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_free(sql);
  }
  return n;
}

static int sqlite_scan(store *base, store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  if (s->scan != NULL)
    return store__fail(err, STORE_EUSAGE, "target '%s': scan already started",
                       s->target_name);
  const char *tail = NULL;
  if (sqlite3_prepare_v2(s->db, s->sql, -1, &s->scan, &tail) != SQLITE_OK) {
    /* The statement is ours except for --where: a failure to prepare it is
     * the operator's SQL (or a schema that changed under us). */
    store__fail(err, STORE_EUSAGE, "target '%s' (%s): cannot scan: %s%s",
                s->target_name, s->base.description, sqlite3_errmsg(s->db),
                s->sql != NULL && strstr(s->sql, " WHERE (") != NULL
                    ? " (check --where)"
                    : "");
    sqlite3_finalize(s->scan);
    s->scan = NULL;
    return STORE_EUSAGE;
  }
  /* Only the first statement is prepared: whatever follows a ';' in
   * --where would be silently ignored, so refuse it instead. */
  while (tail != NULL && (*tail == ' ' || *tail == '\n' || *tail == '\t'))
    tail++;
  if (tail != NULL && *tail != '\0') {
    sqlite3_finalize(s->scan);
    s->scan = NULL;
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': --where must be one SQL condition, "
                       "not several statements",
                       s->target_name);
  }
  s->done = 0;
  return STORE_OK;
}

static int sqlite_next(store *base, store_row *row, store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  if (s->scan == NULL || s->done) return 0;
  int rc = sqlite3_step(s->scan);
  if (rc == SQLITE_DONE) {
    s->done = 1;
    return 0;
  }
  if (rc != SQLITE_ROW) {
    s->done = 1;
    return fail_db(s, err, rc == SQLITE_NOMEM ? STORE_ENOMEM : STORE_EIO,
                   "scan failed");
  }
  /* Text first, then its length: the order SQLite's documentation asks for
   * so that the conversion of an integer key happens once. */
  const unsigned char *key = sqlite3_column_text(s->scan, 0);
  if (key == NULL && sqlite3_column_type(s->scan, 0) == SQLITE_NULL) {
    s->done = 1;
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': a row has a NULL key; the key must name "
                       "every row",
                       s->target_name);
  }
  row->key = key != NULL ? (const char *)key : "";
  row->key_len = key != NULL ? (size_t)sqlite3_column_bytes(s->scan, 0) : 0;
  if (sqlite3_column_type(s->scan, 1) == SQLITE_NULL) {
    row->value = NULL;
    row->value_len = 0;
    row->value_is_null = 1;
  } else {
    const void *blob = sqlite3_column_blob(s->scan, 1);
    row->value_len = (size_t)sqlite3_column_bytes(s->scan, 1);
    /* An empty blob comes back as NULL: still a zero-length record. */
    row->value = blob != NULL ? blob : (const uint8_t *)"";
    row->value_is_null = 0;
    if (blob == NULL && row->value_len != 0)
      return fail_db(s, err, STORE_ENOMEM, "cannot read a value");
  }
  return 1;
}

static void sqlite_cancel(store *base) {
  sqlite_store *s = (sqlite_store *)base;
  if (s->scan != NULL) {
    sqlite3_finalize(s->scan);
    s->scan = NULL;
  }
  s->done = 1;
}

static void sqlite_interrupt(store *base) {
  sqlite_store *s = (sqlite_store *)base;
  if (s->db != NULL) sqlite3_interrupt(s->db);
}

static void sqlite_close(store *base) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_finalize(s->scan);
  sqlite3_close_v2(s->db);
  sqlite3_free(s->sql);
  free(s->schema);
  free(s->table);
  free(s->target_name);
  free(s);
}

static const store_ops sqlite_ops = {
    .estimate_rows = sqlite_estimate_rows,
    .scan = sqlite_scan,
    .next = sqlite_next,
    .cancel = sqlite_cancel,
    .interrupt = sqlite_interrupt,
    .close = sqlite_close,
};

static char *dup_or_null(const char *v) {
  if (v == NULL) return NULL;
  size_t n = strlen(v) + 1;
  char *d = malloc(n);
  if (d != NULL) memcpy(d, v, n);
  return d;
}

int store__sqlite_open(store **out, const store_target *t,
                       const store_open_options *options, store_error *err) {
  (void)options;
  char schema[64], table[64];
  int status = store__split_table(t->table, schema, table, err);
  if (status != STORE_OK) return status;
  const char *name = t->name != NULL ? t->name : t->table;
  /* What messages call the file: a connection from the environment is
   * shown by the variable's name, never by its value. */
  const char *shown =
      t->connection_label != NULL ? t->connection_label : t->connection;

  /* A missing file would otherwise come back as SQLite's bare "unable to
   * open database file"; say which file and why. URIs go to SQLite as is. */
  struct stat sb;
  if (strncmp(t->connection, "file:", 5) != 0 && stat(t->connection, &sb) != 0)
    return store__fail(err, STORE_EIO, "target '%s': cannot open '%s': %s",
                       name, shown, strerror(errno));

  sqlite_store *s = calloc(1, sizeof *s);
  if (s == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  s->base.ops = &sqlite_ops;
  s->schema = dup_or_null(schema[0] ? schema : "main");
  s->table = dup_or_null(table);
  s->target_name = dup_or_null(name);
  snprintf(s->base.description, sizeof s->base.description,
           "sqlite-table %s in %s", t->table, shown);
  if (s->schema == NULL || s->table == NULL || s->target_name == NULL) {
    sqlite_close(&s->base);
    return store__fail(err, STORE_ENOMEM, "out of memory");
  }
  int rc = sqlite3_open_v2(
      t->connection, &s->db,
      SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    status = s->db != NULL ? fail_db(s, err, STORE_EIO, "cannot open")
                           : store__fail(err, STORE_ENOMEM, "out of memory");
    sqlite_close(&s->base);
    return status;
  }
  sqlite3_busy_timeout(s->db, SQLITE_BUSY_TIMEOUT_MS);
  /* A file that is not a database fails here, at the first read. */
  rc = sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL,
                    NULL);
  if (rc != SQLITE_OK) {
    status = fail_db(s, err, STORE_EIO, "cannot read");
    sqlite_close(&s->base);
    return status;
  }
  if ((status = check_target(s, t, err)) != STORE_OK) {
    sqlite_close(&s->base);
    return status;
  }
  /* %w doubles embedded double quotes: every identifier is quoted. The
   * where clause is the operator's own SQL, kept in parentheses so that an
   * OR in it cannot escape. */
  if (t->where != NULL && t->where[0] != '\0')
    s->sql = sqlite3_mprintf(
        "SELECT \"%w\", \"%w\" FROM \"%w\".\"%w\" WHERE (\n%s\n)", t->key,
        t->column, s->schema, s->table, t->where);
  else
    s->sql = sqlite3_mprintf("SELECT \"%w\", \"%w\" FROM \"%w\".\"%w\"", t->key,
                             t->column, s->schema, s->table);
  if (s->sql == NULL) {
    sqlite_close(&s->base);
    return store__fail(err, STORE_ENOMEM, "out of memory");
  }
  *out = &s->base;
  return STORE_OK;
}

int store__sqlite_open_writer(store **out, const store_target *target,
                              const store_open_options *options,
                              const store_write_options *write,
                              store_error *err) {
  (void)target;
  (void)options;
  (void)write;
  *out = NULL;
  return store__fail(err, STORE_EUSAGE,
                     "sqlite-table: writing is not available yet");
}
