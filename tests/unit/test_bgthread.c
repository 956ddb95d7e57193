/*
 * test_bgthread.c - the library's own threads: their names, and the
 * SPANRING_BACKGROUND_CPUS / _SCHED / _NICE settings (bad values fail
 * sr_init() naming variable and value; good ones are what the kernel
 * reports for the running threads, read back by thread id).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "bgthread_int.h"
#include "testutil.h"

static const char *const vars[] = {
	"SPANRING_BACKGROUND_CPUS", "SPANRING_BACKGROUND_SCHED",
	"SPANRING_BACKGROUND_NICE", "OTEL_METRICS_EXPORTER",
	"OTEL_EXPORTER_PROMETHEUS_HOST", "OTEL_EXPORTER_PROMETHEUS_PORT",
	"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTEL_METRIC_EXPORT_TIMEOUT",
	"SPANRING_OTLP_MAX_ATTEMPTS",
};

static int clear_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	return 0;
}

static int teardown(void **state)
{
	if (sr_is_running())
		sr_shutdown(2000, NULL);
	return clear_env(state);
}

/* Thread id of this process's thread named `name`, or -1. */
static pid_t tid_named(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	pid_t found = -1;

	assert_non_null(d);
	while (found < 0 && (de = readdir(d)) != NULL) {
		char path[300], comm[32] = "";
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
		if (strcmp(comm, name) == 0)
			found = (pid_t)atoi(de->d_name);
	}
	closedir(d);
	return found;
}

/* The first CPU this test may run on: present and allowed everywhere. */
static int first_cpu(cpu_set_t *mine)
{
	int c = 0;

	assert_int_equal(sched_getaffinity(0, sizeof(*mine), mine), 0);
	while (!CPU_ISSET(c, mine))
		c++;
	return c;
}

static void expect_rejected(const char *var, const char *value,
			    const char *why)
{
	char want[128];
	int rc;

	clear_env(NULL);
	setenv(var, value, 1);
	rc = sr_test_init_memory(NULL);
	assert_int_equal(rc, SR_EINVAL);
	assert_false(sr_is_running());
	snprintf(want, sizeof(want), "%s='%s'", var, value);
	if (strstr(sr_last_error(), want) == NULL ||
	    strstr(sr_last_error(), why) == NULL)
		fail_msg("%s=%s: got \"%s\", want \"%s\" and \"%s\"", var, value,
			 sr_last_error(), want, why);
}

static void bad_cpu_lists_fail_init_naming_the_value(void **state)
{
	(void)state;
	expect_rejected("SPANRING_BACKGROUND_CPUS", "abc", "not a CPU number");
	expect_rejected("SPANRING_BACKGROUND_CPUS", "0x1", "not a CPU number");
	expect_rejected("SPANRING_BACKGROUND_CPUS", "-1", "not a CPU number");
	expect_rejected("SPANRING_BACKGROUND_CPUS", "1,,2", "not a CPU number");
	expect_rejected("SPANRING_BACKGROUND_CPUS", "3-1", "not a range");
	expect_rejected("SPANRING_BACKGROUND_CPUS", "1-", "not a range");
	expect_rejected("SPANRING_BACKGROUND_CPUS", "0,", "ends with ','");
	expect_rejected("SPANRING_BACKGROUND_CPUS", "4096", "is above");
}

static void absent_cpu_fails_init_naming_it(void **state)
{
	(void)state;
	/* No test machine has 1000 CPUs online. */
	expect_rejected("SPANRING_BACKGROUND_CPUS", "0,999", "CPU 999 is not online");
}

static void unknown_sched_class_fails_init(void **state)
{
	(void)state;
	expect_rejected("SPANRING_BACKGROUND_SCHED", "fifo", "unknown class");
}

static void nice_outside_0_to_19_fails_init(void **state)
{
	(void)state;
	expect_rejected("SPANRING_BACKGROUND_NICE", "20", "at most 19");
	expect_rejected("SPANRING_BACKGROUND_NICE", "-5", "not a non-negative");
}

static void threads_are_named(void **state)
{
	(void)state;
	assert_int_equal(sr_test_init_memory(NULL), 0);
	assert_true(tid_named("sr-drainer") > 0);
	assert_true(tid_named("sr-exp-memory") > 0);
}

static void unset_settings_are_inherited(void **state)
{
	cpu_set_t mine, got;
	pid_t tid;

	(void)state;
	first_cpu(&mine);
	assert_int_equal(sr_test_init_memory(NULL), 0);
	tid = tid_named("sr-drainer");
	assert_true(tid > 0);
	assert_int_equal(sched_getaffinity(tid, sizeof(got), &got), 0);
	assert_true(CPU_EQUAL(&got, &mine));
	assert_int_equal(sched_getscheduler(tid), sched_getscheduler(0));
}

/* The thread named `name` runs on CPU `cpu` alone in class `policy`;
 * returns its id. */
static pid_t expect_placed(const char *name, int cpu, int policy)
{
	pid_t tid = tid_named(name);
	cpu_set_t want, got;

	if (tid <= 0)
		fail_msg("no thread named %s", name);
	CPU_ZERO(&want);
	CPU_SET(cpu, &want);
	assert_int_equal(sched_getaffinity(tid, sizeof(got), &got), 0);
	assert_true(CPU_EQUAL(&got, &want));
	assert_int_equal(sched_getscheduler(tid), policy);
	return tid;
}

static void cpus_and_idle_class_are_applied(void **state)
{
	const char *names[] = { "sr-drainer", "sr-exp-memory" };
	cpu_set_t mine, got;
	char cpu[16];
	int c = first_cpu(&mine);

	(void)state;
	snprintf(cpu, sizeof(cpu), "%d", c);
	setenv("SPANRING_BACKGROUND_CPUS", cpu, 1);
	setenv("SPANRING_BACKGROUND_SCHED", "IDLE", 1); /* any case */
	assert_int_equal(sr_test_init_memory(NULL), 0);
	for (int i = 0; i < 2; i++)
		expect_placed(names[i], c, SCHED_IDLE);
	/* The application's own thread keeps what it had. */
	assert_int_equal(sched_getaffinity(0, sizeof(got), &got), 0);
	assert_true(CPU_EQUAL(&got, &mine));
	assert_int_equal(sr__bg_apply_failures(), 0);
}

/* The metrics layer's threads (metrics/) start as the core's do: the
 * Prometheus endpoint's and the OTLP metrics exporter's, placed and
 * prioritised by the same settings. */
static void metrics_threads_obey_the_settings(void **state)
{
	const char *names[] = { "sr-metrics", "sr-metrics-otlp" };
	cpu_set_t mine;
	char cpu[16];
	int c = first_cpu(&mine);

	(void)state;
	snprintf(cpu, sizeof(cpu), "%d", c);
	setenv("SPANRING_BACKGROUND_CPUS", cpu, 1);
	setenv("SPANRING_BACKGROUND_SCHED", "batch", 1);
	setenv("SPANRING_BACKGROUND_NICE", "7", 1);
	setenv("OTEL_METRICS_EXPORTER", "prometheus,otlp", 1);
	setenv("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1", 1);
	setenv("OTEL_EXPORTER_PROMETHEUS_PORT", "0", 1);
	/* Nothing listens there: the final export at shutdown fails at
	 * once, once. */
	setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://127.0.0.1:1/v1/metrics", 1);
	setenv("OTEL_METRIC_EXPORT_TIMEOUT", "200", 1);
	setenv("SPANRING_OTLP_MAX_ATTEMPTS", "1", 1);
	assert_int_equal(sr_test_init_memory(NULL), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(getpriority(PRIO_PROCESS,
					     (id_t)expect_placed(names[i], c,
								 SCHED_BATCH)),
				 7);
	/* The application's own thread keeps what it had. */
	assert_int_equal(sched_getscheduler(0), SCHED_OTHER);
	assert_int_equal(sr__bg_apply_failures(), 0);
}

static void batch_class_and_nice_are_applied(void **state)
{
	pid_t tid;

	(void)state;
	setenv("SPANRING_BACKGROUND_SCHED", "batch", 1);
	setenv("SPANRING_BACKGROUND_NICE", " 19 ", 1); /* blanks are trimmed */
	assert_int_equal(sr_test_init_memory(NULL), 0);
	tid = tid_named("sr-drainer");
	assert_true(tid > 0);
	assert_int_equal(sched_getscheduler(tid), SCHED_BATCH);
	assert_int_equal(getpriority(PRIO_PROCESS, (id_t)tid), 19);
	assert_int_equal(sr__bg_apply_failures(), 0);
}

static void cpu_ranges_are_accepted(void **state)
{
	cpu_set_t mine, got;
	pid_t tid;

	(void)state;
	first_cpu(&mine);
	/* A range, and a CPU named twice: the set is {0}. */
	setenv("SPANRING_BACKGROUND_CPUS", "0-0,0", 1);
	assert_int_equal(sr_test_init_memory(NULL), 0);
	tid = tid_named("sr-drainer");
	assert_true(tid > 0);
	assert_int_equal(sched_getaffinity(tid, sizeof(got), &got), 0);
	if (CPU_ISSET(0, &mine)) {
		assert_int_equal(CPU_COUNT(&got), 1);
		assert_true(CPU_ISSET(0, &got));
	} else {
		/* CPU 0 is online but outside this process's cpuset: the
		 * kernel refuses, and the thread runs with what it had. */
		assert_true(sr__bg_apply_failures() > 0);
	}
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, clear_env, teardown)
	const struct CMUnitTest tests[] = {
		T(bad_cpu_lists_fail_init_naming_the_value),
		T(absent_cpu_fails_init_naming_it),
		T(unknown_sched_class_fails_init),
		T(nice_outside_0_to_19_fails_init),
		T(threads_are_named),
		T(unset_settings_are_inherited),
		T(cpus_and_idle_class_are_applied),
		T(batch_class_and_nice_are_applied),
		T(metrics_threads_obey_the_settings),
		T(cpu_ranges_are_accepted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
