/*
 * test_grpc_wire.c - the gRPC wire pieces of OTLP/gRPC, without a server:
 * message framing, status trailers (headers and trailers-only), the
 * RetryInfo inside grpc-status-details-bin, the OTLP retry policy for each
 * code, the grpc-timeout header, and which libcurl versions get a fresh
 * connection per request on h2c.  The calls against a real gRPC server are
 * in test_otlp_grpc.c.
 */
// SR_TEST_LABELS: otlp
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "grpc_int.h"
#include "testutil.h"

static void frame_and_unframe_round_trip(void **state)
{
	uint8_t buf[5 + 300];
	const void *msg;
	size_t n;
	bool z;

	sr__grpc_frame(buf, false, 300);
	assert_memory_equal(buf, "\x00\x00\x00\x01\x2c", 5);
	assert_int_equal(sr__grpc_unframe(buf, sizeof(buf), &msg, &n, &z), 0);
	assert_ptr_equal(msg, buf + 5);
	assert_int_equal(n, 300);
	assert_false(z);
	sr__grpc_frame(buf, true, 0x01020304u);
	assert_memory_equal(buf, "\x01\x01\x02\x03\x04", 5);

	/* empty body: no message; short or lying prefixes: malformed */
	assert_int_equal(sr__grpc_unframe(buf, 0, &msg, &n, &z), SR_ENOTFOUND);
	assert_int_equal(sr__grpc_unframe(buf, 4, &msg, &n, &z), SR_EINVAL);
	assert_int_equal(sr__grpc_unframe(buf, sizeof(buf), &msg, &n, &z), SR_EINVAL);
	buf[0] = 2;
	buf[1] = buf[2] = buf[3] = buf[4] = 0;
	assert_int_equal(sr__grpc_unframe(buf, 5, &msg, &n, &z), SR_EINVAL);
	buf[0] = 0;
	assert_int_equal(sr__grpc_unframe(buf, 5, &msg, &n, &z), 0);
	assert_int_equal(n, 0);
}

/* The OTLP specification's table, code by code. */
static void otlp_retry_policy_per_code(void **state)
{
	static const struct {
		int code;
		enum sr__http_fail plain, with_retry_info;
	} t[] = {
		{ SR__GRPC_OK, SR__HTTP_OK, SR__HTTP_OK },
		{ SR__GRPC_CANCELLED, SR__HTTP_FAIL_RETRYABLE, SR__HTTP_FAIL_RETRYABLE },
		{ SR__GRPC_UNKNOWN, SR__HTTP_FAIL_SERVER, SR__HTTP_FAIL_SERVER },
		{ SR__GRPC_INVALID_ARGUMENT, SR__HTTP_FAIL_CLIENT, SR__HTTP_FAIL_CLIENT },
		{ SR__GRPC_DEADLINE_EXCEEDED, SR__HTTP_FAIL_RETRYABLE, SR__HTTP_FAIL_RETRYABLE },
		{ SR__GRPC_NOT_FOUND, SR__HTTP_FAIL_CLIENT, SR__HTTP_FAIL_CLIENT },
		{ SR__GRPC_ALREADY_EXISTS, SR__HTTP_FAIL_CLIENT, SR__HTTP_FAIL_CLIENT },
		{ SR__GRPC_PERMISSION_DENIED, SR__HTTP_FAIL_CLIENT, SR__HTTP_FAIL_CLIENT },
		{ SR__GRPC_RESOURCE_EXHAUSTED, SR__HTTP_FAIL_CLIENT, SR__HTTP_FAIL_RETRYABLE },
		{ SR__GRPC_FAILED_PRECONDITION, SR__HTTP_FAIL_CLIENT, SR__HTTP_FAIL_CLIENT },
		{ SR__GRPC_ABORTED, SR__HTTP_FAIL_RETRYABLE, SR__HTTP_FAIL_RETRYABLE },
		{ SR__GRPC_OUT_OF_RANGE, SR__HTTP_FAIL_RETRYABLE, SR__HTTP_FAIL_RETRYABLE },
		{ SR__GRPC_UNIMPLEMENTED, SR__HTTP_FAIL_CLIENT, SR__HTTP_FAIL_CLIENT },
		{ SR__GRPC_INTERNAL, SR__HTTP_FAIL_SERVER, SR__HTTP_FAIL_SERVER },
		{ SR__GRPC_UNAVAILABLE, SR__HTTP_FAIL_RETRYABLE, SR__HTTP_FAIL_RETRYABLE },
		{ SR__GRPC_DATA_LOSS, SR__HTTP_FAIL_RETRYABLE, SR__HTTP_FAIL_RETRYABLE },
		{ SR__GRPC_UNAUTHENTICATED, SR__HTTP_FAIL_CLIENT, SR__HTTP_FAIL_CLIENT },
		{ 17, SR__HTTP_FAIL_SERVER, SR__HTTP_FAIL_SERVER },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (sr__grpc_fail_class(t[i].code, false) != t[i].plain ||
		    sr__grpc_fail_class(t[i].code, true) != t[i].with_retry_info)
			fail_msg("code %d (%s)", t[i].code, sr__grpc_code_name(t[i].code));
	}
	assert_string_equal(sr__grpc_code_name(14), "UNAVAILABLE");
	assert_string_equal(sr__grpc_code_name(99), "?");
	/* a proxy's HTTP answer, as gRPC maps it */
	assert_int_equal(sr__grpc_code_from_http(503), SR__GRPC_UNAVAILABLE);
	assert_int_equal(sr__grpc_code_from_http(429), SR__GRPC_UNAVAILABLE);
	assert_int_equal(sr__grpc_code_from_http(401), SR__GRPC_UNAUTHENTICATED);
	assert_int_equal(sr__grpc_code_from_http(404), SR__GRPC_UNIMPLEMENTED);
	assert_int_equal(sr__grpc_code_from_http(500), SR__GRPC_UNKNOWN);
}

/* google.rpc.Status{code: 8, message: "slow down",
 *   details: [Any{RetryInfo{retry_delay: 1.5 s}}]}, padded base64. */
static const char retry_1500ms[] =
	"CAgSCXNsb3cgZG93bho2Cih0eXBlLmdvb2dsZWFwaXMuY29tL2dvb2dsZS5ycGMuUmV0"
	"cnlJbmZvEgoKCAgBEIDKte4B";
/* Status{code: 8, details: [Any{DebugInfo}]} */
static const char debug_only[] =
	"CAgaLwoodHlwZS5nb29nbGVhcGlzLmNvbS9nb29nbGUucnBjLkRlYnVnSW5mbxIDEgF4";
/* Status{code: 8, details: [Any{DebugInfo}, Any{RetryInfo{2 s}}]} */
static const char debug_then_retry_2s[] =
	"CAgaLwoodHlwZS5nb29nbGVhcGlzLmNvbS9nb29nbGUucnBjLkRlYnVnSW5mbxIDEgF4"
	"GjAKKHR5cGUuZ29vZ2xlYXBpcy5jb20vZ29vZ2xlLnJwYy5SZXRyeUluZm8SBAoCCAI=";
/* Status{code: 8, details: [Any{RetryInfo{}}]}: no delay given */
static const char retry_no_delay[] =
	"CAgaKgoodHlwZS5nb29nbGVhcGlzLmNvbS9nb29nbGUucnBjLlJldHJ5SW5mbw==";
/* RetryInfo of 10^9 s: capped at one hour */
static const char retry_huge[] =
	"CAgaNAoodHlwZS5nb29nbGVhcGlzLmNvbS9nb29nbGUucnBjLlJldHJ5SW5mbxIICgYIgJTr3AM=";

static void retry_info_is_found_in_status_details(void **state)
{
	uint64_t ns = 77;

	assert_int_equal(sr__grpc_retry_info(retry_1500ms, strlen(retry_1500ms), &ns), 1);
	assert_int_equal(ns, 1500000000ull);
	assert_int_equal(sr__grpc_retry_info(debug_only, strlen(debug_only), &ns), 0);
	assert_int_equal(sr__grpc_retry_info(debug_then_retry_2s,
					     strlen(debug_then_retry_2s), &ns), 1);
	assert_int_equal(ns, 2000000000ull);
	/* unpadded base64 is accepted too (gRPC allows both) */
	assert_int_equal(sr__grpc_retry_info(debug_then_retry_2s,
					     strlen(debug_then_retry_2s) - 1, &ns), 1);
	assert_int_equal(sr__grpc_retry_info(retry_no_delay, strlen(retry_no_delay), &ns), 1);
	assert_int_equal(ns, 0);
	assert_int_equal(sr__grpc_retry_info(retry_huge, strlen(retry_huge), &ns), 1);
	assert_int_equal(ns, 3600ull * 1000000000ull);
	assert_int_equal(sr__grpc_retry_info("", 0, &ns), 0); /* empty Status */

	/* not base64, bad trailing bits, cut-short protobuf */
	assert_int_equal(sr__grpc_retry_info("CAg*", 4, &ns), SR_EINVAL);
	assert_int_equal(sr__grpc_retry_info("CAh", 3, &ns), SR_EINVAL);
	assert_int_equal(sr__grpc_retry_info("C", 1, &ns), SR_EINVAL);
	assert_int_equal(sr__grpc_retry_info(retry_1500ms, 40, &ns), SR_EINVAL);
	/* longer than SR__GRPC_DETAILS_MAX once decoded */
	static char big[SR__GRPC_DETAILS_MAX * 2];
	memset(big, 'A', sizeof(big));
	assert_int_equal(sr__grpc_retry_info(big, sizeof(big), &ns), SR_EINVAL);
}

static void feed(struct sr__grpc_call *c, const char *line)
{
	sr__grpc_call_header(c, line, strlen(line));
}

static void trailers_give_status_message_and_retry_info(void **state)
{
	struct sr__grpc_call c;
	char line[256];

	sr__grpc_call_reset(&c);
	feed(&c, "HTTP/2 200\r\n");
	feed(&c, "content-type: application/grpc\r\n");
	feed(&c, "\r\n");
	assert_int_equal(c.status, -1);
	feed(&c, "grpc-status: 8\r\n");
	feed(&c, "grpc-message: too%20many%20spans%0a%E2%9C%93\r\n");
	snprintf(line, sizeof(line), "grpc-status-details-bin: %s\r\n", retry_1500ms);
	feed(&c, line);
	assert_int_equal(c.status, 8);
	/* decoded; a newline and non-ASCII become dots (log-safe) */
	assert_string_equal(c.message, "too many spans....");
	assert_true(c.retry_info);
	assert_int_equal(c.retry_delay_ns, 1500000000ull);
	assert_false(c.bad_details);

	/* names are case-insensitive; a non-numeric status is UNKNOWN */
	sr__grpc_call_reset(&c);
	feed(&c, "Grpc-Status: 14\r\n");
	assert_int_equal(c.status, 14);
	feed(&c, "grpc-status: x1\r\n");
	assert_int_equal(c.status, SR__GRPC_UNKNOWN);
	feed(&c, "grpc-status:\r\n");
	assert_int_equal(c.status, SR__GRPC_UNKNOWN);
	/* similar names are not it */
	sr__grpc_call_reset(&c);
	feed(&c, "grpc-status-x: 3\r\n");
	feed(&c, "grpc-statusx: 3\r\n");
	assert_int_equal(c.status, -1);
	feed(&c, "grpc-status-details-bin: !!!\r\n");
	assert_true(c.bad_details);
	assert_false(c.retry_info);

	/* a long message is cut to the buffer, still terminated */
	memset(line, 'm', sizeof(line));
	memcpy(line, "grpc-message: ", 14);
	line[sizeof(line) - 1] = '\0';
	feed(&c, line);
	assert_int_equal(strlen(c.message), sizeof(c.message) - 1);
}

static void timeout_header_and_hooks(void **state)
{
	char line[64];

	sr__grpc_proto.timeout_header(250, line, sizeof(line));
	assert_string_equal(line, "grpc-timeout: 250m");
	sr__grpc_proto.timeout_header(100000000u, line, sizeof(line));
	assert_string_equal(line, "grpc-timeout: 100000S");
	assert_true(sr__grpc_proto.http2);
	assert_int_equal(sr__grpc_proto.prefix_len, 5);
	assert_string_equal(sr__grpc_proto.gzip_header, "grpc-encoding: gzip");
	assert_string_equal(sr__grpc_proto.headers[0], "te: trailers");

	/* classification: grpc-status wins; else the HTTP status; a 200
	 * without one is a stream cut before its trailers */
	struct sr__grpc_call c;
	uint64_t wait = 1;
	char detail[192];
	sr__grpc_call_reset(&c);
	assert_int_equal(sr__grpc_proto.classify(&c, 503, &wait, detail, sizeof(detail)),
			 SR__HTTP_FAIL_RETRYABLE);
	assert_non_null(strstr(detail, "UNAVAILABLE"));
	assert_int_equal(wait, 0);
	assert_int_equal(sr__grpc_proto.classify(&c, 200, &wait, detail, sizeof(detail)),
			 SR__HTTP_FAIL_SERVER);
	assert_non_null(strstr(detail, "INTERNAL"));
	feed(&c, "grpc-status: 0\r\n");
	assert_int_equal(sr__grpc_proto.classify(&c, 200, &wait, detail, sizeof(detail)),
			 SR__HTTP_OK);
	sr__grpc_call_reset(&c);
	feed(&c, "grpc-status: 8\r\n");
	feed(&c, "grpc-message: quota\r\n");
	assert_int_equal(sr__grpc_proto.classify(&c, 200, &wait, detail, sizeof(detail)),
			 SR__HTTP_FAIL_CLIENT);
	assert_non_null(strstr(detail, "gRPC 8 RESOURCE_EXHAUSTED (client_status)"));
	assert_non_null(strstr(detail, ": quota"));
	snprintf(detail, sizeof(detail), "grpc-status-details-bin: %s", retry_1500ms);
	feed(&c, detail);
	assert_int_equal(sr__grpc_proto.classify(&c, 200, &wait, detail, sizeof(detail)),
			 SR__HTTP_FAIL_RETRYABLE);
	assert_int_equal(wait, 1500000000ull);
}

/* curl issue #10634: reused h2c connections fail before 8.0.0. */
static void h2c_reuse_is_avoided_before_curl_8(void **state)
{
	assert_true(sr__http_h2c_reuse_broken(0x075801)); /* 7.88.1, Debian 12 */
	assert_true(sr__http_h2c_reuse_broken(0x07ffff));
	assert_false(sr__http_h2c_reuse_broken(0x080000));
	assert_false(sr__http_h2c_reuse_broken(0x080b00));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(frame_and_unframe_round_trip),
		cmocka_unit_test(otlp_retry_policy_per_code),
		cmocka_unit_test(retry_info_is_found_in_status_details),
		cmocka_unit_test(trailers_give_status_message_and_retry_info),
		cmocka_unit_test(timeout_header_and_hooks),
		cmocka_unit_test(h2c_reuse_is_avoided_before_curl_8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
