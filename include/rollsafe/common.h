/*
 * rollsafe/common.h: version, export macro and the byte buffer shared by
 * every module.
 */
#ifndef ROLLSAFE_COMMON_H
#define ROLLSAFE_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RS_VERSION_MAJOR 0
#define RS_VERSION_MINOR 1
#define RS_VERSION_PATCH 0
#define RS_VERSION_STRING "0.1.0"

#if defined(RS_STATIC_DEFINE)
#define RS_EXTERN
#elif defined(__GNUC__)
#define RS_EXTERN __attribute__((visibility("default")))
#else
#define RS_EXTERN
#endif

/** The library's version string, e.g. "0.1.0" (static storage). */
RS_EXTERN const char *rs_version(void);

/**
 * A growable byte buffer owned by the caller.
 *
 * Initialise with RS_BUF_INIT. Functions that write into an rs_buf replace
 * its contents and reuse its capacity, so one buffer can serve a stream of
 * records without an allocation per record. Release with rs_buf_dispose().
 * The allocator that grows it is the one passed to the writing function
 * (NULL: malloc); dispose with the same allocator.
 */
typedef struct rs_buf {
  uint8_t *data; /**< the bytes; NULL while empty and never grown */
  size_t len;    /**< bytes in use */
  size_t cap;    /**< bytes allocated */
} rs_buf;

#define RS_BUF_INIT \
  { NULL, 0, 0 }

/**
 * Frees the buffer's storage and resets it to RS_BUF_INIT.
 *
 * @param buf the buffer; NULL is allowed and does nothing
 * @param allocator the allocator that grew it; NULL for malloc/free
 */
RS_EXTERN void rs_buf_dispose(rs_buf *buf, const ProtobufCAllocator *allocator);

#ifdef __cplusplus
}
#endif
#endif
