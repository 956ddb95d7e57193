/*
 * metrics_env.c - OTEL_METRICS_EXPORTER: which metrics exporter the
 * pipeline starts (the core calls sr__metrics_start at sr_init).
 *
 *   unset, "none"  no metrics thread
 *   "prometheus"   GET /metrics on OTEL_EXPORTER_PROMETHEUS_HOST (default
 *                  localhost) : OTEL_EXPORTER_PROMETHEUS_PORT (9464)
 *   "otlp"         OTLP/HTTP protobuf to {endpoint}/v1/metrics every
 *                  OTEL_METRIC_EXPORT_INTERVAL ms (otlp_metrics.c)
 *
 * Both may be given ("prometheus,otlp").  "console" is an OpenTelemetry
 * value this build does not offer: reported, like an unknown value,
 * naming the variable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env_int.h"
#include "metrics_int.h"
#include "metrics_table_int.h"

struct sr__metrics_server {
	struct sr__prom_server *prom;
	struct sr__otlp_metrics *otlp;
};

static uint16_t running_port; /* relaxed atomic: start, stop, tests */

uint16_t sr__metrics_prom_port(void)
{
	return __atomic_load_n(&running_port, __ATOMIC_RELAXED);
}

int sr__metrics_start(struct sr__metrics_server **out, char *err,
		      size_t err_len)
{
	const char *s = getenv("OTEL_METRICS_EXPORTER"), *item, *host;
	struct sr__metrics_server *m;
	uint32_t port = 9464;
	size_t len;
	int rc;

	*out = NULL;
	if (!s || !sr__env_get("OTEL_METRICS_EXPORTER", NULL))
		return 0;
	if (!(m = calloc(1, sizeof(*m))))
		return SR_ENOMEM;
	while (sr__env_list_next(&s, &item, &len)) {
		if (!len || (len == 4 && !strncasecmp(item, "none", 4)))
			continue;
		if (len == 4 && !strncasecmp(item, "otlp", 4) && !m->otlp) {
			rc = sr__otlp_metrics_start(&m->otlp, err, err_len);
			if (rc) {
				sr__metrics_stop(m);
				return rc;
			}
			continue;
		}
		if (len != 10 || strncasecmp(item, "prometheus", 10) || m->prom) {
			bool twice = (len == 10 && m->prom) || (len == 4 && m->otlp);

			snprintf(err, err_len, "OTEL_METRICS_EXPORTER='%.*s': %s",
				 (int)len, item,
				 twice ? "given twice"
				       : "not a metrics exporter of this build "
					 "(prometheus, otlp, none)");
			sr__metrics_stop(m);
			return SR_ENOTFOUND;
		}
		if (sr__env_u32("OTEL_EXPORTER_PROMETHEUS_PORT", 0, 65535, &port) ==
		    SR_EINVAL) {
			snprintf(err, err_len, "%s", sr_last_error());
			sr__metrics_stop(m);
			return SR_EINVAL;
		}
		host = sr__env_get("OTEL_EXPORTER_PROMETHEUS_HOST", NULL)
			       ? getenv("OTEL_EXPORTER_PROMETHEUS_HOST")
			       : "localhost";
		rc = sr__prom_start(&m->prom, host, (uint16_t)port, err, err_len);
		if (rc) {
			sr__metrics_stop(m);
			return rc;
		}
		__atomic_store_n(&running_port, sr__prom_port(m->prom),
				 __ATOMIC_RELAXED);
	}
	if (!m->prom && !m->otlp) {
		free(m);
		return 0;
	}
	*out = m;
	return 0;
}

void sr__metrics_stop(struct sr__metrics_server *m)
{
	if (!m)
		return;
	if (m->prom)
		__atomic_store_n(&running_port, 0, __ATOMIC_RELAXED);
	sr__prom_stop(m->prom);
	sr__otlp_metrics_stop(m->otlp);
	free(m);
}
