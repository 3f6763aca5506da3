#define _POSIX_C_SOURCE 200809L
/*
 * src/cli/output.c: atomic report files.
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "output.h"

int cli_write_file(const char *cmd, const char *path, cli_write_fn fn,
                   void *ctx) {
  if (strcmp(path, "-") == 0) {
    errno = 0;
    if (fn(stdout, ctx) != 0 || fflush(stdout) != 0 || ferror(stdout)) {
      cli_error(cmd, "cannot write to standard output: %s",
                errno ? strerror(errno) : "write error");
      return CLI_EXIT_IO;
    }
    return 0;
  }
  /* Only a regular file (or a new one) is replaced by rename: a device, a
   * FIFO or a socket (/dev/null, /dev/stdout, a pipe a collector reads) is
   * written in place, and renaming over it would replace the device. */
  struct stat st;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
    FILE *f = fopen(path, "w");
    if (f == NULL) {
      cli_error(cmd, "cannot open '%s': %s", path, strerror(errno));
      return CLI_EXIT_IO;
    }
    errno = 0;
    int bad = fn(f, ctx) != 0 || fflush(f) != 0 || ferror(f);
    int saved = errno;
    if (fclose(f) != 0 && !bad) {
      bad = 1;
      saved = errno;
    }
    if (bad) {
      cli_error(cmd, "cannot write '%s': %s", path,
                saved ? strerror(saved) : "write error");
      return CLI_EXIT_IO;
    }
    return 0;
  }
  size_t n = strlen(path);
  char *tmp = malloc(n + 16);
  if (tmp == NULL) {
    cli_error(cmd, "out of memory");
    return CLI_EXIT_IO;
  }
  snprintf(tmp, n + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    cli_error(cmd, "cannot write '%s': %s", path, strerror(errno));
    free(tmp);
    return CLI_EXIT_IO;
  }
  /* mkstemp makes the file 0600; a report is as readable as any file the
   * user creates. */
  mode_t mask = umask(0);
  umask(mask);
  (void)fchmod(fd, 0666 & ~mask);
  FILE *f = fdopen(fd, "w");
  if (f == NULL) {
    cli_error(cmd, "cannot write '%s': %s", path, strerror(errno));
    close(fd);
    unlink(tmp);
    free(tmp);
    return CLI_EXIT_IO;
  }
  errno = 0;
  int bad = fn(f, ctx) != 0 || fflush(f) != 0 || ferror(f) || fsync(fd) != 0;
  int saved = errno;
  if (fclose(f) != 0 && !bad) {
    bad = 1;
    saved = errno;
  }
  if (!bad && rename(tmp, path) != 0) {
    bad = 1;
    saved = errno;
  }
  if (bad) {
    cli_error(cmd, "cannot write '%s': %s", path,
              saved ? strerror(saved) : "write error");
    unlink(tmp);
    free(tmp);
    return CLI_EXIT_IO;
  }
  free(tmp);
  return 0;
}

int cli_output_check(const char *cmd, const char *option, const char *path) {
  if (path == NULL || strcmp(path, "-") == 0) return 0;
  struct stat st;
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      cli_error(cmd, "%s '%s': is a directory", option, path);
      return CLI_EXIT_IO;
    }
    if (!S_ISREG(st.st_mode)) return 0; /* a device or FIFO: written in place */
  }
  /* A new file or a regular one is replaced through a temporary file in its
   * directory: that directory must exist and be writable. */
  char *copy = strdup(path);
  if (copy == NULL) {
    cli_error(cmd, "out of memory");
    return CLI_EXIT_IO;
  }
  const char *dir = dirname(copy);
  int rc = 0;
  if (stat(dir, &st) != 0) {
    cli_error(cmd, "%s '%s': directory '%s': %s", option, path, dir,
              strerror(errno));
    rc = CLI_EXIT_IO;
  } else if (!S_ISDIR(st.st_mode)) {
    cli_error(cmd, "%s '%s': '%s' is not a directory", option, path, dir);
    rc = CLI_EXIT_IO;
  } else if (access(dir, W_OK | X_OK) != 0) {
    cli_error(cmd, "%s '%s': cannot write in directory '%s': %s", option, path,
              dir, strerror(errno));
    rc = CLI_EXIT_IO;
  }
  free(copy);
  return rc;
}
