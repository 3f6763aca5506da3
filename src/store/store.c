#define _POSIX_C_SOURCE 200809L
/*
 * src/store/store.c: target kinds and the dispatch to each adapter.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store_impl.h"

static const struct {
  store_kind kind;
  const char *name;
} kinds[] = {
    {STORE_SQLITE_TABLE, "sqlite-table"},
    {STORE_POSTGRES_TABLE, "postgres-table"},
    {STORE_SQLITE_QUEUE, "sqlite-queue"},
    {STORE_POSTGRES_QUEUE, "postgres-queue"},
    {STORE_STREAM_FILE, "stream-file"},
    {STORE_KAFKA_TOPIC, "kafka-topic"},
};

int store_kind_is_queue(store_kind kind) {
  return kind == STORE_SQLITE_QUEUE || kind == STORE_POSTGRES_QUEUE;
}

const char *store_kind_name(store_kind kind) {
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (kinds[i].kind == kind) return kinds[i].name;
  return NULL;
}

store_kind store_kind_from_name(const char *name) {
  for (size_t i = 0; name != NULL && i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(kinds[i].name, name) == 0) return kinds[i].kind;
  return (store_kind)0;
}

int store__fail(store_error *err, store_status status, const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    err->status = status;
  }
  return status;
}

int store__valid_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (p != NULL && *p != 0) {
    unsigned c = *p;
    int n = c < 0x80             ? 0
            : (c & 0xE0) == 0xC0 ? 1
            : (c & 0xF0) == 0xE0 ? 2
            : (c & 0xF8) == 0xF0 ? 3
                                 : -1;
    if (n < 0 || (n == 1 && c < 0xC2) || c > 0xF4) return 0;
    uint32_t cp = n == 0 ? c : c & (0x3Fu >> n);
    for (int i = 1; i <= n; i++) {
      if ((p[i] & 0xC0) != 0x80) return 0;
      cp = cp << 6 | (p[i] & 0x3Fu);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return 0;
    p += n + 1;
  }
  return 1;
}

int store__split_table(const char *table, char schema[64], char name[64],
                       store_error *err) {
  schema[0] = name[0] = '\0';
  if (table == NULL || table[0] == '\0')
    return store__fail(err, STORE_EUSAGE, "no table given");
  const char *dot = strchr(table, '.');
  const char *n = table;
  if (dot != NULL) {
    size_t slen = (size_t)(dot - table);
    if (slen == 0 || slen > 63 || strchr(dot + 1, '.') != NULL)
      return store__fail(err, STORE_EUSAGE,
                         "table '%s': expected 'table' or 'schema.table'",
                         table);
    memcpy(schema, table, slen);
    schema[slen] = '\0';
    n = dot + 1;
  }
  size_t nlen = strlen(n);
  if (nlen == 0 || nlen > 63)
    return store__fail(err, STORE_EUSAGE,
                       "table '%s': a name is 1 to 63 bytes long", table);
  memcpy(name, n, nlen + 1);
  return STORE_OK;
}

/* ---- queues -------------------------------------------------------------
 *
 * A queue is read and written through its database's table adapter. Its
 * states never become SQL text: each adapter binds them as parameters
 * (SQLite `IN (?3, ?4)`, PostgreSQL `= ANY ($6)` with a binary array), so
 * a state may hold any byte but NUL and the comma that separates states in
 * a list. The state column is an identifier like key and column: quoted
 * by the adapter (SQLite "%w", PQescapeIdentifier) and resolved in the
 * catalog as a column of the table. What is checked here is what the
 * adapters cannot see: lengths, and no state both pending and in flight.
 */

const char *store__pending_states(const store_target *t) {
  return t->pending_states != NULL ? t->pending_states : "pending";
}

/* A name or state for a one-line message: control bytes shown as '?'. */
static const char *shown_text(char *out, size_t cap, const char *p, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n && p[i] != '\0' && o + 1 < cap; i++) {
    unsigned char c = (unsigned char)p[i];
    out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  out[o] = '\0';
  return out;
}

/* Checks a comma-separated state list; @p what names it in messages. */
static int check_states(const store_target *t, const char *csv,
                        const char *what, store_error *err) {
  if (csv == NULL) return STORE_OK;
  for (const char *p = csv;;) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (len == 0 || len > STORE_STATE_MAX) {
      char shown[200];
      return store__fail(err, STORE_EUSAGE,
                         "target '%s': %s '%s': each state is 1 to %d bytes, "
                         "separated by commas",
                         t->name ? t->name : t->table, what,
                         shown_text(shown, sizeof shown, csv, strlen(csv)),
                         STORE_STATE_MAX);
    }
    if (!comma) break;
    p = comma + 1;
  }
  return STORE_OK;
}

static int check_queue(const store_target *t, store_error *err) {
  const char *name = t->name ? t->name : t->table;
  char shown[200];
  if (t->state_column == NULL) {
    if (t->in_flight_states != NULL)
      return store__fail(err, STORE_EUSAGE,
                         "target '%s': in-flight states need a state column",
                         name);
    return STORE_OK;
  }
  size_t len = strlen(t->state_column);
  int control = 0;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)t->state_column[i] < 0x20 || t->state_column[i] == 0x7f)
      control = 1;
  if (len == 0 || len > 63 || control)
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': state column '%s': a name of 1 to 63 "
                       "bytes without control characters",
                       name,
                       shown_text(shown, sizeof shown, t->state_column, len));
  if (strcmp(t->state_column, t->key) == 0 ||
      strcmp(t->state_column, t->column) == 0)
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': the state column '%s' cannot be the key "
                       "or the record column",
                       name, t->state_column);
  int rc = check_states(t, t->pending_states, "pending states", err);
  if (rc == STORE_OK)
    rc = check_states(t, t->in_flight_states, "in-flight states", err);
  if (rc != STORE_OK) return rc;
  /* A state both pending and in flight would be rewritten under a
   * consumer. */
  const char *p = t->in_flight_states;
  const char *pend = store__pending_states(t);
  while (p != NULL && *p) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    for (const char *q = pend; *q;) {
      const char *qc = strchr(q, ',');
      size_t m = qc ? (size_t)(qc - q) : strlen(q);
      if (m == n && strncmp(p, q, n) == 0)
        return store__fail(err, STORE_EUSAGE,
                           "target '%s': state '%s' is both pending and in "
                           "flight",
                           name, shown_text(shown, sizeof shown, p, n));
      q = qc ? qc + 1 : q + m;
    }
    p = comma ? comma + 1 : p + n;
  }
  return STORE_OK;
}

/* The number of states in @p csv (0 for NULL). */
static size_t count_states(const char *csv) {
  if (csv == NULL) return 0;
  size_t n = 1;
  for (const char *p = csv; *p; p++)
    if (*p == ',') n++;
  return n;
}

int store__states_of(store__states *out, const store_target *t,
                     store_error *err) {
  memset(out, 0, sizeof *out);
  if (!store_kind_is_queue(t->kind) || t->state_column == NULL) return STORE_OK;
  const char *lists[2] = {store__pending_states(t), t->in_flight_states};
  size_t counts[2] = {count_states(lists[0]), count_states(lists[1])};
  size_t n = counts[0] + counts[1];
  size_t text =
      strlen(lists[0]) + 1 + (lists[1] != NULL ? strlen(lists[1]) + 1 : 0);
  /* One block: the pointers, then the states, each NUL-terminated. */
  char **items = malloc(n * sizeof *items + text);
  if (items == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  char *at = (char *)(items + n);
  size_t i = 0;
  for (int l = 0; l < 2; l++) {
    if (lists[l] == NULL) continue;
    size_t len = strlen(lists[l]);
    memcpy(at, lists[l], len + 1);
    items[i++] = at;
    for (char *p = at; *p; p++)
      if (*p == ',') {
        *p = '\0';
        items[i++] = p + 1;
      }
    at += len + 1;
  }
  out->items = items;
  out->n_pending = counts[0];
  out->n_in_flight = counts[1];
  return STORE_OK;
}

void store__states_free(store__states *states) {
  if (states == NULL) return;
  free(states->items);
  memset(states, 0, sizeof *states);
}

/* Opens @p target read-only (@p write NULL) or for writing. */
static int open_target(store **out, const store_target *target,
                       const store_open_options *options,
                       const store_write_options *write, const char *snapshot,
                       const store_sample *sample, store_error *err) {
  static const store_open_options no_options = {0};
  *out = NULL;
  if (err != NULL) {
    err->status = STORE_OK;
    err->message[0] = '\0';
  }
  if (options == NULL) options = &no_options;
  /* Only a read of a table or queue samples: a file or topic has no
   * random access to choose rows by. */
  if (target != NULL && sample != NULL &&
      (target->kind == STORE_STREAM_FILE || target->kind == STORE_KAFKA_TOPIC))
    return store__fail(err, STORE_EUSAGE, "target '%s': a %s cannot be sampled",
                       target->name ? target->name : "?",
                       store_kind_name(target->kind));
  if (target != NULL && target->kind == STORE_STREAM_FILE) {
    if (target->connection == NULL)
      return store__fail(err, STORE_EUSAGE, "a stream file needs a path");
    /* A stream file is only ever read: a fix writes a new file beside it
     * (store_stream.h), never into it. */
    return store__stream_open(out, target, err);
  }
  if (target != NULL && target->kind == STORE_KAFKA_TOPIC) {
    if (target->connection == NULL || target->kafka == NULL ||
        target->kafka->topic == NULL)
      return store__fail(err, STORE_EUSAGE,
                         "a Kafka topic needs bootstrap servers and a topic");
    /* A topic is only ever read: its log is immutable. */
    if (write != NULL)
      return store__fail(err, STORE_EUSAGE,
                         "target '%s': a Kafka topic is read-only",
                         target->name ? target->name : target->kafka->topic);
    return store__kafka_open(out, target, err);
  }
  if (target == NULL || target->connection == NULL || target->table == NULL ||
      target->column == NULL)
    return store__fail(err, STORE_EUSAGE,
                       "a target needs a connection, a table and a column");
  const store_target t = *target;
  if (store_kind_is_queue(t.kind)) {
    int rc = check_queue(&t, err);
    if (rc != STORE_OK) return rc;
  }
  int rc;
  switch (t.kind) {
    case STORE_SQLITE_TABLE:
    case STORE_SQLITE_QUEUE:
      rc = write != NULL
               ? store__sqlite_open_writer(out, &t, options, write, err)
               : store__sqlite_open(out, &t, options, sample, err);
      break;
    case STORE_POSTGRES_TABLE:
    case STORE_POSTGRES_QUEUE:
      rc = write != NULL
               ? store__postgres_open_writer(out, &t, options, write, err)
               : store__postgres_open(out, &t, options, snapshot, sample, err);
      break;
    default:
      rc = store__fail(err, STORE_EUSAGE, "target '%s': unknown kind",
                       target->name ? target->name : "?");
      break;
  }
  return rc;
}

int store_open(store **out, const store_target *target,
               const store_open_options *options, store_error *err) {
  return open_target(out, target, options, NULL, NULL, NULL, err);
}

int store_open_snapshot(store **out, const store_target *target,
                        const store_open_options *options, const char *snapshot,
                        store_error *err) {
  if (snapshot != NULL && snapshot[0] == '\0') snapshot = NULL;
  return open_target(out, target, options, NULL, snapshot, NULL, err);
}

int store_open_sampled(store **out, const store_target *target,
                       const store_open_options *options, const char *snapshot,
                       const store_sample *sample, store_error *err) {
  if (snapshot != NULL && snapshot[0] == '\0') snapshot = NULL;
  return open_target(out, target, options, NULL, snapshot, sample, err);
}

const char *store_key(const store *s) {
  return s->key;
}

unsigned store_key_parts(const store *s) {
  return s->key_parts;
}

int store__key_columns(const char *spec, char cols[][64], size_t *n,
                       store_error *err) {
  *n = 0;
  if (spec == NULL) return STORE_OK;
  const char *p = spec;
  while (*p == ' ' || *p == '\t') p++;
  if (*p == '\0') return STORE_OK;
  for (;;) {
    const char *start = p, *comma = strchr(p, ',');
    const char *end = comma != NULL ? comma : p + strlen(p);
    while (start < end && (*start == ' ' || *start == '\t')) start++;
    const char *last = end;
    while (last > start && (last[-1] == ' ' || last[-1] == '\t')) last--;
    size_t len = (size_t)(last - start);
    if (len == 0 || len > 63)
      return store__fail(err, STORE_EUSAGE,
                         "key '%.200s': each column name is 1 to 63 bytes "
                         "long, separated by commas",
                         spec);
    if (*n == STORE_KEY_COLUMNS_MAX)
      return store__fail(err, STORE_EUSAGE, "key '%.200s': at most %d columns",
                         spec, STORE_KEY_COLUMNS_MAX);
    memcpy(cols[*n], start, len);
    cols[*n][len] = '\0';
    for (size_t i = 0; i < *n; i++)
      if (strcmp(cols[i], cols[*n]) == 0)
        return store__fail(err, STORE_EUSAGE,
                           "key '%.200s': column '%s' is named twice", spec,
                           cols[*n]);
    (*n)++;
    if (comma == NULL) break;
    p = comma + 1;
  }
  return STORE_OK;
}

void store__key_set(store *s, char cols[][64], size_t n) {
  size_t used = 0;
  s->key[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(cols[i]);
    if (i > 0) s->key[used++] = ',';
    memcpy(s->key + used, cols[i], len + 1);
    used += len;
  }
  s->key_parts = (unsigned)n;
}

int64_t store_estimate_rows(store *s) {
  return s->ops->estimate_rows(s);
}

int store_split(store *s, unsigned n, store_range *out, size_t *n_out,
                store_error *err) {
  if (n == 0 || n > STORE_RANGES_MAX)
    return store__fail(err, STORE_EUSAGE,
                       "cannot split a scan into %u ranges (1 to %d)", n,
                       STORE_RANGES_MAX);
  if (s->ops->split != NULL && n > 1)
    return s->ops->split(s, n, out, n_out, err);
  memset(&out[0], 0, sizeof out[0]);
  *n_out = 1;
  return STORE_OK;
}

int store_export_snapshot(store *s, char *out, size_t cap, store_error *err) {
  if (cap > 0) out[0] = '\0';
  if (s->ops->export_snapshot == NULL) return STORE_OK;
  return s->ops->export_snapshot(s, out, cap, err);
}

int store_set_range(store *s, const store_range *r, store_error *err) {
  if (!r->has_lo && !r->has_hi) return STORE_OK;
  if (s->ops->set_range == NULL)
    return store__fail(err, STORE_EUSAGE, "%s cannot be read by ranges",
                       s->description);
  return s->ops->set_range(s, r, err);
}

/* Splits [min, max] into at most n ranges of about the same width; the
 * first open below, the last open above. */
void store__split_span(int64_t min, int64_t max, unsigned n, store_range *out,
                       size_t *n_out) {
  /* In unsigned arithmetic: max - min may not fit int64_t. */
  uint64_t span = (uint64_t)max - (uint64_t)min;
  if (min > max) span = 0;
  uint64_t step = span / n + 1;
  size_t k = 0;
  for (unsigned i = 0; i < n; i++) {
    uint64_t off = step * i;
    if (i > 0 && off > span) break;
    store_range *r = &out[k++];
    r->lo = (int64_t)((uint64_t)min + off);
    r->has_lo = i > 0;
    uint64_t next = off + step;
    r->has_hi = i + 1 < n && next > off && next <= span;
    r->hi = r->has_hi ? (int64_t)((uint64_t)min + next) : 0;
    if (!r->has_hi) break;
  }
  *n_out = k;
}

int store_scan(store *s, store_error *err) {
  return s->ops->scan(s, err);
}

int store_next(store *s, store_row *row, store_error *err) {
  memset(row, 0, sizeof *row);
  return s->ops->next(s, row, err);
}

void store_defer_int_keys(store *s) {
  s->defer_int_keys = 1;
}

const char *store_row_key(store_row *row, size_t *len) {
  if (row->key_deferred) {
    row->key_len = store__int64_text(row->key_text, row->key_int);
    row->key = row->key_text;
    row->key_deferred = 0;
  }
  *len = row->key_len;
  return row->key;
}

size_t store__int64_text(char out[24], int64_t v) {
  static const char pairs[] =
      "00010203040506070809101112131415161718192021222324252627282930313233"
      "34353637383940414243444546474849505152535455565758596061626364656667"
      "6869707172737475767778798081828384858687888990919293949596979899";
  char tmp[24];
  size_t n = sizeof tmp;
  /* In unsigned arithmetic: -INT64_MIN does not fit int64_t. */
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  /* Two digits a division, from the right. */
  while (u >= 100) {
    unsigned d = (unsigned)(u % 100) * 2;
    u /= 100;
    tmp[--n] = pairs[d + 1];
    tmp[--n] = pairs[d];
  }
  if (u >= 10) {
    tmp[--n] = pairs[u * 2 + 1];
    tmp[--n] = pairs[u * 2];
  } else {
    tmp[--n] = (char)('0' + u);
  }
  size_t len = 0;
  if (v < 0) out[len++] = '-';
  memcpy(out + len, tmp + n, sizeof tmp - n);
  len += sizeof tmp - n;
  out[len] = '\0';
  return len;
}

void store_cancel(store *s) {
  s->ops->cancel(s);
}

void store_interrupt(store *s) {
  if (s != NULL) s->ops->interrupt(s);
}

void store_sample_of(const store *s, store_sample_info *out) {
  *out = s->sample;
}

int store_framing_issue(const store *s, store_framing *out) {
  memset(out, 0, sizeof *out);
  return s != NULL && s->ops->framing != NULL ? s->ops->framing(s, out) : 0;
}

void store_partitions(const store *s, const store_partition **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (s != NULL && s->ops->partitions != NULL) s->ops->partitions(s, out, n);
}

const char *store_describe(const store *s) {
  return s->description;
}

void store_close(store *s) {
  if (s != NULL) s->ops->close(s);
}

/* ---- writing ---------------------------------------------------------- */

/* ---- giving way ----------------------------------------------------------
 *
 * Every writing step goes through WITH_RETRIES: a step that gave way
 * (STORE_EBUSY: a lock not obtained in one attempt, rolled back) is tried
 * again after a jittered backoff (20 ms doubling to 1 s) until the lock
 * timeout has passed since the step began, or the command is asked to
 * stop. The adapters' own attempts wait briefly (see store_write_options);
 * this loop is the patience.
 */

/* Whether a step begun at @p since is tried again after attempt @p attempt
 * gave way; sleeps its backoff first. */
static int retry_busy(int lock_timeout_ms, volatile sig_atomic_t *stop,
                      uint64_t *retries, double since, unsigned attempt) {
  if (stop != NULL && *stop) return 0;
  double left = since + (double)lock_timeout_ms / 1000.0 - store__now();
  if (left <= 0) return 0;
  double base = 0.02 * (double)(1u << (attempt < 6 ? attempt : 6));
  if (base > 1.0) base = 1.0;
  double pause = base * (0.5 + 0.5 * store__random_unit());
  store__sleep(pause < left ? pause : left);
  if (retries != NULL) (*retries)++;
  return !(stop != NULL && *stop);
}

/* The message of a step that gave up waiting. */
static void gave_up(store_error *err, int lock_timeout_ms,
                    volatile sig_atomic_t *stop) {
  if (err == NULL || (stop != NULL && *stop)) return;
  char text[sizeof err->message];
  snprintf(text, sizeof text, "%s", err->message);
  snprintf(err->message, sizeof err->message,
           "%.400s (gave way to other writers for %.1f s, the lock timeout; "
           "nothing of this step was written)",
           text, (double)lock_timeout_ms / 1000.0);
}

#define WITH_RETRIES(s, rc, err, call)                        \
  do {                                                        \
    double since_ = store__now();                             \
    for (unsigned attempt_ = 0;; attempt_++) {                \
      (s)->busy_final = 0;                                    \
      (rc) = (call);                                          \
      if ((rc) != STORE_EBUSY || (s)->busy_final ||           \
          !retry_busy((s)->lock_timeout_ms, (s)->interrupted, \
                      &(s)->busy_retries, since_, attempt_))  \
        break;                                                \
    }                                                         \
    if ((rc) == STORE_EBUSY && !(s)->busy_final)              \
      gave_up((err), (s)->lock_timeout_ms, (s)->interrupted); \
  } while (0)

typedef int (*open_fn)(store **out, const store_target *target,
                       const store_open_options *options,
                       const store_write_options *write, store_error *err);

/* A writer's open: open_target without a snapshot, as open_fn. */
static int open_writer_target(store **out, const store_target *target,
                              const store_open_options *options,
                              const store_write_options *write,
                              store_error *err) {
  return open_target(out, target, options, write, NULL, NULL, err);
}

/* Opens with @p open, giving way to other writers until the lock timeout;
 * the store's steps then give way as long (WITH_RETRIES). */
static int open_giving_way(open_fn open, store **out,
                           const store_target *target,
                           const store_open_options *options,
                           const store_write_options *write, store_error *err) {
  double since = store__now();
  uint64_t retries = 0;
  int rc;
  for (unsigned attempt = 0;; attempt++) {
    rc = open(out, target, options, write, err);
    if (rc != STORE_EBUSY ||
        !retry_busy(write->lock_timeout_ms, write->interrupted, &retries, since,
                    attempt))
      break;
  }
  if (rc == STORE_EBUSY)
    gave_up(err, write->lock_timeout_ms, write->interrupted);
  if (rc == STORE_OK && *out != NULL) {
    (*out)->lock_timeout_ms = write->lock_timeout_ms;
    (*out)->interrupted = write->interrupted;
    (*out)->busy_retries += retries;
  }
  return rc;
}

int store_open_writer(store **out, const store_target *target,
                      const store_open_options *options,
                      const store_write_options *write, store_error *err) {
  static const store_write_options defaults = STORE_WRITE_OPTIONS_INIT;
  if (write == NULL) write = &defaults;
  return open_giving_way(open_writer_target, out, target, options, write, err);
}

uint64_t store_busy_retries(const store *s) {
  return s != NULL ? s->busy_retries : 0;
}

store_fault store_last_fault(const store *s) {
  return s != NULL ? (store_fault)s->fault : STORE_FAULT_NONE;
}

int store_reconnect(store *s, const char *run_id, store_error *err) {
  if (s->ops->reconnect == NULL)
    return store__fail(err, STORE_EUSAGE, "%s: cannot connect again",
                       s->description);
  /* The server may take a while to come back (a restart, a failover):
   * tried again as a step that gives way is, until the lock timeout. */
  double since = store__now();
  for (unsigned attempt = 0;; attempt++) {
    s->busy_final = 0;
    int rc = s->ops->reconnect(s, run_id, err);
    if (rc != STORE_EBUSY || s->busy_final ||
        !retry_busy(s->lock_timeout_ms, s->interrupted, &s->busy_retries, since,
                    attempt))
      return rc;
  }
}

/* A read-only store has no writing operations. */
#define WRITER_OP(s, op, err)                                         \
  do {                                                                \
    if ((s)->ops->op == NULL)                                         \
      return store__fail((err), STORE_EUSAGE, "%s: opened read-only", \
                         (s)->description);                           \
  } while (0)

int store_run_create(store *s, const store_run *run, store_error *err) {
  WRITER_OP(s, run_create, err);
  int rc;
  WITH_RETRIES(s, rc, err, s->ops->run_create(s, run, err));
  return rc;
}

/* A run stored as running whose lease no live process holds has stopped:
 * it shows as interrupted (store.h, run leases). */
static int derive_status(store *s, store_run *run, store_error *err) {
  if (strcmp(run->status, "running") != 0 || s->ops->lease_held == NULL)
    return STORE_OK;
  int held;
  WITH_RETRIES(s, held, err, s->ops->lease_held(s, run->run_id, err));
  if (held < 0) return held;
  if (held == 0) snprintf(run->status, sizeof run->status, "interrupted");
  return STORE_OK;
}

int store_run_load(store *s, const char *run_id, store_run *out,
                   store_error *err) {
  WRITER_OP(s, run_load, err);
  int rc;
  WITH_RETRIES(s, rc, err, s->ops->run_load(s, run_id, out, err));
  if (rc == STORE_OK) rc = derive_status(s, out, err);
  return rc;
}

int store_run_update(store *s, const store_run *run, store_error *err) {
  WRITER_OP(s, run_update, err);
  int rc;
  WITH_RETRIES(s, rc, err, s->ops->run_update(s, run, err));
  return rc;
}

int store_run_list(store *s, store_run **out, size_t *n, store_error *err) {
  *out = NULL;
  *n = 0;
  WRITER_OP(s, run_list, err);
  int rc;
  WITH_RETRIES(s, rc, err, s->ops->run_list(s, out, n, err));
  for (size_t i = 0; rc == STORE_OK && i < *n; i++)
    rc = derive_status(s, &(*out)[i], err);
  if (rc != STORE_OK) {
    free(*out);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

int store_run_parts(store *s, const char *run, store_run **out, size_t *n,
                    store_error *err) {
  *out = NULL;
  *n = 0;
  WRITER_OP(s, run_parts, err);
  return s->ops->run_parts(s, run, out, n, err);
}

static int sqlite_runs(store **out, const store_target *db,
                       const store_open_options *options,
                       const store_write_options *write, store_error *err) {
  (void)options;
  return store__sqlite_open_runs(out, db, write, err);
}

int store_open_runs(store **out, const store_target *db,
                    const store_open_options *options,
                    const store_write_options *write, store_error *err) {
  static const store_open_options no_options = {0};
  static const store_write_options defaults = STORE_WRITE_OPTIONS_INIT;
  *out = NULL;
  if (err != NULL) {
    err->status = STORE_OK;
    err->message[0] = '\0';
  }
  if (options == NULL) options = &no_options;
  if (write == NULL) write = &defaults;
  if (db == NULL || db->connection == NULL)
    return store__fail(err, STORE_EUSAGE, "runs are read from a database");
  int sqlite = db->kind == STORE_SQLITE_TABLE || db->kind == STORE_SQLITE_QUEUE;
  if (!sqlite && db->kind != STORE_POSTGRES_TABLE &&
      db->kind != STORE_POSTGRES_QUEUE)
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': only SQLite and PostgreSQL targets "
                       "have runs",
                       db->name != NULL ? db->name : "?");
  /* Opening gives way to other writers as a writer's opening does, and so
   * do its steps (a lease, a purge). */
  return open_giving_way(sqlite ? sqlite_runs : store__postgres_open_runs, out,
                         db, options, write, err);
}

#define RUN_TEXT(f) \
  STORE__COL_TEXT, offsetof(store_run, f), sizeof(((store_run *)0)->f), 0
#define RUN_INT(f) STORE__COL_INT, offsetof(store_run, f), 0, 0
#define RUN_OPT(f) STORE__COL_OPT, offsetof(store_run, f), 0, 0
#define RUN_KEY(f, has)                                                \
  STORE__COL_KEY, offsetof(store_run, f), sizeof(((store_run *)0)->f), \
      offsetof(store_run, has)

const store__run_column store__run_columns[] = {
    {"run", RUN_TEXT(run)},
    {"settings", RUN_TEXT(settings)},
    {"pass", RUN_INT(pass)},
    {"pass_unsettled", RUN_INT(pass_unsettled)},
    {"rows_read", RUN_INT(rows_read)},
    {"lossy_skipped", RUN_INT(lossy_skipped)},
    {"check_failed", RUN_INT(check_failed)},
    {"undetermined", RUN_INT(undetermined)},
    {"unnamed", RUN_INT(unnamed)},
    {"in_flight", RUN_INT(in_flight)},
    {"gone", RUN_INT(gone)},
    {"remaining", RUN_OPT(remaining)},
    {"remaining_undetermined", RUN_OPT(remaining_undetermined)},
    {"restore_status", RUN_TEXT(restore_status)},
    {"restore_checkpoint", RUN_KEY(restore_checkpoint, has_restore_checkpoint)},
    {"restores", RUN_INT(restores)},
    {"restore_restored", RUN_INT(restore_restored)},
    {"restore_conflicts", RUN_INT(restore_conflicts)},
    {"restore_in_flight", RUN_INT(restore_in_flight)},
    {"restore_gone", RUN_INT(restore_gone)},
};
const size_t store__n_run_columns =
    sizeof store__run_columns / sizeof store__run_columns[0];

#undef RUN_TEXT
#undef RUN_INT
#undef RUN_OPT
#undef RUN_KEY

void store__run_defaults(store_run *r) {
  for (size_t i = 0; i < store__n_run_columns; i++) {
    const store__run_column *c = &store__run_columns[i];
    char *f = (char *)r + c->offset;
    switch (c->kind) {
      case STORE__COL_TEXT:
        f[0] = '\0';
        break;
      case STORE__COL_KEY:
        f[0] = '\0';
        *(int *)((char *)r + c->flag) = 0;
        break;
      case STORE__COL_INT:
        *(int64_t *)(void *)f = 0;
        break;
      case STORE__COL_OPT:
        *(int64_t *)(void *)f = -1;
        break;
    }
  }
}

void store__run_read_done(store_run *r) {
  if (r->run[0] == '\0') snprintf(r->run, sizeof r->run, "%s", r->run_id);
  if (r->pass < 1) r->pass = 1;
}

void store__batch_counts(store_run *after, const store_swap *swaps, size_t n,
                         int restore) {
  for (size_t i = 0; i < n; i++) {
    const store_swap *w = &swaps[i];
    if (w->swapped) {
      if (restore) {
        after->restored++;
        after->restore_restored++;
      } else {
        after->converted++;
        after->lossy += w->lossy != 0;
      }
      continue;
    }
    switch (w->outcome) {
      case STORE_SWAP_IN_FLIGHT:
        if (restore) {
          after->restore_in_flight++;
        } else {
          after->in_flight++;
          after->pass_unsettled++;
        }
        break;
      case STORE_SWAP_GONE:
        if (restore)
          after->restore_gone++;
        else
          after->gone++;
        break;
      default:
        if (restore) {
          after->restore_conflicts++;
        } else {
          after->conflicts++;
          after->pass_unsettled++;
        }
        break;
    }
  }
}

int store_page(store *s, const char *after, size_t limit,
               const store_page_row **rows, store_error *err) {
  *rows = NULL;
  WRITER_OP(s, page, err);
  int rc;
  WITH_RETRIES(s, rc, err, s->ops->page(s, after, limit, rows, err));
  return rc;
}

int store_unnamed_page(store *s, int64_t after, size_t limit,
                       const store_page_row **rows, int64_t *last,
                       store_error *err) {
  *rows = NULL;
  *last = after;
  if (s->ops->unnamed_page == NULL) return 0;
  int rc;
  WITH_RETRIES(s, rc, err,
               s->ops->unnamed_page(s, after, limit, rows, last, err));
  return rc;
}

int store_fix_batch(store *s, const store_run *run, store_swap *swaps, size_t n,
                    store_error *err) {
  WRITER_OP(s, fix_batch, err);
  int rc;
  WITH_RETRIES(s, rc, err, s->ops->fix_batch(s, run, swaps, n, err));
  return rc;
}

void store_read_ahead(store *s, int on) {
  if (s->ops->read_ahead != NULL) s->ops->read_ahead(s, on);
}

int store_starts_batches(const store *s) {
  return s->ops->fix_batch_start != NULL && s->ops->fix_batch_finish != NULL;
}

int store_fix_batch_start(store *s, const store_run *run, store_swap *swaps,
                          size_t n, store_error *err) {
  if (!store_starts_batches(s))
    return store__fail(err, STORE_EUSAGE, "%s: batches are not started apart",
                       s->description);
  s->busy_final = 0;
  return s->ops->fix_batch_start(s, run, swaps, n, err);
}

int store_fix_batch_finish(store *s, store_error *err) {
  if (!store_starts_batches(s))
    return store__fail(err, STORE_EUSAGE, "%s: batches are not started apart",
                       s->description);
  return s->ops->fix_batch_finish(s, err);
}

int store_backup_page(store *s, const char *run_id, const char *after,
                      size_t limit, store_swap **rows, store_error *err) {
  *rows = NULL;
  WRITER_OP(s, backup_page, err);
  int rc;
  WITH_RETRIES(s, rc, err,
               s->ops->backup_page(s, run_id, after, limit, rows, err));
  return rc;
}

int store_restore_batch(store *s, const store_run *run, store_swap *swaps,
                        size_t n, store_error *err) {
  WRITER_OP(s, restore_batch, err);
  int rc;
  WITH_RETRIES(s, rc, err, s->ops->restore_batch(s, run, swaps, n, err));
  return rc;
}

int store_restore_check(store *s, store_swap *swaps, size_t n,
                        store_error *err) {
  WRITER_OP(s, restore_check, err);
  int rc;
  WITH_RETRIES(s, rc, err, s->ops->restore_check(s, swaps, n, err));
  return rc;
}

int store_run_lease(store *s, const char *run_id, store_error *err) {
  WRITER_OP(s, lease_take, err);
  if (run_id == NULL || run_id[0] == '\0')
    return store__fail(err, STORE_EUSAGE, "%s: a run needs an id",
                       s->description);
  return s->ops->lease_take(s, run_id, err);
}

void store_run_release(store *s, const char *run_id) {
  if (s != NULL && run_id != NULL && s->ops->lease_release != NULL)
    s->ops->lease_release(s, run_id);
}

int store_write_hooks(store *s, store_hook **out, size_t *n, store_error *err) {
  *out = NULL;
  *n = 0;
  if (s->ops->write_hooks == NULL) return STORE_OK;
  return s->ops->write_hooks(s, out, n, err);
}

void store__swap_classify(store_swap *w, const store__row_now *now, int queue) {
  int same =
      !now->value_is_null && now->value_len == w->expect_len &&
      (w->expect_len == 0 || memcmp(now->value, w->expect, w->expect_len) == 0);
  w->holds_value =
      now->exists && !now->value_is_null && now->value_len == w->value_len &&
      (w->value_len == 0 || memcmp(now->value, w->value, w->value_len) == 0);
  if (!now->exists)
    w->outcome = queue ? STORE_SWAP_GONE : STORE_SWAP_CONFLICT;
  else if (queue && !now->pending)
    w->outcome = now->in_flight ? STORE_SWAP_IN_FLIGHT : STORE_SWAP_GONE;
  else
    w->outcome = same ? STORE_SWAP_DONE : STORE_SWAP_CONFLICT;
}

int store_purge_run(store *s, const char *run_id, int64_t *deleted,
                    store_error *err) {
  if (deleted != NULL) *deleted = 0;
  WRITER_OP(s, purge_run, err);
  int rc;
  WITH_RETRIES(s, rc, err, s->ops->purge_run(s, run_id, deleted, err));
  return rc;
}

/* ---- time and jitter ---------------------------------------------------- */

double store__now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void store__sleep(double seconds) {
  if (!(seconds > 0)) return;
  struct timespec ts;
  ts.tv_sec = (time_t)seconds;
  ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* xorshift64*, seeded per process from the clock and the process id:
 * enough for jitter, which only needs processes not to agree. */
double store__random_unit(void) {
  static uint64_t x;
  static pid_t seeded_by;
  pid_t me = getpid();
  if (seeded_by != me || x == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    x = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
        ((uint64_t)me << 40) ^ 0x9E3779B97F4A7C15u;
    seeded_by = me;
  }
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  return (double)((x * 0x2545F4914F6CDD1Du) >> 11) / 9007199254740992.0;
}
