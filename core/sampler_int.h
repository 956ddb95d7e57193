/*
 * sampler_int.h - the head-sampling decision, inline for the hot path.
 *
 * traceidratio follows opentelemetry-go: bytes 8..15 of the trace id read
 * big-endian, shifted right by one, sampled when below
 * floor(ratio * 2^63) (the bound sr__sampler_setup() computes), so a trace
 * kept at a lower ratio is kept at every higher one.  The parent-based
 * samplers follow a valid parent's sampled flag (remote and local alike,
 * the OTel defaults) and fall back to the root rule without one.
 */
#ifndef SR_SAMPLER_INT_H
#define SR_SAMPLER_INT_H

#include <string.h>

#include "spanring_int.h"

/* The bound that passes every trace id (always_on). */
#define SR__SAMPLE_ALL (UINT64_C(1) << 63)

static inline uint64_t sr__load_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

static inline uint64_t sr__load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The root rule on a trace id whose bytes 8..15, loaded from memory as
 * one word, are `lo`: for spans whose trace id is not written yet. */
static inline bool sr__sample_root(const struct sr__sampler *s, uint64_t lo)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	lo = __builtin_bswap64(lo);
#endif
	return (lo >> 1) < SR__SETTING(s->bound);
}

/* `parent` is NULL or a context already known to be valid, or any
 * context (validity is checked here too: cheap, and sr__sample's callers
 * outside the hot path may pass anything). */
static inline bool sr__sample_inline(const struct sr__sampler *s,
				     const uint8_t trace_id[16],
				     const sr_context_t *parent)
{
	/* Computed unconditionally: a load, a bswap and a compare are
	 * cheaper than a branch that would skip them. */
	bool root = (sr__load_be64(trace_id + 8) >> 1) < SR__SETTING(s->bound);

	if (SR__SETTING(s->kind) >= SR_SAMPLER_PARENTBASED_ALWAYS_ON &&
	    parent != NULL &&
	    (sr__load64(parent->trace_id) | sr__load64(parent->trace_id + 8)) != 0 &&
	    sr__load64(parent->span_id) != 0)
		return (parent->trace_flags & SR_TRACE_FLAG_SAMPLED) != 0;
	return root;
}

#endif /* SR_SAMPLER_INT_H */
