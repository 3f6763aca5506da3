/*
 * src/cli/opt.h: a small command-line option parser.
 *
 * It accepts what getopt_long accepts: "--name VALUE" and "--name=VALUE",
 * "-n VALUE" and "-nVALUE", short flags bundled ("-qf"; a short option that
 * takes a value ends a bundle: "-qoFILE", "-qo FILE"), "--" ending the
 * options, and options after arguments. Long names are never abbreviated.
 * getopt_long prints its own messages and permutes argv; this one reports
 * each problem as one line naming the offending argument, which is what the
 * CLI contract asks of every subcommand.
 *
 * Every subcommand also takes -q/--quiet (unless its own table defines
 * them): the parser sets cli_quiet and goes on, so option tables need no
 * entry for it.
 *
 * With ROLLSAFE_LIST_OPTIONS=1 in the environment, cli_opt_init() prints
 * the subcommand's option table ("LONG SHORT TAKES_VALUE" per line, "-"
 * for no short name) on stdout and exits 0 before the subcommand does
 * anything: the build generates the bash completion from it (and from the
 * help text, which says which options apply). Not for users.
 */
#ifndef RS_CLI_OPT_H
#define RS_CLI_OPT_H

#include <stddef.h>

/** One option a subcommand accepts. */
typedef struct cli_opt_spec {
  int id;                /**< returned by cli_opt_next(); must be > 0 */
  const char *long_name; /**< without the leading "--" */
  char short_name;       /**< 0 for none */
  int takes_value;       /**< 1: "--name VALUE" or "--name=VALUE" */
} cli_opt_spec;

/** Parser state; initialise with cli_opt_init(). */
typedef struct cli_opt_parser {
  const cli_opt_spec *specs;
  size_t n_specs;
  int argc;
  char **argv;
  int next;        /**< index of the next argument to look at */
  int only_args;   /**< set after "--": the rest are positional */
  const char *cmd; /**< subcommand name for messages */
  /** The rest of a bundle of short options ("-qf": "f"), or NULL. */
  const char *bundle;
  const char *bundle_arg; /**< the whole bundle, for messages */
} cli_opt_parser;

/**
 * Set by -q/--quiet: no progress and no notes on stderr; errors are still
 * printed (cli_note() prints only when this is 0).
 */
extern int cli_quiet;

/** Help line of -q, for every subcommand's help. */
#define CLI_QUIET_HELP                                                     \
  "  -q, --quiet              no progress and no notes on stderr (errors", \
      "                           are still printed)"

/** cli_opt_next() results besides a spec id. */
enum {
  CLI_OPT_END = 0,   /**< no more arguments */
  CLI_OPT_ARG = -1,  /**< a positional argument, in *value */
  CLI_OPT_ERROR = -2 /**< a usage error, already printed */
};

/**
 * Starts parsing @p argv from index 1 (argv[0] is the subcommand name).
 * Under ROLLSAFE_LIST_OPTIONS=1, prints the table and exits instead.
 */
void cli_opt_init(cli_opt_parser *p, const cli_opt_spec *specs, size_t n_specs,
                  int argc, char **argv, const char *cmd);

/**
 * The next option or argument.
 *
 * @param[out] value the option's value or the positional argument; NULL
 *        for a flag. Borrowed from argv.
 * @return a spec id, CLI_OPT_ARG, CLI_OPT_END or CLI_OPT_ERROR
 */
int cli_opt_next(cli_opt_parser *p, const char **value);

/*
 * Option values the subcommands share. Each returns 0, or prints a usage
 * error naming the option and its value and returns CLI_EXIT_USAGE.
 */

/** A decimal number from @p lo to @p hi. */
int cli_opt_number(const char *cmd, const char *name, const char *value,
                   unsigned long lo, unsigned long hi, unsigned long *out);

/** "K/N" (--shard): shard K (0 .. N-1) of N (1 .. @p max). 0, or -1
 * (nothing printed). */
int cli_opt_shard(const char *text, unsigned max, unsigned *k, unsigned *n);

/** The range --max-alloc takes: 1 MiB up to 1 TiB. */
#define CLI_MIN_MAX_ALLOC ((size_t)1 << 20)
#define CLI_MAX_MAX_ALLOC ((size_t)1 << 40)

/** Help lines of --max-alloc, for the commands that judge records. */
#define CLI_MAX_ALLOC_HELP                                                 \
  "      --max-alloc BYTES    memory that judging one record may take",    \
      "                           (default 256M; K, M and G suffixes). A", \
      "                           record that needs more is unreadable,",  \
      "                           over the limits"

/**
 * A size in bytes for --max-alloc: digits with an optional K, M or G
 * suffix (KiB, MiB, GiB), from @p lo to @p hi bytes.
 */
int cli_opt_bytes(const char *cmd, const char *name, const char *value,
                  size_t lo, size_t hi, size_t *out);

/** A duration in milliseconds (cli_parse_millis: "500ms", "90s", "5m", or
 * a bare number of milliseconds), from @p lo to @p hi. */
int cli_opt_millis(const char *cmd, const char *name, const char *value,
                   unsigned long lo, unsigned long hi, unsigned long *out);

/** A format version as the registry accepts them: 1..1000. */
int cli_opt_version(const char *cmd, const char *name, const char *value,
                    unsigned *out);

/** --format: "text" (0) or "json" (1). */
int cli_opt_format(const char *cmd, const char *value, int *json);

/** A string option given at most once, not empty; *slot borrows @p value. */
int cli_opt_once(const char *cmd, const char *name, const char *value,
                 const char **slot);

#endif
