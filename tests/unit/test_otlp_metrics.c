/*
 * test_otlp_metrics.c - OTEL_METRICS_EXPORTER=otlp (metrics/otlp_metrics.c)
 * against the test's own loopback receiver: requests go to
 * {endpoint}/v1/metrics as application/x-protobuf, every
 * OTEL_METRIC_EXPORT_INTERVAL ms; each body, decoded by
 * `protoc --decode_raw`, is an ExportMetricsServiceRequest checked field
 * by field (resource, scope, spanmetrics' Sum and Histogram with
 * cumulative temporality and the values recorded, the pipeline's own
 * otel.sdk.* counters); counts only grow from one export to the next; a
 * 503 is retried by the transport's policy; a bad setting is reported by
 * sr_init() naming the variable.
 */
// SR_TEST_LABELS: concurrency
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "protoc_tree.h"
#include "receiver.h"
#include "testutil.h"

static struct sr_rcv *rcv;

static void tweak(sr_config_t *c)
{
	c->processors = "spanmetrics";
	c->service_name = "cart-svc";
}

static bool is(const struct pbn *n, const char *s)
{
	return n && n->kind == 'S' && n->slen == strlen(s) &&
	       !memcmp(n->s, s, n->slen);
}

/* The Metric named `name` in the request, or NULL. */
static const struct pbn *metric(const struct pbn *root, const char *name)
{
	const struct pbn *sm = msg(msg(&root[0], 1, 0), 2, 0);

	for (size_t i = 0; i < nkid(sm, 2); i++)
		if (is(kid(msg(sm, 2, i), 1, 0), name))
			return msg(sm, 2, i);
	return NULL;
}

/* The value of attribute `key` (a string) among a point's KeyValues
 * numbered `field`, or NULL. */
static const struct pbn *attr(const struct pbn *pt, unsigned field,
			      const char *key)
{
	for (size_t i = 0; i < nkid(pt, field); i++) {
		const struct pbn *kv = msg(pt, field, i);

		if (is(kid(kv, 1, 0), key))
			return kid(msg(kv, 2, 0), 1, 0);
	}
	return NULL;
}

/* The data point whose attribute key=value, or NULL.  The key
 * "status.code" is found by its value alone: its bytes happen to parse as
 * a message (0x73 opens a group, 0x74 closes it, 0x61 a fixed64), so
 * protoc --decode_raw prints it as one, and the STATUS_CODE_* values
 * belong to no other key. */
static const struct pbn *point_with(const struct pbn *data, unsigned afield,
				    const char *key, const char *value)
{
	for (size_t i = 0; i < nkid(data, 1); i++) {
		const struct pbn *pt = msg(data, 1, i);

		if (is(attr(pt, afield, key), value))
			return pt;
		if (!strcmp(key, "status.code"))
			for (size_t k = 0; k < nkid(pt, afield); k++)
				if (is(kid(msg(msg(pt, afield, k), 2, 0), 1, 0), value))
					return pt;
	}
	return NULL;
}

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static double as_double(uint64_t bits)
{
	double d;

	memcpy(&d, &bits, 8);
	return d;
}

static void decode(size_t i, struct pbn *root, char **text)
{
	const struct sr_rcv_request *rq = sr_rcv_get(rcv, i);

	assert_non_null(rq);
	assert_string_equal(rq->method, "POST");
	assert_string_equal(rq->path, "/v1/metrics");
	assert_non_null(strcasestr(rq->headers,
				   "content-type: application/x-protobuf"));
	*text = run_protoc((const char *)rq->body, rq->body_len);
	parse_decode_raw(*text, root);
}

static void spans(int n, bool fail)
{
	const sr_tracer_t *t = sr_tracer_get("shop", "1");

	for (int i = 0; i < n; i++) {
		sr_span_t s;

		sr_span_start(&s, t, "GET /cart", SR_KIND_SERVER);
		if (fail && i == 0)
			sr_span_set_status(&s, SR_STATUS_ERROR, NULL);
		sr_span_end(&s);
	}
}

/* The calls counter of GET /cart with status `code` in one request. */
static uint64_t calls(const struct pbn *root, const char *code)
{
	const struct pbn *m = metric(root, "traces.span.metrics.calls");
	const struct pbn *pt;

	assert_non_null(m);
	pt = point_with(msg(m, 7, 0), 7, "status.code", code);
	assert_non_null(pt);
	assert_true(is(attr(pt, 7, "span.name"), "GET /cart"));
	assert_int_equal(kid(pt, 6, 0)->kind, 'X'); /* as_int, sfixed64 */
	return kid(pt, 6, 0)->u;
}

static void test_request_field_by_field(void **state)
{
	char base[128], *text;
	struct pbn root;
	const struct pbn *res, *scope, *m, *d, *pt, *b;
	sr_stats_t st = { .size = sizeof(st) };
	uint64_t count = 0, sum = 0;
	size_t n;

	(void)state;
	rcv = sr_rcv_start();
	assert_non_null(rcv);
	sr_rcv_base_url(rcv, base, sizeof(base));
	setenv("OTEL_METRICS_EXPORTER", "otlp", 1);
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", base, 1); /* + /v1/metrics */
	setenv("OTEL_METRIC_EXPORT_INTERVAL", "100", 1);
	assert_int_equal(sr_test_init_memory(tweak), 0);
	spans(30, true);
	assert_int_equal(sr_flush(5000, NULL), 0);
	assert_int_equal(sr_stats_get(&st), 0);
	n = sr_rcv_count(rcv);
	assert_true(sr_rcv_wait(rcv, n + 2, 5000)); /* one after the flush */
	n = sr_rcv_count(rcv);
	decode(n - 1, &root, &text);

	assert_int_equal(nkid(&root, 1), 1);               /* ResourceMetrics */
	res = msg(msg(&root, 1, 0), 1, 0);                 /* Resource */
	assert_true(is(attr(res, 1, "service.name"), "cart-svc"));
	assert_int_equal(nkid(msg(&root, 1, 0), 2), 1);    /* ScopeMetrics */
	scope = msg(msg(msg(&root, 1, 0), 2, 0), 1, 0);
	assert_true(is(kid(scope, 1, 0), "spanring"));

	/* calls: a monotonic cumulative Sum */
	m = metric(&root, "traces.span.metrics.calls");
	assert_non_null(m);
	d = msg(m, 7, 0);
	assert_int_equal(kid(d, 2, 0)->u, 2);              /* CUMULATIVE */
	assert_int_equal(kid(d, 3, 0)->u, 1);              /* is_monotonic */
	assert_int_equal(calls(&root, "STATUS_CODE_UNSET"), 29);
	assert_int_equal(calls(&root, "STATUS_CODE_ERROR"), 1);
	pt = point_with(d, 7, "status.code", "STATUS_CODE_UNSET");
	assert_true(is(attr(pt, 7, "service.name"), "cart-svc"));
	assert_true(is(attr(pt, 7, "span.kind"), "SPAN_KIND_SERVER"));
	assert_true(kid(pt, 2, 0)->u > 0 && kid(pt, 2, 0)->u <= kid(pt, 3, 0)->u);

	/* duration: an explicit-bucket cumulative Histogram in ms */
	m = metric(&root, "traces.span.metrics.duration");
	assert_non_null(m);
	assert_true(is(kid(m, 3, 0), "ms"));
	d = msg(m, 9, 0);
	assert_int_equal(kid(d, 2, 0)->u, 2);
	pt = point_with(d, 9, "status.code", "STATUS_CODE_UNSET");
	assert_non_null(pt);
	assert_int_equal(kid(pt, 4, 0)->u, 29);            /* count */
	assert_true(as_double(kid(pt, 5, 0)->u) >= 0.0);   /* sum */
	b = kid(pt, 7, 0);                                 /* bounds, packed */
	assert_int_equal(b->kind, 'S');
	assert_int_equal(b->slen, 16 * 8);
	assert_true(as_double(le64(b->s)) == 2.0);
	assert_true(as_double(le64(b->s + 15 * 8)) == 15000.0);
	b = kid(pt, 6, 0);                                 /* buckets, packed */
	assert_int_equal(b->slen, 17 * 8);
	for (size_t i = 0; i < 17; i++)
		sum += le64(b->s + i * 8);
	assert_int_equal(sum, 29);

	/* the pipeline's own health */
	m = metric(&root, "otel.sdk.span.started");
	assert_non_null(m);
	pt = point_with(msg(m, 7, 0), 7, "otel.span.sampling_result",
			"RECORD_AND_SAMPLE");
	assert_non_null(pt);
	assert_int_equal(kid(pt, 6, 0)->u, st.sampled);
	m = metric(&root, "otel.sdk.processor.span.processed");
	assert_non_null(m);
	for (size_t i = 0; i < nkid(msg(m, 7, 0), 1); i++)
		if (!attr(msg(msg(m, 7, 0), 1, i), 7, "error.type"))
			count = kid(msg(msg(m, 7, 0), 1, i), 6, 0)->u;
	assert_int_equal(count, st.exported);
	assert_non_null(metric(&root, "otel.sdk.exporter.span.exported"));
	assert_non_null(metric(&root, "otel.sdk.processor.span.queue.size"));
	m = metric(&root, "spanring.pipeline.memory");
	assert_non_null(m);
	assert_int_equal(nkid(m, 5), 1);                    /* a Gauge */
	pbn_free(&root);
	free(text);

	/* cumulative: the next export counts the new spans on top */
	spans(5, false);
	assert_int_equal(sr_flush(5000, NULL), 0);
	n = sr_rcv_count(rcv);
	assert_true(sr_rcv_wait(rcv, n + 2, 5000));
	decode(sr_rcv_count(rcv) - 1, &root, &text);
	assert_int_equal(calls(&root, "STATUS_CODE_UNSET"), 34);
	pbn_free(&root);
	free(text);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	sr_rcv_stop(rcv);
}

static void test_retried_after_503(void **state)
{
	struct sr_rcv_reply script[] = {
		{ .action = SR_RCV_REPLY, .status = 503 },
		{ .action = SR_RCV_REPLY, .status = 200 },
	};
	char url[160];

	(void)state;
	rcv = sr_rcv_start();
	assert_non_null(rcv);
	sr_rcv_base_url(rcv, url, sizeof(url));
	strcat(url, "/custom/path");
	sr_rcv_script(rcv, script, 2);
	setenv("OTEL_METRICS_EXPORTER", "otlp", 1);
	setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", url, 1); /* used as is */
	setenv("OTEL_METRIC_EXPORT_INTERVAL", "50", 1);
	setenv("SPANRING_OTLP_RETRY_INITIAL_MS", "10", 1);
	setenv("SPANRING_OTLP_RETRY_MAX_MS", "20", 1);
	assert_int_equal(sr_test_init_memory(tweak), 0);
	assert_true(sr_rcv_wait(rcv, 2, 5000));
	assert_int_equal(sr_rcv_get(rcv, 0)->status, 503);
	assert_int_equal(sr_rcv_get(rcv, 1)->status, 200);
	assert_string_equal(sr_rcv_get(rcv, 1)->path, "/custom/path");
	/* the retry carried the same request */
	assert_int_equal(sr_rcv_get(rcv, 0)->body_len, sr_rcv_get(rcv, 1)->body_len);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	sr_rcv_stop(rcv);
	unsetenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
}

static void test_bad_setting_named(void **state)
{
	(void)state;
	setenv("OTEL_METRICS_EXPORTER", "otlp", 1);
	setenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc", 1);
	assert_int_not_equal(sr_test_init_memory(tweak), 0);
	assert_non_null(strstr(sr_last_error(), "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"));
	if (sr_is_running())
		assert_int_equal(sr_shutdown(5000, NULL), 0);
	unsetenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL");
	setenv("OTEL_METRIC_EXPORT_INTERVAL", "soon", 1);
	assert_int_not_equal(sr_test_init_memory(tweak), 0);
	assert_non_null(strstr(sr_last_error(), "OTEL_METRIC_EXPORT_INTERVAL"));
	if (sr_is_running())
		assert_int_equal(sr_shutdown(5000, NULL), 0);
	unsetenv("OTEL_METRIC_EXPORT_INTERVAL");
	unsetenv("OTEL_METRICS_EXPORTER");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_field_by_field),
		cmocka_unit_test(test_retried_after_503),
		cmocka_unit_test(test_bad_setting_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
