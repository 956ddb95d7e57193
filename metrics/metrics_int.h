/*
 * metrics_int.h - the metrics exporters of the metrics layer: the
 * Prometheus endpoint (prometheus.c) and OTLP/HTTP (otlp_metrics.c);
 * metrics_env.c picks them from OTEL_METRICS_EXPORTER.
 */
#ifndef SR_METRICS_INT_H
#define SR_METRICS_INT_H

#include <stddef.h>
#include <stdint.h>

struct sr__prom_server;

/* Listen on host:port (port 0: any free one) and serve GET /metrics on a
 * library thread.  0, or SR_EIO/SR_ENOMEM with the reason in err. */
int sr__prom_start(struct sr__prom_server **out, const char *host,
		   uint16_t port, char *err, size_t err_len);
void sr__prom_stop(struct sr__prom_server *s);
/* The port it listens on (the one chosen, for port 0). */
uint16_t sr__prom_port(const struct sr__prom_server *s);

struct sr__otlp_metrics;
struct sr__buf;

/* OTEL_METRICS_EXPORTER=otlp (otlp_metrics.c): read the OTLP settings and
 * start the exporting thread.  0, or an SR_E* code naming the variable
 * in err. */
int sr__otlp_metrics_start(struct sr__otlp_metrics **out, char *err,
			   size_t err_len);
/* Send the final counts, stop, free (NULL: nothing). */
void sr__otlp_metrics_stop(struct sr__otlp_metrics *m);
/* The ExportMetricsServiceRequest of every current metric into b (reset
 * first); the data points it holds, or -1 out of memory. */
long sr__otlp_metrics_encode(struct sr__buf *b, uint64_t start_ns,
			     uint64_t now_ns);

/* The running Prometheus server's port, for tests (0: none). */
uint16_t sr__metrics_prom_port(void);

#endif /* SR_METRICS_INT_H */
