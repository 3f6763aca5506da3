#define _POSIX_C_SOURCE 200809L
/*
 * tests/old_reader/old_record.c: what version-1 code makes of one
 * shop.Order record (see old_record.h), shared by old_reader and
 * old_consumer. Built from schema/shop/v1/order.proto with protoc-c and
 * plain protobuf_c_message_unpack only.
 */
#include "old_record.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <protobuf-c/protobuf-c.h>

#include "shop/v1/order.pb-c.h"

/* ---- what the old reader makes of one record --------------------------- */

static void reason_add(char *why, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends to @p why, "; "-separated. */
static void reason_add(char *why, size_t size, const char *fmt, ...) {
  size_t n = strlen(why);
  if (n > 0 && n + 2 < size) {
    memcpy(why + n, "; ", 3);
    n += 2;
  }
  if (n >= size) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why + n, size - n, fmt, ap);
  va_end(ap);
}

static int read_varint(const uint8_t *b, size_t n, size_t *off, uint64_t *v) {
  *v = 0;
  for (unsigned shift = 0; shift < 64 && *off < n; shift += 7) {
    uint8_t c = b[(*off)++];
    *v |= (uint64_t)(c & 0x7f) << shift;
    if ((c & 0x80) == 0) return 0;
  }
  return -1;
}

/* The wire type protobuf-c expects for a field of type @p t. */
static unsigned wire_type_of(ProtobufCType t) {
  switch (t) {
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
      return 1;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
      return 2;
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
      return 5;
    default:
      return 0;
  }
}

/*
 * Why unpack said no: protobuf-c returns a bare NULL, so the top-level
 * fields are walked once more to name the first thing version 1 cannot
 * take.
 */
static void diagnose(const uint8_t *b, size_t n, char *why, size_t size) {
  const ProtobufCMessageDescriptor *d = &shop__v1__order__descriptor;
  int seen_order_id = 0, seen_customer_id = 0;
  size_t off = 0;
  while (off < n) {
    size_t at = off;
    uint64_t tag, len;
    if (read_varint(b, n, &off, &tag) != 0) {
      reason_add(why, size, "unpack failed: tag truncated at byte %zu", at);
      return;
    }
    unsigned wt = (unsigned)(tag & 7);
    uint64_t num = tag >> 3;
    if (wt == 3 || wt == 4 || wt > 5) {
      reason_add(
          why, size,
          "unpack failed: byte %zu (0x%02x) is wire type %u, which "
          "protobuf-c cannot read%s",
          at, b[at], wt,
          at == 0 && b[0] == 0xf7 ? " (an envelope, not a raw record)" : "");
      return;
    }
    if (num == 0) {
      reason_add(why, size, "unpack failed: field number 0 at byte %zu", at);
      return;
    }
    const ProtobufCFieldDescriptor *f =
        num <= UINT32_MAX
            ? protobuf_c_message_descriptor_get_field(d, (unsigned)num)
            : NULL;
    if (f != NULL) {
      unsigned want = wire_type_of(f->type);
      int packed = f->label == PROTOBUF_C_LABEL_REPEATED && wt == 2;
      if (wt != want && !packed) {
        reason_add(why, size,
                   "unpack failed: %s(%u) at byte %zu has wire type %u, "
                   "version 1 expects %u",
                   f->name, f->id, at, wt, want);
        return;
      }
      seen_order_id |= f->id == 1;
      seen_customer_id |= f->id == 2;
    }
    /* The value: a varint (0), 8 or 4 bytes (1, 5), or a length (2). */
    if (wt == 0) {
      if (read_varint(b, n, &off, &len) != 0) {
        reason_add(why, size, "unpack failed: varint truncated at byte %zu",
                   at);
        return;
      }
      continue;
    }
    if (wt == 1 || wt == 5)
      len = wt == 1 ? 8 : 4;
    else if (read_varint(b, n, &off, &len) != 0)
      len = UINT64_MAX; /* the length itself is cut short */
    if (len > n - off) {
      reason_add(why, size,
                 "unpack failed: field %" PRIu64
                 " at byte %zu runs past the end",
                 num, at);
      return;
    }
    off += (size_t)len;
  }
  if (!seen_order_id)
    reason_add(why, size, "unpack failed: required field order_id(1) missing");
  else if (!seen_customer_id)
    reason_add(why, size,
               "unpack failed: required field customer_id(2) missing");
  else
    reason_add(why, size,
               "unpack failed inside a nested message (items(5) or "
               "ship_to(7))");
}

/* Checks one record; returns 0 when version-1 code reads it correctly,
 * else 1 with the reasons in @p why. */
int old_check_record(const uint8_t *b, size_t n, char *why, size_t size) {
  why[0] = '\0';
  Shop__V1__Order *o = shop__v1__order__unpack(NULL, n, b);
  if (o == NULL) {
    diagnose(b, n, why, size);
    return 1;
  }
  if (o->has_status &&
      protobuf_c_enum_descriptor_get_value(&shop__v1__order__status__descriptor,
                                           (int)o->status) == NULL)
    reason_add(why, size,
               "status(4) = %d is not a value of shop.v1.Order.Status",
               (int)o->status);
  if (o->has_total_cents) {
    int64_t due = 0;
    for (size_t i = 0; i < o->n_items; i++)
      due += (int64_t)o->items[i]->quantity * o->items[i]->unit_price_cents;
    if (o->has_discount_cents) due -= o->discount_cents;
    if (due != o->total_cents) {
      char unknown[128] = "";
      size_t u = 0;
      for (size_t i = 0; i < o->base.n_unknown_fields && u < 100; i++)
        u += (size_t)snprintf(unknown + u, sizeof unknown - u, "%s%" PRIu32,
                              u ? ", " : "", o->base.unknown_fields[i].tag);
      reason_add(why, size,
                 "total_cents(3) = %" PRId64
                 " but the items less discount_cents(8) = %" PRId64
                 " come to %" PRId64 "%s%s%s",
                 o->total_cents, o->has_discount_cents ? o->discount_cents : 0,
                 due,
                 u ? ": money in a field version 1 does not read (unknown "
                     "fields: "
                   : ": the amounts do not add up",
                 unknown, u ? ")" : "");
    }
  }
  shop__v1__order__free_unpacked(o, NULL);
  return why[0] != '\0';
}
