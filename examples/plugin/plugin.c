/*
 * examples/plugin/plugin.c: a rollsafe plugin (see rollsafe/plugin.h).
 *
 * It registers the record type example.Reading with two format versions
 * (reading_v1.proto, raw; reading_v2.proto, enveloped), the move of the
 * temperature from celsius_tenths(2) to celsius(3), and converters in both
 * directions that carry the temperature by meaning. Build it as a shared
 * library against rollsafe's headers, without linking librollsafe:
 *
 *   rollsafe scan --plugin ./librollsafe_example_plugin.so \
 *       --sqlite readings.db --table readings --key id --column payload \
 *       --type example.Reading
 */
#include <math.h>

#include <rollsafe/rollsafe.h>

#include "reading_v1.pb-c.h"
#include "reading_v2.pb-c.h"

#define TYPE "example.Reading"

enum { F_CELSIUS_TENTHS = 2, F_CELSIUS = 3 };

#if defined(__GNUC__)
#define PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define PLUGIN_EXPORT
#endif

/* Version 2 to 1: tenths of a degree, rounded; rounding is reported. */
static int down(rs_convert_ctx *ctx, ProtobufCMessage *dst_msg,
                const ProtobufCMessage *src_msg, void *user_data) {
  (void)user_data;
  Example__V1__Reading *dst = (Example__V1__Reading *)dst_msg;
  const Example__V2__Reading *src = (const Example__V2__Reading *)src_msg;
  if (!src->has_celsius) return 0;
  double tenths = src->celsius * 10.0;
  if (!isfinite(tenths) || tenths > 2147483647.0 || tenths < -2147483648.0)
    return rs_convert_ctx_report(
        ctx, RS_LOSS_IMPOSSIBLE, "celsius(3)", F_CELSIUS,
        "%g does not fit celsius_tenths (sint32)", src->celsius);
  dst->has_celsius_tenths = 1;
  dst->celsius_tenths = (int32_t)lround(tenths);
  if ((double)dst->celsius_tenths != tenths)
    return rs_convert_ctx_report(ctx, RS_LOSS_ALTERED, "celsius(3)", F_CELSIUS,
                                 "%g rounded to %d tenths", src->celsius,
                                 (int)dst->celsius_tenths);
  return 0;
}

/* Version 1 to 2: always exact. */
static int up(rs_convert_ctx *ctx, ProtobufCMessage *dst_msg,
              const ProtobufCMessage *src_msg, void *user_data) {
  (void)ctx;
  (void)user_data;
  Example__V2__Reading *dst = (Example__V2__Reading *)dst_msg;
  const Example__V1__Reading *src = (const Example__V1__Reading *)src_msg;
  if (src->has_celsius_tenths) {
    dst->has_celsius = 1;
    dst->celsius = src->celsius_tenths / 10.0;
  }
  return 0;
}

PLUGIN_EXPORT const unsigned rollsafe_plugin_abi = RS_PLUGIN_ABI_VERSION;

PLUGIN_EXPORT int rollsafe_plugin_register(rs_registry_builder *b,
                                           rs_error *err);

int rollsafe_plugin_register(rs_registry_builder *b, rs_error *err) {
  static const uint32_t down_handled[] = {F_CELSIUS};
  static const uint32_t up_handled[] = {F_CELSIUS_TENTHS};
  int rc = rs_registry_builder_add_version(
      b, TYPE, 1, &example__v1__reading__descriptor, RS_ENCODING_RAW, err);
  if (rc == 0)
    rc = rs_registry_builder_add_version(b, TYPE, 2,
                                         &example__v2__reading__descriptor,
                                         RS_ENCODING_ENVELOPE, err);
  if (rc == 0) {
    rs_converter c = RS_CONVERTER_INIT;
    c.from = 2;
    c.to = 1;
    c.handled_fields = down_handled;
    c.n_handled_fields = 1;
    c.fn = down;
    rc = rs_registry_builder_add_converter(b, TYPE, &c, err);
  }
  if (rc == 0) {
    rs_converter c = RS_CONVERTER_INIT;
    c.from = 1;
    c.to = 2;
    c.handled_fields = up_handled;
    c.n_handled_fields = 1;
    c.fn = up;
    rc = rs_registry_builder_add_converter(b, TYPE, &c, err);
  }
  if (rc == 0)
    rc = rs_registry_builder_add_moved_field(b, TYPE, 2, F_CELSIUS, 1,
                                             F_CELSIUS_TENTHS, err);
  return rc;
}
