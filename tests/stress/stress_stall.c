/*
 * stress_stall.c - a stalled exporter never blocks producers or grows
 * memory, and every span is still accounted for.
 *
 * The "stall" exporter blocks inside export_batch until the test lets it
 * go.  Producers record far more spans than the rings and queues hold
 * while it is stuck; they must all finish (if a producer blocked, the
 * test would hang and hit its ctest timeout), the pipeline's memory must
 * stay exactly what init reported, and once the exporter is released and
 * the pipeline shut down, sampled == exported + dropped holds exactly with
 * the drops under ring_full / queue_full.  A second, healthy exporter runs
 * beside it and must keep receiving batches while the first is stuck.
 */
// SR_TEST_LABELS: concurrency
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#define THREADS 2
#define SPANS 200000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool released, stalled_once;
static uint64_t healthy_spans;

static int stall_create(void *ud, const sr_config_t *cfg, void **st, char *e, size_t n)
{
	(void)ud; (void)cfg; (void)e; (void)n;
	*st = NULL;
	return 0;
}

static int stall_export(void *st, const sr_batch_t *b, uint64_t *rej)
{
	(void)st; (void)b; (void)rej;
	pthread_mutex_lock(&mu);
	stalled_once = true;
	pthread_cond_broadcast(&cv);
	while (!released)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return 0;
}

static int healthy_export(void *st, const sr_batch_t *b, uint64_t *rej)
{
	(void)st; (void)rej;
	__atomic_add_fetch(&healthy_spans, sr_batch_count(b), __ATOMIC_RELAXED);
	return 0;
}

static void destroy(void *st, uint32_t t) { (void)st; (void)t; }

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 0; i < SPANS; i++) {
		sr_span_t s;

		sr_span_start(&s, NULL, "load", SR_KIND_INTERNAL);
		sr_span_set_int(&s, "i", i);
		sr_span_set_str(&s, "s", "payload");
		sr_span_end(&s);
	}
	return NULL;
}

static void tweak(sr_config_t *c)
{
	c->exporters = "stall,healthy";
	c->ring_records = 512;
	c->max_export_batch_size = 128;
	c->max_queue_size = 512;
	c->schedule_delay_ms = 10;
}

static long rss_kb(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * 4;
}

int main(void)
{
	static const sr_exporter_ops_t stall = {
		sizeof(sr_exporter_ops_t), SR_EXPORTER_ABI_VERSION, "stall",
		stall_create, stall_export, NULL, destroy, NULL, NULL, NULL };
	static const sr_exporter_ops_t healthy = {
		sizeof(sr_exporter_ops_t), SR_EXPORTER_ABI_VERSION, "healthy",
		stall_create, healthy_export, NULL, destroy, NULL, NULL, NULL };
	pthread_t t[THREADS];
	sr_stats_t before = { .size = sizeof(before) }, during = { .size = sizeof(during) }, after = { .size = sizeof(after) };
	sr_exporter_stats_t es = { .size = sizeof(es) };
	long rss0, rss1;

	sr_test_seed(1);
	SR_CHECK(sr_exporter_register(&stall, NULL) == 0);
	SR_CHECK(sr_exporter_register(&healthy, NULL) == 0);
	SR_CHECK(sr_test_init_memory(tweak) == 0);
	SR_CHECK(sr_stats_get(&before) == 0);
	producer(NULL); /* warm up: registers this thread, first batches */
	pthread_mutex_lock(&mu);
	while (!stalled_once)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	rss0 = rss_kb();

	for (int i = 0; i < THREADS; i++)
		SR_CHECK(pthread_create(&t[i], NULL, producer, NULL) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	/* Producers are done while the exporter is still stuck. */
	SR_CHECK(sr_stats_get(&during) == 0);
	rss1 = rss_kb();
	SR_CHECK(during.pipeline_bytes == before.pipeline_bytes);
	SR_CHECK(during.dropped_ring_full + during.dropped_queue_full > 0);
	printf("while stalled: sampled %llu, dropped ring_full %llu queue_full %llu, "
	       "healthy exporter got %llu spans, rss growth %ld KiB, pipeline %llu bytes\n",
	       (unsigned long long)during.sampled,
	       (unsigned long long)during.dropped_ring_full,
	       (unsigned long long)during.dropped_queue_full,
	       (unsigned long long)__atomic_load_n(&healthy_spans, __ATOMIC_RELAXED),
	       rss1 - rss0, (unsigned long long)during.pipeline_bytes);
	/* Growth bounded by a few pages of stacks, not by the spans.  Not
	 * under ThreadSanitizer: it allocates shadow memory for each page of
	 * the (preallocated, already counted) rings the first time
	 * instrumented code touches it, which is RSS that is TSan's. */
#if !defined(__SANITIZE_THREAD__)
	SR_CHECK(rss1 - rss0 < 8 * 1024);
#endif

	pthread_mutex_lock(&mu);
	released = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	SR_CHECK(sr_shutdown(30000, NULL) == 0);
	SR_CHECK(sr_stats_get(&after) == 0);
	SR_CHECK(sr_test_check_invariant(&after) == 0);
	SR_CHECK(after.sampled == (uint64_t)SPANS * (THREADS + 1));
	SR_CHECK(sr_stats_exporter(1, &es) == 0);
	SR_CHECK(strcmp(es.name, "healthy") == 0);
	/* The healthy exporter kept working while the other was stuck. */
	SR_CHECK(es.spans_ok > 0);
	SR_CHECK(es.spans_ok == __atomic_load_n(&healthy_spans, __ATOMIC_RELAXED));
	printf("after: exported %llu, dropped ring_full %llu queue_full %llu\n",
	       (unsigned long long)after.exported,
	       (unsigned long long)after.dropped_ring_full,
	       (unsigned long long)after.dropped_queue_full);
	printf("1 passed, 0 failed\n");
	return 0;
}
