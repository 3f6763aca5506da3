/*
 * src/report/estimate.c: estimates of a sampled scan (see estimate.h).
 *
 * PostgreSQL's TABLESAMPLE SYSTEM draws whole blocks and the SQLite sample
 * windows of neighbouring rowids: rows written together are read
 * together, and where verdicts cluster by position a sample of rows drawn
 * one by one would say too little of the uncertainty. So the intervals
 * take the variance between the clusters the sample drew, where there are
 * two or more of them (docs/scale.md).
 */
#include <math.h>
#include <stddef.h>

#include "report/estimate.h"

/* The normal quantile of a two-sided 95% interval. */
#define Z95 1.959963984540054

/*
 * The two-sided 95% quantile of Student's t with @p df degrees of freedom
 * (Cornish-Fisher expansion around the normal one; within 1% from 3
 * degrees on, a little below it under 3): a variance estimated from few
 * clusters is itself uncertain. At least Z95.
 */
static double t95(double df) {
  if (df < 1) df = 1;
  double z = Z95, z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
  double t = z + (z3 + z) / (4 * df) +
             (5 * z5 + 16 * z3 + 3 * z) / (96 * df * df) +
             (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df * df * df);
  return t > Z95 ? t : Z95;
}

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
                       int64_t known, const rs__cluster_sums *c) {
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
  double est = dn / fraction, low = (2 * dn + q - root) / (2 * fraction),
         high = (2 * dn + q + root) / (2 * fraction);
  double g = c != NULL && c->groups > 1 ? c->groups : 1;
  if (c != NULL && c->m / g >= 2) {
    /* Whole clusters, each drawn with probability f: Var = (1 - f) / f
     * times the sum over all clusters of their rows squared, which the
     * sampled ones' sum over f estimates. */
    double se = sqrt(g * (1 - fraction) * c->n2) / fraction,
           t = t95(c->m / g - 1);
    if (est - t * se < low) low = est - t * se;
    if (est + t * se > high) high = est + t * se;
  }
  set(out, est, low, high, n);
}

void rs__estimate_part(rs__estimate *out, uint64_t k, uint64_t n,
                       const rs__estimate *rows, const rs__cluster_sums *c) {
  if (n == 0) {
    out->count = out->low = 0;
    out->high = rows->high;
    return;
  }
  if (k > n) k = n;
  double dk = (double)k, dn = (double)n, z = Z95;
  double p = dk / dn, ne = dn;
  /* With clusters, the variance is estimated from them: t, not z. */
  double g = c != NULL && c->groups > 1 ? c->groups : 1;
  if (c != NULL && c->m / g >= 2) z = t95(c->m / g - 1);
  double z2 = z * z;
  if (c != NULL && c->m / g >= 2 && k > 0 && k < n) {
    /* The ratio estimator's variance between clusters: residuals
     * e_c = k_c - p n_c, Var(p) = m / (m - 1) sum(e_c^2) / n^2. */
    double e2 = c->k2 - 2 * p * c->nk + p * p * c->n2;
    double var = g * c->m / (c->m - 1) * (e2 > 0 ? e2 : 0) / (dn * dn);
    double d = var / (p * (1 - p) / dn);
    if (d > 1) ne = dn / d;
  }
  /* Wilson at the effective sample size ne, with p = k / n. */
  double center = (p + z2 / (2 * ne)) / (1 + z2 / ne);
  double half = z / (1 + z2 / ne) * sqrt(p * (1 - p) / ne + z2 / (4 * ne * ne));
  double lo = center - half < 0 ? 0 : center - half;
  double hi = center + half > 1 ? 1 : center + half;
  set(out, dk / dn * (double)rows->count, lo * (double)rows->low,
      hi * (double)rows->high, k);
}
