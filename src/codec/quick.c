/*
 * The quick walk: proves, without allocating, that protobuf-c's
 * protobuf_c_message_unpack (1.4) accepts a payload, and how much it would
 * allocate doing so. rs_classify with RS_OPT_VERDICT_ONLY uses it to skip
 * the unpack of records whose verdict needs no more than that proof.
 *
 * It is sound, not complete: every byte sequence it accepts is one that
 * protobuf-c unpacks (given the memory it counts), but it gives up on many
 * that protobuf-c also unpacks, so that only the plain cases need to be
 * argued here. It gives up on (and the caller falls back to the full path):
 *   - a tag longer than 5 bytes, or whose first byte is below 8 (field 0);
 *   - wire types 3, 4, 6 and 7 (groups and invalid ones);
 *   - a length prefix longer than 5 bytes, or one whose 32 bits protobuf-c
 *     would truncate (fifth byte above 0x0F);
 *   - a known field with a wire type other than its own (fields of packable
 *     types take wire type 2 as packed as well), a bool written other than as
 *     a varint (protobuf-c reads those too), a packed bool byte above 1;
 *   - a singular message field given twice (protobuf-c merges them);
 *   - a required field that is not set (protobuf-c accepts one with a
 *     default value);
 *   - a message type with more than RS__QUICK_MAX_FIELDS fields;
 *   - nesting deeper than the caller's limit;
 *   - in the `clean` mode: any unknown field, and any enum value (every
 *     occurrence, and the default of an unset field the reader still sees)
 *     that the descriptor lacks.
 */
#include <string.h>

#include "internal.h"
#include "rollsafe/envelope.pb-c.h"

typedef struct qwalk {
  size_t alloc;       /* upper bound of what protobuf-c allocates */
  unsigned max_depth; /* deepest message level allowed (top is 1) */
  /* Which strings a clean walk wants UTF-8 in (rs__qfield.utf8 bits):
   * proto3 ones, or every one (a runtime that decodes proto2 strings with
   * replacement reads invalid UTF-8 as other text). */
  uint8_t utf8_mask;
  bool clean;
  bool strict;  /* also every varint in its type's range (rs__explains) */
  uint64_t top; /* the top level's first 64 fields present, by index */
  bool nul;     /* the record holds a NUL byte: strings are looked at */
} qwalk;

/* The walk of one message, compiled once per mode (clean, strict) so that
 * the hot loop tests no mode. */
#define Q_INLINE static inline __attribute__((always_inline))
static bool q_message_plain(qwalk *q, const rs__qplan *pl, const uint8_t *p,
                            size_t len, unsigned depth);
static bool q_message_clean(qwalk *q, const rs__qplan *pl, const uint8_t *p,
                            size_t len, unsigned depth);
static bool q_message_strict(qwalk *q, const rs__qplan *pl, const uint8_t *p,
                             size_t len, unsigned depth);

/* protobuf-c's own lookup (int_range_lookup) adds a range's length to its
 * start in int, which overflows for a range that ends at INT32_MAX: it
 * finds no value there. This one counts in 64 bits. */
const ProtobufCEnumValue *rs__enum_value(const ProtobufCEnumDescriptor *e,
                                         int value) {
  for (unsigned i = 0; i < e->n_value_ranges; i++) {
    const ProtobufCIntRange *r = &e->value_ranges[i];
    int64_t start = r->start_value;
    int64_t n = (int64_t)e->value_ranges[i + 1].orig_index - r->orig_index;
    if (value >= start && value - start < n)
      return &e->values[r->orig_index + (unsigned)(value - start)];
  }
  return NULL;
}

bool rs__enum_known(const ProtobufCEnumDescriptor *e, int value) {
  return rs__enum_value(e, value) != NULL;
}

/* A varint as protobuf-c scans it (at most 10 bytes); its length or 0. */
static inline size_t q_varint_of(const uint8_t *p, size_t rem, uint64_t *out,
                                 bool header) {
  size_t max = rem < 10 ? rem : 10;
  uint64_t v = 0;
  for (size_t i = 0; i < max; i++) {
    v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
    if ((p[i] & 0x80) == 0) {
      /* Ten bytes end in 1 when written: any other last byte is read
       * otherwise by some runtime (Go fails bits past 64; Java sets bit
       * 63 whatever the byte holds), so the full path decides. An
       * envelope's header is read by rollsafe's own parser: the low 64
       * bits. */
      if (i == 9 && (header ? p[i] > 1 : p[i] != 1)) return 0;
      *out = v;
      return i + 1;
    }
  }
  return 0;
}

static inline size_t q_varint(const uint8_t *p, size_t rem, uint64_t *out) {
  return q_varint_of(p, rem, out, false);
}

static inline size_t q_header_varint(const uint8_t *p, size_t rem,
                                     uint64_t *out) {
  return q_varint_of(p, rem, out, true);
}

/* q_varint's length, without the value. */
static inline size_t q_skip_varint(const uint8_t *p, size_t rem) {
  if (rem > 0 && p[0] < 0x80) return 1;
  size_t max = rem < 10 ? rem : 10;
  for (size_t i = 0; i < max; i++)
    if ((p[i] & 0x80) == 0) return i == 9 && p[i] != 1 ? 0 : i + 1;
  return 0;
}

/*
 * A length prefix as protobuf-c reads it (scan_length_prefixed_data: at most
 * 5 bytes into 32 bits), restricted to values it reads without truncation.
 * Returns the prefix's length, 0 to give up; *n is the value, which fits.
 */
static inline size_t q_length(const uint8_t *p, size_t rem, size_t *n) {
  if (rem > 0 && p[0] < 0x80) {
    if (p[0] > rem - 1) return 0;
    *n = p[0];
    return 1;
  }
  size_t max = rem < 5 ? rem : 5;
  uint64_t v = 0;
  for (size_t i = 0; i < max; i++) {
    v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
    if ((p[i] & 0x80) == 0) {
      if (i == 4 && p[i] > 0x0f) return 0;
      if (v > rem - (i + 1)) return 0;
      *n = (size_t)v;
      return i + 1;
    }
  }
  return 0;
}

/* A tag as parse_tag_and_wiretype reads it: at most 5 bytes, whose bits
 * all fit its 32-bit field number, and a first byte of 8 or more (field
 * numbers of 2^29 and up are unknown to every descriptor). Length or 0. */
static inline size_t q_tag(const uint8_t *p, size_t rem, uint32_t *number,
                           unsigned *wire_type) {
  uint8_t b0 = p[0];
  if (b0 < 8) return 0;
  *wire_type = b0 & 7;
  uint32_t tag = (uint32_t)(b0 & 0x7f) >> 3;
  if ((b0 & 0x80) == 0) {
    *number = tag;
    return 1;
  }
  unsigned shift = 4;
  for (size_t i = 1; i < 5 && i < rem; i++) {
    tag |= (uint32_t)(p[i] & 0x7f) << shift;
    if ((p[i] & 0x80) == 0) {
      *number = tag;
      return i + 1;
    }
    shift += 7;
  }
  return 0;
}

/* The wire type a field of each protobuf-c type is written with (unpacked),
 * as rs__field_wire_type says, for the hot loop. */
static const uint8_t q_wire_type_of[] = {
    [PROTOBUF_C_TYPE_INT32] = RS__WT_VARINT,
    [PROTOBUF_C_TYPE_SINT32] = RS__WT_VARINT,
    [PROTOBUF_C_TYPE_SFIXED32] = RS__WT_I32,
    [PROTOBUF_C_TYPE_INT64] = RS__WT_VARINT,
    [PROTOBUF_C_TYPE_SINT64] = RS__WT_VARINT,
    [PROTOBUF_C_TYPE_SFIXED64] = RS__WT_I64,
    [PROTOBUF_C_TYPE_UINT32] = RS__WT_VARINT,
    [PROTOBUF_C_TYPE_FIXED32] = RS__WT_I32,
    [PROTOBUF_C_TYPE_UINT64] = RS__WT_VARINT,
    [PROTOBUF_C_TYPE_FIXED64] = RS__WT_I64,
    [PROTOBUF_C_TYPE_FLOAT] = RS__WT_I32,
    [PROTOBUF_C_TYPE_DOUBLE] = RS__WT_I64,
    [PROTOBUF_C_TYPE_BOOL] = RS__WT_VARINT,
    [PROTOBUF_C_TYPE_ENUM] = RS__WT_VARINT,
    [PROTOBUF_C_TYPE_STRING] = RS__WT_LEN,
    [PROTOBUF_C_TYPE_BYTES] = RS__WT_LEN,
    [PROTOBUF_C_TYPE_MESSAGE] = RS__WT_LEN,
};

static inline unsigned q_wire_type(const ProtobufCFieldDescriptor *f) {
  return (unsigned)f->type < sizeof q_wire_type_of ? q_wire_type_of[f->type]
                                                   : 8; /* matches none */
}

/* Whether a varint is one a writer of the field's type writes (strict). */
static inline bool q_in_range(const rs__qfield *f, uint64_t raw) {
  return rs__varint_in_type_range((ProtobufCType)f->type, raw);
}

/* The enum value protobuf-c stores for a varint: its low 32 bits. */
static inline bool q_enum_ok(const qwalk *q, const rs__qfield *f,
                             uint64_t raw) {
  uint32_t v = (uint32_t)raw;
  if (!q->clean) return true;
  /* Values 0..63 by the field's bitmap, the rest by the descriptor. */
  if (v < 64) return (f->enum_small >> v) & 1;
  return rs__enum_known(f->e, (int)v);
}

static bool q_packed(qwalk *q, const rs__qfield *f, const uint8_t *p,
                     size_t n) {
  /* Each element takes at most the largest repeated slot (16 bytes). */
  q->alloc += 16 * n;
  switch (f->type) {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
      return n % 4 == 0;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
      return n % 8 == 0;
    case PROTOBUF_C_TYPE_BOOL:
      for (size_t i = 0; i < n; i++)
        if (p[i] > 1) return false;
      return true;
    default: {
      bool is_enum = f->type == PROTOBUF_C_TYPE_ENUM;
      size_t i = 0;
      while (i < n) {
        uint64_t v;
        size_t s = q_varint(p + i, n - i, &v);
        if (s == 0 || (is_enum && !q_enum_ok(q, f, v))) return false;
        if (q->strict && !q_in_range(f, v)) return false;
        i += s;
      }
      return true;
    }
  }
}

/* Whether n bytes at p hold a NUL; avail >= n bytes may be read from p.
 * Eight bytes at a time (most strings are short enough that calling memchr
 * costs more than the look), the last eight masked to the string. */
static inline bool q_has_nul(const uint8_t *p, size_t n, size_t avail) {
  if (n > 64) return memchr(p, 0, n) != NULL;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  /* A word's flagged bytes: the lowest is a NUL; one above a NUL may be
   * flagged too, which masking keeps sound (the NUL below is kept). */
  const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    memcpy(&x, p + i, 8);
    if ((x - ones) & ~x & highs) return true;
  }
  if (i == n) return false;
  if (avail - i >= 8) {
    uint64_t x;
    memcpy(&x, p + i, 8);
    uint64_t keep = ((uint64_t)1 << (8 * (n - i))) - 1;
    return ((x - ones) & ~x & highs & keep) != 0;
  }
  p += i;
  n -= i;
#else
  (void)avail;
#endif
  for (size_t k = 0; k < n; k++)
    if (p[k] == 0) return true;
  return false;
}

/* ---- plans: each descriptor's fields, prepared once ------------------------
 */

static int q_collect(const ProtobufCMessageDescriptor ***list, size_t *n,
                     size_t *cap, const ProtobufCMessageDescriptor *d,
                     const ProtobufCAllocator *a) {
  for (size_t i = 0; i < *n; i++)
    if ((*list)[i] == d) return 0;
  if (*n == *cap) {
    size_t ncap = *cap ? *cap * 2 : 8;
    const ProtobufCMessageDescriptor **grown =
        rs__alloc(a, ncap * sizeof *grown);
    if (grown == NULL) return RS_ENOMEM;
    if (*n) memcpy(grown, *list, *n * sizeof *grown);
    rs__free(a, (void *)*list);
    *list = grown;
    *cap = ncap;
  }
  (*list)[(*n)++] = d;
  for (unsigned i = 0; i < d->n_fields; i++)
    if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE) {
      int rc = q_collect(list, n, cap, d->fields[i].descriptor, a);
      if (rc != 0) return rc;
    }
  return 0;
}

void rs__qplans_free(rs__qplans *ps, const ProtobufCAllocator *a) {
  if (ps == NULL) return;
  for (size_t i = 0; i < ps->n; i++) rs__free(a, ps->plans[i].fields);
  rs__free(a, ps->plans);
  rs__free(a, ps);
}

static void q_plan_fill(rs__qplan *pl, const rs__qplans *ps) {
  const ProtobufCMessageDescriptor *d = pl->d;
  pl->usable = d->n_fields <= RS__QUICK_MAX_FIELDS;
  pl->n_words = (d->n_fields + 63) / 64;
  pl->fixed_alloc = d->sizeof_message + d->n_fields / 8 + 1;
  for (unsigned i = 0; i < d->n_fields && pl->usable; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    rs__qfield *qf = &pl->fields[i];
    qf->type = (uint8_t)f->type;
    qf->wt = (uint8_t)q_wire_type(f);
    /* A group-encoded message field (RS_FIELD_FLAG_DELIMITED): runtimes
     * other than protobuf-c send a length-delimited occurrence of it to
     * their unknown fields; the full comparison says what that does. */
    if (f->reserved_flags & RS_FIELD_FLAG_DELIMITED) pl->usable = false;
    qf->repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
    /* Each element of a repeated field takes at most 16 bytes of its array
     * (a ProtobufCBinaryData). */
    qf->alloc_each = (qf->repeated ? 16 : 0) + RS__QSLAB;
    /* protobuf-c keeps invalid UTF-8 in a proto3 string, other runtimes
     * fail the record, and a writer never writes it: a clean walk does
     * not prove such a record clean (bit 0). Bit 1: any string, which
     * Java decodes with replacement. */
    qf->utf8 = (uint8_t)((rs__field_wants_utf8(f) ? 1u : 0u) |
                         (f->type == PROTOBUF_C_TYPE_STRING ? 2u : 0u));
    /* A one-byte varint is a bool's 0 or 1, any other type's 0..127. */
    qf->max1 = f->type == PROTOBUF_C_TYPE_BOOL ? 1 : 0x7f;
    qf->ranged =
        f->type == PROTOBUF_C_TYPE_INT32 || f->type == PROTOBUF_C_TYPE_ENUM ||
        f->type == PROTOBUF_C_TYPE_UINT32 ||
        f->type == PROTOBUF_C_TYPE_SINT32 || f->type == PROTOBUF_C_TYPE_BOOL;
    if (f->id < RS__QDENSE) pl->dense[f->id] = (uint16_t)(i + 1);
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
      /* The members of one oneof share its case's offset. */
      for (unsigned k = 0; k < d->n_fields; k++) {
        const ProtobufCFieldDescriptor *g = &d->fields[k];
        if (k == i || !(g->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
            g->quantifier_offset != f->quantifier_offset)
          continue;
        if (k >= 64 || i >= 64)
          pl->oneof_unchecked = true;
        else
          qf->rivals |= (uint64_t)1 << k;
      }
    }
    if (f->label == PROTOBUF_C_LABEL_REQUIRED)
      pl->required[i / 64] |= (uint64_t)1 << (i % 64);
    if (f->type == PROTOBUF_C_TYPE_ENUM) {
      qf->e = f->descriptor;
      for (int v = 0; v < 64; v++)
        if (rs__enum_known(qf->e, v)) qf->enum_small |= (uint64_t)1 << v;
      /* An unset enum the reader still sees holds its default. */
      int def = f->default_value != NULL ? *(const int *)f->default_value : 0;
      if (!qf->repeated && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
          !(f->label == PROTOBUF_C_LABEL_OPTIONAL &&
            f->quantifier_offset != 0) &&
          !rs__enum_known(f->descriptor, def))
        pl->bad_default[i / 64] |= (uint64_t)1 << (i % 64);
    }
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
      for (size_t k = 0; k < ps->n; k++)
        if (ps->plans[k].d == f->descriptor) qf->sub = &ps->plans[k];
  }
}

int rs__qplans_build(rs__qplans **out, const ProtobufCMessageDescriptor *d,
                     const ProtobufCAllocator *a) {
  *out = NULL;
  const ProtobufCMessageDescriptor **list = NULL;
  size_t n = 0, cap = 0;
  int rc = q_collect(&list, &n, &cap, d, a);
  rs__qplans *ps = rc == 0 ? rs__alloc(a, sizeof *ps) : NULL;
  if (ps != NULL) ps->plans = rs__alloc(a, n * sizeof *ps->plans);
  if (ps == NULL || ps->plans == NULL) rc = RS_ENOMEM;
  for (size_t i = 0; rc == 0 && i < n; i++) {
    ps->plans[i].d = list[i];
    ps->plans[i].fields =
        rs__alloc(a, (list[i]->n_fields + 1) * sizeof *ps->plans[i].fields);
    if (ps->plans[i].fields == NULL) rc = RS_ENOMEM;
    ps->n = i + 1;
  }
  rs__free(a, (void *)list);
  if (rc != 0) {
    rs__qplans_free(ps, a);
    return rc;
  }
  for (size_t i = 0; i < n; i++) q_plan_fill(&ps->plans[i], ps);
  *out = ps;
  return 0;
}

/* ---- the walk ---------------------------------------------------------------
 */

/* An unknown field's bytes (kept as they are by protobuf-c); 0 to give up. */
static size_t q_unknown(const uint8_t *p, size_t rem, unsigned wt) {
  switch (wt) {
    case RS__WT_VARINT:
      return q_skip_varint(p, rem);
    case RS__WT_I64:
      return rem >= 8 ? 8 : 0;
    case RS__WT_I32:
      return rem >= 4 ? 4 : 0;
    case RS__WT_LEN: {
      size_t body;
      size_t pre = q_length(p, rem, &body);
      return pre == 0 ? 0 : pre + body;
    }
    default:
      return 0;
  }
}

Q_INLINE bool q_message(qwalk *q, const rs__qplan *pl, const uint8_t *p,
                        size_t len, unsigned depth, const bool clean,
                        const bool strict) {
  if (depth > q->max_depth || !pl->usable) return false;
  const ProtobufCMessageDescriptor *d = pl->d;
  /* Fields seen: the first 64 in a register (most types have fewer), the
   * rest in memory. */
  uint64_t seen0 = 0;
  uint64_t seen[RS__QUICK_MAX_FIELDS / 64 + 1];
  if (pl->n_words > 1) memset(seen, 0, sizeof seen);
  size_t alloc = 0;
  if (strict && pl->oneof_unchecked) return false;
  const uint8_t *cur = p, *end = p + len;
  while (cur < end) {
    uint32_t number;
    unsigned wt;
    unsigned b0 = *cur;
    if (b0 < 0x80) {
      /* One tag byte: field numbers 1 to 15 (a first byte below 8 is
       * field 0, which protobuf-c refuses there). */
      if (b0 < 8) return false;
      number = b0 >> 3;
      wt = b0 & 7;
      cur++;
    } else {
      size_t used = q_tag(cur, (size_t)(end - cur), &number, &wt);
      if (used == 0) return false;
      cur += used;
    }
    size_t idx;
    if (number < RS__QDENSE) {
      idx = (size_t)pl->dense[number] - 1; /* SIZE_MAX: unknown */
    } else {
      const ProtobufCFieldDescriptor *f = rs__field_of(d, number);
      idx = f != NULL ? (size_t)(f - d->fields) : SIZE_MAX;
    }
    size_t rem = (size_t)(end - cur);
    if (idx == SIZE_MAX) {
      /* An unknown field: kept as bytes, never parsed. */
      if (clean || number == 0) return false;
      size_t n = q_unknown(cur, rem, wt);
      if (n == 0) return false;
      alloc += sizeof(ProtobufCMessageUnknownField) + n + RS__QSLAB;
      cur += n;
      continue;
    }
    const rs__qfield *f = &pl->fields[idx];
    bool again;
    if (idx < 64) {
      uint64_t bit = (uint64_t)1 << idx;
      again = (seen0 & bit) != 0;
      seen0 |= bit;
    } else {
      uint64_t bit = (uint64_t)1 << (idx % 64);
      again = (seen[idx / 64] & bit) != 0;
      seen[idx / 64] |= bit;
    }
    alloc += f->alloc_each;
    /* A writer sets one member of a oneof (rs__explains). */
    if (strict && (seen0 & f->rivals) != 0) return false;
    if (wt == RS__WT_LEN) {
      size_t n, pre;
      if (rem > 0 && cur[0] < 0x80) {
        n = cur[0];
        pre = 1;
        if (n > rem - 1) return false;
      } else {
        pre = q_length(cur, rem, &n);
        if (pre == 0) return false;
      }
      const uint8_t *body = cur + pre;
      cur = body + n;
      if (f->wt == RS__WT_LEN) {
        if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
          alloc += n + 1; /* string (NUL-terminated) or bytes */
          if ((f->utf8 & q->utf8_mask) && clean &&
              rs__utf8_valid_prefix(body, n) != n)
            return false;
          /* A NUL ends protobuf-c's C string: the reader sees less than
           * was written, which the comparison reports. */
          if (clean && q->nul && f->type == PROTOBUF_C_TYPE_STRING &&
              q_has_nul(body, n, (size_t)(end - body)))
            return false;
        } else {
          if (again && !f->repeated) return false;
          if (!(strict  ? q_message_strict(q, f->sub, body, n, depth + 1)
                : clean ? q_message_clean(q, f->sub, body, n, depth + 1)
                        : q_message_plain(q, f->sub, body, n, depth + 1)))
            return false;
        }
      } else {
        /* Only a repeated scalar may come as wire type 2: packed. */
        if (!f->repeated || !q_packed(q, f, body, n)) return false;
      }
      continue;
    }
    if (wt != f->wt) return false;
    switch (wt) {
      case RS__WT_VARINT: {
        size_t n;
        if (f->type == PROTOBUF_C_TYPE_ENUM) {
          uint64_t v;
          n = q_varint(cur, rem, &v);
          if (n == 0 || !q_enum_ok(q, f, v)) return false;
          if (strict && !q_in_range(f, v)) return false;
        } else if (rem > 0 && cur[0] < 0x80) {
          if (strict && cur[0] > f->max1) return false;
          n = 1;
        } else if (strict && f->ranged) {
          uint64_t v;
          n = q_varint(cur, rem, &v);
          if (n == 0 || !q_in_range(f, v)) return false;
        } else {
          n = q_skip_varint(cur, rem);
          if (n == 0) return false;
        }
        cur += n;
        break;
      }
      case RS__WT_I64:
        if (rem < 8) return false;
        cur += 8;
        break;
      default: /* RS__WT_I32 */
        if (rem < 4) return false;
        cur += 4;
        break;
    }
  }
  /* The message and the required-field bitmap (the members' slab room
   * was counted with each). */
  alloc += pl->fixed_alloc;
  if (depth == 1) q->top = seen0;
  q->alloc += alloc;
  if ((pl->required[0] & ~seen0) != 0 ||
      (clean && (pl->bad_default[0] & ~seen0) != 0))
    return false;
  for (unsigned w = 1; w < pl->n_words; w++) {
    if ((pl->required[w] & ~seen[w]) != 0) return false;
    if (clean && (pl->bad_default[w] & ~seen[w]) != 0) return false;
  }
  return true;
}

static bool q_message_plain(qwalk *q, const rs__qplan *pl, const uint8_t *p,
                            size_t len, unsigned depth) {
  return q_message(q, pl, p, len, depth, false, false);
}

static bool q_message_clean(qwalk *q, const rs__qplan *pl, const uint8_t *p,
                            size_t len, unsigned depth) {
  return q_message(q, pl, p, len, depth, true, false);
}

static bool q_message_strict(qwalk *q, const rs__qplan *pl, const uint8_t *p,
                             size_t len, unsigned depth) {
  return q_message(q, pl, p, len, depth, true, true);
}

bool rs__quick_unpacks(const rs__qplans *plans, const uint8_t *buf, size_t len,
                       unsigned max_depth, bool clean, bool all_utf8,
                       size_t *alloc) {
  qwalk q = {0, max_depth, all_utf8 ? 3 : 1, clean, false, 0, true};
  /* No NUL byte in the record, none in a string (one look, not one per
   * string). */
  if (clean) q.nul = len > 0 && memchr(buf, 0, len) != NULL;
  if (plans == NULL || !(clean ? q_message_clean : q_message_plain)(
                           &q, &plans->plans[0], buf, len, 1))
    return false;
  *alloc = q.alloc;
  return true;
}

bool rs__quick_explains(const rs__qplans *plans, const uint8_t *buf, size_t len,
                        unsigned max_depth, bool all_utf8, size_t *alloc,
                        uint64_t *top) {
  qwalk q = {0,
             max_depth,
             all_utf8 ? 3 : 1,
             true,
             true,
             0,
             len > 0 && memchr(buf, 0, len) != NULL};
  if (plans == NULL || !q_message_strict(&q, &plans->plans[0], buf, len, 1))
    return false;
  *alloc = q.alloc;
  *top = q.top;
  return true;
}

/* ---- the envelope header ---------------------------------------------------
 */

/* A string or bytes value of the header: no NUL inside, so that the
 * strdup of rs__envelope_parse keeps all of it. */
static bool q_text(const uint8_t *p, size_t n, rs__quick_text *out) {
  if (memchr(p, 0, n) != NULL) return false;
  out->p = (const char *)p;
  out->n = n;
  return true;
}

static bool q_provenance(rs__quick_envelope *e, const uint8_t *p, size_t len) {
  unsigned seen = 0;
  size_t pos = 0;
  while (pos < len) {
    uint32_t number;
    unsigned wt;
    size_t used = q_tag(p + pos, len - pos, &number, &wt);
    if (used == 0 || number < 1 || number > 4 || (seen & (1u << number)))
      return false;
    seen |= 1u << number;
    pos += used;
    size_t rem = len - pos;
    if (number == 4) {
      /* int64 write_time_us = 4 */
      uint64_t v;
      size_t n = wt == RS__WT_VARINT ? q_header_varint(p + pos, rem, &v) : 0;
      if (n == 0) return false;
      e->write_time_us = (int64_t)v;
      pos += n;
      continue;
    }
    /* string flag_key = 1, variant = 2, writer_id = 3 */
    size_t n;
    size_t pre = wt == RS__WT_LEN ? q_length(p + pos, rem, &n) : 0;
    rs__quick_text *t = number == 1   ? &e->flag_key
                        : number == 2 ? &e->variant
                                      : &e->writer_id;
    if (pre == 0 || !q_text(p + pos + pre, n, t)) return false;
    pos += pre + n;
  }
  return true;
}

bool rs__quick_envelope_parse(rs__quick_envelope *e, const uint8_t *buf,
                              size_t len) {
  memset(e, 0, sizeof *e);
  if (len < 3 || buf[0] != RS_ENVELOPE_MARKER || buf[1] != RS_ENVELOPE_MAJOR)
    return false;
  uint64_t hlen;
  size_t n = q_header_varint(buf + 2, len - 2, &hlen);
  if (n == 0 || hlen > RS_ENVELOPE_MAX_HEADER || hlen > len - 2 - n)
    return false;
  size_t pos = 2 + n;
  e->header_offset = pos;
  e->payload_offset = pos + (size_t)hlen;
  const uint8_t *h = buf + pos;
  size_t hl = (size_t)hlen;
  unsigned seen = 0;
  pos = 0;
  while (pos < hl) {
    uint32_t number;
    unsigned wt;
    size_t used = q_tag(h + pos, hl - pos, &number, &wt);
    /* repeated string critical = 5: a feature this reader must refuse on
     * (the full path says which); other numbers are unknown fields. */
    if (used == 0 || number < 1 || number > 4 || (seen & (1u << number)))
      return false;
    seen |= 1u << number;
    pos += used;
    size_t rem = hl - pos;
    if (number == 2) {
      /* uint32 format_version = 2: protobuf-c keeps the low 32 bits; only
       * values that fit are taken. */
      uint64_t v;
      size_t vn = wt == RS__WT_VARINT ? q_header_varint(h + pos, rem, &v) : 0;
      if (vn == 0 || v == 0 || v > UINT32_MAX) return false;
      e->format_version = (unsigned)v;
      pos += vn;
      continue;
    }
    size_t body;
    size_t pre = wt == RS__WT_LEN ? q_length(h + pos, rem, &body) : 0;
    if (pre == 0) return false;
    const uint8_t *b = h + pos + pre;
    pos += pre + body;
    if (number == 1) {
      /* string record_type = 1 */
      if (body == 0 || !q_text(b, body, &e->record_type)) return false;
    } else if (number == 3) {
      /* Provenance provenance = 3 */
      e->has_provenance = true;
      if (!q_provenance(e, b, body)) return false;
    } else {
      /* bytes schema_fingerprint = 4 */
      if (body > sizeof e->fingerprint) return false;
      memcpy(e->fingerprint, b, body);
      e->fingerprint_len = body;
    }
  }
  if (e->record_type.n == 0 || e->format_version == 0) return false;
  /* What rs__envelope_parse allocates: the unpacked header, its strings
   * (each NUL-terminated) and the copies it keeps. */
  e->alloc = sizeof(Rollsafe__Envelope__Header) +
             sizeof(Rollsafe__Envelope__Provenance) + 3 * hl + 16;
  return true;
}
