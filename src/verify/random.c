#define _POSIX_C_SOURCE 200809L
/*
 * src/verify/random.c: the fixer's random numbers (backoff jitter, run ids).
 *
 * Seeded once per process from /dev/urandom, mixed with the process id and
 * the clock (enough on its own when /dev/urandom cannot be read): fixers
 * started together, which would draw one sequence from an unseeded rand(),
 * back off at different times. Not for secrets.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "verify/util.h"

static uint64_t state;
static pid_t seeded_by; /* a forked child seeds again */

/* splitmix64's output function (Steele, Lea and Flood, 2014). */
static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
  return z ^ (z >> 31);
}

static uint64_t seed(void) {
  uint64_t s = 0;
  FILE *f = fopen("/dev/urandom", "rb");
  if (f != NULL) {
    if (fread(&s, sizeof s, 1, f) != 1) s = 0;
    fclose(f);
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  s ^= mix64((uint64_t)getpid() << 32 ^ (uint64_t)ts.tv_sec);
  s ^= mix64((uint64_t)ts.tv_nsec);
  return s;
}

uint64_t verify__random(void) {
  pid_t me = getpid();
  if (seeded_by != me) {
    state = seed();
    seeded_by = me;
  }
  state += 0x9E3779B97F4A7C15u;
  return mix64(state);
}

double verify__random_unit(void) {
  return (double)(verify__random() >> 11) / 9007199254740992.0; /* 2^53 */
}
