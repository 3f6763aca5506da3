#define _POSIX_C_SOURCE 200809L
/*
 * src/cli/cmd_fix.c: `rollsafe fix`, `restore`, `runs` and `purge`: the
 * commands that write. Each is a dry run unless --execute; the safety
 * promises of DESIGN.md are carried by the fix engine (src/verify/fix.c)
 * and the store adapters.
 *
 * SIGINT and SIGTERM do not interrupt a batch: the current batch commits
 * (or rolls back) whole, the checkpoint is saved, and the command exits 4.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <rollsafe/rollsafe.h>

#include "cli.h"
#include "opt.h"
#include "output.h"
#include "report/key_render.h"
#include "report/progress.h"
#include "report/scan_report.h"
#include "store/store_stream.h"
#include "interrupt.h"
#include "targets.h"
#include "verify/fix.h"
#include "verify/util.h"

/* ---- shared ---------------------------------------------------------------
 */

static int exit_for_store(int status) {
  return status == STORE_EUSAGE  ? CLI_EXIT_USAGE
         : status == STORE_EBUSY ? CLI_EXIT_INCOMPLETE
                                 : CLI_EXIT_IO;
}

typedef struct fix_args {
  cli_target_args t;
  unsigned to_version;
  int execute, allow_lossy, json, help;
  unsigned long batch, lock_timeout_ms, statement_timeout_ms, max_passes;
  double max_rate;
  const char *resume, *run, *output, *metrics;
  unsigned long samples;
  double deadline_s; /* --deadline, seconds; 0: none */
  const char *fixed_output;
  int drop_unfixable;
  size_t purge_matched; /* purge: targets that held the run */
} fix_args;

enum {
  OPT_TO_VERSION = 1,
  OPT_EXECUTE,
  OPT_ALLOW_LOSSY,
  OPT_BATCH,
  OPT_MAX_RATE,
  OPT_LOCK_TIMEOUT,
  OPT_STATEMENT_TIMEOUT,
  OPT_MAX_PASSES,
  OPT_RESUME,
  OPT_RUN,
  OPT_FORMAT,
  OPT_OUTPUT,
  OPT_METRICS,
  OPT_SAMPLES,
  OPT_DEADLINE,
  OPT_FIXED_OUTPUT,
  OPT_DROP_UNFIXABLE,
  OPT_HELP
};

static const cli_opt_spec fix_opts[] = {
    CLI_TARGET_OPT_SPECS,
    {OPT_TO_VERSION, "to-version", 0, 1},
    {OPT_EXECUTE, "execute", 0, 0},
    {OPT_ALLOW_LOSSY, "allow-lossy", 0, 0},
    {OPT_BATCH, "batch", 0, 1},
    {OPT_MAX_RATE, "max-rate", 0, 1},
    {OPT_LOCK_TIMEOUT, "lock-timeout", 0, 1},
    {OPT_STATEMENT_TIMEOUT, "statement-timeout", 0, 1},
    {OPT_MAX_PASSES, "max-passes", 0, 1},
    {OPT_RESUME, "resume", 0, 1},
    {OPT_RUN, "run", 0, 1},
    {OPT_FORMAT, "format", 0, 1},
    {OPT_OUTPUT, "output", 'o', 1},
    {OPT_METRICS, "metrics", 0, 1},
    {OPT_SAMPLES, "samples", 0, 1},
    {OPT_DEADLINE, "deadline", 0, 1},
    {OPT_FIXED_OUTPUT, "fixed-output", 0, 1},
    {OPT_DROP_UNFIXABLE, "drop-unfixable", 0, 0},
    {OPT_HELP, "help", 'h', 0},
};

/* "90", "90s", "500ms", "5m", "1h": seconds, more than 0. */
static int parse_duration(const char *text, double *out) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || errno != 0 || !(v > 0)) return -1;
  double scale = strcmp(end, "") == 0 || strcmp(end, "s") == 0 ? 1
                 : strcmp(end, "ms") == 0                      ? 0.001
                 : strcmp(end, "m") == 0                       ? 60
                 : strcmp(end, "h") == 0                       ? 3600
                                                               : -1;
  if (scale < 0 || v * scale > 7 * 86400.0) return -1;
  *out = v * scale;
  return 0;
}

/* Parses the options every writing command takes; @p allowed lists the
 * command-specific ids it accepts (0-terminated). */
static int parse_args(fix_args *a, int argc, char **argv, const char *cmd,
                      const int *allowed) {
  cli_opt_parser p;
  cli_opt_init(&p, fix_opts, sizeof fix_opts / sizeof fix_opts[0], argc, argv,
               cmd);
  const char *value;
  int id;
  while ((id = cli_opt_next(&p, &value)) != CLI_OPT_END) {
    if (id == CLI_OPT_ERROR) return CLI_EXIT_USAGE;
    if (id == CLI_OPT_ARG)
      return cli_usage_error(cmd, "unexpected argument '%s'", value);
    int taken = cli_target_opt(&a->t, id, value, cmd);
    if (taken == CLI_EXIT_USAGE) return CLI_EXIT_USAGE;
    if (taken) continue;
    int ok = id == OPT_HELP;
    for (const int *x = allowed; *x; x++) ok |= *x == id;
    if (!ok) {
      const char *name = "?";
      for (size_t k = 0; k < sizeof fix_opts / sizeof fix_opts[0]; k++)
        if (fix_opts[k].id == id) name = fix_opts[k].long_name;
      return cli_usage_error(cmd, "option '--%s' does not apply to %s", name,
                             cmd);
    }
    unsigned long n;
    switch (id) {
      case OPT_TO_VERSION:
        if (cli_opt_number(cmd, "--to-version", value, 1, 1000, &n))
          return CLI_EXIT_USAGE;
        a->to_version = (unsigned)n;
        break;
      case OPT_EXECUTE:
        a->execute = 1;
        break;
      case OPT_ALLOW_LOSSY:
        a->allow_lossy = 1;
        break;
      case OPT_BATCH:
        if (cli_opt_number(cmd, "--batch", value, 1, 100000, &a->batch))
          return CLI_EXIT_USAGE;
        break;
      case OPT_MAX_RATE: {
        char *end;
        errno = 0;
        double r = strtod(value, &end);
        if (*end != '\0' || errno != 0 || !(r > 0) || r > 1e9)
          return cli_usage_error(cmd,
                                 "invalid --max-rate '%s': expected rows per "
                                 "second, more than 0",
                                 value);
        a->max_rate = r;
        break;
      }
      case OPT_LOCK_TIMEOUT:
        if (cli_opt_millis(cmd, "--lock-timeout", value, 1, CLI_TIMEOUT_MS_MAX,
                           &a->lock_timeout_ms))
          return CLI_EXIT_USAGE;
        break;
      case OPT_STATEMENT_TIMEOUT:
        if (cli_opt_millis(cmd, "--statement-timeout", value, 1,
                           CLI_TIMEOUT_MS_MAX, &a->statement_timeout_ms))
          return CLI_EXIT_USAGE;
        break;
      case OPT_MAX_PASSES:
        if (cli_opt_number(cmd, "--max-passes", value, 1, 100, &a->max_passes))
          return CLI_EXIT_USAGE;
        break;
      case OPT_RESUME:
        a->resume = value;
        break;
      case OPT_RUN:
        a->run = value;
        break;
      case OPT_FORMAT:
        if (cli_opt_format(cmd, value, &a->json) != 0) return CLI_EXIT_USAGE;
        break;
      case OPT_OUTPUT:
        a->output = value;
        break;
      case OPT_METRICS:
        a->metrics = value;
        break;
      case OPT_SAMPLES:
        if (cli_opt_number(cmd, "--samples", value, 0, 10000, &a->samples))
          return CLI_EXIT_USAGE;
        break;
      case OPT_DEADLINE:
        if (parse_duration(value, &a->deadline_s) != 0)
          return cli_usage_error(cmd,
                                 "invalid --deadline '%s': expected a "
                                 "duration such as 90s, 500ms, 5m or 1h (at "
                                 "most 7 days)",
                                 value);
        break;
      case OPT_FIXED_OUTPUT:
        if (cli_opt_once(cmd, "--fixed-output", value, &a->fixed_output) != 0)
          return CLI_EXIT_USAGE;
        break;
      case OPT_DROP_UNFIXABLE:
        a->drop_unfixable = 1;
        break;
      case OPT_HELP:
        a->help = 1;
        break;
      default:
        return cli_usage_error(cmd, "unhandled option");
    }
  }
  if (a->help) return 0;
  int rc;
  if ((rc = cli_output_check(cmd, "-o", a->output)) != 0 ||
      (rc = cli_output_check(cmd, "--metrics", a->metrics)) != 0)
    return rc;
  return cli_target_check(&a->t, cmd);
}

/* ---- reports ----------------------------------------------------------------
 */

typedef struct fix_report {
  const char *command;
  int exit_code;
  const cli_target *targets;
  const fix_result *results;
  const int *status; /* per target: STORE_OK or why it failed to open */
  char (*errors)[512];
  size_t n;
  int execute;
  const char *reason; /* why the exit is 4 for undetermined records, or NULL */
} fix_report;

/* Empty strings (no run id, no error, no reason) are null. */
static json_t *str_or_null(const char *s) {
  return s != NULL && s[0] ? rs__json_text(s) : json_null();
}

/* The position of a stream file's record named by @p key, as
 * {"record": N, "offset": N}; NULL for other keys. */
static json_t *position_json(const cli_target *t, const char *key) {
  uint64_t index, offset;
  if (t->target.kind != STORE_STREAM_FILE ||
      store_stream_position(key, &index, &offset) != 0)
    return NULL;
  return json_pack("{s:I,s:I}", "record", (json_int_t)index, "offset",
                   (json_int_t)offset);
}

/* What queue and stream targets add to a target's report. */
static void queue_stream_json(json_t *o, const cli_target *t,
                              const fix_result *r) {
  json_object_set_new(o, "kind", json_string(store_kind_name(t->target.kind)));
  json_object_set_new(o, "in_flight",
                      json_integer((json_int_t)r->counts[FIX_IN_FLIGHT]));
  json_object_set_new(o, "gone", json_integer((json_int_t)r->counts[FIX_GONE]));
  json_object_set_new(o, "unsettled", json_integer((json_int_t)r->unsettled));
  json_object_set_new(o, "deadline_reached", json_boolean(r->deadline_reached));
  if (t->target.kind != STORE_STREAM_FILE) return;
  json_object_set_new(o, "dropped",
                      json_integer((json_int_t)r->counts[FIX_DROPPED]));
  json_object_set_new(o, "original", str_or_null(t->target.connection));
  json_object_set_new(
      o, "fixed_file",
      r->executed && r->complete ? str_or_null(r->stream_output) : json_null());
  json_object_set_new(o, "would_write", str_or_null(r->stream_output));
  json_t *fr = json_null();
  if (r->has_framing) fr = rs__json_framing(&r->framing);
  json_object_set_new(o, "truncated", fr);
}

/* The triggers, rules and policies the fix's UPDATEs fire (store_hook). */
static json_t *hooks_json(const fix_result *r) {
  json_t *list = json_array();
  for (size_t i = 0; i < r->n_hooks; i++) {
    const store_hook *h = &r->hooks[i];
    json_array_append_new(
        list,
        json_pack("{s:o,s:o,s:o,s:o}", "kind", rs__json_text(h->kind), "name",
                  rs__json_text(h->name), "table", rs__json_text(h->table),
                  "detail", rs__json_text(h->detail)));
  }
  return list;
}

static void hooks_text(FILE *out, const fix_result *r) {
  for (size_t i = 0; i < r->n_hooks; i++) {
    const store_hook *h = &r->hooks[i];
    fprintf(out, "  %-10s %s on %s: %s\n", h->kind, h->name, h->table,
            h->detail);
  }
  if (r->n_hooks > 0)
    fprintf(out,
            "             (the UPDATEs of this fix fire them, with the "
            "rights of the role it connects as)\n");
}

static json_t *result_json(const fix_report *rep, size_t i) {
  const fix_result *r = &rep->results[i];
  const cli_target *t = &rep->targets[i];
  json_t *counts = json_object(), *samples = json_object();
  for (int o = 0; o < FIX_OUTCOME_COUNT; o++) {
    json_object_set_new(counts, fix_outcome_name((fix_outcome)o),
                        json_integer((json_int_t)r->counts[o]));
    json_t *list = json_array();
    for (size_t k = 0; k < r->n_samples[o]; k++) {
      const fix_sample *fs = &r->samples[o][k];
      json_t *sample = json_pack("{s:o,s:o}", "key",
                                 fs->key != NULL && fs->key[0]
                                     ? rs__json_key(fs->key, fs->key_parts)
                                     : json_null(),
                                 "why", str_or_null(fs->why));
      if (sample != NULL && fs->key_position &&
          t->target.kind != STORE_STREAM_FILE)
        json_object_set_new(sample, "key_is_position", json_true());
      json_t *pos = position_json(t, r->samples[o][k].key);
      if (pos != NULL) json_object_update(sample, pos);
      json_decref(pos);
      json_array_append_new(list, sample);
    }
    json_object_set_new(samples, fix_outcome_name((fix_outcome)o), list);
  }
  json_t *o = json_object();
  json_object_set_new(o, "name", str_or_null(t->target.name));
  json_object_set_new(o, "table", str_or_null(t->target.table));
  json_object_set_new(o, "reader",
                      json_pack("{s:s,s:i,s:o}", "type", t->type, "version",
                                (int)t->reader_version, "schema",
                                schema_origin_json(&t->reader_schema)));
  json_object_set_new(o, "run_id", str_or_null(r->run.run_id));
  json_object_set_new(o, "executed", json_boolean(r->executed));
  json_object_set_new(o, "complete", json_boolean(r->complete));
  json_object_set_new(o, "interrupted", json_boolean(r->interrupted));
  const char *err = rep->status[i] != STORE_OK ? rep->errors[i]
                    : r->status != STORE_OK    ? r->error
                                               : NULL;
  json_object_set_new(o, "error", str_or_null(err));
  json_object_set_new(o, "rows_read", json_integer((json_int_t)r->rows_read));
  json_object_set_new(o, "passes", json_integer((json_int_t)r->passes));
  json_object_set_new(o, "converted",
                      json_integer((json_int_t)(r->counts[FIX_CONVERTED] +
                                                r->counts[FIX_LOSSY])));
  json_object_set_new(o, "lossy",
                      json_integer((json_int_t)r->counts[FIX_LOSSY]));
  json_object_set_new(o, "conflicts",
                      json_integer((json_int_t)r->counts[FIX_CONFLICT]));
  json_object_set_new(o, "impossible",
                      json_integer((json_int_t)r->counts[FIX_IMPOSSIBLE]));
  json_object_set_new(o, "corrupt",
                      json_integer((json_int_t)r->counts[FIX_CORRUPT]));
  json_object_set_new(o, "restored",
                      json_integer((json_int_t)r->counts[FIX_RESTORED]));
  json_object_set_new(
      o, "remaining",
      r->verified ? json_integer((json_int_t)r->remaining) : json_null());
  json_object_set_new(
      o, "raw_writer",
      t->raw_writer ? json_integer(t->raw_writer) : json_string("auto"));
  json_object_set_new(o, "reader_runtime", rs__json_runtime(&t->runtime));
  json_object_set_new(o, "undetermined",
                      json_integer((json_int_t)r->counts[FIX_UNDETERMINED]));
  json_object_set_new(o, "remaining_undetermined",
                      r->verified
                          ? json_integer((json_int_t)r->remaining_undetermined)
                          : json_null());
  json_object_set_new(o, "outcomes", counts);
  json_object_set_new(o, "samples", samples);
  json_object_set_new(o, "busy_retries",
                      json_integer((json_int_t)r->busy_retries));
  json_object_set_new(o, "write_hooks", hooks_json(r));
  queue_stream_json(o, t, r);
  json_object_set_new(o, "duration_seconds", json_real(r->seconds));
  return o;
}

static int write_json(FILE *out, void *ctx) {
  const fix_report *rep = ctx;
  json_t *doc = json_object(), *targets = json_array();
  uint64_t tot[FIX_OUTCOME_COUNT] = {0}, remaining = 0,
           remaining_undetermined = 0;
  int complete = rep->n > 0;
  for (size_t i = 0; i < rep->n; i++) {
    json_array_append_new(targets, result_json(rep, i));
    for (int o = 0; o < FIX_OUTCOME_COUNT; o++)
      tot[o] += rep->results[i].counts[o];
    remaining += rep->results[i].remaining;
    remaining_undetermined += rep->results[i].remaining_undetermined;
    complete &= rep->results[i].complete && rep->status[i] == STORE_OK;
  }
  json_object_set_new(doc, "command", json_string(rep->command));
  json_object_set_new(doc, "rollsafe_version", json_string(rs_version()));
  json_object_set_new(doc, "executed", json_boolean(rep->execute));
  json_object_set_new(doc, "complete", json_boolean(complete));
  json_object_set_new(
      doc, "run_id",
      rep->n == 1 ? str_or_null(rep->results[0].run.run_id) : json_null());
  json_object_set_new(
      doc, "converted",
      json_integer((json_int_t)(tot[FIX_CONVERTED] + tot[FIX_LOSSY])));
  json_object_set_new(doc, "lossy", json_integer((json_int_t)tot[FIX_LOSSY]));
  json_object_set_new(doc, "conflicts",
                      json_integer((json_int_t)tot[FIX_CONFLICT]));
  json_object_set_new(doc, "impossible",
                      json_integer((json_int_t)tot[FIX_IMPOSSIBLE]));
  json_object_set_new(doc, "corrupt",
                      json_integer((json_int_t)tot[FIX_CORRUPT]));
  json_object_set_new(doc, "restored",
                      json_integer((json_int_t)tot[FIX_RESTORED]));
  json_object_set_new(doc, "in_flight",
                      json_integer((json_int_t)tot[FIX_IN_FLIGHT]));
  json_object_set_new(doc, "gone", json_integer((json_int_t)tot[FIX_GONE]));
  json_object_set_new(doc, "remaining", json_integer((json_int_t)remaining));
  json_object_set_new(doc, "undetermined",
                      json_integer((json_int_t)tot[FIX_UNDETERMINED]));
  json_object_set_new(doc, "remaining_undetermined",
                      json_integer((json_int_t)remaining_undetermined));
  json_object_set_new(doc, "exit_code", json_integer(rep->exit_code));
  json_object_set_new(
      doc, "reason",
      rep->reason != NULL ? json_string(rep->reason) : json_null());
  json_object_set_new(doc, "targets", targets);
  int rc = json_dumpf(doc, out, JSON_INDENT(2));
  json_decref(doc);
  if (rc == 0 && fputc('\n', out) == EOF) rc = -1;
  return rc;
}

static void queue_stream_text(FILE *out, const cli_target *t,
                              const fix_result *r, int execute) {
  if (r->unsettled > 0)
    fprintf(out,
            "  INCOMPLETE %" PRIu64
            " messages still in flight or in conflict after %" PRIu64
            " passes%s\n",
            r->unsettled, r->passes,
            r->deadline_reached ? " (deadline reached)" : "");
  else if (r->deadline_reached)
    fprintf(out, "  INCOMPLETE the deadline came before the passes ended\n");
  if (t->target.kind != STORE_STREAM_FILE) return;
  if (r->has_framing) fprintf(out, "  truncated  %s\n", r->framing.what);
  if (execute && r->complete)
    fprintf(out,
            "  fixed file %s (the original %s is unchanged: it is the "
            "backup)\n",
            r->stream_output, t->target.connection);
  else if (!execute)
    fprintf(out, "  would write %s\n", r->stream_output);
}

static int write_text(FILE *out, void *ctx) {
  const fix_report *rep = ctx;
  for (size_t i = 0; i < rep->n; i++) {
    const fix_result *r = &rep->results[i];
    const cli_target *t = &rep->targets[i];
    if (t->target.kind == STORE_STREAM_FILE)
      fprintf(out, "%s%s %s: stream file %s (records as INDEX@OFFSET)%s\n",
              i ? "\n" : "", rep->command, t->target.name, t->target.connection,
              rep->execute ? "" : ", DRY RUN: nothing was written");
    else
      fprintf(
          out, "%s%s %s: %s.%s (key %s)%s%s\n", i ? "\n" : "", rep->command,
          t->target.name, t->target.table, t->target.column,
          t->target.key != NULL && t->target.key[0] ? t->target.key : "none",
          store_kind_is_queue(t->target.kind) ? ", queue" : "",
          rep->execute ? "" : ", DRY RUN: nothing was written");
    if (rep->status[i] != STORE_OK) {
      fprintf(out, "  ERROR      %s\n", rep->errors[i]);
      continue;
    }
    if (r->run.run_id[0]) fprintf(out, "  run        %s\n", r->run.run_id);
    hooks_text(out, r);
    char origin[600], runtime[200];
    schema_origin_text(origin, sizeof origin, &t->reader_schema);
    rs__runtime_text(&t->runtime, runtime, sizeof runtime);
    fprintf(out, "  reader     %s version %u, schema %s\n", t->type,
            t->reader_version, origin);
    if (strcmp(rep->command, "fix") == 0)
      fprintf(out, "  runtime    %s\n", runtime);
    fprintf(out,
            "  rows       %" PRIu64 " read in %" PRIu64 " pass%s, %.2f s\n",
            r->rows_read, r->passes, r->passes == 1 ? "" : "es", r->seconds);
    for (int o = 0; o < FIX_OUTCOME_COUNT; o++) {
      if (r->counts[o] == 0) continue;
      const char *label = fix_outcome_name((fix_outcome)o);
      if (!rep->execute && o == FIX_CONVERTED) label = "would convert";
      if (!rep->execute && o == FIX_LOSSY) label = "would convert (lossy)";
      if (!rep->execute && o == FIX_RESTORED) label = "would restore";
      fprintf(out, "  %-22s %" PRIu64 "\n", label, r->counts[o]);
      for (size_t k = 0; k < r->n_samples[o]; k++) {
        const fix_sample *fs = &r->samples[o][k];
        char *key = rs__key_text(fs->key, fs->key_parts);
        /* A position ("rowid 17") names itself. */
        const char *name = t->target.kind == STORE_STREAM_FILE ? "record "
                           : fs->key_position                  ? ""
                                                               : t->target.key;
        fprintf(out, "    %s%s%s%s%s\n", name,
                name[0] && name[strlen(name) - 1] != ' ' ? " " : "",
                key != NULL ? key : fs->key, fs->why[0] ? ": " : "", fs->why);
        free(key);
      }
    }
    if (t->raw_writer)
      fprintf(out, "  raw writer version %u (given)\n", t->raw_writer);
    if (r->verified)
      fprintf(out,
              "  remaining  %" PRIu64
              " records the reader cannot read correctly\n",
              r->remaining);
    if (r->counts[FIX_UNDETERMINED] > 0 || r->remaining_undetermined > 0)
      fprintf(out,
              "  UNDETERMINED %" PRIu64
              " records whose writer could not be decided: never rewritten "
              "(a fix would guess the writer)\n",
              r->counts[FIX_UNDETERMINED] > r->remaining_undetermined
                  ? r->counts[FIX_UNDETERMINED]
                  : r->remaining_undetermined);
    queue_stream_text(out, t, r, rep->execute);
    if (r->status != STORE_OK) fprintf(out, "  ERROR      %s\n", r->error);
    if (r->interrupted)
      fprintf(out, "  INTERRUPTED: resume with --resume %s\n", r->run.run_id);
  }
  fprintf(out, "result: exit %d", rep->exit_code);
  if (rep->reason != NULL) fprintf(out, ": %s", rep->reason);
  fputc('\n', out);
  return ferror(out) ? -1 : 0;
}

static int write_metrics(FILE *out, void *ctx) {
  const fix_report *rep = ctx;
  fputs(
      "# TYPE rollsafe_fix_reader gauge\n"
      "# HELP rollsafe_fix_reader The reader each target was fixed for: its "
      "format version and protobuf runtime (always 1).\n",
      out);
  for (size_t i = 0; i < rep->n; i++) {
    fputs("rollsafe_fix_reader{target=", out);
    rs__metrics_label(out, rep->targets[i].target.name);
    fprintf(out, ",version=\"%u\",runtime=\"%s\"} 1\n",
            rep->targets[i].reader_version,
            rs_runtime_name(rep->targets[i].runtime.runtime));
  }
  fputs(
      "# TYPE rollsafe_fix_records gauge\n"
      "# HELP rollsafe_fix_records Records by target and outcome.\n",
      out);
  for (size_t i = 0; i < rep->n; i++)
    for (int o = 0; o < FIX_OUTCOME_COUNT; o++) {
      fputs("rollsafe_fix_records{target=", out);
      rs__metrics_label(out, rep->targets[i].target.name);
      fprintf(out, ",outcome=\"%s\"} %" PRIu64 "\n",
              fix_outcome_name((fix_outcome)o), rep->results[i].counts[o]);
    }
  fputs(
      "# TYPE rollsafe_fix_remaining gauge\n"
      "# HELP rollsafe_fix_remaining Records the reader still cannot read "
      "after the fix.\n",
      out);
  for (size_t i = 0; i < rep->n; i++) {
    fputs("rollsafe_fix_remaining{target=", out);
    rs__metrics_label(out, rep->targets[i].target.name);
    fprintf(out, "} %" PRIu64 "\n", rep->results[i].remaining);
  }
  fputs(
      "# TYPE rollsafe_fix_remaining_undetermined gauge\n"
      "# HELP rollsafe_fix_remaining_undetermined Records whose writer could "
      "not be decided after the fix (never rewritten).\n",
      out);
  for (size_t i = 0; i < rep->n; i++) {
    fputs("rollsafe_fix_remaining_undetermined{target=", out);
    rs__metrics_label(out, rep->targets[i].target.name);
    fprintf(out, "} %" PRIu64 "\n", rep->results[i].remaining_undetermined);
  }
  fprintf(out,
          "# TYPE rollsafe_fix_exit_code gauge\n"
          "# HELP rollsafe_fix_exit_code The command's exit code.\n"
          "rollsafe_fix_exit_code %d\n# EOF\n",
          rep->exit_code);
  return ferror(out) ? -1 : 0;
}

/* ---- fix and restore -------------------------------------------------------
 */

/*
 * The sessions' limits: the command line's, else the config's, else the
 * defaults. Writers wait for their locks up to the lock timeout (default a
 * minute) and stop waiting when the command is interrupted; their
 * statements are limited to 30 s unless told otherwise. Reads (the dry
 * run's) have no statement_timeout unless one is given.
 */
static void session_limits(const fix_args *a, const cli_target_set *set,
                           store_open_options *sopts,
                           store_write_options *wopts) {
  const cli_config *c = set->config;
  unsigned long lock = a->lock_timeout_ms, stmt = a->statement_timeout_ms;
  if (lock == 0 && c != NULL) lock = c->lock_timeout_ms;
  if (stmt == 0 && c != NULL) stmt = c->statement_timeout_ms;
  *sopts = (store_open_options){isatty(STDIN_FILENO), (int)stmt};
  *wopts = (store_write_options)STORE_WRITE_OPTIONS_INIT;
  if (lock != 0) wopts->lock_timeout_ms = (int)lock;
  if (stmt != 0) wopts->statement_timeout_ms = (int)stmt;
  wopts->interrupted = &cli_interrupted;
}

/* The report to stdout or -o, as text or JSON, and --metrics: 0, or the
 * exit code of the first write that failed. */
static int write_report(const fix_args *a, fix_report *rep) {
  int w = cli_write_file(rep->command, a->output ? a->output : "-",
                         a->json ? write_json : write_text, rep);
  if (a->metrics != NULL) {
    int m = cli_write_file(rep->command, a->metrics, write_metrics, rep);
    if (w == 0) w = m;
  }
  return w;
}

/* A target's error on stderr, naming the target once: the adapters'
 * messages begin with "target 'NAME'" already, the fixer's own do not. */
static void target_error(const char *cmd, const char *name, const char *msg) {
  if (strncmp(msg, "target '", 8) == 0)
    cli_error(cmd, "%s", msg);
  else
    cli_error(cmd, "target '%s': %s", name, msg);
}
static int run_writing(fix_args *a, const char *cmd, int restore) {
  cli_target_set set;
  int reported = 0;
  fix_result *results = NULL;
  int *st = NULL;
  char(*errors)[512] = NULL;
  size_t n = 0;
  int status = cli_target_set_load(&set, &a->t, cmd);
  if (status != 0) goto done;
  for (size_t i = 0; i < set.n; i++)
    if (set.targets[i].target.kind == STORE_KAFKA_TOPIC) {
      status = cli_usage_error(cmd,
                               "target '%s' is a Kafka topic: %s one from "
                               "the command line (--kafka, --topic, --type "
                               "and --output-topic or --in-place-compacted; "
                               "see %s --kafka x --help)",
                               set.targets[i].target.name, cmd, cmd);
      goto done;
    }
  const rs_registry *reg = set.registry;
  cli_target *targets = set.targets;
  n = set.n;
  rs_error err = RS_ERROR_INIT;
  results = calloc(n, sizeof *results);
  st = calloc(n, sizeof *st);
  errors = calloc(n, sizeof *errors);
  if (results == NULL || st == NULL || errors == NULL) {
    cli_error(cmd, "out of memory");
    status = CLI_EXIT_IO;
    goto done;
  }
  if ((a->resume != NULL || restore) && n != 1) {
    status = cli_usage_error(cmd,
                             "%s names one run of one target; the config "
                             "has %zu targets",
                             restore ? "--run" : "--resume", n);
    goto done;
  }
  size_t n_streams = 0;
  for (size_t i = 0; i < n; i++)
    n_streams += targets[i].target.kind == STORE_STREAM_FILE;
  if ((a->fixed_output != NULL || a->drop_unfixable) && n_streams == 0) {
    status = cli_usage_error(cmd,
                             "--fixed-output and --drop-unfixable apply to "
                             "stream files only");
    goto done;
  }
  if (a->fixed_output != NULL && n_streams > 1) {
    status = cli_usage_error(cmd,
                             "--fixed-output names one file, and the config "
                             "has %zu stream files: give each its "
                             "fixed_output in the config",
                             n_streams);
    goto done;
  }
  /* Confluent readers: the schema id fixed records carry, checked for every
   * target before any is touched. */
  for (size_t i = 0; i < n && !restore && status == 0; i++) {
    cli_target *t = &targets[i];
    unsigned to = a->to_version ? a->to_version : t->reader_version;
    if (t->framing == RS_READER_FRAMING_CONFLUENT && to <= t->newest)
      status = cli_target_schema_id_for(t, to, cmd);
  }
  if (status != 0) goto done;
  cli_interrupt_saved saved;
  cli_interrupt_install(&saved);
  progress prog;
  progress_init(&prog, cli_quiet ? NULL : stderr);
  store_open_options sopts;
  store_write_options wopts;
  session_limits(a, &set, &sopts, &wopts);
  int codec_failed = 0;
  /* One deadline for the whole command, whatever the number of targets. */
  double deadline_at = verify_now_seconds() + a->deadline_s;
  for (size_t i = 0; i < n && !cli_interrupted; i++) {
    cli_target *t = &targets[i];
    unsigned to = a->to_version ? a->to_version : t->reader_version;
    if (to > t->newest) {
      status = cli_usage_error(cmd, "%s has no format version %u", t->type, to);
      break;
    }
    int stream = t->target.kind == STORE_STREAM_FILE;
    if (stream && (restore || a->resume != NULL)) {
      status = cli_usage_error(
          cmd,
          "target '%s' is a stream file: a fix never edits it, and the "
          "original stays as the backup, so there is nothing to %s",
          t->target.name, restore ? "restore" : "resume");
      break;
    }
    int queue = store_kind_is_queue(t->target.kind);
    fix_options o = {.registry = reg,
                     .type = t->type,
                     .reader = {RS_READER_VERSION, t->reader_version,
                                t->framing, t->raw_writer},
                     .schema_ids = t->schema_ids,
                     .n_schema_ids = t->n_schema_ids,
                     .to_version = to,
                     .column_encoding = t->column_encoding,
                     .execute = a->execute,
                     .allow_lossy = a->allow_lossy,
                     .batch = a->batch ? a->batch : 500,
                     .max_rate = a->max_rate,
                     .max_passes = a->max_passes ? (unsigned)a->max_passes
                                   : queue       ? 10
                                                 : 3,
                     .queue = queue,
                     .deadline = a->deadline_s > 0 ? deadline_at : 0,
                     .stream_output = a->fixed_output != NULL ? a->fixed_output
                                                              : t->fixed_output,
                     .drop_unfixable = a->drop_unfixable,
                     /* the store gives way and retries itself, until
                      * the lock timeout (store_write_options) */
                     .max_busy_retries = 0,
                     .max_samples = a->samples,
                     .resume = a->resume,
                     .interrupted = &cli_interrupted,
                     .progress = progress_update,
                     .progress_ctx = &prog};
    o.reader.runtime = t->runtime.runtime;
    o.reader.runtime_flags = t->runtime.runtime_flags;
    o.reader.recursion_limit = t->runtime.recursion_limit;
    store *s = NULL;
    store_error serr = {STORE_OK, ""};
    /* A restore puts back the stored values it kept, text or bytes, as they
     * were: whatever the column encoding, the column takes them. */
    if (restore) t->target.values = STORE_VALUES_STORED;
    /* A dry fix only reads: no tables are created, nothing is written. */
    int rc = (a->execute || restore) && !stream
                 ? store_open_writer(&s, &t->target, &sopts, &wopts, &serr)
                 : store_open(&s, &t->target, &sopts, &serr);
    if (rc != STORE_OK) {
      st[i] = serr.status;
      memcpy(errors[i], serr.message, sizeof errors[i]);
      cli_error(cmd, "%s", serr.message);
      continue;
    }
    if (!stream) cli_target_use_key(t, s);
    progress_start(&prog, t->target.name, -1);
    rc = restore  ? fix_restore(&results[i], s, a->run, &o, &err)
         : stream ? fix_stream(&results[i], s, &t->target, &o, &err)
                  : fix_target(&results[i], s, &t->target, &o, &err);
    progress_end(&prog);
    if (results[i].status != STORE_OK)
      target_error(cmd, t->target.name, results[i].error);
    if (rc != 0) {
      cli_error(cmd, "target '%s': %s", t->target.name, err.message);
      codec_failed = 1;
    }
    store_close(s);
  }
  cli_interrupt_restore(&saved);
  if (status == 0) {
    int usage = 0, io = codec_failed, incomplete = cli_interrupted != 0,
        found = 0;
    uint64_t undetermined = 0;
    for (size_t i = 0; i < n; i++) {
      const fix_result *r = &results[i];
      int s = st[i] != STORE_OK ? st[i] : r->status;
      if (s != STORE_OK) {
        int code = exit_for_store(s);
        usage |= code == CLI_EXIT_USAGE;
        io |= code == CLI_EXIT_IO;
        incomplete |= code == CLI_EXIT_INCOMPLETE;
      }
      incomplete |= r->interrupted || (!r->complete && s == STORE_OK);
      incomplete |= r->unsettled > 0 || r->deadline_reached;
      if (restore) continue;
      /* Records whose writer is unknown were left alone: the fix cannot
       * say the target is clean while any remain. */
      uint64_t u =
          r->verified ? r->remaining_undetermined : r->counts[FIX_UNDETERMINED];
      undetermined += u;
      /* A stream file's truncated tail, or records left out of the new
       * file, are findings: the original still holds what the reader
       * cannot read. */
      found |= r->counts[FIX_DROPPED] > 0;
      if (a->execute)
        found |= r->verified && r->remaining > 0;
      else
        for (int o = 0; o < FIX_RESTORED; o++)
          found |= o != FIX_CONFLICT && r->counts[o] > 0;
    }
    status = usage          ? CLI_EXIT_USAGE
             : io           ? CLI_EXIT_IO
             : incomplete   ? CLI_EXIT_INCOMPLETE
             : found        ? CLI_EXIT_FOUND
             : undetermined ? CLI_EXIT_INCOMPLETE
                            : CLI_EXIT_CLEAN;
    char reason[400];
    const char *why = NULL;
    if (status == CLI_EXIT_INCOMPLETE && !incomplete) {
      snprintf(reason, sizeof reason,
               "undetermined: %" PRIu64
               " record%s whose writer could not be decided %s left alone; "
               "give --raw-writer N with a --where selecting the rows that "
               "version wrote, or register the version they name",
               undetermined, undetermined == 1 ? "" : "s",
               undetermined == 1 ? "was" : "were");
      why = reason;
      cli_error(cmd, "%s", reason);
    }
    fix_report rep = {cmd,    status, targets,    results, st,
                      errors, n,      a->execute, why};
    int w = write_report(a, &rep);
    if (w != 0) status = w;
    reported = 1;
  }
done:
  /* A configuration or usage error found before any target was read still
   * gives the document, -o and --metrics asked for (no targets, the exit
   * code): a file a pipeline reads never keeps an older run's result. */
  if (!reported && (a->json || a->output != NULL || a->metrics != NULL)) {
    fix_report rep = {cmd, status, NULL, NULL, NULL, NULL, 0, a->execute, NULL};
    int w = write_report(a, &rep);
    if (w != 0) status = w;
  }
  for (size_t i = 0; results != NULL && i < n; i++)
    fix_result_dispose(&results[i]);
  free(results);
  free(st);
  free(errors);
  cli_target_set_free(&set);
  return status;
}

static void print_lines(FILE *out, const char *const *lines, size_t n) {
  for (size_t i = 0; i < n; i++) fprintf(out, "%s\n", lines[i]);
}

#define TARGET_HELP                                                           \
  "Target (as for scan):",                                                    \
      "  -c, --config FILE        targets and reader from a YAML file",       \
      "      --sqlite PATH | --postgres CONNINFO | --postgres-env NAME",      \
      "                           one table (--postgres-env: the connection", \
      "                           string, which may carry a password, from",  \
      "                           that environment variable), with:",         \
      "      --table T [--key K[,K2...]] --column C --type TYPE [--where "    \
      "SQL]",                                                                 \
      "                           [--name N]; --key names the primary key "   \
      "or",                                                                   \
      "                           a unique index's columns (default: the "    \
      "primary",                                                              \
      "                           key). fix needs a key; rows whose key is "  \
      "NULL",                                                                 \
      "                           are reported as unnamed, never rewritten",  \
      "      --reader-version N   the reader (default: the version before "   \
      "the "                                                                  \
      "newest)",                                                              \
      "      --reader-framing F   raw, envelope, confluent or default: a "    \
      "confluent",                                                            \
      "                           reader gets records in Confluent framing, " \
      "with",                                                                 \
      "                           the schema id --schema-id maps to the "     \
      "version",                                                              \
      "                           written (exactly one)",                     \
      CLI_READER_RUNTIME_HELP,                                                \
      "      --schema-id ID=VERSION[@I.J]  Confluent schema ids (as for "     \
      "scan)",                                                                \
      "      --raw-writer auto|N  the version that wrote records without an " \
      "envelope",                                                             \
      "                           (default auto: inferred from the bytes)",   \
      CLI_COLUMN_ENCODING_HELP,                                               \
      "                           (restore needs none: it puts back the",     \
      "                           stored text or bytes as they were)",        \
      "      --queue [--state-column COL --pending-states S,S",               \
      "       --in-flight-states S,S]   the table is a queue (outbox)",       \
      "      --stream FILE --type TYPE  a file of varint-length-delimited",   \
      "                           records (a queue dump)", CLI_TYPES_HELP

void cli_fix_help(FILE *out) {
  static const char *const lines[] = {
      "usage: " CLI_PROGRAM " fix TARGET [--execute] [options]",
      "",
      "Rewrites the records the reader cannot read correctly as the reader's",
      "version. Without --execute it is a dry run: it says what it would",
      "convert, what would be lossy and why, what is impossible, and changes",
      "nothing. With --execute, each batch is one transaction: the rows are",
      "swapped by compare-and-swap on their old bytes (a row changed since it",
      "was read is a conflict, never overwritten, and is retried in a later",
      "pass), the original and new bytes go to the backup table, and the",
      "run's checkpoint advances. New bytes are checked by the reader before",
      "they are written. The run ends with a verification pass.",
      "",
      TARGET_HELP,
      "",
      "Options:",
      "      --execute            write (default: dry run)",
      "      --allow-lossy        also rewrite records whose conversion loses",
      "                           something (each listed with what it loses)",
      "      --to-version N       version to write (default: the reader's)",
      "      --resume RUN_ID      continue a stopped run from its checkpoint",
      "      --batch N            rows per batch (default 500)",
      "      --max-rate R         rows per second at most",
      "      --lock-timeout DURATION  how long a step (a batch, a page, the",
      "                           run row, creating its tables) keeps",
      "                           taking its turn for locks before the fix",
      "                           gives up with exit 4 (default 60s; 500ms,",
      "                           2m; a bare number is milliseconds). Each",
      "                           PostgreSQL statement waits at most 1 s and",
      "                           is retried with backoff",
      "      --statement-timeout DURATION  PostgreSQL statement_timeout",
      "                           (default: 30s for writes, none for the",
      "                           dry run's reads, whatever the role or",
      "                           database sets)",
      "      --max-passes N       passes while conflicts remain (default 3;",
      "                           queues: 10, while messages are in flight)",
      "      --deadline DURATION  start no batch after it (90s, 500ms, 5m,",
      "                           1h); the run is then incomplete (exit 4)",
      "      --fixed-output FILE  stream files: the new file (default: the",
      "                           file's path with .fixed added)",
      "      --drop-unfixable     stream files: leave out of the new file the",
      "                           records the reader still cannot read",
      "      --format F           text (default) or json",
      "  -o, --output FILE        write the report to FILE",
      "      --metrics FILE       OpenMetrics text",
      "      --samples N          keys listed per outcome (default 10)",
      CLI_QUIET_HELP,
      "",
      "Queues: batches lock with SKIP LOCKED (PostgreSQL) and rewrite only",
      "pending messages; a message a consumer holds is in_flight and",
      "revisited, one consumed meanwhile is gone. Stream files are never",
      "edited: the fix writes a new file beside the original, which stays as",
      "the backup. A Kafka topic is never rewritten either: see",
      "'" CLI_PROGRAM " fix --kafka - --help' (an output topic, or in place",
      "on a compacted topic).",
      "",
      "Ctrl-C or SIGTERM finishes the current batch, saves the checkpoint and",
      "exits 4; --resume RUN_ID continues. Running a fix again over fixed",
      "data changes nothing.",
      "",
      "Records whose writer could not be decided (raw bytes several versions",
      "explain with different values, or a version the registry lacks) are",
      "undetermined and never rewritten: give --raw-writer N with a --where",
      "selecting the rows that version wrote, or register the version.",
      "",
      "PostgreSQL: the schema rollsafe must be the fix role's own (see",
      "docs/privileges.md); the dry run lists the triggers, rules and",
      "policies the fix's UPDATEs would fire, which run with its rights.",
      "",
      "Exit status: 0 nothing the reader cannot read remains (dry run:",
      "nothing to do); 1 records remain (or would be converted); 2 usage;",
      "3 connection or I/O; 4 incomplete (interrupted, locks not obtained",
      "within --lock-timeout, the run busy in another process) or",
      "undetermined records remain.",
  };
  print_lines(out, lines, sizeof lines / sizeof lines[0]);
}

void cli_restore_help(FILE *out) {
  static const char *const lines[] = {
      "usage: " CLI_PROGRAM " restore TARGET --run RUN_ID [--execute]",
      "",
      "Puts a fix run's original bytes back, by compare-and-swap against the",
      "bytes the fix wrote: a row changed after the fix is a conflict and is",
      "left alone (one that holds its original bytes again is named as",
      "already restored). Restoring twice changes nothing. Queues: a message",
      "consumed since the fix is gone, one a consumer holds in_flight.",
      "",
      "Dry run unless --execute: it reads each backed-up row, writing and",
      "locking nothing, and reports what --execute would do, in the same",
      "counts and with the same exit status.",
      "",
      TARGET_HELP,
      "",
      "Options: --run RUN_ID, --execute, --batch N, --lock-timeout DURATION,",
      "--statement-timeout DURATION,",
      "--format text|json, -o FILE, --samples N, -q (no progress on stderr).",
      "",
      "Exit status: 0 every row restored or left alone (dry run: would be);",
      "2 usage; 3 connection or I/O; 4 incomplete (interrupted, or messages",
      "in flight: run the restore again later).",
  };
  print_lines(out, lines, sizeof lines / sizeof lines[0]);
}

int cli_fix_run(int argc, char **argv) {
  /* A Kafka topic is never rewritten: its fix is a driver of its own. */
  if (cli_kafka_fix_wanted(argc, argv))
    return cli_kafka_fix_run(argc, argv, 0);
  static const int allowed[] = {OPT_TO_VERSION,
                                OPT_EXECUTE,
                                OPT_ALLOW_LOSSY,
                                OPT_BATCH,
                                OPT_MAX_RATE,
                                OPT_LOCK_TIMEOUT,
                                OPT_STATEMENT_TIMEOUT,
                                OPT_MAX_PASSES,
                                OPT_RESUME,
                                OPT_FORMAT,
                                OPT_OUTPUT,
                                OPT_METRICS,
                                OPT_SAMPLES,
                                OPT_DEADLINE,
                                OPT_FIXED_OUTPUT,
                                OPT_DROP_UNFIXABLE,
                                0};
  fix_args a;
  memset(&a, 0, sizeof a);
  a.t = (cli_target_args)CLI_TARGET_ARGS_INIT;
  a.samples = 10;
  int status = parse_args(&a, argc, argv, "fix", allowed);
  if (status != 0) return status;
  if (a.help) {
    cli_fix_help(stdout);
    return cli_finish_stdout("fix", CLI_EXIT_CLEAN);
  }
  if (a.resume != NULL && !a.execute)
    return cli_usage_error("fix",
                           "--resume continues a run: it needs --execute");
  return run_writing(&a, "fix", 0);
}

int cli_restore_run(int argc, char **argv) {
  if (cli_kafka_fix_wanted(argc, argv))
    return cli_kafka_fix_run(argc, argv, 1);
  static const int allowed[] = {OPT_RUN,
                                OPT_EXECUTE,
                                OPT_BATCH,
                                OPT_LOCK_TIMEOUT,
                                OPT_STATEMENT_TIMEOUT,
                                OPT_FORMAT,
                                OPT_OUTPUT,
                                OPT_SAMPLES,
                                OPT_DEADLINE,
                                0};
  fix_args a;
  memset(&a, 0, sizeof a);
  a.t = (cli_target_args)CLI_TARGET_ARGS_INIT;
  a.samples = 10;
  int status = parse_args(&a, argc, argv, "restore", allowed);
  if (status != 0) return status;
  if (a.help) {
    cli_restore_help(stdout);
    return cli_finish_stdout("restore", CLI_EXIT_CLEAN);
  }
  if (a.run == NULL)
    return cli_usage_error("restore", "--run RUN_ID is needed");
  return run_writing(&a, "restore", 1);
}

/* ---- runs and purge ----------------------------------------------------- */

void cli_runs_help(FILE *out) {
  static const char *const lines[] = {
      "usage: " CLI_PROGRAM " runs TARGET [--format text|json]",
      "",
      "Lists the fix runs kept in the target's database, oldest first, with",
      "their status, checkpoint and counts. A run whose process is gone",
      "(killed, crashed) shows as interrupted, never running: resume it",
      "with fix --execute --resume RUN_ID.",
      "",
      "Options: --format text|json, --lock-timeout DURATION, -q (no notes",
      "on stderr).",
      "",
      TARGET_HELP,
      "",
      "Exit status: 0 listed (also when there are none); 2 usage; 3",
      "connection or I/O.",
  };
  print_lines(out, lines, sizeof lines / sizeof lines[0]);
}

void cli_purge_help(FILE *out) {
  static const char *const lines[] = {
      "usage: " CLI_PROGRAM " purge TARGET --run RUN_ID [--execute]",
      "",
      "Deletes a run's backup rows and its run row. After a purge the run",
      "cannot be restored. Dry run unless --execute.",
      "",
      TARGET_HELP,
      "",
      "Options: --run RUN_ID, --execute, --format text|json, -q (no notes",
      "on stderr).",
      "",
      "Exit status: 0 purged (dry run: would be), also when the target has",
      "no such run; 2 usage; 3 connection or I/O.",
  };
  print_lines(out, lines, sizeof lines / sizeof lines[0]);
}

static json_t *run_json(const store_run *r) {
  json_t *o = json_object();
  json_object_set_new(o, "run_id", json_string(r->run_id));
  json_object_set_new(o, "command", json_string(r->command));
  json_object_set_new(o, "target", json_string(r->target));
  json_object_set_new(o, "table", json_string(r->table));
  json_object_set_new(o, "key", json_string(r->key));
  json_object_set_new(o, "column", json_string(r->column));
  json_object_set_new(o, "status", json_string(r->status));
  json_object_set_new(o, "to_version", json_integer(r->to_version));
  /* The checkpoint is a key text: a composite key's is a JSON array. */
  unsigned parts = 1;
  for (const char *c = r->key; *c; c++) parts += *c == ',';
  json_object_set_new(
      o, "checkpoint",
      r->has_checkpoint ? rs__json_key(r->checkpoint, parts) : json_null());
  char t[40];
  rs__format_time_us(t, sizeof t, r->started_us);
  json_object_set_new(o, "started_at", json_string(t));
  rs__format_time_us(t, sizeof t, r->updated_us);
  json_object_set_new(o, "updated_at", json_string(t));
  json_object_set_new(o, "converted", json_integer(r->converted));
  json_object_set_new(o, "lossy", json_integer(r->lossy));
  json_object_set_new(o, "conflicts", json_integer(r->conflicts));
  json_object_set_new(o, "impossible", json_integer(r->impossible));
  json_object_set_new(o, "corrupt", json_integer(r->corrupt));
  json_object_set_new(o, "restored", json_integer(r->restored));
  return o;
}

/* Opens each target for `runs` and `purge`; calls @p fn with the store. */
static int each_writer(fix_args *a, const char *cmd,
                       int (*fn)(fix_args *, const char *, const cli_target *,
                                 size_t, store *, json_t *),
                       json_t *doc) {
  cli_target_set set;
  int status = cli_target_set_load(&set, &a->t, cmd);
  store_open_options sopts;
  store_write_options wopts;
  session_limits(a, &set, &sopts, &wopts);
  for (size_t i = 0; status == 0 && i < set.n; i++) {
    store *s = NULL;
    store_error serr = {STORE_OK, ""};
    if (set.targets[i].target.kind == STORE_KAFKA_TOPIC) {
      /* Topics are only read: they have no runs. */
      if (set.n == 1)
        status = cli_usage_error(cmd,
                                 "target '%s' is a Kafka topic: it has "
                                 "no runs",
                                 set.targets[i].target.name);
      continue;
    }
    if (set.targets[i].target.kind == STORE_STREAM_FILE) {
      /* A config may list dumps beside tables: they have no runs. */
      if (set.n == 1)
        status = cli_usage_error(cmd,
                                 "target '%s' is a stream file: it has no "
                                 "runs (a fix writes a new file; the "
                                 "original is the backup)",
                                 set.targets[i].target.name);
      continue;
    }
    /* Runs and purges read no records: any column that holds them will do. */
    set.targets[i].target.values = STORE_VALUES_STORED;
    if (store_open_writer(&s, &set.targets[i].target, &sopts, &wopts, &serr) !=
        STORE_OK) {
      cli_error(cmd, "%s", serr.message);
      status = exit_for_store(serr.status);
      break;
    }
    cli_target_use_key(&set.targets[i], s);
    status = fn(a, cmd, &set.targets[i], set.n, s, doc);
    store_close(s);
  }
  /* Several targets of a config may share a database, and a run belongs to
   * one of them: the run was purged in its own target, or none has it. */
  if (status == 0 && a->run != NULL && a->purge_matched == 0 && set.n > 1)
    status = cli_usage_error(cmd,
                             "no run '%s' for any target of the config (see "
                             "'" CLI_PROGRAM " runs')",
                             a->run);
  cli_target_set_free(&set);
  return status;
}

/* Whether run @p r was made on target @p t: the same table, key and column,
 * as `fix --resume` and `restore` require. */
static int run_of_target(const store_run *r, const cli_target *t) {
  return strcmp(r->table, t->target.table) == 0 &&
         strcmp(r->key, t->target.key != NULL ? t->target.key : "") == 0 &&
         strcmp(r->column, t->target.column) == 0;
}

static int list_runs(fix_args *a, const char *cmd, const cli_target *t,
                     size_t n_targets, store *s, json_t *doc) {
  (void)n_targets;
  store_run *runs = NULL;
  size_t n = 0;
  store_error serr = {STORE_OK, ""};
  if (store_run_list(s, &runs, &n, &serr) != STORE_OK) {
    cli_error(cmd, "%s", serr.message);
    return exit_for_store(serr.status);
  }
  /* The runs table holds every target's runs of this database: keep this
   * target's. */
  size_t kept = 0;
  for (size_t i = 0; i < n; i++)
    if (run_of_target(&runs[i], t)) runs[kept++] = runs[i];
  n = kept;
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(list, run_json(&runs[i]));
  if (a->json) {
    json_object_set_new(doc, t->target.name, list);
  } else {
    printf("%s (%s):\n", t->target.name, t->target.table);
    if (n == 0) printf("  no runs\n");
    for (size_t i = 0; i < n; i++)
      printf("  %s  %-7s %-11s converted %" PRId64 ", lossy %" PRId64
             ", conflicts %" PRId64 ", impossible %" PRId64 ", corrupt %" PRId64
             ", restored %" PRId64 "%s%s\n",
             runs[i].run_id, runs[i].command, runs[i].status, runs[i].converted,
             runs[i].lossy, runs[i].conflicts, runs[i].impossible,
             runs[i].corrupt, runs[i].restored,
             runs[i].has_checkpoint ? ", checkpoint " : "",
             runs[i].has_checkpoint ? runs[i].checkpoint : "");
    json_decref(list);
  }
  free(runs);
  return 0;
}

static int purge_one(fix_args *a, const char *cmd, const cli_target *t,
                     size_t n_targets, store *s, json_t *doc) {
  store_error serr = {STORE_OK, ""};
  store_run run;
  int rc = store_run_load(s, a->run, &run, &serr);
  /* Of a config's targets, only the run's own is purged; the others (in
   * the same database or not) are left alone. */
  if (n_targets > 1 &&
      (rc == STORE_EUSAGE || (rc == STORE_OK && !run_of_target(&run, t))))
    return 0;
  if (rc != STORE_OK) {
    cli_error(cmd, "%s", serr.message);
    return exit_for_store(serr.status);
  }
  a->purge_matched++;
  int64_t deleted = 0;
  /* Never under a process that works on the run (its lease). */
  if (a->execute && (store_run_lease(s, a->run, &serr) != STORE_OK ||
                     store_purge_run(s, a->run, &deleted, &serr) != STORE_OK)) {
    cli_error(cmd, "%s", serr.message);
    return exit_for_store(serr.status);
  }
  if (a->execute) store_run_release(s, a->run);
  if (a->json) {
    json_object_set_new(doc, "run_id", json_string(a->run));
    json_object_set_new(doc, "executed", json_boolean(a->execute));
    json_object_set_new(doc, "backups_deleted", json_integer(deleted));
  } else if (a->execute) {
    printf("%s: purged run %s: %" PRId64 " backup rows deleted\n",
           t->target.name, a->run, deleted);
  } else {
    printf(
        "%s: run %s (%s, %s) would be purged with its backups; DRY RUN: "
        "add --execute\n",
        t->target.name, a->run, run.command, run.status);
  }
  return 0;
}

static int finish_json(const char *cmd, const fix_args *a, json_t *doc,
                       int status) {
  if (status == 0 && a->json) {
    json_dumpf(doc, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
  }
  json_decref(doc);
  return cli_finish_stdout(cmd, status);
}

int cli_runs_run(int argc, char **argv) {
  static const int allowed[] = {OPT_FORMAT, OPT_LOCK_TIMEOUT, 0};
  fix_args a;
  memset(&a, 0, sizeof a);
  a.t = (cli_target_args)CLI_TARGET_ARGS_INIT;
  int status = parse_args(&a, argc, argv, "runs", allowed);
  if (status != 0) return status;
  if (a.help) {
    cli_runs_help(stdout);
    return cli_finish_stdout("runs", CLI_EXIT_CLEAN);
  }
  json_t *doc = json_object();
  status = each_writer(&a, "runs", list_runs, doc);
  return finish_json("runs", &a, doc, status);
}

int cli_purge_run(int argc, char **argv) {
  static const int allowed[] = {OPT_RUN, OPT_EXECUTE, OPT_FORMAT,
                                OPT_LOCK_TIMEOUT, 0};
  fix_args a;
  memset(&a, 0, sizeof a);
  a.t = (cli_target_args)CLI_TARGET_ARGS_INIT;
  int status = parse_args(&a, argc, argv, "purge", allowed);
  if (status != 0) return status;
  if (a.help) {
    cli_purge_help(stdout);
    return cli_finish_stdout("purge", CLI_EXIT_CLEAN);
  }
  if (a.run == NULL) return cli_usage_error("purge", "--run RUN_ID is needed");
  json_t *doc = json_object();
  status = each_writer(&a, "purge", purge_one, doc);
  return finish_json("purge", &a, doc, status);
}
