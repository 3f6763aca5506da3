/*
 * src/cli/types.h: the record types a command works with: compiled in (the
 * example domain), from schemas given at run time (--schema, once per
 * format version, oldest first; `schemas:` in the config file), and from
 * plugins (--plugin; `plugins:`).
 */
#ifndef RS_CLI_TYPES_H
#define RS_CLI_TYPES_H

#include <rollsafe/rollsafe.h>

#include "config.h"
#include "report/schema_origin.h"

/** Most --schema and --plugin options. */
#define CLI_MAX_SCHEMAS 64
#define CLI_MAX_PLUGINS 16

/** Option ids of the type options; other options stay below 200. */
enum {
  CLI_YOPT_SCHEMA = 200,
  CLI_YOPT_PLUGIN,
  CLI_YOPT_MESSAGE,
  CLI_YOPT_PROTO_PATH
};

/** The entries to put in a command's cli_opt_spec table. */
#define CLI_TYPES_OPT_SPECS                                             \
  {CLI_YOPT_SCHEMA, "schema", 0, 1}, {CLI_YOPT_PLUGIN, "plugin", 0, 1}, \
      {CLI_YOPT_MESSAGE, "message", 0, 1}, {                            \
    CLI_YOPT_PROTO_PATH, "proto-path", 'I', 1                           \
  }

/** Help lines for the type options. */
#define CLI_TYPES_HELP                                                         \
  "      --schema FILE        a format version of --type from a descriptor",   \
      "                           set or .proto file; once per version,",      \
      "                           oldest first (replaces the compiled-in",     \
      "                           type of that name)",                         \
      "      --message NAME       the message in the schemas (default: the",   \
      "                           type; version parts of the package such as", \
      "                           v1, v2 are ignored when matching)",          \
      "  -I, --proto-path DIR     where imports of .proto schemas are found",  \
      "                           (besides the file's own directory)",         \
      "      --plugin LIB.so      load a plugin that registers record types",  \
      "                           and converters; repeatable"

typedef struct cli_types_args {
  const char *schemas[CLI_MAX_SCHEMAS];
  size_t n_schemas;
  const char *plugins[CLI_MAX_PLUGINS];
  size_t n_plugins;
  const char *message;
  const char *proto_paths[CLI_MAX_SCHEMAS + 1]; /* NULL-terminated */
  size_t n_proto_paths;
} cli_types_args;

#define CLI_TYPES_ARGS_INIT \
  { {0}, 0, {0}, 0, NULL, {0}, 0 }

/**
 * Takes option @p id if it is a type option: 1 when taken, 0 when not one,
 * CLI_EXIT_USAGE (printed) when refused.
 */
int cli_types_opt(cli_types_args *a, int id, const char *value,
                  const char *cmd);

/** One record type to build from schemas. */
typedef struct cli_type_request {
  const char *type;
  const char *const *schemas; /**< oldest first */
  size_t n_schemas;
  const char *message; /**< NULL: the type's name */
  const char *where;   /**< names the request in messages */
} cli_type_request;

/** Where one record type of the registry came from. */
typedef struct cli_type_origin {
  char *type;
  schema_source source;
  char **paths; /**< a file per version, or the plugin; none when built in */
  size_t n_paths;
} cli_type_origin;

/** A registry and what it borrows from. */
typedef struct cli_types {
  rs_registry *registry;
  rs_schema **schemas;
  char **schema_paths;
  size_t n_schemas;
  rs_plugin **plugins;
  size_t n_plugins;
  cli_type_origin *origins;
  size_t n_origins;
} cli_types;

/**
 * Builds the registry: the requested types from their schemas (each file
 * loaded once), the enum maps for them, the plugins, then the compiled-in
 * example domain for names nothing else declared. @p proto_paths
 * (NULL-terminated, or NULL) are import paths for .proto schemas;
 * @p maps_file names the file of @p maps in messages. On failure
 * what was built stays in @p out: free it with cli_types_free() in every case.
 *
 * @return 0 or CLI_EXIT_USAGE (printed: a schema or plugin that cannot be
 *         used, a message missing from a schema, a bad enum map)
 */
int cli_types_build(cli_types *out, const cli_type_request *requests,
                    size_t n_requests, const char *const *plugins,
                    size_t n_plugins, const cli_config_enum_map *maps,
                    size_t n_maps, const char *maps_file,
                    const char *const *proto_paths, const char *cmd);

void cli_types_free(cli_types *t);

/**
 * Where version @p version of @p type came from (the built-in example, a
 * schema file: the one of that version, or a plugin), with the version's
 * schema fingerprint. out->path borrows from @p t.
 */
void cli_types_origin(const cli_types *t, const char *type, unsigned version,
                      schema_origin *out);

#endif
