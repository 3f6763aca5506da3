/*
 * src/cli/fix_report.h: the parts of a fix's or a restore's report that
 * every target kind shares, written once for cmd_fix.c (tables, queues,
 * stream files) and kafka_fix.c (topics): the outcome counts and their
 * samples (text and JSON), the metrics every fix gives, the result line,
 * and writing the report (stdout or -o, text or JSON) and --metrics.
 */
#ifndef RS_CLI_FIX_REPORT_H
#define RS_CLI_FIX_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "output.h"
#include "verify/fix.h"

/** A JSON text, or null for NULL and "" (no run id, no error, no reason).
 * New reference. */
json_t *cli_fix_text_or_null(const char *s);

/** How a report names outcome @p o: the dry run says what it would do
 * ("would convert", "would restore"). Static. */
const char *cli_fix_outcome_label(fix_outcome o, int execute);

/** Prints one sample of an outcome (its key and why), indented. */
typedef void (*cli_fix_sample_text_fn)(FILE *out, const fix_sample *s,
                                       void *ctx);

/** The text report's outcome lines: each outcome @p r counted, as
 * "  LABEL COUNT", followed by its samples through @p sample. */
void cli_fix_outcomes_text(FILE *out, const fix_result *r, int execute,
                           cli_fix_sample_text_fn sample, void *ctx);

/** One sample of an outcome as JSON ({"key": ..., "why": ...}); new
 * reference. */
typedef json_t *(*cli_fix_sample_json_fn)(const fix_sample *s, void *ctx);

/** The JSON report's "outcomes" (every outcome's count) and "samples"
 * (every outcome's samples through @p sample) of @p r: new references
 * the caller sets into its target object. */
void cli_fix_outcomes_json(json_t **counts, json_t **samples,
                           const fix_result *r, cli_fix_sample_json_fn sample,
                           void *ctx);

/** Metrics: the TYPE and HELP lines of rollsafe_fix_records, then one
 * target's records by outcome (cli_fix_metrics_records). */
void cli_fix_metrics_records_help(FILE *out);
void cli_fix_metrics_records(FILE *out, const char *target,
                             const fix_result *r);

/** Metrics: the TYPE and HELP lines of rollsafe_fix_remaining, then one
 * target's value (cli_fix_metrics_remaining). */
void cli_fix_metrics_remaining_help(FILE *out);
void cli_fix_metrics_remaining(FILE *out, const char *target,
                               uint64_t remaining);

/** Metrics: the command's exit code and the end of the exposition.
 * @return 0, or -1 when @p out has an error */
int cli_fix_metrics_end(FILE *out, int exit_code);

/** The report's last line, "result: exit N[: REASON]".
 * @return 0, or -1 when @p out has an error */
int cli_fix_result_line(FILE *out, int exit_code, const char *reason);

/**
 * Writes the report @p rep to @p output (NULL: stdout) with @p json_fn or
 * @p text_fn, and the metrics to @p metrics (NULL: none) with
 * @p metrics_fn. @return 0, or the exit code of the first write that
 * failed (printed).
 */
int cli_fix_write_report(const char *cmd, const char *output, int json,
                         const char *metrics, cli_write_fn text_fn,
                         cli_write_fn json_fn, cli_write_fn metrics_fn,
                         void *rep);

/** A target's error on stderr, naming the target once: the adapters'
 * messages begin with "target 'NAME'" already, the fixer's own do not. */
void cli_fix_target_error(const char *cmd, const char *name, const char *msg);

#endif
