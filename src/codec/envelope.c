/*
 * The rollsafe envelope (schema/README.md):
 *
 *   byte 0      0xF7 marker: wire type 7, which no protobuf message starts with
 *   byte 1      envelope major version (1)
 *   varint H    length of the header
 *   H bytes     rollsafe.envelope.Header, protobuf
 *   rest        payload: the protobuf message of Header.format_version
 */
#include <string.h>

#include "internal.h"
#include "rollsafe/envelope.pb-c.h"

int rs_envelope_detect(const uint8_t *buf, size_t len) {
  return buf != NULL && len > 0 && buf[0] == RS_ENVELOPE_MARKER;
}

void rs__envelope_dispose(rs__envelope *env, const ProtobufCAllocator *a) {
  rs__free(a, env->record_type);
  rs__free(a, env->flag_key);
  rs__free(a, env->variant);
  rs__free(a, env->writer_id);
  env->record_type = env->flag_key = env->variant = env->writer_id = NULL;
}

static int malformed(rs__env_status *status, rs_error *err, size_t offset,
                     const char *what) {
  *status = RS__ENV_MALFORMED;
  return rs__fail(err, RS_EENVELOPE, offset,
                  "malformed envelope: %s at byte %zu", what, offset);
}

/* Empty proto3 strings are "not recorded": keep them NULL. */
static int copy_opt(char **dst, const char *src, const ProtobufCAllocator *a) {
  *dst = NULL;
  if (src == NULL || src[0] == '\0') return 0;
  *dst = rs__strdup(a, src);
  return *dst != NULL ? 0 : RS_ENOMEM;
}

int rs__envelope_parse(rs__envelope *env, rs__env_status *status,
                       const uint8_t *buf, size_t len,
                       const ProtobufCAllocator *a, rs_error *err) {
  memset(env, 0, sizeof *env);
  *status = RS__ENV_OK;
  if (len < 3)
    return malformed(status, err, len, "truncated fixed part (needs 3 bytes)");
  env->major = buf[1];
  if (env->major != RS_ENVELOPE_MAJOR) {
    *status = RS__ENV_UNSUPPORTED;
    return rs__fail(err, RS_EENVELOPE, 1,
                    "envelope major version %u is not supported (this reader "
                    "knows %u) at byte 1",
                    env->major, RS_ENVELOPE_MAJOR);
  }
  size_t pos = 2;
  uint64_t hlen;
  if (rs__read_varint(buf, len, &pos, &hlen) != 0)
    return malformed(status, err, 2, "truncated header length");
  if (hlen > RS_ENVELOPE_MAX_HEADER)
    return malformed(status, err, 2, "header length over 4096 bytes");
  if (hlen > len - pos)
    return malformed(status, err, 2, "header runs past the end of the record");
  env->header_offset = pos;
  env->header_len = (size_t)hlen;
  env->payload_offset = pos + (size_t)hlen;

  Rollsafe__Envelope__Header *h =
      rollsafe__envelope__header__unpack(RS__PA(a), env->header_len, buf + pos);
  if (h == NULL) {
    /* Allocation failures surface through the caller's budget flags. */
    return malformed(status, err, pos, "header is not a valid Header message");
  }
  int rc = 0;
  if (h->record_type == NULL || h->record_type[0] == '\0') {
    rc = malformed(status, err, pos, "header has no record type");
  } else if (h->format_version == 0) {
    rc = malformed(status, err, pos, "header has no format version");
  } else if (h->n_critical > 0) {
    *status = RS__ENV_UNSUPPORTED;
    rc = rs__fail(err, RS_EENVELOPE, pos,
                  "envelope requires feature \"%.64s\", unknown to this "
                  "reader (header at byte %zu)",
                  h->critical[0], pos);
  } else if (h->schema_fingerprint.len > sizeof env->fingerprint) {
    rc = malformed(status, err, pos, "schema fingerprint longer than 32 bytes");
  }
  if (rc == 0) {
    env->format_version = h->format_version;
    env->fingerprint_len = h->schema_fingerprint.len;
    if (env->fingerprint_len != 0)
      memcpy(env->fingerprint, h->schema_fingerprint.data,
             env->fingerprint_len);
    env->record_type = rs__strdup(a, h->record_type);
    if (env->record_type == NULL) rc = RS_ENOMEM;
    if (rc == 0 && h->provenance != NULL) {
      env->has_provenance = true;
      env->write_time_us = h->provenance->write_time_us;
      if (copy_opt(&env->flag_key, h->provenance->flag_key, a) != 0 ||
          copy_opt(&env->variant, h->provenance->variant, a) != 0 ||
          copy_opt(&env->writer_id, h->provenance->writer_id, a) != 0)
        rc = RS_ENOMEM;
    }
    if (rc == RS_ENOMEM)
      rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "envelope: out of memory");
  }
  rollsafe__envelope__header__free_unpacked(h, RS__PA(a));
  if (rc != 0) rs__envelope_dispose(env, a);
  return rc;
}

static char *or_empty(const char *s) {
  return (char *)(s != NULL ? s : protobuf_c_empty_string);
}

int rs__envelope_write(rs_buf *out, const char *type, unsigned version,
                       const rs_provenance *prov, const uint8_t *fingerprint,
                       size_t fingerprint_len, const ProtobufCMessage *payload,
                       size_t max_size, const ProtobufCAllocator *a,
                       rs_error *err) {
  Rollsafe__Envelope__Header h = ROLLSAFE__ENVELOPE__HEADER__INIT;
  Rollsafe__Envelope__Provenance p = ROLLSAFE__ENVELOPE__PROVENANCE__INIT;
  h.record_type = (char *)type;
  h.format_version = version;
  if (prov != NULL) {
    p.flag_key = or_empty(prov->flag_key);
    p.variant = or_empty(prov->variant);
    p.writer_id = or_empty(prov->writer_id);
    p.write_time_us = prov->write_time_us;
    h.provenance = &p;
  }
  if (fingerprint != NULL) {
    h.schema_fingerprint.data = (uint8_t *)fingerprint;
    h.schema_fingerprint.len = fingerprint_len;
  }
  size_t hlen = rollsafe__envelope__header__get_packed_size(&h);
  if (hlen > RS_ENVELOPE_MAX_HEADER)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "envelope header would be %zu bytes, over the maximum of "
                    "%u (record type or provenance too long)",
                    hlen, RS_ENVELOPE_MAX_HEADER);
  size_t plen = protobuf_c_message_get_packed_size(payload);
  size_t total = 2 + rs__varint_size(hlen) + hlen + plen;
  if (total > max_size)
    return rs__fail(err, RS_ELIMIT, RS_OFFSET_NONE,
                    "encoded record would be %zu bytes, over the limit of %zu",
                    total, max_size);
  if (rs__buf_reserve(out, total, a) != 0)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "encode: out of memory");
  uint8_t *w = out->data;
  *w++ = RS_ENVELOPE_MARKER;
  *w++ = RS_ENVELOPE_MAJOR;
  w += rs__put_varint(w, hlen);
  w += rollsafe__envelope__header__pack(&h, w);
  w += protobuf_c_message_pack(payload, w);
  out->len = (size_t)(w - out->data);
  return 0;
}
