/*
 * src/report/json_record.h: a decoded protobuf-c message as JSON.
 *
 * The renderer walks the message's ProtobufCMessageDescriptor, so it works
 * for any message: the compiled-in example domain as well as descriptors
 * built at run time. The mapping follows protobuf's JSON mapping where it
 * can, with proto field names as keys:
 *
 * - fields in field-number order; a field that is not set is omitted
 *   (proto2 has_ flag clear, NULL pointer or a pointer to the default
 *   value, an unset oneof member, an empty repeated field, a proto3 field
 *   holding its zero value);
 * - 64-bit integers as decimal strings, other integers as numbers;
 * - floats as numbers, or "NaN", "Infinity", "-Infinity";
 * - enums by value name, or as the number when the value is not in the
 *   enum (what an old reader holds after reading a newer value);
 * - bytes as standard base64 with padding; strings as UTF-8, invalid
 *   sequences replaced by U+FFFD;
 * - repeated fields as arrays, messages as objects;
 * - unknown fields as "unknown_fields": [{"number","wire_type","length"}],
 *   length being the bytes of the value (for wire type 2, of the content
 *   without its length prefix).
 *
 * Every function returns a new reference owned by the caller (json_decref),
 * or NULL when out of memory.
 */
#ifndef RS_REPORT_JSON_RECORD_H
#define RS_REPORT_JSON_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

/**
 * Deepest nesting rendered; deeper messages become JSON null. Above the
 * runtimes' own default recursion limits (100), and low enough that
 * the document stays within common JSON parsers' nesting limits (Python's
 * json module fails near 1000).
 */
#define RS__JSON_MAX_DEPTH 256

/** @p msg as a JSON object, as described above. */
json_t *rs__json_message(const ProtobufCMessage *msg);

/**
 * rs__json_message showing at most @p max_values values: each set field,
 * each element of a repeated field and each unknown field counts one, at
 * every level, in the order they are rendered. What is left out is counted
 * in *omitted (when not NULL); a field none of whose values is shown is
 * left out of its object.
 */
json_t *rs__json_message_limited(const ProtobufCMessage *msg, size_t max_values,
                                 size_t *omitted);

/** @p len bytes as standard base64 with padding. */
json_t *rs__json_base64(const uint8_t *data, size_t len);

/** @p len bytes as lowercase hex. */
json_t *rs__json_hex(const uint8_t *data, size_t len);

/**
 * A string of @p len bytes that may not be valid UTF-8: invalid sequences
 * become U+FFFD. A NULL @p s gives JSON null.
 */
json_t *rs__json_string_lossy(const char *s, size_t len);

/** As rs__json_string_lossy() for a NUL-terminated string (NULL: null). */
json_t *rs__json_cstring(const char *s);

/**
 * Formats microseconds since the Unix epoch as RFC 3339 in UTC with
 * microseconds, e.g. "2024-05-01T12:34:56.123456Z".
 *
 * @param out at least 28 bytes
 * @return 0, or -1 when the year falls outside 0000..9999 (out is "")
 */
int rs__rfc3339_us(char *out, size_t size, int64_t us);

#endif
