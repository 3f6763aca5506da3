/*
 * Reason codes (rs_reason_code, docs/reasons.md): every reason the codec
 * makes has one of the listed codes. The list is checked (kebab-case names,
 * no duplicates), then many records are classified and every reason is
 * checked: the fuzz corpora of rs_classify and the comparison (envelopes,
 * Confluent headers, wire hazards, limits) and seeded byte edits of them,
 * for reader versions 1 and 2, every framing and every runtime, in full and
 * verdict-only. The codec also asserts a code where a reason is made (a
 * debug build fails there first); this test proves it from the outside,
 * through the public API.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static bool code_listed(const char *code) {
  if (code == NULL) return false;
  for (size_t i = 0; rs_reason_code_name(i) != NULL; i++)
    if (strcmp(rs_reason_code_name(i), code) == 0) return true;
  return false;
}

START_TEST(reason_codes_are_unique_kebab_case_names) {
  size_t n = 0;
  for (; rs_reason_code_name(n) != NULL; n++) {
    const char *c = rs_reason_code_name(n);
    ck_assert_msg(c[0] >= 'a' && c[0] <= 'z', "code %zu '%s'", n, c);
    for (const char *p = c; *p; p++)
      ck_assert_msg((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                        (*p == '-' && p[1] != '\0' && p[1] != '-'),
                    "code '%s' is not kebab-case", c);
    for (size_t k = 0; k < n; k++)
      ck_assert_msg(strcmp(rs_reason_code_name(k), c) != 0,
                    "code '%s' listed twice", c);
  }
  ck_assert_uint_gt(n, 20);
  ck_assert_ptr_null(rs_reason_code(NULL));
}
END_TEST

typedef struct walk {
  size_t records, reasons;
  bool seen[128]; /* by index in the list */
} walk;

static void judge_all(walk *w, const uint8_t *buf, size_t len) {
  static const rs_schema_id ids[] = {{1, 1, 0, {0}}, {2, 2, 1, {1}}};
  for (unsigned version = 1; version <= 2; version++)
    for (int f = RS_READER_FRAMING_DEFAULT; f <= RS_READER_FRAMING_CONFLUENT;
         f++)
      for (int rt = 0; rt < RS_RUNTIME_COUNT; rt++)
        for (int only = 0; only < 2; only++) {
          rs_options o = RS_OPTIONS_INIT;
          o.schema_ids = ids;
          o.n_schema_ids = 2;
          if (only) o.flags |= RS_OPT_VERDICT_ONLY;
          rs_reader r = RS_READER_INIT;
          r.format_version = version;
          r.framing = (rs_reader_framing)f;
          r.runtime = (rs_runtime)rt;
          rs_classification *c = NULL;
          rs_error err = RS_ERROR_INIT;
          int rc = rs_classify(&c, rs_test_registry(), RS_SHOP_ORDER, &r, buf,
                               len, &o, &err);
          ck_assert_msg(rc == 0, "rs_classify: %s", err.message);
          w->records++;
          for (size_t i = 0; i < rs_classification_reason_count(c); i++) {
            const rs_reason *reason = rs_classification_reason(c, i);
            const char *code = rs_reason_code(reason);
            ck_assert_msg(code_listed(code),
                          "a reason without a listed code (%s): %s",
                          code != NULL ? code : "none", rs_reason_text(reason));
            for (size_t k = 0; rs_reason_code_name(k) != NULL && k < 128; k++)
              if (strcmp(rs_reason_code_name(k), code) == 0) w->seen[k] = true;
            w->reasons++;
          }
          rs_classification_free(c);
        }
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 2685821657736338717ull;
}

static void walk_corpus(walk *w, const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "cannot open %s", dir);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    uint8_t *buf = NULL;
    size_t len = 0;
    rs_test_read_file(path, &buf, &len);
    judge_all(w, buf, len);
    /* A few seeded edits of each: a byte changed, the record cut short. */
    for (int k = 0; k < 4 && len > 0; k++) {
      uint8_t *m = malloc(len);
      ck_assert_ptr_nonnull(m);
      memcpy(m, buf, len);
      m[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
      judge_all(w, m, k == 3 ? len / 2 : len);
      free(m);
    }
    free(buf);
  }
  closedir(d);
}

START_TEST(every_reason_made_has_a_listed_code) {
  walk w;
  memset(&w, 0, sizeof w);
  static const char *const corpora[] = {"fuzz_classify", "fuzz_compare",
                                        "fuzz_rawwriter"};
  for (size_t i = 0; i < sizeof corpora / sizeof *corpora; i++) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/../fuzz/corpus/%s", getenv("RS_FIXTURES"),
             corpora[i]);
    walk_corpus(&w, dir);
  }
  size_t seen = 0;
  for (size_t k = 0; k < 128; k++) seen += w.seen[k];
  printf("reasons: %zu records judged, %zu reasons, %zu distinct codes\n",
         w.records, w.reasons, seen);
  ck_assert_uint_gt(w.reasons, 1000);
  ck_assert_uint_gt(seen, 10);
}
END_TEST

static Suite *reasons_suite(void) {
  Suite *s = suite_create("reasons");
  TCase *tc = tcase_create("codes");
  tcase_set_timeout(tc, 0);
  tcase_add_test(tc, reason_codes_are_unique_kebab_case_names);
  tcase_add_test(tc, every_reason_made_has_a_listed_code);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return rs_test_run(reasons_suite());
}
