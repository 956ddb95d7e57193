/*
 * grpc_transport.c - the gRPC hooks of the HTTP transport (sr__grpc_proto,
 * declared in grpc_int.h): a unary call is an HTTP/2 POST with the gRPC
 * headers, a length-prefixed body, a `grpc-timeout` per attempt, and an
 * outcome read from `grpc-status` (trailers, or headers of a trailers-only
 * answer) rather than from the HTTP status.
 *
 * Reading the outcome, in order: a grpc-status wins; without one, a
 * non-200 HTTP status is mapped the way gRPC maps it (a proxy's 503 is
 * UNAVAILABLE); a 200 without grpc-status is a stream that ended before
 * the trailers, which gRPC reports as INTERNAL.  RESOURCE_EXHAUSTED is
 * retried only with a RetryInfo, whose delay then replaces the backoff.
 */
#include "grpc_int.h"

#include <stdio.h>

static const char *const grpc_headers[] = {
	"te: trailers",
	/* What we accept back: identity only, so answers are never
	 * compressed (we would have nothing to gain from reading them). */
	"grpc-accept-encoding: identity",
	NULL
};

static void grpc_frame(uint8_t *prefix, size_t body_len, bool compressed)
{
	sr__grpc_frame(prefix, compressed, (uint32_t)body_len);
}

/* "grpc-timeout: <at most 8 digits><unit>"; milliseconds fit up to ~27 h,
 * and longer limits are sent in seconds. */
static void grpc_timeout_header(uint32_t ms, char *line, size_t cap)
{
	if (ms <= 99999999u)
		snprintf(line, cap, "grpc-timeout: %um", ms);
	else
		snprintf(line, cap, "grpc-timeout: %uS", (ms + 999u) / 1000u);
}

static void grpc_begin(void *state)
{
	sr__grpc_call_reset(state);
}

static void grpc_header(void *state, const char *line, size_t len)
{
	sr__grpc_call_header(state, line, len);
}

static enum sr__http_fail grpc_classify(void *state, long http_status,
					uint64_t *wait_ns, char *detail,
					size_t cap)
{
	struct sr__grpc_call *c = state;
	int code = c->status;
	const char *why = "";
	enum sr__http_fail f;

	if (code < 0 && http_status != 200) {
		code = sr__grpc_code_from_http(http_status);
		why = " (from the HTTP status, no grpc-status)";
	} else if (code < 0) {
		code = SR__GRPC_INTERNAL;
		why = " (no grpc-status: the stream ended early)";
	}
	f = sr__grpc_fail_class(code, c->retry_info);
	*wait_ns = f == SR__HTTP_FAIL_RETRYABLE && c->retry_info ? c->retry_delay_ns : 0;
	if (f != SR__HTTP_OK)
		snprintf(detail, cap, "gRPC %d %s (%s), HTTP %ld%s%s%s%s", code,
			 sr__grpc_code_name(code), sr__http_fail_name(f),
			 http_status, why, c->message[0] ? ": " : "", c->message,
			 c->bad_details ? " [unreadable grpc-status-details-bin]" : "");
	return f;
}

const struct sr__http_proto sr__grpc_proto = {
	.http2 = true,
	.headers = grpc_headers,
	.gzip_header = "grpc-encoding: gzip",
	.prefix_len = SR__GRPC_PREFIX_LEN,
	.frame = grpc_frame,
	.timeout_header = grpc_timeout_header,
	.begin = grpc_begin,
	.header = grpc_header,
	.classify = grpc_classify,
};
