/*
 * ngx_http_spanring_worker.c - each worker's spanring pipeline.
 *
 * init_process (after the fork): build an sr_config_t from spanring's
 * defaults for a single-threaded server, then the worker's environment
 * (nginx keeps only what `env` lists, so OTEL_* and SPANRING_* reach us
 * through `env`), then the directives, which win; start the pipeline and
 * register the worker thread's ring before the first request.
 *
 * exit_process (graceful quit, reload, or the end of a single-process
 * nginx): sr_shutdown with spanring_shutdown_timeout as deadline: every
 * span ended so far is exported or, past the deadline, counted as lost;
 * the final counters go to the error log.  This runs after the worker
 * stopped serving, so its wait delays only the worker's exit.
 */
#include <stdlib.h>
#include <sys/random.h>

#include "ngx_http_spanring.h"

/* Written and read by the worker's event-loop thread only. */
static uint64_t ngx_http_spanring_rng;

/* splitmix64: ids for contexts that are propagated but not traced (no
 * span, so spanring makes none).  Unpredictable enough for ids, which
 * is all W3C asks of them; seeded per worker. */
void ngx_http_spanring_random_ids(uint8_t *out, size_t n)
{
	uint64_t z;
	size_t i;

	for (i = 0; i < n; i += 8) {
		z = (ngx_http_spanring_rng += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		if (z == 0)
			z = 1; /* an all-zero id is invalid */
		ngx_memcpy(out + i, &z, n - i < 8 ? n - i : 8);
	}
}

/* setenv() with an ngx_str_t value; only before sr_init, while the worker
 * is still single-threaded. */
static ngx_int_t ngx_http_spanring_setenv(ngx_cycle_t *cycle, const char *name,
					  ngx_str_t *value)
{
	char *v = ngx_pnalloc(cycle->pool, value->len + 1);

	if (v == NULL)
		return NGX_ERROR;
	*(char *)ngx_cpymem(v, value->data, value->len) = '\0';
	if (setenv(name, v, 1) != 0) {
		ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_errno,
			      "spanring: setenv(%s) failed", name);
		return NGX_ERROR;
	}
	return NGX_OK;
}

/* otel_exporter's settings go where spanring's OTLP exporter reads them. */
static ngx_int_t ngx_http_spanring_exporter_env(ngx_cycle_t *cycle,
						ngx_http_spanring_main_conf_t *mcf)
{
	ngx_str_t proto = ngx_string("http/protobuf");
	ngx_str_t grpc = ngx_string("grpc");

	if (ngx_http_spanring_setenv(cycle,
				     mcf->endpoint_is_full
					     ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
					     : "OTEL_EXPORTER_OTLP_ENDPOINT",
				     &mcf->endpoint) != NGX_OK ||
	    ngx_http_spanring_setenv(cycle, "OTEL_EXPORTER_OTLP_PROTOCOL",
				     mcf->endpoint_grpc ? &grpc : &proto) != NGX_OK)
		return NGX_ERROR;
	if (mcf->headers.len &&
	    ngx_http_spanring_setenv(cycle, "OTEL_EXPORTER_OTLP_HEADERS",
				     &mcf->headers) != NGX_OK)
		return NGX_ERROR;
	if (mcf->trusted_certificate.len &&
	    ngx_http_spanring_setenv(cycle, "OTEL_EXPORTER_OTLP_CERTIFICATE",
				     &mcf->trusted_certificate) != NGX_OK)
		return NGX_ERROR;
	return NGX_OK;
}

/* OTEL_RESOURCE_ATTRIBUTES, then otel_resource_attr (later entries win). */
static const char *ngx_http_spanring_resource(ngx_cycle_t *cycle,
					      ngx_http_spanring_main_conf_t *mcf,
					      const char *from_env)
{
	size_t elen = from_env ? ngx_strlen(from_env) : 0;
	u_char *buf, *p;

	if (mcf->resource_attrs.len == 0)
		return from_env;
	if (elen == 0)
		return (const char *)mcf->resource_attrs.data;
	buf = ngx_pnalloc(cycle->pool, elen + 1 + mcf->resource_attrs.len + 1);
	if (buf == NULL)
		return from_env;
	p = ngx_cpymem(buf, from_env, elen);
	*p++ = ',';
	p = ngx_cpymem(p, mcf->resource_attrs.data, mcf->resource_attrs.len);
	*p = '\0';
	return (const char *)buf;
}

ngx_int_t ngx_http_spanring_init_process(ngx_cycle_t *cycle)
{
	ngx_http_spanring_main_conf_t *mcf;
	sr_config_t cfg;
	int rc;

	/* Cache manager and loader processes run init_process too, and
	 * serve no request. */
	if (ngx_process != NGX_PROCESS_WORKER && ngx_process != NGX_PROCESS_SINGLE)
		return NGX_OK;
	mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_spanring_module);
	if (mcf == NULL || !mcf->used)
		return NGX_OK;
	if (getrandom(&ngx_http_spanring_rng, sizeof(ngx_http_spanring_rng), 0) !=
	    (ssize_t)sizeof(ngx_http_spanring_rng))
		ngx_http_spanring_rng = (uint64_t)ngx_pid << 32 ^ (uint64_t)ngx_time();
	if (ngx_http_spanring_ctx_grow(cycle->log) != NGX_OK)
		return NGX_OK; /* requests get contexts later, or go untraced */
	if (mcf->exporter && ngx_http_spanring_exporter_env(cycle, mcf) != NGX_OK)
		return NGX_OK; /* logged; the worker serves untraced */

	sr_config_init(&cfg);
	/* One thread records, the event loop: two rings, not 64, and each
	 * four times the default, so that a drainer kept off the CPU for a
	 * few ms by a busy machine does not cost spans (1,000+ spans; 2 MiB
	 * of rings per worker). */
	cfg.max_threads = 2;
	cfg.ring_records = 4096;
	if (sr_config_from_env(&cfg) != 0)
		ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
			      "spanring: %s (that setting keeps its default)",
			      sr_last_error());
	/* nginx samples (otel_trace); see ngx_http_spanring_start. */
	cfg.sampler = SR_SAMPLER_PARENTBASED_ALWAYS_ON;
	if (mcf->service_name.len)
		cfg.service_name = (const char *)mcf->service_name.data;
	else if (cfg.service_name == NULL)
		cfg.service_name = "unknown_service:nginx";
	cfg.resource_attributes =
		ngx_http_spanring_resource(cycle, mcf, cfg.resource_attributes);
	if (mcf->exporters.len)
		cfg.exporters = (const char *)mcf->exporters.data;
	else if (mcf->exporter)
		cfg.exporters = "otlp";
	else if (getenv("OTEL_TRACES_EXPORTER") == NULL)
		cfg.exporters = "none";
	if (mcf->exporter) {
		cfg.schedule_delay_ms = (uint32_t)mcf->interval;
		cfg.max_export_batch_size = (uint32_t)mcf->batch_size;
		cfg.max_queue_size = (uint32_t)(mcf->batch_size * mcf->batch_count);
	}

	rc = sr_init(&cfg);
	if (!sr_is_running()) {
		ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
			      "spanring: pipeline not started (%s: %s): this "
			      "worker serves requests untraced",
			      sr_strerror(rc), sr_last_error());
		return NGX_OK;
	}
	if (rc != 0)
		ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
			      "spanring: started with an error (%s: %s)",
			      sr_strerror(rc), sr_last_error());
	if (cfg.exporters && ngx_strcmp(cfg.exporters, "none") == 0 &&
	    mcf->exporters.len == 0)
		ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
			      "spanring: no exporter configured (otel_exporter, "
			      "spanring_exporter or env OTEL_TRACES_EXPORTER): "
			      "spans are counted and discarded");
	/* The ring is allocated here, not at the first request. */
	rc = sr_thread_register();
	if (rc != 0)
		ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
			      "spanring: sr_thread_register: %s",
			      sr_strerror(rc));
	ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
		      "spanring %s: pipeline started, exporters \"%s\"",
		      sr_version(), cfg.exporters ? cfg.exporters : "(default)");
	return NGX_OK;
}

void ngx_http_spanring_exit_process(ngx_cycle_t *cycle)
{
	ngx_http_spanring_main_conf_t *mcf;
	uint64_t lost = 0;
	sr_stats_t st;
	char json[2048];
	ngx_uint_t level;
	int rc;

	if (!sr_is_running())
		return;
	mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_spanring_module);
	rc = sr_shutdown((uint32_t)(mcf ? mcf->shutdown_timeout : 5000), &lost);
	ngx_memzero(&st, sizeof(st));
	st.size = sizeof(st);
	if (sr_stats_get(&st) == 0)
		sr_stats_to_json(&st, json, sizeof(json));
	else
		ngx_cpystrn((u_char *)json, (u_char *)"{}", sizeof(json));
	level = (lost || rc) ? NGX_LOG_WARN : NGX_LOG_NOTICE;
	ngx_log_error(level, cycle->log, 0,
		      "spanring: worker exit: %s, %uL span(s) lost at the "
		      "deadline; stats %s",
		      rc ? sr_strerror(rc) : "flushed", (uint64_t)lost, json);
}
