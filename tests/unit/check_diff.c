#define _DEFAULT_SOURCE /* mkstemp */
/* The schema guard's library API (rollsafe/diff.h): the rule table, dates,
 * argument errors, suppressions, and hostile descriptor sets that must give
 * a clear error (an unresolved type, a bad number, a duplicate type, a oneof
 * index out of range, nesting too deep) or terminate (message cycles). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rollsafe/diff.h>

#include "schema/descset.h"
#include "testutil.h"

#ifndef RS_TEST_SCHEMA_DIR
#error RS_TEST_SCHEMA_DIR must name the schema directory
#endif

/* src/schema/diff.c's test hook; see there. */
extern size_t rs__diff_fail_at, rs__diff_n_allocs;

typedef Google__Protobuf__FieldDescriptorProto field_proto;
typedef Google__Protobuf__DescriptorProto msg_proto;

#define TYPE(x) GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_##x
#define LABEL(x) GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_##x

static void init_field(field_proto *f, const char *name, int number, int type,
                       const char *type_name) {
  google__protobuf__field_descriptor_proto__init(f);
  f->name = (char *)name;
  f->has_number = 1;
  f->number = number;
  f->has_label = 1;
  f->label = LABEL(OPTIONAL);
  if (type != 0) {
    f->has_type = 1;
    f->type = (Google__Protobuf__FieldDescriptorProto__Type)type;
  }
  f->type_name = (char *)type_name;
}

/* Writes a set of one file holding @p msgs into a temporary file. */
static char *write_set(msg_proto **msgs, size_t n_msgs) {
  Google__Protobuf__FileDescriptorProto file;
  google__protobuf__file_descriptor_proto__init(&file);
  file.name = "hostile.proto";
  file.package = "h";
  file.message_type = msgs;
  file.n_message_type = n_msgs;
  Google__Protobuf__FileDescriptorProto *files[] = {&file};
  Google__Protobuf__FileDescriptorSet set;
  google__protobuf__file_descriptor_set__init(&set);
  set.file = files;
  set.n_file = 1;
  size_t len = google__protobuf__file_descriptor_set__get_packed_size(&set);
  uint8_t *buf = malloc(len);
  ck_assert_ptr_nonnull(buf);
  google__protobuf__file_descriptor_set__pack(&set, buf);
  char *path = strdup("/tmp/rs-diff-XXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
  close(fd);
  free(buf);
  return path;
}

/* Loads @p msgs as a schema and expects @p code with @p text in the
 * message. */
static void expect_load_error(msg_proto **msgs, size_t n, int code,
                              const char *text) {
  char *path = write_set(msgs, n);
  rs_diff_schema *s = NULL;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_diff_schema_load(&s, path, NULL, &err);
  unlink(path);
  free(path);
  ck_assert_int_eq(rc, code);
  ck_assert_ptr_null(s);
  ck_assert_msg(strstr(err.message, text) != NULL, "message '%s' lacks '%s'",
                err.message, text);
}

START_TEST(rule_table_is_consistent) {
  for (int i = 0; i < RS_DIFF_RULE_COUNT; i++) {
    const char *id = rs_diff_rule_id((rs_diff_rule)i);
    ck_assert_ptr_nonnull(id);
    ck_assert_int_eq(rs_diff_rule_from_id(id), i);
    rs_diff_severity s = rs_diff_rule_severity((rs_diff_rule)i);
    ck_assert(s >= RS_DIFF_INFO && s <= RS_DIFF_ERROR);
    /* the usual severity follows from the usual verdict */
    rs_diff_verdict v = rs_diff_rule_verdict((rs_diff_rule)i);
    ck_assert(v >= RS_DIFF_VERDICT_NONE && v <= RS_DIFF_VERDICT_UNREADABLE);
    ck_assert_int_eq(s == RS_DIFF_ERROR, v == RS_DIFF_VERDICT_MISREAD ||
                                             v == RS_DIFF_VERDICT_UNREADABLE);
    ck_assert(strlen(rs_diff_rule_summary((rs_diff_rule)i)) > 0);
    for (int j = 0; j < i; j++)
      ck_assert_str_ne(id, rs_diff_rule_id((rs_diff_rule)j));
  }
  ck_assert_int_eq(rs_diff_rule_from_id("NO_SUCH_RULE"), -1);
  ck_assert_ptr_null(rs_diff_rule_id(RS_DIFF_RULE_COUNT));
  for (int s = RS_DIFF_INFO; s <= RS_DIFF_ERROR; s++)
    ck_assert_int_eq(
        rs_diff_severity_from_name(rs_diff_severity_name((rs_diff_severity)s)),
        s);
  ck_assert_int_eq(rs_diff_severity_from_name("fatal"), 0);
  ck_assert_str_eq(rs_diff_verdict_name(RS_DIFF_VERDICT_NONE), "none");
  ck_assert_str_eq(rs_diff_verdict_name(RS_DIFF_VERDICT_OK), "ok");
  ck_assert_str_eq(rs_diff_verdict_name(RS_DIFF_VERDICT_IGNORED_FIELDS),
                   "ignored_fields");
  ck_assert_str_eq(rs_diff_verdict_name(RS_DIFF_VERDICT_MISREAD), "misread");
  ck_assert_str_eq(rs_diff_verdict_name(RS_DIFF_VERDICT_UNREADABLE),
                   "unreadable");
  ck_assert_int_eq(rs_diff_rule_verdict(RS_DIFF_RULE_COUNT),
                   RS_DIFF_VERDICT_NONE);
}
END_TEST

START_TEST(dates) {
  ck_assert(rs_diff_date_valid("2026-12-31"));
  ck_assert(rs_diff_date_valid("2024-02-29"));
  ck_assert(!rs_diff_date_valid("2023-02-29"));
  ck_assert(!rs_diff_date_valid("2026-13-01"));
  ck_assert(!rs_diff_date_valid("2026-1-01"));
  ck_assert(!rs_diff_date_valid("2026-01-00"));
  ck_assert(!rs_diff_date_valid("2026/01/01"));
  ck_assert(!rs_diff_date_valid(""));
}
END_TEST

static rs_diff_schema *load_shop(int version) {
  char path[512];
  snprintf(path, sizeof path, "%s/shop/v%d/order.proto", RS_TEST_SCHEMA_DIR,
           version);
  rs_diff_schema *s = NULL;
  rs_error err = RS_ERROR_INIT;
  ck_assert_msg(rs_diff_schema_load(&s, path, NULL, &err) == 0, "%s",
                err.message);
  ck_assert_str_eq(rs_diff_schema_path(s), path);
  return s;
}

START_TEST(argument_errors) {
  rs_diff_schema *v[2] = {load_shop(1), load_shop(2)};
  const rs_diff_schema *const *schemas = (const rs_diff_schema *const *)v;
  rs_diff_report *r = NULL;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(rs_diff_compare(&r, schemas, 1, NULL, &err), RS_EINVAL);
  ck_assert_ptr_null(r);

  rs_diff_options opts = RS_DIFF_OPTIONS_INIT;
  opts.version = 99;
  ck_assert_int_eq(rs_diff_compare(&r, schemas, 2, &opts, &err), RS_EINVAL);

  const char *three[] = {"A:B:C", NULL};
  opts.version = RS_DIFF_OPTIONS_VERSION;
  opts.types = three;
  ck_assert_int_eq(rs_diff_compare(&r, schemas, 2, &opts, &err), RS_EINVAL);
  ck_assert(strstr(err.message, "one per version") != NULL);

  const char *empty[] = {"shop.v1.Order:", NULL};
  opts.types = empty;
  ck_assert_int_eq(rs_diff_compare(&r, schemas, 2, &opts, &err), RS_EINVAL);

  const char *missing[] = {"Order", "Nothing", NULL};
  opts.types = missing;
  ck_assert_int_eq(rs_diff_compare(&r, schemas, 2, &opts, &err), RS_ENOTFOUND);
  ck_assert(strstr(err.message, "'Nothing'") != NULL);
  ck_assert_ptr_null(r);
  rs_diff_schema_free(v[0]);
  rs_diff_schema_free(v[1]);
}
END_TEST

START_TEST(suppressions) {
  rs_diff_schema *v[2] = {load_shop(1), load_shop(2)};
  rs_diff_report *r = NULL;
  rs_error err = RS_ERROR_INIT;
  const char *types[] = {"Order", NULL};
  rs_diff_options opts = RS_DIFF_OPTIONS_INIT;
  opts.types = types;
  ck_assert_int_eq(
      rs_diff_compare(&r, (const rs_diff_schema *const *)v, 2, &opts, &err), 0);
  size_t n = rs_diff_report_count(r);
  ck_assert_uint_gt(n, 0);

  size_t matched = 99;
  rs_diff_suppression_status status = 0;
  ck_assert_int_eq(
      rs_diff_report_suppress(r, "FIELD_GONE", "*", "why", "2026-01-01",
                              "2026-01-01", "x", &matched, &status, &err),
      RS_EINVAL);
  ck_assert_int_eq(
      rs_diff_report_suppress(r, "FIELD_ADDED", "*", "", "2026-01-01",
                              "2026-01-01", "x", &matched, &status, &err),
      RS_EINVAL);
  ck_assert_int_eq(
      rs_diff_report_suppress(r, "FIELD_ADDED", "*", "why", "2026-02-30",
                              "2026-01-01", "x", &matched, &status, &err),
      RS_EINVAL);

  /* expired the day before: suppresses nothing, still counts */
  ck_assert_int_eq(
      rs_diff_report_suppress(r, "FIELD_ADDED", "*", "later", "2026-05-31",
                              "2026-06-01", "old", &matched, &status, &err),
      0);
  ck_assert_int_eq(status, RS_DIFF_SUPPRESSION_EXPIRED);
  ck_assert_uint_eq(matched, 4);
  for (size_t i = 0; i < n; i++)
    ck_assert_ptr_null(rs_diff_finding_suppressed_by(rs_diff_report_get(r, i)));

  /* the last day applies */
  ck_assert_int_eq(
      rs_diff_report_suppress(r, "FIELD_ADDED", "shop.v2.Order.*(1[0-9])",
                              "planned", "2026-06-01", "2026-06-01", "cfg:3:5",
                              &matched, &status, &err),
      0);
  ck_assert_int_eq(status, RS_DIFF_SUPPRESSION_USED);
  ck_assert_uint_eq(matched, 4);
  size_t suppressed = 0;
  for (size_t i = 0; i < n; i++) {
    const rs_diff_finding *f = rs_diff_report_get(r, i);
    if (rs_diff_finding_suppressed_by(f) == NULL) continue;
    suppressed++;
    ck_assert_int_eq(rs_diff_finding_rule(f), RS_DIFF_RULE_FIELD_ADDED);
    ck_assert_str_eq(rs_diff_finding_suppressed_by(f), "cfg:3:5");
    ck_assert_str_eq(rs_diff_finding_suppression_reason(f), "planned");
  }
  ck_assert_uint_eq(suppressed, 4);

  /* what another suppression took is not matched again */
  ck_assert_int_eq(
      rs_diff_report_suppress(r, "*", "*", "all", "2026-06-01", "2026-06-01",
                              "all", &matched, &status, &err),
      0);
  ck_assert_uint_eq(matched, n - 4);
  ck_assert_int_eq(
      rs_diff_report_suppress(r, "*", "nothing.*", "none", "2026-06-01",
                              "2026-06-01", "none", &matched, &status, &err),
      0);
  ck_assert_int_eq(status, RS_DIFF_SUPPRESSION_UNUSED);
  ck_assert_uint_eq(matched, 0);
  rs_diff_report_free(r);
  rs_diff_schema_free(v[0]);
  rs_diff_schema_free(v[1]);
}
END_TEST

START_TEST(unresolved_type_is_an_error) {
  field_proto f;
  init_field(&f, "x", 1, TYPE(MESSAGE), ".h.Missing");
  field_proto *fields[] = {&f};
  msg_proto m;
  google__protobuf__descriptor_proto__init(&m);
  m.name = "M";
  m.field = fields;
  m.n_field = 1;
  msg_proto *msgs[] = {&m};
  expect_load_error(msgs, 1, RS_EDECODE,
                    "'.h.Missing' not in the descriptor set");
  /* no type at all */
  init_field(&f, "x", 1, 0, NULL);
  expect_load_error(msgs, 1, RS_EDECODE, "h.M.x(1): no type");
  /* an enum where a message is named */
  init_field(&f, "x", 1, TYPE(ENUM), ".h.M");
  expect_load_error(msgs, 1, RS_EDECODE, "is not an enum");
}
END_TEST

START_TEST(bad_numbers_duplicates_and_oneofs_are_errors) {
  field_proto f;
  init_field(&f, "x", 0, TYPE(INT32), NULL);
  field_proto *fields[] = {&f};
  msg_proto m, twin;
  google__protobuf__descriptor_proto__init(&m);
  m.name = "M";
  m.field = fields;
  m.n_field = 1;
  msg_proto *msgs[] = {&m, &twin};
  expect_load_error(msgs, 1, RS_EDECODE, "outside 1..536870911");
  init_field(&f, "x", 536870912, TYPE(INT32), NULL);
  expect_load_error(msgs, 1, RS_EDECODE, "outside 1..536870911");
  init_field(&f, "x", 1, TYPE(INT32), NULL);
  f.has_oneof_index = 1;
  f.oneof_index = 3;
  expect_load_error(msgs, 1, RS_EDECODE, "oneof index 3 out of range");
  f.has_oneof_index = 0;
  /* two fields with one number, or one name: a set compared with itself
   * reported the second as the first one renamed */
  field_proto g;
  init_field(&g, "y", 1, TYPE(STRING), NULL);
  field_proto *two[] = {&f, &g};
  m.field = two;
  m.n_field = 2;
  expect_load_error(msgs, 1, RS_EDECODE, "field number 1 is used by x and y");
  init_field(&g, "x", 2, TYPE(STRING), NULL);
  expect_load_error(msgs, 1, RS_EDECODE, "field name x is used twice");
  m.field = fields;
  m.n_field = 1;
  twin = m;
  expect_load_error(msgs, 2, RS_EDECODE, "type h.M is defined twice");
  m.name = NULL;
  expect_load_error(msgs, 1, RS_EDECODE, "a message without a name");
}
END_TEST

START_TEST(deep_nesting_is_an_error) {
  enum { DEPTH = 80 };
  msg_proto chain[DEPTH];
  msg_proto *links[DEPTH];
  for (int i = 0; i < DEPTH; i++) {
    google__protobuf__descriptor_proto__init(&chain[i]);
    chain[i].name = "N";
    links[i] = &chain[i];
  }
  for (int i = 0; i + 1 < DEPTH; i++) {
    chain[i].nested_type = &links[i + 1];
    chain[i].n_nested_type = 1;
  }
  expect_load_error(links, 1, RS_EDECODE, "nested more than 64 deep");
}
END_TEST

START_TEST(message_cycles_terminate_without_source_info) {
  /* A { B b = 1; } B { A a = 1; int32 n = 2; } in both versions, with n's
   * type changed in the newer one: one finding, no endless walk. */
  field_proto fa, fb, fn, fn2;
  init_field(&fa, "b", 1, TYPE(MESSAGE), ".h.B");
  init_field(&fb, "a", 1, TYPE(MESSAGE), ".h.A");
  init_field(&fn, "n", 2, TYPE(INT32), NULL);
  init_field(&fn2, "n", 2, TYPE(STRING), NULL);
  field_proto *a_fields[] = {&fa}, *b_fields[] = {&fb, &fn},
              *b2_fields[] = {&fb, &fn2};
  msg_proto a, b;
  google__protobuf__descriptor_proto__init(&a);
  google__protobuf__descriptor_proto__init(&b);
  a.name = "A";
  a.field = a_fields;
  a.n_field = 1;
  b.name = "B";
  b.field = b_fields;
  b.n_field = 2;
  msg_proto *msgs[] = {&a, &b};
  char *old_path = write_set(msgs, 2);
  b.field = b2_fields;
  char *new_path = write_set(msgs, 2);
  rs_diff_schema *v[2] = {NULL, NULL};
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(rs_diff_schema_load(&v[0], old_path, NULL, &err), 0);
  ck_assert_int_eq(rs_diff_schema_load(&v[1], new_path, NULL, &err), 0);
  unlink(old_path);
  unlink(new_path);
  const char *types[] = {"h.A", NULL};
  rs_diff_options opts = RS_DIFF_OPTIONS_INIT;
  opts.types = types;
  rs_diff_report *r = NULL;
  ck_assert_int_eq(
      rs_diff_compare(&r, (const rs_diff_schema *const *)v, 2, &opts, &err), 0);
  ck_assert_uint_eq(rs_diff_report_count(r), 1);
  const rs_diff_finding *f = rs_diff_report_get(r, 0);
  ck_assert_int_eq(rs_diff_finding_rule(f),
                   RS_DIFF_RULE_FIELD_WIRE_TYPE_CHANGED);
  ck_assert_int_eq(rs_diff_finding_severity(f), RS_DIFF_ERROR);
  ck_assert_int_eq(rs_diff_finding_verdict(f), RS_DIFF_VERDICT_UNREADABLE);
  ck_assert_str_eq(rs_diff_finding_path(f), "h.B.n(2)");
  /* a descriptor set without source info: the file, no line */
  ck_assert_str_eq(rs_diff_finding_file(f), "hostile.proto");
  ck_assert_uint_eq(rs_diff_finding_line(f), 0);
  ck_assert_uint_eq(rs_diff_finding_column(f), 0);
  ck_assert_uint_eq(rs_diff_finding_reader(f), 0);
  ck_assert_uint_eq(rs_diff_finding_writer(f), 1);
  ck_assert_ptr_null(rs_diff_report_get(r, 1));
  rs_diff_report_free(r);
  rs_diff_schema_free(v[0]);
  rs_diff_schema_free(v[1]);
  free(old_path);
  free(new_path);
}
END_TEST

/* A oneof without a name (a hand-made set) that a field leaves: the finding
 * names it '?', never passing a NULL name to a %s. */
START_TEST(unnamed_oneof_left_is_named_in_findings) {
  field_proto fa, fb;
  init_field(&fa, "a", 1, TYPE(INT32), NULL);
  init_field(&fb, "b", 2, TYPE(INT32), NULL);
  field_proto *fields[] = {&fa, &fb};
  Google__Protobuf__OneofDescriptorProto od;
  google__protobuf__oneof_descriptor_proto__init(&od);
  Google__Protobuf__OneofDescriptorProto *ods[] = {&od};
  msg_proto m;
  google__protobuf__descriptor_proto__init(&m);
  m.name = "M";
  m.field = fields;
  m.n_field = 2;
  msg_proto *msgs[] = {&m};
  char *new_path = write_set(msgs, 1);
  m.oneof_decl = ods;
  m.n_oneof_decl = 1;
  fa.has_oneof_index = fb.has_oneof_index = 1;
  fa.oneof_index = fb.oneof_index = 0;
  char *old_path = write_set(msgs, 1);
  rs_diff_schema *v[2] = {NULL, NULL};
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(rs_diff_schema_load(&v[0], old_path, NULL, &err), 0);
  ck_assert_int_eq(rs_diff_schema_load(&v[1], new_path, NULL, &err), 0);
  unlink(old_path);
  unlink(new_path);
  rs_diff_report *r = NULL;
  ck_assert_int_eq(
      rs_diff_compare(&r, (const rs_diff_schema *const *)v, 2, NULL, &err), 0);
  size_t left = 0;
  for (size_t i = 0; i < rs_diff_report_count(r); i++) {
    const rs_diff_finding *f = rs_diff_report_get(r, i);
    if (rs_diff_finding_rule(f) != RS_DIFF_RULE_FIELD_MOVED_OUT_OF_ONEOF)
      continue;
    left++;
    const char *msg = rs_diff_finding_message(f);
    ck_assert_msg(strstr(msg, "oneof '?'") != NULL, "%s", msg);
  }
  ck_assert_uint_eq(left, 2);
  rs_diff_report_free(r);
  rs_diff_schema_free(v[0]);
  rs_diff_schema_free(v[1]);
  free(old_path);
  free(new_path);
}
END_TEST

/* An enum value without a name (a hand-made set) is a load error, as a
 * message or enum without one is; it was compared by name (NULL). */
START_TEST(unnamed_enum_value_is_an_error) {
  Google__Protobuf__EnumValueDescriptorProto v0, v1;
  google__protobuf__enum_value_descriptor_proto__init(&v0);
  google__protobuf__enum_value_descriptor_proto__init(&v1);
  v0.name = "ZERO";
  v0.has_number = v1.has_number = 1;
  v0.number = 0;
  v1.number = 1; /* no name */
  Google__Protobuf__EnumValueDescriptorProto *vals[] = {&v0, &v1};
  Google__Protobuf__EnumDescriptorProto e;
  google__protobuf__enum_descriptor_proto__init(&e);
  e.name = "E";
  e.value = vals;
  e.n_value = 2;
  Google__Protobuf__EnumDescriptorProto *enums[] = {&e};
  field_proto fe;
  init_field(&fe, "e", 1, TYPE(ENUM), ".h.M.E");
  field_proto *fields[] = {&fe};
  msg_proto m;
  google__protobuf__descriptor_proto__init(&m);
  m.name = "M";
  m.field = fields;
  m.n_field = 1;
  m.enum_type = enums;
  m.n_enum_type = 1;
  msg_proto *msgs[] = {&m};
  expect_load_error(msgs, 1, RS_EDECODE, "h.M.E");
}
END_TEST

START_TEST(unreadable_and_missing_protoc) {
  rs_diff_schema *s = NULL;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(rs_diff_schema_load(&s, "/nonexistent/x.desc", NULL, &err),
                   RS_EIO);
  ck_assert(strstr(err.message, "/nonexistent/x.desc: cannot open") != NULL);
  const char *saved = getenv("PROTOC");
  char *copy = saved != NULL ? strdup(saved) : NULL;
  setenv("PROTOC", "/nonexistent/protoc", 1);
  int rc = rs_diff_schema_load(&s, RS_TEST_SCHEMA_DIR "/shop/v1/order.proto",
                               NULL, &err);
  if (copy != NULL) {
    setenv("PROTOC", copy, 1);
    free(copy);
  } else {
    unsetenv("PROTOC");
  }
  ck_assert_int_eq(rc, RS_EIO);
  ck_assert(strstr(err.message, "protoc not found") != NULL);
  ck_assert_ptr_null(s);
  rs_diff_schema_free(NULL);
  rs_diff_report_free(NULL);
}
END_TEST

/* A .proto compiled to a descriptor set with source info, in /tmp. */
static char *compile(const char *dir, const char *file) {
  char *path = strdup("/tmp/rs-diff-set-XXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "protoc --include_imports --include_source_info -I%s "
           "--descriptor_set_out=%s %s/%s",
           dir, path, dir, file);
  ck_assert_int_eq(system(cmd), 0);
  return path;
}

/* Loads both, compares whole and (with a type) by type, suppresses; 0 or
 * the first error code, everything freed either way. */
static int use_api(char *const paths[2], const char *type, size_t *n_findings) {
  rs_diff_schema *v[2] = {NULL, NULL};
  rs_diff_report *r = NULL;
  rs_error err = RS_ERROR_INIT;
  const char *types[] = {type, NULL};
  rs_diff_options opts = RS_DIFF_OPTIONS_INIT;
  int rc = rs_diff_schema_load(&v[0], paths[0], NULL, &err);
  if (rc == 0) rc = rs_diff_schema_load(&v[1], paths[1], NULL, &err);
  if (rc == 0 && type != NULL) {
    opts.types = types;
    rc = rs_diff_compare(&r, (const rs_diff_schema *const *)v, 2, &opts, &err);
    rs_diff_report_free(r);
    r = NULL;
  }
  if (rc == 0)
    rc = rs_diff_compare(&r, (const rs_diff_schema *const *)v, 2, NULL, &err);
  if (rc == 0)
    rc = rs_diff_report_suppress(r, "*", "*.*", "all", "2026-06-01",
                                 "2026-06-01", "cfg:1:1", NULL, NULL, &err);
  if (rc == 0) *n_findings = rs_diff_report_count(r);
  rs_diff_report_free(r);
  rs_diff_schema_free(v[0]);
  rs_diff_schema_free(v[1]);
  return rc;
}

/* The example domain, and cases of tests/diff/cases/ that take the other
 * paths: maps, oneofs, deletions, enum changes, removed messages. */
static const struct {
  const char *dir, *old_file, *new_file, *type;
} chaos_pairs[] = {
    {RS_TEST_SCHEMA_DIR "/shop", "v1/order.proto", "v2/order.proto", "Order"},
    {RS_TEST_SCHEMA_DIR "/../tests/diff/cases/map_changes", "old.proto",
     "new.proto", "M"},
    {RS_TEST_SCHEMA_DIR "/../tests/diff/cases/oneof_out", "old.proto",
     "new.proto", NULL},
    {RS_TEST_SCHEMA_DIR "/../tests/diff/cases/field_deleted", "old.proto",
     "new.proto", NULL},
    {RS_TEST_SCHEMA_DIR "/../tests/diff/cases/enum_type_changed", "old.proto",
     "new.proto", NULL},
    {RS_TEST_SCHEMA_DIR "/../tests/diff/cases/message_removed_renamed",
     "old.proto", "new.proto", NULL},
    {RS_TEST_SCHEMA_DIR "/../tests/diff/cases/number_reused", "old.proto",
     "new.proto", NULL},
};

START_TEST(chaos_every_allocation_failure_is_clean) {
  char dir[512];
  const char *slash = strrchr(chaos_pairs[_i].old_file, '/');
  snprintf(dir, sizeof dir, "%s", chaos_pairs[_i].dir);
  char *paths[2];
  if (slash != NULL) { /* the shop versions live in folders of their own */
    char sub[600];
    snprintf(sub, sizeof sub, "%s/v1", dir);
    paths[0] = compile(sub, "order.proto");
    snprintf(sub, sizeof sub, "%s/v2", dir);
    paths[1] = compile(sub, "order.proto");
  } else {
    paths[0] = compile(dir, chaos_pairs[_i].old_file);
    paths[1] = compile(dir, chaos_pairs[_i].new_file);
  }
  const char *type = chaos_pairs[_i].type;
  size_t want = 0, got = 0;
  rs__diff_fail_at = (size_t)-1; /* count only */
  rs__diff_n_allocs = 0;
  ck_assert_int_eq(use_api(paths, type, &want), 0);
  size_t total = rs__diff_n_allocs;
  ck_assert_uint_gt(total, 10);
  ck_assert_uint_gt(want, 0);
  for (size_t n = 1; n <= total; n++) {
    rs__diff_fail_at = n;
    rs__diff_n_allocs = 0;
    int rc = use_api(paths, type, &got);
    rs__diff_fail_at = 0;
    ck_assert_msg(rc == RS_ENOMEM, "%s: allocation %zu of %zu failing: rc %d",
                  dir, n, total, rc);
  }
  ck_assert_int_eq(use_api(paths, type, &got), 0);
  ck_assert_uint_eq(got, want);
  unlink(paths[0]);
  unlink(paths[1]);
  free(paths[0]);
  free(paths[1]);
}
END_TEST

static Suite *diff_suite(void) {
  Suite *s = suite_create("diff");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, rule_table_is_consistent);
  tcase_add_test(tc, dates);
  tcase_add_test(tc, argument_errors);
  tcase_add_test(tc, suppressions);
  tcase_add_test(tc, unresolved_type_is_an_error);
  tcase_add_test(tc, bad_numbers_duplicates_and_oneofs_are_errors);
  tcase_add_test(tc, deep_nesting_is_an_error);
  tcase_add_test(tc, message_cycles_terminate_without_source_info);
  tcase_add_test(tc, unnamed_oneof_left_is_named_in_findings);
  tcase_add_test(tc, unnamed_enum_value_is_an_error);
  tcase_add_test(tc, unreadable_and_missing_protoc);
  tcase_add_loop_test(tc, chaos_every_allocation_failure_is_clean, 0,
                      (int)(sizeof chaos_pairs / sizeof chaos_pairs[0]));
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return rs_test_run(diff_suite());
}
