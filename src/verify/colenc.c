/* src/verify/colenc.c: see colenc.h. */
#include "verify/colenc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const names[] = {"binary", "base64", "hex"};

const char *colenc_name(colenc_kind kind) {
  return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : NULL;
}

int colenc_from_name(const char *name, colenc_kind *out) {
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strcmp(name, names[i]) == 0) {
      *out = (colenc_kind)i;
      return 0;
    }
  }
  return -1;
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int
fail(colenc_error *err, size_t offset, const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    va_start(ap, fmt);
    err->offset = offset;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* "'!'" for a printable character, "byte 0x0a" otherwise. */
static const char *shown(char buf[16], uint8_t c) {
  if (c >= 0x21 && c < 0x7f && c != '\'')
    snprintf(buf, 16, "character '%c'", c);
  else
    snprintf(buf, 16, "byte 0x%02x", c);
  return buf;
}

size_t colenc_decoded_max(colenc_kind kind, size_t len) {
  switch (kind) {
    case COLENC_BASE64:
      return len / 4 * 3 + 2;
    case COLENC_HEX:
      return len / 2;
    default:
      return len;
  }
}

/* ---- hex ---------------------------------------------------------------- */

static int hex_value(uint8_t c, int *upper, int *lower) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') {
    *lower = 1;
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    *upper = 1;
    return c - 'A' + 10;
  }
  return -1;
}

static int hex_decode(const uint8_t *in, size_t len, uint8_t *out,
                      size_t *out_len, colenc_variant *v, colenc_error *err) {
  char buf[16];
  size_t start = len >= 2 && in[0] == '\\' && in[1] == 'x' ? 2 : 0;
  int upper = 0, lower = 0;
  v->prefix = start == 2;
  for (size_t i = start; i < len; i++) {
    if (hex_value(in[i], &upper, &lower) < 0)
      return fail(err, i, "not hex: invalid %s at offset %zu",
                  shown(buf, in[i]), i);
  }
  if ((len - start) % 2 != 0)
    return fail(err, len - 1,
                "not hex: an odd number of digits, the %s at offset %zu is "
                "half a byte",
                shown(buf, in[len - 1]), len - 1);
  size_t n = 0;
  for (size_t i = start; i < len; i += 2) {
    int hi = hex_value(in[i], &upper, &lower);
    int lo = hex_value(in[i + 1], &upper, &lower);
    out[n++] = (uint8_t)(hi << 4 | lo);
  }
  /* Mixed case writes back lower case, as PostgreSQL does. */
  v->upper = upper && !lower;
  *out_len = n;
  return 0;
}

static size_t hex_encode(const colenc_variant *v, const uint8_t *in, size_t len,
                         uint8_t *out) {
  const char *digits = v->upper ? "0123456789ABCDEF" : "0123456789abcdef";
  size_t n = 0;
  if (v->prefix) {
    out[n++] = '\\';
    out[n++] = 'x';
  }
  for (size_t i = 0; i < len; i++) {
    out[n++] = (uint8_t)digits[in[i] >> 4];
    out[n++] = (uint8_t)digits[in[i] & 15];
  }
  return n;
}

/* ---- base64 ------------------------------------------------------------- */

/* The value of a base64 character, either alphabet; *std or *url set for
 * the characters only one alphabet has. */
static int base64_value(uint8_t c, int *std, int *url) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '/') {
    *std = 1;
    return c == '+' ? 62 : 63;
  }
  if (c == '-' || c == '_') {
    *url = 1;
    return c == '-' ? 62 : 63;
  }
  return -1;
}

/* The characters before the padding, checked: none outside the alphabets,
 * the alphabets not mixed. */
static int base64_check(const uint8_t *in, size_t data, colenc_variant *v,
                        colenc_error *err) {
  char buf[16];
  int std = 0, url = 0;
  for (size_t i = 0; i < data; i++) {
    int was_std = std, was_url = url;
    if (base64_value(in[i], &std, &url) < 0)
      return fail(err, i, "not base64: invalid %s at offset %zu",
                  shown(buf, in[i]), i);
    if ((std && url) && !(was_std && was_url))
      return fail(err, i,
                  "not base64: the %s at offset %zu mixes the URL-safe and "
                  "standard alphabets",
                  shown(buf, in[i]), i);
  }
  v->url_safe = url != 0;
  return 0;
}

static int base64_decode(const uint8_t *in, size_t len, uint8_t *out,
                         size_t *out_len, colenc_variant *v,
                         colenc_error *err) {
  char buf[16];
  size_t data = len;
  while (data > 0 && in[data - 1] == '=') data--;
  size_t pad = len - data;
  /* A '=' before the padding is an invalid character at its place. */
  int rc = base64_check(in, data, v, err);
  if (rc != 0) return rc;
  if (data % 4 == 1)
    return fail(err, data - 1,
                "not base64: truncated, the lone %s at offset %zu is not a "
                "byte",
                shown(buf, in[data - 1]), data - 1);
  if (pad > 0 && (pad > 2 || len % 4 != 0 || data % 4 == 0))
    return fail(err, data, "not base64: misplaced padding at offset %zu", data);
  v->padded = pad > 0 || data % 4 == 0;
  int std = 0, url = 0;
  uint32_t acc = 0;
  size_t n = 0, k = 0;
  for (size_t i = 0; i < data; i++) {
    acc = acc << 6 | (uint32_t)base64_value(in[i], &std, &url);
    if (++k == 4) {
      out[n++] = (uint8_t)(acc >> 16);
      out[n++] = (uint8_t)(acc >> 8);
      out[n++] = (uint8_t)acc;
      acc = 0;
      k = 0;
    }
  }
  if (k == 2) out[n++] = (uint8_t)(acc >> 4);
  if (k == 3) {
    out[n++] = (uint8_t)(acc >> 10);
    out[n++] = (uint8_t)(acc >> 2);
  }
  *out_len = n;
  return 0;
}

static size_t base64_encode(const colenc_variant *v, const uint8_t *in,
                            size_t len, uint8_t *out) {
  const char *alphabet =
      v->url_safe
          ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
          : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = 0, i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t acc = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[n++] = (uint8_t)alphabet[acc >> 18];
    out[n++] = (uint8_t)alphabet[acc >> 12 & 63];
    out[n++] = (uint8_t)alphabet[acc >> 6 & 63];
    out[n++] = (uint8_t)alphabet[acc & 63];
  }
  size_t rest = len - i;
  if (rest > 0) {
    uint32_t acc = (uint32_t)in[i] << 16;
    if (rest == 2) acc |= (uint32_t)in[i + 1] << 8;
    out[n++] = (uint8_t)alphabet[acc >> 18];
    out[n++] = (uint8_t)alphabet[acc >> 12 & 63];
    if (rest == 2) out[n++] = (uint8_t)alphabet[acc >> 6 & 63];
    for (size_t p = rest; v->padded && p < 3; p++) out[n++] = '=';
  }
  return n;
}

/* ---- either ------------------------------------------------------------- */

int colenc_decode(colenc_kind kind, const uint8_t *in, size_t len, uint8_t *out,
                  size_t *out_len, colenc_variant *variant, colenc_error *err) {
  colenc_variant v = {kind, 0, 0, 0, 0};
  int rc = 0;
  switch (kind) {
    case COLENC_BASE64:
      rc = base64_decode(in, len, out, out_len, &v, err);
      break;
    case COLENC_HEX:
      rc = hex_decode(in, len, out, out_len, &v, err);
      break;
    default:
      if (len > 0) memcpy(out, in, len);
      *out_len = len;
      break;
  }
  if (rc == 0 && variant != NULL) *variant = v;
  return rc;
}

size_t colenc_encoded_len(const colenc_variant *v, size_t len) {
  switch (v->kind) {
    case COLENC_BASE64:
      return v->padded ? (len + 2) / 3 * 4
                       : len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
    case COLENC_HEX:
      return 2 * len + (v->prefix ? 2 : 0);
    default:
      return len;
  }
}

size_t colenc_encode(const colenc_variant *v, const uint8_t *in, size_t len,
                     uint8_t *out) {
  switch (v->kind) {
    case COLENC_BASE64:
      return base64_encode(v, in, len, out);
    case COLENC_HEX:
      return hex_encode(v, in, len, out);
    default:
      if (len > 0) memcpy(out, in, len);
      return len;
  }
}
