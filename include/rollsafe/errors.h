/*
 * rollsafe/errors.h: error codes and the caller-supplied error struct.
 *
 * Every fallible function returns 0 or a negative RS_E* code and, when the
 * caller passes a non-NULL rs_error, fills it with the code, the byte offset
 * the error refers to (RS_OFFSET_NONE when none) and a one-line message that
 * says what and where. There is no hidden "last error": rs_error lives with
 * the caller, so threads never share it.
 */
#ifndef ROLLSAFE_ERRORS_H
#define ROLLSAFE_ERRORS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One table: the enum, the names and the messages are generated from it. */
#define RS_ERROR_MAP(XX)                                                 \
  XX(ENOMEM, "out of memory")                                            \
  XX(EINVAL, "invalid argument")                                         \
  XX(ENOTFOUND, "record type or format version not in the registry")     \
  XX(EEXISTS, "already registered")                                      \
  XX(EFORMAT, "record is neither a known envelope nor raw protobuf")     \
  XX(EENVELOPE, "malformed or unsupported envelope")                     \
  XX(EDECODE, "payload does not decode as its format version")           \
  XX(ELIMIT, "over a decoding limit (size, depth or allocation budget)") \
  XX(ECONVERT, "conversion impossible")                                  \
  XX(EMISMATCH, "message type does not match the format version")        \
  XX(EREQUIRED, "required field not set")                                \
  XX(EIO, "input/output error")                                         \
  XX(ECONFLUENT, "malformed Confluent wire-format header")

/** Error codes: 0 is success, every error is negative. */
typedef enum rs_error_code {
  RS_OK = 0,
#define RS__ERRNO_GEN(name, msg) RS_##name,
  RS__ERROR_FIRST = -1000,
  RS_ERROR_MAP(RS__ERRNO_GEN)
#undef RS__ERRNO_GEN
      RS__ERROR_LAST
} rs_error_code;

/** rs_error.offset when the error refers to no byte offset. */
#define RS_OFFSET_NONE ((size_t)-1)

/** Filled by fallible functions when the caller passes one. */
typedef struct rs_error {
  int code;          /**< RS_OK or a negative RS_E* code */
  size_t offset;     /**< byte offset in the record, or RS_OFFSET_NONE */
  char message[192]; /**< one line, NUL-terminated, never a password */
} rs_error;

#define RS_ERROR_INIT        \
  {                          \
    RS_OK, RS_OFFSET_NONE, { \
      0                      \
    }                        \
  }

/** Static description of a code, e.g. "out of memory"; "unknown error"
 * otherwise. */
RS_EXTERN const char *rs_strerror(int code);

/** Static name of a code, e.g. "RS_ENOMEM"; "RS_OK" for 0. */
RS_EXTERN const char *rs_error_name(int code);

/** Resets @p err to RS_ERROR_INIT; NULL is allowed. */
RS_EXTERN void rs_error_clear(rs_error *err);

#ifdef __cplusplus
}
#endif
#endif
