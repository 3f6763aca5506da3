/*
 * Fuzz target: rs_diff_schema_load() and rs_diff_compare() on descriptor
 * sets as an operator (or an attacker with write access to a schema
 * directory) could hand them to `rollsafe diff`.
 *
 * The input is two sets: a 2-byte little-endian length, that many bytes
 * (the older set), then the rest (the newer set). Invariants, beyond "no
 * crash, no hang, no leak, no undefined behaviour":
 *  - a load failure is one of the documented codes with its message;
 *  - both comparisons (old to new, and each set against itself) succeed,
 *    every finding has a rule, a severity, a verdict, a path, a message and
 *    a file, and its severity is error exactly when its verdict is misread
 *    or unreadable;
 *  - a set compared with itself has no error finding.
 */
#define _POSIX_C_SOURCE 200809L

#include <rollsafe/diff.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"

static char work[256];

static void remove_work(void) {
  char path[300];
  snprintf(path, sizeof path, "%s/old.desc", work);
  unlink(path);
  snprintf(path, sizeof path, "%s/new.desc", work);
  unlink(path);
  rmdir(work);
}

static const char *work_dir(void) {
  if (work[0] == '\0') {
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(work, sizeof work, "%s/rs-fuzz-diff-XXXXXX", base);
    FUZZ_CHECK(mkdtemp(work) != NULL, "mkdtemp %s", work);
    atexit(remove_work);
  }
  return work;
}

static rs_diff_schema *load(const char *path, const uint8_t *data,
                            size_t size) {
  FILE *f = fopen(path, "wb");
  FUZZ_CHECK(f != NULL, "cannot write %s", path);
  FUZZ_CHECK(size == 0 || fwrite(data, 1, size, f) == size, "write %s", path);
  FUZZ_CHECK(fclose(f) == 0, "close %s", path);
  rs_diff_schema *s = NULL;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_diff_schema_load(&s, path, NULL, &err);
  if (rc != 0) {
    FUZZ_CHECK(
        rc == RS_EDECODE || rc == RS_ELIMIT || rc == RS_EIO || rc == RS_EINVAL,
        "rc %d: %s", rc, err.message);
    FUZZ_CHECK(s == NULL && err.code == rc && err.message[0] != '\0', "rc %d",
               rc);
    return NULL;
  }
  FUZZ_CHECK(s != NULL, "no schema");
  return s;
}

static void compare(rs_diff_schema *a, rs_diff_schema *b, int same) {
  rs_diff_schema *v[2] = {a, b};
  rs_diff_report *r = NULL;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_diff_compare(&r, (const rs_diff_schema *const *)v, 2, NULL, &err);
  FUZZ_CHECK(rc == 0 || rc == RS_ENOTFOUND || rc == RS_ELIMIT, "rc %d: %s", rc,
             err.message);
  if (rc != 0) return;
  for (size_t i = 0; i < rs_diff_report_count(r); i++) {
    const rs_diff_finding *f = rs_diff_report_get(r, i);
    FUZZ_CHECK(f != NULL, "finding %zu", i);
    FUZZ_CHECK(rs_diff_rule_id(rs_diff_finding_rule(f)) != NULL &&
                   rs_diff_finding_path(f) != NULL &&
                   rs_diff_finding_message(f) != NULL &&
                   rs_diff_finding_message(f)[0] != '\0' &&
                   rs_diff_finding_file(f) != NULL,
               "finding %zu incomplete", i);
    rs_diff_verdict verdict = rs_diff_finding_verdict(f);
    FUZZ_CHECK(verdict >= RS_DIFF_VERDICT_NONE &&
                   verdict <= RS_DIFF_VERDICT_UNREADABLE,
               "verdict %d", (int)verdict);
    FUZZ_CHECK((rs_diff_finding_severity(f) == RS_DIFF_ERROR) ==
                   (verdict == RS_DIFF_VERDICT_MISREAD ||
                    verdict == RS_DIFF_VERDICT_UNREADABLE),
               "severity %d with verdict %s: %s",
               (int)rs_diff_finding_severity(f), rs_diff_verdict_name(verdict),
               rs_diff_finding_message(f));
    FUZZ_CHECK(!same || rs_diff_finding_severity(f) != RS_DIFF_ERROR,
               "a set against itself: %s", rs_diff_finding_message(f));
  }
  rs_diff_report_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t n = (size_t)data[0] | (size_t)data[1] << 8;
  if (n > size - 2) n = size - 2;
  const char *dir = work_dir();
  char old_path[300], new_path[300];
  snprintf(old_path, sizeof old_path, "%s/old.desc", dir);
  snprintf(new_path, sizeof new_path, "%s/new.desc", dir);
  rs_diff_schema *a = load(old_path, data + 2, n);
  rs_diff_schema *b = load(new_path, data + 2 + n, size - 2 - n);
  if (a != NULL) compare(a, a, 1);
  if (b != NULL) compare(b, b, 1);
  if (a != NULL && b != NULL) {
    compare(a, b, 0);
    compare(b, a, 0);
  }
  rs_diff_schema_free(a);
  rs_diff_schema_free(b);
  return 0;
}
