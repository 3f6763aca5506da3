#define _POSIX_C_SOURCE 200809L
/*
 * src/verify/kafka_fix.c: fix and restore of Kafka topics (kafka_fix.h).
 *
 * Why the output topic is its own journal: the producer is idempotent with
 * the gapless guarantee, so what a killed run handed to the brokers is, in
 * each output partition, a prefix of the messages it meant to write, in
 * order. The last message of an output partition names (rollsafe-original)
 * the last source message copied; the next run starts after it. Nothing
 * else has to be kept anywhere, and nothing can disagree with the topic.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_kafka.h"
#include "verify/kafka_fix.h"
#include "verify/util.h"

/* ---- shared ------------------------------------------------------------- */

static void set_store_error(kafka_fix_result *r, const store_error *serr) {
  if (r->fix.status != STORE_OK) return; /* the first error tells */
  r->fix.status = serr->status;
  snprintf(r->fix.error, sizeof r->fix.error, "%s", serr->message);
}

static void fail(kafka_fix_result *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(kafka_fix_result *r, int status, const char *fmt, ...) {
  if (r->fix.status != STORE_OK) return;
  r->fix.status = status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->fix.error, sizeof r->fix.error, fmt, ap);
  va_end(ap);
}

static int nomem(rs_error *err) {
  err->code = RS_ENOMEM;
  err->offset = RS_OFFSET_NONE;
  snprintf(err->message, sizeof err->message, "out of memory");
  return RS_ENOMEM;
}

static void run_id_new(char out[40]) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char stamp[24];
  strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  snprintf(out, 40, "%s-%06x", stamp, (unsigned)(verify__random() & 0xFFFFFFu));
}

static kafka_fix_partition *part_of(kafka_fix_result *r, int32_t partition) {
  for (size_t i = 0; i < r->n_parts; i++)
    if (r->parts[i].partition == partition) return &r->parts[i];
  return NULL;
}

/* Adds source offset @p offset to @p p's repaired ranges; 0 or RS_ENOMEM. */
static int add_repaired(kafka_fix_partition *p, int64_t offset) {
  if (p->n_repaired > 0 && p->repaired[2 * p->n_repaired - 1] + 1 == offset) {
    p->repaired[2 * p->n_repaired - 1] = offset;
    return 0;
  }
  if (p->n_repaired == KAFKA_FIX_MAX_RANGES) {
    p->repaired_cut = 1;
    return 0;
  }
  int64_t *grown =
      realloc(p->repaired, (p->n_repaired + 1) * 2 * sizeof *grown);
  if (grown == NULL) return RS_ENOMEM;
  p->repaired = grown;
  grown[2 * p->n_repaired] = grown[2 * p->n_repaired + 1] = offset;
  p->n_repaired++;
  return 0;
}

/* Takes the store's partitions into r->parts (first call) or updates what
 * was read (later calls). 0 or RS_ENOMEM. */
static int take_partitions(kafka_fix_result *r, const store *s) {
  const store_partition *sp;
  size_t n;
  store_partitions(s, &sp, &n);
  if (r->parts == NULL && n > 0) {
    r->parts = calloc(n, sizeof *r->parts);
    if (r->parts == NULL) return RS_ENOMEM;
    r->n_parts = n;
    for (size_t i = 0; i < n; i++) {
      kafka_fix_partition *p = &r->parts[i];
      p->partition = sp[i].partition;
      p->out_first = p->out_last = -1;
      p->resumed_after = -1;
      p->group_offset = p->group_output_offset = -1;
    }
  }
  for (size_t i = 0; i < n; i++) {
    kafka_fix_partition *p = part_of(r, sp[i].partition);
    if (p == NULL) continue;
    p->start_from = sp[i].start_from;
    p->start_offset = sp[i].start_offset;
    p->end_offset = sp[i].end_offset;
    p->first_offset = sp[i].first_offset;
    p->last_offset = sp[i].last_offset;
    p->messages = sp[i].messages;
  }
  return 0;
}

/* The run's delivery reports: where each message landed. */
static void on_delivered(void *ctx, uint64_t tag, int32_t partition,
                         int64_t offset) {
  (void)tag;
  kafka_fix_result *r = ctx;
  kafka_fix_partition *p = part_of(r, partition);
  if (p == NULL) return;
  if (p->out_first < 0) p->out_first = offset;
  p->out_last = offset;
  p->delivered++;
  r->delivered++;
}

/* Sleeps so that the messages handled so far keep under --max-rate; a
 * signal ends the sleep early. */
static void throttle(const fix_options *o, double start, uint64_t done) {
  if (o->max_rate <= 0) return;
  double wait = start + (double)done / o->max_rate - verify_now_seconds();
  if (wait <= 0) return;
  struct timespec ts = {(time_t)wait,
                        (long)((wait - (double)(time_t)wait) * 1e9)};
  nanosleep(&ts, NULL);
}

static int interrupted(const fix_options *o) {
  return o->interrupted != NULL && *o->interrupted;
}

/*
 * The next row of @p s, for the loops of this file: 1 with @p row, or 0 when
 * the loop ends: at the end (*@p end set when given), on an interrupt
 * (r->fix.interrupted), or on an error (in r->fix).
 */
static int next_row(kafka_fix_result *r, const fix_options *o, store *s,
                    store_row *row, int *end) {
  store_error serr = {STORE_OK, ""};
  if (interrupted(o)) {
    r->fix.interrupted = 1;
    store_cancel(s);
    return 0;
  }
  int got = store_next(s, row, &serr);
  if (got > 0) return 1;
  if (got == 0 && end != NULL) *end = 1;
  if (got < 0 && interrupted(o))
    r->fix.interrupted = 1;
  else if (got < 0)
    set_store_error(r, &serr);
  return 0;
}

/* The headers a fix adds: where the message came from, and the run. */
typedef struct added_headers {
  char original[STORE_KAFKA_TOPIC_MAX + 48];
  store_kafka_header h[2];
} added_headers;

static void added_set(added_headers *a, const char *topic, int32_t partition,
                      int64_t offset, const char *run_id) {
  size_t n = store_kafka_original_format(a->original, sizeof a->original, topic,
                                         partition, offset);
  a->h[0] = (store_kafka_header){STORE_KAFKA_HEADER_ORIGINAL, a->original, n};
  a->h[1] =
      (store_kafka_header){STORE_KAFKA_HEADER_RUN, run_id, strlen(run_id)};
}

/* The source message a message of the output names: 1 with *offset set
 * when its rollsafe-original names @p topic's partition @p partition, 0
 * when it names none or another. */
static int original_of(const void *v, size_t len, const char *topic,
                       int32_t partition, int64_t *offset) {
  char t[STORE_KAFKA_TOPIC_MAX];
  int32_t p;
  if (v == NULL || store_kafka_original_parse(v, len, t, &p, offset) != 0)
    return 0;
  return strcmp(t, topic) == 0 && p == partition;
}

/* ---- fix to an output topic ---------------------------------------------- */

/*
 * Where each source partition goes on from: after the source offset the
 * last message of the output partition of the same number names. A last
 * message rollsafe did not copy from that partition is refused: the output
 * must be a topic only this fix writes.
 */
static int resume_points(kafka_fix_result *r, const kafka_fix_options *o,
                         size_t n_src, int64_t *start_at) {
  store_error serr = {STORE_OK, ""};
  store_kafka_peek *peek = NULL;
  size_t n_out = 0;
  int rc = store_kafka_peek_open(&peek, o->source, o->output_topic, &serr);
  if (rc == STORE_OK) rc = store_kafka_peek_partitions(peek, &n_out, &serr);
  if (rc != STORE_OK) {
    set_store_error(r, &serr);
    store_kafka_peek_close(peek);
    return 0;
  }
  if (n_out == 0 || n_out < n_src) {
    if (n_out == 0)
      fail(r, STORE_EUSAGE,
           "no output topic '%s' on the brokers: create it first (rollsafe "
           "creates no topics), with at least the %zu partitions of %s",
           o->output_topic, n_src, o->source->kafka->topic);
    else
      fail(r, STORE_EUSAGE,
           "output topic '%s' has %zu partitions, fewer than the %zu of %s: "
           "each message goes to the partition of the same number",
           o->output_topic, n_out, n_src, o->source->kafka->topic);
    store_kafka_peek_close(peek);
    return 0;
  }
  for (size_t i = 0; i < n_src; i++) {
    int32_t p = (int32_t)i;
    int64_t lo = 0, hi = 0, at = -1;
    start_at[i] = -1;
    rc = store_kafka_peek_watermarks(peek, p, &lo, &hi, &serr);
    if (rc == STORE_OK && hi > lo)
      rc = store_kafka_peek_at(peek, p, hi - 1, hi, &at, &serr);
    if (rc < 0) {
      set_store_error(r, &serr);
      break;
    }
    if (hi <= lo) continue; /* empty: the run starts where asked */
    const void *v = NULL;
    size_t len = 0;
    int64_t from = -1;
    if (rc != 1 ||
        !store_kafka_peek_header(peek, STORE_KAFKA_HEADER_ORIGINAL, &v, &len) ||
        !original_of(v, len, o->source->kafka->topic, p, &from)) {
      fail(r, STORE_EUSAGE,
           "output topic '%s' partition %" PRId32 " ends (offset %" PRId64
           ") with a message rollsafe did not copy from topic %s partition "
           "%" PRId32 ": give an output topic that only this fix writes",
           o->output_topic, p, hi - 1, o->source->kafka->topic, p);
      break;
    }
    start_at[i] = from + 1;
  }
  store_kafka_peek_close(peek);
  return 0;
}

/* What is done with one message: copied as it is, its converted bytes, or
 * nothing. */
typedef enum action { COPY, CONVERT, DROP } action;

/* Plans one message of the source and counts it. */
static int plan_message(kafka_fix_result *r, fix_planner *planner,
                        const fix_options *fo, kafka_fix_partition *p,
                        const store_row *row, int64_t offset, action *act,
                        const uint8_t **out, size_t *out_len, rs_error *err) {
  *act = COPY;
  if (row->value_is_null) {
    p->copied++;
    return 0;
  }
  int oc;
  const char *why;
  int rc = fix_planner_plan(planner, row->value, row->value_len, out, out_len,
                            &oc, &why, err);
  if (rc != 0) return rc;
  if (oc < 0) {
    p->copied++;
    return 0;
  }
  rc = fix_count(&r->fix, fo, (fix_outcome)oc, row->key, why);
  if (rc == 0 && (oc == FIX_CONVERTED || oc == FIX_LOSSY)) {
    *act = CONVERT;
    p->converted++;
    p->lossy += oc == FIX_LOSSY;
    return add_repaired(p, offset);
  }
  if (oc == FIX_LOSSY_SKIPPED)
    p->lossy_skipped++;
  else
    p->left_alone++;
  /* An undetermined record is not known to be unreadable: it is copied. */
  if (rc == 0 && fo->drop_unfixable && oc != FIX_UNDETERMINED) {
    *act = DROP;
    p->dropped++;
    return fix_count(&r->fix, fo, FIX_DROPPED, row->key,
                     "the reader cannot read it: left out of the output "
                     "topic (it stays in the source)");
  }
  p->copied++;
  return rc;
}

/*
 * Reads each output partition back: every message must name a message of
 * the source partition of the same number, in strictly increasing source
 * order (a duplicate or a reordering breaks it), every copy this run
 * delivered must be there, and what the reader makes of each is counted.
 */
static int verify_output(kafka_fix_result *r, const kafka_fix_options *o,
                         fix_planner *planner, const int64_t *run_first,
                         const int64_t *run_last, rs_error *err) {
  store_target t = *o->source;
  store_kafka k = *o->source->kafka;
  k.topic = o->output_topic;
  k.start = STORE_KAFKA_FROM_BEGINNING;
  k.group = NULL;
  k.start_at = NULL;
  k.n_start_at = 0;
  t.kafka = &k;
  store *s = NULL;
  store_error serr = {STORE_OK, ""};
  if (store_open(&s, &t, NULL, &serr) != STORE_OK ||
      store_scan(s, &serr) != STORE_OK) {
    set_store_error(r, &serr);
    store_close(s);
    return 0;
  }
  int64_t *prev = malloc(r->n_parts * sizeof *prev);
  uint64_t *in_run = calloc(r->n_parts, sizeof *in_run);
  if (prev == NULL || in_run == NULL) {
    free(prev);
    free(in_run);
    store_close(s);
    return nomem(err);
  }
  for (size_t i = 0; i < r->n_parts; i++) prev[i] = -1;
  memset(r->fix.remaining_verdicts, 0, sizeof r->fix.remaining_verdicts);
  r->fix.remaining_undetermined = 0;
  int rc = 0;
  for (;;) {
    store_row row;
    int got = store_next(s, &row, &serr);
    if (got == 0) break;
    if (got < 0) {
      set_store_error(r, &serr);
      break;
    }
    int64_t out_offset = store_kafka_row_offset(s);
    size_t i = 0;
    while (i < r->n_parts && r->parts[i].partition != row.partition) i++;
    if (i == r->n_parts) continue; /* a partition the source lacks */
    kafka_fix_partition *p = &r->parts[i];
    const void *v = NULL;
    size_t len = 0;
    int64_t from = -1;
    if (!store_kafka_row_header(s, STORE_KAFKA_HEADER_ORIGINAL, &v, &len) ||
        !original_of(v, len, o->source->kafka->topic, p->partition, &from)) {
      fail(r, STORE_EIO,
           "output topic '%s' partition %" PRId32 " offset %" PRId64
           " holds a message rollsafe did not copy from topic %s partition "
           "%" PRId32 ": another producer writes the output topic",
           o->output_topic, p->partition, out_offset, o->source->kafka->topic,
           p->partition);
      break;
    }
    p->verified++;
    r->verified_messages++;
    if (from <= prev[i]) {
      p->duplicates++;
    } else if (run_first[i] >= 0 && from >= run_first[i] &&
               from <= run_last[i]) {
      in_run[i]++;
    }
    if (from > prev[i]) prev[i] = from;
    if (!row.value_is_null) {
      rc = fix_planner_check(planner, &r->fix, row.value, row.value_len, err);
      if (rc != 0) break;
    }
  }
  store_close(s);
  for (size_t i = 0; i < r->n_parts; i++) {
    kafka_fix_partition *p = &r->parts[i];
    if (p->delivered > in_run[i]) p->missing = p->delivered - in_run[i];
    r->duplicates += p->duplicates;
    r->missing += p->missing;
  }
  free(prev);
  free(in_run);
  if (rc == 0 && r->fix.status == STORE_OK) {
    fix_planner_verified(&r->fix);
    if (r->duplicates > 0 || r->missing > 0)
      fail(r, STORE_EIO,
           "output topic '%s': %" PRIu64
           " duplicate or out-of-order copies, "
           "%" PRIu64 " copies of this run missing",
           o->output_topic, r->duplicates, r->missing);
  }
  return rc;
}

/*
 * For each partition the group has a committed offset in: the first
 * output offset whose copy is of that source offset or a later one, found
 * by bisection (copies are in source order): where the group's consumers
 * start on the output topic to meet what they have not read yet.
 */
static void group_map(kafka_fix_result *r, const kafka_fix_options *o) {
  size_t n = 0;
  for (size_t i = 0; i < r->n_parts; i++)
    if (r->parts[i].partition >= 0 && (size_t)r->parts[i].partition + 1 > n)
      n = (size_t)r->parts[i].partition + 1;
  int64_t *committed = malloc((n ? n : 1) * sizeof *committed);
  store_error serr = {STORE_OK, ""};
  store_kafka_peek *peek = NULL;
  if (committed == NULL) {
    fail(r, STORE_ENOMEM, "out of memory");
    return;
  }
  if (store_kafka_committed(o->source, committed, n, &serr) != STORE_OK ||
      store_kafka_peek_open(&peek, o->source, o->output_topic, &serr) !=
          STORE_OK) {
    set_store_error(r, &serr);
    free(committed);
    return;
  }
  for (size_t i = 0; i < r->n_parts; i++) {
    kafka_fix_partition *p = &r->parts[i];
    int64_t c = committed[p->partition];
    p->group_offset = c;
    if (c < 0) continue;
    int64_t lo = 0, hi = 0;
    if (store_kafka_peek_watermarks(peek, p->partition, &lo, &hi, &serr) !=
        STORE_OK) {
      set_store_error(r, &serr);
      break;
    }
    int64_t best = hi, a = lo, b = hi;
    while (a < b) {
      int64_t mid = a + (b - a) / 2, at = -1;
      int got = store_kafka_peek_at(peek, p->partition, mid, hi, &at, &serr);
      if (got < 0) {
        set_store_error(r, &serr);
        break;
      }
      const void *v = NULL;
      size_t len = 0;
      int64_t from = -1;
      if (got == 0) {
        b = mid;
        continue;
      }
      if (!store_kafka_peek_header(peek, STORE_KAFKA_HEADER_ORIGINAL, &v,
                                   &len) ||
          !original_of(v, len, o->source->kafka->topic, p->partition, &from)) {
        fail(r, STORE_EIO,
             "output topic '%s' partition %" PRId32 " offset %" PRId64
             " holds a message rollsafe did not copy",
             o->output_topic, p->partition, at);
        break;
      }
      if (from >= c) {
        best = at;
        b = mid;
      } else {
        a = at + 1;
      }
    }
    if (r->fix.status != STORE_OK) break;
    p->group_output_offset = best;
  }
  r->has_group_map = r->fix.status == STORE_OK;
  store_kafka_peek_close(peek);
  free(committed);
}

/* The source's partition count (0: no such topic). */
static size_t source_partitions(kafka_fix_result *r,
                                const kafka_fix_options *o) {
  store_error serr = {STORE_OK, ""};
  store_kafka_peek *peek = NULL;
  size_t n = 0;
  if (store_kafka_peek_open(&peek, o->source, o->source->kafka->topic, &serr) !=
          STORE_OK ||
      store_kafka_peek_partitions(peek, &n, &serr) != STORE_OK)
    set_store_error(r, &serr);
  else if (n == 0)
    fail(r, STORE_EUSAGE, "no topic '%s' on the brokers",
         o->source->kafka->topic);
  store_kafka_peek_close(peek);
  return n;
}

/* A new run's result: its id, the topic read and the one written
 * (@written: the output topic, or the journal of a fix in place). */
static void result_start(kafka_fix_result *r, const kafka_fix_options *o,
                         int in_place, const char *written) {
  memset(r, 0, sizeof *r);
  fix_result *f = &r->fix;
  r->in_place = in_place;
  f->key_parts = 1;
  f->passes = in_place ? 2 : 1;
  f->executed = o->fix->execute;
  snprintf(r->topic, sizeof r->topic, "%s", o->source->kafka->topic);
  snprintf(r->output, sizeof r->output, "%s", written);
  run_id_new(f->run.run_id);
  snprintf(f->run.command, sizeof f->run.command, "fix");
}

int kafka_fix_to_topic(kafka_fix_result *r, const kafka_fix_options *o,
                       rs_error *err) {
  double t0 = verify_now_seconds();
  result_start(r, o, 0, o->output_topic);
  const fix_options *fo = o->fix;
  fix_result *f = &r->fix;
  if (strcmp(o->output_topic, o->source->kafka->topic) == 0) {
    fail(r, STORE_EUSAGE,
         "the output topic is the source topic %s: a fix never writes the "
         "topic it reads (for a compacted topic: --in-place-compacted)",
         o->source->kafka->topic);
    return 0;
  }
  int rc = 0;
  store *s = NULL;
  store_kafka_writer *w = NULL;
  fix_planner *planner = NULL;
  int64_t *start_at = NULL, *run_first = NULL, *run_last = NULL;
  store_error serr = {STORE_OK, ""};
  size_t n_src = source_partitions(r, o);
  if (f->status != STORE_OK) goto out;
  start_at = malloc(n_src * sizeof *start_at);
  run_first = malloc(n_src * sizeof *run_first);
  run_last = malloc(n_src * sizeof *run_last);
  if (start_at == NULL || run_first == NULL || run_last == NULL) {
    rc = nomem(err);
    goto out;
  }
  for (size_t i = 0; i < n_src; i++) run_first[i] = run_last[i] = -1;
  rc = resume_points(r, o, n_src, start_at);
  if (rc != 0 || f->status != STORE_OK) goto out;
  if (fo->execute &&
      store_kafka_writer_open(&w, o->source, o->output_topic, n_src,
                              on_delivered, r, &serr) != STORE_OK) {
    set_store_error(r, &serr);
    goto out;
  }
  store_target t = *o->source;
  store_kafka k = *o->source->kafka;
  k.start_at = start_at;
  k.n_start_at = n_src;
  k.start_at_label = "after the output topic's last copy";
  t.kafka = &k;
  if (store_open(&s, &t, NULL, &serr) != STORE_OK ||
      store_scan(s, &serr) != STORE_OK) {
    set_store_error(r, &serr);
    goto out;
  }
  rc = take_partitions(r, s);
  if (rc == 0) rc = fix_planner_new(&planner, fo, err);
  if (rc != 0) {
    if (rc == RS_ENOMEM) nomem(err);
    goto out;
  }
  for (size_t i = 0; i < r->n_parts; i++) {
    kafka_fix_partition *p = &r->parts[i];
    if (p->partition >= 0 && (size_t)p->partition < n_src &&
        start_at[p->partition] >= 0) {
      p->resumed = 1;
      p->resumed_after = start_at[p->partition] - 1;
    }
  }
  added_headers added;
  double started = verify_now_seconds();
  for (;;) {
    throttle(fo, started, f->rows_read);
    store_row row;
    if (!next_row(r, fo, s, &row, &f->complete)) break;
    f->rows_read++;
    if (fo->progress != NULL && f->rows_read % 4096 == 0)
      fo->progress(fo->progress_ctx, f->rows_read);
    kafka_fix_partition *p = part_of(r, row.partition);
    if (p == NULL) continue;
    int64_t offset = store_kafka_row_offset(s);
    action act;
    const uint8_t *conv = NULL;
    size_t conv_len = 0;
    rc = plan_message(r, planner, fo, p, &row, offset, &act, &conv, &conv_len,
                      err);
    if (rc != 0) break;
    if (w == NULL || act == DROP) continue;
    size_t key_len = 0;
    const void *key = store_kafka_row_key(s, &key_len);
    added_set(&added, r->topic, row.partition, offset, f->run.run_id);
    store_kafka_out m = {
        .partition = row.partition,
        .key = key,
        .key_len = key_len,
        .value = act == CONVERT      ? (const void *)conv
                 : row.value_is_null ? NULL
                                     : (const void *)row.value,
        .value_len = act == CONVERT ? conv_len : row.value_len,
        .timestamp_ms = store_kafka_row_timestamp(s),
        .headers_of_row = s,
        .extra = added.h,
        .n_extra = 2,
        .tag = (uint64_t)offset,
    };
    if (store_kafka_produce(w, &m, &serr) != STORE_OK) {
      set_store_error(r, &serr);
      break;
    }
    if (run_first[row.partition] < 0) run_first[row.partition] = offset;
    run_last[row.partition] = offset;
  }
  if (rc == 0) rc = take_partitions(r, s);
  store_close(s);
  s = NULL;
  /* What was produced is delivered even when the run stops early: the
   * output then holds a prefix that the next run continues. */
  if (w != NULL && store_kafka_flush(w, &serr) != STORE_OK) {
    set_store_error(r, &serr);
    f->complete = 0;
  }
  store_kafka_writer_close(w);
  w = NULL;
  if (rc != 0 || f->status != STORE_OK || f->interrupted) {
    f->complete = 0;
    goto out;
  }
  if (fo->execute) {
    /* Indexed by partition number: run_first/run_last are. */
    int64_t *first_by_index = malloc(r->n_parts * sizeof *first_by_index);
    int64_t *last_by_index = malloc(r->n_parts * sizeof *last_by_index);
    if (first_by_index == NULL || last_by_index == NULL) {
      free(first_by_index);
      free(last_by_index);
      rc = nomem(err);
      goto out;
    }
    for (size_t i = 0; i < r->n_parts; i++) {
      int32_t pn = r->parts[i].partition;
      first_by_index[i] =
          pn >= 0 && (size_t)pn < n_src ? run_first[pn] : (int64_t)-1;
      last_by_index[i] =
          pn >= 0 && (size_t)pn < n_src ? run_last[pn] : (int64_t)-1;
    }
    rc = verify_output(r, o, planner, first_by_index, last_by_index, err);
    free(first_by_index);
    free(last_by_index);
    if (rc == 0 && f->status == STORE_OK &&
        o->source->kafka->start == STORE_KAFKA_FROM_GROUP)
      group_map(r, o);
  }
out:
  for (size_t i = 0; i < r->n_parts; i++) {
    kafka_fix_partition *p = &r->parts[i];
    r->copied += p->copied;
    r->converted += p->converted;
    r->lossy_skipped += p->lossy_skipped;
    r->left_alone += p->left_alone;
    r->dropped += p->dropped;
  }
  store_close(s);
  store_kafka_writer_close(w);
  fix_planner_free(planner);
  free(start_at);
  free(run_first);
  free(run_last);
  f->seconds = verify_now_seconds() - t0;
  return rc;
}

/* ---- in place, on a compacted topic ------------------------------------- */

/*
 * Each key's latest message, per partition (compaction keeps that one).
 * Open addressing over a 64-bit FNV-1a hash of (partition, key); keys are
 * copied, so a collision never mixes two keys up.
 */
typedef struct key_slot {
  char *key; /* NULL: empty slot */
  size_t key_len;
  int32_t partition;
  uint64_t hash;
  int64_t latest;   /* offset of the key's latest message */
  int64_t replaces; /* restore: the latest is run's copy of this offset */
  int restored;     /* restore: the latest is the run's restored original */
} key_slot;

typedef struct key_map {
  key_slot *slots;
  size_t cap, n;
} key_map;

static uint64_t key_hash(int32_t partition, const void *key, size_t len) {
  uint64_t h = 1469598103934665603ull;
  const unsigned char *k = key;
  for (int i = 0; i < 4; i++) {
    h ^= (uint64_t)(((uint32_t)partition >> (8 * i)) & 0xFFu);
    h *= 1099511628211ull;
  }
  for (size_t i = 0; i < len; i++) {
    h ^= k[i];
    h *= 1099511628211ull;
  }
  return h;
}

static void key_map_free(key_map *m) {
  for (size_t i = 0; i < m->cap; i++) free(m->slots[i].key);
  free(m->slots);
  memset(m, 0, sizeof *m);
}

/* The slot of (partition, key): an existing one, or a new one when @p add
 * (NULL when out of memory), or NULL when absent. */
static key_slot *key_map_get(key_map *m, int32_t partition, const void *key,
                             size_t len, int add) {
  if (add && (m->n + 1) * 2 > m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 1024;
    key_slot *slots = calloc(cap, sizeof *slots);
    if (slots == NULL) return NULL;
    for (size_t i = 0; i < m->cap; i++) {
      if (m->slots[i].key == NULL) continue;
      size_t j = m->slots[i].hash & (cap - 1);
      while (slots[j].key != NULL) j = (j + 1) & (cap - 1);
      slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
  }
  if (m->cap == 0) return NULL;
  uint64_t h = key_hash(partition, key, len);
  size_t j = h & (m->cap - 1);
  while (m->slots[j].key != NULL) {
    key_slot *s = &m->slots[j];
    if (s->hash == h && s->partition == partition && s->key_len == len &&
        memcmp(s->key, key, len) == 0)
      return s;
    j = (j + 1) & (m->cap - 1);
  }
  if (!add) return NULL;
  key_slot *s = &m->slots[j];
  s->key = malloc(len ? len : 1);
  if (s->key == NULL) return NULL;
  memcpy(s->key, key, len);
  s->key_len = len;
  s->partition = partition;
  s->hash = h;
  s->latest = s->replaces = -1;
  m->n++;
  return s;
}

/* Whether @p s's current row carries header @p name with value @p want. */
static int row_header_is(const store *s, const char *name, const char *want) {
  const void *v = NULL;
  size_t len = 0;
  return store_kafka_row_header(s, name, &v, &len) && v != NULL &&
         len == strlen(want) && memcmp(v, want, len) == 0;
}

/* A reading store of @p topic on the source's cluster: from the beginning,
 * or partition by partition from @p start_at. */
static int open_reader(store **s, const kafka_fix_options *o, const char *topic,
                       store_kafka *k, store_target *t, const int64_t *start_at,
                       size_t n, store_error *serr) {
  *t = *o->source;
  *k = *o->source->kafka;
  k->topic = topic;
  k->start = STORE_KAFKA_FROM_BEGINNING;
  k->group = NULL;
  k->start_at = start_at;
  k->n_start_at = start_at != NULL ? n : 0;
  k->start_at_label = "after what the run read before";
  t->kafka = k;
  *s = NULL;
  if (store_open(s, t, NULL, serr) != STORE_OK ||
      store_scan(*s, serr) != STORE_OK) {
    store_close(*s);
    *s = NULL;
    return -1;
  }
  return 0;
}

/*
 * Reads @p topic (from @p start_at, per partition number) and records each
 * key's latest message in @p m; with @p run (a restore) also whether that
 * message is the run's copy of an original, or the run's restored original.
 * *@p ends gets each partition's end (high watermark at the read's start).
 * @p count: the number of rows read goes to r->fix.rows_read.
 */
static int latest_per_key(kafka_fix_result *r, const kafka_fix_options *o,
                          key_map *m, const int64_t *start_at, int64_t *ends,
                          size_t n, const char *run, int count, rs_error *err) {
  store_target t;
  store_kafka k;
  store *s = NULL;
  store_error serr = {STORE_OK, ""};
  if (open_reader(&s, o, r->topic, &k, &t, start_at, n, &serr) != 0) {
    set_store_error(r, &serr);
    return 0;
  }
  int rc = 0;
  for (;;) {
    store_row row;
    if (!next_row(r, o->fix, s, &row, NULL)) break;
    if (count) r->fix.rows_read++;
    size_t key_len = 0;
    const void *key = store_kafka_row_key(s, &key_len);
    if (key == NULL) continue;
    key_slot *slot = key_map_get(m, row.partition, key, key_len, 1);
    if (slot == NULL) {
      rc = nomem(err);
      break;
    }
    slot->latest = store_kafka_row_offset(s);
    slot->replaces = -1;
    slot->restored = 0;
    if (run == NULL) continue;
    const void *v = NULL;
    size_t len = 0;
    int64_t from = -1;
    if (row_header_is(s, STORE_KAFKA_HEADER_RUN, run) &&
        store_kafka_row_header(s, STORE_KAFKA_HEADER_ORIGINAL, &v, &len) &&
        original_of(v, len, r->topic, row.partition, &from))
      slot->replaces = from;
    slot->restored = row_header_is(s, STORE_KAFKA_HEADER_RESTORED, run);
  }
  const store_partition *sp;
  size_t np;
  store_partitions(s, &sp, &np);
  for (size_t i = 0; i < np; i++)
    if (sp[i].partition >= 0 && (size_t)sp[i].partition < n)
      ends[sp[i].partition] = sp[i].end_offset;
  store_close(s);
  return rc;
}

/* Whether a cleanup.policy ("compact", "delete", "compact,delete") has
 * compaction. */
static int compacts(const char *policy) {
  const char *p = policy;
  while (*p) {
    while (*p == ' ' || *p == ',') p++;
    size_t n = strcspn(p, ", ");
    if (n == 7 && strncmp(p, "compact", 7) == 0) return 1;
    p += n;
  }
  return 0;
}

/* The journal topic's partition count (0: not there; the error is set). */
static size_t journal_partitions(kafka_fix_result *r,
                                 const kafka_fix_options *o) {
  store_error serr = {STORE_OK, ""};
  store_kafka_peek *peek = NULL;
  size_t n = 0;
  if (store_kafka_peek_open(&peek, o->source, o->journal_topic, &serr) !=
          STORE_OK ||
      store_kafka_peek_partitions(peek, &n, &serr) != STORE_OK)
    set_store_error(r, &serr);
  else if (n == 0)
    fail(r, STORE_EUSAGE,
         "no journal topic '%s' on the brokers: create it first (rollsafe "
         "creates no topics), with a retention long enough to restore from "
         "(retention.ms=-1)",
         o->journal_topic);
  store_kafka_peek_close(peek);
  return n;
}

/*
 * Before a replacement of @p p's message at @p offset goes out: the
 * messages that arrived in partition @p p since *known_end (not this
 * run's own replacements) are taken into @p m, so that a key a producer
 * wrote meanwhile is left to that producer. 1 when the message is still its
 * key's latest, 0 when it is not, <0 on error (set in @p r).
 */
static int still_latest(kafka_fix_result *r, store_kafka_peek *peek, key_map *m,
                        int32_t p, int64_t offset, const void *key,
                        size_t key_len, int64_t *known_end, rs_error *err) {
  store_error serr = {STORE_OK, ""};
  int64_t lo = 0, hi = 0;
  if (store_kafka_peek_watermarks(peek, p, &lo, &hi, &serr) != STORE_OK) {
    set_store_error(r, &serr);
    return -1;
  }
  for (int64_t at = *known_end; at < hi;) {
    int64_t got_at = -1;
    int got = store_kafka_peek_at(peek, p, at, hi, &got_at, &serr);
    if (got < 0) {
      set_store_error(r, &serr);
      return -1;
    }
    if (got == 0) break;
    at = got_at + 1;
    const void *v = NULL;
    size_t len = 0;
    if (store_kafka_peek_header(peek, STORE_KAFKA_HEADER_RUN, &v, &len) &&
        v != NULL && len == strlen(r->fix.run.run_id) &&
        memcmp(v, r->fix.run.run_id, len) == 0)
      continue; /* this run's own replacement */
    size_t klen = 0;
    const void *k = store_kafka_peek_key(peek, &klen);
    if (k == NULL) continue;
    key_slot *slot = key_map_get(m, p, k, klen, 1);
    if (slot == NULL) {
      nomem(err);
      return RS_ENOMEM;
    }
    slot->latest = got_at;
  }
  if (hi > *known_end) *known_end = hi;
  key_slot *slot = key_map_get(m, p, key, key_len, 0);
  return slot != NULL && slot->latest == offset;
}

/* Common start of in place and restore: the policy, the partitions, the
 * journal. 0 when the run can go on. */
static int in_place_checks(kafka_fix_result *r, const kafka_fix_options *o,
                           size_t *n_src, size_t *n_journal) {
  store_error serr = {STORE_OK, ""};
  if (store_kafka_cleanup_policy(o->source, r->topic, r->policy,
                                 sizeof r->policy, &serr) != STORE_OK) {
    set_store_error(r, &serr);
    return -1;
  }
  if (!compacts(r->policy)) {
    fail(r, STORE_EUSAGE,
         "topic %s has cleanup.policy=%s, not compact: a message produced "
         "under the same key does not replace the original there (the old "
         "consumers would read both); fix it to an output topic "
         "(--output-topic)",
         r->topic, r->policy);
    return -1;
  }
  if (strcmp(o->journal_topic, r->topic) == 0) {
    fail(r, STORE_EUSAGE, "the journal topic is the topic itself (%s)",
         r->topic);
    return -1;
  }
  *n_src = source_partitions(r, o);
  if (r->fix.status != STORE_OK) return -1;
  *n_journal = journal_partitions(r, o);
  return r->fix.status != STORE_OK ? -1 : 0;
}

int kafka_fix_in_place(kafka_fix_result *r, const kafka_fix_options *o,
                       rs_error *err) {
  double t0 = verify_now_seconds();
  result_start(r, o, 1, o->journal_topic);
  const fix_options *fo = o->fix;
  fix_result *f = &r->fix;
  key_map m = {NULL, 0, 0};
  int64_t *ends = NULL, *known = NULL;
  store *s = NULL;
  store_kafka_writer *journal = NULL, *topic = NULL;
  store_kafka_peek *peek = NULL;
  fix_planner *planner = NULL;
  store_error serr = {STORE_OK, ""};
  int rc = 0;
  size_t n_src = 0, n_journal = 0;
  if (in_place_checks(r, o, &n_src, &n_journal) != 0) goto out;
  ends = calloc(n_src, sizeof *ends);
  known = calloc(n_src, sizeof *known);
  if (ends == NULL || known == NULL) {
    rc = nomem(err);
    goto out;
  }
  /* Pass 1: each key's latest message up to the end now. */
  rc = latest_per_key(r, o, &m, NULL, ends, n_src, NULL, 0, err);
  if (rc != 0 || f->status != STORE_OK || f->interrupted) goto out;
  memcpy(known, ends, n_src * sizeof *known);
  if (fo->execute &&
      (store_kafka_writer_open(&journal, o->source, o->journal_topic, 1, NULL,
                               NULL, &serr) != STORE_OK ||
       store_kafka_writer_open(&topic, o->source, r->topic, n_src, on_delivered,
                               r, &serr) != STORE_OK ||
       store_kafka_peek_open(&peek, o->source, r->topic, &serr) != STORE_OK)) {
    set_store_error(r, &serr);
    goto out;
  }
  /* Pass 2: the latest message of each key, planned; the ones to convert
   * journaled, then replaced. */
  store_target t;
  store_kafka k;
  if (open_reader(&s, o, r->topic, &k, &t, NULL, 0, &serr) != 0) {
    set_store_error(r, &serr);
    goto out;
  }
  rc = take_partitions(r, s);
  if (rc == 0) rc = fix_planner_new(&planner, fo, err);
  if (rc != 0) goto out;
  added_headers added;
  double started = verify_now_seconds();
  for (;;) {
    throttle(fo, started, f->rows_read);
    store_row row;
    if (!next_row(r, fo, s, &row, &f->complete)) break;
    kafka_fix_partition *p = part_of(r, row.partition);
    int64_t offset = store_kafka_row_offset(s);
    if (p == NULL || row.partition < 0 || (size_t)row.partition >= n_src ||
        offset >= ends[row.partition])
      continue; /* arrived after pass 1: the next run's */
    f->rows_read++;
    size_t key_len = 0;
    const void *key = store_kafka_row_key(s, &key_len);
    if (key == NULL) {
      p->unkeyed++;
      continue;
    }
    key_slot *slot = key_map_get(&m, row.partition, key, key_len, 0);
    if (slot == NULL || slot->latest != offset) {
      p->superseded++;
      continue;
    }
    if (row.value_is_null) {
      p->copied++; /* a tombstone: nothing to read */
      continue;
    }
    int oc;
    const char *why;
    const uint8_t *conv = NULL;
    size_t conv_len = 0;
    rc = fix_planner_plan(planner, row.value, row.value_len, &conv, &conv_len,
                          &oc, &why, err);
    if (rc != 0) break;
    if (oc < 0) {
      p->copied++;
      continue;
    }
    if (oc != FIX_CONVERTED && oc != FIX_LOSSY) {
      if (oc == FIX_LOSSY_SKIPPED)
        p->lossy_skipped++;
      else
        p->left_alone++;
      rc = fix_count(f, fo, (fix_outcome)oc, row.key, why);
      if (rc != 0) break;
      continue;
    }
    if (fo->execute) {
      int latest = still_latest(r, peek, &m, row.partition, offset, key,
                                key_len, &known[row.partition], err);
      if (latest < 0) {
        rc = latest == RS_ENOMEM ? RS_ENOMEM : 0;
        break;
      }
      if (!latest) {
        p->superseded++;
        continue;
      }
      /* The original first, durable before anything replaces it. */
      added_set(&added, r->topic, row.partition, offset, f->run.run_id);
      store_kafka_header jh[3] = {
          added.h[0], added.h[1], {STORE_KAFKA_HEADER_KEY, key, key_len}};
      store_kafka_out je = {
          .partition = (int32_t)((size_t)row.partition % n_journal),
          .key = added.original,
          .key_len = strlen(added.original),
          .value = row.value,
          .value_len = row.value_len,
          .timestamp_ms = store_kafka_row_timestamp(s),
          .headers_of_row = s,
          .extra = jh,
          .n_extra = 3,
      };
      store_kafka_out rep = {
          .partition = row.partition,
          .key = key,
          .key_len = key_len,
          .value = conv,
          .value_len = conv_len,
          .headers_of_row = s,
          .extra = added.h,
          .n_extra = 2,
          .tag = (uint64_t)offset,
      };
      if (store_kafka_produce(journal, &je, &serr) != STORE_OK ||
          store_kafka_flush(journal, &serr) != STORE_OK ||
          store_kafka_produce(topic, &rep, &serr) != STORE_OK) {
        set_store_error(r, &serr);
        break;
      }
    }
    p->converted++;
    p->lossy += oc == FIX_LOSSY;
    rc = fix_count(f, fo, (fix_outcome)oc, row.key, why);
    if (rc == 0) rc = add_repaired(p, offset);
    if (rc != 0) break;
  }
  if (rc == 0 && take_partitions(r, s) != 0) rc = nomem(err);
  store_close(s);
  s = NULL;
  if (topic != NULL && store_kafka_flush(topic, &serr) != STORE_OK) {
    set_store_error(r, &serr);
    f->complete = 0;
  }
out:
  if (rc != 0 || f->status != STORE_OK || f->interrupted) f->complete = 0;
  for (size_t i = 0; i < r->n_parts; i++) {
    kafka_fix_partition *p = &r->parts[i];
    r->copied += p->copied;
    r->converted += p->converted;
    r->lossy_skipped += p->lossy_skipped;
    r->left_alone += p->left_alone;
    r->superseded += p->superseded;
    r->unkeyed += p->unkeyed;
  }
  store_close(s);
  store_kafka_writer_close(journal);
  store_kafka_writer_close(topic);
  store_kafka_peek_close(peek);
  fix_planner_free(planner);
  key_map_free(&m);
  free(ends);
  free(known);
  f->seconds = verify_now_seconds() - t0;
  return rc;
}

/* ---- restore of an in-place run ----------------------------------------- */

int kafka_restore(kafka_fix_result *r, const kafka_fix_options *o,
                  rs_error *err) {
  memset(r, 0, sizeof *r);
  const fix_options *fo = o->fix;
  fix_result *f = &r->fix;
  double t0 = verify_now_seconds();
  r->restore = 1;
  f->key_parts = 1;
  f->passes = 1;
  f->executed = fo->execute;
  snprintf(r->topic, sizeof r->topic, "%s", o->source->kafka->topic);
  snprintf(r->output, sizeof r->output, "%s", o->journal_topic);
  snprintf(f->run.run_id, sizeof f->run.run_id, "%s", o->run_id);
  snprintf(f->run.command, sizeof f->run.command, "restore");
  key_map m = {NULL, 0, 0};
  int64_t *ends = NULL;
  store *s = NULL;
  store_kafka_writer *topic = NULL;
  store_error serr = {STORE_OK, ""};
  int rc = 0;
  size_t n_src = 0, n_journal = 0;
  if (strlen(o->run_id) >= sizeof f->run.run_id) {
    fail(r, STORE_EUSAGE, "no run '%.60s...': run ids are shorter", o->run_id);
    goto out;
  }
  if (in_place_checks(r, o, &n_src, &n_journal) != 0) goto out;
  ends = calloc(n_src, sizeof *ends);
  if (ends == NULL) {
    rc = nomem(err);
    goto out;
  }
  /* Each key's latest message, and whether it is still the run's. */
  {
    store_target t;
    store_kafka k;
    if (open_reader(&s, o, r->topic, &k, &t, NULL, 0, &serr) != 0) {
      set_store_error(r, &serr);
      goto out;
    }
    rc = take_partitions(r, s);
    store_close(s);
    s = NULL;
    if (rc != 0) {
      rc = nomem(err);
      goto out;
    }
  }
  rc = latest_per_key(r, o, &m, NULL, ends, n_src, o->run_id, 0, err);
  if (rc != 0 || f->status != STORE_OK || f->interrupted) goto out;
  if (fo->execute &&
      store_kafka_writer_open(&topic, o->source, r->topic, n_src, on_delivered,
                              r, &serr) != STORE_OK) {
    set_store_error(r, &serr);
    goto out;
  }
  /* The journal's entries of the run, in the order they were written. */
  store_target t;
  store_kafka k;
  if (open_reader(&s, o, o->journal_topic, &k, &t, NULL, 0, &serr) != 0) {
    set_store_error(r, &serr);
    goto out;
  }
  static const char *const ours[] = {STORE_KAFKA_HEADER_ORIGINAL,
                                     STORE_KAFKA_HEADER_RUN,
                                     STORE_KAFKA_HEADER_KEY};
  store_kafka_header restored = {STORE_KAFKA_HEADER_RESTORED, o->run_id,
                                 strlen(o->run_id)};
  for (;;) {
    store_row row;
    if (!next_row(r, fo, s, &row, &f->complete)) break;
    if (!row_header_is(s, STORE_KAFKA_HEADER_RUN, o->run_id)) continue;
    const void *v = NULL, *key = NULL;
    size_t len = 0, key_len = 0;
    char orig_topic[STORE_KAFKA_TOPIC_MAX];
    int32_t part = -1;
    int64_t from = -1;
    if (!store_kafka_row_header(s, STORE_KAFKA_HEADER_ORIGINAL, &v, &len) ||
        store_kafka_original_parse(v, len, orig_topic, &part, &from) != 0 ||
        strcmp(orig_topic, r->topic) != 0)
      continue; /* another topic's run of the same id: not this one's */
    f->rows_read++;
    kafka_fix_partition *p = part_of(r, part);
    char name[48];
    snprintf(name, sizeof name, "%" PRId32 "@%" PRId64, part, from);
    store_kafka_row_header(s, STORE_KAFKA_HEADER_KEY, &key, &key_len);
    key_slot *slot =
        key != NULL ? key_map_get(&m, part, key, key_len, 0) : NULL;
    if (p == NULL || slot == NULL || slot->replaces != from || slot->restored) {
      rc = fix_count(f, fo, FIX_CONFLICT, name,
                     slot != NULL && slot->restored
                         ? "already restored: the key's latest message is "
                           "the original this run put back"
                         : "the key's latest message is not the fix's copy "
                           "(a producer wrote the key since, or the fix "
                           "never wrote it): left alone");
      if (p != NULL) p->left_alone++;
      if (rc != 0) break;
      continue;
    }
    if (topic != NULL) {
      store_kafka_out back = {
          .partition = part,
          .key = key,
          .key_len = key_len,
          .value = row.value_is_null ? NULL : row.value,
          .value_len = row.value_len,
          .timestamp_ms = store_kafka_row_timestamp(s),
          .headers_of_row = s,
          .strip_last = ours,
          .n_strip_last = 3,
          .extra = &restored,
          .n_extra = 1,
          .tag = (uint64_t)from,
      };
      if (store_kafka_produce(topic, &back, &serr) != STORE_OK) {
        set_store_error(r, &serr);
        break;
      }
    }
    slot->restored = 1; /* a second entry of it is not restored twice */
    p->converted++;
    rc = fix_count(f, fo, FIX_RESTORED, name,
                   fo->execute ? ""
                               : "would be restored: the key's latest "
                                 "message is still the fix's copy");
    if (rc == 0) rc = add_repaired(p, from);
    if (rc != 0) break;
  }
  store_close(s);
  s = NULL;
  if (topic != NULL && store_kafka_flush(topic, &serr) != STORE_OK) {
    set_store_error(r, &serr);
    f->complete = 0;
  }
  if (rc == 0 && f->status == STORE_OK && f->rows_read == 0)
    fail(r, STORE_EUSAGE,
         "no run '%s' of topic %s in journal topic %s (an in-place fix's "
         "run id; a fix to an output topic leaves the source as it was: "
         "nothing to restore)",
         o->run_id, r->topic, o->journal_topic);
out:
  if (rc != 0 || f->status != STORE_OK || f->interrupted) f->complete = 0;
  store_close(s);
  store_kafka_writer_close(topic);
  key_map_free(&m);
  free(ends);
  f->seconds = verify_now_seconds() - t0;
  return rc;
}

void kafka_fix_result_dispose(kafka_fix_result *r) {
  if (r == NULL) return;
  for (size_t i = 0; i < r->n_parts; i++) free(r->parts[i].repaired);
  free(r->parts);
  fix_result_dispose(&r->fix);
  memset(r, 0, sizeof *r);
}
