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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <rollsafe/rollsafe.h>

#include "cli.h"
#include "fix_report.h"
#include "opt.h"
#include "output.h"
#include "report/format_version.h"
#include "report/key_render.h"
#include "report/progress.h"
#include "report/scan_report.h"
#include "store/store_stream.h"
#include "interrupt.h"
#include "runs.h"
#include "targets.h"
#include "verify/fix.h"
#include "verify/util.h"

/* ---- shared ---------------------------------------------------------------
 */

/* Most --target options. */
#define CLI_MAX_TARGET_NAMES 64

/* How long a queue fix keeps revisiting messages in flight by default. */
#define DEFAULT_IN_FLIGHT_WAIT 2.0

/* A status of the planning steps: the config's targets (after --target)
 * are one Kafka topic, whose fix kafka_fix.c runs from the same command
 * line. Never an exit code. */
#define KAFKA_HANDOVER (-1000)

/* Whether @p set holds a Kafka topic: KAFKA_HANDOVER when it is the only
 * target, a usage error when tables or files are beside it, 0 when none. */
static int kafka_handover(const cli_target_set *set, const char *cmd) {
  for (size_t i = 0; i < set->n; i++) {
    if (set->targets[i].target.kind != STORE_KAFKA_TOPIC) continue;
    if (set->n == 1) return KAFKA_HANDOVER;
    return cli_usage_error(cmd,
                           "target '%s' is a Kafka topic, which is %s alone: "
                           "give --target %s (its config gives output_topic "
                           "or in_place_compacted, or the command line "
                           "--output-topic or --in-place-compacted), and "
                           "the other targets in another command",
                           set->targets[i].target.name,
                           strcmp(cmd, "fix") == 0 ? "fixed" : "restored",
                           set->targets[i].target.name);
  }
  return 0;
}

static int exit_for_store(int status) {
  return status == STORE_EUSAGE  ? CLI_EXIT_USAGE
         : status == STORE_EBUSY ? CLI_EXIT_INCOMPLETE
                                 : CLI_EXIT_IO;
}

typedef struct fix_args {
  cli_target_args t;
  /* The command line, for a config whose target is a Kafka topic: its fix
   * is kafka_fix.c's (see kafka_handover). */
  int argc;
  char **argv;
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
  /* --target NAME, repeatable: the targets to work on */
  const char *names[CLI_MAX_TARGET_NAMES];
  size_t n_names;
  double in_flight_wait; /* --in-flight-wait, seconds; has_: given */
  int has_in_flight_wait;
  cli_run_limits limits; /* runs and purge: their stores' session limits */
  unsigned jobs;         /* --jobs N; 0: the config's jobs, else 1 */
  unsigned shard_index, shard_count; /* --shard K/N; count 0: none */
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
  OPT_TARGET,
  OPT_IN_FLIGHT_WAIT,
  OPT_JOBS,
  OPT_SHARD,
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
    {OPT_TARGET, "target", 0, 1},
    {OPT_IN_FLIGHT_WAIT, "in-flight-wait", 0, 1},
    {OPT_JOBS, "jobs", 'j', 1},
    {OPT_SHARD, "shard", 0, 1},
    {OPT_HELP, "help", 'h', 0},
};

/* The most parts (--jobs times the N of --shard) one target is split
 * into: a part's row id ("RUN.t1.p4095of4096") must fit store_run. */
#define FIX_PARTS_MAX 4096

/* A run id given to a new fix (--run with --shard): at most 23 letters,
 * digits, '-' and '_', so that a part's row id fits. */
static int valid_run_name(const char *id) {
  size_t n = strlen(id);
  if (n == 0 || n > 23) return 0;
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return 0;
  }
  return 1;
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
        if (cli_duration_parse(value, 0, &a->deadline_s) != 0)
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
      case OPT_TARGET:
        if (a->n_names == CLI_MAX_TARGET_NAMES)
          return cli_usage_error(cmd, "--target given more than %d times",
                                 CLI_MAX_TARGET_NAMES);
        if (value[0] == '\0')
          return cli_usage_error(cmd, "--target needs a target's name");
        a->names[a->n_names++] = value;
        break;
      case OPT_IN_FLIGHT_WAIT:
        if (a->has_in_flight_wait)
          return cli_usage_error(cmd, "--in-flight-wait given twice");
        if (cli_duration_parse(value, 1, &a->in_flight_wait) != 0)
          return cli_usage_error(cmd,
                                 "invalid --in-flight-wait '%s': expected a "
                                 "duration such as 2s, 500ms or 1m, or 0 "
                                 "for no waiting",
                                 value);
        a->has_in_flight_wait = 1;
        break;
      case OPT_JOBS:
        if (a->jobs != 0) return cli_usage_error(cmd, "--jobs given twice");
        if (cli_opt_number(cmd, "--jobs", value, 1, CLI_JOBS_MAX, &n) != 0)
          return CLI_EXIT_USAGE;
        a->jobs = (unsigned)n;
        break;
      case OPT_SHARD:
        if (a->shard_count != 0)
          return cli_usage_error(cmd, "--shard given twice");
        if (cli_opt_shard(value, CLI_SHARDS_MAX, &a->shard_index,
                          &a->shard_count) != 0)
          return cli_usage_error(cmd,
                                 "invalid --shard '%s': expected K/N, N from "
                                 "1 to %d and K from 0 to N-1",
                                 value, CLI_SHARDS_MAX);
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
  /* restore, runs, purge and fix --resume find the run in the database:
   * the database alone will do, the run recorded the rest. */
  int by_run = strcmp(cmd, "fix") != 0 || a->resume != NULL;
  if (by_run && a->t.config == NULL) {
    if (a->t.stream != NULL || a->t.kafka.bootstrap != NULL)
      return cli_usage_error(cmd,
                             "%s works on runs, which stream files and "
                             "topics do not have",
                             cmd);
    if (a->t.connection == NULL)
      return cli_usage_error(cmd,
                             "no database: give -c CONFIG, or --sqlite PATH "
                             "or --postgres CONNINFO (the run recorded its "
                             "tables)");
    if ((a->t.pending_states || a->t.in_flight_states) && !a->t.state_column)
      return cli_usage_error(cmd,
                             "--pending-states and --in-flight-states need "
                             "--state-column");
    return 0;
  }
  if (a->n_names > 0 && a->t.config == NULL && !by_run)
    return cli_usage_error(cmd, "--target picks targets of a config (-c)");
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
  const char *run_id; /* the run's id, or NULL (a dry run, no run) */
  /* The command that goes on with an unfinished run, and what it does
   * ("resume with", "finish later with"); NULL when there is none. */
  const char *next_command, *next_label;
  const char *note; /* the run's targets this command did not reach */
  int restore;
  /* Per target split into parts (--jobs, --shard): its parts' row ids
   * (a JSON array), else NULL; NULL when none is. */
  json_t *const *part_ids;
} fix_report;

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
  json_object_set_new(o, "original",
                      cli_fix_text_or_null(t->target.connection));
  json_object_set_new(o, "fixed_file",
                      r->executed && r->complete
                          ? cli_fix_text_or_null(r->stream_output)
                          : json_null());
  json_object_set_new(o, "would_write", cli_fix_text_or_null(r->stream_output));
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

/* A sample of target @p ctx: its key as the target names it (a stream
 * file's with its position). */
static json_t *sample_json(const fix_sample *fs, void *ctx) {
  const cli_target *t = ctx;
  json_t *sample = json_pack("{s:o,s:o}", "key",
                             fs->key != NULL && fs->key[0]
                                 ? rs__json_key(fs->key, fs->key_parts)
                                 : json_null(),
                             "why", cli_fix_text_or_null(fs->why));
  if (sample != NULL && fs->key_position && t->target.kind != STORE_STREAM_FILE)
    json_object_set_new(sample, "key_is_position", json_true());
  json_t *pos = position_json(t, fs->key);
  if (pos != NULL) json_object_update(sample, pos);
  json_decref(pos);
  return sample;
}

static json_t *result_json(const fix_report *rep, size_t i) {
  const fix_result *r = &rep->results[i];
  const cli_target *t = &rep->targets[i];
  json_t *counts, *samples;
  cli_fix_outcomes_json(&counts, &samples, r, sample_json, (void *)t);
  json_t *o = json_object();
  json_object_set_new(o, "name", cli_fix_text_or_null(t->target.name));
  json_object_set_new(o, "table", cli_fix_text_or_null(t->target.table));
  /* The type and the reader as scan's report names them. */
  json_object_set_new(o, "type", json_string(t->type));
  json_object_set_new(
      o, "reader",
      json_pack(
          "{s:i,s:s,s:o,s:o,s:o}", "version", (int)t->reader_version, "framing",
          rs__reader_framing_name(t->framing), "raw_writer",
          t->raw_writer ? json_integer(t->raw_writer) : json_string("auto"),
          "runtime", rs__json_runtime(&t->runtime), "schema",
          schema_origin_json(&t->reader_schema)));
  json_object_set_new(o, "run_id", cli_fix_text_or_null(r->run.run));
  /* The target's own row of the run, which its backup rows name (a target
   * split into parts: its first part's; "parts" lists them all). */
  json_object_set_new(o, "row_id", cli_fix_text_or_null(r->run.run_id));
  json_t *ids = rep->part_ids != NULL ? rep->part_ids[i] : NULL;
  json_object_set_new(o, "parts", ids != NULL ? json_incref(ids) : json_null());
  json_object_set_new(o, "executed", json_boolean(r->executed));
  json_object_set_new(o, "complete", json_boolean(r->complete));
  json_object_set_new(o, "interrupted", json_boolean(r->interrupted));
  const char *err = rep->status[i] != STORE_OK ? rep->errors[i]
                    : r->status != STORE_OK    ? r->error
                                               : NULL;
  json_object_set_new(o, "error", cli_fix_text_or_null(err));
  json_object_set_new(o, "rows_read", json_integer((json_int_t)r->rows_read));
  json_object_set_new(o, "passes", json_integer((json_int_t)r->passes));
  json_object_set_new(o, "rewritten",
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
  json_t *left = json_array();
  for (size_t k = 0; k < r->n_unsettled_keys; k++) {
    const fix_sample *u = &r->unsettled_keys[k];
    json_array_append_new(
        left, json_pack("{s:o,s:s}", "key", rs__json_key(u->key, u->key_parts),
                        "why", u->why));
  }
  json_object_set_new(o, "unsettled_keys", left);
  if (rep->restore)
    json_object_set_new(o, "restored_by_every_restore",
                        json_integer((json_int_t)r->run.restored));
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
  json_object_set_new(doc, "format_version",
                      json_integer(RS_REPORT_FORMAT_VERSION));
  json_object_set_new(doc, "command", json_string(rep->command));
  json_object_set_new(doc, "rollsafe_version", json_string(rs_version()));
  json_object_set_new(doc, "executed", json_boolean(rep->execute));
  json_object_set_new(doc, "complete", json_boolean(complete));
  json_object_set_new(doc, "run_id", cli_fix_text_or_null(rep->run_id));
  json_object_set_new(doc, "resume_command",
                      cli_fix_text_or_null(rep->next_command));
  json_object_set_new(doc, "note", cli_fix_text_or_null(rep->note));
  json_object_set_new(
      doc, "rewritten",
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
  if (r->unsettled > 0) {
    fprintf(out,
            "  INCOMPLETE %" PRIu64
            " messages still in flight or in conflict after %" PRIu64
            " passes%s\n",
            r->unsettled, r->passes,
            r->deadline_reached ? " (deadline reached)" : "");
    for (size_t k = 0; k < r->n_unsettled_keys; k++) {
      const fix_sample *u = &r->unsettled_keys[k];
      char *key = rs__key_text(u->key, u->key_parts);
      fprintf(out, "    %s%s%s: %s\n", u->key_position ? "" : t->target.key,
              u->key_position ? "" : " ", key != NULL ? key : u->key, u->why);
      free(key);
    }
  } else if (r->deadline_reached)
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

/* A sample of target @p ctx, named by its key column (a stream file's
 * record, or a position, names itself). */
static void sample_text(FILE *out, const fix_sample *fs, void *ctx) {
  const cli_target *t = ctx;
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
    if (r->run.run[0]) fprintf(out, "  run        %s\n", r->run.run);
    json_t *ids = rep->part_ids != NULL ? rep->part_ids[i] : NULL;
    for (size_t k = 0; k < json_array_size(ids); k++)
      fprintf(out, "%s%s", k == 0 ? "  parts      " : ", ",
              json_string_value(json_array_get(ids, k)));
    if (json_array_size(ids) > 0) fputc('\n', out);
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
    cli_fix_outcomes_text(out, r, rep->execute, sample_text, (void *)t);
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
    if (rep->restore && rep->execute && r->run.run[0])
      fprintf(out, "  restored by every restore of the run: %" PRId64 "\n",
              r->run.restored);
    if (r->status != STORE_OK) fprintf(out, "  ERROR      %s\n", r->error);
    if (r->interrupted)
      fprintf(out, "  INTERRUPTED%s\n",
              rep->execute
                  ? ""
                  : ": nothing was written; run the same command again");
  }
  if (rep->note != NULL) fprintf(out, "note: %s\n", rep->note);
  if (rep->next_command != NULL)
    fprintf(out, "%s: %s\n", rep->next_label, rep->next_command);
  return cli_fix_result_line(out, rep->exit_code, rep->reason);
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
  cli_fix_metrics_records_help(out);
  for (size_t i = 0; i < rep->n; i++)
    cli_fix_metrics_records(out, rep->targets[i].target.name, &rep->results[i]);
  cli_fix_metrics_remaining_help(out);
  for (size_t i = 0; i < rep->n; i++)
    cli_fix_metrics_remaining(out, rep->targets[i].target.name,
                              rep->results[i].remaining);
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
  return cli_fix_metrics_end(out, rep->exit_code);
}

/*
 * The sessions' limits: the command line's, else the config's (@p c, or
 * NULL), else the defaults. Writers wait for their locks up to the lock
 * timeout (default a minute) and stop waiting when the command is
 * interrupted; their statements are limited to 30 s unless told otherwise.
 * Reads (the dry run's) have no statement_timeout unless one is given.
 */
static void session_limits(const fix_args *a, const cli_config *c,
                           store_open_options *sopts,
                           store_write_options *wopts) {
  unsigned long lock = a->lock_timeout_ms, stmt = a->statement_timeout_ms;
  if (lock == 0 && c != NULL) lock = c->lock_timeout_ms;
  if (stmt == 0 && c != NULL) stmt = c->statement_timeout_ms;
  *sopts = (store_open_options){isatty(STDIN_FILENO), (int)stmt};
  *wopts = (store_write_options)STORE_WRITE_OPTIONS_INIT;
  if (lock != 0) wopts->lock_timeout_ms = (int)lock;
  if (stmt != 0) wopts->statement_timeout_ms = (int)stmt;
  wopts->interrupted = &cli_interrupted;
}

/* The same limits, for reading and purging a database's runs. */
static cli_run_limits run_limits(const fix_args *a, const cli_config *c) {
  cli_run_limits l;
  session_limits(a, c, &l.open, &l.write);
  return l;
}

/* The report to stdout or -o, as text or JSON, and --metrics: 0, or the
 * exit code of the first write that failed. */
static int write_report(const fix_args *a, fix_report *rep) {
  return cli_fix_write_report(rep->command, a->output, a->json, a->metrics,
                              write_text, write_json, write_metrics, rep);
}
/* ---- which targets, and which run ---------------------------------------- */

/* What a fix or restore works on: its targets, and for each the run's row
 * found for it (has_part), with what the run recorded. */
typedef struct plan {
  cli_target_set set;
  cli_run_part *parts; /* parallel to set.targets; n_parts allocated */
  size_t n_parts;
  /* A target the run split into parts (fix --jobs, --shard): parts[i] is
   * its first part's row, more[i] (n_more[i]) the others. */
  cli_run_part **more;
  size_t *n_more;
  int *has_part;
  unsigned *to_version; /* per target: the version written */
  int *allow_lossy;
  char run_id[40];        /* the run's id; "" for a dry fix */
  const char **run_names; /* the run's targets (a new run: set's) */
  size_t n_run_names;
  json_t *recorded_names; /* owns the names a found run recorded */
  /* Per target split into parts: the parts' row ids (JSON array), or
   * NULL. */
  json_t **part_ids;
  char note[1024];
} plan;

static void plan_free(plan *p) {
  for (size_t i = 0; p->more != NULL && i < p->n_parts; i++)
    cli_run_parts_free(p->more[i], p->n_more[i]);
  free(p->more);
  free(p->n_more);
  for (size_t i = 0; p->part_ids != NULL && i < p->n_parts; i++)
    json_decref(p->part_ids[i]);
  free(p->part_ids);
  cli_run_parts_free(p->parts, p->n_parts);
  free(p->has_part);
  free(p->to_version);
  free(p->allow_lossy);
  free(p->run_names);
  json_decref(p->recorded_names);
  cli_target_set_free(&p->set);
  memset(p, 0, sizeof *p);
}

static int plan_alloc(plan *p, size_t n, const char *cmd) {
  if (n == 0) n = 1;
  p->n_parts = n;
  p->parts = calloc(n, sizeof *p->parts);
  p->has_part = calloc(n, sizeof *p->has_part);
  p->to_version = calloc(n, sizeof *p->to_version);
  p->allow_lossy = calloc(n, sizeof *p->allow_lossy);
  p->run_names = calloc(n, sizeof *p->run_names);
  p->more = calloc(n, sizeof *p->more);
  p->n_more = calloc(n, sizeof *p->n_more);
  p->part_ids = calloc(n, sizeof *p->part_ids);
  if (p->parts == NULL || p->has_part == NULL || p->to_version == NULL ||
      p->allow_lossy == NULL || p->run_names == NULL || p->more == NULL ||
      p->n_more == NULL || p->part_ids == NULL) {
    cli_error(cmd, "out of memory");
    return CLI_EXIT_IO;
  }
  return 0;
}

/* The database a command line names, as a target for store_open_runs. */
static store_target db_of_args(const cli_target_args *a, char label[80]) {
  if (a->connection_env != NULL)
    snprintf(label, 80, "$%.70s", a->connection_env);
  return (store_target){a->name,
                        a->kind,
                        a->connection,
                        NULL,
                        NULL,
                        NULL,
                        NULL,
                        a->connection_env != NULL ? label : NULL,
                        NULL,
                        NULL,
                        NULL,
                        STORE_VALUES_STORED,
                        a->connection_env != NULL,
                        NULL};
}

/* Whether @p name is among @p names. */
static int named(const char *const *names, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(names[i], name) == 0) return 1;
  return 0;
}

/* Whether a database's row @p p is one the command line picks: its
 * --table (and --column), or the target --name names, and one of the
 * targets --target names; all of them when none is given. */
static int picked(const cli_run_part *p, const cli_target_args *t,
                  const char *const *names, size_t n_names) {
  store_target want = {t->name != NULL ? t->name : t->table,
                       t->kind,
                       NULL,
                       t->table,
                       NULL,
                       t->column,
                       NULL,
                       NULL,
                       NULL,
                       NULL,
                       NULL,
                       STORE_VALUES_STORED,
                       0,
                       NULL};
  int table = t->table == NULL || cli_run_is_target(p, &want) ||
              (t->name == NULL && strcmp(p->run.table, t->table) == 0 &&
               (t->column == NULL || strcmp(p->run.column, t->column) == 0));
  return table && (n_names == 0 || named(names, n_names, p->run.target));
}

static int json_names_have(const json_t *list, const char *name) {
  for (size_t i = 0; i < json_array_size(list); i++) {
    const char *v = json_string_value(json_array_get(list, i));
    if (v != NULL && strcmp(v, name) == 0) return 1;
  }
  return 0;
}

/* "a, b, c" of the names of @p list that @p have does not hold. */
static size_t names_missing(char *out, size_t size, const json_t *list,
                            const char *const *have, size_t n_have) {
  size_t missing = 0, used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < json_array_size(list); i++) {
    const char *v = json_string_value(json_array_get(list, i));
    if (v == NULL || named(have, n_have, v)) continue;
    int w = snprintf(out + used, size - used, "%s%s", missing ? ", " : "", v);
    if (w > 0 && (size_t)w < size - used) used += (size_t)w;
    missing++;
  }
  return missing;
}

/* Moves row @p p (a further part of a target split by fix --jobs or
 * --shard) to the end of *list. 0, or CLI_EXIT_IO (printed). */
static int more_part(cli_run_part **list, size_t *n, cli_run_part *p,
                     const char *cmd) {
  cli_run_part *grown = realloc(*list, (*n + 1) * sizeof *grown);
  if (grown == NULL) {
    cli_error(cmd, "out of memory");
    return CLI_EXIT_IO;
  }
  *list = grown;
  grown[(*n)++] = *p;
  p->settings = NULL;
  return 0;
}

/* Takes the run's target names from @p p (the first row with settings). */
static void plan_take_names(plan *pl, const cli_run_part *p) {
  if (pl->recorded_names != NULL) return;
  json_t *list = cli_run_targets(p);
  if (list == NULL) return;
  pl->recorded_names = json_deep_copy(list);
}

/* The run named by --resume or --run, in the config's targets. */
static int plan_config(plan *pl, fix_args *a, const char *cmd, int restore) {
  const char *run = restore ? a->run : a->resume;
  int status = cli_target_set_load(&pl->set, &a->t, cmd);
  if (status == 0)
    status = cli_target_set_narrow(&pl->set, a->names, a->n_names, cmd);
  if (status == 0) status = plan_alloc(pl, pl->set.n, cmd);
  if (status != 0) return status;
  status = kafka_handover(&pl->set, cmd);
  if (status != 0) return status;
  cli_run_limits limits = run_limits(a, pl->set.config);
  size_t found = 0;
  for (size_t i = 0; i < pl->set.n; i++) {
    cli_target *t = &pl->set.targets[i];
    /* Stream files and topics have no runs. */
    if (t->target.kind == STORE_STREAM_FILE ||
        t->target.kind == STORE_KAFKA_TOPIC)
      continue;
    cli_run_part *rows = NULL;
    size_t n = 0;
    status = cli_run_parts_of(&rows, &n, &t->target, run, NULL, &limits, cmd);
    if (status != 0) return status;
    for (size_t k = 0; k < n && status == 0; k++) {
      if (!cli_run_is_target(&rows[k], &t->target)) continue;
      if (pl->has_part[i]) {
        /* The target's further parts (fix --jobs, --shard). */
        if (cli_run_partition_of(&pl->parts[i], NULL) &&
            cli_run_partition_of(&rows[k], NULL))
          status = more_part(&pl->more[i], &pl->n_more[i], &rows[k], cmd);
        continue;
      }
      pl->parts[i] = rows[k];
      rows[k].settings = NULL;
      pl->has_part[i] = 1;
      found++;
      plan_take_names(pl, &pl->parts[i]);
    }
    cli_run_parts_free(rows, n);
    if (status != 0) return status;
  }
  if (found == 0)
    return cli_usage_error(cmd,
                           "no run '%s' for any %starget of %s (see "
                           "'" CLI_PROGRAM " runs -c %s')",
                           run, a->n_names ? "named " : "", a->t.config,
                           a->t.config);
  snprintf(pl->run_id, sizeof pl->run_id, "%s", run);
  /* The run's targets: those the run recorded (a target the run never
   * reached has no row yet), or, for a run an earlier rollsafe made, the
   * one that has it. */
  const char *keep[CLI_MAX_TARGET_NAMES];
  size_t n_keep = 0;
  for (size_t i = 0; i < pl->set.n && n_keep < CLI_MAX_TARGET_NAMES; i++) {
    const char *name = pl->set.targets[i].target.name;
    if (pl->has_part[i] || json_names_have(pl->recorded_names, name))
      keep[n_keep++] = name;
  }
  /* Targets of the run the config does not list are not reached: named
   * in a note (a config may list one target of a run on purpose). */
  if (pl->recorded_names != NULL && a->n_names == 0) {
    char missing[600];
    if (names_missing(missing, sizeof missing, pl->recorded_names, keep,
                      n_keep) > 0)
      snprintf(pl->note, sizeof pl->note,
               "run %s also covers %s, which %s does not list: %s them "
               "with the config the run was started with",
               run, missing, a->t.config, restore ? "restore" : "resume");
  }
  /* Keep the parts with their targets. */
  cli_run_part *parts = pl->parts;
  int *has = pl->has_part;
  char(*names)[128] = calloc(pl->set.n ? pl->set.n : 1, sizeof *names);
  if (names == NULL) {
    cli_error(cmd, "out of memory");
    return CLI_EXIT_IO;
  }
  size_t n_before = pl->set.n;
  for (size_t i = 0; i < n_before; i++)
    snprintf(names[i], sizeof names[i], "%s", pl->set.targets[i].target.name);
  status = cli_target_set_narrow(&pl->set, keep, n_keep, cmd);
  if (status == 0)
    for (size_t i = 0; i < pl->set.n; i++) {
      size_t k = 0;
      while (k < n_before &&
             strcmp(names[k], pl->set.targets[i].target.name) != 0)
        k++;
      cli_run_part moved = parts[k];
      int had = has[k];
      cli_run_part *more = pl->more[k];
      size_t n_more = pl->n_more[k];
      parts[k].settings = NULL;
      has[k] = 0;
      pl->more[k] = NULL;
      pl->n_more[k] = 0;
      parts[i] = moved;
      has[i] = had;
      pl->more[i] = more;
      pl->n_more[i] = n_more;
    }
  for (size_t i = pl->set.n; i < n_before; i++) {
    json_decref(parts[i].settings);
    parts[i].settings = NULL;
    cli_run_parts_free(pl->more[i], pl->n_more[i]);
    pl->more[i] = NULL;
    pl->n_more[i] = 0;
  }
  free(names);
  if (status != 0) return status;
  for (size_t i = 0; i < pl->set.n; i++)
    pl->run_names[pl->n_run_names++] = pl->set.targets[i].target.name;
  return 0;
}

/* The run named by --resume or --run, in the database the command line
 * names: every target of the run kept there, or those --table, --name and
 * --target pick. */
static int plan_database(plan *pl, fix_args *a, const char *cmd, int restore) {
  const char *run = restore ? a->run : a->resume;
  char label[80];
  store_target db = db_of_args(&a->t, label);
  cli_run_part *rows = NULL;
  size_t n = 0, kept = 0;
  char described[256] = "";
  cli_run_limits limits = run_limits(a, NULL);
  int status = cli_run_parts_of(&rows, &n, &db, run, described, &limits, cmd);
  if (status != 0) return status;
  /* Further parts of a target split by fix --jobs or --shard: kept with
   * the target's first part (of[k]: the index, in the rows kept, of the
   * first part of rows[k]'s target; -1 for a first part). */
  long *of = calloc(n ? n : 1, sizeof *of);
  if (of == NULL) {
    cli_run_parts_free(rows, n);
    cli_error(cmd, "out of memory");
    return CLI_EXIT_IO;
  }
  for (size_t k = 0; k < n; k++) {
    of[k] = -1;
    int keep = picked(&rows[k], &a->t, a->names, a->n_names);
    if (!keep) {
      json_decref(rows[k].settings);
      rows[k].settings = NULL;
      continue;
    }
    for (size_t j = 0; j < kept && cli_run_partition_of(&rows[k], NULL); j++)
      if (cli_run_partition_of(&rows[j], NULL) &&
          strcmp(rows[j].run.target, rows[k].run.target) == 0) {
        of[kept] = (long)j;
        break;
      }
    cli_run_part moved = rows[k];
    rows[k].settings = NULL;
    rows[kept++] = moved;
  }
  if (kept == 0) {
    free(of);
    cli_run_parts_free(rows, n);
    char where[200] = "";
    if (a->t.table != NULL)
      snprintf(where, sizeof where, " for table %s", a->t.table);
    return cli_usage_error(
        cmd, "no run '%s' in %s%s (see '" CLI_PROGRAM " runs')", run,
        db.connection_label ? db.connection_label : db.connection, where);
  }
  snprintf(pl->run_id, sizeof pl->run_id, "%s", run);
  /* A row an earlier rollsafe wrote records no settings: the command
   * line's target options stand in for them, as they always did (a
   * restore needs no record type). */
  if (kept == 1 && rows[0].settings == NULL && a->t.table != NULL &&
      a->t.column != NULL && (restore || a->t.type != NULL)) {
    free(of);
    status = plan_alloc(pl, 1, cmd);
    if (status != 0) {
      cli_run_parts_free(rows, n);
      return status;
    }
    pl->parts[0] = rows[0];
    rows[0].settings = NULL;
    pl->has_part[0] = 1;
    cli_run_parts_free(rows, n);
    store_kind kind = a->t.kind;
    if (a->t.queue)
      kind = kind == STORE_SQLITE_TABLE ? STORE_SQLITE_QUEUE
                                        : STORE_POSTGRES_QUEUE;
    cli_target_spec spec = {
        {a->t.name != NULL ? a->t.name : a->t.table, kind, db.connection,
         a->t.table, a->t.key, a->t.column, a->t.where, db.connection_label,
         a->t.state_column, a->t.pending_states, a->t.in_flight_states,
         STORE_VALUES_BINARY, db.password_allowed, NULL},
        a->t.type,
        a->t.reader_version,
        a->t.framing < 0 ? RS_READER_FRAMING_DEFAULT : a->t.framing,
        a->t.raw_writer < 0 ? 0u : (unsigned)a->t.raw_writer,
        a->t.schema_ids,
        a->t.n_schema_ids,
        a->t.column_encoding < 0 ? COLENC_BINARY
                                 : (colenc_kind)a->t.column_encoding};
    status = cli_target_set_from_specs(&pl->set, &a->t, &spec, 1, !restore,
                                       NULL, cmd);
    if (status == 0)
      pl->run_names[pl->n_run_names++] = pl->set.targets[0].target.name;
    return status;
  }
  /* The targets borrow their strings from the parts: the parts move into
   * the plan first. */
  size_t firsts = 0;
  for (size_t k = 0; k < kept; k++) firsts += of[k] < 0;
  status = plan_alloc(pl, firsts, cmd);
  size_t *slot = calloc(kept ? kept : 1, sizeof *slot);
  if (status == 0 && slot == NULL) {
    cli_error(cmd, "out of memory");
    status = CLI_EXIT_IO;
  }
  size_t placed = 0;
  for (size_t k = 0; status == 0 && k < kept; k++) {
    if (of[k] >= 0) {
      size_t i = slot[of[k]];
      status = more_part(&pl->more[i], &pl->n_more[i], &rows[k], cmd);
      continue;
    }
    slot[k] = placed;
    pl->parts[placed] = rows[k];
    rows[k].settings = NULL;
    pl->has_part[placed] = 1;
    plan_take_names(pl, &pl->parts[placed]);
    placed++;
  }
  free(slot);
  free(of);
  cli_run_parts_free(rows, n);
  if (status != 0) return status;
  kept = firsts;
  cli_target_spec *specs = calloc(kept, sizeof *specs);
  char(*hints)[1200] = calloc(kept, sizeof *hints);
  const char **hint_of = calloc(kept, sizeof *hint_of);
  if (specs == NULL || hints == NULL || hint_of == NULL) {
    free(specs);
    free(hints);
    free(hint_of);
    cli_error(cmd, "out of memory");
    return CLI_EXIT_IO;
  }
  for (size_t k = 0; k < kept && status == 0; k++) {
    status = cli_run_spec(&specs[k], &pl->parts[k], &db, cmd);
    cli_run_type_hint(hints[k], sizeof hints[k], &pl->parts[k]);
    hint_of[k] = hints[k];
  }
  if (status == 0)
    status = cli_target_set_from_specs(&pl->set, &a->t, specs, kept, !restore,
                                       hint_of, cmd);
  free(specs);
  free(hints);
  free(hint_of);
  if (status != 0) return status;
  for (size_t k = 0; k < kept; k++)
    pl->run_names[pl->n_run_names++] = pl->set.targets[k].target.name;
  /* The run's targets kept in other databases: this command does not
   * reach them. */
  char missing[600];
  if (names_missing(missing, sizeof missing, pl->recorded_names, pl->run_names,
                    pl->n_run_names) > 0 &&
      a->n_names == 0 && a->t.table == NULL) {
    const char *cfg = cli_run_str(&pl->parts[0], "config");
    snprintf(pl->note, sizeof pl->note,
             "run %s also covers %s, in other databases; %s them with -c "
             "%s, or with each one's database",
             run, missing, restore ? "restore" : "resume",
             cfg != NULL ? cfg : "CONFIG");
  }
  return 0;
}

/* The target options a command line gave, as a target to compare with
 * what a run recorded (plan_database). */
static cli_target given_target(const cli_target_args *a, const cli_target *t) {
  cli_target g = *t;
  store_kind family_queue = t->target.kind == STORE_SQLITE_TABLE ||
                                    t->target.kind == STORE_SQLITE_QUEUE
                                ? STORE_SQLITE_QUEUE
                                : STORE_POSTGRES_QUEUE;
  store_kind family_table = family_queue == STORE_SQLITE_QUEUE
                                ? STORE_SQLITE_TABLE
                                : STORE_POSTGRES_TABLE;
  g.target.kind = a->queue ? family_queue : family_table;
  if (a->table != NULL) g.target.table = a->table;
  if (a->column != NULL) g.target.column = a->column;
  g.target.key = a->key;
  g.target.where = a->where;
  g.target.state_column = a->state_column;
  g.target.pending_states = a->pending_states;
  g.target.in_flight_states = a->in_flight_states;
  g.type = a->type;
  g.reader_version = a->reader_version;
  g.framing = a->framing > 0 ? (rs_reader_framing)a->framing : t->framing;
  g.raw_writer = a->raw_writer >= 0 ? (unsigned)a->raw_writer : 0;
  g.schema_ids = a->schema_ids;
  g.n_schema_ids = a->n_schema_ids;
  if (a->column_encoding >= 0)
    g.column_encoding = (colenc_kind)a->column_encoding;
  return g;
}

/* A target whose type is not loaded (a restore given only the database
 * and the run): its schema as the run recorded it, borrowed from the
 * run's settings. */
static void recorded_origin(cli_target *t, const cli_run_part *p) {
  if (t->reader_schema.source != SCHEMA_UNKNOWN || p->settings == NULL) return;
  json_t *files = json_object_get(p->settings, "schemas");
  json_t *plugins = json_object_get(p->settings, "plugins");
  if (t->reader_version >= 1 && json_array_size(files) >= t->reader_version) {
    t->reader_schema.source = SCHEMA_FILE;
    t->reader_schema.path =
        json_string_value(json_array_get(files, t->reader_version - 1));
  } else if (json_array_size(plugins) > 0) {
    t->reader_schema.source = SCHEMA_PLUGIN;
    t->reader_schema.path = json_string_value(json_array_get(plugins, 0));
  } else {
    return;
  }
  char key[16];
  snprintf(key, sizeof key, "%u", t->reader_version);
  const char *fp = json_string_value(
      json_object_get(json_object_get(p->settings, "fingerprints"), key));
  if (fp != NULL && strlen(fp) < sizeof t->reader_schema.fingerprint)
    memcpy(t->reader_schema.fingerprint, fp, strlen(fp) + 1);
  t->reader_schema.recorded = 1;
}

/* Finds the run and checks every target against what it recorded. */
static int plan_run(plan *pl, fix_args *a, const char *cmd, int restore) {
  int status = a->t.config != NULL ? plan_config(pl, a, cmd, restore)
                                   : plan_database(pl, a, cmd, restore);
  /* The run's own options, for a target it has not reached: the version
   * written and --allow-lossy apply to every target of a fix. */
  unsigned run_to_version = a->to_version;
  int run_lossy = a->allow_lossy;
  for (size_t i = 0; status == 0 && i < pl->set.n; i++) {
    cli_run_part *p = &pl->parts[i];
    if (!pl->has_part[i] || p->settings == NULL) continue;
    json_t *v = json_object_get(p->settings, "to_version");
    if (a->to_version == 0 && json_is_integer(v))
      run_to_version = (unsigned)json_integer_value(v);
    run_lossy |= json_is_true(json_object_get(p->settings, "allow_lossy"));
    break;
  }
  for (size_t i = 0; status == 0 && i < pl->set.n; i++) {
    cli_target *t = &pl->set.targets[i];
    pl->to_version[i] = run_to_version;
    pl->allow_lossy[i] = run_lossy;
    if (!pl->has_part[i]) continue;
    cli_run_given g;
    cli_run_given_of(&g, a->t.config != NULL ? &pl->set : NULL, &a->t, t);
    g.to_version = a->to_version != 0;
    g.allow_lossy = a->allow_lossy;
    cli_target given = a->t.config != NULL ? *t : given_target(&a->t, t);
    cli_target *checked = a->t.config != NULL ? t : &given;
    status = cli_run_check(&pl->parts[i], checked, &g, &pl->set, !restore,
                           a->to_version, a->allow_lossy, &pl->to_version[i],
                           &pl->allow_lossy[i], cmd);
    if (status == 0) recorded_origin(t, &pl->parts[i]);
  }
  return status;
}

/* A new fix: its targets, and for --execute a new run over them. */
static int plan_new(plan *pl, fix_args *a, const char *cmd) {
  int status = cli_target_set_load(&pl->set, &a->t, cmd);
  if (status == 0)
    status = cli_target_set_narrow(&pl->set, a->names, a->n_names, cmd);
  if (status == 0) status = plan_alloc(pl, pl->set.n, cmd);
  if (status != 0) return status;
  for (size_t i = 0; i < pl->set.n; i++) {
    pl->to_version[i] = a->to_version;
    pl->allow_lossy[i] = a->allow_lossy;
    /* Stream files are fixed into new files: no run rows. */
    if (pl->set.targets[i].target.kind != STORE_STREAM_FILE)
      pl->run_names[pl->n_run_names++] = pl->set.targets[i].target.name;
  }
  if (a->execute && pl->n_run_names > 0 && a->run != NULL)
    snprintf(pl->run_id, sizeof pl->run_id, "%s", a->run);
  else if (a->execute && pl->n_run_names > 0)
    fix_run_id_new(pl->run_id);
  return 0;
}

/* The row id of a new row of run @p pl->run_id in @p s's database: the
 * run's id for its first target there, then ID/2, ID/3, ... */
static int new_row_id(char out[40], store *s, const char *run,
                      store_error *err) {
  store_run *rows = NULL;
  size_t n = 0;
  int rc = store_run_parts(s, run, &rows, &n, err);
  if (rc != STORE_OK) return rc;
  for (unsigned k = 1;; k++) {
    if (k == 1)
      snprintf(out, 40, "%s", run);
    else
      snprintf(out, 40, "%.30s/%u", run, k);
    int taken = 0;
    for (size_t i = 0; i < n && !taken; i++)
      taken = strcmp(rows[i].run_id, out) == 0;
    if (!taken) break;
  }
  free(rows);
  return STORE_OK;
}

/* ---- the parts of a target: fix --jobs, --shard ----------------------------
 */

/* One part of a target, on its own connection and thread. */
typedef struct part_job {
  store *s;
  fix_options o;
  store_run run; /* the part's row: new, or as the run left it */
  int run_it;    /* 0: the part is over, its record is its result */
  int restore;
  const store_target *target;
  fix_result result;
  rs_error err;
  int rc;
} part_job;

static void *part_main(void *arg) {
  part_job *j = arg;
  j->rc = j->restore ? fix_restore(&j->result, j->s, &j->o, &j->err)
                     : fix_target(&j->result, j->s, j->target, &j->o, &j->err);
  return NULL;
}

/* Where a target is in the run's list of targets, which names its parts'
 * rows the same way in every shard's process. */
static size_t run_target_index(const plan *pl, const char *name) {
  for (size_t k = 0; k < json_array_size(pl->recorded_names); k++) {
    const char *v = json_string_value(json_array_get(pl->recorded_names, k));
    if (v != NULL && strcmp(v, name) == 0) return k;
  }
  for (size_t k = 0; k < pl->n_run_names; k++)
    if (strcmp(pl->run_names[k], name) == 0) return k;
  return 0;
}

/* What the command gives one target split into parts. */
typedef struct parts_in {
  fix_args *a;
  const char *cmd;
  int restore;
  plan *pl;
  size_t i; /* the target's index in pl */
  cli_target *t;
  const fix_options *tmpl; /* the target's options; run and part set here */
  const store_open_options *sopts;
  const store_write_options *wopts;
  cli_run_context *ctx;
  int continuing; /* a restore going on with an unfinished one */
  unsigned jobs;
} parts_in;

/* Makes or finds part @p index of @p count of a new split, on @p j's
 * store: a row the same command made before (a shard's process started
 * again) goes on as a resume. 0, or an exit code (printed). */
static int new_part(part_job *j, const parts_in *in,
                    const cli_run_partition *pt, store_error *serr) {
  fix_args *a = in->a;
  unsigned index = pt->index, count = pt->count;
  char row_id[64];
  int w = snprintf(row_id, sizeof row_id, "%s.t%zu.p%uof%u", in->pl->run_id,
                   run_target_index(in->pl, in->t->target.name), index, count);
  if (w < 0 || (size_t)w >= sizeof j->run.run_id)
    return cli_usage_error(in->cmd,
                           "target '%s': the row id of part %u of %u does "
                           "not fit (%s)",
                           in->t->target.name, index, count, row_id);
  cli_run_context ctx = *in->ctx;
  ctx.part_index = index;
  ctx.part_count = count;
  ctx.shard_index = pt->shard;
  ctx.shard_count = pt->shards;
  int rc = cli_run_new_part(&j->run, in->pl->run_id, row_id, &in->pl->set,
                            &a->t, in->t, &ctx, in->cmd);
  if (rc != 0) return rc;
  store_run *had = malloc(sizeof *had);
  if (had == NULL) {
    cli_error(in->cmd, "out of memory");
    return CLI_EXIT_IO;
  }
  int st = store_run_load(j->s, row_id, had, serr);
  if (st == STORE_EUSAGE) {
    free(had);
    return 0;
  }
  if (st != STORE_OK) {
    free(had);
    return -1;
  }
  if (strcmp(had->settings, j->run.settings) != 0) {
    free(had);
    return cli_usage_error(in->cmd,
                           "target '%s': run %s already has part %s, made "
                           "with other options; go on with it with --resume "
                           "%s --shard %u/%u",
                           in->t->target.name, in->pl->run_id, row_id,
                           in->pl->run_id, pt->shard, pt->shards);
  }
  /* The same command again: the part goes on where it stopped. */
  j->run = *had;
  free(had);
  j->o.resume = 1;
  return 0;
}

/*
 * Runs a target split into parts (fix --jobs N, --shard K/N, or a run made
 * so): each part on its own connection and thread, with its own run row,
 * checkpoint, counts and backups; their results merged into *out as one
 * target's. A new split makes parts K + N*j of N*jobs (N, K: --shard, else
 * 1 and 0), so that shards given different --jobs still cover the target
 * once. A resume (or restore) takes the parts the run recorded, those of
 * --shard K/N only when it is given. @return 0 (what failed is in *st,
 * @p errmsg or *out), or an exit code for a usage error (printed).
 */
static int run_parts(fix_result *out, int *st, char errmsg[512],
                     int *codec_failed, const parts_in *in) {
  fix_args *a = in->a;
  plan *pl = in->pl;
  size_t i = in->i;
  cli_target *t = in->t;
  /* The parts: those the run recorded (p), and those of a new split, or
   * of a recorded one whose process was stopped before it made them all
   * (p NULL: made now). */
  size_t n_recorded = pl->has_part[i] ? 1 + pl->n_more[i] : 0;
  size_t cap = n_recorded;
  for (size_t k = 0; k < n_recorded; k++) {
    cli_run_partition pt;
    const cli_run_part *p = k == 0 ? &pl->parts[i] : &pl->more[i][k - 1];
    if (cli_run_partition_of(p, &pt))
      cap += pt.count / (pt.shards ? pt.shards : 1);
  }
  if (n_recorded == 0) cap = in->jobs;
  part_job *jobs = calloc(cap ? cap : 1, sizeof *jobs);
  const cli_run_part **recorded = calloc(cap ? cap : 1, sizeof *recorded);
  cli_run_partition *pts = calloc(cap ? cap : 1, sizeof *pts);
  json_t *ids = json_array();
  if (jobs == NULL || recorded == NULL || pts == NULL || ids == NULL) {
    free(jobs);
    free(recorded);
    free(pts);
    json_decref(ids);
    cli_error(in->cmd, "out of memory");
    return CLI_EXIT_IO;
  }
  size_t n_specs = 0;
  for (size_t k = 0; k < n_recorded; k++) {
    const cli_run_part *p = k == 0 ? &pl->parts[i] : &pl->more[i][k - 1];
    cli_run_partition pt;
    if (!cli_run_partition_of(p, &pt)) continue;
    if (!in->restore && a->shard_count &&
        (pt.shards != a->shard_count || pt.shard != a->shard_index))
      continue;
    recorded[n_specs] = p;
    pts[n_specs++] = pt;
  }
  /* A fix goes on with every part of each split it found: a part whose
   * row was never made (the process stopped between two) is made now.
   * A restore has nothing to do for it. */
  for (size_t k = 0, found = n_specs; !in->restore && k < found; k++) {
    unsigned shards = pts[k].shards ? pts[k].shards : 1;
    for (unsigned idx = pts[k].shard; idx < pts[k].count; idx += shards) {
      int have = 0;
      for (size_t m = 0; m < n_specs && !have; m++)
        have = pts[m].index == idx && pts[m].count == pts[k].count &&
               pts[m].shards == pts[k].shards;
      if (have || n_specs == cap) continue;
      recorded[n_specs] = NULL;
      pts[n_specs++] =
          (cli_run_partition){idx, pts[k].count, pts[k].shard, pts[k].shards};
    }
  }
  /* In the order of their row ids (part index), whatever order the runs
   * table gives them in: the report lists them so. */
  for (size_t k = 1; k < n_specs; k++)
    for (size_t m = k; m > 0 && (pts[m].count < pts[m - 1].count ||
                                 (pts[m].count == pts[m - 1].count &&
                                  pts[m].index < pts[m - 1].index));
         m--) {
      cli_run_partition tp = pts[m];
      const cli_run_part *tr = recorded[m];
      pts[m] = pts[m - 1];
      recorded[m] = recorded[m - 1];
      pts[m - 1] = tp;
      recorded[m - 1] = tr;
    }
  if (n_recorded == 0) {
    unsigned shards = a->shard_count ? a->shard_count : 1;
    for (unsigned k = 0; k < in->jobs; k++)
      pts[n_specs++] =
          (cli_run_partition){a->shard_index + shards * k, shards * in->jobs,
                              a->shard_index, a->shard_count};
  }
  size_t n = 0;
  int status = 0;
  store_error serr = {STORE_OK, ""};
  for (size_t k = 0; k < n_specs && status == 0; k++) {
    const cli_run_part *p = recorded[k];
    cli_run_partition pt = pts[k];
    part_job *j = &jobs[n++];
    j->o = *in->tmpl;
    j->o.run = &j->run;
    j->o.part_index = pt.index;
    j->o.part_count = pt.count;
    /* One progress line cannot follow several threads. */
    j->o.progress = NULL;
    j->o.progress_ctx = NULL;
    j->restore = in->restore;
    j->target = &t->target;
    j->run_it = 1;
    int rc = store_open_writer(&j->s, &t->target, in->sopts, in->wopts, &serr);
    if (rc != STORE_OK) {
      j->s = NULL;
      *st = rc;
      break;
    }
    if (n == 1) cli_target_use_key(t, j->s);
    if (p != NULL) {
      j->run = p->run;
      j->o.resume = 1;
    } else {
      rc = new_part(j, in, &pt, &serr);
      if (rc < 0) {
        *st = serr.status != STORE_OK ? serr.status : STORE_EIO;
        break;
      }
      if (rc != 0) {
        status = rc;
        break;
      }
    }
    json_array_append_new(ids, json_string(j->run.run_id));
    if (!in->restore && strcmp(j->run.status, "done") == 0) {
      fix_result_from_run(&j->result, &j->run, 0);
      j->run_it = 0;
    } else if (in->restore && in->continuing &&
               !fix_restore_unfinished(&j->run) &&
               strcmp(j->run.restore_status, "done") == 0) {
      fix_result_from_run(&j->result, &j->run, 1);
      j->result.executed = a->execute;
      j->run_it = 0;
    }
  }
  if (status == 0 && *st == STORE_OK && n == 0)
    status = cli_usage_error(
        in->cmd, "target '%s': run %s has no part of shard %u/%u",
        t->target.name, pl->run_id, a->shard_index, a->shard_count);
  if (status == 0 && *st == STORE_OK) {
    /* --max-rate is the target's: the parts that run share it. */
    size_t running = 0;
    for (size_t k = 0; k < n; k++) running += jobs[k].run_it;
    for (size_t k = 0; k < n && running > 1; k++)
      jobs[k].o.max_rate = in->tmpl->max_rate / (double)running;
    pthread_t *threads = calloc(n, sizeof *threads);
    int *started = calloc(n, sizeof *started);
    pthread_attr_t attr;
    int have_attr = pthread_attr_init(&attr) == 0;
    /* fix_target keeps a run row (tens of KiB) on its stack. */
    if (have_attr) pthread_attr_setstacksize(&attr, 16u << 20);
    for (size_t k = 0; k < n; k++) {
      if (!jobs[k].run_it) continue;
      if (threads != NULL && started != NULL &&
          pthread_create(&threads[k], have_attr ? &attr : NULL, part_main,
                         &jobs[k]) == 0)
        started[k] = 1;
      else
        part_main(&jobs[k]); /* no thread: the part runs here, in turn */
    }
    for (size_t k = 0; k < n; k++)
      if (started != NULL && started[k]) pthread_join(threads[k], NULL);
    if (have_attr) pthread_attr_destroy(&attr);
    free(threads);
    free(started);
    for (size_t k = 0; k < n; k++) {
      if (jobs[k].rc != 0) {
        cli_error(in->cmd, "target '%s': part %s: %s", t->target.name,
                  jobs[k].run.run_id, jobs[k].err.message);
        *codec_failed = 1;
      }
      if (fix_result_merge(out, &jobs[k].result, k == 0,
                           in->tmpl->max_samples) != 0) {
        cli_error(in->cmd, "out of memory");
        *codec_failed = 1;
      }
    }
  } else if (*st != STORE_OK) {
    memcpy(errmsg, serr.message, 512);
    cli_error(in->cmd, "%s", serr.message);
  }
  for (size_t k = 0; k < n; k++) {
    fix_result_dispose(&jobs[k].result);
    store_close(jobs[k].s);
  }
  free(jobs);
  free(recorded);
  free(pts);
  if (status == 0 && *st == STORE_OK)
    pl->part_ids[i] = ids;
  else
    json_decref(ids);
  return status;
}

/* ---- fix and restore ------------------------------------------------------
 */

/* A PostgreSQL fix that connected again after losing its server says so. */
static void note_reconnects(const char *cmd, const char *target,
                            const fix_result *r) {
  if (r->reconnects > 0)
    cli_error(cmd,
              "note: target '%s': the connection to the server was lost %u "
              "time%s; connected again, it went on from the run's last "
              "committed batch",
              target, r->reconnects, r->reconnects == 1 ? "" : "s");
}

static int run_writing(fix_args *a, const char *cmd, int restore) {
  plan pl;
  memset(&pl, 0, sizeof pl);
  int reported = 0;
  fix_result *results = NULL;
  int *st = NULL;
  char(*errors)[512] = NULL;
  size_t n = 0;
  int by_run = restore || a->resume != NULL;
  int status = by_run ? plan_run(&pl, a, cmd, restore) : plan_new(&pl, a, cmd);
  if (status != 0) goto done;
  cli_target *targets = pl.set.targets;
  n = pl.set.n;
  status = kafka_handover(&pl.set, cmd);
  if (status != 0) goto done;
  const rs_registry *reg = pl.set.registry;
  rs_error err = RS_ERROR_INIT;
  results = calloc(n ? n : 1, sizeof *results);
  st = calloc(n ? n : 1, sizeof *st);
  errors = calloc(n ? n : 1, sizeof *errors);
  if (results == NULL || st == NULL || errors == NULL) {
    cli_error(cmd, "out of memory");
    status = CLI_EXIT_IO;
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
    unsigned to = pl.to_version[i] ? pl.to_version[i] : t->reader_version;
    if (t->framing == RS_READER_FRAMING_CONFLUENT && to <= t->newest)
      status = cli_target_schema_id_for(t, to, cmd);
  }
  if (status != 0) goto done;
  const cli_config *cfg = pl.set.config;
  unsigned max_passes = (unsigned)a->max_passes;
  if (max_passes == 0 && cfg != NULL && cfg->has_max_passes)
    max_passes = cfg->max_passes;
  double in_flight_wait = a->has_in_flight_wait ? a->in_flight_wait
                          : cfg != NULL && cfg->has_in_flight_wait
                              ? cfg->in_flight_wait
                              : DEFAULT_IN_FLIGHT_WAIT;
  cli_run_context ctx = {
      pl.run_names, pl.n_run_names, a->t.config, 0, 0, 0, 0, 0, 0};
  cli_interrupt_saved saved;
  cli_interrupt_install(&saved);
  progress prog;
  progress_init(&prog, cli_quiet ? NULL : stderr);
  store_open_options sopts;
  store_write_options wopts;
  session_limits(a, pl.set.config, &sopts, &wopts);
  int codec_failed = 0;
  /* A restore of a run whose last restore stopped before its end, or left
   * messages in flight, goes on with it: the targets it finished are not
   * restored again. */
  int continuing = 0;
  for (size_t i = 0; restore && i < n; i++)
    for (size_t k = 0; pl.has_part[i] && k <= pl.n_more[i]; k++) {
      const store_run *run = k == 0 ? &pl.parts[i].run : &pl.more[i][k - 1].run;
      continuing |= fix_restore_unfinished(run) ||
                    strcmp(run->restore_status, "incomplete") == 0;
    }
  /* --jobs (or the config's jobs): the parts of each table a new fix
   * splits, each on its own connection and thread. */
  unsigned jobs = a->jobs ? a->jobs : cfg != NULL && cfg->jobs ? cfg->jobs : 1;
  /* One deadline for the whole command, whatever the number of targets. */
  double deadline_at = verify_now_seconds() + a->deadline_s;
  for (size_t i = 0; i < n && !cli_interrupted; i++) {
    cli_target *t = &targets[i];
    unsigned to = pl.to_version[i] ? pl.to_version[i] : t->reader_version;
    if (!restore && to > t->newest) {
      status = cli_usage_error(cmd, "%s has no format version %u", t->type, to);
      break;
    }
    int stream = t->target.kind == STORE_STREAM_FILE;
    if (stream && by_run) {
      status = cli_usage_error(
          cmd,
          "target '%s' is a stream file: a fix never edits it, and the "
          "original stays as the backup, so there is nothing to %s",
          t->target.name, restore ? "restore" : "resume");
      break;
    }
    cli_run_part *part = &pl.parts[i];
    int splittable = !stream && t->target.kind != STORE_KAFKA_TOPIC;
    int was_split = pl.has_part[i] && cli_run_partition_of(part, NULL);
    if (a->shard_count > 0 && (!splittable || (pl.has_part[i] && !was_split))) {
      status = cli_usage_error(
          cmd, "target '%s': %s", t->target.name,
          !splittable ? "--shard applies to tables and queues"
                      : "the run did not split it into shards: resume it "
                        "without --shard");
      break;
    }
    /* SQLite takes one writer at a time: parts of one file only take
     * turns for its write lock, and their extra commits made the fix
     * slower, never faster (docs/scale.md, measured). A SQLite target is
     * one part of the run (or of its shard). */
    unsigned target_jobs = jobs;
    int sqlite = t->target.kind == STORE_SQLITE_TABLE ||
                 t->target.kind == STORE_SQLITE_QUEUE;
    if (sqlite && jobs > 1 && a->execute && !restore && !pl.has_part[i]) {
      target_jobs = 1;
      cli_error(cmd,
                "note: target '%s': SQLite takes one writer at a time, so it "
                "is fixed as one part, whatever --jobs (see docs/scale.md)",
                t->target.name);
    }
    int split =
        was_split || (splittable && a->execute && !restore && !pl.has_part[i] &&
                      (target_jobs > 1 || a->shard_count > 0));
    /* A resumed run's target that is done already: its record is its
     * report. A restore of a target the run never reached: nothing. */
    if (by_run && pl.has_part[i] && !restore && !was_split &&
        strcmp(part->run.status, "done") == 0) {
      fix_result_from_run(&results[i], &part->run, 0);
      continue;
    }
    /* A restore that goes on with one a process left unfinished: the
     * targets its last restore finished are reported as it left them. */
    if (restore && continuing && pl.has_part[i] && !was_split &&
        !fix_restore_unfinished(&part->run) &&
        strcmp(part->run.restore_status, "done") == 0) {
      fix_result_from_run(&results[i], &part->run, 1);
      results[i].executed = a->execute;
      continue;
    }
    if (restore && !pl.has_part[i]) {
      results[i].complete = 1;
      results[i].executed = a->execute;
      continue;
    }
    int queue = store_kind_is_queue(t->target.kind);
    fix_options o = {.registry = reg,
                     .type = t->type,
                     .reader = cli_target_reader(t),
                     .schema_ids = t->schema_ids,
                     .n_schema_ids = t->n_schema_ids,
                     .to_version = to,
                     .column_encoding = t->column_encoding,
                     .execute = a->execute,
                     .allow_lossy = pl.allow_lossy[i],
                     .batch = a->batch ? a->batch : 500,
                     .max_rate = a->max_rate,
                     .max_passes = max_passes ? max_passes
                                   : queue    ? 10
                                              : 3,
                     .queue = queue,
                     .in_flight_wait = in_flight_wait,
                     .deadline = a->deadline_s > 0 ? deadline_at : 0,
                     .stream_output = a->fixed_output != NULL ? a->fixed_output
                                                              : t->fixed_output,
                     .drop_unfixable = a->drop_unfixable,
                     /* the store gives way and retries itself, until
                      * the lock timeout (store_write_options) */
                     .max_busy_retries = 0,
                     .max_samples = a->samples,
                     .run = &part->run,
                     .resume = pl.has_part[i],
                     .interrupted = &cli_interrupted,
                     .progress = progress_update,
                     .progress_ctx = &prog};
    /* A dry run of one shard judges that shard's rows only. */
    if (!a->execute && a->shard_count > 0) {
      o.part_index = a->shard_index;
      o.part_count = a->shard_count;
    }
    /* A restore puts back the stored values it kept, text or bytes, as they
     * were: whatever the column encoding, the column takes them. */
    if (restore) t->target.values = STORE_VALUES_STORED;
    if (split) {
      ctx.to_version = to;
      ctx.allow_lossy = pl.allow_lossy[i];
      parts_in in = {a,  cmd,    restore, &pl,  i,          t,
                     &o, &sopts, &wopts,  &ctx, continuing, target_jobs};
      status = run_parts(&results[i], &st[i], errors[i], &codec_failed, &in);
      if (status != 0) break;
      note_reconnects(cmd, t->target.name, &results[i]);
      if (st[i] == STORE_OK && results[i].status != STORE_OK)
        cli_fix_target_error(cmd, t->target.name, results[i].error);
      continue;
    }
    store *s = NULL;
    store_error serr = {STORE_OK, ""};
    /* A dry fix only reads: no tables are created, nothing is written. */
    int rc = (a->execute || restore) && !stream
                 ? store_open_writer(&s, &t->target, &sopts, &wopts, &serr)
                 : store_open(&s, &t->target, &sopts, &serr);
    if (rc == STORE_OK && !stream) cli_target_use_key(t, s);
    /* A target of a new run, or one the run had not reached: its row. */
    if (rc == STORE_OK && a->execute && !restore && !stream &&
        !pl.has_part[i]) {
      char row_id[40];
      ctx.to_version = to;
      ctx.allow_lossy = pl.allow_lossy[i];
      rc = new_row_id(row_id, s, pl.run_id, &serr);
      if (rc == STORE_OK &&
          cli_run_new_part(&part->run, pl.run_id, row_id, &pl.set, &a->t, t,
                           &ctx, cmd) != 0) {
        rc = STORE_EUSAGE;
        snprintf(serr.message, sizeof serr.message,
                 "target '%s': the run's settings do not fit", t->target.name);
      }
    }
    if (rc != STORE_OK) {
      st[i] = rc;
      memcpy(errors[i], serr.message, sizeof errors[i]);
      cli_error(cmd, "%s", serr.message);
      store_close(s);
      continue;
    }
    progress_start(&prog, t->target.name, -1);
    rc = restore  ? fix_restore(&results[i], s, &o, &err)
         : stream ? fix_stream(&results[i], s, &t->target, &o, &err)
                  : fix_target(&results[i], s, &t->target, &o, &err);
    progress_end(&prog);
    note_reconnects(cmd, t->target.name, &results[i]);
    if (results[i].status != STORE_OK)
      cli_fix_target_error(cmd, t->target.name, results[i].error);
    if (rc != 0) {
      cli_error(cmd, "target '%s': %s", t->target.name, err.message);
      codec_failed = 1;
    }
    store_close(s);
  }
  cli_interrupt_restore(&saved);
  if (status == 0) {
    int usage = 0, io = codec_failed, incomplete = cli_interrupted != 0,
        found = 0, unfinished = 0, unsettled = 0;
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
      /* A target the loop never reached (interrupted before it). */
      int reached = r->executed || r->complete || r->interrupted ||
                    s != STORE_OK || r->passes > 0 || r->run.run[0];
      incomplete |= !reached;
      unfinished |= !reached || r->interrupted || s != STORE_OK ||
                    (!r->complete && r->unsettled == 0 && !r->deadline_reached);
      unsettled |= r->unsettled > 0 || r->deadline_reached;
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
    /* What goes on with the run: the exact command, for a run that did
     * not end (interrupted, failed, killed, messages left in flight). */
    char next[4096] = "";
    const char *label = NULL;
    if (a->execute && pl.run_id[0] && !usage && (unfinished || unsettled)) {
      /* The type's source a resume needs: a row's settings. */
      const cli_run_part *first = NULL;
      cli_run_part from_result;
      memset(&from_result, 0, sizeof from_result);
      for (size_t i = 0; i < n && first == NULL; i++)
        if (pl.parts[i].settings != NULL) first = &pl.parts[i];
      for (size_t i = 0; i < n && first == NULL; i++)
        if (results[i].run.settings[0]) {
          from_result.run = results[i].run;
          from_result.settings = json_loads(results[i].run.settings, 0, NULL);
          first = &from_result;
        }
      /* The targets this command was narrowed to: --target, or the
       * target a database's --table picked. */
      const char *const *names = a->names;
      size_t n_names = a->n_names;
      if (n_names == 0 && a->t.config == NULL && a->t.table != NULL) {
        names = pl.run_names;
        n_names = pl.n_run_names;
      }
      cli_run_command(next, sizeof next, restore ? "restore" : "fix", &a->t,
                      pl.run_id, names, n_names, first);
      json_decref(from_result.settings);
      size_t used = strlen(next);
      if (next[0] && a->shard_count > 0 && !restore)
        snprintf(next + used, sizeof next - used, " --shard %u/%u",
                 a->shard_index, a->shard_count);
      label = unfinished ? "resume with" : "finish later with";
    }
    fix_report rep = {cmd,
                      status,
                      targets,
                      results,
                      st,
                      errors,
                      n,
                      a->execute,
                      why,
                      pl.run_id[0] ? pl.run_id : NULL,
                      next[0] ? next : NULL,
                      label,
                      pl.note[0] ? pl.note : NULL,
                      restore,
                      pl.part_ids};
    if (pl.note[0]) cli_error(cmd, "note: %s", pl.note);
    int w = write_report(a, &rep);
    if (w != 0) status = w;
    reported = 1;
  }
done:
  /* A configuration or usage error found before any target was read still
   * gives the document, -o and --metrics asked for (no targets, the exit
   * code): a file a pipeline reads never keeps an older run's result. */
  if (!reported && status != KAFKA_HANDOVER &&
      (a->json || a->output != NULL || a->metrics != NULL)) {
    fix_report rep = {cmd,  status, NULL, NULL, NULL, NULL,    0,   a->execute,
                      NULL, NULL,   NULL, NULL, NULL, restore, NULL};
    int w = write_report(a, &rep);
    if (w != 0) status = w;
  }
  for (size_t i = 0; results != NULL && i < n; i++)
    fix_result_dispose(&results[i]);
  free(results);
  free(st);
  free(errors);
  plan_free(&pl);
  if (status == KAFKA_HANDOVER)
    return cli_kafka_fix_run(a->argc, a->argv, restore);
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
      "One fix --execute is one run: one id for every target it works on,",
      "each target's progress, checkpoint, counts and backups kept under it",
      "in the target's own database, with everything a resume or a restore",
      "needs (kind and queue states, key, column encoding, reader, type and",
      "its schemas' fingerprints, version written, --allow-lossy).",
      "",
      TARGET_HELP,
      "      --target NAME        with -c: only this target (repeatable)",
      "",
      "Options:",
      "      --execute            write (default: dry run)",
      "      --allow-lossy        also rewrite records whose conversion loses",
      "                           something (each listed with what it loses)",
      "      --to-version N       version to write (default: the reader's)",
      "      --resume RUN_ID      continue a stopped run: every target of it",
      "                           (-c, or --sqlite/--postgres alone: the",
      "                           run recorded the rest; options that",
      "                           contradict it are refused)",
      "      --batch N            rows per batch (default 500)",
      "      --max-rate R         rows per second at most (of all parts)",
      "  -j, --jobs N             --execute: split each table and queue into",
      "                           N parts by the hash of the key, each fixed",
      "                           on its own thread and connection with its",
      "                           own checkpoint, counts and backups under",
      "                           the one run (config: jobs; default 1). The",
      "                           report is the one --jobs 1 writes. A",
      "                           SQLite target stays one part: a SQLite",
      "                           file takes one writer at a time",
      "                           (docs/scale.md)",
      "      --shard K/N          fix only the rows whose key hashes to K",
      "                           modulo N (as scan --shard): N processes",
      "                           given --run ID fix one run side by side;",
      "                           the same command again goes on with this",
      "                           shard's parts, as does --resume ID --shard",
      "                           K/N (a dry run: judge that shard's rows)",
      "      --run ID             with --shard: the run's id, the same in",
      "                           every shard (1 to 23 letters, digits, '-',",
      "                           '_')",
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
      "                           queues: 10, while messages are in flight;",
      "                           config: max_passes)",
      "      --in-flight-wait DURATION  queues: how long passes go on",
      "                           revisiting messages consumers hold (default",
      "                           2s; 0: one pass; config: in_flight_wait);",
      "                           the report lists what remains and the",
      "                           command that finishes it later",
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
      "exits 4, printing the command that resumes the run (--resume RUN_ID).",
      "A resumed run goes on with each target where it stopped, its counts",
      "as one run's. Running a fix again over fixed data changes nothing.",
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
      "within --lock-timeout, the run busy in another process, the",
      "database's disk full, or its server gone for longer than",
      "--lock-timeout: a PostgreSQL fix connects again by itself and goes",
      "on from its last committed batch) or undetermined records remain.",
  };
  print_lines(out, lines, sizeof lines / sizeof lines[0]);
}

void cli_restore_help(FILE *out) {
  static const char *const lines[] = {
      "usage: " CLI_PROGRAM " restore TARGET --run RUN_ID [--execute]",
      "       " CLI_PROGRAM
      " restore --sqlite PATH | --postgres CONNINFO --run RUN_ID",
      "",
      "Puts a fix run's original bytes back, by compare-and-swap against the",
      "bytes the fix wrote: a row changed after the fix is a conflict and is",
      "left alone (one that holds its original bytes again is named as",
      "already restored). Restoring twice changes nothing. Queues: a message",
      "consumed since the fix is gone, one a consumer holds in_flight.",
      "",
      "Every target of the run is restored: the config's (-c; --target",
      "narrows), or those in the database given alone, each as the run",
      "recorded it (a queue as a queue, with its states). Options that",
      "contradict what the run recorded are refused (exit 2).",
      "",
      "Dry run unless --execute: it reads each backed-up row, writing and",
      "locking nothing, and reports what --execute would do, in the same",
      "counts and with the same exit status.",
      "",
      "A restore keeps its checkpoint and counts with the run: one stopped",
      "(Ctrl-C, an error, a killed process) goes on where it stopped when",
      "run again, restoring every row once; the command is printed.",
      "",
      TARGET_HELP,
      "      --target NAME        with -c: only this target (repeatable)",
      "",
      "Options: --run RUN_ID, --execute, --batch N, --max-rate R,",
      "--lock-timeout DURATION, --statement-timeout DURATION,",
      "--deadline DURATION,",
      "--format text|json, -o FILE, --samples N, -q (no progress on stderr).",
      "",
      "Exit status: 0 every row restored or left alone (dry run: would be);",
      "2 usage; 3 connection or I/O; 4 incomplete (interrupted, or messages",
      "in flight: run the printed command later).",
  };
  print_lines(out, lines, sizeof lines / sizeof lines[0]);
}

int cli_fix_run(int argc, char **argv) {
  /* A Kafka topic is never rewritten: its fix is a driver of its own. */
  if (cli_kafka_fix_wanted(argc, argv)) return cli_kafka_fix_run(argc, argv, 0);
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
                                OPT_TARGET,
                                OPT_IN_FLIGHT_WAIT,
                                OPT_JOBS,
                                OPT_SHARD,
                                OPT_RUN,
                                0};
  fix_args a;
  memset(&a, 0, sizeof a);
  a.t = (cli_target_args)CLI_TARGET_ARGS_INIT;
  a.samples = 10;
  a.argc = argc;
  a.argv = argv;
  int status = parse_args(&a, argc, argv, "fix", allowed);
  if (status != 0) return status;
  if (a.help) {
    cli_fix_help(stdout);
    return cli_finish_stdout("fix", CLI_EXIT_CLEAN);
  }
  if (a.resume != NULL && !a.execute)
    return cli_usage_error("fix",
                           "--resume continues a run: it needs --execute");
  if (a.run != NULL) {
    /* The shards of one run name it: each process makes (or goes on
     * with) its own parts under that id. */
    if (a.resume != NULL)
      return cli_usage_error("fix",
                             "--run names a new run and --resume an "
                             "existing one: give one of them");
    if (a.shard_count == 0 || !a.execute)
      return cli_usage_error("fix",
                             "--run names the run the shards of one fix "
                             "share: it needs --shard K/N and --execute");
    if (!valid_run_name(a.run))
      return cli_usage_error("fix",
                             "invalid --run '%s': expected 1 to 23 letters, "
                             "digits, '-' or '_'",
                             a.run);
  } else if (a.shard_count > 0 && a.execute && a.resume == NULL) {
    return cli_usage_error("fix",
                           "--shard with --execute needs --run ID, the id "
                           "every shard of the run is given (or --resume "
                           "ID to go on with one)");
  }
  return run_writing(&a, "fix", 0);
}

int cli_restore_run(int argc, char **argv) {
  if (cli_kafka_fix_wanted(argc, argv)) return cli_kafka_fix_run(argc, argv, 1);
  static const int allowed[] = {
      OPT_RUN,          OPT_EXECUTE,           OPT_BATCH,
      OPT_LOCK_TIMEOUT, OPT_STATEMENT_TIMEOUT, OPT_FORMAT,
      OPT_OUTPUT,       OPT_SAMPLES,           OPT_DEADLINE,
      OPT_TARGET,       OPT_MAX_RATE,          0};
  fix_args a;
  memset(&a, 0, sizeof a);
  a.t = (cli_target_args)CLI_TARGET_ARGS_INIT;
  a.samples = 10;
  a.argc = argc;
  a.argv = argv;
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
      "       " CLI_PROGRAM " runs --sqlite PATH | --postgres CONNINFO",
      "",
      "Lists the fix runs kept in the targets' databases, oldest first: for",
      "each target its row of each run, with the run's id, its status,",
      "pass and checkpoint, its counts, its last restore's, and what the",
      "run recorded (JSON: settings). A database given alone lists every",
      "run kept in it. A run whose process is gone (killed, crashed) shows",
      "as interrupted, never running: resume it with fix --execute --resume",
      "RUN_ID.",
      "",
      "Options: --format text|json, --lock-timeout DURATION, -q (no notes",
      "on stderr).",
      "",
      TARGET_HELP,
      "      --target NAME        with -c: only this target (repeatable)",
      "",
      "Exit status: 0 listed (also when there are none); 2 usage; 3",
      "connection or I/O; 4 a lock not given within --lock-timeout.",
  };
  print_lines(out, lines, sizeof lines / sizeof lines[0]);
}

void cli_purge_help(FILE *out) {
  static const char *const lines[] = {
      "usage: " CLI_PROGRAM " purge TARGET --run RUN_ID [--execute]",
      "",
      "Deletes a run's backup rows and its rows, in every target's database",
      "(-c; --target narrows), or in the database given alone. After a purge",
      "the run cannot be restored. Dry run unless --execute.",
      "",
      TARGET_HELP,
      "      --target NAME        with -c: only this target (repeatable)",
      "",
      "Options: --run RUN_ID, --execute, --format text|json,",
      "--lock-timeout DURATION, -q (no notes on stderr).",
      "",
      "Exit status: 0 purged (dry run: would be), also when the target has",
      "no such run; 2 usage; 3 connection or I/O; 4 a lock not given within",
      "--lock-timeout, or the run is being worked on by another process.",
  };
  print_lines(out, lines, sizeof lines / sizeof lines[0]);
}

static json_t *run_json(const cli_run_part *p) {
  const store_run *r = &p->run;
  json_t *o = json_object();
  json_object_set_new(o, "run_id", json_string(r->run));
  json_object_set_new(o, "row_id", json_string(r->run_id));
  json_object_set_new(o, "command", json_string(r->command));
  json_object_set_new(o, "target", json_string(r->target));
  json_object_set_new(o, "table", json_string(r->table));
  json_object_set_new(o, "key", json_string(r->key));
  json_object_set_new(o, "column", json_string(r->column));
  json_object_set_new(o, "status", json_string(r->status));
  json_object_set_new(o, "to_version", json_integer(r->to_version));
  json_object_set_new(o, "pass", json_integer(r->pass));
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
  json_object_set_new(o, "rows_read", json_integer(r->rows_read));
  json_object_set_new(o, "rewritten", json_integer(r->converted));
  json_object_set_new(o, "lossy", json_integer(r->lossy));
  json_object_set_new(o, "lossy_skipped", json_integer(r->lossy_skipped));
  json_object_set_new(o, "conflicts", json_integer(r->conflicts));
  json_object_set_new(o, "impossible", json_integer(r->impossible));
  json_object_set_new(o, "corrupt", json_integer(r->corrupt));
  json_object_set_new(o, "check_failed", json_integer(r->check_failed));
  json_object_set_new(o, "undetermined", json_integer(r->undetermined));
  json_object_set_new(o, "unnamed", json_integer(r->unnamed));
  json_object_set_new(o, "in_flight", json_integer(r->in_flight));
  json_object_set_new(o, "gone", json_integer(r->gone));
  json_object_set_new(
      o, "remaining",
      r->remaining >= 0 ? json_integer(r->remaining) : json_null());
  json_object_set_new(o, "restored", json_integer(r->restored));
  json_t *rs = json_object();
  json_object_set_new(rs, "status", cli_fix_text_or_null(r->restore_status));
  json_object_set_new(rs, "restores", json_integer(r->restores));
  json_object_set_new(rs, "restored", json_integer(r->restore_restored));
  json_object_set_new(rs, "conflicts", json_integer(r->restore_conflicts));
  json_object_set_new(rs, "in_flight", json_integer(r->restore_in_flight));
  json_object_set_new(rs, "gone", json_integer(r->restore_gone));
  json_object_set_new(rs, "checkpoint",
                      r->has_restore_checkpoint
                          ? rs__json_key(r->restore_checkpoint, parts)
                          : json_null());
  json_object_set_new(o, "last_restore", rs);
  json_object_set_new(
      o, "settings",
      p->settings != NULL ? json_incref(p->settings) : json_null());
  return o;
}

static void run_text(const cli_run_part *p) {
  const store_run *r = &p->run;
  const char *kind = cli_run_str(p, "kind");
  /* A part of a target split by fix --jobs or --shard. */
  cli_run_partition pt;
  char part[64] = "";
  if (cli_run_partition_of(p, &pt))
    snprintf(part, sizeof part, "part %u of %u, ", pt.index, pt.count);
  printf("  %s  %-7s %-11s %s%s%srewritten %" PRId64 ", lossy %" PRId64
         ", conflicts %" PRId64 ", impossible %" PRId64 ", corrupt %" PRId64
         ", restored %" PRId64 "%s%s%s%s\n",
         r->run, r->command, r->status, kind ? kind : "", kind ? ", " : "",
         part, r->converted, r->lossy, r->conflicts, r->impossible, r->corrupt,
         r->restored, r->has_checkpoint ? ", checkpoint " : "",
         r->has_checkpoint ? r->checkpoint : "",
         r->restore_status[0] ? ", last restore " : "", r->restore_status);
}

/* The rows of run @p run (or every run: NULL) that the command's targets
 * pick: a config's (or those --target names), or the database's, by
 * --table and --name when given. Calls @p fn for each with the database
 * it is in. */
typedef int (*row_fn)(fix_args *a, const char *cmd, const store_target *db,
                      const char *target, cli_run_part *p, json_t *doc);

static int each_row(fix_args *a, const char *cmd, const char *run, row_fn fn,
                    json_t *doc) {
  int status = 0;
  size_t matched = 0;
  if (a->t.config != NULL) {
    cli_target_set set;
    status = cli_target_set_load(&set, &a->t, cmd);
    if (status == 0)
      status = cli_target_set_narrow(&set, a->names, a->n_names, cmd);
    if (status == 0) a->limits = run_limits(a, set.config);
    for (size_t i = 0; status == 0 && i < set.n; i++) {
      const store_target *t = &set.targets[i].target;
      if (t->kind == STORE_STREAM_FILE || t->kind == STORE_KAFKA_TOPIC) {
        if (set.n == 1)
          status = cli_usage_error(
              cmd,
              "target '%s' is a %s: it has no runs (a "
              "fix writes a new file; the original is "
              "the backup)",
              t->name,
              t->kind == STORE_STREAM_FILE ? "stream file" : "Kafka topic");
        continue;
      }
      cli_run_part *rows = NULL;
      size_t n = 0;
      status = run != NULL
                   ? cli_run_parts_of(&rows, &n, t, run, NULL, &a->limits, cmd)
                   : cli_run_list_of(&rows, &n, t, &a->limits, cmd);
      for (size_t k = 0; status == 0 && k < n; k++) {
        if (!cli_run_is_target(&rows[k], t)) continue;
        matched++;
        status = fn(a, cmd, t, t->name, &rows[k], doc);
      }
      /* A target without runs is listed as one. */
      if (status == 0 && run == NULL)
        status = fn(a, cmd, t, t->name, NULL, doc);
      cli_run_parts_free(rows, n);
    }
    cli_target_set_free(&set);
  } else {
    char label[80];
    store_target db = db_of_args(&a->t, label);
    cli_run_part *rows = NULL;
    size_t n = 0;
    a->limits = run_limits(a, NULL);
    status = run != NULL
                 ? cli_run_parts_of(&rows, &n, &db, run, NULL, &a->limits, cmd)
                 : cli_run_list_of(&rows, &n, &db, &a->limits, cmd);
    /* Target by target, in the order each first appears; each target's
     * rows oldest first. */
    for (size_t f = 0; status == 0 && f < n; f++) {
      int seen = 0;
      for (size_t k = 0; k < f && !seen; k++)
        seen = strcmp(rows[k].run.target, rows[f].run.target) == 0;
      for (size_t k = f; status == 0 && !seen && k < n; k++) {
        if (strcmp(rows[k].run.target, rows[f].run.target) != 0 ||
            !picked(&rows[k], &a->t, a->names, a->n_names))
          continue;
        matched++;
        status = fn(a, cmd, &db, rows[k].run.target, &rows[k], doc);
      }
    }
    /* A table without runs is listed as one. */
    if (status == 0 && run == NULL && matched == 0 && a->t.table != NULL)
      status = fn(a, cmd, &db, a->t.name != NULL ? a->t.name : a->t.table, NULL,
                  doc);
    cli_run_parts_free(rows, n);
  }
  if (status == 0 && run != NULL && matched == 0)
    status = cli_usage_error(
        cmd, "no run '%s' for %s (see '" CLI_PROGRAM " runs')", run,
        a->t.config != NULL ? "any target of the config"
                            : "the database given");
  a->purge_matched = matched;
  return status;
}

/* runs: one row of the listing, under its target (@p p NULL: a target
 * without runs, listed with none). */
static int list_row(fix_args *a, const char *cmd, const store_target *db,
                    const char *target, cli_run_part *p, json_t *doc) {
  (void)cmd;
  (void)db;
  json_t *targets = json_object_get(doc, "targets");
  json_t *list = json_object_get(targets, target);
  int first = list == NULL;
  if (first) {
    list = json_array();
    json_object_set_new(targets, target, list);
  }
  if (p != NULL) json_array_append_new(list, run_json(p));
  if (a->json) return 0;
  if (p == NULL && first) {
    printf("%s:\n  no runs\n", target);
    return 0;
  }
  if (p == NULL) return 0;
  if (json_array_size(list) == 1) printf("%s (%s):\n", target, p->run.table);
  run_text(p);
  return 0;
}

/* purge: deletes one row of the run with its backups. */
static int purge_row(fix_args *a, const char *cmd, const store_target *db,
                     const char *target, cli_run_part *p, json_t *doc) {
  int64_t deleted = 0;
  if (a->execute) {
    store *s = NULL;
    store_error serr = {STORE_OK, ""};
    int rc = store_open_runs(&s, db, &a->limits.open, &a->limits.write, &serr);
    /* Never under a process that works on the run's row (its lease). */
    if (rc == STORE_OK) rc = store_run_lease(s, p->run.run_id, &serr);
    if (rc == STORE_OK) {
      rc = store_purge_run(s, p->run.run_id, &deleted, &serr);
      store_run_release(s, p->run.run_id);
    }
    store_close(s);
    if (rc != STORE_OK) {
      cli_error(cmd, "%s", serr.message);
      return exit_for_store(serr.status);
    }
  }
  json_t *list = json_object_get(doc, "targets");
  json_array_append_new(
      list, json_pack("{s:s,s:s,s:I}", "name", target, "row_id", p->run.run_id,
                      "backups_deleted", (json_int_t)deleted));
  json_t *total = json_object_get(doc, "backups_deleted");
  json_object_set_new(doc, "backups_deleted",
                      json_integer(json_integer_value(total) + deleted));
  if (a->json) return 0;
  if (a->execute)
    printf("%s: purged run %s: %" PRId64 " backup rows deleted\n", target,
           p->run.run, deleted);
  else
    printf(
        "%s: run %s (%s, %s) would be purged with its backups; DRY RUN: "
        "add --execute\n",
        target, p->run.run, p->run.command, p->run.status);
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
  static const int allowed[] = {OPT_FORMAT, OPT_TARGET, OPT_LOCK_TIMEOUT, 0};
  fix_args a;
  memset(&a, 0, sizeof a);
  a.t = (cli_target_args)CLI_TARGET_ARGS_INIT;
  int status = parse_args(&a, argc, argv, "runs", allowed);
  if (status != 0) return status;
  if (a.help) {
    cli_runs_help(stdout);
    return cli_finish_stdout("runs", CLI_EXIT_CLEAN);
  }
  /* {"format_version", "command", "targets": {TARGET: [run, ...]}} */
  json_t *doc = json_object();
  json_object_set_new(doc, "format_version",
                      json_integer(RS_REPORT_FORMAT_VERSION));
  json_object_set_new(doc, "command", json_string("runs"));
  json_object_set_new(doc, "rollsafe_version", json_string(rs_version()));
  json_object_set_new(doc, "targets", json_object());
  status = each_row(&a, "runs", NULL, list_row, doc);
  if (status == 0 && !a.json &&
      json_object_size(json_object_get(doc, "targets")) == 0)
    printf("no runs\n");
  return finish_json("runs", &a, doc, status);
}

int cli_purge_run(int argc, char **argv) {
  static const int allowed[] = {OPT_RUN,    OPT_EXECUTE,      OPT_FORMAT,
                                OPT_TARGET, OPT_LOCK_TIMEOUT, 0};
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
  json_object_set_new(doc, "format_version",
                      json_integer(RS_REPORT_FORMAT_VERSION));
  json_object_set_new(doc, "command", json_string("purge"));
  json_object_set_new(doc, "rollsafe_version", json_string(rs_version()));
  json_object_set_new(doc, "run_id", json_string(a.run));
  json_object_set_new(doc, "executed", json_boolean(a.execute));
  json_object_set_new(doc, "backups_deleted", json_integer(0));
  json_object_set_new(doc, "targets", json_array());
  status = each_row(&a, "purge", a.run, purge_row, doc);
  return finish_json("purge", &a, doc, status);
}
