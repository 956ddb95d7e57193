/*
 * bench_compiled_out.cc - BM_span_compiled_out: the BM_span_2attrs body
 * written with the instrumentation macros and built with SR_COMPILED_OUT,
 * which turns them into nothing.  It should measure the empty loop; it is
 * here so that claim is checked on every run rather than assumed.
 */
#define SR_COMPILED_OUT 1
#include "harness.h"

SRB_HOT(BM_span_compiled_out, srb::nothing, srb::nothing)
{
	sr_span_t s __attribute__((unused));

	SR_SPAN_START(&s, nullptr, "GET /users", SR_KIND_SERVER);
	SR_SET_INT(&s, "http.response.status_code", 200);
	SR_SET_STR(&s, "http.request.method", "GET");
	SR_SPAN_END(&s);
}
