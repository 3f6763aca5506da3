/*
 * src/report/schema_origin.h: where the reader's schema came from, as the
 * reports of scan, fix, inspect and diff name it: the built-in example
 * (the demo's shop.Order, compiled into the tool), a schema file (--schema,
 * `schemas:`; a descriptor set or a .proto), or a plugin; and the schema
 * fingerprint of the reader's version (schema/README.md). A record type a
 * user names shop.Order is then never judged against the example without
 * the report saying so.
 */
#ifndef RS_REPORT_SCHEMA_ORIGIN_H
#define RS_REPORT_SCHEMA_ORIGIN_H

#include <stddef.h>

#include <jansson.h>
#include <rollsafe/rollsafe.h>

typedef enum schema_source {
  SCHEMA_UNKNOWN = 0,
  SCHEMA_BUILTIN, /**< the example domain compiled into the tool */
  SCHEMA_FILE,    /**< a descriptor set or .proto file */
  SCHEMA_PLUGIN   /**< a plugin's registration */
} schema_source;

typedef struct schema_origin {
  schema_source source;
  const char *path; /**< the file or plugin (borrowed); NULL when built in */
  /** The reader version's schema fingerprint in hex; "" when unknown. */
  char fingerprint[2 * RS_FINGERPRINT_LEN + 1];
  /** Not loaded: as a run recorded it (a restore given only the run). */
  int recorded;
} schema_origin;

/** "builtin", "file", "plugin" or "unknown"; static storage. */
const char *schema_source_name(schema_source source);

/** Sets o->fingerprint from 8 bytes (NULL: ""). */
void schema_origin_set_fingerprint(schema_origin *o, const uint8_t *fp);

/** {"source", "path", "fingerprint"} (null where unknown); NULL only when
 * out of memory. */
json_t *schema_origin_json(const schema_origin *o);

/**
 * One line for text reports, e.g. "file v1.desc, fingerprint
 * 9d3db09d4c7cdf13" or "built-in example (rollsafe's demo type, not
 * yours), fingerprint ...".
 */
void schema_origin_text(char *buf, size_t size, const schema_origin *o);

#endif
