/* Registry of record types, versions, converters and moved fields. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct rs_registry_builder {
  rs_registry reg; /* filled in place, frozen by rs_registry_build */
};

#define RS__MAX_VERSION 1000u

const char *rs_encoding_name(rs_encoding e) {
  switch (e) {
    case RS_ENCODING_RAW:
      return "raw";
    case RS_ENCODING_ENVELOPE:
      return "envelope";
    case RS_ENCODING_CONFLUENT:
      return "confluent";
    default:
      return "unknown";
  }
}

int rs_registry_builder_new(rs_registry_builder **out,
                            const ProtobufCAllocator *allocator,
                            rs_error *err) {
  if (out == NULL)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_registry_builder_new: out is NULL");
  *out = NULL;
  const ProtobufCAllocator *a = rs__allocator_or_default(allocator);
  rs_registry_builder *b = rs__alloc(a, sizeof *b);
  if (b == NULL)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "registry: out of memory");
  b->reg.a = a;
  *out = b;
  return 0;
}

static void free_types(rs_registry *r) {
  for (size_t i = 0; i < r->n_types; i++) {
    rs__type *t = &r->types[i];
    for (size_t j = 0; j < t->n_convs; j++)
      rs__free(r->a, (void *)t->convs[j].c.handled_fields);
    rs__free(r->a, t->convs);
    for (size_t j = 0; j < t->n_versions; j++) {
      rs__qplans_free(t->versions[j].plans, r->a);
    }
    rs__free(r->a, t->versions);
    rs__free(r->a, t->moves);
    for (size_t j = 0; j < t->n_enum_maps; j++) {
      rs__free(r->a, t->enum_maps[j].enum_name);
      rs__free(r->a, t->enum_maps[j].from);
      rs__free(r->a, t->enum_maps[j].to);
    }
    rs__free(r->a, t->enum_maps);
    rs__free(r->a, t->name);
  }
  rs__free(r->a, r->types);
  if (r->parsed != NULL) {
    free_types(r->parsed);
    rs__free(r->a, r->parsed);
  }
}

void rs_registry_builder_free(rs_registry_builder *b) {
  if (b == NULL) return;
  free_types(&b->reg);
  rs__free(b->reg.a, b);
}

void rs_registry_free(rs_registry *r) {
  if (r == NULL) return;
  free_types(r);
  rs__free(r->a, r);
}

/* Grows an array of elem-sized items to hold one more. */
static int grow(const ProtobufCAllocator *a, void **items, size_t n,
                size_t *cap, size_t elem) {
  if (n < *cap) return 0;
  size_t ncap = *cap ? *cap * 2 : 4;
  void *p = rs__alloc(a, ncap * elem);
  if (p == NULL) return RS_ENOMEM;
  if (n) memcpy(p, *items, n * elem);
  rs__free(a, *items);
  *items = p;
  *cap = ncap;
  return 0;
}

static size_t type_index(const rs_registry *r, const char *name, bool *found) {
  size_t lo = 0, hi = r->n_types;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(r->types[mid].name, name);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = false;
  return lo;
}

const rs__type *rs__registry_type(const rs_registry *r, const char *name) {
  if (r == NULL || name == NULL) return NULL;
  bool found;
  size_t i = type_index(r, name, &found);
  return found ? &r->types[i] : NULL;
}

const rs__type *rs__registry_type_for(const rs_registry *r, const char *name,
                                      const rs__rules *rules) {
  if (r != NULL && r->parsed != NULL && rules->extensions == RS__EXT_PARSED) {
    const rs__type *t = rs__registry_type(r->parsed, name);
    if (t != NULL) return t;
  }
  return rs__registry_type(r, name);
}

static int get_type(rs_registry *r, const char *name, rs__type **out,
                    rs_error *err) {
  bool found;
  size_t i = type_index(r, name, &found);
  if (!found) {
    char *copy = rs__strdup(r->a, name);
    if (copy == NULL || grow(r->a, (void **)&r->types, r->n_types,
                             &r->cap_types, sizeof *r->types) != 0) {
      rs__free(r->a, copy);
      return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE,
                      "registry: out of memory");
    }
    memmove(&r->types[i + 1], &r->types[i],
            (r->n_types - i) * sizeof *r->types);
    memset(&r->types[i], 0, sizeof *r->types);
    r->types[i].name = copy;
    r->n_types++;
  }
  *out = &r->types[i];
  return 0;
}

static int check_name(const char *type, rs_error *err) {
  if (type == NULL || type[0] == '\0' || strlen(type) > 256)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "record type name must be 1 to 256 characters");
  return 0;
}

/* See rs__version.static_depth. A chain of nested message types longer than
 * RS__STATIC_DEPTH_MAX is treated as recursive: it is, or may as well be.
 * So is a type graph too large to walk (*budget runs out): descriptors
 * built at run time may share sub-messages so widely that walking every
 * path would never end; 0 only means the depth is checked per record. */
#define RS__STATIC_DEPTH_MAX 64
#define RS__STATIC_DEPTH_BUDGET 100000
static unsigned static_depth(const ProtobufCMessageDescriptor *d,
                             unsigned level, unsigned *budget) {
  if (level > RS__STATIC_DEPTH_MAX || *budget == 0) return 0;
  --*budget;
  unsigned deepest = level;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
    unsigned sub = static_depth(f->descriptor, level + 1, budget);
    if (sub == 0) return 0;
    if (sub > deepest) deepest = sub;
  }
  return deepest;
}

/* Whether a field with any of `flags`, or of type `type` (-1: none), is
 * reachable from d: 1 or 0, each message type visited once, the first
 * RS__REACH_MAX types (beyond them, none is assumed); -1 out of memory. */
#define RS__REACH_MAX 20000
static int reaches_flag(const ProtobufCMessageDescriptor *d, uint32_t flags,
                        int type, const ProtobufCAllocator *a) {
  size_t cap = 16, n = 0, next = 0;
  const ProtobufCMessageDescriptor **seen = rs__alloc(a, cap * sizeof *seen);
  if (seen == NULL) return -1;
  seen[n++] = d;
  bool found = false;
  while (next < n && !found) {
    const ProtobufCMessageDescriptor *m = seen[next++];
    for (unsigned i = 0; i < m->n_fields && !found; i++) {
      const ProtobufCFieldDescriptor *f = &m->fields[i];
      if ((f->reserved_flags & flags) || (int)f->type == type) found = true;
      if (f->type != PROTOBUF_C_TYPE_MESSAGE) continue;
      bool known = false;
      for (size_t k = 0; k < n && !known; k++) known = seen[k] == f->descriptor;
      if (known || n >= RS__REACH_MAX) continue;
      if (n == cap) {
        const ProtobufCMessageDescriptor **grown =
            rs__alloc(a, 2 * cap * sizeof *grown);
        if (grown == NULL) {
          rs__free(a, seen);
          return -1;
        }
        memcpy(grown, seen, n * sizeof *seen);
        rs__free(a, seen);
        seen = grown;
        cap *= 2;
      }
      seen[n++] = f->descriptor;
    }
  }
  rs__free(a, seen);
  return found ? 1 : 0;
}

int rs_registry_builder_add_version(rs_registry_builder *b, const char *type,
                                    unsigned version,
                                    const ProtobufCMessageDescriptor *desc,
                                    rs_encoding encoding, rs_error *err) {
  if (b == NULL || desc == NULL)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_registry_builder_add_version: builder and descriptor "
                    "are required");
  int rc = check_name(type, err);
  if (rc != 0) return rc;
  if (version == 0 || version > RS__MAX_VERSION)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "%s: format version %u is outside 1..%u", type, version,
                    RS__MAX_VERSION);
  if (desc->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "%s version %u: not a protobuf-c message descriptor", type,
                    version);
  if (encoding != RS_ENCODING_RAW && encoding != RS_ENCODING_ENVELOPE)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "%s version %u: unknown encoding %d", type, version,
                    (int)encoding);
  rs__type *t;
  if ((rc = get_type(&b->reg, type, &t, err)) != 0) return rc;
  for (size_t i = 0; i < t->n_versions; i++)
    if (t->versions[i].number == version)
      return rs__fail(err, RS_EEXISTS, RS_OFFSET_NONE,
                      "%s version %u is already declared", type, version);
  int groups = reaches_flag(desc, RS_FIELD_FLAG_DELIMITED, -1, b->reg.a);
  int editions = reaches_flag(desc, RS_FIELD_FLAG_EDITIONS, -1, b->reg.a);
  int strings = reaches_flag(desc, 0, PROTOBUF_C_TYPE_STRING, b->reg.a);
  if (groups < 0 || editions < 0 || strings < 0)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "registry: out of memory");
  rs__qplans *plans = NULL;
  if (grow(b->reg.a, (void **)&t->versions, t->n_versions, &t->cap_versions,
           sizeof *t->versions) != 0 ||
      rs__qplans_build(&plans, desc, b->reg.a) != 0)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "registry: out of memory");
  rs__version *v = &t->versions[t->n_versions++];
  v->plans = plans;
  v->number = version;
  v->desc = desc;
  v->encoding = encoding;
  unsigned budget = RS__STATIC_DEPTH_BUDGET;
  v->static_depth = static_depth(desc, 1, &budget);
  v->groups = groups == 1;
  v->editions = editions == 1;
  v->strings = strings == 1;
  rs__fingerprint(desc, v->fingerprint);
  return 0;
}

int rs__registry_builder_add_parsed(rs_registry_builder *b, const char *type,
                                    unsigned version,
                                    const ProtobufCMessageDescriptor *desc,
                                    rs_encoding encoding, rs_error *err) {
  if (b == NULL)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs__registry_builder_add_parsed: builder is NULL");
  if (b->reg.parsed == NULL) {
    rs_registry_builder *p = NULL;
    int rc = rs_registry_builder_new(&p, b->reg.a, err);
    if (rc != 0) return rc;
    /* The builder's first member is the registry (as rs_registry_build
     * hands it over). */
    b->reg.parsed = &p->reg;
  }
  return rs_registry_builder_add_version((rs_registry_builder *)b->reg.parsed,
                                         type, version, desc, encoding, err);
}

int rs_registry_builder_add_converter(rs_registry_builder *b, const char *type,
                                      const rs_converter *conv, rs_error *err) {
  if (b == NULL || conv == NULL || conv->fn == NULL)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_registry_builder_add_converter: builder, converter "
                    "and function are required");
  int rc = check_name(type, err);
  if (rc != 0) return rc;
  if (conv->version != RS_CONVERTER_VERSION)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_converter.version is %u; this library knows %d",
                    conv->version, RS_CONVERTER_VERSION);
  if (conv->from == conv->to || conv->from == 0 || conv->to == 0)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "%s: a converter needs two different versions (got %u to "
                    "%u)",
                    type, conv->from, conv->to);
  if (conv->n_handled_fields > 0 && conv->handled_fields == NULL)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "%s: handled_fields is NULL", type);
  rs__type *t;
  if ((rc = get_type(&b->reg, type, &t, err)) != 0) return rc;
  for (size_t i = 0; i < t->n_convs; i++)
    if (t->convs[i].c.from == conv->from && t->convs[i].c.to == conv->to)
      return rs__fail(err, RS_EEXISTS, RS_OFFSET_NONE,
                      "%s: a converter from version %u to %u exists", type,
                      conv->from, conv->to);
  uint32_t *handled = NULL;
  if (conv->n_handled_fields > 0) {
    handled = rs__alloc(b->reg.a, conv->n_handled_fields * sizeof *handled);
    if (handled == NULL)
      return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE,
                      "registry: out of memory");
    memcpy(handled, conv->handled_fields,
           conv->n_handled_fields * sizeof *handled);
  }
  if (grow(b->reg.a, (void **)&t->convs, t->n_convs, &t->cap_convs,
           sizeof *t->convs) != 0) {
    rs__free(b->reg.a, handled);
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "registry: out of memory");
  }
  rs__conv *c = &t->convs[t->n_convs++];
  c->c = *conv;
  c->c.handled_fields = handled;
  return 0;
}

int rs_registry_builder_add_moved_field(rs_registry_builder *b,
                                        const char *type,
                                        unsigned writer_version,
                                        uint32_t writer_field,
                                        unsigned reader_version,
                                        uint32_t reader_field, rs_error *err) {
  if (b == NULL)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_registry_builder_add_moved_field: builder is NULL");
  int rc = check_name(type, err);
  if (rc != 0) return rc;
  if (writer_version <= reader_version || writer_field == 0 ||
      reader_field == 0)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "%s: a moved field goes from an older reader version to a "
                    "newer writer version, with non-zero field numbers",
                    type);
  rs__type *t;
  if ((rc = get_type(&b->reg, type, &t, err)) != 0) return rc;
  if (grow(b->reg.a, (void **)&t->moves, t->n_moves, &t->cap_moves,
           sizeof *t->moves) != 0)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "registry: out of memory");
  rs__move *m = &t->moves[t->n_moves++];
  m->writer_version = writer_version;
  m->writer_field = writer_field;
  m->reader_version = reader_version;
  m->reader_field = reader_field;
  return 0;
}

int rs_registry_builder_add_enum_map(rs_registry_builder *b, const char *type,
                                     const char *enum_name,
                                     const char *from_value,
                                     const char *to_value, rs_error *err) {
  if (b == NULL || enum_name == NULL || from_value == NULL ||
      to_value == NULL || enum_name[0] == '\0' || from_value[0] == '\0' ||
      to_value[0] == '\0')
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_registry_builder_add_enum_map: builder, enum and "
                    "value names are required");
  int rc = check_name(type, err);
  if (rc != 0) return rc;
  if (enum_name[0] == '.') enum_name++;
  rs__type *t;
  if ((rc = get_type(&b->reg, type, &t, err)) != 0) return rc;
  for (size_t i = 0; i < t->n_enum_maps; i++)
    if (strcmp(t->enum_maps[i].enum_name, enum_name) == 0 &&
        strcmp(t->enum_maps[i].from, from_value) == 0)
      return rs__fail(err, RS_EEXISTS, RS_OFFSET_NONE,
                      "%s: %s.%s is already mapped (to %s)", type, enum_name,
                      from_value, t->enum_maps[i].to);
  const ProtobufCAllocator *a = b->reg.a;
  char *e = rs__strdup(a, enum_name), *f = rs__strdup(a, from_value),
       *to = rs__strdup(a, to_value);
  if (e == NULL || f == NULL || to == NULL ||
      grow(a, (void **)&t->enum_maps, t->n_enum_maps, &t->cap_enum_maps,
           sizeof *t->enum_maps) != 0) {
    rs__free(a, e);
    rs__free(a, f);
    rs__free(a, to);
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "registry: out of memory");
  }
  rs__enum_map *m = &t->enum_maps[t->n_enum_maps++];
  m->enum_name = e;
  m->from = f;
  m->to = to;
  return 0;
}

/* rs__version's masks for version j of t, from its conflicts. */
static void version_masks(rs__type *t, size_t j) {
  rs__version *v = &t->versions[j];
  const ProtobufCMessageDescriptor *d = v->desc;
  v->masks = d->n_fields <= 64 && t->n_versions <= 64;
  if (!v->masks) return;
  for (size_t k = 0; k < v->n_conflicts; k++) {
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field(d, v->conflicts[k]);
    /* A field this version lacks is never in bytes it explains. */
    if (f != NULL) v->conflict_mask |= (uint64_t)1 << (size_t)(f - d->fields);
  }
  for (size_t k = 0; k < t->n_versions; k++) {
    bool never = false;
    if (k != j && !rs__explains_excludes(d, t->versions[k].desc,
                                         &v->excludes[k], &never)) {
      v->masks = false;
      return;
    }
    if (never) v->never |= (uint64_t)1 << k;
  }
}

static int cmp_version(const void *x, const void *y) {
  const rs__version *a = x, *b = y;
  return (a->number > b->number) - (a->number < b->number);
}

static int finish(rs_registry *r, rs_error *err);
static int finish_parsed(rs_registry *r, rs_error *err);

int rs_registry_build(rs_registry **out, rs_registry_builder *b,
                      rs_error *err) {
  if (out == NULL || b == NULL) {
    rs_registry_builder_free(b);
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_registry_build: out and builder are required");
  }
  *out = NULL;
  int rc = finish(&b->reg, err);
  if (rc == 0 && b->reg.parsed != NULL) rc = finish_parsed(&b->reg, err);
  if (rc != 0) {
    rs_registry_builder_free(b);
    return rc;
  }
  /* The builder's first member is the registry: hand it over as is. */
  *out = &b->reg;
  return 0;
}

/* Checks and completes r's types (rs_registry_build); 0 or RS_EINVAL. */
static int finish(rs_registry *r, rs_error *err) {
  for (size_t i = 0; i < r->n_types; i++) {
    rs__type *t = &r->types[i];
    qsort(t->versions, t->n_versions, sizeof *t->versions, cmp_version);
    int bad = t->n_versions == 0;
    for (size_t j = 0; j < t->n_versions && !bad; j++)
      if (t->versions[j].number != j + 1) bad = 1;
    if (bad) {
      rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
               "%s: format versions must run 1..N without gaps", t->name);
      return RS_EINVAL;
    }
    for (size_t j = 0; j < t->n_convs; j++) {
      const rs_converter *c = &t->convs[j].c;
      if (c->from > t->n_versions || c->to > t->n_versions) {
        rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                 "%s: converter from version %u to %u names an undeclared "
                 "version",
                 t->name, c->from, c->to);
        return RS_EINVAL;
      }
    }
    for (size_t j = 0; j < t->n_moves; j++) {
      if (t->moves[j].writer_version > t->n_versions) {
        rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                 "%s: moved field names undeclared version %u", t->name,
                 t->moves[j].writer_version);
        return RS_EINVAL;
      }
    }
    t->raw_agree = true;
    for (size_t j = 0; j < t->n_versions; j++) {
      rs__version *v = &t->versions[j];
      v->agrees = j < 64 ? (uint64_t)1 << j : 0;
    }
    for (size_t j = 0; j < t->n_versions; j++)
      for (size_t k = j + 1; k < t->n_versions; k++) {
        bool agree =
            rs__versions_agree(t->versions[j].desc, t->versions[k].desc) &&
            rs__versions_agree(t->versions[k].desc, t->versions[j].desc);
        if (!agree) t->raw_agree = false;
        if (agree && j < 64 && k < 64) {
          t->versions[j].agrees |= (uint64_t)1 << k;
          t->versions[k].agrees |= (uint64_t)1 << j;
        }
        if (agree || j >= 64 || k >= 64) continue;
        /* Which fields make them differ: both directions, into each
         * version's list (at most 32). */
        rs__version *vj = &t->versions[j], *vk = &t->versions[k];
        uint32_t a[32], b2[32];
        size_t na, nb;
        if (!rs__versions_conflicts(vj->desc, vk->desc, a, 32, &na) ||
            !rs__versions_conflicts(vk->desc, vj->desc, b2, 32, &nb))
          continue;
        bool room = true;
        for (int side = 0; side < 2 && room; side++) {
          rs__version *v = side == 0 ? vj : vk;
          for (size_t x = 0; x < na + nb && room; x++) {
            uint32_t num = x < na ? a[x] : b2[x - na];
            bool have = false;
            for (size_t y = 0; y < v->n_conflicts; y++)
              if (v->conflicts[y] == num) have = true;
            if (have) continue;
            if (v->n_conflicts == 32)
              room = false;
            else
              v->conflicts[v->n_conflicts++] = num;
          }
        }
        if (room) {
          vj->settles |= (uint64_t)1 << k;
          vk->settles |= (uint64_t)1 << j;
        }
      }
  }
  for (size_t i = 0; i < r->n_types; i++) {
    rs__type *t = &r->types[i];
    for (size_t j = 0; j < t->n_versions; j++) version_masks(t, j);
  }
  return 0;
}

/* Gives each parsed type its type's converters, moved fields and enum
 * maps, and completes them. 0, RS_EINVAL or RS_ENOMEM. */
static int finish_parsed(rs_registry *r, rs_error *err) {
  rs_registry_builder *p = (rs_registry_builder *)r->parsed;
  for (size_t i = 0; i < r->parsed->n_types; i++) {
    const char *name = r->parsed->types[i].name;
    const rs__type *t = rs__registry_type(r, name);
    if (t == NULL || t->n_versions != r->parsed->types[i].n_versions)
      return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                      "%s: its versions with extensions as fields are not "
                      "its versions",
                      name);
    int rc = 0;
    for (size_t j = 0; j < t->n_convs && rc == 0; j++) {
      rs_converter c = t->convs[j].c;
      rc = rs_registry_builder_add_converter(p, name, &c, err);
    }
    for (size_t j = 0; j < t->n_moves && rc == 0; j++)
      rc = rs_registry_builder_add_moved_field(
          p, name, t->moves[j].writer_version, t->moves[j].writer_field,
          t->moves[j].reader_version, t->moves[j].reader_field, err);
    for (size_t j = 0; j < t->n_enum_maps && rc == 0; j++)
      rc = rs_registry_builder_add_enum_map(p, name, t->enum_maps[j].enum_name,
                                            t->enum_maps[j].from,
                                            t->enum_maps[j].to, err);
    if (rc != 0) return rc;
  }
  return finish(r->parsed, err);
}

size_t rs_registry_builder_type_count(const rs_registry_builder *b) {
  return b != NULL ? rs_registry_type_count(&b->reg) : 0;
}

const char *rs_registry_builder_type_name(const rs_registry_builder *b,
                                          size_t i) {
  return b != NULL ? rs_registry_type_name(&b->reg, i) : NULL;
}

size_t rs_registry_type_count(const rs_registry *r) {
  return r != NULL ? r->n_types : 0;
}

const char *rs_registry_type_name(const rs_registry *r, size_t i) {
  return r != NULL && i < r->n_types ? r->types[i].name : NULL;
}

const rs__version *rs__type_version(const rs__type *t, unsigned v) {
  if (t == NULL || v == 0 || v > t->n_versions) return NULL;
  return &t->versions[v - 1];
}

const rs__conv *rs__type_converter(const rs__type *t, unsigned from,
                                   unsigned to) {
  for (size_t i = 0; t != NULL && i < t->n_convs; i++)
    if (t->convs[i].c.from == from && t->convs[i].c.to == to)
      return &t->convs[i];
  return NULL;
}

unsigned rs_registry_newest(const rs_registry *r, const char *type) {
  const rs__type *t = rs__registry_type(r, type);
  return t != NULL ? (unsigned)t->n_versions : 0;
}

const ProtobufCMessageDescriptor *rs_registry_descriptor(const rs_registry *r,
                                                         const char *type,
                                                         unsigned version) {
  const rs__version *v = rs__type_version(rs__registry_type(r, type), version);
  return v != NULL ? v->desc : NULL;
}

rs_encoding rs_registry_encoding(const rs_registry *r, const char *type,
                                 unsigned version) {
  const rs__version *v = rs__type_version(rs__registry_type(r, type), version);
  return v != NULL ? v->encoding : (rs_encoding)0;
}

const uint8_t *rs_registry_fingerprint(const rs_registry *r, const char *type,
                                       unsigned version) {
  const rs__version *v = rs__type_version(rs__registry_type(r, type), version);
  return v != NULL ? v->fingerprint : NULL;
}
