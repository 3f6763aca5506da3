/*
 * rollsafe/codec.h: reading and writing records of any format version.
 *
 * rs_decode() reads a record as it was written (legacy raw bytes or an
 * envelope). rs_read_as() is the dual-format reader: it reads any version
 * and hands back the version the caller's code understands, converted, with
 * a report of what the conversion lost. rs_encode() writes a message as a
 * chosen version, in that version's framing, with provenance.
 */
#ifndef ROLLSAFE_CODEC_H
#define ROLLSAFE_CODEC_H

#include "convert.h"
#include "options.h"
#include "registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Who wrote a record: the flag and variant that made the writer use its
 * format, the writer build or instance, and when. Strings may be NULL (not
 * recorded). Only envelope-framed versions carry provenance.
 */
typedef struct rs_provenance {
  unsigned version;      /**< RS_PROVENANCE_VERSION */
  const char *flag_key;  /**< e.g. "checkout_v2" */
  const char *variant;   /**< e.g. "on", "treatment-b" */
  const char *writer_id; /**< e.g. "orders-api 4.2.0 pod-7" */
  int64_t write_time_us; /**< microseconds since the Unix epoch (UTC); 0 =
                            unknown */
} rs_provenance;

#define RS_PROVENANCE_VERSION 1
#define RS_PROVENANCE_INIT \
  { RS_PROVENANCE_VERSION, NULL, NULL, NULL, 0 }

/** Current time as microseconds since the Unix epoch, for write_time_us. */
RS_EXTERN int64_t rs_now_us(void);

typedef struct rs_record rs_record;

/**
 * Decodes a record of @p type as it was written.
 *
 * A record whose first byte is RS_ENVELOPE_MARKER is an envelope; one whose
 * first byte is RS_CONFLUENT_MAGIC is Confluent-framed (confluent.h), its
 * version the one options->schema_ids maps its schema id and message-index
 * path to; any other record, the empty one included, is raw protobuf. A raw
 * record is decoded as options->raw_writer when set, else as the oldest version
 * that can have written it (it decodes with no unknown field, every value in
 * its type's range, every enum value defined: the writer rs_classify infers),
 * failing that as the first version that decodes it.
 *
 * An envelope naming a format version the registry lacks (a newer writer)
 * is read as the registry's newest version, as protobuf code reads a newer
 * message: rs_record_written_version() then says the envelope's version,
 * rs_record_version() the version read, and fields that version lacks stay
 * unknown fields of the message. rs_record_conversion() then reports what
 * that reading could not read: a conversion from the envelope's version to
 * the newest, counting the fields kept unknown
 * (rs_conversion_kept_unknown) and listing as altered every value the
 * newest version's types cannot vouch for (an enum value it lacks).
 * rs_classify judges an envelope-aware reader of such a record by this same
 * reading (RS_WRITER_UNREGISTERED).
 *
 * @param[out] out the record, owned by the caller; free with
 *        rs_record_free(). It does not point into @p buf, but it borrows
 *        from @p registry (type name, descriptors): free records before
 *        the registry.
 * @return 0, RS_EINVAL, RS_ENOTFOUND (type not registered, or
 *         options->raw_writer or a version options->schema_ids names is not
 *         a version of it, or a Confluent-framed record's schema id and path
 *         map to no version), RS_EENVELOPE (malformed or unsupported
 *         envelope; err.offset says where), RS_ECONFLUENT (malformed
 *         Confluent header), RS_EDECODE (no version decodes the payload),
 *         RS_ELIMIT, RS_ENOMEM
 */
RS_EXTERN int rs_decode(rs_record **out, const rs_registry *registry,
                        const char *type, const uint8_t *buf, size_t len,
                        const rs_options *options, rs_error *err);

/**
 * The dual-format reader: decodes a record of any version and converts it
 * to @p version. rs_record_conversion() on the result tells what was lost
 * (NULL when the record was already that version, unless a string of it
 * holds a NUL: protobuf-c's C string ends there, so the message holds less
 * than was written, a lossy conversion from the version to itself).
 *
 * @param version the version the caller's code reads; 0 for the newest
 * @return as rs_decode(), plus RS_ECONVERT when the conversion is
 *         impossible (err says why), or lossy and options->flags has
 *         RS_OPT_STRICT (err names the first loss)
 */
RS_EXTERN int rs_read_as(rs_record **out, const rs_registry *registry,
                         const char *type, unsigned version, const uint8_t *buf,
                         size_t len, const rs_options *options, rs_error *err);

/**
 * Encodes @p msg as format version @p version of @p type, framed as that
 * version is (raw or envelope), or in Confluent framing with
 * RS_OPT_CONFLUENT. Provenance and the schema fingerprint are written only
 * into envelopes.
 *
 * @param[out] out replaced with the encoded bytes; grown with
 *        options->allocator
 * @param msg a message of version @p version's descriptor
 * @param provenance may be NULL
 * @return 0, RS_EINVAL (also: RS_OPT_CONFLUENT and options->schema_ids map
 *         no id, or several, to @p version; the message carries an unknown
 *         field numbered
 *         0 or 2^29 and up, kept from odd input, that protobuf-c cannot write
 *         back readably), RS_ENOTFOUND, RS_EMISMATCH (msg's descriptor is not
 *         that version's), RS_EREQUIRED (a required field is not set;
 *         err names it), RS_ELIMIT (result over max_record_size), RS_ENOMEM
 */
RS_EXTERN int rs_encode(rs_buf *out, const rs_registry *registry,
                        const char *type, unsigned version,
                        const ProtobufCMessage *msg,
                        const rs_provenance *provenance,
                        const rs_options *options, rs_error *err);

/**
 * Re-encodes a record as format version @p version: rs_read_as() followed
 * by rs_encode(). The written provenance is kept unless @p provenance is
 * given. This is what `rollsafe fix` writes.
 *
 * @param[out] out replaced with the new bytes (untouched on error)
 * @param[out] report if not NULL, the conversion report (NULL when no
 *        conversion was needed); set also on RS_ECONVERT
 * @return as rs_read_as() and rs_encode()
 */
RS_EXTERN int rs_transcode(rs_buf *out, rs_conversion **report,
                           const rs_registry *registry, const char *type,
                           unsigned version, const uint8_t *buf, size_t len,
                           const rs_provenance *provenance,
                           const rs_options *options, rs_error *err);

/** Frees a record and its message; NULL is allowed. */
RS_EXTERN void rs_record_free(rs_record *record);

/** The record type; borrowed. */
RS_EXTERN const char *rs_record_type(const rs_record *record);

/** Format version of the message the record holds now (after read-as). */
RS_EXTERN unsigned rs_record_version(const rs_record *record);

/**
 * Format version the record was written in; above rs_registry_newest()
 * when the envelope names a version the registry lacks (the message is
 * then read as the newest version).
 */
RS_EXTERN unsigned rs_record_written_version(const rs_record *record);

/** Framing the record was written in. */
RS_EXTERN rs_encoding rs_record_encoding(const rs_record *record);

/**
 * The schema id of a Confluent-framed record.
 *
 * @param[out] id set to the schema id when there is one; may be NULL
 * @return 1 for a Confluent-framed record, else 0
 */
RS_EXTERN int rs_record_schema_id(const rs_record *record, uint32_t *id);

/**
 * Byte offset of the protobuf payload in the input (0 for raw records):
 * add it to payload offsets to get offsets in the stored bytes.
 */
RS_EXTERN size_t rs_record_payload_offset(const rs_record *record);

/** Provenance from the envelope, or NULL (raw records); borrowed. */
RS_EXTERN const rs_provenance *rs_record_provenance(const rs_record *record);

/**
 * Schema fingerprint from the envelope, or NULL; borrowed.
 *
 * @param[out] len its length in bytes; may be NULL
 */
RS_EXTERN const uint8_t *rs_record_fingerprint(const rs_record *record,
                                               size_t *len);

/** The decoded message; borrowed, freed with the record. */
RS_EXTERN const ProtobufCMessage *rs_record_message(const rs_record *record);

/**
 * What read-as converted, or what reading a version the registry lacks as
 * its newest could not read (rs_decode), or NULL when the record was read
 * in the version it was written in; borrowed, freed with the record.
 */
RS_EXTERN const rs_conversion *rs_record_conversion(const rs_record *record);

#ifdef __cplusplus
}
#endif
#endif
