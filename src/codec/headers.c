/*
 * src/codec/headers.c: provenance as message headers (rollsafe/headers.h).
 * The names are the ones the Kafka adapter reads (src/store/kafka.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "rollsafe/headers.h"

static void add(rs_header_set *out, const char *name, const char *value) {
  if (value == NULL || value[0] == '\0') return;
  rs_header *h = &out->headers[out->count++];
  h->name = name;
  h->value = value;
  h->value_len = strlen(value);
}

int rs_provenance_headers(rs_header_set *out, const rs_provenance *provenance,
                          rs_error *err) {
  if (out != NULL) memset(out, 0, sizeof *out);
  if (out == NULL || provenance == NULL)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_provenance_headers: %s is NULL",
                    out == NULL ? "out" : "provenance");
  if (provenance->version != RS_PROVENANCE_VERSION)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_provenance_headers: provenance version %u (this "
                    "library knows %d)",
                    provenance->version, RS_PROVENANCE_VERSION);
  if (provenance->write_time_us < 0)
    return rs__fail(err, RS_EINVAL, RS_OFFSET_NONE,
                    "rs_provenance_headers: negative write time %" PRId64,
                    provenance->write_time_us);
  add(out, RS_HEADER_FLAG, provenance->flag_key);
  add(out, RS_HEADER_VARIANT, provenance->variant);
  add(out, RS_HEADER_WRITER, provenance->writer_id);
  if (provenance->write_time_us > 0) {
    snprintf(out->write_time, sizeof out->write_time, "%" PRId64,
             provenance->write_time_us);
    add(out, RS_HEADER_WRITE_TIME, out->write_time);
  }
  return 0;
}
