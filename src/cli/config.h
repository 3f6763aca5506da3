/*
 * src/cli/config.h: the YAML configuration file (`-c rollsafe.yaml`),
 * parsed with libyaml.
 *
 *   feature: checkout_v2          # the flag the file is about (reports,
 * metrics) reader_version: 1             # optional; default: the version
 * before the newest reader_framing: envelope      # optional: default | raw |
 * envelope | confluent targets:
 *     - name: orders              # unique; names the target in reports
 *       kind: sqlite-table        # sqlite-table | postgres-table
 *       connection: demo.db       # SQLite path (relative to this file), or
 *                                 # a libpq conninfo / URI without a password
 *       # connection_env: ORDERS_DB  (instead of connection: the name of an
 *       #                             environment variable holding it, which
 *       #                             may carry a password)
 *       table: orders
 *       key: id
 *       column: payload
 *       type: shop.Order
 *       where: "id > 1000"        # optional: the operator's own SQL
 *       schemas: [v1.desc, v2.desc]  # optional: this type's versions
 *       message: shop.Order       # optional: its message name in them
 *     - name: order-events        # a table used as a queue (outbox)
 *       kind: sqlite-queue        # sqlite-queue | postgres-queue
 *       connection: demo.db
 *       table: order_events
 *       key: id
 *       column: payload
 *       type: shop.Order
 *       state_column: state       # optional: consumers mark messages
 *       pending_states: [pending, retry]   # default [pending]
 *       in_flight_states: [processing]     # optional
 *     - name: order-events-dump   # varint-length-delimited records
 *       kind: stream-file
 *       path: order-events.dump   # relative to this file
 *       type: shop.Order
 *       fixed_output: order-events.dump.fixed  # optional: where fix writes
 *     - name: order-events-topic  # a Kafka topic, read-only
 *       kind: kafka-topic
 *       bootstrap: broker1:9092   # or connection_env: KAFKA_BOOTSTRAP
 *       topic: order-events
 *       type: shop.Order
 *       group: orders-worker      # optional: from its committed offsets;
 *       # since: 2026-11-26T09:30:00Z  (or from a time; default: beginning)
 *       properties: {security.protocol: SASL_SSL}  # no secrets here
 *       properties_file: kafka.properties  # optional: NAME=VALUE lines
 *       properties_env: {sasl.password: KAFKA_PASSWORD}  # optional
 *       timeout: 30               # optional: seconds
 *       output_topic: order-events-v1  # optional: where fix writes a
 *                                 # repaired copy; or, on a compacted topic,
 *       # in_place_compacted: true    with journal_topic: J (optional)
 *       raw_writer: 1             # optional, any kind: the format version
 *                                 # that wrote its raw records, or auto
 *       schema_ids: {42: 2}       # optional, any kind: Confluent schema ids
 *                                 # and the format versions they hold
 *                                 # ("2@1": at message-index path [1])
 *   schema_ids: {41: 1, 42: 2}    # optional: the default of every target
 *       column_encoding: base64   # optional, tables and queues: binary
 *                                 # (default), base64 or hex
 *   column_encoding: hex          # optional: the default of every table
 *                                 # and queue target
 *   max_passes: 5                 # optional: fix --max-passes
 *   in_flight_wait: 2s            # optional: fix --in-flight-wait
 *   jobs: 4                       # optional: scan --jobs, threads and
 *                                 # connections (1 to 256)
 *   sample: 1                     # optional: scan --sample, a percent of
 *                                 # the rows (above 0, at most 100)
 *   schemas: [v1.desc, v2.desc]   # optional: record types at run time,
 *                                 # one schema per version, oldest first
 *   reader_runtime: go            # optional: the reader's protobuf runtime,
 *                                 # protobuf-c (default), cpp, java, go or
 *                                 # python; also per target
 *   reader_options:               # optional: options the reader's code
 *     allow_partial: true         # gives its runtime (also per target):
 *     recursion_limit: 200        # allow_partial (go, cpp, java),
 *                                 # discard_unknown (go), recursion_limit
 *                                 # (go, cpp, java)
 *   plugins: [./lib/plugin.so]    # optional: shared libraries to load
 *   proto_paths: [proto]          # optional: import paths of .proto schemas
 *   enum_map:                     # optional: enum values a down-conversion
 *     shop.v2.Order.Status:       # writes as another value
 *       AWAITING_AUTH: PENDING
 *   lock_timeout: 60s             # optional: how long a writing step may
 *                                 # wait for its locks (--lock-timeout)
 *   statement_timeout: 30s        # optional: PostgreSQL statement_timeout
 *                                 # (--statement-timeout; reads: none)
 *
 * Unknown keys, wrong types, duplicates and missing keys are errors that
 * give the file, line and column ("rollsafe.yaml:7:5: ...").
 */
#ifndef RS_CLI_CONFIG_H
#define RS_CLI_CONFIG_H

#include <stddef.h>

#include <rollsafe/rollsafe.h>

#include "store/store.h"

/** Most Confluent schema ids one setting maps. */
#define CLI_MAX_SCHEMA_IDS 64

/** A `schema_ids:` mapping (or the --schema-id options). */
typedef struct cli_schema_ids {
  rs_schema_id *items;
  size_t n;
  unsigned line, col; /**< where it starts; 0 when absent */
} cli_schema_ids;

/**
 * Parses one mapping: @p id, a schema id (0..4294967295), and @p value,
 * VERSION or VERSION@I[.J...] (the message-index path of the record type's
 * message in that schema; default [0]). 0, or -1 with @p why set to one
 * line saying what is wrong.
 */
int cli_schema_id_parse(rs_schema_id *out, const char *id, const char *value,
                        char *why, size_t why_size);

/** "VERSION" or "VERSION@I.J", the way cli_schema_id_parse reads it. */
void cli_schema_id_text(const rs_schema_id *m, char *out, size_t size);

/** File paths from the file (schemas, plugins), made relative to it. */
typedef struct cli_config_paths {
  char **items;
  size_t n;
  unsigned line, col; /**< where the list starts; 0 when absent */
} cli_config_paths;

/** `reader_runtime:` and `reader_options:`, of the file or of a target. */
typedef struct cli_reader_runtime {
  int has_runtime;
  int runtime; /**< an rs_runtime */
  unsigned runtime_line, runtime_col;
  int has_options;
  unsigned flags;           /**< rs_runtime_flag bits */
  unsigned recursion_limit; /**< 0: the runtime's default */
  unsigned options_line, options_col;
} cli_reader_runtime;

/** One entry of enum_map: value `from` of enum `enum_name` becomes `to`. */
typedef struct cli_config_enum_map {
  char *enum_name, *from, *to;
  unsigned line, col;
} cli_config_enum_map;

/** One target of the file. Strings are owned by the config. */
typedef struct cli_config_target {
  char *name;
  store_kind kind;
  char *connection; /**< resolved: env var read, SQLite path made relative to
                       the file */
  /** "$NAME" when `connection` came from connection_env: what messages show
   * instead of the value. NULL otherwise. */
  char *connection_label;
  char *table;
  char *key;
  char *column;
  char *type;
  char *where; /**< NULL when absent */
  /* Queue kinds: NULL when absent; state lists comma-separated. */
  char *state_column;
  char *pending_states;
  char *in_flight_states;
  /** Stream files: where a fix writes the new file (resolved like a
   * SQLite path); NULL: the default, "<path>.fixed". */
  char *fixed_output;
  unsigned line, col; /**< where the target's mapping starts (1-based) */
  /** Runtime schemas of this target's type, oldest first (`schemas:`);
   * empty: the top-level list, if any. */
  cli_config_paths schemas;
  char *message; /**< `message:`, the message name in the schemas; NULL */
  /** `raw_writer:` of this target: the format version that wrote its raw
   * records, 0 for auto (inferred from the bytes); has_raw_writer 0 when
   * absent (the top-level value, or auto). */
  int has_raw_writer;
  unsigned raw_writer;
  /** `schema_ids:` of this target; n 0 when absent (the top-level one). */
  cli_schema_ids schema_ids;
  /** `reader_runtime:` and `reader_options:` of this target; absent: the
   * file's. */
  cli_reader_runtime runtime;
  /** `column_encoding:` of this target (a colenc_kind); has_column_encoding
   * 0 when absent (the top-level value, or binary). Tables and queues. */
  int has_column_encoding;
  int column_encoding;
  /** Kafka topics (kind kafka-topic; `connection` holds `bootstrap`, or
   * the value of connection_env): `topic`, `group` or `since` (the text,
   * read as --since), `properties` as "NAME=VALUE" (no secrets),
   * `properties_env` as "NAME=VARIABLE", `properties_file` (relative to
   * this file), `timeout` in milliseconds (0: the default). */
  char *topic, *group, *since;
  char **kafka_properties;
  size_t n_kafka_properties;
  char **kafka_property_envs;
  size_t n_kafka_property_envs;
  char *kafka_properties_file;
  int kafka_timeout_ms;
  /** What fix writes for a Kafka topic, as the options of the same names:
   * `output_topic` (a repaired copy), or `in_place_compacted: true` (on a
   * compacted topic) with `journal_topic` optional. NULL / 0 when absent. */
  char *output_topic, *journal_topic;
  int in_place_compacted;
} cli_config_target;

/*
 * The `diff:` section, read by `rollsafe diff`:
 *
 *   diff:
 *     fail_on: error               # optional: error | warning | info | never
 *     suppressions:
 *       - rule: FIELD_DELETED      # a rule id, or "*"
 *         path: "shop.v2.Order.discount_cents(8)"   # exact, or a glob
 *         reason: "v1 readers treat a missing discount as none (SHOP-412)"
 *         expires: 2027-01-31      # last day it applies
 */
typedef struct cli_config_suppression {
  char *rule;
  char *path;
  char *reason;
  char *expires;      /**< YYYY-MM-DD, checked */
  unsigned line, col; /**< where the entry starts (1-based) */
} cli_config_suppression;

typedef struct cli_config_diff {
  int present; /**< the file has a diff section */
  int fail_on; /**< 0: not given; an rs_diff_severity; -1: never */
  cli_config_suppression *suppressions;
  size_t n_suppressions;
} cli_config_diff;

typedef struct cli_config {
  char *path;    /**< the file as given */
  char *feature; /**< NULL when absent */
  int has_reader_version;
  unsigned reader_version;
  int has_reader_framing;
  int reader_framing; /**< an rs_reader_framing */
  int has_raw_writer;
  unsigned raw_writer;        /**< `raw_writer:`; 0: auto */
  cli_reader_runtime runtime; /**< `reader_runtime:`, `reader_options:` */
  cli_schema_ids schema_ids;  /**< `schema_ids:`; n 0 when absent */
  /** `column_encoding:` of every table and queue target without its own
   * (a colenc_kind); has_column_encoding 0 when absent (binary). */
  int has_column_encoding;
  int column_encoding;
  /** `max_passes:` and `in_flight_wait:` (seconds) of fix, as the options
   * --max-passes and --in-flight-wait; has_ 0 when absent. */
  int has_max_passes;
  unsigned max_passes;
  int has_in_flight_wait;
  double in_flight_wait;
  /** `jobs:` (scan --jobs); 0 when absent. */
  unsigned jobs;
  /** `sample:` (scan --sample), a percent in (0, 100]; 0 when absent. */
  double sample_percent;
  cli_config_target *targets;
  size_t n_targets;
  cli_config_diff diff;
  /* Record types at run time (the --schema, --plugin options in the file). */
  cli_config_paths schemas;     /**< `schemas:`, oldest first */
  cli_config_paths plugins;     /**< `plugins:` */
  cli_config_paths proto_paths; /**< `proto_paths:`, imports of .proto files */
  cli_config_enum_map *enum_maps; /**< `enum_map:` */
  size_t n_enum_maps;
  /** `lock_timeout:` (fix, restore, runs, purge: how long a step may wait
   * for its locks) and `statement_timeout:` (PostgreSQL; scan and the dry
   * run too), in milliseconds; 0 when absent. */
  unsigned long lock_timeout_ms;
  unsigned long statement_timeout_ms;
} cli_config;

/**
 * Parses a duration in milliseconds: a number with a unit, "500ms", "90s",
 * "5m", "1h", or a bare number of milliseconds ("2000"); from @p lo to
 * @p hi milliseconds. 0, or -1 when it is not such a duration.
 */
int cli_parse_millis(const char *text, unsigned long lo, unsigned long hi,
                     unsigned long *out);

/** The largest duration a timeout takes: a day. */
#define CLI_TIMEOUT_MS_MAX 86400000ul

/**
 * Parses a percent of rows, "1", "0.5", "10%": above 0 and at most 100,
 * written as a decimal number. 0, or -1 when it is not such a percent.
 */
int cli_parse_percent(const char *text, double *out);

/** The most jobs (threads, connections) a scan takes: --jobs, `jobs:`. */
#define CLI_JOBS_MAX 256

/** The most shards --shard K/N takes (N). */
#define CLI_SHARDS_MAX 4096

/**
 * Reads and checks @p path.
 *
 * @param[out] out the configuration, owned by the caller; free with
 *        cli_config_free()
 * @param errbuf receives one line, "PATH:LINE:COL: what is wrong" (or
 *        "PATH: ..." when no position applies)
 * @return 0, CLI_EXIT_USAGE (bad content), CLI_EXIT_IO (cannot read the
 *         file, out of memory)
 */
int cli_config_load(cli_config **out, const char *path, char *errbuf,
                    size_t errlen);

/**
 * Reads @p path for `rollsafe diff`: the file must be well-formed and its
 * top-level keys known, but only the `diff` section is read and checked
 * (targets, and the environment variables they name, are left alone).
 * Same results as cli_config_load().
 */
int cli_config_load_diff(cli_config **out, const char *path, char *errbuf,
                         size_t errlen);

/**
 * A duration: a number with s (or none), ms, m or h ("90s", "500ms",
 * "5m"), at most 7 days; 0 only with @p allow_zero. 0, or -1.
 */
int cli_duration_parse(const char *text, int allow_zero, double *out);

/** Frees a configuration; NULL is allowed. */
void cli_config_free(cli_config *config);

#endif
