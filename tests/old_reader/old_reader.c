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
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>
#include <protobuf-c/protobuf-c.h>

#include "shop/v1/order.pb-c.h"

#define PROG "old_reader"

enum { EXIT_CLEAN = 0, EXIT_FOUND = 1, EXIT_USAGE = 2, EXIT_IO = 3 };

#define MAX_TABLES 8
#define REASON_SIZE 512

static const char *const default_tables[] = {"orders", "order_events"};

typedef struct counts {
  uint64_t read, bad;
} counts;

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
static int check_record(const uint8_t *b, size_t n, char *why, size_t size) {
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

static void report(const char *table, const char *key, size_t key_len,
                   const uint8_t *b, size_t n, counts *c) {
  char why[REASON_SIZE];
  c->read++;
  if (check_record(b, n, why, sizeof why) == 0) return;
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

static int sqlite_read(sqlite3 *db, const char *path, const char *table,
                       counts *c) {
  char *sql =
      sqlite3_mprintf("SELECT id, payload FROM \"%w\" ORDER BY id", table);
  sqlite3_stmt *st = NULL;
  int status = 0;
  if (sql == NULL || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
    fprintf(stderr, PROG ": %s: table %s: %s\n", path, table,
            sql ? sqlite3_errmsg(db) : "out of memory");
    status = EXIT_IO;
    goto done;
  }
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

static int pg_read(PGconn *conn, const char *table, const char *quoted,
                   counts *c) {
  char sql[600];
  snprintf(sql, sizeof sql, "SELECT id::text, payload FROM %s ORDER BY id",
           quoted);
  /* Binary results: payload arrives as its bytes, id::text as its text. */
  if (!PQsendQueryParams(conn, sql, 0, NULL, NULL, NULL, NULL, 1) ||
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
        "\n"
        "Reads every record (columns id and payload) of the tables orders and\n"
        "order_events, each when it exists, or of the tables named with\n"
        "--table (which must exist), as version-1 code built from\n"
        "schema/shop/v1/order.proto with protoc-c does, and prints one line\n"
        "per record it cannot read or reads a wrong value from:\n"
        "  TABLE <tab> KEY <tab> REASON\n"
        "A summary per table goes to stderr.\n"
        "\n"
        "Exit status: 0 every record read correctly, 1 some not, 2 usage\n"
        "error or a missing table, 3 connection or I/O error.\n",
        out);
}

int main(int argc, char **argv) {
  const char *sqlite_path = NULL, *conninfo = NULL;
  const char *tables[MAX_TABLES];
  size_t n_tables = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return EXIT_CLEAN;
    }
    if (i + 1 >= argc || (strcmp(a, "--sqlite") && strcmp(a, "--postgres") &&
                          strcmp(a, "--table"))) {
      fprintf(stderr, PROG ": unexpected argument '%s'\n", a);
      usage(stderr);
      return EXIT_USAGE;
    }
    const char *v = argv[++i];
    if (strcmp(a, "--sqlite") == 0) {
      sqlite_path = v;
    } else if (strcmp(a, "--postgres") == 0) {
      conninfo = v;
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
    status = db != NULL ? sqlite_read(db, sqlite_path, tables[t], &c)
                        : pg_read(conn, tables[t], quoted, &c);
    free(quoted);
    bad += c.bad;
    fprintf(stderr,
            PROG ": %s: %" PRIu64 " records read, %" PRIu64
                 " not read correctly\n",
            tables[t], c.read, c.bad);
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
