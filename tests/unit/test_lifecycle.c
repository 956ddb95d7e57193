/*
 * test_lifecycle.c - init, flush, shutdown and their failure modes:
 * no-op safety outside a pipeline, completeness of flush and shutdown,
 * shutdown deadlines with a stuck exporter, exporter errors and partial
 * rejection counted, allocation failure at every point of init, the
 * exporter registration contract.
 */
// SR_TEST_LABELS: concurrency
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

/* ---- a scriptable exporter ------------------------------------------ */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int mode;           /* 0 ok, 1 fail, 2 reject half, 3 hang */
	bool release;
	bool cancelled;
	uint64_t seen;
} ctl = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false, false, 0 };

static int t_create(void *ud, const sr_config_t *c, void **st, char *e, size_t n)
{
	(void)ud; (void)c; (void)e; (void)n;
	*st = &ctl;
	return 0;
}

static int t_export(void *st, const sr_batch_t *b, uint64_t *rejected)
{
	int mode;

	(void)st;
	pthread_mutex_lock(&ctl.mu);
	mode = ctl.mode;
	ctl.seen += sr_batch_count(b);
	while (mode == 3 && !ctl.release && !ctl.cancelled)
		pthread_cond_wait(&ctl.cv, &ctl.mu);
	if (mode == 3 && ctl.cancelled)
		mode = 1;
	pthread_mutex_unlock(&ctl.mu);
	if (mode == 1)
		return SR_EIO;
	if (mode == 2)
		*rejected = sr_batch_count(b) / 2;
	return 0;
}

static void t_destroy(void *st, uint32_t t) { (void)st; (void)t; }

static void t_cancel(void *st)
{
	(void)st;
	pthread_mutex_lock(&ctl.mu);
	ctl.cancelled = true;
	pthread_cond_broadcast(&ctl.cv);
	pthread_mutex_unlock(&ctl.mu);
}

static const sr_exporter_ops_t scripted = {
	sizeof(sr_exporter_ops_t), SR_EXPORTER_ABI_VERSION, "scripted",
	t_create, t_export, NULL, t_destroy, NULL, NULL, NULL,
};

/* The same, with a cancel hook. */
static const sr_exporter_ops_t cancellable = {
	sizeof(sr_exporter_ops_t), SR_EXPORTER_ABI_VERSION, "cancellable",
	t_create, t_export, NULL, t_destroy, t_cancel, NULL, NULL,
};

static void set_mode(int m)
{
	pthread_mutex_lock(&ctl.mu);
	ctl.mode = m;
	ctl.release = false;
	ctl.cancelled = false;
	ctl.seen = 0;
	pthread_mutex_unlock(&ctl.mu);
}

static void use_scripted(sr_config_t *c)
{
	c->exporters = "scripted";
	c->export_timeout_ms = 100;
	c->ring_records = 4096;
	c->max_threads = 4;
}

static void spans(int n)
{
	for (int i = 0; i < n; i++) {
		sr_span_t s;

		sr_span_start(&s, NULL, "s", SR_KIND_INTERNAL);
		sr_span_set_int(&s, "i", i);
		sr_span_end(&s);
	}
}

/* ---- tests ------------------------------------------------------------ */

static void test_calls_before_init_are_noops(void **state)
{
	sr_span_t s;
	sr_stats_t st = { .size = sizeof(st) };
	uint64_t pending = 7;

	(void)state;
	assert_false(sr_is_running());
	sr_span_start(&s, NULL, "nothing", SR_KIND_INTERNAL);
	sr_span_set_int(&s, "k", 1);
	sr_span_set_str(&s, "k", "v");
	sr_span_add_event(&s, "e", 0, NULL, 0);
	sr_span_record_error(&s, "t", "m");
	assert_false(sr_span_is_recording(&s));
	sr_context_t c = sr_span_context(&s);
	assert_false(sr_context_is_valid(&c));
	sr_span_end(&s);
	assert_int_equal(sr_flush(10, &pending), SR_ESTATE);
	assert_int_equal(pending, 0);
	assert_int_equal(sr_shutdown(10, NULL), SR_ESTATE);
	assert_int_equal(sr_thread_register(), SR_ESTATE);
	/* Scopes work without a pipeline (propagation needs them). */
	sr_context_t ctx = { .trace_id = { 1 }, .span_id = { 2 } };
	sr_scope_t sc = sr_scope_enter_ctx(&ctx);
	assert_int_equal(sr_context_current(&c), 0);
	assert_int_equal(sr_scope_exit(sc), 0);
	(void)sr_stats_get(&st);
}

/* The header's promise for a span started before sr_init(): off, its
 * context all zero (no context: it injects nothing, parents nothing),
 * and it stays so once a pipeline runs: its end is ignored, in no
 * counter. */
static void test_span_started_before_init_has_zero_context(void **state)
{
	static const sr_context_t zero;
	sr_stats_t st = { .size = sizeof(st) };
	sr_span_t s, child;
	sr_context_t c;

	(void)state;
	assert_false(sr_is_running());
	memset(&s, 0xa5, sizeof(s));
	sr_span_start(&s, NULL, "before init", SR_KIND_SERVER);
	c = sr_span_context(&s);
	assert_memory_equal(&c, &zero, sizeof(c));
	assert_false(sr_context_is_valid(&c));

	assert_int_equal(sr_test_init_memory(NULL), 0);
	c = sr_span_context(&s);
	assert_memory_equal(&c, &zero, sizeof(c));
	assert_false(sr_span_is_recording(&s));
	/* Not a parent: a child given it as parent is a new root. */
	sr_span_start_ex(&child, NULL, "child", SR_KIND_INTERNAL, &c, 0, 0);
	c = sr_span_context(&child);
	assert_true(sr_context_is_valid(&c));
	sr_span_end(&child);
	sr_span_end(&s);
	assert_int_equal(sr_flush(5000, NULL), 0);
	{
		const sr_span_data_t *d = sr_test_find_span("child");

		assert_non_null(d);
		assert_memory_equal(d->parent_span_id, zero.span_id, 8);
		assert_null(sr_test_find_span("before init"));
	}
	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(st.started, 1);
	assert_int_equal(st.sampled, 1);
	assert_int_equal(st.exported, 1);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
}

static void test_init_twice_and_shutdown_twice(void **state)
{
	(void)state;
	assert_int_equal(sr_test_init_memory(NULL), 0);
	assert_int_equal(sr_test_init_memory(NULL), SR_ESTATE);
	assert_true(strlen(sr_last_error()) > 0);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	assert_int_equal(sr_shutdown(5000, NULL), SR_ESTATE);
}

struct producer_arg {
	int n;
};

static void *producer(void *arg)
{
	spans(((struct producer_arg *)arg)->n);
	return NULL;
}

/* Rings that hold a whole burst: this test is about flush, not drops. */
static void big_rings(sr_config_t *c)
{
	c->ring_records = 8192;
	c->max_threads = 4;
}

static void test_flush_exports_everything_ended_before(void **state)
{
	pthread_t t[2];
	struct producer_arg a = { 5000 };
	sr_stats_t st = { .size = sizeof(st) };
	uint64_t pending = 1;

	(void)state;
	assert_int_equal(sr_test_init_memory(big_rings), 0);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, producer, &a);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(sr_flush(30000, &pending), 0);
	assert_int_equal(pending, 0);
	assert_int_equal(sr_memory_count(), 10000);
	sr_stats_get(&st);
	assert_int_equal(st.exported, 10000);
	assert_int_equal(sr_test_check_invariant(&st), 0);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
}

static void test_shutdown_exports_everything(void **state)
{
	uint64_t lost = 1;
	sr_stats_t st = { .size = sizeof(st) };

	(void)state;
	assert_int_equal(sr_test_init_memory(big_rings), 0);
	spans(3000);
	assert_int_equal(sr_shutdown(30000, &lost), 0);
	assert_int_equal(lost, 0);
	assert_int_equal(sr_memory_count(), 3000); /* survives shutdown */
	sr_stats_get(&st);
	assert_int_equal(st.exported, 3000);
	assert_int_equal(sr_test_check_invariant(&st), 0);
}

static void test_shutdown_deadline_with_stuck_exporter(void **state)
{
	uint64_t lost = 0;
	sr_stats_t st = { .size = sizeof(st) };

	(void)state;
	set_mode(3);
	assert_int_equal(sr_test_init_memory(use_scripted), 0);
	spans(2000);
	/* Returns although the exporter never does; what it held is lost
	 * and counted. */
	assert_int_equal(sr_shutdown(200, &lost), SR_ETIMEDOUT);
	assert_true(lost > 0);
	sr_stats_get(&st);
	assert_int_equal(st.sampled, 2000);
	assert_int_equal(sr_test_check_invariant(&st), 0);
	pthread_mutex_lock(&ctl.mu);
	ctl.release = true;
	pthread_cond_broadcast(&ctl.cv);
	pthread_mutex_unlock(&ctl.mu);
}

static void use_cancellable(sr_config_t *c)
{
	use_scripted(c);
	c->exporters = "cancellable";
	c->export_timeout_ms = 60000; /* only cancel can end the hang soon */
}

static void test_shutdown_cancels_stuck_export(void **state)
{
	uint64_t lost = 0;
	sr_stats_t st = { .size = sizeof(st) };

	(void)state;
	set_mode(3);
	assert_int_equal(sr_test_init_memory(use_cancellable), 0);
	spans(2000);
	assert_int_equal(sr_shutdown(200, &lost), SR_ETIMEDOUT);
	pthread_mutex_lock(&ctl.mu);
	assert_true(ctl.cancelled);
	pthread_mutex_unlock(&ctl.mu);
	sr_stats_get(&st);
	assert_int_equal(st.sampled, 2000);
	/* The cancelled batch failed; the rest was lost to the deadline. */
	assert_true(st.dropped_exporter > 0);
	assert_int_equal(st.dropped_exporter + st.dropped_shutdown, 2000);
	assert_int_equal(sr_test_check_invariant(&st), 0);
	set_mode(0);
}

static void test_exporter_failure_counted(void **state)
{
	sr_stats_t st = { .size = sizeof(st) };
	sr_exporter_stats_t es = { .size = sizeof(es) };
	(void)state;
	set_mode(1);
	assert_int_equal(sr_test_init_memory(use_scripted), 0);
	spans(500);
	assert_int_equal(sr_flush(10000, NULL), 0);
	sr_stats_get(&st);
	assert_int_equal(st.dropped_exporter, 500);
	assert_int_equal(st.exported, 0);
	assert_int_equal(sr_stats_exporter(0, &es), 0);
	assert_int_equal(es.spans_failed, 500);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
}

static void test_partial_rejection_counted(void **state)
{
	sr_stats_t st = { .size = sizeof(st) };

	(void)state;
	set_mode(2);
	assert_int_equal(sr_test_init_memory(use_scripted), 0);
	spans(1000);
	assert_int_equal(sr_shutdown(10000, NULL), 0);
	sr_stats_get(&st);
	assert_int_equal(st.sampled, 1000);
	assert_true(st.dropped_exporter > 0);
	assert_int_equal(st.exported + st.dropped_exporter, 1000);
	set_mode(0);
}

static void test_unknown_exporter_reported_pipeline_runs(void **state)
{
	sr_stats_t st = { .size = sizeof(st) };

	(void)state;
	sr_config_t cfg;
	sr_config_init(&cfg);
	cfg.exporters = "memory, no-such-exporter";
	assert_int_equal(sr_init(&cfg), SR_ENOTFOUND);
	assert_non_null(strstr(sr_last_error(), "no-such-exporter"));
	assert_true(sr_is_running());
	spans(10);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	sr_stats_get(&st);
	assert_int_equal(st.exporters, 1);
	assert_int_equal(st.exported, 10);
}

static void test_reinit_cycles_ignore_spans_of_old_pipelines(void **state)
{
	sr_span_t carried;
	sr_stats_t st = { .size = sizeof(st) };

	(void)state;
	for (int cycle = 0; cycle < 20; cycle++) {
		assert_int_equal(sr_test_init_memory(NULL), 0);
		if (cycle)
			sr_span_end(&carried); /* started in the last pipeline */
		spans(10);
		sr_span_start(&carried, NULL, "carried", SR_KIND_INTERNAL);
		assert_int_equal(sr_shutdown(5000, NULL), 0);
		sr_stats_get(&st);
		/* The carried span is counted at its start and was still
		 * open when its pipeline stopped. */
		assert_int_equal(st.sampled, 11);
		assert_int_equal(st.open, 1);
		assert_int_equal(st.exported, 10);
		assert_int_equal(sr_test_check_invariant(&st), 0);
	}
	sr_span_end(&carried);
}

/* Allocator that fails the n-th allocation and tracks balance. */
static struct {
	int fail_at, count;
	long live;
} fa;

static void *fa_alloc(void *ud, size_t size, size_t align)
{
	void *p = NULL;

	(void)ud;
	if (++fa.count == fa.fail_at)
		return NULL;
	if (posix_memalign(&p, align, size))
		return NULL;
	fa.live++;
	return p;
}

static void fa_free(void *ud, void *p, size_t size)
{
	(void)ud; (void)size;
	fa.live--;
	free(p);
}

static void test_init_fails_cleanly_at_every_allocation(void **state)
{
	static const sr_allocator_t a = { fa_alloc, fa_free, NULL };
	int n, failures = 0;

	(void)state;
	for (n = 1;; n++) {
		sr_config_t cfg;
		int rc;

		sr_config_init(&cfg);
		cfg.exporters = "none";
		cfg.allocator = &a;
		cfg.max_threads = 2;
		cfg.ring_records = 16;
		fa.fail_at = n;
		fa.count = 0;
		rc = sr_init(&cfg);
		if (rc == 0)
			break;
		assert_int_equal(rc, SR_ENOMEM);
		assert_false(sr_is_running());
		assert_int_equal(fa.live, 0); /* nothing leaked */
		failures++;
	}
	spans(10);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	assert_int_equal(fa.live, 0);
	assert_true(failures >= 5);
	print_message("init survives a failure at each of its %d allocations\n",
		      failures);
}

static void test_exporter_register_contract(void **state)
{
	sr_exporter_ops_t bad = scripted;

	(void)state;
	bad.name = "v2";
	bad.abi_version = SR_EXPORTER_ABI_VERSION + 1;
	assert_int_equal(sr_exporter_register(&bad, NULL), SR_EVERSION);
	bad.abi_version = SR_EXPORTER_ABI_VERSION;
	bad.export_batch = NULL;
	assert_int_equal(sr_exporter_register(&bad, NULL), SR_EINVAL);
	assert_int_equal(sr_exporter_register(&scripted, NULL), SR_ESTATE); /* taken */
	bad = scripted;
	bad.name = "console";
	assert_int_equal(sr_exporter_register(&bad, NULL), SR_ESTATE); /* built-in */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calls_before_init_are_noops),
		cmocka_unit_test(test_span_started_before_init_has_zero_context),
		cmocka_unit_test(test_init_twice_and_shutdown_twice),
		cmocka_unit_test(test_flush_exports_everything_ended_before),
		cmocka_unit_test(test_shutdown_exports_everything),
		cmocka_unit_test(test_shutdown_deadline_with_stuck_exporter),
		cmocka_unit_test(test_shutdown_cancels_stuck_export),
		cmocka_unit_test(test_exporter_failure_counted),
		cmocka_unit_test(test_partial_rejection_counted),
		cmocka_unit_test(test_unknown_exporter_reported_pipeline_runs),
		cmocka_unit_test(test_reinit_cycles_ignore_spans_of_old_pipelines),
		cmocka_unit_test(test_init_fails_cleanly_at_every_allocation),
		cmocka_unit_test(test_exporter_register_contract),
	};

	sr_test_seed(0);
	if (sr_exporter_register(&scripted, NULL) != 0 ||
	    sr_exporter_register(&cancellable, NULL) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
