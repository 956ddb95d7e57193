/*
 * test_scope.c - the per-thread active-span stack: nesting, out-of-order
 * and unknown exits detected and counted, depth limit, save/restore.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

static sr_context_t ctx(uint8_t id)
{
	sr_context_t c;

	memset(&c, 0, sizeof(c));
	c.trace_id[15] = 1;
	c.span_id[7] = id;
	return c;
}

static uint8_t current_id(void)
{
	sr_context_t c;

	return sr_context_current(&c) == 0 ? c.span_id[7] : 0;
}

static uint64_t errors(void)
{
	sr_stats_t st = { .size = sizeof(st) };

	sr_stats_get(&st);
	return st.scope_errors;
}

static void test_nested_scopes_restore_in_order(void **state)
{
	sr_context_t a = ctx(1), b = ctx(2);

	(void)state;
	sr_scope_t sa = sr_scope_enter_ctx(&a);
	sr_scope_t sb = sr_scope_enter_ctx(&b);
	assert_int_equal(current_id(), 2);
	assert_int_equal(sr_scope_exit(sb), 0);
	assert_int_equal(current_id(), 1);
	assert_int_equal(sr_scope_exit(sa), 0);
	assert_int_equal(current_id(), 0);
}

static void test_out_of_order_exit_detected_and_repaired(void **state)
{
	sr_context_t a = ctx(1), b = ctx(2);
	uint64_t e0 = errors();

	(void)state;
	sr_scope_t sa = sr_scope_enter_ctx(&a);
	sr_scope_t sb = sr_scope_enter_ctx(&b);
	/* Closing the outer one first closes the inner too. */
	assert_int_equal(sr_scope_exit(sa), SR_ESCOPE);
	assert_int_equal(current_id(), 0);
	assert_int_equal(errors(), e0 + 1);
	/* The inner one is gone now: exiting it is an error, no change. */
	assert_int_equal(sr_scope_exit(sb), SR_ESCOPE);
	assert_int_equal(errors(), e0 + 2);
}

static void test_stale_scope_does_not_match_a_new_one(void **state)
{
	sr_context_t a = ctx(1), b = ctx(2);

	(void)state;
	sr_scope_t sa = sr_scope_enter_ctx(&a);
	assert_int_equal(sr_scope_exit(sa), 0);
	sr_scope_t sb = sr_scope_enter_ctx(&b); /* same depth, new cookie */
	assert_int_equal(sr_scope_exit(sa), SR_ESCOPE);
	assert_int_equal(current_id(), 2);
	assert_int_equal(sr_scope_exit(sb), 0);
}

static void test_depth_limit_counted(void **state)
{
	sr_scope_t s[SR_SCOPE_MAX_DEPTH + 1];
	sr_context_t c = ctx(9);
	uint64_t e0 = errors();

	(void)state;
	for (int i = 0; i <= SR_SCOPE_MAX_DEPTH; i++)
		s[i] = sr_scope_enter_ctx(&c);
	assert_int_equal(errors(), e0 + 1);
	assert_int_equal(sr_scope_exit(s[SR_SCOPE_MAX_DEPTH]), SR_ESCOPE);
	for (int i = SR_SCOPE_MAX_DEPTH - 1; i >= 0; i--)
		assert_int_equal(sr_scope_exit(s[i]), 0);
	assert_int_equal(current_id(), 0);
}

static void test_save_restore_swaps_stacks(void **state)
{
	sr_context_t a = ctx(1), b = ctx(2);
	sr_scope_stack_t fa, fb;

	(void)state;
	sr_scope_t sa = sr_scope_enter_ctx(&a);      /* fiber A */
	sr_scope_stack_save(&fa);
	assert_int_equal(current_id(), 0);
	sr_scope_t sb = sr_scope_enter_ctx(&b);      /* fiber B */
	sr_scope_stack_save(&fb);
	sr_scope_stack_restore(&fa);                 /* back to A */
	assert_int_equal(current_id(), 1);
	assert_int_equal(sr_scope_exit(sb), SR_ESCOPE); /* B's scope is not here */
	assert_int_equal(sr_scope_exit(sa), 0);
	sr_scope_stack_restore(&fb);
	assert_int_equal(current_id(), 2);
	assert_int_equal(sr_scope_exit(sb), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nested_scopes_restore_in_order),
		cmocka_unit_test(test_out_of_order_exit_detected_and_repaired),
		cmocka_unit_test(test_stale_scope_does_not_match_a_new_one),
		cmocka_unit_test(test_depth_limit_counted),
		cmocka_unit_test(test_save_restore_swaps_stacks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
