/*
 * src/verify/util.h: small helpers the scan and fix engines (and the
 * progress line) share.
 */
#ifndef RS_VERIFY_UTIL_H
#define RS_VERIFY_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rollsafe/errors.h>

#include "verify/colenc.h"

/* Seconds on the monotonic clock, for durations and rates. */
static inline double verify_now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Random numbers of a source seeded once per process (random.c), for the
 * backoff's jitter and run ids: never rand(), which every process starts
 * at the same point. One thread at a time; not for secrets. */
uint64_t verify__random(void);
/* Uniform in [0, 1). */
double verify__random_unit(void);

/* A malloc'd copy of @p s; NULL for NULL or when out of memory. */
static inline char *verify_strdup(const char *s) {
  if (s == NULL) return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d != NULL) memcpy(d, s, n);
  return d;
}

/* A buffer reused from record to record: grown, never shrunk. */
typedef struct verify_bytes {
  uint8_t *data;
  size_t cap;
} verify_bytes;

/*
 * The record bytes of a column's stored value: the value itself for a
 * binary column, else its text decoded into @p b. *@p out borrows the value
 * or @p b. @return 0; -1 when the value is not in the encoding (@p cerr
 * says why and where: the record's own finding, not an error of the run);
 * or RS_ENOMEM.
 */
static inline int verify_decode(colenc_kind kind, const uint8_t *value,
                                size_t len, verify_bytes *b,
                                const uint8_t **out, size_t *out_len,
                                colenc_variant *variant, colenc_error *cerr) {
  if (kind == COLENC_BINARY) {
    *out = value;
    *out_len = len;
    if (variant != NULL) *variant = (colenc_variant){COLENC_BINARY, 0, 0, 0, 0};
    return 0;
  }
  size_t need = colenc_decoded_max(kind, len) + 1;
  if (need > b->cap) {
    uint8_t *grown = realloc(b->data, need);
    if (grown == NULL) return RS_ENOMEM;
    b->data = grown;
    b->cap = need;
  }
  if (colenc_decode(kind, value, len, b->data, out_len, variant, cerr) != 0)
    return -1;
  *out = b->data;
  return 0;
}

#endif
