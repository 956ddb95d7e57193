/*
 * metrics_int.h - the metrics exporters of the metrics layer: the
 * Prometheus endpoint (prometheus.c); metrics_env.c picks them from
 * OTEL_METRICS_EXPORTER.
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

/* The running Prometheus server's port, for tests (0: none). */
uint16_t sr__metrics_prom_port(void);

#endif /* SR_METRICS_INT_H */
