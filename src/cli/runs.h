/*
 * src/cli/runs.h: what a fix run records about each of its targets, and how
 * fix --resume, restore, runs and purge find a run again.
 *
 * One `fix --execute` is one run: one id across every target it works on.
 * Each target's database keeps that target's row of the run (store_run,
 * one per run and target), and the row's settings: a JSON object holding
 * everything a resume or a restore needs besides the database itself, so
 * that `restore --sqlite DB --run ID` alone restores a run, and options
 * that contradict what the run recorded are refused.
 *
 *   {"format": 1,
 *    "run_targets": ["orders", "order_events"],  every target of the run
 *    "kind": "sqlite-queue", "where": "...",
 *    "state_column": "state", "pending_states": "pending",
 *    "in_flight_states": "processing",
 *    "column_encoding": "binary",
 *    "type": "shop.Order", "message": null,
 *    "schemas": ["/abs/v1.desc", ...], "plugins": [...],
 *    "proto_paths": [...],                 where the type came from
 *    "fingerprints": {"1": "9f...", "2": "41..."},
 *    "reader_version": 1, "reader_framing": "raw", "raw_writer": 0,
 *    "schema_ids": {"42": "2", "43": "1@1"},
 *    "to_version": 1, "allow_lossy": false,
 *    "enum_map": [["shop.v2.Order.Status", "AWAITING_AUTH", "PENDING"]],
 *    "config": "rollsafe.yaml", "rollsafe_version": "0.1.0",
 *    "partition": {"index": 3, "count": 8, "shard": 1, "shards": 4}}
 *                                          a part of the target only:
 *                                          fix --jobs / --shard
 */
#ifndef RS_CLI_RUNS_H
#define RS_CLI_RUNS_H

#include <stddef.h>

#include <jansson.h>

#include "store/store.h"
#include "targets.h"

/** A run's row for one target, with its settings read. */
typedef struct cli_run_part {
  store_run run;
  /** The settings; NULL for a row an earlier rollsafe wrote (it recorded
   * table, key, column and version written, nothing else). */
  json_t *settings;
  /* What a target built from the settings borrows (cli_run_spec). */
  rs_schema_id schema_ids[CLI_MAX_SCHEMA_IDS];
  size_t n_schema_ids;
} cli_run_part;

void cli_run_parts_free(cli_run_part *parts, size_t n);

/** The session limits a database's runs are read with (the command's
 * lock and statement timeouts, as for its writers). */
typedef struct cli_run_limits {
  store_open_options open;
  store_write_options write;
} cli_run_limits;

/**
 * The rows of run @p run in the database of @p db (its kind and
 * connection), read through store_open_runs() with @p limits (NULL: the
 * defaults). *n 0: none there. @p described (NULL, or 256 bytes) receives
 * the database as messages may show it (never a password).
 * @return 0, CLI_EXIT_USAGE, CLI_EXIT_IO or CLI_EXIT_INCOMPLETE (printed)
 */
int cli_run_parts_of(cli_run_part **out, size_t *n, const store_target *db,
                     const char *run, char *described,
                     const cli_run_limits *limits, const char *cmd);

/** Every run row of the database of @p db, oldest first. */
int cli_run_list_of(cli_run_part **out, size_t *n, const store_target *db,
                    const cli_run_limits *limits, const char *cmd);

/** Whether @p p is target @p t's row: the same name, or, for a row an
 * earlier rollsafe wrote, the same table and column. */
int cli_run_is_target(const cli_run_part *p, const store_target *t);

/** The run's target names as its rows recorded them: @p p's
 * run_targets (borrowed), or NULL for a row without settings. */
json_t *cli_run_targets(const cli_run_part *p);

/** A string of the settings, or NULL. Borrowed. */
const char *cli_run_str(const cli_run_part *p, const char *key);

/** What a new fix run records, besides the target itself. */
typedef struct cli_run_context {
  const char *const *targets; /**< the run's target names */
  size_t n_targets;
  const char *config; /**< -c as given, or NULL */
  unsigned to_version;
  int allow_lossy;
  /** A part of the target (fix --jobs, --shard): the rows whose key
   * hashes to part_index modulo part_count, this process being shard
   * shard_index of shard_count (0: not sharded). part_count 0: the whole
   * target. */
  unsigned part_index, part_count, shard_index, shard_count;
} cli_run_context;

/**
 * Makes @p run the new row of run @p run_id (its own id @p row_id) for
 * target @p t of @p set, with its settings.
 * @return 0 or CLI_EXIT_USAGE (printed: settings that do not fit)
 */
int cli_run_new_part(store_run *run, const char *run_id, const char *row_id,
                     const cli_target_set *set, const cli_target_args *a,
                     const cli_target *t, const cli_run_context *ctx,
                     const char *cmd);

/** A target's part of a run made with fix --jobs or --shard, as its
 * settings recorded it ("partition"). */
typedef struct cli_run_partition {
  unsigned index, count;  /**< rows whose key hashes to index mod count */
  unsigned shard, shards; /**< the shard that made it; shards 0: none */
} cli_run_partition;

/** Whether @p p is one part of its target (fix --jobs, --shard), and
 * which (@p out may be NULL). */
int cli_run_partition_of(const cli_run_part *p, cli_run_partition *out);

/**
 * The target @p p recorded, in the database @p db names (kind, connection
 * and what shows it): kind, table, key, column, where and queue states,
 * column encoding, type and reader; strings borrowed from @p p.
 * @return 0, or CLI_EXIT_USAGE (printed) for a row without settings: it
 *         needs the target's options
 */
int cli_run_spec(cli_target_spec *out, cli_run_part *p, const store_target *db,
                 const char *cmd);

/** The message a missing record type gets: which options to add, from the
 * sources the run recorded. Written into @p out. */
void cli_run_type_hint(char *out, size_t size, const cli_run_part *p);

/** Which settings the command line or the config gave for a target
 * explicitly; the others are taken from the run. */
typedef struct cli_run_given {
  int kind, key, where, states, column_encoding, type, reader_version, framing,
      raw_writer, schema_ids, to_version, allow_lossy, enum_map;
} cli_run_given;

/** The settings @p a (and the config of @p set) give explicitly for @p t. */
void cli_run_given_of(cli_run_given *g, const cli_target_set *set,
                      const cli_target_args *a, const cli_target *t);

/**
 * Checks target @p t (as the command line or config give it) against what
 * its run recorded, and takes the run's settings for what was not given:
 * kind and queue states, key, where, column encoding, reader, raw writer,
 * schema ids (@p t is changed). With @p codec (a resume) the reader, the
 * version written, --allow-lossy, the enum map and the schemas'
 * fingerprints are checked too, and *to_version and *allow_lossy set to the
 * run's. A contradiction is CLI_EXIT_USAGE (printed, saying what the run
 * recorded).
 */
int cli_run_check(cli_run_part *p, cli_target *t, const cli_run_given *g,
                  const cli_target_set *set, int codec, unsigned to_version,
                  int allow_lossy, unsigned *run_to_version,
                  int *run_allow_lossy, const char *cmd);

/**
 * The command that goes on with run @p run: `fix ... --resume RUN
 * --execute` or `restore ... --run RUN --execute`, with the target options
 * of @p a (a config, or the database alone), --target for each of
 * @p names when the command was narrowed, and the type options a resume
 * needs (those given, else where the run's type came from, @p p).
 * Shell-quoted. "" when it does not fit.
 */
void cli_run_command(char *out, size_t size, const char *cmd,
                     const cli_target_args *a, const char *run,
                     const char *const *names, size_t n_names,
                     const cli_run_part *p);

#endif
