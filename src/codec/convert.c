/*
 * Conversion between format versions.
 *
 * The generic step works on the wire: it walks the source message's bytes
 * and writes bytes the target descriptor reads, field by field. A field the
 * target defines with a compatible wire type is copied (re-encoding varints
 * whose type changed, e.g. sint32 to int64, when the value fits); a field
 * the target does not define is kept as an unknown field (or dropped with
 * RS_OPT_DROP_UNKNOWN); a field whose wire type the target cannot read is
 * dropped. protobuf-c then unpacks the result, so the target message is
 * exactly what a reader of that version would build from those bytes.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

struct rs_convert_ctx {
  const ProtobufCAllocator *a; /* the call's budget */
  rs__budget *budget;
  rs_conversion *conv;
  const rs_options *opts;
  unsigned from, to;
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
static int report_v(rs_convert_ctx *ctx, rs_loss_kind kind, const char *path,
                    uint32_t field, const char *fmt, va_list ap) {
  rs__notes *ns = &ctx->conv->losses;
  int rc = rs__notes_vadd(ns, (int)kind, path, field, RS_OFFSET_NONE, fmt, ap);
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

/* Converts one varint value from source type st to target type dt. */
static int convert_varint(gen_state *g, const ProtobufCFieldDescriptor *sf,
                          const ProtobufCFieldDescriptor *df, uint64_t raw,
                          uint64_t *out, const char *path) {
  *out = raw;
  if (df->type == PROTOBUF_C_TYPE_ENUM) {
    int32_t v = (int32_t)(uint32_t)raw;
    if (!rs__enum_known(df->descriptor, v))
      return map_enum(g, sf, df, v, out, path);
  }
  if (sf == NULL || sf->type == df->type || !rs__is_varint_type(sf->type))
    return 0;
  rs__ival want = rs__varint_value(sf->type, raw);
  if (rs__ival_eq(want, rs__varint_value(df->type, raw))) return 0;
  if (rs__varint_encode(df->type, want, out)) return 0;
  char a[32], b[32];
  rs__ival_format(want, a, sizeof a);
  rs__ival_format(rs__varint_value(df->type, raw), b, sizeof b);
  return report(g->ctx, RS_LOSS_ALTERED, path, df->id,
                "%s value %s does not fit %s; the reader sees %s",
                rs__type_name(sf->type), a, rs__type_name(df->type), b);
}

static int generic(gen_state *g, const ProtobufCMessageDescriptor *S,
                   const ProtobufCMessageDescriptor *D, const uint8_t *buf,
                   size_t len, rs__path *path, const uint32_t *skip,
                   size_t n_skip, rs_buf *out);

static int copy_field(gen_state *g, const ProtobufCFieldDescriptor *sf,
                      const ProtobufCFieldDescriptor *df, const uint8_t *buf,
                      const rs__wfield *f, rs__path *path, rs_buf *out) {
  rs_convert_ctx *ctx = g->ctx;
  if (df->type == PROTOBUF_C_TYPE_MESSAGE) {
    if (sf == NULL || sf->type != PROTOBUF_C_TYPE_MESSAGE ||
        sf->descriptor == df->descriptor)
      return put(ctx, out, buf + f->tag_offset, f->end - f->tag_offset);
    rs_buf sub = RS_BUF_INIT;
    g->depth++;
    int rc = generic(g, sf->descriptor, df->descriptor, buf + f->value_offset,
                     f->value_len, path, NULL, 0, &sub);
    g->depth--;
    if (rc == 0) rc = put_tag(ctx, out, df->id, RS__WT_LEN);
    if (rc == 0) rc = put_varint(ctx, out, sub.len);
    if (rc == 0) rc = put(ctx, out, sub.data, sub.len);
    rs__free(ctx->a, sub.data);
    return rc;
  }
  if (!rs__is_varint_type(df->type))
    return put(ctx, out, buf + f->tag_offset, f->end - f->tag_offset);
  if (f->wire_type == RS__WT_VARINT) {
    uint64_t v;
    int rc = convert_varint(g, sf, df, f->value, &v, path->buf);
    if (rc != 0) return rc;
    if (v == f->value)
      return put(ctx, out, buf + f->tag_offset, f->end - f->tag_offset);
    rc = put_tag(ctx, out, df->id, RS__WT_VARINT);
    return rc != 0 ? rc : put_varint(ctx, out, v);
  }
  /* Packed varints: convert element by element. */
  rs_buf packed = RS_BUF_INIT;
  size_t pos = 0;
  int rc = 0;
  const uint8_t *p = buf + f->value_offset;
  while (rc == 0 && pos < f->value_len) {
    uint64_t raw, v;
    if (rs__read_varint(p, f->value_len, &pos, &raw) != 0) {
      rc = report(ctx, RS_LOSS_DROPPED, path->buf, df->id,
                  "packed values are malformed; dropped");
      rs__free(ctx->a, packed.data);
      return rc;
    }
    rc = convert_varint(g, sf, df, raw, &v, path->buf);
    if (rc == 0) rc = put_varint(ctx, &packed, v);
  }
  if (rc == 0) rc = put_tag(ctx, out, df->id, RS__WT_LEN);
  if (rc == 0) rc = put_varint(ctx, out, packed.len);
  if (rc == 0) rc = put(ctx, out, packed.data, packed.len);
  rs__free(ctx->a, packed.data);
  return rc;
}

static int generic(gen_state *g, const ProtobufCMessageDescriptor *S,
                   const ProtobufCMessageDescriptor *D, const uint8_t *buf,
                   size_t len, rs__path *path, const uint32_t *skip,
                   size_t n_skip, rs_buf *out) {
  rs_convert_ctx *ctx = g->ctx;
  if (g->depth > ctx->opts->max_depth) return RS_ELIMIT;
  /* Element counters for repeated-field paths, by target field index. */
  size_t counts_small[64];
  size_t *counts = counts_small;
  if (D->n_fields > 64) {
    counts = rs__alloc(ctx->a, D->n_fields * sizeof *counts);
    if (counts == NULL) return rs__budget_code(ctx->budget);
  } else {
    memset(counts_small, 0, sizeof counts_small);
  }
  uint32_t reported[16];
  size_t n_reported = 0;
  size_t pos = 0;
  int rc = 0;
  while (rc == 0 && pos < len) {
    rs__wfield f;
    const char *why;
    if (rs__read_field(buf, len, &pos, &f, &why) != 0) {
      rc = report(ctx, RS_LOSS_IMPOSSIBLE, path->buf, 0,
                  "source bytes are malformed (%s)", why);
      break;
    }
    if (in_list(skip, n_skip, f.number)) continue;
    const ProtobufCFieldDescriptor *sf =
        S != NULL ? protobuf_c_message_descriptor_get_field(S, f.number) : NULL;
    const ProtobufCFieldDescriptor *df =
        protobuf_c_message_descriptor_get_field(D, f.number);
    const char *name = sf != NULL ? sf->name : df != NULL ? df->name : "";
    size_t mark;
    if (df != NULL && df->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t idx = (size_t)(df - D->fields);
      mark = rs__path_push_index(path, name, counts[idx]++);
    } else {
      mark = rs__path_push_field(path, name, f.number);
    }
    bool first = !in_list(reported, n_reported, f.number);
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
    } else if (!rs__wire_type_ok(df, f.wire_type)) {
      if (first)
        rc = report(ctx, RS_LOSS_DROPPED, path->buf, f.number,
                    "version %u reads field %u as %s (wire type %u, %s), not "
                    "wire type %u (%s); dropped",
                    ctx->to, (unsigned)f.number, rs__type_name(df->type),
                    rs__field_wire_type(df),
                    rs__wire_type_name(rs__field_wire_type(df)), f.wire_type,
                    rs__wire_type_name(f.wire_type));
    } else {
      rc = copy_field(g, sf, df, buf, &f, path, out);
    }
    if (first && n_reported < 16) reported[n_reported++] = f.number;
    rs__path_pop(path, mark);
  }
  if (counts != counts_small) rs__free(ctx->a, counts);
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
  rs_convert_ctx ctx = {&budget->allocator, budget, conv, opts, from, to};

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
