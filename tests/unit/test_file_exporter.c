/*
 * test_file_exporter.c - the "file" exporter: OTLP/JSON lines, appending,
 * size rotation with a bounded number of files, the fsync modes, a full
 * disk (RLIMIT_FSIZE in a forked child, with SIGXFSZ at its default,
 * process-killing disposition and ignored), create() errors naming the
 * variable and value, and a fork child writing its own file.
 *
 * Every line written is read back with jansson: it must be one complete
 * ExportTraceServiceRequest, and the file must never end in half a line.
 */
// SR_TEST_LABELS: concurrency
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char dir[256];
static char path[300];

static void clear_env(void)
{
	static const char *vars[] = {
		"SPANRING_FILE_PATH", "SPANRING_FILE_MAX_BYTES",
		"SPANRING_FILE_MAX_FILES", "SPANRING_FILE_FSYNC",
	};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

static int setup(void **state)
{
	clear_env();
	if (sr_test_mkdtemp(dir, sizeof(dir), "file") != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/traces.jsonl", dir);
	setenv("SPANRING_FILE_PATH", path, 1);
	return 0;
}

static int teardown(void **state)
{
	if (sr_is_running())
		sr_shutdown(5000, NULL);
	clear_env();
	sr_test_rmtree(dir);
	return 0;
}

static void file_only(sr_config_t *cfg)
{
	cfg->exporters = "file";
	cfg->max_export_batch_size = 50;
	cfg->schedule_delay_ms = 10;
}

/* Run the pipeline: `bursts` x (2 threads x `spans`), flushed after each
 * burst so that batches stay small; returns the final stats. */
static sr_stats_t run(int bursts, int spans, sr_exporter_stats_t *ex)
{
	sr_stats_t st = { .size = sizeof(st) };

	assert_int_equal(sr_test_init_memory(file_only), 0);
	for (int b = 0; b < bursts; b++) {
		sr_test_produce_all(2, spans);
		sr_flush(5000, NULL);
	}
	assert_int_equal(sr_test_exporter_stats("file", ex), 0);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(sr_test_check_invariant(&st), 0);
	return st;
}

static void lines_hold_every_span(void **state)
{
	sr_exporter_stats_t ex = { .size = sizeof(ex) };
	struct sr_test_lines l;
	sr_stats_t st = run(3, 200, &ex);

	assert_int_equal(sr_test_scan_lines(path, &l), 0);
	printf("file: %ld lines, %ld spans, %ld bad; exporter batches %llu ok %llu\n",
	       l.lines, l.spans, l.bad, (unsigned long long)ex.batches,
	       (unsigned long long)ex.spans_ok);
	assert_false(l.partial);
	assert_int_equal(l.bad, 0);
	assert_int_equal(l.lines, ex.batches);
	assert_int_equal(l.spans, st.exported);
	assert_int_equal(st.exported, st.sampled);
	assert_int_equal(st.sampled, 3 * 2 * 200);
}

static void a_second_run_appends(void **state)
{
	sr_exporter_stats_t ex1 = { .size = sizeof(ex1) };
	sr_exporter_stats_t ex2 = { .size = sizeof(ex2) };
	struct sr_test_lines l;

	run(1, 100, &ex1);
	run(1, 100, &ex2);
	assert_int_equal(sr_test_scan_lines(path, &l), 0);
	assert_int_equal(l.bad, 0);
	assert_int_equal(l.lines, ex1.batches + ex2.batches);
	assert_int_equal(l.spans, 400);
}

static void fsync_modes_write_the_same(void **state)
{
	static const char *modes[] = { "none", "batch", "always" };

	for (int m = 0; m < 3; m++) {
		sr_exporter_stats_t ex = { .size = sizeof(ex) };
		struct sr_test_lines l;

		unlink(path);
		setenv("SPANRING_FILE_FSYNC", modes[m], 1);
		run(2, 100, &ex);
		assert_int_equal(sr_test_scan_lines(path, &l), 0);
		assert_int_equal(l.bad, 0);
		assert_int_equal(l.spans, 400);
	}
}

/* Size and line count of one file; -1 size if missing. */
static long long file_size(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

static void rotation_keeps_max_files(void **state)
{
	const long long max = 65536;
	char name[320];
	long total_spans = 0;
	sr_exporter_stats_t ex = { .size = sizeof(ex) };
	sr_stats_t st = { .size = sizeof(st) };

	setenv("SPANRING_FILE_MAX_BYTES", "65536", 1);
	setenv("SPANRING_FILE_MAX_FILES", "3", 1);
	st = run(20, 100, &ex);
	assert_int_equal(st.exported, st.sampled);

	for (int k = 0; k < 4; k++) {
		struct sr_test_lines l;
		long long size;

		if (k == 0)
			snprintf(name, sizeof(name), "%s", path);
		else
			snprintf(name, sizeof(name), "%s.%d", path, k);
		size = file_size(name);
		if (k == 3) {
			/* MAX_FILES=3: path, path.1, path.2 and no more. */
			assert_int_equal(size, -1);
			break;
		}
		assert_true(size > 0);
		assert_int_equal(sr_test_scan_lines(name, &l), 0);
		printf("%s: %lld bytes, %ld lines, %ld spans\n", name, size,
		       l.lines, l.spans);
		assert_false(l.partial);
		assert_int_equal(l.bad, 0);
		/* Only a single line larger than the limit may pass it. */
		assert_true(size <= max || l.lines == 1);
		assert_true(l.lines >= 2); /* 50-span lines are ~15 KB */
		total_spans += l.spans;
	}
	/* 4000 spans do not fit in 3 x 64 KiB: older files were dropped. */
	assert_true(total_spans < (long)st.exported);
}

static void one_file_is_emptied_when_full(void **state)
{
	sr_exporter_stats_t ex = { .size = sizeof(ex) };
	struct sr_test_lines l;
	char name[320];

	setenv("SPANRING_FILE_MAX_BYTES", "65536", 1);
	setenv("SPANRING_FILE_MAX_FILES", "1", 1);
	run(20, 100, &ex);
	snprintf(name, sizeof(name), "%s.1", path);
	assert_int_equal(file_size(name), -1);
	assert_true(file_size(path) <= 65536);
	assert_int_equal(sr_test_scan_lines(path, &l), 0);
	assert_int_equal(l.bad, 0);
	assert_false(l.partial);
	assert_true(l.spans > 0 && l.spans < 4000);
}

/*
 * Disk full: a child process with RLIMIT_FSIZE = 64 KiB writes far more.
 * It must survive (SIGXFSZ is blocked on the exporter's thread even when
 * the process keeps the default, fatal disposition), count the failed
 * batches, keep the invariant, and leave only whole lines.
 */
static void disk_full(bool ignore_sigxfsz)
{
	const rlim_t limit = 64 * 1024;
	char child_path[320];
	sr_exporter_stats_t ex0 = { .size = sizeof(ex0) };
	int status;
	pid_t pid;

	/* This process creates a file exporter first, so the child below
	 * is a fork child of its creator and writes traces-<pid>.jsonl
	 * (whatever ran before this test). */
	run(1, 1, &ex0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { limit, limit };
		sr_stats_t st = { .size = sizeof(st) };
		sr_exporter_stats_t ex = { .size = sizeof(ex) };
		sr_config_t cfg;

		signal(SIGXFSZ, ignore_sigxfsz ? SIG_IGN : SIG_DFL);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(10);
		sr_config_init(&cfg);
		cfg.sampler = SR_SAMPLER_ALWAYS_ON;
		file_only(&cfg);
		if (sr_init(&cfg) != 0)
			_exit(11);
		for (int b = 0; b < 20; b++) {
			sr_test_produce_all(2, 100);
			sr_flush(5000, NULL);
		}
		if (sr_test_exporter_stats("file", &ex) != 0)
			_exit(12);
		sr_shutdown(5000, NULL);
		sr_stats_get(&st);
		printf("disk full (SIGXFSZ %s): sampled %llu exported %llu "
		       "dropped_exporter %llu; file ok %llu failed %llu\n",
		       ignore_sigxfsz ? "ignored" : "default",
		       (unsigned long long)st.sampled,
		       (unsigned long long)st.exported,
		       (unsigned long long)st.dropped_exporter,
		       (unsigned long long)ex.spans_ok,
		       (unsigned long long)ex.spans_failed);
		fflush(stdout);
		if (sr_test_check_invariant(&st) != 0)
			_exit(13);
		if (ex.spans_failed == 0 || st.dropped_exporter == 0 ||
		    ex.spans_ok == 0 || st.exported != ex.spans_ok)
			_exit(14);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("child killed by signal %d", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	struct sr_test_lines l;
	snprintf(child_path, sizeof(child_path), "%s/traces-%d.jsonl", dir, (int)pid);
	assert_int_equal(sr_test_scan_lines(child_path, &l), 0);
	printf("after the limit: %lld bytes, %ld lines, %ld spans, partial %d\n",
	       file_size(child_path), l.lines, l.spans, l.partial);
	assert_true(file_size(child_path) <= (long long)limit);
	assert_false(l.partial);
	assert_int_equal(l.bad, 0);
	assert_true(l.spans > 0);
}

static void disk_full_sigxfsz_default(void **state)
{
	disk_full(false);
}

static void disk_full_sigxfsz_ignored(void **state)
{
	disk_full(true);
}

/* A fork child of a process running the file exporter writes
 * traces-<pid>.jsonl; the parent's file keeps only the parent's spans. */
static void fork_child_writes_its_own_file(void **state)
{
	char child_path[320];
	struct sr_test_lines l;
	int status;
	pid_t pid;

#if defined(__SANITIZE_THREAD__)
	/* TSan cannot follow a child of a multi-threaded process that
	 * starts threads; the ASan run covers this test. */
	skip();
#endif
	assert_int_equal(sr_test_init_memory(file_only), 0);
	sr_test_produce_all(1, 10);
	sr_flush(5000, NULL);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The core restarted the pipeline in the child. */
		sr_test_produce_all(1, 25);
		sr_shutdown(5000, NULL);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	sr_shutdown(5000, NULL);

	snprintf(child_path, sizeof(child_path), "%s/traces-%d.jsonl", dir, (int)pid);
	assert_int_equal(sr_test_scan_lines(child_path, &l), 0);
	assert_int_equal(l.spans, 25);
	assert_int_equal(sr_test_scan_lines(path, &l), 0);
	assert_int_equal(l.spans, 10);
}

/* ---- create() errors ---------------------------------------------------------- */

static void file_and_memory(sr_config_t *cfg)
{
	cfg->exporters = "file,memory";
}

static void expect_create_error(const char *var, const char *value,
				const char *needle)
{
	sr_test_expect_create_error(file_and_memory, var, value, needle);
}

static void bad_settings_name_variable_and_value(void **state)
{
	char bad[400];

	snprintf(bad, sizeof(bad), "%s/no/such/dir/t.jsonl", dir);
	expect_create_error("SPANRING_FILE_PATH", bad, bad);
	expect_create_error("SPANRING_FILE_PATH", dir, dir); /* a directory */
	expect_create_error("SPANRING_FILE_MAX_BYTES", "64MB", "64MB");
	expect_create_error("SPANRING_FILE_MAX_BYTES", "10", "10");
	expect_create_error("SPANRING_FILE_MAX_FILES", "0", "0");
	expect_create_error("SPANRING_FILE_FSYNC", "sometimes", "sometimes");
}

static void unrenamable_directory_is_an_error(void **state)
{
	char sub[320], p[340];
	int fd;

	if (geteuid() == 0)
		skip(); /* root may write anywhere */
	snprintf(sub, sizeof(sub), "%s/ro", dir);
	snprintf(p, sizeof(p), "%s/t.jsonl", sub);
	assert_int_equal(mkdir(sub, 0755), 0);
	fd = open(p, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(sub, 0555), 0);
	expect_create_error("SPANRING_FILE_PATH", p, "rotation");
	setenv("SPANRING_FILE_MAX_FILES", "1", 1); /* no renames needed */
	setenv("SPANRING_FILE_PATH", p, 1);
	assert_int_equal(sr_test_init_memory(file_and_memory), 0);
	sr_shutdown(1000, NULL);
	chmod(sub, 0755);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(lines_hold_every_span, setup, teardown),
		cmocka_unit_test_setup_teardown(a_second_run_appends, setup, teardown),
		cmocka_unit_test_setup_teardown(fsync_modes_write_the_same, setup, teardown),
		cmocka_unit_test_setup_teardown(rotation_keeps_max_files, setup, teardown),
		cmocka_unit_test_setup_teardown(one_file_is_emptied_when_full, setup, teardown),
		cmocka_unit_test_setup_teardown(disk_full_sigxfsz_default, setup, teardown),
		cmocka_unit_test_setup_teardown(disk_full_sigxfsz_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(fork_child_writes_its_own_file, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_settings_name_variable_and_value, setup, teardown),
		cmocka_unit_test_setup_teardown(unrenamable_directory_is_an_error, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
