/*
 * rollsafe/headers.h: provenance as message headers, for records that carry
 * no envelope (raw protobuf, Confluent framing) on a Kafka topic.
 *
 * `rollsafe scan --kafka` reads a message's provenance from these headers;
 * a producer interceptor or an OpenFeature hook sets them where the message
 * is produced, from the same rs_provenance an envelope would carry. The
 * helper hands back name/value pairs and depends on no Kafka client: give
 * them to librdkafka's rd_kafka_header_add(), Java's Headers.add(), or any
 * other client.
 */
#ifndef ROLLSAFE_HEADERS_H
#define ROLLSAFE_HEADERS_H

#include "codec.h"
#include "errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The flag key, e.g. "checkout_v2". */
#define RS_HEADER_FLAG "rollsafe-flag"
/** The flag's variant, e.g. "on". */
#define RS_HEADER_VARIANT "rollsafe-variant"
/** The writer build or instance, e.g. "orders-api 4.2.0 pod-7". */
#define RS_HEADER_WRITER "rollsafe-writer"
/** When it was written: Unix time in microseconds, decimal ASCII. */
#define RS_HEADER_WRITE_TIME "rollsafe-write-time"

/** Most headers rs_provenance_headers() fills. */
#define RS_PROVENANCE_HEADERS_MAX 4

/** One header: a name and its value's bytes (not NUL-terminated). */
typedef struct rs_header {
  const char *name;  /**< one of the RS_HEADER_* names; static */
  const char *value; /**< borrowed (see rs_provenance_headers) */
  size_t value_len;
} rs_header;

/** The headers of one provenance, and the storage of the write time's
 * text. Caller-allocated (on the stack is fine); nothing to free. */
typedef struct rs_header_set {
  rs_header headers[RS_PROVENANCE_HEADERS_MAX]; /**< the first `count` */
  size_t count;
  char write_time[24]; /**< the decimal text of write_time_us */
} rs_header_set;

/**
 * Fills @p out with the headers that name @p provenance, in the order
 * rollsafe-flag, rollsafe-variant, rollsafe-writer, rollsafe-write-time,
 * leaving out what is not recorded (a NULL or empty string, a write time
 * of 0). The values of the first three point into @p provenance's strings
 * (valid while they are); the write time's points into @p out itself.
 *
 * @param[out] out the headers; on error, count is 0
 * @param provenance the writer's provenance, RS_PROVENANCE_VERSION
 * @return 0, or RS_EINVAL (@p out or @p provenance NULL, an unknown
 *         provenance version, or a negative write time)
 */
RS_EXTERN int rs_provenance_headers(rs_header_set *out,
                                    const rs_provenance *provenance,
                                    rs_error *err);

#ifdef __cplusplus
}
#endif
#endif
