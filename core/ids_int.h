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

#include "spanring_int.h"

struct sr__rng {
	uint64_t s;
	uint32_t gen;
};
extern SR__TLS struct sr__rng sr__tls_rng;
void sr__rng_reseed(struct sr__rng *r);

/* This thread's generator, reseeded if the pipeline changed (init, fork
 * child).  Call once per span, then draw with sr__rand64_from(). */
static inline struct sr__rng *sr__rng_get(void)
{
	struct sr__rng *r = &sr__tls_rng;

	if (SR__UNLIKELY(r->gen != sr__g.gen))
		sr__rng_reseed(r);
	return r;
}

static inline uint64_t sr__rand64_from(struct sr__rng *r)
{
	unsigned __int128 m;

	r->s += 0xa0761d6478bd642full;
	m = (unsigned __int128)r->s * (r->s ^ 0xe7037ed1a0b428dbull);
	return (uint64_t)(m >> 64) ^ (uint64_t)m;
}

static inline void sr__new_span_id_from(struct sr__rng *r, uint8_t out[8])
{
	uint64_t v;

	do
		v = sr__rand64_from(r);
	while (SR__UNLIKELY(v == 0));
	memcpy(out, &v, 8);
}

static inline void sr__new_trace_id_from(struct sr__rng *r, uint8_t out[16])
{
	uint64_t hi = sr__rand64_from(r), lo = sr__rand64_from(r);

	if (SR__UNLIKELY((hi | lo) == 0))
		lo = 1;
	memcpy(out, &hi, 8);
	memcpy(out + 8, &lo, 8);
}

#endif /* SR_IDS_INT_H */
