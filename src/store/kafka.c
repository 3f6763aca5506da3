#define _POSIX_C_SOURCE 200809L
/*
 * src/store/kafka.c: the Kafka topic adapter (STORE_KAFKA_TOPIC), read-only.
 *
 * The reading client has no group.id: it cannot join a group nor commit,
 * whatever its properties say. It reads each partition with librdkafka's
 * partition consumer (rd_kafka_consume_start_queue, all partitions on one
 * queue) from an offset chosen at open, up to the partition's high
 * watermark taken then. A partition is done at the first message at or past
 * that watermark, or at its end (partition EOF: what is left below the
 * watermark are transaction markers or aborted messages a read_committed
 * consumer never sees).
 *
 * A group's committed offsets come from rd_kafka_committed() on a second,
 * short-lived client whose group.id serves that OffsetFetch only: it never
 * subscribes (so never sends JoinGroup), has auto-commit off, and is
 * destroyed with RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE.
 *
 * A row's key is "PARTITION@OFFSET"; its provenance comes from the headers
 * rollsafe-flag, rollsafe-variant, rollsafe-writer and rollsafe-write-time
 * (Unix time in microseconds, decimal). Messages name the bootstrap servers
 * and the topic, never a property's value.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "kafka_impl.h"
#include "store_impl.h"
#include "store_kafka.h"

/* How long one wait for a message lasts, so that an interrupt is seen. */
#define KAFKA_POLL_MS 200

typedef struct kafka_part {
  store_partition info;
  int started; /* consume_start_queue was called */
  int done;
} kafka_part;

typedef struct kafka_store {
  struct store base;
  const store_target *target; /* borrowed: used by store__kafka_open only */
  char *name, *topic, *shown; /* for messages */
  rd_kafka_t *rk;
  rd_kafka_topic_t *rkt;
  rd_kafka_queue_t *queue;
  kafka_part *parts;
  store_partition *infos; /* what store_partitions() hands out */
  size_t n_parts, n_done;
  rd_kafka_message_t *msg; /* the current row's message */
  char key[48];
  store_provenance prov;
  int timeout_ms;
  int scanning;
  volatile sig_atomic_t stop;
} kafka_store;

static const store_ops kafka_ops;

int store_kafka_property_is_secret(const char *name) {
  static const char *const exact[] = {"ssl.key.pem", "ssl_key",
                                      "sasl.oauthbearer.config", NULL};
  if (name == NULL) return 0;
  for (size_t i = 0; exact[i] != NULL; i++)
    if (strcmp(name, exact[i]) == 0) return 1;
  return strstr(name, "password") != NULL || strstr(name, "secret") != NULL;
}

/* Properties that would make the reading client a group member or let it
 * commit; rollsafe sets them itself. */
static int kafka_property_refused(const char *name) {
  static const char *const refused[] = {
      "group.id",           "group.instance.id",        "enable.auto.commit",
      "auto.commit.enable", "enable.auto.offset.store", "auto.offset.reset",
      "bootstrap.servers",  "metadata.broker.list",     NULL};
  for (size_t i = 0; refused[i] != NULL; i++)
    if (strcmp(name, refused[i]) == 0) return 1;
  return 0;
}

const char *store__kafka_shown(const store_target *t) {
  return t->connection_label != NULL ? t->connection_label : t->connection;
}

char *store__kafka_strdup(const char *v) {
  size_t n = strlen(v) + 1;
  char *d = malloc(n);
  if (d != NULL) memcpy(d, v, n);
  return d;
}

/* librdkafka logs to stderr by default; rollsafe's own messages say what
 * failed, and its output must stay a report. */
void store__kafka_quiet_log(const rd_kafka_t *rk, int level, const char *fac,
                            const char *buf) {
  (void)rk;
  (void)level;
  (void)fac;
  (void)buf;
}

int store__kafka_set(rd_kafka_conf_t *conf, const char *name, const char *value,
                     const char *target, store_error *err) {
  char why[256];
  if (rd_kafka_conf_set(conf, name, value, why, sizeof why) == RD_KAFKA_CONF_OK)
    return STORE_OK;
  /* librdkafka's message may quote the value. */
  if (store_kafka_property_is_secret(name))
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': Kafka property '%s': invalid value",
                       target, name);
  return store__fail(err, STORE_EUSAGE, "target '%s': Kafka property '%s': %s",
                     target, name, why);
}

/*
 * A consumer configuration: the target's properties, then what rollsafe
 * insists on. @p group is NULL for the reading client.
 */
static int kafka_conf(rd_kafka_conf_t **out, const store_target *t,
                      const char *name, const char *group, store_error *err) {
  const store_kafka *k = t->kafka;
  *out = NULL;
  for (size_t i = 0; i < k->n_properties; i++)
    if (kafka_property_refused(k->properties[2 * i]))
      return store__fail(
          err, STORE_EUSAGE,
          "target '%s': Kafka property '%s' cannot be set: rollsafe reads "
          "without a consumer group and never commits (bootstrap servers: "
          "--kafka or bootstrap; a group's offsets: --group)",
          name, k->properties[2 * i]);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (conf == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  char timeout[24];
  snprintf(timeout, sizeof timeout, "%d", k->timeout_ms);
  const char *fixed[][2] = {
      {"bootstrap.servers", t->connection},
      {"client.id", "rollsafe"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},
      /* A start offset that retention deleted meanwhile is an error, never
       * a silent jump to the end past unread messages. */
      {"auto.offset.reset", "error"},
      {"allow.auto.create.topics", "false"},
      {"socket.timeout.ms", timeout},
      {group != NULL ? "group.id" : NULL, group},
  };
  int rc = STORE_OK;
  for (size_t i = 0; rc == STORE_OK && i < k->n_properties; i++)
    rc = store__kafka_set(conf, k->properties[2 * i], k->properties[2 * i + 1],
                          name, err);
  for (size_t i = 0; rc == STORE_OK && i < sizeof fixed / sizeof fixed[0]; i++)
    if (fixed[i][0] != NULL)
      rc = store__kafka_set(conf, fixed[i][0], fixed[i][1], name, err);
  if (rc != STORE_OK) {
    rd_kafka_conf_destroy(conf);
    return rc;
  }
  rd_kafka_conf_set_log_cb(conf, store__kafka_quiet_log);
  *out = conf;
  return STORE_OK;
}

int store__kafka_client(rd_kafka_t **out, const store_target *t,
                        const char *name, const char *group, store_error *err) {
  rd_kafka_conf_t *conf;
  *out = NULL;
  int rc = kafka_conf(&conf, t, name, group, err);
  if (rc != STORE_OK) return rc;
  char why[512];
  *out = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
  if (*out == NULL) {
    rd_kafka_conf_destroy(conf);
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': cannot create a Kafka client: %s", name,
                       why);
  }
  return STORE_OK;
}

static int kafka_fail(kafka_store *s, store_error *err, int status,
                      const char *what, rd_kafka_resp_err_t e) {
  return store__fail(err, status, "target '%s' (%s, topic %s): %s: %s", s->name,
                     s->shown, s->topic, what, rd_kafka_err2str(e));
}

/* The topic's partitions, from the metadata. */
static int kafka_partitions(kafka_store *s, store_error *err) {
  /* Metadata of every topic: asking for this one alone may create it on a
   * broker that creates topics on first use. */
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t e = rd_kafka_metadata(s->rk, 1, NULL, &md, s->timeout_ms);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    return kafka_fail(s, err, STORE_EIO, "no metadata from the brokers", e);
  int rc = STORE_OK;
  const struct rd_kafka_metadata_topic *mt = NULL;
  for (int i = 0; i < md->topic_cnt && mt == NULL; i++)
    if (strcmp(md->topics[i].topic, s->topic) == 0) mt = &md->topics[i];
  if (mt == NULL || mt->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
      mt->partition_cnt == 0) {
    rc = store__fail(err, STORE_EUSAGE,
                     "target '%s' (%s): no topic '%s' on the brokers", s->name,
                     s->shown, s->topic);
  } else if (mt->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rc = kafka_fail(s, err, STORE_EIO, "topic metadata", mt->err);
  } else {
    s->n_parts = (size_t)mt->partition_cnt;
    s->parts = calloc(s->n_parts, sizeof *s->parts);
    s->infos = calloc(s->n_parts, sizeof *s->infos);
    if (s->parts == NULL || s->infos == NULL)
      rc = store__fail(err, STORE_ENOMEM, "out of memory");
    for (size_t i = 0; rc == STORE_OK && i < s->n_parts; i++)
      s->parts[i].info.partition = mt->partitions[i].id;
  }
  rd_kafka_metadata_destroy(md);
  if (rc != STORE_OK) return rc;
  /* Partition order, for the report. */
  for (size_t i = 1; i < s->n_parts; i++)
    for (size_t j = i;
         j > 0 && s->parts[j - 1].info.partition > s->parts[j].info.partition;
         j--) {
      kafka_part tmp = s->parts[j];
      s->parts[j] = s->parts[j - 1];
      s->parts[j - 1] = tmp;
    }
  return STORE_OK;
}

static int kafka_watermarks(kafka_store *s, int64_t *low, store_error *err) {
  for (size_t i = 0; i < s->n_parts; i++) {
    store_partition *p = &s->parts[i].info;
    int64_t hi = 0;
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
        s->rk, s->topic, p->partition, &low[i], &hi, s->timeout_ms);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      char what[64];
      snprintf(what, sizeof what, "watermarks of partition %" PRId32,
               p->partition);
      return kafka_fail(s, err, STORE_EIO, what, e);
    }
    p->start_offset = low[i];
    p->end_offset = hi;
    p->start_from = "beginning";
    p->first_offset = p->last_offset = -1;
  }
  return STORE_OK;
}

static rd_kafka_topic_partition_list_t *kafka_list(const kafka_store *s) {
  rd_kafka_topic_partition_list_t *l =
      rd_kafka_topic_partition_list_new((int)s->n_parts);
  for (size_t i = 0; l != NULL && i < s->n_parts; i++)
    rd_kafka_topic_partition_list_add(l, s->topic, s->parts[i].info.partition);
  return l;
}

/* The group's committed offsets, fetched without joining it. */
static int kafka_from_group(kafka_store *s, const int64_t *low,
                            store_error *err) {
  rd_kafka_t *rk;
  int rc = store__kafka_client(&rk, s->target, s->name, s->target->kafka->group,
                               err);
  if (rc != STORE_OK) return rc;
  rd_kafka_topic_partition_list_t *l = kafka_list(s);
  if (l == NULL) {
    rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    return store__fail(err, STORE_ENOMEM, "out of memory");
  }
  rd_kafka_resp_err_t e = rd_kafka_committed(rk, l, s->timeout_ms);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    rc = kafka_fail(s, err, STORE_EIO, "committed offsets of the group", e);
  for (size_t i = 0; rc == STORE_OK && i < s->n_parts; i++) {
    store_partition *p = &s->parts[i].info;
    const rd_kafka_topic_partition_t *tp = &l->elems[i];
    if (tp->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rc = kafka_fail(s, err, STORE_EIO, "committed offset", tp->err);
    } else if (tp->offset < 0) {
      /* The group's consumers would start where their auto.offset.reset
       * says; the beginning reads every message they might meet. */
      p->start_from = "no committed offset: beginning";
    } else if (tp->offset < low[i]) {
      p->start_from = "committed offset below the low watermark: beginning";
    } else {
      p->start_offset = tp->offset;
      p->start_from = "committed";
    }
  }
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  return rc;
}

static int kafka_from_time(kafka_store *s, store_error *err) {
  rd_kafka_topic_partition_list_t *l = kafka_list(s);
  if (l == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  for (int i = 0; i < l->cnt; i++)
    l->elems[i].offset = s->target->kafka->since_ms;
  int rc = STORE_OK;
  rd_kafka_resp_err_t e = rd_kafka_offsets_for_times(s->rk, l, s->timeout_ms);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    rc = kafka_fail(s, err, STORE_EIO, "offsets for the time", e);
  for (size_t i = 0; rc == STORE_OK && i < s->n_parts; i++) {
    store_partition *p = &s->parts[i].info;
    const rd_kafka_topic_partition_t *tp = &l->elems[i];
    if (tp->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rc = kafka_fail(s, err, STORE_EIO, "offset for the time", tp->err);
    } else if (tp->offset < 0 || tp->offset >= p->end_offset) {
      p->start_offset = p->end_offset;
      p->start_from = "no message at or after the time";
    } else {
      if (tp->offset > p->start_offset) p->start_offset = tp->offset;
      p->start_from = "time";
    }
  }
  rd_kafka_topic_partition_list_destroy(l);
  return rc;
}

/* Chooses each partition's start and end offsets. */
static int kafka_plan(kafka_store *s, store_error *err) {
  int rc = kafka_partitions(s, err);
  if (rc != STORE_OK) return rc;
  int64_t *low = calloc(s->n_parts, sizeof *low);
  if (low == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  rc = kafka_watermarks(s, low, err);
  if (rc == STORE_OK && s->target->kafka->start == STORE_KAFKA_FROM_GROUP)
    rc = kafka_from_group(s, low, err);
  else if (rc == STORE_OK && s->target->kafka->start == STORE_KAFKA_FROM_TIME)
    rc = kafka_from_time(s, err);
  const store_kafka *k = s->target->kafka;
  for (size_t i = 0; rc == STORE_OK && i < s->n_parts; i++) {
    store_partition *p = &s->parts[i].info;
    if (k->start_at == NULL || p->partition < 0 ||
        (size_t)p->partition >= k->n_start_at || k->start_at[p->partition] < 0)
      continue;
    int64_t at = k->start_at[p->partition];
    if (at < low[i]) {
      /* Retention deleted what comes next: never a silent gap. */
      rc = store__fail(err, STORE_EIO,
                       "target '%s' (%s, topic %s): partition %" PRId32
                       " should be read from offset %" PRId64
                       ", but it now begins at %" PRId64
                       " (retention deleted the messages between)",
                       s->name, s->shown, s->topic, p->partition, at, low[i]);
      break;
    }
    p->start_offset = at;
    p->start_from =
        k->start_at_label != NULL ? k->start_at_label : "given offset";
  }
  free(low);
  for (size_t i = 0; rc == STORE_OK && i < s->n_parts; i++)
    if (s->parts[i].info.start_offset > s->parts[i].info.end_offset)
      s->parts[i].info.start_offset = s->parts[i].info.end_offset;
  return rc;
}

static int64_t kafka_estimate_rows(store *base) {
  kafka_store *s = (kafka_store *)base;
  int64_t n = 0;
  for (size_t i = 0; i < s->n_parts; i++)
    n += s->parts[i].info.end_offset - s->parts[i].info.start_offset;
  return n;
}

static void kafka_part_done(kafka_store *s, kafka_part *p) {
  if (p->done) return;
  p->done = 1;
  s->n_done++;
  if (p->started) {
    rd_kafka_consume_stop(s->rkt, p->info.partition);
    p->started = 0;
  }
}

static int kafka_scan(store *base, store_error *err) {
  kafka_store *s = (kafka_store *)base;
  if (s->scanning)
    return store__fail(err, STORE_EUSAGE, "target '%s': scanned twice",
                       s->name);
  s->scanning = 1;
  s->queue = rd_kafka_queue_new(s->rk);
  if (s->queue == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  for (size_t i = 0; i < s->n_parts; i++) {
    kafka_part *p = &s->parts[i];
    if (p->info.start_offset >= p->info.end_offset) {
      kafka_part_done(s, p);
      continue;
    }
    if (rd_kafka_consume_start_queue(s->rkt, p->info.partition,
                                     p->info.start_offset, s->queue) != 0)
      return kafka_fail(s, err, STORE_EIO, "cannot start reading a partition",
                        rd_kafka_last_error());
    p->started = 1;
  }
  return STORE_OK;
}

static kafka_part *kafka_part_of(kafka_store *s, int32_t partition) {
  for (size_t i = 0; i < s->n_parts; i++)
    if (s->parts[i].info.partition == partition) return &s->parts[i];
  return NULL;
}

int store__kafka_header_of(rd_kafka_message_t *m, const char *name,
                           const void **value, size_t *len) {
  rd_kafka_headers_t *h = NULL;
  *value = NULL;
  *len = 0;
  if (m == NULL ||
      rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      rd_kafka_header_get_last(h, name, value, len) !=
          RD_KAFKA_RESP_ERR_NO_ERROR)
    return 0;
  return 1;
}

/* A header's value as a string, or NULL. */
static const char *kafka_header(rd_kafka_headers_t *h, const char *name) {
  const void *v = NULL;
  size_t n = 0;
  if (h == NULL || rd_kafka_header_get_last(h, name, &v, &n) != 0 || v == NULL)
    return NULL;
  return (const char *)v; /* librdkafka NUL-terminates it */
}

static int64_t kafka_write_time(const char *text) {
  if (text == NULL || text[0] < '0' || text[0] > '9') return 0;
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  return errno != 0 || *end != '\0' ? 0 : (int64_t)v;
}

static void kafka_fill_row(kafka_store *s, kafka_part *p, rd_kafka_message_t *m,
                           store_row *row) {
  snprintf(s->key, sizeof s->key, "%" PRId32 "@%" PRId64, m->partition,
           m->offset);
  row->key = s->key;
  row->key_len = strlen(s->key);
  row->value = m->payload;
  row->value_len = m->payload != NULL ? m->len : 0;
  row->value_is_null = m->payload == NULL;
  row->has_partition = 1;
  row->partition = m->partition;
  rd_kafka_headers_t *h = NULL;
  if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR) h = NULL;
  s->prov.flag_key = kafka_header(h, "rollsafe-flag");
  s->prov.variant = kafka_header(h, "rollsafe-variant");
  s->prov.writer_id = kafka_header(h, "rollsafe-writer");
  s->prov.write_time_us =
      kafka_write_time(kafka_header(h, "rollsafe-write-time"));
  if (s->prov.flag_key != NULL || s->prov.variant != NULL ||
      s->prov.writer_id != NULL || s->prov.write_time_us != 0)
    row->provenance = &s->prov;
  if (p->info.first_offset < 0) p->info.first_offset = m->offset;
  p->info.last_offset = m->offset;
  p->info.messages++;
}

static double kafka_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Errors a consumer sees while brokers restart or move partitions. */
static int kafka_transient(rd_kafka_resp_err_t e) {
  return e == RD_KAFKA_RESP_ERR__TRANSPORT ||
         e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
         e == RD_KAFKA_RESP_ERR__TIMED_OUT ||
         e == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
         e == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
}

static int kafka_next(store *base, store_row *row, store_error *err) {
  kafka_store *s = (kafka_store *)base;
  if (s->msg != NULL) {
    rd_kafka_message_destroy(s->msg);
    s->msg = NULL;
  }
  double waited_since = kafka_now();
  while (s->scanning && s->n_done < s->n_parts) {
    if (s->stop)
      return store__fail(err, STORE_EIO, "target '%s': interrupted", s->name);
    rd_kafka_message_t *m = rd_kafka_consume_queue(s->queue, KAFKA_POLL_MS);
    if (m == NULL || kafka_transient(m->err)) {
      /* librdkafka reconnects by itself; the wait stays bounded. */
      rd_kafka_resp_err_t e = m != NULL ? m->err : RD_KAFKA_RESP_ERR__TIMED_OUT;
      if (m != NULL) rd_kafka_message_destroy(m);
      if ((kafka_now() - waited_since) * 1000.0 >= s->timeout_ms)
        return kafka_fail(s, err, STORE_EIO,
                          "no message from the brokers in time", e);
      continue;
    }
    waited_since = kafka_now();
    kafka_part *p = kafka_part_of(s, m->partition);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (p != NULL) kafka_part_done(s, p);
      rd_kafka_message_destroy(m);
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      int rc = store__fail(
          err, STORE_EIO,
          "target '%s' (%s, topic %s): partition %" PRId32 ": %s", s->name,
          s->shown, s->topic, m->partition, rd_kafka_err2str(m->err));
      rd_kafka_message_destroy(m);
      return rc;
    }
    if (p == NULL || p->done || m->offset >= p->info.end_offset) {
      if (p != NULL) kafka_part_done(s, p);
      rd_kafka_message_destroy(m);
      continue;
    }
    kafka_fill_row(s, p, m, row);
    if (m->offset + 1 >= p->info.end_offset) kafka_part_done(s, p);
    s->msg = m;
    return 1;
  }
  return 0;
}

static void kafka_cancel(store *base) {
  kafka_store *s = (kafka_store *)base;
  for (size_t i = 0; i < s->n_parts; i++) kafka_part_done(s, &s->parts[i]);
}

static void kafka_interrupt(store *base) {
  ((kafka_store *)base)->stop = 1;
}

static void kafka_partitions_of(const store *base, const store_partition **out,
                                size_t *n) {
  const kafka_store *s = (const kafka_store *)base;
  for (size_t i = 0; i < s->n_parts; i++) s->infos[i] = s->parts[i].info;
  *out = s->infos;
  *n = s->n_parts;
}

static void kafka_close(store *base) {
  kafka_store *s = (kafka_store *)base;
  if (s == NULL) return;
  if (s->msg != NULL) rd_kafka_message_destroy(s->msg);
  for (size_t i = 0; i < s->n_parts; i++)
    if (s->parts[i].started)
      rd_kafka_consume_stop(s->rkt, s->parts[i].info.partition);
  if (s->queue != NULL) rd_kafka_queue_destroy(s->queue);
  if (s->rkt != NULL) rd_kafka_topic_destroy(s->rkt);
  if (s->rk != NULL)
    rd_kafka_destroy_flags(s->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  free(s->parts);
  free(s->infos);
  free(s->name);
  free(s->topic);
  free(s->shown);
  free(s);
}

rd_kafka_message_t *store__kafka_message(const store *base) {
  if (base == NULL || base->ops != &kafka_ops) return NULL;
  return ((const kafka_store *)base)->msg;
}

int store_kafka_row_header(const store *s, const char *name, const void **value,
                           size_t *len) {
  rd_kafka_message_t *m = store__kafka_message(s);
  return store__kafka_header_of(m, name, value, len);
}

const void *store_kafka_row_key(const store *s, size_t *len) {
  rd_kafka_message_t *m = store__kafka_message(s);
  *len = m != NULL && m->key != NULL ? m->key_len : 0;
  return m != NULL ? m->key : NULL;
}

int64_t store_kafka_row_timestamp(const store *s) {
  rd_kafka_message_t *m = store__kafka_message(s);
  if (m == NULL) return 0;
  rd_kafka_timestamp_type_t type;
  int64_t ts = rd_kafka_message_timestamp(m, &type);
  return ts > 0 ? ts : 0;
}

int64_t store_kafka_row_offset(const store *s) {
  rd_kafka_message_t *m = store__kafka_message(s);
  return m != NULL ? m->offset : -1;
}

static const store_ops kafka_ops = {
    .estimate_rows = kafka_estimate_rows,
    .scan = kafka_scan,
    .next = kafka_next,
    .cancel = kafka_cancel,
    .interrupt = kafka_interrupt,
    .close = kafka_close,
    .partitions = kafka_partitions_of,
};

int store__kafka_open(store **out, const store_target *t, store_error *err) {
  *out = NULL;
  const store_kafka *k = t->kafka;
  const char *name = t->name != NULL ? t->name : k->topic;
  if (k->start == STORE_KAFKA_FROM_GROUP &&
      (k->group == NULL || k->group[0] == '\0'))
    return store__fail(err, STORE_EUSAGE, "target '%s': no consumer group",
                       name);
  kafka_store *s = calloc(1, sizeof *s);
  if (s == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  s->base.ops = &kafka_ops;
  s->target = t;
  s->timeout_ms = k->timeout_ms > 0 ? k->timeout_ms : 30000;
  s->name = store__kafka_strdup(name);
  s->topic = store__kafka_strdup(k->topic);
  s->shown = store__kafka_strdup(store__kafka_shown(t));
  if (s->name == NULL || s->topic == NULL || s->shown == NULL) {
    kafka_close(&s->base);
    return store__fail(err, STORE_ENOMEM, "out of memory");
  }
  snprintf(s->base.description, sizeof s->base.description,
           "kafka-topic %s, topic %s", store__kafka_shown(t), k->topic);
  int rc = store__kafka_client(&s->rk, t, name, NULL, err);
  if (rc == STORE_OK) rc = kafka_plan(s, err);
  if (rc == STORE_OK) {
    /* After the plan: the topic is known to exist. */
    s->rkt = rd_kafka_topic_new(s->rk, k->topic, NULL);
    if (s->rkt == NULL)
      rc = kafka_fail(s, err, STORE_EUSAGE, "invalid topic",
                      rd_kafka_last_error());
  }
  s->target = NULL; /* the caller's; only the open reads it */
  if (rc != STORE_OK) {
    kafka_close(&s->base);
    return rc;
  }
  *out = &s->base;
  return STORE_OK;
}
