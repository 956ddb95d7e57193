/*
 * stress_processors.c - the accounting invariant stays exact with a
 * processor chain on, under producers on several threads, drops of every
 * kind at once (ring_full from small rings, a slow exporter missing
 * batches, processor drops by rule), and flushes racing the producers;
 * and no exported span carries a secret the redact processor covers.
 *
 * Chain: redact (defaults), then "sample", which drops a seeded share of
 * spans by their trace id (rule "sampled_out") and every span named
 * "noise" (rule "noise"), then tail (a short window and small limits, so
 * traces are decided by the window, early and at the racing flushes, and
 * held spans, redacted ones among them, come back in later batches), then
 * spanmetrics.  The exporters: memory (checked for secrets) and "slow",
 * which sleeps in every export so its queue fills.
 */
// SR_TEST_LABELS: concurrency
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#define THREADS 4
#define SPANS 40000

static uint8_t drop_below; /* trace id byte under this: dropped */

static int s_init(void *ud, const sr_config_t *c, void **st, char *e, size_t n)
{
	(void)ud; (void)c; (void)e; (void)n;
	*st = NULL;
	return 0;
}

static void s_process(void *st, sr_proc_batch_t *pb)
{
	(void)st;
	for (size_t i = 0; i < sr_proc_count(pb); i++) {
		sr_span_data_t s = { .size = sizeof(s) };

		if (sr_proc_span(pb, i, &s) != 0)
			continue;
		if (s.name.len == 5 && !memcmp(s.name.ptr, "noise", 5))
			sr_proc_drop(pb, i, "noise");
		else if (s.trace_id[15] < drop_below)
			sr_proc_drop(pb, i, "sampled_out");
	}
}

static void s_shutdown(void *st) { (void)st; }

static const sr_processor_ops_t sample_ops = {
	.size = sizeof(sr_processor_ops_t),
	.abi_version = SR_PROCESSOR_ABI_VERSION,
	.name = "sample",
	.init = s_init,
	.process = s_process,
	.shutdown = s_shutdown,
};

static uint64_t seed;

static void *producer(void *arg)
{
	uint64_t rng = seed + (uintptr_t)arg;
	const sr_tracer_t *t = sr_tracer_get("stress", "1");

	for (int i = 0; i < SPANS; i++) {
		sr_span_t s;
		uint64_t r = sr_test_rand(&rng);

		sr_span_start(&s, t, r % 7 == 0 ? "noise" : "work", SR_KIND_SERVER);
		sr_span_set_int(&s, "i", i);
		if (r & 2)
			sr_span_set_str(&s, "http.request.header.authorization",
					"Bearer abcdef");
		if (r & 4)
			sr_span_set_str(&s, "user", "contact: dave@example.net");
		sr_span_end(&s);
		if ((r & 0xfff) == 0)
			sr_flush(100, NULL);
		if ((i & 127) == 0) { /* let most spans through the rings */
			struct timespec ts = { 0, 200000 };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static void tweak(sr_config_t *c)
{
	c->exporters = "memory,slow";
	c->processors = "redact,sample,tail,spanmetrics";
	c->ring_records = 256;
	c->max_queue_size = 1024;
	c->max_export_batch_size = 256;
	c->schedule_delay_ms = 5;
}

int main(void)
{
	pthread_t th[THREADS];
	sr_stats_t st = { .size = sizeof(st) };
	sr_processor_stats_t ps[4];
	uint64_t by_rule = 0, proc_dropped = 0;

	seed = sr_test_seed(0x5eed13);
	drop_below = (uint8_t)(seed % 200 + 20);
	setenv("SPANRING_TAIL_DECISION_MS", "20", 1);
	setenv("SPANRING_TAIL_RATIO", "0.5", 1);
	setenv("SPANRING_TAIL_MAX_SPANS", "512", 1);
	setenv("SPANRING_TAIL_MAX_TRACES", "128", 1);
	SR_CHECK(sr_processor_register(&sample_ops, NULL) == 0);
	SR_CHECK(sr_test_register_slow(2) == 0);
	SR_CHECK(sr_test_init_memory(tweak) == 0);
	for (uintptr_t i = 0; i < THREADS; i++)
		SR_CHECK(pthread_create(&th[i], NULL, producer, (void *)i) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	SR_CHECK(sr_shutdown(10000, NULL) == 0);

	SR_CHECK(sr_stats_get(&st) == 0);
	for (uint32_t k = 0; k < 4; k++) {
		ps[k].size = sizeof(ps[k]);
		SR_CHECK(sr_stats_processor(k, &ps[k]) == 0);
		by_rule = 0;
		for (uint32_t r = 0; r < ps[k].nrules; r++)
			by_rule += ps[k].rules[r].dropped;
		/* per processor: its rules add up to its drops */
		SR_CHECK(by_rule == ps[k].spans_dropped);
		SR_CHECK(ps[k].spans_held == 0);
		proc_dropped += ps[k].spans_dropped;
	}
	printf("sampled %" PRIu64 " exported %" PRIu64 " ring_full %" PRIu64
	       " queue_full %" PRIu64 " processor %" PRIu64 " (redact %" PRIu64
	       ", sample %" PRIu64 ", tail %" PRIu64 " of %" PRIu64
	       " in, %" PRIu64 " emitted)\n",
	       st.sampled, st.exported, st.dropped_ring_full,
	       st.dropped_queue_full, st.dropped_processor, ps[0].spans_dropped,
	       ps[1].spans_dropped, ps[2].spans_dropped, ps[2].spans_in,
	       ps[2].spans_emitted);
	SR_CHECK(st.sampled == (uint64_t)THREADS * SPANS);
	SR_CHECK(sr_test_check_invariant(&st) == 0);
	SR_CHECK(st.dropped_processor == proc_dropped);
	SR_CHECK(ps[1].spans_dropped > 0 && ps[2].spans_dropped > 0);
	/* tail: every span it took was emitted or dropped, or passed (late) */
	SR_CHECK(ps[2].spans_emitted + ps[2].spans_dropped <= ps[2].spans_in);
	SR_CHECK(ps[2].spans_emitted > 0);
	/* What the memory exporter took is what it holds. */
	{
		sr_exporter_stats_t es;

		SR_CHECK(sr_test_exporter_stats("memory", &es) == 0);
		SR_CHECK(sr_memory_count() + sr_memory_overflow() == es.spans_ok);
		SR_CHECK(es.spans_ok <= st.exported);
	}
	for (size_t i = 0; i < sr_memory_count(); i++) {
		const sr_span_data_t *d = sr_memory_get(i);

		SR_CHECK(!(d->name.len == 5 && !memcmp(d->name.ptr, "noise", 5)));
		for (uint32_t k = 0; k < d->attr_count; k++) {
			const sr_attr_view_t *a = &d->attrs[k];

			SR_CHECK(!(a->key.len > 13 &&
				   !memcmp(a->key.ptr, "http.request.", 13)));
			SR_CHECK(a->type != SR_ATTR_STRING ||
				 !memmem(a->v.s.ptr, a->v.s.len, "@", 1));
		}
	}
	sr_memory_clear();
	printf("stress_processors: ok\n");
	return 0;
}
