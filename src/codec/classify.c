/*
 * Classification: what a reader of one format version makes of a record.
 *
 * The payload is walked on the wire against the reader's descriptor (and the
 * writer's, for names and nested types), predicting what the reader's
 * runtime does (rs__rules): for protobuf-c, a field number the reader lacks
 * is kept as an unknown field (ignored), an enum number it lacks is stored
 * as a plain int (misread), a wire type it does not expect or a missing
 * required field fails the unpack (unreadable); protobuf-c itself then
 * unpacks the payload with the reader's descriptor to confirm. For the other
 * runtimes the walk is the whole judgement.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct rs_classification {
  const ProtobufCAllocator *a;
  rs_verdict verdict;
  rs_reader_framing framing;
  rs_runtime runtime;
  unsigned reader_version, written_version;
  rs_writer_basis basis;
  uint64_t candidates; /* bit v-1: version v explains a raw record */
  rs_encoding encoding;
  bool has_provenance;
  bool has_schema_id;
  uint32_t schema_id;
  rs_provenance provenance;
  rs__notes reasons;
  /* A reason in static storage, listed before the others: what a
   * verdict-only classification says without allocating. */
  const rs__note *fixed;
};

/* Why a plain reader fails on an envelope, tersely (envelope_note says it
 * with the reader's version). */
static const rs__note envelope_at_byte_0 = {
    .kind = RS_VERDICT_UNREADABLE,
    .path = (char *)"",
    .text = (char *)"record is in a rollsafe envelope (byte 0 is 0xF7, wire "
                    "type 7); a plain reader fails on byte 0",
    .code = RS__RC_FRAMING_MISMATCH};

const char *rs_verdict_name(rs_verdict v) {
  static const char *const names[] = {"ok", "ignored_fields", "misread",
                                      "unreadable", "corrupt"};
  return (unsigned)v < RS_VERDICT_COUNT ? names[v] : "unknown";
}

void rs_classification_free(rs_classification *c) {
  /* An arena's memory goes back when the arena is reset, all at once. */
  if (c == NULL || rs__frees_nothing(c->a)) return;
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
rs_runtime rs_classification_reader_runtime(const rs_classification *c) {
  return c ? c->runtime : RS_RUNTIME_PROTOBUF_C;
}
rs_reader_framing rs_classification_reader_framing(const rs_classification *c) {
  return c ? c->framing : RS_READER_FRAMING_DEFAULT;
}
unsigned rs_classification_written_version(const rs_classification *c) {
  return c ? c->written_version : 0;
}
const char *rs_writer_basis_name(rs_writer_basis b) {
  static const char *const names[] = {
      "none",         "named",    "inferred",  "given",     "ambiguous",
      "unregistered", "unmapped", "undecoded", "extension", "no_reader"};
  return (unsigned)b <= RS_WRITER_NO_READER ? names[b] : "unknown";
}
rs_writer_basis rs_classification_writer_basis(const rs_classification *c) {
  return c ? c->basis : RS_WRITER_NONE;
}
uint64_t rs_classification_writer_candidates(const rs_classification *c) {
  return c ? c->candidates : 0;
}
int rs_classification_decided(const rs_classification *c) {
  if (c == NULL) return 0;
  if (c->basis != RS_WRITER_AMBIGUOUS && c->basis != RS_WRITER_UNREGISTERED &&
      c->basis != RS_WRITER_UNMAPPED && c->basis != RS_WRITER_UNDECODED &&
      c->basis != RS_WRITER_EXTENSION && c->basis != RS_WRITER_NO_READER)
    return 1;
  return c->verdict >= RS_VERDICT_UNREADABLE;
}
int rs_classification_schema_id(const rs_classification *c, uint32_t *id) {
  if (c == NULL || !c->has_schema_id) return 0;
  if (id != NULL) *id = c->schema_id;
  return 1;
}
rs_encoding rs_classification_encoding(const rs_classification *c) {
  return c ? c->encoding : (rs_encoding)0;
}
const struct rs_provenance *rs_classification_provenance(
    const rs_classification *c) {
  return c != NULL && c->has_provenance ? &c->provenance : NULL;
}
size_t rs_classification_reason_count(const rs_classification *c) {
  return c ? c->reasons.n + (c->fixed != NULL) : 0;
}
size_t rs_classification_reasons_omitted(const rs_classification *c) {
  return c ? c->reasons.omitted : 0;
}
size_t rs_classification_omitted_field_count(const rs_classification *c) {
  if (c == NULL) return 0;
  return c->reasons.omitted_tops_over ? SIZE_MAX : c->reasons.n_omitted_tops;
}
uint32_t rs_classification_omitted_field(const rs_classification *c, size_t i) {
  return c != NULL && i < c->reasons.n_omitted_tops ? c->reasons.omitted_tops[i]
                                                    : 0;
}
const rs_reason *rs_classification_reason(const rs_classification *c,
                                          size_t i) {
  if (c == NULL) return NULL;
  if (c->fixed != NULL) {
    if (i == 0) return (const rs_reason *)c->fixed;
    i--;
  }
  if (i >= c->reasons.n) return NULL;
  return (const rs_reason *)&c->reasons.items[i];
}

/* ---- why protobuf-c fails ------------------------------------------------
 */

void rs__explain_unpack_failure(const ProtobufCMessageDescriptor *d,
                                const uint8_t *buf, size_t len, size_t base,
                                unsigned max_depth, const rs__budget *b,
                                rs_error *err) {
  /* Only an explanation: over what the budget has left, it is not given,
   * and the verdict does not change. */
  rs__budget sb;
  rs__budget_sub(&sb, b, rs__scratch_floor(len), len);
  rs__notes notes;
  rs__notes_init(&notes, &sb.allocator, 8);
  rs__cmp cmp;
  memset(&cmp, 0, sizeof cmp);
  cmp.notes = &notes;
  cmp.a = &sb.allocator;
  cmp.budget = &sb;
  cmp.reader_label = cmp.writer_label = d->name;
  cmp.max_depth = max_depth;
  cmp.end = base + len;
  rs__compare(&cmp, NULL, NULL, 0, 0, d, buf, len, base);
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
  rs__notes_dispose(&notes, &sb.allocator);
}

/* ---- classification
 * ---------------------------------------------------------- */

/* Every reason names its cause with a code (rs__reason_code); @p top is
 * the record's field the path starts in (rs__note.top). */
static int add_at(rs_classification *c, rs_verdict v, int code,
                  const char *path, uint32_t top, uint32_t field, size_t offset,
                  const char *fmt, ...) __attribute__((format(printf, 8, 9)));
static int add_at(rs_classification *c, rs_verdict v, int code,
                  const char *path, uint32_t top, uint32_t field, size_t offset,
                  const char *fmt, ...) {
  assert(code > RS__RC_NONE && code < RS__RC_COUNT);
  /* One a full list would drop is counted without being written. */
  if (rs__notes_skip(&c->reasons, (int)v, top)) return 0;
  va_list ap;
  va_start(ap, fmt);
  int rc = rs__notes_vadd(&c->reasons, (int)v, code, path, top, field, offset,
                          fmt, ap);
  va_end(ap);
  return rc;
}

/* add_at for a reason about the whole record (path ""). */
#define add(c, v, code, path, field, offset, ...) \
  add_at(c, v, code, path, 0, field, offset, __VA_ARGS__)

/* The writer's side: framing, envelope, and the version that wrote it. A
 * record no writer's version decodes ends here, with its verdict. */
/*
 * A record whose decode failed on a group that a version of its type
 * writes (a proto2 group, an editions field with message_encoding =
 * DELIMITED): protobuf-c, with which rollsafe decodes, reads no groups, so
 * what the writer meant is unknown (RS_WRITER_UNDECODED); a protobuf-c
 * reader fails on a group at the top level whatever it meant. Returns 1
 * when it said so (*rc set), 0 when the failure is not that.
 */
static int group_undecoded(rs_classification *c, const rs__type *t,
                           const rs__written *w, const uint8_t *buf, size_t len,
                           const rs__rules *rules, int *rc) {
  bool groups = false;
  for (size_t i = 0; i < t->n_versions && !groups; i++)
    groups = t->versions[i].groups;
  size_t off = w->payload_offset, at = 0;
  if (!groups || off > len) return 0;
  int where = rs__holds_group(buf + off, len - off, &at);
  if (where == 0) return 0;
  if (rules->pbc && where == 1) {
    c->basis = RS_WRITER_NONE;
    *rc = add(c, RS_VERDICT_UNREADABLE, RS__RC_WIRE_TYPE_MISMATCH, "", 0,
              off + at,
              "a group (wire type 3, start-group) at the top level: "
              "protobuf-c reads no groups and fails the whole record");
    return 1;
  }
  c->basis = RS_WRITER_UNDECODED;
  *rc = add(c, RS_VERDICT_OK, RS__RC_GROUPS_UNDECODED, "", 0, off + at,
            "fields written as groups (wire type 3: proto2 groups, "
            "editions' message_encoding = DELIMITED), which rollsafe "
            "cannot decode: what %s makes of the record cannot be told",
            rules->name);
  return 1;
}

static int writer_side(rs_classification *c, rs__written *w, const rs__type *t,
                       const uint8_t *buf, size_t len, const rs_options *o,
                       const rs__rules *rules, rs__budget *b, bool *done) {
  rs_error e = RS_ERROR_INIT;
  int rc = rs__read_written(w, t, buf, len, o, rules, b, false, &e);
  *done = rc != 0;
  c->encoding = w->encoding;
  c->written_version = w->number;
  c->has_schema_id = w->has_confluent;
  c->schema_id = w->confluent.schema_id;
  bool confluent = w->encoding == RS_ENCODING_CONFLUENT;
  c->basis = w->version != NULL
                 ? (w->encoding == RS_ENCODING_RAW ? RS_WRITER_INFERRED
                                                   : RS_WRITER_NAMED)
             : rc != 0   ? RS_WRITER_NONE
             : confluent ? RS_WRITER_UNMAPPED
                         : RS_WRITER_UNREGISTERED;
  c->has_provenance = w->has_provenance;
  c->provenance = w->provenance;
  w->provenance.flag_key = w->provenance.variant = w->provenance.writer_id =
      NULL;
  if (rc == 0 && w->version == NULL && confluent) {
    char path[128];
    rs__confluent_path_text(&w->confluent, path, sizeof path);
    return add(c, RS_VERDICT_OK, RS__RC_CONFLUENT_UNMAPPED, "", 0, 1,
               "Confluent schema id %lu, message indexes %s, maps to no "
               "format version (--schema-id ID=VERSION names it): read as "
               "version %u; what the writer meant cannot be compared",
               (unsigned long)w->confluent.schema_id, path, c->reader_version);
  }
  if (rc == 0 && w->version == NULL)
    /* A version newer than the registry: read as the reader's version, as
     * a library that knows only older versions reads it (rs_read_as). */
    return add(c, RS_VERDICT_OK, RS__RC_ENVELOPE_UNKNOWN_VERSION, "", 0,
               w->header_offset,
               "format version %u is not in the registry: read as version "
               "%u, as a library that knows only the older versions reads it; "
               "what the writer meant cannot be compared",
               w->number, c->reader_version);
  if (rc == 0 && w->fingerprint_len > 0 &&
      (w->fingerprint_len != RS_FINGERPRINT_LEN ||
       memcmp(w->fingerprint, w->version->fingerprint, RS_FINGERPRINT_LEN) !=
           0))
    return add(c, RS_VERDICT_OK, RS__RC_FINGERPRINT_MISMATCH, "", 0,
               w->header_offset,
               "schema fingerprint differs from version %u in the registry: "
               "the writer's schema is not the registered one",
               w->number);
  if (rc == 0 || b->over || rc == RS_ENOMEM) return rc;
  int grc = 0;
  if (rc == RS_EDECODE && group_undecoded(c, t, w, buf, len, rules, &grc))
    return grc;
  if (rc == RS_ECONFLUENT)
    return add(c, RS_VERDICT_CORRUPT, RS__RC_CONFLUENT_MALFORMED, "", 0,
               e.offset, "%s", e.message);
  if (rc == RS_EENVELOPE)
    return add(c,
               w->env_status == RS__ENV_UNSUPPORTED ? RS_VERDICT_UNREADABLE
                                                    : RS_VERDICT_CORRUPT,
               w->env_status == RS__ENV_UNSUPPORTED
                   ? RS__RC_ENVELOPE_UNSUPPORTED
                   : RS__RC_ENVELOPE_MALFORMED,
               "", 0, e.offset, "%s", e.message);
  if (w->encoding == RS_ENCODING_RAW)
    return add(c, rc == RS_ELIMIT ? RS_VERDICT_UNREADABLE : RS_VERDICT_CORRUPT,
               rc == RS_ELIMIT ? RS__RC_OVER_LIMITS : RS__RC_NO_VERSION_DECODES,
               "", 0, e.offset, "no version of %s decodes it: %s", t->name,
               e.message);
  if (rc == RS_EDECODE)
    return add(c, RS_VERDICT_CORRUPT, RS__RC_PAYLOAD_UNDECODABLE, "", 0,
               e.offset, "payload does not decode as version %u: %s", w->number,
               e.message);
  return add(c, RS_VERDICT_UNREADABLE,
             rc == RS_ELIMIT ? RS__RC_OVER_LIMITS : RS__RC_DECODE_FAILED, "", 0,
             e.offset, "%s", e.message);
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
    rc = add_at(c, v, RS__RC_UP_CONVERSION_LOSS, n->path, n->top, n->field,
                RS_OFFSET_NONE, "up-converting version %u to %u: %s", w->number,
                rv->number, n->text);
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
    /* A required field with a default reads the same set or not: the
     * comparison tells which. */
    if (f->label == PROTOBUF_C_LABEL_REQUIRED && f->default_value != NULL)
      return false;
    /* Every string is judged by the comparison, which sees its bytes (a
     * NUL in it ends what protobuf-c's C string shows). */
    bool utf8 = f->type == PROTOBUF_C_TYPE_STRING;
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
 * without printf. Verdict-only, the terse reason in static storage: a scan
 * adds it to every envelope it reads. */
static int envelope_note(rs_classification *c, const rs__version *rv,
                         const rs_options *o) {
  if (o->flags & RS_OPT_VERDICT_ONLY) {
    c->fixed = &envelope_at_byte_0;
    return 0;
  }
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
  return rs__notes_add_text(&c->reasons, RS_VERDICT_UNREADABLE,
                            RS__RC_FRAMING_MISMATCH, "", 0, 0, 0, text);
}

/* Whether a reader of this framing fails at byte 0 on a record framed so
 * (encoding 0: over the size limit, not told). */
static bool framing_clash(rs_reader_framing framing, rs_encoding encoding) {
  switch (encoding) {
    case RS_ENCODING_RAW:
      return framing == RS_READER_FRAMING_CONFLUENT;
    case RS_ENCODING_ENVELOPE:
      return framing != RS_READER_FRAMING_ENVELOPE;
    case RS_ENCODING_CONFLUENT:
      return framing != RS_READER_FRAMING_CONFLUENT;
    default:
      return false;
  }
}

/* Why a reader fails at byte 0 on a record of another framing (the
 * envelope case for a plain reader: envelope_note). */
static int framing_note(rs_classification *c, const rs__version *rv,
                        rs_reader_framing framing, rs_encoding encoding,
                        const uint8_t *buf, size_t len, const rs_options *o) {
  if (encoding == RS_ENCODING_ENVELOPE && framing == RS_READER_FRAMING_RAW)
    return envelope_note(c, rv, o);
  if (framing == RS_READER_FRAMING_CONFLUENT) {
    char what[64];
    if (len == 0)
      snprintf(what, sizeof what, "record is empty");
    else if (encoding == RS_ENCODING_ENVELOPE)
      snprintf(what, sizeof what,
               "record is in a rollsafe envelope (byte 0 is 0xF7)");
    else
      snprintf(what, sizeof what, "record is raw protobuf (byte 0 is 0x%02X)",
               buf[0]);
    return add(c, RS_VERDICT_UNREADABLE, RS__RC_FRAMING_MISMATCH, "", 0, 0,
               "%s; a version-%u reader using Confluent's deserializer needs "
               "the magic byte 0x00 and fails on byte 0",
               what, rv->number);
  }
  return add(c, RS_VERDICT_UNREADABLE, RS__RC_FRAMING_MISMATCH, "", 0, 0,
             "record is in Confluent's wire format (byte 0 is 0x00, schema id "
             "%lu); a %s version-%u reader %sfails on byte 0 (field number 0)",
             (unsigned long)c->schema_id,
             framing == RS_READER_FRAMING_RAW ? "plain" : "rollsafe envelope",
             rv->number,
             framing == RS_READER_FRAMING_RAW
                 ? ""
                 : "reads what does not start with 0xF7 as raw protobuf and ");
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
/* Whether version v and version i + 1 read these raw bytes alike, as far
 * as their schemas alone tell (else the comparison decides). */
static bool alike_here(const rs__version *v, size_t i, const uint8_t *buf,
                       size_t len) {
  uint64_t bit = (uint64_t)1 << i;
  if (v->agrees & bit) return true;
  return (v->settles & bit) &&
         !rs__has_field(buf, len, v->conflicts, v->n_conflicts);
}

/*
 * What a budget counts for a decode of len bytes that allocates at most
 * alloc bytes (a quick walk's bound): each allocation costs up to
 * RS__ALLOC_OVERHEAD more, and a decode makes at most two allocations a
 * byte (each field is two bytes at least and makes at most a message, its
 * bitmap and one value; every message one array per repeated field), plus
 * the top message's. Saturates at SIZE_MAX.
 */
static size_t counted(size_t alloc, size_t len) {
  if (len > (SIZE_MAX / 2 - 4) / RS__ALLOC_OVERHEAD) return SIZE_MAX;
  size_t extra = RS__ALLOC_OVERHEAD * (2 * len + 4);
  return alloc > SIZE_MAX - extra ? SIZE_MAX : alloc + extra;
}

/*
 * Whether the full path's work on a raw record fits the budget, given a
 * bound of its decode: the writer's decode, kept while the comparison
 * (128 bytes a byte of record and 64 KiB at most) and the reader's decode
 * run in what it leaves.
 */
static bool raw_fits(size_t alloc, size_t len, size_t max_alloc) {
  if (max_alloc < 65536 || len > (max_alloc - 65536) / 256) return false;
  alloc = counted(alloc, len);
  if (alloc > max_alloc) return false;
  size_t then = 128 * len + 65536;
  return (then > alloc ? then : alloc) <= max_alloc - alloc;
}

/* What the quick walk asks of a classifier's records, set once: the levels
 * the writer's side may nest (rollsafe's limit), the reader's (its
 * runtime's limit, when lower), and whether every string must be UTF-8
 * for the reader to read it as written. */
typedef struct quick_limits {
  unsigned levels, rlevels;
  bool all_utf8;
} quick_limits;

static quick_limits quick_limits_of(const rs_options *o,
                                    const rs__rules *rules) {
  quick_limits q;
  q.levels = rs__levels(o->max_depth);
  q.rlevels = rules->nested_limit != 0 && rules->nested_limit < o->max_depth
                  ? rs__levels(rules->nested_limit)
                  : q.levels;
  q.all_utf8 = rules->utf8_replaces;
  return q;
}

/*
 * An envelope-aware reader of an envelope that a newer version wv wrote:
 * whether the walks prove the full path's verdict ok with no reason. It
 * is when the reader's version explains the payload (rs__quick_explains:
 * protobuf-c unpacks it clean, every value in range, every enum value
 * defined), so does the writer's, and the two versions read alike bytes
 * that both explain and that hold none of their conflicting fields: the
 * comparison of the two views then finds no difference, as for raw bytes
 * whose writer is inferred (quick_classify). The budget must hold what
 * the full path takes: the header (header, counted), the writer's decode
 * kept while the comparison and the reader's decode (last_word) run.
 */
static bool newer_reads_alike(const rs__version *wv, const rs__version *rv,
                              const uint8_t *p, size_t plen, size_t header,
                              const rs_options *o, const quick_limits *ql) {
  if (wv->number > 64 || wv->groups || rv->groups || wv->static_depth == 0 ||
      rv->static_depth == 0)
    return false;
  uint64_t bit = (uint64_t)1 << (wv->number - 1);
  if (!(rv->agrees & bit) && !(rv->settles & bit)) return false;
  size_t ralloc = 0, walloc = 0;
  uint64_t top = 0, wtop = 0;
  if (!rs__quick_explains(rv->plans, p, plen, ql->rlevels, ql->all_utf8,
                          &ralloc, &top) ||
      !rs__quick_explains(wv->plans, p, plen, ql->levels, false, &walloc,
                          &wtop))
    return false;
  if (!(rv->agrees & bit)) {
    bool clash =
        rv->masks ? (top & rv->conflict_mask) != 0
                  : rv->n_conflicts > 0 &&
                        rs__has_field(p, plen, rv->conflicts, rv->n_conflicts);
    if (clash) return false;
  }
  size_t max = o->max_alloc;
  if (max < 65536 || plen > (max - 65536) / 256) return false;
  size_t wc = counted(walloc, plen), rc = counted(ralloc, plen);
  if (header > max || wc > max - header) return false;
  size_t left = max - header - wc;
  return rc <= left && 128 * plen + 65536 <= left;
}

static int quick_classify(rs_classification *c, const rs__type *t,
                          const rs__version *rv, rs_reader_framing framing,
                          unsigned given, const uint8_t *buf, size_t len,
                          const rs_options *o, const quick_limits *ql,
                          bool *done) {
  *done = false;
  unsigned levels = ql->levels, rlevels = ql->rlevels;
  bool all_utf8 = ql->all_utf8;
  /* A Confluent reader's verdicts all go through the full path. Records
   * whose byte 0 is 0x00 (Confluent framing) never pass the raw walk below:
   * field number 0 fails protobuf-c's unpack, so no check is needed here. */
  if (len > o->max_record_size || framing == RS_READER_FRAMING_CONFLUENT)
    return 0;
  size_t alloc = 0;
  if (!rs_envelope_detect(buf, len)) {
    /* Raw: the reader's version explains the bytes, and every version that
     * also explains them reads them alike: the writer (inferred as the
     * oldest of them) meant what the reader sees. Or the caller named the
     * reader's version as the writer. */
    if (given != 0 && given != rv->number) return 0;
    uint64_t top = 0;
    if (rv->static_depth == 0 ||
        !(given != 0 ? rs__quick_unpacks(rv->plans, buf, len, rlevels, true,
                                         all_utf8, &alloc)
                     : rs__quick_explains(rv->plans, buf, len, rlevels,
                                          all_utf8, &alloc, &top)) ||
        !raw_fits(alloc, len, o->max_alloc))
      return 0;
    const rs__version *oldest = rv;
    uint64_t cands = 0;
    if (given == 0) {
      if (rv->number > 64 || t->n_versions > 64) return 0;
      cands = (uint64_t)1 << (rv->number - 1);
      /* The fields present (top) are the reader's, all of them: it
       * explains the bytes. */
      bool clash = rv->masks ? (top & rv->conflict_mask) != 0
                             : rv->n_conflicts > 0 &&
                                   rs__has_field(buf, len, rv->conflicts,
                                                 rv->n_conflicts);
      for (size_t i = 0; i < t->n_versions; i++) {
        const rs__version *v = &t->versions[i];
        uint64_t bit = (uint64_t)1 << i;
        bool alike = (rv->agrees & bit) || ((rv->settles & bit) && !clash);
        /* A newer version that reads these bytes alike changes neither
         * the verdict nor the writer named (the oldest): whether it
         * explains them is not asked (the candidates say at least the
         * reader's version). */
        if (v == rv || (alike && v->number > rv->number)) continue;
        /* A version the fields present rule out does not explain them. */
        if (rv->masks && ((rv->never & bit) || (top & rv->excludes[i])))
          continue;
        if (!rs__explains(v->desc, buf, len, levels)) continue;
        if (!alike) return 0;
        cands |= bit;
        if (v->number < oldest->number) oldest = v;
      }
    }
    /* An envelope-aware reader up-converts an older writer's record: the
     * full path judges that conversion. */
    if (oldest != rv && framing == RS_READER_FRAMING_ENVELOPE) return 0;
    c->encoding = RS_ENCODING_RAW;
    c->written_version = oldest->number;
    c->basis = given != 0 ? RS_WRITER_GIVEN : RS_WRITER_INFERRED;
    c->candidates = cands;
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
  const uint8_t *p = buf + e.payload_offset;
  size_t plen = len - e.payload_offset;
  size_t header = counted(e.alloc, e.payload_offset);
  if (!plain && wv != rv) {
    if (wv->number < rv->number ||
        !newer_reads_alike(wv, rv, p, plen, header, o, ql))
      return 0;
  } else {
    if (!plain && rv->static_depth == 0) return 0;
    if (!rs__quick_unpacks(wv->plans, p, plen, plain ? levels : rlevels, !plain,
                           all_utf8 && !plain, &alloc))
      return 0;
    alloc = counted(alloc, plen);
    if (alloc > o->max_alloc || header > o->max_alloc - alloc) return 0;
  }
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
  if (plain) rc = envelope_note(c, rv, o);
  *done = true;
  return rc;
}

/*
 * The comparison's own working memory (occurrences and values, in
 * proportion to the record's fields): what the decode before it left of
 * the record's budget, freed when it ends (rs__budget_sub). Over it, the
 * record is over the limits.
 */
static void scratch_budget(rs__budget *sb, const rs__budget *b, size_t len) {
  rs__budget_sub(sb, b, rs__scratch_floor(len), len);
}

/* Compares the writer's view of the payload with the reader's. */
/* The versions' names in a comparison's reasons. */
typedef struct cmp_labels {
  char reader[32], writer[32];
} cmp_labels;

/* "version N" into out (32 bytes), without printf: a comparison of every
 * record that is not proven ok names both versions. */
static void version_label(char *out, unsigned v) {
  static const char head[] = "version ";
  char digits[10];
  size_t nd = 0;
  do digits[nd++] = (char)('0' + v % 10);
  while ((v /= 10) != 0 && nd < sizeof digits);
  memcpy(out, head, sizeof head - 1);
  size_t n = sizeof head - 1;
  while (nd > 0) out[n++] = digits[--nd];
  out[n] = '\0';
}

/* A comparison of what wv (NULL: none known) wrote with what rv reads,
 * into c's reasons, its working memory from the scratch budget sb. */
static void cmp_init(rs__cmp *cmp, cmp_labels *l, rs_classification *c,
                     rs__budget *sb, const rs__type *t, const rs__version *wv,
                     const rs__version *rv, const rs_options *o,
                     const rs__rules *rules) {
  version_label(l->reader, rv->number);
  version_label(l->writer, wv != NULL ? wv->number : 0);
  memset(cmp, 0, sizeof *cmp);
  cmp->notes = &c->reasons;
  cmp->a = &sb->allocator;
  cmp->budget = sb;
  cmp->reader_label = l->reader;
  cmp->writer_label = l->writer;
  cmp->max_depth = rs__levels(o->max_depth);
  cmp->rules = rules;
  cmp->type = t;
  cmp->reader_version = rv->number;
  cmp->writer_version = wv != NULL ? wv->number : 0;
}

/* Whether the comparison of what wv wrote with what rv reads, plen bytes,
 * fits the working memory it gets from b whatever it walks: for
 * protobuf-c's rules, types of bounded depth (rs__compare_bound). */
static bool compare_fits(const rs__version *wv, const rs__version *rv,
                         size_t plen, const rs__rules *rules,
                         const rs__budget *b) {
  unsigned levels = rv->static_depth;
  if (wv != NULL && (wv->static_depth == 0 || wv->static_depth > levels))
    levels = wv->static_depth;
  if (!rules->pbc || levels == 0) return false;
  rs__budget sb;
  scratch_budget(&sb, b, plen);
  return rs__compare_bound(plen, levels) <= sb.limit;
}

/* The comparison of what wv wrote with what rv reads, into c's reasons.
 * With stop_at (a verdict), it ends once it notes one that bad, when it
 * cannot go over its budget whatever it would have walked (compare_fits):
 * over it, the record would have been over the limits. */
static int judge(rs_classification *c, const rs__type *t, const rs__version *wv,
                 const rs__version *rv, const uint8_t *p, size_t plen,
                 size_t base, const char *prefix, const rs_options *o,
                 const rs__rules *rules, rs__budget *b, bool *too_deep,
                 int stop_at) {
  rs__budget sb;
  scratch_budget(&sb, b, plen);
  rs__cmp cmp;
  cmp_labels labels;
  cmp_init(&cmp, &labels, c, &sb, t, wv, rv, o, rules);
  cmp.prefix = prefix;
  cmp.end = base + plen;
  if (stop_at != 0 && compare_fits(wv, rv, plen, rules, b))
    cmp.stop_at = stop_at;
  rs__compare(&cmp, wv != NULL ? wv->desc : NULL, p, plen, base, rv->desc, p,
              plen, base);
  *too_deep |= cmp.too_deep;
  return rs__budget_end(&sb, b, cmp.rc);
}

/* Whether a walk proves that protobuf-c unpacks payload p as version v
 * within what budget b has left (then the unpack need not run). */
static bool walk_unpacks(const rs__version *v, const uint8_t *p, size_t plen,
                         const rs_options *o, const rs__budget *b) {
  size_t alloc = 0;
  size_t left = b->over ? 0 : b->limit - b->used;
  return !v->groups &&
         rs__quick_unpacks(v->plans, p, plen, rs__levels(o->max_depth), false,
                           false, &alloc) &&
         counted(alloc, plen) <= left;
}

/*
 * protobuf-c has the last word on whether the reader can unpack a payload:
 * unreadable when it cannot, if the comparison did not already say so. The
 * reader's decode is freed at once: it takes what the record's budget has
 * left.
 */
static int last_word(rs_classification *c, const rs__version *rv,
                     const uint8_t *p, size_t plen, size_t base,
                     const rs_options *o, rs__budget *b) {
  /* A walk that proves protobuf-c unpacks the payload within what the
   * budget has left says what the unpack would: nothing. */
  if (walk_unpacks(rv, p, plen, o, b)) return 0;
  ProtobufCMessage *m = NULL;
  rs_error e = RS_ERROR_INIT;
  rs__budget lb;
  rs__budget_sub(&lb, b, 0, plen);
  int rc = rs__unpack_walked(&m, rv->desc, p, plen, base, o, &lb, &e);
  if (m != NULL && !rs__frees_nothing(lb.backing))
    protobuf_c_message_free_unpacked(m, RS__PA(&lb.allocator));
  if (rc == RS_ELIMIT && lb.over) b->over = true;
  if (rc != RS_EDECODE) return rc;
  if (rs__notes_worst(&c->reasons) < RS_VERDICT_UNREADABLE)
    return add(c, RS_VERDICT_UNREADABLE, RS__RC_UNPACK_FAILED, "", 0, e.offset,
               "protobuf-c cannot unpack it as version %u: %s", rv->number,
               e.message);
  return 0;
}

/* The worst verdict c's reasons say so far. */
static int worst_so_far(const rs_classification *c) {
  int w = rs__notes_worst(&c->reasons);
  return c->fixed != NULL && c->fixed->kind > w ? c->fixed->kind : w;
}

/* Whether protobuf-c can unpack version v's messages without recursing
 * past the depth limit, whatever the bytes (rs__version.static_depth). */
static bool depth_bounded(const rs__version *v, const rs_options *o) {
  return v->static_depth != 0 && v->static_depth <= rs__levels(o->max_depth);
}

/*
 * The comparison of what wv wrote with what rv reads (judge), then, for a
 * protobuf-c reader, protobuf-c's last word, unless `proven` (the writer's
 * decode was the reader's unpack) or the comparison hit the depth limit.
 *
 * Verdict-only, work that cannot change the verdict is left out. The
 * comparison notes nothing worse than unreadable (corrupt comes only from
 * the writer's side), and neither does the last word: once the reasons say
 * unreadable, neither runs. And protobuf-c's unpack goes first when no
 * version the comparison walks nests past the depth limit (then the
 * comparison cannot stop at that limit, and protobuf-c cannot recurse past
 * it): when the unpack fails, the record is unreadable whatever the
 * comparison would find, so it does not run. Neither step changes what the
 * other finds: each works in a sub-budget of what the record's budget has
 * left, and over it, the record is unreadable either way (for a raw
 * record, whose writer is then no longer told, the comparison is left out
 * only when it cannot go over: compare_fits). When the unpack
 * succeeds, the comparison can find nothing unreadable (what fails its
 * reader's side fails protobuf-c's unpack, and it cannot reach the depth
 * limit), so once it notes a misread it ends, if it cannot go over its
 * budget whatever it would have walked (judge).
 */
static int judged(rs_classification *c, const rs__type *t,
                  const rs__version *wv, const rs__version *rv,
                  const uint8_t *p, size_t plen, size_t base,
                  const rs_options *o, const rs__rules *rules, rs__budget *b,
                  bool proven) {
  bool verdict_only = (o->flags & RS_OPT_VERDICT_ONLY) != 0;
  /* Over the budget, a raw record's writer is no longer told (finish): a
   * step that might go over is left out of one only if it cannot. */
  bool kept = c->encoding != RS_ENCODING_RAW || c->basis == RS_WRITER_GIVEN;
  if (verdict_only && kept && worst_so_far(c) >= RS_VERDICT_UNREADABLE)
    return 0;
  bool first = verdict_only && rules->pbc && !proven && depth_bounded(rv, o) &&
               (wv == NULL || depth_bounded(wv, o)) &&
               (kept || compare_fits(wv, rv, plen, rules, b));
  if (first) {
    int rc = last_word(c, rv, p, plen, base, o, b);
    if (rc != 0 || worst_so_far(c) >= RS_VERDICT_UNREADABLE) return rc;
  }
  bool too_deep = false;
  int rc = judge(c, t, wv, rv, p, plen, base, NULL, o, rules, b, &too_deep,
                 first ? RS_VERDICT_MISREAD : 0);
  if (rc != 0 || first || proven || too_deep || !rules->pbc) return rc;
  return last_word(c, rv, p, plen, base, o, b);
}

/* Whether protobuf-c unpacks buf as version v (within the budget). */
static int decodes(bool *out, const rs__version *v, const uint8_t *buf,
                   size_t len, const rs_options *o, const rs__rules *rules,
                   rs__budget *b) {
  ProtobufCMessage *m = NULL;
  rs_error e = RS_ERROR_INIT;
  rs__budget sb;
  rs__budget_sub(&sb, b, 0, len);
  int rc = rs__unpack_version_rt(&m, v, buf, len, 0, o, rules, &sb, &e);
  if (m != NULL && !rs__frees_nothing(sb.backing))
    protobuf_c_message_free_unpacked(m, RS__PA(&sb.allocator));
  *out = rc == 0;
  /* Over the budget, the record is over the limits, which the verdict
   * says; too deep, that version does not decode it. */
  if (rc == RS_ELIMIT && sb.over) {
    b->over = true;
    return rc;
  }
  return rc == RS_EDECODE || rc == RS_ELIMIT ? 0 : rc;
}

/* Whether a reader of version r reads the bytes as a writer of version w
 * meant them. */
static int reads_alike(bool *out, const rs__type *t, const rs__version *w,
                       const rs__version *r, const uint8_t *buf, size_t len,
                       const rs_options *o, rs__budget *b) {
  rs__budget sb;
  scratch_budget(&sb, b, len);
  rs__notes scratch;
  rs__notes_init(&scratch, &sb.allocator, 4);
  rs__cmp cmp;
  memset(&cmp, 0, sizeof cmp);
  cmp.notes = &scratch;
  cmp.a = &sb.allocator;
  cmp.budget = &sb;
  cmp.reader_label = cmp.writer_label = "";
  cmp.max_depth = rs__levels(o->max_depth);
  cmp.type = t;
  rs__compare(&cmp, w->desc, buf, len, 0, r->desc, buf, len, 0);
  rs__notes_dispose(&scratch, &sb.allocator);
  *out = cmp.worst < RS_VERDICT_MISREAD;
  return rs__budget_end(&sb, b, cmp.rc);
}

/*
 * The writer of raw bytes: the versions that explain them (decode with no
 * unknown field, every value in range, every enum value defined), or
 * failing those, the versions that decode them. One such version, or
 * several that read the bytes alike, make the writer inferred; several
 * that read them differently make it ambiguous. A record that only a newer
 * version explains is that version's.
 */
static int infer_raw_writer(rs_classification *c, const rs__type *t,
                            const rs__version *rv, const uint8_t *buf,
                            size_t len, const rs_options *o,
                            const rs__rules *rules, rs__budget *b,
                            const rs__version **writer) {
  uint64_t cands = 0;
  size_t n = t->n_versions < 64 ? t->n_versions : 64;
  for (size_t i = 0; i < n; i++)
    if (rs__explains(t->versions[i].desc, buf, len, rs__levels(o->max_depth)))
      cands |= (uint64_t)1 << i;
  bool explained = cands != 0;
  for (size_t i = 0; i < n && !explained; i++) {
    bool ok;
    int rc = decodes(&ok, &t->versions[i], buf, len, o, rules, b);
    if (rc != 0) return rc;
    if (ok) cands |= (uint64_t)1 << i;
  }
  /* Which of several versions that read the bytes alike is named: the
   * oldest (old rows are the common case; what they mean is the same). */
  const rs__version *chosen = NULL;
  (void)rv;
  for (size_t i = 0; i < n && chosen == NULL; i++)
    if (cands & ((uint64_t)1 << i)) chosen = &t->versions[i];
  bool alike = true;
  if (chosen != NULL && !(explained && t->raw_agree))
    for (size_t i = 0; i < n && alike; i++) {
      const rs__version *v = &t->versions[i];
      if (v == chosen || !(cands & ((uint64_t)1 << i))) continue;
      if (explained && chosen->number <= 64 && alike_here(chosen, i, buf, len))
        continue;
      int rc = reads_alike(&alike, t, v, chosen, buf, len, o, b);
      if (rc == 0 && alike)
        rc = reads_alike(&alike, t, chosen, v, buf, len, o, b);
      if (rc != 0) return rc;
    }
  c->candidates = cands;
  c->basis = alike ? RS_WRITER_INFERRED : RS_WRITER_AMBIGUOUS;
  *writer = alike ? chosen : NULL;
  return 0;
}

/* The list of versions in a candidate mask: "1 and 2", "1, 2 and 3". */
static void versions_text(uint64_t mask, char *out, size_t cap) {
  size_t total = 0, k = 0, len = 0;
  for (unsigned i = 0; i < 64; i++) total += (mask >> i) & 1;
  out[0] = '\0';
  for (unsigned i = 0; i < 64 && len < cap; i++) {
    if (!((mask >> i) & 1)) continue;
    k++;
    const char *sep = k == 1 ? "" : k == total ? " and " : ", ";
    int w = snprintf(out + len, cap - len, "%s%u", sep, i + 1);
    if (w < 0) break;
    len += (size_t)w;
  }
}

/* A raw record's writer and verdict. *said: protobuf-c's last word on the
 * bytes was had, or is not to be asked (an up-conversion judged the
 * record, or the comparison hit the depth limit); else the caller asks. */
static int classify_raw(rs_classification *c, const rs__type *t,
                        const rs__version *rv, rs_reader_framing framing,
                        unsigned given, const uint8_t *buf, size_t len,
                        const rs_options *o, const rs__rules *rules,
                        rs__budget *b, rs__written *w, bool *said) {
  const rs__version *wv = NULL;
  int rc;
  if (given != 0) {
    wv = rs__type_version(t, given);
    c->basis = RS_WRITER_GIVEN;
    c->candidates = 0;
  } else {
    rc = infer_raw_writer(c, t, rv, buf, len, o, rules, b, &wv);
    if (rc != 0) return rc;
  }
  if (c->basis == RS_WRITER_AMBIGUOUS) {
    char list[160];
    versions_text(c->candidates, list, sizeof list);
    c->written_version = 0;
    rc = add(c, RS_VERDICT_OK, RS__RC_WRITER_AMBIGUOUS, "", 0, 0,
             "versions %s can each have written these raw bytes, and they "
             "read them differently: the writer cannot be told from the "
             "bytes (--raw-writer names it)",
             list);
    bool too_deep = false;
    for (size_t i = 0; i < t->n_versions && i < 64 && rc == 0; i++) {
      if (!((c->candidates >> i) & 1)) continue;
      char prefix[48];
      snprintf(prefix, sizeof prefix, "if version %zu wrote it: ", i + 1);
      rc = judge(c, t, &t->versions[i], rv, buf, len, 0, prefix, o, rules, b,
                 &too_deep, 0);
    }
    *said = too_deep;
    return rc;
  }
  c->written_version = wv != NULL ? wv->number : 0;
  if (wv != NULL && wv->number < rv->number &&
      framing == RS_READER_FRAMING_ENVELOPE) {
    /* The writer's side decoded the bytes as one version already: reused
     * when it is the inferred one. */
    if (w->version != wv || w->msg == NULL) {
      rs__written_dispose(w, b->backing);
      rs_error e = RS_ERROR_INIT;
      rc = rs__unpack_version_rt(&w->msg, wv, buf, len, 0, o, rules, b, &e);
      if (rc != 0 && rc != RS_EDECODE) return rc;
      w->version = wv;
    }
    if (w->msg != NULL) {
      w->number = wv->number;
      rc = up_converted(c, t, rv, w, o, b);
      *said = true;
      return rc;
    }
  }
  *said = true;
  return judged(c, t, wv, rv, buf, len, 0, o, rules, b, false);
}

/*
 * The writer's side of the record a replacement replaces, as
 * rs__read_written reads it (the decode's success is what matters: the
 * message is not kept), but a framed payload that a walk proves its
 * version unpacks is not unpacked (RS__OPT_NO_QUICK: always unpacked).
 */
static int read_original(rs__written *w, const rs__type *t, const uint8_t *buf,
                         size_t len, const rs_options *o,
                         const rs__rules *rules, rs__budget *b, rs_error *e) {
  if (o->flags & RS__OPT_NO_QUICK)
    return rs__read_written(w, t, buf, len, o, rules, b, false, e);
  int rc = rs__read_framing(w, t, buf, len, o, rules, b, e);
  if (rc != 0) return rc;
  /* Raw bytes name no version: rs__read_written finds the one. */
  if (w->encoding != RS_ENCODING_RAW &&
      (w->version == NULL ||
       walk_unpacks(w->version, buf + w->payload_offset,
                    w->payload_end - w->payload_offset, o, b)))
    return 0;
  rs__written_dispose(w, b->backing);
  return rs__read_written(w, t, buf, len, o, rules, b, false, e);
}

static int classify(rs_classification *c, const rs__type *t,
                    const rs__version *rv, rs_reader_framing framing,
                    unsigned given, const uint8_t *buf, size_t len,
                    const rs_options *o, const rs__rules *rules,
                    rs__budget *b) {
  rs__written w;
  bool done;
  int rc = writer_side(c, &w, t, buf, len, o, rules, b, &done);
  if (rc != 0 || done) {
    rs__written_dispose(&w, b->backing);
    return rc;
  }
  const rs__version *wv = w.version;
  if (framing_clash(framing, w.encoding)) {
    rc = framing_note(c, rv, framing, w.encoding, buf, len, o);
    /* Nothing after byte 0 can change that verdict: what the payload
     * would do to a reader of its framing only explains more. The writer
     * of raw bytes is still to be found. */
    if (rc != 0 ||
        ((o->flags & RS_OPT_VERDICT_ONLY) && w.encoding != RS_ENCODING_RAW)) {
      rs__written_dispose(&w, b->backing);
      return rc;
    }
  }
  /* What the reader's runtime leaves unread, noted after the framing:
   * verdict-only, a reader of another framing than an envelope's has its
   * verdict at byte 0 (above) and, as on the quick path, no note of what
   * the payload holds. */
  if (w.payload_end < len) {
    rc =
        add(c, RS_VERDICT_OK, RS__RC_EARLY_END, "", 0, w.payload_end,
            "%s ends the record at this %s without an error: the %zu "
            "bytes from here are not read, by the writer's version either",
            rules->name, buf[w.payload_end] == 0 ? "tag of 0" : "end-group tag",
            len - w.payload_end);
    if (rc != 0) {
      rs__written_dispose(&w, b->backing);
      return rc;
    }
  }
  if (w.encoding == RS_ENCODING_RAW) {
    bool said = false;
    size_t end = w.payload_end;
    rc = classify_raw(c, t, rv, framing, given, buf, end, o, rules, b, &w,
                      &said);
    rs__written_dispose(&w, b->backing);
    if (rc != 0 || said || !rules->pbc) return rc;
    return last_word(c, rv, buf, end, 0, o, b);
  }
  if (wv != NULL && wv->number < rv->number &&
      w.encoding == RS_ENCODING_ENVELOPE &&
      framing == RS_READER_FRAMING_ENVELOPE) {
    rc = up_converted(c, t, rv, &w, o, b);
    rs__written_dispose(&w, b->backing);
    return rc;
  }
  /* The writer's version is the reader's: a clean message needs no
   * comparison (see message_is_clean), when protobuf-c is the reader's
   * runtime too (the others read some bytes protobuf-c unpacks
   * otherwise: deep nesting), and every field came in its own wire type,
   * no singular message twice (the walk): a bool protobuf-c unpacks from
   * another wire type is a value the writer's runtime kept unknown, and a
   * message merged from several occurrences may merge otherwise there (a
   * version with groups is not walked: the comparison decides). */
  size_t walked;
  if (rules->pbc && wv != NULL && wv->desc == rv->desc && w.msg != NULL &&
      wv->static_depth != 0 && message_is_clean(w.msg, 1) && !wv->groups &&
      rs__quick_unpacks(wv->plans, buf + w.payload_offset,
                        w.payload_end - w.payload_offset,
                        rs__levels(o->max_depth), false, false, &walked)) {
    rs__written_dispose(&w, b->backing);
    return 0;
  }
  /* When the reader's descriptor is the writer's, the writer's decode
   * above was protobuf-c's last word. */
  bool proven = wv != NULL && wv->desc == rv->desc && w.msg != NULL;
  size_t off = w.payload_offset, plen = w.payload_end - off;
  rs__written_dispose(&w, b->backing);
  return judged(c, t, wv, rv, buf + off, plen, off, o, rules, b, proven);
}

/* What rs_classify and rs_classify_replacement check first. */
typedef struct setup {
  rs_options o;
  const rs__type *t;
  const rs__version *rv;
  rs_reader_framing framing;
  unsigned raw_writer;
  rs__rules rules; /* the reader's runtime */
  /* protobuf-c has no reader of the reader's version (see prepare). */
  bool no_reader;
  quick_limits quick;
  /* Reasons a classification keeps: verdict-only, one, the first of the
   * worst verdict (the first a full list shows); a reason no worse than
   * it is counted as omitted, and its text is never written. */
  size_t max_reasons;
  /* A reader that may or may not parse extensions (Java: rules.extensions
   * RS__EXT_EITHER) of a type whose schemas declare some: the type and
   * reader's version as it reads them when it parses them. NULL else. */
  const rs__type *tx;
  const rs__version *rvx;
} setup;

static int prepare(setup *st, const char *fn, const rs_registry *registry,
                   const char *type, const rs_reader *reader,
                   const rs_options *options, rs_error *err) {
  static const rs_reader default_reader = RS_READER_INIT;
  if (reader == NULL) reader = &default_reader;
  if (reader->version == 0 || reader->version > RS_READER_VERSION)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "%s: rs_reader.version is %u; this library knows 1..%d", fn,
                    reader->version, RS_READER_VERSION);
  st->raw_writer = reader->version >= 2 ? reader->raw_writer : 0;
  int rc = rs__rules_init(&st->rules, reader, err);
  if (rc != 0) return rc;
  rc = rs__options(&st->o, options, err);
  if (rc != 0) return rc;
  /* A runtime that parses extensions reads the type's versions with their
   * extensions as fields, where its schemas declare any. */
  const rs__type *t = rs__registry_type_for(registry, type, &st->rules);
  if (t == NULL)
    return rs__fail(err, RS_ENOTFOUND, RS_OFFSET_NONE,
                    "record type %s is not in the registry",
                    type ? type : "(null)");
  if (st->raw_writer != 0 && rs__type_version(t, st->raw_writer) == NULL)
    return rs__fail(err, RS_ENOTFOUND, RS_OFFSET_NONE,
                    "%s has versions 1..%zu; there is no raw writer version %u",
                    t->name, t->n_versions, st->raw_writer);
  unsigned rnum = reader->format_version;
  if (rnum == 0) rnum = t->n_versions > 1 ? (unsigned)t->n_versions - 1 : 1;
  const rs__version *rv = rs__type_version(t, rnum);
  if (rv == NULL)
    return rs__fail(err, RS_ENOTFOUND, RS_OFFSET_NONE,
                    "%s has versions 1..%zu; there is no reader version %u",
                    t->name, t->n_versions, rnum);
  /* protoc-c 1.4 compiles neither an editions file (its front end is
   * protobuf 3.21's, which predates editions) nor a proto2 group (it
   * crashes on one): no protobuf-c reader of such a version exists. */
  st->no_reader = st->rules.pbc && (rv->editions || rv->groups);
  rs_reader_framing framing = reader->framing;
  if (framing == RS_READER_FRAMING_DEFAULT)
    framing = rv->encoding == RS_ENCODING_RAW ? RS_READER_FRAMING_RAW
                                              : RS_READER_FRAMING_ENVELOPE;
  if (framing != RS_READER_FRAMING_RAW &&
      framing != RS_READER_FRAMING_ENVELOPE &&
      framing != RS_READER_FRAMING_CONFLUENT)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_reader.framing %d is not a known framing",
                    (int)framing);
  rc = rs__check_schema_ids(t, &st->o, err);
  if (rc != 0) return rc;
  st->quick = quick_limits_of(&st->o, &st->rules);
  st->max_reasons = (st->o.flags & RS_OPT_VERDICT_ONLY) ? 1 : RS_MAX_REASONS;
  st->t = t;
  st->rv = rv;
  st->framing = framing;
  st->tx = NULL;
  st->rvx = NULL;
  if (st->rules.extensions == RS__EXT_EITHER && registry->parsed != NULL &&
      (st->tx = rs__registry_type(registry->parsed, type)) != NULL)
    st->rvx = rs__type_version(st->tx, rnum);
  if (st->rvx == NULL) st->tx = NULL;
  return 0;
}

/* The setup of a reader that parses extensions, from st (st->tx). */
static setup parsing(const setup *st) {
  setup x = *st;
  x.t = st->tx;
  x.rv = st->rvx;
  x.rules.extensions = RS__EXT_PARSED;
  x.tx = NULL;
  x.rvx = NULL;
  return x;
}

/*
 * *out judged without the extensions parsed, x with them (a Java reader
 * whose code may pass an ExtensionRegistry to parseFrom or not): one
 * verdict when both readings agree on it, else the record is undetermined
 * (RS_WRITER_EXTENSION). Takes x.
 */
static int either_way(rs_classification *c, rs_classification *x) {
  bool agree = c->verdict == x->verdict &&
               rs_classification_decided(c) == rs_classification_decided(x);
  rs_verdict other = x->verdict;
  rs_classification_free(x);
  if (agree) return 0;
  rs_verdict plain = c->verdict;
  c->basis = RS_WRITER_EXTENSION;
  c->candidates = 0;
  int rc =
      add(c, RS_VERDICT_OK, RS__RC_EXTENSION_UNMODELLED, "", 0, RS_OFFSET_NONE,
          "extensions the reader's version declares: Java reads the "
          "record %s when its code passes an ExtensionRegistry to "
          "parseFrom, %s when it does not (reader_options: "
          "extension_registry says which); what it makes of the record "
          "cannot be told",
          rs_verdict_name(other), rs_verdict_name(plain));
  if (rc != 0) return rc;
  /* Only what cannot be told: the verdict the two readings share at most. */
  c->verdict = RS_VERDICT_OK;
  return 0;
}

static rs_classification *new_classification(const setup *st,
                                             const rs__budget *b) {
  /* The result is the caller's, not decoding work: outside the budget. */
  rs_classification *c = rs__alloc(b->backing, sizeof *c);
  if (c == NULL) return NULL;
  c->a = b->backing;
  c->reader_version = st->rv->number;
  c->framing = st->framing;
  c->runtime = st->rules.runtime;
  c->provenance.version = RS_PROVENANCE_VERSION;
  rs__notes_init(&c->reasons, b->backing, st->max_reasons);
  c->reasons.track_from = RS_VERDICT_MISREAD;
  return c;
}

/* The end of a classification: over the budget is a verdict, not an error. */
static inline int finish(rs_classification **out, rs_classification *c, int rc,
                         const rs__budget *b, const setup *st, rs_error *err) {
  if (rc != 0 && b->over) {
    /* Over the allocation budget: the record is too costly to read, and
     * the writer of raw bytes was not told. */
    if (c->encoding == RS_ENCODING_RAW && c->basis != RS_WRITER_GIVEN) {
      c->basis = RS_WRITER_NONE;
      c->candidates = 0;
    }
    rc =
        add(c, RS_VERDICT_UNREADABLE, RS__RC_OVER_LIMITS, "", 0, RS_OFFSET_NONE,
            "over the limits: judging it needs more than the allocation "
            "budget of %zu bytes (max_alloc; --max-alloc raises it)",
            st->o.max_alloc);
  }
  if (rc != 0) {
    rs__fail(err, rc, RS_OFFSET_NONE, "classify: %s", rs_strerror(rc));
    rs_classification_free(c);
    return rc;
  }
  rs__notes_sort(&c->reasons);
  c->verdict = (rs_verdict)rs__notes_worst(&c->reasons);
  if (c->fixed != NULL && (int)c->verdict < c->fixed->kind)
    c->verdict = (rs_verdict)c->fixed->kind;
  *out = c;
  return 0;
}

/* A reader protobuf-c has no code for: every record is undetermined. */
static int no_reader(rs_classification *c, const setup *st, bool *done) {
  *done = true;
  c->basis = RS_WRITER_NO_READER;
  return add(
      c, RS_VERDICT_OK, RS__RC_NO_READER, "", 0, RS_OFFSET_NONE,
      "version %u %s, which protobuf-c 1.4 cannot compile (protoc-c): "
      "there is no protobuf-c reader of it, so what one reads cannot "
      "be told; name the reader's runtime (--reader-runtime)",
      st->rv->number,
      st->rv->editions ? "comes from an editions file" : "has a group field");
}

/* rs_classify once prepared, one way. */
static int run_once(rs_classification **out, const setup *st,
                    const uint8_t *buf, size_t len, rs_error *err) {
  rs__budget b;
  rs__budget_init(&b, st->o.allocator, st->o.max_alloc);
  rs_classification *c = new_classification(st, &b);
  if (c == NULL)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "classify: out of memory");
  bool done = false;
  int rc = 0;
  if (st->no_reader) rc = no_reader(c, st, &done);
  if (rc == 0 && !done && (st->o.flags & RS_OPT_VERDICT_ONLY) &&
      !(st->o.flags & RS__OPT_NO_QUICK))
    rc = quick_classify(c, st->t, st->rv, st->framing, st->raw_writer, buf, len,
                        &st->o, &st->quick, &done);
  if (rc == 0 && !done)
    rc = classify(c, st->t, st->rv, st->framing, st->raw_writer, buf, len,
                  &st->o, &st->rules, &b);
  return finish(out, c, rc, &b, st, err);
}

/* rs_classify once prepared. */
static int run(rs_classification **out, const setup *st, const uint8_t *buf,
               size_t len, rs_error *err) {
  int rc = run_once(out, st, buf, len, err);
  if (rc != 0 || st->tx == NULL) return rc;
  setup x = parsing(st);
  rs_classification *cx = NULL;
  rc = run_once(&cx, &x, buf, len, err);
  if (rc == 0) rc = either_way(*out, cx);
  if (rc != 0) {
    rs_classification_free(*out);
    *out = NULL;
    return rs__fail(err, rc, RS_OFFSET_NONE, "classify: %s", rs_strerror(rc));
  }
  return 0;
}

int rs_classify(rs_classification **out, const rs_registry *registry,
                const char *type, const rs_reader *reader, const uint8_t *buf,
                size_t len, const rs_options *options, rs_error *err) {
  if (out != NULL) *out = NULL;
  if (out == NULL || registry == NULL || (buf == NULL && len > 0))
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_classify: out, registry and buf are required");
  setup st;
  int rc = prepare(&st, "rs_classify", registry, type, reader, options, err);
  if (rc != 0) return rc;
  return run(out, &st, buf, len, err);
}

struct rs_classifier {
  setup st;
};

int rs_classifier_new(rs_classifier **out, const rs_registry *registry,
                      const char *type, const rs_reader *reader,
                      const rs_options *options, rs_error *err) {
  if (out != NULL) *out = NULL;
  if (out == NULL || registry == NULL)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_classifier_new: out and registry are required");
  setup st;
  int rc =
      prepare(&st, "rs_classifier_new", registry, type, reader, options, err);
  if (rc != 0) return rc;
  /* Not from options->allocator: an arena is often reset per record. */
  rs_classifier *cl = malloc(sizeof *cl);
  if (cl == NULL)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE,
                    "rs_classifier_new: out of memory");
  cl->st = st;
  *out = cl;
  return 0;
}

int rs_classifier_run(const rs_classifier *cl, rs_classification **out,
                      const uint8_t *buf, size_t len, rs_error *err) {
  if (out != NULL) *out = NULL;
  if (cl == NULL || out == NULL || (buf == NULL && len > 0))
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_classifier_run: classifier, out and buf are required");
  return run(out, &cl->st, buf, len, err);
}

void rs_classifier_free(rs_classifier *cl) {
  free(cl);
}

/* Whether number n is in xs[0..n_xs). */
static bool listed(const uint32_t *xs, size_t n_xs, uint32_t n) {
  for (size_t i = 0; i < n_xs; i++)
    if (xs[i] == n) return true;
  return false;
}

/*
 * The top-level fields whose values the conversion from version `from` to
 * `to` rewrites by meaning: those custom converters handle and the reader's
 * side of moved fields. At most cap; more are not skipped.
 */
static size_t rewritten_fields(const rs__type *t, unsigned from, unsigned to,
                               uint32_t *out, size_t cap) {
  size_t n = 0;
  unsigned lo = from < to ? from : to, hi = from < to ? to : from;
  for (size_t i = 0; i < t->n_convs; i++) {
    const rs_converter *cv = &t->convs[i].c;
    if (cv->from < lo || cv->from > hi || cv->to < lo || cv->to > hi) continue;
    for (size_t k = 0; k < cv->n_handled_fields && n < cap; k++)
      if (!listed(out, n, cv->handled_fields[k]))
        out[n++] = cv->handled_fields[k];
  }
  for (size_t i = 0; i < t->n_moves && n < cap; i++) {
    const rs__move *m = &t->moves[i];
    if (m->reader_version == to && m->writer_version <= from &&
        !listed(out, n, m->reader_field))
      out[n++] = m->reader_field;
  }
  return n;
}

static int classify_replacement(rs_classification *c, const setup *st,
                                const uint8_t *old_buf, size_t old_len,
                                const uint8_t *new_buf, size_t new_len,
                                rs__budget *b, bool *fallback) {
  const rs__type *t = st->t;
  const rs__version *rv = st->rv;
  const rs_options *o = &st->o;
  /* The writer of the original: named, given or inferred as a scan does. */
  rs__written ow;
  rs_error e = RS_ERROR_INIT;
  int rc = read_original(&ow, t, old_buf, old_len, o, &st->rules, b, &e);
  const rs__version *wv = ow.version;
  size_t old_off = ow.payload_offset;
  bool old_raw = ow.encoding == RS_ENCODING_RAW;
  /* What the writer meant ends where the runtime ends the original. */
  if (rc == 0) old_len = ow.payload_end;
  rs__written_dispose(&ow, b->backing);
  if (rc != 0 || wv == NULL) {
    *fallback = true;
    return rc == RS_ENOMEM ? rc : 0;
  }
  if (old_raw) {
    if (st->raw_writer != 0) {
      wv = rs__type_version(t, st->raw_writer);
    } else {
      rs_classification scratch;
      memset(&scratch, 0, sizeof scratch);
      rc = infer_raw_writer(&scratch, t, rv, old_buf, old_len, o, &st->rules, b,
                            &wv);
      if (rc != 0) return rc;
      if (scratch.basis == RS_WRITER_AMBIGUOUS || wv == NULL) {
        *fallback = true;
        return 0;
      }
    }
  }
  /* The new bytes, as the reader meets them: their framing here; their
   * payload is read by the comparison and, for protobuf-c, by last_word
   * (RS__OPT_NO_QUICK: decoded here too, as the writer's side reads). */
  rs__written nw;
  rc = (o->flags & RS__OPT_NO_QUICK)
           ? rs__read_written(&nw, t, new_buf, new_len, o, &st->rules, b, false,
                              &e)
           : rs__read_framing(&nw, t, new_buf, new_len, o, &st->rules, b, &e);
  size_t new_off = nw.payload_offset;
  rs_encoding new_enc = nw.encoding;
  bool new_confluent = nw.has_confluent;
  uint32_t new_schema_id = nw.confluent.schema_id;
  rs__written_dispose(&nw, b->backing);
  c->encoding = new_enc;
  c->written_version = wv->number;
  c->basis = old_raw ? (st->raw_writer ? RS_WRITER_GIVEN : RS_WRITER_INFERRED)
                     : RS_WRITER_NAMED;
  c->has_schema_id = new_confluent;
  c->schema_id = new_schema_id;
  if (framing_clash(st->framing, new_enc))
    return framing_note(c, rv, st->framing, new_enc, new_buf, new_len, o);
  if (rc == RS_ENOMEM) return rc;
  uint32_t skip[64];
  rs__budget sb;
  scratch_budget(&sb, b, new_len + old_len);
  rs__cmp cmp;
  cmp_labels labels;
  cmp_init(&cmp, &labels, c, &sb, t, wv, rv, o, &st->rules);
  cmp.skip = skip;
  cmp.n_skip = rewritten_fields(t, wv->number, rv->number, skip, 64);
  cmp.end = new_len;
  rs__compare(&cmp, wv->desc, old_buf + old_off, old_len - old_off, old_off,
              rv->desc, new_buf + new_off, new_len - new_off, new_off);
  rc = rs__budget_end(&sb, b, cmp.rc);
  if (rc != 0 || cmp.too_deep || !st->rules.pbc) return rc;
  return last_word(c, rv, new_buf + new_off, new_len - new_off, new_off, o, b);
}

/* rs_classify_replacement once prepared, one way. */
static int replacement_once(rs_classification **out, const setup *st,
                            const uint8_t *old_buf, size_t old_len,
                            const uint8_t *new_buf, size_t new_len,
                            rs_error *err) {
  rs__budget b;
  rs__budget_init(&b, st->o.allocator, st->o.max_alloc);
  rs_classification *c = new_classification(st, &b);
  if (c == NULL)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "classify: out of memory");
  bool fallback = false;
  bool said = false;
  int rc = 0;
  if (st->no_reader) rc = no_reader(c, st, &said);
  if (!said)
    rc = classify_replacement(c, st, old_buf, old_len, new_buf, new_len, &b,
                              &fallback);
  if (rc == 0 && fallback) {
    /* No writer to compare with: the new bytes judged on their own. */
    rs_classification_free(c);
    return run_once(out, st, new_buf, new_len, err);
  }
  return finish(out, c, rc, &b, st, err);
}

int rs_classify_replacement(rs_classification **out,
                            const rs_registry *registry, const char *type,
                            const rs_reader *reader, const uint8_t *old_buf,
                            size_t old_len, const uint8_t *new_buf,
                            size_t new_len, const rs_options *options,
                            rs_error *err) {
  if (out != NULL) *out = NULL;
  if (out == NULL || registry == NULL || (old_buf == NULL && old_len > 0) ||
      (new_buf == NULL && new_len > 0))
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_classify_replacement: out, registry and the bytes "
                    "are required");
  setup st;
  int rc = prepare(&st, "rs_classify_replacement", registry, type, reader,
                   options, err);
  if (rc != 0) return rc;
  st.o.flags &= ~(unsigned)RS_OPT_VERDICT_ONLY;
  st.max_reasons = RS_MAX_REASONS;
  rc = replacement_once(out, &st, old_buf, old_len, new_buf, new_len, err);
  if (rc != 0 || st.tx == NULL) return rc;
  setup x = parsing(&st);
  rs_classification *cx = NULL;
  rc = replacement_once(&cx, &x, old_buf, old_len, new_buf, new_len, err);
  if (rc == 0) rc = either_way(*out, cx);
  if (rc != 0) {
    rs_classification_free(*out);
    *out = NULL;
    return rs__fail(err, rc, RS_OFFSET_NONE, "classify: %s", rs_strerror(rc));
  }
  return 0;
}
