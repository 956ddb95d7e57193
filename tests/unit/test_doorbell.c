/*
 * test_doorbell.c - a drainer asleep in its longest pause is woken by a
 * producer whose ring passes half full, not by its timer, and sr_stats
 * says so (drainer_wakeups, doorbell_rings); every span still lands in
 * exactly one counter.
 */
// SR_TEST_LABELS: concurrency
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "testutil.h"

#define RING 64u
/* A bare span is one 64-byte ring record: four fit in each configured
 * (256-byte) record. */
#define BARE_PER_RECORD 4u
#define MAX_SLEEP_US 200000u

static void small_rings_long_sleep(sr_config_t *c)
{
	c->ring_records = RING;
	c->drainer_max_sleep_us = MAX_SLEEP_US;
	c->max_export_batch_size = 8; /* full batches leave in the pass */
}

static void end_spans(int n)
{
	for (int i = 0; i < n; i++) {
		sr_span_t s;

		sr_span_start(&s, NULL, "op", SR_KIND_INTERNAL);
		sr_span_end(&s);
	}
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void test_doorbell_wakes_the_sleeping_drainer(void **state)
{
	sr_stats_t a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	struct timespec idle = { 0, 700000000 }; /* the back-off reaches the max */
	uint64_t t0;

	(void)state;
	assert_int_equal(sr_test_init_memory(small_rings_long_sleep), 0);
	end_spans(1); /* the thread's ring */
	assert_int_equal(sr_flush(5000, NULL), 0);
	nanosleep(&idle, NULL);
	assert_int_equal(sr_stats_get(&a), 0);
	assert_true(a.drainer_wakeups > 0); /* its timer, while idle */

	/* More than half a ring at once: the reservation that passes the
	 * mark rings the bell; the drainer, asleep for up to 200 ms, drains
	 * the ring before it overflows. */
	end_spans((int)((RING / 2 + RING / 4) * BARE_PER_RECORD));
	t0 = mono_ms();
	do {
		assert_int_equal(sr_stats_get(&b), 0);
	} while (b.exported < a.exported + (RING / 2 + RING / 4) * BARE_PER_RECORD &&
		 mono_ms() - t0 < 10000);
	print_message("wake-ups %llu -> %llu, doorbell rings %llu -> %llu, "
		      "exported after %llu ms\n",
		      (unsigned long long)a.drainer_wakeups,
		      (unsigned long long)b.drainer_wakeups,
		      (unsigned long long)a.doorbell_rings,
		      (unsigned long long)b.doorbell_rings,
		      (unsigned long long)(mono_ms() - t0));
	assert_int_equal(b.exported, a.exported + (RING / 2 + RING / 4) * BARE_PER_RECORD);
	assert_true(b.doorbell_rings > a.doorbell_rings);
	assert_true(b.drainer_wakeups > a.drainer_wakeups);
	assert_true(b.doorbell_rings <= b.drainer_wakeups);
	assert_int_equal(b.dropped_ring_full, 0);
	assert_int_equal(sr_test_check_invariant(&b), 0);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doorbell_wakes_the_sleeping_drainer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
