#define _XOPEN_SOURCE 700 /* realpath */
/*
 * src/cli/cmd_diff.c: `rollsafe diff`, the schema guard. Every older schema
 * version is a reader, every newer one a writer; the report says what each
 * old reader makes of what each new writer writes, as text, one JSON
 * document, or SARIF 2.1.0 for code-scanning pages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <rollsafe/rollsafe.h>

#include "cli.h"
#include "config.h"
#include "opt.h"
#include "output.h"
#include "report/format_version.h"
#include "report/schema_origin.h"
#include "report/scan_report.h"
#include "runtime_opt.h"

#define CMD "diff"
#define MAX_VERSIONS 64

void cli_diff_help(FILE *out) {
  static const char *const head[] = {
      "usage: " CLI_PROGRAM " diff [options] OLD NEW [NEWER...]",
      "",
      "Compares protobuf schema versions in the rollback direction: what does",
      "a reader built from an older version make of records a newer version",
      "writes? With more than two versions, every older reader is checked",
      "against every newer writer. Each version is a FileDescriptorSet",
      "(protoc --include_imports --include_source_info -o FILE) or a .proto",
      "file, compiled with protoc (on PATH, or $PROTOC).",
      "",
      "Options:",
      "  -t, --type NAME[:NAME...]  compare only this message and what its",
      "                           fields reach (repeatable). One name for "
      "every",
      "                           version (a full name, its last "
      "components,",
      "                           or the record type without version",
      "                           parts: 'Order' and 'shop.Order' match",
      "                           shop.v1.Order and shop.v2.Order), or one",
      "                           per version, oldest first:",
      "                           shop.v1.Order:shop.v2.Order. Default:",
      "                           every message of the newer version's own",
      "                           files, matched by full name, else by name",
      "                           without the package",
      "  -I, --proto-path DIR     extra import path for .proto files",
      "                           (repeatable)",
      "      --format F           text (default), json (one document) or",
      "                           sarif (SARIF 2.1.0)",
      "  -o, --output FILE        write the report to FILE atomically",
      "      --fail-on SEVERITY   exit 1 when an unsuppressed finding is at or",
      "                           above error (default), warning or info;",
      "                           never: exit 0 whatever is found",
      "  -c, --config FILE        read fail_on and suppressions from FILE's",
      "                           diff section (and reader_runtime,",
      "                           reader_options)",
      CLI_READER_RUNTIME_HELP,
      "      --today YYYY-MM-DD   the date suppressions expire against",
      "                           (default: $ROLLSAFE_TODAY, else today, UTC)",
      CLI_QUIET_HELP,
      "  -h, --help               show this help",
      "",
      "Each finding has the verdict a protobuf-c reader gives a record that",
      "hits it, as rollsafe scan names them: ok, ignored_fields, misread,",
      "unreadable (none: schema structure, no record shows it).",
      "Severities follow: error (misread or unreadable records), warning",
      "(ignored information, or a hazard outside this read: a number left",
      "free, records the new code rejects after a rollback), info",
      "(wire-safe, worth knowing).",
      "",
      "Rules (usual severity and verdict):",
  };
  static const char *const tail[] = {
      "",
      "Exit status:",
      "  0  nothing at or above --fail-on",
      "  1  findings at or above --fail-on",
      "  2  usage or configuration error: bad option, a type not found, a",
      "     file that is not a descriptor set, a .proto protoc rejects",
      "  3  a file cannot be read, protoc cannot be run, the report cannot",
      "     be written",
  };
  for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
    fprintf(out, "%s\n", head[i]);
  for (int r = 0; r < RS_DIFF_RULE_COUNT; r++)
    fprintf(out, "  %-26s %-7s %-14s %s\n", rs_diff_rule_id((rs_diff_rule)r),
            rs_diff_severity_name(rs_diff_rule_severity((rs_diff_rule)r)),
            rs_diff_verdict_name(rs_diff_rule_verdict((rs_diff_rule)r)),
            rs_diff_rule_summary((rs_diff_rule)r));
  for (size_t i = 0; i < sizeof tail / sizeof tail[0]; i++)
    fprintf(out, "%s\n", tail[i]);
}

enum { FORMAT_TEXT, FORMAT_JSON, FORMAT_SARIF };

/* One suppression of the config file, as applied. */
typedef struct applied {
  const cli_config_suppression *s;
  char label[300];
  size_t matched;
  rs_diff_suppression_status status;
} applied;

typedef struct diff_run {
  const char *paths[MAX_VERSIONS];
  size_t n_paths;
  const char *types[MAX_VERSIONS + 1];
  size_t n_types;
  const char *includes[MAX_VERSIONS + 1];
  size_t n_includes;
  int format;
  const char *output;
  const char *config_path;
  const char *today_opt;
  int fail_on; /* 0: not given; severity; -1 never */
  int help;
  cli_runtime_args runtime; /* --reader-runtime, --reader-option */
  rs_reader reader;         /* the old reader's runtime, resolved */
  char today[11];
  rs_diff_schema *schemas[MAX_VERSIONS];
  rs_diff_report *report;
  cli_config *config;
  applied *applied;
  size_t n_applied;
  int exit_code;
  int reported; /* the report was written (or its writing tried) */
  /* Each version's schema: a file, and with one --type the fingerprint of
   * the message it names there (message[v] "" when not found). */
  schema_origin origins[MAX_VERSIONS];
  char message[MAX_VERSIONS][256];
} diff_run;

static const char *fail_on_name(int fail_on) {
  return fail_on < 0 ? "never"
                     : rs_diff_severity_name((rs_diff_severity)fail_on);
}

static int parse_fail_on(const char *value, int *out) {
  if (strcmp(value, "never") == 0) {
    *out = -1;
    return 0;
  }
  int sev = rs_diff_severity_from_name(value);
  if (sev == 0)
    return cli_usage_error(CMD,
                           "invalid --fail-on '%s': expected error, warning, "
                           "info or never",
                           value);
  *out = sev;
  return 0;
}

enum {
  OPT_TYPE = 1,
  OPT_INCLUDE,
  OPT_FORMAT,
  OPT_OUTPUT,
  OPT_FAIL_ON,
  OPT_CONFIG,
  OPT_TODAY,
  OPT_HELP,
  OPT_READER_RUNTIME,
  OPT_READER_OPTION
};

static const cli_opt_spec diff_opts[] = {
    {OPT_TYPE, "type", 't', 1},
    {OPT_INCLUDE, "proto-path", 'I', 1},
    {OPT_FORMAT, "format", 0, 1},
    {OPT_OUTPUT, "output", 'o', 1},
    {OPT_FAIL_ON, "fail-on", 0, 1},
    {OPT_CONFIG, "config", 'c', 1},
    {OPT_TODAY, "today", 0, 1},
    {OPT_HELP, "help", 'h', 0},
    {OPT_READER_RUNTIME, "reader-runtime", 0, 1},
    {OPT_READER_OPTION, "reader-option", 0, 1},
};

static int parse_args(diff_run *r, int argc, char **argv) {
  cli_opt_parser p;
  const char *value;
  int id;
  cli_opt_init(&p, diff_opts, sizeof diff_opts / sizeof diff_opts[0], argc,
               argv, CMD);
  while ((id = cli_opt_next(&p, &value)) != CLI_OPT_END) {
    switch (id) {
      case CLI_OPT_ERROR:
        return CLI_EXIT_USAGE;
      case CLI_OPT_ARG:
        if (r->n_paths == MAX_VERSIONS)
          return cli_usage_error(CMD, "more than %d schema versions",
                                 MAX_VERSIONS);
        r->paths[r->n_paths++] = value;
        break;
      case OPT_TYPE:
      case OPT_INCLUDE: {
        const char **list = id == OPT_TYPE ? r->types : r->includes;
        size_t *n = id == OPT_TYPE ? &r->n_types : &r->n_includes;
        if (value[0] == '\0')
          return cli_usage_error(CMD, "%s: empty value",
                                 id == OPT_TYPE ? "--type" : "--proto-path");
        if (*n == MAX_VERSIONS)
          return cli_usage_error(CMD, "too many %s options",
                                 id == OPT_TYPE ? "--type" : "--proto-path");
        list[(*n)++] = value;
        break;
      }
      case OPT_FORMAT:
        if (strcmp(value, "text") == 0)
          r->format = FORMAT_TEXT;
        else if (strcmp(value, "json") == 0)
          r->format = FORMAT_JSON;
        else if (strcmp(value, "sarif") == 0)
          r->format = FORMAT_SARIF;
        else
          return cli_usage_error(CMD,
                                 "invalid --format '%s': expected text, json "
                                 "or sarif",
                                 value);
        break;
      case OPT_OUTPUT:
        if (cli_opt_once(CMD, "--output", value, &r->output) != 0)
          return CLI_EXIT_USAGE;
        break;
      case OPT_FAIL_ON:
        if (parse_fail_on(value, &r->fail_on) != 0) return CLI_EXIT_USAGE;
        break;
      case OPT_CONFIG:
        if (cli_opt_once(CMD, "--config", value, &r->config_path) != 0)
          return CLI_EXIT_USAGE;
        break;
      case OPT_TODAY:
        if (cli_opt_once(CMD, "--today", value, &r->today_opt) != 0)
          return CLI_EXIT_USAGE;
        break;
      case OPT_READER_RUNTIME:
        if (cli_opt_reader_runtime(CMD, value, &r->runtime) != 0)
          return CLI_EXIT_USAGE;
        break;
      case OPT_READER_OPTION:
        if (cli_opt_reader_option(CMD, value, &r->runtime) != 0)
          return CLI_EXIT_USAGE;
        break;
      case OPT_HELP:
        r->help = 1;
        break;
    }
  }
  if (r->help) return 0;
  if (r->n_paths < 2)
    return cli_usage_error(CMD,
                           "give at least two schema versions, oldest first "
                           "(OLD NEW)");
  return 0;
}

static int set_today(diff_run *r) {
  const char *given = r->today_opt;
  const char *what = "--today";
  if (given == NULL) {
    given = getenv("ROLLSAFE_TODAY");
    what = "ROLLSAFE_TODAY";
    if (given != NULL && given[0] == '\0') given = NULL;
  }
  if (given != NULL) {
    if (!rs_diff_date_valid(given))
      return cli_usage_error(CMD, "invalid %s '%s': expected YYYY-MM-DD", what,
                             given);
    snprintf(r->today, sizeof r->today, "%s", given);
    return 0;
  }
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(r->today, sizeof r->today, "%Y-%m-%d", &tm);
  return 0;
}

/* Maps a library error to the exit code the CLI contract gives it. */
static int exit_for(int code) {
  return code == RS_EIO || code == RS_ENOMEM ? CLI_EXIT_IO : CLI_EXIT_USAGE;
}

static int apply_suppressions(diff_run *r) {
  if (r->config == NULL || r->config->diff.n_suppressions == 0) return 0;
  const cli_config_diff *d = &r->config->diff;
  r->applied = calloc(d->n_suppressions, sizeof *r->applied);
  if (r->applied == NULL) {
    cli_error(CMD, "out of memory");
    return CLI_EXIT_IO;
  }
  for (size_t i = 0; i < d->n_suppressions; i++) {
    applied *a = &r->applied[i];
    a->s = &d->suppressions[i];
    snprintf(a->label, sizeof a->label, "%s:%u:%u", r->config->path, a->s->line,
             a->s->col);
    rs_error err = RS_ERROR_INIT;
    int rc = rs_diff_report_suppress(r->report, a->s->rule, a->s->path,
                                     a->s->reason, a->s->expires, r->today,
                                     a->label, &a->matched, &a->status, &err);
    r->n_applied = i + 1;
    if (rc != 0) {
      cli_error(CMD, "%s: %s", a->label, err.message);
      return exit_for(rc);
    }
  }
  return 0;
}

/* Counts of unsuppressed findings per severity, and of suppressed ones. */
typedef struct tally {
  size_t by[4];
  size_t suppressed;
  size_t failing;
} tally;

static tally count(const diff_run *r) {
  tally t = {{0, 0, 0, 0}, 0, 0};
  for (size_t i = 0; r->report != NULL && i < rs_diff_report_count(r->report);
       i++) {
    const rs_diff_finding *f = rs_diff_report_get(r->report, i);
    if (rs_diff_finding_suppressed_by(f) != NULL) {
      t.suppressed++;
      continue;
    }
    int sev = (int)rs_diff_finding_severity(f);
    t.by[sev]++;
    if (r->fail_on > 0 && sev >= r->fail_on) t.failing++;
  }
  return t;
}

static const char *status_name(rs_diff_suppression_status s) {
  return s == RS_DIFF_SUPPRESSION_USED      ? "used"
         : s == RS_DIFF_SUPPRESSION_EXPIRED ? "expired"
                                            : "unused";
}

/* ---- schema origins --------------------------------------------------------
 */

/* The message version @p v's --type names: the v-th of NAME:NAME... when
 * there is one per version, else the one name. */
static void type_for(const diff_run *r, size_t v, char *out, size_t size) {
  const char *spec = r->types[0];
  size_t parts = 1;
  for (const char *c = spec; *c; c++) parts += *c == ':';
  if (parts != r->n_paths) {
    snprintf(out, size, "%s", spec);
    return;
  }
  const char *p = spec;
  for (size_t i = 0; i < v; i++) p = strchr(p, ':') + 1;
  snprintf(out, size, "%.*s", (int)strcspn(p, ":"), p);
}

/* Every version is a file; with one --type, the fingerprint of the message
 * it names in each (schema/README.md), as the reports of scan and fix give
 * the reader's. A version where it cannot be had (another spelling of the
 * name, a schema that does not load as runtime descriptors) has none. */
static void find_origins(diff_run *r) {
  for (size_t v = 0; v < r->n_paths; v++) {
    schema_origin *o = &r->origins[v];
    memset(o, 0, sizeof *o);
    o->source = SCHEMA_FILE;
    o->path = r->paths[v];
    r->message[v][0] = '\0';
    if (r->n_types != 1) continue;
    char name[256];
    type_for(r, v, name, sizeof name);
    rs_schema *s = NULL;
    rs_schema_options so = RS_SCHEMA_OPTIONS_INIT;
    so.include_dirs = r->n_includes ? r->includes : NULL;
    const ProtobufCMessageDescriptor *d = NULL;
    rs_registry_builder *b = NULL;
    rs_registry *reg = NULL;
    if (rs_schema_load(&s, r->paths[v], &so, NULL) == 0 &&
        rs_schema_find_message(&d, s, name, NULL) == 0 &&
        rs_registry_builder_new(&b, NULL, NULL) == 0 &&
        rs_registry_builder_add_version(b, "diff.Version", 1, d,
                                        RS_ENCODING_RAW, NULL) == 0) {
      if (rs_registry_build(&reg, b, NULL) == 0) {
        schema_origin_set_fingerprint(
            o, rs_registry_fingerprint(reg, "diff.Version", 1));
        snprintf(r->message[v], sizeof r->message[v], "%s", d->name);
      }
      b = NULL; /* consumed */
    }
    rs_registry_builder_free(b);
    rs_registry_free(reg);
    rs_schema_free(s);
  }
}

/* ---- text ---------------------------------------------------------------- */

static int write_text(FILE *out, void *ctx) {
  const diff_run *r = ctx;
  size_t n = rs_diff_report_count(r->report);
  char runtime[200];
  rs__runtime_text(&r->reader, runtime, sizeof runtime);
  fprintf(out,
          "rollsafe diff: %zu schema versions, oldest first; the old reader "
          "on the %s\n",
          r->n_paths, runtime);
  for (size_t v = 0; v < r->n_paths; v++) {
    fprintf(out, "  v%zu  %s", v + 1, r->paths[v]);
    if (r->message[v][0])
      fprintf(out, " (file; %s, fingerprint %s)", r->message[v],
              r->origins[v].fingerprint);
    else
      fputs(" (file)", out);
    fputc('\n', out);
  }
  if (r->n_types > 0) {
    fputs("types:", out);
    for (size_t i = 0; i < r->n_types; i++) fprintf(out, " %s", r->types[i]);
    fputc('\n', out);
  }
  size_t shown_reader = (size_t)-1, shown_writer = (size_t)-1;
  for (size_t i = 0; i < n; i++) {
    const rs_diff_finding *f = rs_diff_report_get(r->report, i);
    size_t ri = rs_diff_finding_reader(f), wi = rs_diff_finding_writer(f);
    if (ri != shown_reader || wi != shown_writer) {
      fprintf(out, "\nv%zu reads what v%zu writes (reader %s, writer %s):\n",
              ri + 1, wi + 1, r->paths[ri], r->paths[wi]);
      shown_reader = ri;
      shown_writer = wi;
    }
    const char *by = rs_diff_finding_suppressed_by(f);
    fprintf(out, "  %-10s %s  %s\n",
            by != NULL ? "suppressed"
                       : rs_diff_severity_name(rs_diff_finding_severity(f)),
            rs_diff_rule_id(rs_diff_finding_rule(f)), rs_diff_finding_path(f));
    if (rs_diff_finding_line(f) > 0)
      fprintf(out, "             %s:%u:%u\n", rs_diff_finding_file(f),
              rs_diff_finding_line(f), rs_diff_finding_column(f));
    else
      fprintf(out, "             %s\n", rs_diff_finding_file(f));
    fprintf(out, "             %s\n", rs_diff_finding_message(f));
    if (rs_diff_finding_verdict(f) != RS_DIFF_VERDICT_NONE)
      fprintf(out, "             verdict of such a record: %s\n",
              rs_diff_verdict_name(rs_diff_finding_verdict(f)));
    if (by != NULL)
      fprintf(out, "             suppressed by %s (%s): %s\n", by,
              rs_diff_severity_name(rs_diff_finding_severity(f)),
              rs_diff_finding_suppression_reason(f));
  }
  if (n == 0) fputs("\nno changes an old reader would notice\n", out);
  if (r->n_applied > 0) {
    fputs("\nsuppressions:\n", out);
    for (size_t i = 0; i < r->n_applied; i++) {
      const applied *a = &r->applied[i];
      fprintf(out, "  %s  %s %s: ", a->label, a->s->rule, a->s->path);
      if (a->status == RS_DIFF_SUPPRESSION_EXPIRED)
        fprintf(out,
                "EXPIRED on %s, suppresses nothing (%zu finding%s counted)\n",
                a->s->expires, a->matched, a->matched == 1 ? "" : "s");
      else if (a->status == RS_DIFF_SUPPRESSION_UNUSED)
        fprintf(out, "UNUSED, matches no finding (expires %s)\n",
                a->s->expires);
      else
        fprintf(out, "used by %zu finding%s (expires %s)\n", a->matched,
                a->matched == 1 ? "" : "s", a->s->expires);
    }
  }
  tally t = count(r);
  fprintf(out,
          "\ntotal: %zu error%s, %zu warning%s, %zu info; %zu suppressed\n",
          t.by[RS_DIFF_ERROR], t.by[RS_DIFF_ERROR] == 1 ? "" : "s",
          t.by[RS_DIFF_WARNING], t.by[RS_DIFF_WARNING] == 1 ? "" : "s",
          t.by[RS_DIFF_INFO], t.suppressed);
  if (r->exit_code == CLI_EXIT_FOUND)
    fprintf(out,
            "result: FINDINGS: %zu at or above %s, rollback-unsafe [exit 1]\n",
            t.failing, fail_on_name(r->fail_on));
  else
    fprintf(out, "result: CLEAN: nothing at or above %s [exit 0]\n",
            fail_on_name(r->fail_on));
  return 0;
}

/* ---- JSON ---------------------------------------------------------------- */

/* jansson's json_object_set_new, failing on a NULL value. */
static int set(json_t *obj, const char *key, json_t *value) {
  if (value == NULL) return -1;
  return json_object_set_new(obj, key, value);
}

/* A verdict as JSON: its name, or null when no record shows the change. */
static json_t *verdict_json(rs_diff_verdict v) {
  return v == RS_DIFF_VERDICT_NONE ? json_null()
                                   : json_string(rs_diff_verdict_name(v));
}

static json_t *json_document(const diff_run *r) {
  json_t *doc = json_object(), *versions = json_array(),
         *findings = json_array(), *supps = json_array(), *types = NULL;
  int bad =
      doc == NULL || versions == NULL || findings == NULL || supps == NULL;
  bad |=
      set(doc, "format_version", json_integer(RS_REPORT_FORMAT_VERSION)) != 0;
  bad |= set(doc, "command", json_string("diff")) != 0;
  bad |= set(doc, "rollsafe_version", json_string(rs_version())) != 0;
  for (size_t v = 0; !bad && v < r->n_paths; v++) {
    json_t *o = json_pack(
        "{s:I,s:s,s:s,s:o,s:o}", "version", (json_int_t)(v + 1), "path",
        r->paths[v], "source", schema_source_name(SCHEMA_FILE), "message",
        r->message[v][0] ? json_string(r->message[v]) : json_null(),
        "fingerprint",
        r->origins[v].fingerprint[0] ? json_string(r->origins[v].fingerprint)
                                     : json_null());
    bad |= o == NULL || json_array_append_new(versions, o) != 0;
  }
  bad |= set(doc, "versions", versions) != 0;
  versions = NULL;
  if (r->n_types > 0) {
    types = json_array();
    for (size_t i = 0; types != NULL && i < r->n_types; i++)
      bad |= json_array_append_new(types, json_string(r->types[i])) != 0;
    bad |= set(doc, "types", types) != 0;
  } else {
    bad |= set(doc, "types", json_null()) != 0;
  }
  bad |= set(doc, "fail_on", json_string(fail_on_name(r->fail_on))) != 0;
  bad |= set(doc, "reader_runtime", rs__json_runtime(&r->reader)) != 0;
  bad |= set(doc, "today", json_string(r->today)) != 0;
  for (size_t i = 0;
       !bad && r->report != NULL && i < rs_diff_report_count(r->report); i++) {
    const rs_diff_finding *f = rs_diff_report_get(r->report, i);
    size_t ri = rs_diff_finding_reader(f), wi = rs_diff_finding_writer(f);
    unsigned line = rs_diff_finding_line(f), col = rs_diff_finding_column(f);
    json_t *loc = json_pack("{s:s,s:o,s:o}", "file", rs_diff_finding_file(f),
                            "line", line ? json_integer(line) : json_null(),
                            "column", col ? json_integer(col) : json_null());
    const char *by = rs_diff_finding_suppressed_by(f);
    json_t *supp = by != NULL ? json_pack("{s:s,s:s}", "by", by, "reason",
                                          rs_diff_finding_suppression_reason(f))
                              : json_null();
    json_t *o = json_pack(
        "{s:s,s:s,s:o,s:s,s:s,s:o,s:I,s:s,s:I,s:s,s:b,s:o}", "rule",
        rs_diff_rule_id(rs_diff_finding_rule(f)), "severity",
        rs_diff_severity_name(rs_diff_finding_severity(f)), "verdict",
        verdict_json(rs_diff_finding_verdict(f)), "path",
        rs_diff_finding_path(f), "message", rs_diff_finding_message(f),
        "location", loc, "reader", (json_int_t)(ri + 1), "reader_path",
        r->paths[ri], "writer", (json_int_t)(wi + 1), "writer_path",
        r->paths[wi], "suppressed", by != NULL, "suppression", supp);
    bad |= o == NULL || json_array_append_new(findings, o) != 0;
  }
  bad |= set(doc, "findings", findings) != 0;
  findings = NULL;
  for (size_t i = 0; !bad && i < r->n_applied; i++) {
    const applied *a = &r->applied[i];
    json_t *o = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:s,s:I}", "rule", a->s->rule, "path", a->s->path,
        "reason", a->s->reason, "expires", a->s->expires, "location", a->label,
        "status", status_name(a->status), "matched", (json_int_t)a->matched);
    bad |= o == NULL || json_array_append_new(supps, o) != 0;
  }
  bad |= set(doc, "suppressions", supps) != 0;
  supps = NULL;
  tally t = count(r);
  bad |=
      set(doc, "summary",
          json_pack(
              "{s:I,s:I,s:I,s:I,s:I}", "error", (json_int_t)t.by[RS_DIFF_ERROR],
              "warning", (json_int_t)t.by[RS_DIFF_WARNING], "info",
              (json_int_t)t.by[RS_DIFF_INFO], "suppressed",
              (json_int_t)t.suppressed, "failing", (json_int_t)t.failing)) != 0;
  bad |= set(doc, "exit_code", json_integer(r->exit_code)) != 0;
  json_decref(versions);
  json_decref(findings);
  json_decref(supps);
  if (bad) {
    json_decref(doc);
    return NULL;
  }
  return doc;
}

/* ---- SARIF 2.1.0 ------------------------------------------------------------
 */

static const char *sarif_level(rs_diff_severity s) {
  return s == RS_DIFF_ERROR     ? "error"
         : s == RS_DIFF_WARNING ? "warning"
                                : "note";
}

/* A relative URI reference for a path: unreserved characters and '/' as
 * they are, the rest percent-encoded. */
static char *uri_of(const char *path) {
  size_t n = strlen(path);
  char *u = malloc(3 * n + 1), *o = u;
  if (u == NULL) return NULL;
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
        (*p >= '0' && *p <= '9') || strchr("-._~/", *p) != NULL)
      *o++ = (char)*p;
    else
      o += sprintf(o, "%%%02X", *p);
  }
  *o = '\0';
  return u;
}

/* Whether @p dir (a directory path, any form) holds @p rel. */
static int joined(char *out, size_t size, const char *dir, const char *rel) {
  int n = snprintf(out, size, "%s/%s", dir, rel);
  return n > 0 && (size_t)n < size && access(out, F_OK) == 0;
}

/*
 * The path of @p file relative to the current directory, the repository's
 * root where CI runs. The file is a schema as given (relative or absolute),
 * or a file as protoc recorded it, relative to the import root it was found
 * in: then it is looked for in the current directory, the directory of
 * each .proto given, and each -I directory. A file found nowhere keeps the
 * recorded name; one outside the current directory its name without the
 * directories: never an absolute path, never "..".
 */
static void repo_path(const diff_run *r, const char *file, char *out,
                      size_t size) {
  snprintf(out, size, "%s", file);
  char here[4096], cwd[4096], found[4096], real[4096];
  if (getcwd(here, sizeof here) == NULL) return;
  int hit = 0;
  if (file[0] == '/') {
    snprintf(found, sizeof found, "%s", file);
    hit = access(found, F_OK) == 0;
  } else {
    hit = joined(found, sizeof found, ".", file);
  }
  for (size_t v = 0; !hit && v < r->n_paths; v++) {
    const char *p = r->paths[v];
    size_t n = strlen(p);
    if (n < 6 || strcmp(p + n - 6, ".proto") != 0) continue;
    const char *slash = strrchr(p, '/');
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - p) : 1,
             slash ? p : ".");
    if (slash == p) snprintf(dir, sizeof dir, "/");
    hit = joined(found, sizeof found, dir, file);
  }
  for (size_t i = 0; !hit && i < r->n_includes; i++)
    hit = joined(found, sizeof found, r->includes[i], file);
  if (!hit || realpath(found, real) == NULL || realpath(here, cwd) == NULL) {
    if (file[0] == '/') {
      const char *base = strrchr(file, '/');
      snprintf(out, size, "%s", base + 1);
    }
    return;
  }
  size_t n = strlen(cwd);
  if (strcmp(cwd, "/") == 0)
    snprintf(out, size, "%s", real + 1);
  else if (strncmp(real, cwd, n) == 0 && real[n] == '/')
    snprintf(out, size, "%s", real + n + 1);
  else if (file[0] == '/')
    snprintf(out, size, "%s", strrchr(real, '/') + 1);
}

static json_t *sarif_location(const diff_run *r, const char *file,
                              unsigned line, unsigned col) {
  char path[4096];
  repo_path(r, file, path, sizeof path);
  char *uri = uri_of(path);
  if (uri == NULL) return NULL;
  /* Relative to the repository's root, which SARIF names %SRCROOT%. */
  json_t *phys = json_pack("{s:{s:s,s:s}}", "artifactLocation", "uri", uri,
                           "uriBaseId", "%SRCROOT%");
  free(uri);
  if (phys != NULL && line > 0 &&
      set(phys, "region",
          col > 0 ? json_pack("{s:i,s:i}", "startLine", (int)line,
                              "startColumn", (int)col)
                  : json_pack("{s:i}", "startLine", (int)line)) != 0) {
    json_decref(phys);
    return NULL;
  }
  return phys != NULL ? json_pack("{s:o}", "physicalLocation", phys) : NULL;
}

static json_t *sarif_document(const diff_run *r) {
  json_t *rules = json_array(), *results = json_array(), *notes = json_array();
  int bad = rules == NULL || results == NULL || notes == NULL;
  for (int i = 0; !bad && i < RS_DIFF_RULE_COUNT; i++) {
    rs_diff_rule rule = (rs_diff_rule)i;
    json_t *o = json_pack("{s:s,s:{s:s},s:{s:s},s:{s:[s,s],s:o}}", "id",
                          rs_diff_rule_id(rule), "shortDescription", "text",
                          rs_diff_rule_summary(rule), "defaultConfiguration",
                          "level", sarif_level(rs_diff_rule_severity(rule)),
                          "properties", "tags", "protobuf", "rollback",
                          "verdict", verdict_json(rs_diff_rule_verdict(rule)));
    bad |= o == NULL || json_array_append_new(rules, o) != 0;
  }
  for (size_t i = 0;
       !bad && r->report != NULL && i < rs_diff_report_count(r->report); i++) {
    const rs_diff_finding *f = rs_diff_report_get(r->report, i);
    size_t ri = rs_diff_finding_reader(f), wi = rs_diff_finding_writer(f);
    char fingerprint[600];
    snprintf(fingerprint, sizeof fingerprint, "%s|%s|v%zu|v%zu",
             rs_diff_rule_id(rs_diff_finding_rule(f)), rs_diff_finding_path(f),
             ri + 1, wi + 1);
    json_t *loc =
        sarif_location(r, rs_diff_finding_file(f), rs_diff_finding_line(f),
                       rs_diff_finding_column(f));
    if (loc != NULL &&
        set(loc, "logicalLocations",
            json_pack("[{s:s,s:s}]", "fullyQualifiedName",
                      rs_diff_finding_path(f), "kind", "member")) != 0) {
      json_decref(loc);
      loc = NULL;
    }
    json_t *o = json_pack(
        "{s:s,s:i,s:s,s:{s:s},s:[o],s:{s:s},s:{s:s,s:o,s:s,s:s}}", "ruleId",
        rs_diff_rule_id(rs_diff_finding_rule(f)), "ruleIndex",
        (int)rs_diff_finding_rule(f), "level",
        sarif_level(rs_diff_finding_severity(f)), "message", "text",
        rs_diff_finding_message(f), "locations", loc, "partialFingerprints",
        "rollsafeFinding/v1", fingerprint, "properties", "severity",
        rs_diff_severity_name(rs_diff_finding_severity(f)), "verdict",
        verdict_json(rs_diff_finding_verdict(f)), "reader", r->paths[ri],
        "writer", r->paths[wi]);
    const char *by = rs_diff_finding_suppressed_by(f);
    if (o != NULL && by != NULL) {
      char justification[600];
      snprintf(justification, sizeof justification, "%s (%s)",
               rs_diff_finding_suppression_reason(f), by);
      bad |= set(o, "suppressions",
                 json_pack("[{s:s,s:s,s:s}]", "kind", "external", "status",
                           "accepted", "justification", justification)) != 0;
    }
    bad |= o == NULL || json_array_append_new(results, o) != 0;
  }
  for (size_t i = 0; !bad && i < r->n_applied; i++) {
    const applied *a = &r->applied[i];
    if (a->status == RS_DIFF_SUPPRESSION_USED) continue;
    char text[600];
    if (a->status == RS_DIFF_SUPPRESSION_EXPIRED)
      snprintf(text, sizeof text,
               "suppression of %s at %s expired on %s and suppresses nothing "
               "(%zu finding%s counted)",
               a->s->rule, a->s->path, a->s->expires, a->matched,
               a->matched == 1 ? "" : "s");
    else
      snprintf(text, sizeof text, "suppression of %s at %s matches no finding",
               a->s->rule, a->s->path);
    json_t *loc = sarif_location(r, r->config->path, a->s->line, a->s->col);
    json_t *o = json_pack("{s:s,s:{s:s},s:[o]}", "level", "warning", "message",
                          "text", text, "locations", loc);
    bad |= o == NULL || json_array_append_new(notes, o) != 0;
  }
  if (bad) {
    json_decref(rules);
    json_decref(results);
    json_decref(notes);
    return NULL;
  }
  return json_pack("{s:s,s:s,s:[{s:{s:{s:s,s:s,s:o}},s:[{s:b,s:i,s:o}],s:o}]}",
                   "$schema", "https://json.schemastore.org/sarif-2.1.0.json",
                   "version", "2.1.0", "runs", "tool", "driver", "name",
                   "rollsafe", "version", rs_version(), "rules", rules,
                   "invocations", "executionSuccessful", 1, "exitCode",
                   r->exit_code, "toolConfigurationNotifications", notes,
                   "results", results);
}

static int write_json(FILE *out, void *ctx) {
  const diff_run *r = ctx;
  json_t *doc =
      r->format == FORMAT_SARIF ? sarif_document(r) : json_document(r);
  if (doc == NULL) return -1;
  int rc = json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(doc);
  if (rc == 0 && fputc('\n', out) == EOF) rc = -1;
  return rc;
}

/* ---- the command ------------------------------------------------------------
 */

static void run_free(diff_run *r) {
  for (size_t i = 0; i < r->n_paths; i++) rs_diff_schema_free(r->schemas[i]);
  rs_diff_report_free(r->report);
  cli_config_free(r->config);
  free(r->applied);
}

static int run(diff_run *r) {
  int rc = set_today(r);
  if (rc != 0) return rc;
  if (r->config_path != NULL) {
    char msg[512];
    rc = cli_config_load_diff(&r->config, r->config_path, msg, sizeof msg);
    if (rc != 0) {
      cli_error(CMD, "%s", msg);
      return rc;
    }
    if (r->fail_on == 0) r->fail_on = r->config->diff.fail_on;
  }
  if (r->fail_on == 0) r->fail_on = RS_DIFF_ERROR;
  r->reader = (rs_reader)RS_READER_INIT;
  rc = cli_runtime_resolve(&r->reader, &r->runtime, NULL,
                           r->config != NULL ? &r->config->runtime : NULL,
                           r->config_path, NULL, CMD);
  if (rc != 0) return rc;

  r->includes[r->n_includes] = NULL;
  for (size_t i = 0; i < r->n_paths; i++) {
    rs_error err = RS_ERROR_INIT;
    rc = rs_diff_schema_load(&r->schemas[i], r->paths[i],
                             r->n_includes ? r->includes : NULL, &err);
    if (rc != 0) {
      cli_error(CMD, "%s", err.message);
      return exit_for(rc);
    }
  }
  rs_diff_options opts = RS_DIFF_OPTIONS_INIT;
  opts.runtime = r->reader.runtime;
  opts.runtime_flags = r->reader.runtime_flags;
  r->types[r->n_types] = NULL;
  find_origins(r);
  opts.types = r->n_types ? r->types : NULL;
  rs_error err = RS_ERROR_INIT;
  rc = rs_diff_compare(&r->report, (const rs_diff_schema *const *)r->schemas,
                       r->n_paths, &opts, &err);
  if (rc != 0) {
    cli_error(CMD, "%s", err.message);
    return exit_for(rc);
  }
  rc = apply_suppressions(r);
  if (rc != 0) return rc;
  r->exit_code = count(r).failing > 0 ? CLI_EXIT_FOUND : CLI_EXIT_CLEAN;

  cli_write_fn fn = r->format == FORMAT_TEXT ? write_text : write_json;
  r->reported = 1;
  if (r->output != NULL) {
    rc = cli_write_file(CMD, r->output, fn, r);
    if (rc != 0) return rc;
    return r->exit_code;
  }
  if (fn(stdout, r) != 0) {
    cli_error(CMD, "cannot write the report");
    return CLI_EXIT_IO;
  }
  return cli_finish_stdout(CMD, r->exit_code);
}

int cli_diff_run(int argc, char **argv) {
  diff_run r;
  memset(&r, 0, sizeof r);
  r.runtime = (cli_runtime_args)CLI_RUNTIME_ARGS_INIT;
  r.reader = (rs_reader)RS_READER_INIT;
  int rc = parse_args(&r, argc, argv);
  if (rc != 0) return rc;
  if (r.help) {
    cli_diff_help(stdout);
    return cli_finish_stdout(CMD, CLI_EXIT_CLEAN);
  }
  if ((rc = cli_output_check(CMD, "-o", r.output)) != 0) {
    run_free(&r);
    return rc;
  }
  rc = run(&r);
  /* --format json is one document on every path: a schema or configuration
   * that cannot be used gives one without findings, with the exit code. */
  if (!r.reported && rc != CLI_EXIT_CLEAN && rc != CLI_EXIT_FOUND &&
      r.format == FORMAT_JSON) {
    rs_diff_report_free(r.report);
    r.report = NULL;
    r.n_applied = 0;
    r.exit_code = rc;
    if (r.fail_on == 0) r.fail_on = RS_DIFF_ERROR;
    if (r.output != NULL) {
      int w = cli_write_file(CMD, r.output, write_json, &r);
      if (w != 0) rc = w;
    } else if (write_json(stdout, &r) != 0) {
      rc = CLI_EXIT_IO;
    } else {
      rc = cli_finish_stdout(CMD, rc);
    }
  }
  run_free(&r);
  return rc;
}
