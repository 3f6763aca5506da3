/*
 * tests/differential/print.c: the JSON form of a message that the
 * differential readers print (print.h), and their request lines. Messages
 * are walked through their ProtobufCMessageDescriptor only, so protoc-c's
 * generated descriptors and rollsafe's runtime ones print alike.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "print.h"

static void print_hex(const uint8_t *p, size_t n) {
  putchar('"');
  for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
  putchar('"');
}

static size_t element_size(ProtobufCType type) {
  switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
      return sizeof(int32_t);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      return sizeof(uint32_t);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
      return sizeof(int64_t);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      return sizeof(uint64_t);
    case PROTOBUF_C_TYPE_FLOAT:
      return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
      return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
      return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
      return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
      return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
      return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
      return sizeof(ProtobufCMessage *);
  }
  return 0;
}

/* One value of @field's type at @p. */
static void print_value(const ProtobufCFieldDescriptor *field, const void *p) {
  switch (field->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32: {
      int32_t v;
      memcpy(&v, p, sizeof v);
      printf("%" PRId32, v);
      break;
    }
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: {
      uint32_t v;
      memcpy(&v, p, sizeof v);
      printf("%" PRIu32, v);
      break;
    }
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64: {
      int64_t v;
      memcpy(&v, p, sizeof v);
      printf("%" PRId64, v);
      break;
    }
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64: {
      uint64_t v;
      memcpy(&v, p, sizeof v);
      printf("%" PRIu64, v);
      break;
    }
    case PROTOBUF_C_TYPE_FLOAT: {
      float v;
      memcpy(&v, p, sizeof v);
      printf("{\"d\": \"%a\"}", (double)v);
      break;
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
      double v;
      memcpy(&v, p, sizeof v);
      printf("{\"d\": \"%a\"}", v);
      break;
    }
    case PROTOBUF_C_TYPE_BOOL: {
      protobuf_c_boolean v;
      memcpy(&v, p, sizeof v);
      printf("%s", v ? "true" : "false");
      break;
    }
    case PROTOBUF_C_TYPE_ENUM: {
      int v;
      memcpy(&v, p, sizeof v);
      const ProtobufCEnumDescriptor *e = field->descriptor;
      printf("{\"e\": %d, \"k\": %d}", v,
             protobuf_c_enum_descriptor_get_value(e, v) != NULL);
      break;
    }
    case PROTOBUF_C_TYPE_STRING: {
      const char *s;
      memcpy(&s, p, sizeof s);
      printf("{\"s\": ");
      print_hex((const uint8_t *)(s ? s : ""), s ? strlen(s) : 0);
      putchar('}');
      break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
      ProtobufCBinaryData b;
      memcpy(&b, p, sizeof b);
      printf("{\"b\": ");
      print_hex(b.data, b.len);
      putchar('}');
      break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
      const ProtobufCMessage *m;
      memcpy(&m, p, sizeof m);
      printf("{\"m\": ");
      dc_print_message(m);
      size_t size = protobuf_c_message_get_packed_size(m);
      uint8_t *packed = malloc(size ? size : 1);
      if (packed == NULL) {
        fprintf(stderr, "differential reader: out of memory\n");
        exit(3);
      }
      size_t n = protobuf_c_message_pack(m, packed);
      printf(", \"p\": ");
      print_hex(packed, n);
      free(packed);
      putchar('}');
      break;
    }
  }
}

/* Whether a non-repeated field is set, as generated C code tells. */
static int is_set(const ProtobufCFieldDescriptor *field, const char *base) {
  const void *member = base + field->offset;
  if (field->label == PROTOBUF_C_LABEL_REQUIRED) return 1;
  if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
    uint32_t which;
    memcpy(&which, base + field->quantifier_offset, sizeof which);
    return which == field->id;
  }
  if (field->type == PROTOBUF_C_TYPE_MESSAGE ||
      field->type == PROTOBUF_C_TYPE_STRING) {
    const void *ptr;
    memcpy(&ptr, member, sizeof ptr);
    /* An absent proto2 string is NULL or points at its default. */
    if (field->label == PROTOBUF_C_LABEL_OPTIONAL &&
        field->type == PROTOBUF_C_TYPE_STRING)
      return ptr != NULL && ptr != field->default_value;
    /* proto3 strings always have a value ("" when absent). */
    return ptr != NULL || field->type == PROTOBUF_C_TYPE_STRING;
  }
  if (field->label == PROTOBUF_C_LABEL_NONE) return 1;
  protobuf_c_boolean has;
  memcpy(&has, base + field->quantifier_offset, sizeof has);
  return has;
}

void dc_print_message(const ProtobufCMessage *msg) {
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  const char *base = (const char *)msg;
  putchar('{');
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *field = &d->fields[i];
    printf("\"%" PRIu32 "\": ", field->id);
    if (field->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n;
      const char *array;
      memcpy(&n, base + field->quantifier_offset, sizeof n);
      memcpy(&array, base + field->offset, sizeof array);
      putchar('[');
      for (size_t k = 0; k < n; k++) {
        if (k > 0) printf(", ");
        print_value(field, array + k * element_size(field->type));
      }
      putchar(']');
    } else if (is_set(field, base)) {
      print_value(field, base + field->offset);
    } else {
      printf("null");
    }
    printf(", ");
  }
  printf("\"#u\": %u}", msg->n_unknown_fields);
}

void dc_print_error(const char *text) {
  printf("{\"error\": \"");
  for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
    if (*p == '"' || *p == '\\')
      printf("\\%c", *p);
    else if (*p < 0x20 || *p >= 0x7f)
      printf("\\u%04x", *p);
    else
      putchar(*p);
  }
  printf("\"}\n");
}

static int hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int dc_read_request(dc_request *req, const char *prog) {
  free(req->buf);
  req->buf = NULL;
  req->len = 0;
  ssize_t got = getline(&req->line, &req->cap, stdin);
  if (got <= 0) return 0;
  while (got > 0 && (req->line[got - 1] == '\n' || req->line[got - 1] == '\r'))
    req->line[--got] = '\0';
  char *space = strchr(req->line, ' ');
  const char *hex = space ? space + 1 : "";
  if (space) *space = '\0';
  req->name = req->line;
  size_t n = strlen(hex) / 2;
  req->buf = malloc(n ? n : 1);
  if (req->buf == NULL || strlen(hex) % 2 != 0) {
    fprintf(stderr, "%s: bad request for %s\n", prog, req->line);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      fprintf(stderr, "%s: bad hex for %s\n", prog, req->line);
      return -1;
    }
    req->buf[i] = (uint8_t)(hi << 4 | lo);
  }
  req->len = n;
  return 1;
}

void dc_request_dispose(dc_request *req) {
  free(req->buf);
  free(req->line);
  memset(req, 0, sizeof *req);
}
