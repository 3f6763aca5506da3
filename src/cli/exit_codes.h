/*
 * src/cli/exit_codes.h: the exit status of every rollsafe subcommand.
 *
 * DESIGN.md fixes these for the whole tool: a deployment pipeline (Argo
 * Rollouts, a CI job) reads nothing but this number, so a subcommand never
 * invents its own.
 */
#ifndef RS_CLI_EXIT_CODES_H
#define RS_CLI_EXIT_CODES_H

typedef enum cli_exit {
  /** Clean: every record checked is read correctly by the reader. */
  CLI_EXIT_CLEAN = 0,
  /**
   * Found records the reader cannot read correctly (misread, unreadable,
   * corrupt); for diff, rollback-unsafe changes.
   */
  CLI_EXIT_FOUND = 1,
  /** Usage or configuration error: nothing was checked. */
  CLI_EXIT_USAGE = 2,
  /** Connection or I/O error (includes running out of memory). */
  CLI_EXIT_IO = 3,
  /** Incomplete (interrupted, time limit, locked rows left): inconclusive. */
  CLI_EXIT_INCOMPLETE = 4
} cli_exit;

/** The exit status block of the help of the tool and of every command
 * whose codes mean nothing more specific. */
#define CLI_EXIT_STATUS_HELP                                                  \
  "Exit status, the same for every command:", "  0  clean",                   \
      "  1  found records the reader cannot read correctly",                  \
      "  2  usage or configuration error", "  3  connection or I/O error",    \
      "  4  inconclusive: interrupted, a time limit, locked rows left, or a", \
      "     writer or reading that could not be decided"

#endif
