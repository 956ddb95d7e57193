/*
 * test_compiled_out.c - SR_COMPILED_OUT removes the instrumentation
 * macros, their arguments included, while the code still builds.
 */
#define SR_COMPILED_OUT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "testutil.h"

static int evaluated;

static int side_effect(void)
{
	return ++evaluated;
}

static void test_compiled_out_macros_do_nothing(void **state)
{
	sr_span_t s;
	sr_stats_t st = { .size = sizeof(st) };

	(void)state;
	(void)s;
	(void)side_effect;
	assert_int_equal(sr_test_init_memory(NULL), 0);
	SR_SPAN_START(&s, NULL, "gone", SR_KIND_INTERNAL);
	SR_SET_INT(&s, "k", side_effect());
	SR_SET_STR(&s, "k", "v");
	SR_ERROR(&s, "t", "m");
	SR_SPAN_END(&s);
	{
		SR_SPAN_AUTO(a, NULL, "gone too", SR_KIND_INTERNAL);
	}
	assert_int_equal(evaluated, 0);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	sr_stats_get(&st);
	assert_int_equal(st.started, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compiled_out_macros_do_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
