/*
 * Schema fingerprint: FNV-1a 64 over a canonical text of the descriptor,
 * stored big-endian. The canonical text (schema/README.md) covers what
 * decoding depends on (numbers, labels, types, nested messages, enum
 * values) and not names, so renaming a field or package keeps it.
 *
 *   canon(M) = "{" entry(f) (";" entry(f))* "}"     fields by ascending number
 *   entry(f) = number ":" label ":" type [":" sub]
 *   sub      = canon(sub-message) | "^" k (message already on the path at
 *              depth k) | "[" enum numbers ascending, "," separated "]"
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

typedef struct fnv {
  uint64_t h;
} fnv;

static void fnv_bytes(fnv *f, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    f->h ^= (uint8_t)s[i];
    f->h *= 0x100000001b3ull;
  }
}

static void fnv_str(fnv *f, const char *s) {
  fnv_bytes(f, s, strlen(s));
}

static void fnv_uint(fnv *f, unsigned long long v) {
  char tmp[32];
  int n = snprintf(tmp, sizeof tmp, "%llu", v);
  fnv_bytes(f, tmp, (size_t)n);
}

static const char *label_name(ProtobufCLabel l) {
  switch (l) {
    case PROTOBUF_C_LABEL_REQUIRED:
      return "required";
    case PROTOBUF_C_LABEL_REPEATED:
      return "repeated";
    default: /* optional, and proto3 fields without presence */
      return "optional";
  }
}

#define RS__FP_MAX_PATH 128

/* Most sub-messages expanded: types that share sub-messages widely (a chain
 * of messages each holding two of the next) would otherwise expand into
 * more text than exists. Past it, "^cap" stands for the sub-message; the
 * text stays a function of the descriptor. Real schemas stay far below. */
#define RS__FP_MAX_EXPANSIONS 200000

static void canon(fnv *f, const ProtobufCMessageDescriptor *d,
                  const ProtobufCMessageDescriptor **path, unsigned depth,
                  unsigned *budget) {
  path[depth] = d;
  fnv_str(f, "{");
  /* protobuf-c keeps fields sorted by number. */
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *fd = &d->fields[i];
    if (i > 0) fnv_str(f, ";");
    fnv_uint(f, fd->id);
    fnv_str(f, ":");
    fnv_str(f, label_name(fd->label));
    fnv_str(f, ":");
    /* A message written as a group (RS_FIELD_FLAG_DELIMITED: a proto2
     * group, editions' DELIMITED) is descriptor.proto's TYPE_GROUP. */
    fnv_str(f, fd->type == PROTOBUF_C_TYPE_MESSAGE &&
                       (fd->reserved_flags & RS_FIELD_FLAG_DELIMITED)
                   ? "group"
                   : rs__type_name(fd->type));
    if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
      const ProtobufCMessageDescriptor *sub = fd->descriptor;
      unsigned k = 0;
      while (k <= depth && path[k] != sub) k++;
      fnv_str(f, ":");
      if (k <= depth) {
        fnv_str(f, "^");
        fnv_uint(f, k);
      } else if (depth + 1 >= RS__FP_MAX_PATH) {
        fnv_str(f, "^deep"); /* cannot happen without recursion; keep bounded */
      } else if (*budget == 0) {
        fnv_str(f, "^cap");
      } else {
        --*budget;
        canon(f, sub, path, depth + 1, budget);
      }
    } else if (fd->type == PROTOBUF_C_TYPE_ENUM) {
      const ProtobufCEnumDescriptor *e = fd->descriptor;
      fnv_str(f, ":[");
      for (unsigned j = 0; j < e->n_values; j++) {
        if (j > 0) fnv_str(f, ",");
        char tmp[16];
        int n = snprintf(tmp, sizeof tmp, "%d", e->values[j].value);
        fnv_bytes(f, tmp, (size_t)n);
      }
      fnv_str(f, "]");
    }
  }
  fnv_str(f, "}");
}

void rs__fingerprint(const ProtobufCMessageDescriptor *d,
                     uint8_t out[RS_FINGERPRINT_LEN]) {
  const ProtobufCMessageDescriptor *path[RS__FP_MAX_PATH];
  fnv f = {0xcbf29ce484222325ull};
  unsigned budget = RS__FP_MAX_EXPANSIONS;
  canon(&f, d, path, 0, &budget);
  for (int i = 0; i < RS_FINGERPRINT_LEN; i++)
    out[i] = (uint8_t)(f.h >> (8 * (RS_FINGERPRINT_LEN - 1 - i)));
}
