/*
 * http_int.h - the HTTP POST transport shared by the exporters that speak
 * HTTP (OTLP/HTTP now, Zipkin later): one keep-alive connection per
 * exporter, gzip, TLS options and the OTLP retry policy.
 *
 * A transport belongs to one exporter instance and is used from that
 * exporter's worker thread only, except sr__http_cancel(), which any thread
 * may call.  It knows nothing of spans: it posts a body of some content
 * type to one URL and says how that went.
 *
 * Retry policy (the OTLP/HTTP specification's): a request is retried after
 * a connection failure, an attempt timeout, or a 429, 502, 503 or 504
 * answer; any other answer is final (2xx success, every other status a
 * permanent failure: retrying a 400 would fail again).  Waits grow
 * exponentially from backoff_initial_ms to backoff_max_ms with "equal
 * jitter" (a uniform draw in [d/2, d]); a Retry-After header (seconds or
 * HTTP date) replaces the computed wait.  Retries stop after max_attempts
 * attempts, or as soon as the next attempt could not start before the
 * caller's deadline: the transport never sleeps past the deadline.
 *
 * A protocol carried in the POSTs (gRPC, grpc_int.h) plugs in through
 * struct sr__http_proto: HTTP/2, its own headers, a prefix before the body,
 * and its own reading of the answer (status trailers, retry delay); the
 * attempts, deadlines, backoff, cancellation and counters stay here.
 *
 * Left out: HTTP redirects are not followed (an exporter that sends
 * credentials should not forward them to wherever a 3xx points), no
 * proxies beyond libcurl's own environment handling, no HTTP/2 upgrade
 * from HTTP/1.1 (h2c is by prior knowledge only).
 */
#ifndef SR_HTTP_INT_H
#define SR_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why an attempt (or a whole post) failed.  Stable: used as array index
 * in the public OTLP stats. */
enum sr__http_fail {
	SR__HTTP_OK = 0,
	SR__HTTP_FAIL_CONNECT,     /* refused, reset, DNS, closed mid-way    */
	SR__HTTP_FAIL_TIMEOUT,     /* the attempt ran out of time            */
	SR__HTTP_FAIL_RETRYABLE,   /* 429, 502, 503, 504                     */
	SR__HTTP_FAIL_CLIENT,      /* any other 4xx: not retried             */
	SR__HTTP_FAIL_SERVER,      /* other 5xx, 1xx, 3xx: not retried       */
	SR__HTTP_FAIL_TLS,         /* certificate or handshake problem       */
	SR__HTTP_FAIL_DEADLINE,    /* no time left for another attempt       */
	SR__HTTP_FAIL_CANCELLED,   /* sr__http_cancel() (shutdown)           */
	SR__HTTP_FAIL_OTHER,
	SR__HTTP_FAIL_COUNT
};

/* Counters, written by the transport's thread with relaxed atomic adds
 * (single writer), read by anyone with relaxed atomic loads.  The storage
 * is the caller's, so it can outlive the transport. */
struct sr__http_stats {
	uint64_t posts;            /* sr__http_post() calls                  */
	uint64_t requests;         /* attempts that reached libcurl          */
	uint64_t retries;          /* attempts after the first               */
	uint64_t bytes_raw;        /* body bytes before compression          */
	uint64_t bytes_sent;       /* body bytes on the wire                 */
	uint64_t attempt_fail[SR__HTTP_FAIL_COUNT]; /* failed attempts by class */
};

/* Hooks of a protocol carried in the POSTs; each is called on the
 * transport's thread, with `state` = sr__http_opts.proto_state. */
struct sr__http_proto {
	bool http2;                /* h2c by prior knowledge for http://,
				    * h2 by ALPN for https://               */
	const char *const *headers; /* fixed header lines, NULL-terminated   */
	const char *gzip_header;   /* replaces "Content-Encoding: gzip"      */
	size_t prefix_len;         /* bytes frame() writes before the body   */
	void (*frame)(uint8_t *prefix, size_t body_len, bool compressed);
	/* The header line of an attempt limited to timeout_ms, written into
	 * line[0..cap) (cap >= 48); called before each attempt. */
	void (*timeout_header)(uint32_t timeout_ms, char *line, size_t cap);
	void (*begin)(void *state);          /* before each attempt          */
	/* Every header and trailer line of the answer, as libcurl gives it. */
	void (*header)(void *state, const char *line, size_t len);
	/* A transfer that completed at the HTTP level: its class; *wait_ns a
	 * wait that replaces the computed backoff (0: none); detail in words. */
	enum sr__http_fail (*classify)(void *state, long http_status,
				       uint64_t *wait_ns, char *detail, size_t cap);
};

struct sr__http_opts {
	const char *url;           /* http:// or https:// (copied)           */
	const char *content_type;  /* static                                 */
	/* Extra headers in the OTEL_EXPORTER_OTLP_HEADERS syntax
	 * ("k1=v1,k2=v2", values percent-decoded).  Never logged. */
	const char *headers;
	const char *headers_var;   /* name of their variable, for errors      */
	bool gzip;
	int gzip_level;            /* zlib 1..9                              */
	uint32_t attempt_timeout_ms; /* one request, connect included        */
	uint32_t max_attempts;     /* >= 1                                   */
	uint32_t backoff_initial_ms;
	uint32_t backoff_max_ms;
	const char *ca_file;       /* PEM bundle to trust, or NULL           */
	const char *cert_file;     /* client certificate (mTLS), or NULL     */
	const char *key_file;      /* its key, or NULL                       */
	struct sr__http_stats *stats; /* caller-owned counters (required)    */
	const struct sr__http_proto *proto; /* NULL: plain HTTP/1.1 POST     */
	void *proto_state;         /* the hooks' state, caller-owned         */
};

struct sr__http_result {
	long status;               /* last HTTP status, 0 if none            */
	enum sr__http_fail fail;   /* SR__HTTP_OK or why the post failed     */
	uint32_t attempts;
	const char *body;          /* response body of the last attempt,     */
	size_t body_len;           /* at most 64 KiB kept; valid until next post */
	char detail[192];          /* cause in words; never holds headers    */
};

struct sr__http;

/* 0, or SR_EINVAL / SR_ENOMEM with a message naming the bad input in err. */
int sr__http_create(struct sr__http **out, const struct sr__http_opts *o,
		    char *err, size_t err_len);

/*
 * POST body[0..len) and apply the retry policy until success, a final
 * failure or `deadline_ns` (sr__http_now_ns() clock).  0 on a 2xx answer;
 * SR_EIO on a final failure; SR_ETIMEDOUT when the deadline or retry
 * budget ran out; SR_ESTATE once cancelled.  *res describes the outcome.
 */
int sr__http_post(struct sr__http *h, const void *body, size_t len,
		  uint64_t deadline_ns, struct sr__http_result *res);

/* Make the current and every later post stop at once.  Any thread. */
void sr__http_cancel(struct sr__http *h);

void sr__http_destroy(struct sr__http *h);

/* Monotonic clock in ns used for deadlines. */
uint64_t sr__http_now_ns(void);

/* Parse a header list as sr__http_create() does, into a curl_slist
 * (returned as void * to keep curl out of this header).  0 or SR_EINVAL
 * with err naming `var` and the entry number, never the value. */
int sr__http_parse_headers(const char *spec, const char *var, void **slist,
			   char *err, size_t err_len);
void sr__http_free_headers(void *slist);

/* True when libcurl `version_num` (curl_version_info()) fails every
 * request after the first on a reused cleartext HTTP/2 connection
 * (CURLE_HTTP2; curl issue #10634, fixed in 8.0.0).  The transport then
 * opens a fresh connection per request for http:// on HTTP/2. */
bool sr__http_h2c_reuse_broken(unsigned version_num);

/* Static name of a failure class ("connect", "timeout", ...). */
const char *sr__http_fail_name(enum sr__http_fail f);

#endif /* SR_HTTP_INT_H */
