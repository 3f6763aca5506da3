#define _POSIX_C_SOURCE 200809L
/*
 * tests/verify/check_fix_merge.c: fix_result_merge(), which adds up the
 * parts of one target (fix --jobs, --shard) into the report one fix of
 * the whole target writes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/fix.h"
#include "verify/util.h"

/* Appends sample @p key (why @p why) to @p r's samples of @p oc. */
static void add_sample(fix_result *r, fix_outcome oc, const char *key,
                       const char *why) {
  fix_sample *grown =
      realloc(r->samples[oc], (r->n_samples[oc] + 1) * sizeof *grown);
  ck_assert_ptr_nonnull(grown);
  r->samples[oc] = grown;
  grown[r->n_samples[oc]++] =
      (fix_sample){verify_strdup(key), 1, 0, verify_strdup(why)};
}

static void add_unsettled(fix_result *r, const char *key) {
  fix_sample *grown =
      realloc(r->unsettled_keys, (r->n_unsettled_keys + 1) * sizeof *grown);
  ck_assert_ptr_nonnull(grown);
  r->unsettled_keys = grown;
  grown[r->n_unsettled_keys++] =
      (fix_sample){verify_strdup(key), 1, 0, verify_strdup("conflict")};
}

START_TEST(parts_add_up_as_one_fix) {
  fix_result a, b, into;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  memset(&into, 0, sizeof into);
  a.executed = b.executed = 1;
  a.complete = 1;
  b.complete = 1;
  a.verified = b.verified = 1;
  a.rows_read = 10;
  b.rows_read = 7;
  a.passes = 1;
  b.passes = 2;
  a.counts[FIX_CONVERTED] = 4;
  b.counts[FIX_CONVERTED] = 3;
  a.counts[FIX_CORRUPT] = 1;
  a.remaining = 1;
  b.remaining = 2;
  a.remaining_verdicts[RS_VERDICT_CORRUPT] = 1;
  b.remaining_verdicts[RS_VERDICT_UNREADABLE] = 2;
  a.seconds = 1.5;
  b.seconds = 2.5;
  snprintf(a.run.run_id, sizeof a.run.run_id, "R.t0.p0of2");
  snprintf(b.run.run_id, sizeof b.run.run_id, "R.t0.p1of2");
  a.run.restored = 2;
  b.run.restored = 3;
  /* Integer keys by value: 9 before 10, as one fix pages through them. */
  add_sample(&a, FIX_CONVERTED, "10", "a");
  add_sample(&a, FIX_CONVERTED, "30", "a");
  add_sample(&b, FIX_CONVERTED, "9", "b");
  add_sample(&b, FIX_CONVERTED, "20", "b");
  add_sample(&a, FIX_CORRUPT, "5", "bad");
  add_unsettled(&b, "8");
  add_unsettled(&a, "3");
  a.hooks = calloc(1, sizeof *a.hooks);
  a.n_hooks = 1;
  b.hooks = calloc(1, sizeof *b.hooks);
  b.n_hooks = 1;

  ck_assert_int_eq(fix_result_merge(&into, &a, 1, 3), 0);
  ck_assert_int_eq(fix_result_merge(&into, &b, 0, 3), 0);

  ck_assert_int_eq(into.executed, 1);
  ck_assert_int_eq(into.complete, 1);
  ck_assert_int_eq(into.verified, 1);
  ck_assert_uint_eq(into.rows_read, 17);
  ck_assert_uint_eq(into.passes, 2);
  ck_assert_uint_eq(into.counts[FIX_CONVERTED], 7);
  ck_assert_uint_eq(into.counts[FIX_CORRUPT], 1);
  ck_assert_uint_eq(into.remaining, 3);
  ck_assert_uint_eq(into.remaining_verdicts[RS_VERDICT_CORRUPT], 1);
  ck_assert_uint_eq(into.remaining_verdicts[RS_VERDICT_UNREADABLE], 2);
  ck_assert(into.seconds == 2.5);
  ck_assert_str_eq(into.run.run_id, "R.t0.p0of2");
  ck_assert_int_eq((int)into.run.restored, 5);
  ck_assert_uint_eq(into.n_hooks, 1);
  /* The first three keys of the whole target, in key order. */
  ck_assert_uint_eq(into.n_samples[FIX_CONVERTED], 3);
  ck_assert_str_eq(into.samples[FIX_CONVERTED][0].key, "9");
  ck_assert_str_eq(into.samples[FIX_CONVERTED][1].key, "10");
  ck_assert_str_eq(into.samples[FIX_CONVERTED][2].key, "20");
  ck_assert_str_eq(into.samples[FIX_CONVERTED][0].why, "b");
  ck_assert_uint_eq(into.n_samples[FIX_CORRUPT], 1);
  ck_assert_uint_eq(into.n_unsettled_keys, 2);
  ck_assert_str_eq(into.unsettled_keys[0].key, "3");
  ck_assert_str_eq(into.unsettled_keys[1].key, "8");
  /* The parts are left empty. */
  ck_assert_ptr_null(a.hooks);
  ck_assert_ptr_null(b.samples[FIX_CONVERTED]);
  ck_assert_uint_eq(b.n_unsettled_keys, 0);
  fix_result_dispose(&into);
}
END_TEST

START_TEST(a_part_that_failed_makes_the_target_fail) {
  fix_result a, b, into;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  memset(&into, 0, sizeof into);
  a.complete = 1;
  a.verified = 1;
  b.complete = 0;
  b.interrupted = 1;
  b.status = STORE_EBUSY;
  snprintf(b.error, sizeof b.error, "table t: locks not obtained");
  a.counts[FIX_CONFLICT] = 1;
  b.counts[FIX_CONFLICT] = 1;
  add_sample(&b, FIX_CONFLICT, "k-b", "");
  add_sample(&a, FIX_CONFLICT, "k-a", "");
  ck_assert_int_eq(fix_result_merge(&into, &a, 1, 0), 0);
  ck_assert_int_eq(fix_result_merge(&into, &b, 0, 0), 0);
  ck_assert_int_eq(into.complete, 0);
  ck_assert_int_eq(into.verified, 0);
  ck_assert_int_eq(into.interrupted, 1);
  ck_assert_int_eq(into.status, STORE_EBUSY);
  ck_assert_str_eq(into.error, "table t: locks not obtained");
  /* --samples 0: counted, none kept. */
  ck_assert_uint_eq(into.counts[FIX_CONFLICT], 2);
  ck_assert_uint_eq(into.n_samples[FIX_CONFLICT], 0);
  fix_result_dispose(&into);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("fix_merge");
  TCase *tc = tcase_create("merge");
  tcase_add_test(tc, parts_add_up_as_one_fix);
  tcase_add_test(tc, a_part_that_failed_makes_the_target_fail);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
