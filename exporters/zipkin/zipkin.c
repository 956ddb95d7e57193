/*
 * zipkin.c - the "zipkin" exporter: Zipkin v2 JSON (zipkin_encode.c) over
 * HTTP.
 *
 * Each batch becomes one POST of a JSON array of spans to
 * OTEL_EXPORTER_ZIPKIN_ENDPOINT (default http://localhost:9411/api/v2/spans)
 * through the HTTP transport the OTLP exporter uses (http_transport.c):
 * one keep-alive connection, the same retry policy (connection failures,
 * timeouts, 429/502/503/504 retried with jittered backoff or Retry-After)
 * bounded by the pipeline's export timeout, and sr__http_cancel() for a
 * shutdown that must not wait for a hanging collector.  The exporter runs
 * on its own worker thread, so a slow Zipkin only makes this exporter miss
 * batches (counted per exporter); it never blocks the application or the
 * other exporters, and nothing is queued here beyond the one batch being
 * sent.
 *
 * Configuration: OTEL_EXPORTER_ZIPKIN_ENDPOINT (a full http:// or https://
 * URL, checked with libcurl's URL parser at create), OTEL_EXPORTER_ZIPKIN_
 * TIMEOUT (ms per request, default 10000, 0 = only the export deadline),
 * and SPANRING_ZIPKIN_COMPRESSION (none|gzip), SPANRING_ZIPKIN_MAX_ATTEMPTS,
 * SPANRING_ZIPKIN_RETRY_INITIAL_MS, SPANRING_ZIPKIN_RETRY_MAX_MS.  A
 * malformed value fails create() with the variable and value named; the
 * pipeline runs on with its other exporters.
 *
 * Left out: TLS client options (OTLP has them; Zipkin collectors are
 * usually reached over a local network or a sidecar).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env_int.h"
#include "exp_util_int.h"
#include "exporter_int.h"
#include "http_int.h"
#include "zipkin_int.h"

#define DEFAULT_ENDPOINT "http://localhost:9411/api/v2/spans"
#define DEFAULT_TIMEOUT_MS 10000u
#define DEFAULT_EXPORT_TIMEOUT_MS 30000u
#define DEFAULT_MAX_ATTEMPTS 5u
#define DEFAULT_BACKOFF_INITIAL_MS 1000u
#define DEFAULT_BACKOFF_MAX_MS 5000u

/* ---- configuration ------------------------------------------------------------ */

/*
 * A full http:// or https:// URL with a host, as libcurl parses it, in a
 * malloc'd copy (*url).  The value is named in the error: a collector URL
 * is not a secret (credentials belong in headers, which are never shown).
 */
static int check_url(const char *var, const char *v, size_t n, char **url,
		     char *err, size_t err_len)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL;
	int rc = 0;

	*url = NULL;
	if (memchr(v, ' ', n) || memchr(v, '\t', n) || memchr(v, '\n', n)) {
		snprintf(err, err_len, "%s='%.*s': a URL may not contain white space",
			 var, (int)n, v);
		return SR_EINVAL;
	}
	if (!(*url = strndup(v, n)) || !(u = curl_url())) {
		free(*url);
		*url = NULL;
		snprintf(err, err_len, "out of memory");
		return SR_ENOMEM;
	}
	if (curl_url_set(u, CURLUPART_URL, *url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
		snprintf(err, err_len, "%s='%s': not a URL (expected e.g. %s)",
			 var, *url, DEFAULT_ENDPOINT);
		rc = SR_EINVAL;
	} else if (strcmp(scheme, "http") && strcmp(scheme, "https")) {
		snprintf(err, err_len, "%s='%s': only http:// and https:// "
				       "endpoints are supported", var, *url);
		rc = SR_EINVAL;
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	if (rc) {
		free(*url);
		*url = NULL;
	}
	return rc;
}

struct zipkin_conf {
	char *url;                  /* malloc'd */
	uint32_t timeout_ms;
	bool gzip;
	uint32_t max_attempts, backoff_initial_ms, backoff_max_ms;
};

static int read_conf(struct zipkin_conf *c, char *err, size_t err_len)
{
	static const char *const compressions[] = { "none", "gzip", NULL };
	unsigned gzip = 0;
	const char *v;
	size_t n;
	int rc;

	memset(c, 0, sizeof(*c));
	c->timeout_ms = DEFAULT_TIMEOUT_MS;
	c->max_attempts = DEFAULT_MAX_ATTEMPTS;
	c->backoff_initial_ms = DEFAULT_BACKOFF_INITIAL_MS;
	c->backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;

	v = sr__env_get("OTEL_EXPORTER_ZIPKIN_ENDPOINT", &n);
	if (!v) {
		v = DEFAULT_ENDPOINT;
		n = strlen(v);
	}
	if ((rc = check_url("OTEL_EXPORTER_ZIPKIN_ENDPOINT", v, n, &c->url, err,
			    err_len)))
		return rc;

	if ((rc = sr__exp_env_choice("SPANRING_ZIPKIN_COMPRESSION", compressions,
				     &gzip, err, err_len)))
		return rc;
	c->gzip = gzip == 1;
	if ((rc = sr__exp_env_u32("OTEL_EXPORTER_ZIPKIN_TIMEOUT", 0, 3600u * 1000u,
			  &c->timeout_ms, err, err_len)) ||
	    (rc = sr__exp_env_u32("SPANRING_ZIPKIN_MAX_ATTEMPTS", 1, 100,
			  &c->max_attempts, err, err_len)) ||
	    (rc = sr__exp_env_u32("SPANRING_ZIPKIN_RETRY_INITIAL_MS", 0, 600000,
			  &c->backoff_initial_ms, err, err_len)) ||
	    (rc = sr__exp_env_u32("SPANRING_ZIPKIN_RETRY_MAX_MS", 0, 600000,
			  &c->backoff_max_ms, err, err_len)))
		return rc;
	if (c->backoff_max_ms < c->backoff_initial_ms)
		c->backoff_max_ms = c->backoff_initial_ms;
	return 0;
}

/* ---- the exporter --------------------------------------------------------------- */

struct zipkin {
	struct sr__zipkin_enc enc;
	struct sr__http *http;
	struct sr__http_stats http_stats; /* the transport's counters */
	uint32_t export_timeout_ms;
};

static void zipkin_destroy(void *state, uint32_t timeout_ms)
{
	struct zipkin *z = state;

	(void)timeout_ms; /* synchronous: nothing is buffered */
	if (!z)
		return;
	sr__http_destroy(z->http);
	sr__zipkin_enc_free(&z->enc);
	free(z);
}

static int zipkin_create(void *ud, const sr_config_t *cfg, void **state,
			 char *err, size_t err_len)
{
	struct zipkin_conf c;
	struct zipkin *z;
	char herr[256];
	int rc;

	*state = NULL;
	if ((rc = read_conf(&c, err, err_len))) {
		free(c.url);
		return rc;
	}
	if (!(z = calloc(1, sizeof(*z)))) {
		free(c.url);
		snprintf(err, err_len, "out of memory");
		return SR_ENOMEM;
	}
	sr__zipkin_enc_init(&z->enc);
	z->export_timeout_ms = cfg && cfg->export_timeout_ms
				       ? cfg->export_timeout_ms
				       : DEFAULT_EXPORT_TIMEOUT_MS;
	struct sr__http_opts ho = {
		.url = c.url,
		.content_type = "application/json",
		.gzip = c.gzip,
		.gzip_level = 1,
		.attempt_timeout_ms = c.timeout_ms ? c.timeout_ms : z->export_timeout_ms,
		.max_attempts = c.max_attempts,
		.backoff_initial_ms = c.backoff_initial_ms,
		.backoff_max_ms = c.backoff_max_ms,
		.stats = &z->http_stats,
	};
	rc = sr__http_create(&z->http, &ho, herr, sizeof(herr));
	free(c.url);
	if (rc) {
		snprintf(err, err_len, "OTEL_EXPORTER_ZIPKIN_ENDPOINT: %s", herr);
		zipkin_destroy(z, 0);
		return rc;
	}
	*state = z;
	return 0;
}

static int zipkin_export(void *state, const sr_batch_t *batch,
			 uint64_t *rejected)
{
	struct zipkin *z = state;
	size_t n = sr_batch_count(batch);
	uint64_t t0 = sr__http_now_ns();
	const sr_attr_view_t *res;
	struct sr__http_result hr;
	const char *body;
	uint32_t nres = 0;
	size_t len;
	int rc;

	if (n == 0)
		return 0;
	res = sr_batch_resource(batch, &nres);
	sr__zipkin_enc_begin(&z->enc, res, nres);
	for (size_t i = 0; i < n; i++) {
		sr_span_data_t sd = { .size = sizeof(sd) };

		if (sr_batch_span(batch, i, &sd) == 0)
			sr__zipkin_enc_add(&z->enc, &sd);
		else
			(*rejected)++;
	}
	if ((rc = sr__zipkin_enc_finish(&z->enc, &body, &len)) != 0)
		return rc;
	rc = sr__http_post(z->http, body, len,
			   t0 + (uint64_t)z->export_timeout_ms * 1000000u, &hr);
	if (rc == 0)
		return 0;
	sr_batch_report_error(batch, (int)hr.status, -1, hr.detail);
	return rc == SR_ETIMEDOUT ? SR_EXPORT_RETRYABLE : SR_EIO;
}

/* Shutdown past its deadline: end the request or backoff in progress. */
static void zipkin_cancel(void *state)
{
	struct zipkin *z = state;

	sr__http_cancel(z->http);
}

const sr_exporter_ops_t sr__exporter_zipkin = {
	.size = sizeof(sr_exporter_ops_t),
	.abi_version = SR_EXPORTER_ABI_VERSION,
	.name = "zipkin",
	.create = zipkin_create,
	.export_batch = zipkin_export,
	.flush = NULL, /* synchronous: nothing is ever held back */
	.destroy = zipkin_destroy,
	.cancel = zipkin_cancel,
};
