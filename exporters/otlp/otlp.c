/*
 * otlp.c - the "otlp" exporter: OTLP/HTTP with protobuf or JSON bodies,
 * or OTLP/gRPC (protobuf in a unary gRPC call, grpc_int.h).
 *
 * create() reads the standard OTEL_EXPORTER_OTLP_* variables (and a few
 * SPANRING_OTLP_* tuning ones), rejecting any malformed value with a
 * message that names the variable and the value (except header values,
 * which may be credentials).  export_batch() encodes the batch into one
 * ExportTraceServiceRequest (otlp_encode.c) and posts it through the HTTP
 * transport (http_transport.c), which applies the OTLP retry policy within
 * the pipeline's export timeout; for gRPC the same transport speaks HTTP/2
 * with the gRPC hooks (grpc_transport.c), which read the outcome from the
 * grpc-status trailer.  The exporter runs on its own worker
 * thread (the core's), so waiting here never blocks the application; when
 * it gives up, it returns an error and the core counts the batch's spans
 * as dropped.  A partial_success answer is reported through *rejected.
 *
 * Stats live in static storage, not in the instance, so they can be read
 * from any thread at any time and outlive the exporter (sr_otlp_stats_get).
 *
 * Left out: per-request header callbacks, endpoint discovery, gRPC name
 * resolution and load balancing (the endpoint is one host:port).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "exporter_int.h"
#include "grpc_int.h"
#include "http_int.h"
#include "otlp_int.h"
#include "sized_int.h"

_Static_assert((int)SR_OTLP_FAIL_CONNECT == (int)SR__HTTP_FAIL_CONNECT &&
		       (int)SR_OTLP_FAIL_TIMEOUT == (int)SR__HTTP_FAIL_TIMEOUT &&
		       (int)SR_OTLP_FAIL_RETRYABLE == (int)SR__HTTP_FAIL_RETRYABLE &&
		       (int)SR_OTLP_FAIL_CLIENT == (int)SR__HTTP_FAIL_CLIENT &&
		       (int)SR_OTLP_FAIL_SERVER == (int)SR__HTTP_FAIL_SERVER &&
		       (int)SR_OTLP_FAIL_TLS == (int)SR__HTTP_FAIL_TLS &&
		       (int)SR_OTLP_FAIL_DEADLINE == (int)SR__HTTP_FAIL_DEADLINE &&
		       (int)SR_OTLP_FAIL_CANCELLED == (int)SR__HTTP_FAIL_CANCELLED &&
		       (int)SR_OTLP_FAIL_OTHER == (int)SR__HTTP_FAIL_OTHER &&
		       (int)SR_OTLP_FAIL_COUNT == (int)SR__HTTP_FAIL_COUNT,
	       "public and transport failure classes agree");

#define DEFAULT_ENDPOINT "http://localhost:4318"
#define DEFAULT_GRPC_ENDPOINT "http://localhost:4317"
#define GRPC_TRACES_PATH \
	"/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define TRACES_PATH "/v1/traces"
#define DEFAULT_TIMEOUT_MS 10000u     /* OTEL_EXPORTER_OTLP_TIMEOUT default */
#define DEFAULT_EXPORT_TIMEOUT_MS 30000u
#define DEFAULT_MAX_ATTEMPTS 5u
#define DEFAULT_BACKOFF_INITIAL_MS 1000u
#define DEFAULT_BACKOFF_MAX_MS 5000u
#define DEFAULT_GZIP_LEVEL 1          /* fastest: the exporter must keep up */

/* ---- stats --------------------------------------------------------------
 * Counters: written by the exporter's worker thread (and zeroed by create()
 * on the sr_init() thread before the worker starts) with relaxed atomics;
 * read by any thread with relaxed atomic loads.  Each counter is exact on
 * its own; a snapshot is not one instant across counters.  last_error is
 * text, so it takes the mutex. */
struct counters {
	uint64_t exports, exports_ok, exports_failed;
	uint64_t spans_ok, spans_rejected, spans_failed;
	uint64_t invalid_utf8;
	uint64_t export_fail[SR_OTLP_FAIL_COUNT];
	uint64_t latency_ns_sum, latency_ns_max;
	uint64_t latency_hist[SR_OTLP_LATENCY_BUCKETS];
	struct sr__http_stats http; /* the transport's, same rules      */
};

static struct counters g_ctr;
static int g_ctr_valid;            /* set once by create(), never cleared */
static pthread_mutex_t g_err_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_last_error[192];     /* under g_err_lock */

static const uint32_t latency_bounds_ms[] = SR_OTLP_LATENCY_BOUNDS_MS;
_Static_assert(sizeof(latency_bounds_ms) / sizeof(latency_bounds_ms[0]) + 1 ==
		       SR_OTLP_LATENCY_BUCKETS, "latency buckets");

static inline void ctr_add(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static void ctr_reset(void)
{
	uint64_t *w = (uint64_t *)(void *)&g_ctr;
	for (size_t i = 0; i < sizeof(g_ctr) / sizeof(uint64_t); i++)
		__atomic_store_n(&w[i], 0, __ATOMIC_RELAXED);
	pthread_mutex_lock(&g_err_lock);
	g_last_error[0] = '\0';
	pthread_mutex_unlock(&g_err_lock);
	__atomic_store_n(&g_ctr_valid, 1, __ATOMIC_RELEASE);
}

static void set_last_error(const char *msg)
{
	pthread_mutex_lock(&g_err_lock);
	size_t n = 0;

	while (n + 1 < sizeof(g_last_error) && msg[n]) { /* truncate to fit */
		g_last_error[n] = msg[n];
		n++;
	}
	g_last_error[n] = '\0';
	pthread_mutex_unlock(&g_err_lock);
}

static void record_latency(uint64_t ns)
{
	uint64_t max;
	unsigned b = 0;

	while (b < SR_OTLP_LATENCY_BUCKETS - 1 &&
	       ns > (uint64_t)latency_bounds_ms[b] * 1000000u)
		b++;
	ctr_add(&g_ctr.latency_hist[b], 1);
	ctr_add(&g_ctr.latency_ns_sum, ns);
	max = __atomic_load_n(&g_ctr.latency_ns_max, __ATOMIC_RELAXED);
	if (ns > max) /* single writer: no lost update */
		__atomic_store_n(&g_ctr.latency_ns_max, ns, __ATOMIC_RELAXED);
}

#define LD(f) __atomic_load_n(&(f), __ATOMIC_RELAXED)

SR_API int sr_otlp_stats_get(sr_otlp_stats_t *out)
{
	sr_otlp_stats_t s;

	if (!sr__sized_valid(out, SR__SIZED_MIN(sr_otlp_stats_t, exports)))
		return SR_EINVAL;
	if (!__atomic_load_n(&g_ctr_valid, __ATOMIC_ACQUIRE))
		return SR_ENOTFOUND;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.exports = LD(g_ctr.exports);
	s.exports_ok = LD(g_ctr.exports_ok);
	s.exports_failed = LD(g_ctr.exports_failed);
	s.spans_ok = LD(g_ctr.spans_ok);
	s.spans_rejected = LD(g_ctr.spans_rejected);
	s.spans_failed = LD(g_ctr.spans_failed);
	s.requests = LD(g_ctr.http.requests);
	s.retries = LD(g_ctr.http.retries);
	s.bytes_raw = LD(g_ctr.http.bytes_raw);
	s.bytes_sent = LD(g_ctr.http.bytes_sent);
	s.invalid_utf8 = LD(g_ctr.invalid_utf8);
	for (int i = 0; i < SR_OTLP_FAIL_COUNT; i++) {
		s.request_fail[i] = LD(g_ctr.http.attempt_fail[i]);
		s.export_fail[i] = LD(g_ctr.export_fail[i]);
	}
	s.latency_ns_sum = LD(g_ctr.latency_ns_sum);
	s.latency_ns_max = LD(g_ctr.latency_ns_max);
	for (int i = 0; i < SR_OTLP_LATENCY_BUCKETS; i++)
		s.latency_hist[i] = LD(g_ctr.latency_hist[i]);
	pthread_mutex_lock(&g_err_lock);
	memcpy(s.last_error, g_last_error, sizeof(s.last_error));
	pthread_mutex_unlock(&g_err_lock);

	sr__sized_out(out, &s, sizeof(s));
	return 0;
}

SR_API const char *sr_otlp_fail_name(int cause)
{
	return sr__http_fail_name((enum sr__http_fail)cause);
}

/* ---- configuration ------------------------------------------------------ */

/* A variable's value, with "" treated as unset (the OTel rule). */
static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

/* The per-signal variable if set, else the general one; *which names it. */
static const char *env2(const char *traces_var, const char *var,
			const char **which)
{
	const char *v = env(traces_var);

	*which = traces_var;
	if (!v) {
		v = env(var);
		*which = var;
	}
	return v;
}

static int env_u32(const char *name, uint32_t def, uint32_t min, uint32_t max,
		   uint32_t *out, char *err, size_t err_len)
{
	const char *v = env(name);
	char *end;
	unsigned long long x;

	*out = def;
	if (!v)
		return 0;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (*v < '0' || *v > '9' || *end || errno || x < min || x > max) {
		snprintf(err, err_len, "%s='%s': expected an integer in [%u, %u]",
			 name, v, min, max);
		return SR_EINVAL;
	}
	*out = (uint32_t)x;
	return 0;
}

/* A file path variable (per-signal first) that must name a readable file. */
static int env_file(const char *traces_var, const char *var, const char **out,
		    char *err, size_t err_len)
{
	const char *which, *v = env2(traces_var, var, &which);

	*out = v;
	if (v && access(v, R_OK) != 0) {
		snprintf(err, err_len, "%s='%s': %s", which, v, strerror(errno));
		return SR_EINVAL;
	}
	return 0;
}

struct otlp_conf {
	enum sr__otlp_format format;
	bool grpc;                  /* OTLP/gRPC (format is protobuf)        */
	char *url;                  /* malloc'd */
	const char *headers, *headers_var;
	uint32_t timeout_ms;
	bool gzip;
	uint32_t gzip_level;
	const char *ca, *cert, *key;
	uint32_t max_attempts, backoff_initial_ms, backoff_max_ms;
};

static int read_conf(struct otlp_conf *c, char *err, size_t err_len)
{
	const char *var, *v;
	bool insecure = false;
	int rc;

	memset(c, 0, sizeof(*c));

	v = env2("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL", &var);
	if (!v || !strcmp(v, "http/protobuf")) {
		c->format = SR__OTLP_PROTOBUF;
	} else if (!strcmp(v, "http/json")) {
		c->format = SR__OTLP_JSON;
	} else if (!strcmp(v, "grpc")) {
		c->format = SR__OTLP_PROTOBUF;
		c->grpc = true;
	} else {
		snprintf(err, err_len, "%s='%s': expected grpc, http/protobuf or "
				       "http/json", var, v);
		return SR_EINVAL;
	}

	v = env2("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "OTEL_EXPORTER_OTLP_INSECURE", &var);
	if (v) {
		if (!strcasecmp(v, "true")) {
			insecure = true;
		} else if (strcasecmp(v, "false")) {
			snprintf(err, err_len, "%s='%s': expected true or false", var, v);
			return SR_EINVAL;
		}
	}

	/* Endpoint: the per-signal URL is used as is; the general one is a
	 * base to which /v1/traces is appended.  A value without a scheme
	 * gets https://, or http:// when _INSECURE=true.  gRPC: either names
	 * the server (host:port); the method path replaces any path. */
	const char *base = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
	const char *suffix = "";
	var = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
	if (!base) {
		base = env("OTEL_EXPORTER_OTLP_ENDPOINT");
		var = "OTEL_EXPORTER_OTLP_ENDPOINT";
		suffix = TRACES_PATH;
		if (!base)
			base = c->grpc ? DEFAULT_GRPC_ENDPOINT : DEFAULT_ENDPOINT;
	}
	const char *scheme = "";
	if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8)) {
		if (strstr(base, "://")) {
			snprintf(err, err_len, "%s='%s': only http:// and https:// "
					       "endpoints are supported", var, base);
			return SR_EINVAL;
		}
		scheme = insecure ? "http://" : "https://";
	}
	size_t bl = strlen(base);
	if (c->grpc) {
		const char *host = strstr(base, "://");
		const char *path = strchr(host ? host + 3 : base, '/');
		if (path)
			bl = (size_t)(path - base);
		suffix = GRPC_TRACES_PATH;
	}
	if (*suffix && bl && base[bl - 1] == '/')
		suffix++; /* "http://h:4318/" + "v1/traces" */
	if (strpbrk(base, " \t\r\n")) {
		snprintf(err, err_len, "%s='%s': a URL may not contain white space",
			 var, base);
		return SR_EINVAL;
	}
	size_t ul = strlen(scheme) + bl + strlen(suffix) + 1;
	if (!(c->url = malloc(ul))) {
		snprintf(err, err_len, "out of memory");
		return SR_ENOMEM;
	}
	snprintf(c->url, ul, "%s%.*s%s", scheme, (int)bl, base, suffix);

	c->headers = env2("OTEL_EXPORTER_OTLP_TRACES_HEADERS",
			  "OTEL_EXPORTER_OTLP_HEADERS", &c->headers_var);

	v = env2("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT", &var);
	if ((rc = env_u32(var, DEFAULT_TIMEOUT_MS, 0, 3600u * 1000u, &c->timeout_ms,
			  err, err_len)))
		return rc;
	(void)v;

	v = env2("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
		 "OTEL_EXPORTER_OTLP_COMPRESSION", &var);
	if (v && !strcmp(v, "gzip")) {
		c->gzip = true;
	} else if (v && strcmp(v, "none")) {
		snprintf(err, err_len, "%s='%s': expected gzip or none", var, v);
		return SR_EINVAL;
	}

	if ((rc = env_file("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
			   "OTEL_EXPORTER_OTLP_CERTIFICATE", &c->ca, err, err_len)) ||
	    (rc = env_file("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
			   "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &c->cert, err,
			   err_len)) ||
	    (rc = env_file("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
			   "OTEL_EXPORTER_OTLP_CLIENT_KEY", &c->key, err, err_len)))
		return rc;
	/* A client certificate is half of a pair: without its key (or the
	 * key without it) every handshake would fail; name both. */
	if (!c->cert != !c->key) {
		const char *set;

		if (c->cert)
			env2("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
			     "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &set);
		else
			env2("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
			     "OTEL_EXPORTER_OTLP_CLIENT_KEY", &set);
		snprintf(err, err_len,
			 "%s is set but %s (or OTEL_EXPORTER_OTLP_TRACES_%s) is "
			 "not: a client certificate and its key go together",
			 set,
			 c->cert ? "OTEL_EXPORTER_OTLP_CLIENT_KEY"
				 : "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
			 c->cert ? "CLIENT_KEY" : "CLIENT_CERTIFICATE");
		return SR_EINVAL;
	}

	if ((rc = env_u32("SPANRING_OTLP_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS, 1, 100,
			  &c->max_attempts, err, err_len)) ||
	    (rc = env_u32("SPANRING_OTLP_RETRY_INITIAL_MS", DEFAULT_BACKOFF_INITIAL_MS,
			  0, 600000, &c->backoff_initial_ms, err, err_len)) ||
	    (rc = env_u32("SPANRING_OTLP_RETRY_MAX_MS", DEFAULT_BACKOFF_MAX_MS, 0,
			  600000, &c->backoff_max_ms, err, err_len)) ||
	    (rc = env_u32("SPANRING_OTLP_GZIP_LEVEL", DEFAULT_GZIP_LEVEL, 1, 9,
			  &c->gzip_level, err, err_len)))
		return rc;
	if (c->backoff_max_ms < c->backoff_initial_ms)
		c->backoff_max_ms = c->backoff_initial_ms;
	return 0;
}

/* ---- the exporter ------------------------------------------------------- */

struct otlp {
	struct sr__otlp_enc enc;
	struct sr__http *http;
	bool grpc;
	struct sr__grpc_call call;  /* the gRPC hooks' state; worker only */
	uint32_t export_timeout_ms;
};

static void otlp_destroy(void *state, uint32_t timeout_ms);

static int otlp_create(void *ud, const sr_config_t *cfg, void **state,
		       char *err, size_t err_len)
{
	struct otlp_conf c;
	struct otlp *o;
	int rc;

	*state = NULL;
	if ((rc = read_conf(&c, err, err_len))) {
		free(c.url);
		return rc;
	}
	if (!(o = calloc(1, sizeof(*o)))) {
		free(c.url);
		snprintf(err, err_len, "out of memory");
		return SR_ENOMEM;
	}
	sr__otlp_enc_init(&o->enc, c.format);
	o->grpc = c.grpc;
	o->export_timeout_ms = cfg && cfg->export_timeout_ms
				       ? cfg->export_timeout_ms
				       : DEFAULT_EXPORT_TIMEOUT_MS;

	ctr_reset();
	struct sr__http_opts ho = {
		.url = c.url,
		.content_type = c.grpc ? "application/grpc"
			: c.format == SR__OTLP_PROTOBUF ? "application/x-protobuf"
							: "application/json",
		.headers = c.headers,
		.headers_var = c.headers_var,
		.gzip = c.gzip,
		.gzip_level = (int)c.gzip_level,
		/* 0 means no per-request limit beyond the export deadline */
		.attempt_timeout_ms = c.timeout_ms ? c.timeout_ms : o->export_timeout_ms,
		.max_attempts = c.max_attempts,
		.backoff_initial_ms = c.backoff_initial_ms,
		.backoff_max_ms = c.backoff_max_ms,
		.ca_file = c.ca,
		.cert_file = c.cert,
		.key_file = c.key,
		.stats = &g_ctr.http,
		.proto = c.grpc ? &sr__grpc_proto : NULL,
		.proto_state = &o->call,
	};
	char herr[256];
	rc = sr__http_create(&o->http, &ho, herr, sizeof(herr));
	if (rc) {
		snprintf(err, err_len, "otlp: %s", herr);
		free(c.url);
		otlp_destroy(o, 0);
		return rc;
	}
	free(c.url);
	*state = o;
	return 0;
}

/* Printable, single-line copy of an untrusted response snippet. */
static void snippet(char *dst, size_t dst_len, const char *src, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < dst_len; i++) {
		unsigned char ch = (unsigned char)src[i];
		dst[j++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '.';
	}
	dst[j] = '\0';
}

static int otlp_export(void *state, const sr_batch_t *batch, uint64_t *rejected)
{
	struct otlp *o = state;
	size_t n = sr_batch_count(batch);
	uint64_t t0 = sr__http_now_ns();
	const sr_attr_view_t *res;
	struct sr__http_result hr;
	const char *body;
	size_t len;
	uint32_t nres = 0;
	int rc;

	if (n == 0)
		return 0;
	ctr_add(&g_ctr.exports, 1);
	res = sr_batch_resource(batch, &nres);
	rc = sr__otlp_enc_begin(&o->enc, res, nres);
	if (o->enc.format == SR__OTLP_PROTOBUF) {
		for (size_t i = 0; !rc && i < n; i++)
			rc = sr__otlp_pb_add_record(&o->enc, batch, i);
	} else {
		for (size_t i = 0; !rc && i < n; i++) {
			sr_span_data_t sd = { .size = sizeof(sd) };
			if ((rc = sr_batch_span(batch, i, &sd)) == 0)
				rc = sr__otlp_enc_add(&o->enc, &sd);
		}
	}
	if (!rc)
		rc = sr__otlp_enc_finish(&o->enc, &body, &len);
	ctr_add(&g_ctr.invalid_utf8, o->enc.invalid_utf8);
	if (rc) {
		ctr_add(&g_ctr.exports_failed, 1);
		ctr_add(&g_ctr.spans_failed, n);
		ctr_add(&g_ctr.export_fail[SR_OTLP_FAIL_OTHER], 1);
		set_last_error(rc == SR_ENOMEM ? "encoding: out of memory"
					       : "encoding: bad span in batch");
		sr_batch_report_error(batch, 0, -1, rc == SR_ENOMEM
				      ? "encoding: out of memory"
				      : "encoding: bad span in batch");
		record_latency(sr__http_now_ns() - t0);
		return rc;
	}

	rc = sr__http_post(o->http, body, len,
			   t0 + (uint64_t)o->export_timeout_ms * 1000000u, &hr);
	record_latency(sr__http_now_ns() - t0);
	if (rc == 0) {
		uint64_t rej = 0;
		char msg[128];
		const void *rb = hr.body;
		size_t rlen = hr.body_len;
		bool z = false;
		/* gRPC: the response message inside its frame (never
		 * compressed: we accept identity only). */
		if (o->grpc && (sr__grpc_unframe(hr.body, hr.body_len, &rb, &rlen, &z) ||
				z))
			rlen = 0;
		/* A body we cannot read does not undo the delivery. */
		if (sr__otlp_parse_response(o->enc.format, rb, rlen,
					    &rej, msg, sizeof(msg)) == 0 && rej) {
			char line[320];
			rej = rej < n ? rej : n;
			snprintf(line, sizeof(line), "partial success: %llu of %zu "
				 "spans rejected: %s", (unsigned long long)rej, n, msg);
			set_last_error(line);
			sr_batch_report_error(batch, (int)hr.status,
					      o->grpc ? o->call.status : -1, line);
		}
		*rejected = rej;
		ctr_add(&g_ctr.exports_ok, 1);
		ctr_add(&g_ctr.spans_ok, n);
		ctr_add(&g_ctr.spans_rejected, rej);
		return 0;
	}

	char line[320], snip[64] = "";
	if (hr.body_len && hr.status && !o->grpc)
		snippet(snip, sizeof(snip), hr.body, hr.body_len);
	snprintf(line, sizeof(line), "%s%s%s", hr.detail, *snip ? ": " : "", snip);
	set_last_error(line);
	/* The transport's words and the answer's body: never a header. */
	sr_batch_report_error(batch, (int)hr.status,
			      o->grpc ? o->call.status : -1, line);
	ctr_add(&g_ctr.exports_failed, 1);
	ctr_add(&g_ctr.spans_failed, n);
	ctr_add(&g_ctr.export_fail[hr.fail ? hr.fail : SR__HTTP_FAIL_OTHER], 1);
	return rc == SR_ETIMEDOUT ? SR_EXPORT_RETRYABLE : SR_EIO;
}

static void otlp_destroy(void *state, uint32_t timeout_ms)
{
	struct otlp *o = state;

	(void)timeout_ms; /* nothing is buffered: the worker already stopped */
	if (!o)
		return;
	sr__http_destroy(o->http);
	sr__otlp_enc_free(&o->enc);
	free(o);
}

/* Shutdown past its deadline: end the request or backoff in progress. */
static void otlp_cancel(void *state)
{
	struct otlp *o = state;

	sr__http_cancel(o->http);
}

const sr_exporter_ops_t sr__exporter_otlp = {
	.size = sizeof(sr_exporter_ops_t),
	.abi_version = SR_EXPORTER_ABI_VERSION,
	.name = "otlp",
	.create = otlp_create,
	.export_batch = otlp_export,
	.flush = NULL, /* synchronous: nothing is ever held back */
	.destroy = otlp_destroy,
	.cancel = otlp_cancel,
};
