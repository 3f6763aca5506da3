/*
 * src/schema/features.h: the rules a .proto file gives its fields, resolved
 * as protobuf editions resolve features (file defaults, then each
 * enclosing message, then the field), for proto2, proto3 and editions
 * files alike. Internal to librollsafe.
 *
 * rollsafe compiles descriptor.proto as Debian 12 ships it (protobuf
 * 3.21), which predates editions: FileDescriptorProto.edition (field 14)
 * and the `features` of FileOptions (50), MessageOptions (12),
 * FieldOptions (21), OneofOptions (1) and EnumOptions (7) arrive as
 * unknown fields, and are read from there (google.protobuf.FeatureSet:
 * field_presence = 1, enum_type = 2, repeated_field_encoding = 3,
 * utf8_validation = 4, message_encoding = 5).
 */
#ifndef RS_SCHEMA_FEATURES_H
#define RS_SCHEMA_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "google/protobuf/descriptor.pb-c.h"

/* FeatureSet's enum values, as descriptor.proto numbers them. */
enum {
  RS__PRESENCE_EXPLICIT = 1,
  RS__PRESENCE_IMPLICIT = 2,
  RS__PRESENCE_LEGACY_REQUIRED = 3,
  RS__ENUM_OPEN = 1,
  RS__ENUM_CLOSED = 2,
  RS__REPEATED_PACKED = 1,
  RS__REPEATED_EXPANDED = 2,
  RS__UTF8_VERIFY = 2,
  RS__UTF8_NONE = 3,
  RS__ENCODING_LENGTH_PREFIXED = 1,
  RS__ENCODING_DELIMITED = 2
};

/* Edition numbers (google.protobuf.Edition). */
#define RS__EDITION_PROTO2 998
#define RS__EDITION_PROTO3 999
#define RS__EDITION_2023 1000
#define RS__EDITION_2024 1001

/* Field numbers of `features` in the options messages. */
#define RS__FEATURES_OF_FILE 50
#define RS__FEATURES_OF_MESSAGE 12
#define RS__FEATURES_OF_FIELD 21
#define RS__FEATURES_OF_ONEOF 1
#define RS__FEATURES_OF_ENUM 7

typedef struct rs__features {
  uint8_t presence, enum_type, repeated, utf8, encoding;
} rs__features;

/*
 * A file's edition: RS__EDITION_PROTO2 or _PROTO3 from its syntax, or the
 * edition of an `edition = "..."` file. Returns 0, or -1 with why (static
 * text) for a syntax or edition rollsafe does not know.
 */
int rs__file_edition(const Google__Protobuf__FileDescriptorProto *f,
                     int *edition, const char **why);

/* The defaults of an edition (proto2 and proto3 included), then the
 * file's own features. */
void rs__features_of_file(rs__features *out,
                          const Google__Protobuf__FileDescriptorProto *f,
                          int edition);

/* Overrides *f with the features an options message (NULL: none) sets in
 * its field `number` (RS__FEATURES_OF_*). */
void rs__features_merge(rs__features *f, const ProtobufCMessage *options,
                        uint32_t number);

/* Whether an editions file (not proto2 or proto3). */
static inline bool rs__is_editions(int edition) {
  return edition != RS__EDITION_PROTO2 && edition != RS__EDITION_PROTO3;
}

#endif
