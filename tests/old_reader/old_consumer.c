#define _POSIX_C_SOURCE 200809L
/*
 * tests/old_reader/old_consumer.c: a worker of the code a flag kill
 * returns to, consuming the outbox order_events.
 *
 * Like old_reader it is built from schema/shop/v1/order.proto alone
 * (old_record.c: protoc-c's code and plain protobuf_c_message_unpack),
 * with nothing of rollsafe. It takes messages the way the outbox's workers
 * do (state pending -> processing -> done):
 *
 *  - PostgreSQL: in one transaction, the oldest pending message
 *    `FOR UPDATE SKIP LOCKED`, marked processing; COMMIT;
 *  - SQLite: the same in one `BEGIN IMMEDIATE` transaction;
 *
 * then reads its payload as version-1 code does, and marks it done (or
 * deletes it, --delete). With --finish-held it first notes the messages
 * already processing when it starts (held by workers from before it
 * started) and, after its own takes, finishes them as their workers do:
 * marks them done (or deletes them) without reading them again, since the
 * worker that claimed a message read it then.
 *
 * One line per event on stdout, flushed at once:
 *   held <tab> KEY                   a message processing at the start
 *   taken <tab> KEY <tab> HEX <tab> ok|REASON
 *                                    a message it took: its payload as
 *                                    read, and what version-1 code made
 *                                    of it
 *   finished <tab> KEY               a held message it marked done/deleted
 *
 * Exit status: 0 every message taken read correctly, 1 some not, 2 usage
 * error, 3 connection or I/O error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "old_record.h"

#define PROG "old_consumer"

enum { EXIT_CLEAN = 0, EXIT_FOUND = 1, EXIT_USAGE = 2, EXIT_IO = 3 };

/* The SQLite busy timeout: how long a claim waits for another writer. */
#define BUSY_TIMEOUT_MS 60000

typedef struct options {
  const char *sqlite_path, *conninfo;
  long take, work_ms;
  int finish_held, delete_done;
} options;

typedef struct keys {
  char **v;
  size_t n, cap;
} keys;

static int keys_add(keys *k, const char *key) {
  if (k->n == k->cap) {
    size_t cap = k->cap ? 2 * k->cap : 64;
    char **v = realloc(k->v, cap * sizeof *v);
    if (v == NULL) return -1;
    k->v = v;
    k->cap = cap;
  }
  if ((k->v[k->n] = strdup(key)) == NULL) return -1;
  k->n++;
  return 0;
}

static void keys_free(keys *k) {
  for (size_t i = 0; i < k->n; i++) free(k->v[i]);
  free(k->v);
}

static void pause_ms(long ms) {
  if (ms <= 0) return;
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Reads one taken message as version-1 code does and prints its line.
 * Returns 1 when the old code cannot read it correctly, else 0. */
static int consume(const char *key, const uint8_t *b, size_t n) {
  char why[OLD_REASON_SIZE];
  int bad = old_check_record(b, n, why, sizeof why);
  printf("taken\t%s\t", key);
  for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
  printf("\t%s\n", bad ? why : "ok");
  fflush(stdout);
  return bad;
}

/* ---- PostgreSQL -------------------------------------------------------- */

static int pg_ok(PGconn *conn, PGresult *r, const char *what) {
  ExecStatusType s = PQresultStatus(r);
  if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) return 0;
  fprintf(stderr, PROG ": %s: %s", what, PQerrorMessage(conn));
  return -1;
}

/* Runs @p sql with up to one parameter; -1 on error (reported). */
static int pg_exec(PGconn *conn, const char *sql, const char *param,
                   PGresult **out) {
  const char *params[1] = {param};
  PGresult *r =
      PQexecParams(conn, sql, param ? 1 : 0, NULL, params, NULL, NULL, 1);
  int rc = pg_ok(conn, r, sql);
  if (rc == 0 && out != NULL)
    *out = r;
  else
    PQclear(r);
  return rc;
}

/* Takes the oldest pending message nobody holds: 1 taken, 0 none free
 * now, -1 error. */
static int pg_take(PGconn *conn, const char *finish, long work_ms, int *bad) {
  PGresult *r = NULL;
  if (pg_exec(conn, "BEGIN", NULL, NULL) != 0) return -1;
  if (pg_exec(conn,
              "SELECT id::text, payload FROM order_events WHERE state = "
              "'pending' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
              NULL, &r) != 0)
    return -1;
  if (PQntuples(r) == 0) {
    PQclear(r);
    return pg_exec(conn, "COMMIT", NULL, NULL);
  }
  char *key = strdup(PQgetvalue(r, 0, 0));
  size_t n = (size_t)PQgetlength(r, 0, 1);
  uint8_t *b = malloc(n ? n : 1);
  if (key == NULL || b == NULL) {
    PQclear(r);
    free(key);
    free(b);
    fprintf(stderr, PROG ": out of memory\n");
    return -1;
  }
  memcpy(b, PQgetvalue(r, 0, 1), n);
  PQclear(r);
  int rc = pg_exec(conn,
                   "UPDATE order_events SET state = 'processing' WHERE id = $1",
                   key, NULL);
  if (rc == 0) rc = pg_exec(conn, "COMMIT", NULL, NULL);
  if (rc == 0) {
    *bad |= consume(key, b, n);
    pause_ms(work_ms);
    rc = pg_exec(conn, finish, key, NULL);
  }
  free(key);
  free(b);
  return rc == 0 ? 1 : -1;
}

static int pg_pending_left(PGconn *conn, long *out) {
  PGresult *r = NULL;
  if (pg_exec(conn,
              "SELECT count(*)::text FROM order_events WHERE state = "
              "'pending'",
              NULL, &r) != 0)
    return -1;
  *out = strtol(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return 0;
}

/* ---- SQLite ------------------------------------------------------------ */

static int lite_exec(sqlite3 *db, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK) return 0;
  fprintf(stderr, PROG ": %s: %s\n", sql, msg ? msg : sqlite3_errmsg(db));
  sqlite3_free(msg);
  return -1;
}

/* Runs @p sql with text parameter @p key ($1), expecting no rows. */
static int lite_run(sqlite3 *db, const char *sql, const char *key) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if (rc == SQLITE_OK && key != NULL)
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE) return 0;
  fprintf(stderr, PROG ": %s: %s\n", sql, sqlite3_errmsg(db));
  return -1;
}

/* As pg_take(). */
static int lite_take(sqlite3 *db, const char *finish, long work_ms, int *bad) {
  if (lite_exec(db, "BEGIN IMMEDIATE") != 0) return -1;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db,
                              "SELECT id, payload FROM order_events WHERE "
                              "state = 'pending' ORDER BY id LIMIT 1",
                              -1, &st, NULL);
  char *key = NULL;
  uint8_t *b = NULL;
  size_t n = 0;
  int found = 0;
  if (rc == SQLITE_OK) rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    found = 1;
    key = strdup((const char *)sqlite3_column_text(st, 0));
    n = (size_t)sqlite3_column_bytes(st, 1);
    b = malloc(n ? n : 1);
    if (key != NULL && b != NULL && n > 0)
      memcpy(b, sqlite3_column_blob(st, 1), n);
    rc = key != NULL && b != NULL ? SQLITE_DONE : SQLITE_NOMEM;
  }
  if (rc != SQLITE_DONE)
    fprintf(stderr, PROG ": taking a message: %s\n",
            rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(db));
  sqlite3_finalize(st);
  int status = rc == SQLITE_DONE ? 0 : -1;
  if (status == 0 && found)
    status = lite_run(
        db, "UPDATE order_events SET state = 'processing' WHERE id = $1", key);
  if (status == 0)
    status = lite_exec(db, "COMMIT");
  else
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  if (status == 0 && found) {
    *bad |= consume(key, b, n);
    pause_ms(work_ms);
    status = lite_run(db, finish, key);
  }
  free(key);
  free(b);
  return status != 0 ? -1 : found;
}

static int lite_pending_left(sqlite3 *db, long *out) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(
      db, "SELECT count(*) FROM order_events WHERE state = 'pending'", -1, &st,
      NULL);
  if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    *out = (long)sqlite3_column_int64(st, 0);
    rc = SQLITE_OK;
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_OK) return 0;
  fprintf(stderr, PROG ": counting pending messages: %s\n", sqlite3_errmsg(db));
  return -1;
}

/* ---- both -------------------------------------------------------------- */

typedef struct queue {
  PGconn *conn;
  sqlite3 *db;
} queue;

static int q_exec_key(queue *q, const char *sql, const char *key) {
  return q->conn ? pg_exec(q->conn, sql, key, NULL) : lite_run(q->db, sql, key);
}

/* The keys of the messages processing now. */
static int q_held(queue *q, keys *out) {
  static const char sql[] =
      "SELECT id FROM order_events WHERE state = 'processing' ORDER BY id";
  if (q->conn != NULL) {
    PGresult *r = NULL;
    if (pg_exec(q->conn,
                "SELECT id::text FROM order_events WHERE state = "
                "'processing' ORDER BY id",
                NULL, &r) != 0)
      return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++)
      rc = keys_add(out, PQgetvalue(r, i, 0));
    PQclear(r);
    if (rc != 0) fprintf(stderr, PROG ": out of memory\n");
    return rc;
  }
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(q->db, sql, -1, &st, NULL);
  while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
    rc = keys_add(out, (const char *)sqlite3_column_text(st, 0)) == 0
             ? SQLITE_OK
             : SQLITE_NOMEM;
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE) return 0;
  fprintf(stderr, PROG ": reading held messages: %s\n",
          rc == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(q->db));
  return -1;
}

static int q_take(queue *q, const char *finish, long work_ms, int *bad) {
  return q->conn ? pg_take(q->conn, finish, work_ms, bad)
                 : lite_take(q->db, finish, work_ms, bad);
}

static int q_pending_left(queue *q, long *out) {
  return q->conn ? pg_pending_left(q->conn, out)
                 : lite_pending_left(q->db, out);
}

static void usage(FILE *out) {
  fputs("usage: " PROG
        " (--sqlite FILE | --postgres CONNINFO) [--take N] [--finish-held]\n"
        "       [--delete] [--work-ms MS]\n"
        "\n"
        "Consumes the outbox order_events as version-1 workers do: takes up\n"
        "to N (default 10) pending messages, oldest first, each marked\n"
        "processing (PostgreSQL: FOR UPDATE SKIP LOCKED), reads its payload\n"
        "as code built from schema/shop/v1/order.proto does, and marks it\n"
        "done (--delete: deletes it). Stops early when no message is pending.\n"
        "--finish-held then marks done (or deletes) the messages that were\n"
        "processing when it started. --work-ms: the time each message's\n"
        "work takes (default 0), between taking it and marking it done.\n"
        "Prints held/taken/finished lines.\n"
        "\n"
        "Exit status: 0 every message taken read correctly, 1 some not,\n"
        "2 usage error, 3 connection or I/O error.\n",
        out);
}

static int parse_args(options *o, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 1;
    }
    if (strcmp(a, "--finish-held") == 0) {
      o->finish_held = 1;
      continue;
    }
    if (strcmp(a, "--delete") == 0) {
      o->delete_done = 1;
      continue;
    }
    if (i + 1 >= argc || (strcmp(a, "--sqlite") && strcmp(a, "--postgres") &&
                          strcmp(a, "--take") && strcmp(a, "--work-ms"))) {
      fprintf(stderr, PROG ": unexpected argument '%s'\n", a);
      usage(stderr);
      return -1;
    }
    const char *v = argv[++i];
    if (strcmp(a, "--sqlite") == 0) {
      o->sqlite_path = v;
    } else if (strcmp(a, "--postgres") == 0) {
      o->conninfo = v;
    } else {
      char *end = NULL;
      long n = strtol(v, &end, 10);
      if (end == v || *end != '\0' || n < 0) {
        fprintf(stderr, PROG ": %s: '%s' is not a count\n", a, v);
        return -1;
      }
      *(strcmp(a, "--take") == 0 ? &o->take : &o->work_ms) = n;
    }
  }
  if ((o->sqlite_path == NULL) == (o->conninfo == NULL)) {
    fprintf(stderr,
            PROG ": give one of --sqlite FILE and --postgres CONNINFO\n");
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  options o = {NULL, NULL, 10, 0, 0, 0};
  int a = parse_args(&o, argc, argv);
  if (a != 0) return a > 0 ? EXIT_CLEAN : EXIT_USAGE;

  queue q = {NULL, NULL};
  keys held = {NULL, 0, 0};
  int status = EXIT_CLEAN, bad = 0;
  if (o.sqlite_path != NULL) {
    if (sqlite3_open_v2(o.sqlite_path, &q.db, SQLITE_OPEN_READWRITE, NULL) !=
        SQLITE_OK) {
      fprintf(stderr, PROG ": %s: %s\n", o.sqlite_path,
              q.db ? sqlite3_errmsg(q.db) : "out of memory");
      status = EXIT_IO;
      goto done;
    }
    sqlite3_busy_timeout(q.db, BUSY_TIMEOUT_MS);
  } else {
    q.conn = PQconnectdb(o.conninfo);
    if (PQstatus(q.conn) != CONNECTION_OK) {
      fprintf(stderr, PROG ": cannot connect: %s", PQerrorMessage(q.conn));
      status = EXIT_IO;
      goto done;
    }
  }

  if (o.finish_held) {
    if (q_held(&q, &held) != 0) {
      status = EXIT_IO;
      goto done;
    }
    for (size_t i = 0; i < held.n; i++) printf("held\t%s\n", held.v[i]);
    fflush(stdout);
  }

  /* Take up to N messages. None free now: others hold what is pending
   * (PostgreSQL's SKIP LOCKED), so try again shortly, until nothing is
   * pending at all. */
  for (long taken = 0; taken < o.take;) {
    int t = q_take(&q,
                   o.delete_done
                       ? "DELETE FROM order_events WHERE id = $1"
                       : "UPDATE order_events SET state = 'done' WHERE id = $1",
                   o.work_ms, &bad);
    if (t < 0) {
      status = EXIT_IO;
      goto done;
    }
    if (t == 1) {
      taken++;
      continue;
    }
    long left = 0;
    if (q_pending_left(&q, &left) != 0) {
      status = EXIT_IO;
      goto done;
    }
    if (left == 0) break;
    pause_ms(5);
  }

  /* The held messages' workers finish them. */
  for (size_t i = 0; i < held.n; i++) {
    const char *sql = o.delete_done
                          ? "DELETE FROM order_events WHERE id = $1 AND "
                            "state = 'processing'"
                          : "UPDATE order_events SET state = 'done' WHERE "
                            "id = $1 AND state = 'processing'";
    if (q_exec_key(&q, sql, held.v[i]) != 0) {
      status = EXIT_IO;
      goto done;
    }
    printf("finished\t%s\n", held.v[i]);
    fflush(stdout);
  }
  if (bad) status = EXIT_FOUND;
done:
  if (fflush(stdout) != 0 && status != EXIT_IO) status = EXIT_IO;
  keys_free(&held);
  sqlite3_close(q.db);
  PQfinish(q.conn);
  return status;
}
