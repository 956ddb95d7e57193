/*
 * grpc_wire.c - the gRPC wire pieces of a unary call (contract in
 * grpc_int.h): message framing, the status trailers, the RetryInfo inside
 * grpc-status-details-bin, and the OTLP retry policy for gRPC codes.
 *
 * Everything that reads here reads bytes a server (or whatever answers on
 * its port) chose: every length is checked, decoded text is made
 * printable before it can reach a log line, and a details value is decoded
 * into a fixed stack buffer (SR__GRPC_DETAILS_MAX) or not at all.
 *
 * Left out: compressed answers (never asked for), any detail type other
 * than RetryInfo (the policy needs no other).
 */
#include "grpc_int.h"

#include <string.h>
#include <strings.h>

#include <spanring/spanring.h>

#include "pb_read_int.h"
#include "chars_int.h"

#define ONE_HOUR_NS (3600ull * 1000000000ull)

void sr__grpc_frame(uint8_t prefix[SR__GRPC_PREFIX_LEN], bool compressed,
		    uint32_t len)
{
	prefix[0] = compressed ? 1 : 0;
	prefix[1] = (uint8_t)(len >> 24);
	prefix[2] = (uint8_t)(len >> 16);
	prefix[3] = (uint8_t)(len >> 8);
	prefix[4] = (uint8_t)len;
}

int sr__grpc_unframe(const void *body, size_t len, const void **msg,
		     size_t *msg_len, bool *compressed)
{
	const uint8_t *p = body;
	uint32_t n;

	if (len == 0)
		return SR_ENOTFOUND;
	if (len < SR__GRPC_PREFIX_LEN || p[0] > 1)
		return SR_EINVAL;
	n = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4];
	if (n > len - SR__GRPC_PREFIX_LEN)
		return SR_EINVAL;
	*msg = p + SR__GRPC_PREFIX_LEN;
	*msg_len = n;
	*compressed = p[0] == 1;
	return 0;
}

const char *sr__grpc_code_name(int code)
{
	static const char *const names[SR__GRPC_CODE_COUNT] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
		"DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
		"PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
		"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
		"UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"
	};
	return code >= 0 && code < SR__GRPC_CODE_COUNT ? names[code] : "?";
}

int sr__grpc_code_from_http(long status)
{
	switch (status) {
	case 400:
		return SR__GRPC_INTERNAL;
	case 401:
		return SR__GRPC_UNAUTHENTICATED;
	case 403:
		return SR__GRPC_PERMISSION_DENIED;
	case 404:
		return SR__GRPC_UNIMPLEMENTED;
	case 429:
	case 502:
	case 503:
	case 504:
		return SR__GRPC_UNAVAILABLE;
	default:
		return SR__GRPC_UNKNOWN;
	}
}

enum sr__http_fail sr__grpc_fail_class(int code, bool retry_info)
{
	switch (code) {
	case SR__GRPC_OK:
		return SR__HTTP_OK;
	case SR__GRPC_CANCELLED:
	case SR__GRPC_DEADLINE_EXCEEDED:
	case SR__GRPC_ABORTED:
	case SR__GRPC_OUT_OF_RANGE:
	case SR__GRPC_UNAVAILABLE:
	case SR__GRPC_DATA_LOSS:
		return SR__HTTP_FAIL_RETRYABLE;
	case SR__GRPC_RESOURCE_EXHAUSTED:
		return retry_info ? SR__HTTP_FAIL_RETRYABLE : SR__HTTP_FAIL_CLIENT;
	case SR__GRPC_INVALID_ARGUMENT:
	case SR__GRPC_NOT_FOUND:
	case SR__GRPC_ALREADY_EXISTS:
	case SR__GRPC_PERMISSION_DENIED:
	case SR__GRPC_FAILED_PRECONDITION:
	case SR__GRPC_UNIMPLEMENTED:
	case SR__GRPC_UNAUTHENTICATED:
		return SR__HTTP_FAIL_CLIENT;
	default: /* UNKNOWN, INTERNAL, codes from the future */
		return SR__HTTP_FAIL_SERVER;
	}
}

/* ---- grpc-status-details-bin --------------------------------------------- */

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Standard base64, '=' padding optional (gRPC accepts both).  Bytes
 * written, or -1 when malformed or longer than cap. */
static long b64_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
	size_t o = 0, i;
	uint32_t acc = 0;
	unsigned bits = 0;

	while (n && s[n - 1] == '=')
		n--;
	for (i = 0; i < n; i++) {
		int v = b64_val((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* One leftover symbol cannot be; leftover bits must be zero. */
	if (bits >= 6 || (acc & ((1u << bits) - 1)))
		return -1;
	return (long)o;
}

/* google.protobuf.Duration { int64 seconds = 1; int32 nanos = 2; }, as
 * ns clamped to [0, 1 h]. */
static bool duration_ns(const uint8_t *p, const uint8_t *end, uint64_t *ns)
{
	int64_t sec = 0, nanos = 0;
	uint64_t tag, v;

	while (p < end) {
		if (!sr__pb_get_varint(&p, end, &tag))
			return false;
		if ((tag & 7) == SR__PB_VARINT && (tag >> 3 == 1 || tag >> 3 == 2)) {
			if (!sr__pb_get_varint(&p, end, &v))
				return false;
			if (tag >> 3 == 1)
				sec = (int64_t)v;
			else
				nanos = (int32_t)(uint32_t)v;
		} else if (!sr__pb_skip(&p, end, (unsigned)(tag & 7))) {
			return false;
		}
	}
	if (sec < 0 || nanos < 0)
		*ns = 0;
	else if ((uint64_t)sec >= ONE_HOUR_NS / 1000000000ull)
		*ns = ONE_HOUR_NS;
	else
		*ns = (uint64_t)sec * 1000000000ull + (uint64_t)(nanos % 1000000000);
	return true;
}

/* google.protobuf.Any { string type_url = 1; bytes value = 2; }: 1 when it
 * is a RetryInfo { Duration retry_delay = 1; } (delay in *ns), 0 when it
 * is another type, -1 when malformed. */
static int any_retry_info(const uint8_t *p, const uint8_t *end, uint64_t *ns)
{
	static const char want[] = "google.rpc.RetryInfo";
	const uint8_t *url = NULL, *url_end = NULL, *val = NULL, *val_end = NULL;
	const uint8_t *b, *e;
	uint64_t tag;

	while (p < end) {
		if (!sr__pb_get_varint(&p, end, &tag))
			return -1;
		if (tag == (1u << 3 | SR__PB_LEN)) {
			if (!sr__pb_get_len(&p, end, &url, &url_end))
				return -1;
		} else if (tag == (2u << 3 | SR__PB_LEN)) {
			if (!sr__pb_get_len(&p, end, &val, &val_end))
				return -1;
		} else if (!sr__pb_skip(&p, end, (unsigned)(tag & 7))) {
			return -1;
		}
	}
	/* The type is the type URL's last path segment. */
	if (!url)
		return 0;
	const uint8_t *slash = url_end;
	while (slash > url && slash[-1] != '/')
		slash--;
	if ((size_t)(url_end - slash) != sizeof(want) - 1 ||
	    memcmp(slash, want, sizeof(want) - 1))
		return 0;
	*ns = 0;
	p = val;
	end = val_end;
	while (p && p < end) {
		if (!sr__pb_get_varint(&p, end, &tag))
			return -1;
		if (tag == (1u << 3 | SR__PB_LEN)) {
			if (!sr__pb_get_len(&p, end, &b, &e) || !duration_ns(b, e, ns))
				return -1;
		} else if (!sr__pb_skip(&p, end, (unsigned)(tag & 7))) {
			return -1;
		}
	}
	return 1;
}

int sr__grpc_retry_info(const char *b64, size_t len, uint64_t *delay_ns)
{
	uint8_t buf[SR__GRPC_DETAILS_MAX];
	long n = b64_decode(b64, len, buf, sizeof(buf));
	const uint8_t *p = buf, *end, *b, *e;
	uint64_t tag;
	int found = 0;

	if (n < 0)
		return SR_EINVAL;
	end = buf + n;
	/* google.rpc.Status { int32 code = 1; string message = 2;
	 *                     repeated google.protobuf.Any details = 3; } */
	while (p < end) {
		if (!sr__pb_get_varint(&p, end, &tag))
			return SR_EINVAL;
		if (tag == (3u << 3 | SR__PB_LEN)) {
			uint64_t ns = 0;
			int r;
			if (!sr__pb_get_len(&p, end, &b, &e) ||
			    (r = any_retry_info(b, e, &ns)) < 0)
				return SR_EINVAL;
			if (r && !found) {
				found = 1;
				*delay_ns = ns;
			}
		} else if (!sr__pb_skip(&p, end, (unsigned)(tag & 7))) {
			return SR_EINVAL;
		}
	}
	return found;
}

/* ---- trailers ------------------------------------------------------------ */

void sr__grpc_call_reset(struct sr__grpc_call *c)
{
	c->status = -1;
	c->retry_info = false;
	c->bad_details = false;
	c->retry_delay_ns = 0;
	c->message[0] = '\0';
}

/* grpc-message is percent-encoded UTF-8; keep printable ASCII only (the
 * text goes into last_error and logs), anything else becomes '.'. */
static void message_decode(char *dst, size_t cap, const char *s, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '%' && n - i >= 3 && sr__hexval_any[(uint8_t)s[i + 1]] != 0xff &&
		    sr__hexval_any[(uint8_t)s[i + 2]] != 0xff) {
			ch = (unsigned char)(sr__hexval_any[(uint8_t)s[i + 1]] * 16 +
					     sr__hexval_any[(uint8_t)s[i + 2]]);
			i += 2;
		}
		dst[j++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '.';
	}
	dst[j] = '\0';
}

/* Value of header `name` in line[0..len), trimmed; NULL if another one. */
static const char *header_value(const char *line, size_t len, const char *name,
				size_t *vlen)
{
	size_t nl = strlen(name);
	const char *v, *e = line + len;

	if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl))
		return NULL;
	v = line + nl + 1;
	while (v < e && (*v == ' ' || *v == '\t'))
		v++;
	while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ' ||
			 e[-1] == '\t'))
		e--;
	*vlen = (size_t)(e - v);
	return v;
}

void sr__grpc_call_header(struct sr__grpc_call *c, const char *line, size_t len)
{
	const char *v;
	size_t n;

	if ((v = header_value(line, len, "grpc-status", &n))) {
		int code = 0;
		size_t i;
		for (i = 0; i < n && i < 4 && v[i] >= '0' && v[i] <= '9'; i++)
			code = code * 10 + (v[i] - '0');
		/* Not a number: a broken answer, which gRPC calls UNKNOWN. */
		c->status = i == n && n > 0 ? code : SR__GRPC_UNKNOWN;
	} else if ((v = header_value(line, len, "grpc-message", &n))) {
		message_decode(c->message, sizeof(c->message), v, n);
	} else if ((v = header_value(line, len, "grpc-status-details-bin", &n))) {
		uint64_t ns = 0;
		int r = sr__grpc_retry_info(v, n, &ns);
		c->bad_details = r < 0;
		c->retry_info = r == 1;
		c->retry_delay_ns = r == 1 ? ns : 0;
	}
}
