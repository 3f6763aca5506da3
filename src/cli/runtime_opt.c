/*
 * src/cli/runtime_opt.c: the reader's runtime from the command line and the
 * config file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "runtime_opt.h"

int cli_opt_reader_runtime(const char *cmd, const char *value,
                           cli_runtime_args *a) {
  if (a->runtime >= 0)
    return cli_usage_error(cmd, "--reader-runtime given twice");
  int rt = rs_runtime_from_name(value);
  if (rt < 0)
    return cli_usage_error(cmd,
                           "invalid --reader-runtime '%s': expected "
                           "protobuf-c, cpp, java, go or python",
                           value);
  a->runtime = rt;
  return 0;
}

/* "true"/"false" into *out: 0, or -1. */
static int parse_bool(const char *s, int *out) {
  if (strcmp(s, "true") == 0) {
    *out = 1;
    return 0;
  }
  if (strcmp(s, "false") == 0) {
    *out = 0;
    return 0;
  }
  return -1;
}

int cli_opt_reader_option(const char *cmd, const char *value,
                          cli_runtime_args *a) {
  const char *eq = strchr(value, '=');
  size_t klen = eq != NULL ? (size_t)(eq - value) : 0;
  int on;
  if (eq != NULL && klen == strlen("recursion_limit") &&
      strncmp(value, "recursion_limit", klen) == 0) {
    const char *s = eq + 1;
    unsigned long n = 0;
    int ok = *s != '\0';
    for (; ok && *s != '\0'; s++) {
      ok = *s >= '0' && *s <= '9';
      n = n * 10 + (unsigned long)(*s - '0');
      if (n > 1000000) ok = 0;
    }
    if (!ok || n == 0)
      return cli_usage_error(cmd,
                             "invalid --reader-option '%s': recursion_limit "
                             "takes a positive integer up to 1000000",
                             value);
    a->recursion_limit = (unsigned)n;
  } else if (eq != NULL && ((klen == strlen("allow_partial") &&
                             strncmp(value, "allow_partial", klen) == 0) ||
                            (klen == strlen("discard_unknown") &&
                             strncmp(value, "discard_unknown", klen) == 0))) {
    unsigned bit =
        value[0] == 'a' ? RS_RUNTIME_ALLOW_PARTIAL : RS_RUNTIME_DISCARD_UNKNOWN;
    if (parse_bool(eq + 1, &on) != 0)
      return cli_usage_error(cmd,
                             "invalid --reader-option '%s': expected true "
                             "or false",
                             value);
    a->flags = on ? a->flags | bit : a->flags & ~bit;
  } else if (eq != NULL && klen == strlen("extension_registry") &&
             strncmp(value, "extension_registry", klen) == 0) {
    if (parse_bool(eq + 1, &on) != 0)
      return cli_usage_error(cmd,
                             "invalid --reader-option '%s': expected true "
                             "or false",
                             value);
    /* Either way it is said: false is Java's parseFrom without one. */
    a->flags &= ~(unsigned)(RS_RUNTIME_EXTENSION_REGISTRY |
                            RS_RUNTIME_NO_EXTENSION_REGISTRY);
    a->flags |=
        on ? RS_RUNTIME_EXTENSION_REGISTRY : RS_RUNTIME_NO_EXTENSION_REGISTRY;
  } else {
    return cli_usage_error(cmd,
                           "invalid --reader-option '%s': expected "
                           "allow_partial=BOOL, discard_unknown=BOOL, "
                           "recursion_limit=N or extension_registry=BOOL",
                           value);
  }
  a->has_options = 1;
  return 0;
}

int cli_runtime_resolve(rs_reader *reader, const cli_runtime_args *a,
                        const cli_reader_runtime *target,
                        const cli_reader_runtime *file, const char *config_path,
                        const char *where, const char *cmd) {
  char source[700] = "--reader-runtime";
  char opts_source[700] = "--reader-option";
  int runtime = RS_RUNTIME_PROTOBUF_C;
  if (a->runtime >= 0) {
    runtime = a->runtime;
  } else if (target != NULL && target->has_runtime) {
    runtime = target->runtime;
    snprintf(source, sizeof source, "%s:%u:%u: reader_runtime of target '%s'",
             config_path, target->runtime_line, target->runtime_col,
             where != NULL ? where : "the target");
  } else if (file != NULL && file->has_runtime) {
    runtime = file->runtime;
    snprintf(source, sizeof source, "%s:%u:%u: reader_runtime", config_path,
             file->runtime_line, file->runtime_col);
  } else {
    snprintf(source, sizeof source, "the default runtime");
  }
  unsigned flags = 0, limit = 0;
  if (a->has_options) {
    flags = a->flags;
    limit = a->recursion_limit;
  } else if (target != NULL && target->has_options) {
    flags = target->flags;
    limit = target->recursion_limit;
    snprintf(opts_source, sizeof opts_source,
             "%s:%u:%u: reader_options of target '%s'", config_path,
             target->options_line, target->options_col,
             where != NULL ? where : "the target");
  } else if (file != NULL && file->has_options) {
    flags = file->flags;
    limit = file->recursion_limit;
    snprintf(opts_source, sizeof opts_source, "%s:%u:%u: reader_options",
             config_path, file->options_line, file->options_col);
  }
  reader->runtime = (rs_runtime)runtime;
  reader->runtime_flags = flags;
  reader->recursion_limit = limit;
  rs_error err = RS_ERROR_INIT;
  if (rs_reader_validate(reader, &err) != 0) {
    cli_error(cmd, "%s, for runtime %s (%s): %s", opts_source,
              rs_runtime_name(reader->runtime), source, err.message);
    return CLI_EXIT_USAGE;
  }
  return 0;
}
