/*
 * test_chrome.c - the "chrome" exporter: the file parses as Chrome
 * trace-event JSON after every batch, holds one complete event per span on
 * a track per thread named after the thread, instant events for span
 * events, keeps every thread's complete events properly nested (a span
 * that would partly overlap goes out as an async pair), stays valid and
 * bounded when SPANRING_CHROME_MAX_BYTES or RLIMIT_FSIZE stops it, and
 * names the variable and value when it cannot start.
 */
// SR_TEST_LABELS: concurrency
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
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
static char path[400];

static int setup(void **state)
{
	unsetenv("SPANRING_CHROME_MAX_BYTES");
	if (sr_test_mkdtemp(dir, sizeof(dir), "chrome") != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/trace.json", dir);
	setenv("SPANRING_CHROME_PATH", path, 1);
	return 0;
}

static int teardown(void **state)
{
	if (sr_is_running())
		sr_shutdown(5000, NULL);
	unsetenv("SPANRING_CHROME_PATH");
	unsetenv("SPANRING_CHROME_MAX_BYTES");
	sr_test_rmtree(dir);
	return 0;
}

static void chrome_only(sr_config_t *cfg)
{
	cfg->exporters = "chrome";
	cfg->service_name = "chrome-test";
	cfg->max_export_batch_size = 64;
	cfg->schedule_delay_ms = 10;
}

/* The trace file parsed; fails the test if it is not a JSON object with
 * a traceEvents array. */
static json_t *load_trace(void)
{
	json_error_t err;
	json_t *root = json_load_file(path, 0, &err);

	if (!root)
		fail_msg("%s: not JSON: %s (line %d)", path, err.text, err.line);
	assert_true(json_is_object(root));
	assert_true(json_is_array(json_object_get(root, "traceEvents")));
	return root;
}

static const char *ph_of(json_t *ev)
{
	return json_string_value(json_object_get(ev, "ph"));
}

static long long ns_of(json_t *ev, const char *key)
{
	json_t *v = json_object_get(ev, key);

	assert_true(json_is_number(v));
	return llround(json_number_value(v) * 1000.0);
}

struct ival {
	long long tid, s, e;
};

static int cmp_ival(const void *a, const void *b)
{
	const struct ival *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->s != y->s)
		return x->s < y->s ? -1 : 1;
	return x->e > y->e ? -1 : x->e < y->e; /* longer (the parent) first */
}

/* Every thread's complete events nest: sorted by start, each one either
 * fits inside the innermost open one or starts after it ended. */
static void assert_tracks_nest(json_t *evs)
{
	size_t n = json_array_size(evs), k = 0;
	struct ival *v = calloc(n + 1, sizeof(*v)), *stack = calloc(n + 1, sizeof(*v));
	size_t depth = 0;

	for (size_t i = 0; i < n; i++) {
		json_t *ev = json_array_get(evs, i);

		if (strcmp(ph_of(ev), "X") != 0)
			continue;
		v[k].tid = json_integer_value(json_object_get(ev, "tid"));
		v[k].s = ns_of(ev, "ts");
		v[k].e = v[k].s + ns_of(ev, "dur");
		k++;
	}
	qsort(v, k, sizeof(*v), cmp_ival);
	for (size_t i = 0; i < k; i++) {
		if (i && v[i].tid != v[i - 1].tid)
			depth = 0;
		while (depth && stack[depth - 1].e <= v[i].s)
			depth--;
		if (depth && v[i].e > stack[depth - 1].e)
			fail_msg("tid %lld: [%lld, %lld] partly overlaps [%lld, %lld]",
				 v[i].tid, v[i].s, v[i].e, stack[depth - 1].s,
				 stack[depth - 1].e);
		stack[depth++] = v[i];
	}
	free(v);
	free(stack);
}

/* ---- threads that name themselves and live until released ------------------ */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done;
static bool release;

struct worker {
	pthread_t t;
	int id;
	pid_t tid;
};

static void *named_worker(void *arg)
{
	struct worker *w = arg;
	const sr_tracer_t *tr = sr_tracer_get("chrome-test", "1");
	char name[16];

	snprintf(name, sizeof(name), "worker-%d", w->id);
	pthread_setname_np(pthread_self(), name);
	w->tid = gettid();
	for (int i = 0; i < 50; i++) {
		sr_span_t parent, child;
		sr_scope_t sc;
		sr_attr_t a = SR_ATTR_INT_("step", i);

		sr_span_start(&parent, tr, "request", SR_KIND_SERVER);
		sc = sr_scope_enter(&parent);
		sr_span_start(&child, tr, "query", SR_KIND_CLIENT);
		sr_span_add_event(&child, "sent", 0, &a, 1);
		sr_span_set_str(&child, "db.statement", "SELECT \"x\"\n");
		sr_span_end(&child);
		sr_scope_exit(sc);
		sr_span_end(&parent);
	}
	pthread_mutex_lock(&mu);
	done++;
	pthread_cond_broadcast(&cv);
	while (!release)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void one_named_track_per_thread(void **state)
{
	struct worker w[3];
	sr_stats_t st = { .size = sizeof(st) };
	size_t nx = 0, ni = 0;
	json_t *root, *evs;

	done = 0;
	release = false;
	assert_int_equal(sr_test_init_memory(chrome_only), 0);
	for (int i = 0; i < 3; i++) {
		w[i].id = i + 1;
		pthread_create(&w[i].t, NULL, named_worker, &w[i]);
	}
	pthread_mutex_lock(&mu);
	while (done < 3)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	sr_flush(5000, NULL); /* while the threads (and their names) live */
	pthread_mutex_lock(&mu);
	release = true;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < 3; i++)
		pthread_join(w[i].t, NULL);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(st.exported, 300);

	root = load_trace();
	evs = json_object_get(root, "traceEvents");
	for (int i = 0; i < 3; i++) {
		char want[16];
		int names = 0, spans = 0;

		snprintf(want, sizeof(want), "worker-%d", w[i].id);
		for (size_t k = 0; k < json_array_size(evs); k++) {
			json_t *ev = json_array_get(evs, k);

			if (json_integer_value(json_object_get(ev, "tid")) != w[i].tid)
				continue;
			assert_int_equal(json_integer_value(json_object_get(ev, "pid")),
					 getpid());
			if (!strcmp(ph_of(ev), "M")) {
				names++;
				assert_string_equal(json_string_value(json_object_get(
					json_object_get(ev, "args"), "name")), want);
			} else if (!strcmp(ph_of(ev), "X")) {
				spans++;
			}
		}
		assert_int_equal(names, 1);
		assert_int_equal(spans, 100);
	}
	for (size_t k = 0; k < json_array_size(evs); k++) {
		json_t *ev = json_array_get(evs, k);

		if (!strcmp(ph_of(ev), "X")) {
			json_t *args = json_object_get(ev, "args");

			nx++;
			assert_int_equal(strlen(json_string_value(json_object_get(args, "span_id"))), 16);
			assert_int_equal(strlen(json_string_value(json_object_get(args, "trace_id"))), 32);
		} else if (!strcmp(ph_of(ev), "i")) {
			ni++;
			assert_string_equal(json_string_value(json_object_get(ev, "name")), "sent");
			assert_int_equal(json_integer_value(json_object_get(
				json_object_get(ev, "args"), "step")) >= 0, 1);
		} else if (!strcmp(ph_of(ev), "M") &&
			   !strcmp(json_string_value(json_object_get(ev, "name")), "process_name")) {
			assert_string_equal(json_string_value(json_object_get(
				json_object_get(ev, "args"), "name")), "chrome-test");
		}
	}
	assert_int_equal(nx, 300);
	assert_int_equal(ni, 150);
	assert_tracks_nest(evs);
	json_decref(root);
}

static void valid_after_every_batch(void **state)
{
	size_t last = 0;

	assert_int_equal(sr_test_init_memory(chrome_only), 0);
	for (int b = 0; b < 5; b++) {
		json_t *root;
		size_t n;

		sr_test_produce_all(2, 40);
		sr_flush(5000, NULL);
		root = load_trace(); /* while the exporter is running */
		n = json_array_size(json_object_get(root, "traceEvents"));
		printf("after flush %d: %zu events\n", b + 1, n);
		assert_true(n > last);
		last = n;
		json_decref(root);
	}
	sr_shutdown(5000, NULL);
}

/* One thread records spans with explicit times that cannot all nest. */
static void overlapping_spans_go_async(void **state)
{
	const uint64_t t0 = sr_now_ns();
	static const struct { uint64_t s, e; const char *name; } spans[] = {
		{ 0, 1000000, "outer" },        /* contains the next two    */
		{ 100000, 200000, "inner" },
		{ 300000, 1500000, "straddler" }, /* partly overlaps "outer" */
		{ 2000000, 2100000, "after" },
	};
	json_t *root, *evs;
	int async_b = 0, async_e = 0, complete = 0;
	const char *moved = NULL;

	assert_int_equal(sr_test_init_memory(chrome_only), 0);
	for (size_t i = 0; i < 4; i++) {
		sr_span_t s;

		sr_span_start_ex(&s, NULL, spans[i].name, SR_KIND_INTERNAL, NULL,
				 t0 + spans[i].s, SR_SPAN_ROOT);
		sr_span_end_at(&s, t0 + spans[i].e);
	}
	sr_shutdown(5000, NULL);
	root = load_trace();
	evs = json_object_get(root, "traceEvents");
	for (size_t k = 0; k < json_array_size(evs); k++) {
		json_t *ev = json_array_get(evs, k);
		const char *ph = ph_of(ev);

		if (!strcmp(ph, "X"))
			complete++;
		if (!strcmp(ph, "b")) {
			async_b++;
			moved = json_string_value(json_object_get(ev, "name"));
			assert_non_null(json_string_value(json_object_get(ev, "id")));
		}
		if (!strcmp(ph, "e"))
			async_e++;
	}
	assert_int_equal(complete, 3);
	assert_int_equal(async_b, 1);
	assert_int_equal(async_e, 1);
	assert_string_equal(moved, "straddler");
	assert_tracks_nest(evs);
	json_decref(root);
}

static void max_bytes_keeps_file_valid(void **state)
{
	sr_exporter_stats_t ex = { .size = sizeof(ex) };
	struct stat sb;
	json_t *root;

	setenv("SPANRING_CHROME_MAX_BYTES", "65536", 1);
	assert_int_equal(sr_test_init_memory(chrome_only), 0);
	for (int b = 0; b < 10; b++) {
		sr_test_produce_all(2, 100);
		sr_flush(5000, NULL);
	}
	assert_int_equal(sr_test_exporter_stats("chrome", &ex), 0);
	sr_shutdown(5000, NULL);
	assert_int_equal(stat(path, &sb), 0);
	printf("max 65536: file %lld bytes, spans ok %llu failed %llu\n",
	       (long long)sb.st_size, (unsigned long long)ex.spans_ok,
	       (unsigned long long)ex.spans_failed);
	assert_true(sb.st_size <= 65536);
	assert_true(ex.spans_ok > 0);
	assert_true(ex.spans_failed > 0);
	root = load_trace();
	json_decref(root);
}

/* One batch of all 200 spans (handed over by the flush). */
static void chrome_one_batch(sr_config_t *cfg)
{
	chrome_only(cfg);
	cfg->max_export_batch_size = 512;
	cfg->schedule_delay_ms = 60000;
}

/* One batch far larger than the limit: the spans that fit are written,
 * the rest counted, and the file stays a valid trace. */
static void oversized_batch_writes_what_fits(void **state)
{
	sr_exporter_stats_t ex = { .size = sizeof(ex) };
	sr_stats_t st = { .size = sizeof(st) };
	struct stat sb;
	json_t *root, *evs;
	size_t slices = 0;

	(void)state;
	setenv("SPANRING_CHROME_MAX_BYTES", "8192", 1);
	assert_int_equal(sr_test_init_memory(chrome_one_batch), 0);
	sr_test_produce_all(1, 200);
	assert_int_equal(sr_flush(5000, NULL), 0);
	assert_int_equal(sr_test_exporter_stats("chrome", &ex), 0);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(stat(path, &sb), 0);
	printf("max 8192, one batch of 200: file %lld bytes, spans ok %llu "
	       "failed %llu\n", (long long)sb.st_size,
	       (unsigned long long)ex.spans_ok,
	       (unsigned long long)ex.spans_failed);
	assert_true(sb.st_size <= 8192);
	assert_true(ex.spans_ok > 0);
	assert_int_equal(ex.spans_ok + ex.spans_failed, 200);
	assert_int_equal(st.exported, ex.spans_ok);
	assert_int_equal(st.dropped_exporter, ex.spans_failed);
	assert_int_equal(sr_test_check_invariant(&st), 0);
	root = load_trace();
	evs = json_object_get(root, "traceEvents");
	for (size_t k = 0; k < json_array_size(evs); k++) {
		const char *ph = json_string_value(
			json_object_get(json_array_get(evs, k), "ph"));

		slices += ph && (!strcmp(ph, "X") || !strcmp(ph, "b"));
	}
	assert_int_equal(slices, ex.spans_ok);
	json_decref(root);
}

/* RLIMIT_FSIZE in a child: the write fails part-way, the file is put back
 * to its last valid state, and the process lives. */
static void file_size_limit_keeps_file_valid(void **state)
{
	const rlim_t limit = 48 * 1024;
	char child_path[320];
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { limit, limit };
		sr_exporter_stats_t ex = { .size = sizeof(ex) };
		sr_config_t cfg;

		signal(SIGXFSZ, SIG_DFL);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(10);
		sr_config_init(&cfg);
		cfg.sampler = SR_SAMPLER_ALWAYS_ON;
		chrome_only(&cfg);
		if (sr_init(&cfg) != 0)
			_exit(11);
		for (int b = 0; b < 10; b++) {
			sr_test_produce_all(2, 100);
			sr_flush(5000, NULL);
		}
		if (sr_test_exporter_stats("chrome", &ex) != 0)
			_exit(12);
		sr_shutdown(5000, NULL);
		_exit(ex.spans_failed > 0 && ex.spans_ok > 0 ? 0 : 13);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("child killed by signal %d", WTERMSIG(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The child wrote its own file if this process created a chrome
	 * exporter before (see sr__exp_owned_path). */
	snprintf(child_path, sizeof(child_path), "%s/trace-%d.json", dir, (int)pid);
	if (access(child_path, F_OK) == 0)
		snprintf(path, sizeof(path), "%s", child_path);
	json_decref(load_trace());
}

static void chrome_and_memory(sr_config_t *cfg)
{
	cfg->exporters = "chrome,memory";
}

static void bad_settings_name_variable_and_value(void **state)
{
	char bad[400];

	snprintf(bad, sizeof(bad), "%s/missing/trace.json", dir);
	sr_test_expect_create_error(chrome_and_memory, "SPANRING_CHROME_PATH", bad, bad);
	sr_test_expect_create_error(chrome_and_memory, "SPANRING_CHROME_MAX_BYTES",
				 "1GiB", "1GiB");
	sr_test_expect_create_error(chrome_and_memory, "SPANRING_CHROME_MAX_BYTES",
				 "100", "100");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(one_named_track_per_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(valid_after_every_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(overlapping_spans_go_async, setup, teardown),
		cmocka_unit_test_setup_teardown(max_bytes_keeps_file_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(oversized_batch_writes_what_fits, setup, teardown),
		cmocka_unit_test_setup_teardown(file_size_limit_keeps_file_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_settings_name_variable_and_value, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
