/*
 * src/store/store_impl.h: what store.c and each adapter share. An adapter
 * embeds `struct store` as its first member and supplies its operations.
 */
#ifndef RS_STORE_IMPL_H
#define RS_STORE_IMPL_H

#include "store.h"

typedef struct store_ops {
  int64_t (*estimate_rows)(store *s);
  int (*scan)(store *s, store_error *err);
  int (*next)(store *s, store_row *row, store_error *err);
  void (*cancel)(store *s);
  void (*interrupt)(store *s); /* async-signal-safe */
  void (*close)(store *s);
  /* Writing (NULL for a store opened read-only). */
  int (*run_create)(store *s, const store_run *run, store_error *err);
  int (*run_load)(store *s, const char *run_id, store_run *out,
                  store_error *err);
  int (*run_update)(store *s, const store_run *run, store_error *err);
  int (*run_list)(store *s, store_run **out, size_t *n, store_error *err);
  int (*run_parts)(store *s, const char *run, store_run **out, size_t *n,
                   store_error *err);
  int (*page)(store *s, const char *after, size_t limit,
              const store_page_row **rows, store_error *err);
  int (*unnamed_page)(store *s, int64_t after, size_t limit,
                      const store_page_row **rows, int64_t *last,
                      store_error *err); /* NULL: keys are never NULL */
  int (*fix_batch)(store *s, const store_run *run, store_swap *swaps, size_t n,
                   store_error *err);
  /* Optional (store_fix_batch_start): fix_batch in two halves, the server
   * working on the batch between them. */
  int (*fix_batch_start)(store *s, const store_run *run, store_swap *swaps,
                         size_t n, store_error *err);
  int (*fix_batch_finish)(store *s, store_error *err);
  /* Optional (store_read_ahead). */
  void (*read_ahead)(store *s, int on);
  int (*backup_page)(store *s, const char *run_id, const char *after,
                     size_t limit, store_swap **rows, store_error *err);
  int (*restore_batch)(store *s, const store_run *run, store_swap *swaps,
                       size_t n, store_error *err);
  int (*restore_check)(store *s, store_swap *swaps, size_t n, store_error *err);
  int (*purge_run)(store *s, const char *run_id, int64_t *deleted,
                   store_error *err);
  /* Stream files only (NULL otherwise). */
  int (*framing)(const store *s, store_framing *out);
  /* Kafka topics only (NULL otherwise). */
  void (*partitions)(const store *s, const store_partition **out, size_t *n);
  /* Run leases (writers; see store.h). lease_held: 1 when a live process
   * (this one included) holds run_id's lease, 0 when none does, or a
   * negative store_status. */
  int (*lease_take)(store *s, const char *run_id, store_error *err);
  void (*lease_release)(store *s, const char *run_id);
  /* Optional: connects again after STORE_FAULT_CONNECTION_LOST and takes
   * back @p run_id's lease (store_reconnect). */
  int (*reconnect)(store *s, const char *run_id, store_error *err);
  int (*lease_held)(store *s, const char *run_id, store_error *err);
  /* What an UPDATE of the target fires (NULL: nothing to report). */
  int (*write_hooks)(store *s, store_hook **out, size_t *n, store_error *err);
  /* Ranges of a read-only scan (store_split, store_set_range); NULL: the
   * target is read whole. */
  int (*split)(store *s, unsigned n, store_range *out, size_t *n_out,
               store_error *err);
  int (*set_range)(store *s, const store_range *r, store_error *err);
  int (*export_snapshot)(store *s, char *out, size_t cap, store_error *err);
} store_ops;

struct store {
  const store_ops *ops;
  char description[256];        /* safe to print: never a password */
  char key[STORE_KEY_NAME_MAX]; /* the key's columns, resolved at open */
  unsigned key_parts;           /* their number; 0: rows named by position */
  /* Writers: how long a step may keep giving way (store_write_options),
   * what asks it to stop, and how often steps were tried again. Set by
   * store.c once the adapter has opened the store. */
  int lock_timeout_ms;
  volatile sig_atomic_t *interrupted;
  uint64_t busy_retries;
  /* Set by an adapter whose step failed with STORE_EBUSY for a reason
   * that waiting does not change (a statement_timeout): not retried. */
  int busy_final;
  /* A sampled store (store_open_sampled): how, set at open. */
  store_sample_info sample;
  /* Set by an adapter whose step failed from outside the run (a
   * store_fault: the connection lost, the disk full); it sets busy_final
   * too. Stays set: the store is not used for the run any more. */
  int fault;
  /* Set by store_defer_int_keys: an adapter that can leaves a key of one
   * integer column unspelled (store_row.key_deferred). */
  int defer_int_keys;
};

/* v in decimal, as both databases write an integer as text, NUL-ended
 * (at most 20 characters and the NUL); its length. */
size_t store__int64_text(char out[24], int64_t v);

/* Splits [min, max] into at most @p n ranges of about the same width, in
 * order: the first has no lower bound, the last no upper one. */
void store__split_span(int64_t min, int64_t max, unsigned n, store_range *out,
                       size_t *n_out);

/* Seconds on the monotonic clock. */
double store__now(void);

/* Sleeps @p seconds (> 0), resuming after signals. */
void store__sleep(double seconds);

/* Uniform in [0, 1), from a source seeded once per process: for jitter,
 * so that processes started together do not retry in step. */
double store__random_unit(void);

/*
 * Splits a target's key (@p spec, "tenant, id") into its columns: each 1 to
 * 63 bytes, no control character, at most STORE_KEY_COLUMNS_MAX, none
 * twice; blanks around commas are dropped. NULL or "": *n = 0 (the
 * adapter takes the primary key). STORE_OK or STORE_EUSAGE.
 */
int store__key_columns(const char *spec, char cols[][64], size_t *n,
                       store_error *err);

/* Sets s->key and s->key_parts from @p n columns. */
void store__key_set(store *s, char cols[][64], size_t n);

/* ---- composite key texts (src/store/key.c) ----
 * The JSON array form of a key of several columns (see store.h). */

typedef enum store__part_type {
  STORE_PART_INT,
  STORE_PART_REAL,
  STORE_PART_TEXT
} store__part_type;

typedef struct store__part {
  store__part_type type;
  int64_t i;
  double r;
  const char *text; /* STORE_PART_TEXT: NUL-terminated, valid as the key */
  size_t len;
} store__part;

/* A growing text the key is built in. */
typedef struct store__key_buf {
  char *data;
  size_t len, cap;
} store__key_buf;

/* Starts, adds parts to and ends a composite key: "[", parts, "]". 0, or
 * -1 when out of memory. */
int store__key_begin(store__key_buf *b);
int store__key_add(store__key_buf *b, const store__part *part);
int store__key_end(store__key_buf *b);

/*
 * Reads a composite key text of exactly @p n parts into @p parts; text
 * parts are decoded into @p scratch (at least strlen(key) + 1 bytes), which
 * they point into. STORE_OK or STORE_EUSAGE with @p err naming the
 * problem.
 */
int store__key_parse(const char *key, store__part *parts, size_t n,
                     char *scratch, store_error *err);

/* Fills @p err (which may be NULL) and returns @p status. */
int store__fail(store_error *err, store_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* 1 when @p s is well-formed UTF-8 (no overlong forms, no surrogates),
 * or NULL; 0 otherwise. */
int store__valid_utf8(const char *s);

/*
 * Splits "schema.table" into its parts; a name without a dot has an empty
 * schema. Names are checked, not trusted: 1..63 bytes, no NUL, at most one
 * unquoted dot. Returns 0 or STORE_EUSAGE with @p err naming the problem.
 */
int store__split_table(const char *table, char schema[64], char name[64],
                       store_error *err);

/* @p sample: read only a sample of the rows (store_open_sampled), or
 * NULL. */
int store__sqlite_open(store **out, const store_target *target,
                       const store_open_options *options,
                       const store_sample *sample, store_error *err);
/* @p snapshot: an exported snapshot to import, or NULL. */
int store__postgres_open(store **out, const store_target *target,
                         const store_open_options *options,
                         const char *snapshot, const store_sample *sample,
                         store_error *err);
int store__stream_open(store **out, const store_target *target,
                       store_error *err);
int store__kafka_open(store **out, const store_target *target,
                      store_error *err);

/* A queue target's pending states: its list, or "pending". */
const char *store__pending_states(const store_target *t);

/*
 * A queue target's states, split out of their comma-separated lists, for
 * the adapters to bind as parameters: items[0 .. n_pending) are the
 * pending states, the n_in_flight after them the in-flight ones. Checked
 * by store_open() first (store.c check_queue). No state column: no states.
 */
typedef struct store__states {
  char **items; /* one malloc'd block, the states' text included */
  size_t n_pending;
  size_t n_in_flight;
} store__states;

/* Fills @p out from @p t (all zero for a table or a queue without a state
 * column); free with store__states_free(). STORE_OK or STORE_ENOMEM. */
int store__states_of(store__states *out, const store_target *t,
                     store_error *err);
void store__states_free(store__states *states);

/* What a compare-and-swap finds on a row, read without writing. */
typedef struct store__row_now {
  int exists;           /* the key names a row */
  int pending;          /* queues: a pending state (1 without a state column) */
  int in_flight;        /* queues: an in-flight state */
  const uint8_t *value; /* the row's bytes; NULL with value_is_null */
  size_t value_len;
  int value_is_null;
} store__row_now;

/*
 * Says what a compare-and-swap of @p w would do on a row that reads as
 * @p now, exactly as the adapters' batches decide it: sets w->outcome
 * (STORE_SWAP_DONE where the row holds w->expect and, for a queue, is
 * pending) and w->holds_value, and leaves w->swapped alone. A table row
 * that is gone is a conflict, a queue message gone or out of the pending
 * states is STORE_SWAP_GONE, one in an in-flight state in flight.
 */
void store__swap_classify(store_swap *w, const store__row_now *now, int queue);

/* ---- the runs table's later columns ----
 *
 * The columns a runs table gets beyond those of the first layout (run_id ..
 * restored): each adapter adds the missing ones to an existing table
 * (ALTER TABLE ADD COLUMN), writes them all, and reads NULL for a column a
 * table lacks (a database only read, never written by this version). */

typedef enum store__column_kind {
  STORE__COL_TEXT, /* char[size]; NULL reads as "", "" is written as NULL */
  STORE__COL_INT,  /* int64_t, NOT NULL DEFAULT 0 */
  STORE__COL_OPT,  /* int64_t; NULL reads as -1, -1 is written as NULL */
  STORE__COL_KEY   /* char[size] and its int flag at `flag`: NULL when 0 */
} store__column_kind;

typedef struct store__run_column {
  const char *name;
  store__column_kind kind;
  size_t offset; /* of the field in store_run */
  size_t size;   /* text and key fields: their size */
  size_t flag;   /* key fields: the offset of their has_ flag */
} store__run_column;

extern const store__run_column store__run_columns[];
extern const size_t store__n_run_columns;

/* Clears the later fields of @p r: what a row an earlier rollsafe wrote
 * reads as (empty texts, 0, -1 for the optional counts). */
void store__run_defaults(store_run *r);

/* After a row is read: a row without `run` is its own run. */
void store__run_read_done(store_run *r);

/*
 * Adds a batch's outcome to @p after (the run as the batch found it): for
 * a fix, swaps done to converted (and lossy), conflicts to conflicts and
 * pass_unsettled, in flight to in_flight and pass_unsettled, gone to gone;
 * for a restore (@p restore), swaps done to restored and restore_restored,
 * the others to restore_conflicts, restore_in_flight and restore_gone.
 * Reads each swap's `swapped` and `outcome`.
 */
void store__batch_counts(store_run *after, const store_swap *swaps, size_t n,
                         int restore);

int store__sqlite_open_runs(store **out, const store_target *db,
                            const store_write_options *write, store_error *err);
int store__postgres_open_runs(store **out, const store_target *db,
                              const store_open_options *options,
                              const store_write_options *write,
                              store_error *err);

int store__sqlite_open_writer(store **out, const store_target *target,
                              const store_open_options *options,
                              const store_write_options *write,
                              store_error *err);
int store__postgres_open_writer(store **out, const store_target *target,
                                const store_open_options *options,
                                const store_write_options *write,
                                store_error *err);

#endif
