#define _POSIX_C_SOURCE 200809L
/*
 * The generic converter, by value: a record written by version 2 is
 * transcoded to version 1, and the bytes are read by protobuf-c with
 * version 1's descriptor, as an old reader would read them. The reader must
 * find the writer's value, or the one loss of the conversion must name the
 * field, the writer's value and exactly the value the reader finds; a value
 * with no faithful reading must make the conversion impossible, with a
 * reason.
 *
 * - numbers: every pair of the 14 numeric types (each a field of its own in
 *   a schema built at run time), each source type with its boundary values.
 *   The expected reading is computed here from C's own conversions (casts
 *   for integers, long double for exactness), not from the converter's;
 * - packed and unpacked repeated fields, repeated to singular and back;
 * - strings, bytes, messages and maps into each other (proto3, where
 *   strings must be UTF-8).
 * The version 2 records are packed by protobuf-c from messages built with
 * the version 2 descriptors.
 */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

/* ---- schemas built at run time -------------------------------------------
 */

typedef struct schema_pair {
  rs_schema *v1, *v2;
  rs_registry *reg;
  const char *type;
} schema_pair;

static void pair_load(schema_pair *p, const char *type, const char *v1_text,
                      const char *v2_text) {
  char dir[] = "/tmp/rs-convert-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  p->v1 = rs_test_schema_text(dir, "v1.proto", v1_text);
  p->v2 = rs_test_schema_text(dir, "v2.proto", v2_text);
  rmdir(dir);
  rs_registry_builder *b = NULL;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(rs_registry_builder_new(&b, NULL, &err), 0);
  const rs_schema *vs[] = {p->v1, p->v2};
  int rc = rs_schema_register(b, type, vs, 2, NULL, &err);
  ck_assert_msg(rc == 0, "%s", err.message);
  ck_assert_int_eq(rs_registry_build(&p->reg, b, &err), 0);
  p->type = type;
}

static void pair_free(schema_pair *p) {
  rs_registry_free(p->reg);
  rs_schema_free(p->v1);
  rs_schema_free(p->v2);
}

static const ProtobufCMessageDescriptor *desc(const rs_schema *s,
                                              const char *name) {
  const ProtobufCMessageDescriptor *d = NULL;
  rs_error err = RS_ERROR_INIT;
  ck_assert_msg(rs_schema_find_message(&d, s, name, &err) == 0, "%s",
                err.message);
  return d;
}

static ProtobufCMessage *new_msg(const ProtobufCMessageDescriptor *d) {
  ProtobufCMessage *m = calloc(1, d->sizeof_message);
  ck_assert_ptr_nonnull(m);
  rs_message_init(d, m);
  return m;
}

static const ProtobufCFieldDescriptor *field(
    const ProtobufCMessageDescriptor *d, uint32_t number) {
  const ProtobufCFieldDescriptor *f =
      protobuf_c_message_descriptor_get_field(d, number);
  ck_assert_msg(f != NULL, "%s has no field %u", d->name, (unsigned)number);
  return f;
}

static void *member(const ProtobufCMessage *m, uint32_t number) {
  return (char *)m + field(m->descriptor, number)->offset;
}

/* Marks an optional scalar or bytes field present (proto2, has_). */
static void set_has(ProtobufCMessage *m, uint32_t number) {
  const ProtobufCFieldDescriptor *f = field(m->descriptor, number);
  if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0)
    *(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
}

static bool has(const ProtobufCMessage *m, uint32_t number) {
  const ProtobufCFieldDescriptor *f = field(m->descriptor, number);
  if (f->label != PROTOBUF_C_LABEL_OPTIONAL || f->quantifier_offset == 0)
    return true;
  return *(const protobuf_c_boolean *)((const char *)m + f->quantifier_offset);
}

/* A repeated field's array, with *n elements. */
static void *elements(const ProtobufCMessage *m, uint32_t number, size_t *n) {
  const ProtobufCFieldDescriptor *f = field(m->descriptor, number);
  ck_assert_int_eq(f->label, PROTOBUF_C_LABEL_REPEATED);
  *n = *(const size_t *)((const char *)m + f->quantifier_offset);
  return *(void **)((char *)m + f->offset);
}

static void set_elements(ProtobufCMessage *m, uint32_t number, void *array,
                         size_t n) {
  const ProtobufCFieldDescriptor *f = field(m->descriptor, number);
  *(size_t *)((char *)m + f->quantifier_offset) = n;
  *(void **)((char *)m + f->offset) = array;
}

/* The result of transcoding one version 2 message to version 1. */
typedef struct outcome {
  int rc;
  rs_error err;
  rs_conversion *conv;
  ProtobufCMessage *v1; /* protobuf-c's reading of the converted bytes */
} outcome;

/* Transcodes a stored record with reg and reads the result as version 1. */
static void transcode_record(outcome *o, const schema_pair *p,
                             const rs_registry *reg, const uint8_t *rec,
                             size_t len) {
  memset(o, 0, sizeof *o);
  rs_buf out = RS_BUF_INIT;
  /* Every record here is version 2's; raw ones say so. */
  rs_options opts = RS_OPTIONS_INIT;
  opts.raw_writer = 2;
  o->rc = rs_transcode(&out, &o->conv, reg, p->type, 1, rec, len, NULL, &opts,
                       &o->err);
  if (o->rc == 0) {
    o->v1 = protobuf_c_message_unpack(desc(p->v1, p->type), NULL, out.len,
                                      out.data);
    ck_assert_msg(o->v1 != NULL, "protobuf-c cannot read the converted bytes");
  }
  rs_buf_dispose(&out, NULL);
}

static void transcode(outcome *o, const schema_pair *p,
                      const ProtobufCMessage *v2) {
  rs_buf in = RS_BUF_INIT;
  rs_error err = RS_ERROR_INIT;
  ck_assert_msg(rs_encode(&in, p->reg, p->type, 2, v2, NULL, NULL, &err) == 0,
                "%s", err.message);
  transcode_record(o, p, p->reg, in.data, in.len);
  rs_buf_dispose(&in, NULL);
}

static void outcome_free(outcome *o) {
  if (o->v1 != NULL) protobuf_c_message_free_unpacked(o->v1, NULL);
  rs_conversion_free(o->conv);
}

static size_t loss_count(const outcome *o) {
  return rs_conversion_loss_count(o->conv);
}

/* The only loss, which must be of this kind and path. */
static const char *only_loss(const outcome *o, rs_loss_kind kind,
                             const char *path) {
  ck_assert_msg(
      loss_count(o) == 1, "%s: %zu losses, want 1 (first: %s)", path,
      loss_count(o),
      loss_count(o) ? rs_loss_text(rs_conversion_loss(o->conv, 0)) : "none");
  const rs_loss *l = rs_conversion_loss(o->conv, 0);
  ck_assert_msg(
      rs_loss_kind_of(l) == kind && strcmp(rs_loss_path(l), path) == 0,
      "loss %s at %s (%s), want %s at %s",
      rs_loss_kind_name(rs_loss_kind_of(l)), rs_loss_path(l), rs_loss_text(l),
      rs_loss_kind_name(kind), path);
  return rs_loss_text(l);
}

static void expect_impossible(const outcome *o, const char *path,
                              const char *why) {
  ck_assert_msg(o->rc == RS_ECONVERT, "%s: %s, want RS_ECONVERT", path,
                rs_error_name(o->rc));
  ck_assert_int_eq(rs_conversion_result_of(o->conv), RS_CONVERSION_IMPOSSIBLE);
  const rs_loss *l = rs_test_loss(o->conv, path);
  ck_assert_msg(l != NULL, "no loss at %s (err: %s)", path, o->err.message);
  ck_assert_int_eq(rs_loss_kind_of(l), RS_LOSS_IMPOSSIBLE);
  ck_assert_msg(strstr(rs_loss_text(l), why) != NULL, "%s: \"%s\" lacks \"%s\"",
                path, rs_loss_text(l), why);
  ck_assert_msg(strstr(o->err.message, why) != NULL, "err \"%s\" lacks \"%s\"",
                o->err.message, why);
}

static void expect_lossless(const outcome *o, const char *what) {
  ck_assert_msg(o->rc == 0, "%s: %s (%s)", what, rs_error_name(o->rc),
                o->err.message);
  ck_assert_msg(loss_count(o) == 0, "%s: lossless expected, got: %s", what,
                rs_loss_text(rs_conversion_loss(o->conv, 0)));
  ck_assert_int_eq(rs_conversion_result_of(o->conv), RS_CONVERSION_LOSSLESS);
}

/* ---- numbers: every type into every type ----------------------------------
 */

enum { NT = 14 };
static const char *const type_names[NT] = {
    "int32", "int64",   "uint32",  "uint64",   "sint32",   "sint64", "bool",
    "E",     "fixed32", "fixed64", "sfixed32", "sfixed64", "float",  "double"};
static const ProtobufCType types[NT] = {
    PROTOBUF_C_TYPE_INT32,   PROTOBUF_C_TYPE_INT64,    PROTOBUF_C_TYPE_UINT32,
    PROTOBUF_C_TYPE_UINT64,  PROTOBUF_C_TYPE_SINT32,   PROTOBUF_C_TYPE_SINT64,
    PROTOBUF_C_TYPE_BOOL,    PROTOBUF_C_TYPE_ENUM,     PROTOBUF_C_TYPE_FIXED32,
    PROTOBUF_C_TYPE_FIXED64, PROTOBUF_C_TYPE_SFIXED32, PROTOBUF_C_TYPE_SFIXED64,
    PROTOBUF_C_TYPE_FLOAT,   PROTOBUF_C_TYPE_DOUBLE};

static const int32_t enum_values[] = {0, 1, 2, -1, INT32_MAX, INT32_MIN};

static uint32_t pair_field(int s, int d) {
  return (uint32_t)(s * NT + d + 1);
}

static const char numbers_extra_v2[] =
    "  repeated int64 f201 = 201 [packed = true];\n"
    "  repeated sint32 f202 = 202;\n"
    "  repeated fixed64 f203 = 203 [packed = true];\n"
    "  optional int32 f204 = 204;\n"
    "  repeated string f205 = 205;\n"
    "  repeated float f206 = 206 [packed = true];\n"
    "  repeated double f207 = 207;\n"
    "  repeated Inner f208 = 208;\n"
    "  optional double f209 = 209;\n"
    "  optional Inner f210 = 210;\n"
    "  optional int64 f211 = 211;\n"
    "}\n"
    "message Inner { optional int32 a = 1; optional int32 b = 2; }\n";
static const char numbers_extra_v1[] =
    "  repeated double f201 = 201;\n"
    "  repeated int64 f202 = 202 [packed = true];\n"
    "  optional double f203 = 203;\n"
    "  repeated int32 f204 = 204;\n"
    "  optional string f205 = 205;\n"
    "  repeated float f206 = 206;\n"
    "  optional float f207 = 207;\n"
    "  optional Inner f208 = 208;\n"
    "  repeated int32 f209 = 209 [packed = true];\n"
    "  optional int64 f210 = 210;\n"
    "  optional string f211 = 211;\n"
    "}\n"
    "message Inner { optional int32 a = 1; optional int32 b = 2; }\n";

/* Version v of t.M: field pair_field(s, d) has type s in version 2 and d in
 * version 1, for every pair; fields 201.. for repeated fields. */
static char *numbers_proto(int v) {
  size_t cap = 64 * 1024, n = 0;
  char *t = malloc(cap);
  ck_assert_ptr_nonnull(t);
  n += (size_t)snprintf(t + n, cap - n,
                        "syntax = \"proto2\";\npackage t.v%d;\n"
                        "enum E { Z = 0; ONE = 1; TWO = 2; NEG = -1;\n"
                        "  MAX = 2147483647; MIN = -2147483648; }\n"
                        "message M {\n",
                        v);
  for (int s = 0; s < NT; s++)
    for (int d = 0; d < NT; d++)
      n += (size_t)snprintf(t + n, cap - n, "  optional %s f%u = %u;\n",
                            type_names[v == 2 ? s : d],
                            (unsigned)pair_field(s, d),
                            (unsigned)pair_field(s, d));
  snprintf(t + n, cap - n, "%s", v == 2 ? numbers_extra_v2 : numbers_extra_v1);
  return t;
}

static void numbers_load(schema_pair *p) {
  char *v1 = numbers_proto(1), *v2 = numbers_proto(2);
  pair_load(p, "t.M", v1, v2);
  free(v1);
  free(v2);
}

/* A writer's value: an integer (signed or not) or a floating value. */
typedef struct wval {
  enum { W_INT, W_UINT, W_FP } kind;
  int64_t i;
  uint64_t u;
  double d;
} wval;

static wval wi(int64_t v) {
  wval w = {W_INT, v, 0, 0};
  return w;
}
static wval wu(uint64_t v) {
  wval w = {W_UINT, 0, v, 0};
  return w;
}
static wval wf(double v) {
  wval w = {W_FP, 0, 0, v};
  return w;
}

static long double wval_ld(wval w) {
  return w.kind == W_INT    ? (long double)w.i
         : w.kind == W_UINT ? (long double)w.u
                            : (long double)w.d;
}

/* Boundary values each source type can hold. */
static size_t writer_values(ProtobufCType t, wval *out) {
  size_t n = 0;
  const double fmax = (double)FLT_MAX;
  switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: {
      static const int64_t v[] = {0,         1,         -1,       2,
                                  INT32_MAX, INT32_MIN, 16777217, -16777217};
      for (size_t i = 0; i < sizeof v / sizeof *v; i++) out[n++] = wi(v[i]);
      return n;
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
      static const int64_t v[] = {0,
                                  1,
                                  -1,
                                  (int64_t)INT32_MAX + 1,
                                  (int64_t)INT32_MIN - 1,
                                  INT64_MAX,
                                  INT64_MIN,
                                  ((int64_t)1 << 53) + 1,
                                  (int64_t)1 << 53,
                                  INT64_C(7000000000),
                                  INT64_C(-7000000000),
                                  16777217,
                                  2};
      for (size_t i = 0; i < sizeof v / sizeof *v; i++) out[n++] = wi(v[i]);
      return n;
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: {
      static const uint64_t v[] = {0, 1, UINT32_MAX, 2147483648u, 16777217, 2};
      for (size_t i = 0; i < sizeof v / sizeof *v; i++) out[n++] = wu(v[i]);
      return n;
    }
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
      static const uint64_t v[] = {0,
                                   1,
                                   UINT64_MAX,
                                   (uint64_t)1 << 63,
                                   ((uint64_t)1 << 53) + 1,
                                   UINT64_C(7000000000),
                                   UINT64_C(4294967296),
                                   2};
      for (size_t i = 0; i < sizeof v / sizeof *v; i++) out[n++] = wu(v[i]);
      return n;
    }
    case PROTOBUF_C_TYPE_BOOL:
      out[n++] = wu(0);
      out[n++] = wu(1);
      return n;
    case PROTOBUF_C_TYPE_ENUM:
      for (size_t i = 0; i < sizeof enum_values / sizeof *enum_values; i++)
        out[n++] = wi(enum_values[i]);
      return n;
    case PROTOBUF_C_TYPE_FLOAT: {
      static const float v[] = {
          0.0f,          -0.0f,          1.5f,          -1.0f,    0.1f,
          2.0f,          16777216.0f,    FLT_MAX,       -FLT_MAX, FLT_TRUE_MIN,
          2147483648.0f, -2147483648.0f, 4294967296.0f, 1e10f,    -0.5f};
      for (size_t i = 0; i < sizeof v / sizeof *v; i++) out[n++] = wf(v[i]);
      out[n++] = wf(NAN);
      out[n++] = wf(INFINITY);
      out[n++] = wf(-INFINITY);
      return n;
    }
    default: {
      static const double v[] = {0.0,
                                 -0.0,
                                 0.1,
                                 2.5,
                                 -2.5,
                                 2.0,
                                 7000000000.0,
                                 9007199254740992.0,
                                 1e300,
                                 -1e300,
                                 DBL_TRUE_MIN,
                                 9223372036854775808.0,
                                 -9223372036854775808.0,
                                 18446744073709551616.0,
                                 4294967295.0,
                                 2147483647.0,
                                 -2147483649.0,
                                 16777217.0,
                                 1e-50};
      for (size_t i = 0; i < sizeof v / sizeof *v; i++) out[n++] = wf(v[i]);
      out[n++] = wf(fmax);
      out[n++] = wf(fmax + 0x1p102); /* rounds to FLT_MAX */
      out[n++] = wf(fmax + 0x1p103); /* halfway to 2^128: infinity */
      out[n++] = wf(NAN);
      out[n++] = wf(INFINITY);
      out[n++] = wf(-INFINITY);
      return n;
    }
  }
}

static void set_number(ProtobufCMessage *m, uint32_t number, ProtobufCType t,
                       wval w) {
  void *p = member(m, number);
  int64_t i = w.kind == W_INT ? w.i : (int64_t)w.u;
  uint64_t u = w.kind == W_UINT ? w.u : (uint64_t)w.i;
  switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
      *(int32_t *)p = (int32_t)i;
      break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
      *(int64_t *)p = i;
      break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      *(uint32_t *)p = (uint32_t)u;
      break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      *(uint64_t *)p = u;
      break;
    case PROTOBUF_C_TYPE_BOOL:
      *(protobuf_c_boolean *)p = u != 0;
      break;
    case PROTOBUF_C_TYPE_FLOAT:
      *(float *)p = (float)w.d;
      break;
    default:
      *(double *)p = w.d;
      break;
  }
  set_has(m, number);
}

/* A value as a reader of type t holds it, widened to long double. */
static long double get_number(const ProtobufCMessage *m, uint32_t number,
                              ProtobufCType t) {
  const void *p = member(m, number);
  switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
      return *(const int32_t *)p;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
      return (long double)*(const int64_t *)p;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      return *(const uint32_t *)p;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      return (long double)*(const uint64_t *)p;
    case PROTOBUF_C_TYPE_BOOL:
      return *(const protobuf_c_boolean *)p != 0;
    case PROTOBUF_C_TYPE_FLOAT:
      return *(const float *)p;
    default:
      return *(const double *)p;
  }
}

/*
 * What a reader of type t should see of w, by C's rules: integers cast
 * (bool: != 0), floating values rounded to nearest, finite floating values
 * into integers toward zero and held at the type's bounds. Returns false
 * for NaN and infinities into integer types (impossible).
 */
static bool expected_reading(ProtobufCType t, wval w, long double *out) {
  long double x = wval_ld(w);
  if (t == PROTOBUF_C_TYPE_DOUBLE) {
    *out = w.kind == W_FP    ? (long double)w.d
           : w.kind == W_INT ? (long double)(double)w.i
                             : (long double)(double)w.u;
    return true;
  }
  if (t == PROTOBUF_C_TYPE_FLOAT) {
    if (w.kind == W_INT) {
      *out = (float)w.i;
    } else if (w.kind == W_UINT) {
      *out = (float)w.u;
    } else if (isnan(w.d) || isinf(w.d) || fabs(w.d) <= FLT_MAX) {
      *out = (float)w.d;
    } else {
      /* IEEE round to nearest, even on ties: FLT_MAX up to the halfway
       * point to 2^128, an infinity from there. */
      long double inf = w.d < 0 ? -INFINITY : INFINITY;
      long double big = w.d < 0 ? -FLT_MAX : FLT_MAX;
      *out = fabsl(x) < (long double)FLT_MAX + 0x1p103L ? big : inf;
    }
    return true;
  }
  if (w.kind == W_FP && (isnan(w.d) || isinf(w.d))) return false;
  if (t == PROTOBUF_C_TYPE_BOOL) {
    *out = x != 0;
    return true;
  }
  long double lo, hi; /* hi exclusive */
  bool is_signed = true;
  switch (t) {
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      is_signed = false;
      lo = 0, hi = 0x1p32L;
      break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      is_signed = false;
      lo = 0, hi = 0x1p64L;
      break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
      lo = -0x1p63L, hi = 0x1p63L;
      break;
    default:
      lo = -0x1p31L, hi = 0x1p31L;
      break;
  }
  if (w.kind != W_FP) {
    /* C's conversion to the narrower type: modulo 2^bits. */
    uint64_t bits = w.kind == W_INT ? (uint64_t)w.i : w.u;
    if (hi == 0x1p32L)
      *out = (uint32_t)bits;
    else if (hi == 0x1p64L)
      *out = (long double)bits;
    else if (hi == 0x1p63L)
      *out = (long double)(int64_t)bits;
    else
      *out = (int32_t)(uint32_t)bits;
    return true;
  }
  (void)is_signed;
  long double tz = truncl(x);
  *out = tz < lo ? lo : tz >= hi ? hi - 1 : tz;
  if (*out == 0) *out = 0; /* an integer has no -0 */
  return true;
}

static bool same_reading(long double a, long double b) {
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  return a == b && signbit(a) == signbit(b);
}

/* A value as the loss text writes it, read back. */
static long double parse_value(const char *s) {
  if (strncmp(s, "true", 4) == 0) return 1;
  if (strncmp(s, "false", 5) == 0) return 0;
  return strtold(s, NULL);
}

/* The value as a type of t holds it (float and double round). */
static long double as_type(ProtobufCType t, long double v) {
  if (t == PROTOBUF_C_TYPE_FLOAT) return (float)v;
  if (t == PROTOBUF_C_TYPE_DOUBLE) return (double)v;
  return v;
}

typedef struct tally {
  size_t lossless, altered, impossible;
} tally;

/*
 * Field f<s,d> holding w, written by protobuf-c (py NULL) or the record py
 * (py_len bytes, raw, written by Python; converted with raw_reg, where
 * version 2 is raw too), converted to version 1 and read by protobuf-c.
 */
static void check_number_pair(const schema_pair *p, int s, int d, wval w,
                              const rs_registry *raw_reg, const uint8_t *py,
                              size_t py_len, tally *t) {
  ProtobufCType st = types[s], dt = types[d];
  uint32_t num = pair_field(s, d);
  char path[32];
  snprintf(path, sizeof path, "f%u(%u)", (unsigned)num, (unsigned)num);
  char what[160];
  snprintf(what, sizeof what, "%s %.21Lg into %s (%s)", type_names[s],
           wval_ld(w), type_names[d], path);

  ProtobufCMessage *m = new_msg(desc(p->v2, "t.M"));
  set_number(m, num, st, w);
  /* The writer's value as the source type holds it. */
  long double written = get_number(m, num, st);
  wval wr = w;
  if (st == PROTOBUF_C_TYPE_FLOAT) wr.d = *(float *)member(m, num);
  outcome o;
  if (py == NULL) {
    transcode(&o, p, m);
  } else {
    /* protobuf-c reads Python's record as the writer's value. */
    ProtobufCMessage *r =
        protobuf_c_message_unpack(desc(p->v2, "t.M"), NULL, py_len, py);
    ck_assert_msg(r != NULL, "%s: protobuf-c cannot read Python's record",
                  what);
    ck_assert_msg(same_reading(get_number(r, num, st), written),
                  "%s: Python wrote %.21Lg", what, get_number(r, num, st));
    protobuf_c_message_free_unpacked(r, NULL);
    transcode_record(&o, p, raw_reg, py, py_len);
  }
  free(m);

  long double want;
  bool possible = expected_reading(dt, wr, &want);
  if (possible && dt == PROTOBUF_C_TYPE_ENUM) {
    possible = false;
    for (size_t i = 0; i < sizeof enum_values / sizeof *enum_values; i++)
      possible |= want == enum_values[i];
  }
  if (!possible) {
    expect_impossible(
        &o, path,
        dt == PROTOBUF_C_TYPE_ENUM && !isnan(written) && !isinf(written)
            ? "is not in"
            : "has no");
    t->impossible++;
    outcome_free(&o);
    return;
  }
  ck_assert_msg(o.rc == 0, "%s: %s (%s)", what, rs_error_name(o.rc),
                o.err.message);
  ck_assert_msg(has(o.v1, num), "%s: the reader finds no value", what);
  long double seen = get_number(o.v1, num, dt);
  ck_assert_msg(same_reading(seen, want),
                "%s: the reader sees %.21Lg, want %.21Lg", what, seen, want);
  if (same_reading(want, written) || (isnan(want) && isnan(written))) {
    expect_lossless(&o, what);
    t->lossless++;
  } else {
    const char *text = only_loss(&o, RS_LOSS_ALTERED, path);
    ck_assert_int_eq(rs_conversion_result_of(o.conv), RS_CONVERSION_LOSSY);
    /* "<type> value <writer's> does not fit <type>; the reader sees <X>" */
    const char *a = strstr(text, " value ");
    const char *b = strstr(text, "the reader sees ");
    ck_assert_msg(a != NULL && b != NULL, "%s: loss text \"%s\"", what, text);
    long double named_w = as_type(st, parse_value(a + 7));
    long double named_r = as_type(dt, parse_value(b + 16));
    ck_assert_msg(same_reading(named_w, written),
                  "%s: the loss names the writer's value %.21Lg: \"%s\"", what,
                  named_w, text);
    ck_assert_msg(same_reading(named_r, seen),
                  "%s: the loss names the reader's value %.21Lg, it sees "
                  "%.21Lg: \"%s\"",
                  what, named_r, seen, text);
    t->altered++;
  }
  outcome_free(&o);
}

START_TEST(every_numeric_type_into_every_other_by_value) {
  schema_pair p;
  numbers_load(&p);
  tally t = {0, 0, 0};
  for (int s = 0; s < NT; s++)
    for (int d = 0; d < NT; d++) {
      wval ws[32];
      size_t n = writer_values(types[s], ws);
      for (size_t i = 0; i < n; i++)
        check_number_pair(&p, s, d, ws[i], NULL, NULL, 0, &t);
    }
  printf("numbers: %zu lossless, %zu altered, %zu impossible\n", t.lossless,
         t.altered, t.impossible);
  ck_assert_uint_gt(t.lossless, 0);
  ck_assert_uint_gt(t.altered, 0);
  ck_assert_uint_gt(t.impossible, 0);
  pair_free(&p);
}
END_TEST

/*
 * The same cases with records written by Python's protobuf
 * (tests/fixtures/convert/write_records.py): /usr/bin/python3, or
 * $RS_TEST_PYTHON, with google.protobuf, and protoc. Without them the test
 * fails and says so; it never passes without having run.
 */
START_TEST(python_written_numbers_convert_by_value) {
  schema_pair p;
  numbers_load(&p);
  char dir[] = "/tmp/rs-convert-py-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char path[512];
  char *v2 = numbers_proto(2);
  snprintf(path, sizeof path, "%s/v2.proto", dir);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(v2, f);
  ck_assert_int_eq(fclose(f), 0);
  free(v2);
  snprintf(path, sizeof path, "%s/cases.txt", dir);
  f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  size_t n_cases = 0;
  for (int s = 0; s < NT; s++)
    for (int d = 0; d < NT; d++) {
      wval ws[32];
      size_t n = writer_values(types[s], ws);
      for (size_t i = 0; i < n; i++, n_cases++) {
        unsigned num = (unsigned)pair_field(s, d);
        if (ws[i].kind == W_FP) {
          uint64_t bits;
          memcpy(&bits, &ws[i].d, sizeof bits);
          fprintf(f, "%u f %016llx\n", num, (unsigned long long)bits);
        } else if (types[s] == PROTOBUF_C_TYPE_BOOL) {
          fprintf(f, "%u b %llu\n", num, (unsigned long long)ws[i].u);
        } else if (ws[i].kind == W_INT) {
          fprintf(f, "%u i %lld\n", num, (long long)ws[i].i);
        } else {
          fprintf(f, "%u i %llu\n", num, (unsigned long long)ws[i].u);
        }
      }
    }
  ck_assert_int_eq(fclose(f), 0);
  const char *python = getenv("RS_TEST_PYTHON");
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "%s %s %s",
           python != NULL ? python : "/usr/bin/python3",
           rs_test_fixture("convert/write_records.py"), dir);
  int status = system(cmd);
  ck_assert_msg(status == 0,
                "%s failed (status %d): Python's protobuf (Debian "
                "python3-protobuf) and protoc are needed",
                cmd, status);
  snprintf(path, sizeof path, "%s/records.bin", dir);
  uint8_t *recs;
  size_t len;
  rs_test_read_file(path, &recs, &len);
  unlink(path);
  snprintf(path, sizeof path, "%s/cases.txt", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/v2.proto", dir);
  unlink(path);
  rmdir(dir);

  /* Both versions raw: the records are converted as Python wrote them. */
  rs_registry_builder *b = NULL;
  rs_registry *raw = NULL;
  ck_assert_int_eq(rs_registry_builder_new(&b, NULL, NULL), 0);
  ck_assert_int_eq(rs_registry_builder_add_version(
                       b, "t.M", 1, desc(p.v1, "t.M"), RS_ENCODING_RAW, NULL),
                   0);
  ck_assert_int_eq(rs_registry_builder_add_version(
                       b, "t.M", 2, desc(p.v2, "t.M"), RS_ENCODING_RAW, NULL),
                   0);
  ck_assert_int_eq(rs_registry_build(&raw, b, NULL), 0);

  tally t = {0, 0, 0};
  size_t pos = 0, seen = 0;
  for (int s = 0; s < NT; s++)
    for (int d = 0; d < NT; d++) {
      wval ws[32];
      size_t n = writer_values(types[s], ws);
      for (size_t i = 0; i < n; i++, seen++) {
        uint64_t rlen = 0;
        for (unsigned shift = 0; pos < len; shift += 7) {
          rlen |= (uint64_t)(recs[pos] & 0x7f) << shift;
          if ((recs[pos++] & 0x80) == 0) break;
        }
        ck_assert_msg(rlen <= len - pos, "records.bin ends at case %zu", seen);
        check_number_pair(&p, s, d, ws[i], raw, recs + pos, (size_t)rlen, &t);
        pos += (size_t)rlen;
      }
    }
  ck_assert_uint_eq(seen, n_cases);
  ck_assert_uint_eq(pos, len);
  printf(
      "numbers written by Python: %zu lossless, %zu altered, %zu "
      "impossible\n",
      t.lossless, t.altered, t.impossible);
  free(recs);
  rs_registry_free(raw);
  pair_free(&p);
}
END_TEST

/* The case that started it: a fixed64 read by the old version as a double
 * was copied bit for bit, and read as 3.458e-314. */
START_TEST(fixed64_into_double_keeps_the_value) {
  schema_pair p;
  numbers_load(&p);
  uint32_t num = pair_field(9, 13); /* fixed64 -> double */
  ProtobufCMessage *m = new_msg(desc(p.v2, "t.M"));
  set_number(m, num, PROTOBUF_C_TYPE_FIXED64, wu(UINT64_C(7000000000)));
  outcome o;
  transcode(&o, &p, m);
  expect_lossless(&o, "fixed64 7000000000 into double");
  ck_assert(*(double *)member(o.v1, num) == 7000000000.0);
  outcome_free(&o);
  /* 2^53 + 1 has no double: altered, and the reader sees 2^53. */
  set_number(m, num, PROTOBUF_C_TYPE_FIXED64, wu(((uint64_t)1 << 53) + 1));
  transcode(&o, &p, m);
  const char *text = only_loss(&o, RS_LOSS_ALTERED, "f140(140)");
  ck_assert_ptr_nonnull(strstr(text, "9007199254740993"));
  ck_assert_ptr_nonnull(strstr(text, "the reader sees 9007199254740992"));
  ck_assert(*(double *)member(o.v1, num) == 9007199254740992.0);
  outcome_free(&o);
  free(m);
  pair_free(&p);
}
END_TEST

/* ---- repeated fields ------------------------------------------------------
 */

START_TEST(packed_unpacked_and_repeated_to_singular) {
  schema_pair p;
  numbers_load(&p);
  const ProtobufCMessageDescriptor *d2 = desc(p.v2, "t.M");
  const ProtobufCMessageDescriptor *inner2 = desc(p.v2, "t.Inner");
  outcome o;
  size_t n;

  /* Packed int64 into repeated double, element by element. */
  ProtobufCMessage *m = new_msg(d2);
  int64_t r201[] = {1, ((int64_t)1 << 53) + 1, -3};
  set_elements(m, 201, r201, 3);
  transcode(&o, &p, m);
  const char *text = only_loss(&o, RS_LOSS_ALTERED, "f201[1]");
  ck_assert_ptr_nonnull(strstr(text, "9007199254740993"));
  double *d201 = elements(o.v1, 201, &n);
  ck_assert_uint_eq(n, 3);
  ck_assert(d201[0] == 1.0 && d201[1] == 9007199254740992.0 && d201[2] == -3.0);
  outcome_free(&o);
  free(m);

  /* Unpacked sint32 into packed int64: every value. */
  m = new_msg(d2);
  int32_t r202[] = {-1, INT32_MAX, INT32_MIN, 0};
  set_elements(m, 202, r202, 4);
  transcode(&o, &p, m);
  expect_lossless(&o, "sint32 into int64");
  int64_t *i202 = elements(o.v1, 202, &n);
  ck_assert_uint_eq(n, 4);
  for (size_t i = 0; i < 4; i++) ck_assert_int_eq(i202[i], r202[i]);
  outcome_free(&o);
  free(m);

  /* Packed fixed64 into one double: the last value, the rest declared. */
  m = new_msg(d2);
  uint64_t r203[] = {UINT64_C(7000000000), 5};
  set_elements(m, 203, r203, 2);
  transcode(&o, &p, m);
  text = only_loss(&o, RS_LOSS_ALTERED, "f203(203)");
  ck_assert_ptr_nonnull(strstr(text, "2 values"));
  ck_assert_ptr_nonnull(strstr(text, "the last, 5"));
  ck_assert_ptr_nonnull(strstr(text, "(the first 7000000000)"));
  ck_assert(*(double *)member(o.v1, 203) == 5.0);
  outcome_free(&o);
  set_elements(m, 203, r203, 1); /* one value: nothing lost */
  transcode(&o, &p, m);
  expect_lossless(&o, "one fixed64 into double");
  ck_assert(has(o.v1, 203) && *(double *)member(o.v1, 203) == 7000000000.0);
  outcome_free(&o);
  free(m);

  /* Singular into repeated. */
  m = new_msg(d2);
  *(int32_t *)member(m, 204) = -5;
  set_has(m, 204);
  transcode(&o, &p, m);
  expect_lossless(&o, "int32 into repeated int32");
  int32_t *i204 = elements(o.v1, 204, &n);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(i204[0], -5);
  outcome_free(&o);
  free(m);

  /* Repeated strings into one string. */
  m = new_msg(d2);
  char *r205[] = {"a", "b", "c"};
  set_elements(m, 205, r205, 3);
  transcode(&o, &p, m);
  text = only_loss(&o, RS_LOSS_ALTERED, "f205(205)");
  ck_assert_ptr_nonnull(strstr(text, "3 values"));
  ck_assert_ptr_nonnull(strstr(text, "the last, \"c\""));
  ck_assert_ptr_nonnull(strstr(text, "(the first \"a\")"));
  ck_assert_str_eq(*(char **)member(o.v1, 205), "c");
  outcome_free(&o);
  set_elements(m, 205, r205, 1);
  transcode(&o, &p, m);
  expect_lossless(&o, "one string into string");
  ck_assert_str_eq(*(char **)member(o.v1, 205), "a");
  outcome_free(&o);
  free(m);

  /* Packed floats, NaN included, into unpacked floats: the same. */
  m = new_msg(d2);
  float r206[] = {1.5f, NAN, -0.0f};
  set_elements(m, 206, r206, 3);
  transcode(&o, &p, m);
  expect_lossless(&o, "packed float into float");
  float *f206 = elements(o.v1, 206, &n);
  ck_assert_uint_eq(n, 3);
  ck_assert(f206[0] == 1.5f && isnan(f206[1]) && f206[2] == 0 &&
            signbit(f206[2]));
  outcome_free(&o);
  free(m);

  /* Unpacked doubles into one float: the last, rounded; both declared. */
  m = new_msg(d2);
  double r207[] = {0.5, 0.1};
  set_elements(m, 207, r207, 2);
  transcode(&o, &p, m);
  ck_assert_int_eq(o.rc, 0);
  ck_assert_uint_eq(loss_count(&o), 2);
  const rs_loss *l0 = rs_conversion_loss(o.conv, 0),
                *l1 = rs_conversion_loss(o.conv, 1);
  ck_assert_str_eq(rs_loss_path(l0), "f207(207)");
  ck_assert_str_eq(rs_loss_path(l1), "f207(207)");
  ck_assert(*(float *)member(o.v1, 207) == 0.1f);
  outcome_free(&o);
  free(m);

  /* Repeated messages into one: the last only, not merged with the others
   * (a reader merging them would see a = 1 too). */
  m = new_msg(d2);
  ProtobufCMessage *i1 = new_msg(inner2), *i2 = new_msg(inner2);
  *(int32_t *)member(i1, 1) = 1;
  set_has(i1, 1);
  *(int32_t *)member(i2, 2) = 2;
  set_has(i2, 2);
  ProtobufCMessage *r208[] = {i1, i2};
  set_elements(m, 208, r208, 2);
  transcode(&o, &p, m);
  text = only_loss(&o, RS_LOSS_ALTERED, "f208(208)");
  ck_assert_ptr_nonnull(strstr(text, "2 values"));
  ProtobufCMessage *got = *(ProtobufCMessage **)member(o.v1, 208);
  ck_assert_ptr_nonnull(got);
  ck_assert(!has(got, 1));
  ck_assert(has(got, 2) && *(int32_t *)member(got, 2) == 2);
  outcome_free(&o);
  free(m);
  free(i1);
  free(i2);

  /* A double into repeated int32: by value; NaN has none. */
  m = new_msg(d2);
  *(double *)member(m, 209) = 3.0;
  set_has(m, 209);
  transcode(&o, &p, m);
  expect_lossless(&o, "double 3 into repeated int32");
  int32_t *i209 = elements(o.v1, 209, &n);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(i209[0], 3);
  outcome_free(&o);
  *(double *)member(m, 209) = NAN;
  transcode(&o, &p, m);
  expect_impossible(&o, "f209[0]", "has no int32 value");
  outcome_free(&o);
  free(m);

  /* No value mapping: a message read as int64 fails the reader's parse, so
   * it is dropped, declared; an int64 read as a string is dropped too. */
  m = new_msg(d2);
  ProtobufCMessage *i3 = new_msg(inner2);
  *(int32_t *)member(i3, 1) = 9;
  set_has(i3, 1);
  *(ProtobufCMessage **)member(m, 210) = i3;
  *(int64_t *)member(m, 211) = 42;
  set_has(m, 211);
  transcode(&o, &p, m);
  ck_assert_int_eq(o.rc, 0);
  ck_assert_uint_eq(loss_count(&o), 2);
  ck_assert_int_eq(rs_loss_kind_of(rs_test_loss(o.conv, "f210(210)")),
                   RS_LOSS_DROPPED);
  ck_assert_int_eq(rs_loss_kind_of(rs_test_loss(o.conv, "f211(211)")),
                   RS_LOSS_DROPPED);
  ck_assert(!has(o.v1, 210));
  ck_assert_ptr_null(*(char **)member(o.v1, 211));
  outcome_free(&o);
  free(m);
  free(i3);
  pair_free(&p);
}
END_TEST

/* ---- strings, bytes, messages and maps ------------------------------------
 */

static const char len_v2[] =
    "syntax = \"proto3\";\npackage s.v2;\n"
    "message Inner { int32 a = 1; string s = 2; }\n"
    "message S {\n"
    "  bytes f1 = 1; string f2 = 2; bytes f3 = 3; Inner f4 = 4;\n"
    "  string f5 = 5; Inner f6 = 6; map<string, int32> f7 = 7;\n"
    "  string f8 = 8; string f10 = 10; string f11 = 11;\n"
    "  Inner f12 = 12; map<string, int32> f13 = 13;\n"
    "}\n";
static const char len_v1[] =
    "syntax = \"proto3\";\npackage s.v1;\n"
    "message Inner { int32 a = 1; string s = 2; }\n"
    "message Inner2 { double a = 1; string s = 2; }\n"
    "message S {\n"
    "  string f1 = 1; bytes f2 = 2; Inner f3 = 3; bytes f4 = 4;\n"
    "  Inner f5 = 5; string f6 = 6; string f7 = 7;\n"
    "  map<string, int32> f8 = 8; repeated int32 f10 = 10; string f11 = 11;\n"
    "  Inner2 f12 = 12; map<string, int64> f13 = 13;\n"
    "}\n";

static void set_bytes(ProtobufCMessage *m, uint32_t number, const void *data,
                      size_t len) {
  ProtobufCBinaryData *b = member(m, number);
  b->data = (uint8_t *)data;
  b->len = len;
  set_has(m, number);
}

static ProtobufCBinaryData get_bytes(const ProtobufCMessage *m,
                                     uint32_t number) {
  return *(ProtobufCBinaryData *)member(m, number);
}

static const char *get_string(const ProtobufCMessage *m, uint32_t number) {
  return *(char **)member(m, number);
}

/* One field of S set by `set`, transcoded. */
static void len_case(outcome *o, const schema_pair *p, uint32_t number,
                     const void *data, size_t len, ProtobufCType as) {
  ProtobufCMessage *m = new_msg(desc(p->v2, "s.S"));
  if (as == PROTOBUF_C_TYPE_BYTES) {
    set_bytes(m, number, data, len);
  } else if (as == PROTOBUF_C_TYPE_STRING) {
    *(const char **)member(m, number) = data;
  } else {
    *(const void **)member(m, number) = data;
  }
  transcode(o, p, m);
  free(m);
}

START_TEST(strings_bytes_and_messages_by_value) {
  schema_pair p;
  pair_load(&p, "s.S", len_v1, len_v2);
  const ProtobufCMessageDescriptor *inner2 = desc(p.v2, "s.Inner");
  const ProtobufCMessageDescriptor *inner1 = desc(p.v1, "s.Inner");
  outcome o;

  /* bytes -> proto3 string: valid UTF-8 is kept, invalid is impossible, a
   * NUL ends protobuf-c's string: altered, with what the reader sees. */
  len_case(&o, &p, 1, "h\xc3\xa9llo", 6, PROTOBUF_C_TYPE_BYTES);
  expect_lossless(&o, "UTF-8 bytes into string");
  ck_assert_str_eq(get_string(o.v1, 1), "h\xc3\xa9llo");
  outcome_free(&o);
  len_case(&o, &p, 1, "ab\xff\xfe", 4, PROTOBUF_C_TYPE_BYTES);
  expect_impossible(&o, "f1(1)", "not valid UTF-8");
  outcome_free(&o);
  len_case(&o, &p, 1, "ab\0cd", 5, PROTOBUF_C_TYPE_BYTES);
  const char *text = only_loss(&o, RS_LOSS_ALTERED, "f1(1)");
  ck_assert_ptr_nonnull(strstr(text, "the reader sees \"ab\""));
  ck_assert_ptr_nonnull(strstr(text, "\"ab\\x00cd\""));
  ck_assert_str_eq(get_string(o.v1, 1), "ab");
  outcome_free(&o);

  /* string -> bytes: the same bytes. */
  len_case(&o, &p, 2, "x\xc3\xa9", 0, PROTOBUF_C_TYPE_STRING);
  expect_lossless(&o, "string into bytes");
  ProtobufCBinaryData b = get_bytes(o.v1, 2);
  ck_assert_uint_eq(b.len, 3);
  ck_assert_mem_eq(b.data, "x\xc3\xa9", 3);
  outcome_free(&o);

  /* bytes -> message: only bytes that read as it, with nothing unknown. */
  ProtobufCMessage *in = new_msg(inner1);
  *(int32_t *)member(in, 1) = 5;
  *(char **)member(in, 2) = "hi";
  uint8_t packed[64];
  size_t plen = protobuf_c_message_pack(in, packed);
  free(in);
  len_case(&o, &p, 3, packed, plen, PROTOBUF_C_TYPE_BYTES);
  expect_lossless(&o, "an encoded Inner into Inner");
  ProtobufCMessage *got = *(ProtobufCMessage **)member(o.v1, 3);
  ck_assert_ptr_nonnull(got);
  ck_assert_int_eq(*(int32_t *)member(got, 1), 5);
  ck_assert_str_eq(get_string(got, 2), "hi");
  outcome_free(&o);
  static const uint8_t unknown[] = {0x08, 0x01, 0x48, 0x01}; /* field 9 */
  len_case(&o, &p, 3, unknown, sizeof unknown, PROTOBUF_C_TYPE_BYTES);
  expect_impossible(&o, "f3(3)", "has no field 9");
  ck_assert_ptr_nonnull(strstr(o.err.message, "\"\\x08\\x01H\\x01\""));
  outcome_free(&o);
  static const uint8_t junk[] = {0xff};
  len_case(&o, &p, 3, junk, sizeof junk, PROTOBUF_C_TYPE_BYTES);
  expect_impossible(&o, "f3(3)", "is not a s.v1.Inner");
  outcome_free(&o);
  static const uint8_t bad_utf8[] = {0x12, 0x01, 0xff};
  len_case(&o, &p, 3, bad_utf8, sizeof bad_utf8, PROTOBUF_C_TYPE_BYTES);
  expect_impossible(&o, "f3(3)", "UTF-8");
  outcome_free(&o);
  static const uint8_t wrong_wire[] = {0x0d, 1, 2, 3, 4}; /* a: 32-bit */
  len_case(&o, &p, 3, wrong_wire, sizeof wrong_wire, PROTOBUF_C_TYPE_BYTES);
  expect_impossible(&o, "f3(3)", "not wire type 5");
  outcome_free(&o);

  /* message -> bytes: the encoded message. */
  ProtobufCMessage *i4 = new_msg(inner2);
  *(int32_t *)member(i4, 1) = 7;
  len_case(&o, &p, 4, i4, 0, PROTOBUF_C_TYPE_MESSAGE);
  expect_lossless(&o, "Inner into bytes");
  b = get_bytes(o.v1, 4);
  ck_assert_uint_eq(b.len, 2);
  ck_assert_mem_eq(b.data, "\x08\x07", 2);
  outcome_free(&o);

  /* string -> message. */
  len_case(&o, &p, 5, "\x08\x05", 0, PROTOBUF_C_TYPE_STRING);
  expect_lossless(&o, "an encoded Inner string into Inner");
  got = *(ProtobufCMessage **)member(o.v1, 5);
  ck_assert_ptr_nonnull(got);
  ck_assert_int_eq(*(int32_t *)member(got, 1), 5);
  outcome_free(&o);

  /* message -> proto3 string: only when its encoding is UTF-8. */
  *(int32_t *)member(i4, 1) = 1;
  len_case(&o, &p, 6, i4, 0, PROTOBUF_C_TYPE_MESSAGE);
  expect_lossless(&o, "Inner{a: 1} into string");
  ck_assert_str_eq(get_string(o.v1, 6), "\x08\x01");
  outcome_free(&o);
  *(int32_t *)member(i4, 1) = 200; /* 08 c8 01 */
  len_case(&o, &p, 6, i4, 0, PROTOBUF_C_TYPE_MESSAGE);
  expect_impossible(&o, "f6(6)", "not valid UTF-8");
  outcome_free(&o);

  /* map <-> string: no faithful reading. */
  const ProtobufCMessageDescriptor *entry =
      field(desc(p.v2, "s.S"), 7)->descriptor;
  ProtobufCMessage *e = new_msg(entry);
  *(char **)member(e, 1) = "k";
  *(int32_t *)member(e, 2) = 1;
  set_has(e, 1);
  set_has(e, 2);
  ProtobufCMessage *entries[] = {e};
  ProtobufCMessage *m = new_msg(desc(p.v2, "s.S"));
  set_elements(m, 7, entries, 1);
  transcode(&o, &p, m);
  expect_impossible(&o, "f7(7)", "a map has no faithful reading as a string");
  outcome_free(&o);
  free(m);
  len_case(&o, &p, 8, "k", 0, PROTOBUF_C_TYPE_STRING);
  expect_impossible(&o, "f8[0]", "a string has no faithful reading as a map");
  outcome_free(&o);

  /* A string read as packed int32s: the reader would read its bytes as
   * numbers, so it cannot be dropped either. */
  len_case(&o, &p, 10, "abc", 0, PROTOBUF_C_TYPE_STRING);
  expect_impossible(&o, "f10[0]", "no faithful conversion");
  outcome_free(&o);

  /* The same type: kept. */
  len_case(&o, &p, 11, "same", 0, PROTOBUF_C_TYPE_STRING);
  expect_lossless(&o, "string into string");
  ck_assert_str_eq(get_string(o.v1, 11), "same");
  outcome_free(&o);

  /* A message into another message type: field by field, by value. */
  *(int32_t *)member(i4, 1) = -3;
  *(char **)member(i4, 2) = "z";
  len_case(&o, &p, 12, i4, 0, PROTOBUF_C_TYPE_MESSAGE);
  expect_lossless(&o, "Inner into Inner2");
  got = *(ProtobufCMessage **)member(o.v1, 12);
  ck_assert_ptr_nonnull(got);
  ck_assert(*(double *)member(got, 1) == -3.0);
  ck_assert_str_eq(get_string(got, 2), "z");
  outcome_free(&o);

  /* A map into a map of another value type: entry by entry. */
  m = new_msg(desc(p.v2, "s.S"));
  set_elements(m, 13, entries, 1);
  transcode(&o, &p, m);
  expect_lossless(&o, "map<string, int32> into map<string, int64>");
  size_t n;
  ProtobufCMessage **ge = elements(o.v1, 13, &n);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(get_string(ge[0], 1), "k");
  ck_assert_int_eq(*(int64_t *)member(ge[0], 2), 1);
  outcome_free(&o);
  free(m);
  free(e);
  free(i4);
  pair_free(&p);
}
END_TEST

/* ---- what protobuf-c's messages cannot hold --------------------------------
 */

/* The loss at @p path, which must be the only one there. */
static const rs_loss *loss_at(const outcome *o, const char *path) {
  const rs_loss *found = NULL;
  for (size_t i = 0; i < loss_count(o); i++) {
    const rs_loss *l = rs_conversion_loss(o->conv, i);
    if (strcmp(rs_loss_path(l), path) != 0) continue;
    ck_assert_msg(found == NULL, "two losses at %s", path);
    found = l;
  }
  ck_assert_msg(found != NULL, "no loss at %s (%zu losses)", path,
                loss_count(o));
  return found;
}

START_TEST(string_with_a_nul_is_an_altered_value) {
  /* A string read as a string: protobuf-c's message of version 2 keeps a
   * C string, which ends at the NUL, so the converted record holds "a".
   * The source bytes are Python's, which keeps the NUL. */
  schema_pair p;
  pair_load(&p, "s.S", len_v1, len_v2);
  static const uint8_t rec[] = {
      0x5a, 0x03, 'a',  0x00, 'b',           /* f11 = "a\0b" */
      0x62, 0x05, 0x12, 0x03, 'x', 0x00, 'y' /* f12 = {s: "x\0y"} */
  };
  outcome o;
  transcode_record(&o, &p, p.reg, rec, sizeof rec);
  ck_assert_msg(o.rc == 0, "%s", o.err.message);
  ck_assert_int_eq(rs_conversion_result_of(o.conv), RS_CONVERSION_LOSSY);
  ck_assert_uint_eq(loss_count(&o), 2);
  const rs_loss *l = loss_at(&o, "f11(11)");
  ck_assert_int_eq(rs_loss_kind_of(l), RS_LOSS_ALTERED);
  ck_assert_uint_eq(rs_loss_field(l), 11);
  ck_assert_uint_eq(rs_loss_top_field(l), 11);
  ck_assert_ptr_nonnull(strstr(rs_loss_text(l), "NUL at byte 1"));
  ck_assert_ptr_nonnull(strstr(rs_loss_text(l), "holds \"a\""));
  ck_assert_str_eq(get_string(o.v1, 11), "a");
  /* Inside a message converted field by field: the record's field 12. */
  l = loss_at(&o, "f12(12).s(2)");
  ck_assert_uint_eq(rs_loss_field(l), 2);
  ck_assert_uint_eq(rs_loss_top_field(l), 12);
  outcome_free(&o);

  /* Read at its own version, the record loses the same. */
  rs_record *r = NULL;
  rs_options opts = RS_OPTIONS_INIT;
  opts.raw_writer = 2;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(
      rs_read_as(&r, p.reg, "s.S", 2, rec, sizeof rec, &opts, &err), 0);
  const rs_conversion *c = rs_record_conversion(r);
  ck_assert_int_eq(rs_conversion_result_of(c), RS_CONVERSION_LOSSY);
  ck_assert_uint_eq(rs_conversion_loss_count(c), 2);
  rs_record_free(r);
  opts.flags |= RS_OPT_STRICT;
  ck_assert_int_eq(
      rs_read_as(&r, p.reg, "s.S", 2, rec, sizeof rec, &opts, &err),
      RS_ECONVERT);
  pair_free(&p);
}
END_TEST

static const char oneof_v2[] =
    "syntax = \"proto3\";\npackage o.v2;\n"
    "message O { int32 id = 1; optional bool f10 = 10; bytes f14 = 14; }\n";
static const char oneof_v1[] =
    "syntax = \"proto3\";\npackage o.v1;\n"
    "message Sub { int32 a = 1; }\n"
    "message O { int32 id = 1; oneof o { uint64 f10 = 10; Sub f14 = 14; } }\n";

START_TEST(oneof_members_written_together_lose_all_but_the_last) {
  /* Version 2 holds f10 and f14 apart; version 1 in one oneof, whose
   * reader keeps the member written last. */
  schema_pair p;
  pair_load(&p, "o.O", oneof_v1, oneof_v2);
  static const uint8_t rec[] = {0x08, 0x05, 0x50, 0x00, 0x72, 0x02, 0x08, 0x05};
  outcome o;
  transcode_record(&o, &p, p.reg, rec, sizeof rec);
  ck_assert_msg(o.rc == 0, "%s", o.err.message);
  const char *text = only_loss(&o, RS_LOSS_DROPPED, "f10(10)");
  ck_assert_ptr_nonnull(strstr(text, "f14(14)"));
  ck_assert_uint_eq(rs_loss_top_field(rs_conversion_loss(o.conv, 0)), 10);
  /* What version 1 reads: f14, f10 unset. */
  ck_assert_uint_eq(
      *(uint32_t *)((char *)o.v1 +
                    desc(p.v1, "o.O")->fields[1].quantifier_offset),
      14);
  outcome_free(&o);

  /* One member alone is no loss. */
  static const uint8_t one[] = {0x08, 0x05, 0x50, 0x00};
  transcode_record(&o, &p, p.reg, one, sizeof one);
  expect_lossless(&o, "f10 alone");
  outcome_free(&o);
  pair_free(&p);
}
END_TEST

/* ---- every allocation failing in turn -------------------------------------
 */

static int chaos_transcode(const schema_pair *p, const rs_buf *in,
                           const rs_chaos *chaos) {
  rs_options opts = RS_OPTIONS_INIT;
  opts.allocator = &chaos->allocator;
  rs_buf out = RS_BUF_INIT;
  rs_conversion *conv = NULL;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_transcode(&out, &conv, p->reg, p->type, 1, in->data, in->len,
                        NULL, &opts, &err);
  rs_buf_dispose(&out, &chaos->allocator);
  rs_conversion_free(conv);
  return rc;
}

START_TEST(every_allocation_failure_in_conversion_is_enomem) {
  schema_pair p;
  numbers_load(&p);
  const ProtobufCMessageDescriptor *d2 = desc(p.v2, "t.M");
  ProtobufCMessage *m = new_msg(d2);
  int64_t r201[] = {1, ((int64_t)1 << 53) + 1, -3};
  set_elements(m, 201, r201, 3);
  char *r205[] = {"a", "b", "c"};
  set_elements(m, 205, r205, 3);
  set_number(m, pair_field(13, 1), PROTOBUF_C_TYPE_DOUBLE, wf(2.5));
  set_number(m, pair_field(9, 13), PROTOBUF_C_TYPE_FIXED64, wu(7));
  rs_buf in = RS_BUF_INIT;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(rs_encode(&in, p.reg, "t.M", 2, m, NULL, NULL, &err), 0);
  free(m);
  rs_chaos c;
  rs_chaos_init(&c, 0);
  ck_assert_int_eq(chaos_transcode(&p, &in, &c), 0);
  ck_assert_uint_eq(c.live, 0);
  size_t n = c.calls;
  for (size_t k = 1; k <= n; k++) {
    rs_chaos_init(&c, k);
    int rc = chaos_transcode(&p, &in, &c);
    ck_assert_msg(rc == RS_ENOMEM, "allocation %zu of %zu: %s", k, n,
                  rs_error_name(rc));
    ck_assert_msg(c.live == 0, "allocation %zu of %zu: %zu leaked", k, n,
                  c.live);
  }

  /* bytes -> message, whose check unpacks them. */
  schema_pair s;
  pair_load(&s, "s.S", len_v1, len_v2);
  m = new_msg(desc(s.v2, "s.S"));
  set_bytes(m, 3, "\x08\x05\x12\x02hi", 6);
  rs_buf in2 = RS_BUF_INIT;
  ck_assert_int_eq(rs_encode(&in2, s.reg, "s.S", 2, m, NULL, NULL, &err), 0);
  free(m);
  rs_chaos_init(&c, 0);
  ck_assert_int_eq(chaos_transcode(&s, &in2, &c), 0);
  n = c.calls;
  for (size_t k = 1; k <= n; k++) {
    rs_chaos_init(&c, k);
    int rc = chaos_transcode(&s, &in2, &c);
    ck_assert_msg(rc == RS_ENOMEM,
                  "bytes -> message: allocation %zu of %zu: %s", k, n,
                  rs_error_name(rc));
    ck_assert_msg(c.live == 0, "bytes -> message: allocation %zu: %zu leaked",
                  k, c.live);
  }
  rs_buf_dispose(&in, NULL);
  rs_buf_dispose(&in2, NULL);
  pair_free(&p);
  pair_free(&s);
}
END_TEST

Suite *convert_suite(void);
Suite *convert_suite(void) {
  Suite *s = suite_create("convert");
  TCase *tc = tcase_create("convert");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, every_numeric_type_into_every_other_by_value);
  tcase_add_test(tc, python_written_numbers_convert_by_value);
  tcase_add_test(tc, fixed64_into_double_keeps_the_value);
  tcase_add_test(tc, packed_unpacked_and_repeated_to_singular);
  tcase_add_test(tc, strings_bytes_and_messages_by_value);
  tcase_add_test(tc, every_allocation_failure_in_conversion_is_enomem);
  tcase_add_test(tc, string_with_a_nul_is_an_altered_value);
  tcase_add_test(tc, oneof_members_written_together_lose_all_but_the_last);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return rs_test_run(convert_suite());
}
