#define _POSIX_C_SOURCE 200809L
/*
 * Scan reports built by hand and rendered as JSON, text and OpenMetrics:
 * undetermined records (an ambiguous writer with its candidate versions,
 * an unregistered version) are counted apart from the verdicts and per
 * writer, unattributed records have their own count, the raw writer
 * setting is stated per target, and a scan that verified nothing says so.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/estimate.h"
#include "report/scan_report.h"

/* The rendering of @p fn as a string; free() it. */
static char *render(int (*fn)(FILE *, const scan_report *),
                    const scan_report *r) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fn(f, r), 0);
  ck_assert_int_eq(fclose(f), 0);
  return text;
}

static void assert_contains(const char *text, const char *needle) {
  ck_assert_msg(strstr(text, needle) != NULL, "'%s' not in:\n%s", needle, text);
}

static json_int_t int_at(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
  return json_integer_value(v);
}

/* Two targets: one with undetermined records of both kinds and
 * unattributed ones, one given a raw writer. Strings are the fixture's. */
typedef struct fixture {
  char key_a[8], key_u[8], flag[16];
  scan_sample undetermined[2];
  scan_writer writers[2];
  scan_report_target targets[2];
  scan_report report;
} fixture;

static void fixture_init(fixture *fx) {
  memset(fx, 0, sizeof *fx);
  strcpy(fx->key_a, "17");
  strcpy(fx->key_u, "23");
  strcpy(fx->flag, "checkout_v3");
  fx->undetermined[0] = (scan_sample){.key = fx->key_a,
                                      .basis = RS_WRITER_AMBIGUOUS,
                                      .candidates = 0x5u, /* 1 and 3 */
                                      .verdict = RS_VERDICT_MISREAD};
  fx->undetermined[1] = (scan_sample){.key = fx->key_u,
                                      .written_version = 3,
                                      .flag_key = fx->flag,
                                      .basis = RS_WRITER_UNREGISTERED,
                                      .verdict = RS_VERDICT_OK};
  fx->writers[0] = (scan_writer){.version = 0,
                                 .encoding = RS_ENCODING_RAW,
                                 .rows = 6,
                                 .verdicts = {4, 0, 0, 0, 0},
                                 .undetermined = {2, 0}};
  fx->writers[1] = (scan_writer){.version = 3,
                                 .encoding = RS_ENCODING_ENVELOPE,
                                 .flag_key = fx->flag,
                                 .rows = 1,
                                 .undetermined = {0, 1}};
  for (int i = 0; i < 2; i++) {
    scan_report_target *t = &fx->targets[i];
    t->target = (store_target){.name = i ? "events" : "orders",
                               .kind = STORE_SQLITE_TABLE,
                               .connection = "x.db",
                               .table = i ? "events" : "orders",
                               .key = "id",
                               .column = "payload"};
    t->type = "shop.Order";
    t->reader_version = 1;
    t->reader_framing = RS_READER_FRAMING_ENVELOPE;
    t->scanned = 1;
    t->status = STORE_OK;
    t->result.complete = 1;
    t->result.status = STORE_OK;
  }
  scan_result *a = &fx->targets[0].result;
  a->rows_read = 8;
  a->rows_counted = 4;
  a->rows_skipped = 1;
  a->verdicts[RS_VERDICT_OK] = 4;
  a->undetermined[SCAN_AMBIGUOUS_WRITER] = 2;
  a->undetermined[SCAN_UNREGISTERED_VERSION] = 1;
  a->unattributed = 5;
  a->writers = fx->writers;
  a->n_writers = 2;
  a->undetermined_samples = fx->undetermined;
  a->n_undetermined_samples = 2;
  fx->targets[1].raw_writer = 2;
  fx->targets[1].result.rows_read = 2;
  fx->targets[1].result.rows_counted = 2;
  fx->targets[1].result.verdicts[RS_VERDICT_OK] = 2;
  fx->report.flag_key = "checkout_v3";
  fx->report.targets = fx->targets;
  fx->report.n_targets = 2;
  fx->report.exit_code = 4;
}

START_TEST(undetermined_counted_apart_in_json) {
  fixture fx;
  fixture_init(&fx);
  ck_assert_uint_eq(scan_report_undetermined(&fx.report), 3);
  ck_assert_uint_eq(scan_report_findings(&fx.report), 0);
  ck_assert_int_eq(scan_report_nothing_verified(&fx.report), 0);
  json_t *doc = scan_report_json(&fx.report);
  ck_assert_ptr_nonnull(doc);
  json_t *t = json_array_get(json_object_get(doc, "targets"), 0);
  json_t *u = json_object_get(t, "undetermined");
  ck_assert_int_eq(int_at(u, "total"), 3);
  ck_assert_int_eq(int_at(u, "ambiguous_writer"), 2);
  ck_assert_int_eq(int_at(u, "unregistered_version"), 1);
  ck_assert_int_eq(int_at(json_object_get(t, "verdicts"), "ok"), 4);
  ck_assert_int_eq(int_at(json_object_get(t, "unattributed"), "total"), 5);
  json_t *totals = json_object_get(doc, "totals");
  ck_assert_int_eq(int_at(json_object_get(totals, "undetermined"), "total"), 3);
  ck_assert_int_eq(int_at(json_object_get(totals, "unattributed"), "total"), 5);
  /* The raw writer setting of each target. */
  ck_assert_str_eq(json_string_value(json_object_get(
                       json_object_get(t, "reader"), "raw_writer")),
                   "auto");
  json_t *t2 = json_array_get(json_object_get(doc, "targets"), 1);
  ck_assert_int_eq(int_at(json_object_get(t2, "reader"), "raw_writer"), 2);
  /* Per writer. */
  json_t *w = json_array_get(json_object_get(t, "writers"), 0);
  ck_assert_int_eq(
      int_at(json_object_get(w, "undetermined"), "ambiguous_writer"), 2);
  /* Samples: why, and the versions that explain the bytes. */
  json_t *samples =
      json_object_get(json_object_get(t, "samples"), "undetermined");
  ck_assert_uint_eq(json_array_size(samples), 2);
  json_t *s = json_array_get(samples, 0);
  ck_assert_str_eq(json_string_value(json_object_get(s, "undetermined")),
                   "ambiguous_writer");
  ck_assert_str_eq(json_string_value(json_object_get(s, "writer_basis")),
                   "ambiguous");
  json_t *cand = json_object_get(s, "candidates");
  ck_assert_uint_eq(json_array_size(cand), 2);
  ck_assert_int_eq(json_integer_value(json_array_get(cand, 0)), 1);
  ck_assert_int_eq(json_integer_value(json_array_get(cand, 1)), 3);
  ck_assert_str_eq(json_string_value(json_object_get(s, "worst_verdict")),
                   "misread");
  s = json_array_get(samples, 1);
  ck_assert_str_eq(json_string_value(json_object_get(s, "undetermined")),
                   "unregistered_version");
  ck_assert_int_eq(int_at(s, "written_version"), 3);
  /* The reason names what settles each kind. */
  const char *reason = json_string_value(json_object_get(doc, "reason"));
  ck_assert_ptr_nonnull(reason);
  assert_contains(reason, "--raw-writer N");
  assert_contains(reason, "--where");
  assert_contains(reason, "register");
  ck_assert(json_is_false(json_object_get(doc, "nothing_verified")));
  json_decref(doc);
}
END_TEST

START_TEST(undetermined_in_text_and_metrics) {
  fixture fx;
  fixture_init(&fx);
  char *text = render(scan_report_text, &fx.report);
  assert_contains(text, "raw writer auto");
  assert_contains(text, "raw writer version 2 (given)");
  assert_contains(text,
                  "undetermined 3 (2 ambiguous writer, 1 unregistered "
                  "version)");
  assert_contains(text, "id 17 (ambiguous writer: versions 1, 3");
  assert_contains(text, "id 23 (unregistered version 3");
  assert_contains(text, "unattributed 5 records");
  assert_contains(text, "[exit 4]");
  assert_contains(text, "--raw-writer N");
  free(text);
  char *prom = render(scan_report_metrics, &fx.report);
  assert_contains(prom,
                  "rollsafe_scan_undetermined_records{target=\"orders\","
                  "reason=\"ambiguous_writer\"} 2\n");
  assert_contains(prom,
                  "rollsafe_scan_undetermined_records{target=\"orders\","
                  "reason=\"unregistered_version\"} 1\n");
  assert_contains(prom,
                  "rollsafe_scan_unattributed_records{target=\"orders\"} 5\n");
  assert_contains(prom,
                  "rollsafe_scan_records{target=\"orders\",verdict=\"ok\"} "
                  "4\n");
  free(prom);
}
END_TEST

START_TEST(nothing_verified_when_filters_leave_everything_out) {
  fixture fx;
  fixture_init(&fx);
  for (int i = 0; i < 2; i++) {
    scan_result *res = &fx.targets[i].result;
    res->rows_counted = 0;
    res->unattributed = 0;
    memset(res->verdicts, 0, sizeof res->verdicts);
    memset(res->undetermined, 0, sizeof res->undetermined);
    res->n_undetermined_samples = 0;
    res->n_writers = 0;
    res->rows_skipped = res->rows_read;
  }
  ck_assert_int_eq(scan_report_nothing_verified(&fx.report), 1);
  char reason[600];
  scan_report_reason(reason, sizeof reason, &fx.report);
  assert_contains(reason, "nothing verified");
  assert_contains(reason, "10 left out");
  /* One record judged anywhere is something verified. */
  fx.targets[1].result.rows_counted = 1;
  ck_assert_int_eq(scan_report_nothing_verified(&fx.report), 0);
  /* An empty selection: verified nothing only with a filter or --where. */
  fx.targets[1].result.rows_counted = 0;
  for (int i = 0; i < 2; i++)
    fx.targets[i].result.rows_read = fx.targets[i].result.rows_skipped = 0;
  ck_assert_int_eq(scan_report_nothing_verified(&fx.report), 1);
  fx.report.flag_key = NULL;
  ck_assert_int_eq(scan_report_nothing_verified(&fx.report), 0);
  fx.targets[0].target.where = "id > 100";
  ck_assert_int_eq(scan_report_nothing_verified(&fx.report), 1);
  scan_report_reason(reason, sizeof reason, &fx.report);
  assert_contains(reason, "the selection is empty");
  fx.report.exit_code = 0;
  scan_report_reason(reason, sizeof reason, &fx.report);
  ck_assert_str_eq(reason, "");
}
END_TEST

/* The intervals of a sample's estimates, against values worked out by
 * hand (docs/scale.md gives the formulas). */
START_TEST(sample_estimates_and_their_intervals) {
  rs__estimate rows, part, wide;
  /* 2000 rows at f = 0.1: 20000, the score interval 19185..20850. */
  rs__estimate_rows(&rows, 2000, 0.1, -1, NULL);
  ck_assert_uint_eq(rows.count, 20000);
  ck_assert_uint_eq(rows.low, 19185);
  ck_assert_uint_eq(rows.high, 20850);
  /* Statistics are taken as known. */
  rs__estimate_rows(&part, 2000, 0.1, 31337, NULL);
  ck_assert_uint_eq(part.count, 31337);
  ck_assert_uint_eq(part.low, 31337);
  ck_assert_uint_eq(part.high, 31337);
  /* Wilson for 394 of 2000 (0.18016..0.21500), times the rows' bounds. */
  rs__estimate_part(&part, 394, 2000, &rows, NULL);
  ck_assert_uint_eq(part.count, 3940);
  ck_assert_uint_eq(part.low, 3456);
  ck_assert_uint_eq(part.high, 4483);
  /* None sampled: 0, and up to what a sample that size can miss. */
  rs__estimate_part(&part, 0, 2000, &rows, NULL);
  ck_assert_uint_eq(part.count, 0);
  ck_assert_uint_eq(part.low, 0);
  ck_assert_uint_eq(part.high, 40);
  /* Nothing read: nothing known below the rows' high bound. */
  rs__estimate_part(&part, 0, 0, &rows, NULL);
  ck_assert_uint_eq(part.high, rows.high);
  /* 20 clusters of 100 rows, the 400 findings all in 4 of them: the
   * design effect widens the interval, and more so when 4 heaps drew
   * their clusters alike. */
  rs__estimate_rows(&rows, 2000, 0.1, 100000, NULL);
  rs__cluster_sums c = {20, 20 * 100.0 * 100, 4 * 100.0 * 100, 4 * 100.0 * 100,
                        1};
  rs__estimate_part(&part, 400, 2000, &rows, NULL);
  rs__estimate_part(&wide, 400, 2000, &rows, &c);
  ck_assert_uint_eq(part.count, 20000);
  ck_assert_uint_eq(wide.count, 20000);
  ck_assert_uint_lt(wide.low, part.low);
  ck_assert_uint_gt(wide.high, part.high);
  rs__estimate wider;
  c.groups = 4;
  rs__estimate_part(&wider, 400, 2000, &rows, &c);
  ck_assert_uint_lt(wider.low, wide.low);
  ck_assert_uint_gt(wider.high, wide.high);
  /* Findings spread evenly over the clusters: no wider than Wilson. */
  rs__cluster_sums even = {20, 20 * 100.0 * 100, 20 * 20.0 * 20,
                           20 * 100.0 * 20, 1};
  rs__estimate_part(&wide, 400, 2000, &rows, &even);
  ck_assert_uint_le(wide.high - wide.low, part.high - part.low + 400);
}
END_TEST

/* A sampled report says so in JSON, text and metrics, and without a
 * finding it is never clean. */
START_TEST(sampled_report_is_marked) {
  fixture fx;
  fixture_init(&fx);
  fx.report.sampled = 1;
  fx.report.sample_percent = 10;
  fx.report.sample_seed = 42;
  for (int i = 0; i < 2; i++) {
    fx.targets[i].sample.fraction = 0.1;
    fx.targets[i].sample.population = -1;
    fx.targets[i].sample.groups = 1;
    strcpy(fx.targets[i].sample.method, "random rowid windows (seed 42)");
  }
  json_t *doc = scan_report_json(&fx.report);
  ck_assert_ptr_nonnull(doc);
  json_t *s = json_object_get(doc, "sample");
  ck_assert(json_is_true(json_object_get(s, "estimate")));
  ck_assert_int_eq(int_at(s, "seed"), 42);
  ck_assert_int_eq(int_at(s, "rows_sampled"), 10);
  /* 8 + 2 rows at 10%: about 100 rows. */
  ck_assert_int_eq(int_at(json_object_get(s, "rows"), "count"), 100);
  json_t *ts = json_object_get(
      json_array_get(json_object_get(doc, "targets"), 0), "sample");
  ck_assert_str_eq(json_string_value(json_object_get(ts, "population_basis")),
                   "sample");
  json_decref(doc);
  char *text = render(scan_report_text, &fx.report);
  assert_contains(text, "ESTIMATE from a 10% sample (seed 42");
  assert_contains(text, "ESTIMATE of the whole: ~100 (95%: ");
  free(text);
  char *prom = render(scan_report_metrics, &fx.report);
  assert_contains(prom,
                  "rollsafe_scan_records{target=\"orders\","
                  "estimate=\"true\",verdict=\"ok\"} 4");
  assert_contains(prom, "rollsafe_scan_sample_percent{estimate=\"true\"} 10");
  free(prom);
  char reason[600];
  fx.report.exit_code = 4;
  for (int i = 0; i < 2; i++) {
    memset(fx.targets[i].result.undetermined, 0,
           sizeof fx.targets[i].result.undetermined);
    fx.targets[i].result.rows_skipped = 0;
  }
  fx.report.flag_key = NULL;
  scan_report_reason(reason, sizeof reason, &fx.report);
  assert_contains(reason,
                  "estimate from a 10% sample: no finding among the "
                  "10 rows sampled");
}
END_TEST

int main(void) {
  Suite *s = suite_create("scan_report");
  TCase *tc = tcase_create("scan_report");
  tcase_add_test(tc, undetermined_counted_apart_in_json);
  tcase_add_test(tc, undetermined_in_text_and_metrics);
  tcase_add_test(tc, nothing_verified_when_filters_leave_everything_out);
  tcase_add_test(tc, sample_estimates_and_their_intervals);
  tcase_add_test(tc, sampled_report_is_marked);
  suite_add_tcase(s, tc);
  SRunner *runner = srunner_create(s);
  srunner_run_all(runner, CK_NORMAL);
  int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
