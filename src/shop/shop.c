/*
 * The example domain: shop.Order versions 1 (raw) and 2 (envelope,
 * checkout_v2), the converters between them and the moved discount.
 * schema/README.md explains each change.
 */
#include <inttypes.h>
#include <string.h>

#include <rollsafe/rollsafe.h>
#include <rollsafe/shop.h>

#include "rollsafe/shop/v1/order.pb-c.h"
#include "rollsafe/shop/v2/order.pb-c.h"

enum {
  F_STATUS = 4,
  F_DISCOUNT_CENTS = 8, /* v1 */
  F_DELIVER_BY = 9,
  F_DISCOUNT = 10 /* v2 */
};

#define NANOS_PER_CENT 10000000

static int money_to_cents(rs_convert_ctx *ctx, const Shop__V2__Money *m,
                          int64_t *cents) {
  const char *cur = m->currency_code != NULL ? m->currency_code : "";
  if (cur[0] != '\0' && strcmp(cur, "USD") != 0)
    return rs_convert_ctx_report(
        ctx, RS_LOSS_IMPOSSIBLE, "discount(10).currency_code(3)", 3,
        "a %.8s amount cannot be stored: version 1 keeps discount_cents in "
        "USD",
        cur);
  int64_t units = m->has_units ? m->units : 0;
  int32_t nanos = m->has_nanos ? m->nanos : 0;
  /* Round to the nearest cent, halves away from zero, as a person would. */
  int32_t rest = nanos % NANOS_PER_CENT;
  int64_t whole = nanos / NANOS_PER_CENT;
  if (rest >= NANOS_PER_CENT / 2) whole++;
  if (rest <= -NANOS_PER_CENT / 2) whole--;
  int64_t scaled;
  if (__builtin_mul_overflow(units, (int64_t)100, &scaled) ||
      __builtin_add_overflow(scaled, whole, cents))
    return rs_convert_ctx_report(
        ctx, RS_LOSS_IMPOSSIBLE, "discount(10).units(1)", 1,
        "%" PRId64 " units and %" PRId32 " nanos do not fit int64 cents", units,
        nanos);
  if (rest != 0)
    return rs_convert_ctx_report(ctx, RS_LOSS_ALTERED, "discount(10).nanos(2)",
                                 2,
                                 "sub-cent part of %" PRId32
                                 " nanos rounded to the nearest cent: "
                                 "version 1 stores whole cents",
                                 rest);
  return 0;
}

/* Version 2 to version 1: status, deliver_by and discount by meaning. */
static int order_v2_to_v1(rs_convert_ctx *ctx, ProtobufCMessage *dst_msg,
                          const ProtobufCMessage *src_msg, void *user_data) {
  (void)user_data;
  Shop__V1__Order *dst = (Shop__V1__Order *)dst_msg;
  const Shop__V2__Order *src = (const Shop__V2__Order *)src_msg;
  int rc = 0;

  if (src->has_status) {
    dst->has_status = 1;
    if (src->status == SHOP__V2__ORDER__STATUS__AWAITING_AUTH) {
      dst->status = SHOP__V1__ORDER__STATUS__PENDING;
      rc = rs_convert_ctx_report(ctx, RS_LOSS_ALTERED, "status(4)", F_STATUS,
                                 "AWAITING_AUTH (6) is not in version 1; "
                                 "mapped to PENDING (1)");
    } else if (protobuf_c_enum_descriptor_get_value(
                   &shop__v1__order__status__descriptor, (int)src->status) !=
               NULL) {
      dst->status = (Shop__V1__Order__Status)src->status;
    } else {
      dst->has_status = 0;
      rc = rs_convert_ctx_report(ctx, RS_LOSS_IMPOSSIBLE, "status(4)", F_STATUS,
                                 "value %d is not a version-1 status",
                                 (int)src->status);
    }
    if (rc != 0) return rc;
  }

  if (src->deliver_by != NULL) {
    dst->has_deliver_by = 1;
    dst->deliver_by =
        src->deliver_by->has_seconds ? src->deliver_by->seconds : 0;
    if (src->deliver_by->has_nanos && src->deliver_by->nanos != 0 &&
        (rc = rs_convert_ctx_report(
             ctx, RS_LOSS_ALTERED, "deliver_by(9).nanos(2)", 2,
             "sub-second part of %" PRId32 " nanos dropped: version 1 "
             "stores whole seconds",
             src->deliver_by->nanos)) != 0)
      return rc;
  }

  if (src->discount != NULL) {
    int64_t cents = 0;
    rc = money_to_cents(ctx, src->discount, &cents);
    if (rc != 0) return rc;
    const char *cur = src->discount->currency_code;
    if (cur == NULL || cur[0] == '\0' || strcmp(cur, "USD") == 0) {
      dst->has_discount_cents = 1;
      dst->discount_cents = cents;
    }
  }
  return 0;
}

/* Version 1 to version 2: always lossless. */
static int order_v1_to_v2(rs_convert_ctx *ctx, ProtobufCMessage *dst_msg,
                          const ProtobufCMessage *src_msg, void *user_data) {
  (void)user_data;
  Shop__V2__Order *dst = (Shop__V2__Order *)dst_msg;
  const Shop__V1__Order *src = (const Shop__V1__Order *)src_msg;

  if (src->has_deliver_by) {
    Shop__V2__Timestamp *ts = (Shop__V2__Timestamp *)rs_convert_ctx_new_message(
        ctx, &shop__v2__timestamp__descriptor);
    if (ts == NULL) return RS_ENOMEM;
    ts->has_seconds = 1;
    ts->seconds = src->deliver_by;
    dst->deliver_by = ts;
  }
  if (src->has_discount_cents) {
    Shop__V2__Money *m = (Shop__V2__Money *)rs_convert_ctx_new_message(
        ctx, &shop__v2__money__descriptor);
    if (m == NULL) return RS_ENOMEM;
    /* discount_cents is what version-1 code keeps up to date: it wins over
     * a field 10 carried along as an unknown field (released for us). */
    dst->discount = m; /* attached first, so it is freed with dst on failure */
    m->currency_code = rs_convert_ctx_strdup(ctx, "USD");
    if (m->currency_code == NULL) return RS_ENOMEM;
    m->has_units = 1;
    m->units = src->discount_cents / 100;
    int64_t rest = src->discount_cents % 100;
    if (rest != 0) {
      m->has_nanos = 1;
      m->nanos = (int32_t)(rest * NANOS_PER_CENT);
    }
  }
  return 0;
}

int rs_shop_register(rs_registry_builder *b, rs_error *err) {
  static const uint32_t down_handled[] = {F_STATUS, F_DELIVER_BY, F_DISCOUNT};
  static const uint32_t up_handled[] = {F_DISCOUNT_CENTS, F_DELIVER_BY};
  int rc = rs_registry_builder_add_version(
      b, RS_SHOP_ORDER, 1, &shop__v1__order__descriptor, RS_ENCODING_RAW, err);
  if (rc == 0)
    rc = rs_registry_builder_add_version(b, RS_SHOP_ORDER, 2,
                                         &shop__v2__order__descriptor,
                                         RS_ENCODING_ENVELOPE, err);
  if (rc == 0) {
    rs_converter c = RS_CONVERTER_INIT;
    c.from = 2;
    c.to = 1;
    c.handled_fields = down_handled;
    c.n_handled_fields = sizeof down_handled / sizeof down_handled[0];
    c.fn = order_v2_to_v1;
    rc = rs_registry_builder_add_converter(b, RS_SHOP_ORDER, &c, err);
  }
  if (rc == 0) {
    rs_converter c = RS_CONVERTER_INIT;
    c.from = 1;
    c.to = 2;
    c.handled_fields = up_handled;
    c.n_handled_fields = sizeof up_handled / sizeof up_handled[0];
    c.fn = order_v1_to_v2;
    rc = rs_registry_builder_add_converter(b, RS_SHOP_ORDER, &c, err);
  }
  if (rc == 0)
    rc = rs_registry_builder_add_moved_field(b, RS_SHOP_ORDER, 2, F_DISCOUNT, 1,
                                             F_DISCOUNT_CENTS, err);
  return rc;
}

int rs_shop_registry(rs_registry **out, rs_error *err) {
  rs_registry_builder *b;
  int rc = rs_registry_builder_new(&b, NULL, err);
  if (rc != 0) return rc;
  rc = rs_shop_register(b, err);
  if (rc != 0) {
    rs_registry_builder_free(b);
    return rc;
  }
  return rs_registry_build(out, b, err);
}
