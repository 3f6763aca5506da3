/*
 * tests/differential/reader.c: the protobuf-c reader of the differential
 * corpus. It links protoc-c's generated code of every case's version-1
 * schema and libprotobuf-c, nothing of rollsafe.
 *
 * Standard input: one request a line, "CASE HEX"; standard output: one JSON
 * document a line (print.h), what protobuf_c_message_unpack() of
 * dc.<CASE>.v1.Rec gives, walked through protoc-c's generated descriptor.
 * A failed unpack prints {"error": "unpack failed"}; an unknown case
 * {"error": "unknown case"}. Exit status 0 unless the input is malformed.
 */
#include <stdio.h>
#include <string.h>

#include "print.h"
#include "reader.h"

static const dc_case *find_case(const char *name) {
  for (size_t i = 0; i < dc_n_cases; i++)
    if (strcmp(dc_cases[i].name, name) == 0) return &dc_cases[i];
  return NULL;
}

int main(void) {
  dc_request req = {0};
  int got;
  while ((got = dc_read_request(&req, "dc_reader")) > 0) {
    const dc_case *c = find_case(req.name);
    if (c == NULL) {
      dc_print_error("unknown case");
    } else {
      ProtobufCMessage *msg =
          protobuf_c_message_unpack(c->rec, NULL, req.len, req.buf);
      if (msg == NULL) {
        dc_print_error("unpack failed");
      } else {
        dc_print_message(msg);
        putchar('\n');
        protobuf_c_message_free_unpacked(msg, NULL);
      }
    }
    fflush(stdout);
  }
  dc_request_dispose(&req);
  return got < 0 ? 2 : 0;
}
