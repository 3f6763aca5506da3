#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int rs_test_run(Suite *suite) {
  SRunner *runner = srunner_create(suite);
  srunner_run_all(runner, CK_NORMAL);
  int failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static rs_registry *test_registry;

static void free_test_registry(void) {
  rs_registry_free(test_registry);
}

const rs_registry *rs_test_registry(void) {
  if (test_registry == NULL) {
    rs_error err = RS_ERROR_INIT;
    if (rs_shop_registry(&test_registry, &err) != 0) {
      fprintf(stderr, "rs_shop_registry: %s\n", err.message);
      abort();
    }
    atexit(free_test_registry);
  }
  return test_registry;
}

void rs_test_read_file(const char *path, uint8_t **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  ck_assert_ptr_nonnull(buf);
  for (;;) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (n < cap) break;
    cap *= 2;
    buf = realloc(buf, cap);
    ck_assert_ptr_nonnull(buf);
  }
  ck_assert_msg(!ferror(f), "cannot read %s", path);
  fclose(f);
  *out = buf;
  *len = n;
}

const char *rs_test_fixture(const char *relative) {
  static char path[4096];
  const char *root = getenv("RS_FIXTURES");
  ck_assert_msg(root != NULL, "RS_FIXTURES is not set (run through ctest)");
  snprintf(path, sizeof path, "%s/%s", root, relative);
  return path;
}

static void *chaos_alloc(void *data, size_t size) {
  rs_chaos *chaos = data;
  chaos->calls++;
  if (chaos->fail_at != 0 && chaos->calls == chaos->fail_at) {
    chaos->failed = 1;
    return NULL;
  }
  void *p = malloc(size == 0 ? 1 : size);
  if (p != NULL) chaos->live++;
  return p;
}

static void chaos_free(void *data, void *ptr) {
  rs_chaos *chaos = data;
  if (ptr != NULL) {
    chaos->live--;
    free(ptr);
  }
}

void rs_chaos_init(rs_chaos *chaos, size_t fail_at) {
  memset(chaos, 0, sizeof *chaos);
  chaos->allocator.alloc = chaos_alloc;
  chaos->allocator.free = chaos_free;
  chaos->allocator.allocator_data = chaos;
  chaos->fail_at = fail_at;
}

static Shop__V2__Money money_storage[4];
static size_t money_next;
static Shop__V2__Timestamp ts_storage[4];
static size_t ts_next;

Shop__V2__Order *rs_test_v2_clean(void) {
  static Shop__V2__Order o;
  static Shop__V2__LineItem item;
  static Shop__V2__LineItem *items[1];
  static Shop__V2__Address addr;
  Shop__V2__Order init = SHOP__V2__ORDER__INIT;
  Shop__V2__LineItem item_init = SHOP__V2__LINE_ITEM__INIT;
  Shop__V2__Address addr_init = SHOP__V2__ADDRESS__INIT;
  o = init;
  item = item_init;
  addr = addr_init;
  item.sku = "SKU-1";
  item.has_quantity = 1;
  item.quantity = 2;
  item.has_unit_price_cents = 1;
  item.unit_price_cents = 1250;
  items[0] = &item;
  addr.line1 = "1 Main St";
  addr.city = "Springfield";
  addr.country = "US";
  o.order_id = "A-1001";
  o.customer_id = "C-42";
  o.has_total_cents = 1;
  o.total_cents = 2500;
  o.has_status = 1;
  o.status = SHOP__V2__ORDER__STATUS__PAID;
  o.n_items = 1;
  o.items = items;
  o.has_created_at = 1;
  o.created_at = 1764000000;
  o.fulfilment_case = SHOP__V2__ORDER__FULFILMENT_SHIP_TO;
  o.ship_to = &addr;
  money_next = ts_next = 0;
  return &o;
}

Shop__V2__Money *rs_test_money(int64_t units, int32_t nanos, const char *cur) {
  Shop__V2__Money init = SHOP__V2__MONEY__INIT;
  Shop__V2__Money *m = &money_storage[money_next++ % 4];
  *m = init;
  m->has_units = 1;
  m->units = units;
  m->has_nanos = nanos != 0;
  m->nanos = nanos;
  m->currency_code = (char *)cur;
  return m;
}

Shop__V2__Timestamp *rs_test_ts(int64_t seconds, int32_t nanos) {
  Shop__V2__Timestamp init = SHOP__V2__TIMESTAMP__INIT;
  Shop__V2__Timestamp *t = &ts_storage[ts_next++ % 4];
  *t = init;
  t->has_seconds = 1;
  t->seconds = seconds;
  t->has_nanos = nanos != 0;
  t->nanos = nanos;
  return t;
}

Shop__V1__Order *rs_test_v1_full(void) {
  static Shop__V1__Order o;
  static Shop__V1__LineItem item;
  static Shop__V1__LineItem *items[1];
  static Shop__V1__Address addr;
  Shop__V1__Order init = SHOP__V1__ORDER__INIT;
  Shop__V1__LineItem item_init = SHOP__V1__LINE_ITEM__INIT;
  Shop__V1__Address addr_init = SHOP__V1__ADDRESS__INIT;
  o = init;
  item = item_init;
  addr = addr_init;
  item.sku = "SKU-1";
  item.has_quantity = 1;
  item.quantity = 2;
  items[0] = &item;
  addr.city = "Springfield";
  o.order_id = "A-1";
  o.customer_id = "C-1";
  o.has_total_cents = 1;
  o.total_cents = 2500;
  o.has_status = 1;
  o.status = SHOP__V1__ORDER__STATUS__SHIPPED;
  o.n_items = 1;
  o.items = items;
  o.has_created_at = 1;
  o.created_at = 1764000000;
  o.ship_to = &addr;
  o.has_discount_cents = 1;
  o.discount_cents = 1234;
  o.has_deliver_by = 1;
  o.deliver_by = 1764500000;
  return &o;
}

void rs_test_encode_v2(rs_buf *buf, const Shop__V2__Order *o) {
  rs_provenance p = RS_PROVENANCE_INIT;
  p.flag_key = RS_SHOP_FLAG;
  p.variant = "on";
  p.writer_id = "unit-test";
  p.write_time_us = 1764150000000000;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_encode(buf, rs_test_registry(), RS_SHOP_ORDER, 2, &o->base, &p,
                     NULL, &err);
  ck_assert_msg(rc == 0, "rs_encode v2: %s", err.message);
}

void rs_test_encode_v1(rs_buf *buf, const Shop__V1__Order *o) {
  rs_error err = RS_ERROR_INIT;
  int rc = rs_encode(buf, rs_test_registry(), RS_SHOP_ORDER, 1, &o->base, NULL,
                     NULL, &err);
  ck_assert_msg(rc == 0, "rs_encode v1: %s", err.message);
}

rs_classification *rs_test_classify(const rs_buf *buf, rs_reader_framing f) {
  rs_reader r = RS_READER_INIT;
  r.format_version = 1;
  r.framing = f;
  rs_classification *c = NULL;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_classify(&c, rs_test_registry(), RS_SHOP_ORDER, &r, buf->data,
                       buf->len, NULL, &err);
  ck_assert_msg(rc == 0, "rs_classify: %s", err.message);
  return c;
}

const rs_reason *rs_test_reason(const rs_classification *c, const char *path) {
  for (size_t i = 0; i < rs_classification_reason_count(c); i++) {
    const rs_reason *r = rs_classification_reason(c, i);
    if (strcmp(rs_reason_path(r), path) == 0) return r;
  }
  return NULL;
}

const rs_loss *rs_test_loss(const rs_conversion *c, const char *path) {
  for (size_t i = 0; i < rs_conversion_loss_count(c); i++) {
    const rs_loss *l = rs_conversion_loss(c, i);
    if (strcmp(rs_loss_path(l), path) == 0) return l;
  }
  return NULL;
}

rs_schema *rs_test_schema_text(const char *dir, const char *file,
                               const char *text) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  ck_assert_int_eq(fclose(f), 0);
  rs_schema *s = NULL;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_schema_load(&s, path, NULL, &err);
  unlink(path);
  ck_assert_msg(rc == 0, "%s: %s", file, err.message);
  return s;
}
