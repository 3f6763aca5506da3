#define _POSIX_C_SOURCE 200809L
/*
 * src/cli/cmd_merge.c: `rollsafe merge`, the JSON reports of the shards of
 * one scan (scan --shard K/N) combined into the report one scan of every
 * row would have written, with its exit code recomputed.
 *
 * The shards' reports are checked first: every one is a shard's, all of
 * the same N, the same options and the same targets, and together they are
 * shards 0 to N-1, each once. Counts are summed; writers and samples are
 * put in the order one scan meets them by the position each shard gives
 * them (rows the store gave before, which every shard reads alike), and
 * the first `samples` of each verdict kept; the per-flag summaries, the
 * totals, the reason and the exit code are computed again from the sums,
 * by the rules scan follows.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <rollsafe/rollsafe.h>

#include "cli.h"
#include "config.h"
#include "opt.h"
#include "output.h"
#include "report/scan_report.h"

#define CMD "merge"

void cli_merge_help(FILE *out) {
  static const char *const lines[] = {
      "usage: " CLI_PROGRAM " merge [-o FILE] REPORT.json...",
      "",
      "Combines the JSON reports of the shards of one scan (each written by",
      "'" CLI_PROGRAM
      " scan --shard K/N --format json') into the report of the",
      "whole scan: counts summed, writers and samples in the order one scan",
      "meets them, the first keys of each verdict kept, totals, reason and",
      "exit code computed again as scan computes them.",
      "",
      "Refused (exit 2), saying which file and what: a report that is not a",
      "shard's, reports of different scans (targets, filters, reader,",
      "--samples, shard count or rollsafe version differ), a shard given",
      "twice, a shard missing.",
      "",
      "Options:",
      "  -o, --output FILE        write the merged report to FILE "
      "(atomically)",
      CLI_QUIET_HELP,
      "  -h, --help               show this help",
      "",
      "Exit status:",
      "  0  clean: every record counted is read correctly",
      "  1  found records the reader cannot read correctly",
      "  2  usage error, or the reports cannot be merged; also when a shard",
      "     exited 2",
      "  3  a report cannot be read, or a shard exited 3",
      "  4  inconclusive: a shard was interrupted or stopped early, records",
      "     whose writer could not be decided, or nothing verified",
      "",
      "Example:",
      "  " CLI_PROGRAM " merge -o report.json shard-0.json shard-1.json \\",
      "      shard-2.json shard-3.json",
  };
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
    fprintf(out, "%s\n", lines[i]);
}

enum { OPT_OUTPUT = 1, OPT_HELP };

static const cli_opt_spec merge_opts[] = {
    {OPT_OUTPUT, "output", 'o', 1},
    {OPT_HELP, "help", 'h', 0},
};

/* What a target's report must share with the other shards' to be merged. */
static const char *const target_identity[] = {
    "name",  "kind",  "table",       "key",    "column",
    "type",  "where", "description", "reader", "key_note",
    "queue", "path",  "truncated",   NULL};

/* The fields a scan's options leave in the document, the same in every
 * shard of one scan. */
static const char *const doc_identity[] = {"format_version",   "command",
                                           "rollsafe_version", "feature",
                                           "filters",          NULL};

static json_int_t int_of(const json_t *o, const char *key) {
  return json_integer_value(json_object_get(o, key));
}

/* Adds @p from's integers to @p into's of the same keys (objects of
 * counts: verdicts, undetermined, unattributed). */
static void add_counts(json_t *into, const json_t *from) {
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)from, k, v) {
    json_t *x = json_object_get(into, k);
    if (json_is_integer(x) && json_is_integer(v))
      json_integer_set(x, json_integer_value(x) + json_integer_value(v));
  }
}

static void add_int(json_t *into, const json_t *from, const char *key) {
  json_object_set_new(into, key,
                      json_integer(int_of(into, key) + int_of(from, key)));
}

/* Times are RFC 3339 in one fixed form: they compare as strings. */
static void earliest(json_t *into, const json_t *from, const char *key) {
  const char *a = json_string_value(json_object_get(into, key));
  const char *b = json_string_value(json_object_get(from, key));
  if (b != NULL && (a == NULL || strcmp(b, a) < 0))
    json_object_set_new(into, key, json_string(b));
}

static void latest(json_t *into, const json_t *from, const char *key) {
  const char *a = json_string_value(json_object_get(into, key));
  const char *b = json_string_value(json_object_get(from, key));
  if (b != NULL && (a == NULL || strcmp(b, a) > 0))
    json_object_set_new(into, key, json_string(b));
}

static json_int_t position_of(const json_t *o) {
  return json_integer_value(json_object_get(o, "position"));
}

/* Sorts an array of objects by "position", stably, and removes it. */
static void order_by_position(json_t *a, size_t keep) {
  size_t n = json_array_size(a);
  for (size_t i = 1; i < n; i++) {
    json_t *x = json_incref(json_array_get(a, i));
    size_t j = i;
    while (j > 0 && position_of(json_array_get(a, j - 1)) > position_of(x)) {
      json_array_set(a, j, json_array_get(a, j - 1));
      j--;
    }
    json_array_set_new(a, j, x);
  }
  while (json_array_size(a) > keep)
    json_array_remove(a, json_array_size(a) - 1);
  for (size_t i = 0; i < json_array_size(a); i++)
    json_object_del(json_array_get(a, i), "position");
}

static const char *differs(const json_t *a, const json_t *b,
                           const char *const *keys);

/* Past the 256 writer groups a report shows, the later ones (in the order
 * met) share one catch-all group, as in one scan (src/verify/scan.c). */
#define MERGE_MAX_WRITERS 256

static void fold_writers(json_t *writers) {
  if (json_array_size(writers) <= MERGE_MAX_WRITERS) return;
  json_t *other = json_pack(
      "{s:n,s:n,s:n,s:s,s:n,s:I,s:O,s:O,s:n,s:n}", "version", "framing",
      "schema_id", "flag", "(other writers)", "variant", "rows", (json_int_t)0,
      "verdicts", json_object_get(json_array_get(writers, 0), "verdicts"),
      "undetermined",
      json_object_get(json_array_get(writers, 0), "undetermined"),
      "first_write", "last_write");
  if (other == NULL) return;
  /* Counts from zero: the objects were copied from a writer's. */
  const char *k;
  json_t *v;
  json_t *vd = json_deep_copy(json_object_get(other, "verdicts"));
  json_t *ud = json_deep_copy(json_object_get(other, "undetermined"));
  json_object_foreach(vd, k, v) json_integer_set(v, 0);
  json_object_foreach(ud, k, v) json_integer_set(v, 0);
  json_object_set_new(other, "verdicts", vd);
  json_object_set_new(other, "undetermined", ud);
  while (json_array_size(writers) > MERGE_MAX_WRITERS - 1) {
    json_t *w = json_array_get(writers, MERGE_MAX_WRITERS - 1);
    add_int(other, w, "rows");
    add_counts(json_object_get(other, "verdicts"),
               json_object_get(w, "verdicts"));
    add_counts(json_object_get(other, "undetermined"),
               json_object_get(w, "undetermined"));
    earliest(other, w, "first_write");
    latest(other, w, "last_write");
    json_array_remove(writers, MERGE_MAX_WRITERS - 1);
  }
  json_array_append_new(writers, other);
}

static int same_writer(const json_t *a, const json_t *b) {
  static const char *const keys[] = {"version", "framing", "schema_id",
                                     "flag",    "variant", NULL};
  return differs(a, b, keys) == NULL;
}

static void merge_writers(json_t *into, const json_t *from) {
  size_t i;
  json_t *w;
  json_array_foreach((json_t *)from, i, w) {
    json_t *x = NULL;
    for (size_t j = 0; x == NULL && j < json_array_size(into); j++)
      if (same_writer(json_array_get(into, j), w)) x = json_array_get(into, j);
    if (x == NULL) {
      json_array_append_new(into, json_deep_copy(w));
      continue;
    }
    add_int(x, w, "rows");
    add_counts(json_object_get(x, "verdicts"), json_object_get(w, "verdicts"));
    add_counts(json_object_get(x, "undetermined"),
               json_object_get(w, "undetermined"));
    earliest(x, w, "first_write");
    latest(x, w, "last_write");
    if (position_of(w) < position_of(x))
      json_object_set(x, "position", json_object_get(w, "position"));
  }
}

/* Findings of a "verdicts" object. */
static json_int_t findings_of(const json_t *verdicts) {
  json_int_t n = 0;
  for (int v = 0; v < RS_VERDICT_COUNT; v++)
    if (scan_verdict_is_finding((rs_verdict)v))
      n += int_of(verdicts, rs_verdict_name((rs_verdict)v));
  return n;
}

/* Adds the flagged writers of @p writers to the summary @p flags, as scan
 * summarises them (in the order met). */
static void add_flags(json_t *flags, const json_t *writers) {
  size_t i;
  json_t *w;
  json_array_foreach((json_t *)writers, i, w) {
    json_t *flag = json_object_get(w, "flag");
    if (json_is_null(flag) || flag == NULL) continue;
    json_t *f = NULL;
    for (size_t j = 0; f == NULL && j < json_array_size(flags); j++) {
      json_t *c = json_array_get(flags, j);
      if (json_equal(json_object_get(c, "flag"), flag) &&
          json_equal(json_object_get(c, "variant"),
                     json_object_get(w, "variant")))
        f = c;
    }
    if (f == NULL) {
      f = json_pack("{s:O,s:O,s:I,s:I,s:n,s:n}", "flag", flag, "variant",
                    json_object_get(w, "variant"), "rows", (json_int_t)0,
                    "findings", (json_int_t)0, "first_write", "last_write");
      if (f == NULL) continue;
      json_array_append_new(flags, f);
    }
    add_int(f, w, "rows");
    json_object_set_new(
        f, "findings",
        json_integer(int_of(f, "findings") +
                     findings_of(json_object_get(w, "verdicts"))));
    earliest(f, w, "first_write");
    latest(f, w, "last_write");
  }
}

static int status_rank(const char *s) {
  return s == NULL                       ? 3
         : strcmp(s, "error") == 0       ? 3
         : strcmp(s, "interrupted") == 0 ? 2
         : strcmp(s, "incomplete") == 0  ? 1
                                         : 0;
}

/* Target @p i of @p from, a later shard's, added to @p t. */
static void merge_target(json_t *t, const json_t *from) {
  add_int(t, from, "rows_read");
  add_int(t, from, "rows_null");
  add_int(t, from, "rows_skipped");
  add_int(t, from, "rows_counted");
  add_counts(json_object_get(t, "verdicts"), json_object_get(from, "verdicts"));
  add_counts(json_object_get(t, "undetermined"),
             json_object_get(from, "undetermined"));
  add_counts(json_object_get(t, "unattributed"),
             json_object_get(from, "unattributed"));
  json_object_set_new(
      t, "complete",
      json_boolean(json_is_true(json_object_get(t, "complete")) &&
                   json_is_true(json_object_get(from, "complete"))));
  const char *a = json_string_value(json_object_get(t, "status"));
  const char *b = json_string_value(json_object_get(from, "status"));
  if (status_rank(b) > status_rank(a)) {
    json_object_set(t, "status", json_object_get(from, "status"));
    json_object_set(t, "error", json_object_get(from, "error"));
  }
  if (json_is_null(json_object_get(t, "estimated_rows")))
    json_object_set(t, "estimated_rows",
                    json_object_get(from, "estimated_rows"));
  double d = json_number_value(json_object_get(from, "duration_seconds"));
  if (d > json_number_value(json_object_get(t, "duration_seconds")))
    json_object_set_new(t, "duration_seconds", json_real(d));
  merge_writers(json_object_get(t, "writers"),
                json_object_get(from, "writers"));
  const char *k;
  json_t *list;
  json_object_foreach(json_object_get(from, "samples"), k, list) {
    json_t *into = json_object_get(json_object_get(t, "samples"), k);
    if (json_is_array(into)) json_array_extend(into, list);
  }
}

typedef struct merge_input {
  const char *path;
  json_t *doc;
} merge_input;

/* The first of @p keys on which @p a and @p b differ, or NULL. */
static const char *differs(const json_t *a, const json_t *b,
                           const char *const *keys) {
  for (size_t i = 0; keys[i] != NULL; i++) {
    const json_t *x = json_object_get(a, keys[i]),
                 *y = json_object_get(b, keys[i]);
    if ((x != NULL || y != NULL) && !json_equal(x, y)) return keys[i];
  }
  return NULL;
}

/* Checks that the reports are the N shards of one scan, each once; 0 or
 * CLI_EXIT_USAGE (the error printed). */
static int check_shards(const merge_input *in, size_t n) {
  const json_t *first = in[0].doc;
  json_int_t count = int_of(json_object_get(first, "shard"), "count");
  const char **seen = calloc((size_t)count, sizeof *seen);
  if (seen == NULL) {
    cli_error(CMD, "out of memory");
    return CLI_EXIT_IO;
  }
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    const json_t *doc = in[i].doc, *shard = json_object_get(doc, "shard");
    json_int_t k = int_of(shard, "index");
    const char *what;
    if (int_of(shard, "count") != count) {
      rc = cli_usage_error(CMD,
                           "'%s' is shard %lld of %lld, '%s' of %lld: not "
                           "shards of one scan",
                           in[i].path, (long long)k,
                           (long long)int_of(shard, "count"), in[0].path,
                           (long long)count);
    } else if (k < 0 || k >= count) {
      rc = cli_usage_error(CMD, "'%s': shard index %lld is not below %lld",
                           in[i].path, (long long)k, (long long)count);
    } else if (seen[k] != NULL) {
      rc = cli_usage_error(CMD, "shard %lld of %lld given twice: '%s' and '%s'",
                           (long long)k, (long long)count, seen[k], in[i].path);
    } else if (int_of(shard, "samples") !=
               int_of(json_object_get(first, "shard"), "samples")) {
      rc = cli_usage_error(
          CMD,
          "'%s' keeps %lld samples per verdict, '%s' %lld: "
          "not shards of one scan (--samples differs)",
          in[i].path, (long long)int_of(shard, "samples"), in[0].path,
          (long long)int_of(json_object_get(first, "shard"), "samples"));
    } else if ((what = differs(first, doc, doc_identity)) != NULL) {
      rc = cli_usage_error(CMD,
                           "'%s' and '%s' differ in '%s': not shards of one "
                           "scan",
                           in[0].path, in[i].path, what);
    } else {
      const json_t *ta = json_object_get(first, "targets"),
                   *tb = json_object_get(doc, "targets");
      if (json_array_size(ta) != json_array_size(tb))
        rc = cli_usage_error(CMD,
                             "'%s' has %zu targets, '%s' %zu: not shards of "
                             "one scan",
                             in[0].path, json_array_size(ta), in[i].path,
                             json_array_size(tb));
      for (size_t t = 0; rc == 0 && t < json_array_size(ta); t++) {
        what = differs(json_array_get(ta, t), json_array_get(tb, t),
                       target_identity);
        if (what != NULL)
          rc = cli_usage_error(
              CMD,
              "target %zu ('%s') differs in '%s' between '%s' and '%s': not "
              "shards of one scan",
              t + 1,
              json_string_value(json_object_get(json_array_get(ta, t), "name")),
              what, in[0].path, in[i].path);
      }
    }
    if (rc == 0) seen[k] = in[i].path;
  }
  if (rc == 0) {
    char missing[200] = "";
    size_t len = 0, n_missing = 0;
    for (json_int_t k = 0; k < count; k++) {
      if (seen[k] != NULL) continue;
      n_missing++;
      if (len + 24 < sizeof missing)
        len += (size_t)snprintf(missing + len, sizeof missing - len, "%s%lld",
                                len ? ", " : "", (long long)k);
      else if (len + 5 < sizeof missing && missing[len - 1] != '.')
        len += (size_t)snprintf(missing + len, sizeof missing - len, ", ...");
    }
    if (n_missing > 0)
      rc =
          cli_usage_error(CMD,
                          "shard%s %s of %lld missing: a merge of some "
                          "shards is no report of the scan",
                          n_missing == 1 ? "" : "s", missing, (long long)count);
  }
  free(seen);
  return rc;
}

/* The rules of scan's exit code and reason, applied to the merged counts
 * through a report of counts only. */
static int finish(json_t *doc, int worst_shard_exit) {
  json_t *targets = json_object_get(doc, "targets");
  size_t n = json_array_size(targets);
  scan_report r;
  memset(&r, 0, sizeof r);
  r.targets = calloc(n > 0 ? n : 1, sizeof *r.targets);
  if (r.targets == NULL) return -1;
  r.n_targets = n;
  const json_t *filters = json_object_get(doc, "filters");
  r.flag_key = json_string_value(json_object_get(filters, "flag"));
  r.flag_variant = json_string_value(json_object_get(filters, "variant"));
  r.written_after_us =
      json_is_string(json_object_get(filters, "written_after")) ? 1 : 0;
  json_t *tot = json_object_get(doc, "totals");
  static const char *const sums[] = {"rows_read", "rows_null", "rows_skipped",
                                     "rows_counted"};
  for (size_t s = 0; s < sizeof sums / sizeof sums[0]; s++)
    json_object_set_new(tot, sums[s], json_integer(0));
  json_t *verdicts = json_object_get(tot, "verdicts"),
         *und = json_object_get(tot, "undetermined"),
         *unatt = json_object_get(tot, "unattributed");
  const char *k;
  json_t *v;
  json_object_foreach(verdicts, k, v) json_integer_set(v, 0);
  json_object_foreach(und, k, v) json_integer_set(v, 0);
  json_object_foreach(unatt, k, v) json_integer_set(v, 0);
  json_t *flags = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *t = json_array_get(targets, i);
    scan_report_target *rt = &r.targets[i];
    const char *status = json_string_value(json_object_get(t, "status"));
    rt->target.kind =
        store_kind_from_name(json_string_value(json_object_get(t, "kind")));
    rt->target.where = json_string_value(json_object_get(t, "where"));
    rt->scanned = !(status != NULL && strcmp(status, "error") == 0 &&
                    json_is_null(json_object_get(t, "description")));
    rt->status =
        status != NULL && strcmp(status, "error") == 0 ? STORE_EIO : STORE_OK;
    scan_result *res = &rt->result;
    res->complete = json_is_true(json_object_get(t, "complete"));
    res->interrupted = status != NULL && strcmp(status, "interrupted") == 0;
    res->rows_read = (uint64_t)int_of(t, "rows_read");
    res->rows_null = (uint64_t)int_of(t, "rows_null");
    res->rows_skipped = (uint64_t)int_of(t, "rows_skipped");
    res->rows_counted = (uint64_t)int_of(t, "rows_counted");
    for (int vv = 0; vv < RS_VERDICT_COUNT; vv++)
      res->verdicts[vv] = (uint64_t)int_of(json_object_get(t, "verdicts"),
                                           rs_verdict_name((rs_verdict)vv));
    for (int kk = 0; kk < SCAN_UNDETERMINED_KINDS; kk++)
      res->undetermined[kk] =
          (uint64_t)int_of(json_object_get(t, "undetermined"),
                           scan_undetermined_name((scan_undetermined_kind)kk));
    /* The target's own derived fields. */
    json_t *writers = json_object_get(t, "writers");
    order_by_position(writers, json_array_size(writers));
    fold_writers(writers);
    json_t *tflags = json_array();
    add_flags(tflags, writers);
    json_object_set_new(t, "flags", tflags);
    add_flags(flags, writers);
    /* A stream file that ends in a truncated record: every shard read
     * the same file and says so; one finding. */
    rt->truncated = json_is_object(json_object_get(t, "truncated"));
    json_object_set_new(
        t, "findings",
        json_integer(findings_of(json_object_get(t, "verdicts")) +
                     (rt->truncated ? 1 : 0)));
    for (size_t s = 0; s < sizeof sums / sizeof sums[0]; s++)
      add_int(tot, t, sums[s]);
    add_counts(verdicts, json_object_get(t, "verdicts"));
    add_counts(und, json_object_get(t, "undetermined"));
    add_counts(unatt, json_object_get(t, "unattributed"));
  }
  r.interrupted = json_is_true(json_object_get(doc, "interrupted"));
  for (size_t i = 0; i < n; i++) {
    /* nothing_verified of one target: that target alone, with the
     * report's filters. */
    scan_report one = r;
    one.targets = &r.targets[i];
    one.n_targets = 1;
    json_object_set_new(json_array_get(targets, i), "nothing_verified",
                        json_boolean(scan_report_nothing_verified(&one)));
  }
  json_object_set_new(tot, "flags", flags);
  json_object_set_new(tot, "findings",
                      json_integer((json_int_t)scan_report_findings(&r)));
  int code;
  if (worst_shard_exit == CLI_EXIT_USAGE || worst_shard_exit == CLI_EXIT_IO)
    code = worst_shard_exit;
  else if (!scan_report_complete(&r))
    code = CLI_EXIT_INCOMPLETE;
  else if (scan_report_findings(&r) > 0)
    code = CLI_EXIT_FOUND;
  else if (scan_report_undetermined(&r) > 0 || scan_report_nothing_verified(&r))
    code = CLI_EXIT_INCOMPLETE;
  else
    code = CLI_EXIT_CLEAN;
  r.exit_code = code;
  char reason[600];
  scan_report_reason(reason, sizeof reason, &r);
  json_object_set_new(doc, "complete", json_boolean(scan_report_complete(&r)));
  json_object_set_new(doc, "nothing_verified",
                      json_boolean(scan_report_nothing_verified(&r)));
  json_object_set_new(doc, "reason",
                      reason[0] ? json_string(reason) : json_null());
  json_object_set_new(doc, "exit_code", json_integer(code));
  free(r.targets);
  return code;
}

static int write_json(FILE *out, void *ctx) {
  int rc = json_dumpf(ctx, out, JSON_INDENT(2));
  if (rc == 0 && fputc('\n', out) == EOF) rc = -1;
  return rc;
}

static int merge(const char *output, char **paths, size_t n) {
  merge_input *in = calloc(n, sizeof *in);
  if (in == NULL) {
    cli_error(CMD, "out of memory");
    return CLI_EXIT_IO;
  }
  int rc = 0, worst = 0;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    json_error_t jerr;
    in[i].path = paths[i];
    in[i].doc = json_load_file(paths[i], 0, &jerr);
    if (in[i].doc == NULL) {
      int io = jerr.line < 0 ||
               json_error_code(&jerr) == json_error_cannot_open_file;
      cli_error(CMD, "cannot read '%s': %s%s", paths[i], jerr.text,
                io ? "" : " (not a JSON report)");
      rc = io ? CLI_EXIT_IO : CLI_EXIT_USAGE;
      break;
    }
    const json_t *shard = json_object_get(in[i].doc, "shard");
    const char *command =
        json_string_value(json_object_get(in[i].doc, "command"));
    if (command == NULL || strcmp(command, "scan") != 0)
      rc = cli_usage_error(CMD, "'%s' is not the JSON report of a scan",
                           paths[i]);
    else if (json_object_get(in[i].doc, "sample") != NULL)
      rc = cli_usage_error(CMD,
                           "'%s' is the report of a sampled scan (--sample): "
                           "its counts are of a sample, which merge does not "
                           "add up",
                           paths[i]);
    else if (!json_is_object(shard) ||
             !json_is_integer(json_object_get(shard, "index")) ||
             !json_is_integer(json_object_get(shard, "count")) ||
             !json_is_integer(json_object_get(shard, "samples")))
      rc = cli_usage_error(CMD,
                           "'%s' is the report of a whole scan, not of a "
                           "shard (scan --shard K/N)",
                           paths[i]);
    if (rc != 0) break;
    int e = (int)int_of(in[i].doc, "exit_code");
    if (e == CLI_EXIT_USAGE || (e == CLI_EXIT_IO && worst != CLI_EXIT_USAGE))
      worst = e;
  }
  if (rc == 0) rc = check_shards(in, n);
  json_t *doc = NULL;
  if (rc == 0) {
    doc = json_deep_copy(in[0].doc);
    json_t *targets = json_object_get(doc, "targets");
    for (size_t i = 1; doc != NULL && i < n; i++) {
      const json_t *other = json_object_get(in[i].doc, "targets");
      for (size_t t = 0; t < json_array_size(targets); t++)
        merge_target(json_array_get(targets, t), json_array_get(other, t));
      earliest(doc, in[i].doc, "started_at");
      double d =
          json_number_value(json_object_get(in[i].doc, "duration_seconds"));
      if (d > json_number_value(json_object_get(doc, "duration_seconds")))
        json_object_set_new(doc, "duration_seconds", json_real(d));
      if (json_is_true(json_object_get(in[i].doc, "interrupted")))
        json_object_set_new(doc, "interrupted", json_true());
    }
    size_t keep = (size_t)int_of(json_object_get(doc, "shard"), "samples");
    for (size_t t = 0; doc != NULL && t < json_array_size(targets); t++) {
      const char *k;
      json_t *list;
      json_object_foreach(
          json_object_get(json_array_get(targets, t), "samples"), k, list)
          order_by_position(list, keep);
    }
    if (doc != NULL) json_object_del(doc, "shard");
    int code = doc != NULL ? finish(doc, worst) : -1;
    if (code < 0) {
      cli_error(CMD, "out of memory");
      rc = CLI_EXIT_IO;
    } else {
      int w =
          cli_write_file(CMD, output != NULL ? output : "-", write_json, doc);
      rc = w != 0 ? w : code;
    }
  }
  json_decref(doc);
  for (size_t i = 0; i < n; i++) json_decref(in[i].doc);
  free(in);
  return rc;
}

int cli_merge_run(int argc, char **argv) {
  cli_opt_parser p;
  cli_opt_init(&p, merge_opts, sizeof merge_opts / sizeof merge_opts[0], argc,
               argv, CMD);
  const char *value, *output = NULL;
  int id, help = 0, rc = 0;
  char **paths = calloc((size_t)(argc > 0 ? argc : 1), sizeof *paths);
  size_t n = 0;
  if (paths == NULL) {
    cli_error(CMD, "out of memory");
    return CLI_EXIT_IO;
  }
  while (rc == 0 && (id = cli_opt_next(&p, &value)) != CLI_OPT_END) {
    switch (id) {
      case CLI_OPT_ERROR:
        rc = CLI_EXIT_USAGE;
        break;
      case CLI_OPT_ARG:
        paths[n++] = (char *)value;
        break;
      case OPT_OUTPUT:
        rc = cli_opt_once(CMD, "--output", value, &output);
        break;
      case OPT_HELP:
        help = 1;
        break;
      default:
        rc = cli_usage_error(CMD, "unhandled option");
    }
  }
  if (rc == 0 && help) {
    cli_merge_help(stdout);
    rc = cli_finish_stdout(CMD, CLI_EXIT_CLEAN);
  } else if (rc == 0 && n == 0) {
    rc = cli_usage_error(CMD, "no reports given");
  } else if (rc == 0 && (rc = cli_output_check(CMD, "-o", output)) == 0) {
    rc = merge(output, paths, n);
  }
  free(paths);
  return rc;
}
