#include <string.h>

#include "internal.h"

/*
 * Chunks form a list; the newest is at the head and serves allocations.
 * Alignment is max_align_t's, so protobuf-c can put any member type in it.
 */
typedef struct rs__chunk {
  struct rs__chunk *next;
  size_t size; /* usable bytes after the header */
  size_t used;
} rs__chunk;

struct rs_arena {
  ProtobufCAllocator allocator;
  const ProtobufCAllocator *backing;
  rs__chunk *head;
  size_t chunk_size;
  size_t used;
};

#define RS__ALIGN _Alignof(max_align_t)
#define RS__HDR ((sizeof(rs__chunk) + RS__ALIGN - 1) & ~(RS__ALIGN - 1))

static rs__chunk *chunk_new(rs_arena *arena, size_t size) {
  if (size > SIZE_MAX - RS__HDR) return NULL;
  rs__chunk *c =
      arena->backing->alloc(arena->backing->allocator_data, RS__HDR + size);
  if (c == NULL) return NULL;
  c->size = size;
  c->used = 0;
  return c;
}

static void *arena_alloc(void *data, size_t size) {
  rs_arena *arena = data;
  size_t need = (size + RS__ALIGN - 1) & ~(RS__ALIGN - 1);
  if (need < size) return NULL; /* overflow */
  rs__chunk *c = arena->head;
  if (c == NULL || c->size - c->used < need) {
    rs__chunk *fresh =
        chunk_new(arena, need > arena->chunk_size ? need : arena->chunk_size);
    if (fresh == NULL) return NULL;
    /* An oversized chunk goes behind the head so the head keeps serving. */
    if (c != NULL && need > arena->chunk_size && c->size - c->used > 0) {
      fresh->next = c->next;
      c->next = fresh;
    } else {
      fresh->next = c;
      arena->head = fresh;
    }
    c = fresh;
  }
  void *p = (char *)c + RS__HDR + c->used;
  c->used += need;
  arena->used += size;
  return p;
}

static void arena_free(void *data, void *ptr) {
  (void)data;
  (void)ptr; /* released all at once by reset/free */
}

bool rs__frees_nothing(const ProtobufCAllocator *a) {
  return a != NULL && a->free == arena_free;
}

int rs_arena_new(rs_arena **out, size_t chunk_size,
                 const ProtobufCAllocator *backing, rs_error *err) {
  if (out == NULL)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_arena_new: out is NULL");
  *out = NULL;
  backing = rs__allocator_or_default(backing);
  rs_arena *arena = rs__alloc(backing, sizeof *arena);
  if (arena == NULL)
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE,
                    "rs_arena_new: out of memory");
  arena->backing = backing;
  arena->chunk_size = chunk_size != 0 ? chunk_size : 64 * 1024;
  arena->allocator.alloc = arena_alloc;
  arena->allocator.free = arena_free;
  arena->allocator.allocator_data = arena;
  *out = arena;
  return 0;
}

void rs_arena_free(rs_arena *arena) {
  if (arena == NULL) return;
  rs__chunk *c = arena->head;
  while (c != NULL) {
    rs__chunk *next = c->next;
    rs__free(arena->backing, c);
    c = next;
  }
  rs__free(arena->backing, arena);
}

void rs_arena_reset(rs_arena *arena) {
  if (arena == NULL) return;
  /* Keep the largest chunk: the next batch likely needs as much. */
  rs__chunk *keep = NULL;
  for (rs__chunk *c = arena->head; c != NULL; c = c->next)
    if (keep == NULL || c->size > keep->size) keep = c;
  rs__chunk *c = arena->head;
  while (c != NULL) {
    rs__chunk *next = c->next;
    if (c != keep) rs__free(arena->backing, c);
    c = next;
  }
  if (keep != NULL) {
    keep->next = NULL;
    keep->used = 0;
  }
  arena->head = keep;
  arena->used = 0;
}

const ProtobufCAllocator *rs_arena_allocator(rs_arena *arena) {
  return arena != NULL ? &arena->allocator : NULL;
}

size_t rs_arena_used(const rs_arena *arena) {
  return arena != NULL ? arena->used : 0;
}

size_t rs_arena_capacity(const rs_arena *arena) {
  size_t total = 0;
  if (arena != NULL)
    for (const rs__chunk *c = arena->head; c != NULL; c = c->next)
      total += c->size;
  return total;
}
