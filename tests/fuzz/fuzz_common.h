/*
 * Shared by the fuzz targets: the example registry, the small limits the
 * targets run with, and the invariant check. A broken invariant prints what
 * broke and aborts, which libFuzzer reports as a crash and the replay driver
 * (replay_main.c) as a failed test.
 */
#ifndef RS_FUZZ_COMMON_H
#define RS_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include <rollsafe/rollsafe.h>
#include <rollsafe/shop.h>

#include <rollsafe/shop/v1/order.pb-c.h>
#include <rollsafe/shop/v2/order.pb-c.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_RECORD ((size_t)1 << 20) /* 1 MiB */
#define FUZZ_MAX_ALLOC ((size_t)8 << 20)  /* 8 MiB */

#define FUZZ_CHECK(cond, ...)                                                \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: invariant broken: %s\n  ", __FILE__, __LINE__, \
              #cond);                                                        \
      fprintf(stderr, __VA_ARGS__);                                          \
      fprintf(stderr, "\n");                                                 \
      abort();                                                               \
    }                                                                        \
  } while (0)

static inline const rs_registry *fuzz_registry(void) {
  static rs_registry *reg; /* built once, reachable until exit */
  if (reg == NULL) {
    rs_error err = RS_ERROR_INIT;
    if (rs_shop_registry(&reg, &err) != 0) {
      fprintf(stderr, "rs_shop_registry: %s\n", err.message);
      abort();
    }
  }
  return reg;
}

static inline rs_options fuzz_options(void) {
  rs_options o = RS_OPTIONS_INIT;
  o.max_record_size = FUZZ_MAX_RECORD;
  o.max_alloc = FUZZ_MAX_ALLOC;
  return o;
}

/* Tight limits, for the differential checks: same answer, or a limit. */
#define FUZZ_TIGHT_ALLOC ((size_t)2048)

static inline rs_options fuzz_tight_options(void) {
  rs_options o = fuzz_options();
  o.max_alloc = FUZZ_TIGHT_ALLOC;
  return o;
}

/* One arena per process with small chunks, reset by each input. */
static inline rs_options fuzz_arena_options(void) {
  static rs_arena *arena;
  if (arena == NULL) {
    rs_error err = RS_ERROR_INIT;
    if (rs_arena_new(&arena, 512, NULL, &err) != 0) {
      fprintf(stderr, "rs_arena_new: %s\n", err.message);
      abort();
    }
  }
  rs_arena_reset(arena);
  rs_options o = fuzz_options();
  o.allocator = rs_arena_allocator(arena);
  return o;
}

/* An error the call filled in as errors.h promises. */
static inline void fuzz_check_error(const char *call, int rc,
                                    const rs_error *err, size_t len) {
  FUZZ_CHECK(err->code == rc, "%s returned %s but err.code is %s", call,
             rs_error_name(rc), rs_error_name(err->code));
  FUZZ_CHECK(err->message[0] != '\0', "%s: %s with an empty message", call,
             rs_error_name(rc));
  FUZZ_CHECK(err->offset == RS_OFFSET_NONE || err->offset <= len,
             "%s: error offset %zu past the end of a %zu-byte record (%s)",
             call, err->offset, len, err->message);
}

#endif
