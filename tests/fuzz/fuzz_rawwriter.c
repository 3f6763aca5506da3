/*
 * Fuzz target: the writer of raw bytes, inferred from the bytes
 * (src/codec/classify.c infer_raw_writer; rs__explains and
 * rs__versions_agree in src/codec/compare.c), on the schema pairs of
 * fuzz_pairs.h. The first input byte picks the pair, the rest is the
 * record; envelopes are left to fuzz_compare.
 *
 * Invariants, beyond "no crash, no leak, no undefined behaviour" and those
 * of every classification (fuzz_judge: a verdict never an error, the
 * worst reason's, offsets inside the record, verdict-only and arena
 * agreeing; basis ambiguous with at least two candidates, inferred with
 * the written version among at least one):
 *  - a version explains the bytes (rs__explains) exactly when a wire walk
 *    written here from its definition finds nothing that version's writer
 *    avoids (an unknown field, a wire type not the field's, a value out of
 *    its type's range, a value a closed enum lacks, invalid UTF-8 in a
 *    proto3 string, a missing required field, two members of one oneof);
 *    then protobuf-c unpacks them with that version's descriptor, with no
 *    unknown field. The quick walk's proof
 *    (rs__quick_explains) implies it;
 *  - the candidates are the versions that explain the bytes, or failing
 *    those, the versions protobuf-c unpacks them with; an inferred writer
 *    is the oldest of them;
 *  - versions that agree (rs__versions_agree, which lets inference skip
 *    the comparison) read alike what both explain: each reader's verdict
 *    is the same whichever of them wrote the bytes;
 *  - several candidates that read the bytes alike (each read by the other
 *    as its writer is at most `ignored_fields`) make the writer inferred;
 *    otherwise ambiguous, or inferred where each candidate named as the
 *    writer gives the same verdict (a number an open enum lacks, or a NUL
 *    in a string, is misread whoever wrote it);
 *  - an inferred writer's verdict is the verdict with that writer given;
 *    an ambiguous one is the worst over the candidates given.
 */
#include "fuzz_pairs.h"

static rs_verdict given_verdict(const fuzz_input *in, unsigned reader,
                                unsigned writer, bool *limited) {
  rs_options o = fuzz_options();
  rs_classification *c = fuzz_classify(
      &o, in, (fuzz_reader){reader, RS_READER_FRAMING_RAW, writer});
  rs_verdict v = rs_classification_verdict(c);
  *limited |= fuzz_limited(c);
  rs_classification_free(c);
  return v;
}

/* The worst verdict of one comparison, run as inference runs it. */
static int compare_worst(const fuzz_input *in, unsigned writer,
                         unsigned reader) {
  rs__notes notes;
  rs__notes_init(&notes, &rs__malloc_allocator, 4);
  rs__cmp cmp;
  memset(&cmp, 0, sizeof cmp);
  cmp.notes = &notes;
  cmp.a = &rs__malloc_allocator;
  cmp.reader_label = cmp.writer_label = "";
  cmp.max_depth = rs__levels(RS_DEFAULT_MAX_DEPTH);
  cmp.type = in->t;
  rs__compare(&cmp, in->t->versions[writer - 1].desc, in->rec, in->len, 0,
              in->t->versions[reader - 1].desc, in->rec, in->len, 0);
  rs__notes_dispose(&notes, &rs__malloc_allocator);
  FUZZ_CHECK(cmp.rc == 0, "rs__compare: %s", rs_error_name(cmp.rc));
  return cmp.worst;
}

/* Whether a writer's runtime reads the bytes as version ver where
 * protobuf-c alone cannot: groups of the fields ver writes as groups read
 * as those messages, groups of unknown field numbers skipped as unknown
 * fields (rs__degroup), then protobuf-c unpacks the rest. */
static bool decodes_degrouped(const rs__version *ver, const uint8_t *rec,
                              size_t len) {
  size_t at;
  if (!ver->groups && rs__holds_group(rec, len, &at) == 0) return false;
  uint8_t *flat = NULL;
  size_t flat_len = 0;
  const ProtobufCAllocator *a = rs__allocator_or_default(NULL);
  if (rs__degroup(&flat, &flat_len, ver->desc, rec, len,
                  rs__levels(RS_DEFAULT_MAX_DEPTH), false, a) != 0)
    return false;
  ProtobufCMessage *m =
      protobuf_c_message_unpack(ver->desc, NULL, flat_len, flat);
  rs__free(a, flat);
  if (m == NULL) return false;
  protobuf_c_message_free_unpacked(m, NULL);
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input in = fuzz_input_of(data, size);
  if (in.len > FUZZ_MAX_RECORD || rs_envelope_detect(in.rec, in.len) ||
      rs_confluent_detect(in.rec, in.len))
    return 0;

  fuzz_wire w[2];
  fuzz_view pv[2];
  bool ex[2], quick[2] = {false, false};
  uint64_t top[2] = {0, 0};
  uint64_t explained = 0, decoded = 0;
  bool deep = false;
  for (unsigned i = 0; i < 2; i++) {
    const rs__version *ver = &in.t->versions[i];
    w[i] = fuzz_wire_of(ver->desc, in.rec, in.len);
    pv[i] = fuzz_view_of(ver->desc, in.rec, in.len, &w[i]);
    ex[i] = rs__explains(ver->desc, in.rec, in.len,
                         rs__levels(RS_DEFAULT_MAX_DEPTH));
    deep |= w[i].too_deep;
    bool clean = fuzz_wire_clean(&w[i]);
    FUZZ_CHECK(ex[i] == clean,
               "%s version %u: rs__explains says %d, the wire walk %s "
               "(malformed %d, tag %d, unknown %d, wire type %d, range %d, "
               "closed enum %d, utf8 %d, oneof %d, required %d, deep %d)",
               in.type, i + 1, ex[i], clean ? "finds nothing" : "objects",
               w[i].malformed, w[i].odd_tag, w[i].unknown, w[i].odd_wire,
               w[i].out_of_range, w[i].bad_closed, w[i].bad_utf8,
               w[i].two_oneof, w[i].missing_required, w[i].too_deep);
    if (ex[i])
      FUZZ_CHECK(pv[i].m != NULL && !pv[i].unknown_field,
                 "%s version %u explains the bytes, but protobuf-c %s", in.type,
                 i + 1,
                 pv[i].m == NULL ? "fails on them" : "keeps an unknown field");
    if (ver->plans != NULL) {
      size_t alloc = 0;
      if (rs__quick_explains(ver->plans, in.rec, in.len,
                             rs__levels(RS_DEFAULT_MAX_DEPTH), false, &alloc,
                             &top[i]))
        FUZZ_CHECK(quick[i] = ex[i],
                   "%s version %u: the quick walk proves it explains the "
                   "bytes, rs__explains says not",
                   in.type, i + 1);
    }
    if (ex[i]) explained |= (uint64_t)1 << i;
    if (pv[i].m != NULL || decodes_degrouped(ver, in.rec, in.len))
      decoded |= (uint64_t)1 << i;
  }
  /* What the fields present rule out (the quick path's shortcut). */
  for (unsigned i = 0; i < 2; i++) {
    const rs__version *ver = &in.t->versions[i];
    unsigned k = 1 - i;
    if (quick[i] && ver->masks &&
        ((ver->never >> k & 1) || (top[i] & ver->excludes[k]) != 0))
      FUZZ_CHECK(!ex[k],
                 "%s: the fields present (%#llx) say version %u does not "
                 "explain what version %u explains, rs__explains says it does",
                 in.type, (unsigned long long)top[i], k + 1, i + 1);
  }

  /* Versions that agree read alike what both explain: whichever wrote the
   * bytes, each reader's verdict is the same (a number an open enum lacks,
   * which both explain, is misread by a reader whose enum lacks it,
   * whoever wrote it). */
  if (in.t->raw_agree && ex[0] && ex[1])
    for (unsigned r = 1; r <= 2; r++) {
      int w1 = compare_worst(&in, 1, r), w2 = compare_worst(&in, 2, r);
      FUZZ_CHECK(w1 == w2,
                 "%s: the versions agree and both explain the bytes, but "
                 "version %u reads them as %s when version 1 wrote them and "
                 "as %s when version 2 did",
                 in.type, r, rs_verdict_name((rs_verdict)w1),
                 rs_verdict_name((rs_verdict)w2));
    }

  for (unsigned r = 1; r <= 2; r++) {
    fuzz_reader rd = {r, RS_READER_FRAMING_RAW, 0};
    rs_classification *c = fuzz_judge(&in, rd);
    fuzz_check_reader(c, &in, rd, &w[r - 1], &pv[r - 1]);
    rs_writer_basis basis = rs_classification_writer_basis(c);
    uint64_t cands = rs_classification_writer_candidates(c);
    unsigned written = rs_classification_written_version(c);
    rs_verdict v = rs_classification_verdict(c);
    bool limited = fuzz_limited(c) || deep;
    if (basis != RS_WRITER_NONE && !limited) {
      uint64_t want = explained != 0 ? explained : decoded;
      FUZZ_CHECK(cands == want,
                 "%s reader %u: candidates %#llx, versions that explain the "
                 "bytes %#llx, that decode them %#llx",
                 in.type, r, (unsigned long long)cands,
                 (unsigned long long)explained, (unsigned long long)decoded);
    }
    if (basis == RS_WRITER_INFERRED && !limited)
      FUZZ_CHECK(written == (cands & 1 ? 1u : 2u),
                 "%s reader %u: inferred writer %u, candidates %#llx", in.type,
                 r, written, (unsigned long long)cands);

    /* The writer's meaning against the candidates', and the verdict
     * against the verdicts with each candidate named as the writer. */
    if ((basis == RS_WRITER_INFERRED || basis == RS_WRITER_AMBIGUOUS) &&
        !limited) {
      rs_verdict given[3] = {RS_VERDICT_OK, RS_VERDICT_OK, RS_VERDICT_OK};
      bool glimited = false;
      for (unsigned g = 1; g <= 2; g++)
        if (cands >> (g - 1) & 1)
          given[g] = given_verdict(&in, r, g, &glimited);
      if (!glimited) {
        if (basis == RS_WRITER_INFERRED)
          FUZZ_CHECK(v == given[written],
                     "%s reader %u: %s with writer %u inferred, %s with it "
                     "given",
                     in.type, r, rs_verdict_name(v), written,
                     rs_verdict_name(given[written]));
        else
          FUZZ_CHECK(v == (given[1] > given[2] ? given[1] : given[2]),
                     "%s reader %u: %s when ambiguous, %s and %s with each "
                     "writer given",
                     in.type, r, rs_verdict_name(v), rs_verdict_name(given[1]),
                     rs_verdict_name(given[2]));
      }
      if (fuzz_popcount(cands) == 2) {
        /* Each version reading the bytes as the other wrote them. */
        bool g1 = false, g2 = false;
        rs_verdict v21 = given_verdict(&in, 1, 2, &g1);
        rs_verdict v12 = given_verdict(&in, 2, 1, &g2);
        bool alike = v21 <= RS_VERDICT_IGNORED_FIELDS &&
                     v12 <= RS_VERDICT_IGNORED_FIELDS;
        /* Candidates that each read what the other wrote as a misread
         * alike (a number an open enum lacks, a NUL that ends protobuf-c's
         * string) may make the writer inferred: the verdict is the same
         * whichever wrote the bytes. */
        bool same = !glimited && given[1] == given[2];
        if (!g1 && !g2)
          FUZZ_CHECK(alike ? basis == RS_WRITER_INFERRED
                           : basis == RS_WRITER_AMBIGUOUS || same,
                     "%s reader %u: writer %s, but version 1 reading what "
                     "version 2 wrote is %s, and version 2 reading what "
                     "version 1 wrote is %s (%s and %s with each writer "
                     "given)",
                     in.type, r, rs_writer_basis_name(basis),
                     rs_verdict_name(v21), rs_verdict_name(v12),
                     rs_verdict_name(given[1]), rs_verdict_name(given[2]));
      }
    }
    rs_classification_free(c);
  }
  /* A reader that unwraps envelopes up-converts what an older version
   * wrote: the invariants of every classification only. */
  rs_classification_free(
      fuzz_judge(&in, (fuzz_reader){2, RS_READER_FRAMING_ENVELOPE, 0}));

  fuzz_view_free(&pv[0]);
  fuzz_view_free(&pv[1]);
  return 0;
}
