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

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/** Where records live. */
typedef enum store_kind {
  STORE_SQLITE_TABLE = 1,
  STORE_POSTGRES_TABLE = 2,
  /** A table used as a queue or outbox: consumers lock messages (`FOR
   * UPDATE SKIP LOCKED`) and delete them or move them out of a pending
   * state. The fixer never waits on a message a consumer holds. */
  STORE_SQLITE_QUEUE = 3,
  STORE_POSTGRES_QUEUE = 4,
  /** A file of varint-length-delimited records (protobuf's
   * writeDelimitedTo framing): a queue dump. Read-only; a fix writes a new
   * file beside it (see store_stream.h). */
  STORE_STREAM_FILE = 5,
  /** A Kafka topic, read through librdkafka (src/store/kafka.c). Read-only:
   * partitions are assigned and read from chosen offsets, never through a
   * consumer group (see store_kafka). */
  STORE_KAFKA_TOPIC = 6
} store_kind;

/** 1 for the queue kinds. */
int store_kind_is_queue(store_kind kind);

/** "sqlite-table", "postgres-table", ...; NULL for an unknown kind. */
const char *store_kind_name(store_kind kind);

/** The kind named @p name, or 0. */
store_kind store_kind_from_name(const char *name);

/**
 * What a target's record column holds, as the open checks it (store_open
 * and store_open_writer). Adapters hand out and take the column's stored
 * value as it is: bytes for a binary column, the text's bytes for a text
 * one; turning text into record bytes is not theirs (src/verify/colenc.h).
 * Writes keep the stored form: a value replacing text is written as text.
 */
typedef enum store_values {
  /** Record bytes: PostgreSQL bytea; SQLite BLOB (a column of BLOB
   * affinity or none). A text column, or a text value met in a BLOB
   * column, is an error naming --column-encoding. */
  STORE_VALUES_BINARY = 0,
  /** Records encoded as text (base64, hex): PostgreSQL text or varchar
   * (or bytea holding the text's bytes); SQLite TEXT affinity, or BLOB
   * affinity holding text or blobs. */
  STORE_VALUES_TEXT = 1,
  /** Either, as stored: a restore puts back the stored values it kept,
   * whatever the column's encoding. */
  STORE_VALUES_STORED = 2
} store_values;

struct store_kafka;

/**
 * A random sample of a table instead of every row (scan --sample): about
 * @p percent of the rows, chosen from @p seed so that the same seed on an
 * unchanged table reads the same rows. PostgreSQL reads
 * `TABLESAMPLE SYSTEM (percent) REPEATABLE (seed)` (whole blocks, each with
 * probability percent/100); SQLite reads random windows of rowids (see
 * sqlite.c). Stream files and Kafka topics are not sampled.
 */
typedef struct store_sample {
  double percent; /**< 0 < percent < 100 */
  uint32_t seed;
} store_sample;

/** One target, as the command line or the config file names it. Borrowed. */
typedef struct store_target {
  const char *name; /**< the target's name in reports */
  store_kind kind;
  const char *connection; /**< SQLite file path, or libpq conninfo / URI */
  const char *table;      /**< "table" or "schema.table" (PostgreSQL) */
  /** The key's columns, comma-separated ("id", "tenant,id"): the table's
   * primary key or a unique index, of one column or several. NULL or "":
   * the table's primary key, whatever its columns; a table without one is
   * read with its rows named by position (store_key_parts() 0). */
  const char *key;
  const char *column; /**< the column holding the record bytes */
  const char *where;  /**< the operator's own SQL condition, or NULL */
  /** What messages show instead of `connection` when it must not be
   * printed (e.g. "$ORDERS_DB" for a value from the environment); NULL:
   * the SQLite path, or PostgreSQL's host/port/database. */
  const char *connection_label;
  /* Queue kinds only (NULL otherwise, and for a queue whose consumers
   * delete what they take). */
  const char *state_column; /**< the column holding a message's state */
  /** Comma-separated states of messages still waiting for a consumer
   * ("pending,retry"); the only ones a fix rewrites. Default "pending".
   * Compared with the state column's text, as bound parameters. */
  const char *pending_states;
  /** Comma-separated states of messages a consumer holds ("processing"):
   * counted as in flight, left alone and revisited; NULL: none. */
  const char *in_flight_states;
  /** What the record column must hold; checked by the opens. */
  store_values values;
  /** PostgreSQL: 1 when `connection` came from the environment
   * (connection_env, --postgres-env), which may carry a password (keyword
   * or URI): libpq uses it, and messages show only host, port and
   * database. 0: a connection string holding a password is refused (a
   * command line or a config file is no place for one). */
  int password_allowed;
  /** Kafka topics only (NULL otherwise): topic, start, properties; the
   * bootstrap servers are `connection`. */
  const struct store_kafka *kafka;
} store_target;

/** Where a Kafka scan starts in each partition. */
typedef enum store_kafka_start {
  /** From the low watermark: every message the topic still holds. */
  STORE_KAFKA_FROM_BEGINNING = 0,
  /** From a consumer group's committed offsets: what its consumers have
   * not read yet. A partition without one is read from the beginning. */
  STORE_KAFKA_FROM_GROUP = 1,
  /** From the first message whose timestamp is at or after `since_ms`. */
  STORE_KAFKA_FROM_TIME = 2
} store_kafka_start;

/**
 * A Kafka topic target. Reading is read-only by construction: the adapter
 * never subscribes, never joins a group and never commits. Its consumer
 * has no group.id; it starts each partition at an offset of its own
 * choosing and stops at the partition's high watermark taken at start, so
 * that a scan ends although producers keep writing. A group's committed
 * offsets are fetched (OffsetFetch) by a second client that sets the
 * group.id for that request only, never subscribes and is destroyed
 * without a consumer close.
 */
typedef struct store_kafka {
  const char *topic;
  store_kafka_start start;
  const char *group; /**< STORE_KAFKA_FROM_GROUP: the group */
  int64_t since_ms;  /**< STORE_KAFKA_FROM_TIME: Unix milliseconds */
  /** librdkafka properties (SASL, SSL, ...), as n_properties pairs:
   * properties[2i] the name, properties[2i+1] the value. Values of
   * secret properties (store_kafka_property_is_secret) never appear in a
   * message. group.id and the properties that would commit are refused. */
  const char *const *properties;
  size_t n_properties;
  /** How long a broker may take to answer before the scan fails with
   * STORE_EIO (metadata, watermarks, offsets, and waiting for messages). */
  int timeout_ms;
  /** Per partition number p < n_start_at: an offset to start p at instead
   * of where `start` says, or -1 for none (a resumed fix: the offset after
   * the last message already copied). An offset below the partition's low
   * watermark is an error (STORE_EIO), never a silent gap. NULL: none. */
  const int64_t *start_at;
  size_t n_start_at;
  /** The start_from (store_partition) of such a partition; static. */
  const char *start_at_label;
} store_kafka;

/** 1 for a librdkafka property whose value is a secret (a password, a
 * private key, an OAuth secret): never taken from a command line, never
 * printed. */
int store_kafka_property_is_secret(const char *name);

/** The longest state (of pending_states, in_flight_states) a queue target
 * takes, in bytes. States are bound as parameters: any bytes but NUL, and
 * no comma, which separates them in a list. */
#define STORE_STATE_MAX 63

/** Error classes, which the CLI maps to exit codes. */
typedef enum store_status {
  STORE_OK = 0,
  STORE_EUSAGE =
      -1, /**< bad target: no such table/column, no key, bad name (exit 2) */
  STORE_EIO =
      -2, /**< connection refused, I/O, server error mid-scan (exit 3) */
  STORE_ENOMEM = -3, /**< out of memory (exit 3) */
  STORE_EBUSY = -4   /**< a write gave way to production: lock or busy
                          timeout; nothing changed, retry later */
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
  /**
   * PostgreSQL reads (store_open): the session's statement_timeout, in
   * milliseconds; 0: none. The session sets its own, so that a limit a
   * role or database carries (ALTER ROLE ... SET statement_timeout) does
   * not cut a long scan short. A read that runs out of it fails with
   * STORE_EBUSY (exit 4: incomplete). Writers take theirs from
   * store_write_options.
   */
  int statement_timeout_ms;
} store_open_options;

/** The most columns a key may have. */
#define STORE_KEY_COLUMNS_MAX 16

/** The longest key column list (store_key()), NUL included. */
#define STORE_KEY_NAME_MAX (STORE_KEY_COLUMNS_MAX * 64)

/*
 * How a row's key reads (store_row.key, store_page_row.key, store_swap.key,
 * checkpoints and backup rows): a NUL-terminated text, whose form the
 * number of its parts says.
 *
 *  - 1 part, a one-column key: the value's text, as the database spells it
 *    ("42", "acme").
 *  - 2 or more parts: a JSON array of the values in the key's column order,
 *    integers and reals as numbers, everything else as strings
 *    (`["acme",42]`). The adapter that made it reads it back and binds each
 *    part with its own type (SQLite: storage class; PostgreSQL: the
 *    column's type).
 *  - 0 parts: no key names the row (a table without one, or a key with a
 *    NULL part): the text is the row's position, "rowid 17" (SQLite) or
 *    "ctid (0,1)" (PostgreSQL). Positions are never written through.
 */

/** One row; every pointer is borrowed until the next store_next(). */
/**
 * Who wrote a record, as the target itself says it outside the record's
 * bytes (Kafka message headers: rollsafe-flag, rollsafe-variant,
 * rollsafe-writer, rollsafe-write-time). Strings NUL-terminated, NULL when
 * absent.
 */
typedef struct store_provenance {
  const char *flag_key;
  const char *variant;
  const char *writer_id;
  int64_t write_time_us; /**< 0: unknown */
} store_provenance;

/** One row; every pointer is borrowed until the next store_next(). */
typedef struct store_row {
  const char *key; /**< the key's text form, NUL-terminated (see above) */
  size_t key_len;
  unsigned key_parts;   /**< 1, the key's column count, or 0: a position */
  const uint8_t *value; /**< the record bytes; NULL when the column is NULL */
  size_t value_len;
  int value_is_null;
  /* Set by adapters that have them; store_next() zeroes them first. */
  int has_partition; /**< Kafka: the row's partition is `partition` */
  int32_t partition;
  /** The target's own provenance of the row (Kafka headers), or NULL. */
  const store_provenance *provenance;
  /** A sampled store (store_open_sampled): the row's cluster, the unit
   * the sample drew it with (PostgreSQL: its block, with its partition;
   * SQLite: its window's stratum). Rows of one cluster come one after
   * another. */
  int has_cluster;
  int64_t cluster;
  /** Set by a store told store_defer_int_keys(): the key is the one
   * integer key_int, not yet spelled; `key` is NULL and `key_len` 0 until
   * store_row_key() spells it into key_text. */
  int key_deferred;
  int64_t key_int;
  char key_text[24];
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
 * The key the store names rows by: its columns comma-separated, as
 * resolved at open (the primary key when the target named none); "" when
 * the table has none and rows are named by position. Borrowed.
 */
const char *store_key(const store *s);

/** The number of the key's columns; 0 when rows are named by position. */
unsigned store_key_parts(const store *s);

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
 * Asks the store to leave a key of one integer column unspelled in the
 * rows store_next() returns (store_row.key_deferred), for a caller that
 * needs the text of few keys: it calls store_row_key() for those. A store
 * that cannot defer (every kind but SQLite and PostgreSQL tables and
 * queues, and a store reading ahead) spells every key as before. Call
 * before store_scan().
 */
void store_defer_int_keys(store *s);

/**
 * The key's text form (see store_row.key), spelling a deferred key into
 * @p row itself; *@p len its length. Borrowed: valid while @p row is.
 */
const char *store_row_key(store_row *row, size_t *len);

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

/** How a sampled store (store_open_sampled) chose its rows. */
typedef struct store_sample_info {
  /** The probability that any one row of the selection is read: the
   * percent over 100 (PostgreSQL: of each block), or the share of the
   * rowid span the SQLite windows cover. 0: the store is not sampled. */
  double fraction;
  /** How, in words, e.g. "TABLESAMPLE SYSTEM (10) REPEATABLE (42)". */
  char method[160];
  /** The rows the sample was drawn from, from the database's statistics
   * (PostgreSQL: the reltuples of the heaps of a table read without a
   * condition, when each has them); -1 when
   * unknown: the caller estimates it from the sample and the fraction. */
  int64_t population;
  /** How many relations draw their clusters alike: a PostgreSQL scan of
   * a partitioned or inherited table reads the same block numbers in each
   * of its heaps (REPEATABLE draws them from one seed), so their blocks of
   * one number are not independent. 1 otherwise. */
  unsigned groups;
} store_sample_info;

/** How @p s samples its rows; fraction 0 when it reads every row. */
void store_sample_of(const store *s, store_sample_info *out);

/** How a stream file ends when its last record cannot be read whole. */
typedef struct store_framing {
  uint64_t index;  /**< the record's index (0-based) */
  uint64_t offset; /**< byte offset of its length prefix */
  uint64_t have;   /**< bytes present after the prefix */
  uint64_t need;   /**< bytes the prefix announces; 0: the prefix itself is
                        cut short or malformed */
  char what[192];  /**< one line: what is wrong, where */
} store_framing;

/**
 * After a scan of a stream file: 1 with @p out filled when the file ended
 * in a truncated or malformed record (the scan stopped there), else 0.
 * Tables and queues always return 0.
 */
int store_framing_issue(const store *s, store_framing *out);

/** One partition of a Kafka scan. */
typedef struct store_partition {
  int32_t partition;
  int64_t start_offset; /**< the first offset the scan reads */
  int64_t end_offset;   /**< the high watermark at start: it stops before */
  /** Why it starts there (static text): "committed", "beginning",
   * "no committed offset: beginning", "committed offset below the low
   * watermark: beginning", "time", "no message at or after the time". */
  const char *start_from;
  int64_t first_offset, last_offset; /**< read; -1 when none was */
  uint64_t messages;                 /**< messages read */
} store_partition;

/**
 * After (or during) a scan of a Kafka topic: its partitions, in partition
 * order, borrowed until store_close(). Other kinds: *n = 0.
 */
void store_partitions(const store *s, const store_partition **out, size_t *n);

/**
 * Makes a store opened read-only read its scan's rows ahead, on a thread of
 * its own, while the caller works on the rows it has (src/store/prefetch.c).
 * The rows, their order, errors and interruption are those of the store
 * itself; a row stays valid until the next call, as ever. On success *s is
 * a new store that owns the old one (store_close closes both); a writer, a
 * stream file, or no memory for it, leaves *s as it was.
 */
void store_prefetch(store **s);

/**
 * A part of a table for one job of a parallel scan (--jobs): SQLite rows
 * whose rowid is in [lo, hi), PostgreSQL rows whose ctid is in blocks
 * [lo, hi). has_lo 0: from the start; has_hi 0: to the end. The ranges of
 * one split cover the table once, and read in their order they give the
 * rows in the order of a scan of the whole table.
 */
typedef struct store_range {
  int64_t lo, hi;
  int has_lo, has_hi;
} store_range;

/** The most ranges store_split makes. */
#define STORE_RANGES_MAX 256

/**
 * Splits the table of a store opened by store_open (no scan started) into
 * at most @p n ranges (n <= STORE_RANGES_MAX) of about the same size, in
 * scan order. *n_out is 1 (one range, the whole table) when the target
 * cannot be split in an order-preserving way: a stream file, a topic, a
 * queue with a state column, a --where (it may make the database read in
 * an index's order), a SQLite WITHOUT ROWID table, a PostgreSQL table that
 * is not a plain heap table. Reads only the table's bounds (min/max rowid,
 * the relation's size in blocks).
 *
 * @param[out] out room for @p n ranges
 * @return STORE_OK or a negative store_status with @p err filled
 */
int store_split(store *s, unsigned n, store_range *out, size_t *n_out,
                store_error *err);

/**
 * Restricts the scan of a store opened by store_open (no scan started) to
 * @p r, one of the ranges store_split made on the same target.
 * @return STORE_OK, or STORE_EUSAGE when the target cannot be split
 */
int store_set_range(store *s, const store_range *r, store_error *err);

/**
 * store_open_snapshot, reading only a random sample of the rows (see
 * store_sample; store_sample_of says how it was drawn). @p sample NULL:
 * store_open_snapshot. Tables and queues only: a stream file or a topic,
 * and a table the adapter cannot sample (a SQLite WITHOUT ROWID table),
 * fail with STORE_EUSAGE. A sampled store is never split (store_split
 * gives one range).
 */
int store_open_sampled(store **out, const store_target *target,
                       const store_open_options *options, const char *snapshot,
                       const store_sample *sample, store_error *err);

/**
 * store_open, reading a snapshot another store exported
 * (store_export_snapshot): a PostgreSQL store's transaction imports it
 * (SET TRANSACTION SNAPSHOT), so that the jobs of one parallel scan read
 * the table as of one instant. @p snapshot NULL or "", and other kinds:
 * store_open.
 */
int store_open_snapshot(store **out, const store_target *target,
                        const store_open_options *options, const char *snapshot,
                        store_error *err);

/**
 * PostgreSQL: exports the snapshot of a store opened by store_open (no
 * scan running) for other stores to import (store_open_options.snapshot),
 * valid while this store stays open. Other kinds: @p out is "" (nothing to
 * share: each job reads the file as it is).
 *
 * @param[out] out the snapshot's name, NUL-terminated
 * @return STORE_OK or a negative store_status with @p err filled (the
 *         store can then only be closed)
 */
int store_export_snapshot(store *s, char *out, size_t cap, store_error *err);

/** Closes the connection and frees the store; NULL is allowed. */
void store_close(store *s);

/* ---- writing: fix and restore --------------------------------------------
 *
 * `rollsafe fix` rewrites records in place and `restore` puts originals
 * back; DESIGN.md's safety promises are the specification. What an adapter
 * guarantees:
 *
 *  - Every write is a compare-and-swap on the old bytes: `UPDATE ... SET
 *    column = new WHERE key = k AND column = old`. A row that changed since
 *    it was read is a conflict, never overwritten.
 *  - One batch is one transaction holding its swaps, their backup rows and
 *    the run's checkpoint: after a crash every row holds its old bytes or
 *    its new bytes, and the checkpoint says which batches committed.
 *  - The run and backup tables live in the target's own database: in
 *    PostgreSQL the schema `rollsafe` (tables rollsafe.runs and
 *    rollsafe.backup), in SQLite the tables rollsafe_runs and
 *    rollsafe_backup of the same file. They are created on first use,
 *    and the columns later versions added to the runs table
 *    (store__run_columns) are added to a table an earlier rollsafe made
 *    (ALTER TABLE ... ADD COLUMN: nothing it wrote changes).
 *  - Writers yield: PostgreSQL sessions set lock_timeout and
 *    statement_timeout; SQLite batches use BEGIN IMMEDIATE and a busy
 *    handler. Every step is retried while it gives way (see
 *    store_write_options); one that could not get its locks within the
 *    lock timeout fails with STORE_EBUSY and changes nothing.
 *  - PostgreSQL: the schema rollsafe must be rollsafe's own (owned by the
 *    role the writer connects as, holding nothing else, changeable by no
 *    other role); otherwise store_open_writer() fails with STORE_EUSAGE
 *    naming what is wrong (see pg_trust.c).
 */

/**
 * Limits of a writing session.
 *
 * Waiting for locks: a writing store takes its turn with production and
 * gives up only when a step (opening, creating its tables, the run row, a
 * page read, a batch) has not got its locks for lock_timeout_ms. In SQLite
 * each attempt waits in a busy handler that polls every few milliseconds
 * (SQLite's own backs off to 100 ms, and a writer that holds the lock most
 * of the time then never lets it go at the right moment); in PostgreSQL
 * each statement waits at most min(1 s, lock_timeout_ms) (the session's
 * lock_timeout), since a statement waiting for a lock makes every later
 * request for that lock queue behind it. A step that gave way is rolled
 * back and tried again, after a jittered backoff, until lock_timeout_ms
 * has passed since it began; then it fails with STORE_EBUSY (exit 4),
 * having changed nothing.
 */
typedef struct store_write_options {
  int lock_timeout_ms;      /**< how long a step may wait for its locks */
  int statement_timeout_ms; /**< PostgreSQL statement_timeout */
  /** Set (by a signal handler) when the command is asked to stop: a step
   * waiting for a lock stops waiting and fails with STORE_EBUSY. NULL:
   * never. */
  volatile sig_atomic_t *interrupted;
} store_write_options;

/** The default lock timeout: a minute of waiting for a turn. */
#define STORE_LOCK_TIMEOUT_MS_DEFAULT 60000

#define STORE_WRITE_OPTIONS_INIT \
  { STORE_LOCK_TIMEOUT_MS_DEFAULT, 30000, NULL }

/**
 * Opens the target for writing: the same checks as store_open(), then a
 * read-write session with the write options applied, outside any
 * transaction. Creates the run and backup tables if they are missing.
 */
int store_open_writer(store **out, const store_target *target,
                      const store_open_options *options,
                      const store_write_options *write, store_error *err);

/** The longest key text a checkpoint holds, NUL included; a fix refuses a
 * key longer than this rather than resume from a cut one. */
#define STORE_CHECKPOINT_MAX 4096

/** The longest settings text (store_run.settings) a run keeps, NUL
 * included. */
#define STORE_RUN_SETTINGS_MAX 65536

/**
 * One target's part of a run, as the runs table keeps it: one row per run
 * and target. A run (one `fix` invocation) has one id across its targets;
 * each target's database keeps the rows of its own targets. The row's own
 * id, `run_id`, is the run's id for the first target of the run in that
 * database and the run's id followed by "/2", "/3", ... for the others
 * (backup rows name their row by it); `run` is the run's id for every
 * target. Strings owned by the caller.
 *
 * Rows written by an earlier rollsafe have no `run` (it reads as `run_id`),
 * no `settings` ("") and the later counts at 0 (`remaining` -1).
 */
typedef struct store_run {
  char run_id[40];  /**< the row's id, e.g. "20261126T103000Z-3f9a01" */
  char command[16]; /**< "fix" or "restore" */
  char target[128]; /**< the target's name */
  char table[160];  /**< as given: table or schema.table */
  char key[STORE_KEY_NAME_MAX]; /**< the key's columns, comma-separated */
  char column[64];
  unsigned to_version;
  char status[16]; /**< "running", "done", "interrupted", "failed",
                         "incomplete" (passes or --deadline ran out) */
  int has_checkpoint;
  /** The last key of the last committed batch, in its text form. */
  char checkpoint[STORE_CHECKPOINT_MAX];
  int64_t started_us, updated_us;
  /** Counts so far: rows swapped, conflicts, lossy swaps, impossible and
   * corrupt records left alone, rows restored (by every restore). */
  int64_t converted, conflicts, lossy, impossible, corrupt, restored;

  /* Columns added to the runs table by later versions (store__run_columns):
   * read as NULL (empty, 0, -1) from rows an earlier rollsafe wrote. */

  /** The run's id, shared by its targets. */
  char run[40];
  /** What resuming and restoring this part need, as the command that made
   * it recorded it (for the CLI, a JSON object); opaque to the store. */
  char settings[STORE_RUN_SETTINGS_MAX];
  /** The fix's pass in progress (1, 2, ...; 0 as 1), and the rows this
   * pass found in conflict or in flight so far (another pass is due). */
  int64_t pass, pass_unsettled;
  /** Rows read, and records left alone: lossy without --allow-lossy, new
   * bytes that failed the check, undetermined, no key; queue messages in
   * flight when met and consumed while the fix ran. */
  int64_t rows_read, lossy_skipped, check_failed, undetermined, unnamed,
      in_flight, gone;
  /** After the verification pass: what the reader still cannot read, and
   * what is still undetermined; -1 before it. */
  int64_t remaining, remaining_undetermined;
  /** The latest restore of this part: "" (none), "running", "done",
   * "interrupted", "failed", "incomplete" (messages in flight); its
   * checkpoint (the last backup key of its last committed batch); how
   * many restores started; and its own counts (`restored` counts every
   * restore's). */
  char restore_status[16];
  int has_restore_checkpoint;
  char restore_checkpoint[STORE_CHECKPOINT_MAX];
  int64_t restores, restore_restored, restore_conflicts, restore_in_flight,
      restore_gone;
} store_run;

/** Inserts a new run part (status "running"); STORE_EUSAGE when a row
 * with its run_id exists. */
int store_run_create(store *s, const store_run *run, store_error *err);

/**
 * Reads the run row whose own id is @p run_id. @return STORE_OK,
 * STORE_EUSAGE when there is no such run (the message says so), or another
 * store_status.
 */
int store_run_load(store *s, const char *run_id, store_run *out,
                   store_error *err);

/** Saves a run row: status, checkpoints and counts (outside any batch);
 * STORE_OK or error. */
int store_run_update(store *s, const store_run *run, store_error *err);

/**
 * Every run row of this database, oldest first.
 * @param[out] out a malloc'd array (free()), NULL when there are none
 */
int store_run_list(store *s, store_run **out, size_t *n, store_error *err);

/**
 * The rows of run @p run (its id, shared by its targets) in this database,
 * one per target, oldest first: a run id an earlier rollsafe made names its
 * one row.
 * @param[out] out a malloc'd array (free()), NULL when there are none
 */
int store_run_parts(store *s, const char *run, store_run **out, size_t *n,
                    store_error *err);

/**
 * Opens the database of @p db (its kind and connection; table, key and
 * column are not used) for its runs only: store_run_load, store_run_list,
 * store_run_parts and store_purge_run. Nothing is created: a database
 * without rollsafe's tables has no runs. Runs tables of an earlier
 * rollsafe are read as they are.
 */
int store_open_runs(store **out, const store_target *db,
                    const store_open_options *options,
                    const store_write_options *write, store_error *err);

/** One row of a page, borrowed until the next store_page() call (the
 * second next one, when store_starts_batches()). */
typedef struct store_page_row {
  const char *key; /**< text form, NUL-terminated (see store_row) */
  unsigned key_parts;
  const uint8_t *value;
  size_t value_len;
  int value_is_null;
} store_page_row;

/**
 * Keyset pagination, in the key's own order: at most @p limit rows whose key
 * is greater than @p after (NULL: from the first), each in its own short
 * read, never a long transaction. @p rows points into the store until the
 * next call.
 * @return the number of rows (0 at the end), or a negative store_status
 */
int store_page(store *s, const char *after, size_t limit,
               const store_page_row **rows, store_error *err);

/**
 * Read-ahead of pages: when store_page() returns a full page, the store
 * already asks for the next one (after its last key, the same limit), so
 * that the server reads it while the caller works on this one; the next
 * store_page() for it takes it, in its own READ ONLY transaction as ever.
 * @p on 1: for a caller that does nothing else with the store meanwhile
 * (the verification pass); any other call drops what was read ahead. @p on
 * 2: beside a fix's batches (store_fix_batch_start), on a second
 * connection of the same parameters that only reads pages; where that
 * connection cannot be had, or fails, pages are read as ever. @p on 0:
 * off. Stores without it read as ever.
 */
void store_read_ahead(store *s, int on);

/**
 * Rows of the table that no key value names, because a part of their key
 * is NULL (SQLite allows NULL in a rowid table's non-INTEGER primary key,
 * and in a unique index): at most @p limit whose position comes after
 * @p after (0: from the first), in position order, keys given as positions
 * (key_parts 0). A fix reads them to report them, never to rewrite them.
 * *last is the position of the last row returned. Stores whose keys
 * cannot be NULL return 0.
 * @return the number of rows (0 at the end), or a negative store_status
 */
int store_unnamed_page(store *s, int64_t after, size_t limit,
                       const store_page_row **rows, int64_t *last,
                       store_error *err);

/** One compare-and-swap of a batch. */
typedef struct store_swap {
  const char *key;
  const uint8_t *expect; /**< the bytes read (the CAS condition) */
  size_t expect_len;
  const uint8_t *value; /**< the bytes to write */
  size_t value_len;
  int swapped; /**< out: 1 written, 0 conflict (row changed or gone) */
  /** out, queue kinds only: what became of a swap that did not happen
   * (store_restore_check(): every kind, see there) */
  int outcome;
  /** out: a swap that did not happen found the row holding `value`
   * already (a restore: the original bytes are back). Set where the
   * adapter read the row: store_restore_check(), and SQLite batches. */
  int holds_value;
  /** in, a fix: the new bytes lose something (--allow-lossy); a swap that
   * happens is added to the run's `lossy` as well as its `converted`. */
  int lossy;
} store_swap;

/** store_swap.outcome of a queue target. Tables leave it 0: a swap that
 * did not happen is a conflict. */
typedef enum store_swap_outcome {
  STORE_SWAP_CONFLICT = 0, /**< still pending, but its bytes changed */
  STORE_SWAP_DONE,         /**< swapped */
  STORE_SWAP_IN_FLIGHT,    /**< a consumer holds it (a row lock, or an
                                in-flight state): left alone, revisit */
  STORE_SWAP_GONE          /**< consumed: deleted, or no longer pending */
} store_swap_outcome;

/*
 * Queue kinds: store_fix_batch() runs one batch as for a table, but never waits
 * on a message a consumer holds. PostgreSQL locks the batch's rows with `FOR
 * UPDATE SKIP LOCKED`; a row it could not lock is in flight. SQLite has no row
 * locks: a message in one of the target's in-flight states is in flight. A
 * message deleted, or moved out of the pending states, is gone. Each swap's
 * `outcome` says which; only real conflicts are added to the run's `conflicts`.
 * store_restore_batch() does the same for a restore.
 */

/**
 * Runs one batch of a fix, in one transaction: every swap by CAS; for each
 * swap that happened a backup row (run id, target, key, expect as the
 * original bytes, value as the new bytes, time; a key the run swaps again
 * keeps the bytes its latest swap replaced, so that a restore never undoes
 * a writer's change made between two passes); then the run's row (@p run,
 * whose checkpoint is the batch's last key). @p run's counts are the totals
 * before the batch's swaps (what the batch left alone counted already); the
 * adapter adds the batch's outcome in the same transaction: swaps that
 * happened to `converted` (and `lossy` for the lossy ones), conflicts to
 * `conflicts`, queue messages in flight to `in_flight`, consumed ones to
 * `gone`, and conflicts and messages in flight to `pass_unsettled`. The
 * caller adds the same from the swaps once the call returns STORE_OK. All
 * or nothing: on any error, nothing of the batch is visible.
 * @return STORE_OK, STORE_EBUSY (gave way to production; retry later), or
 *         another store_status
 */
int store_fix_batch(store *s, const store_run *run, store_swap *swaps, size_t n,
                    store_error *err);

/**
 * 1 when the store runs a fix batch in two halves (PostgreSQL), so that the
 * caller plans its next page while the server works on a batch; 0 when only
 * store_fix_batch() does (the caller then uses it alone). Such a store also
 * keeps a page's rows until the second store_page() call after it, so that
 * a batch started on one page may wait while the next page is read.
 */
int store_starts_batches(const store *s);

/**
 * The first half of store_fix_batch(): checks the batch, begins its
 * transaction and sends its compare-and-swaps, without waiting for them.
 * Until store_fix_batch_finish() no other call may be made on @p s; @p run
 * and @p swaps stay the caller's and must live until then. An error here
 * leaves nothing of the batch and no transaction open, and
 * store_fix_batch_finish() is not called.
 * @return STORE_OK (sent), STORE_EUSAGE when !store_starts_batches(), or
 *         another store_status
 */
int store_fix_batch_start(store *s, const store_run *run, store_swap *swaps,
                          size_t n, store_error *err);

/**
 * The second half: waits for the swaps' answer, writes the run's row and
 * commits, exactly as store_fix_batch() does, with the same outcomes and
 * return values; but a batch that gave way (STORE_EBUSY) is not tried
 * again here: the caller runs it again with store_fix_batch().
 */
int store_fix_batch_finish(store *s, store_error *err);

/**
 * Backup rows of a run, in key order, at most @p limit with key > @p after.
 * For each: expect = the bytes the fix wrote (new), value = the original
 * bytes (old), ready to hand to store_restore_batch(). Borrowed until the
 * next call.
 * @return the number of rows, 0 at the end, or a negative store_status
 */
int store_backup_page(store *s, const char *run_id, const char *after,
                      size_t limit, store_swap **rows, store_error *err);

/**
 * Runs one batch of a restore: every swap by CAS (back to the original
 * bytes where the row still holds what the fix wrote), and the run's row
 * (@p run: its restore checkpoint, and its counts before the batch), in
 * one transaction. The adapter adds its swaps to `restored` and
 * `restore_restored`, conflicts to `restore_conflicts`, and for a queue
 * messages in flight to `restore_in_flight` and consumed ones to
 * `restore_gone`; the fix's own counts are left alone. Restoring twice
 * changes nothing: the second time no row holds the fixed bytes any more.
 */
int store_restore_batch(store *s, const store_run *run, store_swap *swaps,
                        size_t n, store_error *err);

/**
 * The dry run of store_restore_batch(): reads the current bytes (and, for a
 * queue, the state) of each row named by @p swaps, as store_backup_page()
 * gives them, and says per swap what store_restore_batch() would do with
 * it, writing and locking nothing. Each swap's `outcome` is
 * STORE_SWAP_DONE (the row still holds `expect`, the bytes the fix wrote:
 * it would be restored), STORE_SWAP_CONFLICT (the row holds other bytes,
 * or, for a table, is gone), STORE_SWAP_IN_FLIGHT (a queue message in an
 * in-flight state) or STORE_SWAP_GONE (a queue message deleted, or no
 * longer pending); `holds_value` is 1 when a conflicting row holds `value`
 * (already restored); `swapped` stays 0. SQLite reads in one short read
 * transaction; PostgreSQL in one statement of a READ ONLY transaction,
 * which takes no row lock, so a message a consumer holds by its row lock
 * alone is judged by its state.
 * @return STORE_OK, STORE_EBUSY (a writer's lock kept the read out; retry),
 *         or another store_status
 */
int store_restore_check(store *s, store_swap *swaps, size_t n,
                        store_error *err);

/** Deletes the backup rows and the run row of run row @p run_id (a run
 * part's own id): `rollsafe purge`. */
int store_purge_run(store *s, const char *run_id, int64_t *deleted,
                    store_error *err);

/**
 * How many times a step of this writer gave way to production (a lock not
 * obtained in one attempt) and was tried again; 0 for a reader.
 */
uint64_t store_busy_retries(const store *s);

/**
 * What stopped a writer's last failed step from outside the run, when
 * something did: the step failed with STORE_EBUSY (exit 4) and was not
 * retried, nothing of it was written, and the run is resumable from its
 * last committed batch once the cause is gone.
 */
typedef enum store_fault {
  STORE_FAULT_NONE = 0,
  /** The connection to the server was lost (a restart, a failover, the
   * network): nothing more can be written on it, and a COMMIT whose answer
   * was lost may or may not have committed, so the run's own row in the
   * database is the truth (its batch, backups and counts commit together),
   * never the counts this process holds. */
  STORE_FAULT_CONNECTION_LOST,
  /** The database's disk is full (SQLite SQLITE_FULL or ENOSPC; PostgreSQL
   * SQLSTATE 53100): the failed step was rolled back. */
  STORE_FAULT_DISK_FULL
} store_fault;

/** The fault of the last failed step (STORE_FAULT_NONE when none, and for
 * a NULL store). */
store_fault store_last_fault(const store *s);

/**
 * After a step failed with STORE_FAULT_CONNECTION_LOST: connects again as
 * the store was opened (its session settings and trust checks), takes
 * back run @p run_id's lease (NULL: none) and clears the fault; while the
 * server is not back, tried again with backoff until the lock timeout.
 * What the lost step did is not known here: the caller reads it from the
 * database (the run's row).
 * @return STORE_OK; STORE_EBUSY (the server not back in time, or another
 *         process holds the run's lease now); STORE_EUSAGE for a store
 *         without connections (SQLite, files, topics); another
 *         store_status
 */
int store_reconnect(store *s, const char *run_id, store_error *err);

/* ---- run leases ----------------------------------------------------------
 *
 * One process works on a run at a time, and a run whose process is gone
 * (killed, crashed, a second Ctrl-C) never looks as if it were running. A
 * writer takes a run's lease before it creates, resumes or restores the
 * run, and holds it until it releases it or is closed. PostgreSQL: a
 * session-level advisory lock, which ends with the session however the
 * process ends. SQLite: a row of rollsafe_leases naming the process (host,
 * process id and its start time) with a heartbeat that the process renews
 * with its batches; a lease whose process is gone (same host: the process
 * no longer exists; another host: the heartbeat is older than the row's
 * expiry) is free.
 *
 * store_run_load() and store_run_list() report a run whose status is
 * "running" but whose lease nobody holds as "interrupted": stopped where
 * its checkpoint says, and resumable. The status stored in the table is
 * left as it was.
 */

/**
 * Takes run @p run_id's lease for this writer.
 * @return STORE_OK; STORE_EBUSY when another live process holds it (the
 *         message names it); another store_status
 */
int store_run_lease(store *s, const char *run_id, store_error *err);

/** Gives run @p run_id's lease back; nothing when this writer holds none.
 * store_close() gives back what is still held. */
void store_run_release(store *s, const char *run_id);

/* ---- write hooks ---------------------------------------------------------
 */

/** Something the database runs or applies when a fix updates the target's
 * rows, with the rights of the role the fix connects as. */
typedef struct store_hook {
  char kind[16];    /**< "trigger", "rule" or "policy" */
  char name[128];   /**< its name */
  char table[200];  /**< the table it is on (a partition or child too) */
  char detail[320]; /**< one line: when it fires, what runs, whose it is */
} store_hook;

/**
 * The triggers, rules and row-level security policies an UPDATE of the
 * target would fire or apply (PostgreSQL; other kinds have none to
 * report), for the dry run to list. On a reader, call it before
 * store_scan().
 * @param[out] out malloc'd array (free()), NULL when there are none
 */
int store_write_hooks(store *s, store_hook **out, size_t *n, store_error *err);

#endif
