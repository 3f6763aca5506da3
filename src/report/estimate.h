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
 * The rows of the selection, from the @p n rows a sample read, each row
 * read with probability @p fraction (0 < fraction <= 1). @p known > 0: the
 * count from the database's statistics, taken as it is (low = high =
 * count); otherwise n / fraction, with the score interval of a count
 * whose rows were each read independently with that probability.
 */
void rs__estimate_rows(rs__estimate *out, uint64_t n, double fraction,
                       int64_t known);

/**
 * The rows of one kind (a verdict, the findings) in the selection, from
 * the @p k of them among the @p n rows sampled: the Wilson score interval
 * of the proportion k / n, scaled by the rows' own estimate @p rows (its
 * low bound by rows' low, its high by rows' high). With n = 0, nothing is
 * known: 0 to rows' high.
 */
void rs__estimate_part(rs__estimate *out, uint64_t k, uint64_t n,
                       const rs__estimate *rows);

#endif
