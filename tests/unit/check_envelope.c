#define _GNU_SOURCE /* memmem */
/* The envelope: layout, detection, and every way it can be bad. */
#include <string.h>

#include "testutil.h"

START_TEST(layout_is_marker_major_length_header_payload) {
  rs_buf b = RS_BUF_INIT;
  Shop__V2__Order *o = rs_test_v2_clean();
  rs_test_encode_v2(&b, o);
  ck_assert_uint_eq(b.data[0], RS_ENVELOPE_MARKER);
  ck_assert_uint_eq(b.data[0] & 7, 7); /* wire type 7: never a protobuf start */
  ck_assert_uint_eq(b.data[1], RS_ENVELOPE_MAJOR);
  size_t hlen = b.data[2];
  ck_assert_uint_lt(hlen, 128);
  /* The payload after the header is exactly protobuf-c's packing of o. */
  uint8_t packed[512];
  size_t n = shop__v2__order__pack(o, packed);
  ck_assert_uint_eq(b.len, 3 + hlen + n);
  ck_assert_mem_eq(b.data + 3 + hlen, packed, n);
  rs_record *rec = NULL;
  ck_assert_int_eq(rs_decode(&rec, rs_test_registry(), RS_SHOP_ORDER, b.data,
                             b.len, NULL, NULL),
                   0);
  ck_assert_uint_eq(rs_record_payload_offset(rec), 3 + hlen);
  const rs_provenance *p = rs_record_provenance(rec);
  ck_assert_ptr_nonnull(p);
  ck_assert_str_eq(p->flag_key, "checkout_v2");
  ck_assert_str_eq(p->variant, "on");
  ck_assert_str_eq(p->writer_id, "unit-test");
  ck_assert_int_eq(p->write_time_us, 1764150000000000);
  size_t fl = 0;
  const uint8_t *fp = rs_record_fingerprint(rec, &fl);
  ck_assert_uint_eq(fl, RS_FINGERPRINT_LEN);
  ck_assert_mem_eq(fp,
                   rs_registry_fingerprint(rs_test_registry(), "shop.Order", 2),
                   RS_FINGERPRINT_LEN);
  rs_record_free(rec);
  rs_buf_dispose(&b, NULL);
}
END_TEST

START_TEST(no_protobuf_message_starts_with_wire_type_6_or_7) {
  /* Every first byte with low bits 6 or 7 fails protobuf-c, whatever follows.
   */
  for (unsigned b0 = 0; b0 < 256; b0++) {
    if ((b0 & 7) < 6) continue;
    uint8_t buf[4] = {(uint8_t)b0, 0x01, 0x02, 0x03};
    for (size_t len = 1; len <= sizeof buf; len++) {
      ProtobufCMessage *m = protobuf_c_message_unpack(
          &shop__v2__address__descriptor, NULL, len, buf);
      ck_assert_msg(m == NULL, "byte 0x%02x decoded as a message", b0);
    }
  }
  ck_assert_int_eq(rs_envelope_detect((const uint8_t *)"\xf7", 1), 1);
  ck_assert_int_eq(rs_envelope_detect((const uint8_t *)"\x0a", 1), 0);
  ck_assert_int_eq(rs_envelope_detect(NULL, 0), 0);
}
END_TEST

START_TEST(empty_record_is_legacy) {
  rs_buf empty = RS_BUF_INIT;
  rs_classification *c = rs_test_classify(&empty, RS_READER_FRAMING_RAW);
  ck_assert_int_eq(rs_classification_encoding(c), RS_ENCODING_RAW);
  /* Legacy framing, but shop.Order v1 requires fields: corrupt for this type.
   */
  ck_assert_int_eq(rs_classification_verdict(c), RS_VERDICT_CORRUPT);
  rs_classification_free(c);
  /* A type whose legacy version has no required fields decodes it fine. */
  rs_registry_builder *b = NULL;
  rs_registry *r = NULL;
  ck_assert_int_eq(rs_registry_builder_new(&b, NULL, NULL), 0);
  ck_assert_int_eq(rs_registry_builder_add_version(
                       b, "t.Address", 1, &shop__v1__address__descriptor,
                       RS_ENCODING_RAW, NULL),
                   0);
  ck_assert_int_eq(rs_registry_build(&r, b, NULL), 0);
  rs_record *rec = NULL;
  ck_assert_int_eq(
      rs_decode(&rec, r, "t.Address", (const uint8_t *)"", 0, NULL, NULL), 0);
  ck_assert_int_eq(rs_record_encoding(rec), RS_ENCODING_RAW);
  ck_assert_uint_eq(rs_record_written_version(rec), 1);
  rs_record_free(rec);
  rs_registry_free(r);
}
END_TEST

/* Builds an envelope by hand: marker, major, header bytes, payload bytes. */
static size_t make(uint8_t *out, uint8_t major, const uint8_t *hdr, size_t hlen,
                   const uint8_t *payload, size_t plen) {
  size_t n = 0;
  out[n++] = 0xF7;
  out[n++] = major;
  out[n++] = (uint8_t)hlen;
  memcpy(out + n, hdr, hlen);
  n += hlen;
  memcpy(out + n, payload, plen);
  return n + plen;
}

/* Header: record_type "shop.Order", format_version 2. */
static const uint8_t hdr_ok[] = {0x0a, 10,  's', 'h', 'o', 'p',  '.',
                                 'O',  'r', 'd', 'e', 'r', 0x10, 2};
/* A v2 payload: order_id "A". */
static const uint8_t payload_ok[] = {0x0a, 1, 'A'};

static void expect(const uint8_t *buf, size_t len, rs_verdict verdict,
                   int decode_rc, const char *text) {
  rs_buf b = {(uint8_t *)buf, len, len};
  rs_classification *c = rs_test_classify(&b, RS_READER_FRAMING_ENVELOPE);
  ck_assert_int_eq(rs_classification_verdict(c), verdict);
  ck_assert_msg(strstr(rs_reason_text(rs_classification_reason(c, 0)), text),
                "reason \"%s\" lacks \"%s\"",
                rs_reason_text(rs_classification_reason(c, 0)), text);
  rs_classification_free(c);
  rs_record *rec = (rs_record *)1;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(
      rs_decode(&rec, rs_test_registry(), RS_SHOP_ORDER, buf, len, NULL, &err),
      decode_rc);
  ck_assert_ptr_null(rec);
  ck_assert_int_eq(err.code, decode_rc);
  ck_assert_ptr_nonnull(strstr(err.message, text));
}

START_TEST(good_hand_made_envelope_decodes) {
  uint8_t buf[64];
  size_t n = make(buf, 1, hdr_ok, sizeof hdr_ok, payload_ok, sizeof payload_ok);
  rs_record *rec = NULL;
  ck_assert_int_eq(
      rs_decode(&rec, rs_test_registry(), RS_SHOP_ORDER, buf, n, NULL, NULL),
      0);
  ck_assert_uint_eq(rs_record_written_version(rec), 2);
  ck_assert_ptr_null(rs_record_provenance(rec));
  ck_assert_ptr_null(rs_record_fingerprint(rec, NULL));
  rs_record_free(rec);
}
END_TEST

START_TEST(unknown_major_version_is_unreadable) {
  uint8_t buf[64];
  size_t n = make(buf, 2, hdr_ok, sizeof hdr_ok, payload_ok, sizeof payload_ok);
  expect(buf, n, RS_VERDICT_UNREADABLE, RS_EENVELOPE, "major version 2");
}
END_TEST

START_TEST(header_past_end_is_corrupt) {
  uint8_t buf[64];
  size_t n = make(buf, 1, hdr_ok, sizeof hdr_ok, payload_ok, 0);
  buf[2] = 40; /* claims 40 header bytes, 14 present */
  expect(buf, n, RS_VERDICT_CORRUPT, RS_EENVELOPE, "past the end");
  expect(buf, 2, RS_VERDICT_CORRUPT, RS_EENVELOPE, "truncated");
}
END_TEST

START_TEST(unknown_critical_feature_is_unreadable) {
  uint8_t hdr[64];
  memcpy(hdr, hdr_ok, sizeof hdr_ok);
  size_t h = sizeof hdr_ok;
  const uint8_t crit[] = {0x2a, 4, 'z', 's', 't', 'd'}; /* critical = "zstd" */
  memcpy(hdr + h, crit, sizeof crit);
  h += sizeof crit;
  uint8_t buf[128];
  size_t n = make(buf, 1, hdr, h, payload_ok, sizeof payload_ok);
  expect(buf, n, RS_VERDICT_UNREADABLE, RS_EENVELOPE, "\"zstd\"");
}
END_TEST

START_TEST(unknown_header_fields_are_ignored) {
  /* Room to evolve: a field 15 an older reader does not know. */
  uint8_t hdr[64];
  memcpy(hdr, hdr_ok, sizeof hdr_ok);
  size_t h = sizeof hdr_ok;
  const uint8_t extra[] = {0x78, 0x01}; /* field 15, varint 1 */
  memcpy(hdr + h, extra, sizeof extra);
  h += sizeof extra;
  uint8_t buf[128];
  size_t n = make(buf, 1, hdr, h, payload_ok, sizeof payload_ok);
  rs_buf b = {buf, n, n};
  rs_classification *c = rs_test_classify(&b, RS_READER_FRAMING_ENVELOPE);
  /* v2 with only order_id: v1 needs customer_id, so unreadable, not corrupt. */
  ck_assert_int_eq(rs_classification_verdict(c), RS_VERDICT_UNREADABLE);
  ck_assert_ptr_nonnull(rs_test_reason(c, "customer_id(2)"));
  rs_classification_free(c);
}
END_TEST

START_TEST(wrong_record_type_and_bad_payload_are_corrupt) {
  uint8_t hdr[64];
  memcpy(hdr, hdr_ok, sizeof hdr_ok);
  hdr[2] = 'S'; /* "Shop.Order" */
  uint8_t buf[128];
  size_t n = make(buf, 1, hdr, sizeof hdr_ok, payload_ok, sizeof payload_ok);
  expect(buf, n, RS_VERDICT_CORRUPT, RS_EENVELOPE, "Shop.Order");
  const uint8_t bad_payload[] = {0x0a, 5, 'A'}; /* length past the end */
  n = make(buf, 1, hdr_ok, sizeof hdr_ok, bad_payload, sizeof bad_payload);
  expect(buf, n, RS_VERDICT_CORRUPT, RS_EDECODE, "past the end");
}
END_TEST

START_TEST(version_unknown_to_registry) {
  uint8_t hdr[64];
  memcpy(hdr, hdr_ok, sizeof hdr_ok);
  hdr[sizeof hdr_ok - 1] = 3; /* format_version 3 */
  const uint8_t payload[] = {0x0a, 1, 'A', 0x12, 1, 'C'};
  uint8_t buf[128];
  size_t n = make(buf, 1, hdr, sizeof hdr_ok, payload, sizeof payload);
  rs_record *rec = NULL;
  rs_error err = RS_ERROR_INIT;
  /* Read as the newest version the registry knows, as protobuf code reads
   * a newer message; written version 3 says it is not that version. */
  ck_assert_int_eq(
      rs_decode(&rec, rs_test_registry(), RS_SHOP_ORDER, buf, n, NULL, &err),
      0);
  ck_assert_uint_eq(rs_record_written_version(rec), 3);
  ck_assert_uint_eq(rs_record_version(rec), 2);
  /* What it could not read: here nothing (order_id and customer_id are
   * version 2's own fields). */
  const rs_conversion *conv = rs_record_conversion(rec);
  ck_assert_ptr_nonnull(conv);
  ck_assert_uint_eq(rs_conversion_from(conv), 3);
  ck_assert_uint_eq(rs_conversion_to(conv), 2);
  ck_assert_uint_eq(rs_conversion_kept_unknown(conv), 0);
  ck_assert_int_eq(rs_conversion_result_of(conv), RS_CONVERSION_LOSSLESS);
  rs_record_free(rec);
  /* A field version 2 lacks is kept and counted as not read. */
  const uint8_t extra[] = {0x0a, 1, 'A', 0x12, 1, 'C', 0xf8, 0x06, 0x01};
  n = make(buf, 1, hdr, sizeof hdr_ok, extra, sizeof extra);
  ck_assert_int_eq(
      rs_decode(&rec, rs_test_registry(), RS_SHOP_ORDER, buf, n, NULL, &err),
      0);
  ck_assert_uint_eq(rs_conversion_kept_unknown(rs_record_conversion(rec)), 1);
  rs_record_free(rec);
  n = make(buf, 1, hdr, sizeof hdr_ok, payload, sizeof payload);
  ck_assert_int_eq(rs_read_as(&rec, rs_test_registry(), RS_SHOP_ORDER, 2, buf,
                              n, NULL, &err),
                   0);
  ck_assert_uint_eq(rs_record_version(rec), 2);
  rs_record_free(rec);
  /* Classification judges the payload with that same reading: the writer
   * is unregistered, so the verdict is not decided. */
  rs_buf b = {buf, n, n};
  rs_classification *c = rs_test_classify(&b, RS_READER_FRAMING_ENVELOPE);
  ck_assert_int_eq(rs_classification_verdict(c), RS_VERDICT_OK);
  ck_assert_uint_eq(rs_classification_written_version(c), 3);
  ck_assert_int_eq(rs_classification_writer_basis(c), RS_WRITER_UNREGISTERED);
  ck_assert_int_eq(rs_classification_decided(c), 0);
  rs_classification_free(c);
}
END_TEST

START_TEST(fingerprint_mismatch_is_noted_not_failed) {
  rs_buf b = RS_BUF_INIT;
  rs_test_encode_v2(&b, rs_test_v2_clean());
  /* Find the fingerprint (field 4, 8 bytes) in the header and change it. */
  uint8_t *p =
      memmem(b.data, b.len,
             rs_registry_fingerprint(rs_test_registry(), "shop.Order", 2),
             RS_FINGERPRINT_LEN);
  ck_assert_ptr_nonnull(p);
  p[0] ^= 0xff;
  rs_classification *c = rs_test_classify(&b, RS_READER_FRAMING_ENVELOPE);
  ck_assert_int_eq(rs_classification_verdict(c), RS_VERDICT_OK);
  ck_assert_uint_eq(rs_classification_reason_count(c), 1);
  ck_assert_ptr_nonnull(
      strstr(rs_reason_text(rs_classification_reason(c, 0)), "fingerprint"));
  rs_classification_free(c);
  rs_buf_dispose(&b, NULL);
}
END_TEST

START_TEST(fingerprint_can_be_omitted) {
  rs_buf with = RS_BUF_INIT, without = RS_BUF_INIT;
  Shop__V2__Order *o = rs_test_v2_clean();
  rs_options opt = RS_OPTIONS_INIT;
  opt.flags = RS_OPT_OMIT_FINGERPRINT;
  ck_assert_int_eq(rs_encode(&with, rs_test_registry(), RS_SHOP_ORDER, 2,
                             &o->base, NULL, NULL, NULL),
                   0);
  ck_assert_int_eq(rs_encode(&without, rs_test_registry(), RS_SHOP_ORDER, 2,
                             &o->base, NULL, &opt, NULL),
                   0);
  ck_assert_uint_eq(with.len, without.len + 2 + RS_FINGERPRINT_LEN);
  rs_buf_dispose(&with, NULL);
  rs_buf_dispose(&without, NULL);
}
END_TEST

Suite *envelope_suite(void);
Suite *envelope_suite(void) {
  Suite *s = suite_create("envelope");
  TCase *tc = tcase_create("envelope");
  tcase_add_test(tc, layout_is_marker_major_length_header_payload);
  tcase_add_test(tc, no_protobuf_message_starts_with_wire_type_6_or_7);
  tcase_add_test(tc, empty_record_is_legacy);
  tcase_add_test(tc, good_hand_made_envelope_decodes);
  tcase_add_test(tc, unknown_major_version_is_unreadable);
  tcase_add_test(tc, header_past_end_is_corrupt);
  tcase_add_test(tc, unknown_critical_feature_is_unreadable);
  tcase_add_test(tc, unknown_header_fields_are_ignored);
  tcase_add_test(tc, wrong_record_type_and_bad_payload_are_corrupt);
  tcase_add_test(tc, version_unknown_to_registry);
  tcase_add_test(tc, fingerprint_mismatch_is_noted_not_failed);
  tcase_add_test(tc, fingerprint_can_be_omitted);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return rs_test_run(envelope_suite());
}
