/*
 * Fuzz target: the comparison of the writer's view with the reader's
 * (src/codec/compare.c, through rs_classify) on schema pairs loaded at run
 * time (fuzz_pairs.h): proto2 and proto3, maps, packed fields, oneofs,
 * recursion, nested messages, open and closed enums, and type changes
 * (int64 and int32, sint, fixed64 and double, string and bytes, bytes and
 * message). The first input byte picks the pair, the rest is the record.
 *
 * A raw record is judged by both versions' readers, with each version
 * named as its writer (rs_reader.raw_writer). Invariants, beyond "no
 * crash, no leak, no undefined behaviour":
 *  - bad bytes are a verdict, never an error; the verdict is the worst
 *    reason's, reasons come worst first, offsets lie inside the record;
 *  - verdict-only (with and without its quick path), an arena and a tight
 *    allocation budget agree with the full classification (fuzz_judge;
 *    the tight budget only while the open bug bad-free is named in
 *    RS_FUZZ_STRICT);
 *  - protobuf-c with the reader's descriptor decides the band: at most
 *    `misread` exactly when it unpacks the record, except a proto3 string
 *    that is not UTF-8; an unknown enum value it keeps is at least
 *    `misread`, an unknown field at least `ignored_fields`, a required
 *    field it fills with its default at least `misread`
 *    (fuzz_check_reader);
 *  - when the reader's own version is the writer, the views are the same:
 *    a record protobuf-c unpacks with every enum value known, every
 *    wire type the field's own (a bool takes any), every required field
 *    set, proto3 strings UTF-8 and no string holding a NUL
 *    is at most `ignored_fields`, and `ok` when it has no unknown field;
 *    and when nothing is misread, the record compared with what
 *    protobuf-c unpacked (packed again) has nothing misread either;
 *  - a reader that unwraps envelopes reads a raw record as the plain
 *    reader does, when it is not newer than the writer;
 *  - an envelope is at least `unreadable` for a plain reader; a reader
 *    that unwraps it judges its payload as the same bytes stored raw with
 *    the envelope's version named as the writer (when that version
 *    decodes it).
 */
#include "fuzz_pairs.h"

/*
 * A record the reader's own version reads with nothing misread means what
 * protobuf-c unpacked: the comparison of the record (as written) with the
 * message protobuf-c made of it, packed again, finds nothing misread.
 */
static void check_repacked(const fuzz_input *in, fuzz_reader r,
                           const fuzz_wire *w, const fuzz_view *pv) {
  /* protobuf-c writes an unknown field numbered 0 or past 2^29 - 1 back as
   * bytes it cannot read (rs_encode refuses to): nothing to compare. */
  if (w->odd_tag) return;
  const ProtobufCMessageDescriptor *d = pv->m->descriptor;
  size_t n = protobuf_c_message_get_packed_size(pv->m);
  uint8_t *packed = malloc(n ? n : 1);
  FUZZ_CHECK(packed != NULL, "out of memory");
  FUZZ_CHECK(protobuf_c_message_pack(pv->m, packed) == n,
             "protobuf-c packed a size other than it computed");
  rs__notes notes;
  rs__notes_init(&notes, &rs__malloc_allocator, 4);
  rs__cmp cmp;
  memset(&cmp, 0, sizeof cmp);
  cmp.notes = &notes;
  cmp.a = &rs__malloc_allocator;
  cmp.reader_label = cmp.writer_label = "the reader";
  cmp.max_depth = rs__levels(RS_DEFAULT_MAX_DEPTH);
  rs__compare(&cmp, d, in->rec, in->len, 0, d, packed, n, 0);
  FUZZ_CHECK(cmp.rc == 0, "rs__compare: %s", rs_error_name(cmp.rc));
  const char *why = "";
  for (size_t i = 0; i < notes.n; i++)
    if (notes.items[i].kind >= RS_VERDICT_MISREAD) {
      why = notes.items[i].text;
      break;
    }
  FUZZ_CHECK(cmp.worst < RS_VERDICT_MISREAD,
             "%s, reader %u is the writer and reads it with nothing "
             "misread, but what protobuf-c unpacked is %s against what was "
             "written: %s",
             in->type, r.version, rs_verdict_name((rs_verdict)cmp.worst), why);
  rs__notes_dispose(&notes, &rs__malloc_allocator);
  free(packed);
}

static rs_verdict judge(const fuzz_input *in, fuzz_reader r, const fuzz_wire *w,
                        const fuzz_view *pv) {
  rs_classification *c = fuzz_judge(in, r);
  rs_verdict v = rs_classification_verdict(c);
  if (w != NULL) fuzz_check_reader(c, in, r, w, pv);
  /* A message merged from several occurrences in a way protobuf-c's
   * merge_messages does not follow (required fields, a oneof's message
   * member again, proto3 scalars without presence) reads otherwise than
   * the writer's runtime merged it, even for the writer's own version. A
   * bool of another wire type (the only one protobuf-c unpacks) is a value
   * protobuf-c reads but no writer of a bool wrote: the writer's runtime
   * keeps it unknown. */
  if (w != NULL && r.raw_writer == r.version && pv->m != NULL &&
      !fuzz_limited(c) && !w->odd_wire && !w->bad_enum && !w->bad_utf8 &&
      !w->missing_required && !w->nul_string && !w->merged_required &&
      !w->oneof_repeat && !w->merged_implicit) {
    FUZZ_CHECK(v <= RS_VERDICT_IGNORED_FIELDS,
               "%s, reader %u is the writer, protobuf-c reads every value "
               "of the record, but the verdict is %s (%s)",
               in->type, r.version, rs_verdict_name(v),
               rs_reason_text(rs_classification_reason(c, 0)));
    if (!w->unknown && !w->odd_tag)
      FUZZ_CHECK(v == RS_VERDICT_OK,
                 "%s, reader %u is the writer and every field is known, but "
                 "the verdict is %s (%s)",
                 in->type, r.version, rs_verdict_name(v),
                 rs_reason_text(rs_classification_reason(c, 0)));
  }
  if (w != NULL && r.raw_writer == r.version && pv->m != NULL &&
      !fuzz_limited(c) && v <= RS_VERDICT_IGNORED_FIELDS)
    check_repacked(in, r, w, pv);
  rs_classification_free(c);
  return v;
}

/*
 * An envelope of this type naming a registered version that decodes its
 * payload: each reader that unwraps envelopes judges the payload as it
 * judges the same bytes stored raw with that version named as their
 * writer.
 */
static void envelope_as_raw(const fuzz_input *in, const rs_verdict *aware) {
  rs__envelope env;
  rs__env_status status;
  rs_error err = RS_ERROR_INIT;
  if (rs__envelope_parse(&env, &status, in->rec, in->len, &rs__malloc_allocator,
                         &err) != 0)
    return;
  bool ours = strcmp(env.record_type, in->type) == 0 &&
              env.format_version >= 1 && env.format_version <= 2;
  fuzz_input payload = *in;
  payload.rec = in->rec + env.payload_offset;
  payload.len = in->len - env.payload_offset;
  unsigned named = env.format_version;
  rs__envelope_dispose(&env, &rs__malloc_allocator);
  if (!ours || rs_envelope_detect(payload.rec, payload.len)) return;
  /* A payload its version does not decode is corrupt in an envelope; raw,
   * another version may decode it. */
  const ProtobufCMessageDescriptor *d = in->t->versions[named - 1].desc;
  fuzz_wire w = fuzz_wire_of(d, payload.rec, payload.len);
  fuzz_view pv = fuzz_view_of(d, payload.rec, payload.len, &w);
  bool decodes = pv.m != NULL;
  fuzz_view_free(&pv);
  if (!decodes) return;
  for (unsigned r = 1; r <= 2; r++) {
    rs_verdict v =
        judge(&payload, (fuzz_reader){r, RS_READER_FRAMING_ENVELOPE, named},
              NULL, NULL);
    FUZZ_CHECK(v == aware[r],
               "%s, reader %u: an envelope of version %u is %s, its payload "
               "stored raw with version %u named as the writer is %s",
               in->type, r, named, rs_verdict_name(aware[r]), named,
               rs_verdict_name(v));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_input in = fuzz_input_of(data, size);
  if (in.len > FUZZ_MAX_RECORD) return 0;

  if (rs_envelope_detect(in.rec, in.len)) {
    rs_verdict plain =
        judge(&in, (fuzz_reader){1, RS_READER_FRAMING_RAW, 0}, NULL, NULL);
    FUZZ_CHECK(plain >= RS_VERDICT_UNREADABLE,
               "an envelope is %s for the plain reader",
               rs_verdict_name(plain));
    rs_verdict aware[3];
    for (unsigned r = 1; r <= 2; r++)
      aware[r] = judge(&in, (fuzz_reader){r, RS_READER_FRAMING_ENVELOPE, 0},
                       NULL, NULL);
    envelope_as_raw(&in, aware);
    return 0;
  }

  const rs_registry *reg = fuzz_pairs_registry();
  rs_verdict raw[3][3]; /* [reader][given writer] */
  for (unsigned r = 1; r <= 2; r++) {
    const ProtobufCMessageDescriptor *d =
        rs_registry_descriptor(reg, in.type, r);
    fuzz_wire w = fuzz_wire_of(d, in.rec, in.len);
    fuzz_view pv = fuzz_view_of(d, in.rec, in.len, &w);
    for (unsigned g = 1; g <= 2; g++)
      raw[r][g] =
          judge(&in, (fuzz_reader){r, RS_READER_FRAMING_RAW, g}, &w, &pv);
    fuzz_view_free(&pv);
  }

  /* Unwrapping envelopes changes nothing for a raw record the reader does
   * not up-convert. */
  for (unsigned g = 1; g <= 2; g++) {
    rs_verdict v =
        judge(&in, (fuzz_reader){1, RS_READER_FRAMING_ENVELOPE, g}, NULL, NULL);
    FUZZ_CHECK(v == raw[1][g],
               "%s, reader 1, writer %u: %s unwrapping envelopes, %s plain",
               in.type, g, rs_verdict_name(v), rs_verdict_name(raw[1][g]));
  }
  rs_verdict v =
      judge(&in, (fuzz_reader){2, RS_READER_FRAMING_ENVELOPE, 2}, NULL, NULL);
  FUZZ_CHECK(v == raw[2][2],
             "%s, reader 2, writer 2: %s unwrapping envelopes, %s plain",
             in.type, rs_verdict_name(v), rs_verdict_name(raw[2][2]));
  /* Up-converted from version 1: the conversion decides. */
  judge(&in, (fuzz_reader){2, RS_READER_FRAMING_ENVELOPE, 1}, NULL, NULL);
  return 0;
}
