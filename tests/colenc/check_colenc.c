/*
 * tests/colenc/check_colenc.c: column encodings (src/verify/colenc.c):
 * RFC 4648's test vectors, every variant found and written back as it was,
 * round trips of random bytes in every variant, and invalid values with the
 * offset their message names.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "verify/colenc.h"

/* Decodes @p text as @p kind; the bytes in *out (malloc'd), -1 on failure
 * with @p err filled. */
static int decode(colenc_kind kind, const char *text, uint8_t **out,
                  size_t *len, colenc_variant *v, colenc_error *err) {
  size_t n = strlen(text);
  *out = malloc(colenc_decoded_max(kind, n) + 1);
  ck_assert_ptr_nonnull(*out);
  return colenc_decode(kind, (const uint8_t *)text, n, *out, len, v, err);
}

/* @p bytes encoded in @p v's form, NUL-terminated, malloc'd. */
static char *encode(const colenc_variant *v, const void *bytes, size_t len) {
  size_t n = colenc_encoded_len(v, len);
  char *s = malloc(n + 1);
  ck_assert_ptr_nonnull(s);
  ck_assert_uint_eq(colenc_encode(v, bytes, len, (uint8_t *)s), n);
  s[n] = '\0';
  return s;
}

/* Decodes @p text, checks the bytes are @p expect, and that encoding them
 * in the variant found gives @p text back. */
static void round_trip(colenc_kind kind, const char *text, const char *expect,
                       size_t expect_len, colenc_variant *found) {
  uint8_t *out;
  size_t len = 0;
  colenc_error err = {0, ""};
  ck_assert_msg(decode(kind, text, &out, &len, found, &err) == 0, "%s: %s",
                text, err.message);
  ck_assert_uint_eq(len, expect_len);
  ck_assert_mem_eq(out, expect, len);
  char *again = encode(found, out, len);
  ck_assert_str_eq(again, text);
  free(again);
  free(out);
}

START_TEST(names) {
  colenc_kind k;
  ck_assert_int_eq(colenc_from_name("base64", &k), 0);
  ck_assert_int_eq(k, COLENC_BASE64);
  ck_assert_int_eq(colenc_from_name("hex", &k), 0);
  ck_assert_int_eq(k, COLENC_HEX);
  ck_assert_int_eq(colenc_from_name("binary", &k), 0);
  ck_assert_int_eq(k, COLENC_BINARY);
  ck_assert_int_eq(colenc_from_name("base32", &k), -1);
  ck_assert_int_eq(colenc_from_name("HEX", &k), -1);
  ck_assert_str_eq(colenc_name(COLENC_HEX), "hex");
  ck_assert_ptr_null(colenc_name((colenc_kind)7));
}
END_TEST

/* RFC 4648 section 10, padded and unpadded. */
START_TEST(base64_rfc4648_vectors) {
  static const char *const plain[] = {"",     "f",     "fo",    "foo",
                                      "foob", "fooba", "foobar"};
  static const char *const padded[] = {
      "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  static const char *const bare[] = {"",       "Zg",      "Zm8",     "Zm9v",
                                     "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
  for (int i = 0; i < 7; i++) {
    colenc_variant v;
    round_trip(COLENC_BASE64, padded[i], plain[i], strlen(plain[i]), &v);
    ck_assert(v.padded);
    ck_assert(!v.url_safe);
    round_trip(COLENC_BASE64, bare[i], plain[i], strlen(plain[i]), &v);
    /* A length that needs no padding cannot say: the default, padded. */
    ck_assert_int_eq(v.padded, strlen(plain[i]) % 3 == 0);
  }
}
END_TEST

/* Characters 62 and 63 tell the alphabets apart. */
START_TEST(base64_alphabets) {
  static const uint8_t bytes[] = {0xfb, 0xff, 0xbf, 0x3e};
  colenc_variant v;
  round_trip(COLENC_BASE64, "+/+/Pg==", (const char *)bytes, 4, &v);
  ck_assert(!v.url_safe);
  ck_assert(v.padded);
  round_trip(COLENC_BASE64, "-_-_Pg==", (const char *)bytes, 4, &v);
  ck_assert(v.url_safe);
  ck_assert(v.padded);
  round_trip(COLENC_BASE64, "-_-_Pg", (const char *)bytes, 4, &v);
  ck_assert(v.url_safe);
  ck_assert(!v.padded);
  round_trip(COLENC_BASE64, "+/+/Pg", (const char *)bytes, 4, &v);
  ck_assert(!v.url_safe);
  ck_assert(!v.padded);
}
END_TEST

START_TEST(hex_variants) {
  static const uint8_t bytes[] = {0x0a, 0x03, 0xab, 0xcd, 0xef};
  colenc_variant v;
  round_trip(COLENC_HEX, "0a03abcdef", (const char *)bytes, 5, &v);
  ck_assert(!v.prefix);
  ck_assert(!v.upper);
  round_trip(COLENC_HEX, "0A03ABCDEF", (const char *)bytes, 5, &v);
  ck_assert(!v.prefix);
  ck_assert(v.upper);
  round_trip(COLENC_HEX, "\\x0a03abcdef", (const char *)bytes, 5, &v);
  ck_assert(v.prefix);
  ck_assert(!v.upper);
  round_trip(COLENC_HEX, "\\x0A03ABCDEF", (const char *)bytes, 5, &v);
  ck_assert(v.prefix);
  ck_assert(v.upper);
  round_trip(COLENC_HEX, "\\x", "", 0, &v);
  ck_assert(v.prefix);
  round_trip(COLENC_HEX, "", "", 0, &v);
  ck_assert(!v.prefix);
  /* Mixed case reads, and is written back lower case. */
  uint8_t *out;
  size_t len;
  ck_assert_int_eq(decode(COLENC_HEX, "aB", &out, &len, &v, NULL), 0);
  ck_assert_uint_eq(len, 1);
  ck_assert_uint_eq(out[0], 0xab);
  ck_assert(!v.upper);
  free(out);
}
END_TEST

/* Random bytes of every length up to 70 through every variant. */
START_TEST(round_trips_every_variant) {
  srand(13);
  uint8_t bytes[70];
  for (size_t len = 0; len <= sizeof bytes; len++) {
    for (size_t i = 0; i < len; i++) bytes[i] = (uint8_t)rand();
    for (int form = 0; form < 8; form++) {
      colenc_variant v = {form < 4 ? COLENC_BASE64 : COLENC_HEX, 0, 0, 0, 0};
      if (form < 4) {
        v.url_safe = form & 1;
        v.padded = form >> 1 & 1;
      } else {
        v.prefix = form & 1;
        v.upper = form >> 1 & 1;
      }
      char *text = encode(&v, bytes, len);
      uint8_t *out;
      size_t n;
      colenc_variant found;
      colenc_error err;
      ck_assert_msg(decode(v.kind, text, &out, &n, &found, &err) == 0, "%s: %s",
                    text, err.message);
      ck_assert_uint_eq(n, len);
      if (len > 0) ck_assert_mem_eq(out, bytes, len);
      /* Encoding again in the form found gives the same text. */
      char *again = encode(&found, out, n);
      ck_assert_str_eq(again, text);
      free(again);
      free(out);
      free(text);
    }
  }
}
END_TEST

/* Each invalid value: decoding fails with the message and offset. */
static void invalid(colenc_kind kind, const char *text, size_t offset,
                    const char *message) {
  uint8_t *out;
  size_t len;
  colenc_variant v;
  colenc_error err = {99, ""};
  ck_assert_msg(decode(kind, text, &out, &len, &v, &err) == -1, "'%s' decoded",
                text);
  ck_assert_str_eq(err.message, message);
  ck_assert_uint_eq(err.offset, offset);
  free(out);
}

START_TEST(invalid_values) {
  invalid(COLENC_BASE64, "CgNhYmMQAhgB!mFi", 12,
          "not base64: invalid character '!' at offset 12");
  invalid(COLENC_BASE64, "Zm9v\nYmFy", 4,
          "not base64: invalid byte 0x0a at offset 4");
  invalid(COLENC_BASE64, "Zm9v YmFy", 4,
          "not base64: invalid byte 0x20 at offset 4");
  invalid(COLENC_BASE64, "Zm=9v", 2,
          "not base64: invalid character '=' at offset 2");
  invalid(COLENC_BASE64, "Zm9vY", 4,
          "not base64: truncated, the lone character 'Y' at offset 4 is "
          "not a byte");
  invalid(COLENC_BASE64, "Zg===", 2,
          "not base64: misplaced padding at offset 2");
  invalid(COLENC_BASE64, "Zg=", 2, "not base64: misplaced padding at offset 2");
  invalid(COLENC_BASE64, "Zm9v====", 4,
          "not base64: misplaced padding at offset 4");
  invalid(COLENC_BASE64, "ab+_", 3,
          "not base64: the character '_' at offset 3 mixes the URL-safe and "
          "standard alphabets");
  invalid(COLENC_BASE64, "\\x0a03", 0,
          "not base64: invalid character '\\' at offset 0");
  invalid(COLENC_HEX, "0a0g", 3, "not hex: invalid character 'g' at offset 3");
  invalid(COLENC_HEX, "\\x0a0", 4,
          "not hex: an odd number of digits, the character '0' at offset 4 "
          "is half a byte");
  invalid(COLENC_HEX, "0x0a", 1, "not hex: invalid character 'x' at offset 1");
  invalid(COLENC_HEX, "\\X0a", 0,
          "not hex: invalid character '\\' at offset 0");
  invalid(COLENC_HEX, "0a 03", 2, "not hex: invalid byte 0x20 at offset 2");
  invalid(COLENC_HEX, "\\x\\x0a", 2,
          "not hex: invalid character '\\' at offset 2");
}
END_TEST

/* Binary is the identity, whatever the bytes. */
START_TEST(binary_identity) {
  static const uint8_t bytes[] = {0, 0xff, '=', '\\', 'x'};
  uint8_t out[5];
  size_t len;
  colenc_variant v;
  ck_assert_int_eq(colenc_decode(COLENC_BINARY, bytes, 5, out, &len, &v, NULL),
                   0);
  ck_assert_uint_eq(len, 5);
  ck_assert_mem_eq(out, bytes, 5);
  ck_assert_int_eq(v.kind, COLENC_BINARY);
  ck_assert_uint_eq(colenc_encoded_len(&v, 5), 5);
  ck_assert_uint_eq(colenc_encode(&v, bytes, 5, out), 5);
  ck_assert_mem_eq(out, bytes, 5);
}
END_TEST

static Suite *colenc_suite(void) {
  Suite *s = suite_create("colenc");
  TCase *tc = tcase_create("colenc");
  tcase_add_test(tc, names);
  tcase_add_test(tc, base64_rfc4648_vectors);
  tcase_add_test(tc, base64_alphabets);
  tcase_add_test(tc, hex_variants);
  tcase_add_test(tc, round_trips_every_variant);
  tcase_add_test(tc, invalid_values);
  tcase_add_test(tc, binary_identity);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(colenc_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
