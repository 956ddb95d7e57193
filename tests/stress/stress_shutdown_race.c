/*
 * stress_shutdown_race.c - spans end on every path while the pipeline
 * starts and stops under them.
 *
 * The fast end writes a thread's ring outside urcu's read side, inside
 * a per-thread busy mark that shutdown waits out after membarrier() (see
 * sr__busy_enter).  If that protocol had a hole, a producer would copy a
 * record into rings shutdown had already freed: AddressSanitizer reports
 * it, ThreadSanitizer reports the unordered free.  Producers mix the
 * fast path (short spans), the slow path (spans with overflow chunks,
 * dropped attributes), children of a current span and unsampled spans;
 * the main thread cycles init and shutdown at random short intervals.
 * Each pipeline's final stats must balance: every span it sampled is
 * exported or counted as dropped.
 */
// SR_TEST_LABELS: concurrency
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "testutil.h"

#define PRODUCERS 3
#define CYCLES 40

static uint64_t seed;
static atomic_int stop;

static void pause_us(uint64_t us)
{
	struct timespec ts = { 0, (long)(us * 1000) };

	nanosleep(&ts, NULL);
}

static void *producer(void *arg)
{
	uint64_t rng = seed ^ (uintptr_t)arg;
	uint64_t n = 0;

	while (!atomic_load(&stop)) {
		uint64_t r = sr_test_rand(&rng);
		sr_span_t s, child;
		sr_scope_t sc;

		sr_span_start(&s, NULL, "race", SR_KIND_INTERNAL);
		sr_span_set_int(&s, "n", (int64_t)n);
		sr_span_set_str(&s, "k", "v");
		if (r % 8 == 0) {
			/* past the inline room and the attribute limit: chunks
			 * from the overflow pool and a DROPPED item, slow end */
			for (int k = 0; k < 40; k++)
				sr_span_set_int(&s, "many", k);
		}
		if (r % 5 == 0) {
			sc = sr_scope_enter(&s);
			sr_span_start(&child, NULL, "child", SR_KIND_CLIENT);
			sr_span_end(&child);
			sr_scope_exit(sc);
		}
		sr_span_end(&s);
		n++;
	}
	return NULL;
}

static void tweak(sr_config_t *c)
{
	c->exporters = "memory";
	c->ring_records = 64; /* small: ring_full drops happen too */
	c->attr_count_limit = 24;
	c->sampler = SR_SAMPLER_TRACEIDRATIO;
	c->sampler_ratio = 0.7;
}

int main(void)
{
	pthread_t t[PRODUCERS];
	uint64_t rng, sampled = 0;
	sr_stats_t st = { .size = sizeof(st) };

	seed = sr_test_seed(20261122);
	rng = seed;
	for (int i = 0; i < PRODUCERS; i++)
		SR_CHECK(pthread_create(&t[i], NULL, producer,
					(void *)(uintptr_t)(i + 1)) == 0);
	for (int c = 0; c < CYCLES; c++) {
		SR_CHECK(sr_test_init_memory(tweak) == 0);
		pause_us(sr_test_rand(&rng) % 3000);
		(void)sr_shutdown(10000, NULL); /* a timeout is counted as drops */
		SR_CHECK(sr_stats_get(&st) == 0);
		SR_CHECK(sr_test_check_invariant(&st) == 0);
		sampled += st.sampled;
		pause_us(sr_test_rand(&rng) % 500);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(t[i], NULL);
	printf("%d init/shutdown cycles under %d producers: %llu spans "
	       "sampled, every pipeline balanced\n",
	       CYCLES, PRODUCERS, (unsigned long long)sampled);
	SR_CHECK(sampled > 0);
	printf("1 passed, 0 failed\n");
	return 0;
}
