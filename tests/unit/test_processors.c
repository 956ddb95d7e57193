/*
 * test_processors.c - the processor stage (core/processor_stage.c): a
 * chain runs in order on every batch before the exporters, a processor
 * drops, edits, adds and removes, exporters see the result, drops are
 * counted per processor and rule so that the invariant stays exact, the
 * batch scratch bound is enforced, bad names and failing processors stop
 * sr_init(), plugins load by path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

/* ---- a processor under test ------------------------------------------ */

/* drops spans named "drop-me" (rule "by_name"); on spans named "edit":
 * removes attribute "secret", adds "added"=7, renames to "edited"; marks
 * every span it keeps with "first"=true so the next one can see it. */
static int t_init(void *ud, const sr_config_t *c, void **st, char *e, size_t n)
{
	(void)c;
	if (ud && !strcmp(ud, "fail")) {
		snprintf(e, n, "told to fail");
		return SR_EINVAL;
	}
	*st = ud;
	return 0;
}

static bool name_is(sr_str_t s, const char *n)
{
	return s.len == strlen(n) && !memcmp(s.ptr, n, s.len);
}

static void t_process(void *st, sr_proc_batch_t *pb)
{
	for (size_t i = 0; i < sr_proc_count(pb); i++) {
		sr_span_data_t s = { .size = sizeof(s) };
		sr_attr_view_t a[64];
		uint32_t n = 0;
		char *nm;

		assert_int_equal(sr_proc_span(pb, i, &s), 0);
		if (name_is(s.name, "drop-me")) {
			assert_int_equal(sr_proc_drop(pb, i, "by_name"), 0);
			assert_int_equal(sr_proc_drop(pb, i, "by_name"), SR_ENOTFOUND);
			assert_int_equal(sr_proc_span(pb, i, &s), SR_ENOTFOUND);
			continue;
		}
		for (uint32_t k = 0; k < s.attr_count && n < 60; k++)
			if (!(name_is(s.name, "edit") && name_is(s.attrs[k].key, "secret")))
				a[n++] = s.attrs[k];
		a[n].key = (sr_str_t){ "first", 5 };
		a[n].type = SR_ATTR_BOOL;
		a[n++].v.b = true;
		if (name_is(s.name, "edit")) {
			a[n].key = (sr_str_t){ "added", 5 };
			a[n].type = SR_ATTR_INT;
			a[n++].v.i = 7;
			if (!(nm = sr_proc_alloc(pb, 6))) {
				sr_proc_drop(pb, i, "scratch_full");
				continue;
			}
			memcpy(nm, "edited", 6);
			s.name = (sr_str_t){ nm, 6 };
		}
		s.attrs = a;
		s.attr_count = n;
		if (sr_proc_span_set(pb, i, &s) != 0)
			sr_proc_drop(pb, i, "scratch_full");
	}
	(void)st;
}

/* Second in the chain: counts the spans on which it sees "first". */
static void t_second(void *st, sr_proc_batch_t *pb)
{
	for (size_t i = 0; i < sr_proc_count(pb); i++) {
		sr_span_data_t s = { .size = sizeof(s) };

		assert_int_equal(sr_proc_span(pb, i, &s), 0);
		for (uint32_t k = 0; k < s.attr_count; k++)
			if (name_is(s.attrs[k].key, "first"))
				sr_proc_note(pb, "saw_first", 1);
	}
	(void)st;
}

/* Anywhere in the chain: every span's head (sr_proc_span_head, which
 * the stage may answer from what an earlier processor decoded) is the
 * head of its whole view (sr_proc_span), edits of earlier processors
 * and drops (which renumber the spans) included.  Asks for the head
 * first on even spans, last on odd ones (the two ways the shared decode
 * is filled). */
static void t_head(void *st, sr_proc_batch_t *pb)
{
	if (sr_proc_count(pb) > 1)
		sr_proc_note(pb, "batches_of_many", 1);
	for (size_t i = 0; i < sr_proc_count(pb); i++) {
		sr_span_data_t h = { .size = sizeof(h) }, f = { .size = sizeof(f) };
		sr_span_data_t h2 = { .size = sizeof(h2) };

		if (i & 1) {
			assert_int_equal(sr_proc_span(pb, i, &f), 0);
			assert_int_equal(sr_proc_span_head(pb, i, &h), 0);
		} else {
			assert_int_equal(sr_proc_span_head(pb, i, &h), 0);
			assert_int_equal(sr_proc_span(pb, i, &f), 0);
		}
		assert_int_equal(sr_proc_span_head(pb, i, &h2), 0);
		assert_memory_equal(&h, &h2, sizeof(h));
		assert_memory_equal(h.trace_id, f.trace_id, 16);
		assert_memory_equal(h.span_id, f.span_id, 8);
		assert_memory_equal(h.parent_span_id, f.parent_span_id, 8);
		assert_int_equal(h.name.len, f.name.len);
		assert_memory_equal(h.name.ptr, f.name.ptr, f.name.len);
		assert_int_equal(h.start_ns, f.start_ns);
		assert_int_equal(h.end_ns, f.end_ns);
		assert_int_equal(h.kind, f.kind);
		assert_int_equal(h.status, f.status);
		assert_int_equal(h.thread_id, f.thread_id);
		assert_true(h.scope_name.ptr == f.scope_name.ptr);
		if (h.attr_count) /* an edited span: its whole view */
			assert_int_equal(h.attr_count, f.attr_count);
		sr_proc_note(pb, name_is(h.name, "edited") ? "edited" : "seen", 1);
	}
	(void)st;
}

/* Drops "drop-me", renames "edit" to "edited", leaves the rest as they
 * are (unedited: read from their records by the processors after it). */
static void t_thin(void *st, sr_proc_batch_t *pb)
{
	for (size_t i = 0; i < sr_proc_count(pb); i++) {
		sr_span_data_t s = { .size = sizeof(s) };

		assert_int_equal(sr_proc_span_head(pb, i, &s), 0);
		if (name_is(s.name, "drop-me")) {
			sr_proc_drop(pb, i, "by_name");
		} else if (name_is(s.name, "edit")) {
			assert_int_equal(sr_proc_span(pb, i, &s), 0);
			s.name = (sr_str_t){ "edited", 6 };
			assert_int_equal(sr_proc_span_set(pb, i, &s), 0);
		}
	}
	(void)st;
}

static void t_shutdown(void *st) { (void)st; }

static const sr_processor_ops_t first_ops = {
	.size = sizeof(sr_processor_ops_t),
	.abi_version = SR_PROCESSOR_ABI_VERSION,
	.name = "t_first",
	.init = t_init,
	.process = t_process,
	.shutdown = t_shutdown,
};
static const sr_processor_ops_t second_ops = {
	.size = sizeof(sr_processor_ops_t),
	.abi_version = SR_PROCESSOR_ABI_VERSION,
	.name = "t_second",
	.init = t_init,
	.process = t_second,
	.shutdown = t_shutdown,
};
static const sr_processor_ops_t head_ops = {
	.size = sizeof(sr_processor_ops_t),
	.abi_version = SR_PROCESSOR_ABI_VERSION,
	.name = "t_head",
	.init = t_init,
	.process = t_head,
	.shutdown = t_shutdown,
};
static const sr_processor_ops_t thin_ops = {
	.size = sizeof(sr_processor_ops_t),
	.abi_version = SR_PROCESSOR_ABI_VERSION,
	.name = "t_thin",
	.init = t_init,
	.process = t_thin,
	.shutdown = t_shutdown,
};
static const sr_processor_ops_t failing_ops = {
	.size = sizeof(sr_processor_ops_t),
	.abi_version = SR_PROCESSOR_ABI_VERSION,
	.name = "t_fails",
	.init = t_init,
	.process = t_second,
	.shutdown = t_shutdown,
};

static int setup(void **state)
{
	static bool done;

	(void)state;
	if (!done) {
		assert_int_equal(sr_processor_register(&first_ops, NULL), 0);
		assert_int_equal(sr_processor_register(&second_ops, NULL), 0);
		assert_int_equal(sr_processor_register(&head_ops, NULL), 0);
		assert_int_equal(sr_processor_register(&thin_ops, NULL), 0);
		assert_int_equal(sr_processor_register(&failing_ops, "fail"), 0);
		done = true;
	}
	return 0;
}

static const char *chain;
static uint32_t scratch;
static void tweak(sr_config_t *c)
{
	c->processors = chain;
	if (scratch)
		c->processor_scratch_bytes = scratch;
}

static void end_span(const sr_tracer_t *t, const char *name, bool secret)
{
	sr_span_t s;

	sr_span_start(&s, t, name, SR_KIND_INTERNAL);
	sr_span_set_int(&s, "n", 1);
	if (secret)
		sr_span_set_str(&s, "secret", "hunter2");
	sr_span_end(&s);
}

static const sr_processor_stats_t *pstats(uint32_t i)
{
	static sr_processor_stats_t ps;

	ps.size = sizeof(ps);
	assert_int_equal(sr_stats_processor(i, &ps), 0);
	return &ps;
}

static void test_chain_edits_drops_and_counts(void **state)
{
	const sr_span_data_t *d;
	sr_stats_t st = { .size = sizeof(st) };
	char json[1024];

	(void)state;
	chain = "t_first, t_second";
	scratch = 0;
	assert_int_equal(sr_test_init_memory(tweak), 0);
	const sr_tracer_t *t = sr_tracer_get("test", "1");
	for (int i = 0; i < 10; i++) {
		end_span(t, "drop-me", false);
		end_span(t, "edit", true);
		end_span(t, "keep", false);
	}
	assert_int_equal(sr_flush(5000, NULL), 0);
	assert_int_equal(sr_memory_count(), 20);
	assert_null(sr_test_find_span("drop-me"));
	assert_null(sr_test_find_span("edit"));
	assert_non_null(d = sr_test_find_span("edited"));
	assert_int_equal(d->attr_count, 3); /* n, first, added */
	for (uint32_t k = 0; k < d->attr_count; k++)
		assert_false(name_is(d->attrs[k].key, "secret"));
	assert_true(name_is(d->attrs[2].key, "added"));
	assert_int_equal(d->attrs[2].v.i, 7);
	assert_non_null(d = sr_test_find_span("keep"));
	assert_int_equal(d->attr_count, 2);

	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(st.processors, 2);
	assert_int_equal(st.dropped_processor, 10);
	assert_int_equal(st.exported, 20);
	assert_int_equal(sr_test_check_invariant(&st), 0);
	assert_string_equal(pstats(0)->name, "t_first");
	assert_int_equal(pstats(0)->spans_in, 30);
	assert_int_equal(pstats(0)->spans_dropped, 10);
	assert_int_equal(pstats(0)->spans_modified, 20);
	assert_int_equal(sr_test_proc_rule(pstats(0), "by_name", true), 10);
	/* The second saw only what the first let through, with its edits. */
	assert_int_equal(pstats(1)->spans_in, 20);
	assert_int_equal(sr_test_proc_rule(pstats(1), "saw_first", false), 20);
	sr_processor_stats_t none = { .size = sizeof(none) };
	assert_int_equal(sr_stats_processor(2, &none), SR_ENOTFOUND);
	assert_true(sr_stats_to_json(&st, json, sizeof(json)) > 0);
	assert_non_null(strstr(json, "\"processor\":10"));
	assert_non_null(strstr(json, "\"processors\":2"));

	assert_int_equal(sr_shutdown(5000, NULL), 0);
	/* The final numbers outlive the pipeline. */
	assert_int_equal(sr_test_proc_rule(pstats(0), "by_name", true), 10);
	sr_memory_clear();
}

/* One decode shared along the chain: a processor after an editing and
 * dropping one reads every span's head as its whole view says, in the
 * middle of the chain and last. */
static void test_shared_decode_follows_edits(void **state)
{
	sr_stats_t st = { .size = sizeof(st) };

	(void)state;
	chain = "t_head,t_thin,t_head,t_first,t_head";
	scratch = 0;
	assert_int_equal(sr_test_init_memory(tweak), 0);
	const sr_tracer_t *t = sr_tracer_get("test", "1");
	for (int i = 0; i < 300; i++) {
		end_span(t, i % 3 == 0 ? "drop-me" : i % 3 == 1 ? "edit" : "keep",
			 i % 3 == 1);
		if (i % 97 == 0)
			sr_flush(5000, NULL);
	}
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(sr_test_check_invariant(&st), 0);
	assert_int_equal(st.dropped_ring_full, 0);
	assert_int_equal(sr_test_proc_rule(pstats(0), "seen", false), 300);
	assert_int_equal(sr_test_proc_rule(pstats(0), "edited", false), 0);
	assert_true(sr_test_proc_rule(pstats(2), "batches_of_many", false) > 0);
	assert_int_equal(sr_test_proc_rule(pstats(2), "edited", false), 100);
	assert_int_equal(sr_test_proc_rule(pstats(2), "seen", false), 100);
	/* t_first renames nothing now ("edited" is not its "edit") but
	 * edits every span: the last reads only overlays. */
	assert_int_equal(sr_test_proc_rule(pstats(4), "edited", false), 100);
	assert_int_equal(sr_test_proc_rule(pstats(4), "seen", false), 100);
	sr_memory_clear();
}

/* Whole batches dropped: they go back to the pool, nothing is counted
 * twice, and the pipeline keeps going past the pool's size. */
static void test_all_dropped(void **state)
{
	sr_stats_t st = { .size = sizeof(st) };

	(void)state;
	chain = "t_first";
	scratch = 0;
	assert_int_equal(sr_test_init_memory(tweak), 0);
	const sr_tracer_t *t = sr_tracer_get("test", "1");
	for (int i = 0; i < 5000; i++) {
		end_span(t, "drop-me", false);
		if (i % 500 == 0)
			sr_flush(5000, NULL);
	}
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(st.dropped_processor + st.dropped_ring_full, 5000);
	assert_int_equal(st.exported, 0);
	assert_int_equal(sr_test_check_invariant(&st), 0);
	assert_int_equal(sr_memory_count(), 0);
}

/* A batch's scratch is the bound on edits: past it sr_proc_span_set says
 * SR_ELIMIT and this processor drops the span, counted. */
static void test_scratch_bound(void **state)
{
	sr_stats_t st = { .size = sizeof(st) };

	(void)state;
	chain = "t_first";
	scratch = 4096; /* the least: a few edited spans per batch */
	assert_int_equal(sr_test_init_memory(tweak), 0);
	const sr_tracer_t *t = sr_tracer_get("test", "1");
	for (int i = 0; i < 400; i++)
		end_span(t, "edit", true);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	assert_int_equal(sr_stats_get(&st), 0);
	assert_true(sr_test_proc_rule(pstats(0), "scratch_full", true) > 0);
	assert_int_equal(sr_memory_count() + sr_test_proc_rule(pstats(0), "scratch_full", true) +
				 st.dropped_ring_full,
			 400);
	assert_int_equal(sr_test_check_invariant(&st), 0);
	for (size_t i = 0; i < sr_memory_count(); i++)
		assert_true(name_is(sr_memory_get(i)->name, "edited"));
	sr_memory_clear();
}

static void test_bad_names_fail_init(void **state)
{
	(void)state;
	scratch = 0;
	chain = "t_first,bogus";
	assert_int_equal(sr_test_init_memory(tweak), SR_ENOTFOUND);
	assert_false(sr_is_running());
	assert_non_null(strstr(sr_last_error(), "SPANRING_PROCESSORS"));
	assert_non_null(strstr(sr_last_error(), "'bogus'"));

	chain = "t_fails";
	assert_int_equal(sr_test_init_memory(tweak), SR_EINVAL);
	assert_false(sr_is_running());
	assert_non_null(strstr(sr_last_error(), "processor 't_fails': told to fail"));

	chain = "plugin:/nonexistent/libp.so";
	assert_int_equal(sr_test_init_memory(tweak), SR_EIO);
	assert_non_null(strstr(sr_last_error(),
			       "SPANRING_PROCESSORS='plugin:/nonexistent/libp.so': "
			       "cannot load"));
	assert_false(sr_is_running());
}

static void test_register_checks(void **state)
{
	sr_processor_ops_t o = first_ops;

	(void)state;
	assert_int_equal(sr_processor_register(&first_ops, NULL), SR_ESTATE);
	o.name = "redact";
	assert_int_equal(sr_processor_register(&o, NULL), SR_ESTATE);
	o.name = "t_new";
	o.abi_version = 99;
	assert_int_equal(sr_processor_register(&o, NULL), SR_EVERSION);
	o.abi_version = SR_PROCESSOR_ABI_VERSION;
	o.process = NULL;
	assert_int_equal(sr_processor_register(&o, NULL), SR_EINVAL);
	assert_int_equal(sr_processor_register(NULL, NULL), SR_EINVAL);
}

static void test_env(void **state)
{
	sr_config_t c;

	(void)state;
	setenv("SPANRING_PROCESSORS", "redact,t_first", 1);
	setenv("SPANRING_PROCESSOR_SCRATCH_BYTES", "65536", 1);
	setenv("SPANRING_REDACT_CONFIG", "/x/y", 1);
	sr_config_init(&c);
	assert_int_equal(sr_config_from_env(&c), 0);
	assert_string_equal(c.processors, "redact,t_first");
	assert_int_equal(c.processor_scratch_bytes, 65536);
	assert_string_equal(c.redact_config, "/x/y");
	setenv("SPANRING_PROCESSOR_SCRATCH_BYTES", "12", 1);
	sr_config_init(&c);
	assert_int_equal(sr_config_from_env(&c), SR_EINVAL);
	assert_non_null(strstr(sr_last_error(), "SPANRING_PROCESSOR_SCRATCH_BYTES"));
	unsetenv("SPANRING_PROCESSORS");
	unsetenv("SPANRING_PROCESSOR_SCRATCH_BYTES");
	unsetenv("SPANRING_REDACT_CONFIG");
	/* a clean read: sr_init() no longer reports the bad one */
	sr_config_init(&c);
	assert_int_equal(sr_config_from_env(&c), 0);
}

#ifdef SR_EXAMPLE_PROCESSOR
/* The example plugin (examples/processor) by path: it drops spans whose
 * name starts with "health" and tags the others. */
static void test_plugin(void **state)
{
	const sr_span_data_t *d;

	(void)state;
	chain = "plugin:" SR_EXAMPLE_PROCESSOR;
	scratch = 0;
	assert_int_equal(sr_test_init_memory(tweak), 0);
	const sr_tracer_t *t = sr_tracer_get("test", "1");
	end_span(t, "healthz", false);
	end_span(t, "GET /cart", false);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	assert_int_equal(sr_memory_count(), 1);
	assert_non_null(d = sr_test_find_span("GET /cart"));
	assert_true(name_is(d->attrs[d->attr_count - 1].key, "example.processed"));
	assert_string_equal(pstats(0)->name, "example");
	assert_int_equal(sr_test_proc_rule(pstats(0), "health_check", true), 1);
	sr_memory_clear();
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_edits_drops_and_counts),
		cmocka_unit_test(test_shared_decode_follows_edits),
		cmocka_unit_test(test_all_dropped),
		cmocka_unit_test(test_scratch_bound),
		cmocka_unit_test(test_bad_names_fail_init),
		cmocka_unit_test(test_register_checks),
		cmocka_unit_test(test_env),
#ifdef SR_EXAMPLE_PROCESSOR
		cmocka_unit_test(test_plugin),
#endif
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
