/*
 * Confluent Schema Registry framing: the header parser (valid, truncated,
 * bad varints, huge counts), schema ids mapped to versions, what each reader
 * framing makes of such records, and writing them (RS_OPT_CONFLUENT).
 */
#include <string.h>

#include "testutil.h"

/* A v1 payload every version reads alike: order_id "A", customer_id "C",
 * total_cents 1, status 1 (v1's required fields set). */
static const uint8_t payload_v1[] = {0x0a, 1, 'A', 0x12, 1, 'C',
                                     0x18, 1, 0x20, 1};

/* 0x00, schema id (big-endian), the path bytes, payload_v1. */
static size_t frame(uint8_t *out, uint32_t id, const uint8_t *path,
                    size_t plen) {
  size_t n = 0;
  out[n++] = 0x00;
  out[n++] = (uint8_t)(id >> 24);
  out[n++] = (uint8_t)(id >> 16);
  out[n++] = (uint8_t)(id >> 8);
  out[n++] = (uint8_t)id;
  memcpy(out + n, path, plen);
  n += plen;
  memcpy(out + n, payload_v1, sizeof payload_v1);
  return n + sizeof payload_v1;
}

START_TEST(parses_shorthand_and_full_paths) {
  uint8_t buf[64];
  rs_confluent_header h;
  rs_error err = RS_ERROR_INIT;
  /* The single byte 0 (count 0) is the list [0]. */
  size_t n = frame(buf, 0x01020304u, (const uint8_t *)"\x00", 1);
  ck_assert_int_eq(rs_confluent_detect(buf, n), 1);
  ck_assert_int_eq(rs_confluent_parse(&h, buf, n, &err), 0);
  ck_assert_uint_eq(h.schema_id, 0x01020304u);
  ck_assert_uint_eq(h.n_indexes, 1);
  ck_assert_int_eq(h.indexes[0], 0);
  ck_assert_uint_eq(h.payload_offset, 6);
  /* [1, 0]: count 2 (zigzag 4), 1 (zigzag 2), 0. */
  n = frame(buf, 42, (const uint8_t *)"\x04\x02\x00", 3);
  ck_assert_int_eq(rs_confluent_parse(&h, buf, n, &err), 0);
  ck_assert_uint_eq(h.schema_id, 42);
  ck_assert_uint_eq(h.n_indexes, 2);
  ck_assert_int_eq(h.indexes[0], 1);
  ck_assert_int_eq(h.indexes[1], 0);
  ck_assert_uint_eq(h.payload_offset, 8);
  /* An index of 300: zigzag 600, two varint bytes. */
  n = frame(buf, 7, (const uint8_t *)"\x02\xd8\x04", 3);
  ck_assert_int_eq(rs_confluent_parse(&h, buf, n, &err), 0);
  ck_assert_int_eq(h.indexes[0], 300);
  /* A schema id with the top bit set is read unsigned. */
  n = frame(buf, 0xFFFFFFFEu, (const uint8_t *)"\x00", 1);
  ck_assert_int_eq(rs_confluent_parse(&h, buf, n, &err), 0);
  ck_assert_uint_eq(h.schema_id, 0xFFFFFFFEu);
  /* Path matching: no indexes in a mapping is [0]. */
  rs_schema_id first = {42, 1, 0, {0}};
  rs_schema_id second = {42, 2, 2, {1, 0}};
  n = frame(buf, 42, (const uint8_t *)"\x04\x02\x00", 3);
  ck_assert_int_eq(rs_confluent_parse(&h, buf, n, &err), 0);
  ck_assert_int_eq(rs_confluent_path_matches(&h, &second), 1);
  ck_assert_int_eq(rs_confluent_path_matches(&h, &first), 0);
  n = frame(buf, 42, (const uint8_t *)"\x02\x00", 2); /* [0] written in full */
  ck_assert_int_eq(rs_confluent_parse(&h, buf, n, &err), 0);
  ck_assert_int_eq(rs_confluent_path_matches(&h, &first), 1);
}
END_TEST

/* Parsing fails with RS_ECONFLUENT at @p offset, saying @p text. */
static void bad(const uint8_t *buf, size_t len, size_t offset,
                const char *text) {
  rs_confluent_header h;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(rs_confluent_parse(&h, buf, len, &err), RS_ECONFLUENT);
  ck_assert_int_eq(err.code, RS_ECONFLUENT);
  ck_assert_uint_eq(err.offset, offset);
  ck_assert_msg(strstr(err.message, text) != NULL, "'%s' lacks '%s'",
                err.message, text);
}

START_TEST(malformed_headers_say_what_and_where) {
  bad((const uint8_t *)"", 0, 0, "no magic byte");
  bad((const uint8_t *)"\x0a\x01", 2, 0, "no magic byte");
  bad((const uint8_t *)"\x00\x00\x00", 3, 3, "truncated schema id");
  bad((const uint8_t *)"\x00\x00\x00\x00\x01", 5, 5,
      "truncated message-index count");
  /* A count varint that never ends within 5 bytes. */
  bad((const uint8_t *)"\x00\x00\x00\x00\x01\x80\x80\x80\x80\x80\x01", 11, 5,
      "longer than 5 bytes");
  /* Five bytes, but over 32 bits. */
  bad((const uint8_t *)"\x00\x00\x00\x00\x01\xff\xff\xff\xff\x7f", 10, 5,
      "over 32 bits");
  bad((const uint8_t *)"\x00\x00\x00\x00\x01\x01", 6, 5,
      "negative message-index count");
  /* Huge counts: 17 (one over the limit), and 2^31 - 1. */
  bad((const uint8_t *)"\x00\x00\x00\x00\x01\x22", 6, 5, "count 17 over 16");
  bad((const uint8_t *)"\x00\x00\x00\x00\x01\xfe\xff\xff\xff\x0f", 10, 5,
      "count 2147483647 over 16");
  /* A list that runs past the end: count 2, one index. */
  bad((const uint8_t *)"\x00\x00\x00\x00\x01\x04\x02", 7, 7,
      "truncated message index");
  bad((const uint8_t *)"\x00\x00\x00\x00\x01\x02\x03", 7, 6,
      "negative message index");
  rs_confluent_header h;
  ck_assert_int_eq(rs_confluent_parse(NULL, (const uint8_t *)"\x00", 1, NULL),
                   RS_EINVAL);
  ck_assert_int_eq(rs_confluent_parse(&h, NULL, 3, NULL), RS_EINVAL);
  ck_assert_int_eq(rs_confluent_detect(NULL, 0), 0);
}
END_TEST

static rs_classification *classify(const uint8_t *buf, size_t len,
                                   rs_reader_framing framing,
                                   const rs_options *o) {
  rs_reader reader = {RS_READER_VERSION,     1,  framing, 0,
                      RS_RUNTIME_PROTOBUF_C, 0u, 0u};
  rs_classification *c = NULL;
  rs_error err = RS_ERROR_INIT;
  ck_assert_msg(rs_classify(&c, rs_test_registry(), RS_SHOP_ORDER, &reader,
                            buf, len, o, &err) == 0,
                "%s", err.message);
  return c;
}

static const rs_schema_id ids[] = {{41, 1, 0, {0}}, {42, 2, 1, {1}}};

START_TEST(readers_of_each_framing) {
  uint8_t buf[64];
  size_t n = frame(buf, 41, (const uint8_t *)"\x00", 1);
  rs_options o = RS_OPTIONS_INIT;
  o.schema_ids = ids;
  o.n_schema_ids = 2;
  rs_options quick = o;
  quick.flags |= RS_OPT_VERDICT_ONLY;
  const rs_options *opts[] = {&o, &quick};
  for (size_t k = 0; k < 2; k++) {
    rs_classification *c =
        classify(buf, n, RS_READER_FRAMING_CONFLUENT, opts[k]);
    ck_assert_int_eq(rs_classification_verdict(c), RS_VERDICT_OK);
    ck_assert_int_eq(rs_classification_encoding(c), RS_ENCODING_CONFLUENT);
    ck_assert_int_eq(rs_classification_writer_basis(c), RS_WRITER_NAMED);
    ck_assert_uint_eq(rs_classification_written_version(c), 1);
    uint32_t id = 0;
    ck_assert_int_eq(rs_classification_schema_id(c, &id), 1);
    ck_assert_uint_eq(id, 41);
    rs_classification_free(c);
    /* Plain code and a rollsafe envelope reader fail at byte 0. */
    rs_reader_framing others[] = {RS_READER_FRAMING_RAW,
                                  RS_READER_FRAMING_ENVELOPE};
    for (size_t f = 0; f < 2; f++) {
      c = classify(buf, n, others[f], opts[k]);
      ck_assert_int_eq(rs_classification_verdict(c), RS_VERDICT_UNREADABLE);
      const rs_reason *r = rs_classification_reason(c, 0);
      ck_assert_uint_eq(rs_reason_offset(r), 0);
      ck_assert_ptr_nonnull(strstr(rs_reason_text(r), "field number 0"));
      rs_classification_free(c);
    }
    /* A Confluent reader fails on raw bytes. */
    c = classify(payload_v1, sizeof payload_v1, RS_READER_FRAMING_CONFLUENT,
                 opts[k]);
    ck_assert_int_eq(rs_classification_verdict(c), RS_VERDICT_UNREADABLE);
    ck_assert_ptr_nonnull(strstr(rs_reason_text(rs_classification_reason(c, 0)),
                                 "magic byte 0x00"));
    rs_classification_free(c);
  }
}
END_TEST

START_TEST(unmapped_id_or_path_is_undetermined_not_corrupt) {
  uint8_t buf[64];
  rs_options o = RS_OPTIONS_INIT;
  o.schema_ids = ids;
  o.n_schema_ids = 2;
  /* Id 99 has no mapping; id 42 has one only at [1]. */
  size_t n99 = frame(buf, 99, (const uint8_t *)"\x00", 1);
  rs_classification *c = classify(buf, n99, RS_READER_FRAMING_CONFLUENT, &o);
  ck_assert_int_eq(rs_classification_writer_basis(c), RS_WRITER_UNMAPPED);
  ck_assert_int_eq(rs_classification_decided(c), 0);
  ck_assert_int_lt(rs_classification_verdict(c), RS_VERDICT_CORRUPT);
  ck_assert_str_eq(rs_writer_basis_name(RS_WRITER_UNMAPPED), "unmapped");
  rs_classification_free(c);
  size_t n42 = frame(buf, 42, (const uint8_t *)"\x00", 1);
  c = classify(buf, n42, RS_READER_FRAMING_CONFLUENT, &o);
  ck_assert_int_eq(rs_classification_writer_basis(c), RS_WRITER_UNMAPPED);
  rs_classification_free(c);
  /* A plain reader fails anyway: that verdict is decided. */
  c = classify(buf, n42, RS_READER_FRAMING_RAW, &o);
  ck_assert_int_eq(rs_classification_decided(c), 1);
  ck_assert_int_eq(rs_classification_verdict(c), RS_VERDICT_UNREADABLE);
  rs_classification_free(c);
  /* rs_decode refuses it: no version to read it as. */
  rs_record *rec = NULL;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(rs_decode(&rec, rs_test_registry(), RS_SHOP_ORDER, buf, n42,
                             &o, &err),
                   RS_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(err.message, "schema id 42"));
  /* A mapping to a version the type lacks is the caller's error. */
  rs_schema_id wrong = {7, 9, 0, {0}};
  o.schema_ids = &wrong;
  o.n_schema_ids = 1;
  rs_reader reader = {RS_READER_VERSION,
                      1,
                      RS_READER_FRAMING_CONFLUENT,
                      0,
                      RS_RUNTIME_PROTOBUF_C,
                      0u,
                      0u};
  ck_assert_int_eq(rs_classify(&c, rs_test_registry(), RS_SHOP_ORDER, &reader,
                               buf, n42, &o, NULL),
                   RS_ENOTFOUND);
}
END_TEST

START_TEST(encodes_with_the_versions_schema_id) {
  rs_options o = RS_OPTIONS_INIT;
  o.schema_ids = ids;
  o.n_schema_ids = 2;
  o.flags |= RS_OPT_CONFLUENT;
  Shop__V2__Order *v2 = rs_test_v2_clean();
  rs_buf b = RS_BUF_INIT;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(rs_encode(&b, rs_test_registry(), RS_SHOP_ORDER, 2,
                             &v2->base, NULL, &o, &err),
                   0);
  /* 0x00, id 42, [1] as count 1 (zigzag 2) and index 1 (zigzag 2). */
  ck_assert_mem_eq(b.data, "\x00\x00\x00\x00\x2a\x02\x02", 7);
  uint8_t packed[512];
  size_t n = shop__v2__order__pack(v2, packed);
  ck_assert_uint_eq(b.len, 7 + n);
  ck_assert_mem_eq(b.data + 7, packed, n);
  /* Read back: version 2, schema id 42. */
  rs_record *rec = NULL;
  ck_assert_int_eq(
      rs_decode(&rec, rs_test_registry(), RS_SHOP_ORDER, b.data, b.len, &o,
                &err),
      0);
  uint32_t id = 0;
  ck_assert_int_eq(rs_record_schema_id(rec, &id), 1);
  ck_assert_uint_eq(id, 42);
  ck_assert_uint_eq(rs_record_written_version(rec), 2);
  ck_assert_int_eq(rs_record_encoding(rec), RS_ENCODING_CONFLUENT);
  ck_assert_uint_eq(rs_record_payload_offset(rec), 7);
  rs_record_free(rec);
  /* Transcoded to version 1: id 41, path [0] as the single byte 0. */
  rs_buf v1 = RS_BUF_INIT;
  ck_assert_int_eq(rs_transcode(&v1, NULL, rs_test_registry(), RS_SHOP_ORDER,
                                1, b.data, b.len, NULL, &o, &err),
                   0);
  ck_assert_mem_eq(v1.data, "\x00\x00\x00\x00\x29\x00", 6);
  Shop__V1__Order *m =
      shop__v1__order__unpack(NULL, v1.len - 6, v1.data + 6);
  ck_assert_ptr_nonnull(m);
  ck_assert_str_eq(m->order_id, v2->order_id);
  shop__v1__order__free_unpacked(m, NULL);
  /* No mapping, or two, for the version written: refused. */
  const rs_schema_id only2[] = {{42, 2, 1, {1}}};
  const rs_schema_id three[] = {{41, 1, 0, {0}}, {43, 1, 0, {0}},
                                {42, 2, 1, {1}}};
  o.schema_ids = only2;
  o.n_schema_ids = 1;
  ck_assert_int_eq(rs_transcode(&v1, NULL, rs_test_registry(), RS_SHOP_ORDER,
                                1, b.data, b.len, NULL, &o, &err),
                   RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "no schema id maps"));
  o.schema_ids = three;
  o.n_schema_ids = 3;
  ck_assert_int_eq(rs_transcode(&v1, NULL, rs_test_registry(), RS_SHOP_ORDER,
                                1, b.data, b.len, NULL, &o, &err),
                   RS_EINVAL);
  ck_assert_ptr_nonnull(strstr(err.message, "more than one"));
  rs_buf_dispose(&v1, NULL);
  rs_buf_dispose(&b, NULL);
}
END_TEST

START_TEST(options_of_older_versions_have_no_schema_ids) {
  /* Version 2 of rs_options ends before schema_ids: a caller built for it
   * gets none, and Confluent records of any id are unmapped. */
  rs_options o = RS_OPTIONS_INIT;
  o.version = 2;
  o.schema_ids = NULL;
  o.n_schema_ids = 12345; /* beyond a version-2 struct: never read */
  uint8_t buf[64];
  size_t n = frame(buf, 41, (const uint8_t *)"\x00", 1);
  rs_classification *c = classify(buf, n, RS_READER_FRAMING_CONFLUENT, &o);
  ck_assert_int_eq(rs_classification_writer_basis(c), RS_WRITER_UNMAPPED);
  rs_classification_free(c);
  o.version = 4;
  rs_reader reader = {RS_READER_VERSION,
                      1,
                      RS_READER_FRAMING_CONFLUENT,
                      0,
                      RS_RUNTIME_PROTOBUF_C,
                      0u,
                      0u};
  ck_assert_int_eq(rs_classify(&c, rs_test_registry(), RS_SHOP_ORDER, &reader,
                               buf, n, &o, NULL),
                   RS_EINVAL);
}
END_TEST

Suite *confluent_suite(void);
Suite *confluent_suite(void) {
  Suite *s = suite_create("confluent");
  TCase *tc = tcase_create("confluent");
  tcase_add_test(tc, parses_shorthand_and_full_paths);
  tcase_add_test(tc, malformed_headers_say_what_and_where);
  tcase_add_test(tc, readers_of_each_framing);
  tcase_add_test(tc, unmapped_id_or_path_is_undetermined_not_corrupt);
  tcase_add_test(tc, encodes_with_the_versions_schema_id);
  tcase_add_test(tc, options_of_older_versions_have_no_schema_ids);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return rs_test_run(confluent_suite());
}
