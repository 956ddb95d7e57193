/*
 * test_otlp_grpc.c - the OTLP exporter speaking OTLP/gRPC, in the real
 * pipeline, against a real gRPC server (tests/receiver/grpc_receiver.py on
 * python3-grpcio) that the test starts on 127.0.0.1 and stops.
 *
 * The same fault matrix as OTLP/HTTP (test_otlp_faults.c), in gRPC terms:
 * healthy (plain, gzip, TLS with ALPN h2), many requests (libcurl 7.88's
 * h2c reuse bug would lose all but the first), receiver down, every
 * retryable code, RESOURCE_EXHAUSTED with and without RetryInfo, final
 * codes, partial success, slow, hanging.  Every case checks the
 * accounting from both ends:
 *   - sampled == exported + dropped (by reason);
 *   - the spans the receiver answered OK == the exporter's spans_ok ==
 *     exported + rejected (a batch delivered twice, or counted delivered
 *     but lost, shows here);
 *   - the failure causes the exporter counted.
 * Each case prints one line, so a run documents what happened.  Retry
 * waits are shortened with SPANRING_OTLP_RETRY_*.
 */
// SR_TEST_LABELS: otlp concurrency
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exporter_int.h"
#include "http_int.h"
#include "grpc_rcv.h"
#include "receiver.h"
#include "testutil.h"

#define THREADS 2

struct grpc_case {
	const char *name;
	const char *script;          /* replies for the first calls         */
	const char *dflt;            /* then this one (NULL: ok)            */
	unsigned spans_per_thread;   /* 0: 400                              */
	unsigned batch;              /* 0: 100                              */
	unsigned timeout_ms;         /* attempt limit; 0: 1500 (wide: a call
					the server answered but we gave up
					on would count twice there)          */
	bool gzip, paced;
	bool unreached;              /* no call reaches the receiver (TLS)  */
	bool loose;                  /* calls cut by shutdown may not count */
	uint32_t shutdown_ms;
	struct sr_test_otlp_want want; /* expectations                    */
};

struct outcome {
	sr_stats_t st;
	sr_otlp_stats_t os;
	struct sr_grcv_stats rs;
	sr_exporter_stats_t es;   /* the core's view of the exporter */
	uint64_t shut_ms;
};

static void clear_env(void)
{
	static const char *vars[] = {
		"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
		"OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TIMEOUT",
		"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_INSECURE",
		"OTEL_EXPORTER_OTLP_CERTIFICATE", "SPANRING_OTLP_RETRY_INITIAL_MS",
		"SPANRING_OTLP_RETRY_MAX_MS", "SPANRING_OTLP_MAX_ATTEMPTS",
	};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

static void set_env(const char *url, const struct grpc_case *c)
{
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url, 1);
	setenv("OTEL_EXPORTER_OTLP_COMPRESSION", c->gzip ? "gzip" : "none", 1);
	char t[16];
	snprintf(t, sizeof(t), "%u", c->timeout_ms ? c->timeout_ms : 1500);
	setenv("OTEL_EXPORTER_OTLP_TIMEOUT", t, 1);
	setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cret%20value", 1);
	setenv("SPANRING_OTLP_RETRY_INITIAL_MS", "10", 1);
	setenv("SPANRING_OTLP_RETRY_MAX_MS", "40", 1);
	setenv("SPANRING_OTLP_MAX_ATTEMPTS", "5", 1);
}

static unsigned g_batch;

static void tweak(sr_config_t *cfg)
{
	cfg->exporters = "otlp";
	cfg->max_export_batch_size = g_batch;
	cfg->max_queue_size = 32768;
	cfg->max_threads = 8;
	cfg->ring_records = 4096;
	cfg->schedule_delay_ms = 20;
	cfg->export_timeout_ms = 4000;
}

/* Spans, flush, shutdown; the stats of both ends.  `url` is where the
 * exporter sends (the endpoint variables are set by the caller when
 * url is NULL). */
static void run_with(const struct grpc_case *c, struct sr_grcv *r,
		     const char *url, struct outcome *o)
{
	unsigned per = c->spans_per_thread ? c->spans_per_thread : 400;
	/* Paced: stay within the rings (the point is the exporter, not ring
	 * overflow). */
	struct sr_test_producers prod = { .threads = THREADS, .spans = per,
					  .name = "grpc.op", .kind = SR_KIND_CLIENT,
					  .pace_every = c->paced ? 256 : 0 };
	uint64_t lost = 0;

	memset(o, 0, sizeof(*o));
	if (r) {
		assert_int_equal(sr_grcv_reset(r), 0);
		assert_int_equal(sr_grcv_script(r, c->script ? c->script : ""), 0);
		assert_int_equal(sr_grcv_default(r, c->dflt ? c->dflt : "ok"), 0);
	}
	if (url)
		set_env(url, c);
	g_batch = c->batch ? c->batch : 100;
	assert_int_equal(sr_test_init_memory(tweak), 0);
	sr_test_produce(&prod);
	uint64_t t0 = sr_test_now_ns();
	sr_flush(c->shutdown_ms, NULL);
	int rc = sr_shutdown(c->shutdown_ms, &lost);
	o->shut_ms = (sr_test_now_ns() - t0) / 1000000;
	clear_env();
	assert_true(rc == 0 || rc == SR_ETIMEDOUT);
	o->st.size = sizeof(o->st);
	assert_int_equal(sr_stats_get(&o->st), 0);
	o->os.size = sizeof(o->os);
	assert_int_equal(sr_otlp_stats_get(&o->os), 0);
	assert_int_equal(sr_test_exporter_stats("otlp", &o->es), 0);
	if (r)
		assert_int_equal(sr_grcv_stats(r, &o->rs), 0);

	const sr_stats_t *st = &o->st;
	printf("%-18s sampled %5" PRIu64 " exported %5" PRIu64 " dropped: exporter %4"
	       PRIu64 " queue_full %" PRIu64 " ring_full %" PRIu64 " | receiver ok spans %5ld"
	       " calls %4ld (ok %4ld) conns %4ld | exporter spans_ok %5" PRIu64
	       " requests %4" PRIu64 " retries %3" PRIu64 " rejected %" PRIu64
	       " | shutdown %" PRIu64 " ms\n",
	       c->name, st->sampled, st->exported, st->dropped_exporter,
	       st->dropped_queue_full, st->dropped_ring_full, o->rs.ok_spans,
	       o->rs.requests, o->rs.ok_requests, o->rs.peers, o->os.spans_ok,
	       o->os.requests, o->os.retries, o->os.spans_rejected, o->shut_ms);
	if (o->os.last_error[0])
		printf("%-18s last_error: %s\n", "", o->os.last_error);
	fflush(stdout);

	assert_int_equal(st->sampled, (uint64_t)THREADS * per);
	assert_int_equal(sr_test_check_invariant(st), 0);
	assert_null(strstr(o->os.last_error, "s3cret"));
	assert_null(strstr(o->es.last_error, "s3cret"));
	if (r) {
		/* both ends agree, span for span */
		assert_int_equal(o->rs.ok_spans, (long)o->os.spans_ok);
		assert_int_equal(o->rs.ok_spans, (long)(st->exported + o->os.spans_rejected));
		assert_int_equal(o->rs.rejected, (long)o->os.spans_rejected);
		assert_int_equal(o->rs.bad, 0);
		if (c->unreached)
			assert_int_equal(o->rs.requests, 0);
		else if (!c->loose)
			assert_int_equal(o->rs.requests, (long)o->os.requests);
		/* every call carried the headers and a grpc-timeout within the
		 * attempt limit */
		assert_int_equal(o->rs.api_key, o->rs.requests);
		assert_int_equal(o->rs.deadline, o->rs.requests);
		assert_true(o->rs.max_timeout_ms <=
			    (long)(c->timeout_ms ? c->timeout_ms : 1500) + 1);
	}
	sr_test_check_otlp(&c->want, st, &o->os);
}

static void run(const struct grpc_case *c, struct outcome *o)
{
	struct sr_grcv *r = sr_grcv_start();
	char url[64];

	assert_non_null(r);
	sr_grcv_url(r, url, sizeof(url));
	run_with(c, r, url, o);
	sr_grcv_stop(r);
}

static bool h2c_reuse_broken(void)
{
	return sr__http_h2c_reuse_broken(curl_version_info(CURLVERSION_NOW)->version_num);
}

static void healthy_delivers_everything(void **state)
{
	struct grpc_case c = { .name = "ok", .shutdown_ms = 5000, .want.all_exported = true,
			       .want.not_retried = true };
	struct outcome o;

	run(&c, &o);
	assert_true(o.os.exports_ok > 1 && o.os.exports_failed == 0);
	/* the 5-byte gRPC prefix per request, nothing else added */
	assert_int_equal(o.os.bytes_sent, o.os.bytes_raw + 5 * o.os.requests);
	if (h2c_reuse_broken())
		assert_int_equal(o.rs.peers, o.rs.requests); /* fresh each time */
	else
		assert_int_equal(o.rs.peers, 1);
}

/* Thousands of spans in hundreds of calls: with libcurl before 8.0 a
 * reused h2c connection fails every call after the first. */
static void many_requests_all_delivered(void **state)
{
	struct grpc_case c = { .name = "many", .spans_per_thread = 10000, .batch = 50,
			       .paced = true, .shutdown_ms = 60000,
			       .want.all_exported = true, .want.not_retried = true };
	struct outcome o;

	run(&c, &o);
	assert_true(o.rs.requests >= 400);
	assert_int_equal(o.rs.ok_spans, 20000);
}

static void gzip_is_sent_as_grpc_encoding(void **state)
{
	struct grpc_case c = { .name = "ok/gzip", .gzip = true, .shutdown_ms = 5000,
			       .want.all_exported = true };
	struct outcome o;

	/* The server decompresses by grpc-encoding and the compressed flag;
	 * spans counted right prove both were set. */
	run(&c, &o);
	assert_true(o.os.bytes_sent < o.os.bytes_raw / 2);
}

static void unavailable_is_retried(void **state)
{
	struct grpc_case c = { .name = "UNAVAILABLE x3", .script =
			       "UNAVAILABLE UNAVAILABLE UNAVAILABLE", .shutdown_ms = 8000,
			       .want.all_exported = true, .want.fail_cause = SR_OTLP_FAIL_RETRYABLE,
			       .want.retried = true };
	struct outcome o;

	run(&c, &o);
	assert_int_equal(o.os.request_fail[SR_OTLP_FAIL_RETRYABLE], 3);
	assert_int_equal(o.os.retries, 3);
}

static void every_retryable_code_is_retried(void **state)
{
	/* Within SPANRING_OTLP_MAX_ATTEMPTS (5): a batch after 3 failures,
	 * the next after 2. */
	struct grpc_case c = { .name = "retryable codes", .script =
			       "CANCELLED DEADLINE_EXCEEDED ABORTED ok OUT_OF_RANGE DATA_LOSS",
			       .shutdown_ms = 8000, .want.all_exported = true,
			       .want.fail_cause = SR_OTLP_FAIL_RETRYABLE, .want.retried = true };
	struct outcome o;

	run(&c, &o);
	assert_int_equal(o.os.request_fail[SR_OTLP_FAIL_RETRYABLE], 5);
}

static void resource_exhausted_without_retry_info_is_final(void **state)
{
	struct grpc_case c = { .name = "EXHAUSTED", .script = "RESOURCE_EXHAUSTED",
			       .shutdown_ms = 5000, .want.fail_cause = SR_OTLP_FAIL_CLIENT,
			       .want.not_retried = true };
	struct outcome o;

	run(&c, &o);
	assert_int_equal(o.os.exports_failed, 1);
	assert_int_equal(o.st.dropped_exporter, o.os.spans_failed);
	assert_true(o.st.dropped_exporter > 0);
	assert_non_null(strstr(o.os.last_error, "RESOURCE_EXHAUSTED"));
	assert_non_null(strstr(o.os.last_error, "injected RESOURCE_EXHAUSTED"));
	/* The core's view of the exporter: the gRPC status, the HTTP one
	 * it came in (200: gRPC answers in trailers), the words. */
	assert_int_equal(o.es.batches_failed, 1);
	assert_int_equal(o.es.last_grpc_status, 8); /* RESOURCE_EXHAUSTED */
	assert_int_equal(o.es.last_http_status, 200);
	assert_int_equal(o.es.last_error_code, SR_EIO);
	assert_non_null(strstr(o.es.last_error, "RESOURCE_EXHAUSTED"));
}

static void resource_exhausted_with_retry_info_waits_and_retries(void **state)
{
	struct grpc_case c = { .name = "EXHAUSTED+retry", .script =
			       "RESOURCE_EXHAUSTED:retry=300", .shutdown_ms = 8000,
			       .want.all_exported = true, .want.fail_cause = SR_OTLP_FAIL_RETRYABLE,
			       .want.retried = true };
	struct outcome o;

	run(&c, &o);
	assert_int_equal(o.os.retries, 1);
	/* the server's 300 ms replaced the 10 ms backoff */
	assert_true(o.os.latency_ns_max >= 300ull * 1000000ull);
}

static void final_codes_are_not_retried(void **state)
{
	static const struct {
		const char *code;
		int cause;
	} t[] = {
		{ "INVALID_ARGUMENT", SR_OTLP_FAIL_CLIENT },
		{ "UNAUTHENTICATED", SR_OTLP_FAIL_CLIENT },
		{ "INTERNAL", SR_OTLP_FAIL_SERVER },
		{ "UNKNOWN", SR_OTLP_FAIL_SERVER },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct grpc_case c = { .name = t[i].code, .script = t[i].code,
				       .shutdown_ms = 5000, .want.fail_cause = t[i].cause,
				       .want.not_retried = true };
		struct outcome o;

		run(&c, &o);
		assert_int_equal(o.os.exports_failed, 1);
		assert_non_null(strstr(o.os.last_error, t[i].code));
	}
}

static void partial_success_counts_rejected_spans(void **state)
{
	struct grpc_case c = { .name = "partial", .script = "partial:3",
			       .shutdown_ms = 5000, .want.rejected = 3 };
	struct outcome o;

	run(&c, &o);
	assert_int_equal(o.st.exported, o.st.sampled - 3);
	assert_int_equal(o.st.dropped_exporter, 3);
	assert_non_null(strstr(o.os.last_error, "partial success: 3"));
	assert_non_null(strstr(o.os.last_error, "spans too old"));
}

static void receiver_down_drops_and_counts(void **state)
{
	struct grpc_case c = { .name = "down", .shutdown_ms = 5000,
			       .want.none_exported = true, .want.fail_cause = SR_OTLP_FAIL_CONNECT,
			       .want.retried = true };
	char url[64];
	struct outcome o;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u", sr_rcv_unused_port());
	run_with(&c, NULL, url, &o);
}

static void slow_receiver_within_timeout(void **state)
{
	struct grpc_case c = { .name = "slow", .dflt = "delay:100", .shutdown_ms = 10000,
			       .want.all_exported = true, .want.not_retried = true };
	struct outcome o;

	run(&c, &o);
}

static void hanging_receiver_times_out_and_shutdown_returns(void **state)
{
	struct grpc_case c = { .name = "hang", .dflt = "hang", .shutdown_ms = 1000,
			       .timeout_ms = 300,
			       .want.none_exported = true, .want.retried = true, .loose = true };
	struct outcome o;

	run(&c, &o);
	/* our attempt timeout, or the server's DEADLINE_EXCEEDED from the
	 * grpc-timeout we sent, whichever comes first */
	assert_true(o.os.request_fail[SR_OTLP_FAIL_TIMEOUT] +
		    o.os.request_fail[SR_OTLP_FAIL_RETRYABLE] > 0);
}

/* https:// with a certificate we trust: TLS, HTTP/2 by ALPN, and the
 * connection is kept (the h2c bug does not touch TLS). */
static void tls_with_alpn_h2_reuses_the_connection(void **state)
{
	char dir[] = "/tmp/sr_grpc_tlsXXXXXX", cert[96], key[96], cmd[512];

	assert_non_null(mkdtemp(dir));
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	snprintf(cmd, sizeof(cmd), SR_OPENSSL " req -x509 -newkey rsa:2048 -nodes "
		 "-days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
		 "-keyout %s -out %s 2>/dev/null", key, cert);
	assert_int_equal(system(cmd), 0);

	struct sr_grcv *r = sr_grcv_start_tls(cert, key);
	char url[64];
	struct grpc_case c = { .name = "tls", .shutdown_ms = 5000, .want.all_exported = true,
			       .want.not_retried = true };
	struct outcome o;

	assert_non_null(r);
	sr_grcv_url(r, url, sizeof(url));
	assert_non_null(strstr(url, "https://"));
	setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", cert, 1);
	run_with(&c, r, url, &o);
	assert_int_equal(o.rs.peers, 1);
	assert_true(o.rs.requests > 1);

	/* an untrusted certificate is a final TLS failure (not retried:
	 * the batches end as "tls"; a slow handshake on a loaded machine may
	 * add a timeout, so retries are not counted).  The attempt limit and
	 * the deadline are wide: under a sanitizer on a loaded machine a
	 * handshake has taken over 1.5 s, and every attempt then timed out
	 * before one could fail as TLS. */
	struct grpc_case u = { .name = "tls/untrusted", .shutdown_ms = 15000,
			       .timeout_ms = 5000,
			       .want.none_exported = true, .want.fail_cause = SR_OTLP_FAIL_TLS,
			       .unreached = true };
	run_with(&u, r, url, &o);
	assert_true(o.os.export_fail[SR_OTLP_FAIL_TLS] > 0);
	assert_true(o.os.request_fail[SR_OTLP_FAIL_TLS] == o.os.export_fail[SR_OTLP_FAIL_TLS]);
	sr_grcv_stop(r);
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

/* The specification's endpoint rules for gRPC. */
static void endpoint_rules(void **state)
{
	struct sr_grcv *r = sr_grcv_start();
	struct grpc_case c = { .name = "scheme-less", .spans_per_thread = 50,
			       .shutdown_ms = 5000, .want.all_exported = true };
	char hostport[64], url[96];
	struct outcome o;

	assert_non_null(r);
	snprintf(hostport, sizeof(hostport), "127.0.0.1:%u", sr_grcv_port(r));

	/* host:port with INSECURE=true is cleartext */
	set_env("", &c);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", hostport, 1);
	setenv("OTEL_EXPORTER_OTLP_INSECURE", "true", 1);
	run_with(&c, r, NULL, &o);

	/* the per-signal endpoint wins, is used as is (no /v1/traces) and
	 * its path, if any, is not the method's: gRPC names a server */
	c.name = "traces endpoint";
	set_env("http://127.0.0.1:9", &c);
	snprintf(url, sizeof(url), "http://%s/ignored/path", hostport);
	setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url, 1);
	run_with(&c, r, NULL, &o);

	/* the per-signal protocol wins too */
	c.name = "traces protocol";
	set_env("", &c);
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf", 1);
	setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc", 1);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", hostport, 1);
	setenv("OTEL_EXPORTER_OTLP_INSECURE", "true", 1);
	run_with(&c, r, NULL, &o);

	/* host:port without INSECURE means https: against this cleartext
	 * server, a TLS failure, never a silent cleartext call */
	struct grpc_case s = { .name = "scheme-less/tls", .spans_per_thread = 50,
			       .shutdown_ms = 5000, .want.none_exported = true,
			       .unreached = true };
	set_env("", &s);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", hostport, 1);
	run_with(&s, r, NULL, &o);
	assert_int_equal(o.os.exports_ok, 0);
	assert_int_equal(o.rs.requests, 0);
	sr_grcv_stop(r);
}

/* A bad value fails create() with the variable named. */
static void bad_settings_name_the_variable(void **state)
{
	static const struct {
		const char *var, *val;
	} cases[] = {
		{ "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "gRPC" },
		{ "OTEL_EXPORTER_OTLP_ENDPOINT", "grpc://127.0.0.1:4317" },
		{ "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "unix:///run/otel.sock" },
		{ "OTEL_EXPORTER_OTLP_INSECURE", "1" },
		{ "OTEL_EXPORTER_OTLP_COMPRESSION", "deflate" },
	};
	sr_config_t cfg;

	sr_config_init(&cfg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";
		void *st = NULL;

		setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
		setenv(cases[i].var, cases[i].val, 1);
		int rc = sr__exporter_otlp.create(NULL, &cfg, &st, err, sizeof(err));
		clear_env();
		if (rc != SR_EINVAL || !strstr(err, cases[i].var) ||
		    !strstr(err, cases[i].val))
			fail_msg("%s=%s: rc %d, '%s'", cases[i].var, cases[i].val, rc, err);
		assert_null(st);
	}
	/* grpc alone creates fine (default endpoint, no server needed) */
	char err[256];
	void *st = NULL;
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", 1);
	assert_int_equal(sr__exporter_otlp.create(NULL, &cfg, &st, err, sizeof(err)), 0);
	clear_env();
	sr__exporter_otlp.destroy(st, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(healthy_delivers_everything),
		cmocka_unit_test(many_requests_all_delivered),
		cmocka_unit_test(gzip_is_sent_as_grpc_encoding),
		cmocka_unit_test(unavailable_is_retried),
		cmocka_unit_test(every_retryable_code_is_retried),
		cmocka_unit_test(resource_exhausted_without_retry_info_is_final),
		cmocka_unit_test(resource_exhausted_with_retry_info_waits_and_retries),
		cmocka_unit_test(final_codes_are_not_retried),
		cmocka_unit_test(partial_success_counts_rejected_spans),
		cmocka_unit_test(receiver_down_drops_and_counts),
		cmocka_unit_test(slow_receiver_within_timeout),
		cmocka_unit_test(hanging_receiver_times_out_and_shutdown_returns),
		cmocka_unit_test(tls_with_alpn_h2_reuses_the_connection),
		cmocka_unit_test(endpoint_rules),
		cmocka_unit_test(bad_settings_name_the_variable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
