/*
 * src/store/store.h: target adapters, the verifier's view of a database.
 *
 * An adapter streams (key, bytes) rows out of one table and knows nothing of
 * protobuf; the scan engine (src/verify/) knows nothing of SQL. Internal to
 * the CLI: not installed, names carry the store_ prefix.
 *
 * Every adapter promises what DESIGN.md's safety promises ask of a reader:
 * it opens the target read-only (SQLite: SQLITE_OPEN_READONLY; PostgreSQL:
 * a READ ONLY transaction with search_path pinned), it never holds the whole
 * table in memory, it checks and quotes identifiers and binds values, and it
 * never writes a password into a message.
 */
#ifndef RS_STORE_H
#define RS_STORE_H

#include <stddef.h>
#include <stdint.h>

/** Where records live. Queue kinds and stream files come later. */
typedef enum store_kind {
  STORE_SQLITE_TABLE = 1,
  STORE_POSTGRES_TABLE = 2
} store_kind;

/** "sqlite-table", "postgres-table"; NULL for an unknown kind. */
const char *store_kind_name(store_kind kind);

/** The kind named @p name, or 0. */
store_kind store_kind_from_name(const char *name);

/** One target, as the command line or the config file names it. Borrowed. */
typedef struct store_target {
  const char *name;       /**< the target's name in reports */
  store_kind kind;
  const char *connection; /**< SQLite file path, or libpq conninfo / URI */
  const char *table;      /**< "table" or "schema.table" (PostgreSQL) */
  const char *key;        /**< primary key, or a unique not-null column */
  const char *column;     /**< the column holding the record bytes */
  const char *where;      /**< the operator's own SQL condition, or NULL */
  /** What messages show instead of `connection` when it must not be
   * printed (e.g. "$ORDERS_DB" for a value from the environment); NULL:
   * the SQLite path, or PostgreSQL's host/port/database. */
  const char *connection_label;
} store_target;

/** Error classes, which the CLI maps to exit codes. */
typedef enum store_status {
  STORE_OK = 0,
  STORE_EUSAGE = -1,  /**< bad target: no such table/column, no key, bad name (exit 2) */
  STORE_EIO = -2,     /**< connection refused, I/O, server error mid-scan (exit 3) */
  STORE_ENOMEM = -3   /**< out of memory (exit 3) */
} store_status;

/** What went wrong: one line naming the target, table and what. */
typedef struct store_error {
  store_status status;
  char message[512];
} store_error;

/** Options of store_open(). */
typedef struct store_open_options {
  /**
   * PostgreSQL: when the server asks for a password that .pgpass,
   * PGPASSFILE and PGPASSWORD did not give, prompt for one on the terminal
   * (echo off). 0: fail with STORE_EIO instead.
   */
  int allow_password_prompt;
} store_open_options;

/** One row; every pointer is borrowed until the next store_next(). */
typedef struct store_row {
  const char *key;      /**< the key's text form, NUL-terminated */
  size_t key_len;
  const uint8_t *value; /**< the record bytes; NULL when the column is NULL */
  size_t value_len;
  int value_is_null;
} store_row;

typedef struct store store;

/**
 * Connects to the target and checks it: the table exists, @p key is its
 * primary key or a unique not-null column (a table without one is refused),
 * @p column exists. Opens a read-only snapshot that store_scan() reads from.
 *
 * @param[out] out the store, owned by the caller; free with store_close()
 * @return STORE_OK or a negative store_status with @p err filled
 */
int store_open(store **out, const store_target *target,
               const store_open_options *options, store_error *err);

/**
 * The table's row count from the database's statistics (PostgreSQL
 * reltuples, SQLite sqlite_stat1 or the largest rowid), for progress only;
 * -1 when unknown. Never scans the table.
 */
int64_t store_estimate_rows(store *s);

/**
 * Starts streaming the table's rows (those matching the target's `where`).
 * @return STORE_OK or a negative store_status
 */
int store_scan(store *s, store_error *err);

/**
 * The next row of the scan.
 * @return 1 with @p row filled, 0 at the end, or a negative store_status
 */
int store_next(store *s, store_row *row, store_error *err);

/**
 * Ends the scan early (for an interrupted scan): stops the server side
 * work without reading the remaining rows. The store can only be closed
 * afterwards.
 */
void store_cancel(store *s);

/**
 * Asks a running store call to stop as soon as it can: a statement waiting
 * for a lock, a COPY the server is slow to produce. Async-signal-safe: meant
 * for a SIGINT handler (PostgreSQL: PQcancel with a cancel object made at
 * open; SQLite: sqlite3_interrupt, as the sqlite3 shell does). The call it
 * stops fails; the caller, knowing it asked, treats that as interrupted.
 */
void store_interrupt(store *s);

/**
 * A description safe to print: kind, file or host/database, table. Never
 * contains a password. Borrowed; valid until store_close().
 */
const char *store_describe(const store *s);

/** Closes the connection and frees the store; NULL is allowed. */
void store_close(store *s);

#endif
