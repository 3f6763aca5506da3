/*
 * Chaos allocator: every public operation that allocates is run once with
 * an allocator that never fails, to count its allocations N, then N times
 * more with the n-th allocation failing (n = 1..N), and once more with no
 * failure. Every failing run must:
 *   - return RS_ENOMEM, and fill err with RS_ENOMEM: never success, and for
 *     rs_classify() never a verdict computed from partial data (its header
 *     promises 0 with a classification, or RS_ENOMEM);
 *   - leave nothing allocated once the caller has freed what the API says
 *     it owns (rs_chaos.live == 0), and leave the out-parameters as the
 *     header promises (NULL, or untouched for rs_transcode's buffer);
 *   - not crash (the ASan build also checks use-after-free and leaks).
 * The run without failure must then succeed as the first one did, with the
 * same number of allocations. protobuf-c's own unpack allocates through the
 * same allocator, so its failures are covered too.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include <rollsafe/shop/v1/order.pb-c.h>
#include <rollsafe/shop/v2/order.pb-c.h>

/* ---- inputs, made once with malloc ----------------------------------------
 */

static rs_buf v2_hazards; /* every v2 hazard and a guest: v1 cannot take it */
static rs_buf v2_lossy;   /* converts to v1, with alterations and unknowns */
static rs_buf v1_record;  /* v2_lossy down-converted: raw, unknown fields */
static Shop__V2__Order *msg_v2_hazards, *msg_v2_lossy;
static Shop__V1__Order *msg_v1;

static const rs_provenance *provenance(void) {
  static rs_provenance p = RS_PROVENANCE_INIT;
  p.flag_key = RS_SHOP_FLAG;
  p.variant = "on";
  p.writer_id = "orders-api 4.2.0 pod-7";
  p.write_time_us = INT64_C(1767225600000000);
  return &p;
}

/* A v2 order using every change of version 2; a guest when customer is NULL. */
static void build_v2(rs_buf *out, const char *customer, const char *currency) {
  Shop__V2__Order o = SHOP__V2__ORDER__INIT;
  Shop__V2__LineItem it1 = SHOP__V2__LINE_ITEM__INIT,
                     it2 = SHOP__V2__LINE_ITEM__INIT;
  Shop__V2__LineItem *items[] = {&it1, &it2};
  Shop__V2__Money m = SHOP__V2__MONEY__INIT;
  Shop__V2__Timestamp ts = SHOP__V2__TIMESTAMP__INIT;
  char *promos[] = {"SPRING24", "WELCOME", "🎁"};
  o.order_id = "ord-000042";
  o.customer_id = (char *)customer;
  o.has_total_cents = 1;
  o.total_cents = 12999;
  o.has_status = 1;
  o.status = SHOP__V2__ORDER__STATUS__AWAITING_AUTH;
  it1.sku = "SKU-1";
  it1.has_quantity = 1;
  it1.quantity = 2;
  it1.has_unit_price_cents = 1;
  it1.unit_price_cents = 4999;
  it2.sku = "Zoë-ü";
  o.n_items = 2;
  o.items = items;
  o.has_created_at = 1;
  o.created_at = 1767225600;
  o.fulfilment_case = SHOP__V2__ORDER__FULFILMENT_PICKUP_STORE_ID;
  o.pickup_store_id = "store-berlin-3";
  m.has_units = 1;
  m.units = 7;
  m.has_nanos = 1;
  m.nanos = 496000000;
  m.currency_code = (char *)currency;
  o.discount = &m;
  ts.has_seconds = 1;
  ts.seconds = 1767830400;
  ts.has_nanos = 1;
  ts.nanos = 500000000;
  o.deliver_by = &ts;
  o.n_promo_codes = 3;
  o.promo_codes = promos;
  o.gift_message = "Happy birthday! 🎂";
  rs_error err = RS_ERROR_INIT;
  int rc = rs_encode(out, rs_test_registry(), RS_SHOP_ORDER, 2, &o.base,
                     provenance(), NULL, &err);
  ck_assert_msg(rc == 0, "rs_encode: %s", err.message);
}

/* The payload of an envelope, for protobuf-c to unpack directly. */
static const uint8_t *payload(const rs_buf *b, size_t *len) {
  rs_record *rec = NULL;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_decode(&rec, rs_test_registry(), RS_SHOP_ORDER, b->data, b->len,
                     NULL, &err);
  ck_assert_msg(rc == 0, "rs_decode: %s", err.message);
  size_t off = rs_record_payload_offset(rec);
  rs_record_free(rec);
  *len = b->len - off;
  return b->data + off;
}

static void setup(void) {
  rs_error err = RS_ERROR_INIT;
  build_v2(&v2_hazards, NULL, "EUR");
  build_v2(&v2_lossy, "cust-7", "USD");
  int rc = rs_transcode(&v1_record, NULL, rs_test_registry(), RS_SHOP_ORDER, 1,
                        v2_lossy.data, v2_lossy.len, NULL, NULL, &err);
  ck_assert_msg(rc == 0, "rs_transcode: %s", err.message);
  size_t n;
  const uint8_t *p = payload(&v2_hazards, &n);
  msg_v2_hazards = shop__v2__order__unpack(NULL, n, p);
  p = payload(&v2_lossy, &n);
  msg_v2_lossy = shop__v2__order__unpack(NULL, n, p);
  msg_v1 = shop__v1__order__unpack(NULL, v1_record.len, v1_record.data);
  ck_assert(msg_v2_hazards != NULL && msg_v2_lossy != NULL && msg_v1 != NULL);
}

static void teardown(void) {
  shop__v2__order__free_unpacked(msg_v2_hazards, NULL);
  shop__v2__order__free_unpacked(msg_v2_lossy, NULL);
  shop__v1__order__free_unpacked(msg_v1, NULL);
  rs_buf_dispose(&v2_hazards, NULL);
  rs_buf_dispose(&v2_lossy, NULL);
  rs_buf_dispose(&v1_record, NULL);
}

/* ---- the operations
 * ----------------------------------------------------------- */

/*
 * Each operation runs one public call (or the sequence that makes one
 * object) with allocator a, checks what it returned, frees everything the
 * caller owns, and returns the call's code. A broken promise about the
 * out-parameters is recorded with broken().
 */
typedef int (*op_fn)(const ProtobufCAllocator *a, rs_error *err);

static char broken_msg[256];

static void broken(const char *what) {
  if (broken_msg[0] == '\0')
    snprintf(broken_msg, sizeof broken_msg, "%s", what);
}

static rs_options opts_with(const ProtobufCAllocator *a) {
  rs_options o = RS_OPTIONS_INIT;
  o.allocator = a;
  return o;
}

static int op_registry(const ProtobufCAllocator *a, rs_error *err) {
  rs_registry_builder *b = (rs_registry_builder *)1;
  int rc = rs_registry_builder_new(&b, a, err);
  if (rc != 0) {
    if (b != NULL) broken("rs_registry_builder_new: *out not NULL on error");
    return rc;
  }
  rc = rs_shop_register(b, err);
  if (rc != 0) {
    rs_registry_builder_free(b);
    return rc;
  }
  rs_registry *r = (rs_registry *)1;
  rc = rs_registry_build(&r, b, err); /* consumes b either way */
  if (rc != 0) {
    if (r != NULL) broken("rs_registry_build: *out not NULL on error");
    return rc;
  }
  if (rs_registry_newest(r, RS_SHOP_ORDER) != 2)
    broken("the built registry lacks shop.Order version 2");
  rs_registry_free(r);
  return 0;
}

static int op_arena_new(const ProtobufCAllocator *a, rs_error *err) {
  rs_arena *arena = (rs_arena *)1;
  int rc = rs_arena_new(&arena, 0, a, err);
  if (rc != 0) {
    if (arena != NULL) broken("rs_arena_new: *out not NULL on error");
    return rc;
  }
  rs_arena_free(arena);
  return 0;
}

/* rs_read_as 2 -> 1 in an arena whose chunks come from a: small chunks. */
static int op_arena_decode(const ProtobufCAllocator *a, rs_error *err) {
  rs_arena *arena = NULL;
  int rc = rs_arena_new(&arena, 256, a, err);
  if (rc != 0) return rc;
  rs_options o = opts_with(rs_arena_allocator(arena));
  rs_record *rec = (rs_record *)1;
  rc = rs_read_as(&rec, rs_test_registry(), RS_SHOP_ORDER, 1, v2_lossy.data,
                  v2_lossy.len, &o, err);
  if (rc != 0 && rec != NULL) broken("rs_read_as: *out not NULL on error");
  if (rc == 0) rs_record_free(rec);
  rs_arena_reset(arena);
  rs_arena_free(arena);
  return rc;
}

static int decode(const ProtobufCAllocator *a, rs_error *err, const rs_buf *in,
                  unsigned as, unsigned want_written) {
  rs_options o = opts_with(a);
  rs_record *rec = (rs_record *)1;
  int rc = as == 0 ? rs_decode(&rec, rs_test_registry(), RS_SHOP_ORDER,
                               in->data, in->len, &o, err)
                   : rs_read_as(&rec, rs_test_registry(), RS_SHOP_ORDER, as,
                                in->data, in->len, &o, err);
  if (rc != 0) {
    if (rec != NULL) broken("*out not NULL on error");
    return rc;
  }
  if (rs_record_written_version(rec) != want_written ||
      rs_record_message(rec) == NULL)
    broken("decoded record is not what was written");
  if (as != 0 && (rs_record_version(rec) != as ||
                  (as != want_written) != (rs_record_conversion(rec) != NULL)))
    broken("read-as gave the wrong version or conversion");
  rs_record_free(rec);
  return 0;
}

static int op_decode_v2(const ProtobufCAllocator *a, rs_error *err) {
  return decode(a, err, &v2_hazards, 0, 2);
}
static int op_decode_v1(const ProtobufCAllocator *a, rs_error *err) {
  return decode(a, err, &v1_record, 0, 1);
}
static int op_read_as_2_to_1(const ProtobufCAllocator *a, rs_error *err) {
  return decode(a, err, &v2_lossy, 1, 2);
}
static int op_read_as_1_to_2(const ProtobufCAllocator *a, rs_error *err) {
  return decode(a, err, &v1_record, 2, 1);
}
/* Bytes no version decodes: every version is tried, then RS_EDECODE. */
static int op_decode_corrupt(const ProtobufCAllocator *a, rs_error *err) {
  rs_buf cut = v1_record;
  cut.len = v1_record.len - 3;
  return decode(a, err, &cut, 0, 1);
}
/* An envelope whose payload is cut short. */
static int op_decode_corrupt_envelope(const ProtobufCAllocator *a,
                                      rs_error *err) {
  rs_buf cut = v2_lossy;
  cut.len = v2_lossy.len - 3;
  return decode(a, err, &cut, 0, 2);
}
static int op_read_as_impossible(const ProtobufCAllocator *a, rs_error *err) {
  return decode(a, err, &v2_hazards, 1, 2);
}

static int classify(const ProtobufCAllocator *a, rs_error *err,
                    const rs_buf *in, unsigned version, rs_reader_framing f,
                    rs_verdict want) {
  rs_options o = opts_with(a);
  rs_reader reader = {RS_READER_VERSION,     version, f, 0u,
                      RS_RUNTIME_PROTOBUF_C, 0u,      0u};
  rs_classification *c = (rs_classification *)1;
  int rc = rs_classify(&c, rs_test_registry(), RS_SHOP_ORDER, &reader, in->data,
                       in->len, &o, err);
  if (rc != 0) {
    if (c != NULL) broken("rs_classify: *out not NULL on error");
    return rc;
  }
  if (rs_classification_verdict(c) != want) {
    static char msg[160];
    snprintf(msg, sizeof msg, "rs_classify says %s, want %s",
             rs_verdict_name(rs_classification_verdict(c)),
             rs_verdict_name(want));
    broken(msg);
  }
  rs_classification_free(c);
  return 0;
}

static int op_classify_v2_raw(const ProtobufCAllocator *a, rs_error *err) {
  return classify(a, err, &v2_hazards, 1, RS_READER_FRAMING_RAW,
                  RS_VERDICT_UNREADABLE);
}
static int op_classify_v2_envelope(const ProtobufCAllocator *a, rs_error *err) {
  return classify(a, err, &v2_hazards, 1, RS_READER_FRAMING_ENVELOPE,
                  RS_VERDICT_UNREADABLE);
}
static int op_classify_v1_raw(const ProtobufCAllocator *a, rs_error *err) {
  return classify(a, err, &v1_record, 1, RS_READER_FRAMING_RAW,
                  RS_VERDICT_IGNORED_FIELDS);
}
/* A version-2 rollsafe reader up-converts a v1 record: the convert path. */
static int op_classify_v1_for_v2(const ProtobufCAllocator *a, rs_error *err) {
  return classify(a, err, &v1_record, 2, RS_READER_FRAMING_ENVELOPE,
                  RS_VERDICT_OK);
}
/* A record no version decodes: every version is tried. */
static int op_classify_corrupt(const ProtobufCAllocator *a, rs_error *err) {
  rs_buf cut = v1_record;
  cut.len = v1_record.len - 3;
  return classify(a, err, &cut, 1, RS_READER_FRAMING_RAW, RS_VERDICT_CORRUPT);
}

static int op_classify_corrupt_envelope(const ProtobufCAllocator *a,
                                        rs_error *err) {
  rs_buf cut = v2_lossy;
  cut.len = v2_lossy.len - 3;
  return classify(a, err, &cut, 1, RS_READER_FRAMING_ENVELOPE,
                  RS_VERDICT_CORRUPT);
}

static int convert(const ProtobufCAllocator *a, rs_error *err,
                   const ProtobufCMessage *msg, unsigned from, unsigned to,
                   rs_conversion_result want) {
  rs_options o = opts_with(a);
  ProtobufCMessage *out = (ProtobufCMessage *)1;
  rs_conversion *report = (rs_conversion *)1;
  int rc = rs_convert(&out, &report, rs_test_registry(), RS_SHOP_ORDER, from,
                      to, msg, &o, err);
  if (rc != 0 && out != NULL) broken("rs_convert: *out not NULL on error");
  if (rc != 0 && rc != RS_ECONVERT && report != NULL)
    broken("rs_convert: report set on an error other than RS_ECONVERT");
  if ((rc == 0 || rc == RS_ECONVERT) &&
      (report == NULL || rs_conversion_result_of(report) != want))
    broken("rs_convert: report missing or with the wrong result");
  if (rc == 0) protobuf_c_message_free_unpacked(out, (ProtobufCAllocator *)a);
  if (rc == 0 || rc == RS_ECONVERT) rs_conversion_free(report);
  return rc;
}

static int op_convert_2_to_1(const ProtobufCAllocator *a, rs_error *err) {
  return convert(a, err, &msg_v2_lossy->base, 2, 1, RS_CONVERSION_LOSSY);
}
static int op_convert_1_to_2(const ProtobufCAllocator *a, rs_error *err) {
  return convert(a, err, &msg_v1->base, 1, 2, RS_CONVERSION_LOSSLESS);
}
static int op_convert_impossible(const ProtobufCAllocator *a, rs_error *err) {
  return convert(a, err, &msg_v2_hazards->base, 2, 1, RS_CONVERSION_IMPOSSIBLE);
}

static int encode(const ProtobufCAllocator *a, rs_error *err,
                  const ProtobufCMessage *msg, unsigned version) {
  rs_options o = opts_with(a);
  rs_buf out = RS_BUF_INIT;
  int rc = rs_encode(&out, rs_test_registry(), RS_SHOP_ORDER, version, msg,
                     provenance(), &o, err);
  if (rc == 0 && (out.data == NULL || out.len == 0))
    broken("rs_encode: no bytes");
  rs_buf_dispose(&out, a);
  return rc;
}

static int op_encode_v2(const ProtobufCAllocator *a, rs_error *err) {
  return encode(a, err, &msg_v2_lossy->base, 2);
}
static int op_encode_v1(const ProtobufCAllocator *a, rs_error *err) {
  return encode(a, err, &msg_v1->base, 1);
}

/*
 * rs_transcode into a buffer that already holds bytes (from an earlier
 * record, grown by the same allocator): on error it must be untouched.
 */
static int transcode(const ProtobufCAllocator *a, rs_error *err,
                     const rs_buf *in, unsigned to, int has_report) {
  rs_options o = opts_with(a);
  rs_buf out = RS_BUF_INIT;
  /* The test's own allocation: made through a, never failed, not counted. */
  rs_chaos *chaos = a->allocator_data;
  size_t fail_at = chaos->fail_at;
  chaos->fail_at = 0;
  uint8_t *old = a->alloc(a->allocator_data, 4);
  chaos->fail_at = fail_at;
  chaos->calls--;
  ck_assert_ptr_nonnull(old);
  memcpy(old, "old!", 4);
  out.data = old;
  out.len = out.cap = 4;
  rs_conversion *report = (rs_conversion *)1;
  int rc = rs_transcode(&out, &report, rs_test_registry(), RS_SHOP_ORDER, to,
                        in->data, in->len, NULL, &o, err);
  if (rc != 0 && rc != RS_ECONVERT && report != NULL)
    broken("rs_transcode: report set on an error other than RS_ECONVERT");
  if ((rc == 0 || rc == RS_ECONVERT) && (report != NULL) != has_report)
    broken("rs_transcode: report missing");
  if (rc != 0 && (out.data != old || out.len != 4 || out.cap != 4 ||
                  memcmp(old, "old!", 4) != 0))
    broken("rs_transcode: output buffer touched on error");
  if (rc == 0 &&
      (out.len < 2 || (out.data[0] == RS_ENVELOPE_MARKER) != (to == 2)))
    broken("rs_transcode: output is not framed as the target version");
  if (report != (rs_conversion *)1) rs_conversion_free(report);
  rs_buf_dispose(&out, a);
  return rc;
}

static int op_transcode_2_to_1(const ProtobufCAllocator *a, rs_error *err) {
  return transcode(a, err, &v2_lossy, 1, 1);
}
static int op_transcode_1_to_2(const ProtobufCAllocator *a, rs_error *err) {
  return transcode(a, err, &v1_record, 2, 1);
}
static int op_transcode_1_to_1(const ProtobufCAllocator *a, rs_error *err) {
  return transcode(a, err, &v1_record, 1, 0);
}
static int op_transcode_corrupt(const ProtobufCAllocator *a, rs_error *err) {
  rs_buf cut = v1_record;
  cut.len = v1_record.len - 3;
  return transcode(a, err, &cut, 1, 0);
}
static int op_transcode_impossible(const ProtobufCAllocator *a, rs_error *err) {
  return transcode(a, err, &v2_hazards, 1, 1);
}

typedef struct op {
  const char *name;
  op_fn fn;
  int expect; /* what the call returns when no allocation fails */
} op;

static const op OPS[] = {
    {"rs_registry_builder_new + rs_shop_register + rs_registry_build",
     op_registry, 0},
    {"rs_arena_new", op_arena_new, 0},
    {"rs_read_as 2->1 in an arena on the chaos allocator", op_arena_decode, 0},
    {"rs_decode v2 envelope", op_decode_v2, 0},
    {"rs_decode v1 raw", op_decode_v1, 0},
    {"rs_decode truncated v1 (corrupt)", op_decode_corrupt, RS_EDECODE},
    {"rs_decode truncated v2 envelope", op_decode_corrupt_envelope, RS_EDECODE},
    {"rs_read_as v2 -> 1", op_read_as_2_to_1, 0},
    {"rs_read_as v1 -> 2", op_read_as_1_to_2, 0},
    {"rs_read_as v2 -> 1 impossible", op_read_as_impossible, RS_ECONVERT},
    {"rs_classify v2 hazards, reader 1 raw", op_classify_v2_raw, 0},
    {"rs_classify v2 hazards, reader 1 envelope", op_classify_v2_envelope, 0},
    {"rs_classify v1, reader 1 raw", op_classify_v1_raw, 0},
    {"rs_classify v1, reader 2 envelope (up-converts)", op_classify_v1_for_v2,
     0},
    {"rs_classify truncated v1 (corrupt)", op_classify_corrupt, 0},
    {"rs_classify truncated v2 envelope (corrupt)",
     op_classify_corrupt_envelope, 0},
    {"rs_convert 2 -> 1", op_convert_2_to_1, 0},
    {"rs_convert 1 -> 2", op_convert_1_to_2, 0},
    {"rs_convert 2 -> 1 impossible", op_convert_impossible, RS_ECONVERT},
    {"rs_encode v2", op_encode_v2, 0},
    {"rs_encode v1", op_encode_v1, 0},
    {"rs_transcode 2 -> 1", op_transcode_2_to_1, 0},
    {"rs_transcode 1 -> 2", op_transcode_1_to_2, 0},
    {"rs_transcode 1 -> 1", op_transcode_1_to_1, 0},
    {"rs_transcode 2 -> 1 impossible", op_transcode_impossible, RS_ECONVERT},
    {"rs_transcode truncated v1", op_transcode_corrupt, RS_EDECODE},
};
#define N_OPS ((int)(sizeof OPS / sizeof OPS[0]))

/* ---- the driver
 * ----------------------------------------------------------------- */

typedef struct outcome {
  int rc;
  rs_error err;
  rs_chaos chaos;
} outcome;

static void run_once(const op *o, size_t fail_at, outcome *out) {
  broken_msg[0] = '\0';
  rs_chaos_init(&out->chaos, fail_at);
  rs_error_clear(&out->err);
  out->rc = o->fn(&out->chaos.allocator, &out->err);
}

START_TEST(every_allocation_failure_is_enomem_and_leaks_nothing) {
  const op *o = &OPS[_i];
  outcome base;
  run_once(o, 0, &base);
  ck_assert_msg(base.rc == o->expect, "%s without failures: %s (%s), want %s",
                o->name, rs_error_name(base.rc), base.err.message,
                rs_error_name(o->expect));
  ck_assert_msg(broken_msg[0] == '\0', "%s without failures: %s", o->name,
                broken_msg);
  ck_assert_msg(base.chaos.live == 0,
                "%s without failures: %zu allocations "
                "left after freeing what the caller owns",
                o->name, base.chaos.live);
  size_t n = base.chaos.calls;
  ck_assert_msg(n > 0, "%s made no allocation through the given allocator",
                o->name);

  for (size_t k = 1; k <= n; k++) {
    outcome f;
    run_once(o, k, &f);
    ck_assert_msg(f.chaos.failed,
                  "%s: allocation %zu of %zu never happened "
                  "(allocations are not deterministic)",
                  o->name, k, n);
    ck_assert_msg(f.rc == RS_ENOMEM,
                  "%s: allocation %zu of %zu failed, but the call returned %s "
                  "(%s), not RS_ENOMEM",
                  o->name, k, n, rs_error_name(f.rc),
                  f.rc ? f.err.message : "a result");
    ck_assert_msg(f.err.code == RS_ENOMEM,
                  "%s: allocation %zu of %zu: "
                  "err.code is %s",
                  o->name, k, n, rs_error_name(f.err.code));
    ck_assert_msg(broken_msg[0] == '\0', "%s: allocation %zu of %zu: %s",
                  o->name, k, n, broken_msg);
    ck_assert_msg(f.chaos.live == 0,
                  "%s: allocation %zu of %zu failed: %zu "
                  "allocations leaked",
                  o->name, k, n, f.chaos.live);
  }

  outcome again;
  run_once(o, 0, &again);
  ck_assert_msg(again.rc == o->expect && again.chaos.live == 0 &&
                    again.chaos.calls == n && broken_msg[0] == '\0',
                "%s: the run after the failures differs: %s, %zu live, %zu "
                "allocations (first run %zu)",
                o->name, rs_error_name(again.rc), again.chaos.live,
                again.chaos.calls, n);
  printf("chaos: %-60s %4zu allocations, each failed once: ok\n", o->name, n);
}
END_TEST

/* ---- leaks found by fuzzing (tests/fuzz/crashes/) ----------------------- */

/*
 * A raw v1 record with discount_cents (8) and also a field 10, which v1
 * does not define and keeps as an unknown field (found by fuzz_classify).
 * Up-converting it, the generic step copies field 10 into v2's discount
 * (Money), then the v1 -> v2 converter builds a Money from discount_cents
 * and overwrites dst->discount without freeing the first one: 56 bytes per
 * record leak from rs_read_as(2), rs_transcode(2), rs_convert(1 -> 2) and
 * rs_classify() for a version-2 reader.
 * Bytes: order_id "o", customer_id "c", discount_cents 1, field 10 = {}.
 */
static const uint8_t V1_FIELD10_AND_DISCOUNT_CENTS[] = {
    0x0a, 0x01, 'o', 0x12, 0x01, 'c', 0x40, 0x01, 0x52, 0x00};

START_TEST(v1_field_10_with_discount_cents_read_as_v2_leaks_nothing) {
  const uint8_t *b = V1_FIELD10_AND_DISCOUNT_CENTS;
  size_t n = sizeof V1_FIELD10_AND_DISCOUNT_CENTS;
  rs_chaos chaos;
  rs_chaos_init(&chaos, 0);
  rs_options o = opts_with(&chaos.allocator);
  rs_error err = RS_ERROR_INIT;

  rs_record *rec = NULL;
  int rc =
      rs_read_as(&rec, rs_test_registry(), RS_SHOP_ORDER, 2, b, n, &o, &err);
  ck_assert_msg(rc == 0, "rs_read_as: %s", err.message);
  rs_record_free(rec);
  size_t after_read_as = chaos.live;

  rs_reader v2 = {RS_READER_VERSION,
                  2,
                  RS_READER_FRAMING_ENVELOPE,
                  0u,
                  RS_RUNTIME_PROTOBUF_C,
                  0u,
                  0u};
  rs_classification *c = NULL;
  rc = rs_classify(&c, rs_test_registry(), RS_SHOP_ORDER, &v2, b, n, &o, &err);
  ck_assert_msg(rc == 0, "rs_classify: %s", err.message);
  rs_classification_free(c);
  size_t after_classify = chaos.live - after_read_as;

  ck_assert_msg(after_read_as == 0 && after_classify == 0,
                "allocations left: %zu after rs_read_as(2) + rs_record_free, "
                "%zu after rs_classify(reader 2) + rs_classification_free",
                after_read_as, after_classify);
}
END_TEST

int main(void) {
  Suite *s = suite_create("chaos");
  TCase *tc = tcase_create("allocation failures");
  tcase_set_timeout(tc, 0); /* no wall-clock limit (in fork mode) */
  tcase_add_unchecked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, every_allocation_failure_is_enomem_and_leaks_nothing,
                      0, N_OPS);
  suite_add_tcase(s, tc);
  TCase *reg = tcase_create("regressions");
  tcase_add_test(reg, v1_field_10_with_discount_cents_read_as_v2_leaks_nothing);
  suite_add_tcase(s, reg);
  return rs_test_run(s);
}
