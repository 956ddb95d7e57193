/*
 * ids_int.h - trace and span ids from a per-thread generator.
 *
 * wyrand (a 64-bit Weyl sequence through a 128-bit multiply-fold): a few
 * instructions per 64 bits, statistically strong enough for W3C ids, which
 * must be random but need not be secret.  Each thread seeds itself, with
 * no syscall, from the process seed (taken from getrandom at sr_init) and
 * a per-thread ticket; it reseeds whenever the pipeline generation changes,
 * which also happens in a fork child, so parent and child never share a
 * sequence.  Ids are never all-zero (W3C: invalid).
 */
#ifndef SR_IDS_INT_H
#define SR_IDS_INT_H

#include <string.h>

#include "tls_int.h"

void sr__rng_reseed(struct sr__rng *r);

/* The generator's output for Weyl state x. */
static inline uint64_t sr__wymix(uint64_t x)
{
	unsigned __int128 m = (unsigned __int128)x * (x ^ 0xe7037ed1a0b428dbull);

	return (uint64_t)(m >> 64) ^ (uint64_t)m;
}

#define SR__WEYL 0xa0761d6478bd642full

/*
 * A span takes three draws (trace id high and low, span id) as one
 * reservation: the seed.  Draw k (1..3) is sr__wymix(seed + k * SR__WEYL),
 * the same sequence as drawing them one by one, but computable later:
 * an unsampled span keeps only its seed and derives its ids when someone
 * asks for its context, which most unsampled spans never do.
 *
 * Taking a seed is one read-modify-write that a signal handler on this
 * thread cannot split: a handler that starts spans between a load of the
 * state and the store of its successor would take the same seed, and its
 * span the interrupted span's ids.  On x86-64 that is one xadd (no lock
 * prefix: only this thread writes the state, and an interrupt lands
 * between instructions, never inside one; also one instruction fewer
 * than a load, an add and a store).  Elsewhere a relaxed atomic
 * fetch-add, which is atomic against a handler by definition.
 */
static inline uint64_t sr__rng_take_seed(struct sr__rng *r)
{
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
	uint64_t seed = 3 * SR__WEYL;

	__asm__ __volatile__("xaddq %0, %1" : "+r"(seed), "+m"(r->s));
	return seed;
#else
	return __atomic_fetch_add(&r->s, 3 * SR__WEYL, __ATOMIC_RELAXED);
#endif
}

/* Trace id low half (bytes 8..15 in memory order), never 0 with its
 * high half. */
static inline uint64_t sr__seed_trace_lo(uint64_t seed)
{
	return sr__wymix(seed + 2 * SR__WEYL);
}

static inline void sr__seed_trace_id(uint64_t seed, uint8_t out[16])
{
	uint64_t hi = sr__wymix(seed + SR__WEYL), lo = sr__seed_trace_lo(seed);

	if (SR__UNLIKELY((hi | lo) == 0))
		lo = 1; /* W3C: all-zero is invalid */
	memcpy(out, &hi, 8);
	memcpy(out + 8, &lo, 8);
}

static inline void sr__seed_span_id(uint64_t seed, uint8_t out[8])
{
	uint64_t v = sr__wymix(seed + 3 * SR__WEYL);

	if (SR__UNLIKELY(v == 0))
		v = 1;
	memcpy(out, &v, 8);
}

/* The ids of a span header (record_int.h): span_id holds the seed. */
static inline void sr__header_ids(const struct sr__span_header *h,
				  uint8_t trace_id[16], uint8_t span_id[8])
{
	uint64_t seed, parent;

	memcpy(&seed, h->span_id, 8);
	memcpy(&parent, h->parent_span_id, 8);
	if (parent)
		memcpy(trace_id, h->trace_id, 16);
	else
		sr__seed_trace_id(seed, trace_id);
	sr__seed_span_id(seed, span_id);
}

#endif /* SR_IDS_INT_H */
