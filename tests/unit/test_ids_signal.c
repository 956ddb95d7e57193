/*
 * test_ids_signal.c - a signal handler that starts spans at any point of
 * an interrupted sr_span_start on the same thread never gets the
 * interrupted span's ids.
 *
 * Deterministic: on x86-64 the trap flag (EFLAGS.TF) makes the CPU raise
 * SIGTRAP after every instruction, so the handler runs between each pair
 * of instructions of one sr_span_start, the id generator's draw included
 * (the kernel clears TF for the handler and sigreturn restores it).  Each
 * handler run starts a span and keeps its span id; the test fails if any
 * of them equals another or the interrupted span's.  Elsewhere the test
 * is skipped.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#if defined(__x86_64__)

#define MAX_IDS 4096

static uint64_t ids[MAX_IDS];
static volatile size_t nids;

static void on_trap(int sig, siginfo_t *si, void *uc)
{
	sr_span_t s;
	sr_context_t c;

	(void)sig; (void)si; (void)uc;
	if (nids == MAX_IDS)
		return;
	sr_span_start(&s, NULL, "in handler", SR_KIND_INTERNAL);
	c = sr_span_context(&s);
	memcpy(&ids[nids], c.span_id, 8);
	nids = nids + 1;
	sr_span_end(&s);
}

/* Set or clear EFLAGS.TF; the stack pointer steps over the red zone
 * first, since pushfq writes below it. */
static inline __attribute__((always_inline)) void trap_flag(int on)
{
	if (on)
		__asm__ __volatile__("lea -128(%%rsp), %%rsp\n\tpushfq\n\t"
				     "orq $0x100, (%%rsp)\n\tpopfq\n\t"
				     "lea 128(%%rsp), %%rsp" ::: "memory", "cc");
	else
		__asm__ __volatile__("lea -128(%%rsp), %%rsp\n\tpushfq\n\t"
				     "andq $~0x100, (%%rsp)\n\tpopfq\n\t"
				     "lea 128(%%rsp), %%rsp" ::: "memory", "cc");
}

static void sampler_off(sr_config_t *c) { c->sampler = SR_SAMPLER_ALWAYS_OFF; }

static void step_one_start(void (*tweak)(sr_config_t *))
{
	struct sigaction sa, old;
	sr_span_t s;
	sr_context_t c;
	uint64_t mine;

	assert_int_equal(sr_test_init_memory(tweak), 0);
	/* Warm up: the thread synced to the pipeline, its ring taken, the
	 * library's lazy bindings resolved, so the stepped start is the
	 * common one. */
	for (int i = 0; i < 3; i++) {
		sr_span_start(&s, NULL, "warm", SR_KIND_INTERNAL);
		(void)sr_span_context(&s);
		sr_span_end(&s);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGTRAP, &sa, &old), 0);
	nids = 0;

	trap_flag(1);
	sr_span_start(&s, NULL, "interrupted", SR_KIND_INTERNAL);
	trap_flag(0);

	assert_int_equal(sigaction(SIGTRAP, &old, NULL), 0);
	c = sr_span_context(&s);
	sr_span_end(&s);
	memcpy(&mine, c.span_id, 8);
	print_message("handler ran at %zu instruction boundaries\n",
		      (size_t)nids);
	/* The start is tens of instructions: the stepping worked. */
	assert_true(nids >= 10);
	for (size_t i = 0; i < nids; i++) {
		assert_true(ids[i] != mine);
		for (size_t j = i + 1; j < nids; j++)
			assert_true(ids[i] != ids[j]);
	}
	assert_int_equal(sr_shutdown(5000, NULL), 0);
}

static void test_handler_inside_unsampled_start_gets_own_ids(void **state)
{
	(void)state;
	step_one_start(sampler_off);
}

static void test_handler_inside_sampled_start_gets_own_ids(void **state)
{
	(void)state;
	step_one_start(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handler_inside_unsampled_start_gets_own_ids),
		cmocka_unit_test(test_handler_inside_sampled_start_gets_own_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

static void test_skipped(void **state)
{
	(void)state;
	skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_skipped) };

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
