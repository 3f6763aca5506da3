/*
 * src/cli/targets.h: the target options scan, fix and restore share
 * (one table from flags, or every target of a config file), and the
 * resolution of each target's reader.
 */
#ifndef RS_CLI_TARGETS_H
#define RS_CLI_TARGETS_H

#include <rollsafe/rollsafe.h>

#include "config.h"
#include "kafka.h"
#include "opt.h"
#include "runtime_opt.h"
#include "store/store.h"
#include "types.h"
#include "verify/colenc.h"

/** Option ids of the target options; a command's own ids stay below 100. */
enum {
  CLI_TOPT_CONFIG = 100,
  CLI_TOPT_SQLITE,
  CLI_TOPT_POSTGRES,
  CLI_TOPT_TABLE,
  CLI_TOPT_KEY,
  CLI_TOPT_COLUMN,
  CLI_TOPT_TYPE,
  CLI_TOPT_WHERE,
  CLI_TOPT_NAME,
  CLI_TOPT_READER_VERSION,
  CLI_TOPT_READER_FRAMING,
  CLI_TOPT_QUEUE,
  CLI_TOPT_STATE_COLUMN,
  CLI_TOPT_PENDING_STATES,
  CLI_TOPT_IN_FLIGHT_STATES,
  CLI_TOPT_STREAM,
  CLI_TOPT_RAW_WRITER,
  CLI_TOPT_SCHEMA_ID,
  CLI_TOPT_COLUMN_ENCODING,
  CLI_TOPT_POSTGRES_ENV,
  CLI_TOPT_READER_RUNTIME,
  CLI_TOPT_READER_OPTION,
  /* Kafka topics (kafka.h): scan only, CLI_KAFKA_OPT_SPECS */
  CLI_TOPT_KAFKA,
  CLI_TOPT_TOPIC,
  CLI_TOPT_GROUP,
  CLI_TOPT_SINCE,
  CLI_TOPT_FROM_BEGINNING,
  CLI_TOPT_KAFKA_PROPERTY,
  CLI_TOPT_KAFKA_PROPERTY_ENV,
  CLI_TOPT_KAFKA_PROPERTY_FILE,
  CLI_TOPT_KAFKA_TIMEOUT
};

/** The Kafka options' entries of a cli_opt_spec table. */
#define CLI_KAFKA_OPT_SPECS                                             \
  {CLI_TOPT_KAFKA, "kafka", 0, 1}, {CLI_TOPT_TOPIC, "topic", 0, 1},     \
      {CLI_TOPT_GROUP, "group", 0, 1}, {CLI_TOPT_SINCE, "since", 0, 1}, \
      {CLI_TOPT_FROM_BEGINNING, "from-beginning", 0, 0},                \
      {CLI_TOPT_KAFKA_PROPERTY, "kafka-property", 0, 1},                \
      {CLI_TOPT_KAFKA_PROPERTY_ENV, "kafka-property-env", 0, 1},        \
      {CLI_TOPT_KAFKA_PROPERTY_FILE, "kafka-property-file", 0, 1}, {    \
    CLI_TOPT_KAFKA_TIMEOUT, "kafka-timeout", 0, 1                       \
  }

/** The entries to put in a command's cli_opt_spec table. */
#define CLI_TARGET_OPT_SPECS                                                  \
  {CLI_TOPT_CONFIG, "config", 'c', 1}, {CLI_TOPT_SQLITE, "sqlite", 0, 1},     \
      {CLI_TOPT_POSTGRES, "postgres", 0, 1}, {CLI_TOPT_TABLE, "table", 0, 1}, \
      {CLI_TOPT_KEY, "key", 0, 1}, {CLI_TOPT_COLUMN, "column", 0, 1},         \
      {CLI_TOPT_TYPE, "type", 't', 1}, {CLI_TOPT_WHERE, "where", 0, 1},       \
      {CLI_TOPT_NAME, "name", 0, 1},                                          \
      {CLI_TOPT_READER_VERSION, "reader-version", 0, 1},                      \
      {CLI_TOPT_READER_FRAMING, "reader-framing", 0, 1},                      \
      {CLI_TOPT_QUEUE, "queue", 0, 0},                                        \
      {CLI_TOPT_STATE_COLUMN, "state-column", 0, 1},                          \
      {CLI_TOPT_PENDING_STATES, "pending-states", 0, 1},                      \
      {CLI_TOPT_IN_FLIGHT_STATES, "in-flight-states", 0, 1},                  \
      {CLI_TOPT_STREAM, "stream", 0, 1},                                      \
      {CLI_TOPT_RAW_WRITER, "raw-writer", 0, 1},                              \
      {CLI_TOPT_SCHEMA_ID, "schema-id", 0, 1},                                \
      {CLI_TOPT_COLUMN_ENCODING, "column-encoding", 0, 1},                    \
      {CLI_TOPT_POSTGRES_ENV, "postgres-env", 0, 1},                          \
      {CLI_TOPT_READER_RUNTIME, "reader-runtime", 0, 1},                      \
      {CLI_TOPT_READER_OPTION, "reader-option", 0, 1}, CLI_TYPES_OPT_SPECS

typedef struct cli_target_args {
  const char *config;
  store_kind kind;
  const char *connection, *table, *key, *column, *type, *where, *name;
  unsigned reader_version; /* 0: from the config, or the default */
  int framing;             /* -1: from the config, or the default */
  /* Queues (--queue, or implied by a state option) and stream files. */
  int queue;
  const char *state_column, *pending_states, *in_flight_states;
  const char *stream;
  cli_types_args types; /* --schema, --plugin, --message */
  /* --raw-writer: -1 not given (the config's, or auto), 0 auto, else the
   * format version that wrote the raw records */
  int raw_writer;
  /* --schema-id ID=VERSION[@PATH], repeatable: for every target */
  rs_schema_id schema_ids[CLI_MAX_SCHEMA_IDS];
  size_t n_schema_ids;
  /* --column-encoding: -1 not given (the config's, or binary), else a
   * colenc_kind */
  int column_encoding;
  /* --postgres-env NAME: the variable `connection` was read from (which
   * may carry a password); NULL otherwise */
  const char *connection_env;
  cli_kafka_args kafka; /* --kafka and its options */
  /* --reader-runtime, --reader-option: for every target */
  cli_runtime_args runtime;
} cli_target_args;

#define CLI_TARGET_ARGS_INIT                                                 \
  {                                                                          \
    NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, -1, 0, NULL, NULL, \
        NULL, NULL, CLI_TYPES_ARGS_INIT, -1, {{0u, 0u, 0u, {0}}}, 0u, -1,    \
        NULL, {0}, CLI_RUNTIME_ARGS_INIT                                     \
  }

/** Help lines of --postgres and --postgres-env, for scan, fix and restore. */
#define CLI_POSTGRES_HELP                                                    \
  "      --postgres CONNINFO  a libpq connection string or URI, without a",  \
      "                           password: the password comes from "        \
      "~/.pgpass,",                                                          \
      "                           PGPASSFILE, PGPASSWORD or a prompt",       \
      "      --postgres-env NAME  the same, read from environment variable " \
      "NAME,",                                                               \
      "                           where it may carry a password (keyword "   \
      "or",                                                                  \
      "                           URI); only host, port and database are "   \
      "ever",                                                                \
      "                           shown"

/** Help lines of --column-encoding, for scan, fix and restore. */
#define CLI_COLUMN_ENCODING_HELP                                            \
  "      --column-encoding E  how the column holds records: binary "        \
  "(default),",                                                             \
      "                           base64 (standard or URL-safe, padded or " \
      "not) or",                                                            \
      "                           hex (with or without \\x, either case); " \
      "a fix",                                                              \
      "                           writes each value back in its own form"

/** Help lines of --raw-writer, for the commands that judge records. */
#define CLI_RAW_WRITER_HELP                                                  \
  "      --raw-writer auto|N  the format version that wrote the records "    \
  "that",                                                                    \
      "                           have no envelope (default auto: inferred " \
      "from",                                                                \
      "                           the bytes; records several versions "      \
      "explain",                                                             \
      "                           differently are undetermined). Give N "    \
      "with a",                                                              \
      "                           --where selecting the rows that version "  \
      "wrote"

/** Help lines of --schema-id and the confluent reader framing. */
#define CLI_SCHEMA_ID_HELP                                                  \
  "      --schema-id ID=VERSION[@I.J]  records in Confluent's wire format " \
  "with",                                                                   \
      "                           schema id ID were written as VERSION "    \
      "(its",                                                               \
      "                           message at index path [I, J] of the "     \
      "schema;",                                                            \
      "                           default [0]); repeatable. Records of an " \
      "id",                                                                 \
      "                           (or path) no option names are "           \
      "undetermined"

/**
 * Takes a --column-encoding value (binary, base64, hex) into *@p out (-1
 * until given): 1, or CLI_EXIT_USAGE (printed) for a bad or repeated one.
 */
int cli_opt_column_encoding(const char *cmd, const char *value, int *out);

/**
 * Parses a --raw-writer value: "auto" (0) or a format version. 0, or
 * CLI_EXIT_USAGE (printed). Whether the version is registered is checked
 * against the type later (cli_check_raw_writer).
 */
int cli_opt_raw_writer(const char *cmd, const char *value, int *out);

/**
 * Checks that @p raw_writer (0: auto) is a registered version of @p type,
 * which has versions 1..@p newest; @p where and @p option name the setting
 * in the message. 0, or CLI_EXIT_USAGE (printed).
 */
int cli_check_raw_writer(const char *cmd, const char *where, const char *option,
                         const char *type, unsigned raw_writer,
                         unsigned newest);

/**
 * Takes option @p id if it is a target option: 1 when taken, 0 when not a
 * target option, CLI_EXIT_USAGE (printed) when its value is bad.
 */
int cli_target_opt(cli_target_args *a, int id, const char *value,
                   const char *cmd);

/** After parsing: -c and the flags exclude each other; what is missing.
 * 0 or CLI_EXIT_USAGE (printed). */
int cli_target_check(const cli_target_args *a, const char *cmd);

/** A target with its reader resolved. */
typedef struct cli_target {
  store_target target;
  const char *type;
  unsigned reader_version;
  rs_reader_framing framing; /* raw or envelope */
  /* The reader's runtime, its flags and recursion limit (the other fields
   * of this rs_reader are not used). */
  rs_reader runtime;
  unsigned newest;     /* the type's newest version */
  unsigned raw_writer; /* the writer of raw records; 0: inferred */
  /* Where the reader's version of the type came from (borrows from the
   * set's types). */
  schema_origin reader_schema;
  const char *fixed_output; /* stream files: the config's fixed_output */
  /* Kafka topics: how the config's fix writes (output_topic, or
   * in_place_compacted with journal_topic); borrowed, NULL / 0: not set. */
  const char *output_topic, *journal_topic;
  int in_place_compacted;
  /* Confluent schema ids (borrowed from the args or the config) and what
   * names them in messages ("--schema-id" or a config position). */
  const rs_schema_id *schema_ids;
  size_t n_schema_ids;
  char schema_ids_where[200];
  /* How the column holds records; target.values follows from it. */
  colenc_kind column_encoding;
  /* Kafka topics: target.kafka points here; owned. */
  cli_kafka_target kafka;
  /* The key the store resolved, which target.key points to once the
   * target is open (cli_target_use_key), and its column count. */
  char key_name[STORE_KEY_NAME_MAX];
  unsigned key_parts;
  /* Its position among the config's targets (0 without a config). */
  size_t index;
} cli_target;

/** The reader @p t names, its runtime included (what fix judges by). */
rs_reader cli_target_reader(const cli_target *t);

/**
 * The one schema id that @p t maps to @p version, for writing Confluent
 * framing. 0, or CLI_EXIT_USAGE (printed: none or several, naming them).
 */
int cli_target_schema_id_for(const cli_target *t, unsigned version,
                             const char *cmd);

/** Takes the key open store @p s resolved (store_key()) as @p t's key. */
void cli_target_use_key(cli_target *t, const store *s);

/** What a command works on: the registry, the config file and its targets. */
typedef struct cli_target_set {
  rs_registry *registry; /**< types.registry */
  cli_types types;
  cli_config *config;  /**< NULL without -c */
  cli_target *targets; /**< borrow from the args and the config */
  size_t n;
} cli_target_set;

/**
 * Where target @p t of @p set takes its record type's schemas from, as
 * build_types chooses: the target's own `schemas:`, else --schema, else the
 * file's `schemas:` (none: compiled in or from a plugin); and its message.
 * Borrowed.
 */
void cli_target_schemas(const cli_target_set *set, const cli_target_args *a,
                        const cli_target *t, const char *const **schemas,
                        size_t *n, const char **message);

/** A target as a run recorded it (runs.c): strings borrowed. */
typedef struct cli_target_spec {
  store_target target;
  const char *type;
  unsigned reader_version;
  int framing; /**< an rs_reader_framing */
  unsigned raw_writer;
  const rs_schema_id *schema_ids;
  size_t n_schema_ids;
  colenc_kind column_encoding;
} cli_target_spec;

/**
 * Builds @p set from @p n specs. With @p need_types the registry is built
 * from the command line's type options (--schema, --plugin, --proto-path,
 * --message) and the compiled-in types, and each spec's reader resolved
 * against it: a type it lacks is CLI_EXIT_USAGE, with the message
 * @p missing_type_hint[i] gives (NULL: a plain one). Without, no registry
 * is built and the targets carry their type's name only (a restore moves
 * bytes). Free @p set with cli_target_set_free() in every case.
 * @return 0, CLI_EXIT_USAGE or CLI_EXIT_IO (printed)
 */
int cli_target_set_from_specs(cli_target_set *set, const cli_target_args *a,
                              const cli_target_spec *specs, size_t n,
                              int need_types,
                              const char *const *missing_type_hint,
                              const char *cmd);

/**
 * Keeps the targets of @p set named by @p names (every one must exist:
 * CLI_EXIT_USAGE, printed, names one that does not); @p n 0 keeps all.
 */
int cli_target_set_narrow(cli_target_set *set, const char *const *names,
                          size_t n, const char *cmd);

/**
 * Builds the registry, loads the config (if any) and resolves every
 * target's reader. On failure what was built stays in @p set: free it with
 * cli_target_set_free() in every case.
 * @return 0, CLI_EXIT_USAGE or CLI_EXIT_IO (printed)
 */
int cli_target_set_load(cli_target_set *set, const cli_target_args *a,
                        const char *cmd);

void cli_target_set_free(cli_target_set *set);

#endif
