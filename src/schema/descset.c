#define _POSIX_C_SOURCE 200809L
/*
 * src/schema/descset.c: a FileDescriptorSet from bytes, a file, or a .proto
 * compiled by protoc.
 */
#include "descset.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

/* A pipe whose ends are closed on exec: the child gets them only through
 * the dup2 of its file actions. */
static int cloexec_pipe(int fds[2]) {
  if (pipe(fds) != 0) return -1;
  if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 ||
      fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  return 0;
}

/*
 * Reads protoc's standard output (the descriptor set) and standard error
 * (its messages) until both end, so that neither pipe fills up and blocks
 * it. The set is kept up to RS__DESCSET_MAX_BYTES (*over is set past it),
 * the first bytes of the messages in log. 0, or -1 with errno.
 */
static int drain(int out_fd, int err_fd, uint8_t **set, size_t *set_len,
                 int *over, char *log, size_t log_cap) {
  struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  size_t cap = 0, log_len = 0;
  *set = NULL;
  *set_len = 0;
  *over = 0;
  log[0] = '\0';
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      uint8_t chunk[65536];
      ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return -1;
      if (n == 0) {
        fds[i].fd = -1; /* poll ignores negative descriptors */
        continue;
      }
      size_t got = (size_t)n;
      if (i == 1) {
        size_t room = log_cap - 1 - log_len;
        size_t take = got < room ? got : room;
        memcpy(log + log_len, chunk, take);
        log_len += take;
        log[log_len] = '\0';
      } else if (*over || *set_len + got > RS__DESCSET_MAX_BYTES) {
        *over = 1; /* read on, so that protoc can finish */
      } else {
        if (*set_len + got > cap) {
          size_t want = cap ? cap * 2 : 65536;
          while (want < *set_len + got) want *= 2;
          uint8_t *grown = realloc(*set, want);
          if (grown == NULL) return -1;
          *set = grown;
          cap = want;
        }
        memcpy(*set + *set_len, chunk, got);
        *set_len += got;
      }
    }
  }
  return 0;
}

/* The first non-empty line of protoc's messages that is not one of its
 * warnings (a missing syntax statement, which an editions file has none
 * of, is one). */
static void first_line(const char *log, char *line, size_t cap) {
  const char *p = log;
  for (;;) {
    while (*p == '\n' || *p == '\r') p++;
    if (strncmp(p, "[libprotobuf WARNING", 20) != 0) break;
    const char *next = p + strcspn(p, "\r\n");
    if (*next == '\0') break;
    p = next;
  }
  size_t n = strcspn(p, "\r\n");
  if (n >= cap) n = cap - 1;
  memcpy(line, p, n);
  line[n] = '\0';
}

/* Whether a .proto file declares an edition (`edition = "2023";`) on a
 * line of its first 64 KiB. */
static bool is_editions_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL) return false;
  char buf[512];
  bool found = false;
  size_t read = 0;
  while (!found && read < ((size_t)64 << 10) && fgets(buf, sizeof buf, f)) {
    read += strlen(buf);
    const char *p = buf + strspn(buf, " \t");
    if (strncmp(p, "edition", 7) == 0) {
      p += 7 + strspn(p + 7, " \t");
      found = *p == '=';
    }
  }
  fclose(f);
  return found;
}

/*
 * Runs protoc on a .proto file and reads the descriptor set it writes to
 * its standard output: no temporary file, so a read-only file system
 * (Kubernetes' readOnlyRootFilesystem, no writable TMPDIR) is no obstacle.
 * protoc resolves imports against -I paths, so the file's own directory
 * comes first; its built-in include directory gives the well-known types.
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

  int rc = RS_ENOMEM;
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  uint8_t *set = NULL;
  size_t set_len = 0;
  char *dir = strdup(path);
  char *dir_arg = NULL;
  size_t n_inc = 0;
  while (include_dirs != NULL && include_dirs[n_inc] != NULL) n_inc++;
  char **inc_args = calloc(n_inc + 1, sizeof *inc_args);
  char **argv = calloc(n_inc + 8, sizeof *argv);
  if (dir == NULL || inc_args == NULL || argv == NULL) goto done;
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
  argv[a++] = "--descriptor_set_out=/dev/stdout";
  argv[a++] = dir_arg;
  for (size_t i = 0; i < n_inc; i++) argv[a++] = inc_args[i];
  argv[a++] = (char *)path;
  argv[a] = NULL;

  if (cloexec_pipe(out_pipe) != 0 || cloexec_pipe(err_pipe) != 0) {
    rc = rs__fail(err, RS_EIO, RS_OFFSET_NONE, "%s: cannot run %s: pipe: %s",
                  path, protoc, strerror(errno));
    goto done;
  }
  posix_spawn_file_actions_t fa;
  if (posix_spawn_file_actions_init(&fa) != 0) goto done;
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], STDERR_FILENO);
  pid_t pid;
  int serr = posix_spawnp(&pid, protoc, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out_pipe[1]);
  close(err_pipe[1]);
  out_pipe[1] = err_pipe[1] = -1;
  if (serr != 0) {
    rc = rs__fail(err, RS_EIO, RS_OFFSET_NONE,
                  "%s: cannot run %s to compile it (%s); install "
                  "protobuf-compiler (or protobuf-c-compiler), or pass a "
                  "descriptor set "
                  "(protoc --include_imports --descriptor_set_out=FILE)",
                  path, protoc, strerror(serr));
    goto done;
  }
  char log[4096];
  int over = 0;
  int derr =
      drain(out_pipe[0], err_pipe[0], &set, &set_len, &over, log, sizeof log);
  int drain_errno = errno;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      rc = rs__fail(err, RS_EIO, RS_OFFSET_NONE, "%s: waiting for %s: %s", path,
                    protoc, strerror(errno));
      goto done;
    }
  }
  if (derr != 0) {
    rc = drain_errno == ENOMEM
             ? RS_ENOMEM
             : rs__fail(err, RS_EIO, RS_OFFSET_NONE, "%s: reading %s: %s", path,
                        protoc, strerror(drain_errno));
    goto done;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    char line[160];
    first_line(log, line, sizeof line);
    rc = rs__fail(err, RS_EIO, RS_OFFSET_NONE, "%s: %s failed: %s%s", path,
                  protoc, line[0] != '\0' ? line : "no message",
                  is_editions_file(path)
                      ? "; an editions file: give its descriptor set (buf "
                        "build -o)"
                      : "");
    goto done;
  }
  if (over) {
    rc = rs__fail(err, RS_ELIMIT, RS_OFFSET_NONE,
                  "%s: protoc's descriptor set is over the limit of %zu bytes",
                  path, RS__DESCSET_MAX_BYTES);
    goto done;
  }
  *out = set;
  *out_len = set_len;
  set = NULL;
  rc = 0;

done:
  if (rc == RS_ENOMEM)
    rs__fail(err, RS_ENOMEM, RS_OFFSET_NONE, "%s: out of memory", path);
  for (int i = 0; i < 2; i++) {
    if (out_pipe[i] >= 0) close(out_pipe[i]);
    if (err_pipe[i] >= 0) close(err_pipe[i]);
  }
  free(set);
  if (inc_args != NULL)
    for (size_t i = 0; i < n_inc; i++)
      rs__free(&rs__malloc_allocator, inc_args[i]);
  free(inc_args);
  free(argv);
  rs__free(&rs__malloc_allocator, dir_arg);
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
