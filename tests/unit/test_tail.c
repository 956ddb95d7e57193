/*
 * test_tail.c - the tail processor (processors/tail.c) and the stage's
 * holding calls under it: error traces kept whole across threads, slow
 * traces kept, attribute rules, the traceidratio share, late spans
 * following the decision, decisions made by the window (not by a flush),
 * memory flat and the accounting exact under 10x overload, bad settings
 * failing sr_init() by name.
 *
 * SR_TEST_LABELS: concurrency
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <cmocka.h>

#include "testutil.h"

static const char *chain = "tail";
static void tweak(sr_config_t *c)
{
	c->processors = chain;
	c->schedule_delay_ms = 20;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static const sr_processor_stats_t *tail_stats(void)
{
	static sr_processor_stats_t ps;

	for (uint32_t i = 0;; i++) {
		ps.size = sizeof(ps);
		assert_int_equal(sr_stats_processor(i, &ps), 0);
		if (!strcmp(ps.name, "tail"))
			return &ps;
	}
}

/* Exported spans (memory exporter) of the trace with this id. */
static size_t exported_of(const uint8_t id[16])
{
	size_t n = 0;

	for (size_t i = 0; i < sr_memory_count(); i++)
		if (!memcmp(sr_memory_get(i)->trace_id, id, 16))
			n++;
	return n;
}

static void finish(void)
{
	sr_stats_t st = { .size = sizeof(st) };

	assert_int_equal(sr_flush(5000, NULL), 0);
	assert_int_equal(tail_stats()->spans_held, 0);
	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(sr_test_check_invariant(&st), 0);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(sr_test_check_invariant(&st), 0);
}

/* ---- error traces, whole, across threads ----------------------------- */

#define TRACES 40
#define WORKERS 4
#define PER_WORKER 5

static sr_context_t roots[TRACES];

static void *worker(void *arg)
{
	const sr_tracer_t *t = sr_tracer_get("test", "1");
	intptr_t w = (intptr_t)arg;

	for (int tr = 0; tr < TRACES; tr++)
		for (int k = 0; k < PER_WORKER; k++) {
			sr_span_t s;

			sr_span_start_ex(&s, t, "child", SR_KIND_INTERNAL,
					 &roots[tr], 0, 0);
			sr_span_set_int(&s, "worker", w);
			/* every 4th trace: one span of one thread fails */
			if (tr % 4 == 0 && w == 2 && k == 3)
				sr_span_set_status(&s, SR_STATUS_ERROR, "boom");
			sr_span_end(&s);
		}
	return NULL;
}

static void test_error_traces_kept_whole_across_threads(void **state)
{
	const sr_tracer_t *t;
	sr_span_t root[TRACES];
	pthread_t th[WORKERS];
	uint64_t held_seen = 0;

	(void)state;
	setenv("SPANRING_TAIL_RATIO", "0", 1);
	setenv("SPANRING_TAIL_DECISION_MS", "300", 1);
	assert_int_equal(sr_test_init_memory(tweak), 0);
	t = sr_tracer_get("test", "1");
	for (int i = 0; i < TRACES; i++) {
		sr_span_start_ex(&root[i], t, "root", SR_KIND_SERVER, NULL, 0,
				 SR_SPAN_ROOT);
		roots[i] = sr_span_context(&root[i]);
	}
	for (intptr_t w = 0; w < WORKERS; w++)
		assert_int_equal(pthread_create(&th[w], NULL, worker, (void *)w), 0);
	for (int w = 0; w < WORKERS; w++)
		pthread_join(th[w], NULL);
	for (int i = 0; i < TRACES; i++)
		sr_span_end(&root[i]);
	/* Held, not exported, within the window. */
	sleep_ms(100);
	held_seen = tail_stats()->spans_held;
	assert_true(held_seen > 0);
	/* The window decides (no flush): wait it out. */
	for (int i = 0; i < 100 && tail_stats()->spans_held; i++)
		sleep_ms(20);
	assert_int_equal(tail_stats()->spans_held, 0);
	assert_int_equal(sr_test_proc_rule(tail_stats(), "decided_at_flush", false), 0);
	assert_int_equal(sr_flush(5000, NULL), 0);
	for (int i = 0; i < TRACES; i++) {
		size_t want = i % 4 == 0 ? 1 + WORKERS * PER_WORKER : 0;

		assert_int_equal(exported_of(roots[i].trace_id), want);
	}
	assert_int_equal(sr_test_proc_rule(tail_stats(), "keep_error", false), TRACES / 4);
	assert_int_equal(sr_test_proc_rule(tail_stats(), "not_sampled", false),
			 TRACES - TRACES / 4);
	assert_int_equal(sr_test_proc_rule(tail_stats(), "not_sampled", true),
			 (TRACES - TRACES / 4) * (1 + WORKERS * PER_WORKER));
	finish();
}

/* ---- slow traces, attribute rules, late spans ------------------------ */

static void test_slow_attr_and_late_spans(void **state)
{
	const sr_tracer_t *t;
	sr_span_t slow, fast, gold, plain, late_keep, late_drop, c;
	sr_context_t cs, cf, cg, cp;
	uint64_t now = sr_now_ns();

	(void)state;
	setenv("SPANRING_TAIL_RATIO", "0", 1);
	setenv("SPANRING_TAIL_DECISION_MS", "100", 1);
	setenv("SPANRING_TAIL_LATENCY_MS", "50", 1);
	setenv("SPANRING_TAIL_ATTRIBUTES", "user.tier=gold,http.route=/pay*", 1);
	assert_int_equal(sr_test_init_memory(tweak), 0);
	t = sr_tracer_get("test", "1");
	sr_span_start_ex(&slow, t, "slow", SR_KIND_SERVER, NULL, now - 80000000,
			 SR_SPAN_ROOT);
	sr_span_start_ex(&fast, t, "fast", SR_KIND_SERVER, NULL, now - 10000000,
			 SR_SPAN_ROOT);
	sr_span_start_ex(&gold, t, "gold", SR_KIND_SERVER, NULL, 0, SR_SPAN_ROOT);
	sr_span_start_ex(&plain, t, "plain", SR_KIND_SERVER, NULL, 0, SR_SPAN_ROOT);
	cs = sr_span_context(&slow);
	cf = sr_span_context(&fast);
	cg = sr_span_context(&gold);
	cp = sr_span_context(&plain);
	/* late ones: started now, ended after their traces are decided */
	sr_span_start_ex(&late_keep, t, "late", SR_KIND_INTERNAL, &cs, 0, 0);
	sr_span_start_ex(&late_drop, t, "late", SR_KIND_INTERNAL, &cf, 0, 0);
	/* a slow child does not make its trace slow: only the local root */
	sr_span_start_ex(&c, t, "slow-child", SR_KIND_INTERNAL, &cf,
			 now - 90000000, 0);
	sr_span_end_at(&c, now);
	sr_span_start_ex(&c, t, "child", SR_KIND_INTERNAL, &cs, 0, 0);
	sr_span_end(&c);
	sr_span_set_str(&gold, "user.tier", "gold");
	sr_span_set_str(&plain, "user.tier", "silver");
	sr_span_start_ex(&c, t, "pay", SR_KIND_INTERNAL, &cp, 0, 0);
	sr_span_set_str(&c, "http.route", "/payments/{id}");
	sr_span_end(&c);
	/* durations by the clock given, not by how fast this test runs */
	sr_span_end_at(&slow, now);
	sr_span_end_at(&fast, now);
	sr_span_end(&gold);
	sr_span_end(&plain);
	sleep_ms(60);
	for (int i = 0; i < 100 && (tail_stats()->spans_held ||
				    !tail_stats()->batches); i++)
		sleep_ms(20);
	assert_int_equal(tail_stats()->spans_held, 0);
	sr_span_end(&late_keep);
	sr_span_end(&late_drop);
	assert_int_equal(sr_flush(5000, NULL), 0);
	assert_int_equal(exported_of(cs.trace_id), 3); /* slow, child, late */
	assert_int_equal(exported_of(cf.trace_id), 0);
	assert_int_equal(exported_of(cg.trace_id), 1);
	assert_int_equal(exported_of(cp.trace_id), 2); /* by the child's route */
	assert_int_equal(sr_test_proc_rule(tail_stats(), "keep_latency", false), 1);
	assert_int_equal(sr_test_proc_rule(tail_stats(), "keep_attribute", false), 2);
	assert_int_equal(sr_test_proc_rule(tail_stats(), "late_spans", false), 2);
	assert_int_equal(sr_test_proc_rule(tail_stats(), "not_sampled", true), 3);
	unsetenv("SPANRING_TAIL_LATENCY_MS");
	unsetenv("SPANRING_TAIL_ATTRIBUTES");
	finish();
}

/* ---- the ratio share is traceidratio's ------------------------------- */

static void test_ratio_is_traceidratio(void **state)
{
	const sr_tracer_t *t;
	sr_context_t ids[400];
	size_t kept = 0;

	(void)state;
	setenv("SPANRING_TAIL_RATIO", "0.25", 1);
	setenv("SPANRING_TAIL_DECISION_MS", "50", 1);
	assert_int_equal(sr_test_init_memory(tweak), 0);
	t = sr_tracer_get("test", "1");
	for (int i = 0; i < 400; i++) {
		sr_span_t s;

		sr_span_start_ex(&s, t, "r", SR_KIND_SERVER, NULL, 0, SR_SPAN_ROOT);
		ids[i] = sr_span_context(&s);
		sr_span_end(&s);
	}
	assert_int_equal(sr_flush(5000, NULL), 0);
	for (int i = 0; i < 400; i++) {
		uint64_t x = 0;

		for (int b = 8; b < 16; b++)
			x = x << 8 | ids[i].trace_id[b];
		bool want = (x >> 1) < (uint64_t)(0.25 * 0x1p63);
		assert_int_equal(exported_of(ids[i].trace_id), want ? 1 : 0);
		kept += want;
	}
	assert_true(kept > 50 && kept < 150);
	assert_int_equal(sr_test_proc_rule(tail_stats(), "keep_ratio", false), kept);
	finish();
}

/* ---- 10x overload: memory flat, decisions early, accounting exact ---- */

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * 4;
}

static void burst(const sr_tracer_t *t, int traces)
{
	for (int i = 0; i < traces; i++) {
		sr_span_t r, c;

		sr_span_start_ex(&r, t, "r", SR_KIND_SERVER, NULL, 0, SR_SPAN_ROOT);
		for (int k = 0; k < 3; k++) {
			sr_span_start(&c, t, "c", SR_KIND_INTERNAL);
			sr_span_set_str(&c, "payload", "0123456789abcdef0123456789");
			sr_span_end(&c);
		}
		if (i % 10 == 0)
			sr_span_set_status(&r, SR_STATUS_ERROR, NULL);
		sr_span_end(&r);
		if (i % 64 == 0)
			sleep_ms(1); /* let the drainer keep up: no ring_full */
	}
}

/* No exporter keeps what it gets: the resident size is the pipeline's
 * and the processors'. */
static void tweak_none(sr_config_t *c)
{
	tweak(c);
	c->exporters = "none";
}

static void test_overload_memory_flat(void **state)
{
	const sr_tracer_t *t;
	uint64_t max_held = 0;
	long rss1, rss2;

	(void)state;
	setenv("SPANRING_TAIL_RATIO", "0.1", 1);
	setenv("SPANRING_TAIL_DECISION_MS", "2000", 1);
	setenv("SPANRING_TAIL_MAX_SPANS", "1000", 1);
	setenv("SPANRING_TAIL_MAX_TRACES", "250", 1);
	assert_int_equal(sr_test_init_memory(tweak_none), 0);
	t = sr_tracer_get("test", "1");
	burst(t, 250); /* 1x: what the limits hold */
	assert_int_equal(sr_flush(5000, NULL), 0);
	rss1 = rss_kib();
	for (int round = 0; round < 10; round++) {
		burst(t, 250);
		if (tail_stats()->spans_held > max_held)
			max_held = tail_stats()->spans_held;
	}
	sleep_ms(50);
	if (tail_stats()->spans_held > max_held)
		max_held = tail_stats()->spans_held;
	rss2 = rss_kib();
	printf("held at most %llu spans; rss %ld KiB -> %ld KiB\n",
	       (unsigned long long)max_held, rss1, rss2);
	assert_true(max_held <= 1000);
	assert_true(sr_test_proc_rule(tail_stats(), "early_spans_full", false) +
			    sr_test_proc_rule(tail_stats(), "early_traces_full", false) > 0);
#if !defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
	/* (A sanitizer's shadow and history grow with what runs, not with
	 * what the library allocated.) */
	assert_true(rss2 - rss1 < 2048);
#endif
	finish();
	unsetenv("SPANRING_TAIL_MAX_SPANS");
	unsetenv("SPANRING_TAIL_MAX_TRACES");
}

/* ---- a chain after tail sees what it emits; edits survive holding ---- */

static void test_redact_tail_chain(void **state)
{
	const sr_tracer_t *t;
	const sr_span_data_t *d;
	sr_span_t s;

	(void)state;
	chain = "redact,tail";
	setenv("SPANRING_TAIL_RATIO", "1", 1);
	setenv("SPANRING_TAIL_DECISION_MS", "20", 1);
	assert_int_equal(sr_test_init_memory(tweak), 0);
	t = sr_tracer_get("test", "1");
	sr_span_start(&s, t, "login", SR_KIND_SERVER);
	sr_span_set_str(&s, "user.email", "ann@example.com");
	sr_span_set_str(&s, "note", "kept as is, and long enough to span slots");
	sr_span_end(&s);
	sr_span_start(&s, t, "plain", SR_KIND_SERVER);
	sr_span_set_str(&s, "note", "no secret");
	sr_span_end(&s);
	for (int i = 0; i < 100 && sr_memory_count() < 2; i++)
		sleep_ms(20);
	assert_int_equal(sr_memory_count(), 2);
	assert_non_null(d = sr_test_find_span("login"));
	for (uint32_t k = 0; k < d->attr_count; k++) {
		sr_str_t v = d->attrs[k].v.s;

		if (d->attrs[k].key.len == 10 && !memcmp(d->attrs[k].key.ptr, "user.email", 10))
			assert_true(v.len == 4 && !memcmp(v.ptr, "****", 4));
		if (d->attrs[k].key.len == 4 && !memcmp(d->attrs[k].key.ptr, "note", 4))
			assert_true(v.len == 41 && !memcmp(v.ptr, "kept as is", 10));
	}
	assert_int_equal(tail_stats()->spans_emitted, 2);
	chain = "tail";
	finish();
}

/* ---- a kept span no batch can take ---------------------------------- */

static void tweak_small_scratch(sr_config_t *c)
{
	tweak(c);
	c->processor_scratch_bytes = 4096; /* the least allowed */
}

/* An edited span holds its edited view packed with the strings it keeps
 * from the batch's records: two 4000-byte values make a pack larger than
 * any batch's scratch, so no batch, not even an empty one, takes it back.
 * tail must drop it as "too_large" (counted: the invariant holds) rather
 * than hold it forever, and go on emitting what fits. */
static void test_kept_span_too_large_for_any_batch(void **state)
{
	static char big[4001];
	const sr_tracer_t *t;
	sr_span_t s;
	sr_stats_t st = { .size = sizeof(st) };

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	chain = "redact,tail";
	setenv("SPANRING_TAIL_RATIO", "1", 1);
	setenv("SPANRING_TAIL_DECISION_MS", "20", 1);
	assert_int_equal(sr_test_init_memory(tweak_small_scratch), 0);
	t = sr_tracer_get("test", "1");
	sr_span_start(&s, t, "huge", SR_KIND_SERVER);
	sr_span_set_str(&s, "user.email", "ann@example.com"); /* redact edits it */
	sr_span_set_str(&s, "a", big);
	sr_span_set_str(&s, "b", big);
	sr_span_end(&s);
	sr_span_start(&s, t, "small", SR_KIND_SERVER);
	sr_span_set_str(&s, "user.email", "bob@example.com");
	sr_span_end(&s);
	for (int i = 0; i < 100 && (tail_stats()->spans_held ||
				    sr_memory_count() < 1); i++)
		sleep_ms(20);
	assert_int_equal(sr_flush(5000, NULL), 0);
	assert_int_equal(tail_stats()->spans_held, 0);
	assert_int_equal(sr_test_proc_rule(tail_stats(), "too_large", true), 1);
	assert_int_equal(tail_stats()->spans_emitted, 1);
	assert_int_equal(sr_memory_count(), 1);
	assert_non_null(sr_test_find_span("small"));
	assert_null(sr_test_find_span("huge"));
	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(st.dropped_processor, 1);
	assert_int_equal(sr_test_check_invariant(&st), 0);
	chain = "tail";
	finish();
}

/* ---- settings ------------------------------------------------------- */

static void test_bad_settings_fail_init(void **state)
{
	(void)state;
	setenv("SPANRING_TAIL_RATIO", "2", 1);
	assert_int_equal(sr_test_init_memory(tweak), SR_EINVAL);
	assert_non_null(strstr(sr_last_error(), "SPANRING_TAIL_RATIO"));
	setenv("SPANRING_TAIL_RATIO", "0.5", 1);
	setenv("SPANRING_TAIL_ATTRIBUTES", "novalue", 1);
	assert_int_equal(sr_test_init_memory(tweak), SR_EINVAL);
	assert_non_null(strstr(sr_last_error(), "SPANRING_TAIL_ATTRIBUTES"));
	unsetenv("SPANRING_TAIL_ATTRIBUTES");
	setenv("SPANRING_TAIL_DECISION_MS", "0", 1);
	assert_int_equal(sr_test_init_memory(tweak), SR_EINVAL);
	assert_non_null(strstr(sr_last_error(), "SPANRING_TAIL_DECISION_MS"));
	unsetenv("SPANRING_TAIL_DECISION_MS");
	assert_false(sr_is_running());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_traces_kept_whole_across_threads),
		cmocka_unit_test(test_slow_attr_and_late_spans),
		cmocka_unit_test(test_ratio_is_traceidratio),
		cmocka_unit_test(test_overload_memory_flat),
		cmocka_unit_test(test_redact_tail_chain),
		cmocka_unit_test(test_kept_span_too_large_for_any_batch),
		cmocka_unit_test(test_bad_settings_fail_init),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
