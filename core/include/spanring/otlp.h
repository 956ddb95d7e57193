/*
 * otlp.h - statistics of the OTLP exporter ("otlp"), OTLP/HTTP or OTLP/gRPC.
 *
 * Included by <spanring/spanring.h>; included alone, it includes that
 * first (the types it uses are there).
 *
 * The pipeline's own sr_stats say how many spans were exported or dropped;
 * these say what the OTLP exporter did on the wire to get there: requests,
 * retries, bytes before and after compression, failures by cause and how
 * long exports took.  Configuration is by the standard environment
 * variables, read when sr_init() creates the exporter (docs/otlp.md).
 */
/* Before the guard, as spanring/static/span_inline.h does: included
 * first, this header is included again from spanring.h, whose types it
 * needs, and must then be complete where spanring.h includes it. */
#include <spanring/spanring.h>

#ifndef SPANRING_OTLP_H
#define SPANRING_OTLP_H

#ifdef __cplusplus
extern "C" {
#endif

/* Failure causes, the index of the *_fail arrays below. */
enum sr_otlp_fail {
	SR_OTLP_FAIL_CONNECT = 1,   /* refused, reset, DNS, closed mid-way  */
	SR_OTLP_FAIL_TIMEOUT = 2,   /* a request ran out of time            */
	SR_OTLP_FAIL_RETRYABLE = 3, /* HTTP 429, 502, 503, 504; gRPC
	                               UNAVAILABLE and the other retryable
	                               codes (docs/otlp.md)                 */
	SR_OTLP_FAIL_CLIENT = 4,    /* other HTTP 4xx; gRPC INVALID_ARGUMENT,
	                               UNAUTHENTICATED, ... (not retried)   */
	SR_OTLP_FAIL_SERVER = 5,    /* other HTTP 5xx/1xx/3xx; gRPC UNKNOWN,
	                               INTERNAL (not retried)               */
	SR_OTLP_FAIL_TLS = 6,       /* certificate or handshake problem     */
	SR_OTLP_FAIL_DEADLINE = 7,  /* export timeout or retry budget spent */
	SR_OTLP_FAIL_CANCELLED = 8, /* shutdown cut the export short        */
	SR_OTLP_FAIL_OTHER = 9,     /* encoding (out of memory) and the rest */
	SR_OTLP_FAIL_COUNT = 10
};

/* Upper bounds (ms, inclusive) of the export latency buckets; the last
 * bucket counts everything slower. */
#define SR_OTLP_LATENCY_BOUNDS_MS { 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000 }
#define SR_OTLP_LATENCY_BUCKETS 12

typedef struct sr_otlp_stats {
	size_t size;                /* set by the caller: sizeof(sr_otlp_stats_t) */

	uint64_t exports;           /* batches given to the exporter         */
	uint64_t exports_ok;        /* delivered (HTTP 2xx, gRPC OK)         */
	uint64_t exports_failed;    /* given up; the core counts their spans
	                               as dropped (exporter)                 */
	uint64_t spans_ok;          /* spans in delivered batches            */
	uint64_t spans_rejected;    /* of those, refused by the receiver
	                               (partial_success.rejected_spans)      */
	uint64_t spans_failed;      /* spans in failed batches               */

	uint64_t requests;          /* HTTP requests made (attempts)         */
	uint64_t retries;           /* requests after the first of an export */
	uint64_t bytes_raw;         /* request bodies before compression     */
	uint64_t bytes_sent;        /* request bodies as sent (gzip or not;
	                               gRPC: with the 5-byte prefix)         */
	uint64_t invalid_utf8;      /* invalid UTF-8 sequences replaced by
	                               U+FFFD while encoding                 */

	uint64_t request_fail[SR_OTLP_FAIL_COUNT]; /* failed requests by cause */
	uint64_t export_fail[SR_OTLP_FAIL_COUNT];  /* failed exports by final cause */

	uint64_t latency_ns_sum;    /* export_batch wall time, encode + send */
	uint64_t latency_ns_max;
	uint64_t latency_hist[SR_OTLP_LATENCY_BUCKETS];

	/* Last failure in words, e.g. "HTTP 400 (client_status): <body>".
	 * Never contains request headers. */
	char last_error[192];
} sr_otlp_stats_t;

/*
 * Snapshot of the OTLP exporter's counters, since it was last created
 * (they survive sr_shutdown() until the next sr_init() creates it again).
 * Set out->size = sizeof(*out) first: the library writes
 * min(out->size, its sizeof) bytes and sets out->size to that
 * (docs/abi.md).  SR_ENOTFOUND if no OTLP exporter was created in this
 * process; SR_EINVAL if `out` is NULL or out->size does not cover
 * `exports`.
 * Any thread, any time; lock-free except for last_error (a mutex).
 */
SR_API int sr_otlp_stats_get(sr_otlp_stats_t *out);

/* Static name of an sr_otlp_fail value ("connect", "timeout", ...). */
SR_API const char *sr_otlp_fail_name(int cause);

#ifdef __cplusplus
}
#endif

#endif /* SPANRING_OTLP_H */
