#define _POSIX_C_SOURCE 200809L
/*
 * src/cli/cmd_demo.c: `rollsafe demo DIR`, a SQLite database of the example
 * domain and a config that covers it, so that `rollsafe scan` can be tried
 * on something that looks like production.
 *
 * The rows are what a 20% rollout of checkout_v2 leaves behind: version-1
 * orders the old code wrote as raw protobuf, version-2 orders in envelopes
 * with every hazard of schema/README.md's table in proportions like real
 * traffic, and a few corrupt rows. Everything but the clock comes from one
 * seed, so a seed and a row count always give the same orders.
 *
 * Both files are built under temporary names in DIR and renamed into place
 * only when complete: an interrupted or failed run leaves nothing behind,
 * and never half a database under the real name.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>
#include <rollsafe/rollsafe.h>
#include <rollsafe/shop.h>
#include <rollsafe/shop/v1/order.pb-c.h>
#include <rollsafe/shop/v2/order.pb-c.h>

#include "cli.h"
#include "opt.h"
#include "report/format_version.h"
#include "store/store_stream.h"

#define CMD "demo"

#define DB_NAME "demo.db"
#define CONFIG_NAME "rollsafe.yaml"
#define TABLE_NAME "orders"
/* The order-events outbox beside the orders, and a dump of its messages
 * as a queue dump tool writes them (varint-length-delimited records). */
#define OUTBOX_NAME "order_events"
#define DUMP_NAME "order-events.dump"
/* One message per this many orders (at least one). */
#define ORDERS_PER_EVENT 10u

#define DEFAULT_ROWS 100000u
#define MAX_ROWS 100000000u
/* Any fixed value does; this one is the date the example domain was born. */
#define DEFAULT_SEED 20260115u

/* The rollout: checkout_v2 has been on for 20% of traffic for two hours. */
#define V2_PERCENT 20u
#define WINDOW_US ((int64_t)2 * 3600 * 1000000)
/* Corrupt rows per 10,000 (0.05%). */
#define CORRUPT_PER_10K 5u

/*
 * Order contents (created_at, deliver_by) count from this fixed instant,
 * 2026-01-15T08:00:00Z, not from the clock: then a seed gives the same
 * payload bytes on every run, and only written_at and the envelopes'
 * write times move with the clock.
 */
#define CONTENT_EPOCH INT64_C(1768464000)

/* ---- the mix of version-2 rows ----------------------------------------- */

/*
 * Each version-2 row is of exactly one kind, so that the counts tell how
 * many rows each hazard touches. The verdict is what schema/README.md says
 * an envelope-aware version-1 reader makes of the kind; tests/cli/
 * test_demo.py checks it with `rollsafe inspect` instead of trusting it.
 */
typedef enum demo_kind {
  KIND_PLAIN,
  KIND_NEW_FIELDS,
  KIND_PICKUP_STORE,
  KIND_AWAITING_AUTH,
  KIND_DISCOUNT_USD,
  KIND_DISCOUNT_SUB_CENT,
  KIND_DISCOUNT_NON_USD,
  KIND_GUEST_CHECKOUT,
  KIND_DELIVER_BY_TIMESTAMP,
  N_KINDS
} demo_kind;

typedef struct demo_kind_info {
  const char *name;
  unsigned per_mille; /* share of the version-2 rows */
  const char *what;
  const char *verdict; /* for reader version 1, envelope framing */
} demo_kind_info;

/* Most new-format traffic is harmless; each bad kind is a few percent. */
static const demo_kind_info kinds[N_KINDS] = {
    {"plain", 300, "only fields version 1 knows", "ok"},
    {"new_fields", 400, "promo_codes(11), gift_message(12)", "ignored_fields"},
    {"pickup_store", 100, "pickup_store_id(13), no ship_to", "ignored_fields"},
    {"awaiting_auth", 50, "status(4) AWAITING_AUTH", "misread"},
    {"discount_usd", 50, "discount(10) in whole USD cents", "misread"},
    {"discount_sub_cent", 10, "discount(10), sub-cent USD", "misread"},
    {"discount_non_usd", 20, "discount(10) in EUR/GBP/CAD", "misread"},
    {"guest_checkout", 40, "no customer_id(2)", "unreadable"},
    {"deliver_by_timestamp", 30, "deliver_by(9) as Timestamp", "unreadable"},
};

/* ---- a reproducible random sequence ----------------------------------- */

/*
 * splitmix64: the same sequence on every platform and libc (rand() is
 * not), which a reproducible demo needs; statistical quality beyond that
 * does not matter here.
 */
typedef struct demo_rng {
  uint64_t s;
} demo_rng;

static uint64_t rng_next(demo_rng *r) {
  uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* 0..n-1 for n > 0. The modulo bias is below 2^-30 for every n used here. */
static uint64_t rng_below(demo_rng *r, uint64_t n) {
  return rng_next(r) % n;
}

static int rng_percent(demo_rng *r, unsigned percent) {
  return rng_below(r, 100) < percent;
}

/*
 * Each row draws its contents from a stream of its own, so that what one
 * row consumes (a corrupt row retries until its bytes are really corrupt)
 * never shifts the rows after it.
 */
static demo_rng row_rng(uint64_t seed, uint64_t id) {
  demo_rng h = {seed ^ UINT64_C(0x5bd1e9955bd1e995)};
  h.s += id * UINT64_C(0xd1b54a32d192ed03);
  demo_rng r = {rng_next(&h)};
  return r;
}

/* ---- orders ------------------------------------------------------------ */

#define MAX_ITEMS 4

static const struct {
  const char *sku;
  int64_t cents;
} catalog[] = {
    {"TEE-CLASSIC-M", 1999}, {"TEE-CLASSIC-L", 1999},    {"HOODIE-ZIP-M", 5499},
    {"MUG-STONE-350", 1450}, {"BOTTLE-STEEL-750", 2899}, {"CAP-WOOL-GRY", 2400},
    {"SOCKS-3PK", 1299},     {"TOTE-CANVAS", 1800},      {"NOTEBOOK-A5", 950},
    {"STICKERS-10", 499},
};

static const struct {
  const char *city, *postal_code, *country;
} places[] = {
    {"Berlin", "10115", "DE"},    {"Lyon", "69001", "FR"},
    {"Austin", "78701", "US"},    {"Portland", "97205", "US"},
    {"Toronto", "M5V 2T6", "CA"}, {"Leeds", "LS1 4AP", "GB"},
    {"Madrid", "28013", "ES"},    {"Chicago", "60601", "US"},
};

static const char *const streets[] = {"Main Street",  "Market Street",
                                      "Oak Avenue",   "High Street",
                                      "Station Road", "Harbour Lane"};
static const char *const promo_codes[] = {"SPRING10", "FREESHIP", "WELCOME5",
                                          "VIP20", "BUNDLE3"};
static const char *const gift_messages[] = {
    "Happy birthday!", "Congratulations on the new job",
    "Thank you for everything", "Enjoy, and see you soon"};
static const char *const stores[] = {"store-berlin-mitte", "store-austin-2nd",
                                     "store-leeds-briggate",
                                     "store-toronto-queen"};
static const char *const currencies[] = {"EUR", "GBP", "CAD"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define PICK(r, a) ((a)[rng_below((r), COUNT(a))])

#define N_PODS 6u

/*
 * Storage for one order of either version: every string and sub-message
 * the generated structs point to lives here, so a row costs no allocation.
 */
typedef struct demo_order {
  char order_id[32];
  char customer_id[32];
  char line1[64];
  const char *promos[2];
  Shop__V1__LineItem items1[MAX_ITEMS];
  Shop__V1__LineItem *items1_p[MAX_ITEMS];
  Shop__V2__LineItem items2[MAX_ITEMS];
  Shop__V2__LineItem *items2_p[MAX_ITEMS];
  Shop__V1__Address ship1;
  Shop__V2__Address ship2;
  Shop__V2__Money discount;
  Shop__V2__Timestamp deliver_by;
  Shop__V1__Order v1;
  Shop__V2__Order v2;
} demo_order;

/* What both versions share, drawn once per row. */
typedef struct demo_common {
  size_t n_items;
  unsigned sku[MAX_ITEMS];
  uint32_t quantity[MAX_ITEMS];
  int64_t subtotal;
  unsigned place;
  int status; /* a version-1 status number */
} demo_common;

static int draw_status(demo_rng *r) {
  /* The orders are hours old: most are paid, few have arrived yet. */
  uint64_t p = rng_below(r, 100);
  return p < 20 ? 1 : p < 75 ? 2 : p < 90 ? 3 : p < 95 ? 4 : 5;
}

static void draw_common(demo_common *c, demo_order *o, demo_rng *r,
                        uint64_t id) {
  static const unsigned item_weights[MAX_ITEMS] = {50, 30, 15, 5};
  uint64_t p = rng_below(r, 100);
  c->n_items = 1;
  for (unsigned w = item_weights[0]; p >= w && c->n_items < MAX_ITEMS;)
    w += item_weights[c->n_items++];
  c->subtotal = 0;
  for (size_t i = 0; i < c->n_items; i++) {
    c->sku[i] = (unsigned)rng_below(r, COUNT(catalog));
    c->quantity[i] = rng_percent(r, 80) ? 1u : 2u + (uint32_t)rng_below(r, 2);
    c->subtotal += catalog[c->sku[i]].cents * c->quantity[i];
  }
  c->place = (unsigned)rng_below(r, COUNT(places));
  c->status = draw_status(r);
  snprintf(o->order_id, sizeof o->order_id, "ord-%08" PRIu64, id);
  /* Repeat customers: a customer number is drawn from a smaller pool. */
  snprintf(o->customer_id, sizeof o->customer_id, "cus-%06" PRIu64,
           1 + rng_below(r, 40000));
  snprintf(o->line1, sizeof o->line1, "%u %s", 1u + (unsigned)rng_below(r, 240),
           PICK(r, streets));
}

/* A delivery date: a few days after creation, at 18:00 UTC. */
static int64_t draw_deliver_by(demo_rng *r, int64_t created_at) {
  int64_t day = created_at / 86400 + 2 + (int64_t)rng_below(r, 5);
  return day * 86400 + 18 * 3600;
}

static void make_v1(demo_order *o, demo_rng *r, uint64_t id,
                    int64_t created_at) {
  demo_common c;
  draw_common(&c, o, r, id);
  Shop__V1__Order *m = &o->v1;
  shop__v1__order__init(m);
  m->order_id = o->order_id;
  m->customer_id = o->customer_id;
  m->has_status = 1;
  m->status = (Shop__V1__Order__Status)c.status;
  for (size_t i = 0; i < c.n_items; i++) {
    shop__v1__line_item__init(&o->items1[i]);
    o->items1[i].sku = (char *)catalog[c.sku[i]].sku;
    o->items1[i].has_quantity = 1;
    o->items1[i].quantity = c.quantity[i];
    o->items1[i].has_unit_price_cents = 1;
    o->items1[i].unit_price_cents = catalog[c.sku[i]].cents;
    o->items1_p[i] = &o->items1[i];
  }
  m->n_items = c.n_items;
  m->items = o->items1_p;
  m->has_created_at = 1;
  m->created_at = created_at;
  shop__v1__address__init(&o->ship1);
  o->ship1.line1 = o->line1;
  o->ship1.city = (char *)places[c.place].city;
  o->ship1.postal_code = (char *)places[c.place].postal_code;
  o->ship1.country = (char *)places[c.place].country;
  m->ship_to = &o->ship1;
  int64_t discount = 0;
  if (rng_percent(r, 12)) {
    discount = 250 * (1 + (int64_t)rng_below(r, 6));
    if (discount > c.subtotal) discount = c.subtotal;
    m->has_discount_cents = 1;
    m->discount_cents = discount;
  }
  if (rng_percent(r, 8)) {
    m->has_deliver_by = 1;
    m->deliver_by = draw_deliver_by(r, created_at);
  }
  m->has_total_cents = 1;
  m->total_cents = c.subtotal - discount;
}

/* Sets discount(10) for a discount kind; returns its value in cents. */
static int64_t make_discount(demo_order *o, demo_rng *r, demo_kind kind,
                             int64_t subtotal) {
  Shop__V2__Money *d = &o->discount;
  shop__v2__money__init(d);
  int64_t cents = 250 * (1 + (int64_t)rng_below(r, 6));
  if (cents > subtotal) cents = subtotal;
  d->has_units = 1;
  d->units = cents / 100;
  d->has_nanos = 1;
  d->nanos = (int32_t)(cents % 100) * 10000000;
  switch (kind) {
    case KIND_DISCOUNT_USD:
      /* Some writers leave the currency out, which means USD. */
      d->currency_code = rng_percent(r, 80) ? (char *)"USD" : NULL;
      break;
    case KIND_DISCOUNT_SUB_CENT:
      /* A percentage off that does not come out in whole cents. */
      d->nanos += 1000000 + (int32_t)rng_below(r, 8) * 1000000;
      d->currency_code = (char *)"USD";
      break;
    default: /* KIND_DISCOUNT_NON_USD */
      d->currency_code = (char *)PICK(r, currencies);
      break;
  }
  o->v2.discount = d;
  /* A discount usually comes from a code. */
  o->promos[0] = PICK(r, promo_codes);
  o->v2.n_promo_codes = 1;
  o->v2.promo_codes = (char **)o->promos;
  return cents;
}

static void make_v2(demo_order *o, demo_rng *r, uint64_t id, int64_t created_at,
                    demo_kind kind) {
  demo_common c;
  draw_common(&c, o, r, id);
  Shop__V2__Order *m = &o->v2;
  shop__v2__order__init(m);
  m->order_id = o->order_id;
  m->customer_id = kind == KIND_GUEST_CHECKOUT ? NULL : o->customer_id;
  m->has_status = 1;
  m->status = kind == KIND_AWAITING_AUTH
                  ? SHOP__V2__ORDER__STATUS__AWAITING_AUTH
                  : (Shop__V2__Order__Status)c.status;
  for (size_t i = 0; i < c.n_items; i++) {
    shop__v2__line_item__init(&o->items2[i]);
    o->items2[i].sku = (char *)catalog[c.sku[i]].sku;
    o->items2[i].has_quantity = 1;
    o->items2[i].quantity = c.quantity[i];
    o->items2[i].has_unit_price_cents = 1;
    o->items2[i].unit_price_cents = catalog[c.sku[i]].cents;
    o->items2_p[i] = &o->items2[i];
  }
  m->n_items = c.n_items;
  m->items = o->items2_p;
  m->has_created_at = 1;
  m->created_at = created_at;
  if (kind == KIND_PICKUP_STORE) {
    m->fulfilment_case = SHOP__V2__ORDER__FULFILMENT_PICKUP_STORE_ID;
    m->pickup_store_id = (char *)PICK(r, stores);
  } else {
    shop__v2__address__init(&o->ship2);
    o->ship2.line1 = o->line1;
    o->ship2.city = (char *)places[c.place].city;
    o->ship2.postal_code = (char *)places[c.place].postal_code;
    o->ship2.country = (char *)places[c.place].country;
    m->fulfilment_case = SHOP__V2__ORDER__FULFILMENT_SHIP_TO;
    m->ship_to = &o->ship2;
  }

  int64_t discount = 0;
  switch (kind) {
    case KIND_NEW_FIELDS: {
      uint64_t p = rng_below(r, 100);
      if (p < 75) { /* promo codes, sometimes with a gift message */
        o->promos[0] = PICK(r, promo_codes);
        o->promos[1] = PICK(r, promo_codes);
        m->n_promo_codes =
            rng_percent(r, 85) || o->promos[0] == o->promos[1] ? 1 : 2;
        m->promo_codes = (char **)o->promos;
      }
      if (p >= 60) m->gift_message = (char *)PICK(r, gift_messages);
      break;
    }
    case KIND_DISCOUNT_USD:
    case KIND_DISCOUNT_SUB_CENT:
    case KIND_DISCOUNT_NON_USD:
      discount = make_discount(o, r, kind, c.subtotal);
      break;
    case KIND_DELIVER_BY_TIMESTAMP:
      shop__v2__timestamp__init(&o->deliver_by);
      o->deliver_by.has_seconds = 1;
      o->deliver_by.seconds = draw_deliver_by(r, created_at);
      /* Most writers send whole seconds; a few pass a fraction, which
       * down-conversion to version 1 (int64 seconds) loses. */
      if (rng_percent(r, 20)) {
        o->deliver_by.has_nanos = 1;
        o->deliver_by.nanos = 1000000 * (1 + (int32_t)rng_below(r, 999));
      }
      m->deliver_by = &o->deliver_by;
      break;
    default:
      break;
  }
  /* The harmful kinds carry the new harmless fields now and then too; the
   * worse hazard decides their verdict. */
  if (kind >= KIND_AWAITING_AUTH && m->n_promo_codes == 0 &&
      rng_percent(r, 20)) {
    o->promos[0] = PICK(r, promo_codes);
    m->n_promo_codes = 1;
    m->promo_codes = (char **)o->promos;
  }
  m->has_total_cents = 1;
  m->total_cents = c.subtotal - discount;
}

/* ---- arguments --------------------------------------------------------- */

typedef struct demo_args {
  const char *dir;
  uint64_t rows;
  uint64_t seed;
  int force;
  int json;
  int help;
} demo_args;

enum { OPT_ROWS = 1, OPT_SEED, OPT_FORCE, OPT_FORMAT, OPT_HELP };

static const cli_opt_spec demo_opts[] = {
    {OPT_ROWS, "rows", 'n', 1},   {OPT_SEED, "seed", 0, 1},
    {OPT_FORCE, "force", 'f', 0}, {OPT_FORMAT, "format", 0, 1},
    {OPT_HELP, "help", 'h', 0},
};

void cli_demo_help(FILE *out) {
  static const char *const lines[] = {
      "usage: " CLI_PROGRAM " demo [options] DIR",
      "",
      "Creates DIR/" DB_NAME ", a SQLite database of the example domain, and",
      "DIR/" CONFIG_NAME ", a config that covers it, to try '" CLI_PROGRAM
      " scan' on.",
      "",
      "The table " TABLE_NAME
      " (id INTEGER PRIMARY KEY, payload BLOB, written_at TEXT)",
      "holds what two hours of a 20% rollout of the flag checkout_v2 leave",
      "behind: 80% shop.Order version 1, raw protobuf as the old code wrote",
      "it; 20% version 2 in rollsafe envelopes with provenance checkout_v2/on,",
      "a mix of every change schema/README.md lists (new fields an old reader",
      "ignores, a new status, guest checkouts without customer_id, the moved",
      "discount, deliver_by as a Timestamp, store pickups) and plain orders;",
      "and 0.05% corrupt rows that no version decodes. written_at is the UTC",
      "time the row was written, within the last two hours.",
      "",
      "The same --rows and --seed give the same orders: only written_at and",
      "the write times in the envelopes follow the clock.",
      "",
      "DIR is created if missing (its parent must exist). Both files are",
      "written under temporary names and renamed into place when complete.",
      "",
      "Options:",
      "  -n, --rows N        number of orders, 1 to 100000000 (default 100000)",
      "      --seed S        seed of the generator, 0 to 2^63-1 (default "
      "20260115)",
      "  -f, --force         replace DIR/" DB_NAME " and DIR/" CONFIG_NAME
      " if they exist",
      "      --format F      text (default) or json: what was written, as one",
      "                      JSON document",
      "  -q, --quiet         no notes on stderr (errors are still printed)",
      "  -h, --help          show this help",
      "",
      "Examples:",
      "  " CLI_PROGRAM " demo /tmp/rollsafe-demo",
      "  " CLI_PROGRAM " scan -c /tmp/rollsafe-demo/" CONFIG_NAME,
      "  " CLI_PROGRAM " demo --rows 1000000 --seed 7 --force /tmp/big-demo",
      "  sqlite3 /tmp/rollsafe-demo/" DB_NAME
      " \"SELECT id, written_at FROM " TABLE_NAME " LIMIT 5\"",
      "",
      "Exit status:",
      "  0  written",
      "  2  usage error, or a file exists and --force was not given",
      "  3  a file cannot be written",
      "  4  interrupted: nothing was written",
  };
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
    fprintf(out, "%s\n", lines[i]);
}

/* A decimal number in [min, max], nothing else: no sign, no spaces. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  if (s[0] < '0' || s[0] > '9') return -1;
  uint64_t v = 0;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9') return -1;
    unsigned d = (unsigned)(*s - '0');
    if (v > (max - d) / 10) return -1;
    v = v * 10 + d;
  }
  if (v < min) return -1;
  *out = v;
  return 0;
}

static int parse_args(demo_args *a, int argc, char **argv) {
  cli_opt_parser p;
  cli_opt_init(&p, demo_opts, sizeof demo_opts / sizeof demo_opts[0], argc,
               argv, CMD);
  const char *value;
  int id;
  while ((id = cli_opt_next(&p, &value)) != CLI_OPT_END) {
    switch (id) {
      case CLI_OPT_ERROR:
        return CLI_EXIT_USAGE;
      case CLI_OPT_ARG:
        if (a->dir != NULL)
          return cli_usage_error(CMD,
                                 "unexpected argument '%s': demo takes one "
                                 "directory",
                                 value);
        a->dir = value;
        break;
      case OPT_ROWS:
        if (parse_u64(value, 1, MAX_ROWS, &a->rows) != 0)
          return cli_usage_error(CMD,
                                 "invalid --rows '%s': expected a number "
                                 "from 1 to %u",
                                 value, MAX_ROWS);
        break;
      case OPT_SEED:
        if (parse_u64(value, 0, (uint64_t)INT64_MAX, &a->seed) != 0)
          return cli_usage_error(CMD,
                                 "invalid --seed '%s': expected a number "
                                 "from 0 to %" PRId64,
                                 value, INT64_MAX);
        break;
      case OPT_FORCE:
        a->force = 1;
        break;
      case OPT_FORMAT:
        if (cli_opt_format(CMD, value, &a->json) != 0) return CLI_EXIT_USAGE;
        break;
      case OPT_HELP:
        a->help = 1;
        break;
      default:
        return cli_usage_error(CMD, "unhandled option");
    }
  }
  if (!a->help && a->dir == NULL)
    return cli_usage_error(CMD, "missing DIR: the directory to write " DB_NAME
                                " and " CONFIG_NAME " into");
  if (!a->help && a->dir[0] == '\0')
    return cli_usage_error(CMD, "DIR is empty");
  if (!a->help && a->json) {
    /* Checked now rather than after writing: JSON strings are UTF-8. */
    json_t *probe = json_string(a->dir);
    if (probe == NULL)
      return cli_usage_error(CMD,
                             "DIR is not valid UTF-8, which --format json "
                             "cannot show");
    json_decref(probe);
  }
  return 0;
}

/* ---- files ------------------------------------------------------------- */

/* "DIR/name" without doubling a trailing slash; malloc'd, NULL on ENOMEM. */
static char *path_join(const char *dir, const char *name) {
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') n--;
  int slash = !(n == 1 && dir[0] == '/');
  size_t size = n + (size_t)slash + strlen(name) + 1;
  char *s = malloc(size);
  if (s != NULL)
    snprintf(s, size, "%.*s%s%s", (int)n, dir, slash ? "/" : "", name);
  return s;
}

/* The files SQLite keeps next to a database while it is in use. */
static const char *const sqlite_sidecars[] = {"-journal", "-wal", "-shm"};

typedef struct demo_paths {
  char *db, *config, *dump;
  char *db_side[COUNT(sqlite_sidecars)];
  char *tmp_db, *tmp_config, *tmp_dump; /* NULL until created */
  char *tmp_db_side[COUNT(sqlite_sidecars)];
} demo_paths;

static void paths_free(demo_paths *p) {
  free(p->db);
  free(p->config);
  free(p->dump);
  free(p->tmp_db);
  free(p->tmp_config);
  free(p->tmp_dump);
  for (size_t i = 0; i < COUNT(sqlite_sidecars); i++) {
    free(p->db_side[i]);
    free(p->tmp_db_side[i]);
  }
}

static int out_of_memory(void) {
  cli_error(CMD, "out of memory");
  return CLI_EXIT_IO;
}

/* Fills the sidecar names of @p db into @p side; -1 when out of memory. */
static int sidecar_paths(char **side, const char *db) {
  for (size_t i = 0; i < COUNT(sqlite_sidecars); i++) {
    size_t size = strlen(db) + strlen(sqlite_sidecars[i]) + 1;
    if ((side[i] = malloc(size)) == NULL) return -1;
    snprintf(side[i], size, "%s%s", db, sqlite_sidecars[i]);
  }
  return 0;
}

/* Makes DIR if it is missing; *created says whether this run made it. */
static int ensure_dir(const char *dir, int *created) {
  *created = 0;
  if (mkdir(dir, 0777) == 0) {
    *created = 1;
    return 0;
  }
  int e = errno;
  struct stat st;
  if (e == EEXIST && stat(dir, &st) == 0) {
    if (S_ISDIR(st.st_mode)) return 0;
    cli_error(CMD, "cannot use %s as the directory: %s", dir,
              strerror(ENOTDIR));
    return CLI_EXIT_IO;
  }
  cli_error(CMD, "cannot create the directory %s: %s%s", dir, strerror(e),
            e == ENOENT ? " (its parent must exist)" : "");
  return CLI_EXIT_IO;
}

/*
 * Refuses to go on when a file this run would replace exists. A leftover
 * journal or WAL counts too: SQLite would apply it to the new database.
 */
static int check_free(const char *path, int force) {
  struct stat st;
  if (lstat(path, &st) == 0) {
    if (force) return 0;
    cli_error(CMD, "%s already exists; use --force to replace it", path);
    return CLI_EXIT_USAGE;
  }
  if (errno == ENOENT) return 0;
  cli_error(CMD, "cannot check %s: %s", path, strerror(errno));
  return CLI_EXIT_IO;
}

/*
 * A hidden file in DIR from mkstemp, with the mode an ordinary new file
 * gets (mkstemp makes it 0600). Returns the open descriptor or -1.
 */
static int make_temp(char **out, const char *dir, const char *name) {
  char *path = path_join(dir, name);
  if (path == NULL) {
    out_of_memory();
    return -1;
  }
  int fd = mkstemp(path);
  if (fd < 0) {
    cli_error(CMD, "cannot create a temporary file in %s: %s", dir,
              strerror(errno));
    free(path);
    return -1;
  }
  mode_t mask = umask(0);
  umask(mask);
  if (fchmod(fd, 0666 & ~mask) != 0) {
    cli_error(CMD, "cannot set the mode of %s: %s", path, strerror(errno));
    close(fd);
    unlink(path);
    free(path);
    return -1;
  }
  *out = path;
  return fd;
}

/* Removes whatever of the temporary files exists; used on every failure. */
static void remove_temps(demo_paths *p) {
  if (p->tmp_db != NULL) {
    unlink(p->tmp_db);
    for (size_t i = 0; i < COUNT(sqlite_sidecars); i++)
      if (p->tmp_db_side[i] != NULL) unlink(p->tmp_db_side[i]);
  }
  if (p->tmp_config != NULL) unlink(p->tmp_config);
  if (p->tmp_dump != NULL) unlink(p->tmp_dump);
}

/* fsync a file by name, so that the rename publishes complete contents. */
static int sync_path(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}

/*
 * Moves @p tmp to @p final. Without --force a file that appeared since
 * the check must not be clobbered: link() fails with EEXIST where
 * rename() would replace it. Filesystems without hard links fall back to
 * a check and a rename.
 */
static int place(const char *tmp, const char *final, int force) {
  if (force) return rename(tmp, final);
  if (link(tmp, final) == 0) {
    unlink(tmp);
    return 0;
  }
  if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP ||
      errno == ENOSYS || errno == EMLINK || errno == EXDEV) {
    struct stat st;
    if (lstat(final, &st) == 0) {
      errno = EEXIST;
      return -1;
    }
    return rename(tmp, final);
  }
  return -1;
}

/* ---- interruption ------------------------------------------------------ */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig) {
  interrupted = sig;
}

typedef struct demo_signals {
  struct sigaction old_int, old_term;
} demo_signals;

/* Ctrl-C or a kill must not leave a temporary file behind: note it, stop
 * at the next row, clean up. */
static void catch_signals(demo_signals *s) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  interrupted = 0;
  sigaction(SIGINT, &sa, &s->old_int);
  sigaction(SIGTERM, &sa, &s->old_term);
}

static void restore_signals(const demo_signals *s) {
  sigaction(SIGINT, &s->old_int, NULL);
  sigaction(SIGTERM, &s->old_term, NULL);
}

/* ---- the database ------------------------------------------------------ */

typedef struct demo_counts {
  uint64_t rows, v1, v2[N_KINDS], corrupt;
  /* the outbox only: messages per state (pending, processing, done) */
  uint64_t states[3];
} demo_counts;

static const char *const outbox_states[3] = {"pending", "processing", "done"};

/* Where fill_table puts each record: a table row, or an outbox message and
 * its copy in the dump. */
typedef struct demo_sink {
  sqlite3_stmt *ins;
  int outbox;
  FILE *dump; /* outbox only */
  const char *dump_path;
  uint64_t seed; /* of the states, apart from the records' own */
} demo_sink;

typedef struct demo_gen {
  const rs_registry *reg;
  uint64_t seed;
  rs_buf buf;
  uint8_t garbage[48];
  demo_order order;
  char writer_ids[N_PODS][40];
} demo_gen;

static void format_time_us(char *buf, size_t size, int64_t us) {
  time_t secs = (time_t)(us / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, size - n, ".%06dZ", (int)(us % 1000000));
}

/*
 * Bytes no version decodes, as storage produces them: a record cut short
 * (a v1 row or an envelope) or garbage. Each candidate is checked with
 * rs_classify and drawn again until the library calls it corrupt, so the
 * count this command prints is the count a scan finds. The bytes are left
 * in *out and *out_len (g->buf or g->garbage).
 */
static int make_corrupt(const uint8_t **out, size_t *out_len, demo_gen *g,
                        demo_rng *r, uint64_t id, int64_t created_at,
                        int64_t write_time_us, rs_error *err) {
  /* Wire type 7 in the first tag: no protobuf parser gets past byte 0. */
  static const uint8_t fallback[] = {0x0f, 0xde, 0xad};
  rs_reader reader = RS_READER_INIT;
  reader.format_version = 1;
  reader.framing = RS_READER_FRAMING_ENVELOPE;
  for (int attempt = 0; attempt < 32; attempt++) {
    uint64_t how = rng_below(r, 10);
    const uint8_t *bytes;
    size_t len;
    if (how < 7) {
      int rc;
      if (how < 4) {
        make_v1(&g->order, r, id, created_at);
        rc = rs_encode(&g->buf, g->reg, RS_SHOP_ORDER, 1, &g->order.v1.base,
                       NULL, NULL, err);
      } else {
        make_v2(&g->order, r, id, created_at, KIND_PLAIN);
        rs_provenance prov = RS_PROVENANCE_INIT;
        prov.flag_key = RS_SHOP_FLAG;
        prov.variant = "on";
        prov.writer_id = g->writer_ids[rng_below(r, N_PODS)];
        prov.write_time_us = write_time_us;
        rc = rs_encode(&g->buf, g->reg, RS_SHOP_ORDER, 2, &g->order.v2.base,
                       &prov, NULL, err);
      }
      if (rc != 0) return rc;
      bytes = g->buf.data;
      len = 1 + (size_t)rng_below(r, g->buf.len - 1); /* cut short */
    } else {
      len = 4 + (size_t)rng_below(r, sizeof g->garbage - 3);
      for (size_t i = 0; i < len; i++) g->garbage[i] = (uint8_t)rng_next(r);
      bytes = g->garbage;
    }

    rs_classification *c = NULL;
    int rc =
        rs_classify(&c, g->reg, RS_SHOP_ORDER, &reader, bytes, len, NULL, err);
    if (rc != 0) return rc;
    int corrupt = rs_classification_verdict(c) == RS_VERDICT_CORRUPT;
    rs_classification_free(c);
    if (corrupt) {
      *out = bytes;
      *out_len = len;
      return 0;
    }
  }
  *out = fallback;
  *out_len = sizeof fallback;
  return 0;
}

static int db_fail(sqlite3 *db, const char *path, const char *what) {
  cli_error(CMD, "%s: %s: %s", path, what,
            db ? sqlite3_errmsg(db) : "out of memory");
  return CLI_EXIT_IO;
}

/* Picks the category of each row with exact totals: of the rows left,
 * a share equal to what is left of each category. */
static uint64_t pick(demo_rng *r, const uint64_t *left, size_t n,
                     uint64_t total) {
  uint64_t x = rng_below(r, total);
  size_t i = 0;
  while (i + 1 < n && x >= left[i]) x -= left[i++];
  return i;
}

/* The number of rows of each kind among @p n_v2: largest remainders, and
 * one of each kind at least when there are rows enough. */
static void kind_targets(uint64_t *out, uint64_t n_v2) {
  uint64_t given = 0, rem[N_KINDS];
  for (size_t k = 0; k < N_KINDS; k++) {
    out[k] = n_v2 * kinds[k].per_mille / 1000;
    rem[k] = n_v2 * kinds[k].per_mille % 1000;
    given += out[k];
  }
  while (given < n_v2) {
    size_t best = 0;
    for (size_t k = 1; k < N_KINDS; k++)
      if (rem[k] > rem[best]) best = k;
    out[best]++;
    rem[best] = 0;
    given++;
  }
  if (n_v2 < N_KINDS) return;
  for (size_t k = 0; k < N_KINDS; k++) {
    if (out[k] != 0) continue;
    size_t most = 0;
    for (size_t j = 1; j < N_KINDS; j++)
      if (out[j] > out[most]) most = j;
    out[most]--;
    out[k]++;
  }
}

/* Writes varint(len) and the bytes to the dump; 0 or -1 (errno set). */
static int dump_put(FILE *f, const uint8_t *bytes, size_t len) {
  uint8_t prefix[10];
  size_t n = store_stream_varint(prefix, len);
  return fwrite(prefix, 1, n, f) == n && fwrite(bytes, 1, len, f) == len ? 0
                                                                         : -1;
}

/* Binds what an outbox message adds to its row (?4 order_id, ?5 state) and
 * writes it to the dump. */
static int sink_outbox(demo_sink *k, demo_gen *g, uint64_t id,
                       const uint8_t *bytes, size_t len, demo_counts *counts) {
  demo_rng r = row_rng(k->seed, id);
  /* Most messages wait for a consumer; some are being handled, some were
   * delivered and kept (an outbox that marks rather than deletes). */
  uint64_t x = rng_below(&r, 100);
  int state = x < 80 ? 0 : x < 85 ? 1 : 2;
  counts->states[state]++;
  sqlite3_bind_text(k->ins, 4, g->order.order_id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(k->ins, 5, outbox_states[state], -1, SQLITE_STATIC);
  if (dump_put(k->dump, bytes, len) != 0) {
    cli_error(CMD, "cannot write %s: %s", k->dump_path, strerror(errno));
    return CLI_EXIT_IO;
  }
  return 0;
}

static int fill_table(sqlite3 *db, const char *path, demo_gen *g,
                      uint64_t n_rows, int64_t start_us, demo_counts *counts,
                      demo_sink *sink) {
  sqlite3_stmt *ins = NULL;
  int status = 0;
  rs_error err = RS_ERROR_INIT;

  if (sqlite3_prepare_v2(db,
                         sink->outbox
                             ? "INSERT INTO " OUTBOX_NAME
                               " (id, payload, enqueued_at, order_id, state)"
                               " VALUES (?1, ?2, ?3, ?4, ?5)"
                             : "INSERT INTO " TABLE_NAME
                               " (id, payload, written_at) VALUES (?1, ?2, ?3)",
                         -1, &ins, NULL) != SQLITE_OK)
    return db_fail(db, path, "cannot prepare the insert");
  sink->ins = ins;

  /* Categories, in pick() order: version 2, corrupt, version 1. */
  uint64_t left[3];
  left[0] = (n_rows * V2_PERCENT + 50) / 100;
  left[1] = (n_rows * CORRUPT_PER_10K + 5000) / 10000;
  left[2] = n_rows - left[0] - left[1];
  uint64_t kind_left[N_KINDS];
  kind_targets(kind_left, left[0]);

  /* The outbox draws from a stream of its own, not the orders'. */
  uint64_t seed = sink->outbox ? g->seed ^ UINT64_C(0x6f7574626f78) : g->seed;
  demo_rng mix = {seed};
  /* Rows are spread evenly over the window, each at a random instant of
   * its slot, so times increase with the id. */
  uint64_t step = (uint64_t)WINDOW_US / n_rows;
  char written_at[40];

  for (uint64_t id = 1; id <= n_rows; id++) {
    if (interrupted) {
      cli_error(CMD,
                "interrupted at row %" PRIu64 " of %" PRIu64
                "; nothing was written",
                id, n_rows);
      status = CLI_EXIT_INCOMPLETE;
      goto done;
    }
    uint64_t category = pick(&mix, left, 3, n_rows - id + 1);
    left[category]--;
    demo_rng r = row_rng(seed, id);
    int64_t offset_us = (int64_t)((id - 1) * (uint64_t)WINDOW_US / n_rows +
                                  rng_below(&r, step));
    int64_t write_time_us = start_us + offset_us;
    int64_t created_at = CONTENT_EPOCH + offset_us / 1000000;

    int rc;
    const uint8_t *bytes = NULL;
    size_t len = 0;
    if (category == 0) {
      demo_kind kind = (demo_kind)pick(&mix, kind_left, N_KINDS, left[0] + 1);
      kind_left[kind]--;
      make_v2(&g->order, &r, id, created_at, kind);
      rs_provenance prov = RS_PROVENANCE_INIT;
      prov.flag_key = RS_SHOP_FLAG;
      prov.variant = "on";
      prov.writer_id = g->writer_ids[rng_below(&r, N_PODS)];
      prov.write_time_us = write_time_us;
      rc = rs_encode(&g->buf, g->reg, RS_SHOP_ORDER, 2, &g->order.v2.base,
                     &prov, NULL, &err);
      counts->v2[kind]++;
    } else if (category == 1) {
      rc = make_corrupt(&bytes, &len, g, &r, id, created_at, write_time_us,
                        &err);
      counts->corrupt++;
    } else {
      make_v1(&g->order, &r, id, created_at);
      rc = rs_encode(&g->buf, g->reg, RS_SHOP_ORDER, 1, &g->order.v1.base, NULL,
                     NULL, &err);
      counts->v1++;
    }
    if (rc != 0) {
      if (rc == RS_ENOMEM) {
        status = out_of_memory();
      } else {
        cli_error(CMD, "cannot encode row %" PRIu64 ": %s", id,
                  err.message[0] ? err.message : rs_strerror(rc));
        status = CLI_EXIT_IO;
      }
      goto done;
    }

    format_time_us(written_at, sizeof written_at, write_time_us);
    sqlite3_bind_int64(ins, 1, (sqlite3_int64)id);
    if (category != 1) {
      bytes = g->buf.data;
      len = g->buf.len;
    }
    sqlite3_bind_blob64(ins, 2, bytes, len, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, written_at, -1, SQLITE_STATIC);
    if (sink->outbox &&
        (status = sink_outbox(sink, g, id, bytes, len, counts)) != 0)
      goto done;
    if (sqlite3_step(ins) != SQLITE_DONE) {
      char what[64];
      snprintf(what, sizeof what, "cannot insert row %" PRIu64, id);
      status = db_fail(db, path, what);
      goto done;
    }
    sqlite3_reset(ins);
    counts->rows++;
  }

done:
  sqlite3_finalize(ins);
  return status;
}

/*
 * Writes the whole database into @p path, an empty file. The temporary
 * name is the atomicity (the rename publishes it), so SQLite's own journal
 * would only slow the bulk insert down: journal_mode=OFF, one
 * transaction, and one fsync at the end. WAL is avoided on purpose: a WAL
 * database cannot be opened read-only, as scan does, where its -shm file
 * cannot be created.
 */
static int write_db(const char *path, demo_gen *g, uint64_t n_rows,
                    int64_t start_us, demo_counts *counts, FILE *dump,
                    const char *dump_path, demo_counts *events) {
  sqlite3 *db = NULL;
  int status = 0;
  demo_sink orders = {NULL, 0, NULL, NULL, 0};
  demo_sink outbox = {NULL, 1, dump, dump_path, g->seed ^ UINT64_C(0x57a7e5)};
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
    status = db_fail(db, path, "cannot open");
    goto done;
  }
  if (sqlite3_exec(db,
                   "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; "
                   "CREATE TABLE " TABLE_NAME
                   " (id INTEGER PRIMARY KEY, payload BLOB NOT NULL, "
                   "written_at TEXT NOT NULL); "
                   /* the example domain's outbox (migrations/sqlite) */
                   "CREATE TABLE " OUTBOX_NAME
                   " (id INTEGER PRIMARY KEY, order_id TEXT NOT NULL, "
                   "payload BLOB NOT NULL, state TEXT NOT NULL DEFAULT "
                   "'pending', enqueued_at TEXT NOT NULL); BEGIN",
                   NULL, NULL, NULL) != SQLITE_OK) {
    status = db_fail(db, path, "cannot create the tables");
    goto done;
  }
  if ((status = fill_table(db, path, g, n_rows, start_us, counts, &orders)) !=
      0)
    goto done;
  uint64_t n_events = (n_rows + ORDERS_PER_EVENT - 1) / ORDERS_PER_EVENT;
  if ((status = fill_table(db, path, g, n_events, start_us, events, &outbox)) !=
      0)
    goto done;
  if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    status = db_fail(db, path, "cannot commit");
    goto done;
  }
  if (sqlite3_close(db) != SQLITE_OK) {
    status = db_fail(db, path, "cannot close");
    goto done; /* the handle stays open; sqlite3_close_v2 below frees it */
  }
  db = NULL;
  if (sync_path(path) != 0) {
    cli_error(CMD, "cannot sync %s: %s", path, strerror(errno));
    status = CLI_EXIT_IO;
  }
done:
  sqlite3_close_v2(db);
  return status;
}

/* ---- the config -------------------------------------------------------- */

/* Whether @p s can go into a YAML comment as it is: printable, one line. */
static int comment_safe(const char *s) {
  for (; *s != '\0'; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) return 0;
  return 1;
}

static void write_config_text(FILE *f, const char *config_path,
                              int64_t now_us) {
  const char *shown =
      comment_safe(config_path) ? config_path : "DIR/" CONFIG_NAME;
  char hour_ago[40];
  format_time_us(hour_ago, sizeof hour_ago, now_us - 3600 * INT64_C(1000000));
  fprintf(f,
          "# rollsafe configuration for the demo database, written by "
          "`rollsafe demo`.\n"
          "#\n"
          "# What would the old code make of every stored order if the flag\n"
          "# were killed now?\n"
          "#\n"
          "#   rollsafe scan -c %s\n"
          "#   rollsafe scan -c %s --format json\n"
          "#\n"
          "# Exit status 1 means some rows are not read correctly by the "
          "reader below.\n"
          "\n"
          "# The flag whose records this file checks; it names the run in "
          "reports\n"
          "# and metrics.\n"
          "feature: checkout_v2\n"
          "\n"
          "# The reader: the highest shop.Order format version the code that "
          "runs\n"
          "# after the flag kill knows.\n"
          "reader_version: 1\n"
          "\n"
          "# How that reader reads stored bytes. The old orders service links\n"
          "# librollsafe at version 1: it unwraps envelopes and decodes the\n"
          "# payload with the version-1 schema, so each change in version 2 "
          "has\n"
          "# its own effect (schema/README.md). Set `raw` for plain protobuf "
          "code\n"
          "# (shop__v1__order__unpack), to which every envelope is "
          "unreadable.\n"
          "reader_framing: envelope\n"
          "\n"
          "# Records without an envelope carry no format version: rollsafe "
          "infers\n"
          "# the writer from what only one version can have written, and "
          "counts\n"
          "# records several versions explain differently as undetermined "
          "(exit\n"
          "# 4). Where you know the version that wrote them, say so (here or "
          "per\n"
          "# target, with a `where:` selecting its rows).\n"
          "# raw_writer: auto\n"
          "\n"
          "# Where the records live: tables, queues and dumps.\n"
          "targets:\n"
          "  - name: orders            # names the target in reports\n"
          "    kind: sqlite-table      # sqlite-table or postgres-table\n"
          "    connection: " DB_NAME
          "     # SQLite file, relative to this file\n"
          "    table: " TABLE_NAME
          "\n"
          "    key: id                 # primary key: rows are read in its "
          "order\n"
          "    column: payload         # the column holding the record bytes\n"
          "    type: shop.Order        # the record type stored in the column\n"
          "    # Optional: only rows matching your own SQL, e.g. the last "
          "hour:\n"
          "    # where: \"written_at >= '%s'\"\n"
          "\n"
          "  # The order-events outbox: consumers mark a message "
          "'processing' while\n"
          "  # they handle it and 'done' after. Only pending and in-flight "
          "messages\n"
          "  # are read; a fix rewrites pending ones only and never waits on "
          "one a\n"
          "  # consumer holds.\n"
          "  - name: order-events\n"
          "    kind: sqlite-queue      # sqlite-queue or postgres-queue\n"
          "    connection: " DB_NAME
          "\n"
          "    table: " OUTBOX_NAME
          "\n"
          "    key: id\n"
          "    column: payload\n"
          "    type: shop.Order\n"
          "    state_column: state\n"
          "    pending_states: [pending]       # waiting for a consumer\n"
          "    in_flight_states: [processing]  # held by a consumer\n"
          "\n"
          "  # A dump of the outbox's messages, as a queue dump tool writes "
          "them:\n"
          "  # varint-length-delimited records. A fix writes a new file "
          "beside it\n"
          "  # (default: the path with .fixed added) and never edits this "
          "one.\n"
          "  - name: order-events-dump\n"
          "    kind: stream-file\n"
          "    path: " DUMP_NAME
          "     # relative to this file\n"
          "    type: shop.Order\n",
          shown, shown, hour_ago);
}

static int write_config(const char *path, int fd, const char *config_path,
                        int64_t now_us) {
  FILE *f = fdopen(fd, "w");
  if (f == NULL) {
    cli_error(CMD, "cannot write %s: %s", path, strerror(errno));
    close(fd);
    return CLI_EXIT_IO;
  }
  errno = 0;
  write_config_text(f, config_path, now_us);
  int failed = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
  int e = errno;
  if (fclose(f) != 0 && !failed) {
    failed = 1;
    e = errno;
  }
  if (failed) {
    cli_error(CMD, "cannot write %s: %s", path,
              e ? strerror(e) : "write error");
    return CLI_EXIT_IO;
  }
  return 0;
}

/* ---- output ------------------------------------------------------------ */

static uint64_t v2_total(const demo_counts *c) {
  uint64_t n = 0;
  for (size_t k = 0; k < N_KINDS; k++) n += c->v2[k];
  return n;
}

/* The outbox and its dump, for --format json. */
static json_t *outbox_json(const demo_paths *p, const demo_counts *e) {
  json_t *v2 = json_object(), *states = json_object();
  for (size_t k = 0; k < N_KINDS; k++)
    json_object_set_new(v2, kinds[k].name, json_integer((json_int_t)e->v2[k]));
  for (size_t i = 0; i < 3; i++)
    json_object_set_new(states, outbox_states[i],
                        json_integer((json_int_t)e->states[i]));
  return json_pack("{s:s,s:I,s:I,s:o,s:I,s:o,s:s,s:I}", "table", OUTBOX_NAME,
                   "messages", (json_int_t)e->rows, "v1", (json_int_t)e->v1,
                   "v2", v2, "corrupt", (json_int_t)e->corrupt, "states",
                   states, "dump", p->dump, "dump_records",
                   (json_int_t)e->rows);
}

static int print_json(const demo_paths *p, const demo_counts *c,
                      const demo_counts *events, uint64_t seed) {
  json_t *doc = json_object(), *v2 = json_object();
  json_t *outbox = outbox_json(p, events);
  int failed = doc == NULL || v2 == NULL || outbox == NULL;
  for (size_t k = 0; !failed && k < N_KINDS; k++)
    failed = json_object_set_new(v2, kinds[k].name,
                                 json_integer((json_int_t)c->v2[k])) != 0;
  size_t size = sizeof "rollsafe scan -c " + strlen(p->config);
  char *next = malloc(size);
  if (next != NULL) snprintf(next, size, "rollsafe scan -c %s", p->config);
  failed =
      failed || next == NULL ||
      json_object_set_new(doc, "format_version",
                          json_integer(RS_REPORT_FORMAT_VERSION)) ||
      json_object_set_new(doc, "command", json_string("demo")) ||
      json_object_set_new(doc, "rollsafe_version", json_string(rs_version())) ||
      json_object_set_new(doc, "database", json_string(p->db)) ||
      json_object_set_new(doc, "config", json_string(p->config)) ||
      json_object_set_new(doc, "table", json_string(TABLE_NAME)) ||
      json_object_set_new(doc, "rows", json_integer((json_int_t)c->rows)) ||
      json_object_set_new(doc, "v1", json_integer((json_int_t)c->v1)) ||
      json_object_set(doc, "v2", v2) ||
      json_object_set_new(doc, "corrupt",
                          json_integer((json_int_t)c->corrupt)) ||
      json_object_set_new(doc, "seed", json_integer((json_int_t)seed)) ||
      json_object_set(doc, "outbox", outbox) ||
      json_object_set_new(doc, "next", json_string(next));
  free(next);
  json_decref(v2);
  json_decref(outbox);
  if (failed) {
    json_decref(doc);
    return out_of_memory();
  }
  errno = 0;
  int rc = json_dumpf(doc, stdout, JSON_INDENT(2)) != 0 || putchar('\n') == EOF;
  json_decref(doc);
  if (rc) {
    cli_error(CMD, "cannot write to standard output: %s",
              errno ? strerror(errno) : "write error");
    return CLI_EXIT_IO;
  }
  return cli_finish_stdout(CMD, CLI_EXIT_CLEAN);
}

static int print_text(const demo_paths *p, const demo_counts *c,
                      const demo_counts *events, uint64_t seed) {
  char label[64];
  printf("Wrote %s: table " TABLE_NAME ", %" PRIu64 " rows (seed %" PRIu64
         ")\n\n",
         p->db, c->rows, seed);
  printf("%9s  %-51s %s\n", "rows", "written as", "v1 reader");
  printf("%9" PRIu64 "  %-51s %s\n", c->v1,
         "version 1, raw protobuf, by the old code", "ok");
  printf("%9" PRIu64 "  %s\n", v2_total(c),
         "version 2, in envelopes, by checkout_v2 (variant on):");
  for (size_t k = 0; k < N_KINDS; k++) {
    snprintf(label, sizeof label, "%s: %s", kinds[k].name, kinds[k].what);
    printf("%9" PRIu64 "    %-49s %s\n", c->v2[k], label, kinds[k].verdict);
  }
  printf("%9" PRIu64 "  %-51s %s\n", c->corrupt,
         "corrupt: no version decodes them", "corrupt");
  printf("\nWrote table " OUTBOX_NAME " (the order-events outbox): %" PRIu64
         " messages, %" PRIu64 " version 1, %" PRIu64
         " version 2 (the same mix), %" PRIu64 " corrupt;\n  %" PRIu64
         " pending, %" PRIu64 " processing, %" PRIu64 " done\n",
         events->rows, events->v1, v2_total(events), events->corrupt,
         events->states[0], events->states[1], events->states[2]);
  printf("Wrote %s: the same %" PRIu64
         " messages as a dump (varint-length-delimited)\n",
         p->dump, events->rows);
  printf(
      "\nWrote %s: feature checkout_v2, reader version 1, envelope "
      "framing\n",
      p->config);
  printf(
      "(v1 reader: the old orders service, which links rollsafe at "
      "version 1)\n");
  printf("\nNext: rollsafe scan -c %s\n", p->config);
  return cli_finish_stdout(CMD, CLI_EXIT_CLEAN);
}

/* ---- the command ------------------------------------------------------- */

/*
 * Writes both files under temporary names, then renames them into place.
 * *placed counts the files already renamed (0, 1: the database, 2: both),
 * which the caller's clean-up needs on failure.
 */
/* Moves a finished temporary file into place (see place()); 0 or an exit
 * code, printed. */
static int place_file(char **tmp, const char *final, int force) {
  if (place(*tmp, final, force) != 0) {
    if (errno == EEXIST) {
      cli_error(CMD,
                "%s appeared while the demo was written; use --force to "
                "replace it",
                final);
      return CLI_EXIT_USAGE;
    }
    cli_error(CMD, "cannot rename %s to %s: %s", *tmp, final, strerror(errno));
    return CLI_EXIT_IO;
  }
  free(*tmp);
  *tmp = NULL;
  return 0;
}

static int generate(demo_paths *p, const demo_args *a, int *placed,
                    demo_counts *counts, demo_counts *events) {
  FILE *dump = NULL;
  rs_registry *reg = NULL;
  rs_error err = RS_ERROR_INIT;
  demo_gen *g = NULL;
  int status = 0;

  if (rs_shop_registry(&reg, &err) != 0) {
    status = err.code == RS_ENOMEM ? out_of_memory() : CLI_EXIT_IO;
    if (err.code != RS_ENOMEM) cli_error(CMD, "%s", err.message);
    goto done;
  }
  if ((g = calloc(1, sizeof *g)) == NULL) {
    status = out_of_memory();
    goto done;
  }
  g->reg = reg;
  g->seed = a->seed;
  for (unsigned i = 0; i < N_PODS; i++)
    snprintf(g->writer_ids[i], sizeof g->writer_ids[i],
             "orders-api 4.2.0 pod-%u", i + 1);

  int fd = make_temp(&p->tmp_db, a->dir, "." DB_NAME ".XXXXXX");
  if (fd < 0) {
    status = CLI_EXIT_IO;
    goto done;
  }
  close(fd);
  if (sidecar_paths(p->tmp_db_side, p->tmp_db) != 0) {
    status = out_of_memory();
    goto done;
  }

  if ((fd = make_temp(&p->tmp_dump, a->dir, "." DUMP_NAME ".XXXXXX")) < 0) {
    status = CLI_EXIT_IO;
    goto done;
  }
  if ((dump = fdopen(fd, "wb")) == NULL) {
    close(fd);
    cli_error(CMD, "cannot write %s: %s", p->tmp_dump, strerror(errno));
    status = CLI_EXIT_IO;
    goto done;
  }

  int64_t now_us = rs_now_us();
  if ((status = write_db(p->tmp_db, g, a->rows, now_us - WINDOW_US, counts,
                         dump, p->tmp_dump, events)) != 0)
    goto done;
  int dump_failed = fflush(dump) != 0 || fsync(fileno(dump)) != 0;
  dump_failed |= fclose(dump) != 0;
  dump = NULL;
  if (dump_failed) {
    cli_error(CMD, "cannot write %s: %s", p->tmp_dump, strerror(errno));
    status = CLI_EXIT_IO;
    goto done;
  }

  if ((fd = make_temp(&p->tmp_config, a->dir, "." CONFIG_NAME ".XXXXXX")) < 0) {
    status = CLI_EXIT_IO;
    goto done;
  }
  if ((status = write_config(p->tmp_config, fd, p->config, now_us)) != 0)
    goto done;

  if (interrupted) {
    cli_error(CMD, "interrupted; nothing was written");
    status = CLI_EXIT_INCOMPLETE;
    goto done;
  }
  /* With --force an old journal or WAL goes first: SQLite would apply it to
   * the new database. */
  for (size_t i = 0; a->force && i < COUNT(sqlite_sidecars); i++)
    if (unlink(p->db_side[i]) != 0 && errno != ENOENT) {
      cli_error(CMD, "cannot remove %s: %s", p->db_side[i], strerror(errno));
      status = CLI_EXIT_IO;
      goto done;
    }
  if ((status = place_file(&p->tmp_db, p->db, a->force)) != 0) goto done;
  *placed = 1;
  if ((status = place_file(&p->tmp_dump, p->dump, a->force)) != 0) goto done;
  *placed = 2;
  if ((status = place_file(&p->tmp_config, p->config, a->force)) != 0)
    goto done;
  *placed = 3;

  /* Make the renames themselves durable; a filesystem that cannot sync a
   * directory (EINVAL) has nothing to sync. Both files are complete and
   * stay whatever happens here. */
  int dfd = open(a->dir, O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    if (fsync(dfd) != 0 && errno != EINVAL) {
      cli_error(CMD,
                "wrote %s, %s and %s, but cannot sync the directory %s: %s",
                p->db, p->dump, p->config, a->dir, strerror(errno));
      status = CLI_EXIT_IO;
    }
    close(dfd);
  }

done:
  if (dump != NULL) fclose(dump);
  if (g != NULL) rs_buf_dispose(&g->buf, NULL);
  free(g);
  rs_registry_free(reg);
  return status;
}

int cli_demo_run(int argc, char **argv) {
  demo_args a = {NULL, DEFAULT_ROWS, DEFAULT_SEED, 0, 0, 0};
  int status = parse_args(&a, argc, argv);
  if (status != 0) return status;
  if (a.help) {
    cli_demo_help(stdout);
    return cli_finish_stdout(CMD, CLI_EXIT_CLEAN);
  }

  demo_paths p;
  memset(&p, 0, sizeof p);
  demo_counts counts, events;
  memset(&counts, 0, sizeof counts);
  memset(&events, 0, sizeof events);
  int created_dir = 0, placed = 0;
  demo_signals sig;
  catch_signals(&sig);

  if ((p.db = path_join(a.dir, DB_NAME)) == NULL ||
      (p.config = path_join(a.dir, CONFIG_NAME)) == NULL ||
      (p.dump = path_join(a.dir, DUMP_NAME)) == NULL ||
      sidecar_paths(p.db_side, p.db) != 0) {
    status = out_of_memory();
    goto done;
  }
  if ((status = ensure_dir(a.dir, &created_dir)) != 0) goto done;
  if ((status = check_free(p.db, a.force)) != 0 ||
      (status = check_free(p.config, a.force)) != 0 ||
      (status = check_free(p.dump, a.force)) != 0)
    goto done;
  for (size_t i = 0; i < COUNT(sqlite_sidecars); i++)
    if ((status = check_free(p.db_side[i], a.force)) != 0) goto done;

  status = generate(&p, &a, &placed, &counts, &events);

done:
  if (status != 0) {
    remove_temps(&p);
    /* Without --force a database placed without its config is ours alone
     * (nothing was there before): take it back, so that a failed run
     * leaves nothing. With --force the old one is gone either way. */
    if (placed >= 1 && !a.force) unlink(p.db);
    if (placed >= 2 && !a.force) unlink(p.dump);
    if (created_dir) rmdir(a.dir);
  }
  restore_signals(&sig);
  if (status == 0)
    status = a.json ? print_json(&p, &counts, &events, a.seed)
                    : print_text(&p, &counts, &events, a.seed);
  paths_free(&p);
  return status;
}
