/*
 * test_alloc.c - where pipeline memory comes from.
 *
 * Built twice: plain (test_alloc) and linked with jemalloc
 * (test_alloc_jemalloc, see core.cmake).  On jemalloc the pipeline must
 * get an arena of its own; on libc it must say so; either way the
 * pipeline works and its memory is reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "spanring_int.h"
#include "testutil.h"

static void test_pipeline_allocator_matches_process(void **state)
{
	sr_stats_t st = { .size = sizeof(st) };
	sr_span_t s;

	(void)state;
	assert_int_equal(sr_test_init_memory(NULL), 0);
	print_message("allocator: %s\n", sr__alloc_name());
#if defined(SR_TEST_EXPECT_JEMALLOC)
	assert_non_null(strstr(sr__alloc_name(), "jemalloc arena"));
#else
	assert_string_equal(sr__alloc_name(), "libc");
#endif
	sr_span_start(&s, NULL, "x", SR_KIND_INTERNAL);
	sr_span_end(&s);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	sr_stats_get(&st);
	assert_int_equal(st.exported, 1);
	assert_true(st.pipeline_bytes > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipeline_allocator_matches_process),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
