/*
 * rollsafe/registry.h: record types, their format versions and converters.
 *
 * A registry is assembled with a builder, then frozen by rs_registry_build().
 * The frozen registry is immutable: any number of threads may use one
 * registry at once without locking.
 */
#ifndef ROLLSAFE_REGISTRY_H
#define ROLLSAFE_REGISTRY_H

#include "errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How a format version is framed on disk. */
typedef enum rs_encoding {
  /** Plain protobuf bytes with no header: what code before rollsafe wrote. */
  RS_ENCODING_RAW = 1,
  /** A rollsafe envelope (schema/README.md) followed by the protobuf payload.
   */
  RS_ENCODING_ENVELOPE = 2,
  /**
   * Confluent Schema Registry framing (confluent.h) followed by the protobuf
   * payload. Records are read in it whatever their version's encoding; it
   * is written on request (RS_OPT_CONFLUENT), never declared for a version.
   */
  RS_ENCODING_CONFLUENT = 3
} rs_encoding;

/** "raw", "envelope" or "confluent"; "unknown" otherwise. Static storage. */
RS_EXTERN const char *rs_encoding_name(rs_encoding encoding);

typedef struct rs_registry rs_registry;
typedef struct rs_registry_builder rs_registry_builder;
typedef struct rs_convert_ctx rs_convert_ctx;

/**
 * A custom conversion step, for semantic moves the generic converter cannot
 * know about (cents to Money, an enum mapping).
 *
 * It is called after the generic converter has filled @p dst with every
 * field it could copy by number and wire-compatible type, skipping the
 * source fields listed in rs_converter.handled_fields. The function sets
 * the rest of @p dst, allocating with rs_convert_ctx_alloc() (never
 * malloc: @p dst is freed through the call's allocator), and reports each
 * loss or impossibility with rs_convert_ctx_report(). A singular string,
 * bytes or message member of @p dst it overwrites is released after it
 * returns: never free one, nor keep or reattach the old value. A
 * required field of the target that the source lacks holds a zero
 * placeholder when the function runs; if the function does not set it, the
 * conversion is impossible.
 *
 * @return 0, or a negative RS_E* code to abort the conversion (RS_ENOMEM
 *         when an rs_convert_ctx allocation failed). An impossible
 *         conversion is not an error return: report RS_LOSS_IMPOSSIBLE.
 */
typedef int (*rs_convert_fn)(rs_convert_ctx *ctx, ProtobufCMessage *dst,
                             const ProtobufCMessage *src, void *user_data);

/** A custom converter for one record type, from one version to another. */
typedef struct rs_converter {
  unsigned version; /**< RS_CONVERTER_VERSION */
  unsigned from;    /**< source format version */
  unsigned to;      /**< target format version */
  /**
   * Top-level field numbers of the source message that @p fn handles: the
   * generic converter neither copies, keeps nor reports them.
   */
  const uint32_t *handled_fields;
  size_t n_handled_fields;
  rs_convert_fn fn;
  void *user_data; /**< passed to fn; must outlive the registry */
} rs_converter;

#define RS_CONVERTER_VERSION 1
#define RS_CONVERTER_INIT \
  { RS_CONVERTER_VERSION, 0u, 0u, NULL, 0u, NULL, NULL }

/**
 * Creates an empty builder.
 *
 * @param[out] out the builder, owned by the caller; consumed by
 *        rs_registry_build() or freed with rs_registry_builder_free()
 * @param allocator used for the builder and the registry it builds; NULL
 *        for malloc/free; must outlive the registry
 * @param err filled on failure; may be NULL
 * @return 0, RS_ENOMEM
 */
RS_EXTERN int rs_registry_builder_new(rs_registry_builder **out,
                                      const ProtobufCAllocator *allocator,
                                      rs_error *err);

/** Frees a builder that was not built; NULL is allowed. */
RS_EXTERN void rs_registry_builder_free(rs_registry_builder *builder);

/**
 * Number of record types declared in @p builder so far: a host that lets
 * plugins or schemas declare types can tell which declared what.
 */
RS_EXTERN size_t
rs_registry_builder_type_count(const rs_registry_builder *builder);

/** Name of the i-th record type declared so far (sorted by name), or NULL;
 * borrowed until the builder changes. */
RS_EXTERN const char *rs_registry_builder_type_name(
    const rs_registry_builder *builder, size_t i);

/**
 * Declares format version @p version of record type @p type.
 *
 * @param type the record type, e.g. "shop.Order"; copied
 * @param version 1..1000; versions of a type need not be added in order but
 *        must be contiguous from 1 when the registry is built
 * @param descriptor the message of this version; borrowed, must outlive the
 *        registry (generated descriptors are static)
 * @param encoding how this version is framed on disk
 * @return 0, RS_EINVAL (bad argument), RS_EEXISTS (version already
 *         declared), RS_ENOMEM
 */
RS_EXTERN int rs_registry_builder_add_version(
    rs_registry_builder *builder, const char *type, unsigned version,
    const ProtobufCMessageDescriptor *descriptor, rs_encoding encoding,
    rs_error *err);

/**
 * Registers a custom converter for (@p type, conv->from, conv->to). The
 * struct is copied; the handled_fields array is copied too.
 *
 * @return 0, RS_EINVAL, RS_EEXISTS (a converter for that pair exists),
 *         RS_ENOMEM
 */
RS_EXTERN int rs_registry_builder_add_converter(rs_registry_builder *builder,
                                                const char *type,
                                                const rs_converter *conv,
                                                rs_error *err);

/**
 * Declares that a value which format version @p reader_version reads from
 * its top-level field @p reader_field is written by @p writer_version to
 * its top-level field @p writer_field instead. Classification then calls a
 * record that sets the new field but not the old one `misread` for that
 * reader: it would see the old field unset.
 *
 * @return 0, RS_EINVAL, RS_ENOMEM
 */
RS_EXTERN int rs_registry_builder_add_moved_field(
    rs_registry_builder *builder, const char *type, unsigned writer_version,
    uint32_t writer_field, unsigned reader_version, uint32_t reader_field,
    rs_error *err);

/**
 * Declares how a conversion writes an enum value the target version's enum
 * lacks: value @p from_value of enum @p enum_name becomes @p to_value. The
 * generic converter otherwise calls such a record impossible to convert. A
 * mapped value is reported as altered (a lossy conversion: the reader sees
 * another value than the writer wrote). Names are resolved when a record is
 * converted: @p enum_name is the full name of the source's enum (e.g.
 * "shop.v2.Order.Status") or of the target's; @p from_value a value name of
 * the source's enum, @p to_value one of the target's. A to_value the target
 * lacks makes the conversion impossible, with a message naming it.
 *
 * @return 0, RS_EINVAL, RS_EEXISTS (that value is already mapped), RS_ENOMEM
 */
RS_EXTERN int rs_registry_builder_add_enum_map(
    rs_registry_builder *builder, const char *type, const char *enum_name,
    const char *from_value, const char *to_value, rs_error *err);

/**
 * Freezes the builder into a registry. The builder is consumed whether or
 * not this succeeds.
 *
 * @param[out] out the registry, owned by the caller; free with
 *        rs_registry_free()
 * @return 0, RS_EINVAL (a type's versions do not run 1..N, or a converter
 *         or moved field names a version that was not declared; the
 *         message says which), RS_ENOMEM
 */
RS_EXTERN int rs_registry_build(rs_registry **out, rs_registry_builder *builder,
                                rs_error *err);

/** Frees a registry; NULL is allowed. No other thread may still use it. */
RS_EXTERN void rs_registry_free(rs_registry *registry);

/** Number of record types. */
RS_EXTERN size_t rs_registry_type_count(const rs_registry *registry);

/** Name of the i-th record type (sorted by name), or NULL; borrowed. */
RS_EXTERN const char *rs_registry_type_name(const rs_registry *registry,
                                            size_t i);

/** Newest format version of @p type, or 0 when the type is unknown. */
RS_EXTERN unsigned rs_registry_newest(const rs_registry *registry,
                                      const char *type);

/**
 * Descriptor of (@p type, @p version), or NULL when not registered;
 * borrowed.
 */
RS_EXTERN const ProtobufCMessageDescriptor *rs_registry_descriptor(
    const rs_registry *registry, const char *type, unsigned version);

/** Encoding of (@p type, @p version); 0 when not registered. */
RS_EXTERN rs_encoding rs_registry_encoding(const rs_registry *registry,
                                           const char *type, unsigned version);

/**
 * Schema fingerprint of (@p type, @p version): 8 bytes computed from the
 * descriptor (schema/README.md), or NULL when not registered; borrowed.
 */
RS_EXTERN const uint8_t *rs_registry_fingerprint(const rs_registry *registry,
                                                 const char *type,
                                                 unsigned version);

/** Length in bytes of every schema fingerprint. */
#define RS_FINGERPRINT_LEN 8

#ifdef __cplusplus
}
#endif
#endif
