/*
 * rollsafe/envelope.h: the envelope's fixed bytes. The layout is documented
 * byte by byte in schema/README.md.
 */
#ifndef ROLLSAFE_ENVELOPE_H
#define ROLLSAFE_ENVELOPE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * First byte of every envelope. Its low three bits are 7, a wire type that
 * does not exist, so no valid protobuf message starts with it; it is also
 * never the first byte of UTF-8 text.
 */
#define RS_ENVELOPE_MARKER 0xF7u

/** The envelope major version this library reads and writes. */
#define RS_ENVELOPE_MAJOR 1u

/** Largest envelope header (the protobuf part) a reader accepts. */
#define RS_ENVELOPE_MAX_HEADER 4096u

/** 1 when @p buf starts with the envelope marker, else 0 (NULL/empty: 0). */
RS_EXTERN int rs_envelope_detect(const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
