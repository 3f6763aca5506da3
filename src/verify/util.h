/*
 * src/verify/util.h: small helpers the scan and fix engines (and the
 * progress line) share.
 */
#ifndef RS_VERIFY_UTIL_H
#define RS_VERIFY_UTIL_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds on the monotonic clock, for durations and rates. */
static inline double verify_now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A malloc'd copy of @p s; NULL for NULL or when out of memory. */
static inline char *verify_strdup(const char *s) {
  if (s == NULL) return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d != NULL) memcpy(d, s, n);
  return d;
}

#endif
