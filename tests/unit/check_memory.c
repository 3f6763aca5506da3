/*
 * One record's memory: everything the classification of a hostile record
 * allocates stays within max_alloc, and what it leaves out of its reasons
 * is counted, not written.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* order_id "o", customer_id "c", then n unknown varint fields numbered
 * 100 on (three bytes each up to 16383). */
static uint8_t *unknown_fields(size_t n, size_t *len) {
  uint8_t *p = malloc(6 + 4 * n);
  ck_assert_ptr_nonnull(p);
  static const uint8_t head[] = {0x0a, 0x01, 'o', 0x12, 0x01, 'c'};
  memcpy(p, head, sizeof head);
  size_t o = sizeof head;
  for (size_t i = 0; i < n; i++) {
    uint64_t key = (uint64_t)(100 + i) << 3; /* wire type 0 */
    while (key >= 0x80) {
      p[o++] = (uint8_t)(key | 0x80);
      key >>= 7;
    }
    p[o++] = (uint8_t)key;
    p[o++] = 0;
  }
  *len = o;
  return p;
}

static int any_reason(const rs_classification *c, const char *part) {
  for (size_t i = 0; i < rs_classification_reason_count(c); i++)
    if (strstr(rs_reason_text(rs_classification_reason(c, i)), part) != NULL)
      return 1;
  return 0;
}

static rs_classification *classify_in(rs_arena *arena, const uint8_t *buf,
                                      size_t len, size_t max_alloc) {
  rs_options o = RS_OPTIONS_INIT;
  o.allocator = rs_arena_allocator(arena);
  o.max_alloc = max_alloc;
  rs_reader reader = RS_READER_INIT;
  reader.format_version = 1;
  rs_classification *c = NULL;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(rs_classify(&c, rs_test_registry(), RS_SHOP_ORDER, &reader,
                               buf, len, &o, &err),
                   0);
  return c;
}

/* The comparison's working memory used to be a budget of its own, 128
 * bytes a byte of record, beside the decode's: an arena held several
 * times max_alloc after one hostile record. */
START_TEST(hostile_record_over_max_alloc_stays_within_it) {
  size_t len;
  uint8_t *buf = unknown_fields(200000, &len);
  rs_arena *arena = NULL;
  ck_assert_int_eq(rs_arena_new(&arena, 0, NULL, NULL), 0);
  size_t max_alloc = (size_t)4 << 20;
  rs_classification *c = classify_in(arena, buf, len, max_alloc);
  ck_assert_int_eq(rs_classification_verdict(c), RS_VERDICT_UNREADABLE);
  ck_assert_msg(any_reason(c, "over the limits") &&
                    any_reason(c, "4194304 bytes") &&
                    any_reason(c, "--max-alloc"),
                "no reason names the limit");
  ck_assert_msg(rs_arena_capacity(arena) <= max_alloc + (64 << 10),
                "the arena holds %zu bytes after a record judged within %zu",
                rs_arena_capacity(arena), max_alloc);
  rs_classification_free(c);
  rs_arena_free(arena);
  free(buf);
}
END_TEST

START_TEST(hostile_record_within_max_alloc_keeps_the_worst_reasons) {
  size_t len;
  uint8_t *buf = unknown_fields(200000, &len);
  rs_arena *arena = NULL;
  ck_assert_int_eq(rs_arena_new(&arena, 0, NULL, NULL), 0);
  size_t max_alloc = (size_t)64 << 20;
  rs_classification *c = classify_in(arena, buf, len, max_alloc);
  ck_assert_int_eq(rs_classification_verdict(c), RS_VERDICT_IGNORED_FIELDS);
  ck_assert_uint_eq(rs_classification_reason_count(c), RS_MAX_REASONS);
  ck_assert_uint_eq(
      rs_classification_reason_count(c) + rs_classification_reasons_omitted(c),
      200000);
  /* The reasons kept are the first ones; the rest were only counted, so
   * the arena holds the writer's decode (about 16 MiB with protobuf-c's
   * own working memory) and 32 reasons: not 200,000 texts, nor the
   * comparison's working memory, nor the trial decodes of each version
   * (freed as soon as they are done). */
  ck_assert_str_eq(rs_reason_path(rs_classification_reason(c, 0)), "(100)");
  ck_assert_msg(rs_arena_capacity(arena) <= (size_t)24 << 20,
                "the arena holds %zu bytes", rs_arena_capacity(arena));
  rs_classification_free(c);
  rs_arena_free(arena);
  free(buf);
}
END_TEST

Suite *memory_suite(void);
Suite *memory_suite(void) {
  Suite *s = suite_create("memory");
  TCase *tc = tcase_create("memory");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, hostile_record_over_max_alloc_stays_within_it);
  tcase_add_test(tc, hostile_record_within_max_alloc_keeps_the_worst_reasons);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return rs_test_run(memory_suite());
}
