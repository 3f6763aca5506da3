/*
 * Fuzz target: rs_decode(), rs_read_as() to versions 1 and 2, and
 * rs_transcode() to version 1 (what `rollsafe fix` writes) on bytes as they
 * come from production.
 *
 * Invariants, beyond "no crash, no leak, no undefined behaviour":
 *  - every failure is one of the documented codes, with err filled in, an
 *    offset inside the record and *out NULL;
 *  - a decoded record is self-consistent (version, framing, descriptor,
 *    provenance only on envelopes) and does not point into the input (the
 *    input is freed before the record is used);
 *  - re-encoding a decoded record is a fixpoint after one round;
 *  - rs_read_as() fails exactly as rs_decode() does, or with RS_ECONVERT
 *    (or RS_ELIMIT) when the record decodes; on success it holds the asked
 *    version and says whether it converted; up-conversion of a plain
 *    version-1 record (no unknown fields, a defined status) is lossless;
 *  - rs_transcode() to 1 succeeds exactly when rs_read_as() to 1 does, and
 *    then: the bytes are raw, the plain v1 generated code reads them,
 *    rs_classify() for reader 1 (raw framing) says ok or ignored_fields
 *    when a conversion happened, and transcoding them again changes
 *    nothing;
 *  - rs_transcode() through an arena gives the same code and bytes as with
 *    malloc, and with a tight allocation budget the same, or RS_ELIMIT.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz_common.h"

#include "codec/internal.h" /* rs__explains */

static bool decode_code_ok(int rc) {
  return rc == RS_ENOTFOUND || rc == RS_EENVELOPE || rc == RS_EDECODE ||
         rc == RS_ELIMIT || rc == RS_ECONFLUENT;
}

/* Confluent schema ids 1 and 2: versions 1 (path [0]) and 2 (path [1]). */
static const rs_schema_id fuzz_schema_ids[] = {{1, 1, 0, {0}}, {2, 2, 1, {1}}};

static rs_options decode_options(void) {
  rs_options o = fuzz_options();
  o.schema_ids = fuzz_schema_ids;
  o.n_schema_ids = 2;
  return o;
}

static const ProtobufCMessageDescriptor *desc_of(unsigned version) {
  return rs_registry_descriptor(fuzz_registry(), RS_SHOP_ORDER, version);
}

/* Touches every byte of the message: ASan sees it if it points anywhere freed.
 */
static size_t touch(const ProtobufCMessage *m) {
  size_t n = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = malloc(n ? n : 1);
  FUZZ_CHECK(buf != NULL, "out of memory");
  size_t w = protobuf_c_message_pack(m, buf);
  FUZZ_CHECK(w == n, "packed %zu bytes, sized %zu", w, n);
  free(buf);
  return n;
}

static void check_record(const rs_record *rec, const uint8_t *first,
                         size_t size, unsigned as) {
  unsigned wv = rs_record_written_version(rec);
  unsigned v = rs_record_version(rec);
  /* A version the registry lacks is read as the newest, version 2. */
  FUZZ_CHECK(wv >= 1, "written version %u", wv);
  FUZZ_CHECK(as == 0 ? v == (wv > 2 ? 2 : wv) : v == as,
             "version %u (written %u, as %u)", v, wv, as);
  FUZZ_CHECK(strcmp(rs_record_type(rec), RS_SHOP_ORDER) == 0, "type %s",
             rs_record_type(rec));
  const ProtobufCMessage *m = rs_record_message(rec);
  FUZZ_CHECK(m != NULL && m->descriptor == desc_of(v),
             "message is not version %u's", v);
  bool env = size > 0 && first[0] == RS_ENVELOPE_MARKER;
  bool conf = size > 0 && first[0] == RS_CONFLUENT_MAGIC;
  FUZZ_CHECK(rs_record_encoding(rec) == (env    ? RS_ENCODING_ENVELOPE
                                         : conf ? RS_ENCODING_CONFLUENT
                                                : RS_ENCODING_RAW),
             "encoding %s", rs_encoding_name(rs_record_encoding(rec)));
  FUZZ_CHECK(rs_record_schema_id(rec, NULL) == conf,
             "a schema id on a record not Confluent-framed, or none on one");
  if (conf) {
    FUZZ_CHECK(rs_record_payload_offset(rec) >= RS_CONFLUENT_PREFIX + 1 &&
                   rs_record_payload_offset(rec) <= size &&
                   rs_record_provenance(rec) == NULL &&
                   rs_record_fingerprint(rec, NULL) == NULL,
               "a Confluent record with envelope data, or payload offset %zu "
               "of %zu",
               rs_record_payload_offset(rec), size);
  } else if (!env) {
    FUZZ_CHECK(rs_record_payload_offset(rec) == 0 &&
                   rs_record_provenance(rec) == NULL &&
                   rs_record_fingerprint(rec, NULL) == NULL,
               "a raw record with envelope data");
  } else {
    FUZZ_CHECK(rs_record_payload_offset(rec) >= 3 &&
                   rs_record_payload_offset(rec) <= size,
               "payload offset %zu of %zu", rs_record_payload_offset(rec),
               size);
  }
  const rs_conversion *conv = rs_record_conversion(rec);
  /* What was read: the written version, or the newest for a version the
   * registry lacks, which the report then names as its source. */
  unsigned rd = wv > 2 ? 2 : wv;
  unsigned from = v == rd ? wv : rd;
  /* A record read at its own version reports only what protobuf-c's
   * message cannot hold: strings a NUL ends. */
  FUZZ_CHECK(v == wv || conv != NULL, "conversion absent, versions %u -> %u",
             wv, v);
  FUZZ_CHECK(v != wv || conv == NULL ||
                 (rs_conversion_result_of(conv) == RS_CONVERSION_LOSSY &&
                  rs_conversion_loss_count(conv) > 0),
             "a conversion of version %u to itself that loses nothing", v);
  if (conv != NULL) {
    FUZZ_CHECK(rs_conversion_from(conv) == from && rs_conversion_to(conv) == v,
               "conversion says %u -> %u", rs_conversion_from(conv),
               rs_conversion_to(conv));
    FUZZ_CHECK(rs_conversion_result_of(conv) != RS_CONVERSION_IMPOSSIBLE,
               "an impossible conversion succeeded");
    FUZZ_CHECK((rs_conversion_result_of(conv) == RS_CONVERSION_LOSSLESS) ==
                   (rs_conversion_loss_count(conv) == 0),
               "%s with %zu losses",
               rs_conversion_result_name(rs_conversion_result_of(conv)),
               rs_conversion_loss_count(conv));
  }
  touch(m);
}

/* rs_encode of the decoded message, decoded and encoded again: same bytes. */
static void check_reencode(const rs_record *rec) {
  const rs_registry *reg = fuzz_registry();
  rs_options o = fuzz_options();
  rs_error err = RS_ERROR_INIT;
  unsigned v = rs_record_version(rec);
  rs_buf once = RS_BUF_INIT, twice = RS_BUF_INIT;
  int rc = rs_encode(&once, reg, RS_SHOP_ORDER, v, rs_record_message(rec),
                     rs_record_provenance(rec), &o, &err);
  if (rc == RS_ELIMIT) return; /* grew past max_record_size */
  /* Documented refusal: an unknown field numbered 0 or >= 2^29 (protobuf-c
   * reads it but would write it back as a different, invalid tag). */
  if (rc == RS_EINVAL && strstr(err.message, "cannot write back") != NULL) {
    rs_buf_dispose(&once, o.allocator);
    return;
  }
  FUZZ_CHECK(rc == 0, "rs_encode of a decoded record: %s: %s",
             rs_error_name(rc), err.message);
  rs_record *again = NULL;
  /* Raw bytes carry no version: their writer is said, not inferred (an
   * enum value version 1 lacks makes version 2 the one that explains
   * them). */
  rs_options given = o;
  given.raw_writer = v;
  rc = rs_decode(&again, reg, RS_SHOP_ORDER, once.data, once.len, &given, &err);
  FUZZ_CHECK(rc == 0, "rs_decode of rs_encode's bytes: %s: %s",
             rs_error_name(rc), err.message);
  FUZZ_CHECK(rs_record_written_version(again) == v,
             "encoded as version %u, decoded as %u", v,
             rs_record_written_version(again));
  rc = rs_encode(&twice, reg, RS_SHOP_ORDER, v, rs_record_message(again),
                 rs_record_provenance(again), &o, &err);
  FUZZ_CHECK(rc == 0, "second rs_encode: %s: %s", rs_error_name(rc),
             err.message);
  FUZZ_CHECK(
      once.len == twice.len && memcmp(once.data, twice.data, once.len) == 0,
      "encode(decode(encode(x))) differs from encode(x) (%zu vs %zu "
      "bytes)",
      twice.len, once.len);
  rs_record_free(again);
  rs_buf_dispose(&once, NULL);
  rs_buf_dispose(&twice, NULL);
}

static void check_transcoded(const rs_buf *out, unsigned written) {
  const rs_registry *reg = fuzz_registry();
  rs_options o = fuzz_options();
  rs_error err = RS_ERROR_INIT;
  FUZZ_CHECK(!rs_envelope_detect(out->data, out->len),
             "version 1 written in an envelope");
  Shop__V1__Order *m = shop__v1__order__unpack(NULL, out->len, out->data);
  FUZZ_CHECK(m != NULL,
             "the v1 generated code cannot read rs_transcode's "
             "bytes (written version %u)",
             written);
  shop__v1__order__free_unpacked(m, NULL);

  rs_reader plain = {RS_READER_VERSION,
                     1,
                     RS_READER_FRAMING_RAW,
                     0u,
                     RS_RUNTIME_PROTOBUF_C,
                     0u,
                     0u};
  rs_classification *c = NULL;
  int rc = rs_classify(&c, reg, RS_SHOP_ORDER, &plain, out->data, out->len, &o,
                       &err);
  FUZZ_CHECK(rc == 0, "rs_classify: %s: %s", rs_error_name(rc), err.message);
  rs_verdict v = rs_classification_verdict(c);
  /*
   * A record written as version 1 is re-encoded as it is: a value the v1
   * reader misreads (an unknown enum number) was already in it. Converted
   * bytes must be clean.
   */
  if (written != 1)
    FUZZ_CHECK(v <= RS_VERDICT_IGNORED_FIELDS,
               "down-converted bytes are %s for the plain v1 reader: %s",
               rs_verdict_name(v),
               rs_classification_reason_count(c)
                   ? rs_reason_text(rs_classification_reason(c, 0))
                   : "no reason");
  else
    FUZZ_CHECK(v <= RS_VERDICT_MISREAD, "re-encoded v1 bytes are %s",
               rs_verdict_name(v));
  /* Fields only version 2 defines, kept as unknown fields, can make
   * version 2 the only one that explains the bytes: inferred as its.
   * Bytes that neither explains (an enum value or a field that the input
   * carried and neither version defines) but both decode and read
   * differently have an ambiguous writer. */
  bool unexplained =
      !rs__explains(desc_of(1), out->data, out->len, o.max_depth) &&
      !rs__explains(desc_of(2), out->data, out->len, o.max_depth);
  FUZZ_CHECK(rs_classification_written_version(c) == 1 ||
                 (rs_classification_written_version(c) == 2 &&
                  rs_classification_writer_basis(c) == RS_WRITER_INFERRED) ||
                 (unexplained &&
                  rs_classification_writer_basis(c) == RS_WRITER_AMBIGUOUS),
             "transcoded bytes classified as written by version %u (%s)",
             rs_classification_written_version(c),
             rs_writer_basis_name(rs_classification_writer_basis(c)));
  rs_classification_free(c);

  rs_buf again = RS_BUF_INIT;
  rs_conversion *report = NULL;
  /* The bytes are version 1's, as the first transcode wrote them. */
  rs_options v1 = o;
  v1.raw_writer = 1;
  rc = rs_transcode(&again, &report, reg, RS_SHOP_ORDER, 1, out->data, out->len,
                    NULL, &v1, &err);
  FUZZ_CHECK(rc == 0, "transcoding the v1 result again: %s: %s",
             rs_error_name(rc), err.message);
  FUZZ_CHECK(report == NULL, "v1 -> v1 reported a conversion");
  FUZZ_CHECK(
      again.len == out->len && memcmp(again.data, out->data, out->len) == 0,
      "transcoding twice differs from once (%zu vs %zu bytes)", again.len,
      out->len);
  rs_buf_dispose(&again, NULL);
}

/*
 * A version-1 record as v1 code writes it: no unknown fields, at the top or
 * in a line item or the address, and a status v1 defines. schema/README.md
 * promises that up-conversion of such a record is lossless. (Unknown fields
 * may be bytes version 2 cannot read, or numbers protobuf-c reads but cannot
 * write back, and protobuf-c keeps an undefined enum number: those may
 * convert lossily or not at all.)
 */
static bool is_plain_v1(const ProtobufCMessage *m) {
  const Shop__V1__Order *o = (const Shop__V1__Order *)m;
  if (o->ship_to != NULL && o->ship_to->base.n_unknown_fields != 0)
    return false;
  for (size_t i = 0; i < o->n_items; i++)
    if (o->items[i]->base.n_unknown_fields != 0) return false;
  return m->n_unknown_fields == 0 &&
         (!o->has_status ||
          protobuf_c_enum_descriptor_get_value(
              &shop__v1__order__status__descriptor, (int)o->status) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const rs_registry *reg = fuzz_registry();
  rs_options o = decode_options();
  uint8_t first = size > 0 ? data[0] : 0;

  /* rs_decode from a private copy, freed before the record is used. */
  uint8_t *copy = malloc(size ? size : 1);
  FUZZ_CHECK(copy != NULL, "out of memory");
  if (size) memcpy(copy, data, size);
  rs_error err = RS_ERROR_INIT;
  rs_record *rec = (rs_record *)1;
  int drc =
      rs_decode(&rec, reg, RS_SHOP_ORDER, size ? copy : NULL, size, &o, &err);
  free(copy);
  unsigned written = 0;
  bool plain_v1 = false;
  if (drc != 0) {
    FUZZ_CHECK(decode_code_ok(drc), "rs_decode returned %s: %s",
               rs_error_name(drc), err.message);
    FUZZ_CHECK(rec == NULL, "rs_decode: *out not NULL on error");
    fuzz_check_error("rs_decode", drc, &err, size);
  } else {
    check_record(rec, &first, size, 0);
    written = rs_record_written_version(rec);
    plain_v1 = written == 1 && is_plain_v1(rs_record_message(rec));
    check_reencode(rec);
    rs_record_free(rec);
  }

  /* rs_read_as to each version. A string a NUL ends is a loss at any
   * version (read at its own, the record reports it). */
  int arc[3] = {0, 0, 0};
  bool nul_cut = false;
  for (unsigned as = 1; as <= 2; as++) {
    rs_error aerr = RS_ERROR_INIT;
    rs_record *r = (rs_record *)1;
    arc[as] = rs_read_as(&r, reg, RS_SHOP_ORDER, as, data, size, &o, &aerr);
    if (drc != 0) {
      FUZZ_CHECK(arc[as] == drc,
                 "rs_decode failed with %s, rs_read_as(%u) "
                 "with %s",
                 rs_error_name(drc), as, rs_error_name(arc[as]));
    } else if (arc[as] != 0) {
      FUZZ_CHECK(written != as,
                 "rs_read_as(%u) of a version-%u record "
                 "failed: %s",
                 as, written, aerr.message);
      FUZZ_CHECK(arc[as] == RS_ECONVERT || arc[as] == RS_ELIMIT,
                 "rs_read_as(%u) of a decodable record returned %s: %s", as,
                 rs_error_name(arc[as]), aerr.message);
      FUZZ_CHECK(!(as == 2 && plain_v1 && arc[as] == RS_ECONVERT),
                 "up-conversion of a plain v1 record impossible: %s",
                 aerr.message);
    }
    if (arc[as] != 0) {
      FUZZ_CHECK(r == NULL, "rs_read_as: *out not NULL on error");
      fuzz_check_error("rs_read_as", arc[as], &aerr, size);
    } else {
      if (as == written && rs_record_conversion(r) != NULL) nul_cut = true;
      if (as == 2 && plain_v1 && !nul_cut)
        FUZZ_CHECK(rs_conversion_result_of(rs_record_conversion(r)) ==
                       RS_CONVERSION_LOSSLESS,
                   "up-conversion of a plain v1 record is %s",
                   rs_conversion_result_name(
                       rs_conversion_result_of(rs_record_conversion(r))));
      check_record(r, &first, size, as);
      FUZZ_CHECK(rs_record_written_version(r) == written,
                 "rs_read_as says written %u, rs_decode %u",
                 rs_record_written_version(r), written);
      rs_record_free(r);
    }
  }

  /* rs_transcode to 1: what the fixer writes. */
  rs_buf out = RS_BUF_INIT;
  rs_conversion *report = (rs_conversion *)1;
  rs_error terr = RS_ERROR_INIT;
  int trc = rs_transcode(&out, &report, reg, RS_SHOP_ORDER, 1, data, size, NULL,
                         &o, &terr);
  if (arc[1] != 0)
    FUZZ_CHECK(trc == arc[1],
               "rs_read_as(1) failed with %s, rs_transcode "
               "with %s",
               rs_error_name(arc[1]), rs_error_name(trc));
  else
    FUZZ_CHECK(trc == 0 || trc == RS_ELIMIT ||
                   (trc == RS_EINVAL &&
                    strstr(terr.message, "cannot write back") != NULL),
               "rs_read_as(1) succeeded, "
               "rs_transcode failed: %s: %s",
               rs_error_name(trc), terr.message);
  if (trc == RS_ECONVERT)
    FUZZ_CHECK(report != NULL &&
                   rs_conversion_result_of(report) == RS_CONVERSION_IMPOSSIBLE,
               "RS_ECONVERT without an impossible report");
  else if (trc != 0)
    FUZZ_CHECK(report == NULL, "report set on %s", rs_error_name(trc));
  if (trc != 0) {
    fuzz_check_error("rs_transcode", trc, &terr, size);
    FUZZ_CHECK(out.data == NULL && out.len == 0,
               "rs_transcode touched its output on error");
  } else {
    FUZZ_CHECK((report != NULL) == (written != 1 || nul_cut),
               "report %s for a version-%u record%s",
               report ? "present" : "absent", written,
               nul_cut ? " whose string a NUL ends" : "");
    check_transcoded(&out, written);
  }
  /* The same through an arena, and with a tight allocation budget. */
  rs_options ao = fuzz_arena_options();
  ao.schema_ids = o.schema_ids;
  ao.n_schema_ids = o.n_schema_ids;
  rs_buf aout = RS_BUF_INIT;
  int arc1 = rs_transcode(&aout, NULL, reg, RS_SHOP_ORDER, 1, data, size, NULL,
                          &ao, &terr);
  FUZZ_CHECK(arc1 == trc, "rs_transcode: %s with malloc, %s in an arena",
             rs_error_name(trc), rs_error_name(arc1));
  if (trc == 0)
    FUZZ_CHECK(aout.len == out.len && memcmp(aout.data, out.data, out.len) == 0,
               "rs_transcode gives other bytes in an arena");
  rs_options to = fuzz_tight_options();
  to.schema_ids = o.schema_ids;
  to.n_schema_ids = o.n_schema_ids;
  rs_buf tout = RS_BUF_INIT;
  int trc1 = rs_transcode(&tout, NULL, reg, RS_SHOP_ORDER, 1, data, size, NULL,
                          &to, &terr);
  FUZZ_CHECK(trc1 == trc || trc1 == RS_ELIMIT,
             "rs_transcode: %s with enough memory, %s with a %zu-byte budget",
             rs_error_name(trc), rs_error_name(trc1), FUZZ_TIGHT_ALLOC);
  if (trc1 == 0)
    FUZZ_CHECK(tout.len == out.len && memcmp(tout.data, out.data, out.len) == 0,
               "rs_transcode gives other bytes under a tight budget");
  rs_buf_dispose(&tout, NULL);

  if (report != (rs_conversion *)1) rs_conversion_free(report);
  rs_buf_dispose(&out, NULL);
  return 0;
}
