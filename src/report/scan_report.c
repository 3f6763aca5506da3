#define _POSIX_C_SOURCE 200809L
/*
 * src/report/scan_report.c: text, JSON and OpenMetrics renderings of a
 * scan report.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/scan_report.h"
#include "report/estimate.h"
#include "report/format_version.h"
#include "report/key_render.h"
#include "store/store_stream.h"

void rs__format_time_us(char *buf, size_t size, int64_t us) {
  time_t secs = (time_t)(us / 1000000);
  long frac = (long)(us % 1000000);
  if (frac < 0) {
    frac += 1000000;
    secs--;
  }
  struct tm tm;
  if (gmtime_r(&secs, &tm) == NULL) {
    snprintf(buf, size, "%" PRId64 "us", us);
    return;
  }
  char date[24];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, size, "%s.%06ldZ", date, frac);
}

int scan_report_complete(const scan_report *r) {
  if (r->interrupted || r->n_targets == 0) return 0;
  for (size_t i = 0; i < r->n_targets; i++)
    if (!r->targets[i].scanned || !r->targets[i].result.complete) return 0;
  return 1;
}

static uint64_t findings_of(const scan_result *res) {
  uint64_t n = 0;
  for (int v = 0; v < RS_VERDICT_COUNT; v++)
    if (scan_verdict_is_finding((rs_verdict)v)) n += res->verdicts[v];
  return n;
}

static uint64_t target_findings(const scan_report_target *t) {
  return findings_of(&t->result) + (t->truncated ? 1 : 0);
}

/* ---- --sample: estimates of the whole --------------------------------- */

/* What a sampled target's counts say of its whole selection. */
typedef struct target_estimates {
  rs__estimate rows, verdicts[RS_VERDICT_COUNT], findings;
} target_estimates;

/* 1 with @p e filled when @p t was read as a sample, else 0 (not
 * sampled, or never opened). */
static int estimates_of(target_estimates *e, const scan_report *r,
                        const scan_report_target *t) {
  if (!r->sampled || !t->scanned || !(t->sample.fraction > 0)) return 0;
  const scan_result *res = &t->result;
  const scan_clusters *cl = &res->clusters;
  uint64_t n = res->rows_read;
  rs__cluster_sums c[SCAN_CLUSTER_KINDS];
  for (int k = 0; k < SCAN_CLUSTER_KINDS; k++)
    c[k] = (rs__cluster_sums){(double)cl->m, cl->n2, cl->k2[k], cl->nk[k],
                              (double)t->sample.groups};
  rs__estimate_rows(&e->rows, n, t->sample.fraction, t->sample.population,
                    &c[0]);
  for (int v = 0; v < RS_VERDICT_COUNT; v++)
    rs__estimate_part(&e->verdicts[v], res->verdicts[v], n, &e->rows, &c[v]);
  rs__estimate_part(&e->findings, findings_of(res), n, &e->rows,
                    &c[RS_VERDICT_COUNT]);
  return 1;
}

static void add_estimate(rs__estimate *into, const rs__estimate *e) {
  into->count += e->count;
  into->low += e->low;
  into->high += e->high;
}

/* Every sampled target's estimates added up (the bounds too, which makes
 * the total's interval wider than 95%, never narrower); 0 when none. */
static int total_estimates(target_estimates *sum, uint64_t *sampled,
                           const scan_report *r) {
  int any = 0;
  memset(sum, 0, sizeof *sum);
  *sampled = 0;
  for (size_t i = 0; i < r->n_targets; i++) {
    target_estimates e;
    if (!estimates_of(&e, r, &r->targets[i])) continue;
    any = 1;
    *sampled += r->targets[i].result.rows_read;
    add_estimate(&sum->rows, &e.rows);
    for (int v = 0; v < RS_VERDICT_COUNT; v++)
      add_estimate(&sum->verdicts[v], &e.verdicts[v]);
    add_estimate(&sum->findings, &e.findings);
  }
  return any;
}

#define SAMPLE_NOTE                                                        \
  "counts are of the rows sampled; each estimate is of the whole, with a " \
  "95% interval (rough where the sample read few blocks or windows); a "   \
  "sample shows findings, never their absence"

uint64_t scan_report_findings(const scan_report *r) {
  uint64_t n = 0;
  for (size_t i = 0; i < r->n_targets; i++)
    n += target_findings(&r->targets[i]);
  return n;
}

uint64_t scan_report_undetermined(const scan_report *r) {
  uint64_t n = 0;
  for (size_t i = 0; i < r->n_targets; i++)
    n += scan_undetermined_total(&r->targets[i].result);
  return n;
}

static int report_filtered(const scan_report *r) {
  return r->flag_key != NULL || r->written_after_us != 0;
}

/* Records given a verdict, decided or not. */
static uint64_t judged_of(const scan_result *res) {
  return res->rows_counted + scan_undetermined_total(res);
}

/* What a target selected: rows holding a record, left out or not. */
static uint64_t selected_of(const scan_result *res) {
  return res->rows_read - res->rows_null;
}

/* A target that judged nothing: its filters left out every record, or it
 * was given a selection (a filter or --where) that came back empty. */
static int target_nothing_verified(const scan_report *r,
                                   const scan_report_target *t) {
  const scan_result *res = &t->result;
  if (!t->scanned || judged_of(res) > 0) return 0;
  if (res->rows_skipped > 0) return 1;
  /* A Kafka scan --since a time selects by time, as a --where would. */
  int since = t->target.kind == STORE_KAFKA_TOPIC && t->target.kafka != NULL &&
              t->target.kafka->start == STORE_KAFKA_FROM_TIME;
  return selected_of(res) == 0 &&
         (report_filtered(r) || t->target.where != NULL || since);
}

int scan_report_nothing_verified(const scan_report *r) {
  int any = 0;
  for (size_t i = 0; i < r->n_targets; i++) {
    const scan_report_target *t = &r->targets[i];
    if (!t->scanned) return 0;
    if (judged_of(&t->result) > 0) return 0;
    any |= target_nothing_verified(r, t);
  }
  return any;
}

static void sample_reason(char *buf, size_t size, const scan_report *r) {
  uint64_t sampled = 0;
  for (size_t i = 0; i < r->n_targets; i++)
    sampled += r->targets[i].result.rows_read;
  snprintf(buf, size,
           "estimate from a %.9g%% sample: no finding among the %" PRIu64
           " row%s sampled, which does not show there are none; scan "
           "without --sample to prove it",
           r->sample_percent, sampled, sampled == 1 ? "" : "s");
}

void scan_report_reason(char *buf, size_t size, const scan_report *r) {
  buf[0] = '\0';
  if (r->exit_code != 4) return;
  if (!scan_report_complete(r)) {
    snprintf(buf, size,
             "%s: not every row was scanned; this is not a clean result",
             r->interrupted ? "interrupted" : "a target stopped early");
    return;
  }
  uint64_t why[SCAN_UNDETERMINED_KINDS] = {0};
  for (size_t i = 0; i < r->n_targets; i++)
    for (int k = 0; k < SCAN_UNDETERMINED_KINDS; k++)
      why[k] += r->targets[i].result.undetermined[k];
  uint64_t ambiguous = why[SCAN_AMBIGUOUS_WRITER],
           unregistered = why[SCAN_UNREGISTERED_VERSION],
           unmapped = why[SCAN_UNMAPPED_SCHEMA_ID],
           groups = why[SCAN_UNDECODED_GROUPS],
           extensions = why[SCAN_EXTENSION_FIELDS],
           no_reader = why[SCAN_NO_READER];
  if (no_reader > 0) {
    snprintf(buf, size,
             "undetermined: %" PRIu64
             " record%s: the reader's version comes from an editions file "
             "or has a group field, which protobuf-c 1.4 cannot compile; "
             "there is no protobuf-c reader of it (name the reader's "
             "runtime: --reader-runtime)",
             no_reader, no_reader == 1 ? "" : "s");
    return;
  }
  if (extensions > 0 && ambiguous + unregistered + unmapped + groups == 0) {
    snprintf(buf, size,
             "undetermined: %" PRIu64
             " record%s that Java reads otherwise when its code passes an "
             "ExtensionRegistry to parseFrom than when it does not; "
             "reader_options: extension_registry says which (what the "
             "reader makes of %s cannot be told)",
             extensions, extensions == 1 ? "" : "s",
             extensions == 1 ? "it" : "them");
    return;
  }
  if (groups > 0 && ambiguous + unregistered + unmapped == 0) {
    snprintf(buf, size,
             "undetermined: %" PRIu64
             " record%s holding fields written as groups (proto2 groups, "
             "editions' message_encoding = DELIMITED), which rollsafe "
             "cannot decode; what the reader makes of %s cannot be told",
             groups, groups == 1 ? "" : "s", groups == 1 ? "it" : "them");
    return;
  }
  if (ambiguous + unregistered + unmapped > 0) {
    char a[200] = "", u[200] = "", m[200] = "";
    if (ambiguous > 0)
      snprintf(a, sizeof a,
               "%" PRIu64
               " raw record%s that several versions explain with "
               "different values (give --raw-writer N with a --where "
               "selecting the rows that version wrote)",
               ambiguous, ambiguous == 1 ? "" : "s");
    if (unregistered > 0)
      snprintf(u, sizeof u,
               "%" PRIu64
               " record%s of a format version the registry lacks "
               "(register that version: --schema or a plugin)",
               unregistered, unregistered == 1 ? "" : "s");
    if (unmapped > 0)
      snprintf(m, sizeof m,
               "%" PRIu64
               " Confluent-framed record%s whose schema id no mapping "
               "names (give --schema-id ID=VERSION)",
               unmapped, unmapped == 1 ? "" : "s");
    snprintf(buf, size,
             "undetermined: %s%s%s%s%s; the reader's reading of %s "
             "cannot be compared with what the writer meant",
             a, a[0] && (u[0] || m[0]) ? "; " : "", u, u[0] && m[0] ? "; " : "",
             m, ambiguous + unregistered + unmapped == 1 ? "it" : "them");
    return;
  }
  if (scan_report_nothing_verified(r)) {
    uint64_t skipped = 0;
    for (size_t i = 0; i < r->n_targets; i++)
      skipped += r->targets[i].result.rows_skipped;
    if (skipped > 0)
      snprintf(buf, size,
               "nothing verified: the filters left out every record (%" PRIu64
               " left out); a scan that checked nothing is not clean",
               skipped);
    else
      snprintf(buf, size,
               "nothing verified: the selection is empty; a scan that "
               "checked nothing is not clean");
    return;
  }
  if (r->sampled) {
    sample_reason(buf, size, r);
    return;
  }
  snprintf(buf, size, "inconclusive");
}

/* ---- stream files: positions instead of keys ---------------------------- */

/* Adds "record" and "offset" to a sample of a stream file. */
static void json_position(json_t *sample, const scan_report_target *t,
                          const char *key) {
  uint64_t index, offset;
  if (sample == NULL || t->target.kind != STORE_STREAM_FILE ||
      store_stream_position(key, &index, &offset) != 0)
    return;
  json_object_set_new(sample, "record", json_integer((json_int_t)index));
  json_object_set_new(sample, "offset", json_integer((json_int_t)offset));
}

json_t *rs__json_u64(uint64_t v) {
  if (v <= (uint64_t)INT64_MAX) return json_integer((json_int_t)v);
  char digits[24];
  snprintf(digits, sizeof digits, "%" PRIu64, v);
  return json_string(digits);
}

json_t *rs__json_framing(const store_framing *f) {
  return json_pack("{s:o,s:o,s:o,s:o,s:o}", "record", rs__json_u64(f->index),
                   "offset", rs__json_u64(f->offset), "have",
                   rs__json_u64(f->have), "need", rs__json_u64(f->need), "what",
                   rs__json_text(f->what));
}

static json_t *json_framing(const scan_report_target *t) {
  if (!t->truncated) return json_null();
  return rs__json_framing(&t->framing);
}

const char *rs__reader_framing_name(rs_reader_framing f) {
  return f == RS_READER_FRAMING_ENVELOPE    ? "envelope"
         : f == RS_READER_FRAMING_CONFLUENT ? "confluent"
                                            : "raw";
}

/* ---- per-flag summary: writers of the same flag and variant, merged ---- */

typedef struct flag_summary {
  const char *flag_key;
  const char *variant;
  uint64_t rows;
  uint64_t findings;
  int64_t first_write_us, last_write_us;
} flag_summary;

static int same(const char *a, const char *b) {
  return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Merges @p res's flagged writers into @p out (capacity @p cap). */
static size_t merge_flags(flag_summary *out, size_t n, size_t cap,
                          const scan_result *res) {
  for (size_t i = 0; i < res->n_writers; i++) {
    const scan_writer *w = &res->writers[i];
    if (w->flag_key == NULL) continue;
    size_t j = 0;
    while (j < n && !(same(out[j].flag_key, w->flag_key) &&
                      same(out[j].variant, w->variant)))
      j++;
    if (j == n) {
      if (n == cap) continue;
      memset(&out[n], 0, sizeof out[n]);
      out[n].flag_key = w->flag_key;
      out[n].variant = w->variant;
      n++;
    }
    flag_summary *f = &out[j];
    f->rows += w->rows;
    for (int v = 0; v < RS_VERDICT_COUNT; v++)
      if (scan_verdict_is_finding((rs_verdict)v)) f->findings += w->verdicts[v];
    if (w->first_write_us != 0 &&
        (f->first_write_us == 0 || w->first_write_us < f->first_write_us))
      f->first_write_us = w->first_write_us;
    if (w->last_write_us > f->last_write_us)
      f->last_write_us = w->last_write_us;
  }
  return n;
}

/* Every target's flags merged; *n set. NULL (and *n 0) when out of
 * memory or there are none. Owned by the caller. */
static flag_summary *all_flags(const scan_report *r, size_t *n) {
  size_t cap = 0;
  *n = 0;
  for (size_t i = 0; i < r->n_targets; i++)
    cap += r->targets[i].result.n_writers;
  flag_summary *f = calloc(cap + 1, sizeof *f);
  if (f == NULL) return NULL;
  for (size_t i = 0; i < r->n_targets; i++)
    *n = merge_flags(f, *n, cap, &r->targets[i].result);
  return f;
}

/* ---- JSON --------------------------------------------------------------- */

static json_t *json_time(int64_t us) {
  if (us == 0) return json_null();
  char buf[40];
  rs__format_time_us(buf, sizeof buf, us);
  return json_string(buf);
}

/*
 * Strings from the data (keys, provenance, reason texts quoting the
 * envelope) are not always valid UTF-8, and may hold control characters.
 * JSON needs UTF-8, OpenMetrics labels too, and a terminal must not run
 * escape sequences from a row: the copy replaces each invalid byte (and,
 * with @p controls, each control character) with '?'. Owned by the caller;
 * NULL when out of memory.
 */
static char *clean_copy(const char *s, int controls) {
  size_t n = strlen(s);
  char *out = malloc(n + 1);
  if (out == NULL) return NULL;
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i];
    size_t len = c < 0x80             ? 1
                 : (c & 0xE0) == 0xC0 ? 2
                 : (c & 0xF0) == 0xE0 ? 3
                 : (c & 0xF8) == 0xF0 ? 4
                                      : 0;
    int ok = len != 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; k++) ok = (p[i + k] & 0xC0) == 0x80;
    if (ok && len == 2) ok = c >= 0xC2; /* no overlong forms */
    if (ok && len == 3) {
      unsigned cp =
          ((c & 0x0F) << 12) | ((p[i + 1] & 0x3Fu) << 6) | (p[i + 2] & 0x3Fu);
      ok = cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF);
    }
    if (ok && len == 4) {
      unsigned cp = ((c & 0x07) << 18) | ((p[i + 1] & 0x3Fu) << 12) |
                    ((p[i + 2] & 0x3Fu) << 6) | (p[i + 3] & 0x3Fu);
      ok = cp >= 0x10000 && cp <= 0x10FFFF;
    }
    if (ok && controls && len == 1 && (c < 0x20 || c == 0x7F)) ok = 0;
    if (!ok) {
      out[i++] = '?';
      continue;
    }
    memcpy(out + i, p + i, len);
    i += len;
  }
  out[n] = '\0';
  return out;
}

json_t *rs__json_text(const char *s) {
  if (s == NULL) return json_null();
  json_t *j = json_string(s);
  if (j != NULL) return j;
  char *c = clean_copy(s, 0);
  j = c != NULL ? json_string(c) : NULL;
  free(c);
  return j;
}

/* A text field for the terminal or a metrics label: cleaned (see above). */
static void put_clean(FILE *out, const char *s) {
  if (s == NULL) return;
  char *c = clean_copy(s, 1);
  fputs(c != NULL ? c : "?", out);
  free(c);
}

static json_t *json_verdicts(const uint64_t *counts) {
  json_t *o = json_object();
  for (int v = 0; o != NULL && v < RS_VERDICT_COUNT; v++)
    json_object_set_new(o, rs_verdict_name((rs_verdict)v),
                        json_integer((json_int_t)counts[v]));
  return o;
}

/* {"count", "low", "high"} */
static json_t *json_estimate(const rs__estimate *e) {
  return json_pack("{s:o,s:o,s:o}", "count", rs__json_u64(e->count), "low",
                   rs__json_u64(e->low), "high", rs__json_u64(e->high));
}

/* "rows", "verdicts" and "findings" of @p e, into @p o. */
static void json_estimates(json_t *o, const target_estimates *e) {
  if (o == NULL) return;
  json_t *verdicts = json_object();
  for (int v = 0; verdicts != NULL && v < RS_VERDICT_COUNT; v++)
    json_object_set_new(verdicts, rs_verdict_name((rs_verdict)v),
                        json_estimate(&e->verdicts[v]));
  json_object_set_new(o, "rows", json_estimate(&e->rows));
  json_object_set_new(o, "verdicts", verdicts);
  json_object_set_new(o, "findings", json_estimate(&e->findings));
}

/* A sampled target's "sample": how its rows were chosen and what they say
 * of the whole; null when it was not read. */
static json_t *json_target_sample(const scan_report *r,
                                  const scan_report_target *t) {
  target_estimates e;
  if (!estimates_of(&e, r, t)) return json_null();
  json_t *o =
      json_pack("{s:o,s:f,s:I,s:s}", "method", rs__json_text(t->sample.method),
                "fraction", t->sample.fraction, "rows_sampled",
                (json_int_t)t->result.rows_read, "population_basis",
                t->sample.population > 0 ? "statistics" : "sample");
  if (o != NULL)
    json_object_set_new(o, "clusters",
                        json_integer((json_int_t)t->result.clusters.m));
  json_estimates(o, &e);
  return o;
}

/* The document's "sample": what was asked, and the targets' estimates
 * added up. */
static json_t *json_sample_of(const scan_report *r) {
  target_estimates sum;
  uint64_t sampled;
  int any = total_estimates(&sum, &sampled, r);
  json_t *o = json_pack("{s:b,s:f,s:I,s:f,s:I,s:s}", "estimate", 1, "percent",
                        r->sample_percent, "seed", (json_int_t)r->sample_seed,
                        "confidence", RS_ESTIMATE_CONFIDENCE, "rows_sampled",
                        (json_int_t)sampled, "note", SAMPLE_NOTE);
  if (o != NULL && any) {
    json_estimates(o, &sum);
  } else if (o != NULL) {
    json_object_set_new(o, "rows", json_null());
    json_object_set_new(o, "verdicts", json_null());
    json_object_set_new(o, "findings", json_null());
  }
  return o;
}

/* {"total", "ambiguous_writer", "unregistered_version"} */
static json_t *json_undetermined(const uint64_t *counts) {
  uint64_t total = 0;
  for (int k = 0; k < SCAN_UNDETERMINED_KINDS; k++) total += counts[k];
  json_t *o = json_pack("{s:I}", "total", (json_int_t)total);
  for (int k = 0; o != NULL && k < SCAN_UNDETERMINED_KINDS; k++)
    json_object_set_new(o, scan_undetermined_name((scan_undetermined_kind)k),
                        json_integer((json_int_t)counts[k]));
  return o;
}

/* The raw writer setting: "auto", or the version given. */
/* {"name": "go", "allow_partial": false, "discard_unknown": false,
 * "recursion_limit": null, "extension_registry": null}: the reader's
 * runtime and the options its code gives it (null: the runtime's default;
 * for extension_registry, not said). */
json_t *rs__json_runtime(const rs_reader *r) {
  json_t *registry =
      (r->runtime_flags & RS_RUNTIME_EXTENSION_REGISTRY)      ? json_true()
      : (r->runtime_flags & RS_RUNTIME_NO_EXTENSION_REGISTRY) ? json_false()
                                                              : json_null();
  return json_pack(
      "{s:s,s:b,s:b,s:o,s:o}", "name", rs_runtime_name(r->runtime),
      "allow_partial", (r->runtime_flags & RS_RUNTIME_ALLOW_PARTIAL) != 0,
      "discard_unknown", (r->runtime_flags & RS_RUNTIME_DISCARD_UNKNOWN) != 0,
      "recursion_limit",
      r->recursion_limit ? json_integer(r->recursion_limit) : json_null(),
      "extension_registry", registry);
}

void rs__runtime_text(const rs_reader *r, char *out, size_t size) {
  static const struct {
    unsigned flag;
    const char *name;
  } names[] = {{RS_RUNTIME_ALLOW_PARTIAL, "allow_partial"},
               {RS_RUNTIME_DISCARD_UNKNOWN, "discard_unknown"},
               {RS_RUNTIME_EXTENSION_REGISTRY, "extension_registry"},
               {RS_RUNTIME_NO_EXTENSION_REGISTRY, "no extension_registry"}};
  char opts[160] = "";
  size_t n = 0;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (r->runtime_flags & names[i].flag)
      n += (size_t)snprintf(opts + n, sizeof opts - n, "%s%s", n ? ", " : "",
                            names[i].name);
  if (r->recursion_limit != 0)
    snprintf(opts + n, sizeof opts - n, "%srecursion_limit %u", n ? ", " : "",
             r->recursion_limit);
  snprintf(out, size, "%s runtime%s%s%s", rs_runtime_name(r->runtime),
           opts[0] ? " (" : "", opts, opts[0] ? ")" : "");
}

static json_t *json_raw_writer(unsigned raw_writer) {
  return raw_writer ? json_integer(raw_writer) : json_string("auto");
}

/* [1, 2]: the versions of a candidate bit set. */
static json_t *json_candidates(uint64_t candidates) {
  json_t *a = json_array();
  for (unsigned v = 1; a != NULL && v <= 64; v++)
    if (candidates >> (v - 1) & 1u) json_array_append_new(a, json_integer(v));
  return a;
}

static json_t *json_flags(const flag_summary *f, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a != NULL && i < n; i++)
    json_array_append_new(
        a, json_pack("{s:o,s:o,s:I,s:I,s:o,s:o}", "flag",
                     rs__json_text(f[i].flag_key), "variant",
                     rs__json_text(f[i].variant), "rows", (json_int_t)f[i].rows,
                     "findings", (json_int_t)f[i].findings, "first_write",
                     json_time(f[i].first_write_us), "last_write",
                     json_time(f[i].last_write_us)));
  return a;
}

static json_t *json_sample(const scan_sample *s) {
  json_t *reasons = json_array();
  for (size_t i = 0; reasons != NULL && i < s->n_reasons; i++) {
    const scan_reason *r = &s->reasons[i];
    json_array_append_new(
        reasons, json_pack("{s:s,s:s,s:o,s:I,s:o,s:o}", "verdict",
                           rs_verdict_name(r->verdict), "code", r->code, "path",
                           rs__json_text(r->path), "field",
                           (json_int_t)r->field, "offset",
                           r->offset == RS_OFFSET_NONE
                               ? json_null()
                               : json_integer((json_int_t)r->offset),
                           "text", rs__json_text(r->text)));
  }
  json_t *o = json_pack(
      "{s:o,s:o,s:o,s:o,s:o,s:o,s:I}", "key",
      rs__json_key(s->key, s->key_parts), "written_version",
      s->written_version ? json_integer(s->written_version) : json_null(),
      "flag", rs__json_text(s->flag_key), "variant", rs__json_text(s->variant),
      "write_time", json_time(s->write_time_us), "reasons", reasons,
      "reasons_omitted", (json_int_t)s->reasons_omitted);
  if (o != NULL && s->key_position)
    json_object_set_new(o, "key_is_position", json_true());
  return o;
}

/* An undetermined record: a sample with why, the versions that explain
 * it, and the worst reading over them. */
static json_t *json_undetermined_sample(const scan_sample *s) {
  json_t *o = json_sample(s);
  if (o == NULL) return NULL;
  json_object_set_new(
      o, "undetermined",
      json_string(scan_undetermined_name(scan_undetermined_of(s->basis))));
  if (s->has_schema_id)
    json_object_set_new(o, "schema_id", json_integer(s->schema_id));
  json_object_set_new(o, "writer_basis",
                      json_string(rs_writer_basis_name(s->basis)));
  json_object_set_new(o, "candidates", json_candidates(s->candidates));
  json_object_set_new(o, "worst_verdict",
                      json_string(rs_verdict_name(s->verdict)));
  return o;
}

/* ---- Kafka topics: partitions ------------------------------------------ */

/* The counts of partition @p id, or NULL when none of its rows was read. */
static const scan_partition *partition_counts(const scan_result *res,
                                              int32_t id) {
  for (size_t i = 0; i < res->n_partitions; i++)
    if (res->partitions[i].partition == id) return &res->partitions[i];
  return NULL;
}

static json_t *json_offset(int64_t offset) {
  return offset >= 0 ? json_integer((json_int_t)offset) : json_null();
}

/* Each partition: where it started and why, what was read, the lag (the
 * messages from the start offset to the high watermark), its verdicts. */
static json_t *json_partitions(const scan_report_target *t) {
  json_t *list = json_array();
  for (size_t i = 0; list != NULL && i < t->n_partitions; i++) {
    const store_partition *p = &t->partitions[i];
    const scan_partition *c = partition_counts(&t->result, p->partition);
    static const uint64_t none[RS_VERDICT_COUNT];
    json_array_append_new(
        list,
        json_pack("{s:i,s:s,s:I,s:I,s:I,s:o,s:o,s:I,s:I,s:I,s:o,s:I}",
                  "partition", (int)p->partition, "start_from", p->start_from,
                  "start_offset", (json_int_t)p->start_offset, "end_offset",
                  (json_int_t)p->end_offset, "lag",
                  (json_int_t)(p->end_offset - p->start_offset), "first_offset",
                  json_offset(p->first_offset), "last_offset",
                  json_offset(p->last_offset), "messages",
                  (json_int_t)p->messages, "rows_null",
                  (json_int_t)(c ? c->rows_null : 0), "rows_skipped",
                  (json_int_t)(c ? c->rows_skipped : 0), "verdicts",
                  json_verdicts(c ? c->verdicts : none), "undetermined",
                  (json_int_t)(c ? c->undetermined : 0)));
  }
  return list;
}

static void text_verdicts(FILE *out, const uint64_t *counts);

static void text_partitions(FILE *out, const scan_report_target *t) {
  if (t->n_partitions > 0) fputs("  partitions\n", out);
  for (size_t i = 0; i < t->n_partitions; i++) {
    const store_partition *p = &t->partitions[i];
    const scan_partition *c = partition_counts(&t->result, p->partition);
    fprintf(out, "    %" PRId32 ": from %" PRId64 " (%s), lag %" PRId64,
            p->partition, p->start_offset, p->start_from,
            p->end_offset - p->start_offset);
    if (p->first_offset >= 0)
      fprintf(out, ", read %" PRId64 "..%" PRId64, p->first_offset,
              p->last_offset);
    fputs(": ", out);
    static const uint64_t none[RS_VERDICT_COUNT];
    text_verdicts(out, c ? c->verdicts : none);
    if (c != NULL && c->undetermined)
      fprintf(out, "; %" PRIu64 " undetermined", c->undetermined);
    fputc('\n', out);
  }
}

static json_t *json_target(const scan_report *r, const scan_report_target *t) {
  const scan_result *res = &t->result;
  json_t *writers = json_array();
  for (size_t i = 0; writers != NULL && i < res->n_writers; i++) {
    const scan_writer *w = &res->writers[i];
    json_t *wj = json_pack(
        "{s:o,s:o,s:o,s:o,s:o,s:I,s:o,s:o,s:o,s:o}", "version",
        w->version ? json_integer(w->version) : json_null(), "framing",
        w->encoding ? json_string(rs_encoding_name(w->encoding)) : json_null(),
        "schema_id",
        w->has_schema_id ? json_integer(w->schema_id) : json_null(), "flag",
        rs__json_text(w->flag_key), "variant", rs__json_text(w->variant),
        "rows", (json_int_t)w->rows, "verdicts", json_verdicts(w->verdicts),
        "undetermined", json_undetermined(w->undetermined), "first_write",
        json_time(w->first_write_us), "last_write",
        json_time(w->last_write_us));
    if (wj != NULL && r->shard_count > 0)
      json_object_set_new(wj, "position", rs__json_u64(w->first_position));
    json_array_append_new(writers, wj);
  }
  json_t *samples = json_object();
  for (int v = 0; samples != NULL && v < RS_VERDICT_COUNT; v++) {
    if (v == RS_VERDICT_OK) continue;
    json_t *list = json_array();
    for (size_t i = 0; list != NULL && i < res->n_samples[v]; i++) {
      json_t *sample = json_sample(&res->samples[v][i]);
      json_position(sample, t, res->samples[v][i].key);
      if (sample != NULL && r->shard_count > 0)
        json_object_set_new(sample, "position",
                            rs__json_u64(res->samples[v][i].position));
      json_array_append_new(list, sample);
    }
    json_object_set_new(samples, rs_verdict_name((rs_verdict)v), list);
  }
  json_t *undetermined_list = json_array();
  for (size_t i = 0;
       undetermined_list != NULL && i < res->n_undetermined_samples; i++) {
    json_t *sample = json_undetermined_sample(&res->undetermined_samples[i]);
    json_position(sample, t, res->undetermined_samples[i].key);
    if (sample != NULL && r->shard_count > 0)
      json_object_set_new(sample, "position",
                          rs__json_u64(res->undetermined_samples[i].position));
    json_array_append_new(undetermined_list, sample);
  }
  if (samples != NULL)
    json_object_set_new(samples, "undetermined", undetermined_list);
  else
    json_decref(undetermined_list);
  flag_summary *flags = calloc(res->n_writers + 1, sizeof *flags);
  size_t n_flags =
      flags != NULL ? merge_flags(flags, 0, res->n_writers, res) : 0;
  const char *status = t->status != STORE_OK ? "error"
                       : res->interrupted    ? "interrupted"
                       : res->complete       ? "complete"
                                             : "incomplete";
  json_t *o = json_pack(
      "{s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:{s:i,s:s,s:o,s:o},s:b,s:s,s:o,s:o}",
      "name", rs__json_text(t->target.name), "kind",
      store_kind_name(t->target.kind), "table", rs__json_text(t->target.table),
      "key", rs__json_text(t->target.key), "column",
      rs__json_text(t->target.column), "type", rs__json_text(t->type), "where",
      rs__json_text(t->target.where), "description",
      rs__json_text(t->description), "reader", "version",
      (int)t->reader_version, "framing",
      rs__reader_framing_name(t->reader_framing), "raw_writer",
      json_raw_writer(t->raw_writer), "runtime", rs__json_runtime(&t->runtime),
      "complete", t->scanned && res->complete, "status", status, "error",
      t->status != STORE_OK ? rs__json_text(t->error) : json_null(),
      "estimated_rows",
      t->scanned && res->estimated_rows >= 0 ? json_integer(res->estimated_rows)
                                             : json_null());
  if (o == NULL) {
    free(flags);
    json_decref(writers);
    json_decref(samples);
    return NULL;
  }
  json_t *reader = json_object_get(o, "reader");
  if (reader != NULL)
    json_object_set_new(reader, "schema",
                        schema_origin_json(&t->reader_schema));
  if (t->target.kind != STORE_STREAM_FILE)
    json_object_set_new(
        o, "key_note",
        t->rows_by_position ? json_string(RS_POSITION_NOTE) : json_null());
  json_object_set_new(o, "rows_read", json_integer((json_int_t)res->rows_read));
  json_object_set_new(o, "rows_null", json_integer((json_int_t)res->rows_null));
  json_object_set_new(o, "rows_skipped",
                      json_integer((json_int_t)res->rows_skipped));
  json_object_set_new(o, "rows_counted",
                      json_integer((json_int_t)res->rows_counted));
  json_object_set_new(o, "verdicts", json_verdicts(res->verdicts));
  json_object_set_new(o, "undetermined", json_undetermined(res->undetermined));
  json_object_set_new(
      o, "unattributed",
      json_pack("{s:I,s:I}", "total", (json_int_t)res->unattributed, "findings",
                (json_int_t)res->unattributed_findings));
  json_object_set_new(o, "nothing_verified",
                      json_boolean(target_nothing_verified(r, t)));
  json_object_set_new(o, "findings",
                      json_integer((json_int_t)target_findings(t)));
  if (r->sampled) json_object_set_new(o, "sample", json_target_sample(r, t));
  json_object_set_new(o, "truncated", json_framing(t));
  if (t->target.kind == STORE_STREAM_FILE)
    json_object_set_new(o, "path", rs__json_text(t->target.connection));
  if (t->target.kind == STORE_KAFKA_TOPIC && t->target.kafka != NULL) {
    const store_kafka *k = t->target.kafka;
    json_object_set_new(o, "topic", rs__json_text(k->topic));
    json_object_set_new(
        o, "start",
        json_string(k->start == STORE_KAFKA_FROM_GROUP  ? "group"
                    : k->start == STORE_KAFKA_FROM_TIME ? "since"
                                                        : "beginning"));
    json_object_set_new(o, "group", rs__json_text(k->group));
    json_object_set_new(o, "partitions", json_partitions(t));
  }
  if (store_kind_is_queue(t->target.kind))
    json_object_set_new(
        o, "queue",
        json_pack(
            "{s:o,s:o,s:o}", "state_column",
            rs__json_text(t->target.state_column), "pending_states",
            rs__json_text(t->target.state_column == NULL ? NULL
                          : t->target.pending_states ? t->target.pending_states
                                                     : "pending"),
            "in_flight_states", rs__json_text(t->target.in_flight_states)));
  json_object_set_new(o, "writers", writers);
  json_object_set_new(o, "flags", json_flags(flags, n_flags));
  free(flags);
  json_object_set_new(o, "samples", samples);
  json_object_set_new(o, "duration_seconds", json_real(res->seconds));
  return o;
}

json_t *scan_report_json(const scan_report *r) {
  uint64_t totals[RS_VERDICT_COUNT] = {0};
  uint64_t undetermined[SCAN_UNDETERMINED_KINDS] = {0};
  uint64_t read = 0, counted = 0, nulls = 0, skipped = 0, unattributed = 0,
           unattributed_findings = 0;
  size_t n_flags;
  flag_summary *flags = all_flags(r, &n_flags);
  json_t *targets = json_array();
  for (size_t i = 0; i < r->n_targets; i++) {
    const scan_result *res = &r->targets[i].result;
    for (int v = 0; v < RS_VERDICT_COUNT; v++) totals[v] += res->verdicts[v];
    for (int k = 0; k < SCAN_UNDETERMINED_KINDS; k++)
      undetermined[k] += res->undetermined[k];
    unattributed += res->unattributed;
    unattributed_findings += res->unattributed_findings;
    read += res->rows_read;
    counted += res->rows_counted;
    nulls += res->rows_null;
    skipped += res->rows_skipped;
    if (targets != NULL)
      json_array_append_new(targets, json_target(r, &r->targets[i]));
  }
  json_t *jflags = json_flags(flags, n_flags);
  free(flags);
  json_t *doc = json_pack(
      "{s:i,s:s,s:s,s:o,s:{s:o,s:o,s:o},s:o,s:f,s:b,s:b,s:i}", "format_version",
      RS_REPORT_FORMAT_VERSION, "command", "scan", "rollsafe_version",
      rs_version(), "feature", rs__json_text(r->feature), "filters", "flag",
      rs__json_text(r->flag_key), "variant", rs__json_text(r->flag_variant),
      "written_after", json_time(r->written_after_us), "started_at",
      json_time(r->started_at_us), "duration_seconds", r->seconds, "complete",
      scan_report_complete(r), "interrupted", r->interrupted, "exit_code",
      r->exit_code);
  if (doc == NULL) {
    json_decref(targets);
    json_decref(jflags);
    return NULL;
  }
  json_t *tot = json_pack(
      "{s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:o}", "targets", (json_int_t)r->n_targets,
      "rows_read", (json_int_t)read, "rows_null", (json_int_t)nulls,
      "rows_skipped", (json_int_t)skipped, "rows_counted", (json_int_t)counted,
      "verdicts", json_verdicts(totals), "findings",
      (json_int_t)scan_report_findings(r), "flags", jflags);
  if (tot == NULL || targets == NULL) {
    json_decref(tot);
    json_decref(targets);
    json_decref(doc);
    return NULL;
  }
  json_object_set_new(tot, "undetermined", json_undetermined(undetermined));
  json_object_set_new(tot, "unattributed",
                      json_pack("{s:I,s:I}", "total", (json_int_t)unattributed,
                                "findings", (json_int_t)unattributed_findings));
  json_object_set_new(doc, "nothing_verified",
                      json_boolean(scan_report_nothing_verified(r)));
  char reason[600];
  scan_report_reason(reason, sizeof reason, r);
  json_object_set_new(doc, "reason",
                      reason[0] ? json_string(reason) : json_null());
  json_object_set_new(doc, "totals", tot);
  if (r->sampled) json_object_set_new(doc, "sample", json_sample_of(r));
  json_object_set_new(doc, "targets", targets);
  if (r->shard_count > 0)
    json_object_set_new(
        doc, "shard",
        json_pack("{s:i,s:i,s:I}", "index", (int)r->shard_index, "count",
                  (int)r->shard_count, "samples", (json_int_t)r->max_samples));
  return doc;
}

/* ---- text --------------------------------------------------------------- */

static void writer_label(char *buf, size_t size, const scan_writer *w) {
  char sid[40] = "";
  if (w->has_schema_id)
    snprintf(sid, sizeof sid, " schema id %lu", (unsigned long)w->schema_id);
  if (w->version == 0 && w->flag_key == NULL) {
    snprintf(buf, size, "unknown version, %s%s",
             w->encoding == RS_ENCODING_ENVELOPE    ? "envelope"
             : w->encoding == RS_ENCODING_RAW       ? "raw bytes"
             : w->encoding == RS_ENCODING_CONFLUENT ? "confluent"
                                                    : "over the size limit",
             sid);
    return;
  }
  char who[160];
  if (w->flag_key != NULL)
    snprintf(who, sizeof who, "flag %s%s%s", w->flag_key, w->variant ? "=" : "",
             w->variant ? w->variant : "");
  else
    snprintf(who, sizeof who, "no flag");
  if (w->version == 0)
    snprintf(buf, size, "%s", who);
  else
    snprintf(buf, size, "version %u %s%s, %s", w->version,
             rs_encoding_name(w->encoding), sid, who);
}

static void text_verdicts(FILE *out, const uint64_t *counts) {
  int first = 1;
  for (int v = 0; v < RS_VERDICT_COUNT; v++) {
    if (counts[v] == 0) continue;
    fprintf(out, "%s%s %" PRIu64, first ? "" : ", ",
            rs_verdict_name((rs_verdict)v), counts[v]);
    first = 0;
  }
  if (first) fputs("none", out);
}

/* "undetermined 3 (2 ambiguous writer, 1 unregistered version)" after
 * @p prefix; nothing when there are none. */
static void text_undetermined(FILE *out, const char *prefix,
                              const uint64_t *counts) {
  uint64_t total = 0;
  for (int k = 0; k < SCAN_UNDETERMINED_KINDS; k++) total += counts[k];
  if (total == 0) return;
  fprintf(out, "%sundetermined %" PRIu64 " (", prefix, total);
  int first = 1;
  for (int k = 0; k < SCAN_UNDETERMINED_KINDS; k++) {
    if (counts[k] == 0) continue;
    fprintf(out, "%s%" PRIu64 " %s", first ? "" : ", ", counts[k],
            k == SCAN_UNREGISTERED_VERSION ? "unregistered version"
            : k == SCAN_UNMAPPED_SCHEMA_ID ? "unmapped schema id"
            : k == SCAN_UNDECODED_GROUPS   ? "groups rollsafe cannot decode"
            : k == SCAN_EXTENSION_FIELDS ? "extensions rollsafe does not model"
            : k == SCAN_NO_READER        ? "no reader in the runtime"
                                         : "ambiguous writer");
    first = 0;
  }
  fputc(')', out);
}

/* "(unregistered version 3)", "(ambiguous writer: versions 1, 2)" */
static void text_undetermined_why(FILE *out, const scan_sample *s) {
  if (s->basis == RS_WRITER_UNREGISTERED) {
    fprintf(out, " (unregistered version %u", s->written_version);
  } else if (s->basis == RS_WRITER_UNMAPPED) {
    fprintf(out, " (unmapped schema id %lu", (unsigned long)s->schema_id);
  } else if (s->basis == RS_WRITER_UNDECODED) {
    fputs(" (fields written as groups, which rollsafe cannot decode", out);
  } else if (s->basis == RS_WRITER_NO_READER) {
    fputs(" (no reader of the version in the runtime", out);
  } else if (s->basis == RS_WRITER_EXTENSION) {
    fputs(" (read otherwise with an ExtensionRegistry than without", out);
  } else {
    fputs(" (ambiguous writer: versions ", out);
    int first = 1;
    for (unsigned v = 1; v <= 64; v++) {
      if (!(s->candidates >> (v - 1) & 1u)) continue;
      fprintf(out, "%s%u", first ? "" : ", ", v);
      first = 0;
    }
    if (first) fputs("unknown", out);
  }
  fprintf(out, "; the reader's reading: %s", rs_verdict_name(s->verdict));
}

/* One sample's line and its first reasons. */
static void text_sample(FILE *out, const scan_report_target *t,
                        const scan_sample *s, int undetermined) {
  if (t->target.kind == STORE_STREAM_FILE)
    fputs("    record ", out);
  else if (!s->key_position)
    fprintf(out, "    %s ", t->target.key);
  else
    fputs("    ", out); /* a position names itself: "rowid 17" */
  char *key = rs__key_text(s->key, s->key_parts);
  put_clean(out, key != NULL ? key : s->key);
  free(key);
  if (undetermined)
    text_undetermined_why(out, s);
  else if (s->written_version)
    fprintf(out, " (v%u", s->written_version);
  else
    fputs(" (unknown version", out);
  if (s->flag_key) {
    fputs(", ", out);
    put_clean(out, s->flag_key);
    if (s->variant) fputc('=', out);
    put_clean(out, s->variant);
  }
  fputs(")\n", out);
  for (size_t k = 0; k < s->n_reasons && k < 3; k++) {
    const scan_reason *reason = &s->reasons[k];
    /* The code is in the JSON report (docs/reasons.md); the text keeps the
     * line the README's quickstart shows. */
    fprintf(out, "      - %s%s", reason->path, reason->path[0] ? ": " : "");
    put_clean(out, reason->text);
    /* Most texts say where already; add the offset to those that don't. */
    if (reason->offset != RS_OFFSET_NONE &&
        strstr(reason->text, "byte ") == NULL)
      fprintf(out, " [byte %zu]", reason->offset);
    fputc('\n', out);
  }
  size_t more = s->n_reasons > 3 ? s->n_reasons - 3 : 0;
  more += s->reasons_omitted;
  if (more) fprintf(out, "      (and %zu more)\n", more);
}

/* "~4120 (95%: 3900..4350)" */
static void text_estimate(FILE *out, const rs__estimate *e) {
  fprintf(out, "~%" PRIu64 " (95%%: %" PRIu64 "..%" PRIu64 ")", e->count,
          e->low, e->high);
}

/* "~20000 rows (95%: ...); ok ~16000 (95%: ...), unreadable ~4000 (...)":
 * the rows and every verdict the sample met, or could have missed. */
static void text_estimates(FILE *out, const target_estimates *e) {
  text_estimate(out, &e->rows);
  fputs(" rows; findings ", out);
  text_estimate(out, &e->findings);
  for (int v = 0; v < RS_VERDICT_COUNT; v++) {
    fprintf(out, "%s%s ", v == 0 ? "\n             " : ", ",
            rs_verdict_name((rs_verdict)v));
    text_estimate(out, &e->verdicts[v]);
  }
}

static void text_target(FILE *out, const scan_report *r,
                        const scan_report_target *t) {
  const scan_result *res = &t->result;
  if (t->target.kind == STORE_STREAM_FILE)
    fprintf(out, "\ntarget %s: %s (records as INDEX@OFFSET)\n", t->target.name,
            t->description ? t->description : store_kind_name(t->target.kind));
  else if (t->target.kind == STORE_KAFKA_TOPIC)
    fprintf(out, "\ntarget %s: %s (messages as PARTITION@OFFSET)\n",
            t->target.name,
            t->description ? t->description : store_kind_name(t->target.kind));
  else
    fprintf(out, "\ntarget %s: %s, %s.%s (key %s)\n", t->target.name,
            t->description ? t->description : store_kind_name(t->target.kind),
            t->target.table, t->target.column,
            t->target.key != NULL && t->target.key[0] ? t->target.key : "none");
  if (t->rows_by_position) fprintf(out, "  note       %s\n", RS_POSITION_NOTE);
  char runtime[200];
  rs__runtime_text(&t->runtime, runtime, sizeof runtime);
  fprintf(out, "  reader     %s version %u, %s framing, %s; raw writer ",
          t->type, t->reader_version,
          rs__reader_framing_name(t->reader_framing), runtime);
  if (t->raw_writer)
    fprintf(out, "version %u (given)\n", t->raw_writer);
  else
    fputs("auto (inferred from the bytes)\n", out);
  char origin[600];
  schema_origin_text(origin, sizeof origin, &t->reader_schema);
  fprintf(out, "  schema     %s\n", origin);
  if (t->target.where != NULL)
    fprintf(out, "  where      %s\n", t->target.where);
  if (t->status != STORE_OK) fprintf(out, "  ERROR      %s\n", t->error);
  if (!t->scanned) return;
  fprintf(out, "  rows       %" PRIu64 " read, %" PRIu64 " counted",
          res->rows_read, res->rows_counted);
  uint64_t undetermined = scan_undetermined_total(res);
  if (undetermined) fprintf(out, ", %" PRIu64 " undetermined", undetermined);
  if (res->rows_skipped)
    fprintf(out, ", %" PRIu64 " left out by the filters", res->rows_skipped);
  if (res->rows_null) fprintf(out, ", %" PRIu64 " NULL", res->rows_null);
  fprintf(out, "%s in %.2f s\n",
          res->complete      ? ""
          : res->interrupted ? " (INTERRUPTED)"
                             : " (INCOMPLETE)",
          res->seconds);
  fputs("  verdicts   ", out);
  text_verdicts(out, res->verdicts);
  fputs(r->sampled ? " (of the sample)\n" : "\n", out);
  target_estimates est;
  if (estimates_of(&est, r, t)) {
    fputs("  sample     ", out);
    put_clean(out, t->sample.method);
    fprintf(out,
            "; each row read with probability %.4g%%; %" PRIu64
            " cluster%s (blocks or windows) read; rows from the %s\n",
            t->sample.fraction * 100, res->clusters.m,
            res->clusters.m == 1 ? "" : "s",
            t->sample.population > 0 ? "table's statistics" : "sample");
    fputs("  ESTIMATE   ", out);
    text_estimates(out, &est);
    fputc('\n', out);
  }
  if (undetermined) {
    text_undetermined(out, "  ", res->undetermined);
    fputs(": the writer's meaning is unknown; not counted as ok\n", out);
  }
  if (res->unattributed)
    fprintf(out,
            "  unattributed %" PRIu64
            " record%s without the provenance the filters need: judged and "
            "counted (%" PRIu64 " finding%s)\n",
            res->unattributed, res->unattributed == 1 ? "" : "s",
            res->unattributed_findings,
            res->unattributed_findings == 1 ? "" : "s");
  if (target_nothing_verified(r, t))
    fprintf(out, "  NOTHING VERIFIED  %s\n",
            res->rows_skipped ? "the filters left out every record"
                              : "the selection is empty");
  text_partitions(out, t);
  if (t->truncated) {
    fputs("  TRUNCATED  ", out);
    put_clean(out, t->framing.what);
    fputc('\n', out);
  }
  if (res->n_writers > 0) fputs("  writers\n", out);
  for (size_t i = 0; i < res->n_writers; i++) {
    const scan_writer *w = &res->writers[i];
    char label[256];
    writer_label(label, sizeof label, w);
    char *shown = clean_copy(label, 1);
    fprintf(out, "    %-44s %10" PRIu64 "  ", shown ? shown : "?", w->rows);
    free(shown);
    text_verdicts(out, w->verdicts);
    text_undetermined(out, "; ", w->undetermined);
    fputc('\n', out);
    if (w->first_write_us != 0) {
      char a[40], b[40];
      rs__format_time_us(a, sizeof a, w->first_write_us);
      rs__format_time_us(b, sizeof b, w->last_write_us);
      fprintf(out, "    %-44s written %s .. %s\n", "", a, b);
    }
  }
  for (int v = RS_VERDICT_COUNT - 1; v > RS_VERDICT_OK; v--) {
    if (res->n_samples[v] == 0) continue;
    fprintf(out, "  %s: %" PRIu64 " record%s", rs_verdict_name((rs_verdict)v),
            res->verdicts[v], res->verdicts[v] == 1 ? "" : "s");
    if (res->verdicts[v] > res->n_samples[v])
      fprintf(out, ", the first %zu", res->n_samples[v]);
    fputs(":\n", out);
    for (size_t i = 0; i < res->n_samples[v]; i++)
      text_sample(out, t, &res->samples[v][i], 0);
  }
  if (res->n_undetermined_samples > 0) {
    fprintf(out, "  undetermined: %" PRIu64 " record%s", undetermined,
            undetermined == 1 ? "" : "s");
    if (undetermined > res->n_undetermined_samples)
      fprintf(out, ", the first %zu", res->n_undetermined_samples);
    fputs(":\n", out);
    for (size_t i = 0; i < res->n_undetermined_samples; i++)
      text_sample(out, t, &res->undetermined_samples[i], 1);
  }
}

int scan_report_text(FILE *out, const scan_report *r) {
  uint64_t totals[RS_VERDICT_COUNT] = {0};
  uint64_t undetermined[SCAN_UNDETERMINED_KINDS] = {0};
  uint64_t read = 0, unattributed = 0;
  size_t n_flags;
  flag_summary *flags = all_flags(r, &n_flags);
  for (size_t i = 0; i < r->n_targets; i++) {
    const scan_result *res = &r->targets[i].result;
    for (int v = 0; v < RS_VERDICT_COUNT; v++) totals[v] += res->verdicts[v];
    for (int k = 0; k < SCAN_UNDETERMINED_KINDS; k++)
      undetermined[k] += res->undetermined[k];
    read += res->rows_read;
    unattributed += res->unattributed;
  }
  fprintf(out, "rollsafe scan%s%s: %zu target%s, %.2f s\n",
          r->feature ? " of feature " : "", r->feature ? r->feature : "",
          r->n_targets, r->n_targets == 1 ? "" : "s", r->seconds);
  if (r->sampled)
    fprintf(out,
            "ESTIMATE from a %.9g%% sample (seed %lu, --sample-seed "
            "reproduces it): %s\n",
            r->sample_percent, (unsigned long)r->sample_seed, SAMPLE_NOTE);
  if (r->flag_key != NULL || r->written_after_us != 0) {
    fputs("counting only records", out);
    if (r->flag_key != NULL)
      fprintf(out, " written by flag %s%s%s", r->flag_key,
              r->flag_variant ? "=" : "",
              r->flag_variant ? r->flag_variant : "");
    if (r->written_after_us != 0) {
      char a[40];
      rs__format_time_us(a, sizeof a, r->written_after_us);
      fprintf(out, " written after %s", a);
    }
    fputs(
        " (records without that provenance are judged and counted as "
        "unattributed)\n",
        out);
  }
  for (size_t i = 0; i < r->n_targets; i++) text_target(out, r, &r->targets[i]);

  if (n_flags > 0) {
    fputs(
        "\nflags seen (a write after the kill means an instance still has the "
        "flag on)\n",
        out);
    for (size_t i = 0; i < n_flags; i++) {
      char a[40] = "?", b[40] = "?";
      if (flags[i].first_write_us)
        rs__format_time_us(a, sizeof a, flags[i].first_write_us);
      if (flags[i].last_write_us)
        rs__format_time_us(b, sizeof b, flags[i].last_write_us);
      fputs("  ", out);
      put_clean(out, flags[i].flag_key);
      if (flags[i].variant) fputc('=', out);
      put_clean(out, flags[i].variant);
      fprintf(out, ": %" PRIu64 " records, first write %s, last write %s\n",
              flags[i].rows, a, b);
    }
  }
  fprintf(out, "\ntotal: %" PRIu64 " rows read%s; ", read,
          r->sampled ? " (the sample)" : "");
  text_verdicts(out, totals);
  text_undetermined(out, "; ", undetermined);
  if (unattributed > 0) fprintf(out, "; unattributed %" PRIu64, unattributed);
  fputc('\n', out);
  target_estimates sum;
  uint64_t sampled;
  if (total_estimates(&sum, &sampled, r)) {
    fputs("ESTIMATE of the whole: ", out);
    text_estimates(out, &sum);
    fputc('\n', out);
  }
  uint64_t findings = scan_report_findings(r);
  const char *what;
  switch (r->exit_code) {
    case 0:
      what = "clean: the reader reads every record correctly";
      break;
    case 1:
      what = r->sampled ? "FINDINGS in the sample: records the reader cannot "
                          "read correctly"
                        : "FINDINGS: records the reader cannot read correctly";
      break;
    case 3:
      what = "ERROR: a target could not be read; the result is incomplete";
      break;
    case 4:
      what = "INCONCLUSIVE";
      break;
    default:
      what = "ERROR";
      break;
  }
  fprintf(out, "result: %s", what);
  char reason[600];
  scan_report_reason(reason, sizeof reason, r);
  if (reason[0]) {
    fputs(": ", out);
    put_clean(out, reason);
  }
  if (findings)
    fprintf(out, " (%" PRIu64 " found%s)", findings,
            r->sampled ? " in the sample" : "");
  fprintf(out, " [exit %d]\n", r->exit_code);
  free(flags);
  return ferror(out) ? -1 : 0;
}

/* ---- OpenMetrics --------------------------------------------------------- */

/* A label value with \, " and newline escaped, as the exposition format
 * requires. */
void rs__metrics_label(FILE *out, const char *s) {
  char *c = clean_copy(s != NULL ? s : "", 1);
  fputc('"', out);
  for (const char *p = c != NULL ? c : "?"; *p; p++) {
    if (*p == '\\')
      fputs("\\\\", out);
    else if (*p == '"')
      fputs("\\\"", out);
    else
      fputc(*p, out);
  }
  fputc('"', out);
  free(c);
}

static void target_labels(FILE *out, const scan_report *r,
                          const scan_report_target *t) {
  fputs("{target=", out);
  rs__metrics_label(out, t->target.name);
  if (r->feature != NULL) {
    fputs(",feature=", out);
    rs__metrics_label(out, r->feature);
  }
  /* A sample's counts are of the sample: every series says so, so that a
   * query written for whole scans can leave them out. */
  if (r->sampled) fputs(",estimate=\"true\"", out);
}

static void family(FILE *out, const char *name, const char *unit,
                   const char *help);

/* --sample: the percent asked, and each target's estimates. */
static void sample_metrics(FILE *out, const scan_report *r) {
  if (!r->sampled) return;
  family(out, "rollsafe_scan_sample_percent", NULL,
         "The percent of rows a sampled scan (--sample) read; its counts "
         "are of the sample, labelled estimate=\"true\".");
  fprintf(out, "rollsafe_scan_sample_percent{estimate=\"true\"} %.9g\n",
          r->sample_percent);
  family(out, "rollsafe_scan_estimated_records", NULL,
         "A sampled scan's estimate of the records of the whole target, by "
         "verdict, with the bounds of its 95% interval (bound: estimate, "
         "low, high).");
  static const char *const bounds[] = {"estimate", "low", "high"};
  for (size_t i = 0; i < r->n_targets; i++) {
    target_estimates e;
    if (!estimates_of(&e, r, &r->targets[i])) continue;
    for (int v = 0; v <= RS_VERDICT_COUNT; v++) {
      const rs__estimate *x = v < RS_VERDICT_COUNT ? &e.verdicts[v] : &e.rows;
      uint64_t values[3] = {x->count, x->low, x->high};
      for (int b = 0; b < 3; b++) {
        fputs("rollsafe_scan_estimated_records", out);
        target_labels(out, r, &r->targets[i]);
        fprintf(out, ",verdict=\"%s\",bound=\"%s\"} %" PRIu64 "\n",
                v < RS_VERDICT_COUNT ? rs_verdict_name((rs_verdict)v) : "all",
                bounds[b], values[b]);
      }
    }
  }
  family(out, "rollsafe_scan_estimated_findings", NULL,
         "A sampled scan's estimate of the findings of the whole target, "
         "with the bounds of its 95% interval (bound: estimate, low, high).");
  for (size_t i = 0; i < r->n_targets; i++) {
    target_estimates e;
    if (!estimates_of(&e, r, &r->targets[i])) continue;
    uint64_t values[3] = {e.findings.count, e.findings.low, e.findings.high};
    for (int b = 0; b < 3; b++) {
      fputs("rollsafe_scan_estimated_findings", out);
      target_labels(out, r, &r->targets[i]);
      fprintf(out, ",bound=\"%s\"} %" PRIu64 "\n", bounds[b], values[b]);
    }
  }
}

static void family(FILE *out, const char *name, const char *unit,
                   const char *help) {
  fprintf(out, "# TYPE %s gauge\n", name);
  if (unit != NULL) fprintf(out, "# UNIT %s %s\n", name, unit);
  fprintf(out, "# HELP %s %s\n", name, help);
}

/* Kafka topics: each partition's verdicts and lag. */
static void partition_metrics(FILE *out, const scan_report *r) {
  size_t any = 0;
  for (size_t i = 0; i < r->n_targets; i++) any += r->targets[i].n_partitions;
  if (any == 0) return;
  family(out, "rollsafe_scan_partition_records", NULL,
         "Kafka topics: records given a verdict, by partition and verdict.");
  for (size_t i = 0; i < r->n_targets; i++) {
    const scan_report_target *t = &r->targets[i];
    for (size_t k = 0; k < t->n_partitions; k++) {
      const scan_partition *c =
          partition_counts(&t->result, t->partitions[k].partition);
      for (int v = 0; v < RS_VERDICT_COUNT; v++) {
        fputs("rollsafe_scan_partition_records", out);
        target_labels(out, r, t);
        fprintf(out, ",partition=\"%" PRId32 "\",verdict=\"%s\"} %" PRIu64 "\n",
                t->partitions[k].partition, rs_verdict_name((rs_verdict)v),
                c != NULL ? c->verdicts[v] : 0);
      }
    }
  }
  family(out, "rollsafe_scan_partition_lag", NULL,
         "Kafka topics: messages from where the scan started (a group's "
         "committed offset) to the high watermark, by partition.");
  for (size_t i = 0; i < r->n_targets; i++) {
    const scan_report_target *t = &r->targets[i];
    for (size_t k = 0; k < t->n_partitions; k++) {
      fputs("rollsafe_scan_partition_lag", out);
      target_labels(out, r, t);
      fprintf(out, ",partition=\"%" PRId32 "\"} %" PRId64 "\n",
              t->partitions[k].partition,
              t->partitions[k].end_offset - t->partitions[k].start_offset);
    }
  }
}

int scan_report_metrics(FILE *out, const scan_report *r) {
  family(out, "rollsafe_scan_reader", NULL,
         "The reader each target was judged for: its format version, "
         "framing and protobuf runtime (always 1).");
  for (size_t i = 0; i < r->n_targets; i++) {
    const scan_report_target *t = &r->targets[i];
    fputs("rollsafe_scan_reader", out);
    target_labels(out, r, t);
    fprintf(out, ",version=\"%u\",framing=\"%s\",runtime=\"%s\"} 1\n",
            t->reader_version, rs__reader_framing_name(t->reader_framing),
            rs_runtime_name(t->runtime.runtime));
  }
  family(out, "rollsafe_scan_records", NULL,
         "Records given a verdict, by target and verdict.");
  for (size_t i = 0; i < r->n_targets; i++)
    for (int v = 0; v < RS_VERDICT_COUNT; v++) {
      fputs("rollsafe_scan_records", out);
      target_labels(out, r, &r->targets[i]);
      fprintf(out, ",verdict=\"%s\"} %" PRIu64 "\n",
              rs_verdict_name((rs_verdict)v), r->targets[i].result.verdicts[v]);
    }
  family(out, "rollsafe_scan_undetermined_records", NULL,
         "Records whose verdict is not decided (the writer's meaning is "
         "unknown), by target and reason; not in rollsafe_scan_records.");
  for (size_t i = 0; i < r->n_targets; i++)
    for (int k = 0; k < SCAN_UNDETERMINED_KINDS; k++) {
      fputs("rollsafe_scan_undetermined_records", out);
      target_labels(out, r, &r->targets[i]);
      fprintf(out, ",reason=\"%s\"} %" PRIu64 "\n",
              scan_undetermined_name((scan_undetermined_kind)k),
              r->targets[i].result.undetermined[k]);
    }
  family(out, "rollsafe_scan_unattributed_records", NULL,
         "Records counted although --flag or --written-after cannot "
         "attribute them (no provenance).");
  for (size_t i = 0; i < r->n_targets; i++) {
    fputs("rollsafe_scan_unattributed_records", out);
    target_labels(out, r, &r->targets[i]);
    fprintf(out, "} %" PRIu64 "\n", r->targets[i].result.unattributed);
  }
  family(out, "rollsafe_scan_rows_read", NULL, "Rows read from the target.");
  for (size_t i = 0; i < r->n_targets; i++) {
    fputs("rollsafe_scan_rows_read", out);
    target_labels(out, r, &r->targets[i]);
    fprintf(out, "} %" PRIu64 "\n", r->targets[i].result.rows_read);
  }
  partition_metrics(out, r);
  family(out, "rollsafe_scan_findings", NULL,
         "Records the reader cannot read correctly (misread, unreadable, "
         "corrupt).");
  for (size_t i = 0; i < r->n_targets; i++) {
    fputs("rollsafe_scan_findings", out);
    target_labels(out, r, &r->targets[i]);
    fprintf(out, "} %" PRIu64 "\n", target_findings(&r->targets[i]));
  }
  family(out, "rollsafe_scan_rows_skipped", NULL,
         "Rows left out by --flag or --written-after (their provenance "
         "names another flag or an earlier time).");
  for (size_t i = 0; i < r->n_targets; i++) {
    fputs("rollsafe_scan_rows_skipped", out);
    target_labels(out, r, &r->targets[i]);
    fprintf(out, "} %" PRIu64 "\n", r->targets[i].result.rows_skipped);
  }
  family(out, "rollsafe_scan_complete", NULL,
         "1 when every row of the target was read, else 0.");
  for (size_t i = 0; i < r->n_targets; i++) {
    fputs("rollsafe_scan_complete", out);
    target_labels(out, r, &r->targets[i]);
    fprintf(out, "} %d\n",
            r->targets[i].scanned && r->targets[i].result.complete);
  }
  family(out, "rollsafe_scan_duration_seconds", "seconds",
         "Time spent scanning the target.");
  for (size_t i = 0; i < r->n_targets; i++) {
    fputs("rollsafe_scan_duration_seconds", out);
    target_labels(out, r, &r->targets[i]);
    fprintf(out, "} %.6f\n", r->targets[i].result.seconds);
  }
  family(out, "rollsafe_scan_flag_last_write_timestamp_seconds", "seconds",
         "Newest write time seen per flag: later than a kill means an "
         "instance still has the flag on.");
  for (size_t i = 0; i < r->n_targets; i++) {
    const scan_result *res = &r->targets[i].result;
    flag_summary *flags = calloc(res->n_writers + 1, sizeof *flags);
    size_t n = flags != NULL ? merge_flags(flags, 0, res->n_writers, res) : 0;
    for (size_t f = 0; f < n; f++) {
      if (flags[f].last_write_us == 0) continue;
      fputs("rollsafe_scan_flag_last_write_timestamp_seconds", out);
      target_labels(out, r, &r->targets[i]);
      fputs(",flag=", out);
      rs__metrics_label(out, flags[f].flag_key);
      fputs(",variant=", out);
      rs__metrics_label(out, flags[f].variant ? flags[f].variant : "");
      fprintf(out, "} %.6f\n", (double)flags[f].last_write_us / 1e6);
    }
    free(flags);
  }
  sample_metrics(out, r);
  family(out, "rollsafe_scan_exit_code", NULL,
         "The scan's exit code: 0 clean, 1 findings, 2 usage, 3 I/O, 4 "
         "inconclusive (incomplete, undetermined, nothing verified).");
  fprintf(out, "rollsafe_scan_exit_code %d\n", r->exit_code);
  fputs("# EOF\n", out);
  return ferror(out) ? -1 : 0;
}
