#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rs_test_run(Suite *suite) {
  SRunner *runner = srunner_create(suite);
  srunner_run_all(runner, CK_NORMAL);
  int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static rs_registry *test_registry;

static void free_test_registry(void) { rs_registry_free(test_registry); }

const rs_registry *rs_test_registry(void) {
  if (test_registry == NULL) {
    rs_error err = RS_ERROR_INIT;
    if (rs_shop_registry(&test_registry, &err) != 0) {
      fprintf(stderr, "rs_shop_registry: %s\n", err.message);
      abort();
    }
    atexit(free_test_registry);
  }
  return test_registry;
}

void rs_test_read_file(const char *path, uint8_t **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  ck_assert_ptr_nonnull(buf);
  for (;;) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (n < cap) break;
    cap *= 2;
    buf = realloc(buf, cap);
    ck_assert_ptr_nonnull(buf);
  }
  ck_assert_msg(!ferror(f), "cannot read %s", path);
  fclose(f);
  *out = buf;
  *len = n;
}

const char *rs_test_fixture(const char *relative) {
  static char path[4096];
  const char *root = getenv("RS_FIXTURES");
  ck_assert_msg(root != NULL, "RS_FIXTURES is not set (run through ctest)");
  snprintf(path, sizeof path, "%s/%s", root, relative);
  return path;
}

static void *chaos_alloc(void *data, size_t size) {
  rs_chaos *chaos = data;
  chaos->calls++;
  if (chaos->fail_at != 0 && chaos->calls == chaos->fail_at) {
    chaos->failed = 1;
    return NULL;
  }
  void *p = malloc(size == 0 ? 1 : size);
  if (p != NULL) chaos->live++;
  return p;
}

static void chaos_free(void *data, void *ptr) {
  rs_chaos *chaos = data;
  if (ptr != NULL) {
    chaos->live--;
    free(ptr);
  }
}

void rs_chaos_init(rs_chaos *chaos, size_t fail_at) {
  memset(chaos, 0, sizeof *chaos);
  chaos->allocator.alloc = chaos_alloc;
  chaos->allocator.free = chaos_free;
  chaos->allocator.allocator_data = chaos;
  chaos->fail_at = fail_at;
}
