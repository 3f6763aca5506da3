#define _POSIX_C_SOURCE 200809L
/*
 * src/store/prefetch.c: a read-only store that reads its rows ahead on a
 * thread of its own.
 *
 * A scan alternates between waiting for rows (libpq receiving and parsing
 * COPY data, SQLite stepping through pages) and classifying them. Here the
 * inner store's next() runs on a reader thread that fills batches of rows,
 * copied, while the caller classifies the previous batch, so the two
 * overlap when a CPU is free. Row order, values, the error a scan stops on
 * and where it stops are the inner store's: the reader delivers every row
 * the inner store gave before an error, then the error.
 *
 * Memory stays flat: PF_BATCHES batches of about PF_BATCH_BYTES each
 * (a larger single row grows its batch to fit).
 *
 * Stopping: cancel and close ask the reader to stop, interrupt the inner
 * store's running call (so a reader waiting on the server returns), wait
 * for the thread, then cancel or close the inner store. The signal handler
 * calls interrupt(), which only forwards to the inner store's
 * async-signal-safe interrupt; the reader thread blocks SIGINT and SIGTERM
 * so that they are handled on the caller's thread, as without it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

#define PF_BATCHES 3
#define PF_BATCH_ROWS 512
#define PF_BATCH_BYTES ((size_t)128 << 10)

typedef struct pf_row {
  size_t key_off, key_len, value_off, value_len;
  unsigned key_parts;
  int value_is_null;
  int has_cluster;
  int64_t cluster;
} pf_row;

typedef struct pf_batch {
  uint8_t *bytes;
  size_t used, cap;
  pf_row rows[PF_BATCH_ROWS];
  size_t n;
  int last;          /* no batch follows: the scan ended or failed here */
  store_error error; /* after the rows of the last batch: STORE_OK = end */
} pf_batch;

typedef struct pf_store {
  struct store base; /* first: store.c sees a store * */
  store *inner;
  pthread_t thread;
  int running; /* the reader thread was started and not yet joined */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pf_batch batches[PF_BATCHES];
  size_t ready; /* published and not yet released by the caller */
  size_t fill;  /* the batch the reader fills next */
  int stop;     /* the caller asked the reader to stop */
  int done;     /* the reader published its last batch */
  /* The caller's side. */
  pf_batch *cur; /* the batch rows are returned from; NULL before the first */
  size_t cur_row;
  size_t take; /* the batch to take next */
} pf_store;

/* Copies one row into the batch; 0, or -1 when out of memory. */
static int pf_keep(pf_batch *b, const store_row *row) {
  size_t need = row->key_len + 1 + (row->value_is_null ? 0 : row->value_len);
  if (b->cap - b->used < need) {
    size_t cap = b->cap ? b->cap : PF_BATCH_BYTES;
    while (cap - b->used < need) cap *= 2;
    uint8_t *grown = realloc(b->bytes, cap);
    if (grown == NULL) return -1;
    b->bytes = grown;
    b->cap = cap;
  }
  pf_row *r = &b->rows[b->n++];
  r->key_off = b->used;
  r->key_len = row->key_len;
  r->key_parts = row->key_parts;
  r->has_cluster = row->has_cluster;
  r->cluster = row->cluster;
  memcpy(b->bytes + b->used, row->key, row->key_len);
  b->bytes[b->used + row->key_len] = '\0';
  b->used += row->key_len + 1;
  r->value_is_null = row->value_is_null;
  r->value_off = b->used;
  r->value_len = row->value_is_null ? 0 : row->value_len;
  if (r->value_len != 0) memcpy(b->bytes + b->used, row->value, r->value_len);
  b->used += r->value_len;
  return 0;
}

static void *pf_reader(void *arg) {
  pf_store *s = arg;
  for (;;) {
    pthread_mutex_lock(&s->mu);
    while (s->ready == PF_BATCHES && !s->stop)
      pthread_cond_wait(&s->cv, &s->mu);
    int stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    if (stop) return NULL;
    /* The batch at `fill` is the reader's alone until it is published. */
    pf_batch *b = &s->batches[s->fill];
    b->n = 0;
    b->used = 0;
    b->last = 0;
    b->error.status = STORE_OK;
    b->error.message[0] = '\0';
    while (b->n < PF_BATCH_ROWS && b->used < PF_BATCH_BYTES) {
      store_row row;
      int got = s->inner->ops->next(s->inner, &row, &b->error);
      if (got == 1 && pf_keep(b, &row) != 0)
        got = store__fail(&b->error, STORE_ENOMEM, "out of memory");
      if (got != 1) {
        if (got == 0) b->error.status = STORE_OK;
        b->last = 1;
        break;
      }
    }
    pthread_mutex_lock(&s->mu);
    s->ready++;
    s->fill = (s->fill + 1) % PF_BATCHES;
    s->done = b->last;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (b->last) return NULL;
  }
}

/* Stops and joins the reader thread, if it runs. */
static void pf_join(pf_store *s) {
  if (!s->running) return;
  pthread_mutex_lock(&s->mu);
  s->stop = 1;
  int done = s->done;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  /* A reader waiting on the inner store (a slow server) returns. */
  if (!done && s->inner->ops->interrupt != NULL)
    s->inner->ops->interrupt(s->inner);
  pthread_join(s->thread, NULL);
  s->running = 0;
}

static int64_t pf_estimate_rows(store *base) {
  pf_store *s = (pf_store *)base;
  return s->inner->ops->estimate_rows(s->inner);
}

static int pf_scan(store *base, store_error *err) {
  pf_store *s = (pf_store *)base;
  if (s->running || s->cur != NULL)
    return store__fail(err, STORE_EUSAGE, "a scan has already run");
  int rc = s->inner->ops->scan(s->inner, err);
  if (rc != STORE_OK) return rc;
  /* Signals stay with the caller's thread (see the top of the file). */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  int failed = pthread_create(&s->thread, NULL, pf_reader, s);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (failed != 0) {
    s->inner->ops->cancel(s->inner);
    return store__fail(err, STORE_ENOMEM,
                       "cannot start the scan's reader thread");
  }
  s->running = 1;
  return STORE_OK;
}

static int pf_next(store *base, store_row *row, store_error *err) {
  pf_store *s = (pf_store *)base;
  if (!s->running && s->cur == NULL)
    return store__fail(err, STORE_EUSAGE, "no scan is running");
  while (s->cur == NULL || s->cur_row == s->cur->n) {
    if (s->cur != NULL) {
      if (s->cur->last) {
        /* The end, or the error the inner store stopped on; the same
         * answer however often it is asked again. */
        if (s->cur->error.status == STORE_OK) return 0;
        if (err != NULL) *err = s->cur->error;
        return s->cur->error.status;
      }
      pthread_mutex_lock(&s->mu);
      s->ready--; /* the reader may fill it again */
      pthread_cond_broadcast(&s->cv);
      pthread_mutex_unlock(&s->mu);
      s->cur = NULL;
    }
    pthread_mutex_lock(&s->mu);
    while (s->ready == 0) pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    s->cur = &s->batches[s->take];
    s->take = (s->take + 1) % PF_BATCHES;
    s->cur_row = 0;
  }
  const pf_row *r = &s->cur->rows[s->cur_row++];
  row->key = (const char *)s->cur->bytes + r->key_off;
  row->key_len = r->key_len;
  row->key_parts = r->key_parts;
  row->value_is_null = r->value_is_null;
  row->value = r->value_is_null ? NULL : s->cur->bytes + r->value_off;
  row->value_len = r->value_len;
  row->has_cluster = r->has_cluster;
  row->cluster = r->cluster;
  return 1;
}

static void pf_cancel(store *base) {
  pf_store *s = (pf_store *)base;
  pf_join(s);
  s->inner->ops->cancel(s->inner);
}

static void pf_interrupt(store *base) {
  pf_store *s = (pf_store *)base;
  if (s->inner->ops->interrupt != NULL) s->inner->ops->interrupt(s->inner);
}

static void pf_close(store *base) {
  pf_store *s = (pf_store *)base;
  pf_join(s);
  s->inner->ops->close(s->inner);
  for (size_t i = 0; i < PF_BATCHES; i++) free(s->batches[i].bytes);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

static const store_ops pf_ops = {
    .estimate_rows = pf_estimate_rows,
    .scan = pf_scan,
    .next = pf_next,
    .cancel = pf_cancel,
    .interrupt = pf_interrupt,
    .close = pf_close,
};

void store_prefetch(store **s) {
  store *inner = *s;
  if (inner == NULL || inner->ops->run_create != NULL) return; /* a writer */
  /* A stream file reports a truncated tail after its scan (framing), from
   * state the reader thread would be writing; it is a local file read
   * sequentially, which gains nothing from reading ahead. */
  if (inner->ops->framing != NULL) return;
  /* Kafka rows carry a partition and headers the batches do not keep. */
  if (inner->ops->partitions != NULL) return;
  pf_store *p = calloc(1, sizeof *p);
  if (p == NULL) return;
  if (pthread_mutex_init(&p->mu, NULL) != 0) {
    free(p);
    return;
  }
  if (pthread_cond_init(&p->cv, NULL) != 0) {
    pthread_mutex_destroy(&p->mu);
    free(p);
    return;
  }
  p->base.ops = &pf_ops;
  memcpy(p->base.description, inner->description, sizeof p->base.description);
  memcpy(p->base.key, inner->key, sizeof p->base.key);
  p->base.key_parts = inner->key_parts;
  p->base.sample = inner->sample;
  p->inner = inner;
  *s = &p->base;
}
