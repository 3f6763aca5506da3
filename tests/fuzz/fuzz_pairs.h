/*
 * Shared by the fuzz targets on schemas given at run time (fuzz_compare,
 * fuzz_rawwriter): writer/reader schema pairs, the registry built from them
 * through rs_schema, the checks every classification must pass, and an
 * independent look at the bytes (a wire walk and a walk of what protobuf-c
 * unpacked) that the invariants compare the classification with.
 *
 * Each pair is one record type "fz.<pair>.Rec": version 1 is the reader's
 * (older) schema, tests/fuzz/schemas/v1/<pair>.proto, raw; version 2 the
 * writer's (newer), tests/fuzz/schemas/v2/<pair>.proto, enveloped. protoc
 * compiles each side into one FileDescriptorSet at build time, and the
 * build embeds both in the target (fuzz_schemas.c); they are loaded with
 * rs_schema_from_bytes() at the first input.
 *
 * An input is one byte that picks the pair (modulo the number of pairs),
 * then the record.
 */
#ifndef RS_FUZZ_PAIRS_H
#define RS_FUZZ_PAIRS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"

#include "codec/internal.h"

/* The pairs, in the order the first input byte picks them. make_corpus.sh
 * reads this list: keep one XX(name) per line. */
#define FUZZ_PAIRS(XX) \
  XX(types2)           \
  XX(types3)           \
  XX(packed2)          \
  XX(packed3)          \
  XX(oneof2)           \
  XX(oneof3)           \
  XX(maps3)            \
  XX(enums2)           \
  XX(enums3)           \
  XX(required2)        \
  XX(recursive2)       \
  XX(nested3)          \
  XX(agree2)           \
  XX(agree3)           \
  XX(optional3)

#define FUZZ_PAIR_TYPE(name) "fz." #name ".Rec",
static const char *const fuzz_pair_types[] = {FUZZ_PAIRS(FUZZ_PAIR_TYPE)};
#undef FUZZ_PAIR_TYPE
#define FUZZ_N_PAIRS (sizeof fuzz_pair_types / sizeof *fuzz_pair_types)

/* Written by tests/fuzz/embed_schemas.cmake. */
extern const unsigned char fuzz_schema_v1[];
extern const size_t fuzz_schema_v1_len;
extern const unsigned char fuzz_schema_v2[];
extern const size_t fuzz_schema_v2_len;

/* Built once; the schemas and the registry stay reachable until exit. */
static inline const rs_registry *fuzz_pairs_registry(void) {
  static rs_schema *schemas[2];
  static rs_registry *reg;
  if (reg != NULL) return reg;
  rs_error err = RS_ERROR_INIT;
  rs_registry_builder *b = NULL;
  if (rs_schema_from_bytes(&schemas[0], fuzz_schema_v1, fuzz_schema_v1_len,
                           "fuzz schemas v1", NULL, &err) != 0 ||
      rs_schema_from_bytes(&schemas[1], fuzz_schema_v2, fuzz_schema_v2_len,
                           "fuzz schemas v2", NULL, &err) != 0 ||
      rs_registry_builder_new(&b, NULL, &err) != 0) {
    fprintf(stderr, "fuzz schemas: %s\n", err.message);
    abort();
  }
  for (size_t i = 0; i < FUZZ_N_PAIRS; i++)
    if (rs_schema_register(b, fuzz_pair_types[i],
                           (const rs_schema *const *)schemas, 2, NULL,
                           &err) != 0) {
      fprintf(stderr, "fuzz schemas: %s: %s\n", fuzz_pair_types[i],
              err.message);
      abort();
    }
  if (rs_registry_build(&reg, b, &err) != 0) {
    fprintf(stderr, "fuzz schemas: %s\n", err.message);
    abort();
  }
  return reg;
}

/* One input: the pair's record type and the record. */
typedef struct fuzz_input {
  size_t pair;
  const char *type;
  const uint8_t *rec;
  size_t len;
  const rs__type *t; /* the registry's view of the type */
} fuzz_input;

static inline fuzz_input fuzz_input_of(const uint8_t *data, size_t size) {
  fuzz_input in;
  in.pair = size > 0 ? data[0] % FUZZ_N_PAIRS : 0;
  in.type = fuzz_pair_types[in.pair];
  in.rec = size > 0 ? data + 1 : data;
  in.len = size > 0 ? size - 1 : 0;
  in.t = rs__registry_type(fuzz_pairs_registry(), in.type);
  FUZZ_CHECK(in.t != NULL && in.t->n_versions == 2, "%s not registered",
             in.type);
  return in;
}

/* ---- an independent look at the bytes ------------------------------------ */

/* Strict UTF-8 (no overlong forms, surrogates, or code points past
 * U+10FFFF), as proto3 requires of strings. */
static inline bool fuzz_utf8_ok(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    size_t k;
    uint32_t cp, min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      k = 1, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      k = 2, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      k = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (n - i <= k) return false;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xc0) != 0x80) return false;
      cp = cp << 6 | (s[i + j] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += k + 1;
  }
  return true;
}

static inline bool fuzz_enum_has(const ProtobufCEnumDescriptor *e, int v) {
  for (unsigned i = 0; i < e->n_values; i++)
    if (e->values[i].value == v) return true;
  return false;
}

/* What the wire walk found, over every occurrence of every field. */
typedef struct fuzz_wire {
  bool malformed;    /* framing protobuf-c rejects, or a group */
  bool odd_tag;      /* field number 0 or past 2^29 - 1 */
  bool unknown;      /* a field number the descriptor lacks */
  bool odd_wire;     /* not the field's own wire type (nor a packed run) */
  bool out_of_range; /* a varint the field's type never writes */
  bool bad_enum;     /* an enum value its enum lacks */
  bool bad_closed;   /* the same, of a closed enum (no writer writes it) */
  bool bad_utf8;     /* invalid UTF-8 in a proto3 string */
  bool two_oneof;    /* two members of one oneof in one message */
  bool nul_string;   /* a string with a NUL (a C string ends there) */
  bool missing_required;
  /* A required field with a default that the message protobuf-c builds
   * lacks (it holds the default), by fuzz_final_walk. */
  bool missing_default;
  /* A message with such a field merged from several occurrences: protobuf-c
   * takes its required fields from the last one, where parsing the
   * occurrences one after the other (the comparison's model) keeps a value
   * an earlier one set. */
  bool merged_required;
  /* A oneof's message member that occurs again in the payload that sets
   * the oneof: protobuf-c keeps the last occurrence alone, where parsing
   * them one after the other (the comparison's model) merges them. */
  bool oneof_repeat;
  /* A proto3 message with an implicit-presence scalar field merged from
   * several occurrences: protobuf-c's merge_messages looks for a has_
   * member such a field lacks and keeps the last occurrence's value (0
   * where it lacks the field). */
  bool merged_implicit;
  bool empty_msg; /* a message (the record too) with no field at all */
  bool too_deep;  /* nested deeper than FUZZ_WALK_DEPTH */
} fuzz_wire;

#define FUZZ_WALK_DEPTH RS_DEFAULT_MAX_DEPTH

/* Whether the walk found nothing a writer of the version avoids (writers
 * in most runtimes write an open enum's unknown numbers, and NULs in
 * strings). */
static inline bool fuzz_wire_clean(const fuzz_wire *w) {
  return !w->malformed && !w->odd_tag && !w->unknown && !w->odd_wire &&
         !w->out_of_range && !w->bad_closed && !w->bad_utf8 && !w->two_oneof &&
         !w->missing_required && !w->too_deep;
}

/* One field of the wire: a tag and its value. */
typedef struct fuzz_field {
  uint32_t number;
  unsigned wt;
  uint64_t value;   /* varint, or fixed bits */
  const uint8_t *p; /* length-delimited: the payload */
  size_t n;
} fuzz_field;

static inline bool fuzz_varint(const uint8_t *b, size_t len, size_t *pos,
                               uint64_t *out) {
  uint64_t v = 0;
  for (unsigned k = 0; k < 10; k++) {
    if (*pos >= len) return false;
    uint8_t c = b[(*pos)++];
    v |= (uint64_t)(c & 0x7f) << (7 * k);
    if (!(c & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

/* The next field, or false (and w->malformed) when the bytes end badly. */
static inline bool fuzz_next(fuzz_wire *w, const uint8_t *b, size_t len,
                             size_t *pos, fuzz_field *f) {
  uint64_t tag;
  size_t start = *pos;
  if (!fuzz_varint(b, len, pos, &tag) || *pos - start > 5) goto bad;
  f->number = (uint32_t)(tag >> 3);
  f->wt = (unsigned)(tag & 7);
  if (tag >> 3 == 0 || tag >> 3 > 536870911u) w->odd_tag = true;
  switch (f->wt) {
    case 0:
      if (!fuzz_varint(b, len, pos, &f->value)) goto bad;
      return true;
    case 1:
    case 5: {
      size_t n = f->wt == 1 ? 8 : 4;
      if (len - *pos < n) goto bad;
      f->value = 0;
      for (size_t i = 0; i < n; i++) f->value |= (uint64_t)b[*pos + i] << 8 * i;
      *pos += n;
      return true;
    }
    case 2: {
      uint64_t n;
      if (!fuzz_varint(b, len, pos, &n) || n > len - *pos) goto bad;
      f->p = b + *pos;
      f->n = (size_t)n;
      *pos += (size_t)n;
      return true;
    }
    default:
      goto bad;
  }
bad:
  w->malformed = true;
  return false;
}

static inline unsigned fuzz_own_wire_type(ProtobufCType t) {
  switch (t) {
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
      return 1;
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
      return 5;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
      return 2;
    default:
      return 0;
  }
}

/* A varint of a field of type f->type: in the type's range, enum known. */
static inline void fuzz_check_varint(fuzz_wire *w,
                                     const ProtobufCMessageDescriptor *d,
                                     const ProtobufCFieldDescriptor *f,
                                     uint64_t raw) {
  bool signed32 = raw <= 0x7fffffffu || raw >= 0xffffffff80000000u;
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
      if (!signed32) w->out_of_range = true;
      break;
    case PROTOBUF_C_TYPE_ENUM:
      if (!signed32) w->out_of_range = true;
      if (!fuzz_enum_has(f->descriptor, (int)(int32_t)(uint32_t)raw)) {
        w->bad_enum = true;
        if (rs__enum_closed(d, f)) w->bad_closed = true;
      }
      break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_SINT32:
      if (raw > 0xffffffffu) w->out_of_range = true;
      break;
    case PROTOBUF_C_TYPE_BOOL:
      if (raw > 1) w->out_of_range = true;
      break;
    default:
      break;
  }
}

static inline bool fuzz_packable(const ProtobufCFieldDescriptor *f) {
  return f->label == PROTOBUF_C_LABEL_REPEATED &&
         fuzz_own_wire_type(f->type) != 2;
}

/* Whether another member of f's oneof occurs (counts per field index). */
static inline bool fuzz_oneof_rival(const ProtobufCMessageDescriptor *d,
                                    const ProtobufCFieldDescriptor *f,
                                    const size_t *count) {
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *g = &d->fields[i];
    if (g != f && (g->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        g->quantifier_offset == f->quantifier_offset && count[i] > 0)
      return true;
  }
  return false;
}

/* Walks one message's bytes as descriptor d reads them. */
static inline void fuzz_wire_walk(fuzz_wire *w,
                                  const ProtobufCMessageDescriptor *d,
                                  const uint8_t *b, size_t len,
                                  unsigned depth) {
  if (depth > FUZZ_WALK_DEPTH) {
    w->too_deep = true;
    return;
  }
  if (len == 0) w->empty_msg = true;
  size_t *count = calloc(d->n_fields + 1, sizeof *count);
  FUZZ_CHECK(count != NULL, "out of memory");
  size_t pos = 0;
  fuzz_field f;
  while (pos < len && fuzz_next(w, b, len, &pos, &f)) {
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(d, f.number);
    if (fd == NULL) {
      w->unknown = true;
      continue;
    }
    count[fd - d->fields]++;
    unsigned own = fuzz_own_wire_type(fd->type);
    if (f.wt == 2 && own != 2 && fuzz_packable(fd)) {
      size_t q = 0;
      if (own == 0) {
        uint64_t raw;
        while (q < f.n)
          if (fuzz_varint(f.p, f.n, &q, &raw))
            fuzz_check_varint(w, d, fd, raw);
          else
            w->malformed = true, q = f.n;
      } else if (f.n % (own == 1 ? 8 : 4) != 0) {
        w->malformed = true;
      }
      continue;
    }
    if (f.wt != own) {
      w->odd_wire = true;
      continue;
    }
    if (own == 0) fuzz_check_varint(w, d, fd, f.value);
    if (fd->type == PROTOBUF_C_TYPE_STRING && memchr(f.p, 0, f.n) != NULL)
      w->nul_string = true;
    if (fd->type == PROTOBUF_C_TYPE_STRING &&
        (fd->reserved_flags & RS_FIELD_FLAG_UTF8) && !fuzz_utf8_ok(f.p, f.n))
      w->bad_utf8 = true;
  }
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *fd = &d->fields[i];
    if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && count[i] > 0 &&
        fuzz_oneof_rival(d, fd, count))
      w->two_oneof = true;
    if (fd->label == PROTOBUF_C_LABEL_REQUIRED && count[i] == 0)
      w->missing_required = true;
  }
  /* The sub-messages, each occurrence on its own. */
  pos = 0;
  while (pos < len && fuzz_next(w, b, len, &pos, &f)) {
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(d, f.number);
    if (fd == NULL || fd->type != PROTOBUF_C_TYPE_MESSAGE || f.wt != 2)
      continue;
    fuzz_wire_walk(w, fd->descriptor, f.p, f.n, depth + 1);
  }
  free(count);
}

/* Payloads of one message that protobuf-c merges, in wire order. */
typedef struct fuzz_spans {
  const uint8_t **p;
  size_t *n;
  size_t count, cap;
} fuzz_spans;

static inline void fuzz_spans_push(fuzz_spans *s, const uint8_t *p, size_t n) {
  if (s->count == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 4;
    s->p = realloc(s->p, s->cap * sizeof *s->p);
    s->n = realloc(s->n, s->cap * sizeof *s->n);
    FUZZ_CHECK(s->p != NULL && s->n != NULL, "out of memory");
  }
  s->p[s->count] = p;
  s->n[s->count++] = n;
}

/* Whether field number `id` occurs in one payload. */
static inline bool fuzz_occurs(const uint8_t *b, size_t len, uint32_t id) {
  fuzz_wire scratch;
  fuzz_field f;
  size_t pos = 0;
  while (pos < len && fuzz_next(&scratch, b, len, &pos, &f))
    if (f.number == id) return true;
  return false;
}

/*
 * The required fields of the message protobuf-c 1.4 builds from payloads
 * [0, k) of one message (occurrences of a singular message field, merged by
 * merge_messages), for bytes it unpacks: merge_messages keeps the last
 * payload's required fields (a default where it lacks one) and merges
 * optional ones, repeated ones concatenate, a oneof set in a later payload
 * replaces the earlier one whole, and within one payload a later
 * occurrence of a oneof member replaces an earlier one (of any member).
 */
static inline void fuzz_final_walk(fuzz_wire *w,
                                   const ProtobufCMessageDescriptor *d,
                                   const fuzz_spans *ps, unsigned depth) {
  size_t k = ps->count;
  if (k == 0 || depth > FUZZ_WALK_DEPTH) return;
  const uint8_t *lastp = ps->p[k - 1];
  size_t lastn = ps->n[k - 1];
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *fd = &d->fields[i];
    if (fd->label == PROTOBUF_C_LABEL_REQUIRED && fd->default_value != NULL) {
      if (!fuzz_occurs(lastp, lastn, fd->id)) w->missing_default = true;
      if (k > 1) w->merged_required = true;
    }
    if (k > 1 && fd->label == PROTOBUF_C_LABEL_NONE &&
        !(fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        fd->type != PROTOBUF_C_TYPE_STRING &&
        fd->type != PROTOBUF_C_TYPE_BYTES &&
        fd->type != PROTOBUF_C_TYPE_MESSAGE)
      w->merged_implicit = true;
  }
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *fd = &d->fields[i];
    if (fd->type != PROTOBUF_C_TYPE_MESSAGE) continue;
    bool oneof = (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
    /* The payloads to look in, and where in each to start. */
    size_t from = 0, to = k;
    if (fd->label == PROTOBUF_C_LABEL_REQUIRED) from = k - 1;
    if (oneof) {
      /* The last payload that sets the oneof holds what survives. */
      size_t j = k;
      while (j > 0) {
        bool any = false;
        for (unsigned g = 0; g < d->n_fields && !any; g++)
          if ((d->fields[g].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
              d->fields[g].quantifier_offset == fd->quantifier_offset)
            any = fuzz_occurs(ps->p[j - 1], ps->n[j - 1], d->fields[g].id);
        if (any) break;
        j--;
      }
      if (j == 0) continue;
      from = j - 1;
      to = j;
    }
    for (size_t j = from; j < to; j++) {
      fuzz_spans sub = {NULL, NULL, 0, 0};
      fuzz_wire scratch;
      fuzz_field f;
      size_t pos = 0;
      while (pos < ps->n[j] &&
             fuzz_next(&scratch, ps->p[j], ps->n[j], &pos, &f)) {
        const ProtobufCFieldDescriptor *g =
            protobuf_c_message_descriptor_get_field(d, f.number);
        if (g == NULL) continue;
        if (oneof && g != fd && (g->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            g->quantifier_offset == fd->quantifier_offset)
          sub.count = 0; /* another member clears this one */
        if (g != fd || f.wt != 2) continue;
        /* protobuf-c frees a oneof's member before it parses the next
         * occurrence, even of the same member: no merge. */
        if (oneof) {
          if (sub.count > 0) w->oneof_repeat = true;
          sub.count = 0;
        }
        if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
          fuzz_spans one = {NULL, NULL, 0, 0};
          fuzz_spans_push(&one, f.p, f.n);
          fuzz_final_walk(w, fd->descriptor, &one, depth + 1);
          free(one.p);
          free(one.n);
        } else {
          fuzz_spans_push(&sub, f.p, f.n);
        }
      }
      if (fd->label == PROTOBUF_C_LABEL_REPEATED || j + 1 == to) {
        fuzz_final_walk(w, fd->descriptor, &sub, depth + 1);
        free(sub.p);
        free(sub.n);
      } else {
        /* Optional: the next payloads' occurrences merge into these. */
        for (size_t m = j + 1; m < to; m++) {
          pos = 0;
          while (pos < ps->n[m] &&
                 fuzz_next(&scratch, ps->p[m], ps->n[m], &pos, &f))
            if (f.number == fd->id && f.wt == 2)
              fuzz_spans_push(&sub, f.p, f.n);
        }
        fuzz_final_walk(w, fd->descriptor, &sub, depth + 1);
        free(sub.p);
        free(sub.n);
        break;
      }
    }
  }
}

static inline fuzz_wire fuzz_wire_of(const ProtobufCMessageDescriptor *d,
                                     const uint8_t *b, size_t len) {
  fuzz_wire w;
  memset(&w, 0, sizeof w);
  fuzz_wire_walk(&w, d, b, len, 1);
  if (!w.malformed && !w.too_deep) {
    fuzz_spans top = {NULL, NULL, 0, 0};
    fuzz_spans_push(&top, b, len);
    fuzz_final_walk(&w, d, &top, 1);
    free(top.p);
    free(top.n);
  }
  return w;
}

/* What protobuf-c itself made of the bytes. */
typedef struct fuzz_view {
  ProtobufCMessage *m; /* NULL: the unpack failed (or was not tried) */
  bool tried;
  bool unknown_field; /* an unknown field kept, at any level */
  bool unknown_enum;  /* an enum value the descriptor lacks, at any level */
  bool bad_utf8;      /* a proto3 string (up to its NUL) not UTF-8 */
} fuzz_view;

static inline void fuzz_view_scan(fuzz_view *v, const ProtobufCMessage *m) {
  if (m->n_unknown_fields != 0) v->unknown_field = true;
  const ProtobufCMessageDescriptor *d = m->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const char *base = (const char *)m;
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(const uint32_t *)(base + f->quantifier_offset) != f->id)
      continue;
    const char *values = base + f->offset;
    size_t n = 1;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      n = *(const size_t *)(base + f->quantifier_offset);
      values = *(char *const *)values;
    } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
               !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
               f->type != PROTOBUF_C_TYPE_STRING &&
               f->type != PROTOBUF_C_TYPE_MESSAGE &&
               !*(const protobuf_c_boolean *)(base + f->quantifier_offset)) {
      continue; /* unset: its default */
    }
    for (size_t k = 0; k < n; k++) {
      if (f->type == PROTOBUF_C_TYPE_ENUM) {
        if (!fuzz_enum_has(f->descriptor, ((const int *)values)[k]))
          v->unknown_enum = true;
      } else if (f->type == PROTOBUF_C_TYPE_STRING &&
                 (f->reserved_flags & RS_FIELD_FLAG_UTF8)) {
        const char *s = ((const char *const *)values)[k];
        if (s != NULL && !fuzz_utf8_ok((const uint8_t *)s, strlen(s)))
          v->bad_utf8 = true;
      } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
        const ProtobufCMessage *sub =
            ((const ProtobufCMessage *const *)values)[k];
        if (sub != NULL) fuzz_view_scan(v, sub);
      }
    }
  }
}

/* Unpacks with protobuf-c, unless the walk found nesting too deep to let
 * it recurse (w). */
static inline fuzz_view fuzz_view_of(const ProtobufCMessageDescriptor *d,
                                     const uint8_t *b, size_t len,
                                     const fuzz_wire *w) {
  fuzz_view v;
  memset(&v, 0, sizeof v);
  if (w->too_deep || len > 65536) return v;
  v.tried = true;
  v.m = protobuf_c_message_unpack(d, NULL, len, b);
  if (v.m != NULL) fuzz_view_scan(&v, v.m);
  return v;
}

static inline void fuzz_view_free(fuzz_view *v) {
  if (v->m != NULL) protobuf_c_message_free_unpacked(v->m, NULL);
  v->m = NULL;
}

/* ---- classification -------------------------------------------------------
 */

/* One reader of the record. */
typedef struct fuzz_reader {
  unsigned version;
  rs_reader_framing framing;
  unsigned raw_writer;
} fuzz_reader;

static inline bool fuzz_same_str(const char *a, const char *b) {
  return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static inline bool fuzz_any_reason(const rs_classification *c,
                                   const char *needle) {
  for (size_t i = 0; i < rs_classification_reason_count(c); i++)
    if (strstr(rs_reason_text(rs_classification_reason(c, i)), needle) != NULL)
      return true;
  return false;
}

/* A reason names a limit (depth, allocation budget): what protobuf-c does
 * no longer decides the verdict. */
static inline bool fuzz_limited(const rs_classification *c) {
  return fuzz_any_reason(c, "deeper than the limit") ||
         fuzz_any_reason(c, "allocation budget") ||
         fuzz_any_reason(c, "over the limit");
}

static inline unsigned fuzz_popcount(uint64_t x) {
  unsigned n = 0;
  for (; x != 0; x &= x - 1) n++;
  return n;
}

/* rs_classify with every invariant that holds for any input. */
static inline rs_classification *fuzz_classify(const rs_options *opts,
                                               const fuzz_input *in,
                                               fuzz_reader r) {
  rs_options o = *opts;
  rs_reader reader = {RS_READER_VERSION,     r.version, r.framing, r.raw_writer,
                      RS_RUNTIME_PROTOBUF_C, 0u,        0u};
  rs_error err = RS_ERROR_INIT;
  rs_classification *c = NULL;
  int rc = rs_classify(&c, fuzz_pairs_registry(), in->type, &reader, in->rec,
                       in->len, &o, &err);
  FUZZ_CHECK(rc == 0 && c != NULL,
             "%s, reader %u framing %d raw writer %u: rs_classify returned "
             "%s: %s",
             in->type, r.version, (int)r.framing, r.raw_writer,
             rs_error_name(rc), err.message);
  rs_verdict v = rs_classification_verdict(c);
  FUZZ_CHECK((unsigned)v < RS_VERDICT_COUNT, "verdict %d", (int)v);
  FUZZ_CHECK(rs_classification_reader_version(c) == r.version,
             "reader version %u, asked for %u",
             rs_classification_reader_version(c), r.version);
  FUZZ_CHECK(rs_classification_reader_framing(c) == r.framing,
             "framing %d, asked for %d",
             (int)rs_classification_reader_framing(c), (int)r.framing);

  size_t n = rs_classification_reason_count(c);
  FUZZ_CHECK(n <= RS_MAX_REASONS, "%zu reasons kept", n);
  FUZZ_CHECK(n > 0 || v == RS_VERDICT_OK, "verdict %s without a reason",
             rs_verdict_name(v));
  rs_verdict worst = RS_VERDICT_OK, prev = RS_VERDICT_CORRUPT;
  for (size_t i = 0; i < n; i++) {
    const rs_reason *rr = rs_classification_reason(c, i);
    FUZZ_CHECK(rr != NULL, "reason %zu of %zu is NULL", i, n);
    rs_verdict rv = rs_reason_verdict(rr);
    FUZZ_CHECK(rv <= prev, "reason %zu (%s) after a less severe one", i,
               rs_verdict_name(rv));
    prev = rv;
    if (rv > worst) worst = rv;
    FUZZ_CHECK(rs_reason_path(rr) != NULL && rs_reason_text(rr) != NULL &&
                   rs_reason_text(rr)[0] != '\0',
               "reason %zu has no path or text", i);
    FUZZ_CHECK(rs_reason_offset(rr) == RS_OFFSET_NONE ||
                   rs_reason_offset(rr) <= in->len,
               "reason %zu offset %zu past the end of %zu bytes: %s", i,
               rs_reason_offset(rr), in->len, rs_reason_text(rr));
  }
  FUZZ_CHECK(worst == v, "verdict %s, but the worst reason is %s",
             rs_verdict_name(v), rs_verdict_name(worst));

  /* How the writer was found. */
  rs_writer_basis basis = rs_classification_writer_basis(c);
  uint64_t cands = rs_classification_writer_candidates(c);
  unsigned written = rs_classification_written_version(c);
  bool envelope = rs_envelope_detect(in->rec, in->len);
  /* Byte 0 of 0x00: Confluent's framing (no protobuf message starts so). */
  bool confluent = !envelope && rs_confluent_detect(in->rec, in->len);
  FUZZ_CHECK(
      rs_classification_encoding(c) == (envelope    ? RS_ENCODING_ENVELOPE
                                        : confluent ? RS_ENCODING_CONFLUENT
                                                    : RS_ENCODING_RAW),
      "encoding %s", rs_encoding_name(rs_classification_encoding(c)));
  if (envelope || confluent) {
    FUZZ_CHECK(basis == RS_WRITER_NAMED || basis == RS_WRITER_UNREGISTERED ||
                   basis == RS_WRITER_UNMAPPED || basis == RS_WRITER_NONE,
               "%s with basis %s", envelope ? "envelope" : "Confluent record",
               rs_writer_basis_name(basis));
    FUZZ_CHECK(cands == 0, "framed record with candidates %#llx",
               (unsigned long long)cands);
  } else if (r.raw_writer != 0) {
    FUZZ_CHECK(
        cands == 0 && (basis == RS_WRITER_GIVEN || basis == RS_WRITER_NONE),
        "raw writer %u given: basis %s, candidates %#llx", r.raw_writer,
        rs_writer_basis_name(basis), (unsigned long long)cands);
    if (basis == RS_WRITER_GIVEN)
      FUZZ_CHECK(written == r.raw_writer, "raw writer %u given, written %u",
                 r.raw_writer, written);
  } else {
    switch (basis) {
      case RS_WRITER_INFERRED:
        FUZZ_CHECK(fuzz_popcount(cands) >= 1 && written >= 1 && written <= 64 &&
                       (cands >> (written - 1) & 1),
                   "%s reader %u (max_alloc %zu, flags %#x): inferred writer "
                   "%u, candidates %#llx, verdict %s",
                   in->type, r.version, o.max_alloc, o.flags, written,
                   (unsigned long long)cands, rs_verdict_name(v));
        break;
      case RS_WRITER_AMBIGUOUS:
        FUZZ_CHECK(fuzz_popcount(cands) >= 2 && written == 0,
                   "%s reader %u (max_alloc %zu, flags %#x): ambiguous "
                   "writer, written %u, candidates %#llx",
                   in->type, r.version, o.max_alloc, o.flags, written,
                   (unsigned long long)cands);
        break;
      case RS_WRITER_NONE:
        FUZZ_CHECK(cands == 0 && v >= RS_VERDICT_UNREADABLE,
                   "no writer, verdict %s, candidates %#llx",
                   rs_verdict_name(v), (unsigned long long)cands);
        break;
      default:
        FUZZ_CHECK(false, "raw record with basis %s",
                   rs_writer_basis_name(basis));
    }
  }
  bool undecided =
      basis == RS_WRITER_AMBIGUOUS || basis == RS_WRITER_UNREGISTERED;
  FUZZ_CHECK(rs_classification_decided(c) ==
                 (!undecided || v >= RS_VERDICT_UNREADABLE),
             "decided %d with basis %s and verdict %s",
             rs_classification_decided(c), rs_writer_basis_name(basis),
             rs_verdict_name(v));
  return c;
}

/* The same verdict, basis and written version; with `all`, the same
 * candidates and reasons too. */
static inline void fuzz_check_same(const rs_classification *a,
                                   const rs_classification *b, bool all,
                                   const char *what, const fuzz_input *in,
                                   fuzz_reader r) {
  FUZZ_CHECK(rs_classification_verdict(a) == rs_classification_verdict(b) &&
                 rs_classification_writer_basis(a) ==
                     rs_classification_writer_basis(b) &&
                 rs_classification_written_version(a) ==
                     rs_classification_written_version(b),
             "%s, %s reader %u framing %d raw writer %u: %s/%s/%u and "
             "%s/%s/%u",
             what, in->type, r.version, (int)r.framing, r.raw_writer,
             rs_verdict_name(rs_classification_verdict(a)),
             rs_writer_basis_name(rs_classification_writer_basis(a)),
             rs_classification_written_version(a),
             rs_verdict_name(rs_classification_verdict(b)),
             rs_writer_basis_name(rs_classification_writer_basis(b)),
             rs_classification_written_version(b));
  if (!all) return;
  FUZZ_CHECK(rs_classification_writer_candidates(a) ==
                 rs_classification_writer_candidates(b),
             "%s: candidates %#llx and %#llx", what,
             (unsigned long long)rs_classification_writer_candidates(a),
             (unsigned long long)rs_classification_writer_candidates(b));
  size_t n = rs_classification_reason_count(a);
  FUZZ_CHECK(n == rs_classification_reason_count(b) &&
                 rs_classification_reasons_omitted(a) ==
                     rs_classification_reasons_omitted(b),
             "%s: %zu and %zu reasons", what, n,
             rs_classification_reason_count(b));
  for (size_t i = 0; i < n; i++) {
    const rs_reason *ra = rs_classification_reason(a, i);
    const rs_reason *rb = rs_classification_reason(b, i);
    FUZZ_CHECK(rs_reason_verdict(ra) == rs_reason_verdict(rb) &&
                   rs_reason_offset(ra) == rs_reason_offset(rb) &&
                   strcmp(rs_reason_path(ra), rs_reason_path(rb)) == 0 &&
                   strcmp(rs_reason_text(ra), rs_reason_text(rb)) == 0,
               "%s: reason %zu differs: \"%s\" and \"%s\"", what, i,
               rs_reason_text(ra), rs_reason_text(rb));
  }
}

/*
 * The classification with enough memory, after checking that the other
 * ways to ask agree with it: verdict-only with and without its quick path,
 * an arena instead of malloc, and a tight allocation budget (the same
 * verdict, or `unreadable` with a reason naming the budget).
 */
static inline rs_classification *fuzz_judge(const fuzz_input *in,
                                            fuzz_reader r) {
  rs_options o = fuzz_options();
  rs_classification *full = fuzz_classify(&o, in, r);

  rs_options quick = o;
  quick.flags |= RS_OPT_VERDICT_ONLY;
  rs_options slow = quick;
  slow.flags |= RS__OPT_NO_QUICK;
  rs_classification *q = fuzz_classify(&quick, in, r);
  rs_classification *s = fuzz_classify(&slow, in, r);
  fuzz_check_same(q, s, false, "verdict-only with and without the quick path",
                  in, r);
  fuzz_check_same(q, full, false, "verdict-only and full", in, r);
  rs_classification_free(q);
  rs_classification_free(s);

  rs_options ao = fuzz_arena_options();
  rs_classification *a = fuzz_classify(&ao, in, r);
  fuzz_check_same(full, a, true, "malloc and an arena", in, r);
  rs_classification_free(a);

  rs_options to = fuzz_tight_options();
  rs_classification *t = fuzz_classify(&to, in, r);
  if (rs_classification_verdict(t) != rs_classification_verdict(full))
    FUZZ_CHECK(fuzz_any_reason(t, "allocation budget") &&
                   rs_classification_verdict(t) >= RS_VERDICT_UNREADABLE,
               "%s reader %u raw writer %u: %s with %zu bytes of budget, %s "
               "with enough, and no reason names the budget",
               in->type, r.version, r.raw_writer,
               rs_verdict_name(rs_classification_verdict(t)), FUZZ_TIGHT_ALLOC,
               rs_verdict_name(rs_classification_verdict(full)));
  rs_classification_free(t);
  return full;
}

/*
 * What protobuf-c does with the reader's descriptor decides the verdict's
 * band, for a raw record and a reader that reads it as it is (not
 * up-converted): at most `misread` exactly when protobuf-c unpacks it (a
 * proto3 string that is not UTF-8 included: protobuf-c keeps it, and the
 * default reader runtime is protobuf-c); an unknown enum value protobuf-c
 * keeps is at least `misread`,
 * an unknown field at least `ignored_fields`, a required field protobuf-c
 * fills with its default at least `misread`.
 */
static inline void fuzz_check_reader(const rs_classification *c,
                                     const fuzz_input *in, fuzz_reader r,
                                     const fuzz_wire *w, const fuzz_view *pv) {
  if (!pv->tried || fuzz_limited(c)) return;
  rs_verdict v = rs_classification_verdict(c);
  const char *first = rs_classification_reason_count(c)
                          ? rs_reason_text(rs_classification_reason(c, 0))
                          : "no reason";
#define FUZZ_WHERE                                                     \
  "%s, reader %u raw writer %u: verdict %s (%s)", in->type, r.version, \
      r.raw_writer, rs_verdict_name(v), first
  if (pv->m == NULL) {
    FUZZ_CHECK(v >= RS_VERDICT_UNREADABLE,
               "protobuf-c fails on it; " FUZZ_WHERE);
    return;
  }
  FUZZ_CHECK(v < RS_VERDICT_UNREADABLE, "protobuf-c reads it; " FUZZ_WHERE);
  if (pv->unknown_enum)
    FUZZ_CHECK(v >= RS_VERDICT_MISREAD,
               "protobuf-c keeps an unknown enum value; " FUZZ_WHERE);
  if (pv->unknown_field)
    FUZZ_CHECK(v >= RS_VERDICT_IGNORED_FIELDS,
               "protobuf-c keeps an unknown field; " FUZZ_WHERE);
  if (w->missing_default)
    FUZZ_CHECK(v >= RS_VERDICT_MISREAD,
               "protobuf-c fills a missing required field with its "
               "default; " FUZZ_WHERE);
#undef FUZZ_WHERE
}

#endif
