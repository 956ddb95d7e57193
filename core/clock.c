/*
 * clock.c - calibration of the TSC epoch clock (see clock_int.h).
 *
 * The first sr_init() of a process measures the TSC rate against
 * CLOCK_MONOTONIC_RAW over a few milliseconds.  The drainer then calls
 * sr__clock_recalibrate() about once a second: the rate is re-measured over
 * the whole time since the first anchor (so it only gets more precise) and
 * the anchor moves to the current CLOCK_REALTIME, which bounds drift
 * against wall time to what accrues in one second.
 *
 * Writers: sr__clock_init (under the lifecycle lock, before the drainer
 * runs) and the drainer; both through ck_sequence_write_begin/end.
 * Readers: any thread, through the seqlock in sr__now_inline().
 */
#include <cpuid.h>
#include <pthread.h>
#include <time.h>

#include "tsan_int.h"
#include "clock_int.h"

#define SR__CLOCK_SHIFT 32

static uint64_t first_tsc, first_raw; /* long-baseline anchor           */

#if defined(SR__HAVE_TSC) && !defined(SR__TSAN)
static bool tsc_invariant(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid(0x80000007, &a, &b, &c, &d))
		return false;
	return (d & (1u << 8)) != 0;
}
#endif

#ifdef SR__HAVE_TSC
/* Read (tsc, clock) as a tight pair: the tsc taken mid-way. */
static void pair(clockid_t id, uint64_t *tsc, uint64_t *ns)
{
	uint64_t t0 = __rdtsc(), t1;
	struct timespec ts;

	clock_gettime(id, &ts);
	t1 = __rdtsc();
	*tsc = t0 + (t1 - t0) / 2;
	*ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void publish(uint64_t tsc_base, uint64_t ns_base, uint64_t mult)
{
	ck_sequence_write_begin(&sr__g.clock_seq);
	sr__g.clock.tsc_base = tsc_base;
	sr__g.clock.ns_base = ns_base;
	sr__g.clock.mult = mult;
	sr__g.clock.shift = SR__CLOCK_SHIFT;
	ck_sequence_write_end(&sr__g.clock_seq);
}
#endif

static void clock_init_once(void)
{
#if defined(SR__HAVE_TSC) && !defined(SR__TSAN)
	uint64_t t1, r1, tsc, rt;
	struct timespec pause = { 0, 5 * 1000 * 1000 };

	if (!tsc_invariant())
		return;
	pair(CLOCK_MONOTONIC_RAW, &first_tsc, &first_raw);
	nanosleep(&pause, NULL);
	pair(CLOCK_MONOTONIC_RAW, &t1, &r1);
	if (t1 <= first_tsc || r1 <= first_raw)
		return;
	pair(CLOCK_REALTIME, &tsc, &rt);
	publish(tsc, rt,
		(uint64_t)(((unsigned __int128)(r1 - first_raw)
			    << SR__CLOCK_SHIFT) / (t1 - first_tsc)));
	SR__SET(sr__g.clock.use_tsc, 1);
#endif
}

void sr__clock_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, clock_init_once);
}

void sr__clock_recalibrate(void)
{
#ifdef SR__HAVE_TSC
	uint64_t t, r, tsc, rt;

	if (!SR__SETTING(sr__g.clock.use_tsc))
		return;
	pair(CLOCK_MONOTONIC_RAW, &t, &r);
	pair(CLOCK_REALTIME, &tsc, &rt);
	if (t <= first_tsc || r <= first_raw)
		return;
	publish(tsc, rt,
		(uint64_t)(((unsigned __int128)(r - first_raw)
			    << SR__CLOCK_SHIFT) / (t - first_tsc)));
#endif
}

SR_API uint64_t sr_now_ns(void)
{
	return sr__now_inline();
}

uint64_t sr__mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
