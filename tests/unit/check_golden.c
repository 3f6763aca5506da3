/*
 * Golden fixtures: records written by a second implementation (Python's
 * protobuf, tests/fixtures/golden/generate.py), each with an `expect` file
 * of what the codec must make of them. The format of `expect` is documented
 * in generate.py and tests/fixtures/golden/README.md; every line is checked
 * and an unknown key is a failure, so nothing is silently skipped.
 *
 * All failures of one case are collected and reported together, naming the
 * case, the line number and the line.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

#define GOLDEN_MIN_CASES 15
#define MAX_TOKENS 24
#define MAX_CASES 256

/* ---- the case list (filled before the suite is built) ------------------ */

static char *case_names[MAX_CASES];
static size_t n_cases;
static char golden_dir[4096];
static int golden_dir_error; /* errno of opendir, 0 when it opened */

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_case_names(void) {
  for (size_t i = 0; i < n_cases; i++) free(case_names[i]);
  n_cases = 0;
}

static void scan_cases(void) {
  const char *root = getenv("RS_FIXTURES");
  if (root == NULL) {
    golden_dir_error = ENOENT;
    return;
  }
  snprintf(golden_dir, sizeof golden_dir, "%s/golden", root);
  DIR *dir = opendir(golden_dir);
  if (dir == NULL) {
    golden_dir_error = errno != 0 ? errno : ENOENT;
    return;
  }
  struct dirent *ent;
  while ((ent = readdir(dir)) != NULL && n_cases < MAX_CASES) {
    if (ent->d_name[0] == '.') continue;
    char path[4400];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", golden_dir, ent->d_name);
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    case_names[n_cases] = strdup(ent->d_name);
    if (case_names[n_cases] == NULL) abort();
    n_cases++;
  }
  closedir(dir);
  qsort(case_names, n_cases, sizeof case_names[0], compare_names);
  atexit(free_case_names);
}

/* ---- failure collection ------------------------------------------------- */

typedef struct token {
  char *text; /* decoded, NUL-terminated */
  size_t len; /* decoded length (a quoted string may hold \x00) */
  int quoted;
} token;

typedef struct gcase {
  const char *name;
  char dir[4400];
  uint8_t *bytes;
  size_t len;
  /* the line being checked, for messages */
  int lineno;
  const char *line;
  /* rs_decode() */
  int decoded;   /* 1 after a `decode` line */
  int decode_rc; /* its return code */
  rs_record *record;
  /* failures */
  char *failures;
  size_t failures_len;
  int n_failures;
} gcase;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
gfail(gcase *gc, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  char entry[2048];
  int n = snprintf(entry, sizeof entry, "golden/%s/expect:%d: `%s`: %s\n",
                   gc->name, gc->lineno, gc->line != NULL ? gc->line : "", msg);
  if (n < 0) return;
  size_t add = (size_t)n < sizeof entry ? (size_t)n : sizeof entry - 1;
  fputs(entry, stderr);
  char *grown = realloc(gc->failures, gc->failures_len + add + 1);
  if (grown == NULL) abort();
  memcpy(grown + gc->failures_len, entry, add);
  gc->failures = grown;
  gc->failures_len += add;
  gc->failures[gc->failures_len] = '\0';
  gc->n_failures++;
}

/* ---- tokens ------------------------------------------------------------- */

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/*
 * Splits @p line (modified in place: decoded strings are never longer than
 * their quoted form) into tokens. Returns the count, or -1 on a malformed
 * quoted string.
 */
static int tokenize(char *line, token *toks, int max) {
  int n = 0;
  char *p = line;
  for (;;) {
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '\0') return n;
    if (n == max) return -1;
    if (*p == '"') {
      char *out = ++p;
      char *start = out;
      for (;;) {
        if (*p == '\0') return -1;
        if (*p == '"') break;
        if (*p == '\\') {
          p++;
          switch (*p) {
            case '\\':
              *out++ = '\\';
              p++;
              break;
            case '"':
              *out++ = '"';
              p++;
              break;
            case 'n':
              *out++ = '\n';
              p++;
              break;
            case 't':
              *out++ = '\t';
              p++;
              break;
            case 'x': {
              int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
              if (lo < 0) return -1;
              *out++ = (char)(hi * 16 + lo);
              p += 3;
              break;
            }
            default:
              return -1;
          }
        } else {
          *out++ = *p++;
        }
      }
      char *after = p + 1;
      if (*after != '\0' && *after != ' ' && *after != '\t') return -1;
      toks[n].len = (size_t)(out - start);
      *out = '\0';
      toks[n].text = start;
      toks[n].quoted = 1;
      n++;
      p = *after == '\0' ? after : after + 1;
    } else {
      toks[n].text = p;
      toks[n].quoted = 0;
      while (*p != '\0' && *p != ' ' && *p != '\t') p++;
      toks[n].len = (size_t)(p - toks[n].text);
      n++;
      if (*p != '\0') *p++ = '\0';
    }
  }
}

static int parse_u64(const token *t, uint64_t *out) {
  if (t->quoted || t->len == 0 || t->text[0] == '-') return 0;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(t->text, &end, 10);
  if (errno != 0 || *end != '\0') return 0;
  *out = (uint64_t)v;
  return 1;
}

static int parse_i64(const token *t, int64_t *out) {
  if (t->quoted || t->len == 0) return 0;
  char *end;
  errno = 0;
  long long v = strtoll(t->text, &end, 10);
  if (errno != 0 || *end != '\0') return 0;
  *out = (int64_t)v;
  return 1;
}

static int parse_version(const token *t, unsigned *out) {
  uint64_t v;
  if (!parse_u64(t, &v) || v > 1000) return 0;
  *out = (unsigned)v;
  return 1;
}

static void hex_of(const uint8_t *p, size_t n, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 3 <= cap; i++, o += 2)
    snprintf(out + o, cap - o, "%02x", p[i]);
  if (cap > 0) out[o < cap ? o : cap - 1] = '\0';
}

/* ---- walking a message by dotted path ----------------------------------- */

typedef struct field_ref {
  const ProtobufCFieldDescriptor *field;
  const void *value; /* the value (an element, for name[i]) */
  int present;
  int whole_repeated; /* path names a repeated field without an index */
  size_t count;       /* elements, when whole_repeated */
} field_ref;

static size_t element_size(const ProtobufCFieldDescriptor *f) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_ENUM:
      return 4;
    case PROTOBUF_C_TYPE_FLOAT:
      return sizeof(float);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      return 8;
    case PROTOBUF_C_TYPE_DOUBLE:
      return sizeof(double);
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

/* Whether a numeric value at @p p is non-zero (proto3 presence). */
static int nonzero(const ProtobufCFieldDescriptor *f, const void *p) {
  size_t n = element_size(f);
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != 0) return 1;
  return 0;
}

/* Presence of a non-repeated field of @p msg (protobuf-c's own rules). */
static int field_present(const ProtobufCMessage *msg,
                         const ProtobufCFieldDescriptor *f) {
  const char *base = (const char *)msg;
  const void *member = base + f->offset;
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
    return *(const uint32_t *)(const void *)(base + f->quantifier_offset) ==
           f->id;
  if (f->type == PROTOBUF_C_TYPE_STRING) {
    const char *s = *(char *const *)member;
    if (s == NULL) return 0;
    if (f->label == PROTOBUF_C_LABEL_NONE) return s[0] != '\0';
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->default_value != NULL &&
        s == (const char *)f->default_value)
      return 0;
    return 1;
  }
  if (f->type == PROTOBUF_C_TYPE_MESSAGE)
    return *(ProtobufCMessage *const *)member != NULL;
  switch (f->label) {
    case PROTOBUF_C_LABEL_REQUIRED:
      return 1;
    case PROTOBUF_C_LABEL_OPTIONAL:
      return *(const protobuf_c_boolean *)(const void *)(base +
                                                         f->quantifier_offset);
    case PROTOBUF_C_LABEL_NONE:
      if (f->type == PROTOBUF_C_TYPE_BYTES)
        return ((const ProtobufCBinaryData *)member)->len != 0;
      return nonzero(f, member);
    case PROTOBUF_C_LABEL_REPEATED:
      break;
  }
  return 0;
}

static size_t repeated_count(const ProtobufCMessage *msg,
                             const ProtobufCFieldDescriptor *f) {
  return *(const size_t *)(const void *)((const char *)msg +
                                         f->quantifier_offset);
}

/*
 * Resolves @p path ("items[1].sku", "discount.units", "promo_codes") in
 * @p msg. Returns 0, or -1 with @p why set when the path names no field.
 * A path through an absent message or past the last element resolves to an
 * absent field.
 */
static int resolve(const ProtobufCMessage *msg, const char *path,
                   field_ref *out, char *why, size_t why_len) {
  char buf[512];
  if (strlen(path) >= sizeof buf) {
    snprintf(why, why_len, "path too long");
    return -1;
  }
  strcpy(buf, path);
  memset(out, 0, sizeof *out);
  const ProtobufCMessageDescriptor *desc = msg->descriptor;
  const ProtobufCMessage *cur = msg; /* NULL once the path left the data */
  char *save = NULL;
  for (char *seg = strtok_r(buf, ".", &save); seg != NULL;
       seg = strtok_r(NULL, ".", &save)) {
    int last = save == NULL || *save == '\0';
    long index = -1;
    char *br = strchr(seg, '[');
    if (br != NULL) {
      char *end;
      index = strtol(br + 1, &end, 10);
      if (end == br + 1 || *end != ']' || end[1] != '\0' || index < 0) {
        snprintf(why, why_len, "bad index in segment '%s'", seg);
        return -1;
      }
      *br = '\0';
    }
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(desc, seg);
    if (f == NULL) {
      snprintf(why, why_len, "%s has no field '%s'", desc->name, seg);
      return -1;
    }
    out->field = f;
    out->value = NULL;
    out->present = 0;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      if (index < 0) {
        if (!last) {
          snprintf(why, why_len, "repeated field '%s' needs an index", seg);
          return -1;
        }
        out->whole_repeated = 1;
        out->count = cur != NULL ? repeated_count(cur, f) : 0;
        out->present = out->count > 0;
        return 0;
      }
      if (cur != NULL && (size_t)index < repeated_count(cur, f)) {
        const char *arr =
            *(char *const *)(const void *)((const char *)cur + f->offset);
        out->value = arr + (size_t)index * element_size(f);
        out->present = 1;
      }
    } else {
      if (index >= 0) {
        snprintf(why, why_len, "field '%s' is not repeated", seg);
        return -1;
      }
      if (cur != NULL && field_present(cur, f)) {
        out->value = (const char *)cur + f->offset;
        out->present = 1;
      }
    }
    if (!last) {
      if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
        snprintf(why, why_len, "field '%s' is not a message", seg);
        return -1;
      }
      desc = f->descriptor;
      cur = out->present ? *(ProtobufCMessage *const *)out->value : NULL;
    }
  }
  return 0;
}

/* `field PATH VALUE` on @p msg. */
static void check_field(gcase *gc, const ProtobufCMessage *msg,
                        const char *what, const token *path,
                        const token *want) {
  field_ref ref;
  char why[256];
  if (resolve(msg, path->text, &ref, why, sizeof why) != 0) {
    gfail(gc, "%s: %s", what, why);
    return;
  }
  if (ref.whole_repeated) {
    gfail(gc, "%s: '%s' is repeated: use count, or name[i]", what, path->text);
    return;
  }
  const ProtobufCFieldDescriptor *f = ref.field;
  if (!want->quoted && strcmp(want->text, "unset") == 0) {
    if (ref.present)
      gfail(gc, "%s: %s is set, expected unset", what, path->text);
    return;
  }
  if (!ref.present) {
    gfail(gc, "%s: %s is not set, expected %s", what, path->text, want->text);
    return;
  }
  const void *v = ref.value;
  switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
      const char *s = *(char *const *)v;
      if (!want->quoted) {
        gfail(gc, "%s: a string field needs a quoted value", what);
      } else if (strlen(s) != want->len || memcmp(s, want->text, want->len)) {
        gfail(gc, "%s: %s is \"%s\", expected \"%s\"", what, path->text, s,
              want->text);
      }
      return;
    }
    case PROTOBUF_C_TYPE_BYTES: {
      const ProtobufCBinaryData *b = v;
      if (!want->quoted) {
        gfail(gc, "%s: a bytes field needs a quoted value", what);
      } else if (b->len != want->len ||
                 (b->len != 0 && memcmp(b->data, want->text, b->len) != 0)) {
        char hex[256];
        hex_of(b->data, b->len, hex, sizeof hex);
        gfail(gc, "%s: %s is %zu bytes %s, not the expected %zu bytes", what,
              path->text, b->len, hex, want->len);
      }
      return;
    }
    case PROTOBUF_C_TYPE_BOOL: {
      int got = *(const protobuf_c_boolean *)v != 0, exp;
      if (strcmp(want->text, "true") == 0 && !want->quoted) {
        exp = 1;
      } else if (strcmp(want->text, "false") == 0 && !want->quoted) {
        exp = 0;
      } else {
        gfail(gc, "%s: a bool field needs true or false", what);
        return;
      }
      if (got != exp)
        gfail(gc, "%s: %s is %s", what, path->text, got ? "true" : "false");
      return;
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
      uint64_t got =
          element_size(f) == 4 ? *(const uint32_t *)v : *(const uint64_t *)v;
      uint64_t exp;
      if (!parse_u64(want, &exp)) {
        gfail(gc, "%s: '%s' is not an unsigned integer", what, want->text);
      } else if (got != exp) {
        gfail(gc, "%s: %s is %llu, expected %llu", what, path->text,
              (unsigned long long)got, (unsigned long long)exp);
      }
      return;
    }
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
      int64_t got =
          element_size(f) == 4 ? *(const int32_t *)v : *(const int64_t *)v;
      int64_t exp;
      if (!parse_i64(want, &exp)) {
        gfail(gc, "%s: '%s' is not an integer", what, want->text);
      } else if (got != exp) {
        gfail(gc, "%s: %s is %lld, expected %lld", what, path->text,
              (long long)got, (long long)exp);
      }
      return;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
      gfail(gc, "%s: %s is a message: name one of its fields", what,
            path->text);
      return;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
      break;
  }
  gfail(gc, "%s: the type of %s is not supported here", what, path->text);
}

/* `count PATH N` on @p msg. */
static void check_count(gcase *gc, const ProtobufCMessage *msg,
                        const char *what, const token *path,
                        const token *want) {
  field_ref ref;
  char why[256];
  uint64_t exp;
  if (!parse_u64(want, &exp)) {
    gfail(gc, "%s: '%s' is not a count", what, want->text);
  } else if (resolve(msg, path->text, &ref, why, sizeof why) != 0) {
    gfail(gc, "%s: %s", what, why);
  } else if (!ref.whole_repeated) {
    gfail(gc, "%s: '%s' is not a repeated field", what, path->text);
  } else if (ref.count != exp) {
    gfail(gc, "%s: %s has %zu elements, expected %llu", what, path->text,
          ref.count, (unsigned long long)exp);
  }
}

/* `set NAME...`: exactly these top-level fields are present. */
static void check_set(gcase *gc, const ProtobufCMessage *msg, const char *what,
                      const token *names, int n) {
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  for (int i = 0; i < n; i++)
    if (protobuf_c_message_descriptor_get_field_by_name(d, names[i].text) ==
        NULL)
      gfail(gc, "%s: %s has no field '%s'", what, d->name, names[i].text);
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    int present = f->label == PROTOBUF_C_LABEL_REPEATED
                      ? repeated_count(msg, f) > 0
                      : field_present(msg, f);
    int listed = 0;
    for (int j = 0; j < n; j++)
      if (strcmp(names[j].text, f->name) == 0) listed = 1;
    if (present && !listed)
      gfail(gc, "%s: %s(%u) is set but not expected", what, f->name, f->id);
    if (!present && listed)
      gfail(gc, "%s: %s(%u) is expected but not set", what, f->name, f->id);
  }
}

/* The checks that apply to a message: field, count, set, unknown_fields. */
static int check_message_key(gcase *gc, const ProtobufCMessage *msg,
                             const char *what, const token *t, int n) {
  const char *key = t[0].text;
  if (strcmp(key, "field") == 0) {
    if (n != 3)
      gfail(gc, "%s: field takes PATH VALUE", what);
    else
      check_field(gc, msg, what, &t[1], &t[2]);
  } else if (strcmp(key, "count") == 0) {
    if (n != 3)
      gfail(gc, "%s: count takes PATH N", what);
    else
      check_count(gc, msg, what, &t[1], &t[2]);
  } else if (strcmp(key, "set") == 0) {
    check_set(gc, msg, what, &t[1], n - 1);
  } else if (strcmp(key, "unknown_fields") == 0) {
    uint64_t exp;
    if (n != 2 || !parse_u64(&t[1], &exp))
      gfail(gc, "%s: unknown_fields takes N", what);
    else if (msg->n_unknown_fields != exp)
      gfail(gc, "%s: %u unknown fields, expected %llu", what,
            msg->n_unknown_fields, (unsigned long long)exp);
  } else {
    return 0;
  }
  return 1;
}

/* ---- the library's side ------------------------------------------------- */

static const rs_provenance golden_provenance = {
    RS_PROVENANCE_VERSION, "rollsafe-fix", "golden", "check_golden",
    1768478400000000};

/* A path `want` matches `got` if equal, or if got lies below it. */
static int path_matches(const char *want, const char *got) {
  size_t n = strlen(want);
  return strncmp(want, got, n) == 0 && (got[n] == '\0' || got[n] == '.');
}

static int parse_framing(const char *s, rs_reader_framing *out) {
  if (strcmp(s, "default") == 0)
    *out = RS_READER_FRAMING_DEFAULT;
  else if (strcmp(s, "raw") == 0)
    *out = RS_READER_FRAMING_RAW;
  else if (strcmp(s, "envelope") == 0)
    *out = RS_READER_FRAMING_ENVELOPE;
  else
    return 0;
  return 1;
}

static int require_record(gcase *gc) {
  if (!gc->decoded) {
    gfail(gc, "no `decode` line before this one");
    return 0;
  }
  if (gc->record == NULL) {
    gfail(gc, "needs a decoded record, but rs_decode() failed (%s)",
          rs_error_name(gc->decode_rc));
    return 0;
  }
  return 1;
}

static void check_decode(gcase *gc, const token *t, int n) {
  if (gc->decoded) {
    gfail(gc, "a second `decode` line");
    return;
  }
  int want_ok = n == 2 && strcmp(t[1].text, "ok") == 0;
  int want_err = n == 3 && strcmp(t[1].text, "error") == 0;
  if (!want_ok && !want_err) {
    gfail(gc, "decode takes `ok` or `error RS_E...`");
    return;
  }
  rs_error err = RS_ERROR_INIT;
  gc->decoded = 1;
  gc->decode_rc = rs_decode(&gc->record, rs_test_registry(), RS_SHOP_ORDER,
                            gc->bytes, gc->len, NULL, &err);
  if (gc->decode_rc != 0) gc->record = NULL;
  if (want_ok && gc->decode_rc != 0)
    gfail(gc, "rs_decode() failed: %s at offset %zd: %s",
          rs_error_name(gc->decode_rc),
          err.offset == RS_OFFSET_NONE ? (ssize_t)-1 : (ssize_t)err.offset,
          err.message);
  if (want_err && strcmp(rs_error_name(gc->decode_rc), t[2].text) != 0)
    gfail(gc, "rs_decode() returned %s (%s), expected %s",
          rs_error_name(gc->decode_rc), err.message, t[2].text);
}

/*
 * Runs @p fn on every classification the case's verdict lines ask for, so
 * that encoding/written_version/provenance lines are checked against each
 * of them too.
 */
typedef struct reader_spec {
  rs_reader reader;
  char label[64];
} reader_spec;

static size_t collect_readers(gcase *gc, char **lines, size_t n_lines,
                              reader_spec *out, size_t max) {
  size_t n = 0;
  (void)gc;
  for (size_t i = 0; i < n_lines && n < max; i++) {
    char copy[1024];
    token t[MAX_TOKENS];
    snprintf(copy, sizeof copy, "%s", lines[i]);
    int nt = tokenize(copy, t, MAX_TOKENS);
    rs_reader r = RS_READER_INIT;
    if (nt >= 4 && strcmp(t[0].text, "verdict") == 0 &&
        parse_framing(t[1].text, &r.framing) &&
        parse_version(&t[2], &r.format_version)) {
      out[n].reader = r;
      snprintf(out[n].label, sizeof out[n].label, "reader %s %s", t[1].text,
               t[2].text);
      n++;
    }
  }
  return n;
}

static void check_verdict(gcase *gc, const token *t, int n) {
  rs_reader reader = RS_READER_INIT;
  if (n < 4 || !parse_framing(t[1].text, &reader.framing) ||
      !parse_version(&t[2], &reader.format_version)) {
    gfail(gc, "verdict takes FRAMING VERSION VERDICT [PATH...]");
    return;
  }
  rs_classification *c = NULL;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_classify(&c, rs_test_registry(), RS_SHOP_ORDER, &reader,
                       gc->bytes, gc->len, NULL, &err);
  if (rc != 0) {
    gfail(gc, "rs_classify() failed: %s: %s", rs_error_name(rc), err.message);
    return;
  }
  const char *got = rs_verdict_name(rs_classification_verdict(c));
  char reasons[1024] = "";
  size_t used = 0;
  for (size_t i = 0; i < rs_classification_reason_count(c); i++) {
    const rs_reason *r = rs_classification_reason(c, i);
    int w = snprintf(reasons + used, sizeof reasons - used, "%s[%s %s: %s]",
                     i ? " " : "", rs_verdict_name(rs_reason_verdict(r)),
                     rs_reason_path(r), rs_reason_text(r));
    if (w < 0 || (size_t)w >= sizeof reasons - used) break;
    used += (size_t)w;
  }
  if (strcmp(got, t[3].text) != 0)
    gfail(gc, "verdict is %s, expected %s; reasons: %s", got, t[3].text,
          reasons);
  unsigned want_reader =
      reader.format_version != 0
          ? reader.format_version
          : rs_registry_newest(rs_test_registry(), RS_SHOP_ORDER) - 1;
  if (rs_classification_reader_version(c) != want_reader)
    gfail(gc, "classified for reader version %u, expected %u",
          rs_classification_reader_version(c), want_reader);
  for (int i = 4; i < n; i++) {
    int found = 0;
    for (size_t j = 0; j < rs_classification_reason_count(c); j++)
      if (path_matches(t[i].text,
                       rs_reason_path(rs_classification_reason(c, j))))
        found = 1;
    if (!found) gfail(gc, "no reason at %s; reasons: %s", t[i].text, reasons);
  }
  rs_classification_free(c);
}

static void check_convert(gcase *gc, const token *t, int n) {
  unsigned to;
  if (n < 3 || !parse_version(&t[1], &to)) {
    gfail(gc, "convert takes VERSION RESULT [PATH...]");
    return;
  }
  if (!require_record(gc)) return;
  ProtobufCMessage *out = NULL;
  rs_conversion *report = NULL;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_convert(&out, &report, rs_test_registry(), RS_SHOP_ORDER,
                      rs_record_version(gc->record), to,
                      rs_record_message(gc->record), NULL, &err);
  int impossible = strcmp(t[2].text, "impossible") == 0;
  if (impossible && rc != RS_ECONVERT)
    gfail(gc, "rs_convert() returned %s, expected RS_ECONVERT",
          rs_error_name(rc));
  if (!impossible && rc != 0)
    gfail(gc, "rs_convert() failed: %s: %s", rs_error_name(rc), err.message);
  if (report == NULL) {
    gfail(gc, "rs_convert() gave no report");
  } else {
    char losses[1024] = "";
    size_t used = 0;
    for (size_t i = 0; i < rs_conversion_loss_count(report); i++) {
      const rs_loss *l = rs_conversion_loss(report, i);
      int w = snprintf(losses + used, sizeof losses - used, "%s[%s %s: %s]",
                       i ? " " : "", rs_loss_kind_name(rs_loss_kind_of(l)),
                       rs_loss_path(l), rs_loss_text(l));
      if (w < 0 || (size_t)w >= sizeof losses - used) break;
      used += (size_t)w;
    }
    const char *got =
        rs_conversion_result_name(rs_conversion_result_of(report));
    if (strcmp(got, t[2].text) != 0)
      gfail(gc, "conversion is %s, expected %s; losses: %s", got, t[2].text,
            losses);
    if (strcmp(t[2].text, "lossless") == 0 &&
        rs_conversion_loss_count(report) != 0)
      gfail(gc, "lossless, yet %zu losses listed: %s",
            rs_conversion_loss_count(report), losses);
    for (int i = 3; i < n; i++) {
      int found = 0;
      for (size_t j = 0; j < rs_conversion_loss_count(report); j++)
        if (path_matches(t[i].text,
                         rs_loss_path(rs_conversion_loss(report, j))))
          found = 1;
      if (!found) gfail(gc, "no loss at %s; losses: %s", t[i].text, losses);
    }
  }
  rs_conversion_free(report);
  if (out != NULL) protobuf_c_message_free_unpacked(out, NULL);
}

static void check_kept_unknown(gcase *gc, const token *t, int n) {
  unsigned to;
  uint64_t exp;
  if (n != 3 || !parse_version(&t[1], &to) || !parse_u64(&t[2], &exp)) {
    gfail(gc, "kept_unknown takes VERSION N");
    return;
  }
  if (!require_record(gc)) return;
  ProtobufCMessage *out = NULL;
  rs_conversion *report = NULL;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_convert(&out, &report, rs_test_registry(), RS_SHOP_ORDER,
                      rs_record_version(gc->record), to,
                      rs_record_message(gc->record), NULL, &err);
  if (rc != 0) {
    gfail(gc, "rs_convert() failed: %s: %s", rs_error_name(rc), err.message);
  } else if (report == NULL) {
    gfail(gc, "rs_convert() gave no report");
  } else if (rs_conversion_kept_unknown(report) != exp) {
    gfail(gc, "%zu fields kept as unknown, expected %llu",
          rs_conversion_kept_unknown(report), (unsigned long long)exp);
  }
  rs_conversion_free(report);
  if (out != NULL) protobuf_c_message_free_unpacked(out, NULL);
}

static void describe_diff(char *out, size_t cap, const uint8_t *got,
                          size_t got_len, const uint8_t *exp, size_t exp_len) {
  size_t i = 0;
  while (i < got_len && i < exp_len && got[i] == exp[i]) i++;
  char g[97], e[97];
  hex_of(got + i, got_len - i < 16 ? got_len - i : 16, g, sizeof g);
  hex_of(exp + i, exp_len - i < 16 ? exp_len - i : 16, e, sizeof e);
  snprintf(out, cap,
           "%zu bytes, expected %zu; first difference at offset %zu: "
           "got %s..., expected %s...",
           got_len, exp_len, i, g, e);
}

static void check_transcode(gcase *gc, const token *t, int n) {
  unsigned to;
  if (!(n == 3 || (n == 4 && strcmp(t[2].text, "error") == 0)) ||
      !parse_version(&t[1], &to)) {
    gfail(gc, "transcode takes VERSION FILE or VERSION error RS_E...");
    return;
  }
  rs_buf out = RS_BUF_INIT;
  rs_conversion *report = NULL;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_transcode(&out, &report, rs_test_registry(), RS_SHOP_ORDER, to,
                        gc->bytes, gc->len, &golden_provenance, NULL, &err);
  if (n == 4) {
    if (strcmp(rs_error_name(rc), t[3].text) != 0)
      gfail(gc, "rs_transcode() returned %s (%s), expected %s",
            rs_error_name(rc), err.message, t[3].text);
    if (rc == RS_ECONVERT &&
        (report == NULL ||
         rs_conversion_result_of(report) != RS_CONVERSION_IMPOSSIBLE))
      gfail(gc, "RS_ECONVERT without a report saying impossible");
  } else if (rc != 0) {
    gfail(gc, "rs_transcode() failed: %s: %s", rs_error_name(rc), err.message);
  } else {
    char path[4800];
    uint8_t *exp;
    size_t exp_len;
    snprintf(path, sizeof path, "%s/%s", gc->dir, t[2].text);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
      gfail(gc, "cannot open %s", path);
    } else {
      fclose(f);
      rs_test_read_file(path, &exp, &exp_len);
      if (out.len != exp_len || memcmp(out.data, exp, exp_len) != 0) {
        char d[400];
        describe_diff(d, sizeof d, out.data, out.len, exp, exp_len);
        gfail(gc, "rs_transcode() bytes differ from %s: %s", t[2].text, d);
      }
      free(exp);
    }
  }
  rs_conversion_free(report);
  rs_buf_dispose(&out, NULL);
}

static void check_roundtrip(gcase *gc, const token *t, int n) {
  rs_options opt = RS_OPTIONS_INIT;
  if (n < 2 || strcmp(t[1].text, "identical") != 0 ||
      (n == 3 && strcmp(t[2].text, "omit-fingerprint") != 0) || n > 3) {
    gfail(gc, "roundtrip takes `identical [omit-fingerprint]`");
    return;
  }
  if (n == 3) opt.flags |= RS_OPT_OMIT_FINGERPRINT;
  if (!require_record(gc)) return;
  rs_buf out = RS_BUF_INIT;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_encode(&out, rs_test_registry(), RS_SHOP_ORDER,
                     rs_record_written_version(gc->record),
                     rs_record_message(gc->record),
                     rs_record_provenance(gc->record), &opt, &err);
  if (rc != 0) {
    gfail(gc, "rs_encode() failed: %s: %s", rs_error_name(rc), err.message);
  } else if (out.len != gc->len || memcmp(out.data, gc->bytes, gc->len)) {
    char d[400];
    describe_diff(d, sizeof d, out.data, out.len, gc->bytes, gc->len);
    gfail(gc, "re-encoded bytes differ from record.bin: %s", d);
  }
  rs_buf_dispose(&out, NULL);
}

static void check_as(gcase *gc, const token *t, int n) {
  unsigned version;
  if (n < 3 || !parse_version(&t[1], &version)) {
    gfail(gc, "as takes VERSION KEY ...");
    return;
  }
  char what[64];
  snprintf(what, sizeof what, "rs_read_as(%u)", version);
  rs_record *rec = NULL;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_read_as(&rec, rs_test_registry(), RS_SHOP_ORDER, version,
                      gc->bytes, gc->len, NULL, &err);
  if (rc != 0) rec = NULL;
  if (strcmp(t[2].text, "error") == 0) {
    if (n != 4)
      gfail(gc, "as V error takes RS_E...");
    else if (strcmp(rs_error_name(rc), t[3].text) != 0)
      gfail(gc, "%s returned %s (%s), expected %s", what, rs_error_name(rc),
            err.message, t[3].text);
  } else if (rc != 0) {
    gfail(gc, "%s failed: %s: %s", what, rs_error_name(rc), err.message);
  } else if (rs_record_version(rec) != version) {
    gfail(gc, "%s holds version %u", what, rs_record_version(rec));
  } else if (strcmp(t[2].text, "conversion") == 0) {
    const rs_conversion *conv = rs_record_conversion(rec);
    const char *got =
        conv == NULL ? "none"
                     : rs_conversion_result_name(rs_conversion_result_of(conv));
    if (n != 4)
      gfail(gc, "as V conversion takes RESULT|none");
    else if (strcmp(got, t[3].text) != 0)
      gfail(gc, "%s conversion is %s, expected %s", what, got, t[3].text);
  } else if (!check_message_key(gc, rs_record_message(rec), what, &t[2],
                                n - 2)) {
    gfail(gc, "unknown key `as V %s`", t[2].text);
  }
  rs_record_free(rec);
}

/* encoding / written_version / provenance*: the record and each verdict. */
typedef struct record_view {
  const char *label;
  rs_encoding encoding;
  unsigned written_version;
  const rs_provenance *provenance;
} record_view;

static size_t record_views(gcase *gc, char **lines, size_t n_lines,
                           rs_classification **classes, record_view *views,
                           size_t max) {
  size_t n = 0;
  if (gc->record != NULL) {
    views[n].label = "rs_decode()";
    views[n].encoding = rs_record_encoding(gc->record);
    views[n].written_version = rs_record_written_version(gc->record);
    views[n].provenance = rs_record_provenance(gc->record);
    n++;
  }
  reader_spec readers[MAX_TOKENS];
  size_t nr = collect_readers(gc, lines, n_lines, readers, MAX_TOKENS);
  static char labels[MAX_TOKENS][96];
  for (size_t i = 0; i < nr && n < max; i++) {
    classes[i] = NULL;
    if (rs_classify(&classes[i], rs_test_registry(), RS_SHOP_ORDER,
                    &readers[i].reader, gc->bytes, gc->len, NULL, NULL) != 0) {
      classes[i] = NULL;
      continue; /* the verdict line reports the failure */
    }
    snprintf(labels[i], sizeof labels[i], "rs_classify(%s)", readers[i].label);
    views[n].label = labels[i];
    views[n].encoding = rs_classification_encoding(classes[i]);
    views[n].written_version = rs_classification_written_version(classes[i]);
    views[n].provenance = rs_classification_provenance(classes[i]);
    n++;
  }
  return n;
}

static void check_view_key(gcase *gc, const record_view *v, const token *t,
                           int n) {
  const char *key = t[0].text;
  if (strcmp(key, "encoding") == 0) {
    if (n != 2)
      gfail(gc, "encoding takes raw|envelope");
    else if (strcmp(rs_encoding_name(v->encoding), t[1].text) != 0)
      gfail(gc, "%s: encoding %s", v->label, rs_encoding_name(v->encoding));
  } else if (strcmp(key, "written_version") == 0) {
    unsigned exp;
    if (n != 2 || !parse_version(&t[1], &exp))
      gfail(gc, "written_version takes N");
    else if (v->written_version != exp)
      gfail(gc, "%s: written version %u", v->label, v->written_version);
  } else if (strcmp(key, "provenance") == 0) {
    if (n != 2 || strcmp(t[1].text, "none") != 0)
      gfail(gc, "provenance takes `none`");
    else if (v->provenance != NULL)
      gfail(gc, "%s: has provenance (flag_key %s)", v->label,
            v->provenance->flag_key ? v->provenance->flag_key : "NULL");
  } else {
    /* provenance.KEY VALUE */
    const char *sub = key + strlen("provenance.");
    if (n != 2) {
      gfail(gc, "%s takes one value", key);
      return;
    }
    if (v->provenance == NULL) {
      gfail(gc, "%s: no provenance", v->label);
      return;
    }
    if (strcmp(sub, "write_time_us") == 0) {
      int64_t exp;
      if (!parse_i64(&t[1], &exp))
        gfail(gc, "write_time_us takes an integer");
      else if (v->provenance->write_time_us != exp)
        gfail(gc, "%s: write_time_us %lld", v->label,
              (long long)v->provenance->write_time_us);
      return;
    }
    const char *got = strcmp(sub, "flag_key") == 0    ? v->provenance->flag_key
                      : strcmp(sub, "variant") == 0   ? v->provenance->variant
                      : strcmp(sub, "writer_id") == 0 ? v->provenance->writer_id
                                                      : NULL;
    if (strcmp(sub, "flag_key") && strcmp(sub, "variant") &&
        strcmp(sub, "writer_id")) {
      gfail(gc, "unknown key %s", key);
    } else if (!t[1].quoted && strcmp(t[1].text, "unset") == 0) {
      if (got != NULL && got[0] != '\0')
        gfail(gc, "%s: %s is \"%s\", expected unset", v->label, sub, got);
    } else if (!t[1].quoted) {
      gfail(gc, "%s takes a quoted string or unset", key);
    } else if (got == NULL || strcmp(got, t[1].text) != 0) {
      gfail(gc, "%s: %s is %s%s%s", v->label, sub, got ? "\"" : "",
            got ? got : "NULL", got ? "\"" : "");
    }
  }
}

static int parse_hex(const char *s, uint8_t *out, size_t cap, size_t *len) {
  size_t n = strlen(s);
  if (n % 2 != 0 || n / 2 > cap) return 0;
  for (size_t i = 0; i < n; i += 2) {
    int hi = hexval(s[i]), lo = hexval(s[i + 1]);
    if (hi < 0 || lo < 0) return 0;
    out[i / 2] = (uint8_t)(hi * 16 + lo);
  }
  *len = n / 2;
  return 1;
}

static void check_fingerprint(gcase *gc, const token *t, int n) {
  if (n != 2) {
    gfail(gc, "fingerprint takes HEX or none");
    return;
  }
  if (!require_record(gc)) return;
  size_t got_len = 0;
  const uint8_t *got = rs_record_fingerprint(gc->record, &got_len);
  char hex[80];
  if (got != NULL) hex_of(got, got_len, hex, sizeof hex);
  if (strcmp(t[1].text, "none") == 0) {
    if (got != NULL && got_len != 0)
      gfail(gc, "the record has fingerprint %s, expected none", hex);
    return;
  }
  uint8_t exp[64];
  size_t exp_len;
  if (!parse_hex(t[1].text, exp, sizeof exp, &exp_len)) {
    gfail(gc, "fingerprint: '%s' is not hex", t[1].text);
  } else if (got == NULL) {
    gfail(gc, "the record has no fingerprint");
  } else if (got_len != exp_len || memcmp(got, exp, exp_len) != 0) {
    gfail(gc, "the record's fingerprint is %s", hex);
  }
}

static void check_registry_fingerprint(gcase *gc, const token *t, int n) {
  unsigned version;
  uint8_t exp[64];
  size_t exp_len;
  if (n != 3 || !parse_version(&t[1], &version) ||
      !parse_hex(t[2].text, exp, sizeof exp, &exp_len)) {
    gfail(gc, "registry_fingerprint takes VERSION HEX");
    return;
  }
  const uint8_t *got =
      rs_registry_fingerprint(rs_test_registry(), RS_SHOP_ORDER, version);
  char hex[40];
  if (got == NULL) {
    gfail(gc, "rs_registry_fingerprint(%u) is NULL", version);
  } else if (exp_len != RS_FINGERPRINT_LEN ||
             memcmp(got, exp, RS_FINGERPRINT_LEN) != 0) {
    hex_of(got, RS_FINGERPRINT_LEN, hex, sizeof hex);
    gfail(gc,
          "rs_registry_fingerprint(%u) is %s (canonical string: see the "
          "comments in golden/v1-minimal/expect and v2-clean/expect)",
          version, hex);
  }
}

/* ---- one case ----------------------------------------------------------- */

static char **split_lines(char *text, size_t *n_out) {
  size_t cap = 64, n = 0;
  char **lines = malloc(cap * sizeof *lines);
  if (lines == NULL) abort();
  for (char *p = text; *p != '\0';) {
    char *nl = strchr(p, '\n');
    if (nl != NULL) *nl = '\0';
    if (n == cap) {
      cap *= 2;
      lines = realloc(lines, cap * sizeof *lines);
      if (lines == NULL) abort();
    }
    lines[n++] = p;
    if (nl == NULL) break;
    p = nl + 1;
  }
  *n_out = n;
  return lines;
}

static int is_comment(const char *line) {
  while (*line == ' ' || *line == '\t') line++;
  return *line == '\0' || *line == '#';
}

static void run_case(gcase *gc) {
  char path[4800];
  uint8_t *text_bytes;
  size_t text_len;
  snprintf(path, sizeof path, "%s/record.bin", gc->dir);
  rs_test_read_file(path, &gc->bytes, &gc->len);
  snprintf(path, sizeof path, "%s/expect", gc->dir);
  rs_test_read_file(path, &text_bytes, &text_len);
  char *text = malloc(text_len + 1);
  if (text == NULL) abort();
  memcpy(text, text_bytes, text_len);
  text[text_len] = '\0';
  free(text_bytes);

  size_t n_lines;
  char **lines = split_lines(text, &n_lines);
  /* Only expectation lines, for collect_readers(). */
  char **exp_lines = malloc((n_lines + 1) * sizeof *exp_lines);
  size_t n_exp = 0;
  if (exp_lines == NULL) abort();
  for (size_t i = 0; i < n_lines; i++)
    if (!is_comment(lines[i])) exp_lines[n_exp++] = lines[i];

  rs_classification *classes[MAX_TOKENS] = {0};
  record_view views[MAX_TOKENS + 1];
  size_t n_views = 0;
  int views_ready = 0;
  int n_checked = 0;

  for (size_t i = 0; i < n_lines; i++) {
    if (is_comment(lines[i])) continue;
    char copy[1024];
    token t[MAX_TOKENS];
    gc->lineno = (int)i + 1;
    gc->line = lines[i];
    if (strlen(lines[i]) >= sizeof copy) {
      gfail(gc, "line too long");
      continue;
    }
    strcpy(copy, lines[i]);
    int n = tokenize(copy, t, MAX_TOKENS);
    if (n <= 0) {
      gfail(gc, "cannot tokenize the line");
      continue;
    }
    n_checked++;
    const char *key = t[0].text;
    if (strcmp(key, "decode") == 0) {
      check_decode(gc, t, n);
    } else if (strcmp(key, "encoding") == 0 ||
               strcmp(key, "written_version") == 0 ||
               strcmp(key, "provenance") == 0 ||
               strncmp(key, "provenance.", 11) == 0) {
      if (!gc->decoded) {
        gfail(gc, "no `decode` line before this one");
        continue;
      }
      if (!views_ready) {
        n_views =
            record_views(gc, exp_lines, n_exp, classes, views, MAX_TOKENS + 1);
        views_ready = 1;
      }
      if (gc->record == NULL) gfail(gc, "needs a decoded record");
      for (size_t v = 0; v < n_views; v++) check_view_key(gc, &views[v], t, n);
    } else if (strcmp(key, "payload_offset") == 0) {
      uint64_t exp;
      if (n != 2 || !parse_u64(&t[1], &exp))
        gfail(gc, "payload_offset takes N");
      else if (require_record(gc) &&
               rs_record_payload_offset(gc->record) != exp)
        gfail(gc, "payload offset %zu", rs_record_payload_offset(gc->record));
    } else if (strcmp(key, "fingerprint") == 0) {
      check_fingerprint(gc, t, n);
    } else if (strcmp(key, "registry_fingerprint") == 0) {
      check_registry_fingerprint(gc, t, n);
    } else if (strcmp(key, "field") == 0 || strcmp(key, "count") == 0 ||
               strcmp(key, "set") == 0 || strcmp(key, "unknown_fields") == 0) {
      if (require_record(gc))
        check_message_key(gc, rs_record_message(gc->record), "rs_decode()", t,
                          n);
    } else if (strcmp(key, "verdict") == 0) {
      check_verdict(gc, t, n);
    } else if (strcmp(key, "convert") == 0) {
      check_convert(gc, t, n);
    } else if (strcmp(key, "kept_unknown") == 0) {
      check_kept_unknown(gc, t, n);
    } else if (strcmp(key, "transcode") == 0) {
      check_transcode(gc, t, n);
    } else if (strcmp(key, "roundtrip") == 0) {
      check_roundtrip(gc, t, n);
    } else if (strcmp(key, "as") == 0) {
      check_as(gc, t, n);
    } else {
      gfail(gc, "unknown expectation key '%s'", key);
    }
  }
  gc->lineno = 0;
  gc->line = NULL;
  if (!gc->decoded) gfail(gc, "the expect file has no `decode` line");
  if (n_checked < 2) gfail(gc, "the expect file has almost no expectations");

  for (size_t i = 0; i < MAX_TOKENS; i++) rs_classification_free(classes[i]);
  rs_record_free(gc->record);
  gc->record = NULL;
  free(exp_lines);
  free(lines);
  free(text);
  free(gc->bytes);
  gc->bytes = NULL;
}

/* ---- tests -------------------------------------------------------------- */

START_TEST(test_fixtures_present) {
  ck_assert_msg(golden_dir_error == 0,
                "cannot open the golden fixtures (%s): %s; RS_FIXTURES=%s",
                golden_dir, strerror(golden_dir_error),
                getenv("RS_FIXTURES") ? getenv("RS_FIXTURES") : "(unset)");
  ck_assert_msg(n_cases >= GOLDEN_MIN_CASES,
                "only %zu golden case folders in %s, expected at least %d "
                "(run tests/fixtures/golden/generate.py)",
                n_cases, golden_dir, GOLDEN_MIN_CASES);
  for (size_t i = 0; i < n_cases; i++) {
    char path[4800];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s/record.bin", golden_dir, case_names[i]);
    ck_assert_msg(stat(path, &st) == 0, "golden/%s has no record.bin",
                  case_names[i]);
    snprintf(path, sizeof path, "%s/%s/expect", golden_dir, case_names[i]);
    ck_assert_msg(stat(path, &st) == 0, "golden/%s has no expect file",
                  case_names[i]);
  }
}
END_TEST

START_TEST(test_golden_case) {
  gcase gc;
  memset(&gc, 0, sizeof gc);
  gc.name = case_names[_i];
  snprintf(gc.dir, sizeof gc.dir, "%s/%s", golden_dir, gc.name);
  run_case(&gc);
  char *failures = gc.failures;
  int n_failures = gc.n_failures;
  if (n_failures != 0) {
    /* Check copies the message; free ours first so nothing leaks. */
    char msg[4096];
    snprintf(msg, sizeof msg, "%s", failures);
    free(failures);
    ck_abort_msg("golden case %s: %d expectation(s) failed:\n%s", gc.name,
                 n_failures, msg);
  }
  free(failures);
}
END_TEST

static Suite *golden_suite(void) {
  Suite *s = suite_create("golden");
  TCase *tc = tcase_create("fixtures");
  tcase_add_test(tc, test_fixtures_present);
  tcase_add_loop_test(tc, test_golden_case, 0, (int)n_cases);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  scan_cases();
  return rs_test_run(golden_suite());
}
