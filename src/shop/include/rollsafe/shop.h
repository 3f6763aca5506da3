/*
 * rollsafe/shop.h: the example domain, library rollsafe_example.
 *
 * shop.Order version 1 (raw protobuf, schema/shop/v1/order.proto) and
 * version 2 (envelope, written by the flag checkout_v2,
 * schema/shop/v2/order.proto), with the converters between them. The
 * generated protobuf-c headers are <rollsafe/shop/v1/order.pb-c.h> and
 * <rollsafe/shop/v2/order.pb-c.h> in the build tree.
 *
 * Not part of librollsafe and not installed: the CLI's demo, its built-in
 * example type and the tests link it. A service registers its own types
 * (rollsafe_add_record_type() in CMake, or rs_registry_builder_add_version).
 */
#ifndef ROLLSAFE_SHOP_H
#define ROLLSAFE_SHOP_H

#include <rollsafe/registry.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The record type name of the example order. */
#define RS_SHOP_ORDER "shop.Order"
/** The flag whose feature writes version 2. */
#define RS_SHOP_FLAG "checkout_v2"

/**
 * Adds shop.Order versions 1 and 2, their converters and moved fields to a
 * builder.
 *
 * @return 0, RS_EEXISTS (shop.Order already declared), RS_ENOMEM
 */
RS_EXTERN int rs_shop_register(rs_registry_builder *builder, rs_error *err);

/**
 * Builds a registry holding only the example domain.
 *
 * @param[out] out owned by the caller; free with rs_registry_free()
 * @return 0, RS_ENOMEM
 */
RS_EXTERN int rs_shop_registry(rs_registry **out, rs_error *err);

#ifdef __cplusplus
}
#endif
#endif
