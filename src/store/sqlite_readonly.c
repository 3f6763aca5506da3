#define _POSIX_C_SOURCE 200809L
/*
 * src/store/sqlite_readonly.c: reading a WAL database where SQLite cannot
 * write (a read-only directory or mount, a read-only copy).
 *
 * A reader of a WAL database shares the wal-index (the "-shm" file) with
 * every other connection. When the -shm file exists, SQLite reads through
 * it even read-only; when it does not and cannot be created, the first
 * read fails ("unable to open database file", or "attempt to write a
 * readonly database"). Two cases then:
 *
 *  - the -wal file is absent or empty: the database file holds every
 *    committed change, and `immutable=1` reads it exactly, without locks
 *    or a wal-index. The caveat: SQLite then assumes no one changes the
 *    file while it reads. In a directory no one can write that holds;
 *    another user allowed to write it must not, for the scan's duration.
 *  - the -wal file holds frames: they may be committed changes not yet in
 *    the database file, which only the wal-index can find. `immutable`
 *    would ignore them and give half an answer, so the database is
 *    refused, saying why and what to do.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sqlite_internal.h"

/* Whether @p path's header says WAL: its file format write and read
 * versions (bytes 18 and 19) are 2. */
static int header_is_wal(const char *path) {
  unsigned char h[20];
  FILE *f = fopen(path, "rb");
  if (f == NULL) return 0;
  size_t n = fread(h, 1, sizeof h, f);
  fclose(f);
  return n == sizeof h && memcmp(h, "SQLite format 3", 16) == 0 && h[18] == 2 &&
         h[19] == 2;
}

/* "file:" and @p path percent-encoded, then "?immutable=1". */
static char *immutable_uri(const char *path) {
  static const char keep[] = "/._-~";
  size_t n = strlen(path);
  char *uri = malloc(5 + 3 * n + 13);
  if (uri == NULL) return NULL;
  char *o = uri;
  memcpy(o, "file:", 5);
  o += 5;
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
        (*p >= '0' && *p <= '9') || strchr(keep, *p) != NULL) {
      *o++ = (char)*p;
    } else {
      snprintf(o, 4, "%%%02X", *p);
      o += 3;
    }
  }
  memcpy(o, "?immutable=1", 13);
  return uri;
}

int store__sq_readonly_wal(const char *path, const char *shown,
                           const char *name, int rc, char **uri,
                           store_error *err) {
  *uri = NULL;
  int code = rc & 0xff;
  if ((code != SQLITE_READONLY && code != SQLITE_CANTOPEN) ||
      strncmp(path, "file:", 5) == 0 || !header_is_wal(path))
    return STORE_OK;
  size_t n = strlen(path);
  char *side = malloc(n + 5);
  if (side == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  memcpy(side, path, n);
  memcpy(side + n, "-wal", 5);
  struct stat sb;
  int wal_frames = stat(side, &sb) == 0 && sb.st_size > 0;
  free(side);
  if (wal_frames)
    return store__fail(
        err, STORE_EIO,
        "target '%s': cannot read '%s' here: it is a WAL database whose "
        "'-wal' file holds changes that may not be in the database file yet, "
        "and SQLite reads them only through a '-shm' file, which it cannot "
        "create where the database is (read-only); reading without it would "
        "miss them. Scan a copy of the database and its -wal file in a "
        "writable directory, or have a writer checkpoint it (PRAGMA "
        "wal_checkpoint(TRUNCATE))",
        name, shown);
  *uri = immutable_uri(path);
  if (*uri == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  return STORE_OK;
}
