/* src/cli/opt.c: see opt.h. */
#include "opt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"

void cli_opt_init(cli_opt_parser *p, const cli_opt_spec *specs, size_t n_specs,
                  int argc, char **argv, const char *cmd) {
  p->specs = specs;
  p->n_specs = n_specs;
  p->argc = argc;
  p->argv = argv;
  p->next = 1;
  p->only_args = 0;
  p->cmd = cmd;
}

static const cli_opt_spec *find_long(const cli_opt_parser *p, const char *name,
                                     size_t len) {
  for (size_t i = 0; i < p->n_specs; i++) {
    const char *l = p->specs[i].long_name;
    if (l != NULL && strlen(l) == len && memcmp(l, name, len) == 0)
      return &p->specs[i];
  }
  return NULL;
}

static const cli_opt_spec *find_short(const cli_opt_parser *p, char c) {
  for (size_t i = 0; i < p->n_specs; i++)
    if (p->specs[i].short_name != 0 && p->specs[i].short_name == c)
      return &p->specs[i];
  return NULL;
}

int cli_opt_next(cli_opt_parser *p, const char **value) {
  *value = NULL;
  if (p->next >= p->argc) return CLI_OPT_END;

  const char *arg = p->argv[p->next++];
  /* "-" alone names standard input, so it is an argument, not an option. */
  if (p->only_args || arg[0] != '-' || arg[1] == '\0') {
    *value = arg;
    return CLI_OPT_ARG;
  }
  if (strcmp(arg, "--") == 0) {
    p->only_args = 1;
    return cli_opt_next(p, value);
  }

  const cli_opt_spec *spec;
  const char *inline_value = NULL;
  if (arg[1] == '-') {
    const char *body = arg + 2;
    const char *eq = strchr(body, '=');
    size_t len = eq ? (size_t)(eq - body) : strlen(body);
    spec = find_long(p, body, len);
    if (spec == NULL) {
      cli_usage_error(p->cmd, "unknown option '%.*s'", (int)(len + 2), arg);
      return CLI_OPT_ERROR;
    }
    if (eq != NULL) inline_value = eq + 1;
  } else {
    spec = arg[2] == '\0' ? find_short(p, arg[1]) : NULL;
    if (spec == NULL) {
      cli_usage_error(p->cmd, "unknown option '%s'", arg);
      return CLI_OPT_ERROR;
    }
  }

  if (!spec->takes_value) {
    if (inline_value != NULL) {
      cli_usage_error(p->cmd, "option '--%s' takes no value", spec->long_name);
      return CLI_OPT_ERROR;
    }
    return spec->id;
  }
  if (inline_value == NULL) {
    if (p->next >= p->argc) {
      cli_usage_error(p->cmd, "option '%s' needs a value", arg);
      return CLI_OPT_ERROR;
    }
    inline_value = p->argv[p->next++];
  }
  *value = inline_value;
  return spec->id;
}

int cli_opt_number(const char *cmd, const char *name, const char *value,
                   unsigned long lo, unsigned long hi, unsigned long *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(value, &end, 10);
  if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0 ||
      v < lo || v > hi)
    return cli_usage_error(cmd, "invalid %s '%s': expected %lu to %lu", name,
                           value, lo, hi);
  *out = v;
  return 0;
}

int cli_opt_millis(const char *cmd, const char *name, const char *value,
                   unsigned long lo, unsigned long hi, unsigned long *out) {
  if (cli_parse_millis(value, lo, hi, out) == 0) return 0;
  return cli_usage_error(cmd,
                         "invalid %s '%s': expected a duration such as 500ms, "
                         "90s or 5m (a bare number is milliseconds), from "
                         "%lu ms to %lu ms",
                         name, value, lo, hi);
}

int cli_opt_bytes(const char *cmd, const char *name, const char *value,
                  size_t lo, size_t hi, size_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(value, &end, 10);
  unsigned shift = 0;
  if (*end == 'K' || *end == 'k') shift = 10;
  if (*end == 'M' || *end == 'm') shift = 20;
  if (*end == 'G' || *end == 'g') shift = 30;
  if (shift != 0) end++;
  bool ok = value[0] >= '0' && value[0] <= '9' && *end == '\0' && errno == 0 &&
            v <= (hi >> shift);
  if (ok) v <<= shift;
  if (!ok || v < lo)
    return cli_usage_error(cmd,
                           "invalid %s '%s': expected a size in bytes from "
                           "%zu to %zu, optionally with K, M or G (KiB, MiB, "
                           "GiB), e.g. 64M",
                           name, value, lo, hi);
  *out = (size_t)v;
  return 0;
}

int cli_opt_version(const char *cmd, const char *name, const char *value,
                    unsigned *out) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(value, &end, 10);
  if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0 || v < 1 ||
      v > 1000)
    return cli_usage_error(cmd,
                           "invalid %s '%s': expected a format version, 1 or "
                           "more",
                           name, value);
  *out = (unsigned)v;
  return 0;
}

int cli_opt_format(const char *cmd, const char *value, int *json) {
  if (strcmp(value, "json") == 0)
    *json = 1;
  else if (strcmp(value, "text") == 0)
    *json = 0;
  else
    return cli_usage_error(cmd, "invalid --format '%s': expected text or json",
                           value);
  return 0;
}

int cli_opt_once(const char *cmd, const char *name, const char *value,
                 const char **slot) {
  if (*slot != NULL) return cli_usage_error(cmd, "%s given twice", name);
  if (value[0] == '\0') return cli_usage_error(cmd, "%s: empty value", name);
  *slot = value;
  return 0;
}
