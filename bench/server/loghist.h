/*
 * loghist.h - the log-bucket latency histogram of the bench server and
 * its load generator: fixed memory, one increment per sample, relative
 * error under 1/32 (about 3 %) at every magnitude.
 *
 * Values are unsigned counts of any unit (TSC ticks, ns).  Values below
 * 32 have a bucket each; above, every power of two [2^e, 2^(e+1)) is
 * split into 32 equal buckets, so a bucket is never wider than 1/32 of
 * its lower bound (HdrHistogram's layout with 5 significant bits).
 * A percentile is reported as the upper bound of the bucket it falls in:
 * never below the true value, at most 3 % above it.
 *
 * What it leaves out: merging and serialisation (each process reports
 * its own percentiles), and thread safety (one writer).
 */
#ifndef SRB_LOGHIST_H
#define SRB_LOGHIST_H

#include <stdint.h>
#include <string.h>

#define LH_SUB_BITS 5u
#define LH_SUB (1u << LH_SUB_BITS)
#define LH_BUCKETS (64u * LH_SUB)

struct loghist {
	uint64_t n;
	uint64_t sum;
	uint64_t max;
	uint64_t b[LH_BUCKETS];
};

static inline unsigned lh_index(uint64_t v)
{
	unsigned e, shift;

	if (v < LH_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v);
	shift = e - LH_SUB_BITS;
	return (shift + 1u) * LH_SUB + (unsigned)((v >> shift) - LH_SUB);
}

/* Largest value that falls in bucket i. */
static inline uint64_t lh_upper(unsigned i)
{
	unsigned shift;

	if (i < LH_SUB)
		return i;
	shift = i / LH_SUB - 1u;
	return (((uint64_t)(i % LH_SUB + LH_SUB) + 1u) << shift) - 1u;
}

static inline void lh_reset(struct loghist *h)
{
	memset(h, 0, sizeof(*h));
}

static inline void lh_add(struct loghist *h, uint64_t v)
{
	h->b[lh_index(v)]++;
	h->n++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

/* The value at quantile q (0 < q <= 1): the upper bound of the bucket
 * holding the ceil(q * n)-th smallest sample, capped at the maximum. */
static inline uint64_t lh_quantile(const struct loghist *h, double q)
{
	uint64_t rank = (uint64_t)(q * (double)h->n + 0.999999), seen = 0;

	if (h->n == 0)
		return 0;
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < LH_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank)
			return lh_upper(i) < h->max ? lh_upper(i) : h->max;
	}
	return h->max;
}

#endif /* SRB_LOGHIST_H */
