/*
 * The quick walk (src/codec/quick.c) and the verdict-only shortcut of
 * rs_classify built on it, checked against what they stand for:
 *  - rs__quick_unpacks never claims a payload that protobuf-c refuses, its
 *    allocation bound is never below what protobuf-c allocates, its depth
 *    limit holds, and in the clean mode the message protobuf-c returns has
 *    no unknown field and no unknown enum value; it does claim every
 *    well-formed message the generator writes (so the fast path is taken);
 *  - rs__quick_envelope_parse reads what rs__envelope_parse reads;
 *  - rs_classify with RS_OPT_VERDICT_ONLY gives the same verdict, written
 *    version, encoding and provenance as the full classification, and
 *    exactly the result (reasons too) of the same call without the quick
 *    path, on generated shop records, mutated ones and hand-written cases
 *    of protobuf-c's subtleties.
 * Records are generated from the descriptors by a seeded generator, with
 * anomalies (wrong wire types, unknown and out-of-range field numbers,
 * groups, overlong varints and tags, truncation, missing required fields,
 * fields given twice, enum values outside the enum) and random byte edits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/internal.h"
#include "rollsafe/envelope.pb-c.h"
#include "testutil.h"

#include "quick_types.pb-c.h"
#include "quick_types3.pb-c.h"

/* ---- a seeded generator ------------------------------------------------ */

static uint64_t rng_state;
static uint64_t rnd(void) {
  /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}
static unsigned below(unsigned n) {
  return n ? (unsigned)(rnd() % n) : 0;
}
static bool chance(unsigned percent) {
  return below(100) < percent;
}

typedef struct gbuf {
  uint8_t *p;
  size_t n, cap;
} gbuf;

static void put(gbuf *b, const void *src, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2 + 64;
    b->p = realloc(b->p, b->cap);
    ck_assert_ptr_nonnull(b->p);
  }
  if (n) memcpy(b->p + b->n, src, n);
  b->n += n;
}
static void put_byte(gbuf *b, uint8_t c) {
  put(b, &c, 1);
}

/* A varint, sometimes padded to an overlong (still valid, at most 10
 * bytes) encoding when `overlong`. */
static void put_varint(gbuf *b, uint64_t v, bool overlong) {
  uint8_t tmp[16];
  size_t n = rs__put_varint(tmp, v);
  if (overlong && n < 10) {
    size_t want = n + 1 + below((unsigned)(10 - n));
    tmp[n - 1] |= 0x80;
    while (n < want - 1) tmp[n++] = 0x80;
    tmp[n++] = 0x00;
  }
  put(b, tmp, n);
}

static void put_tag(gbuf *b, uint32_t number, unsigned wt, bool anomalies) {
  put_varint(b, ((uint64_t)number << 3) | wt, anomalies && chance(5));
}

typedef struct gen {
  bool anomalies; /* write things protobuf-c may refuse or keep unknown */
  unsigned max_nest;
} gen;

static uint64_t random_int(void) {
  switch (below(5)) {
    case 0:
      return below(3);
    case 1:
      return below(300);
    case 2:
      return (uint64_t) - (int64_t)(below(1000) + 1);
    case 3:
      return rnd();
    default:
      return rnd() & 0xffffffffu;
  }
}

static void gen_message(gbuf *b, const gen *g,
                        const ProtobufCMessageDescriptor *d, unsigned nest);

static void gen_scalar(gbuf *b, const gen *g,
                       const ProtobufCFieldDescriptor *f) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_ENUM: {
      const ProtobufCEnumDescriptor *e = f->descriptor;
      int64_t v = e->values[below(e->n_values)].value;
      if (g->anomalies && chance(15)) v = (int64_t)(int32_t)random_int();
      put_varint(b, (uint64_t)v, g->anomalies && chance(5));
      break;
    }
    case PROTOBUF_C_TYPE_BOOL:
      put_varint(b, g->anomalies && chance(10) ? random_int() : below(2),
                 g->anomalies && chance(5));
      break;
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT: {
      uint32_t v = (uint32_t)rnd();
      put(b, &v, 4);
      break;
    }
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: {
      uint64_t v = rnd();
      put(b, &v, 8);
      break;
    }
    default:
      put_varint(b, random_int(), g->anomalies && chance(5));
      break;
  }
}

static void put_len_prefixed(gbuf *b, const gen *g, const gbuf *body) {
  if (g->anomalies && chance(3)) {
    /* a 6-byte length prefix: protobuf-c reads at most 5 */
    uint8_t six[6] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    six[0] |= (uint8_t)(body->n & 0x7f);
    put(b, six, 6);
  } else {
    put_varint(b, body->n, g->anomalies && chance(3));
  }
  put(b, body->p, body->n);
}

static void gen_field(gbuf *b, const gen *g, const ProtobufCFieldDescriptor *f,
                      unsigned nest) {
  unsigned wt = rs__field_wire_type(f);
  bool packable = f->label == PROTOBUF_C_LABEL_REPEATED && rs__is_packable(f);
  if (g->anomalies && chance(4)) {
    /* a wrong wire type, with a plausible value for it */
    unsigned wrong = (unsigned[]){0, 1, 2, 5}[below(4)];
    put_tag(b, f->id, wrong, true);
    if (wrong == 0) put_varint(b, random_int(), false);
    if (wrong == 1) put(b, "\1\2\3\4\5\6\7\x08", 8);
    if (wrong == 5) put(b, "\1\2\3\4", 4);
    if (wrong == 2) put(b, "\x02\x08\x01", 3);
    return;
  }
  if (packable && chance(40)) {
    gbuf body = {0};
    unsigned n = below(5);
    for (unsigned i = 0; i < n; i++) {
      if (f->type == PROTOBUF_C_TYPE_BOOL)
        put_byte(&body, g->anomalies && chance(10) ? 2 : (uint8_t)below(2));
      else
        gen_scalar(&body, g, f);
    }
    if (g->anomalies && chance(5) && body.n > 0) body.n--; /* ragged */
    put_tag(b, f->id, RS__WT_LEN, g->anomalies);
    put_len_prefixed(b, g, &body);
    free(body.p);
    return;
  }
  put_tag(b, f->id, wt, g->anomalies);
  if (wt != RS__WT_LEN) {
    gen_scalar(b, g, f);
    return;
  }
  gbuf body = {0};
  if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
    gen_message(&body, g, f->descriptor, nest + 1);
  } else {
    unsigned n = below(12);
    for (unsigned i = 0; i < n; i++)
      put_byte(&body,
               g->anomalies && chance(5) ? 0 : (uint8_t)('a' + below(26)));
  }
  put_len_prefixed(b, g, &body);
  free(body.p);
}

static void gen_unknown(gbuf *b) {
  uint32_t number;
  switch (below(4)) {
    case 0:
      number = 0; /* field 0, one or two tag bytes */
      break;
    case 1:
      number = 536870912u + below(1000); /* 2^29 and up: 5-byte tags */
      break;
    default:
      number = 40 + below(5000);
      break;
  }
  unsigned wt = below(8);
  put_tag(b, number, wt, chance(30));
  switch (wt) {
    case 0:
      put_varint(b, random_int(), chance(10));
      break;
    case 1:
      put(b, "\1\2\3\4\5\6\7\x08", 8);
      break;
    case 2:
      put(b, "\x03xyz", 4);
      break;
    case 5:
      put(b, "\1\2\3\4", 4);
      break;
    default:
      /* groups (3, 4) and the invalid 6, 7: some bytes follow */
      put(b, "\x08\x01", 2);
      break;
  }
}

static void gen_message(gbuf *b, const gen *g,
                        const ProtobufCMessageDescriptor *d, unsigned nest) {
  unsigned n = below(d->n_fields + 2);
  bool singular_msg_done[512] = {false};
  /* Required fields first, unless an anomaly leaves one out. */
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->label != PROTOBUF_C_LABEL_REQUIRED) continue;
    if (g->anomalies && chance(5)) continue;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE && nest >= g->max_nest) continue;
    gen_field(b, g, f, nest);
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) singular_msg_done[i] = true;
  }
  for (unsigned k = 0; k < n; k++) {
    if (g->anomalies && chance(4)) {
      gen_unknown(b);
      continue;
    }
    unsigned i = below(d->n_fields);
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
      if (nest >= g->max_nest) continue;
      /* A singular message given twice is merged by protobuf-c. */
      if (f->label != PROTOBUF_C_LABEL_REPEATED && singular_msg_done[i] &&
          !g->anomalies)
        continue;
      singular_msg_done[i] = true;
    }
    gen_field(b, g, f, nest);
  }
  if (g->anomalies && chance(3) && b->n > 0) b->n--; /* truncated */
}

static void mutate(gbuf *b) {
  unsigned edits = 1 + below(3);
  for (unsigned e = 0; e < edits && b->n > 0; e++) {
    size_t at = below((unsigned)b->n);
    switch (below(4)) {
      case 0:
        b->p[at] ^= (uint8_t)(1u << below(8));
        break;
      case 1:
        b->p[at] = (uint8_t)rnd();
        break;
      case 2:
        memmove(b->p + at, b->p + at + 1, b->n - at - 1);
        b->n--;
        break;
      default:
        put_byte(b, 0);
        memmove(b->p + at + 1, b->p + at, b->n - at - 1);
        b->p[at] = (uint8_t)rnd();
        break;
    }
  }
}

/* ---- protobuf-c's own answer --------------------------------------------- */

typedef struct counting {
  ProtobufCAllocator a;
  size_t total;
} counting;

static void *count_alloc(void *data, size_t size) {
  ((counting *)data)->total += size;
  return malloc(size ? size : 1);
}
static void count_free(void *data, void *p) {
  (void)data;
  free(p);
}

/* What message_is_clean in classify.c looks at, written again from the
 * unpacked message: unknown fields, and enum values the reader sees. */
static bool really_clean(const ProtobufCMessage *m) {
  if (m->n_unknown_fields != 0) return false;
  const ProtobufCMessageDescriptor *d = m->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->type != PROTOBUF_C_TYPE_ENUM && f->type != PROTOBUF_C_TYPE_MESSAGE)
      continue;
    const char *base = (const char *)m;
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(const uint32_t *)(base + f->quantifier_offset) != f->id)
      continue;
    size_t n = 1;
    const char *values = base + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      n = *(const size_t *)(base + f->quantifier_offset);
      values = *(char *const *)(base + f->offset);
    } else if (f->type == PROTOBUF_C_TYPE_ENUM &&
               !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
               f->label == PROTOBUF_C_LABEL_OPTIONAL &&
               f->quantifier_offset != 0 &&
               !*(const protobuf_c_boolean *)(base + f->quantifier_offset)) {
      continue;
    }
    for (size_t k = 0; k < n; k++) {
      if (f->type == PROTOBUF_C_TYPE_ENUM) {
        if (protobuf_c_enum_descriptor_get_value(
                f->descriptor, ((const int *)values)[k]) == NULL)
          return false;
      } else {
        const ProtobufCMessage *sub =
            ((const ProtobufCMessage *const *)values)[k];
        if (sub != NULL && !really_clean(sub)) return false;
      }
    }
  }
  return true;
}

static unsigned depth_of(const ProtobufCMessage *m) {
  unsigned deepest = 1;
  const ProtobufCMessageDescriptor *d = m->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
    const char *base = (const char *)m;
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(const uint32_t *)(base + f->quantifier_offset) != f->id)
      continue;
    size_t n = 1;
    const ProtobufCMessage *const *subs =
        (const ProtobufCMessage *const *)(base + f->offset);
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      n = *(const size_t *)(base + f->quantifier_offset);
      subs = *(const ProtobufCMessage *const *const *)(base + f->offset);
    }
    for (size_t k = 0; k < n; k++)
      if (subs[k] != NULL && subs[k] != f->default_value) {
        unsigned dd = 1 + depth_of(subs[k]);
        if (dd > deepest) deepest = dd;
      }
  }
  return deepest;
}

typedef struct tally {
  size_t inputs, unpacked, claimed, claimed_clean, clean;
} tally;

/* One input against one descriptor: the quick walk's claims hold. */
static void check_claims(tally *t, const rs__qplans *plans, const uint8_t *buf,
                         size_t len, unsigned max_depth, bool must_claim,
                         const char *what) {
  const ProtobufCMessageDescriptor *d = plans->plans[0].d;
  counting c = {{count_alloc, count_free, NULL}, 0};
  c.a.allocator_data = &c;
  ProtobufCMessage *m = protobuf_c_message_unpack(d, &c.a, len, buf);
  bool clean_now = m != NULL && really_clean(m);
  unsigned depth = m != NULL ? depth_of(m) : 0;
  t->inputs++;
  t->unpacked += m != NULL;
  t->clean += clean_now;
  for (int mode = 0; mode < 2; mode++) {
    size_t bound = 0;
    bool claimed =
        rs__quick_unpacks(plans, buf, len, max_depth, mode, false, &bound);
    if (!claimed) {
      ck_assert_msg(!must_claim || (mode == 0 ? m == NULL : !clean_now) ||
                        depth > max_depth,
                    "%s: a well-formed %s (%zu bytes) is not claimed "
                    "(clean mode %d)",
                    what, d->name, len, mode);
      continue;
    }
    ck_assert_msg(m != NULL, "%s: quick walk claims a %s protobuf-c refuses",
                  what, d->name);
    ck_assert_msg(c.total <= bound,
                  "%s: %s: protobuf-c allocated %zu bytes, bound %zu", what,
                  d->name, c.total, bound);
    ck_assert_msg(depth <= max_depth, "%s: %s nests %u deep, limit %u", what,
                  d->name, depth, max_depth);
    if (mode == 1) {
      ck_assert_msg(clean_now,
                    "%s: quick walk calls a %s clean that has unknown "
                    "fields or enum values",
                    what, d->name);
      t->claimed_clean++;
    } else {
      t->claimed++;
    }
  }
  if (m != NULL) protobuf_c_message_free_unpacked(m, &c.a);
}

START_TEST(quick_walk_claims_only_what_protobuf_c_unpacks) {
  const ProtobufCMessageDescriptor *descs[] = {
      &rstest__quick__all__descriptor,
      &rstest__quick3__p3__descriptor,
      &shop__v1__order__descriptor,
      &shop__v2__order__descriptor,
      &rollsafe__envelope__header__descriptor,
  };
  rng_state = 0x9e3779b97f4a7c15ull;
  for (size_t k = 0; k < sizeof descs / sizeof *descs; k++) {
    tally t = {0};
    rs__qplans *plans = NULL;
    ck_assert_int_eq(rs__qplans_build(&plans, descs[k], &rs__malloc_allocator),
                     0);
    for (int i = 0; i < 6000; i++) {
      gen g = {i % 3 != 0, 1 + below(5)};
      gbuf b = {0};
      gen_message(&b, &g, descs[k], 1);
      unsigned max_depth = 2 + below(4);
      check_claims(&t, plans, b.p, b.n, max_depth, !g.anomalies,
                   g.anomalies ? "with anomalies" : "well-formed");
      mutate(&b);
      check_claims(&t, plans, b.p, b.n, max_depth, false, "mutated");
      free(b.p);
    }
    /* Both sides of every claim were exercised. */
    ck_assert_msg(t.claimed * 4 > t.unpacked * 3 &&
                      t.claimed_clean * 4 > t.clean * 3 &&
                      t.claimed_clean <= t.clean && t.claimed <= t.unpacked &&
                      t.inputs - t.unpacked > t.inputs / 10,
                  "%s: %zu inputs, %zu unpacked, %zu clean, %zu claimed, %zu "
                  "claimed clean",
                  descs[k]->name, t.inputs, t.unpacked, t.clean, t.claimed,
                  t.claimed_clean);
    rs__qplans_free(plans, &rs__malloc_allocator);
  }
}
END_TEST

/* ---- the envelope header ---------------------------------------------- */

/* The same claims on descriptors built at run time from .proto files
 * (src/schema/runtime.c): their layout, oneofs, maps, proto3 optional
 * fields and defaults are rollsafe's own, not protoc-c's. */
START_TEST(quick_walk_claims_hold_on_runtime_descriptors) {
  static const struct {
    const char *file, *message;
  } cases[] = {
      {"quick_types.proto", "rstest.quick.All"},
      {"quick_types3.proto", "rstest.quick3.P3"},
      {"quick_maps3.proto", "rstest.maps3.Item"},
  };
  rng_state = 0x243f6a8885a308d3ull;
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", RS_QUICK_PROTO_DIR, cases[k].file);
    rs_schema *schema = NULL;
    rs_error err = RS_ERROR_INIT;
    ck_assert_msg(rs_schema_load(&schema, path, NULL, &err) == 0, "%s: %s",
                  path, err.message);
    const ProtobufCMessageDescriptor *d =
        rs_schema_message(schema, cases[k].message);
    ck_assert_ptr_nonnull(d);
    tally t = {0};
    rs__qplans *plans = NULL;
    ck_assert_int_eq(rs__qplans_build(&plans, d, &rs__malloc_allocator), 0);
    for (int i = 0; i < 4000; i++) {
      gen g = {i % 3 != 0, 1 + below(5)};
      gbuf b = {0};
      gen_message(&b, &g, d, 1);
      /* Deeper than the generator nests (5, map entries included): a
       * oneof message member replaced by another member is gone from the
       * unpacked message, so depth_of cannot see how deep its bytes went. */
      unsigned max_depth = 7;
      check_claims(&t, plans, b.p, b.n, max_depth, !g.anomalies,
                   g.anomalies ? "with anomalies" : "well-formed");
      mutate(&b);
      check_claims(&t, plans, b.p, b.n, max_depth, false, "mutated");
      free(b.p);
    }
    ck_assert_msg(
        t.claimed * 4 > t.unpacked * 3 && t.claimed_clean * 4 > t.clean * 3 &&
            t.claimed_clean <= t.clean && t.claimed <= t.unpacked &&
            t.inputs - t.unpacked > t.inputs / 10,
        "%s: %zu inputs, %zu unpacked, %zu clean, %zu claimed, %zu "
        "claimed clean",
        d->name, t.inputs, t.unpacked, t.clean, t.claimed, t.claimed_clean);
    rs__qplans_free(plans, &rs__malloc_allocator);
    rs_schema_free(schema);
  }
}
END_TEST

static bool text_is(const rs__quick_text *t, const char *s) {
  if (s == NULL) return t->n == 0;
  return t->n == strlen(s) && memcmp(t->p, s, t->n) == 0;
}

static void check_envelope(const uint8_t *buf, size_t len, bool must_claim) {
  rs__quick_envelope q;
  bool claimed = rs__quick_envelope_parse(&q, buf, len);
  rs__envelope env;
  rs__env_status status;
  rs_error err = RS_ERROR_INIT;
  int rc =
      rs__envelope_parse(&env, &status, buf, len, &rs__malloc_allocator, &err);
  ck_assert_msg(!must_claim || claimed,
                "a well-formed envelope is not claimed");
  if (claimed) {
    ck_assert_msg(rc == 0,
                  "quick header walk claims an envelope that "
                  "rs__envelope_parse refuses: %s",
                  err.message);
    ck_assert_uint_eq(q.header_offset, env.header_offset);
    ck_assert_uint_eq(q.payload_offset, env.payload_offset);
    ck_assert_uint_eq(q.format_version, env.format_version);
    ck_assert(text_is(&q.record_type, env.record_type));
    ck_assert_int_eq(q.has_provenance, env.has_provenance);
    ck_assert(text_is(&q.flag_key, env.flag_key));
    ck_assert(text_is(&q.variant, env.variant));
    ck_assert(text_is(&q.writer_id, env.writer_id));
    ck_assert_int_eq(q.write_time_us, env.write_time_us);
    ck_assert_uint_eq(q.fingerprint_len, env.fingerprint_len);
    ck_assert(memcmp(q.fingerprint, env.fingerprint, q.fingerprint_len) == 0);
  }
  if (rc == 0) rs__envelope_dispose(&env, &rs__malloc_allocator);
}

static void build_envelope(gbuf *out, const gen *g) {
  gbuf h = {0};
  gen_message(&h, g, &rollsafe__envelope__header__descriptor, 1);
  put_byte(out, RS_ENVELOPE_MARKER);
  put_byte(out, RS_ENVELOPE_MAJOR);
  put_varint(out, h.n, g->anomalies && chance(5));
  put(out, h.p, h.n);
  put(out, "\x0a\x01x", 3);
  free(h.p);
}

/* A header as rs_encode writes one, fields in any order, each at most
 * once, with random values (some of which the parser refuses: a format
 * version of 0, an empty record type). */
static void build_plain_envelope(gbuf *out, bool *plain) {
  gbuf h = {0}, p = {0};
  static const char *const words[] = {"",   "shop.Order", "checkout_v2",
                                      "on", "a\x01b",     "w-17"};
  bool fields[5] = {chance(90), chance(90), chance(70), chance(50), false};
  unsigned version = chance(10) ? 0 : 1 + below(3);
  const char *type = words[below(6)];
  *plain = fields[0] && fields[1] && version != 0 && type[0] != '\0';
  for (unsigned k = 0; k < 4; k++) {
    if (!chance(50)) continue;
    const char *w = words[below(6)];
    put_tag(&p, k + 1, k == 3 ? RS__WT_VARINT : RS__WT_LEN, false);
    if (k == 3) {
      put_varint(&p, random_int(), chance(10));
    } else {
      put_varint(&p, strlen(w), false);
      put(&p, w, strlen(w));
    }
  }
  unsigned order[4] = {0, 1, 2, 3};
  for (unsigned i = 3; i > 0; i--) {
    unsigned j = below(i + 1), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (unsigned i = 0; i < 4; i++) {
    unsigned k = order[i];
    if (!fields[k]) continue;
    put_tag(&h, k + 1, k == 1 ? RS__WT_VARINT : RS__WT_LEN, false);
    if (k == 0) {
      put_varint(&h, strlen(type), false);
      put(&h, type, strlen(type));
    } else if (k == 1) {
      put_varint(&h, version, chance(10));
    } else if (k == 2) {
      put_varint(&h, p.n, false);
      put(&h, p.p, p.n);
    } else {
      put_varint(&h, 8, false);
      put(&h, "\1\2\3\4\5\6\7\x08", 8);
    }
  }
  put_byte(out, RS_ENVELOPE_MARKER);
  put_byte(out, RS_ENVELOPE_MAJOR);
  put_varint(out, h.n, chance(10));
  put(out, h.p, h.n);
  put(out, "\x0a\x01x", 3);
  free(h.p);
  free(p.p);
}

/* Checks an envelope and a mutation of it; frees it. 1 when the header
 * walk claimed the unmutated one. */
static size_t check_and_mutate(gbuf *b, bool must_claim) {
  rs__quick_envelope q;
  size_t claimed = rs__quick_envelope_parse(&q, b->p, b->n);
  check_envelope(b->p, b->n, must_claim);
  mutate(b);
  check_envelope(b->p, b->n, false);
  free(b->p);
  return claimed;
}

START_TEST(quick_header_walk_reads_what_the_envelope_parser_reads) {
  rng_state = 0x2545f4914f6cdd1dull;
  size_t claimed = 0;
  for (int i = 0; i < 20000; i++) {
    gen g = {i % 2 == 0, 2};
    gbuf b = {0};
    build_envelope(&b, &g);
    claimed += check_and_mutate(&b, false);
  }
  for (int i = 0; i < 20000; i++) {
    gbuf b = {0};
    bool plain;
    build_plain_envelope(&b, &plain);
    claimed += check_and_mutate(&b, plain);
  }
  ck_assert_msg(claimed > 8000, "only %zu envelopes claimed", claimed);
  /* What rs_encode writes is always claimed. */
  for (int i = 0; i < 50; i++) {
    rs_buf buf = {0};
    Shop__V2__Order *o = rs_test_v2_clean();
    rs_test_encode_v2(&buf, o);
    check_envelope(buf.data, buf.len, true);
    rs_buf_dispose(&buf, NULL);
  }
}
END_TEST

/* ---- rs_classify: verdict-only, quick and not, against the full path ---- */

static bool same_str(const char *a, const char *b) {
  return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void same(const rs_classification *a, const rs_classification *b,
                 bool reasons, const char *what, size_t case_no) {
  ck_assert_msg(rs_classification_verdict(a) == rs_classification_verdict(b),
                "case %zu: %s: verdict %s and %s", case_no, what,
                rs_verdict_name(rs_classification_verdict(a)),
                rs_verdict_name(rs_classification_verdict(b)));
  ck_assert_msg(
      rs_classification_written_version(a) ==
              rs_classification_written_version(b) &&
          rs_classification_encoding(a) == rs_classification_encoding(b),
      "case %zu: %s: written version or encoding differs", case_no, what);
  const rs_provenance *pa = rs_classification_provenance(a);
  const rs_provenance *pb = rs_classification_provenance(b);
  ck_assert_msg((pa == NULL) == (pb == NULL) &&
                    (pa == NULL || (same_str(pa->flag_key, pb->flag_key) &&
                                    same_str(pa->variant, pb->variant) &&
                                    same_str(pa->writer_id, pb->writer_id) &&
                                    pa->write_time_us == pb->write_time_us)),
                "case %zu: %s: provenance differs", case_no, what);
  if (!reasons) return;
  size_t n = rs_classification_reason_count(a);
  ck_assert_msg(n == rs_classification_reason_count(b),
                "case %zu: %s: %zu and %zu reasons", case_no, what, n,
                rs_classification_reason_count(b));
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(strcmp(rs_reason_text(rs_classification_reason(a, i)),
                         rs_reason_text(rs_classification_reason(b, i))) == 0 &&
                      rs_reason_verdict(rs_classification_reason(a, i)) ==
                          rs_reason_verdict(rs_classification_reason(b, i)),
                  "case %zu: %s: reason %zu differs", case_no, what, i);
}

typedef struct agreement {
  size_t records, verdicts[RS_VERDICT_COUNT];
} agreement;

static void agree(agreement *ag, const uint8_t *buf, size_t len,
                  const rs_options *base) {
  static const rs_reader readers[] = {
      {RS_READER_VERSION, 1, RS_READER_FRAMING_RAW, 0u, RS_RUNTIME_PROTOBUF_C,
       0u, 0u},
      {RS_READER_VERSION, 1, RS_READER_FRAMING_ENVELOPE, 0u,
       RS_RUNTIME_PROTOBUF_C, 0u, 0u},
      {RS_READER_VERSION, 2, RS_READER_FRAMING_ENVELOPE, 0u,
       RS_RUNTIME_PROTOBUF_C, 0u, 0u},
      {RS_READER_VERSION, 2, RS_READER_FRAMING_RAW, 0u, RS_RUNTIME_PROTOBUF_C,
       0u, 0u},
  };
  rs_options full = *base, quick = *base, slow = *base;
  quick.flags |= RS_OPT_VERDICT_ONLY;
  slow.flags |= RS_OPT_VERDICT_ONLY | RS__OPT_NO_QUICK;
  const rs_registry *reg = rs_test_registry();
  /* Every reader framing and version, under every runtime's rules. */
  for (size_t k = 0; k < RS_RUNTIME_COUNT * (sizeof readers / sizeof *readers);
       k++) {
    size_t r = k % (sizeof readers / sizeof *readers);
    rs_reader reader = readers[r];
    reader.runtime = (rs_runtime)(k / (sizeof readers / sizeof *readers));
    /* The other runtimes on every fourth record: the suite's time. */
    if (reader.runtime != RS_RUNTIME_PROTOBUF_C && ag->records % 4 != 0)
      continue;
    rs_classification *cf = NULL, *cq = NULL, *cs = NULL;
    rs_error err = RS_ERROR_INIT;
    ck_assert_int_eq(
        rs_classify(&cf, reg, RS_SHOP_ORDER, &reader, buf, len, &full, &err),
        0);
    ck_assert_int_eq(
        rs_classify(&cq, reg, RS_SHOP_ORDER, &reader, buf, len, &quick, &err),
        0);
    ck_assert_int_eq(
        rs_classify(&cs, reg, RS_SHOP_ORDER, &reader, buf, len, &slow, &err),
        0);
    same(cq, cs, true, "verdict-only with and without the quick path",
         ag->records);
    same(cq, cf, false, "verdict-only and full", ag->records);
    ag->verdicts[rs_classification_verdict(cf)]++;
    rs_classification_free(cf);
    rs_classification_free(cq);
    rs_classification_free(cs);
  }
  ag->records++;
}

static void random_order(rs_buf *out) {
  Shop__V2__Order *o = rs_test_v2_clean();
  if (chance(30)) o->status = (Shop__V2__Order__Status)below(8);
  if (chance(10)) o->customer_id = NULL;
  if (chance(20)) o->gift_message = "for you";
  if (chance(20)) o->discount = rs_test_money((int64_t)below(500), 0, "USD");
  if (chance(20)) o->deliver_by = rs_test_ts(1700000000 + below(1000), 0);
  if (chance(50)) {
    rs_test_encode_v2(out, o);
    return;
  }
  Shop__V1__Order *v1 = rs_test_v1_full();
  if (chance(20)) v1->status = (Shop__V1__Order__Status)below(8);
  rs_test_encode_v1(out, v1);
}

START_TEST(verdict_only_fast_path_agrees_with_full_classification) {
  rng_state = 0xda942042e4dd58b5ull;
  agreement ag = {0};
  rs_options plenty = RS_OPTIONS_INIT;
  rs_options tight = RS_OPTIONS_INIT;
  tight.max_alloc = 700;
  tight.max_depth = 2;
  for (int i = 0; i < 3000; i++) {
    rs_buf b = {0};
    random_order(&b);
    agree(&ag, b.data, b.len, &plenty);
    agree(&ag, b.data, b.len, &tight);
    gbuf m = {0};
    put(&m, b.data, b.len);
    mutate(&m);
    agree(&ag, m.p, m.n, &plenty);
    agree(&ag, m.p, m.n, &tight);
    free(m.p);
    rs_buf_dispose(&b, NULL);
  }
  /* Raw records from the descriptors, with anomalies, as v1 and v2. */
  for (int i = 0; i < 3000; i++) {
    gen g = {i % 2 == 0, 3};
    gbuf b = {0};
    gen_message(
        &b, &g,
        i % 4 < 2 ? &shop__v1__order__descriptor : &shop__v2__order__descriptor,
        1);
    agree(&ag, b.p, b.n, &plenty);
    agree(&ag, b.p, b.n, &tight);
    free(b.p);
  }
  for (int v = 0; v < RS_VERDICT_COUNT; v++)
    ck_assert_msg(ag.verdicts[v] > 50, "verdict %s seen %zu times",
                  rs_verdict_name((rs_verdict)v), ag.verdicts[v]);
}
END_TEST

/* protobuf-c's subtleties, by hand, for the plain version-1 reader of
 * shop.v1.Order (order_id = 1 and customer_id = 2 required, status = 4 an
 * enum 0..5, items = 5 repeated LineItem with sku = 1 required, ship_to = 7
 * an Address). */
START_TEST(verdict_only_agrees_on_protobuf_c_subtleties) {
  static const struct {
    const char *hex, *what;
    rs_verdict plain_v1;
  } cases[] = {
      {"0a01611201622001", "plain", RS_VERDICT_OK},
      {"0a0161120162200120ff01", "status twice, last unknown: last wins",
       RS_VERDICT_MISREAD},
      {"0a016112016220630101", "status 99 then garbage", RS_VERDICT_CORRUPT},
      {"0a0161120162206320 01", "status 99 then 1: last wins", RS_VERDICT_OK},
      {"0a0161120162208180808000", "status 1, overlong varint", RS_VERDICT_OK},
      {"0a01611201622a00", "line item without its required sku",
       RS_VERDICT_CORRUPT},
      {"0a01611201622a030a0178", "line item with sku", RS_VERDICT_OK},
      {"0a016112016222020a00", "status as length-delimited",
       RS_VERDICT_CORRUPT},
      {"0a01611201623a030a01783a03120179", "ship_to twice: merged",
       RS_VERDICT_OK},
      {"0a016112016200 01", "field 0 (one tag byte)", RS_VERDICT_CORRUPT},
      {"0a01611201628000 01", "field 0 (two tag bytes)",
       RS_VERDICT_IGNORED_FIELDS},
      {"0a0161120162808080801001", "field 2^29 (five tag bytes)",
       RS_VERDICT_IGNORED_FIELDS},
      {"0a0161120162f80101", "unknown field 31", RS_VERDICT_IGNORED_FIELDS},
      /* Field 3, which shop.Order declares otherwise, as a group: a
       * foreign wire type in every version. */
      {"0a01611201621b1c", "group (wire types 3 and 4)", RS_VERDICT_CORRUPT},
      /* An unknown field as a group: protobuf-c fails on it, the writer's
       * runtime keeps it as an unknown field. */
      {"0a0161120162fb01fc01", "unknown group 31", RS_VERDICT_UNREADABLE},
      {"0a0161120162", "required only", RS_VERDICT_OK},
      {"", "empty", RS_VERDICT_CORRUPT},
      {"0a01611201622a030a01782a030a0179", "two line items", RS_VERDICT_OK},
      {"0a0161120162208080808080808080800101", "status in 11 bytes",
       RS_VERDICT_CORRUPT},
      {"0a016112016220ffffffff0f", "status 2^32-1 (-1 as int32)",
       RS_VERDICT_MISREAD},
      {"0a0161120162208180808010", "status 1 + 2^32 (1 as int32)",
       RS_VERDICT_OK},
  };
  agreement ag = {0};
  rs_options plenty = RS_OPTIONS_INIT;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    uint8_t buf[64];
    size_t n = 0;
    for (const char *h = cases[i].hex; h[0] != '\0';) {
      if (h[0] == ' ') {
        h++;
        continue;
      }
      unsigned v;
      ck_assert_int_eq(sscanf(h, "%2x", &v), 1);
      buf[n++] = (uint8_t)v;
      h += 2;
    }
    agree(&ag, buf, n, &plenty);
    rs_reader plain = {RS_READER_VERSION,
                       1,
                       RS_READER_FRAMING_RAW,
                       0u,
                       RS_RUNTIME_PROTOBUF_C,
                       0u,
                       0u};
    rs_options quick = RS_OPTIONS_INIT;
    quick.flags |= RS_OPT_VERDICT_ONLY;
    rs_classification *c = NULL;
    ck_assert_int_eq(rs_classify(&c, rs_test_registry(), RS_SHOP_ORDER, &plain,
                                 buf, n, &quick, NULL),
                     0);
    ck_assert_msg(rs_classification_verdict(c) == cases[i].plain_v1,
                  "%s (%s): %s, want %s", cases[i].what, cases[i].hex,
                  rs_verdict_name(rs_classification_verdict(c)),
                  rs_verdict_name(cases[i].plain_v1));
    rs_classification_free(c);
  }
}
END_TEST

/* An envelope a newer version wrote, with only what the reader's version
 * reads alike: the verdict-only path proves it ok without unpacking it
 * (far fewer bytes allocated than without the quick path), with the same
 * answer; one with a field the versions read differently (deliver_by = 9,
 * int64 in version 1, a message in version 2) is left to the full path. */
static size_t judged(rs_classification **out, counting *ca, const rs_buf *b,
                     bool quick) {
  ca->a = (ProtobufCAllocator){count_alloc, count_free, ca};
  ca->total = 0;
  rs_options o = RS_OPTIONS_INIT;
  o.flags |= RS_OPT_VERDICT_ONLY | (quick ? 0u : RS__OPT_NO_QUICK);
  o.allocator = &ca->a;
  rs_reader r = {RS_READER_VERSION,
                 1,
                 RS_READER_FRAMING_ENVELOPE,
                 0u,
                 RS_RUNTIME_PROTOBUF_C,
                 0u,
                 0u};
  ck_assert_int_eq(rs_classify(out, rs_test_registry(), RS_SHOP_ORDER, &r,
                               b->data, b->len, &o, NULL),
                   0);
  return ca->total;
}

START_TEST(newer_writer_read_alike_is_proven_without_an_unpack) {
  for (int with_deliver_by = 0; with_deliver_by < 2; with_deliver_by++) {
    Shop__V2__Order *o = rs_test_v2_clean();
    if (with_deliver_by) o->deliver_by = rs_test_ts(1764100000, 0);
    rs_buf b = {0};
    rs_test_encode_v2(&b, o);
    /* The classifications keep their allocator: it outlives them. */
    counting cq, cs;
    rs_classification *q = NULL, *s = NULL;
    size_t quick = judged(&q, &cq, &b, true);
    size_t slow = judged(&s, &cs, &b, false);
    same(q, s, true, "newer writer, quick and not", (size_t)with_deliver_by);
    ck_assert_uint_eq(rs_classification_written_version(q), 2);
    if (!with_deliver_by) {
      ck_assert_int_eq(rs_classification_verdict(q), RS_VERDICT_OK);
      ck_assert_msg(quick * 2 < slow, "quick path allocated %zu bytes of %zu",
                    quick, slow);
    } else {
      ck_assert_int_ge(rs_classification_verdict(q), RS_VERDICT_MISREAD);
    }
    rs_classification_free(q);
    rs_classification_free(s);
    rs_buf_dispose(&b, NULL);
  }
}
END_TEST

/* ---- verdict-only on findings ------------------------------------------- */

/*
 * Records a version-1 reader does not read as written, whose verdict-only
 * classification leaves out work (src/codec/classify.c, judged): protobuf-c's
 * unpack before the comparison, and none when it fails; a comparison that
 * ends at its first misread; one reason kept. Each against the full
 * classification, in an envelope and as raw bytes, for the envelope-aware
 * reader and the plain one, with plenty of memory, with a budget under
 * what lets the comparison end early, and with a tight one.
 */
typedef struct finding {
  const char *what;
  rs_verdict verdict; /* the envelope-aware version-1 reader's */
  bool more;          /* the full classification gives several reasons */
} finding;

static void finding_order(Shop__V2__Order *o, size_t i) {
  static char *promos[] = {"SPRING", "WELCOME"};
  switch (i) {
    case 0: /* misread (status 6, field 4), then unreadable (no field 2) */
      o->status = SHOP__V2__ORDER__STATUS__AWAITING_AUTH;
      o->customer_id = NULL;
      break;
    case 1: /* misread, then unreadable (field 9: a message, not int64) */
      o->status = SHOP__V2__ORDER__STATUS__AWAITING_AUTH;
      o->deliver_by = rs_test_ts(1764100000, 0);
      break;
    case 2: /* misread (field 4), then more: field 8 moved to 10, and
             * fields version 1 lacks (11, 12) */
      o->status = SHOP__V2__ORDER__STATUS__AWAITING_AUTH;
      o->discount = rs_test_money(250, 0, "USD");
      o->n_promo_codes = 2;
      o->promo_codes = promos;
      o->gift_message = "for you";
      break;
    case 3: /* field 8 moved to 10 (misread), then fields version 1
             * lacks (11, 12) */
      o->discount = rs_test_money(250, 0, "USD");
      o->gift_message = "for you";
      break;
    default: /* only fields version 1 lacks (11, 12) */
      o->n_promo_codes = 2;
      o->promo_codes = promos;
      o->gift_message = "for you";
      break;
  }
}

START_TEST(verdict_only_short_cuts_keep_the_verdict_of_findings) {
  static const finding findings[] = {
      {"misread, then a required field missing", RS_VERDICT_UNREADABLE, true},
      {"misread, then a field of another wire type", RS_VERDICT_UNREADABLE,
       true},
      {"misread, then more fields", RS_VERDICT_MISREAD, true},
      {"a field moved, then more fields", RS_VERDICT_MISREAD, true},
      {"ignored fields only", RS_VERDICT_IGNORED_FIELDS, true},
  };
  const rs_registry *reg = rs_test_registry();
  size_t case_no = 0;
  for (size_t i = 0; i < sizeof findings / sizeof *findings; i++) {
    for (int raw = 0; raw < 2; raw++) {
      Shop__V2__Order *o = rs_test_v2_clean();
      finding_order(o, i);
      rs_buf b = {0};
      if (raw) {
        ck_assert_int_eq(
            rs__buf_reserve(&b, protobuf_c_message_get_packed_size(&o->base),
                            &rs__malloc_allocator),
            0);
        b.len = protobuf_c_message_pack(&o->base, b.data);
      } else {
        rs_test_encode_v2(&b, o);
      }
      for (int framing = 0; framing < 2; framing++) {
        rs_reader r = {
            RS_READER_VERSION,
            1,
            framing ? RS_READER_FRAMING_RAW : RS_READER_FRAMING_ENVELOPE,
            0u,
            RS_RUNTIME_PROTOBUF_C,
            0u,
            0u};
        for (int limits = 0; limits < 3; limits++, case_no++) {
          rs_options full = RS_OPTIONS_INIT;
          if (limits == 1) full.max_alloc = (size_t)1 << 20;
          if (limits == 2) full.max_alloc = 700;
          rs_options quick = full, slow = full;
          quick.flags |= RS_OPT_VERDICT_ONLY;
          slow.flags |= RS_OPT_VERDICT_ONLY | RS__OPT_NO_QUICK;
          rs_classification *cf = NULL, *cq = NULL, *cs = NULL;
          ck_assert_int_eq(rs_classify(&cf, reg, RS_SHOP_ORDER, &r, b.data,
                                       b.len, &full, NULL),
                           0);
          ck_assert_int_eq(rs_classify(&cq, reg, RS_SHOP_ORDER, &r, b.data,
                                       b.len, &quick, NULL),
                           0);
          ck_assert_int_eq(rs_classify(&cs, reg, RS_SHOP_ORDER, &r, b.data,
                                       b.len, &slow, NULL),
                           0);
          same(cq, cf, false, findings[i].what, case_no);
          same(cq, cs, true, findings[i].what, case_no);
          if (limits != 2)
            ck_assert_uint_eq(rs_classification_written_version(cf), 2);
          if (limits == 0 && !framing)
            ck_assert_msg(rs_classification_verdict(cf) == findings[i].verdict,
                          "%s (%s): %s", findings[i].what,
                          raw ? "raw" : "envelope",
                          rs_verdict_name(rs_classification_verdict(cf)));
          if (limits == 0 && !framing && findings[i].more)
            ck_assert_uint_gt(rs_classification_reason_count(cf), 1);
          /* Verdict-only keeps one reason, the worst: what it says. */
          ck_assert_uint_le(rs_classification_reason_count(cq), 1);
          const rs_reason *first = rs_classification_reason(cq, 0);
          ck_assert_ptr_nonnull(first);
          ck_assert_int_eq(rs_reason_verdict(first),
                           rs_classification_verdict(cq));
          rs_classification_free(cf);
          rs_classification_free(cq);
          rs_classification_free(cs);
        }
      }
      rs_buf_dispose(&b, &rs__malloc_allocator);
    }
  }
}
END_TEST

/* A registry of @type with two versions, tests/unit/quick/@stem_v1.proto and
 * _v2.proto, whose schemas go to @schemas (freed by the caller after the
 * registry). */
static rs_registry *two_versions(rs_schema *schemas[2], const char *stem,
                                 const char *type) {
  rs_error err = RS_ERROR_INIT;
  for (int v = 0; v < 2; v++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_v%d.proto", RS_QUICK_PROTO_DIR, stem,
             v + 1);
    ck_assert_msg(rs_schema_load(&schemas[v], path, NULL, &err) == 0, "%s: %s",
                  path, err.message);
  }
  rs_registry_builder *b = NULL;
  rs_registry *reg = NULL;
  ck_assert_int_eq(rs_registry_builder_new(&b, NULL, &err), 0);
  const rs_schema *versions[] = {schemas[0], schemas[1]};
  ck_assert_msg(rs_schema_register(b, type, versions, 2, NULL, &err) == 0, "%s",
                err.message);
  /* The build consumes the builder. */
  ck_assert_msg(rs_registry_build(&reg, b, &err) == 0, "%s", err.message);
  return reg;
}

/*
 * A field number version 2 reused for a field of another name and type is
 * misread whatever its value (compare.c); the versions' agreement table,
 * which the verdict-only short cuts and raw inference trust, must not take
 * the two fields for alike because the value 0 reads the same.
 */
START_TEST(number_reused_for_another_field_is_never_ok) {
  rs_schema *schemas[2] = {NULL, NULL};
  rs_registry *reg = two_versions(schemas, "reuse", "rstest.reuse.Rec");
  rs_error err = RS_ERROR_INIT;
  /* id = 5, field 12 = 0 (version 2's g = false) */
  static const uint8_t rec[] = {0x08, 0x05, 0x60, 0x00};
  for (unsigned raw_writer = 0; raw_writer <= 2; raw_writer += 2) {
    rs_reader r = {RS_READER_VERSION,
                   1,
                   RS_READER_FRAMING_RAW,
                   raw_writer,
                   RS_RUNTIME_PROTOBUF_C,
                   0u,
                   0u};
    for (int quick = 0; quick < 2; quick++) {
      rs_options o = RS_OPTIONS_INIT;
      if (quick) o.flags |= RS_OPT_VERDICT_ONLY;
      rs_classification *c = NULL;
      ck_assert_int_eq(rs_classify(&c, reg, "rstest.reuse.Rec", &r, rec,
                                   sizeof rec, &o, &err),
                       0);
      if (raw_writer == 2) {
        ck_assert_msg(rs_classification_verdict(c) == RS_VERDICT_MISREAD,
                      "written by version 2, %s: %s",
                      quick ? "verdict-only" : "full",
                      rs_verdict_name(rs_classification_verdict(c)));
      } else {
        /* Either version can have written it, and they read it
         * differently: the writer is not known, so neither is the
         * verdict. */
        ck_assert_msg(!rs_classification_decided(c),
                      "inferred writer, %s: decided as %s",
                      quick ? "verdict-only" : "full",
                      rs_verdict_name(rs_classification_verdict(c)));
      }
      rs_classification_free(c);
    }
  }
  rs_registry_free(reg);
  rs_schema_free(schemas[0]);
  rs_schema_free(schemas[1]);
}
END_TEST

/*
 * Raw bytes version 2 wrote that version 1 also explains and reads
 * otherwise (its samples are sfixed32, version 2's floats): neither a
 * number version 2's open enum lacks nor a NUL in version 2's string rules
 * version 2 out, since writers write both, so the writer is not known and
 * neither is the verdict (before, version 1 alone was taken for the
 * writer: ok).
 */
START_TEST(inference_rules_out_no_version_a_writer_can_be) {
  rs_schema *schemas[2] = {NULL, NULL};
  rs_registry *reg = two_versions(schemas, "infer", "rstest.infer.Rec");
  rs_error err = RS_ERROR_INIT;
  static const struct {
    const char *what;
    uint8_t bytes[16];
    size_t len;
  } recs[] = {
      /* code = 77, samples = [-2.5] */
      {"an open enum's unknown number",
       {0x68, 0x4d, 0x72, 0x04, 0x00, 0x00, 0x20, 0xc0},
       8},
      /* note = "a\0b", samples = [-2.5] */
      {"a NUL in a string",
       {0x1a, 0x03, 0x61, 0x00, 0x62, 0x72, 0x04, 0x00, 0x00, 0x20, 0xc0},
       11},
  };
  rs_reader r = {RS_READER_VERSION,
                 1,
                 RS_READER_FRAMING_RAW,
                 0u,
                 RS_RUNTIME_PROTOBUF_C,
                 0u,
                 0u};
  for (size_t i = 0; i < sizeof recs / sizeof *recs; i++) {
    for (int quick = 0; quick < 2; quick++) {
      rs_options o = RS_OPTIONS_INIT;
      if (quick) o.flags |= RS_OPT_VERDICT_ONLY;
      rs_classification *c = NULL;
      ck_assert_int_eq(rs_classify(&c, reg, "rstest.infer.Rec", &r,
                                   recs[i].bytes, recs[i].len, &o, &err),
                       0);
      ck_assert_msg(!rs_classification_decided(c), "%s, %s: decided as %s",
                    recs[i].what, quick ? "verdict-only" : "full",
                    rs_verdict_name(rs_classification_verdict(c)));
      ck_assert_int_eq(rs_classification_writer_basis(c), RS_WRITER_AMBIGUOUS);
      rs_classification_free(c);
      /* Given version 2, the verdict is decided: misread. */
      rs_reader given = r;
      given.raw_writer = 2;
      ck_assert_int_eq(rs_classify(&c, reg, "rstest.infer.Rec", &given,
                                   recs[i].bytes, recs[i].len, &o, &err),
                       0);
      ck_assert_int_eq(rs_classification_verdict(c), RS_VERDICT_MISREAD);
      rs_classification_free(c);
    }
  }
  rs_registry_free(reg);
  rs_schema_free(schemas[0]);
  rs_schema_free(schemas[1]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("quick");
  TCase *tc = tcase_create("quick");
  tcase_set_timeout(tc, 0);
  tcase_add_test(tc, quick_walk_claims_only_what_protobuf_c_unpacks);
  tcase_add_test(tc, quick_walk_claims_hold_on_runtime_descriptors);
  tcase_add_test(tc, quick_header_walk_reads_what_the_envelope_parser_reads);
  tcase_add_test(tc, verdict_only_fast_path_agrees_with_full_classification);
  tcase_add_test(tc, verdict_only_agrees_on_protobuf_c_subtleties);
  tcase_add_test(tc, newer_writer_read_alike_is_proven_without_an_unpack);
  tcase_add_test(tc, verdict_only_short_cuts_keep_the_verdict_of_findings);
  tcase_add_test(tc, number_reused_for_another_field_is_never_ok);
  tcase_add_test(tc, inference_rules_out_no_version_a_writer_can_be);
  suite_add_tcase(s, tc);
  return rs_test_run(s);
}
