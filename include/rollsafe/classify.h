/*
 * rollsafe/classify.h: what a given reader makes of one record.
 *
 * A verdict compares two views of the same bytes, field by field and by
 * value: what the writer meant (decoded as the version that wrote them:
 * named by an envelope or by a Confluent schema id (rs_options.schema_ids),
 * given by rs_reader.raw_writer, or inferred for raw
 * bytes from what only one version can have written) and what the reader
 * sees (decoded as the reader's version with the rules of the reader's
 * runtime, rs_reader.runtime; protobuf-c's by default: the last singular
 * scalar wins, messages merge as merge_messages does, a C string ends at
 * its first NUL, an enum number its enum lacks is kept as a plain int, a
 * wire-type mismatch or a missing required field fails the parse).
 * Types are mapped between the versions (the reader's int32 of the
 * writer's int64, its double of a fixed64, its message of bytes).
 */
#ifndef ROLLSAFE_CLASSIFY_H
#define ROLLSAFE_CLASSIFY_H

#include "options.h"
#include "registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Verdicts, ordered by severity: a record's verdict is its worst reason's. */
typedef enum rs_verdict {
  RS_VERDICT_OK = 0, /**< read correctly */
  RS_VERDICT_IGNORED_FIELDS =
      1,                  /**< read, ignoring fields the reader does not know */
  RS_VERDICT_MISREAD = 2, /**< read, but a value the reader sees is wrong */
  RS_VERDICT_UNREADABLE = 3, /**< the reader fails to decode it */
  RS_VERDICT_CORRUPT = 4     /**< no known version decodes it */
} rs_verdict;

#define RS_VERDICT_COUNT 5

/** "ok", "ignored_fields", "misread", "unreadable", "corrupt"; static. */
RS_EXTERN const char *rs_verdict_name(rs_verdict verdict);

/** Which framing a reader understands. */
typedef enum rs_reader_framing {
  /** As its version is framed: a raw version's reader reads raw only. */
  RS_READER_FRAMING_DEFAULT = 0,
  /**
   * Plain protobuf code: an envelope is unreadable to it, and so is a
   * Confluent-framed record (byte 0, 0x00, is field number 0).
   */
  RS_READER_FRAMING_RAW = 1,
  /**
   * Code linked with rollsafe that knows only its own version: it unwraps
   * envelopes and reads the payload with its own descriptor. It reads any
   * record that does not start with 0xF7 as raw protobuf, so a
   * Confluent-framed record fails for it at byte 0 (field number 0).
   */
  RS_READER_FRAMING_ENVELOPE = 2,
  /**
   * Code reading through Confluent's protobuf deserializer with its own
   * generated class: it needs the Confluent header (confluent.h), skips
   * it, and parses the payload with its own version, whatever the schema
   * id says (no up-conversion). A record without the magic byte 0x00 (raw
   * bytes, an envelope) fails at byte 0.
   */
  RS_READER_FRAMING_CONFLUENT = 3
} rs_reader_framing;

/**
 * The protobuf runtime whose generated code the reader runs: what it does
 * with the same bytes differs (docs/runtimes.md), at the versions Debian 12
 * ships.
 */
typedef enum rs_runtime {
  /** protobuf-c 1.4: a known field with another wire type, or a missing
   * required field without a default, fails the record; an unknown value
   * of a closed enum is kept as a plain int; a string is a C string (it
   * ends at its first NUL) and is not checked for UTF-8; no nesting limit
   * of its own. The default. */
  RS_RUNTIME_PROTOBUF_C = 0,
  /** protobuf 3.21 C++ (ParseFromString of protoc's generated class): a
   * field with another wire type, and an unknown value of a closed enum,
   * go to the unknown-field set; invalid UTF-8 in a proto3 string fails;
   * 100 nested messages at most. */
  RS_RUNTIME_CPP = 1,
  /** protobuf-java 3.21 (parseFrom): as C++, and a proto2 string holds
   * U+FFFD for each invalid UTF-8 sequence. */
  RS_RUNTIME_JAVA = 2,
  /** google.golang.org/protobuf 1.28 (proto.Unmarshal): a field with
   * another wire type goes to the unknown fields; enums are open, proto2
   * ones too; 10,000 nested messages at most. */
  RS_RUNTIME_GO = 3,
  /** python3-protobuf 3.21 with its C++ backend (FromString): as C++, but
   * required fields are not checked, and a map entry whose closed-enum
   * value is unknown keeps its key with the enum's default. */
  RS_RUNTIME_PYTHON = 4
} rs_runtime;

#define RS_RUNTIME_COUNT 5

/** "protobuf-c", "cpp", "java", "go", "python"; static, "unknown" for
 * other values. */
RS_EXTERN const char *rs_runtime_name(rs_runtime runtime);

/**
 * The runtime named @p name ("protobuf-c", "cpp", "java", "go" or
 * "python").
 *
 * @return the rs_runtime, or -1 for an unknown name
 */
RS_EXTERN int rs_runtime_from_name(const char *name);

/** Options a runtime's reader is run with (rs_reader.runtime_flags). */
typedef enum rs_runtime_flag {
  /**
   * Missing required fields are not checked: Go's
   * proto.UnmarshalOptions{AllowPartial: true}, C++'s
   * ParsePartialFromString(), Java's parsePartialFrom(). Python never
   * checks them; protobuf-c has no such option (RS_EINVAL).
   */
  RS_RUNTIME_ALLOW_PARTIAL = 1u << 0,
  /**
   * Unknown fields are dropped rather than kept: Go's
   * proto.UnmarshalOptions{DiscardUnknown: true}. What the reader sees of
   * the fields it knows is the same, so no verdict changes; reasons say
   * that the fields are dropped. Go only (RS_EINVAL for the others).
   */
  RS_RUNTIME_DISCARD_UNKNOWN = 1u << 1,
  /**
   * Java's parseFrom(bytes, registry) with an ExtensionRegistry that holds
   * the extensions the reader's version declares: they are parsed as
   * fields, as C++, Go and Python always parse them. Java only.
   */
  RS_RUNTIME_EXTENSION_REGISTRY = 1u << 2,
  /**
   * Java's parseFrom(bytes) without one: every extension is an unknown
   * field, as with protobuf-c. Java only. With neither flag, a Java
   * reader's record whose reading depends on it is undetermined.
   */
  RS_RUNTIME_NO_EXTENSION_REGISTRY = 1u << 3
} rs_runtime_flag;

/** The reader whose ability is checked. */
typedef struct rs_reader {
  unsigned version;        /**< RS_READER_VERSION (1 and 2 are accepted too:
                              a version-1 struct has no raw_writer, which
                              is then 0; versions 1 and 2 have no runtime
                              fields, which are then their defaults) */
  unsigned format_version; /**< highest version it knows; 0 = the one before the
                              newest */
  rs_reader_framing framing;
  /**
   * The format version that wrote records without an envelope, when the
   * caller knows it (for example for rows selected by a time window after
   * a flag went on); 0 infers it from the bytes (rs_writer_basis).
   */
  unsigned raw_writer;
  /** The runtime whose generated code the reader runs. Version 3 of this
   * struct, as are the fields below. */
  rs_runtime runtime;
  /** rs_runtime_flag bits: options the reader's code gives its runtime. */
  unsigned runtime_flags;
  /**
   * The runtime's recursion limit as the reader's code sets it (C++'s
   * CodedInputStream::SetRecursionLimit, Java's
   * CodedInputStream.setRecursionLimit, Go's
   * UnmarshalOptions.RecursionLimit): how many messages may nest within
   * the record. 0: the runtime's default (100 for C++, Java and Python,
   * 10,000 for Go; protobuf-c has no limit and takes none, RS_EINVAL;
   * Python's is not settable, RS_EINVAL). rs_options.max_depth, rollsafe's
   * own limit, still applies.
   */
  unsigned recursion_limit;
} rs_reader;

#define RS_READER_VERSION 3
#define RS_READER_INIT                                    \
  {                                                       \
    RS_READER_VERSION, 0u, RS_READER_FRAMING_DEFAULT, 0u, \
        RS_RUNTIME_PROTOBUF_C, 0u, 0u                     \
  }

/**
 * Checks that @p reader's runtime, runtime_flags and recursion_limit make
 * sense together (the options that runtime has); rs_classify() checks the
 * same. Versions 1 and 2 of the struct always pass.
 *
 * @return 0, or RS_EINVAL with @p err naming the option
 */
RS_EXTERN int rs_reader_validate(const rs_reader *reader, rs_error *err);

/**
 * How the writer of a record, whose meaning the reader's view is compared
 * with, was determined.
 */
typedef enum rs_writer_basis {
  /** No version decodes the bytes (corrupt, or over a limit). */
  RS_WRITER_NONE = 0,
  /** The envelope, or a mapped Confluent schema id, names a registered
   * version. */
  RS_WRITER_NAMED = 1,
  /**
   * Raw bytes that exactly one version explains (decodes with no unknown
   * field, every value in its type's range, every enum value defined,
   * every required field set), or that several explain with the same
   * values, or that no version explains but only one decodes.
   */
  RS_WRITER_INFERRED = 2,
  /** Raw bytes whose writer the caller named (rs_reader.raw_writer). */
  RS_WRITER_GIVEN = 3,
  /**
   * Raw bytes that several versions explain with different values: what
   * the writer meant cannot be told from the bytes. The verdict is the
   * worst over those versions; it is not decided (rs_classification_decided).
   */
  RS_WRITER_AMBIGUOUS = 4,
  /**
   * The envelope names a version the registry lacks: the payload is read
   * as the reader's version, as a library that knows only older versions
   * reads it, but what the writer meant cannot be compared.
   */
  RS_WRITER_UNREGISTERED = 5,
  /**
   * A Confluent-framed record whose schema id and message-index path
   * rs_options.schema_ids maps to no format version: the payload is read
   * as the reader's version, but what the writer meant cannot be compared.
   */
  RS_WRITER_UNMAPPED = 6,
  /**
   * The record holds fields written as groups (wire type 3: proto2
   * groups, editions' message_encoding = DELIMITED) that rollsafe cannot
   * decode (it decodes with protobuf-c, which reads no groups): what the
   * writer meant cannot be compared. A protobuf-c reader fails on a group
   * at the top level, which is then its decided verdict (RS_WRITER_NONE).
   */
  RS_WRITER_UNDECODED = 7,
  /**
   * A Java reader (rs_runtime RS_RUNTIME_JAVA) whose code is not said to
   * pass an ExtensionRegistry to parseFrom or not
   * (RS_RUNTIME_EXTENSION_REGISTRY, RS_RUNTIME_NO_EXTENSION_REGISTRY)
   * reads the record one way with the registry (the extensions its version
   * declares parsed as fields) and another without (they are unknown
   * fields): what it makes of the record cannot be told. C++, Go and Python
   * always parse the extensions their code declares, and rollsafe reads
   * them as fields for those; protobuf-c never does (protoc-c generates
   * nothing for `extend`).
   */
  RS_WRITER_EXTENSION = 8,
  /**
   * The reader's runtime is protobuf-c and its version comes from an
   * editions file or has a group field, which protobuf-c 1.4 cannot compile
   * (protoc-c): there is no such reader, so what it reads cannot be told.
   */
  RS_WRITER_NO_READER = 9
} rs_writer_basis;

/** "none", "named", "inferred", "given", "ambiguous", "unregistered",
 * "unmapped", "undecoded", "extension", "no_reader". */
RS_EXTERN const char *rs_writer_basis_name(rs_writer_basis basis);

typedef struct rs_classification rs_classification;
typedef struct rs_reason rs_reason;

/** Most reasons one classification keeps; the rest are only counted. */
#define RS_MAX_REASONS 32

/**
 * Classifies one record of @p type for @p reader.
 *
 * Bad bytes are a verdict, not an error: corrupt or over-limit input gives
 * 0 and a classification saying why, with the byte offset.
 *
 * @param[out] out the classification, owned by the caller; free with
 *        rs_classification_free()
 * @param reader NULL means RS_READER_INIT
 * @return 0, RS_EINVAL, RS_ENOTFOUND (type or reader version not
 *         registered), RS_ENOMEM
 */
RS_EXTERN int rs_classify(rs_classification **out, const rs_registry *registry,
                          const char *type, const rs_reader *reader,
                          const uint8_t *buf, size_t len,
                          const rs_options *options, rs_error *err);

/**
 * A classification prepared for many records: the type, reader and options
 * of rs_classify() checked once. A scan or a consumer classifying a stream
 * of records of one type calls rs_classifier_run() per record, which
 * answers exactly as rs_classify() with the same arguments.
 */
typedef struct rs_classifier rs_classifier;

/**
 * Prepares a classifier. @p registry, @p type's registration and
 * @p options->allocator are borrowed: they must outlive the classifier.
 * The classifier itself is allocated with malloc, not options->allocator
 * (an arena reset per record may serve the classifications).
 *
 * @param[out] out the classifier; free with rs_classifier_free()
 * @return as rs_classify() for bad arguments: RS_EINVAL, RS_ENOTFOUND,
 *         RS_ENOMEM
 */
RS_EXTERN int rs_classifier_new(rs_classifier **out,
                                const rs_registry *registry, const char *type,
                                const rs_reader *reader,
                                const rs_options *options, rs_error *err);

/**
 * rs_classify() of one record with the classifier's registry, type, reader
 * and options. A classifier is read-only: threads may share one.
 *
 * @param[out] out as for rs_classify()
 * @return as rs_classify()
 */
RS_EXTERN int rs_classifier_run(const rs_classifier *classifier,
                                rs_classification **out, const uint8_t *buf,
                                size_t len, rs_error *err);

/** Frees a classifier; NULL is allowed. */
RS_EXTERN void rs_classifier_free(rs_classifier *classifier);

/**
 * Classifies @p new_buf, bytes meant to replace @p old_buf (what `rollsafe
 * fix` writes), for @p reader: what the reader sees in the new bytes is
 * compared, field by field and by value, with what the writer of the old
 * bytes meant (its version named by the envelope, given by
 * reader->raw_writer, or inferred as rs_classify infers it). Fields that a
 * custom converter or a moved field rewrites by meaning get the reader's
 * own checks only; their conversion report declares what they lose. When
 * the old bytes have no writer to compare with (corrupt, ambiguous, an
 * unregistered version), the new bytes are classified on their own, as
 * rs_classify does. RS_OPT_VERDICT_ONLY is ignored: the reasons are what a
 * pre-write check reports.
 *
 * @param[out] out as for rs_classify()
 * @return as rs_classify()
 */
RS_EXTERN int rs_classify_replacement(rs_classification **out,
                                      const rs_registry *registry,
                                      const char *type, const rs_reader *reader,
                                      const uint8_t *old_buf, size_t old_len,
                                      const uint8_t *new_buf, size_t new_len,
                                      const rs_options *options, rs_error *err);

/** Frees a classification; NULL is allowed. */
RS_EXTERN void rs_classification_free(rs_classification *classification);

RS_EXTERN rs_verdict rs_classification_verdict(const rs_classification *c);

/** The runtime the record was judged for (rs_reader.runtime). */
RS_EXTERN rs_runtime
rs_classification_reader_runtime(const rs_classification *c);

/** The reader version the record was classified for. */
RS_EXTERN unsigned rs_classification_reader_version(const rs_classification *c);

/**
 * The framing the reader was judged with: RS_READER_FRAMING_RAW,
 * RS_READER_FRAMING_ENVELOPE or RS_READER_FRAMING_CONFLUENT
 * (RS_READER_FRAMING_DEFAULT resolved).
 */
RS_EXTERN rs_reader_framing
rs_classification_reader_framing(const rs_classification *c);

/** Version the record was written in; 0 when corrupt or unknown. */
RS_EXTERN unsigned rs_classification_written_version(
    const rs_classification *c);

/** How the written version was determined. */
RS_EXTERN rs_writer_basis
rs_classification_writer_basis(const rs_classification *c);

/**
 * The versions that explain a raw record (bit v-1 for version v, versions
 * 1..64): at least the written version for RS_WRITER_INFERRED (with
 * RS_OPT_VERDICT_ONLY, newer versions that read the bytes alike may be left
 * out), several for RS_WRITER_AMBIGUOUS, 0 for envelopes, records whose
 * writer was given and corrupt records.
 */
RS_EXTERN uint64_t
rs_classification_writer_candidates(const rs_classification *c);

/**
 * The schema id of a Confluent-framed record.
 *
 * @param[out] id set to the schema id when there is one; may be NULL
 * @return 1 when the record is Confluent-framed with a well-formed header,
 *         else 0
 */
RS_EXTERN int rs_classification_schema_id(const rs_classification *c,
                                          uint32_t *id);

/**
 * Whether the verdict is a claim about the reader: 0 when the writer's
 * meaning is unknown (RS_WRITER_AMBIGUOUS, RS_WRITER_UNREGISTERED,
 * RS_WRITER_UNMAPPED) and the
 * reader does not fail on the record anyway. A scan counts such records as
 * undetermined: never clean.
 */
RS_EXTERN int rs_classification_decided(const rs_classification *c);

/** Framing the record was written in (0 when it could not be told). */
RS_EXTERN rs_encoding rs_classification_encoding(const rs_classification *c);

/** Provenance from the envelope, or NULL; borrowed. */
struct rs_provenance;
RS_EXTERN const struct rs_provenance *rs_classification_provenance(
    const rs_classification *c);

/** Number of reasons kept (at most RS_MAX_REASONS). */
RS_EXTERN size_t rs_classification_reason_count(const rs_classification *c);

/** Reasons found beyond RS_MAX_REASONS (with RS_OPT_VERDICT_ONLY, beyond
 * the one kept), counted but not kept. */
RS_EXTERN size_t rs_classification_reasons_omitted(const rs_classification *c);

/** How many of the record's fields rs_classification_omitted_field() names
 * at most. */
#define RS_MAX_OMITTED_FIELDS 16

/**
 * The record's fields (as rs_reason_top_field(); 0 for the whole record)
 * that misread, unreadable or corrupt reasons left out of the list are
 * in, each once: how many of them rs_classification_omitted_field() gives,
 * or SIZE_MAX when there are more than RS_MAX_OMITTED_FIELDS (which of
 * them is then not known). Reasons left out are of no other field.
 */
RS_EXTERN size_t
rs_classification_omitted_field_count(const rs_classification *c);

/** The i-th of those fields, or 0 past the end. */
RS_EXTERN uint32_t rs_classification_omitted_field(const rs_classification *c,
                                                   size_t i);

/** The i-th reason, worst first, or NULL; borrowed. */
RS_EXTERN const rs_reason *rs_classification_reason(const rs_classification *c,
                                                    size_t i);

/** The verdict this reason alone would give. */
RS_EXTERN rs_verdict rs_reason_verdict(const rs_reason *reason);
/** Field path, e.g. "items[3].unit_price_cents(3)"; "" for the whole record. */
RS_EXTERN const char *rs_reason_path(const rs_reason *reason);
/** Number of the field (the last in the path); 0 for the whole record. */
RS_EXTERN uint32_t rs_reason_field(const rs_reason *reason);
/**
 * Number of the record's own field the path starts in (the first in the
 * path: 6 for "f6(6).s(1).a(1)", and for "items[3].price(3)" the number of
 * items); 0 for the whole record.
 */
RS_EXTERN uint32_t rs_reason_top_field(const rs_reason *reason);
/** Byte offset in the record, or RS_OFFSET_NONE. */
RS_EXTERN size_t rs_reason_offset(const rs_reason *reason);
/** One line: what the reader does and why. */
RS_EXTERN const char *rs_reason_text(const rs_reason *reason);
/**
 * The stable code of the reason's cause, e.g. "wire-type-mismatch",
 * "enum-value-unknown", "field-unknown" (the list and what each means:
 * docs/reasons.md). Every reason has one; a code is never renamed or
 * reused, while the text may change between releases. Static storage.
 *
 * @return the code, or NULL for a NULL @p reason
 */
RS_EXTERN const char *rs_reason_code(const rs_reason *reason);
/**
 * The @p i-th of all reason codes rs_reason_code() can return, in the
 * order of docs/reasons.md (static storage).
 *
 * @return the code, or NULL when @p i is past the last
 */
RS_EXTERN const char *rs_reason_code_name(size_t i);

#ifdef __cplusplus
}
#endif
#endif
