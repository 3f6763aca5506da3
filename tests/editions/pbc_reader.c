/*
 * tests/editions/pbc_reader.c: a protobuf-c reader of one case's
 * version-1 schema, as protoc-c generates it (the generated header comes in
 * with -include, its descriptor's name as -DRS_ED_DESC), linked with
 * libprotobuf-c and the differential suite's printer (tests/differential/
 * print.c) only. Reads varint-length-delimited records from standard input
 * and prints one JSON document a line per record, in the form of print.h:
 * what protobuf_c_message_unpack gives, or {"error": "unpack failed"}.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <protobuf-c/protobuf-c.h>

#include "print.h"

static int read_varint(FILE *in, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    int c = getc(in);
    if (c == EOF) return shift == 0 ? 1 : -1;
    v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return -1;
}

int main(void) {
  for (;;) {
    uint64_t len;
    int rc = read_varint(stdin, &len);
    if (rc == 1) return 0;
    if (rc != 0 || len > (1u << 20)) return 2;
    uint8_t *buf = malloc(len ? len : 1);
    if (buf == NULL || fread(buf, 1, len, stdin) != len) return 2;
    ProtobufCMessage *m =
        protobuf_c_message_unpack(&RS_ED_DESC, NULL, len, buf);
    if (m == NULL) {
      dc_print_error("unpack failed");
    } else {
      dc_print_message(m);
      putchar('\n');
      protobuf_c_message_free_unpacked(m, NULL);
    }
    free(buf);
  }
}
