/*
 * test_sampler.c - the six head samplers (core/sampler.c): exact bounds,
 * ratio statistics over seeded random trace ids, parent-based decisions,
 * and the name table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "spanring_int.h"
#include "testutil.h"

#define N_IDS 200000

static uint64_t seed;

static void make_id(uint8_t id[16], uint64_t hi, uint64_t lo)
{
	for (int i = 0; i < 8; i++) {
		id[i] = (uint8_t)(hi >> (56 - 8 * i));
		id[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
	}
}

static sr_context_t parent_ctx(bool sampled, bool remote)
{
	sr_context_t c;

	memset(&c, 0, sizeof(c));
	make_id(c.trace_id, 0x0123456789abcdefull, 0xfedcba9876543210ull);
	memset(c.span_id, 0x5a, sizeof(c.span_id));
	c.trace_flags = sampled ? SR_TRACE_FLAG_SAMPLED : 0;
	c.remote = remote;
	return c;
}

static bool sample(sr_sampler_kind_t kind, double ratio, uint64_t lo,
		   const sr_context_t *parent)
{
	struct sr__sampler s;
	uint8_t id[16];

	sr__sampler_setup(&s, kind, ratio);
	make_id(id, 0x1111111111111111ull, lo);
	return sr__sample(&s, id, parent);
}

/* Sampled count over N_IDS seeded random trace ids. */
static unsigned count_sampled(const struct sr__sampler *s, uint64_t st)
{
	unsigned n = 0;
	uint8_t id[16];

	for (unsigned i = 0; i < N_IDS; i++) {
		make_id(id, sr_test_rand(&st), sr_test_rand(&st));
		n += sr__sample(s, id, NULL);
	}
	return n;
}

static void test_always_on_samples_everything(void **state)
{
	sr_context_t unsampled = parent_ctx(false, false);
	struct sr__sampler s;

	(void)state;
	sr__sampler_setup(&s, SR_SAMPLER_ALWAYS_ON, 0.0);
	assert_int_equal(count_sampled(&s, seed), N_IDS);
	/* Not parent-based: an unsampled parent does not matter. */
	assert_true(sample(SR_SAMPLER_ALWAYS_ON, 0, 0, &unsampled));
	assert_true(sample(SR_SAMPLER_ALWAYS_ON, 0, UINT64_MAX, &unsampled));
}

static void test_always_off_samples_nothing(void **state)
{
	sr_context_t sampled = parent_ctx(true, false);
	struct sr__sampler s;

	(void)state;
	sr__sampler_setup(&s, SR_SAMPLER_ALWAYS_OFF, 1.0);
	assert_int_equal(count_sampled(&s, seed), 0);
	assert_false(sample(SR_SAMPLER_ALWAYS_OFF, 1, 0, &sampled));
}

static void test_ratio_zero_and_one_are_exact(void **state)
{
	struct sr__sampler s;

	(void)state;
	sr__sampler_setup(&s, SR_SAMPLER_TRACEIDRATIO, 0.0);
	assert_int_equal(count_sampled(&s, seed), 0);
	assert_false(sample(SR_SAMPLER_TRACEIDRATIO, 0.0, 0, NULL));
	sr__sampler_setup(&s, SR_SAMPLER_TRACEIDRATIO, 1.0);
	assert_int_equal(count_sampled(&s, seed), N_IDS);
	assert_true(sample(SR_SAMPLER_TRACEIDRATIO, 1.0, UINT64_MAX, NULL));
}

/* The documented rule: x = be64(bytes 8..15) >> 1, sample iff x <
 * floor(r * 2^63) -- opentelemetry-go's. */
static void test_ratio_bound_follows_documented_rule(void **state)
{
	struct sr__sampler s;

	(void)state;
	sr__sampler_setup(&s, SR_SAMPLER_TRACEIDRATIO, 0.25);
	assert_true(s.bound == UINT64_C(1) << 61);
	sr__sampler_setup(&s, SR_SAMPLER_PARENTBASED_TRACEIDRATIO, 0.5);
	assert_true(s.bound == UINT64_C(1) << 62);
	sr__sampler_setup(&s, SR_SAMPLER_TRACEIDRATIO, 1.0 / 3.0);
	assert_true(s.bound == (uint64_t)((1.0 / 3.0) * 0x1p63));

	/* At 0.5: x < 2^62 iff lo < 2^63. */
	assert_true(sample(SR_SAMPLER_TRACEIDRATIO, 0.5,
			   0x7fffffffffffffffull, NULL));
	assert_false(sample(SR_SAMPLER_TRACEIDRATIO, 0.5,
			    0x8000000000000000ull, NULL));
	assert_true(sample(SR_SAMPLER_TRACEIDRATIO, 0.5, 0, NULL));
	/* Bytes 0..7 play no part. */
	{
		uint8_t id[16];
		sr__sampler_setup(&s, SR_SAMPLER_TRACEIDRATIO, 0.5);
		make_id(id, UINT64_MAX, 0x8000000000000000ull);
		assert_false(sr__sample(&s, id, NULL));
		make_id(id, 0, 0x7fffffffffffffffull);
		assert_true(sr__sample(&s, id, NULL));
	}
}

static void test_ratio_ignores_lowest_bit(void **state)
{
	uint64_t st = seed;

	(void)state;
	for (int i = 0; i < 10000; i++) {
		uint64_t lo = sr_test_rand(&st);
		double r = (double)(sr_test_rand(&st) >> 11) * 0x1p-53;
		assert_int_equal(sample(SR_SAMPLER_TRACEIDRATIO, r, lo, NULL),
				 sample(SR_SAMPLER_TRACEIDRATIO, r, lo ^ 1, NULL));
	}
}

static void test_ratio_statistics_within_bounds(void **state)
{
	static const double ratios[] = { 0.5, 0.1, 0.01, 0.9, 0.001 };

	(void)state;
	for (size_t i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++) {
		double r = ratios[i], mean = r * N_IDS;
		/* 6 standard deviations: a fixed seed passes or fails for
		 * ever, and any other seed fails with odds below 1e-8. */
		double tol = 6 * sqrt(N_IDS * r * (1 - r));
		struct sr__sampler s;
		unsigned got;

		sr__sampler_setup(&s, SR_SAMPLER_TRACEIDRATIO, r);
		got = count_sampled(&s, seed + i);
		if (fabs(got - mean) > tol)
			fail_msg("ratio %g: %u of %d sampled, want %.0f +- %.0f",
				 r, got, N_IDS, mean, tol);
	}
}

/* Consistent sampling: a trace kept at ratio r is kept at every r' > r,
 * so services with different ratios keep nested sets of traces. */
static void test_ratio_decisions_nest(void **state)
{
	struct sr__sampler lo_s, hi_s;
	uint64_t st = seed;
	uint8_t id[16];

	(void)state;
	sr__sampler_setup(&lo_s, SR_SAMPLER_TRACEIDRATIO, 0.1);
	sr__sampler_setup(&hi_s, SR_SAMPLER_PARENTBASED_TRACEIDRATIO, 0.3);
	for (int i = 0; i < 50000; i++) {
		make_id(id, sr_test_rand(&st), sr_test_rand(&st));
		if (sr__sample(&lo_s, id, NULL))
			assert_true(sr__sample(&hi_s, id, NULL));
	}
}

static void test_traceidratio_ignores_parent(void **state)
{
	sr_context_t sampled = parent_ctx(true, false);
	sr_context_t unsampled = parent_ctx(false, true);

	(void)state;
	assert_false(sample(SR_SAMPLER_TRACEIDRATIO, 0.0, 0, &sampled));
	assert_true(sample(SR_SAMPLER_TRACEIDRATIO, 1.0, 0, &unsampled));
}

static void test_parentbased_follows_valid_parent(void **state)
{
	static const sr_sampler_kind_t kinds[] = {
		SR_SAMPLER_PARENTBASED_ALWAYS_ON,
		SR_SAMPLER_PARENTBASED_ALWAYS_OFF,
		SR_SAMPLER_PARENTBASED_TRACEIDRATIO,
	};
	static const double ratios[] = { 0.0, 0.5, 1.0 };
	uint64_t st = seed;

	(void)state;
	for (size_t k = 0; k < 3; k++) {
		for (size_t r = 0; r < 3; r++) {
			for (int remote = 0; remote < 2; remote++) {
				sr_context_t yes = parent_ctx(true, remote);
				sr_context_t no = parent_ctx(false, remote);
				for (int i = 0; i < 100; i++) {
					uint64_t lo = sr_test_rand(&st);
					assert_true(sample(kinds[k], ratios[r],
							   lo, &yes));
					assert_false(sample(kinds[k], ratios[r],
							    lo, &no));
				}
			}
		}
	}
}

static void test_parentbased_flags_other_than_sampled_ignored(void **state)
{
	sr_context_t p = parent_ctx(false, false);

	(void)state;
	p.trace_flags = 0xfe; /* every bit but SAMPLED */
	assert_false(sample(SR_SAMPLER_PARENTBASED_ALWAYS_ON, 1, 0, &p));
	p.trace_flags = 0x03;
	assert_true(sample(SR_SAMPLER_PARENTBASED_ALWAYS_OFF, 0, 0, &p));
}

static void test_parentbased_without_valid_parent_uses_root(void **state)
{
	sr_context_t no_span = parent_ctx(true, false);
	sr_context_t no_trace = parent_ctx(true, true);
	sr_context_t zero;
	uint64_t st = seed;

	(void)state;
	memset(no_span.span_id, 0, sizeof(no_span.span_id));
	memset(no_trace.trace_id, 0, sizeof(no_trace.trace_id));
	memset(&zero, 0, sizeof(zero));
	zero.trace_flags = SR_TRACE_FLAG_SAMPLED;

	const sr_context_t *invalid[] = { NULL, &no_span, &no_trace, &zero };
	for (size_t i = 0; i < 4; i++) {
		assert_true(sample(SR_SAMPLER_PARENTBASED_ALWAYS_ON, 0, 5,
				   invalid[i]));
		assert_false(sample(SR_SAMPLER_PARENTBASED_ALWAYS_OFF, 1, 5,
				    invalid[i]));
		for (int j = 0; j < 1000; j++) {
			uint64_t lo = sr_test_rand(&st);
			assert_int_equal(
				sample(SR_SAMPLER_PARENTBASED_TRACEIDRATIO, 0.3,
				       lo, invalid[i]),
				sample(SR_SAMPLER_TRACEIDRATIO, 0.3, lo, NULL));
		}
	}
	/* One half of the trace id being zero is still a valid parent. */
	{
		sr_context_t half = parent_ctx(false, false);
		memset(half.trace_id, 0, 8);
		assert_false(sample(SR_SAMPLER_PARENTBASED_ALWAYS_ON, 1, 0,
				    &half));
	}
}

static void test_setup_clamps_odd_ratios_and_kinds(void **state)
{
	struct sr__sampler s;

	(void)state;
	sr__sampler_setup(&s, SR_SAMPLER_TRACEIDRATIO, -1.0);
	assert_true(s.bound == 0);
	sr__sampler_setup(&s, SR_SAMPLER_TRACEIDRATIO, NAN);
	assert_true(s.bound == 0);
	sr__sampler_setup(&s, SR_SAMPLER_TRACEIDRATIO, 2.0);
	assert_true(s.bound == UINT64_C(1) << 63);
	sr__sampler_setup(&s, SR_SAMPLER_TRACEIDRATIO, 1.0 - 0x1p-53);
	assert_true(s.bound < UINT64_C(1) << 63);
	sr__sampler_setup(&s, (sr_sampler_kind_t)42, 0.0);
	assert_int_equal(s.kind, SR_SAMPLER_PARENTBASED_ALWAYS_ON);
	assert_true(s.bound == UINT64_C(1) << 63);
}

static void test_names_round_trip(void **state)
{
	sr_sampler_kind_t k;

	(void)state;
	for (int i = SR_SAMPLER_ALWAYS_ON; i <= SR_SAMPLER_PARENTBASED_TRACEIDRATIO;
	     i++) {
		assert_int_equal(sr__sampler_parse(sr__sampler_name(i), &k), 0);
		assert_int_equal(k, i);
	}
	assert_string_equal(sr__sampler_name(SR_SAMPLER_TRACEIDRATIO),
			    "traceidratio");
	assert_int_equal(sr__sampler_parse("PARENTBASED_ALWAYS_OFF", &k), 0);
	assert_int_equal(k, SR_SAMPLER_PARENTBASED_ALWAYS_OFF);
	assert_int_equal(sr__sampler_parse("jaeger_remote", &k), SR_ENOTFOUND);
	assert_int_equal(sr__sampler_parse("", &k), SR_ENOTFOUND);
	assert_int_equal(sr__sampler_parse(NULL, &k), SR_EINVAL);
	assert_string_equal(sr__sampler_name((sr_sampler_kind_t)99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_always_on_samples_everything),
		cmocka_unit_test(test_always_off_samples_nothing),
		cmocka_unit_test(test_ratio_zero_and_one_are_exact),
		cmocka_unit_test(test_ratio_bound_follows_documented_rule),
		cmocka_unit_test(test_ratio_ignores_lowest_bit),
		cmocka_unit_test(test_ratio_statistics_within_bounds),
		cmocka_unit_test(test_ratio_decisions_nest),
		cmocka_unit_test(test_traceidratio_ignores_parent),
		cmocka_unit_test(test_parentbased_follows_valid_parent),
		cmocka_unit_test(test_parentbased_flags_other_than_sampled_ignored),
		cmocka_unit_test(test_parentbased_without_valid_parent_uses_root),
		cmocka_unit_test(test_setup_clamps_odd_ratios_and_kinds),
		cmocka_unit_test(test_names_round_trip),
	};

	seed = sr_test_seed(0x5eed5a3b1e2ull);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
