/* src/cli/input.c: see input.h. */
#include "input.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int is_space(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

static int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

cli_text_error cli_hex_decode(uint8_t *buf, size_t len, size_t *out_len,
                              size_t *bad_offset) {
  /* Writing never overtakes reading (one byte out per two in), so the
   * decode can run in place. */
  size_t w = 0, start = 0;
  int high = -1;
  size_t high_at = 0;
  /* psql's text form of bytea starts with "\x" (after any whitespace). */
  while (start < len && is_space(buf[start])) start++;
  if (len - start >= 2 && buf[start] == '\\' && buf[start + 1] == 'x')
    start += 2;
  for (size_t r = start; r < len; r++) {
    uint8_t c = buf[r];
    if (is_space(c)) continue;
    int v = hex_value(c);
    if (v < 0) {
      *bad_offset = r;
      return CLI_TEXT_BAD_CHAR;
    }
    if (high < 0) {
      high = v;
      high_at = r;
    } else {
      buf[w++] = (uint8_t)(high << 4 | v);
      high = -1;
    }
  }
  if (high >= 0) {
    *bad_offset = high_at;
    return CLI_TEXT_TRUNCATED;
  }
  *out_len = w;
  return CLI_TEXT_OK;
}

static int base64_value(uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

cli_text_error cli_base64_decode(uint8_t *buf, size_t len, size_t *out_len,
                                 size_t *bad_offset) {
  /* Three bytes out per four characters in: safe in place. */
  size_t w = 0, data = 0, pad = 0, pad_at = 0, last_at = 0;
  uint32_t acc = 0;
  for (size_t r = 0; r < len; r++) {
    uint8_t c = buf[r];
    if (is_space(c)) continue;
    if (c == '=') {
      if (pad == 0) pad_at = r;
      if (++pad > 2) {
        *bad_offset = r;
        return CLI_TEXT_BAD_PADDING;
      }
      continue;
    }
    int v = base64_value(c);
    if (v < 0 || pad > 0) {
      *bad_offset = r;
      return pad > 0 && v >= 0 ? CLI_TEXT_BAD_PADDING : CLI_TEXT_BAD_CHAR;
    }
    last_at = r;
    acc = acc << 6 | (uint32_t)v;
    if (++data % 4 == 0) {
      buf[w++] = (uint8_t)(acc >> 16);
      buf[w++] = (uint8_t)(acc >> 8);
      buf[w++] = (uint8_t)acc;
      acc = 0;
    }
  }
  switch (data % 4) {
    case 1:
      *bad_offset = last_at;
      return CLI_TEXT_TRUNCATED;
    case 2:
      buf[w++] = (uint8_t)(acc >> 4);
      break;
    case 3:
      buf[w++] = (uint8_t)(acc >> 10);
      buf[w++] = (uint8_t)(acc >> 2);
      break;
    default:
      break;
  }
  if (pad > 0 && (data + pad) % 4 != 0) {
    *bad_offset = pad_at;
    return CLI_TEXT_BAD_PADDING;
  }
  *out_len = w;
  return CLI_TEXT_OK;
}

/* Reads all of @p f into a malloc'd buffer; errno is kept on failure. */
static int slurp(FILE *f, size_t max_input, uint8_t **out, size_t *len,
                 int *too_long) {
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  if (buf == NULL) return -1;
  *too_long = 0;
  for (;;) {
    if (n == cap) {
      if (cap > max_input) {
        *too_long = 1;
        free(buf);
        return -1;
      }
      size_t ncap = cap * 2;
      uint8_t *nbuf = realloc(buf, ncap);
      if (nbuf == NULL) {
        free(buf);
        return -1;
      }
      buf = nbuf;
      cap = ncap;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  if (ferror(f)) {
    int saved = errno;
    free(buf);
    errno = saved;
    return -1;
  }
  if (n > max_input) {
    *too_long = 1;
    free(buf);
    return -1;
  }
  *out = buf;
  *len = n;
  return 0;
}

static void describe_char(char *out, size_t size, uint8_t c) {
  if (c >= 0x21 && c < 0x7f && c != '\'')
    snprintf(out, size, "'%c'", c);
  else
    snprintf(out, size, "byte 0x%02x", c);
}

int cli_read_input(uint8_t **out, size_t *len, const char *cmd,
                   const char *path, cli_input_format format,
                   size_t max_input) {
  int from_stdin = path == NULL || strcmp(path, "-") == 0;
  const char *name = from_stdin ? "standard input" : path;
  FILE *f = from_stdin ? stdin : fopen(path, "rb");
  if (f == NULL) {
    cli_error(cmd, "cannot open '%s': %s", path, strerror(errno));
    return CLI_EXIT_IO;
  }

  uint8_t *buf = NULL;
  size_t n = 0;
  int too_long = 0;
  errno = 0;
  int rc = slurp(f, max_input, &buf, &n, &too_long);
  int saved = errno;
  if (!from_stdin) fclose(f);
  /* The name is quoted only when it is a path the user typed. */
  const char *q = from_stdin ? "" : "'";
  if (rc != 0) {
    if (too_long) {
      cli_error(cmd, "%s%s%s is longer than %zu bytes", q, name, q, max_input);
      return CLI_EXIT_USAGE;
    }
    cli_error(cmd, "cannot read %s%s%s: %s", q, name, q,
              saved ? strerror(saved) : "out of memory");
    return CLI_EXIT_IO;
  }

  if (format != CLI_INPUT_BINARY) {
    size_t decoded = 0, bad = 0;
    const char *kind = format == CLI_INPUT_HEX ? "hex" : "base64";
    cli_text_error e = format == CLI_INPUT_HEX
                           ? cli_hex_decode(buf, n, &decoded, &bad)
                           : cli_base64_decode(buf, n, &decoded, &bad);
    if (e != CLI_TEXT_OK) {
      char what[16];
      describe_char(what, sizeof what, buf[bad]);
      switch (e) {
        case CLI_TEXT_BAD_CHAR:
          cli_error(cmd, "invalid %s character %s at offset %zu of %s%s%s",
                    kind, what, bad, q, name, q);
          break;
        case CLI_TEXT_TRUNCATED:
          cli_error(cmd,
                    "truncated %s: %s at offset %zu of %s%s%s ends "
                    "in the middle of a byte",
                    kind, what, bad, q, name, q);
          break;
        default:
          cli_error(cmd, "misplaced %s padding: %s at offset %zu of %s%s%s",
                    kind, what, bad, q, name, q);
          break;
      }
      free(buf);
      return CLI_EXIT_USAGE;
    }
    n = decoded;
  }
  *out = buf;
  *len = n;
  return 0;
}
