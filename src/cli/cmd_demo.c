/* src/cli/cmd_demo.c: `rollsafe demo` (being written). */
#include "cli.h"

int cli_demo_run(int argc, char **argv) {
  (void)argc;
  (void)argv;
  cli_error("demo", "not available yet");
  return CLI_EXIT_USAGE;
}

void cli_demo_help(FILE *out) { fputs("usage: rollsafe demo DIR [--rows N]\n", out); }
