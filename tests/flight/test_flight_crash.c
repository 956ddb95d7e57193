/*
 * test_flight_crash.c - the crash flight recorder end to end: a child
 * process under load (several threads ending spans, batches held up by a
 * slow exporter) crashes on purpose, and spanring-recover (SR_RECOVER, the
 * built tool) must turn its recording into valid OTLP/JSON lines that hold
 * the spans the child ended last, whose ids it sent up a pipe just before
 * it crashed.  The child's own handler, installed before sr_init, must
 * still run: it writes 'H' to the same pipe.  A crash during init and one
 * after shutdown must leave no recording; damaged files must be refused or
 * recovered in part, with a clear message.
 *
 * The SIGSEGV child crashes with its producers still running; the abort
 * child lets them stop first, so spans wait in batches for the slow
 * exporter and the recording must hold those too.
 *
 * Children fork from this single-threaded process (ASan's allocator keeps
 * no locks across fork, see test_fork) and never return: they die of
 * their signal, with core dumps off.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>

#include "receiver.h"
#include "testutil.h"

#ifndef SR_RECOVER
#error "SR_RECOVER (the spanring-recover executable) must be defined"
#endif

#define LAST_SPANS 5
#define RING_RECORDS 256   /* sr_config_t units: 256 bytes               */
#define RECORDS_PER_UNIT 4 /* one-record (64-byte) spans in a unit       */
#define PRODUCERS 4

enum crash {
	CRASH_SEGV, CRASH_ABORT, CRASH_AFTER_SHUTDOWN, CRASH_IN_INIT,
	CRASH_SEGV_NO_HANDLER, /* the disposition before sr_init is the
	                          default action */
	CRASH_IN_FORK_CHILD,   /* a fork child of a recording process */
	CRASH_WRAPPED          /* the last spans wrap the crashing thread's
	                          ring */
};

static char dir[512];
static char rec_path[600];
static int report_fd = -1; /* child: write end of the pipe */
static atomic_int stop_producing;
static atomic_long produced;

/* ---- the child ------------------------------------------------------------- */

/* The application's own crash handler, installed before sr_init: say so,
 * then die of the signal with the default action. */
static void app_handler(int sig)
{
	char h = 'H';

	(void)!write(report_fd, &h, 1);
	signal(sig, SIG_DFL);
	raise(sig); /* pending until return; a fault also recurs */
}

static void *producer(void *arg)
{
	const sr_tracer_t *t = sr_tracer_get("flight-test", "1.2");
	long n = 0;

	(void)arg;
	while (!atomic_load(&stop_producing)) {
		char copied[40];
		sr_span_t s;

		snprintf(copied, sizeof(copied), "copied value %ld", n);
		sr_span_start(&s, t, "load.op", SR_KIND_INTERNAL);
		sr_span_set_str_static(&s, "load.static", "a static value");
		sr_span_set_str(&s, "load.copied", copied);
		sr_span_set_int(&s, "load.n", n);
		if (n % 7 == 0)
			sr_span_add_event(&s, "load.event", 0, NULL, 0);
		sr_span_end(&s);
		n++;
		atomic_fetch_add(&produced, 1);
	}
	return NULL;
}

/* The allocator of CRASH_IN_INIT: the third allocation crashes. */
static void *crashing_alloc(void *ud, size_t size, size_t align)
{
	static int calls;
	void *p = NULL;

	(void)ud;
	if (++calls == 3)
		raise(SIGSEGV);
	return posix_memalign(&p, align, size) == 0 ? p : NULL;
}

static void plain_free(void *ud, void *p, size_t size)
{
	(void)ud, (void)size;
	free(p);
}

static void report(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	(void)!write(report_fd, line, (size_t)n);
}

static __attribute__((noreturn)) void child(enum crash how)
{
	static const sr_allocator_t crash_alloc = { crashing_alloc, plain_free, NULL };
	const sr_tracer_t *t;
	struct rlimit no_core = { 0, 0 };
	struct sigaction sa;
	pthread_t th[PRODUCERS];
	sr_config_t cfg;

	setrlimit(RLIMIT_CORE, &no_core);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = app_handler;
	if (how == CRASH_SEGV_NO_HANDLER)
		sa.sa_handler = SIG_DFL; /* not cmocka's, which we inherit */
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);

	sr_config_init(&cfg);
	cfg.exporters = "slow";
	cfg.flight_recorder = rec_path;
	cfg.ring_records = RING_RECORDS;
	cfg.max_export_batch_size = 64;
	cfg.max_queue_size = 128;
	cfg.service_name = "flight-test-service";
	if (how == CRASH_IN_INIT)
		cfg.allocator = &crash_alloc;
	if (sr_test_register_slow(50) != 0 || sr_init(&cfg) != 0)
		_exit(3);
	t = sr_tracer_get("flight-test", "1.2");
	if (how == CRASH_AFTER_SHUTDOWN) {
		sr_test_produce_all(2, 100);
		sr_shutdown(5000, NULL);
		raise(SIGSEGV);
		_exit(4);
	}
	if (how == CRASH_IN_FORK_CHILD) {
		pid_t kid;
		int st;

		sr_test_produce_all(2, 100);
		sr_flush(5000, NULL); /* quiet threads across the fork */
		kid = fork();
		if (kid > 0) {
			waitpid(kid, &st, 0);
			_exit(0); /* the parent itself never crashes */
		}
		report("P %ld\n", (long)getpid());
		sr_test_produce_all(2, 100);
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_create(&th[i], NULL, producer, NULL);
	while (atomic_load(&produced) < 20000)
		sched_yield();
	if (how == CRASH_ABORT || how == CRASH_IN_FORK_CHILD ||
	    how == CRASH_WRAPPED) {
		/* Quiet for a moment: the drainer moves what the rings hold
		 * into batches, which wait for the slow exporter. */
		struct timespec ts = { 0, 30 * 1000000 };

		atomic_store(&stop_producing, 1);
		for (int i = 0; i < PRODUCERS; i++)
			pthread_join(th[i], NULL);
		nanosleep(&ts, NULL);
	}
	if (how == CRASH_WRAPPED) {
		/* This thread's ring is new: its index is the records it
		 * took.  One-record spans up to one before the ring's end
		 * (drained as they go, so none is dropped), and the first
		 * last span (two records) wraps: its second record is in the
		 * ring's overhang, which the recording must hold in its
		 * place (record_int.h). */
		sr_stats_t a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
		int left = RING_RECORDS * RECORDS_PER_UNIT - 1;

		sr_stats_get(&a);
		while (left > 0) {
			for (int i = 0; i < 64 && left > 0; i++, left--) {
				sr_span_t s;

				sr_span_start(&s, t, "pad", SR_KIND_INTERNAL);
				sr_span_end(&s);
			}
			if (sr_flush(10000, NULL) != 0)
				_exit(5);
		}
		sr_stats_get(&b);
		if (b.dropped_ring_full != a.dropped_ring_full)
			_exit(6);
	}
	/* The spans ended just before the crash, on this thread. */
	for (int i = 0; i < LAST_SPANS; i++) {
		sr_span_t s;
		sr_context_t ctx;
		char sid[17];

		sr_span_start(&s, t, "last-before-crash", SR_KIND_SERVER);
		sr_span_set_int(&s, "last.seq", i);
		sr_span_set_str_static(&s, "last.note", "must survive the crash");
		ctx = sr_span_context(&s);
		sr_span_end(&s);
		sr_context_span_id_hex(&ctx, sid);
		report("S %s\n", sid);
	}
	if (how == CRASH_ABORT) {
		abort();
	} else {
		/* An unmapped page, not NULL (UBSan would stop a NULL store
		 * first), through a volatile the compiler cannot fold. */
		volatile uintptr_t bad = 16;

		*(volatile int *)bad = 1;
	}
	_exit(5);
}

/* ---- the parent -------------------------------------------------------------- */

struct outcome {
	int status;                  /* waitpid's                        */
	bool handler_ran;            /* 'H' came up the pipe             */
	char ids[LAST_SPANS][17];
	int nids;
	long fork_pid;               /* CRASH_IN_FORK_CHILD: who crashed  */
};

static void run_child(enum crash how, struct outcome *o)
{
	int fds[2];
	char buf[4096], *line;
	size_t len = 0;
	ssize_t r;
	pid_t pid;

	memset(o, 0, sizeof(*o));
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		report_fd = fds[1];
		child(how);
	}
	close(fds[1]);
	while ((r = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0 ||
	       (r < 0 && errno == EINTR))
		if (r > 0)
			len += (size_t)r;
	close(fds[0]);
	buf[len] = '\0';
	assert_int_equal(waitpid(pid, &o->status, 0), pid);
	o->handler_ran = strchr(buf, 'H') != NULL;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		if (line[0] == 'S' && o->nids < LAST_SPANS &&
		    sscanf(line, "S %16s", o->ids[o->nids]) == 1)
			o->nids++;
		if (line[0] == 'P')
			o->fork_pid = strtol(line + 2, NULL, 10);
	}
}

/* Run spanring-recover; its exit status, its output in *log (malloc'd). */
static int recover(const char *in, const char *out, char **log)
{
	char cmd[2048], log_path[600];
	int st;

	snprintf(log_path, sizeof(log_path), "%s/recover.log", dir);
	snprintf(cmd, sizeof(cmd), "'%s' '%s' -o '%s' > '%s' 2>&1", SR_RECOVER,
		 in, out, log_path);
	st = system(cmd);
	*log = sr_test_read_file(log_path, NULL);
	if (*log)
		fprintf(stderr, "--- spanring-recover %s:\n%s", in, *log);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Every span of every line of `path`, by span id: name and whether it has
 * the attribute `key`. */
static json_t *spans_by_id(const char *path)
{
	json_t *all = json_object();
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;

	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		json_error_t err;
		json_t *root = json_loads(line, 0, &err), *rs;
		size_t i;

		assert_non_null(root);
		rs = json_object_get(root, "resourceSpans");
		for (i = 0; i < json_array_size(rs); i++) {
			json_t *ss = json_object_get(json_array_get(rs, i), "scopeSpans");

			for (size_t j = 0; j < json_array_size(ss); j++) {
				json_t *spans = json_object_get(json_array_get(ss, j), "spans");

				for (size_t k = 0; k < json_array_size(spans); k++) {
					json_t *sp = json_array_get(spans, k);
					const char *id = json_string_value(json_object_get(sp, "spanId"));

					assert_non_null(id);
					json_object_set(all, id, sp);
				}
			}
		}
		json_decref(root);
	}
	free(line);
	fclose(f);
	return all;
}

static bool has_attr(json_t *span, const char *key, const char *str_value)
{
	json_t *attrs = json_object_get(span, "attributes");

	for (size_t i = 0; i < json_array_size(attrs); i++) {
		json_t *a = json_array_get(attrs, i);

		if (strcmp(json_string_value(json_object_get(a, "key")), key) != 0)
			continue;
		if (!str_value)
			return true;
		return strcmp(json_string_value(json_object_get(
				      json_object_get(a, "value"), "stringValue")),
			      str_value) == 0;
	}
	return false;
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(sr_test_mkdtemp(dir, sizeof(dir), "flight"), 0);
	snprintf(rec_path, sizeof(rec_path), "%s/crash.srf", dir);
	atomic_store(&stop_producing, 0);
	atomic_store(&produced, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sr_test_rmtree(dir);
	return 0;
}

static void crash_and_recover(enum crash how, int sig)
{
	struct outcome o;
	struct sr_test_lines lines;
	char out[600], *log = NULL, *from;
	json_t *spans;
	long batched;
	int rc;

	run_child(how, &o);
	assert_true(WIFSIGNALED(o.status));
	assert_int_equal(WTERMSIG(o.status), sig);
	assert_true(o.handler_ran); /* the application's handler still ran */
	assert_int_equal(o.nids, LAST_SPANS);

	snprintf(out, sizeof(out), "%s/recovered.jsonl", dir);
	rc = recover(rec_path, out, &log);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(log, sig == SIGSEGV ? "died of SIGSEGV"
						   : "died of SIGABRT"));
	assert_non_null(strstr(log, "service \"flight-test-service\""));
	/* The header counts what the recorder wrote. */
	from = strstr(log, "the recorder wrote ");
	assert_non_null(from);
	assert_true(strtol(from + strlen("the recorder wrote "), NULL, 10) > 0);
	from = strstr(log, "from rings, ");
	assert_non_null(from);
	batched = strtol(from + strlen("from rings, "), NULL, 10);
	/* Quiet before the abort: the batches the exporter had not taken
	 * yet must be in the recording. */
	if (how == CRASH_ABORT)
		assert_true(batched > 0);
	free(log);

	/* Valid OTLP/JSON lines, each a whole request. */
	assert_int_equal(sr_test_scan_lines(out, &lines), 0);
	assert_true(lines.lines > 0);
	assert_int_equal(lines.bad, 0);
	assert_false(lines.partial);

	spans = spans_by_id(out);
	for (int i = 0; i < LAST_SPANS; i++) {
		json_t *sp = json_object_get(spans, o.ids[i]);

		if (!sp)
			fail_msg("span %s, ended just before the crash, was not "
				 "recovered", o.ids[i]);
		assert_string_equal(json_string_value(json_object_get(sp, "name")),
				    "last-before-crash");
		assert_true(has_attr(sp, "last.seq", NULL));
		assert_true(has_attr(sp, "last.note", "must survive the crash"));
	}
	/* The load's spans are named too: static strings, copied strings. */
	{
		const char *key;
		json_t *sp;
		long load = 0;

		json_object_foreach(spans, key, sp) {
			if (strcmp(json_string_value(json_object_get(sp, "name")),
				   "load.op") != 0)
				continue;
			assert_true(has_attr(sp, "load.static", "a static value"));
			assert_true(has_attr(sp, "load.copied", NULL));
			load++;
		}
		/* (The wrapped case flushed them all before its crash.) */
		assert_true(load > 0 || how == CRASH_WRAPPED);
	}
	json_decref(spans);
}

static void segv_under_load_is_recovered(void **state)
{
	(void)state;
	crash_and_recover(CRASH_SEGV, SIGSEGV);
}

static void abort_under_load_is_recovered(void **state)
{
	(void)state;
	crash_and_recover(CRASH_ABORT, SIGABRT);
}

/* The last spans wrap the ring's end, the first of them in one piece
 * through the ring's overhang: recovered whole all the same. */
static void spans_wrapping_the_ring_are_recovered(void **state)
{
	(void)state;
	crash_and_recover(CRASH_WRAPPED, SIGSEGV);
}

/* After sr_shutdown the handlers are the application's again: its handler
 * runs, the recording stays empty, and the tool says so. */
static void crash_after_shutdown_writes_nothing(void **state)
{
	struct outcome o;
	struct stat st;
	char out[600], *log = NULL;

	(void)state;
	run_child(CRASH_AFTER_SHUTDOWN, &o);
	assert_true(WIFSIGNALED(o.status));
	assert_int_equal(WTERMSIG(o.status), SIGSEGV);
	assert_true(o.handler_ran);
	assert_int_equal(stat(rec_path, &st), 0);
	assert_int_equal(st.st_size, 0);
	snprintf(out, sizeof(out), "%s/none.jsonl", dir);
	assert_int_equal(recover(rec_path, out, &log), 2);
	assert_non_null(strstr(log, "no crash was recorded"));
	free(log);
}

/* A crash inside sr_init (its allocator): the recorder is not armed yet;
 * the application's handler runs and no recording is left behind. */
static void crash_during_init_writes_nothing(void **state)
{
	struct outcome o;
	struct stat st;

	(void)state;
	run_child(CRASH_IN_INIT, &o);
	assert_true(WIFSIGNALED(o.status));
	assert_int_equal(WTERMSIG(o.status), SIGSEGV);
	assert_true(o.handler_ran);
	assert_true(stat(rec_path, &st) != 0 || st.st_size == 0);
}

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* A recording cut short (the process died mid-dump, the disk filled):
 * what is whole is recovered, and the tool says what happened; files that
 * are no recording at all are refused with a reason. */
static void damaged_files_get_clear_errors(void **state)
{
	struct outcome o;
	struct sr_test_lines lines;
	char out[600], cut[600], *log = NULL, *data;
	size_t len;

	(void)state;
	run_child(CRASH_SEGV, &o);
	assert_true(WIFSIGNALED(o.status));
	data = sr_test_read_file(rec_path, &len);
	assert_non_null(data);
	assert_true(len > 4096);

	snprintf(cut, sizeof(cut), "%s/cut.srf", dir);
	snprintf(out, sizeof(out), "%s/cut.jsonl", dir);
	write_file(cut, data, len / 2 + 100);
	assert_int_equal(recover(cut, out, &log), 1);
	assert_non_null(strstr(log, "truncated at byte"));
	assert_int_equal(sr_test_scan_lines(out, &lines), 0);
	assert_int_equal(lines.bad, 0);
	assert_true(lines.spans > 0);
	free(log);

	write_file(cut, "this is not a recording, but it is long enough to "
			"be mistaken for a header if nobody checked the magic "
			"bytes at its start ......................................"
			"........................................................"
			"........................................................"
			"...............", 280);
	assert_int_equal(recover(cut, out, &log), 2);
	assert_non_null(strstr(log, "not a flight recording: bad magic"));
	free(log);

	write_file(cut, data, 100);
	assert_int_equal(recover(cut, out, &log), 2);
	assert_non_null(strstr(log, "shorter than its"));
	free(log);

	snprintf(cut, sizeof(cut), "%s/missing.srf", dir);
	assert_int_equal(recover(cut, out, &log), 2);
	assert_non_null(strstr(log, "No such file"));
	free(log);
	free(data);
}

/* --endpoint: the same spans through the otlp exporter (OTLP/JSON here,
 * so the test reads them back), to a receiver on 127.0.0.1.  The receiver
 * starts after the child is gone: this process forks only while it has a
 * single thread. */
static void recovered_spans_reach_an_otlp_endpoint(void **state)
{
	struct outcome o;
	struct sr_rcv *rcv;
	char url[128], cmd[2048], log_path[600], *log, *at;
	long recovered, got = 0;
	int st;

	(void)state;
	run_child(CRASH_SEGV, &o);
	assert_true(WIFSIGNALED(o.status));
	rcv = sr_rcv_start();
	assert_non_null(rcv);
	sr_rcv_base_url(rcv, url, sizeof(url) - 16);
	strcat(url, "/v1/traces");
	snprintf(log_path, sizeof(log_path), "%s/endpoint.log", dir);
	snprintf(cmd, sizeof(cmd), "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json "
		 "'%s' '%s' --endpoint '%s' > '%s' 2>&1", SR_RECOVER, rec_path,
		 url, log_path);
	st = system(cmd);
	log = sr_test_read_file(log_path, NULL);
	assert_non_null(log);
	fprintf(stderr, "--- spanring-recover --endpoint:\n%s", log);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	at = strstr(log, "recovered ");
	assert_non_null(at);
	recovered = strtol(at + strlen("recovered "), NULL, 10);
	assert_true(recovered > 0);
	assert_non_null(strstr(log, "sent "));
	for (size_t i = 0; i < sr_rcv_count(rcv); i++) {
		const struct sr_rcv_request *rq = sr_rcv_get(rcv, i);
		json_error_t err;
		json_t *root = json_loadb((const char *)rq->body, rq->body_len, 0, &err);

		assert_string_equal(rq->path, "/v1/traces");
		assert_non_null(root);
		got += sr_test_otlp_spans(root);
		json_decref(root);
	}
	assert_int_equal(got, recovered);
	sr_rcv_stop(rcv);
	free(log);
}

/* No handler of the application's: the default action still happens
 * after the recording is written (death by SIGSEGV; a core dump where the
 * limit allows).  ASan's own handler in that place was checked by hand
 * (docs/flight-recorder.md): this process's is cmocka's, inherited. */
static void previous_disposition_acts_after_the_recording(void **state)
{
	struct outcome o;
	char out[600], *log = NULL;

	(void)state;
	run_child(CRASH_SEGV_NO_HANDLER, &o);
	assert_false(o.handler_ran);
	assert_true(WIFSIGNALED(o.status));
	assert_int_equal(WTERMSIG(o.status), SIGSEGV);
	snprintf(out, sizeof(out), "%s/recovered.jsonl", dir);
	assert_int_equal(recover(rec_path, out, &log), 0);
	assert_non_null(strstr(log, "died of SIGSEGV"));
	free(log);
}

/* The core restarts the pipeline in a fork child: its recording goes to
 * <path>.<pid>, and its crash leaves the parent's recording alone. */
static void fork_child_records_to_its_own_file(void **state)
{
	struct outcome o;
	struct stat st;
	char child_rec[700], out[600], *log = NULL;
	json_t *spans;

	(void)state;
	run_child(CRASH_IN_FORK_CHILD, &o);
	assert_true(WIFEXITED(o.status)); /* the parent exited normally */
	assert_true(o.fork_pid > 0);
	assert_true(o.handler_ran);
	assert_int_equal(stat(rec_path, &st), 0);
	assert_int_equal(st.st_size, 0);
	snprintf(child_rec, sizeof(child_rec), "%s.%ld", rec_path, o.fork_pid);
	snprintf(out, sizeof(out), "%s/child.jsonl", dir);
	assert_int_equal(recover(child_rec, out, &log), 0);
	assert_non_null(strstr(log, "died of SIGSEGV"));
	free(log);
	spans = spans_by_id(out);
	for (int i = 0; i < LAST_SPANS; i++)
		assert_non_null(json_object_get(spans, o.ids[i]));
	json_decref(spans);
}

/* In this process, after every fork: a path that cannot be opened is
 * reported, naming the variable and the path, and the pipeline runs on
 * without the recorder; the variable reaches the config. */
static void bad_path_is_reported_and_the_pipeline_runs(void **state)
{
	sr_config_t cfg;

	(void)state;
	setenv("SPANRING_FLIGHT_RECORDER", "/nonexistent-dir/x.srf", 1);
	sr_config_init(&cfg);
	assert_int_equal(sr_config_from_env(&cfg), 0);
	unsetenv("SPANRING_FLIGHT_RECORDER");
	assert_string_equal(cfg.flight_recorder, "/nonexistent-dir/x.srf");
	cfg.exporters = "none";
	assert_int_equal(sr_init(&cfg), SR_EIO);
	assert_non_null(strstr(sr_last_error(), "SPANRING_FLIGHT_RECORDER="
			       "'/nonexistent-dir/x.srf': cannot open"));
	assert_true(sr_is_running());
	assert_int_equal(sr_shutdown(5000, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(segv_under_load_is_recovered,
						setup, teardown),
		cmocka_unit_test_setup_teardown(spans_wrapping_the_ring_are_recovered,
						setup, teardown),
		cmocka_unit_test_setup_teardown(abort_under_load_is_recovered,
						setup, teardown),
		cmocka_unit_test_setup_teardown(previous_disposition_acts_after_the_recording,
						setup, teardown),
		cmocka_unit_test_setup_teardown(crash_after_shutdown_writes_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(crash_during_init_writes_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(damaged_files_get_clear_errors,
						setup, teardown),
		cmocka_unit_test_setup_teardown(recovered_spans_reach_an_otlp_endpoint,
						setup, teardown),
		cmocka_unit_test_setup_teardown(fork_child_records_to_its_own_file,
						setup, teardown),
		/* Last: it starts threads in this process. */
		cmocka_unit_test(bad_path_is_reported_and_the_pipeline_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
