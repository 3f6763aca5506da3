/*
 * src/schema/features.c: edition defaults and FeatureSet overrides.
 */
#include "features.h"

#include <string.h>

#include "codec/internal.h"

/* FileDescriptorProto.edition: google.protobuf.Edition, a varint. */
#define RS__FILE_EDITION_FIELD 14

static bool unknown_varint(const ProtobufCMessage *m, uint32_t number,
                           uint64_t *out) {
  bool found = false;
  for (unsigned i = 0; m != NULL && i < m->n_unknown_fields; i++) {
    const ProtobufCMessageUnknownField *u = &m->unknown_fields[i];
    if (u->tag != number || u->wire_type != PROTOBUF_C_WIRE_TYPE_VARINT)
      continue;
    size_t pos = 0;
    uint64_t v;
    if (rs__read_varint(u->data, u->len, &pos, &v) == 0) {
      *out = v; /* the last occurrence wins */
      found = true;
    }
  }
  return found;
}

int rs__file_edition(const Google__Protobuf__FileDescriptorProto *f,
                     int *edition, const char **why) {
  const char *syntax = f->syntax != NULL ? f->syntax : "";
  if (syntax[0] == '\0' || strcmp(syntax, "proto2") == 0) {
    *edition = RS__EDITION_PROTO2;
    return 0;
  }
  if (strcmp(syntax, "proto3") == 0) {
    *edition = RS__EDITION_PROTO3;
    return 0;
  }
  if (strcmp(syntax, "editions") != 0) {
    *why = "syntax is not proto2, proto3 or editions";
    return -1;
  }
  uint64_t e = 0;
  if (!unknown_varint(&f->base, RS__FILE_EDITION_FIELD, &e)) {
    *why = "an editions file without its edition (field 14)";
    return -1;
  }
  if (e != RS__EDITION_2023 && e != RS__EDITION_2024) {
    *why = "an edition other than 2023 and 2024";
    return -1;
  }
  *edition = (int)e;
  return 0;
}

void rs__features_of_file(rs__features *out,
                          const Google__Protobuf__FileDescriptorProto *f,
                          int edition) {
  /* descriptor.proto's feature defaults: EDITION_LEGACY (proto2),
   * EDITION_PROTO3, EDITION_2023 (which 2024 keeps for these five). */
  if (edition == RS__EDITION_PROTO2) {
    *out = (rs__features){RS__PRESENCE_EXPLICIT, RS__ENUM_CLOSED,
                          RS__REPEATED_EXPANDED, RS__UTF8_NONE,
                          RS__ENCODING_LENGTH_PREFIXED};
  } else if (edition == RS__EDITION_PROTO3) {
    *out = (rs__features){RS__PRESENCE_IMPLICIT, RS__ENUM_OPEN,
                          RS__REPEATED_PACKED, RS__UTF8_VERIFY,
                          RS__ENCODING_LENGTH_PREFIXED};
  } else {
    *out = (rs__features){RS__PRESENCE_EXPLICIT, RS__ENUM_OPEN,
                          RS__REPEATED_PACKED, RS__UTF8_VERIFY,
                          RS__ENCODING_LENGTH_PREFIXED};
  }
  if (rs__is_editions(edition))
    rs__features_merge(out, (const ProtobufCMessage *)f->options,
                       RS__FEATURES_OF_FILE);
}

/* Applies one serialized FeatureSet: its known enum fields with values
 * descriptor.proto defines; the rest is left alone. */
static void apply(rs__features *f, const uint8_t *buf, size_t len) {
  size_t pos = 0;
  while (pos < len) {
    rs__wfield w;
    const char *why;
    if (rs__read_field(buf, len, &pos, &w, &why) != 0) return;
    if (w.wire_type != RS__WT_VARINT) continue;
    uint64_t v = w.value;
    switch (w.number) {
      case 1:
        if (v >= 1 && v <= 3) f->presence = (uint8_t)v;
        break;
      case 2:
        if (v >= 1 && v <= 2) f->enum_type = (uint8_t)v;
        break;
      case 3:
        if (v >= 1 && v <= 2) f->repeated = (uint8_t)v;
        break;
      case 4:
        if (v >= 2 && v <= 3) f->utf8 = (uint8_t)v;
        break;
      case 5:
        if (v >= 1 && v <= 2) f->encoding = (uint8_t)v;
        break;
      default:
        break;
    }
  }
}

void rs__features_merge(rs__features *f, const ProtobufCMessage *options,
                        uint32_t number) {
  for (unsigned i = 0; options != NULL && i < options->n_unknown_fields; i++) {
    const ProtobufCMessageUnknownField *u = &options->unknown_fields[i];
    if (u->tag != number ||
        u->wire_type != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
      continue;
    /* protobuf-c keeps an unknown length-delimited field with its length
     * prefix. */
    size_t pos = 0;
    uint64_t n;
    if (rs__read_varint(u->data, u->len, &pos, &n) == 0 && n <= u->len - pos)
      apply(f, u->data + pos, (size_t)n);
  }
}
