/*
 * metrics_collect.c - the pipeline's own health, and the processors'
 * metrics, as metric points for the metrics exporters (metrics/).
 *
 * Names are the OpenTelemetry SDK self-observability ones where they
 * exist (semantic conventions, otel.sdk.*), spanring.* where they do not:
 *
 *   otel.sdk.span.started              {otel.span.sampling_result}
 *   otel.sdk.processor.span.processed  {error.type: the drop reason; none: exported}
 *   otel.sdk.processor.span.queue.size / .queue.capacity  {otel.component.name: exporter}
 *   otel.sdk.exporter.span.exported    {otel.component.name, error.type}
 *   spanring.ring.high_water, spanring.ring.capacity, spanring.pipeline.memory
 *   spanring.processor.span.dropped    {otel.component.name, spanring.rule}
 *   spanring.processor.rule.applied    {otel.component.name, spanring.rule}
 *   spanring.processor.span.held       {otel.component.name}
 *
 * then whatever each processor's metrics hook emits (spanmetrics).  Runs
 * on the metrics thread inside an RCU read-side section, so the pipeline
 * it reads stays; sr_shutdown() stops that thread before the processors.
 */
#include <string.h>

#include "metrics_table_int.h"
#include "pipeline_int.h"

struct emitter {
	sr_metric_emit_fn emit;
	void *ctx;
	sr_attr_view_t a[2];
};

static sr_str_t str(const char *s)
{
	return (sr_str_t){ s, (uint32_t)strlen(s) };
}

static void point(struct emitter *e, const char *name, const char *unit,
		  const char *help, enum sr_metric_kind kind, uint64_t v,
		  const char *k0, const char *v0, const char *k1, const char *v1)
{
	sr_metric_point_t pt = { .name = name, .unit = unit, .help = help,
				 .kind = kind, .value = v, .attrs = e->a };

	if (k0) {
		e->a[0] = (sr_attr_view_t){ .key = str(k0), .type = SR_ATTR_STRING,
					    .v.s = str(v0) };
		pt.nattrs = 1;
	}
	if (k1) {
		e->a[1] = (sr_attr_view_t){ .key = str(k1), .type = SR_ATTR_STRING,
					    .v.s = str(v1) };
		pt.nattrs = 2;
	}
	e->emit(e->ctx, &pt);
}

static uint64_t queued_spans(struct sr__exporter *x)
{
	uint64_t n = 0;

	pthread_mutex_lock(&x->lock);
	for (uint32_t i = 0; i < x->qcount; i++)
		n += x->queue[(x->qhead + i) % x->qcap]->nspans;
	pthread_mutex_unlock(&x->lock);
	return n;
}

static void health(struct sr__pipeline *p, struct emitter *e)
{
	sr_stats_t st;
	static const char *const started = "spans started, by head sampling result";
	static const char *const processed = "spans that left the pipeline: exported, or dropped by reason";
	static const char *const reason[8] = {
		NULL, "ring_full", "limits", "queue_full", "exporter",
		"shutdown", "processor", "reentrant",
	};
	uint64_t nums[8];

	sr__stats_collect(p, &st);
	point(e, "otel.sdk.span.started", "{span}", started, SR_METRIC_COUNTER,
	      st.sampled, "otel.span.sampling_result", "RECORD_AND_SAMPLE",
	      NULL, NULL);
	point(e, "otel.sdk.span.started", "{span}", started, SR_METRIC_COUNTER,
	      st.started - st.sampled, "otel.span.sampling_result", "DROP",
	      NULL, NULL);
	nums[0] = st.exported;
	nums[1] = st.dropped_ring_full;
	nums[2] = st.dropped_limits;
	nums[3] = st.dropped_queue_full;
	nums[4] = st.dropped_exporter;
	nums[5] = st.dropped_shutdown;
	nums[6] = st.dropped_processor;
	nums[7] = st.dropped_reentrant;
	for (int i = 0; i < 8; i++)
		point(e, "otel.sdk.processor.span.processed", "{span}", processed,
		      SR_METRIC_COUNTER, nums[i], "otel.component.type",
		      "spanring_pipeline", reason[i] ? "error.type" : NULL,
		      reason[i]);
	for (uint32_t i = 0; i < p->nexporters; i++)
		point(e, "otel.sdk.processor.span.queue.size", "{span}",
		      "spans queued for an exporter", SR_METRIC_GAUGE,
		      queued_spans(&p->exporters[i]), "otel.component.name",
		      p->exporters[i].name, NULL, NULL);
	for (uint32_t i = 0; i < p->nexporters; i++)
		point(e, "otel.sdk.processor.span.queue.capacity", "{span}",
		      "spans an exporter's queue holds", SR_METRIC_GAUGE,
		      p->cfg.max_queue_size, "otel.component.name",
		      p->exporters[i].name, NULL, NULL);
	for (uint32_t i = 0; i < p->nexporters; i++) {
		struct sr__exporter *x = &p->exporters[i];

		point(e, "otel.sdk.exporter.span.exported", "{span}",
		      "spans an exporter delivered, or failed by error.type",
		      SR_METRIC_COUNTER, ck_pr_load_64(&x->st_ok),
		      "otel.component.name", x->name, NULL, NULL);
		point(e, "otel.sdk.exporter.span.exported", "{span}",
		      "spans an exporter delivered, or failed by error.type",
		      SR_METRIC_COUNTER, ck_pr_load_64(&x->st_failed),
		      "otel.component.name", x->name, "error.type", "failed");
		point(e, "otel.sdk.exporter.span.exported", "{span}",
		      "spans an exporter delivered, or failed by error.type",
		      SR_METRIC_COUNTER, ck_pr_load_64(&x->st_queue_full),
		      "otel.component.name", x->name, "error.type", "queue_full");
	}
	point(e, "spanring.ring.high_water", "{record}",
	      "most records found waiting in one ring", SR_METRIC_GAUGE,
	      st.ring_high_water, NULL, NULL, NULL, NULL);
	point(e, "spanring.ring.capacity", "{record}", "records per thread ring",
	      SR_METRIC_GAUGE, st.ring_records, NULL, NULL, NULL, NULL);
	point(e, "spanring.pipeline.memory", "By",
	      "pipeline memory, fixed at init", SR_METRIC_GAUGE,
	      st.pipeline_bytes, NULL, NULL, NULL, NULL);
}

static void processors(struct sr__pipeline *p, struct emitter *e)
{
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t k = 0; k < p->stage.n; k++) {
			sr_processor_stats_t ps = { .size = sizeof(ps) };

			if (sr_stats_processor(k, &ps) != 0)
				continue;
			for (uint32_t r = 0; r < ps.nrules; r++)
				point(e, pass ? "spanring.processor.rule.applied"
					      : "spanring.processor.span.dropped",
				      "{span}",
				      pass ? "actions of a processor's rule"
					   : "spans a processor dropped, by rule",
				      SR_METRIC_COUNTER,
				      pass ? ps.rules[r].noted : ps.rules[r].dropped,
				      "otel.component.name", ps.name,
				      "spanring.rule", ps.rules[r].name);
		}
	for (uint32_t k = 0; k < p->stage.n; k++)
		point(e, "spanring.processor.span.held", "{span}",
		      "spans a processor holds back (tail sampling)",
		      SR_METRIC_GAUGE, ck_pr_load_64(&p->stage.procs[k].held),
		      "otel.component.name", p->stage.procs[k].name, NULL, NULL);
	for (uint32_t k = 0; k < p->stage.n; k++) {
		struct sr__processor *pr = &p->stage.procs[k];

		if (pr->ops->size >= offsetof(sr_processor_ops_t, metrics) +
					    sizeof(pr->ops->metrics) &&
		    pr->ops->metrics)
			pr->ops->metrics(pr->state, e->emit, e->ctx);
	}
}

void sr__metrics_collect(sr_metric_emit_fn emit, void *ctx)
{
	struct emitter e = { .emit = emit, .ctx = ctx };
	struct sr__pipeline *p;

	sr__rcu_read_lock();
	p = rcu_dereference(sr__g.pipe);
	if (p) {
		health(p, &e);
		processors(p, &e);
	}
	sr__rcu_read_unlock();
}

void sr__metrics_resource(void (*fn)(void *ctx, const sr_attr_view_t *a,
				     uint32_t n),
			  void *ctx)
{
	struct sr__pipeline *p;

	sr__rcu_read_lock();
	p = rcu_dereference(sr__g.pipe);
	if (p)
		fn(ctx, p->resource.attrs, p->resource.count);
	sr__rcu_read_unlock();
}
