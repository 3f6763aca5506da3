/*
 * src/cli/output.h: writing a report or metrics file so that a reader (a
 * Prometheus file collector, an Argo analysis, a CI step) never sees half a
 * file: the content goes to a temporary file in the same directory, is
 * flushed to disk, and is renamed over the target.
 */
#ifndef RS_CLI_OUTPUT_H
#define RS_CLI_OUTPUT_H

#include <stdio.h>

/** Writes the content to @p out; returns 0 or -1 (errno set, or not). */
typedef int (*cli_write_fn)(FILE *out, void *ctx);

/**
 * Writes @p path atomically with @p fn. "-" means standard output.
 *
 * @return 0, or CLI_EXIT_IO with the reason printed (naming @p path)
 */
int cli_write_file(const char *cmd, const char *path, cli_write_fn fn,
                   void *ctx);

/**
 * Checks before any work that @p path (given by @p option, e.g. "-o") can be
 * written: not a directory, in a directory that exists and is writable.
 *
 * @return 0, or CLI_EXIT_IO with the reason printed
 */
int cli_output_check(const char *cmd, const char *option, const char *path);

#endif
