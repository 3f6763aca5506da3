/* Helpers shared by the unit tests. */
#ifndef RS_TESTUTIL_H
#define RS_TESTUTIL_H

#include <check.h>
#include <rollsafe/rollsafe.h>

/* Runs one suite; returns the process exit status (0 when all passed). */
int rs_test_run(Suite *suite);

/* The example-domain registry, built once per process. */
const rs_registry *rs_test_registry(void);

/* Reads a whole file; aborts the test on failure. Caller frees *out. */
void rs_test_read_file(const char *path, uint8_t **out, size_t *len);

/* Path of a fixture under tests/fixtures (static buffer). */
const char *rs_test_fixture(const char *relative);

/*
 * An allocator that fails the Nth allocation (1-based; 0 = never) and counts
 * live allocations, for the chaos tests.
 */
typedef struct rs_chaos {
  ProtobufCAllocator allocator;
  size_t fail_at;
  size_t calls;
  size_t live;
  int failed;
} rs_chaos;
void rs_chaos_init(rs_chaos *chaos, size_t fail_at);

#endif
