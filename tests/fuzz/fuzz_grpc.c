/*
 * fuzz_grpc.c - libFuzzer target for what OTLP/gRPC reads from a server:
 * a grpc-status-details-bin value (base64 of a google.rpc.Status, walked
 * for a RetryInfo), header and trailer lines (grpc-status, percent-encoded
 * grpc-message), and the length-prefixed response message.
 *
 * Besides crashes (ASan), it aborts when a documented invariant breaks:
 * retry_info answers 1, 0 or SR_EINVAL and a found delay is at most one
 * hour; the decoded message stays NUL-terminated, printable ASCII; an
 * unframed message lies inside the input.
 */
#include "fuzz_check.h"

#include <spanring/spanring.h>

#include "grpc_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	uint64_t ns = 0;
	int rc = sr__grpc_retry_info(s, size, &ns);

	CHECK(rc == 0 || rc == 1 || rc == SR_EINVAL);
	CHECK(rc != 1 || ns <= 3600ull * 1000000000ull);

	struct sr__grpc_call c;
	sr__grpc_call_reset(&c);
	for (size_t i = 0; i < size;) {
		const char *nl = memchr(s + i, '\n', size - i);
		size_t n = nl ? (size_t)(nl - (s + i)) + 1 : size - i;
		sr__grpc_call_header(&c, s + i, n);
		i += n;
	}
	size_t ml = strnlen(c.message, sizeof(c.message));
	CHECK(ml < sizeof(c.message));
	for (size_t i = 0; i < ml; i++)
		CHECK(c.message[i] >= 0x20 && c.message[i] < 0x7f);
	CHECK(c.status >= -1 && c.status <= 9999);
	CHECK(!c.retry_info || c.retry_delay_ns <= 3600ull * 1000000000ull);

	const void *msg;
	size_t len;
	bool z;
	if (sr__grpc_unframe(data, size, &msg, &len, &z) == 0)
		CHECK((const uint8_t *)msg + len <= data + size &&
		      (const uint8_t *)msg >= data);
	return 0;
}
