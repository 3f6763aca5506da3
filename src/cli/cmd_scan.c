#define _POSIX_C_SOURCE 200809L
/*
 * src/cli/cmd_scan.c: `rollsafe scan`, which records of one table (or of
 * every target of a config file) the old reader cannot read, who wrote them
 * and when.
 *
 * Read-only by construction: the adapters open SQLite read-only and run
 * PostgreSQL in a READ ONLY transaction. An interrupted scan (SIGINT,
 * SIGTERM) still writes the report of what it read, marked incomplete, and
 * exits 4: inconclusive, never clean.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rollsafe/rollsafe.h>

#include "cli.h"
#include "config.h"
#include "opt.h"
#include "output.h"
#include "report/progress.h"
#include "report/scan_report.h"
#include "interrupt.h"
#include "targets.h"
#include "verify/scan.h"
#include "verify/util.h"

#define CMD "scan"
#define DEFAULT_SAMPLES 10

void cli_scan_help(FILE *out) {
  static const char *const lines[] = {
      "usage: " CLI_PROGRAM " scan -c CONFIG [options]",
      "       " CLI_PROGRAM
      " scan (--sqlite PATH | --postgres CONNINFO) --table T",
      "                     [--key K[,K2...]] --column C --type TYPE [options]",
      "",
      "Reads every record of a table (or of each target of a config file)",
      "and tells what the reader, by default the version before the newest",
      "(the old code), makes of it: ok, ignored_fields, misread, unreadable",
      "or corrupt. The report gives the counts per verdict, per writer",
      "(format version, flag and variant, first and last write time) and the",
      "first keys of each verdict with their reasons. Nothing is written to",
      "the database: SQLite is opened read-only and PostgreSQL is read in a",
      "READ ONLY transaction.",
      "",
      "Target:",
      "  -c, --config FILE        targets, feature and reader from a YAML file",
      "      --sqlite PATH        a SQLite database file",
      CLI_POSTGRES_HELP,
      "      --table T            table, or schema.table",
      "      --key K[,K2...]      the columns naming rows: the primary key, or",
      "                           the columns of a unique index (default: the",
      "                           primary key, whatever its columns; a table",
      "                           without one is scanned with rows named by",
      "                           rowid or ctid, which are positions)",
      "      --column C           the column holding the records",
      CLI_COLUMN_ENCODING_HELP,
      "      --type TYPE          record type, e.g. shop.Order",
      "      --where SQL          an extra condition, e.g. a time window. It "
      "is",
      "                           your own SQL, inserted as is: use it only "
      "with",
      "                           text you trust",
      "      --name NAME          the target's name in the report (default: "
      "the",
      "                           table)",
      "      --queue              the table is a queue (outbox): see "
      "--state-column",
      "      --state-column COL   a queue's state column: only messages in a",
      "                           pending or in-flight state are read",
      "      --pending-states S,S states still waiting for a consumer "
      "(default",
      "                           pending)",
      "      --in-flight-states S,S  states of messages a consumer holds",
      "      --stream FILE        a file of varint-length-delimited records "
      "(a",
      "                           queue dump), with --type; records are "
      "named",
      "                           INDEX@OFFSET",
      "      --kafka BOOTSTRAP    a Kafka topic: its brokers (host:port,...), "
      "with",
      "                           --topic and --type; messages are named",
      "                           PARTITION@OFFSET. Read-only: partitions are",
      "                           assigned, never a group joined or an "
      "offset",
      "                           committed; each partition is read up to its",
      "                           high watermark at the start",
      "      --topic TOPIC        the topic",
      "      --group GROUP        start each partition at GROUP's committed",
      "                           offset: what its consumers have not read "
      "yet",
      "                           (a partition without one: from the "
      "beginning)",
      "      --since TIME         start at the first message written at or "
      "after",
      "                           TIME (as --written-after)",
      "      --from-beginning     start at the oldest message kept (the "
      "default)",
      "      --kafka-property NAME=VALUE  a librdkafka property (SASL, SSL, "
      "...);",
      "                           repeatable. Secrets (passwords, keys) are",
      "                           refused here: see the next two options",
      "      --kafka-property-file FILE  properties as NAME=VALUE lines",
      "      --kafka-property-env NAME=VARIABLE  property NAME from the",
      "                           environment variable VARIABLE",
      "      --kafka-timeout SECONDS  how long the brokers may take to "
      "answer",
      "                           (default 30); then the scan fails, exit 3",
      "                           Headers rollsafe-flag, rollsafe-variant,",
      "                           rollsafe-writer and rollsafe-write-time "
      "(Unix",
      "                           microseconds) give a message without an",
      "                           envelope its provenance",
      "",
      "Reader and filters:",
      "      --reader-version N   highest format version the reader knows",
      "                           (default: the one before the newest)",
      "      --reader-framing F   raw: plain protobuf code, which cannot read",
      "                           envelopes; envelope: code linked with "
      "rollsafe;",
      "                           confluent: code reading through Confluent's",
      "                           deserializer, which needs its wire format",
      "                           (default: as the reader's version is framed)",
      CLI_READER_RUNTIME_HELP,
      CLI_RAW_WRITER_HELP,
      CLI_SCHEMA_ID_HELP,
      CLI_TYPES_HELP,
      "      --flag KEY[=VARIANT] count only records whose provenance names "
      "this",
      "                           flag (and variant)",
      "      --written-after TIME count only records whose envelope says they",
      "                           were written after TIME: RFC 3339",
      "                           (2026-11-26T09:30:00Z, with Z or an offset),",
      "                           a date (UTC midnight), or @UNIX_SECONDS",
      "                           Records without provenance (raw records) "
      "cannot",
      "                           be told apart by either filter: they are",
      "                           judged and counted as unattributed",
      "",
      "Output:",
      "      --format F           text (default) or json: one JSON document",
      "  -o, --output FILE        write the report to FILE (atomically)",
      "      --metrics FILE       also write OpenMetrics text (rows by target "
      "and",
      "                           verdict, duration, last write per flag)",
      "      --samples N          keys kept per verdict (default 10)",
      "",
      "Parallel and sharded scans:",
      "  -j, --jobs N             N threads, each on its own connection "
      "(default 1,",
      "                           or the config's jobs): targets side by",
      "                           side, and a table split into rowid (SQLite)",
      "                           or block (PostgreSQL) ranges. The report is",
      "                           the one --jobs 1 writes, record for record",
      "      --shard K/N          this process is shard K (0 to N-1) of N:",
      "                           it judges only the rows whose key hashes "
      "to K,",
      "                           so N processes (e.g. a Kubernetes Indexed",
      "                           Job) cover every row once; combine their",
      "                           JSON reports with '" CLI_PROGRAM " merge'",
      "",
      "Sampled scans (an estimate in seconds):",
      "      --sample PERCENT     read about PERCENT% of each table's rows",
      "                           (above 0, below 100; 100: every row; or the",
      "                           config's sample): PostgreSQL TABLESAMPLE",
      "                           SYSTEM (blocks), SQLite random rowid "
      "windows.",
      "                           Counts are of the sample; the report adds an",
      "                           ESTIMATE of the whole with 95% intervals.",
      "                           Exit 1 when the sample holds findings, else",
      "                           4, never 0. Tables and queues only; not with",
      "                           --shard",
      "      --sample-seed N      draw the sample from seed N (0 to",
      "                           2147483647); without it a seed is drawn and",
      "                           printed, and the same seed on an unchanged",
      "                           table reads the same rows",
      "",
      "Limits:",
      CLI_MAX_ALLOC_HELP,
      "                           (the scan goes on with the next record;",
      "                           its peak memory stays under BYTES plus",
      "                           64 MiB)",
      "      --statement-timeout DURATION  PostgreSQL: end a target's read",
      "                           after DURATION (500ms, 90s, 5m), exit 4.",
      "                           Default: none, whatever the role or the",
      "                           database sets",
      CLI_QUIET_HELP,
      "  -h, --help               show this help",
      "",
      "Progress (rows, rows/s, estimated total, time left) is shown on stderr",
      "when it is a terminal, unless -q. Ctrl-C stops the scan and still "
      "writes the",
      "report so far, with \"complete\": false; a second Ctrl-C quits at once.",
      "",
      "Exit status:",
      "  0  clean: every record counted is read correctly (ok, ignored_fields)",
      "  1  found records the reader cannot read correctly",
      "  2  usage or configuration error (also: --key naming columns that are",
      "     not a key of the table)",
      "  3  connection or I/O error",
      "  4  inconclusive: interrupted, a target stopped early, records whose",
      "     writer could not be decided (undetermined), or nothing verified",
      "     (the filters left out every record, or the selection is empty),",
      "     or a sample (--sample) without findings",
      "",
      "Examples:",
      "  " CLI_PROGRAM " scan -c rollsafe.yaml",
      "  " CLI_PROGRAM " scan --sqlite demo.db --table orders --key id \\",
      "      --column payload --type shop.Order --format json -o report.json",
      "  " CLI_PROGRAM " scan -c rollsafe.yaml --flag checkout_v2 \\",
      "      --written-after 2026-11-26T09:30:00Z",
  };
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
    fprintf(out, "%s\n", lines[i]);
}

typedef struct scan_args {
  cli_target_args t;
  char *flag_key; /* owned: split from --flag */
  char *flag_variant;
  int64_t written_after_us;
  const char *written_after_text;
  int json;
  const char *output;
  const char *metrics;
  size_t samples;
  size_t max_alloc;                   /* 0: the codec's default */
  unsigned long statement_timeout_ms; /* 0: the config's, else none */
  unsigned jobs;                      /* 0: the config's, else 1 */
  unsigned shard_index, shard_count;  /* --shard K/N; count 0: none */
  /* --sample PERCENT (0: the config's, else every row; 100: every row)
   * and --sample-seed; `sampling` once run() settled that a sample is
   * read, `sample` then what the stores are given. */
  double sample_percent;
  int has_sample_seed;
  int sampling;
  store_sample sample;
  int help;
} scan_args;

enum {
  OPT_FLAG = 1,
  OPT_WRITTEN_AFTER,
  OPT_FORMAT,
  OPT_OUTPUT,
  OPT_METRICS,
  OPT_SAMPLES,
  OPT_MAX_ALLOC,
  OPT_STATEMENT_TIMEOUT,
  OPT_JOBS,
  OPT_SHARD,
  OPT_SAMPLE,
  OPT_SAMPLE_SEED,
  OPT_HELP
};

static const cli_opt_spec scan_opts[] = {
    CLI_TARGET_OPT_SPECS,
    CLI_KAFKA_OPT_SPECS,
    {OPT_FLAG, "flag", 0, 1},
    {OPT_WRITTEN_AFTER, "written-after", 0, 1},
    {OPT_FORMAT, "format", 0, 1},
    {OPT_OUTPUT, "output", 'o', 1},
    {OPT_METRICS, "metrics", 0, 1},
    {OPT_SAMPLES, "samples", 0, 1},
    {OPT_MAX_ALLOC, "max-alloc", 0, 1},
    {OPT_STATEMENT_TIMEOUT, "statement-timeout", 0, 1},
    {OPT_JOBS, "jobs", 'j', 1},
    {OPT_SHARD, "shard", 0, 1},
    {OPT_SAMPLE, "sample", 0, 1},
    {OPT_SAMPLE_SEED, "sample-seed", 0, 1},
    {OPT_HELP, "help", 'h', 0},
};

/* ---- --written-after ------------------------------------------------------
 */

/* Days from 1970-01-01 to the civil date (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char **s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if ((*s)[i] < '0' || (*s)[i] > '9') return -1;
    v = v * 10 + ((*s)[i] - '0');
  }
  *s += n;
  *out = v;
  return 0;
}

/*
 * RFC 3339 ("2026-11-26T09:30:00Z", "...T09:30:00.5+01:00", a space for the
 * T), a bare date (midnight UTC), or "@" and Unix seconds. A time without a
 * zone is refused: during an incident, guessing the zone is how a filter
 * silently misses the writes that matter. 0; -1 malformed; -2 when the
 * date is not in the calendar (2026-02-30).
 */
int cli_parse_time(const char *text, int64_t *out_us) {
  const char *s = text;
  if (*s == '@') {
    char *end;
    errno = 0;
    long long v = strtoll(s + 1, &end, 10);
    if (errno != 0 || end == s + 1 || *end != '\0' || v < 0 ||
        v > 253402300799LL)
      return -1;
    *out_us = (int64_t)v * 1000000;
    return 0;
  }
  int y, mo, d, h = 0, mi = 0, sec = 0;
  if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
      digits(&s, 2, &d))
    return -1;
  /* One calendar rule with diff's expires: 2026-02-30 is no date. */
  char date[11];
  memcpy(date, text, 10);
  date[10] = '\0';
  if (!rs_diff_date_valid(date)) return -2;
  int64_t frac_us = 0, offset_s = 0;
  if (*s != '\0') {
    if (*s != 'T' && *s != 't' && *s != ' ') return -1;
    s++;
    if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi)) return -1;
    if (*s == ':') {
      s++;
      if (digits(&s, 2, &sec)) return -1;
      if (*s == '.') {
        s++;
        int64_t scale = 100000;
        if (*s < '0' || *s > '9') return -1;
        for (; *s >= '0' && *s <= '9'; s++, scale /= 10)
          frac_us += (*s - '0') * scale;
      }
    }
    if (h > 23 || mi > 59 || sec > 60) return -1;
    if (*s == 'Z' || *s == 'z') {
      s++;
    } else if (*s == '+' || *s == '-') {
      int sign = *s++ == '-' ? -1 : 1, oh, om;
      if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om) || oh > 23 ||
          om > 59)
        return -1;
      offset_s = sign * (oh * 3600 + om * 60);
    } else {
      return -1;
    }
    if (*s != '\0') return -1;
  }
  int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
                 h * 3600 + mi * 60 + sec - offset_s;
  *out_us = secs * 1000000 + frac_us;
  return 0;
}

/* ---- arguments --------------------------------------------------------------
 */

static int parse_args(scan_args *a, int argc, char **argv) {
  cli_opt_parser p;
  cli_opt_init(&p, scan_opts, sizeof scan_opts / sizeof scan_opts[0], argc,
               argv, CMD);
  const char *value;
  int id, rc = 0;
  while (rc == 0 && (id = cli_opt_next(&p, &value)) != CLI_OPT_END) {
    switch (id) {
      case CLI_OPT_ERROR:
        return CLI_EXIT_USAGE;
      case CLI_OPT_ARG:
        return cli_usage_error(CMD, "unexpected argument '%s'", value);
      case CLI_TOPT_CONFIG:
      case CLI_TOPT_SQLITE:
      case CLI_TOPT_POSTGRES:
      case CLI_TOPT_TABLE:
      case CLI_TOPT_KEY:
      case CLI_TOPT_COLUMN:
      case CLI_TOPT_TYPE:
      case CLI_TOPT_WHERE:
      case CLI_TOPT_NAME:
      case CLI_TOPT_READER_VERSION:
      case CLI_TOPT_READER_FRAMING:
      case CLI_TOPT_QUEUE:
      case CLI_TOPT_STATE_COLUMN:
      case CLI_TOPT_PENDING_STATES:
      case CLI_TOPT_IN_FLIGHT_STATES:
      case CLI_TOPT_STREAM:
      case CLI_TOPT_RAW_WRITER:
      case CLI_TOPT_SCHEMA_ID:
      case CLI_TOPT_COLUMN_ENCODING:
      case CLI_TOPT_POSTGRES_ENV:
      case CLI_TOPT_READER_RUNTIME:
      case CLI_TOPT_READER_OPTION:
      case CLI_YOPT_SCHEMA:
      case CLI_YOPT_PLUGIN:
      case CLI_YOPT_MESSAGE:
      case CLI_YOPT_PROTO_PATH:
      case CLI_TOPT_KAFKA:
      case CLI_TOPT_TOPIC:
      case CLI_TOPT_GROUP:
      case CLI_TOPT_FROM_BEGINNING:
      case CLI_TOPT_KAFKA_PROPERTY:
      case CLI_TOPT_KAFKA_PROPERTY_ENV:
      case CLI_TOPT_KAFKA_PROPERTY_FILE:
      case CLI_TOPT_KAFKA_TIMEOUT:
        if (cli_target_opt(&a->t, id, value, CMD) == CLI_EXIT_USAGE)
          return CLI_EXIT_USAGE;
        break;
      case OPT_FLAG: {
        if (a->flag_key != NULL)
          return cli_usage_error(CMD, "--flag given twice");
        const char *eq = strchr(value, '=');
        size_t klen = eq ? (size_t)(eq - value) : strlen(value);
        if (klen == 0 || (eq != NULL && eq[1] == '\0'))
          return cli_usage_error(CMD,
                                 "invalid --flag '%s': expected KEY or "
                                 "KEY=VARIANT",
                                 value);
        a->flag_key = strndup(value, klen);
        if (eq != NULL) a->flag_variant = strdup(eq + 1);
        if (a->flag_key == NULL || (eq != NULL && a->flag_variant == NULL)) {
          cli_error(CMD, "out of memory");
          return CLI_EXIT_IO;
        }
        break;
      }
      case CLI_TOPT_SINCE:
        if (cli_kafka_since(&a->t.kafka, value, CMD) != 0)
          return CLI_EXIT_USAGE;
        break;
      case OPT_WRITTEN_AFTER:
        rc = cli_parse_time(value, &a->written_after_us);
        if (rc == -2)
          return cli_usage_error(CMD,
                                 "invalid --written-after '%s': %.10s is not "
                                 "a date in the calendar",
                                 value, value);
        if (rc != 0)
          return cli_usage_error(
              CMD,
              "invalid --written-after '%s': expected RFC 3339 with a zone "
              "(2026-11-26T09:30:00Z), a date (2026-11-26) or @UNIX_SECONDS",
              value);
        a->written_after_text = value;
        if (a->written_after_us == 0) a->written_after_us = 1;
        break;
      case OPT_FORMAT:
        if (cli_opt_format(CMD, value, &a->json) != 0) return CLI_EXIT_USAGE;
        break;
      case OPT_OUTPUT:
        rc = cli_opt_once(CMD, "--output", value, &a->output);
        break;
      case OPT_METRICS:
        rc = cli_opt_once(CMD, "--metrics", value, &a->metrics);
        break;
      case OPT_SAMPLES: {
        unsigned long n;
        if (cli_opt_number(CMD, "--samples", value, 0, 10000, &n) != 0)
          return CLI_EXIT_USAGE;
        a->samples = n;
        break;
      }
      case OPT_MAX_ALLOC:
        if (cli_opt_bytes(CMD, "--max-alloc", value, CLI_MIN_MAX_ALLOC,
                          CLI_MAX_MAX_ALLOC, &a->max_alloc) != 0)
          return CLI_EXIT_USAGE;
        break;
      case OPT_STATEMENT_TIMEOUT:
        if (cli_opt_millis(CMD, "--statement-timeout", value, 1,
                           CLI_TIMEOUT_MS_MAX, &a->statement_timeout_ms) != 0)
          return CLI_EXIT_USAGE;
        break;
      case OPT_JOBS: {
        unsigned long n;
        if (a->jobs != 0) return cli_usage_error(CMD, "--jobs given twice");
        if (cli_opt_number(CMD, "--jobs", value, 1, CLI_JOBS_MAX, &n) != 0)
          return CLI_EXIT_USAGE;
        a->jobs = (unsigned)n;
        break;
      }
      case OPT_SHARD:
        if (a->shard_count != 0)
          return cli_usage_error(CMD, "--shard given twice");
        if (cli_opt_shard(value, CLI_SHARDS_MAX, &a->shard_index,
                          &a->shard_count) != 0)
          return cli_usage_error(CMD,
                                 "invalid --shard '%s': expected K/N, N from "
                                 "1 to %d and K from 0 to N-1",
                                 value, CLI_SHARDS_MAX);
        break;
      case OPT_SAMPLE:
        if (a->sample_percent != 0)
          return cli_usage_error(CMD, "--sample given twice");
        if (cli_parse_percent(value, &a->sample_percent) != 0)
          return cli_usage_error(CMD,
                                 "invalid --sample '%s': expected a percent "
                                 "of the rows above 0 and at most 100 (e.g. "
                                 "1 or 0.5)",
                                 value);
        break;
      case OPT_SAMPLE_SEED: {
        unsigned long n;
        if (a->has_sample_seed)
          return cli_usage_error(CMD, "--sample-seed given twice");
        if (cli_opt_number(CMD, "--sample-seed", value, 0, 2147483647ul, &n) !=
            0)
          return CLI_EXIT_USAGE;
        a->sample.seed = (uint32_t)n;
        a->has_sample_seed = 1;
        break;
      }
      case OPT_HELP:
        a->help = 1;
        break;
      default:
        return cli_usage_error(CMD, "unhandled option");
    }
  }
  if (rc != 0 || a->help) return rc;
  if ((rc = cli_output_check(CMD, "-o", a->output)) != 0 ||
      (rc = cli_output_check(CMD, "--metrics", a->metrics)) != 0)
    return rc;
  return cli_target_check(&a->t, CMD);
}

/* ---- the scan
 * ------------------------------------------------------------------- */

static int write_json(FILE *out, void *ctx) {
  json_t *doc = scan_report_json(ctx);
  if (doc == NULL) return -1;
  int rc = json_dumpf(doc, out, JSON_INDENT(2));
  json_decref(doc);
  if (rc == 0 && fputc('\n', out) == EOF) rc = -1;
  return rc;
}

static int write_text(FILE *out, void *ctx) {
  return scan_report_text(out, ctx);
}

static int write_metrics(FILE *out, void *ctx) {
  return scan_report_metrics(out, ctx);
}

/* The exit code of a finished (or stopped) scan, worst first: a broken
 * configuration, then a target that could not be read, then an incomplete
 * scan; only a complete scan may say clean or found. */
static int exit_code_of(const scan_report *r, int codec_failed) {
  int usage = 0, io = codec_failed;
  for (size_t i = 0; i < r->n_targets; i++) {
    const scan_report_target *t = &r->targets[i];
    int st = t->status;
    if (st == STORE_EUSAGE) usage = 1;
    if (st == STORE_EIO || st == STORE_ENOMEM) io = 1;
  }
  if (usage) return CLI_EXIT_USAGE;
  if (io) return CLI_EXIT_IO;
  if (!scan_report_complete(r)) return CLI_EXIT_INCOMPLETE;
  if (scan_report_findings(r) > 0) return CLI_EXIT_FOUND;
  /* A sample without findings does not show there are none. */
  if (r->sampled) return CLI_EXIT_INCOMPLETE;
  /* Never clean without a claim about every record counted, nor when
   * nothing was checked at all. */
  if (scan_report_undetermined(r) > 0 || scan_report_nothing_verified(r))
    return CLI_EXIT_INCOMPLETE;
  return CLI_EXIT_CLEAN;
}

/*
 * Writes what the command line asked for. Once -o or --metrics is given it
 * is always written, failures included (exit_code set, complete false): a
 * file a pipeline reads must never keep an older run's "clean".
 */
static int write_outputs(const scan_args *a, scan_report *report, int status,
                         int scanned) {
  report->exit_code = status;
  int w = 0;
  /* A text report of nothing adds nothing to the error already printed. */
  if (a->json || scanned || a->output != NULL)
    w = cli_write_file(CMD, a->output ? a->output : "-",
                       a->json ? write_json : write_text, report);
  if (a->metrics != NULL) {
    int m = cli_write_file(CMD, a->metrics, write_metrics, report);
    if (w == 0) w = m;
  }
  return w != 0 ? w : status;
}

/* A Kafka topic's partitions, copied into the report (NULL when out of
 * memory: the report then lists none). */
static void keep_partitions(scan_report_target *t, store *s) {
  const store_partition *parts;
  size_t n;
  store_partitions(s, &parts, &n);
  if (n == 0) return;
  t->partitions = malloc(n * sizeof *parts);
  if (t->partitions == NULL) return;
  memcpy(t->partitions, parts, n * sizeof *parts);
  t->n_partitions = n;
}

/* The scan options of target @p i (its codec options in @p copts), without
 * progress. */
static void target_scan_options(scan_options *o, rs_options *copts,
                                const scan_args *a, const cli_target_set *set,
                                size_t i, const scan_report_target *t) {
  *copts = (rs_options)RS_OPTIONS_INIT;
  copts->schema_ids = set->targets[i].schema_ids;
  copts->n_schema_ids = set->targets[i].n_schema_ids;
  copts->max_alloc = a->max_alloc;
  *o = (scan_options){
      .registry = set->registry,
      .codec_options = copts,
      .reader = {RS_READER_VERSION, t->reader_version, t->reader_framing,
                 t->raw_writer, t->runtime.runtime, t->runtime.runtime_flags,
                 t->runtime.recursion_limit},
      .column_encoding = set->targets[i].column_encoding,
      .flag_key = a->flag_key,
      .flag_variant = a->flag_variant,
      .written_after_us = a->written_after_us,
      .max_samples = a->samples,
      .interrupted = &cli_interrupted,
      .shard_index = a->shard_index,
      .shard_count = a->shard_count,
      /* A shard's writers are folded by merge, over all shards. */
      .max_writers = a->shard_count > 0 ? SCAN_PART_WRITERS : 0};
}

/* The rows the progress line expects of @p s: the table's estimate, or
 * of a sample the part of it the sample reads. */
static int64_t progress_rows(store *s) {
  int64_t rows = store_estimate_rows(s);
  store_sample_info info;
  store_sample_of(s, &info);
  if (rows > 0 && info.fraction > 0)
    rows = (int64_t)((double)rows * info.fraction);
  return rows;
}

/* What the stores are to sample, or NULL: every row. */
static const store_sample *sample_of(const scan_args *a) {
  return a->sampling ? &a->sample : NULL;
}

/* What an opened store says of its target, into the report. */
static void note_store(scan_report_target *t, store *s) {
  t->description = strdup(store_describe(s));
  store_sample_of(s, &t->sample);
  /* Stream files and topics name records by position, as they should:
   * no key to resolve, nothing to note. */
  if (t->target.kind != STORE_STREAM_FILE &&
      t->target.kind != STORE_KAFKA_TOPIC) {
    snprintf(t->key_name, sizeof t->key_name, "%s", store_key(s));
    t->target.key = t->key_name;
    t->key_parts = store_key_parts(s);
    t->rows_by_position = t->key_parts == 0;
  }
}

/* ---- --jobs: parallel scans ---------------------------------------------
 *
 * Each target is opened once on this thread to be split into ranges
 * (store_split), then closed; the ranges of every target are units of
 * work that N threads take in order, each unit on a connection of its own
 * with its own classifiers and result. Once all are done, each target's
 * units are merged in range order (scan_result_merge), which gives the
 * result one scan of the whole target gives: ranges are read in the order
 * a whole scan reads rows. The per-row path is the one --jobs 1 runs; the
 * threads share only the immutable registry, the unit counter and the
 * progress line (touched every few thousand rows).
 */

typedef struct scan_unit {
  size_t target;
  store_range range;
  int single; /* the target's only unit: framing and partitions kept here */
  int ran, rc;
  rs_error err;
  scan_result result;
  int truncated;
  store_framing framing;
  store_partition *partitions;
  size_t n_partitions;
  _Atomic uint64_t rows; /* progress */
  store *active;         /* open and scanning; under scan_pool.mu */
} scan_unit;

typedef struct scan_pool {
  const scan_args *a;
  const cli_target_set *set;
  scan_report *report;
  const store_open_options *sopts;
  /* Per target: the snapshot its units share, or "". */
  const char (*snapshots)[64];
  scan_unit *units;
  size_t n_units;
  /* next, running, each unit's active store, and done (signalled) */
  pthread_mutex_t mu;
  pthread_cond_t done;
  size_t next, running;
  /* Set by pool_wait once the signal came: cli_interrupted is for the
   * thread the handler runs on. */
  atomic_int stop;
  pthread_mutex_t progress_mu;
  progress *prog;
} scan_pool;

typedef struct unit_progress {
  scan_pool *pool;
  scan_unit *unit;
} unit_progress;

/* Called by a unit's scan every few thousand rows: the line shows the
 * rows of every unit, drawn by whichever thread gets the lock. */
static void pool_progress(void *ctx, uint64_t rows) {
  unit_progress *up = ctx;
  atomic_store_explicit(&up->unit->rows, rows, memory_order_relaxed);
  scan_pool *pool = up->pool;
  if (pthread_mutex_trylock(&pool->progress_mu) != 0) return;
  uint64_t total = 0;
  for (size_t i = 0; i < pool->n_units; i++)
    total += atomic_load_explicit(&pool->units[i].rows, memory_order_relaxed);
  progress_update(pool->prog, total);
  pthread_mutex_unlock(&pool->progress_mu);
}

static void run_unit(scan_pool *pool, scan_unit *u) {
  scan_report_target *t = &pool->report->targets[u->target];
  store *s = NULL;
  store_error serr = {STORE_OK, ""};
  u->ran = 1;
  if (store_open_sampled(&s, &t->target, pool->sopts,
                         pool->snapshots[u->target], sample_of(pool->a),
                         &serr) != STORE_OK ||
      store_set_range(s, &u->range, &serr) != STORE_OK) {
    store_close(s);
    u->result.status = serr.status;
    u->result.estimated_rows = -1;
    memcpy(u->result.error, serr.message, sizeof u->result.error);
    return;
  }
  /* Visible to the thread that stops the jobs on a signal. */
  pthread_mutex_lock(&pool->mu);
  u->active = s;
  pthread_mutex_unlock(&pool->mu);
  rs_options copts;
  scan_options o;
  target_scan_options(&o, &copts, pool->a, pool->set, u->target, t);
  unit_progress up = {pool, u};
  o.max_writers = SCAN_PART_WRITERS; /* folded once merged */
  o.interrupted = NULL;
  o.stop = &pool->stop;
  o.progress = pool_progress;
  o.progress_ctx = &up;
  u->rc = scan_target(&u->result, s, t->type, &o, &u->err);
  if (u->single) {
    u->truncated = store_framing_issue(s, &u->framing);
    const store_partition *parts;
    size_t n;
    store_partitions(s, &parts, &n);
    if (n > 0 && (u->partitions = malloc(n * sizeof *parts)) != NULL) {
      memcpy(u->partitions, parts, n * sizeof *parts);
      u->n_partitions = n;
    }
  }
  pthread_mutex_lock(&pool->mu);
  u->active = NULL;
  pthread_mutex_unlock(&pool->mu);
  store_close(s);
}

static void *pool_thread(void *arg) {
  scan_pool *pool = arg;
  for (;;) {
    pthread_mutex_lock(&pool->mu);
    size_t i = pool->next < pool->n_units ? pool->next++ : pool->n_units;
    pthread_mutex_unlock(&pool->mu);
    if (i == pool->n_units ||
        atomic_load_explicit(&pool->stop, memory_order_relaxed))
      break;
    run_unit(pool, &pool->units[i]);
  }
  pthread_mutex_lock(&pool->mu);
  pool->running--;
  pthread_cond_signal(&pool->done);
  pthread_mutex_unlock(&pool->mu);
  return NULL;
}

/*
 * Waits for the threads to end. On SIGINT or SIGTERM (the handler sets
 * cli_interrupted, on this thread: the workers block both), asks each
 * running store to stop, so that a job waiting on the server returns at
 * once; the scans then stop as interrupted. A store is closed by its
 * thread only after it left `active`, under the same lock: never
 * interrupted once freed.
 */
static void pool_wait(scan_pool *pool) {
  int stopped = 0;
  pthread_mutex_lock(&pool->mu);
  while (pool->running > 0) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 100 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&pool->done, &pool->mu, &until);
    if (cli_interrupted && !stopped) {
      stopped = 1;
      atomic_store_explicit(&pool->stop, 1, memory_order_relaxed);
      for (size_t i = 0; i < pool->n_units; i++)
        if (pool->units[i].active != NULL)
          store_interrupt(pool->units[i].active);
    }
  }
  pthread_mutex_unlock(&pool->mu);
}

/*
 * Scans every target of @p report on @p jobs threads. What the serial loop
 * of run() records, recorded the same way; 1 when the codec failed on a
 * target (the message printed), else 0.
 */
static int scan_parallel(const scan_args *a, const cli_target_set *set,
                         scan_report *report, const store_open_options *options,
                         progress *prog, unsigned jobs) {
  int codec_failed = 0;
  /* Many connections cannot share one terminal prompt: a password comes
   * from ~/.pgpass, PGPASSFILE or PGPASSWORD, else the open fails and says
   * so. */
  store_open_options own = *options;
  own.allow_password_prompt = 0;
  const store_open_options *sopts = &own;
  size_t n_targets = report->n_targets;
  /* Ranges per target: about two units of work per job, so that a large
   * target beside small ones is still split, and none beyond what keeps
   * the jobs busy (each range costs a connection and its checks). */
  unsigned per = (unsigned)((2 * (size_t)jobs + n_targets - 1) / n_targets);
  if (per > jobs) per = jobs;
  if (per < 1) per = 1;
  if (per > STORE_RANGES_MAX) per = STORE_RANGES_MAX;
  store_range *ranges = calloc((size_t)per * n_targets, sizeof *ranges);
  size_t *n_ranges = calloc(n_targets, sizeof *n_ranges);
  /* A PostgreSQL target read in several ranges: the store that split it
   * stays open until its ranges are read, its snapshot exported for them
   * to import, so that all read the table as of one instant. */
  store **planners = calloc(n_targets, sizeof *planners);
  char(*snapshots)[64] = calloc(n_targets, sizeof *snapshots);
  int64_t estimate = 0;
  scan_pool pool;
  memset(&pool, 0, sizeof pool);
  if (ranges == NULL || n_ranges == NULL || planners == NULL ||
      snapshots == NULL)
    goto oom;
  for (size_t i = 0; i < n_targets && !cli_interrupted; i++) {
    scan_report_target *t = &report->targets[i];
    store *s = NULL;
    store_error serr = {STORE_OK, ""};
    if (store_open_sampled(&s, &t->target, sopts, NULL, sample_of(a), &serr) !=
            STORE_OK ||
        store_split(s, per, &ranges[i * per], &n_ranges[i], &serr) !=
            STORE_OK) {
      if (s == NULL && cli_interrupted) break;
      if (s != NULL) note_store(t, s);
      store_close(s);
      n_ranges[i] = 0;
      t->status = serr.status;
      memcpy(t->error, serr.message, sizeof t->error);
      cli_error(CMD, "%s", serr.message);
      continue;
    }
    note_store(t, s);
    t->result.estimated_rows = store_estimate_rows(s);
    int64_t expect = progress_rows(s);
    if (expect > 0) estimate += expect;
    /* Without an exported snapshot (a server that refuses one), each
     * range reads a snapshot of its own, as separate scans would. */
    if (n_ranges[i] > 1 &&
        store_export_snapshot(s, snapshots[i], sizeof snapshots[i], &serr) ==
            STORE_OK &&
        snapshots[i][0] != '\0') {
      planners[i] = s;
    } else {
      snapshots[i][0] = '\0';
      store_close(s);
    }
    pool.n_units += n_ranges[i];
  }
  pool.units =
      pool.n_units > 0 ? calloc(pool.n_units, sizeof *pool.units) : NULL;
  if (pool.n_units > 0 && pool.units == NULL) {
    for (size_t i = 0; i < n_targets; i++) store_close(planners[i]);
    goto oom;
  }
  size_t k = 0;
  for (size_t i = 0; i < n_targets; i++)
    for (size_t r = 0; r < n_ranges[i]; r++, k++) {
      pool.units[k].target = i;
      pool.units[k].range = ranges[i * per + r];
      pool.units[k].single = n_ranges[i] == 1;
      atomic_init(&pool.units[k].rows, 0);
    }
  free(ranges);

  pool.a = a;
  pool.set = set;
  pool.report = report;
  pool.sopts = sopts;
  pool.snapshots = (const char(*)[64])snapshots;
  pool.prog = prog;
  atomic_init(&pool.stop, 0);
  pthread_mutex_init(&pool.mu, NULL);
  pthread_cond_init(&pool.done, NULL);
  pthread_mutex_init(&pool.progress_mu, NULL);
  progress_start(prog,
                 n_targets == 1 ? report->targets[0].target.name : "targets",
                 estimate > 0 ? estimate : -1);
  /* The signals are this thread's: pool_wait tells the workers. */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  size_t n_threads = jobs < pool.n_units ? jobs : pool.n_units;
  pthread_t *threads =
      n_threads > 0 ? calloc(n_threads, sizeof *threads) : NULL;
  size_t started = 0;
  pool.running = n_threads;
  for (; threads != NULL && started < n_threads; started++)
    if (pthread_create(&threads[started], NULL, pool_thread, &pool) != 0) break;
  pthread_mutex_lock(&pool.mu);
  pool.running -= n_threads - started; /* those that never started */
  pthread_mutex_unlock(&pool.mu);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  /* Without a thread (none could start), this one does the work. */
  if (started == 0) {
    pool.running = 1;
    pool_thread(&pool);
  }
  pool_wait(&pool);
  for (size_t i = 0; i < started; i++) pthread_join(threads[i], NULL);
  free(threads);
  for (size_t i = 0; i < n_targets; i++) store_close(planners[i]);
  free(planners);
  progress_end(prog);
  pthread_mutex_destroy(&pool.mu);
  pthread_cond_destroy(&pool.done);
  pthread_mutex_destroy(&pool.progress_mu);

  /* Each target's units, merged in range order. */
  k = 0;
  for (size_t i = 0; i < n_targets; i++) {
    scan_report_target *t = &report->targets[i];
    size_t first = k;
    int ran = 0, merge_failed = 0;
    int64_t estimated = t->result.estimated_rows;
    for (size_t r = 0; r < n_ranges[i]; r++, k++) {
      scan_unit *u = &pool.units[k];
      if (!u->ran) {
        /* never started: interrupted */
        u->result.interrupted = 1;
      }
      ran |= u->ran;
      if (r == 0) {
        t->result = u->result;
        memset(&u->result, 0, sizeof u->result);
      } else if (scan_result_merge(&t->result, &u->result, a->samples) != 0) {
        merge_failed = 1;
      }
      if (u->rc != 0 && !codec_failed) {
        cli_error(CMD, "target '%s': %s", t->target.name, u->err.message);
        codec_failed = 1;
      }
      if (u->single) {
        t->truncated = u->truncated;
        t->framing = u->framing;
        t->partitions = u->partitions;
        t->n_partitions = u->n_partitions;
        u->partitions = NULL;
      }
    }
    if (k == first) continue; /* not opened: its error is recorded */
    t->result.estimated_rows = estimated;
    if (a->shard_count == 0 && scan_result_fold_writers(&t->result) != 0)
      merge_failed = 1;
    if (merge_failed && t->result.status == STORE_OK) {
      t->result.status = STORE_ENOMEM;
      t->result.complete = 0;
      snprintf(t->result.error, sizeof t->result.error,
               "target '%s': out of memory merging the ranges' results",
               t->target.name);
    }
    t->scanned = ran;
    t->status = t->result.status;
    memcpy(t->error, t->result.error, sizeof t->error);
    if (t->status != STORE_OK) cli_error(CMD, "%s", t->error);
  }
  for (size_t u = 0; u < pool.n_units; u++) {
    scan_result_dispose(&pool.units[u].result);
    free(pool.units[u].partitions);
  }
  free(pool.units);
  free(n_ranges);
  free(snapshots);
  return codec_failed;
oom:
  free(ranges);
  free(n_ranges);
  free(planners);
  free(snapshots);
  cli_error(CMD, "out of memory");
  return 1;
}

static int run(scan_args *a) {
  cli_target_set set;
  scan_report report;
  memset(&report, 0, sizeof report);
  report.flag_key = a->flag_key;
  report.flag_variant = a->flag_variant;
  report.written_after_us = a->written_after_us;
  report.max_samples = a->samples;
  report.shard_index = a->shard_index;
  report.shard_count = a->shard_count;
  report.started_at_us = rs_now_us();
  int status = 0, scanned = 0;
  rs_error err = {0, 0, ""};

  status = cli_target_set_load(&set, &a->t, CMD);
  if (status != 0) goto done;
  size_t n_targets = set.n;
  const cli_target *resolved = set.targets;
  report.targets = calloc(n_targets, sizeof *report.targets);
  if (report.targets == NULL) {
    cli_error(CMD, "out of memory");
    status = CLI_EXIT_IO;
    goto done;
  }
  report.n_targets = n_targets;
  if (set.config != NULL) report.feature = set.config->feature;
  for (size_t i = 0; i < n_targets; i++) {
    scan_report_target *t = &report.targets[i];
    t->target = resolved[i].target;
    t->type = resolved[i].type;
    t->reader_version = resolved[i].reader_version;
    t->reader_framing = resolved[i].framing;
    t->raw_writer = resolved[i].raw_writer;
    t->reader_schema = resolved[i].reader_schema;
    t->runtime = resolved[i].runtime;
    t->result.estimated_rows = -1;
  }

  /* A topic's report is per partition, with offsets that merge cannot
   * add up: topics are read whole (or sharded by partition by the
   * operator). */
  for (size_t i = 0; a->shard_count > 0 && i < n_targets; i++) {
    store_kind kind = report.targets[i].target.kind;
    if (kind == STORE_KAFKA_TOPIC) {
      status =
          cli_usage_error(CMD,
                          "target '%s': --shard applies to tables, "
                          "queues and stream files, not to %s targets",
                          report.targets[i].target.name, store_kind_name(kind));
      goto done;
    }
  }

  /* --sample, else the config's sample: (100: every row). */
  double percent = a->sample_percent;
  if (percent == 0 && set.config != NULL) percent = set.config->sample_percent;
  if (percent > 0 && percent < 100) {
    /* merge adds up counts of rows, which a sample's are not. */
    if (a->shard_count > 0) {
      status = cli_usage_error(CMD,
                               "--sample and --shard do not combine: merge "
                               "adds up counts, not estimates (give one)");
      goto done;
    }
    for (size_t i = 0; i < n_targets; i++) {
      store_kind kind = report.targets[i].target.kind;
      if (kind == STORE_KAFKA_TOPIC || kind == STORE_STREAM_FILE) {
        status = cli_usage_error(CMD,
                                 "target '%s': --sample reads tables and "
                                 "queues, not %s targets (scan it without "
                                 "--sample)",
                                 report.targets[i].target.name,
                                 store_kind_name(kind));
        goto done;
      }
    }
    /* Printed in every report, so that the estimate can be drawn again. */
    if (!a->has_sample_seed)
      a->sample.seed = (uint32_t)(verify__random() & 0x7fffffffu);
    a->sample.percent = percent;
    a->sampling = 1;
    report.sampled = 1;
    report.sample_percent = percent;
    report.sample_seed = a->sample.seed;
  } else if (a->has_sample_seed) {
    status = cli_usage_error(CMD,
                             "--sample-seed needs --sample (or the "
                             "config's sample:)");
    goto done;
  }

  cli_interrupt_saved saved;
  cli_interrupt_install(&saved);
  progress prog;
  progress_init(&prog, cli_quiet ? NULL : stderr);
  /* The session's own statement_timeout: the option's, the config's, or
   * none (never one the role or database carries). */
  unsigned long stmt = a->statement_timeout_ms;
  if (stmt == 0 && set.config != NULL) stmt = set.config->statement_timeout_ms;
  store_open_options sopts = {isatty(STDIN_FILENO), (int)stmt};
  int codec_failed = 0;
  double t0 = (double)rs_now_us() / 1e6;
  unsigned jobs = a->jobs;
  if (jobs == 0 && set.config != NULL) jobs = set.config->jobs;
  if (jobs > 1) {
    codec_failed = scan_parallel(a, &set, &report, &sopts, &prog, jobs);
    for (size_t i = 0; i < report.n_targets; i++)
      scanned |= report.targets[i].scanned;
  }
  for (size_t i = 0;
       jobs <= 1 && i < report.n_targets && !cli_interrupted && !codec_failed;
       i++) {
    scan_report_target *t = &report.targets[i];
    store *s = NULL;
    store_error serr = {STORE_OK, ""};
    if (store_open_sampled(&s, &t->target, &sopts, NULL, sample_of(a), &serr) !=
        STORE_OK) {
      if (cli_interrupted) break; /* e.g. Ctrl-C at the password prompt */
      t->status = serr.status;
      memcpy(t->error, serr.message, sizeof t->error);
      cli_error(CMD, "%s", serr.message);
      continue;
    }
    /* With CPUs to spare, rows are read ahead on a second thread while
     * this one classifies. On two, the database (or other work) has the
     * other one, and copying rows between threads cost more than the
     * overlap gained (measured with bench/run against a local server). */
    if (sysconf(_SC_NPROCESSORS_ONLN) > 2) store_prefetch(&s);
    note_store(t, s);
    rs_options copts;
    scan_options o;
    target_scan_options(&o, &copts, a, &set, i, t);
    o.progress = progress_update;
    o.progress_ctx = &prog;
    progress_start(&prog, t->target.name, progress_rows(s));
    cli_interrupt_set_store(s);
    int rc = scan_target(&t->result, s, t->type, &o, &err);
    cli_interrupt_set_store(NULL);
    progress_end(&prog);
    t->truncated = store_framing_issue(s, &t->framing);
    keep_partitions(t, s);
    t->scanned = 1;
    scanned = 1;
    t->status = t->result.status;
    memcpy(t->error, t->result.error, sizeof t->error);
    if (t->status != STORE_OK) cli_error(CMD, "%s", t->error);
    if (rc != 0) {
      cli_error(CMD, "target '%s': %s", t->target.name, err.message);
      codec_failed = 1;
    }
    store_close(s);
  }
  report.interrupted = cli_interrupted != 0;
  if (report.interrupted)
    cli_error(CMD, "interrupted: the report covers only the rows read so far");
  report.seconds = (double)rs_now_us() / 1e6 - t0;
  status = exit_code_of(&report, codec_failed);
  report.exit_code = status;
  if (status == CLI_EXIT_INCOMPLETE && !report.interrupted &&
      scan_report_complete(&report)) {
    char reason[600];
    scan_report_reason(reason, sizeof reason, &report);
    cli_note(CMD, "%s", reason);
  }
  cli_interrupt_restore(&saved);

done:
  status = write_outputs(a, &report, status, scanned);
  for (size_t i = 0; report.targets != NULL && i < report.n_targets; i++) {
    free((char *)report.targets[i].description);
    free(report.targets[i].partitions);
    scan_result_dispose(&report.targets[i].result);
  }
  free(report.targets);
  cli_target_set_free(&set);
  return status;
}

int cli_scan_run(int argc, char **argv) {
  scan_args a;
  memset(&a, 0, sizeof a);
  a.t = (cli_target_args)CLI_TARGET_ARGS_INIT;
  a.samples = DEFAULT_SAMPLES;
  int status = parse_args(&a, argc, argv);
  if (status == 0 && a.help) {
    cli_scan_help(stdout);
    status = cli_finish_stdout(CMD, CLI_EXIT_CLEAN);
  } else if (status == 0) {
    status = run(&a);
  }
  free(a.flag_key);
  free(a.flag_variant);
  return status;
}
