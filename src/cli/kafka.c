#define _POSIX_C_SOURCE 200809L
/*
 * src/cli/kafka.c: Kafka topic options and properties (kafka.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "kafka.h"
#include "opt.h"
#include "targets.h"

/* Adds @p value to a repeatable option's list. */
static int add_listed(const char **list, size_t *n, const char *value,
                      const char *name, const char *cmd) {
  if (*n == CLI_MAX_KAFKA_PROPERTIES)
    return cli_usage_error(cmd, "%s given more than %d times", name,
                           CLI_MAX_KAFKA_PROPERTIES);
  const char *eq = strchr(value, '=');
  if (eq == NULL || eq == value)
    return cli_usage_error(
        cmd, "invalid %s: expected NAME=%s", name,
        strcmp(name, "--kafka-property") == 0 ? "VALUE" : "VARIABLE");
  list[(*n)++] = value;
  return 1;
}

/* --kafka-timeout SECONDS (a fraction allowed): 0.1 to 3600. */
static int parse_timeout(const char *value, int *out, const char *cmd) {
  char *end;
  errno = 0;
  double v = strtod(value, &end);
  if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0 ||
      v < 0.1 || v > 3600)
    return cli_usage_error(cmd,
                           "invalid --kafka-timeout '%s': expected seconds, "
                           "0.1 to 3600",
                           value);
  *out = (int)(v * 1000.0 + 0.5);
  return 1;
}

int cli_kafka_opt(cli_kafka_args *a, int id, const char *value,
                  const char *cmd) {
  switch (id) {
    case CLI_TOPT_KAFKA:
      return cli_opt_once(cmd, "--kafka", value, &a->bootstrap) == 0
                 ? 1
                 : CLI_EXIT_USAGE;
    case CLI_TOPT_TOPIC:
      return cli_opt_once(cmd, "--topic", value, &a->topic) == 0
                 ? 1
                 : CLI_EXIT_USAGE;
    case CLI_TOPT_GROUP:
      return cli_opt_once(cmd, "--group", value, &a->group) == 0
                 ? 1
                 : CLI_EXIT_USAGE;
    case CLI_TOPT_FROM_BEGINNING:
      a->from_beginning = 1;
      return 1;
    case CLI_TOPT_KAFKA_PROPERTY: {
      const char *eq = strchr(value, '=');
      if (eq != NULL) {
        char name[128];
        size_t n = (size_t)(eq - value);
        snprintf(name, sizeof name, "%.*s", (int)(n < 127 ? n : 127), value);
        /* Refused before anything else: the value is not shown. */
        if (store_kafka_property_is_secret(name))
          return cli_usage_error(
              cmd,
              "--kafka-property %s: a secret is never taken from the command "
              "line (other users see it in the process list); give it in "
              "--kafka-property-file FILE or --kafka-property-env %s=VARIABLE",
              name, name);
      }
      return add_listed(a->properties, &a->n_properties, value,
                        "--kafka-property", cmd);
    }
    case CLI_TOPT_KAFKA_PROPERTY_ENV:
      return add_listed(a->property_envs, &a->n_property_envs, value,
                        "--kafka-property-env", cmd);
    case CLI_TOPT_KAFKA_PROPERTY_FILE:
      return cli_opt_once(cmd, "--kafka-property-file", value,
                          &a->property_file) == 0
                 ? 1
                 : CLI_EXIT_USAGE;
    case CLI_TOPT_KAFKA_TIMEOUT:
      if (a->timeout_ms != 0)
        return cli_usage_error(cmd, "--kafka-timeout given twice");
      return parse_timeout(value, &a->timeout_ms, cmd);
  }
  return 0;
}

int cli_kafka_since(cli_kafka_args *a, const char *value, const char *cmd) {
  if (a->has_since) return cli_usage_error(cmd, "--since given twice");
  if (cli_parse_time(value, &a->since_ms) != 0)
    return cli_usage_error(
        cmd,
        "invalid --since '%s': expected RFC 3339 with a zone "
        "(2026-11-26T09:30:00Z), a date (2026-11-26) or @UNIX_SECONDS",
        value);
  a->since_ms /= 1000; /* Kafka timestamps: milliseconds */
  a->has_since = 1;
  a->since_text = value;
  return 0;
}

/* ---- properties -------------------------------------------------------- */

/* Sets property @p name to @p value (copies), replacing an earlier one. */
static int put(cli_kafka_target *t, const char *name, size_t name_len,
               const char *value, size_t value_len) {
  char *n = strndup(name, name_len);
  char *v = strndup(value, value_len);
  if (n == NULL || v == NULL) {
    free(n);
    free(v);
    return -1;
  }
  for (size_t i = 0; i < t->n_owned; i += 2)
    if (strcmp(t->owned[i], n) == 0) {
      free(n);
      free(t->owned[i + 1]);
      t->owned[i + 1] = v;
      return 0;
    }
  char **grown = realloc(t->owned, (t->n_owned + 2) * sizeof *grown);
  if (grown == NULL) {
    free(n);
    free(v);
    return -1;
  }
  t->owned = grown;
  t->owned[t->n_owned++] = n;
  t->owned[t->n_owned++] = v;
  return 0;
}

static int out_of_memory(const char *cmd) {
  cli_error(cmd, "out of memory");
  return CLI_EXIT_IO;
}

/* Trims spaces and tabs at both ends of [*p, *p + *n). */
static void trim(const char **p, size_t *n) {
  while (*n > 0 && (**p == ' ' || **p == '\t')) (*p)++, (*n)--;
  while (*n > 0 &&
         ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t' || (*p)[*n - 1] == '\r'))
    (*n)--;
}

/* One line of a properties file: NAME=VALUE, a comment or blank. */
static int file_line(cli_kafka_target *t, const char *line, size_t len,
                     const char *path, unsigned lineno, const char *cmd) {
  const char *p = line;
  size_t n = len;
  trim(&p, &n);
  if (n == 0 || p[0] == '#') return 0;
  const char *eq = memchr(p, '=', n);
  if (eq == NULL || eq == p) {
    /* The line is not shown: it may hold a secret. */
    cli_error(cmd, "%s:%u: expected NAME=VALUE", path, lineno);
    return CLI_EXIT_USAGE;
  }
  const char *name = p, *value = eq + 1;
  size_t name_len = (size_t)(eq - p), value_len = n - name_len - 1;
  trim(&name, &name_len);
  trim(&value, &value_len);
  if (put(t, name, name_len, value, value_len) != 0) return out_of_memory(cmd);
  return 0;
}

static int read_file(cli_kafka_target *t, const char *path, const char *cmd) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    cli_error(cmd, "cannot read Kafka properties '%s': %s", path,
              strerror(errno));
    return CLI_EXIT_IO;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t got;
  unsigned lineno = 0;
  int status = 0;
  while (status == 0 && (got = getline(&line, &cap, f)) >= 0) {
    lineno++;
    size_t len = (size_t)got;
    if (len > 0 && line[len - 1] == '\n') len--;
    status = file_line(t, line, len, path, lineno, cmd);
  }
  if (status == 0 && ferror(f)) {
    cli_error(cmd, "cannot read Kafka properties '%s': %s", path,
              strerror(errno));
    status = CLI_EXIT_IO;
  }
  if (line != NULL) memset(line, 0, cap); /* may have held a secret */
  free(line);
  fclose(f);
  return status;
}

static int from_env(cli_kafka_target *t, const char *spec, const char *where,
                    const char *cmd) {
  const char *eq = strchr(spec, '=');
  const char *var = eq + 1;
  const char *value = getenv(var);
  if (value == NULL) {
    cli_error(cmd, "%s: %.*s: environment variable %s is not set", where,
              (int)(eq - spec), spec, var);
    return CLI_EXIT_USAGE;
  }
  if (put(t, spec, (size_t)(eq - spec), value, strlen(value)) != 0)
    return out_of_memory(cmd);
  return 0;
}

static int from_pair(cli_kafka_target *t, const char *spec, const char *where,
                     const char *cmd) {
  const char *eq = strchr(spec, '=');
  char name[128];
  snprintf(name, sizeof name, "%.*s", (int)(eq - spec), spec);
  if (store_kafka_property_is_secret(name)) {
    cli_error(cmd,
              "%s: %s is a secret: give it in a properties file or the "
              "environment, never inline",
              where, name);
    return CLI_EXIT_USAGE;
  }
  if (put(t, spec, (size_t)(eq - spec), eq + 1, strlen(eq + 1)) != 0)
    return out_of_memory(cmd);
  return 0;
}

int cli_kafka_properties(cli_kafka_target *out, const cli_kafka_sources *src,
                         const char *cmd) {
  int status = 0;
  if (src->property_file != NULL)
    status = read_file(out, src->property_file, cmd);
  for (size_t i = 0; status == 0 && i < src->n_property_envs; i++)
    status = from_env(out, src->property_envs[i], src->where, cmd);
  for (size_t i = 0; status == 0 && i < src->n_properties; i++)
    status = from_pair(out, src->properties[i], src->where, cmd);
  out->kafka.properties = (const char *const *)out->owned;
  out->kafka.n_properties = out->n_owned / 2;
  return status;
}

void cli_kafka_target_free(cli_kafka_target *t) {
  for (size_t i = 0; i < t->n_owned; i++) {
    /* Values may be secrets: not left in freed memory. */
    memset(t->owned[i], 0, strlen(t->owned[i]));
    free(t->owned[i]);
  }
  free(t->owned);
  memset(t, 0, sizeof *t);
}

/* The first Kafka option given, for messages; NULL when none was. */
static const char *kafka_option_given(const cli_kafka_args *k) {
  return k->bootstrap         ? "--kafka"
         : k->topic           ? "--topic"
         : k->group           ? "--group"
         : k->has_since       ? "--since"
         : k->from_beginning  ? "--from-beginning"
         : k->n_properties    ? "--kafka-property"
         : k->n_property_envs ? "--kafka-property-env"
         : k->property_file   ? "--kafka-property-file"
         : k->timeout_ms      ? "--kafka-timeout"
                              : NULL;
}

int cli_kafka_check(const cli_target_args *a, const char *cmd) {
  const cli_kafka_args *k = &a->kafka;
  const char *given = kafka_option_given(k);
  if (given == NULL) return 1;
  if (a->config != NULL)
    return cli_usage_error(cmd,
                           "%s and --config exclude each other: the config "
                           "file names the targets",
                           given);
  if (k->bootstrap == NULL)
    return cli_usage_error(cmd, "%s needs --kafka BOOTSTRAP", given);
  const char *other =
      a->connection
          ? (a->kind == STORE_SQLITE_TABLE ? "--sqlite" : "--postgres")
      : a->stream               ? "--stream"
      : a->table                ? "--table"
      : a->key                  ? "--key"
      : a->column               ? "--column"
      : a->where                ? "--where"
      : a->queue                ? "--queue"
      : a->column_encoding >= 0 ? "--column-encoding"
                                : NULL;
  if (other != NULL)
    return cli_usage_error(cmd, "%s does not apply to a Kafka topic (--kafka)",
                           other);
  if (k->topic == NULL || a->type == NULL)
    return cli_usage_error(cmd, "%s is needed with --kafka",
                           k->topic == NULL ? "--topic" : "--type");
  if ((k->group != NULL) + k->has_since + k->from_beginning > 1)
    return cli_usage_error(cmd,
                           "give one of --group, --since and "
                           "--from-beginning: where each partition starts");
  return 0;
}

int cli_kafka_resolve(cli_kafka_target *out, const cli_kafka_args *k,
                      const char *cmd) {
  memset(out, 0, sizeof *out);
  out->kafka.topic = k->topic;
  out->kafka.group = k->group;
  out->kafka.start = k->group != NULL ? STORE_KAFKA_FROM_GROUP
                     : k->has_since   ? STORE_KAFKA_FROM_TIME
                                      : STORE_KAFKA_FROM_BEGINNING;
  out->kafka.since_ms = k->since_ms;
  out->kafka.timeout_ms = k->timeout_ms ? k->timeout_ms : CLI_KAFKA_TIMEOUT_MS;
  cli_kafka_sources src = {k->properties,    k->n_properties,
                           k->property_envs, k->n_property_envs,
                           k->property_file, "--kafka-property-env"};
  return cli_kafka_properties(out, &src, cmd);
}

int cli_kafka_resolve_config(cli_kafka_target *out,
                             const struct cli_config_target *ct,
                             const char *where, const char *cmd) {
  memset(out, 0, sizeof *out);
  out->kafka.topic = ct->topic;
  out->kafka.group = ct->group;
  out->kafka.start = ct->group != NULL   ? STORE_KAFKA_FROM_GROUP
                     : ct->since != NULL ? STORE_KAFKA_FROM_TIME
                                         : STORE_KAFKA_FROM_BEGINNING;
  if (ct->since != NULL) {
    int64_t us;
    if (cli_parse_time(ct->since, &us) != 0) {
      cli_error(cmd,
                "%s: since '%s': expected RFC 3339 with a zone "
                "(2026-11-26T09:30:00Z), a date (2026-11-26) or "
                "@UNIX_SECONDS",
                where, ct->since);
      return CLI_EXIT_USAGE;
    }
    out->kafka.since_ms = us / 1000;
  }
  out->kafka.timeout_ms =
      ct->kafka_timeout_ms ? ct->kafka_timeout_ms : CLI_KAFKA_TIMEOUT_MS;
  cli_kafka_sources src = {(const char *const *)ct->kafka_properties,
                           ct->n_kafka_properties,
                           (const char *const *)ct->kafka_property_envs,
                           ct->n_kafka_property_envs,
                           ct->kafka_properties_file,
                           where};
  return cli_kafka_properties(out, &src, cmd);
}
