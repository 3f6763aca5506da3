#define _POSIX_C_SOURCE 200809L
/*
 * bench/gen.c: the benchmark data, written through librollsafe's public API.
 *
 *   gen --rows N [--seed S] [--sqlite PATH] [--copy FILE|-]
 *
 * Writes N shop.Order records with keys 1..N: 80% version 1 (raw protobuf,
 * what the old code wrote) and 20% version 2 in an envelope with provenance
 * checkout_v2/on, with a mix of the version-2 changes (AWAITING_AUTH,
 * guest orders without customer_id, gift messages, Money discounts,
 * Timestamp deliver_by, promo codes, store pickup). Records average about
 * 200 bytes: several line items and an address each.
 *
 * --sqlite PATH: a new SQLite database (PATH is replaced) with
 *   t (key INTEGER PRIMARY KEY, payload BLOB NOT NULL), one transaction,
 *   one prepared insert.
 * --copy FILE: the same rows in PostgreSQL's binary COPY format (bigint,
 *   bytea), for `\copy t from pstdin with (format binary)`; "-" is stdout.
 *
 * The same seed gives the same bytes, except write_time_us (the time of
 * the run) in the envelopes. A summary goes to stderr: rows per kind,
 * average size, and what a plain (raw) and an envelope-aware version-1
 * reader should make of them, so the harness can check the scanners'
 * counts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <rollsafe/rollsafe.h>
#include <rollsafe/shop.h>
#include <rollsafe/shop/v1/order.pb-c.h>
#include <rollsafe/shop/v2/order.pb-c.h>

#define MAX_ITEMS 6

/* splitmix64: small, fast, and the same sequence everywhere. */
static uint64_t rng_state;

static uint64_t rnd(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static uint64_t rnd_in(uint64_t lo, uint64_t hi) {
  return lo + rnd() % (hi - lo + 1);
}

/* True with probability pct percent. */
static int chance(unsigned pct) {
  return rnd() % 100 < pct;
}

static const char *const streets[] = {
    "Main Street",  "Oak Avenue", "Station Road", "Rue de la Paix",
    "Hauptstrasse", "Elm Street", "High Street",  "Calle Mayor",
    "Maple Drive",  "Kings Road", "Lindenweg",    "Harbour View"};
static const char *const cities[] = {
    "Springfield", "Berlin", "Lyon",  "Madrid", "Portland", "Leeds",
    "Rotterdam",   "Turin",  "Porto", "Austin", "Hamburg",  "Dublin"};
static const char *const countries[] = {"US", "DE", "FR", "ES", "GB",
                                        "NL", "IT", "PT", "IE"};
static const char *const gifts[] = {"Happy birthday!",
                                    "Congratulations on the new home",
                                    "With love from all of us", "Thank you"};
static const char *const promos[] = {"WELCOME10", "SPRING24", "FREESHIP",
                                     "VIP"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* The strings of one record: filled per row, pointed to by the messages. */
typedef struct strings {
  char order_id[24];
  char customer_id[24];
  char sku[MAX_ITEMS][24];
  char line1[48];
  char postal[12];
  char store[16];
} strings;

typedef struct counts {
  uint64_t v1, v2;
  uint64_t v2_awaiting_auth, v2_guest, v2_gift, v2_discount, v2_deliver_by,
      v2_promo, v2_pickup;
  /* What an envelope-aware version-1 reader should conclude (the worst
   * finding wins: unreadable over misread over ignored_fields). */
  uint64_t env_ok, env_ignored, env_misread, env_unreadable;
  uint64_t bytes, bytes_v1, bytes_v2, min_len, max_len;
} counts;

static void fill_common(strings *s, uint64_t key) {
  snprintf(s->order_id, sizeof s->order_id, "ord-%010" PRIu64, key);
  snprintf(s->customer_id, sizeof s->customer_id, "cust-%08" PRIu64,
           rnd_in(1, 99999999));
  snprintf(s->line1, sizeof s->line1, "%u %s", (unsigned)rnd_in(1, 999),
           streets[rnd() % COUNT(streets)]);
  snprintf(s->postal, sizeof s->postal, "%05u", (unsigned)rnd_in(1000, 99999));
}

static int make_v1(rs_buf *out, const rs_registry *reg, uint64_t key,
                   rs_error *err) {
  strings s;
  Shop__V1__Order o = SHOP__V1__ORDER__INIT;
  Shop__V1__LineItem items[MAX_ITEMS];
  Shop__V1__LineItem *item_ptrs[MAX_ITEMS];
  Shop__V1__Address addr = SHOP__V1__ADDRESS__INIT;

  fill_common(&s, key);
  o.order_id = s.order_id;
  o.customer_id = s.customer_id;
  o.n_items = (size_t)rnd_in(3, 6);
  int64_t total = 0;
  for (size_t i = 0; i < o.n_items; i++) {
    shop__v1__line_item__init(&items[i]);
    snprintf(s.sku[i], sizeof s.sku[i], "SKU-%06X-%02u",
             (unsigned)rnd_in(0, 0xFFFFFF), (unsigned)rnd_in(0, 99));
    items[i].sku = s.sku[i];
    items[i].has_quantity = 1;
    items[i].quantity = (uint32_t)rnd_in(1, 5);
    items[i].has_unit_price_cents = 1;
    items[i].unit_price_cents = (int64_t)rnd_in(99, 25000);
    total += items[i].unit_price_cents * items[i].quantity;
    item_ptrs[i] = &items[i];
  }
  o.items = item_ptrs;
  o.has_status = 1;
  o.status = (Shop__V1__Order__Status)rnd_in(1, 5);
  o.has_created_at = 1;
  o.created_at = 1700000000 + (int64_t)key;
  addr.line1 = s.line1;
  addr.city = (char *)cities[rnd() % COUNT(cities)];
  addr.postal_code = s.postal;
  addr.country = (char *)countries[rnd() % COUNT(countries)];
  o.ship_to = &addr;
  if (chance(30)) {
    o.has_discount_cents = 1;
    o.discount_cents = (int64_t)rnd_in(100, 2000);
    total -= o.discount_cents;
  }
  if (chance(40)) {
    o.has_deliver_by = 1;
    o.deliver_by = o.created_at + (int64_t)rnd_in(86400, 14 * 86400);
  }
  o.has_total_cents = 1;
  o.total_cents = total;
  return rs_encode(out, reg, RS_SHOP_ORDER, 1, &o.base, NULL, NULL, err);
}

static int make_v2(rs_buf *out, const rs_registry *reg, uint64_t key, counts *c,
                   rs_error *err) {
  strings s;
  Shop__V2__Order o = SHOP__V2__ORDER__INIT;
  Shop__V2__LineItem items[MAX_ITEMS];
  Shop__V2__LineItem *item_ptrs[MAX_ITEMS];
  Shop__V2__Address addr = SHOP__V2__ADDRESS__INIT;
  Shop__V2__Money discount = SHOP__V2__MONEY__INIT;
  Shop__V2__Timestamp deliver_by = SHOP__V2__TIMESTAMP__INIT;
  char *promo_ptrs[2];
  int unreadable = 0, misread = 0, ignored = 0;

  fill_common(&s, key);
  o.order_id = s.order_id;
  if (chance(10)) {
    c->v2_guest++; /* guest checkout: no customer_id (required in v1) */
    unreadable = 1;
  } else {
    o.customer_id = s.customer_id;
  }
  o.n_items = (size_t)rnd_in(2, 5);
  int64_t total = 0;
  for (size_t i = 0; i < o.n_items; i++) {
    shop__v2__line_item__init(&items[i]);
    snprintf(s.sku[i], sizeof s.sku[i], "SKU-%06X-%02u",
             (unsigned)rnd_in(0, 0xFFFFFF), (unsigned)rnd_in(0, 99));
    items[i].sku = s.sku[i];
    items[i].has_quantity = 1;
    items[i].quantity = (uint32_t)rnd_in(1, 5);
    items[i].has_unit_price_cents = 1;
    items[i].unit_price_cents = (int64_t)rnd_in(99, 25000);
    total += items[i].unit_price_cents * items[i].quantity;
    item_ptrs[i] = &items[i];
  }
  o.items = item_ptrs;
  o.has_status = 1;
  if (chance(15)) {
    c->v2_awaiting_auth++;
    o.status = SHOP__V2__ORDER__STATUS__AWAITING_AUTH;
    misread = 1;
  } else {
    o.status = (Shop__V2__Order__Status)rnd_in(1, 5);
  }
  o.has_created_at = 1;
  o.created_at = 1700000000 + (int64_t)key;
  if (chance(5)) {
    c->v2_pickup++;
    snprintf(s.store, sizeof s.store, "store-%04u", (unsigned)rnd_in(1, 9999));
    o.fulfilment_case = SHOP__V2__ORDER__FULFILMENT_PICKUP_STORE_ID;
    o.pickup_store_id = s.store;
    ignored = 1;
  } else {
    addr.line1 = s.line1;
    addr.city = (char *)cities[rnd() % COUNT(cities)];
    addr.postal_code = s.postal;
    addr.country = (char *)countries[rnd() % COUNT(countries)];
    o.fulfilment_case = SHOP__V2__ORDER__FULFILMENT_SHIP_TO;
    o.ship_to = &addr;
  }
  if (chance(20)) {
    c->v2_discount++;
    discount.has_units = 1;
    discount.units = (int64_t)rnd_in(1, 20);
    discount.has_nanos = 1;
    discount.nanos = (int32_t)rnd_in(0, 99) * 10000000;
    discount.currency_code = "USD";
    o.discount = &discount;
    total -= discount.units * 100;
    misread = 1;
  }
  if (chance(20)) {
    c->v2_deliver_by++;
    deliver_by.has_seconds = 1;
    deliver_by.seconds = o.created_at + (int64_t)rnd_in(86400, 14 * 86400);
    o.deliver_by = &deliver_by;
    unreadable = 1;
  }
  if (chance(10)) {
    c->v2_promo++;
    o.n_promo_codes = (size_t)rnd_in(1, 2);
    for (size_t i = 0; i < o.n_promo_codes; i++)
      promo_ptrs[i] = (char *)promos[rnd() % COUNT(promos)];
    o.promo_codes = promo_ptrs;
    ignored = 1;
  }
  if (chance(25)) {
    c->v2_gift++;
    o.gift_message = (char *)gifts[rnd() % COUNT(gifts)];
    ignored = 1;
  }
  o.has_total_cents = 1;
  o.total_cents = total;

  if (unreadable)
    c->env_unreadable++;
  else if (misread)
    c->env_misread++;
  else if (ignored)
    c->env_ignored++;
  else
    c->env_ok++;

  char writer[32];
  snprintf(writer, sizeof writer, "orders-api 4.2.0 pod-%u",
           (unsigned)rnd_in(1, 8));
  rs_provenance p = RS_PROVENANCE_INIT;
  p.flag_key = RS_SHOP_FLAG;
  p.variant = "on";
  p.writer_id = writer;
  p.write_time_us = rs_now_us() - (int64_t)rnd_in(0, 86400000000LL);
  return rs_encode(out, reg, RS_SHOP_ORDER, 2, &o.base, &p, NULL, err);
}

/* ---- PostgreSQL binary COPY ------------------------------------------- */

static void put_be16(FILE *f, uint16_t v) {
  unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};
  fwrite(b, 1, 2, f);
}

static void put_be32(FILE *f, uint32_t v) {
  unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                        (unsigned char)(v >> 8), (unsigned char)v};
  fwrite(b, 1, 4, f);
}

static void put_be64(FILE *f, uint64_t v) {
  put_be32(f, (uint32_t)(v >> 32));
  put_be32(f, (uint32_t)v);
}

static void copy_header(FILE *f) {
  static const char sig[11] = "PGCOPY\n\377\r\n";
  fwrite(sig, 1, sizeof sig, f); /* 11 bytes, the NUL included */
  put_be32(f, 0);                /* flags */
  put_be32(f, 0);                /* header extension length */
}

static void copy_row(FILE *f, uint64_t key, const uint8_t *p, size_t len) {
  put_be16(f, 2);
  put_be32(f, 8);
  put_be64(f, key);
  put_be32(f, (uint32_t)len);
  fwrite(p, 1, len, f);
}

/* ---- SQLite ------------------------------------------------------------- */

static int sql_exec(sqlite3 *db, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    fprintf(stderr, "gen: sqlite: %s: %s\n", sql, msg ? msg : "?");
    sqlite3_free(msg);
    return -1;
  }
  return 0;
}

static void usage(void) {
  fprintf(stderr,
          "usage: gen --rows N [--seed S] [--sqlite PATH] [--copy FILE|-]\n");
  exit(2);
}

int main(int argc, char **argv) {
  uint64_t rows = 0, seed = 42;
  const char *sqlite_path = NULL, *copy_path = NULL;
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc) usage();
    if (strcmp(argv[i], "--rows") == 0)
      rows = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--seed") == 0)
      seed = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--sqlite") == 0)
      sqlite_path = argv[++i];
    else if (strcmp(argv[i], "--copy") == 0)
      copy_path = argv[++i];
    else
      usage();
  }
  if (rows == 0 || (sqlite_path == NULL && copy_path == NULL)) usage();
  rng_state = seed;

  rs_registry *reg = NULL;
  rs_error err;
  if (rs_shop_registry(&reg, &err) != 0) {
    fprintf(stderr, "gen: registry: %s\n", err.message);
    return 1;
  }

  sqlite3 *db = NULL;
  sqlite3_stmt *ins = NULL;
  if (sqlite_path) {
    if (remove(sqlite_path) != 0 && errno != ENOENT) {
      perror(sqlite_path);
      return 1;
    }
    if (sqlite3_open(sqlite_path, &db) != SQLITE_OK) {
      fprintf(stderr, "gen: %s: %s\n", sqlite_path, sqlite3_errmsg(db));
      return 1;
    }
    if (sql_exec(db, "PRAGMA journal_mode=OFF") ||
        sql_exec(db, "PRAGMA synchronous=OFF") ||
        sql_exec(db, "PRAGMA cache_size=-65536") ||
        sql_exec(db,
                 "CREATE TABLE t (key INTEGER PRIMARY KEY, "
                 "payload BLOB NOT NULL)") ||
        sql_exec(db, "BEGIN"))
      return 1;
    if (sqlite3_prepare_v2(db, "INSERT INTO t (key, payload) VALUES (?1, ?2)",
                           -1, &ins, NULL) != SQLITE_OK) {
      fprintf(stderr, "gen: prepare: %s\n", sqlite3_errmsg(db));
      return 1;
    }
  }

  FILE *copy = NULL;
  static char copy_buf[1 << 20];
  if (copy_path) {
    copy = strcmp(copy_path, "-") == 0 ? stdout : fopen(copy_path, "wb");
    if (copy == NULL) {
      perror(copy_path);
      return 1;
    }
    setvbuf(copy, copy_buf, _IOFBF, sizeof copy_buf);
    copy_header(copy);
  }

  counts c;
  memset(&c, 0, sizeof c);
  c.min_len = UINT64_MAX;
  rs_buf buf = RS_BUF_INIT;
  for (uint64_t key = 1; key <= rows; key++) {
    int v2 = chance(20);
    int rc =
        v2 ? make_v2(&buf, reg, key, &c, &err) : make_v1(&buf, reg, key, &err);
    if (rc != 0) {
      fprintf(stderr, "gen: encode key %" PRIu64 ": %s\n", key, err.message);
      return 1;
    }
    if (v2) {
      c.v2++;
      c.bytes_v2 += buf.len;
    } else {
      c.v1++;
      c.bytes_v1 += buf.len;
    }
    c.bytes += buf.len;
    if (buf.len < c.min_len) c.min_len = buf.len;
    if (buf.len > c.max_len) c.max_len = buf.len;
    if (ins) {
      sqlite3_bind_int64(ins, 1, (sqlite3_int64)key);
      sqlite3_bind_blob(ins, 2, buf.data, (int)buf.len, SQLITE_STATIC);
      if (sqlite3_step(ins) != SQLITE_DONE) {
        fprintf(stderr, "gen: insert key %" PRIu64 ": %s\n", key,
                sqlite3_errmsg(db));
        return 1;
      }
      sqlite3_reset(ins);
    }
    if (copy) copy_row(copy, key, buf.data, buf.len);
  }
  rs_buf_dispose(&buf, NULL);

  if (ins) {
    sqlite3_finalize(ins);
    if (sql_exec(db, "COMMIT") || sql_exec(db, "ANALYZE")) return 1;
    sqlite3_close(db);
  }
  if (copy) {
    put_be16(copy, 0xFFFF); /* trailer: field count -1 */
    if (fflush(copy) != 0 || ferror(copy) ||
        (copy != stdout && fclose(copy) != 0)) {
      perror(copy_path);
      return 1;
    }
  }
  rs_registry_free(reg);

  fprintf(stderr,
          "gen: rows=%" PRIu64 " v1=%" PRIu64 " v2=%" PRIu64
          " avg_bytes=%.1f avg_v1=%.1f avg_v2=%.1f min=%" PRIu64 " max=%" PRIu64
          "\n"
          "gen: v2 awaiting_auth=%" PRIu64 " guest=%" PRIu64 " gift=%" PRIu64
          " discount=%" PRIu64 " deliver_by=%" PRIu64 " promo=%" PRIu64
          " pickup=%" PRIu64
          "\n"
          "gen: expect raw-reader ok=%" PRIu64 " unreadable=%" PRIu64
          "; envelope-reader v2 ok=%" PRIu64 " ignored_fields=%" PRIu64
          " misread=%" PRIu64 " unreadable=%" PRIu64 "\n",
          rows, c.v1, c.v2, (double)c.bytes / (double)rows,
          c.v1 ? (double)c.bytes_v1 / (double)c.v1 : 0.0,
          c.v2 ? (double)c.bytes_v2 / (double)c.v2 : 0.0, c.min_len, c.max_len,
          c.v2_awaiting_auth, c.v2_guest, c.v2_gift, c.v2_discount,
          c.v2_deliver_by, c.v2_promo, c.v2_pickup, c.v1, c.v2, c.env_ok,
          c.env_ignored, c.env_misread, c.env_unreadable);
  return 0;
}
