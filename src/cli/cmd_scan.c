/* src/cli/cmd_scan.c: `rollsafe scan` (being written). */
#include "cli.h"

int cli_scan_run(int argc, char **argv) {
  (void)argc;
  (void)argv;
  cli_error("scan", "not available yet");
  return CLI_EXIT_USAGE;
}

void cli_scan_help(FILE *out) { fputs("usage: rollsafe scan ...\n", out); }
