/*
 * test_drainer.c - the drainer's pause policy (sr__drainer_pause) keeps
 * its promise: never sleep longer than a ring takes to fill a quarter at
 * the rate it showed, and never let a steady producer overflow its ring.
 * Times are model times (ns); nothing here sleeps or reads a clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "drainer_int.h"
#include "testutil.h"

#define MS 1000000ull

/* One pass's look at one ring of `cap` records and a pool of 3072. */
static uint64_t pause1(uint64_t last, uint64_t since, uint64_t spent,
		       uint32_t found, uint32_t cap, uint64_t max)
{
	struct sr__drain_look l = { since, spent, found, found, cap, 3072 };

	return sr__drainer_pause(last, &l, max);
}

static void test_drainer_pause_within_quarter_fill_time(void **state)
{
	uint64_t rng = sr_test_seed(11);

	(void)state;
	for (int i = 0; i < 1000000; i++) {
		struct sr__drain_look l;
		uint32_t rings = 1 + (uint32_t)(sr_test_rand(&rng) % 4);
		uint64_t last = sr_test_rand(&rng) % (4 * MS);
		uint64_t max = 1000 + sr_test_rand(&rng) % (2 * MS);
		uint64_t p;

		l.cap = 1u << (4 + sr_test_rand(&rng) % 17);
		l.fullest = 1 + (uint32_t)(sr_test_rand(&rng) % l.cap);
		l.total = l.fullest * (1 + sr_test_rand(&rng) % rings);
		l.pool = 1 + (uint32_t)(sr_test_rand(&rng) % 100000);
		l.since = sr_test_rand(&rng) % (20 * MS);
		l.spent = sr_test_rand(&rng) % MS;
		p = sr__drainer_pause(last, &l, max);
		assert_true(p <= max);
		assert_true(p == 0 || (l.spent + p) * l.fullest <=
					      l.since * (uint64_t)(l.cap / 4));
		assert_true(p == 0 || (l.spent + p) * l.total <=
					      l.since * (uint64_t)(l.pool / 2));
		if ((uint64_t)l.fullest * 2 >= l.cap)
			assert_int_equal(p, 0);
	}
}

static void test_drainer_pause_grows_at_most_twofold(void **state)
{
	uint64_t p = 0;

	(void)state;
	/* A ring that was half full, then a pass that saw almost nothing
	 * over a long interval (its producer had been descheduled). */
	assert_int_equal(pause1(p, 100000, 0, 8192, 16384, MS), 0);
	p = pause1(p, 100000, 0, 1, 16384, MS);
	assert_int_equal(p, SR__DRAINER_MIN_SLEEP_NS);
	p = pause1(p, 10 * MS, 0, 1, 16384, MS);
	assert_int_equal(p, 2 * SR__DRAINER_MIN_SLEEP_NS);
	/* Shrinks at once: 1024 records in 100 us fill a quarter of 16384
	 * in 400 us, half the pool of 3072 in 150 us, of which the pass's
	 * copying took 30. */
	p = pause1(MS, 100000, 30000, 1024, 16384, MS);
	assert_int_equal(p, 120000);
	/* With a pool ten times larger, the ring decides. */
	{
		struct sr__drain_look l = { 100000, 30000, 1024, 1024, 16384,
					    30720 };

		assert_int_equal(sr__drainer_pause(MS, &l, MS), 370000);
	}
}

static void test_drainer_pause_idle_backs_off_to_max(void **state)
{
	uint64_t p = 0;
	int passes = 0;

	(void)state;
	while (p < MS) {
		uint64_t next = pause1(p, p, 0, 0, 1024, MS);

		assert_true(next > p);
		p = next;
		passes++;
	}
	assert_int_equal(p, MS);
	assert_true(passes < 20);
	assert_int_equal(pause1(p, p, 0, 0, 1024, MS), MS);
}

static void test_drainer_pause_short_is_polled(void **state)
{
	(void)state;
	/* 20 M records/s into 1024 records: a quarter in 12.8 us, too short
	 * to sleep. */
	assert_int_equal(pause1(MS, 10000, 0, 200, 1024, MS), 0);
	/* A configured maximum under the floor is still slept. */
	assert_int_equal(pause1(0, 1000000, 0, 10, 1024, 10000),
			 10000);
}

/*
 * A producer starts at a steady rate (from 50 k to 20 M records/s) into a
 * ring of 1024 to 16384 records while the drainer idles at its longest
 * pause; the drainer copies 40 ns per record and every wake-up comes late
 * by the whole planned pause plus 60 us.  The first pass may find the
 * ring overflowed (what one idle pause may cost, see drainer.c); from
 * the second on, once the drainer has seen the rate, the ring never
 * fills.
 */
static void test_drainer_pause_steady_producer_never_overflows(void **state)
{
	static const double rates[] = { 5e4, 2e5, 1e6, 2e6, 5e6, 1e7, 2e7 };

	(void)state;
	for (uint32_t cap = 1024; cap <= 16384; cap *= 4)
		for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
			double per_ns = rates[r] / 1e9, t = 0, prev = 0;
			double fill = 0, peak = 0;
			uint64_t pause = MS;

			for (int pass = 0; pass < 20000; pass++) {
				double late = pause ? 2.0 * (double)pause + 60000
						    : 0;
				double busy;
				uint32_t found;

				t += late; /* the pause, and the late wake-up */
				fill += late * per_ns;
				if (pass > 0 && fill > peak)
					peak = fill;
				if (fill > cap)
					fill = cap; /* the producer drops */
				found = (uint32_t)fill;
				busy = 1000 + 40.0 * found;
				pause = pause1(pause, (uint64_t)(t - prev),
					       (uint64_t)busy, found, cap, MS);
				prev = t;
				t += busy;
				fill += busy * per_ns - found;
			}
			if (peak >= cap)
				fprintf(stderr, "cap %u rate %.0f: peak %.0f\n",
					cap, rates[r], peak);
			assert_true(peak < cap);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drainer_pause_within_quarter_fill_time),
		cmocka_unit_test(test_drainer_pause_grows_at_most_twofold),
		cmocka_unit_test(test_drainer_pause_idle_backs_off_to_max),
		cmocka_unit_test(test_drainer_pause_short_is_polled),
		cmocka_unit_test(test_drainer_pause_steady_producer_never_overflows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
