/*
 * src/cli/config.c: the YAML configuration file, parsed with libyaml.
 *
 * Two passes. The first turns libyaml's events into a small tree of nodes
 * that keep their position and whether they were quoted; it refuses what a
 * configuration file has no use for (aliases, anchors, tags, a second
 * document, deep nesting), so that every later check sees plain data. The
 * second walks that tree and fills a cli_config. Building the tree first lets
 * an error inside a target name the target even when its `name` key comes
 * after the bad key, and keeps syntax errors ahead of content errors.
 *
 * Scalars are typed as in the YAML 1.2 core schema: a quoted scalar is
 * always a string; a plain one is null (`~`, `null`, empty), a boolean, an
 * integer, a number or else a string. libyaml (a YAML 1.1 parser) leaves this
 * resolution to us, and the 1.2 rules spare operators the `on`/`no` surprises.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include <rollsafe/classify.h>
#include <rollsafe/diff.h>

#include "exit_codes.h"
#include "verify/colenc.h"

/* Configuration files are small; a bigger file is most likely the database
 * itself given to -c by mistake, and is refused before it is parsed. */
#define CONFIG_MAX_BYTES ((size_t)1 << 20)

/* The file needs four levels (top mapping, targets, a target, a value);
 * the limit only keeps the recursive walk off a hostile file's depth. */
#define CONFIG_MAX_DEPTH 32

#define CONFIG_MAX_READER_VERSION 1000u

/*
 * The loader with a test hook: when @p fail_at is not 0, the fail_at-th
 * allocation the loader makes itself fails (libyaml's own allocations are
 * not counted), so that the chaos test can prove that every error path frees
 * what it took; @p n_allocs, when not NULL, receives the number of
 * allocations made. Declared here only: tests/config/check_config.c is its
 * one other user.
 */
int rs__config_load(cli_config **out, const char *path, char *errbuf,
                    size_t errlen, size_t fail_at, size_t *n_allocs);

/* ---- loader state, allocation, errors ------------------------------------
 */

typedef struct loader {
  const char *path;
  char *errbuf;
  size_t errlen;
  size_t fail_at, n_allocs;
  const unsigned char *text; /* the file, for positions of encoding errors */
  size_t text_len;
  int diff_only; /* cli_config_load_diff: only the diff section is read */
} loader;

static void *ld_realloc(loader *ld, void *ptr, size_t size) {
  ld->n_allocs++;
  if (ld->fail_at != 0 && ld->n_allocs == ld->fail_at) return NULL;
  return realloc(ptr, size);
}

static void *ld_malloc(loader *ld, size_t size) {
  return ld_realloc(ld, NULL, size);
}

static char *ld_strndup(loader *ld, const char *s, size_t len) {
  char *copy = ld_malloc(ld, len + 1);
  if (copy == NULL) return NULL;
  memcpy(copy, s, len);
  copy[len] = '\0';
  return copy;
}

#if defined(__GNUC__)
#define CONFIG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CONFIG_PRINTF(f, a)
#endif

static void ld_vmessage(loader *ld, unsigned line, unsigned col,
                        const char *fmt, va_list ap) CONFIG_PRINTF(4, 0);

static void ld_vmessage(loader *ld, unsigned line, unsigned col,
                        const char *fmt, va_list ap) {
  int n;
  if (ld->errbuf == NULL || ld->errlen == 0) return;
  if (line != 0)
    n = snprintf(ld->errbuf, ld->errlen, "%s:%u:%u: ", ld->path, line, col);
  else
    n = snprintf(ld->errbuf, ld->errlen, "%s: ", ld->path);
  if (n < 0 || (size_t)n >= ld->errlen) return;
  vsnprintf(ld->errbuf + n, ld->errlen - (size_t)n, fmt, ap);
}

/* An error at a position of the file; returns @p status. */
static int fail_at(loader *ld, int status, unsigned line, unsigned col,
                   const char *fmt, ...) CONFIG_PRINTF(5, 6);

static int fail_at(loader *ld, int status, unsigned line, unsigned col,
                   const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ld_vmessage(ld, line, col, fmt, ap);
  va_end(ap);
  return status;
}

/* An error of the whole file; returns @p status. */
static int fail(loader *ld, int status, const char *fmt, ...)
    CONFIG_PRINTF(3, 4);

static int fail(loader *ld, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ld_vmessage(ld, 0, 0, fmt, ap);
  va_end(ap);
  return status;
}

static int out_of_memory(loader *ld) {
  return fail(ld, CLI_EXIT_IO, "out of memory");
}

/*
 * Copies a value from the file into @p out for a message: at most 40
 * characters, anything that is not printable ASCII as \xNN, so that the
 * message stays one line whatever the file holds.
 */
static const char *shown(char out[200], const char *s, size_t len) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (i == 40) {
      memcpy(out + o, "...", 3);
      o += 3;
      break;
    }
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out[o++] = (char)c;
    } else {
      snprintf(out + o, 5, "\\x%02X", c);
      o += 4;
    }
  }
  out[o] = '\0';
  return out;
}

/* ---- pass 1: libyaml events to a tree ------------------------------------
 */

typedef enum node_type { NODE_SCALAR, NODE_SEQUENCE, NODE_MAPPING } node_type;

typedef struct node {
  node_type type;
  unsigned line, col;
  char *value; /* scalar: the text, NUL-terminated (it may hold NULs too) */
  size_t len;
  int plain;           /* scalar: unquoted, so its type is resolved */
  struct node **items; /* sequence: items; mapping: key, value, key, ... */
  size_t n_items, cap_items;
} node;

static void node_free(node *n) {
  if (n == NULL) return;
  for (size_t i = 0; i < n->n_items; i++) node_free(n->items[i]);
  free(n->items);
  free(n->value);
  free(n);
}

static int node_append(loader *ld, node *parent, node *child) {
  if (parent->n_items == parent->cap_items) {
    size_t cap = parent->cap_items ? parent->cap_items * 2 : 8;
    node **items = ld_realloc(ld, parent->items, cap * sizeof *items);
    if (items == NULL) return out_of_memory(ld);
    parent->items = items;
    parent->cap_items = cap;
  }
  parent->items[parent->n_items++] = child;
  return 0;
}

/* Line and column (1-based, in characters) of a byte offset in the file. */
static void offset_position(const loader *ld, size_t offset, unsigned *line,
                            unsigned *col) {
  *line = 1;
  *col = 1;
  for (size_t i = 0; i < offset && i < ld->text_len; i++) {
    if (ld->text[i] == '\n') {
      ++*line;
      *col = 1;
    } else if ((ld->text[i] & 0xC0) != 0x80) {
      ++*col; /* UTF-8 continuation bytes do not start a character */
    }
  }
}

/* libyaml's error as one line, at the position libyaml gives. */
static int syntax_error(loader *ld, const yaml_parser_t *p) {
  const char *problem = p->problem ? p->problem : "invalid YAML";
  unsigned line, col;
  if (p->error == YAML_MEMORY_ERROR) return out_of_memory(ld);
  if (p->error == YAML_READER_ERROR) {
    /* Encoding errors carry a byte offset, not a mark. */
    offset_position(ld, p->problem_offset, &line, &col);
    if (p->problem_value != -1)
      return fail_at(ld, CLI_EXIT_USAGE, line, col, "%s (0x%02X)", problem,
                     (unsigned)p->problem_value);
    return fail_at(ld, CLI_EXIT_USAGE, line, col, "%s", problem);
  }
  line = (unsigned)p->problem_mark.line + 1;
  col = (unsigned)p->problem_mark.column + 1;
  if (p->context != NULL)
    return fail_at(ld, CLI_EXIT_USAGE, line, col, "%s (%s at %u:%u)", problem,
                   p->context, (unsigned)p->context_mark.line + 1,
                   (unsigned)p->context_mark.column + 1);
  return fail_at(ld, CLI_EXIT_USAGE, line, col, "%s", problem);
}

static int next_event(loader *ld, yaml_parser_t *p, yaml_event_t *ev) {
  if (!yaml_parser_parse(p, ev)) return syntax_error(ld, p);
  return 0;
}

static unsigned ev_line(const yaml_event_t *ev) {
  return (unsigned)ev->start_mark.line + 1;
}

static unsigned ev_col(const yaml_event_t *ev) {
  return (unsigned)ev->start_mark.column + 1;
}

/*
 * Refuses what the tree cannot hold without losing meaning: an anchor would
 * only be useful with aliases, and a tag could change a value's type behind
 * the plain/quoted rule.
 */
static int check_node_event(loader *ld, const yaml_event_t *ev) {
  const yaml_char_t *anchor = NULL, *tag = NULL;
  char buf[200];
  switch (ev->type) {
    case YAML_ALIAS_EVENT:
      anchor = ev->data.alias.anchor;
      return fail_at(
          ld, CLI_EXIT_USAGE, ev_line(ev), ev_col(ev),
          "alias '*%s': aliases are not supported",
          shown(buf, (const char *)anchor, strlen((const char *)anchor)));
    case YAML_SCALAR_EVENT:
      anchor = ev->data.scalar.anchor;
      tag = ev->data.scalar.tag;
      break;
    case YAML_SEQUENCE_START_EVENT:
      anchor = ev->data.sequence_start.anchor;
      tag = ev->data.sequence_start.tag;
      break;
    case YAML_MAPPING_START_EVENT:
      anchor = ev->data.mapping_start.anchor;
      tag = ev->data.mapping_start.tag;
      break;
    default:
      return fail_at(ld, CLI_EXIT_USAGE, ev_line(ev), ev_col(ev),
                     "expected a value");
  }
  if (anchor != NULL)
    return fail_at(
        ld, CLI_EXIT_USAGE, ev_line(ev), ev_col(ev),
        "anchor '&%s': anchors and aliases are not supported",
        shown(buf, (const char *)anchor, strlen((const char *)anchor)));
  if (tag != NULL)
    return fail_at(ld, CLI_EXIT_USAGE, ev_line(ev), ev_col(ev),
                   "tag '%s': tags are not supported",
                   shown(buf, (const char *)tag, strlen((const char *)tag)));
  return 0;
}

/*
 * Reads the node that @p ev starts into @p out. Takes @p ev over (deletes
 * it) whatever happens; on error *out is NULL and nothing is left allocated.
 */
static int read_node(loader *ld, yaml_parser_t *p, yaml_event_t *ev,
                     unsigned depth, node **out) {
  yaml_event_type_t end;
  node *n;
  int rc = check_node_event(ld, ev);
  *out = NULL;
  if (rc != 0) {
    yaml_event_delete(ev);
    return rc;
  }
  n = ld_malloc(ld, sizeof *n);
  if (n == NULL) {
    yaml_event_delete(ev);
    return out_of_memory(ld);
  }
  memset(n, 0, sizeof *n);
  n->line = ev_line(ev);
  n->col = ev_col(ev);
  if (ev->type == YAML_SCALAR_EVENT) {
    n->type = NODE_SCALAR;
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    n->len = ev->data.scalar.length;
    n->value = ld_strndup(ld, (const char *)ev->data.scalar.value, n->len);
    yaml_event_delete(ev);
    if (n->value == NULL) {
      node_free(n);
      return out_of_memory(ld);
    }
    *out = n;
    return 0;
  }
  if (ev->type == YAML_SEQUENCE_START_EVENT) {
    n->type = NODE_SEQUENCE;
    end = YAML_SEQUENCE_END_EVENT;
  } else {
    n->type = NODE_MAPPING;
    end = YAML_MAPPING_END_EVENT;
  }
  yaml_event_delete(ev);
  if (depth >= CONFIG_MAX_DEPTH) {
    rc = fail_at(ld, CLI_EXIT_USAGE, n->line, n->col,
                 "nested more than %d levels deep", CONFIG_MAX_DEPTH);
    node_free(n);
    return rc;
  }
  for (;;) {
    yaml_event_t child_ev;
    node *child;
    rc = next_event(ld, p, &child_ev);
    if (rc != 0) break;
    if (child_ev.type == end) {
      yaml_event_delete(&child_ev);
      *out = n;
      return 0;
    }
    rc = read_node(ld, p, &child_ev, depth + 1, &child);
    if (rc != 0) break;
    rc = node_append(ld, n, child);
    if (rc != 0) {
      node_free(child);
      break;
    }
  }
  node_free(n);
  return rc;
}

static int empty_configuration(loader *ld) {
  return fail(ld, CLI_EXIT_USAGE,
              "empty configuration; expected feature, reader_version and "
              "targets");
}

/* The one document of the file, as a tree; *out is NULL on error. */
static int read_document(loader *ld, yaml_parser_t *p, node **out) {
  yaml_event_t ev;
  node *root = NULL;
  int rc;
  *out = NULL;
  /* STREAM-START, then DOCUMENT-START unless the stream is empty */
  for (int i = 0; i < 2; i++) {
    rc = next_event(ld, p, &ev);
    if (rc != 0) return rc;
    if (ev.type == YAML_STREAM_END_EVENT) {
      yaml_event_delete(&ev);
      return empty_configuration(ld);
    }
    yaml_event_delete(&ev);
  }
  rc = next_event(ld, p, &ev);
  if (rc != 0) return rc;
  rc = read_node(ld, p, &ev, 0, &root);
  if (rc != 0) return rc;
  rc = next_event(ld, p, &ev); /* DOCUMENT-END */
  if (rc != 0) goto failed;
  yaml_event_delete(&ev);
  rc = next_event(ld, p, &ev);
  if (rc != 0) goto failed;
  if (ev.type != YAML_STREAM_END_EVENT) {
    rc = fail_at(ld, CLI_EXIT_USAGE, ev_line(&ev), ev_col(&ev),
                 "a second YAML document; a configuration file holds one");
    yaml_event_delete(&ev);
    goto failed;
  }
  yaml_event_delete(&ev);
  *out = root;
  return 0;
failed:
  node_free(root);
  return rc;
}

/* ---- scalar types (YAML 1.2 core schema) ---------------------------------
 */

typedef enum scalar_type {
  SCALAR_STRING,
  SCALAR_NULL,
  SCALAR_BOOL,
  SCALAR_INT,
  SCALAR_FLOAT
} scalar_type;

static int is_one_of(const char *s, const char *const *words) {
  for (; *words != NULL; words++)
    if (strcmp(s, *words) == 0) return 1;
  return 0;
}

static int all_digits(const char *s, const char *digits) {
  if (*s == '\0') return 0;
  return s[strspn(s, digits)] == '\0';
}

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static int is_float(const char *s) {
  size_t int_digits, frac_digits = 0;
  if (*s == '-' || *s == '+') s++;
  int_digits = strspn(s, "0123456789");
  s += int_digits;
  if (*s == '.') {
    s++;
    frac_digits = strspn(s, "0123456789");
    s += frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return 0;
  if (*s == 'e' || *s == 'E') {
    s++;
    if (*s == '-' || *s == '+') s++;
    if (!all_digits(s, "0123456789")) return 0;
    return 1;
  }
  return *s == '\0';
}

static scalar_type scalar_type_of(const node *n) {
  static const char *const nulls[] = {"~", "null", "Null", "NULL", NULL};
  static const char *const bools[] = {"true",  "True",  "TRUE", "false",
                                      "False", "FALSE", NULL};
  static const char *const special_floats[] = {
      ".inf",  ".Inf",  ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
      "-.Inf", "-.INF", ".nan", ".NaN",  ".NAN",  NULL};
  const char *s = n->value;
  if (!n->plain) return SCALAR_STRING;
  if (n->len == 0 || is_one_of(s, nulls)) return SCALAR_NULL;
  if (is_one_of(s, bools)) return SCALAR_BOOL;
  if (all_digits(s[0] == '-' || s[0] == '+' ? s + 1 : s, "0123456789") ||
      (strncmp(s, "0o", 2) == 0 && all_digits(s + 2, "01234567")) ||
      (strncmp(s, "0x", 2) == 0 && all_digits(s + 2, "0123456789abcdefABCDEF")))
    return SCALAR_INT;
  if (is_float(s) || is_one_of(s, special_floats)) return SCALAR_FLOAT;
  return SCALAR_STRING;
}

static int is_null(const node *n) {
  return n->type == NODE_SCALAR && scalar_type_of(n) == SCALAR_NULL;
}

/*
 * "a sequence", "an integer '5'", ...: what the file holds where something
 * else was expected. @p secret leaves the value out (connection strings).
 */
static const char *described(char out[256], const node *n, int secret) {
  char buf[200];
  const char *what = NULL;
  if (n->type == NODE_SEQUENCE) return "a sequence";
  if (n->type == NODE_MAPPING) return "a mapping";
  switch (scalar_type_of(n)) {
    case SCALAR_NULL:
      return n->len == 0 ? "an empty value" : "null";
    case SCALAR_BOOL:
      what = "a boolean";
      break;
    case SCALAR_INT:
      what = "an integer";
      break;
    case SCALAR_FLOAT:
      what = "a number";
      break;
    case SCALAR_STRING:
      what = n->plain ? "a string" : "a quoted string";
      break;
  }
  if (secret) return what;
  snprintf(out, 256, "%s '%s'", what, shown(buf, n->value, n->len));
  return out;
}

/* ---- pass 2: the tree to a cli_config -------------------------------------
 */

/*
 * Checks a mapping's keys against @p known (NULL-terminated): each must be a
 * scalar, known, and given once. Fills @p values[i] with the value node of
 * known[i], or NULL. @p where ends the messages (" in target 'orders'", or
 * "" for the top level).
 */
static int check_keys(loader *ld, const node *map, const char *const *known,
                      const node **values, const node **keys,
                      const char *where) {
  char buf[200], got[256], list[640] = "";
  size_t n_known = 0;
  for (; known[n_known] != NULL; n_known++) {
    values[n_known] = NULL;
    keys[n_known] = NULL;
  }
  for (size_t i = 0; i + 1 < map->n_items; i += 2) {
    const node *key = map->items[i];
    size_t k;
    if (key->type != NODE_SCALAR)
      return fail_at(ld, CLI_EXIT_USAGE, key->line, key->col,
                     "expected a key%s, got %s", where, described(got, key, 0));
    for (k = 0; k < n_known; k++)
      if (strlen(known[k]) == key->len && strcmp(known[k], key->value) == 0)
        break;
    if (k == n_known) {
      /* Bounded: the list grows with every kind's keys. */
      for (size_t j = 0, used = 0; j < n_known && used < sizeof list; j++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                 j > 0 ? ", " : "", known[j]);
      return fail_at(ld, CLI_EXIT_USAGE, key->line, key->col,
                     "unknown key '%s'%s (known: %s)",
                     shown(buf, key->value, key->len), where, list);
    }
    if (keys[k] != NULL)
      return fail_at(ld, CLI_EXIT_USAGE, key->line, key->col,
                     "duplicate key '%s'%s (first at %u:%u)", known[k], where,
                     keys[k]->line, keys[k]->col);
    keys[k] = key;
    values[k] = map->items[i + 1];
  }
  return 0;
}

/*
 * A non-empty string without NUL bytes, copied into *out. @p secret keeps
 * the value out of messages.
 */
static int get_string(loader *ld, const char *key, const node *v, int secret,
                      char **out) {
  char got[256];
  scalar_type type;
  if (v->type != NODE_SCALAR)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "%s: expected a string, got %s", key,
                   described(got, v, secret));
  type = scalar_type_of(v);
  if (type == SCALAR_NULL)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "%s: expected a string, got %s", key,
                   described(got, v, secret));
  if (type != SCALAR_STRING)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "%s: expected a string, got %s (quote it to use it as "
                   "text)",
                   key, described(got, v, secret));
  if (v->len == 0)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "%s: expected a non-empty string, got ''", key);
  if (memchr(v->value, '\0', v->len) != NULL)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "%s: contains a NUL byte", key);
  *out = ld_strndup(ld, v->value, v->len);
  if (*out == NULL) return out_of_memory(ld);
  return 0;
}

/* A format version: a positive integer, at most CONFIG_MAX_READER_VERSION;
 * @p key names it in messages, @p expected says what the key takes. */
static int get_version(loader *ld, const char *key, const char *expected,
                       const node *v, unsigned *out) {
  char got[256], buf[200];
  const char *s = v->value;
  unsigned long value = 0;
  if (v->type != NODE_SCALAR || scalar_type_of(v) != SCALAR_INT ||
      s[0] == '-' || strncmp(s, "0x", 2) == 0 || strncmp(s, "0o", 2) == 0)
    goto not_positive;
  if (*s == '+') s++;
  /* digits only here (the int rule); stop counting once past the limit */
  for (; *s != '\0'; s++) {
    value = value * 10 + (unsigned long)(*s - '0');
    if (value > CONFIG_MAX_READER_VERSION)
      return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                     "%s: %s is too large (at most %u)", key,
                     shown(buf, v->value, v->len), CONFIG_MAX_READER_VERSION);
  }
  if (value == 0) goto not_positive;
  *out = (unsigned)value;
  return 0;
not_positive:
  if (v->type == NODE_SCALAR && v->plain)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "%s: expected %s, got '%s'", key, expected,
                   shown(buf, v->value, v->len));
  return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col, "%s: expected %s, got %s",
                 key, expected, described(got, v, 0));
}

static int get_reader_version(loader *ld, const node *v, unsigned *out) {
  return get_version(ld, "reader_version", "a positive integer", v, out);
}

/* raw_writer: "auto" (0: the writer of raw records is inferred from the
 * bytes) or the format version that wrote them. */
static int get_raw_writer(loader *ld, const node *v, unsigned *out) {
  char got[256];
  if (v->type == NODE_SCALAR && v->len == 4 && strcmp(v->value, "auto") == 0) {
    *out = 0;
    return 0;
  }
  if (v->type == NODE_SCALAR && scalar_type_of(v) == SCALAR_INT)
    return get_version(ld, "raw_writer", "auto or a positive integer", v, out);
  return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                 "raw_writer: expected auto or a positive integer, got %s",
                 described(got, v, 0));
}

static int parse_number(const char *s, unsigned long long max,
                        unsigned long long *out, const char **end) {
  unsigned long long v = 0;
  const char *p = s;
  if (*p < '0' || *p > '9') return -1;
  for (; *p >= '0' && *p <= '9'; p++) {
    v = v * 10 + (unsigned long long)(*p - '0');
    if (v > max) return -1;
  }
  *out = v;
  *end = p;
  return 0;
}

int cli_schema_id_parse(rs_schema_id *out, const char *id, const char *value,
                        char *why, size_t why_size) {
  memset(out, 0, sizeof *out);
  unsigned long long n;
  const char *end;
  if (parse_number(id, UINT32_MAX, &n, &end) != 0 || *end != '\0') {
    snprintf(why, why_size,
             "schema id '%.40s' is not a number from 0 to 4294967295", id);
    return -1;
  }
  out->id = (uint32_t)n;
  if (parse_number(value, CONFIG_MAX_READER_VERSION, &n, &end) != 0 || n == 0 ||
      (*end != '\0' && *end != '@')) {
    snprintf(why, why_size,
             "schema id %s: '%.40s' is not VERSION or VERSION@I[.J...] (a "
             "format version from 1 to %u, then the message-index path)",
             id, value, CONFIG_MAX_READER_VERSION);
    return -1;
  }
  out->format_version = (unsigned)n;
  if (*end == '\0') return 0;
  const char *p = end + 1;
  for (;;) {
    if (out->n_indexes == RS_CONFLUENT_MAX_INDEXES ||
        parse_number(p, INT32_MAX, &n, &end) != 0 ||
        (*end != '\0' && *end != '.')) {
      snprintf(why, why_size,
               "schema id %s: message-index path in '%.40s' is not I[.J...] "
               "(at most %u indexes, each from 0 to 2147483647)",
               id, value, RS_CONFLUENT_MAX_INDEXES);
      return -1;
    }
    out->indexes[out->n_indexes++] = (int32_t)n;
    if (*end == '\0') return 0;
    p = end + 1;
  }
}

void cli_schema_id_text(const rs_schema_id *m, char *out, size_t size) {
  size_t used = (size_t)snprintf(out, size, "%u", m->format_version);
  for (size_t i = 0; i < m->n_indexes && used < size; i++)
    used += (size_t)snprintf(out + used, size - used, "%s%ld", i ? "." : "@",
                             (long)m->indexes[i]);
}

/* The same id and message-index path (none is [0]). */
static int same_schema_id(const rs_schema_id *a, const rs_schema_id *b) {
  size_t na = a->n_indexes ? a->n_indexes : 1;
  size_t nb = b->n_indexes ? b->n_indexes : 1;
  return a->id == b->id && na == nb &&
         memcmp(a->indexes, b->indexes, na * sizeof a->indexes[0]) == 0;
}

/* schema_ids: {ID: VERSION, ID: "VERSION@I.J"}, at most CLI_MAX_SCHEMA_IDS,
 * each id and path once. */
static int get_schema_ids(loader *ld, const node *v, cli_schema_ids *out) {
  char got[256];
  if (v->type != NODE_MAPPING || v->n_items == 0)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "schema_ids: expected a mapping of schema ids to format "
                   "versions, e.g. {42: 2}, got %s",
                   described(got, v, 0));
  size_t n = v->n_items / 2;
  if (n > CLI_MAX_SCHEMA_IDS)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "schema_ids: %zu entries, at most %d", n,
                   CLI_MAX_SCHEMA_IDS);
  out->items = ld_malloc(ld, n * sizeof *out->items);
  if (out->items == NULL) return out_of_memory(ld);
  out->line = v->line;
  out->col = v->col;
  for (size_t i = 0; i + 1 < v->n_items; i += 2) {
    const node *k = v->items[i], *val = v->items[i + 1];
    if (k->type != NODE_SCALAR || val->type != NODE_SCALAR)
      return fail_at(ld, CLI_EXIT_USAGE, k->line, k->col,
                     "schema_ids: expected ID: VERSION, got %s",
                     described(got, k->type != NODE_SCALAR ? k : val, 0));
    char why[256];
    rs_schema_id *m = &out->items[out->n];
    if (cli_schema_id_parse(m, k->value, val->value, why, sizeof why) != 0)
      return fail_at(ld, CLI_EXIT_USAGE, k->line, k->col, "schema_ids: %s",
                     why);
    for (size_t j = 0; j < out->n; j++)
      if (same_schema_id(&out->items[j], m))
        return fail_at(ld, CLI_EXIT_USAGE, k->line, k->col,
                       "schema_ids: schema id %s is mapped twice at one "
                       "message-index path",
                       k->value);
    out->n++;
  }
  return 0;
}

/* column_encoding: binary, base64 or hex (a colenc_kind). */
static int get_column_encoding(loader *ld, const node *v, int *out) {
  char got[256], buf[200];
  colenc_kind kind;
  if (v->type != NODE_SCALAR)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "column_encoding: expected one of binary, base64, hex, "
                   "got %s",
                   described(got, v, 0));
  if (strlen(v->value) != v->len || colenc_from_name(v->value, &kind) != 0)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "column_encoding: unknown encoding '%s' (known: binary, "
                   "base64, hex)",
                   shown(buf, v->value, v->len));
  *out = (int)kind;
  return 0;
}

static int get_reader_framing(loader *ld, const node *v, int *out) {
  static const struct {
    const char *name;
    rs_reader_framing framing;
  } framings[] = {{"default", RS_READER_FRAMING_DEFAULT},
                  {"raw", RS_READER_FRAMING_RAW},
                  {"envelope", RS_READER_FRAMING_ENVELOPE},
                  {"confluent", RS_READER_FRAMING_CONFLUENT}};
  char got[256], buf[200];
  if (v->type != NODE_SCALAR)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "reader_framing: expected one of default, raw, envelope, "
                   "confluent, got %s",
                   described(got, v, 0));
  for (size_t i = 0; i < sizeof framings / sizeof framings[0]; i++) {
    if (strlen(framings[i].name) == v->len &&
        strcmp(framings[i].name, v->value) == 0) {
      *out = (int)framings[i].framing;
      return 0;
    }
  }
  return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                 "reader_framing: unknown framing '%s' (known: default, raw, "
                 "envelope, confluent)",
                 shown(buf, v->value, v->len));
}

/* reader_runtime: protobuf-c, cpp, java, go or python. */
static int get_reader_runtime(loader *ld, const node *v,
                              cli_reader_runtime *out) {
  char got[256], buf[200];
  if (v->type != NODE_SCALAR)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "reader_runtime: expected one of protobuf-c, cpp, java, "
                   "go, python, got %s",
                   described(got, v, 0));
  int rt = strlen(v->value) == v->len ? rs_runtime_from_name(v->value) : -1;
  if (rt < 0)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "reader_runtime: unknown runtime '%s' (known: protobuf-c, "
                   "cpp, java, go, python)",
                   shown(buf, v->value, v->len));
  out->has_runtime = 1;
  out->runtime = rt;
  out->runtime_line = v->line;
  out->runtime_col = v->col;
  return 0;
}

/* reader_options: {allow_partial: BOOL, discard_unknown: BOOL,
 * recursion_limit: N, extension_registry: BOOL}. Whether the runtime has
 * them is checked once the runtime is known (cli_reader_runtime_check). */
static int get_reader_options(loader *ld, const node *v,
                              cli_reader_runtime *out) {
  static const char *const keys[] = {"allow_partial", "discard_unknown",
                                     "recursion_limit", "extension_registry",
                                     NULL};
  const node *values[4], *knodes[4];
  char got[256], buf[200];
  if (v->type != NODE_MAPPING)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "reader_options: expected a mapping of allow_partial, "
                   "discard_unknown, recursion_limit, extension_registry, "
                   "got %s",
                   described(got, v, 0));
  int rc = check_keys(ld, v, keys, values, knodes, " in reader_options");
  if (rc != 0) return rc;
  out->has_options = 1;
  out->options_line = v->line;
  out->options_col = v->col;
  for (int k = 0; k < 4; k++) {
    const node *b = values[k];
    if (b == NULL || k == 2) continue;
    if (b->type != NODE_SCALAR || scalar_type_of(b) != SCALAR_BOOL)
      return fail_at(ld, CLI_EXIT_USAGE, b->line, b->col,
                     "reader_options: %s: expected true or false, got %s",
                     keys[k], described(got, b, 0));
    int on = b->value[0] == 't' || b->value[0] == 'T';
    if (k == 3)
      /* Either way it is said: false is Java's parseFrom without one. */
      out->flags |=
          on ? RS_RUNTIME_EXTENSION_REGISTRY : RS_RUNTIME_NO_EXTENSION_REGISTRY;
    else if (on)
      out->flags |=
          k == 0 ? RS_RUNTIME_ALLOW_PARTIAL : RS_RUNTIME_DISCARD_UNKNOWN;
  }
  const node *n = values[2];
  if (n != NULL) {
    const char *s = n->value;
    unsigned long limit = 0;
    int ok = n->type == NODE_SCALAR && scalar_type_of(n) == SCALAR_INT &&
             all_digits(s, "0123456789");
    for (; ok && *s != '\0' && limit <= 1000000; s++)
      limit = limit * 10 + (unsigned long)(*s - '0');
    if (!ok || limit == 0 || limit > 1000000)
      return fail_at(ld, CLI_EXIT_USAGE, n->line, n->col,
                     "reader_options: recursion_limit: expected a positive "
                     "integer up to 1000000, got %s",
                     n->type == NODE_SCALAR ? shown(buf, n->value, n->len)
                                            : described(got, n, 0));
    out->recursion_limit = (unsigned)limit;
  }
  return 0;
}

/* The kinds store.h knows, for messages: "sqlite-table, postgres-table". */
static const char *kind_names(char out[256]) {
  out[0] = '\0';
  for (int k = 1; k < 64; k++) {
    const char *name = store_kind_name((store_kind)k);
    if (name == NULL) break;
    if (k > 1) strncat(out, ", ", 255 - strlen(out));
    strncat(out, name, 255 - strlen(out));
  }
  return out;
}

enum {
  T_NAME,
  T_KIND,
  T_CONNECTION,
  T_CONNECTION_ENV,
  T_TABLE,
  T_KEY,
  T_COLUMN,
  T_TYPE,
  T_WHERE,
  /* queue kinds */
  T_STATE_COLUMN,
  T_PENDING_STATES,
  T_IN_FLIGHT_STATES,
  /* stream files */
  T_PATH,
  T_FIXED_OUTPUT,
  T_SCHEMAS, /* runtime schemas: see read_path_list() */
  T_MESSAGE,
  T_RAW_WRITER,      /* any kind: the writer of raw records */
  T_SCHEMA_IDS,      /* any kind: Confluent schema ids */
  T_COLUMN_ENCODING, /* tables and queues */
  T_READER_RUNTIME,  /* any kind */
  T_READER_OPTIONS,
  /* Kafka topics */
  T_BOOTSTRAP,
  T_TOPIC,
  T_GROUP,
  T_SINCE,
  T_PROPERTIES,
  T_PROPERTIES_FILE,
  T_PROPERTIES_ENV,
  T_TIMEOUT,
  T_OUTPUT_TOPIC, /* fix: a repaired copy */
  T_JOURNAL_TOPIC,
  T_IN_PLACE_COMPACTED, /* fix: in place, on a compacted topic */
  T_COUNT
};

static const char *const target_keys[T_COUNT + 1] = {"name",
                                                     "kind",
                                                     "connection",
                                                     "connection_env",
                                                     "table",
                                                     "key",
                                                     "column",
                                                     "type",
                                                     "where",
                                                     "state_column",
                                                     "pending_states",
                                                     "in_flight_states",
                                                     "path",
                                                     "fixed_output",
                                                     "schemas",
                                                     "message",
                                                     "raw_writer",
                                                     "schema_ids",
                                                     "column_encoding",
                                                     "reader_runtime",
                                                     "reader_options",
                                                     "bootstrap",
                                                     "topic",
                                                     "group",
                                                     "since",
                                                     "properties",
                                                     "properties_file",
                                                     "properties_env",
                                                     "timeout",
                                                     "output_topic",
                                                     "journal_topic",
                                                     "in_place_compacted",
                                                     NULL};

static int read_path_list(loader *ld, const char *key, const node *v,
                          int only_with_slash, cli_config_paths *out);

/*
 * A relative SQLite path in the file names a file next to the config file,
 * so that `-c /some/dir/rollsafe.yaml` works from any directory. Absolute
 * paths, `file:` URIs and ":memory:" mean the same from anywhere.
 */
static int resolve_sqlite_path(loader *ld, char **connection) {
  const char *slash = strrchr(ld->path, '/');
  const char *c = *connection;
  size_t dir_len, c_len;
  char *joined;
  if (slash == NULL || c[0] == '/' || strncmp(c, "file:", 5) == 0 ||
      strcmp(c, ":memory:") == 0)
    return 0;
  dir_len = (size_t)(slash - ld->path) + 1; /* with its slash */
  c_len = strlen(c);
  joined = ld_malloc(ld, dir_len + c_len + 1);
  if (joined == NULL) return out_of_memory(ld);
  memcpy(joined, ld->path, dir_len);
  memcpy(joined + dir_len, c, c_len + 1);
  free(*connection);
  *connection = joined;
  return 0;
}

/* ---- queue and stream targets ----------------------------------------------
 *
 * What a target's kind allows beyond the table keys: a queue its state
 * column and state lists, a stream file its path and fixed_output, and
 * nothing of a table.
 */

/* The state column is a name in messages: no control characters (the
 * store checks the same). States are bound as parameters, never spliced
 * into SQL: any text but an empty one, and no comma, which separates
 * states in the list they are stored as. */
static int check_column_name(loader *ld, const char *key, const node *v) {
  char buf[200];
  for (size_t i = 0; i < v->len; i++) {
    unsigned char c = (unsigned char)v->value[i];
    if (c < 0x20 || c == 0x7f)
      return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                     "%s: '%s' cannot hold control characters", key,
                     shown(buf, v->value, v->len));
  }
  return 0;
}

/* The scalars of sequence @p v joined by commas into *out (@p len bytes
 * with the NUL, which the caller counted). */
static int join_items(loader *ld, const node *v, size_t len, char **out) {
  char *csv = ld_malloc(ld, len);
  if (csv == NULL) return out_of_memory(ld);
  size_t o = 0;
  for (size_t i = 0; i < v->n_items; i++) {
    if (i > 0) csv[o++] = ',';
    memcpy(csv + o, v->items[i]->value, v->items[i]->len);
    o += v->items[i]->len;
  }
  csv[o] = '\0';
  *out = csv;
  return 0;
}

/* A key: one column ("id"), a string of comma-separated columns
 * ("tenant, id"), or a sequence of column names ([tenant, id]); stored
 * comma-separated. The store checks the names against the table. */
static int get_key_list(loader *ld, const node *v, char **out) {
  char got[256];
  if (v->type == NODE_SCALAR) return get_string(ld, "key", v, 0, out);
  if (v->type != NODE_SEQUENCE || v->n_items == 0)
    return fail_at(
        ld, CLI_EXIT_USAGE, v->line, v->col,
        "key: expected a column name or a list of them, got %s",
        v->type == NODE_SEQUENCE ? "an empty list" : described(got, v, 0));
  size_t len = 0;
  for (size_t i = 0; i < v->n_items; i++) {
    const node *item = v->items[i];
    if (item->type != NODE_SCALAR || scalar_type_of(item) != SCALAR_STRING ||
        item->len == 0 || item->len > 63 ||
        memchr(item->value, ',', item->len) != NULL ||
        memchr(item->value, '\0', item->len) != NULL)
      return fail_at(ld, CLI_EXIT_USAGE, item->line, item->col,
                     "key: each column is a name of 1 to 63 bytes without "
                     "commas, got %s",
                     described(got, item, 0));
    len += item->len + 1;
  }
  return join_items(ld, v, len, out);
}

/* A state list: a sequence of strings, or one string of comma-separated
 * states; stored comma-separated. */
static int get_state_list(loader *ld, const char *key, const node *v,
                          char **out) {
  char got[256];
  if (v->type == NODE_SCALAR) {
    int rc = get_string(ld, key, v, 0, out);
    for (const char *p = *out; rc == 0;) {
      const char *comma = strchr(p, ',');
      size_t n = comma ? (size_t)(comma - p) : strlen(p);
      if (n == 0 || n > STORE_STATE_MAX)
        return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                       "%s: each state is 1 to %d bytes, separated by "
                       "commas, got %s",
                       key, STORE_STATE_MAX, described(got, v, 0));
      if (comma == NULL) break;
      p = comma + 1;
    }
    return rc;
  }
  if (v->type != NODE_SEQUENCE || v->n_items == 0)
    return fail_at(
        ld, CLI_EXIT_USAGE, v->line, v->col,
        "%s: expected a list of states, got %s", key,
        v->type == NODE_SEQUENCE ? "an empty list" : described(got, v, 0));
  size_t len = 0;
  for (size_t i = 0; i < v->n_items; i++) {
    const node *item = v->items[i];
    if (item->type != NODE_SCALAR || scalar_type_of(item) != SCALAR_STRING ||
        item->len == 0 || memchr(item->value, ',', item->len) != NULL ||
        memchr(item->value, '\0', item->len) != NULL)
      return fail_at(ld, CLI_EXIT_USAGE, item->line, item->col,
                     "%s: each state is a non-empty string without commas, "
                     "got %s",
                     key, described(got, item, 0));
    if (item->len > STORE_STATE_MAX)
      return fail_at(ld, CLI_EXIT_USAGE, item->line, item->col,
                     "%s: a state is at most %d bytes, got %zu", key,
                     STORE_STATE_MAX, item->len);
    len += item->len + 1;
  }
  return join_items(ld, v, len, out);
}

static int check_kind_keys(loader *ld, const node *item, store_kind kind,
                           const node **values, const node **keys,
                           const char *label) {
  static const int queue_only[] = {T_STATE_COLUMN, T_PENDING_STATES,
                                   T_IN_FLIGHT_STATES, -1};
  static const int stream_only[] = {T_PATH, T_FIXED_OUTPUT, -1};
  static const int table_only[] = {
      T_CONNECTION, T_CONNECTION_ENV, T_TABLE,           T_KEY,
      T_COLUMN,     T_WHERE,          T_COLUMN_ENCODING, -1};
  static const int kafka_only[] = {T_BOOTSTRAP,
                                   T_TOPIC,
                                   T_GROUP,
                                   T_SINCE,
                                   T_PROPERTIES,
                                   T_PROPERTIES_FILE,
                                   T_PROPERTIES_ENV,
                                   T_TIMEOUT,
                                   T_OUTPUT_TOPIC,
                                   T_JOURNAL_TOPIC,
                                   T_IN_PLACE_COMPACTED,
                                   -1};
  /* A topic takes connection_env (its bootstrap servers), not the rest. */
  static const int table_not_kafka[] = {
      T_CONNECTION, T_TABLE, T_KEY, T_COLUMN, T_WHERE, T_COLUMN_ENCODING, -1};
  const int *refused[3] = {kafka_only, NULL, NULL};
  if (kind == STORE_KAFKA_TOPIC) {
    refused[0] = queue_only;
    refused[1] = stream_only;
    refused[2] = table_not_kafka;
  } else if (kind == STORE_STREAM_FILE) {
    refused[1] = queue_only;
    refused[2] = table_only;
  } else if (store_kind_is_queue(kind)) {
    refused[1] = stream_only;
  } else {
    refused[1] = queue_only;
    refused[2] = stream_only;
  }
  for (int r = 0; r < 3 && refused[r] != NULL; r++)
    for (const int *k = refused[r]; *k >= 0; k++)
      if (keys[*k] != NULL)
        return fail_at(ld, CLI_EXIT_USAGE, keys[*k]->line, keys[*k]->col,
                       "key '%s' does not apply to kind %s in %s",
                       target_keys[*k], store_kind_name(kind), label);
  if (store_kind_is_queue(kind) && values[T_STATE_COLUMN] == NULL &&
      (values[T_PENDING_STATES] != NULL ||
       values[T_IN_FLIGHT_STATES] != NULL)) {
    const node *k =
        keys[values[T_PENDING_STATES] ? T_PENDING_STATES : T_IN_FLIGHT_STATES];
    return fail_at(
        ld, CLI_EXIT_USAGE, k->line, k->col,
        "key '%s' needs 'state_column' in %s",
        values[T_PENDING_STATES] ? "pending_states" : "in_flight_states",
        label);
  }
  (void)item;
  return 0;
}

/* A stream file needs its path and type; relative paths are relative to
 * the config file. */
static int finish_stream_target(loader *ld, const node *item,
                                cli_config_target *t, const node **values,
                                const char *label) {
  static const int needed[] = {T_NAME, T_KIND, T_PATH, T_TYPE};
  for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++)
    if (values[needed[i]] == NULL)
      return fail_at(ld, CLI_EXIT_USAGE, item->line, item->col,
                     "missing key '%s' in %s", target_keys[needed[i]], label);
  int rc = resolve_sqlite_path(ld, &t->connection);
  if (rc == 0 && t->fixed_output != NULL)
    rc = resolve_sqlite_path(ld, &t->fixed_output);
  return rc;
}

/* ---- Kafka topic targets ---------------------------------------------- */

/* properties: {NAME: VALUE} as "NAME=VALUE"; properties_env: {NAME:
 * VARIABLE} as "NAME=VARIABLE". A secret is refused inline, never shown. */
static int get_kafka_map(loader *ld, const char *key, const node *v,
                         int inline_values, char ***out, size_t *n) {
  char got[256], buf[200];
  if (v->type != NODE_MAPPING)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "%s: expected a mapping of property names to %s, got %s",
                   key, inline_values ? "values" : "variable names",
                   described(got, v, 1));
  size_t count = v->n_items / 2;
  *out = ld_malloc(ld, (count ? count : 1) * sizeof **out);
  if (*out == NULL) return out_of_memory(ld);
  *n = 0;
  for (size_t i = 0; i + 1 < v->n_items; i += 2) {
    const node *k = v->items[i], *val = v->items[i + 1];
    if (k->type != NODE_SCALAR || k->len == 0 ||
        memchr(k->value, '\0', k->len) != NULL ||
        memchr(k->value, '=', k->len) != NULL)
      return fail_at(ld, CLI_EXIT_USAGE, k->line, k->col,
                     "%s: expected a property name, got %s", key,
                     described(got, k, 0));
    if (inline_values && store_kafka_property_is_secret(k->value))
      return fail_at(ld, CLI_EXIT_USAGE, k->line, k->col,
                     "%s: %s is a secret: give it in properties_file or "
                     "properties_env, never in the file itself",
                     key, shown(buf, k->value, k->len));
    if (val->type != NODE_SCALAR || is_null(val) ||
        memchr(val->value, '\0', val->len) != NULL ||
        (!inline_values && val->len == 0))
      return fail_at(ld, CLI_EXIT_USAGE, val->line, val->col,
                     "%s: %s: expected %s, got %s", key,
                     shown(buf, k->value, k->len),
                     inline_values ? "a value" : "a variable name",
                     described(got, val, 1));
    char *pair = ld_malloc(ld, k->len + val->len + 2);
    if (pair == NULL) return out_of_memory(ld);
    memcpy(pair, k->value, k->len);
    pair[k->len] = '=';
    memcpy(pair + k->len + 1, val->value, val->len + 1);
    (*out)[(*n)++] = pair;
  }
  return 0;
}

/* timeout: seconds, 0.1 to 3600. */
static int get_kafka_timeout(loader *ld, const node *v, int *out) {
  char got[256];
  char *end = NULL;
  double secs = 0;
  if (v->type == NODE_SCALAR && v->len > 0 && v->value[0] >= '0' &&
      v->value[0] <= '9') {
    errno = 0;
    secs = strtod(v->value, &end);
  }
  if (end == NULL || *end != '\0' || errno != 0 || secs < 0.1 || secs > 3600)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "timeout: expected seconds, 0.1 to 3600, got %s",
                   described(got, v, 0));
  *out = (int)(secs * 1000.0 + 0.5);
  return 0;
}

int cli_parse_millis(const char *text, unsigned long lo, unsigned long hi,
                     unsigned long *out) {
  if (text == NULL || text[0] < '0' || text[0] > '9') return -1;
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || errno != 0 || !(v >= 0)) return -1;
  double scale = strcmp(end, "") == 0 || strcmp(end, "ms") == 0 ? 1
                 : strcmp(end, "s") == 0                        ? 1000
                 : strcmp(end, "m") == 0                        ? 60000
                 : strcmp(end, "h") == 0                        ? 3600000
                                                                : -1;
  if (scale < 0) return -1;
  double ms = v * scale;
  if (!(ms >= (double)lo && ms <= (double)hi)) return -1;
  *out = (unsigned long)(ms + 0.5);
  if (*out < lo) *out = lo;
  return 0;
}

/* lock_timeout and statement_timeout: a duration, at least 1 ms. */
static int get_millis(loader *ld, const char *key, const node *v,
                      unsigned long *out) {
  char got[256];
  if (v->type == NODE_SCALAR &&
      cli_parse_millis(v->value, 1, CLI_TIMEOUT_MS_MAX, out) == 0)
    return 0;
  return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                 "%s: expected a duration such as 500ms, 90s or 5m (a bare "
                 "number is milliseconds; at most a day), got %s",
                 key, described(got, v, 0));
}

static int resolve_relative(loader *ld, char **path);

/* A Kafka topic needs its name, topic and type, its bootstrap servers
 * (bootstrap or connection_env, one of them), and at most one start. */
static int finish_kafka_target(loader *ld, const node *item,
                               cli_config_target *t, const node **values,
                               const char *label) {
  static const int needed[] = {T_NAME, T_KIND, T_TOPIC, T_TYPE};
  for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++)
    if (values[needed[i]] == NULL)
      return fail_at(ld, CLI_EXIT_USAGE, item->line, item->col,
                     "missing key '%s' in %s", target_keys[needed[i]], label);
  if ((values[T_BOOTSTRAP] != NULL) == (values[T_CONNECTION_ENV] != NULL))
    return fail_at(ld, CLI_EXIT_USAGE, item->line, item->col,
                   "%s needs one of 'bootstrap' and 'connection_env'", label);
  if (values[T_GROUP] != NULL && values[T_SINCE] != NULL)
    return fail_at(ld, CLI_EXIT_USAGE, item->line, item->col,
                   "%s has both group and since; give one", label);
  /* How fix writes, as --output-topic, --in-place-compacted and
   * --journal-topic: one of the two ways, the journal only in place. */
  if (values[T_OUTPUT_TOPIC] != NULL && t->in_place_compacted)
    return fail_at(ld, CLI_EXIT_USAGE, item->line, item->col,
                   "%s has both output_topic and in_place_compacted: true; a "
                   "fix writes a repaired copy or, on a compacted topic, in "
                   "place: give one",
                   label);
  if (values[T_JOURNAL_TOPIC] != NULL && !t->in_place_compacted)
    return fail_at(ld, CLI_EXIT_USAGE, item->line, item->col,
                   "%s: journal_topic applies to in_place_compacted: true",
                   label);
  if (t->in_place_compacted &&
      (values[T_GROUP] != NULL || values[T_SINCE] != NULL))
    return fail_at(ld, CLI_EXIT_USAGE, item->line, item->col,
                   "%s: in_place_compacted reads the whole topic (every "
                   "key's latest value): group and since do not apply",
                   label);
  if (t->kafka_properties_file != NULL)
    return resolve_relative(ld, &t->kafka_properties_file);
  return 0;
}

static int read_target(loader *ld, const node *item, size_t index,
                       const cli_config_target *previous,
                       cli_config_target *t) {
  const node *values[T_COUNT], *keys[T_COUNT];
  char label[256], where[300], buf[200], got[256];
  char *env_name = NULL;
  int rc;
  t->line = item->line;
  t->col = item->col;
  if (item->type != NODE_MAPPING)
    return fail_at(ld, CLI_EXIT_USAGE, item->line, item->col,
                   "target #%zu: expected a mapping, got %s", index + 1,
                   described(got, item, 0));

  /* Name the target in messages by its name when it has a usable one, even
   * if `name` comes after the key in trouble. */
  snprintf(label, sizeof label, "target #%zu", index + 1);
  for (size_t i = 0; i + 1 < item->n_items; i += 2) {
    const node *k = item->items[i], *v = item->items[i + 1];
    if (k->type == NODE_SCALAR && strcmp(k->value, "name") == 0 &&
        k->len == 4 && v->type == NODE_SCALAR && v->len > 0 &&
        scalar_type_of(v) == SCALAR_STRING) {
      snprintf(label, sizeof label, "target '%s'",
               shown(buf, v->value, v->len));
      break;
    }
  }
  snprintf(where, sizeof where, " in %s", label);
  rc = check_keys(ld, item, target_keys, values, keys, where);
  if (rc != 0) return rc;

  /* Values in file order, so that the first error reported is the first in
   * the file. */
  for (size_t i = 1; i < item->n_items; i += 2) {
    const node *v = item->items[i];
    char *s = NULL;
    int k = 0;
    while (values[k] != v) k++;
    if ((k == T_WHERE || k >= T_STATE_COLUMN) && is_null(v)) continue;
    if (k == T_SCHEMAS) {
      rc = read_path_list(ld, "schemas", v, 0, &t->schemas);
      if (rc != 0) goto failed;
      continue;
    }
    if (k == T_RAW_WRITER) {
      rc = get_raw_writer(ld, v, &t->raw_writer);
      if (rc != 0) goto failed;
      t->has_raw_writer = 1;
      continue;
    }
    if (k == T_SCHEMA_IDS) {
      rc = get_schema_ids(ld, v, &t->schema_ids);
      if (rc != 0) goto failed;
      continue;
    }
    if (k == T_COLUMN_ENCODING) {
      rc = get_column_encoding(ld, v, &t->column_encoding);
      if (rc != 0) goto failed;
      t->has_column_encoding = 1;
      continue;
    }
    if (k == T_READER_RUNTIME || k == T_READER_OPTIONS) {
      rc = k == T_READER_RUNTIME ? get_reader_runtime(ld, v, &t->runtime)
                                 : get_reader_options(ld, v, &t->runtime);
      if (rc != 0) goto failed;
      continue;
    }
    if (k == T_PROPERTIES || k == T_PROPERTIES_ENV) {
      rc = k == T_PROPERTIES
               ? get_kafka_map(ld, "properties", v, 1, &t->kafka_properties,
                               &t->n_kafka_properties)
               : get_kafka_map(ld, "properties_env", v, 0,
                               &t->kafka_property_envs,
                               &t->n_kafka_property_envs);
      if (rc != 0) goto failed;
      continue;
    }
    if (k == T_TIMEOUT) {
      rc = get_kafka_timeout(ld, v, &t->kafka_timeout_ms);
      if (rc != 0) goto failed;
      continue;
    }
    if (k == T_IN_PLACE_COMPACTED) {
      if (v->type != NODE_SCALAR || scalar_type_of(v) != SCALAR_BOOL) {
        rc = fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                     "in_place_compacted: expected true or false, got %s",
                     described(got, v, 0));
        goto failed;
      }
      t->in_place_compacted = v->value[0] == 't' || v->value[0] == 'T';
      continue;
    }
    if (k == T_KEY) {
      rc = get_key_list(ld, v, &t->key);
      if (rc != 0) goto failed;
      continue;
    }
    if (k == T_PENDING_STATES || k == T_IN_FLIGHT_STATES) {
      rc = get_state_list(
          ld, target_keys[k], v,
          k == T_PENDING_STATES ? &t->pending_states : &t->in_flight_states);
      if (rc != 0) goto failed;
      continue;
    }
    rc = get_string(ld, target_keys[k], v, k == T_CONNECTION, &s);
    if (rc != 0) goto failed;
    switch (k) {
      case T_NAME:
        t->name = s;
        break;
      case T_KIND:
        t->kind = store_kind_from_name(s);
        free(s);
        if (t->kind == 0) {
          char names[256];
          rc = fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                       "kind: unknown target kind '%s' (known: %s)",
                       shown(buf, v->value, v->len), kind_names(names));
          goto failed;
        }
        break;
      case T_CONNECTION:
      case T_PATH: /* one of the two, as the kind says (check_kind_keys) */
        free(t->connection);
        t->connection = s;
        break;
      case T_CONNECTION_ENV:
        env_name = s;
        break;
      case T_TABLE:
        t->table = s;
        break;
      case T_KEY:
        t->key = s;
        break;
      case T_COLUMN:
        t->column = s;
        break;
      case T_TYPE:
        t->type = s;
        break;
      case T_STATE_COLUMN:
        t->state_column = s;
        rc = check_column_name(ld, "state_column", v);
        if (rc != 0) goto failed;
        break;
      case T_FIXED_OUTPUT:
        t->fixed_output = s;
        break;
      case T_MESSAGE:
        t->message = s;
        break;
      case T_BOOTSTRAP:
        free(t->connection);
        t->connection = s;
        break;
      case T_TOPIC:
        t->topic = s;
        break;
      case T_GROUP:
        t->group = s;
        break;
      case T_SINCE:
        t->since = s;
        break;
      case T_PROPERTIES_FILE:
        t->kafka_properties_file = s;
        break;
      case T_OUTPUT_TOPIC:
        t->output_topic = s;
        break;
      case T_JOURNAL_TOPIC:
        t->journal_topic = s;
        break;
      default:
        t->where = s;
        break;
    }
  }

  if (values[T_KIND] != NULL) {
    rc = check_kind_keys(ld, item, t->kind, values, keys, label);
    if (rc != 0) goto failed;
  }
  /* Stream files and topics: checked by their own rules (the name says
   * only that they are not tables). */
  int stream = t->kind == STORE_STREAM_FILE || t->kind == STORE_KAFKA_TOPIC;
  if (t->kind == STORE_STREAM_FILE) {
    rc = finish_stream_target(ld, item, t, values, label);
    if (rc != 0) goto failed;
  }
  if (t->kind == STORE_KAFKA_TOPIC) {
    rc = finish_kafka_target(ld, item, t, values, label);
    if (rc != 0) goto failed;
  }
  for (int k = 0; k < T_COUNT && !stream; k++) {
    if (values[k] != NULL || k == T_WHERE || k == T_KEY || k == T_CONNECTION ||
        k == T_CONNECTION_ENV || k >= T_STATE_COLUMN)
      continue;
    rc = fail_at(ld, CLI_EXIT_USAGE, item->line, item->col,
                 "missing key '%s' in %s", target_keys[k], label);
    goto failed;
  }
  if (!stream && values[T_CONNECTION] != NULL &&
      values[T_CONNECTION_ENV] != NULL) {
    rc = fail_at(ld, CLI_EXIT_USAGE, item->line, item->col,
                 "%s has both connection and connection_env; give one", label);
    goto failed;
  }
  if (!stream && values[T_CONNECTION] == NULL &&
      values[T_CONNECTION_ENV] == NULL) {
    rc = fail_at(ld, CLI_EXIT_USAGE, item->line, item->col,
                 "missing key 'connection' (or 'connection_env') in %s", label);
    goto failed;
  }
  for (size_t i = 0; i < index; i++) {
    if (strcmp(previous[i].name, t->name) == 0) {
      const node *v = values[T_NAME];
      rc = fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "duplicate target name '%s' (first at %u:%u)",
                   shown(buf, v->value, v->len), previous[i].line,
                   previous[i].col);
      goto failed;
    }
  }

  if (env_name != NULL) {
    /* The value is a secret's home: messages name the variable only. Paths
     * from the environment are the operator's, relative to the working
     * directory like any other path given outside the file. */
    const node *v = values[T_CONNECTION_ENV];
    const char *value = getenv(env_name);
    if (value == NULL || value[0] == '\0') {
      rc = fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "connection_env: environment variable %s is %s",
                   shown(buf, env_name, strlen(env_name)),
                   value == NULL ? "not set" : "empty");
      goto failed;
    }
    t->connection = ld_strndup(ld, value, strlen(value));
    /* "$NAME": what messages and reports show instead of the value. */
    size_t nlen = strlen(env_name);
    t->connection_label = ld_malloc(ld, nlen + 2);
    if (t->connection_label != NULL) {
      t->connection_label[0] = '$';
      memcpy(t->connection_label + 1, env_name, nlen + 1);
    }
    if (t->connection == NULL || t->connection_label == NULL) {
      rc = out_of_memory(ld);
      goto failed;
    }
  } else if (t->kind == STORE_SQLITE_TABLE || t->kind == STORE_SQLITE_QUEUE) {
    rc = resolve_sqlite_path(ld, &t->connection);
    if (rc != 0) goto failed;
  }
  free(env_name);
  return 0;
failed:
  free(env_name);
  return rc;
}

/* ---- the diff section (rollsafe diff) --------------------------------------
 */

enum { S_RULE, S_PATH, S_REASON, S_EXPIRES, S_COUNT };

static const char *const suppression_keys[S_COUNT + 1] = {
    "rule", "path", "reason", "expires", NULL};

static int read_suppression(loader *ld, const node *item, size_t index,
                            cli_config_suppression *s) {
  const node *values[S_COUNT], *keys[S_COUNT];
  char where[64], got[256], buf[200];
  int rc;
  s->line = item->line;
  s->col = item->col;
  if (item->type != NODE_MAPPING)
    return fail_at(ld, CLI_EXIT_USAGE, item->line, item->col,
                   "suppression #%zu: expected a mapping with rule, path, "
                   "reason and expires, got %s",
                   index + 1, described(got, item, 0));
  snprintf(where, sizeof where, " in suppression #%zu", index + 1);
  rc = check_keys(ld, item, suppression_keys, values, keys, where);
  if (rc != 0) return rc;
  for (int k = 0; k < S_COUNT; k++)
    if (values[k] == NULL)
      return fail_at(ld, CLI_EXIT_USAGE, item->line, item->col,
                     "missing key '%s' in suppression #%zu (every suppression "
                     "needs rule, path, reason and expires)",
                     suppression_keys[k], index + 1);
  char **slots[S_COUNT] = {&s->rule, &s->path, &s->reason, &s->expires};
  for (int k = 0; k < S_COUNT; k++) {
    rc = get_string(ld, suppression_keys[k], values[k], 0, slots[k]);
    if (rc != 0) return rc;
  }
  const node *v = values[S_RULE];
  if (strcmp(s->rule, "*") != 0 && rs_diff_rule_from_id(s->rule) < 0)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "rule: unknown rule '%s' (see 'rollsafe diff --help' for "
                   "the rule ids)",
                   shown(buf, v->value, v->len));
  v = values[S_EXPIRES];
  if (!rs_diff_date_valid(s->expires))
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "expires: expected a date YYYY-MM-DD, got '%s'",
                   shown(buf, v->value, v->len));
  return 0;
}

static int read_suppressions(loader *ld, const node *v, cli_config_diff *d) {
  char got[256];
  if (is_null(v)) return 0;
  if (v->type != NODE_SEQUENCE)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "suppressions: expected a sequence, got %s",
                   described(got, v, 0));
  if (v->n_items == 0) return 0;
  d->suppressions = ld_malloc(ld, v->n_items * sizeof *d->suppressions);
  if (d->suppressions == NULL) return out_of_memory(ld);
  memset(d->suppressions, 0, v->n_items * sizeof *d->suppressions);
  for (size_t i = 0; i < v->n_items; i++) {
    d->n_suppressions = i + 1; /* counted first: freed when half-filled */
    int rc = read_suppression(ld, v->items[i], i, &d->suppressions[i]);
    if (rc != 0) return rc;
  }
  return 0;
}

static int read_fail_on(loader *ld, const node *v, int *out) {
  char got[256], buf[200];
  if (v->type != NODE_SCALAR || scalar_type_of(v) != SCALAR_STRING)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "fail_on: expected error, warning, info or never, got %s",
                   described(got, v, 0));
  if (strcmp(v->value, "never") == 0) {
    *out = -1;
    return 0;
  }
  int sev = rs_diff_severity_from_name(v->value);
  if (sev == 0)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "fail_on: unknown severity '%s' (known: error, warning, "
                   "info, never)",
                   shown(buf, v->value, v->len));
  *out = sev;
  return 0;
}

enum { D_FAIL_ON, D_SUPPRESSIONS, D_COUNT };

static const char *const diff_keys[D_COUNT + 1] = {"fail_on", "suppressions",
                                                   NULL};

static int read_diff(loader *ld, const node *v, cli_config_diff *d) {
  const node *values[D_COUNT], *keys[D_COUNT];
  char got[256];
  int rc;
  d->present = 1;
  if (is_null(v)) return 0;
  if (v->type != NODE_MAPPING)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "diff: expected a mapping with fail_on and suppressions, "
                   "got %s",
                   described(got, v, 0));
  rc = check_keys(ld, v, diff_keys, values, keys, " in diff");
  if (rc != 0) return rc;
  if (values[D_FAIL_ON] != NULL && !is_null(values[D_FAIL_ON])) {
    rc = read_fail_on(ld, values[D_FAIL_ON], &d->fail_on);
    if (rc != 0) return rc;
  }
  if (values[D_SUPPRESSIONS] != NULL)
    return read_suppressions(ld, values[D_SUPPRESSIONS], d);
  return 0;
}

static void diff_free(cli_config_diff *d) {
  for (size_t i = 0; i < d->n_suppressions; i++) {
    free(d->suppressions[i].rule);
    free(d->suppressions[i].path);
    free(d->suppressions[i].reason);
    free(d->suppressions[i].expires);
  }
  free(d->suppressions);
}

/* ---- the top level
 * ------------------------------------------------------------
 */

enum {
  K_FEATURE,
  K_READER_VERSION,
  K_READER_FRAMING,
  K_TARGETS,
  K_DIFF,
  K_SCHEMAS, /* runtime schemas, plugins, enum maps: read_runtime_key() */
  K_PLUGINS,
  K_ENUM_MAP,
  K_PROTO_PATHS,
  K_RAW_WRITER,
  K_SCHEMA_IDS,
  K_COLUMN_ENCODING,
  K_LOCK_TIMEOUT,
  K_STATEMENT_TIMEOUT,
  K_READER_RUNTIME,
  K_READER_OPTIONS,
  K_MAX_PASSES,
  K_IN_FLIGHT_WAIT,
  K_JOBS,
  K_SAMPLE,
  K_COUNT
};

/* max_passes: passes of a fix while conflicts (queues: messages in
 * flight) remain, 1 to 100. */
static int get_max_passes(loader *ld, const node *v, unsigned *out) {
  char buf[200];
  int rc =
      get_version(ld, "max_passes", "a number of passes, 1 to 100", v, out);
  if (rc == 0 && *out > 100)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "max_passes: %s is too large (at most 100)",
                   shown(buf, v->value, v->len));
  return rc;
}

/* jobs: threads and connections of a scan, 1 to CLI_JOBS_MAX. */
static int get_jobs(loader *ld, const node *v, unsigned *out) {
  char buf[200];
  /* A number past get_version's own limit is too large for jobs too:
   * said with the jobs' limit. */
  if (v->type == NODE_SCALAR && scalar_type_of(v) == SCALAR_INT && v->len > 0 &&
      strspn(v->value, "0123456789") == v->len &&
      (v->len > 9 || strtoul(v->value, NULL, 10) > CLI_JOBS_MAX))
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "jobs: %s is too large (at most %d)",
                   shown(buf, v->value, v->len), CLI_JOBS_MAX);
  int rc = get_version(ld, "jobs", "a number of jobs, 1 to 256", v, out);
  if (rc == 0 && *out > CLI_JOBS_MAX)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "jobs: %s is too large (at most %d)",
                   shown(buf, v->value, v->len), CLI_JOBS_MAX);
  return rc;
}

int cli_parse_percent(const char *text, double *out) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || errno != 0 || (*end == '%' && end[1] == '\0' ? 0 : *end))
    return -1;
  /* !(v > 0) also refuses NaN; 100 is every row. */
  if (!(v > 0) || !(v <= 100) || strpbrk(text, "xX") != NULL ||
      ((text[0] < '0' || text[0] > '9') && text[0] != '.'))
    return -1;
  *out = v;
  return 0;
}

/* sample: scan --sample, a percent of the rows, above 0 and at most 100. */
static int get_sample(loader *ld, const node *v, double *out) {
  char got[256];
  if (v->type == NODE_SCALAR && memchr(v->value, '\0', v->len) == NULL &&
      cli_parse_percent(v->value, out) == 0)
    return 0;
  return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                 "sample: expected a percent of the rows above 0 and at most "
                 "100 (e.g. 1 or 0.5), got %s",
                 described(got, v, 0));
}

/* in_flight_wait: a duration ("2s", "500ms", "1m"; a plain number is
 * seconds), 0 for none. */
static int get_in_flight_wait(loader *ld, const node *v, double *out) {
  char buf[200], got[256];
  if (v->type != NODE_SCALAR || memchr(v->value, '\0', v->len) != NULL ||
      cli_duration_parse(v->value, 1, out) != 0) {
    if (v->type == NODE_SCALAR)
      return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                     "in_flight_wait: expected a duration such as 2s, 500ms "
                     "or 1m (0: no waiting), got '%s'",
                     shown(buf, v->value, v->len));
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "in_flight_wait: expected a duration, got %s",
                   described(got, v, 0));
  }
  return 0;
}

int cli_duration_parse(const char *text, int allow_zero, double *out) {
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (end == text || errno != 0 || !(v >= 0) || (!allow_zero && !(v > 0)))
    return -1;
  double scale = strcmp(end, "") == 0 || strcmp(end, "s") == 0 ? 1
                 : strcmp(end, "ms") == 0                      ? 0.001
                 : strcmp(end, "m") == 0                       ? 60
                 : strcmp(end, "h") == 0                       ? 3600
                                                               : -1;
  if (scale < 0 || v * scale > 7 * 86400.0) return -1;
  *out = v * scale;
  return 0;
}

static const char *const top_keys[K_COUNT + 1] = {"feature",
                                                  "reader_version",
                                                  "reader_framing",
                                                  "targets",
                                                  "diff",
                                                  "schemas",
                                                  "plugins",
                                                  "enum_map",
                                                  "proto_paths",
                                                  "raw_writer",
                                                  "schema_ids",
                                                  "column_encoding",
                                                  "lock_timeout",
                                                  "statement_timeout",
                                                  "reader_runtime",
                                                  "reader_options",
                                                  "max_passes",
                                                  "in_flight_wait",
                                                  "jobs",
                                                  "sample",
                                                  NULL};

static int read_runtime_key(loader *ld, int k, const node *v,
                            cli_config *config);

static int read_targets(loader *ld, const node *v, cli_config *config) {
  char got[256];
  int rc;
  if (v->type != NODE_SEQUENCE)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "targets: expected a sequence of targets, got %s",
                   described(got, v, 0));
  if (v->n_items == 0)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "targets: expected at least one target");
  config->targets = ld_malloc(ld, v->n_items * sizeof *config->targets);
  if (config->targets == NULL) return out_of_memory(ld);
  memset(config->targets, 0, v->n_items * sizeof *config->targets);
  for (size_t i = 0; i < v->n_items; i++) {
    /* counted first, so that cli_config_free() frees a half-filled one */
    config->n_targets = i + 1;
    rc = read_target(ld, v->items[i], i, config->targets, &config->targets[i]);
    if (rc != 0) return rc;
  }
  return 0;
}

static int read_config(loader *ld, const node *root, cli_config *config) {
  const node *values[K_COUNT], *keys[K_COUNT];
  char got[256];
  int rc;
  if (is_null(root)) return empty_configuration(ld);
  if (root->type != NODE_MAPPING)
    return fail_at(ld, CLI_EXIT_USAGE, root->line, root->col,
                   "expected a mapping with feature, reader_version and "
                   "targets, got %s",
                   described(got, root, 0));
  rc = check_keys(ld, root, top_keys, values, keys, "");
  if (rc != 0) return rc;
  for (size_t i = 1; i < root->n_items; i += 2) {
    const node *v = root->items[i];
    int k = 0;
    while (values[k] != v) k++;
    if (k == K_DIFF) {
      rc = read_diff(ld, v, &config->diff);
      if (rc != 0) return rc;
      continue;
    }
    /* diff reads its own section and the reader's runtime. */
    if (ld->diff_only && k != K_READER_RUNTIME && k != K_READER_OPTIONS)
      continue;
    /* The optional keys may be given as null to mean "not given". */
    if (k != K_TARGETS && is_null(v)) continue;
    switch (k) {
      case K_FEATURE:
        rc = get_string(ld, "feature", v, 0, &config->feature);
        break;
      case K_READER_VERSION:
        rc = get_reader_version(ld, v, &config->reader_version);
        config->has_reader_version = rc == 0;
        break;
      case K_READER_FRAMING:
        rc = get_reader_framing(ld, v, &config->reader_framing);
        config->has_reader_framing = rc == 0;
        break;
      case K_RAW_WRITER:
        rc = get_raw_writer(ld, v, &config->raw_writer);
        config->has_raw_writer = rc == 0;
        break;
      case K_SCHEMA_IDS:
        rc = get_schema_ids(ld, v, &config->schema_ids);
        break;
      case K_COLUMN_ENCODING:
        rc = get_column_encoding(ld, v, &config->column_encoding);
        config->has_column_encoding = rc == 0;
        break;
      case K_LOCK_TIMEOUT:
        rc = get_millis(ld, "lock_timeout", v, &config->lock_timeout_ms);
        break;
      case K_STATEMENT_TIMEOUT:
        rc = get_millis(ld, "statement_timeout", v,
                        &config->statement_timeout_ms);
        break;
      case K_READER_RUNTIME:
        rc = get_reader_runtime(ld, v, &config->runtime);
        break;
      case K_READER_OPTIONS:
        rc = get_reader_options(ld, v, &config->runtime);
        break;
      case K_MAX_PASSES:
        rc = get_max_passes(ld, v, &config->max_passes);
        config->has_max_passes = rc == 0;
        break;
      case K_IN_FLIGHT_WAIT:
        rc = get_in_flight_wait(ld, v, &config->in_flight_wait);
        config->has_in_flight_wait = rc == 0;
        break;
      case K_JOBS:
        rc = get_jobs(ld, v, &config->jobs);
        break;
      case K_SAMPLE:
        rc = get_sample(ld, v, &config->sample_percent);
        break;
      case K_SCHEMAS:
      case K_PLUGINS:
      case K_ENUM_MAP:
      case K_PROTO_PATHS:
        rc = read_runtime_key(ld, k, v, config);
        break;
      default:
        rc = read_targets(ld, v, config);
        break;
    }
    if (rc != 0) return rc;
  }
  if (values[K_TARGETS] == NULL && !ld->diff_only)
    return fail_at(ld, CLI_EXIT_USAGE, root->line, root->col,
                   "missing key 'targets'");
  return 0;
}

/* ---- record types at run time: schemas, plugins, enum_map ----------------
 *
 *   schemas: [v1.desc, v2.desc]     (top level, or in a target) oldest first
 *   plugins: [./plugin.so]
 *   enum_map: {ENUM_FULL_NAME: {FROM_VALUE: TO_VALUE, ...}, ...}
 *   proto_paths: [proto]            import paths of .proto schemas
 *
 * Paths are relative to the config file; a plugin named without a slash is
 * left to dlopen()'s search path.
 */

static void free_paths(cli_config_paths *p) {
  for (size_t i = 0; i < p->n; i++) free(p->items[i]);
  free(p->items);
  memset(p, 0, sizeof *p);
}

static void free_runtime_keys(cli_config *config) {
  free_paths(&config->schemas);
  free_paths(&config->plugins);
  free_paths(&config->proto_paths);
  for (size_t i = 0; i < config->n_enum_maps; i++) {
    free(config->enum_maps[i].enum_name);
    free(config->enum_maps[i].from);
    free(config->enum_maps[i].to);
  }
  free(config->enum_maps);
  config->enum_maps = NULL;
  config->n_enum_maps = 0;
}

/* A relative path in the file names a file next to the config file. */
static int resolve_relative(loader *ld, char **path) {
  const char *slash = strrchr(ld->path, '/');
  const char *c = *path;
  if (slash == NULL || c[0] == '/') return 0;
  size_t dir_len = (size_t)(slash - ld->path) + 1, c_len = strlen(c);
  char *joined = ld_malloc(ld, dir_len + c_len + 1);
  if (joined == NULL) return out_of_memory(ld);
  memcpy(joined, ld->path, dir_len);
  memcpy(joined + dir_len, c, c_len + 1);
  free(*path);
  *path = joined;
  return 0;
}

static int read_path_list(loader *ld, const char *key, const node *v,
                          int only_with_slash, cli_config_paths *out) {
  char got[256];
  if (v->type != NODE_SEQUENCE)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "%s: expected a sequence of file paths, got %s", key,
                   described(got, v, 0));
  if (v->n_items == 0)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "%s: expected at least one file", key);
  out->items = ld_malloc(ld, v->n_items * sizeof *out->items);
  if (out->items == NULL) return out_of_memory(ld);
  out->line = v->line;
  out->col = v->col;
  for (size_t i = 0; i < v->n_items; i++) {
    char *s = NULL;
    int rc = get_string(ld, key, v->items[i], 0, &s);
    if (rc != 0) return rc;
    out->items[out->n++] = s; /* counted: freed with the config */
    if (!only_with_slash || strchr(s, '/') != NULL) {
      rc = resolve_relative(ld, &out->items[out->n - 1]);
      if (rc != 0) return rc;
    }
  }
  return 0;
}

static int read_enum_map(loader *ld, const node *v, cli_config *config) {
  char got[256];
  if (v->type != NODE_MAPPING)
    return fail_at(ld, CLI_EXIT_USAGE, v->line, v->col,
                   "enum_map: expected a mapping of enum names to mappings "
                   "of value names, got %s",
                   described(got, v, 0));
  size_t total = 0;
  for (size_t i = 1; i < v->n_items; i += 2) {
    const node *m = v->items[i];
    if (m->type != NODE_MAPPING || m->n_items == 0)
      return fail_at(ld, CLI_EXIT_USAGE, m->line, m->col,
                     "enum_map: expected a mapping FROM_VALUE: TO_VALUE, got "
                     "%s",
                     described(got, m, 0));
    total += m->n_items / 2;
  }
  config->enum_maps =
      ld_malloc(ld, (total ? total : 1) * sizeof *config->enum_maps);
  if (config->enum_maps == NULL) return out_of_memory(ld);
  for (size_t i = 0; i + 1 < v->n_items; i += 2) {
    const node *e = v->items[i], *m = v->items[i + 1];
    for (size_t j = 0; j + 1 < m->n_items; j += 2) {
      cli_config_enum_map *em = &config->enum_maps[config->n_enum_maps++];
      memset(em, 0, sizeof *em);
      em->line = m->items[j]->line;
      em->col = m->items[j]->col;
      int rc = get_string(ld, "enum_map", e, 0, &em->enum_name);
      if (rc == 0) rc = get_string(ld, "enum_map", m->items[j], 0, &em->from);
      if (rc == 0) rc = get_string(ld, "enum_map", m->items[j + 1], 0, &em->to);
      if (rc != 0) return rc;
      for (size_t k = 0; k + 1 < config->n_enum_maps; k++) {
        const cli_config_enum_map *p = &config->enum_maps[k];
        if (strcmp(p->enum_name, em->enum_name) == 0 &&
            strcmp(p->from, em->from) == 0)
          return fail_at(ld, CLI_EXIT_USAGE, em->line, em->col,
                         "enum_map: %s.%s is mapped twice (first at %u:%u)",
                         em->enum_name, em->from, p->line, p->col);
      }
    }
  }
  return 0;
}

static int read_runtime_key(loader *ld, int k, const node *v,
                            cli_config *config) {
  switch (k) {
    case K_SCHEMAS:
      return read_path_list(ld, "schemas", v, 0, &config->schemas);
    case K_PLUGINS:
      return read_path_list(ld, "plugins", v, 1, &config->plugins);
    case K_PROTO_PATHS:
      return read_path_list(ld, "proto_paths", v, 0, &config->proto_paths);
    default:
      return read_enum_map(ld, v, config);
  }
}

/* ---- the file --------------------------------------------------------------
 */

/* Reads at most CONFIG_MAX_BYTES + 1 bytes: enough to tell "too large". */
static int read_file(loader *ld, unsigned char **out, size_t *len) {
  FILE *f = fopen(ld->path, "rb");
  unsigned char *buf = NULL;
  size_t n = 0, cap = 0;
  int rc;
  *out = NULL;
  *len = 0;
  if (f == NULL)
    return fail(ld, CLI_EXIT_IO, "cannot read: %s", strerror(errno));
  for (;;) {
    size_t got;
    if (n == cap) {
      size_t new_cap = cap ? cap * 4 : 16384;
      unsigned char *grown;
      if (new_cap > CONFIG_MAX_BYTES + 1) new_cap = CONFIG_MAX_BYTES + 1;
      grown = ld_realloc(ld, buf, new_cap);
      if (grown == NULL) {
        rc = out_of_memory(ld);
        goto failed;
      }
      buf = grown;
      cap = new_cap;
    }
    got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0 || n > CONFIG_MAX_BYTES) break;
  }
  if (ferror(f)) {
    rc = fail(ld, CLI_EXIT_IO, "cannot read: %s", strerror(errno));
    goto failed;
  }
  if (n > CONFIG_MAX_BYTES) {
    rc = fail(ld, CLI_EXIT_USAGE,
              "larger than 1 MiB, too large for a configuration file");
    goto failed;
  }
  fclose(f);
  *out = buf;
  *len = n;
  return 0;
failed:
  free(buf);
  fclose(f);
  return rc;
}

void cli_config_free(cli_config *config) {
  if (config == NULL) return;
  for (size_t i = 0; i < config->n_targets; i++) {
    cli_config_target *t = &config->targets[i];
    free(t->name);
    free(t->connection);
    free(t->connection_label);
    free(t->table);
    free(t->key);
    free(t->column);
    free(t->type);
    free(t->where);
    free(t->state_column);
    free(t->pending_states);
    free(t->in_flight_states);
    free(t->fixed_output);
    free_paths(&t->schemas);
    free(t->message);
    free(t->schema_ids.items);
    free(t->topic);
    free(t->group);
    free(t->since);
    for (size_t k = 0; k < t->n_kafka_properties; k++)
      free(t->kafka_properties[k]);
    free(t->kafka_properties);
    for (size_t k = 0; k < t->n_kafka_property_envs; k++)
      free(t->kafka_property_envs[k]);
    free(t->kafka_property_envs);
    free(t->kafka_properties_file);
    free(t->output_topic);
    free(t->journal_topic);
  }
  free(config->targets);
  free(config->schema_ids.items);
  diff_free(&config->diff);
  free_runtime_keys(config);
  free(config->feature);
  free(config->path);
  free(config);
}

static int config_load(cli_config **out, const char *path, char *errbuf,
                       size_t errlen, size_t fail_at_alloc, size_t *n_allocs,
                       int diff_only) {
  loader ld = {path, errbuf, errlen, fail_at_alloc, 0, NULL, 0, diff_only};
  yaml_parser_t parser;
  unsigned char *text = NULL;
  size_t len = 0;
  node *root = NULL;
  cli_config *config = NULL;
  int rc;

  *out = NULL;
  if (errbuf != NULL && errlen > 0) errbuf[0] = '\0';
  rc = read_file(&ld, &text, &len);
  if (rc != 0) goto done;
  ld.text = text;
  ld.text_len = len;
  if (!yaml_parser_initialize(&parser)) {
    rc = out_of_memory(&ld);
    goto done;
  }
  yaml_parser_set_input_string(&parser, text, len);
  rc = read_document(&ld, &parser, &root);
  yaml_parser_delete(&parser);
  if (rc != 0) goto done;

  config = ld_malloc(&ld, sizeof *config);
  if (config == NULL) {
    rc = out_of_memory(&ld);
    goto done;
  }
  memset(config, 0, sizeof *config);
  config->path = ld_strndup(&ld, path, strlen(path));
  if (config->path == NULL) {
    rc = out_of_memory(&ld);
    goto done;
  }
  rc = read_config(&ld, root, config);
  if (rc != 0) goto done;
  *out = config;
  config = NULL;
done:
  cli_config_free(config);
  node_free(root);
  free(text);
  if (n_allocs != NULL) *n_allocs = ld.n_allocs;
  return rc;
}

int rs__config_load(cli_config **out, const char *path, char *errbuf,
                    size_t errlen, size_t fail_at_alloc, size_t *n_allocs) {
  return config_load(out, path, errbuf, errlen, fail_at_alloc, n_allocs, 0);
}

int cli_config_load(cli_config **out, const char *path, char *errbuf,
                    size_t errlen) {
  return config_load(out, path, errbuf, errlen, 0, NULL, 0);
}

int cli_config_load_diff(cli_config **out, const char *path, char *errbuf,
                         size_t errlen) {
  return config_load(out, path, errbuf, errlen, 0, NULL, 1);
}
