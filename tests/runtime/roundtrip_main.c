/*
 * rs_runtime_roundtrip SCHEMA MESSAGE IN OUT: unpacks IN with the runtime
 * descriptor of MESSAGE built from SCHEMA (a descriptor set or .proto),
 * packs it again into OUT, and frees it. Exit 0, or 1 with a message.
 * The feature-matrix test (test_runtime.py) compares OUT with IN.
 */
#include <stdio.h>
#include <stdlib.h>

#include <rollsafe/rollsafe.h>

static int fail(const char *what) {
  fprintf(stderr, "rs_runtime_roundtrip: %s\n", what);
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 5) return fail("usage: SCHEMA MESSAGE IN OUT");
  rs_schema *s = NULL;
  rs_error err = RS_ERROR_INIT;
  if (rs_schema_load(&s, argv[1], NULL, &err) != 0) return fail(err.message);
  const ProtobufCMessageDescriptor *d = rs_schema_message(s, argv[2]);
  if (d == NULL) {
    rs_schema_free(s);
    return fail("no such message");
  }
  FILE *f = fopen(argv[3], "rb");
  if (f == NULL) {
    rs_schema_free(s);
    return fail("cannot open IN");
  }
  static uint8_t in[1 << 20];
  size_t n = fread(in, 1, sizeof in, f);
  fclose(f);
  ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, n, in);
  if (m == NULL) {
    rs_schema_free(s);
    return fail("protobuf-c cannot unpack IN");
  }
  size_t len = protobuf_c_message_get_packed_size(m);
  uint8_t *out = malloc(len ? len : 1);
  int rc = 0;
  if (out == NULL || protobuf_c_message_pack(m, out) != len)
    rc = fail("pack failed");
  f = rc == 0 ? fopen(argv[4], "wb") : NULL;
  if (rc == 0 && (f == NULL || fwrite(out, 1, len, f) != len))
    rc = fail("cannot write OUT");
  if (f != NULL && fclose(f) != 0) rc = fail("cannot write OUT");
  free(out);
  protobuf_c_message_free_unpacked(m, NULL);
  rs_schema_free(s);
  return rc;
}
