/*
 * stress_churn.c - thousands of short-lived threads lose nothing.
 *
 * Waves of threads each record a few spans and exit.  Their rings must be
 * drained after they exit, reclaimed after a grace period and reused by
 * later threads; at the end every sampled span is exported and the stats
 * say so exactly.  Threads start and exit much faster than a drainer
 * pass, so new threads adopt rings of exited ones that still hold
 * records.  max_threads (32) is larger than the threads alive at once (8),
 * which is the sizing rule the docs give; a thread left without a ring
 * would show up in dropped_limits and fail the check.
 */
// SR_TEST_LABELS: concurrency
#include <pthread.h>

#include "testutil.h"

#define WAVES 250
#define PER_WAVE 8
#define SPANS_PER_THREAD 25

static uint64_t seed;

static void *worker(void *arg)
{
	uint64_t rng = seed ^ (uintptr_t)arg;
	int n = 1 + (int)(sr_test_rand(&rng) % SPANS_PER_THREAD);

	for (int i = 0; i < n; i++) {
		sr_span_t s;

		sr_span_start(&s, NULL, "churn", SR_KIND_INTERNAL);
		sr_span_set_int(&s, "i", i);
		if (sr_test_rand(&rng) % 4 == 0) {
			/* a bigger span now and then: several records */
			for (int k = 0; k < 20; k++)
				sr_span_set_int(&s, "k", k);
		}
		sr_span_end(&s);
	}
	return (void *)(intptr_t)n;
}

static void tweak(sr_config_t *c)
{
	c->exporters = "none";
	c->max_threads = 4 * PER_WAVE;
	c->ring_records = 256;
}

int main(void)
{
	uint64_t expected = 0;
	sr_stats_t st = { .size = sizeof(st) };

	seed = sr_test_seed(42);
	SR_CHECK(sr_test_init_memory(tweak) == 0);
	for (int w = 0; w < WAVES; w++) {
		pthread_t t[PER_WAVE];

		for (int i = 0; i < PER_WAVE; i++)
			SR_CHECK(pthread_create(&t[i], NULL, worker,
						(void *)(uintptr_t)(w * PER_WAVE + i)) == 0);
		for (int i = 0; i < PER_WAVE; i++) {
			void *n;

			pthread_join(t[i], &n);
			expected += (uint64_t)(intptr_t)n;
		}
	}
	SR_CHECK(sr_shutdown(30000, NULL) == 0);
	SR_CHECK(sr_stats_get(&st) == 0);
	printf("%d threads, %llu spans: exported %llu, dropped ring_full %llu "
	       "limits %llu queue_full %llu\n",
	       WAVES * PER_WAVE, (unsigned long long)expected,
	       (unsigned long long)st.exported,
	       (unsigned long long)st.dropped_ring_full,
	       (unsigned long long)st.dropped_limits,
	       (unsigned long long)st.dropped_queue_full);
	{
		char js[1024];

		sr_stats_to_json(&st, js, sizeof(js));
		printf("stats: %s\n", js);
	}
	SR_CHECK(sr_test_check_invariant(&st) == 0);
	SR_CHECK(st.sampled == expected);
	SR_CHECK(st.exported == expected);
	printf("1 passed, 0 failed\n");
	return 0;
}
