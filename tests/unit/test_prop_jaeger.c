/*
 * test_prop_jaeger.c - Jaeger uber-trace-id and uberctx- baggage: variable
 * length ids, flags, percent-encoded values, both hex cases, malformed
 * fields, and inject.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "testutil.h"
#include "prop_carrier.h"

static pc_t carrier, out;
static sr_propagator_t *jg;

#define T "4bf92f3577b34da6a3ce929d0e0e4736"
#define S "00f067aa0ba902b7"

struct jcase {
	const char *value;
	int rc;
	const char *trace, *span;
	int flags;
	int sampling;
};

static void hex(const uint8_t *b, size_t n, char *o)
{
	for (size_t i = 0; i < n; i++)
		sprintf(o + 2 * i, "%02x", b[i]);
}

static void test_table(void **state)
{
	static const struct jcase cases[] = {
		{ T ":" S ":0:1", 0, T, S, 1, -1 },
		{ T ":" S ":0:01", 0, T, S, 1, -1 },
		{ T ":" S ":0:0", 0, T, S, 0, -1 },
		{ T ":" S ":0:00", 0, T, S, 0, -1 },
		{ T ":" S ":0:3", 0, T, S, 1, 2 },       /* sampled + debug */
		{ T ":" S ":0:2", 0, T, S, 1, 2 },       /* debug implies it */
		{ T ":" S ":0:ff", 0, T, S, 1, 2 },
		{ T ":" S ":0:8", 0, T, S, 0, -1 },      /* firehose only */
		{ T ":" S ":53ce929d0e0e4736:1", 0, T, S, 1, -1 },
		/* Short ids are left-padded. */
		{ "deadbeef:1:0:1", 0, "000000000000000000000000deadbeef",
		  "0000000000000001", 1, -1 },
		{ "a3ce929d0e0e4736:" S ":0:1", 0,
		  "0000000000000000a3ce929d0e0e4736", S, 1, -1 },
		/* Either hex case; OWS; percent-encoded separators. */
		{ "4BF92F3577B34DA6A3CE929D0E0E4736:00F067AA0BA902B7:0:1", 0, T, S, 1, -1 },
		{ " " T ":" S ":0:1\t", 0, T, S, 1, -1 },
		{ T "%3A" S "%3a0%3A1", 0, T, S, 1, -1 },
		/* Malformed. */
		{ T ":" S ":0", SR_EINVAL, NULL, NULL, 0, -1 },
		{ T ":" S ":0:1:", SR_EINVAL, NULL, NULL, 0, -1 },
		{ T ":" S ":0:1:2", SR_EINVAL, NULL, NULL, 0, -1 },
		{ T "0:" S ":0:1", SR_EINVAL, NULL, NULL, 0, -1 },
		{ T ":" S "0:0:1", SR_EINVAL, NULL, NULL, 0, -1 },
		{ T ":" S ":0:100", SR_EINVAL, NULL, NULL, 0, -1 },
		{ T ":" S "::1", SR_EINVAL, NULL, NULL, 0, -1 },
		{ T "::0:1", SR_EINVAL, NULL, NULL, 0, -1 },
		{ ":" S ":0:1", SR_EINVAL, NULL, NULL, 0, -1 },
		{ "0:" S ":0:1", SR_EINVAL, NULL, NULL, 0, -1 },
		{ "00000000000000000000000000000000:" S ":0:1", SR_EINVAL, NULL, NULL, 0, -1 },
		{ T ":0:0:1", SR_EINVAL, NULL, NULL, 0, -1 },
		{ T ":" S ":0:g", SR_EINVAL, NULL, NULL, 0, -1 },
		{ T ":" S ":x:1", SR_EINVAL, NULL, NULL, 0, -1 },
		{ T "%3" S ":0:1", SR_EINVAL, NULL, NULL, 0, -1 },
		{ T "%zz" S ":0:1", SR_EINVAL, NULL, NULL, 0, -1 },
		{ T ": " S ":0:1", SR_EINVAL, NULL, NULL, 0, -1 },
		{ "", SR_EINVAL, NULL, NULL, 0, -1 },
		{ ":::", SR_EINVAL, NULL, NULL, 0, -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct jcase *c = &cases[i];
		sr_extract_info_t info;
		sr_context_t ctx;
		char t[33], s[17];
		int rc;

		pc_reset(&carrier);
		pc_add(&carrier, "uber-trace-id", c->value);
		rc = sr_propagator_extract_ex(jg, &carrier, &pc_getter, &ctx, &info);
		if (rc != c->rc)
			fail_msg("case %zu '%s': rc %d want %d", i, c->value, rc,
				 c->rc);
		assert_int_equal(info.sampling, c->sampling);
		if (rc) {
			static const sr_context_t zero;
			assert_memory_equal(&ctx, &zero, sizeof(ctx));
			assert_int_equal(info.malformed, SR_PROP_JAEGER);
			continue;
		}
		hex(ctx.trace_id, 16, t);
		hex(ctx.span_id, 8, s);
		assert_string_equal(t, c->trace);
		assert_string_equal(s, c->span);
		assert_int_equal(ctx.trace_flags, c->flags);
		assert_int_equal(info.source, SR_PROP_JAEGER);
	}
}

static void test_uberctx(void **state)
{
	sr_context_t ctx;
	char buf[32];
	size_t len;

	(void)state;
	pc_reset(&carrier);
	pc_add(&carrier, "uber-trace-id", T ":" S ":0:1");
	pc_add(&carrier, "uberctx-User", "alice%20b");
	pc_add(&carrier, "UBERCTX-tier", " gold ");
	pc_add(&carrier, "uberctx-", "ignored");
	pc_add(&carrier, "x-uberctx-no", "ignored");
	assert_int_equal(sr_propagator_extract(jg, &carrier, &pc_getter, &ctx), 0);
	assert_int_equal(sr_baggage_count(&ctx), 2);
	assert_int_equal(sr_baggage_get(&ctx, "user", buf, sizeof(buf), &len), 0);
	assert_string_equal(buf, "alice b");
	assert_int_equal(sr_baggage_get(&ctx, "tier", buf, sizeof(buf), &len), 0);
	assert_string_equal(buf, "gold");

	/* Baggage without ids. */
	pc_reset(&carrier);
	pc_add(&carrier, "uberctx-k", "v");
	assert_int_equal(sr_propagator_extract(jg, &carrier, &pc_getter, &ctx),
			 SR_ENOTFOUND);
	assert_int_equal(sr_baggage_count(&ctx), 1);
}

/* One bad uberctx- field drops all of them (never half the baggage); the
 * trace ids stay. */
static void test_uberctx_malformed(void **state)
{
	sr_propagation_stats_t a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	sr_context_t ctx;

	(void)state;
	pc_reset(&carrier);
	pc_add(&carrier, "uber-trace-id", T ":" S ":0:1");
	pc_add(&carrier, "uberctx-a", "1");
	pc_add(&carrier, "uberctx-b", "%zz");
	pc_add(&carrier, "uberctx-c", "3");
	sr_propagation_stats_get(&a);
	assert_int_equal(sr_propagator_extract(jg, &carrier, &pc_getter, &ctx), 0);
	sr_propagation_stats_get(&b);
	assert_int_equal(sr_baggage_count(&ctx), 0);
	assert_int_equal(b.malformed[SR_PF_UBERCTX] - a.malformed[SR_PF_UBERCTX], 1);
	pc_reset(&carrier);
	pc_add(&carrier, "uberctx-a(", "1");   /* not a token */
	assert_int_equal(sr_propagator_extract(jg, &carrier, &pc_getter, &ctx),
			 SR_ENOTFOUND);
	assert_int_equal(sr_baggage_count(&ctx), 0);
}

/* Without a key iterator, uberctx- baggage cannot be found. */
static void test_no_iterator(void **state)
{
	static const sr_carrier_getter_t get_only = { pc_get, NULL };
	sr_context_t ctx;

	(void)state;
	pc_reset(&carrier);
	pc_add(&carrier, "uber-trace-id", T ":" S ":0:1");
	pc_add(&carrier, "uberctx-a", "1");
	assert_int_equal(sr_propagator_extract(jg, &carrier, &get_only, &ctx), 0);
	assert_int_equal(sr_baggage_count(&ctx), 0);
}

static void test_inject(void **state)
{
	sr_context_t ctx, back;
	char buf[32];

	(void)state;
	pc_reset(&carrier);
	pc_add(&carrier, "uber-trace-id", "deadbeef:1:0:3");
	assert_int_equal(sr_propagator_extract(jg, &carrier, &pc_getter, &ctx), 0);
	assert_int_equal(sr_baggage_set(&ctx, "Who", "a b,c", 5, "prop", &ctx), 0);
	pc_reset(&out);
	sr_propagator_inject(jg, &ctx, &out, pc_set);
	assert_int_equal(out.n, 2);
	assert_string_equal(pc_find(&out, "uber-trace-id", NULL),
			    "000000000000000000000000deadbeef:0000000000000001:0:1");
	assert_string_equal(pc_find(&out, "uberctx-who", NULL), "a%20b%2Cc");
	assert_int_equal(sr_propagator_extract(jg, &out, &pc_getter, &back), 0);
	assert_memory_equal(back.trace_id, ctx.trace_id, 16);
	assert_memory_equal(back.span_id, ctx.span_id, 8);
	assert_int_equal(back.trace_flags, 1);
	assert_int_equal(sr_baggage_get(&back, "who", buf, sizeof(buf), NULL), 0);
	assert_string_equal(buf, "a b,c");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_uberctx),
		cmocka_unit_test(test_uberctx_malformed),
		cmocka_unit_test(test_no_iterator),
		cmocka_unit_test(test_inject),
	};

	if (sr_propagator_create("jaeger", &jg))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
