/* Provenance as message headers (rollsafe/headers.h). */
#include <string.h>

#include "testutil.h"

/* The value of header @p name in @p h as a string, or NULL. */
static const char *value_of(const rs_header_set *h, const char *name, char *buf,
                            size_t size) {
  for (size_t i = 0; i < h->count; i++)
    if (strcmp(h->headers[i].name, name) == 0) {
      ck_assert_uint_lt(h->headers[i].value_len, size);
      memcpy(buf, h->headers[i].value, h->headers[i].value_len);
      buf[h->headers[i].value_len] = '\0';
      return buf;
    }
  return NULL;
}

START_TEST(every_field_as_its_documented_header) {
  rs_provenance p = RS_PROVENANCE_INIT;
  p.flag_key = "checkout_v2";
  p.variant = "on";
  p.writer_id = "orders-api 4.2.0 pod-7";
  p.write_time_us = 1768473000123456;
  rs_header_set h;
  ck_assert_int_eq(rs_provenance_headers(&h, &p, NULL), 0);
  ck_assert_uint_eq(h.count, 4);
  static const char *const names[] = {"rollsafe-flag", "rollsafe-variant",
                                      "rollsafe-writer", "rollsafe-write-time"};
  for (size_t i = 0; i < 4; i++) ck_assert_str_eq(h.headers[i].name, names[i]);
  char buf[64];
  ck_assert_str_eq(value_of(&h, RS_HEADER_FLAG, buf, sizeof buf),
                   "checkout_v2");
  ck_assert_str_eq(value_of(&h, RS_HEADER_VARIANT, buf, sizeof buf), "on");
  ck_assert_str_eq(value_of(&h, RS_HEADER_WRITER, buf, sizeof buf),
                   "orders-api 4.2.0 pod-7");
  ck_assert_str_eq(value_of(&h, RS_HEADER_WRITE_TIME, buf, sizeof buf),
                   "1768473000123456");
  /* Borrowed from the provenance, not copied. */
  ck_assert_ptr_eq(h.headers[0].value, p.flag_key);
}
END_TEST

START_TEST(what_is_not_recorded_is_left_out) {
  rs_provenance p = RS_PROVENANCE_INIT;
  p.variant = "";
  p.writer_id = "batch-job";
  rs_header_set h;
  ck_assert_int_eq(rs_provenance_headers(&h, &p, NULL), 0);
  ck_assert_uint_eq(h.count, 1);
  ck_assert_str_eq(h.headers[0].name, RS_HEADER_WRITER);
  ck_assert_uint_eq(h.headers[0].value_len, strlen("batch-job"));
  rs_provenance none = RS_PROVENANCE_INIT;
  ck_assert_int_eq(rs_provenance_headers(&h, &none, NULL), 0);
  ck_assert_uint_eq(h.count, 0);
}
END_TEST

START_TEST(bad_arguments_are_einval) {
  rs_header_set h;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(rs_provenance_headers(&h, NULL, &err), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "provenance"));
  ck_assert_uint_eq(h.count, 0);
  rs_provenance p = RS_PROVENANCE_INIT;
  ck_assert_int_eq(rs_provenance_headers(NULL, &p, &err), RS_EINVAL);
  p.version = 99;
  p.flag_key = "f";
  ck_assert_int_eq(rs_provenance_headers(&h, &p, &err), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "version 99"));
  ck_assert_uint_eq(h.count, 0);
  p.version = RS_PROVENANCE_VERSION;
  p.write_time_us = -1;
  ck_assert_int_eq(rs_provenance_headers(&h, &p, &err), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "negative write time"));
  ck_assert_uint_eq(h.count, 0);
}
END_TEST

START_TEST(the_time_text_lives_in_the_headers_struct) {
  rs_provenance p = RS_PROVENANCE_INIT;
  p.write_time_us = 1;
  rs_header_set h;
  ck_assert_int_eq(rs_provenance_headers(&h, &p, NULL), 0);
  ck_assert_uint_eq(h.count, 1);
  ck_assert_ptr_eq(h.headers[0].value, h.write_time);
  ck_assert_uint_eq(h.headers[0].value_len, 1);
  ck_assert_int_eq(h.headers[0].value[0], '1');
  p.write_time_us = INT64_MAX;
  ck_assert_int_eq(rs_provenance_headers(&h, &p, NULL), 0);
  ck_assert_str_eq(h.write_time, "9223372036854775807");
}
END_TEST

Suite *headers_suite(void);
Suite *headers_suite(void) {
  Suite *s = suite_create("headers");
  TCase *tc = tcase_create("headers");
  tcase_add_test(tc, every_field_as_its_documented_header);
  tcase_add_test(tc, what_is_not_recorded_is_left_out);
  tcase_add_test(tc, bad_arguments_are_einval);
  tcase_add_test(tc, the_time_text_lives_in_the_headers_struct);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return rs_test_run(headers_suite());
}
