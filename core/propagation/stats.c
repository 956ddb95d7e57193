/*
 * stats.c - propagation counters.
 *
 * Extract and inject run on every request of every application thread, so
 * their counters must neither bounce a cache line between cores nor pay
 * for a locked instruction (an uncontended `lock add` alone is a fifth of
 * the 100 ns a traceparent round trip may cost).  Each thread therefore
 * owns a stripe (a cache-line-aligned block of counters) that only it
 * writes, with plain load + store; a snapshot sums all stripes with
 * relaxed loads.  A stripe is taken at the thread's first count and given
 * back when the thread exits (pthread key destructor); its counts stay in
 * it and the next owner adds to them, so nothing is lost and nothing needs
 * folding.  When all NSTRIPES are owned, further threads share one extra
 * stripe with atomic adds.  Works before sr_init().
 *
 * Left out: no reset (tests compare snapshots); a snapshot is not atomic
 * across counters; after fork() the child's other-thread stripes stay
 * owned (their threads are gone), which only shrinks the pool.
 */
#include "prop_int.h"
#include "sized_int.h"

#include <pthread.h>

#define NSTRIPES 128u

static struct sr__pc_stripe g_stripes[NSTRIPES];
static struct sr__pc_stripe g_shared;   /* relaxed RMW by any thread */
/* 1 while owned.  Taken by CAS (acquire: sees the previous owner's last
 * counts), given back by store-release at thread exit. */
static uint32_t g_owned[NSTRIPES];

SR__TLS struct sr__pc_stripe *sr__pc_mine;
static SR__TLS bool t_shared;           /* the pool was full */

static pthread_key_t g_key;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
static bool g_key_ok;

static void release(void *p)
{
	struct sr__pc_stripe *s = p;

	if (s)
		__atomic_store_n(&g_owned[s - g_stripes], 0, __ATOMIC_RELEASE);
	sr__pc_mine = NULL;
}

static void key_init(void)
{
	g_key_ok = pthread_key_create(&g_key, release) == 0;
}

/* Take a free stripe for this thread; false if none. */
static bool assign(void)
{
	static uint32_t hint;  /* relaxed: only spreads the search start */
	uint32_t start;

	pthread_once(&g_key_once, key_init);
	start = __atomic_fetch_add(&hint, 1, __ATOMIC_RELAXED);
	for (uint32_t i = 0; g_key_ok && i < NSTRIPES; i++) {
		uint32_t k = (start + i) % NSTRIPES, zero = 0;

		if (!__atomic_compare_exchange_n(&g_owned[k], &zero, 1, false,
						 __ATOMIC_ACQUIRE,
						 __ATOMIC_RELAXED))
			continue;
		if (pthread_setspecific(g_key, &g_stripes[k]) != 0) {
			__atomic_store_n(&g_owned[k], 0, __ATOMIC_RELEASE);
			return false;
		}
		sr__pc_mine = &g_stripes[k];
		return true;
	}
	return false;
}

__attribute__((noinline)) void sr__pc_add_slow(enum sr__pc c, uint64_t n)
{
	if (!t_shared && assign()) {
		sr__pc_add(c, n);
		return;
	}
	t_shared = true;
	__atomic_fetch_add(&g_shared.c[c], n, __ATOMIC_RELAXED);
}

static uint64_t sum(enum sr__pc c)
{
	uint64_t t = __atomic_load_n(&g_shared.c[c], __ATOMIC_RELAXED);

	for (uint32_t i = 0; i < NSTRIPES; i++)
		t += __atomic_load_n(&g_stripes[i].c[c], __ATOMIC_RELAXED);
	return t;
}

SR_API int sr_propagation_stats_get(sr_propagation_stats_t *out)
{
	sr_propagation_stats_t st;

	if (!sr__sized_valid(out, SR__SIZED_MIN(sr_propagation_stats_t,
						 extract_calls)))
		return SR_EINVAL;
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.extract_calls = sum(SR__PC_EXTRACT);
	st.inject_calls = sum(SR__PC_INJECT);
	for (int f = 0; f < SR_PF_COUNT; f++) {
		st.ok[f] = sum(SR__PC_OK0 + f);
		st.malformed[f] = sum(SR__PC_MALFORMED0 + f);
		st.oversized[f] = sum(SR__PC_OVERSIZED0 + f);
	}
	st.tracestate_truncated = sum(SR__PC_TS_TRUNCATED);
	st.baggage_dropped = sum(SR__PC_BAG_DROPPED);
	st.inject_baggage_dropped = sum(SR__PC_INJECT_BAG_DROPPED);
	st.arena_bytes = sr__arena_bytes();
	st.arena_allocs = sum(SR__PC_ARENA_ALLOCS);
	st.arena_recycled = sum(SR__PC_ARENA_RECYCLED);
	st.arena_stale = sum(SR__PC_ARENA_STALE);
	st.arena_failed = sum(SR__PC_ARENA_FAILED);
	sr__sized_out(out, &st, sizeof(st));
	return 0;
}
