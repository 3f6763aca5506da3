#define _XOPEN_SOURCE 700
/*
 * src/cli/runs.c: a run's settings, written when a fix starts and read by
 * fix --resume, restore, runs and purge (see runs.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "runs.h"

/* The settings' own format: a later rollsafe that changes their meaning
 * says so here. */
#define SETTINGS_FORMAT 1

void cli_run_parts_free(cli_run_part *parts, size_t n) {
  for (size_t i = 0; parts != NULL && i < n; i++)
    json_decref(parts[i].settings);
  free(parts);
}

static int exit_for(int status) {
  return status == STORE_EUSAGE  ? CLI_EXIT_USAGE
         : status == STORE_EBUSY ? CLI_EXIT_INCOMPLETE
                                 : CLI_EXIT_IO;
}

/* Reads the settings of @p n rows into parts of their own. */
static int parse_rows(cli_run_part **out, size_t *n_out, store_run *rows,
                      size_t n, const char *cmd) {
  *out = NULL;
  *n_out = 0;
  if (n == 0) return 0;
  cli_run_part *parts = calloc(n, sizeof *parts);
  if (parts == NULL) {
    cli_error(cmd, "out of memory");
    return CLI_EXIT_IO;
  }
  for (size_t i = 0; i < n; i++) {
    parts[i].run = rows[i];
    if (rows[i].settings[0] == '\0') continue;
    json_error_t jerr;
    parts[i].settings =
        json_loads(rows[i].settings, JSON_REJECT_DUPLICATES, &jerr);
    if (parts[i].settings == NULL || !json_is_object(parts[i].settings)) {
      cli_error(cmd,
                "run %s (target '%s'): its recorded settings are not a JSON "
                "object (%s)",
                rows[i].run, rows[i].target, jerr.text);
      cli_run_parts_free(parts, n);
      return CLI_EXIT_IO;
    }
  }
  *out = parts;
  *n_out = n;
  return 0;
}

/* Opens the runs of @p db's database. */
static int open_runs(store **s, const store_target *db,
                     const cli_run_limits *limits, const char *cmd) {
  store_open_options sopts = {isatty(STDIN_FILENO), 0};
  store_error serr = {STORE_OK, ""};
  if (store_open_runs(s, db, limits != NULL ? &limits->open : &sopts,
                      limits != NULL ? &limits->write : NULL,
                      &serr) != STORE_OK) {
    cli_error(cmd, "%s", serr.message);
    return exit_for(serr.status);
  }
  return 0;
}

/* The rows of run @p run (NULL: every row) of @p db's database. */
static int read_rows(cli_run_part **out, size_t *n, const store_target *db,
                     const char *run, char *described,
                     const cli_run_limits *limits, const char *cmd) {
  *out = NULL;
  *n = 0;
  store *s = NULL;
  int status = open_runs(&s, db, limits, cmd);
  if (status != 0) return status;
  if (described != NULL) snprintf(described, 256, "%s", store_describe(s));
  store_run *rows = NULL;
  size_t count = 0;
  store_error serr = {STORE_OK, ""};
  int rc = run != NULL ? store_run_parts(s, run, &rows, &count, &serr)
                       : store_run_list(s, &rows, &count, &serr);
  if (rc != STORE_OK) {
    cli_error(cmd, "%s", serr.message);
    status = exit_for(serr.status);
  }
  store_close(s);
  if (status == 0) status = parse_rows(out, n, rows, count, cmd);
  free(rows);
  return status;
}

int cli_run_parts_of(cli_run_part **out, size_t *n, const store_target *db,
                     const char *run, char *described,
                     const cli_run_limits *limits, const char *cmd) {
  return read_rows(out, n, db, run != NULL ? run : "", described, limits, cmd);
}

int cli_run_list_of(cli_run_part **out, size_t *n, const store_target *db,
                    const cli_run_limits *limits, const char *cmd) {
  return read_rows(out, n, db, NULL, NULL, limits, cmd);
}

int cli_run_is_target(const cli_run_part *p, const store_target *t) {
  if (t->name != NULL && strcmp(p->run.target, t->name) == 0) return 1;
  /* An earlier rollsafe named a target from the command line by its
   * table: its rows are found by table and column too. */
  return p->settings == NULL && t->table != NULL &&
         strcmp(p->run.table, t->table) == 0 &&
         (t->column == NULL || strcmp(p->run.column, t->column) == 0);
}

json_t *cli_run_targets(const cli_run_part *p) {
  json_t *list =
      p->settings ? json_object_get(p->settings, "run_targets") : NULL;
  return json_is_array(list) ? list : NULL;
}

const char *cli_run_str(const cli_run_part *p, const char *key) {
  if (p->settings == NULL) return NULL;
  return json_string_value(json_object_get(p->settings, key));
}

static json_int_t run_int(const cli_run_part *p, const char *key,
                          json_int_t dflt) {
  json_t *v = p->settings ? json_object_get(p->settings, key) : NULL;
  return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* ---- writing the settings ------------------------------------------------ */

static const char *framing_name(int framing) {
  return framing == RS_READER_FRAMING_RAW         ? "raw"
         : framing == RS_READER_FRAMING_ENVELOPE  ? "envelope"
         : framing == RS_READER_FRAMING_CONFLUENT ? "confluent"
                                                  : "default";
}

static int framing_of(const char *name) {
  if (name == NULL) return -1;
  return strcmp(name, "raw") == 0         ? RS_READER_FRAMING_RAW
         : strcmp(name, "envelope") == 0  ? RS_READER_FRAMING_ENVELOPE
         : strcmp(name, "confluent") == 0 ? RS_READER_FRAMING_CONFLUENT
                                          : -1;
}

/* A path as the run records it: absolute where it can be made so, so that
 * a command printed for later works from any directory. */
static json_t *path_json(const char *path) {
  char *abs = realpath(path, NULL);
  json_t *v = json_string(abs != NULL ? abs : path);
  free(abs);
  return v;
}

static json_t *paths_json(const char *const *paths, size_t n) {
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(list, path_json(paths[i]));
  return list;
}

/* "ID=VERSION[@I.J]" of each schema id, sorted: the same mapping reads the
 * same whatever order it was given in. */
static json_t *schema_ids_json(const rs_schema_id *ids, size_t n) {
  json_t *o = json_object();
  for (size_t i = 0; i < n; i++) {
    char key[32], value[160];
    snprintf(key, sizeof key, "%lu", (unsigned long)ids[i].id);
    cli_schema_id_text(&ids[i], value, sizeof value);
    json_t *have = json_object_get(o, key);
    if (json_is_array(have)) {
      json_array_append_new(have, json_string(value));
    } else if (have != NULL) {
      json_t *list = json_pack("[Os]", have, value);
      json_object_set_new(o, key, list);
    } else {
      json_object_set_new(o, key, json_string(value));
    }
  }
  return o;
}

static json_t *fingerprints_json(const rs_registry *reg, const char *type,
                                 unsigned newest) {
  json_t *o = json_object();
  for (unsigned v = 1; reg != NULL && v <= newest; v++) {
    const uint8_t *fp = rs_registry_fingerprint(reg, type, v);
    if (fp == NULL) continue;
    char hex[2 * RS_FINGERPRINT_LEN + 1], key[16];
    for (int i = 0; i < RS_FINGERPRINT_LEN; i++)
      snprintf(hex + 2 * i, 3, "%02x", fp[i]);
    snprintf(key, sizeof key, "%u", v);
    json_object_set_new(o, key, json_string(hex));
  }
  return o;
}

static json_t *enum_map_json(const cli_config *c) {
  json_t *list = json_array();
  for (size_t i = 0; c != NULL && i < c->n_enum_maps; i++)
    json_array_append_new(list,
                          json_pack("[sss]", c->enum_maps[i].enum_name,
                                    c->enum_maps[i].from, c->enum_maps[i].to));
  return list;
}

static json_t *opt_str(const char *s) {
  return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* The command line's paths, then the config's (@p more, or NULL), at most
 * @p cap of them, into @p out: how many. */
static size_t joined(const char **out, size_t cap, const char *const *first,
                     size_t n_first, const cli_config_paths *more) {
  size_t n = 0;
  for (size_t i = 0; i < n_first && n < cap; i++) out[n++] = first[i];
  for (size_t i = 0; more != NULL && i < more->n && n < cap; i++)
    out[n++] = more->items[i];
  return n;
}

int cli_run_new_part(store_run *run, const char *run_id, const char *row_id,
                     const cli_target_set *set, const cli_target_args *a,
                     const cli_target *t, const cli_run_context *ctx,
                     const char *cmd) {
  memset(run, 0, sizeof *run);
  snprintf(run->run_id, sizeof run->run_id, "%s", row_id);
  snprintf(run->run, sizeof run->run, "%s", run_id);
  snprintf(run->command, sizeof run->command, "fix");
  snprintf(run->target, sizeof run->target, "%s", t->target.name);
  snprintf(run->table, sizeof run->table, "%s", t->target.table);
  snprintf(run->key, sizeof run->key, "%s",
           t->target.key != NULL ? t->target.key : "");
  snprintf(run->column, sizeof run->column, "%s", t->target.column);
  run->to_version = ctx->to_version ? ctx->to_version : t->reader_version;
  run->remaining = run->remaining_undetermined = -1;

  const char *const *schemas;
  size_t n_schemas;
  const char *message;
  cli_target_schemas(set, a, t, &schemas, &n_schemas, &message);
  const char *plugins[2 * CLI_MAX_PLUGINS], *paths[2 * CLI_MAX_SCHEMAS];
  const cli_config *c = set->config;
  size_t n_plugins = joined(plugins, 2 * CLI_MAX_PLUGINS, a->types.plugins,
                            a->types.n_plugins, c ? &c->plugins : NULL);
  size_t n_paths = joined(paths, 2 * CLI_MAX_SCHEMAS, a->types.proto_paths,
                          a->types.n_proto_paths, c ? &c->proto_paths : NULL);

  json_t *names = json_array();
  for (size_t i = 0; i < ctx->n_targets; i++)
    json_array_append_new(names, json_string(ctx->targets[i]));
  json_t *o = json_object();
  json_object_set_new(o, "format", json_integer(SETTINGS_FORMAT));
  json_object_set_new(o, "run_targets", names);
  json_object_set_new(o, "kind", json_string(store_kind_name(t->target.kind)));
  json_object_set_new(o, "where", opt_str(t->target.where));
  int queue = store_kind_is_queue(t->target.kind);
  json_object_set_new(o, "state_column",
                      opt_str(queue ? t->target.state_column : NULL));
  json_object_set_new(
      o, "pending_states",
      opt_str(queue && t->target.state_column != NULL
                  ? (t->target.pending_states != NULL ? t->target.pending_states
                                                      : "pending")
                  : NULL));
  json_object_set_new(o, "in_flight_states",
                      opt_str(queue ? t->target.in_flight_states : NULL));
  json_object_set_new(o, "column_encoding",
                      json_string(colenc_name(t->column_encoding)));
  json_object_set_new(o, "type", json_string(t->type));
  json_object_set_new(o, "message", opt_str(message));
  json_object_set_new(o, "schemas", paths_json(schemas, n_schemas));
  json_object_set_new(o, "plugins", paths_json(plugins, n_plugins));
  json_object_set_new(o, "proto_paths", paths_json(paths, n_paths));
  json_object_set_new(o, "fingerprints",
                      fingerprints_json(set->registry, t->type, t->newest));
  json_object_set_new(o, "reader_version", json_integer(t->reader_version));
  json_object_set_new(o, "reader_framing",
                      json_string(framing_name(t->framing)));
  json_object_set_new(o, "raw_writer", json_integer(t->raw_writer));
  json_object_set_new(o, "schema_ids",
                      schema_ids_json(t->schema_ids, t->n_schema_ids));
  json_object_set_new(o, "to_version", json_integer(run->to_version));
  json_object_set_new(o, "allow_lossy", json_boolean(ctx->allow_lossy));
  json_object_set_new(o, "enum_map", enum_map_json(set->config));
  json_object_set_new(o, "config", opt_str(ctx->config));
  json_object_set_new(o, "rollsafe_version", json_string(rs_version()));
  if (ctx->part_count > 0)
    json_object_set_new(
        o, "partition",
        json_pack("{s:I,s:I,s:I,s:I}", "index", (json_int_t)ctx->part_index,
                  "count", (json_int_t)ctx->part_count, "shard",
                  (json_int_t)ctx->shard_index, "shards",
                  (json_int_t)ctx->shard_count));
  char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  if (text == NULL) {
    cli_error(cmd, "out of memory");
    return CLI_EXIT_IO;
  }
  size_t len = strlen(text);
  if (len >= sizeof run->settings) {
    free(text);
    return cli_usage_error(cmd,
                           "target '%s': what the run must record (its "
                           "--where, states, schemas and targets) takes %zu "
                           "bytes, more than the %zu a run keeps",
                           t->target.name, len, sizeof run->settings - 1);
  }
  memcpy(run->settings, text, len + 1);
  free(text);
  return 0;
}

/* ---- reading them back ----------------------------------------------------
 */

int cli_run_partition_of(const cli_run_part *p, cli_run_partition *out) {
  json_t *o =
      p->settings != NULL ? json_object_get(p->settings, "partition") : NULL;
  json_int_t v[4];
  const char *keys[4] = {"index", "count", "shard", "shards"};
  if (!json_is_object(o)) return 0;
  for (int i = 0; i < 4; i++) {
    json_t *x = json_object_get(o, keys[i]);
    if (!json_is_integer(x) || json_integer_value(x) < 0 ||
        json_integer_value(x) > 1000000)
      return 0;
    v[i] = json_integer_value(x);
  }
  if (v[1] < 1 || v[0] >= v[1]) return 0;
  if (out != NULL)
    *out = (cli_run_partition){(unsigned)v[0], (unsigned)v[1], (unsigned)v[2],
                               (unsigned)v[3]};
  return 1;
}

/* The schema ids the run recorded, into p->schema_ids. */
static int parse_schema_ids(cli_run_part *p, const char *cmd) {
  json_t *o = p->settings ? json_object_get(p->settings, "schema_ids") : NULL;
  const char *key;
  json_t *v;
  p->n_schema_ids = 0;
  json_object_foreach(o, key, v) {
    json_t *one = json_is_array(v) ? NULL : v;
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    for (size_t i = 0; i < n; i++) {
      json_t *item = one != NULL ? one : json_array_get(v, i);
      char why[256];
      if (p->n_schema_ids == CLI_MAX_SCHEMA_IDS || !json_is_string(item) ||
          cli_schema_id_parse(&p->schema_ids[p->n_schema_ids], key,
                              json_string_value(item), why, sizeof why) != 0) {
        cli_error(cmd, "run %s (target '%s'): a recorded schema id is not one",
                  p->run.run, p->run.target);
        return CLI_EXIT_USAGE;
      }
      p->n_schema_ids++;
    }
  }
  return 0;
}

int cli_run_spec(cli_target_spec *out, cli_run_part *p, const store_target *db,
                 const char *cmd) {
  memset(out, 0, sizeof *out);
  if (p->settings == NULL)
    return cli_usage_error(
        cmd,
        "run %s (target '%s', table %s) was made by an earlier rollsafe, "
        "which recorded only its table, key and column: give the target's "
        "options (--table %s --column %s --type TYPE, and --queue with "
        "--state-column and its states for an outbox)",
        p->run.run, p->run.target, p->run.table, p->run.table, p->run.column);
  store_kind kind = store_kind_from_name(cli_run_str(p, "kind"));
  int sqlite = db->kind == STORE_SQLITE_TABLE || db->kind == STORE_SQLITE_QUEUE;
  if (kind == 0 ||
      (sqlite && kind != STORE_SQLITE_TABLE && kind != STORE_SQLITE_QUEUE) ||
      (!sqlite && kind != STORE_POSTGRES_TABLE && kind != STORE_POSTGRES_QUEUE))
    return cli_usage_error(
        cmd,
        "run %s (target '%s'): recorded kind '%s' is "
        "not a target of this database",
        p->run.run, p->run.target,
        cli_run_str(p, "kind") ? cli_run_str(p, "kind") : "");
  colenc_kind enc = COLENC_BINARY;
  const char *enc_name = cli_run_str(p, "column_encoding");
  if (enc_name != NULL && colenc_from_name(enc_name, &enc) != 0)
    return cli_usage_error(cmd,
                           "run %s (target '%s'): unknown column encoding "
                           "'%s'",
                           p->run.run, p->run.target, enc_name);
  int status = parse_schema_ids(p, cmd);
  if (status != 0) return status;
  out->target = (store_target){p->run.target,
                               kind,
                               db->connection,
                               p->run.table,
                               p->run.key,
                               p->run.column,
                               cli_run_str(p, "where"),
                               db->connection_label,
                               cli_run_str(p, "state_column"),
                               cli_run_str(p, "pending_states"),
                               cli_run_str(p, "in_flight_states"),
                               STORE_VALUES_BINARY,
                               db->password_allowed,
                               NULL};
  out->type = cli_run_str(p, "type");
  out->reader_version = (unsigned)run_int(p, "reader_version", 0);
  out->framing = framing_of(cli_run_str(p, "reader_framing"));
  if (out->framing < 0) out->framing = RS_READER_FRAMING_DEFAULT;
  out->raw_writer = (unsigned)run_int(p, "raw_writer", 0);
  out->schema_ids = p->schema_ids;
  out->n_schema_ids = p->n_schema_ids;
  out->column_encoding = enc;
  return 0;
}

/* " --NAME 'PATH'" for each path of the settings' list @p key. */
static void append_paths(char *out, size_t size, const cli_run_part *p,
                         const char *key, const char *option);

void cli_run_type_hint(char *out, size_t size, const cli_run_part *p) {
  char opts[2048] = "";
  append_paths(opts, sizeof opts, p, "schemas", "--schema");
  append_paths(opts, sizeof opts, p, "plugins", "--plugin");
  append_paths(opts, sizeof opts, p, "proto_paths", "--proto-path");
  const char *message = cli_run_str(p, "message");
  if (message != NULL) {
    size_t used = strlen(opts);
    snprintf(opts + used, sizeof opts - used, " --message %s", message);
  }
  const char *type = cli_run_str(p, "type");
  if (opts[0] != '\0')
    snprintf(out, size,
             "run %s (target '%s'): its record type %s is not compiled in "
             "and no option given declares it: add%s (as the run was "
             "started with)",
             p->run.run, p->run.target, type ? type : "?", opts);
  else
    snprintf(out, size,
             "run %s (target '%s'): its record type %s is not known to this "
             "rollsafe: add --schema FILE for each of its format versions "
             "(oldest first), or the --plugin that registers it",
             p->run.run, p->run.target, type ? type : "?");
}

/* ---- what was given, and what the run recorded ----------------------- */

void cli_run_given_of(cli_run_given *g, const cli_target_set *set,
                      const cli_target_args *a, const cli_target *t) {
  memset(g, 0, sizeof *g);
  const cli_config *c = set != NULL ? set->config : NULL;
  g->reader_version = a->reader_version != 0;
  g->framing = a->framing > RS_READER_FRAMING_DEFAULT;
  g->raw_writer = a->raw_writer >= 0;
  g->column_encoding = a->column_encoding >= 0;
  g->schema_ids = a->n_schema_ids > 0;
  if (c == NULL || t->index >= c->n_targets) {
    g->kind = a->queue;
    g->key = a->key != NULL;
    g->where = a->where != NULL;
    g->states = a->state_column != NULL || a->pending_states != NULL ||
                a->in_flight_states != NULL;
    g->type = a->type != NULL;
    return;
  }
  const cli_config_target *ct = &c->targets[t->index];
  g->kind = 1;
  g->key = ct->key != NULL;
  g->where = ct->where != NULL;
  g->states = ct->state_column != NULL || ct->pending_states != NULL ||
              ct->in_flight_states != NULL;
  g->type = 1;
  g->enum_map = 1;
  g->reader_version |= c->has_reader_version;
  g->framing |= c->has_reader_framing;
  g->raw_writer |= ct->has_raw_writer || c->has_raw_writer;
  g->column_encoding |= ct->has_column_encoding || c->has_column_encoding;
  g->schema_ids |= ct->schema_ids.n > 0 || c->schema_ids.n > 0;
}

/* @p s without blanks, for comparing lists ("a, b" and "a,b"). */
static void squeezed(char *out, size_t size, const char *s) {
  size_t n = 0;
  for (; s != NULL && *s != '\0' && n + 1 < size; s++)
    if (*s != ' ' && *s != '\t') out[n++] = *s;
  out[n] = '\0';
}

static int same_list(const char *a, const char *b) {
  char x[1024], y[1024];
  squeezed(x, sizeof x, a);
  squeezed(y, sizeof y, b);
  return strcmp(x, y) == 0;
}

static const char *or_none(const char *s) {
  return s != NULL && s[0] != '\0' ? s : "(none)";
}

/* A contradiction: what was given, and what the run recorded. */
static int contradicts(const cli_run_part *p, const char *cmd, const char *what,
                       const char *given, const char *recorded) {
  return cli_usage_error(cmd,
                         "target '%s': run %s recorded %s %s, and %s is "
                         "given: leave the option out to use the run's, or "
                         "start a new fix",
                         p->run.target, p->run.run, what, recorded, given);
}

static int check_fingerprints(const cli_run_part *p, const rs_registry *reg,
                              const char *cmd) {
  json_t *fps = json_object_get(p->settings, "fingerprints");
  const char *type = cli_run_str(p, "type");
  json_t *now = fingerprints_json(reg, type, rs_registry_newest(reg, type));
  const char *key;
  json_t *v;
  int status = 0;
  json_object_foreach(fps, key, v) {
    json_t *have = json_object_get(now, key);
    if (!json_equal(have, v)) {
      status = cli_usage_error(
          cmd,
          "target '%s': the schemas given for %s differ from run %s's: "
          "version %s has fingerprint %s, the run recorded %s; give the "
          "schemas the run was started with",
          p->run.target, type, p->run.run, key,
          json_is_string(have) ? json_string_value(have) : "(none)",
          json_string_value(v) ? json_string_value(v) : "?");
      break;
    }
  }
  if (status == 0 && json_object_size(now) != json_object_size(fps))
    status = cli_usage_error(
        cmd,
        "target '%s': %s has %zu format versions here, and run %s recorded "
        "%zu; give the schemas the run was started with",
        p->run.target, type, json_object_size(now), p->run.run,
        json_object_size(fps));
  json_decref(now);
  return status;
}

int cli_run_check(cli_run_part *p, cli_target *t, const cli_run_given *g,
                  const cli_target_set *set, int codec, unsigned to_version,
                  int allow_lossy, unsigned *run_to_version,
                  int *run_allow_lossy, const char *cmd) {
  *run_to_version = p->run.to_version;
  *run_allow_lossy = 0;
  store_target *st = &t->target;
  if (strcmp(p->run.table, st->table) != 0)
    return contradicts(p, cmd, "table", st->table, p->run.table);
  if (strcmp(p->run.column, st->column) != 0)
    return contradicts(p, cmd, "column", st->column, p->run.column);
  if (g->key && !same_list(st->key, p->run.key))
    return contradicts(p, cmd, "key", or_none(st->key), p->run.key);
  if (!g->key) st->key = p->run.key;
  if (p->settings == NULL) return 0; /* an earlier rollsafe's run */

  cli_target_spec rec;
  store_target db = *st;
  int status = cli_run_spec(&rec, p, &db, cmd);
  if (status != 0) return status;
  int rec_queue = store_kind_is_queue(rec.target.kind);
  if (g->kind && store_kind_is_queue(st->kind) != rec_queue)
    return contradicts(p, cmd, "the kind", store_kind_name(st->kind),
                       store_kind_name(rec.target.kind));
  st->kind = rec.target.kind;
  if (g->states && rec_queue &&
      (!same_list(st->state_column, rec.target.state_column) ||
       !same_list(
           st->state_column != NULL
               ? (st->pending_states != NULL ? st->pending_states : "pending")
               : NULL,
           rec.target.pending_states) ||
       !same_list(st->in_flight_states, rec.target.in_flight_states))) {
    char given[600], recorded[600];
    snprintf(given, sizeof given,
             "state column %s with pending states %s and in-flight states %s",
             or_none(st->state_column),
             or_none(st->pending_states ? st->pending_states
                     : st->state_column ? "pending"
                                        : NULL),
             or_none(st->in_flight_states));
    snprintf(recorded, sizeof recorded,
             "state column %s with pending states %s and in-flight states %s",
             or_none(rec.target.state_column),
             or_none(rec.target.pending_states),
             or_none(rec.target.in_flight_states));
    return contradicts(p, cmd, "the queue's", given, recorded);
  }
  st->state_column = rec.target.state_column;
  st->pending_states = rec.target.pending_states;
  st->in_flight_states = rec.target.in_flight_states;
  if (g->type && t->type != NULL && rec.type != NULL &&
      strcmp(t->type, rec.type) != 0)
    return contradicts(p, cmd, "the record type", t->type, rec.type);
  if (g->column_encoding && t->column_encoding != rec.column_encoding)
    return contradicts(p, cmd, "the column encoding",
                       colenc_name(t->column_encoding),
                       colenc_name(rec.column_encoding));
  t->column_encoding = rec.column_encoding;
  if (!codec) return 0;

  /* What a resume decodes and writes with. */
  if (g->where && strcmp(st->where ? st->where : "",
                         rec.target.where ? rec.target.where : "") != 0)
    return contradicts(p, cmd, "--where", or_none(st->where),
                       or_none(rec.target.where));
  st->where = rec.target.where;
  char a[32], b[32];
  if (g->reader_version && t->reader_version != rec.reader_version) {
    snprintf(a, sizeof a, "%u", t->reader_version);
    snprintf(b, sizeof b, "%u", rec.reader_version);
    return contradicts(p, cmd, "reader version", a, b);
  }
  if (g->framing && (int)t->framing != rec.framing)
    return contradicts(p, cmd, "reader framing", framing_name(t->framing),
                       framing_name(rec.framing));
  if (g->raw_writer && t->raw_writer != rec.raw_writer) {
    snprintf(a, sizeof a, "%u", t->raw_writer);
    snprintf(b, sizeof b, "%u", rec.raw_writer);
    return contradicts(p, cmd, "raw writer (0: auto)", a, b);
  }
  t->reader_version = rec.reader_version;
  t->framing = (rs_reader_framing)rec.framing;
  t->raw_writer = rec.raw_writer;
  if (g->schema_ids) {
    json_t *given = schema_ids_json(t->schema_ids, t->n_schema_ids);
    int same = json_equal(given, json_object_get(p->settings, "schema_ids"));
    char *x = json_dumps(given, JSON_COMPACT | JSON_SORT_KEYS);
    char *y = json_dumps(json_object_get(p->settings, "schema_ids"),
                         JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(given);
    if (!same) {
      status = contradicts(p, cmd, "schema ids", x ? x : "?", y ? y : "?");
      free(x);
      free(y);
      return status;
    }
    free(x);
    free(y);
  }
  t->schema_ids = p->schema_ids;
  t->n_schema_ids = p->n_schema_ids;
  if (to_version != 0 && to_version != p->run.to_version) {
    snprintf(a, sizeof a, "%u", to_version);
    snprintf(b, sizeof b, "%u", p->run.to_version);
    return contradicts(p, cmd, "the version written (--to-version)", a, b);
  }
  json_t *lossy = json_object_get(p->settings, "allow_lossy");
  *run_allow_lossy = json_is_true(lossy);
  if (allow_lossy && !*run_allow_lossy)
    return contradicts(p, cmd, "that lossy records stay as they are",
                       "--allow-lossy", "(no --allow-lossy)");
  json_t *maps = json_object_get(p->settings, "enum_map");
  json_t *now = enum_map_json(g->enum_map ? set->config : NULL);
  int same_maps = json_equal(now, maps) ||
                  (json_array_size(now) == 0 && json_array_size(maps) == 0);
  json_decref(now);
  if (!same_maps) {
    const char *cfg = cli_run_str(p, "config");
    return cli_usage_error(cmd,
                           "target '%s': run %s converted with the enum_map "
                           "of its config%s%s, and the one given differs: "
                           "resume it with that config (-c)",
                           p->run.target, p->run.run, cfg ? " " : "",
                           cfg ? cfg : "");
  }
  return set != NULL && set->registry != NULL
             ? check_fingerprints(p, set->registry, cmd)
             : 0;
}

/* ---- the command that goes on ------------------------------------------- */

/* @p s quoted for a POSIX shell where it needs to be. */
static void append_word(char *out, size_t size, const char *s) {
  size_t used = strlen(out);
  if (used + 2 >= size) return;
  out[used++] = ' ';
  int plain = s[0] != '\0';
  for (const char *c = s; *c && plain; c++)
    plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
            (*c >= '0' && *c <= '9') || strchr("_./:=@%+,-", *c) != NULL;
  if (plain) {
    snprintf(out + used, size - used, "%s", s);
    return;
  }
  if (used + 1 < size) out[used++] = '\'';
  for (const char *c = s; *c && used + 5 < size; c++) {
    if (*c == '\'') {
      memcpy(out + used, "'\\''", 4);
      used += 4;
    } else {
      out[used++] = *c;
    }
  }
  if (used + 1 < size) out[used++] = '\'';
  out[used < size ? used : size - 1] = '\0';
}

static void append_paths(char *out, size_t size, const cli_run_part *p,
                         const char *key, const char *option) {
  json_t *list = p != NULL && p->settings != NULL
                     ? json_object_get(p->settings, key)
                     : NULL;
  for (size_t i = 0; i < json_array_size(list); i++) {
    const char *path = json_string_value(json_array_get(list, i));
    if (path == NULL) continue;
    append_word(out, size, option);
    append_word(out, size, path);
  }
}

void cli_run_command(char *out, size_t size, const char *cmd,
                     const cli_target_args *a, const char *run,
                     const char *const *names, size_t n_names,
                     const cli_run_part *p) {
  int restore = strcmp(cmd, "restore") == 0;
  snprintf(out, size, "%s %s", CLI_PROGRAM, cmd);
  if (a->config != NULL) {
    append_word(out, size, "-c");
    append_word(out, size, a->config);
  } else {
    append_word(out, size,
                a->kind == STORE_SQLITE_TABLE ? "--sqlite"
                : a->connection_env != NULL   ? "--postgres-env"
                                              : "--postgres");
    append_word(out, size,
                a->connection_env != NULL ? a->connection_env : a->connection);
  }
  append_word(out, size, restore ? "--run" : "--resume");
  append_word(out, size, run);
  append_word(out, size, "--execute");
  for (size_t i = 0; i < n_names; i++) {
    append_word(out, size, "--target");
    append_word(out, size, names[i]);
  }
  /* A resume decodes: the type options given now, or where the run's type
   * came from. A config names its own. */
  if (!restore && a->config == NULL) {
    if (a->types.n_schemas > 0 || a->types.n_plugins > 0) {
      for (size_t i = 0; i < a->types.n_schemas; i++) {
        append_word(out, size, "--schema");
        append_word(out, size, a->types.schemas[i]);
      }
      for (size_t i = 0; i < a->types.n_plugins; i++) {
        append_word(out, size, "--plugin");
        append_word(out, size, a->types.plugins[i]);
      }
      for (size_t i = 0; i < a->types.n_proto_paths; i++) {
        append_word(out, size, "--proto-path");
        append_word(out, size, a->types.proto_paths[i]);
      }
      if (a->types.message != NULL) {
        append_word(out, size, "--message");
        append_word(out, size, a->types.message);
      }
    } else if (p != NULL) {
      append_paths(out, size, p, "schemas", "--schema");
      append_paths(out, size, p, "plugins", "--plugin");
      append_paths(out, size, p, "proto_paths", "--proto-path");
      const char *message = cli_run_str(p, "message");
      if (message != NULL &&
          json_array_size(json_object_get(p->settings, "schemas")) > 0) {
        append_word(out, size, "--message");
        append_word(out, size, message);
      }
    }
  }
  if (strlen(out) + 1 >= size) out[0] = '\0';
}
