/*
 * test_exporter_hooks.c - the optional process-wide hooks of an exporter
 * table (reset, after_fork_child): sr_init() calls reset, a fork child
 * calls after_fork_child, each with the registration's ud, and a table too
 * short to have them (an older header's size) never has them called,
 * whatever lies past its end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

struct calls {
	int reset, after_fork;
};
static struct calls hooked_calls, short_calls;

static int h_create(void *ud, const sr_config_t *c, void **st, char *e, size_t n)
{
	(void)c; (void)e; (void)n;
	*st = ud;
	return 0;
}

static int h_export(void *st, const sr_batch_t *b, uint64_t *rejected)
{
	(void)st; (void)b; (void)rejected;
	return 0;
}

static void h_destroy(void *st, uint32_t t) { (void)st; (void)t; }
static void h_reset(void *ud) { ((struct calls *)ud)->reset++; }
static void h_after_fork(void *ud) { ((struct calls *)ud)->after_fork++; }

static const sr_exporter_ops_t hooked = {
	.size = sizeof(sr_exporter_ops_t),
	.abi_version = SR_EXPORTER_ABI_VERSION,
	.name = "hooked",
	.create = h_create,
	.export_batch = h_export,
	.destroy = h_destroy,
	.reset = h_reset,
	.after_fork_child = h_after_fork,
};

/* The same, as built against a header that ended at `cancel`: the hook
 * fields are past its size, so the library must not read them. */
static sr_exporter_ops_t short_table;

static void use_hooked(sr_config_t *cfg)
{
	cfg->exporters = "hooked,memory";
}

static int setup(void **state)
{
	(void)state;
	short_table = hooked;
	short_table.name = "short";
	short_table.size = offsetof(sr_exporter_ops_t, reset);
	assert_int_equal(sr_exporter_register(&hooked, &hooked_calls), 0);
	assert_int_equal(sr_exporter_register(&short_table, &short_calls), 0);
	return 0;
}

static void reset_at_every_init(void **state)
{
	(void)state;
	memset(&hooked_calls, 0, sizeof(hooked_calls));
	assert_int_equal(sr_test_init_memory(use_hooked), 0);
	assert_int_equal(hooked_calls.reset, 1);
	sr_shutdown(1000, NULL);
	assert_int_equal(sr_test_init_memory(NULL), 0);
	/* Every registered table, selected or not: its state is the
	 * process's, not an instance's. */
	assert_int_equal(hooked_calls.reset, 2);
	assert_int_equal(hooked_calls.after_fork, 0);
	assert_int_equal(short_calls.reset, 0);
	sr_shutdown(1000, NULL);
}

static void after_fork_child_in_the_child_only(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	memset(&hooked_calls, 0, sizeof(hooked_calls));
	assert_int_equal(sr_test_init_memory(use_hooked), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The child re-initialises too: after_fork_child, then reset. */
		int ok = hooked_calls.after_fork == 1 && hooked_calls.reset == 2 &&
			 short_calls.after_fork == 0 && short_calls.reset == 0;
		sr_shutdown(1000, NULL);
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(hooked_calls.after_fork, 0);
	sr_shutdown(1000, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reset_at_every_init),
		cmocka_unit_test(after_fork_child_in_the_child_only),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
