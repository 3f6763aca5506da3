/*
 * RS_OPT_STRICT: rs_read_as and rs_transcode refuse a lossy conversion,
 * name its first loss, and hand back nothing; lossless readings, readings
 * that need no conversion and readings that only keep unknown fields go
 * through as without the flag. The lossy record is the golden fixture
 * v2-discount-subcent (written by Python's protobuf): a discount of
 * 7.491234567 USD that version 1 stores as whole cents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static const rs_options *strict_options(void) {
  static rs_options o = RS_OPTIONS_INIT;
  o.flags = RS_OPT_STRICT;
  return &o;
}

static void read_fixture(const char *name, uint8_t **bytes, size_t *len) {
  char rel[256];
  snprintf(rel, sizeof rel, "golden/%s/record.bin", name);
  rs_test_read_file(rs_test_fixture(rel), bytes, len);
}

START_TEST(lossy_read_is_refused_naming_the_loss) {
  uint8_t *bytes;
  size_t len;
  read_fixture("v2-discount-subcent", &bytes, &len);

  /* Without the flag: read, and the loss is reported. */
  rs_error err = RS_ERROR_INIT;
  rs_record *rec = NULL;
  ck_assert_int_eq(rs_read_as(&rec, rs_test_registry(), RS_SHOP_ORDER, 1, bytes,
                              len, NULL, &err),
                   0);
  ck_assert_int_eq(rs_conversion_result_of(rs_record_conversion(rec)),
                   RS_CONVERSION_LOSSY);
  rs_record_free(rec);

  /* With it: RS_ECONVERT, no record, the field path and the loss named. */
  rec = (rs_record *)&err; /* must be reset to NULL */
  int rc = rs_read_as(&rec, rs_test_registry(), RS_SHOP_ORDER, 1, bytes, len,
                      strict_options(), &err);
  ck_assert_int_eq(rc, RS_ECONVERT);
  ck_assert_int_eq(err.code, RS_ECONVERT);
  ck_assert_ptr_null(rec);
  ck_assert_msg(strstr(err.message, "RS_OPT_STRICT") != NULL, "%s",
                err.message);
  ck_assert_msg(strstr(err.message, "discount(10).nanos(2)") != NULL, "%s",
                err.message);
  ck_assert_msg(strstr(err.message, "altered") != NULL, "%s", err.message);
  ck_assert_msg(strstr(err.message, "v2 read as v1") != NULL, "%s",
                err.message);
  free(bytes);
}
END_TEST

START_TEST(lossless_and_unconverted_reads_pass) {
  uint8_t *bytes;
  size_t len;
  read_fixture("v2-discount-subcent", &bytes, &len);
  rs_error err = RS_ERROR_INIT;
  rs_record *rec = NULL;
  /* Read as written: no conversion, nothing to refuse. */
  ck_assert_msg(rs_read_as(&rec, rs_test_registry(), RS_SHOP_ORDER, 2, bytes,
                           len, strict_options(), &err) == 0,
                "%s", err.message);
  ck_assert_ptr_null(rs_record_conversion(rec));
  rs_record_free(rec);
  free(bytes);

  /* A clean version-2 order reads as version 1 without loss. */
  rs_buf buf = RS_BUF_INIT;
  rs_test_encode_v2(&buf, rs_test_v2_clean());
  ck_assert_msg(rs_read_as(&rec, rs_test_registry(), RS_SHOP_ORDER, 1, buf.data,
                           buf.len, strict_options(), &err) == 0,
                "%s", err.message);
  ck_assert_int_eq(rs_conversion_result_of(rs_record_conversion(rec)),
                   RS_CONVERSION_LOSSLESS);
  rs_record_free(rec);

  /* Up-conversion of a full version-1 order is lossless too. */
  rs_test_encode_v1(&buf, rs_test_v1_full());
  ck_assert_msg(rs_read_as(&rec, rs_test_registry(), RS_SHOP_ORDER, 2, buf.data,
                           buf.len, strict_options(), &err) == 0,
                "%s", err.message);
  ck_assert_int_eq(rs_record_version(rec), 2);
  rs_record_free(rec);
  rs_buf_dispose(&buf, NULL);
}
END_TEST

START_TEST(kept_unknown_fields_are_not_losses) {
  /* A gift message (v2 field 12, unknown to v1) is carried along as an
   * unknown field: the v1 reader ignores it, nothing is lost. */
  Shop__V2__Order *o = rs_test_v2_clean();
  o->gift_message = "happy birthday";
  rs_buf buf = RS_BUF_INIT;
  rs_test_encode_v2(&buf, o);
  o->gift_message = NULL;
  rs_error err = RS_ERROR_INIT;
  rs_record *rec = NULL;
  ck_assert_msg(rs_read_as(&rec, rs_test_registry(), RS_SHOP_ORDER, 1, buf.data,
                           buf.len, strict_options(), &err) == 0,
                "%s", err.message);
  ck_assert_uint_gt(rs_conversion_kept_unknown(rs_record_conversion(rec)), 0);
  rs_record_free(rec);

  /* Dropping them instead is a loss, and strict refuses it. */
  rs_options drop = *strict_options();
  drop.flags |= RS_OPT_DROP_UNKNOWN;
  ck_assert_int_eq(rs_read_as(&rec, rs_test_registry(), RS_SHOP_ORDER, 1,
                              buf.data, buf.len, &drop, &err),
                   RS_ECONVERT);
  ck_assert_ptr_null(rec);
  ck_assert_msg(strstr(err.message, "dropped") != NULL, "%s", err.message);
  rs_buf_dispose(&buf, NULL);
}
END_TEST

START_TEST(strict_transcode_writes_nothing_and_reports) {
  uint8_t *bytes;
  size_t len;
  read_fixture("v2-discount-subcent", &bytes, &len);
  rs_buf out = RS_BUF_INIT;
  rs_conversion *report = NULL;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_transcode(&out, &report, rs_test_registry(), RS_SHOP_ORDER, 1,
                        bytes, len, NULL, strict_options(), &err);
  ck_assert_int_eq(rc, RS_ECONVERT);
  ck_assert_uint_eq(out.len, 0);
  ck_assert_ptr_nonnull(report);
  ck_assert_ptr_nonnull(rs_test_loss(report, "discount(10).nanos(2)"));
  rs_conversion_free(report);

  /* Without the flag the same call writes the version-1 bytes. */
  ck_assert_int_eq(rs_transcode(&out, NULL, rs_test_registry(), RS_SHOP_ORDER,
                                1, bytes, len, NULL, NULL, &err),
                   0);
  ck_assert_uint_gt(out.len, 0);
  rs_buf_dispose(&out, NULL);
  free(bytes);
}
END_TEST

START_TEST(strict_refusal_frees_everything_under_chaos) {
  /* Every allocation failure on the way to the refusal is RS_ENOMEM or the
   * refusal itself, and nothing stays allocated. */
  uint8_t *bytes;
  size_t len;
  read_fixture("v2-discount-subcent", &bytes, &len);
  int refused = 0;
  for (size_t n = 1; n < 100000; n++) {
    rs_chaos chaos;
    rs_chaos_init(&chaos, n);
    rs_options o = *strict_options();
    o.allocator = &chaos.allocator;
    rs_error err = RS_ERROR_INIT;
    rs_record *rec = NULL;
    int rc = rs_read_as(&rec, rs_test_registry(), RS_SHOP_ORDER, 1, bytes, len,
                        &o, &err);
    ck_assert_msg(rc == RS_ENOMEM || rc == RS_ECONVERT, "at %zu: %s", n,
                  err.message);
    ck_assert_ptr_null(rec);
    ck_assert_uint_eq(chaos.live, 0);
    if (!chaos.failed) {
      ck_assert_int_eq(rc, RS_ECONVERT);
      refused = 1;
      break;
    }
  }
  ck_assert(refused);
  free(bytes);
}
END_TEST

static Suite *strict_suite(void) {
  Suite *s = suite_create("strict");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, lossy_read_is_refused_naming_the_loss);
  tcase_add_test(tc, lossless_and_unconverted_reads_pass);
  tcase_add_test(tc, kept_unknown_fields_are_not_losses);
  tcase_add_test(tc, strict_transcode_writes_nothing_and_reports);
  tcase_add_test(tc, strict_refusal_frees_everything_under_chaos);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return rs_test_run(strict_suite());
}
