/*
 * prom_text_int.h - metric points as Prometheus text exposition format
 * 0.0.4 (prom_text.c), what GET /metrics answers (prometheus.c).
 */
#ifndef SR_PROM_TEXT_INT_H
#define SR_PROM_TEXT_INT_H

#include <spanring/spanring.h>

#include "buf_int.h"

struct sr__prom_text {
	struct sr__buf out;
	char family[160];        /* the metric family written last          */
	bool oom;                /* the buffer could not grow: answer 500   */
};

/* sr_metric_emit_fn: append one point (ctx: struct sr__prom_text). */
void sr__prom_point(void *ctx, const sr_metric_point_t *pt);

/* The Prometheus name of an OpenTelemetry metric (dots to '_', the
 * unit's suffix, "_total" for counters), as the Collector's Prometheus
 * exporter writes it: traces.span.metrics.duration (ms) is
 * traces_span_metrics_duration_milliseconds.  Returns its length. */
size_t sr__prom_name(char *dst, size_t cap, const sr_metric_point_t *pt);

#endif /* SR_PROM_TEXT_INT_H */
