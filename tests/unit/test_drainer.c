/*
 * test_drainer.c - the drainer's pause policy (sr__drainer_pause) keeps
 * its promise: sleep until a ring would reach the doorbell's mark at the
 * rate it showed (less the timer's slack), never past it, and never let a
 * steady producer overflow its ring, whether the timer fires on time or
 * late (then the producer's doorbell wakes the drainer); and on time, the
 * timer, not the producer, wakes it, with nearly a mark's worth of
 * records each time, so wake-ups per span fall as the rate rises until
 * the pause is too short to sleep.
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
	struct sr__drain_look l = { since, spent, found, found, cap,
				    sr__doorbell_mark(cap), 3072 };

	return sr__drainer_pause(last, &l, max);
}

static void test_drainer_pause_within_mark_fill_time(void **state)
{
	uint64_t rng = sr_test_seed(11);

	(void)state;
	for (int i = 0; i < 1000000; i++) {
		struct sr__drain_look l;
		uint32_t rings = 1 + (uint32_t)(sr_test_rand(&rng) % 4);
		uint64_t last = sr_test_rand(&rng) % (4 * MS);
		uint64_t max = 1000 + sr_test_rand(&rng) % (20 * MS);
		uint64_t p, by;

		l.cap = 1u << (4 + sr_test_rand(&rng) % 17);
		l.mark = sr__doorbell_mark(l.cap);
		l.fullest = 1 + (uint32_t)(sr_test_rand(&rng) % l.cap);
		l.total = l.fullest * (1 + sr_test_rand(&rng) % rings);
		l.pool = 1 + (uint32_t)(sr_test_rand(&rng) % 100000);
		l.since = sr_test_rand(&rng) % (20 * MS);
		l.spent = sr_test_rand(&rng) % MS;
		p = sr__drainer_pause(last, &l, max);
		by = l.spent + p + SR__DRAINER_SLACK_NS;
		assert_true(p <= max);
		assert_true(p == 0 || by * l.fullest <= l.since * (uint64_t)l.mark);
		assert_true(p == 0 || by * l.total <= l.since * (uint64_t)(l.pool / 2));
		if (l.fullest > l.mark + (l.cap - l.mark) / 2)
			assert_int_equal(p, 0);
	}
}

static void test_drainer_pause_aims_at_the_mark(void **state)
{
	(void)state;
	/* 1024 records in 100 us into a ring of 16384: the mark (8192) in
	 * 800 us; less the pass's 30 us of copying and the 50 us of timer
	 * slack.  Half the pool of 3072 binds first: 150 - 80 us. */
	assert_int_equal(pause1(MS, 100000, 30000, 1024, 16384, MS), 70000);
	{
		struct sr__drain_look l = { 100000, 30000, 1024, 1024, 16384,
					    8192, 30720 };

		assert_int_equal(sr__drainer_pause(MS, &l, MS), 720000);
	}
	/* A pass that saw little buys the longest pause at once: a burst
	 * after it rings the doorbell. */
	assert_int_equal(pause1(0, 100000, 0, 1, 16384, 20 * MS), 20 * MS);
	/* Found past the middle of the margin above the mark: came late,
	 * look again at once; at the middle, pause by the rate. */
	assert_int_equal(pause1(MS, 10 * MS, 0, 769, 1024, 20 * MS), 0);
	assert_int_equal(pause1(MS, 10 * MS, 0, 768, 1024, 20 * MS),
			 10 * MS * 512 / 768 - SR__DRAINER_SLACK_NS);
	/* Found exactly at the mark (the doorbell woke it): not late. */
	assert_int_equal(pause1(MS, 2 * MS, 0, 512, 1024, 20 * MS),
			 2 * MS - SR__DRAINER_SLACK_NS);
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
	/* 20 M records/s into 1024 records: the mark in 25.6 us, too short
	 * to sleep. */
	assert_int_equal(pause1(MS, 10000, 0, 200, 1024, MS), 0);
	/* A configured maximum under the floor is still slept. */
	assert_int_equal(pause1(0, 1000000, 0, 10, 1024, 10000),
			 10000);
}

/*
 * The drainer and one steady producer, in model time.  The drainer
 * copies 40 ns per record (1 us per pass besides); it starts idle at its
 * longest pause.  Its timer fires SR__DRAINER_SLACK_NS late (`busy_cpu`
 * false) or late by the whole planned pause plus 60 us (a busy CPU); a
 * producer that brings its ring past the mark while the drainer sleeps
 * rings the doorbell, and the drainer runs kBellNs later.
 */
#define kBellNs 20000.0

struct model_out {
	double peak;        /* most records in the ring, after the first pass */
	uint64_t wakes;     /* pauses ended, after the first ones             */
	uint64_t bells;     /* of those, by the doorbell                      */
	double woke_to;     /* records found after those pauses, in all       */
};

static void run_model(double rate, uint32_t cap, uint64_t max, bool busy_cpu,
		      struct model_out *o)
{
	const uint32_t mark = sr__doorbell_mark(cap);
	double per_ns = rate / 1e9, t = 0, prev = 0, fill = 0;
	uint64_t pause = max;

	memset(o, 0, sizeof(*o));
	for (int pass = 0; pass < 20000; pass++) {
		double wait = 0, busy;
		bool bell = false;
		uint32_t found;
		struct sr__drain_look l;

		if (pause) {
			double timer = (double)pause +
				       (busy_cpu ? (double)pause + 60000
						 : SR__DRAINER_SLACK_NS);
			/* The reservation that takes the ring past the
			 * mark rings (ring.c). */
			double to_bell = fill > mark ? 0 : (mark + 1 - fill) / per_ns;

			if (to_bell < timer) {
				wait = to_bell + kBellNs;
				bell = true;
			} else {
				wait = timer;
			}
		}
		t += wait;
		fill += wait * per_ns;
		if (pass > 0 && fill > o->peak)
			o->peak = fill;
		if (fill > cap)
			fill = cap; /* the producer drops */
		found = (uint32_t)fill;
		if (pause && pass >= 100) {
			o->wakes++;
			o->bells += bell;
			o->woke_to += found;
		}
		busy = 1000 + 40.0 * found;
		l = (struct sr__drain_look){ (uint64_t)(t - prev), (uint64_t)busy,
					     found, found, cap, mark, 3072 };
		pause = sr__drainer_pause(pause, &l, max);
		prev = t;
		t += busy;
		fill += busy * per_ns - found;
	}
}

static const double rates[] = { 5e4, 2e5, 4e5, 1e6, 2e6, 5e6, 1e7, 2e7 };
#define NRATES (sizeof(rates) / sizeof(rates[0]))

/* On time or late, once the drainer has seen the rate the ring never
 * fills (the first pass may find it overflowed: what one idle pause
 * may cost, see drainer.c). */
static void test_drainer_pause_steady_producer_never_overflows(void **state)
{
	(void)state;
	for (int busy = 0; busy <= 1; busy++)
		for (uint32_t cap = 1024; cap <= 16384; cap *= 4)
			for (size_t r = 0; r < NRATES; r++) {
				struct model_out o;

				run_model(rates[r], cap, 20 * MS, busy, &o);
				if (o.peak >= cap)
					fprintf(stderr, "cap %u rate %.0f busy %d: peak %.0f\n",
						cap, rates[r], busy, o.peak);
				assert_true(o.peak < cap);
			}
}

/*
 * On time, the timer wakes the drainer before the producer would ring
 * (no futex wake on the application's thread), and each wake-up finds
 * at least 3/4 of what the mark and half the pool allow: the wake-ups
 * per second are the rate over that, so their cost per span falls as
 * the rate rises, until the longest pause binds (slow rates) or the
 * pause would be too short to sleep (then the drainer polls, and neither
 * claim is checked: a plan a few slack-widths long rounds either way).
 * A pause aimed at a quarter ring would find half the mark: it fails
 * here.
 */
static void test_drainer_pause_wakes_by_timer_near_the_mark(void **state)
{
	const uint64_t max = 20 * MS;

	(void)state;
	for (uint32_t cap = 1024; cap <= 16384; cap *= 4)
		for (size_t r = 0; r < NRATES; r++) {
			struct model_out o;
			double want = sr__doorbell_mark(cap) < 3072 / 2
					      ? sr__doorbell_mark(cap)
					      : 3072 / 2;
			double fill_ns = want / rates[r] * 1e9;

			run_model(rates[r], cap, max, false, &o);
			if (fill_ns > (double)max || fill_ns < 4.0 * SR__DRAINER_MIN_SLEEP_NS)
				continue;
			if (o.bells)
				fprintf(stderr, "cap %u rate %.0f: %llu of %llu wake-ups by the doorbell\n",
					cap, rates[r], (unsigned long long)o.bells,
					(unsigned long long)o.wakes);
			assert_int_equal(o.bells, 0);
			assert_true(o.wakes > 0);
			if (o.woke_to / (double)o.wakes < 0.75 * want)
				fprintf(stderr, "cap %u rate %.0f: %.0f records per wake-up, want %.0f\n",
					cap, rates[r], o.woke_to / (double)o.wakes, want);
			assert_true(o.woke_to / (double)o.wakes >= 0.75 * want);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drainer_pause_within_mark_fill_time),
		cmocka_unit_test(test_drainer_pause_aims_at_the_mark),
		cmocka_unit_test(test_drainer_pause_idle_backs_off_to_max),
		cmocka_unit_test(test_drainer_pause_short_is_polled),
		cmocka_unit_test(test_drainer_pause_steady_producer_never_overflows),
		cmocka_unit_test(test_drainer_pause_wakes_by_timer_near_the_mark),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
