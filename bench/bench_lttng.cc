/*
 * bench_lttng.cc - BM_lttng_2fields: the peer a latency-sensitive C
 * server would otherwise use.  One LTTng-UST tracepoint with the payload
 * of BM_span_2attrs (int64 + short string), recorded by an active
 * session: bench/run.sh starts lttng-sessiond and a snapshot-mode session
 * (per-CPU buffers in overwrite mode, so the consumer daemon does no
 * work and nothing is discarded) with spanring_bench:* enabled.
 *
 * Where no session enabled the tracepoint (no lttng-sessiond, or the
 * bench run outside run.sh) the benchmark is skipped with that reason:
 * timing a disabled tracepoint would compare a branch with a span.
 */
#include "harness.h"

#include "lttng_tp.h"

namespace {

const char *lttng_check()
{
	if (!lttng_ust_tracepoint_enabled(spanring_bench, span_2fields))
		return "LTTng-UST tracepoint spanring_bench:span_2fields not "
		       "enabled (no lttng-sessiond or no active session; "
		       "bench/run.sh sets one up)";
	return nullptr;
}

} // namespace

SRB_HOT_X(BM_lttng_2fields, srb::nothing, srb::nothing, 1, lttng_check)
{
	lttng_ust_tracepoint(spanring_bench, span_2fields, (int64_t)200, "GET");
}
