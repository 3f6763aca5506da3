/*
 * src/cli/cli.h: what main.c and the subcommands share.
 *
 * Every subcommand is one cmd_<name>.c exporting a run function and a help
 * function; main.c holds the table. Messages for the user go through the
 * helpers below so that every error is one line starting with the command
 * that failed.
 */
#ifndef RS_CLI_H
#define RS_CLI_H

#include <stdio.h>

#include "exit_codes.h"

/** Program name used in messages and help. */
#define CLI_PROGRAM "rollsafe"

/**
 * Runs a subcommand.
 *
 * @param argc number of arguments, the subcommand name included
 * @param argv argv[0] is the subcommand name, then its arguments
 * @return a cli_exit code
 */
typedef int (*cli_run_fn)(int argc, char **argv);

/** Writes a subcommand's full help to @p out. */
typedef void (*cli_help_fn)(FILE *out);

int cli_inspect_run(int argc, char **argv);
void cli_inspect_help(FILE *out);
int cli_scan_run(int argc, char **argv);
void cli_scan_help(FILE *out);
int cli_demo_run(int argc, char **argv);
void cli_demo_help(FILE *out);
int cli_fix_run(int argc, char **argv);
void cli_fix_help(FILE *out);
int cli_restore_run(int argc, char **argv);
void cli_restore_help(FILE *out);
int cli_runs_run(int argc, char **argv);
void cli_runs_help(FILE *out);
int cli_purge_run(int argc, char **argv);
void cli_purge_help(FILE *out);
int cli_diff_run(int argc, char **argv);
void cli_diff_help(FILE *out);
int cli_merge_run(int argc, char **argv);
void cli_merge_help(FILE *out);

/**
 * Prints "rollsafe <cmd>: <message>" and a newline on stderr. @p cmd may be
 * NULL for messages of the program itself.
 */
void cli_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/**
 * Prints a note ("rollsafe <cmd>: <message>") on stderr unless -q/--quiet
 * was given: what explains a result (an exit 4, output left out) rather
 * than an error.
 */
void cli_note(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/**
 * Prints a usage error as one line, with the hint to use --help, and
 * returns CLI_EXIT_USAGE.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/**
 * Flushes stdout and turns a failed write (a closed pipe, a full disk) into
 * an error message and CLI_EXIT_IO; returns @p status otherwise.
 */
int cli_finish_stdout(const char *cmd, int status);

#endif
