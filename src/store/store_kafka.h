/*
 * src/store/store_kafka.h: writing Kafka topics, and reading single
 * messages, for `rollsafe fix` and `restore` of kafka-topic targets
 * (src/store/kafka_write.c). Like every adapter it knows nothing of
 * protobuf: it moves keys, values and headers.
 *
 * A Kafka log is immutable: a fix never rewrites a message. It produces a
 * repaired copy to an output topic, or, on a compacted topic, a newer
 * message under the same key. Every message rollsafe produces carries the
 * header rollsafe-original naming the message it was made from
 * ("TOPIC/PARTITION/OFFSET") and rollsafe-run naming the run; these are
 * the fix's journal, read back to resume and to restore.
 *
 * Producers are idempotent (enable.idempotence, acks=all, the gapless
 * guarantee): within one producer, each partition's messages land once
 * each and in the order produced, and a message that could not be
 * delivered stops the run with an error instead of leaving a gap.
 */
#ifndef RS_STORE_KAFKA_H
#define RS_STORE_KAFKA_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/** On every message a fix produces: "TOPIC/PARTITION/OFFSET" of the
 * message it was made from. */
#define STORE_KAFKA_HEADER_ORIGINAL "rollsafe-original"
/** On every message a fix or restore produces: the run's id. */
#define STORE_KAFKA_HEADER_RUN "rollsafe-run"
/** On a journal entry: the key of the original message (the entry's own
 * key is its "TOPIC/PARTITION/OFFSET", unique, so that a compacted
 * journal keeps every entry). Absent for a message without a key. */
#define STORE_KAFKA_HEADER_KEY "rollsafe-original-key"
/** On an original a restore put back: the id of the run it undid. */
#define STORE_KAFKA_HEADER_RESTORED "rollsafe-restored"

/** The longest topic name Kafka allows, NUL included. */
#define STORE_KAFKA_TOPIC_MAX 250

/** Writes "TOPIC/PARTITION/OFFSET" into @p out (at least
 * STORE_KAFKA_TOPIC_MAX + 32 bytes); returns its length. */
size_t store_kafka_original_format(char *out, size_t size, const char *topic,
                                   int32_t partition, int64_t offset);

/** Parses "TOPIC/PARTITION/OFFSET" (@p len bytes, not NUL-terminated):
 * 0, or -1 when it is not one. */
int store_kafka_original_parse(const void *text, size_t len,
                               char topic[STORE_KAFKA_TOPIC_MAX],
                               int32_t *partition, int64_t *offset);

/* ---- the current row of a Kafka store (store_next) ---------------------- */

/** The last header @p name of the current row's message: 1 with *value
 * (NULL for a header without a value) and *len set, else 0. */
int store_kafka_row_header(const store *s, const char *name, const void **value,
                           size_t *len);

/** The current row's key, NULL when it has none; *len its length. */
const void *store_kafka_row_key(const store *s, size_t *len);

/** The current row's offset, or -1. */
int64_t store_kafka_row_offset(const store *s);

/** The current row's timestamp (Unix milliseconds), 0 when it has none. */
int64_t store_kafka_row_timestamp(const store *s);

/* ---- producing ---------------------------------------------------------- */

typedef struct store_kafka_writer store_kafka_writer;

/**
 * Called for each message the brokers acknowledged (from
 * store_kafka_poll() and store_kafka_flush()), in the order produced
 * within a partition: @p tag as given to store_kafka_produce(), and where
 * the message landed.
 */
typedef void (*store_kafka_delivered_fn)(void *ctx, uint64_t tag,
                                         int32_t partition, int64_t offset);

/**
 * Opens an idempotent producer to @p topic on the cluster of @p t (its
 * bootstrap servers and properties; enable.idempotence, acks,
 * transactional.id and the in-flight limit are rollsafe's own and refused
 * as properties). The topic must exist with at least @p min_partitions
 * partitions (STORE_EUSAGE otherwise, naming both counts). Messages wait at
 * most the target's timeout for delivery.
 */
int store_kafka_writer_open(store_kafka_writer **out, const store_target *t,
                            const char *topic, size_t min_partitions,
                            store_kafka_delivered_fn delivered, void *ctx,
                            store_error *err);

/** The output topic's partition count. */
size_t store_kafka_writer_partitions(const store_kafka_writer *w);

/** An extra header of a produced message. */
typedef struct store_kafka_header {
  const char *name;
  const void *value;
  size_t len;
} store_kafka_header;

/** One message to produce. */
typedef struct store_kafka_out {
  int32_t partition;
  const void *key; /**< NULL: no key */
  size_t key_len;
  const void *value; /**< NULL: no value (a tombstone) */
  size_t value_len;
  int64_t timestamp_ms; /**< 0: now */
  /** The message whose headers are copied first (a Kafka store's current
   * row, or a peek's message); NULL: none. */
  const store *headers_of_row;
  const struct store_kafka_peek *headers_of_peek;
  /** Headers of that message left out: the last one of each name. */
  const char *const *strip_last;
  size_t n_strip_last;
  const store_kafka_header *extra; /**< added after the copied ones */
  size_t n_extra;
  uint64_t tag; /**< handed to the delivery callback */
} store_kafka_out;

/**
 * Queues one message (copied: nothing of @p m needs to outlive the call).
 * Waits, serving delivery reports, while the producer's queue is full.
 * @return STORE_OK, or STORE_EIO (a delivery failed, the producer hit a
 *         fatal error, or the queue stayed full past the timeout)
 */
int store_kafka_produce(store_kafka_writer *w, const store_kafka_out *m,
                        store_error *err);

/** Serves delivery reports without waiting: STORE_OK, or STORE_EIO for
 * the first message the brokers did not take. */
int store_kafka_poll(store_kafka_writer *w, store_error *err);

/** Waits until every queued message is delivered, at most the target's
 * timeout after the last progress: STORE_OK or STORE_EIO. */
int store_kafka_flush(store_kafka_writer *w, store_error *err);

/** Closes the producer. Messages still queued (after an error) are
 * dropped: the output topic holds a prefix of what was produced to each
 * partition, which a resumed run continues. NULL is allowed. */
void store_kafka_writer_close(store_kafka_writer *w);

/* ---- reading one message at a time --------------------------------------- */

typedef struct store_kafka_peek store_kafka_peek;

/** A reader of single messages of @p topic (no group, never commits). */
int store_kafka_peek_open(store_kafka_peek **out, const store_target *t,
                          const char *topic, store_error *err);

/** The topic's partition count (0: no such topic). */
int store_kafka_peek_partitions(store_kafka_peek *p, size_t *n,
                                store_error *err);

/** A partition's low and high watermarks. */
int store_kafka_peek_watermarks(store_kafka_peek *p, int32_t partition,
                                int64_t *low, int64_t *high, store_error *err);

/**
 * Reads the first message of @p partition at or after @p offset and below
 * @p high: 1 with *at its offset (it stays current until the next call),
 * 0 when there is none (transaction markers only), or a negative
 * store_status.
 */
int store_kafka_peek_at(store_kafka_peek *p, int32_t partition, int64_t offset,
                        int64_t high, int64_t *at, store_error *err);

/** The current message's last header @p name: as store_kafka_row_header. */
int store_kafka_peek_header(const store_kafka_peek *p, const char *name,
                            const void **value, size_t *len);

/** The current message's key and value (NULL when absent). */
const void *store_kafka_peek_key(const store_kafka_peek *p, size_t *len);
const void *store_kafka_peek_value(const store_kafka_peek *p, size_t *len);
int64_t store_kafka_peek_timestamp(const store_kafka_peek *p);

void store_kafka_peek_close(store_kafka_peek *p);

/* ---- the cluster's say -------------------------------------------------- */

/**
 * The cleanup.policy of @p topic as the brokers describe it
 * (DescribeConfigs), e.g. "compact", "delete" or "compact,delete", into
 * @p out. STORE_EIO when they cannot say (no answer in time, no
 * DescribeConfigs permission, or a broker without that request).
 */
int store_kafka_cleanup_policy(const store_target *t, const char *topic,
                               char *out, size_t size, store_error *err);

/**
 * The committed offsets of the target's group for partitions 0..n-1 of
 * its topic (fetched without joining the group, as a scan does): -1 where
 * the group has none.
 */
int store_kafka_committed(const store_target *t, int64_t *offsets, size_t n,
                          store_error *err);

#endif
