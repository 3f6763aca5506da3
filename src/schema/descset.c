#define _POSIX_C_SOURCE 200809L
/*
 * src/schema/descset.c: a FileDescriptorSet from bytes, a file, or a .proto
 * compiled by protoc.
 */
#include "descset.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codec/internal.h"

extern char **environ;

int rs__descset_parse(Google__Protobuf__FileDescriptorSet **out,
                      const uint8_t *buf, size_t len, const char *what,
                      rs_error *err) {
  *out = NULL;
  if (len > RS__DESCSET_MAX_BYTES)
    return rs__fail(err, RS_ELIMIT, RS_OFFSET_NONE,
                    "%s: descriptor set of %zu bytes is over the limit of %zu",
                    what, len, RS__DESCSET_MAX_BYTES);
  /* An empty input unpacks as an empty set; a schema without files is
   * always a mistake (a wrong path, a truncated copy), so say so. */
  if (len == 0)
    return rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                    "%s: empty file, not a FileDescriptorSet", what);
  /* protobuf-c recurses once per nesting level: a hostile set nested a
   * million messages deep must not reach it. */
  rs_error derr = RS_ERROR_INIT;
  int drc = rs__check_depth(&google__protobuf__file_descriptor_set__descriptor,
                            buf, len, 0, 1, RS__DESCSET_MAX_DEPTH, &derr);
  if (drc != 0)
    return rs__fail(err, drc == RS_ELIMIT ? RS_ELIMIT : RS_EDECODE, derr.offset,
                    "%s: not a usable FileDescriptorSet: %s", what,
                    derr.message);
  Google__Protobuf__FileDescriptorSet *set =
      google__protobuf__file_descriptor_set__unpack(NULL, len, buf);
  if (set == NULL)
    return rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                    "%s: not a FileDescriptorSet (protoc --descriptor_set_out "
                    "output); protobuf-c cannot decode it",
                    what);
  if (set->n_file == 0) {
    rs__descset_free(set);
    return rs__fail(err, RS_EDECODE, RS_OFFSET_NONE,
                    "%s: FileDescriptorSet holds no file", what);
  }
  *out = set;
  return 0;
}

void rs__descset_free(Google__Protobuf__FileDescriptorSet *set) {
  if (set != NULL)
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
}

/* Reads a whole regular file of at most RS__DESCSET_MAX_BYTES. */
static int read_file(uint8_t **out, size_t *out_len, const char *path,
                     rs_error *err) {
  *out = NULL;
  *out_len = 0;
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return rs__fail(err, RS_EIO, RS_OFFSET_NONE, "%s: cannot open: %s", path,
                    strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    return rs__fail(err, RS_EIO, RS_OFFSET_NONE, "%s: not a regular file",
                    path);
  }
  if ((uint64_t)st.st_size > RS__DESCSET_MAX_BYTES) {
    fclose(f);
    return rs__fail(err, RS_ELIMIT, RS_OFFSET_NONE,
                    "%s: %lld bytes is over the descriptor set limit of %zu",
                    path, (long long)st.st_size, RS__DESCSET_MAX_BYTES);
  }
  size_t len = (size_t)st.st_size;
  uint8_t *buf = malloc(len > 0 ? len : 1);
  if (buf == NULL) {
    fclose(f);
    return rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "%s: out of memory", path);
  }
  size_t got = len > 0 ? fread(buf, 1, len, f) : 0;
  int bad = got != len || ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    return rs__fail(err, RS_EIO, RS_OFFSET_NONE, "%s: read error", path);
  }
  *out = buf;
  *out_len = len;
  return 0;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The first non-empty line of a file, for an error message. */
static void first_line(const char *path, char *line, size_t cap) {
  line[0] = '\0';
  FILE *f = fopen(path, "r");
  if (f == NULL) return;
  while (fgets(line, (int)cap, f) != NULL) {
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] != '\0') break;
  }
  fclose(f);
}

/* Whether a command runs: a path as it is, a bare name in a directory of
 * $PATH, as posix_spawnp looks it up. */
static int runnable(const char *cmd) {
  if (strchr(cmd, '/') != NULL) return access(cmd, X_OK) == 0;
  const char *dirs = getenv("PATH");
  if (dirs == NULL) return 0;
  while (*dirs != '\0') {
    size_t n = strcspn(dirs, ":");
    char candidate[4096];
    int len = snprintf(candidate, sizeof candidate, "%.*s/%s", (int)n,
                       n ? dirs : ".", cmd);
    if (len > 0 && (size_t)len < sizeof candidate &&
        access(candidate, X_OK) == 0)
      return 1;
    dirs += n;
    if (*dirs == ':') dirs++;
  }
  return 0;
}

/* $PROTOC, else protoc, else protoc-c: protobuf-c's compiler is protoc's
 * command line with the C generator, and writes the same sets. */
const char *rs__protoc_command(void) {
  const char *env = getenv("PROTOC");
  if (env != NULL && env[0] != '\0') return runnable(env) ? env : NULL;
  if (runnable("protoc")) return "protoc";
  if (runnable("protoc-c")) return "protoc-c";
  return NULL;
}

/*
 * Runs protoc on a .proto file into a temporary descriptor set. protoc
 * resolves imports against -I paths, so the file's own directory comes
 * first; its built-in include directory gives the well-known types.
 */
static int compile_proto(uint8_t **out, size_t *out_len, const char *path,
                         const char *const *include_dirs, rs_error *err) {
  /* A file that is not there is said as such, not as protoc's complaint
   * about proto paths. */
  FILE *probe = fopen(path, "rb");
  if (probe == NULL)
    return rs__fail(err, RS_EIO, RS_OFFSET_NONE, "%s: cannot open: %s", path,
                    strerror(errno));
  fclose(probe);
  const char *tmpdir = getenv("TMPDIR");
  if (tmpdir == NULL || tmpdir[0] == '\0') tmpdir = "/tmp";
  char set_path[4096], log_path[4096];
  snprintf(set_path, sizeof set_path, "%s/rollsafe-desc-XXXXXX", tmpdir);
  snprintf(log_path, sizeof log_path, "%s/rollsafe-protoc-XXXXXX", tmpdir);
  int set_fd = mkstemp(set_path);
  if (set_fd < 0)
    return rs__fail(err, RS_EIO, RS_OFFSET_NONE,
                    "%s: cannot create a temporary file in %s: %s", path,
                    tmpdir, strerror(errno));
  close(set_fd);
  int log_fd = mkstemp(log_path);
  if (log_fd < 0) {
    unlink(set_path);
    return rs__fail(err, RS_EIO, RS_OFFSET_NONE,
                    "%s: cannot create a temporary file in %s: %s", path,
                    tmpdir, strerror(errno));
  }

  int rc = RS_ENOMEM;
  char *dir = strdup(path);
  char *out_arg =
      rs__sprintf(&rs__malloc_allocator, "--descriptor_set_out=%s", set_path);
  char *dir_arg = NULL;
  size_t n_inc = 0;
  while (include_dirs != NULL && include_dirs[n_inc] != NULL) n_inc++;
  char **inc_args = calloc(n_inc + 1, sizeof *inc_args);
  char **argv = calloc(n_inc + 8, sizeof *argv);
  if (dir == NULL || out_arg == NULL || inc_args == NULL || argv == NULL)
    goto done;
  char *slash = strrchr(dir, '/');
  if (slash == NULL)
    strcpy(dir, ".");
  else if (slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
  dir_arg = rs__sprintf(&rs__malloc_allocator, "-I%s", dir);
  if (dir_arg == NULL) goto done;
  for (size_t i = 0; i < n_inc; i++)
    if ((inc_args[i] = rs__sprintf(&rs__malloc_allocator, "-I%s",
                                   include_dirs[i])) == NULL)
      goto done;

  const char *protoc = rs__protoc_command();
  if (protoc == NULL) {
    const char *env = getenv("PROTOC");
    rc = rs__fail(err, RS_EIO, RS_OFFSET_NONE,
                  "%s: cannot run %s to compile it (not found); install "
                  "protobuf-compiler (or protobuf-c-compiler), or pass a "
                  "descriptor set "
                  "(protoc --include_imports --descriptor_set_out=FILE)",
                  path,
                  env != NULL && env[0] != '\0' ? env : "protoc or protoc-c");
    goto done;
  }
  size_t a = 0;
  argv[a++] = (char *)protoc;
  argv[a++] = "--include_imports";
  argv[a++] = "--include_source_info";
  argv[a++] = out_arg;
  argv[a++] = dir_arg;
  for (size_t i = 0; i < n_inc; i++) argv[a++] = inc_args[i];
  argv[a++] = (char *)path;
  argv[a] = NULL;

  posix_spawn_file_actions_t fa;
  if (posix_spawn_file_actions_init(&fa) != 0) goto done;
  posix_spawn_file_actions_adddup2(&fa, log_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, log_fd, STDERR_FILENO);
  pid_t pid;
  int serr = posix_spawnp(&pid, protoc, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (serr != 0) {
    rc = rs__fail(err, RS_EIO, RS_OFFSET_NONE,
                  "%s: cannot run %s to compile it (%s); install "
                  "protobuf-compiler (or protobuf-c-compiler), or pass a "
                  "descriptor set "
                  "(protoc --include_imports --descriptor_set_out=FILE)",
                  path, protoc, strerror(serr));
    goto done;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      rc = rs__fail(err, RS_EIO, RS_OFFSET_NONE, "%s: waiting for %s: %s", path,
                    protoc, strerror(errno));
      goto done;
    }
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    char line[160];
    first_line(log_path, line, sizeof line);
    rc = rs__fail(err, RS_EIO, RS_OFFSET_NONE, "%s: %s failed: %s", path,
                  protoc, line[0] != '\0' ? line : "no message");
    goto done;
  }
  rc = read_file(out, out_len, set_path, err);

done:
  if (rc == RS_ENOMEM)
    rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "%s: out of memory", path);
  close(log_fd);
  unlink(log_path);
  unlink(set_path);
  if (inc_args != NULL)
    for (size_t i = 0; i < n_inc; i++)
      rs__free(&rs__malloc_allocator, inc_args[i]);
  free(inc_args);
  free(argv);
  rs__free(&rs__malloc_allocator, dir_arg);
  rs__free(&rs__malloc_allocator, out_arg);
  free(dir);
  return rc;
}

int rs__descset_load(Google__Protobuf__FileDescriptorSet **out,
                     const char *path, const char *const *include_dirs,
                     rs_error *err) {
  *out = NULL;
  uint8_t *buf = NULL;
  size_t len = 0;
  int rc = ends_with(path, ".proto")
               ? compile_proto(&buf, &len, path, include_dirs, err)
               : read_file(&buf, &len, path, err);
  if (rc == 0) rc = rs__descset_parse(out, buf, len, path, err);
  free(buf);
  return rc;
}
