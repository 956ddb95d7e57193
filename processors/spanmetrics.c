/*
 * spanmetrics.c - the "spanmetrics" processor: request, error and
 * duration (RED) metrics from the spans the application already records,
 * aggregated on the drainer in memory fixed at init, named as the
 * OpenTelemetry Collector's spanmetrics connector names them so that
 * Jaeger's Service Performance Monitoring and the dashboards built for it
 * work unchanged:
 *
 *   traces.span.metrics.calls      counter, unit 1
 *   traces.span.metrics.duration   histogram, unit ms, explicit buckets
 *
 * per (service.name, span.name, span.kind, status.code); errors are the
 * calls with status.code STATUS_CODE_ERROR.  Spans pass through
 * unchanged.
 *
 * At most SPANRING_SPANMETRICS_MAX_SERIES series (default 1000); spans of
 * a new series past that go to one overflow series labelled
 * otel.metric.overflow=true (the OpenTelemetry cardinality-limit
 * convention) and are counted under the rule "series_overflow".
 *
 * Concurrency: process() (drainer) is the only writer.  A series' key is
 * written before the series is published by raising nseries (release
 * store); its counters are single-writer relaxed atomics, so the metrics
 * thread reads each counter whole (a histogram may be one span behind its
 * own count, never torn).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env_int.h"
#include "hash_int.h"
#include "processor_int.h"

#define NAME_MAX_LEN 128         /* longer span names are cut            */
#define MAX_BOUNDS 64
#define CACHE_SLOTS 1024         /* power of two                         */

struct series {
	uint32_t hash;
	uint8_t kind, status;
	uint16_t name_len;
	char name[NAME_MAX_LEN];
	uint64_t calls, sum_ns;  /* relaxed atomics, single writer     */
	uint64_t *buckets;       /* nbounds + 1                         */
};

struct spanmetrics {
	uint32_t cap;            /* series, the overflow one excluded    */
	uint32_t nseries;        /* release store by the drainer         */
	bool overflow_used;      /* relaxed atomic                       */
	struct series *series;   /* cap + 1: the last is the overflow    */
	int32_t *index;          /* open addressing, mask + 1 slots      */
	uint32_t mask;
	/* In front of the index: series + 1 (0 none) by a cheap hash of the
	 * key (sr__hash_sketch), so that a span of a series seen before
	 * costs one compare of its name, not a hash of every byte and a
	 * probe.  Direct-mapped: a clash only sends a span to the index. */
	uint32_t cache[CACHE_SLOTS];
	uint64_t *bucket_mem;
	double bounds_ms[MAX_BOUNDS];
	uint64_t bounds_ns[MAX_BOUNDS];
	uint32_t nbounds;
	char service[128];       /* written once, before service_len     */
	uint32_t service_len;    /* release store                        */
};

static const double default_bounds_ms[] = { 2, 4, 6, 8, 10, 50, 100, 200,
					    400, 800, 1000, 1400, 2000, 5000,
					    10000, 15000 };

static void add(uint64_t *x, uint64_t n)
{
	__atomic_store_n(x, __atomic_load_n(x, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *x)
{
	return __atomic_load_n(x, __ATOMIC_RELAXED);
}

static uint32_t key_hash(sr_str_t name, unsigned kind, unsigned status)
{
	return (uint32_t)sr__hash_bytes(name.ptr, name.len) ^ (kind << 8) ^ status;
}

static bool series_is(const struct series *s, sr_str_t name, unsigned kind,
		      unsigned status)
{
	return s->kind == kind && s->status == status &&
	       s->name_len == name.len && !memcmp(s->name, name.ptr, name.len);
}

/* The series of this key, made if there is room; the overflow one
 * (counted) if not. */
static struct series *series_of(struct spanmetrics *m, sr_proc_batch_t *pb,
				sr_str_t name, unsigned kind, unsigned status)
{
	uint32_t h, at, n = m->nseries, *c;
	struct series *s;

	if (name.len > NAME_MAX_LEN)
		name.len = NAME_MAX_LEN;
	c = &m->cache[(sr__hash_sketch(name.ptr, name.len) ^ kind << 4 ^ status) &
		      (CACHE_SLOTS - 1)];
	if (*c && series_is(&m->series[*c - 1], name, kind, status))
		return &m->series[*c - 1];
	h = key_hash(name, kind, status);
	for (at = h & m->mask; m->index[at] >= 0; at = (at + 1) & m->mask) {
		s = &m->series[m->index[at]];
		if (s->hash == h && series_is(s, name, kind, status)) {
			*c = (uint32_t)m->index[at] + 1;
			return s;
		}
	}
	if (n == m->cap) {
		sr_proc_note(pb, "series_overflow", 1);
		__atomic_store_n(&m->overflow_used, true, __ATOMIC_RELAXED);
		return &m->series[m->cap];
	}
	s = &m->series[n];
	s->hash = h;
	s->kind = (uint8_t)kind;
	s->status = (uint8_t)status;
	s->name_len = (uint16_t)name.len;
	memcpy(s->name, name.ptr, name.len);
	m->index[at] = (int32_t)n;
	*c = n + 1;
	__atomic_store_n(&m->nseries, n + 1, __ATOMIC_RELEASE);
	return s;
}

static void sm_process(void *state, sr_proc_batch_t *pb)
{
	struct spanmetrics *m = state;
	size_t n = sr_proc_count(pb);

	if (!__atomic_load_n(&m->service_len, __ATOMIC_RELAXED)) {
		uint32_t nres;
		const sr_attr_view_t *res = sr_proc_resource(pb, &nres);

		for (uint32_t i = 0; i < nres; i++)
			if (res[i].key.len == 12 &&
			    !memcmp(res[i].key.ptr, "service.name", 12) &&
			    res[i].type == SR_ATTR_STRING) {
				uint32_t len = res[i].v.s.len < sizeof(m->service)
						       ? res[i].v.s.len
						       : sizeof(m->service);

				memcpy(m->service, res[i].v.s.ptr, len);
				__atomic_store_n(&m->service_len, len,
						 __ATOMIC_RELEASE);
			}
	}
	for (size_t i = 0; i < n; i++) {
		sr_span_data_t s;
		struct series *se;
		uint64_t d;
		uint32_t b = 0;

		s.size = sizeof(s); /* sr_proc_span_head writes it all */
		if (sr_proc_span_head(pb, i, &s) != 0)
			continue;
		se = series_of(m, pb, s.name, s.kind, s.status);
		d = s.end_ns - s.start_ns;
		while (b < m->nbounds && d > m->bounds_ns[b])
			b++;
		add(&se->calls, 1);
		add(&se->sum_ns, d);
		add(&se->buckets[b], 1);
	}
}

/* Indexed by sr_span_kind_t (the OTLP values). */
static const char *const kind_names[] = {
	"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
	"SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
};
static const char *const status_names[] = {
	"STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR",
};

static sr_str_t str(const char *s)
{
	return (sr_str_t){ s, (uint32_t)strlen(s) };
}

/* The attributes of series `s` (the overflow one if `overflow`). */
static uint32_t labels(const struct spanmetrics *m, const struct series *s,
		       bool overflow, sr_attr_view_t *a)
{
	a[0].key = str("service.name");
	a[0].type = SR_ATTR_STRING;
	a[0].v.s = (sr_str_t){ m->service,
			       __atomic_load_n(&m->service_len, __ATOMIC_ACQUIRE) };
	if (overflow) {
		a[1].key = str("otel.metric.overflow");
		a[1].type = SR_ATTR_BOOL;
		a[1].v.b = true;
		return 2;
	}
	a[1].key = str("span.name");
	a[1].type = SR_ATTR_STRING;
	a[1].v.s = (sr_str_t){ s->name, s->name_len };
	a[2].key = str("span.kind");
	a[2].type = SR_ATTR_STRING;
	a[2].v.s = str(kind_names[s->kind < 6 ? s->kind : 0]);
	a[3].key = str("status.code");
	a[3].type = SR_ATTR_STRING;
	a[3].v.s = str(status_names[s->status < 3 ? s->status : 0]);
	return 4;
}

static void sm_metrics(void *state, sr_metric_emit_fn emit, void *ctx)
{
	struct spanmetrics *m = state;
	uint32_t n = __atomic_load_n(&m->nseries, __ATOMIC_ACQUIRE);
	bool ovf = __atomic_load_n(&m->overflow_used, __ATOMIC_RELAXED);
	uint64_t counts[MAX_BOUNDS + 1];
	sr_attr_view_t a[4];

	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < n + ovf; i++) {
			const struct series *s = &m->series[i < n ? i : m->cap];
			sr_metric_point_t pt = { 0 };

			pt.attrs = a;
			pt.nattrs = labels(m, s, i >= n, a);
			if (pass == 0) {
				pt.name = "traces.span.metrics.calls";
				pt.unit = "1";
				pt.help = "spans by service, name, kind and status";
				pt.kind = SR_METRIC_COUNTER;
				pt.value = get(&s->calls);
			} else {
				pt.name = "traces.span.metrics.duration";
				pt.unit = "ms";
				pt.help = "span durations";
				pt.kind = SR_METRIC_HISTOGRAM;
				pt.bounds = m->bounds_ms;
				pt.nbounds = m->nbounds;
				pt.count = 0;
				for (uint32_t b = 0; b <= m->nbounds; b++)
					pt.count += counts[b] = get(&s->buckets[b]);
				pt.buckets = counts;
				pt.sum = (double)get(&s->sum_ns) / 1e6;
			}
			emit(ctx, &pt);
		}
}

static void sm_shutdown(void *state)
{
	struct spanmetrics *m = state;

	if (!m)
		return;
	free(m->series);
	free(m->index);
	free(m->bucket_mem);
	free(m);
}

/* SPANRING_SPANMETRICS_BUCKETS_MS: ascending positive numbers, commas. */
static int parse_bounds(struct spanmetrics *m, char *err, size_t err_len)
{
	size_t len;
	const char *v = sr__env_get("SPANRING_SPANMETRICS_BUCKETS_MS", &len);
	const char *s, *item;
	char buf[64], *end;

	if (!v) {
		m->nbounds = sizeof(default_bounds_ms) / sizeof(double);
		memcpy(m->bounds_ms, default_bounds_ms, sizeof(default_bounds_ms));
		return 0;
	}
	s = v;
	m->nbounds = 0;
	while (sr__env_list_next(&s, &item, &len)) {
		double x;

		snprintf(buf, sizeof(buf), "%.*s", (int)len, item);
		x = strtod(buf, &end);
		if (!len || *end || !(x > 0) || m->nbounds == MAX_BOUNDS ||
		    (m->nbounds && x <= m->bounds_ms[m->nbounds - 1])) {
			snprintf(err, err_len, "SPANRING_SPANMETRICS_BUCKETS_MS='%s': "
				 "'%s' is not a bound (up to %d ascending "
				 "positive numbers of ms)", v, buf, MAX_BOUNDS);
			return SR_EINVAL;
		}
		m->bounds_ms[m->nbounds++] = x;
	}
	return 0;
}

static int sm_init(void *ud, const sr_config_t *cfg, void **state, char *err,
		   size_t err_len)
{
	struct spanmetrics *m = calloc(1, sizeof(*m));
	uint32_t cap = 1000, slots = 2;
	int rc;

	(void)ud;
	(void)cfg;
	if (!m)
		return SR_ENOMEM;
	*state = m;
	rc = sr__env_u32("SPANRING_SPANMETRICS_MAX_SERIES", 1, 100000, &cap);
	if (rc == SR_EINVAL) {
		snprintf(err, err_len, "%s", sr_last_error());
		goto fail;
	}
	if ((rc = parse_bounds(m, err, err_len)))
		goto fail;
	for (uint32_t b = 0; b < m->nbounds; b++)
		m->bounds_ns[b] = (uint64_t)(m->bounds_ms[b] * 1e6);
	m->cap = cap;
	while (slots < 2 * cap)
		slots *= 2;
	m->mask = slots - 1;
	m->series = calloc(cap + 1, sizeof(*m->series));
	m->index = malloc(slots * sizeof(*m->index));
	m->bucket_mem = calloc((size_t)(cap + 1) * (m->nbounds + 1),
			       sizeof(uint64_t));
	rc = SR_ENOMEM;
	if (!m->series || !m->index || !m->bucket_mem)
		goto fail;
	memset(m->index, 0xff, slots * sizeof(*m->index));
	for (uint32_t i = 0; i <= cap; i++)
		m->series[i].buckets = m->bucket_mem + (size_t)i * (m->nbounds + 1);
	return 0;
fail:
	sm_shutdown(m);
	*state = NULL;
	return rc;
}

const sr_processor_ops_t sr__processor_spanmetrics = {
	.size = sizeof(sr_processor_ops_t),
	.abi_version = SR_PROCESSOR_ABI_VERSION,
	.name = "spanmetrics",
	.init = sm_init,
	.process = sm_process,
	.shutdown = sm_shutdown,
	.metrics = sm_metrics,
};
