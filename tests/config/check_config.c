/*
 * tests/config/check_config.c: the YAML configuration file (src/cli/config.c).
 *
 * Two test cases:
 *   - "cases": data-driven, one loop iteration per folder of
 *     $RS_CONFIG_CASES (tests/config/cases/<case>/), or only the folder
 *     $RS_CONFIG_CASE names. Each holds rollsafe.yaml and either
 *     expected.txt (valid: the dump below, compared exactly, the case's
 *     folder written CASEDIR) or error.txt (the one error line, the file's
 *     path written FILE). An optional env.txt sets NAME=VALUE, or unsets
 *     NAME, for the time of the case.
 *   - "unit": what a folder of data cannot say: unreadable files, the size
 *     limit, paths relative to the working directory, a short error buffer,
 *     and the chaos test (every allocation failing in turn).
 *
 * Run with CK_FORK=no (tests/config.cmake does) so that LeakSanitizer sees
 * every case in one process.
 */
#define _POSIX_C_SOURCE 200809L /* open_memstream, mkdtemp, setenv */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rollsafe/classify.h>

#include "config.h"
#include "exit_codes.h"

/* src/cli/config.c's test hook; see there. */
int rs__config_load(cli_config **out, const char *path, char *errbuf,
                    size_t errlen, size_t fail_at, size_t *n_allocs);

#define MAX_CASES 256

static char cases_dir[4096];
static char *case_names[MAX_CASES];
static size_t n_case_names;

/* ---- helpers --------------------------------------------------------------
 */

/* The whole file, NUL-terminated, or NULL when it does not exist. */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  char *buf;
  long size;
  if (f == NULL) {
    ck_assert_msg(errno == ENOENT, "%s: %s", path, strerror(errno));
    return NULL;
  }
  ck_assert(fseek(f, 0, SEEK_END) == 0);
  size = ftell(f);
  ck_assert(size >= 0);
  rewind(f);
  buf = malloc((size_t)size + 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
  buf[size] = '\0';
  fclose(f);
  return buf;
}

static void write_file(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
  ck_assert_uint_eq(fwrite(data, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

static const char *framing_name(int framing) {
  switch (framing) {
    case RS_READER_FRAMING_DEFAULT:
      return "default";
    case RS_READER_FRAMING_RAW:
      return "raw";
    case RS_READER_FRAMING_ENVELOPE:
      return "envelope";
  }
  return "?";
}

static void dump_string(FILE *f, const char *label, const char *value) {
  fprintf(f, "%s: %s\n", label, value != NULL ? value : "(absent)");
}

/* Runtime schema keys, dumped only when given (CASEDIR as for connections). */
static void dump_paths(FILE *f, const char *label, const cli_config_paths *p,
                       const char *casedir, size_t dir_len) {
  for (size_t i = 0; i < p->n; i++) {
    const char *s = p->items[i];
    if (strncmp(s, casedir, dir_len) == 0 && s[dir_len] == '/')
      fprintf(f, "%s: CASEDIR%s\n", label, s + dir_len);
    else
      fprintf(f, "%s: %s\n", label, s);
  }
}

static void dump_runtime(FILE *f, const cli_config *c, const char *casedir,
                         size_t dir_len) {
  dump_paths(f, "schema", &c->schemas, casedir, dir_len);
  dump_paths(f, "plugin", &c->plugins, casedir, dir_len);
  dump_paths(f, "proto_path", &c->proto_paths, casedir, dir_len);
  for (size_t i = 0; i < c->n_enum_maps; i++)
    fprintf(f, "enum_map %s: %s -> %s at %u:%u\n", c->enum_maps[i].enum_name,
            c->enum_maps[i].from, c->enum_maps[i].to, c->enum_maps[i].line,
            c->enum_maps[i].col);
}

/*
 * The canonical dump of expected.txt. @p casedir, when it starts a
 * connection, is written CASEDIR so that the files do not depend on where
 * the tree is checked out.
 */
static char *dump(const cli_config *c, const char *casedir) {
  char *text = NULL;
  size_t len = 0, dir_len = strlen(casedir);
  FILE *f = open_memstream(&text, &len);
  ck_assert_ptr_nonnull(f);
  dump_string(f, "feature", c->feature);
  if (c->has_reader_version)
    fprintf(f, "reader_version: %u\n", c->reader_version);
  else
    dump_string(f, "reader_version", NULL);
  dump_string(f, "reader_framing",
              c->has_reader_framing ? framing_name(c->reader_framing) : NULL);
  /* raw_writer only when given, so that the other cases stay as they are. */
  if (c->has_raw_writer && c->raw_writer == 0)
    fprintf(f, "raw_writer: auto\n");
  else if (c->has_raw_writer)
    fprintf(f, "raw_writer: %u\n", c->raw_writer);
  /* The timeouts only when given, so that the other cases stay as they
   * are. */
  if (c->lock_timeout_ms)
    fprintf(f, "lock_timeout_ms: %lu\n", c->lock_timeout_ms);
  if (c->statement_timeout_ms)
    fprintf(f, "statement_timeout_ms: %lu\n", c->statement_timeout_ms);
  dump_runtime(f, c, casedir, dir_len);
  for (size_t i = 0; i < c->n_targets; i++) {
    const cli_config_target *t = &c->targets[i];
    fprintf(f, "target %s at %u:%u\n", t->name, t->line, t->col);
    dump_string(f, "  kind", store_kind_name(t->kind));
    if (strncmp(t->connection, casedir, dir_len) == 0 &&
        t->connection[dir_len] == '/')
      fprintf(f, "  connection: CASEDIR%s\n", t->connection + dir_len);
    else
      dump_string(f, "  connection", t->connection);
    dump_string(f, "  table", t->table);
    dump_string(f, "  key", t->key);
    dump_string(f, "  column", t->column);
    dump_string(f, "  type", t->type);
    dump_string(f, "  where", t->where);
    /* Queue and stream keys only when given, so that table cases stay as
     * they are. */
    if (t->state_column) dump_string(f, "  state_column", t->state_column);
    if (t->pending_states)
      dump_string(f, "  pending_states", t->pending_states);
    if (t->in_flight_states)
      dump_string(f, "  in_flight_states", t->in_flight_states);
    if (t->fixed_output && strncmp(t->fixed_output, casedir, dir_len) == 0 &&
        t->fixed_output[dir_len] == '/')
      fprintf(f, "  fixed_output: CASEDIR%s\n", t->fixed_output + dir_len);
    else if (t->fixed_output)
      dump_string(f, "  fixed_output", t->fixed_output);
    dump_paths(f, "  schema", &t->schemas, casedir, dir_len);
    if (t->message != NULL) dump_string(f, "  message", t->message);
    if (t->has_raw_writer && t->raw_writer == 0)
      fprintf(f, "  raw_writer: auto\n");
    else if (t->has_raw_writer)
      fprintf(f, "  raw_writer: %u\n", t->raw_writer);
    /* A Kafka topic's fix keys only when given, so that the other cases
     * stay as they are. */
    if (t->kind == STORE_KAFKA_TOPIC) {
      dump_string(f, "  topic", t->topic);
      if (t->output_topic) dump_string(f, "  output_topic", t->output_topic);
      if (t->journal_topic) dump_string(f, "  journal_topic", t->journal_topic);
      fprintf(f, "  in_place_compacted: %s\n",
              t->in_place_compacted ? "true" : "false");
    }
  }
  if (c->diff.present) {
    fprintf(f, "diff fail_on: %d\n", c->diff.fail_on);
    for (size_t i = 0; i < c->diff.n_suppressions; i++) {
      const cli_config_suppression *s = &c->diff.suppressions[i];
      fprintf(f, "suppression at %u:%u\n", s->line, s->col);
      dump_string(f, "  rule", s->rule);
      dump_string(f, "  path", s->path);
      dump_string(f, "  reason", s->reason);
      dump_string(f, "  expires", s->expires);
    }
  }
  ck_assert_int_eq(fclose(f), 0);
  return text;
}

/* Applies env.txt; returns the names to unset afterwards (NULL-ended). */
static char **apply_env(const char *casedir) {
  char path[4200], *text, *line, *save = NULL;
  char **names = calloc(32, sizeof *names);
  size_t n = 0;
  ck_assert_ptr_nonnull(names);
  snprintf(path, sizeof path, "%s/env.txt", casedir);
  text = slurp(path);
  if (text == NULL) return names;
  for (line = strtok_r(text, "\n", &save); line != NULL;
       line = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(line, '=');
    ck_assert_uint_lt(n, 31);
    if (eq != NULL) {
      *eq = '\0';
      ck_assert_int_eq(setenv(line, eq + 1, 1), 0);
    } else {
      ck_assert_int_eq(unsetenv(line), 0);
    }
    names[n] = strdup(line);
    ck_assert_ptr_nonnull(names[n]);
    n++;
  }
  free(text);
  return names;
}

static void restore_env(char **names) {
  for (size_t i = 0; names[i] != NULL; i++) {
    unsetenv(names[i]);
    free(names[i]);
  }
  free(names);
}

/* Drops one trailing newline (the files end with one). */
static void chomp(char *s) {
  size_t len = strlen(s);
  if (len > 0 && s[len - 1] == '\n') s[len - 1] = '\0';
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fills case_names from $RS_CONFIG_CASES, or the one $RS_CONFIG_CASE. */
static void list_cases(void) {
  const char *dir = getenv("RS_CONFIG_CASES"), *only = getenv("RS_CONFIG_CASE");
  DIR *d;
  struct dirent *e;
  if (dir == NULL) {
    fprintf(stderr, "check_config: RS_CONFIG_CASES is not set\n");
    exit(EXIT_FAILURE);
  }
  snprintf(cases_dir, sizeof cases_dir, "%s", dir);
  if (only != NULL && only[0] != '\0') {
    case_names[n_case_names++] = strdup(only);
    return;
  }
  d = opendir(dir);
  if (d == NULL) {
    fprintf(stderr, "check_config: %s: %s\n", dir, strerror(errno));
    exit(EXIT_FAILURE);
  }
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (n_case_names == MAX_CASES) break;
    case_names[n_case_names++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(case_names, n_case_names, sizeof case_names[0], cmp_names);
}

/* ---- the data-driven cases ------------------------------------------------
 */

/* Reads a case file into @p buf; 0 when it does not exist. */
static int read_case_file(const char *casedir, const char *name, char *buf,
                          size_t size) {
  char path[4300], *text;
  snprintf(path, sizeof path, "%s/%s", casedir, name);
  text = slurp(path);
  if (text == NULL) return 0;
  snprintf(buf, size, "%s", text);
  free(text);
  chomp(buf);
  return 1;
}

/* Expected and actual text live in static buffers, so that a failing check
 * (which leaves the test at once, CK_FORK=no) leaks nothing and the report
 * shows only the failure. */
static char want_text[16384], got_text[16384];

START_TEST(test_case) {
  const char *name = case_names[_i];
  char casedir[4200], path[4300], err[1024], **env;
  cli_config *config = (cli_config *)1;
  int rc, is_valid, is_error;

  snprintf(casedir, sizeof casedir, "%s/%s", cases_dir, name);
  snprintf(path, sizeof path, "%s/rollsafe.yaml", casedir);
  is_valid =
      read_case_file(casedir, "expected.txt", want_text, sizeof want_text);
  is_error = is_valid ? 0
                      : read_case_file(casedir, "error.txt", want_text,
                                       sizeof want_text);
  ck_assert_msg(is_valid != is_error,
                "case %s: needs one of expected.txt and error.txt", name);

  env = apply_env(casedir);
  memset(err, 'x', sizeof err);
  rc = cli_config_load(&config, path, err, sizeof err);
  restore_env(env);

  if (is_error) {
    size_t path_len = strlen(path);
    if (rc == 0) cli_config_free(config);
    ck_assert_msg(rc == CLI_EXIT_USAGE, "case %s: returned %d (%s)", name, rc,
                  rc == 0 ? "loaded" : err);
    ck_assert_msg(config == NULL, "case %s: *out is not NULL on error", name);
    ck_assert_msg(strchr(err, '\n') == NULL, "case %s: message of two lines",
                  name);
    ck_assert_msg(strncmp(err, path, path_len) == 0 && err[path_len] == ':',
                  "case %s: message does not start with the path: %s", name,
                  err);
    snprintf(got_text, sizeof got_text, "FILE%s", err + path_len);
  } else {
    char *text;
    int path_kept;
    ck_assert_msg(rc == 0, "case %s: returned %d: %s", name, rc, err);
    ck_assert_ptr_nonnull(config);
    path_kept = strcmp(config->path, path) == 0;
    text = dump(config, casedir);
    cli_config_free(config);
    ck_assert_msg(path_kept, "case %s: config->path is not the path given",
                  name);
    snprintf(got_text, sizeof got_text, "%s", text);
    free(text);
    chomp(got_text);
  }
  ck_assert_msg(strcmp(got_text, want_text) == 0,
                "case %s:\n--- expected\n%s\n--- got\n%s", name, want_text,
                got_text);
}
END_TEST

/* ---- unit tests ----------------------------------------------------------
 */

static char tmp_dir[4096];

static void make_tmp_dir(void) {
  const char *base = getenv("TMPDIR");
  snprintf(tmp_dir, sizeof tmp_dir, "%s/rs-config-XXXXXX",
           base != NULL && base[0] != '\0' ? base : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void remove_tmp(const char *name) {
  char path[4300];
  snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
  unlink(path);
}

/* Loads a file that must fail with @p status and the message @p expected
 * (the path written FILE). */
static void expect_error(const char *path, int status, const char *expected) {
  cli_config *config = (cli_config *)1;
  char err[1024], want[4400];
  int rc = cli_config_load(&config, path, err, sizeof err);
  ck_assert_int_eq(rc, status);
  ck_assert_ptr_null(config);
  snprintf(want, sizeof want, "%s%s", path, expected);
  ck_assert_str_eq(err, want);
}

START_TEST(test_missing_file) {
  char path[4300];
  snprintf(path, sizeof path, "%s/no-such-dir/rollsafe.yaml", cases_dir);
  expect_error(path, CLI_EXIT_IO, ": cannot read: No such file or directory");
}
END_TEST

START_TEST(test_directory) {
  expect_error(cases_dir, CLI_EXIT_IO, ": cannot read: Is a directory");
}
END_TEST

static const char minimal[] =
    "targets:\n"
    "  - name: orders\n"
    "    kind: sqlite-table\n"
    "    connection: demo.db\n"
    "    table: orders\n"
    "    key: id\n"
    "    column: payload\n"
    "    type: shop.Order\n";

/* A valid config padded with a comment to exactly @p size bytes. */
static void write_padded(const char *path, size_t size) {
  char *buf = malloc(size);
  ck_assert_ptr_nonnull(buf);
  memcpy(buf, minimal, sizeof minimal - 1);
  buf[sizeof minimal - 1] = '#';
  memset(buf + sizeof minimal, 'x', size - sizeof minimal - 1);
  buf[size - 1] = '\n';
  write_file(path, buf, size);
  free(buf);
}

START_TEST(test_size_limit) {
  char path[4300];
  cli_config *config = NULL;
  char err[1024];
  make_tmp_dir();
  snprintf(path, sizeof path, "%s/big.yaml", tmp_dir);

  write_padded(path, (size_t)1 << 20);
  ck_assert_int_eq(cli_config_load(&config, path, err, sizeof err), 0);
  ck_assert_uint_eq(config->n_targets, 1);
  cli_config_free(config);

  write_padded(path, ((size_t)1 << 20) + 1);
  expect_error(path, CLI_EXIT_USAGE,
               ": larger than 1 MiB, too large for a configuration file");
  remove_tmp("big.yaml");
  rmdir(tmp_dir);
}
END_TEST

/* -c pointed at a SQLite database by mistake. */
START_TEST(test_binary_file) {
  static const char db[] = "SQLite format 3\0\x10\0\x01\x01";
  char path[4300];
  make_tmp_dir();
  snprintf(path, sizeof path, "%s/demo.db", tmp_dir);
  write_file(path, db, sizeof db - 1);
  expect_error(path, CLI_EXIT_USAGE,
               ":1:16: control characters are not allowed (0x00)");
  remove_tmp("demo.db");
  rmdir(tmp_dir);
}
END_TEST

/* A relative SQLite path follows the config file's own path, whatever the
 * working directory: no directory part, a relative one, an absolute one. */
START_TEST(test_relative_to_working_directory) {
  char cwd[4096], dir[4200], abs[4300];
  cli_config *config = NULL;
  char err[1024];
  ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
  snprintf(dir, sizeof dir, "%s/sqlite_relative_path", cases_dir);

  ck_assert_int_eq(chdir(dir), 0);
  ck_assert_int_eq(cli_config_load(&config, "rollsafe.yaml", err, sizeof err),
                   0);
  ck_assert_str_eq(config->targets[0].connection, "data/demo.db");
  cli_config_free(config);

  ck_assert_int_eq(chdir(cases_dir), 0);
  ck_assert_int_eq(
      cli_config_load(&config, "sqlite_relative_path/rollsafe.yaml", err,
                      sizeof err),
      0);
  ck_assert_str_eq(config->targets[0].connection,
                   "sqlite_relative_path/data/demo.db");
  cli_config_free(config);

  ck_assert_int_eq(chdir("/"), 0);
  snprintf(abs, sizeof abs, "%s/rollsafe.yaml", dir);
  ck_assert_int_eq(cli_config_load(&config, abs, err, sizeof err), 0);
  snprintf(abs, sizeof abs, "%s/data/demo.db", dir);
  ck_assert_str_eq(config->targets[0].connection, abs);
  cli_config_free(config);

  ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

START_TEST(test_short_error_buffer) {
  char path[4300], err[12];
  cli_config *config = (cli_config *)1;
  snprintf(path, sizeof path, "%s/unknown_key_target/rollsafe.yaml", cases_dir);
  ck_assert_int_eq(cli_config_load(&config, path, err, sizeof err),
                   CLI_EXIT_USAGE);
  ck_assert_ptr_null(config);
  ck_assert_uint_eq(strlen(err), sizeof err - 1);
  ck_assert_int_eq(cli_config_load(&config, path, NULL, 0), CLI_EXIT_USAGE);
  ck_assert_ptr_null(config);
  cli_config_free(NULL);
}
END_TEST

/* Every case folder holds a config and exactly one expectation, and there
 * are enough of them to cover what the loader refuses. */
START_TEST(test_case_folders) {
  ck_assert_uint_ge(n_case_names, 25);
  for (size_t i = 0; i < n_case_names; i++) {
    char path[4400];
    struct stat st;
    int n = 0;
    snprintf(path, sizeof path, "%s/%s/rollsafe.yaml", cases_dir,
             case_names[i]);
    ck_assert_msg(stat(path, &st) == 0, "%s: %s", path, strerror(errno));
    snprintf(path, sizeof path, "%s/%s/expected.txt", cases_dir, case_names[i]);
    n += stat(path, &st) == 0;
    snprintf(path, sizeof path, "%s/%s/error.txt", cases_dir, case_names[i]);
    n += stat(path, &st) == 0;
    ck_assert_msg(n == 1, "case %s: needs one of expected.txt and error.txt",
                  case_names[i]);
  }
}
END_TEST

/*
 * The chaos test: the loader's n-th allocation fails, for every n it makes
 * on each valid case (together they take every kind of value and both ways
 * to give a connection). Each run must report out of memory (never a config
 * made of partial data), leave *out NULL, and free what it took
 * (LeakSanitizer checks at exit, CK_FORK=no).
 */
static const char *const chaos_cases[] = {
    "valid_full_two_targets", "connection_env_set",   "sqlite_relative_path",
    "valid_where_null",       "valid_quoted_strings", "valid_queue_and_stream",
    "valid_diff_section",     "valid_schemas"};

START_TEST(test_chaos) {
  char casedir[4200], path[4300], err[1024], want[4400], **env;
  cli_config *config = NULL;
  size_t n_allocs = 0, again = 0;
  snprintf(casedir, sizeof casedir, "%s/%s", cases_dir, chaos_cases[_i]);
  snprintf(path, sizeof path, "%s/rollsafe.yaml", casedir);
  snprintf(want, sizeof want, "%s: out of memory", path);
  env = apply_env(casedir);
  ck_assert_int_eq(
      rs__config_load(&config, path, err, sizeof err, 0, &n_allocs), 0);
  cli_config_free(config);
  ck_assert_uint_gt(n_allocs, 10);
  for (size_t n = 1; n <= n_allocs; n++) {
    size_t made = 0;
    int rc;
    config = (cli_config *)1;
    rc = rs__config_load(&config, path, err, sizeof err, n, &made);
    if (rc == 0) cli_config_free(config);
    ck_assert_msg(rc == CLI_EXIT_IO, "%s: allocation %zu failing: %d (%s)",
                  chaos_cases[_i], n, rc, err);
    ck_assert_ptr_null(config);
    ck_assert_str_eq(err, want);
    ck_assert_uint_le(made, n_allocs);
  }
  ck_assert_int_eq(rs__config_load(&config, path, err, sizeof err, 0, &again),
                   0);
  restore_env(env);
  ck_assert_uint_eq(again, n_allocs);
  cli_config_free(config);
}
END_TEST

static Suite *config_suite(void) {
  Suite *s = suite_create("config");
  TCase *cases = tcase_create("cases"), *unit = tcase_create("unit");
  tcase_add_loop_test(cases, test_case, 0, (int)n_case_names);
  suite_add_tcase(s, cases);
  tcase_add_test(unit, test_missing_file);
  tcase_add_test(unit, test_directory);
  tcase_add_test(unit, test_size_limit);
  tcase_add_test(unit, test_binary_file);
  tcase_add_test(unit, test_relative_to_working_directory);
  tcase_add_test(unit, test_short_error_buffer);
  tcase_add_test(unit, test_case_folders);
  tcase_add_loop_test(unit, test_chaos, 0,
                      (int)(sizeof chaos_cases / sizeof chaos_cases[0]));
  tcase_set_timeout(unit, 60);
  suite_add_tcase(s, unit);
  return s;
}

int main(void) {
  SRunner *runner;
  int failed;
  list_cases();
  runner = srunner_create(config_suite());
  srunner_run_all(runner, CK_NORMAL);
  failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  for (size_t i = 0; i < n_case_names; i++) free(case_names[i]);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
