/*
 * src/store/kafka_impl.h: what the Kafka reading adapter (kafka.c) shares
 * with the writing side (kafka_write.c). Internal to src/store/.
 */
#ifndef RS_STORE_KAFKA_IMPL_H
#define RS_STORE_KAFKA_IMPL_H

#include <librdkafka/rdkafka.h>

#include "store.h"

/** The bootstrap servers as messages may show them. */
const char *store__kafka_shown(const store_target *t);

char *store__kafka_strdup(const char *v);

/** A log callback that drops librdkafka's own lines: rollsafe's messages
 * say what failed, and its output must stay a report. */
void store__kafka_quiet_log(const rd_kafka_t *rk, int level, const char *fac,
                            const char *buf);

/** Sets one property; a secret's value never appears in the message. */
int store__kafka_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                     const char *target, store_error *err);

/**
 * A consumer of @p t's cluster with the target's properties, never a group
 * member: @p group is NULL, or the group whose committed offsets it only
 * fetches (it never subscribes). @p name names the target in messages.
 */
int store__kafka_client(rd_kafka_t **out, const store_target *t,
                        const char *name, const char *group, store_error *err);

/** The message of a Kafka store's current row, or NULL. */
rd_kafka_message_t *store__kafka_message(const store *s);

/** The last header @p name of @p m: 1 with *value, *len set, else 0. */
int store__kafka_header_of(rd_kafka_message_t *m, const char *name,
                           const void **value, size_t *len);

#endif
