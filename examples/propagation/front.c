/*
 * front.c - the front service of the two-process propagation example.
 *
 *   prop-front --port-file FILE --back-port-file FILE --out FILE
 *              [--requests N] [--max-seconds S]
 *
 * For each request on its loopback port: extracts the caller's context
 * (OTEL_PROPAGATORS, default tracecontext,baggage), runs a SERVER span as
 * its child, and under it a CLIENT span for the call to the back service
 * (port read from --back-port-file), whose context it injects into that
 * call's headers: one trace across two processes.  Answers 200 with the
 * back service's body.  Exit and span output as in back.c.
 *
 * What it leaves out: retries, keep-alive, concurrency.
 */
#include "http_mini.h"

/* GET /work on the back service with `ctx` injected; the body in out. */
static int call_back(int port, const sr_context_t *ctx, char *out, size_t cap)
{
	static struct hm_out hdr;
	static struct hm_msg resp;
	char req[HM_HEAD + 128];
	int fd, n;
	const char *body;

	hdr.len = 0;
	sr_propagator_inject(sr_propagator_from_env(), ctx, &hdr, hm_set);
	n = snprintf(req, sizeof(req),
		     "GET /work HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%.*s"
		     "Connection: close\r\n\r\n", port, (int)hdr.len, hdr.buf);
	fd = hm_connect(port);
	if (fd < 0)
		return -1;
	if (hm_write_all(fd, req, (size_t)n) || hm_read(fd, &resp)) {
		close(fd);
		return -1;
	}
	body = hm_read_body(fd, &resp);
	snprintf(out, cap, "%s", body);
	close(fd);
	return strncmp(resp.line, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
}

static void serve(int fd, void *ud)
{
	int back_port = *(int *)ud;
	static struct hm_msg req;
	sr_context_t parent, sctx, cctx;
	sr_span_t server, client;
	sr_scope_t sc;
	char body[128] = "", resp[256];
	int n, rc;

	hm_timeouts(fd);
	if (hm_read(fd, &req) != 0)
		return;
	sr_propagator_extract(sr_propagator_from_env(), &req, &hm_getter, &parent);
	sr_span_start_ex(&server, NULL, "front GET /", SR_KIND_SERVER, &parent,
			 0, 0);
	sctx = sr_span_context(&server);
	hm_note_baggage(&server, &sctx);
	sc = sr_scope_enter(&server);

	sr_span_start(&client, NULL, "front call back", SR_KIND_CLIENT);
	cctx = sr_span_context(&client);
	rc = call_back(back_port, &cctx, body, sizeof(body));
	if (rc)
		sr_span_set_status(&client, SR_STATUS_ERROR, "back call failed");
	sr_span_end(&client);

	sr_scope_exit(sc);
	sr_span_end(&server);
	n = snprintf(resp, sizeof(resp),
		     "HTTP/1.1 %s\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n%s",
		     rc ? "502 Bad Gateway" : "200 OK", strlen(body), body);
	hm_write_all(fd, resp, (size_t)n);
}

int main(int argc, char **argv)
{
	struct hm_opts o;
	int back_port;

	hm_parse_args(argc, argv, &o);
	if (!o.port_file || !o.back_port_file || !o.out) {
		fprintf(stderr, "usage: %s --port-file FILE --back-port-file FILE "
				"--out FILE [--requests N] [--max-seconds S]\n",
			argv[0]);
		return 2;
	}
	back_port = hm_read_port(o.back_port_file);
	if (back_port <= 0) {
		fprintf(stderr, "no back port in %s\n", o.back_port_file);
		return 2;
	}
	hm_stop_on_signals((unsigned)o.max_seconds);
	hm_start_tracing("prop-front");
	hm_serve(hm_listen(o.port_file), o.requests, serve, &back_port);
	sr_shutdown(5000, NULL);
	return hm_dump_spans(o.out) == 0 ? 0 : 1;
}
