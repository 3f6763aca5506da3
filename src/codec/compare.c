/*
 * What a reader sees against what the writer meant: the one definition of a
 * verdict.
 *
 * Both views are read off the wire, field by field. The reader's view
 * follows the rules of its runtime (rs__rules, rules.c); protobuf-c 1.4's
 * by default: the last occurrence of a singular scalar wins, occurrences
 * of a singular message merge as merge_messages does, a later member of a
 * oneof clears an earlier one, repeated scalars come packed or not, a bool
 * takes any wire type (parse_boolean: any of its bytes' low 7 bits set), a
 * string is a C string that ends at its first NUL. Other runtimes send a
 * field of another wire type, or an unknown value of a closed enum, to the
 * unknown-field set, fail invalid UTF-8 in proto3 strings, merge messages
 * as their payloads parsed one after the other, and stop at their
 * recursion limits. The writer's view is the same walk with the writer's
 * descriptor and the writer's meaning: messages merged, strings as bytes. The
 * two are compared by field number and by value, with types mapped: the
 * reader's int32 of the writer's int64, the reader's double of the writer's
 * fixed64, the reader's message of the writer's bytes.
 *
 *   misread        a field the reader knows has another value than the
 *                  writer's (unset counts), or an enum value its enum lacks
 *   ignored_fields the only differences are fields the reader does not know
 *   unreadable     the reader's parse fails (wire type, required field,
 *                  malformed bytes, depth)
 *
 * The same walk also tells whether a version explains raw bytes: decodes
 * them with no unknown field, every value in its type's range, every value
 * of a closed enum defined, every required field set (rs__explains).
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const rs__rules *rules_of(const rs__cmp *c) {
  return c->rules != NULL ? c->rules : &rs__rules_pbc;
}

/* ---- field paths -------------------------------------------------------- */

/*
 * A field path, kept as the fields pushed and spelled (as rs__path spells
 * it) only when a reason names it: most fields of most records are
 * compared without one. Past LPATH_MAX fields rs__path's text is full
 * (each field takes 3 characters at least, and 4 with its dot), so the
 * fields after those are counted, never kept.
 */
#define LPATH_MAX 256

typedef struct lseg {
  const char *name;
  uint64_t number;
  bool index;     /* name[number], else name(number) */
  uint32_t field; /* the field's number, for both */
} lseg;

typedef struct lpath {
  lseg segs[LPATH_MAX];
  size_t n;       /* fields pushed */
  rs__path spelt; /* the text of the last lp_text */
} lpath;

static inline size_t lp_push(lpath *p, const char *name, uint64_t number,
                             bool index, uint32_t field) {
  size_t mark = p->n;
  if (p->n < LPATH_MAX) {
    lseg *s = &p->segs[p->n];
    s->name = name;
    s->number = number;
    s->index = index;
    s->field = field;
  }
  p->n++;
  return mark;
}

static inline size_t lp_field(lpath *p, const char *name, uint32_t number) {
  return lp_push(p, name, number, false, number);
}

/* Element @p index of field @p field, spelt name[index]. */
static inline size_t lp_index(lpath *p, const char *name, size_t index,
                              uint32_t field) {
  return lp_push(p, name, index, true, field);
}

/* The record's field the path starts in; 0 for the record itself. */
static inline uint32_t lp_top(const lpath *p) {
  return p != NULL && p->n > 0 ? p->segs[0].field : 0;
}

static inline void lp_pop(lpath *p, size_t mark) {
  p->n = mark;
}

/* The path's text, valid until the next lp_text. */
static const char *lp_text(lpath *p) {
  rs__path *t = &p->spelt;
  t->len = 0;
  t->buf[0] = '\0';
  size_t n = p->n < LPATH_MAX ? p->n : LPATH_MAX;
  for (size_t i = 0; i < n; i++) {
    const lseg *s = &p->segs[i];
    if (s->index)
      rs__path_push_index(t, s->name, (size_t)s->number);
    else
      rs__path_push_field(t, s->name, (uint32_t)s->number);
  }
  return t->buf;
}

/* ---- occurrences -------------------------------------------------------- */

typedef struct occ {
  uint32_t number;
  uint8_t wt;
  size_t order;   /* position among the message's fields */
  size_t at;      /* tag offset in the message's bytes */
  size_t voff;    /* value offset (after a length prefix) */
  size_t vlen;    /* value bytes */
  size_t plen;    /* length prefix bytes (LEN) */
  uint64_t value; /* varint, or fixed bits */
} occ;

typedef struct occs {
  occ *items; /* sorted by (number, order) */
  size_t n;
  size_t bad_at; /* where the bytes stop making sense, or SIZE_MAX */
  const char *why;
  bool on_stack; /* items is the caller's OCCS_INLINE (not freed) */
} occs;

/* Occurrences a message holds without an allocation: most messages have
 * fewer fields. The budget is charged for them all the same. */
#define OCCS_INLINE 16

static void occs_free(occs *os, const ProtobufCAllocator *a) {
  if (!os->on_stack) rs__free(a, os->items);
  os->items = NULL;
}

static int occ_cmp(const void *a, const void *b) {
  const occ *x = a, *y = b;
  if (x->number != y->number) return x->number < y->number ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* Reads every field of one message's bytes as runtime r reads tags, into
 * the caller's OCCS_INLINE occurrences first (a's budget b charged as if
 * they were allocated). RS_ENOMEM/RS_ELIMIT only. */
static int gather(occs *out, occ *inl, const rs__rules *r, const uint8_t *buf,
                  size_t len, const ProtobufCAllocator *a, rs__budget *b) {
  memset(out, 0, sizeof *out);
  out->bad_at = SIZE_MAX;
  size_t cap = 0, pos = 0;
  bool sorted = true;
  while (pos < len) {
    rs__wfield f;
    const char *why;
    if (rs__read_field_rt(r, buf, len, &pos, &f, &why) != 0) {
      out->bad_at = pos;
      out->why = why;
      break;
    }
    if (out->n == cap) {
      size_t ncap = cap ? cap * 2 : OCCS_INLINE;
      if (cap == 0 && inl != NULL) {
        if (b != NULL && !rs__budget_charge(b, ncap * sizeof *inl))
          return rs__budget_code(b);
        out->items = inl;
        out->on_stack = true;
      } else {
        occ *grown = rs__alloc(a, ncap * sizeof *grown);
        if (grown == NULL) return b != NULL ? rs__budget_code(b) : RS_ENOMEM;
        if (out->n) memcpy(grown, out->items, out->n * sizeof *grown);
        occs_free(out, a);
        out->items = grown;
        out->on_stack = false;
      }
      cap = ncap;
    }
    /* Fields come in number order as a rule: then no sort is needed. */
    if (out->n > 0 && out->items[out->n - 1].number > f.number) sorted = false;
    occ *o = &out->items[out->n];
    o->number = f.number;
    o->wt = (uint8_t)f.wire_type;
    o->order = out->n;
    o->at = f.tag_offset;
    o->voff = f.value_offset;
    o->vlen = f.value_len;
    o->plen = f.wire_type == RS__WT_LEN ? f.value_offset - f.tag_offset : 0;
    if (f.wire_type == RS__WT_LEN) {
      /* The prefix is what lies between the tag and the value. */
      size_t tag_len = 0;
      uint64_t key = ((uint64_t)f.number << 3) | RS__WT_LEN;
      tag_len = rs__varint_size(key);
      /* A non-canonical tag is longer; the prefix is at least 1 byte. */
      size_t between = f.value_offset - f.tag_offset;
      o->plen = between > tag_len ? between - tag_len : 1;
    }
    o->value = f.value;
    out->n++;
  }
  /* Already in (number, order) order: equal numbers come in order. */
  if (out->n > 1 && !sorted)
    qsort(out->items, out->n, sizeof *out->items, occ_cmp);
  return 0;
}

/* The occurrences of field `number`: [*first, *first + count). */
static size_t find_occ(const occs *os, uint32_t number, size_t *first) {
  size_t lo = 0, hi = os->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (os->items[mid].number < number)
      lo = mid + 1;
    else
      hi = mid;
  }
  *first = lo;
  size_t k = lo;
  while (k < os->n && os->items[k].number == number) k++;
  return k - lo;
}

/* ---- values ------------------------------------------------------------- */

enum { V_INT = 0, V_FLOAT = 1, V_BYTES = 2, V_MSG = 3 };

typedef struct val {
  uint8_t kind;
  bool is32;     /* V_FLOAT: a float */
  rs__ival i;    /* V_INT */
  double d;      /* V_FLOAT */
  uint64_t bits; /* V_FLOAT */
  const uint8_t *p;
  size_t n;      /* V_BYTES, V_MSG: the payload (merged for singular) */
  size_t at;     /* tag offset in the message's bytes */
  size_t base;   /* offset of p in the message's bytes (V_MSG) */
  bool enum_bad; /* an enum value its descriptor lacks */
  bool replaced; /* a string the reader's runtime decoded with U+FFFD */
} val;

typedef struct vals {
  val *v;
  size_t n;
  bool wire_bad;     /* an occurrence with a wire type the field cannot take */
  size_t wire_at;    /* its tag offset */
  unsigned wire_got; /* its wire type */
  bool packed_bad;   /* a malformed packed run */
  size_t packed_at;
  bool utf8_bad;
  size_t utf8_at;
  size_t bad_index; /* element index of the first wire or UTF-8 problem */
  bool merged;      /* a singular message merged from several occurrences */
  /* Occurrences (or packed elements) the reader's runtime sent to its
   * unknown-field set: another wire type (dropped_wt), an unknown value of
   * a closed enum (dropped_enum), a map entry holding one. */
  size_t dropped;
  size_t dropped_at;
  bool dropped_wt;
  unsigned dropped_got;
  bool dropped_enum;
  uint64_t dropped_value;
  /* The writer's: occurrences of a wire type the field is never written
   * with, which the writer's runtime keeps unknown (foreign_wt, the
   * first's). */
  size_t foreign;
  unsigned foreign_wt;
  bool on_stack; /* v is rs__compare's VALS_INLINE (not freed) */
  val *inl;      /* those, or NULL */
} vals;

/* Values a field holds without an allocation (most hold one), charged to
 * the budget all the same. */
#define VALS_INLINE 4

/*
 * rs__compare's working memory for the first POOL_DEPTHS levels of a
 * record, one slot a level and side (writer, reader): each level's
 * occurrences (compare_msg) and each field's values (compare_field) live
 * there while deeper levels use the next slot. Deeper levels allocate.
 */
#define POOL_DEPTHS 4

/* Reasons a walk one level down (sub_walk) keeps, for its worst verdict. */
#define SUB_NOTES 4
typedef struct rs__cmp_pool {
  occ occs[POOL_DEPTHS][2][OCCS_INLINE];
  val vals[POOL_DEPTHS][2][VALS_INLINE];
} cmp_pool;

static bool is_fixed32_type(ProtobufCType t) {
  return t == PROTOBUF_C_TYPE_FIXED32 || t == PROTOBUF_C_TYPE_SFIXED32 ||
         t == PROTOBUF_C_TYPE_FLOAT;
}
static bool is_fixed64_type(ProtobufCType t) {
  return t == PROTOBUF_C_TYPE_FIXED64 || t == PROTOBUF_C_TYPE_SFIXED64 ||
         t == PROTOBUF_C_TYPE_DOUBLE;
}

/* A varint of n bytes as a field of type t holds it: as the writer meant
 * it (r NULL: its low 64 bits), or as the reader's runtime r reads it
 * (Java's fast path sets bit 63 of a ten-byte varint read as 64 bits,
 * whatever its last byte holds). */
static uint64_t varint_as(const rs__rules *r, ProtobufCType t, uint64_t raw,
                          size_t n) {
  if (r != NULL && r->varint64_bit63 && n == 10 &&
      (t == PROTOBUF_C_TYPE_INT64 || t == PROTOBUF_C_TYPE_UINT64 ||
       t == PROTOBUF_C_TYPE_SINT64 || t == PROTOBUF_C_TYPE_BOOL))
    raw |= (uint64_t)1 << 63;
  return raw;
}

/* A fixed-width value as a field of type t holds it. */
static val fixed_val(ProtobufCType t, uint64_t bits) {
  val v;
  memset(&v, 0, sizeof v);
  switch (t) {
    case PROTOBUF_C_TYPE_FLOAT: {
      uint32_t u = (uint32_t)bits;
      float f;
      memcpy(&f, &u, sizeof f);
      v.kind = V_FLOAT;
      v.is32 = true;
      v.d = f;
      v.bits = u;
      break;
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
      double d;
      memcpy(&d, &bits, sizeof d);
      v.kind = V_FLOAT;
      v.d = d;
      v.bits = bits;
      break;
    }
    case PROTOBUF_C_TYPE_SFIXED32:
      v.kind = V_INT;
      v.i.neg = (int32_t)(uint32_t)bits < 0;
      v.i.mag = v.i.neg ? (uint64_t)(-(int64_t)(int32_t)(uint32_t)bits)
                        : (uint32_t)bits;
      break;
    case PROTOBUF_C_TYPE_FIXED32:
      v.kind = V_INT;
      v.i.mag = (uint32_t)bits;
      break;
    case PROTOBUF_C_TYPE_SFIXED64:
      v.kind = V_INT;
      v.i.neg = (int64_t)bits < 0;
      v.i.mag = v.i.neg ? 0 - bits : bits;
      break;
    default: /* FIXED64 */
      v.kind = V_INT;
      v.i.mag = bits;
      break;
  }
  return v;
}

/* protobuf-c's parse_boolean over a member's bytes (the prefix included). */
static bool pbc_boolean(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] & 0x7f) return true;
  return false;
}

static bool enum_value_bad(const ProtobufCFieldDescriptor *f, uint64_t raw) {
  return f->type == PROTOBUF_C_TYPE_ENUM &&
         !rs__enum_known(f->descriptor, (int)(uint32_t)raw);
}

static int vals_push(vals *vs, size_t *cap, val v, const ProtobufCAllocator *a,
                     rs__budget *b) {
  if (vs->n == *cap) {
    size_t ncap = *cap ? *cap * 2 : VALS_INLINE;
    if (*cap == 0 && vs->inl != NULL) {
      if (b != NULL && !rs__budget_charge(b, ncap * sizeof v))
        return rs__budget_code(b);
      vs->v = vs->inl;
      vs->on_stack = true;
    } else {
      val *grown = rs__alloc(a, ncap * sizeof *grown);
      if (grown == NULL) return b != NULL ? rs__budget_code(b) : RS_ENOMEM;
      if (vs->n) memcpy(grown, vs->v, vs->n * sizeof *grown);
      if (!vs->on_stack) rs__free(a, vs->v);
      vs->v = grown;
      vs->on_stack = false;
    }
    *cap = ncap;
  }
  vs->v[vs->n++] = v;
  return 0;
}

/* Whether a field of f's type takes wire type wt, as protobuf-c decides
 * (pbc), or as the other runtimes do. */
static bool takes_wire_type(const ProtobufCFieldDescriptor *f, unsigned wt,
                            bool pbc) {
  /* parse_required_member reads a bool without looking at the wire type;
   * a repeated one takes wire type 2 as packed. */
  if (pbc && f->type == PROTOBUF_C_TYPE_BOOL)
    return wt <= RS__WT_LEN || wt == RS__WT_I32;
  return rs__wire_type_ok(f, wt);
}

bool rs__is_map_field(const ProtobufCFieldDescriptor *f) {
  return f->type == PROTOBUF_C_TYPE_MESSAGE &&
         f->label == PROTOBUF_C_LABEL_REPEATED &&
         rs__is_map_entry(f->descriptor);
}

bool rs__is_map_entry(const ProtobufCMessageDescriptor *e) {
  size_t n = strlen(e->name);
  return e->n_fields == 2 && n > 5 && strcmp(e->name + n - 5, "Entry") == 0 &&
         e->fields[0].id == 1 && strcmp(e->fields[0].name, "key") == 0 &&
         e->fields[1].id == 2 && strcmp(e->fields[1].name, "value") == 0;
}

/* Whether a closed enum of runtime r drops the number: r sends an unknown
 * value of a closed enum to the unknown-field set. */
static bool enum_dropped(const rs__rules *r,
                         const ProtobufCMessageDescriptor *d,
                         const ProtobufCFieldDescriptor *f, uint64_t raw) {
  return r->closed_enums && f->type == PROTOBUF_C_TYPE_ENUM &&
         !rs__enum_known(f->descriptor, (int)(uint32_t)raw) &&
         rs__enum_closed(d, f);
}

/* Whether runtime r drops a map entry (an occurrence of map field f, the
 * entry's bytes p[0..n)) whole: its value is an unknown number of a closed
 * enum (C++ and Java; Python keeps the key with the value's default). */
static bool entry_dropped(const rs__rules *r, const ProtobufCFieldDescriptor *f,
                          const uint8_t *p, size_t n, uint64_t *value) {
  if (!r->map_entry_drop || !rs__is_map_field(f)) return false;
  const ProtobufCMessageDescriptor *e = f->descriptor;
  const ProtobufCFieldDescriptor *vf = &e->fields[1];
  if (vf->type != PROTOBUF_C_TYPE_ENUM) return false;
  size_t pos = 0;
  bool drop = false;
  while (pos < n) {
    rs__wfield w;
    const char *why;
    if (rs__read_field_rt(r, p, n, &pos, &w, &why) != 0) return false;
    /* The last value wins; a known one after an unknown one keeps it. */
    if (w.number == 2 && w.wire_type == RS__WT_VARINT) {
      drop = enum_dropped(r, e, vf, w.value);
      *value = w.value;
    }
  }
  return drop;
}

/*
 * The values field f holds after a parse of the occurrences os[first ..
 * first + count), as protobuf-c builds them. Singular fields keep the last
 * value; a singular message merges its occurrences.
 */
static int pbc_merge(uint8_t **out, size_t *out_len,
                     const ProtobufCMessageDescriptor *d, const uint8_t *prev,
                     size_t prev_len, const uint8_t *next, size_t next_len,
                     const ProtobufCAllocator *a, rs__budget *b);

/* Notes an occurrence or element the reader's runtime sends to its
 * unknown-field set instead of reading it. */
static void vals_drop(vals *vs, size_t at, bool wire, unsigned wt,
                      uint64_t value) {
  if (vs->dropped++ == 0) vs->dropped_at = at;
  if (wire && !vs->dropped_wt) {
    vs->dropped_wt = true;
    vs->dropped_got = wt;
  }
  if (!wire && !vs->dropped_enum) {
    vs->dropped_enum = true;
    vs->dropped_value = value;
  }
}

/*
 * The values field f (of message D) holds after a parse of the occurrences
 * os[0 .. count): as the reader's runtime r builds them (reader), or as the
 * writer meant them (the writer's runtime reads its own bytes: messages
 * merged as their payloads parse one after the other, strings as bytes).
 * Singular fields keep the last value; a singular message merges its
 * occurrences.
 */
static int field_vals(vals *vs, val *inl, const ProtobufCMessageDescriptor *D,
                      const ProtobufCFieldDescriptor *f, const uint8_t *buf,
                      const occ *os, size_t count, bool reader,
                      const rs__rules *r, const ProtobufCAllocator *a,
                      rs__budget *b) {
  memset(vs, 0, sizeof *vs);
  vs->inl = inl;
  size_t cap = 0;
  bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
  /* What only the reader's runtime does: the writer meant what a runtime
   * other than protobuf-c reads of its own bytes. */
  bool pbc = reader && r->pbc;
  bool closed = reader && r->closed_enums && f->type == PROTOBUF_C_TYPE_ENUM &&
                rs__enum_closed(D, f);
  for (size_t k = 0; k < count; k++) {
    const occ *o = &os[k];
    if (!takes_wire_type(f, o->wt, pbc)) {
      /* Not a value the writer set (its runtime keeps it unknown). */
      if (!reader) {
        if (vs->foreign++ == 0) vs->foreign_wt = o->wt;
        continue;
      }
      if (r->wire_unknown) {
        vals_drop(vs, o->at, true, o->wt, 0);
        continue;
      }
      if (!vs->wire_bad) {
        vs->wire_bad = true;
        vs->wire_at = o->at;
        vs->wire_got = o->wt;
        vs->bad_index = vs->n;
      }
      continue;
    }
    const uint8_t *p = buf + o->voff;
    if (repeated && o->wt == RS__WT_LEN && rs__is_packable(f)) {
      size_t pos = 0;
      while (pos < o->vlen) {
        val v;
        memset(&v, 0, sizeof v);
        v.at = o->at;
        if (is_fixed32_type(f->type) || is_fixed64_type(f->type)) {
          size_t w = is_fixed32_type(f->type) ? 4 : 8;
          if (o->vlen % w != 0) {
            vs->packed_bad = true;
            vs->packed_at = o->at;
            break;
          }
          uint64_t bits = 0;
          for (size_t i = 0; i < w; i++)
            bits |= (uint64_t)p[pos + i] << (8 * i);
          v = fixed_val(f->type, bits);
          v.at = o->at;
          pos += w;
        } else {
          uint64_t raw;
          size_t start = pos;
          if (rs__read_varint(p, o->vlen, &pos, &raw) != 0) {
            vs->packed_bad = true;
            vs->packed_at = o->at;
            break;
          }
          if (closed && enum_dropped(r, D, f, raw)) {
            vals_drop(vs, o->at, false, 0, raw);
            continue;
          }
          v.kind = V_INT;
          uint64_t got =
              varint_as(reader ? r : NULL, f->type, raw, pos - start);
          if (f->type == PROTOBUF_C_TYPE_BOOL)
            v.i.mag = pbc ? pbc_boolean(p + start, pos - start) : got != 0;
          else
            v.i = rs__varint_value(f->type, got);
          v.enum_bad = enum_value_bad(f, raw);
        }
        int rc = vals_push(vs, &cap, v, a, b);
        if (rc != 0) return rc;
      }
      continue;
    }
    val v;
    memset(&v, 0, sizeof v);
    v.at = o->at;
    switch (f->type) {
      case PROTOBUF_C_TYPE_BOOL:
        v.kind = V_INT;
        /* protobuf-c's parse_boolean: any bit of any byte, a
         * length-delimited member with its prefix; the others read 64
         * bits. */
        if (!pbc)
          v.i.mag =
              varint_as(reader ? r : NULL, f->type, o->value, o->vlen) != 0;
        else if (o->wt == RS__WT_LEN)
          v.i.mag = pbc_boolean(buf + o->voff - o->plen, o->plen + o->vlen);
        else
          v.i.mag = pbc_boolean(p, o->vlen);
        break;
      case PROTOBUF_C_TYPE_STRING:
      case PROTOBUF_C_TYPE_BYTES:
        v.kind = V_BYTES;
        v.p = p;
        v.n = o->vlen;
        v.base = o->voff;
        /* protobuf-c checks no string: only the others look. */
        if (!reader || f->type != PROTOBUF_C_TYPE_STRING ||
            !(r->utf8_fails || r->utf8_replaces))
          break;
        if (rs__field_wants_utf8(f) ||
            (r->utf8_map_strict && rs__is_map_entry(D))) {
          /* A string that must be UTF-8 fails the record. */
          if (r->utf8_fails && !vs->utf8_bad && !vs->wire_bad &&
              rs__utf8_valid_prefix(p, o->vlen) != o->vlen) {
            vs->utf8_bad = true;
            vs->utf8_at = o->at;
            vs->bad_index = vs->n;
          }
        } else if (r->utf8_replaces &&
                   rs__utf8_valid_prefix(p, o->vlen) != o->vlen) {
          v.replaced = true;
        }
        break;
      case PROTOBUF_C_TYPE_MESSAGE:
        if (reader) {
          uint64_t value;
          if (entry_dropped(r, f, p, o->vlen, &value)) {
            vals_drop(vs, o->at, false, 0, value);
            continue;
          }
        }
        v.kind = V_MSG;
        v.p = p;
        v.n = o->vlen;
        v.base = o->voff;
        break;
      default:
        if (o->wt == RS__WT_VARINT) {
          if (closed && enum_dropped(r, D, f, o->value)) {
            vals_drop(vs, o->at, false, 0, o->value);
            continue;
          }
          v.kind = V_INT;
          v.i = rs__varint_value(f->type, varint_as(reader ? r : NULL, f->type,
                                                    o->value, o->vlen));
          v.enum_bad = enum_value_bad(f, o->value);
        } else {
          v = fixed_val(f->type, o->value);
          v.at = o->at;
        }
        break;
    }
    if (!repeated && vs->n > 0) {
      bool replace =
          f->type != PROTOBUF_C_TYPE_MESSAGE ||
          /* protobuf-c's parse_oneof_member frees the earlier
           * value of the same member: no merge. */
          (reader && r->pbc && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF));
      if (replace) {
        if (vs->merged) rs__free(a, (void *)vs->v[0].p);
        vs->merged = false;
        vs->v[0] = v;
        continue;
      }
      /* Merge. The writer's runtime, and every reader's but protobuf-c's,
       * merges as the payloads one after the other parse; protobuf-c's
       * merge_messages keeps less of the earlier one (pbc_merge). */
      val *prev = &vs->v[0];
      uint8_t *joined = NULL;
      size_t joined_len = 0;
      int rc;
      if (reader && r->pbc) {
        rc = pbc_merge(&joined, &joined_len, f->descriptor, prev->p, prev->n,
                       v.p, v.n, a, b);
      } else {
        joined = rs__alloc(a, prev->n + v.n + 1);
        rc = joined == NULL ? (b != NULL ? rs__budget_code(b) : RS_ENOMEM) : 0;
        if (rc == 0) {
          memcpy(joined, prev->p, prev->n);
          memcpy(joined + prev->n, v.p, v.n);
          joined_len = prev->n + v.n;
        }
      }
      if (rc != 0) return rc;
      if (vs->merged) rs__free(a, (void *)prev->p);
      prev->p = joined;
      prev->n = joined_len;
      prev->at = v.at;
      vs->merged = true;
      continue;
    }
    int rc = vals_push(vs, &cap, v, a, b);
    if (rc != 0) return rc;
  }
  return 0;
}

/*
 * protobuf-c 1.4's merge_messages(earlier, latter) as bytes: the fields of
 * the earlier payload it keeps, then the latter payload, which parse as its
 * result. It keeps repeated fields (before the latter's), and a string,
 * bytes, message, optional scalar or oneof member the latter lacks; it
 * never keeps a required field or a proto3 scalar without presence (its
 * has-flag lookup reads no flag there), so the latter's value, or the
 * default, stands.
 */
static int pbc_merge(uint8_t **out, size_t *out_len,
                     const ProtobufCMessageDescriptor *d, const uint8_t *prev,
                     size_t prev_len, const uint8_t *next, size_t next_len,
                     const ProtobufCAllocator *a, rs__budget *b) {
  uint8_t *joined = rs__alloc(a, prev_len + next_len + 1);
  if (joined == NULL) return b != NULL ? rs__budget_code(b) : RS_ENOMEM;
  size_t n = 0, pos = 0;
  while (pos < prev_len) {
    rs__wfield f;
    const char *why;
    size_t start = pos;
    if (rs__read_field(prev, prev_len, &pos, &f, &why) != 0) {
      /* Malformed: kept as it is; the parse fails on it either way. */
      memcpy(joined + n, prev + start, prev_len - start);
      n += prev_len - start;
      break;
    }
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(d, f.number);
    bool keep = true;
    if (fd != NULL && fd->label == PROTOBUF_C_LABEL_REQUIRED) {
      keep = false;
    } else if (fd != NULL && (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
      /* Kept only when the latter sets no member of the oneof. */
      size_t q = 0;
      while (keep && q < next_len) {
        rs__wfield g;
        if (rs__read_field(next, next_len, &q, &g, &why) != 0) break;
        const ProtobufCFieldDescriptor *gd =
            protobuf_c_message_descriptor_get_field(d, g.number);
        if (gd != NULL && (gd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            gd->quantifier_offset == fd->quantifier_offset)
          keep = false;
      }
    } else if (fd != NULL && fd->label == PROTOBUF_C_LABEL_NONE &&
               fd->type != PROTOBUF_C_TYPE_STRING &&
               fd->type != PROTOBUF_C_TYPE_BYTES &&
               fd->type != PROTOBUF_C_TYPE_MESSAGE) {
      keep = false;
    }
    if (keep) {
      memcpy(joined + n, prev + start, pos - start);
      n += pos - start;
    }
  }
  memcpy(joined + n, next, next_len);
  *out = joined;
  *out_len = n + next_len;
  return 0;
}

static void vals_dispose(vals *vs, const ProtobufCAllocator *a) {
  if (vs->merged && vs->n > 0) rs__free(a, (void *)vs->v[0].p);
  if (!vs->on_stack) rs__free(a, vs->v);
  vs->v = NULL;
  vs->n = 0;
}

/* ---- the comparison ------------------------------------------------------ */

static bool wide_int(ProtobufCType t) {
  return t == PROTOBUF_C_TYPE_INT64 || t == PROTOBUF_C_TYPE_UINT64 ||
         t == PROTOBUF_C_TYPE_SINT64 || t == PROTOBUF_C_TYPE_SFIXED64 ||
         t == PROTOBUF_C_TYPE_FIXED64;
}

/* Every reason names its cause with a code (rs__reason_code): a static
 * constant, so that the ok path pays nothing for it. */
static void note(rs__cmp *c, rs_verdict v, int code, const char *path,
                 uint32_t field, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static void note(rs__cmp *c, rs_verdict v, int code, const char *path,
                 uint32_t field, size_t offset, const char *fmt, ...) {
  assert(code > RS__RC_NONE && code < RS__RC_COUNT);
  if (c->rc != 0) return;
  if (c->stop_at != 0 && (int)v >= c->stop_at) c->stopped = true;
  if (c->end != 0 && offset != RS_OFFSET_NONE && offset > c->end)
    offset = RS_OFFSET_NONE;
  /* A record of a million unknown fields notes each: one the full list
   * would drop is counted without being written. */
  /* Every path names the walk's fields from the record down. */
  uint32_t top = path != NULL && path[0] != '\0' ? lp_top(c->path) : 0;
  if (rs__notes_skip(c->notes, (int)v, top)) {
    if ((int)v > c->worst) c->worst = (int)v;
    return;
  }
  char text[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (c->prefix != NULL && c->prefix[0] != '\0')
    c->rc = rs__notes_add(c->notes, (int)v, code, path, top, field, offset,
                          "%s%s", c->prefix, text);
  else
    c->rc = rs__notes_add_text(c->notes, (int)v, code, path, top, field, offset,
                               text);
  if (c->rc == 0 && (int)v > c->worst) c->worst = (int)v;
}

/* A value as a report shows it. */
static void val_format(const val *v, const ProtobufCFieldDescriptor *f,
                       char *out, size_t n) {
  switch (v->kind) {
    case V_INT:
      if (f->type == PROTOBUF_C_TYPE_BOOL) {
        snprintf(out, n, "%s", v->i.mag ? "true" : "false");
      } else if (f->type == PROTOBUF_C_TYPE_ENUM) {
        char num[32];
        rs__ival_format(v->i, num, sizeof num);
        const ProtobufCEnumValue *ev =
            v->i.mag <= 0x80000000u
                ? rs__enum_value(f->descriptor, v->i.neg
                                                    ? (int)-(int64_t)v->i.mag
                                                    : (int)v->i.mag)
                : NULL;
        if (ev != NULL)
          snprintf(out, n, "%s (%s)", ev->name, num);
        else
          snprintf(out, n, "%s", num);
      } else {
        rs__ival_format(v->i, out, n);
      }
      return;
    case V_FLOAT:
      snprintf(out, n, "%.*g", v->is32 ? 9 : 17, v->d);
      return;
    case V_BYTES: {
      bool text = v->n <= 32;
      for (size_t i = 0; text && i < v->n; i++)
        text = v->p[i] >= 0x20 && v->p[i] < 0x7f && v->p[i] != '"';
      if (text)
        snprintf(out, n, "\"%.*s\"", (int)v->n, (const char *)v->p);
      else
        snprintf(out, n, "%zu bytes", v->n);
      return;
    }
    default:
      snprintf(out, n, "a %s message (%zu bytes)",
               ((const ProtobufCMessageDescriptor *)f->descriptor)->name, v->n);
      return;
  }
}

/* Whether an integer equals a floating-point value exactly. */
static bool int_eq_float(rs__ival i, double d) {
  if (d != d || d - d != 0) return false; /* NaN, infinities */
  if (d == 0) return i.mag == 0;
  if ((d < 0) != i.neg) return false;
  double m = d < 0 ? -d : d;
  if (m >= 18446744073709551616.0) return false;
  uint64_t u = (uint64_t)m;
  return (double)u == m && u == i.mag;
}

static void compare_msg(rs__cmp *c, const ProtobufCMessageDescriptor *W,
                        const uint8_t *wb, size_t wlen, size_t wbase,
                        const ProtobufCMessageDescriptor *R, const uint8_t *rb,
                        size_t rlen, size_t rbase, unsigned depth, lpath *path,
                        bool top);

/*
 * Whether an enum number names different values in the two versions while
 * a name moved to another number (GREEN = 1 became RED = 1 and GREEN = 2):
 * a reused number, not a renamed value.
 */
static bool enum_number_reused(const ProtobufCEnumDescriptor *we,
                               const ProtobufCEnumDescriptor *re,
                               rs__ival value) {
  if (we == re || value.mag > 0x80000000u) return false;
  int v = value.neg ? (int)-(int64_t)value.mag : (int)value.mag;
  const ProtobufCEnumValue *wv = rs__enum_value(we, v);
  const ProtobufCEnumValue *rv = rs__enum_value(re, v);
  if (wv == NULL || rv == NULL || strcmp(wv->name, rv->name) == 0) return false;
  const ProtobufCEnumValue *moved_w =
      protobuf_c_enum_descriptor_get_value_by_name(re, wv->name);
  const ProtobufCEnumValue *moved_r =
      protobuf_c_enum_descriptor_get_value_by_name(we, rv->name);
  return (moved_w != NULL && moved_w->value != v) ||
         (moved_r != NULL && moved_r->value != v);
}

/*
 * Compares two message payloads one level down with the reasons kept in
 * scratch (initialised here; the caller disposes of it): the worst
 * verdict.
 */
static int sub_walk(rs__cmp *c, rs__notes *scratch,
                    const ProtobufCMessageDescriptor *W, const val *w,
                    size_t wbase, const ProtobufCMessageDescriptor *R,
                    const val *r, size_t rbase, unsigned depth, lpath *path) {
  rs__notes_init(scratch, c->a, SUB_NOTES);
  rs__cmp sub = *c;
  sub.notes = scratch;
  sub.prefix = NULL;
  sub.worst = 0;
  sub.stop_at = 0;
  sub.stopped = false;
  sub.skip = NULL;
  sub.n_skip = 0;
  size_t mark = path->n;
  compare_msg(&sub, W, w->p, w->n, wbase + w->base, R, r->p, r->n,
              rbase + r->base, depth + 1, path, false);
  lp_pop(path, mark);
  c->rc = sub.rc;
  c->too_deep |= sub.too_deep;
  return sub.worst;
}

/*
 * The worst verdict of comparing two message payloads one level down, with
 * the reasons kept to itself: for deciding a value of another kind (bytes
 * that may be a message's encoding).
 */
static int sub_worst(rs__cmp *c, const ProtobufCMessageDescriptor *W,
                     const val *w, size_t wbase,
                     const ProtobufCMessageDescriptor *R, const val *r,
                     size_t rbase, unsigned depth, lpath *path) {
  rs__notes scratch;
  int worst = sub_walk(c, &scratch, W, w, wbase, R, r, rbase, depth, path);
  rs__notes_dispose(&scratch, c->a);
  return worst;
}

/*
 * Whether the reader's runtime fails the record parsing r, one message it
 * reads into rf where no comparison walks it, and if so notes why. An
 * occurrence a later member of its oneof cleared (cleared) is parsed all
 * the same, but its required fields are never checked: the message is gone
 * before the runtime looks for them.
 */
static bool reader_msg_fails(rs__cmp *c, const ProtobufCFieldDescriptor *rf,
                             const val *r, size_t rbase, unsigned depth,
                             lpath *path, bool cleared) {
  rs__notes scratch;
  int worst = sub_walk(c, &scratch, rf->descriptor, r, rbase, rf->descriptor, r,
                       rbase, depth, path);
  const rs__note *n = NULL;
  if (worst >= RS_VERDICT_UNREADABLE)
    for (size_t k = 0; k < scratch.n && n == NULL; k++)
      if (scratch.items[k].kind >= RS_VERDICT_UNREADABLE &&
          !(cleared && scratch.items[k].code == RS__RC_REQUIRED_MISSING))
        n = &scratch.items[k];
  bool failed = worst >= RS_VERDICT_UNREADABLE && (n != NULL || !cleared);
  if (n != NULL)
    note(c, RS_VERDICT_UNREADABLE, n->code, n->path, n->field, n->offset, "%s",
         n->text);
  else if (failed)
    note(c, RS_VERDICT_UNREADABLE, RS__RC_NESTED_MESSAGE_FAILS, lp_text(path),
         rf->id, rbase + r->at, "%s parses it as a %s message and fails",
         c->reader_label,
         ((const ProtobufCMessageDescriptor *)rf->descriptor)->name);
  rs__notes_dispose(&scratch, c->a);
  return failed;
}

/*
 * The reader's own parse of the messages its runtime reads into rf, where
 * no comparison walks them: a failure inside fails the whole record. (For
 * protobuf-c its own unpack says so: classify's last word.)
 */
static void check_reader_msgs(rs__cmp *c, const ProtobufCFieldDescriptor *rf,
                              const vals *rv, size_t rbase, unsigned depth,
                              lpath *path) {
  if (rules_of(c)->pbc || rf->type != PROTOBUF_C_TYPE_MESSAGE) return;
  for (size_t i = 0; i < rv->n && c->rc == 0; i++)
    if (rv->v[i].kind == V_MSG &&
        reader_msg_fails(c, rf, &rv->v[i], rbase, depth, path, false))
      break;
}

/*
 * The occurrences of a message member that a later member of its oneof
 * cleared (the first n of rp): the runtime parsed each before clearing it,
 * and one it cannot parse fails the record.
 */
static void check_cleared_msgs(rs__cmp *c, const ProtobufCFieldDescriptor *rf,
                               const uint8_t *rb, const occ *rp, size_t n,
                               size_t rbase, unsigned depth, lpath *path) {
  if (rules_of(c)->pbc || rf->type != PROTOBUF_C_TYPE_MESSAGE) return;
  for (size_t k = 0; k < n && c->rc == 0; k++) {
    if (rp[k].wt != RS__WT_LEN) continue;
    val v;
    memset(&v, 0, sizeof v);
    v.kind = V_MSG;
    v.p = rb + rp[k].voff;
    v.n = rp[k].vlen;
    v.at = rp[k].at;
    v.base = rp[k].voff;
    if (reader_msg_fails(c, rf, &v, rbase, depth, path, true)) break;
  }
}

/* A map entry's key, to tell entries of one key apart: its last key field
 * (a missing key and a zero or empty one are the same key). */
typedef struct map_key {
  uint8_t kind; /* 0: default, 1: a number, 2: bytes */
  uint64_t v;
  const uint8_t *p;
  size_t n;
  size_t index;
} map_key;

static void entry_key(const rs__rules *r, const val *e, map_key *k) {
  memset(k, 0, sizeof *k);
  size_t pos = 0;
  while (pos < e->n) {
    rs__wfield f;
    const char *why;
    if (rs__read_field_rt(r, e->p, e->n, &pos, &f, &why) != 0) break;
    if (f.number != 1) continue;
    if (f.wire_type == RS__WT_LEN) {
      k->kind = f.value_len > 0 ? 2 : 0;
      k->p = e->p + f.value_offset;
      k->n = f.value_len;
    } else {
      k->kind = f.value != 0 ? 1 : 0;
      k->v = f.value;
    }
  }
}

static int key_cmp(const void *x, const void *y) {
  const map_key *a = x, *b = y;
  if (a->kind != b->kind) return a->kind < b->kind ? -1 : 1;
  if (a->kind == 1 && a->v != b->v) return a->v < b->v ? -1 : 1;
  if (a->kind == 2) {
    size_t n = a->n < b->n ? a->n : b->n;
    int d = n > 0 ? memcmp(a->p, b->p, n) : 0;
    if (d != 0) return d;
    if (a->n != b->n) return a->n < b->n ? -1 : 1;
  }
  return a->index < b->index ? -1 : a->index > b->index;
}

/* A map's entries as the map holds them: one a key, the last one. */
static int map_dedupe(vals *vs, const rs__rules *r, const ProtobufCAllocator *a,
                      rs__budget *b) {
  if (vs->n < 2) return 0;
  map_key *keys = rs__alloc(a, vs->n * sizeof *keys);
  if (keys == NULL) return b != NULL ? rs__budget_code(b) : RS_ENOMEM;
  for (size_t i = 0; i < vs->n; i++) {
    entry_key(r, &vs->v[i], &keys[i]);
    keys[i].index = i;
  }
  qsort(keys, vs->n, sizeof *keys, key_cmp);
  /* An entry whose key comes again later is not in the map. */
  bool *gone = rs__alloc(a, vs->n * sizeof *gone);
  if (gone == NULL) {
    rs__free(a, keys);
    return b != NULL ? rs__budget_code(b) : RS_ENOMEM;
  }
  for (size_t i = 0; i + 1 < vs->n; i++) {
    map_key x = keys[i], y = keys[i + 1];
    x.index = y.index = 0;
    if (key_cmp(&x, &y) == 0) gone[keys[i].index] = true;
  }
  /* The entries in the map first, in order; those it loses after them
   * (vs->v[vs->n .. the old n), for lost_entries_unknown). */
  size_t k = 0;
  for (size_t i = 0; i < vs->n; i++) k += gone[i];
  val *lost = k > 0 ? rs__alloc(a, k * sizeof *lost) : NULL;
  if (k > 0 && lost == NULL) {
    rs__free(a, gone);
    rs__free(a, keys);
    return b != NULL ? rs__budget_code(b) : RS_ENOMEM;
  }
  size_t n = 0;
  k = 0;
  for (size_t i = 0; i < vs->n; i++) {
    if (gone[i])
      lost[k++] = vs->v[i];
    else
      vs->v[n++] = vs->v[i];
  }
  if (k > 0) memcpy(vs->v + n, lost, k * sizeof *lost);
  vs->n = n;
  rs__free(a, lost);
  rs__free(a, gone);
  rs__free(a, keys);
  return 0;
}

/* Whether the walk goes on: no error, no early end (rs__cmp.stop_at). */
static bool going(const rs__cmp *c) {
  return c->rc == 0 && !c->stopped;
}

/* A C string ends at its first NUL: the bytes a protobuf-c reader sees. */
static size_t c_string_len(const val *v) {
  const void *nul = memchr(v->p, 0, v->n);
  return nul != NULL ? (size_t)((const uint8_t *)nul - v->p) : v->n;
}

/* Whether the code of field f of message M cannot ask whether it is set: a
 * proto3 field outside a oneof, or a proto3 map's value (an entry without
 * one holds the default). A map's key is compared as written. */
static bool no_presence(const ProtobufCMessageDescriptor *M,
                        const ProtobufCFieldDescriptor *f) {
  if (rs__is_map_entry(M))
    return f->id == 2 && (f->label == PROTOBUF_C_LABEL_NONE ||
                          (f->reserved_flags & RS_FIELD_FLAG_NO_PRESENCE));
  return f->label == PROTOBUF_C_LABEL_NONE &&
         !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF);
}

/*
 * Compares one writer value with the reader's. Sub-messages recurse; the
 * rest is decided here. r_implicit: the reader's field has no presence its
 * code can ask (no_presence).
 */
static void compare_val(rs__cmp *c, const ProtobufCFieldDescriptor *wf,
                        const val *w, size_t wbase,
                        const ProtobufCFieldDescriptor *rf, const val *r,
                        size_t rbase, unsigned depth, lpath *path,
                        bool r_implicit) {
  size_t at = rbase + r->at;
  char a[96], b[96];
  if (w->kind == V_MSG && r->kind == V_MSG) {
    compare_msg(c, wf->descriptor, w->p, w->n, wbase + w->base, rf->descriptor,
                r->p, r->n, rbase + r->base, depth + 1, path, false);
    return;
  }
  if (r->kind == V_MSG) {
    /* The reader parses the writer's string or bytes as a message. */
    int worst = sub_worst(c, rf->descriptor, r, rbase, rf->descriptor, r, rbase,
                          depth, path);
    if (worst < RS_VERDICT_UNREADABLE &&
        (r->n != w->n || (w->n > 0 && memcmp(r->p, w->p, w->n) != 0))) {
      /* The reader merged occurrences the writer's bytes field replaced. */
      val_format(w, wf, a, sizeof a);
      note(c, RS_VERDICT_MISREAD, RS__RC_OCCURRENCES_MERGED, lp_text(path),
           rf->id, at,
           "written as %s %s (its last occurrence); %s merges every "
           "occurrence into one %s message",
           rs__type_name(wf->type), a, c->reader_label,
           ((const ProtobufCMessageDescriptor *)rf->descriptor)->name);
      return;
    }
    /* Bytes that are a message's encoding mean that message (the
     * language guide's compatibility of bytes and messages). */
    val_format(w, wf, a, sizeof a);
    const char *mname =
        ((const ProtobufCMessageDescriptor *)rf->descriptor)->name;
    if (worst >= RS_VERDICT_UNREADABLE)
      note(c, RS_VERDICT_UNREADABLE, RS__RC_BYTES_AS_MESSAGE_FAILS,
           lp_text(path), rf->id, at,
           "written as %s %s, which %s parses as a %s message and fails",
           rs__type_name(wf->type), a, c->reader_label, mname);
    else if (wf->type == PROTOBUF_C_TYPE_STRING)
      note(c, RS_VERDICT_MISREAD, RS__RC_TEXT_AS_MESSAGE, lp_text(path), rf->id,
           at, "written as the text %s, which %s parses as a %s message", a,
           c->reader_label, mname);
    else if (worst == RS_VERDICT_MISREAD)
      note(c, RS_VERDICT_MISREAD, RS__RC_BYTES_AS_MESSAGE_MISREAD,
           lp_text(path), rf->id, at,
           "written as %s %s, which %s parses as a %s message with values "
           "its code does not expect",
           rs__type_name(wf->type), a, c->reader_label, mname);
    else if (worst == RS_VERDICT_IGNORED_FIELDS)
      note(c, RS_VERDICT_IGNORED_FIELDS, RS__RC_BYTES_AS_MESSAGE_IGNORED,
           lp_text(path), rf->id, at,
           "written as %s %s, which %s parses as a %s message with fields "
           "it does not know, ignored",
           rs__type_name(wf->type), a, c->reader_label, mname);
    return;
  }
  bool eq;
  const char *how = NULL;
  if (w->kind == V_MSG) {
    /* The encoded message, as written: what a string or bytes field of the
     * reader holds, unless a NUL ends protobuf-c's C string first. */
    /* Bytes hold a message's encoding as the language guide allows; a
     * string holds text, which an encoded message is not. */
    bool text = rf->type == PROTOBUF_C_TYPE_STRING;
    eq = (!text || (w->n == 0 && r_implicit)) && r->n == w->n &&
         (w->n == 0 || memcmp(r->p, w->p, w->n) == 0);
    how = "the encoded message";
    if (!eq && !text) {
      /* The writer's message merged from several occurrences; the reader's
       * bytes are the last: alike when they encode the same values. */
      eq = sub_worst(c, wf->descriptor, w, wbase, wf->descriptor, r, rbase,
                     depth, path) < RS_VERDICT_MISREAD;
      how = "a message merged from several occurrences";
    }
  } else if (w->kind == V_INT && r->kind == V_INT) {
    eq = rs__ival_eq(w->i, r->i);
    if (eq && wf->type == PROTOBUF_C_TYPE_ENUM &&
        rf->type == PROTOBUF_C_TYPE_ENUM && !r->enum_bad &&
        enum_number_reused(wf->descriptor, rf->descriptor, r->i)) {
      val_format(w, wf, a, sizeof a);
      val_format(r, rf, b, sizeof b);
      note(c, RS_VERDICT_MISREAD, RS__RC_ENUM_VALUE_RENAMED, lp_text(path),
           rf->id, at,
           "written as %s, which %s reads as %s: the number names another "
           "value of the enum in each version",
           a, c->reader_label, b);
      return;
    }
  } else if (w->kind == V_FLOAT && r->kind == V_FLOAT) {
    eq = (w->d != w->d && r->d != r->d) ||
         (w->is32 == r->is32 ? w->bits == r->bits : w->d == r->d);
  } else if (w->kind == V_INT && r->kind == V_FLOAT) {
    eq = int_eq_float(w->i, r->d);
  } else if (w->kind == V_FLOAT && r->kind == V_INT) {
    eq = int_eq_float(r->i, w->d);
  } else if (w->kind == V_BYTES && r->kind == V_BYTES) {
    const rs__rules *rules = rules_of(c);
    size_t seen = rf->type == PROTOBUF_C_TYPE_STRING && rules->c_strings
                      ? c_string_len(r)
                      : r->n;
    eq = seen == w->n && memcmp(w->p, r->p, w->n) == 0;
    if (!eq && seen < r->n && r->n == w->n && memcmp(w->p, r->p, w->n) == 0) {
      note(c, RS_VERDICT_MISREAD, RS__RC_STRING_NUL_CUT, lp_text(path), rf->id,
           at,
           "written as %s of %zu bytes with a NUL at byte %zu; protobuf-c's "
           "C string for %s ends there: the reader sees %zu bytes",
           rs__type_name(wf->type), w->n, rbase + r->base + seen,
           c->reader_label, seen);
      return;
    }
    if (r->replaced) {
      /* Java's String of a proto2 string: U+FFFD for each invalid UTF-8
       * sequence, never the bytes written. */
      size_t bad = rs__utf8_valid_prefix(r->p, r->n);
      note(c, RS_VERDICT_MISREAD, RS__RC_UTF8_REPLACED, lp_text(path), rf->id,
           at,
           "written as %zu bytes of %s, not UTF-8 from byte %zu; %s decodes "
           "the string of %s with U+FFFD for each invalid sequence",
           w->n, rs__type_name(wf->type), rbase + r->base + bad, rules->name,
           c->reader_label);
      return;
    }
  } else {
    eq = false;
  }
  if (eq) return;
  val_format(w, wf, a, sizeof a);
  val_format(r, rf, b, sizeof b);
  /* A 64-bit writer's number a 32-bit reader keeps the low half of. */
  int value_code = w->kind == V_INT && r->kind == V_INT && wide_int(wf->type) &&
                           !wide_int(rf->type)
                       ? RS__RC_INT_TRUNCATED
                       : RS__RC_VALUE_CHANGED;
  note(c, RS_VERDICT_MISREAD, value_code, lp_text(path), rf->id, at,
       "written as %s %s, read by %s as %s %s", rs__type_name(wf->type),
       how != NULL ? how : a, c->reader_label, rs__type_name(rf->type), b);
}

static bool is_zero_val(const val *v) {
  switch (v->kind) {
    case V_INT:
      return v->i.mag == 0;
    case V_FLOAT:
      return v->bits == 0;
    case V_BYTES:
      return v->n == 0;
    default:
      return false;
  }
}

/*
 * The occurrences of a oneof member that the parse keeps: a later member of
 * the same oneof clears it. `all` holds every field of the message.
 */
static size_t oneof_keep(const ProtobufCMessageDescriptor *D,
                         const ProtobufCFieldDescriptor *f, const occs *all,
                         const occ *os, size_t count, size_t *skip,
                         const rs__rules *r) {
  *skip = 0;
  if (f == NULL || !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || count == 0)
    return count;
  size_t other = 0;
  bool any = false;
  for (unsigned i = 0; i < D->n_fields; i++) {
    const ProtobufCFieldDescriptor *g = &D->fields[i];
    if (g == f || !(g->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
        g->quantifier_offset != f->quantifier_offset)
      continue;
    size_t first, n = find_occ(all, g->id, &first);
    for (size_t k = 0; k < n; k++) {
      const occ *o = &all->items[first + k];
      /* A member the reader's runtime sends to its unknown-field set sets
       * nothing, and clears nothing. */
      if (r != NULL &&
          ((r->wire_unknown && !takes_wire_type(g, o->wt, r->pbc)) ||
           (o->wt == RS__WT_VARINT && enum_dropped(r, D, g, o->value))))
        continue;
      if (!any || o->order > other) {
        other = o->order;
        any = true;
      }
    }
  }
  if (!any) return count;
  size_t k = 0;
  while (k < count && os[k].order < other) k++;
  /* Java: the member, set again last, merges every occurrence. */
  if (r != NULL && r->oneof_stale_merge && k < count &&
      f->type == PROTOBUF_C_TYPE_MESSAGE)
    k = 0;
  *skip = k;
  return count - k;
}

/* Whether the writer of a field that m moved also set the reader's field
 * (occurrences ro of a message of R): then the reader reads that, and
 * ignores the moved one; else it sees its field unset (misread). */
static bool moved_dual(const rs__move *m, const ProtobufCMessageDescriptor *R,
                       const occs *ro) {
  const ProtobufCFieldDescriptor *rf =
      protobuf_c_message_descriptor_get_field(R, m->reader_field);
  size_t first;
  return rf != NULL && find_occ(ro, rf->id, &first) > 0;
}

static const rs__move *find_move(const rs__cmp *c, uint32_t writer_field) {
  if (c->type == NULL) return NULL;
  for (size_t i = 0; i < c->type->n_moves; i++) {
    const rs__move *m = &c->type->moves[i];
    if (m->writer_field == writer_field &&
        m->reader_version == c->reader_version &&
        m->writer_version <= c->writer_version &&
        m->writer_version > c->reader_version)
      return m;
  }
  return NULL;
}

/* Fields of a message moved to another number (rs__move) that a walk
 * notes: the first ones, in field order. */
#define MAX_MOVED 8

/* The move of field num of the top message, when the writer set it (wn
 * occurrences), W declares it and R does not: NULL else. The two byte
 * strings differ when a replacement is checked, and the reader's may carry
 * the number alone (an unknown field). */
static const rs__move *top_move(const rs__cmp *c,
                                const ProtobufCMessageDescriptor *W,
                                const ProtobufCMessageDescriptor *R,
                                uint32_t num, size_t wn) {
  if (wn == 0 || rs__field_of(R, num) != NULL || rs__field_of(W, num) == NULL)
    return NULL;
  return find_move(c, num);
}

/* A writer's field (its first occurrence o) that m moved, which the
 * reader does not know: misread unless the writer also set the reader's
 * field (moved_dual; ro: the reader's occurrences). */
static void note_moved(rs__cmp *c, const ProtobufCMessageDescriptor *W,
                       const ProtobufCMessageDescriptor *R, const occ *o,
                       const rs__move *m, const occs *ro, size_t rbase,
                       lpath *path) {
  const ProtobufCFieldDescriptor *rf =
      protobuf_c_message_descriptor_get_field(R, m->reader_field);
  const ProtobufCFieldDescriptor *wf =
      protobuf_c_message_descriptor_get_field(W, o->number);
  size_t mark = lp_field(path, wf != NULL ? wf->name : "", o->number);
  if (moved_dual(m, R, ro))
    note(c, RS_VERDICT_IGNORED_FIELDS, RS__RC_FIELD_UNKNOWN, lp_text(path),
         o->number, rbase + o->at,
         "field %u is unknown to %s; the writer also set %s(%u)",
         (unsigned)o->number, c->reader_label, rf != NULL ? rf->name : "?",
         (unsigned)m->reader_field);
  else
    note(c, RS_VERDICT_MISREAD, RS__RC_FIELD_MOVED, lp_text(path), o->number,
         rbase + o->at,
         "the value %s reads from %s(%u) moved here; that reader sees %s "
         "unset",
         c->reader_label, rf != NULL ? rf->name : "?",
         (unsigned)m->reader_field, rf != NULL ? rf->name : "it");
  lp_pop(path, mark);
}

/* The first moved field of the top message (occurrences os, the writer's
 * and the reader's alike) whose value the reader sees unset, noted as
 * compare_msg notes it: among the first MAX_MOVED moved fields, which it
 * takes for moved (the others are unknown fields). */
static void moved_unset_first(rs__cmp *c, const ProtobufCMessageDescriptor *W,
                              const ProtobufCMessageDescriptor *R,
                              const occs *os, size_t rbase, lpath *path) {
  size_t n_moved = 0;
  for (size_t i = 0; i < os->n && n_moved < MAX_MOVED;) {
    const occ *o = &os->items[i];
    size_t first = i;
    while (i < os->n && os->items[i].number == o->number) i++;
    const rs__move *m = top_move(c, W, R, o->number, i - first);
    if (m == NULL) continue;
    n_moved++;
    if (!moved_dual(m, R, os)) {
      note_moved(c, W, R, o, m, os, rbase, path);
      return;
    }
  }
}

/* "wire type 0 (varint) where version 1 expects fixed32 (wire type 5)": a
 * value of another wire type than rf's, which the reader's runtime keeps
 * unknown (the format and its arguments, for note() and snprintf()). */
#define WIRE_MISMATCH_FMT "wire type %u (%s) where %s expects %s (wire type %u)"
#define WIRE_MISMATCH_ARGS(c, rf, got)               \
  (got), rs__wire_type_name(got), (c)->reader_label, \
      rs__type_name((rf)->type), rs__field_wire_type(rf)

/* The reader's own checks of field rf: what makes its runtime fail. */
static bool reader_fails(rs__cmp *c, const ProtobufCFieldDescriptor *rf,
                         const vals *rv, size_t rbase, lpath *path) {
  const char *rt = rules_of(c)->name;
  if (rv->wire_bad) {
    note(c, RS_VERDICT_UNREADABLE, RS__RC_WIRE_TYPE_MISMATCH, lp_text(path),
         rf->id, rbase + rv->wire_at,
         "wire type %u (%s) where %s expects %s (wire type %u, %s); "
         "%s fails the whole record",
         rv->wire_got, rs__wire_type_name(rv->wire_got), c->reader_label,
         rs__type_name(rf->type), rs__field_wire_type(rf),
         rs__wire_type_name(rs__field_wire_type(rf)), rt);
    return true;
  }
  if (rv->packed_bad) {
    note(c, RS_VERDICT_UNREADABLE, RS__RC_PACKED_MALFORMED, lp_text(path),
         rf->id, rbase + rv->packed_at,
         "packed %s values are malformed; %s fails the whole record",
         rs__type_name(rf->type), rt);
    return true;
  }
  if (rv->utf8_bad) {
    note(c, RS_VERDICT_UNREADABLE, RS__RC_UTF8_INVALID, lp_text(path), rf->id,
         rbase + rv->utf8_at,
         "invalid UTF-8 in a proto3 string; %s fails the whole record", rt);
    return true;
  }
  /* A required field whose every value the runtime keeps unknown (another
   * wire type, a closed enum's unknown value) is not set: C++'s and Java's
   * IsInitialized and Go's checkInitialized fail the record, as for a
   * field never written (unless the reader's code allows partial
   * messages; Python never checks). */
  const rs__rules *r = rules_of(c);
  if (rf->label == PROTOBUF_C_LABEL_REQUIRED && r->required && rv->n == 0 &&
      rv->dropped > 0) {
    char why[160];
    if (rv->dropped_wt) {
      snprintf(why, sizeof why, WIRE_MISMATCH_FMT,
               WIRE_MISMATCH_ARGS(c, rf, rv->dropped_got));
    } else {
      char num[32];
      rs__ival_format(rs__varint_value(PROTOBUF_C_TYPE_ENUM, rv->dropped_value),
                      num, sizeof num);
      snprintf(why, sizeof why, "value %s, not in its closed enum %s", num,
               rf->type == PROTOBUF_C_TYPE_ENUM
                   ? ((const ProtobufCEnumDescriptor *)rf->descriptor)->name
                   : "");
    }
    note(c, RS_VERDICT_UNREADABLE, RS__RC_REQUIRED_MISSING, lp_text(path),
         rf->id, rbase + rv->dropped_at,
         "required by %s and not set: %s %s (%s); %s fails the whole record",
         c->reader_label, rt,
         r->discards_unknown ? "drops the value written (DiscardUnknown)"
                             : "keeps the value written as an unknown field",
         why, rt);
    return true;
  }
  return false;
}

/* What the reader's runtime sent to its unknown-field set instead of
 * reading it into rf: ignored by the reader's code, and the field reads
 * without it (the comparison says what that changes). */
static void note_dropped(rs__cmp *c, const ProtobufCFieldDescriptor *rf,
                         const vals *rv, size_t rbase, lpath *path) {
  const rs__rules *r = rules_of(c);
  const char *kept = r->discards_unknown ? "drops it (DiscardUnknown)"
                                         : "keeps it as an unknown field";
  if (rv->dropped_wt)
    note(c, RS_VERDICT_IGNORED_FIELDS, RS__RC_WIRE_TYPE_IGNORED, lp_text(path),
         rf->id, rbase + rv->dropped_at, WIRE_MISMATCH_FMT "; %s %s",
         WIRE_MISMATCH_ARGS(c, rf, rv->dropped_got), r->name, kept);
  if (rv->dropped_enum) {
    char num[32];
    rs__ival_format(rs__varint_value(PROTOBUF_C_TYPE_ENUM, rv->dropped_value),
                    num, sizeof num);
    const ProtobufCEnumDescriptor *e =
        rf->type == PROTOBUF_C_TYPE_ENUM
            ? rf->descriptor
            : ((const ProtobufCMessageDescriptor *)rf->descriptor)
                  ->fields[1]
                  .descriptor;
    note(c, RS_VERDICT_IGNORED_FIELDS, RS__RC_ENUM_CLOSED_UNKNOWN,
         lp_text(path), rf->id, rbase + rv->dropped_at,
         "value %s is not in the closed enum %s of %s; %s %s%s", num, e->name,
         c->reader_label, r->name, kept,
         rf->type == PROTOBUF_C_TYPE_ENUM ? "" : ", the whole map entry");
  }
}

/*
 * A protobuf-c reader's map is the repeated entries, every one kept, also
 * those a later entry of the same key replaces, which the comparison leaves
 * out (the writer's map lost them): fields unknown to the reader in one of
 * those (@lost, @n of them) are unknown fields it keeps, and ignores.
 */
static void lost_entries_unknown(rs__cmp *c, const ProtobufCFieldDescriptor *rf,
                                 const val *lost, size_t n, size_t rbase,
                                 unsigned depth, lpath *path) {
  for (size_t i = 0; i < n && going(c); i++) {
    if (lost[i].kind != V_MSG) continue;
    rs__notes scratch;
    sub_walk(c, &scratch, rf->descriptor, &lost[i], rbase, rf->descriptor,
             &lost[i], rbase, depth, path);
    bool unknown = false;
    for (size_t k = 0; k < scratch.n && !unknown; k++)
      unknown = scratch.items[k].code == RS__RC_FIELD_UNKNOWN;
    rs__notes_dispose(&scratch, c->a);
    if (unknown) {
      note(c, RS_VERDICT_IGNORED_FIELDS, RS__RC_FIELD_UNKNOWN, lp_text(path),
           rf->id, rbase + lost[i].at,
           "a map entry that a later entry of its key replaces holds fields "
           "unknown to %s; protobuf-c keeps the entry, and them as unknown "
           "fields, ignored",
           c->reader_label);
      return;
    }
  }
}

static void compare_field(rs__cmp *c, const ProtobufCMessageDescriptor *W,
                          const ProtobufCFieldDescriptor *wf, const uint8_t *wb,
                          const occs *wall, size_t wfirst, size_t wn,
                          size_t wbase, const ProtobufCMessageDescriptor *R,
                          const ProtobufCFieldDescriptor *rf, const uint8_t *rb,
                          const occs *rall, size_t rfirst, size_t rn,
                          size_t rbase, unsigned depth, lpath *path) {
  size_t wskip, rskip;
  /* No pointer arithmetic on a message without fields (items NULL). */
  const occ *wp = wn > 0 ? wall->items + wfirst : NULL;
  const occ *rp = rn > 0 ? rall->items + rfirst : NULL;
  const rs__rules *rules = rules_of(c);
  wn = oneof_keep(W, wf, wall, wp, wn, &wskip, NULL);
  rn = oneof_keep(R, rf, rall, rp, rn, &rskip, rules);
  vals wv, rv;
  cmp_pool *pool = c->pool;
  bool pooled = pool != NULL && depth <= POOL_DEPTHS;
  int rc =
      field_vals(&wv, pooled ? pool->vals[depth - 1][0] : NULL, W, wf, wb,
                 wn > 0 ? wp + wskip : NULL, wn, false, rules, c->a, c->budget);
  if (rc == 0)
    rc = field_vals(&rv, pooled ? pool->vals[depth - 1][1] : NULL, R, rf, rb,
                    rn > 0 ? rp + rskip : NULL, rn, true, rules, c->a,
                    c->budget);
  else
    memset(&rv, 0, sizeof rv);
  /* A runtime that checks UTF-8 checks each occurrence as it parses it, one
   * a later member of its oneof clears too. */
  if (rc == 0 && rskip > 0 && !rv.utf8_bad && !rv.wire_bad &&
      rules->utf8_fails && rf->type == PROTOBUF_C_TYPE_STRING &&
      rs__field_wants_utf8(rf))
    for (size_t k = 0; k < rskip && !rv.utf8_bad; k++)
      if (rp[k].wt == RS__WT_LEN &&
          rs__utf8_valid_prefix(rb + rp[k].voff, rp[k].vlen) != rp[k].vlen) {
        rv.utf8_bad = true;
        rv.utf8_at = rp[k].at;
        rv.bad_index = 0;
      }
  /* A map holds one entry a key, the last: the writer's map, and the
   * reader's (protobuf-c keeps every entry, which is the same map when the
   * writer's is one). */
  bool wmap = rs__is_map_field(wf);
  size_t rall_n = rv.n; /* the reader's entries, those a map loses too */
  if (rc == 0 && wmap) rc = map_dedupe(&wv, rules, c->a, c->budget);
  if (rc == 0 && rs__is_map_field(rf) && (!rules->pbc || wmap))
    rc = map_dedupe(&rv, rules, c->a, c->budget);
  if (rc != 0) {
    c->rc = rc;
    vals_dispose(&wv, c->a);
    vals_dispose(&rv, c->a);
    return;
  }
  if (rules->pbc && rall_n > rv.n && going(c)) {
    size_t mark = lp_field(path, rf->name, rf->id);
    lost_entries_unknown(c, rf, rv.v + rv.n, rall_n - rv.n, rbase, depth, path);
    lp_pop(path, mark);
  }
  bool rep_r = rf->label == PROTOBUF_C_LABEL_REPEATED;
  bool rep_w = wf->label == PROTOBUF_C_LABEL_REPEATED;
  const char *name = rf->name;
  size_t fmark = rep_r && !rv.packed_bad
                     ? lp_index(path, name, rv.bad_index, rf->id)
                     : lp_field(path, name, rf->id);
  bool fails = reader_fails(c, rf, &rv, rbase, path);
  if (!fails && rv.dropped > 0 && (rules->pbc || !rs__is_map_entry(R)))
    note_dropped(c, rf, &rv, rbase, path);
  lp_pop(path, fmark);
  if (!fails) {
    for (size_t i = 0; i < rv.n; i++)
      if (rv.v[i].enum_bad) {
        size_t mark = rep_r ? lp_index(path, name, i, rf->id)
                            : lp_field(path, name, rf->id);
        char b[64];
        rs__ival_format(rv.v[i].i, b, sizeof b);
        note(c, RS_VERDICT_MISREAD, RS__RC_ENUM_VALUE_UNKNOWN, lp_text(path),
             rf->id, rbase + rv.v[i].at,
             "value %s is not in %s of %s; %s keeps the number, which the "
             "reader's code does not expect",
             b, ((const ProtobufCEnumDescriptor *)rf->descriptor)->name,
             c->reader_label, rules->name);
        lp_pop(path, mark);
      }
    bool walked = false; /* the reader's values were compared */
    if (wv.wire_bad || wv.packed_bad) {
      /* The writer's own version does not read these bytes: nothing to
       * compare with. */
    } else if (wf != rf && wv.n > 0 && wf->type != rf->type &&
               strcmp(wf->name, rf->name) != 0) {
      /* Another name and another type: the number was reused for another
       * field, whatever the values. */
      size_t mark = lp_field(path, name, rf->id);
      note(c, RS_VERDICT_MISREAD, RS__RC_FIELD_NUMBER_REUSED, lp_text(path),
           rf->id, wbase + wv.v[0].at,
           "field %u is %s (%s) to the writer and %s (%s) to %s: the number "
           "was reused for another field",
           (unsigned)rf->id, wf->name, rs__type_name(wf->type), rf->name,
           rs__type_name(rf->type), c->reader_label);
      lp_pop(path, mark);
    } else if (rep_r || rep_w) {
      /* One zero the reader keeps unknown (another wire type), for a
       * field without presence: it reads its zero, the value written. */
      bool zero_kept = wv.n == 1 && rv.n == 0 && !rep_r && rv.dropped > 0 &&
                       no_presence(R, rf) &&
                       (is_zero_val(&wv.v[0]) ||
                        (wv.v[0].kind == V_FLOAT && wv.v[0].d == 0));
      if (wv.n != rv.n && !zero_kept) {
        size_t mark = lp_field(path, name, rf->id);
        size_t at = rv.n > 0 ? rv.v[rv.n - 1].at : wv.n > 0 ? wv.v[0].at : 0;
        char why[96] = "";
        if (wv.foreign > 0)
          snprintf(why, sizeof why,
                   "; the writer's bytes also hold it as wire type %u, "
                   "which no %s is written as",
                   wv.foreign_wt, rs__type_name(wf->type));
        note(c, RS_VERDICT_MISREAD, RS__RC_COUNT_CHANGED, lp_text(path), rf->id,
             (rv.n > 0 ? rbase : wbase) + at,
             "the writer's %s holds %zu value%s; %s reads %zu (%s %s)%s%s",
             rep_w ? "repeated field" : "field", wv.n, wv.n == 1 ? "" : "s",
             c->reader_label, rv.n,
             rep_r ? "repeated" : "singular: the last value",
             rep_r ? "field" : "wins",
             rv.dropped > 0 ? ", the others in its unknown-field set" : "",
             why);
        lp_pop(path, mark);
      } else {
        for (size_t i = 0; i < rv.n && going(c); i++) {
          size_t mark = rep_r ? lp_index(path, name, i, rf->id)
                              : lp_field(path, name, rf->id);
          compare_val(c, wf, &wv.v[i], wbase, rf, &rv.v[i], rbase, depth, path,
                      false);
          lp_pop(path, mark);
        }
        walked = true;
      }
    } else if (wv.n == 1 && rv.n == 1) {
      size_t mark = lp_field(path, name, rf->id);
      compare_val(c, wf, &wv.v[0], wbase, rf, &rv.v[0], rbase, depth, path,
                  no_presence(R, rf));
      lp_pop(path, mark);
      walked = true;
    } else if (wv.n != rv.n) {
      const val *v = wv.n ? &wv.v[0] : &rv.v[0];
      /* A field without presence on either side reads its zero as unset
       * (its code cannot tell them apart); a oneof member has presence
       * (its case says it is set), so on both sides its zero and its being
       * unset are two values (no_presence). */
      bool implicit = no_presence(W, wf) || no_presence(R, rf);
      /* Unset, a field without presence reads its zero: 0.0 and -0.0 alike,
       * and an empty message the writer's encoding of nothing. */
      bool zero = is_zero_val(v) || (v->kind == V_FLOAT && v->d == 0) ||
                  (v->kind == V_MSG && v->n == 0 && rv.dropped > 0);
      if (!(implicit && zero)) {
        size_t mark = lp_field(path, name, rf->id);
        char a[96];
        val_format(v, wv.n ? wf : rf, a, sizeof a);
        if (wv.n && rv.dropped > 0)
          note(c, RS_VERDICT_MISREAD, RS__RC_FIELD_HIDDEN_UNKNOWN,
               lp_text(path), rf->id, wbase + v->at,
               "written as %s %s; %s sees it unset (%s keeps it in the "
               "unknown-field set)",
               rs__type_name(wf->type), a, c->reader_label, rules->name);
        else if (wv.n)
          note(c, RS_VERDICT_MISREAD, RS__RC_ONEOF_CLEARED, lp_text(path),
               rf->id, wbase + v->at,
               "written as %s %s; %s sees it unset (a later member of its "
               "oneof clears it)",
               rs__type_name(wf->type), a, c->reader_label);
        else if (wv.foreign > 0)
          note(c, RS_VERDICT_MISREAD, RS__RC_FOREIGN_WIRE_TYPE, lp_text(path),
               rf->id, rbase + v->at,
               "the writer's bytes hold it as wire type %u, which no %s is "
               "written as (the writer's runtime keeps it unknown); %s "
               "reads %s %s",
               wv.foreign_wt, rs__type_name(wf->type), c->reader_label,
               rs__type_name(rf->type), a);
        else
          note(c, RS_VERDICT_MISREAD, RS__RC_ONEOF_SET_BY_READER, lp_text(path),
               rf->id, rbase + v->at,
               "the writer left it unset (a later member of its oneof "
               "clears it); %s reads %s %s",
               c->reader_label, rs__type_name(rf->type), a);
        lp_pop(path, mark);
      }
    }
    if (!walked) {
      size_t mark = lp_field(path, name, rf->id);
      check_reader_msgs(c, rf, &rv, rbase, depth, path);
      lp_pop(path, mark);
    }
  }
  if (!fails && rskip > 0 && going(c)) {
    size_t mark = lp_field(path, name, rf->id);
    check_cleared_msgs(c, rf, rb, rp, rskip, rbase, depth, path);
    lp_pop(path, mark);
  }
  vals_dispose(&wv, c->a);
  vals_dispose(&rv, c->a);
}

/* What an unset singular field reads as: its default, or zero. */
static val default_val(const ProtobufCFieldDescriptor *f) {
  val v;
  memset(&v, 0, sizeof v);
  const void *d = f->default_value;
  int64_t si = 0;
  uint64_t ui = 0;
  bool is_signed = true;
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
      si = d ? *(const int32_t *)d : 0;
      break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
      si = d ? *(const int64_t *)d : 0;
      break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      ui = d ? *(const uint32_t *)d : 0;
      is_signed = false;
      break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      ui = d ? *(const uint64_t *)d : 0;
      is_signed = false;
      break;
    case PROTOBUF_C_TYPE_BOOL:
      ui = d ? *(const protobuf_c_boolean *)d != 0 : 0;
      is_signed = false;
      break;
    case PROTOBUF_C_TYPE_FLOAT: {
      float x = d ? *(const float *)d : 0.0f;
      uint32_t bits;
      memcpy(&bits, &x, sizeof bits);
      return fixed_val(f->type, bits);
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
      double x = d ? *(const double *)d : 0.0;
      uint64_t bits;
      memcpy(&bits, &x, sizeof bits);
      return fixed_val(f->type, bits);
    }
    case PROTOBUF_C_TYPE_STRING:
      v.kind = V_BYTES;
      v.p = (const uint8_t *)(d ? (const char *)d : "");
      v.n = strlen((const char *)v.p);
      return v;
    case PROTOBUF_C_TYPE_BYTES:
      v.kind = V_BYTES;
      if (d != NULL) {
        v.p = ((const ProtobufCBinaryData *)d)->data;
        v.n = ((const ProtobufCBinaryData *)d)->len;
      }
      return v;
    default:
      v.kind = V_MSG;
      return v;
  }
  v.kind = V_INT;
  if (is_signed) {
    v.i.neg = si < 0;
    v.i.mag = si < 0 ? 0 - (uint64_t)si : (uint64_t)si;
  } else {
    v.i.mag = ui;
  }
  return v;
}

static bool default_eq(const val *a, const val *b) {
  if (a->kind == V_MSG || b->kind == V_MSG) return true;
  if (a->kind == V_INT && b->kind == V_INT) return rs__ival_eq(a->i, b->i);
  if (a->kind == V_FLOAT && b->kind == V_FLOAT) return a->d == b->d;
  if (a->kind == V_INT && b->kind == V_FLOAT) return int_eq_float(a->i, b->d);
  if (a->kind == V_FLOAT && b->kind == V_INT) return int_eq_float(b->i, a->d);
  if (a->kind == V_BYTES && b->kind == V_BYTES)
    return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
  return false;
}

static bool singular_scalar(const ProtobufCFieldDescriptor *f) {
  return f->label != PROTOBUF_C_LABEL_REPEATED &&
         f->type != PROTOBUF_C_TYPE_MESSAGE &&
         !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF);
}

static void compare_msg(rs__cmp *c, const ProtobufCMessageDescriptor *W,
                        const uint8_t *wb, size_t wlen, size_t wbase,
                        const ProtobufCMessageDescriptor *R, const uint8_t *rb,
                        size_t rlen, size_t rbase, unsigned depth, lpath *path,
                        bool top) {
  if (!going(c)) return;
  const rs__rules *rules = rules_of(c);
  /* depth counts the record as 1: depth - 1 messages nest within it. */
  if (rules->nested_limit != 0 && depth - 1 > rules->nested_limit &&
      rules->nested_limit < c->max_depth) {
    c->too_deep = true;
    note(c, RS_VERDICT_UNREADABLE, RS__RC_RECURSION_LIMIT, lp_text(path), 0,
         rbase,
         "more than %u messages nested within the record; %s's recursion "
         "limit fails the whole record",
         rules->nested_limit, rules->name);
    return;
  }
  if (depth > c->max_depth) {
    c->too_deep = true;
    note(c, RS_VERDICT_UNREADABLE, RS__RC_OVER_LIMITS, lp_text(path), 0, rbase,
         "over the limits: more than %u messages nested within the record "
         "(max_depth)",
         c->max_depth - 1);
    return;
  }
  bool same = wb == rb && wlen == rlen;
  occs wo, ro;
  cmp_pool *pool = c->pool;
  bool pooled = pool != NULL && depth <= POOL_DEPTHS;
  memset(&wo, 0, sizeof wo);
  memset(&ro, 0, sizeof ro);
  int rc = gather(&ro, pooled ? pool->occs[depth - 1][0] : NULL, rules, rb,
                  rlen, c->a, c->budget);
  if (rc == 0 && !same)
    rc = gather(&wo, pooled ? pool->occs[depth - 1][1] : NULL, &rs__rules_pbc,
                wb, wlen, c->a, c->budget);
  if (same) wo = ro;
  if (rc != 0) {
    c->rc = rc;
    occs_free(&ro, c->a);
    if (!same) occs_free(&wo, c->a);
    return;
  }
  if (ro.bad_at != SIZE_MAX)
    note(c, RS_VERDICT_UNREADABLE, RS__RC_MALFORMED_WIRE, lp_text(path), 0,
         rbase + ro.bad_at, "%s at byte %zu; %s fails the whole record", ro.why,
         rbase + ro.bad_at, rules->name);

  /* A walk that ends at a misread notes a moved value the reader sees
   * unset first, as the loop below would after every other field. */
  if (top && same && c->stop_at != 0 && c->stop_at <= RS_VERDICT_MISREAD)
    moved_unset_first(c, W, R, &ro, rbase, path);

  /* Every field number of either side, in order. */
  size_t i = 0, j = 0;
  const occ *moved[MAX_MOVED];
  const rs__move *moves[MAX_MOVED];
  size_t n_moved = 0;
  while ((i < wo.n || j < ro.n) && going(c)) {
    uint32_t num;
    if (j >= ro.n || (i < wo.n && wo.items[i].number < ro.items[j].number))
      num = wo.items[i].number;
    else
      num = ro.items[j].number;
    size_t wfirst = i, rfirst = j;
    while (i < wo.n && wo.items[i].number == num) i++;
    while (j < ro.n && ro.items[j].number == num) j++;
    size_t wn = i - wfirst, rn = j - rfirst;
    const ProtobufCFieldDescriptor *rf = rs__field_of(R, num);
    const ProtobufCFieldDescriptor *wf = rs__field_of(W, num);
    if (rf == NULL) {
      if (rn == 0 && wn == 0) continue;
      const rs__move *m = top ? top_move(c, W, R, num, wn) : NULL;
      if (m != NULL && n_moved < MAX_MOVED) {
        moves[n_moved] = m;
        moved[n_moved++] = &wo.items[wfirst];
        continue;
      }
      const occ *o = rn ? &ro.items[rfirst] : &wo.items[wfirst];
      const char *name = wf != NULL ? wf->name : "";
      size_t mark = lp_field(path, name, num);
      const ProtobufCFieldDescriptor *same_name =
          wf != NULL && W != R
              ? protobuf_c_message_descriptor_get_field_by_name(R, wf->name)
              : NULL;
      if (same_name != NULL && wn > 0) {
        note(c, RS_VERDICT_MISREAD, RS__RC_FIELD_MOVED, lp_text(path), num,
             rbase + o->at,
             "%s moved from field %u to field %u: %s reads %s(%u) unset and "
             "ignores field %u",
             wf->name, (unsigned)same_name->id, (unsigned)num, c->reader_label,
             same_name->name, (unsigned)same_name->id, (unsigned)num);
        lp_pop(path, mark);
        continue;
      }
      /* A map entry of a runtime other than protobuf-c keeps no unknown
       * field: the map holds key and value only. */
      if (!rules->pbc && rs__is_map_entry(R)) {
        lp_pop(path, mark);
        continue;
      }
      note(c, RS_VERDICT_IGNORED_FIELDS, RS__RC_FIELD_UNKNOWN, lp_text(path),
           num, rbase + o->at, "field %u is unknown to %s; %s and ignored",
           (unsigned)num, c->reader_label,
           rules->discards_unknown ? "dropped (DiscardUnknown)"
                                   : "kept as an unknown field");
      lp_pop(path, mark);
      continue;
    }
    bool skipped = false;
    for (size_t k = 0; top && k < c->n_skip; k++)
      if (c->skip[k] == num) skipped = true;
    if (wf == NULL || skipped) {
      /* A field the writer's version lacks, carried in its bytes, or one a
       * converter rewrote by meaning: the reader's own checks only. */
      compare_field(c, R, rf, rb, &ro, rfirst, rn, rbase, R, rf, rb, &ro,
                    rfirst, rn, rbase, depth, path);
      continue;
    }
    compare_field(c, W, wf, wb, &wo, wfirst, wn, wbase, R, rf, rb, &ro, rfirst,
                  rn, rbase, depth, path);
  }

  for (size_t k = 0; k < n_moved && going(c); k++)
    note_moved(c, W, R, moved[k], moves[k], &ro, rbase, path);

  /* Fields set on neither side: the reader's default against the
   * writer's. Required ones: protobuf-c fails a message without one that
   * has no default, and gives the default to one that has. Malformed bytes
   * fail it before that check. */
  for (unsigned k = 0; k < R->n_fields && going(c) && ro.bad_at == SIZE_MAX;
       k++) {
    const ProtobufCFieldDescriptor *rf = &R->fields[k];
    size_t first;
    if (find_occ(&ro, rf->id, &first)) continue;
    /* protobuf-c fails a required field without a default; the others
     * any (C++'s IsInitialized, Java's, Go's checkInitialized), unless
     * they do not check (Python; AllowPartial). */
    if (rf->label == PROTOBUF_C_LABEL_REQUIRED && rules->required &&
        (rf->default_value == NULL || !rules->pbc)) {
      size_t mark = lp_field(path, rf->name, rf->id);
      note(c, RS_VERDICT_UNREADABLE, RS__RC_REQUIRED_MISSING, lp_text(path),
           rf->id, rbase,
           "required by %s and not set; %s fails the whole record",
           c->reader_label, rules->name);
      lp_pop(path, mark);
      continue;
    }
    const ProtobufCFieldDescriptor *wf =
        W != R ? rs__field_of(W, rf->id) : NULL;
    for (size_t s = 0; top && s < c->n_skip; s++)
      if (c->skip[s] == rf->id) wf = NULL;
    if (rf->label == PROTOBUF_C_LABEL_REQUIRED && rules->required) {
      /* The reader's code takes a required field as written: the default
       * protobuf-c gives it is a value the writer did not write (its own
       * default at most, which means "unset"). */
      size_t mark = lp_field(path, rf->name, rf->id);
      note(c, RS_VERDICT_MISREAD, RS__RC_REQUIRED_DEFAULTED, lp_text(path),
           rf->id, rbase,
           "required by %s and not set; protobuf-c gives the reader its "
           "default value, which the writer did not write",
           c->reader_label);
      lp_pop(path, mark);
      continue;
    }
    if (wf == NULL || !singular_scalar(rf) || !singular_scalar(wf) ||
        find_occ(&wo, wf->id, &first))
      continue;
    val dw = default_val(wf), dr = default_val(rf);
    if (default_eq(&dw, &dr) || (is_zero_val(&dw) && is_zero_val(&dr)))
      continue;
    char a[96], b[96];
    val_format(&dw, wf, a, sizeof a);
    val_format(&dr, rf, b, sizeof b);
    size_t mark = lp_field(path, rf->name, rf->id);
    note(c, RS_VERDICT_MISREAD, RS__RC_DEFAULT_CHANGED, lp_text(path), rf->id,
         rbase,
         "the writer left it unset, which means %s to it; %s reads its own "
         "default %s",
         a, c->reader_label, b);
    lp_pop(path, mark);
  }
  occs_free(&ro, c->a);
  if (!same) occs_free(&wo, c->a);
}

void rs__compare(rs__cmp *c, const ProtobufCMessageDescriptor *W,
                 const uint8_t *wb, size_t wlen, size_t wbase,
                 const ProtobufCMessageDescriptor *R, const uint8_t *rb,
                 size_t rlen, size_t rbase) {
  lpath path;
  path.n = 0;
  cmp_pool pool;
  cmp_pool *outer = c->pool;
  const struct lpath *outer_path = c->path;
  c->pool = &pool;
  c->path = &path;
  compare_msg(c, W != NULL ? W : R, W != NULL ? wb : rb,
              W != NULL ? wlen : rlen, W != NULL ? wbase : rbase, R, rb, rlen,
              rbase, 1, &path, true);
  c->pool = outer;
  c->path = outer_path;
}

/* a * b + c, saturating at SIZE_MAX. */
static size_t mul_add(size_t a, size_t b, size_t c) {
  if (b != 0 && a > (SIZE_MAX - c) / b) return SIZE_MAX;
  return a * b + c;
}

/*
 * What the walk allocates, with O = RS__ALLOC_OVERHEAD the most a budget
 * adds to one allocation, at each level of nesting and for each side (the
 * writer's occurrences, the reader's; the reader's own checks of a field
 * the writer lacks read the reader's twice): the values it compares there
 * are slices of the level above or messages merged from such slices, so
 * they hold len bytes at most, in len + 1 messages at most, of at most len
 * fields and values (a field takes a byte at least). Then:
 *   - gather, for each message: OCCS_INLINE occurrences charged, and
 *     arrays that double up to twice its fields (four times in all), at
 *     most 64 allocations;
 *   - field_vals, for each field with a value: VALS_INLINE values charged,
 *     arrays that double as above; each merge of a singular message's
 *     occurrences a copy of them all (len + 1 bytes at most);
 *   - map_dedupe, for each map: a key and a flag for each entry;
 *   - sub_walk, for at most each value: reasons of its own, at most
 *     SUB_NOTES at a time, each replaced only by a worse one (of
 *     three kinds: 3 * SUB_NOTES more), each a text (400 bytes at
 *     most, note()) and a path (rs__path); and its list.
 * Levels beyond the first are what protobuf-c's rules reach: no recursion
 * limit of their own, no reader's checks of messages (check_reader_msgs).
 */
size_t rs__compare_bound(size_t len, unsigned levels) {
  const size_t o = RS__ALLOC_OVERHEAD;
  size_t n = len + 1;
  size_t note_bytes = 400 + sizeof(((rs__path *)0)->buf) + 2 * o;
  size_t per_msg = OCCS_INLINE * sizeof(occ) + 65 * o;
  size_t per_field = VALS_INLINE * sizeof(val) + 65 * o + 2 * o;
  size_t per_value = 4 * sizeof(occ) + 4 * sizeof(val) + sizeof(map_key) + 1 +
                     4 * SUB_NOTES * note_bytes + SUB_NOTES * sizeof(rs__note) +
                     o;
  size_t level = mul_add(n, per_msg + per_field + per_value, 0);
  level = mul_add(len, n + o, level); /* merges */
  return mul_add(level, 4 * (size_t)(levels != 0 ? levels : 1), 0);
}

/* ---- what a version can have written ------------------------------------- */

/* Whether a writer of field f (of message D) writes the varint raw: in its
 * type's range, and a value its enum has when the enum is closed (an open
 * enum's field holds numbers its definition lacks, and writers write
 * them). */
static bool varint_in_range(const ProtobufCMessageDescriptor *D,
                            const ProtobufCFieldDescriptor *f, uint64_t raw) {
  if (!rs__varint_in_type_range(f->type, raw)) return false;
  return f->type != PROTOBUF_C_TYPE_ENUM || !rs__enum_closed(D, f) ||
         rs__enum_known(f->descriptor, (int)(uint32_t)raw);
}

/* A field as protobuf-c reads it, or a group (wire type 3), which
 * protobuf-c refuses and a writer of a version with groups writes, as the
 * other runtimes read it. */
static int read_field_or_group(const uint8_t *buf, size_t len, size_t *pos,
                               rs__wfield *f, const char **why) {
  size_t at = *pos;
  if (rs__read_field(buf, len, pos, f, why) == 0) return 0;
  size_t p = at;
  if (rs__read_field_rt(rs__rules_for(RS_RUNTIME_CPP), buf, len, &p, f, why) ==
          0 &&
      f->wire_type == RS__WT_SGROUP) {
    *pos = p;
    return 0;
  }
  return -1;
}

static bool explains(const ProtobufCMessageDescriptor *D, const uint8_t *buf,
                     size_t len, unsigned depth, unsigned max_depth) {
  if (depth > max_depth) return false;
  uint64_t seen_small[4] = {0};
  uint32_t oneof_seen[16];
  unsigned oneof_of[16];
  size_t n_oneof = 0;
  size_t pos = 0;
  while (pos < len) {
    rs__wfield f;
    const char *why;
    if (read_field_or_group(buf, len, &pos, &f, &why) != 0) return false;
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(D, f.number);
    if (fd == NULL) return false;
    size_t idx = (size_t)(fd - D->fields);
    if (idx < 256) seen_small[idx / 64] |= (uint64_t)1 << (idx % 64);
    if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
      /* A writer sets one member of a oneof. */
      bool found = false;
      for (size_t k = 0; k < n_oneof; k++)
        if (oneof_of[k] == fd->quantifier_offset) {
          if (oneof_seen[k] != fd->id) return false;
          found = true;
        }
      if (!found && n_oneof < 16) {
        oneof_of[n_oneof] = fd->quantifier_offset;
        oneof_seen[n_oneof++] = fd->id;
      }
    }
    bool repeated = fd->label == PROTOBUF_C_LABEL_REPEATED;
    const uint8_t *p = buf + f.value_offset;
    if (repeated && f.wire_type == RS__WT_LEN && rs__is_packable(fd)) {
      if (is_fixed32_type(fd->type) || is_fixed64_type(fd->type)) {
        if (f.value_len % (is_fixed32_type(fd->type) ? 4 : 8) != 0)
          return false;
        continue;
      }
      size_t q = 0;
      while (q < f.value_len) {
        uint64_t raw;
        if (rs__read_varint(p, f.value_len, &q, &raw) != 0) return false;
        if (!varint_in_range(D, fd, raw)) return false;
      }
      continue;
    }
    if (f.wire_type != rs__field_wire_type(fd)) return false;
    switch (fd->type) {
      case PROTOBUF_C_TYPE_MESSAGE:
        if (!explains(fd->descriptor, p, f.value_len, depth + 1, max_depth))
          return false;
        break;
      case PROTOBUF_C_TYPE_STRING:
        if (rs__field_wants_utf8(fd) &&
            rs__utf8_valid_prefix(p, f.value_len) != f.value_len)
          return false;
        /* A NUL in a string: protobuf-c's C string ends there, but a
         * writer in another runtime writes it, so it is no sign that this
         * version did not write the bytes (the comparison says what a
         * reader makes of it). */
        break;
      default:
        if (f.wire_type == RS__WT_VARINT && !varint_in_range(D, fd, f.value))
          return false;
        break;
    }
  }
  for (unsigned i = 0; i < D->n_fields && i < 256; i++)
    if (D->fields[i].label == PROTOBUF_C_LABEL_REQUIRED &&
        !(seen_small[i / 64] & ((uint64_t)1 << (i % 64))))
      return false;
  return true;
}

bool rs__explains(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                  size_t len, unsigned max_depth) {
  return explains(d, buf, len, 1, max_depth);
}

/* The wire types under which bytes a version explains hold field f. */
static unsigned explained_wire_types(const ProtobufCFieldDescriptor *f) {
  unsigned m = 1u << rs__field_wire_type(f);
  if (f->label == PROTOBUF_C_LABEL_REPEATED && rs__is_packable(f))
    m |= 1u << RS__WT_LEN;
  return m;
}

bool rs__explains_excludes(const ProtobufCMessageDescriptor *a,
                           const ProtobufCMessageDescriptor *b, uint64_t *mask,
                           bool *never) {
  *mask = 0;
  *never = false;
  if (a->n_fields > 64) return false;
  for (unsigned i = 0; i < a->n_fields; i++) {
    const ProtobufCFieldDescriptor *fb =
        protobuf_c_message_descriptor_get_field(b, a->fields[i].id);
    if (fb == NULL ||
        (explained_wire_types(&a->fields[i]) & explained_wire_types(fb)) == 0)
      *mask |= (uint64_t)1 << i;
  }
  /* A field b requires that a's bytes cannot hold as b reads it. */
  for (unsigned i = 0; i < b->n_fields; i++) {
    const ProtobufCFieldDescriptor *fb = &b->fields[i];
    if (fb->label != PROTOBUF_C_LABEL_REQUIRED) continue;
    const ProtobufCFieldDescriptor *fa =
        protobuf_c_message_descriptor_get_field(a, fb->id);
    if (fa == NULL || (*mask & ((uint64_t)1 << (size_t)(fa - a->fields))))
      *never = true;
  }
  return true;
}

/* ---- versions that read raw bytes alike ---------------------------------- */

/* Whether both types read every varint that both can have written alike. */
static int varint_class(ProtobufCType t) {
  switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_ENUM:
      return 0; /* two's complement */
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_BOOL:
      return 1; /* unsigned */
    default:
      return 2; /* zigzag */
  }
}

static bool varints_agree(ProtobufCType a, ProtobufCType b) {
  int ca = varint_class(a), cb = varint_class(b);
  if (ca == cb) return true;
  if (ca == 2 || cb == 2) return false;
  /* Signed against unsigned: alike where both can have been written,
   * unless one is uint64: int64 and uint64 both write 64-bit values with
   * the top bit set, and int32 writes its negatives as ten-byte varints
   * that uint64 also writes. */
  return (ca == 1 ? a : b) != PROTOBUF_C_TYPE_UINT64;
}

typedef struct seen_pair {
  const ProtobufCMessageDescriptor *a, *b;
} seen_pair;

static bool types_agree(const ProtobufCMessageDescriptor *A,
                        const ProtobufCMessageDescriptor *B, seen_pair *seen,
                        size_t *n_seen, size_t cap);

/* Whether an enum number names another value in the other enum. */
static bool enum_names_differ(const ProtobufCEnumDescriptor *a,
                              const ProtobufCEnumDescriptor *b) {
  if (a == b) return false;
  for (unsigned i = 0; i < a->n_values; i++) {
    const ProtobufCEnumValue *vb = rs__enum_value(b, a->values[i].value);
    if (vb != NULL && strcmp(vb->name, a->values[i].name) != 0) return true;
  }
  return false;
}

/*
 * Whether fields fa and fb (one number, two versions) read alike what both can
 * have written: 1 yes; 0 not when the field is present (an absent one reads
 * alike); -1 not even when absent (another default).
 */
static int field_agrees(const ProtobufCFieldDescriptor *fa,
                        const ProtobufCFieldDescriptor *fb, seen_pair *seen,
                        size_t *n_seen, size_t cap) {
  /* Oneofs need no look: bytes a version explains set one member of each
   * of its oneofs at most (rs__explains), so a oneof of one version clears
   * nothing the other version's reading keeps. */
  /* An unset field reads as each version's default. */
  if (singular_scalar(fa) && singular_scalar(fb)) {
    val da = default_val(fa), db = default_val(fb);
    if (!default_eq(&da, &db) && !(is_zero_val(&da) && is_zero_val(&db)))
      return -1;
  }
  if ((fa->label == PROTOBUF_C_LABEL_REPEATED) !=
      (fb->label == PROTOBUF_C_LABEL_REPEATED))
    return 0;
  /* A map's writer means one value a key (the last entry of a key wins);
   * a repeated message keeps every entry: bytes that repeat a key, which
   * both versions explain, are read differently. */
  if (rs__is_map_field(fa) != rs__is_map_field(fb)) return 0;
  ProtobufCType ta = fa->type, tb = fb->type;
  /* Another name and another type: the comparison calls the number reused
   * for another field whatever the values (compare_field). */
  if (ta != tb && strcmp(fa->name, fb->name) != 0) return 0;
  if (rs__is_varint_type(ta) && rs__is_varint_type(tb)) {
    if (!varints_agree(ta, tb)) return 0;
    if (ta == PROTOBUF_C_TYPE_ENUM && tb == PROTOBUF_C_TYPE_ENUM &&
        enum_names_differ(fa->descriptor, fb->descriptor))
      return 0;
    return 1;
  }
  /* string and bytes differ too: a NUL ends protobuf-c's C string. */
  if (ta != tb) return 0;
  if (ta == PROTOBUF_C_TYPE_MESSAGE &&
      !types_agree(fa->descriptor, fb->descriptor, seen, n_seen, cap))
    return 0;
  return 1;
}

static bool types_agree(const ProtobufCMessageDescriptor *A,
                        const ProtobufCMessageDescriptor *B, seen_pair *seen,
                        size_t *n_seen, size_t cap) {
  if (A == B) return true;
  for (size_t i = 0; i < *n_seen; i++)
    if (seen[i].a == A && seen[i].b == B) return true;
  if (*n_seen == cap) return false; /* too many to tell: assume not */
  seen[(*n_seen)++] = (seen_pair){A, B};
  for (unsigned i = 0; i < A->n_fields; i++) {
    const ProtobufCFieldDescriptor *fb =
        protobuf_c_message_descriptor_get_field(B, A->fields[i].id);
    if (fb != NULL && field_agrees(&A->fields[i], fb, seen, n_seen, cap) != 1)
      return false;
  }
  return true;
}

bool rs__versions_conflicts(const ProtobufCMessageDescriptor *a,
                            const ProtobufCMessageDescriptor *b, uint32_t *out,
                            size_t cap, size_t *n) {
  *n = 0;
  for (unsigned i = 0; i < a->n_fields; i++) {
    const ProtobufCFieldDescriptor *fb =
        protobuf_c_message_descriptor_get_field(b, a->fields[i].id);
    if (fb == NULL) continue;
    seen_pair seen[256];
    size_t n_seen = 0;
    int r = field_agrees(&a->fields[i], fb, seen, &n_seen, 256);
    if (r < 0) return false;
    if (r == 0) {
      if (*n == cap) return false;
      out[(*n)++] = a->fields[i].id;
    }
  }
  return true;
}

bool rs__has_field(const uint8_t *buf, size_t len, const uint32_t *numbers,
                   size_t n) {
  size_t pos = 0;
  while (pos < len) {
    rs__wfield f;
    const char *why;
    if (rs__read_field(buf, len, &pos, &f, &why) != 0) return true;
    for (size_t i = 0; i < n; i++)
      if (numbers[i] == f.number) return true;
  }
  return false;
}

bool rs__versions_agree(const ProtobufCMessageDescriptor *a,
                        const ProtobufCMessageDescriptor *b) {
  seen_pair seen[256];
  size_t n = 0;
  return types_agree(a, b, seen, &n, 256);
}
