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

/* Convert a TSC reading to epoch ns with the current calibration.  The
 * reading may predate the current anchor (spans are converted when they
 * are exported, after the drainer may have re-anchored): signed delta. */
static inline uint64_t sr__tsc_to_ns(uint64_t tsc)
{
	struct sr__clock_params c;
	unsigned int v;
	__int128 d;

	do {
		v = ck_sequence_read_begin(&sr__g.clock_seq);
		c = sr__g.clock;
	} while (ck_sequence_read_retry(&sr__g.clock_seq, v));
	d = (__int128)((int64_t)(tsc - c.tsc_base)) * (__int128)c.mult;
	return c.ns_base + (uint64_t)(int64_t)(d >> c.shift);
}

/*
 * Span timestamps on the hot path: a raw TSC reading when the TSC clock
 * is in use (converted to ns when the span is exported: no seqlock and no
 * multiply per span), else epoch ns.  sr__stamp_is_tsc() tells which.
 */
static inline bool sr__stamp_is_tsc(void)
{
#ifdef SR__HAVE_TSC
	return SR__SETTING(sr__g.clock.use_tsc) != 0;
#else
	return false;
#endif
}

static inline uint64_t sr__stamp(void)
{
#ifdef SR__HAVE_TSC
	if (SR__LIKELY(SR__SETTING(sr__g.clock.use_tsc)))
		return __rdtsc();
#endif
	return sr__realtime_ns();
}

/* sr__stamp() when sr__stamp_is_tsc() is already known to hold. */
static inline uint64_t sr__stamp_tsc(void)
{
#ifdef SR__HAVE_TSC
	return __rdtsc();
#else
	return sr__realtime_ns();
#endif
}

/* sr__stamp_tsc() into *dst, the two halves as rdtsc gives them (saves
 * joining them in a register). */
static inline void sr__stamp_tsc_to(uint64_t *dst)
{
#if defined(__x86_64__)
	uint32_t lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy((char *)dst, &lo, 4);
	memcpy((char *)dst + 4, &hi, 4);
#else
	*dst = (uint64_t)hi << 32 | lo;
#endif
#else
	*dst = sr__stamp_tsc();
#endif
}

static inline uint64_t sr__now_inline(void)
{
#ifdef SR__HAVE_TSC
	if (SR__LIKELY(SR__SETTING(sr__g.clock.use_tsc)))
		return sr__tsc_to_ns(__rdtsc());
#endif
	return sr__realtime_ns();
}

#endif /* SR_CLOCK_INT_H */
