/*
 * test_fanout.c - one batch to several exporters, with one of them stuck.
 *
 * How the guarantee is made (core/exporter_worker.c, not here): every
 * exporter has its own worker thread and its own bounded queue of batch
 * references; the drainer hands each batch to every queue that has room
 * and never waits, so a stuck exporter fills its own queue and then
 * misses batches (counted in its spans_queue_full) while the others keep
 * receiving every batch.  A span counts as exported when at least one
 * exporter took it.
 *
 * What this test shows with real exporters: "zipkin" posts to a receiver
 * that reads each request and never answers, while "file" writes OTLP/JSON
 * lines.  Producers record bursts of spans; after each burst the test
 * waits (bounded) until the file exporter has taken everything.  Checks:
 * the file holds every span, zipkin's stuck queue shows the misses, the
 * accounting invariant holds, and shutdown returns although zipkin is
 * mid-request (its cancel hook aborts the post).  The same workload runs
 * first with a healthy receiver; the time the file needed to catch up is
 * printed for both runs (a measurement, not an assertion).
 */
// SR_TEST_LABELS: concurrency
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "receiver.h"
#include "testutil.h"

#define BURSTS 20
#define PER_THREAD 250
#define THREADS 2
#define QUEUE_BATCHES 50

static char dir[256], path[300];
static struct sr_rcv *rcv;

static int setup(void **state)
{
	char url[96];

	if (sr_test_mkdtemp(dir, sizeof(dir), "fanout") != 0 || !(rcv = sr_rcv_start()))
		return -1;
	snprintf(path, sizeof(path), "%s/traces.jsonl", dir);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/api/v2/spans", sr_rcv_port(rcv));
	setenv("SPANRING_FILE_PATH", path, 1);
	setenv("OTEL_EXPORTER_ZIPKIN_ENDPOINT", url, 1);
	setenv("OTEL_EXPORTER_ZIPKIN_TIMEOUT", "0", 1); /* the export deadline only */
	sr_rcv_discard_bodies(rcv, true);
	return 0;
}

static int teardown(void **state)
{
	if (sr_is_running())
		sr_shutdown(5000, NULL);
	sr_rcv_stop(rcv);
	unsetenv("SPANRING_FILE_PATH");
	unsetenv("OTEL_EXPORTER_ZIPKIN_ENDPOINT");
	unsetenv("OTEL_EXPORTER_ZIPKIN_TIMEOUT");
	sr_test_rmtree(dir);
	return 0;
}

static void zipkin_and_file(sr_config_t *cfg)
{
	cfg->exporters = "zipkin,file";
	cfg->max_export_batch_size = 50;
	/* 50 batches per exporter queue: room for a whole burst (10 full
	 * batches, more if a slow machine cuts partial ones), so the
	 * healthy file exporter never misses one. */
	cfg->max_queue_size = QUEUE_BATCHES * 50;
	cfg->schedule_delay_ms = 5;
	cfg->export_timeout_ms = 60000;    /* zipkin stays stuck throughout */
}

/* Wait (at most 10 s) until exporter `name` has taken `want` spans. */
static bool wait_exporter(const char *name, uint64_t want)
{
	sr_exporter_stats_t ex = { .size = sizeof(ex) };
	for (int i = 0; i < 10000; i++) {
		if (sr_test_exporter_stats(name, &ex) == 0 &&
		    ex.spans_ok + ex.spans_failed >= want)
			return true;
		usleep(1000);
	}
	sr_stats_t st = { .size = sizeof(st) };
	sr_stats_get(&st);
	printf("file qfull %" PRIu64 " batches %" PRIu64 "; ", ex.spans_queue_full, ex.batches);
	printf("file has %" PRIu64 " of %" PRIu64 " spans; sampled %" PRIu64
	       " exported %" PRIu64 " ring_full %" PRIu64 " queue_full %" PRIu64
	       " batches %" PRIu64 "\n", ex.spans_ok + ex.spans_failed, want,
	       st.sampled, st.exported, st.dropped_ring_full, st.dropped_queue_full,
	       st.batches);
	return false;
}

struct outcome {
	sr_stats_t st;
	sr_exporter_stats_t zipkin, file;
	uint64_t catch_up_ns;   /* sum over bursts: produce -> file has all */
	uint64_t shutdown_ns;
	long file_spans;
};

/* `wait_zipkin`: pace the bursts on zipkin too (the healthy baseline, so
 * that it does not miss batches on a loaded machine either). */
static void run(struct outcome *o, bool wait_zipkin, uint32_t shutdown_ms)
{
	struct sr_test_lines l;
	uint64_t t;

	memset(o, 0, sizeof(*o));
	o->st.size = sizeof(o->st);
	assert_int_equal(sr_test_init_memory(zipkin_and_file), 0);
	for (int b = 1; b <= BURSTS; b++) {
		t = sr_test_now_ns();
		sr_test_produce_all(THREADS, PER_THREAD);
		assert_true(wait_exporter("file", (uint64_t)b * THREADS * PER_THREAD));
		o->catch_up_ns += sr_test_now_ns() - t;
		if (wait_zipkin)
			assert_true(wait_exporter("zipkin",
						  (uint64_t)b * THREADS * PER_THREAD));
	}
	t = sr_test_now_ns();
	sr_shutdown(shutdown_ms, NULL);
	o->shutdown_ns = sr_test_now_ns() - t;
	/* The final per-exporter counters, kept after shutdown. */
	assert_int_equal(sr_test_exporter_stats("zipkin", &o->zipkin), 0);
	assert_int_equal(sr_test_exporter_stats("file", &o->file), 0);
	assert_int_equal(sr_stats_get(&o->st), 0);
	assert_int_equal(sr_test_check_invariant(&o->st), 0);
	assert_int_equal(sr_test_scan_lines(path, &l), 0);
	assert_int_equal(l.bad, 0);
	assert_false(l.partial);
	o->file_spans = l.spans;
	unlink(path);
}

static void print_outcome(const char *what, const struct outcome *o)
{
	uint64_t total = (uint64_t)BURSTS * THREADS * PER_THREAD;

	printf("%-16s file: %ld of %" PRIu64 " spans written, %.2f ms per burst "
	       "of %d spans from produce to written (mean of %d); zipkin: %"
	       PRIu64 " batches tried, ok %" PRIu64 " failed %" PRIu64
	       " missed (queue full) %" PRIu64 "; receiver got %zu requests so "
	       "far; shutdown %.0f ms\n",
	       what, o->file_spans, total, o->catch_up_ns / 1e6 / BURSTS,
	       THREADS * PER_THREAD, BURSTS, o->zipkin.batches,
	       o->zipkin.spans_ok, o->zipkin.spans_failed,
	       o->zipkin.spans_queue_full, sr_rcv_count(rcv), o->shutdown_ns / 1e6);
}

static void stuck_zipkin_does_not_starve_file(void **state)
{
	static const struct sr_rcv_reply hang = { .action = SR_RCV_HANG };
	const uint64_t total = (uint64_t)BURSTS * THREADS * PER_THREAD;
	struct outcome healthy, stuck;

	run(&healthy, true, 5000);
	print_outcome("zipkin healthy:", &healthy);
	assert_int_equal(healthy.file_spans, total);
	assert_int_equal(healthy.zipkin.spans_ok, total);

	sr_rcv_set_default(rcv, &hang);
	run(&stuck, false, 300);
	print_outcome("zipkin stuck:", &stuck);
	/* The file got every batch... */
	assert_int_equal(stuck.file_spans, total);
	assert_int_equal(stuck.file.spans_ok, total);
	assert_int_equal(stuck.st.exported, total);
	/* ...while zipkin took one batch into its hung request, queued up
	 * to QUEUE_BATCHES more and missed the rest. */
	assert_int_equal(stuck.zipkin.spans_ok, 0);
	assert_true(stuck.zipkin.spans_queue_full > 0);
	assert_true(stuck.zipkin.spans_queue_full >= total - (QUEUE_BATCHES + 1) * 50);
	assert_int_equal(stuck.st.dropped_queue_full, 0); /* file always had room */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(stuck_zipkin_does_not_starve_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
