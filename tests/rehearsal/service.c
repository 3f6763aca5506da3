#define _POSIX_C_SOURCE 200809L
/*
 * tests/rehearsal/service.c: the orders service of the rollback rehearsal,
 * linked with librollsafe as a service behind the flag checkout_v2 is.
 *
 *   rehearsal_service write (--sqlite FILE | --postgres CONNINFO)
 *                     [--orders N] [--seed S] [--v2-percent P]
 *                     [--no-impossible] [--without KIND,...]
 *                     [--first-id ID] [--start-us US]
 *   rehearsal_service read (--sqlite FILE | --postgres CONNINFO) --table T
 *
 * write places N orders (default 1000) in one transaction, with ids from
 * ID on (default 1), one a second from US microseconds since the epoch
 * (default: N seconds ago). For each, the flag decides (P%, default 20):
 * off, the old path writes a version-1 record, raw; on, the new checkout
 * writes a version-2 record in an envelope with provenance checkout_v2/on,
 * each of the kinds below at least once and then in shares like real
 * traffic. Every record goes through
 * rs_encode. The order is inserted into orders and enqueued in the outbox
 * order_events (a second event, a status update, for about a third of the
 * orders); with migration 0003 applied, the new checkout also fills
 * orders.pickup_store_id and order_discounts. stdout gets the manifest, one
 * line per record written: TABLE <tab> KEY <tab> VERSION <tab> KIND.
 * --no-impossible leaves out the kinds no down-conversion can turn into
 * version 1 (guest_checkout, discount_non_usd); --without leaves out the
 * kinds named (e.g. discount_usd,discount_sub_cent: a discount that moved
 * from field 8 to field 10, which only a converter that knows the move
 * carries over to version 1).
 *
 * read is the new code's reader: every record of table T read as version
 * 2 through rs_read_as, one line each: KEY <tab> WRITTEN_VERSION <tab>
 * FLAG <tab> the version-2 message packed again, in hex.
 *
 * Money follows the rule version-1 code relies on: total_cents is the
 * items less the discount in whole cents (a sub-cent discount counts
 * rounded, halves away from zero, as down-conversion rounds it).
 *
 * PostgreSQL tables are found through the connection's search_path.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>
#include <rollsafe/rollsafe.h>
#include <rollsafe/shop.h>
#include <rollsafe/shop/v1/order.pb-c.h>
#include <rollsafe/shop/v2/order.pb-c.h>

#define PROG "rehearsal_service"

/* ---- the kinds of version-2 orders -------------------------------------- */

typedef enum kind {
  K_PLAIN,
  K_NEW_FIELDS,
  K_PICKUP_STORE,
  K_AWAITING_AUTH,
  K_DISCOUNT_USD,
  K_DISCOUNT_SUB_CENT,
  K_DELIVER_BY,
  K_DELIVER_BY_FRACTION,
  K_GUEST_CHECKOUT,
  K_DISCOUNT_NON_USD,
  N_KIND
} kind;

static const struct {
  const char *name;
  unsigned weight; /* per mille of the version-2 orders */
  int impossible;  /* no version-1 record can hold it */
} kinds[N_KIND] = {
    {"plain", 300, 0},         {"new_fields", 330, 0},
    {"pickup_store", 100, 0},  {"awaiting_auth", 60, 0},
    {"discount_usd", 60, 0},   {"discount_sub_cent", 20, 0},
    {"deliver_by", 40, 0},     {"deliver_by_fraction", 10, 0},
    {"guest_checkout", 50, 1}, {"discount_non_usd", 30, 1},
};

/* xorshift64*: the same orders for a seed on every platform. */
static uint64_t next(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * UINT64_C(2685821657736338717);
}

static unsigned below(uint64_t *s, unsigned n) {
  return (unsigned)(next(s) % n);
}

static const char *const skus[] = {"TEE-CLASSIC-M", "MUG-STONE-350",
                                   "SOCKS-3PK", "TOTE-CANVAS", "NOTEBOOK-A5"};
static const int64_t prices[] = {1999, 1450, 1299, 1800, 950};
static const char *const stores[] = {"store-berlin-mitte", "store-leeds-1"};
static const char *const currencies[] = {"EUR", "GBP", "CAD"};

#define MAX_ITEMS 3

typedef struct order {
  char order_id[24], customer_id[24];
  size_t n_items;
  unsigned sku[MAX_ITEMS];
  uint32_t qty[MAX_ITEMS];
  int64_t subtotal, created_at;
  int status;
  Shop__V1__LineItem li1[MAX_ITEMS], *li1p[MAX_ITEMS];
  Shop__V2__LineItem li2[MAX_ITEMS], *li2p[MAX_ITEMS];
  Shop__V1__Address a1;
  Shop__V2__Address a2;
  Shop__V2__Money money;
  Shop__V2__Timestamp ts;
  char *promos[1];
  Shop__V1__Order v1;
  Shop__V2__Order v2;
} order;

static void draw(order *o, uint64_t *s, uint64_t id, int64_t created_at) {
  snprintf(o->order_id, sizeof o->order_id, "ord-%06" PRIu64, id);
  snprintf(o->customer_id, sizeof o->customer_id, "cus-%05u",
           1 + below(s, 5000));
  o->n_items = 1 + below(s, MAX_ITEMS);
  o->subtotal = 0;
  for (size_t i = 0; i < o->n_items; i++) {
    o->sku[i] = below(s, sizeof skus / sizeof skus[0]);
    o->qty[i] = 1 + below(s, 3);
    o->subtotal += prices[o->sku[i]] * o->qty[i];
  }
  o->status = 1 + (int)below(s, 5);
  o->created_at = created_at;
}

/* A discount of whole cents, at most the subtotal. */
static int64_t draw_discount(const order *o, uint64_t *s) {
  int64_t c = 100 + 25 * (int64_t)below(s, 20);
  return c < o->subtotal ? c : o->subtotal;
}

static void make_v1(order *o, uint64_t *s) {
  Shop__V1__Order *m = &o->v1;
  shop__v1__order__init(m);
  m->order_id = o->order_id;
  m->customer_id = o->customer_id;
  m->has_status = 1;
  m->status = (Shop__V1__Order__Status)o->status;
  for (size_t i = 0; i < o->n_items; i++) {
    shop__v1__line_item__init(&o->li1[i]);
    o->li1[i].sku = (char *)skus[o->sku[i]];
    o->li1[i].has_quantity = o->li1[i].has_unit_price_cents = 1;
    o->li1[i].quantity = o->qty[i];
    o->li1[i].unit_price_cents = prices[o->sku[i]];
    o->li1p[i] = &o->li1[i];
  }
  m->n_items = o->n_items;
  m->items = o->li1p;
  m->has_created_at = 1;
  m->created_at = o->created_at;
  shop__v1__address__init(&o->a1);
  o->a1.city = (char *)"Austin";
  o->a1.country = (char *)"US";
  m->ship_to = &o->a1;
  int64_t discount = 0;
  if (below(s, 10) == 0) {
    discount = draw_discount(o, s);
    m->has_discount_cents = 1;
    m->discount_cents = discount;
  }
  if (below(s, 10) == 0) {
    m->has_deliver_by = 1;
    m->deliver_by = o->created_at + 3 * 86400;
  }
  m->has_total_cents = 1;
  m->total_cents = o->subtotal - discount;
}

/* Fills discount(10) from whole cents plus @p extra_nanos; returns the
 * discount in cents, rounded halves away from zero. */
static int64_t set_money(order *o, int64_t cents, int32_t extra_nanos,
                         const char *currency) {
  shop__v2__money__init(&o->money);
  o->money.has_units = o->money.has_nanos = 1;
  o->money.units = cents / 100;
  o->money.nanos = (int32_t)(cents % 100) * 10000000 + extra_nanos;
  o->money.currency_code = (char *)currency;
  o->v2.discount = &o->money;
  return cents + (extra_nanos >= 5000000 ? 1 : 0);
}

static void make_v2(order *o, uint64_t *s, kind k) {
  Shop__V2__Order *m = &o->v2;
  shop__v2__order__init(m);
  m->order_id = o->order_id;
  m->customer_id = k == K_GUEST_CHECKOUT ? NULL : o->customer_id;
  m->has_status = 1;
  m->status = k == K_AWAITING_AUTH ? SHOP__V2__ORDER__STATUS__AWAITING_AUTH
                                   : (Shop__V2__Order__Status)o->status;
  for (size_t i = 0; i < o->n_items; i++) {
    shop__v2__line_item__init(&o->li2[i]);
    o->li2[i].sku = (char *)skus[o->sku[i]];
    o->li2[i].has_quantity = o->li2[i].has_unit_price_cents = 1;
    o->li2[i].quantity = o->qty[i];
    o->li2[i].unit_price_cents = prices[o->sku[i]];
    o->li2p[i] = &o->li2[i];
  }
  m->n_items = o->n_items;
  m->items = o->li2p;
  m->has_created_at = 1;
  m->created_at = o->created_at;
  if (k == K_PICKUP_STORE) {
    m->fulfilment_case = SHOP__V2__ORDER__FULFILMENT_PICKUP_STORE_ID;
    m->pickup_store_id = (char *)stores[below(s, 2)];
  } else {
    shop__v2__address__init(&o->a2);
    o->a2.city = (char *)"Austin";
    o->a2.country = (char *)"US";
    m->fulfilment_case = SHOP__V2__ORDER__FULFILMENT_SHIP_TO;
    m->ship_to = &o->a2;
  }
  int64_t discount = 0;
  switch (k) {
    case K_NEW_FIELDS:
      o->promos[0] = (char *)"SPRING10";
      m->n_promo_codes = 1;
      m->promo_codes = o->promos;
      if (below(s, 2)) m->gift_message = (char *)"Happy birthday!";
      break;
    case K_DISCOUNT_USD:
      /* Some writers leave the currency out, which means USD. */
      discount =
          set_money(o, draw_discount(o, s), 0, below(s, 4) ? "USD" : NULL);
      break;
    case K_DISCOUNT_SUB_CENT:
      discount = set_money(o, draw_discount(o, s) - 1,
                           1000000 * (1 + (int32_t)below(s, 9)), "USD");
      break;
    case K_DISCOUNT_NON_USD:
      discount = set_money(o, draw_discount(o, s), 0, currencies[below(s, 3)]);
      break;
    case K_DELIVER_BY:
    case K_DELIVER_BY_FRACTION:
      shop__v2__timestamp__init(&o->ts);
      o->ts.has_seconds = 1;
      o->ts.seconds = o->created_at + 2 * 86400;
      if (k == K_DELIVER_BY_FRACTION) {
        o->ts.has_nanos = 1;
        o->ts.nanos = 250000000;
      }
      m->deliver_by = &o->ts;
      break;
    default:
      break;
  }
  m->has_total_cents = 1;
  m->total_cents = o->subtotal - discount;
}

/* ---- the database ------------------------------------------------------- */

typedef struct store {
  sqlite3 *db;
  PGconn *pg;
  int has_0003; /* orders.pickup_store_id and order_discounts exist */
} store;

static int fail_sqlite(store *st, const char *what) {
  fprintf(stderr, PROG ": %s: %s\n", what, sqlite3_errmsg(st->db));
  return 3;
}

static int fail_pg(const char *what, const PGresult *r, PGconn *pg) {
  fprintf(stderr, PROG ": %s: %s", what,
          r ? PQresultErrorMessage(r) : PQerrorMessage(pg));
  return 3;
}

/* Runs SQL without results; 0 or 3. */
static int exec_sql(store *st, const char *sql) {
  if (st->db != NULL)
    return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK
               ? 0
               : fail_sqlite(st, sql);
  PGresult *r = PQexec(st->pg, sql);
  int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : fail_pg(sql, r, st->pg);
  PQclear(r);
  return rc;
}

static int open_store(store *st, const char *sqlite_path,
                      const char *conninfo) {
  memset(st, 0, sizeof *st);
  if (sqlite_path != NULL) {
    if (sqlite3_open_v2(sqlite_path, &st->db, SQLITE_OPEN_READWRITE, NULL) !=
        SQLITE_OK)
      return fail_sqlite(st, sqlite_path);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT count(*) FROM pragma_table_info('orders') "
                           "WHERE name = 'pickup_store_id'",
                           -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
      sqlite3_finalize(q);
      return fail_sqlite(st, "cannot read the columns of orders");
    }
    st->has_0003 = sqlite3_column_int(q, 0) > 0;
    sqlite3_finalize(q);
    return 0;
  }
  st->pg = PQconnectdb(conninfo);
  if (PQstatus(st->pg) != CONNECTION_OK)
    return fail_pg("cannot connect", NULL, st->pg);
  PGresult *r = PQexec(st->pg,
                       "SELECT count(*) FROM information_schema.columns WHERE "
                       "table_schema = current_schema() AND table_name = "
                       "'orders' AND column_name = 'pickup_store_id'");
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    int rc = fail_pg("cannot read the columns of orders", r, st->pg);
    PQclear(r);
    return rc;
  }
  st->has_0003 = atoi(PQgetvalue(r, 0, 0)) > 0;
  PQclear(r);
  return 0;
}

static void close_store(store *st) {
  sqlite3_close(st->db);
  PQfinish(st->pg);
}

/*
 * Runs one INSERT with parameters given as text, except the one at
 * @p blob_at (0-based, -1 for none), which is @p blob. With @p id_out,
 * the statement's RETURNING id (PostgreSQL) or the new rowid (SQLite).
 */
static int insert(store *st, const char *sql_sqlite, const char *sql_pg,
                  const char *const *params, int n, int blob_at,
                  const rs_buf *blob, int64_t *id_out) {
  if (st->db != NULL) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, sql_sqlite, -1, &q, NULL) != SQLITE_OK)
      return fail_sqlite(st, sql_sqlite);
    for (int i = 0; i < n; i++) {
      if (i == blob_at)
        sqlite3_bind_blob64(q, i + 1, blob->data, blob->len, SQLITE_STATIC);
      else if (params[i] != NULL)
        sqlite3_bind_text(q, i + 1, params[i], -1, SQLITE_STATIC);
    }
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    if (rc != SQLITE_DONE) return fail_sqlite(st, sql_sqlite);
    if (id_out) *id_out = sqlite3_last_insert_rowid(st->db);
    return 0;
  }
  int lengths[8] = {0}, formats[8] = {0};
  const char *values[8];
  for (int i = 0; i < n; i++) {
    values[i] = i == blob_at ? (const char *)blob->data : params[i];
    lengths[i] = i == blob_at ? (int)blob->len : 0;
    formats[i] = i == blob_at;
  }
  PGresult *r =
      PQexecParams(st->pg, sql_pg, n, NULL, values, lengths, formats, 0);
  ExecStatusType s = PQresultStatus(r);
  int rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK
               ? 0
               : fail_pg(sql_pg, r, st->pg);
  if (rc == 0 && id_out) *id_out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return rc;
}

/* ---- write -------------------------------------------------------------- */

/* A time given as microseconds since the epoch, as each table stores it:
 * RFC 3339 text in UTC (SQLite), timestamptz (PostgreSQL). */
#define SQLITE_TIME(p) \
  "strftime('%Y-%m-%dT%H:%M:%fZ', " p " / 1000000.0, 'unixepoch')"
#define PG_TIME(p) "to_timestamp(" p "::bigint / 1000000.0)"

typedef struct write_args {
  uint64_t orders, seed, first_id;
  int64_t start_us; /* the first write; 0: orders seconds before now */
  unsigned v2_percent;
  unsigned skip; /* bit k: kind k is not written */
} write_args;

static kind pick_kind(uint64_t *s, uint64_t nth_v2, unsigned skip) {
  /* The first version-2 orders take each kind once, so that every hazard
   * is there whatever the seed. */
  for (uint64_t i = 0, seen = 0; i < N_KIND; i++) {
    if (skip & 1u << i) continue;
    if (seen++ == nth_v2) return (kind)i;
  }
  for (;;) {
    unsigned x = below(s, 1000);
    size_t k = 0;
    while (k + 1 < N_KIND && x >= kinds[k].weight) x -= kinds[k++].weight;
    if (!(skip & 1u << k)) return (kind)k;
  }
}

/* Adds the kinds of a comma-separated list to @p skip; 0, or -1 naming
 * the first unknown kind on stderr. */
static int skip_kinds(unsigned *skip, const char *list) {
  for (const char *p = list; *p != '\0';) {
    size_t n = strcspn(p, ",");
    size_t k = 0;
    while (k < N_KIND &&
           (strlen(kinds[k].name) != n || strncmp(kinds[k].name, p, n) != 0))
      k++;
    if (k == N_KIND) {
      fprintf(stderr, PROG ": --without: no kind '%.*s'\n", (int)n, p);
      return -1;
    }
    *skip |= 1u << k;
    p += n + (p[n] == ',');
  }
  return 0;
}

static int write_orders(store *st, const rs_registry *reg,
                        const write_args *a) {
  static const char *const states[] = {"done",       "done",    "done",
                                       "processing", "pending", "pending"};
  uint64_t s = a->seed * 2 + 1, n_v2 = 0;
  int64_t start_us =
      a->start_us ? a->start_us : rs_now_us() - (int64_t)a->orders * 1000000;
  uint64_t end = a->first_id + a->orders;
  rs_buf buf = RS_BUF_INIT;
  rs_error err = RS_ERROR_INIT;
  order o;
  int rc = exec_sql(st, "BEGIN");
  /* One order a second, ids from first_id on. */
  for (uint64_t id = a->first_id; rc == 0 && id < end; id++) {
    int64_t write_us = start_us + (int64_t)(id - a->first_id) * 1000000;
    draw(&o, &s, id, write_us / 1000000 - 600);
    int v2 = below(&s, 100) < a->v2_percent;
    kind k = N_KIND;
    if (v2) {
      k = pick_kind(&s, n_v2++, a->skip);
      make_v2(&o, &s, k);
      char writer[40];
      snprintf(writer, sizeof writer, "orders-api 4.3.0 pod-%u",
               1 + below(&s, 4));
      rs_provenance p = RS_PROVENANCE_INIT;
      p.flag_key = RS_SHOP_FLAG;
      p.variant = "on";
      p.writer_id = writer;
      p.write_time_us = write_us;
      rc = rs_encode(&buf, reg, RS_SHOP_ORDER, 2, &o.v2.base, &p, NULL, &err);
    } else {
      make_v1(&o, &s);
      rc = rs_encode(&buf, reg, RS_SHOP_ORDER, 1, &o.v1.base, NULL, NULL, &err);
    }
    if (rc != 0) {
      fprintf(stderr, PROG ": order %" PRIu64 ": %s\n", id, err.message);
      rc = 3;
      break;
    }
    const char *kname = v2 ? kinds[k].name : "v1";
    /* Times as microseconds; the database formats them (UTC). */
    char id_s[24], at[24];
    snprintf(id_s, sizeof id_s, "%" PRIu64, id);
    snprintf(at, sizeof at, "%" PRId64, write_us);
    const char *pickup =
        v2 && k == K_PICKUP_STORE ? o.v2.pickup_store_id : NULL;
    if (st->has_0003) {
      const char *p[4] = {id_s, NULL, at, pickup};
      rc = insert(st,
                  "INSERT INTO orders (id, payload, written_at, "
                  "pickup_store_id) VALUES (?1, ?2, " SQLITE_TIME("?3") ", ?4)",
                  "INSERT INTO orders (id, payload, written_at, "
                  "pickup_store_id) VALUES ($1, $2, " PG_TIME("$3") ", $4)",
                  p, 4, 1, &buf, NULL);
      if (rc == 0 && v2 && o.v2.discount != NULL) {
        char units[24], nanos[16];
        snprintf(units, sizeof units, "%" PRId64, o.money.units);
        snprintf(nanos, sizeof nanos, "%" PRId32, o.money.nanos);
        const char *d[4] = {
            id_s, units, nanos,
            o.money.currency_code ? o.money.currency_code : "USD"};
        rc = insert(st, "INSERT INTO order_discounts VALUES (?1, ?2, ?3, ?4)",
                    "INSERT INTO order_discounts VALUES ($1, $2, $3, $4)", d, 4,
                    -1, NULL, NULL);
      }
    } else {
      const char *p[3] = {id_s, NULL, at};
      rc = insert(st,
                  "INSERT INTO orders (id, payload, written_at) VALUES "
                  "(?1, ?2, " SQLITE_TIME("?3") ")",
                  "INSERT INTO orders (id, payload, written_at) VALUES "
                  "($1, $2, " PG_TIME("$3") ")",
                  p, 3, 1, &buf, NULL);
    }
    if (rc == 0) printf("orders\t%s\t%d\t%s\n", id_s, v2 ? 2 : 1, kname);
    /* The outbox: order placed, and for about a third a status update. */
    unsigned events = below(&s, 3) == 0 ? 2 : 1;
    for (unsigned e = 0; rc == 0 && e < events; e++) {
      int64_t event_id = 0;
      const char *state = states[((id - a->first_id) * 6 / a->orders + e) % 6];
      const char *p[4] = {o.order_id, NULL, state, at};
      rc = insert(
          st,
          "INSERT INTO order_events (order_id, payload, state, "
          "enqueued_at) VALUES (?1, ?2, ?3, " SQLITE_TIME("?4") ")",
          "INSERT INTO order_events (order_id, payload, state, "
          "enqueued_at) VALUES ($1, $2, $3, " PG_TIME("$4") ") RETURNING id",
          p, 4, 1, &buf, &event_id);
      if (rc == 0)
        printf("order_events\t%" PRId64 "\t%d\t%s\n", event_id, v2 ? 2 : 1,
               kname);
    }
  }
  if (rc == 0) rc = exec_sql(st, "COMMIT");
  rs_buf_dispose(&buf, NULL);
  return rc;
}

/* ---- read --------------------------------------------------------------- */

static int print_v2(const rs_registry *reg, const char *table, const char *key,
                    int key_len, const uint8_t *b, size_t n) {
  rs_record *rec = NULL;
  rs_error err = RS_ERROR_INIT;
  if (rs_read_as(&rec, reg, RS_SHOP_ORDER, 2, b, n, NULL, &err) != 0) {
    fprintf(stderr, PROG ": %s %.*s: %s\n", table, key_len, key, err.message);
    return 1;
  }
  const ProtobufCMessage *m = rs_record_message(rec);
  size_t size = protobuf_c_message_get_packed_size(m);
  uint8_t *packed = malloc(size ? size : 1);
  if (packed == NULL) {
    rs_record_free(rec);
    return 3;
  }
  protobuf_c_message_pack(m, packed);
  const rs_provenance *p = rs_record_provenance(rec);
  printf("%.*s\t%u\t%s\t", key_len, key, rs_record_written_version(rec),
         p && p->flag_key && p->flag_key[0] ? p->flag_key : "-");
  for (size_t i = 0; i < size; i++) printf("%02x", packed[i]);
  putchar('\n');
  free(packed);
  rs_record_free(rec);
  return 0;
}

static int read_table(store *st, const rs_registry *reg, const char *table) {
  int bad = 0;
  if (st->db != NULL) {
    char *sql = sqlite3_mprintf(
        "SELECT CAST(id AS TEXT), payload FROM \"%w\" ORDER BY id", table);
    sqlite3_stmt *q = NULL;
    if (sql == NULL ||
        sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
      sqlite3_free(sql);
      return fail_sqlite(st, table);
    }
    sqlite3_free(sql);
    int rc;
    while (bad < 3 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
      const char *key = (const char *)sqlite3_column_text(q, 0);
      const void *b = sqlite3_column_blob(q, 1);
      int r =
          print_v2(reg, table, key, (int)strlen(key), b ? b : (const void *)"",
                   (size_t)sqlite3_column_bytes(q, 1));
      if (r > bad) bad = r;
    }
    sqlite3_finalize(q);
    return bad;
  }
  char *ident = PQescapeIdentifier(st->pg, table, strlen(table));
  char sql[300];
  snprintf(sql, sizeof sql, "SELECT id::text, payload FROM %s ORDER BY id",
           ident ? ident : "\"\"");
  PQfreemem(ident);
  PGresult *r = PQexecParams(st->pg, sql, 0, NULL, NULL, NULL, NULL, 1);
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    int rc = fail_pg(table, r, st->pg);
    PQclear(r);
    return rc;
  }
  for (int i = 0; i < PQntuples(r) && bad < 3; i++) {
    int rc = print_v2(reg, table, PQgetvalue(r, i, 0), PQgetlength(r, i, 0),
                      (const uint8_t *)PQgetvalue(r, i, 1),
                      (size_t)PQgetlength(r, i, 1));
    if (rc > bad) bad = rc;
  }
  PQclear(r);
  return bad;
}

/* ---- main --------------------------------------------------------------- */

static int usage(void) {
  fprintf(stderr,
          "usage: " PROG
          " write (--sqlite FILE | --postgres CONNINFO) "
          "[--orders N] [--seed S] [--v2-percent P] [--no-impossible]\n"
          "       [--without KIND,...] [--first-id ID] [--start-us US]\n"
          "       " PROG
          " read (--sqlite FILE | --postgres CONNINFO) "
          "--table T\n");
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "write") && strcmp(argv[1], "read")))
    return usage();
  int writing = strcmp(argv[1], "write") == 0;
  const char *sqlite_path = NULL, *conninfo = NULL, *table = NULL;
  write_args a = {1000, 1, 1, 0, 20, 0};
  for (int i = 2; i < argc; i++) {
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(o, "--no-impossible") == 0) {
      for (unsigned k = 0; k < N_KIND; k++)
        if (kinds[k].impossible) a.skip |= 1u << k;
      continue;
    }
    if (v == NULL) return usage();
    i++;
    if (strcmp(o, "--sqlite") == 0)
      sqlite_path = v;
    else if (strcmp(o, "--postgres") == 0)
      conninfo = v;
    else if (strcmp(o, "--table") == 0)
      table = v;
    else if (strcmp(o, "--orders") == 0)
      a.orders = strtoull(v, NULL, 10);
    else if (strcmp(o, "--seed") == 0)
      a.seed = strtoull(v, NULL, 10);
    else if (strcmp(o, "--first-id") == 0)
      a.first_id = strtoull(v, NULL, 10);
    else if (strcmp(o, "--start-us") == 0)
      a.start_us = strtoll(v, NULL, 10);
    else if (strcmp(o, "--v2-percent") == 0)
      a.v2_percent = (unsigned)strtoul(v, NULL, 10);
    else if (strcmp(o, "--without") == 0) {
      if (skip_kinds(&a.skip, v) != 0) return usage();
    } else
      return usage();
  }
  if ((sqlite_path == NULL) == (conninfo == NULL) || a.orders == 0 ||
      a.first_id == 0 || a.v2_percent > 100 || (!writing && table == NULL) ||
      a.skip == (1u << N_KIND) - 1) /* no kind left to write */
    return usage();

  rs_registry *reg = NULL;
  rs_error err = RS_ERROR_INIT;
  if (rs_shop_registry(&reg, &err) != 0) {
    fprintf(stderr, PROG ": %s\n", err.message);
    return 3;
  }
  store st;
  int rc = open_store(&st, sqlite_path, conninfo);
  if (rc == 0)
    rc = writing ? write_orders(&st, reg, &a) : read_table(&st, reg, table);
  close_store(&st);
  rs_registry_free(reg);
  if (fflush(stdout) != 0) rc = 3;
  return rc;
}
