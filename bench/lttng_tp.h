/*
 * lttng_tp.h - the LTTng-UST tracepoint BM_lttng_2fields compares with:
 * provider spanring_bench, event span_2fields, carrying the payload of
 * BM_span_2attrs (an int64 and a short string, copied into the trace).
 *
 * The usual LTTng-UST provider header: read twice by
 * <lttng/tracepoint-event.h> when lttng_tp.c creates the probes.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER spanring_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./lttng_tp.h"

#if !defined(SR_BENCH_LTTNG_TP_H) || \
	defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define SR_BENCH_LTTNG_TP_H

#include <stdint.h>

#include <lttng/tracepoint.h>

LTTNG_UST_TRACEPOINT_EVENT(
	spanring_bench, span_2fields,
	LTTNG_UST_TP_ARGS(int64_t, status_code, const char *, method),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(int64_t, http_response_status_code,
					status_code)
		lttng_ust_field_string(http_request_method, method)))

#endif /* SR_BENCH_LTTNG_TP_H */

#include <lttng/tracepoint-event.h>
