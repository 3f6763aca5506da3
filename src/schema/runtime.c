#define _POSIX_C_SOURCE 200809L
/*
 * src/schema/runtime.c: protobuf-c descriptors built from a
 * FileDescriptorSet at run time.
 *
 * What protoc-c writes into a generated *.pb-c.c is rebuilt here in memory:
 * fields sorted by number with their number ranges and by-name index, enum
 * values sorted by number with value ranges and by-name index, and a C
 * struct layout for each message (ProtobufCMessage base, then one member per
 * field with its has_/n_ quantifier, then per oneof a case member and a
 * union), aligned as a C compiler would align it. protobuf-c then reads and
 * writes messages through offsetof-style numbers as it does for generated
 * code. Every byte lives in one arena owned by the rs_schema.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rollsafe/schema.h>

#include "codec/internal.h"
#include "schema/descset.h"
#include "schema/features.h"

typedef Google__Protobuf__FileDescriptorProto file_proto;
typedef Google__Protobuf__DescriptorProto msg_proto;
typedef Google__Protobuf__EnumDescriptorProto enum_proto;
typedef Google__Protobuf__FieldDescriptorProto field_proto;

/* One message or enum type of the set. */
typedef struct entry {
  const char *name; /* full name, no leading dot */
  bool is_enum;
  bool proto3;
  int edition; /* RS__EDITION_* */
  /* Resolved features: a message's (for its fields to start from), an
   * enum's (enum_type: whether it is closed). */
  rs__features feat;
  const file_proto *file;
  const msg_proto *msg;
  const enum_proto *en;
  ProtobufCMessageDescriptor *md;
  /* The same message as a runtime that parses extensions reads it: its
   * extensions among its fields, its message fields pointing at the other
   * types' mdx. NULL when the set declares no extension of a message. */
  ProtobufCMessageDescriptor *mdx;
  ProtobufCEnumDescriptor *ed;
} entry;

struct rs_schema {
  const ProtobufCAllocator *backing;
  rs_arena *arena;
  const ProtobufCAllocator *a; /* the arena's */
  Google__Protobuf__FileDescriptorSet *set;
  const char *what;
  entry *entries; /* sorted by name */
  size_t n, cap;
  const ProtobufCMessageDescriptor **messages; /* sorted by name */
  size_t n_messages;
  bool extended; /* entries have mdx */
};

/* ---- errors and memory -----------------------------------------------------
 */

static int oom(const rs_schema *s, rs_error *err) {
  return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "%s: out of memory", s->what);
}

static void *zalloc(rs_schema *s, size_t size) {
  return rs__alloc(s->a, size > 0 ? size : 1);
}

static char *dup_str(rs_schema *s, const char *str) {
  return rs__strdup(s->a, str);
}

/* ---- collecting the types ---------------------------------------------------
 */

static bool valid_ident(const char *s) {
  if (s == NULL || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
  for (const char *p = s; *p; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_')) return false;
  return true;
}

static int add_entry(rs_schema *s, const char *name, bool is_enum, int edition,
                     const rs__features *feat, const file_proto *f,
                     const msg_proto *m, const enum_proto *e, rs_error *err) {
  if (s->n >= RS_SCHEMA_MAX_TYPES)
    return rs__fail(err, RS_ELIMIT, RS_OFFSET_NONE,
                    "%s: more than %d message and enum types", s->what,
                    RS_SCHEMA_MAX_TYPES);
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    entry *grown = rs__alloc(s->backing, cap * sizeof *grown);
    if (grown == NULL) return oom(s, err);
    if (s->n) memcpy(grown, s->entries, s->n * sizeof *grown);
    rs__free(s->backing, s->entries);
    s->entries = grown;
    s->cap = cap;
  }
  entry *en = &s->entries[s->n++];
  memset(en, 0, sizeof *en);
  en->name = name;
  en->is_enum = is_enum;
  en->proto3 = edition == RS__EDITION_PROTO3;
  en->edition = edition;
  en->feat = *feat;
  en->file = f;
  en->msg = m;
  en->en = e;
  return 0;
}

static char *join_name(rs_schema *s, const char *scope, const char *name) {
  return scope[0] != '\0' ? rs__sprintf(s->a, "%s.%s", scope, name)
                          : dup_str(s, name);
}

static int collect_enum(rs_schema *s, const file_proto *f, int edition,
                        const rs__features *scope_feat, const char *scope,
                        const enum_proto *e, rs_error *err) {
  if (!valid_ident(e->name))
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "%s: %s: enum '%s'%s%s has an invalid name", s->what,
                    f->name, e->name ? e->name : "", scope[0] ? " in " : "",
                    scope);
  char *name = join_name(s, scope, e->name);
  if (name == NULL) return oom(s, err);
  rs__features feat = *scope_feat;
  if (rs__is_editions(edition))
    rs__features_merge(&feat, (const ProtobufCMessage *)e->options,
                       RS__FEATURES_OF_ENUM);
  return add_entry(s, name, true, edition, &feat, f, NULL, e, err);
}

static int collect_message(rs_schema *s, const file_proto *f, int edition,
                           const rs__features *scope_feat, const char *scope,
                           const msg_proto *m, unsigned depth, rs_error *err) {
  if (!valid_ident(m->name))
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "%s: %s: message '%s'%s%s has an invalid name", s->what,
                    f->name, m->name ? m->name : "", scope[0] ? " in " : "",
                    scope);
  char *name = join_name(s, scope, m->name);
  if (name == NULL) return oom(s, err);
  if (depth > RS_SCHEMA_MAX_NESTING)
    return rs__fail(err, RS_ELIMIT, RS_OFFSET_NONE,
                    "%s: %s: message %s is nested more than %d deep", s->what,
                    f->name, name, RS_SCHEMA_MAX_NESTING);
  rs__features feat = *scope_feat;
  if (rs__is_editions(edition))
    rs__features_merge(&feat, (const ProtobufCMessage *)m->options,
                       RS__FEATURES_OF_MESSAGE);
  int rc = add_entry(s, name, false, edition, &feat, f, m, NULL, err);
  for (size_t i = 0; rc == 0 && i < m->n_nested_type; i++)
    rc = collect_message(s, f, edition, &feat, name, m->nested_type[i],
                         depth + 1, err);
  for (size_t i = 0; rc == 0 && i < m->n_enum_type; i++)
    rc = collect_enum(s, f, edition, &feat, name, m->enum_type[i], err);
  return rc;
}

static int cmp_entry(const void *x, const void *y) {
  return strcmp(((const entry *)x)->name, ((const entry *)y)->name);
}

static entry *find_entry(const rs_schema *s, const char *name) {
  if (s->n == 0) return NULL;
  entry key;
  key.name = name;
  return bsearch(&key, s->entries, s->n, sizeof key, cmp_entry);
}

static int cmp_str(const void *x, const void *y) {
  return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int collect_files(rs_schema *s, const char **files, rs_error *err);

/* Checks file names, syntax, packages and imports, and collects every
 * type. */
static int collect(rs_schema *s, rs_error *err) {
  const Google__Protobuf__FileDescriptorSet *set = s->set;
  if (set->n_file > RS_SCHEMA_MAX_TYPES)
    return rs__fail(err, RS_ELIMIT, RS_OFFSET_NONE,
                    "%s: more than %d files in the set", s->what,
                    RS_SCHEMA_MAX_TYPES);
  const char **files = rs__alloc(s->backing, set->n_file * sizeof *files);
  if (files == NULL) return oom(s, err);
  for (size_t i = 0; i < set->n_file; i++) {
    files[i] = set->file[i]->name;
    if (files[i] == NULL || files[i][0] == '\0') {
      rs__free(s->backing, files);
      return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                      "%s: file %zu of the set has no name", s->what, i + 1);
    }
  }
  qsort(files, set->n_file, sizeof *files, cmp_str);
  for (size_t i = 1; i < set->n_file; i++)
    if (strcmp(files[i - 1], files[i]) == 0) {
      int rc =
          rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                   "%s: file %s appears twice in the set", s->what, files[i]);
      rs__free(s->backing, files);
      return rc;
    }
  int rc = collect_files(s, files, err);
  rs__free(s->backing, files);
  if (rc != 0) return rc;
  if (s->n > 0) qsort(s->entries, s->n, sizeof *s->entries, cmp_entry);
  for (size_t i = 1; i < s->n; i++)
    if (strcmp(s->entries[i - 1].name, s->entries[i].name) == 0)
      return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                      "%s: type %s is defined twice (in %s and %s)", s->what,
                      s->entries[i].name, s->entries[i - 1].file->name,
                      s->entries[i].file->name);
  return 0;
}

static int collect_files(rs_schema *s, const char **files, rs_error *err) {
  const Google__Protobuf__FileDescriptorSet *set = s->set;
  for (size_t i = 0; i < set->n_file; i++) {
    const file_proto *f = set->file[i];
    for (size_t d = 0; d < f->n_dependency; d++) {
      bool found = f->dependency[d] != NULL &&
                   bsearch(&f->dependency[d], files, set->n_file, sizeof *files,
                           cmp_str) != NULL;
      if (!found)
        return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                        "%s: %s imports %s, which the descriptor set lacks "
                        "(build it with protoc --include_imports)",
                        s->what, f->name,
                        f->dependency[d] ? f->dependency[d] : "(null)");
    }
    int edition;
    const char *why = NULL;
    if (rs__file_edition(f, &edition, &why) != 0)
      return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                      "%s: %s: syntax \"%.40s\" is not supported (%s; proto2, "
                      "proto3 and editions 2023 and 2024 are)",
                      s->what, f->name, f->syntax ? f->syntax : "", why);
    rs__features feat;
    rs__features_of_file(&feat, f, edition);
    const char *pkg = f->package != NULL ? f->package : "";
    if (pkg[0] != '\0') {
      /* Dot-separated identifiers. */
      const char *p = pkg;
      bool ok = true;
      while (ok) {
        size_t n = strcspn(p, ".");
        ok = n > 0 && (isalpha((unsigned char)p[0]) || p[0] == '_');
        for (size_t k = 0; ok && k < n; k++)
          ok = isalnum((unsigned char)p[k]) || p[k] == '_';
        if (p[n] == '\0') break;
        p += n + 1;
      }
      if (!ok)
        return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                        "%s: %s: invalid package name '%.60s'", s->what,
                        f->name, pkg);
    }
    int rc = 0;
    for (size_t m = 0; rc == 0 && m < f->n_message_type; m++)
      rc = collect_message(s, f, edition, &feat, pkg, f->message_type[m], 1,
                           err);
    for (size_t e = 0; rc == 0 && e < f->n_enum_type; e++)
      rc = collect_enum(s, f, edition, &feat, pkg, f->enum_type[e], err);
    if (rc != 0) return rc;
  }
  return 0;
}

/* ---- ranges
 * ------------------------------------------------------------------- */

/*
 * protobuf-c's lookup table for sorted numbers: one {start, index} per run
 * of consecutive numbers, then a terminator {0, n} whose index closes the
 * last run (as protoc-c writes them).
 */
static ProtobufCIntRange *make_ranges(rs_schema *s, const int64_t *values,
                                      unsigned n, unsigned *n_ranges) {
  unsigned runs = 0;
  for (unsigned i = 0; i < n; i++)
    if (i == 0 || values[i] != values[i - 1] + 1) runs++;
  ProtobufCIntRange *r = zalloc(s, (runs + 1) * sizeof *r);
  if (r == NULL) return NULL;
  unsigned k = 0;
  for (unsigned i = 0; i < n; i++)
    if (i == 0 || values[i] != values[i - 1] + 1) {
      r[k].start_value = (int)values[i];
      r[k].orig_index = i;
      k++;
    }
  r[runs].start_value = 0;
  r[runs].orig_index = n;
  *n_ranges = runs;
  return r;
}

/* ---- enums
 * ---------------------------------------------------------------------- */

typedef struct enum_val {
  const char *name;
  int number;
  unsigned decl;
} enum_val;

static int cmp_val_number(const void *x, const void *y) {
  const enum_val *a = x, *b = y;
  if (a->number != b->number) return a->number < b->number ? -1 : 1;
  return a->decl < b->decl ? -1 : a->decl > b->decl;
}

static int cmp_val_name(const void *x, const void *y) {
  return strcmp(((const enum_val *)x)->name, ((const enum_val *)y)->name);
}

static int build_enum(rs_schema *s, entry *en, rs_error *err) {
  const enum_proto *e = en->en;
  size_t n = e->n_value;
  if (n == 0)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "%s: %s: enum %s has no values", s->what, en->file->name,
                    en->name);
  if (n > RS_SCHEMA_MAX_FIELDS)
    return rs__fail(err, RS_ELIMIT, RS_OFFSET_NONE,
                    "%s: %s: enum %s has %zu values, more than %d", s->what,
                    en->file->name, en->name, n, RS_SCHEMA_MAX_FIELDS);
  enum_val *vals = rs__alloc(s->backing, n * sizeof *vals);
  int64_t *nums = rs__alloc(s->backing, n * sizeof *nums);
  int rc = 0;
  if (vals == NULL || nums == NULL) {
    rc = oom(s, err);
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    const Google__Protobuf__EnumValueDescriptorProto *v = e->value[i];
    if (!valid_ident(v->name)) {
      rc = rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "%s: %s: enum %s: value %zu has an invalid name '%.60s'",
                    s->what, en->file->name, en->name, i + 1,
                    v->name ? v->name : "");
      goto done;
    }
    vals[i].name = v->name;
    vals[i].number = v->number;
    vals[i].decl = (unsigned)i;
  }
  qsort(vals, n, sizeof *vals, cmp_val_name);
  for (size_t i = 1; i < n; i++)
    if (strcmp(vals[i - 1].name, vals[i].name) == 0) {
      rc = rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "%s: %s: enum %s: value %s is declared twice", s->what,
                    en->file->name, en->name, vals[i].name);
      goto done;
    }
  /* values: distinct numbers, the first declared name of each (aliases are
   * found by name only), as protoc-c writes them. */
  qsort(vals, n, sizeof *vals, cmp_val_number);
  unsigned distinct = 0;
  for (size_t i = 0; i < n; i++)
    if (i == 0 || vals[i].number != vals[i - 1].number) distinct++;
  ProtobufCEnumDescriptor *d = en->ed;
  ProtobufCEnumValue *values = zalloc(s, distinct * sizeof *values);
  ProtobufCEnumValueIndex *by_name = zalloc(s, n * sizeof *by_name);
  if (values == NULL || by_name == NULL) {
    rc = oom(s, err);
    goto done;
  }
  unsigned k = 0;
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && vals[i].number == vals[i - 1].number) continue;
    values[k].name = vals[i].name;
    values[k].c_name = vals[i].name;
    values[k].value = vals[i].number;
    nums[k] = vals[i].number;
    k++;
  }
  /* by name: each name with the index of its number in values. */
  for (size_t i = 0, j = 0; i < n; i++) {
    if (i > 0 && vals[i].number != vals[i - 1].number) j++;
    by_name[i].name = vals[i].name;
    by_name[i].index = (unsigned)j;
  }
  qsort(by_name, n, sizeof *by_name, cmp_val_name);
  unsigned n_ranges = 0;
  ProtobufCIntRange *ranges = make_ranges(s, nums, distinct, &n_ranges);
  if (ranges == NULL) {
    rc = oom(s, err);
    goto done;
  }
  const char *dot = strrchr(en->name, '.');
  d->magic = PROTOBUF_C__ENUM_DESCRIPTOR_MAGIC;
  d->name = en->name;
  d->short_name = dot ? dot + 1 : en->name;
  d->c_name = en->name;
  d->package_name = en->file->package ? en->file->package : "";
  d->n_values = distinct;
  d->values = values;
  d->n_value_names = (unsigned)n;
  d->values_by_name = by_name;
  d->n_value_ranges = n_ranges;
  d->value_ranges = ranges;
done:
  rs__free(s->backing, vals);
  rs__free(s->backing, nums);
  return rc;
}

/* ---- messages
 * ------------------------------------------------------------------- */

/* Resolves a type name as protoc does: absolute when it starts with a dot,
 * else from the innermost scope outwards. */
static entry *resolve(const rs_schema *s, const char *scope,
                      const char *type_name) {
  if (type_name[0] == '.') return find_entry(s, type_name + 1);
  size_t scope_len = strlen(scope), tlen = strlen(type_name);
  char buf[1024];
  if (scope_len + tlen + 2 > sizeof buf) return NULL;
  memcpy(buf, scope, scope_len);
  for (;;) {
    size_t at = scope_len;
    if (at > 0) buf[at++] = '.';
    memcpy(buf + at, type_name, tlen + 1);
    entry *e = find_entry(s, buf);
    if (e != NULL) return e;
    if (scope_len == 0) return NULL;
    while (scope_len > 0 && buf[scope_len - 1] != '.') scope_len--;
    if (scope_len > 0) scope_len--; /* drop the dot */
  }
}

static bool valid_type_name(const char *t) {
  if (t == NULL || t[0] == '\0') return false;
  const char *p = t[0] == '.' ? t + 1 : t;
  for (;;) {
    size_t n = strcspn(p, ".");
    if (n == 0 || !(isalpha((unsigned char)p[0]) || p[0] == '_')) return false;
    for (size_t k = 0; k < n; k++)
      if (!(isalnum((unsigned char)p[k]) || p[k] == '_')) return false;
    if (p[n] == '\0') return true;
    p += n + 1;
  }
}

static bool is_packable(ProtobufCType t) {
  return t != PROTOBUF_C_TYPE_STRING && t != PROTOBUF_C_TYPE_BYTES &&
         t != PROTOBUF_C_TYPE_MESSAGE;
}

/* Size and alignment of a field's value member. */
static void value_layout(ProtobufCType t, size_t *size, size_t *align) {
  switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      *size = sizeof(int64_t), *align = alignof(int64_t);
      return;
    case PROTOBUF_C_TYPE_DOUBLE:
      *size = sizeof(double), *align = alignof(double);
      return;
    case PROTOBUF_C_TYPE_BOOL:
      *size = sizeof(protobuf_c_boolean), *align = alignof(protobuf_c_boolean);
      return;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
      *size = sizeof(void *), *align = alignof(void *);
      return;
    case PROTOBUF_C_TYPE_BYTES:
      *size = sizeof(ProtobufCBinaryData),
      *align = alignof(ProtobufCBinaryData);
      return;
    default: /* 32-bit integers, float, enum */
      *size = 4, *align = 4;
      return;
  }
}

static size_t place(size_t *off, size_t *max_align, size_t size, size_t align) {
  *off = (*off + align - 1) / align * align;
  size_t at = *off;
  *off += size;
  if (align > *max_align) *max_align = align;
  return at;
}

static ProtobufCType map_type(int t, bool *ok) {
  *ok = true;
  switch (t) {
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_DOUBLE:
      return PROTOBUF_C_TYPE_DOUBLE;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FLOAT:
      return PROTOBUF_C_TYPE_FLOAT;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT64:
      return PROTOBUF_C_TYPE_INT64;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT64:
      return PROTOBUF_C_TYPE_UINT64;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT32:
      return PROTOBUF_C_TYPE_INT32;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED64:
      return PROTOBUF_C_TYPE_FIXED64;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED32:
      return PROTOBUF_C_TYPE_FIXED32;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BOOL:
      return PROTOBUF_C_TYPE_BOOL;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING:
      return PROTOBUF_C_TYPE_STRING;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE:
      return PROTOBUF_C_TYPE_MESSAGE;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BYTES:
      return PROTOBUF_C_TYPE_BYTES;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT32:
      return PROTOBUF_C_TYPE_UINT32;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_ENUM:
      return PROTOBUF_C_TYPE_ENUM;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED32:
      return PROTOBUF_C_TYPE_SFIXED32;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED64:
      return PROTOBUF_C_TYPE_SFIXED64;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT32:
      return PROTOBUF_C_TYPE_SINT32;
    case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT64:
      return PROTOBUF_C_TYPE_SINT64;
    default:
      *ok = false;
      return PROTOBUF_C_TYPE_INT32;
  }
}

/* The bytes of a C-escaped default (FieldDescriptorProto.default_value of a
 * bytes field: \n, \t, \\, \', \", octal \NNN and hex \xHH). */
static bool unescape(const char *in, uint8_t *out, size_t *n) {
  size_t k = 0;
  for (const char *p = in; *p;) {
    if (*p != '\\') {
      out[k++] = (uint8_t)*p++;
      continue;
    }
    p++;
    int c = (unsigned char)*p;
    if (c >= '0' && c <= '7') {
      unsigned v = 0;
      for (int i = 0; i < 3 && *p >= '0' && *p <= '7'; i++)
        v = v * 8 + (unsigned)(*p++ - '0');
      if (v > 255) return false;
      out[k++] = (uint8_t)v;
      continue;
    }
    if (c == 'x' || c == 'X') {
      p++;
      unsigned v = 0;
      int digits = 0;
      while (digits < 2 && isxdigit((unsigned char)*p)) {
        v = v * 16 + (unsigned)(isdigit((unsigned char)*p)
                                    ? *p - '0'
                                    : tolower((unsigned char)*p) - 'a' + 10);
        p++;
        digits++;
      }
      if (digits == 0) return false;
      out[k++] = (uint8_t)v;
      continue;
    }
    static const char from[] = "ntrabfv\\'\"?";
    static const char to[] = "\n\t\r\a\b\f\v\\'\"?";
    const char *hit = c ? strchr(from, c) : NULL;
    if (hit == NULL) return false;
    out[k++] = (uint8_t)to[hit - from];
    p++;
  }
  *n = k;
  return true;
}

/* The default value of a proto2 field, as protobuf-c reads it. */
/* Returns 0, RS_EINVAL (no message: the caller names the field) or
 * RS_ENOMEM. */
static int make_default(rs_schema *s, ProtobufCFieldDescriptor *fd,
                        const char *text, rs_error *err) {
  errno = 0;
  char *end = NULL;
  void *dv = NULL;
  bool ok = true;
  switch (fd->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: {
      long long v = strtoll(text, &end, 10);
      ok = v >= INT32_MIN && v <= INT32_MAX;
      int32_t *p = dv = zalloc(s, sizeof *p);
      if (p) *p = (int32_t)v;
      break;
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: {
      unsigned long long v = strtoull(text, &end, 10);
      ok = v <= UINT32_MAX && text[0] != '-';
      uint32_t *p = dv = zalloc(s, sizeof *p);
      if (p) *p = (uint32_t)v;
      break;
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
      long long v = strtoll(text, &end, 10);
      int64_t *p = dv = zalloc(s, sizeof *p);
      if (p) *p = (int64_t)v;
      break;
    }
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
      unsigned long long v = strtoull(text, &end, 10);
      ok = text[0] != '-';
      uint64_t *p = dv = zalloc(s, sizeof *p);
      if (p) *p = (uint64_t)v;
      break;
    }
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
      double v = strtod(text, &end);
      if (errno == ERANGE && isinf(v)) errno = 0; /* 1e999: infinity */
      if (fd->type == PROTOBUF_C_TYPE_FLOAT) {
        float *p = dv = zalloc(s, sizeof *p);
        if (p) *p = (float)v;
      } else {
        double *p = dv = zalloc(s, sizeof *p);
        if (p) *p = v;
      }
      break;
    }
    case PROTOBUF_C_TYPE_BOOL: {
      protobuf_c_boolean *p = dv = zalloc(s, sizeof *p);
      ok = strcmp(text, "true") == 0 || strcmp(text, "false") == 0;
      if (p) *p = strcmp(text, "true") == 0;
      end = (char *)text + strlen(text);
      break;
    }
    case PROTOBUF_C_TYPE_ENUM: {
      const ProtobufCEnumValue *v =
          protobuf_c_enum_descriptor_get_value_by_name(fd->descriptor, text);
      ok = v != NULL;
      int *p = dv = zalloc(s, sizeof *p);
      if (p && v) *p = v->value;
      end = (char *)text + strlen(text);
      break;
    }
    case PROTOBUF_C_TYPE_STRING:
      dv = dup_str(s, text);
      end = (char *)text + strlen(text);
      break;
    case PROTOBUF_C_TYPE_BYTES: {
      ProtobufCBinaryData *bd = dv = zalloc(s, sizeof *bd);
      uint8_t *data = zalloc(s, strlen(text) + 1);
      size_t n = 0;
      if (bd && data) {
        ok = unescape(text, data, &n);
        bd->len = n;
        bd->data = n > 0 ? data : NULL;
      }
      end = (char *)text + strlen(text);
      break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
      return RS_EINVAL;
  }
  if (dv == NULL) return oom(s, err);
  if (!ok || errno != 0 || end == text || *end != '\0') return RS_EINVAL;
  fd->default_value = dv;
  return 0;
}

/* The reserved numbers protobuf refuses for fields. */
#define RS__FIRST_RESERVED 19000
#define RS__LAST_RESERVED 19999
#define RS__MAX_FIELD_NUMBER 536870911

typedef struct field_build {
  ProtobufCFieldDescriptor fd;
  int oneof; /* real oneof index, or -1 */
} field_build;

static int cmp_field_id(const void *x, const void *y) {
  const ProtobufCFieldDescriptor *a = x, *b = y;
  return (a->id > b->id) - (a->id < b->id);
}

typedef struct name_idx {
  const char *name;
  unsigned index;
} name_idx;

static int cmp_name_idx(const void *x, const void *y) {
  return strcmp(((const name_idx *)x)->name, ((const name_idx *)y)->name);
}

/* One field a message descriptor is built with: a field of the message, or
 * an extension of it, declared anywhere in the set, which a runtime that
 * parses extensions reads as a field. */
typedef struct field_src {
  const field_proto *f;
  const char *scope; /* where its type names resolve */
  const char *name;  /* the field's; "(full.name)" for an extension */
  rs__features feat; /* its message's, or its extend block's scope's */
  int edition;
  bool proto3;
  bool ext;
} field_src;

static bool extends(const field_proto *x, const char *full) {
  return x->extendee != NULL &&
         strcmp(x->extendee[0] == '.' ? x->extendee + 1 : x->extendee, full) ==
             0;
}

/* Whether the set declares any extension of one of its messages. */
static bool any_extension(const rs_schema *s) {
  const Google__Protobuf__FileDescriptorSet *set = s->set;
  for (size_t i = 0; i < set->n_file; i++)
    for (size_t k = 0; k < set->file[i]->n_extension; k++) {
      const field_proto *x = set->file[i]->extension[k];
      if (x->extendee != NULL &&
          find_entry(
              s, x->extendee[0] == '.' ? x->extendee + 1 : x->extendee) != NULL)
        return true;
    }
  for (size_t i = 0; i < s->n; i++)
    for (size_t k = 0;
         !s->entries[i].is_enum && k < s->entries[i].msg->n_extension; k++) {
      const field_proto *x = s->entries[i].msg->extension[k];
      if (x->extendee != NULL &&
          find_entry(
              s, x->extendee[0] == '.' ? x->extendee + 1 : x->extendee) != NULL)
        return true;
    }
  return false;
}

/*
 * An extension's name as a field: "(full.name)" without version components
 * ("shop.v2.gift" reads "(shop.gift)"), so that the same extension of two
 * versions in versioned packages has one name, as a field has.
 */
static char *ext_name(rs_schema *s, const char *scope, const field_proto *x) {
  char full[512], plain[512];
  snprintf(full, sizeof full, "%s%s%s", scope, scope[0] ? "." : "",
           x->name ? x->name : "?");
  rs__unversioned_name(full, plain, sizeof plain);
  return rs__sprintf(s->a, "(%s)", plain);
}

/* The fields en's descriptor is built with: its own, then (parsed) the
 * extensions of it; *out from the backing allocator, or NULL when none. */
static int field_sources(rs_schema *s, const entry *en, bool parsed,
                         field_src **out, size_t *n_out, rs_error *err) {
  const msg_proto *m = en->msg;
  const Google__Protobuf__FileDescriptorSet *set = s->set;
  size_t n = m->n_field;
  if (parsed) {
    for (size_t i = 0; i < set->n_file; i++)
      for (size_t k = 0; k < set->file[i]->n_extension; k++)
        n += extends(set->file[i]->extension[k], en->name);
    for (size_t i = 0; i < s->n; i++)
      for (size_t k = 0;
           !s->entries[i].is_enum && k < s->entries[i].msg->n_extension; k++)
        n += extends(s->entries[i].msg->extension[k], en->name);
  }
  *out = NULL;
  *n_out = 0;
  if (n == 0) return 0;
  field_src *src = rs__alloc(s->backing, n * sizeof *src);
  if (src == NULL) return oom(s, err);
  size_t j = 0;
  for (size_t i = 0; i < m->n_field; i++)
    src[j++] = (field_src){m->field[i], en->name,    m->field[i]->name,
                           en->feat,    en->edition, en->proto3,
                           false};
  for (size_t i = 0; parsed && i < set->n_file; i++) {
    const file_proto *f = set->file[i];
    int edition;
    const char *why;
    if (rs__file_edition(f, &edition, &why) != 0) continue;
    rs__features feat;
    rs__features_of_file(&feat, f, edition);
    const char *pkg = f->package != NULL ? f->package : "";
    for (size_t k = 0; k < f->n_extension; k++) {
      const field_proto *x = f->extension[k];
      if (!extends(x, en->name)) continue;
      char *name = ext_name(s, pkg, x);
      if (name == NULL) {
        rs__free(s->backing, src);
        return oom(s, err);
      }
      src[j++] = (field_src){
          x, pkg, name, feat, edition, edition == RS__EDITION_PROTO3, true};
    }
  }
  for (size_t i = 0; parsed && i < s->n; i++) {
    const entry *e = &s->entries[i];
    for (size_t k = 0; !e->is_enum && k < e->msg->n_extension; k++) {
      const field_proto *x = e->msg->extension[k];
      if (!extends(x, en->name)) continue;
      char *name = ext_name(s, e->name, x);
      if (name == NULL) {
        rs__free(s->backing, src);
        return oom(s, err);
      }
      src[j++] =
          (field_src){x, e->name, name, e->feat, e->edition, e->proto3, true};
    }
  }
  *out = src;
  *n_out = j;
  return 0;
}

static int build_message(rs_schema *s, entry *en, bool parsed, rs_error *err) {
  const msg_proto *m = en->msg;
  const char *fname = en->file->name;
  if (m->options != NULL && m->options->has_message_set_wire_format &&
      m->options->message_set_wire_format)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "%s: %s: message %s uses message_set_wire_format, which "
                    "protobuf-c cannot read",
                    s->what, fname, en->name);
  bool map_entry =
      m->options != NULL && m->options->has_map_entry && m->options->map_entry;
  field_src *src = NULL;
  size_t n = 0;
  int rc = field_sources(s, en, parsed, &src, &n, err);
  if (rc != 0) return rc;
  if (n > RS_SCHEMA_MAX_FIELDS) {
    rs__free(s->backing, src);
    return rs__fail(err, RS_ELIMIT, RS_OFFSET_NONE,
                    "%s: %s: message %s has %zu fields%s, more than %d",
                    s->what, fname, en->name, n,
                    parsed ? " and extensions" : "", RS_SCHEMA_MAX_FIELDS);
  }
  ProtobufCFieldDescriptor *fields = n ? zalloc(s, n * sizeof *fields) : NULL;
  int *oneof_of = n ? rs__alloc(s->backing, n * sizeof *oneof_of) : NULL;
  int64_t *ids = n ? rs__alloc(s->backing, n * sizeof *ids) : NULL;
  unsigned *by_name = n ? zalloc(s, n * sizeof *by_name) : NULL;
  name_idx *names = n ? rs__alloc(s->backing, n * sizeof *names) : NULL;
  if (n && (fields == NULL || oneof_of == NULL || ids == NULL ||
            by_name == NULL || names == NULL)) {
    rc = oom(s, err);
    goto done;
  }

  size_t off = sizeof(ProtobufCMessage), max_align = alignof(ProtobufCMessage);
  size_t xoff = 0, xalign = 1;
  for (size_t i = 0; i < n && rc == 0; i++) {
    const field_src *fs = &src[i];
    const field_proto *f = fs->f;
    const int edition = fs->edition;
    const bool proto3 = fs->proto3;
    /* Extensions are laid out after everything else (below), so that a
     * message read with them has the layout of the one read without. */
    size_t *lo = fs->ext ? &xoff : &off, *la = fs->ext ? &xalign : &max_align;
    ProtobufCFieldDescriptor *fd = &fields[i];
    char fwhere[400];
    snprintf(fwhere, sizeof fwhere, "%s: %s: message %s, %s %s(%d)", s->what,
             fname, en->name, fs->ext ? "extension" : "field",
             f->name ? f->name : "?", f->number);
#define FAIL(code, ...)                                               \
  do {                                                                \
    char why_[200];                                                   \
    snprintf(why_, sizeof why_, __VA_ARGS__);                         \
    rc = rs__fail(err, code, RS_OFFSET_NONE, "%s: %s", fwhere, why_); \
    goto done;                                                        \
  } while (0)
    if (!valid_ident(f->name)) FAIL(RS_EINVAL, "invalid field name");
    if (!f->has_number || f->number < 1 || f->number > RS__MAX_FIELD_NUMBER)
      FAIL(RS_EINVAL, "field number %d is outside 1..%d", f->number,
           RS__MAX_FIELD_NUMBER);
    if (f->number >= RS__FIRST_RESERVED && f->number <= RS__LAST_RESERVED)
      FAIL(RS_EINVAL, "field numbers %d..%d are reserved by protobuf",
           RS__FIRST_RESERVED, RS__LAST_RESERVED);
    if (!fs->ext && f->extendee != NULL && f->extendee[0] != '\0')
      FAIL(RS_EINVAL, "an extension among the fields");
    bool type_ok = true;
    ProtobufCType t = PROTOBUF_C_TYPE_INT32;
    /* The field's features: its message's, then its oneof's, then its
     * own (editions); proto2 and proto3 files set none. */
    rs__features ff = fs->feat;
    if (rs__is_editions(edition)) {
      if (!fs->ext && f->has_oneof_index && f->oneof_index >= 0 &&
          (size_t)f->oneof_index < m->n_oneof_decl)
        rs__features_merge(
            &ff,
            (const ProtobufCMessage *)m->oneof_decl[f->oneof_index]->options,
            RS__FEATURES_OF_ONEOF);
      rs__features_merge(&ff, (const ProtobufCMessage *)f->options,
                         RS__FEATURES_OF_FIELD);
      if (f->has_label &&
          f->label ==
              GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REQUIRED)
        FAIL(RS_EINVAL,
             "label required in an editions file (field_presence = "
             "LEGACY_REQUIRED says it)");
    }
    /* A proto2 group is a message field written with start- and end-group
     * tags (wire types 3 and 4): what editions call DELIMITED. */
    bool delimited = false;
    if (f->has_type &&
        f->type == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP) {
      if (rs__is_editions(edition) || proto3)
        FAIL(RS_EINVAL, "TYPE_GROUP outside proto2");
      delimited = true;
      t = PROTOBUF_C_TYPE_MESSAGE;
    } else if (f->has_type) {
      t = map_type(f->type, &type_ok);
    }
    if (!type_ok) FAIL(RS_EINVAL, "unknown field type %d", (int)f->type);
    if (!f->has_type || t == PROTOBUF_C_TYPE_MESSAGE ||
        t == PROTOBUF_C_TYPE_ENUM) {
      if (delimited) t = PROTOBUF_C_TYPE_MESSAGE;
      if (!valid_type_name(f->type_name))
        FAIL(RS_EINVAL, "bad type name '%.80s'",
             f->type_name ? f->type_name : "");
      entry *target = resolve(s, fs->scope, f->type_name);
      if (target == NULL) FAIL(RS_EINVAL, "unknown type %.120s", f->type_name);
      if (f->has_type && (t == PROTOBUF_C_TYPE_ENUM) != target->is_enum)
        FAIL(RS_EINVAL, "type %s is %s, not %s", target->name,
             target->is_enum ? "an enum" : "a message",
             t == PROTOBUF_C_TYPE_ENUM ? "an enum" : "a message");
      t = target->is_enum ? PROTOBUF_C_TYPE_ENUM : PROTOBUF_C_TYPE_MESSAGE;
      if (delimited && target->is_enum)
        FAIL(RS_EINVAL, "a group of enum type %s", target->name);
      /* An enum is closed in a proto2 file, open in a proto3 one, and as
       * its enum_type feature says in an editions file: what a reader's
       * runtime does with a number it lacks. */
      if (target->is_enum)
        fd->reserved_flags |= target->feat.enum_type == RS__ENUM_CLOSED
                                  ? RS_FIELD_FLAG_CLOSED_ENUM
                                  : RS_FIELD_FLAG_OPEN_ENUM;
      if (!target->is_enum && ff.encoding == RS__ENCODING_DELIMITED &&
          !(f->options != NULL && f->options->has_lazy && f->options->lazy))
        delimited = true;
      if (delimited && !target->is_enum)
        fd->reserved_flags |= RS_FIELD_FLAG_DELIMITED;
      fd->descriptor = target->is_enum ? (const void *)target->ed
                       : parsed        ? (const void *)target->mdx
                                       : (const void *)target->md;
    }
    int label =
        f->has_label
            ? (int)f->label
            : GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_OPTIONAL;
    bool synthetic = f->has_proto3_optional && f->proto3_optional;
    int oneof = -1;
    if (!fs->ext && f->has_oneof_index) {
      if (f->oneof_index < 0 || (size_t)f->oneof_index >= m->n_oneof_decl)
        FAIL(RS_EINVAL, "oneof index %d is out of range (%zu oneofs)",
             f->oneof_index, m->n_oneof_decl);
      if (!synthetic) oneof = f->oneof_index;
    }
    if (oneof >= 0 &&
        label !=
            GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_OPTIONAL)
      FAIL(RS_EINVAL, "a oneof member must be optional");
    if (rs__is_editions(edition)) fd->reserved_flags |= RS_FIELD_FLAG_EDITIONS;
    fd->name = fs->name;
    fd->id = (uint32_t)f->number;
    fd->type = t;
    if (f->options != NULL && f->options->has_deprecated &&
        f->options->deprecated)
      fd->flags |= PROTOBUF_C_FIELD_FLAG_DEPRECATED;
    if (t == PROTOBUF_C_TYPE_STRING)
      fd->reserved_flags |= ff.utf8 == RS__UTF8_VERIFY ? RS_FIELD_FLAG_UTF8
                                                       : RS_FIELD_FLAG_NO_UTF8;
    oneof_of[i] = oneof;
    size_t vsize, valign;
    value_layout(t, &vsize, &valign);
    switch (label) {
      case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED: {
        fd->label = PROTOBUF_C_LABEL_REPEATED;
        bool packed = ff.repeated == RS__REPEATED_PACKED && is_packable(t);
        if (f->options != NULL && f->options->has_packed &&
            !rs__is_editions(edition))
          packed = f->options->packed && is_packable(t);
        if (packed) fd->flags |= PROTOBUF_C_FIELD_FLAG_PACKED;
        fd->quantifier_offset =
            (unsigned)place(lo, la, sizeof(size_t), alignof(size_t));
        fd->offset = (unsigned)place(lo, la, sizeof(void *), alignof(void *));
        break;
      }
      case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REQUIRED:
        if (proto3)
          FAIL(RS_EINVAL, "required fields are not allowed in proto3");
        fd->label = PROTOBUF_C_LABEL_REQUIRED;
        fd->offset = (unsigned)place(lo, la, vsize, valign);
        break;
      case GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_OPTIONAL:
        if (rs__is_editions(edition) && oneof < 0 && !map_entry &&
            ff.presence == RS__PRESENCE_LEGACY_REQUIRED) {
          /* Still required: a reader fails a record without it. */
          fd->label = PROTOBUF_C_LABEL_REQUIRED;
          fd->offset = (unsigned)place(lo, la, vsize, valign);
        } else if (oneof >= 0) {
          /* Placed with its oneof below. */
          fd->label =
              proto3 ? PROTOBUF_C_LABEL_NONE : PROTOBUF_C_LABEL_OPTIONAL;
          fd->flags |= PROTOBUF_C_FIELD_FLAG_ONEOF;
        } else if ((!proto3 && !rs__is_editions(edition)) || fs->ext ||
                   synthetic || map_entry ||
                   (rs__is_editions(edition) &&
                    (ff.presence != RS__PRESENCE_IMPLICIT ||
                     t == PROTOBUF_C_TYPE_MESSAGE))) {
          fd->label = PROTOBUF_C_LABEL_OPTIONAL;
          if (map_entry && proto3)
            fd->reserved_flags |= RS_FIELD_FLAG_NO_PRESENCE;
          if (t != PROTOBUF_C_TYPE_STRING && t != PROTOBUF_C_TYPE_MESSAGE)
            fd->quantifier_offset =
                (unsigned)place(lo, la, sizeof(protobuf_c_boolean),
                                alignof(protobuf_c_boolean));
          fd->offset = (unsigned)place(lo, la, vsize, valign);
        } else {
          fd->label = PROTOBUF_C_LABEL_NONE;
          fd->offset = (unsigned)place(lo, la, vsize, valign);
        }
        break;
      default:
        FAIL(RS_EINVAL, "unknown label %d", label);
    }
    /* Defaults: proto3 strings read as "" (protoc-c's
     * protobuf_c_empty_string); proto2 explicit defaults, and the first
     * value of an enum when it is not 0. */
    if (fd->label == PROTOBUF_C_LABEL_NONE && t == PROTOBUF_C_TYPE_STRING &&
        oneof < 0) {
      fd->default_value = protobuf_c_empty_string;
    } else if (!proto3 && oneof < 0 && fd->label != PROTOBUF_C_LABEL_REPEATED) {
      if (f->default_value != NULL) {
        rc = make_default(s, fd, f->default_value, err);
        if (rc == RS_EINVAL)
          FAIL(RS_EINVAL, "invalid default value '%.40s'", f->default_value);
        if (rc != 0) goto done;
      } else if (t == PROTOBUF_C_TYPE_ENUM &&
                 fd->label != PROTOBUF_C_LABEL_REQUIRED) {
        /* protoc-c's message_init starts an enum at its first value, but
         * its descriptor has no default_value unless the .proto gives one:
         * protobuf-c takes a required field with a default as present, so
         * a required enum gets none (a record without it fails, as with
         * generated code). */
        const entry *ee = find_entry(
            s, ((const ProtobufCEnumDescriptor *)fd->descriptor)->name);
        const enum_proto *ep = ee != NULL ? ee->en : NULL;
        if (ep != NULL && ep->n_value > 0 && ep->value[0]->number != 0) {
          int *p = zalloc(s, sizeof *p);
          if (p == NULL) {
            rc = oom(s, err);
            goto done;
          }
          *p = ep->value[0]->number;
          fd->default_value = p;
        }
      }
    }
    ids[i] = fd->id;
  }
#undef FAIL

  /* Each real oneof: a case member (a C enum: 4 bytes), then one union. */
  for (size_t o = 0; o < m->n_oneof_decl; o++) {
    size_t usize = 0, ualign = 1;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
      if (oneof_of[i] != (int)o) continue;
      size_t vs, va;
      value_layout(fields[i].type, &vs, &va);
      if (vs > usize) usize = vs;
      if (va > ualign) ualign = va;
      any = true;
    }
    if (!any) continue; /* a synthetic oneof: no C member */
    size_t case_at =
        place(&off, &max_align, sizeof(uint32_t), alignof(uint32_t));
    size_t union_at = place(&off, &max_align, usize, ualign);
    for (size_t i = 0; i < n; i++) {
      if (oneof_of[i] != (int)o) continue;
      fields[i].quantifier_offset = (unsigned)case_at;
      fields[i].offset = (unsigned)union_at;
    }
  }
  if (xoff > 0) {
    size_t base = (off + xalign - 1) / xalign * xalign;
    for (size_t i = 0; i < n; i++) {
      if (!src[i].ext) continue;
      ProtobufCFieldDescriptor *fd = &fields[i];
      fd->offset += (unsigned)base;
      if (fd->label == PROTOBUF_C_LABEL_REPEATED ||
          (fd->label == PROTOBUF_C_LABEL_OPTIONAL &&
           fd->type != PROTOBUF_C_TYPE_STRING &&
           fd->type != PROTOBUF_C_TYPE_MESSAGE))
        fd->quantifier_offset += (unsigned)base;
    }
    off = base + xoff;
    if (xalign > max_align) max_align = xalign;
  }
  off = (off + max_align - 1) / max_align * max_align;

  /* Sorted by number; numbers and names unique. */
  if (n > 0) qsort(fields, n, sizeof *fields, cmp_field_id);
  for (size_t i = 0; i < n; i++) {
    ids[i] = fields[i].id;
    if (i > 0 && fields[i].id == fields[i - 1].id) {
      rc = rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "%s: %s: message %s: field number %u is used by %s and %s",
                    s->what, fname, en->name, (unsigned)fields[i].id,
                    fields[i - 1].name, fields[i].name);
      goto done;
    }
    names[i].name = fields[i].name;
    names[i].index = (unsigned)i;
  }
  if (n > 0) qsort(names, n, sizeof *names, cmp_name_idx);
  for (size_t i = 0; i < n; i++) {
    by_name[i] = names[i].index;
    if (i > 0 && strcmp(names[i - 1].name, names[i].name) == 0) {
      rc = rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "%s: %s: message %s: field name %s is used twice", s->what,
                    fname, en->name, names[i].name);
      goto done;
    }
  }
  unsigned n_ranges = 0;
  ProtobufCIntRange *ranges = make_ranges(s, ids, (unsigned)n, &n_ranges);
  if (ranges == NULL) {
    rc = oom(s, err);
    goto done;
  }
  ProtobufCMessageDescriptor *d = parsed ? en->mdx : en->md;
  const char *dot = strrchr(en->name, '.');
  d->magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC;
  d->name = en->name;
  d->short_name = dot ? dot + 1 : en->name;
  d->c_name = en->name;
  d->package_name = en->file->package ? en->file->package : "";
  d->sizeof_message = off;
  d->n_fields = (unsigned)n;
  d->fields = n ? fields : NULL;
  d->fields_sorted_by_name = n ? by_name : NULL;
  d->n_field_ranges = n_ranges;
  d->field_ranges = ranges;
  d->message_init = NULL;
done:
  rs__free(s->backing, src);
  rs__free(s->backing, oneof_of);
  rs__free(s->backing, ids);
  rs__free(s->backing, names);
  return rc;
}

/* ---- the schema
 * ---------------------------------------------------------------- */

static int cmp_md_name(const void *x, const void *y) {
  return strcmp((*(const ProtobufCMessageDescriptor *const *)x)->name,
                (*(const ProtobufCMessageDescriptor *const *)y)->name);
}

static int build(rs_schema *s, rs_error *err) {
  int rc = collect(s, err);
  if (rc != 0) return rc;
  /* Descriptors take several times the bytes of their serialized form:
   * bound the total, whatever the set's size. */
  size_t total = 0;
  for (size_t i = 0; i < s->n; i++)
    total += s->entries[i].is_enum ? s->entries[i].en->n_value
                                   : s->entries[i].msg->n_field;
  if (total > RS_SCHEMA_MAX_TOTAL_FIELDS)
    return rs__fail(err, RS_ELIMIT, RS_OFFSET_NONE,
                    "%s: %zu fields and enum values, more than %d", s->what,
                    total, RS_SCHEMA_MAX_TOTAL_FIELDS);
  /* Every descriptor exists before any is filled in: fields point at
   * descriptors of types declared anywhere, themselves included. */
  size_t n_messages = 0;
  for (size_t i = 0; i < s->n; i++) {
    entry *e = &s->entries[i];
    if (e->is_enum) {
      if ((e->ed = zalloc(s, sizeof *e->ed)) == NULL) return oom(s, err);
    } else {
      if ((e->md = zalloc(s, sizeof *e->md)) == NULL) return oom(s, err);
      n_messages++;
    }
  }
  for (size_t i = 0; i < s->n && rc == 0; i++)
    if (s->entries[i].is_enum) rc = build_enum(s, &s->entries[i], err);
  for (size_t i = 0; i < s->n && rc == 0; i++)
    if (!s->entries[i].is_enum)
      rc = build_message(s, &s->entries[i], false, err);
  if (rc != 0) return rc;
  /* The same types as a runtime that parses extensions reads them (C++,
   * Go, Python; Java with an ExtensionRegistry): built only when the set
   * extends one of its messages. */
  if (any_extension(s)) {
    for (size_t i = 0; i < s->n; i++)
      if (!s->entries[i].is_enum &&
          (s->entries[i].mdx = zalloc(s, sizeof *s->entries[i].mdx)) == NULL)
        return oom(s, err);
    for (size_t i = 0; i < s->n && rc == 0; i++)
      if (!s->entries[i].is_enum)
        rc = build_message(s, &s->entries[i], true, err);
    if (rc != 0) return rc;
    s->extended = true;
  }
  s->messages = zalloc(s, n_messages * sizeof *s->messages);
  if (s->messages == NULL) return oom(s, err);
  for (size_t i = 0; i < s->n; i++)
    if (!s->entries[i].is_enum) s->messages[s->n_messages++] = s->entries[i].md;
  if (s->n_messages > 1)
    qsort(s->messages, s->n_messages, sizeof *s->messages, cmp_md_name);
  return 0;
}

/*
 * A long path as messages show it: "..." and its last two components, so
 * that the file, message and field still fit in rs_error's message.
 * Returns the tail to show after "...", or NULL to show the path whole.
 */
#define RS__WHAT_MAX 60
static const char *long_path_tail(const char *what) {
  size_t n = strlen(what);
  if (n <= RS__WHAT_MAX) return NULL;
  int slashes = 0;
  for (const char *p = what + n; p > what;)
    if (*--p == '/' && ++slashes == 2) return p;
  return NULL;
}

static int from_set(rs_schema **out, Google__Protobuf__FileDescriptorSet *set,
                    const char *what, const rs_schema_options *o,
                    rs_error *err) {
  const ProtobufCAllocator *backing =
      rs__allocator_or_default(o != NULL ? o->allocator : NULL);
  rs_schema *s = rs__alloc(backing, sizeof *s);
  if (s == NULL) {
    rs__descset_free(set);
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "%s: out of memory", what);
  }
  s->backing = backing;
  s->set = set;
  s->what = what;
  int rc = rs_arena_new(&s->arena, 0, backing, NULL);
  if (rc != 0) {
    rc = rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "%s: out of memory", what);
  } else {
    s->a = rs_arena_allocator(s->arena);
    const char *tail = long_path_tail(what);
    char *w = tail != NULL ? rs__sprintf(s->a, "...%s", tail)
                           : rs__strdup(s->a, what);
    if (w == NULL)
      rc = oom(s, err);
    else
      s->what = w;
    if (rc == 0) rc = build(s, err);
  }
  if (rc != 0) {
    rs_schema_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

static int check_options(const rs_schema_options *o, rs_error *err) {
  if (o != NULL && o->version != RS_SCHEMA_OPTIONS_VERSION)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_schema_options.version is %u; this library knows %d",
                    o->version, RS_SCHEMA_OPTIONS_VERSION);
  return 0;
}

int rs_schema_load(rs_schema **out, const char *path,
                   const rs_schema_options *options, rs_error *err) {
  if (out != NULL) *out = NULL;
  if (out == NULL || path == NULL)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_schema_load: out and path are required");
  int rc = check_options(options, err);
  if (rc != 0) return rc;
  Google__Protobuf__FileDescriptorSet *set = NULL;
  rc = rs__descset_load(&set, path,
                        options != NULL ? options->include_dirs : NULL, err);
  if (rc != 0) return rc;
  return from_set(out, set, path, options, err);
}

int rs_schema_from_bytes(rs_schema **out, const uint8_t *buf, size_t len,
                         const char *what, const rs_schema_options *options,
                         rs_error *err) {
  if (out != NULL) *out = NULL;
  if (out == NULL || (buf == NULL && len > 0))
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_schema_from_bytes: out and buf are required");
  if (what == NULL) what = "descriptor set";
  int rc = check_options(options, err);
  if (rc != 0) return rc;
  Google__Protobuf__FileDescriptorSet *set = NULL;
  rc = rs__descset_parse(&set, buf, len, what, err);
  if (rc != 0) return rc;
  return from_set(out, set, what, options, err);
}

void rs_schema_free(rs_schema *s) {
  if (s == NULL) return;
  rs__descset_free(s->set);
  rs__free(s->backing, s->entries);
  rs_arena_free(s->arena);
  rs__free(s->backing, s);
}

size_t rs_schema_message_count(const rs_schema *s) {
  return s != NULL ? s->n_messages : 0;
}

const ProtobufCMessageDescriptor *rs_schema_message_at(const rs_schema *s,
                                                       size_t i) {
  return s != NULL && i < s->n_messages ? s->messages[i] : NULL;
}

const ProtobufCMessageDescriptor *rs_schema_message(const rs_schema *s,
                                                    const char *name) {
  if (s == NULL || name == NULL) return NULL;
  const entry *e = find_entry(s, name[0] == '.' ? name + 1 : name);
  return e != NULL && !e->is_enum ? e->md : NULL;
}

const ProtobufCEnumDescriptor *rs_schema_enum(const rs_schema *s,
                                              const char *name) {
  if (s == NULL || name == NULL) return NULL;
  const entry *e = find_entry(s, name[0] == '.' ? name + 1 : name);
  return e != NULL && e->is_enum ? e->ed : NULL;
}

/* v1, v2, v10, v1beta1, v2alpha: a package component that names a version. */
static bool version_component(const char *p, size_t n) {
  if (n < 2 || p[0] != 'v' || !isdigit((unsigned char)p[1])) return false;
  size_t i = 1;
  while (i < n && isdigit((unsigned char)p[i])) i++;
  while (i < n && isalpha((unsigned char)p[i])) i++;
  while (i < n && isdigit((unsigned char)p[i])) i++;
  return i == n;
}

void rs__unversioned_name(const char *name, char *out, size_t cap) {
  size_t k = 0;
  const char *p = name[0] == '.' ? name + 1 : name;
  for (;;) {
    size_t n = strcspn(p, ".");
    bool last = p[n] == '\0';
    if (last || !version_component(p, n)) {
      if (k > 0 && k + 1 < cap) out[k++] = '.';
      for (size_t i = 0; i < n && k + 1 < cap; i++) out[k++] = p[i];
    }
    if (last) break;
    p += n + 1;
  }
  out[k] = '\0';
}

int rs_schema_find_message(const ProtobufCMessageDescriptor **out,
                           const rs_schema *s, const char *name,
                           rs_error *err) {
  if (out != NULL) *out = NULL;
  if (out == NULL || s == NULL || name == NULL)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_schema_find_message: out, schema and name are "
                    "required");
  const ProtobufCMessageDescriptor *d = rs_schema_message(s, name);
  if (d != NULL) {
    *out = d;
    return 0;
  }
  char want[512], have[512];
  rs__unversioned_name(name, want, sizeof want);
  const ProtobufCMessageDescriptor *hit = NULL, *other = NULL;
  for (size_t i = 0; i < s->n_messages; i++) {
    rs__unversioned_name(s->messages[i]->name, have, sizeof have);
    if (strcmp(want, have) != 0) continue;
    if (hit == NULL)
      hit = s->messages[i];
    else if (other == NULL)
      other = s->messages[i];
  }
  if (hit != NULL && other == NULL) {
    *out = hit;
    return 0;
  }
  if (other != NULL)
    return rs__fail(err, RS_ENOTFOUND, RS_OFFSET_NONE,
                    "%s: message %s is ambiguous (%s, %s, ...): give its full "
                    "name",
                    s->what, name, hit->name, other->name);
  return rs__fail(err, RS_ENOTFOUND, RS_OFFSET_NONE,
                  "%s: no message %s among its %zu message types", s->what,
                  name, s->n_messages);
}

void rs_message_init(const ProtobufCMessageDescriptor *d, ProtobufCMessage *m) {
  if (d->message_init != NULL) {
    d->message_init(m);
    return;
  }
  /* protobuf-c's own initialisation of a message without message_init. */
  memset(m, 0, d->sizeof_message);
  m->descriptor = d;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->default_value == NULL || f->label == PROTOBUF_C_LABEL_REPEATED)
      continue;
    void *member = (char *)m + f->offset;
    size_t size, align;
    value_layout(f->type, &size, &align);
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE)
      memcpy(member, &f->default_value, sizeof(void *));
    else
      memcpy(member, f->default_value, size);
  }
}

int rs_schema_register(rs_registry_builder *b, const char *type,
                       const rs_schema *const *schemas, size_t n,
                       const char *message, rs_error *err) {
  if (b == NULL || type == NULL || (schemas == NULL && n > 0) || n == 0)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_schema_register: builder, type and at least one "
                    "schema are required");
  if (message == NULL) message = type;
  /* Where a schema extends its messages, every version is registered a
   * second time as a runtime that parses extensions reads it. */
  bool extended = false;
  for (size_t i = 0; i < n; i++) extended = extended || schemas[i]->extended;
  for (size_t i = 0; i < n; i++) {
    const ProtobufCMessageDescriptor *d = NULL;
    rs_encoding enc = i == 0 ? RS_ENCODING_RAW : RS_ENCODING_ENVELOPE;
    int rc = rs_schema_find_message(&d, schemas[i], message, err);
    if (rc == 0)
      rc = rs_registry_builder_add_version(b, type, (unsigned)i + 1, d, enc,
                                           err);
    if (rc == 0 && extended) {
      const entry *e = find_entry(schemas[i], d->name);
      rc = rs__registry_builder_add_parsed(
          b, type, (unsigned)i + 1,
          schemas[i]->extended && e != NULL ? e->mdx : d, enc, err);
    }
    if (rc != 0) return rc;
  }
  return 0;
}
