#define _POSIX_C_SOURCE 200809L
/*
 * src/cli/targets.c: target options and reader resolution.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "targets.h"
#include "verify/colenc.h"

/* 1 when taken, CLI_EXIT_USAGE when refused (cli_target_opt's contract). */
static int set_once(const char **slot, const char *value, const char *name,
                    const char *cmd) {
  return cli_opt_once(cmd, name, value, slot) == 0 ? 1 : CLI_EXIT_USAGE;
}

/* --schema-id ID=VERSION[@I.J]: 1 when taken, CLI_EXIT_USAGE when not. */
static int add_schema_id(cli_target_args *a, const char *value,
                         const char *cmd) {
  const char *eq = strchr(value, '=');
  char id[32], why[256];
  if (eq == NULL || (size_t)(eq - value) >= sizeof id)
    return cli_usage_error(cmd,
                           "invalid --schema-id '%s': expected ID=VERSION or "
                           "ID=VERSION@I[.J...]",
                           value);
  if (a->n_schema_ids == CLI_MAX_SCHEMA_IDS)
    return cli_usage_error(cmd, "--schema-id given more than %d times",
                           CLI_MAX_SCHEMA_IDS);
  memcpy(id, value, (size_t)(eq - value));
  id[eq - value] = '\0';
  rs_schema_id *m = &a->schema_ids[a->n_schema_ids];
  if (cli_schema_id_parse(m, id, eq + 1, why, sizeof why) != 0)
    return cli_usage_error(cmd, "invalid --schema-id '%s': %s", value, why);
  for (size_t i = 0; i < a->n_schema_ids; i++) {
    const rs_schema_id *o = &a->schema_ids[i];
    size_t no = o->n_indexes ? o->n_indexes : 1;
    size_t nm = m->n_indexes ? m->n_indexes : 1;
    if (o->id == m->id && no == nm &&
        memcmp(o->indexes, m->indexes, nm * sizeof m->indexes[0]) == 0)
      return cli_usage_error(cmd,
                             "--schema-id maps schema id %s twice at one "
                             "message-index path",
                             id);
  }
  a->n_schema_ids++;
  return 1;
}

/* --postgres-env NAME: the connection string is the variable's value,
 * which messages never show (it may hold a password); 1 or
 * CLI_EXIT_USAGE. */
static int take_postgres_env(cli_target_args *a, const char *name,
                             const char *cmd) {
  if (a->connection != NULL || a->stream != NULL)
    return cli_usage_error(cmd,
                           "give one of --sqlite, --postgres and "
                           "--postgres-env, once");
  const char *value = name[0] != '\0' ? getenv(name) : NULL;
  if (name[0] == '\0' || value == NULL || value[0] == '\0')
    return cli_usage_error(cmd, "--postgres-env: environment variable %s is %s",
                           name[0] != '\0' ? name : "''",
                           name[0] == '\0' ? "not a name"
                           : value == NULL ? "not set"
                                           : "empty");
  a->kind = STORE_POSTGRES_TABLE;
  a->connection = value;
  a->connection_env = name;
  return 1;
}

/* The option that named the connection, for messages. */
static const char *connection_option(const cli_target_args *a) {
  return a->kind == STORE_SQLITE_TABLE ? "--sqlite"
         : a->connection_env != NULL   ? "--postgres-env"
                                       : "--postgres";
}

int cli_target_opt(cli_target_args *a, int id, const char *value,
                   const char *cmd) {
  int taken = cli_types_opt(&a->types, id, value, cmd);
  if (taken != 0) return taken;
  taken = cli_kafka_opt(&a->kafka, id, value, cmd);
  if (taken != 0) return taken;
  switch (id) {
    case CLI_TOPT_CONFIG:
      return set_once(&a->config, value, "--config", cmd);
    case CLI_TOPT_POSTGRES_ENV:
      return take_postgres_env(a, value, cmd);
    case CLI_TOPT_SQLITE:
    case CLI_TOPT_POSTGRES:
      if (a->connection != NULL || a->stream != NULL)
        return cli_usage_error(cmd,
                               "give one of --sqlite, --postgres and "
                               "--postgres-env, once");
      a->kind =
          id == CLI_TOPT_SQLITE ? STORE_SQLITE_TABLE : STORE_POSTGRES_TABLE;
      return set_once(&a->connection, value,
                      id == CLI_TOPT_SQLITE ? "--sqlite" : "--postgres", cmd);
    case CLI_TOPT_TABLE:
      return set_once(&a->table, value, "--table", cmd);
    case CLI_TOPT_KEY:
      return set_once(&a->key, value, "--key", cmd);
    case CLI_TOPT_COLUMN:
      return set_once(&a->column, value, "--column", cmd);
    case CLI_TOPT_TYPE:
      return set_once(&a->type, value, "--type", cmd);
    case CLI_TOPT_WHERE:
      return set_once(&a->where, value, "--where", cmd);
    case CLI_TOPT_NAME:
      return set_once(&a->name, value, "--name", cmd);
    case CLI_TOPT_READER_VERSION:
      return cli_opt_version(cmd, "--reader-version", value,
                             &a->reader_version) == 0
                 ? 1
                 : CLI_EXIT_USAGE;
    case CLI_TOPT_QUEUE:
      a->queue = 1;
      return 1;
    case CLI_TOPT_COLUMN_ENCODING:
      return cli_opt_column_encoding(cmd, value, &a->column_encoding);
    case CLI_TOPT_RAW_WRITER:
      if (a->raw_writer >= 0)
        return cli_usage_error(cmd, "--raw-writer given twice");
      return cli_opt_raw_writer(cmd, value, &a->raw_writer) == 0
                 ? 1
                 : CLI_EXIT_USAGE;
    case CLI_TOPT_STATE_COLUMN:
      a->queue = 1;
      return set_once(&a->state_column, value, "--state-column", cmd);
    case CLI_TOPT_PENDING_STATES:
      a->queue = 1;
      return set_once(&a->pending_states, value, "--pending-states", cmd);
    case CLI_TOPT_IN_FLIGHT_STATES:
      a->queue = 1;
      return set_once(&a->in_flight_states, value, "--in-flight-states", cmd);
    case CLI_TOPT_STREAM:
      if (a->connection != NULL)
        return cli_usage_error(cmd, "--stream and %s exclude each other",
                               connection_option(a));
      a->kind = STORE_STREAM_FILE;
      return set_once(&a->stream, value, "--stream", cmd);
    case CLI_TOPT_SCHEMA_ID:
      return add_schema_id(a, value, cmd);
    case CLI_TOPT_READER_RUNTIME:
      return cli_opt_reader_runtime(cmd, value, &a->runtime) == 0
                 ? 1
                 : CLI_EXIT_USAGE;
    case CLI_TOPT_READER_OPTION:
      return cli_opt_reader_option(cmd, value, &a->runtime) == 0
                 ? 1
                 : CLI_EXIT_USAGE;
    case CLI_TOPT_READER_FRAMING:
      if (strcmp(value, "raw") == 0)
        a->framing = RS_READER_FRAMING_RAW;
      else if (strcmp(value, "envelope") == 0)
        a->framing = RS_READER_FRAMING_ENVELOPE;
      else if (strcmp(value, "confluent") == 0)
        a->framing = RS_READER_FRAMING_CONFLUENT;
      else if (strcmp(value, "default") == 0)
        a->framing = RS_READER_FRAMING_DEFAULT;
      else
        return cli_usage_error(cmd,
                               "invalid --reader-framing '%s': expected raw, "
                               "envelope, confluent or default",
                               value);
      return 1;
  }
  return 0;
}

/* The queue and stream options of a target given by options: what they
 * need and exclude. 1: not a stream target (check on as for a table); 0 or
 * CLI_EXIT_USAGE. */
static int check_queue_stream(const cli_target_args *a, const char *cmd) {
  if (a->stream != NULL) {
    const char *flag = a->table                  ? "--table"
                       : a->key                  ? "--key"
                       : a->column               ? "--column"
                       : a->where                ? "--where"
                       : a->queue                ? "--queue"
                       : a->column_encoding >= 0 ? "--column-encoding"
                                                 : NULL;
    if (flag != NULL)
      return cli_usage_error(cmd, "%s does not apply to --stream", flag);
    if (a->type == NULL)
      return cli_usage_error(cmd, "--type is needed with --stream");
    return 0;
  }
  if ((a->pending_states || a->in_flight_states) && !a->state_column)
    return cli_usage_error(cmd,
                           "--pending-states and --in-flight-states need "
                           "--state-column");
  return 1;
}

void cli_target_use_key(cli_target *t, const store *s) {
  snprintf(t->key_name, sizeof t->key_name, "%s", store_key(s));
  t->target.key = t->key_name;
  t->key_parts = store_key_parts(s);
}

int cli_target_check(const cli_target_args *a, const char *cmd) {
  int kafka = cli_kafka_check(a, cmd);
  if (kafka != 1) return kafka;
  if (a->config != NULL) {
    const char *flag = a->connection         ? connection_option(a)
                       : a->table            ? "--table"
                       : a->key              ? "--key"
                       : a->column           ? "--column"
                       : a->type             ? "--type"
                       : a->where            ? "--where"
                       : a->name             ? "--name"
                       : a->state_column     ? "--state-column"
                       : a->pending_states   ? "--pending-states"
                       : a->in_flight_states ? "--in-flight-states"
                       : a->queue            ? "--queue"
                       : a->stream           ? "--stream"
                                             : NULL;
    if (flag != NULL)
      return cli_usage_error(cmd,
                             "%s and --config exclude each other: the config "
                             "file names the targets",
                             flag);
    return 0;
  }
  int qs = check_queue_stream(a, cmd);
  if (qs != 1) return qs;
  if (a->connection == NULL)
    return cli_usage_error(cmd,
                           "no target: give -c CONFIG, --sqlite PATH or "
                           "--postgres CONNINFO with --table, --column "
                           "and --type (and --key), or --stream FILE with "
                           "--type");
  const char *missing = !a->table    ? "--table"
                        : !a->column ? "--column"
                        : !a->type   ? "--type"
                                     : NULL;
  if (missing != NULL)
    return cli_usage_error(cmd, "%s is needed with %s", missing,
                           connection_option(a));
  return 0;
}

int cli_opt_column_encoding(const char *cmd, const char *value, int *out) {
  colenc_kind kind;
  if (*out >= 0) return cli_usage_error(cmd, "--column-encoding given twice");
  if (colenc_from_name(value, &kind) != 0)
    return cli_usage_error(cmd,
                           "invalid --column-encoding '%s': expected binary, "
                           "base64 or hex",
                           value);
  *out = (int)kind;
  return 1;
}

int cli_opt_raw_writer(const char *cmd, const char *value, int *out) {
  if (strcmp(value, "auto") == 0) {
    *out = 0;
    return 0;
  }
  char *end;
  errno = 0;
  unsigned long v = strtoul(value, &end, 10);
  if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0 || v < 1 ||
      v > 1000)
    return cli_usage_error(cmd,
                           "invalid --raw-writer '%s': expected auto or a "
                           "format version, 1 or more",
                           value);
  *out = (int)v;
  return 0;
}

int cli_check_raw_writer(const char *cmd, const char *where, const char *option,
                         const char *type, unsigned raw_writer,
                         unsigned newest) {
  if (raw_writer <= newest) return 0;
  char versions[64];
  if (newest == 1)
    snprintf(versions, sizeof versions, "version 1");
  else
    snprintf(versions, sizeof versions, "versions 1..%u", newest);
  if (where != NULL)
    cli_error(cmd,
              "%s: %s %u is not a format version of %s, which has %s "
              "(give auto to infer the writer from the bytes)",
              where, option, raw_writer, type, versions);
  else
    cli_error(cmd,
              "%s %u is not a format version of %s, which has %s (give auto "
              "to infer the writer from the bytes)",
              option, raw_writer, type, versions);
  return CLI_EXIT_USAGE;
}

static void known_types(char *buf, size_t size, const rs_registry *reg) {
  buf[0] = '\0';
  for (size_t i = 0; i < rs_registry_type_count(reg); i++) {
    size_t used = strlen(buf);
    snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
             rs_registry_type_name(reg, i));
  }
}

/* Which raw writer a target gets, and what names it in a message: the
 * command line's, the target's own in the config, the config's, or auto. */
typedef struct raw_writer_setting {
  unsigned version; /* 0: auto */
  const char *option;
  const char *where; /* NULL: the command line */
} raw_writer_setting;

static int resolve_reader(cli_target *t, const rs_registry *reg,
                          unsigned version, int framing,
                          const raw_writer_setting *raw, const char *where,
                          const char *cmd) {
  unsigned newest = rs_registry_newest(reg, t->type);
  if (newest == 0) {
    char known[256];
    known_types(known, sizeof known, reg);
    cli_error(cmd, "%s: unknown record type '%s' (known: %s)", where, t->type,
              known);
    return CLI_EXIT_USAGE;
  }
  if (version == 0) version = newest > 1 ? newest - 1 : 1;
  if (version > newest) {
    cli_error(cmd,
              "%s: %s has no format version %u (newest: %u), the reader's "
              "version (--reader-version or reader_version)",
              where, t->type, version, newest);
    return CLI_EXIT_USAGE;
  }
  /* The command line's setting applies to every target: its message needs
   * no position in the file. */
  int status = cli_check_raw_writer(cmd, raw->where, raw->option, t->type,
                                    raw->version, newest);
  if (status != 0) return status;
  t->raw_writer = raw->version;
  t->newest = newest;
  t->reader_version = version;
  if (framing <= RS_READER_FRAMING_DEFAULT)
    framing = rs_registry_encoding(reg, t->type, version) == RS_ENCODING_RAW
                  ? RS_READER_FRAMING_RAW
                  : RS_READER_FRAMING_ENVELOPE;
  t->framing = (rs_reader_framing)framing;
  return 0;
}

/* A target's schema ids: the command line's, its own in the config, the
 * config's; every version they name must be one of its type's. */
static int resolve_schema_ids(cli_target *t, const cli_target_args *a,
                              const cli_config *c, size_t i, const char *cmd) {
  const cli_schema_ids *from = NULL;
  if (a->n_schema_ids > 0) {
    t->schema_ids = a->schema_ids;
    t->n_schema_ids = a->n_schema_ids;
    snprintf(t->schema_ids_where, sizeof t->schema_ids_where, "--schema-id");
  } else if (c != NULL && c->targets[i].schema_ids.n > 0) {
    from = &c->targets[i].schema_ids;
  } else if (c != NULL && c->schema_ids.n > 0) {
    from = &c->schema_ids;
  }
  if (from != NULL) {
    t->schema_ids = from->items;
    t->n_schema_ids = from->n;
    snprintf(t->schema_ids_where, sizeof t->schema_ids_where,
             "%s:%u:%u: schema_ids", c->path, from->line, from->col);
  }
  for (size_t k = 0; k < t->n_schema_ids; k++)
    if (t->schema_ids[k].format_version > t->newest) {
      cli_error(cmd,
                "%s: schema id %lu maps to version %u, but %s has versions "
                "1..%u",
                t->schema_ids_where, (unsigned long)t->schema_ids[k].id,
                t->schema_ids[k].format_version, t->type, t->newest);
      return CLI_EXIT_USAGE;
    }
  return 0;
}

rs_reader cli_target_reader(const cli_target *t) {
  rs_reader r = {RS_READER_VERSION,
                 t->reader_version,
                 t->framing,
                 t->raw_writer,
                 t->runtime.runtime,
                 t->runtime.runtime_flags,
                 t->runtime.recursion_limit};
  return r;
}

int cli_target_schema_id_for(const cli_target *t, unsigned version,
                             const char *cmd) {
  size_t n = 0;
  char ids[160] = "";
  for (size_t k = 0; k < t->n_schema_ids; k++) {
    if (t->schema_ids[k].format_version != version) continue;
    size_t used = strlen(ids);
    snprintf(ids + used, sizeof ids - used, "%s%lu", n ? ", " : "",
             (unsigned long)t->schema_ids[k].id);
    n++;
  }
  if (n == 1) return 0;
  if (n == 0)
    cli_error(cmd,
              "target '%s': the reader uses Confluent framing, and no schema "
              "id maps to its version %u: give --schema-id ID=%u (or "
              "schema_ids:) so that fixed records carry the reader's id",
              t->target.name, version, version);
  else
    cli_error(cmd,
              "target '%s': the reader uses Confluent framing, and schema ids "
              "%s all map to its version %u: fixed records need one id; keep "
              "one mapping to version %u",
              t->target.name, ids, version, version);
  return CLI_EXIT_USAGE;
}

/* The column encoding of target @p i: the command line's, the target's own
 * in the config, the config's, or binary. Stream files hold records as
 * bytes. */
static void resolve_column_encoding(cli_target *t, const cli_target_args *a,
                                    const cli_config *c, size_t i) {
  int kind = COLENC_BINARY;
  if (a->column_encoding >= 0)
    kind = a->column_encoding;
  else if (c != NULL && c->targets[i].has_column_encoding)
    kind = c->targets[i].column_encoding;
  else if (c != NULL && c->has_column_encoding)
    kind = c->column_encoding;
  if (t->target.kind == STORE_STREAM_FILE ||
      t->target.kind == STORE_KAFKA_TOPIC)
    kind = COLENC_BINARY;
  t->column_encoding = (colenc_kind)kind;
  t->target.values =
      kind == COLENC_BINARY ? STORE_VALUES_BINARY : STORE_VALUES_TEXT;
}

static void targets_free(cli_target *t, size_t n) {
  for (size_t i = 0; t != NULL && i < n; i++)
    cli_kafka_target_free(&t[i].kafka);
  free(t);
}

static int resolve_all(const cli_target_args *a, const rs_registry *reg,
                       const cli_config *c, cli_target **out, size_t *n,
                       const char *cmd) {
  size_t count = c != NULL ? c->n_targets : 1;
  cli_target *t = calloc(count, sizeof *t);
  if (t == NULL) {
    cli_error(cmd, "out of memory");
    return CLI_EXIT_IO;
  }
  unsigned version = a->reader_version;
  int framing = a->framing;
  if (c != NULL) {
    if (version == 0 && c->has_reader_version) version = c->reader_version;
    if (framing < 0 && c->has_reader_framing) framing = c->reader_framing;
  }
  for (size_t i = 0; i < count; i++) {
    char where[600];
    if (c != NULL) {
      const cli_config_target *ct = &c->targets[i];
      /* A value from connection_env may carry a password, never shown. */
      t[i].target = (store_target){ct->name,
                                   ct->kind,
                                   ct->connection,
                                   ct->table,
                                   ct->key,
                                   ct->column,
                                   ct->where,
                                   ct->connection_label,
                                   ct->state_column,
                                   ct->pending_states,
                                   ct->in_flight_states,
                                   STORE_VALUES_BINARY,
                                   ct->connection_label != NULL,
                                   NULL};
      t[i].type = ct->type;
      t[i].fixed_output = ct->fixed_output;
      t[i].output_topic = ct->output_topic;
      t[i].journal_topic = ct->journal_topic;
      t[i].in_place_compacted = ct->in_place_compacted;
      snprintf(where, sizeof where, "%s:%u:%u: target '%s'", c->path, ct->line,
               ct->col, ct->name);
      if (ct->kind == STORE_KAFKA_TOPIC) {
        int status = cli_kafka_resolve_config(&t[i].kafka, ct, where, cmd);
        t[i].target.kafka = &t[i].kafka.kafka;
        if (status != 0) {
          targets_free(t, count);
          return status;
        }
      }
    } else {
      store_kind kind = a->kind;
      if (a->queue)
        kind = kind == STORE_SQLITE_TABLE ? STORE_SQLITE_QUEUE
                                          : STORE_POSTGRES_QUEUE;
      const char *conn = a->stream != NULL ? a->stream : a->connection;
      t[i].target = (store_target){a->name    ? a->name
                                   : a->table ? a->table
                                              : a->stream,
                                   kind,
                                   conn,
                                   a->table,
                                   a->key,
                                   a->column,
                                   a->where,
                                   NULL,
                                   a->state_column,
                                   a->pending_states,
                                   a->in_flight_states,
                                   STORE_VALUES_BINARY,
                                   a->connection_env != NULL,
                                   NULL};
      t[i].type = a->type;
      snprintf(where, sizeof where, "--type");
      if (a->kafka.bootstrap != NULL) {
        t[i].target.kind = STORE_KAFKA_TOPIC;
        t[i].target.connection = a->kafka.bootstrap;
        t[i].target.name = a->name ? a->name : a->kafka.topic;
        int status = cli_kafka_resolve(&t[i].kafka, &a->kafka, cmd);
        t[i].target.kafka = &t[i].kafka.kafka;
        if (status != 0) {
          targets_free(t, count);
          return status;
        }
      }
    }
    raw_writer_setting raw = {0, "--raw-writer", NULL};
    char raw_where[700];
    if (a->raw_writer >= 0) {
      raw.version = (unsigned)a->raw_writer;
    } else if (c != NULL && c->targets[i].has_raw_writer) {
      raw = (raw_writer_setting){c->targets[i].raw_writer, "raw_writer", where};
    } else if (c != NULL && c->has_raw_writer) {
      snprintf(raw_where, sizeof raw_where, "%s: for target '%s'", c->path,
               c->targets[i].name);
      raw = (raw_writer_setting){c->raw_writer, "raw_writer", raw_where};
    }
    t[i].index = i;
    resolve_column_encoding(&t[i], a, c, i);
    int status = resolve_reader(&t[i], reg, version, framing, &raw, where, cmd);
    if (status == 0) status = resolve_schema_ids(&t[i], a, c, i, cmd);
    if (status == 0) {
      t[i].runtime = (rs_reader)RS_READER_INIT;
      status = cli_runtime_resolve(
          &t[i].runtime, &a->runtime, c != NULL ? &c->targets[i].runtime : NULL,
          c != NULL ? &c->runtime : NULL, c != NULL ? c->path : NULL,
          c != NULL ? c->targets[i].name : NULL, cmd);
    }
    if (status != 0) {
      targets_free(t, count);
      return status;
    }
  }
  *out = t;
  *n = count;
  return 0;
}

/*
 * The types the targets need from schemas: a target's own `schemas:`, else
 * --schema, else the file's top-level `schemas:`; none for a compiled-in
 * type.
 */
static int build_types(cli_target_set *set, const cli_target_args *a,
                       const char *cmd) {
  const cli_config *c = set->config;
  size_t n = c != NULL ? c->n_targets : 1;
  cli_type_request *req = calloc(n, sizeof *req);
  char(*where)[300] = calloc(n, sizeof *where);
  const char *plugins[2 * CLI_MAX_PLUGINS];
  size_t n_req = 0, n_plugins = 0;
  if (req == NULL || where == NULL) {
    free(req);
    free(where);
    cli_error(cmd, "out of memory");
    return CLI_EXIT_IO;
  }
  for (size_t i = 0; i < n; i++) {
    cli_type_request r = {a->type, a->types.schemas, a->types.n_schemas,
                          a->types.message, "--schema"};
    if (c != NULL) {
      const cli_config_target *t = &c->targets[i];
      r.type = t->type;
      if (t->message != NULL) r.message = t->message;
      if (t->schemas.n > 0) {
        r.schemas = (const char *const *)t->schemas.items;
        r.n_schemas = t->schemas.n;
      } else if (r.n_schemas == 0) {
        r.schemas = (const char *const *)c->schemas.items;
        r.n_schemas = c->schemas.n;
      }
      snprintf(where[i], sizeof where[i], "%s:%u:%u: target '%s'", c->path,
               t->line, t->col, t->name);
      r.where = where[i];
    }
    if (r.n_schemas > 0) req[n_req++] = r;
  }
  for (size_t i = 0; i < a->types.n_plugins; i++)
    plugins[n_plugins++] = a->types.plugins[i];
  for (size_t i = 0;
       c != NULL && i < c->plugins.n && n_plugins < 2 * CLI_MAX_PLUGINS; i++)
    plugins[n_plugins++] = c->plugins.items[i];
  /* Import paths: the command line's, then the file's. */
  const char *paths[2 * CLI_MAX_SCHEMAS + 1];
  size_t n_paths = 0;
  for (size_t i = 0; i < a->types.n_proto_paths; i++)
    paths[n_paths++] = a->types.proto_paths[i];
  for (size_t i = 0;
       c != NULL && i < c->proto_paths.n && n_paths < 2 * CLI_MAX_SCHEMAS; i++)
    paths[n_paths++] = c->proto_paths.items[i];
  paths[n_paths] = NULL;
  int status = cli_types_build(&set->types, req, n_req, plugins, n_plugins,
                               c != NULL ? c->enum_maps : NULL,
                               c != NULL ? c->n_enum_maps : 0,
                               c != NULL ? c->path : NULL, paths, cmd);
  free(req);
  free(where);
  set->registry = set->types.registry;
  return status;
}

int cli_target_set_load(cli_target_set *set, const cli_target_args *a,
                        const char *cmd) {
  memset(set, 0, sizeof *set);
  if (a->config != NULL) {
    char msg[768];
    int status = cli_config_load(&set->config, a->config, msg, sizeof msg);
    if (status != 0) {
      cli_error(cmd, "%s", msg);
      return status;
    }
  }
  int status = build_types(set, a, cmd);
  if (status != 0) return status;
  status =
      resolve_all(a, set->registry, set->config, &set->targets, &set->n, cmd);
  if (status != 0) return status;
  for (size_t i = 0; i < set->n; i++) {
    cli_target *t = &set->targets[i];
    cli_types_origin(&set->types, t->type, t->reader_version,
                     &t->reader_schema);
  }
  return 0;
}

void cli_target_set_free(cli_target_set *set) {
  targets_free(set->targets, set->n);
  cli_types_free(&set->types);
  cli_config_free(set->config);
  memset(set, 0, sizeof *set);
}

void cli_target_schemas(const cli_target_set *set, const cli_target_args *a,
                        const cli_target *t0, const char *const **schemas,
                        size_t *n, const char **message) {
  const cli_config *c = set->config;
  size_t i = t0->index;
  *schemas = a->types.schemas;
  *n = a->types.n_schemas;
  *message = a->types.message;
  if (c == NULL || i >= c->n_targets) return;
  const cli_config_target *t = &c->targets[i];
  if (t->message != NULL) *message = t->message;
  if (t->schemas.n > 0) {
    *schemas = (const char *const *)t->schemas.items;
    *n = t->schemas.n;
  } else if (*n == 0) {
    *schemas = (const char *const *)c->schemas.items;
    *n = c->schemas.n;
  }
}

int cli_target_set_from_specs(cli_target_set *set, const cli_target_args *a,
                              const cli_target_spec *specs, size_t n,
                              int need_types,
                              const char *const *missing_type_hint,
                              const char *cmd) {
  memset(set, 0, sizeof *set);
  if (need_types) {
    cli_type_request *req = calloc(n ? n : 1, sizeof *req);
    if (req == NULL) {
      cli_error(cmd, "out of memory");
      return CLI_EXIT_IO;
    }
    size_t n_req = 0;
    for (size_t i = 0; i < n && a->types.n_schemas > 0; i++)
      req[n_req++] =
          (cli_type_request){specs[i].type, a->types.schemas,
                             a->types.n_schemas, a->types.message, "--schema"};
    const char *paths[CLI_MAX_SCHEMAS + 1];
    size_t n_paths = 0;
    for (size_t i = 0; i < a->types.n_proto_paths; i++)
      paths[n_paths++] = a->types.proto_paths[i];
    paths[n_paths] = NULL;
    int status = cli_types_build(&set->types, req, n_req, a->types.plugins,
                                 a->types.n_plugins, NULL, 0, NULL, paths, cmd);
    free(req);
    set->registry = set->types.registry;
    if (status != 0) return status;
  }
  cli_target *t = calloc(n ? n : 1, sizeof *t);
  if (t == NULL) {
    cli_error(cmd, "out of memory");
    return CLI_EXIT_IO;
  }
  set->targets = t;
  set->n = n;
  for (size_t i = 0; i < n; i++) {
    const cli_target_spec *sp = &specs[i];
    t[i].target = sp->target;
    t[i].type = sp->type;
    t[i].column_encoding = sp->column_encoding;
    t[i].target.values = sp->column_encoding == COLENC_BINARY
                             ? STORE_VALUES_BINARY
                             : STORE_VALUES_TEXT;
    t[i].schema_ids = sp->schema_ids;
    t[i].n_schema_ids = sp->n_schema_ids;
    snprintf(t[i].schema_ids_where, sizeof t[i].schema_ids_where,
             "the run's schema ids");
    t[i].raw_writer = sp->raw_writer;
    t[i].reader_version = sp->reader_version;
    t[i].framing = (rs_reader_framing)sp->framing;
    if (!need_types) continue;
    if (sp->type == NULL || rs_registry_newest(set->registry, sp->type) == 0) {
      if (missing_type_hint != NULL && missing_type_hint[i] != NULL)
        cli_error(cmd, "%s", missing_type_hint[i]);
      else
        cli_error(cmd, "target '%s': unknown record type '%s'", sp->target.name,
                  sp->type != NULL ? sp->type : "");
      return CLI_EXIT_USAGE;
    }
    char where[200];
    snprintf(where, sizeof where, "target '%s' (as the run recorded it)",
             sp->target.name);
    raw_writer_setting raw = {sp->raw_writer, "raw_writer", where};
    int status = resolve_reader(&t[i], set->registry, sp->reader_version,
                                sp->framing, &raw, where, cmd);
    if (status != 0) return status;
  }
  return 0;
}

int cli_target_set_narrow(cli_target_set *set, const char *const *names,
                          size_t n, const char *cmd) {
  if (n == 0) return 0;
  for (size_t k = 0; k < n; k++) {
    int found = 0;
    for (size_t i = 0; i < set->n && !found; i++)
      found = strcmp(set->targets[i].target.name, names[k]) == 0;
    if (!found) {
      char known[512] = "";
      for (size_t i = 0; i < set->n; i++) {
        size_t used = strlen(known);
        snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                 set->targets[i].target.name);
      }
      return cli_usage_error(cmd, "--target %s: no such target (targets: %s)",
                             names[k], known);
    }
  }
  /* Kept in the config's order; the others' Kafka settings are freed. */
  size_t kept = 0;
  for (size_t i = 0; i < set->n; i++) {
    int keep = 0;
    for (size_t k = 0; k < n && !keep; k++)
      keep = strcmp(set->targets[i].target.name, names[k]) == 0;
    if (!keep) {
      cli_kafka_target_free(&set->targets[i].kafka);
      continue;
    }
    cli_target moved = set->targets[i];
    set->targets[kept] = moved;
    if (moved.target.kafka != NULL)
      set->targets[kept].target.kafka = &set->targets[kept].kafka.kafka;
    kept++;
  }
  set->n = kept;
  return 0;
}
