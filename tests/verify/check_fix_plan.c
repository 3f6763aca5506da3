#define _POSIX_C_SOURCE 200809L
/*
 * tests/verify/check_fix_plan.c: what fix plans for one record
 * (fix_planner_plan), against safety promise 6: what fix writes, the reader
 * reads as the writer meant it, or with exactly the losses the outcome's
 * why names. Records are written by version 2 of a schema built at run
 * time and planned for a protobuf-c reader of version 1.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rollsafe/rollsafe.h>

#include "testutil.h"

#include "verify/fix.h"

static const char v1_proto[] =
    "syntax = \"proto3\";\n"
    "package p.v1;\n"
    "message S { int32 a = 1; string b = 2; }\n"
    "message N { S s = 1; }\n"
    "message Rec {\n"
    "  string t = 1;\n"
    "  int32 id = 3;\n"
    "  N f6 = 6;\n"
    "  oneof o10 { uint64 f10 = 10; S f14 = 14; }\n"
    "  uint64 f15 = 15;\n"
    "  repeated int32 many = 16;\n"
    "  map<int32, int32> m = 17;\n"
    "}\n";

static const char v2_proto[] =
    "syntax = \"proto3\";\n"
    "package p.v2;\n"
    "message S64 { int64 a = 1; string b = 2; }\n"
    "message N64 { S64 s = 1; }\n"
    "message Rec {\n"
    "  string t = 1;\n"
    "  int32 id = 3;\n"
    "  N64 f6 = 6;\n"
    "  optional bool f10 = 10;\n"
    "  bytes f14 = 14;\n"
    "  int64 f15 = 15;\n"
    "  repeated int64 many = 16;\n"
    "  map<int32, string> m = 17;\n"
    "}\n";

static rs_schema *v1, *v2;
static rs_registry *reg;

static void setup(void) {
  char dir[] = "/tmp/rs-fix-plan-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  v1 = rs_test_schema_text(dir, "v1.proto", v1_proto);
  v2 = rs_test_schema_text(dir, "v2.proto", v2_proto);
  rmdir(dir);
  rs_registry_builder *b = NULL;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(rs_registry_builder_new(&b, NULL, &err), 0);
  const rs_schema *vs[] = {v1, v2};
  ck_assert_msg(rs_schema_register(b, "p.Rec", vs, 2, NULL, &err) == 0, "%s",
                err.message);
  ck_assert_int_eq(rs_registry_build(&reg, b, &err), 0);
}

static void teardown(void) {
  rs_registry_free(reg);
  rs_schema_free(v1);
  rs_schema_free(v2);
}

/* ---- records, as bytes ---------------------------------------------------
 */

typedef struct rec {
  uint8_t b[8192];
  size_t n;
} rec;

static void put_varint(rec *r, uint64_t v) {
  do {
    ck_assert_uint_lt(r->n, sizeof r->b);
    r->b[r->n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
  } while (v != 0);
}

static void put_int(rec *r, uint32_t field, uint64_t v) {
  put_varint(r, (uint64_t)field << 3);
  put_varint(r, v);
}

static void put_len(rec *r, uint32_t field, const void *p, size_t n) {
  put_varint(r, (uint64_t)field << 3 | 2);
  put_varint(r, n);
  ck_assert_uint_le(r->n + n, sizeof r->b);
  memcpy(r->b + r->n, p, n);
  r->n += n;
}

/* f6 = {s: {a: -7000000000}}: an int64 that version 1's int32 cannot
 * hold, inside field 6 (the loss's own field number is 1). */
static void put_f6_lossy(rec *r) {
  rec s = {{0}, 0}, n = {{0}, 0};
  put_int(&s, 1, (uint64_t)-7000000000LL);
  put_len(&n, 1, s.b, s.n);
  put_len(r, 6, n.b, n.n);
}

/* ---- planning ------------------------------------------------------------
 */

typedef struct plan {
  int oc;
  char *why;
  uint8_t *out;
  size_t out_len;
} plan;

static void plan_record(plan *p, const rec *r, int allow_lossy) {
  fix_options o;
  memset(&o, 0, sizeof o);
  o.registry = reg;
  o.type = "p.Rec";
  o.reader = (rs_reader)RS_READER_INIT;
  o.reader.format_version = 1;
  o.reader.framing = RS_READER_FRAMING_RAW;
  o.reader.raw_writer = 2;
  o.to_version = 1;
  o.column_encoding = COLENC_BINARY;
  o.allow_lossy = allow_lossy;
  o.max_samples = 10;
  fix_planner *planner = NULL;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(fix_planner_new(&planner, &o, &err), 0);
  const uint8_t *out = NULL;
  const char *why = NULL;
  size_t out_len = 0;
  int rc =
      fix_planner_plan(planner, r->b, r->n, &out, &out_len, &p->oc, &why, &err);
  ck_assert_msg(rc == 0, "%s", err.message);
  p->why = strdup(why != NULL ? why : "");
  p->out = out_len ? malloc(out_len) : NULL;
  if (out_len) memcpy(p->out, out, out_len);
  p->out_len = out_len;
  fix_planner_free(planner);
}

static void plan_free(plan *p) {
  free(p->why);
  free(p->out);
}

static const char *name(int oc) {
  return oc < 0 ? "nothing to do" : fix_outcome_name((fix_outcome)oc);
}

/* Whether @p why names the record's field @p path ("t(2)", "many[0]") as
 * one of its losses: at its start or after "; ". */
static int names(const char *why, const char *path) {
  size_t n = strlen(path);
  for (const char *at = why; (at = strstr(at, path)) != NULL; at++)
    if ((at == why || (at - why >= 2 && at[-2] == ';' && at[-1] == ' ')) &&
        (at[n] == ':' || at[n] == '.'))
      return 1;
  return 0;
}

/* The reader's reading of the record, by a classification of @p r. */
/* The raw record version 2 wrote, transcoded to version 1: its report. */
static rs_conversion *to_v1(const rec *r, rs_buf *out) {
  rs_conversion *conv = NULL;
  rs_options opts = RS_OPTIONS_INIT;
  opts.raw_writer = 2;
  rs_error err = RS_ERROR_INIT;
  ck_assert_msg(rs_transcode(out, &conv, reg, "p.Rec", 1, r->b, r->n, NULL,
                             &opts, &err) == 0,
                "%s", err.message);
  return conv;
}

static rs_classification *classify(const rec *r) {
  rs_reader reader = RS_READER_INIT;
  reader.format_version = 1;
  reader.framing = RS_READER_FRAMING_RAW;
  reader.raw_writer = 2;
  rs_classification *c = NULL;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(
      rs_classify(&c, reg, "p.Rec", &reader, r->b, r->n, NULL, &err), 0);
  return c;
}

/* ---- the why text carries every loss (it was cut at 512 bytes) --------- */

START_TEST(lossy_why_names_every_loss) {
  rec r = {{0}, 0};
  put_int(&r, 3, 1);
  /* 60 int64 values version 1's int32 cannot hold: 60 losses. */
  rec packed = {{0}, 0};
  for (int i = 0; i < 60; i++)
    put_varint(&packed, (uint64_t)(-7000000000LL - i));
  put_len(&r, 16, packed.b, packed.n);
  put_f6_lossy(&r);
  plan p;
  plan_record(&p, &r, 1);
  ck_assert_msg(p.oc == FIX_LOSSY, "outcome %s (%s)", name(p.oc), p.why);
  for (int i = 0; i < 60; i++) {
    char path[32];
    snprintf(path, sizeof path, "many[%d]", i);
    ck_assert_msg(names(p.why, path), "%s is not named in: %s", path, p.why);
  }
  ck_assert_msg(names(p.why, "f6(6)"), "f6 is not named in: %s", p.why);
  plan_free(&p);

  /* The verdict lists 32 reasons, and names the field of those it leaves
   * out. */
  rs_classification *c = classify(&r);
  ck_assert_uint_eq(rs_classification_reason_count(c), RS_MAX_REASONS);
  ck_assert_uint_gt(rs_classification_reasons_omitted(c), 0);
  ck_assert_uint_eq(rs_classification_omitted_field_count(c), 1);
  ck_assert_uint_eq(rs_classification_omitted_field(c, 0), 16);
  rs_classification_free(c);
}
END_TEST

/* ---- a loss covers misreads of its own record field only ---------------- */

START_TEST(loss_names_its_record_field) {
  rec r = {{0}, 0};
  put_int(&r, 3, 1);
  put_f6_lossy(&r);
  rs_buf out = RS_BUF_INIT;
  rs_conversion *conv = to_v1(&r, &out);
  ck_assert_uint_eq(rs_conversion_loss_count(conv), 1);
  const rs_loss *l = rs_conversion_loss(conv, 0);
  ck_assert_str_eq(rs_loss_path(l), "f6(6).s(1).a(1)");
  ck_assert_uint_eq(rs_loss_field(l), 1);
  ck_assert_uint_eq(rs_loss_top_field(l), 6);
  ck_assert_uint_eq(rs_conversion_losses_omitted(conv), 0);
  rs_conversion_free(conv);
  rs_buf_dispose(&out, NULL);

  rs_classification *c = classify(&r);
  ck_assert_uint_ge(rs_classification_reason_count(c), 1);
  const rs_reason *why = rs_classification_reason(c, 0);
  ck_assert_str_eq(rs_reason_path(why), "f6(6).s(1).a(1)");
  ck_assert_uint_eq(rs_reason_top_field(why), 6);
  rs_classification_free(c);
}
END_TEST

/* ---- oneofs: members the writer held apart, set side by side ----------- */

START_TEST(oneof_member_cleared_by_a_later_one_is_a_declared_loss) {
  /* The writer sets f10 (false, with presence) and f14; version 1 holds
   * both in one oneof and keeps f14, the last. */
  rec r = {{0}, 0};
  put_int(&r, 3, 5);
  put_f6_lossy(&r);
  put_int(&r, 10, 0);
  put_len(&r, 14, "\x08\x05", 2);

  /* The reader's verdict names f10, which it sees unset. */
  rs_classification *c = classify(&r);
  int seen = 0;
  for (size_t i = 0; i < rs_classification_reason_count(c); i++) {
    const rs_reason *x = rs_classification_reason(c, i);
    if (strcmp(rs_reason_path(x), "f10(10)") == 0) {
      seen = 1;
      ck_assert_str_eq(rs_reason_code(x), "oneof-cleared");
      ck_assert_int_eq(rs_reason_verdict(x), RS_VERDICT_MISREAD);
    }
  }
  ck_assert_msg(seen, "the verdict does not name f10(10)");
  rs_classification_free(c);

  /* The conversion drops it, and says so; fix names it. */
  plan p;
  plan_record(&p, &r, 1);
  ck_assert_msg(p.oc == FIX_LOSSY, "outcome %s (%s)", name(p.oc), p.why);
  ck_assert_msg(names(p.why, "f10(10)"), "f10 is not named in: %s", p.why);
  plan_free(&p);

  /* Without --allow-lossy nothing is rewritten. */
  plan_record(&p, &r, 0);
  ck_assert_msg(p.oc == FIX_LOSSY_SKIPPED, "outcome %s (%s)", name(p.oc),
                p.why);
  plan_free(&p);
}
END_TEST

/* ---- a string holding a NUL (protobuf-c's C string ends there) --------- */

START_TEST(string_with_a_nul_is_a_declared_loss) {
  /* The string is field 1 of the record; so is the field of f6's loss
   * (f6(6).s(1).a(1)), which must not stand for it. */
  rec r = {{0}, 0};
  put_int(&r, 3, 4);
  put_len(&r, 1, "a\0b", 3);
  put_f6_lossy(&r);
  /* An int64 only version 2 holds: the bytes are version 2's. */
  rec one = {{0}, 0};
  put_varint(&one, (uint64_t)-7000000000LL);
  put_len(&r, 16, one.b, one.n);
  plan p;
  plan_record(&p, &r, 1);
  ck_assert_msg(p.oc == FIX_LOSSY, "outcome %s (%s)", name(p.oc), p.why);
  ck_assert_msg(names(p.why, "t(1)"), "t(1) is not named in: %s", p.why);
  ck_assert_ptr_nonnull(strstr(p.why, "NUL at byte 1"));
  plan_free(&p);

  /* Strict: a lossy record is never rewritten. */
  plan_record(&p, &r, 0);
  ck_assert_msg(p.oc == FIX_LOSSY_SKIPPED, "outcome %s (%s)", name(p.oc),
                p.why);
  ck_assert_uint_eq(p.out_len, 0);
  plan_free(&p);

  /* In a map's value too: the path names the map's entry. */
  rec m = {{0}, 0}, e = {{0}, 0};
  put_int(&e, 1, 7);
  put_len(&e, 2, "x\0y", 3);
  put_int(&m, 3, 4);
  put_len(&m, 17, e.b, e.n);
  put_f6_lossy(&m);
  /* map<int32, string> into map<int32, int32>: the value is dropped
   * anyway; the NUL is named in version 2's own field. */
  rs_buf out = RS_BUF_INIT;
  rs_conversion *conv = to_v1(&m, &out);
  int nul = 0;
  for (size_t i = 0; i < rs_conversion_loss_count(conv); i++) {
    const rs_loss *l = rs_conversion_loss(conv, i);
    ck_assert_uint_eq(rs_loss_top_field(l),
                      strncmp(rs_loss_path(l), "f6", 2) == 0 ? 6 : 17);
    nul |= strstr(rs_loss_text(l), "NUL") != NULL &&
           strcmp(rs_loss_path(l), "m[0].value(2)") == 0;
  }
  ck_assert_msg(nul, "no loss names the NUL of m[0].value(2)");
  rs_conversion_free(conv);
  rs_buf_dispose(&out, NULL);
}
END_TEST

/* ---- a lossy conversion that changes no byte ---------------------------- */

START_TEST(lossy_conversion_to_the_same_bytes_is_impossible) {
  /* int64 -1 read as uint64: the same varint, which the reader reads as
   * 2^64-1 whatever is written. */
  rec r = {{0}, 0};
  put_int(&r, 3, 3);
  put_int(&r, 15, (uint64_t)-1);
  plan p;
  plan_record(&p, &r, 1);
  ck_assert_msg(p.oc == FIX_IMPOSSIBLE, "outcome %s (%s)", name(p.oc), p.why);
  ck_assert_msg(names(p.why, "f15(15)") || strstr(p.why, "f15(15):") != NULL,
                "f15 is not named in: %s", p.why);
  ck_assert_uint_eq(p.out_len, 0);
  plan_free(&p);
}
END_TEST

int main(void) {
  Suite *s = suite_create("fix_plan");
  TCase *tc = tcase_create("plan");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, lossy_why_names_every_loss);
  tcase_add_test(tc, loss_names_its_record_field);
  tcase_add_test(tc, oneof_member_cleared_by_a_later_one_is_a_declared_loss);
  tcase_add_test(tc, string_with_a_nul_is_a_declared_loss);
  tcase_add_test(tc, lossy_conversion_to_the_same_bytes_is_impossible);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
