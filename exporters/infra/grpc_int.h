/*
 * grpc_int.h - unary gRPC calls over the HTTP transport (http_int.h), as
 * OTLP/gRPC makes them: the wire pieces (message framing, status trailers,
 * the google.rpc.Status details) and the retry policy for gRPC codes that
 * the OTLP specification gives.
 *
 * A gRPC unary call is one HTTP/2 POST to /<service>/<method> with
 * `content-type: application/grpc` and `te: trailers`; the body is one
 * length-prefixed message:
 *
 *   +--------+-------------------+-------------------+
 *   | flag 1 | length 4 (BE u32) | message (length)  |
 *   +--------+-------------------+-------------------+
 *     flag 1: the message is compressed with the `grpc-encoding`
 *
 * The answer is HTTP 200 with a length-prefixed message and the outcome
 * in trailers (`grpc-status`, `grpc-message` percent-encoded,
 * `grpc-status-details-bin` a base64 google.rpc.Status), or headers only
 * ("trailers-only") when the call failed at once.  libcurl hands trailers
 * to the header callback like headers, so one line parser serves both.
 *
 * The transport (http_transport.c) does the HTTP/2 POST, the retries and
 * the backoff; sr__grpc_proto plugs the gRPC parts in through its
 * struct sr__http_proto hooks.  Nothing here is a general gRPC client:
 * no streaming, no name resolution, no load balancing, no compressed
 * answers (we never send grpc-accept-encoding, so a server answers with
 * identity).
 */
#ifndef SR_GRPC_INT_H
#define SR_GRPC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_int.h"

/* gRPC status codes (grpc/doc/statuscodes.md). */
enum sr__grpc_code {
	SR__GRPC_OK = 0,
	SR__GRPC_CANCELLED = 1,
	SR__GRPC_UNKNOWN = 2,
	SR__GRPC_INVALID_ARGUMENT = 3,
	SR__GRPC_DEADLINE_EXCEEDED = 4,
	SR__GRPC_NOT_FOUND = 5,
	SR__GRPC_ALREADY_EXISTS = 6,
	SR__GRPC_PERMISSION_DENIED = 7,
	SR__GRPC_RESOURCE_EXHAUSTED = 8,
	SR__GRPC_FAILED_PRECONDITION = 9,
	SR__GRPC_ABORTED = 10,
	SR__GRPC_OUT_OF_RANGE = 11,
	SR__GRPC_UNIMPLEMENTED = 12,
	SR__GRPC_INTERNAL = 13,
	SR__GRPC_UNAVAILABLE = 14,
	SR__GRPC_DATA_LOSS = 15,
	SR__GRPC_UNAUTHENTICATED = 16,
	SR__GRPC_CODE_COUNT
};

#define SR__GRPC_PREFIX_LEN 5u

/* Write the 5-byte prefix of a message of `len` bytes. */
void sr__grpc_frame(uint8_t prefix[SR__GRPC_PREFIX_LEN], bool compressed,
		    uint32_t len);

/* The first message of a response body: 0 with *msg, *msg_len and
 * *compressed set; SR_ENOTFOUND for an empty body (no message);
 * SR_EINVAL when the body is cut short or has a bad flag. */
int sr__grpc_unframe(const void *body, size_t len, const void **msg,
		     size_t *msg_len, bool *compressed);

/* "UNAVAILABLE", ...; "?" outside the known codes. */
const char *sr__grpc_code_name(int code);

/* The gRPC code a non-200 HTTP answer without grpc-status stands for
 * (grpc/doc/http-grpc-status-mapping.md). */
int sr__grpc_code_from_http(long status);

/*
 * The OTLP/gRPC retry policy (OTLP specification, "Failures"):
 * CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE and
 * DATA_LOSS are retryable; RESOURCE_EXHAUSTED only when the server sent a
 * RetryInfo (it says recovery is possible); every other code is final.
 * Final codes the request is at fault for (INVALID_ARGUMENT,
 * UNAUTHENTICATED, UNIMPLEMENTED, ...) are "client_status"; UNKNOWN and
 * INTERNAL are "server_status".
 */
enum sr__http_fail sr__grpc_fail_class(int code, bool retry_info);

/*
 * Look for a google.rpc.RetryInfo in a `grpc-status-details-bin` value
 * (base64, padded or not, of a google.rpc.Status).  1 with *delay_ns (its
 * retry_delay, 0 if absent, capped at one hour) when found; 0 when the
 * Status has no RetryInfo; SR_EINVAL when the value is not base64 of a
 * well-formed Status or longer than SR__GRPC_DETAILS_MAX once decoded.
 */
#define SR__GRPC_DETAILS_MAX 4096u
int sr__grpc_retry_info(const char *b64, size_t len, uint64_t *delay_ns);

/* Outcome of one call, filled from its header and trailer lines. */
struct sr__grpc_call {
	int status;                /* grpc-status; -1 until one is seen      */
	bool retry_info;           /* a RetryInfo was in the details         */
	bool bad_details;          /* details present but unreadable         */
	uint64_t retry_delay_ns;   /* its retry_delay                        */
	char message[128];         /* grpc-message, decoded, printable ASCII */
};

void sr__grpc_call_reset(struct sr__grpc_call *c);

/* Feed one header or trailer line as libcurl gives it ("name: value\r\n",
 * the status line and the blank line included; they are ignored). */
void sr__grpc_call_header(struct sr__grpc_call *c, const char *line,
			  size_t len);

/* Hooks for sr__http_create(): HTTP/2, the gRPC headers, framing and the
 * classification above; proto_state must point to a struct sr__grpc_call
 * that outlives the transport. */
extern const struct sr__http_proto sr__grpc_proto;

#endif /* SR_GRPC_INT_H */
