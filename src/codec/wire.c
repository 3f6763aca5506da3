/* The protobuf wire format, as far as rollsafe needs to read it itself. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

int rs__read_varint(const uint8_t *buf, size_t len, size_t *pos,
                    uint64_t *out) {
  uint64_t v = 0;
  size_t i = *pos;
  for (unsigned shift = 0; shift < 70; shift += 7) {
    if (i >= len) return -1;
    uint8_t b = buf[i++];
    if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *pos = i;
      *out = v;
      return 0;
    }
  }
  return -2;
}

static uint64_t read_le(const uint8_t *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

int rs__read_field(const uint8_t *buf, size_t len, size_t *pos, rs__wfield *f,
                   const char **why) {
  size_t start = *pos, i = *pos;
  /*
   * The tag is read exactly as protobuf-c 1.4 reads it (parse_tag_and_
   * wiretype): at most 5 bytes, a 32-bit value, and only a first byte below
   * 8 rejected as field 0. So a non-canonical "80 00" (field 0) or a field
   * number of 2^29 and up is an unknown field to protobuf-c, and to us.
   */
  if (i >= len) {
    *why = "truncated tag";
    return -1;
  }
  uint8_t b0 = buf[i++];
  if ((b0 & 0xf8) == 0) {
    *why = "field number 0";
    return -1;
  }
  uint32_t tag = (uint32_t)(b0 & 0x7f) >> 3;
  if (b0 & 0x80) {
    unsigned shift = 4;
    for (size_t k = 1;; k++) {
      if (k >= 5) {
        *why = "tag longer than 5 bytes";
        return -1;
      }
      if (i >= len) {
        *why = "truncated tag";
        return -1;
      }
      uint8_t b = buf[i++];
      tag |= (uint32_t)(b & 0x7f) << shift;
      if ((b & 0x80) == 0) break;
      shift += 7;
    }
  }
  f->tag_offset = start;
  f->wire_type = (unsigned)(b0 & 7);
  f->number = tag;
  int rc;
  switch (f->wire_type) {
    case RS__WT_VARINT:
      f->value_offset = i;
      rc = rs__read_varint(buf, len, &i, &f->value);
      if (rc != 0) {
        *pos = f->value_offset;
        *why = rc == -1 ? "truncated varint" : "varint longer than 10 bytes";
        return -1;
      }
      f->value_len = i - f->value_offset;
      break;
    case RS__WT_I64:
    case RS__WT_I32: {
      size_t n = f->wire_type == RS__WT_I64 ? 8 : 4;
      if (len - i < n) {
        *pos = i;
        *why = "truncated fixed-width value";
        return -1;
      }
      f->value_offset = i;
      f->value_len = n;
      f->value = read_le(buf + i, n);
      i += n;
      break;
    }
    case RS__WT_LEN: {
      uint64_t n;
      size_t at = i;
      rc = rs__read_varint(buf, len, &i, &n);
      if (rc != 0) {
        *pos = at;
        *why = "truncated length";
        return -1;
      }
      if (n > len - i) {
        *pos = at;
        *why = "length runs past the end";
        return -1;
      }
      f->value_offset = i;
      f->value_len = (size_t)n;
      f->value = n;
      i += (size_t)n;
      break;
    }
    case RS__WT_SGROUP:
    case RS__WT_EGROUP:
      *why = "group wire type (3/4), which protobuf-c does not read";
      return -1;
    default:
      *why = "invalid wire type 6 or 7";
      return -1;
  }
  f->end = i;
  *pos = i;
  return 0;
}

size_t rs__varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

size_t rs__put_varint(uint8_t *out, uint64_t v) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  out[n++] = (uint8_t)v;
  return n;
}

const char *rs__wire_type_name(unsigned wt) {
  switch (wt) {
    case RS__WT_VARINT:
      return "varint";
    case RS__WT_I64:
      return "64-bit";
    case RS__WT_LEN:
      return "length-delimited";
    case RS__WT_SGROUP:
      return "start-group";
    case RS__WT_EGROUP:
      return "end-group";
    case RS__WT_I32:
      return "32-bit";
    default:
      return "invalid";
  }
}

unsigned rs__field_wire_type(const ProtobufCFieldDescriptor *f) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_BOOL:
    case PROTOBUF_C_TYPE_ENUM:
      return RS__WT_VARINT;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
      return RS__WT_I64;
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
      return RS__WT_I32;
    case PROTOBUF_C_TYPE_MESSAGE:
      /* A proto2 group, an editions field with message_encoding =
       * DELIMITED: written between start- and end-group tags. */
      return (f->reserved_flags & RS_FIELD_FLAG_DELIMITED) ? RS__WT_SGROUP
                                                           : RS__WT_LEN;
    default:
      return RS__WT_LEN;
  }
}

bool rs__is_packable(const ProtobufCFieldDescriptor *f) {
  return f->label == PROTOBUF_C_LABEL_REPEATED &&
         rs__field_wire_type(f) != RS__WT_LEN &&
         rs__field_wire_type(f) != RS__WT_SGROUP;
}

bool rs__wire_type_ok(const ProtobufCFieldDescriptor *f, unsigned wt) {
  if (wt == rs__field_wire_type(f)) return true;
  /* protobuf-c reads repeated scalars packed or not, whatever the schema says.
   */
  return wt == RS__WT_LEN && rs__is_packable(f);
}

const char *rs__type_name(ProtobufCType t) {
  switch (t) {
    case PROTOBUF_C_TYPE_INT32:
      return "int32";
    case PROTOBUF_C_TYPE_SINT32:
      return "sint32";
    case PROTOBUF_C_TYPE_SFIXED32:
      return "sfixed32";
    case PROTOBUF_C_TYPE_INT64:
      return "int64";
    case PROTOBUF_C_TYPE_SINT64:
      return "sint64";
    case PROTOBUF_C_TYPE_SFIXED64:
      return "sfixed64";
    case PROTOBUF_C_TYPE_UINT32:
      return "uint32";
    case PROTOBUF_C_TYPE_FIXED32:
      return "fixed32";
    case PROTOBUF_C_TYPE_UINT64:
      return "uint64";
    case PROTOBUF_C_TYPE_FIXED64:
      return "fixed64";
    case PROTOBUF_C_TYPE_FLOAT:
      return "float";
    case PROTOBUF_C_TYPE_DOUBLE:
      return "double";
    case PROTOBUF_C_TYPE_BOOL:
      return "bool";
    case PROTOBUF_C_TYPE_ENUM:
      return "enum";
    case PROTOBUF_C_TYPE_STRING:
      return "string";
    case PROTOBUF_C_TYPE_BYTES:
      return "bytes";
    case PROTOBUF_C_TYPE_MESSAGE:
      return "message";
    default:
      return "unknown";
  }
}

int rs__check_depth(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                    size_t len, size_t base, unsigned depth, unsigned max_depth,
                    rs_error *err) {
  if (depth > max_depth)
    return rs__fail(err, RS_ELIMIT, base,
                    "more than %u messages nested within the record at byte "
                    "%zu",
                    max_depth - 1, base);
  size_t pos = 0;
  while (pos < len) {
    rs__wfield f;
    const char *why;
    if (rs__read_field(buf, len, &pos, &f, &why) != 0)
      return rs__fail(err, RS_EDECODE, base + pos, "%s at byte %zu", why,
                      base + pos);
    if (f.wire_type != RS__WT_LEN || d == NULL) continue;
    const ProtobufCFieldDescriptor *fd =
        protobuf_c_message_descriptor_get_field(d, f.number);
    if (fd == NULL || fd->type != PROTOBUF_C_TYPE_MESSAGE) continue;
    int rc = rs__check_depth(fd->descriptor, buf + f.value_offset, f.value_len,
                             base + f.value_offset, depth + 1, max_depth, err);
    if (rc != 0) return rc;
  }
  return 0;
}

/* ---- values of varint-encoded fields ---------------------------------------
 */

bool rs__is_varint_type(ProtobufCType t) {
  switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_BOOL:
    case PROTOBUF_C_TYPE_ENUM:
      return true;
    default:
      return false;
  }
}

static rs__ival from_signed(int64_t v) {
  rs__ival r;
  r.neg = v < 0;
  r.mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  return r;
}

/* The value a reader of type t sees in raw varint bits, as protobuf-c reads it.
 */
rs__ival rs__varint_value(ProtobufCType t, uint64_t raw) {
  rs__ival r = {false, 0};
  switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_ENUM:
      return from_signed((int32_t)(uint32_t)raw);
    case PROTOBUF_C_TYPE_INT64:
      return from_signed((int64_t)raw);
    case PROTOBUF_C_TYPE_UINT32:
      r.mag = (uint32_t)raw;
      return r;
    case PROTOBUF_C_TYPE_SINT32: {
      uint32_t u = (uint32_t)raw;
      return from_signed((int32_t)((u >> 1) ^ (0u - (u & 1))));
    }
    case PROTOBUF_C_TYPE_SINT64:
      return from_signed((int64_t)((raw >> 1) ^ (0ull - (raw & 1))));
    case PROTOBUF_C_TYPE_BOOL:
      r.mag = raw != 0;
      return r;
    default:
      r.mag = raw;
      return r;
  }
}

bool rs__varint_encode(ProtobufCType t, rs__ival v, uint64_t *raw) {
  const uint64_t i32max = 0x7fffffffu, i64max = 0x7fffffffffffffffull;
  switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_SINT32:
      if (v.neg ? v.mag > i32max + 1 : v.mag > i32max) return false;
      break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
      if (v.neg ? v.mag > i64max + 1 : v.mag > i64max) return false;
      break;
    case PROTOBUF_C_TYPE_UINT32:
      if (v.neg || v.mag > 0xffffffffu) return false;
      break;
    case PROTOBUF_C_TYPE_UINT64:
      if (v.neg) return false;
      break;
    case PROTOBUF_C_TYPE_BOOL:
      if (v.neg || v.mag > 1) return false;
      break;
    default:
      return false;
  }
  uint64_t bits = v.neg ? (uint64_t)0 - v.mag : v.mag; /* two's complement */
  if (t == PROTOBUF_C_TYPE_SINT32) {
    int32_t s = (int32_t)(uint32_t)bits;
    *raw = (uint32_t)(((uint32_t)s << 1) ^ (uint32_t)(s >> 31));
  } else if (t == PROTOBUF_C_TYPE_SINT64) {
    int64_t s = (int64_t)bits;
    *raw = ((uint64_t)s << 1) ^ (uint64_t)(s >> 63);
  } else {
    *raw = bits; /* int32 negatives are sign-extended to 64 bits on the wire */
  }
  return true;
}

bool rs__ival_eq(rs__ival a, rs__ival b) {
  return a.mag == b.mag && (a.neg == b.neg || a.mag == 0);
}

void rs__ival_format(rs__ival v, char *out, size_t n) {
  snprintf(out, n, "%s%llu", v.neg ? "-" : "", (unsigned long long)v.mag);
}

size_t rs__utf8_valid_prefix(const uint8_t *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF)
      n = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
      n = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
      n = 4, cp = c & 0x07;
    else
      return i;
    if (len - i < n) return i;
    for (size_t k = 1; k < n; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF. */
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return i;
    i += n;
  }
  return len;
}

/* ---- groups as length-delimited fields ----------------------------------- */

/* How rs__degroup writes the field at f of a message of d; DG_FOREIGN: a
 * field d declares, in a wire type it does not write it in. */
enum { DG_COPY, DG_DROP, DG_GROUP, DG_MESSAGE, DG_FOREIGN };

static int degroup_kind(const ProtobufCMessageDescriptor *d,
                        const rs__wfield *f, bool drop_foreign,
                        const ProtobufCMessageDescriptor **sub) {
  const ProtobufCFieldDescriptor *fd =
      protobuf_c_message_descriptor_get_field(d, f->number);
  bool delimited = fd != NULL && fd->type == PROTOBUF_C_TYPE_MESSAGE &&
                   (fd->reserved_flags & RS_FIELD_FLAG_DELIMITED);
  *sub =
      fd != NULL && fd->type == PROTOBUF_C_TYPE_MESSAGE ? fd->descriptor : NULL;
  /* The runtimes but protobuf-c keep a known field of a wire type its
   * type is not written in as an unknown field: left out, as an unknown
   * group is. */
  if (drop_foreign && fd != NULL && !rs__wire_type_ok(fd, f->wire_type))
    return DG_DROP;
  if (f->wire_type == RS__WT_SGROUP)
    return delimited ? DG_GROUP : fd == NULL ? DG_DROP : DG_FOREIGN;
  if (f->wire_type == RS__WT_LEN && *sub != NULL)
    return delimited ? DG_FOREIGN : DG_MESSAGE;
  return DG_COPY;
}

/*
 * Writes the degrouped form of buf into out (NULL: only counts) and
 * returns its size; SIZE_MAX when buf is malformed, in which case a
 * nested message is kept as it is.
 */
static size_t degroup_into(uint8_t *out, const ProtobufCMessageDescriptor *d,
                           const uint8_t *buf, size_t len, unsigned levels,
                           bool drop_foreign) {
  const rs__rules *r = rs__rules_for(RS_RUNTIME_CPP);
  size_t pos = 0, n = 0;
  while (pos < len) {
    rs__wfield f;
    const char *why;
    if (rs__read_field_rt(r, buf, len, &pos, &f, &why) != 0) return SIZE_MAX;
    const ProtobufCMessageDescriptor *sub;
    int kind = degroup_kind(d, &f, drop_foreign, &sub);
    if (kind == DG_DROP) continue;
    if (kind == DG_FOREIGN) return SIZE_MAX;
    size_t body = SIZE_MAX;
    if ((kind == DG_GROUP || kind == DG_MESSAGE) && levels > 0)
      body = degroup_into(NULL, sub, buf + f.value_offset, f.value_len,
                          levels - 1, drop_foreign);
    if (kind == DG_COPY || (kind == DG_MESSAGE && body == SIZE_MAX)) {
      if (out != NULL)
        memcpy(out + n, buf + f.tag_offset, f.end - f.tag_offset);
      n += f.end - f.tag_offset;
      continue;
    }
    if (kind == DG_GROUP && body == SIZE_MAX)
      continue; /* unreadable: left out */
    uint8_t head[20];
    size_t h = rs__put_varint(head, ((uint64_t)f.number << 3) | RS__WT_LEN);
    h += rs__put_varint(head + h, body);
    if (out != NULL) {
      memcpy(out + n, head, h);
      (void)degroup_into(out + n + h, sub, buf + f.value_offset, f.value_len,
                         levels - 1, drop_foreign);
    }
    n += h + body;
  }
  return n;
}

int rs__degroup(uint8_t **out, size_t *out_len,
                const ProtobufCMessageDescriptor *d, const uint8_t *buf,
                size_t len, unsigned levels, bool drop_foreign,
                const ProtobufCAllocator *a) {
  *out = NULL;
  *out_len = 0;
  size_t n = degroup_into(NULL, d, buf, len, levels, drop_foreign);
  if (n == SIZE_MAX) return RS_EDECODE;
  uint8_t *p = rs__alloc(a, n + 1);
  if (p == NULL) return RS_ENOMEM;
  (void)degroup_into(p, d, buf, len, levels, drop_foreign);
  *out = p;
  *out_len = n;
  return 0;
}
