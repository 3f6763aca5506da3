/*
 * rollsafe/schema.h: record types from schemas given at run time.
 *
 * A schema is a FileDescriptorSet (`protoc --include_imports
 * --descriptor_set_out=FILE`, or `protoc-c -o FILE`), or a `.proto` file
 * that protoc compiles into one. From it, rollsafe builds protobuf-c
 * message and enum descriptors in memory, laid out as protoc-c would lay out
 * the generated C structs, so that protobuf-c itself (protobuf_c_message_
 * unpack, pack and free_unpacked) decodes and encodes every message type of
 * the set: proto2 and proto3, optional and proto3 `optional`, repeated and
 * packed, oneofs, maps, nested and recursive messages, enums and defaults.
 *
 * Such descriptors are passed to rs_registry_builder_add_version() like
 * generated ones. An rs_schema owns all of their memory: it must outlive
 * every registry and every message that uses its descriptors.
 *
 * Differences from protoc-c's generated descriptors:
 * - message_init is NULL (protobuf-c then initialises a message from the
 *   descriptor: zeroes and default values); call rs_message_init(), never
 *   protobuf_c_message_init(), on them;
 * - a proto3 `optional` field is PROTOBUF_C_LABEL_OPTIONAL with a has_
 *   member (for scalars and bytes), as a proto2 optional field;
 * - the fields of a map entry message track presence (optional, with has_),
 *   so that an entry is written back with the fields it was read with;
 * - a proto3 string field (an editions one with utf8_validation = VERIFY)
 *   carries RS_FIELD_FLAG_UTF8 in reserved_flags: classification judges
 *   invalid UTF-8 in it (protobuf-c does not check); other string fields
 *   carry RS_FIELD_FLAG_NO_UTF8;
 * - an enum field carries RS_FIELD_FLAG_CLOSED_ENUM (its enum is a proto2
 *   one, or an editions one with enum_type = CLOSED) or
 *   RS_FIELD_FLAG_OPEN_ENUM (proto3, editions' default): what runtimes
 *   other than protobuf-c do with a number the enum lacks;
 * - editions files (`edition = "2023"` or "2024") are read through their
 *   features, resolved from the file's defaults through each enclosing
 *   message to the field: field_presence (LEGACY_REQUIRED is
 *   PROTOBUF_C_LABEL_REQUIRED, IMPLICIT is PROTOBUF_C_LABEL_NONE, as in
 *   proto3), enum_type, repeated_field_encoding (PROTOBUF_C_FIELD_FLAG_PACKED),
 *   utf8_validation (the flags above), message_encoding;
 * - a message field written with start- and end-group tags (a proto2
 *   group, an editions field with message_encoding = DELIMITED) is a
 *   PROTOBUF_C_TYPE_MESSAGE field carrying RS_FIELD_FLAG_DELIMITED:
 *   protobuf-c itself cannot read it (it fails wire types 3 and 4), so
 *   rs_schema_register refuses a record type that reaches one.
 * message_set_wire_format is refused (protobuf-c cannot read it);
 * extensions are not fields of their message (their fields stay unknown).
 */
#ifndef ROLLSAFE_SCHEMA_H
#define ROLLSAFE_SCHEMA_H

#include "errors.h"
#include "registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A loaded schema and the protobuf-c descriptors built from it. */
typedef struct rs_schema rs_schema;

/** Set in ProtobufCFieldDescriptor.reserved_flags of proto3 string fields. */
#define RS_FIELD_FLAG_UTF8 (1u << 0)
/** Set in ProtobufCFieldDescriptor.reserved_flags of enum fields whose enum
 * is closed (proto2). */
#define RS_FIELD_FLAG_CLOSED_ENUM (1u << 1)
/** Set in ProtobufCFieldDescriptor.reserved_flags of enum fields whose enum
 * is open (proto3). */
#define RS_FIELD_FLAG_OPEN_ENUM (1u << 2)
/** Set in ProtobufCFieldDescriptor.reserved_flags of string fields whose
 * UTF-8 no reader checks (proto2; editions' utf8_validation = NONE). */
#define RS_FIELD_FLAG_NO_UTF8 (1u << 3)
/** Set in ProtobufCFieldDescriptor.reserved_flags of message fields written
 * as groups (proto2 groups; editions' message_encoding = DELIMITED). */
#define RS_FIELD_FLAG_DELIMITED (1u << 4)
/** Set in ProtobufCFieldDescriptor.reserved_flags of every field of a
 * message declared in an editions file. */
#define RS_FIELD_FLAG_EDITIONS (1u << 5)
/** Set in ProtobufCFieldDescriptor.reserved_flags of a map entry's key and
 * value in a proto3 file: the label is LABEL_OPTIONAL, so that an unpack
 * keeps what the bytes hold, but the reader's code cannot ask whether they
 * are set (protoc-c's own descriptors say LABEL_NONE). */
#define RS_FIELD_FLAG_NO_PRESENCE (1u << 6)

/** Most message and enum types a schema may define. */
#define RS_SCHEMA_MAX_TYPES 100000
/** Most fields of one message, and values of one enum. */
#define RS_SCHEMA_MAX_FIELDS 65535
/** Most fields and enum values of all types together. */
#define RS_SCHEMA_MAX_TOTAL_FIELDS 1000000
/** Deepest nesting of message declarations. */
#define RS_SCHEMA_MAX_NESTING 64

/** Options of rs_schema_load() and rs_schema_from_bytes(). */
typedef struct rs_schema_options {
  unsigned version; /**< RS_SCHEMA_OPTIONS_VERSION */
  /** NULL-terminated import paths for `.proto` files (the file's own
   * directory always comes first), or NULL. */
  const char *const *include_dirs;
  /** Where the descriptors' memory comes from; NULL for malloc. It must
   * outlive the schema. (The decoded descriptor set, whose names the
   * descriptors share, comes from malloc.) */
  const ProtobufCAllocator *allocator;
} rs_schema_options;

#define RS_SCHEMA_OPTIONS_VERSION 1
#define RS_SCHEMA_OPTIONS_INIT \
  { RS_SCHEMA_OPTIONS_VERSION, NULL, NULL }

/**
 * Loads a schema file: a serialized FileDescriptorSet, or a `.proto` file
 * (compiled with `protoc --include_imports`; protoc is found on PATH, or
 * named by $PROTOC).
 *
 * @param[out] out the schema, owned by the caller; free with rs_schema_free()
 * @param path the file
 * @param options NULL for the defaults
 * @param err filled on failure (the message names the file, and the message
 *        type and field at fault); may be NULL
 * @return 0, RS_EIO (cannot read the file, protoc missing or failing),
 *         RS_EDECODE (not a FileDescriptorSet), RS_EINVAL (a descriptor
 *         protobuf-c cannot use: a missing import, an unknown or duplicate
 *         type name, a field number out of range, a group), RS_ELIMIT (over
 *         a size or count limit), RS_ENOMEM
 */
RS_EXTERN int rs_schema_load(rs_schema **out, const char *path,
                             const rs_schema_options *options, rs_error *err);

/**
 * Builds a schema from the bytes of a serialized FileDescriptorSet.
 *
 * @param what names the input in error messages (e.g. a file name)
 * @return as rs_schema_load(), without RS_EIO
 */
RS_EXTERN int rs_schema_from_bytes(rs_schema **out, const uint8_t *buf,
                                   size_t len, const char *what,
                                   const rs_schema_options *options,
                                   rs_error *err);

/** Frees a schema and every descriptor it built; NULL is allowed. Nothing
 * may use its descriptors afterwards. */
RS_EXTERN void rs_schema_free(rs_schema *schema);

/** Number of message types (nested ones and map entries included). */
RS_EXTERN size_t rs_schema_message_count(const rs_schema *schema);

/** The i-th message type, sorted by full name, or NULL; borrowed. */
RS_EXTERN const ProtobufCMessageDescriptor *rs_schema_message_at(
    const rs_schema *schema, size_t i);

/**
 * The message type of full name @p name ("shop.v2.Order"; a leading dot is
 * allowed), or NULL; borrowed from the schema.
 */
RS_EXTERN const ProtobufCMessageDescriptor *rs_schema_message(
    const rs_schema *schema, const char *name);

/** The enum type of full name @p name, or NULL; borrowed. */
RS_EXTERN const ProtobufCEnumDescriptor *rs_schema_enum(const rs_schema *schema,
                                                        const char *name);

/**
 * Finds the message a record type names in one version's schema: the
 * message of full name @p name, else the only message whose full name equals
 * @p name once version components of the package are left out on both
 * sides (a component such as `v1`, `v2`, `v1beta1`): `shop.Order` and
 * `shop.v2.Order` both find `shop.v1.Order` in a schema of package
 * `shop.v1`.
 *
 * @param[out] out the descriptor, borrowed from the schema
 * @return 0, RS_ENOTFOUND (no such message, or several match: the message
 *         lists them)
 */
RS_EXTERN int rs_schema_find_message(const ProtobufCMessageDescriptor **out,
                                     const rs_schema *schema, const char *name,
                                     rs_error *err);

/**
 * Registers record type @p type with one format version per schema:
 * version i + 1 is the message @p message of @p schemas[i] (found with
 * rs_schema_find_message(), so the package's version component may differ
 * between schemas). Version 1 is raw protobuf (what code wrote before
 * rollsafe); later versions are enveloped, as rs_encode() writes them.
 *
 * @param builder from rs_registry_builder_new()
 * @param type the record type name, e.g. "shop.Order"
 * @param schemas oldest first; each must outlive the registry built
 * @param message the message name to find; NULL to use @p type
 * @return 0, RS_EINVAL, RS_ENOTFOUND (a schema lacks the message: the
 *         message names the schema), RS_EEXISTS, RS_ENOMEM
 */
RS_EXTERN int rs_schema_register(rs_registry_builder *builder, const char *type,
                                 const rs_schema *const *schemas,
                                 size_t n_schemas, const char *message,
                                 rs_error *err);

/**
 * Initialises a message of any descriptor, generated or built at run time:
 * zeroes its descriptor->sizeof_message bytes, sets the descriptor and the
 * default values, as protobuf-c does before unpacking. Generated
 * descriptors use their own message_init.
 *
 * @param message at least descriptor->sizeof_message bytes
 */
RS_EXTERN void rs_message_init(const ProtobufCMessageDescriptor *descriptor,
                               ProtobufCMessage *message);

#ifdef __cplusplus
}
#endif
#endif
