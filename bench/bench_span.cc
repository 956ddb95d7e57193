/*
 * bench_span.cc - what a span costs the thread that records it.
 *
 * Each benchmark is the calling thread's whole cost from start to end:
 * the span lives on the stack, attributes are written into it, and end
 * copies its record(s) into the thread's ring, with the pipeline running
 * (sr_init with the `none` exporter, every other setting at its default)
 * and its drainer consuming on the other core.
 *
 *   BM_span_bare          start + end, sampled, no attributes
 *   BM_span_2attrs        start + one int64 + one short copied string + end
 *   BM_span_8attrs_event  start + 8 attributes + 1 event + end
 *   BM_span_nested3       three nested spans, each made current (a scope)
 *                         and restored at block exit (SR_SPAN_AUTO)
 *   BM_span_unsampled     the 2attrs body under the always_off sampler
 *   BM_span_uninit        the 2attrs body before sr_init()
 * (BM_span_compiled_out, the same body built with SR_COMPILED_OUT, is in
 * bench_compiled_out.cc.)
 *
 * What this leaves out: exporter cost (the `none` exporter discards
 * batches; BM_pipeline_* and the server runs cover the rest of the path).
 */
#include "harness.h"

namespace {

const sr_tracer_t *tracer()
{
	return srb::g_tracer;
}

void not_running()
{
	srb::lookup_tracer();
	if (sr_is_running())
		srb::pipeline_stop();
}

inline __attribute__((always_inline)) void span_2attrs()
{
	sr_span_t s;

	sr_span_start(&s, tracer(), "GET /users", SR_KIND_SERVER);
	sr_span_set_int(&s, "http.response.status_code", 200);
	sr_span_set_str(&s, "http.request.method", "GET");
	sr_span_end(&s);
}

} // namespace

SRB_HOT(BM_span_bare, srb::sampled_on, srb::pipeline_stop)
{
	sr_span_t s;

	sr_span_start(&s, tracer(), "bare", SR_KIND_INTERNAL);
	sr_span_end(&s);
}

SRB_HOT(BM_span_2attrs, srb::sampled_on, srb::pipeline_stop)
{
	span_2attrs();
}

SRB_HOT(BM_span_8attrs_event, srb::sampled_on, srb::pipeline_stop)
{
	sr_span_t s;

	sr_span_start(&s, tracer(), "SELECT users", SR_KIND_CLIENT);
	sr_span_set_str(&s, "db.system", "pgsql");
	sr_span_set_str(&s, "db.name", "main");
	sr_span_set_str(&s, "db.operation", "SELECT");
	sr_span_set_int(&s, "db.rows", 42);
	sr_span_set_int(&s, "net.peer.port", 5432);
	sr_span_set_int(&s, "thread.id", 7);
	sr_span_set_bool(&s, "db.cached", false);
	sr_span_set_double(&s, "db.cost", 1.5);
	sr_span_add_event(&s, "cache.miss", 0, nullptr, 0);
	sr_span_end(&s);
}

SRB_HOT_X(BM_span_nested3, srb::sampled_on, srb::pipeline_stop, 3, srb::runnable)
{
	SR_SPAN_AUTO(outer, tracer(), "handle", SR_KIND_SERVER);
	{
		SR_SPAN_AUTO(middle, tracer(), "query", SR_KIND_INTERNAL);
		{
			SR_SPAN_AUTO(inner, tracer(), "decode", SR_KIND_INTERNAL);
		}
	}
}

SRB_HOT(BM_span_unsampled, srb::sampled_off, srb::pipeline_stop)
{
	span_2attrs();
}

SRB_HOT(BM_span_uninit, not_running, srb::nothing)
{
	span_2attrs();
}
