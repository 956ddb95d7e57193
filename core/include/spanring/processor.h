/*
 * processor.h - the processor interface: acting on finished spans on the
 * library's own thread, before any exporter sees them.
 *
 * Included by <spanring/spanring.h>; do not include it alone.
 *
 * A processor is a table of callbacks (sr_processor_ops_t) plus a name,
 * like an exporter (<spanring/exporter.h>).  The running processors form
 * one ordered chain (sr_config_t.processors, SPANRING_PROCESSORS), which
 * the drainer thread runs on each batch before it hands the batch to the
 * exporters: every exporter sees the chain's result, and no callback ever
 * runs on an application thread.  A processor sees whole decoded spans
 * and may drop a span, or replace its attributes, events, links, name or
 * status (remove, change or add items).  Its memory is fixed at init: the
 * edits of one batch live in that batch's scratch (SPANRING_PROCESSOR_
 * SCRATCH_BYTES), and a processor keeps what it needs beyond a batch in
 * memory it allocated in init.
 *
 * Callbacks:
 *   mandatory: init (on the sr_init() caller), process (drainer thread),
 *              shutdown (on the sr_shutdown() caller, after the drainer
 *              stopped)
 *   optional (may be NULL): flush (drainer thread, on sr_flush())
 * process and flush of one instance never run concurrently: no locking is
 * needed inside a processor.  They must not block: the drainer empties
 * the rings between batches.
 *
 * Accounting: a dropped span is counted against the processor and the
 * rule it names, so that sr_stats_t keeps
 *   sampled == exported + dropped_* + dropped_processor.
 */
#ifndef SPANRING_PROCESSOR_H
#define SPANRING_PROCESSOR_H

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when sr_processor_ops_t or the sr_proc_* calls change
 * incompatibly; sr_processor_register() and the plugin loader refuse any
 * other value. */
#define SR_PROCESSOR_ABI_VERSION 1

/* The batch a processor works on (valid during process() only). */
typedef struct sr_proc_batch sr_proc_batch_t;

/* Spans in the batch, dropped ones included until process() returns
 * (indices stay stable during one call). */
SR_API size_t sr_proc_count(const sr_proc_batch_t *pb);

/*
 * Span `i` as the exporters would see it now: decoded, with the edits of
 * the processors before this one.  Set out->size = sizeof(*out) first
 * (docs/abi.md).  The arrays (attrs, events, links) are valid until the
 * next sr_proc_span() call; strings until the batch is exported.
 * SR_EINVAL out of range, SR_ENOTFOUND if the span was dropped.
 */
SR_API int sr_proc_span(sr_proc_batch_t *pb, size_t i, sr_span_data_t *out);

/*
 * Span `i` as sr_proc_span() gives it but without its attributes, events
 * and links (their counts 0, unless a processor before this one edited
 * the span: then its whole view): ids, name, kind, status, times and
 * scope for a fraction of the decoding.  Same rules and return codes.
 */
SR_API int sr_proc_span_head(sr_proc_batch_t *pb, size_t i,
			     sr_span_data_t *out);

/*
 * Replace span `i` by `span` (usually the view sr_proc_span() gave, with
 * some fields or arrays changed).  The library copies the span and its
 * arrays (attrs, events, links and their attribute arrays) into the
 * batch's scratch; strings are kept by pointer, so each must be one
 * sr_proc_span() returned, static, or from sr_proc_alloc().
 * SR_ELIMIT when the batch's scratch is full: the span is unchanged (a
 * processor that must not let it through unchanged drops it).
 */
SR_API int sr_proc_span_set(sr_proc_batch_t *pb, size_t i,
			    const sr_span_data_t *span);

/* `n` bytes (8-aligned) in the batch's scratch, valid until the batch is
 * exported; NULL when the scratch is full. */
SR_API void *sr_proc_alloc(sr_proc_batch_t *pb, size_t n);

/*
 * Drop span `i`: no exporter will see it.  Counted against this
 * processor under `rule`, naming why ("not_sampled", "scratch_full"; the
 * first 31 bytes are kept).  SR_EINVAL out of range or rule NULL, SR_ENOTFOUND if
 * already dropped.
 */
SR_API int sr_proc_drop(sr_proc_batch_t *pb, size_t i, const char *rule);

/* Count `n` actions of this processor under `rule` (as for a drop):
 * redactions, spans kept by a rule.  Shown in sr_stats_processor(). */
SR_API void sr_proc_note(sr_proc_batch_t *pb, const char *rule, uint64_t n);

/* Resource attributes (service.name, ...), static until shutdown. */
SR_API const sr_attr_view_t *sr_proc_resource(const sr_proc_batch_t *pb,
					       uint32_t *count);

/* ---- holding spans back (tail sampling) ---------------------------- */

/*
 * A processor may take a span out of the batch and hold it past this
 * batch, then put it into a later one (sr_proc_emit) or drop it
 * (sr_proc_drop_held).  Until then the span is counted held by this
 * processor (sr_processor_stats_t.spans_held): the accounting identity
 * holds once every held span is emitted or dropped, which sr_flush() and
 * sr_shutdown() ask for by calling `flush`.  A processor that holds spans
 * gives a `due` callback, so that it runs again when no spans arrive.
 */

/* Bytes sr_proc_hold() needs for span `i` (0 out of range or dropped). */
SR_API size_t sr_proc_hold_size(sr_proc_batch_t *pb, size_t i);

/*
 * Take span `i` out of the batch: no exporter sees it in this batch.  Its
 * copy, opaque and self-contained (with this processor's and earlier ones'
 * edits), goes to `dst` (`cap` bytes, 8-byte aligned) and must stay where
 * it was written until sr_proc_emit() or sr_proc_drop_held().  Returns the
 * bytes written, 0 (span unchanged) if `cap` is short or `i` invalid.
 */
SR_API size_t sr_proc_hold(sr_proc_batch_t *pb, size_t i, void *dst,
			   size_t cap);

/*
 * Append a held span (what sr_proc_hold() wrote) to this batch: the
 * processors after this one and the exporters see it.  SR_ELIMIT when
 * the batch has no room for it (spans, records or scratch): the span
 * stays held; emit it in a later call.  SR_EINVAL if `held` is no copy.
 */
SR_API int sr_proc_emit(sr_proc_batch_t *pb, const void *held);

/* `n` held spans will never be emitted: counted dropped by this processor
 * under `rule`, as sr_proc_drop() counts. */
SR_API void sr_proc_drop_held(sr_proc_batch_t *pb, const char *rule,
			      uint64_t n);

/* When this run of the chain started, CLOCK_MONOTONIC nanoseconds. */
SR_API uint64_t sr_proc_now(const sr_proc_batch_t *pb);

/* ---- metrics a processor offers (spanmetrics) ---------------------- */

enum sr_metric_kind {
	SR_METRIC_COUNTER = 0,   /* monotonic sum, cumulative          */
	SR_METRIC_GAUGE = 1,
	SR_METRIC_HISTOGRAM = 2, /* explicit buckets, cumulative       */
};

/* One data point.  Points of one metric name come one after another. */
typedef struct sr_metric_point {
	const char *name;        /* OpenTelemetry name: "traces.span.metrics.calls" */
	const char *unit;        /* UCUM: "1", "ms", "s", "By"                 */
	const char *help;
	enum sr_metric_kind kind;
	const sr_attr_view_t *attrs;   /* string, int or bool values           */
	uint32_t nattrs;
	uint64_t value;          /* COUNTER, GAUGE                              */
	const double *bounds;    /* HISTOGRAM: nbounds upper bounds, ascending  */
	const uint64_t *buckets; /* nbounds + 1 counts (not cumulative)         */
	uint32_t nbounds;
	double sum;
	uint64_t count;
} sr_metric_point_t;

typedef void (*sr_metric_emit_fn)(void *ctx, const sr_metric_point_t *pt);

typedef struct sr_processor_ops {
	size_t size;            /* sizeof(sr_processor_ops_t)             */
	uint32_t abi_version;   /* SR_PROCESSOR_ABI_VERSION               */
	const char *name;       /* selection name, static                 */

	/* Create an instance; allocate everything it will need here.
	 * `ud` as given to sr_processor_register(); `cfg` the pipeline
	 * configuration (borrowed).  0, or an SR_E* code with a message
	 * in `err` (err_len bytes): then sr_init() fails. */
	int (*init)(void *ud, const sr_config_t *cfg, void **state,
		    char *err, size_t err_len);

	/* Act on one batch (drainer thread). */
	void (*process)(void *state, sr_proc_batch_t *batch);

	/* Optional: sr_flush() was called; let go of anything held. */
	void (*flush)(void *state);

	/* Release the instance; nothing else is called after it. */
	void (*shutdown)(void *state);

	/* Optional (appended; give `size` accordingly): emit the metrics the
	 * instance keeps, through emit(ctx, point).  Called on the metrics
	 * thread (OTEL_METRICS_EXPORTER) concurrently with process(): read
	 * what process() writes with atomic loads. */
	void (*metrics)(void *state, sr_metric_emit_fn emit, void *ctx);

	/* Optional (appended): for a processor that holds spans, the
	 * CLOCK_MONOTONIC time (ns) by which process() must run again even
	 * if no span arrives (its next decision; now while it has spans to
	 * emit), 0 for none.  Asked on the drainer after each process() and
	 * flush(); once due, the drainer hands over the open batch, or an
	 * empty one, and the chain runs on it. */
	uint64_t (*due)(void *state);
} sr_processor_ops_t;

/*
 * Make a processor selectable by ops->name (copied table; `ud` kept).
 * Call before sr_init().  SR_EVERSION on ABI mismatch, SR_EINVAL on a
 * missing mandatory callback, SR_ELIMIT past 32 registrations, SR_ESTATE
 * if the name is taken.
 */
SR_API int sr_processor_register(const sr_processor_ops_t *ops, void *ud);

/* Rules counted per processor; further rule names count under "other". */
#define SR_PROCESSOR_MAX_RULES 16

/* Per-processor view (versioned: set size = sizeof first). */
typedef struct sr_processor_stats {
	size_t size;
	const char *name;            /* valid until sr_shutdown(), then in
	                                the final stats until sr_init()       */
	uint64_t batches;            /* batches processed                   */
	uint64_t spans_in;           /* spans it was given                  */
	uint64_t spans_modified;     /* sr_proc_span_set() calls that took  */
	uint64_t spans_dropped;      /* sum of rules[].dropped              */
	uint64_t process_ns;         /* time in process() and flush()       */
	uint32_t nrules;
	struct {
		const char *name;    /* as `name`                           */
		uint64_t dropped;    /* spans dropped under this rule        */
		uint64_t noted;      /* sr_proc_note() counts                */
	} rules[SR_PROCESSOR_MAX_RULES];
	/* Appended (docs/abi.md). */
	uint64_t spans_held;         /* held now (sr_proc_hold)             */
	uint64_t spans_emitted;      /* held spans put back (sr_proc_emit)  */
} sr_processor_stats_t;

/* The running (or, after sr_shutdown(), the last) pipeline's processor
 * `index` in chain order.  SR_ENOTFOUND past the last one, SR_EINVAL if
 * `out` is NULL or its size too small. */
SR_API int sr_stats_processor(uint32_t index, sr_processor_stats_t *out);

#ifdef __cplusplus
}
#endif

#endif /* SPANRING_PROCESSOR_H */
