/*
 * Property test of the down-conversion shop.Order v2 -> v1 (what
 * `rollsafe fix` writes) over generated records.
 *
 * A seeded deterministic PRNG generates RS_PROPERTY_N (default 100000)
 * version-2 orders with realistic and edge values in every field: guests
 * (no customer_id), AWAITING_AUTH, 0..5 items, ship_to or pickup_store_id,
 * discounts in USD/EUR/empty/other currencies with whole-cent and sub-cent
 * nanos and negative amounts, deliver_by with and without nanos, promo codes,
 * gift messages and unicode strings. Record i depends only on (seed, i), so
 * a failure names the seed and the index and is reproduced with
 * RS_PROPERTY_SEED=<seed> RS_PROPERTY_N=<index + 1>.
 *
 * For each record, encoded with rs_encode() as version 2 with provenance:
 *  (a) rs_transcode() to version 1 fails with RS_ECONVERT exactly when the
 *      record holds something v1 cannot represent (no customer_id, a
 *      non-USD discount, a discount that does not fit int64 cents), naming
 *      each reason as an impossible loss, and leaves the output untouched;
 *      otherwise it succeeds;
 *  (b) the result decodes with the v1 generated code (plain protobuf-c,
 *      the old reader) and rs_classify() for reader 1 with raw framing says
 *      ok, or ignored_fields exactly when v2-only fields were kept;
 *  (c) transcoding the v1 result to v1 again gives identical bytes;
 *  (d) fields v1 knows keep their values (status AWAITING_AUTH -> PENDING,
 *      discount_cents = units*100 + nanos/10^7 rounded to the nearest cent,
 *      halves away from zero, as schema/README.md specifies; deliver_by =
 *      seconds);
 *  (e) the conversion is lossless exactly when nothing was altered, else
 *      lossy with exactly the altered fields listed;
 *  (f) rs_read_as() version 2 of the v1 bytes restores gift_message,
 *      promo_codes and pickup_store_id (kept by v1 as unknown fields);
 * and, beyond the down-conversion:
 *  (g) rs_classify() of the v2 record for an envelope-aware v1 reader gives
 *      the worst verdict of the hazards the generator put in it, and the
 *      plain (raw) v1 reader always finds it unreadable;
 *  (h) v1 -> v2 -> v1 by rs_transcode() gives the v1 bytes back.
 *
 * Even records use an rs_arena (reset per record), odd ones malloc, which
 * also reuses the rs_buf capacity from one record to the next.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include <rollsafe/shop/v1/order.pb-c.h>
#include <rollsafe/shop/v2/order.pb-c.h>

#define DEFAULT_SEED UINT64_C(0x526f6c6c53616665) /* "RollSafe" */
#define DEFAULT_N 100000u
/* Below this many records the coverage of every outcome is not asserted. */
#define MIN_N_FOR_COVERAGE 1000u

#define NANOS_PER_CENT 10000000
#define MAX_ITEMS 5
#define MAX_PROMOS 4
#define STORE_SIZE 32768

/* ---- PRNG: splitmix64 ---------------------------------------------------- */

typedef struct prng {
  uint64_t s;
} prng;

static uint64_t next_u64(prng *r) {
  uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static uint32_t below(prng *r, uint32_t n) {
  return (uint32_t)(next_u64(r) % n);
}

static bool chance(prng *r, unsigned percent) {
  return below(r, 100) < percent;
}

/* Uniform in [0, bound]. */
static int64_t upto(prng *r, int64_t bound) {
  return (int64_t)(next_u64(r) % ((uint64_t)bound + 1));
}

/* ---- one generated record -------------------------------------------------
 */

typedef struct gen {
  Shop__V2__Order o;
  Shop__V2__LineItem items[MAX_ITEMS];
  Shop__V2__LineItem *item_ptrs[MAX_ITEMS];
  Shop__V2__Address addr;
  Shop__V2__Money money;
  Shop__V2__Timestamp ts;
  char *promo_ptrs[MAX_PROMOS];
  rs_provenance prov;
  char store[STORE_SIZE];
  size_t used;
} gen;

static char *keep(gen *g, const char *s, size_t n) {
  ck_assert_msg(n + 1 <= STORE_SIZE - g->used, "generator string store full");
  char *p = g->store + g->used;
  memcpy(p, s, n);
  p[n] = '\0';
  g->used += n + 1;
  return p;
}

static const char *const UNICODE[] = {
    "José Müller",
    "Zoë Ünlü",
    "東京都渋谷区神南1-2-3",
    "Straße 5, 10115 Berlin",
    "🎁 Happy birthday! 🎂",
    "שלום עולם",
    "مرحبا بالعالم",
    "e\xcc\x81\xcc\x81",                            /* combining accents */
    "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb", /* ZWJ sequence */
    "\xe2\x80\x8bzero\xe2\x80\x8bwidth",
    "Ω≈ç√∫˜µ≤≥÷",
    "\xef\xbb\xbf\x42OM first", /* a byte-order mark, then "BOM first" */
    "tab\tnew\nline",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
};
#define N_UNICODE (sizeof UNICODE / sizeof UNICODE[0])

static size_t put_utf8(char *out, uint32_t cp) {
  if (cp < 0x80) {
    out[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18));
  out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* A random valid UTF-8 string of up to max_cp code points (no NUL). */
static char *random_text(gen *g, prng *r, size_t max_cp) {
  char buf[4 * 600];
  size_t n = 0, count = (size_t)upto(r, (int64_t)max_cp);
  for (size_t i = 0; i < count && n + 4 <= sizeof buf; i++) {
    uint32_t cp;
    switch (below(r, 5)) {
      case 0:
        cp = 1 + below(r, 0x7F); /* any ASCII but NUL, controls too */
        break;
      case 1:
        cp = 0x80 + below(r, 0x800 - 0x80);
        break;
      case 2:
        cp = 0x800 + below(r, 0x10000 - 0x800);
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD; /* no surrogates */
        break;
      case 3:
        cp = 0x10000 + below(r, 0x110000 - 0x10000);
        break;
      default:
        cp = 0x20 + below(r, 0x5F); /* printable ASCII */
        break;
    }
    n += put_utf8(buf + n, cp);
  }
  return keep(g, buf, n);
}

/* An identifier-like string: prefix-hex, unicode, empty or long. */
static char *gen_id(gen *g, prng *r, const char *prefix) {
  char buf[64];
  uint32_t k = below(r, 100);
  if (k < 70) {
    int n = snprintf(buf, sizeof buf, "%s-%012" PRIx64, prefix,
                     next_u64(r) & UINT64_C(0xFFFFFFFFFFFF));
    return keep(g, buf, (size_t)n);
  }
  if (k < 85) {
    const char *u = UNICODE[below(r, N_UNICODE)];
    return keep(g, u, strlen(u));
  }
  if (k < 90) return keep(g, "", 0);
  return random_text(g, r, k < 98 ? 24 : 300);
}

/* Free text: a gift message, a street. */
static char *gen_text(gen *g, prng *r) {
  uint32_t k = below(r, 100);
  if (k < 40) {
    const char *u = UNICODE[below(r, N_UNICODE)];
    return keep(g, u, strlen(u));
  }
  if (k < 45) return keep(g, "", 0);
  if (k < 95) return random_text(g, r, 60);
  return random_text(g, r, 600);
}

/* An amount in cents: realistic, negative (refunds) or extreme. */
static int64_t gen_cents(prng *r) {
  switch (below(r, 10)) {
    case 0:
      return 0;
    case 1:
      return -upto(r, 100000);
    case 2:
      return upto(r, INT64_C(1000000000000));
    case 3: {
      static const int64_t edge[] = {INT64_MAX, INT64_MIN, 1, -1, 99, 100};
      return edge[below(r, 6)];
    }
    default:
      return upto(r, 1000000);
  }
}

/* Unix seconds: mostly recent, sometimes 0, before 1970 or extreme. */
static int64_t gen_seconds(prng *r) {
  switch (below(r, 12)) {
    case 0:
      return 0;
    case 1:
      return -upto(r, INT64_C(2000000000));
    case 2: {
      static const int64_t edge[] = {INT64_MAX,    INT64_MIN, 253402300799,
                                     -62135596800, 1,         -1};
      return edge[below(r, 6)];
    }
    default:
      return INT64_C(1600000000) + upto(r, 300000000);
  }
}

/*
 * Money units at the int64-cents limit, where whether the discount fits
 * depends on the nanos (INT64_MAX/100 units fit with up to 7 cents more),
 * and beyond it. The regression tests below pin down the exact limit.
 */
static const int64_t UNITS_LIMIT_HI = INT64_MAX / 100;
static const int64_t UNITS_LIMIT_LO = INT64_MIN / 100;

static int64_t gen_units(prng *r) {
  switch (below(r, 20)) {
    case 0:
      return 0;
    case 1: {
      const int64_t edge[] = {UNITS_LIMIT_HI - 2, UNITS_LIMIT_HI - 1,
                              UNITS_LIMIT_HI,     UNITS_LIMIT_HI + 1,
                              UNITS_LIMIT_LO + 2, UNITS_LIMIT_LO + 1,
                              UNITS_LIMIT_LO,     UNITS_LIMIT_LO - 1,
                              INT64_MAX,          INT64_MIN};
      return edge[below(r, 10)];
    }
    case 2:
    case 3:
    case 4:
      return -upto(r, 500);
    case 5:
      return upto(r, INT64_C(1000000000));
    default:
      return upto(r, 500);
  }
}

static int32_t gen_money_nanos(prng *r, int64_t units) {
  int32_t sign = units < 0 ? -1 : units > 0 ? 1 : (chance(r, 50) ? -1 : 1);
  if (chance(r, 3)) sign = -sign; /* mixed signs: not valid Money, still math */
  switch (below(r, 8)) {
    case 0:
      return 0;
    case 1:
    case 2:
    case 3:
      return sign * (int32_t)below(r, 100) * NANOS_PER_CENT; /* whole cents */
    case 4: {
      static const int32_t edge[] = {999999999, 1, 5000000, 990000000, 9999999};
      return sign * edge[below(r, 5)];
    }
    default:
      return sign * (int32_t)(1 + below(r, 999999999)); /* sub-cent mostly */
  }
}

static const char *gen_currency(prng *r) {
  uint32_t k = below(r, 100);
  if (k < 15) return NULL;
  if (k < 30) return "";
  if (k < 75) return "USD";
  if (k < 90) return "EUR";
  static const char *const other[] = {"JPY", "GBP", "usd", "US", "USDT"};
  return other[below(r, 5)];
}

static void generate(gen *g, uint64_t seed, size_t index) {
  prng r = {seed ^ ((uint64_t)index * UINT64_C(0xd1b54a32d192ed03))};
  (void)next_u64(&r);
  memset(g, 0, offsetof(gen, store));
  g->used = 0;
  Shop__V2__Order *o = &g->o;
  shop__v2__order__init(o);

  o->order_id = gen_id(g, &r, "ord");
  if (!chance(&r, 15)) o->customer_id = gen_id(g, &r, "cust");
  if (chance(&r, 85)) {
    o->has_total_cents = 1;
    o->total_cents = gen_cents(&r);
  }
  if (chance(&r, 90)) {
    o->has_status = 1;
    o->status = chance(&r, 20) ? SHOP__V2__ORDER__STATUS__AWAITING_AUTH
                               : (Shop__V2__Order__Status)below(&r, 6);
  }
  o->n_items = below(&r, MAX_ITEMS + 1);
  o->items = o->n_items ? g->item_ptrs : NULL;
  for (size_t i = 0; i < o->n_items; i++) {
    Shop__V2__LineItem *it = &g->items[i];
    shop__v2__line_item__init(it);
    it->sku = gen_id(g, &r, "SKU");
    if (chance(&r, 80)) {
      it->has_quantity = 1;
      static const uint32_t q[] = {0, 1, 2, 3, 10, UINT32_MAX};
      it->quantity = q[below(&r, 6)];
    }
    if (chance(&r, 80)) {
      it->has_unit_price_cents = 1;
      it->unit_price_cents = gen_cents(&r);
    }
    g->item_ptrs[i] = it;
  }
  if (chance(&r, 80)) {
    o->has_created_at = 1;
    o->created_at = gen_seconds(&r);
  }
  switch (below(&r, 10)) {
    case 0:
    case 1:
      break; /* neither */
    case 2:
    case 3:
    case 4: {
      o->fulfilment_case = SHOP__V2__ORDER__FULFILMENT_PICKUP_STORE_ID;
      o->pickup_store_id = gen_id(g, &r, "store");
      break;
    }
    default: {
      Shop__V2__Address *a = &g->addr;
      shop__v2__address__init(a);
      if (chance(&r, 75)) a->line1 = gen_text(g, &r);
      if (chance(&r, 75)) a->city = gen_text(g, &r);
      if (chance(&r, 75)) a->postal_code = gen_id(g, &r, "PC");
      if (chance(&r, 75)) {
        static const char *const cc[] = {"US", "DE", "JP", "IL", "", "BR"};
        a->country = (char *)cc[below(&r, 6)];
      }
      o->fulfilment_case = SHOP__V2__ORDER__FULFILMENT_SHIP_TO;
      o->ship_to = a;
      break;
    }
  }
  if (chance(&r, 65)) {
    Shop__V2__Money *m = &g->money;
    shop__v2__money__init(m);
    if (chance(&r, 90)) {
      m->has_units = 1;
      m->units = gen_units(&r);
    }
    if (chance(&r, 85)) {
      m->has_nanos = 1;
      m->nanos = gen_money_nanos(&r, m->units);
    }
    m->currency_code = (char *)gen_currency(&r);
    o->discount = m;
  }
  if (chance(&r, 60)) {
    Shop__V2__Timestamp *t = &g->ts;
    shop__v2__timestamp__init(t);
    if (chance(&r, 90)) {
      t->has_seconds = 1;
      t->seconds = gen_seconds(&r);
    }
    if (chance(&r, 50)) {
      t->has_nanos = 1;
      uint32_t k = below(&r, 10);
      t->nanos = k < 3   ? 0
                 : k < 9 ? (int32_t)(1 + below(&r, 999999999))
                         : -(int32_t)(1 + below(&r, 999999999));
    }
    o->deliver_by = t;
  }
  if (chance(&r, 45)) {
    o->n_promo_codes = 1 + below(&r, MAX_PROMOS);
    o->promo_codes = g->promo_ptrs;
    for (size_t i = 0; i < o->n_promo_codes; i++)
      g->promo_ptrs[i] =
          chance(&r, 70) ? gen_id(g, &r, "PROMO") : gen_text(g, &r);
  }
  if (chance(&r, 40)) o->gift_message = gen_text(g, &r);

  rs_provenance p = RS_PROVENANCE_INIT;
  p.flag_key = RS_SHOP_FLAG;
  static const char *const variants[] = {"on", "treatment-b", NULL};
  p.variant = variants[below(&r, 3)];
  if (chance(&r, 80))
    p.writer_id = chance(&r, 80) ? "orders-api 4.2.0 pod-7"
                                 : UNICODE[below(&r, N_UNICODE)];
  p.write_time_us = chance(&r, 90) ? INT64_C(1700000000000000) +
                                         upto(&r, INT64_C(100000000000000))
                                   : 0;
  g->prov = p;
}

/* ---- what the generator put in the record ----------------------------------
 */

typedef struct expect {
  bool guest;         /* no customer_id: v1 requires it */
  bool bad_currency;  /* discount in a currency other than USD */
  bool units_too_big; /* discount does not fit int64 cents */
  bool impossible;
  int64_t cents;         /* discount in cents when it fits */
  bool alter_status;     /* AWAITING_AUTH -> PENDING */
  bool alter_subcent;    /* nanos not a multiple of 10^7 */
  bool alter_deliver_by; /* deliver_by.nanos != 0 */
  bool lossy;
  bool v2_only;           /* gift_message, promo_codes or pickup_store_id */
  rs_verdict envelope_v1; /* for an envelope-aware v1 reader */
} expect;

static bool is_usd(const char *cur) {
  return cur == NULL || cur[0] == '\0' || strcmp(cur, "USD") == 0;
}

static void expectations(const Shop__V2__Order *o, expect *e) {
  memset(e, 0, sizeof *e);
  e->guest = o->customer_id == NULL;
  if (o->discount != NULL) {
    const Shop__V2__Money *m = o->discount;
    int64_t units = m->has_units ? m->units : 0;
    int32_t nanos = m->has_nanos ? m->nanos : 0;
    e->bad_currency = !is_usd(m->currency_code);
    /* Nearest cent, halves away from zero (schema/README.md). */
    int64_t mag = nanos < 0 ? -(int64_t)nanos : nanos;
    int64_t whole = (mag + NANOS_PER_CENT / 2) / NANOS_PER_CENT;
    if (nanos < 0) whole = -whole;
    int64_t c;
    e->units_too_big = __builtin_mul_overflow(units, (int64_t)100, &c) ||
                       __builtin_add_overflow(c, whole, &c);
    e->cents = e->units_too_big ? 0 : c;
    e->alter_subcent = nanos % NANOS_PER_CENT != 0;
  }
  e->impossible = e->guest || e->bad_currency || e->units_too_big;
  e->alter_status =
      o->has_status && o->status == SHOP__V2__ORDER__STATUS__AWAITING_AUTH;
  e->alter_deliver_by = o->deliver_by != NULL && o->deliver_by->has_nanos &&
                        o->deliver_by->nanos != 0;
  e->lossy = e->alter_status || e->alter_subcent || e->alter_deliver_by;
  e->v2_only =
      o->gift_message != NULL || o->n_promo_codes > 0 ||
      o->fulfilment_case == SHOP__V2__ORDER__FULFILMENT_PICKUP_STORE_ID;

  /* What an envelope-aware v1 reader makes of the v2 payload, worst wins. */
  rs_verdict v = RS_VERDICT_OK;
  if (e->v2_only) v = RS_VERDICT_IGNORED_FIELDS;
  if (e->alter_status || o->discount != NULL) v = RS_VERDICT_MISREAD;
  if (e->guest || o->deliver_by != NULL) v = RS_VERDICT_UNREADABLE;
  e->envelope_v1 = v;
}

/* ---- failure reports
 * --------------------------------------------------------- */

typedef struct run {
  uint64_t seed;
  size_t index;
  const gen *g;
  const rs_buf *v2;
} run;

static void describe(const run *ru) {
  const Shop__V2__Order *o = &ru->g->o;
  fprintf(stderr,
          "record %zu of seed 0x%016" PRIx64
          " (reproduce: RS_PROPERTY_SEED=0x%016" PRIx64 " RS_PROPERTY_N=%zu)\n",
          ru->index, ru->seed, ru->seed, ru->index + 1);
  fprintf(stderr, "  customer_id %s, status %s%d, %zu items, fulfilment %d\n",
          o->customer_id ? "set" : "unset", o->has_status ? "" : "unset/",
          (int)o->status, o->n_items, (int)o->fulfilment_case);
  if (o->discount)
    fprintf(stderr,
            "  discount units %s%" PRId64 " nanos %s%d currency %s%s%s\n",
            o->discount->has_units ? "" : "unset/", o->discount->units,
            o->discount->has_nanos ? "" : "unset/", o->discount->nanos,
            o->discount->currency_code ? "\"" : "",
            o->discount->currency_code ? o->discount->currency_code : "unset",
            o->discount->currency_code ? "\"" : "");
  if (o->deliver_by)
    fprintf(stderr, "  deliver_by seconds %s%" PRId64 " nanos %s%d\n",
            o->deliver_by->has_seconds ? "" : "unset/", o->deliver_by->seconds,
            o->deliver_by->has_nanos ? "" : "unset/", o->deliver_by->nanos);
  fprintf(stderr, "  %zu promo codes, gift_message %s\n", o->n_promo_codes,
          o->gift_message ? "set" : "unset");
  if (ru->v2 != NULL && ru->v2->data != NULL) {
    fprintf(stderr, "  v2 bytes (%zu):", ru->v2->len);
    for (size_t i = 0; i < ru->v2->len && i < 512; i++)
      fprintf(stderr, "%s%02x", i % 32 ? "" : "\n    ", ru->v2->data[i]);
    fprintf(stderr, "\n");
  }
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
fail_record(const run *ru, const char *what, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  describe(ru);
  ck_abort_msg("seed 0x%016" PRIx64 " record %zu: %s: %s", ru->seed, ru->index,
               what, msg);
}

#define EXPECT(ru, what, cond, ...)                  \
  do {                                               \
    if (!(cond)) fail_record(ru, what, __VA_ARGS__); \
  } while (0)

static bool str_eq(const char *a, const char *b) {
  return (a == NULL && b == NULL) ||
         (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static const rs_loss *find_loss(const rs_conversion *c, const char *path,
                                rs_loss_kind kind) {
  for (size_t i = 0; i < rs_conversion_loss_count(c); i++) {
    const rs_loss *l = rs_conversion_loss(c, i);
    if (rs_loss_kind_of(l) == kind && strcmp(rs_loss_path(l), path) == 0)
      return l;
  }
  return NULL;
}

static size_t count_losses(const rs_conversion *c, rs_loss_kind kind) {
  size_t n = 0;
  for (size_t i = 0; i < rs_conversion_loss_count(c); i++)
    if (rs_loss_kind_of(rs_conversion_loss(c, i)) == kind) n++;
  return n;
}

/* ---- the properties
 * ------------------------------------------------------------ */

typedef struct counts {
  size_t records, arena, malloc_;
  size_t impossible, imp_guest, imp_currency, imp_units, imp_several;
  size_t lossless, lossy, lossy_status, lossy_subcent, lossy_deliver_by;
  size_t verdict_ok, verdict_ignored;
  size_t restored_gift, restored_promo, restored_pickup, restored_ship_to;
  size_t env_verdict[RS_VERDICT_COUNT];
} counts;

typedef struct bufs {
  rs_buf v2, v1, v1_again, up, down;
} bufs;

static void check_address(const run *ru, const char *what,
                          const Shop__V1__Address *a,
                          const Shop__V2__Address *b) {
  EXPECT(ru, what, a != NULL, "ship_to is missing");
  EXPECT(ru, what,
         str_eq(a->line1, b->line1) && str_eq(a->city, b->city) &&
             str_eq(a->postal_code, b->postal_code) &&
             str_eq(a->country, b->country),
         "ship_to differs");
}

/* (d): the fields v1 knows keep their values. */
static void check_v1_fields(const run *ru, const expect *e,
                            const Shop__V2__Order *o,
                            const Shop__V1__Order *v1) {
  const char *w = "(d) v1 fields";
  EXPECT(ru, w, str_eq(v1->order_id, o->order_id), "order_id differs");
  EXPECT(ru, w, str_eq(v1->customer_id, o->customer_id), "customer_id differs");
  EXPECT(ru, w,
         v1->has_total_cents == o->has_total_cents &&
             (!o->has_total_cents || v1->total_cents == o->total_cents),
         "total_cents differs");
  EXPECT(ru, w, v1->has_status == o->has_status, "status presence differs");
  if (o->has_status) {
    int want =
        e->alter_status ? SHOP__V1__ORDER__STATUS__PENDING : (int)o->status;
    EXPECT(ru, w, (int)v1->status == want, "status %d, want %d",
           (int)v1->status, want);
  }
  EXPECT(ru, w, v1->n_items == o->n_items, "%zu items, want %zu", v1->n_items,
         o->n_items);
  for (size_t i = 0; i < o->n_items; i++) {
    const Shop__V1__LineItem *a = v1->items[i];
    const Shop__V2__LineItem *b = o->items[i];
    EXPECT(ru, w,
           str_eq(a->sku, b->sku) && a->has_quantity == b->has_quantity &&
               (!b->has_quantity || a->quantity == b->quantity) &&
               a->has_unit_price_cents == b->has_unit_price_cents &&
               (!b->has_unit_price_cents ||
                a->unit_price_cents == b->unit_price_cents),
           "items[%zu] differs", i);
  }
  EXPECT(ru, w,
         v1->has_created_at == o->has_created_at &&
             (!o->has_created_at || v1->created_at == o->created_at),
         "created_at differs");
  if (o->fulfilment_case == SHOP__V2__ORDER__FULFILMENT_SHIP_TO)
    check_address(ru, w, v1->ship_to, o->ship_to);
  else
    EXPECT(ru, w, v1->ship_to == NULL, "ship_to set, the v2 record has none");
  EXPECT(ru, w, v1->has_discount_cents == (o->discount != NULL),
         "discount_cents presence %d, want %d", (int)v1->has_discount_cents,
         o->discount != NULL);
  if (o->discount != NULL)
    EXPECT(ru, w, v1->discount_cents == e->cents,
           "discount_cents %" PRId64
           ", want units*100 + nanos/10^7 rounded "
           "half away from zero = %" PRId64,
           v1->discount_cents, e->cents);
  EXPECT(ru, w, v1->has_deliver_by == (o->deliver_by != NULL),
         "deliver_by presence differs");
  if (o->deliver_by != NULL) {
    int64_t want = o->deliver_by->has_seconds ? o->deliver_by->seconds : 0;
    EXPECT(ru, w, v1->deliver_by == want,
           "deliver_by %" PRId64 ", want %" PRId64, v1->deliver_by, want);
  }
  /* gift_message, promo_codes, pickup_store_id ride along as unknowns. */
  EXPECT(ru, w, (v1->base.n_unknown_fields > 0) == e->v2_only,
         "%u unknown fields, v2-only fields %s", v1->base.n_unknown_fields,
         e->v2_only ? "present" : "absent");
}

/* (f): reading the v1 bytes as version 2 restores the v2-only fields. */
static void check_restored(const run *ru, const expect *e,
                           const Shop__V2__Order *o, const rs_buf *v1,
                           const rs_options *opts, counts *n) {
  const char *w = "(f) read-as v2";
  rs_error err = RS_ERROR_INIT;
  rs_record *rec = NULL;
  int rc = rs_read_as(&rec, rs_test_registry(), RS_SHOP_ORDER, 2, v1->data,
                      v1->len, opts, &err);
  EXPECT(ru, w, rc == 0, "rs_read_as: %s: %s", rs_error_name(rc), err.message);
  /* Bytes that version 2 alone explains are read as its, unconverted. */
  unsigned written = rs_record_written_version(rec);
  EXPECT(ru, w,
         (written == 1 || (e->v2_only && written == 2)) &&
             rs_record_version(rec) == 2 &&
             rs_record_encoding(rec) == RS_ENCODING_RAW,
         "written %u, now %u, encoding %s", rs_record_written_version(rec),
         rs_record_version(rec), rs_encoding_name(rs_record_encoding(rec)));
  const rs_conversion *conv = rs_record_conversion(rec);
  EXPECT(ru, w,
         (written == 2 && conv == NULL) ||
             (conv != NULL &&
              rs_conversion_result_of(conv) == RS_CONVERSION_LOSSLESS),
         "up-conversion is %s, want lossless",
         conv ? rs_conversion_result_name(rs_conversion_result_of(conv))
              : "missing");
  const Shop__V2__Order *b = (const Shop__V2__Order *)rs_record_message(rec);
  EXPECT(ru, w, b != NULL && b->base.descriptor == &shop__v2__order__descriptor,
         "not a v2 message");

  EXPECT(ru, w, str_eq(b->gift_message, o->gift_message),
         "gift_message not restored");
  EXPECT(ru, w, b->n_promo_codes == o->n_promo_codes,
         "%zu promo codes, want %zu", b->n_promo_codes, o->n_promo_codes);
  for (size_t i = 0; i < o->n_promo_codes; i++)
    EXPECT(ru, w, str_eq(b->promo_codes[i], o->promo_codes[i]),
           "promo_codes[%zu] differs", i);
  EXPECT(ru, w, b->fulfilment_case == o->fulfilment_case,
         "fulfilment case %d, want %d", (int)b->fulfilment_case,
         (int)o->fulfilment_case);
  if (o->fulfilment_case == SHOP__V2__ORDER__FULFILMENT_PICKUP_STORE_ID) {
    EXPECT(ru, w, str_eq(b->pickup_store_id, o->pickup_store_id),
           "pickup_store_id differs");
    n->restored_pickup++;
  } else if (o->fulfilment_case == SHOP__V2__ORDER__FULFILMENT_SHIP_TO) {
    const Shop__V2__Address *x = b->ship_to, *y = o->ship_to;
    EXPECT(ru, w,
           x != NULL && str_eq(x->line1, y->line1) &&
               str_eq(x->city, y->city) &&
               str_eq(x->postal_code, y->postal_code) &&
               str_eq(x->country, y->country),
           "ship_to differs");
    n->restored_ship_to++;
  }
  if (o->gift_message != NULL) n->restored_gift++;
  if (o->n_promo_codes > 0) n->restored_promo++;

  /* The rest as v1 kept it, in v2 shape. */
  EXPECT(ru, w,
         str_eq(b->order_id, o->order_id) &&
             str_eq(b->customer_id, o->customer_id),
         "ids differ");
  if (o->discount != NULL) {
    const Shop__V2__Money *m = b->discount;
    EXPECT(ru, w, m != NULL && str_eq(m->currency_code, "USD"),
           "discount not restored as USD");
    EXPECT(ru, w,
           m->units * 100 + (m->has_nanos ? m->nanos : 0) / NANOS_PER_CENT ==
               e->cents,
           "discount %" PRId64 " units %d nanos, want %" PRId64 " cents",
           m->units, m->nanos, e->cents);
  } else {
    EXPECT(ru, w, b->discount == NULL, "discount appeared");
  }
  if (o->deliver_by != NULL)
    EXPECT(ru, w,
           b->deliver_by != NULL &&
               b->deliver_by->seconds ==
                   (o->deliver_by->has_seconds ? o->deliver_by->seconds : 0) &&
               (!b->deliver_by->has_nanos || b->deliver_by->nanos == 0),
           "deliver_by not restored as whole seconds");
  else
    EXPECT(ru, w, b->deliver_by == NULL, "deliver_by appeared");
  rs_record_free(rec);
}

static void check_record(const run *ru, const expect *e, bufs *b,
                         const rs_options *opts, counts *n) {
  const gen *g = ru->g;
  const Shop__V2__Order *o = &g->o;
  const rs_registry *reg = rs_test_registry();
  rs_error err = RS_ERROR_INIT;

  /* (g) the v2 record itself, for both v1 readers. */
  {
    const char *w = "(g) classify v2";
    rs_reader raw = {RS_READER_VERSION,
                     1,
                     RS_READER_FRAMING_RAW,
                     0u,
                     RS_RUNTIME_PROTOBUF_C,
                     0u,
                     0u};
    rs_reader aware = {RS_READER_VERSION,
                       1,
                       RS_READER_FRAMING_ENVELOPE,
                       0u,
                       RS_RUNTIME_PROTOBUF_C,
                       0u,
                       0u};
    rs_classification *c = NULL;
    int rc = rs_classify(&c, reg, RS_SHOP_ORDER, &raw, b->v2.data, b->v2.len,
                         opts, &err);
    EXPECT(ru, w, rc == 0, "rs_classify raw: %s: %s", rs_error_name(rc),
           err.message);
    EXPECT(ru, w, rs_classification_verdict(c) == RS_VERDICT_UNREADABLE,
           "plain v1 reader: %s, want unreadable (envelope)",
           rs_verdict_name(rs_classification_verdict(c)));
    EXPECT(ru, w,
           rs_classification_written_version(c) == 2 &&
               rs_classification_encoding(c) == RS_ENCODING_ENVELOPE,
           "written version %u", rs_classification_written_version(c));
    const rs_provenance *p = rs_classification_provenance(c);
    EXPECT(ru, w,
           p != NULL && str_eq(p->flag_key, g->prov.flag_key) &&
               str_eq(p->variant, g->prov.variant) &&
               str_eq(p->writer_id, g->prov.writer_id) &&
               p->write_time_us == g->prov.write_time_us,
           "provenance differs");
    rs_classification_free(c);
    c = NULL;
    rc = rs_classify(&c, reg, RS_SHOP_ORDER, &aware, b->v2.data, b->v2.len,
                     opts, &err);
    EXPECT(ru, w, rc == 0, "rs_classify envelope: %s: %s", rs_error_name(rc),
           err.message);
    rs_verdict v = rs_classification_verdict(c);
    EXPECT(ru, w, v == e->envelope_v1, "envelope-aware v1 reader: %s, want %s",
           rs_verdict_name(v), rs_verdict_name(e->envelope_v1));
    n->env_verdict[v]++;
    rs_classification_free(c);
  }

  /* (g') RS_OPT_VERDICT_ONLY skips only explanations: the verdict, the
   * written version and the provenance are those of the full classify, for
   * the v2 record and its v1 down-conversion alike, for both readers. */
  {
    const char *w = "(g') verdict only";
    rs_options fast = *opts;
    fast.flags |= RS_OPT_VERDICT_ONLY;
    const rs_buf *records[2] = {&b->v2, &b->v1};
    for (int k = 0; k < 2; k++) {
      for (int f = RS_READER_FRAMING_RAW; f <= RS_READER_FRAMING_ENVELOPE;
           f++) {
        rs_reader rd = {RS_READER_VERSION,
                        1,
                        (rs_reader_framing)f,
                        0u,
                        RS_RUNTIME_PROTOBUF_C,
                        0u,
                        0u};
        rs_classification *full = NULL, *quick = NULL;
        int r1 = rs_classify(&full, reg, RS_SHOP_ORDER, &rd, records[k]->data,
                             records[k]->len, opts, &err);
        int r2 = rs_classify(&quick, reg, RS_SHOP_ORDER, &rd, records[k]->data,
                             records[k]->len, &fast, &err);
        EXPECT(ru, w, r1 == 0 && r2 == 0, "rs_classify: %s / %s",
               rs_error_name(r1), rs_error_name(r2));
        if (r1 == 0 && r2 == 0) {
          EXPECT(ru, w,
                 rs_classification_verdict(full) ==
                     rs_classification_verdict(quick),
                 "record %d framing %d: %s with the flag, %s without", k, f,
                 rs_verdict_name(rs_classification_verdict(quick)),
                 rs_verdict_name(rs_classification_verdict(full)));
          EXPECT(ru, w,
                 rs_classification_written_version(full) ==
                     rs_classification_written_version(quick),
                 "written version differs");
          const rs_provenance *pf = rs_classification_provenance(full);
          const rs_provenance *pq = rs_classification_provenance(quick);
          EXPECT(ru, w,
                 (pf == NULL) == (pq == NULL) &&
                     (pf == NULL || (str_eq(pf->flag_key, pq->flag_key) &&
                                     pf->write_time_us == pq->write_time_us)),
                 "provenance differs");
        }
        rs_classification_free(full);
        rs_classification_free(quick);
      }
    }
  }

  /* (a) transcode to v1: fails exactly when v1 cannot represent it. */
  rs_conversion *conv = NULL;
  uint8_t *before_data = b->v1.data;
  size_t before_len = b->v1.len, before_cap = b->v1.cap;
  int rc = rs_transcode(&b->v1, &conv, reg, RS_SHOP_ORDER, 1, b->v2.data,
                        b->v2.len, NULL, opts, &err);
  if (e->impossible) {
    const char *w = "(a) impossible";
    EXPECT(ru, w, rc == RS_ECONVERT,
           "rs_transcode gave %s (%s), want RS_ECONVERT", rs_error_name(rc),
           rc ? err.message : "success");
    EXPECT(ru, w, err.code == RS_ECONVERT, "err.code %s",
           rs_error_name(err.code));
    EXPECT(ru, w,
           b->v1.data == before_data && b->v1.len == before_len &&
               b->v1.cap == before_cap,
           "the output buffer was touched on error");
    EXPECT(ru, w,
           conv != NULL &&
               rs_conversion_result_of(conv) == RS_CONVERSION_IMPOSSIBLE,
           "report %s",
           conv ? rs_conversion_result_name(rs_conversion_result_of(conv))
                : "missing");
    size_t want = 0;
    if (e->guest) {
      want++;
      EXPECT(ru, w, find_loss(conv, "customer_id(2)", RS_LOSS_IMPOSSIBLE),
             "no impossible loss customer_id(2)");
    }
    if (e->bad_currency) {
      want++;
      EXPECT(
          ru, w,
          find_loss(conv, "discount(10).currency_code(3)", RS_LOSS_IMPOSSIBLE),
          "no impossible loss discount(10).currency_code(3)");
    } else if (e->units_too_big) {
      want++;
      EXPECT(ru, w,
             find_loss(conv, "discount(10).units(1)", RS_LOSS_IMPOSSIBLE),
             "no impossible loss discount(10).units(1)");
    }
    EXPECT(ru, w, count_losses(conv, RS_LOSS_IMPOSSIBLE) == want,
           "%zu impossible losses, want %zu",
           count_losses(conv, RS_LOSS_IMPOSSIBLE), want);
    rs_conversion_free(conv);
    n->impossible++;
    n->imp_guest += e->guest;
    n->imp_currency += e->bad_currency;
    n->imp_units += e->units_too_big && !e->bad_currency;
    n->imp_several += want > 1;
    return;
  }
  EXPECT(ru, "(a) possible", rc == 0, "rs_transcode: %s: %s", rs_error_name(rc),
         err.message);
  EXPECT(ru, "(a) possible",
         conv != NULL && rs_conversion_from(conv) == 2 &&
             rs_conversion_to(conv) == 1,
         "no 2->1 conversion report");

  /* (e) lossless exactly when nothing was altered, listing the alterations. */
  {
    const char *w = "(e) result";
    rs_conversion_result res = rs_conversion_result_of(conv);
    EXPECT(ru, w,
           res == (e->lossy ? RS_CONVERSION_LOSSY : RS_CONVERSION_LOSSLESS),
           "%s, want %s", rs_conversion_result_name(res),
           e->lossy ? "lossy" : "lossless");
    size_t want =
        (size_t)e->alter_status + e->alter_subcent + e->alter_deliver_by;
    EXPECT(ru, w,
           rs_conversion_loss_count(conv) == want &&
               count_losses(conv, RS_LOSS_ALTERED) == want,
           "%zu losses (%zu altered), want %zu altered",
           rs_conversion_loss_count(conv), count_losses(conv, RS_LOSS_ALTERED),
           want);
    EXPECT(ru, w,
           !e->alter_status || find_loss(conv, "status(4)", RS_LOSS_ALTERED),
           "status(4) not listed");
    EXPECT(ru, w,
           !e->alter_subcent ||
               find_loss(conv, "discount(10).nanos(2)", RS_LOSS_ALTERED),
           "discount(10).nanos(2) not listed");
    EXPECT(ru, w,
           !e->alter_deliver_by ||
               find_loss(conv, "deliver_by(9).nanos(2)", RS_LOSS_ALTERED),
           "deliver_by(9).nanos(2) not listed");
    EXPECT(ru, w, (rs_conversion_kept_unknown(conv) > 0) == e->v2_only,
           "%zu fields kept unknown", rs_conversion_kept_unknown(conv));
    if (e->lossy) {
      n->lossy++;
      n->lossy_status += e->alter_status;
      n->lossy_subcent += e->alter_subcent;
      n->lossy_deliver_by += e->alter_deliver_by;
    } else {
      n->lossless++;
    }
    rs_conversion_free(conv);
  }

  /* (b) the old reader reads it: plain protobuf-c and rs_classify. */
  {
    const char *w = "(b) old reader";
    EXPECT(ru, w, b->v1.len > 0 && b->v1.data[0] != RS_ENVELOPE_MARKER,
           "v1 result is not raw");
    Shop__V1__Order *v1 = shop__v1__order__unpack(NULL, b->v1.len, b->v1.data);
    EXPECT(ru, w, v1 != NULL, "shop__v1__order__unpack fails on the result");
    check_v1_fields(ru, e, o, v1);
    shop__v1__order__free_unpacked(v1, NULL);

    rs_reader raw = {RS_READER_VERSION,
                     1,
                     RS_READER_FRAMING_RAW,
                     0u,
                     RS_RUNTIME_PROTOBUF_C,
                     0u,
                     0u};
    rs_classification *c = NULL;
    rc = rs_classify(&c, reg, RS_SHOP_ORDER, &raw, b->v1.data, b->v1.len, opts,
                     &err);
    EXPECT(ru, w, rc == 0, "rs_classify: %s: %s", rs_error_name(rc),
           err.message);
    rs_verdict v = rs_classification_verdict(c);
    rs_verdict want = e->v2_only ? RS_VERDICT_IGNORED_FIELDS : RS_VERDICT_OK;
    EXPECT(ru, w, v == want, "verdict %s, want %s%s%s", rs_verdict_name(v),
           rs_verdict_name(want),
           rs_classification_reason_count(c) ? "; first reason: " : "",
           rs_classification_reason_count(c)
               ? rs_reason_text(rs_classification_reason(c, 0))
               : "");
    /* Fields only version 2 defines, kept as unknown fields, may make the
     * bytes version 2's to the raw-writer inference (only it explains
     * them); either way it is one writer, not an ambiguous one. */
    unsigned got = rs_classification_written_version(c);
    EXPECT(ru, w, got == 1 || (e->v2_only && got == 2), "written version %u",
           got);
    EXPECT(ru, w, rs_classification_writer_basis(c) == RS_WRITER_INFERRED,
           "writer basis %s",
           rs_writer_basis_name(rs_classification_writer_basis(c)));
    rs_classification_free(c);
    if (v == RS_VERDICT_OK)
      n->verdict_ok++;
    else
      n->verdict_ignored++;
  }

  /* (c) converting twice is converting once. */
  {
    const char *w = "(c) idempotent";
    rs_conversion *again = NULL;
    rc = rs_transcode(&b->v1_again, &again, reg, RS_SHOP_ORDER, 1, b->v1.data,
                      b->v1.len, NULL, opts, &err);
    EXPECT(ru, w, rc == 0, "rs_transcode v1->v1: %s: %s", rs_error_name(rc),
           err.message);
    /* Bytes that only version 2 explains (its fields kept as unknown
     * fields) are read as version 2's and converted again, to the same
     * bytes, losing nothing. */
    EXPECT(ru, w,
           again == NULL || (e->v2_only && rs_conversion_result_of(again) ==
                                               RS_CONVERSION_LOSSLESS),
           "a v1->v1 transcode reported a %s conversion",
           rs_conversion_result_name(rs_conversion_result_of(again)));
    rs_conversion_free(again);
    again = NULL;
    EXPECT(ru, w,
           b->v1_again.len == b->v1.len &&
               memcmp(b->v1_again.data, b->v1.data, b->v1.len) == 0,
           "bytes differ (%zu vs %zu bytes)", b->v1_again.len, b->v1.len);
  }

  /* (f) */
  check_restored(ru, e, o, &b->v1, opts, n);

  /* (h) v1 -> v2 -> v1 gives the v1 bytes back. */
  {
    const char *w = "(h) up and down";
    rc = rs_transcode(&b->up, NULL, reg, RS_SHOP_ORDER, 2, b->v1.data,
                      b->v1.len, NULL, opts, &err);
    EXPECT(ru, w, rc == 0, "rs_transcode v1->v2: %s: %s", rs_error_name(rc),
           err.message);
    rs_conversion *down = NULL;
    rc = rs_transcode(&b->down, &down, reg, RS_SHOP_ORDER, 1, b->up.data,
                      b->up.len, NULL, opts, &err);
    EXPECT(ru, w, rc == 0, "rs_transcode v2->v1: %s: %s", rs_error_name(rc),
           err.message);
    EXPECT(ru, w, rs_conversion_result_of(down) == RS_CONVERSION_LOSSLESS,
           "down again is %s",
           rs_conversion_result_name(rs_conversion_result_of(down)));
    rs_conversion_free(down);
    EXPECT(ru, w,
           b->down.len == b->v1.len &&
               memcmp(b->down.data, b->v1.data, b->v1.len) == 0,
           "bytes differ (%zu vs %zu bytes)", b->down.len, b->v1.len);
  }
}

static uint64_t env_u64(const char *name, uint64_t dflt) {
  const char *s = getenv(name);
  if (s == NULL || s[0] == '\0') return dflt;
  char *end;
  unsigned long long v = strtoull(s, &end, 0);
  ck_assert_msg(*end == '\0', "%s=%s is not a number", name, s);
  return (uint64_t)v;
}

static void print_counts(const counts *n) {
  printf("property: %zu records (%zu arena, %zu malloc)\n", n->records,
         n->arena, n->malloc_);
  printf(
      "  transcode to v1: %zu impossible (guest %zu, currency %zu, units "
      "%zu, several reasons %zu), %zu lossless, %zu lossy (AWAITING_AUTH "
      "%zu, sub-cent discount %zu, deliver_by nanos %zu)\n",
      n->impossible, n->imp_guest, n->imp_currency, n->imp_units,
      n->imp_several, n->lossless, n->lossy, n->lossy_status, n->lossy_subcent,
      n->lossy_deliver_by);
  printf("  v1 result for the plain v1 reader: %zu ok, %zu ignored_fields\n",
         n->verdict_ok, n->verdict_ignored);
  printf(
      "  restored by read-as v2: gift_message %zu, promo_codes %zu, "
      "pickup_store_id %zu, ship_to %zu\n",
      n->restored_gift, n->restored_promo, n->restored_pickup,
      n->restored_ship_to);
  printf("  v2 record for the envelope-aware v1 reader:");
  for (int v = 0; v < RS_VERDICT_COUNT; v++)
    printf(" %s %zu", rs_verdict_name((rs_verdict)v), n->env_verdict[v]);
  printf("\n");
  fflush(stdout);
}

START_TEST(down_conversion_properties_hold_for_generated_orders) {
  uint64_t seed = env_u64("RS_PROPERTY_SEED", DEFAULT_SEED);
  size_t total = (size_t)env_u64("RS_PROPERTY_N", DEFAULT_N);
  printf("property: seed 0x%016" PRIx64
         " (RS_PROPERTY_SEED), %zu records "
         "(RS_PROPERTY_N)\n",
         seed, total);
  fflush(stdout);

  const rs_registry *reg = rs_test_registry();
  rs_arena *arena = NULL;
  rs_error err = RS_ERROR_INIT;
  ck_assert_int_eq(rs_arena_new(&arena, 0, NULL, &err), 0);
  rs_options arena_opts = RS_OPTIONS_INIT;
  arena_opts.allocator = rs_arena_allocator(arena);
  rs_options malloc_opts = RS_OPTIONS_INIT;

  static gen g; /* large: keep it off the stack */
  counts n;
  memset(&n, 0, sizeof n);
  bufs heap = {RS_BUF_INIT, RS_BUF_INIT, RS_BUF_INIT, RS_BUF_INIT, RS_BUF_INIT};

  for (size_t i = 0; i < total; i++) {
    bool use_arena = i % 2 == 0;
    const rs_options *opts = use_arena ? &arena_opts : &malloc_opts;
    bufs in_arena = {RS_BUF_INIT, RS_BUF_INIT, RS_BUF_INIT, RS_BUF_INIT,
                     RS_BUF_INIT};
    /* malloc records reuse one set of buffers: capacity carries over. */
    bufs *b = use_arena ? &in_arena : &heap;

    generate(&g, seed, i);
    expect e;
    expectations(&g.o, &e);
    run ru = {seed, i, &g, &b->v2};

    int rc = rs_encode(&b->v2, reg, RS_SHOP_ORDER, 2, &g.o.base, &g.prov, opts,
                       &err);
    EXPECT(&ru, "encode", rc == 0, "rs_encode: %s: %s", rs_error_name(rc),
           err.message);
    check_record(&ru, &e, b, opts, &n);

    n.records++;
    if (use_arena) {
      n.arena++;
      rs_arena_reset(arena); /* everything of this record goes at once */
    } else {
      n.malloc_++;
    }
  }
  rs_buf_dispose(&heap.v2, NULL);
  rs_buf_dispose(&heap.v1, NULL);
  rs_buf_dispose(&heap.v1_again, NULL);
  rs_buf_dispose(&heap.up, NULL);
  rs_buf_dispose(&heap.down, NULL);
  rs_arena_free(arena);
  print_counts(&n);

  if (total < MIN_N_FOR_COVERAGE) {
    printf(
        "property: fewer than %u records; coverage of outcomes not "
        "asserted\n",
        MIN_N_FOR_COVERAGE);
    return;
  }
  /* The generator must really reach every outcome. */
  ck_assert_msg(n.arena > 0 && n.malloc_ > 0, "both allocators");
  ck_assert_msg(n.imp_guest > 0, "no impossible conversion for a guest");
  ck_assert_msg(n.imp_currency > 0, "no impossible conversion for a currency");
  ck_assert_msg(n.imp_units > 0, "no impossible conversion for huge units");
  ck_assert_msg(n.imp_several > 0, "no conversion impossible twice over");
  ck_assert_msg(n.lossless > 0, "no lossless conversion");
  ck_assert_msg(n.lossy_status > 0, "no lossy AWAITING_AUTH");
  ck_assert_msg(n.lossy_subcent > 0, "no lossy sub-cent discount");
  ck_assert_msg(n.lossy_deliver_by > 0, "no lossy deliver_by nanos");
  ck_assert_msg(n.verdict_ok > 0, "no v1 result read ok");
  ck_assert_msg(n.verdict_ignored > 0, "no v1 result with ignored fields");
  ck_assert_msg(n.restored_gift > 0 && n.restored_promo > 0 &&
                    n.restored_pickup > 0 && n.restored_ship_to > 0,
                "a v2-only field was never restored");
  for (int v = 0; v <= RS_VERDICT_UNREADABLE; v++)
    ck_assert_msg(n.env_verdict[v] > 0, "envelope-aware verdict %s never seen",
                  rs_verdict_name((rs_verdict)v));
}
END_TEST

/* ---- regressions found by the property test ------------------------------ */

/*
 * A USD discount of INT64_MAX/100 or INT64_MIN/100 units (with 0 nanos) is
 * 9223372036854775800 or -9223372036854775800 cents, which int64
 * discount_cents holds; money_to_cents() refused units beyond
 * INT64_MAX/100 - 1 and INT64_MIN/100 + 1, one too early (found by this
 * property test, fixed by an exact overflow check).
 */
START_TEST(discount_at_int64_cents_limit_converts_down) {
  static const int64_t units[] = {INT64_MAX / 100, INT64_MIN / 100};
  for (size_t i = 0; i < 2; i++) {
    Shop__V2__Order o = SHOP__V2__ORDER__INIT;
    Shop__V2__Money m = SHOP__V2__MONEY__INIT;
    o.order_id = "ord-limit";
    o.customer_id = "cust-1";
    m.has_units = 1;
    m.units = units[i];
    m.currency_code = "USD";
    o.discount = &m;
    rs_buf v2 = RS_BUF_INIT, v1 = RS_BUF_INIT;
    rs_error err = RS_ERROR_INIT;
    ck_assert_int_eq(rs_encode(&v2, rs_test_registry(), RS_SHOP_ORDER, 2,
                               &o.base, NULL, NULL, &err),
                     0);
    int rc = rs_transcode(&v1, NULL, rs_test_registry(), RS_SHOP_ORDER, 1,
                          v2.data, v2.len, NULL, NULL, &err);
    rs_buf_dispose(&v2, NULL);
    ck_assert_msg(rc == 0,
                  "discount of %" PRId64 " USD (%" PRId64
                  "00 cents fits "
                  "int64): %s: %s",
                  units[i], units[i], rs_error_name(rc), err.message);
    Shop__V1__Order *old = shop__v1__order__unpack(NULL, v1.len, v1.data);
    rs_buf_dispose(&v1, NULL);
    ck_assert_ptr_nonnull(old);
    ck_assert(old->has_discount_cents);
    ck_assert(old->discount_cents == units[i] * 100);
    shop__v1__order__free_unpacked(old, NULL);
  }
}
END_TEST

/*
 * A v1 record with discount_cents at the int64 limits reads as v2
 * (INT64_MAX cents = 92233720368547758 units 70000000 nanos) but could not
 * be written back as v1: the down-conversion refused the units it made.
 * Up-conversion is documented lossless, so v1 -> v2 -> v1 must give the
 * record back.
 */
START_TEST(v1_discount_at_int64_limit_survives_read_as_v2_and_back) {
  static const int64_t cents[] = {INT64_MAX, INT64_MIN,
                                  INT64_C(9223372036854775700),
                                  INT64_C(-9223372036854775800)};
  for (size_t i = 0; i < 4; i++) {
    Shop__V1__Order o = SHOP__V1__ORDER__INIT;
    o.order_id = "ord-limit";
    o.customer_id = "cust-1";
    o.has_discount_cents = 1;
    o.discount_cents = cents[i];
    rs_buf v1 = RS_BUF_INIT, v2 = RS_BUF_INIT, back = RS_BUF_INIT;
    rs_error err = RS_ERROR_INIT;
    const rs_registry *reg = rs_test_registry();
    ck_assert_int_eq(
        rs_encode(&v1, reg, RS_SHOP_ORDER, 1, &o.base, NULL, NULL, &err), 0);
    ck_assert_int_eq(rs_transcode(&v2, NULL, reg, RS_SHOP_ORDER, 2, v1.data,
                                  v1.len, NULL, NULL, &err),
                     0);
    int rc = rs_transcode(&back, NULL, reg, RS_SHOP_ORDER, 1, v2.data, v2.len,
                          NULL, NULL, &err);
    bool same = rc == 0 && back.len == v1.len &&
                memcmp(back.data, v1.data, v1.len) == 0;
    rs_buf_dispose(&v1, NULL);
    rs_buf_dispose(&v2, NULL);
    rs_buf_dispose(&back, NULL);
    ck_assert_msg(same, "v1 discount_cents %" PRId64 " -> v2 -> v1: %s%s%s",
                  cents[i], rs_error_name(rc), rc ? ": " : " but other bytes",
                  rc ? err.message : "");
  }
}
END_TEST

/*
 * Found by fuzz_decode (tests/fuzz/crashes/fuzz_decode/reencode-*): a v1
 * record with an unknown field whose tag is the two-byte, non-canonical
 * encoding of field number 0 (80 00). protobuf-c reads it and keeps the
 * field; rs_decode() accepts it too. rs_transcode() to version 1 then
 * returns RS_OK with bytes that re-emit the tag as the single byte 00,
 * which protobuf-c (the old reader) and rs_decode() refuse: the fixer
 * would write a record the old reader cannot read. Whatever the library
 * does with such a field, the bytes it writes must be readable.
 */
START_TEST(transcode_of_field_0_noncanonical_tag_is_readable_by_v1) {
  static const uint8_t rec[] = {0x0a, 0x01, 'o',  0x12, 0x01,
                                'c',  0x80, 0x00, 0x01};
  Shop__V1__Order *in = shop__v1__order__unpack(NULL, sizeof rec, rec);
  ck_assert_msg(in != NULL, "protobuf-c no longer reads the input");
  shop__v1__order__free_unpacked(in, NULL);
  rs_buf out = RS_BUF_INIT;
  rs_error err = RS_ERROR_INIT;
  int rc = rs_transcode(&out, NULL, rs_test_registry(), RS_SHOP_ORDER, 1, rec,
                        sizeof rec, NULL, NULL, &err);
  if (rc == 0) {
    Shop__V1__Order *m = shop__v1__order__unpack(NULL, out.len, out.data);
    bool readable = m != NULL;
    shop__v1__order__free_unpacked(m, NULL);
    char hex[64] = "";
    for (size_t i = 0; i < out.len && i < 16; i++)
      snprintf(hex + 3 * i, sizeof hex - 3 * i, " %02x", out.data[i]);
    rs_buf_dispose(&out, NULL);
    ck_assert_msg(readable,
                  "rs_transcode returned RS_OK with bytes the v1 reader "
                  "cannot read:%s",
                  hex);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("property");
  TCase *tc = tcase_create("down-conversion");
  tcase_set_timeout(tc, 0); /* no wall-clock limit (in fork mode) */
  tcase_add_test(tc, down_conversion_properties_hold_for_generated_orders);
  suite_add_tcase(s, tc);
  TCase *reg = tcase_create("regressions");
  tcase_add_test(reg, discount_at_int64_cents_limit_converts_down);
  tcase_add_test(reg, v1_discount_at_int64_limit_survives_read_as_v2_and_back);
  tcase_add_test(reg, transcode_of_field_0_noncanonical_tag_is_readable_by_v1);
  suite_add_tcase(s, reg);
  return rs_test_run(s);
}
