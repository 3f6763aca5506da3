#define _POSIX_C_SOURCE 200809L
/*
 * src/verify/scan.c: the scan engine.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "verify/util.h"
#include "verify/scan.h"

/* Distinct writers kept apart; the rest share one group. Provenance strings
 * come from the data, so their number must not grow memory without bound. */
#define SCAN_MAX_WRITERS 256
#define SCAN_OTHER_WRITERS "(other writers)"

/* Rows between progress callbacks: often enough for a smooth display,
 * rarely enough to cost nothing. */
#define SCAN_PROGRESS_EVERY 4096

int scan_verdict_is_finding(rs_verdict v) {
  return v >= RS_VERDICT_MISREAD;
}

const char *scan_undetermined_name(scan_undetermined_kind kind) {
  return kind == SCAN_UNREGISTERED_VERSION ? "unregistered_version"
         : kind == SCAN_UNMAPPED_SCHEMA_ID ? "unmapped_schema_id"
         : kind == SCAN_UNDECODED_GROUPS   ? "undecoded_groups"
         : kind == SCAN_EXTENSION_FIELDS   ? "extension_fields"
         : kind == SCAN_NO_READER          ? "no_reader"
                                           : "ambiguous_writer";
}

scan_undetermined_kind scan_undetermined_of(rs_writer_basis basis) {
  return basis == RS_WRITER_UNREGISTERED ? SCAN_UNREGISTERED_VERSION
         : basis == RS_WRITER_UNMAPPED   ? SCAN_UNMAPPED_SCHEMA_ID
         : basis == RS_WRITER_UNDECODED  ? SCAN_UNDECODED_GROUPS
         : basis == RS_WRITER_EXTENSION  ? SCAN_EXTENSION_FIELDS
         : basis == RS_WRITER_NO_READER  ? SCAN_NO_READER
                                         : SCAN_AMBIGUOUS_WRITER;
}

uint64_t scan_undetermined_total(const scan_result *r) {
  uint64_t n = 0;
  for (int k = 0; k < SCAN_UNDETERMINED_KINDS; k++) n += r->undetermined[k];
  return n;
}

static int same_str(const char *a, const char *b) {
  return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void dispose_sample(scan_sample *s) {
  free(s->key);
  free(s->flag_key);
  free(s->variant);
  for (size_t i = 0; i < s->n_reasons; i++) {
    free(s->reasons[i].path);
    free(s->reasons[i].text);
  }
  free(s->reasons);
}

void scan_result_dispose(scan_result *r) {
  if (r == NULL) return;
  for (size_t i = 0; i < r->n_writers; i++) {
    free(r->writers[i].flag_key);
    free(r->writers[i].variant);
  }
  free(r->writers);
  for (int v = 0; v < RS_VERDICT_COUNT; v++) {
    for (size_t i = 0; i < r->n_samples[v]; i++)
      dispose_sample(&r->samples[v][i]);
    free(r->samples[v]);
  }
  for (size_t i = 0; i < r->n_undetermined_samples; i++)
    dispose_sample(&r->undetermined_samples[i]);
  free(r->undetermined_samples);
  free(r->partitions);
  memset(r, 0, sizeof *r);
}

/* Whether group w is the one of a record written so. */
static int writer_is(const scan_writer *w, unsigned version,
                     rs_encoding encoding, int has_schema_id,
                     uint32_t schema_id, const char *flag,
                     const char *variant) {
  return w->version == version && w->encoding == encoding &&
         w->has_schema_id == has_schema_id &&
         (!has_schema_id || w->schema_id == schema_id) &&
         same_str(w->flag_key, flag) && same_str(w->variant, variant);
}

/* The writer group of a record; NULL only when out of memory. */
static scan_writer *writer_of(scan_result *r, unsigned version,
                              rs_encoding encoding, int has_schema_id,
                              uint32_t schema_id, const char *flag,
                              const char *variant) {
  /* Rows come in runs of one writer: the last row's group first. */
  if (r->last_writer < r->n_writers &&
      writer_is(&r->writers[r->last_writer], version, encoding, has_schema_id,
                schema_id, flag, variant))
    return &r->writers[r->last_writer];
  for (size_t i = 0; i < r->n_writers; i++) {
    if (writer_is(&r->writers[i], version, encoding, has_schema_id, schema_id,
                  flag, variant)) {
      r->last_writer = i;
      return &r->writers[i];
    }
  }
  size_t limit = r->writer_limit != 0 ? r->writer_limit : SCAN_MAX_WRITERS;
  if (r->n_writers == limit) {
    /* The last slot was turned into the catch-all group when it was
     * taken; see below. */
    return &r->writers[limit - 1];
  }
  scan_writer *grown =
      realloc(r->writers, (r->n_writers + 1) * sizeof *r->writers);
  if (grown == NULL) return NULL;
  r->writers = grown;
  scan_writer *w = &r->writers[r->n_writers];
  memset(w, 0, sizeof *w);
  w->version = version;
  w->encoding = encoding;
  w->has_schema_id = has_schema_id;
  w->schema_id = has_schema_id ? schema_id : 0;
  if (r->n_writers == limit - 1) {
    w->version = 0;
    w->encoding = 0;
    w->has_schema_id = 0;
    w->schema_id = 0;
    flag = SCAN_OTHER_WRITERS;
    variant = NULL;
  }
  w->flag_key = verify_strdup(flag);
  w->variant = verify_strdup(variant);
  if ((flag != NULL && w->flag_key == NULL) ||
      (variant != NULL && w->variant == NULL)) {
    free(w->flag_key);
    free(w->variant);
    return NULL;
  }
  w->first_position = r->rows_streamed - 1;
  r->last_writer = r->n_writers++;
  return w;
}

/* Keeps the record as an example in the list *@p list of *@p count; 0 or
 * RS_ENOMEM. */
static int add_sample(scan_sample **list, size_t *count, store_row *row,
                      const rs_classification *c, const rs_provenance *p,
                      uint64_t position) {
  scan_sample *grown = realloc(*list, (*count + 1) * sizeof **list);
  if (grown == NULL) return RS_ENOMEM;
  *list = grown;
  scan_sample *s = &grown[*count];
  memset(s, 0, sizeof *s);
  s->written_version = rs_classification_written_version(c);
  s->basis = rs_classification_writer_basis(c);
  s->candidates = rs_classification_writer_candidates(c);
  s->has_schema_id = rs_classification_schema_id(c, &s->schema_id);
  s->verdict = rs_classification_verdict(c);
  s->position = position;
  s->key_parts = row->key_parts;
  s->key_position = row->key_parts == 0;
  size_t key_len;
  const char *key = store_row_key(row, &key_len);
  s->key = malloc(key_len + 1);
  if (s->key != NULL) {
    memcpy(s->key, key, key_len);
    s->key[key_len] = '\0';
  }
  int oom = s->key == NULL;
  if (p != NULL) {
    s->flag_key = verify_strdup(p->flag_key);
    s->variant = verify_strdup(p->variant);
    s->write_time_us = p->write_time_us;
    oom |= (p->flag_key != NULL && s->flag_key == NULL) ||
           (p->variant != NULL && s->variant == NULL);
  }
  size_t n = rs_classification_reason_count(c);
  s->reasons_omitted = rs_classification_reasons_omitted(c);
  if (!oom && n > 0) {
    s->reasons = calloc(n, sizeof *s->reasons);
    oom |= s->reasons == NULL;
    for (size_t i = 0; !oom && i < n; i++) {
      const rs_reason *reason = rs_classification_reason(c, i);
      scan_reason *out = &s->reasons[i];
      out->verdict = rs_reason_verdict(reason);
      out->field = rs_reason_field(reason);
      out->offset = rs_reason_offset(reason);
      out->path = verify_strdup(rs_reason_path(reason));
      out->text = verify_strdup(rs_reason_text(reason));
      out->code = rs_reason_code(reason);
      s->n_reasons = i + 1;
      oom |= out->path == NULL || out->text == NULL;
    }
  }
  /* Counted in either case, so that dispose frees what was taken. */
  (*count)++;
  return oom ? RS_ENOMEM : 0;
}

/* What the scan's filters make of a record. */
enum { FILTER_OUT = 0, FILTER_IN = 1, FILTER_UNATTRIBUTED = 2 };

/*
 * A record whose provenance names another flag or variant, or an earlier
 * write time, is left out. One that carries no provenance (raw bytes, an
 * envelope written without one) or no write time cannot be attributed
 * either way: it is counted, as unattributed, so that a filter never
 * leaves out a record it cannot tell apart.
 */
static int wanted(const scan_options *o, const rs_provenance *p) {
  int unattributed = 0;
  if (o->flag_key != NULL) {
    if (p == NULL) {
      unattributed = 1;
    } else {
      if (!same_str(p->flag_key, o->flag_key)) return FILTER_OUT;
      if (o->flag_variant != NULL && !same_str(p->variant, o->flag_variant))
        return FILTER_OUT;
    }
  }
  if (o->written_after_us != 0) {
    if (p == NULL || p->write_time_us == 0)
      unattributed = 1;
    else if (p->write_time_us <= o->written_after_us)
      return FILTER_OUT;
  }
  return unattributed ? FILTER_UNATTRIBUTED : FILTER_IN;
}

/*
 * A record's provenance: its envelope's, else what the target says of the
 * row outside its bytes (Kafka headers), in @p tmp; NULL when neither.
 */
static const rs_provenance *provenance_of(const rs_classification *c,
                                          const store_row *row,
                                          rs_provenance *tmp) {
  const rs_provenance *p = rs_classification_provenance(c);
  if (p != NULL || row->provenance == NULL) return p;
  *tmp = (rs_provenance)RS_PROVENANCE_INIT;
  tmp->flag_key = row->provenance->flag_key;
  tmp->variant = row->provenance->variant;
  tmp->writer_id = row->provenance->writer_id;
  tmp->write_time_us = row->provenance->write_time_us;
  return tmp;
}

/* Whether a record that the filters keep is wanted in full: it will be
 * kept as a sample. */
static int wants_sample(const scan_result *r, const scan_options *o,
                        const rs_classification *c) {
  if (!rs_classification_decided(c))
    return r->n_undetermined_samples < o->max_samples;
  return r->n_samples[rs_classification_verdict(c)] < o->max_samples;
}

/* Counts a record, of provenance p (provenance_of) and filter wanted(o, p). */
static int count_row(scan_result *r, const scan_options *o, store_row *row,
                     const rs_classification *c, const rs_provenance *p,
                     int filter) {
  if (filter == FILTER_OUT) {
    r->rows_skipped++;
    return 0;
  }
  rs_verdict v = rs_classification_verdict(c);
  rs_writer_basis basis = rs_classification_writer_basis(c);
  int decided = rs_classification_decided(c);
  scan_undetermined_kind why = scan_undetermined_of(basis);
  if (decided) {
    r->rows_counted++;
    r->verdicts[v]++;
  } else {
    r->undetermined[why]++;
  }
  if (filter == FILTER_UNATTRIBUTED) {
    r->unattributed++;
    if (decided && scan_verdict_is_finding(v)) r->unattributed_findings++;
  }
  /* Several versions explain an ambiguous record: its writer is none of
   * them in particular. */
  unsigned version =
      basis == RS_WRITER_AMBIGUOUS ? 0 : rs_classification_written_version(c);
  uint32_t schema_id = 0;
  int has_schema_id = rs_classification_schema_id(c, &schema_id);
  scan_writer *w = writer_of(
      r, version, rs_classification_encoding(c), has_schema_id, schema_id,
      p != NULL ? p->flag_key : NULL, p != NULL ? p->variant : NULL);
  if (w == NULL) return RS_ENOMEM;
  w->rows++;
  if (decided)
    w->verdicts[v]++;
  else
    w->undetermined[why]++;
  if (p != NULL && p->write_time_us != 0) {
    if (w->first_write_us == 0 || p->write_time_us < w->first_write_us)
      w->first_write_us = p->write_time_us;
    if (p->write_time_us > w->last_write_us)
      w->last_write_us = p->write_time_us;
  }
  if (!decided) {
    if (r->n_undetermined_samples < o->max_samples)
      return add_sample(&r->undetermined_samples, &r->n_undetermined_samples,
                        row, c, p, r->rows_streamed - 1);
    return 0;
  }
  if (r->n_samples[v] < o->max_samples)
    return add_sample(&r->samples[v], &r->n_samples[v], row, c, p,
                      r->rows_streamed - 1);
  return 0;
}

/* The classifiers of one scan: the verdict alone, and in full for the
 * records whose reasons the report keeps. */
typedef struct scan_judges {
  rs_classifier *judge, *explain;
  rs_arena *arena;      /* the classifications' memory, reset per record */
  verify_bytes decoded; /* a text-encoded value's bytes */
} scan_judges;

/*
 * A stored value that is not in the column's encoding: corrupt, its writer
 * unknown, with the decoder's reason (its offset is in the stored text). It
 * carries no provenance, so a filter counts it as unattributed.
 */
static int count_undecodable(scan_result *r, const scan_options *o,
                             store_row *row, const colenc_error *cerr) {
  int filter = wanted(o, NULL);
  r->rows_counted++;
  r->verdicts[RS_VERDICT_CORRUPT]++;
  if (filter == FILTER_UNATTRIBUTED) {
    r->unattributed++;
    r->unattributed_findings++;
  }
  scan_writer *w = writer_of(r, 0, RS_ENCODING_RAW, 0, 0, NULL, NULL);
  if (w == NULL) return RS_ENOMEM;
  w->rows++;
  w->verdicts[RS_VERDICT_CORRUPT]++;
  size_t *count = &r->n_samples[RS_VERDICT_CORRUPT];
  if (*count >= o->max_samples) return 0;
  scan_sample *grown =
      realloc(r->samples[RS_VERDICT_CORRUPT], (*count + 1) * sizeof *grown);
  if (grown == NULL) return RS_ENOMEM;
  r->samples[RS_VERDICT_CORRUPT] = grown;
  scan_sample *sm = &grown[*count];
  memset(sm, 0, sizeof *sm);
  sm->verdict = RS_VERDICT_CORRUPT;
  sm->position = r->rows_streamed - 1;
  (*count)++; /* counted first, so that dispose frees what was taken */
  size_t key_len;
  const char *key = store_row_key(row, &key_len);
  sm->key = malloc(key_len + 1);
  sm->reasons = calloc(1, sizeof *sm->reasons);
  if (sm->key == NULL || sm->reasons == NULL) return RS_ENOMEM;
  memcpy(sm->key, key, key_len);
  sm->key[key_len] = '\0';
  sm->n_reasons = 1;
  sm->reasons[0].verdict = RS_VERDICT_CORRUPT;
  sm->reasons[0].offset = cerr->offset;
  sm->reasons[0].path = verify_strdup("");
  sm->reasons[0].text = verify_strdup(cerr->message);
  sm->reasons[0].code = "column-encoding-invalid"; /* docs/reasons.md */
  return sm->reasons[0].path == NULL || sm->reasons[0].text == NULL ? RS_ENOMEM
                                                                    : 0;
}

/* Judges one row's record: 0, or a codec error that stops the scan. */
static int judge_row(scan_result *r, const scan_options *o,
                     const scan_judges *j, store_row *row, const uint8_t *bytes,
                     size_t len, rs_error *err) {
  /* The verdict first, without the work that only explains it; a record
   * whose reasons the report keeps (the first keys of each verdict) is
   * classified again in full. */
  rs_classification *c = NULL;
  int rc = rs_classifier_run(j->judge, &c, bytes, len, err);
  if (rc != 0) return rc;
  rs_provenance tmp;
  const rs_provenance *p = provenance_of(c, row, &tmp);
  int filter = wanted(o, p);
  if (filter != FILTER_OUT && wants_sample(r, o, c)) {
    rs_classification_free(c);
    c = NULL;
    /* The first run's memory is all in the arena: given back before the
     * second, so that one record never holds two budgets' worth. The
     * second finds the same provenance, so the same filter. */
    rs_arena_reset(j->arena);
    rc = rs_classifier_run(j->explain, &c, bytes, len, err);
    if (rc != 0) return rc;
    p = provenance_of(c, row, &tmp);
  }
  rc = count_row(r, o, row, c, p, filter);
  rs_classification_free(c);
  return rc;
}

/* The counts of the row's partition; NULL when out of memory. */
static scan_partition *partition_of(scan_result *r, int32_t partition) {
  for (size_t i = r->n_partitions; i > 0; i--)
    if (r->partitions[i - 1].partition == partition)
      return &r->partitions[i - 1];
  scan_partition *grown =
      realloc(r->partitions, (r->n_partitions + 1) * sizeof *grown);
  if (grown == NULL) return NULL;
  r->partitions = grown;
  scan_partition *p = &grown[r->n_partitions++];
  memset(p, 0, sizeof *p);
  p->partition = partition;
  return p;
}

/* What one row added to the target's counts, added to its partition's. */
static void count_partition(scan_partition *p, const scan_result *before,
                            const scan_result *after) {
  p->rows_read++;
  p->rows_null += after->rows_null - before->rows_null;
  p->rows_skipped += after->rows_skipped - before->rows_skipped;
  for (int v = 0; v < RS_VERDICT_COUNT; v++)
    p->verdicts[v] += after->verdicts[v] - before->verdicts[v];
  p->undetermined +=
      scan_undetermined_total(after) - scan_undetermined_total(before);
}

/* Whether the scan was asked to stop (a signal, or another thread). */
static int stopped(const scan_options *o) {
  return (o->interrupted != NULL && *o->interrupted) ||
         (o->stop != NULL &&
          atomic_load_explicit(o->stop, memory_order_relaxed));
}

/* The counts of each cluster kind so far: verdicts, then findings. */
static void cluster_counts(const scan_result *r,
                           uint64_t out[SCAN_CLUSTER_KINDS]) {
  out[RS_VERDICT_COUNT] = 0;
  for (int v = 0; v < RS_VERDICT_COUNT; v++) {
    out[v] = r->verdicts[v];
    if (scan_verdict_is_finding((rs_verdict)v))
      out[RS_VERDICT_COUNT] += r->verdicts[v];
  }
}

/* Closes the current cluster, if any: its counts into the sums. */
static void cluster_close(scan_result *r) {
  scan_clusters *c = &r->clusters;
  if (!c->open) return;
  uint64_t now[SCAN_CLUSTER_KINDS];
  cluster_counts(r, now);
  double n = (double)(r->rows_read - c->start_rows);
  c->m++;
  c->n2 += n * n;
  for (int k = 0; k < SCAN_CLUSTER_KINDS; k++) {
    double kc = (double)(now[k] - c->start[k]);
    c->k2[k] += kc * kc;
    c->nk[k] += n * kc;
  }
  c->open = 0;
}

/* A row of cluster @p id is next: a cluster other than the current one
 * closes it and starts. */
static void cluster_row(scan_result *r, int64_t id) {
  scan_clusters *c = &r->clusters;
  if (c->open && c->id == id) return;
  cluster_close(r);
  c->open = 1;
  c->id = id;
  c->start_rows = r->rows_read;
  cluster_counts(r, c->start);
}

/* Every row of a started scan, until the end, an error or an interrupt. */
static int scan_rows(scan_result *r, store *s, const scan_options *o,
                     scan_judges *j, rs_error *err) {
  store_error serr = {STORE_OK, ""};
  int rc = 0;
  for (;;) {
    if (stopped(o)) {
      r->interrupted = 1;
      store_cancel(s);
      break;
    }
    store_row row;
    int got = store_next(s, &row, &serr);
    if (got == 0) {
      r->complete = 1;
      break;
    }
    if (got < 0 && stopped(o)) {
      /* The call failed because the signal handler interrupted it. */
      r->interrupted = 1;
      store_cancel(s);
      break;
    }
    if (got < 0) {
      r->status = serr.status;
      memcpy(r->error, serr.message, sizeof r->error);
      break;
    }
    r->rows_streamed++;
    if (o->progress != NULL && r->rows_streamed % SCAN_PROGRESS_EVERY == 0)
      o->progress(o->progress_ctx, r->rows_streamed);
    /* Another shard's row: read, as every shard reads every row, and
     * passed over. */
    if (o->shard_count > 1) {
      size_t key_len;
      const char *key = store_row_key(&row, &key_len);
      if (scan_key_hash(key, key_len) % o->shard_count != o->shard_index)
        continue;
    }
    if (row.has_cluster) cluster_row(r, row.cluster);
    r->rows_read++;
    scan_partition *part = NULL;
    scan_result before;
    if (row.has_partition) {
      part = partition_of(r, row.partition);
      if (part == NULL) {
        rc = RS_ENOMEM;
        if (err != NULL) {
          err->code = RS_ENOMEM;
          err->offset = RS_OFFSET_NONE;
          strcpy(err->message, "out of memory keeping the scan's results");
        }
        store_cancel(s);
        break;
      }
      before = *r;
    }
    if (row.value_is_null) {
      r->rows_null++;
      if (part != NULL) count_partition(part, &before, r);
      continue;
    }
    const uint8_t *bytes = NULL;
    size_t len = 0;
    colenc_error cerr;
    rc = verify_decode(o->column_encoding, row.value, row.value_len,
                       &j->decoded, &bytes, &len, NULL, &cerr);
    if (rc == -1)
      rc = count_undecodable(r, o, &row, &cerr);
    else if (rc == 0)
      rc = judge_row(r, o, j, &row, bytes, len, err);
    if (rc == RS_ENOMEM && err != NULL) {
      err->code = RS_ENOMEM;
      err->offset = RS_OFFSET_NONE;
      strcpy(err->message, "out of memory keeping the scan's results");
    }
    if (part != NULL && rc == 0) count_partition(part, &before, r);
    rs_arena_reset(j->arena);
    if (rc != 0) {
      store_cancel(s);
      break;
    }
  }
  cluster_close(r);
  if (o->progress != NULL) o->progress(o->progress_ctx, r->rows_streamed);
  return rc;
}

static void judges_free(scan_judges *j) {
  rs_classifier_free(j->judge);
  rs_classifier_free(j->explain);
  rs_arena_free(j->arena);
  free(j->decoded.data);
}

static int judges_new(scan_judges *j, const char *type, const scan_options *o,
                      rs_error *err) {
  memset(j, 0, sizeof *j);
  int rc = rs_arena_new(&j->arena, 0, NULL, err);
  if (rc != 0) return rc;
  rs_options copts = RS_OPTIONS_INIT;
  if (o->codec_options != NULL) copts = *o->codec_options;
  copts.allocator = rs_arena_allocator(j->arena);
  rs_options quick = copts;
  quick.flags |= RS_OPT_VERDICT_ONLY;
  rc = rs_classifier_new(&j->judge, o->registry, type, &o->reader, &quick, err);
  if (rc == 0)
    rc = rs_classifier_new(&j->explain, o->registry, type, &o->reader, &copts,
                           err);
  if (rc != 0) judges_free(j);
  return rc;
}

int scan_target(scan_result *r, store *s, const char *type,
                const scan_options *o, rs_error *err) {
  memset(r, 0, sizeof *r);
  r->writer_limit = o->max_writers;
  r->status = STORE_OK;
  double start = verify_now_seconds();
  scan_judges j;
  int rc = judges_new(&j, type, o, err);
  if (rc != 0) return rc;
  r->estimated_rows = store_estimate_rows(s);
  store_error serr = {STORE_OK, ""};
  /* A key is spelled only for the rows the report names (samples) and for
   * --shard's hash: most rows are counted, never named. */
  store_defer_int_keys(s);
  if (store_scan(s, &serr) == STORE_OK) {
    rc = scan_rows(r, s, o, &j, err);
  } else if (stopped(o)) {
    r->interrupted = 1;
  } else {
    r->status = serr.status;
    memcpy(r->error, serr.message, sizeof r->error);
  }
  judges_free(&j);

  r->seconds = verify_now_seconds() - start;
  return rc;
}

uint64_t scan_key_hash(const char *key, size_t len) {
  uint64_t h = 14695981039346656037ULL;
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)key[i];
    h *= 1099511628211ULL;
  }
  return h;
}

/* ---- merging the parts of one scan ----------------------------------- */

/* Merges the sorted sample lists *a (n_a) and b (n_b, whose positions are
 * shifted by @p offset) into *a, keeping the first @p max by position; b's
 * samples are moved or disposed, and b freed. */
static int merge_samples(scan_sample **a, size_t *n_a, scan_sample *b,
                         size_t n_b, uint64_t offset, size_t max) {
  for (size_t i = 0; i < n_b; i++) b[i].position += offset;
  size_t total = *n_a + n_b, keep = total < max ? total : max;
  scan_sample *out = keep > 0 ? malloc(keep * sizeof *out) : NULL;
  if (keep > 0 && out == NULL) {
    for (size_t i = 0; i < n_b; i++) dispose_sample(&b[i]);
    free(b);
    return RS_ENOMEM;
  }
  size_t i = 0, j = 0, k = 0;
  while (i < *n_a || j < n_b) {
    int take_a = j == n_b || (i < *n_a && (*a)[i].position <= b[j].position);
    scan_sample *s = take_a ? &(*a)[i++] : &b[j++];
    if (k < keep)
      out[k++] = *s;
    else
      dispose_sample(s);
  }
  free(*a);
  free(b);
  *a = out;
  *n_a = k;
  return 0;
}

/* Adds writer group @p w (moved) to @p r's, merging it with the same one. */
static int merge_writer(scan_result *r, scan_writer *w) {
  for (size_t i = 0; i < r->n_writers; i++) {
    scan_writer *x = &r->writers[i];
    if (!writer_is(x, w->version, w->encoding, w->has_schema_id, w->schema_id,
                   w->flag_key, w->variant))
      continue;
    x->rows += w->rows;
    for (int v = 0; v < RS_VERDICT_COUNT; v++) x->verdicts[v] += w->verdicts[v];
    for (int k = 0; k < SCAN_UNDETERMINED_KINDS; k++)
      x->undetermined[k] += w->undetermined[k];
    if (w->first_write_us != 0 &&
        (x->first_write_us == 0 || w->first_write_us < x->first_write_us))
      x->first_write_us = w->first_write_us;
    if (w->last_write_us > x->last_write_us)
      x->last_write_us = w->last_write_us;
    if (w->first_position < x->first_position)
      x->first_position = w->first_position;
    free(w->flag_key);
    free(w->variant);
    return 0;
  }
  scan_writer *grown =
      realloc(r->writers, (r->n_writers + 1) * sizeof *r->writers);
  if (grown == NULL) {
    free(w->flag_key);
    free(w->variant);
    return RS_ENOMEM;
  }
  r->writers = grown;
  r->writers[r->n_writers++] = *w;
  return 0;
}

/* Writers in the order met (stable), and past SCAN_MAX_WRITERS the later
 * ones in the catch-all group, as one scan would have kept them. */
int scan_result_fold_writers(scan_result *r) {
  for (size_t i = 1; i < r->n_writers; i++) {
    scan_writer w = r->writers[i];
    size_t j = i;
    for (; j > 0 && r->writers[j - 1].first_position > w.first_position; j--)
      r->writers[j] = r->writers[j - 1];
    r->writers[j] = w;
  }
  r->last_writer = 0;
  if (r->n_writers <= SCAN_MAX_WRITERS || r->writer_limit == (size_t)-1)
    return 0;
  scan_writer *other = &r->writers[SCAN_MAX_WRITERS - 1];
  char *name = verify_strdup(SCAN_OTHER_WRITERS);
  if (name == NULL) return RS_ENOMEM;
  free(other->flag_key);
  free(other->variant);
  other->flag_key = name;
  other->variant = NULL;
  other->version = 0;
  other->encoding = 0;
  other->has_schema_id = 0;
  other->schema_id = 0;
  for (size_t i = SCAN_MAX_WRITERS; i < r->n_writers; i++) {
    scan_writer *w = &r->writers[i];
    other->rows += w->rows;
    for (int v = 0; v < RS_VERDICT_COUNT; v++)
      other->verdicts[v] += w->verdicts[v];
    for (int k = 0; k < SCAN_UNDETERMINED_KINDS; k++)
      other->undetermined[k] += w->undetermined[k];
    if (w->first_write_us != 0 && (other->first_write_us == 0 ||
                                   w->first_write_us < other->first_write_us))
      other->first_write_us = w->first_write_us;
    if (w->last_write_us > other->last_write_us)
      other->last_write_us = w->last_write_us;
    free(w->flag_key);
    free(w->variant);
  }
  r->n_writers = SCAN_MAX_WRITERS;
  return 0;
}

int scan_result_merge(scan_result *into, scan_result *from,
                      size_t max_samples) {
  uint64_t offset = into->rows_streamed;
  int rc = 0;
  into->complete = into->complete && from->complete;
  into->interrupted |= from->interrupted;
  if (into->status == STORE_OK && from->status != STORE_OK) {
    into->status = from->status;
    memcpy(into->error, from->error, sizeof into->error);
  }
  into->rows_read += from->rows_read;
  into->rows_streamed += from->rows_streamed;
  into->rows_null += from->rows_null;
  into->rows_skipped += from->rows_skipped;
  into->rows_counted += from->rows_counted;
  for (int v = 0; v < RS_VERDICT_COUNT; v++)
    into->verdicts[v] += from->verdicts[v];
  for (int k = 0; k < SCAN_UNDETERMINED_KINDS; k++)
    into->undetermined[k] += from->undetermined[k];
  into->unattributed += from->unattributed;
  into->unattributed_findings += from->unattributed_findings;
  into->clusters.m += from->clusters.m;
  into->clusters.n2 += from->clusters.n2;
  for (int k = 0; k < SCAN_CLUSTER_KINDS; k++) {
    into->clusters.k2[k] += from->clusters.k2[k];
    into->clusters.nk[k] += from->clusters.nk[k];
  }
  if (from->seconds > into->seconds) into->seconds = from->seconds;

  for (size_t i = 0; i < from->n_writers; i++) {
    from->writers[i].first_position += offset;
    int w = merge_writer(into, &from->writers[i]);
    if (rc == 0) rc = w;
  }
  free(from->writers);
  from->writers = NULL;
  from->n_writers = 0;
  /* Sorted, not folded: that is for the last merge
   * (scan_result_fold_writers). */
  if (rc == 0) {
    size_t limit = into->writer_limit;
    into->writer_limit = (size_t)-1;
    rc = scan_result_fold_writers(into);
    into->writer_limit = limit;
  }

  for (int v = 0; v < RS_VERDICT_COUNT; v++) {
    int m =
        merge_samples(&into->samples[v], &into->n_samples[v], from->samples[v],
                      from->n_samples[v], offset, max_samples);
    from->samples[v] = NULL;
    from->n_samples[v] = 0;
    if (rc == 0) rc = m;
  }
  int m =
      merge_samples(&into->undetermined_samples, &into->n_undetermined_samples,
                    from->undetermined_samples, from->n_undetermined_samples,
                    offset, max_samples);
  from->undetermined_samples = NULL;
  from->n_undetermined_samples = 0;
  if (rc == 0) rc = m;

  for (size_t i = 0; i < from->n_partitions; i++) {
    const scan_partition *fp = &from->partitions[i];
    scan_partition *p = partition_of(into, fp->partition);
    if (p == NULL) {
      if (rc == 0) rc = RS_ENOMEM;
      continue;
    }
    p->rows_read += fp->rows_read;
    p->rows_null += fp->rows_null;
    p->rows_skipped += fp->rows_skipped;
    for (int v = 0; v < RS_VERDICT_COUNT; v++)
      p->verdicts[v] += fp->verdicts[v];
    p->undetermined += fp->undetermined;
  }
  scan_result_dispose(from);
  return rc;
}
