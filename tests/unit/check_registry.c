/* Registry building, lookups and schema fingerprints. */
#include <string.h>

#include "testutil.h"

static rs_registry_builder *builder(void) {
  rs_registry_builder *b = NULL;
  ck_assert_int_eq(rs_registry_builder_new(&b, NULL, NULL), 0);
  return b;
}

static int noop_convert(rs_convert_ctx *ctx, ProtobufCMessage *dst,
                        const ProtobufCMessage *src, void *user) {
  (void)ctx;
  (void)dst;
  (void)src;
  (void)user;
  return 0;
}

START_TEST(lookups) {
  const rs_registry *r = rs_test_registry();
  ck_assert_uint_eq(rs_registry_type_count(r), 1);
  ck_assert_str_eq(rs_registry_type_name(r, 0), "shop.Order");
  ck_assert_ptr_null(rs_registry_type_name(r, 1));
  ck_assert_uint_eq(rs_registry_newest(r, "shop.Order"), 2);
  ck_assert_uint_eq(rs_registry_newest(r, "shop.Nope"), 0);
  ck_assert_ptr_eq(rs_registry_descriptor(r, "shop.Order", 1),
                   &shop__v1__order__descriptor);
  ck_assert_ptr_eq(rs_registry_descriptor(r, "shop.Order", 2),
                   &shop__v2__order__descriptor);
  ck_assert_ptr_null(rs_registry_descriptor(r, "shop.Order", 3));
  ck_assert_int_eq(rs_registry_encoding(r, "shop.Order", 1), RS_ENCODING_RAW);
  ck_assert_int_eq(rs_registry_encoding(r, "shop.Order", 2),
                   RS_ENCODING_ENVELOPE);
  ck_assert_str_eq(rs_encoding_name(RS_ENCODING_RAW), "raw");
}
END_TEST

START_TEST(duplicate_version_is_eexists) {
  rs_registry_builder *b = builder();
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(
      rs_registry_builder_add_version(b, "t.T", 1, &shop__v1__order__descriptor,
                                      RS_ENCODING_RAW, &err),
      0);
  ck_assert_int_eq(
      rs_registry_builder_add_version(b, "t.T", 1, &shop__v2__order__descriptor,
                                      RS_ENCODING_ENVELOPE, &err),
      RS_EEXISTS);
  ck_assert_int_eq(err.code, RS_EEXISTS);
  ck_assert_ptr_nonnull(strstr(err.message, "t.T version 1"));
  rs_registry_builder_free(b);
}
END_TEST

START_TEST(version_gap_fails_build) {
  rs_registry_builder *b = builder();
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(
      rs_registry_builder_add_version(b, "t.T", 2, &shop__v2__order__descriptor,
                                      RS_ENCODING_ENVELOPE, &err),
      0);
  rs_registry *r = (rs_registry *)1;
  ck_assert_int_eq(rs_registry_build(&r, b, &err), RS_EINVAL);
  ck_assert_ptr_null(r);
  ck_assert_ptr_nonnull(strstr(err.message, "1..N"));
}
END_TEST

START_TEST(bad_arguments_are_einval) {
  rs_registry_builder *b = builder();
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(
      rs_registry_builder_add_version(b, "", 1, &shop__v1__order__descriptor,
                                      RS_ENCODING_RAW, &err),
      RS_EINVAL);
  ck_assert_int_eq(
      rs_registry_builder_add_version(b, "t.T", 0, &shop__v1__order__descriptor,
                                      RS_ENCODING_RAW, &err),
      RS_EINVAL);
  ck_assert_int_eq(
      rs_registry_builder_add_version(b, "t.T", 1, &shop__v1__order__descriptor,
                                      (rs_encoding)9, &err),
      RS_EINVAL);
  /* Not a message descriptor: the enum's magic differs. */
  ck_assert_int_eq(rs_registry_builder_add_version(
                       b, "t.T", 1,
                       (const ProtobufCMessageDescriptor
                            *)&shop__v1__order__status__descriptor,
                       RS_ENCODING_RAW, &err),
                   RS_EINVAL);
  rs_converter c = RS_CONVERTER_INIT;
  c.from = 1;
  c.to = 1;
  c.fn = noop_convert;
  ck_assert_int_eq(rs_registry_builder_add_converter(b, "t.T", &c, &err),
                   RS_EINVAL);
  c.to = 2;
  c.version = 99;
  ck_assert_int_eq(rs_registry_builder_add_converter(b, "t.T", &c, &err),
                   RS_EINVAL);
  ck_assert_int_eq(
      rs_registry_builder_add_moved_field(b, "t.T", 1, 5, 2, 6, &err),
      RS_EINVAL);
  rs_registry_builder_free(b);
}
END_TEST

START_TEST(converter_to_undeclared_version_fails_build) {
  rs_registry_builder *b = builder();
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(
      rs_registry_builder_add_version(b, "t.T", 1, &shop__v1__order__descriptor,
                                      RS_ENCODING_RAW, &err),
      0);
  rs_converter c = RS_CONVERTER_INIT;
  c.from = 2;
  c.to = 1;
  c.fn = noop_convert;
  ck_assert_int_eq(rs_registry_builder_add_converter(b, "t.T", &c, &err), 0);
  ck_assert_int_eq(rs_registry_builder_add_converter(b, "t.T", &c, &err),
                   RS_EEXISTS);
  rs_registry *r = NULL;
  ck_assert_int_eq(rs_registry_build(&r, b, &err), RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "undeclared"));
}
END_TEST

START_TEST(types_are_sorted_and_found) {
  rs_registry_builder *b = builder();
  const char *names[] = {"z.Z", "a.A", "m.M"};
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(rs_registry_builder_add_version(
                         b, names[i], 1, &shop__v1__address__descriptor,
                         RS_ENCODING_RAW, NULL),
                     0);
  rs_registry *r = NULL;
  ck_assert_int_eq(rs_registry_build(&r, b, NULL), 0);
  ck_assert_str_eq(rs_registry_type_name(r, 0), "a.A");
  ck_assert_str_eq(rs_registry_type_name(r, 1), "m.M");
  ck_assert_str_eq(rs_registry_type_name(r, 2), "z.Z");
  for (int i = 0; i < 3; i++)
    ck_assert_uint_eq(rs_registry_newest(r, names[i]), 1);
  rs_registry_free(r);
}
END_TEST

/* Expected values computed independently (FNV-1a 64 in Python over the
 * canonical text of schema/README.md). */
START_TEST(fingerprint_matches_the_documented_algorithm) {
  rs_registry_builder *b = builder();
  ck_assert_int_eq(rs_registry_builder_add_version(
                       b, "t.Address", 1, &shop__v1__address__descriptor,
                       RS_ENCODING_RAW, NULL),
                   0);
  ck_assert_int_eq(
      rs_registry_builder_add_version(
          b, "t.Money", 1, &shop__v2__money__descriptor, RS_ENCODING_RAW, NULL),
      0);
  rs_registry *r = NULL;
  ck_assert_int_eq(rs_registry_build(&r, b, NULL), 0);
  /* "{1:optional:string;2:optional:string;3:optional:string;4:optional:string}"
   */
  static const uint8_t address[8] = {0xfc, 0x9e, 0xc4, 0xc5,
                                     0xcf, 0x5d, 0x2a, 0x48};
  /* "{1:optional:int64;2:optional:int32;3:optional:string}" */
  static const uint8_t money[8] = {0xc4, 0xcb, 0x91, 0x9d,
                                   0xf0, 0xa5, 0x35, 0xe7};
  ck_assert_mem_eq(rs_registry_fingerprint(r, "t.Address", 1), address, 8);
  ck_assert_mem_eq(rs_registry_fingerprint(r, "t.Money", 1), money, 8);
  rs_registry_free(r);
}
END_TEST

START_TEST(fingerprint_ignores_names_but_not_structure) {
  const rs_registry *r = rs_test_registry();
  const uint8_t *f1 = rs_registry_fingerprint(r, "shop.Order", 1);
  const uint8_t *f2 = rs_registry_fingerprint(r, "shop.Order", 2);
  ck_assert_ptr_nonnull(f1);
  ck_assert_ptr_nonnull(f2);
  ck_assert(memcmp(f1, f2, RS_FINGERPRINT_LEN) != 0);
  /* v1 and v2 Address differ only in package: same fingerprint. */
  rs_registry_builder *b = builder();
  rs_registry_builder_add_version(b, "a", 1, &shop__v1__address__descriptor,
                                  RS_ENCODING_RAW, NULL);
  rs_registry_builder_add_version(b, "b", 1, &shop__v2__address__descriptor,
                                  RS_ENCODING_RAW, NULL);
  rs_registry *r2 = NULL;
  ck_assert_int_eq(rs_registry_build(&r2, b, NULL), 0);
  ck_assert_mem_eq(rs_registry_fingerprint(r2, "a", 1),
                   rs_registry_fingerprint(r2, "b", 1), RS_FINGERPRINT_LEN);
  rs_registry_free(r2);
}
END_TEST

Suite *registry_suite(void);
Suite *registry_suite(void) {
  Suite *s = suite_create("registry");
  TCase *tc = tcase_create("registry");
  tcase_add_test(tc, lookups);
  tcase_add_test(tc, duplicate_version_is_eexists);
  tcase_add_test(tc, version_gap_fails_build);
  tcase_add_test(tc, bad_arguments_are_einval);
  tcase_add_test(tc, converter_to_undeclared_version_fails_build);
  tcase_add_test(tc, types_are_sorted_and_found);
  tcase_add_test(tc, fingerprint_matches_the_documented_algorithm);
  tcase_add_test(tc, fingerprint_ignores_names_but_not_structure);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return rs_test_run(registry_suite());
}
