/*
 * clock_int.h - the hot path's timestamp: ns since the Unix epoch.
 *
 * On x86-64 with an invariant TSC (constant_tsc + nonstop_tsc) a
 * timestamp is one rdtsc plus a multiply-shift from a calibrated anchor:
 *
 *     ns = ns_base + ((tsc - tsc_base) * mult) >> shift
 *
 * The anchor and rate live in sr__g.clock behind a ck_sequence seqlock;
 * only the drainer rewrites them (about once a second, re-anchoring to
 * CLOCK_REALTIME so wall-clock drift stays bounded).  Without an
 * invariant TSC, and under ThreadSanitizer (which cannot see the seqlock's
 * ordering), it falls back to clock_gettime(CLOCK_REALTIME) through the
 * vDSO.
 */
#ifndef SR_CLOCK_INT_H
#define SR_CLOCK_INT_H

#include <ck_sequence.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define SR__HAVE_TSC 1
#endif

#include "spanring_int.h"

static inline uint64_t sr__realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t sr__now_inline(void)
{
#ifdef SR__HAVE_TSC
	if (SR__LIKELY(sr__g.clock.use_tsc)) {
		struct sr__clock_params c;
		unsigned int v;
		uint64_t tsc;

		do {
			v = ck_sequence_read_begin(&sr__g.clock_seq);
			c = sr__g.clock;
		} while (ck_sequence_read_retry(&sr__g.clock_seq, v));
		tsc = __rdtsc();
		if (SR__UNLIKELY(tsc < c.tsc_base))
			return c.ns_base;
		return c.ns_base +
		       (uint64_t)(((unsigned __int128)(tsc - c.tsc_base) *
				   c.mult) >> c.shift);
	}
#endif
	return sr__realtime_ns();
}

#endif /* SR_CLOCK_INT_H */
