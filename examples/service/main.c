/*
 * A service that stores shop.Order records through the installed librollsafe.
 *
 * It plays both sides of the checkout_v2 flag: it writes one order as the old
 * code does (format version 1, raw protobuf) and one as the flagged feature
 * does (version 2, in an envelope naming the flag), then reads each back as
 * version 2 (the new code) and as version 1 (the code that runs again once
 * the flag is killed). Exits 1 on the first value that does not survive.
 */
#include <stdio.h>
#include <string.h>

#include <rollsafe/rollsafe.h>
#include <rollsafe/shop/v1/order.pb-c.h>
#include <rollsafe/shop/v2/order.pb-c.h>

/* The values both orders are written with. */
#define ORDER_ID "A-1001"
#define CUSTOMER_ID "C-42"
#define TOTAL_CENTS 4999
#define DISCOUNT_CENTS 250

static int expect(int ok, const char *what) {
  if (!ok) fprintf(stderr, "example-service: mismatch: %s\n", what);
  return ok;
}

static int same(const char *a, const char *b) {
  return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Reads @p bytes, written as version @p written, as version @p as. */
static int read_back(const rs_registry *reg, const rs_buf *bytes,
                     unsigned written, unsigned as) {
  rs_error err = RS_ERROR_INIT;
  rs_record *rec = NULL;
  if (rs_read_as(&rec, reg, RS_SHOP_ORDER, as, bytes->data, bytes->len, NULL,
                 &err) != 0) {
    fprintf(stderr, "example-service: reading v%u as v%u: %s\n", written, as,
            err.message);
    return 0;
  }

  int ok = expect(rs_record_version(rec) == as, "version read as") &&
           expect(rs_record_written_version(rec) == written, "written version");
  const rs_provenance *prov = rs_record_provenance(rec);
  if (written == 1) {
    ok = ok && expect(rs_record_encoding(rec) == RS_ENCODING_RAW, "raw") &&
         expect(prov == NULL, "no provenance in a raw record");
  } else {
    ok = ok &&
         expect(rs_record_encoding(rec) == RS_ENCODING_ENVELOPE, "envelope") &&
         expect(prov != NULL && same(prov->flag_key, RS_SHOP_FLAG) &&
                    same(prov->variant, "on") &&
                    same(prov->writer_id, "example-service") &&
                    prov->write_time_us > 0,
                "provenance");
  }

  if (ok && as == 1) {
    const Shop__V1__Order *o = (const Shop__V1__Order *)rs_record_message(rec);
    ok =
        expect(o->base.descriptor == &shop__v1__order__descriptor, "v1 type") &&
        expect(same(o->order_id, ORDER_ID), "order_id") &&
        expect(same(o->customer_id, CUSTOMER_ID), "customer_id") &&
        expect(o->total_cents == TOTAL_CENTS, "total_cents") &&
        expect(o->status == SHOP__V1__ORDER__STATUS__PAID, "status") &&
        expect(o->discount_cents == DISCOUNT_CENTS, "discount_cents");
  } else if (ok) {
    const Shop__V2__Order *o = (const Shop__V2__Order *)rs_record_message(rec);
    ok =
        expect(o->base.descriptor == &shop__v2__order__descriptor, "v2 type") &&
        expect(same(o->order_id, ORDER_ID), "order_id") &&
        expect(same(o->customer_id, CUSTOMER_ID), "customer_id") &&
        expect(o->total_cents == TOTAL_CENTS, "total_cents") &&
        expect(o->status == SHOP__V2__ORDER__STATUS__PAID, "status") &&
        expect(o->discount != NULL &&
                   o->discount->units * 100 + o->discount->nanos / 10000000 ==
                       DISCOUNT_CENTS,
               "discount");
  }

  const rs_conversion *conv = rs_record_conversion(rec);
  printf("read v%u %s record as v%u: %s (%s)\n", written,
         rs_encoding_name(rs_record_encoding(rec)), as, ok ? "ok" : "MISMATCH",
         conv ? rs_conversion_result_name(rs_conversion_result_of(conv))
              : "no conversion");
  rs_record_free(rec);
  return ok;
}

/* What the old code writes: version 1, raw protobuf, no provenance. */
static int write_v1(rs_buf *out, const rs_registry *reg, rs_error *err) {
  Shop__V1__Order order = SHOP__V1__ORDER__INIT;
  order.order_id = ORDER_ID;
  order.customer_id = CUSTOMER_ID;
  order.has_total_cents = 1;
  order.total_cents = TOTAL_CENTS;
  order.has_status = 1;
  order.status = SHOP__V1__ORDER__STATUS__PAID;
  order.has_discount_cents = 1;
  order.discount_cents = DISCOUNT_CENTS;
  return rs_encode(out, reg, RS_SHOP_ORDER, 1, &order.base, NULL, NULL, err);
}

/* What checkout_v2 writes: version 2, in an envelope that names the flag. */
static int write_v2(rs_buf *out, const rs_registry *reg, rs_error *err) {
  Shop__V2__Money discount = SHOP__V2__MONEY__INIT;
  discount.has_units = 1;
  discount.units = DISCOUNT_CENTS / 100;
  discount.has_nanos = 1;
  discount.nanos = DISCOUNT_CENTS % 100 * 10000000;
  discount.currency_code = "USD";

  Shop__V2__Order order = SHOP__V2__ORDER__INIT;
  order.order_id = ORDER_ID;
  order.customer_id = CUSTOMER_ID; /* optional in v2; v1 readers need it */
  order.has_total_cents = 1;
  order.total_cents = TOTAL_CENTS;
  order.has_status = 1;
  order.status = SHOP__V2__ORDER__STATUS__PAID;
  order.discount = &discount;

  rs_provenance prov = RS_PROVENANCE_INIT;
  prov.flag_key = RS_SHOP_FLAG;
  prov.variant = "on";
  prov.writer_id = "example-service";
  prov.write_time_us = rs_now_us();
  return rs_encode(out, reg, RS_SHOP_ORDER, 2, &order.base, &prov, NULL, err);
}

int main(void) {
  rs_error err = RS_ERROR_INIT;
  rs_registry *reg = NULL;
  rs_buf v1_bytes = RS_BUF_INIT, v2_bytes = RS_BUF_INIT;
  int ok = 0;

  if (rs_shop_registry(&reg, &err) != 0 ||
      write_v1(&v1_bytes, reg, &err) != 0 ||
      write_v2(&v2_bytes, reg, &err) != 0) {
    fprintf(stderr, "example-service: %s: %s\n", rs_error_name(err.code),
            err.message);
  } else {
    printf("registry: %s, versions 1..%u (librollsafe %s)\n", RS_SHOP_ORDER,
           rs_registry_newest(reg, RS_SHOP_ORDER), rs_version());
    printf("wrote v1 (raw): %zu bytes\n", v1_bytes.len);
    printf("wrote v2 (envelope, flag %s): %zu bytes\n", RS_SHOP_FLAG,
           v2_bytes.len);
    /* The dual-format reader: any version in, the version the code knows. */
    ok = read_back(reg, &v1_bytes, 1, 2) && read_back(reg, &v1_bytes, 1, 1) &&
         read_back(reg, &v2_bytes, 2, 2) && read_back(reg, &v2_bytes, 2, 1);
  }

  rs_buf_dispose(&v1_bytes, NULL);
  rs_buf_dispose(&v2_bytes, NULL);
  rs_registry_free(reg);
  if (ok) printf("all values survived\n");
  return ok ? 0 : 1;
}
