/* src/report/json_record.c: see json_record.h. */
#include "json_record.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- strings ------------------------------------------------------------ */

/*
 * Length of the valid UTF-8 sequence at s[0..len), or 0 when it is invalid
 * (overlong forms, surrogates and code points past U+10FFFF included, as
 * jansson itself refuses them).
 */
static size_t utf8_sequence(const unsigned char *s, size_t len) {
  unsigned char c = s[0];
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n > len) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

json_t *rs__json_string_lossy(const char *s, size_t len) {
  if (s == NULL) return json_null();
  const unsigned char *u = (const unsigned char *)s;
  size_t bad = 0;
  for (size_t i = 0; i < len;) {
    size_t n = utf8_sequence(u + i, len - i);
    if (n == 0) {
      bad++;
      n = 1;
    }
    i += n;
  }
  if (bad == 0) return json_stringn(s, len);

  /* Each invalid byte becomes U+FFFD (3 bytes), as most decoders do. */
  char *fixed = malloc(len + 2 * bad + 1);
  if (fixed == NULL) return NULL;
  size_t w = 0;
  for (size_t i = 0; i < len;) {
    size_t n = utf8_sequence(u + i, len - i);
    if (n == 0) {
      memcpy(fixed + w, "\xEF\xBF\xBD", 3);
      w += 3;
      i++;
    } else {
      memcpy(fixed + w, s + i, n);
      w += n;
      i += n;
    }
  }
  json_t *j = json_stringn(fixed, w);
  free(fixed);
  return j;
}

json_t *rs__json_cstring(const char *s) {
  return s == NULL ? json_null() : rs__json_string_lossy(s, strlen(s));
}

json_t *rs__json_base64(const uint8_t *data, size_t len) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t out_len = (len + 2) / 3 * 4;
  char *out = malloc(out_len + 1);
  if (out == NULL) return NULL;
  size_t w = 0, i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v =
        (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
    out[w++] = alphabet[v >> 18];
    out[w++] = alphabet[(v >> 12) & 63];
    out[w++] = alphabet[(v >> 6) & 63];
    out[w++] = alphabet[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)data[i] << 16;
    out[w++] = alphabet[v >> 18];
    out[w++] = alphabet[(v >> 12) & 63];
    out[w++] = '=';
    out[w++] = '=';
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
    out[w++] = alphabet[v >> 18];
    out[w++] = alphabet[(v >> 12) & 63];
    out[w++] = alphabet[(v >> 6) & 63];
    out[w++] = '=';
  }
  json_t *j = json_stringn(out, w);
  free(out);
  return j;
}

json_t *rs__json_hex(const uint8_t *data, size_t len) {
  static const char digits[] = "0123456789abcdef";
  char *out = malloc(2 * len + 1);
  if (out == NULL) return NULL;
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[data[i] >> 4];
    out[2 * i + 1] = digits[data[i] & 15];
  }
  json_t *j = json_stringn(out, 2 * len);
  free(out);
  return j;
}

/* ---- time --------------------------------------------------------------- */

/* Civil date from days since 1970-01-01 (H. Hinnant's algorithm). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

int rs__rfc3339_us(char *out, size_t size, int64_t us) {
  if (size > 0) out[0] = '\0';
  int64_t secs = us / 1000000, frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    secs -= 1;
  }
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  int64_t year;
  unsigned month, day;
  civil_from_days(days, &year, &month, &day);
  if (year < 0 || year > 9999) return -1;
  int n = snprintf(out, size, "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", (int)year,
                   month, day, (int)(rem / 3600), (int)(rem / 60 % 60),
                   (int)(rem % 60), (int)frac);
  if (n < 0 || (size_t)n >= size) {
    if (size > 0) out[0] = '\0';
    return -1;
  }
  return 0;
}

/* ---- messages ----------------------------------------------------------- */

/*
 * How many more values may be shown, and how many were not. Every value
 * counts one: a set field, each element of a repeated field, each unknown
 * field (a message's own fields count besides).
 */
typedef struct render_limit {
  size_t left;
  size_t omitted;
} render_limit;

static json_t *render_message(const ProtobufCMessage *msg, unsigned depth,
                              render_limit *lim);
static size_t count_values(const ProtobufCMessage *msg, unsigned depth);

static json_t *json_int64(int64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%" PRId64, v);
  return json_string(buf);
}

static json_t *json_uint64(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "%" PRIu64, v);
  return json_string(buf);
}

/* jansson refuses NaN and infinities; protobuf's JSON mapping spells them. */
static json_t *json_double(double v) {
  if (isnan(v)) return json_string("NaN");
  if (isinf(v)) return json_string(v > 0 ? "Infinity" : "-Infinity");
  return json_real(v);
}

/* One value of field @p f stored at @p p (a member, or an array element). */
static json_t *render_value(const ProtobufCFieldDescriptor *f, const void *p,
                            unsigned depth, render_limit *lim) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: {
      int32_t v;
      memcpy(&v, p, sizeof v);
      return json_integer(v);
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: {
      uint32_t v;
      memcpy(&v, p, sizeof v);
      return json_integer((json_int_t)v);
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
      int64_t v;
      memcpy(&v, p, sizeof v);
      return json_int64(v);
    }
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
      uint64_t v;
      memcpy(&v, p, sizeof v);
      return json_uint64(v);
    }
    case PROTOBUF_C_TYPE_FLOAT: {
      float v;
      memcpy(&v, p, sizeof v);
      return json_double((double)v);
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
      double v;
      memcpy(&v, p, sizeof v);
      return json_double(v);
    }
    case PROTOBUF_C_TYPE_BOOL: {
      protobuf_c_boolean v;
      memcpy(&v, p, sizeof v);
      return json_boolean(v);
    }
    case PROTOBUF_C_TYPE_ENUM: {
      /* protobuf-c stores every enum as a 32-bit int and keeps values it
       * does not know: show those as the number the reader holds. */
      int32_t v;
      memcpy(&v, p, sizeof v);
      const ProtobufCEnumValue *ev =
          f->descriptor != NULL
              ? protobuf_c_enum_descriptor_get_value(f->descriptor, v)
              : NULL;
      return ev != NULL ? json_string(ev->name) : json_integer(v);
    }
    case PROTOBUF_C_TYPE_STRING: {
      const char *s;
      memcpy(&s, p, sizeof s);
      return s != NULL ? rs__json_cstring(s) : json_null();
    }
    case PROTOBUF_C_TYPE_BYTES: {
      ProtobufCBinaryData b;
      memcpy(&b, p, sizeof b);
      return rs__json_base64(b.data, b.data != NULL ? b.len : 0);
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
      const ProtobufCMessage *m;
      memcpy(&m, p, sizeof m);
      return m != NULL ? render_message(m, depth + 1, lim) : json_null();
    }
  }
  return json_null();
}

/* Bytes one element of a repeated field of type @p type takes in its array. */
static size_t element_size(ProtobufCType type) {
  switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
      return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
      return 8;
    case PROTOBUF_C_TYPE_BOOL:
      return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
      return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
      return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
      return sizeof(ProtobufCMessage *);
  }
  return 0;
}

/* A proto3 field without presence is "set" when it is not its zero value. */
static int is_zeroish(const ProtobufCFieldDescriptor *f, const void *p) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM: {
      uint32_t v;
      memcpy(&v, p, sizeof v);
      return v == 0;
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
      uint64_t v;
      memcpy(&v, p, sizeof v);
      return v == 0;
    }
    case PROTOBUF_C_TYPE_FLOAT: {
      float v;
      memcpy(&v, p, sizeof v);
      return v == 0;
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
      double v;
      memcpy(&v, p, sizeof v);
      return v == 0;
    }
    case PROTOBUF_C_TYPE_BOOL: {
      protobuf_c_boolean v;
      memcpy(&v, p, sizeof v);
      return !v;
    }
    case PROTOBUF_C_TYPE_STRING: {
      const char *s;
      memcpy(&s, p, sizeof s);
      return s == NULL || s[0] == '\0';
    }
    case PROTOBUF_C_TYPE_BYTES: {
      ProtobufCBinaryData b;
      memcpy(&b, p, sizeof b);
      return b.len == 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
      const void *m;
      memcpy(&m, p, sizeof m);
      return m == NULL;
    }
  }
  return 1;
}

static int is_pointer_type(ProtobufCType type) {
  return type == PROTOBUF_C_TYPE_MESSAGE || type == PROTOBUF_C_TYPE_STRING;
}

/*
 * Whether a non-repeated field is set, by the same rules protobuf-c's packer
 * uses to decide whether to write it.
 */
static int is_set(const ProtobufCMessage *msg,
                  const ProtobufCFieldDescriptor *f) {
  const char *base = (const char *)msg;
  const void *member = base + f->offset;
  const void *ptr = NULL;
  if (is_pointer_type(f->type)) memcpy(&ptr, member, sizeof ptr);

  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
    /* The quantifier is the oneof's case: only the member it names is set. */
    uint32_t which;
    memcpy(&which, base + f->quantifier_offset, sizeof which);
    if (which != f->id) return 0;
    return is_pointer_type(f->type) ? ptr != NULL : 1;
  }
  switch (f->label) {
    case PROTOBUF_C_LABEL_REQUIRED:
      return is_pointer_type(f->type) ? ptr != NULL : 1;
    case PROTOBUF_C_LABEL_OPTIONAL:
      if (is_pointer_type(f->type))
        /* Unset optional strings point at their default value. */
        return ptr != NULL && ptr != f->default_value;
      {
        protobuf_c_boolean has;
        memcpy(&has, base + f->quantifier_offset, sizeof has);
        return has != 0;
      }
    case PROTOBUF_C_LABEL_NONE:
      return !is_zeroish(f, member);
    case PROTOBUF_C_LABEL_REPEATED:
      break;
  }
  return 0;
}

/*
 * Length of an unknown field's value. protobuf-c keeps the bytes after the
 * tag, which for wire type 2 (length-delimited) start with the varint
 * length: report the content's length then, as a reader of the schema
 * would count it.
 */
static size_t unknown_length(const ProtobufCMessageUnknownField *u) {
  if (u->wire_type != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED || u->data == NULL)
    return u->len;
  uint64_t v = 0;
  for (size_t i = 0; i < u->len && i < 10; i++) {
    v |= (uint64_t)(u->data[i] & 0x7F) << (7 * i);
    if ((u->data[i] & 0x80) == 0)
      return v == u->len - i - 1 ? (size_t)v : u->len;
  }
  return u->len;
}

static json_t *render_unknown(const ProtobufCMessage *msg, render_limit *lim) {
  json_t *arr = json_array();
  if (arr == NULL) return NULL;
  size_t n = msg->n_unknown_fields;
  size_t shown = n < lim->left ? n : lim->left;
  lim->left -= shown;
  lim->omitted += n - shown;
  for (size_t i = 0; i < shown; i++) {
    const ProtobufCMessageUnknownField *u = &msg->unknown_fields[i];
    json_t *o = json_object();
    if (json_array_append_new(arr, o) ||
        json_object_set_new(o, "number", json_integer(u->tag)) ||
        json_object_set_new(o, "wire_type", json_integer(u->wire_type)) ||
        json_object_set_new(o, "length",
                            json_integer((json_int_t)unknown_length(u)))) {
      json_decref(arr);
      return NULL;
    }
  }
  return arr;
}

/* Values of one element (or a singular value): 1, and a message's own. */
static size_t count_value(const ProtobufCFieldDescriptor *f, const void *p,
                          unsigned depth) {
  if (f->type != PROTOBUF_C_TYPE_MESSAGE) return 1;
  const ProtobufCMessage *m;
  memcpy(&m, p, sizeof m);
  return 1 + (m != NULL ? count_values(m, depth + 1) : 0);
}

/* The values of a message that render_message would show, unlimited. */
static size_t count_values(const ProtobufCMessage *msg, unsigned depth) {
  if (depth > RS__JSON_MAX_DEPTH) return 0;
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  size_t total = msg->n_unknown_fields;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const char *member = (const char *)msg + f->offset;
    if (f->label != PROTOBUF_C_LABEL_REPEATED) {
      if (is_set(msg, f)) total += count_value(f, member, depth);
      continue;
    }
    size_t n;
    const char *arr;
    memcpy(&n, (const char *)msg + f->quantifier_offset, sizeof n);
    memcpy(&arr, member, sizeof arr);
    size_t size = element_size(f->type);
    for (size_t k = 0; arr != NULL && k < n; k++)
      total += count_value(f, arr + k * size, depth);
  }
  return total;
}

static json_t *render_repeated(const ProtobufCMessage *msg,
                               const ProtobufCFieldDescriptor *f,
                               unsigned depth, render_limit *lim) {
  const char *base = (const char *)msg;
  size_t n;
  const char *arr;
  memcpy(&n, base + f->quantifier_offset, sizeof n);
  memcpy(&arr, base + f->offset, sizeof arr);
  json_t *out = json_array();
  if (out == NULL) return NULL;
  size_t size = element_size(f->type);
  for (size_t i = 0; arr != NULL && i < n; i++) {
    if (lim->left == 0) {
      lim->omitted += count_value(f, arr + i * size, depth);
      continue;
    }
    lim->left--;
    if (json_array_append_new(out,
                              render_value(f, arr + i * size, depth, lim))) {
      json_decref(out);
      return NULL;
    }
  }
  return out;
}

static json_t *render_message(const ProtobufCMessage *msg, unsigned depth,
                              render_limit *lim) {
  if (depth > RS__JSON_MAX_DEPTH) return json_null();
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  json_t *obj = json_object();
  if (obj == NULL) return NULL;

  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const char *member = (const char *)msg + f->offset;
    json_t *value = NULL;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n;
      memcpy(&n, (const char *)msg + f->quantifier_offset, sizeof n);
      if (n == 0) continue; /* an empty repeated field is not set */
      if (lim->left == 0) {
        /* Nothing of it is shown: not even an empty array. */
        const char *arr;
        memcpy(&arr, member, sizeof arr);
        size_t size = element_size(f->type);
        for (size_t k = 0; arr != NULL && k < n; k++)
          lim->omitted += count_value(f, arr + k * size, depth);
        continue;
      }
      value = render_repeated(msg, f, depth, lim);
    } else {
      if (!is_set(msg, f)) continue;
      if (lim->left == 0) {
        lim->omitted += count_value(f, member, depth);
        continue;
      }
      lim->left--;
      value = render_value(f, member, depth, lim);
    }
    if (json_object_set_new(obj, f->name, value)) {
      json_decref(obj);
      return NULL;
    }
  }
  if (msg->n_unknown_fields > 0 && lim->left == 0) {
    lim->omitted += msg->n_unknown_fields;
  } else if (msg->n_unknown_fields > 0 &&
             json_object_set_new(obj, "unknown_fields",
                                 render_unknown(msg, lim))) {
    json_decref(obj);
    return NULL;
  }
  return obj;
}

json_t *rs__json_message(const ProtobufCMessage *msg) {
  return rs__json_message_limited(msg, SIZE_MAX, NULL);
}

json_t *rs__json_message_limited(const ProtobufCMessage *msg, size_t max_values,
                                 size_t *omitted) {
  render_limit lim = {max_values, 0};
  json_t *out = msg != NULL ? render_message(msg, 0, &lim) : json_null();
  if (omitted != NULL) *omitted = lim.omitted;
  return out;
}
