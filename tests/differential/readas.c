/*
 * tests/differential/readas.c: rollsafe's dual-format reader in the
 * differential corpus. For each case it builds a registry that knows only
 * the reader's schema, version 1 of record type dc.<CASE>.Rec (GEN/desc/
 * <CASE>/v1/rec.desc, through rollsafe's runtime schemas), and reads each
 * record with rs_read_as(..., 1, ...): raw bytes as version 1, an envelope
 * naming version 2 as the newest version the registry knows, version 1.
 *
 * Usage: rs_dc_readas GEN (gen.py's output directory).
 * Standard input: one request a line, "CASE HEX"; standard output: one JSON
 * document a line (print.h), the message rs_read_as() gives, or
 * {"error": "rs_read_as: CODE: MESSAGE"} when it fails. Exit status 0,
 * or 2 when the input is malformed or a schema cannot be loaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rollsafe/rollsafe.h>

#include "print.h"

/* The registry of one case; requests come grouped by case, so only the
 * last one is kept. */
typedef struct loaded {
  char *name;
  char *type;
  rs_schema *schema;
  rs_registry *reg;
} loaded;

static void unload(loaded *l) {
  rs_registry_free(l->reg);
  rs_schema_free(l->schema);
  free(l->type);
  free(l->name);
  memset(l, 0, sizeof *l);
}

static char *format(const char *a, const char *b, const char *c) {
  size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
  char *s = malloc(n);
  if (s != NULL) snprintf(s, n, "%s%s%s", a, b, c);
  return s;
}

static int load(loaded *l, const char *gen, const char *name) {
  unload(l);
  rs_error err = RS_ERROR_INIT;
  char *dir = format(gen, "/desc/", name);
  char *path = dir ? format(dir, "/v1/rec.desc", "") : NULL;
  l->name = format(name, "", "");
  l->type = format("dc.", name, ".Rec");
  free(dir);
  if (path == NULL || l->name == NULL || l->type == NULL) {
    free(path);
    fprintf(stderr, "rs_dc_readas: out of memory\n");
    return -1;
  }
  rs_registry_builder *b = NULL;
  int rc = rs_schema_load(&l->schema, path, NULL, &err);
  if (rc == 0) rc = rs_registry_builder_new(&b, NULL, &err);
  if (rc == 0) {
    const rs_schema *versions[] = {l->schema};
    rc = rs_schema_register(b, l->type, versions, 1, NULL, &err);
    if (rc == 0) {
      rc = rs_registry_build(&l->reg, b, &err);
    } else {
      rs_registry_builder_free(b);
    }
  }
  if (rc != 0)
    fprintf(stderr, "rs_dc_readas: %s: %s: %s\n", path, rs_error_name(rc),
            err.message);
  free(path);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: rs_dc_readas GEN\n");
    return 2;
  }
  loaded l = {0};
  dc_request req = {0};
  int got;
  while ((got = dc_read_request(&req, "rs_dc_readas")) > 0) {
    if ((l.name == NULL || strcmp(l.name, req.name) != 0) &&
        load(&l, argv[1], req.name) != 0) {
      got = -1;
      break;
    }
    rs_record *rec = NULL;
    rs_error err = RS_ERROR_INIT;
    int rc = rs_read_as(&rec, l.reg, l.type, 1, req.buf, req.len, NULL, &err);
    if (rc != 0) {
      char text[sizeof err.message + 64];
      snprintf(text, sizeof text, "rs_read_as: %s: %s", rs_error_name(rc),
               err.message);
      dc_print_error(text);
    } else if (rs_record_version(rec) != 1) {
      dc_print_error("rs_read_as: a record of another version than 1");
    } else {
      dc_print_message(rs_record_message(rec));
      putchar('\n');
    }
    rs_record_free(rec);
    fflush(stdout);
  }
  dc_request_dispose(&req);
  unload(&l);
  return got < 0 ? 2 : 0;
}
