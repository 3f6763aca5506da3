/* src/report/schema_origin.c: see schema_origin.h. */
#include "report/schema_origin.h"

#include <stdio.h>

const char *schema_source_name(schema_source source) {
  switch (source) {
    case SCHEMA_BUILTIN:
      return "builtin";
    case SCHEMA_FILE:
      return "file";
    case SCHEMA_PLUGIN:
      return "plugin";
    default:
      return "unknown";
  }
}

void schema_origin_set_fingerprint(schema_origin *o, const uint8_t *fp) {
  o->fingerprint[0] = '\0';
  for (size_t i = 0; fp != NULL && i < RS_FINGERPRINT_LEN; i++)
    snprintf(o->fingerprint + 2 * i, 3, "%02x", fp[i]);
}

json_t *schema_origin_json(const schema_origin *o) {
  return json_pack(
      "{s:s,s:o,s:o}", "source", schema_source_name(o->source), "path",
      o->path != NULL ? json_string(o->path) : json_null(), "fingerprint",
      o->fingerprint[0] ? json_string(o->fingerprint) : json_null());
}

void schema_origin_text(char *buf, size_t size, const schema_origin *o) {
  const char *what = "";
  switch (o->source) {
    case SCHEMA_BUILTIN:
      what = "built-in example (rollsafe's demo type, not yours)";
      break;
    case SCHEMA_FILE:
      what = "file ";
      break;
    case SCHEMA_PLUGIN:
      what = "plugin ";
      break;
    default:
      what = "unknown";
      break;
  }
  snprintf(buf, size, "%s%s%s%s%s", what,
           o->source == SCHEMA_FILE || o->source == SCHEMA_PLUGIN
               ? (o->path != NULL ? o->path : "?")
               : "",
           o->fingerprint[0] ? ", fingerprint " : "", o->fingerprint,
           o->recorded ? " (as the run recorded it; not loaded, a restore "
                         "puts back the stored bytes)"
                       : "");
}
