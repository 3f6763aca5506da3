#define _POSIX_C_SOURCE 200809L
/* Decoding, the dual-format reader, and encoding. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

struct rs_record {
  const ProtobufCAllocator *a; /* backing allocator: frees everything */
  const char *type;            /* the registry's copy */
  unsigned version, written_version;
  rs_encoding encoding;
  size_t payload_offset;
  bool has_provenance;
  bool has_schema_id;
  uint32_t schema_id;
  rs_provenance provenance; /* strings owned by the record */
  uint8_t fingerprint[32];
  size_t fingerprint_len;
  ProtobufCMessage *msg;
  rs_conversion *conversion;
};

int64_t rs_now_us(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void rs_record_free(rs_record *r) {
  if (r == NULL) return;
  if (r->msg != NULL) protobuf_c_message_free_unpacked(r->msg, RS__PA(r->a));
  rs_conversion_free(r->conversion);
  rs__free(r->a, (void *)r->provenance.flag_key);
  rs__free(r->a, (void *)r->provenance.variant);
  rs__free(r->a, (void *)r->provenance.writer_id);
  rs__free(r->a, r);
}

const char *rs_record_type(const rs_record *r) {
  return r ? r->type : NULL;
}
unsigned rs_record_version(const rs_record *r) {
  return r ? r->version : 0;
}
unsigned rs_record_written_version(const rs_record *r) {
  return r ? r->written_version : 0;
}
rs_encoding rs_record_encoding(const rs_record *r) {
  return r ? r->encoding : (rs_encoding)0;
}
int rs_record_schema_id(const rs_record *r, uint32_t *id) {
  if (r == NULL || !r->has_schema_id) return 0;
  if (id != NULL) *id = r->schema_id;
  return 1;
}
size_t rs_record_payload_offset(const rs_record *r) {
  return r ? r->payload_offset : 0;
}
const rs_provenance *rs_record_provenance(const rs_record *r) {
  return r != NULL && r->has_provenance ? &r->provenance : NULL;
}
const uint8_t *rs_record_fingerprint(const rs_record *r, size_t *len) {
  if (len != NULL) *len = r != NULL ? r->fingerprint_len : 0;
  return r != NULL && r->fingerprint_len > 0 ? r->fingerprint : NULL;
}
const ProtobufCMessage *rs_record_message(const rs_record *r) {
  return r ? r->msg : NULL;
}
const rs_conversion *rs_record_conversion(const rs_record *r) {
  return r ? r->conversion : NULL;
}

/* ---- unpacking
 * ---------------------------------------------------------------- */

int rs__unpack(ProtobufCMessage **out, const ProtobufCMessageDescriptor *d,
               const uint8_t *buf, size_t len, size_t base,
               const rs_options *opts, rs__budget *budget, rs_error *err) {
  *out = NULL;
  int rc =
      rs__check_depth(d, buf, len, base, 1, rs__levels(opts->max_depth), err);
  if (rc != 0) return rc;
  return rs__unpack_walked(out, d, buf, len, base, opts, budget, err);
}

/*
 * A version whose messages are written with groups (RS_FIELD_FLAG_DELIMITED:
 * proto2 groups, editions' message_encoding = DELIMITED), which
 * protobuf_c_message_unpack cannot read: its bytes with each group as the
 * length-delimited field protobuf-c reads (rs__degroup), unpacked.
 */
static int unpack_degrouped(ProtobufCMessage **out, const rs__version *v,
                            const uint8_t *buf, size_t len, size_t base,
                            const rs_options *opts, bool drop_foreign,
                            rs__budget *budget, rs_error *err) {
  uint8_t *flat = NULL;
  size_t flat_len = 0;
  int rc = rs__degroup(&flat, &flat_len, v->desc, buf, len,
                       rs__levels(opts->max_depth), drop_foreign,
                       &budget->allocator);
  if (rc == RS_ENOMEM) return rs__budget_fail(budget, err, "decode");
  if (rc != 0)
    return rs__unpack(out, v->desc, buf, len, base, opts, budget, err);
  rc = rs__unpack(out, v->desc, flat, flat_len, base, opts, budget, err);
  rs__free(&budget->allocator, flat);
  return rc;
}

/* A decode that failed with rc (err its why), tried again degrouped
 * (drop_foreign as rs__degroup takes it): 0 when that decodes; over the
 * budget or out of memory, said so as any decode says it; else rc, err
 * as the first try left it. */
static int retry_degrouped(ProtobufCMessage **out, const rs__version *v,
                           const uint8_t *buf, size_t len, size_t base,
                           const rs_options *opts, bool drop_foreign,
                           rs__budget *budget, int rc, rs_error *err) {
  rs_error e = RS_ERROR_INIT;
  int grc =
      unpack_degrouped(out, v, buf, len, base, opts, drop_foreign, budget, &e);
  if (grc == 0) return 0;
  if (grc != RS_EDECODE) {
    if (err != NULL) *err = e;
    return grc;
  }
  return rc;
}

int rs__unpack_version(ProtobufCMessage **out, const rs__version *v,
                       const uint8_t *buf, size_t len, size_t base,
                       const rs_options *opts, rs__budget *budget,
                       rs_error *err) {
  if (v->groups)
    return unpack_degrouped(out, v, buf, len, base, opts, false, budget, err);
  int rc;
  if (v->static_depth != 0 && v->static_depth <= rs__levels(opts->max_depth)) {
    *out = NULL;
    rc = rs__unpack_walked(out, v->desc, buf, len, base, opts, budget, err);
  } else {
    rc = rs__unpack(out, v->desc, buf, len, base, opts, budget, err);
  }
  /* Groups of field numbers the version does not declare: unknown fields,
   * which protobuf-c keeps of every wire type but groups. */
  size_t at;
  if (rc == RS_EDECODE && rs__holds_group(buf, len, &at) != 0)
    return retry_degrouped(out, v, buf, len, base, opts, false, budget, rc,
                           err);
  return rc;
}

int rs__unpack_version_rt(ProtobufCMessage **out, const rs__version *v,
                          const uint8_t *buf, size_t len, size_t base,
                          const rs_options *opts, const rs__rules *rules,
                          rs__budget *budget, rs_error *err) {
  int rc = rs__unpack_version(out, v, buf, len, base, opts, budget, err);
  if (rc != RS_EDECODE || rules == NULL || !rules->wire_unknown) return rc;
  return retry_degrouped(out, v, buf, len, base, opts, true, budget, rc, err);
}

int rs__unpack_walked(ProtobufCMessage **out,
                      const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                      size_t len, size_t base, const rs_options *opts,
                      rs__budget *budget, rs_error *err) {
  ProtobufCMessage *m =
      protobuf_c_message_unpack(d, &budget->allocator, len, buf);
  *out = m;
  if (m != NULL) return 0;
  if (budget->over || budget->oom)
    return rs__budget_fail(budget, err, "decode");
  if (opts->flags & RS_OPT_VERDICT_ONLY)
    return rs__fail(err, RS_EDECODE, base, "protobuf-c cannot unpack it as %s",
                    d->name);
  rs__explain_unpack_failure(d, buf, len, base, rs__levels(opts->max_depth),
                             budget, err);
  return RS_EDECODE;
}

/* ---- the writer's side of a record ------------------------------------------
 */

void rs__written_dispose(rs__written *w, const ProtobufCAllocator *a) {
  if (w->msg != NULL && !rs__frees_nothing(a))
    protobuf_c_message_free_unpacked(w->msg, RS__PA(a));
  rs__free(a, (void *)w->provenance.flag_key);
  rs__free(a, (void *)w->provenance.variant);
  rs__free(a, (void *)w->provenance.writer_id);
  w->msg = NULL;
  w->provenance.flag_key = w->provenance.variant = w->provenance.writer_id =
      NULL;
}

/* The payload of a framed record, from w->payload_offset, decoded as
 * w->version as the runtime of rules reads it, to where it ends the
 * record (w->payload_end). */
static int read_payload(rs__written *w, const uint8_t *buf, size_t len,
                        const rs_options *o, const rs__rules *rules,
                        rs__budget *b, rs_error *err) {
  size_t off = w->payload_offset;
  w->payload_end = off + rs__early_end(rules, buf + off, len - off);
  if (w->framing_only) return 0;
  return rs__unpack_version_rt(&w->msg, w->version, buf + off,
                               w->payload_end - off, off, o, rules, b, err);
}

static int read_envelope(rs__written *w, const rs__type *t, const uint8_t *buf,
                         size_t len, const rs_options *o,
                         const rs__rules *rules, rs__budget *b, rs_error *err) {
  rs__envelope env;
  int rc =
      rs__envelope_parse(&env, &w->env_status, buf, len, &b->allocator, err);
  if (rc != 0)
    return b->over || b->oom ? rs__budget_fail(b, err, "envelope") : rc;
  w->header_offset = env.header_offset;
  w->payload_offset = env.payload_offset;
  w->number = env.format_version;
  w->has_provenance = env.has_provenance;
  w->provenance.flag_key = env.flag_key;
  w->provenance.variant = env.variant;
  w->provenance.writer_id = env.writer_id;
  w->provenance.write_time_us = env.write_time_us;
  env.flag_key = env.variant = env.writer_id = NULL;
  memcpy(w->fingerprint, env.fingerprint, env.fingerprint_len);
  w->fingerprint_len = env.fingerprint_len;
  if (strcmp(env.record_type, t->name) != 0) {
    w->env_status = RS__ENV_MALFORMED;
    rc = rs__fail(err, RS_EENVELOPE, env.header_offset,
                  "envelope holds record type \"%.64s\", not %s",
                  env.record_type, t->name);
  }
  rs__envelope_dispose(&env, &b->allocator);
  if (rc != 0) return rc;
  w->version = rs__type_version(t, w->number);
  if (w->version == NULL) return 0;
  return read_payload(w, buf, len, o, rules, b, err);
}

/* A Confluent-framed record: the header, then the payload decoded as the
 * version its schema id and path map to (none: version NULL, number 0). */
static int read_confluent(rs__written *w, const rs__type *t, const uint8_t *buf,
                          size_t len, const rs_options *o,
                          const rs__rules *rules, rs__budget *b,
                          rs_error *err) {
  int rc = rs_confluent_parse(&w->confluent, buf, len, err);
  if (rc != 0) return rc;
  w->has_confluent = true;
  w->header_offset = 0;
  w->payload_offset = w->confluent.payload_offset;
  const rs_schema_id *m = rs__schema_id_lookup(o, &w->confluent);
  if (m == NULL) return 0;
  w->number = m->format_version;
  w->version = rs__type_version(t, w->number);
  if (w->version == NULL)
    return rs__fail(err, RS_ENOTFOUND, RS_OFFSET_NONE,
                    "%s has versions 1..%zu; schema id %lu maps to version %u",
                    t->name, t->n_versions, (unsigned long)m->id, w->number);
  return read_payload(w, buf, len, o, rules, b, err);
}

static int read_written(rs__written *w, const rs__type *t, const uint8_t *buf,
                        size_t len, const rs_options *o, const rs__rules *rules,
                        rs__budget *b, bool limit_is_final, bool framing_only,
                        rs_error *err) {
  memset(w, 0, sizeof *w);
  w->framing_only = framing_only;
  w->provenance.version = RS_PROVENANCE_VERSION;
  w->payload_end = len;
  if (len > o->max_record_size)
    return rs__fail(err, RS_ELIMIT, RS_OFFSET_NONE,
                    "record is %zu bytes, over the limit of %zu", len,
                    o->max_record_size);
  if (rs_envelope_detect(buf, len)) {
    w->encoding = RS_ENCODING_ENVELOPE;
    return read_envelope(w, t, buf, len, o, rules, b, err);
  }
  if (rs_confluent_detect(buf, len)) {
    w->encoding = RS_ENCODING_CONFLUENT;
    return read_confluent(w, t, buf, len, o, rules, b, err);
  }
  w->encoding = RS_ENCODING_RAW;
  /* The bytes the reader's runtime reads as the record. */
  len = w->payload_end = rs__early_end(rules, buf, len);
  if (framing_only) return 0;
  /* Raw: the version that can have written the bytes (rs__explains: no
   * unknown field, values in range, enums defined), the oldest that can:
   * the same choice as rs_classify's inference. */
  const rs__version *pick =
      o->raw_writer != 0 ? rs__type_version(t, o->raw_writer) : NULL;
  if (o->raw_writer != 0 && pick == NULL)
    return rs__fail(err, RS_ENOTFOUND, RS_OFFSET_NONE,
                    "%s has versions 1..%zu; there is no raw writer version %u",
                    t->name, t->n_versions, o->raw_writer);
  for (size_t i = 0; i < t->n_versions && o->raw_writer == 0; i++) {
    const rs__version *v = &t->versions[i];
    if (!rs__explains(v->desc, buf, len, rs__levels(o->max_depth))) continue;
    if (pick == NULL) pick = v;
  }
  if (pick != NULL) {
    rs_error e = RS_ERROR_INIT;
    int rc = rs__unpack_version_rt(&w->msg, pick, buf, len, 0, o, rules, b, &e);
    if (rc == 0) {
      w->version = pick;
      w->number = pick->number;
      return 0;
    }
    if (rc != RS_EDECODE) {
      if (err != NULL) *err = e;
      return rc;
    }
  }
  /* Failing that, the raw versions newest first, then the others. */
  rs_error first = RS_ERROR_INIT;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = t->n_versions; i-- > 0;) {
      const rs__version *v = &t->versions[i];
      if ((v->encoding == RS_ENCODING_RAW) != (pass == 0)) continue;
      rs_error e = RS_ERROR_INIT;
      int rc = rs__unpack_version_rt(&w->msg, v, buf, len, 0, o, rules, b, &e);
      if (rc == 0) {
        w->version = v;
        w->number = v->number;
        return 0;
      }
      bool next =
          rc == RS_EDECODE || (rc == RS_ELIMIT && !b->over && !limit_is_final);
      if (!next) {
        if (err != NULL) *err = e;
        return rc;
      }
      if (first.code == RS_OK) first = e;
    }
  }
  if (err != NULL) *err = first;
  return first.code;
}

int rs__read_written(rs__written *w, const rs__type *t, const uint8_t *buf,
                     size_t len, const rs_options *o, const rs__rules *rules,
                     rs__budget *b, bool limit_is_final, rs_error *err) {
  return read_written(w, t, buf, len, o, rules, b, limit_is_final, false, err);
}

int rs__read_framing(rs__written *w, const rs__type *t, const uint8_t *buf,
                     size_t len, const rs_options *o, const rs__rules *rules,
                     rs__budget *b, rs_error *err) {
  return read_written(w, t, buf, len, o, rules, b, false, true, err);
}

/* ---- decoding any version
 * -------------------------------------------------------- */

/*
 * What a library that knows only up to version `read` could not read of a
 * record of version `written`: fields it lacks (kept as unknown fields) and
 * values its types cannot be sure of (an enum value it lacks), as a
 * conversion report from `written` to `read`.
 */
static int unregistered_report(rs_conversion **out, const rs__type *t,
                               const rs__version *read, unsigned written,
                               const uint8_t *p, size_t len, size_t base,
                               const rs_options *o, rs__budget *b,
                               rs_error *err) {
  *out = NULL;
  rs_conversion *conv = rs__alloc(b->backing, sizeof *conv);
  if (conv == NULL)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "decode: out of memory");
  conv->a = b->backing;
  conv->from = written;
  conv->to = read->number;
  conv->result = RS_CONVERSION_LOSSLESS;
  rs__notes_init(&conv->losses, b->backing, 256);
  rs__notes seen;
  rs__notes_init(&seen, b->backing, 256);
  char label[32];
  snprintf(label, sizeof label, "version %u", read->number);
  rs__budget sb;
  rs__budget_sub(&sb, b, rs__scratch_floor(len), len);
  rs__cmp cmp;
  memset(&cmp, 0, sizeof cmp);
  cmp.notes = &seen;
  cmp.a = &sb.allocator;
  cmp.budget = &sb;
  cmp.reader_label = cmp.writer_label = label;
  cmp.max_depth = rs__levels(o->max_depth);
  cmp.type = t;
  cmp.end = base + len;
  rs__compare(&cmp, NULL, NULL, 0, 0, read->desc, p, len, base);
  int rc = rs__budget_end(&sb, b, cmp.rc);
  for (size_t i = 0; rc == 0 && i < seen.n; i++) {
    const rs__note *n = &seen.items[i];
    if (n->kind == RS_VERDICT_IGNORED_FIELDS) {
      conv->kept_unknown++;
      continue;
    }
    if (n->kind < RS_VERDICT_MISREAD) continue;
    rc = rs__notes_add(&conv->losses, RS_LOSS_ALTERED, RS__RC_NONE, n->path,
                       n->top, n->field, n->offset,
                       "version %u is not in the registry, read as version "
                       "%u: %s",
                       written, read->number, n->text);
    if (rc == 0 && conv->losses.n > 0) {
      conv->losses.items[conv->losses.n - 1].from = written;
      conv->losses.items[conv->losses.n - 1].to = read->number;
    }
    conv->result = RS_CONVERSION_LOSSY;
  }
  rs__notes_dispose(&seen, b->backing);
  if (rc != 0) {
    rs_conversion_free(conv);
    return rs__fail(err, rc, RS_OFFSET_NONE, "decode: %s", rs_strerror(rc));
  }
  *out = conv;
  return 0;
}

static int decode_any(rs_record **out, const rs__type *t, const uint8_t *buf,
                      size_t len, const rs_options *o, rs__budget *b,
                      rs_error *err) {
  *out = NULL;
  rs_record *rec = rs__alloc(&b->allocator, sizeof *rec);
  if (rec == NULL) return rs__budget_fail(b, err, "decode");
  rs__written w;
  rs_error why = RS_ERROR_INIT;
  int rc = rs__read_written(&w, t, buf, len, o, NULL, b, true, &why);
  if (rc != 0 && err != NULL) *err = why;
  if (rc == RS_EDECODE && w.encoding == RS_ENCODING_RAW)
    rs__fail(err, RS_EDECODE, why.offset,
             "raw record decodes as no version of %s: %s", t->name,
             why.message);
  else if (rc == 0 && w.version == NULL &&
           w.encoding == RS_ENCODING_CONFLUENT) {
    /* Nothing says which message of which schema the payload is. */
    char path[128];
    rs__confluent_path_text(&w.confluent, path, sizeof path);
    rc = rs__fail(err, RS_ENOTFOUND, 0,
                  "Confluent schema id %lu, message indexes %s, maps to no "
                  "format version of %s (rs_options.schema_ids)",
                  (unsigned long)w.confluent.schema_id, path, t->name);
  } else if (rc == 0 && w.version == NULL) {
    /* A version newer than the registry: read the payload as the newest
     * version it knows, as protobuf readers read newer messages (fields
     * they lack kept as unknown fields). rs_classify judges an
     * envelope-aware reader's view of such a record by this same reading. */
    const rs__version *newest = &t->versions[t->n_versions - 1];
    rc =
        rs__unpack_version(&w.msg, newest, buf + w.payload_offset,
                           len - w.payload_offset, w.payload_offset, o, b, err);
    if (rc == 0) w.version = newest;
  }
  rs_conversion *unregistered = NULL;
  if (rc == 0 && w.encoding == RS_ENCODING_ENVELOPE &&
      w.number != w.version->number)
    rc = unregistered_report(&unregistered, t, w.version, w.number,
                             buf + w.payload_offset, len - w.payload_offset,
                             w.payload_offset, o, b, err);
  if (rc != 0) {
    rs__written_dispose(&w, b->backing);
    rs__free(b->backing, rec);
    return rc;
  }
  rec->a = b->backing;
  rec->type = t->name;
  rec->encoding = w.encoding;
  rec->written_version = w.number;
  rec->version = w.version->number;
  rec->payload_offset = w.payload_offset;
  rec->msg = w.msg;
  rec->conversion = unregistered;
  rec->has_provenance = w.has_provenance;
  rec->provenance = w.provenance;
  rec->has_schema_id = w.has_confluent;
  rec->schema_id = w.confluent.schema_id;
  memcpy(rec->fingerprint, w.fingerprint, w.fingerprint_len);
  rec->fingerprint_len = w.fingerprint_len;
  *out = rec;
  return 0;
}

static int lookup(const rs__type **t, const rs_registry *reg, const char *type,
                  rs_error *err) {
  *t = rs__registry_type(reg, type);
  if (*t == NULL)
    return rs__fail(err, RS_ENOTFOUND, RS_OFFSET_NONE,
                    "record type %s is not in the registry",
                    type ? type : "(null)");
  return 0;
}

static int prologue(const char *fn, bool ok, rs_options *o,
                    const rs_options *options, const rs__type **t,
                    const rs_registry *registry, const char *type,
                    unsigned *version, rs_error *err);

int rs_decode(rs_record **out, const rs_registry *registry, const char *type,
              const uint8_t *buf, size_t len, const rs_options *options,
              rs_error *err) {
  if (out != NULL) *out = NULL;
  rs_options o;
  const rs__type *t = NULL;
  int rc = prologue("rs_decode",
                    out != NULL && registry != NULL && (buf != NULL || !len),
                    &o, options, &t, registry, type, NULL, err);
  if (rc != 0) return rc;
  rs__budget b;
  rs__budget_init(&b, o.allocator, o.max_alloc);
  return decode_any(out, t, buf, len, &o, &b, err);
}

static int read_as(rs_record **out, const rs__type *t, unsigned version,
                   const uint8_t *buf, size_t len, const rs_options *o,
                   rs__budget *b, rs_conversion **report, rs_error *err) {
  rs_record *rec;
  int rc = decode_any(&rec, t, buf, len, o, b, err);
  if (rc != 0) return rc;
  /* What protobuf-c's message of the payload cannot hold, whatever is
   * written from it: a string's bytes past a NUL. */
  const uint8_t *payload = buf + rec->payload_offset;
  size_t payload_len = len - rec->payload_offset;
  if (rec->version == version) {
    rc = rs__convert_nul_losses(&rec->conversion, t, version, version, payload,
                                payload_len, o, b);
    if (rc != 0) {
      rs_record_free(rec);
      return rs__fail(err, rc, RS_OFFSET_NONE, "read: %s", rs_strerror(rc));
    }
  }
  if (rec->version != version) {
    ProtobufCMessage *m;
    rs_conversion *conv;
    rc = rs__convert(&m, &conv, t, rec->version, version, rec->msg, o, b, err);
    if (rc == 0 &&
        (rc = rs__convert_nul_losses(&conv, t, rec->version, version, payload,
                                     payload_len, o, b)) != 0) {
      protobuf_c_message_free_unpacked(m, RS__PA(rec->a));
      rs_conversion_free(conv);
      rs_record_free(rec);
      return rs__fail(err, rc, RS_OFFSET_NONE, "read: %s", rs_strerror(rc));
    }
    if (rc != 0) {
      if (report != NULL)
        *report = conv;
      else
        rs_conversion_free(conv);
      rs_record_free(rec);
      return rc;
    }
    protobuf_c_message_free_unpacked(rec->msg, RS__PA(rec->a));
    rec->msg = m;
    rec->version = version;
    /* The report says what this read converted: from the version the
     * record was read as. */
    rs_conversion_free(rec->conversion);
    rec->conversion = conv;
  }
  *out = rec;
  return 0;
}

static int check_version(const rs__type *t, unsigned *version, rs_error *err) {
  if (*version == 0) *version = (unsigned)t->n_versions;
  if (rs__type_version(t, *version) == NULL)
    return rs__fail(err, RS_ENOTFOUND, RS_OFFSET_NONE,
                    "%s has versions 1..%zu, not %u", t->name, t->n_versions,
                    *version);
  return 0;
}

/*
 * The common start of the public entry points: arguments, options, type and
 * (unless version is NULL) version. `ok` is the caller's argument check.
 */
static int prologue(const char *fn, bool ok, rs_options *o,
                    const rs_options *options, const rs__type **t,
                    const rs_registry *registry, const char *type,
                    unsigned *version, rs_error *err) {
  if (!ok)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "%s: a required argument is NULL", fn);
  int rc = rs__options(o, options, err);
  if (rc == 0) rc = lookup(t, registry, type, err);
  if (rc == 0) rc = rs__check_schema_ids(*t, o, err);
  if (rc == 0 && version != NULL) rc = check_version(*t, version, err);
  return rc;
}

/* RS_OPT_STRICT: a lossy reading is refused, naming its first loss. */
static int strict(const rs_conversion *conv, const char *type, rs_error *err) {
  if (conv == NULL || rs_conversion_result_of(conv) != RS_CONVERSION_LOSSY)
    return 0;
  const rs_loss *loss = rs_conversion_loss(conv, 0);
  size_t n = rs_conversion_loss_count(conv);
  return rs__fail(err, RS_ECONVERT, RS_OFFSET_NONE,
                  "RS_OPT_STRICT: %s v%u read as v%u is lossy: %s %s%s: %s",
                  type, rs_conversion_from(conv), rs_conversion_to(conv),
                  loss ? rs_loss_path(loss) : "?",
                  loss ? rs_loss_kind_name(rs_loss_kind_of(loss)) : "lost",
                  n > 1 ? " (and more)" : "", loss ? rs_loss_text(loss) : "");
}

int rs_read_as(rs_record **out, const rs_registry *registry, const char *type,
               unsigned version, const uint8_t *buf, size_t len,
               const rs_options *options, rs_error *err) {
  if (out != NULL) *out = NULL;
  rs_options o;
  const rs__type *t = NULL;
  int rc = prologue("rs_read_as",
                    out != NULL && registry != NULL && (buf != NULL || !len),
                    &o, options, &t, registry, type, &version, err);
  if (rc != 0) return rc;
  rs__budget b;
  rs__budget_init(&b, o.allocator, o.max_alloc);
  rc = read_as(out, t, version, buf, len, &o, &b, NULL, err);
  if (rc == 0 && (o.flags & RS_OPT_STRICT) &&
      (rc = strict((*out)->conversion, t->name, err)) != 0) {
    rs_record_free(*out);
    *out = NULL;
  }
  return rc;
}

/* ---- encoding
 * ---------------------------------------------------------------- */

static int missing_required(const ProtobufCMessage *m, const char *type,
                            unsigned version, rs_error *err) {
  const ProtobufCMessageDescriptor *d = m->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->label != PROTOBUF_C_LABEL_REQUIRED) continue;
    const void *member = (const char *)m + f->offset;
    if ((f->type == PROTOBUF_C_TYPE_STRING ||
         f->type == PROTOBUF_C_TYPE_MESSAGE) &&
        *(const void *const *)member == NULL)
      return rs__fail(err, RS_EREQUIRED, RS_OFFSET_NONE,
                      "%s(%u) is required by version %u of %s and not set",
                      f->name, (unsigned)f->id, version, type);
  }
  return rs__fail(err, RS_EREQUIRED, RS_OFFSET_NONE,
                  "a required field of a nested message is not set (version "
                  "%u of %s)",
                  version, type);
}

/* Finds an unknown field protobuf-c would write back wrongly, at any depth. */
static bool unwritable_unknown(const ProtobufCMessage *m, unsigned depth,
                               uint32_t *number) {
  if (m == NULL || depth > 200) return false;
  for (unsigned i = 0; i < m->n_unknown_fields; i++)
    if (!rs__number_writable(m->unknown_fields[i].tag)) {
      *number = m->unknown_fields[i].tag;
      return true;
    }
  const ProtobufCMessageDescriptor *d = m->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
    const char *member = (const char *)m + f->offset;
    /* A oneof member shares storage with its siblings: only the set one. */
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
      continue;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
      const ProtobufCMessage *const *items =
          *(const ProtobufCMessage *const *const *)member;
      for (size_t j = 0; j < n; j++)
        if (unwritable_unknown(items[j], depth + 1, number)) return true;
    } else if (unwritable_unknown(*(const ProtobufCMessage *const *)member,
                                  depth + 1, number)) {
      return true;
    }
  }
  return false;
}

static int encode(rs_buf *out, const rs__type *t, const rs__version *v,
                  const ProtobufCMessage *msg, const rs_provenance *prov,
                  const rs_options *o, const ProtobufCAllocator *a,
                  rs_error *err) {
  if (msg->descriptor != v->desc)
    return rs__fail(err, RS_EMISMATCH, RS_OFFSET_NONE,
                    "message is %s, but version %u of %s is %s",
                    msg->descriptor->name, v->number, t->name, v->desc->name);
  if (!protobuf_c_message_check(msg))
    return missing_required(msg, t->name, v->number, err);
  uint32_t bad;
  if (unwritable_unknown(msg, 0, &bad))
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "the message carries an unknown field numbered %u, which "
                    "protobuf-c cannot write back readably",
                    (unsigned)bad);
  if (prov != NULL && prov->version != RS_PROVENANCE_VERSION)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_provenance.version is %u; this library knows %d",
                    prov->version, RS_PROVENANCE_VERSION);
  if (o->flags & RS_OPT_CONFLUENT)
    return rs__confluent_write(out, v->number, msg, o, a, err);
  if (v->encoding == RS_ENCODING_ENVELOPE) {
    bool fp = !(o->flags & RS_OPT_OMIT_FINGERPRINT);
    return rs__envelope_write(
        out, t->name, v->number, prov, fp ? v->fingerprint : NULL,
        fp ? RS_FINGERPRINT_LEN : 0, msg, o->max_record_size, a, err);
  }
  size_t n = protobuf_c_message_get_packed_size(msg);
  if (n > o->max_record_size)
    return rs__fail(err, RS_ELIMIT, RS_OFFSET_NONE,
                    "encoded record would be %zu bytes, over the limit of %zu",
                    n, o->max_record_size);
  if (rs__buf_reserve(out, n, a) != 0)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "encode: out of memory");
  out->len = protobuf_c_message_pack(msg, out->data);
  return 0;
}

int rs_encode(rs_buf *out, const rs_registry *registry, const char *type,
              unsigned version, const ProtobufCMessage *msg,
              const rs_provenance *provenance, const rs_options *options,
              rs_error *err) {
  rs_options o;
  const rs__type *t = NULL;
  int rc = prologue("rs_encode", out != NULL && registry != NULL && msg != NULL,
                    &o, options, &t, registry, type, &version, err);
  if (rc != 0) return rc;
  return encode(out, t, rs__type_version(t, version), msg, provenance, &o,
                rs__allocator_or_default(o.allocator), err);
}

int rs_transcode(rs_buf *out, rs_conversion **report,
                 const rs_registry *registry, const char *type,
                 unsigned version, const uint8_t *buf, size_t len,
                 const rs_provenance *provenance, const rs_options *options,
                 rs_error *err) {
  if (report != NULL) *report = NULL;
  rs_options o;
  const rs__type *t = NULL;
  int rc = prologue("rs_transcode",
                    out != NULL && registry != NULL && (buf != NULL || !len),
                    &o, options, &t, registry, type, &version, err);
  if (rc != 0) return rc;
  rs__budget b;
  rs__budget_init(&b, o.allocator, o.max_alloc);
  rs_record *rec;
  rc = read_as(&rec, t, version, buf, len, &o, &b, report, err);
  if (rc != 0) return rc;
  if ((o.flags & RS_OPT_STRICT) &&
      (rc = strict(rec->conversion, t->name, err)) != 0) {
    if (report != NULL) {
      *report = rec->conversion;
      rec->conversion = NULL;
    }
    rs_record_free(rec);
    return rc;
  }
  const rs_provenance *prov =
      provenance != NULL ? provenance : rs_record_provenance(rec);
  rc = encode(out, t, rs__type_version(t, version), rec->msg, prov, &o,
              rs__allocator_or_default(o.allocator), err);
  if (rc == 0 && report != NULL) {
    *report = rec->conversion;
    rec->conversion = NULL;
  }
  rs_record_free(rec);
  return rc;
}
