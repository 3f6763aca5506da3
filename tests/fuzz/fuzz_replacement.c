/*
 * Fuzz target: rs_classify_replacement(), fix's pre-write check, on an
 * original record (the input) and its replacement: what rs_transcode()
 * writes of it for version 1, and when the input's first byte is odd,
 * those bytes with one byte changed (where and to what, from the input's
 * next two bytes), or the input itself when it cannot be rewritten.
 *
 * Invariants, beyond "no crash, no leak, no undefined behaviour":
 *  - bad bytes are a verdict, never an error: the check returns 0;
 *  - the verdict is the worst reason's, and offsets lie inside the new
 *    bytes or the original;
 *  - the check's quick path (a walk that proves the original's payload
 *    unpacks, instead of the unpack; the replacement's framing read
 *    without decoding its payload) gives exactly what the full path
 *    (RS__OPT_NO_QUICK) gives: verdict, written version, encoding and
 *    reasons, for the plain and the envelope-aware version-1 reader, with
 *    protobuf-c and every other runtime;
 *  - safety promise 6: the bytes rs_transcode writes without a declared
 *    loss, and unchanged, of an original its own writer's version reads
 *    clean (verdict ok), are read by the plain protobuf-c version-1
 *    reader as that writer meant them (at most ignored_fields).
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz_common.h"

#include "codec/internal.h" /* RS__OPT_NO_QUICK */

static rs_classification *check(const rs_options *o, rs_runtime runtime,
                                rs_reader_framing framing,
                                const uint8_t *old_buf, size_t old_len,
                                const uint8_t *new_buf, size_t new_len) {
  rs_reader reader = {RS_READER_VERSION, 1, framing, 0u, runtime, 0u, 0u};
  rs_error err = RS_ERROR_INIT;
  rs_classification *c = NULL;
  int rc = rs_classify_replacement(&c, fuzz_registry(), RS_SHOP_ORDER, &reader,
                                   old_buf, old_len, new_buf, new_len, o, &err);
  FUZZ_CHECK(rc == 0 && c != NULL,
             "rs_classify_replacement (runtime %s, framing %d) returned %s: %s",
             rs_runtime_name(runtime), (int)framing, rs_error_name(rc),
             err.message);
  rs_verdict v = rs_classification_verdict(c), worst = RS_VERDICT_OK;
  size_t n = rs_classification_reason_count(c);
  size_t most = old_len > new_len ? old_len : new_len;
  for (size_t i = 0; i < n; i++) {
    const rs_reason *r = rs_classification_reason(c, i);
    if (rs_reason_verdict(r) > worst) worst = rs_reason_verdict(r);
    FUZZ_CHECK(
        rs_reason_offset(r) == RS_OFFSET_NONE || rs_reason_offset(r) <= most,
        "reason %zu offset %zu past %zu bytes: %s", i, rs_reason_offset(r),
        most, rs_reason_text(r));
  }
  FUZZ_CHECK(worst == v, "verdict %s, but the worst reason is %s",
             rs_verdict_name(v), rs_verdict_name(worst));
  return c;
}

/* Whether the version that wrote the record (as a version-1 reader finds
 * it) reads it clean itself: nothing it cannot represent or keep. */
static bool clean_for_its_writer(const uint8_t *data, size_t size) {
  rs_options o = fuzz_options();
  rs_reader reader = {RS_READER_VERSION,
                      1,
                      RS_READER_FRAMING_ENVELOPE,
                      0u,
                      RS_RUNTIME_PROTOBUF_C,
                      0u,
                      0u};
  rs_error err = RS_ERROR_INIT;
  rs_classification *c = NULL;
  int rc = rs_classify(&c, fuzz_registry(), RS_SHOP_ORDER, &reader, data, size,
                       &o, &err);
  FUZZ_CHECK(rc == 0, "rs_classify returned %s: %s", rs_error_name(rc),
             err.message);
  unsigned w =
      rs_classification_decided(c) ? rs_classification_written_version(c) : 0;
  rs_classification_free(c);
  if (w == 0) return false;
  reader.format_version = w;
  reader.raw_writer = w;
  rc = rs_classify(&c, fuzz_registry(), RS_SHOP_ORDER, &reader, data, size, &o,
                   &err);
  FUZZ_CHECK(rc == 0, "rs_classify returned %s: %s", rs_error_name(rc),
             err.message);
  bool clean = rs_classification_verdict(c) == RS_VERDICT_OK;
  rs_classification_free(c);
  return clean;
}

/* The quick path and the full path of the check give the same answer. */
static void same_both_ways(rs_runtime runtime, rs_reader_framing framing,
                           const uint8_t *old_buf, size_t old_len,
                           const uint8_t *new_buf, size_t new_len) {
  rs_options quick = fuzz_options();
  rs_options full = quick;
  full.flags |= RS__OPT_NO_QUICK;
  rs_classification *q =
      check(&quick, runtime, framing, old_buf, old_len, new_buf, new_len);
  rs_classification *f =
      check(&full, runtime, framing, old_buf, old_len, new_buf, new_len);
  FUZZ_CHECK(rs_classification_verdict(q) == rs_classification_verdict(f) &&
                 rs_classification_written_version(q) ==
                     rs_classification_written_version(f) &&
                 rs_classification_encoding(q) == rs_classification_encoding(f),
             "runtime %s framing %d: quick %s (v%u), full %s (v%u)",
             rs_runtime_name(runtime), (int)framing,
             rs_verdict_name(rs_classification_verdict(q)),
             rs_classification_written_version(q),
             rs_verdict_name(rs_classification_verdict(f)),
             rs_classification_written_version(f));
  size_t n = rs_classification_reason_count(q);
  FUZZ_CHECK(n == rs_classification_reason_count(f),
             "runtime %s framing %d: %zu and %zu reasons",
             rs_runtime_name(runtime), (int)framing, n,
             rs_classification_reason_count(f));
  for (size_t i = 0; i < n; i++) {
    const rs_reason *a = rs_classification_reason(q, i);
    const rs_reason *b = rs_classification_reason(f, i);
    FUZZ_CHECK(rs_reason_verdict(a) == rs_reason_verdict(b) &&
                   rs_reason_offset(a) == rs_reason_offset(b) &&
                   strcmp(rs_reason_text(a), rs_reason_text(b)) == 0,
               "runtime %s framing %d: reason %zu: \"%s\" and \"%s\"",
               rs_runtime_name(runtime), (int)framing, i, rs_reason_text(a),
               rs_reason_text(b));
  }
  rs_classification_free(q);
  rs_classification_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > FUZZ_MAX_RECORD) return 0;
  rs_options o = fuzz_options();
  rs_buf out = RS_BUF_INIT;
  rs_conversion *conv = NULL;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_transcode(&out, &conv, fuzz_registry(), RS_SHOP_ORDER, 1, data,
                        size, NULL, &o, &err);
  bool lossless = rc == 0 && (conv == NULL || rs_conversion_result_of(conv) ==
                                                  RS_CONVERSION_LOSSLESS);
  const uint8_t *nb = rc == 0 ? out.data : data;
  size_t nlen = rc == 0 ? out.len : size;
  uint8_t *changed = NULL;
  if (size >= 3 && (data[0] & 1) && nlen > 0 && data[2] != 0) {
    changed = malloc(nlen);
    FUZZ_CHECK(changed != NULL, "out of memory");
    memcpy(changed, nb, nlen);
    changed[data[1] % nlen] ^= data[2];
    nb = changed;
    lossless = false;
  }

  if (lossless && clean_for_its_writer(data, size)) {
    rs_classification *c = check(&o, RS_RUNTIME_PROTOBUF_C,
                                 RS_READER_FRAMING_RAW, data, size, nb, nlen);
    FUZZ_CHECK(rs_classification_verdict(c) <= RS_VERDICT_IGNORED_FIELDS,
               "rs_transcode wrote bytes without a declared loss that the "
               "v1 reader finds %s: %s",
               rs_verdict_name(rs_classification_verdict(c)),
               rs_classification_reason_count(c)
                   ? rs_reason_text(rs_classification_reason(c, 0))
                   : "no reason");
    rs_classification_free(c);
  }
  for (int rt = 0; rt < RS_RUNTIME_COUNT; rt++) {
    same_both_ways((rs_runtime)rt, RS_READER_FRAMING_RAW, data, size, nb, nlen);
    same_both_ways((rs_runtime)rt, RS_READER_FRAMING_ENVELOPE, data, size, nb,
                   nlen);
  }
  free(changed);
  rs_conversion_free(conv);
  rs_buf_dispose(&out, NULL);
  return 0;
}
