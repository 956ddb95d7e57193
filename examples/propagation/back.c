/*
 * back.c - the back service of the two-process propagation example.
 *
 *   prop-back --port-file FILE --out FILE [--requests N] [--max-seconds S]
 *
 * Listens on 127.0.0.1 (ephemeral port, written to --port-file), and for
 * each request: extracts the caller's context from the headers with the
 * propagator of OTEL_PROPAGATORS (default tracecontext,baggage), runs a
 * SERVER span as its child with one INTERNAL child under it (the baggage
 * entry "user", if any, recorded as attribute baggage.user), and answers
 * 200 with its trace id as the body.  After N requests (default 1), on
 * SIGTERM, or after --max-seconds (default 30) it shuts the pipeline down
 * and writes the spans it recorded to --out (see hm_dump_spans()).
 *
 * What it leaves out: concurrency (one connection at a time), bodies.
 */
#include "http_mini.h"

static void serve(int fd, void *ud)
{
	static struct hm_msg req;
	sr_context_t parent, ctx;
	sr_span_t server, work;
	sr_scope_t sc;
	char resp[256], tid[33];
	int n;

	(void)ud;
	hm_timeouts(fd);
	if (hm_read(fd, &req) != 0)
		return;
	/* The parent may be invalid (no or a bad traceparent): then the
	 * server span starts a new trace, as the spec asks. */
	sr_propagator_extract(sr_propagator_from_env(), &req, &hm_getter, &parent);
	sr_span_start_ex(&server, NULL, "back GET /work", SR_KIND_SERVER, &parent,
			 0, 0);
	ctx = sr_span_context(&server);
	hm_note_baggage(&server, &ctx);
	sc = sr_scope_enter(&server);
	sr_span_start(&work, NULL, "back work", SR_KIND_INTERNAL);
	sr_span_end(&work);
	sr_scope_exit(sc);
	sr_span_end(&server);

	sr_context_trace_id_hex(&ctx, tid);
	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 200 OK\r\nContent-Length: 33\r\n"
		     "Connection: close\r\n\r\n%s\n", tid);
	hm_write_all(fd, resp, (size_t)n);
}

int main(int argc, char **argv)
{
	struct hm_opts o;

	hm_parse_args(argc, argv, &o);
	if (!o.port_file || !o.out) {
		fprintf(stderr, "usage: %s --port-file FILE --out FILE "
				"[--requests N] [--max-seconds S]\n", argv[0]);
		return 2;
	}
	hm_stop_on_signals((unsigned)o.max_seconds);
	hm_start_tracing("prop-back");
	hm_serve(hm_listen(o.port_file), o.requests, serve, NULL);
	sr_shutdown(5000, NULL);
	return hm_dump_spans(o.out) == 0 ? 0 : 1;
}
