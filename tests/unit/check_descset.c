#define _DEFAULT_SOURCE /* mkstemps */
/* Descriptor sets: read from protoc's output, compiled from .proto, and
 * refused with a clear error when they are not one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "schema/descset.h"
#include "testutil.h"

#ifndef RS_TEST_SCHEMA_DIR
#error RS_TEST_SCHEMA_DIR must name the schema directory
#endif

static const Google__Protobuf__FileDescriptorProto *find_file(
    const Google__Protobuf__FileDescriptorSet *set, const char *name) {
  for (size_t i = 0; i < set->n_file; i++)
    if (strcmp(set->file[i]->name, name) == 0) return set->file[i];
  return NULL;
}

START_TEST(proto_file_is_compiled_with_imports_and_source_info) {
  Google__Protobuf__FileDescriptorSet *set = NULL;
  rs_error err = RS_ERROR_INIT;
  int rc = rs__descset_load(&set, RS_TEST_SCHEMA_DIR "/shop/v2/order.proto",
                            NULL, &err);
  ck_assert_msg(rc == 0, "%s", err.message);
  const Google__Protobuf__FileDescriptorProto *f =
      find_file(set, "order.proto");
  ck_assert_ptr_nonnull(f);
  ck_assert_str_eq(f->package, "shop.v2");
  ck_assert_ptr_nonnull(f->source_code_info);
  int found = 0;
  for (size_t i = 0; i < f->n_message_type; i++)
    found |= strcmp(f->message_type[i]->name, "Order") == 0;
  ck_assert(found);
  rs__descset_free(set);
}
END_TEST

START_TEST(descriptor_set_file_round_trips) {
  char path[] = "/tmp/rs-descset-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "protoc --include_imports -I%s/shop/v1 --descriptor_set_out=%s "
           "%s/shop/v1/order.proto",
           RS_TEST_SCHEMA_DIR, path, RS_TEST_SCHEMA_DIR);
  ck_assert_int_eq(system(cmd), 0);
  Google__Protobuf__FileDescriptorSet *set = NULL;
  rs_error err = RS_ERROR_INIT;
  int rc = rs__descset_load(&set, path, NULL, &err);
  unlink(path);
  ck_assert_msg(rc == 0, "%s", err.message);
  const Google__Protobuf__FileDescriptorProto *f =
      find_file(set, "order.proto");
  ck_assert_ptr_nonnull(f);
  ck_assert_str_eq(f->package, "shop.v1");
  ck_assert_ptr_null(f->source_code_info); /* not asked for */
  rs__descset_free(set);
}
END_TEST

START_TEST(garbage_is_not_a_descriptor_set) {
  static const uint8_t junk[] = {0x0a, 0x05, 0x12,
                                 0x80}; /* file[0] truncated */
  Google__Protobuf__FileDescriptorSet *set = NULL;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(
      rs__descset_parse(&set, junk, sizeof junk, "junk.desc", &err),
      RS_EDECODE);
  ck_assert_ptr_null(set);
  ck_assert_ptr_nonnull(strstr(err.message, "junk.desc"));
  ck_assert_int_eq(rs__descset_parse(&set, junk, 0, "empty.desc", &err),
                   RS_EDECODE);
  ck_assert_ptr_nonnull(strstr(err.message, "empty"));
}
END_TEST

START_TEST(missing_file_and_bad_proto_name_the_file) {
  Google__Protobuf__FileDescriptorSet *set = NULL;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(rs__descset_load(&set, "/nonexistent/x.desc", NULL, &err),
                   RS_EIO);
  ck_assert_ptr_nonnull(strstr(err.message, "/nonexistent/x.desc"));

  char path[] = "/tmp/rs-bad-XXXXXX.proto";
  int fd = mkstemps(path, 6);
  ck_assert_int_ge(fd, 0);
  static const char text[] = "syntax = \"proto3\";\nmessage M { int32 = 1; }\n";
  ck_assert_int_eq(write(fd, text, sizeof text - 1),
                   (ssize_t)(sizeof text - 1));
  close(fd);
  int rc = rs__descset_load(&set, path, NULL, &err);
  unlink(path);
  ck_assert_int_eq(rc, RS_EIO);
  ck_assert_ptr_null(set);
  ck_assert_ptr_nonnull(strstr(err.message, "protoc failed"));
  ck_assert_ptr_nonnull(strstr(err.message, ":2:")); /* protoc's line */
}
END_TEST

/* Debian 12's protoc predates editions: an editions .proto fails with
 * protoc's error (not its warning about the missing syntax statement) and
 * the way out. */
START_TEST(editions_proto_says_give_a_descriptor_set) {
  Google__Protobuf__FileDescriptorSet *set = NULL;
  rs_error err = RS_ERROR_INIT;
  char path[] = "/tmp/rs-ed-XXXXXX.proto";
  int fd = mkstemps(path, 6);
  ck_assert_int_ge(fd, 0);
  static const char text[] =
      "// a comment\n  edition = \"2023\";\nmessage M { int32 a = 1; }\n";
  ck_assert_int_eq(write(fd, text, sizeof text - 1),
                   (ssize_t)(sizeof text - 1));
  close(fd);
  int rc = rs__descset_load(&set, path, NULL, &err);
  unlink(path);
  ck_assert_int_eq(rc, RS_EIO);
  ck_assert_ptr_null(set);
  ck_assert_msg(strstr(err.message, "WARNING") == NULL, "%s", err.message);
  ck_assert_msg(strstr(err.message,
                       "an editions file: give its descriptor "
                       "set") != NULL,
                "%s", err.message);
}
END_TEST

/* Without protoc on PATH, protobuf-c's own compiler (protoc-c) compiles the
 * .proto; with neither, the error names both. */
START_TEST(protoc_c_stands_in_for_protoc) {
  char dir[] = "/tmp/rs-path-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char link[512];
  snprintf(link, sizeof link, "%s/protoc-c", dir);
  const char *old_path = getenv("PATH");
  char *saved = strdup(old_path != NULL ? old_path : "/usr/bin:/bin");
  const char *old_protoc = getenv("PROTOC");
  char *saved_protoc = old_protoc != NULL ? strdup(old_protoc) : NULL;
  unsetenv("PROTOC");
  ck_assert_int_eq(setenv("PATH", dir, 1), 0);

  Google__Protobuf__FileDescriptorSet *set = NULL;
  rs_error err = RS_ERROR_INIT;
  int none = rs__descset_load(&set, RS_TEST_SCHEMA_DIR "/shop/v1/order.proto",
                              NULL, &err);
  char none_msg[sizeof err.message];
  memcpy(none_msg, err.message, sizeof none_msg);
  ck_assert_int_eq(symlink("/usr/bin/protoc-c", link), 0);
  int rc = rs__descset_load(&set, RS_TEST_SCHEMA_DIR "/shop/v1/order.proto",
                            NULL, &err);

  setenv("PATH", saved, 1);
  if (saved_protoc != NULL) setenv("PROTOC", saved_protoc, 1);
  free(saved);
  free(saved_protoc);
  unlink(link);
  rmdir(dir);
  ck_assert_int_eq(none, RS_EIO);
  ck_assert_msg(strstr(none_msg, "protoc or protoc-c") != NULL, "%s", none_msg);
  ck_assert_msg(rc == 0, "%s", err.message);
  ck_assert_ptr_nonnull(find_file(set, "order.proto"));
  ck_assert_str_eq(find_file(set, "order.proto")->package, "shop.v1");
  rs__descset_free(set);
}
END_TEST

Suite *descset_suite(void);
Suite *descset_suite(void) {
  Suite *s = suite_create("descset");
  TCase *tc = tcase_create("descset");
  tcase_add_test(tc, proto_file_is_compiled_with_imports_and_source_info);
  tcase_add_test(tc, descriptor_set_file_round_trips);
  tcase_add_test(tc, garbage_is_not_a_descriptor_set);
  tcase_add_test(tc, missing_file_and_bad_proto_name_the_file);
  tcase_add_test(tc, protoc_c_stands_in_for_protoc);
  tcase_add_test(tc, editions_proto_says_give_a_descriptor_set);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return rs_test_run(descset_suite());
}
