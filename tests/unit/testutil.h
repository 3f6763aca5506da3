/* Helpers shared by the unit tests. */
#ifndef RS_TESTUTIL_H
#define RS_TESTUTIL_H

#include <check.h>
#include <rollsafe/rollsafe.h>
#include <rollsafe/shop.h>

/* Runs one suite; returns the process exit status (0 when all passed). */
int rs_test_run(Suite *suite);

/* The example-domain registry, built once per process. */
const rs_registry *rs_test_registry(void);

/* Reads a whole file; aborts the test on failure. Caller frees *out. */
void rs_test_read_file(const char *path, uint8_t **out, size_t *len);

/* Path of a fixture under tests/fixtures (static buffer). */
const char *rs_test_fixture(const char *relative);

/* A schema loaded from .proto @text, written to @dir/@file for the load and
 * removed after; aborts the test on failure. */
rs_schema *rs_test_schema_text(const char *dir, const char *file,
                               const char *text);

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

/* ---- example-domain builders ------------------------------------------- */

#include <rollsafe/shop/v1/order.pb-c.h>
#include <rollsafe/shop/v2/order.pb-c.h>

/* A v2 order with only fields v1 also reads, in static storage the test may
 * change; call again to reset. Money/Timestamp members point to statics. */
Shop__V2__Order *rs_test_v2_clean(void);
Shop__V2__Money *rs_test_money(int64_t units, int32_t nanos, const char *cur);
Shop__V2__Timestamp *rs_test_ts(int64_t seconds, int32_t nanos);
Shop__V1__Order *rs_test_v1_full(void);

/* Encodes (aborting the test on error) into buf, version 2 with provenance
 * checkout_v2/on, or version 1 raw. */
void rs_test_encode_v2(rs_buf *buf, const Shop__V2__Order *o);
void rs_test_encode_v1(rs_buf *buf, const Shop__V1__Order *o);

/* Classifies for reader version 1 with the given framing; aborts on error. */
rs_classification *rs_test_classify(const rs_buf *buf, rs_reader_framing f);

/* The reason with this path, or NULL. */
const rs_reason *rs_test_reason(const rs_classification *c, const char *path);
/* The loss with this path, or NULL. */
const rs_loss *rs_test_loss(const rs_conversion *c, const char *path);
