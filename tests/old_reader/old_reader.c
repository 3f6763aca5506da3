#define _POSIX_C_SOURCE 200809L
/*
 * tests/old_reader/old_reader.c: the code a flag kill returns to.
 *
 * Built from schema/shop/v1/order.proto alone, with the code protoc-c
 * generates for it and plain protobuf_c_message_unpack: nothing of
 * rollsafe's codec is linked (only protobuf-c, SQLite and libpq). It reads
 * every record of the orders table and of the order-events outbox the way
 * version-1 service code does and names each record it cannot read, or
 * reads a wrong value from:
 *
 *  - unpack fails (an envelope, a wire type it does not expect, a missing
 *    required field, truncated bytes): the line says which, found by
 *    walking the top-level fields once unpack has said no;
 *  - status(4) holds a number shop.v1.Order.Status does not define:
 *    protobuf-c stores whatever number it reads in a closed proto2 enum
 *    field without checking it, so old code would switch on a value it does
 *    not handle;
 *  - the money does not add up: version-1 code takes total_cents(3) to be
 *    the items' quantity times unit_price_cents(3) less discount_cents(8).
 *    A record whose discount sits in a field version 1 does not know
 *    (version 2 moved it to discount(10)) breaks that, and the line names
 *    the unknown fields the record carries.
 *
 * An independent check of rollsafe's verdicts: the rehearsal tests compare
 * the keys named here with the keys `rollsafe scan` reports.
 *
 * By default every row is read, whatever a message's state. With --states
 * the outbox order_events is read as its consumers read it: only the
 * messages in those states (pending, processing), the ones a consumer will
 * still take or is handling; a `done` message is history no consumer reads
 * again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "old_record.h"

#define PROG "old_reader"

enum { EXIT_CLEAN = 0, EXIT_FOUND = 1, EXIT_USAGE = 2, EXIT_IO = 3 };

#define MAX_TABLES 8

/* The outbox, whose rows --states restricts to the states consumers read. */
#define OUTBOX "order_events"

static const char *const default_tables[] = {"orders", "order_events"};

typedef struct counts {
  uint64_t read, bad;
} counts;

static void report(const char *table, const char *key, size_t key_len,
                   const uint8_t *b, size_t n, counts *c) {
  char why[OLD_REASON_SIZE];
  c->read++;
  if (old_check_record(b, n, why, sizeof why) == 0) return;
  c->bad++;
  printf("%s\t%.*s\t%s\n", table, (int)key_len, key, why);
}

/* ---- SQLite ------------------------------------------------------------ */

static int sqlite_has_table(sqlite3 *db, const char *table, int *out) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db,
                         "SELECT 1 FROM sqlite_master WHERE type = 'table' "
                         "AND name = ?1",
                         -1, &st, NULL) != SQLITE_OK)
    return -1;
  sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return -1;
  *out = rc == SQLITE_ROW;
  return 0;
}

/* @p states: a comma-separated list of the states to read, or NULL. */
static int sqlite_read(sqlite3 *db, const char *path, const char *table,
                       const char *states, counts *c) {
  char *sql = sqlite3_mprintf(
      "SELECT id, payload FROM \"%w\"%s ORDER BY id", table,
      states ? " WHERE instr(',' || ?1 || ',', ',' || state || ',') > 0" : "");
  sqlite3_stmt *st = NULL;
  int status = 0;
  if (sql == NULL || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    fprintf(stderr, PROG ": %s: table %s: %s\n", path, table,
            sql ? sqlite3_errmsg(db) : "out of memory");
    status = EXIT_IO;
    goto done;
  }
  if (states != NULL) sqlite3_bind_text(st, 1, states, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const uint8_t *b = sqlite3_column_blob(st, 1);
    size_t n = (size_t)sqlite3_column_bytes(st, 1);
    const char *key = (const char *)sqlite3_column_text(st, 0);
    report(table, key ? key : "NULL", key ? strlen(key) : 4,
           b ? b : (const uint8_t *)"", n, c);
  }
  if (rc != SQLITE_DONE) {
    fprintf(stderr, PROG ": %s: table %s: %s\n", path, table,
            sqlite3_errmsg(db));
    status = EXIT_IO;
  }
done:
  sqlite3_finalize(st);
  sqlite3_free(sql);
  return status;
}

/* ---- PostgreSQL -------------------------------------------------------- */

/* The table's name as regclass prints it (quoted, qualified when off the
 * search path), or NULL when there is no such table. */
static int pg_table_name(PGconn *conn, const char *table, char **out) {
  const char *params[1] = {table};
  PGresult *r = PQexecParams(conn, "SELECT to_regclass($1)::text", 1, NULL,
                             params, NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    fprintf(stderr, PROG ": table %s: %s", table, PQerrorMessage(conn));
    PQclear(r);
    return -1;
  }
  *out = PQgetisnull(r, 0, 0) ? NULL : strdup(PQgetvalue(r, 0, 0));
  PQclear(r);
  return 0;
}

/* @p states: a comma-separated list of the states to read, or NULL. */
static int pg_read(PGconn *conn, const char *table, const char *quoted,
                   const char *states, counts *c) {
  char sql[700];
  snprintf(sql, sizeof sql, "SELECT id::text, payload FROM %s%s ORDER BY id",
           quoted,
           states ? " WHERE state = ANY (string_to_array($1, ','))" : "");
  const char *params[1] = {states};
  /* Binary results: payload arrives as its bytes, id::text as its text. */
  if (!PQsendQueryParams(conn, sql, states ? 1 : 0, NULL, params, NULL, NULL,
                         1) ||
      !PQsetSingleRowMode(conn)) {
    fprintf(stderr, PROG ": table %s: %s", table, PQerrorMessage(conn));
    return EXIT_IO;
  }
  int status = 0;
  PGresult *r;
  while ((r = PQgetResult(conn)) != NULL) {
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_SINGLE_TUPLE) {
      report(table, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0),
             (const uint8_t *)PQgetvalue(r, 0, 1), (size_t)PQgetlength(r, 0, 1),
             c);
    } else if (s != PGRES_TUPLES_OK) {
      fprintf(stderr, PROG ": table %s: %s", table, PQresultErrorMessage(r));
      status = EXIT_IO;
    }
    PQclear(r);
  }
  return status;
}

/* ---- main -------------------------------------------------------------- */

static void usage(FILE *out) {
  fputs("usage: " PROG
        " (--sqlite FILE | --postgres CONNINFO) [--table NAME]...\n"
        "       [--states LIST]\n"
        "\n"
        "Reads every record (columns id and payload) of the tables orders and\n"
        "order_events, each when it exists, or of the tables named with\n"
        "--table (which must exist), as version-1 code built from\n"
        "schema/shop/v1/order.proto with protoc-c does, and prints one line\n"
        "per record it cannot read or reads a wrong value from:\n"
        "  TABLE <tab> KEY <tab> REASON\n"
        "A summary per table goes to stderr.\n"
        "\n"
        "--states LIST (comma-separated, e.g. pending,processing) reads only\n"
        "the messages of the outbox " OUTBOX
        " whose state column holds one\n"
        "of them: the messages its consumers still take or are handling.\n"
        "Without it every row is read, done messages included.\n"
        "\n"
        "Exit status: 0 every record read correctly, 1 some not, 2 usage\n"
        "error or a missing table, 3 connection or I/O error.\n",
        out);
}

int main(int argc, char **argv) {
  const char *sqlite_path = NULL, *conninfo = NULL, *states = NULL;
  const char *tables[MAX_TABLES];
  size_t n_tables = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return EXIT_CLEAN;
    }
    if (i + 1 >= argc || (strcmp(a, "--sqlite") && strcmp(a, "--postgres") &&
                          strcmp(a, "--table") && strcmp(a, "--states"))) {
      fprintf(stderr, PROG ": unexpected argument '%s'\n", a);
      usage(stderr);
      return EXIT_USAGE;
    }
    const char *v = argv[++i];
    if (strcmp(a, "--sqlite") == 0) {
      sqlite_path = v;
    } else if (strcmp(a, "--postgres") == 0) {
      conninfo = v;
    } else if (strcmp(a, "--states") == 0) {
      if (v[0] == '\0') {
        fprintf(stderr, PROG ": --states: an empty list\n");
        return EXIT_USAGE;
      }
      states = v;
    } else if (n_tables == MAX_TABLES) {
      fprintf(stderr, PROG ": at most %d tables\n", MAX_TABLES);
      return EXIT_USAGE;
    } else {
      tables[n_tables++] = v;
    }
  }
  if ((sqlite_path == NULL) == (conninfo == NULL)) {
    fprintf(stderr,
            PROG ": give one of --sqlite FILE and --postgres CONNINFO\n");
    return EXIT_USAGE;
  }
  int named = n_tables > 0;
  if (!named) {
    tables[0] = default_tables[0];
    tables[1] = default_tables[1];
    n_tables = 2;
  }

  int status = EXIT_CLEAN, found_any = 0;
  uint64_t bad = 0;
  sqlite3 *db = NULL;
  PGconn *conn = NULL;
  if (sqlite_path != NULL) {
    if (sqlite3_open_v2(sqlite_path, &db, SQLITE_OPEN_READONLY, NULL) !=
        SQLITE_OK) {
      fprintf(stderr, PROG ": %s: %s\n", sqlite_path,
              db ? sqlite3_errmsg(db) : "out of memory");
      status = EXIT_IO;
      goto done;
    }
  } else {
    conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
      fprintf(stderr, PROG ": cannot connect: %s", PQerrorMessage(conn));
      status = EXIT_IO;
      goto done;
    }
  }

  for (size_t t = 0; t < n_tables && status == EXIT_CLEAN; t++) {
    counts c = {0, 0};
    int present = 0;
    char *quoted = NULL;
    if (db != NULL) {
      if (sqlite_has_table(db, tables[t], &present) != 0) {
        fprintf(stderr, PROG ": %s: %s\n", sqlite_path, sqlite3_errmsg(db));
        status = EXIT_IO;
        break;
      }
    } else {
      if (pg_table_name(conn, tables[t], &quoted) != 0) {
        status = EXIT_IO;
        break;
      }
      present = quoted != NULL;
    }
    if (!present) {
      fprintf(stderr, PROG ": no table %s%s\n", tables[t],
              named ? "" : ": not read");
      if (named) status = EXIT_USAGE;
      continue;
    }
    found_any = 1;
    const char *only = strcmp(tables[t], OUTBOX) == 0 ? states : NULL;
    status = db != NULL ? sqlite_read(db, sqlite_path, tables[t], only, &c)
                        : pg_read(conn, tables[t], quoted, only, &c);
    free(quoted);
    bad += c.bad;
    fprintf(stderr,
            PROG ": %s: %" PRIu64 " records read%s%s%s, %" PRIu64
                 " not read correctly\n",
            tables[t], c.read, only ? " (states " : "", only ? only : "",
            only ? ")" : "", c.bad);
  }
  if (status == EXIT_CLEAN && !found_any) {
    fprintf(stderr, PROG
            ": none of the tables orders and order_events "
            "exists\n");
    status = EXIT_USAGE;
  }
  if (status == EXIT_CLEAN && bad > 0) status = EXIT_FOUND;
  if (fflush(stdout) != 0) {
    fprintf(stderr, PROG ": cannot write the report: %s\n", strerror(errno));
    status = EXIT_IO;
  }
done:
  sqlite3_close(db);
  PQfinish(conn);
  return status;
}
