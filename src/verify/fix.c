#define _POSIX_C_SOURCE 200809L
/*
 * src/verify/fix.c: the fix and restore engines.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store_stream.h"
#include "verify/util.h"
#include "verify/fix.h"

static const char *const outcome_names[FIX_OUTCOME_COUNT] = {
    "converted",    "lossy",        "lossy_skipped", "impossible", "corrupt",
    "check_failed", "conflict",     "restored",      "in_flight",  "gone",
    "dropped",      "undetermined", "unnamed"};

const char *fix_outcome_name(fix_outcome o) {
  return (unsigned)o < FIX_OUTCOME_COUNT ? outcome_names[o] : "?";
}

static void sleep_seconds(double s) {
  if (s <= 0) return;
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  /* A signal ends the wait early: the caller looks at the flag. */
  nanosleep(&ts, NULL);
}

void fix_result_dispose(fix_result *r) {
  if (r == NULL) return;
  for (int o = 0; o < FIX_OUTCOME_COUNT; o++) {
    for (size_t i = 0; i < r->n_samples[o]; i++) {
      free(r->samples[o][i].key);
      free(r->samples[o][i].why);
    }
    free(r->samples[o]);
  }
  free(r->hooks);
  for (size_t i = 0; i < r->n_unsettled_keys; i++) {
    free(r->unsettled_keys[i].key);
    free(r->unsettled_keys[i].why);
  }
  free(r->unsettled_keys);
  memset(r, 0, sizeof *r);
}

/* Whether the row named by @p key is in this fix's part of the target
 * (fix_options.part_count): the same hash as scan --shard. */
static int in_part(const fix_options *o, const char *key) {
  if (o->part_count <= 1) return 1;
  return scan_key_hash(key, strlen(key)) % o->part_count == o->part_index;
}

/* ---- the parts of one target (--jobs, --shard) ------------------------- */

/* Whether @p s is an integer's text ("-12", "7"), and its value. */
static int integer_key(const char *s, long long *v) {
  if (s == NULL || *s == '\0') return 0;
  char *end;
  long long x = strtoll(s, &end, 10);
  if (*end != '\0') return 0;
  *v = x;
  return 1;
}

/* Key order for merged samples: integers by value, other keys by their
 * text, an integer before a text. */
static int key_order(const void *pa, const void *pb) {
  const fix_sample *a = pa, *b = pb;
  long long x, y;
  int ia = integer_key(a->key, &x), ib = integer_key(b->key, &y);
  if (ia && ib) return x < y ? -1 : x > y;
  if (ia != ib) return ia ? -1 : 1;
  return strcmp(a->key != NULL ? a->key : "", b->key != NULL ? b->key : "");
}

/* Appends @p n samples of @p add to *list (taking their strings), sorts
 * the list by key and frees what falls past @p max. 0 or RS_ENOMEM (the
 * samples of @p add are then freed). */
static int merge_samples(fix_sample **list, size_t *n, fix_sample *add,
                         size_t n_add, size_t max) {
  if (n_add == 0) return 0;
  fix_sample *grown = realloc(*list, (*n + n_add) * sizeof *grown);
  if (grown == NULL) {
    for (size_t i = 0; i < n_add; i++) {
      free(add[i].key);
      free(add[i].why);
    }
    return RS_ENOMEM;
  }
  memcpy(grown + *n, add, n_add * sizeof *add);
  *list = grown;
  *n += n_add;
  qsort(grown, *n, sizeof *grown, key_order);
  while (*n > max) {
    (*n)--;
    free(grown[*n].key);
    free(grown[*n].why);
  }
  return 0;
}

int fix_result_merge(fix_result *into, fix_result *from, int first,
                     size_t max_samples) {
  int rc = 0;
  if (first) {
    into->executed = from->executed;
    into->complete = from->complete;
    into->verified = from->verified;
    into->key_parts = from->key_parts;
    into->run = from->run;
    into->hooks = from->hooks;
    into->n_hooks = from->n_hooks;
    from->hooks = NULL;
    from->n_hooks = 0;
  } else {
    into->executed |= from->executed;
    into->complete &= from->complete;
    into->verified &= from->verified;
    /* The target's run counts are the sum of its parts' rows. */
    into->run.restored += from->run.restored;
  }
  into->interrupted |= from->interrupted;
  into->deadline_reached |= from->deadline_reached;
  if (into->status == STORE_OK && from->status != STORE_OK) {
    into->status = from->status;
    memcpy(into->error, from->error, sizeof into->error);
  }
  if (into->fault == STORE_FAULT_NONE) into->fault = from->fault;
  into->reconnects += from->reconnects;
  into->rows_read += from->rows_read;
  if (from->passes > into->passes) into->passes = from->passes;
  into->busy_retries += from->busy_retries;
  into->remaining += from->remaining;
  into->remaining_undetermined += from->remaining_undetermined;
  for (int v = 0; v < RS_VERDICT_COUNT; v++)
    into->remaining_verdicts[v] += from->remaining_verdicts[v];
  into->unsettled += from->unsettled;
  /* The parts ran side by side: the target took the longest. */
  if (from->seconds > into->seconds) into->seconds = from->seconds;
  for (int o = 0; o < FIX_OUTCOME_COUNT; o++) {
    into->counts[o] += from->counts[o];
    int m = merge_samples(&into->samples[o], &into->n_samples[o],
                          from->samples[o], from->n_samples[o], max_samples);
    if (rc == 0) rc = m;
    free(from->samples[o]);
    from->samples[o] = NULL;
    from->n_samples[o] = 0;
  }
  int m =
      merge_samples(&into->unsettled_keys, &into->n_unsettled_keys,
                    from->unsettled_keys, from->n_unsettled_keys, max_samples);
  if (rc == 0) rc = m;
  free(from->unsettled_keys);
  from->unsettled_keys = NULL;
  from->n_unsettled_keys = 0;
  fix_result_dispose(from);
  return rc;
}

/* Keeps the key of a row the current pass left unsettled (the first
 * max_samples of the pass); 0 or RS_ENOMEM. */
static int keep_unsettled(fix_result *r, size_t max, const char *key,
                          unsigned parts, const char *why) {
  if (r->n_unsettled_keys >= max) return 0;
  fix_sample *grown =
      realloc(r->unsettled_keys, (r->n_unsettled_keys + 1) * sizeof *grown);
  if (grown == NULL) return RS_ENOMEM;
  r->unsettled_keys = grown;
  fix_sample *k = &grown[r->n_unsettled_keys++];
  k->key = verify_strdup(key);
  k->why = verify_strdup(why);
  k->key_parts = parts;
  k->key_position = parts == 0;
  return k->key == NULL || k->why == NULL ? RS_ENOMEM : 0;
}

/* A new pass: the unsettled keys are the new pass's. */
static void forget_unsettled(fix_result *r) {
  for (size_t i = 0; i < r->n_unsettled_keys; i++) {
    free(r->unsettled_keys[i].key);
    free(r->unsettled_keys[i].why);
  }
  r->n_unsettled_keys = 0;
}

/* Counts an outcome and keeps the first keys of each (@p parts: as
 * store_row.key_parts); 0 or RS_ENOMEM. */
static int count_at(fix_result *r, const fix_options *o, fix_outcome oc,
                    const char *key, unsigned parts, const char *why) {
  r->counts[oc]++;
  if (r->n_samples[oc] >= o->max_samples) return 0;
  /* A message in flight pass after pass is one example, not several. */
  if (r->n_samples[oc] > 0 &&
      strcmp(r->samples[oc][r->n_samples[oc] - 1].key, key) == 0)
    return 0;
  fix_sample *grown =
      realloc(r->samples[oc], (r->n_samples[oc] + 1) * sizeof *grown);
  if (grown == NULL) return RS_ENOMEM;
  r->samples[oc] = grown;
  fix_sample *s = &grown[r->n_samples[oc]];
  s->key = verify_strdup(key);
  s->why = verify_strdup(why != NULL ? why : "");
  s->key_parts = parts;
  s->key_position = parts == 0;
  r->n_samples[oc]++;
  return s->key == NULL || s->why == NULL ? RS_ENOMEM : 0;
}

/* count_at for a row named by the store's key. */
static int count(fix_result *r, const fix_options *o, fix_outcome oc,
                 const char *key, const char *why) {
  return count_at(r, o, oc, key, r->key_parts, why);
}

/* Why a record the fix would rewrite is left alone when no key names its
 * row. */
static const char unnamed_why[] =
    "its key is NULL: a fix rewrites rows by key, so this row is left "
    "alone; give it a key to fix it";

/* Counts the outcome @p oc of a record whose row no key names: what would
 * be rewritten is counted unnamed instead. */
static int count_unnamed(fix_result *r, const fix_options *o, int oc,
                         const char *key, const char *why) {
  if (oc == FIX_CONVERTED || oc == FIX_LOSSY)
    return count_at(r, o, FIX_UNNAMED, key, 0, unnamed_why);
  return count_at(r, o, (fix_outcome)oc, key, 0, why);
}

/* Why a record has its outcome: a text grown as needed, reused from record
 * to record, so that every loss a conversion declares is named in it. */
typedef struct why_text {
  char *s; /* "" until something is written */
  size_t len, cap;
  int nomem; /* an append failed: the text is incomplete */
} why_text;

static void why_clear(why_text *w) {
  w->len = 0;
  w->nomem = 0;
  if (w->s != NULL) w->s[0] = '\0';
}

/* Appends to @p w; on failure w->nomem is set and the text stays as it
 * was. */
static void why_append(why_text *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void why_append(why_text *w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) {
    w->nomem = 1;
    return;
  }
  size_t need = w->len + (size_t)n + 1;
  if (need > w->cap) {
    size_t cap = w->cap != 0 ? w->cap : 256;
    while (cap < need) cap *= 2;
    char *grown = realloc(w->s, cap);
    if (grown == NULL) {
      w->nomem = 1;
      return;
    }
    w->s = grown;
    w->cap = cap;
  }
  va_start(ap, fmt);
  vsnprintf(w->s + w->len, w->cap - w->len, fmt, ap);
  va_end(ap);
  w->len += (size_t)n;
}

/* "path: text; path: text" of every loss a conversion lists, and how many
 * more it found than it lists (rs_conversion_losses_omitted), appended to
 * @p w. */
static void losses_text(why_text *w, const rs_conversion *conv) {
  size_t n = rs_conversion_loss_count(conv);
  for (size_t i = 0; conv != NULL && i < n; i++) {
    const rs_loss *l = rs_conversion_loss(conv, i);
    why_append(w, "%s%s%s%s", i ? "; " : "", rs_loss_path(l),
               rs_loss_path(l)[0] ? ": " : "", rs_loss_text(l));
  }
  size_t more = rs_conversion_losses_omitted(conv);
  if (more > 0)
    why_append(w, "%s%zu more loss%s not listed", n ? "; and " : "", more,
               more == 1 ? "" : "es");
}

static void first_reason(why_text *w, const rs_classification *c) {
  const rs_reason *r = rs_classification_reason(c, 0);
  why_append(w, "%s%s%s", r ? rs_reason_path(r) : "",
             r && rs_reason_path(r)[0] ? ": " : "", r ? rs_reason_text(r) : "");
}

/* Why a record is undetermined, and what settles it. */
static void undetermined_why(char *buf, size_t size,
                             const rs_classification *c) {
  if (rs_classification_writer_basis(c) == RS_WRITER_NO_READER) {
    snprintf(buf, size,
             "protobuf-c has no reader of the reader's version (an editions "
             "file or a group field): not rewritten; name the reader's "
             "runtime (--reader-runtime)");
    return;
  }
  if (rs_classification_writer_basis(c) == RS_WRITER_EXTENSION) {
    snprintf(buf, size,
             "read otherwise by Java with an ExtensionRegistry than "
             "without (reader_options: extension_registry says which): "
             "not rewritten");
    return;
  }
  if (rs_classification_writer_basis(c) == RS_WRITER_UNDECODED) {
    snprintf(buf, size,
             "holds fields written as groups (proto2 groups, editions' "
             "message_encoding = DELIMITED), which rollsafe cannot decode: "
             "not rewritten");
    return;
  }
  if (rs_classification_writer_basis(c) == RS_WRITER_UNREGISTERED) {
    snprintf(buf, size,
             "written as format version %u, which the registry lacks: "
             "register that version",
             rs_classification_written_version(c));
    return;
  }
  char versions[160] = "";
  uint64_t cand = rs_classification_writer_candidates(c);
  size_t used = 0;
  for (unsigned v = 1; v <= 64 && used < sizeof versions; v++) {
    if (!(cand >> (v - 1) & 1u)) continue;
    int n = snprintf(versions + used, sizeof versions - used, "%s%u",
                     used ? ", " : "", v);
    if (n < 0) break;
    used += (size_t)n;
  }
  snprintf(buf, size,
           "raw bytes that versions %s explain with different values: not "
           "rewritten; give --raw-writer N with a --where selecting the "
           "rows that version wrote",
           used ? versions : "(several)");
}

/* What the engine shares between records. */
typedef struct engine {
  const fix_options *o;
  rs_arena *row_arena;   /* classification of one record, reset per record */
  rs_arena *batch_arena; /* new bytes of one batch, reset per batch */
  rs_arena *spare_arena; /* the next batch's, while one is in flight */
  rs_options row_opts, quick_opts, batch_opts;
  verify_bytes decoded; /* the record bytes of a text column's value */
  why_text why;         /* the last planned record's */
  /* The rows the execute passes read, and their values' bytes: what the
   * verification pass sizes its pages by (verify_page_rows). */
  uint64_t page_rows_seen, page_bytes_seen;
} engine;

/* Whether a loss @p declared lists is in the record's field @p top (0, the
 * whole record, is never declared). */
static int declared_in(const rs_conversion *declared, uint32_t top) {
  for (size_t k = 0; top != 0 && k < rs_conversion_loss_count(declared); k++)
    if (rs_loss_top_field(rs_conversion_loss(declared, k)) == top) return 1;
  return 0;
}

/*
 * Whether a pre-write check found what the conversion did not declare. A
 * misread is declared when a loss the conversion lists is in the same field
 * of the record (rs_reason_top_field, rs_loss_top_field: "f6(6).s(1).a(1)"
 * is in field 6, whatever the numbers inside it); a misread of the whole
 * record and anything unreadable never are. The reasons the check found
 * past its list are declared only when each of the fields they are in
 * (rs_classification_omitted_field) is. *bad is the first undeclared
 * reason listed, or NULL for one past the list.
 */
static int undeclared(const rs_classification *c, const rs_conversion *declared,
                      const rs_reason **bad) {
  *bad = NULL;
  for (size_t i = 0; i < rs_classification_reason_count(c); i++) {
    const rs_reason *r = rs_classification_reason(c, i);
    rs_verdict v = rs_reason_verdict(r);
    if (v <= RS_VERDICT_IGNORED_FIELDS) continue;
    if (v != RS_VERDICT_MISREAD ||
        !declared_in(declared, rs_reason_top_field(r))) {
      *bad = r;
      return 1;
    }
  }
  size_t n = rs_classification_omitted_field_count(c);
  if (n == SIZE_MAX) return 1;
  for (size_t i = 0; i < n; i++)
    if (!declared_in(declared, rs_classification_omitted_field(c, i))) return 1;
  return 0;
}

/*
 * Plans one record: nothing to do (returns 0, *oc untouched and *out
 * empty), or an outcome; for FIX_CONVERTED and FIX_LOSSY, *out holds the
 * bytes to write (from the batch arena). @return 0 or a codec error.
 */
static int plan_record(engine *e, const uint8_t *value, size_t len, rs_buf *out,
                       int *oc, rs_error *err);

/*
 * The new stored value: @p out's record bytes encoded as @p variant, the
 * form of the value they replace, in the batch arena. 0 or RS_ENOMEM.
 */
static int encode_as(engine *e, const colenc_variant *variant, rs_buf *out,
                     rs_error *err) {
  if (variant->kind == COLENC_BINARY) return 0;
  const ProtobufCAllocator *a = e->batch_opts.allocator;
  size_t n = colenc_encoded_len(variant, out->len);
  uint8_t *text = a->alloc(a->allocator_data, n > 0 ? n : 1);
  if (text == NULL) {
    err->code = RS_ENOMEM;
    err->offset = RS_OFFSET_NONE;
    snprintf(err->message, sizeof err->message,
             "out of memory encoding a record as %s",
             colenc_name(variant->kind));
    return RS_ENOMEM;
  }
  out->len = colenc_encode(variant, out->data, out->len, text);
  out->data = text;
  out->cap = n;
  return 0;
}

/*
 * Plans one stored value: decoded as the column's encoding (a value that
 * is not is corrupt), planned as a record, and the bytes to write encoded
 * back in the value's own form. See plan_record for the rest.
 */
static int plan(engine *e, const uint8_t *value, size_t len, rs_buf *out,
                int *oc, const char **why, rs_error *err) {
  const uint8_t *bytes = NULL;
  size_t n = 0;
  colenc_variant variant;
  colenc_error cerr;
  why_clear(&e->why);
  *why = "";
  int rc = verify_decode(e->o->column_encoding, value, len, &e->decoded, &bytes,
                         &n, &variant, &cerr);
  if (rc == -1) {
    *oc = FIX_CORRUPT;
    why_append(&e->why, "%s", cerr.message);
  } else if (rc != 0) {
    err->code = RS_ENOMEM;
    err->offset = RS_OFFSET_NONE;
    snprintf(err->message, sizeof err->message, "out of memory");
    return rc;
  } else {
    rc = plan_record(e, bytes, n, out, oc, err);
    if (rc == 0 && (*oc == FIX_CONVERTED || *oc == FIX_LOSSY))
      rc = encode_as(e, &variant, out, err);
    if (rc != 0) return rc;
  }
  if (e->why.nomem) {
    err->code = RS_ENOMEM;
    err->offset = RS_OFFSET_NONE;
    snprintf(err->message, sizeof err->message,
             "out of memory writing why a record is %s",
             fix_outcome_name((fix_outcome)*oc));
    return RS_ENOMEM;
  }
  if (e->why.s != NULL) *why = e->why.s;
  return 0;
}

/* plan() for record bytes; e->why gets the reason of the outcome. */
static int plan_record(engine *e, const uint8_t *value, size_t len, rs_buf *out,
                       int *oc, rs_error *err) {
  const fix_options *o = e->o;
  why_text *why = &e->why;
  *oc = -1;
  rs_classification *c = NULL;
  int rc = rs_classify(&c, o->registry, o->type, &o->reader, value, len,
                       &e->quick_opts, err);
  if (rc != 0) return rc;
  rs_verdict v = rs_classification_verdict(c);
  if (!rs_classification_decided(c)) {
    char text[512];
    undetermined_why(text, sizeof text, c);
    why_append(why, "%s", text);
    *oc = FIX_UNDETERMINED;
    rs_arena_reset(e->row_arena);
    return 0;
  }
  if (v <= RS_VERDICT_IGNORED_FIELDS) {
    rs_arena_reset(e->row_arena);
    return 0;
  }
  if (v == RS_VERDICT_CORRUPT) {
    first_reason(why, c);
    *oc = FIX_CORRUPT;
    rs_arena_reset(e->row_arena);
    return 0;
  }
  rs_arena_reset(e->row_arena);

  rs_conversion *conv = NULL;
  rs_error terr = RS_ERROR_INIT;
  rc = rs_transcode(out, &conv, o->registry, o->type, o->to_version, value, len,
                    NULL, &e->batch_opts, &terr);
  if (rc == RS_ENOMEM) {
    *err = terr;
    return rc;
  }
  if (rc != 0) {
    if (conv != NULL && rs_conversion_loss_count(conv) > 0)
      losses_text(why, conv);
    else
      why_append(why, "%s", terr.message);
    *oc = FIX_IMPOSSIBLE;
    return 0;
  }
  int lossy =
      conv != NULL && rs_conversion_result_of(conv) == RS_CONVERSION_LOSSY;
  if (lossy && out->len == len && memcmp(out->data, value, len) == 0) {
    /* The reader's version reads these very bytes with the losses: what
     * it cannot see (a string past a NUL, a value its type cannot hold) no
     * rewrite shows it. */
    why_append(why,
               "its converted bytes are the stored ones, which the "
               "reader reads with these losses: ");
    losses_text(why, conv);
    *oc = FIX_IMPOSSIBLE;
    return 0;
  }
  if (lossy) losses_text(why, conv);
  if (lossy && !o->allow_lossy) {
    *oc = FIX_LOSSY_SKIPPED;
    return 0;
  }
  /* Safety promise 6: the reader must read the new bytes as the writer of
   * the old ones meant them, value by value, or with the loss the
   * conversion declared. */
  rc = rs_classify_replacement(&c, o->registry, o->type, &o->reader, value, len,
                               out->data, out->len, &e->row_opts, err);
  if (rc != 0) return rc;
  const rs_reason *bad = NULL;
  if (undeclared(c, lossy ? conv : NULL, &bad)) {
    why_clear(why);
    if (bad != NULL)
      why_append(why, "the new bytes are %s for the reader: %s%s%s",
                 rs_verdict_name(rs_reason_verdict(bad)), rs_reason_path(bad),
                 rs_reason_path(bad)[0] ? ": " : "", rs_reason_text(bad));
    else
      why_append(why,
                 "the new bytes are %s for the reader, for reasons past the "
                 "%zu the check lists (%zu more), in fields no declared loss "
                 "is in",
                 rs_verdict_name(rs_classification_verdict(c)),
                 rs_classification_reason_count(c),
                 rs_classification_reasons_omitted(c));
    *oc = FIX_CHECK_FAILED;
  } else {
    *oc = lossy ? FIX_LOSSY : FIX_CONVERTED;
  }
  rs_arena_reset(e->row_arena);
  return 0;
}

static int engine_init(engine *e, const fix_options *o, rs_error *err) {
  memset(e, 0, sizeof *e);
  e->o = o;
  int rc = rs_arena_new(&e->row_arena, 0, NULL, err);
  if (rc == 0) rc = rs_arena_new(&e->batch_arena, 0, NULL, err);
  if (rc == 0) rc = rs_arena_new(&e->spare_arena, 0, NULL, err);
  rs_options base = RS_OPTIONS_INIT;
  base.schema_ids = o->schema_ids;
  base.n_schema_ids = o->n_schema_ids;
  e->row_opts = base;
  e->row_opts.allocator =
      e->row_arena != NULL ? rs_arena_allocator(e->row_arena) : NULL;
  e->quick_opts = e->row_opts;
  e->quick_opts.flags |= RS_OPT_VERDICT_ONLY;
  e->batch_opts = base;
  /* The conversion starts from the writer the check judged by: the one
   * --raw-writer names for raw bytes, not the oldest version that could
   * have written them. */
  e->batch_opts.raw_writer = o->reader.raw_writer;
  /* A Confluent reader needs Confluent framing, with its schema id. */
  if (o->reader.framing == RS_READER_FRAMING_CONFLUENT)
    e->batch_opts.flags |= RS_OPT_CONFLUENT;
  e->batch_opts.allocator =
      e->batch_arena != NULL ? rs_arena_allocator(e->batch_arena) : NULL;
  return rc;
}

static void engine_dispose(engine *e) {
  free(e->decoded.data);
  free(e->why.s);
  rs_arena_free(e->row_arena);
  rs_arena_free(e->batch_arena);
  rs_arena_free(e->spare_arena);
}

/* Sleeps so that the rows handled so far keep under --max-rate. */
static void throttle(const fix_options *o, double start, uint64_t rows) {
  if (o->max_rate <= 0) return;
  double due = start + (double)rows / o->max_rate;
  double now = verify_now_seconds();
  if (due > now) sleep_seconds(due - now);
}

/* Backoff before retrying a batch that gave way: exponential from 100 ms,
 * capped at 5 s, with jitter so that several fixers do not retry in step. */
static void backoff(unsigned attempt) {
  double base = 0.1 * (double)(1u << (attempt < 6 ? attempt : 6));
  if (base > 5.0) base = 5.0;
  double jitter = verify__random_unit() * base * 0.5;
  sleep_seconds(base * 0.75 + jitter);
}

/* A fix or restore batch, retried with backoff while it gives way to
 * production (STORE_EBUSY), at most max_busy_retries times or until a
 * signal asks to stop. */
typedef int (*batch_fn)(store *s, const store_run *run, store_swap *swaps,
                        size_t n, store_error *err);

static int with_retries(fix_result *r, const fix_options *o, batch_fn batch,
                        store *s, const store_run *run, store_swap *swaps,
                        size_t n, store_error *err) {
  for (unsigned attempt = 0;; attempt++) {
    int st = batch(s, run, swaps, n, err);
    if (st != STORE_EBUSY || attempt >= o->max_busy_retries) return st;
    if (o->interrupted != NULL && *o->interrupted) return st;
    /* A lost connection or a full disk: no retry here changes that. */
    if (store_last_fault(s) != STORE_FAULT_NONE) return st;
    r->busy_retries++;
    backoff(attempt);
  }
}

void fix_run_id_new(char out[40]) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char stamp[24];
  strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  unsigned r = (unsigned)verify__random();
  snprintf(out, 40, "%s-%06x", stamp, r & 0xFFFFFFu);
}

static void set_error(fix_result *r, const store_error *serr) {
  r->status = serr->status;
  snprintf(r->error, sizeof r->error, "%s", serr->message);
}

/* Copies a fix's counts into its run row. */
static void counts_to_run(fix_result *r) {
  store_run *run = &r->run;
  run->converted = (int64_t)(r->counts[FIX_CONVERTED] + r->counts[FIX_LOSSY]);
  run->lossy = (int64_t)r->counts[FIX_LOSSY];
  run->conflicts = (int64_t)r->counts[FIX_CONFLICT];
  run->impossible = (int64_t)r->counts[FIX_IMPOSSIBLE];
  run->corrupt = (int64_t)r->counts[FIX_CORRUPT];
  run->lossy_skipped = (int64_t)r->counts[FIX_LOSSY_SKIPPED];
  run->check_failed = (int64_t)r->counts[FIX_CHECK_FAILED];
  run->undetermined = (int64_t)r->counts[FIX_UNDETERMINED];
  run->unnamed = (int64_t)r->counts[FIX_UNNAMED];
  run->in_flight = (int64_t)r->counts[FIX_IN_FLIGHT];
  run->gone = (int64_t)r->counts[FIX_GONE];
  run->rows_read = (int64_t)r->rows_read;
}

static uint64_t nonneg(int64_t v) {
  return v > 0 ? (uint64_t)v : 0;
}

/* A fix's counts as its run row keeps them: where a resumed run goes on. */
static void counts_from_run(fix_result *r, const store_run *run) {
  uint64_t converted = nonneg(run->converted), lossy = nonneg(run->lossy);
  r->counts[FIX_CONVERTED] = converted > lossy ? converted - lossy : 0;
  r->counts[FIX_LOSSY] = lossy;
  r->counts[FIX_CONFLICT] = nonneg(run->conflicts);
  r->counts[FIX_IMPOSSIBLE] = nonneg(run->impossible);
  r->counts[FIX_CORRUPT] = nonneg(run->corrupt);
  r->counts[FIX_LOSSY_SKIPPED] = nonneg(run->lossy_skipped);
  r->counts[FIX_CHECK_FAILED] = nonneg(run->check_failed);
  r->counts[FIX_UNDETERMINED] = nonneg(run->undetermined);
  r->counts[FIX_UNNAMED] = nonneg(run->unnamed);
  r->counts[FIX_IN_FLIGHT] = nonneg(run->in_flight);
  r->counts[FIX_GONE] = nonneg(run->gone);
  r->rows_read = nonneg(run->rows_read);
}

/* A restore's own counts, as its part's row keeps them. */
static void restore_counts_to_run(fix_result *r) {
  r->run.restore_restored = (int64_t)r->counts[FIX_RESTORED];
  r->run.restore_conflicts = (int64_t)r->counts[FIX_CONFLICT];
  r->run.restore_in_flight = (int64_t)r->counts[FIX_IN_FLIGHT];
  r->run.restore_gone = (int64_t)r->counts[FIX_GONE];
}

void fix_result_from_run(fix_result *r, const store_run *run, int restore) {
  memset(r, 0, sizeof *r);
  r->run = *run;
  r->executed = 1;
  if (restore) {
    r->counts[FIX_RESTORED] = nonneg(run->restore_restored);
    r->counts[FIX_CONFLICT] = nonneg(run->restore_conflicts);
    r->counts[FIX_IN_FLIGHT] = nonneg(run->restore_in_flight);
    r->counts[FIX_GONE] = nonneg(run->restore_gone);
    r->complete = strcmp(run->restore_status, "done") == 0;
    r->passes = 1;
    return;
  }
  counts_from_run(r, run);
  r->complete = strcmp(run->status, "done") == 0;
  r->passes = nonneg(run->pass);
  if (run->remaining >= 0) {
    r->verified = 1;
    r->remaining = (uint64_t)run->remaining;
    r->remaining_undetermined = nonneg(run->remaining_undetermined);
  }
}

/* ---- dry run: a read-only pass over the table ---------------------------- */

static int dry_run(fix_result *r, engine *e, store *s, rs_error *err) {
  const fix_options *o = e->o;
  store_error serr = {STORE_OK, ""};
  if (store_scan(s, &serr) != STORE_OK) {
    set_error(r, &serr);
    return 0;
  }
  r->passes = 1;
  for (;;) {
    if (o->interrupted != NULL && *o->interrupted) {
      r->interrupted = 1;
      store_cancel(s);
      return 0;
    }
    store_row row;
    int got = store_next(s, &row, &serr);
    if (got == 0) break;
    if (got < 0) {
      if (o->interrupted != NULL && *o->interrupted)
        r->interrupted = 1;
      else
        set_error(r, &serr);
      return 0;
    }
    if (!in_part(o, row.key)) continue;
    r->rows_read++;
    if (o->progress != NULL && r->rows_read % 4096 == 0)
      o->progress(o->progress_ctx, r->rows_read);
    if (row.value_is_null) continue;
    rs_buf out = RS_BUF_INIT;
    int oc;
    const char *why;
    int rc = plan(e, row.value, row.value_len, &out, &oc, &why, err);
    rs_arena_reset(e->batch_arena);
    if (rc == 0 && oc >= 0 && row.key_parts == 0)
      rc = count_unnamed(r, o, oc, row.key, why);
    else if (rc == 0 && oc >= 0)
      rc = count(r, o, (fix_outcome)oc, row.key, why);
    if (rc != 0) {
      store_cancel(s);
      return rc;
    }
  }
  r->complete = 1;
  return 0;
}

/* ---- execute: keyset pages, batches by compare-and-swap ---------------- */

static int past_deadline(const fix_options *o) {
  return o->deadline > 0 && verify_now_seconds() >= o->deadline;
}

/* Counts a swap that did not happen; the pass's unsettled rows (the run's
 * pass_unsettled) grow by what a later pass must revisit (conflicts, and
 * in-flight messages of a queue), whose keys are kept. */
static int count_missed(fix_result *r, const fix_options *o,
                        const store_swap *w) {
  if (o->queue && w->outcome == STORE_SWAP_GONE)
    return count(r, o, FIX_GONE, w->key,
                 "consumed while the fix ran (deleted, or no longer "
                 "pending); not an error");
  r->run.pass_unsettled++;
  int in_flight = o->queue && w->outcome == STORE_SWAP_IN_FLIGHT;
  const char *why = in_flight
                        ? "a consumer held it; left alone for a later pass"
                        : "the row changed after it was read; left for a "
                          "later pass";
  int rc = keep_unsettled(r, o->max_samples, w->key, r->key_parts,
                          in_flight ? "in flight" : "conflict");
  if (rc != 0) return rc;
  return count(r, o, in_flight ? FIX_IN_FLIGHT : FIX_CONFLICT, w->key, why);
}

/*
 * What one page leaves for its batch: the swaps, with their outcomes and
 * reasons; the records it leaves alone, counted once the batch before has
 * committed (so that the counts a batch commits never include a later
 * page's); the arena of the new bytes; and the run's row the batch
 * commits. Reasons are kept only while their outcome still takes samples.
 */
typedef struct page_left {
  const char *key;
  int oc;
  size_t why; /* offset into text */
} page_left;

typedef struct page_plan {
  store_swap *swaps;
  int *outcome;
  size_t *why; /* per swap: offset into text */
  size_t k;
  page_left *left;
  size_t n_left;
  char *text;
  size_t text_len, text_cap;
  rs_arena *arena;
  store_run next;
  uint64_t rows; /* the page's rows, for the rate limit */
} page_plan;

static void page_plan_dispose(page_plan *p) {
  free(p->swaps);
  free(p->outcome);
  free(p->why);
  free(p->left);
  free(p->text);
}

static int page_plan_init(page_plan *p, size_t cap, rs_arena *arena) {
  memset(p, 0, sizeof *p);
  p->swaps = calloc(cap, sizeof *p->swaps);
  p->outcome = calloc(cap, sizeof *p->outcome);
  p->why = calloc(cap, sizeof *p->why);
  p->left = calloc(cap, sizeof *p->left);
  p->text = malloc(1);
  p->text_cap = 1;
  p->arena = arena;
  if (p->swaps == NULL || p->outcome == NULL || p->why == NULL ||
      p->left == NULL || p->text == NULL) {
    page_plan_dispose(p);
    return RS_ENOMEM;
  }
  p->text[0] = '\0';
  return 0;
}

/* Keeps @p why when outcome @p oc still takes samples (count_at): its
 * offset in p->text, 0 (the empty text at offset 0) when not kept, -1 when
 * out of memory. */
static long long page_keep_why(page_plan *p, const fix_result *r,
                               const fix_options *o, int oc, const char *why) {
  if (r->n_samples[oc] >= o->max_samples || why[0] == '\0') return 0;
  size_t len = strlen(why) + 1;
  if (p->text_len + len > p->text_cap) {
    size_t cap = p->text_cap < 2048 ? 4096 : p->text_cap * 2;
    while (cap < p->text_len + len) cap *= 2;
    char *grown = realloc(p->text, cap);
    if (grown == NULL) return -1;
    p->text = grown;
    p->text_cap = cap;
  }
  memcpy(p->text + p->text_len, why, len);
  p->text_len += len;
  return (long long)(p->text_len - len);
}

/* Plans the rows of one page into @p p (its arena holds the new bytes). */
static int plan_page(fix_result *r, engine *e, page_plan *p,
                     const store_page_row *rows, int n, rs_error *err) {
  const fix_options *o = e->o;
  p->k = p->n_left = 0;
  p->text_len = 1; /* text[0] stays the empty text */
  p->rows = (uint64_t)n;
  e->batch_opts.allocator = rs_arena_allocator(p->arena);
  int rc = 0;
  for (int i = 0; i < n && rc == 0; i++) {
    e->page_rows_seen++;
    e->page_bytes_seen += rows[i].value_len;
    /* Another part's row: that part reads, writes and counts it. */
    if (!in_part(o, rows[i].key)) continue;
    r->rows_read++;
    if (rows[i].value_is_null) continue;
    rs_buf out = RS_BUF_INIT;
    int oc;
    const char *reason;
    rc = plan(e, rows[i].value, rows[i].value_len, &out, &oc, &reason, err);
    if (rc != 0 || oc < 0) continue;
    /* Records left alone are counted by the first pass only: later
     * passes read the whole table again for the conflicted rows and
     * would count them once more each time. The pass number is the
     * run's, so that a resumed run counts them once too. */
    if (oc != FIX_CONVERTED && oc != FIX_LOSSY && r->run.pass > 1) continue;
    long long why = page_keep_why(p, r, o, oc, reason);
    if (why < 0) {
      err->code = RS_ENOMEM;
      err->offset = RS_OFFSET_NONE;
      snprintf(err->message, sizeof err->message, "out of memory");
      rc = RS_ENOMEM;
      break;
    }
    if (oc == FIX_CONVERTED || oc == FIX_LOSSY) {
      p->swaps[p->k] = (store_swap){rows[i].key,
                                    rows[i].value,
                                    rows[i].value_len,
                                    out.data,
                                    out.len,
                                    0,
                                    0,
                                    0,
                                    oc == FIX_LOSSY};
      p->outcome[p->k] = oc;
      p->why[p->k] = (size_t)why;
      p->k++;
    } else {
      p->left[p->n_left++] = (page_left){rows[i].key, oc, (size_t)why};
    }
  }
  return rc;
}

/* Counts the records a page left alone. */
static int count_left(fix_result *r, const fix_options *o, const page_plan *p) {
  int rc = 0;
  for (size_t i = 0; i < p->n_left && rc == 0; i++)
    rc = count(r, o, (fix_outcome)p->left[i].oc, p->left[i].key,
               p->text + p->left[i].why);
  return rc;
}

/* A batch given back by store_fix_batch_finish() as STORE_EBUSY is run
 * again whole, as a batch run in one call is (store_fix_batch, with its
 * patience for locks, and with_retries): the first attempt counts as one
 * that gave way. */
static int finish_started(fix_result *r, const fix_options *o, store *s,
                          page_plan *p, store_error *serr) {
  int st = store_fix_batch_finish(s, serr);
  if (st == STORE_EBUSY && !(o->interrupted != NULL && *o->interrupted) &&
      store_last_fault(s) == STORE_FAULT_NONE) {
    r->busy_retries++;
    st = with_retries(r, o, store_fix_batch, s, &p->next, p->swaps, p->k, serr);
  }
  return st;
}

/* A batch has ended with @p st: on success its swaps are counted and the
 * checkpoint moves to its last key; the page's arena is freed either way.
 * 0, -1 when the batch failed (r->status says why), or RS_ENOMEM in *rc. */
static int batch_ended(fix_result *r, const fix_options *o, page_plan *p,
                       int st, const store_error *serr, int *rc) {
  if (st != STORE_OK) {
    set_error(r, serr);
    rs_arena_reset(p->arena);
    return -1;
  }
  for (size_t i = 0; i < p->k && *rc == 0; i++) {
    if (p->swaps[i].swapped)
      *rc = count(r, o, (fix_outcome)p->outcome[i], p->swaps[i].key,
                  p->text + p->why[i]);
    else
      *rc = count_missed(r, o, &p->swaps[i]);
  }
  r->run.has_checkpoint = 1;
  memcpy(r->run.checkpoint, p->next.checkpoint, sizeof r->run.checkpoint);
  rs_arena_reset(p->arena);
  return *rc != 0 ? -1 : 0;
}

/*
 * One pass of the run's pass number, from its checkpoint (the run's
 * pass_unsettled counts what the pass left for another). *done: the pass
 * reached the end of the table.
 *
 * Where the store runs a batch in two halves (store_starts_batches), the
 * server works on one batch while the next page is planned: the next page
 * is read before the batch is started, planned while it runs, and its
 * records are counted, its checkpoint set and its batch started only once
 * the batch before has committed. Every batch still commits its backups,
 * updates and the run's row (checkpoint and counts) together, one after
 * the other, and a stop (a signal, the deadline, an error) lets the batch
 * already started finish first.
 */
static int execute_pass(fix_result *r, engine *e, store *s, int *done,
                        rs_error *err) {
  const fix_options *o = e->o;
  store_error serr = {STORE_OK, ""};
  *done = 0;
  page_plan plans[2];
  int rc = page_plan_init(&plans[0], o->batch, e->batch_arena);
  if (rc == 0) {
    rc = page_plan_init(&plans[1], o->batch, e->spare_arena);
    if (rc != 0) page_plan_dispose(&plans[0]);
  }
  if (rc != 0) return RS_ENOMEM;
  const int halves = store_starts_batches(s);
  page_plan *pending = NULL; /* a batch started, not finished */
  int cur = 0;
  /* The page read ahead: n_ahead rows (or an error), -2 when none. */
  const store_page_row *ahead = NULL;
  int n_ahead = -2;
  store_error ahead_err = {STORE_OK, ""};
  char after[STORE_CHECKPOINT_MAX];
  int has_after = r->run.has_checkpoint;
  snprintf(after, sizeof after, "%s", has_after ? r->run.checkpoint : "");
  /* And the page after the next one is read meanwhile, where the store
   * can do so beside its batches. */
  if (halves) store_read_ahead(s, 2);
  double start = verify_now_seconds();
  uint64_t handled = 0;
  for (;;) {
    if (o->interrupted != NULL && *o->interrupted) {
      r->interrupted = 1;
      break;
    }
    if (past_deadline(o)) {
      r->deadline_reached = 1;
      break;
    }
    const store_page_row *rows = NULL;
    int n;
    if (n_ahead != -2) {
      rows = ahead;
      n = n_ahead;
      serr = ahead_err;
      n_ahead = -2;
    } else {
      n = store_page(s, has_after ? after : NULL, o->batch, &rows, &serr);
    }
    if (n < 0) {
      /* The batch before goes first: its error, if any, is the run's. */
      store_error read_err = serr;
      if (pending != NULL &&
          batch_ended(r, o, pending, finish_started(r, o, s, pending, &serr),
                      &serr, &rc) != 0)
        break;
      pending = NULL;
      set_error(r, &read_err);
      break;
    }
    if (n == 0) {
      *done = 1;
      break;
    }
    /* Keyset pages move forward; one that ends where it started would be
     * read again for ever. */
    if (has_after && strcmp(rows[n - 1].key, after) == 0) {
      if (pending != NULL &&
          batch_ended(r, o, pending, finish_started(r, o, s, pending, &serr),
                      &serr, &rc) != 0)
        break;
      pending = NULL;
      r->status = STORE_EIO;
      snprintf(r->error, sizeof r->error,
               "the page after key %.200s ended on the same key; the table's "
               "key does not order its rows",
               after);
      break;
    }
    page_plan *p = &plans[cur];
    uint64_t read_before = r->rows_read;
    rc = plan_page(r, e, p, rows, n, err);
    int too_long = rc == 0 && strlen(rows[n - 1].key) >= sizeof after;
    /* The batch before commits (or fails) before anything of this page
     * is counted or written. */
    if (pending != NULL) {
      int ended = batch_ended(
          r, o, pending, finish_started(r, o, s, pending, &serr), &serr, &rc);
      pending = NULL;
      if (ended != 0) {
        /* This page was never written: it is read again on resume. */
        r->rows_read = read_before;
        rs_arena_reset(p->arena);
        break;
      }
      handled += plans[cur ^ 1].rows;
      if (o->progress != NULL) o->progress(o->progress_ctx, r->rows_read);
      throttle(o, start, handled);
    }
    if (rc != 0) {
      rs_arena_reset(p->arena);
      break;
    }
    if (too_long) {
      r->status = STORE_EUSAGE;
      snprintf(r->error, sizeof r->error,
               "a key of %zu bytes is longer than a checkpoint holds (%d); "
               "nothing of its batch was written",
               strlen(rows[n - 1].key), STORE_CHECKPOINT_MAX - 1);
      rs_arena_reset(p->arena);
      break;
    }
    rc = count_left(r, o, p);
    if (rc != 0) {
      rs_arena_reset(p->arena);
      break;
    }
    /* The checkpoint is the page's last key: everything up to it is
     * decided once this batch commits, with every count so far (the
     * adapter adds the batch's swaps). */
    counts_to_run(r);
    p->next = r->run;
    p->next.has_checkpoint = 1;
    snprintf(p->next.checkpoint, sizeof p->next.checkpoint, "%s",
             rows[n - 1].key);
    p->next.updated_us = rs_now_us();
    snprintf(after, sizeof after, "%s", rows[n - 1].key);
    has_after = 1;
    if (halves) {
      /* The next page is read before the batch goes: the batch's rows
       * stay valid through one more page (store_starts_batches). */
      n_ahead = store_page(s, after, o->batch, &ahead, &ahead_err);
      int st = store_fix_batch_start(s, &p->next, p->swaps, p->k, &serr);
      if (st == STORE_OK) {
        pending = p;
        cur ^= 1;
        continue;
      }
      if (st == STORE_EBUSY && !(o->interrupted != NULL && *o->interrupted) &&
          store_last_fault(s) == STORE_FAULT_NONE) {
        r->busy_retries++;
        st = with_retries(r, o, store_fix_batch, s, &p->next, p->swaps, p->k,
                          &serr);
      }
      if (batch_ended(r, o, p, st, &serr, &rc) != 0) break;
    } else {
      int st = with_retries(r, o, store_fix_batch, s, &p->next, p->swaps, p->k,
                            &serr);
      if (batch_ended(r, o, p, st, &serr, &rc) != 0) break;
    }
    handled += p->rows;
    if (o->progress != NULL) o->progress(o->progress_ctx, r->rows_read);
    throttle(o, start, handled);
  }
  /* A stop lets the batch already started finish. */
  if (pending != NULL &&
      batch_ended(r, o, pending, finish_started(r, o, s, pending, &serr), &serr,
                  &rc) == 0) {
    handled += pending->rows;
    if (o->progress != NULL) o->progress(o->progress_ctx, r->rows_read);
  }
  if (halves) store_read_ahead(s, 0);
  page_plan_dispose(&plans[0]);
  page_plan_dispose(&plans[1]);
  e->batch_opts.allocator = rs_arena_allocator(e->batch_arena);
  return rc;
}

/* One record of the verification pass. */
static void count_remaining(fix_result *r, const rs_classification *c) {
  if (rs_classification_decided(c))
    r->remaining_verdicts[rs_classification_verdict(c)]++;
  else
    r->remaining_undetermined++;
}

/* The verification pass is done: what the reader still cannot read. */
static void verified(fix_result *r) {
  r->remaining = r->remaining_verdicts[RS_VERDICT_MISREAD] +
                 r->remaining_verdicts[RS_VERDICT_UNREADABLE] +
                 r->remaining_verdicts[RS_VERDICT_CORRUPT];
  r->verified = 1;
}

/*
 * The rows no key names (store_unnamed_page): their records are planned
 * and counted like any other, a record the fix would rewrite as unnamed
 * (@p verifying 0); or, in the verification pass, counted among what the
 * reader still cannot read (@p verifying 1). Never written.
 */
static int unnamed_rows(fix_result *r, engine *e, store *s, int verifying,
                        rs_error *err) {
  const fix_options *o = e->o;
  store_error serr = {STORE_OK, ""};
  int64_t after = 0;
  for (;;) {
    const store_page_row *rows = NULL;
    int n = store_unnamed_page(s, after, o->batch, &rows, &after, &serr);
    if (n < 0) {
      set_error(r, &serr);
      return 0;
    }
    if (n == 0) return 0;
    for (int i = 0; i < n; i++) {
      if (rows[i].value_is_null || !in_part(o, rows[i].key)) continue;
      int rc = 0;
      if (verifying) {
        rs_classification *c = NULL;
        rc = rs_classify(&c, o->registry, o->type, &o->reader, rows[i].value,
                         rows[i].value_len, &e->quick_opts, err);
        if (rc == 0) count_remaining(r, c);
        rs_arena_reset(e->row_arena);
      } else {
        rs_buf out = RS_BUF_INIT;
        int oc;
        const char *why;
        r->rows_read++;
        rc = plan(e, rows[i].value, rows[i].value_len, &out, &oc, &why, err);
        rs_arena_reset(e->batch_arena);
        if (rc == 0 && oc >= 0) rc = count_unnamed(r, o, oc, rows[i].key, why);
      }
      if (rc != 0) return rc;
    }
  }
}

static int verify_pages(fix_result *r, engine *e, store *s, rs_error *err);

/* Reads the whole table again and counts what the reader still cannot
 * read. */
static int verify(fix_result *r, engine *e, store *s, rs_error *err) {
  memset(r->remaining_verdicts, 0, sizeof r->remaining_verdicts);
  r->remaining_undetermined = 0;
  int rc = unnamed_rows(r, e, s, 1, err);
  if (rc != 0 || r->status != STORE_OK || r->interrupted) return rc;
  /* Only pages from here on: the server reads each while the one before
   * is classified. */
  store_read_ahead(s, 1);
  rc = verify_pages(r, e, s, err);
  store_read_ahead(s, 0);
  return rc;
}

/* The most rows, and about the most bytes of values, that a page of the
 * verification pass holds when --batch is smaller. */
#define VERIFY_PAGE_ROWS 10000
#define VERIFY_PAGE_BYTES ((uint64_t)4 << 20)
/* What a page's row costs besides its value: the key's text, the row
 * (store_page_row) and the client library's bookkeeping of two fields. */
#define VERIFY_ROW_OVERHEAD 96

/*
 * Rows per page of the verification pass. It only reads, each page in a
 * short transaction of its own as the execute passes do, so its pages
 * need not be as small as --batch, which also bounds how many rows one
 * write transaction holds: up to VERIFY_PAGE_ROWS rows, as many as hold
 * about VERIFY_PAGE_BYTES at the values' mean size in the execute passes
 * (memory stays bounded, whatever the table's size), never fewer than
 * --batch.
 */
static size_t verify_page_rows(const engine *e) {
  size_t batch = e->o->batch;
  if (batch >= VERIFY_PAGE_ROWS || e->page_rows_seen == 0) return batch;
  uint64_t row = e->page_bytes_seen / e->page_rows_seen + VERIFY_ROW_OVERHEAD;
  uint64_t rows = VERIFY_PAGE_BYTES / row;
  if (rows > VERIFY_PAGE_ROWS) rows = VERIFY_PAGE_ROWS;
  return rows > batch ? (size_t)rows : batch;
}

/* The keyset pages of the verification pass. */
static int verify_pages(fix_result *r, engine *e, store *s, rs_error *err) {
  const fix_options *o = e->o;
  store_error serr = {STORE_OK, ""};
  char after[STORE_CHECKPOINT_MAX];
  int has_after = 0;
  int rc = 0;
  const size_t limit = verify_page_rows(e);
  for (;;) {
    if (o->interrupted != NULL && *o->interrupted) {
      r->interrupted = 1;
      return 0;
    }
    const store_page_row *rows = NULL;
    int n = store_page(s, has_after ? after : NULL, limit, &rows, &serr);
    if (n < 0) {
      set_error(r, &serr);
      return 0;
    }
    if (n == 0) break;
    for (int i = 0; i < n; i++) {
      if (rows[i].value_is_null || !in_part(o, rows[i].key)) continue;
      const uint8_t *bytes = NULL;
      size_t len = 0;
      colenc_error cerr;
      rc = verify_decode(o->column_encoding, rows[i].value, rows[i].value_len,
                         &e->decoded, &bytes, &len, NULL, &cerr);
      if (rc == -1) {
        r->remaining_verdicts[RS_VERDICT_CORRUPT]++;
        continue;
      }
      if (rc == RS_ENOMEM) {
        err->code = RS_ENOMEM;
        err->offset = RS_OFFSET_NONE;
        snprintf(err->message, sizeof err->message, "out of memory");
      }
      rs_classification *c = NULL;
      if (rc == 0)
        rc = rs_classify(&c, o->registry, o->type, &o->reader, bytes, len,
                         &e->quick_opts, err);
      if (rc != 0) return rc;
      count_remaining(r, c);
      rs_arena_reset(e->row_arena);
    }
    snprintf(after, sizeof after, "%s", rows[n - 1].key);
    has_after = 1;
  }
  verified(r);
  return 0;
}

/* store_run_update, retried with backoff while it gives way to a writer
 * (STORE_EBUSY), at most max_busy_retries times: the run's own row is
 * saved even when a signal asks the run to stop. */
static int update_run(fix_result *r, const fix_options *o, store *s,
                      store_error *err) {
  for (unsigned attempt = 0;; attempt++) {
    r->run.updated_us = rs_now_us();
    int st = store_run_update(s, &r->run, err);
    if (st != STORE_EBUSY || attempt >= o->max_busy_retries) return st;
    if (store_last_fault(s) != STORE_FAULT_NONE) return st;
    r->busy_retries++;
    backoff(attempt);
  }
}

/* Saves the run row as it stands (outside a batch): the pass, the
 * checkpoint and every count. A failure ends the run with its error. */
static int save_run(fix_result *r, const fix_options *o, store *s) {
  store_error serr = {STORE_OK, ""};
  if (update_run(r, o, s, &serr) == STORE_OK) return 0;
  set_error(r, &serr);
  return -1;
}

/* Saves the run row at the end: a failure to do so is the run's error,
 * unless it had one already, and the run is not complete. */
static void save_final(fix_result *r, const fix_options *o, store *s) {
  store_error uerr = {STORE_OK, ""};
  if (update_run(r, o, s, &uerr) != STORE_OK && r->status == STORE_OK) {
    set_error(r, &uerr);
    r->complete = 0;
  }
}

/* How many times one invocation connects again after losing its
 * connection inside a pass, before it stops with the run interrupted. */
#define MAX_RECONNECTS 3

/*
 * After a pass stopped on a lost connection: connects again (the lease of
 * the run taken back) and goes on as a resumed run would, from the run's
 * row as the database holds it: its last committed batch, checkpoint and
 * counts (a batch whose COMMIT lost its answer may or may not have
 * committed; its backups, updates and the row commit together, so the row
 * says which). 1 when the run goes on; 0 leaves the error as it was, with
 * why connecting again failed added.
 */
static int reconnect_run(fix_result *r, store *s) {
  if (store_last_fault(s) != STORE_FAULT_CONNECTION_LOST ||
      r->reconnects >= MAX_RECONNECTS || r->run.run_id[0] == '\0')
    return 0;
  store_error serr = {STORE_OK, ""};
  store_run now;
  memset(&now, 0, sizeof now);
  if (store_reconnect(s, r->run.run_id, &serr) != STORE_OK ||
      store_run_load(s, r->run.run_id, &now, &serr) != STORE_OK) {
    size_t used = strlen(r->error);
    snprintf(r->error + used, sizeof r->error - used, " (%s)", serr.message);
    return 0;
  }
  r->reconnects++;
  r->run = now;
  counts_from_run(r, &r->run);
  snprintf(r->run.status, sizeof r->run.status, "running");
  r->status = STORE_OK;
  r->error[0] = '\0';
  return 1;
}

int fix_target(fix_result *r, store *s, const store_target *target,
               const fix_options *o, rs_error *err) {
  (void)target;
  memset(r, 0, sizeof *r);
  r->key_parts = store_key_parts(s);
  double t0 = verify_now_seconds();
  engine e;
  int rc = engine_init(&e, o, err);
  if (rc != 0) {
    engine_dispose(&e);
    return rc;
  }
  store_error serr = {STORE_OK, ""};
  /* What the fix's UPDATEs fire with its rights, listed before any row
   * is read (a reader's scan holds its connection afterwards). */
  if (store_write_hooks(s, &r->hooks, &r->n_hooks, &serr) != STORE_OK) {
    set_error(r, &serr);
    engine_dispose(&e);
    r->seconds = verify_now_seconds() - t0;
    return 0;
  }
  if (!o->execute) {
    rc = dry_run(r, &e, s, err);
    engine_dispose(&e);
    r->seconds = verify_now_seconds() - t0;
    return rc;
  }
  r->executed = 1;
  r->run = *o->run;
  /* One process works on a run at a time: the lease is taken before the
   * run is created or resumed, and a run whose process is gone loads as
   * interrupted (store.h, run leases). */
  const char *leased = NULL;
  if (store_run_lease(s, r->run.run_id, &serr) != STORE_OK) {
    set_error(r, &serr);
    /* Not ours: the row is another process's (or never created), and is
     * neither saved nor released here. */
    r->run.run_id[0] = '\0';
    goto out;
  }
  leased = r->run.run_id;
  if (o->resume) {
    /* Counts, pass and checkpoint go on from where the run stopped. A run
     * whose passes ended with rows unsettled (incomplete) starts its next
     * pass; one stopped inside a pass goes on with it. */
    counts_from_run(r, &r->run);
    if (r->run.pass < 1) r->run.pass = 1;
    if (strcmp(r->run.status, "incomplete") == 0 && r->run.pass_unsettled > 0) {
      r->run.pass++;
      r->run.pass_unsettled = 0;
      r->run.has_checkpoint = 0;
      r->run.checkpoint[0] = '\0';
    }
    r->run.remaining = r->run.remaining_undetermined = -1;
    snprintf(r->run.status, sizeof r->run.status, "running");
    if (save_run(r, o, s) != 0) goto out;
  } else {
    snprintf(r->run.command, sizeof r->run.command, "fix");
    snprintf(r->run.status, sizeof r->run.status, "running");
    r->run.has_checkpoint = 0;
    r->run.pass = 1;
    r->run.remaining = r->run.remaining_undetermined = -1;
    r->run.started_us = r->run.updated_us = rs_now_us();
    if (store_run_create(s, &r->run, &serr) != STORE_OK) {
      set_error(r, &serr);
      r->run.run_id[0] = '\0'; /* not ours: never updated */
      goto out;
    }
  }
  /* Rows no key names are read once, reported, and never written: by the
   * first pass before its first batch (a run resumed later counted them
   * already, and its first batch committed the counts). */
  if (r->run.pass <= 1 && !r->run.has_checkpoint) {
    rc = unnamed_rows(r, &e, s, 0, err);
    if (rc != 0 || r->status != STORE_OK) goto out;
  }
  unsigned max_passes = o->max_passes ? o->max_passes : 1;
  double first_end = -1; /* when this invocation's first pass ended */
  /* --max-passes counts this invocation's passes: a resumed run gets as
   * many as a new one. */
  uint64_t pass = 0;
  for (;;) {
    int done = 0;
    pass++;
    rc = execute_pass(r, &e, s, &done, err);
    /* The pass goes on where the database says it stopped. */
    if (rc == 0 && r->status != STORE_OK && !r->interrupted &&
        reconnect_run(r, s)) {
      pass--;
      continue;
    }
    if (rc != 0 || !done || r->status != STORE_OK || r->interrupted) break;
    if (first_end < 0) first_end = verify_now_seconds();
    uint64_t unsettled = nonneg(r->run.pass_unsettled);
    if (unsettled == 0 || (!o->queue && pass >= max_passes)) {
      r->complete = 1;
      break;
    }
    /* A queue is done only when no message is left to convert: what is
     * still in flight when the passes or the wait run out, or the
     * deadline comes, leaves the run incomplete, with its counts and the
     * keys still unsettled. */
    double waited = verify_now_seconds() - first_end;
    if (o->queue && (pass >= max_passes || past_deadline(o) ||
                     waited >= o->in_flight_wait)) {
      r->unsettled = unsettled;
      r->deadline_reached = pass < max_passes && past_deadline(o);
      break;
    }
    if (o->queue) {
      /* Give consumers time to finish what they hold: 50 ms, doubling,
       * at most 2 s, never past the wait or the deadline. */
      double pause = 0.05 * (double)(1u << (pass < 6 ? pass : 6));
      if (pause > 2.0) pause = 2.0;
      if (pause > o->in_flight_wait - waited)
        pause = o->in_flight_wait - waited;
      if (o->deadline > 0 && verify_now_seconds() + pause > o->deadline)
        pause = o->deadline - verify_now_seconds();
      sleep_seconds(pause);
    }
    /* Conflicted rows are read again from the start in the next pass;
     * rows already fixed read as clean and are left alone. The new pass
     * is saved first: a run resumed from here starts it over. */
    r->run.pass++;
    r->run.pass_unsettled = 0;
    r->run.has_checkpoint = 0;
    r->run.checkpoint[0] = '\0';
    forget_unsettled(r);
    counts_to_run(r);
    if (save_run(r, o, s) != 0) break;
  }
  if (rc == 0 && (r->complete || (r->unsettled > 0 && !r->deadline_reached)) &&
      r->status == STORE_OK && !r->interrupted)
    rc = verify(r, &e, s, err);
out:
  counts_to_run(r);
  r->passes = nonneg(r->run.pass);
  r->fault = (int)store_last_fault(s);
  if (r->run.run_id[0] != '\0' && r->status != STORE_EUSAGE &&
      r->fault == STORE_FAULT_CONNECTION_LOST) {
    /* Nothing more can be written, and a batch whose COMMIT lost its
     * answer may have committed: the run's row in the database (its
     * batches, backups and counts commit together) is the truth, and its
     * lease ended with the session, so it shows as interrupted and the
     * next --resume goes on from it. These counts are not saved. */
    snprintf(r->run.status, sizeof r->run.status, "interrupted");
  } else if (r->run.run_id[0] != '\0' && r->status != STORE_EUSAGE) {
    snprintf(r->run.status, sizeof r->run.status, "%s",
             r->interrupted ? "interrupted"
             /* the disk filled: resumable once there is room */
             : r->fault != STORE_FAULT_NONE ? "interrupted"
             /* gave up waiting for locks: resumable, as an interrupted
              * run is */
             : r->status == STORE_EBUSY ? "incomplete"
             : r->status != STORE_OK    ? "failed"
             : r->complete              ? "done"
             /* passes or time ran out (queues: messages still in flight) */
             : r->unsettled > 0 || r->deadline_reached ? "incomplete"
                                                       : "interrupted");
    if (r->verified) {
      r->run.remaining = (int64_t)r->remaining;
      r->run.remaining_undetermined = (int64_t)r->remaining_undetermined;
    }
    save_final(r, o, s);
  }
  store_run_release(s, leased);
  r->busy_retries += store_busy_retries(s);
  engine_dispose(&e);
  r->seconds = verify_now_seconds() - t0;
  return rc;
}

/* ---- stream files: a new file beside the original ----------------------- */

/* Reads the new file back: framing end to end, and what the reader makes
 * of every record. */
static int verify_stream(fix_result *r, engine *e, const store_target *target,
                         rs_error *err) {
  const fix_options *o = e->o;
  store_target t = *target;
  t.connection = r->stream_output;
  t.connection_label = NULL;
  store *s = NULL;
  store_error serr = {STORE_OK, ""};
  memset(r->remaining_verdicts, 0, sizeof r->remaining_verdicts);
  r->remaining_undetermined = 0;
  if (store_open(&s, &t, NULL, &serr) != STORE_OK ||
      store_scan(s, &serr) != STORE_OK) {
    set_error(r, &serr);
    store_close(s);
    return 0;
  }
  int rc = 0;
  for (;;) {
    store_row row;
    int got = store_next(s, &row, &serr);
    if (got == 0) break;
    if (got < 0) {
      set_error(r, &serr);
      break;
    }
    rs_classification *c = NULL;
    rc = rs_classify(&c, o->registry, o->type, &o->reader, row.value,
                     row.value_len, &e->quick_opts, err);
    if (rc != 0) break;
    count_remaining(r, c);
    rs_arena_reset(e->row_arena);
  }
  store_framing fr;
  if (rc == 0 && r->status == STORE_OK && store_framing_issue(s, &fr)) {
    r->status = STORE_EIO;
    snprintf(r->error, sizeof r->error, "the new file %.300s: %.180s",
             r->stream_output, fr.what);
  }
  store_close(s);
  if (rc != 0 || r->status != STORE_OK) return rc;
  verified(r);
  return 0;
}

int fix_stream(fix_result *r, store *s, const store_target *target,
               const fix_options *o, rs_error *err) {
  memset(r, 0, sizeof *r);
  double t0 = verify_now_seconds();
  engine e;
  int rc = engine_init(&e, o, err);
  store_error serr = {STORE_OK, ""};
  store_stream_writer *w = NULL;
  r->passes = 1;
  r->key_parts = 1; /* records are named by index@offset, not positions */
  if (rc != 0) goto out;
  if (o->stream_output != NULL)
    snprintf(r->stream_output, sizeof r->stream_output, "%s", o->stream_output);
  else
    snprintf(r->stream_output, sizeof r->stream_output, "%s.fixed",
             target->connection);
  if (o->execute) {
    r->executed = 1;
    if (store_stream_writer_open(&w, r->stream_output, target->connection,
                                 &serr) != STORE_OK) {
      set_error(r, &serr);
      goto out;
    }
  }
  if (store_scan(s, &serr) != STORE_OK) {
    set_error(r, &serr);
    goto out;
  }
  for (;;) {
    if (o->interrupted != NULL && *o->interrupted) {
      r->interrupted = 1;
      break;
    }
    store_row row;
    int got = store_next(s, &row, &serr);
    if (got == 0) break;
    if (got < 0) {
      set_error(r, &serr);
      break;
    }
    r->rows_read++;
    if (o->progress != NULL && r->rows_read % 4096 == 0)
      o->progress(o->progress_ctx, r->rows_read);
    rs_buf out = RS_BUF_INIT;
    int oc;
    const char *why;
    rc = plan(&e, row.value, row.value_len, &out, &oc, &why, err);
    if (rc != 0) break;
    int converted = oc == FIX_CONVERTED || oc == FIX_LOSSY;
    /* What the new file gets: the converted bytes, the record as it was
     * (readable already, or left alone), or nothing. An undetermined
     * record is not known to be unreadable: it is copied. */
    int drop =
        oc >= 0 && oc != FIX_UNDETERMINED && !converted && o->drop_unfixable;
    if (oc >= 0) rc = count(r, o, (fix_outcome)oc, row.key, why);
    if (rc == 0 && drop)
      rc = count(r, o, FIX_DROPPED, row.key,
                 "the reader cannot read it: left out of the new file (it "
                 "stays in the original)");
    if (rc == 0 && w != NULL && !drop &&
        store_stream_writer_put(w, converted ? out.data : row.value,
                                converted ? out.len : row.value_len,
                                &serr) != STORE_OK)
      set_error(r, &serr);
    rs_arena_reset(e.batch_arena);
    if (rc != 0 || r->status != STORE_OK) break;
  }
  if (rc != 0 || r->status != STORE_OK || r->interrupted) goto out;
  r->has_framing = store_framing_issue(s, &r->framing);
  if (r->has_framing) {
    char key[48];
    snprintf(key, sizeof key, "%llu@%llu", (unsigned long long)r->framing.index,
             (unsigned long long)r->framing.offset);
    rc = count(r, o, FIX_DROPPED, key, r->framing.what);
    if (rc != 0) goto out;
  }
  if (w == NULL) {
    r->complete = 1;
    goto out;
  }
  int st = store_stream_writer_commit(w, &serr);
  w = NULL;
  if (st != STORE_OK) {
    set_error(r, &serr);
    goto out;
  }
  r->complete = 1;
  rc = verify_stream(r, &e, target, err);
out:
  store_stream_writer_abort(w);
  engine_dispose(&e);
  r->seconds = verify_now_seconds() - t0;
  return rc;
}

/* ---- restore ------------------------------------------------------------ */

/* A restore's dry run reads the rows: store_restore_check has the
 * signature of a batch but no run to save. */
static int check_batch(store *s, const store_run *run, store_swap *swaps,
                       size_t n, store_error *err) {
  (void)run;
  return store_restore_check(s, swaps, n, err);
}

/*
 * Counts what became of one backup row: restored (@p dry: would be, the
 * row still holding the bytes the fix wrote), gone or in flight (queues),
 * or a conflict, told apart from a row already restored. The execute and
 * the dry run count through here alike, so that the dry run's report is
 * the execute's.
 */
static int count_restore(fix_result *r, const fix_options *o,
                         const store_swap *w, int dry) {
  if (dry ? w->outcome == STORE_SWAP_DONE : w->swapped)
    return count(r, o, FIX_RESTORED, w->key,
                 dry ? "would be restored: the row still holds the bytes "
                       "the fix wrote"
                     : "");
  if (o->queue && w->outcome == STORE_SWAP_GONE)
    return count(r, o, FIX_GONE, w->key,
                 "consumed since the fix (deleted, or no longer pending); "
                 "nothing to restore");
  if (o->queue && w->outcome == STORE_SWAP_IN_FLIGHT) {
    r->unsettled++;
    return count(r, o, FIX_IN_FLIGHT, w->key,
                 "a consumer holds it; run the restore again later");
  }
  return count(r, o, FIX_CONFLICT, w->key,
               w->holds_value
                   ? "already restored: the row holds its original bytes "
                     "again; nothing to do"
                   : "the row no longer holds the bytes the fix wrote (a "
                     "writer changed or deleted it); left alone");
}

/* Whether a restore of the part stopped before its end (a signal, an
 * error, or a process that died): the next restore goes on from its
 * checkpoint. One that ended (done, or messages left in flight) is over:
 * the next starts anew. */
int fix_restore_unfinished(const store_run *run) {
  return strcmp(run->restore_status, "running") == 0 ||
         strcmp(run->restore_status, "interrupted") == 0 ||
         strcmp(run->restore_status, "failed") == 0;
}

/* fix_restore() once the lease is held. */
static int restore_run(fix_result *r, store *s, const fix_options *o) {
  store_error serr = {STORE_OK, ""};
  const store_run *fixed = o->run;
  if (strcmp(fixed->command, "fix") != 0) {
    r->status = STORE_EUSAGE;
    snprintf(r->error, sizeof r->error, "run %s is not a fix", fixed->run_id);
    return 0;
  }
  /* The backup rows' keys are texts of the run's key: read with another
   * key's columns they would name other rows, or none. */
  if (strcmp(fixed->key, store_key(s)) != 0) {
    r->status = STORE_EUSAGE;
    snprintf(r->error, sizeof r->error,
             "run %.40s was made with key '%.120s', not '%.120s': restore "
             "it with --key %.120s",
             fixed->run, fixed->key, store_key(s), fixed->key);
    return 0;
  }
  r->run = *fixed;
  r->executed = o->execute;
  r->key_parts = store_key_parts(s);
  char after[STORE_CHECKPOINT_MAX];
  int has_after = 0;
  r->passes = 1;
  if (fix_restore_unfinished(&r->run) && r->run.has_restore_checkpoint) {
    /* An unfinished restore goes on where it stopped, with its counts;
     * its dry run predicts that. */
    snprintf(after, sizeof after, "%s", r->run.restore_checkpoint);
    has_after = 1;
    r->counts[FIX_RESTORED] = nonneg(r->run.restore_restored);
    r->counts[FIX_CONFLICT] = nonneg(r->run.restore_conflicts);
    r->counts[FIX_IN_FLIGHT] = nonneg(r->run.restore_in_flight);
    r->counts[FIX_GONE] = nonneg(r->run.restore_gone);
    r->unsettled = r->counts[FIX_IN_FLIGHT];
  } else if (o->execute) {
    r->run.restores++;
    r->run.has_restore_checkpoint = 0;
    r->run.restore_checkpoint[0] = '\0';
  }
  if (o->execute) {
    snprintf(r->run.restore_status, sizeof r->run.restore_status, "running");
    restore_counts_to_run(r);
    if (save_run(r, o, s) != 0) return 0;
  }
  int rc = 0;
  double start = verify_now_seconds();
  uint64_t handled = 0;
  for (;;) {
    if (o->interrupted != NULL && *o->interrupted) {
      r->interrupted = 1;
      break;
    }
    store_swap *rows = NULL;
    int n = store_backup_page(s, r->run.run_id, has_after ? after : NULL,
                              o->batch, &rows, &serr);
    if (n < 0) {
      set_error(r, &serr);
      break;
    }
    if (n == 0) {
      r->complete = 1;
      break;
    }
    r->rows_read += (uint64_t)n;
    /* The dry run reads each row and decides as the batch would; the
     * execute swaps, and its checkpoint is the page's last backup key.
     * Both are counted the same way. */
    store_run next = r->run;
    restore_counts_to_run(r);
    next.restore_restored = r->run.restore_restored;
    next.restore_conflicts = r->run.restore_conflicts;
    next.restore_in_flight = r->run.restore_in_flight;
    next.restore_gone = r->run.restore_gone;
    next.has_restore_checkpoint = 1;
    snprintf(next.restore_checkpoint, sizeof next.restore_checkpoint, "%s",
             rows[n - 1].key);
    next.updated_us = rs_now_us();
    int st = with_retries(r, o, o->execute ? store_restore_batch : check_batch,
                          s, &next, rows, (size_t)n, &serr);
    if (st != STORE_OK) {
      set_error(r, &serr);
      break;
    }
    for (int i = 0; i < n && rc == 0; i++) {
      rc = count_restore(r, o, &rows[i], !o->execute);
      if (o->execute && rows[i].swapped) r->run.restored++;
    }
    snprintf(after, sizeof after, "%s", rows[n - 1].key);
    has_after = 1;
    if (o->execute) {
      r->run.has_restore_checkpoint = 1;
      memcpy(r->run.restore_checkpoint, next.restore_checkpoint,
             sizeof r->run.restore_checkpoint);
    }
    if (rc != 0) break;
    handled += (uint64_t)n;
    if (o->progress != NULL) o->progress(o->progress_ctx, r->rows_read);
    throttle(o, start, handled);
  }
  r->fault = (int)store_last_fault(s);
  /* A lost connection: nothing more can be written, and the restore's row
   * in the database is the truth (see fix_target). */
  if (o->execute && r->fault == STORE_FAULT_CONNECTION_LOST) {
    snprintf(r->run.restore_status, sizeof r->run.restore_status,
             "interrupted");
  } else if (o->execute) {
    snprintf(r->run.restore_status, sizeof r->run.restore_status, "%s",
             r->interrupted || r->fault != STORE_FAULT_NONE ? "interrupted"
             : r->status != STORE_OK                        ? "failed"
             : r->unsettled > 0                             ? "incomplete"
                                                            : "done");
    restore_counts_to_run(r);
    save_final(r, o, s);
  }
  return rc;
}

/* ---- planning for other drivers ----------------------------------------- */

struct fix_planner {
  fix_options o; /* the engine points here */
  engine e;
};

int fix_planner_new(fix_planner **out, const fix_options *o, rs_error *err) {
  *out = NULL;
  fix_planner *p = calloc(1, sizeof *p);
  if (p == NULL) {
    err->code = RS_ENOMEM;
    err->offset = RS_OFFSET_NONE;
    snprintf(err->message, sizeof err->message, "out of memory");
    return RS_ENOMEM;
  }
  p->o = *o;
  int rc = engine_init(&p->e, &p->o, err);
  if (rc != 0) {
    fix_planner_free(p);
    return rc;
  }
  *out = p;
  return 0;
}

int fix_planner_plan(fix_planner *p, const uint8_t *value, size_t len,
                     const uint8_t **out, size_t *out_len, int *oc,
                     const char **why, rs_error *err) {
  rs_arena_reset(p->e.batch_arena);
  rs_buf buf = RS_BUF_INIT;
  *out = NULL;
  *out_len = 0;
  int rc = plan(&p->e, value, len, &buf, oc, why, err);
  if (rc == 0 && (*oc == FIX_CONVERTED || *oc == FIX_LOSSY)) {
    *out = buf.data;
    *out_len = buf.len;
  }
  return rc;
}

int fix_planner_check(fix_planner *p, fix_result *r, const uint8_t *value,
                      size_t len, rs_error *err) {
  const fix_options *o = &p->o;
  rs_classification *c = NULL;
  int rc = rs_classify(&c, o->registry, o->type, &o->reader, value, len,
                       &p->e.quick_opts, err);
  if (rc == 0) count_remaining(r, c);
  rs_arena_reset(p->e.row_arena);
  return rc;
}

void fix_planner_verified(fix_result *r) {
  verified(r);
}

int fix_count(fix_result *r, const fix_options *o, fix_outcome oc,
              const char *key, const char *why) {
  return count_at(r, o, oc, key, 1, why);
}

void fix_planner_free(fix_planner *p) {
  if (p == NULL) return;
  engine_dispose(&p->e);
  free(p);
}

int fix_restore(fix_result *r, store *s, const fix_options *o, rs_error *err) {
  (void)err;
  memset(r, 0, sizeof *r);
  double t0 = verify_now_seconds();
  store_error serr = {STORE_OK, ""};
  /* A restore that writes holds the run's lease, as a fix does: never
   * beside a fix or a restore of the same run. */
  const char *run_id = o->run->run_id;
  if (o->execute && store_run_lease(s, run_id, &serr) != STORE_OK) {
    set_error(r, &serr);
    r->seconds = verify_now_seconds() - t0;
    return 0;
  }
  int rc = restore_run(r, s, o);
  if (o->execute) store_run_release(s, run_id);
  r->busy_retries += store_busy_retries(s);
  r->seconds = verify_now_seconds() - t0;
  return rc;
}
