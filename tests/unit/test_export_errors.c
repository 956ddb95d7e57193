/*
 * test_export_errors.c - why an export failed is visible: each exporter's
 * last error (text, time, HTTP / gRPC status, code) in
 * sr_stats_exporter() and the stats JSON, and the library's own log on
 * stderr: its level (OTEL_LOG_LEVEL), its rate limit and the count of
 * what it left out, and never a header value.
 */
// SR_TEST_LABELS: concurrency
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log_int.h"
#include "receiver.h"
#include "testutil.h"

/* ---- stderr capture --------------------------------------------------- */

static int saved_stderr = -1;
static char cap_path[256];

static void capture_begin(void)
{
	int fd;

	snprintf(cap_path, sizeof(cap_path), "%s/sr-log-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(cap_path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
}

/* What was written to stderr since capture_begin (malloc'd). */
static char *capture_end(void)
{
	char *text;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	text = sr_test_read_file(cap_path, NULL);
	unlink(cap_path);
	assert_non_null(text);
	return text;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/* ---- a scriptable failing exporter ------------------------------------ */

static struct {
	int fails;          /* fail this many calls, then succeed           */
	int rc;             /* what a failing call returns                   */
	bool report;        /* say why with sr_batch_report_error            */
} fx;

static int fx_create(void *ud, const sr_config_t *cfg, void **st, char *e,
		     size_t n)
{
	(void)ud; (void)cfg; (void)e; (void)n;
	*st = NULL;
	return 0;
}

static int fx_export(void *st, const sr_batch_t *b, uint64_t *rej)
{
	(void)st; (void)rej;
	if (fx.fails <= 0)
		return 0;
	fx.fails--;
	if (fx.report)
		sr_batch_report_error(b, 503, -1, "HTTP 503: collector \"busy\"\n");
	return fx.rc;
}

static void fx_destroy(void *st, uint32_t t) { (void)st; (void)t; }

static const sr_exporter_ops_t failing = {
	sizeof(sr_exporter_ops_t), SR_EXPORTER_ABI_VERSION, "failing",
	fx_create, fx_export, NULL, fx_destroy, NULL, NULL, NULL
};

static sr_log_level_t level_for_test;

static void failing_cfg(sr_config_t *c)
{
	c->exporters = "failing";
	c->max_export_batch_size = 1; /* a batch per span */
	c->max_queue_size = 64;
	c->log_level = level_for_test;
}

/* n spans, each exported before the next starts. */
static void spans_one_by_one(int n)
{
	for (int i = 0; i < n; i++) {
		sr_span_t s;

		sr_span_start(&s, NULL, "op", SR_KIND_INTERNAL);
		sr_span_end(&s);
		assert_int_equal(sr_flush(5000, NULL), 0);
	}
}

static void test_reported_error_in_exporter_stats_and_json(void **state)
{
	sr_exporter_stats_t es = { .size = sizeof(es) };
	sr_stats_t st = { .size = sizeof(st) };
	uint64_t t0 = sr_now_ns();
	char json[4096];
	json_t *root, *e, *le;
	json_error_t jerr;
	char *log;

	(void)state;
	fx = (__typeof__(fx)){ .fails = 2, .rc = SR_EIO, .report = true };
	level_for_test = SR_LOG_DEFAULT;
	capture_begin();
	assert_int_equal(sr_test_init_memory(failing_cfg), 0);
	spans_one_by_one(3);
	assert_int_equal(sr_test_exporter_stats("failing", &es), 0);
	assert_int_equal(es.size, sizeof(es));
	assert_int_equal(es.batches, 3);
	assert_int_equal(es.batches_failed, 2);
	assert_int_equal(es.spans_failed, 2);
	/* Printable ASCII: the newline the exporter sent is replaced. */
	assert_string_equal(es.last_error, "HTTP 503: collector \"busy\".");
	assert_int_equal(es.last_http_status, 503);
	assert_int_equal(es.last_grpc_status, -1);
	assert_int_equal(es.last_error_code, SR_EIO);
	assert_true(es.last_error_ns >= t0 && es.last_error_ns <= sr_now_ns());

	assert_int_equal(sr_stats_get(&st), 0);
	assert_true(sr_stats_to_json(&st, json, sizeof(json)) < (int)sizeof(json));
	root = json_loads(json, 0, &jerr);
	assert_non_null(root);
	e = json_array_get(json_object_get(root, "exporter_stats"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "name")), "failing");
	le = json_object_get(e, "last_error");
	assert_string_equal(json_string_value(json_object_get(le, "text")),
			    "HTTP 503: collector \"busy\".");
	assert_int_equal(json_integer_value(json_object_get(le, "http_status")), 503);
	assert_int_equal(json_integer_value(json_object_get(le, "code")), SR_EIO);
	json_decref(root);

	assert_int_equal(sr_shutdown(5000, NULL), 0);
	/* Kept after shutdown, like the counters. */
	assert_int_equal(sr_test_exporter_stats("failing", &es), 0);
	assert_int_equal(es.last_http_status, 503);
	log = capture_end();
	/* Warned once as it started failing, at info when it delivered. */
	assert_int_equal(count_of(log, "spanring: warning: exporter 'failing'"), 1);
	assert_int_equal(count_of(log, "spanring: info: exporter 'failing' "
				       "delivers again, after 2 failed"), 1);
	free(log);
}

static void test_unreported_failure_gets_code_text(void **state)
{
	sr_exporter_stats_t es = { .size = sizeof(es) };

	(void)state;
	fx = (__typeof__(fx)){ .fails = 1, .rc = SR_ETIMEDOUT, .report = false };
	level_for_test = SR_LOG_NONE;
	assert_int_equal(sr_test_init_memory(failing_cfg), 0);
	spans_one_by_one(1);
	assert_int_equal(sr_test_exporter_stats("failing", &es), 0);
	assert_string_equal(es.last_error, sr_strerror(SR_ETIMEDOUT));
	assert_int_equal(es.last_http_status, 0);
	assert_int_equal(es.last_error_code, SR_ETIMEDOUT);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
}

static void test_log_level_error_hides_warnings(void **state)
{
	sr_stats_t a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	char *log;

	(void)state;
	fx = (__typeof__(fx)){ .fails = 3, .rc = SR_EIO, .report = true };
	level_for_test = SR_LOG_ERROR;
	capture_begin();
	assert_int_equal(sr_test_init_memory(failing_cfg), 0);
	assert_int_equal(sr_stats_get(&a), 0);
	spans_one_by_one(4);
	assert_int_equal(sr_stats_get(&b), 0);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	log = capture_end();
	assert_null(strstr(log, "spanring:"));
	/* Below the level is neither written nor counted as suppressed. */
	assert_int_equal(b.log_messages, a.log_messages);
	assert_int_equal(b.log_suppressed, a.log_suppressed);
	free(log);
}

static void test_bad_otel_log_level_names_variable(void **state)
{
	sr_config_t cfg;

	(void)state;
	setenv("OTEL_LOG_LEVEL", "loud", 1);
	sr_config_init(&cfg);
	assert_int_equal(sr_config_from_env(&cfg), SR_EINVAL);
	assert_non_null(strstr(sr_last_error(), "OTEL_LOG_LEVEL"));
	assert_non_null(strstr(sr_last_error(), "loud"));
	assert_int_equal(cfg.log_level, SR_LOG_DEFAULT);
	/* The value is ignored, the pipeline runs, sr_init says why. */
	cfg.exporters = "memory";
	assert_int_equal(sr_init(&cfg), SR_EINVAL);
	assert_true(sr_is_running());
	assert_non_null(strstr(sr_last_error(), "OTEL_LOG_LEVEL"));
	assert_int_equal(sr_shutdown(5000, NULL), 0);

	setenv("OTEL_LOG_LEVEL", "WARN", 1); /* enum values: any case */
	sr_config_init(&cfg);
	assert_int_equal(sr_config_from_env(&cfg), 0);
	assert_int_equal(cfg.log_level, SR_LOG_WARN);
	unsetenv("OTEL_LOG_LEVEL");

	sr_config_init(&cfg);
	cfg.exporters = "memory";
	cfg.log_level = (sr_log_level_t)9;
	assert_int_equal(sr_init(&cfg), SR_EINVAL);
	assert_non_null(strstr(sr_last_error(), "log_level"));
}

static uint64_t fake_ns;
static uint64_t fake_clock(void) { return fake_ns; }

static void test_log_rate_limited_and_counted(void **state)
{
	sr_stats_t a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	char *log;

	(void)state;
	sr__log_set_clock(fake_clock);
	sr__log_configure(SR__LOG_WARN, 3);
	(void)sr_stats_get(&a);
	capture_begin();
	for (int i = 0; i < 10; i++)
		sr__log(SR__LOG_WARN, "message %d", i);
	fake_ns += 20000000000ull; /* 20 s: one message's worth at 3/min */
	sr__log(SR__LOG_WARN, "after the pause");
	sr__log(SR__LOG_WARN, "one too many");
	log = capture_end();
	(void)sr_stats_get(&b);
	sr__log_set_clock(NULL);
	sr__log_configure(SR__LOG_INFO, 10);

	assert_int_equal(count_of(log, "spanring: warning: message"), 3);
	assert_non_null(strstr(log, "spanring: warning: after the pause (7 "
				    "earlier messages suppressed: over "
				    "SPANRING_LOG_RATE=3 a minute)\n"));
	assert_null(strstr(log, "one too many"));
	assert_int_equal(b.log_messages - a.log_messages, 4);
	assert_int_equal(b.log_suppressed - a.log_suppressed, 8);
	free(log);
}

/* ---- OTLP: the transport's words, never the headers ------------------- */

#define SECRET "Bearer%20sekrit-token-4711"
#define SECRET_DECODED "sekrit-token-4711"

static void otlp_cfg(sr_config_t *c)
{
	c->exporters = "otlp";
	c->max_export_batch_size = 1;
	c->export_timeout_ms = 2000;
	c->log_level = SR_LOG_DEBUG; /* every failure, not only the first */
}

static void test_otlp_failure_visible_without_header_values(void **state)
{
	static const char body[] = "{\"message\":\"bad credentials\"}";
	struct sr_rcv_reply reply = { .status = 401, .body = body,
				      .body_len = sizeof(body) - 1,
				      .content_type = "application/json" };
	sr_exporter_stats_t es = { .size = sizeof(es) };
	sr_stats_t st = { .size = sizeof(st) };
	struct sr_rcv *r = sr_rcv_start();
	char base[64], json[4096];
	char *log;

	(void)state;
	assert_non_null(r);
	sr_rcv_set_default(r, &reply);
	sr_rcv_base_url(r, base, sizeof(base));
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", base, 1);
	setenv("OTEL_EXPORTER_OTLP_HEADERS",
	       "authorization=" SECRET ",x-api-key=" SECRET_DECODED "-2", 1);
	capture_begin();
	assert_int_equal(sr_test_init_memory(otlp_cfg), 0);
	spans_one_by_one(3);
	assert_int_equal(sr_test_exporter_stats("otlp", &es), 0);
	assert_int_equal(sr_stats_get(&st), 0);
	assert_true(sr_stats_to_json(&st, json, sizeof(json)) < (int)sizeof(json));
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	log = capture_end();
	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
	unsetenv("OTEL_EXPORTER_OTLP_HEADERS");

	/* The headers did go out: the receiver saw them. */
	assert_true(sr_rcv_count(r) >= 1);
	assert_non_null(strstr(sr_rcv_get(r, 0)->headers, SECRET_DECODED));
	sr_rcv_stop(r);

	print_message("last error: %s\nlog:\n%s", es.last_error, log);
	assert_int_equal(es.batches_failed, 3);
	assert_int_equal(es.last_http_status, 401);
	assert_int_equal(es.last_grpc_status, -1);
	assert_non_null(strstr(es.last_error, "401"));
	assert_non_null(strstr(es.last_error, "bad credentials"));
	assert_int_equal(count_of(log, "spanring: warning: exporter 'otlp'"), 1);
	assert_int_equal(count_of(log, "spanring: debug: exporter 'otlp'"), 2);
	assert_null(strstr(es.last_error, "sekrit"));
	assert_null(strstr(json, "sekrit"));
	assert_null(strstr(log, "sekrit"));
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reported_error_in_exporter_stats_and_json),
		cmocka_unit_test(test_unreported_failure_gets_code_text),
		cmocka_unit_test(test_log_level_error_hides_warnings),
		cmocka_unit_test(test_bad_otel_log_level_names_variable),
		cmocka_unit_test(test_log_rate_limited_and_counted),
		cmocka_unit_test(test_otlp_failure_visible_without_header_values),
	};

	if (sr_exporter_register(&failing, NULL) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
