/*
 * rollsafe/confluent.h: Confluent Schema Registry framing ("wire format"),
 * what Confluent's Kafka serializers write before a protobuf payload:
 *
 *   byte 0       0x00, the magic byte
 *   bytes 1..4   the schema id, 4 bytes big-endian
 *   varints      the message-index list: a count, then that many indexes,
 *                each a zigzag varint of a 32-bit signed integer (as Kafka's
 *                ByteUtils.writeVarint writes it). The list is the path from
 *                the schema file's top level to the message type: [0] is the
 *                file's first message, [1, 0] the first message nested in
 *                its second. The count 0 (the single byte 0x00) is the
 *                shorthand for [0], which the serializers write for it.
 *   rest         the protobuf payload
 *
 * No protobuf message starts with 0x00 (field number 0 does not exist), as
 * none starts with the envelope's 0xF7: the first byte tells the framings
 * apart.
 *
 * The schema id names a schema in a Schema Registry, which rollsafe does not
 * consult: rs_options.schema_ids maps ids to format versions
 * (rs_schema_id). rollsafe's registry holds descriptors, not schema files,
 * so it cannot tell which message an index path selects: a mapping names the
 * path at which the record type's message sits in that schema ([0] unless
 * given), and a record with another path holds another message of the
 * schema, which is judged as an unmapped id is (RS_WRITER_UNMAPPED).
 */
#ifndef ROLLSAFE_CONFLUENT_H
#define ROLLSAFE_CONFLUENT_H

#include "errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/** First byte of every Confluent-framed record. */
#define RS_CONFLUENT_MAGIC 0x00u

/** Bytes before the message-index list: the magic byte and the schema id. */
#define RS_CONFLUENT_PREFIX 5u

/**
 * Longest message-index list this library reads (a path that deep is a
 * message nested 16 levels in its file). A longer count is malformed.
 */
#define RS_CONFLUENT_MAX_INDEXES 16u

/** A Confluent header as read from a record. */
typedef struct rs_confluent_header {
  uint32_t schema_id;
  /** Entries of `indexes`; 1 for the shorthand [0] (count 0 on the wire). */
  size_t n_indexes;
  int32_t indexes[RS_CONFLUENT_MAX_INDEXES];
  /** Where the protobuf payload starts in the record. */
  size_t payload_offset;
} rs_confluent_header;

/**
 * A schema id's format version: records framed with schema id @c id and
 * message-index path @c indexes were written as @c format_version of the
 * record type a call names.
 */
typedef struct rs_schema_id {
  uint32_t id;
  unsigned format_version;
  /** Entries of `indexes`; 0 means the path [0] (the file's first message). */
  size_t n_indexes;
  int32_t indexes[RS_CONFLUENT_MAX_INDEXES];
} rs_schema_id;

/** 1 when @p buf starts with RS_CONFLUENT_MAGIC, else 0 (NULL/empty: 0). */
RS_EXTERN int rs_confluent_detect(const uint8_t *buf, size_t len);

/**
 * Reads the Confluent header at the start of @p buf.
 *
 * @param[out] out the header; its payload_offset is where the payload starts
 * @return 0; RS_EINVAL (out NULL, or buf NULL with len > 0); RS_ECONFLUENT
 *         when @p buf is not a well-formed header: no magic byte, fewer
 *         than 5 bytes, a varint longer than 5 bytes or over 32 bits, a
 *         negative count or index, a count over RS_CONFLUENT_MAX_INDEXES,
 *         or a list that runs past the end (err.offset says where)
 */
RS_EXTERN int rs_confluent_parse(rs_confluent_header *out, const uint8_t *buf,
                                 size_t len, rs_error *err);

/**
 * Whether a header's message-index path is @p m's (an empty path in @p m is
 * [0]). 0 or 1.
 */
RS_EXTERN int rs_confluent_path_matches(const rs_confluent_header *h,
                                        const rs_schema_id *m);

#ifdef __cplusplus
}
#endif
#endif
