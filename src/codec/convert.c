/*
 * Conversion between format versions.
 *
 * The generic step works on the wire: it walks the source message's bytes
 * and writes bytes the target descriptor reads, field by field, by value:
 * - a number converts to any numeric type (varint, 32-bit and 64-bit
 *   alike): the same value, or an altered one with both values reported;
 *   NaN and infinities into an integer type are impossible;
 * - strings, bytes and messages convert to each other when the value reads
 *   the same (bytes into a proto3 string: valid UTF-8; bytes into a
 *   message: they decode as it with nothing unknown), else impossible; a
 *   map has no faithful reading as a string or bytes, nor they as a map;
 * - repeated to singular keeps the last value (altered when there were
 *   more), packed and unpacked convert both ways;
 * - a field the target defines as another kind (a number as a string, a
 *   message as a number) is impossible when the reader would read its
 *   bytes, and dropped, a declared loss, when their wire type makes the
 *   reader fail;
 * - a field the target does not define is kept as an unknown field (or
 *   dropped with RS_OPT_DROP_UNKNOWN).
 * protobuf-c then unpacks the result, so the target message is exactly what
 * a reader of that version would build from those bytes.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct rs_convert_ctx {
  const ProtobufCAllocator *a; /* the call's budget */
  rs__budget *budget;
  rs_conversion *conv;
  const rs_options *opts;
  unsigned from, to;
  const rs__type *type;
  /* The record's field the generic step is in (0: between fields), for
   * each loss's rs__note.top. */
  uint32_t top;
};

const char *rs_conversion_result_name(rs_conversion_result r) {
  switch (r) {
    case RS_CONVERSION_LOSSLESS:
      return "lossless";
    case RS_CONVERSION_LOSSY:
      return "lossy";
    case RS_CONVERSION_IMPOSSIBLE:
      return "impossible";
    default:
      return "unknown";
  }
}

const char *rs_loss_kind_name(rs_loss_kind k) {
  switch (k) {
    case RS_LOSS_DROPPED:
      return "dropped";
    case RS_LOSS_ALTERED:
      return "altered";
    case RS_LOSS_IMPOSSIBLE:
      return "impossible";
    default:
      return "unknown";
  }
}

/* ---- report ----------------------------------------------------------------
 */

void rs_conversion_free(rs_conversion *c) {
  if (c == NULL) return;
  rs__notes_dispose(&c->losses, c->a);
  rs__free(c->a, c);
}

rs_conversion_result rs_conversion_result_of(const rs_conversion *c) {
  return c != NULL ? (rs_conversion_result)c->result : RS_CONVERSION_LOSSLESS;
}
unsigned rs_conversion_from(const rs_conversion *c) {
  return c != NULL ? c->from : 0;
}
unsigned rs_conversion_to(const rs_conversion *c) {
  return c != NULL ? c->to : 0;
}
size_t rs_conversion_loss_count(const rs_conversion *c) {
  return c != NULL ? c->losses.n : 0;
}
size_t rs_conversion_losses_omitted(const rs_conversion *c) {
  return c != NULL ? c->losses.omitted : 0;
}
const rs_loss *rs_conversion_loss(const rs_conversion *c, size_t i) {
  if (c == NULL || i >= c->losses.n) return NULL;
  return (const rs_loss *)&c->losses.items[i];
}
size_t rs_conversion_kept_unknown(const rs_conversion *c) {
  return c != NULL ? c->kept_unknown : 0;
}

/* ---- context for custom converters -----------------------------------------
 */

void *rs_convert_ctx_alloc(rs_convert_ctx *ctx, size_t size) {
  return ctx != NULL ? rs__alloc(ctx->a, size) : NULL;
}

char *rs_convert_ctx_strdup(rs_convert_ctx *ctx, const char *s) {
  return ctx != NULL && s != NULL ? rs__strdup(ctx->a, s) : NULL;
}

ProtobufCMessage *rs_convert_ctx_new_message(
    rs_convert_ctx *ctx, const ProtobufCMessageDescriptor *d) {
  if (ctx == NULL || d == NULL) return NULL;
  ProtobufCMessage *m = rs__alloc(ctx->a, d->sizeof_message);
  if (m != NULL) rs_message_init(d, m);
  return m;
}

static int report_v(rs_convert_ctx *ctx, rs_loss_kind kind, const char *path,
                    uint32_t field, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
/* The number of a top-level field of version @p v named @p name (n bytes),
 * or 0. */
static uint32_t field_named(const rs_convert_ctx *ctx, unsigned v,
                            const char *name, size_t n) {
  const rs__version *ver =
      ctx->type != NULL ? rs__type_version(ctx->type, v) : NULL;
  for (unsigned i = 0; ver != NULL && i < ver->desc->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &ver->desc->fields[i];
    if (strlen(f->name) == n && memcmp(f->name, name, n) == 0) return f->id;
  }
  return 0;
}

/* The record's field a path starts in, where no walk says (a custom
 * converter's report): "name(N)..." is in field N, "name[i]..." in the
 * field of that name (the target's, else the source's); 0 otherwise. */
static uint32_t path_top(const rs_convert_ctx *ctx, const char *path) {
  if (path == NULL) return 0;
  size_t n = strcspn(path, "([.");
  if (n == 0) return 0;
  if (path[n] == '(') {
    char *end;
    unsigned long v = strtoul(path + n + 1, &end, 10);
    return *end == ')' && end != path + n + 1 && v <= UINT32_MAX ? (uint32_t)v
                                                                 : 0;
  }
  if (path[n] != '[') return 0;
  uint32_t id = field_named(ctx, ctx->to, path, n);
  return id != 0 ? id : field_named(ctx, ctx->from, path, n);
}

static int report_v(rs_convert_ctx *ctx, rs_loss_kind kind, const char *path,
                    uint32_t field, const char *fmt, va_list ap) {
  rs__notes *ns = &ctx->conv->losses;
  uint32_t top = path == NULL || path[0] == '\0' ? 0
                 : ctx->top != 0                 ? ctx->top
                                                 : path_top(ctx, path);
  int rc = rs__notes_vadd(ns, (int)kind, RS__RC_NONE, path, top, field,
                          RS_OFFSET_NONE, fmt, ap);
  if (rc != 0) return rc;
  if (ns->n > 0) {
    ns->items[ns->n - 1].from = ctx->from;
    ns->items[ns->n - 1].to = ctx->to;
  }
  int result = kind == RS_LOSS_IMPOSSIBLE ? RS_CONVERSION_IMPOSSIBLE
                                          : RS_CONVERSION_LOSSY;
  if (result > ctx->conv->result) ctx->conv->result = result;
  return 0;
}

int rs_convert_ctx_report(rs_convert_ctx *ctx, rs_loss_kind kind,
                          const char *path, uint32_t field, const char *fmt,
                          ...) {
  if (ctx == NULL || fmt == NULL) return RS_EINVAL;
  va_list ap;
  va_start(ap, fmt);
  int rc = report_v(ctx, kind, path, field, fmt, ap);
  va_end(ap);
  return rc;
}

static int report(rs_convert_ctx *ctx, rs_loss_kind kind, const char *path,
                  uint32_t field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int report(rs_convert_ctx *ctx, rs_loss_kind kind, const char *path,
                  uint32_t field, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = report_v(ctx, kind, path, field, fmt, ap);
  va_end(ap);
  return rc;
}

unsigned rs_convert_ctx_from(const rs_convert_ctx *ctx) {
  return ctx != NULL ? ctx->from : 0;
}
unsigned rs_convert_ctx_to(const rs_convert_ctx *ctx) {
  return ctx != NULL ? ctx->to : 0;
}

/* ---- output bytes
 * ------------------------------------------------------------ */

static int put(rs_convert_ctx *ctx, rs_buf *o, const void *p, size_t n) {
  if (n == 0) return 0;
  if (o->cap - o->len < n) {
    size_t cap = o->cap ? o->cap * 2 : 256;
    while (cap - o->len < n) cap *= 2;
    uint8_t *d = ctx->a->alloc(ctx->a->allocator_data, cap);
    if (d == NULL) return rs__budget_code(ctx->budget);
    if (o->len) memcpy(d, o->data, o->len);
    rs__free(ctx->a, o->data);
    o->data = d;
    o->cap = cap;
  }
  memcpy(o->data + o->len, p, n);
  o->len += n;
  return 0;
}

static int put_varint(rs_convert_ctx *ctx, rs_buf *o, uint64_t v) {
  uint8_t tmp[10];
  return put(ctx, o, tmp, rs__put_varint(tmp, v));
}

static int put_tag(rs_convert_ctx *ctx, rs_buf *o, uint32_t number,
                   unsigned wt) {
  return put_varint(ctx, o, ((uint64_t)number << 3) | wt);
}

/* ---- generic step
 * -------------------------------------------------------------- */

#define RS__MAX_REQUIRED 64
#define RS__MAX_LOSSES 256

typedef struct gen_state {
  rs_convert_ctx *ctx;
  const rs__type *type;
  unsigned depth;
} gen_state;

static bool in_list(const uint32_t *xs, size_t n, uint32_t x) {
  for (size_t i = 0; i < n; i++)
    if (xs[i] == x) return true;
  return false;
}

/* ---- values of numeric fields ----------------------------------------------
 *
 * Every numeric type converts to every other by value. A value is an
 * integer (sign and magnitude, wide enough for int64 and uint64 alike) or a
 * double (floats widen to it exactly). What the reader sees when the target
 * type cannot hold the writer's value:
 * - an integer into a narrower integer type: the low bits, as a C cast
 *   would keep them (two's complement; negative into unsigned wraps);
 * - anything into bool: value != 0;
 * - a finite double or float into an integer type: rounded toward zero and
 *   held at the type's bounds; NaN and infinities have no integer value, so
 *   the conversion is impossible;
 * - anything into float or double: the nearest value of that type (an
 *   integer above 2^53 into double, above 2^24 into float; a double out of
 *   float's range becomes the largest float or an infinity).
 * Each of those is an altered value, reported with both values.
 */

typedef struct num {
  bool fp;    /* a float or double, in d */
  double d;   /* floating values */
  rs__ival i; /* integer values */
} num;

static bool is_numeric(ProtobufCType t) {
  return t != PROTOBUF_C_TYPE_STRING && t != PROTOBUF_C_TYPE_BYTES &&
         t != PROTOBUF_C_TYPE_MESSAGE;
}

static rs__ival ival_of(int64_t v) {
  rs__ival r;
  r.neg = v < 0;
  r.mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  return r;
}

/* The value of one element as the source type reads its wire bits. */
static num num_read(ProtobufCType t, uint64_t raw) {
  num v = {false, 0.0, {false, 0}};
  switch (t) {
    case PROTOBUF_C_TYPE_FLOAT: {
      uint32_t u = (uint32_t)raw;
      float x;
      memcpy(&x, &u, sizeof x);
      v.fp = true;
      v.d = x;
      return v;
    }
    case PROTOBUF_C_TYPE_DOUBLE:
      v.fp = true;
      memcpy(&v.d, &raw, sizeof v.d);
      return v;
    case PROTOBUF_C_TYPE_FIXED32:
      v.i.mag = (uint32_t)raw;
      return v;
    case PROTOBUF_C_TYPE_SFIXED32:
      v.i = ival_of((int32_t)(uint32_t)raw);
      return v;
    case PROTOBUF_C_TYPE_FIXED64:
      v.i.mag = raw;
      return v;
    case PROTOBUF_C_TYPE_SFIXED64:
      v.i = ival_of((int64_t)raw);
      return v;
    default:
      v.i = rs__varint_value(t, raw);
      return v;
  }
}

/* Bit width and signedness of an integer type; bool is 1 bit, unsigned. */
static unsigned int_bits(ProtobufCType t, bool *is_signed) {
  *is_signed = false;
  switch (t) {
    case PROTOBUF_C_TYPE_BOOL:
      return 1;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
      *is_signed = true;
      return 32;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      return 32;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
      *is_signed = true;
      return 64;
    default:
      return 64;
  }
}

static bool ival_fits(rs__ival v, ProtobufCType t) {
  bool sgn;
  unsigned bits = int_bits(t, &sgn);
  if (v.mag == 0) return true;
  if (bits == 1) return !v.neg && v.mag == 1;
  uint64_t half = (uint64_t)1 << (bits - 1); /* 2^31 or 2^63 */
  if (v.neg) return sgn && v.mag <= half;
  return sgn ? v.mag < half : bits == 64 || v.mag <= 0xffffffffu;
}

/* What a reader of integer type t sees of v: its low bits (bool: v != 0). */
static rs__ival ival_cast(rs__ival v, ProtobufCType t) {
  bool sgn;
  unsigned bits = int_bits(t, &sgn);
  rs__ival r = {false, 0};
  if (bits == 1) {
    r.mag = v.mag != 0;
    return r;
  }
  uint64_t b = v.neg ? (uint64_t)0 - v.mag : v.mag;
  if (bits == 32) {
    if (sgn) return ival_of((int32_t)(uint32_t)b);
    r.mag = (uint32_t)b;
    return r;
  }
  if (sgn) return ival_of((int64_t)b);
  r.mag = b;
  return r;
}

/* The wire bits of v, which fits integer type t. */
static uint64_t ival_bits(rs__ival v, ProtobufCType t) {
  uint64_t raw = 0;
  if (rs__is_varint_type(t) && rs__varint_encode(t, v, &raw)) return raw;
  uint64_t b = v.neg ? (uint64_t)0 - v.mag : v.mag;
  return t == PROTOBUF_C_TYPE_FIXED32 || t == PROTOBUF_C_TYPE_SFIXED32
             ? (uint32_t)b
             : b;
}

/* Whether magnitude m has at most `digits` significant bits. */
static bool mantissa_holds(uint64_t m, unsigned digits) {
  if (m == 0) return true;
  while ((m & 1) == 0) m >>= 1;
  return (m >> digits) == 0;
}

/* 2^n for n <= 64, exactly (libm is not linked). */
static double pow2(unsigned n) {
  return n < 64 ? (double)((uint64_t)1 << n) : 2.0 * (double)(1ull << 63);
}

/* A finite double rounded toward zero. */
static double toward_zero(double d) {
  /* From 2^52 on every double is an integer. */
  if (d >= pow2(52) || d <= -pow2(52)) return d;
  double x = (double)(int64_t)d;
  return x == 0 && d < 0 ? -0.0 : x;
}

/*
 * A finite double as integer type t sees it: toward zero, held at t's
 * bounds. *exact: the same value (not -0.0, which reads as 0).
 */
static rs__ival fp_cast(double d, ProtobufCType t, bool *exact) {
  bool sgn;
  unsigned bits = int_bits(t, &sgn);
  rs__ival r = {false, 0};
  if (bits == 1) {
    r.mag = d != 0;
    *exact = (d == 0 && !signbit(d)) || d == 1;
    return r;
  }
  double x = toward_zero(d);
  double lo = sgn ? -pow2(bits - 1) : 0.0;
  double hi = pow2(sgn ? bits - 1 : bits); /* exclusive */
  *exact = x == d && x >= lo && x < hi && !(d == 0 && signbit(d));
  if (x < lo) {
    r.neg = sgn;
    r.mag = sgn ? (uint64_t)1 << (bits - 1) : 0;
  } else if (x >= hi) {
    r.mag = sgn          ? ((uint64_t)1 << (bits - 1)) - 1
            : bits == 64 ? UINT64_MAX
                         : 0xffffffffu;
  } else if (x < 0) {
    r.neg = true;
    r.mag = (uint64_t)-x;
  } else {
    r.mag = (uint64_t)x;
  }
  return r;
}

/* The float nearest d, without the undefined conversion past FLT_MAX. */
static float to_float(double d) {
  double m = d < 0 ? -d : d;
  if (isnan(d) || isinf(d) || m <= (double)FLT_MAX) return (float)d;
  /* Halfway between FLT_MAX and 2^128 rounds to even: the infinity. */
  if (m < (double)FLT_MAX + pow2(40) * pow2(63))
    return d < 0 ? -FLT_MAX : FLT_MAX;
  return d < 0 ? -INFINITY : INFINITY;
}

/* Shortest text that reads back as the same value of type t. */
static void num_format(num v, ProtobufCType t, char *out, size_t n) {
  if (!v.fp) {
    if (t == PROTOBUF_C_TYPE_BOOL) {
      snprintf(out, n, "%s", v.i.mag != 0 ? "true" : "false");
      return;
    }
    rs__ival_format(v.i, out, n);
    return;
  }
  if (isnan(v.d)) {
    snprintf(out, n, "nan");
    return;
  }
  if (isinf(v.d)) {
    snprintf(out, n, "%sinf", v.d < 0 ? "-" : "");
    return;
  }
  bool single = t == PROTOBUF_C_TYPE_FLOAT;
  for (int p = single ? 6 : 15; p <= (single ? 9 : 17); p++) {
    snprintf(out, n, "%.*g", p, v.d);
    double back = strtod(out, NULL);
    if (single ? (float)back == (float)v.d : back == v.d) return;
  }
}

static int map_enum(gen_state *g, const ProtobufCFieldDescriptor *sf,
                    const ProtobufCFieldDescriptor *df, int32_t v,
                    uint64_t *out, const char *path);

/*
 * Converts one element of source field sf (raw: its wire bits) to target
 * field df's type: *out gets df's wire bits, *seen the value the reader
 * reads from them. An altered value is reported; NaN or an infinity into an
 * integer type, and an enum value df's enum lacks, are impossible.
 */
static int convert_number(gen_state *g, const ProtobufCFieldDescriptor *sf,
                          const ProtobufCFieldDescriptor *df, uint64_t raw,
                          uint64_t *out, num *seen, const char *path) {
  ProtobufCType dt = df->type;
  num v = num_read(sf->type, raw);
  num r = {false, 0.0, {false, 0}};
  bool exact;
  char a[48], b[48];
  *out = 0;
  if (dt == PROTOBUF_C_TYPE_DOUBLE) {
    r.fp = true;
    if (v.fp) {
      r.d = v.d;
      exact = true;
    } else {
      r.d = v.i.neg ? -(double)v.i.mag : (double)v.i.mag;
      exact = mantissa_holds(v.i.mag, DBL_MANT_DIG);
    }
    memcpy(out, &r.d, sizeof r.d);
  } else if (dt == PROTOBUF_C_TYPE_FLOAT) {
    float x;
    if (v.fp) {
      x = to_float(v.d);
      exact = isnan(v.d) || (double)x == v.d;
    } else {
      x = v.i.neg ? -(float)v.i.mag : (float)v.i.mag;
      exact = mantissa_holds(v.i.mag, FLT_MANT_DIG);
    }
    r.fp = true;
    r.d = x;
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    *out = u;
  } else {
    if (v.fp && (isnan(v.d) || isinf(v.d))) {
      num_format(v, sf->type, a, sizeof a);
      *seen = r;
      return report(g->ctx, RS_LOSS_IMPOSSIBLE, path, df->id,
                    "%s value %s has no %s value", rs__type_name(sf->type), a,
                    rs__type_name(dt));
    }
    if (v.fp) {
      r.i = fp_cast(v.d, dt, &exact);
    } else {
      exact = ival_fits(v.i, dt);
      r.i = exact ? v.i : ival_cast(v.i, dt);
    }
    if (dt == PROTOBUF_C_TYPE_ENUM) {
      int32_t e = (int32_t)(r.i.neg ? (uint32_t)0 - (uint32_t)r.i.mag
                                    : (uint32_t)r.i.mag);
      if (!rs__enum_known(df->descriptor, e)) {
        *seen = r;
        return map_enum(g, sf, df, e, out, path);
      }
    }
    *out = ival_bits(r.i, dt);
  }
  *seen = r;
  if (exact) return 0;
  num_format(v, sf->type, a, sizeof a);
  num_format(r, dt, b, sizeof b);
  return report(g->ctx, RS_LOSS_ALTERED, path, df->id,
                "%s value %s does not fit %s; the reader sees %s",
                rs__type_name(sf->type), a, rs__type_name(dt), b);
}

/*
 * An enum value the target's enum lacks: converted only through an enum_map
 * of the record type (rs_registry_builder_add_enum_map), which names the
 * source's enum or the target's; otherwise the conversion is impossible.
 */
static int map_enum(gen_state *g, const ProtobufCFieldDescriptor *sf,
                    const ProtobufCFieldDescriptor *df, int32_t v,
                    uint64_t *out, const char *path) {
  const ProtobufCEnumDescriptor *de = df->descriptor;
  const ProtobufCEnumDescriptor *se =
      sf != NULL && sf->type == PROTOBUF_C_TYPE_ENUM ? sf->descriptor : de;
  const ProtobufCEnumValue *sv = rs__enum_value(se, v);
  for (size_t i = 0; sv != NULL && i < g->type->n_enum_maps; i++) {
    const rs__enum_map *m = &g->type->enum_maps[i];
    if (strcmp(m->enum_name, se->name) != 0 &&
        strcmp(m->enum_name, de->name) != 0)
      continue;
    if (strcmp(m->from, sv->name) != 0) continue;
    const ProtobufCEnumValue *tv =
        protobuf_c_enum_descriptor_get_value_by_name(de, m->to);
    if (tv == NULL)
      return report(g->ctx, RS_LOSS_IMPOSSIBLE, path, df->id,
                    "enum_map maps %s (%d) to %s, which %s lacks", sv->name, v,
                    m->to, de->name);
    *out = (uint64_t)(int64_t)tv->value;
    return report(g->ctx, RS_LOSS_ALTERED, path, df->id,
                  "%s (%d) is not in %s; written as %s (%d) by enum_map",
                  sv->name, v, de->name, tv->name, tv->value);
  }
  if (sv != NULL)
    return report(g->ctx, RS_LOSS_IMPOSSIBLE, path, df->id,
                  "value %s (%d) is not in %s, and no mapping is registered "
                  "(enum_map)",
                  sv->name, v, de->name);
  return report(g->ctx, RS_LOSS_IMPOSSIBLE, path, df->id,
                "value %d is not in %s, and no mapping is registered", v,
                de->name);
}

/* A field whose writer's type is unknown (the source version lacks it):
 * varint values only checked against the target's enum. */
static int convert_varint(gen_state *g, const ProtobufCFieldDescriptor *df,
                          uint64_t raw, uint64_t *out, const char *path) {
  *out = raw;
  if (df->type != PROTOBUF_C_TYPE_ENUM) return 0;
  int32_t v = (int32_t)(uint32_t)raw;
  return rs__enum_known(df->descriptor, v)
             ? 0
             : map_enum(g, NULL, df, v, out, path);
}

static int generic(gen_state *g, const ProtobufCMessageDescriptor *S,
                   const ProtobufCMessageDescriptor *D, const uint8_t *buf,
                   size_t len, rs__path *path, const uint32_t *skip,
                   size_t n_skip, rs_buf *out);

/* Where one occurrence of a field goes: path and element numbering. */
typedef struct occurrence {
  const rs__wfield *f;
  rs__path *path;
  size_t mark;        /* path length before this field */
  const char *name;   /* for element paths */
  size_t first_index; /* of its first element, when the target repeats */
  size_t n_elements;  /* out: elements it held */
  size_t trimmed;     /* values written to a field the target reads as one */
  size_t first_tag;   /* then: where the first of them is */
  const uint8_t *buf; /* the message the field is in */
  size_t len;
} occurrence;

static void element_path(const ProtobufCFieldDescriptor *df, occurrence *o,
                         size_t k) {
  if (df->label != PROTOBUF_C_LABEL_REPEATED) return;
  rs__path_pop(o->path, o->mark);
  rs__path_push_index(o->path, o->name, o->first_index + k);
}

static int put_fixed(rs_convert_ctx *ctx, rs_buf *o, uint64_t v, size_t n) {
  uint8_t tmp[8];
  for (size_t i = 0; i < n; i++) tmp[i] = (uint8_t)(v >> (8 * i));
  return put(ctx, o, tmp, n);
}

static int put_value(rs_convert_ctx *ctx, rs_buf *o, unsigned wt, uint64_t v) {
  return wt == RS__WT_VARINT ? put_varint(ctx, o, v)
                             : put_fixed(ctx, o, v, wt == RS__WT_I64 ? 8 : 4);
}

static int read_value(const uint8_t *p, size_t len, size_t *pos, unsigned wt,
                      uint64_t *v) {
  if (wt == RS__WT_VARINT) return rs__read_varint(p, len, pos, v);
  size_t n = wt == RS__WT_I64 ? 8 : 4;
  if (len - *pos < n) return -1;
  *v = 0;
  for (size_t i = 0; i < n; i++) *v |= (uint64_t)p[*pos + i] << (8 * i);
  *pos += n;
  return 0;
}

static void quote(const uint8_t *s, size_t n, char *out, size_t cap);

/* The first value of a repeated field, for a loss text ("" for messages). */
static void first_value(const ProtobufCFieldDescriptor *sf, const occurrence *o,
                        char *out, size_t cap) {
  rs__wfield f;
  const char *why;
  size_t pos = o->first_tag;
  uint64_t raw;
  out[0] = '\0';
  if (sf->type == PROTOBUF_C_TYPE_MESSAGE ||
      rs__read_field(o->buf, o->len, &pos, &f, &why) != 0)
    return;
  if (!is_numeric(sf->type)) {
    quote(o->buf + f.value_offset, f.value_len, out, cap);
    return;
  }
  raw = f.value;
  pos = 0;
  if (f.wire_type == RS__WT_LEN &&
      read_value(o->buf + f.value_offset, f.value_len, &pos,
                 rs__field_wire_type(sf), &raw) != 0)
    return;
  num_format(num_read(sf->type, raw), sf->type, out, cap);
}

static int report_trimmed(gen_state *g, const ProtobufCFieldDescriptor *sf,
                          const ProtobufCFieldDescriptor *df,
                          const occurrence *o, const char *last) {
  char first[80];
  first_value(sf, o, first, sizeof first);
  return report(g->ctx, RS_LOSS_ALTERED, o->path->buf, df->id,
                "%zu values are written%s%s%s; version %u reads one %s and "
                "sees only the last%s%s",
                o->trimmed, first[0] ? " (the first " : "", first,
                first[0] ? ")" : "", g->ctx->to, rs__type_name(df->type),
                last[0] ? ", " : "", last);
}

/*
 * One occurrence of a numeric field into a numeric field, element by
 * element: packed stays packed where the target repeats (protobuf-c and
 * every other runtime read a repeated scalar packed or not); a target that
 * reads one value gets the last element only.
 */
static int copy_numbers(gen_state *g, const ProtobufCFieldDescriptor *sf,
                        const ProtobufCFieldDescriptor *df, const uint8_t *buf,
                        occurrence *o, rs_buf *out) {
  rs_convert_ctx *ctx = g->ctx;
  const rs__wfield *f = o->f;
  unsigned swt = rs__field_wire_type(sf), dwt = rs__field_wire_type(df);
  bool packed = f->wire_type == RS__WT_LEN;
  bool repeated = df->label == PROTOBUF_C_LABEL_REPEATED;
  const uint8_t *p = packed ? buf + f->value_offset : NULL;
  size_t plen = packed ? f->value_len : 0, pos = 0, k = 0;
  uint64_t raw = f->value, v = 0;
  num seen = {false, 0.0, {false, 0}};
  rs_buf elems = RS_BUF_INIT;
  int rc = 0;
  for (;;) {
    if (packed) {
      if (pos >= plen) break;
      if (read_value(p, plen, &pos, swt, &raw) != 0) {
        rc = report(ctx, RS_LOSS_DROPPED, o->path->buf, df->id,
                    "packed values are malformed; dropped");
        rs__free(ctx->a, elems.data);
        return rc;
      }
      /* A target read as one value keeps the last element only. */
      if (!repeated && pos < plen) {
        k++;
        continue;
      }
    } else if (k > 0) {
      break;
    }
    element_path(df, o, k);
    rc = convert_number(g, sf, df, raw, &v, &seen, o->path->buf);
    if (rc == 0)
      rc = packed && repeated ? put_value(ctx, &elems, dwt, v)
                              : put_tag(ctx, out, df->id, dwt);
    if (rc == 0 && !(packed && repeated)) rc = put_value(ctx, out, dwt, v);
    k++;
    if (rc != 0) break;
  }
  o->n_elements = repeated ? k : 1;
  if (rc == 0 && packed && repeated) {
    rc = put_tag(ctx, out, df->id, RS__WT_LEN);
    if (rc == 0) rc = put_varint(ctx, out, elems.len);
    if (rc == 0) rc = put(ctx, out, elems.data, elems.len);
  }
  rs__free(ctx->a, elems.data);
  if (rc == 0 && o->trimmed > 1) {
    char s[48];
    num_format(seen, df->type, s, sizeof s);
    rc = report_trimmed(g, sf, df, o, s);
  }
  return rc;
}

/* A map field: a repeated message of a protoc map entry type. */
static bool is_map(const ProtobufCFieldDescriptor *f) {
  if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE ||
      f->label != PROTOBUF_C_LABEL_REPEATED)
    return false;
  const ProtobufCMessageDescriptor *d = f->descriptor;
  size_t n = strlen(d->short_name);
  return d->n_fields == 2 && n > 5 &&
         strcmp(d->short_name + n - 5, "Entry") == 0 && d->fields[0].id == 1 &&
         d->fields[1].id == 2 && strcmp(d->fields[0].name, "key") == 0 &&
         strcmp(d->fields[1].name, "value") == 0;
}

/* A short quoted rendering of bytes for a loss text. */
static void quote(const uint8_t *s, size_t n, char *out, size_t cap) {
  size_t o = 0;
  out[o++] = '"';
  for (size_t i = 0; i < n && o + 8 < cap; i++) {
    if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\')
      out[o++] = (char)s[i];
    else
      o += (size_t)snprintf(out + o, cap - o, "\\x%02x", s[i]);
    if (i + 1 < n && o + 8 >= cap) {
      memcpy(out + o, "...", 3);
      o += 3;
      break;
    }
  }
  out[o++] = '"';
  out[o] = '\0';
}

/*
 * Whether bytes read as message D exactly: every field known to D with a
 * wire type it reads, every enum value in its enum, every proto3 string
 * valid UTF-8 and free of NUL (protobuf-c's strings end at one), and
 * protobuf-c unpacks them. Returns 0 with why[0] set when they do not.
 */
static int check_embedded(gen_state *g, const ProtobufCMessageDescriptor *D,
                          const uint8_t *buf, size_t len, unsigned depth,
                          char *why, size_t cap) {
  if (depth > rs__levels(g->ctx->opts->max_depth)) {
    snprintf(why, cap, "they nest deeper than the limit of %u",
             g->ctx->opts->max_depth);
    return 0;
  }
  size_t pos = 0;
  while (pos < len) {
    rs__wfield f;
    const char *w;
    if (rs__read_field(buf, len, &pos, &f, &w) != 0) {
      snprintf(why, cap, "%s at byte %zu", w, pos);
      return 0;
    }
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(D, f.number);
    if (fd == NULL) {
      snprintf(why, cap, "%s has no field %u", D->name, (unsigned)f.number);
      return 0;
    }
    if (!rs__wire_type_ok(fd, f.wire_type)) {
      snprintf(why, cap, "%s.%s(%u) is %s, not wire type %u", D->name, fd->name,
               (unsigned)f.number, rs__type_name(fd->type), f.wire_type);
      return 0;
    }
    const uint8_t *v = buf + f.value_offset;
    if (fd->type == PROTOBUF_C_TYPE_ENUM) {
      bool packed = f.wire_type == RS__WT_LEN;
      size_t q = 0;
      uint64_t e = f.value;
      while (packed ? q < f.value_len : q++ == 0) {
        if (packed && rs__read_varint(v, f.value_len, &q, &e) != 0) {
          snprintf(why, cap, "%s.%s(%u) holds malformed packed values", D->name,
                   fd->name, (unsigned)f.number);
          return 0;
        }
        if (!rs__enum_known(fd->descriptor, (int32_t)(uint32_t)e)) {
          snprintf(why, cap, "%s.%s(%u) holds %d, which %s lacks", D->name,
                   fd->name, (unsigned)f.number, (int32_t)(uint32_t)e,
                   fd->descriptor != NULL
                       ? ((const ProtobufCEnumDescriptor *)fd->descriptor)->name
                       : "its enum");
          return 0;
        }
      }
    } else if (fd->type == PROTOBUF_C_TYPE_STRING) {
      size_t ok = rs__utf8_valid_prefix(v, f.value_len);
      if (rs__field_wants_utf8(fd) && ok < f.value_len) {
        snprintf(why, cap, "%s.%s(%u) is not valid UTF-8 at byte %zu", D->name,
                 fd->name, (unsigned)f.number, ok);
        return 0;
      }
      if (memchr(v, 0, f.value_len) != NULL) {
        snprintf(why, cap, "%s.%s(%u) holds a NUL, where the string ends",
                 D->name, fd->name, (unsigned)f.number);
        return 0;
      }
    } else if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
      int rc = check_embedded(g, fd->descriptor, v, f.value_len, depth + 1, why,
                              cap);
      if (rc != 0 || why[0]) return rc;
    }
  }
  if (depth > 1) return 0;
  ProtobufCMessage *m = NULL;
  rs_error e = RS_ERROR_INIT;
  int rc = rs__unpack(&m, D, buf, len, 0, g->ctx->opts, g->ctx->budget, &e);
  if (rc == RS_EDECODE) {
    snprintf(why, cap, "%s", e.message);
    return 0;
  }
  if (m != NULL) protobuf_c_message_free_unpacked(m, RS__PA(g->ctx->a));
  return rc;
}

/*
 * One occurrence of a string, bytes or message field into a string, bytes
 * or message field: by value, or impossible when the value has no faithful
 * reading as the target type.
 */
static int copy_len(gen_state *g, const ProtobufCFieldDescriptor *sf,
                    const ProtobufCFieldDescriptor *df, const uint8_t *buf,
                    occurrence *o, rs_buf *out) {
  rs_convert_ctx *ctx = g->ctx;
  const rs__wfield *f = o->f;
  const char *path = o->path->buf;
  const uint8_t *v = buf + f->value_offset;
  size_t n = f->value_len;
  ProtobufCType st = sf->type, dt = df->type;
  char last[80] = "";
  int rc = 0;
  if (is_map(sf) != is_map(df) &&
      (st != PROTOBUF_C_TYPE_MESSAGE || dt != PROTOBUF_C_TYPE_MESSAGE))
    return report(ctx, RS_LOSS_IMPOSSIBLE, path, df->id,
                  "a %s has no faithful reading as a %s of version %u",
                  is_map(sf) ? "map" : rs__type_name(st),
                  is_map(df) ? "map" : rs__type_name(dt), ctx->to);
  if (dt == PROTOBUF_C_TYPE_MESSAGE && st == PROTOBUF_C_TYPE_MESSAGE &&
      sf->descriptor != df->descriptor) {
    rs_buf sub = RS_BUF_INIT;
    g->depth++;
    rc = generic(g, sf->descriptor, df->descriptor, v, n, o->path, NULL, 0,
                 &sub);
    g->depth--;
    if (rc == 0) rc = put_tag(ctx, out, df->id, RS__WT_LEN);
    if (rc == 0) rc = put_varint(ctx, out, sub.len);
    if (rc == 0) rc = put(ctx, out, sub.data, sub.len);
    rs__free(ctx->a, sub.data);
    if (rc == 0 && o->trimmed > 1) rc = report_trimmed(g, sf, df, o, "");
    return rc;
  }
  if (dt == PROTOBUF_C_TYPE_MESSAGE && st != PROTOBUF_C_TYPE_MESSAGE) {
    char why[200] = "";
    rc = check_embedded(g, df->descriptor, v, n, 1, why, sizeof why);
    if (rc != 0) return rc;
    char q[64];
    quote(v, n, q, sizeof q);
    if (why[0])
      return report(
          ctx, RS_LOSS_IMPOSSIBLE, path, df->id,
          "the %s value %s (%zu bytes) is not a %s: %s", rs__type_name(st), q,
          n, ((const ProtobufCMessageDescriptor *)df->descriptor)->name, why);
  }
  if (dt == PROTOBUF_C_TYPE_STRING) {
    /* A string the source read as UTF-8 already is; protobuf-c's strings
     * (the source was packed from one) cannot hold a NUL. */
    bool utf8 = rs__field_wants_utf8(df) &&
                !(st == PROTOBUF_C_TYPE_STRING && rs__field_wants_utf8(sf));
    size_t ok = utf8 ? rs__utf8_valid_prefix(v, n) : n;
    if (ok < n) {
      char q[64];
      quote(v, n, q, sizeof q);
      return report(ctx, RS_LOSS_IMPOSSIBLE, path, df->id,
                    "the %s value %s is not valid UTF-8 (byte %zu), which "
                    "a proto3 string of version %u must be",
                    rs__type_name(st), q, ok, ctx->to);
    }
    const uint8_t *nul = st != PROTOBUF_C_TYPE_STRING ? memchr(v, 0, n) : NULL;
    if (nul != NULL) {
      char q[64], s[64];
      quote(v, n, q, sizeof q);
      quote(v, (size_t)(nul - v), s, sizeof s);
      rc = report(ctx, RS_LOSS_ALTERED, path, df->id,
                  "the %s value %s (%zu bytes) holds a NUL at byte %zu, where "
                  "a protobuf-c string ends; the reader sees %s",
                  rs__type_name(st), q, n, (size_t)(nul - v), s);
    }
  }
  if (rc == 0) rc = put(ctx, out, buf + f->tag_offset, f->end - f->tag_offset);
  if (rc == 0 && o->trimmed > 1) {
    if (dt != PROTOBUF_C_TYPE_MESSAGE) quote(v, n, last, sizeof last);
    rc = report_trimmed(g, sf, df, o, last);
  }
  return rc;
}

static int copy_field(gen_state *g, const ProtobufCFieldDescriptor *sf,
                      const ProtobufCFieldDescriptor *df, const uint8_t *buf,
                      occurrence *o, rs_buf *out) {
  rs_convert_ctx *ctx = g->ctx;
  const rs__wfield *f = o->f;
  o->n_elements = 1;
  if (sf != NULL && is_numeric(sf->type) && is_numeric(df->type)) {
    /* The same type reads the same value: the bytes stay (enums are
     * checked, their two enums may differ). */
    if (sf->type == df->type && df->type != PROTOBUF_C_TYPE_ENUM &&
        o->trimmed <= 1 &&
        (f->wire_type != RS__WT_LEN ||
         df->label == PROTOBUF_C_LABEL_REPEATED)) {
      if (f->wire_type == RS__WT_LEN) {
        size_t w = rs__field_wire_type(sf) == RS__WT_I64   ? 8
                   : rs__field_wire_type(sf) == RS__WT_I32 ? 4
                                                           : 0;
        size_t cnt = 0;
        if (w != 0) {
          cnt = f->value_len / w;
        } else {
          for (size_t i = 0; i < f->value_len; i++)
            cnt += (buf[f->value_offset + i] & 0x80) == 0;
        }
        o->n_elements = cnt;
      }
      return put(ctx, out, buf + f->tag_offset, f->end - f->tag_offset);
    }
    return copy_numbers(g, sf, df, buf, o, out);
  }
  if (sf != NULL && !is_numeric(sf->type) && !is_numeric(df->type))
    return copy_len(g, sf, df, buf, o, out);
  /* The writer's type is unknown: the bytes stay, varints are checked
   * against the target's enum. */
  if (df->type == PROTOBUF_C_TYPE_MESSAGE || !rs__is_varint_type(df->type) ||
      f->wire_type != RS__WT_VARINT) {
    if (df->type == PROTOBUF_C_TYPE_ENUM && f->wire_type == RS__WT_LEN) {
      size_t pos = 0;
      const uint8_t *p = buf + f->value_offset;
      while (pos < f->value_len) {
        uint64_t raw, v;
        if (rs__read_varint(p, f->value_len, &pos, &raw) != 0)
          return report(ctx, RS_LOSS_DROPPED, o->path->buf, df->id,
                        "packed values are malformed; dropped");
        int rc = convert_varint(g, df, raw, &v, o->path->buf);
        if (rc != 0) return rc;
      }
    }
    return put(ctx, out, buf + f->tag_offset, f->end - f->tag_offset);
  }
  uint64_t v;
  int rc = convert_varint(g, df, f->value, &v, o->path->buf);
  if (rc != 0) return rc;
  if (v == f->value)
    return put(ctx, out, buf + f->tag_offset, f->end - f->tag_offset);
  rc = put_tag(ctx, out, df->id, RS__WT_VARINT);
  return rc != 0 ? rc : put_varint(ctx, out, v);
}

/* Per target field: element numbering, and where a field the target reads
 * as one value was last written (0: not looked for yet). */
typedef struct slot {
  size_t count;
  size_t last_plus1;
  size_t total;
  size_t first_tag;
} slot;

/* Values of field `number` from `from` on (packed ones counted one by one),
 * and the tag offset of its last occurrence. */
static size_t count_values(const uint8_t *buf, size_t len, size_t from,
                           uint32_t number, const ProtobufCFieldDescriptor *sf,
                           size_t *last) {
  size_t total = 0, pos = from;
  rs__wfield f;
  const char *why;
  while (pos < len && rs__read_field(buf, len, &pos, &f, &why) == 0) {
    if (f.number != number) continue;
    size_t n = 1;
    if (f.wire_type == RS__WT_LEN && is_numeric(sf->type)) {
      unsigned wt = rs__field_wire_type(sf);
      size_t q = 0;
      uint64_t v;
      for (n = 0; q < f.value_len && read_value(buf + f.value_offset,
                                                f.value_len, &q, wt, &v) == 0;)
        n++;
    }
    /* An empty packed record holds no value to keep. */
    if (n > 0) *last = f.tag_offset;
    total += n;
  }
  return total;
}

/*
 * Members of one oneof of D that the bytes written for D (from @p start of
 * @p out) set side by side, where the writer's version held them apart: D's
 * reader keeps the member written last and clears the others, so each of
 * those is dropped, a declared loss.
 */
static int report_oneof_cleared(gen_state *g,
                                const ProtobufCMessageDescriptor *S,
                                const ProtobufCMessageDescriptor *D,
                                const rs_buf *out, size_t start,
                                rs__path *path) {
  rs_convert_ctx *ctx = g->ctx;
  bool any = false;
  for (unsigned i = 0; i < D->n_fields && !any; i++)
    any = (D->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
  if (!any) return 0;
  /* The order of each field's last occurrence (0: not written). */
  size_t small[32] = {0};
  size_t *order = small;
  if (D->n_fields > 32) {
    order = rs__alloc(ctx->a, D->n_fields * sizeof *order);
    if (order == NULL) return rs__budget_code(ctx->budget);
    memset(order, 0, D->n_fields * sizeof *order);
  }
  size_t pos = start, k = 0;
  rs__wfield f;
  const char *why;
  while (pos < out->len &&
         rs__read_field(out->data, out->len, &pos, &f, &why) == 0) {
    const ProtobufCFieldDescriptor *o =
        protobuf_c_message_descriptor_get_field(D, f.number);
    if (o != NULL && (o->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        rs__wire_type_ok(o, f.wire_type))
      order[o - D->fields] = ++k;
  }
  int rc = 0;
  for (unsigned i = 0; rc == 0 && k > 1 && i < D->n_fields; i++) {
    const ProtobufCFieldDescriptor *m = &D->fields[i];
    if (order[i] == 0) continue;
    const ProtobufCFieldDescriptor *last = m;
    for (unsigned j = 0; j < D->n_fields; j++)
      if (order[j] > order[last - D->fields] &&
          (D->fields[j].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
          D->fields[j].quantifier_offset == m->quantifier_offset)
        last = &D->fields[j];
    if (last == m) continue;
    const ProtobufCFieldDescriptor *sf =
        S != NULL ? protobuf_c_message_descriptor_get_field(S, m->id) : NULL;
    size_t mark =
        rs__path_push_field(path, sf != NULL ? sf->name : m->name, m->id);
    if (g->depth == 1) ctx->top = m->id;
    rc = report(ctx, RS_LOSS_DROPPED, path->buf, m->id,
                "version %u holds %s(%u) in one oneof with %s(%u), which is "
                "written after it, and keeps only the member written last; "
                "dropped",
                ctx->to, m->name, (unsigned)m->id, last->name,
                (unsigned)last->id);
    if (g->depth == 1) ctx->top = 0;
    rs__path_pop(path, mark);
  }
  if (order != small) rs__free(ctx->a, order);
  return rc;
}

static int generic(gen_state *g, const ProtobufCMessageDescriptor *S,
                   const ProtobufCMessageDescriptor *D, const uint8_t *buf,
                   size_t len, rs__path *path, const uint32_t *skip,
                   size_t n_skip, rs_buf *out) {
  rs_convert_ctx *ctx = g->ctx;
  if (g->depth > rs__levels(ctx->opts->max_depth)) return RS_ELIMIT;
  size_t start = out->len;
  slot slots_small[32];
  slot *slots = slots_small;
  if (D->n_fields > 32) {
    slots = rs__alloc(ctx->a, D->n_fields * sizeof *slots);
    if (slots == NULL) return rs__budget_code(ctx->budget);
  } else {
    memset(slots_small, 0, sizeof slots_small);
  }
  uint32_t reported[16];
  size_t n_reported = 0;
  size_t pos = 0;
  int rc = 0;
  while (rc == 0 && pos < len) {
    rs__wfield f;
    const char *why;
    if (g->depth == 1) ctx->top = 0;
    if (rs__read_field(buf, len, &pos, &f, &why) != 0) {
      rc = report(ctx, RS_LOSS_IMPOSSIBLE, path->buf, 0,
                  "source bytes are malformed (%s)", why);
      break;
    }
    if (in_list(skip, n_skip, f.number)) continue;
    if (g->depth == 1) ctx->top = f.number;
    const ProtobufCFieldDescriptor *sf =
        S != NULL ? protobuf_c_message_descriptor_get_field(S, f.number) : NULL;
    const ProtobufCFieldDescriptor *df =
        protobuf_c_message_descriptor_get_field(D, f.number);
    const char *name = sf != NULL ? sf->name : df != NULL ? df->name : "";
    slot *sl = df != NULL ? &slots[df - D->fields] : NULL;
    occurrence o = {&f, path, path->len, name, 0, 1, 0, 0, buf, len};
    if (df != NULL && df->label == PROTOBUF_C_LABEL_REPEATED) {
      o.first_index = sl->count;
      rs__path_push_index(path, name, sl->count);
    } else {
      rs__path_push_field(path, name, f.number);
    }
    bool first = !in_list(reported, n_reported, f.number);
    /* Numbers convert to numbers and strings, bytes and messages to each
     * other whatever their wire types; anything else only keeps its bytes
     * where the target reads them as they are. */
    bool by_value = sf != NULL && df != NULL &&
                    is_numeric(sf->type) == is_numeric(df->type) &&
                    (f.wire_type == rs__field_wire_type(sf) ||
                     (f.wire_type == RS__WT_LEN && rs__is_packable(sf)));
    if (!rs__number_writable(f.number)) {
      if (first)
        rc = report(ctx, RS_LOSS_DROPPED, path->buf, f.number,
                    "field number %u is outside 1..2^29-1 and cannot be "
                    "written back; dropped",
                    (unsigned)f.number);
    } else if (df == NULL) {
      if (ctx->opts->flags & RS_OPT_DROP_UNKNOWN) {
        if (first)
          rc = report(ctx, RS_LOSS_DROPPED, path->buf, f.number,
                      "version %u has no field %u; dropped", ctx->to,
                      (unsigned)f.number);
      } else {
        rc = put(ctx, out, buf + f.tag_offset, f.end - f.tag_offset);
        if (rc == 0 && first) ctx->conv->kept_unknown++;
      }
    } else if (!by_value && sf != NULL && rs__wire_type_ok(df, f.wire_type)) {
      /* The reader would read these bytes, as something else. */
      if (first)
        rc = report(ctx, RS_LOSS_IMPOSSIBLE, path->buf, f.number,
                    "version %u reads field %u as %s; a %s value has no "
                    "faithful conversion to it",
                    ctx->to, (unsigned)f.number,
                    is_map(df) ? "a map" : rs__type_name(df->type),
                    rs__type_name(sf->type));
    } else if (!by_value && !rs__wire_type_ok(df, f.wire_type)) {
      if (first)
        rc = report(ctx, RS_LOSS_DROPPED, path->buf, f.number,
                    "version %u reads field %u as %s (wire type %u, %s), not "
                    "wire type %u (%s); dropped",
                    ctx->to, (unsigned)f.number, rs__type_name(df->type),
                    rs__field_wire_type(df),
                    rs__wire_type_name(rs__field_wire_type(df)), f.wire_type,
                    rs__wire_type_name(f.wire_type));
    } else {
      bool skip_it = false;
      if (sf != NULL && sf->label == PROTOBUF_C_LABEL_REPEATED &&
          df->label != PROTOBUF_C_LABEL_REPEATED) {
        /* A target that reads one value sees the last one written (a
         * message: all of them merged), so only the last is converted. */
        if (sl->last_plus1 == 0) {
          size_t last = f.tag_offset;
          sl->total = count_values(buf, len, f.tag_offset, f.number, sf, &last);
          sl->last_plus1 = last + 1;
          sl->first_tag = f.tag_offset;
        }
        skip_it = f.tag_offset + 1 != sl->last_plus1;
        o.trimmed = sl->total;
        o.first_tag = sl->first_tag;
      }
      if (!skip_it) rc = copy_field(g, sf, df, buf, &o, out);
    }
    if (sl != NULL) sl->count += o.n_elements;
    if (first && n_reported < 16) reported[n_reported++] = f.number;
    rs__path_pop(path, o.mark);
  }
  if (g->depth == 1) ctx->top = 0;
  if (slots != slots_small) rs__free(ctx->a, slots);
  if (rc == 0) rc = report_oneof_cleared(g, S, D, out, start, path);
  return rc;
}

/* ---- required fields the target lacks
 * ----------------------------------------- */

typedef struct placeholder {
  const ProtobufCFieldDescriptor *field;
  void *ptr; /* string, bytes data or message pointer as unpacked */
} placeholder;

/* Appends a zero value for each required field of D missing from bytes. */
static int add_placeholders(rs_convert_ctx *ctx,
                            const ProtobufCMessageDescriptor *D, rs_buf *out,
                            placeholder *ph, size_t *n_ph) {
  *n_ph = 0;
  for (unsigned i = 0; i < D->n_fields; i++) {
    const ProtobufCFieldDescriptor *df = &D->fields[i];
    if (df->label != PROTOBUF_C_LABEL_REQUIRED) continue;
    bool seen = false;
    size_t pos = 0;
    rs__wfield f;
    const char *why;
    while (!seen && pos < out->len &&
           rs__read_field(out->data, out->len, &pos, &f, &why) == 0)
      seen = f.number == df->id && rs__wire_type_ok(df, f.wire_type);
    if (seen) continue;
    if (*n_ph == RS__MAX_REQUIRED) return RS_ELIMIT;
    ph[(*n_ph)++].field = df;
    unsigned wt = rs__field_wire_type(df);
    static const uint8_t zeros[8] = {0};
    int rc = put_tag(ctx, out, df->id, wt);
    if (rc == 0)
      rc = wt == RS__WT_I64   ? put(ctx, out, zeros, 8)
           : wt == RS__WT_I32 ? put(ctx, out, zeros, 4)
                              : put_varint(ctx, out, 0);
    if (rc != 0) return rc;
  }
  return 0;
}

/* A singular string, bytes or message member's pointer; NULL when unset or
 * when it is a oneof member other than the one set (they share storage). */
static void *member_ptr(ProtobufCMessage *m,
                        const ProtobufCFieldDescriptor *f) {
  if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
      *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
    return NULL;
  char *member = (char *)m + f->offset;
  if (f->type == PROTOBUF_C_TYPE_BYTES)
    return ((ProtobufCBinaryData *)member)->data;
  if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
    return *(void **)member;
  return NULL;
}

static bool is_pointer_field(const ProtobufCFieldDescriptor *f) {
  return f->label != PROTOBUF_C_LABEL_REPEATED &&
         (f->type == PROTOBUF_C_TYPE_STRING ||
          f->type == PROTOBUF_C_TYPE_BYTES ||
          f->type == PROTOBUF_C_TYPE_MESSAGE);
}

/*
 * What the custom converter may overwrite: the singular pointer members of
 * the message being built, as they were before it ran. Any of them it
 * replaces (a placeholder, or a value the generic step copied) is released
 * afterwards, so converters never free anything themselves.
 */
typedef struct snapshot {
  void *small[64];
  void **ptrs; /* by field index */
} snapshot;

static int snapshot_take(rs_convert_ctx *ctx, snapshot *s,
                         ProtobufCMessage *m) {
  const ProtobufCMessageDescriptor *d = m->descriptor;
  s->ptrs = s->small;
  if (d->n_fields > 64) {
    s->ptrs = rs__alloc(ctx->a, d->n_fields * sizeof *s->ptrs);
    if (s->ptrs == NULL) return rs__budget_code(ctx->budget);
  }
  for (unsigned i = 0; i < d->n_fields; i++)
    s->ptrs[i] =
        is_pointer_field(&d->fields[i]) ? member_ptr(m, &d->fields[i]) : NULL;
  return 0;
}

static void snapshot_release(rs_convert_ctx *ctx, snapshot *s,
                             ProtobufCMessage *m) {
  const ProtobufCMessageDescriptor *d = m->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    void *old = s->ptrs[i];
    if (old == NULL || member_ptr(m, f) == old) continue;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE)
      protobuf_c_message_free_unpacked(old, RS__PA(ctx->a));
    else if (f->type == PROTOBUF_C_TYPE_STRING
                 ? old != f->default_value
                 : f->default_value == NULL ||
                       old != ((const ProtobufCBinaryData *)f->default_value)
                                  ->data)
      rs__free(ctx->a, old);
  }
  if (s->ptrs != s->small) rs__free(ctx->a, s->ptrs);
}

static bool scalar_is_zero(ProtobufCMessage *m,
                           const ProtobufCFieldDescriptor *f) {
  static const uint8_t zeros[8] = {0};
  size_t n = 4;
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
      n = 8;
      break;
    default:
      break;
  }
  return memcmp((char *)m + f->offset, zeros, n) == 0;
}

/* After the custom converter: placeholders it did not replace are impossible.
 */
static int check_placeholders(rs_convert_ctx *ctx, ProtobufCMessage *m,
                              const placeholder *ph, size_t n_ph) {
  for (size_t i = 0; i < n_ph; i++) {
    const ProtobufCFieldDescriptor *f = ph[i].field;
    bool replaced = is_pointer_field(f) ? member_ptr(m, f) != ph[i].ptr
                                        : !scalar_is_zero(m, f);
    if (replaced) continue;
    char path[300];
    snprintf(path, sizeof path, "%s(%u)", f->name, (unsigned)f->id);
    int rc =
        report(ctx, RS_LOSS_IMPOSSIBLE, path, f->id,
               "required by version %u and not set in the source", ctx->to);
    if (rc != 0) return rc;
  }
  return 0;
}

/* ---- one step and the chain
 * ---------------------------------------------------- */

static int pack_message(rs_convert_ctx *ctx, const ProtobufCMessage *m,
                        rs_buf *out) {
  size_t n = protobuf_c_message_get_packed_size(m);
  uint8_t *p = ctx->a->alloc(ctx->a->allocator_data, n ? n : 1);
  if (p == NULL) return rs__budget_code(ctx->budget);
  out->data = p;
  out->cap = n ? n : 1;
  out->len = protobuf_c_message_pack(m, p);
  return 0;
}

static int step(ProtobufCMessage **out, rs_convert_ctx *ctx, const rs__type *t,
                unsigned from, unsigned to, const ProtobufCMessage *src,
                rs_error *err) {
  const rs__version *sv = rs__type_version(t, from);
  const rs__version *dv = rs__type_version(t, to);
  const rs__conv *custom = rs__type_converter(t, from, to);
  ctx->from = from;
  ctx->to = to;
  *out = NULL;

  rs_buf in = RS_BUF_INIT, bytes = RS_BUF_INIT;
  rs__path path = {{0}, 0};
  placeholder ph[RS__MAX_REQUIRED];
  size_t n_ph = 0;
  gen_state g = {ctx, t, 1};
  /* The source is packed again rather than walked as stored: packing
   * normalises what protobuf-c resolved when it read it (the last of
   * repeated singular fields, the set oneof member, merged sub-messages), so
   * the generic step copies the values the custom converter sees in src. */
  int rc = pack_message(ctx, src, &in);
  if (rc == 0)
    rc = generic(&g, sv->desc, dv->desc, in.data, in.len, &path,
                 custom ? custom->c.handled_fields : NULL,
                 custom ? custom->c.n_handled_fields : 0, &bytes);
  if (rc == 0) rc = add_placeholders(ctx, dv->desc, &bytes, ph, &n_ph);
  ProtobufCMessage *dst = NULL;
  if (rc == 0) {
    rs_error uerr = RS_ERROR_INIT;
    rc = rs__unpack(&dst, dv->desc, bytes.data, bytes.len, 0, ctx->opts,
                    ctx->budget, &uerr);
    if (rc == RS_EDECODE) {
      rc = report(ctx, RS_LOSS_IMPOSSIBLE, "", 0,
                  "version %u cannot read the converted bytes: %s", to,
                  uerr.message);
      dst = NULL;
    } else if (rc != 0 && err != NULL) {
      *err = uerr;
    }
  }
  if (rc == 0 && dst != NULL) {
    for (size_t i = 0; i < n_ph; i++) ph[i].ptr = member_ptr(dst, ph[i].field);
    if (custom != NULL) {
      snapshot snap;
      rc = snapshot_take(ctx, &snap, dst);
      if (rc == 0) {
        rc = custom->c.fn(ctx, dst, src, custom->c.user_data);
        snapshot_release(ctx, &snap, dst); /* on failure too: dst is freed */
      }
    }
    if (rc == 0) rc = check_placeholders(ctx, dst, ph, n_ph);
  }
  rs__free(ctx->a, in.data);
  rs__free(ctx->a, bytes.data);
  if (rc != 0 || dst == NULL) {
    if (dst != NULL) protobuf_c_message_free_unpacked(dst, RS__PA(ctx->a));
    return rc;
  }
  *out = dst;
  return 0;
}

static int new_conversion(rs_conversion **out, const ProtobufCAllocator *a,
                          unsigned from, unsigned to) {
  rs_conversion *c = rs__alloc(a, sizeof *c);
  if (c == NULL) return RS_ENOMEM;
  c->a = a;
  c->from = from;
  c->to = to;
  c->result = RS_CONVERSION_LOSSLESS;
  /* Bounded: the least severe losses give way first (impossible ones stay). */
  rs__notes_init(&c->losses, a, RS__MAX_LOSSES);
  *out = c;
  return 0;
}

int rs__convert(ProtobufCMessage **out, rs_conversion **conv_out,
                const rs__type *t, unsigned from, unsigned to,
                const ProtobufCMessage *msg, const rs_options *opts,
                rs__budget *budget, rs_error *err) {
  *out = NULL;
  *conv_out = NULL;
  rs_conversion *conv;
  if (new_conversion(&conv, &budget->allocator, from, to) != 0)
    return rs__budget_fail(budget, err, "convert");
  /* The report outlives the call: it is freed through the backing allocator. */
  conv->a = budget->backing;
  conv->losses.a = &budget->allocator;
  rs_convert_ctx ctx = {&budget->allocator, budget, conv, opts, from, to, t, 0};

  ProtobufCMessage *cur = (ProtobufCMessage *)msg;
  unsigned at = from;
  int rc = 0;
  while (rc == 0 && at != to) {
    /* A direct custom converter wins; otherwise walk one version at a time. */
    unsigned next = rs__type_converter(t, at, to) != NULL ? to
                    : to > at                             ? at + 1
                                                          : at - 1;
    ProtobufCMessage *m = NULL;
    rc = step(&m, &ctx, t, at, next, cur, err);
    if (cur != msg)
      protobuf_c_message_free_unpacked(cur, RS__PA(budget->backing));
    cur = m;
    at = next;
    if (rc == 0 && conv->result == RS_CONVERSION_IMPOSSIBLE) break;
  }
  if (rc != 0) {
    if (cur != NULL && cur != msg)
      protobuf_c_message_free_unpacked(cur, RS__PA(budget->backing));
    rs_conversion_free(conv);
    if (budget->over || budget->oom)
      return rs__budget_fail(budget, err, "convert");
    return rs__fail(err, rc, RS_OFFSET_NONE, "%s version %u to %u: %s", t->name,
                    from, to, rs_strerror(rc));
  }
  conv->losses.a = budget->backing;
  if (conv->result == RS_CONVERSION_IMPOSSIBLE) {
    if (cur != NULL && cur != msg)
      protobuf_c_message_free_unpacked(cur, RS__PA(budget->backing));
    const rs__note *first = NULL;
    for (size_t i = 0; i < conv->losses.n && first == NULL; i++)
      if (conv->losses.items[i].kind == RS_LOSS_IMPOSSIBLE)
        first = &conv->losses.items[i];
    rs__fail(err, RS_ECONVERT, RS_OFFSET_NONE,
             "%s version %u to %u is impossible: %s%s%s", t->name, from, to,
             first && first->path[0] ? first->path : "",
             first && first->path[0] ? ": " : "", first ? first->text : "");
    *conv_out = conv;
    return RS_ECONVERT;
  }
  if (cur == msg) {
    /* from == to: nothing to do, but the caller owns *out; copy by re-unpack.
     */
    rs_buf tmp = RS_BUF_INIT;
    rc = pack_message(&ctx, msg, &tmp);
    if (rc == 0)
      rc = rs__unpack(&cur, msg->descriptor, tmp.data, tmp.len, 0, opts, budget,
                      err);
    rs__free(&budget->allocator, tmp.data);
    if (rc != 0) {
      rs_conversion_free(conv);
      return rc == RS_ENOMEM || rc == RS_ELIMIT
                 ? rs__budget_fail(budget, err, "convert")
                 : rc;
    }
  }
  *out = cur;
  *conv_out = conv;
  return 0;
}

/* Whether field f's occurrence ending at @p pos of a message's bytes is
 * kept by its reader: no later member of its oneof clears it and, unless it
 * is a message (whose occurrences merge), no later occurrence replaces
 * it. */
static bool occurrence_kept(const ProtobufCMessageDescriptor *D,
                            const ProtobufCFieldDescriptor *f,
                            const uint8_t *buf, size_t len, size_t pos) {
  rs__wfield g;
  const char *why;
  while (pos < len && rs__read_field(buf, len, &pos, &g, &why) == 0) {
    if (g.number == f->id) {
      if (f->type == PROTOBUF_C_TYPE_MESSAGE) continue;
      return false;
    }
    const ProtobufCFieldDescriptor *o =
        protobuf_c_message_descriptor_get_field(D, g.number);
    if (o != NULL && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        (o->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        o->quantifier_offset == f->quantifier_offset)
      return false;
  }
  return true;
}

/* rs__convert_nul_losses: the strings of message D's bytes, and of the
 * messages in them, that its reader keeps. */
static int nul_walk(rs_convert_ctx *ctx, const ProtobufCMessageDescriptor *D,
                    const uint8_t *buf, size_t len, rs__path *path,
                    unsigned depth) {
  if (depth > rs__levels(ctx->opts->max_depth)) return 0;
  size_t pos = 0;
  size_t count_small[32] = {0};
  int rc = 0;
  while (rc == 0 && pos < len) {
    rs__wfield f;
    const char *why;
    if (rs__read_field(buf, len, &pos, &f, &why) != 0) break;
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(D, f.number);
    if (fd == NULL || f.wire_type != RS__WT_LEN ||
        (fd->type != PROTOBUF_C_TYPE_STRING &&
         fd->type != PROTOBUF_C_TYPE_MESSAGE))
      continue;
    bool repeated = fd->label == PROTOBUF_C_LABEL_REPEATED;
    size_t index = 0;
    if (repeated && fd - D->fields < 32) {
      index = count_small[fd - D->fields]++;
    } else if (repeated) {
      /* The occurrences before this one (fields past the 32nd are rare). */
      size_t q = 0;
      rs__wfield g;
      while (q < f.tag_offset && rs__read_field(buf, len, &q, &g, &why) == 0)
        index += g.number == f.number;
    }
    if (depth == 1) ctx->top = f.number;
    size_t mark = repeated ? rs__path_push_index(path, fd->name, index)
                           : rs__path_push_field(path, fd->name, f.number);
    const uint8_t *v = buf + f.value_offset;
    bool kept = repeated || occurrence_kept(D, fd, buf, len, f.end);
    if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
      if (kept)
        rc = nul_walk(ctx, fd->descriptor, v, f.value_len, path, depth + 1);
    } else {
      const uint8_t *nul = memchr(v, 0, f.value_len);
      if (nul != NULL && kept) {
        char q[64], s[64];
        quote(v, f.value_len, q, sizeof q);
        quote(v, (size_t)(nul - v), s, sizeof s);
        rc = report(ctx, RS_LOSS_ALTERED, path->buf, fd->id,
                    "the string %s (%zu bytes) holds a NUL at byte %zu, where "
                    "protobuf-c's C string ends: the converted record holds "
                    "%s, as a protobuf-c reader sees it",
                    q, f.value_len, (size_t)(nul - v), s);
      }
    }
    rs__path_pop(path, mark);
    if (depth == 1) ctx->top = 0;
  }
  return rc;
}

int rs__convert_nul_losses(rs_conversion **conv, const rs__type *t,
                           unsigned from, unsigned to, const uint8_t *p,
                           size_t n, const rs_options *opts,
                           rs__budget *budget) {
  const rs__version *v = rs__type_version(t, from);
  if (v == NULL || !v->strings || memchr(p, 0, n) == NULL) return 0;
  rs_conversion *made = NULL;
  if (*conv == NULL) {
    if (new_conversion(&made, budget->backing, from, to) != 0) return RS_ENOMEM;
  }
  rs_convert_ctx ctx = {&budget->allocator, budget, made, opts, from, to, t, 0};
  if (*conv != NULL) ctx.conv = *conv;
  rs__path path = {{0}, 0};
  int rc = nul_walk(&ctx, v->desc, p, n, &path, 1);
  if (rc != 0 || made == NULL) {
    rs_conversion_free(made);
    return rc;
  }
  if (made->losses.n == 0) {
    rs_conversion_free(made);
    return 0;
  }
  *conv = made;
  return 0;
}

int rs_convert(ProtobufCMessage **out, rs_conversion **report_out,
               const rs_registry *registry, const char *type, unsigned from,
               unsigned to, const ProtobufCMessage *msg,
               const rs_options *options, rs_error *err) {
  if (out != NULL) *out = NULL;
  if (report_out != NULL) *report_out = NULL;
  if (out == NULL || registry == NULL || type == NULL || msg == NULL)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_convert: out, registry, type and msg are required");
  rs_options o;
  int rc = rs__options(&o, options, err);
  if (rc != 0) return rc;
  const rs__type *t = rs__registry_type(registry, type);
  if (t == NULL)
    return rs__fail(err, RS_ENOTFOUND, RS_OFFSET_NONE,
                    "record type %s is not in the registry", type);
  const rs__version *sv = rs__type_version(t, from);
  if (sv == NULL || rs__type_version(t, to) == NULL)
    return rs__fail(err, RS_ENOTFOUND, RS_OFFSET_NONE,
                    "%s has versions 1..%zu; cannot convert %u to %u", type,
                    t->n_versions, from, to);
  if (msg->descriptor != sv->desc)
    return rs__fail(err, RS_EMISMATCH, RS_OFFSET_NONE,
                    "message is %s, but version %u of %s is %s",
                    msg->descriptor->name, from, type, sv->desc->name);
  rs__budget budget;
  rs__budget_init(&budget, o.allocator, o.max_alloc);
  rs_conversion *conv = NULL;
  rc = rs__convert(out, &conv, t, from, to, msg, &o, &budget, err);
  if (report_out != NULL)
    *report_out = conv;
  else
    rs_conversion_free(conv);
  return rc;
}
