/*
 * Classification: what a reader of one format version makes of a record.
 *
 * The payload is walked on the wire against the reader's descriptor (and the
 * writer's, for names and nested types), predicting what protobuf-c does:
 * a field number the reader lacks is kept as an unknown field (ignored), an
 * enum number it lacks is stored as a plain int (misread), a wire type it
 * does not expect or a missing required field fails the unpack
 * (unreadable). protobuf-c itself then unpacks the payload with the reader's
 * descriptor to confirm.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

struct rs_classification {
  const ProtobufCAllocator *a;
  rs_verdict verdict;
  rs_reader_framing framing;
  unsigned reader_version, written_version;
  rs_writer_basis basis;
  uint64_t candidates; /* bit v-1: version v explains a raw record */
  rs_encoding encoding;
  bool has_provenance;
  rs_provenance provenance;
  rs__notes reasons;
};

const char *rs_verdict_name(rs_verdict v) {
  static const char *const names[] = {"ok", "ignored_fields", "misread",
                                      "unreadable", "corrupt"};
  return (unsigned)v < RS_VERDICT_COUNT ? names[v] : "unknown";
}

void rs_classification_free(rs_classification *c) {
  if (c == NULL) return;
  rs__notes_dispose(&c->reasons, c->a);
  rs__free(c->a, (void *)c->provenance.flag_key);
  rs__free(c->a, (void *)c->provenance.variant);
  rs__free(c->a, (void *)c->provenance.writer_id);
  rs__free(c->a, c);
}

rs_verdict rs_classification_verdict(const rs_classification *c) {
  return c ? c->verdict : RS_VERDICT_CORRUPT;
}
unsigned rs_classification_reader_version(const rs_classification *c) {
  return c ? c->reader_version : 0;
}
rs_reader_framing rs_classification_reader_framing(const rs_classification *c) {
  return c ? c->framing : RS_READER_FRAMING_DEFAULT;
}
unsigned rs_classification_written_version(const rs_classification *c) {
  return c ? c->written_version : 0;
}
const char *rs_writer_basis_name(rs_writer_basis b) {
  static const char *const names[] = {"none",  "named",     "inferred",
                                      "given", "ambiguous", "unregistered"};
  return (unsigned)b <= RS_WRITER_UNREGISTERED ? names[b] : "unknown";
}
rs_writer_basis rs_classification_writer_basis(const rs_classification *c) {
  return c ? c->basis : RS_WRITER_NONE;
}
uint64_t rs_classification_writer_candidates(const rs_classification *c) {
  return c ? c->candidates : 0;
}
int rs_classification_decided(const rs_classification *c) {
  if (c == NULL) return 0;
  if (c->basis != RS_WRITER_AMBIGUOUS && c->basis != RS_WRITER_UNREGISTERED)
    return 1;
  return c->verdict >= RS_VERDICT_UNREADABLE;
}
rs_encoding rs_classification_encoding(const rs_classification *c) {
  return c ? c->encoding : (rs_encoding)0;
}
const struct rs_provenance *rs_classification_provenance(
    const rs_classification *c) {
  return c != NULL && c->has_provenance ? &c->provenance : NULL;
}
size_t rs_classification_reason_count(const rs_classification *c) {
  return c ? c->reasons.n : 0;
}
size_t rs_classification_reasons_omitted(const rs_classification *c) {
  return c ? c->reasons.omitted : 0;
}
const rs_reason *rs_classification_reason(const rs_classification *c,
                                          size_t i) {
  if (c == NULL || i >= c->reasons.n) return NULL;
  return (const rs_reason *)&c->reasons.items[i];
}

/* ---- the walker ------------------------------------------------------------
 */

typedef struct walker {
  rs__notes *notes;
  unsigned reader_version;
  char who[80]; /* "version 1", or the descriptor's name */
  unsigned max_depth;
  const rs__type *type; /* for moved fields; NULL when not applicable */
  unsigned writer_version;
  int rc;        /* sticky RS_ENOMEM */
  bool too_deep; /* a depth-limit reason was given */
} walker;

static void note(walker *w, rs_verdict v, const char *path, uint32_t field,
                 size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static void note(walker *w, rs_verdict v, const char *path, uint32_t field,
                 size_t offset, const char *fmt, ...) {
  if (w->rc != 0) return;
  va_list ap;
  va_start(ap, fmt);
  w->rc = rs__notes_vadd(w->notes, (int)v, path, field, offset, fmt, ap);
  va_end(ap);
}

static const rs__move *find_move(const walker *w, uint32_t writer_field) {
  if (w->type == NULL) return NULL;
  for (size_t i = 0; i < w->type->n_moves; i++) {
    const rs__move *m = &w->type->moves[i];
    if (m->writer_field == writer_field &&
        m->reader_version == w->reader_version &&
        m->writer_version <= w->writer_version)
      return m;
  }
  return NULL;
}

static void check_enum(walker *w, const ProtobufCFieldDescriptor *rf,
                       uint64_t raw, const char *path, size_t offset) {
  int32_t v = (int32_t)(uint32_t)raw;
  const ProtobufCEnumDescriptor *e = rf->descriptor;
  if (!rs__enum_known(e, v))
    note(w, RS_VERDICT_MISREAD, path, rf->id, offset,
         "value %d is not in %s of %s; protobuf-c keeps it as a plain int "
         "the reader's code does not expect",
         v, e->name, w->who);
}

static void check_varint(walker *w, const ProtobufCFieldDescriptor *rf,
                         const ProtobufCFieldDescriptor *wf, uint64_t raw,
                         const char *path, size_t offset) {
  if (rf->type == PROTOBUF_C_TYPE_ENUM) {
    check_enum(w, rf, raw, path, offset);
    return;
  }
  if (wf == NULL || wf->type == rf->type || !rs__is_varint_type(wf->type))
    return;
  rs__ival wrote = rs__varint_value(wf->type, raw);
  rs__ival reads = rs__varint_value(rf->type, raw);
  if (rs__ival_eq(wrote, reads)) return;
  char a[32], b[32];
  rs__ival_format(wrote, a, sizeof a);
  rs__ival_format(reads, b, sizeof b);
  note(w, RS_VERDICT_MISREAD, path, rf->id, offset,
       "written as %s %s, read by %s as %s %s", rs__type_name(wf->type), a,
       w->who, rs__type_name(rf->type), b);
}

#define RS__TRACK 64

static void walk(walker *w, const ProtobufCMessageDescriptor *R,
                 const ProtobufCMessageDescriptor *W, const uint8_t *buf,
                 size_t len, size_t base, unsigned depth, rs__path *path,
                 bool top) {
  if (depth > w->max_depth) {
    w->too_deep = true;
    note(w, RS_VERDICT_UNREADABLE, path->buf, 0, base,
         "messages nested deeper than the limit of %u", w->max_depth);
    return;
  }
  /* Which reader fields were seen, and element counts for paths. */
  uint8_t seen[RS__TRACK] = {0};
  size_t counts[RS__TRACK] = {0};
  uint32_t unknown_done[16];
  size_t n_unknown_done = 0;
  struct {
    uint32_t field;
    size_t offset;
    const char *name;
  } moved[8];
  size_t n_moved = 0;

  size_t pos = 0;
  while (pos < len && w->rc == 0) {
    rs__wfield f;
    const char *why;
    if (rs__read_field(buf, len, &pos, &f, &why) != 0) {
      note(w, RS_VERDICT_UNREADABLE, path->buf, 0, base + pos,
           "%s at byte %zu; protobuf-c fails the whole record", why,
           base + pos);
      return;
    }
    const ProtobufCFieldDescriptor *rf =
        protobuf_c_message_descriptor_get_field(R, f.number);
    const ProtobufCFieldDescriptor *wf =
        W != NULL ? protobuf_c_message_descriptor_get_field(W, f.number) : NULL;
    const char *name = rf != NULL ? rf->name : wf != NULL ? wf->name : "";
    size_t at = base + f.tag_offset;
    size_t idx = rf != NULL ? (size_t)(rf - R->fields) : 0;
    size_t mark;
    if (rf != NULL && rf->label == PROTOBUF_C_LABEL_REPEATED &&
        idx < RS__TRACK && !(f.wire_type == RS__WT_LEN && rs__is_packable(rf)))
      mark = rs__path_push_index(path, name, counts[idx]++);
    else
      mark = rs__path_push_field(path, name, f.number);

    if (rf == NULL) {
      const rs__move *m = top ? find_move(w, f.number) : NULL;
      if (m != NULL && n_moved < 8) {
        moved[n_moved].field = f.number;
        moved[n_moved].offset = at;
        moved[n_moved].name = name;
        n_moved++;
      } else {
        bool first = true;
        for (size_t i = 0; i < n_unknown_done; i++)
          if (unknown_done[i] == f.number) first = false;
        if (first) {
          note(w, RS_VERDICT_IGNORED_FIELDS, path->buf, f.number, at,
               "field %u is unknown to %s; kept as an unknown field and "
               "ignored",
               (unsigned)f.number, w->who);
          if (n_unknown_done < 16) unknown_done[n_unknown_done++] = f.number;
        }
      }
    } else if (!rs__wire_type_ok(rf, f.wire_type)) {
      note(w, RS_VERDICT_UNREADABLE, path->buf, f.number, at,
           "wire type %u (%s) where %s expects %s (wire type %u, %s); "
           "protobuf-c fails the whole record",
           f.wire_type, rs__wire_type_name(f.wire_type), w->who,
           rs__type_name(rf->type), rs__field_wire_type(rf),
           rs__wire_type_name(rs__field_wire_type(rf)));
    } else {
      if (idx < RS__TRACK) seen[idx] = 1;
      if (rf->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessageDescriptor *sub =
            wf != NULL && wf->type == PROTOBUF_C_TYPE_MESSAGE ? wf->descriptor
                                                              : NULL;
        walk(w, rf->descriptor, sub, buf + f.value_offset, f.value_len,
             base + f.value_offset, depth + 1, path, false);
      } else if (rs__is_varint_type(rf->type)) {
        if (f.wire_type == RS__WT_VARINT) {
          check_varint(w, rf, wf, f.value, path->buf, at);
        } else {
          size_t p = 0;
          uint64_t raw;
          while (p < f.value_len && rs__read_varint(buf + f.value_offset,
                                                    f.value_len, &p, &raw) == 0)
            check_varint(w, rf, wf, raw, path->buf, at);
          if (p != f.value_len)
            note(w, RS_VERDICT_UNREADABLE, path->buf, f.number, at,
                 "packed values are malformed; protobuf-c fails the whole "
                 "record");
        }
      } else if (f.wire_type == RS__WT_LEN && rs__field_wants_utf8(rf)) {
        size_t ok = rs__utf8_valid_prefix(buf + f.value_offset, f.value_len);
        if (ok != f.value_len)
          note(w, RS_VERDICT_UNREADABLE, path->buf, f.number, at,
               "invalid UTF-8 at byte %zu of a proto3 string; protobuf-c "
               "keeps it, but proto3 requires UTF-8 and other runtimes "
               "fail the whole record",
               base + f.value_offset + ok);
      } else if (f.wire_type == RS__WT_LEN && rs__is_packable(rf)) {
        size_t width = rs__field_wire_type(rf) == RS__WT_I64 ? 8 : 4;
        if (f.value_len % width != 0)
          note(w, RS_VERDICT_UNREADABLE, path->buf, f.number, at,
               "packed %s values are %zu bytes, not a multiple of %zu; "
               "protobuf-c fails the whole record",
               rs__type_name(rf->type), f.value_len, width);
      }
    }
    rs__path_pop(path, mark);
  }

  /* A moved value is misread unless the writer also set the reader's field. */
  for (size_t i = 0; i < n_moved && w->rc == 0; i++) {
    const rs__move *m = find_move(w, moved[i].field);
    const ProtobufCFieldDescriptor *rf =
        protobuf_c_message_descriptor_get_field(R, m->reader_field);
    bool dual = rf != NULL && (size_t)(rf - R->fields) < RS__TRACK &&
                seen[rf - R->fields];
    size_t mark = rs__path_push_field(path, moved[i].name, moved[i].field);
    if (dual)
      note(w, RS_VERDICT_IGNORED_FIELDS, path->buf, moved[i].field,
           moved[i].offset,
           "field %u is unknown to %s; the writer also set %s(%u)",
           (unsigned)moved[i].field, w->who, rf != NULL ? rf->name : "?",
           (unsigned)m->reader_field);
    else
      note(w, RS_VERDICT_MISREAD, path->buf, moved[i].field, moved[i].offset,
           "the value %s reads from %s(%u) moved here; that reader sees %s "
           "unset",
           w->who, rf != NULL ? rf->name : "?", (unsigned)m->reader_field,
           rf != NULL ? rf->name : "it");
    rs__path_pop(path, mark);
  }

  for (unsigned i = 0; i < R->n_fields && i < RS__TRACK && w->rc == 0; i++) {
    const ProtobufCFieldDescriptor *rf = &R->fields[i];
    if (rf->label != PROTOBUF_C_LABEL_REQUIRED || seen[i]) continue;
    size_t mark = rs__path_push_field(path, rf->name, rf->id);
    note(w, RS_VERDICT_UNREADABLE, path->buf, rf->id, base,
         "required by %s and not set; protobuf-c fails the whole record",
         w->who);
    rs__path_pop(path, mark);
  }
}

void rs__explain_unpack_failure(const ProtobufCMessageDescriptor *d,
                                const uint8_t *buf, size_t len, size_t base,
                                unsigned max_depth, rs_error *err) {
  rs__notes notes;
  rs__notes_init(&notes, &rs__malloc_allocator, 8);
  walker w = {&notes, 0, "", max_depth, NULL, 0, 0, false};
  snprintf(w.who, sizeof w.who, "%s", d->name);
  rs__path path = {{0}, 0};
  walk(&w, d, d, buf, len, base, 1, &path, true);
  const rs__note *worst = NULL;
  for (size_t i = 0; i < notes.n; i++)
    if (notes.items[i].kind >= RS_VERDICT_UNREADABLE &&
        (worst == NULL || notes.items[i].offset < worst->offset))
      worst = &notes.items[i];
  if (worst != NULL)
    rs__fail(err, RS_EDECODE, worst->offset, "%s%s%s (byte %zu)", worst->path,
             worst->path[0] ? ": " : "", worst->text, worst->offset);
  else
    rs__fail(err, RS_EDECODE, base, "protobuf-c cannot unpack it as %s",
             d->name);
  rs__notes_dispose(&notes, &rs__malloc_allocator);
}

/* ---- classification
 * ---------------------------------------------------------- */

static int add(rs_classification *c, rs_verdict v, const char *path,
               uint32_t field, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
static int add(rs_classification *c, rs_verdict v, const char *path,
               uint32_t field, size_t offset, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = rs__notes_vadd(&c->reasons, (int)v, path, field, offset, fmt, ap);
  va_end(ap);
  return rc;
}

/* The writer's side: framing, envelope, and the version that wrote it. A
 * record no writer's version decodes ends here, with its verdict. */
static int writer_side(rs_classification *c, rs__written *w, const rs__type *t,
                       const uint8_t *buf, size_t len, const rs_options *o,
                       rs__budget *b, bool *done) {
  rs_error e = RS_ERROR_INIT;
  int rc = rs__read_written(w, t, buf, len, o, b, false, &e);
  *done = rc != 0;
  c->encoding = w->encoding;
  c->written_version = w->number;
  c->basis = w->version != NULL ? (w->encoding == RS_ENCODING_ENVELOPE
                                       ? RS_WRITER_NAMED
                                       : RS_WRITER_INFERRED)
             : rc == 0          ? RS_WRITER_UNREGISTERED
                                : RS_WRITER_NONE;
  c->has_provenance = w->has_provenance;
  c->provenance = w->provenance;
  w->provenance.flag_key = w->provenance.variant = w->provenance.writer_id =
      NULL;
  if (rc == 0 && w->version == NULL)
    /* A version newer than the registry: judge the payload as the reader. */
    return add(c, RS_VERDICT_OK, "", 0, w->header_offset,
               "format version %u is not in the registry; judged by the "
               "reader's descriptor alone",
               w->number);
  if (rc == 0 && w->fingerprint_len > 0 &&
      (w->fingerprint_len != RS_FINGERPRINT_LEN ||
       memcmp(w->fingerprint, w->version->fingerprint, RS_FINGERPRINT_LEN) !=
           0))
    return add(c, RS_VERDICT_OK, "", 0, w->header_offset,
               "schema fingerprint differs from version %u in the registry: "
               "the writer's schema is not the registered one",
               w->number);
  if (rc == 0 || b->over || rc == RS_ENOMEM) return rc;
  if (rc == RS_EENVELOPE)
    return add(c,
               w->env_status == RS__ENV_UNSUPPORTED ? RS_VERDICT_UNREADABLE
                                                    : RS_VERDICT_CORRUPT,
               "", 0, e.offset, "%s", e.message);
  if (w->encoding == RS_ENCODING_RAW)
    return add(c, rc == RS_ELIMIT ? RS_VERDICT_UNREADABLE : RS_VERDICT_CORRUPT,
               "", 0, e.offset, "no version of %s decodes it: %s", t->name,
               e.message);
  if (rc == RS_EDECODE)
    return add(c, RS_VERDICT_CORRUPT, "", 0, e.offset,
               "payload does not decode as version %u: %s", w->number,
               e.message);
  return add(c, RS_VERDICT_UNREADABLE, "", 0, e.offset, "%s", e.message);
}

/* A rollsafe reader of a newer version up-converts older records. */
static int up_converted(rs_classification *c, const rs__type *t,
                        const rs__version *rv, rs__written *w,
                        const rs_options *o, rs__budget *b) {
  ProtobufCMessage *conv_m = NULL;
  rs_conversion *conv = NULL;
  rs_error e = RS_ERROR_INIT;
  int rc =
      rs__convert(&conv_m, &conv, t, w->number, rv->number, w->msg, o, b, &e);
  if (conv_m != NULL)
    protobuf_c_message_free_unpacked(conv_m, RS__PA(&b->allocator));
  if (rc != 0 && rc != RS_ECONVERT) return rc;
  rs_verdict v = conv->result == RS_CONVERSION_LOSSLESS ? RS_VERDICT_OK
                 : conv->result == RS_CONVERSION_LOSSY  ? RS_VERDICT_MISREAD
                                                        : RS_VERDICT_UNREADABLE;
  rc = 0;
  for (size_t i = 0; i < conv->losses.n && rc == 0; i++) {
    const rs__note *n = &conv->losses.items[i];
    rc = add(c, v, n->path, n->field, RS_OFFSET_NONE,
             "up-converting version %u to %u: %s", w->number, rv->number,
             n->text);
  }
  rs_conversion_free(conv);
  return rc;
}

/*
 * Whether a message the reader's own descriptor unpacked holds anything the
 * walk would report: an unknown field (ignored_fields) or an enum value the
 * descriptor lacks (misread). Once protobuf-c unpacked the bytes with the
 * reader's descriptor, nothing else can be wrong: a wire-type mismatch, a
 * malformed packed run or a missing required field fail that unpack, and no
 * field moved between a version and itself. Most records of a scan are
 * clean, and this look at the decoded message costs far less than walking
 * their bytes again; a record that is not clean is walked for its reasons.
 * The message holds what the reader sees: for a singular field written
 * twice, the last value (protobuf-c's rule). The walk judges every
 * occurrence, so for such odd records it may also report an earlier value
 * the reader never sees; it errs on the side of reporting.
 */
#define RS__STATIC_CLEAN_DEPTH 64

static bool message_is_clean(const ProtobufCMessage *m, unsigned depth) {
  if (m->n_unknown_fields != 0 || depth > RS__STATIC_CLEAN_DEPTH) return false;
  const ProtobufCMessageDescriptor *d = m->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    bool utf8 = rs__field_wants_utf8(f);
    if (f->type != PROTOBUF_C_TYPE_ENUM && f->type != PROTOBUF_C_TYPE_MESSAGE &&
        !utf8)
      continue;
    const char *member = (const char *)m + f->offset;
    size_t n = 1;
    const char *values = member;
    /* A oneof's members share one union: only the set case may be read. */
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
      continue;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      n = *(const size_t *)((const char *)m + f->quantifier_offset);
      values = *(char *const *)member;
    } else if (f->type == PROTOBUF_C_TYPE_ENUM &&
               !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
      /* An unset optional enum holds its default, which is known. */
      if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0 &&
          !*(const protobuf_c_boolean *)((const char *)m +
                                         f->quantifier_offset)) {
        continue;
      }
    }
    for (size_t k = 0; k < n; k++) {
      if (utf8) {
        /* The string's length is gone once unpacked (a NUL may be part of
         * it): a string that was on the wire is judged by the walk, which
         * sees its bytes. Unset ones hold NULL or the shared default. */
        const char *str = ((const char *const *)values)[k];
        if (str != NULL && str != (const char *)f->default_value) return false;
      } else if (f->type == PROTOBUF_C_TYPE_ENUM) {
        int v = ((const int *)values)[k];
        if (!rs__enum_known(f->descriptor, v)) return false;
      } else {
        const ProtobufCMessage *sub =
            ((const ProtobufCMessage *const *)values)[k];
        if (sub != NULL && !message_is_clean(sub, depth + 1)) return false;
      }
    }
  }
  return true;
}

/* Why a plain (raw-framing) reader fails on an envelope; the text is built
 * without printf, since a scan adds it to every envelope it reads. */
static int envelope_note(rs_classification *c, const rs__version *rv) {
  static const char head[] =
      "record is in a rollsafe envelope (byte 0 is 0xF7, wire type 7); a "
      "plain version-";
  static const char tail[] = " reader fails on byte 0";
  char text[sizeof head + 10 + sizeof tail];
  char digits[10];
  size_t nd = 0;
  unsigned v = rv->number;
  do digits[nd++] = (char)('0' + v % 10);
  while ((v /= 10) != 0 && nd < sizeof digits);
  size_t n = sizeof head - 1;
  memcpy(text, head, n);
  while (nd > 0) text[n++] = digits[--nd];
  memcpy(text + n, tail, sizeof tail);
  return rs__notes_add_text(&c->reasons, RS_VERDICT_UNREADABLE, "", 0, 0, text);
}

/* A copy of a header string for the classification; empty is NULL. */
static int quick_text(const char **out, const rs__quick_text *t,
                      const ProtobufCAllocator *a) {
  *out = NULL;
  if (t->n == 0) return 0;
  char *p = rs__alloc(a, t->n + 1);
  if (p == NULL) return RS_ENOMEM;
  memcpy(p, t->p, t->n);
  *out = p;
  return 0;
}

/*
 * The verdict-only shortcut: decides the records whose verdict follows from
 * a proof that protobuf-c unpacks them (rs__quick_unpacks), without
 * unpacking. *done is false when it decides nothing; the full path then
 * runs from scratch. It decides exactly what classify() would:
 *   - a raw record that the newest raw version, the reader's own, unpacks
 *     clean: the writer is that version (rs__read_written tries it first),
 *     and message_is_clean finds nothing: ok;
 *   - an envelope whose header reads plainly, naming this type and a
 *     registered version whose payload unpacks (else corrupt), with no
 *     fingerprint or the registered one (else an extra note): for a plain
 *     reader, unreadable at byte 0; for an envelope-aware reader of the
 *     writer's own version, ok when the payload is clean.
 * Everything must also fit the allocation budget that the full path's
 * allocations would count against.
 */
static int quick_classify(rs_classification *c, const rs__type *t,
                          const rs__version *rv, rs_reader_framing framing,
                          const uint8_t *buf, size_t len, const rs_options *o,
                          bool *done) {
  *done = false;
  if (len > o->max_record_size) return 0;
  size_t alloc = 0;
  if (!rs_envelope_detect(buf, len)) {
    const rs__version *first = NULL;
    for (size_t i = t->n_versions; i-- > 0 && first == NULL;)
      if (t->versions[i].encoding == RS_ENCODING_RAW) first = &t->versions[i];
    if (first != rv || rv->static_depth == 0 ||
        !rs__quick_unpacks(rv->plans, buf, len, o->max_depth, true, &alloc) ||
        alloc > o->max_alloc)
      return 0;
    c->encoding = RS_ENCODING_RAW;
    c->written_version = rv->number;
    c->basis = RS_WRITER_INFERRED;
    *done = true;
    return 0;
  }
  rs__quick_envelope e;
  if (!rs__quick_envelope_parse(&e, buf, len)) return 0;
  /* The record type has no NUL (rs__quick_envelope_parse), so equal bytes
   * followed by the end of t->name are equal strings. */
  if (strncmp(t->name, e.record_type.p, e.record_type.n) != 0 ||
      t->name[e.record_type.n] != '\0')
    return 0;
  const rs__version *wv = rs__type_version(t, e.format_version);
  if (wv == NULL) return 0;
  if (e.fingerprint_len != 0 &&
      (e.fingerprint_len != RS_FINGERPRINT_LEN ||
       memcmp(e.fingerprint, wv->fingerprint, RS_FINGERPRINT_LEN) != 0))
    return 0;
  bool plain = framing == RS_READER_FRAMING_RAW;
  if (!plain && (wv != rv || rv->static_depth == 0)) return 0;
  const uint8_t *p = buf + e.payload_offset;
  size_t plen = len - e.payload_offset;
  if (!rs__quick_unpacks(wv->plans, p, plen, o->max_depth, !plain, &alloc) ||
      alloc > o->max_alloc || e.alloc > o->max_alloc - alloc)
    return 0;
  c->encoding = RS_ENCODING_ENVELOPE;
  c->written_version = wv->number;
  c->basis = RS_WRITER_NAMED;
  c->has_provenance = e.has_provenance;
  c->provenance.write_time_us = e.write_time_us;
  int rc = 0;
  if (e.has_provenance &&
      (quick_text(&c->provenance.flag_key, &e.flag_key, c->a) != 0 ||
       quick_text(&c->provenance.variant, &e.variant, c->a) != 0 ||
       quick_text(&c->provenance.writer_id, &e.writer_id, c->a) != 0))
    rc = RS_ENOMEM;
  if (rc == 0 && plain) rc = envelope_note(c, rv);
  *done = true;
  return rc;
}

static int classify(rs_classification *c, const rs__type *t,
                    const rs__version *rv, rs_reader_framing framing,
                    const uint8_t *buf, size_t len, const rs_options *o,
                    rs__budget *b) {
  rs__written w;
  bool done;
  int rc = writer_side(c, &w, t, buf, len, o, b, &done);
  if (rc != 0 || done) {
    rs__written_dispose(&w, b->backing);
    return rc;
  }
  const rs__version *wv = w.version;
  if (w.encoding == RS_ENCODING_ENVELOPE && framing == RS_READER_FRAMING_RAW) {
    rc = envelope_note(c, rv);
    /* Nothing after byte 0 can change that verdict: what the payload
     * would do to an envelope-aware reader only explains more. */
    if (o->flags & RS_OPT_VERDICT_ONLY) {
      rs__written_dispose(&w, b->backing);
      return rc;
    }
  }
  if (rc == 0 && wv != NULL && wv->number < rv->number &&
      framing == RS_READER_FRAMING_ENVELOPE) {
    rc = up_converted(c, t, rv, &w, o, b);
    rs__written_dispose(&w, b->backing);
    return rc;
  }
  /* The writer's version is the reader's and the framing fits: a clean
   * message needs no walk (see message_is_clean). */
  if (rc == 0 && wv != NULL && wv->desc == rv->desc && w.msg != NULL &&
      wv->static_depth != 0 && message_is_clean(w.msg, 1)) {
    rs__written_dispose(&w, b->backing);
    return 0;
  }
  const uint8_t *p = buf + w.payload_offset;
  size_t plen = len - w.payload_offset;
  walker wk = {
      &c->reasons, rv->number, "", o->max_depth, t, wv != NULL ? wv->number : 0,
      0,           false};
  snprintf(wk.who, sizeof wk.who, "version %u", rv->number);
  rs__path path = {{0}, 0};
  if (rc == 0)
    walk(&wk, rv->desc, wv != NULL ? wv->desc : NULL, p, plen, w.payload_offset,
         1, &path, true);
  rs__written_dispose(&w, b->backing);
  if (rc != 0 || wk.rc != 0) return rc != 0 ? rc : wk.rc;

  /*
   * protobuf-c has the last word on whether the reader can unpack it. When
   * the reader's descriptor is the writer's, the writer's decode above was
   * that word; when the walk hit the depth limit, protobuf-c must not
   * recurse at all (the walk already made it unreadable).
   */
  if ((wv != NULL && wv->desc == rv->desc) || wk.too_deep) return 0;
  ProtobufCMessage *m = NULL;
  rs_error e = RS_ERROR_INIT;
  rc = rs__unpack_walked(&m, rv->desc, p, plen, w.payload_offset, o, b, &e);
  if (m != NULL) protobuf_c_message_free_unpacked(m, RS__PA(&b->allocator));
  if (rc == RS_EDECODE) {
    if (rs__notes_worst(&c->reasons) < RS_VERDICT_UNREADABLE)
      return add(c, RS_VERDICT_UNREADABLE, "", 0, e.offset,
                 "protobuf-c cannot unpack it as version %u: %s", rv->number,
                 e.message);
    return 0;
  }
  return rc;
}

int rs_classify(rs_classification **out, const rs_registry *registry,
                const char *type, const rs_reader *reader, const uint8_t *buf,
                size_t len, const rs_options *options, rs_error *err) {
  if (out != NULL) *out = NULL;
  if (out == NULL || registry == NULL || (buf == NULL && len > 0))
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_classify: out, registry and buf are required");
  static const rs_reader default_reader = RS_READER_INIT;
  if (reader == NULL) reader = &default_reader;
  if (reader->version != RS_READER_VERSION && reader->version != 1)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_reader.version is %u; this library knows 1..%d",
                    reader->version, RS_READER_VERSION);
  unsigned raw_writer = reader->version >= 2 ? reader->raw_writer : 0;
  (void)raw_writer;
  rs_options o;
  int rc = rs__options(&o, options, err);
  if (rc != 0) return rc;
  const rs__type *t = rs__registry_type(registry, type);
  if (t == NULL)
    return rs__fail(err, RS_ENOTFOUND, RS_OFFSET_NONE,
                    "record type %s is not in the registry",
                    type ? type : "(null)");
  unsigned rnum = reader->format_version;
  if (rnum == 0) rnum = t->n_versions > 1 ? (unsigned)t->n_versions - 1 : 1;
  const rs__version *rv = rs__type_version(t, rnum);
  if (rv == NULL)
    return rs__fail(err, RS_ENOTFOUND, RS_OFFSET_NONE,
                    "%s has versions 1..%zu; there is no reader version %u",
                    t->name, t->n_versions, rnum);
  rs_reader_framing framing = reader->framing;
  if (framing == RS_READER_FRAMING_DEFAULT)
    framing = rv->encoding == RS_ENCODING_RAW ? RS_READER_FRAMING_RAW
                                              : RS_READER_FRAMING_ENVELOPE;
  if (framing != RS_READER_FRAMING_RAW && framing != RS_READER_FRAMING_ENVELOPE)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_reader.framing %d is not a known framing",
                    (int)framing);

  rs__budget b;
  rs__budget_init(&b, o.allocator, o.max_alloc);
  /* The result is the caller's, not decoding work: outside the budget. */
  rs_classification *c = rs__alloc(b.backing, sizeof *c);
  if (c == NULL)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "classify: out of memory");
  c->a = b.backing;
  c->reader_version = rv->number;
  c->framing = framing;
  c->provenance.version = RS_PROVENANCE_VERSION;
  rs__notes_init(&c->reasons, b.backing, RS_MAX_REASONS);
  bool done = false;
  if ((o.flags & RS_OPT_VERDICT_ONLY) && !(o.flags & RS__OPT_NO_QUICK))
    rc = quick_classify(c, t, rv, framing, buf, len, &o, &done);
  if (rc == 0 && !done) rc = classify(c, t, rv, framing, buf, len, &o, &b);
  if (rc != 0 && b.over) {
    /* Over the allocation budget: the record is too costly to read. */
    rc = add(c, RS_VERDICT_UNREADABLE, "", 0, RS_OFFSET_NONE,
             "decoding needs more than the allocation budget of %zu bytes",
             o.max_alloc);
  }
  if (rc != 0) {
    rs__fail(err, rc, RS_OFFSET_NONE, "classify: %s", rs_strerror(rc));
    rs_classification_free(c);
    return rc;
  }
  rs__notes_sort(&c->reasons);
  c->verdict = (rs_verdict)rs__notes_worst(&c->reasons);
  *out = c;
  return 0;
}
