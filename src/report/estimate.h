/*
 * src/report/estimate.h: what a sampled scan (scan --sample) says of the
 * whole selection it was drawn from: an estimated count and its 95%
 * interval, for the rows and for each verdict. The method and what it
 * cannot tell are in docs/scale.md.
 */
#ifndef RS_REPORT_ESTIMATE_H
#define RS_REPORT_ESTIMATE_H

#include <stdint.h>

/** The confidence of every interval: 95%. */
#define RS_ESTIMATE_CONFIDENCE 0.95

/** An estimated count and the bounds of its 95% interval, whole numbers
 * (the count rounded, low rounded down, high up); low <= count <= high. */
typedef struct rs__estimate {
  uint64_t count, low, high;
} rs__estimate;

/**
 * What the clusters of a sample (the blocks or windows it drew its rows
 * with) give for one kind of row: m clusters, the sum of n_c^2 (n_c a
 * cluster's rows), and of k_c^2 and n_c k_c (k_c its rows of that kind).
 * `groups` (at least 1): how many relations drew their clusters alike (a
 * partitioned table's partitions read the same block numbers), so that
 * up to that many clusters are one: the variance is taken `groups` times
 * (an upper bound: (x_1 + ... + x_g)^2 <= g (x_1^2 + ... + x_g^2)) and
 * the clusters counted m / groups. m / groups < 2: nothing to say.
 */
typedef struct rs__cluster_sums {
  double m, n2, k2, nk, groups;
} rs__cluster_sums;

/**
 * The rows of the selection, from the @p n rows a sample read, each row
 * read with probability @p fraction (0 < fraction <= 1). @p known > 0: the
 * count from the database's statistics, taken as it is (low = high =
 * count); otherwise n / fraction, with the wider of two intervals: the
 * score interval of a count whose rows were each read independently with
 * that probability, and, with clusters @p c (NULL: none), the normal
 * interval of a sample of whole clusters each drawn with that probability,
 * its variance (1 - f) sum(n_c^2) / f^2.
 */
void rs__estimate_rows(rs__estimate *out, uint64_t n, double fraction,
                       int64_t known, const rs__cluster_sums *c);

/**
 * The rows of one kind (a verdict, the findings) in the selection, from
 * the @p k of them among the @p n rows sampled: the Wilson score interval
 * of the proportion k / n, scaled by the rows' own estimate @p rows (its
 * low bound by rows' low, its high by rows' high). With clusters @p c
 * (NULL: none), the proportion's variance between clusters (a ratio
 * estimator's) widens it: the Wilson interval is taken at the effective
 * sample size n / d, d the design effect, that variance over the one of
 * rows drawn one by one, never below 1. With n = 0, nothing is known: 0
 * to rows' high.
 */
void rs__estimate_part(rs__estimate *out, uint64_t k, uint64_t n,
                       const rs__estimate *rows, const rs__cluster_sums *c);

#endif
