#define _POSIX_C_SOURCE 200809L
/*
 * src/store/stream.c: the stream file adapter (store_stream.h).
 *
 * Reading is buffered stdio, one record in memory at a time, so memory
 * stays flat whatever the file size. Framing is checked byte by byte: a
 * length prefix is at most 10 bytes (a 64-bit varint) and at most
 * STORE_STREAM_MAX_RECORD; a file that ends inside a prefix or inside the
 * bytes a prefix announces ends the scan with a framing issue, never with
 * a partial record handed to the codec as if it were whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_impl.h"
#include "store_stream.h"

typedef struct stream_store {
  struct store base;
  FILE *f;
  char *name;  /* the target's name */
  char *shown; /* the path as messages show it */
  uint8_t *buf;
  size_t cap;
  uint64_t index, offset; /* the next record's position */
  char key[48];
  int scanning, ended, has_issue;
  store_framing issue;
  volatile sig_atomic_t stop;
} stream_store;

static int stream_fail_io(stream_store *s, store_error *err, const char *what) {
  return store__fail(err, STORE_EIO,
                     "target '%s' (%s): %s at byte %" PRIu64 ": %s", s->name,
                     s->shown, what, s->offset, strerror(errno));
}

static int64_t stream_estimate_rows(store *base) {
  (void)base;
  return -1;
}

static int stream_scan(store *base, store_error *err) {
  stream_store *s = (stream_store *)base;
  if (fseeko(s->f, 0, SEEK_SET) != 0)
    return stream_fail_io(s, err, "cannot seek");
  s->index = s->offset = 0;
  s->ended = s->has_issue = 0;
  s->scanning = 1;
  return STORE_OK;
}

/* Records a framing issue at the current record and ends the scan. */
static int stream_issue(stream_store *s, uint64_t have, uint64_t need,
                        const char *what) {
  s->has_issue = 1;
  s->ended = 1;
  s->issue.index = s->index;
  s->issue.offset = s->offset;
  s->issue.have = have;
  s->issue.need = need;
  snprintf(s->issue.what, sizeof s->issue.what,
           "record %" PRIu64 " at byte %" PRIu64 ": %s", s->index, s->offset,
           what);
  return 0;
}

static int stream_next(store *base, store_row *row, store_error *err) {
  stream_store *s = (stream_store *)base;
  if (!s->scanning || s->ended) return 0;
  if (s->stop) {
    s->ended = 1;
    return store__fail(err, STORE_EIO, "target '%s': interrupted", s->name);
  }
  /* The length prefix: base-128, least significant group first. */
  uint64_t len = 0;
  unsigned n = 0;
  for (;;) {
    int c = getc(s->f);
    if (c == EOF) {
      if (ferror(s->f)) return stream_fail_io(s, err, "cannot read");
      if (n == 0) { /* the end, between records */
        s->ended = 1;
        return 0;
      }
      char what[160];
      snprintf(what, sizeof what,
               "truncated: the file ends inside its length prefix (%u byte%s)",
               n, n == 1 ? "" : "s");
      return stream_issue(s, n, 0, what);
    }
    if (n == 9 && (c & 0xFE) != 0)
      return stream_issue(s, n + 1, 0,
                          "malformed length prefix: more than 64 bits; the "
                          "rest of the file cannot be split into records");
    len |= (uint64_t)(c & 0x7F) << (7 * n);
    n++;
    if ((c & 0x80) == 0) break;
  }
  if (len > STORE_STREAM_MAX_RECORD) {
    char what[160];
    snprintf(what, sizeof what,
             "length prefix says %" PRIu64 " bytes, more than the %" PRIu64
             " a record may have; the rest of the file cannot be split into "
             "records",
             len, STORE_STREAM_MAX_RECORD);
    return stream_issue(s, 0, len, what);
  }
  if (len > s->cap) {
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < len) cap *= 2;
    uint8_t *grown = realloc(s->buf, cap);
    if (grown == NULL)
      return store__fail(err, STORE_ENOMEM, "target '%s': out of memory",
                         s->name);
    s->buf = grown;
    s->cap = cap;
  }
  size_t got = len ? fread(s->buf, 1, (size_t)len, s->f) : 0;
  if (got < len) {
    if (ferror(s->f)) return stream_fail_io(s, err, "cannot read");
    char what[160];
    snprintf(what, sizeof what,
             "truncated: its length prefix says %" PRIu64
             " bytes, the file holds %zu",
             len, got);
    return stream_issue(s, got, len, what);
  }
  snprintf(s->key, sizeof s->key, "%" PRIu64 "@%" PRIu64, s->index, s->offset);
  row->key = s->key;
  row->key_len = strlen(s->key);
  row->value = s->buf;
  row->value_len = (size_t)len;
  row->value_is_null = 0;
  s->index++;
  s->offset += n + len;
  return 1;
}

static void stream_cancel(store *base) {
  ((stream_store *)base)->ended = 1;
}

static void stream_interrupt(store *base) {
  ((stream_store *)base)->stop = 1;
}

static void stream_close(store *base) {
  stream_store *s = (stream_store *)base;
  if (s == NULL) return;
  if (s->f != NULL) fclose(s->f);
  free(s->name);
  free(s->shown);
  free(s->buf);
  free(s);
}

static int stream_framing(const store *base, store_framing *out) {
  const stream_store *s = (const stream_store *)base;
  if (!s->has_issue) return 0;
  *out = s->issue;
  return 1;
}

static const store_ops stream_ops = {
    .estimate_rows = stream_estimate_rows,
    .scan = stream_scan,
    .next = stream_next,
    .cancel = stream_cancel,
    .interrupt = stream_interrupt,
    .close = stream_close,
    .framing = stream_framing,
};

static char *dup_str(const char *v) {
  size_t n = strlen(v) + 1;
  char *d = malloc(n);
  if (d != NULL) memcpy(d, v, n);
  return d;
}

int store__stream_open(store **out, const store_target *t, store_error *err) {
  *out = NULL;
  const char *name = t->name != NULL ? t->name : t->connection;
  const char *shown =
      t->connection_label != NULL ? t->connection_label : t->connection;
  stream_store *s = calloc(1, sizeof *s);
  if (s == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  s->base.ops = &stream_ops;
  s->name = dup_str(name);
  s->shown = dup_str(shown);
  if (s->name == NULL || s->shown == NULL) {
    stream_close(&s->base);
    return store__fail(err, STORE_ENOMEM, "out of memory");
  }
  snprintf(s->base.description, sizeof s->base.description, "stream-file %s",
           shown);
  struct stat sb;
  s->f = fopen(t->connection, "rb");
  if (s->f == NULL || fstat(fileno(s->f), &sb) != 0) {
    int rc = store__fail(err, STORE_EIO, "target '%s': cannot open '%s': %s",
                         name, shown, strerror(errno));
    stream_close(&s->base);
    return rc;
  }
  if (!S_ISREG(sb.st_mode)) {
    stream_close(&s->base);
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': '%s' is not a regular file", name, shown);
  }
  *out = &s->base;
  return STORE_OK;
}

int store_stream_position(const char *key, uint64_t *index, uint64_t *offset) {
  if (key == NULL) return -1;
  char *end;
  errno = 0;
  unsigned long long i = strtoull(key, &end, 10);
  if (end == key || *end != '@' || errno != 0) return -1;
  const char *o = end + 1;
  unsigned long long off = strtoull(o, &end, 10);
  if (end == o || *end != '\0' || errno != 0) return -1;
  *index = (uint64_t)i;
  *offset = (uint64_t)off;
  return 0;
}

/* ---- writing a new file ------------------------------------------------ */

struct store_stream_writer {
  FILE *f;
  char *path, *tmp;
  uint64_t written;
};

void store_stream_writer_abort(store_stream_writer *w) {
  if (w == NULL) return;
  if (w->f != NULL) fclose(w->f);
  if (w->tmp != NULL) unlink(w->tmp);
  free(w->path);
  free(w->tmp);
  free(w);
}

int store_stream_writer_open(store_stream_writer **out, const char *path,
                             const char *original, store_error *err) {
  *out = NULL;
  struct stat a, b;
  if (strcmp(path, original) == 0 ||
      (stat(path, &a) == 0 && stat(original, &b) == 0 && a.st_dev == b.st_dev &&
       a.st_ino == b.st_ino))
    return store__fail(err, STORE_EUSAGE,
                       "'%s' is the stream file itself: a fix never edits "
                       "the original, which stays as the backup",
                       path);
  if (stat(path, &a) == 0 && S_ISDIR(a.st_mode))
    return store__fail(err, STORE_EUSAGE, "'%s' is a directory", path);
  store_stream_writer *w = calloc(1, sizeof *w);
  if (w == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  size_t n = strlen(path);
  w->path = dup_str(path);
  w->tmp = malloc(n + 16);
  if (w->path == NULL || w->tmp == NULL) {
    store_stream_writer_abort(w);
    return store__fail(err, STORE_ENOMEM, "out of memory");
  }
  /* Beside the destination: rename(2) is atomic only within a file
   * system. */
  snprintf(w->tmp, n + 16, "%s.tmp-XXXXXX", path);
  int fd = mkstemp(w->tmp);
  if (fd < 0) {
    int rc = store__fail(err, STORE_EIO,
                         "cannot create a temporary file "
                         "beside '%s': %s",
                         path, strerror(errno));
    free(w->tmp);
    w->tmp = NULL;
    store_stream_writer_abort(w);
    return rc;
  }
  /* mkstemp made it 0600: the new file takes the original's permission
   * bits, so that whoever reads the original can read it. */
  if (stat(original, &b) == 0 && fchmod(fd, b.st_mode & 0777) != 0) {
    int rc = store__fail(err, STORE_EIO, "cannot set the mode of '%s': %s",
                         w->tmp, strerror(errno));
    close(fd);
    store_stream_writer_abort(w);
    return rc;
  }
  w->f = fdopen(fd, "wb");
  if (w->f == NULL) {
    close(fd);
    int rc = store__fail(err, STORE_EIO, "cannot write '%s': %s", w->tmp,
                         strerror(errno));
    store_stream_writer_abort(w);
    return rc;
  }
  *out = w;
  return STORE_OK;
}

size_t store_stream_varint(uint8_t out[10], uint64_t v) {
  size_t n = 0;
  do {
    out[n++] = (uint8_t)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
    v >>= 7;
  } while (v != 0);
  return n;
}

int store_stream_writer_put(store_stream_writer *w, const uint8_t *bytes,
                            size_t len, store_error *err) {
  uint8_t prefix[10];
  size_t n = store_stream_varint(prefix, len);
  if (fwrite(prefix, 1, n, w->f) != n ||
      (len > 0 && fwrite(bytes, 1, len, w->f) != len))
    return store__fail(err, STORE_EIO, "cannot write '%s': %s", w->tmp,
                       strerror(errno));
  w->written += n + len;
  return STORE_OK;
}

int store_stream_writer_commit(store_stream_writer *w, store_error *err) {
  int rc = STORE_OK;
  if (fflush(w->f) != 0 || fsync(fileno(w->f)) != 0)
    rc = store__fail(err, STORE_EIO, "cannot write '%s': %s", w->tmp,
                     strerror(errno));
  if (fclose(w->f) != 0 && rc == STORE_OK)
    rc = store__fail(err, STORE_EIO, "cannot write '%s': %s", w->tmp,
                     strerror(errno));
  w->f = NULL;
  if (rc == STORE_OK && rename(w->tmp, w->path) != 0)
    rc = store__fail(err, STORE_EIO, "cannot rename '%s' to '%s': %s", w->tmp,
                     w->path, strerror(errno));
  if (rc != STORE_OK) {
    store_stream_writer_abort(w);
    return rc;
  }
  /* The rename itself is durable once the directory is. */
  char *dir = dup_str(w->path);
  if (dir != NULL) {
    char *slash = strrchr(dir, '/');
    const char *d = slash == NULL ? "." : (slash == dir ? "/" : dir);
    if (slash != NULL && slash != dir) *slash = '\0';
    int fd = open(d, O_RDONLY | O_DIRECTORY);
    if (fd < 0 || fsync(fd) != 0)
      rc = store__fail(err, STORE_EIO, "cannot sync the directory of '%s': %s",
                       w->path, strerror(errno));
    if (fd >= 0) close(fd);
    free(dir);
  }
  free(w->tmp);
  w->tmp = NULL; /* renamed: nothing to remove */
  store_stream_writer_abort(w);
  return rc;
}
