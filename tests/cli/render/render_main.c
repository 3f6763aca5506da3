/*
 * rs_render_test: decodes one message from standard input with a test
 * descriptor and prints rs__json_message() of it, for tests/cli/test_cli.py.
 *
 * usage: rs_render_test MESSAGE   (e.g. rstest.All)
 * Exit status: 0 printed, 1 the bytes do not decode, 2 usage, 3 I/O or
 * out of memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "render_test.pb-c.h"
#include "render_test3.pb-c.h"
#include "report/json_record.h"

static const ProtobufCMessageDescriptor *const descriptors[] = {
    &rstest__all__descriptor,  &rstest__inner__descriptor,
    &rstest__wide__descriptor, &rstest3__p3__descriptor,
    &rstest3__sub__descriptor,
};

int main(int argc, char **argv) {
  if (argc != 2) {
    fputs("usage: rs_render_test MESSAGE < bytes\n", stderr);
    return 2;
  }
  const ProtobufCMessageDescriptor *d = NULL;
  for (size_t i = 0; i < sizeof descriptors / sizeof descriptors[0]; i++)
    if (strcmp(descriptors[i]->name, argv[1]) == 0) d = descriptors[i];
  if (d == NULL) {
    fprintf(stderr, "rs_render_test: unknown message '%s'\n", argv[1]);
    return 2;
  }

  size_t cap = 1 << 16, len = 0, got;
  uint8_t *buf = malloc(cap);
  if (buf == NULL) return 3;
  while ((got = fread(buf + len, 1, cap - len, stdin)) > 0) {
    len += got;
    if (len == cap) {
      uint8_t *nbuf = realloc(buf, cap *= 2);
      if (nbuf == NULL) {
        free(buf);
        return 3;
      }
      buf = nbuf;
    }
  }

  ProtobufCMessage *msg = protobuf_c_message_unpack(d, NULL, len, buf);
  free(buf);
  if (msg == NULL) {
    fputs("rs_render_test: the input does not decode\n", stderr);
    return 1;
  }
  json_t *j = rs__json_message(msg);
  protobuf_c_message_free_unpacked(msg, NULL);
  if (j == NULL) return 3;
  int rc = json_dumpf(j, stdout, JSON_INDENT(2)) == 0 ? 0 : 3;
  json_decref(j);
  putchar('\n');
  return rc;
}
