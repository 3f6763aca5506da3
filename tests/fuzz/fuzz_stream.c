/*
 * Fuzz target: the stream-file reader (src/store/stream.c) on a file of
 * arbitrary bytes, and its writer on what the reader found.
 *
 * Invariants, beyond "no crash, no leak, no undefined behaviour":
 *  - the rows are exactly those of a second, independent reading of the
 *    framing (a length prefix of at most 10 bytes whose tenth byte is 0 or
 *    1, a length of at most STORE_STREAM_MAX_RECORD, then that many bytes):
 *    the same keys (INDEX@OFFSET, which store_stream_position reads back),
 *    lengths and bytes, none of them partial;
 *  - the scan ends with a framing issue exactly when the file does not end
 *    between records, at the record and offset where it stops, with the
 *    bytes it has and the bytes it needs;
 *  - the records written again through a store_stream_writer (temporary
 *    file, commit) read back as the same records, with no framing issue,
 *    and the temporary file is gone.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "store/store.h"
#include "store/store_stream.h"

/* The framing read again, byte by byte. */
typedef struct ref_record {
  uint64_t offset, len;
  size_t prefix;
} ref_record;

typedef struct ref_reading {
  ref_record *recs;
  size_t n;
  int issue; /* 0: ends between records */
  uint64_t issue_offset, have, need;
} ref_reading;

static void ref_read(ref_reading *r, const uint8_t *data, size_t size) {
  memset(r, 0, sizeof *r);
  r->recs = malloc((size + 1) * sizeof *r->recs);
  FUZZ_CHECK(r->recs != NULL, "out of memory");
  size_t pos = 0;
  while (pos < size) {
    uint64_t len = 0;
    size_t k = 0;
    int done = 0;
    while (!done) {
      if (pos + k == size) { /* cut inside the prefix */
        r->issue = 1;
        r->issue_offset = pos;
        r->have = k;
        r->need = 0;
        return;
      }
      uint8_t c = data[pos + k];
      if (k == 9 && c > 1) { /* more than 64 bits */
        r->issue = 1;
        r->issue_offset = pos;
        r->have = 10;
        r->need = 0;
        return;
      }
      len |= (uint64_t)(c & 0x7f) << (7 * k);
      k++;
      done = (c & 0x80) == 0;
    }
    if (len > STORE_STREAM_MAX_RECORD) {
      r->issue = 1;
      r->issue_offset = pos;
      r->have = 0;
      r->need = len;
      return;
    }
    if (len > size - pos - k) {
      r->issue = 1;
      r->issue_offset = pos;
      r->have = size - pos - k;
      r->need = len;
      return;
    }
    r->recs[r->n].offset = pos;
    r->recs[r->n].len = len;
    r->recs[r->n].prefix = k;
    r->n++;
    pos += k + (size_t)len;
  }
}

static char work[256];

static void remove_work_dir(void) {
  char path[300];
  snprintf(path, sizeof path, "%s/in.dump", work);
  unlink(path);
  snprintf(path, sizeof path, "%s/out.dump", work);
  unlink(path);
  rmdir(work);
}

static const char *work_dir(void) {
  if (work[0] == '\0') {
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(work, sizeof work, "%s/rs-fuzz-stream-XXXXXX", base);
    FUZZ_CHECK(mkdtemp(work) != NULL, "mkdtemp %s", work);
    atexit(remove_work_dir);
  }
  return work;
}

static store *open_stream(const char *path) {
  store_target t;
  memset(&t, 0, sizeof t);
  t.name = "fuzz";
  t.kind = STORE_STREAM_FILE;
  t.connection = path;
  store *s = NULL;
  store_error err = {STORE_OK, ""};
  FUZZ_CHECK(store_open(&s, &t, NULL, &err) == STORE_OK, "open %s: %s", path,
             err.message);
  FUZZ_CHECK(store_scan(s, &err) == STORE_OK, "scan: %s", err.message);
  return s;
}

static void write_file(const char *path, const uint8_t *data, size_t size) {
  FILE *f = fopen(path, "wb");
  FUZZ_CHECK(f != NULL, "cannot write %s", path);
  FUZZ_CHECK(size == 0 || fwrite(data, 1, size, f) == size, "write %s", path);
  FUZZ_CHECK(fclose(f) == 0, "close %s", path);
}

/* The rows of `path` against the records of `ref` (whose bytes are in
 * `data`); with `rewritten`, offsets are those of minimal prefixes. */
static void check_rows(const char *path, const ref_reading *ref,
                       const uint8_t *data, int rewritten) {
  store *s = open_stream(path);
  store_error err = {STORE_OK, ""};
  store_row row;
  size_t i = 0;
  uint64_t at = 0;
  int got;
  while ((got = store_next(s, &row, &err)) == 1) {
    FUZZ_CHECK(i < ref->n, "row %zu of %zu (%s)", i, ref->n, row.key);
    const ref_record *rec = &ref->recs[i];
    uint64_t index, offset;
    FUZZ_CHECK(store_stream_position(row.key, &index, &offset) == 0 &&
                   strlen(row.key) == row.key_len,
               "key %s", row.key);
    FUZZ_CHECK(index == i && offset == (rewritten ? at : rec->offset),
               "row %zu: key %s, want %zu@%llu", i, row.key, i,
               (unsigned long long)(rewritten ? at : rec->offset));
    FUZZ_CHECK(row.value_len == rec->len && !row.value_is_null,
               "row %zu: %zu bytes, want %llu", i, row.value_len,
               (unsigned long long)rec->len);
    FUZZ_CHECK(row.value_len == 0 ||
                   memcmp(row.value, data + rec->offset + rec->prefix,
                          row.value_len) == 0,
               "row %zu: other bytes", i);
    size_t prefix = 1;
    for (uint64_t v = rec->len; v > 0x7f; v >>= 7) prefix++;
    at += prefix + rec->len;
    i++;
  }
  FUZZ_CHECK(got == 0, "store_next: %d: %s", got, err.message);
  FUZZ_CHECK(i == ref->n, "%zu rows, want %zu", i, ref->n);
  store_framing fr;
  int issue = store_framing_issue(s, &fr);
  if (rewritten) {
    FUZZ_CHECK(!issue, "the rewritten file has a framing issue: %s", fr.what);
  } else {
    FUZZ_CHECK(issue == ref->issue, "framing issue %d, want %d", issue,
               ref->issue);
    if (issue)
      FUZZ_CHECK(fr.index == ref->n && fr.offset == ref->issue_offset &&
                     fr.have == ref->have && fr.need == ref->need &&
                     fr.what[0] != '\0',
                 "issue at %llu@%llu have %llu need %llu (%s), want "
                 "%zu@%llu have %llu need %llu",
                 (unsigned long long)fr.index, (unsigned long long)fr.offset,
                 (unsigned long long)fr.have, (unsigned long long)fr.need,
                 fr.what, ref->n, (unsigned long long)ref->issue_offset,
                 (unsigned long long)ref->have, (unsigned long long)ref->need);
  }
  /* Past the end: nothing more. */
  FUZZ_CHECK(store_next(s, &row, &err) == 0, "a row after the end");
  store_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *dir = work_dir();
  char in[300], out[300];
  snprintf(in, sizeof in, "%s/in.dump", dir);
  snprintf(out, sizeof out, "%s/out.dump", dir);
  write_file(in, data, size);
  ref_reading ref;
  ref_read(&ref, data, size);
  check_rows(in, &ref, data, 0);

  /* Written again: the same records, whole. */
  store_stream_writer *w = NULL;
  store_error err = {STORE_OK, ""};
  FUZZ_CHECK(store_stream_writer_open(&w, out, in, &err) == STORE_OK, "%s",
             err.message);
  for (size_t i = 0; i < ref.n; i++) {
    const ref_record *rec = &ref.recs[i];
    FUZZ_CHECK(store_stream_writer_put(w, data + rec->offset + rec->prefix,
                                       (size_t)rec->len, &err) == STORE_OK,
               "%s", err.message);
  }
  FUZZ_CHECK(store_stream_writer_commit(w, &err) == STORE_OK, "%s",
             err.message);
  check_rows(out, &ref, data, 1);
  /* Only the two files are left in the directory: no temporary one. */
  DIR *d = opendir(dir);
  FUZZ_CHECK(d != NULL, "opendir %s", dir);
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    FUZZ_CHECK(strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
                   strcmp(e->d_name, "in.dump") == 0 ||
                   strcmp(e->d_name, "out.dump") == 0,
               "left behind: %s", e->d_name);
  closedir(d);
  /* Never over the original. */
  FUZZ_CHECK(store_stream_writer_open(&w, in, in, &err) == STORE_EUSAGE,
             "a writer over the original");
  free(ref.recs);
  return 0;
}
