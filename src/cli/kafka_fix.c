#define _POSIX_C_SOURCE 200809L
/*
 * src/cli/kafka_fix.c: `rollsafe fix` and `rollsafe restore` of a Kafka
 * topic (--kafka): to an output topic, or in place on a compacted topic,
 * and the restore of an in-place run. cmd_fix.c hands the command over
 * here when it names a topic; the engine is src/verify/kafka_fix.c.
 *
 * A Kafka fix keeps no run table: its journal is on the Kafka side (the
 * output topic itself, or the journal topic of an in-place run).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <rollsafe/rollsafe.h>

#include "cli.h"
#include "fix_report.h"
#include "interrupt.h"
#include "kafka.h"
#include "opt.h"
#include "output.h"
#include "report/format_version.h"
#include "report/key_render.h"
#include "report/progress.h"
#include "report/scan_report.h"
#include "store/store_kafka.h"
#include "targets.h"
#include "verify/kafka_fix.h"

enum {
  KOPT_EXECUTE = 1,
  KOPT_ALLOW_LOSSY,
  KOPT_TO_VERSION,
  KOPT_OUTPUT_TOPIC,
  KOPT_IN_PLACE,
  KOPT_JOURNAL_TOPIC,
  KOPT_DROP_UNFIXABLE,
  KOPT_RUN,
  KOPT_RESUME,
  KOPT_FORMAT,
  KOPT_OUTPUT,
  KOPT_METRICS,
  KOPT_SAMPLES,
  KOPT_MAX_RATE,
  KOPT_TARGET,
  KOPT_HELP
};

static const cli_opt_spec kafka_fix_opts[] = {
    CLI_TARGET_OPT_SPECS,
    CLI_KAFKA_OPT_SPECS,
    {KOPT_EXECUTE, "execute", 0, 0},
    {KOPT_ALLOW_LOSSY, "allow-lossy", 0, 0},
    {KOPT_TO_VERSION, "to-version", 0, 1},
    {KOPT_OUTPUT_TOPIC, "output-topic", 0, 1},
    {KOPT_IN_PLACE, "in-place-compacted", 0, 0},
    {KOPT_JOURNAL_TOPIC, "journal-topic", 0, 1},
    {KOPT_DROP_UNFIXABLE, "drop-unfixable", 0, 0},
    {KOPT_RUN, "run", 0, 1},
    {KOPT_RESUME, "resume", 0, 1},
    {KOPT_FORMAT, "format", 0, 1},
    {KOPT_OUTPUT, "output", 'o', 1},
    {KOPT_METRICS, "metrics", 0, 1},
    {KOPT_SAMPLES, "samples", 0, 1},
    {KOPT_MAX_RATE, "max-rate", 0, 1},
    {KOPT_TARGET, "target", 0, 1},
    {KOPT_HELP, "help", 'h', 0},
};

typedef struct kfix_args {
  cli_target_args t;
  int execute, allow_lossy, in_place, drop_unfixable, json, help;
  unsigned to_version;
  const char *output_topic, *journal_topic, *run, *output, *metrics;
  const char *target; /* --target: the config's topic to work on */
  unsigned long samples;
  double max_rate;
} kfix_args;

int cli_kafka_fix_wanted(int argc, char **argv) {
  static const char *const names[] = {
      "--kafka", "--output-topic", "--in-place-compacted", "--journal-topic"};
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) break;
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
      size_t n = strlen(names[k]);
      if (strncmp(argv[i], names[k], n) == 0 &&
          (argv[i][n] == '\0' || argv[i][n] == '='))
        return 1;
    }
  }
  return 0;
}

static int parse(kfix_args *a, int argc, char **argv, const char *cmd,
                 int restore) {
  cli_opt_parser p;
  cli_opt_init(&p, kafka_fix_opts,
               sizeof kafka_fix_opts / sizeof kafka_fix_opts[0], argc, argv,
               cmd);
  const char *value;
  int id;
  while ((id = cli_opt_next(&p, &value)) != CLI_OPT_END) {
    if (id == CLI_OPT_ERROR) return CLI_EXIT_USAGE;
    if (id == CLI_OPT_ARG)
      return cli_usage_error(cmd, "unexpected argument '%s'", value);
    if (id == CLI_TOPT_SINCE) {
      if (cli_kafka_since(&a->t.kafka, value, cmd) != 0) return CLI_EXIT_USAGE;
      continue;
    }
    int taken = cli_target_opt(&a->t, id, value, cmd);
    if (taken == CLI_EXIT_USAGE) return CLI_EXIT_USAGE;
    if (taken) continue;
    /* Options of the other command. */
    int fix_only = id == KOPT_ALLOW_LOSSY || id == KOPT_TO_VERSION ||
                   id == KOPT_OUTPUT_TOPIC || id == KOPT_IN_PLACE ||
                   id == KOPT_DROP_UNFIXABLE || id == KOPT_RESUME;
    if ((restore && fix_only) || (!restore && id == KOPT_RUN)) {
      const char *name = "?";
      for (size_t k = 0; k < sizeof kafka_fix_opts / sizeof kafka_fix_opts[0];
           k++)
        if (kafka_fix_opts[k].id == id) name = kafka_fix_opts[k].long_name;
      return cli_usage_error(cmd, "option '--%s' does not apply to %s", name,
                             cmd);
    }
    unsigned long n;
    switch (id) {
      case KOPT_EXECUTE:
        a->execute = 1;
        break;
      case KOPT_ALLOW_LOSSY:
        a->allow_lossy = 1;
        break;
      case KOPT_TO_VERSION:
        if (cli_opt_number(cmd, "--to-version", value, 1, 1000, &n))
          return CLI_EXIT_USAGE;
        a->to_version = (unsigned)n;
        break;
      case KOPT_OUTPUT_TOPIC:
        if (cli_opt_once(cmd, "--output-topic", value, &a->output_topic) != 0)
          return CLI_EXIT_USAGE;
        break;
      case KOPT_IN_PLACE:
        a->in_place = 1;
        break;
      case KOPT_JOURNAL_TOPIC:
        if (cli_opt_once(cmd, "--journal-topic", value, &a->journal_topic) != 0)
          return CLI_EXIT_USAGE;
        break;
      case KOPT_DROP_UNFIXABLE:
        a->drop_unfixable = 1;
        break;
      case KOPT_RUN:
        if (cli_opt_once(cmd, "--run", value, &a->run) != 0)
          return CLI_EXIT_USAGE;
        break;
      case KOPT_RESUME:
        return cli_usage_error(
            cmd,
            "--resume does not apply to a Kafka topic: a fix resumes by "
            "itself, after the last message the output topic (or, in place, "
            "the topic) already holds; run the same command again");
      case KOPT_FORMAT:
        if (cli_opt_format(cmd, value, &a->json) != 0) return CLI_EXIT_USAGE;
        break;
      case KOPT_OUTPUT:
        a->output = value;
        break;
      case KOPT_METRICS:
        a->metrics = value;
        break;
      case KOPT_SAMPLES:
        if (cli_opt_number(cmd, "--samples", value, 0, 10000, &a->samples))
          return CLI_EXIT_USAGE;
        break;
      case KOPT_MAX_RATE: {
        char *end;
        double r = strtod(value, &end);
        if (*end != '\0' || end == value || !(r > 0) || r > 1e9)
          return cli_usage_error(cmd,
                                 "invalid --max-rate '%s': expected messages "
                                 "per second, more than 0",
                                 value);
        a->max_rate = r;
        break;
      }
      case KOPT_TARGET:
        if (cli_opt_once(cmd, "--target", value, &a->target) != 0)
          return CLI_EXIT_USAGE;
        break;
      case KOPT_HELP:
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
  if (a->target != NULL && a->t.config == NULL)
    return cli_usage_error(cmd, "--target NAME picks a target of -c FILE");
  rc = cli_target_check(&a->t, cmd);
  if (rc != 0) return rc;
  if (a->t.config == NULL && a->t.kafka.bootstrap == NULL)
    return cli_usage_error(cmd, "--kafka BOOTSTRAP is needed with %s",
                           a->in_place       ? "--in-place-compacted"
                           : a->output_topic ? "--output-topic"
                                             : "--journal-topic");
  if (restore) {
    if (a->run == NULL) return cli_usage_error(cmd, "--run RUN_ID is needed");
    if (a->t.kafka.group != NULL || a->t.kafka.has_since)
      return cli_usage_error(cmd,
                             "--group and --since do not apply to a restore: "
                             "it reads the run's journal and the topic");
    return 0;
  }
  return 0;
}

/* How a fix writes, once the config's target has given what the command
 * line did not (output_topic, or in_place_compacted and journal_topic):
 * one of the two ways, and only what applies to it. */
static int check_mode(const kfix_args *a, const cli_target *t,
                      const char *cmd) {
  int group = a->t.kafka.group != NULL || a->t.kafka.has_since ||
              (t->kafka.kafka.start != STORE_KAFKA_FROM_BEGINNING);
  if ((a->output_topic != NULL) == a->in_place && a->t.config != NULL)
    return cli_usage_error(
        cmd,
        "target '%s' is a Kafka topic, never rewritten: give it "
        "output_topic: TOPIC (a repaired copy) or, for a compacted topic, "
        "in_place_compacted: true in the config, or give --output-topic "
        "TOPIC or --in-place-compacted",
        t->target.name);
  if ((a->output_topic != NULL) == a->in_place)
    return cli_usage_error(
        cmd,
        "a Kafka topic is never rewritten: give --output-topic TOPIC (a "
        "repaired copy) or, for a compacted topic, --in-place-compacted");
  if (a->journal_topic != NULL && !a->in_place)
    return cli_usage_error(cmd,
                           "--journal-topic applies to --in-place-compacted");
  if (a->in_place && group)
    return cli_usage_error(cmd,
                           "--in-place-compacted reads the whole topic (every "
                           "key's latest value): --group and --since do not "
                           "apply");
  if (a->in_place && a->drop_unfixable)
    return cli_usage_error(cmd,
                           "--drop-unfixable applies to --output-topic: in "
                           "place, what cannot be converted stays as it is");
  return 0;
}

/* ---- reports ------------------------------------------------------------ */

typedef struct kfix_report {
  const char *command;
  const kfix_args *a;
  const cli_target *t; /* NULL when the command failed before */
  const kafka_fix_result *r;
  int exit_code;
  const char *reason;
} kfix_report;

static json_t *offset_json(int64_t v) {
  return v >= 0 ? json_integer((json_int_t)v) : json_null();
}

static const char *mode_name(const kafka_fix_result *r) {
  return r->restore    ? "restore"
         : r->in_place ? "in-place-compacted"
                       : "output-topic";
}

static json_t *partition_json(const kafka_fix_result *r,
                              const kafka_fix_partition *p) {
  json_t *ranges = json_array();
  for (size_t k = 0; k < p->n_repaired; k++)
    json_array_append_new(ranges,
                          json_pack("[I,I]", (json_int_t)p->repaired[2 * k],
                                    (json_int_t)p->repaired[2 * k + 1]));
  json_t *o = json_object();
  json_object_set_new(o, "partition", json_integer(p->partition));
  json_object_set_new(o, "start_from", cli_fix_text_or_null(p->start_from));
  json_object_set_new(o, "start_offset",
                      json_integer((json_int_t)p->start_offset));
  json_object_set_new(o, "end_offset", json_integer((json_int_t)p->end_offset));
  json_object_set_new(o, "first_offset", offset_json(p->first_offset));
  json_object_set_new(o, "last_offset", offset_json(p->last_offset));
  json_object_set_new(o, "messages", json_integer((json_int_t)p->messages));
  json_object_set_new(o, "resumed", json_boolean(p->resumed));
  json_object_set_new(o, "resumed_after", offset_json(p->resumed_after));
  json_object_set_new(o, "copied", json_integer((json_int_t)p->copied));
  json_object_set_new(o, "rewritten", json_integer((json_int_t)p->converted));
  json_object_set_new(o, "lossy", json_integer((json_int_t)p->lossy));
  json_object_set_new(o, "lossy_skipped",
                      json_integer((json_int_t)p->lossy_skipped));
  json_object_set_new(o, "left_alone", json_integer((json_int_t)p->left_alone));
  json_object_set_new(o, "dropped", json_integer((json_int_t)p->dropped));
  if (r->in_place || r->restore) {
    json_object_set_new(o, "superseded",
                        json_integer((json_int_t)p->superseded));
    json_object_set_new(o, "unkeyed", json_integer((json_int_t)p->unkeyed));
  }
  json_object_set_new(o, r->restore ? "restored_offsets" : "repaired_offsets",
                      ranges);
  json_object_set_new(o, "repaired_truncated", json_boolean(p->repaired_cut));
  json_object_set_new(o, "output_first_offset", offset_json(p->out_first));
  json_object_set_new(o, "output_last_offset", offset_json(p->out_last));
  json_object_set_new(o, "delivered", json_integer((json_int_t)p->delivered));
  if (!r->in_place && !r->restore) {
    json_object_set_new(o, "verified", json_integer((json_int_t)p->verified));
    json_object_set_new(o, "duplicates",
                        json_integer((json_int_t)p->duplicates));
    json_object_set_new(o, "missing", json_integer((json_int_t)p->missing));
    json_object_set_new(o, "group_offset", offset_json(p->group_offset));
    json_object_set_new(
        o, "group_output_offset",
        r->has_group_map ? offset_json(p->group_output_offset) : json_null());
  }
  return o;
}

/* A message's sample: its PARTITION@OFFSET and why. */
static json_t *sample_json(const fix_sample *s, void *ctx) {
  (void)ctx;
  return json_pack("{s:o,s:o}", "key", cli_fix_text_or_null(s->key), "why",
                   cli_fix_text_or_null(s->why));
}

static void sample_text(FILE *out, const fix_sample *s, void *ctx) {
  (void)ctx;
  fprintf(out, "    %s%s%s\n", s->key, s->why[0] ? ": " : "", s->why);
}

static json_t *target_json(const kfix_report *rep) {
  const kafka_fix_result *r = rep->r;
  const fix_result *f = &r->fix;
  const cli_target *t = rep->t;
  json_t *counts, *samples;
  cli_fix_outcomes_json(&counts, &samples, f, sample_json, NULL);
  json_t *parts = json_array();
  for (size_t i = 0; i < r->n_parts; i++)
    json_array_append_new(parts, partition_json(r, &r->parts[i]));
  json_t *o = json_object();
  json_object_set_new(o, "name", cli_fix_text_or_null(t->target.name));
  json_object_set_new(o, "kind", json_string("kafka-topic"));
  json_object_set_new(o, "topic", cli_fix_text_or_null(r->topic));
  json_object_set_new(o, "mode", json_string(mode_name(r)));
  json_object_set_new(o, "output_topic",
                      !r->in_place && !r->restore
                          ? cli_fix_text_or_null(r->output)
                          : json_null());
  json_object_set_new(o, "journal_topic",
                      r->in_place || r->restore
                          ? cli_fix_text_or_null(r->output)
                          : json_null());
  json_object_set_new(o, "cleanup_policy", cli_fix_text_or_null(r->policy));
  json_object_set_new(o, "run_id", cli_fix_text_or_null(f->run.run_id));
  json_object_set_new(o, "executed", json_boolean(f->executed));
  json_object_set_new(o, "complete", json_boolean(f->complete));
  json_object_set_new(o, "interrupted", json_boolean(f->interrupted));
  json_object_set_new(
      o, "error",
      cli_fix_text_or_null(f->status != STORE_OK ? f->error : NULL));
  json_object_set_new(o, "rows_read", json_integer((json_int_t)f->rows_read));
  json_object_set_new(o, "copied", json_integer((json_int_t)r->copied));
  json_object_set_new(o, "rewritten",
                      json_integer((json_int_t)(f->counts[FIX_CONVERTED] +
                                                f->counts[FIX_LOSSY])));
  json_object_set_new(o, "lossy",
                      json_integer((json_int_t)f->counts[FIX_LOSSY]));
  json_object_set_new(o, "lossy_skipped",
                      json_integer((json_int_t)r->lossy_skipped));
  json_object_set_new(o, "left_alone", json_integer((json_int_t)r->left_alone));
  json_object_set_new(o, "dropped", json_integer((json_int_t)r->dropped));
  json_object_set_new(o, "superseded", json_integer((json_int_t)r->superseded));
  json_object_set_new(o, "unkeyed", json_integer((json_int_t)r->unkeyed));
  json_object_set_new(o, "restored",
                      json_integer((json_int_t)f->counts[FIX_RESTORED]));
  json_object_set_new(o, "conflicts",
                      json_integer((json_int_t)f->counts[FIX_CONFLICT]));
  json_object_set_new(o, "delivered", json_integer((json_int_t)r->delivered));
  json_object_set_new(o, "undetermined",
                      json_integer((json_int_t)f->counts[FIX_UNDETERMINED]));
  json_object_set_new(
      o, "remaining",
      f->verified ? json_integer((json_int_t)f->remaining) : json_null());
  json_object_set_new(o, "remaining_undetermined",
                      f->verified
                          ? json_integer((json_int_t)f->remaining_undetermined)
                          : json_null());
  json_object_set_new(o, "verified_messages",
                      json_integer((json_int_t)r->verified_messages));
  json_object_set_new(o, "duplicates", json_integer((json_int_t)r->duplicates));
  json_object_set_new(o, "missing", json_integer((json_int_t)r->missing));
  json_object_set_new(o, "outcomes", counts);
  json_object_set_new(o, "samples", samples);
  json_object_set_new(o, "partitions", parts);
  json_object_set_new(o, "duration_seconds", json_real(f->seconds));
  return o;
}

static int write_json(FILE *out, void *ctx) {
  const kfix_report *rep = ctx;
  const fix_result *f = rep->r != NULL ? &rep->r->fix : NULL;
  json_t *doc = json_object(), *targets = json_array();
  if (rep->t != NULL) json_array_append_new(targets, target_json(rep));
  json_object_set_new(doc, "format_version",
                      json_integer(RS_REPORT_FORMAT_VERSION));
  json_object_set_new(doc, "command", json_string(rep->command));
  json_object_set_new(doc, "rollsafe_version", json_string(rs_version()));
  json_object_set_new(doc, "executed", json_boolean(rep->a->execute));
  json_object_set_new(
      doc, "complete",
      json_boolean(f != NULL && f->complete && f->status == STORE_OK));
  json_object_set_new(
      doc, "run_id",
      f != NULL ? cli_fix_text_or_null(f->run.run_id) : json_null());
  json_object_set_new(doc, "rewritten",
                      json_integer(f ? (json_int_t)(f->counts[FIX_CONVERTED] +
                                                    f->counts[FIX_LOSSY])
                                     : 0));
  json_object_set_new(
      doc, "restored",
      json_integer(f ? (json_int_t)f->counts[FIX_RESTORED] : 0));
  json_object_set_new(
      doc, "remaining",
      json_integer(f && f->verified ? (json_int_t)f->remaining : 0));
  json_object_set_new(doc, "exit_code", json_integer(rep->exit_code));
  json_object_set_new(doc, "reason", cli_fix_text_or_null(rep->reason));
  json_object_set_new(doc, "targets", targets);
  int rc = json_dumpf(doc, out, JSON_INDENT(2));
  json_decref(doc);
  if (rc == 0 && fputc('\n', out) == EOF) rc = -1;
  return rc;
}

static void text_ranges(FILE *out, const kafka_fix_partition *p) {
  for (size_t k = 0; k < p->n_repaired && k < 8; k++) {
    if (p->repaired[2 * k] == p->repaired[2 * k + 1])
      fprintf(out, "%s%" PRId64, k ? "," : "", p->repaired[2 * k]);
    else
      fprintf(out, "%s%" PRId64 "-%" PRId64, k ? "," : "", p->repaired[2 * k],
              p->repaired[2 * k + 1]);
  }
  if (p->n_repaired > 8 || p->repaired_cut) fputs(",...", out);
}

static int write_text(FILE *out, void *ctx) {
  const kfix_report *rep = ctx;
  const kafka_fix_result *r = rep->r;
  if (rep->t != NULL && r != NULL) {
    const fix_result *f = &r->fix;
    const int exec = rep->a->execute;
    if (r->restore)
      fprintf(out, "restore %s: topic %s from journal topic %s",
              rep->t->target.name, r->topic, r->output);
    else if (r->in_place)
      fprintf(out, "fix %s: topic %s in place (compacted), journal topic %s",
              rep->t->target.name, r->topic, r->output);
    else
      fprintf(out, "fix %s: topic %s to output topic %s", rep->t->target.name,
              r->topic, r->output);
    fprintf(out, " (messages as PARTITION@OFFSET)%s\n",
            exec ? "" : ", DRY RUN: nothing was written");
    if (f->run.run_id[0] && (exec || r->restore))
      fprintf(out, "  run        %s\n", f->run.run_id);
    if (r->policy[0]) fprintf(out, "  cleanup.policy %s\n", r->policy);
    fprintf(out, "  messages   %" PRIu64 " read, %.2f s\n", f->rows_read,
            f->seconds);
    if (!r->restore)
      fprintf(out, "  %-22s %" PRIu64 "\n",
              r->in_place ? "readable already" : "copied as they are",
              r->copied);
    cli_fix_outcomes_text(out, f, exec, sample_text, NULL);
    if (r->superseded)
      fprintf(out, "  %-22s %" PRIu64 "\n", "superseded", r->superseded);
    if (r->unkeyed)
      fprintf(out, "  %-22s %" PRIu64 "\n", "without a key", r->unkeyed);
    if (r->n_parts > 0) fputs("  partitions\n", out);
    for (size_t i = 0; i < r->n_parts; i++) {
      const kafka_fix_partition *p = &r->parts[i];
      fprintf(out, "    %" PRId32, p->partition);
      if (!r->restore) {
        fprintf(out, ": from %" PRId64 " (%s)", p->start_offset,
                p->start_from ? p->start_from : "");
        if (p->first_offset >= 0)
          fprintf(out, ", read %" PRId64 "..%" PRId64, p->first_offset,
                  p->last_offset);
        else
          fputs(", nothing to read", out);
      }
      fprintf(out, ": %s %" PRIu64,
              r->restore ? "restored"
              : exec     ? "rewritten"
                         : "would rewrite",
              p->converted);
      if (p->n_repaired > 0) {
        fputs(" (offsets ", out);
        text_ranges(out, p);
        fputc(')', out);
      }
      fprintf(out, ", %s %" PRIu64,
              r->in_place || r->restore ? "left" : "copied",
              r->in_place || r->restore ? p->left_alone : p->copied);
      if (p->lossy_skipped)
        fprintf(out, ", lossy skipped %" PRIu64, p->lossy_skipped);
      if (p->dropped) fprintf(out, ", dropped %" PRIu64, p->dropped);
      if (p->out_first >= 0)
        fprintf(out, "; %s offsets %" PRId64 "..%" PRId64,
                r->in_place || r->restore ? "written at" : "output",
                p->out_first, p->out_last);
      if (r->has_group_map && p->group_offset >= 0)
        fprintf(out, "; group offset %" PRId64 " is output offset %" PRId64,
                p->group_offset, p->group_output_offset);
      fputc('\n', out);
    }
    if (f->verified)
      fprintf(out,
              "  remaining  %" PRIu64
              " messages of the output topic the reader cannot read "
              "correctly (%" PRIu64 " read back)\n",
              f->remaining, r->verified_messages);
    if (r->duplicates || r->missing)
      fprintf(out, "  DUPLICATES %" PRIu64 ", MISSING %" PRIu64 "\n",
              r->duplicates, r->missing);
    if (f->status != STORE_OK) fprintf(out, "  ERROR      %s\n", f->error);
    if (f->interrupted)
      fputs("  INTERRUPTED: run the same command again to go on\n", out);
  }
  return cli_fix_result_line(out, rep->exit_code, rep->reason);
}

static void label(FILE *out, const char *name, const kfix_report *rep) {
  fprintf(out, "%s{target=", name);
  rs__metrics_label(out, rep->t->target.name);
}

static int write_metrics(FILE *out, void *ctx) {
  const kfix_report *rep = ctx;
  const kafka_fix_result *r = rep->r;
  if (rep->t != NULL && r != NULL) {
    cli_fix_metrics_records_help(out);
    cli_fix_metrics_records(out, rep->t->target.name, &r->fix);
    fputs(
        "# TYPE rollsafe_fix_partition_messages gauge\n"
        "# HELP rollsafe_fix_partition_messages Messages of a Kafka "
        "partition by what the fix did with them.\n",
        out);
    for (size_t i = 0; i < r->n_parts; i++) {
      const kafka_fix_partition *p = &r->parts[i];
      const struct {
        const char *what;
        uint64_t n;
      } rows[] = {
          {"read", p->messages},         {"copied", p->copied},
          {"rewritten", p->converted},   {"lossy_skipped", p->lossy_skipped},
          {"left_alone", p->left_alone}, {"dropped", p->dropped},
          {"superseded", p->superseded}, {"delivered", p->delivered}};
      for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        label(out, "rollsafe_fix_partition_messages", rep);
        fprintf(out, ",partition=\"%" PRId32 "\",action=\"%s\"} %" PRIu64 "\n",
                p->partition, rows[k].what, rows[k].n);
      }
    }
    if (r->has_group_map) {
      fputs(
          "# TYPE rollsafe_fix_group_output_offset gauge\n"
          "# HELP rollsafe_fix_group_output_offset Where the group's "
          "consumers start on the output topic.\n",
          out);
      for (size_t i = 0; i < r->n_parts; i++)
        if (r->parts[i].group_offset >= 0) {
          label(out, "rollsafe_fix_group_output_offset", rep);
          fprintf(out, ",partition=\"%" PRId32 "\"} %" PRId64 "\n",
                  r->parts[i].partition, r->parts[i].group_output_offset);
        }
    }
    cli_fix_metrics_remaining_help(out);
    cli_fix_metrics_remaining(out, rep->t->target.name, r->fix.remaining);
  }
  return cli_fix_metrics_end(out, rep->exit_code);
}

static int report(const kfix_args *a, kfix_report *rep) {
  return cli_fix_write_report(rep->command, a->output, a->json, a->metrics,
                              write_text, write_json, write_metrics, rep);
}

/* ---- the command -------------------------------------------------------- */

static int exit_code(const kfix_args *a, const kafka_fix_result *r,
                     int codec_failed, const char **reason, char *buf,
                     size_t size) {
  const fix_result *f = &r->fix;
  *reason = NULL;
  if (f->status == STORE_EUSAGE) return CLI_EXIT_USAGE;
  if (f->status != STORE_OK || codec_failed) return CLI_EXIT_IO;
  if (f->interrupted || !f->complete) return CLI_EXIT_INCOMPLETE;
  if (r->restore) return CLI_EXIT_CLEAN;
  int found = f->counts[FIX_DROPPED] > 0;
  if (a->execute)
    found |= f->verified && f->remaining > 0;
  else
    for (int o = 0; o < FIX_RESTORED; o++)
      found |= o != FIX_CONFLICT && f->counts[o] > 0;
  /* In place, what is left alone stays in the topic. */
  if (a->execute && r->in_place)
    for (int o = FIX_LOSSY_SKIPPED; o <= FIX_CHECK_FAILED; o++)
      found |= f->counts[o] > 0;
  if (found) return CLI_EXIT_FOUND;
  uint64_t u =
      f->verified ? f->remaining_undetermined : f->counts[FIX_UNDETERMINED];
  if (u > 0) {
    snprintf(buf, size,
             "undetermined: %" PRIu64
             " record%s whose writer could not be decided %s copied as %s; "
             "give --raw-writer N, or register the version they name",
             u, u == 1 ? "" : "s", u == 1 ? "was" : "were",
             u == 1 ? "it is" : "they are");
    *reason = buf;
    return CLI_EXIT_INCOMPLETE;
  }
  return CLI_EXIT_CLEAN;
}

void cli_kafka_fix_help(FILE *out) {
  static const char *const lines[] = {
      "usage: " CLI_PROGRAM
      " fix --kafka BOOTSTRAP --topic T --type TYPE --output-topic OUT",
      "                    [--group G | --since TIME | --from-beginning]",
      "                    [--execute] [options]",
      "       " CLI_PROGRAM
      " fix --kafka BOOTSTRAP --topic T --type TYPE --in-place-compacted",
      "                    [--journal-topic J] [--execute] [options]",
      "       " CLI_PROGRAM
      " restore --kafka BOOTSTRAP --topic T --type TYPE --run RUN_ID",
      "                    [--journal-topic J] [--execute]",
      "",
      "A Kafka log is never rewritten. --output-topic OUT (an existing topic",
      "with at least T's partitions, written by nothing else) gets each",
      "partition's messages from the start (as for scan) up to the high",
      "watermark, in order, to the partition of the same number: same key,",
      "timestamp and headers, plus rollsafe-original (T/PARTITION/OFFSET)",
      "and rollsafe-run; those the reader cannot read down-converted (checked",
      "by the reader first), the rest byte for byte. The producer is",
      "idempotent. A killed run is resumed by running it again: each",
      "partition goes on after the source offset the output's last message",
      "names, without a duplicate or a gap. With --group, the report gives",
      "the output offset where the group's consumers start on OUT.",
      "",
      "--in-place-compacted (a topic whose cleanup.policy is compact): for",
      "each key whose latest message the reader cannot read, the original",
      "goes to the journal topic (default T.rollsafe-journal, which must",
      "exist), then the converted value is produced under the same key to",
      "the same partition. restore --run puts the run's originals back for",
      "the keys whose latest message is still the fix's.",
      "",
      "From a config (-c FILE, --target NAME among several targets): a",
      "kind: kafka-topic target whose output_topic, or in_place_compacted:",
      "true and journal_topic, say how it is written; the options of the",
      "same names override them.",
      "",
      "Options: --execute, --allow-lossy, --to-version N, --drop-unfixable",
      "(output topic: leave out what the reader still cannot read),",
      "--max-rate N (messages per second at most),",
      "--kafka-property..., --kafka-timeout SECONDS, the reader options of",
      "scan, --format text|json, -o FILE, --metrics FILE, --samples N.",
      "",
      "Exit status: 0 the reader reads every message written (dry run:",
      "nothing to convert); 1 messages remain it cannot read; 2 usage; 3",
      "connection or I/O, or a duplicate or missing copy found; 4",
      "interrupted (run it again) or undetermined records.",
  };
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
    fprintf(out, "%s\n", lines[i]);
}

int cli_kafka_fix_run(int argc, char **argv, int restore) {
  const char *cmd = restore ? "restore" : "fix";
  kfix_args a;
  memset(&a, 0, sizeof a);
  a.t = (cli_target_args)CLI_TARGET_ARGS_INIT;
  a.samples = 10;
  int status = parse(&a, argc, argv, cmd, restore);
  kfix_report rep = {cmd, &a, NULL, NULL, status, NULL};
  if (status != 0) {
    if (status != CLI_EXIT_USAGE || a.json || a.output || a.metrics)
      report(&a, &rep);
    return status;
  }
  if (a.help) {
    cli_kafka_fix_help(stdout);
    return cli_finish_stdout(cmd, CLI_EXIT_CLEAN);
  }
  cli_target_set set;
  kafka_fix_result result;
  memset(&result, 0, sizeof result);
  int ran = 0, codec_failed = 0;
  char journal[STORE_KAFKA_TOPIC_MAX + 32];
  status = cli_target_set_load(&set, &a.t, cmd);
  if (status == 0 && a.target != NULL)
    status = cli_target_set_narrow(&set, &a.target, 1, cmd);
  if (status == 0 && set.n != 1)
    status = cli_usage_error(cmd,
                             "one Kafka topic at a time: the config has %zu "
                             "targets; give --target NAME",
                             set.n);
  cli_target *t = status == 0 ? &set.targets[0] : NULL;
  if (t != NULL && t->target.kind != STORE_KAFKA_TOPIC) {
    status = cli_usage_error(cmd, "target '%s' is not a Kafka topic",
                             t->target.name);
    t = NULL;
  }
  if (t != NULL) {
    /* The config's way of writing, unless the command line gave one. */
    if (a.output_topic == NULL && !a.in_place) {
      a.output_topic = t->output_topic;
      a.in_place = t->in_place_compacted;
    }
    if (a.journal_topic == NULL && a.in_place)
      a.journal_topic = t->journal_topic;
    if (!restore) status = check_mode(&a, t, cmd);
    if (status != 0) t = NULL;
  }
  unsigned to = 0;
  if (t != NULL) {
    to = a.to_version ? a.to_version : t->reader_version;
    if (to > t->newest)
      status = cli_usage_error(cmd, "%s has no format version %u", t->type, to);
    else if (!restore && t->framing == RS_READER_FRAMING_CONFLUENT)
      status = cli_target_schema_id_for(t, to, cmd);
  }
  if (status == 0) {
    snprintf(journal, sizeof journal, "%s",
             a.journal_topic != NULL ? a.journal_topic : "");
    if (a.journal_topic == NULL)
      snprintf(journal, sizeof journal, "%s.rollsafe-journal",
               t->target.kafka->topic);
    cli_interrupt_saved saved;
    cli_interrupt_install(&saved);
    progress prog;
    progress_init(&prog, cli_quiet ? NULL : stderr);
    /* The reader with its runtime: what the pre-write check judges the new
     * bytes by, as a table's fix does. */
    fix_options fo = {.registry = set.registry,
                      .type = t->type,
                      .reader = cli_target_reader(t),
                      .schema_ids = t->schema_ids,
                      .n_schema_ids = t->n_schema_ids,
                      .to_version = to,
                      .column_encoding = COLENC_BINARY,
                      .execute = a.execute,
                      .allow_lossy = a.allow_lossy,
                      .batch = 500,
                      .max_rate = a.max_rate,
                      .max_passes = 1,
                      .drop_unfixable = a.drop_unfixable,
                      .max_samples = a.samples,
                      .interrupted = &cli_interrupted,
                      .progress = progress_update,
                      .progress_ctx = &prog};
    kafka_fix_options ko = {&fo, &t->target, a.output_topic, journal, a.run};
    rs_error err = RS_ERROR_INIT;
    progress_start(&prog, t->target.name, -1);
    int rc = restore      ? kafka_restore(&result, &ko, &err)
             : a.in_place ? kafka_fix_in_place(&result, &ko, &err)
                          : kafka_fix_to_topic(&result, &ko, &err);
    progress_end(&prog);
    cli_interrupt_restore(&saved);
    ran = 1;
    if (result.fix.status != STORE_OK)
      cli_fix_target_error(cmd, t->target.name, result.fix.error);
    if (rc != 0) {
      cli_error(cmd, "target '%s': %s", t->target.name, err.message);
      codec_failed = 1;
    }
  }
  char reason[400];
  if (ran) {
    rep.t = t;
    rep.r = &result;
    rep.exit_code = exit_code(&a, &result, codec_failed, &rep.reason, reason,
                              sizeof reason);
  } else {
    rep.exit_code = status;
  }
  if (rep.reason != NULL) cli_error(cmd, "%s", rep.reason);
  if (ran || a.json || a.output || a.metrics) {
    int w = report(&a, &rep);
    if (w != 0) rep.exit_code = w;
  }
  kafka_fix_result_dispose(&result);
  cli_target_set_free(&set);
  return cli_finish_stdout(cmd, rep.exit_code);
}
