/*
 * test_otlp_faults.c - the OTLP exporter in the real pipeline against the
 * test receiver, through a matrix of receiver behaviours: healthy
 * (protobuf, JSON, gzip), down, slow, hanging, 503 with Retry-After, 429,
 * 400, 500, partial success, connection reset in the middle of the body.
 *
 * Every case checks the accounting from both ends:
 *   - the pipeline's invariant: sampled == exported + dropped (by reason);
 *   - what the receiver got: the spans in requests it answered 2xx equal
 *     exported + rejected (a batch delivered twice would show here);
 *   - the exporter's own stats agree (spans_ok, rejected, failure causes).
 * Producers run on their own threads and must finish all their spans
 * whatever the receiver does (a blocked producer would hang the test into
 * its ctest timeout); the slowest sr_span_end() is printed, not asserted
 * (no timing assertions in tests).  Shutdown with a hanging receiver must
 * return and account for everything.
 *
 * Each case prints one line of the matrix ("case sampled exported dropped
 * ...") so a run documents what happened.  Retry waits are shortened with
 * SPANRING_OTLP_RETRY_* so the whole matrix runs in seconds.
 */
// SR_TEST_LABELS: concurrency
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "receiver.h"
#include "testutil.h"

#define THREADS 2
#define SPANS_PER_THREAD 400
#define BATCH_MAX 100 /* spans per export request */

/* Spans in one recorded request body (protobuf or JSON). */
static long body_spans(const struct sr_rcv_request *q, bool json)
{
	if (!json)
		return sr_rcv_count_otlp_spans(q->body, q->body_len);
	json_error_t err;
	json_t *root = json_loadb((const char *)q->body, q->body_len, 0, &err);
	long n = 0;
	if (!root)
		return -1;
	json_t *rss = json_object_get(root, "resourceSpans");
	for (size_t i = 0; i < json_array_size(rss); i++) {
		json_t *sss = json_object_get(json_array_get(rss, i), "scopeSpans");
		for (size_t j = 0; j < json_array_size(sss); j++)
			n += (long)json_array_size(
				json_object_get(json_array_get(sss, j), "spans"));
	}
	json_decref(root);
	return n;
}

struct fault_case {
	const char *name;
	const struct sr_rcv_reply *script; /* first replies, then `dflt` */
	size_t nscript;
	struct sr_rcv_reply dflt;
	bool down;                         /* nobody listens              */
	bool json, gzip;
	uint32_t shutdown_ms;
	struct sr_test_otlp_want want;     /* expectations                 */
};

struct outcome {
	sr_stats_t st;
	sr_otlp_stats_t os;
	uint64_t got_2xx;                  /* spans in 2xx-answered requests */
	size_t requests, connections;
};

static void set_env(const char *base, const struct fault_case *c)
{
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", base, 1);
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", c->json ? "http/json" : "http/protobuf", 1);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", c->gzip ? "gzip" : "none", 1);
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "300", 1);
	setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cret%20value", 1);
	setenv("SPANRING_OTLP_RETRY_INITIAL_MS", "10", 1);
	setenv("SPANRING_OTLP_RETRY_MAX_MS", "40", 1);
	setenv("SPANRING_OTLP_MAX_ATTEMPTS", "4", 1);
}

static void clear_env(void)
{
	static const char *vars[] = {
		"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_COMPRESSION",
		"OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_HEADERS",
		"SPANRING_OTLP_RETRY_INITIAL_MS", "SPANRING_OTLP_RETRY_MAX_MS",
		"SPANRING_OTLP_MAX_ATTEMPTS",
	};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

static void tweak(sr_config_t *cfg)
{
	cfg->exporters = "otlp";
	cfg->max_export_batch_size = BATCH_MAX;
	cfg->schedule_delay_ms = 20;
	cfg->export_timeout_ms = 1500;
}

static void run(const struct fault_case *c, struct sr_rcv *r, struct outcome *o)
{
	char base[64];
	struct sr_test_producers prod = { .threads = THREADS, .spans = SPANS_PER_THREAD,
					  .name = "fault.op", .kind = SR_KIND_SERVER };
	uint64_t lost = 0;

	memset(o, 0, sizeof(*o));
	if (c->down)
		snprintf(base, sizeof(base), "http://127.0.0.1:%u", sr_rcv_unused_port());
	else
		sr_rcv_base_url(r, base, sizeof(base));
	if (c->nscript)
		sr_rcv_script(r, c->script, c->nscript);
	sr_rcv_set_default(r, &c->dflt);
	set_env(base, c);
	assert_int_equal(sr_test_init_memory(tweak), 0);

	sr_test_produce(&prod);
	uint64_t t0 = sr_test_now_ns();
	sr_flush(c->shutdown_ms, NULL);
	int rc = sr_shutdown(c->shutdown_ms, &lost);
	uint64_t shut_ms = (sr_test_now_ns() - t0) / 1000000;
	clear_env();
	assert_true(rc == 0 || rc == SR_ETIMEDOUT);

	o->st.size = sizeof(o->st);
	assert_int_equal(sr_stats_get(&o->st), 0);
	o->os.size = sizeof(o->os);
	assert_int_equal(sr_otlp_stats_get(&o->os), 0);
	o->requests = sr_rcv_count(r);
	o->connections = sr_rcv_connections(r);
	for (size_t i = 0; i < o->requests; i++) {
		const struct sr_rcv_request *q = sr_rcv_get(r, i);
		long n;
		if (q->status < 200 || q->status >= 300)
			continue;
		n = body_spans(q, c->json);
		assert_true(n >= 0);
		o->got_2xx += (uint64_t)n;
		assert_string_equal(q->path, "/v1/traces");
		assert_int_equal(q->gzip, c->gzip);
		assert_non_null(strstr(q->headers, "x-api-key: s3cret value"));
		assert_non_null(strstr(q->headers, c->json ? "application/json"
							   : "application/x-protobuf"));
	}

	const sr_stats_t *st = &o->st;
	printf("%-16s sampled %4" PRIu64 " exported %4" PRIu64 " dropped: exporter %4"
	       PRIu64 " queue_full %4" PRIu64 " shutdown %4" PRIu64 " ring_full %" PRIu64
	       " | receiver 2xx spans %4" PRIu64 " requests %3zu conns %2zu | otlp requests %3"
	       PRIu64 " retries %3" PRIu64 " rejected %2" PRIu64
	       " | max span_end %" PRIu64 " ns, flush+shutdown %" PRIu64 " ms\n",
	       c->name, st->sampled, st->exported, st->dropped_exporter,
	       st->dropped_queue_full, st->dropped_shutdown, st->dropped_ring_full,
	       o->got_2xx, o->requests, o->connections, o->os.requests, o->os.retries,
	       o->os.spans_rejected, prod.max_end_ns, shut_ms);
	if (o->os.last_error[0])
		printf("%-16s last_error: %s\n", "", o->os.last_error);
	fflush(stdout);

	/* Nothing lost unaccounted, from both ends. */
	assert_int_equal(st->sampled, THREADS * SPANS_PER_THREAD);
	assert_int_equal(sr_test_check_invariant(st), 0);
	/* Delivery is at least once: an attempt that timed out on our side
	 * may still have been answered 2xx by the (slow) receiver, and its
	 * retry delivers those spans again.  Exact when nothing timed out;
	 * otherwise at most one batch more per timed-out attempt. */
	{
		uint64_t delivered = st->exported + o->os.spans_rejected;
		uint64_t timeouts = o->os.request_fail[SR_OTLP_FAIL_TIMEOUT];

		assert_true(o->got_2xx >= delivered);
		assert_true(o->got_2xx - delivered <= timeouts * BATCH_MAX);
		if (!timeouts)
			assert_int_equal(o->got_2xx, delivered);
		assert_int_equal(o->os.spans_ok, delivered);
	}
	assert_null(strstr(o->os.last_error, "s3cret"));
	sr_test_check_otlp(&c->want, st, &o->os);
}

static void run_case(const struct fault_case *c)
{
	struct sr_rcv *r = sr_rcv_start();
	struct outcome o;

	assert_non_null(r);
	run(c, r, &o);
	sr_rcv_stop(r);
}

#define REPLY(...) ((struct sr_rcv_reply){ __VA_ARGS__ })

static void healthy_protobuf_delivers_everything_on_one_connection(void **state)
{
	struct fault_case c = { .name = "ok/protobuf", .shutdown_ms = 5000,
				.want.all_exported = true };
	struct sr_rcv *r = sr_rcv_start();
	struct outcome o;

	run(&c, r, &o);
	assert_int_equal(o.connections, 1); /* keep-alive reuse */
	assert_int_equal(o.os.requests, o.requests);
	assert_int_equal(o.os.retries, 0);
	assert_int_equal(o.os.bytes_raw, o.os.bytes_sent);
	assert_true(o.os.exports_ok > 0 && o.os.exports_failed == 0);
	sr_rcv_stop(r);
}

static void healthy_json_gzip_delivers_everything(void **state)
{
	struct fault_case c = { .name = "ok/json+gzip", .json = true, .gzip = true,
				.shutdown_ms = 5000, .want.all_exported = true };
	struct sr_rcv *r = sr_rcv_start();
	struct outcome o;

	run(&c, r, &o);
	assert_true(o.os.bytes_sent < o.os.bytes_raw); /* compressed */
	sr_rcv_stop(r);
}

static void healthy_protobuf_gzip(void **state)
{
	struct fault_case c = { .name = "ok/protobuf+gz", .gzip = true,
				.shutdown_ms = 5000, .want.all_exported = true };
	run_case(&c);
}

static void receiver_down_drops_and_counts(void **state)
{
	struct fault_case c = { .name = "down", .down = true, .shutdown_ms = 3000,
				.want.none_exported = true, .want.fail_cause = SR_OTLP_FAIL_CONNECT,
				.want.retried = true };
	run_case(&c);
}

static void retry_after_503_is_honoured(void **state)
{
	static const struct sr_rcv_reply s[] = {
		{ .status = 503, .retry_after = 1 },
	};
	struct fault_case c = { .name = "503+retry-after", .script = s, .nscript = 1,
				.shutdown_ms = 8000, .want.all_exported = true,
				.want.fail_cause = SR_OTLP_FAIL_RETRYABLE, .want.retried = true };
	run_case(&c);
}

static void status_429_502_504_are_retried(void **state)
{
	static const struct sr_rcv_reply s[] = {
		{ .status = 429 }, { .status = 502 }, { .status = 504 },
	};
	struct fault_case c = { .name = "429/502/504", .script = s, .nscript = 3,
				.shutdown_ms = 8000, .want.all_exported = true,
				.want.fail_cause = SR_OTLP_FAIL_RETRYABLE, .want.retried = true };
	run_case(&c);
}

static void status_400_is_not_retried(void **state)
{
	static const struct sr_rcv_reply s[] = {
		{ .status = 400, .body = "bad request", .body_len = 11 },
	};
	struct fault_case c = { .name = "400", .script = s, .nscript = 1,
				.shutdown_ms = 5000, .want.fail_cause = SR_OTLP_FAIL_CLIENT };
	struct sr_rcv *r = sr_rcv_start();
	struct outcome o;

	run(&c, r, &o);
	assert_int_equal(o.os.retries, 0);
	assert_int_equal(o.os.exports_failed, 1);
	assert_true(o.st.dropped_exporter > 0);
	assert_int_equal(o.st.dropped_exporter, o.os.spans_failed);
	assert_non_null(strstr(o.os.last_error, "HTTP 400"));
	sr_rcv_stop(r);
}

static void status_500_is_not_retried(void **state)
{
	static const struct sr_rcv_reply s[] = { { .status = 500 } };
	struct fault_case c = { .name = "500", .script = s, .nscript = 1,
				.shutdown_ms = 5000, .want.fail_cause = SR_OTLP_FAIL_SERVER };
	struct sr_rcv *r = sr_rcv_start();
	struct outcome o;

	run(&c, r, &o);
	assert_int_equal(o.os.retries, 0);
	assert_int_equal(o.os.exports_failed, 1);
	sr_rcv_stop(r);
}

static void partial_success_counts_rejected_spans(void **state)
{
	/* ExportTraceServiceResponse{partial_success{rejected_spans: 3,
	 * error_message: "q"}} */
	static const char pb[] = "\x0a\x05\x08\x03\x12\x01q";
	static const struct sr_rcv_reply s[] = {
		{ .body = pb, .body_len = sizeof(pb) - 1 },
	};
	struct fault_case c = { .name = "partial/protobuf", .script = s, .nscript = 1,
				.shutdown_ms = 5000, .want.rejected = 3 };
	struct sr_rcv *r = sr_rcv_start();
	struct outcome o;

	run(&c, r, &o);
	assert_int_equal(o.st.exported, o.st.sampled - 3);
	assert_int_equal(o.st.dropped_exporter, 3);
	assert_non_null(strstr(o.os.last_error, "partial success"));
	sr_rcv_stop(r);
}

static void partial_success_json(void **state)
{
	static const char js[] = "{\"partialSuccess\":{\"rejectedSpans\":\"2\","
				 "\"errorMessage\":\"too old\"}}";
	static const struct sr_rcv_reply s[] = {
		{ .body = js, .body_len = sizeof(js) - 1, .content_type = "application/json" },
	};
	struct fault_case c = { .name = "partial/json", .json = true, .script = s,
				.nscript = 1, .shutdown_ms = 5000, .want.rejected = 2 };
	run_case(&c);
}

static void reset_mid_body_is_retried(void **state)
{
	static const struct sr_rcv_reply s[] = {
		{ .action = SR_RCV_RESET_MID_BODY }, { .action = SR_RCV_CLOSE },
	};
	struct fault_case c = { .name = "reset+close", .script = s, .nscript = 2,
				.shutdown_ms = 5000, .want.all_exported = true,
				.want.fail_cause = SR_OTLP_FAIL_CONNECT, .want.retried = true };
	run_case(&c);
}

static void slow_receiver_within_timeout(void **state)
{
	struct fault_case c = { .name = "slow", .shutdown_ms = 10000,
				.dflt = { .action = SR_RCV_SLOW, .delay_ms = 100 } };
	run_case(&c); /* drops allowed (queue full); accounting must hold */
}

static void hanging_receiver_does_not_block_shutdown(void **state)
{
	struct fault_case c = { .name = "hang", .shutdown_ms = 1000,
				.dflt = { .action = SR_RCV_HANG },
				.want.none_exported = true, .want.fail_cause = SR_OTLP_FAIL_TIMEOUT };
	run_case(&c);
}

/* The per-signal endpoint is used as is; the general one gets /v1/traces. */
static void traces_endpoint_is_used_as_is(void **state)
{
	struct sr_rcv *r = sr_rcv_start();
	char url[128];

	assert_non_null(r);
	sr_rcv_base_url(r, url, sizeof(url));
	strcat(url, "/custom/ingest");
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url, 1);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9", 1);
	assert_int_equal(sr_test_init_memory(tweak), 0);
	sr_span_t s;
	sr_span_start(&s, NULL, "one", SR_KIND_INTERNAL);
	sr_span_end(&s);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	clear_env();
	assert_true(sr_rcv_count(r) >= 1);
	assert_string_equal(sr_rcv_get(r, 0)->path, "/custom/ingest");
	assert_non_null(strstr(sr_rcv_get(r, 0)->headers, "User-Agent: spanring/"));
	sr_rcv_stop(r);

	/* A base with a trailing slash gets exactly one. */
	r = sr_rcv_start();
	sr_rcv_base_url(r, url, sizeof(url));
	strcat(url, "/");
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url, 1);
	assert_int_equal(sr_test_init_memory(tweak), 0);
	sr_span_start(&s, NULL, "two", SR_KIND_INTERNAL);
	sr_span_end(&s);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	clear_env();
	assert_true(sr_rcv_count(r) >= 1);
	assert_string_equal(sr_rcv_get(r, 0)->path, "/v1/traces");
	sr_rcv_stop(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(healthy_protobuf_delivers_everything_on_one_connection),
		cmocka_unit_test(healthy_json_gzip_delivers_everything),
		cmocka_unit_test(healthy_protobuf_gzip),
		cmocka_unit_test(receiver_down_drops_and_counts),
		cmocka_unit_test(retry_after_503_is_honoured),
		cmocka_unit_test(status_429_502_504_are_retried),
		cmocka_unit_test(status_400_is_not_retried),
		cmocka_unit_test(status_500_is_not_retried),
		cmocka_unit_test(partial_success_counts_rejected_spans),
		cmocka_unit_test(partial_success_json),
		cmocka_unit_test(reset_mid_body_is_retried),
		cmocka_unit_test(slow_receiver_within_timeout),
		cmocka_unit_test(traces_endpoint_is_used_as_is),
		cmocka_unit_test(hanging_receiver_does_not_block_shutdown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
