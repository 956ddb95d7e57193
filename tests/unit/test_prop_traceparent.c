/*
 * test_prop_traceparent.c - W3C traceparent extract and inject, table-
 * driven from the Level 1 spec's examples and the W3C test suite's cases
 * (version handling, future versions, ids, flags, OWS, duplicates, case).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "testutil.h"
#include "prop_carrier.h"

static pc_t carrier;
static sr_propagator_t *tc;

#define TID "12345678901234567890123456789012"
#define SID "1234567890123456"

struct tp_case {
	const char *value;   /* NULL: no field at all                     */
	int rc;              /* expected extract result                   */
	const char *trace;   /* expected ids (rc == 0)                    */
	const char *span;
	int flags;
};

static const struct tp_case cases[] = {
	/* Spec examples. */
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 0,
	  "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1 },
	{ "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", 0,
	  "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 0 },
	{ "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", 0,
	  "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", 1 },
	/* Flags are a bit field: 09 is sampled plus a reserved bit. */
	{ "00-" TID "-" SID "-09", 0, TID, SID, 0x09 },
	{ "00-" TID "-" SID "-ff", 0, TID, SID, 0xff },
	{ "00-" TID "-" SID "-02", 0, TID, SID, 0x02 },
	/* OWS around the value is not part of it. */
	{ " 00-" TID "-" SID "-01", 0, TID, SID, 1 },
	{ "\t00-" TID "-" SID "-01", 0, TID, SID, 1 },
	{ "00-" TID "-" SID "-01 ", 0, TID, SID, 1 },
	{ "00-" TID "-" SID "-01\t", 0, TID, SID, 1 },
	{ "\t 00-" TID "-" SID "-01 \t", 0, TID, SID, 1 },
	/* Future versions: parse the 00 prefix, then end or '-'. */
	{ "cc-" TID "-" SID "-01", 0, TID, SID, 1 },
	{ "cc-" TID "-" SID "-01-what-the-future-will-be-like", 0, TID, SID, 1 },
	{ "01-" TID "-" SID "-01-", 0, TID, SID, 1 },
	{ "fe-" TID "-" SID "-00", 0, TID, SID, 0 },
	/* ... of whose flags only the Level 2 bits (sampled, random) are
	 * known (regression: the random bit was lost). */
	{ "cc-" TID "-" SID "-09", 0, TID, SID, 1 },
	{ "cc-" TID "-" SID "-08", 0, TID, SID, 0 },
	{ "cc-" TID "-" SID "-02", 0, TID, SID, 2 },
	{ "cc-" TID "-" SID "-0b", 0, TID, SID, 3 },
	{ "cc-" TID "-" SID "-ff-x", 0, TID, SID, 3 },
	{ "cc-" TID "-" SID "-01.what-the-future-will-be-like", SR_EINVAL, NULL, NULL, 0 },
	{ "cc-" TID "-" SID "-0", SR_EINVAL, NULL, NULL, 0 },        /* shorter than 55 */
	{ "cc-" TID "-" SID "-1x", SR_EINVAL, NULL, NULL, 0 },
	/* Version 00 is exactly 55 chars. */
	{ "00-" TID "-" SID "-01.", SR_EINVAL, NULL, NULL, 0 },
	{ "00-" TID "-" SID "-01-what-the-future-will-be-like", SR_EINVAL, NULL, NULL, 0 },
	{ "00-" TID "-" SID "-01-", SR_EINVAL, NULL, NULL, 0 },
	/* Version ff is forbidden; version must be 2 lowercase hex. */
	{ "ff-" TID "-" SID "-01", SR_EINVAL, NULL, NULL, 0 },
	{ ".0-" TID "-" SID "-01", SR_EINVAL, NULL, NULL, 0 },
	{ "0.-" TID "-" SID "-01", SR_EINVAL, NULL, NULL, 0 },
	{ "0A-" TID "-" SID "-01", SR_EINVAL, NULL, NULL, 0 },
	{ "000-" TID "-" SID "-01", SR_EINVAL, NULL, NULL, 0 },
	{ "0000-" TID "-" SID "-01", SR_EINVAL, NULL, NULL, 0 },
	{ "0-" TID "-" SID "-01", SR_EINVAL, NULL, NULL, 0 },
	/* All-zero ids. */
	{ "00-00000000000000000000000000000000-" SID "-01", SR_EINVAL, NULL, NULL, 0 },
	{ "00-" TID "-0000000000000000-01", SR_EINVAL, NULL, NULL, 0 },
	{ "cc-00000000000000000000000000000000-" SID "-01", SR_EINVAL, NULL, NULL, 0 },
	/* Illegal characters, uppercase hex. */
	{ "00-.2345678901234567890123456789012-" SID "-01", SR_EINVAL, NULL, NULL, 0 },
	{ "00-1234567890123456789012345678901.-" SID "-01", SR_EINVAL, NULL, NULL, 0 },
	{ "00-4BF92F3577B34DA6A3CE929D0E0E4736-" SID "-01", SR_EINVAL, NULL, NULL, 0 },
	{ "00-" TID "-.234567890123456-01", SR_EINVAL, NULL, NULL, 0 },
	{ "00-" TID "-123456789012345.-01", SR_EINVAL, NULL, NULL, 0 },
	{ "00-" TID "-00F067AA0BA902B7-01", SR_EINVAL, NULL, NULL, 0 },
	{ "00-" TID "-" SID "-.0", SR_EINVAL, NULL, NULL, 0 },
	{ "00-" TID "-" SID "-0.", SR_EINVAL, NULL, NULL, 0 },
	{ "00-" TID "-" SID "-0A", SR_EINVAL, NULL, NULL, 0 },
	{ "00-" TID "-" SID "- 1", SR_EINVAL, NULL, NULL, 0 },
	/* Wrong lengths of each field. */
	{ "00-123456789012345678901234567890123-" SID "-01", SR_EINVAL, NULL, NULL, 0 },
	{ "00-1234567890123456789012345678901-" SID "-01", SR_EINVAL, NULL, NULL, 0 },
	{ "00-" TID "-12345678901234567-01", SR_EINVAL, NULL, NULL, 0 },
	{ "00-" TID "-123456789012345-01", SR_EINVAL, NULL, NULL, 0 },
	{ "00-" TID "-" SID "-001", SR_EINVAL, NULL, NULL, 0 },
	{ "00-" TID "-" SID "-1", SR_EINVAL, NULL, NULL, 0 },
	/* Other delimiters, blanks inside, empty. */
	{ "00_" TID "_" SID "_01", SR_EINVAL, NULL, NULL, 0 },
	{ "00-" TID " " SID "-01", SR_EINVAL, NULL, NULL, 0 },
	{ "", SR_EINVAL, NULL, NULL, 0 },
	{ "   ", SR_EINVAL, NULL, NULL, 0 },
	/* Absent. */
	{ NULL, SR_ENOTFOUND, NULL, NULL, 0 },
};

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void test_table(void **state)
{
	sr_propagation_stats_t before = { .size = sizeof(before) }, after = { .size = sizeof(after) };
	uint64_t bad = 0, good = 0;

	(void)state;
	sr_propagation_stats_get(&before);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tp_case *c = &cases[i];
		sr_context_t ctx;
		char t[33], s[17];
		int rc;

		pc_reset(&carrier);
		if (c->value)
			pc_add(&carrier, "traceparent", c->value);
		memset(&ctx, 0xa5, sizeof(ctx));
		rc = sr_propagator_extract(tc, &carrier, &pc_getter, &ctx);
		if (rc != c->rc)
			fail_msg("case %zu '%s': rc %d, want %d", i,
				 c->value ? c->value : "(none)", rc, c->rc);
		if (rc != 0) {
			/* "No context": fully zeroed, never half-parsed. */
			static const sr_context_t zero;
			assert_memory_equal(&ctx, &zero, sizeof(ctx));
			bad += c->value != NULL;
			continue;
		}
		good++;
		hex(ctx.trace_id, 16, t);
		hex(ctx.span_id, 8, s);
		assert_string_equal(t, c->trace);
		assert_string_equal(s, c->span);
		assert_int_equal(ctx.trace_flags, c->flags);
		assert_int_equal(ctx.remote, 1);
		assert_int_equal(ctx.state_[0], 0);
	}
	sr_propagation_stats_get(&after);
	assert_int_equal(after.malformed[SR_PF_TRACEPARENT] -
				 before.malformed[SR_PF_TRACEPARENT], bad);
	assert_int_equal(after.ok[SR_PF_TRACEPARENT] -
				 before.ok[SR_PF_TRACEPARENT], good);
}

/* Two traceparent fields combine to "a,b", which is invalid (W3C test
 * suite: a duplicated traceparent restarts the trace). */
static void test_duplicated_field(void **state)
{
	sr_context_t ctx;

	(void)state;
	pc_reset(&carrier);
	pc_add(&carrier, "traceparent", "00-" TID "-" SID "-01");
	pc_add(&carrier, "traceparent", "00-12345678901234567890123456789011-" SID "-01");
	assert_int_equal(sr_propagator_extract(tc, &carrier, &pc_getter, &ctx),
			 SR_EINVAL);
	assert_false(sr_context_is_valid(&ctx));
}

/* Field names: any case is the same field; other spellings are not. */
static void test_field_names(void **state)
{
	static const char *valid[] = { "traceparent", "TraceParent",
				       "TrAcEpArEnT", "TRACEPARENT" };
	static const char *other[] = { "trace-parent", "trace.parent",
				       "traceparent2" };
	sr_context_t ctx;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		pc_reset(&carrier);
		pc_add(&carrier, valid[i], "00-" TID "-" SID "-01");
		assert_int_equal(sr_propagator_extract(tc, &carrier, &pc_getter,
						       &ctx), 0);
	}
	for (size_t i = 0; i < 3; i++) {
		pc_reset(&carrier);
		pc_add(&carrier, other[i], "00-" TID "-" SID "-01");
		assert_int_equal(sr_propagator_extract(tc, &carrier, &pc_getter,
						       &ctx), SR_ENOTFOUND);
	}
}

/* Inject writes version 00, lowercase, only the Level 2 flags (sampled
 * and random; regression: the random flag was dropped). */
static void test_inject_format(void **state)
{
	static const struct {
		const char *in, *out;
	} rt[] = {
		{ "00-" TID "-" SID "-01", "00-" TID "-" SID "-01" },
		{ "00-" TID "-" SID "-00", "00-" TID "-" SID "-00" },
		{ "00-" TID "-" SID "-02", "00-" TID "-" SID "-02" },
		{ "00-" TID "-" SID "-03", "00-" TID "-" SID "-03" },
		{ "00-" TID "-" SID "-ff", "00-" TID "-" SID "-03" },
		{ "00-" TID "-" SID "-fe", "00-" TID "-" SID "-02" },
		{ "00-" TID "-" SID "-fc", "00-" TID "-" SID "-00" },
		{ "cc-" TID "-" SID "-01-future", "00-" TID "-" SID "-01" },
		{ "cc-" TID "-" SID "-03-future", "00-" TID "-" SID "-03" },
		{ " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
		  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
	};
	static pc_t out;
	sr_context_t ctx;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(rt) / sizeof(rt[0]); i++) {
		pc_reset(&carrier);
		pc_add(&carrier, "traceparent", rt[i].in);
		assert_int_equal(sr_propagator_extract(tc, &carrier, &pc_getter,
						       &ctx), 0);
		pc_reset(&out);
		sr_propagator_inject(tc, &ctx, &out, pc_set);
		assert_string_equal(pc_find(&out, "traceparent", &len),
				    rt[i].out);
		assert_int_equal(len, 55);
		assert_null(pc_find(&out, "tracestate", NULL));
	}
}

/* An invalid context injects nothing. */
static void test_inject_invalid(void **state)
{
	static pc_t out;
	sr_context_t ctx;

	(void)state;
	memset(&ctx, 0, sizeof(ctx));
	ctx.trace_id[3] = 1;  /* span id still zero */
	pc_reset(&out);
	sr_propagator_inject(tc, &ctx, &out, pc_set);
	assert_int_equal(out.n, 0);
}

/* Round trip of random ids and flags. */
static void test_roundtrip_random(void **state)
{
	uint64_t seed = sr_test_seed(6), r;
	static pc_t out;

	(void)state;
	for (int i = 0; i < 2000; i++) {
		sr_context_t a, b;

		memset(&a, 0, sizeof(a));
		for (int j = 0; j < 16; j += 8) {
			r = sr_test_rand(&seed);
			memcpy(a.trace_id + j, &r, 8);
		}
		r = sr_test_rand(&seed);
		memcpy(a.span_id, &r, 8);
		a.trace_id[0] |= (uint8_t)(i == 0);  /* never all zero */
		a.span_id[7] |= 1;
		a.trace_flags = (uint8_t)(r >> 60) & 1;
		pc_reset(&out);
		sr_propagator_inject(tc, &a, &out, pc_set);
		assert_int_equal(sr_propagator_extract(tc, &out, &pc_getter, &b), 0);
		assert_memory_equal(a.trace_id, b.trace_id, 16);
		assert_memory_equal(a.span_id, b.span_id, 8);
		assert_int_equal(a.trace_flags, b.trace_flags);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_duplicated_field),
		cmocka_unit_test(test_field_names),
		cmocka_unit_test(test_inject_format),
		cmocka_unit_test(test_inject_invalid),
		cmocka_unit_test(test_roundtrip_random),
	};

	if (sr_propagator_create("tracecontext", &tc) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
