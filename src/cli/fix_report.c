/*
 * src/cli/fix_report.c: what the reports of fix and restore share across
 * target kinds (see fix_report.h).
 */
#include "fix_report.h"

#include <inttypes.h>
#include <string.h>

#include <rollsafe/rollsafe.h>

#include "cli.h"
#include "report/scan_report.h"

json_t *cli_fix_text_or_null(const char *s) {
  return s != NULL && s[0] ? rs__json_text(s) : json_null();
}

const char *cli_fix_outcome_label(fix_outcome o, int execute) {
  if (!execute && o == FIX_CONVERTED) return "would convert";
  if (!execute && o == FIX_LOSSY) return "would convert (lossy)";
  if (!execute && o == FIX_RESTORED) return "would restore";
  return fix_outcome_name(o);
}

void cli_fix_outcomes_text(FILE *out, const fix_result *r, int execute,
                           cli_fix_sample_text_fn sample, void *ctx) {
  for (int o = 0; o < FIX_OUTCOME_COUNT; o++) {
    if (r->counts[o] == 0) continue;
    fprintf(out, "  %-22s %" PRIu64 "\n",
            cli_fix_outcome_label((fix_outcome)o, execute), r->counts[o]);
    for (size_t k = 0; k < r->n_samples[o]; k++)
      sample(out, &r->samples[o][k], ctx);
  }
}

void cli_fix_outcomes_json(json_t **counts, json_t **samples,
                           const fix_result *r, cli_fix_sample_json_fn sample,
                           void *ctx) {
  *counts = json_object();
  *samples = json_object();
  for (int o = 0; o < FIX_OUTCOME_COUNT; o++) {
    json_object_set_new(*counts, fix_outcome_name((fix_outcome)o),
                        json_integer((json_int_t)r->counts[o]));
    json_t *list = json_array();
    for (size_t k = 0; k < r->n_samples[o]; k++)
      json_array_append_new(list, sample(&r->samples[o][k], ctx));
    json_object_set_new(*samples, fix_outcome_name((fix_outcome)o), list);
  }
}

void cli_fix_metrics_records_help(FILE *out) {
  fputs(
      "# TYPE rollsafe_fix_records gauge\n"
      "# HELP rollsafe_fix_records Records by target and outcome.\n",
      out);
}

void cli_fix_metrics_records(FILE *out, const char *target,
                             const fix_result *r) {
  for (int o = 0; o < FIX_OUTCOME_COUNT; o++) {
    fputs("rollsafe_fix_records{target=", out);
    rs__metrics_label(out, target);
    fprintf(out, ",outcome=\"%s\"} %" PRIu64 "\n",
            fix_outcome_name((fix_outcome)o), r->counts[o]);
  }
}

void cli_fix_metrics_remaining_help(FILE *out) {
  fputs(
      "# TYPE rollsafe_fix_remaining gauge\n"
      "# HELP rollsafe_fix_remaining Records the reader still cannot read "
      "after the fix.\n",
      out);
}

void cli_fix_metrics_remaining(FILE *out, const char *target,
                               uint64_t remaining) {
  fputs("rollsafe_fix_remaining{target=", out);
  rs__metrics_label(out, target);
  fprintf(out, "} %" PRIu64 "\n", remaining);
}

int cli_fix_metrics_end(FILE *out, int exit_code) {
  fprintf(out,
          "# TYPE rollsafe_fix_exit_code gauge\n"
          "# HELP rollsafe_fix_exit_code The command's exit code.\n"
          "rollsafe_fix_exit_code %d\n# EOF\n",
          exit_code);
  return ferror(out) ? -1 : 0;
}

int cli_fix_result_line(FILE *out, int exit_code, const char *reason) {
  fprintf(out, "result: exit %d", exit_code);
  if (reason != NULL) fprintf(out, ": %s", reason);
  fputc('\n', out);
  return ferror(out) ? -1 : 0;
}

int cli_fix_write_report(const char *cmd, const char *output, int json,
                         const char *metrics, cli_write_fn text_fn,
                         cli_write_fn json_fn, cli_write_fn metrics_fn,
                         void *rep) {
  int w =
      cli_write_file(cmd, output ? output : "-", json ? json_fn : text_fn, rep);
  if (metrics != NULL) {
    int m = cli_write_file(cmd, metrics, metrics_fn, rep);
    if (w == 0) w = m;
  }
  return w;
}

void cli_fix_target_error(const char *cmd, const char *name, const char *msg) {
  if (strncmp(msg, "target '", 8) == 0)
    cli_error(cmd, "%s", msg);
  else
    cli_error(cmd, "target '%s': %s", name, msg);
}
