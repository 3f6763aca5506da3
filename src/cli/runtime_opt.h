/*
 * src/cli/runtime_opt.h: the reader's runtime on the command line
 * (--reader-runtime, --reader-option) and in the config file
 * (reader_runtime, reader_options), for every command that judges records.
 */
#ifndef RS_CLI_RUNTIME_OPT_H
#define RS_CLI_RUNTIME_OPT_H

#include <stddef.h>

#include <rollsafe/rollsafe.h>

#include "config.h"

/** --reader-runtime and --reader-option as given. */
typedef struct cli_runtime_args {
  int runtime;     /**< an rs_runtime; -1: not given */
  int has_options; /**< a --reader-option was given */
  unsigned flags;  /**< rs_runtime_flag bits */
  unsigned recursion_limit;
} cli_runtime_args;

#define CLI_RUNTIME_ARGS_INIT \
  { -1, 0, 0u, 0u }

/** Help lines of --reader-runtime and --reader-option. */
#define CLI_READER_RUNTIME_HELP                                               \
  "      --reader-runtime R   the protobuf runtime whose generated code the " \
  "reader",                                                                   \
      "                           runs: protobuf-c (default), cpp, java, go " \
      "or",                                                                   \
      "                           python (docs/runtimes.md); config "         \
      "reader_runtime",                                                       \
      "      --reader-option K=V  an option the reader gives its runtime "    \
      "(repeatable):",                                                        \
      "                           allow_partial=true (go, cpp, java),"        \
      " discard_unknown=true",                                                \
      "                           (go), recursion_limit=N (go, cpp, java),",  \
      "                           extension_registry=true|false (java);",     \
      "                           config reader_options"

/** Takes a --reader-runtime value: 0, or CLI_EXIT_USAGE (printed). */
int cli_opt_reader_runtime(const char *cmd, const char *value,
                           cli_runtime_args *a);

/** Takes a --reader-option KEY=VALUE: 0, or CLI_EXIT_USAGE (printed). */
int cli_opt_reader_option(const char *cmd, const char *value,
                          cli_runtime_args *a);

/**
 * Fills @p reader's runtime fields: the command line's runtime, else the
 * target's in the config (@p target, may be NULL), else the file's
 * (@p file, may be NULL), else protobuf-c; the options likewise. Checks
 * that the runtime has the options (rs_reader_validate). @p config_path
 * and @p where (a target, or NULL) name the setting in messages.
 *
 * @return 0, or CLI_EXIT_USAGE (printed)
 */
int cli_runtime_resolve(rs_reader *reader, const cli_runtime_args *a,
                        const cli_reader_runtime *target,
                        const cli_reader_runtime *file, const char *config_path,
                        const char *where, const char *cmd);

#endif
