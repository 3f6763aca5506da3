/*
 * Fuzz target: rs_schema_from_bytes() on descriptor sets as an operator (or
 * an attacker with write access to a schema directory) could hand them over.
 *
 * Invariants, beyond "no crash, no hang, no leak, no undefined behaviour":
 *  - a failure is one of the documented codes, with err filled in, a
 *    message that names the input, and *out NULL;
 *  - on success every message descriptor is one protobuf-c can use: fields
 *    sorted by number with unique numbers in 1..2^29-1, ranges and the
 *    by-name index consistent with them, every member inside the message;
 *    a registry takes it (fingerprint, static depth; with the set's
 *    extensions as fields, when it declares any), rollsafe classifies a
 *    few fixed inputs with it for protobuf-c, C++ and Java, and protobuf-c
 *    unpacks them, packs what it unpacked and frees it (every byte touched
 *    under ASan).
 */
#include <string.h>

#include "fuzz_common.h"

static void check_message(const ProtobufCMessageDescriptor *d) {
  FUZZ_CHECK(d->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC, "%s", d->name);
  FUZZ_CHECK(d->sizeof_message >= sizeof(ProtobufCMessage), "%s", d->name);
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    FUZZ_CHECK(f->id >= 1 && f->id <= 536870911u, "%s.%s", d->name, f->name);
    FUZZ_CHECK(i == 0 || d->fields[i - 1].id < f->id, "%s unsorted", d->name);
    FUZZ_CHECK(f->offset < d->sizeof_message &&
                   f->quantifier_offset < d->sizeof_message,
               "%s.%s outside the message", d->name, f->name);
    FUZZ_CHECK(protobuf_c_message_descriptor_get_field(d, f->id) == f,
               "%s: lookup of %u", d->name, (unsigned)f->id);
    FUZZ_CHECK(protobuf_c_message_descriptor_get_field_by_name(d, f->name) == f,
               "%s: lookup of %s", d->name, f->name);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rs_schema *s = (rs_schema *)1;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_schema_from_bytes(&s, data, size, "fuzz.desc", NULL, &err);
  if (rc != 0) {
    FUZZ_CHECK(rc == RS_EDECODE || rc == RS_EINVAL || rc == RS_ELIMIT,
               "rc %d: %s", rc, err.message);
    FUZZ_CHECK(err.code == rc && s == NULL, "rc %d", rc);
    FUZZ_CHECK(strstr(err.message, "fuzz.desc") != NULL, "%s", err.message);
    return 0;
  }
  static const uint8_t inputs[][12] = {
      {0},
      {0x08, 0x01, 0x12, 0x02, 0x08, 0x01, 0x18, 0x7f, 0x25, 1, 2, 3},
      {0x0a, 0x04, 0x0a, 0x02, 0x10, 0x01, 0x10, 0x96, 0x01, 0x1a, 0x00, 0x00},
  };
  static const size_t lens[] = {0, 12, 11};
  size_t n = rs_schema_message_count(s);
  for (size_t i = 0; i < n && i < 64; i++) {
    const ProtobufCMessageDescriptor *d = rs_schema_message_at(s, i);
    FUZZ_CHECK(d != NULL, "message %zu", i);
    FUZZ_CHECK(rs_schema_message(s, d->name) == d, "%s", d->name);
    check_message(d);
    rs_registry_builder *b = NULL;
    rs_registry *reg = NULL;
    FUZZ_CHECK(rs_registry_builder_new(&b, NULL, &err) == 0, "builder");
    /* As a schema's version: with the set's extensions as fields for the
     * runtimes that parse them, when it declares any. */
    const rs_schema *versions[1] = {s};
    FUZZ_CHECK(rs_schema_register(b, "t", versions, 1, d->name, &err) == 0,
               "%s", err.message);
    FUZZ_CHECK(rs_registry_build(&reg, b, &err) == 0, "%s", err.message);
    static const rs_runtime runtimes[] = {RS_RUNTIME_PROTOBUF_C, RS_RUNTIME_CPP,
                                          RS_RUNTIME_JAVA};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0] * 3; k++) {
      rs_classification *c = NULL;
      rs_reader r = RS_READER_INIT;
      r.format_version = 1;
      r.runtime = runtimes[k % 3];
      FUZZ_CHECK(rs_classify(&c, reg, "t", &r, inputs[k / 3], lens[k / 3], NULL,
                             &err) == 0,
                 "%s", err.message);
      rs_classification_free(c);
      if (k % 3 != 0) continue;
      ProtobufCMessage *m =
          protobuf_c_message_unpack(d, NULL, lens[k / 3], inputs[k / 3]);
      if (m == NULL) continue;
      size_t len = protobuf_c_message_get_packed_size(m);
      uint8_t *out = malloc(len ? len : 1);
      FUZZ_CHECK(out != NULL, "out of memory");
      FUZZ_CHECK(protobuf_c_message_pack(m, out) == len, "%s", d->name);
      free(out);
      protobuf_c_message_free_unpacked(m, NULL);
    }
    rs_registry_free(reg);
  }
  rs_schema_free(s);
  return 0;
}
