/*
 * src/report/progress.h: a one-line progress display on stderr while a
 * scan runs (rows, rows/s, the estimated total from the table statistics,
 * time left). Only on a terminal: when stderr is a pipe or a file the
 * display does nothing, so logs stay clean.
 */
#ifndef RS_REPORT_PROGRESS_H
#define RS_REPORT_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct progress {
  FILE *out;        /* NULL: disabled */
  const char *name; /* the target being scanned */
  int64_t estimate; /* rows expected, or -1 */
  double start, last;
  int drawn;
} progress;

/** Enables the display when @p out is a terminal. */
void progress_init(progress *p, FILE *out);

/** Starts a target: its name and estimated row count (-1: unknown). */
void progress_start(progress *p, const char *name, int64_t estimate);

/** A scan_progress_fn: redraws at most a few times a second. */
void progress_update(void *ctx, uint64_t rows);

/** Clears the line. */
void progress_end(progress *p);

#endif
