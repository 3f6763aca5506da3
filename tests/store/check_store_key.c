/*
 * tests/store/check_store_key.c: the text of a composite key
 * (src/store/key.c): what the SQLite adapter writes reads back to the same
 * values, part by part; what a PostgreSQL server writes (blanks, \u
 * escapes) reads too; anything else is refused with a message.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_impl.h"

static char *encode(const store__part *parts, size_t n) {
  store__key_buf b = {NULL, 0, 0};
  ck_assert_int_eq(store__key_begin(&b), 0);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(store__key_add(&b, &parts[i]), 0);
  ck_assert_int_eq(store__key_end(&b), 0);
  return b.data;
}

static store__part text(const char *s) {
  store__part p = {STORE_PART_TEXT, 0, 0, s, strlen(s)};
  return p;
}

static store__part integer(int64_t v) {
  store__part p = {STORE_PART_INT, v, 0, NULL, 0};
  return p;
}

static store__part real(double v) {
  store__part p = {STORE_PART_REAL, 0, v, NULL, 0};
  return p;
}

START_TEST(round_trip_exact) {
  store__part in[] = {text("a,b"),
                      text("q\"t\\s"),
                      text("(x) [y]"),
                      text("\xc3\xbc\xe2\x9c\x93"),
                      text("tab\tnl\n\x01"),
                      text(""),
                      integer(INT64_MIN),
                      integer(INT64_MAX),
                      integer(-1),
                      real(5.0),
                      real(0.1),
                      real(-1e300)};
  size_t n = sizeof in / sizeof in[0];
  char *key = encode(in, n);
  ck_assert_str_eq(
      key,
      "[\"a,b\",\"q\\\"t\\\\s\",\"(x) [y]\",\"\xc3\xbc\xe2\x9c\x93\","
      "\"tab\\u0009nl\\u000a\\u0001\",\"\",-9223372036854775808,"
      "9223372036854775807,-1,5.0,0.10000000000000001,-1.0000000000000001e+"
      "300]");
  store__part out[16];
  char *scratch = malloc(strlen(key) + 1);
  store_error err = {STORE_OK, ""};
  ck_assert_int_eq(store__key_parse(key, out, n, scratch, &err), STORE_OK);
  for (size_t i = 0; i < n; i++) {
    ck_assert_int_eq(out[i].type, in[i].type);
    if (in[i].type == STORE_PART_TEXT) {
      ck_assert_uint_eq(out[i].len, in[i].len);
      ck_assert(memcmp(out[i].text, in[i].text, in[i].len) == 0);
    } else if (in[i].type == STORE_PART_INT) {
      ck_assert(out[i].i == in[i].i);
    } else {
      ck_assert(out[i].r == in[i].r);
    }
  }
  free(scratch);
  free(key);
}
END_TEST

START_TEST(server_json_reads) {
  /* json_build_array(...)::text: blanks after commas, and escapes a
   * server may write (a surrogate pair, \/). */
  const char *key = "[\"acme\", 42, \"\\ud83d\\ude00\\/\", -7]";
  store__part out[4];
  char scratch[64];
  store_error err = {STORE_OK, ""};
  ck_assert_int_eq(store__key_parse(key, out, 4, scratch, &err), STORE_OK);
  ck_assert_str_eq(out[0].text, "acme");
  ck_assert(out[1].type == STORE_PART_INT && out[1].i == 42);
  ck_assert_str_eq(out[2].text, "\xf0\x9f\x98\x80/");
  ck_assert(out[3].type == STORE_PART_INT && out[3].i == -7);
}
END_TEST

START_TEST(malformed_refused) {
  static const char *const bad[] = {"",
                                    "acme",
                                    "[\"a\"]",
                                    "[\"a\",1,2]",
                                    "[\"a\",]",
                                    "[\"a\" 1]",
                                    "[\"a\",1]x",
                                    "[\"a\\u0000\",1]",
                                    "[\"a\",1e]",
                                    "[\"a\",99999999999999999999]",
                                    "[null,1]",
                                    "[\"a\\q\",1]",
                                    "[\"\\ud800\",1]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    store__part out[2];
    char scratch[64];
    store_error err = {STORE_OK, ""};
    ck_assert_msg(
        store__key_parse(bad[i], out, 2, scratch, &err) == STORE_EUSAGE,
        "accepted %s", bad[i]);
    ck_assert_msg(strstr(err.message, "not a JSON array of 2 values") != NULL,
                  "%s", err.message);
  }
}
END_TEST

START_TEST(key_columns_split) {
  char cols[STORE_KEY_COLUMNS_MAX][64];
  size_t n = 9;
  store_error err = {STORE_OK, ""};
  ck_assert_int_eq(store__key_columns(" tenant , id ", cols, &n, &err),
                   STORE_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(cols[0], "tenant");
  ck_assert_str_eq(cols[1], "id");
  ck_assert_int_eq(store__key_columns(NULL, cols, &n, &err), STORE_OK);
  ck_assert_uint_eq(n, 0);
  ck_assert_int_eq(store__key_columns("a,,b", cols, &n, &err), STORE_EUSAGE);
  ck_assert_int_eq(store__key_columns("a,a", cols, &n, &err), STORE_EUSAGE);
  ck_assert_ptr_nonnull(strstr(err.message, "named twice"));
  ck_assert_int_eq(
      store__key_columns("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", cols, &n, &err),
      STORE_EUSAGE);
  ck_assert_ptr_nonnull(strstr(err.message, "at most 16"));
}
END_TEST

int main(void) {
  Suite *s = suite_create("store_key");
  TCase *tc = tcase_create("key");
  tcase_add_test(tc, round_trip_exact);
  tcase_add_test(tc, server_json_reads);
  tcase_add_test(tc, malformed_refused);
  tcase_add_test(tc, key_columns_split);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
