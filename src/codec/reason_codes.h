/*
 * The stable codes of classification reasons (rs_reason_code): one table,
 * the enum and the names from it. docs/reasons.md says what each means; a
 * test (reasons.docs) checks that it lists exactly these names. A code is
 * never renamed or reused once released: a new cause gets a new code.
 */
#ifndef RS_CODEC_REASON_CODES_H
#define RS_CODEC_REASON_CODES_H

/* XX(enum suffix, name) */
#define RS__REASON_CODE_MAP(XX)                                    \
  /* framing and the writer's side */                              \
  XX(FRAMING_MISMATCH, "framing-mismatch")                         \
  XX(ENVELOPE_UNKNOWN_VERSION, "envelope-unknown-version")         \
  XX(ENVELOPE_MALFORMED, "envelope-malformed")                     \
  XX(ENVELOPE_UNSUPPORTED, "envelope-unsupported")                 \
  XX(FINGERPRINT_MISMATCH, "fingerprint-mismatch")                 \
  XX(CONFLUENT_MALFORMED, "confluent-malformed")                   \
  XX(CONFLUENT_UNMAPPED, "confluent-unmapped")                     \
  XX(WRITER_AMBIGUOUS, "writer-ambiguous")                         \
  XX(NO_VERSION_DECODES, "no-version-decodes")                     \
  XX(PAYLOAD_UNDECODABLE, "payload-undecodable")                   \
  XX(DECODE_FAILED, "decode-failed")                               \
  XX(OVER_LIMITS, "over-limits")                                   \
  XX(UP_CONVERSION_LOSS, "up-conversion-loss")                     \
  /* the reader's parse */                                         \
  XX(WIRE_TYPE_MISMATCH, "wire-type-mismatch")                     \
  XX(WIRE_TYPE_IGNORED, "wire-type-ignored")                       \
  XX(EARLY_END, "early-end")                                       \
  XX(PACKED_MALFORMED, "packed-malformed")                         \
  XX(UTF8_INVALID, "utf8-invalid")                                 \
  XX(UTF8_REPLACED, "utf8-replaced")                               \
  XX(MALFORMED_WIRE, "malformed-wire")                             \
  XX(RECURSION_LIMIT, "recursion-limit")                           \
  XX(REQUIRED_MISSING, "required-missing")                         \
  XX(REQUIRED_DEFAULTED, "required-defaulted")                     \
  XX(NESTED_MESSAGE_FAILS, "nested-message-fails")                 \
  XX(UNPACK_FAILED, "unpack-failed")                               \
  /* what the reader sees against what the writer meant */         \
  XX(FIELD_UNKNOWN, "field-unknown")                               \
  XX(FIELD_MOVED, "field-moved")                                   \
  XX(FIELD_NUMBER_REUSED, "field-number-reused")                   \
  XX(FIELD_HIDDEN_UNKNOWN, "field-hidden-unknown")                 \
  XX(ENUM_VALUE_UNKNOWN, "enum-value-unknown")                     \
  XX(ENUM_CLOSED_UNKNOWN, "enum-closed-unknown")                   \
  XX(ENUM_VALUE_RENAMED, "enum-value-renamed")                     \
  XX(INT_TRUNCATED, "int-truncated")                               \
  XX(VALUE_CHANGED, "value-changed")                               \
  XX(DEFAULT_CHANGED, "default-changed")                           \
  XX(COUNT_CHANGED, "count-changed")                               \
  XX(OCCURRENCES_MERGED, "occurrences-merged")                     \
  XX(STRING_NUL_CUT, "string-nul-cut")                             \
  XX(BYTES_AS_MESSAGE_FAILS, "bytes-as-message-fails")             \
  XX(BYTES_AS_MESSAGE_MISREAD, "bytes-as-message-misread")         \
  XX(BYTES_AS_MESSAGE_IGNORED, "bytes-as-message-ignored")         \
  XX(TEXT_AS_MESSAGE, "text-as-message")                           \
  XX(ONEOF_CLEARED, "oneof-cleared")                               \
  XX(ONEOF_SET_BY_READER, "oneof-set-by-reader")                   \
  XX(FOREIGN_WIRE_TYPE, "foreign-wire-type")                       \
  /* what rollsafe cannot tell (the record is undetermined) */     \
  XX(GROUPS_UNDECODED, "groups-undecoded")                         \
  XX(EXTENSION_UNMODELLED, "extension-unmodelled")                 \
  XX(NO_READER, "no-reader")                                       \
  /* the scan: a stored value not in its column encoding (text) */ \
  XX(COLUMN_ENCODING_INVALID, "column-encoding-invalid")

typedef enum rs__reason_code {
  RS__RC_NONE = 0, /* no code: never in a reason (losses have none) */
#define XX(id, name) RS__RC_##id,
  RS__REASON_CODE_MAP(XX)
#undef XX
      RS__RC_COUNT
} rs__reason_code;

#endif
