#define _POSIX_C_SOURCE 200809L
/*
 * src/report/progress.c: the progress line.
 */
#include <time.h>
#include <unistd.h>

#include "report/progress.h"
#include "verify/util.h"

/* Redraws per second at most: enough to look alive, cheap on a slow tty. */
#define PROGRESS_HZ 4.0

void progress_init(progress *p, FILE *out) {
  p->out = out != NULL && isatty(fileno(out)) ? out : NULL;
  p->name = "";
  p->estimate = -1;
  p->start = p->last = 0;
  p->drawn = 0;
}

void progress_start(progress *p, const char *name, int64_t estimate) {
  p->name = name;
  p->estimate = estimate;
  p->start = verify_now_seconds();
  p->last = 0;
}

/* 1234567 -> "1,234,567" */
static void grouped(char *buf, size_t size, uint64_t n) {
  char digits[24];
  int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n);
  size_t o = 0;
  for (int i = 0; i < len && o + 2 < size; i++) {
    if (i > 0 && (len - i) % 3 == 0) buf[o++] = ',';
    buf[o++] = digits[i];
  }
  buf[o] = '\0';
}

void progress_update(void *ctx, uint64_t rows) {
  progress *p = ctx;
  if (p == NULL || p->out == NULL) return;
  double t = verify_now_seconds();
  if (t - p->last < 1.0 / PROGRESS_HZ) return;
  p->last = t;
  double elapsed = t - p->start;
  double rate = elapsed > 0 ? (double)rows / elapsed : 0;
  char n[32], r[32], e[32], line[200];
  grouped(n, sizeof n, rows);
  grouped(r, sizeof r, (uint64_t)rate);
  int len = snprintf(line, sizeof line, "\r\033[K%s: %s rows, %s rows/s",
                     p->name, n, r);
  if (p->estimate > 0 && len > 0 && (size_t)len < sizeof line) {
    grouped(e, sizeof e, (uint64_t)p->estimate);
    len += snprintf(line + len, sizeof line - (size_t)len, ", of about %s", e);
    if (rate > 0 && (uint64_t)p->estimate > rows && (size_t)len < sizeof line)
      snprintf(line + len, sizeof line - (size_t)len, ", about %.0f s left",
               (double)((uint64_t)p->estimate - rows) / rate);
  }
  /* One write per redraw: stderr is unbuffered, and a line drawn in pieces
   * flickers on a slow terminal. */
  fputs(line, p->out);
  fflush(p->out);
  p->drawn = 1;
}

void progress_end(progress *p) {
  if (p->out != NULL && p->drawn) {
    fputs("\r\033[K", p->out);
    fflush(p->out);
  }
  p->drawn = 0;
}
