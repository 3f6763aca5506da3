/*
 * rollsafe/arena.h: a bump allocator for decoding streams of records.
 *
 * An arena hands out memory from large chunks and frees nothing until it is
 * reset. Pass rs_arena_allocator() as the allocator of the decode, classify
 * and convert functions (and straight to protobuf_c_message_unpack): a scan
 * then decodes a batch of records with no malloc/free per record, and calls
 * rs_arena_reset() between batches. An arena is not thread-safe: use one per
 * thread.
 */
#ifndef ROLLSAFE_ARENA_H
#define ROLLSAFE_ARENA_H

#include "errors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rs_arena rs_arena;

/**
 * Creates an arena.
 *
 * @param[out] out the new arena, owned by the caller; free with rs_arena_free()
 * @param chunk_size size of each chunk in bytes; 0 selects 64 KiB. A request
 *        larger than a chunk gets a chunk of its own.
 * @param backing where chunks come from; NULL for malloc/free. It must
 *        outlive the arena.
 * @param err filled on failure; may be NULL
 * @return 0, RS_ENOMEM
 */
RS_EXTERN int rs_arena_new(rs_arena **out, size_t chunk_size,
                           const ProtobufCAllocator *backing, rs_error *err);

/** Frees the arena and everything allocated from it; NULL is allowed. */
RS_EXTERN void rs_arena_free(rs_arena *arena);

/**
 * Forgets every allocation and keeps one chunk for reuse. Pointers handed
 * out before the reset are invalid afterwards.
 */
RS_EXTERN void rs_arena_reset(rs_arena *arena);

/**
 * The arena as a protobuf-c allocator whose free() does nothing. Borrowed:
 * valid while the arena lives.
 */
RS_EXTERN const ProtobufCAllocator *rs_arena_allocator(rs_arena *arena);

/** Bytes handed out since the last reset (for budgets and statistics). */
RS_EXTERN size_t rs_arena_used(const rs_arena *arena);

/** Bytes held in chunks, including the unused tail of each. */
RS_EXTERN size_t rs_arena_capacity(const rs_arena *arena);

#ifdef __cplusplus
}
#endif
#endif
