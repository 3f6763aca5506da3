/*
 * src/cli/kafka.h: the Kafka topic options of `rollsafe scan` (--kafka,
 * --topic, --group, --since, --from-beginning, --kafka-property...) and
 * the librdkafka properties a target gets from them.
 *
 * Secret properties (store_kafka_property_is_secret: passwords, private
 * keys, OAuth secrets) are taken only from a properties file or the
 * environment, never from the command line or a config file's
 * `properties:`, and never printed.
 */
#ifndef RS_CLI_KAFKA_H
#define RS_CLI_KAFKA_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "store/store.h"

/** Most properties one source gives. */
#define CLI_MAX_KAFKA_PROPERTIES 64

/** The default of --kafka-timeout, in milliseconds. */
#define CLI_KAFKA_TIMEOUT_MS 30000

/** Kafka options as given; strings borrowed from argv. */
typedef struct cli_kafka_args {
  const char *bootstrap; /**< --kafka */
  const char *topic, *group;
  int from_beginning;
  int has_since;
  int64_t since_ms;
  const char *since_text;
  /** --kafka-property NAME=VALUE, as given */
  const char *properties[CLI_MAX_KAFKA_PROPERTIES];
  size_t n_properties;
  /** --kafka-property-env NAME=VARIABLE, as given */
  const char *property_envs[CLI_MAX_KAFKA_PROPERTIES];
  size_t n_property_envs;
  const char *property_file; /**< --kafka-property-file */
  int timeout_ms;            /**< --kafka-timeout; 0: not given */
} cli_kafka_args;

/** Where one target's properties come from (the command line's, or a
 * config target's). */
typedef struct cli_kafka_sources {
  const char *const *properties; /**< "NAME=VALUE" */
  size_t n_properties;
  const char *const *property_envs; /**< "NAME=VARIABLE" */
  size_t n_property_envs;
  const char *property_file; /**< NULL: none */
  const char *where;         /**< what names them in messages */
} cli_kafka_sources;

/** A target's resolved Kafka settings; free with cli_kafka_target_free(). */
typedef struct cli_kafka_target {
  store_kafka kafka;
  char **owned; /**< the property pairs' strings */
  size_t n_owned;
} cli_kafka_target;

/**
 * Takes a Kafka option @p id (CLI_TOPT_KAFKA...): 1 when taken, 0 when not
 * a Kafka option, CLI_EXIT_USAGE (printed) when refused. --since is the
 * caller's (it parses times).
 */
int cli_kafka_opt(cli_kafka_args *a, int id, const char *value,
                  const char *cmd);

/** Takes --since TIME (as cli_parse_time reads it) into @p a: 0, or
 * CLI_EXIT_USAGE (printed) for a bad or repeated one. */
int cli_kafka_since(cli_kafka_args *a, const char *value, const char *cmd);

/**
 * Builds @p out's properties from @p src: the file's, then the
 * environment's, then the NAME=VALUE ones (refusing secrets there), in that
 * order, a later one replacing an earlier. 0, CLI_EXIT_USAGE or
 * CLI_EXIT_IO (printed; never a value).
 */
int cli_kafka_properties(cli_kafka_target *out, const cli_kafka_sources *src,
                         const char *cmd);

void cli_kafka_target_free(cli_kafka_target *t);

struct cli_target_args;

/**
 * After parsing: the Kafka options given need --kafka, --topic and --type,
 * exclude the table, stream and config options, and name one start.
 * 1 when no Kafka option was given, else 0 or CLI_EXIT_USAGE (printed).
 */
int cli_kafka_check(const struct cli_target_args *a, const char *cmd);

struct cli_config_target;

/** A config file's kafka-topic target's settings into @p out (freed by the
 * caller with cli_kafka_target_free() in every case); @p where names the
 * target in messages. 0 or an exit code (printed). */
int cli_kafka_resolve_config(cli_kafka_target *out,
                             const struct cli_config_target *ct,
                             const char *where, const char *cmd);

/**
 * Parses a time as --since and --written-after take it: RFC 3339 with a
 * zone, a date (UTC midnight) or @UNIX_SECONDS, into microseconds since
 * the epoch. 0, or -1 when @p text is not one.
 */
int cli_parse_time(const char *text, int64_t *out_us);

/** The command line's Kafka target settings into @p out (which the caller
 * frees with cli_kafka_target_free() in every case). 0 or an exit code. */
int cli_kafka_resolve(cli_kafka_target *out, const cli_kafka_args *k,
                      const char *cmd);

/**
 * 1 when the arguments of `fix` or `restore` name a Kafka topic (--kafka,
 * --output-topic, --in-place-compacted, --journal-topic): the command is
 * then cli_kafka_fix_run's (src/cli/kafka_fix.c).
 */
int cli_kafka_fix_wanted(int argc, char **argv);

/** `rollsafe fix` (@p restore 0) or `restore` (1) of a Kafka topic; returns
 * the exit code. */
int cli_kafka_fix_run(int argc, char **argv, int restore);

/** The help of fix and restore of a Kafka topic. */
void cli_kafka_fix_help(FILE *out);

#endif
