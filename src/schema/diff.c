#define _POSIX_C_SOURCE 200809L
/*
 * src/schema/diff.c: the schema guard. Compares FileDescriptorProto trees
 * in the rollback direction: the OLD schema reads, the NEW one writes.
 *
 * Each finding carries the verdict the old reader's runtime (protobuf-c by
 * default; rs_diff_options.runtime, the rules of src/codec/rules.c) gives a
 * record that hits it, and its severity follows from that verdict (add()
 * enforces it). Runtime behaviours the messages state
 * (protobuf-c 1.4 read from its source, parse_required_member() and
 * protobuf_c_message_unpack(); the others from the protobuf runtimes'
 * documented behaviour):
 *  - a known field whose wire type does not match: protobuf-c fails the
 *    unpack, with two exceptions: a bool field reads any bytes (its length
 *    prefix included), true when one has non-zero low 7 bits; a repeated
 *    scalar field reads a length-delimited field as a packed run (failing
 *    on a truncated varint, a length that is not a multiple of 4 or 8, or a
 *    packed bool byte above 1). C++, Java and Go keep the field as an
 *    unknown field, and the field reads as unset;
 *  - varints: protobuf-c keeps the low 32 bits for 32-bit types and enums,
 *    unzigzags sint32/64, and checks no enum number against its enum;
 *  - a missing required field fails the unpack unless the field has an
 *    explicit default, which protobuf-c then reads (C++ and Java fail);
 *  - repeated scalar fields: every runtime accepts packed and unpacked
 *    elements alike (protobuf-c 1.x, protobuf >= 2.3), proto2 and proto3;
 *  - a singular field met several times: the last scalar wins, messages
 *    are merged; a oneof met with several members: the last one wins;
 *  - enum numbers a closed (proto2) enum does not define: protobuf-c keeps
 *    the int; C++, Java and Python (upb) move the field to unknown fields
 *    (a repeated field loses the element); Go treats every enum as open and
 *    keeps the number; open (proto3) enums keep it everywhere (Java's getter
 *    returns UNRECOGNIZED), except that C++ and Java treat a proto3 enum as
 *    closed in a field of a proto2 message (protobuf.dev, "Enum Behavior");
 *  - strings: protobuf-c copies the bytes without a UTF-8 check and C code
 *    sees them up to the first NUL; proto3 strings fail to parse in C++,
 *    Java and Go when they are not valid UTF-8;
 *  - maps: protobuf-c keeps a map as its repeated entry messages, every
 *    entry; C++, Java and Go keep one entry per key, the last.
 */
#include <rollsafe/diff.h>

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/internal.h"
#include "schema/descset.h"
#include "schema/features.h"

typedef Google__Protobuf__FileDescriptorProto file_proto;
typedef Google__Protobuf__DescriptorProto msg_proto;
typedef Google__Protobuf__FieldDescriptorProto field_proto;
typedef Google__Protobuf__EnumDescriptorProto enum_proto;
typedef Google__Protobuf__EnumValueDescriptorProto value_proto;

#define T(x) GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_##x
#define L(x) GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_##x

/* Nesting of message declarations followed when indexing a set. */
#define MAX_NESTING 64

/* ---- rules ---------------------------------------------------------------
 */

static const struct {
  const char *id;
  rs_diff_verdict verdict;
  rs_diff_severity severity;
  const char *summary;
} rules[] = {
#define RULE_ROW(id, verdict, sev, summary) \
  {#id, RS_DIFF_VERDICT_##verdict, RS_DIFF_##sev, summary},
    RS_DIFF_RULE_MAP(RULE_ROW)
#undef RULE_ROW
};

const char *rs_diff_rule_id(rs_diff_rule rule) {
  return (unsigned)rule < RS_DIFF_RULE_COUNT ? rules[rule].id : NULL;
}

rs_diff_severity rs_diff_rule_severity(rs_diff_rule rule) {
  return (unsigned)rule < RS_DIFF_RULE_COUNT ? rules[rule].severity
                                             : RS_DIFF_INFO;
}

rs_diff_verdict rs_diff_rule_verdict(rs_diff_rule rule) {
  return (unsigned)rule < RS_DIFF_RULE_COUNT ? rules[rule].verdict
                                             : RS_DIFF_VERDICT_NONE;
}

const char *rs_diff_verdict_name(rs_diff_verdict verdict) {
  switch (verdict) {
    case RS_DIFF_VERDICT_OK:
      return "ok";
    case RS_DIFF_VERDICT_IGNORED_FIELDS:
      return "ignored_fields";
    case RS_DIFF_VERDICT_MISREAD:
      return "misread";
    case RS_DIFF_VERDICT_UNREADABLE:
      return "unreadable";
    default:
      return "none";
  }
}

/* The severity a verdict allows: misread and unreadable records are an
 * error, and nothing else is; below that, the finding's own judgement. */
static rs_diff_severity severity_for(rs_diff_verdict verdict,
                                     rs_diff_severity wanted) {
  if (verdict == RS_DIFF_VERDICT_MISREAD ||
      verdict == RS_DIFF_VERDICT_UNREADABLE)
    return RS_DIFF_ERROR;
  return wanted == RS_DIFF_ERROR ? RS_DIFF_WARNING : wanted;
}

const char *rs_diff_rule_summary(rs_diff_rule rule) {
  return (unsigned)rule < RS_DIFF_RULE_COUNT ? rules[rule].summary : NULL;
}

int rs_diff_rule_from_id(const char *id) {
  for (int i = 0; i < RS_DIFF_RULE_COUNT; i++)
    if (strcmp(rules[i].id, id) == 0) return i;
  return -1;
}

const char *rs_diff_severity_name(rs_diff_severity severity) {
  switch (severity) {
    case RS_DIFF_ERROR:
      return "error";
    case RS_DIFF_WARNING:
      return "warning";
    default:
      return "info";
  }
}

int rs_diff_severity_from_name(const char *name) {
  if (strcmp(name, "error") == 0) return RS_DIFF_ERROR;
  if (strcmp(name, "warning") == 0) return RS_DIFF_WARNING;
  if (strcmp(name, "info") == 0) return RS_DIFF_INFO;
  return 0;
}

/* ---- allocation -------------------------------------------------------------
 */

/*
 * Test hook: when rs__diff_fail_at is not 0, the rs__diff_fail_at-th
 * allocation this module makes itself fails (protobuf-c's and protoc's are
 * not counted), so that the chaos test of tests/unit/check_diff.c, its one
 * user, can prove that every error path frees what it took. Only a test
 * sets it; the counter is not touched otherwise.
 */
size_t rs__diff_fail_at, rs__diff_n_allocs;

static void *d_realloc(void *p, size_t n) {
  if (rs__diff_fail_at != 0 && ++rs__diff_n_allocs == rs__diff_fail_at)
    return NULL;
  return realloc(p, n > 0 ? n : 1);
}

static void *d_malloc(size_t n) {
  return d_realloc(NULL, n);
}

static void *d_calloc(size_t count, size_t size) {
  if (size != 0 && count > (size_t)-1 / size) return NULL;
  void *p = d_malloc(count * size);
  if (p != NULL) memset(p, 0, count * size);
  return p;
}

/* ---- strings ---------------------------------------------------------------
 */

static char *vformat(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));
static char *vformat(const char *fmt, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  if (n < 0) return NULL;
  char *s = d_malloc((size_t)n + 1);
  if (s != NULL) vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = vformat(fmt, ap);
  va_end(ap);
  return s;
}

static char *xdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *c = d_malloc(n);
  if (c != NULL) memcpy(c, s, n);
  return c;
}

/* ---- the schema index ------------------------------------------------------
 */

typedef struct sx_file {
  const file_proto *fd;
  char *uri; /* what locations name */
  int own;   /* no other file of the set imports it */
  int proto3;
  int edition;       /* RS__EDITION_* */
  rs__features feat; /* the file's defaults and its own features */
} sx_file;

typedef struct sx_type {
  char *full;           /* "shop.v1.Order.Status", no leading dot */
  const char *rel;      /* full without the file's package: "Order.Status" */
  const msg_proto *msg; /* exactly one of msg, en */
  const enum_proto *en;
  size_t file;
  int32_t *path; /* SourceCodeInfo path of the declaration */
  size_t path_len;
  rs__features feat; /* resolved through the enclosing messages */
  /* The member kind of its fields in SourceCodeInfo paths: 0 for
   * DescriptorProto.field (2); an extension's stand-in owner (sx_ext)
   * names FileDescriptorProto.extension (7) or DescriptorProto.extension
   * (6). */
  int32_t member_kind;
} sx_type;

/* A field's resolved features, for the fields of editions files. */
typedef struct sx_fx {
  const field_proto *f;
  rs__features feat;
} sx_fx;

/* An extension (`extend`): compared as a field of its extendee, through a
 * stand-in owner whose message holds only the extension, named
 * "(scope.name)" as protoc names extensions in text. */
typedef struct sx_ext {
  char *extendee; /* full name, no leading dot */
  sx_type owner;  /* full: the extendee's; path: the extension's scope */
  msg_proto msg;
  field_proto field;
  field_proto *fields[1];
  char *name;
  size_t index; /* in the scope's extensions */
} sx_ext;

struct rs_diff_schema {
  char *path;
  Google__Protobuf__FileDescriptorSet *set;
  sx_file *files;
  size_t n_files;
  sx_type *types; /* sorted by full name */
  size_t n_types, cap_types;
  sx_fx *fx; /* sorted by field pointer */
  size_t n_fx;
  sx_ext *exts;
  size_t n_exts;
};

static const char *no_dot(const char *s) {
  return s != NULL && s[0] == '.' ? s + 1 : s;
}

static int add_type(rs_diff_schema *s, const char *prefix, const char *name,
                    const char *package, size_t file, const int32_t *path,
                    size_t path_len, const msg_proto *m, const enum_proto *e,
                    const rs__features *scope, char **full_out) {
  if (s->n_types == s->cap_types) {
    size_t cap = s->cap_types ? s->cap_types * 2 : 32;
    sx_type *t = d_realloc(s->types, cap * sizeof *t);
    if (t == NULL) return RS_ENOMEM;
    s->types = t;
    s->cap_types = cap;
  }
  sx_type *t = &s->types[s->n_types];
  memset(t, 0, sizeof *t);
  t->full = prefix[0] != '\0' ? format("%s.%s", prefix, name) : xdup(name);
  t->path = d_malloc(path_len * sizeof *t->path);
  if (t->full == NULL || t->path == NULL) {
    free(t->full);
    free(t->path);
    return RS_ENOMEM;
  }
  size_t plen = package != NULL ? strlen(package) : 0;
  t->rel =
      plen > 0 && strncmp(t->full, package, plen) == 0 && t->full[plen] == '.'
          ? t->full + plen + 1
          : t->full;
  memcpy(t->path, path, path_len * sizeof *path);
  t->path_len = path_len;
  t->msg = m;
  t->en = e;
  t->file = file;
  t->feat = *scope;
  if (rs__is_editions(s->files[file].edition))
    rs__features_merge(
        &t->feat,
        m != NULL ? (const ProtobufCMessage *)m->options
                  : (const ProtobufCMessage *)e->options,
        m != NULL ? RS__FEATURES_OF_MESSAGE : RS__FEATURES_OF_ENUM);
  s->n_types++;
  *full_out = t->full;
  return 0;
}

static int index_message(rs_diff_schema *s, const msg_proto *m,
                         const char *prefix, const char *package, size_t file,
                         int32_t *path, size_t path_len, unsigned depth,
                         const rs__features *scope, rs_error *err) {
  char *full;
  if (m->name == NULL || m->name[0] == '\0')
    return rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                    "%s: a message without a name in %s", s->path,
                    s->files[file].fd->name);
  if (depth > MAX_NESTING)
    return rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                    "%s: messages nested more than %d deep in %s", s->path,
                    MAX_NESTING, s->files[file].fd->name);
  if (add_type(s, prefix, m->name, package, file, path, path_len, m, NULL,
               scope, &full) != 0)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "out of memory");
  rs__features feat = s->types[s->n_types - 1].feat;
  /* full lives in s->types, which may move: keep a copy of the prefix. */
  char *me = xdup(full);
  if (me == NULL)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "out of memory");
  int rc = 0;
  path[path_len] = 4; /* DescriptorProto.enum_type */
  for (size_t i = 0; rc == 0 && i < m->n_enum_type; i++) {
    path[path_len + 1] = (int32_t)i;
    const enum_proto *e = m->enum_type[i];
    if (e->name == NULL || e->name[0] == '\0')
      rc = rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                    "%s: an enum without a name in %s", s->path, me);
    else if (add_type(s, me, e->name, package, file, path, path_len + 2, NULL,
                      e, &feat, &full) != 0)
      rc = rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "out of memory");
  }
  path[path_len] = 3; /* DescriptorProto.nested_type */
  for (size_t i = 0; rc == 0 && i < m->n_nested_type; i++) {
    path[path_len + 1] = (int32_t)i;
    rc = index_message(s, m->nested_type[i], me, package, file, path,
                       path_len + 2, depth + 1, &feat, err);
  }
  free(me);
  return rc;
}

static int type_cmp(const void *a, const void *b) {
  return strcmp(((const sx_type *)a)->full, ((const sx_type *)b)->full);
}

static const sx_type *find_type(const rs_diff_schema *s, const char *full) {
  size_t lo = 0, hi = s->n_types;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(s->types[mid].full, full);
    if (c == 0) return &s->types[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

static int fx_cmp(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)((const sx_fx *)a)->f;
  uintptr_t y = (uintptr_t)((const sx_fx *)b)->f;
  return (x > y) - (x < y);
}

/* The resolved features of a field of an editions file; NULL for proto2
 * and proto3 files, whose rules come from their syntax. */
static const rs__features *ed_features(const rs_diff_schema *s,
                                       const field_proto *f) {
  if (s->n_fx == 0) return NULL;
  sx_fx key;
  key.f = f;
  const sx_fx *hit = bsearch(&key, s->fx, s->n_fx, sizeof key, fx_cmp);
  return hit != NULL ? &hit->feat : NULL;
}

/* A field's features: its scope's (message or extension scope), its
 * oneof's, its own. */
static rs__features field_features(const rs__features *scope,
                                   const msg_proto *m, const field_proto *f) {
  rs__features ff = *scope;
  if (m != NULL && f->has_oneof_index && f->oneof_index >= 0 &&
      (size_t)f->oneof_index < m->n_oneof_decl)
    rs__features_merge(
        &ff, (const ProtobufCMessage *)m->oneof_decl[f->oneof_index]->options,
        RS__FEATURES_OF_ONEOF);
  rs__features_merge(&ff, (const ProtobufCMessage *)f->options,
                     RS__FEATURES_OF_FIELD);
  return ff;
}

static int is_map_entry(const msg_proto *m) {
  return m != NULL && m->options != NULL && m->options->has_map_entry &&
         m->options->map_entry;
}

/* The type a message or enum field names, resolved; NULL for scalars. */
static const sx_type *field_type(const rs_diff_schema *s,
                                 const field_proto *f) {
  if (f->type_name == NULL) return NULL;
  return find_type(s, no_dot(f->type_name));
}

/* A field's kind; a message field of an editions file with
 * message_encoding = DELIMITED is written as a proto2 group is: T(GROUP). */
static int field_kind(const rs_diff_schema *s, const field_proto *f) {
  int kind;
  if (f->has_type) {
    kind = (int)f->type;
  } else {
    const sx_type *t = field_type(s, f);
    if (t == NULL) return 0;
    kind = t->msg != NULL ? T(MESSAGE) : T(ENUM);
  }
  if (kind == T(MESSAGE)) {
    const rs__features *ff = ed_features(s, f);
    if (ff != NULL && ff->encoding == RS__ENCODING_DELIMITED) return T(GROUP);
  }
  return kind;
}

static int cmp_field_number(const void *a, const void *b) {
  int32_t x = (*(const field_proto *const *)a)->number;
  int32_t y = (*(const field_proto *const *)b)->number;
  return (x > y) - (x < y);
}

static int cmp_field_name(const void *a, const void *b) {
  return strcmp((*(const field_proto *const *)a)->name,
                (*(const field_proto *const *)b)->name);
}

/* A message's field numbers and names are unique (fields are matched
 * across versions by them). */
static int check_unique(const rs_diff_schema *s, const sx_type *t,
                        rs_error *err) {
  size_t n = t->msg->n_field;
  if (n < 2) return 0;
  const field_proto **by = d_malloc(n * sizeof *by);
  if (by == NULL)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "out of memory");
  memcpy(by, t->msg->field, n * sizeof *by);
  int rc = 0;
  qsort(by, n, sizeof *by, cmp_field_number);
  for (size_t j = 1; j < n && rc == 0; j++)
    if (by[j - 1]->number == by[j]->number)
      rc = rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                    "%s: message %s: field number %d is used by %s and %s",
                    s->path, t->full, (int)by[j]->number, by[j - 1]->name,
                    by[j]->name);
  qsort(by, n, sizeof *by, cmp_field_name);
  for (size_t j = 1; j < n && rc == 0; j++)
    if (strcmp(by[j - 1]->name, by[j]->name) == 0)
      rc = rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                    "%s: message %s: field name %s is used twice", s->path,
                    t->full, by[j]->name);
  free(by);
  return rc;
}

/* Every field's type must resolve and match its kind, and numbers and
 * names are unique: the comparison relies on it. */
static int check_fields(const rs_diff_schema *s, rs_error *err) {
  for (size_t i = 0; i < s->n_types; i++) {
    const sx_type *t = &s->types[i];
    if (t->msg == NULL) continue;
    for (size_t j = 0; j < t->msg->n_field; j++) {
      const field_proto *f = t->msg->field[j];
      const char *name = f->name != NULL ? f->name : "?";
      if (f->name == NULL || !f->has_number || f->number < 1 ||
          f->number > 536870911)
        return rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                        "%s: field %s.%s has no name or a number outside "
                        "1..536870911",
                        s->path, t->full, name);
      int kind = field_kind(s, f);
      if (kind < T(DOUBLE) || kind > T(SINT64))
        return rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                        "%s: field %s.%s(%d): no type, or type '%s' not in "
                        "the descriptor set",
                        s->path, t->full, name, (int)f->number,
                        f->type_name != NULL ? f->type_name : "");
      if (kind == T(MESSAGE) || kind == T(GROUP) || kind == T(ENUM)) {
        const sx_type *ft = field_type(s, f);
        if (ft == NULL)
          return rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                          "%s: field %s.%s(%d): type '%s' not in the "
                          "descriptor set (was it built with "
                          "--include_imports?)",
                          s->path, t->full, name, (int)f->number,
                          f->type_name != NULL ? f->type_name : "");
        if ((kind == T(ENUM)) != (ft->en != NULL))
          return rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                          "%s: field %s.%s(%d): type '%s' is not a%s", s->path,
                          t->full, name, (int)f->number, f->type_name,
                          kind == T(ENUM) ? "n enum" : " message");
      }
      if (f->has_oneof_index &&
          (f->oneof_index < 0 ||
           (size_t)f->oneof_index >= t->msg->n_oneof_decl))
        return rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                        "%s: field %s.%s(%d): oneof index %d out of range",
                        s->path, t->full, name, (int)f->number,
                        (int)f->oneof_index);
    }
    int rc = check_unique(s, t, err);
    if (rc != 0) return rc;
  }
  for (size_t i = 0; i < s->n_exts; i++) {
    const field_proto *f = &s->exts[i].field;
    int kind = field_kind(s, f);
    if (!f->has_number || kind < T(DOUBLE) || kind > T(SINT64) ||
        s->exts[i].extendee[0] == '\0' ||
        ((kind == T(MESSAGE) || kind == T(GROUP) || kind == T(ENUM)) &&
         field_type(s, f) == NULL))
      return rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                      "%s: extension %s: no extendee, number or type, or a "
                      "type not in the descriptor set",
                      s->path, s->exts[i].name);
  }
  return 0;
}

/* Sets up one extension's stand-in (see sx_ext). */
static int add_ext(rs_diff_schema *s, const field_proto *f, const char *scope,
                   size_t file, const int32_t *path, size_t path_len,
                   int32_t member_kind, size_t index,
                   const rs__features *feat) {
  sx_ext *x = &s->exts[s->n_exts];
  memset(x, 0, sizeof *x);
  x->extendee = xdup(f->extendee != NULL ? no_dot(f->extendee) : "");
  /* Named without the package, as types are matched across versions
   * (sx_type.rel): "(e)", "(Rec.e)". */
  x->name = scope[0] != '\0' ? format("(%s.%s)", scope, f->name)
                             : format("(%s)", f->name);
  x->owner.path = d_malloc((path_len + 1) * sizeof *path);
  if (x->extendee == NULL || x->name == NULL || x->owner.path == NULL) {
    free(x->extendee);
    free(x->name);
    free(x->owner.path);
    return RS_ENOMEM;
  }
  s->n_exts++;
  if (path_len > 0) memcpy(x->owner.path, path, path_len * sizeof *path);
  x->owner.path_len = path_len;
  x->owner.full = x->extendee;
  x->owner.rel = x->extendee;
  x->owner.file = file;
  x->owner.msg = &x->msg;
  x->owner.member_kind = member_kind;
  x->owner.feat = *feat;
  x->field = *f;
  x->field.name = x->name;
  x->fields[0] = &x->field;
  x->msg = (msg_proto)GOOGLE__PROTOBUF__DESCRIPTOR_PROTO__INIT;
  x->msg.name = x->extendee;
  x->msg.n_field = 1;
  x->msg.field = x->fields;
  x->index = index;
  return 0;
}

/* The features of every field of an editions file, and the extensions of
 * every file. 0 or RS_ENOMEM. */
static int index_features(rs_diff_schema *s) {
  size_t n_fx = 0, n_ext = 0;
  for (size_t i = 0; i < s->n_files; i++) n_ext += s->files[i].fd->n_extension;
  for (size_t i = 0; i < s->n_types; i++) {
    const sx_type *t = &s->types[i];
    if (t->msg == NULL) continue;
    n_ext += t->msg->n_extension;
    if (rs__is_editions(s->files[t->file].edition)) n_fx += t->msg->n_field;
  }
  n_fx += n_ext;
  if (n_ext > 0 && (s->exts = d_calloc(n_ext, sizeof *s->exts)) == NULL)
    return RS_ENOMEM;
  if (n_fx > 0 && (s->fx = d_calloc(n_fx, sizeof *s->fx)) == NULL)
    return RS_ENOMEM;
  for (size_t i = 0; i < s->n_files; i++) {
    const file_proto *fd = s->files[i].fd;
    for (size_t k = 0; k < fd->n_extension; k++)
      if (add_ext(s, fd->extension[k], "", i, NULL, 0, 7, k,
                  &s->files[i].feat) != 0)
        return RS_ENOMEM;
  }
  for (size_t i = 0; i < s->n_types; i++) {
    const sx_type *t = &s->types[i];
    if (t->msg == NULL) continue;
    for (size_t k = 0; k < t->msg->n_extension; k++)
      if (add_ext(s, t->msg->extension[k], t->rel, t->file, t->path,
                  t->path_len, 6, k, &t->feat) != 0)
        return RS_ENOMEM;
    if (!rs__is_editions(s->files[t->file].edition)) continue;
    for (size_t j = 0; j < t->msg->n_field; j++) {
      s->fx[s->n_fx].f = t->msg->field[j];
      s->fx[s->n_fx].feat = field_features(&t->feat, t->msg, t->msg->field[j]);
      s->n_fx++;
    }
  }
  for (size_t i = 0; i < s->n_exts; i++) {
    sx_ext *x = &s->exts[i];
    if (!rs__is_editions(s->files[x->owner.file].edition)) continue;
    s->fx[s->n_fx].f = &x->field;
    s->fx[s->n_fx].feat = field_features(&x->owner.feat, NULL, &x->field);
    s->n_fx++;
  }
  if (s->n_fx > 1) qsort(s->fx, s->n_fx, sizeof *s->fx, fx_cmp);
  return 0;
}

/* A path usable from the working directory for a file of a .proto input:
 * protoc named it relative to the input's directory. */
static char *file_uri(const char *input, const char *name, int from_proto) {
  const char *slash = strrchr(input, '/');
  if (!from_proto || slash == NULL) return xdup(name);
  char *joined = format("%.*s/%s", (int)(slash - input), input, name);
  if (joined != NULL && access(joined, F_OK) != 0) {
    free(joined);
    return xdup(name);
  }
  return joined;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

void rs_diff_schema_free(rs_diff_schema *s) {
  if (s == NULL) return;
  for (size_t i = 0; i < s->n_types; i++) {
    free(s->types[i].full);
    free(s->types[i].path);
  }
  free(s->types);
  free(s->fx);
  for (size_t i = 0; i < s->n_exts; i++) {
    free(s->exts[i].extendee);
    free(s->exts[i].owner.path);
    free(s->exts[i].name);
  }
  free(s->exts);
  for (size_t i = 0; i < s->n_files; i++) free(s->files[i].uri);
  free(s->files);
  rs__descset_free(s->set);
  free(s->path);
  free(s);
}

const char *rs_diff_schema_path(const rs_diff_schema *s) {
  return s->path;
}

int rs_diff_schema_load(rs_diff_schema **out, const char *path,
                        const char *const *include_dirs, rs_error *err) {
  *out = NULL;
  FILE *probe = fopen(path, "rb");
  if (probe == NULL)
    return rs__fail(err, RS_EIO, RS_OFFSET_NONE, "%s: cannot open: %s", path,
                    strerror(errno));
  fclose(probe);
  int from_proto = ends_with(path, ".proto");
  /* A missing compiler (an I/O matter) is told apart from a file it
   * rejects (the input's fault). */
  if (from_proto && rs__protoc_command() == NULL)
    return rs__fail(err, RS_EIO, RS_OFFSET_NONE,
                    "%s: protoc not found on PATH (nor protoc-c, or $PROTOC) "
                    "to compile it; install protobuf-compiler or pass a "
                    "descriptor set",
                    path);
  rs_diff_schema *s = d_calloc(1, sizeof *s);
  if (s == NULL)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "out of memory");
  s->path = xdup(path);
  if (s->path == NULL) {
    rs_diff_schema_free(s);
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "out of memory");
  }
  int rc = rs__descset_load(&s->set, path, include_dirs, err);
  /* protoc is there (checked above): its failure is the file's fault. */
  if (rc == RS_EIO && from_proto) {
    if (err != NULL) err->code = RS_EDECODE;
    rc = RS_EDECODE;
  }
  if (rc != 0) {
    rs_diff_schema_free(s);
    return rc;
  }
  s->files = d_calloc(s->set->n_file, sizeof *s->files);
  if (s->files == NULL) goto oom;
  s->n_files = s->set->n_file; /* counted once there: freed when half-filled */
  for (size_t i = 0; i < s->n_files; i++) {
    const file_proto *fd = s->set->file[i];
    if (fd->name == NULL) {
      rs_diff_schema_free(s);
      return rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                      "%s: file #%zu of the set has no name", path, i + 1);
    }
    s->files[i].fd = fd;
    const char *why = NULL;
    if (rs__file_edition(fd, &s->files[i].edition, &why) != 0) {
      /* The file's name lives in the set: said before it is freed. */
      rs__fail(err, RS_EDECODE, RS_OFFSET_NONE, "%s: %s: %s", path, fd->name,
               why);
      rs_diff_schema_free(s);
      return RS_EDECODE;
    }
    s->files[i].proto3 = s->files[i].edition == RS__EDITION_PROTO3;
    rs__features_of_file(&s->files[i].feat, fd, s->files[i].edition);
    s->files[i].uri = file_uri(path, fd->name, from_proto);
    if (s->files[i].uri == NULL) goto oom;
    s->files[i].own = 1;
  }
  for (size_t i = 0; i < s->n_files; i++)
    for (size_t d = 0; d < s->files[i].fd->n_dependency; d++)
      for (size_t j = 0; j < s->n_files; j++)
        if (j != i &&
            strcmp(s->files[j].fd->name, s->files[i].fd->dependency[d]) == 0)
          s->files[j].own = 0;

  int32_t path_buf[2 * MAX_NESTING + 8];
  for (size_t i = 0; i < s->n_files; i++) {
    const file_proto *fd = s->files[i].fd;
    const char *package = fd->package != NULL ? fd->package : "";
    char *full;
    path_buf[0] = 5; /* FileDescriptorProto.enum_type */
    for (size_t e = 0; e < fd->n_enum_type; e++) {
      path_buf[1] = (int32_t)e;
      if (fd->enum_type[e]->name == NULL || fd->enum_type[e]->name[0] == '\0') {
        /* fd is the set's, which the free releases: the message first. */
        rc = rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                      "%s: an enum without a name in %s", path, fd->name);
        rs_diff_schema_free(s);
        return rc;
      }
      if (add_type(s, package, fd->enum_type[e]->name, package, i, path_buf, 2,
                   NULL, fd->enum_type[e], &s->files[i].feat, &full) != 0)
        goto oom;
    }
    path_buf[0] = 4; /* FileDescriptorProto.message_type */
    for (size_t m = 0; m < fd->n_message_type; m++) {
      path_buf[1] = (int32_t)m;
      rc = index_message(s, fd->message_type[m], package, package, i, path_buf,
                         2, 0, &s->files[i].feat, err);
      if (rc != 0) {
        rs_diff_schema_free(s);
        return rc;
      }
    }
  }
  if (s->n_types > 1) qsort(s->types, s->n_types, sizeof *s->types, type_cmp);
  for (size_t i = 1; i < s->n_types; i++)
    if (strcmp(s->types[i - 1].full, s->types[i].full) == 0) {
      rc = rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                    "%s: type %s is defined twice", path, s->types[i].full);
      rs_diff_schema_free(s);
      return rc;
    }
  /* Values are compared by name: each needs one. */
  for (size_t i = 0; i < s->n_types; i++) {
    const enum_proto *e = s->types[i].en;
    for (size_t k = 0; e != NULL && k < e->n_value; k++)
      if (e->value[k]->name == NULL || e->value[k]->name[0] == '\0') {
        rc = rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                      "%s: enum %s: value %zu has no name", path,
                      s->types[i].full, k + 1);
        rs_diff_schema_free(s);
        return rc;
      }
  }
  rc = index_features(s);
  if (rc != 0) goto oom;
  rc = check_fields(s, err);
  if (rc != 0) {
    rs_diff_schema_free(s);
    return rc;
  }
  *out = s;
  return 0;
oom:
  rs_diff_schema_free(s);
  return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "out of memory");
}

/* ---- the report ------------------------------------------------------------
 */

struct rs_diff_finding {
  rs_diff_rule rule;
  rs_diff_verdict verdict;
  rs_diff_severity severity;
  char *path;
  char *message;
  char *file;
  unsigned line, column;
  size_t reader, writer;
  char *suppressed_by;
  char *suppression_reason;
};

struct rs_diff_report {
  rs_diff_finding *items;
  size_t n, cap;
};

void rs_diff_report_free(rs_diff_report *r) {
  if (r == NULL) return;
  for (size_t i = 0; i < r->n; i++) {
    free(r->items[i].path);
    free(r->items[i].message);
    free(r->items[i].file);
    free(r->items[i].suppressed_by);
    free(r->items[i].suppression_reason);
  }
  free(r->items);
  free(r);
}

size_t rs_diff_report_count(const rs_diff_report *r) {
  return r->n;
}

const rs_diff_finding *rs_diff_report_get(const rs_diff_report *r, size_t i) {
  return i < r->n ? &r->items[i] : NULL;
}

rs_diff_rule rs_diff_finding_rule(const rs_diff_finding *f) {
  return f->rule;
}
rs_diff_severity rs_diff_finding_severity(const rs_diff_finding *f) {
  return f->severity;
}
rs_diff_verdict rs_diff_finding_verdict(const rs_diff_finding *f) {
  return f->verdict;
}
const char *rs_diff_finding_path(const rs_diff_finding *f) {
  return f->path;
}
const char *rs_diff_finding_message(const rs_diff_finding *f) {
  return f->message;
}
const char *rs_diff_finding_file(const rs_diff_finding *f) {
  return f->file;
}
unsigned rs_diff_finding_line(const rs_diff_finding *f) {
  return f->line;
}
unsigned rs_diff_finding_column(const rs_diff_finding *f) {
  return f->column;
}
size_t rs_diff_finding_reader(const rs_diff_finding *f) {
  return f->reader;
}
size_t rs_diff_finding_writer(const rs_diff_finding *f) {
  return f->writer;
}
const char *rs_diff_finding_suppressed_by(const rs_diff_finding *f) {
  return f->suppressed_by;
}
const char *rs_diff_finding_suppression_reason(const rs_diff_finding *f) {
  return f->suppression_reason;
}

/* ---- comparison state -------------------------------------------------------
 */

typedef struct pair {
  const sx_type *o, *n;
} pair;

typedef struct cmp {
  rs_diff_report *rep;
  const rs_diff_schema *os, *ns; /* reader, writer */
  size_t ri, wi;
  pair *seen;                    /* message and enum pairs queued or compared */
  size_t n_seen, cap_seen, next; /* next: the first pair not compared yet */
  /* The OLD type's name while comparing a pair whose names differ: paths
   * end with " as OLD" then, since one NEW type may be read as several. */
  const char *as;
  int oom;
  const rs__rules *rt; /* the old reader's runtime */
} cmp;

/* Where a declaration is: the type's own path, plus (kind, index) of a
 * member (field 2 of a message, value 2 of an enum) when kind >= 0. */
typedef struct where {
  const rs_diff_schema *s;
  const sx_type *t;
  int32_t kind, index;
} where;

static void locate(const where *w, char **file, unsigned *line, unsigned *col) {
  const sx_file *f = &w->s->files[w->t->file];
  *file = xdup(f->uri);
  *line = *col = 0;
  const Google__Protobuf__SourceCodeInfo *sci = f->fd->source_code_info;
  if (sci == NULL) return;
  size_t want = w->t->path_len + (w->kind >= 0 ? 2 : 0);
  for (size_t i = 0; i < sci->n_location; i++) {
    const Google__Protobuf__SourceCodeInfo__Location *l = sci->location[i];
    if (l->n_path != want || l->n_span < 3) continue;
    if (memcmp(l->path, w->t->path, w->t->path_len * sizeof *l->path) != 0)
      continue;
    if (w->kind >= 0 &&
        (l->path[want - 2] != w->kind || l->path[want - 1] != w->index))
      continue;
    *line = (unsigned)l->span[0] + 1;
    *col = (unsigned)l->span[1] + 1;
    return;
  }
}

static void add(cmp *c, rs_diff_rule rule, rs_diff_verdict verdict,
                rs_diff_severity sev, const where *w, char *path,
                const char *fmt, ...) __attribute__((format(printf, 7, 8)));

/* Records a finding; takes @p path over. The severity is @p sev as far as
 * the verdict allows (severity_for). */
static void add(cmp *c, rs_diff_rule rule, rs_diff_verdict verdict,
                rs_diff_severity sev, const where *w, char *path,
                const char *fmt, ...) {
  rs_diff_report *r = c->rep;
  if (path == NULL) {
    c->oom = 1;
    return;
  }
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 16;
    rs_diff_finding *items = d_realloc(r->items, cap * sizeof *items);
    if (items == NULL) {
      free(path);
      c->oom = 1;
      return;
    }
    r->items = items;
    r->cap = cap;
  }
  rs_diff_finding *f = &r->items[r->n];
  memset(f, 0, sizeof *f);
  f->rule = rule;
  f->verdict = verdict;
  f->severity = severity_for(verdict, sev);
  f->path = path;
  f->reader = c->ri;
  f->writer = c->wi;
  va_list ap;
  va_start(ap, fmt);
  f->message = vformat(fmt, ap);
  va_end(ap);
  locate(w, &f->file, &f->line, &f->column);
  if (f->message == NULL || f->file == NULL) {
    free(f->message);
    free(f->file);
    free(path);
    c->oom = 1;
    return;
  }
  r->n++;
}

/* Queues a pair of messages (or enums) to compare, once. */
static void queue(cmp *c, const sx_type *o, const sx_type *n) {
  for (size_t i = 0; i < c->n_seen; i++)
    if (c->seen[i].o == o && c->seen[i].n == n) return;
  if (c->n_seen == c->cap_seen) {
    size_t cap = c->cap_seen ? c->cap_seen * 2 : 32;
    pair *p = d_realloc(c->seen, cap * sizeof *p);
    if (p == NULL) {
      c->oom = 1;
      return;
    }
    c->seen = p;
    c->cap_seen = cap;
  }
  c->seen[c->n_seen].o = o;
  c->seen[c->n_seen].n = n;
  c->n_seen++;
}

/* ---- field facts
 * -------------------------------------------------------------
 */

enum wire { W_VARINT = 0, W_I64 = 1, W_LEN = 2, W_GROUP = 3, W_I32 = 5 };

static int wire_of(int kind) {
  switch (kind) {
    case T(DOUBLE):
    case T(FIXED64):
    case T(SFIXED64):
      return W_I64;
    case T(FLOAT):
    case T(FIXED32):
    case T(SFIXED32):
      return W_I32;
    case T(STRING):
    case T(BYTES):
    case T(MESSAGE):
      return W_LEN;
    case T(GROUP):
      return W_GROUP;
    default:
      return W_VARINT;
  }
}

static const char *wire_name(int w) {
  switch (w) {
    case W_VARINT:
      return "varint";
    case W_I64:
      return "64-bit";
    case W_LEN:
      return "length-delimited";
    case W_GROUP:
      return "group";
    default:
      return "32-bit";
  }
}

static const char *kind_name(int kind) {
  static const char *const names[] = {
      "?",        "double",   "float",   "int64",  "uint64",
      "int32",    "fixed64",  "fixed32", "bool",   "string",
      "group",    "message",  "bytes",   "uint32", "enum",
      "sfixed32", "sfixed64", "sint32",  "sint64"};
  return kind >= 1 && kind <= 18 ? names[kind] : "?";
}

typedef struct fctx {
  const rs_diff_schema *s;
  const sx_type *owner; /* the message */
  const field_proto *f;
  size_t index; /* in owner->msg->field */
} fctx;

static int is_repeated(const field_proto *f) {
  return f->has_label && f->label == L(REPEATED);
}

/* Required: proto2's label, or editions' field_presence =
 * LEGACY_REQUIRED, which readers check as they check the label. */
static int is_required(const rs_diff_schema *s, const field_proto *f) {
  if (f->has_label && f->label == L(REQUIRED)) return 1;
  const rs__features *ff = ed_features(s, f);
  return ff != NULL && ff->presence == RS__PRESENCE_LEGACY_REQUIRED &&
         !(f->has_label && f->label == L(REPEATED)) && !f->has_oneof_index;
}

/* Whether readers check a string field's UTF-8 (proto3; editions'
 * utf8_validation = VERIFY). */
static int utf8_checked(const fctx *x) {
  const rs__features *ff = ed_features(x->s, x->f);
  if (ff != NULL) return ff->utf8 == RS__UTF8_VERIFY;
  return x->s->files[x->owner->file].proto3;
}

static int proto3_file(const fctx *x) {
  return x->s->files[x->owner->file].proto3;
}

static int in_real_oneof(const field_proto *f) {
  return f->has_oneof_index && !(f->has_proto3_optional && f->proto3_optional);
}

static int is_packable(int kind) {
  return kind != T(STRING) && kind != T(BYTES) && kind != T(MESSAGE) &&
         kind != T(GROUP);
}

static int is_packed(const fctx *x) {
  int kind = field_kind(x->s, x->f);
  if (!is_repeated(x->f) || !is_packable(kind)) return 0;
  const rs__features *ff = ed_features(x->s, x->f);
  if (ff != NULL) return ff->repeated == RS__REPEATED_PACKED;
  if (x->f->options != NULL && x->f->options->has_packed)
    return x->f->options->packed;
  return proto3_file(x);
}

static const sx_type *map_entry_of(const fctx *x) {
  if (!is_repeated(x->f) || field_kind(x->s, x->f) != T(MESSAGE)) return NULL;
  const sx_type *t = field_type(x->s, x->f);
  return t != NULL && is_map_entry(t->msg) ? t : NULL;
}

static int has_presence(const fctx *x) {
  int kind = field_kind(x->s, x->f);
  if (is_repeated(x->f)) return 0;
  if (kind == T(MESSAGE) || kind == T(GROUP) || x->f->has_oneof_index) return 1;
  const rs__features *ff = ed_features(x->s, x->f);
  if (ff != NULL) return ff->presence != RS__PRESENCE_IMPLICIT;
  return !proto3_file(x);
}

/* "int64", "message shop.v2.Timestamp", "enum shop.v1.Order.Status". */
static void type_text(char *out, size_t cap, const fctx *x) {
  int kind = field_kind(x->s, x->f);
  const sx_type *t = field_type(x->s, x->f);
  if (t != NULL)
    snprintf(out, cap, "%s %s", kind_name(kind), t->full);
  else
    snprintf(out, cap, "%s", kind_name(kind));
}

static const field_proto *field_by_number(const msg_proto *m, int32_t number,
                                          size_t *index) {
  for (size_t i = 0; i < m->n_field; i++)
    if (m->field[i]->number == number) {
      if (index != NULL) *index = i;
      return m->field[i];
    }
  return NULL;
}

static const field_proto *field_by_name(const msg_proto *m, const char *name,
                                        size_t *index) {
  for (size_t i = 0; i < m->n_field; i++)
    if (strcmp(m->field[i]->name, name) == 0) {
      if (index != NULL) *index = i;
      return m->field[i];
    }
  return NULL;
}

/* "shop.v2.Order.deliver_by(9)", or "t.Price.units(1) as t.Money". */
static char *member_path(const cmp *c, const sx_type *owner, const char *name,
                         int number) {
  return format("%s.%s(%d)%s%s", owner->full, name, number,
                c->as != NULL ? " as " : "", c->as != NULL ? c->as : "");
}

static char *field_path(const cmp *c, const sx_type *owner,
                        const field_proto *f) {
  return member_path(c, owner, f->name, (int)f->number);
}

/* ---- type changes
 * ------------------------------------------------------------
 */

typedef enum tkind {
  TK_SAME,
  TK_COMPATIBLE,
  TK_NARROWED,
  TK_SIGN,
  TK_INCOMPATIBLE,
  TK_WIRE,
  TK_BYTES_TO_STRING,
  TK_BYTES_TO_MESSAGE,
  TK_MESSAGE_CHANGED,
  TK_ENUM_CHANGED
} tkind;

typedef struct tres {
  tkind kind;
  rs_diff_verdict verdict; /* of a value the change does not preserve */
  char why[1024];
} tres;

/* Integer ranges of varint types, as long double (exact for these bounds
 * once rounded: only 2^63-1 and 2^64-1 round, to distinct values). */
typedef struct irange {
  long double lo, hi;
  int bits; /* 1 (bool), 32 or 64: what the reader keeps of the varint */
} irange;

static irange enum_range(const enum_proto *e) {
  irange r = {0, 0, 32};
  for (size_t i = 0; i < e->n_value; i++) {
    long double v = e->value[i]->number;
    if (i == 0 || v < r.lo) r.lo = v;
    if (i == 0 || v > r.hi) r.hi = v;
  }
  return r;
}

static irange int_range(int kind, const sx_type *t) {
  irange r;
  switch (kind) {
    case T(INT32):
    case T(SINT32):
      r.lo = -2147483648.0L, r.hi = 2147483647.0L, r.bits = 32;
      break;
    case T(UINT32):
      r.lo = 0, r.hi = 4294967295.0L, r.bits = 32;
      break;
    case T(UINT64):
      r.lo = 0, r.hi = 18446744073709551615.0L, r.bits = 64;
      break;
    case T(BOOL):
      r.lo = 0, r.hi = 1, r.bits = 1;
      break;
    case T(ENUM):
      return enum_range(t->en);
    default: /* int64, sint64 */
      r.lo = -9223372036854775808.0L, r.hi = 9223372036854775807.0L,
      r.bits = 64;
      break;
  }
  return r;
}

static int zigzag(int kind) {
  return kind == T(SINT32) || kind == T(SINT64);
}

static int same_name(const sx_type *a, const sx_type *b) {
  return strcmp(a->full, b->full) == 0 || strcmp(a->rel, b->rel) == 0;
}

/* What the old reader's type makes of values of the new writer's type, and
 * the verdict of a record whose value the change does not preserve. */
static void compare_types(cmp *c, const fctx *o, const fctx *n, tres *r) {
  int ok = field_kind(o->s, o->f), nk = field_kind(n->s, n->f);
  const sx_type *ot = field_type(o->s, o->f), *nt = field_type(n->s, n->f);
  char otext[200], ntext[200];
  type_text(otext, sizeof otext, o);
  type_text(ntext, sizeof ntext, n);
  r->why[0] = '\0';
  r->verdict = RS_DIFF_VERDICT_OK;
  int ow = wire_of(ok), nw = wire_of(nk);

  if ((ok == T(MESSAGE) && nk == T(MESSAGE)) ||
      (ok == T(GROUP) && nk == T(GROUP))) {
    queue(c, ot, nt);
    if (same_name(ot, nt)) {
      r->kind = TK_SAME;
      return;
    }
    r->kind = TK_MESSAGE_CHANGED;
    snprintf(r->why, sizeof r->why,
             "%s became %s: the wire carries no type name, so the old reader "
             "decodes the new message as the old one, field by field; what "
             "differs is in the findings of %s",
             otext, ntext, nt->full);
    return;
  }
  if (ok == T(ENUM) && nk == T(ENUM)) {
    queue(c, ot, nt);
    if (same_name(ot, nt)) {
      r->kind = TK_SAME;
      return;
    }
    r->kind = TK_ENUM_CHANGED;
    snprintf(r->why, sizeof r->why,
             "%s became %s: the old reader reads the numbers as values of its "
             "own enum; what differs is in the findings of %s",
             otext, ntext, nt->full);
    return;
  }
  if (ok == nk) {
    r->kind = TK_SAME;
    return;
  }
  if (ow != nw) {
    r->kind = TK_WIRE;
    /* The wire type a record carries: a packed run is length-delimited.
     * A group's start tag (wire type 3) fails protobuf-c's scan of the
     * record, whatever field reads it. */
    int carried = is_packed(n) ? W_LEN : nw;
    if (!c->rt->pbc &&
        !(is_repeated(o->f) && is_packable(ok) && carried == W_LEN)) {
      /* C++, Java, Go, Python: another wire type is an unknown field. */
      r->verdict = RS_DIFF_VERDICT_MISREAD;
      snprintf(r->why, sizeof r->why,
               "%s (%s) became %s (%s): %s keeps the field as an unknown "
               "field (wire type %d where it expects %d), so the old reader "
               "reads it unset: misread",
               otext, wire_name(ow), ntext, wire_name(carried), c->rt->name,
               carried, ow);
    } else if (ok == T(BOOL) && carried != W_GROUP &&
               !(is_repeated(o->f) && carried == W_LEN)) {
      r->verdict = RS_DIFF_VERDICT_MISREAD;
      snprintf(r->why, sizeof r->why,
               "%s (%s) became %s (%s): protobuf-c reads a bool without "
               "checking the wire type, true when any of the field's bytes "
               "(a length prefix included) has non-zero low 7 bits, so the "
               "writer's value is misread as true or false; C++, Java and Go "
               "keep the field as unknown and read it unset",
               otext, wire_name(ow), ntext, wire_name(nw));
    } else if (is_repeated(o->f) && is_packable(ok) && carried == W_LEN) {
      int width = ow == W_I32 ? 4 : ow == W_I64 ? 8 : 0;
      if (ok == T(BOOL) && !c->rt->pbc) {
        r->verdict = RS_DIFF_VERDICT_MISREAD;
        snprintf(r->why, sizeof r->why,
                 "%s (%s) became %s (%s, length-delimited on the wire): %s "
                 "reads the bytes as a packed run of bool varints, values "
                 "the writer never wrote (it fails the record when the bytes "
                 "end inside a varint)",
                 otext, wire_name(ow), ntext, wire_name(nw), c->rt->name);
      } else if (ok == T(BOOL)) {
        r->verdict = RS_DIFF_VERDICT_UNREADABLE;
        snprintf(r->why, sizeof r->why,
                 "%s (%s) became %s (%s, length-delimited on the wire): "
                 "protobuf-c reads the bytes as a packed run of bools and "
                 "fails to unpack the record unless every byte is 0 or 1 "
                 "(then misread); C++, Java and Go keep the field as unknown",
                 otext, wire_name(ow), ntext, wire_name(nw));
      } else if (width > 0) {
        r->verdict = RS_DIFF_VERDICT_UNREADABLE;
        snprintf(r->why, sizeof r->why,
                 "%s (%s) became %s (%s, length-delimited on the wire): "
                 "protobuf-c reads the bytes as a packed run of %s and fails "
                 "to unpack the record unless their length is a multiple of "
                 "%d (then every value is misread); C++, Java and Go keep the "
                 "field as unknown",
                 otext, wire_name(ow), ntext, wire_name(nw), otext, width);
      } else {
        r->verdict = RS_DIFF_VERDICT_MISREAD;
        snprintf(r->why, sizeof r->why,
                 "%s (%s) became %s (%s, length-delimited on the wire): "
                 "protobuf-c reads the bytes as a packed run of %s varints, "
                 "values the writer never wrote (it fails to unpack the "
                 "record when the bytes end inside a varint); C++, Java and "
                 "Go keep the field as unknown",
                 otext, wire_name(ow), ntext, wire_name(nw), otext);
      }
    } else if (ow == W_LEN && carried == W_LEN) {
      /* a packed run where a string, bytes or message field is read */
      r->verdict = ok == T(MESSAGE) ? RS_DIFF_VERDICT_UNREADABLE
                                    : RS_DIFF_VERDICT_MISREAD;
      snprintf(r->why, sizeof r->why,
               "%s became packed %s (length-delimited on the wire): %s", otext,
               ntext,
               ok == T(MESSAGE)
                   ? "protobuf-c parses the packed run as the message and "
                     "fails to unpack the record unless it happens to parse "
                     "(then misread)"
                   : "protobuf-c reads the packed run's bytes as the old "
                     "field's value: misread");
    } else {
      r->verdict = RS_DIFF_VERDICT_UNREADABLE;
      snprintf(r->why, sizeof r->why,
               "%s (%s) became %s (%s): protobuf-c fails to unpack every "
               "record that sets it (wire type %d where it expects %d); C++, "
               "Java and Go keep the field as unknown and read it unset",
               otext, wire_name(ow), ntext, wire_name(carried), carried, ow);
    }
    return;
  }
  if (ow == W_VARINT) {
    if (zigzag(ok) != zigzag(nk)) {
      r->kind = TK_INCOMPATIBLE;
      r->verdict = RS_DIFF_VERDICT_MISREAD;
      snprintf(r->why, sizeof r->why,
               "%s became %s: both are varints, but %s is zigzag-encoded; the "
               "old reader decodes another value (e.g. %s): misread",
               otext, ntext, zigzag(ok) ? otext : ntext,
               zigzag(nk) ? "-1 written, read as 1" : "1 written, read as -1");
      return;
    }
    irange orr = int_range(ok, ot), nr = int_range(nk, nt);
    if (nr.lo >= orr.lo && nr.hi <= orr.hi &&
        !(ok == T(ENUM) && nk != T(ENUM))) {
      r->kind = TK_COMPATIBLE;
      snprintf(r->why, sizeof r->why,
               "%s became %s: same varint encoding, and every value the new "
               "writer can write is read unchanged",
               otext, ntext);
      return;
    }
    r->verdict = RS_DIFF_VERDICT_MISREAD;
    if (ok == T(ENUM)) {
      r->kind = TK_NARROWED;
      snprintf(r->why, sizeof r->why,
               "%s became %s: a number that is not a value of %s is misread: "
               "protobuf-c keeps it as a plain int the old code does not "
               "expect (C++ and Java move a closed enum's unknown value to "
               "unknown fields)",
               otext, ntext, ot->full);
      return;
    }
    if (ok == T(BOOL)) {
      r->kind = TK_NARROWED;
      snprintf(r->why, sizeof r->why,
               "%s became %s: the old reader reads every value other than 0 "
               "and 1 as true: misread",
               otext, ntext);
      return;
    }
    if (orr.bits >= nr.bits) {
      r->kind = TK_SIGN;
      if (nr.lo < 0)
        snprintf(r->why, sizeof r->why,
                 "%s became %s: negative values are misread as large unsigned "
                 "numbers by the old reader (-1 as %s)",
                 otext, ntext,
                 orr.bits == 32 ? "4294967295" : "18446744073709551615");
      else
        snprintf(r->why, sizeof r->why,
                 "%s became %s: values from 2^%d up are misread as negative "
                 "numbers by the old reader",
                 otext, ntext, orr.bits - 1);
      return;
    }
    r->kind = TK_NARROWED;
    snprintf(r->why, sizeof r->why,
             "%s became %s: protobuf-c keeps the low %d bits, so values "
             "outside the old type's range are misread (e.g. 4294967296 read "
             "as 0)",
             otext, ntext, orr.bits);
    return;
  }
  if (ow == W_I32 || ow == W_I64) {
    int ofl = ok == T(FLOAT) || ok == T(DOUBLE);
    int nfl = nk == T(FLOAT) || nk == T(DOUBLE);
    r->verdict = RS_DIFF_VERDICT_MISREAD;
    if (ofl || nfl) {
      r->kind = TK_INCOMPATIBLE;
      if (ofl)
        snprintf(r->why, sizeof r->why,
                 "%s became %s: protobuf-c reads the %d bytes of the integer "
                 "as an IEEE 754 %s: every value but 0 is misread (1 reads as "
                 "%s)",
                 otext, ntext, ow == W_I32 ? 4 : 8, otext,
                 ow == W_I32 ? "1.4e-45" : "4.9e-324");
      else
        snprintf(r->why, sizeof r->why,
                 "%s became %s: protobuf-c reads the %d bytes of the IEEE 754 "
                 "%s as a %s: every value but 0 is misread (1.0 reads as %s)",
                 otext, ntext, ow == W_I32 ? 4 : 8, ntext, otext,
                 ow == W_I32 ? "1065353216" : "4607182418800017408");
      return;
    }
    r->kind = TK_SIGN;
    if (ok == T(FIXED32) || ok == T(FIXED64))
      snprintf(r->why, sizeof r->why,
               "%s became %s: same %s encoding; negative values are misread as "
               "large unsigned numbers by the old reader",
               otext, ntext, wire_name(ow));
    else
      snprintf(r->why, sizeof r->why,
               "%s became %s: same %s encoding; values from 2^%d up are "
               "misread as negative numbers by the old reader",
               otext, ntext, wire_name(ow), ow == W_I32 ? 31 : 63);
    return;
  }
  /* length-delimited: string, bytes, message */
  if (ok == T(BYTES) && (nk == T(STRING) || nk == T(MESSAGE))) {
    r->kind = TK_COMPATIBLE;
    snprintf(r->why, sizeof r->why,
             "%s became %s: the old reader gets the %s as bytes, unchanged",
             otext, ntext,
             nk == T(STRING) ? "UTF-8 text" : "message's encoding");
    return;
  }
  if (ok == T(STRING) && nk == T(BYTES) && !c->rt->pbc) {
    r->kind = TK_BYTES_TO_STRING;
    if (utf8_checked(o) && c->rt->utf8_fails) {
      r->verdict = RS_DIFF_VERDICT_UNREADABLE;
      snprintf(r->why, sizeof r->why,
               "%s became %s: %s fails to parse a record whose bytes are not "
               "valid UTF-8 in the old (proto3) string",
               otext, ntext, c->rt->name);
    } else if (c->rt->utf8_replaces) {
      r->verdict = RS_DIFF_VERDICT_MISREAD;
      snprintf(r->why, sizeof r->why,
               "%s became %s: %s decodes the old (proto2) string with U+FFFD "
               "for each sequence that is not valid UTF-8: such bytes are "
               "misread",
               otext, ntext, c->rt->name);
    } else {
      snprintf(r->why, sizeof r->why,
               "%s became %s: %s reads the bytes into the old (proto2) "
               "string unchanged",
               otext, ntext, c->rt->name);
    }
    return;
  }
  if (ok == T(STRING) && nk == T(BYTES)) {
    r->kind = TK_BYTES_TO_STRING;
    r->verdict = RS_DIFF_VERDICT_MISREAD;
    snprintf(r->why, sizeof r->why,
             "%s became %s: protobuf-c copies the bytes without a UTF-8 check "
             "and C code sees them up to the first NUL byte, so bytes with a "
             "NUL are misread%s",
             otext, ntext,
             utf8_checked(o) ? "; the old (proto3) reader's C++, Java and Go "
                               "runtimes fail to parse bytes that are not "
                               "valid UTF-8"
                             : "; C++ and Java accept them in a proto2 string");
    return;
  }
  if (ok == T(MESSAGE)) {
    r->kind = nk == T(BYTES) ? TK_BYTES_TO_MESSAGE : TK_INCOMPATIBLE;
    r->verdict = RS_DIFF_VERDICT_UNREADABLE;
    snprintf(r->why, sizeof r->why,
             "%s became %s: the old reader parses the %s as %s; protobuf-c "
             "(as C++, Java and Go) fails to unpack a record whose %s is not "
             "an encoded %s, and misreads it field by field when it happens "
             "to parse",
             otext, ntext, nk == T(BYTES) ? "bytes" : "text", ot->full,
             nk == T(BYTES) ? "bytes value" : "text", ot->full);
    return;
  }
  /* a string read where a message (or bytes, above) was written */
  r->kind = TK_INCOMPATIBLE;
  r->verdict = RS_DIFF_VERDICT_MISREAD;
  if (!c->rt->pbc) {
    int strict = utf8_checked(o) && c->rt->utf8_fails;
    if (strict) r->verdict = RS_DIFF_VERDICT_UNREADABLE;
    snprintf(r->why, sizeof r->why,
             "%s became %s: %s reads the message's encoding as the string's "
             "text: misread%s",
             otext, ntext, c->rt->name,
             strict ? "; an encoding that is not valid UTF-8 fails the "
                      "record (a proto3 string)"
                    : "");
    return;
  }
  snprintf(r->why, sizeof r->why,
           "%s became %s: protobuf-c copies the message's encoding into the "
           "string and C code sees it up to the first NUL byte: misread",
           otext, ntext);
}

static rs_diff_rule tres_rule(const tres *t) {
  switch (t->kind) {
    case TK_WIRE:
      return RS_DIFF_RULE_FIELD_WIRE_TYPE_CHANGED;
    case TK_INCOMPATIBLE:
      return RS_DIFF_RULE_FIELD_TYPE_INCOMPATIBLE;
    case TK_NARROWED:
      return RS_DIFF_RULE_FIELD_TYPE_NARROWED;
    case TK_SIGN:
      return RS_DIFF_RULE_FIELD_TYPE_SIGN_CHANGED;
    case TK_BYTES_TO_STRING:
      return RS_DIFF_RULE_FIELD_BYTES_TO_STRING;
    case TK_BYTES_TO_MESSAGE:
      return RS_DIFF_RULE_FIELD_BYTES_TO_MESSAGE;
    case TK_MESSAGE_CHANGED:
      return RS_DIFF_RULE_FIELD_MESSAGE_TYPE_CHANGED;
    case TK_ENUM_CHANGED:
      return RS_DIFF_RULE_FIELD_ENUM_TYPE_CHANGED;
    default:
      return RS_DIFF_RULE_FIELD_TYPE_COMPATIBLE;
  }
}

/* ---- defaults
 * ------------------------------------------------------------------
 */

/* The value an unset singular field reads as, normalised so that two
 * spellings of one value compare equal. */
static void effective_default(char *out, size_t cap, const fctx *x) {
  int kind = field_kind(x->s, x->f);
  const char *d = x->f->default_value;
  if (kind == T(ENUM)) {
    const sx_type *t = field_type(x->s, x->f);
    const enum_proto *e = t->en;
    if (d != NULL) {
      for (size_t i = 0; i < e->n_value; i++)
        if (strcmp(e->value[i]->name, d) == 0) {
          snprintf(out, cap, "%d", (int)e->value[i]->number);
          return;
        }
    }
    /* proto2: the first value listed; proto3: 0, which must be first */
    snprintf(out, cap, "%d", e->n_value > 0 ? (int)e->value[0]->number : 0);
    return;
  }
  if (kind == T(STRING) || kind == T(BYTES)) {
    snprintf(out, cap, "\"%s\"", d != NULL ? d : "");
    return;
  }
  if (kind == T(BOOL)) {
    /* as a number, so that an int field's 0 equals a bool's false */
    snprintf(out, cap, "%s", d != NULL && strcmp(d, "true") == 0 ? "1" : "0");
    return;
  }
  if (d == NULL) {
    snprintf(out, cap, "0");
    return;
  }
  char *end;
  long double v = strtold(d, &end);
  if (*end != '\0')
    snprintf(out, cap, "%s", d); /* inf, nan */
  else
    snprintf(out, cap, "%.21Lg", v);
}

/* How a default reads for a message: the enum value's name when there is
 * one. */
static void default_text(char *out, size_t cap, const fctx *x) {
  char norm[128];
  effective_default(norm, sizeof norm, x);
  if (field_kind(x->s, x->f) == T(ENUM)) {
    const enum_proto *e = field_type(x->s, x->f)->en;
    int number = atoi(norm);
    for (size_t i = 0; i < e->n_value; i++)
      if (e->value[i]->number == number) {
        snprintf(out, cap, "%s(%d)", e->value[i]->name, number);
        return;
      }
  }
  if (field_kind(x->s, x->f) == T(BOOL)) {
    snprintf(out, cap, "%s", strcmp(norm, "1") == 0 ? "true" : "false");
    return;
  }
  snprintf(out, cap, "%s", norm);
}

/* ---- oneofs
 * ---------------------------------------------------------------------
 */

/* The names of the other members of @p f's oneof, comma-separated. */
static void oneof_siblings(char *out, size_t cap, const fctx *x) {
  const msg_proto *m = x->owner->msg;
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < m->n_field; i++) {
    const field_proto *g = m->field[i];
    if (g == x->f || !in_real_oneof(g) || g->oneof_index != x->f->oneof_index)
      continue;
    int n = snprintf(out + used, cap - used, "%s%s(%d)", used ? ", " : "",
                     g->name, (int)g->number);
    if (n < 0 || (size_t)n >= cap - used) break;
    used += (size_t)n;
  }
}

static const char *oneof_name(const fctx *x) {
  const char *name = x->owner->msg->oneof_decl[x->f->oneof_index]->name;
  return name != NULL ? name : "?";
}

static void compare_oneofs(cmp *c, const fctx *o, const fctx *n,
                           const where *w) {
  int oin = in_real_oneof(o->f), nin = in_real_oneof(n->f);
  char sib[300];
  if (oin) {
    /* Former siblings the new writer may now set together with this one:
     * the old reader keeps the last on the wire, drops the other. */
    char together[300];
    size_t used = 0;
    together[0] = '\0';
    const msg_proto *om = o->owner->msg, *nm = n->owner->msg;
    for (size_t i = 0; i < om->n_field; i++) {
      const field_proto *g = om->field[i];
      if (g == o->f || !in_real_oneof(g) || g->oneof_index != o->f->oneof_index)
        continue;
      const field_proto *ng = field_by_number(nm, g->number, NULL);
      if (ng == NULL) continue;
      if (nin && in_real_oneof(ng) && ng->oneof_index == n->f->oneof_index)
        continue;
      int k = snprintf(together + used, sizeof together - used, "%s%s(%d)",
                       used ? ", " : "", ng->name, (int)ng->number);
      if (k < 0 || (size_t)k >= sizeof together - used) break;
      used += (size_t)k;
    }
    if (used > 0) {
      add(c, RS_DIFF_RULE_FIELD_MOVED_OUT_OF_ONEOF, RS_DIFF_VERDICT_MISREAD,
          RS_DIFF_ERROR, w, field_path(c, n->owner, n->f),
          "'%s' left oneof '%s' (%s): the new writer may set it together "
          "with %s, and the old reader keeps only the member that comes last "
          "on the wire and reads the other unset: misread (protobuf-c, C++, "
          "Java and Go alike)",
          n->f->name, oneof_name(o),
          nin ? "for another oneof" : "now a plain field", together);
      return;
    }
    if (!nin) {
      add(c, RS_DIFF_RULE_FIELD_MOVED_OUT_OF_ONEOF, RS_DIFF_VERDICT_OK,
          RS_DIFF_INFO, w, field_path(c, n->owner, n->f),
          "'%s' left oneof '%s', whose other members are gone: the old reader "
          "reads it as before",
          n->f->name, oneof_name(o));
      return;
    }
  }
  if (!oin && nin) {
    oneof_siblings(sib, sizeof sib, n);
    if (sib[0] != '\0')
      add(c, RS_DIFF_RULE_FIELD_MOVED_INTO_ONEOF, RS_DIFF_VERDICT_OK,
          RS_DIFF_INFO, w, field_path(c, n->owner, n->f),
          "'%s' moved into oneof '%s' with %s: the new writer sets at most one "
          "of them, so the old reader sees '%s' unset whenever the writer "
          "chose another member, as the writer left it; every value is read "
          "as written",
          n->f->name, oneof_name(n), sib, n->f->name);
    else
      add(c, RS_DIFF_RULE_FIELD_MOVED_INTO_ONEOF, RS_DIFF_VERDICT_OK,
          RS_DIFF_INFO, w, field_path(c, n->owner, n->f),
          "'%s' moved into oneof '%s' as its only member: wire-compatible",
          n->f->name, oneof_name(n));
  }
}

/* ---- one field, both versions
 * ------------------------------------------------------
 */

static void compare_maps(cmp *c, const fctx *o, const fctx *n,
                         const sx_type *oe, const sx_type *ne, const where *w) {
  for (int32_t num = 1; num <= 2; num++) {
    size_t oi, ni;
    const field_proto *of = field_by_number(oe->msg, num, &oi);
    const field_proto *nf = field_by_number(ne->msg, num, &ni);
    if (of == NULL || nf == NULL) continue;
    fctx ox = {o->s, oe, of, oi}, nx = {n->s, ne, nf, ni};
    tres t;
    compare_types(c, &ox, &nx, &t);
    if (t.kind == TK_SAME) continue;
    const char *extra = "";
    if (num == 1 && (t.kind == TK_NARROWED || t.kind == TK_SIGN))
      extra =
          "; keys that read the same collapse into one entry (the last "
          "wins) in C++, Java and Go map readers (protobuf-c keeps every "
          "entry)";
    add(c,
        num == 1 ? RS_DIFF_RULE_MAP_KEY_TYPE_CHANGED
                 : RS_DIFF_RULE_MAP_VALUE_TYPE_CHANGED,
        t.verdict, RS_DIFF_INFO, w, field_path(c, n->owner, n->f),
        "map %s of '%s': %s%s", num == 1 ? "key" : "value", n->f->name, t.why,
        extra);
  }
}

static void compare_field(cmp *c, const fctx *o, const fctx *n) {
  where w = {n->s, n->owner, n->owner->member_kind ? n->owner->member_kind : 2,
             (int32_t)n->index};
  char otext[200], ntext[200];
  type_text(otext, sizeof otext, o);
  type_text(ntext, sizeof ntext, n);
  const sx_type *oe = map_entry_of(o), *ne = map_entry_of(n);
  int orep = is_repeated(o->f), nrep = is_repeated(n->f);

  if (strcmp(o->f->name, n->f->name) != 0) {
    /* A rename, or the number given to another field? */
    tres t;
    int kinds_differ = field_kind(o->s, o->f) != field_kind(n->s, n->f);
    int types_differ = kinds_differ;
    if (!kinds_differ) {
      const sx_type *ot = field_type(o->s, o->f), *nt = field_type(n->s, n->f);
      types_differ = ot != NULL && nt != NULL && !same_name(ot, nt);
    }
    const field_proto *old_name_now =
        field_by_name(n->owner->msg, o->f->name, NULL);
    const field_proto *new_name_before =
        field_by_name(o->owner->msg, n->f->name, NULL);
    if (types_differ || orep != nrep || old_name_now != NULL ||
        new_name_before != NULL) {
      /* Also queues nested pairs of the same kind. */
      compare_types(c, o, n, &t);
      int ok = field_kind(o->s, o->f);
      int fails = t.verdict == RS_DIFF_VERDICT_UNREADABLE ||
                  (c->rt->pbc && !orep && nrep && is_packed(n) &&
                   ok != T(BOOL) && wire_of(ok) != W_LEN);
      char consequence[200];
      if (fails && !c->rt->pbc)
        snprintf(consequence, sizeof consequence,
                 "%s fails to parse the records that set it (the new value "
                 "is not one '%s' reads)",
                 c->rt->name, o->f->name);
      else if (fails)
        snprintf(consequence, sizeof consequence,
                 "protobuf-c fails to unpack every record that sets it (the "
                 "wire type is not the one '%s' has); C++, Java and Go read "
                 "'%s' unset",
                 o->f->name, o->f->name);
      else
        snprintf(consequence, sizeof consequence,
                 "the old reader reads the new field's values as '%s': "
                 "misread",
                 o->f->name);
      add(c, RS_DIFF_RULE_FIELD_NUMBER_REUSED,
          fails ? RS_DIFF_VERDICT_UNREADABLE : RS_DIFF_VERDICT_MISREAD,
          RS_DIFF_ERROR, &w, field_path(c, n->owner, n->f),
          "number %d was '%s' (%s%s) and is now '%s' (%s%s)%s: %s",
          (int)n->f->number, o->f->name, orep ? "repeated " : "", otext,
          n->f->name, nrep ? "repeated " : "", ntext,
          old_name_now != NULL ? ", while the old name moved to another number"
                               : "",
          consequence);
      return;
    }
    add(c, RS_DIFF_RULE_FIELD_RENAMED, RS_DIFF_VERDICT_OK, RS_DIFF_INFO, &w,
        field_path(c, n->owner, n->f),
        "'%s' renamed to '%s', same number and type: wire-safe; JSON, text "
        "format and field masks name it differently",
        o->f->name, n->f->name);
  }

  if (oe != NULL && ne != NULL) {
    compare_maps(c, o, n, oe, ne, &w);
    return;
  }
  if ((oe != NULL) != (ne != NULL) && orep && nrep &&
      field_kind(o->s, o->f) == T(MESSAGE) &&
      field_kind(n->s, n->f) == T(MESSAGE)) {
    const sx_type *ot = field_type(o->s, o->f), *nt = field_type(n->s, n->f);
    queue(c, ot, nt);
    if (oe != NULL && !c->rt->pbc) {
      /* The old map keeps one entry a key: a list with a key twice loses
       * the earlier entries. */
      add(c, RS_DIFF_RULE_FIELD_MAP_CHANGED, RS_DIFF_VERDICT_MISREAD,
          RS_DIFF_ERROR, &w, field_path(c, n->owner, n->f),
          "map became repeated message: a map is a repeated entry message "
          "(key 1, value 2) on the wire, but %s's map keeps one entry per "
          "key (the last), so a list that holds a key twice is misread; "
          "where %s matches %s field by field its findings say",
          c->rt->name, nt->full, ot->full);
      return;
    }
    add(c, RS_DIFF_RULE_FIELD_MAP_CHANGED, RS_DIFF_VERDICT_OK, RS_DIFF_INFO, &w,
        field_path(c, n->owner, n->f),
        "%s became %s: a map is a repeated entry message (key 1, value 2) on "
        "the wire, and protobuf-c keeps every entry of a map, so the old "
        "reader reads it as written where %s matches %s field by field (its "
        "findings say where not)%s",
        oe != NULL ? "map" : "repeated message",
        ne != NULL ? "map" : "repeated message", nt->full, ot->full,
        oe != NULL ? "; C++, Java and Go map readers keep one entry per key "
                     "(the last)"
                   : "");
    return;
  }

  tres t;
  compare_types(c, o, n, &t);
  if (t.kind != TK_SAME)
    add(c, tres_rule(&t), t.verdict, RS_DIFF_INFO, &w,
        field_path(c, n->owner, n->f), "%s", t.why);
  int wire_broken = t.kind == TK_WIRE || t.kind == TK_INCOMPATIBLE;

  /* cardinality */
  int nk = field_kind(n->s, n->f);
  if (!orep && nrep) {
    if (is_packed(n) && !wire_broken && field_kind(o->s, o->f) == T(BOOL))
      add(c, RS_DIFF_RULE_FIELD_MADE_REPEATED, RS_DIFF_VERDICT_MISREAD,
          RS_DIFF_ERROR, &w, field_path(c, n->owner, n->f),
          "'%s' became repeated and packed: its elements arrive in one "
          "length-delimited field, which protobuf-c reads as one bool, true "
          "when any byte has non-zero low 7 bits: misread; C++, Java and Go "
          "read the field unset",
          n->f->name);
    else if (is_packed(n) && !wire_broken && !c->rt->pbc)
      add(c, RS_DIFF_RULE_FIELD_MADE_REPEATED, RS_DIFF_VERDICT_MISREAD,
          RS_DIFF_ERROR, &w, field_path(c, n->owner, n->f),
          "'%s' became repeated and packed: its elements arrive in one "
          "length-delimited field where the old reader expects a %s; %s "
          "keeps it as an unknown field and reads the field unset: misread",
          n->f->name, wire_name(wire_of(field_kind(o->s, o->f))), c->rt->name);
    else if (is_packed(n) && !wire_broken)
      add(c, RS_DIFF_RULE_FIELD_MADE_REPEATED, RS_DIFF_VERDICT_UNREADABLE,
          RS_DIFF_ERROR, &w, field_path(c, n->owner, n->f),
          "'%s' became repeated and packed: its elements arrive in one "
          "length-delimited field where the old reader expects a %s; "
          "protobuf-c fails to unpack the record, C++, Java and Go read the "
          "field unset",
          n->f->name, wire_name(wire_of(field_kind(o->s, o->f))));
    else if (!wire_broken)
      add(c, RS_DIFF_RULE_FIELD_MADE_REPEATED, RS_DIFF_VERDICT_MISREAD,
          RS_DIFF_ERROR, &w, field_path(c, n->owner, n->f),
          "'%s' became repeated: %s%s", n->f->name,
          nk == T(MESSAGE) || nk == T(GROUP)
              ? "the old reader merges every element into one message: "
                "misread when there are two or more"
              : "the old reader keeps only the last element and loses the "
                "others: misread when there are two or more",
          is_required(o->s, o->f) ? "; an empty list fails the old reader's "
                                    "required check"
                                  : "");
  } else if (orep && !nrep) {
    add(c, RS_DIFF_RULE_FIELD_MADE_SINGULAR, RS_DIFF_VERDICT_OK, RS_DIFF_INFO,
        &w, field_path(c, n->owner, n->f),
        "'%s' became singular: the old reader reads a list of at most one "
        "element (packed or not: every runtime accepts both)",
        n->f->name);
  } else if (orep && nrep && is_packable(nk) &&
             is_packable(field_kind(o->s, o->f)) &&
             is_packed(o) != is_packed(n)) {
    add(c, RS_DIFF_RULE_FIELD_PACKED_CHANGED, RS_DIFF_VERDICT_OK, RS_DIFF_INFO,
        &w, field_path(c, n->owner, n->f),
        "'%s' is now written %s: wire-compatible, since parsers accept "
        "packed and unpacked repeated scalars alike (protobuf-c 1.x, "
        "protobuf 2.3 and later, proto2 and proto3)",
        n->f->name, is_packed(n) ? "packed" : "unpacked");
  }

  /* required */
  if (is_required(o->s, o->f) && !is_required(n->s, n->f) && !nrep &&
      !c->rt->required)
    add(c, RS_DIFF_RULE_FIELD_NO_LONGER_REQUIRED, RS_DIFF_VERDICT_OK,
        RS_DIFF_WARNING, &w, field_path(c, n->owner, n->f),
        "'%s' was required and is now optional: %s does not check required "
        "fields, so the old reader reads a record without it, the field "
        "unset as the writer left it; code that takes it as always set sees "
        "its default",
        n->f->name,
        c->rt->runtime == RS_RUNTIME_PYTHON ? "Python"
                                            : "the reader (allow_partial)");
  else if (is_required(o->s, o->f) && !is_required(n->s, n->f) && !nrep &&
           o->f->default_value != NULL && !c->rt->pbc)
    add(c, RS_DIFF_RULE_FIELD_NO_LONGER_REQUIRED, RS_DIFF_VERDICT_UNREADABLE,
        RS_DIFF_ERROR, &w, field_path(c, n->owner, n->f),
        "'%s' was required and is now optional: every record the new writer "
        "leaves it unset in fails to parse in the old reader (%s checks "
        "every required field, with a default or not)",
        n->f->name, c->rt->name);
  else if (is_required(o->s, o->f) && !is_required(n->s, n->f) && !nrep &&
           o->f->default_value != NULL) {
    char od[160];
    default_text(od, sizeof od, o);
    add(c, RS_DIFF_RULE_FIELD_NO_LONGER_REQUIRED, RS_DIFF_VERDICT_MISREAD,
        RS_DIFF_ERROR, &w, field_path(c, n->owner, n->f),
        "'%s' was required and is now optional: protobuf-c checks only "
        "required fields without a default, so the old reader takes the "
        "default %s as written where the writer left the field unset "
        "(misread); C++ and Java fail to parse a record without it (missing "
        "required field)",
        n->f->name, od);
  } else if (is_required(o->s, o->f) && !is_required(n->s, n->f) && !nrep) {
    add(c, RS_DIFF_RULE_FIELD_NO_LONGER_REQUIRED, RS_DIFF_VERDICT_UNREADABLE,
        RS_DIFF_ERROR, &w, field_path(c, n->owner, n->f),
        "'%s' was required and is now optional: every record the new writer "
        "leaves it unset in fails to parse in the old reader (missing "
        "required field; protobuf-c, C++ and Java alike)",
        n->f->name);
  } else if (!is_required(o->s, o->f) && is_required(n->s, n->f) && !orep)
    add(c, RS_DIFF_RULE_FIELD_MADE_REQUIRED, RS_DIFF_VERDICT_OK,
        RS_DIFF_WARNING, &w, field_path(c, n->owner, n->f),
        "'%s' is now required: the old reader is unaffected, but records the "
        "old code writes without it after a rollback fail to parse in the "
        "new reader when the flag is turned back on",
        n->f->name);

  /* presence and defaults (singular scalars) */
  int ok = field_kind(o->s, o->f);
  int text_default = (ok == T(STRING) || ok == T(BYTES)) ==
                     (nk == T(STRING) || nk == T(BYTES));
  if (!orep && !nrep && !wire_broken && nk != T(MESSAGE) && nk != T(GROUP) &&
      ok != T(MESSAGE) && ok != T(GROUP) && text_default) {
    if (has_presence(o) && !has_presence(n)) {
      char od[160], norm[128];
      default_text(od, sizeof od, o);
      effective_default(norm, sizeof norm, o);
      /* The writer omits zero; an old default other than zero turns that
       * zero into another value. */
      if (strcmp(norm, "0") != 0 && strcmp(norm, "\"\"") != 0)
        add(c, RS_DIFF_RULE_FIELD_PRESENCE_LOST, RS_DIFF_VERDICT_MISREAD,
            RS_DIFF_ERROR, &w, field_path(c, n->owner, n->f),
            "'%s' lost presence (proto3 without 'optional', or field_presence "
            "= IMPLICIT): the new writer "
            "omits it when it holds zero/empty, and the old reader, whose "
            "default is %s, reads %s where the writer meant zero/empty: "
            "misread",
            n->f->name, od, od);
      else
        add(c, RS_DIFF_RULE_FIELD_PRESENCE_LOST, RS_DIFF_VERDICT_OK,
            RS_DIFF_INFO, &w, field_path(c, n->owner, n->f),
            "'%s' lost presence (proto3 without 'optional', or field_presence "
            "= IMPLICIT): the new writer "
            "omits it when it holds zero/empty, and the old reader then sees "
            "it unset and reads %s, the value written; it cannot tell zero "
            "from absent",
            n->f->name, od);
    } else if (!proto3_file(o) || !proto3_file(n)) {
      char od[128], nd[128];
      effective_default(od, sizeof od, o);
      effective_default(nd, sizeof nd, n);
      if (strcmp(od, nd) != 0) {
        char odt[160], ndt[160];
        default_text(odt, sizeof odt, o);
        default_text(ndt, sizeof ndt, n);
        add(c, RS_DIFF_RULE_FIELD_DEFAULT_CHANGED, RS_DIFF_VERDICT_MISREAD,
            RS_DIFF_ERROR, &w, field_path(c, n->owner, n->f),
            "default of '%s' changed from %s to %s: when the new writer "
            "leaves it unset (meaning %s), the old reader reads %s: misread",
            n->f->name, odt, ndt, ndt, odt);
      }
    }
  }

  compare_oneofs(c, o, n, &w);
}

static int number_reserved(const msg_proto *m, int32_t number) {
  for (size_t i = 0; i < m->n_reserved_range; i++) {
    const Google__Protobuf__DescriptorProto__ReservedRange *r =
        m->reserved_range[i];
    if (number >= r->start && number < r->end) return 1; /* end exclusive */
  }
  return 0;
}

static int name_reserved(char **names, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(names[i], name) == 0) return 1;
  return 0;
}

static void field_deleted(cmp *c, const fctx *o, const sx_type *nt) {
  where w = {o->s, o->owner, 2, (int32_t)o->index};
  const msg_proto *nm = nt->msg;
  char *path = member_path(c, nt, o->f->name, (int)o->f->number);
  size_t ni;
  const field_proto *moved = field_by_name(nm, o->f->name, &ni);
  if (moved != NULL) {
    where nw = {c->ns, nt, 2, (int32_t)ni};
    free(path);
    int fails = is_required(o->s, o->f) && o->f->default_value == NULL;
    add(c, RS_DIFF_RULE_FIELD_RENUMBERED,
        fails ? RS_DIFF_VERDICT_UNREADABLE : RS_DIFF_VERDICT_MISREAD,
        RS_DIFF_ERROR, &nw, member_path(c, nt, moved->name, (int)moved->number),
        "'%s' moved from number %d to %d: the old reader looks for it at %d, "
        "never finds it, and ignores %d: %s",
        moved->name, (int)o->f->number, (int)moved->number, (int)o->f->number,
        (int)moved->number,
        fails ? "a required field missing, so every record fails to parse"
              : "it reads the field unset where the writer set it (misread)");
    return;
  }
  char od[160];
  default_text(od, sizeof od, o);
  if (is_required(o->s, o->f) && !c->rt->required) {
    add(c, RS_DIFF_RULE_REQUIRED_FIELD_DELETED, RS_DIFF_VERDICT_OK,
        RS_DIFF_WARNING, &w, path,
        "required field '%s' was deleted: %s does not check required "
        "fields, so the old reader reads every record, the field unset as "
        "the writer left it; code that takes it as always set sees its "
        "default",
        o->f->name,
        c->rt->runtime == RS_RUNTIME_PYTHON ? "Python"
                                            : "the reader (allow_partial)");
    return;
  }
  if (is_required(o->s, o->f) && o->f->default_value != NULL && !c->rt->pbc) {
    add(c, RS_DIFF_RULE_REQUIRED_FIELD_DELETED, RS_DIFF_VERDICT_UNREADABLE,
        RS_DIFF_ERROR, &w, path,
        "required field '%s' was deleted: every record the new writer writes "
        "fails to parse in the old reader (%s checks every required field, "
        "with a default or not)",
        o->f->name, c->rt->name);
    return;
  }
  if (is_required(o->s, o->f) && o->f->default_value != NULL) {
    add(c, RS_DIFF_RULE_REQUIRED_FIELD_DELETED, RS_DIFF_VERDICT_MISREAD,
        RS_DIFF_ERROR, &w, path,
        "required field '%s' was deleted: protobuf-c checks only required "
        "fields without a default, so its reader sees the default %s, which "
        "the writer never wrote (misread); C++ and Java fail to parse every "
        "record the new writer writes (missing required field)",
        o->f->name, od);
    return;
  }
  if (is_required(o->s, o->f)) {
    add(c, RS_DIFF_RULE_REQUIRED_FIELD_DELETED, RS_DIFF_VERDICT_UNREADABLE,
        RS_DIFF_ERROR, &w, path,
        "required field '%s' was deleted: every record the new writer writes "
        "fails to parse in the old reader (missing required field; "
        "protobuf-c, C++ and Java alike)",
        o->f->name);
    return;
  }
  int num_ok = number_reserved(nm, o->f->number);
  int name_ok =
      name_reserved(nm->reserved_name, nm->n_reserved_name, o->f->name);
  const char *unset =
      is_repeated(o->f)
          ? "an empty list"
          : (field_kind(o->s, o->f) == T(MESSAGE) ? "an unset message" : od);
  if (num_ok && name_ok)
    add(c, RS_DIFF_RULE_FIELD_DELETED, RS_DIFF_VERDICT_OK, RS_DIFF_INFO, &w,
        path,
        "'%s' was deleted (number and name reserved): the old reader sees it "
        "unset in every new record, as the writer left it, and reads %s",
        o->f->name, unset);
  else
    add(c, RS_DIFF_RULE_FIELD_DELETED_UNRESERVED, RS_DIFF_VERDICT_OK,
        RS_DIFF_WARNING, &w, path,
        "'%s' was deleted without reserving its %s: the old reader reads %s, "
        "as the writer left it; a later field that reuses the %s is misread "
        "by every reader that still knows '%s' (FIELD_NUMBER_REUSED)",
        o->f->name,
        !num_ok && !name_ok ? "number and name"
        : !num_ok           ? "number"
                            : "name",
        unset, !num_ok ? "number" : "name", o->f->name);
}

static void field_added(cmp *c, const fctx *n, const sx_type *ot) {
  where w = {n->s, n->owner, 2, (int32_t)n->index};
  if (field_by_name(ot->msg, n->f->name, NULL) != NULL &&
      field_by_number(ot->msg, n->f->number, NULL) == NULL)
    return; /* renumbered: reported with the old number */
  if (is_required(n->s, n->f)) {
    add(c, RS_DIFF_RULE_FIELD_REQUIRED_ADDED, RS_DIFF_VERDICT_IGNORED_FIELDS,
        RS_DIFF_WARNING, &w, field_path(c, n->owner, n->f),
        "new required field '%s': the old reader ignores it, but records the "
        "old code writes after a rollback lack it and fail to parse in the "
        "new reader when the flag is turned back on",
        n->f->name);
    return;
  }
  if (in_real_oneof(n->f)) {
    /* Does the old reader know this oneof, through a member it had in a
     * oneof too? */
    const msg_proto *nm = n->owner->msg;
    for (size_t i = 0; i < nm->n_field; i++) {
      const field_proto *g = nm->field[i];
      if (g == n->f || !in_real_oneof(g) || g->oneof_index != n->f->oneof_index)
        continue;
      const field_proto *og = field_by_number(ot->msg, g->number, NULL);
      if (og != NULL && in_real_oneof(og)) {
        add(c, RS_DIFF_RULE_ONEOF_FIELD_ADDED, RS_DIFF_VERDICT_IGNORED_FIELDS,
            RS_DIFF_WARNING, &w, field_path(c, n->owner, n->f),
            "new member '%s' of oneof '%s': when the new writer chooses it, "
            "the old reader ignores it and sees no member of the oneof set",
            n->f->name, oneof_name(n));
        return;
      }
    }
  }
  add(c, RS_DIFF_RULE_FIELD_ADDED, RS_DIFF_VERDICT_IGNORED_FIELDS, RS_DIFF_INFO,
      &w, field_path(c, n->owner, n->f),
      "new field '%s': the old reader keeps it as an unknown field and "
      "ignores it",
      n->f->name);
}

/*
 * The extensions of a pair of messages, by number, compared as fields: a
 * reader whose code registers an extension (C++ links it in, Go and
 * Python import it, Java passes its ExtensionRegistry) parses it as a
 * field. protoc-c generates nothing for `extend`: protobuf-c keeps every
 * extension as an unknown field, so none of their changes reaches it; nor
 * does a Java reader's whose code passes no registry (extension_registry:
 * false). A Java reader not said to do either may parse them.
 */
static void compare_extensions(cmp *c, const sx_type *ot, const sx_type *nt) {
  if (c->rt->extensions == RS__EXT_UNKNOWN) return;
  for (size_t i = 0; i < c->os->n_exts; i++) {
    const sx_ext *ox = &c->os->exts[i];
    if (strcmp(ox->extendee, ot->full) != 0) continue;
    for (size_t j = 0; j < c->ns->n_exts; j++) {
      const sx_ext *nx = &c->ns->exts[j];
      if (strcmp(nx->extendee, nt->full) != 0 ||
          nx->field.number != ox->field.number)
        continue;
      fctx o = {c->os, &ox->owner, &ox->field, ox->index};
      fctx n = {c->ns, &nx->owner, &nx->field, nx->index};
      compare_field(c, &o, &n);
    }
  }
}

static void compare_messages(cmp *c, const sx_type *ot, const sx_type *nt) {
  const msg_proto *om = ot->msg, *nm = nt->msg;
  for (size_t i = 0; i < om->n_field; i++) {
    size_t ni;
    const field_proto *nf = field_by_number(nm, om->field[i]->number, &ni);
    fctx o = {c->os, ot, om->field[i], i};
    if (nf == NULL) {
      field_deleted(c, &o, nt);
      continue;
    }
    fctx n = {c->ns, nt, nf, ni};
    compare_field(c, &o, &n);
  }
  for (size_t i = 0; i < nm->n_field; i++) {
    if (field_by_number(om, nm->field[i]->number, NULL) != NULL) continue;
    fctx n = {c->ns, nt, nm->field[i], i};
    field_added(c, &n, ot);
  }
  compare_extensions(c, ot, nt);
}

/* ---- enums
 * ------------------------------------------------------------------------
 */

static const value_proto *value_by_number(const enum_proto *e, int32_t number,
                                          size_t *index) {
  for (size_t i = 0; i < e->n_value; i++)
    if (e->value[i]->number == number) {
      if (index != NULL) *index = i;
      return e->value[i];
    }
  return NULL;
}

static const value_proto *value_by_name(const enum_proto *e, const char *name) {
  for (size_t i = 0; i < e->n_value; i++)
    if (strcmp(e->value[i]->name, name) == 0) return e->value[i];
  return NULL;
}

static int enum_number_reserved(const enum_proto *e, int32_t number) {
  for (size_t i = 0; i < e->n_reserved_range; i++)
    if (number >= e->reserved_range[i]->start &&
        number <= e->reserved_range[i]->end) /* end inclusive */
      return 1;
  return 0;
}

/* Whether a field of a proto2 message of @p s has enum type @p e: C++ and
 * Java treat a proto3 enum as closed there (out of conformance; upb-based
 * Python treats it as open, as the specification says). */
static int used_by_proto2_field(const rs_diff_schema *s, const sx_type *e) {
  for (size_t i = 0; i < s->n_types; i++) {
    const sx_type *t = &s->types[i];
    if (t->msg == NULL || s->files[t->file].edition != RS__EDITION_PROTO2)
      continue;
    for (size_t j = 0; j < t->msg->n_field; j++)
      if (field_type(s, t->msg->field[j]) == e) return 1;
  }
  return 0;
}

static void compare_enums(cmp *c, const sx_type *ot, const sx_type *nt) {
  const enum_proto *oe = ot->en, *ne = nt->en;
  int open = ot->feat.enum_type == RS__ENUM_OPEN;
  int closed_in_cpp = !open || used_by_proto2_field(c->os, ot);
  for (size_t i = 0; i < ne->n_value; i++) {
    const value_proto *nv = ne->value[i];
    size_t first = SIZE_MAX;
    value_by_number(ne, nv->number, &first);
    if (first != i) continue; /* an alias */
    where w = {c->ns, nt, 2, (int32_t)i};
    const value_proto *ov = value_by_number(oe, nv->number, NULL);
    if (ov != NULL && strcmp(ov->name, nv->name) == 0) continue;
    char *path = member_path(c, nt, nv->name, (int)nv->number);
    if (ov == NULL) {
      const char *dflt = oe->n_value > 0 ? oe->value[0]->name : "?";
      /* protobuf-c checks no enum number: closed or open, the old code
       * meets a number it has no enumerator for. */
      if (!open)
        add(c, RS_DIFF_RULE_ENUM_VALUE_ADDED, RS_DIFF_VERDICT_MISREAD,
            RS_DIFF_ERROR, &w, path,
            "new value %s = %d of closed (proto2) enum %s: misread: "
            "protobuf-c keeps %d in the field as a plain int the old code "
            "has no enumerator for; C++, Java and Python move it to unknown "
            "fields, so the field reads unset (%s) and a repeated field loses "
            "the element; Go treats every enum as open and keeps %d",
            nv->name, (int)nv->number, ot->full, (int)nv->number, dflt,
            (int)nv->number);
      else if (closed_in_cpp)
        add(c, RS_DIFF_RULE_ENUM_VALUE_ADDED, RS_DIFF_VERDICT_MISREAD,
            RS_DIFF_ERROR, &w, path,
            "new value %s = %d of open (proto3) enum %s, which fields of "
            "proto2 messages use: misread: protobuf-c, Go and Python keep %d "
            "as a plain int the old code does not handle; C++ and Java treat "
            "the enum as closed there and move it to unknown fields (the "
            "field reads unset, %s; a repeated field loses the element)",
            nv->name, (int)nv->number, ot->full, (int)nv->number, dflt);
      else
        add(c, RS_DIFF_RULE_ENUM_VALUE_ADDED, RS_DIFF_VERDICT_MISREAD,
            RS_DIFF_ERROR, &w, path,
            "new value %s = %d of open (proto3) enum %s: misread: protobuf-c "
            "keeps %d as a plain int the old code does not expect (as do "
            "C++, Go and Python; Java's getter returns UNRECOGNIZED, the "
            "value getter %d)",
            nv->name, (int)nv->number, ot->full, (int)nv->number,
            (int)nv->number);
      continue;
    }
    const value_proto *old_name_now = value_by_name(ne, ov->name);
    const value_proto *new_name_before = value_by_name(oe, nv->name);
    if ((old_name_now != NULL && old_name_now->number != nv->number) ||
        (new_name_before != NULL && new_name_before->number != nv->number))
      add(c, RS_DIFF_RULE_ENUM_VALUE_NUMBER_REUSED, RS_DIFF_VERDICT_MISREAD,
          RS_DIFF_ERROR, &w, path,
          "number %d was %s and now names %s: the old reader reads %s where "
          "the writer meant %s: misread",
          (int)nv->number, ov->name, nv->name, ov->name, nv->name);
    else
      add(c, RS_DIFF_RULE_ENUM_VALUE_RENAMED, RS_DIFF_VERDICT_OK, RS_DIFF_INFO,
          &w, path,
          "%s renamed to %s, same number %d: wire-safe; JSON and text format "
          "readers name it differently",
          ov->name, nv->name, (int)nv->number);
  }
  for (size_t i = 0; i < oe->n_value; i++) {
    const value_proto *ov = oe->value[i];
    size_t first = SIZE_MAX;
    value_by_number(oe, ov->number, &first);
    if (first != i || value_by_number(ne, ov->number, NULL) != NULL) continue;
    where w = {c->os, ot, 2, (int32_t)i};
    char *path = member_path(c, nt, ov->name, (int)ov->number);
    int reserved =
        enum_number_reserved(ne, ov->number) &&
        name_reserved(ne->reserved_name, ne->n_reserved_name, ov->name);
    if (reserved)
      add(c, RS_DIFF_RULE_ENUM_VALUE_REMOVED, RS_DIFF_VERDICT_NONE,
          RS_DIFF_INFO, &w, path,
          "value %s = %d was removed (number and name reserved): the new "
          "writer no longer writes it; the old reader is unaffected",
          ov->name, (int)ov->number);
    else
      add(c, RS_DIFF_RULE_ENUM_VALUE_REMOVED, RS_DIFF_VERDICT_NONE,
          RS_DIFF_WARNING, &w, path,
          "value %s = %d was removed without reserving its number and name: "
          "the old reader is unaffected today, but a later value that reuses "
          "%d is read as %s",
          ov->name, (int)ov->number, (int)ov->number, ov->name);
  }
}

/* ---- matching types between versions
 * -----------------------------------------------
 */

static int own(const rs_diff_schema *s, const sx_type *t) {
  return s->files[t->file].own;
}

/* The OLD counterpart of a NEW type: same full name, else the one type of
 * the same kind with the same package-relative name (own files first). */
static const sx_type *counterpart(const rs_diff_schema *os, const sx_type *nt) {
  const sx_type *t = find_type(os, nt->full);
  if (t != NULL && (t->msg != NULL) == (nt->msg != NULL)) return t;
  const sx_type *found = NULL;
  int found_own = 0, count = 0;
  for (size_t i = 0; i < os->n_types; i++) {
    const sx_type *c = &os->types[i];
    if ((c->msg != NULL) != (nt->msg != NULL) || strcmp(c->rel, nt->rel) != 0)
      continue;
    int o = own(os, c);
    if (found == NULL || (o && !found_own)) {
      found = c;
      found_own = o;
      count = 1;
    } else if (o == found_own) {
      count++;
    }
  }
  return count == 1 ? found : NULL;
}

/* A message matching a --type name: one of the own files wins over any
 * number of imported ones; matches of the same rank are counted and listed
 * for the "ambiguous" message. */
static void candidate(const rs_diff_schema *s, const sx_type *c,
                      const sx_type **best, int *best_own, int *count,
                      char *list, size_t cap) {
  int o = own(s, c);
  if (*best == NULL || (o && !*best_own)) {
    *best = c;
    *best_own = o;
    *count = 1;
    snprintf(list, cap, "%s", c->full);
  } else if (o == *best_own) {
    (*count)++;
    size_t used = strlen(list);
    snprintf(list + used, cap - used, ", %s", c->full);
  }
}

/* Resolves a --type name in one version: a full name, the last components
 * of exactly one message's full name, or else the name with the version
 * components of packages left out (own files first). */
static int resolve_type(const sx_type **out, const rs_diff_schema *s,
                        const char *name, rs_error *err) {
  name = no_dot(name);
  const sx_type *t = find_type(s, name);
  if (t != NULL && t->msg != NULL) {
    *out = t;
    return 0;
  }
  size_t n = strlen(name);
  const sx_type *best = NULL;
  int best_own = 0, count = 0;
  char list[120] = "";
  for (size_t i = 0; i < s->n_types; i++) {
    const sx_type *c = &s->types[i];
    size_t m = strlen(c->full);
    if (c->msg == NULL || m <= n || c->full[m - n - 1] != '.' ||
        strcmp(c->full + m - n, name) != 0)
      continue;
    candidate(s, c, &best, &best_own, &count, list, sizeof list);
  }
  if (count == 0) {
    /* As --type of scan and fix: the record type, whose versions' packages
     * carry a version component (shop.Order for shop.v1.Order). */
    char want[512], have[512];
    rs__unversioned_name(name, want, sizeof want);
    for (size_t i = 0; i < s->n_types; i++) {
      const sx_type *c = &s->types[i];
      if (c->msg == NULL) continue;
      rs__unversioned_name(c->full, have, sizeof have);
      if (strcmp(want, have) != 0) continue;
      candidate(s, c, &best, &best_own, &count, list, sizeof list);
    }
  }
  if (count == 1) {
    *out = best;
    return 0;
  }
  if (count > 1)
    return rs__fail(err, RS_ENOTFOUND, RS_OFFSET_NONE,
                    "%s: type '%s' is ambiguous (%s); give the full name",
                    s->path, name, list);
  /* what there is, for the message */
  list[0] = '\0';
  for (size_t i = 0; i < s->n_types; i++) {
    const sx_type *c = &s->types[i];
    if (c->msg == NULL || !own(s, c) || is_map_entry(c->msg)) continue;
    size_t used = strlen(list);
    if (used + strlen(c->full) + 6 >= sizeof list) {
      snprintf(list + used, sizeof list - used, ", ...");
      break;
    }
    snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "",
             c->full);
  }
  return rs__fail(err, RS_ENOTFOUND, RS_OFFSET_NONE,
                  "%s: no message type '%s' (messages: %s)", s->path, name,
                  list[0] ? list : "none");
}

/* A message's shape, for telling a rename: field numbers, kinds, labels. */
static int same_shape(const rs_diff_schema *os, const sx_type *a,
                      const rs_diff_schema *ns, const sx_type *b) {
  if (a->msg->n_field != b->msg->n_field || a->msg->n_field == 0) return 0;
  for (size_t i = 0; i < a->msg->n_field; i++) {
    const field_proto *f = a->msg->field[i];
    const field_proto *g = field_by_number(b->msg, f->number, NULL);
    if (g == NULL || field_kind(os, f) != field_kind(ns, g) ||
        f->label != g->label)
      return 0;
  }
  return 1;
}

static void removed_messages(cmp *c) {
  /* each NEW message's OLD counterpart, once */
  const sx_type **back = d_calloc(c->ns->n_types + 1, sizeof *back);
  if (back == NULL) {
    c->oom = 1;
    return;
  }
  for (size_t j = 0; j < c->ns->n_types; j++)
    if (c->ns->types[j].msg != NULL)
      back[j] = counterpart(c->os, &c->ns->types[j]);
  for (size_t i = 0; i < c->os->n_types; i++) {
    const sx_type *ot = &c->os->types[i];
    if (ot->msg == NULL || !own(c->os, ot) || is_map_entry(ot->msg)) continue;
    int kept = 0;
    const sx_type *renamed = NULL;
    for (size_t j = 0; j < c->ns->n_types && !kept; j++) {
      const sx_type *nt = &c->ns->types[j];
      if (nt->msg == NULL || is_map_entry(nt->msg)) continue;
      if (back[j] == ot) kept = 1;
      if (back[j] == NULL && renamed == NULL && own(c->ns, nt) &&
          same_shape(c->os, ot, c->ns, nt))
        renamed = nt;
    }
    if (kept) continue;
    if (renamed != NULL) {
      where w = {c->ns, renamed, -1, 0};
      add(c, RS_DIFF_RULE_MESSAGE_RENAMED, RS_DIFF_VERDICT_NONE, RS_DIFF_INFO,
          &w, xdup(renamed->full),
          "message %s is now %s with the same fields: wire-safe (no type "
          "name on the wire), but google.protobuf.Any type URLs, JSON and "
          "reflection name it differently",
          ot->full, renamed->full);
      continue;
    }
    where w = {c->os, ot, -1, 0};
    add(c, RS_DIFF_RULE_MESSAGE_REMOVED, RS_DIFF_VERDICT_NONE, RS_DIFF_WARNING,
        &w, xdup(ot->full),
        "message %s was removed: the new writer writes none, and an old "
        "reader that expects it (a queue of them, an Any holding one) gets "
        "none",
        ot->full);
  }
  free(back);
}

/* ---- the comparison
 * ---------------------------------------------------------------
 */

static void drain(cmp *c) {
  while (c->next < c->n_seen && !c->oom) {
    pair p = c->seen[c->next++];
    c->as = same_name(p.o, p.n) ? NULL : p.o->full;
    if (p.o->msg != NULL)
      compare_messages(c, p.o, p.n);
    else
      compare_enums(c, p.o, p.n);
  }
}

static int finding_cmp(const void *a, const void *b) {
  const rs_diff_finding *x = a, *y = b;
  if (x->reader != y->reader) return x->reader < y->reader ? -1 : 1;
  if (x->writer != y->writer) return x->writer < y->writer ? -1 : 1;
  if (x->severity != y->severity) return x->severity > y->severity ? -1 : 1;
  int k = strcmp(x->file, y->file);
  if (k != 0) return k;
  if (x->line != y->line) return x->line < y->line ? -1 : 1;
  k = strcmp(x->path, y->path);
  if (k != 0) return k;
  return (int)x->rule - (int)y->rule;
}

/* Splits a --type entry: one name for every version, or one per version. */
static int split_spec(char ***out, const char *spec, size_t n_schemas,
                      rs_error *err) {
  size_t parts = 1;
  for (const char *p = spec; *p; p++)
    if (*p == ':') parts++;
  if (parts != 1 && parts != n_schemas)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "type '%s': give one name, or one per version separated "
                    "by ':' (%zu versions)",
                    spec, n_schemas);
  char **names = d_calloc(n_schemas, sizeof *names);
  if (names == NULL)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "out of memory");
  const char *p = spec;
  for (size_t i = 0; i < n_schemas; i++) {
    size_t len = parts == 1 ? strlen(spec) : strcspn(p, ":");
    names[i] = format("%.*s", (int)len, parts == 1 ? spec : p);
    if (names[i] == NULL || len == 0) {
      int empty = names[i] != NULL;
      for (size_t j = 0; j <= i; j++) free(names[j]);
      free(names);
      return empty ? rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                              "type '%s': an empty name", spec)
                   : rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "out of memory");
    }
    if (parts > 1) p += len + 1;
  }
  *out = names;
  return 0;
}

static void free_names(char **names, size_t n) {
  if (names == NULL) return;
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}

int rs_diff_compare(rs_diff_report **out, const rs_diff_schema *const *schemas,
                    size_t n_schemas, const rs_diff_options *opts,
                    rs_error *err) {
  *out = NULL;
  rs_diff_options defaults = RS_DIFF_OPTIONS_INIT;
  if (opts == NULL) opts = &defaults;
  if (opts->version != RS_DIFF_OPTIONS_VERSION && opts->version != 1)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_diff_options version %u, expected 1..%u", opts->version,
                    RS_DIFF_OPTIONS_VERSION);
  /* The old reader's runtime, as a reader description says it. */
  rs_reader reader = RS_READER_INIT;
  if (opts->version >= 2) {
    reader.runtime = opts->runtime;
    reader.runtime_flags = opts->runtime_flags;
  }
  rs__rules rt_rules;
  int rrc = rs__rules_init(&rt_rules, &reader, err);
  if (rrc != 0) return rrc;
  if (n_schemas < 2)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "a comparison needs at least two schema versions");
  size_t n_specs = 0;
  while (opts->types != NULL && opts->types[n_specs] != NULL) n_specs++;

  /* Resolve every type in every version first: a typo is an error before
   * any finding. */
  const sx_type **roots = NULL;
  if (n_specs > 0) {
    roots = d_calloc(n_specs * n_schemas, sizeof *roots);
    if (roots == NULL)
      return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "out of memory");
  }
  for (size_t k = 0; k < n_specs; k++) {
    char **names = NULL;
    int rc = split_spec(&names, opts->types[k], n_schemas, err);
    for (size_t v = 0; rc == 0 && v < n_schemas; v++)
      rc = resolve_type(&roots[k * n_schemas + v], schemas[v], names[v], err);
    free_names(names, n_schemas);
    if (rc != 0) {
      free(roots);
      return rc;
    }
  }

  rs_diff_report *rep = d_calloc(1, sizeof *rep);
  if (rep == NULL) {
    free(roots);
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "out of memory");
  }
  int oom = 0;
  for (size_t i = 0; i < n_schemas && !oom; i++) {
    for (size_t j = i + 1; j < n_schemas && !oom; j++) {
      cmp c = {rep, schemas[i], schemas[j], i,    j, NULL,
               0,   0,          0,          NULL, 0, &rt_rules};
      if (n_specs > 0) {
        for (size_t k = 0; k < n_specs; k++)
          queue(&c, roots[k * n_schemas + i], roots[k * n_schemas + j]);
      } else {
        const rs_diff_schema *ns = schemas[j];
        for (size_t f = 0; f < ns->n_files; f++) {
          if (!ns->files[f].own) continue;
          for (size_t t = 0; t < ns->n_types; t++) {
            const sx_type *nt = &ns->types[t];
            if (nt->file != f || is_map_entry(nt->msg)) continue;
            const sx_type *ot = counterpart(schemas[i], nt);
            if (ot != NULL) queue(&c, ot, nt);
          }
        }
        removed_messages(&c);
      }
      drain(&c);
      oom = c.oom;
      free(c.seen);
    }
  }
  free(roots);
  if (oom) {
    rs_diff_report_free(rep);
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "out of memory");
  }
  if (rep->n > 1) qsort(rep->items, rep->n, sizeof *rep->items, finding_cmp);
  *out = rep;
  return 0;
}

/* ---- suppressions
 * -------------------------------------------------------------------
 */

int rs_diff_date_valid(const char *s) {
  if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') return 0;
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && !isdigit((unsigned char)s[i])) return 0;
  int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return 0;
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= days[m - 1] + (m == 2 && leap);
}

int rs_diff_report_suppress(rs_diff_report *r, const char *rule,
                            const char *path_glob, const char *reason,
                            const char *expires, const char *today,
                            const char *label, size_t *matched,
                            rs_diff_suppression_status *status, rs_error *err) {
  int any_rule = strcmp(rule, "*") == 0;
  int rule_id = any_rule ? -1 : rs_diff_rule_from_id(rule);
  if (!any_rule && rule_id < 0)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE, "unknown rule '%s'", rule);
  if (path_glob[0] == '\0')
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE, "empty path");
  if (reason == NULL || reason[0] == '\0')
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "a suppression needs a reason");
  if (!rs_diff_date_valid(expires))
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "expires '%s' is not a date (YYYY-MM-DD)", expires);
  if (!rs_diff_date_valid(today))
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "today '%s' is not a date (YYYY-MM-DD)", today);
  int expired = strcmp(today, expires) > 0; /* same format: text order */
  size_t count = 0;
  for (size_t i = 0; i < r->n; i++) {
    rs_diff_finding *f = &r->items[i];
    if (f->suppressed_by != NULL) continue;
    if (!any_rule && (int)f->rule != rule_id) continue;
    if (fnmatch(path_glob, f->path, 0) != 0) continue;
    count++;
    if (expired) continue;
    f->suppressed_by = xdup(label != NULL ? label : "suppression");
    f->suppression_reason = xdup(reason);
    if (f->suppressed_by == NULL || f->suppression_reason == NULL) {
      free(f->suppressed_by);
      free(f->suppression_reason);
      f->suppressed_by = f->suppression_reason = NULL;
      return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "out of memory");
    }
  }
  if (matched != NULL) *matched = count;
  if (status != NULL)
    *status = expired      ? RS_DIFF_SUPPRESSION_EXPIRED
              : count == 0 ? RS_DIFF_SUPPRESSION_UNUSED
                           : RS_DIFF_SUPPRESSION_USED;
  return 0;
}
