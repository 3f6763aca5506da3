#define _POSIX_C_SOURCE 200809L
/*
 * src/store/sqlite.c: the SQLite adapter.
 *
 * Reading (store_open): the database is opened read-only and read with one
 * prepared statement that steps row by row, so memory stays flat whatever
 * the table size. In WAL mode a reader never blocks a writer: the statement
 * reads from the snapshot it started on while the writer appends to the
 * log. In rollback journal mode a writer holding the lock makes us wait up
 * to the busy timeout instead of failing at once.
 *
 * Writing (store_open_writer): the same checks on a read-write connection
 * that never creates a missing file. Pages are read in short implicit read
 * transactions that end before the call returns, so WAL checkpoints are not
 * held back between pages; every batch is one BEGIN IMMEDIATE transaction
 * that takes the write lock up front and commits its swaps, their backup
 * rows, the run's checkpoint and its lease's heartbeat together. In WAL
 * mode readers are never blocked by it; in rollback journal mode the
 * commit waits for readers to finish. Every wait for a lock is the busy
 * handler's (busy_wait: it polls every few milliseconds, up to the lock
 * timeout); a step that still did not get its lock gives way (STORE_EBUSY,
 * nothing changed) and store.c tries it again until the lock timeout.
 *
 * A read-only WAL database is read as sqlite_readonly.c says; run leases
 * are sqlite_lease.c's.
 *
 * The run and backup tables, created in the target's schema on first use
 * (in one transaction). Plain tables rather than STRICT ones, so that an
 * application linking an SQLite older than 3.37 can still open the file:
 *
 *   CREATE TABLE IF NOT EXISTS rollsafe_runs (
 *     run_id      TEXT NOT NULL PRIMARY KEY,
 *     command     TEXT NOT NULL,     -- 'fix' or 'restore'
 *     target      TEXT NOT NULL,     -- the target's name
 *     table_name  TEXT NOT NULL,
 *     key_column  TEXT NOT NULL,
 *     column_name TEXT NOT NULL,
 *     to_version  INTEGER NOT NULL,
 *     status      TEXT NOT NULL,     -- running, done, interrupted, failed
 *     checkpoint  TEXT,              -- last key of the last batch, or NULL
 *     started_us  INTEGER NOT NULL,  -- microseconds since the epoch
 *     updated_us  INTEGER NOT NULL,
 *     converted   INTEGER NOT NULL DEFAULT 0,
 *     conflicts   INTEGER NOT NULL DEFAULT 0,
 *     lossy       INTEGER NOT NULL DEFAULT 0,
 *     impossible  INTEGER NOT NULL DEFAULT 0,
 *     corrupt     INTEGER NOT NULL DEFAULT 0,
 *     restored    INTEGER NOT NULL DEFAULT 0
 *   );
 *   CREATE TABLE IF NOT EXISTS rollsafe_backup (
 *     run_id     TEXT NOT NULL,
 *     target     TEXT NOT NULL,
 *     key        TEXT NOT NULL,      -- the key's text form
 *     old_value  BLOB NOT NULL,      -- the original bytes (the first ones)
 *     new_value  BLOB NOT NULL,      -- the bytes the fix wrote last
 *     written_us INTEGER NOT NULL,
 *     restored   INTEGER NOT NULL DEFAULT 0,
 *     PRIMARY KEY (run_id, key)
 *   );
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "sqlite_internal.h"

/* How long a reader's statement waits for a writer's lock before giving up. */
#define SQLITE_BUSY_TIMEOUT_MS 5000

/* The writer's prepared statements (see prepare_writer for their SQL). */
enum {
  ST_PAGE_FIRST,    /* ?2 limit, ?3.. a queue's pending, in-flight states */
  ST_PAGE_AFTER,    /* ?1 after, ?2 limit, ?3.. the same states */
  ST_CAS,           /* ?1 value, ?2 key, ?3 expect, ?4.. pending states */
  ST_BACKUP_PUT,    /* ?1 run, ?2 target, ?3 key, ?4 old, ?5 new, ?6 time */
  ST_BACKUP_FIRST,  /* ?1 run, ?3 limit */
  ST_BACKUP_AFTER,  /* ?1 run, ?2 after, ?3 limit */
  ST_MARK_RESTORED, /* ?1 run, ?2 key */
  ST_RUN_INSERT,    /* ?1..?17 every column */
  ST_RUN_UPDATE,    /* ?1 run, ?2..?10 status, checkpoint, time, counts */
  ST_RUN_GET,       /* ?1 run */
  ST_RUN_ALL,
  ST_RUN_PARTS,    /* ?1 the run's id shared by its targets */
  ST_PURGE_BACKUP, /* ?1 run */
  ST_PURGE_RUN,    /* ?1 run */
  ST_ROW_NOW,      /* ?1 key, ?2.. pending, then in-flight states: a row's
                      bytes and state, read, never written */
  ST_UNNAMED,      /* ?1 after rowid, ?2 limit, ?3.. states: rows whose key
                      has a NULL part (NULL statement when none can) */
  ST_COUNT
};

/* Bytes a page or a backup page hands out, valid until the next call. */
typedef struct byte_buf {
  char *data;
  size_t len, cap;
} byte_buf;

typedef struct sqlite_store {
  struct store base;
  sqlite3 *db;
  sqlite3_stmt *scan;
  char *sql;    /* the scan statement, built with %w quoting */
  char *schema; /* "main" unless the table names an attached schema */
  char *table;
  char *target_name;
  char *shown;   /* the file as messages show it: never a secret */
  int rowid_key; /* the key is the rowid: max(rowid) estimates the size */
  /* The key's columns (none: rows are named by rowid), and for each
   * whether it has TEXT affinity. */
  char key_cols[STORE_KEY_COLUMNS_MAX][64];
  size_t nk;
  int key_text[STORE_KEY_COLUMNS_MAX];
  int key_nullable; /* a key column may hold NULL: such rows go by rowid */
  int with_rowid;   /* not a WITHOUT ROWID table */
  /* The scan's columns: the key's (0 .. nk), the rowid at rowid_col when
   * rows may be named by it (-1 otherwise), the record at value_col. */
  int rowid_col, value_col;
  char key_buf[40];  /* an integer key's or a position's text, current row */
  store__key_buf kb; /* a composite key's text, current row */
  int queue;         /* a queue kind: swaps only pending messages */
  int has_where;     /* the operator's --where is part of the reads */
  /* What the record column must hold (store_target.values), and its name
   * for messages. */
  store_values values;
  char *column;
  /* A queue's states, bound into every statement that names them: the
   * reads take pending and in-flight ones (see the ST_ enum for where). */
  store__states states;
  int done;
  /* A sampled scan (store_open_sampled): the rowid windows it reads, in
   * rowid order, each [lo, hi] inclusive and the stratum it lies in (its
   * rows' cluster). Each window is one run of the scan statement, its
   * bounds bound to parameters lo_param and hi_param; `window` is the one
   * running. */
  int sampled;
  int64_t (*windows)[3];
  size_t n_windows, window;
  int lo_param, hi_param;

  /* Writer only. */
  sqlite3_stmt *st[ST_COUNT];
  store_page_row *page_rows;
  size_t page_n, page_cap;
  size_t *page_offs; /* 2 per row: key and value offsets into page_buf */
  size_t page_offs_cap;
  byte_buf page_buf;
  /* The last key of the last page as SQLite typed it, so that the next
   * page continues from that exact value (see bind_after). */
  int last_type;
  sqlite3_int64 last_i64;
  double last_f64;
  store_swap *backup_rows;
  size_t backup_cap;
  size_t *backup_offs; /* 3 per row: key, old and new offsets */
  size_t backup_offs_cap;
  byte_buf backup_buf;
  char *backup_run; /* the run whose backups the last backup page read */
  /* Run leases (sqlite_lease.c), and the busy handler's state: when the
   * current wait began, and whether this attempt may wait at all. */
  store__sq_lease lease;
  double busy_since;
  int busy_no_wait;
  /* Which of store__run_columns the runs table has (all, once a writer
   * added them; a runs store reads NULL for the others), and whether
   * rollsafe's tables are there at all (a runs store: no tables, no runs). */
  unsigned char run_col[32];
  int has_runs;
} sqlite_store;

/* The database's own error: a lock it could not get (SQLITE_BUSY,
 * SQLITE_LOCKED) is giving way, STORE_EBUSY, whatever the caller took the
 * failure for: another process's lock is never an I/O error. */
static int fail_db(sqlite_store *s, store_error *err, store_status status,
                   const char *what) {
  int code = s->db != NULL ? sqlite3_errcode(s->db) & 0xff : SQLITE_OK;
  if (status == STORE_EIO && (code == SQLITE_BUSY || code == SQLITE_LOCKED))
    status = STORE_EBUSY;
  /* A full disk (SQLITE_FULL, or a write that failed with ENOSPC) stops a
   * writer's run from outside it (store_fault): the step was rolled back,
   * waiting does not free space, and the run resumes once there is some. */
  if (s->db != NULL && s->base.lock_timeout_ms > 0 &&
      (code == SQLITE_FULL ||
       (code == SQLITE_IOERR && sqlite3_system_errno(s->db) == ENOSPC))) {
    s->base.fault = STORE_FAULT_DISK_FULL;
    s->base.busy_final = 1;
    return store__fail(err, STORE_EBUSY,
                       "target '%s' (%s): %s: %s: the disk holding %s is "
                       "full; nothing of this step was written; free space "
                       "on it, then resume the run",
                       s->target_name, s->base.description, what,
                       sqlite3_errmsg(s->db), s->shown);
  }
  return store__fail(err, status, "target '%s' (%s): %s: %s", s->target_name,
                     s->base.description, what, sqlite3_errmsg(s->db));
}

/*
 * The writer's busy handler: while another connection holds a lock this
 * one needs, poll for it every 1 to 3 ms (SQLite's own handler backs off
 * to 100 ms, and writers that leave the lock free for a few milliseconds
 * between their transactions then keep it for ever), until the lock
 * timeout since this wait began, or the command is asked to stop.
 * SQLite calls it with @p count 0 at the start of each wait.
 */
static int busy_wait(void *ctx, int count) {
  sqlite_store *s = ctx;
  double now = store__now();
  if (count == 0) s->busy_since = now;
  if (s->busy_no_wait) return 0;
  if (s->base.interrupted != NULL && *s->base.interrupted) return 0;
  if (now - s->busy_since >= (double)s->base.lock_timeout_ms / 1000.0) return 0;
  store__sleep(0.001 + 0.002 * store__random_unit());
  return 1;
}

/* The placeholders of @p n states bound from parameter @p first on:
 * "?3, ?4, ?5" (sqlite3_free it); NULL when out of memory. @p n > 0. */
static char *placeholders(int first, size_t n) {
  sqlite3_str *str = sqlite3_str_new(NULL);
  for (size_t i = 0; i < n; i++)
    sqlite3_str_appendf(str, "%s?%d", i > 0 ? ", " : "", first + (int)i);
  return sqlite3_str_finish(str);
}

/* Binds @p n states from parameter @p first on; they live as long as the
 * store. */
static void bind_states(sqlite3_stmt *st, int first, char *const *states,
                        size_t n) {
  for (size_t i = 0; i < n; i++)
    sqlite3_bind_text(st, first + (int)i, states[i], -1, SQLITE_STATIC);
}

/* The reads' condition on a queue's state column, its pending and
 * in-flight states bound from parameter @p first on: "state" IN (?3, ?4);
 * NULL for a table or a queue without a state column, and *nomem set when
 * out of memory. */
static char *state_condition(const sqlite_store *s, const char *column,
                             int first, int *nomem) {
  size_t n = s->states.n_pending + s->states.n_in_flight;
  *nomem = 0;
  if (n == 0) return NULL;
  char *list = placeholders(first, n);
  char *cond =
      list != NULL ? sqlite3_mprintf("\"%w\" IN (%s)", column, list) : NULL;
  sqlite3_free(list);
  *nomem = cond == NULL;
  return cond;
}

/* The key's columns joined for SQL, each quoted: @p fmt formats one
 * column (its name for %w, then its index for %d), @p sep joins them.
 * sqlite3_free it; NULL when out of memory. */
static char *key_sql(const sqlite_store *s, const char *fmt, const char *sep) {
  sqlite3_str *str = sqlite3_str_new(NULL);
  for (size_t i = 0; i < s->nk; i++) {
    if (i > 0) sqlite3_str_appendall(str, sep);
    sqlite3_str_appendf(str, fmt, s->key_cols[i], (int)i);
  }
  return sqlite3_str_finish(str);
}

/* "a", "b": the key's columns as a select or order list. */
static char *key_list(const sqlite_store *s) {
  return key_sql(s, "\"%w\"", ", ");
}

/* The parameter of part @p i of a composite key: numbered above every
 * other parameter of the writer's statements (at most ?3 plus the states),
 * so that none is shared. */
static int key_param(const sqlite_store *s, size_t i) {
  return 5 + (int)(s->states.n_pending + s->states.n_in_flight + i);
}

/* "p1 = ?N AND p2 = ?N+1": the key's columns, each against its part's
 * parameter, joined by @p sep after @p op. */
static char *key_params_sql(const sqlite_store *s, const char *op,
                            const char *sep) {
  sqlite3_str *str = sqlite3_str_new(NULL);
  for (size_t i = 0; i < s->nk; i++)
    sqlite3_str_appendf(str, "%s\"%w\"%s?%d", i > 0 ? sep : "", s->key_cols[i],
                        op, key_param(s, i));
  return sqlite3_str_finish(str);
}

/* The condition that names a row by its key, the key's text bound at
 * ?@p first (one column) or its parts at key_param() (several; see
 * bind_key). */
static char *key_eq(const sqlite_store *s, int first) {
  if (s->nk == 1) return sqlite3_mprintf("\"%w\" = ?%d", s->key_cols[0], first);
  return key_params_sql(s, " = ", " AND ");
}

/* The condition of a page after a key bound as key_eq binds it at ?1. */
static char *key_after(const sqlite_store *s) {
  if (s->nk == 1) return sqlite3_mprintf("\"%w\" > ?1", s->key_cols[0]);
  char *cols = key_list(s);
  sqlite3_str *str = sqlite3_str_new(NULL);
  for (size_t i = 0; i < s->nk; i++)
    sqlite3_str_appendf(str, "%s?%d", i > 0 ? ", " : "", key_param(s, i));
  char *params = sqlite3_str_finish(str);
  char *out = cols != NULL && params != NULL
                  ? sqlite3_mprintf("(%s) > (%s)", cols, params)
                  : NULL;
  sqlite3_free(cols);
  sqlite3_free(params);
  return out;
}

/* Whether @p table has a unique, non-partial index on exactly the columns
 * @p cols (in any order). */
static int has_unique_index(sqlite_store *s, char cols[][64], size_t n,
                            int *out, store_error *err) {
  sqlite3_stmt *list = NULL, *info = NULL;
  *out = 0;
  if (sqlite3_prepare_v2(s->db,
                         "SELECT name FROM pragma_index_list(?1, ?2) "
                         "WHERE \"unique\" = 1 AND partial = 0",
                         -1, &list, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(s->db, "SELECT name FROM pragma_index_info(?1, ?2)",
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
    sqlite3_bind_text(info, 2, s->schema, -1, SQLITE_STATIC);
    size_t count = 0, matched = 0;
    while (sqlite3_step(info) == SQLITE_ROW) {
      const char *name = (const char *)sqlite3_column_text(info, 0);
      count++;
      for (size_t i = 0; name != NULL && i < n; i++)
        if (strcmp(name, cols[i]) == 0) matched++;
    }
    *out = count == n && matched == n;
  }
  int status = STORE_OK;
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    status = fail_db(s, err, STORE_EIO, "cannot read the table's indexes");
  sqlite3_finalize(list);
  sqlite3_finalize(info);
  return status;
}

/* The affinity SQLite gives a declared type (datatype3.html, 3.1: its
 * rules, in order): 'i' INTEGER, 't' TEXT, 'b' BLOB (also no type at
 * all), 'r' REAL, 'n' NUMERIC. */
static char affinity_of(const char *type) {
  if (type == NULL || type[0] == '\0') return 'b';
  char up[64];
  size_t n = 0;
  for (; type[n] != '\0' && n < sizeof up - 1; n++)
    up[n] = (char)(type[n] >= 'a' && type[n] <= 'z' ? type[n] - 'a' + 'A'
                                                    : type[n]);
  up[n] = '\0';
  if (strstr(up, "INT") != NULL) return 'i';
  if (strstr(up, "CHAR") || strstr(up, "CLOB") || strstr(up, "TEXT"))
    return 't';
  if (strstr(up, "BLOB") != NULL) return 'b';
  if (strstr(up, "REAL") || strstr(up, "FLOA") || strstr(up, "DOUB"))
    return 'r';
  return 'n';
}

/* A value of storage class @p type (sqlite3_column_type) that the record
 * column may not hold: a number is never a record, and text is one only
 * under a text encoding. @p key names the row. */
static int check_value_class(const sqlite_store *s, int type, const char *key,
                             store_error *err) {
  if (type == SQLITE_BLOB || type == SQLITE_NULL) return STORE_OK;
  if (type == SQLITE_TEXT && s->values != STORE_VALUES_BINARY) return STORE_OK;
  if (type == SQLITE_TEXT)
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': column '%s' holds TEXT (key '%.64s'); "
                       "records stored as text need --column-encoding "
                       "base64 or hex",
                       s->target_name, s->column, key);
  return store__fail(err, STORE_EUSAGE,
                     "target '%s': column '%s' holds %s (key '%.64s'), which "
                     "cannot be a record whatever the column encoding",
                     s->target_name, s->column,
                     type == SQLITE_INTEGER ? "an INTEGER" : "a REAL", key);
}

/*
 * The record column's type, before any row is judged: its declared
 * affinity, then the storage class of its first value (a column of BLOB
 * affinity, or none, may hold TEXT; later values are checked as they are
 * read). A restore (STORE_VALUES_STORED) puts back what was there, text or
 * blob, and checks the affinity only.
 */
static int check_value_column(sqlite_store *s, const char *declared,
                              store_error *err) {
  char aff = affinity_of(declared);
  const char *shown = declared != NULL && declared[0] ? declared : "untyped";
  if (aff != 't' && aff != 'b')
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': column '%s' is %s, which cannot hold "
                       "records whatever the column encoding; rollsafe "
                       "reads them from BLOB columns, or from TEXT columns "
                       "with --column-encoding base64 or hex",
                       s->target_name, s->column, shown);
  if (aff == 't' && s->values == STORE_VALUES_BINARY)
    return store__fail(
        err, STORE_EUSAGE,
        "target '%s': column '%s' is %s%s; records stored as "
        "text need --column-encoding base64 or hex",
        s->target_name, s->column, shown,
        sqlite3_stricmp(shown, "TEXT") == 0 ? "" : " (TEXT affinity)");
  if (s->values == STORE_VALUES_STORED) return STORE_OK;
  /* The row is named by its first key column, or by its rowid. */
  char *sql =
      s->nk > 0 ? sqlite3_mprintf(
                      "SELECT typeof(\"%w\"), CAST(\"%w\" AS TEXT) FROM "
                      "\"%w\".\"%w\" WHERE \"%w\" IS NOT NULL LIMIT 1",
                      s->column, s->key_cols[0], s->schema, s->table, s->column)
                : sqlite3_mprintf(
                      "SELECT typeof(\"%w\"), 'rowid ' || _rowid_ FROM "
                      "\"%w\".\"%w\" WHERE \"%w\" IS NOT NULL LIMIT 1",
                      s->column, s->schema, s->table, s->column);
  sqlite3_stmt *st = NULL;
  if (sql == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
  sqlite3_free(sql);
  if (rc != SQLITE_OK) return fail_db(s, err, STORE_EIO, "cannot read");
  int status = STORE_OK;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const char *cls = (const char *)sqlite3_column_text(st, 0);
    int type = cls == NULL                   ? SQLITE_NULL
               : strcmp(cls, "text") == 0    ? SQLITE_TEXT
               : strcmp(cls, "integer") == 0 ? SQLITE_INTEGER
               : strcmp(cls, "real") == 0    ? SQLITE_FLOAT
                                             : SQLITE_BLOB;
    const char *key = (const char *)sqlite3_column_text(st, 1);
    status = check_value_class(s, type, key != NULL ? key : "", err);
  } else if (rc != SQLITE_DONE) {
    status = fail_db(s, err, STORE_EIO, "cannot read");
  }
  sqlite3_finalize(st);
  return status;
}

/* The schema of "schema.table" is an attached database ("main", "temp",
 * or one attached): a table name with a dot is read as schema.table, and
 * an unknown schema is the operator's name, not a failure to read. */
static int check_schema(sqlite_store *s, store_error *err) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db,
                         "SELECT count(*) FROM pragma_database_list "
                         "WHERE name = ?1",
                         -1, &st, NULL) != SQLITE_OK)
    return fail_db(s, err, STORE_EIO, "cannot read the schema");
  sqlite3_bind_text(st, 1, s->schema, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  int found = rc == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW)
    return fail_db(s, err, STORE_EIO, "cannot read the schema");
  if (found) return STORE_OK;
  return store__fail(err, STORE_EUSAGE,
                     "target '%s' (%s): no database '%s' is attached (a "
                     "table name with a dot is read as schema.table)",
                     s->target_name, s->base.description, s->schema);
}

/* Whether the table has a rowid (it is not a WITHOUT ROWID table). */
static int has_rowid(sqlite_store *s) {
  sqlite3_stmt *st = NULL;
  char *sql = sqlite3_mprintf("SELECT _rowid_ FROM \"%w\".\"%w\" LIMIT 0",
                              s->schema, s->table);
  int ok =
      sql != NULL && sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK;
  sqlite3_finalize(st);
  sqlite3_free(sql);
  return ok;
}

/* What check_target learns of the table's columns. */
typedef struct table_info {
  int n_cols, n_pk, column_found;
  char column_type[64];               /* the record column's declared type */
  char pk[STORE_KEY_COLUMNS_MAX][64]; /* the primary key, in its order */
  int pk_too_wide;
  int found[STORE_KEY_COLUMNS_MAX]; /* per key column given */
  int notnull[STORE_KEY_COLUMNS_MAX];
  int pk_of[STORE_KEY_COLUMNS_MAX];   /* its position in the primary key */
  int integer[STORE_KEY_COLUMNS_MAX]; /* declared INTEGER */
  int text[STORE_KEY_COLUMNS_MAX];
} table_info;

/* One row of pragma_table_info into @p ti, for key columns @p cols. */
static void note_column(table_info *ti, sqlite3_stmt *st, char cols[][64],
                        size_t n, const char *column) {
  const char *name = (const char *)sqlite3_column_text(st, 0);
  const char *type = (const char *)sqlite3_column_text(st, 1);
  int pk = sqlite3_column_int(st, 3);
  ti->n_cols++;
  if (name == NULL) return;
  if (pk > 0) {
    ti->n_pk++;
    if (pk <= STORE_KEY_COLUMNS_MAX && strlen(name) < 64)
      snprintf(ti->pk[pk - 1], 64, "%s", name);
    else
      ti->pk_too_wide = 1;
  }
  for (size_t i = 0; i < n; i++) {
    if (strcmp(name, cols[i]) != 0) continue;
    ti->found[i] = 1;
    ti->notnull[i] = sqlite3_column_int(st, 2) != 0;
    ti->pk_of[i] = pk;
    ti->integer[i] = type != NULL && sqlite3_stricmp(type, "INTEGER") == 0;
    ti->text[i] = affinity_of(type) == 't';
  }
  if (strcmp(name, column) == 0) {
    ti->column_found = 1;
    snprintf(ti->column_type, sizeof ti->column_type, "%s", type ? type : "");
  }
}

static int read_table_info(sqlite_store *s, table_info *ti, char cols[][64],
                           size_t n, const char *column, store_error *err) {
  sqlite3_stmt *st = NULL;
  memset(ti, 0, sizeof *ti);
  if (sqlite3_prepare_v2(s->db,
                         "SELECT name, type, \"notnull\", pk FROM "
                         "pragma_table_info(?1, ?2)",
                         -1, &st, NULL) != SQLITE_OK)
    return fail_db(s, err, STORE_EIO, "cannot read the schema");
  sqlite3_bind_text(st, 1, s->table, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, s->schema, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    note_column(ti, st, cols, n, column);
  int status = rc == SQLITE_DONE
                   ? STORE_OK
                   : fail_db(s, err, STORE_EIO, "cannot read the schema");
  sqlite3_finalize(st);
  if (status == STORE_OK && ti->n_cols == 0)
    status = store__fail(
        err, STORE_EUSAGE, "target '%s' (%s): no table '%s' in schema '%s'",
        s->target_name, s->base.description, s->table, s->schema);
  return status;
}

/* Whether the columns @p cols are exactly the primary key (in any order). */
static int is_primary_key(const table_info *ti, size_t n) {
  if (n == 0 || (size_t)ti->n_pk != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (ti->pk_of[i] <= 0) return 0;
  return 1;
}

/*
 * Checks the table, the key and the column. The key is the one the target
 * names (its primary key, or the columns of a unique index), or else the
 * primary key, whatever its columns; a table without one is read with rows
 * named by rowid. A key column that may hold NULL (SQLite allows it in a
 * rowid table's non-INTEGER primary key, and in a unique index) leaves the
 * rows where it is NULL without a name: they are read by rowid, never
 * written. The pragma table functions take the names as bound values, so
 * nothing here is spliced into SQL.
 */
static int check_target(sqlite_store *s, const store_target *t,
                        store_error *err) {
  int status = check_schema(s, err);
  if (status != STORE_OK) return status;
  char cols[STORE_KEY_COLUMNS_MAX][64];
  size_t n = 0;
  status = store__key_columns(t->key, cols, &n, err);
  if (status != STORE_OK) return status;
  int given = n > 0;
  table_info ti;
  status = read_table_info(s, &ti, cols, n, t->column, err);
  if (status != STORE_OK) return status;
  if (!given && ti.n_pk > 0) {
    if (ti.pk_too_wide || ti.n_pk > STORE_KEY_COLUMNS_MAX)
      return store__fail(err, STORE_EUSAGE,
                         "target '%s': the primary key of table '%s' has "
                         "more than %d columns",
                         s->target_name, s->table, STORE_KEY_COLUMNS_MAX);
    n = (size_t)ti.n_pk;
    memcpy(cols, ti.pk, sizeof ti.pk);
    status = read_table_info(s, &ti, cols, n, t->column, err);
    if (status != STORE_OK) return status;
  }
  for (size_t i = 0; i < n; i++)
    if (!ti.found[i])
      return store__fail(err, STORE_EUSAGE,
                         "target '%s': table '%s' has no column '%s' (the "
                         "key)",
                         s->target_name, s->table, cols[i]);
  if (!ti.column_found)
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': table '%s' has no column '%s'",
                       s->target_name, s->table, t->column);
  int is_key = is_primary_key(&ti, n);
  if (!is_key && n > 0) {
    status = has_unique_index(s, cols, n, &is_key, err);
    if (status != STORE_OK) return status;
  }
  if (!is_key && n > 0)
    return store__fail(
        err, STORE_EUSAGE,
        "target '%s': '%s' is neither the primary key of table '%s' nor the "
        "column(s) of a unique index; rollsafe needs one to name rows",
        s->target_name, t->key != NULL ? t->key : "", s->table);
  s->with_rowid = has_rowid(s);
  int pk = is_primary_key(&ti, n);
  s->rowid_key = n == 1 && pk && ti.integer[0];
  s->key_nullable = 0;
  for (size_t i = 0; i < n; i++) {
    s->key_text[i] = ti.text[i];
    /* A WITHOUT ROWID table's primary key is NOT NULL whatever it says. */
    if (!ti.notnull[i] && !s->rowid_key && !(pk && !s->with_rowid))
      s->key_nullable = 1;
  }
  if (s->key_nullable && !s->with_rowid)
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': key '%s' of table '%s' may be NULL and "
                       "the table has no rowid to name such rows by",
                       s->target_name, t->key != NULL ? t->key : "", s->table);
  memcpy(s->key_cols, cols, sizeof cols);
  s->nk = n;
  store__key_set(&s->base, cols, n);
  return check_value_column(s, ti.column_type, err);
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

static store_status status_of(int rc);

/* Ranges by rowid, read in rowid order: only for a rowid table read
 * without a condition (a --where or a queue's states may make SQLite read
 * through an index, in its order). */
static int sqlite_splittable(const sqlite_store *s) {
  return s->with_rowid && !s->has_where && s->states.n_pending == 0 &&
         s->states.n_in_flight == 0 && s->scan == NULL && !s->sampled;
}

/* The table's smallest and largest rowid (*empty: it has no row). Two
 * subqueries, each one b-tree descent: min() and max() together in one
 * aggregate would read the whole table. */
static int rowid_bounds(sqlite_store *s, int64_t *min, int64_t *max, int *empty,
                        store_error *err) {
  char *sql = sqlite3_mprintf(
      "SELECT (SELECT min(_rowid_) FROM \"%w\".\"%w\"), "
      "(SELECT max(_rowid_) FROM \"%w\".\"%w\")",
      s->schema, s->table, s->schema, s->table);
  if (sql == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
  sqlite3_free(sql);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(st);
    return fail_db(s, err, status_of(rc), "cannot read the rowid bounds");
  }
  *empty = sqlite3_column_type(st, 0) != SQLITE_INTEGER;
  *min = sqlite3_column_int64(st, 0);
  *max = sqlite3_column_int64(st, 1);
  sqlite3_finalize(st);
  return STORE_OK;
}

static int sqlite_split(store *base, unsigned n, store_range *out,
                        size_t *n_out, store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  memset(&out[0], 0, sizeof out[0]);
  *n_out = 1;
  if (!sqlite_splittable(s)) return STORE_OK;
  int64_t min, max;
  int empty;
  int rc = rowid_bounds(s, &min, &max, &empty, err);
  if (rc != STORE_OK) return rc;
  if (!empty) store__split_span(min, max, n, out, n_out);
  return STORE_OK;
}

static int sqlite_set_range(store *base, const store_range *r,
                            store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  if (!sqlite_splittable(s))
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': cannot be read by rowid ranges",
                       s->target_name);
  /* The bounds are integers of ours, written into the statement. */
  char cond[96];
  if (r->has_lo && r->has_hi)
    snprintf(cond, sizeof cond, " WHERE _rowid_ >= %lld AND _rowid_ < %lld",
             (long long)r->lo, (long long)r->hi);
  else if (r->has_lo)
    snprintf(cond, sizeof cond, " WHERE _rowid_ >= %lld", (long long)r->lo);
  else
    snprintf(cond, sizeof cond, " WHERE _rowid_ < %lld", (long long)r->hi);
  char *sql = sqlite3_mprintf("%s%s", s->sql, cond);
  if (sql == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  sqlite3_free(s->sql);
  s->sql = sql;
  return STORE_OK;
}

/* Binds window s->window's bounds to the scan statement. */
static void bind_window(sqlite_store *s) {
  sqlite3_bind_int64(s->scan, s->lo_param, s->windows[s->window][0]);
  sqlite3_bind_int64(s->scan, s->hi_param, s->windows[s->window][1]);
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
                s->has_where ? " (check --where)" : "");
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
  bind_states(s->scan, 1, s->states.items,
              s->states.n_pending + s->states.n_in_flight);
  if (s->sampled) {
    s->lo_param = sqlite3_bind_parameter_index(s->scan, ":rs_window_lo");
    s->hi_param = sqlite3_bind_parameter_index(s->scan, ":rs_window_hi");
    s->window = 0;
    bind_window(s);
  }
  s->done = 0;
  return STORE_OK;
}

/*
 * The key of the current row of @p st, whose key columns come first and
 * whose rowid (when rows may be named by it) is column s->rowid_col: into
 * *key / *len / *parts (see store.h for the forms), pointing into the
 * statement or the store until the next row. STORE_OK or an error.
 */
static int row_key(sqlite_store *s, sqlite3_stmt *st, int rowid_col,
                   const char **key, size_t *len, unsigned *parts,
                   store_error *err) {
  if (s->nk == 1 && sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
    /* The common key, one storage-class look: the text SQLite would give,
     * without its conversion of the value. */
    *parts = 1;
    *len = store__int64_text(s->key_buf, sqlite3_column_int64(st, 0));
    *key = s->key_buf;
    return STORE_OK;
  }
  int unnamed = s->nk == 0;
  for (size_t i = 0; i < s->nk && !unnamed; i++)
    unnamed = sqlite3_column_type(st, (int)i) == SQLITE_NULL;
  if (unnamed && rowid_col < 0)
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': a row has a NULL key; the key must name "
                       "every row",
                       s->target_name);
  if (unnamed) {
    memcpy(s->key_buf, "rowid ", 6);
    *len = 6 + store__int64_text(s->key_buf + 6,
                                 sqlite3_column_int64(st, rowid_col));
    *key = s->key_buf;
    *parts = 0;
    return STORE_OK;
  }
  *parts = (unsigned)s->nk;
  if (s->nk == 1) {
    /* Text first, then its length: the order SQLite's documentation asks
     * for so that a conversion happens once. */
    const unsigned char *text = sqlite3_column_text(st, 0);
    if (text == NULL)
      return store__fail(err, STORE_ENOMEM, "target '%s': out of memory",
                         s->target_name);
    *key = (const char *)text;
    *len = (size_t)sqlite3_column_bytes(st, 0);
    return STORE_OK;
  }
  int bad = store__key_begin(&s->kb) != 0;
  for (size_t i = 0; i < s->nk && !bad; i++) {
    store__part part = {STORE_PART_TEXT, 0, 0, NULL, 0};
    int type = sqlite3_column_type(st, (int)i);
    if (type == SQLITE_BLOB)
      return store__fail(err, STORE_EUSAGE,
                         "target '%s': key column '%s' holds a BLOB; a key "
                         "of several columns takes numbers and text",
                         s->target_name, s->key_cols[i]);
    if (type == SQLITE_INTEGER) {
      part.type = STORE_PART_INT;
      part.i = sqlite3_column_int64(st, (int)i);
    } else if (type == SQLITE_FLOAT) {
      part.type = STORE_PART_REAL;
      part.r = sqlite3_column_double(st, (int)i);
    } else {
      part.text = (const char *)sqlite3_column_text(st, (int)i);
      part.len = (size_t)sqlite3_column_bytes(st, (int)i);
      if (part.text == NULL) bad = 1;
      if (part.text != NULL && memchr(part.text, '\0', part.len) != NULL)
        return store__fail(err, STORE_EUSAGE,
                           "target '%s': key column '%s' holds a text with "
                           "a NUL byte, which a key cannot hold",
                           s->target_name, s->key_cols[i]);
    }
    bad = bad || store__key_add(&s->kb, &part) != 0;
  }
  if (bad || store__key_end(&s->kb) != 0)
    return store__fail(err, STORE_ENOMEM, "target '%s': out of memory",
                       s->target_name);
  *key = s->kb.data;
  *len = s->kb.len;
  return STORE_OK;
}

static int row_value(sqlite_store *s, store_row *row, store_error *err);

static int sqlite_next(store *base, store_row *row, store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  if (s->scan == NULL || s->done) return 0;
  int rc = sqlite3_step(s->scan);
  /* A sample: the same statement again over the next window. */
  while (rc == SQLITE_DONE && s->sampled && s->window + 1 < s->n_windows) {
    sqlite3_reset(s->scan);
    s->window++;
    bind_window(s);
    rc = sqlite3_step(s->scan);
  }
  if (rc == SQLITE_DONE) {
    s->done = 1;
    return 0;
  }
  if (rc != SQLITE_ROW) {
    s->done = 1;
    return fail_db(s, err, rc == SQLITE_NOMEM ? STORE_ENOMEM : STORE_EIO,
                   "scan failed");
  }
  if (s->sampled) {
    row->has_cluster = 1;
    row->cluster = s->windows[s->window][2];
  }
  int status = STORE_OK;
  if (s->base.defer_int_keys && s->nk == 1 &&
      sqlite3_column_type(s->scan, 0) == SQLITE_INTEGER) {
    /* Spelled only for the rows whose key the caller keeps. */
    row->key_parts = 1;
    row->key_deferred = 1;
    row->key_int = sqlite3_column_int64(s->scan, 0);
  } else {
    status = row_key(s, s->scan, s->rowid_col, &row->key, &row->key_len,
                     &row->key_parts, err);
  }
  if (status != STORE_OK) {
    s->done = 1;
    return status;
  }
  return row_value(s, row, err);
}

static int row_value(sqlite_store *s, store_row *row, store_error *err) {
  int col = s->value_col;
  /* The storage class first: reading the value may convert it. */
  int type = sqlite3_column_type(s->scan, col);
  if (type == SQLITE_NULL) {
    row->value = NULL;
    row->value_len = 0;
    row->value_is_null = 1;
  } else {
    const void *blob = sqlite3_column_blob(s->scan, col);
    row->value_len = (size_t)sqlite3_column_bytes(s->scan, col);
    /* An empty blob comes back as NULL: still a zero-length record. */
    row->value = blob != NULL ? blob : (const uint8_t *)"";
    row->value_is_null = 0;
    if (blob == NULL && row->value_len != 0)
      return fail_db(s, err, STORE_ENOMEM, "cannot read a value");
    /* The key is spelled (a deferred one too) only for the message. */
    size_t key_len;
    int status =
        type == SQLITE_BLOB
            ? STORE_OK
            : check_value_class(s, type, store_row_key(row, &key_len), err);
    if (status != STORE_OK) {
      s->done = 1;
      return status;
    }
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
  if (s->db != NULL) {
    s->busy_no_wait = 0;
    store__sq_lease_release(s->db, s->schema, &s->lease, NULL);
  }
  sqlite3_finalize(s->scan);
  for (int i = 0; i < ST_COUNT; i++) sqlite3_finalize(s->st[i]);
  sqlite3_close_v2(s->db);
  sqlite3_free(s->sql);
  free(s->schema);
  free(s->table);
  free(s->target_name);
  free(s->shown);
  free(s->column);
  free(s->page_rows);
  free(s->page_offs);
  free(s->page_buf.data);
  free(s->backup_rows);
  free(s->backup_offs);
  free(s->backup_buf.data);
  free(s->backup_run);
  free(s->kb.data);
  free(s->windows);
  store__states_free(&s->states);
  free(s);
}

static const store_ops sqlite_ops = {
    .estimate_rows = sqlite_estimate_rows,
    .scan = sqlite_scan,
    .next = sqlite_next,
    .cancel = sqlite_cancel,
    .interrupt = sqlite_interrupt,
    .close = sqlite_close,
    .split = sqlite_split,
    .set_range = sqlite_set_range,
};

/* A queue's state column, when it names one, exists. */
static int check_state_column(sqlite_store *s, const store_target *t,
                              store_error *err) {
  if (!store_kind_is_queue(t->kind) || t->state_column == NULL) return STORE_OK;
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db,
                         "SELECT count(*) FROM pragma_table_info(?1, ?2) "
                         "WHERE name = ?3",
                         -1, &st, NULL) != SQLITE_OK)
    return fail_db(s, err, STORE_EIO, "cannot read the schema");
  sqlite3_bind_text(st, 1, s->table, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, s->schema, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, t->state_column, -1, SQLITE_STATIC);
  int found = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
  sqlite3_finalize(st);
  if (!found)
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': table '%s' has no column '%s' (the "
                       "state column)",
                       s->target_name, s->table, t->state_column);
  return STORE_OK;
}

/* The scan's select list: the key's columns, the rowid where rows may be
 * named by it, the record (see row_key); sets rowid_col and value_col. */
static char *scan_columns(sqlite_store *s, const char *column) {
  char *keys = s->nk > 0 ? key_list(s) : sqlite3_mprintf("%s", "");
  int rowid = s->nk == 0 || s->key_nullable;
  s->rowid_col = rowid ? (int)s->nk : -1;
  s->value_col = (int)s->nk + rowid;
  char *out = keys == NULL
                  ? NULL
                  : sqlite3_mprintf("%s%s%s\"%w\"", keys, s->nk > 0 ? ", " : "",
                                    rowid ? "_rowid_, " : "", column);
  sqlite3_free(keys);
  return out;
}

/* The scan statement; NULL when out of memory. %w doubles embedded double
 * quotes: every identifier is quoted. The where clause is the operator's
 * own SQL, kept in parentheses so that an OR in it cannot escape. A queue's
 * states are bound (?1, ?2, ...; see sqlite_scan), and come first, so that
 * a parameter the operator's SQL may hold is numbered after them and can
 * never take a state's value. */
static char *scan_sql(sqlite_store *s, const store_target *t, int sampled) {
  int nomem;
  char *cols = scan_columns(s, t->column);
  char *cond = state_condition(s, t->state_column, 1, &nomem);
  char *sql = NULL;
  /* A sample's window bounds are named parameters after everything else,
   * bound by name (sqlite_scan, sqlite_next). */
  const char *window =
      sampled ? "_rowid_ BETWEEN :rs_window_lo AND :rs_window_hi" : NULL;
  if (cols == NULL || nomem)
    sql = NULL;
  else if (cond != NULL && s->has_where)
    sql = sqlite3_mprintf(
        "SELECT %s FROM \"%w\".\"%w\" WHERE %s AND (\n%s\n)%s%s", cols,
        s->schema, s->table, cond, t->where, window ? " AND " : "",
        window ? window : "");
  else if (cond != NULL)
    sql = sqlite3_mprintf("SELECT %s FROM \"%w\".\"%w\" WHERE %s%s%s", cols,
                          s->schema, s->table, cond, window ? " AND " : "",
                          window ? window : "");
  else if (s->has_where)
    sql = sqlite3_mprintf("SELECT %s FROM \"%w\".\"%w\" WHERE (\n%s\n)%s%s",
                          cols, s->schema, s->table, t->where,
                          window ? " AND " : "", window ? window : "");
  else if (window != NULL)
    sql = sqlite3_mprintf("SELECT %s FROM \"%w\".\"%w\" WHERE %s", cols,
                          s->schema, s->table, window);
  else
    sql = sqlite3_mprintf("SELECT %s FROM \"%w\".\"%w\"", cols, s->schema,
                          s->table);
  sqlite3_free(cols);
  sqlite3_free(cond);
  return sql;
}

static store_status status_of(int rc);

static char *dup_or_null(const char *v) {
  if (v == NULL) return NULL;
  size_t n = strlen(v) + 1;
  char *d = malloc(n);
  if (d != NULL) memcpy(d, v, n);
  return d;
}

/*
 * What both opens share: names, the file, the connection (@p flags), a
 * busy timeout, and the checks of table, key and column. On failure the
 * store is freed and *out stays NULL.
 */
static int connect_target(sqlite_store **out, const store_target *t,
                          const store_ops *ops, int flags,
                          const store_write_options *write, store_error *err) {
  *out = NULL;
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
  s->base.ops = ops;
  s->schema = dup_or_null(schema[0] ? schema : "main");
  s->table = dup_or_null(table);
  s->target_name = dup_or_null(name);
  s->shown = dup_or_null(shown);
  s->column = dup_or_null(t->column);
  s->values = t->values;
  snprintf(s->base.description, sizeof s->base.description, "%s %s in %s",
           store_kind_is_queue(t->kind) ? "sqlite-queue" : "sqlite-table",
           t->table, shown);
  if (s->schema == NULL || s->table == NULL || s->target_name == NULL ||
      s->shown == NULL || s->column == NULL) {
    sqlite_close(&s->base);
    return store__fail(err, STORE_ENOMEM, "out of memory");
  }
  int rc = sqlite3_open_v2(t->connection, &s->db,
                           flags | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK) {
    status = s->db != NULL ? fail_db(s, err, STORE_EIO, "cannot open")
                           : store__fail(err, STORE_ENOMEM, "out of memory");
    sqlite_close(&s->base);
    return status;
  }
  /* A reader waits for a writer's lock (rollback journal mode) at most
   * SQLITE_BUSY_TIMEOUT_MS; a writer takes its turn (busy_wait). */
  if (write != NULL) {
    s->base.lock_timeout_ms = write->lock_timeout_ms;
    s->base.interrupted = write->interrupted;
    store__sq_lease_init(&s->lease);
    sqlite3_busy_handler(s->db, busy_wait, s);
  } else {
    sqlite3_busy_timeout(s->db, SQLITE_BUSY_TIMEOUT_MS);
  }
  /* A file that is not a database fails here, at the first read. */
  rc = sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL,
                    NULL);
  if (rc != SQLITE_OK && write == NULL) {
    /* A WAL database where SQLite cannot make its -shm file: read it as
     * immutable when that reads everything, else refuse it, saying why
     * (sqlite_readonly.c). */
    char *uri = NULL;
    status = store__sq_readonly_wal(t->connection, shown, name,
                                    sqlite3_extended_errcode(s->db), &uri, err);
    if (status != STORE_OK) {
      sqlite_close(&s->base);
      return status;
    }
    if (uri != NULL) {
      sqlite3_close_v2(s->db);
      s->db = NULL;
      rc = sqlite3_open_v2(
          uri, &s->db,
          SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
      free(uri);
      if (rc == SQLITE_OK)
        rc = sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_schema", NULL,
                          NULL, NULL);
      if (s->db == NULL) {
        sqlite_close(&s->base);
        return store__fail(err, STORE_ENOMEM, "out of memory");
      }
      snprintf(s->base.description, sizeof s->base.description,
               "%s %s in %s (read-only WAL database without its -shm file, "
               "read as immutable)",
               store_kind_is_queue(t->kind) ? "sqlite-queue" : "sqlite-table",
               t->table, shown);
    }
  }
  if (rc != SQLITE_OK) {
    status = fail_db(s, err, status_of(rc), "cannot read");
    sqlite_close(&s->base);
    return status;
  }
  if ((status = check_target(s, t, err)) != STORE_OK ||
      (status = check_state_column(s, t, err)) != STORE_OK) {
    sqlite_close(&s->base);
    return status;
  }
  s->queue = store_kind_is_queue(t->kind);
  s->has_where = t->where != NULL && t->where[0] != '\0';
  if ((status = store__states_of(&s->states, t, err)) != STORE_OK) {
    sqlite_close(&s->base);
    return status;
  }
  /* %w doubles embedded double quotes: every identifier is quoted. The
   * where clause is the operator's own SQL, kept in parentheses so that an
   * OR in it cannot escape. A queue's states are bound (?1, ?2, ...; see
   * sqlite_scan), and come first, so that a parameter the operator's SQL
   * may hold is numbered after them and can never take a state's value. */
  s->sql = scan_sql(s, t, 0);
  if (s->sql == NULL) {
    sqlite_close(&s->base);
    return store__fail(err, STORE_ENOMEM, "out of memory");
  }
  *out = s;
  return STORE_OK;
}

/* ---- --sample: random rowid windows --------------------------------------
 *
 * The rowid span [min, max] is cut into W strata of one width S (the last
 * may reach past max), W at most SAMPLE_WINDOWS and at most one stratum
 * per row to be read; each stratum gets one window of w = round(S *
 * fraction) rowids at its own random offset, wrapping round to the
 * stratum's start. So every rowid of the span is read with probability
 * exactly w / S (the fraction reported, the asked one up to the
 * rounding), the windows are spread over the whole table, and each is one
 * seek in the b-tree. The offsets come from the seed alone: the same seed
 * on an unchanged table reads the same rows.
 */
#define SAMPLE_WINDOWS 1024

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static int sample_windows(sqlite_store *s, const store_sample *sample,
                          store_error *err) {
  if (!s->with_rowid)
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': --sample reads random rowid windows, and "
                       "table '%s' is WITHOUT ROWID; scan it without --sample",
                       s->target_name, s->table);
  int64_t min, max;
  int empty;
  int rc = rowid_bounds(s, &min, &max, &empty, err);
  if (rc != STORE_OK) return rc;
  double f = sample->percent / 100.0;
  s->sampled = 1;
  s->base.sample.population = -1;
  s->base.sample.groups = 1;
  if (empty) {
    /* Nothing to read: one window that selects nothing. */
    s->windows = malloc(sizeof *s->windows);
    if (s->windows == NULL)
      return store__fail(err, STORE_ENOMEM, "out of memory");
    s->windows[0][0] = 1;
    s->windows[0][1] = 0;
    s->windows[0][2] = 0;
    s->n_windows = 1;
    s->base.sample.fraction = f;
    snprintf(s->base.sample.method, sizeof s->base.sample.method,
             "random rowid windows (seed %lu): the table is empty",
             (unsigned long)sample->seed);
    return STORE_OK;
  }
  /* In unsigned arithmetic: max - min + 1 may not fit int64_t. */
  uint64_t span = (uint64_t)max - (uint64_t)min + 1;
  if (span == 0) span = UINT64_MAX;
  double want = (double)span * f;
  uint64_t n = want < 1                ? 1
               : want > SAMPLE_WINDOWS ? SAMPLE_WINDOWS
                                       : (uint64_t)want;
  s->windows = malloc(2 * n * sizeof *s->windows);
  if (s->windows == NULL)
    return store__fail(err, STORE_ENOMEM, "out of memory");
  /* Strata of one width, the last reaching past max (no rowid is
   * there), so that every rowid has the same chance, w / width. */
  uint64_t width = span / n + (span % n != 0);
  n = span / width + (span % width != 0);
  double wd = (double)width * f + 0.5;
  uint64_t w = wd < 1 ? 1 : (uint64_t)wd;
  if (w > width) w = width;
  uint64_t state = 0x5EED0000ull ^ sample->seed, last = span - 1;
  size_t k = 0;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t start = i * width, off = splitmix64(&state) % width;
    /* Offsets from min, each clamped to the span (past it: no rows). */
    uint64_t a = start + off, b = start + off + w - 1;
    if (off + w > width) {
      /* wrapped: the stratum's first rowids, then its last */
      uint64_t e = start + (off + w - width) - 1;
      s->windows[k][0] = (int64_t)((uint64_t)min + start);
      s->windows[k][1] = (int64_t)((uint64_t)min + (e < last ? e : last));
      s->windows[k][2] = (int64_t)i;
      k++;
      b = start + width - 1;
    }
    if (a <= last) {
      s->windows[k][0] = (int64_t)((uint64_t)min + a);
      s->windows[k][1] = (int64_t)((uint64_t)min + (b < last ? b : last));
      s->windows[k][2] = (int64_t)i;
      k++;
    }
  }
  s->n_windows = k;
  s->base.sample.fraction = (double)w / (double)width;
  snprintf(s->base.sample.method, sizeof s->base.sample.method,
           "random rowid windows (seed %lu): in each of %llu strata of %llu "
           "rowids of %lld..%lld, a window of %llu",
           (unsigned long)sample->seed, (unsigned long long)n,
           (unsigned long long)width, (long long)min, (long long)max,
           (unsigned long long)w);
  return STORE_OK;
}

int store__sqlite_open(store **out, const store_target *t,
                       const store_open_options *options,
                       const store_sample *sample, store_error *err) {
  (void)options;
  sqlite_store *s = NULL;
  *out = NULL;
  int status =
      connect_target(&s, t, &sqlite_ops, SQLITE_OPEN_READONLY, NULL, err);
  if (status != STORE_OK) return status;
  if (sample != NULL) {
    status = sample_windows(s, sample, err);
    char *sql = status == STORE_OK ? scan_sql(s, t, 1) : NULL;
    if (status == STORE_OK && sql == NULL)
      status = store__fail(err, STORE_ENOMEM, "out of memory");
    if (status != STORE_OK) {
      sqlite_close(&s->base);
      return status;
    }
    sqlite3_free(s->sql);
    s->sql = sql;
  }
  *out = &s->base;
  return STORE_OK;
}

/* ---- writing ------------------------------------------------------------ */

/* A lock that did not come in time is production's; anything else is ours
 * or the database's. Extended codes (SQLITE_BUSY_SNAPSHOT, ...) included. */
static store_status status_of(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return STORE_EBUSY;
    case SQLITE_NOMEM:
      return STORE_ENOMEM;
    default:
      return STORE_EIO;
  }
}

static int64_t now_us(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A key as a message shows it: at most 64 bytes, one line. */
static const char *shown_key(const char *key, char out[72]) {
  size_t i = 0;
  if (key == NULL) key = "(null)";
  for (; key[i] != '\0' && i < 64; i++)
    out[i] = (unsigned char)key[i] < 0x20 || key[i] == 0x7f ? '?' : key[i];
  if (key[i] != '\0') out[i++] = '.', out[i++] = '.', out[i++] = '.';
  out[i] = '\0';
  return out;
}

/* A record's bytes as a blob; empty bytes stay a zero-length blob, never
 * NULL (sqlite3_bind_blob binds NULL for a NULL pointer). */
static int bind_bytes(sqlite3_stmt *st, int i, const uint8_t *p, size_t n) {
  return sqlite3_bind_blob64(st, i, p != NULL ? (const void *)p : "",
                             (sqlite3_uint64)n, SQLITE_STATIC);
}

/* A fixed-size string field of store_run, bounded even without a NUL. */
static int bind_field(sqlite3_stmt *st, int i, const char *v, size_t cap) {
  return sqlite3_bind_text(st, i, v, (int)strnlen(v, cap), SQLITE_STATIC);
}
#define BIND_FIELD(st, i, field) bind_field((st), (i), (field), sizeof(field))

/* Whether @p text is how SQLite writes an integer: what sqlite3_column_text
 * gives for an INTEGER value, and nothing else. */
static int canonical_integer(const char *text, sqlite3_int64 *out) {
  if (text[0] == '\0' || text[0] == '+' || text[0] == ' ') return 0;
  errno = 0;
  char *end = NULL;
  long long v = strtoll(text, &end, 10);
  if (errno != 0 || *end != '\0') return 0;
  char back[32];
  snprintf(back, sizeof back, "%lld", v);
  if (strcmp(back, text) != 0) return 0;
  *out = (sqlite3_int64)v;
  return 1;
}

/*
 * Binds a key's text form so that it finds the row whose key reads so.
 * A column with INTEGER, REAL or NUMERIC affinity applies it to a bound
 * text when comparing, so "10" finds 10; a column with no affinity (no
 * declared type, ANY) does not, and there every integer sorts before every
 * text: an integer-looking key is bound as the integer. A text key that
 * looks like an integer in such a column is then not found (a conflict,
 * never a wrong row); in a TEXT column keys are text and bound as such.
 */
static int bind_one_key(sqlite_store *s, sqlite3_stmt *st, int i,
                        const char *key) {
  sqlite3_int64 v;
  if (!s->key_text[0] && canonical_integer(key, &v))
    return sqlite3_bind_int64(st, i, v);
  return sqlite3_bind_text(st, i, key, -1, SQLITE_TRANSIENT);
}

/*
 * Binds a key's text form where key_eq and key_after put it: at ?@p i for
 * a key of one column (bind_one_key), or each part of a composite key
 * (store.h) at its key_param() with the storage class its JSON form
 * gives it: integers and reals as numbers, text as text. STORE_OK, or
 * STORE_EUSAGE for a text that is not such a key (a checkpoint or backup
 * row of another key).
 */
static int bind_key(sqlite_store *s, sqlite3_stmt *st, int i, const char *key,
                    store_error *err) {
  if (s->nk == 1) {
    bind_one_key(s, st, i, key);
    return STORE_OK;
  }
  store__part parts[STORE_KEY_COLUMNS_MAX];
  char *scratch = malloc(strlen(key) + 1);
  if (scratch == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  int status = store__key_parse(key, parts, s->nk, scratch, err);
  for (size_t k = 0; k < s->nk && status == STORE_OK; k++) {
    int at = key_param(s, k);
    if (parts[k].type == STORE_PART_INT)
      sqlite3_bind_int64(st, at, parts[k].i);
    else if (parts[k].type == STORE_PART_REAL)
      sqlite3_bind_double(st, at, parts[k].r);
    else
      sqlite3_bind_text64(st, at, parts[k].text, parts[k].len, SQLITE_TRANSIENT,
                          SQLITE_UTF8);
  }
  free(scratch);
  return status;
}

/* Array @p p with room for @p need elements of @p size (capacity *cap),
 * moved if it grew; NULL when out of memory (@p p is still valid then). */
static void *grow(void *p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return p;
  size_t n = *cap ? *cap : 64;
  while (n < need) {
    if (n > SIZE_MAX / 2 / size) return NULL;
    n *= 2;
  }
  void *q = realloc(p, n * size);
  if (q != NULL) *cap = n;
  return q;
}

/* Appends @p n bytes, and a NUL when @p nul; *off is where they start. */
static int buf_put(byte_buf *b, const void *p, size_t n, int nul, size_t *off) {
  if (n > SIZE_MAX - b->len - 1) return -1;
  char *data = grow(b->data, &b->cap, b->len + n + 1, 1);
  if (data == NULL) return -1;
  b->data = data;
  *off = b->len;
  if (n > 0) memcpy(b->data + b->len, p, n);
  b->len += n;
  if (nul) b->data[b->len++] = '\0';
  return 0;
}

/* Ends a write transaction that failed: its changes are gone. An error
 * may have rolled it back already (SQLITE_FULL, RAISE(ROLLBACK), ...). */
static void tx_rollback(sqlite_store *s) {
  for (int i = 0; i < ST_COUNT; i++)
    if (s->st[i] != NULL) sqlite3_reset(s->st[i]);
  if (!sqlite3_get_autocommit(s->db))
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* BEGIN IMMEDIATE: the write lock now, within the busy timeout, or
 * STORE_EBUSY before anything is written. */
static int tx_begin(sqlite_store *s, store_error *err, const char *what) {
  int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc == SQLITE_OK) return STORE_OK;
  int status = fail_db(s, err, status_of(rc), what);
  tx_rollback(s);
  return status;
}

/* COMMIT; a failed one (SQLITE_BUSY: readers still on the old pages in
 * rollback journal mode) leaves the transaction open: roll it back. */
static int tx_commit(sqlite_store *s, store_error *err, const char *what) {
  int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
  if (rc == SQLITE_OK) return STORE_OK;
  int status = fail_db(s, err, status_of(rc), what);
  tx_rollback(s);
  return status;
}

/* Steps a statement that returns no rows and resets it; *changes: rows it
 * changed. The message, on failure, names @p what. */
static int step_done(sqlite_store *s, sqlite3_stmt *st, int *changes,
                     store_error *err, const char *what) {
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    if (changes != NULL) *changes = sqlite3_changes(s->db);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return STORE_OK;
  }
  if (rc == SQLITE_ROW) rc = SQLITE_MISUSE;
  int status = fail_db(s, err, status_of(rc), what);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return status;
}

/* Binds a run in the parameter order of RUN_COLUMNS (?1..?17) and the
 * later columns after them (?18.., store__run_columns): the insert and the
 * update take it, the update using the parameters it names. */
static void bind_run(sqlite3_stmt *st, const store_run *run) {
  BIND_FIELD(st, 1, run->run_id);
  BIND_FIELD(st, 2, run->command);
  BIND_FIELD(st, 3, run->target);
  BIND_FIELD(st, 4, run->table);
  BIND_FIELD(st, 5, run->key);
  BIND_FIELD(st, 6, run->column);
  sqlite3_bind_int64(st, 7, run->to_version);
  BIND_FIELD(st, 8, run->status);
  if (run->has_checkpoint)
    BIND_FIELD(st, 9, run->checkpoint);
  else
    sqlite3_bind_null(st, 9);
  sqlite3_bind_int64(st, 10, run->started_us);
  sqlite3_bind_int64(st, 11, run->updated_us);
  sqlite3_bind_int64(st, 12, run->converted);
  sqlite3_bind_int64(st, 13, run->conflicts);
  sqlite3_bind_int64(st, 14, run->lossy);
  sqlite3_bind_int64(st, 15, run->impossible);
  sqlite3_bind_int64(st, 16, run->corrupt);
  sqlite3_bind_int64(st, 17, run->restored);
  for (size_t i = 0; i < store__n_run_columns; i++) {
    const store__run_column *c = &store__run_columns[i];
    const char *f = (const char *)run + c->offset;
    int at = 18 + (int)i;
    int64_t v = 0;
    switch (c->kind) {
      case STORE__COL_TEXT:
        if (strnlen(f, c->size) == 0)
          sqlite3_bind_null(st, at);
        else
          bind_field(st, at, f, c->size);
        break;
      case STORE__COL_KEY:
        if (*(const int *)(const void *)((const char *)run + c->flag))
          bind_field(st, at, f, c->size);
        else
          sqlite3_bind_null(st, at);
        break;
      case STORE__COL_INT:
        memcpy(&v, f, sizeof v);
        sqlite3_bind_int64(st, at, v);
        break;
      case STORE__COL_OPT:
        memcpy(&v, f, sizeof v);
        if (v < 0)
          sqlite3_bind_null(st, at);
        else
          sqlite3_bind_int64(st, at, v);
        break;
    }
  }
}

/* Saves a run's status, checkpoint and counts; a run that is not there is
 * an error (a batch without its checkpoint must not commit). */
static int put_run(sqlite_store *s, const store_run *run, store_error *err) {
  char what[96];
  snprintf(what, sizeof what, "cannot save run '%.40s'", run->run_id);
  bind_run(s->st[ST_RUN_UPDATE], run);
  int changes = 0;
  int status = step_done(s, s->st[ST_RUN_UPDATE], &changes, err, what);
  if (status == STORE_OK && changes != 1)
    return store__fail(err, STORE_EUSAGE, "no run '%.40s' in %s", run->run_id,
                       s->shown);
  return status;
}

/* One compare-and-swap: @p value where the row @p key holds @p expect. */
static int swap_one(sqlite_store *s, const char *key, const uint8_t *expect,
                    size_t expect_len, const uint8_t *value, size_t value_len,
                    int *swapped, store_error *err) {
  char what[128], shown[72];
  snprintf(what, sizeof what, "cannot write key '%s'", shown_key(key, shown));
  sqlite3_stmt *st = s->st[ST_CAS];
  if (key == NULL)
    return store__fail(err, STORE_EUSAGE, "target '%s': a swap without a key",
                       s->target_name);
  bind_bytes(st, 1, value, value_len);
  bind_bytes(st, 3, expect, expect_len);
  bind_states(st, 4, s->states.items, s->states.n_pending);
  int status = bind_key(s, st, 2, key, err);
  if (status != STORE_OK) {
    sqlite3_clear_bindings(st);
    return status;
  }
  int changes = 0;
  status = step_done(s, st, &changes, err, what);
  if (status != STORE_OK) return status;
  /* The key names one row: more than one changed would be a table whose
   * key is not what check_target found; never commit that. */
  if (changes > 1)
    return store__fail(err, STORE_EIO,
                       "target '%s': key '%s' names %d rows of table '%s'",
                       s->target_name, shown, changes, s->table);
  *swapped = changes == 1;
  return STORE_OK;
}

/* What a batch records beside each swap that happened, in its transaction. */
typedef int (*swap_record_fn)(sqlite_store *s, const store_run *run,
                              const store_swap *w, int64_t now,
                              store_error *err);

/* A key swapped again (A -> our B, a writer's C, -> our D) keeps the bytes
 * just before this run's latest write (C), not the first (A): restore undoes
 * the fix's write, and putting A back would throw away the writer's C. A
 * itself was overwritten by the writer, not by us. */
static int record_backup(sqlite_store *s, const store_run *run,
                         const store_swap *w, int64_t now, store_error *err) {
  char what[128], shown[72];
  snprintf(what, sizeof what, "cannot back up key '%s'",
           shown_key(w->key, shown));
  sqlite3_stmt *st = s->st[ST_BACKUP_PUT];
  BIND_FIELD(st, 1, run->run_id);
  sqlite3_bind_text(st, 2, s->target_name, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, w->key, -1, SQLITE_STATIC);
  bind_bytes(st, 4, w->expect, w->expect_len);
  bind_bytes(st, 5, w->value, w->value_len);
  sqlite3_bind_int64(st, 6, now);
  return step_done(s, st, NULL, err, what);
}

static int record_restored(sqlite_store *s, const store_run *run,
                           const store_swap *w, int64_t now, store_error *err) {
  (void)now;
  /* The backup rows are the fixed run's: the one the last backup page read
   * (a restore may keep its own run row), else @p run itself. */
  const char *backup_run = s->backup_run != NULL ? s->backup_run : run->run_id;
  char what[128], shown[72];
  snprintf(what, sizeof what, "cannot mark key '%s' restored",
           shown_key(w->key, shown));
  sqlite3_stmt *st = s->st[ST_MARK_RESTORED];
  sqlite3_bind_text(st, 1, backup_run, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, w->key, -1, SQLITE_STATIC);
  return step_done(s, st, NULL, err, what);
}

/*
 * Reads row @p w->key as a compare-and-swap would find it (its bytes as a
 * blob, and for a queue whether it is pending or in flight) and classifies
 * @p w by store__swap_classify. For a swap that did not happen: a queue
 * message deleted, or moved out of the pending states, is gone; in an
 * in-flight state, a consumer holds it; still pending with other bytes, a
 * conflict. SQLite has no row locks: the batch's write lock already keeps
 * consumers out while it runs, so the in-flight states are how a consumer
 * says it holds a message. The dry run of a restore reads the same way.
 */
static int row_now(sqlite_store *s, store_swap *w, store_error *err) {
  sqlite3_stmt *st = s->st[ST_ROW_NOW];
  int status = bind_key(s, st, 1, w->key, err);
  if (status != STORE_OK) {
    sqlite3_clear_bindings(st);
    return status;
  }
  bind_states(st, 2, s->states.items,
              s->states.n_pending + s->states.n_in_flight);
  int rc = sqlite3_step(st);
  store__row_now now = {0, 0, 0, NULL, 0, 1};
  if (rc == SQLITE_ROW) {
    now.exists = 1;
    now.value_is_null = sqlite3_column_type(st, 0) == SQLITE_NULL;
    now.value = now.value_is_null ? NULL : sqlite3_column_blob(st, 0);
    now.value_len = now.value_is_null ? 0 : (size_t)sqlite3_column_bytes(st, 0);
    now.pending = sqlite3_column_int(st, 1);
    now.in_flight = sqlite3_column_int(st, 2);
    if (now.value == NULL && now.value_len != 0) rc = SQLITE_NOMEM;
  }
  if (rc == SQLITE_ROW || rc == SQLITE_DONE)
    store__swap_classify(w, &now, s->queue);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return fail_db(s, err, status_of(rc), "cannot read a row");
  return STORE_OK;
}

/*
 * One batch of a fix or a restore, in one BEGIN IMMEDIATE transaction: each
 * compare-and-swap, @p record for each that happened, then the run row. The
 * run's counts are the totals before the batch: the batch's outcome is
 * added here (store__batch_counts), so that it commits with it. Any error rolls
 * back and leaves every swapped at 0.
 */
static int swap_batch(sqlite_store *s, const store_run *run, store_swap *swaps,
                      size_t n, swap_record_fn record, int restore,
                      const char *what, store_error *err) {
  for (size_t i = 0; i < n; i++) swaps[i].swapped = swaps[i].holds_value = 0;
  char begin[64], commit[64];
  snprintf(begin, sizeof begin, "cannot start a %s", what);
  snprintf(commit, sizeof commit, "cannot commit a %s", what);
  int status = tx_begin(s, err, begin);
  if (status != STORE_OK) return status;
  int64_t now = now_us();
  store_run after = *run;
  for (size_t i = 0; i < n && status == STORE_OK; i++) {
    store_swap *w = &swaps[i];
    status = swap_one(s, w->key, w->expect, w->expect_len, w->value,
                      w->value_len, &w->swapped, err);
    if (status != STORE_OK) break;
    w->outcome = w->swapped ? STORE_SWAP_DONE : STORE_SWAP_CONFLICT;
    if (!w->swapped) status = row_now(s, w, err);
    if (status != STORE_OK) break;
    /* Under the batch's write lock nothing changes between the swap and
     * the read; should the two ever disagree, the swap decides. */
    if (!w->swapped && w->outcome == STORE_SWAP_DONE)
      w->outcome = STORE_SWAP_CONFLICT;
    if (w->swapped) status = record(s, run, w, now, err);
  }
  if (status == STORE_OK) {
    store__batch_counts(&after, swaps, n, restore);
    status = put_run(s, &after, err);
  }
  /* The lease's heartbeat commits with the batch: no lock of its own. */
  if (status == STORE_OK)
    status = store__sq_lease_beat(s->db, s->schema, &s->lease, err);
  if (status == STORE_OK)
    status = tx_commit(s, err, commit);
  else
    tx_rollback(s);
  if (status != STORE_OK)
    for (size_t i = 0; i < n; i++) swaps[i].swapped = 0;
  return status;
}

static int sqlite_fix_batch(store *base, const store_run *run,
                            store_swap *swaps, size_t n, store_error *err) {
  return swap_batch((sqlite_store *)base, run, swaps, n, record_backup, 0,
                    "batch", err);
}

static int sqlite_restore_batch(store *base, const store_run *run,
                                store_swap *swaps, size_t n, store_error *err) {
  return swap_batch((sqlite_store *)base, run, swaps, n, record_restored, 1,
                    "restore batch", err);
}

/* A restore's dry run: every row read in one deferred (read) transaction,
 * so that the batch sees one state of the table; no write lock is taken,
 * and in WAL mode no writer is kept waiting. */
static int sqlite_restore_check(store *base, store_swap *swaps, size_t n,
                                store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  int rc = sqlite3_exec(s->db, "BEGIN DEFERRED", NULL, NULL, NULL);
  if (rc != SQLITE_OK) {
    int status = fail_db(s, err, status_of(rc), "cannot start a read");
    tx_rollback(s);
    return status;
  }
  int status = STORE_OK;
  for (size_t i = 0; i < n && status == STORE_OK; i++) {
    swaps[i].swapped = 0;
    if (swaps[i].key == NULL)
      status = store__fail(err, STORE_EUSAGE,
                           "target '%s': a swap without a key", s->target_name);
    else
      status = row_now(s, &swaps[i], err);
  }
  /* Nothing was written: ending the read cannot lose anything. */
  tx_rollback(s);
  return status;
}

/*
 * Binds the key a page starts after. The caller usually passes the last
 * key of the previous page (often a pointer into that page, which is why
 * this runs before the page buffer is reused): that exact value is bound,
 * as SQLite typed it. Any other key (a checkpoint of an earlier process)
 * goes through bind_key.
 */
static int bind_after(sqlite_store *s, sqlite3_stmt *st, const char *after,
                      store_error *err) {
  if (s->nk != 1) return bind_key(s, st, 1, after, err);
  if (s->page_n > 0 &&
      strcmp(s->page_buf.data + s->page_offs[2 * (s->page_n - 1)], after) ==
          0) {
    switch (s->last_type) {
      case SQLITE_INTEGER:
        sqlite3_bind_int64(st, 1, s->last_i64);
        break;
      case SQLITE_FLOAT:
        sqlite3_bind_double(st, 1, s->last_f64);
        break;
      case SQLITE_BLOB:
        sqlite3_bind_blob(st, 1, after, (int)strlen(after), SQLITE_TRANSIENT);
        break;
      default:
        sqlite3_bind_text(st, 1, after, -1, SQLITE_TRANSIENT);
    }
    return STORE_OK;
  }
  return bind_key(s, st, 1, after, err);
}

/* Copies row @p n of a page into the store's memory (offsets only: the
 * buffer may still move). */
static int keep_page_row(sqlite_store *s, size_t n, const char *key,
                         size_t key_len, const void *value, size_t value_len) {
  store_page_row *rows =
      grow(s->page_rows, &s->page_cap, n + 1, sizeof *s->page_rows);
  if (rows == NULL) return -1;
  s->page_rows = rows;
  size_t *offs =
      grow(s->page_offs, &s->page_offs_cap, 2 * (n + 1), sizeof *s->page_offs);
  if (offs == NULL) return -1;
  s->page_offs = offs;
  if (buf_put(&s->page_buf, key, key_len, 1, &offs[2 * n]) != 0 ||
      buf_put(&s->page_buf, value, value_len, 0, &offs[2 * n + 1]) != 0)
    return -1;
  return 0;
}

/*
 * Steps page statement @p st (its parameters bound) into the page buffer:
 * each row's key (its columns first; for @p unnamed pages the rowid in
 * column 0 instead) and the record after it. The statement is reset before
 * this returns, which ends its implicit read transaction.
 * @return the number of rows or a negative store_status
 */
static int read_page(sqlite_store *s, sqlite3_stmt *st, int unnamed,
                     const store_page_row **rows, store_error *err) {
  s->page_n = 0;
  s->page_buf.len = 0;
  int rc, status = STORE_OK;
  size_t n = 0;
  int vcol = unnamed ? 1 : (int)s->nk;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    /* The type before any conversion, which would make it undefined. */
    int key_type = sqlite3_column_type(st, 0);
    if (!unnamed && key_type == SQLITE_INTEGER)
      s->last_i64 = sqlite3_column_int64(st, 0);
    if (!unnamed && key_type == SQLITE_FLOAT)
      s->last_f64 = sqlite3_column_double(st, 0);
    s->last_type = key_type;
    const char *key = NULL;
    size_t key_len = 0;
    unsigned parts = 0;
    if (unnamed) {
      memcpy(s->key_buf, "rowid ", 6);
      key_len =
          6 + store__int64_text(s->key_buf + 6, sqlite3_column_int64(st, 0));
      key = s->key_buf;
    } else {
      status = row_key(s, st, -1, &key, &key_len, &parts, err);
      if (status != STORE_OK) break;
    }
    int value_type = sqlite3_column_type(st, vcol);
    int null = value_type == SQLITE_NULL;
    if ((status = check_value_class(s, value_type, key, err)) != STORE_OK)
      break;
    const void *value = null ? NULL : sqlite3_column_blob(st, vcol);
    size_t value_len = null ? 0 : (size_t)sqlite3_column_bytes(st, vcol);
    if ((value == NULL && value_len != 0) ||
        keep_page_row(s, n, key, key_len, value, value_len) != 0) {
      status = store__fail(err, STORE_ENOMEM, "target '%s': out of memory",
                           s->target_name);
      break;
    }
    s->page_rows[n].value_len = value_len;
    s->page_rows[n].value_is_null = null;
    s->page_rows[n].key_parts = parts;
    n++;
  }
  if (status == STORE_OK && rc != SQLITE_DONE)
    status = fail_db(s, err, status_of(rc), "cannot read a page");
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (status != STORE_OK) return status;
  /* Pointers only now: the buffer may have moved while it grew. */
  for (size_t i = 0; i < n; i++) {
    s->page_rows[i].key = s->page_buf.data + s->page_offs[2 * i];
    s->page_rows[i].value =
        s->page_rows[i].value_is_null
            ? NULL
            : (const uint8_t *)s->page_buf.data + s->page_offs[2 * i + 1];
  }
  s->page_n = n;
  *rows = s->page_rows;
  return (int)n;
}

static void reading_beat(sqlite_store *s);

static int sqlite_page(store *base, const char *after, size_t limit,
                       const store_page_row **rows, store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = s->st[after != NULL ? ST_PAGE_AFTER : ST_PAGE_FIRST];
  *rows = NULL;
  if (after != NULL) {
    int status = bind_after(s, st, after, err);
    if (status != STORE_OK) {
      sqlite3_clear_bindings(st);
      return status;
    }
  }
  sqlite3_bind_int64(st, 2, limit > INT_MAX ? INT_MAX : (int64_t)limit);
  bind_states(st, 3, s->states.items,
              s->states.n_pending + s->states.n_in_flight);
  /* Every row into memory, then reset: the implicit read transaction ends
   * before this returns. */
  int n = read_page(s, st, 0, rows, err);
  if (n >= 0) reading_beat(s);
  return n;
}

/* Rows whose key has a NULL part, by rowid (store_unnamed_page). */
static int sqlite_unnamed_page(store *base, int64_t after, size_t limit,
                               const store_page_row **rows, int64_t *last,
                               store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = s->st[ST_UNNAMED];
  *rows = NULL;
  *last = after;
  if (st == NULL) return 0;
  /* The last page's rowid is read before read_page reuses its buffer. */
  sqlite3_bind_int64(st, 1, after);
  sqlite3_bind_int64(st, 2, limit > INT_MAX ? INT_MAX : (int64_t)limit);
  bind_states(st, 3, s->states.items,
              s->states.n_pending + s->states.n_in_flight);
  int n = read_page(s, st, 1, rows, err);
  if (n > 0) {
    sqlite3_int64 v = 0;
    canonical_integer((*rows)[n - 1].key + 6, &v);
    *last = v;
  }
  return n;
}

/* The same for row @p n of a backup page: key, original and new bytes. */
static int keep_backup_row(sqlite_store *s, size_t n, const char *key,
                           size_t key_len, const void *orig, size_t orig_len,
                           const void *fixed, size_t fixed_len) {
  store_swap *rows =
      grow(s->backup_rows, &s->backup_cap, n + 1, sizeof *s->backup_rows);
  if (rows == NULL) return -1;
  s->backup_rows = rows;
  size_t *offs = grow(s->backup_offs, &s->backup_offs_cap, 3 * (n + 1),
                      sizeof *s->backup_offs);
  if (offs == NULL) return -1;
  s->backup_offs = offs;
  if (buf_put(&s->backup_buf, key, key_len, 1, &offs[3 * n]) != 0 ||
      buf_put(&s->backup_buf, orig, orig_len, 0, &offs[3 * n + 1]) != 0 ||
      buf_put(&s->backup_buf, fixed, fixed_len, 0, &offs[3 * n + 2]) != 0)
    return -1;
  return 0;
}

static int sqlite_backup_page(store *base, const char *run_id,
                              const char *after, size_t limit,
                              store_swap **rows, store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = s->st[after != NULL ? ST_BACKUP_AFTER : ST_BACKUP_FIRST];
  *rows = NULL;
  if (run_id == NULL)
    return store__fail(err, STORE_EUSAGE, "target '%s': no run id given",
                       s->target_name);
  /* Both may point into the last backup page: bound (copied) first. */
  sqlite3_bind_text(st, 1, run_id, -1, SQLITE_TRANSIENT);
  if (after != NULL) sqlite3_bind_text(st, 2, after, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 3, limit > INT_MAX ? INT_MAX : (int64_t)limit);
  if (s->backup_run == NULL || strcmp(s->backup_run, run_id) != 0) {
    char *copy = dup_or_null(run_id);
    if (copy == NULL) {
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
      return store__fail(err, STORE_ENOMEM, "out of memory");
    }
    free(s->backup_run);
    s->backup_run = copy;
  }
  s->backup_buf.len = 0;
  int rc, status = STORE_OK;
  size_t n = 0;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *key = (const char *)sqlite3_column_text(st, 0);
    size_t key_len = (size_t)sqlite3_column_bytes(st, 0);
    const void *orig = sqlite3_column_blob(st, 1);
    size_t orig_len = (size_t)sqlite3_column_bytes(st, 1);
    const void *fixed = sqlite3_column_blob(st, 2);
    size_t fixed_len = (size_t)sqlite3_column_bytes(st, 2);
    if (key == NULL || (orig == NULL && orig_len != 0) ||
        (fixed == NULL && fixed_len != 0) ||
        keep_backup_row(s, n, key, key_len, orig, orig_len, fixed, fixed_len) !=
            0) {
      status = store__fail(err, STORE_ENOMEM, "target '%s': out of memory",
                           s->target_name);
      break;
    }
    s->backup_rows[n].value_len = orig_len;
    s->backup_rows[n].expect_len = fixed_len;
    s->backup_rows[n].swapped = 0;
    n++;
  }
  if (status == STORE_OK && rc != SQLITE_DONE)
    status = fail_db(s, err, status_of(rc), "cannot read the backup table");
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (status != STORE_OK) return status;
  for (size_t i = 0; i < n; i++) {
    const size_t *off = &s->backup_offs[3 * i];
    s->backup_rows[i].key = s->backup_buf.data + off[0];
    s->backup_rows[i].value = (const uint8_t *)s->backup_buf.data + off[1];
    s->backup_rows[i].expect = (const uint8_t *)s->backup_buf.data + off[2];
  }
  *rows = s->backup_rows;
  return (int)n;
}

/* ---- runs ---- */

static int sqlite_run_create(store *base, const store_run *run,
                             store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  sqlite3_stmt *st = s->st[ST_RUN_INSERT];
  bind_run(st, run);
  int rc = sqlite3_step(st);
  int status = STORE_OK;
  if (rc == SQLITE_CONSTRAINT &&
      sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
    status = store__fail(err, STORE_EUSAGE, "run '%.40s' already exists in %s",
                         run->run_id, s->shown);
  else if (rc != SQLITE_DONE)
    status = fail_db(s, err, status_of(rc), "cannot create a run");
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return status;
}

/* Copies a text column into a fixed field, cut to fit. */
static void copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col) {
  const char *v = (const char *)sqlite3_column_text(st, col);
  size_t n = v != NULL ? (size_t)sqlite3_column_bytes(st, col) : 0;
  if (n >= cap) n = cap - 1;
  if (n > 0) memcpy(dst, v, n);
  dst[n] = '\0';
}
#define COPY_TEXT(field, st, col) copy_text((field), sizeof(field), (st), (col))

#define RUN_COLUMNS                                                     \
  "run_id, command, target, table_name, key_column, column_name, "      \
  "to_version, status, checkpoint, started_us, updated_us, converted, " \
  "conflicts, lossy, impossible, corrupt, restored"

/* RUN_COLUMNS and the later columns (store__run_columns) as a SELECT list:
 * a column the table lacks reads as NULL. sqlite3_malloc'd, or NULL. */
static char *run_select_list(const sqlite_store *s) {
  char *list = sqlite3_mprintf("%s", RUN_COLUMNS);
  for (size_t i = 0; list != NULL && i < store__n_run_columns; i++) {
    char *more = sqlite3_mprintf(
        "%s, %s", list, s->run_col[i] ? store__run_columns[i].name : "NULL");
    sqlite3_free(list);
    list = more;
  }
  return list;
}

static void read_run(sqlite3_stmt *st, store_run *r) {
  memset(r, 0, sizeof *r);
  COPY_TEXT(r->run_id, st, 0);
  COPY_TEXT(r->command, st, 1);
  COPY_TEXT(r->target, st, 2);
  COPY_TEXT(r->table, st, 3);
  COPY_TEXT(r->key, st, 4);
  COPY_TEXT(r->column, st, 5);
  r->to_version = (unsigned)sqlite3_column_int64(st, 6);
  COPY_TEXT(r->status, st, 7);
  r->has_checkpoint = sqlite3_column_type(st, 8) != SQLITE_NULL;
  if (r->has_checkpoint) COPY_TEXT(r->checkpoint, st, 8);
  r->started_us = sqlite3_column_int64(st, 9);
  r->updated_us = sqlite3_column_int64(st, 10);
  r->converted = sqlite3_column_int64(st, 11);
  r->conflicts = sqlite3_column_int64(st, 12);
  r->lossy = sqlite3_column_int64(st, 13);
  r->impossible = sqlite3_column_int64(st, 14);
  r->corrupt = sqlite3_column_int64(st, 15);
  r->restored = sqlite3_column_int64(st, 16);
  store__run_defaults(r);
  for (size_t i = 0; i < store__n_run_columns; i++) {
    const store__run_column *c = &store__run_columns[i];
    int col = 17 + (int)i;
    if (sqlite3_column_type(st, col) == SQLITE_NULL) continue;
    char *f = (char *)r + c->offset;
    int64_t v = sqlite3_column_int64(st, col);
    switch (c->kind) {
      case STORE__COL_KEY:
        *(int *)(void *)((char *)r + c->flag) = 1;
        /* fall through */
      case STORE__COL_TEXT:
        copy_text(f, c->size, st, col);
        break;
      case STORE__COL_INT:
      case STORE__COL_OPT:
        memcpy(f, &v, sizeof v);
        break;
    }
  }
  store__run_read_done(r);
}

static int sqlite_run_load(store *base, const char *run_id, store_run *out,
                           store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  char shown[72];
  if (!s->has_runs)
    return store__fail(err, STORE_EUSAGE, "no run '%s' in %s",
                       shown_key(run_id, shown), s->shown);
  sqlite3_stmt *st = s->st[ST_RUN_GET];
  sqlite3_bind_text(st, 1, run_id != NULL ? run_id : "", -1, SQLITE_STATIC);
  int rc = sqlite3_step(st), status = STORE_OK;
  if (rc == SQLITE_ROW)
    read_run(st, out);
  else if (rc == SQLITE_DONE)
    status = store__fail(err, STORE_EUSAGE, "no run '%s' in %s",
                         shown_key(run_id, shown), s->shown);
  else
    status = fail_db(s, err, status_of(rc), "cannot read the runs table");
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return status;
}

static int sqlite_run_update(store *base, const store_run *run,
                             store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  int status = put_run(s, run, err);
  if (status == STORE_OK)
    status = store__sq_lease_beat(s->db, s->schema, &s->lease, err);
  return status;
}

/* ---- leases (sqlite_lease.c) ---- */

static int sqlite_lease_take(store *base, const char *run_id,
                             store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  return store__sq_lease_take(s->db, s->schema, s->shown, &s->lease, run_id,
                              err);
}

static void sqlite_lease_release(store *base, const char *run_id) {
  sqlite_store *s = (sqlite_store *)base;
  store__sq_lease_release(s->db, s->schema, &s->lease, run_id);
}

static int sqlite_lease_held(store *base, const char *run_id,
                             store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  return store__sq_lease_held(s->db, s->schema, s->shown, run_id, err);
}

/* While it only reads (a verification pass, a restore's dry run), a
 * holder renews its lease about once a minute, and only when the write
 * lock is free at once: a reader never waits for its heartbeat. */
static void reading_beat(sqlite_store *s) {
  if (s->lease.last_beat == 0 || store__now() - s->lease.last_beat < 60) return;
  s->busy_no_wait = 1;
  if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
    if (store__sq_lease_beat(s->db, s->schema, &s->lease, NULL) == STORE_OK)
      sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    if (!sqlite3_get_autocommit(s->db))
      sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  }
  s->busy_no_wait = 0;
}

/* Every row @p st gives (its parameters bound), oldest first. */
static int read_runs(sqlite_store *s, sqlite3_stmt *st, store_run **out,
                     size_t *n, store_error *err) {
  store_run *runs = NULL;
  size_t count = 0, cap = 0;
  int rc, status = STORE_OK;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    store_run *more = grow(runs, &cap, count + 1, sizeof *runs);
    if (more == NULL) {
      status = store__fail(err, STORE_ENOMEM, "out of memory");
      break;
    }
    runs = more;
    read_run(st, &runs[count++]);
  }
  if (status == STORE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
    status = fail_db(s, err, status_of(rc), "cannot read the runs table");
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (status != STORE_OK || count == 0) {
    free(runs);
    runs = NULL;
    count = 0;
  }
  *out = runs;
  *n = count;
  return status;
}

static int sqlite_run_list(store *base, store_run **out, size_t *n,
                           store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  if (!s->has_runs) return STORE_OK;
  return read_runs(s, s->st[ST_RUN_ALL], out, n, err);
}

static int sqlite_run_parts(store *base, const char *run, store_run **out,
                            size_t *n, store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  if (!s->has_runs) return STORE_OK;
  sqlite3_stmt *st = s->st[ST_RUN_PARTS];
  sqlite3_bind_text(st, 1, run != NULL ? run : "", -1, SQLITE_TRANSIENT);
  return read_runs(s, st, out, n, err);
}

static int sqlite_purge_run(store *base, const char *run_id, int64_t *deleted,
                            store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  char shown[72];
  if (run_id == NULL) run_id = "";
  if (!s->has_runs)
    return store__fail(err, STORE_EUSAGE, "no run '%s' in %s",
                       shown_key(run_id, shown), s->shown);
  int status = tx_begin(s, err, "cannot start the purge");
  if (status != STORE_OK) return status;
  int backups = 0, runs = 0;
  sqlite3_bind_text(s->st[ST_PURGE_BACKUP], 1, run_id, -1, SQLITE_STATIC);
  status = step_done(s, s->st[ST_PURGE_BACKUP], &backups, err,
                     "cannot delete backup rows");
  if (status == STORE_OK) {
    sqlite3_bind_text(s->st[ST_PURGE_RUN], 1, run_id, -1, SQLITE_STATIC);
    status =
        step_done(s, s->st[ST_PURGE_RUN], &runs, err, "cannot delete the run");
  }
  if (status == STORE_OK && backups == 0 && runs == 0)
    status = store__fail(err, STORE_EUSAGE, "no run '%s' in %s",
                         shown_key(run_id, shown), s->shown);
  if (status == STORE_OK)
    status = tx_commit(s, err, "cannot commit the purge");
  else
    tx_rollback(s);
  if (status == STORE_OK && deleted != NULL) *deleted = backups;
  return status;
}

/* ---- opening for writing ---- */

/* The run and backup tables (DDL in the comment at the top), created in one
 * transaction unless both are there: a reopen takes no write lock. */
static int ensure_tables(sqlite_store *s, store_error *err) {
  sqlite3_stmt *st = NULL;
  char *sql = sqlite3_mprintf(
      "SELECT count(*) FROM \"%w\".sqlite_schema WHERE type = 'table' AND "
      "name IN ('rollsafe_runs', 'rollsafe_backup', 'rollsafe_leases')",
      s->schema);
  if (sql == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
  sqlite3_free(sql);
  int have = 0;
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    have = sqlite3_column_int(st, 0);
    rc = SQLITE_OK;
  }
  int status = rc == SQLITE_OK
                   ? STORE_OK
                   : fail_db(s, err, status_of(rc), "cannot read the schema");
  sqlite3_finalize(st);
  if (status != STORE_OK || have == 3) return status;

  sql = sqlite3_mprintf(
      "CREATE TABLE IF NOT EXISTS \"%w\".rollsafe_runs (\n"
      "  run_id TEXT NOT NULL PRIMARY KEY,\n"
      "  command TEXT NOT NULL,\n"
      "  target TEXT NOT NULL,\n"
      "  table_name TEXT NOT NULL,\n"
      "  key_column TEXT NOT NULL,\n"
      "  column_name TEXT NOT NULL,\n"
      "  to_version INTEGER NOT NULL,\n"
      "  status TEXT NOT NULL,\n"
      "  checkpoint TEXT,\n"
      "  started_us INTEGER NOT NULL,\n"
      "  updated_us INTEGER NOT NULL,\n"
      "  converted INTEGER NOT NULL DEFAULT 0,\n"
      "  conflicts INTEGER NOT NULL DEFAULT 0,\n"
      "  lossy INTEGER NOT NULL DEFAULT 0,\n"
      "  impossible INTEGER NOT NULL DEFAULT 0,\n"
      "  corrupt INTEGER NOT NULL DEFAULT 0,\n"
      "  restored INTEGER NOT NULL DEFAULT 0\n"
      ");\n"
      "CREATE TABLE IF NOT EXISTS \"%w\".rollsafe_backup (\n"
      "  run_id TEXT NOT NULL,\n"
      "  target TEXT NOT NULL,\n"
      "  \"key\" TEXT NOT NULL,\n"
      "  old_value BLOB NOT NULL,\n"
      "  new_value BLOB NOT NULL,\n"
      "  written_us INTEGER NOT NULL,\n"
      "  restored INTEGER NOT NULL DEFAULT 0,\n"
      "  PRIMARY KEY (run_id, \"key\")\n"
      ");",
      s->schema, s->schema);
  char *leases = sqlite3_mprintf(store__sq_lease_ddl, s->schema);
  if (sql == NULL || leases == NULL) {
    sqlite3_free(sql);
    sqlite3_free(leases);
    return store__fail(err, STORE_ENOMEM, "out of memory");
  }
  status = tx_begin(s, err, "cannot create the run and backup tables");
  if (status == STORE_OK) {
    rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_exec(s->db, leases, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
      status = fail_db(s, err, status_of(rc),
                       "cannot create the run and backup tables");
      tx_rollback(s);
    } else {
      status = tx_commit(s, err, "cannot create the run and backup tables");
    }
  }
  sqlite3_free(sql);
  sqlite3_free(leases);
  return status;
}

/*
 * Which of the later run columns (store__run_columns) the runs table has,
 * into s->run_col; *exists: whether the table is there at all.
 */
static int read_run_columns(sqlite_store *s, int *exists, store_error *err) {
  memset(s->run_col, 0, sizeof s->run_col);
  *exists = 0;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(
      s->db, "SELECT name FROM pragma_table_info('rollsafe_runs', ?1)", -1, &st,
      NULL);
  if (rc == SQLITE_OK) {
    sqlite3_bind_text(st, 1, s->schema, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      const char *name = (const char *)sqlite3_column_text(st, 0);
      *exists = 1;
      for (size_t i = 0; name != NULL && i < store__n_run_columns; i++)
        if (strcmp(name, store__run_columns[i].name) == 0) s->run_col[i] = 1;
    }
    if (rc == SQLITE_DONE) rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_OK)
    return fail_db(s, err, status_of(rc),
                   "cannot read the runs table's columns");
  return STORE_OK;
}

/*
 * The later run columns a runs table made by an earlier rollsafe lacks,
 * added in one transaction (ALTER TABLE ... ADD COLUMN keeps every row, and
 * an earlier rollsafe still reads and writes the table: its statements
 * name their columns). Nothing to do, and no write lock taken, when the
 * table has them all.
 */
static int add_run_columns(sqlite_store *s, store_error *err) {
  int exists = 0, missing = 0;
  int status = read_run_columns(s, &exists, err);
  for (size_t i = 0; i < store__n_run_columns; i++) missing |= !s->run_col[i];
  if (status != STORE_OK || !missing) return status;
  status = tx_begin(s, err, "cannot add the runs table's new columns");
  if (status == STORE_OK) status = read_run_columns(s, &exists, err);
  for (size_t i = 0; i < store__n_run_columns && status == STORE_OK; i++) {
    if (s->run_col[i]) continue;
    const store__run_column *c = &store__run_columns[i];
    const char *type = c->kind == STORE__COL_INT ? "INTEGER NOT NULL DEFAULT 0"
                       : c->kind == STORE__COL_OPT ? "INTEGER"
                                                   : "TEXT";
    char *sql =
        sqlite3_mprintf("ALTER TABLE \"%w\".rollsafe_runs ADD COLUMN \"%w\" %s",
                        s->schema, c->name, type);
    if (sql == NULL) {
      status = store__fail(err, STORE_ENOMEM, "out of memory");
      break;
    }
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    sqlite3_free(sql);
    if (rc != SQLITE_OK)
      status = fail_db(s, err, status_of(rc),
                       "cannot add the runs table's new columns");
    else
      s->run_col[i] = 1;
  }
  if (status == STORE_OK)
    return tx_commit(s, err, "cannot add the runs table's new columns");
  tx_rollback(s);
  return status;
}

/* The statements of the runs and of a purge, for the columns the runs
 * table has (s->run_col). */
static int prepare_runs(sqlite_store *s, store_error *err) {
  const char *S = s->schema;
  char *list = run_select_list(s);
  char *cols = sqlite3_mprintf("%s", RUN_COLUMNS),
       *vals = sqlite3_mprintf(
           "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
           "?16, ?17");
  char *sets = sqlite3_mprintf(
      "status = ?8, checkpoint = ?9, updated_us = ?11, converted = ?12, "
      "conflicts = ?13, lossy = ?14, impossible = ?15, corrupt = ?16, "
      "restored = ?17");
  /* A writer has added every later column; a runs store only reads (and
   * purges), so its insert and update are never used. */
  for (size_t i = 0; i < store__n_run_columns; i++) {
    if (!s->run_col[i] || cols == NULL || vals == NULL || sets == NULL)
      continue;
    const char *name = store__run_columns[i].name;
    char *c2 = sqlite3_mprintf("%s, %s", cols, name);
    char *v2 = sqlite3_mprintf("%s, ?%d", vals, 18 + (int)i);
    /* A row's run never changes. */
    char *s2 = i == 0
                   ? sqlite3_mprintf("%s", sets)
                   : sqlite3_mprintf("%s, %s = ?%d", sets, name, 18 + (int)i);
    sqlite3_free(cols);
    sqlite3_free(vals);
    sqlite3_free(sets);
    cols = c2;
    vals = v2;
    sets = s2;
  }
  char *sql[ST_PURGE_RUN - ST_RUN_INSERT + 1];
  memset(sql, 0, sizeof sql);
  if (list != NULL && cols != NULL && vals != NULL && sets != NULL) {
    sql[ST_RUN_INSERT - ST_RUN_INSERT] = sqlite3_mprintf(
        "INSERT INTO \"%w\".rollsafe_runs (%s) VALUES (%s)", S, cols, vals);
    sql[ST_RUN_UPDATE - ST_RUN_INSERT] = sqlite3_mprintf(
        "UPDATE \"%w\".rollsafe_runs SET %s WHERE run_id = ?1", S, sets);
    sql[ST_RUN_GET - ST_RUN_INSERT] = sqlite3_mprintf(
        "SELECT %s FROM \"%w\".rollsafe_runs WHERE run_id = ?1", list, S);
    sql[ST_RUN_ALL - ST_RUN_INSERT] = sqlite3_mprintf(
        "SELECT %s FROM \"%w\".rollsafe_runs "
        "ORDER BY started_us, run_id",
        list, S);
    sql[ST_RUN_PARTS - ST_RUN_INSERT] = sqlite3_mprintf(
        "SELECT %s FROM \"%w\".rollsafe_runs WHERE %s = ?1 "
        "ORDER BY started_us, run_id",
        list, S, s->run_col[0] ? "coalesce(run, run_id)" : "run_id");
    sql[ST_PURGE_BACKUP - ST_RUN_INSERT] = sqlite3_mprintf(
        "DELETE FROM \"%w\".rollsafe_backup WHERE run_id = ?1", S);
    sql[ST_PURGE_RUN - ST_RUN_INSERT] = sqlite3_mprintf(
        "DELETE FROM \"%w\".rollsafe_runs WHERE run_id = ?1", S);
  }
  sqlite3_free(list);
  sqlite3_free(cols);
  sqlite3_free(vals);
  sqlite3_free(sets);
  int status = STORE_OK;
  for (int i = ST_RUN_INSERT; i <= ST_PURGE_RUN && status == STORE_OK; i++) {
    char *q = sql[i - ST_RUN_INSERT];
    if (q == NULL) {
      status = store__fail(err, STORE_ENOMEM, "out of memory");
      break;
    }
    int rc = sqlite3_prepare_v2(s->db, q, -1, &s->st[i], NULL);
    if (rc != SQLITE_OK)
      status = fail_db(s, err, status_of(rc), "cannot use the runs table");
  }
  for (int i = ST_RUN_INSERT; i <= ST_PURGE_RUN; i++)
    sqlite3_free(sql[i - ST_RUN_INSERT]);
  return status;
}

/* ?1, the bytes to write, as TEXT where the value it replaces is TEXT,
 * else as the BLOB bound. CAST takes the bytes as text in the database's
 * encoding: they are what the scan read of the text (sqlite3_column_blob)
 * in that same encoding. Formatted with the column. */
#define KEEP_CLASS \
  "CASE WHEN typeof(\"%w\") = 'text' THEN CAST(?1 AS TEXT) ELSE ?1 END"

/*
 * The writer's statements, prepared once. Pages read the table through a
 * subquery that holds the operator's --where, so that nothing in it (an OR,
 * a stray parenthesis) can reach the key condition that makes pages
 * advance; SQLite flattens it, and a key column referenced through it keeps
 * its affinity.
 */
static int prepare_writer(sqlite_store *s, const store_target *t,
                          store_error *err) {
  const char *S = s->schema, *T = s->table, *C = t->column;
  const char *Q = t->state_column;
  int has_where = s->has_where;
  /* A queue's states: ?3.. in the pages' subquery, before --where (see
   * connect_target on why first). Rows whose key may be NULL are found by
   * rowid, which the subquery passes on as rs_rowid. */
  int nomem;
  char *cond = state_condition(s, Q, 3, &nomem);
  char *KL = key_list(s), *src = NULL;
  const char *rid = s->key_nullable ? ", _rowid_ AS rs_rowid" : "";
  if (KL == NULL || nomem)
    src = NULL;
  else if (cond != NULL && has_where)
    src = sqlite3_mprintf(
        "(SELECT %s%s, \"%w\" FROM \"%w\".\"%w\" WHERE %s AND (\n%s\n))", KL,
        rid, C, S, T, cond, t->where);
  else if (cond != NULL)
    src = sqlite3_mprintf("(SELECT %s%s, \"%w\" FROM \"%w\".\"%w\" WHERE %s)",
                          KL, rid, C, S, T, cond);
  else if (has_where)
    src = sqlite3_mprintf(
        "(SELECT %s%s, \"%w\" FROM \"%w\".\"%w\" WHERE (\n%s\n))", KL, rid, C,
        S, T, t->where);
  else if (s->key_nullable)
    src = sqlite3_mprintf("(SELECT %s%s, \"%w\" FROM \"%w\".\"%w\")", KL, rid,
                          C, S, T);
  else
    src = sqlite3_mprintf("\"%w\".\"%w\"", S, T);
  sqlite3_free(cond);
  char *notnull = key_sql(s, "\"%w\" IS NOT NULL", " AND ");
  char *isnull = key_sql(s, "\"%w\" IS NULL", " OR ");
  char *after = key_after(s), *eq_cas = key_eq(s, 2), *eq_now = key_eq(s, 1);
  if (src == NULL || notnull == NULL || isnull == NULL || after == NULL ||
      eq_cas == NULL || eq_now == NULL) {
    sqlite3_free(KL);
    sqlite3_free(src);
    sqlite3_free(notnull);
    sqlite3_free(isnull);
    sqlite3_free(after);
    sqlite3_free(eq_cas);
    sqlite3_free(eq_now);
    return store__fail(err, STORE_ENOMEM, "out of memory");
  }
  char *sql[ST_COUNT];
  sql[ST_PAGE_FIRST] = sqlite3_mprintf(
      "SELECT %s, \"%w\" FROM %s%s%s ORDER BY %s LIMIT ?2", KL, C, src,
      s->key_nullable ? " WHERE " : "", s->key_nullable ? notnull : "", KL);
  sql[ST_PAGE_AFTER] =
      sqlite3_mprintf("SELECT %s, \"%w\" FROM %s WHERE %s ORDER BY %s LIMIT ?2",
                      KL, C, src, after, KL);
  sql[ST_UNNAMED] =
      s->key_nullable
          ? sqlite3_mprintf(
                "SELECT rs_rowid, \"%w\" FROM %s WHERE (%s) AND rs_rowid > ?1 "
                "ORDER BY rs_rowid LIMIT ?2",
                C, src, isnull)
          : sqlite3_mprintf("%s", "");
  sqlite3_free(notnull);
  sqlite3_free(isnull);
  sqlite3_free(after);
  /* CAST: the bytes as the reader saw them (sqlite3_column_blob), even
   * where the value is stored as TEXT. The new value keeps the storage
   * class of the one it replaces (KEEP_CLASS): text encoded records stay
   * TEXT, and a restore puts text back as text. A queue's swap also needs the
   * message to be pending still: its pending states are ?4.., and ROW_NOW
   * takes them from ?2 on, the in-flight ones after them. */
  size_t np = s->states.n_pending, nf = s->states.n_in_flight;
  if (np > 0) {
    char *pending = placeholders(4, np);
    char *now_pending = placeholders(2, np);
    char *now_flight = nf > 0 ? placeholders(2 + (int)np, nf) : NULL;
    char *flight_expr =
        nf > 0 && now_flight != NULL
            ? sqlite3_mprintf("coalesce(\"%w\" IN (%s), 0)", Q, now_flight)
            : sqlite3_mprintf("0");
    sql[ST_CAS] =
        pending == NULL
            ? NULL
            : sqlite3_mprintf("UPDATE \"%w\".\"%w\" SET \"%w\" = " KEEP_CLASS
                              " WHERE %s AND CAST(\"%w\" AS BLOB) = ?3 AND "
                              "\"%w\" IN (%s)",
                              S, T, C, C, eq_cas, C, Q, pending);
    sql[ST_ROW_NOW] =
        now_pending == NULL || flight_expr == NULL || (nf > 0 && !now_flight)
            ? NULL
            : sqlite3_mprintf(
                  "SELECT CAST(\"%w\" AS BLOB), coalesce(\"%w\" IN (%s), 0), "
                  "%s FROM \"%w\".\"%w\" WHERE %s",
                  C, Q, now_pending, flight_expr, S, T, eq_now);
    sqlite3_free(pending);
    sqlite3_free(now_pending);
    sqlite3_free(now_flight);
    sqlite3_free(flight_expr);
  } else {
    sql[ST_CAS] =
        sqlite3_mprintf("UPDATE \"%w\".\"%w\" SET \"%w\" = " KEEP_CLASS
                        " WHERE %s AND CAST(\"%w\" AS BLOB) = ?3",
                        S, T, C, C, eq_cas, C);
    sql[ST_ROW_NOW] = sqlite3_mprintf(
        "SELECT CAST(\"%w\" AS BLOB), 1, 0 FROM \"%w\".\"%w\" WHERE %s", C, S,
        T, eq_now);
  }
  sqlite3_free(KL);
  sqlite3_free(eq_cas);
  sqlite3_free(eq_now);
  int status = STORE_OK;
  sql[ST_BACKUP_PUT] = sqlite3_mprintf(
      "INSERT INTO \"%w\".rollsafe_backup (run_id, target, \"key\", "
      "old_value, new_value, written_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
      "ON CONFLICT (run_id, \"key\") DO UPDATE SET old_value = "
      "excluded.old_value, new_value = excluded.new_value, "
      "written_us = excluded.written_us, restored = 0",
      S);
  sql[ST_BACKUP_FIRST] = sqlite3_mprintf(
      "SELECT \"key\", old_value, new_value FROM \"%w\".rollsafe_backup "
      "WHERE run_id = ?1 ORDER BY \"key\" LIMIT ?3",
      S);
  sql[ST_BACKUP_AFTER] = sqlite3_mprintf(
      "SELECT \"key\", old_value, new_value FROM \"%w\".rollsafe_backup "
      "WHERE run_id = ?1 AND \"key\" > ?2 ORDER BY \"key\" LIMIT ?3",
      S);
  sql[ST_MARK_RESTORED] = sqlite3_mprintf(
      "UPDATE \"%w\".rollsafe_backup SET restored = 1 WHERE run_id = ?1 AND "
      "\"key\" = ?2",
      S);
  /* The runs' statements: prepare_runs. */
  for (int i = ST_RUN_INSERT; i <= ST_PURGE_RUN; i++)
    sql[i] = sqlite3_mprintf("");
  sqlite3_free(src);
  for (int i = 0; i < ST_COUNT && status == STORE_OK; i++) {
    if (sql[i] == NULL) {
      status = store__fail(err, STORE_ENOMEM, "out of memory");
      break;
    }
    /* a statement this key needs not, or one prepare_runs makes */
    if (sql[i][0] == '\0') continue;
    const char *tail = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql[i], -1, &s->st[i], &tail);
    int is_page = i == ST_PAGE_FIRST || i == ST_PAGE_AFTER || i == ST_UNNAMED;
    if (rc != SQLITE_OK && is_page)
      /* Ours but for --where: the operator's SQL, or a schema that changed
       * under us. */
      status = store__fail(
          err, STORE_EUSAGE, "target '%s' (%s): cannot read pages: %s%s",
          s->target_name, s->base.description, sqlite3_errmsg(s->db),
          has_where ? " (check --where)" : "");
    else if (rc != SQLITE_OK)
      status = fail_db(s, err, status_of(rc),
                       "cannot use the run and backup tables");
    else if (tail != NULL && *tail != '\0')
      status = store__fail(err, STORE_EUSAGE,
                           "target '%s': --where must be one SQL condition, "
                           "not several statements",
                           s->target_name);
  }
  for (int i = 0; i < ST_COUNT; i++) sqlite3_free(sql[i]);
  return status;
}

static const store_ops sqlite_writer_ops = {
    .estimate_rows = sqlite_estimate_rows,
    .scan = sqlite_scan,
    .next = sqlite_next,
    .cancel = sqlite_cancel,
    .interrupt = sqlite_interrupt,
    .close = sqlite_close,
    .run_create = sqlite_run_create,
    .run_load = sqlite_run_load,
    .run_update = sqlite_run_update,
    .run_list = sqlite_run_list,
    .run_parts = sqlite_run_parts,
    .page = sqlite_page,
    .unnamed_page = sqlite_unnamed_page,
    .fix_batch = sqlite_fix_batch,
    .backup_page = sqlite_backup_page,
    .restore_batch = sqlite_restore_batch,
    .restore_check = sqlite_restore_check,
    .purge_run = sqlite_purge_run,
    .lease_take = sqlite_lease_take,
    .lease_release = sqlite_lease_release,
    .lease_held = sqlite_lease_held,
};

/* Compiles the scan's statement and drops it: a --where that is not SQL
 * (or names no column of the table) fails here, nothing created yet. */
static int check_reads(sqlite_store *s, store_error *err) {
  sqlite3_stmt *st = NULL;
  const char *tail = NULL;
  int rc = sqlite3_prepare_v2(s->db, s->sql, -1, &st, &tail);
  sqlite3_finalize(st);
  if (rc != SQLITE_OK) {
    int busy = rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
    return store__fail(err, busy ? STORE_EBUSY : STORE_EUSAGE,
                       "target '%s' (%s): cannot scan: %s%s", s->target_name,
                       s->base.description, sqlite3_errmsg(s->db),
                       s->has_where && !busy ? " (check --where)" : "");
  }
  /* As sqlite_scan: what follows a first complete statement is refused. */
  while (tail != NULL && (*tail == ' ' || *tail == '\n' || *tail == '\t'))
    tail++;
  if (tail != NULL && *tail != '\0')
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': --where must be one SQL condition, "
                       "not several statements",
                       s->target_name);
  return STORE_OK;
}

int store__sqlite_open_writer(store **out, const store_target *t,
                              const store_open_options *options,
                              const store_write_options *write,
                              store_error *err) {
  (void)options;
  sqlite_store *s = NULL;
  *out = NULL;
  /* READWRITE without CREATE: a missing file is an error, never a new
   * empty database. */
  int status = connect_target(&s, t, &sqlite_writer_ops, SQLITE_OPEN_READWRITE,
                              write, err);
  if (status != STORE_OK) return status;
  if (sqlite3_db_readonly(s->db, s->schema) == 1)
    status = store__fail(err, STORE_EIO,
                         "target '%s' (%s): cannot write: the file is "
                         "read-only",
                         s->target_name, s->base.description);
  else if (s->nk == 0)
    status = store__fail(err, STORE_EUSAGE,
                         "target '%s': table '%s' has no primary key or "
                         "unique column; fix needs one to name rows (give "
                         "--key, or add a key); scan can name rows by rowid",
                         s->target_name, s->table);
  for (size_t i = 0; i < s->nk && status == STORE_OK; i++)
    if (strcmp(s->key_cols[i], t->column) == 0)
      status = store__fail(err, STORE_EUSAGE,
                           "target '%s': the key column '%s' cannot be the "
                           "column that is rewritten",
                           s->target_name, t->column);
  /* The target (checked by connect_target) and --where are checked before
   * the writer creates its tables. */
  if (status == STORE_OK) status = check_reads(s, err);
  if (status == STORE_OK) status = ensure_tables(s, err);
  if (status == STORE_OK) status = add_run_columns(s, err);
  s->has_runs = 1;
  if (status == STORE_OK) status = prepare_writer(s, t, err);
  if (status == STORE_OK) status = prepare_runs(s, err);
  if (status != STORE_OK) {
    sqlite_close(&s->base);
    return status;
  }
  *out = &s->base;
  return STORE_OK;
}

/* ---- a database's runs only (store_open_runs) ---- */

static int64_t runs_estimate(store *base) {
  (void)base;
  return -1;
}

static int runs_scan(store *base, store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  return store__fail(err, STORE_EUSAGE, "%s: opened for its runs only",
                     s->shown);
}

static int runs_next(store *base, store_row *row, store_error *err) {
  (void)row;
  return runs_scan(base, err);
}

/* Whether the database has the lease table: 1, 0, or a negative
 * store_status. One an earlier rollsafe made has none until a writer
 * opens it. */
static int runs_have_leases(sqlite_store *s, store_error *err) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(s->db,
                              "SELECT count(*) FROM main.sqlite_schema WHERE "
                              "type = 'table' AND name = 'rollsafe_leases'",
                              -1, &st, NULL);
  int have = 0;
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    have = sqlite3_column_int(st, 0) > 0;
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_OK)
    return fail_db(s, err, status_of(rc), "cannot read the schema");
  return have;
}

/* A purge takes the run's lease as writers do; the table is made when
 * missing (a purge writes anyway). */
static int runs_lease_take(store *base, const char *run_id, store_error *err) {
  sqlite_store *s = (sqlite_store *)base;
  int have = runs_have_leases(s, err);
  if (have < 0) return have;
  if (!have) {
    char *ddl = sqlite3_mprintf(store__sq_lease_ddl, s->schema);
    if (ddl == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
    int rc = sqlite3_exec(s->db, ddl, NULL, NULL, NULL);
    sqlite3_free(ddl);
    if (rc != SQLITE_OK)
      return fail_db(s, err, status_of(rc), "cannot create the lease table");
  }
  return sqlite_lease_take(base, run_id, err);
}

/* No lease table: no process of this rollsafe holds a lease. */
static int runs_lease_held(store *base, const char *run_id, store_error *err) {
  int have = runs_have_leases((sqlite_store *)base, err);
  if (have <= 0) return have;
  return sqlite_lease_held(base, run_id, err);
}

static const store_ops sqlite_runs_ops = {
    .estimate_rows = runs_estimate,
    .scan = runs_scan,
    .next = runs_next,
    .cancel = sqlite_cancel,
    .interrupt = sqlite_interrupt,
    .close = sqlite_close,
    .run_load = sqlite_run_load,
    .run_list = sqlite_run_list,
    .run_parts = sqlite_run_parts,
    .purge_run = sqlite_purge_run,
    .lease_take = runs_lease_take,
    .lease_release = sqlite_lease_release,
    .lease_held = runs_lease_held,
};

int store__sqlite_open_runs(store **out, const store_target *db,
                            const store_write_options *write,
                            store_error *err) {
  *out = NULL;
  const char *shown =
      db->connection_label != NULL ? db->connection_label : db->connection;
  struct stat sb;
  if (strncmp(db->connection, "file:", 5) != 0 &&
      stat(db->connection, &sb) != 0)
    return store__fail(err, STORE_EIO, "cannot open '%s': %s", shown,
                       strerror(errno));
  sqlite_store *s = calloc(1, sizeof *s);
  if (s == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  s->base.ops = &sqlite_runs_ops;
  s->schema = dup_or_null("main");
  s->shown = dup_or_null(shown);
  s->target_name = dup_or_null(db->name != NULL ? db->name : shown);
  snprintf(s->base.description, sizeof s->base.description,
           "sqlite database %s", shown);
  if (s->schema == NULL || s->shown == NULL || s->target_name == NULL) {
    sqlite_close(&s->base);
    return store__fail(err, STORE_ENOMEM, "out of memory");
  }
  store__sq_lease_init(&s->lease);
  /* Read-write where the file allows it (a purge deletes), never created. */
  int rc = sqlite3_open_v2(
      db->connection, &s->db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
  int status = STORE_OK;
  if (rc != SQLITE_OK)
    status = s->db != NULL ? fail_db(s, err, STORE_EIO, "cannot open")
                           : store__fail(err, STORE_ENOMEM, "out of memory");
  if (status == STORE_OK) {
    sqlite3_busy_timeout(s->db, write->lock_timeout_ms > 0
                                    ? write->lock_timeout_ms
                                    : SQLITE_BUSY_TIMEOUT_MS);
    rc = sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL,
                      NULL);
    if (rc != SQLITE_OK) status = fail_db(s, err, status_of(rc), "cannot read");
  }
  int exists = 0;
  if (status == STORE_OK) status = read_run_columns(s, &exists, err);
  if (status == STORE_OK && exists) {
    s->has_runs = 1;
    status = prepare_runs(s, err);
  }
  if (status != STORE_OK) {
    sqlite_close(&s->base);
    return status;
  }
  *out = &s->base;
  return STORE_OK;
}
