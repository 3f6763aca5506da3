/*
 * rollsafe/convert.h: converting a message between format versions.
 *
 * A conversion is lossless, lossy (each loss listed by field path) or
 * impossible (with the reason). Between two adjacent versions the registry's
 * custom converter runs if one is registered, after the generic converter:
 * that one converts every field by value between the two versions' types
 * (any numeric type into any other, strings, bytes and messages by their
 * bytes, packed or not, singular or repeated), reports the exact loss where
 * the target type cannot hold the value (the value written and the value
 * the reader will see), calls impossible what has no faithful mapping (NaN
 * into an integer, invalid UTF-8 into a proto3 string, a map into a
 * string), keeps fields the target does not define as unknown fields (its
 * readers ignore them; an up-conversion restores them), and reports every
 * field it must drop. A conversion across several versions chains the
 * steps.
 */
#ifndef ROLLSAFE_CONVERT_H
#define ROLLSAFE_CONVERT_H

#include "options.h"
#include "registry.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The outcome of a conversion; ordered, worst last. */
typedef enum rs_conversion_result {
  RS_CONVERSION_LOSSLESS = 0,
  RS_CONVERSION_LOSSY = 1,
  RS_CONVERSION_IMPOSSIBLE = 2
} rs_conversion_result;

/** "lossless", "lossy", "impossible"; static storage. */
RS_EXTERN const char *rs_conversion_result_name(rs_conversion_result result);

/** What happened to one field. */
typedef enum rs_loss_kind {
  RS_LOSS_DROPPED = 1, /**< the field is gone from the result */
  RS_LOSS_ALTERED =
      2, /**< kept with a different value: rounded, mapped, truncated */
  RS_LOSS_IMPOSSIBLE = 3 /**< cannot be represented; the conversion fails */
} rs_loss_kind;

/** "dropped", "altered", "impossible"; static storage. */
RS_EXTERN const char *rs_loss_kind_name(rs_loss_kind kind);

typedef struct rs_conversion rs_conversion;
typedef struct rs_loss rs_loss;

/**
 * Converts @p msg, a message of format version @p from of @p type, to
 * format version @p to.
 *
 * @param[out] out the converted message, owned by the caller; free with
 *        protobuf_c_message_free_unpacked(out, options->allocator). Set
 *        only on success.
 * @param[out] report if not NULL, receives the conversion report (also on
 *        RS_ECONVERT, so the caller can list why); free with
 *        rs_conversion_free()
 * @param msg the source; its descriptor must be that of version @p from
 * @return 0 (lossless or lossy: see the report), RS_ECONVERT (impossible;
 *         err says the first reason), RS_ENOTFOUND, RS_EMISMATCH (msg is
 *         not a message of version @p from), RS_ELIMIT, RS_ENOMEM
 */
RS_EXTERN int rs_convert(ProtobufCMessage **out, rs_conversion **report,
                         const rs_registry *registry, const char *type,
                         unsigned from, unsigned to,
                         const ProtobufCMessage *msg, const rs_options *options,
                         rs_error *err);

/** Frees a report; NULL is allowed. */
RS_EXTERN void rs_conversion_free(rs_conversion *conversion);

/** Worst outcome of all steps. */
RS_EXTERN rs_conversion_result
rs_conversion_result_of(const rs_conversion *conversion);

/** Source and target versions. */
RS_EXTERN unsigned rs_conversion_from(const rs_conversion *conversion);
RS_EXTERN unsigned rs_conversion_to(const rs_conversion *conversion);

/**
 * Number of listed losses (dropped, altered, impossible). At most 256 are
 * kept; beyond that the least severe give way, so impossible ones stay.
 */
RS_EXTERN size_t rs_conversion_loss_count(const rs_conversion *conversion);

/**
 * Number of losses found beyond the 256 listed (0 when every loss is
 * listed): a report that leaves some out says how many.
 */
RS_EXTERN size_t rs_conversion_losses_omitted(const rs_conversion *conversion);

/** The i-th loss, or NULL; borrowed from the report. */
RS_EXTERN const rs_loss *rs_conversion_loss(const rs_conversion *conversion,
                                            size_t i);

/**
 * Number of fields kept as unknown fields of the target because the target
 * version does not define them (not losses).
 */
RS_EXTERN size_t rs_conversion_kept_unknown(const rs_conversion *conversion);

RS_EXTERN rs_loss_kind rs_loss_kind_of(const rs_loss *loss);
/** Field path, e.g. "items[3].unit_price_cents(3)"; borrowed. */
RS_EXTERN const char *rs_loss_path(const rs_loss *loss);
/** Number of the field the loss is about (the last one in the path). */
RS_EXTERN uint32_t rs_loss_field(const rs_loss *loss);
/**
 * Number of the record's own field the path starts in (the first in the
 * path: 6 for "f6(6).s(1).a(1)", and for "items[3].price(3)" the number of
 * items); 0 for the whole record, or when a custom converter's path does
 * not name a field of the record.
 */
RS_EXTERN uint32_t rs_loss_top_field(const rs_loss *loss);
/** What is lost and why, one line; borrowed. */
RS_EXTERN const char *rs_loss_text(const rs_loss *loss);
/** Versions of the step that lost it. */
RS_EXTERN unsigned rs_loss_from(const rs_loss *loss);
RS_EXTERN unsigned rs_loss_to(const rs_loss *loss);

/* ---- for custom converters (rs_convert_fn) ---------------------------- */

/**
 * Allocates @p size zeroed bytes with the conversion's allocator, for
 * members of the message being built. NULL when out of memory or over the
 * allocation budget: return RS_ENOMEM then.
 */
RS_EXTERN void *rs_convert_ctx_alloc(rs_convert_ctx *ctx, size_t size);

/** Copies a NUL-terminated string with rs_convert_ctx_alloc(). */
RS_EXTERN char *rs_convert_ctx_strdup(rs_convert_ctx *ctx, const char *s);

/**
 * Allocates a message of type @p descriptor and initialises it with its
 * defaults, for sub-messages of the message being built.
 */
RS_EXTERN ProtobufCMessage *rs_convert_ctx_new_message(
    rs_convert_ctx *ctx, const ProtobufCMessageDescriptor *descriptor);

/**
 * Records a loss of the current step.
 *
 * @param path field path in the source message, e.g. "discount(10)"
 * @param field number of the field the loss is about
 * @param fmt printf format of the one-line explanation
 * @return 0, RS_ENOMEM
 */
RS_EXTERN int rs_convert_ctx_report(rs_convert_ctx *ctx, rs_loss_kind kind,
                                    const char *path, uint32_t field,
                                    const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/** The versions of the current step. */
RS_EXTERN unsigned rs_convert_ctx_from(const rs_convert_ctx *ctx);
RS_EXTERN unsigned rs_convert_ctx_to(const rs_convert_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif
