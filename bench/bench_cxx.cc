/*
 * bench_cxx.cc - the C++ API (<spanring/spanring.hpp>) beside the C calls
 * it wraps: the same span as BM_span_2attrs (bench_span.cc) written with
 * spanring::Span.  The wrapper costs nothing; what a recording span
 * pays over BM_span_2attrs (callgrind: 160 against 149 instructions) is
 * the check that records an exception unwinding through it, which
 * -fno-exceptions removes (docs/cxx.md, "Cost").  Unsampled, the two
 * are equal.
 *
 *   BM_cxx_span_2attrs     Span + set(int) + set(literal) + end at scope exit
 *   BM_cxx_span_unsampled  the same body under the always_off sampler
 */
#include <spanring/spanring.hpp>

#include "harness.h"

namespace {

inline __attribute__((always_inline)) void cxx_span_2attrs()
{
	spanring::Span span(srb::g_tracer, "GET /users", SR_KIND_SERVER);

	span.set("http.response.status_code", 200);
	span.set("http.request.method", "GET");
}

} // namespace

SRB_HOT(BM_cxx_span_2attrs, srb::sampled_on, srb::pipeline_stop)
{
	cxx_span_2attrs();
}

SRB_HOT(BM_cxx_span_unsampled, srb::sampled_off, srb::pipeline_stop)
{
	cxx_span_2attrs();
}
