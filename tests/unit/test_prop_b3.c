/*
 * test_prop_b3.c - B3 single and multi header extract and inject: 64- and
 * 128-bit trace ids, sampling states (1, 0, d, legacy true/false, the
 * debug flag), sampling-only decisions, precedence of the single header,
 * and the malformed cases.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "testutil.h"
#include "prop_carrier.h"

static pc_t carrier, out;
static sr_propagator_t *b3, *b3m;

#define T128 "80f198ee56343ba864fe8b2a57d3eff7"
#define T64 "64fe8b2a57d3eff7"
#define S "e457b5a2e4d86bd1"
#define P "05e3ac9a4f6e3b90"

struct b3case {
	const char *single;               /* b3 field or NULL           */
	const char *multi[5];             /* traceid, spanid, parent,
	                                     sampled, flags (NULL: absent) */
	int rc;
	const char *trace;                /* expected when rc == 0      */
	int flags;
	int sampling;                     /* info.sampling              */
	unsigned malformed;               /* info.malformed bits        */
};

static void hex(const uint8_t *b, size_t n, char *o)
{
	for (size_t i = 0; i < n; i++)
		sprintf(o + 2 * i, "%02x", b[i]);
}

static void test_table(void **state)
{
	static const struct b3case cases[] = {
		/* Single header. */
		{ T128 "-" S "-1-" P, { 0 }, 0, T128, 1, 1, 0 },
		{ T128 "-" S "-1", { 0 }, 0, T128, 1, 1, 0 },
		{ T128 "-" S "-0", { 0 }, 0, T128, 0, 0, 0 },
		{ T128 "-" S "-d", { 0 }, 0, T128, 1, 2, 0 },
		{ T128 "-" S, { 0 }, 0, T128, 0, -1, 0 },
		{ T64 "-" S "-1", { 0 }, 0, "0000000000000000" T64, 1, 1, 0 },
		{ " " T128 "-" S "-1 ", { 0 }, 0, T128, 1, 1, 0 },
		/* Sampling-only. */
		{ "0", { 0 }, SR_ENOTFOUND, NULL, 0, 0, 0 },
		{ "1", { 0 }, SR_ENOTFOUND, NULL, 0, 1, 0 },
		{ "d", { 0 }, SR_ENOTFOUND, NULL, 0, 2, 0 },
		/* Malformed single headers. */
		{ "2", { 0 }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3 },
		{ "true", { 0 }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3 },
		{ "80F198EE56343BA864FE8B2A57D3EFF7-" S "-1", { 0 }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3 },
		{ "80f198ee56343ba864fe-" S "-1", { 0 }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3 },
		{ T128 "-e457b5a2e4d86bd-1", { 0 }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3 },
		{ T128 "-" S "-2", { 0 }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3 },
		{ T128 "-" S "-", { 0 }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3 },
		{ T128 "-" S "-1-05e3ac9a4f6e3b9", { 0 }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3 },
		{ T128 "-" S "-1-" P "-x", { 0 }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3 },
		{ "00000000000000000000000000000000-" S "-1", { 0 }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3 },
		{ T128 "-0000000000000000-1", { 0 }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3 },
		{ "", { 0 }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3 },
		{ "-", { 0 }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3 },
		/* Multi headers. */
		{ NULL, { T128, S, NULL, "1", NULL }, 0, T128, 1, 1, 0 },
		{ NULL, { T128, S, P, "0", NULL }, 0, T128, 0, 0, 0 },
		{ NULL, { T64, S, NULL, NULL, NULL }, 0, "0000000000000000" T64, 0, -1, 0 },
		{ NULL, { T128, S, NULL, "true", NULL }, 0, T128, 1, 1, 0 },
		{ NULL, { T128, S, NULL, "False", NULL }, 0, T128, 0, 0, 0 },
		{ NULL, { T128, S, NULL, NULL, "1" }, 0, T128, 1, 2, 0 },
		{ NULL, { " " T128 "\t", S, NULL, "1 ", NULL }, 0, T128, 1, 1, 0 },
		{ NULL, { NULL, NULL, NULL, "0", NULL }, SR_ENOTFOUND, NULL, 0, 0, 0 },
		{ NULL, { NULL, NULL, NULL, NULL, "1" }, SR_ENOTFOUND, NULL, 0, 2, 0 },
		{ NULL, { NULL, NULL, NULL, NULL, NULL }, SR_ENOTFOUND, NULL, 0, -1, 0 },
		{ NULL, { NULL, S, NULL, "1", NULL }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3MULTI },
		{ NULL, { T128, NULL, NULL, "1", NULL }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3MULTI },
		{ NULL, { NULL, NULL, P, NULL, NULL }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3MULTI },
		{ NULL, { T128, S, NULL, "yes", NULL }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3MULTI },
		{ NULL, { T128, S, NULL, NULL, "2" }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3MULTI },
		{ NULL, { T128, S, "123", NULL, NULL }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3MULTI },
		{ NULL, { T128 "0", S, NULL, NULL, NULL }, SR_EINVAL, NULL, 0, -1, SR_PROP_B3MULTI },
		/* The single header wins; a malformed one falls back. */
		{ T128 "-" S "-1", { T64, S, NULL, "0", NULL }, 0, T128, 1, 1, 0 },
		{ "garbage", { T64, S, NULL, "1", NULL }, 0, "0000000000000000" T64, 1, 1, SR_PROP_B3 },
	};
	static const char *names[5] = { "X-B3-TraceId", "X-B3-SpanId",
					"X-B3-ParentSpanId", "X-B3-Sampled",
					"X-B3-Flags" };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct b3case *c = &cases[i];
		sr_extract_info_t info;
		sr_context_t ctx;
		char t[33], s[17];
		int rc;

		pc_reset(&carrier);
		if (c->single)
			pc_add(&carrier, "b3", c->single);
		for (int j = 0; j < 5; j++)
			if (c->multi[j])
				pc_add(&carrier, names[j], c->multi[j]);
		rc = sr_propagator_extract_ex(b3, &carrier, &pc_getter, &ctx, &info);
		if (rc != c->rc)
			fail_msg("case %zu: rc %d want %d", i, rc, c->rc);
		assert_int_equal(info.sampling, c->sampling);
		assert_int_equal(info.malformed, c->malformed);
		if (rc != 0) {
			assert_false(sr_context_is_valid(&ctx));
			assert_int_equal(ctx.trace_flags, 0);
			continue;
		}
		hex(ctx.trace_id, 16, t);
		hex(ctx.span_id, 8, s);
		assert_string_equal(t, c->trace);
		assert_string_equal(s, S);
		assert_int_equal(ctx.trace_flags, c->flags);
		assert_int_equal(ctx.remote, 1);
		assert_int_equal(info.source & (SR_PROP_B3 | SR_PROP_B3MULTI),
				 info.source);
	}
}

static void test_inject_single(void **state)
{
	sr_context_t ctx, back;

	(void)state;
	pc_reset(&carrier);
	pc_add(&carrier, "b3", T64 "-" S "-d");
	assert_int_equal(sr_propagator_extract(b3, &carrier, &pc_getter, &ctx), 0);
	pc_reset(&out);
	sr_propagator_inject(b3, &ctx, &out, pc_set);
	assert_int_equal(out.n, 1);
	assert_string_equal(pc_find(&out, "b3", NULL),
			    "0000000000000000" T64 "-" S "-1");
	assert_int_equal(sr_propagator_extract(b3m, &out, &pc_getter, &back), 0);
	assert_memory_equal(&ctx, &back, sizeof(ctx));
}

static void test_inject_multi(void **state)
{
	sr_context_t ctx, back;

	(void)state;
	pc_reset(&carrier);
	pc_add(&carrier, "b3", T128 "-" S "-0");
	assert_int_equal(sr_propagator_extract(b3m, &carrier, &pc_getter, &ctx), 0);
	pc_reset(&out);
	sr_propagator_inject(b3m, &ctx, &out, pc_set);
	assert_int_equal(out.n, 3);
	assert_string_equal(pc_find(&out, "x-b3-traceid", NULL), T128);
	assert_string_equal(pc_find(&out, "x-b3-spanid", NULL), S);
	assert_string_equal(pc_find(&out, "x-b3-sampled", NULL), "0");
	assert_null(pc_find(&out, "b3", NULL));
	assert_int_equal(sr_propagator_extract(b3, &out, &pc_getter, &back), 0);
	assert_memory_equal(&ctx, &back, sizeof(ctx));
	/* Nothing for an invalid context. */
	memset(&ctx, 0, sizeof(ctx));
	pc_reset(&out);
	sr_propagator_inject(b3m, &ctx, &out, pc_set);
	sr_propagator_inject(b3, &ctx, &out, pc_set);
	assert_int_equal(out.n, 0);
}

/* Each multi field is length-checked (64 bytes) before it is read. */
static void test_multi_oversized(void **state)
{
	char big[80];
	sr_extract_info_t info;
	sr_context_t ctx;

	(void)state;
	memset(big, 'a', 65);
	big[65] = '\0';
	pc_reset(&carrier);
	pc_add(&carrier, "x-b3-traceid", T128);
	pc_add(&carrier, "x-b3-spanid", S);
	pc_add(&carrier, "x-b3-sampled", big);
	assert_int_equal(sr_propagator_extract_ex(b3, &carrier, &pc_getter, &ctx,
						  &info), SR_EINVAL);
	assert_int_equal(info.oversized, SR_PROP_B3MULTI);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_inject_single),
		cmocka_unit_test(test_inject_multi),
		cmocka_unit_test(test_multi_oversized),
	};

	if (sr_propagator_create("b3", &b3) || sr_propagator_create("b3multi", &b3m))
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
