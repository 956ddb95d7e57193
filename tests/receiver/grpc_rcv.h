/*
 * grpc_rcv.h - drive the OTLP/gRPC test receiver (grpc_receiver.py, a
 * real gRPC server: python3-grpcio) from a C test.
 *
 * sr_grcv_start() spawns the receiver on 127.0.0.1 and a free port and
 * talks to it over its stdin/stdout (one command, one answer line);
 * sr_grcv_stop() makes it quit and reaps it (killing it if it does not
 * quit within 5 s), so every test stops what it started.  The script
 * words are the receiver's replies (see grpc_receiver.py): "ok",
 * "partial:N", "delay:MS", "hang", a gRPC code name such as "UNAVAILABLE",
 * "RESOURCE_EXHAUSTED:retry=MS".
 */
#ifndef SR_TEST_GRPC_RCV_H
#define SR_TEST_GRPC_RCV_H

#include <stdbool.h>
#include <stddef.h>

struct sr_grcv_stats {
	long requests;          /* calls received                           */
	long ok_requests;       /* answered OK                              */
	long ok_spans;          /* spans in the calls answered OK           */
	long all_spans;         /* spans in every call                      */
	long rejected;          /* partial_success.rejected_spans answered  */
	long peers;             /* distinct client addresses: connections   */
	long bad;               /* requests that were not valid protobuf    */
	long api_key;           /* calls with x-api-key: s3cret value       */
	long deadline;          /* calls that carried a grpc-timeout        */
	long max_timeout_ms;    /* the longest such timeout seen            */
};

struct sr_grcv;

/* Start it (TLS with the PEM cert/key files when both are given).  NULL
 * on failure (printed). */
struct sr_grcv *sr_grcv_start_tls(const char *cert, const char *key);
struct sr_grcv *sr_grcv_start(void);
unsigned sr_grcv_port(const struct sr_grcv *r);
/* "http://127.0.0.1:PORT" (https:// when started with TLS) into buf. */
void sr_grcv_url(const struct sr_grcv *r, char *buf, size_t len);
/* Replies for the next calls, space-separated; then the default. */
int sr_grcv_script(struct sr_grcv *r, const char *replies);
int sr_grcv_default(struct sr_grcv *r, const char *reply);
/* Zero its counters (and forget the connections seen). */
int sr_grcv_reset(struct sr_grcv *r);
int sr_grcv_stats(struct sr_grcv *r, struct sr_grcv_stats *st);
void sr_grcv_stop(struct sr_grcv *r);

#endif /* SR_TEST_GRPC_RCV_H */
