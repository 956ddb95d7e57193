/*
 * test_prop_arena.c - the context arena: sized by
 * SPANRING_CONTEXT_ARENA_BYTES, entries immutable while live, stale
 * references after wrap-around read as absent and are counted, and under
 * concurrent writers and readers on a small arena that wraps constantly a
 * reader sees either exactly the bytes that were stored or "absent",
 * never anything else.
 */
// SR_TEST_LABELS: concurrency
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <ck_pr.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "prop_int.h"

#define ARENA (64 * 1024)

/* A trace state whose text says who wrote it: "w=<t>,n=<seq>,p=<pad>". */
static int make_ts(char *buf, size_t cap, unsigned t, unsigned long n)
{
	int len = snprintf(buf, cap, "w=%u,n=%lu,p=", t, n);
	size_t pad = 20 + (n * 37 + t * 11) % 230;  /* 20..249 chars */

	for (size_t i = 0; i < pad && (size_t)len + 1 < cap; i++)
		buf[len++] = (char)('a' + (n + i) % 26);
	buf[len] = '\0';
	return len;
}

static void test_size_from_env(void **state)
{
	sr_propagation_stats_t st = { .size = sizeof(st) };
	sr_context_t c;

	(void)state;
	memset(&c, 0, sizeof(c));
	sr_propagation_stats_get(&st);
	assert_int_equal(st.arena_bytes, 0);  /* not mapped before first use */
	assert_int_equal(sr_context_tracestate_set(&c, "a", "1", &c), 0);
	sr_propagation_stats_get(&st);
	assert_int_equal(st.arena_bytes, ARENA);
}

/* Old references go stale once the arena has wrapped over them; the
 * newest ones stay readable. */
static void test_wrap_and_stale(void **state)
{
	enum { N = 1000 };
	static sr_context_t ctx[N];
	sr_propagation_stats_t a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	char want[600], got[600];
	unsigned long live = 0, stale = 0;

	(void)state;
	sr_propagation_stats_get(&a);
	for (unsigned long i = 0; i < N; i++) {
		make_ts(want, sizeof(want), 0, i);
		memset(&ctx[i], 0, sizeof(ctx[i]));
		assert_int_equal(sr_context_tracestate_parse(&ctx[i], want,
							     SR_CARRIER_LEN_CSTR,
							     &ctx[i]), 0);
	}
	sr_propagation_stats_get(&b);
	assert_true(b.arena_recycled > a.arena_recycled);
	for (unsigned long i = 0; i < N; i++) {
		int rc = sr_context_tracestate(&ctx[i], got, sizeof(got), NULL);

		make_ts(want, sizeof(want), 0, i);
		if (rc == 0) {
			assert_string_equal(got, want);
			live++;
		} else {
			assert_int_equal(rc, SR_ENOTFOUND);
			assert_int_equal(got[0], '\0');
			stale++;
			/* Once an entry is live, every later one is too. */
			assert_int_equal(live, 0);
		}
	}
	/* ~240 bytes per entry, 64 KiB arena of 4 segments: the last
	 * (nseg - 1) segments' worth (> 150 entries) must be live. */
	assert_true(live > 150);
	assert_true(stale > N / 2);
	sr_propagation_stats_get(&a);
	assert_int_equal(a.arena_stale - b.arena_stale, stale);
}

/* Baggage and trace state of a context are independent entries. */
static void test_kinds_independent(void **state)
{
	sr_context_t c, d;
	char buf[32];

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(sr_baggage_set(&c, "k", "v", 1, NULL, &c), 0);
	assert_int_equal(sr_context_tracestate_set(&c, "t", "1", &c), 0);
	/* A trace-state reference in the baggage slot is not baggage. */
	d = c;
	d.state_[1] = c.state_[0];
	assert_int_equal(sr_baggage_count(&d), 0);
	assert_int_equal(sr_baggage_get(&c, "k", buf, sizeof(buf), NULL), 0);
	assert_int_equal(sr_context_tracestate_get(&c, "t", buf, sizeof(buf), NULL), 0);
}

/* Every length of a word and a half and more, each tail size, read back
 * byte for byte; a buffer of exactly the entry's length is written no
 * further, a shorter one not at all. */
static void test_lengths(void **state)
{
	unsigned char in[80], out[96];

	(void)state;
	for (size_t len = 1; len <= sizeof(in); len++) {
		uint64_t ref;

		for (size_t i = 0; i < len; i++)
			in[i] = (unsigned char)(0x21 + (len * 7 + i * 13) % 90);
		ref = sr__arena_put(SR__ARENA_TRACESTATE, in, len);
		assert_true(ref != 0);
		memset(out, 0xee, sizeof(out));
		assert_int_equal(sr__arena_get(ref, SR__ARENA_TRACESTATE, out, len),
				 (int)len);
		assert_memory_equal(out, in, len);
		assert_int_equal(out[len], 0xee);
		memset(out, 0xee, sizeof(out));
		assert_int_equal(sr__arena_get(ref, SR__ARENA_TRACESTATE, out,
					       sizeof(out)),
				 (int)len);
		assert_memory_equal(out, in, len);
		assert_int_equal(sr__arena_get(ref, SR__ARENA_TRACESTATE, out,
					       len - 1),
				 -1);
	}
}

/* ---- concurrent writers and readers ---------------------------------- */

#define WRITERS 2
#define READERS 2
#define SLOTS 64
#define ROUNDS 20000

/* A published reference and what it must read as.  Writers store seq
 * last with release; readers load it with acquire first and re-check it
 * after reading the rest (the slot itself is a tiny seqlock). */
struct slot {
	unsigned long seq;           /* 0: empty; odd: being written */
	uint64_t ref;
	unsigned t;
	unsigned long n;
};

static struct slot slots[SLOTS];
static unsigned long total_ok, total_stale, total_bad;
static int stop;

static void *writer(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;
	uint64_t rng = sr_test_seed(6) + t;
	char ts[600];

	for (unsigned long n = 1; n <= ROUNDS; n++) {
		sr_context_t c;
		struct slot *s = &slots[sr_test_rand(&rng) % SLOTS];
		unsigned long q;

		memset(&c, 0, sizeof(c));
		make_ts(ts, sizeof(ts), t, n);
		if (sr_context_tracestate_parse(&c, ts, SR_CARRIER_LEN_CSTR, &c))
			__atomic_fetch_add(&total_bad, 1, __ATOMIC_RELAXED);
		/* Claim the slot (even -> odd), fill, publish (odd -> even). */
		q = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
		if ((q & 1) || !__atomic_compare_exchange_n(&s->seq, &q, q + 1, false,
							    __ATOMIC_ACQUIRE,
							    __ATOMIC_RELAXED))
			continue;
		__atomic_store_n(&s->ref, c.state_[0], __ATOMIC_RELAXED);
		__atomic_store_n(&s->t, t, __ATOMIC_RELAXED);
		__atomic_store_n(&s->n, n, __ATOMIC_RELAXED);
		__atomic_store_n(&s->seq, q + 2, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void *reader(void *arg)
{
	uint64_t rng = sr_test_seed(7) + (uintptr_t)arg;
	char want[600], got[600];
	unsigned long ok = 0, stale = 0, bad = 0;

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		struct slot *s = &slots[sr_test_rand(&rng) % SLOTS];
		unsigned long q1, q2, n;
		sr_context_t c;
		unsigned t;
		int rc;

		q1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		if (q1 == 0 || (q1 & 1))
			continue;
		memset(&c, 0, sizeof(c));
		c.state_[0] = __atomic_load_n(&s->ref, __ATOMIC_RELAXED);
		t = __atomic_load_n(&s->t, __ATOMIC_RELAXED);
		n = __atomic_load_n(&s->n, __ATOMIC_RELAXED);
		ck_pr_fence_acquire();
		q2 = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
		if (q1 != q2)
			continue;
		rc = sr_context_tracestate(&c, got, sizeof(got), NULL);
		if (rc == SR_ENOTFOUND) {
			stale++;
			continue;
		}
		make_ts(want, sizeof(want), t, n);
		if (rc == 0 && strcmp(got, want) == 0)
			ok++;
		else
			bad++;
	}
	__atomic_fetch_add(&total_ok, ok, __ATOMIC_RELAXED);
	__atomic_fetch_add(&total_stale, stale, __ATOMIC_RELAXED);
	__atomic_fetch_add(&total_bad, bad, __ATOMIC_RELAXED);
	return NULL;
}

static void test_concurrent(void **state)
{
	pthread_t w[WRITERS], r[READERS];

	(void)state;
	for (uintptr_t i = 0; i < READERS; i++)
		assert_int_equal(pthread_create(&r[i], NULL, reader, (void *)i), 0);
	for (uintptr_t i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_create(&w[i], NULL, writer,
						(void *)(i + 1)), 0);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < READERS; i++)
		pthread_join(r[i], NULL);
	print_message("reads: %lu exact, %lu stale, %lu wrong\n", total_ok,
		      total_stale, total_bad);
	assert_int_equal(total_bad, 0);
	assert_true(total_ok > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_from_env),
		cmocka_unit_test(test_wrap_and_stale),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_kinds_independent),
		cmocka_unit_test(test_concurrent),
	};

	/* Before anything maps the arena. */
	setenv("SPANRING_CONTEXT_ARENA_BYTES", "64K", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
