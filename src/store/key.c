/*
 * src/store/key.c: the text of a key of several columns, a JSON array of
 * its values (see store.h). The SQLite adapter writes it and reads it back
 * to bind each part with its own storage class; it must read back exactly
 * what it wrote, so the form is fixed: no blanks, strings with `"`, `\` and
 * control characters escaped (\uXXXX), other bytes as they are; integers in
 * decimal, reals with 17 significant digits (which read back to the same
 * double). The reader also takes the JSON a PostgreSQL server writes
 * (blanks after commas, \uXXXX escapes of any character).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

static int put(store__key_buf *b, const char *p, size_t n) {
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n + 1) {
      if (cap > SIZE_MAX / 2) return -1;
      cap *= 2;
    }
    char *grown = realloc(b->data, cap);
    if (grown == NULL) return -1;
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int store__key_begin(store__key_buf *b) {
  b->len = 0;
  return put(b, "[", 1);
}

int store__key_end(store__key_buf *b) {
  return put(b, "]", 1);
}

static int put_string(store__key_buf *b, const char *p, size_t n) {
  if (put(b, "\"", 1) != 0) return -1;
  size_t run = 0; /* bytes copied as they are, pending */
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c >= 0x20 && c != '"' && c != '\\') {
      run++;
      continue;
    }
    if (put(b, p + i - run, run) != 0) return -1;
    run = 0;
    char esc[8];
    if (c == '"' || c == '\\')
      snprintf(esc, sizeof esc, "\\%c", c);
    else
      snprintf(esc, sizeof esc, "\\u%04x", c);
    if (put(b, esc, strlen(esc)) != 0) return -1;
  }
  if (put(b, p + n - run, run) != 0) return -1;
  return put(b, "\"", 1);
}

int store__key_add(store__key_buf *b, const store__part *part) {
  if (b->len > 1 && put(b, ",", 1) != 0) return -1;
  char num[40];
  switch (part->type) {
    case STORE_PART_INT:
      snprintf(num, sizeof num, "%lld", (long long)part->i);
      return put(b, num, strlen(num));
    case STORE_PART_REAL:
      snprintf(num, sizeof num, "%.17g", part->r);
      /* A real that prints as an integer stays a real: "5.0". */
      if (strspn(num, "-0123456789") == strlen(num)) strcat(num, ".0");
      return put(b, num, strlen(num));
    default:
      return put_string(b, part->text, part->len);
  }
}

/* ---- reading ---- */

typedef struct reader {
  const char *p;
  char *out; /* where the next decoded text goes */
} reader;

static void skip_blanks(reader *r) {
  while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
    r->p++;
}

static int hex4(const char *p, unsigned *out) {
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v |= (unsigned)(c - 'A' + 10);
    else
      return -1;
  }
  *out = v;
  return 0;
}

/* Appends code point @p cp as UTF-8. */
static void put_utf8(reader *r, unsigned cp) {
  if (cp < 0x80) {
    *r->out++ = (char)cp;
  } else if (cp < 0x800) {
    *r->out++ = (char)(0xC0 | cp >> 6);
    *r->out++ = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *r->out++ = (char)(0xE0 | cp >> 12);
    *r->out++ = (char)(0x80 | (cp >> 6 & 0x3F));
    *r->out++ = (char)(0x80 | (cp & 0x3F));
  } else {
    *r->out++ = (char)(0xF0 | cp >> 18);
    *r->out++ = (char)(0x80 | (cp >> 12 & 0x3F));
    *r->out++ = (char)(0x80 | (cp >> 6 & 0x3F));
    *r->out++ = (char)(0x80 | (cp & 0x3F));
  }
}

/* A \u escape at r->p (after the backslash and 'u'), surrogate pairs
 * joined; a NUL is refused (key texts hold none). 0 or -1. */
static int read_escape_u(reader *r) {
  unsigned cp;
  if (hex4(r->p, &cp) != 0) return -1;
  r->p += 4;
  if (cp >= 0xD800 && cp < 0xDC00) {
    unsigned lo;
    if (r->p[0] != '\\' || r->p[1] != 'u' || hex4(r->p + 2, &lo) != 0 ||
        lo < 0xDC00 || lo > 0xDFFF)
      return -1;
    r->p += 6;
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
  } else if (cp >= 0xDC00 && cp < 0xE000) {
    return -1;
  }
  if (cp == 0) return -1;
  put_utf8(r, cp);
  return 0;
}

static int read_string(reader *r, store__part *part) {
  r->p++; /* the opening quote */
  part->type = STORE_PART_TEXT;
  part->text = r->out;
  for (;;) {
    char c = *r->p;
    if (c == '\0' || (unsigned char)c < 0x20) return -1;
    r->p++;
    if (c == '"') break;
    if (c != '\\') {
      *r->out++ = c;
      continue;
    }
    char e = *r->p++;
    switch (e) {
      case '"':
      case '\\':
      case '/':
        *r->out++ = e;
        break;
      case 'b':
        *r->out++ = '\b';
        break;
      case 'f':
        *r->out++ = '\f';
        break;
      case 'n':
        *r->out++ = '\n';
        break;
      case 'r':
        *r->out++ = '\r';
        break;
      case 't':
        *r->out++ = '\t';
        break;
      case 'u':
        if (read_escape_u(r) != 0) return -1;
        break;
      default:
        return -1;
    }
  }
  part->len = (size_t)(r->out - part->text);
  *r->out++ = '\0';
  return 0;
}

static int read_number(reader *r, store__part *part) {
  const char *start = r->p;
  size_t n = strspn(start, "-+0123456789.eE");
  if (n == 0) return -1;
  int real = memchr(start, '.', n) != NULL || memchr(start, 'e', n) != NULL ||
             memchr(start, 'E', n) != NULL;
  char *end = NULL;
  errno = 0;
  if (real) {
    part->type = STORE_PART_REAL;
    part->r = strtod(start, &end);
  } else {
    part->type = STORE_PART_INT;
    part->i = (int64_t)strtoll(start, &end, 10);
  }
  if (errno != 0 || end != start + n) return -1;
  r->p = end;
  return 0;
}

int store__key_parse(const char *key, store__part *parts, size_t n,
                     char *scratch, store_error *err) {
  reader r = {key, scratch};
  size_t got = 0;
  skip_blanks(&r);
  int ok = *r.p == '[';
  if (ok) r.p++;
  while (ok) {
    skip_blanks(&r);
    if (got == 0 && *r.p == ']') break;
    if (got == n) {
      ok = 0;
      break;
    }
    ok = (*r.p == '"' ? read_string(&r, &parts[got])
                      : read_number(&r, &parts[got])) == 0;
    if (!ok) break;
    got++;
    skip_blanks(&r);
    if (*r.p == ',') {
      r.p++;
      continue;
    }
    ok = *r.p == ']';
    break;
  }
  if (ok) {
    r.p++;
    skip_blanks(&r);
    ok = *r.p == '\0' && got == n;
  }
  if (!ok)
    return store__fail(err, STORE_EUSAGE,
                       "key '%.200s' is not a JSON array of %zu values "
                       "(numbers and strings), as a key of %zu columns reads",
                       key, n, n);
  return STORE_OK;
}
