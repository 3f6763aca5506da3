/*
 * Fuzz target: rs_classify() on bytes as they come from production, for
 * the plain version-1 reader (raw framing), an envelope-aware version-1
 * reader, a version-2 reader (its default framing, envelope), and a
 * version-1 reader through Confluent's deserializer. Confluent schema ids 1
 * and 2 map to versions 1 (path [0]) and 2 (path [1]), so the header parser
 * and both mapped and unmapped records are reached.
 *
 * Invariants, beyond "no crash, no leak, no undefined behaviour":
 *  - bad bytes are a verdict, never an error: rs_classify() returns 0;
 *  - the verdict is the worst reason's, reasons come worst first, each has
 *    a path, a text and a listed code, and offsets lie inside the record;
 *  - the classification says which reader, framing and encoding it judged;
 *  - the plain v1 reader's verdict agrees with protobuf-c itself: at most
 *    `misread` exactly when shop__v1__order__unpack() succeeds;
 *  - an envelope or a Confluent-framed record is at least `unreadable` for
 *    the plain reader, and a record without Confluent's magic byte for the
 *    Confluent reader;
 *  - for a raw record, the two v1 readers reach the same verdict;
 *  - an arena allocator gives the same classification as malloc, and a
 *    tight allocation budget the same verdict or an `unreadable` that
 *    names the budget;
 *  - RS_OPT_VERDICT_ONLY gives the verdict, written version, encoding and
 *    provenance of the full classification, and its quick path (the
 *    allocation-free wire walk of src/codec/quick.c) gives exactly what the
 *    same call without it gives, reasons included, with enough memory and
 *    with a tight budget.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz_common.h"

#include "codec/internal.h" /* RS__OPT_NO_QUICK */

static const rs_schema_id fuzz_schema_ids[] = {{1, 1, 0, {0}}, {2, 2, 1, {1}}};

/* The reader's runtime classify_with() asks for. */
static rs_runtime fuzz_runtime = RS_RUNTIME_PROTOBUF_C;

static rs_classification *classify_with(const rs_options *opts,
                                        const uint8_t *data, size_t size,
                                        unsigned version,
                                        rs_reader_framing framing,
                                        rs_reader_framing resolved) {
  rs_options o = *opts;
  o.schema_ids = fuzz_schema_ids;
  o.n_schema_ids = 2;
  rs_reader reader = {RS_READER_VERSION, version, framing, 0u,
                      fuzz_runtime,      0u,      0u};
  rs_error err = RS_ERROR_INIT;
  rs_classification *c = NULL;
  int rc = rs_classify(&c, fuzz_registry(), RS_SHOP_ORDER, &reader, data, size,
                       &o, &err);
  FUZZ_CHECK(rc == 0 && c != NULL,
             "rs_classify (reader %u, framing %d) returned %s: %s", version,
             (int)framing, rs_error_name(rc), err.message);

  rs_verdict v = rs_classification_verdict(c);
  FUZZ_CHECK((unsigned)v < RS_VERDICT_COUNT, "verdict %d", (int)v);
  FUZZ_CHECK(rs_classification_reader_version(c) == version,
             "reader version %u, asked for %u",
             rs_classification_reader_version(c), version);
  FUZZ_CHECK(rs_classification_reader_framing(c) == resolved,
             "framing %d, want %d", (int)rs_classification_reader_framing(c),
             (int)resolved);
  if (size <= FUZZ_MAX_RECORD) {
    rs_encoding want = rs_envelope_detect(data, size)    ? RS_ENCODING_ENVELOPE
                       : rs_confluent_detect(data, size) ? RS_ENCODING_CONFLUENT
                                                         : RS_ENCODING_RAW;
    FUZZ_CHECK(rs_classification_encoding(c) == want, "encoding %s, want %s",
               rs_encoding_name(rs_classification_encoding(c)),
               rs_encoding_name(want));
  }

  size_t n = rs_classification_reason_count(c);
  FUZZ_CHECK(n <= RS_MAX_REASONS, "%zu reasons kept", n);
  FUZZ_CHECK(n > 0 || v == RS_VERDICT_OK, "verdict %s without a reason",
             rs_verdict_name(v));
  rs_verdict worst = RS_VERDICT_OK, prev = RS_VERDICT_CORRUPT;
  for (size_t i = 0; i < n; i++) {
    const rs_reason *r = rs_classification_reason(c, i);
    FUZZ_CHECK(r != NULL, "reason %zu of %zu is NULL", i, n);
    rs_verdict rv = rs_reason_verdict(r);
    FUZZ_CHECK(rv <= prev, "reason %zu (%s) after a less severe one", i,
               rs_verdict_name(rv));
    prev = rv;
    if (rv > worst) worst = rv;
    FUZZ_CHECK(rs_reason_path(r) != NULL && rs_reason_text(r) != NULL &&
                   rs_reason_text(r)[0] != '\0',
               "reason %zu has no path or text", i);
    FUZZ_CHECK(strlen(rs_reason_text(r)) < 4096, "reason %zu text too long", i);
    /* Every reason has a stable code, one of the list (docs/reasons.md). */
    const char *code = rs_reason_code(r);
    bool listed = false;
    for (size_t k = 0; code != NULL && rs_reason_code_name(k) != NULL; k++)
      listed |= strcmp(rs_reason_code_name(k), code) == 0;
    FUZZ_CHECK(listed, "reason %zu has no listed code (%s): %s", i,
               code != NULL ? code : "none", rs_reason_text(r));
    FUZZ_CHECK(
        rs_reason_offset(r) == RS_OFFSET_NONE || rs_reason_offset(r) <= size,
        "reason %zu offset %zu past the end of %zu bytes: %s", i,
        rs_reason_offset(r), size, rs_reason_text(r));
  }
  FUZZ_CHECK(worst == v, "verdict %s, but the worst reason is %s",
             rs_verdict_name(v), rs_verdict_name(worst));
  const rs_provenance *p = rs_classification_provenance(c);
  if (p != NULL)
    FUZZ_CHECK(rs_classification_encoding(c) == RS_ENCODING_ENVELOPE,
               "provenance on a raw record");
  return c;
}

static bool same_str(const char *a, const char *b) {
  return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The same verdict, written version, encoding and provenance; with
 * `reasons`, the same reasons too. */
static void check_same(const rs_classification *a, const rs_classification *b,
                       bool reasons, const char *what, unsigned version,
                       rs_reader_framing framing) {
  FUZZ_CHECK(rs_classification_verdict(a) == rs_classification_verdict(b),
             "%s, reader %u framing %d: verdict %s and %s", what, version,
             (int)framing, rs_verdict_name(rs_classification_verdict(a)),
             rs_verdict_name(rs_classification_verdict(b)));
  FUZZ_CHECK(rs_classification_written_version(a) ==
                     rs_classification_written_version(b) &&
                 rs_classification_encoding(a) == rs_classification_encoding(b),
             "%s, reader %u framing %d: written version %u/%u, encoding %d/%d",
             what, version, (int)framing, rs_classification_written_version(a),
             rs_classification_written_version(b),
             (int)rs_classification_encoding(a),
             (int)rs_classification_encoding(b));
  const rs_provenance *pa = rs_classification_provenance(a);
  const rs_provenance *pb = rs_classification_provenance(b);
  FUZZ_CHECK((pa == NULL) == (pb == NULL) &&
                 (pa == NULL || (same_str(pa->flag_key, pb->flag_key) &&
                                 same_str(pa->variant, pb->variant) &&
                                 same_str(pa->writer_id, pb->writer_id) &&
                                 pa->write_time_us == pb->write_time_us)),
             "%s, reader %u framing %d: provenance differs", what, version,
             (int)framing);
  if (!reasons) return;
  size_t n = rs_classification_reason_count(a);
  FUZZ_CHECK(n == rs_classification_reason_count(b) &&
                 rs_classification_reasons_omitted(a) ==
                     rs_classification_reasons_omitted(b),
             "%s, reader %u framing %d: %zu and %zu reasons", what, version,
             (int)framing, n, rs_classification_reason_count(b));
  for (size_t i = 0; i < n; i++) {
    const rs_reason *ra = rs_classification_reason(a, i);
    const rs_reason *rb = rs_classification_reason(b, i);
    FUZZ_CHECK(rs_reason_verdict(ra) == rs_reason_verdict(rb) &&
                   rs_reason_offset(ra) == rs_reason_offset(rb) &&
                   strcmp(rs_reason_path(ra), rs_reason_path(rb)) == 0 &&
                   strcmp(rs_reason_text(ra), rs_reason_text(rb)) == 0,
               "%s, reader %u framing %d: reason %zu differs: \"%s\" and "
               "\"%s\"",
               what, version, (int)framing, i, rs_reason_text(ra),
               rs_reason_text(rb));
  }
}

/* Verdict-only with and without the quick path, against `full` (the
 * classification with the same limits and no flag). */
static void check_verdict_only(const rs_options *base,
                               const rs_classification *full,
                               const uint8_t *data, size_t size,
                               unsigned version, rs_reader_framing framing,
                               rs_reader_framing resolved) {
  rs_options quick = *base;
  quick.flags |= RS_OPT_VERDICT_ONLY;
  rs_options slow = quick;
  slow.flags |= RS__OPT_NO_QUICK;
  rs_classification *q =
      classify_with(&quick, data, size, version, framing, resolved);
  rs_classification *s =
      classify_with(&slow, data, size, version, framing, resolved);
  check_same(q, s, true, "verdict-only with and without the quick path",
             version, framing);
  check_same(q, full, false, "verdict-only and full", version, framing);
  rs_classification_free(q);
  rs_classification_free(s);
}

static rs_classification *classify(const uint8_t *data, size_t size,
                                   unsigned version, rs_reader_framing framing,
                                   rs_reader_framing resolved) {
  rs_options o = fuzz_options();
  /* Every other runtime's rules: the same checks of the classification,
   * and verdict-only answers that agree with the full path. */
  for (int rt = 1; rt < RS_RUNTIME_COUNT; rt++) {
    fuzz_runtime = (rs_runtime)rt;
    rs_classification *r =
        classify_with(&o, data, size, version, framing, resolved);
    FUZZ_CHECK(rs_classification_reader_runtime(r) == fuzz_runtime,
               "runtime %s, asked for %s",
               rs_runtime_name(rs_classification_reader_runtime(r)),
               rs_runtime_name(fuzz_runtime));
    check_verdict_only(&o, r, data, size, version, framing, resolved);
    rs_classification_free(r);
  }
  fuzz_runtime = RS_RUNTIME_PROTOBUF_C;
  rs_classification *c =
      classify_with(&o, data, size, version, framing, resolved);
  check_verdict_only(&o, c, data, size, version, framing, resolved);

  /* An arena gives the same verdict, reasons and all. */
  rs_options ao = fuzz_arena_options();
  rs_classification *a =
      classify_with(&ao, data, size, version, framing, resolved);
  FUZZ_CHECK(rs_classification_verdict(a) == rs_classification_verdict(c) &&
                 rs_classification_reason_count(a) ==
                     rs_classification_reason_count(c),
             "reader %u framing %d: %s with %zu reasons from malloc, %s with "
             "%zu from an arena",
             version, (int)framing,
             rs_verdict_name(rs_classification_verdict(c)),
             rs_classification_reason_count(c),
             rs_verdict_name(rs_classification_verdict(a)),
             rs_classification_reason_count(a));
  for (size_t i = 0; i < rs_classification_reason_count(c); i++)
    FUZZ_CHECK(strcmp(rs_reason_text(rs_classification_reason(a, i)),
                      rs_reason_text(rs_classification_reason(c, i))) == 0,
               "reason %zu differs between malloc and arena", i);
  rs_classification_free(a);

  /* A tight allocation budget gives the same verdict, or says why not. */
  rs_options to = fuzz_tight_options();
  rs_classification *t =
      classify_with(&to, data, size, version, framing, resolved);
  check_verdict_only(&to, t, data, size, version, framing, resolved);
  if (rs_classification_verdict(t) != rs_classification_verdict(c)) {
    bool budget = false;
    for (size_t i = 0; i < rs_classification_reason_count(t); i++)
      if (strstr(rs_reason_text(rs_classification_reason(t, i)),
                 "allocation budget") != NULL)
        budget = true;
    FUZZ_CHECK(budget && rs_classification_verdict(t) >= RS_VERDICT_UNREADABLE,
               "reader %u framing %d: %s with %zu bytes of budget, %s with "
               "enough, and no reason names the budget",
               version, (int)framing,
               rs_verdict_name(rs_classification_verdict(t)), FUZZ_TIGHT_ALLOC,
               rs_verdict_name(rs_classification_verdict(c)));
  }
  rs_classification_free(t);
  return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rs_classification *plain =
      classify(data, size, 1, RS_READER_FRAMING_RAW, RS_READER_FRAMING_RAW);
  rs_classification *aware = classify(data, size, 1, RS_READER_FRAMING_ENVELOPE,
                                      RS_READER_FRAMING_ENVELOPE);
  rs_classification *v2 = classify(data, size, 2, RS_READER_FRAMING_DEFAULT,
                                   RS_READER_FRAMING_ENVELOPE);
  rs_classification *conf = classify(data, size, 1, RS_READER_FRAMING_CONFLUENT,
                                     RS_READER_FRAMING_CONFLUENT);
  rs_verdict vp = rs_classification_verdict(plain);
  rs_verdict va = rs_classification_verdict(aware);

  if (size <= 65536) {
    /* The plain reader is protobuf-c with the v1 generated code. */
    Shop__V1__Order *m = shop__v1__order__unpack(NULL, size, data);
    FUZZ_CHECK((m != NULL) == (vp <= RS_VERDICT_MISREAD),
               "plain v1 reader: verdict %s (%s), but protobuf-c %s",
               rs_verdict_name(vp),
               rs_classification_reason_count(plain)
                   ? rs_reason_text(rs_classification_reason(plain, 0))
                   : "no reason",
               m != NULL ? "reads it" : "fails on it");
    shop__v1__order__free_unpacked(m, NULL);
  }
  if (rs_envelope_detect(data, size) || rs_confluent_detect(data, size))
    FUZZ_CHECK(vp >= RS_VERDICT_UNREADABLE,
               "an envelope or Confluent record is %s for the plain reader",
               rs_verdict_name(vp));
  if (!rs_confluent_detect(data, size) && size <= FUZZ_MAX_RECORD)
    FUZZ_CHECK(rs_classification_verdict(conf) >= RS_VERDICT_UNREADABLE,
               "a record without the magic byte is %s for a Confluent reader",
               rs_verdict_name(rs_classification_verdict(conf)));
  else if (size <= FUZZ_MAX_RECORD)
    FUZZ_CHECK(vp == va, "raw record: plain reader %s, envelope-aware %s",
               rs_verdict_name(vp), rs_verdict_name(va));

  rs_classification_free(plain);
  rs_classification_free(aware);
  rs_classification_free(v2);
  rs_classification_free(conf);
  return 0;
}
