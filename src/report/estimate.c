/*
 * src/report/estimate.c: estimates of a sampled scan (see estimate.h).
 *
 * Both intervals treat the rows a sample read as drawn one by one and
 * independently. PostgreSQL's TABLESAMPLE SYSTEM draws whole blocks and
 * the SQLite sample draws windows of neighbouring rowids: rows written
 * together are read together, so where verdicts cluster by position the
 * true uncertainty is larger than these intervals say (docs/scale.md).
 */
#include <math.h>

#include "report/estimate.h"

/* The normal quantile of a two-sided 95% interval. */
#define Z95 1.959963984540054

static uint64_t down(double v) {
  return v <= 0 ? 0 : (uint64_t)floor(v);
}

static uint64_t up(double v) {
  return v <= 0 ? 0 : (uint64_t)ceil(v);
}

static uint64_t nearest(double v) {
  return v <= 0 ? 0 : (uint64_t)floor(v + 0.5);
}

static void set(rs__estimate *out, double count, double low, double high,
                uint64_t at_least) {
  out->count = nearest(count);
  out->low = down(low);
  out->high = up(high);
  /* What the sample read is there, whatever the interval says. */
  if (out->low < at_least) out->low = at_least;
  if (out->count < out->low) out->count = out->low;
  if (out->high < out->count) out->high = out->count;
}

void rs__estimate_rows(rs__estimate *out, uint64_t n, double fraction,
                       int64_t known) {
  if (known > 0) {
    set(out, (double)known, (double)known, (double)known, 0);
    return;
  }
  if (!(fraction > 0) || fraction > 1) fraction = 1;
  /* n is binomial(N, f): the N for which the score test does not reject,
   * (n - N f)^2 <= z^2 N f (1 - f), between the roots of a quadratic in N.
   * With q = z^2 (1 - f): N = (2n + q -+ sqrt(4 n q + q^2)) / 2f. */
  double dn = (double)n, q = Z95 * Z95 * (1 - fraction);
  double root = sqrt(4 * dn * q + q * q);
  set(out, dn / fraction, (2 * dn + q - root) / (2 * fraction),
      (2 * dn + q + root) / (2 * fraction), n);
}

void rs__estimate_part(rs__estimate *out, uint64_t k, uint64_t n,
                       const rs__estimate *rows) {
  if (n == 0) {
    out->count = out->low = 0;
    out->high = rows->high;
    return;
  }
  if (k > n) k = n;
  double dk = (double)k, dn = (double)n, z2 = Z95 * Z95;
  double center = (dk + z2 / 2) / (dn + z2);
  double half = Z95 / (dn + z2) * sqrt(dk * (dn - dk) / dn + z2 / 4);
  double lo = center - half < 0 ? 0 : center - half;
  double hi = center + half > 1 ? 1 : center + half;
  set(out, dk / dn * (double)rows->count, lo * (double)rows->low,
      hi * (double)rows->high, k);
}
