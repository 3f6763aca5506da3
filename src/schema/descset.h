/*
 * src/schema/descset.h: reading a FileDescriptorSet, the form in which
 * `protoc --descriptor_set_out` (or `protoc-c -o`) hands a schema over at
 * run time. Internal to librollsafe: names carry the rs__ prefix.
 *
 * google/protobuf/descriptor.proto is compiled by protoc-c at build time
 * (Google__Protobuf__* in the build tree), so the set is decoded by
 * protobuf-c itself, under a size limit.
 */
#ifndef RS_SCHEMA_DESCSET_H
#define RS_SCHEMA_DESCSET_H

#include <stddef.h>
#include <stdint.h>

#include <rollsafe/errors.h>

#include "google/protobuf/descriptor.pb-c.h"

/** Deepest nesting of messages in a descriptor set's bytes (declarations
 * nested in declarations, options). */
#define RS__DESCSET_MAX_DEPTH 100

/** Largest descriptor set accepted, in bytes. */
#define RS__DESCSET_MAX_BYTES ((size_t)64 << 20)

/**
 * Decodes a serialized FileDescriptorSet.
 *
 * @param[out] out the set, owned by the caller; free with rs__descset_free()
 * @param what names the input in error messages (a file path)
 * @return 0, RS_EDECODE (not a FileDescriptorSet; the message names @p what),
 *         RS_ELIMIT (over RS__DESCSET_MAX_BYTES or RS__DESCSET_MAX_DEPTH),
 *         RS_ENOMEM
 */
int rs__descset_parse(Google__Protobuf__FileDescriptorSet **out,
                      const uint8_t *buf, size_t len, const char *what,
                      rs_error *err);

/**
 * Loads a schema file: a serialized FileDescriptorSet, or a `.proto` file,
 * which is compiled with `protoc --include_imports --include_source_info`
 * (found on PATH, else protoc-c, which writes the same sets; $PROTOC
 * overrides) with the file's own directory and
 * @p include_dirs as import paths.
 *
 * @param include_dirs NULL-terminated list of extra import paths, or NULL
 * @return 0, RS_EIO (cannot read the file, protoc missing or failed: the
 *         message carries protoc's first error line), RS_EDECODE, RS_ELIMIT,
 *         RS_ENOMEM
 */
int rs__descset_load(Google__Protobuf__FileDescriptorSet **out,
                     const char *path, const char *const *include_dirs,
                     rs_error *err);

/**
 * The compiler rs__descset_load runs on a `.proto`: $PROTOC when set (NULL
 * when it does not run), else protoc, else protoc-c, found on PATH; NULL
 * when there is none. Static storage or the environment's; not to be freed.
 */
const char *rs__protoc_command(void);

/** Frees a set from rs__descset_parse/load; NULL is allowed. */
void rs__descset_free(Google__Protobuf__FileDescriptorSet *set);

#endif
