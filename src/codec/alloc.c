#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

static void *malloc_alloc(void *data, size_t size) {
  (void)data;
  return malloc(size == 0 ? 1 : size);
}

static void malloc_free(void *data, void *ptr) {
  (void)data;
  free(ptr);
}

const ProtobufCAllocator rs__malloc_allocator = {malloc_alloc, malloc_free,
                                                 NULL};

/*
 * What an allocation of size bytes takes at least: malloc's chunk (an
 * 8-byte header, 16-byte granules, 32 bytes at least), which also covers
 * an arena's 16-byte alignment. Counting the request alone would let a
 * record of a million one-byte strings take many times its budget.
 */
static size_t cost(size_t size) {
  if (size > SIZE_MAX - RS__ALLOC_OVERHEAD) return SIZE_MAX;
  size_t c = (size + 8 + 15) & ~(size_t)15;
  return c < RS__ALLOC_OVERHEAD ? RS__ALLOC_OVERHEAD : c;
}

static void *budget_alloc(void *data, size_t size) {
  rs__budget *b = data;
  size_t c = cost(size);
  if (b->over || c > b->limit - b->used) {
    b->over = true;
    return NULL;
  }
  void *p = b->backing->alloc(b->backing->allocator_data, size);
  if (p == NULL) {
    b->oom = true;
    return NULL;
  }
  b->used += c;
  return p;
}

bool rs__budget_charge(rs__budget *b, size_t size) {
  size_t c = cost(size);
  if (b->over || c > b->limit - b->used) {
    b->over = true;
    return false;
  }
  b->used += c;
  return true;
}

static void budget_free(void *data, void *ptr) {
  rs__budget *b = data;
  if (ptr != NULL) b->backing->free(b->backing->allocator_data, ptr);
}

void rs__budget_init(rs__budget *b, const ProtobufCAllocator *backing,
                     size_t limit) {
  b->allocator.alloc = budget_alloc;
  b->allocator.free = budget_free;
  b->allocator.allocator_data = b;
  b->backing = rs__allocator_or_default(backing);
  b->limit = limit;
  b->used = 0;
  b->over = false;
  b->oom = false;
}

void rs__budget_sub(rs__budget *sb, const rs__budget *parent, size_t floor,
                    size_t len) {
  size_t left = parent->limit - parent->used;
  if (parent->over) left = 0;
  /* A small record's working memory may stay in the caller's arena until
   * it is reset (a few times the floor at most): cheaper than malloc. */
  const ProtobufCAllocator *a =
      rs__frees_nothing(parent->backing) && len <= RS__SMALL_RECORD
          ? parent->backing
          : &rs__malloc_allocator;
  rs__budget_init(sb, a, left > floor ? left : floor);
}

int rs__budget_end(const rs__budget *sb, rs__budget *parent, int rc) {
  if (rc != 0 && sb->over) parent->over = true;
  return rc;
}

int rs__budget_fail(const rs__budget *b, rs_error *err, const char *what) {
  if (b->over)
    return rs__fail(err, RS_ELIMIT, RS_OFFSET_NONE,
                    "%s: allocation budget of %zu bytes exceeded", what,
                    b->limit);
  return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "%s: out of memory", what);
}

void *rs__alloc(const ProtobufCAllocator *a, size_t size) {
  void *p = a->alloc(a->allocator_data, size);
  if (p != NULL) memset(p, 0, size);
  return p;
}

void rs__free(const ProtobufCAllocator *a, void *p) {
  if (p != NULL) a->free(a->allocator_data, p);
}

char *rs__strdup(const ProtobufCAllocator *a, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = a->alloc(a->allocator_data, n);
  if (p != NULL) memcpy(p, s, n);
  return p;
}

char *rs__vsprintf(const ProtobufCAllocator *a, const char *fmt, va_list ap) {
  char small[256];
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(small, sizeof small, fmt, copy);
  va_end(copy);
  if (n < 0) return NULL;
  char *p = a->alloc(a->allocator_data, (size_t)n + 1);
  if (p == NULL) return NULL;
  if ((size_t)n < sizeof small)
    memcpy(p, small, (size_t)n + 1);
  else
    vsnprintf(p, (size_t)n + 1, fmt, ap);
  return p;
}

char *rs__sprintf(const ProtobufCAllocator *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *p = rs__vsprintf(a, fmt, ap);
  va_end(ap);
  return p;
}

int rs__buf_reserve(rs_buf *buf, size_t n, const ProtobufCAllocator *a) {
  if (buf->cap >= n && buf->data != NULL) return 0;
  size_t cap = buf->cap * 2 > n ? buf->cap * 2 : n;
  if (cap < 64) cap = 64;
  uint8_t *p = a->alloc(a->allocator_data, cap);
  if (p == NULL) return RS_ENOMEM;
  rs__free(a, buf->data);
  buf->data = p;
  buf->cap = cap;
  buf->len = 0;
  return 0;
}

void rs_buf_dispose(rs_buf *buf, const ProtobufCAllocator *allocator) {
  if (buf == NULL) return;
  rs__free(rs__allocator_or_default(allocator), buf->data);
  buf->data = NULL;
  buf->len = 0;
  buf->cap = 0;
}

int rs__options(rs_options *out, const rs_options *in, rs_error *err) {
  static const rs_options defaults = RS_OPTIONS_INIT;
  if (in == NULL) {
    *out = defaults;
  } else {
    if (in->version > RS_OPTIONS_VERSION || in->version == 0)
      return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                      "rs_options.version is %u; this library knows 1..%d "
                      "(initialise with RS_OPTIONS_INIT)",
                      in->version, RS_OPTIONS_VERSION);
    /* Version 1 ends before raw_writer, version 2 before schema_ids. */
    if (in->version < RS_OPTIONS_VERSION) {
      *out = defaults;
      memcpy(out, in,
             in->version == 1 ? offsetof(rs_options, raw_writer)
                              : offsetof(rs_options, schema_ids));
      out->version = RS_OPTIONS_VERSION;
    } else {
      *out = *in;
    }
  }
  if (out->max_record_size == 0)
    out->max_record_size = defaults.max_record_size;
  if (out->max_depth == 0) out->max_depth = defaults.max_depth;
  if (out->max_alloc == 0) out->max_alloc = defaults.max_alloc;
  if (out->n_schema_ids > 0 && out->schema_ids == NULL)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_options.schema_ids is NULL with n_schema_ids %zu",
                    out->n_schema_ids);
  for (size_t i = 0; i < out->n_schema_ids; i++)
    if (out->schema_ids[i].n_indexes > RS_CONFLUENT_MAX_INDEXES)
      return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                      "rs_options.schema_ids[%zu] has %zu message indexes "
                      "(at most %u)",
                      i, out->schema_ids[i].n_indexes,
                      RS_CONFLUENT_MAX_INDEXES);
  return 0;
}
