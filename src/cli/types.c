#define _POSIX_C_SOURCE 200809L
/*
 * src/cli/types.c: the registry of compiled-in, runtime and plugin types.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rollsafe/shop.h>

#include "cli.h"
#include "opt.h"
#include "types.h"

int cli_types_opt(cli_types_args *a, int id, const char *value,
                  const char *cmd) {
  switch (id) {
    case CLI_YOPT_SCHEMA:
      if (a->n_schemas == CLI_MAX_SCHEMAS)
        return cli_usage_error(cmd, "more than %d --schema options",
                               CLI_MAX_SCHEMAS);
      if (value[0] == '\0')
        return cli_usage_error(cmd, "--schema needs a file");
      a->schemas[a->n_schemas++] = value;
      return 1;
    case CLI_YOPT_PLUGIN:
      if (a->n_plugins == CLI_MAX_PLUGINS)
        return cli_usage_error(cmd, "more than %d --plugin options",
                               CLI_MAX_PLUGINS);
      if (value[0] == '\0')
        return cli_usage_error(cmd, "--plugin needs a file");
      a->plugins[a->n_plugins++] = value;
      return 1;
    case CLI_YOPT_PROTO_PATH:
      if (a->n_proto_paths == CLI_MAX_SCHEMAS)
        return cli_usage_error(cmd, "more than %d --proto-path options",
                               CLI_MAX_SCHEMAS);
      if (value[0] == '\0')
        return cli_usage_error(cmd, "--proto-path needs a directory");
      a->proto_paths[a->n_proto_paths++] = value;
      return 1;
    case CLI_YOPT_MESSAGE:
      return cli_opt_once(cmd, "--message", value, &a->message) == 0
                 ? 1
                 : CLI_EXIT_USAGE;
  }
  return 0;
}

/* The schema loaded from path, loading it on first use. */
static int schema_for(rs_schema **out, cli_types *t, const char *path,
                      const char *const *proto_paths, const char *where,
                      const char *cmd) {
  for (size_t i = 0; i < t->n_schemas; i++)
    if (strcmp(t->schema_paths[i], path) == 0) {
      *out = t->schemas[i];
      return 0;
    }
  rs_schema **s = realloc(t->schemas, (t->n_schemas + 1) * sizeof *s);
  if (s != NULL) t->schemas = s;
  char **p = realloc(t->schema_paths, (t->n_schemas + 1) * sizeof *p);
  if (p != NULL) t->schema_paths = p;
  char *copy = strdup(path);
  if (s == NULL || p == NULL || copy == NULL) {
    free(copy);
    cli_error(cmd, "out of memory");
    return CLI_EXIT_USAGE;
  }
  rs_error err = RS_ERROR_INIT;
  rs_schema *loaded = NULL;
  rs_schema_options o = RS_SCHEMA_OPTIONS_INIT;
  o.include_dirs = proto_paths;
  if (rs_schema_load(&loaded, path, &o, &err) != 0) {
    free(copy);
    cli_error(cmd, "%s: schema %s", where, err.message);
    return CLI_EXIT_USAGE;
  }
  t->schemas[t->n_schemas] = loaded;
  t->schema_paths[t->n_schemas] = copy;
  t->n_schemas++;
  *out = loaded;
  return 0;
}

/* Records where @p type came from; paths are copied. 0, or CLI_EXIT_IO
 * (printed) when out of memory. */
static int add_origin(cli_types *t, const char *type, schema_source source,
                      const char *const *paths, size_t n_paths,
                      const char *cmd) {
  cli_type_origin *grown =
      realloc(t->origins, (t->n_origins + 1) * sizeof *grown);
  if (grown == NULL) goto oom;
  t->origins = grown;
  cli_type_origin *o = &t->origins[t->n_origins];
  memset(o, 0, sizeof *o);
  o->source = source;
  o->type = strdup(type);
  o->paths = n_paths ? calloc(n_paths, sizeof *o->paths) : NULL;
  t->n_origins++; /* freed by cli_types_free from here on */
  if (o->type == NULL || (n_paths && o->paths == NULL)) goto oom;
  for (size_t i = 0; i < n_paths; i++) {
    if ((o->paths[i] = strdup(paths[i])) == NULL) goto oom;
    o->n_paths = i + 1;
  }
  return 0;
oom:
  cli_error(cmd, "out of memory");
  return CLI_EXIT_IO;
}

static bool same_list(const cli_type_request *a, const cli_type_request *b) {
  if (a->n_schemas != b->n_schemas) return false;
  for (size_t i = 0; i < a->n_schemas; i++)
    if (strcmp(a->schemas[i], b->schemas[i]) != 0) return false;
  return (a->message == NULL) == (b->message == NULL) &&
         (a->message == NULL || strcmp(a->message, b->message) == 0);
}

static int add_requests(cli_types *t, rs_registry_builder *b,
                        const cli_type_request *req, size_t n,
                        const char *const *proto_paths, const char *cmd) {
  for (size_t i = 0; i < n; i++) {
    const cli_type_request *r = &req[i];
    size_t j = 0;
    while (j < i && strcmp(req[j].type, r->type) != 0) j++;
    if (j < i) {
      if (same_list(&req[j], r)) continue;
      cli_error(cmd,
                "%s: record type %s is given other schemas (or another "
                "message) than in %s",
                r->where, r->type, req[j].where);
      return CLI_EXIT_USAGE;
    }
    const rs_schema *versions[CLI_MAX_SCHEMAS];
    if (r->n_schemas > CLI_MAX_SCHEMAS) {
      cli_error(cmd, "%s: more than %d schemas", r->where, CLI_MAX_SCHEMAS);
      return CLI_EXIT_USAGE;
    }
    for (size_t k = 0; k < r->n_schemas; k++) {
      rs_schema *s;
      int status = schema_for(&s, t, r->schemas[k], proto_paths, r->where, cmd);
      if (status != 0) return status;
      versions[k] = s;
    }
    rs_error err = RS_ERROR_INIT;
    if (rs_schema_register(b, r->type, versions, r->n_schemas, r->message,
                           &err) != 0) {
      cli_error(cmd, "%s: %s", r->where, err.message);
      return CLI_EXIT_USAGE;
    }
    int status =
        add_origin(t, r->type, SCHEMA_FILE, r->schemas, r->n_schemas, cmd);
    if (status != 0) return status;
  }
  return 0;
}

/* An enum map must name an enum of the schemas, and one of its values. */
static int check_map(const cli_types *t, const cli_config_enum_map *m,
                     const char *file, const char *cmd) {
  for (size_t i = 0; i < t->n_schemas; i++) {
    const ProtobufCEnumDescriptor *e =
        rs_schema_enum(t->schemas[i], m->enum_name);
    if (e == NULL) continue;
    if (protobuf_c_enum_descriptor_get_value_by_name(e, m->from) != NULL ||
        protobuf_c_enum_descriptor_get_value_by_name(e, m->to) != NULL)
      return 0;
    cli_error(cmd, "%s:%u:%u: enum_map: %s has neither %s nor %s", file,
              m->line, m->col, m->enum_name, m->from, m->to);
    return CLI_EXIT_USAGE;
  }
  cli_error(cmd, "%s:%u:%u: enum_map: no schema defines enum %s", file, m->line,
            m->col, m->enum_name);
  return CLI_EXIT_USAGE;
}

/* Enum maps apply to every type built from schemas: the enum names say
 * which conversions they touch. */
static int add_maps(const cli_types *t, rs_registry_builder *b,
                    const cli_type_request *req, size_t n,
                    const cli_config_enum_map *maps, size_t n_maps,
                    const char *file, const char *cmd) {
  if (n_maps > 0 && n == 0) {
    cli_error(cmd,
              "enum_map applies to record types from schemas, and no "
              "schema is given");
    return CLI_EXIT_USAGE;
  }
  for (size_t m = 0; m < n_maps; m++) {
    int status = check_map(t, &maps[m], file, cmd);
    if (status != 0) return status;
  }
  for (size_t i = 0; i < n; i++) {
    size_t j = 0;
    while (j < i && strcmp(req[j].type, req[i].type) != 0) j++;
    if (j < i) continue;
    for (size_t m = 0; m < n_maps; m++) {
      rs_error err = RS_ERROR_INIT;
      if (rs_registry_builder_add_enum_map(b, req[i].type, maps[m].enum_name,
                                           maps[m].from, maps[m].to,
                                           &err) != 0) {
        cli_error(cmd, "%s:%u:%u: enum_map: %s", file, maps[m].line,
                  maps[m].col, err.message);
        return CLI_EXIT_USAGE;
      }
    }
  }
  return 0;
}

static int add_plugins(cli_types *t, rs_registry_builder *b,
                       const char *const *plugins, size_t n, const char *cmd) {
  if (n == 0) return 0;
  t->plugins = calloc(n, sizeof *t->plugins);
  if (t->plugins == NULL) {
    cli_error(cmd, "out of memory");
    return CLI_EXIT_USAGE;
  }
  for (size_t i = 0; i < n; i++) {
    /* The types it adds are the names the builder did not have before:
     * the plugin's (names are sorted, so compare as sets). */
    size_t before = rs_registry_builder_type_count(b);
    char **had = calloc(before + 1, sizeof *had);
    int status = 0;
    for (size_t k = 0; had != NULL && k < before; k++)
      if ((had[k] = strdup(rs_registry_builder_type_name(b, k))) == NULL)
        status = CLI_EXIT_IO;
    if (had == NULL || status != 0) {
      cli_error(cmd, "out of memory");
      status = CLI_EXIT_IO;
    }
    rs_error err = RS_ERROR_INIT;
    if (status == 0 &&
        rs_plugin_load(&t->plugins[i], plugins[i], b, &err) != 0) {
      cli_error(cmd, "%s", err.message);
      status = CLI_EXIT_USAGE;
    }
    if (status == 0) t->n_plugins = i + 1;
    for (size_t k = 0; status == 0 && k < rs_registry_builder_type_count(b);
         k++) {
      const char *name = rs_registry_builder_type_name(b, k);
      size_t j = 0;
      while (j < before && strcmp(had[j], name) != 0) j++;
      if (j == before)
        status = add_origin(t, name, SCHEMA_PLUGIN, &plugins[i], 1, cmd);
    }
    for (size_t k = 0; had != NULL && k < before; k++) free(had[k]);
    free(had);
    if (status != 0) return status;
  }
  return 0;
}

int cli_types_build(cli_types *t, const cli_type_request *requests,
                    size_t n_requests, const char *const *plugins,
                    size_t n_plugins, const cli_config_enum_map *maps,
                    size_t n_maps, const char *maps_file,
                    const char *const *proto_paths, const char *cmd) {
  memset(t, 0, sizeof *t);
  rs_registry_builder *b = NULL;
  rs_error err = RS_ERROR_INIT;
  if (rs_registry_builder_new(&b, NULL, &err) != 0) {
    cli_error(cmd, "%s", err.message);
    return CLI_EXIT_IO;
  }
  int status = add_requests(t, b, requests, n_requests, proto_paths, cmd);
  if (status == 0)
    status = add_maps(t, b, requests, n_requests, maps, n_maps, maps_file, cmd);
  if (status == 0) status = add_plugins(t, b, plugins, n_plugins, cmd);
  if (status == 0) {
    /* The example domain, unless a schema or plugin declared shop.Order:
     * registration stops at its first version, before adding anything. */
    int rc = rs_shop_register(b, &err);
    if (rc != 0 && rc != RS_EEXISTS) {
      cli_error(cmd, "%s", err.message);
      status = CLI_EXIT_IO;
    }
    if (rc == 0)
      status = add_origin(t, RS_SHOP_ORDER, SCHEMA_BUILTIN, NULL, 0, cmd);
  }
  if (status != 0) {
    rs_registry_builder_free(b);
    return status;
  }
  if (rs_registry_build(&t->registry, b, &err) != 0) {
    cli_error(cmd, "%s", err.message);
    return CLI_EXIT_USAGE;
  }
  return 0;
}

void cli_types_free(cli_types *t) {
  rs_registry_free(t->registry);
  /* Plugins after the registry: it points into their memory. */
  for (size_t i = 0; i < t->n_plugins; i++) rs_plugin_close(t->plugins[i]);
  free(t->plugins);
  for (size_t i = 0; i < t->n_schemas; i++) {
    rs_schema_free(t->schemas[i]);
    free(t->schema_paths[i]);
  }
  free(t->schemas);
  free(t->schema_paths);
  for (size_t i = 0; i < t->n_origins; i++) {
    for (size_t k = 0; k < t->origins[i].n_paths; k++)
      free(t->origins[i].paths[k]);
    free(t->origins[i].paths);
    free(t->origins[i].type);
  }
  free(t->origins);
  memset(t, 0, sizeof *t);
}

void cli_types_origin(const cli_types *t, const char *type, unsigned version,
                      schema_origin *out) {
  memset(out, 0, sizeof *out);
  for (size_t i = 0; type != NULL && i < t->n_origins; i++) {
    const cli_type_origin *o = &t->origins[i];
    if (strcmp(o->type, type) != 0) continue;
    out->source = o->source;
    if (o->source == SCHEMA_PLUGIN && o->n_paths > 0)
      out->path = o->paths[0];
    else if (version >= 1 && version <= o->n_paths)
      out->path = o->paths[version - 1];
    break;
  }
  schema_origin_set_fingerprint(
      out, rs_registry_fingerprint(t->registry, type, version));
}
