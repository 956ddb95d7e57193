/*
 * metrics_table_int.h - the seam between the core and the metrics layer
 * (metrics/): the core starts and stops the metrics exporter the
 * environment asks for (OTEL_METRICS_EXPORTER), which the metrics layer
 * defines; the metrics layer reads every metric of the running pipeline
 * through sr__metrics_collect, which the core defines.
 */
#ifndef SR_METRICS_TABLE_INT_H
#define SR_METRICS_TABLE_INT_H

#include <spanring/spanring.h>

struct sr__metrics_server;

/*
 * Start what OTEL_METRICS_EXPORTER names (metrics/metrics_env.c): *out
 * NULL and 0 for "none" or unset; else a running server in *out, or an
 * SR_E* code with the variable and value in err.  On the sr_init()
 * caller, after the drainer started.
 */
int sr__metrics_start(struct sr__metrics_server **out, char *err,
		      size_t err_len);
/* Stop and free it (NULL: nothing); sr_shutdown(), before the processors
 * shut down, so no metrics hook runs on a finished instance. */
void sr__metrics_stop(struct sr__metrics_server *s);

/* Every metric of the running pipeline (health, per exporter, per
 * processor, and what the processors keep), one name after another;
 * nothing when no pipeline runs.  Any thread. */
void sr__metrics_collect(sr_metric_emit_fn emit, void *ctx);

/* The running pipeline's resource attributes, given to fn (not called
 * when none runs); valid during the call. */
void sr__metrics_resource(void (*fn)(void *ctx, const sr_attr_view_t *a,
				     uint32_t n),
			  void *ctx);

#endif /* SR_METRICS_TABLE_INT_H */
