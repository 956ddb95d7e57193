/*
 * test_prop_stats.c - the propagation counters stay exact under thread
 * churn: more threads than per-thread stripes, some alive at once (so the
 * shared stripe is used too), many short-lived (so stripes are handed
 * from exiting threads to new ones without losing counts).
 */
// SR_TEST_LABELS: concurrency
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "testutil.h"
#include "prop_carrier.h"

#define ROUNDS 40
#define WAVE 160          /* > 128 stripes: some threads share */
#define PER_THREAD 50

static sr_propagator_t *tc;
static pthread_barrier_t barrier;

static void *work(void *arg)
{
	static const char tp[] =
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	pc_t *c = arg;
	sr_context_t ctx;

	pc_reset(c);
	pc_add(c, "traceparent", tp);
	/* All of a wave alive together: the pool runs out. */
	pthread_barrier_wait(&barrier);
	for (int i = 0; i < PER_THREAD; i++)
		if (sr_propagator_extract(tc, c, &pc_getter, &ctx) != 0)
			return (void *)1;
	return NULL;
}

static void test_exact_under_churn(void **state)
{
	static pc_t carriers[WAVE];
	sr_propagation_stats_t a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	pthread_t th[WAVE];

	(void)state;
	sr_propagation_stats_get(&a);
	for (int r = 0; r < ROUNDS / 10; r++) {
		assert_int_equal(pthread_barrier_init(&barrier, NULL, WAVE), 0);
		for (int i = 0; i < WAVE; i++)
			assert_int_equal(pthread_create(&th[i], NULL, work,
							&carriers[i]), 0);
		for (int i = 0; i < WAVE; i++) {
			void *rv;
			pthread_join(th[i], &rv);
			assert_null(rv);
		}
		pthread_barrier_destroy(&barrier);
	}
	sr_propagation_stats_get(&b);
	assert_int_equal(b.extract_calls - a.extract_calls,
			 (uint64_t)(ROUNDS / 10) * WAVE * PER_THREAD);
	assert_int_equal(b.ok[SR_PF_TRACEPARENT] - a.ok[SR_PF_TRACEPARENT],
			 (uint64_t)(ROUNDS / 10) * WAVE * PER_THREAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_under_churn),
	};

	if (sr_propagator_create("tracecontext", &tc))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
