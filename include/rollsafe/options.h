/*
 * rollsafe/options.h: the options every codec call takes, and its limits.
 */
#ifndef ROLLSAFE_OPTIONS_H
#define ROLLSAFE_OPTIONS_H

#include "common.h"
#include "confluent.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Default maximum size of one record in bytes (64 MiB). */
#define RS_DEFAULT_MAX_RECORD_SIZE ((size_t)64 << 20)
/**
 * Default limit of rollsafe's own on the messages nested within a record
 * (rs_options.max_depth): above the recursion limits of the runtimes that
 * have one at their default (100 for C++, Java and Python), so that their
 * limits, not this one, decide; protobuf-c has none, Go's is 10,000.
 * Judging a record takes stack in proportion to its nesting (a few hundred
 * bytes a level).
 */
#define RS_DEFAULT_MAX_DEPTH 1000u
/**
 * Default allocation budget per call in bytes (256 MiB): what one record's
 * decode, classification or conversion may take (rs_options.max_alloc).
 */
#define RS_DEFAULT_MAX_ALLOC ((size_t)256 << 20)

/**
 * The comparison inside rs_classify is given at least 128 bytes for each
 * byte of the record plus 64 KiB, up to this many bytes (16 MiB), even when
 * the decode before it left less of max_alloc: a small record is compared
 * whatever the budget.
 */
#define RS_SCRATCH_FLOOR_MAX ((size_t)16 << 20)

/** Flags for rs_options.flags. */
typedef enum rs_option_flag {
  /**
   * Down-conversion drops fields the target version does not define instead
   * of keeping them as unknown fields (which the target's readers ignore and
   * a later up-conversion restores). Dropped fields are reported as losses.
   */
  RS_OPT_DROP_UNKNOWN = 1u << 0,
  /** Encoding leaves the schema fingerprint out of the envelope header. */
  RS_OPT_OMIT_FINGERPRINT = 1u << 1,
  /**
   * rs_classify decides the verdict and skips work that only explains it:
   * a plain (raw) reader of an envelope is not also checked field by field
   * against the payload, and an unpack failure is not traced to the byte
   * that causes it, and a record whose bytes a walk proves protobuf-c
   * unpacks clean (or, for a plain reader of an envelope, unpacks at all)
   * is not unpacked; for a protobuf-c reader, a record it cannot unpack is
   * not also compared field by field, and the comparison of one it can
   * ends at the first misread value. The verdict, written version and
   * provenance are the same as without the flag; reasons may be fewer and
   * terser: one is kept, the first of the worst verdict. For scans that
   * keep the reasons of only some records. Other calls give terser error
   * messages with it.
   */
  RS_OPT_VERDICT_ONLY = 1u << 2,
  /**
   * rs_encode and rs_transcode write Confluent framing (confluent.h)
   * instead of the version's own: the magic byte, the schema id that
   * rs_options.schema_ids maps to the version written (exactly one mapping
   * must name it, else RS_EINVAL), that mapping's message-index path, then
   * the payload. Confluent framing carries no provenance.
   */
  RS_OPT_CONFLUENT = 1u << 3,
  /**
   * rs_read_as and rs_transcode refuse a lossy conversion: when reading the
   * record as the version asked for drops a field or alters a value
   * (rs_conversion_result_of() is RS_CONVERSION_LOSSY), they fail with
   * RS_ECONVERT, err naming the first loss's field path and what it loses,
   * and return no record (rs_transcode writes no bytes; its report, when
   * asked for, lists every loss). Without the flag they succeed and the
   * losses are only reported (rs_record_conversion()). Fields a reader
   * keeps as unknown fields (rs_conversion_kept_unknown()) are not losses:
   * with RS_OPT_DROP_UNKNOWN they are dropped, which is one. For services
   * that would rather fail a read than act on an altered value.
   */
  RS_OPT_STRICT = 1u << 4
} rs_option_flag;

/**
 * Options for decode, read-as, classify, convert, transcode and encode.
 * Initialise with RS_OPTIONS_INIT and change what you need; passing NULL
 * to a function means RS_OPTIONS_INIT.
 */
typedef struct rs_options {
  unsigned version; /**< RS_OPTIONS_VERSION */
  /**
   * Where every object a call returns, and everything it allocates while
   * working, comes from; NULL for malloc/free. Pass rs_arena_allocator() to
   * decode a stream without malloc/free per record. Must outlive the
   * objects. Free those objects with the functions named in their docs:
   * they release through this same allocator.
   */
  const ProtobufCAllocator *allocator;
  size_t max_record_size; /**< larger records are refused before decoding */
  /**
   * Messages that may nest within a record (the record itself not
   * counted: 1 allows a record with sub-messages that hold none); deeper
   * records are refused before decoding, and rs_classify calls them
   * unreadable, over the limits. The reader's runtime may fail them
   * sooner (rs_reader.recursion_limit). 0: RS_DEFAULT_MAX_DEPTH.
   */
  unsigned max_depth;
  /**
   * Bytes one call may allocate for one record; over it is a limit error
   * (RS_ELIMIT), and for rs_classify the verdict `unreadable` with a reason
   * that names the limit. Everything the call allocates while working
   * counts: protobuf-c's unpacks (unknown-field arrays included), the
   * envelope header, conversions, and the comparison's working memory,
   * which takes what the decode before it left and is freed before the
   * next step. So the memory one record holds at a time stays within
   * max_alloc, plus at most RS_SCRATCH_FLOOR_MAX for the comparison of a
   * record that leaves it less. The objects a call returns (its reasons:
   * at most RS_MAX_REASONS) are the caller's and not counted.
   */
  size_t max_alloc;
  unsigned flags; /**< rs_option_flag bits */
  /**
   * The format version that wrote records without an envelope, when the
   * caller knows it: rs_decode, rs_read_as and rs_transcode read raw bytes
   * as that version. 0 reads them as the oldest version that can have
   * written them (no unknown field, every value in range, every enum value
   * defined), as rs_classify infers the writer. Version 2 of this struct.
   */
  unsigned raw_writer;
  /**
   * Which format version wrote Confluent-framed records (confluent.h), by
   * schema id and message-index path; borrowed for the call, may be NULL
   * when n_schema_ids is 0. Every version named must be a version of the
   * type the call names (else RS_ENOTFOUND). A record whose id and path no
   * entry names has no known writer: rs_decode refuses it (RS_ENOTFOUND),
   * rs_classify judges it as RS_WRITER_UNMAPPED. Version 3 of this struct.
   */
  const rs_schema_id *schema_ids;
  size_t n_schema_ids;
} rs_options;

#define RS_OPTIONS_VERSION 3
#define RS_OPTIONS_INIT                                              \
  {                                                                  \
    RS_OPTIONS_VERSION, NULL, RS_DEFAULT_MAX_RECORD_SIZE,            \
        RS_DEFAULT_MAX_DEPTH, RS_DEFAULT_MAX_ALLOC, 0u, 0u, NULL, 0u \
  }

#ifdef __cplusplus
}
#endif
#endif
