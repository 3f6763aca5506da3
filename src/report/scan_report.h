/*
 * src/report/scan_report.h: a scan's report as text (for a terminal), as
 * one JSON document (jansson) and as OpenMetrics text (for Prometheus and
 * Argo Rollouts analysis). The three render the same struct, so they never
 * disagree on a count.
 */
#ifndef RS_REPORT_SCAN_REPORT_H
#define RS_REPORT_SCAN_REPORT_H

#include <stdio.h>

#include <jansson.h>

#include "report/schema_origin.h"
#include "verify/scan.h"

/** One target of the report. */
typedef struct scan_report_target {
  store_target target; /**< as configured (borrowed strings) */
  /** The key the store resolved (store_key()), which target.key points to
   * once the target is open; key_parts its column count (0: positions). */
  char key_name[STORE_KEY_NAME_MAX];
  unsigned key_parts;
  int rows_by_position;    /**< no key: rows are named by rowid or ctid */
  const char *type;        /**< record type */
  unsigned reader_version; /**< resolved */
  rs_reader_framing reader_framing; /**< resolved: raw or envelope */
  unsigned raw_writer; /**< the writer of raw records; 0: inferred (auto) */
  /** Where the reader's schema came from. */
  schema_origin reader_schema;
  /** The reader's runtime: runtime, runtime_flags and recursion_limit
   * (the other fields are not read). */
  rs_reader runtime;
  const char *description; /**< store_describe(), or NULL if never opened */
  int scanned;             /**< scan_target() ran: `result` is filled */
  int status;              /**< STORE_OK, or why the target failed */
  char error[512];         /**< when status != STORE_OK */
  scan_result result;
  /** Stream files: the file ends in a truncated or malformed record (a
   * finding; the scan stops there). */
  int truncated;
  store_framing framing;
  /** Kafka topics: each partition's offsets (owned by whoever filled the
   * report); result.partitions has its counts. */
  store_partition *partitions;
  size_t n_partitions;
  /** A sampled scan: how the store chose the rows (store_sample_of). */
  store_sample_info sample;
} scan_report_target;

typedef struct scan_report {
  const char *feature;  /**< NULL when not configured */
  const char *flag_key; /**< --flag filter, or NULL */
  const char *flag_variant;
  int64_t written_after_us; /**< --written-after filter, or 0 */
  size_t max_samples;
  /** --shard K/N: the report of shard K of N (shard_count 0: a whole
   * scan). Its JSON says so ("shard") and gives each sample and writer its
   * position in the scan, which `rollsafe merge` orders the shards' by. */
  unsigned shard_index, shard_count;
  /** --sample: the targets were read in part, and every count the report
   * gives is of the sample, with an estimate of the whole (scan_estimate).
   * Such a scan is never clean: exit 1 with findings, else 4. */
  int sampled;
  double sample_percent;
  uint32_t sample_seed;
  int64_t started_at_us; /**< wall clock, for the report */
  double seconds;
  int interrupted;
  int exit_code; /**< what the command exits with */
  scan_report_target *targets;
  size_t n_targets;
} scan_report;

/** Whether every target was read to the end. */
int scan_report_complete(const scan_report *r);

/** Findings (misread, unreadable, corrupt, and a stream file's truncated
 * last record) over all targets. */
uint64_t scan_report_findings(const scan_report *r);

/** Records whose verdict is not decided, over all targets. */
uint64_t scan_report_undetermined(const scan_report *r);

/**
 * Whether the scan verified nothing although it selected something: no
 * record got a verdict (decided or not), and the filters (--flag,
 * --written-after) left out every record, or a filter or --where was given
 * and the selection was empty. Such a scan is inconclusive, never clean.
 */
int scan_report_nothing_verified(const scan_report *r);

/**
 * One line saying why the scan is inconclusive (exit 4) and what to give
 * to settle it, into @p buf; "" when it is not (exit code other than 4).
 */
void scan_report_reason(char *buf, size_t size, const scan_report *r);

/** The JSON document; NULL when out of memory. Owned by the caller. */
json_t *scan_report_json(const scan_report *r);

/** The human-readable summary; returns 0 or -1 on a write error. */
int scan_report_text(FILE *out, const scan_report *r);

/** OpenMetrics text, ending with "# EOF"; returns 0 or -1. */
int scan_report_metrics(FILE *out, const scan_report *r);

/**
 * A string from the data as JSON: invalid UTF-8 bytes replaced with '?'
 * (jansson refuses them); JSON null for NULL. NULL only when out of memory.
 */
json_t *rs__json_text(const char *s);

/**
 * A count as JSON: an integer, or above 2^63 - 1 (where jansson's integers
 * end) its decimal digits as a string. NULL only when out of memory.
 */
json_t *rs__json_u64(uint64_t v);

/**
 * How a stream file ends, as the reports of scan and fix give it: record,
 * offset, have, need (rs__json_u64: a length prefix may announce up to
 * 2^64 - 1 bytes) and what. NULL only when out of memory.
 */
json_t *rs__json_framing(const store_framing *f);

/** {"name", "allow_partial", "discard_unknown", "recursion_limit"}: the
 * runtime fields of @p r, for the reports' "reader" objects. */
json_t *rs__json_runtime(const rs_reader *r);

/** A resolved reader framing as reports name it: "raw", "envelope" or
 * "confluent" (RS_READER_FRAMING_DEFAULT reads as raw). */
const char *rs__reader_framing_name(rs_reader_framing f);

/** "go runtime (allow_partial)": the runtime fields of @p r as the text
 * reports name them, into @p out. */
void rs__runtime_text(const rs_reader *r, char *out, size_t size);

/**
 * An OpenMetrics label value, quotes included: \ and " escaped, invalid
 * UTF-8 and control characters replaced with '?'.
 */
void rs__metrics_label(FILE *out, const char *s);

/**
 * Formats microseconds since the epoch as RFC 3339 UTC with microseconds
 * ("2026-11-26T10:00:00.000000Z") into @p buf (at least 32 bytes).
 */
void rs__format_time_us(char *buf, size_t size, int64_t us);

#endif
