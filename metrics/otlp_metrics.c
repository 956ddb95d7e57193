/*
 * otlp_metrics.c - OTEL_METRICS_EXPORTER=otlp: every metric of the running
 * pipeline (sr__metrics_collect: health, per exporter, per processor,
 * spanmetrics) as an OTLP/HTTP protobuf ExportMetricsServiceRequest,
 * POSTed to {endpoint}/v1/metrics every OTEL_METRIC_EXPORT_INTERVAL ms
 * (default 60000) by a library thread, through the HTTP transport the
 * OTLP span exporter uses (exporters/infra/http_transport.c) with its
 * retry policy.  Cumulative temporality: counters are monotonic Sums,
 * histograms explicit-bucket Histograms, both from the pipeline's start.
 *
 * Settings (the OpenTelemetry names):
 *   OTEL_EXPORTER_OTLP_METRICS_ENDPOINT   the full URL, used as given; else
 *   OTEL_EXPORTER_OTLP_ENDPOINT           + "/v1/metrics"; default
 *                                         http://localhost:4318/v1/metrics
 *   OTEL_EXPORTER_OTLP_METRICS_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL
 *                                         http/protobuf only
 *   OTEL_EXPORTER_OTLP_METRICS_HEADERS / OTEL_EXPORTER_OTLP_HEADERS
 *   OTEL_METRIC_EXPORT_INTERVAL           ms between exports, default 60000
 *   OTEL_METRIC_EXPORT_TIMEOUT            ms one export may take, 30000
 *   SPANRING_OTLP_MAX_ATTEMPTS, SPANRING_OTLP_RETRY_INITIAL_MS,
 *   SPANRING_OTLP_RETRY_MAX_MS            the span exporter's retry knobs
 * Shutdown sends one last export (within its timeout) so the final
 * counts leave too.
 *
 * The encoder writes each nested message after a 5-byte length hole and
 * closes it by writing the length's varint and moving the body down (a
 * request is small: points of a few hundred series, once a minute).
 * Field numbers: opentelemetry/proto/metrics/v1/metrics.proto,
 * collector/metrics/v1/metrics_service.proto, common/v1/common.proto.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf_int.h"
#include "env_int.h"
#include "exp_util_int.h"
#include "http_int.h"
#include "metrics_int.h"
#include "metrics_table_int.h"
#include "thread_start_int.h"

#define MAX_DEPTH 8

/* Wire types. */
#define WT_VARINT 0
#define WT_I64 1
#define WT_LEN 2

/* ---- a protobuf writer on a growable buffer ------------------------- */

struct pbw {
	struct sr__buf *b;
	size_t open[MAX_DEPTH];         /* body start of each open message */
	int depth;
	bool oom;
};

static void raw(struct pbw *w, const void *p, size_t n)
{
	if (w->oom || sr__buf_reserve(w->b, n)) {
		w->oom = true;
		return;
	}
	sr__buf_put(w->b, p, n);
}

static size_t varint_to(uint8_t *o, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		o[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	o[n++] = (uint8_t)v;
	return n;
}

static void varint(struct pbw *w, uint64_t v)
{
	uint8_t o[10];

	raw(w, o, varint_to(o, v));
}

static void tag(struct pbw *w, unsigned field, unsigned wt)
{
	varint(w, (uint64_t)field << 3 | wt);
}

static void f_varint(struct pbw *w, unsigned field, uint64_t v)
{
	tag(w, field, WT_VARINT);
	varint(w, v);
}

static void f_fixed64(struct pbw *w, unsigned field, uint64_t v)
{
	uint8_t o[8];

	for (int i = 0; i < 8; i++)
		o[i] = (uint8_t)(v >> (8 * i));
	tag(w, field, WT_I64);
	raw(w, o, 8);
}

static uint64_t dbits(double d)
{
	uint64_t u;

	memcpy(&u, &d, 8);
	return u;
}

static void f_bytes(struct pbw *w, unsigned field, const void *p, size_t n)
{
	tag(w, field, WT_LEN);
	varint(w, n);
	raw(w, p, n);
}

static void f_str(struct pbw *w, unsigned field, const char *s)
{
	f_bytes(w, field, s ? s : "", s ? strlen(s) : 0);
}

static void begin(struct pbw *w, unsigned field)
{
	static const uint8_t hole[5];

	tag(w, field, WT_LEN);
	raw(w, hole, sizeof(hole));
	if (!w->oom)
		w->open[w->depth++] = w->b->len;
}

static void end(struct pbw *w)
{
	size_t at, len, n;
	uint8_t o[10];

	if (w->oom)
		return;
	at = w->open[--w->depth];
	len = w->b->len - at;
	n = varint_to(o, len);
	memcpy(w->b->data + at - 5, o, n);
	memmove(w->b->data + at - 5 + n, w->b->data + at, len);
	w->b->len -= 5 - n;
}

/* ---- the request ---------------------------------------------------- */

static void kv(struct pbw *w, unsigned field, const sr_attr_view_t *a)
{
	begin(w, field);                 /* KeyValue */
	f_bytes(w, 1, a->key.ptr, a->key.len);
	begin(w, 2);                     /* AnyValue */
	switch (a->type) {
	case SR_ATTR_BOOL:
		f_varint(w, 2, a->v.b);
		break;
	case SR_ATTR_INT:
		f_varint(w, 3, (uint64_t)a->v.i);
		break;
	case SR_ATTR_DOUBLE:
		f_fixed64(w, 4, dbits(a->v.d));
		break;
	case SR_ATTR_STRING:
		f_bytes(w, 1, a->v.s.ptr, a->v.s.len);
		break;
	default:
		break;                   /* an empty AnyValue */
	}
	end(w);
	end(w);
}

struct req {
	struct pbw w;
	char name[128];                  /* the open Metric's name          */
	bool metric_open;
	enum sr_metric_kind kind;
	uint64_t start_ns, now_ns;
	uint32_t points;
};

static void close_metric(struct req *r)
{
	if (!r->metric_open)
		return;
	if (r->kind != SR_METRIC_GAUGE)
		f_varint(&r->w, 2, 2);   /* CUMULATIVE */
	if (r->kind == SR_METRIC_COUNTER)
		f_varint(&r->w, 3, 1);   /* is_monotonic */
	end(&r->w);                      /* Sum / Gauge / Histogram */
	end(&r->w);                      /* Metric */
	r->metric_open = false;
}

static void on_point(void *ctx, const sr_metric_point_t *pt)
{
	struct req *r = ctx;
	struct pbw *w = &r->w;

	if (!r->metric_open || strcmp(r->name, pt->name) || r->kind != pt->kind) {
		close_metric(r);
		snprintf(r->name, sizeof(r->name), "%s", pt->name);
		r->kind = pt->kind;
		begin(w, 2);             /* ScopeMetrics.metrics: Metric */
		f_str(w, 1, pt->name);
		f_str(w, 2, pt->help);
		f_str(w, 3, pt->unit);
		begin(w, pt->kind == SR_METRIC_COUNTER ? 7 :
			 pt->kind == SR_METRIC_GAUGE ? 5 : 9);
		r->metric_open = true;
	}
	begin(w, 1);                     /* data_points */
	if (pt->kind == SR_METRIC_HISTOGRAM) {
		for (uint32_t i = 0; i < pt->nattrs; i++)
			kv(w, 9, &pt->attrs[i]);
		f_fixed64(w, 2, r->start_ns);
		f_fixed64(w, 3, r->now_ns);
		f_fixed64(w, 4, pt->count);
		f_fixed64(w, 5, dbits(pt->sum));
		tag(w, 6, WT_LEN);       /* bucket_counts, packed fixed64 */
		varint(w, (uint64_t)(pt->nbounds + 1) * 8);
		for (uint32_t i = 0; i <= pt->nbounds; i++) {
			uint8_t o[8];

			for (int k = 0; k < 8; k++)
				o[k] = (uint8_t)(pt->buckets[i] >> (8 * k));
			raw(w, o, 8);
		}
		tag(w, 7, WT_LEN);       /* explicit_bounds, packed double */
		varint(w, (uint64_t)pt->nbounds * 8);
		for (uint32_t i = 0; i < pt->nbounds; i++) {
			uint64_t u = dbits(pt->bounds[i]);
			uint8_t o[8];

			for (int k = 0; k < 8; k++)
				o[k] = (uint8_t)(u >> (8 * k));
			raw(w, o, 8);
		}
	} else {
		for (uint32_t i = 0; i < pt->nattrs; i++)
			kv(w, 7, &pt->attrs[i]);
		if (pt->kind == SR_METRIC_COUNTER)
			f_fixed64(w, 2, r->start_ns);
		f_fixed64(w, 3, r->now_ns);
		f_fixed64(w, 6, pt->value); /* as_int, sfixed64 */
	}
	end(w);
	r->points++;
}

static void on_resource(void *ctx, const sr_attr_view_t *a, uint32_t n)
{
	struct pbw *w = ctx;

	for (uint32_t i = 0; i < n; i++)
		kv(w, 1, &a[i]);
}

static uint64_t unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The request of every current metric into b; the points it holds, or
 * -1 out of memory. */
long sr__otlp_metrics_encode(struct sr__buf *b, uint64_t start_ns,
			     uint64_t now_ns)
{
	struct req r = { .w.b = b, .start_ns = start_ns, .now_ns = now_ns };

	b->len = 0;
	begin(&r.w, 1);                  /* ResourceMetrics */
	begin(&r.w, 1);                  /* Resource */
	sr__metrics_resource(on_resource, &r.w);
	end(&r.w);
	begin(&r.w, 2);                  /* ScopeMetrics */
	begin(&r.w, 1);                  /* InstrumentationScope */
	f_str(&r.w, 1, "spanring");
	f_str(&r.w, 2, sr_version());
	end(&r.w);
	sr__metrics_collect(on_point, &r);
	close_metric(&r);
	end(&r.w);
	end(&r.w);
	return r.w.oom ? -1 : (long)r.points;
}

/* ---- the exporting thread ------------------------------------------- */

struct sr__otlp_metrics {
	struct sr__http *http;
	struct sr__http_stats stats;
	struct sr__buf body;
	uint32_t interval_ms, timeout_ms;
	uint64_t start_ns;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool stop;                       /* under lock                      */
	uint64_t exports, failures;      /* relaxed atomics                 */
};

/* The last export, at shutdown, gets at most this long: sr_shutdown()
 * should not wait out a receiver that is down. */
#define FINAL_TIMEOUT_MS 1000u

static void export_once(struct sr__otlp_metrics *m, bool final)
{
	uint32_t ms = final && m->timeout_ms > FINAL_TIMEOUT_MS ? FINAL_TIMEOUT_MS
								: m->timeout_ms;
	struct sr__http_result res;

	if (sr__otlp_metrics_encode(&m->body, m->start_ns, unix_ns()) < 0)
		return;
	if (sr__http_post(m->http, m->body.data, m->body.len,
			  sr__http_now_ns() + (uint64_t)ms * 1000000u, &res) == 0)
		__atomic_add_fetch(&m->exports, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&m->failures, 1, __ATOMIC_RELAXED);
}

static void *run(void *arg)
{
	struct sr__otlp_metrics *m = arg;

	pthread_mutex_lock(&m->lock);
	for (;;) {
		struct timespec ts;
		uint64_t until;
		bool final;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		until = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec +
			(uint64_t)m->interval_ms * 1000000u;
		ts.tv_sec = (time_t)(until / 1000000000u);
		ts.tv_nsec = (long)(until % 1000000000u);
		while (!m->stop &&
		       pthread_cond_timedwait(&m->cv, &m->lock, &ts) != ETIMEDOUT)
			;
		final = m->stop;
		pthread_mutex_unlock(&m->lock);
		export_once(m, final); /* the last one at stop: final counts */
		pthread_mutex_lock(&m->lock);
		if (m->stop)
			break;
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

static const char *env(const char *name)
{
	return sr__env_get(name, NULL) ? getenv(name) : NULL;
}

int sr__otlp_metrics_start(struct sr__otlp_metrics **out, char *err,
			   size_t err_len)
{
	static const char *const protocols[] = { "http/protobuf", NULL };
	struct sr__otlp_metrics *m = calloc(1, sizeof(*m));
	const char *ep = env("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"), *hv;
	uint32_t attempts = 5, initial = 1000, max = 5000;
	unsigned proto = 0;
	pthread_condattr_t ca;
	char url[1024];
	int rc;

	*out = NULL;
	if (!m)
		return SR_ENOMEM;
	m->interval_ms = 60000;
	m->timeout_ms = 30000;
	if ((rc = sr__exp_env_u32("OTEL_METRIC_EXPORT_INTERVAL", 1, 86400000,
				  &m->interval_ms, err, err_len)) ||
	    (rc = sr__exp_env_u32("OTEL_METRIC_EXPORT_TIMEOUT", 1, 3600000,
				  &m->timeout_ms, err, err_len)) ||
	    (rc = sr__exp_env_choice("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
				     protocols, &proto, err, err_len)) ||
	    (rc = sr__exp_env_choice("OTEL_EXPORTER_OTLP_PROTOCOL", protocols,
				     &proto, err, err_len)) ||
	    (rc = sr__exp_env_u32("SPANRING_OTLP_MAX_ATTEMPTS", 1, 100, &attempts,
				  err, err_len)) ||
	    (rc = sr__exp_env_u32("SPANRING_OTLP_RETRY_INITIAL_MS", 0, 600000,
				  &initial, err, err_len)) ||
	    (rc = sr__exp_env_u32("SPANRING_OTLP_RETRY_MAX_MS", 0, 600000, &max,
				  err, err_len)))
		goto fail;
	if (ep) {
		snprintf(url, sizeof(url), "%s", ep);
	} else {
		const char *base = env("OTEL_EXPORTER_OTLP_ENDPOINT");
		size_t n;

		base = base ? base : "http://localhost:4318";
		n = strlen(base);
		while (n && base[n - 1] == '/')
			n--;
		snprintf(url, sizeof(url), "%.*s/v1/metrics", (int)n, base);
	}
	hv = env("OTEL_EXPORTER_OTLP_METRICS_HEADERS")
		     ? "OTEL_EXPORTER_OTLP_METRICS_HEADERS"
		     : "OTEL_EXPORTER_OTLP_HEADERS";
	struct sr__http_opts ho = {
		.url = url,
		.content_type = "application/x-protobuf",
		.headers = env(hv),
		.headers_var = hv,
		.attempt_timeout_ms = m->timeout_ms,
		.max_attempts = attempts,
		.backoff_initial_ms = initial,
		.backoff_max_ms = max < initial ? initial : max,
		.stats = &m->stats,
	};
	if ((rc = sr__http_create(&m->http, &ho, err, err_len)))
		goto fail;
	m->start_ns = unix_ns();
	pthread_mutex_init(&m->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->cv, &ca);
	pthread_condattr_destroy(&ca);
	rc = sr__thread_start_named(&m->thread, "sr-metrics-otlp", run, m);
	if (rc) {
		snprintf(err, err_len, "cannot start the OTLP metrics thread");
		pthread_cond_destroy(&m->cv);
		pthread_mutex_destroy(&m->lock);
		sr__http_destroy(m->http);
		rc = SR_ENOMEM;
		goto fail;
	}
	*out = m;
	return 0;
fail:
	free(m);
	return rc;
}

void sr__otlp_metrics_stop(struct sr__otlp_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_signal(&m->cv);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	sr__http_destroy(m->http);
	pthread_cond_destroy(&m->cv);
	pthread_mutex_destroy(&m->lock);
	sr__buf_free(&m->body);
	free(m);
}
