/*
 * Confluent Schema Registry framing (include/rollsafe/confluent.h):
 *
 *   byte 0       0x00 magic byte: field number 0, which no protobuf message
 *                starts with
 *   bytes 1..4   schema id, big-endian
 *   varints      message-index list: a count, then the indexes, each a
 *                zigzag varint of a 32-bit signed integer (Kafka's
 *                ByteUtils.readVarint: at most 5 bytes); the count 0 is [0]
 *   rest         protobuf payload
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

int rs_confluent_detect(const uint8_t *buf, size_t len) {
  return buf != NULL && len > 0 && buf[0] == RS_CONFLUENT_MAGIC;
}

static int malformed(rs_error *err, size_t offset, const char *what) {
  return rs__fail(err, RS_ECONFLUENT, offset,
                  "malformed Confluent header: %s at byte %zu", what, offset);
}

/*
 * One zigzag varint of a 32-bit signed integer, as Kafka writes it: at most
 * 5 bytes, and the value must fit 32 bits (the serializers never write
 * more). 0, or RS_ECONFLUENT with err naming the byte.
 */
static int read_zigzag32(const uint8_t *buf, size_t len, size_t *pos,
                         int32_t *out, const char *what, rs_error *err) {
  size_t start = *pos;
  uint64_t v = 0;
  for (unsigned i = 0; i < 5; i++) {
    if (*pos >= len) {
      char text[80];
      snprintf(text, sizeof text, "truncated %s", what);
      return malformed(err, start, text);
    }
    uint8_t b = buf[(*pos)++];
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      if (v > UINT32_MAX) {
        char text[80];
        snprintf(text, sizeof text, "%s over 32 bits", what);
        return malformed(err, start, text);
      }
      uint32_t u = (uint32_t)v;
      *out = (int32_t)((u >> 1) ^ (0u - (u & 1u)));
      return 0;
    }
  }
  char text[80];
  snprintf(text, sizeof text, "%s longer than 5 bytes", what);
  return malformed(err, start, text);
}

int rs_confluent_parse(rs_confluent_header *out, const uint8_t *buf,
                       size_t len, rs_error *err) {
  if (out == NULL || (buf == NULL && len > 0))
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_confluent_parse: out and buf are required");
  memset(out, 0, sizeof *out);
  if (len == 0 || buf[0] != RS_CONFLUENT_MAGIC)
    return malformed(err, 0, "no magic byte 0x00");
  if (len < RS_CONFLUENT_PREFIX)
    return malformed(err, len, "truncated schema id (needs 5 bytes)");
  out->schema_id = (uint32_t)buf[1] << 24 | (uint32_t)buf[2] << 16 |
                   (uint32_t)buf[3] << 8 | (uint32_t)buf[4];
  size_t pos = RS_CONFLUENT_PREFIX;
  int32_t count;
  int rc = read_zigzag32(buf, len, &pos, &count, "message-index count", err);
  if (rc != 0) return rc;
  if (count < 0)
    return malformed(err, RS_CONFLUENT_PREFIX, "negative message-index count");
  if ((uint32_t)count > RS_CONFLUENT_MAX_INDEXES) {
    char text[96];
    snprintf(text, sizeof text, "message-index count %ld over %u",
             (long)count, RS_CONFLUENT_MAX_INDEXES);
    return malformed(err, RS_CONFLUENT_PREFIX, text);
  }
  /* The count 0 is the serializers' shorthand for [0]. */
  out->n_indexes = count == 0 ? 1 : (size_t)count;
  for (int32_t i = 0; i < count; i++) {
    size_t at = pos;
    rc = read_zigzag32(buf, len, &pos, &out->indexes[i], "message index", err);
    if (rc != 0) return rc;
    if (out->indexes[i] < 0) return malformed(err, at, "negative message index");
  }
  out->payload_offset = pos;
  return 0;
}

int rs_confluent_path_matches(const rs_confluent_header *h,
                              const rs_schema_id *m) {
  if (h == NULL || m == NULL) return 0;
  static const int32_t first[1] = {0};
  const int32_t *want = m->n_indexes == 0 ? first : m->indexes;
  size_t n = m->n_indexes == 0 ? 1 : m->n_indexes;
  return n == h->n_indexes &&
         memcmp(want, h->indexes, n * sizeof *want) == 0;
}

const rs_schema_id *rs__schema_id_lookup(const rs_options *o,
                                         const rs_confluent_header *h) {
  for (size_t i = 0; i < o->n_schema_ids; i++)
    if (o->schema_ids[i].id == h->schema_id &&
        rs_confluent_path_matches(h, &o->schema_ids[i]))
      return &o->schema_ids[i];
  return NULL;
}

void rs__confluent_path_text(const rs_confluent_header *h, char *out,
                             size_t cap) {
  size_t n = 0;
  out[0] = '\0';
  for (size_t i = 0; i < h->n_indexes && n + 1 < cap; i++) {
    int w = snprintf(out + n, cap - n, "%s%ld", i ? ", " : "[",
                     (long)h->indexes[i]);
    if (w < 0) break;
    n += (size_t)w;
  }
  if (n + 1 < cap) snprintf(out + n, cap - n, "]");
}

/* The mapping that names version v: exactly one, else RS_EINVAL. */
static int reader_mapping(const rs_schema_id **out, const rs_options *o,
                          unsigned v, rs_error *err) {
  *out = NULL;
  size_t n = 0;
  for (size_t i = 0; i < o->n_schema_ids; i++)
    if (o->schema_ids[i].format_version == v) {
      if (n++ == 0) *out = &o->schema_ids[i];
    }
  if (n == 1) return 0;
  *out = NULL;
  return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                  "Confluent framing: %s schema id maps to format version %u "
                  "(rs_options.schema_ids needs exactly one)",
                  n == 0 ? "no" : "more than one", v);
}

static size_t zigzag_size(int32_t v) {
  return rs__varint_size(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

static size_t put_zigzag(uint8_t *w, int32_t v) {
  return rs__put_varint(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

int rs__confluent_write(rs_buf *out, unsigned version,
                        const ProtobufCMessage *payload, const rs_options *o,
                        const ProtobufCAllocator *a, rs_error *err) {
  const rs_schema_id *m;
  int rc = reader_mapping(&m, o, version, err);
  if (rc != 0) return rc;
  /* The path [0] is written as the serializers write it: the count 0. */
  bool first = m->n_indexes == 0 || (m->n_indexes == 1 && m->indexes[0] == 0);
  size_t hlen = RS_CONFLUENT_PREFIX + 1;
  if (!first) {
    hlen = RS_CONFLUENT_PREFIX + zigzag_size((int32_t)m->n_indexes);
    for (size_t i = 0; i < m->n_indexes; i++)
      hlen += zigzag_size(m->indexes[i]);
  }
  size_t plen = protobuf_c_message_get_packed_size(payload);
  if (plen > o->max_record_size || hlen > o->max_record_size - plen)
    return rs__fail(err, RS_ELIMIT, RS_OFFSET_NONE,
                    "encoded record would be %zu bytes, over the limit of %zu",
                    hlen + plen, o->max_record_size);
  if (rs__buf_reserve(out, hlen + plen, a) != 0)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "encode: out of memory");
  uint8_t *w = out->data;
  *w++ = RS_CONFLUENT_MAGIC;
  *w++ = (uint8_t)(m->id >> 24);
  *w++ = (uint8_t)(m->id >> 16);
  *w++ = (uint8_t)(m->id >> 8);
  *w++ = (uint8_t)m->id;
  if (first) {
    *w++ = 0;
  } else {
    w += put_zigzag(w, (int32_t)m->n_indexes);
    for (size_t i = 0; i < m->n_indexes; i++) w += put_zigzag(w, m->indexes[i]);
  }
  w += protobuf_c_message_pack(payload, w);
  out->len = (size_t)(w - out->data);
  return 0;
}

int rs__check_schema_ids(const rs__type *t, const rs_options *o,
                         rs_error *err) {
  for (size_t i = 0; i < o->n_schema_ids; i++) {
    const rs_schema_id *m = &o->schema_ids[i];
    if (rs__type_version(t, m->format_version) == NULL)
      return rs__fail(err, RS_ENOTFOUND, RS_OFFSET_NONE,
                      "%s has versions 1..%zu; schema id %lu maps to version "
                      "%u",
                      t->name, t->n_versions, (unsigned long)m->id,
                      m->format_version);
  }
  return 0;
}
