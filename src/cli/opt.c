/* src/cli/opt.c: see opt.h. */
#include "opt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"

int cli_quiet;

/* -q/--quiet, which every subcommand takes unless its table has them. */
static const cli_opt_spec quiet_spec = {-1000, "quiet", 'q', 0};

/* ROLLSAFE_LIST_OPTIONS=1: the table, for the completion generator. */
static void list_options(const cli_opt_spec *specs, size_t n_specs) {
  int quiet = 0;
  for (size_t i = 0; i < n_specs; i++) {
    const cli_opt_spec *s = &specs[i];
    if (s->long_name == NULL) continue;
    quiet |= strcmp(s->long_name, quiet_spec.long_name) == 0;
    printf("%s %c %d\n", s->long_name, s->short_name ? s->short_name : '-',
           s->takes_value ? 1 : 0);
  }
  if (!quiet) printf("%s %c 0\n", quiet_spec.long_name, quiet_spec.short_name);
  exit(cli_finish_stdout(NULL, CLI_EXIT_CLEAN));
}

void cli_opt_init(cli_opt_parser *p, const cli_opt_spec *specs, size_t n_specs,
                  int argc, char **argv, const char *cmd) {
  const char *list = getenv("ROLLSAFE_LIST_OPTIONS");
  if (list != NULL && strcmp(list, "1") == 0) list_options(specs, n_specs);
  p->specs = specs;
  p->n_specs = n_specs;
  p->argc = argc;
  p->argv = argv;
  p->next = 1;
  p->only_args = 0;
  p->cmd = cmd;
  p->bundle = NULL;
  p->bundle_arg = NULL;
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

/* The next short option of the bundle being read. */
static int next_short(cli_opt_parser *p, const char **value) {
  const char *arg = p->bundle_arg;
  char c = *p->bundle++;
  const cli_opt_spec *spec = find_short(p, c);
  if (spec == NULL && c == quiet_spec.short_name) spec = &quiet_spec;
  if (spec == NULL) {
    p->bundle = NULL;
    if (arg[2] == '\0')
      cli_usage_error(p->cmd, "unknown option '%s'", arg);
    else
      cli_usage_error(p->cmd, "unknown option '-%c' in '%s'", c, arg);
    return CLI_OPT_ERROR;
  }
  if (spec->takes_value) {
    /* The rest of the bundle is the value ("-oFILE"), else the next
     * argument ("-o FILE"). */
    const char *rest = p->bundle;
    p->bundle = NULL;
    if (*rest == '\0') {
      if (p->next >= p->argc) {
        cli_usage_error(p->cmd, "option '-%c' needs a value", c);
        return CLI_OPT_ERROR;
      }
      rest = p->argv[p->next++];
    }
    *value = rest;
    return spec->id;
  }
  if (*p->bundle == '\0') p->bundle = NULL;
  if (spec == &quiet_spec) {
    cli_quiet = 1;
    return cli_opt_next(p, value);
  }
  return spec->id;
}

int cli_opt_next(cli_opt_parser *p, const char **value) {
  *value = NULL;
  if (p->bundle != NULL) return next_short(p, value);
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
  if (arg[1] != '-') {
    p->bundle = arg + 1;
    p->bundle_arg = arg;
    return next_short(p, value);
  }

  const char *body = arg + 2;
  const char *eq = strchr(body, '=');
  size_t len = eq ? (size_t)(eq - body) : strlen(body);
  const cli_opt_spec *spec = find_long(p, body, len);
  if (spec == NULL && len == strlen(quiet_spec.long_name) &&
      memcmp(body, quiet_spec.long_name, len) == 0)
    spec = &quiet_spec;
  if (spec == NULL) {
    cli_usage_error(p->cmd, "unknown option '%.*s'", (int)(len + 2), arg);
    return CLI_OPT_ERROR;
  }
  const char *inline_value = eq != NULL ? eq + 1 : NULL;
  if (!spec->takes_value) {
    if (inline_value != NULL) {
      cli_usage_error(p->cmd, "option '--%s' takes no value", spec->long_name);
      return CLI_OPT_ERROR;
    }
    if (spec == &quiet_spec) {
      cli_quiet = 1;
      return cli_opt_next(p, value);
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

int cli_opt_shard(const char *text, unsigned max, unsigned *k, unsigned *n) {
  unsigned long vk = 0, vn = 0;
  const char *p = text;
  int digits_k = 0, digits_n = 0;
  for (; *p >= '0' && *p <= '9' && digits_k < 6; p++, digits_k++)
    vk = vk * 10 + (unsigned long)(*p - '0');
  if (digits_k == 0 || *p++ != '/') return -1;
  for (; *p >= '0' && *p <= '9' && digits_n < 6; p++, digits_n++)
    vn = vn * 10 + (unsigned long)(*p - '0');
  if (digits_n == 0 || *p != '\0' || vn < 1 || vn > max || vk >= vn) return -1;
  *k = (unsigned)vk;
  *n = (unsigned)vn;
  return 0;
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
