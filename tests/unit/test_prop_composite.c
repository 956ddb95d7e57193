/*
 * test_prop_composite.c - propagator selection (OTEL_PROPAGATORS and
 * names), composite order (a later format's ids win, trace state goes
 * with its ids, baggage merges), inject of every format, argument checks,
 * and the input limits: an oversized field is rejected without reading
 * past the limit, checked against a guard page.  No sr_init() here:
 * propagation must work without the pipeline.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "testutil.h"
#include "prop_carrier.h"

static pc_t carrier, out;

#define TP_A "00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-aaaaaaaaaaaaaaaa-01"
#define B3_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-bbbbbbbbbbbbbbbb-0"
#define B3_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-aaaaaaaaaaaaaaaa-1"

static sr_propagator_t *mk(const char *names)
{
	sr_propagator_t *p = NULL;
	int rc = sr_propagator_create(names, &p);

	assert_true(rc == 0 || rc == SR_ENOTFOUND);
	assert_non_null(p);
	return p;
}

static void test_names(void **state)
{
	static const struct {
		const char *names;
		unsigned formats;
		int rc;
		const char *bad;   /* named in sr_last_error() */
	} cases[] = {
		{ "tracecontext,baggage", SR_PROP_TRACECONTEXT | SR_PROP_BAGGAGE, 0, NULL },
		{ " TraceContext , BAGGAGE ", SR_PROP_TRACECONTEXT | SR_PROP_BAGGAGE, 0, NULL },
		{ "b3", SR_PROP_B3, 0, NULL },
		{ "b3multi", SR_PROP_B3MULTI, 0, NULL },
		{ "jaeger", SR_PROP_JAEGER, 0, NULL },
		{ "none", 0, 0, NULL },
		{ "", 0, 0, NULL },
		{ ",,", 0, 0, NULL },
		{ "b3,b3,b3multi", SR_PROP_B3 | SR_PROP_B3MULTI, 0, NULL },
		{ "xray,jaeger", SR_PROP_JAEGER, SR_ENOTFOUND, "'xray'" },
		{ "b3 multi", 0, SR_ENOTFOUND, "'b3 multi'" },
	};
	sr_propagator_t *p;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = sr_propagator_create(cases[i].names, &p);
		assert_int_equal(rc, cases[i].rc);
		assert_int_equal(sr_propagator_formats(p), cases[i].formats);
		if (rc)
			assert_non_null(strstr(sr_last_error(), cases[i].bad));
		sr_propagator_destroy(p);
	}
	assert_int_equal(sr_propagator_create(NULL, &p), SR_EINVAL);
	sr_propagator_destroy(NULL);
}

/* OTEL_PROPAGATORS is read once; unknown names are skipped. */
static void test_from_env(void **state)
{
	const sr_propagator_t *p;

	(void)state;
	setenv("OTEL_PROPAGATORS", " b3multi,bogus, jaeger", 1);
	p = sr_propagator_from_env();
	assert_int_equal(sr_propagator_formats(p), SR_PROP_B3MULTI | SR_PROP_JAEGER);
	setenv("OTEL_PROPAGATORS", "tracecontext", 1);
	assert_ptr_equal(sr_propagator_from_env(), p);
	assert_int_equal(sr_propagator_formats(p), SR_PROP_B3MULTI | SR_PROP_JAEGER);
}

/* Later formats win; "none" extracts and injects nothing. */
static void test_order(void **state)
{
	sr_propagator_t *tb = mk("tracecontext,b3"), *bt = mk("b3,tracecontext");
	sr_propagator_t *none = mk("none");
	sr_extract_info_t info;
	sr_context_t ctx;

	(void)state;
	pc_reset(&carrier);
	pc_add(&carrier, "traceparent", TP_A);
	pc_add(&carrier, "tracestate", "k=v");
	pc_add(&carrier, "b3", B3_B);
	assert_int_equal(sr_propagator_extract_ex(tb, &carrier, &pc_getter, &ctx,
						  &info), 0);
	assert_int_equal(ctx.trace_id[0], 0xbb);
	assert_int_equal(ctx.trace_flags, 0);
	assert_int_equal(ctx.state_[0], 0);   /* tracestate went with A */
	assert_int_equal(info.source, SR_PROP_B3);
	assert_int_equal(info.found, SR_PROP_B3 | SR_PROP_TRACECONTEXT);
	assert_int_equal(sr_propagator_extract_ex(bt, &carrier, &pc_getter, &ctx,
						  &info), 0);
	assert_int_equal(ctx.trace_id[0], 0xaa);
	assert_int_not_equal(ctx.state_[0], 0);
	assert_int_equal(info.source, SR_PROP_TRACECONTEXT);

	/* Same ids from both: the trace state stays. */
	pc_reset(&carrier);
	pc_add(&carrier, "traceparent", TP_A);
	pc_add(&carrier, "tracestate", "k=v");
	pc_add(&carrier, "b3", B3_A);
	assert_int_equal(sr_propagator_extract(tb, &carrier, &pc_getter, &ctx), 0);
	assert_int_not_equal(ctx.state_[0], 0);

	carrier.gets = 0;
	assert_int_equal(sr_propagator_extract(none, &carrier, &pc_getter, &ctx),
			 SR_ENOTFOUND);
	assert_int_equal(carrier.gets, 0); /* none reads nothing */
	pc_reset(&out);
	sr_propagator_inject(none, &ctx, &out, pc_set);
	assert_int_equal(out.n, 0);
	sr_propagator_destroy(tb);
	sr_propagator_destroy(bt);
	sr_propagator_destroy(none);
}

/* A malformed traceparent does not stop a valid B3 after it. */
static void test_malformed_then_valid(void **state)
{
	sr_propagator_t *p = mk("tracecontext,b3");
	sr_extract_info_t info;
	sr_context_t ctx;

	(void)state;
	pc_reset(&carrier);
	pc_add(&carrier, "traceparent", "00-zz");
	pc_add(&carrier, "b3", B3_B);
	assert_int_equal(sr_propagator_extract_ex(p, &carrier, &pc_getter, &ctx,
						  &info), 0);
	assert_int_equal(info.malformed, SR_PROP_TRACECONTEXT);
	assert_int_equal(info.source, SR_PROP_B3);
	sr_propagator_destroy(p);
}

/* Baggage from W3C baggage and uberctx- merges; later wins per key. */
static void test_baggage_merge(void **state)
{
	sr_propagator_t *p = mk("baggage,jaeger");
	sr_context_t ctx;
	char buf[16];

	(void)state;
	pc_reset(&carrier);
	pc_add(&carrier, "baggage", "a=1,b=2");
	pc_add(&carrier, "uberctx-b", "3");
	pc_add(&carrier, "uberctx-c", "4");
	assert_int_equal(sr_propagator_extract(p, &carrier, &pc_getter, &ctx),
			 SR_ENOTFOUND);
	assert_int_equal(sr_baggage_count(&ctx), 3);
	sr_baggage_get(&ctx, "a", buf, sizeof(buf), NULL);
	assert_string_equal(buf, "1");
	sr_baggage_get(&ctx, "b", buf, sizeof(buf), NULL);
	assert_string_equal(buf, "3");
	sr_baggage_get(&ctx, "c", buf, sizeof(buf), NULL);
	assert_string_equal(buf, "4");
	sr_propagator_destroy(p);
}

/* Every format injects; each reads back the same context. */
/*
 * sr_extract_info_t.dropped names each field this extract found and
 * threw away, the ones that do not cost the trace context too (a bad
 * tracestate next to a good traceparent).  Regression: only the process-
 * wide counters showed a dropped tracestate.
 */
static void test_extract_info_names_dropped_fields(void **state)
{
	static char huge[SR_PROP_TRACESTATE_MAX + 2];
	static const struct {
		const char *ts, *bag;
		unsigned dropped;
	} cases[] = {
		{ "rojo=1", "k=v", 0 },
		{ NULL, NULL, 0 },
		{ "FOO=1", "k=v", SR_EXTRACT_DROPPED(SR_PF_TRACESTATE) },
		{ "foo=1", "k=%zz", SR_EXTRACT_DROPPED(SR_PF_BAGGAGE) },
		{ "@x=1", "k", SR_EXTRACT_DROPPED(SR_PF_TRACESTATE) |
				       SR_EXTRACT_DROPPED(SR_PF_BAGGAGE) },
		{ huge, NULL, SR_EXTRACT_DROPPED(SR_PF_TRACESTATE) },
		/* A repeated key is not a dropped field. */
		{ "a=1,a=2", NULL, 0 },
	};
	sr_propagator_t *p = mk("tracecontext,baggage");
	sr_extract_info_t info;
	sr_context_t ctx;

	(void)state;
	memset(huge, 'a', sizeof(huge) - 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pc_reset(&carrier);
		pc_add(&carrier, "traceparent", TP_A);
		if (cases[i].ts)
			pc_add(&carrier, "tracestate", cases[i].ts);
		if (cases[i].bag)
			pc_add(&carrier, "baggage", cases[i].bag);
		assert_int_equal(sr_propagator_extract_ex(p, &carrier, &pc_getter,
							  &ctx, &info), 0);
		assert_int_equal(info.dropped, cases[i].dropped);
		assert_int_equal(info.found, SR_PROP_TRACECONTEXT);
		/* The trace context itself was fine. */
		assert_int_equal(info.malformed & SR_PROP_TRACECONTEXT, 0);
		assert_int_equal(info.oversized & SR_PROP_TRACECONTEXT, 0);
	}
	/* A bad traceparent is dropped too (and no tracestate is read). */
	pc_reset(&carrier);
	pc_add(&carrier, "traceparent", "00-zz");
	pc_add(&carrier, "tracestate", "FOO=1");
	assert_int_equal(sr_propagator_extract_ex(p, &carrier, &pc_getter, &ctx,
						  &info), SR_EINVAL);
	assert_int_equal(info.dropped, SR_EXTRACT_DROPPED(SR_PF_TRACEPARENT));
	sr_propagator_destroy(p);
}

static void test_inject_all(void **state)
{
	static const char *each[] = { "tracecontext", "b3", "b3multi", "jaeger" };
	sr_propagator_t *all = mk("tracecontext,baggage,b3,b3multi,jaeger");
	sr_propagation_stats_t a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	sr_context_t ctx, back;

	(void)state;
	pc_reset(&carrier);
	pc_add(&carrier, "traceparent",
	       "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	pc_add(&carrier, "baggage", "k=v");
	assert_int_equal(sr_propagator_extract(all, &carrier, &pc_getter, &ctx), 0);
	sr_propagation_stats_get(&a);
	pc_reset(&out);
	sr_propagator_inject(all, &ctx, &out, pc_set);
	sr_propagation_stats_get(&b);
	assert_int_equal(b.inject_calls - a.inject_calls, 1);
	assert_non_null(pc_find(&out, "traceparent", NULL));
	assert_string_equal(pc_find(&out, "baggage", NULL), "k=v");
	assert_non_null(pc_find(&out, "b3", NULL));
	assert_non_null(pc_find(&out, "x-b3-traceid", NULL));
	assert_non_null(pc_find(&out, "uber-trace-id", NULL));
	assert_string_equal(pc_find(&out, "uberctx-k", NULL), "v");
	for (size_t i = 0; i < 4; i++) {
		sr_propagator_t *p = mk(each[i]);
		assert_int_equal(sr_propagator_extract(p, &out, &pc_getter, &back), 0);
		assert_memory_equal(back.trace_id, ctx.trace_id, 16);
		assert_memory_equal(back.span_id, ctx.span_id, 8);
		assert_int_equal(back.trace_flags, ctx.trace_flags);
		sr_propagator_destroy(p);
	}
	sr_propagator_destroy(all);
}

static void test_bad_arguments(void **state)
{
	sr_propagator_t *p = mk("tracecontext");
	static const sr_carrier_getter_t noget = { NULL, NULL };
	sr_context_t ctx;

	(void)state;
	memset(&ctx, 0xff, sizeof(ctx));
	assert_int_equal(sr_propagator_extract(NULL, &carrier, &pc_getter, &ctx),
			 SR_EINVAL);
	assert_false(sr_context_is_valid(&ctx));
	assert_int_equal(sr_propagator_extract(p, &carrier, NULL, &ctx), SR_EINVAL);
	assert_int_equal(sr_propagator_extract(p, &carrier, &noget, &ctx),
			 SR_EINVAL);
	assert_int_equal(sr_propagator_extract(p, &carrier, &pc_getter, NULL),
			 SR_EINVAL);
	sr_propagator_inject(NULL, &ctx, &out, pc_set);
	sr_propagator_inject(p, NULL, &out, pc_set);
	sr_propagator_inject(p, &ctx, &out, NULL);
	assert_int_equal(sr_propagation_stats_get(NULL), SR_EINVAL);
	sr_propagator_destroy(p);
}

/* ---- limits against a guard page ------------------------------------- */

static char *guard_base;   /* two pages; the second is PROT_NONE */
static size_t page;

static struct {
	const char *ptr;
	size_t len;
} g_field;

static const char *guard_get(void *carrier_, const char *key, size_t *len)
{
	(void)carrier_;
	(void)key;
	*len = g_field.len;
	return g_field.ptr;
}

static void test_no_read_past_limit(void **state)
{
	static const struct {
		const char *names;
		size_t limit;
		enum sr_prop_field field;
	} f[] = {
		{ "tracecontext", SR_PROP_TRACEPARENT_MAX, SR_PF_TRACEPARENT },
		{ "baggage", SR_PROP_BAGGAGE_MAX, SR_PF_BAGGAGE },
		{ "b3", SR_PROP_B3_MAX, SR_PF_B3 },
		{ "jaeger", SR_PROP_JAEGER_MAX, SR_PF_JAEGER },
	};
	static const sr_carrier_getter_t g = { guard_get, NULL };
	char *end = guard_base + page;  /* first unreadable byte */

	(void)state;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		sr_propagator_t *p = mk(f[i].names);
		sr_propagation_stats_t a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
		sr_context_t ctx;

		sr_propagation_stats_get(&a);
		/* A huge length next to the guard: must not be read at all. */
		g_field.ptr = end - 8;
		memset(end - 8, 'a', 8);
		g_field.len = 1u << 30;
		assert_int_not_equal(sr_propagator_extract(p, NULL, &g, &ctx), 0);
		/* A C string with no NUL before the guard, exactly limit + 1
		 * readable bytes: measured with at most limit + 1 reads. */
		if (f[i].limit + 1 <= page) {
			g_field.ptr = end - (f[i].limit + 1);
			memset((char *)g_field.ptr, 'a', f[i].limit + 1);
			g_field.len = SR_CARRIER_LEN_CSTR;
			assert_int_not_equal(sr_propagator_extract(p, NULL, &g, &ctx), 0);
		}
		/* Exactly at the limit, NUL-terminated, is read (and parsed). */
		g_field.ptr = end - (f[i].limit + 1);
		memset((char *)g_field.ptr, ' ', f[i].limit);
		end[-1] = '\0';
		g_field.len = SR_CARRIER_LEN_CSTR;
		sr_propagator_extract(p, NULL, &g, &ctx);
		sr_propagation_stats_get(&b);
		assert_int_equal(b.oversized[f[i].field] - a.oversized[f[i].field],
				 f[i].limit + 1 <= page ? 2 : 1);
		sr_propagator_destroy(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_from_env),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_malformed_then_valid),
		cmocka_unit_test(test_baggage_merge),
		cmocka_unit_test(test_extract_info_names_dropped_fields),
		cmocka_unit_test(test_inject_all),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_no_read_past_limit),
	};

	page = (size_t)sysconf(_SC_PAGESIZE);
	while (page < SR_PROP_BAGGAGE_MAX + 1)
		page *= 2;  /* room for the largest limit before the guard */
	guard_base = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard_base == MAP_FAILED ||
	    mprotect(guard_base + page, page, PROT_NONE) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
