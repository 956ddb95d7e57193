/*
 * receiver.h - a scriptable HTTP/1.1 test server on 127.0.0.1, for the
 * exporters that post over HTTP (OTLP now, Zipkin later).
 *
 * Each test starts its own receiver on an ephemeral port and stops it.
 * The receiver records every request it read completely (method, path,
 * headers, body gunzipped when Content-Encoding: gzip) and answers from a
 * script: a queue of replies consumed one per request, then a default
 * reply.  A reply can also be a fault: close without answering, reset the
 * connection in the middle of the request body, hang until the client gives
 * up, or answer late.  Keep-alive connections are served until the client
 * closes them; each connection has its own thread.
 *
 * Left out: chunked request bodies (libcurl sends Content-Length for the
 * bodies exporters post), TLS, pipelining.
 */
#ifndef SR_TEST_RECEIVER_H
#define SR_TEST_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum sr_rcv_action {
	SR_RCV_REPLY = 0,       /* answer `status` with `body`               */
	SR_RCV_CLOSE,           /* read the request, close without answer    */
	SR_RCV_RESET_MID_BODY,  /* read half the body, then reset (RST)      */
	SR_RCV_HANG,            /* read the request, never answer            */
	SR_RCV_SLOW             /* answer after delay_ms                      */
};

struct sr_rcv_reply {
	enum sr_rcv_action action;
	int status;             /* 0 means 200                               */
	const char *body;       /* copied; NULL for none                     */
	size_t body_len;
	const char *content_type; /* NULL: application/x-protobuf            */
	int retry_after;        /* Retry-After seconds; 0 = no header        */
	unsigned delay_ms;      /* SR_RCV_SLOW                                */
};

struct sr_rcv_request {
	char method[16];
	char path[256];
	char *headers;          /* raw header block, NUL-terminated          */
	unsigned char *body;    /* gunzipped if it came gzip-encoded         */
	size_t body_len;
	size_t wire_len;        /* body bytes as received                    */
	bool gzip;
	int status;             /* what the receiver answered (0: no answer) */
};

struct sr_rcv;

/* Start on 127.0.0.1 and an ephemeral port.  NULL on failure (printed). */
struct sr_rcv *sr_rcv_start(void);
/* Stop serving, close every connection, join threads, free everything. */
void sr_rcv_stop(struct sr_rcv *r);

unsigned sr_rcv_port(const struct sr_rcv *r);
/* "http://127.0.0.1:PORT" into buf. */
void sr_rcv_base_url(const struct sr_rcv *r, char *buf, size_t len);

/* Replace the script: replies[0..n) answer the next n requests in order;
 * later requests get the default reply (200, empty body, unless set). */
void sr_rcv_script(struct sr_rcv *r, const struct sr_rcv_reply *replies,
		   size_t n);
void sr_rcv_set_default(struct sr_rcv *r, const struct sr_rcv_reply *reply);
/* Do not keep bodies (benchmarks): requests are counted, not stored. */
void sr_rcv_discard_bodies(struct sr_rcv *r, bool discard);

/* Requests read completely so far (faulted ones included). */
size_t sr_rcv_count(struct sr_rcv *r);
/* Request i (0-based); stays valid until sr_rcv_stop(). */
const struct sr_rcv_request *sr_rcv_get(struct sr_rcv *r, size_t i);
/* Connections accepted so far (keep-alive shows as 1 for many requests). */
size_t sr_rcv_connections(struct sr_rcv *r);
/* Wait until at least n requests were read, up to timeout_ms; true if so. */
bool sr_rcv_wait(struct sr_rcv *r, size_t n, unsigned timeout_ms);

/* A loopback port with nothing listening (bound, then closed). */
unsigned sr_rcv_unused_port(void);

/*
 * Count the spans in an OTLP protobuf ExportTraceServiceRequest body:
 * resource_spans(1) > scope_spans(2) > spans(2).  -1 if malformed.
 */
long sr_rcv_count_otlp_spans(const unsigned char *body, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* SR_TEST_RECEIVER_H */
