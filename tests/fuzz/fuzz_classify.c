/*
 * Fuzz target: rs_classify() on bytes as they come from production, for
 * the plain version-1 reader (raw framing), an envelope-aware version-1
 * reader, and a version-2 reader (its default framing, envelope).
 *
 * Invariants, beyond "no crash, no leak, no undefined behaviour":
 *  - bad bytes are a verdict, never an error: rs_classify() returns 0;
 *  - the verdict is the worst reason's, reasons come worst first, each has
 *    a path and a text, and offsets lie inside the record;
 *  - the classification says which reader, framing and encoding it judged;
 *  - the plain v1 reader's verdict agrees with protobuf-c itself: at most
 *    `misread` exactly when shop__v1__order__unpack() succeeds;
 *  - an envelope is at least `unreadable` for the plain reader;
 *  - for a raw record, the two v1 readers reach the same verdict;
 *  - an arena allocator gives the same classification as malloc, and a
 *    tight allocation budget the same verdict or an `unreadable` that
 *    names the budget.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz_common.h"

static rs_classification *classify_with(const rs_options *opts,
                                        const uint8_t *data, size_t size,
                                        unsigned version,
                                        rs_reader_framing framing,
                                        rs_reader_framing resolved) {
  rs_options o = *opts;
  rs_reader reader = {RS_READER_VERSION, version, framing};
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
    rs_encoding want =
        rs_envelope_detect(data, size) ? RS_ENCODING_ENVELOPE : RS_ENCODING_RAW;
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

static rs_classification *classify(const uint8_t *data, size_t size,
                                   unsigned version, rs_reader_framing framing,
                                   rs_reader_framing resolved) {
  rs_options o = fuzz_options();
  rs_classification *c =
      classify_with(&o, data, size, version, framing, resolved);

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
  if (rs_envelope_detect(data, size))
    FUZZ_CHECK(vp >= RS_VERDICT_UNREADABLE,
               "an envelope is %s for the plain reader", rs_verdict_name(vp));
  else if (size <= FUZZ_MAX_RECORD)
    FUZZ_CHECK(vp == va, "raw record: plain reader %s, envelope-aware %s",
               rs_verdict_name(vp), rs_verdict_name(va));

  rs_classification_free(plain);
  rs_classification_free(aware);
  rs_classification_free(v2);
  return 0;
}
