/*
 * tests/diff/rule_reader.c: the protobuf-c reader of the rule-record tests
 * (run_rule.py). Built at test time against the C code protoc-c generates
 * from a case's old.proto (-include old.pb-c.h,
 * -DRULE_READER_DESCRIPTOR=t__m__descriptor), it unpacks one record the way
 * a service built from the old schema does and prints, on one line, what
 * that service's C code sees: "unreadable" when protobuf_c_message_unpack()
 * fails, else the message as JSON: set fields by name (strings as C sees
 * them, up to the first NUL; bytes in hex; enums as numbers), and
 * "_unknown" with the number of unknown fields when there are any.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#define MEMBER(m, off) ((const char *)(m) + (off))

static void print_value(const ProtobufCFieldDescriptor *f, const void *p);

static void print_message(const ProtobufCMessage *m) {
  const ProtobufCMessageDescriptor *d = m->descriptor;
  int first = 1;
  putchar('{');
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const void *member = MEMBER(m, f->offset);
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)MEMBER(m, f->quantifier_offset);
      if (n == 0) continue;
      printf("%s\"%s\":[", first ? "" : ",", f->name);
      size_t size =
          f->type == PROTOBUF_C_TYPE_STRING ||
                  f->type == PROTOBUF_C_TYPE_MESSAGE
              ? sizeof(void *)
          : f->type == PROTOBUF_C_TYPE_BYTES ? sizeof(ProtobufCBinaryData)
          : f->type == PROTOBUF_C_TYPE_BOOL  ? sizeof(protobuf_c_boolean)
          : f->type == PROTOBUF_C_TYPE_INT64 ||
                  f->type == PROTOBUF_C_TYPE_UINT64 ||
                  f->type == PROTOBUF_C_TYPE_SINT64 ||
                  f->type == PROTOBUF_C_TYPE_FIXED64 ||
                  f->type == PROTOBUF_C_TYPE_SFIXED64 ||
                  f->type == PROTOBUF_C_TYPE_DOUBLE
              ? 8
              : 4;
      const char *items = *(const char *const *)member;
      for (size_t k = 0; k < n; k++) {
        if (k > 0) putchar(',');
        print_value(f, items + k * size);
      }
      putchar(']');
      first = 0;
      continue;
    }
    int set;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
      set = *(const uint32_t *)MEMBER(m, f->quantifier_offset) == f->id;
    else if (f->type == PROTOBUF_C_TYPE_MESSAGE)
      set = *(const void *const *)member != NULL;
    else if (f->label == PROTOBUF_C_LABEL_REQUIRED)
      set = 1;
    else if (f->quantifier_offset != 0)
      set = *(const protobuf_c_boolean *)MEMBER(m, f->quantifier_offset);
    else if (f->type == PROTOBUF_C_TYPE_STRING)
      set = *(const char *const *)member != NULL &&
            (*(const char *const *)member)[0] != '\0';
    else if (f->type == PROTOBUF_C_TYPE_BYTES)
      set = ((const ProtobufCBinaryData *)member)->len > 0;
    else {
      static const char zero[8];
      size_t width = f->type == PROTOBUF_C_TYPE_BOOL
                         ? sizeof(protobuf_c_boolean)
                     : f->type == PROTOBUF_C_TYPE_INT64 ||
                             f->type == PROTOBUF_C_TYPE_UINT64 ||
                             f->type == PROTOBUF_C_TYPE_SINT64 ||
                             f->type == PROTOBUF_C_TYPE_FIXED64 ||
                             f->type == PROTOBUF_C_TYPE_SFIXED64 ||
                             f->type == PROTOBUF_C_TYPE_DOUBLE
                         ? 8
                         : 4;
      set = memcmp(member, zero, width) != 0;
    }
    /* An unset proto2 field with a default reads as that default: shown as
     * "name(default)" so that a test can tell it from a value written. */
    if (!set && f->default_value != NULL &&
        f->label == PROTOBUF_C_LABEL_OPTIONAL &&
        f->type != PROTOBUF_C_TYPE_MESSAGE) {
      printf("%s\"%s(default)\":", first ? "" : ",", f->name);
      print_value(f, member);
      first = 0;
      continue;
    }
    if (!set) continue;
    printf("%s\"%s\":", first ? "" : ",", f->name);
    print_value(f, member);
    first = 0;
  }
  if (m->n_unknown_fields > 0)
    printf("%s\"_unknown\":%u", first ? "" : ",",
           (unsigned)m->n_unknown_fields);
  putchar('}');
}

static void print_value(const ProtobufCFieldDescriptor *f, const void *p) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_ENUM:
      printf("%" PRId32, *(const int32_t *)p);
      break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      printf("%" PRIu32, *(const uint32_t *)p);
      break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
      printf("%" PRId64, *(const int64_t *)p);
      break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      printf("%" PRIu64, *(const uint64_t *)p);
      break;
    case PROTOBUF_C_TYPE_FLOAT:
      printf("%.9g", (double)*(const float *)p);
      break;
    case PROTOBUF_C_TYPE_DOUBLE:
      printf("%.17g", *(const double *)p);
      break;
    case PROTOBUF_C_TYPE_BOOL:
      printf("%s", *(const protobuf_c_boolean *)p ? "true" : "false");
      break;
    case PROTOBUF_C_TYPE_STRING: {
      const char *s = *(const char *const *)p;
      putchar('"');
      for (; s != NULL && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
          printf("\\%c", ch);
        else if (ch < 0x20)
          printf("\\u%04x", ch);
        else
          putchar(ch);
      }
      putchar('"');
      break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
      const ProtobufCBinaryData *b = p;
      printf("\"hex:");
      for (size_t i = 0; i < b->len; i++) printf("%02x", b->data[i]);
      putchar('"');
      break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
      print_message(*(const ProtobufCMessage *const *)p);
      break;
    default:
      printf("null");
  }
}

int main(int argc, char **argv) {
  static uint8_t buf[1 << 16];
  if (argc != 2) return 2;
  FILE *in = fopen(argv[1], "rb");
  if (in == NULL) return 2;
  size_t n = fread(buf, 1, sizeof buf, in);
  fclose(in);
  ProtobufCMessage *m =
      protobuf_c_message_unpack(&RULE_READER_DESCRIPTOR, NULL, n, buf);
  if (m == NULL) {
    puts("unreadable");
    return 0;
  }
  print_message(m);
  putchar('\n');
  protobuf_c_message_free_unpacked(m, NULL);
  return 0;
}
