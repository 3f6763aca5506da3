#define _POSIX_C_SOURCE 200809L
/*
 * src/store/kafka_write.c: producing to Kafka topics and reading single
 * messages (store_kafka.h).
 *
 * The producer is idempotent with the gapless guarantee: librdkafka keeps
 * each partition's messages in the order produced, retries without
 * duplicating, and turns a message it could not deliver without a gap into
 * a fatal error, which stops the run. What a killed run had handed to the
 * brokers is therefore, in each partition, a prefix of what it meant to
 * write: a resumed run reads the last message back and goes on after it.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#include "kafka_impl.h"
#include "store_impl.h"
#include "store_kafka.h"

/* How long one wait lasts, so that progress is checked often. */
#define WRITE_POLL_MS 100

size_t store_kafka_original_format(char *out, size_t size, const char *topic,
                                   int32_t partition, int64_t offset) {
  int n =
      snprintf(out, size, "%s/%" PRId32 "/%" PRId64, topic, partition, offset);
  return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

int store_kafka_original_parse(const void *text, size_t len,
                               char topic[STORE_KAFKA_TOPIC_MAX],
                               int32_t *partition, int64_t *offset) {
  const char *t = text;
  if (t == NULL || len == 0) return -1;
  /* TOPIC/PARTITION/OFFSET: topic names have no '/', so the last two
   * slashes split it. */
  size_t slash2 = len, slash1 = len;
  for (size_t i = len; i > 0; i--)
    if (t[i - 1] == '/') {
      if (slash2 == len)
        slash2 = i - 1;
      else {
        slash1 = i - 1;
        break;
      }
    }
  if (slash1 == len || slash1 == 0 || slash1 >= STORE_KAFKA_TOPIC_MAX)
    return -1;
  int64_t nums[2];
  size_t from[2] = {slash1 + 1, slash2 + 1}, to[2] = {slash2, len};
  for (int k = 0; k < 2; k++) {
    if (from[k] >= to[k] || to[k] - from[k] > 18) return -1;
    int64_t v = 0;
    for (size_t i = from[k]; i < to[k]; i++) {
      if (t[i] < '0' || t[i] > '9') return -1;
      v = v * 10 + (t[i] - '0');
    }
    nums[k] = v;
  }
  if (nums[0] > INT32_MAX) return -1;
  memcpy(topic, t, slash1);
  topic[slash1] = '\0';
  *partition = (int32_t)nums[0];
  *offset = nums[1];
  return 0;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *target_name(const store_target *t) {
  return t->name != NULL ? t->name : t->kafka->topic;
}

static int timeout_of(const store_target *t) {
  return t->kafka->timeout_ms > 0 ? t->kafka->timeout_ms : 30000;
}

/* The partition count of @p topic from the metadata of every topic (asking
 * for one alone may create it on a broker that creates topics on first
 * use): 0 when there is no such topic. */
static int partition_count(rd_kafka_t *rk, const store_target *t,
                           const char *topic, size_t *n, store_error *err) {
  const struct rd_kafka_metadata *md = NULL;
  *n = 0;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1, NULL, &md, timeout_of(t));
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    return store__fail(err, STORE_EIO,
                       "target '%s' (%s, topic %s): no metadata from the "
                       "brokers: %s",
                       target_name(t), store__kafka_shown(t), topic,
                       rd_kafka_err2str(e));
  int rc = STORE_OK;
  for (int i = 0; i < md->topic_cnt; i++) {
    if (strcmp(md->topics[i].topic, topic) != 0) continue;
    if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
      *n = (size_t)md->topics[i].partition_cnt;
    else if (md->topics[i].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
      rc = store__fail(err, STORE_EIO,
                       "target '%s' (%s): metadata of topic %s: %s",
                       target_name(t), store__kafka_shown(t), topic,
                       rd_kafka_err2str(md->topics[i].err));
    break;
  }
  rd_kafka_metadata_destroy(md);
  return rc;
}

/* ---- producing ---------------------------------------------------------- */

struct store_kafka_writer {
  rd_kafka_t *rk;
  rd_kafka_topic_t *rkt;
  const store_target *t; /* borrowed: outlives the writer */
  char *topic;
  size_t partitions;
  int timeout_ms;
  store_kafka_delivered_fn delivered;
  void *ctx;
  int failed;
  char why[400];
};

/* Properties that would weaken what the producer promises. */
static int producer_property_refused(const char *name) {
  static const char *const refused[] = {"enable.idempotence",
                                        "acks",
                                        "request.required.acks",
                                        "transactional.id",
                                        "enable.gapless.guarantee",
                                        "max.in.flight.requests.per.connection",
                                        "max.in.flight",
                                        "bootstrap.servers",
                                        "metadata.broker.list",
                                        NULL};
  for (size_t i = 0; refused[i] != NULL; i++)
    if (strcmp(name, refused[i]) == 0) return 1;
  return 0;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque) {
  (void)rk;
  store_kafka_writer *w = opaque;
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (!w->failed)
      snprintf(w->why, sizeof w->why,
               "a message to partition %" PRId32 " was not delivered: %s",
               m->partition, rd_kafka_err2str(m->err));
    w->failed = 1;
    return;
  }
  if (w->delivered != NULL)
    w->delivered(w->ctx, (uint64_t)(uintptr_t)m->_private, m->partition,
                 m->offset);
}

static int writer_fail(store_kafka_writer *w, store_error *err) {
  char fatal[256];
  if (!w->failed && rd_kafka_fatal_error(w->rk, fatal, sizeof fatal) !=
                        RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(w->why, sizeof w->why, "the producer stopped: %s", fatal);
    w->failed = 1;
  }
  if (!w->failed) return STORE_OK;
  return store__fail(err, STORE_EIO, "target '%s' (%s, topic %s): %s",
                     target_name(w->t), store__kafka_shown(w->t), w->topic,
                     w->why);
}

int store_kafka_writer_open(store_kafka_writer **out, const store_target *t,
                            const char *topic, size_t min_partitions,
                            store_kafka_delivered_fn delivered, void *ctx,
                            store_error *err) {
  *out = NULL;
  const store_kafka *k = t->kafka;
  const char *name = target_name(t);
  for (size_t i = 0; i < k->n_properties; i++)
    if (producer_property_refused(k->properties[2 * i]))
      return store__fail(err, STORE_EUSAGE,
                         "target '%s': Kafka property '%s' cannot be set: "
                         "rollsafe's producer is idempotent (acks=all, at "
                         "most 5 requests in flight, no transactions)",
                         name, k->properties[2 * i]);
  store_kafka_writer *w = calloc(1, sizeof *w);
  if (w == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  w->t = t;
  w->timeout_ms = timeout_of(t);
  w->delivered = delivered;
  w->ctx = ctx;
  w->topic = store__kafka_strdup(topic);
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (w->topic == NULL || conf == NULL) {
    if (conf != NULL) rd_kafka_conf_destroy(conf);
    store_kafka_writer_close(w);
    return store__fail(err, STORE_ENOMEM, "out of memory");
  }
  char timeout[24];
  snprintf(timeout, sizeof timeout, "%d", w->timeout_ms);
  const char *fixed[][2] = {
      {"bootstrap.servers", t->connection},
      {"client.id", "rollsafe"},
      {"enable.idempotence", "true"},
      {"enable.gapless.guarantee", "true"},
      {"acks", "all"},
      {"max.in.flight.requests.per.connection", "5"},
      {"message.timeout.ms", timeout},
      {"socket.timeout.ms", timeout},
  };
  int rc = STORE_OK;
  for (size_t i = 0; rc == STORE_OK && i < k->n_properties; i++)
    rc = store__kafka_set(conf, k->properties[2 * i], k->properties[2 * i + 1],
                          name, err);
  for (size_t i = 0; rc == STORE_OK && i < sizeof fixed / sizeof fixed[0]; i++)
    rc = store__kafka_set(conf, fixed[i][0], fixed[i][1], name, err);
  if (rc != STORE_OK) {
    rd_kafka_conf_destroy(conf);
    store_kafka_writer_close(w);
    return rc;
  }
  rd_kafka_conf_set_log_cb(conf, store__kafka_quiet_log);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  rd_kafka_conf_set_opaque(conf, w);
  char why[512];
  w->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
  if (w->rk == NULL) {
    rd_kafka_conf_destroy(conf);
    store_kafka_writer_close(w);
    return store__fail(err, STORE_EUSAGE,
                       "target '%s': cannot create a Kafka producer: %s", name,
                       why);
  }
  rc = partition_count(w->rk, t, topic, &w->partitions, err);
  if (rc == STORE_OK && w->partitions == 0)
    rc = store__fail(err, STORE_EUSAGE,
                     "target '%s' (%s): no topic '%s' on the brokers: create "
                     "it first (rollsafe creates no topics), with at least "
                     "%zu partitions",
                     name, store__kafka_shown(t), topic, min_partitions);
  else if (rc == STORE_OK && w->partitions < min_partitions)
    rc = store__fail(err, STORE_EUSAGE,
                     "target '%s' (%s): topic '%s' has %zu partitions, fewer "
                     "than the %zu of topic %s: each message goes to the "
                     "partition of the same number",
                     name, store__kafka_shown(t), topic, w->partitions,
                     min_partitions, k->topic);
  if (rc == STORE_OK) {
    w->rkt = rd_kafka_topic_new(w->rk, topic, NULL);
    if (w->rkt == NULL)
      rc = store__fail(err, STORE_EUSAGE, "target '%s': topic '%s': %s", name,
                       topic, rd_kafka_err2str(rd_kafka_last_error()));
  }
  if (rc != STORE_OK) {
    store_kafka_writer_close(w);
    return rc;
  }
  *out = w;
  return STORE_OK;
}

size_t store_kafka_writer_partitions(const store_kafka_writer *w) {
  return w->partitions;
}

struct store_kafka_peek {
  rd_kafka_t *rk;
  rd_kafka_topic_t *rkt;
  const store_target *t;
  char *topic;
  int timeout_ms;
  rd_kafka_message_t *msg;
};

/* The headers of the message a copy is made from, with the last of each
 * name in @p m->strip_last left out, then @p m's extra ones. */
static rd_kafka_headers_t *build_headers(const store_kafka_out *m) {
  rd_kafka_message_t *from = NULL;
  if (m->headers_of_row != NULL)
    from = store__kafka_message(m->headers_of_row);
  else if (m->headers_of_peek != NULL)
    from = m->headers_of_peek->msg;
  rd_kafka_headers_t *src = NULL;
  if (from != NULL &&
      rd_kafka_message_headers(from, &src) != RD_KAFKA_RESP_ERR_NO_ERROR)
    src = NULL;
  size_t n_src = src != NULL ? rd_kafka_header_cnt(src) : 0;
  rd_kafka_headers_t *h = rd_kafka_headers_new(n_src + m->n_extra);
  if (h == NULL) return NULL;
  for (size_t i = 0; i < n_src; i++) {
    const char *name;
    const void *value;
    size_t len;
    if (rd_kafka_header_get_all(src, i, &name, &value, &len) !=
        RD_KAFKA_RESP_ERR_NO_ERROR)
      break;
    int skip = 0;
    for (size_t s = 0; !skip && s < m->n_strip_last; s++) {
      if (strcmp(name, m->strip_last[s]) != 0) continue;
      /* Only the last header of that name. */
      skip = 1;
      for (size_t j = i + 1; skip && j < n_src; j++) {
        const char *later;
        const void *v2;
        size_t l2;
        if (rd_kafka_header_get_all(src, j, &later, &v2, &l2) ==
                RD_KAFKA_RESP_ERR_NO_ERROR &&
            strcmp(later, name) == 0)
          skip = 0;
      }
    }
    if (!skip) rd_kafka_header_add(h, name, -1, value, len);
  }
  for (size_t i = 0; i < m->n_extra; i++)
    rd_kafka_header_add(h, m->extra[i].name, -1, m->extra[i].value,
                        m->extra[i].len);
  return h;
}

int store_kafka_produce(store_kafka_writer *w, const store_kafka_out *m,
                        store_error *err) {
  int rc = writer_fail(w, err);
  if (rc != STORE_OK) return rc;
  rd_kafka_headers_t *h = build_headers(m);
  if (h == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  double since = now_seconds();
  void *value = (void *)m->value;
  size_t value_len = m->value != NULL ? m->value_len : 0;
  const void *key = m->key;
  size_t key_len = m->key != NULL ? m->key_len : 0;
  void *opaque = (void *)(uintptr_t)m->tag;
  for (;;) {
    rd_kafka_resp_err_t e = rd_kafka_producev(
        w->rk, RD_KAFKA_V_RKT(w->rkt), RD_KAFKA_V_PARTITION(m->partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(value, value_len), RD_KAFKA_V_KEY(key, key_len),
        RD_KAFKA_V_TIMESTAMP(m->timestamp_ms), RD_KAFKA_V_HEADERS(h),
        RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break; /* the headers are its own */
    if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL ||
        (now_seconds() - since) * 1000.0 >= w->timeout_ms) {
      rd_kafka_headers_destroy(h);
      if (!w->failed)
        snprintf(w->why, sizeof w->why,
                 "cannot produce to partition %" PRId32 ": %s", m->partition,
                 rd_kafka_err2str(e));
      w->failed = 1;
      return writer_fail(w, err);
    }
    /* The queue is full: deliveries make room. */
    rd_kafka_poll(w->rk, WRITE_POLL_MS);
    rc = writer_fail(w, err);
    if (rc != STORE_OK) {
      rd_kafka_headers_destroy(h);
      return rc;
    }
  }
  rd_kafka_poll(w->rk, 0);
  return writer_fail(w, err);
}

int store_kafka_poll(store_kafka_writer *w, store_error *err) {
  rd_kafka_poll(w->rk, 0);
  return writer_fail(w, err);
}

int store_kafka_flush(store_kafka_writer *w, store_error *err) {
  double since = now_seconds();
  int last = rd_kafka_outq_len(w->rk);
  while (last > 0) {
    rd_kafka_poll(w->rk, WRITE_POLL_MS);
    int rc = writer_fail(w, err);
    if (rc != STORE_OK) return rc;
    int now = rd_kafka_outq_len(w->rk);
    if (now < last) since = now_seconds();
    last = now;
    if (last > 0 && (now_seconds() - since) * 1000.0 >= w->timeout_ms) {
      snprintf(w->why, sizeof w->why,
               "%d messages not delivered in time (no answer from the "
               "brokers)",
               last);
      w->failed = 1;
      return writer_fail(w, err);
    }
  }
  return writer_fail(w, err);
}

void store_kafka_writer_close(store_kafka_writer *w) {
  if (w == NULL) return;
  if (w->rkt != NULL) rd_kafka_topic_destroy(w->rkt);
  if (w->rk != NULL) {
    /* What is still queued is dropped, never delivered behind a later
     * run's back. */
    rd_kafka_purge(w->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(w->rk, 0);
    rd_kafka_destroy(w->rk);
  }
  free(w->topic);
  free(w);
}

/* ---- reading one message at a time --------------------------------------- */

static int peek_fail(const store_kafka_peek *p, store_error *err, int status,
                     const char *what, rd_kafka_resp_err_t e) {
  return store__fail(err, status, "target '%s' (%s, topic %s): %s: %s",
                     target_name(p->t), store__kafka_shown(p->t), p->topic,
                     what, rd_kafka_err2str(e));
}

int store_kafka_peek_open(store_kafka_peek **out, const store_target *t,
                          const char *topic, store_error *err) {
  *out = NULL;
  store_kafka_peek *p = calloc(1, sizeof *p);
  if (p == NULL) return store__fail(err, STORE_ENOMEM, "out of memory");
  p->t = t;
  p->timeout_ms = timeout_of(t);
  p->topic = store__kafka_strdup(topic);
  if (p->topic == NULL) {
    store_kafka_peek_close(p);
    return store__fail(err, STORE_ENOMEM, "out of memory");
  }
  int rc = store__kafka_client(&p->rk, t, target_name(t), NULL, err);
  if (rc != STORE_OK) {
    store_kafka_peek_close(p);
    return rc;
  }
  *out = p;
  return STORE_OK;
}

int store_kafka_peek_partitions(store_kafka_peek *p, size_t *n,
                                store_error *err) {
  return partition_count(p->rk, p->t, p->topic, n, err);
}

int store_kafka_peek_watermarks(store_kafka_peek *p, int32_t partition,
                                int64_t *low, int64_t *high, store_error *err) {
  rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
      p->rk, p->topic, partition, low, high, p->timeout_ms);
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR) return STORE_OK;
  char what[64];
  snprintf(what, sizeof what, "watermarks of partition %" PRId32, partition);
  return peek_fail(p, err, STORE_EIO, what, e);
}

/* Errors a consumer sees while brokers restart or move partitions. */
static int transient(rd_kafka_resp_err_t e) {
  return e == RD_KAFKA_RESP_ERR__TRANSPORT ||
         e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
         e == RD_KAFKA_RESP_ERR__TIMED_OUT ||
         e == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
         e == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE;
}

int store_kafka_peek_at(store_kafka_peek *p, int32_t partition, int64_t offset,
                        int64_t high, int64_t *at, store_error *err) {
  if (p->msg != NULL) {
    rd_kafka_message_destroy(p->msg);
    p->msg = NULL;
  }
  *at = -1;
  if (offset >= high) return 0;
  if (p->rkt == NULL) {
    p->rkt = rd_kafka_topic_new(p->rk, p->topic, NULL);
    if (p->rkt == NULL)
      return peek_fail(p, err, STORE_EUSAGE, "invalid topic",
                       rd_kafka_last_error());
  }
  if (rd_kafka_consume_start(p->rkt, partition, offset) != 0)
    return peek_fail(p, err, STORE_EIO, "cannot start reading a partition",
                     rd_kafka_last_error());
  int rc = 0;
  double since = now_seconds();
  for (;;) {
    rd_kafka_message_t *m = rd_kafka_consume(p->rkt, partition, WRITE_POLL_MS);
    if (m == NULL || transient(m->err)) {
      rd_kafka_resp_err_t e = m != NULL ? m->err : RD_KAFKA_RESP_ERR__TIMED_OUT;
      if (m != NULL) rd_kafka_message_destroy(m);
      if ((now_seconds() - since) * 1000.0 >= p->timeout_ms) {
        rc = peek_fail(p, err, STORE_EIO, "no message from the brokers in time",
                       e);
        break;
      }
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      rd_kafka_message_destroy(m);
      break;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      char what[64];
      snprintf(what, sizeof what, "partition %" PRId32, partition);
      rc = peek_fail(p, err, STORE_EIO, what, m->err);
      rd_kafka_message_destroy(m);
      break;
    }
    if (m->offset < offset) {
      rd_kafka_message_destroy(m);
      continue;
    }
    if (m->offset >= high) {
      rd_kafka_message_destroy(m);
      break;
    }
    p->msg = m;
    *at = m->offset;
    rc = 1;
    break;
  }
  rd_kafka_consume_stop(p->rkt, partition);
  return rc;
}

int store_kafka_peek_header(const store_kafka_peek *p, const char *name,
                            const void **value, size_t *len) {
  return store__kafka_header_of(p->msg, name, value, len);
}

const void *store_kafka_peek_key(const store_kafka_peek *p, size_t *len) {
  *len = p->msg != NULL && p->msg->key != NULL ? p->msg->key_len : 0;
  return p->msg != NULL ? p->msg->key : NULL;
}

const void *store_kafka_peek_value(const store_kafka_peek *p, size_t *len) {
  *len = p->msg != NULL && p->msg->payload != NULL ? p->msg->len : 0;
  return p->msg != NULL ? p->msg->payload : NULL;
}

int64_t store_kafka_peek_timestamp(const store_kafka_peek *p) {
  if (p->msg == NULL) return 0;
  rd_kafka_timestamp_type_t type;
  int64_t ts = rd_kafka_message_timestamp(p->msg, &type);
  return ts > 0 ? ts : 0;
}

void store_kafka_peek_close(store_kafka_peek *p) {
  if (p == NULL) return;
  if (p->msg != NULL) rd_kafka_message_destroy(p->msg);
  if (p->rkt != NULL) rd_kafka_topic_destroy(p->rkt);
  if (p->rk != NULL)
    rd_kafka_destroy_flags(p->rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  free(p->topic);
  free(p);
}

/* ---- the cluster's say -------------------------------------------------- */

int store_kafka_cleanup_policy(const store_target *t, const char *topic,
                               char *out, size_t size, store_error *err) {
  out[0] = '\0';
  rd_kafka_t *rk = NULL;
  int rc = store__kafka_client(&rk, t, target_name(t), NULL, err);
  if (rc != STORE_OK) return rc;
  int timeout = timeout_of(t);
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_ConfigResource_t *res =
      rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
  rd_kafka_AdminOptions_t *opts =
      rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
  rd_kafka_event_t *ev = NULL;
  if (q == NULL || res == NULL || opts == NULL) {
    rc = store__fail(err, STORE_ENOMEM, "out of memory");
    goto out;
  }
  char why[256];
  rd_kafka_AdminOptions_set_request_timeout(opts, timeout, why, sizeof why);
  rd_kafka_DescribeConfigs(rk, &res, 1, opts, q);
  ev = rd_kafka_queue_poll(q, timeout + 1000);
  const char *problem = NULL;
  char problem_buf[256];
  if (ev == NULL) {
    problem = "no answer in time";
  } else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(problem_buf, sizeof problem_buf, "%s",
             rd_kafka_event_error_string(ev));
    problem = problem_buf;
  } else {
    const rd_kafka_DescribeConfigs_result_t *r =
        rd_kafka_event_DescribeConfigs_result(ev);
    size_t n = 0;
    const rd_kafka_ConfigResource_t **rs =
        r != NULL ? rd_kafka_DescribeConfigs_result_resources(r, &n) : NULL;
    if (n != 1) {
      problem = "no description of the topic";
    } else if (rd_kafka_ConfigResource_error(rs[0]) !=
               RD_KAFKA_RESP_ERR_NO_ERROR) {
      snprintf(problem_buf, sizeof problem_buf, "%s",
               rd_kafka_ConfigResource_error_string(rs[0])
                   ? rd_kafka_ConfigResource_error_string(rs[0])
                   : rd_kafka_err2str(rd_kafka_ConfigResource_error(rs[0])));
      problem = problem_buf;
    } else {
      size_t nc = 0;
      const rd_kafka_ConfigEntry_t **c =
          rd_kafka_ConfigResource_configs(rs[0], &nc);
      for (size_t i = 0; i < nc; i++)
        if (strcmp(rd_kafka_ConfigEntry_name(c[i]), "cleanup.policy") == 0 &&
            rd_kafka_ConfigEntry_value(c[i]) != NULL)
          snprintf(out, size, "%s", rd_kafka_ConfigEntry_value(c[i]));
      if (out[0] == '\0') problem = "the description has no cleanup.policy";
    }
  }
  if (problem != NULL)
    rc = store__fail(err, STORE_EIO,
                     "target '%s' (%s): cannot read the cleanup.policy of "
                     "topic %s (DescribeConfigs): %s",
                     target_name(t), store__kafka_shown(t), topic, problem);
out:
  if (ev != NULL) rd_kafka_event_destroy(ev);
  if (opts != NULL) rd_kafka_AdminOptions_destroy(opts);
  if (res != NULL) rd_kafka_ConfigResource_destroy(res);
  if (q != NULL) rd_kafka_queue_destroy(q);
  rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  return rc;
}

int store_kafka_committed(const store_target *t, int64_t *offsets, size_t n,
                          store_error *err) {
  const store_kafka *k = t->kafka;
  rd_kafka_t *rk = NULL;
  int rc = store__kafka_client(&rk, t, target_name(t), k->group, err);
  if (rc != STORE_OK) return rc;
  rd_kafka_topic_partition_list_t *l =
      rd_kafka_topic_partition_list_new((int)n);
  if (l == NULL) {
    rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    return store__fail(err, STORE_ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++)
    rd_kafka_topic_partition_list_add(l, k->topic, (int32_t)i);
  rd_kafka_resp_err_t e = rd_kafka_committed(rk, l, timeout_of(t));
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
    rc = store__fail(err, STORE_EIO,
                     "target '%s' (%s, topic %s): committed offsets of group "
                     "%s: %s",
                     target_name(t), store__kafka_shown(t), k->topic, k->group,
                     rd_kafka_err2str(e));
  for (size_t i = 0; rc == STORE_OK && i < n; i++)
    offsets[i] =
        l->elems[i].err == RD_KAFKA_RESP_ERR_NO_ERROR && l->elems[i].offset >= 0
            ? l->elems[i].offset
            : -1;
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  return rc;
}
