/*
 * server.c - the HTTP/1.1 keep-alive server that bench/run.sh drives with
 * wrk, to show what tracing does to a real server's latency.
 *
 * One thread, one epoll loop, level-triggered, non-blocking sockets on
 * 127.0.0.1.  Each request: the caller's context is extracted from its
 * headers (sr_propagator_extract, OTEL_PROPAGATORS, default
 * tracecontext,baggage), a SERVER span is started as its child and made
 * current, four INTERNAL children (parse, auth, handler, render) run
 * under it with an attribute each, and the server span's context is
 * injected into the response headers.  Built twice from this file:
 *   spanring-bench-server-off  -DSR_COMPILED_OUT: no tracing code at all;
 *   spanring-bench-server-floor  -DSRB_FLOOR: the same spans and
 *                              propagation by hand, the least they cost
 *                              (floor_trace.h);
 *   spanring-bench-server      tracing on; exporters from the standard
 *                              environment (OTEL_TRACES_EXPORTER=none,
 *                              console, otlp ...).
 * The response body is a small deterministic digest of the request path,
 * so the handler does some work of its own.
 *
 * `--sink` turns it into the local receiver for exporters that send HTTP
 * (OTLP/HTTP): it reads each request's body (Content-Length or chunked,
 * answering `Expect: 100-continue`), discards it, answers 200 with an
 * empty body, and counts requests and bytes.
 *
 * `--poll` makes the loop poll (epoll_wait with a zero timeout, yielding
 * the core when idle) instead of blocking.  bench/run.sh uses it for
 * every variant: on a virtual machine an idle vCPU halts and waking it
 * costs tens of microseconds, so a blocking server is faster whenever
 * anything else keeps its core awake, such as the tracing build's drainer
 * thread polling; polling takes that difference out of the comparison.
 *
 * What it measures of itself, over a window (from a mark to the end):
 *   service time   per request, from the read that completed it to the
 *                  write that finished its response (TSC), in a
 *                  log-bucket histogram (loghist.h): what the server adds,
 *                  whatever the client and the network do;
 *   CPU time       of the request thread (CLOCK_THREAD_CPUTIME_ID), and of
 *                  every other thread of the process by name (schedstat's
 *                  run time of /proc/self/task/<tid>: the library's
 *                  sr-drainer and sr-exp-* workers);
 * The window opens at SIGUSR1 (the load generator sends it when its
 * warm-up ends) or after --mark-after N requests, and closes at SIGUSR2,
 * at --requests N, or at exit.  Under callgrind the mark zeroes the
 * counters and the close dumps them, so a run with --mark-after W
 * --requests N counts the instructions of requests W+1..N exactly.
 *
 * It stops on SIGINT/SIGTERM, after --requests N, or after --max-seconds
 * (default 900), so a run that loses its driver still ends; on exit it
 * prints one JSON line on stderr (and into --stats-file): requests, the
 * window, and the pipeline's sr_stats.
 *
 * What it leaves out: TLS, HTTP/2, request bodies in normal mode beyond
 * skipping them, and more than one event-loop thread (the machine has
 * two cores; wrk gets the other one).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include <spanring/spanring.h>
#include <valgrind/callgrind.h>

#include "loghist.h"
#include "taskstat.h"

#define IN_CAP 16384
#define OUT_CAP 16384
#define MAX_HEADERS 48
#define MAX_FDS 65536

enum body_mode { BODY_NONE, BODY_LENGTH, BODY_CHUNKED };
enum chunk_state { CH_SIZE, CH_DATA, CH_DATA_CRLF, CH_TRAILER };

struct conn {
	int fd;
	bool close_after;        /* Connection: close / HTTP/1.0          */
	size_t in_len;
	size_t out_len, out_off;
	/* body being skipped (sink mode, or a request with a body) */
	enum body_mode body;
	uint64_t body_left;      /* BODY_LENGTH / CH_DATA: bytes to drop   */
	enum chunk_state chunk;
	uint64_t t_in;           /* TSC at the read that last brought input */
	uint32_t unanswered;     /* requests whose response is not written  */
	char in[IN_CAP];
	char out[OUT_CAP];
};

struct header {
	const char *name, *value;
	size_t name_len, value_len;
};

struct request {
	const char *method, *path;
	size_t method_len, path_len;
	int minor;               /* HTTP/1.x                               */
	struct header h[MAX_HEADERS];
	int nh;
};

static volatile sig_atomic_t g_stop, g_mark_req, g_close_req;
static bool g_sink;
static struct conn *g_conns[MAX_FDS];
static uint64_t g_requests, g_body_bytes;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		g_mark_req = 1;
	else if (sig == SIGUSR2)
		g_close_req = 1;
	else
		g_stop = 1;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The service-time clock: the TSC where there is one (a few ns, no
 * syscall), converted to ns over the window's own span of both clocks. */
static inline uint64_t ticks(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __rdtsc();
#else
	return mono_ns();
#endif
}

/* ------------------------------------------------------------------ */
/* The measurement window.                                             */
/* ------------------------------------------------------------------ */
struct snapshot {
	uint64_t mono, tsc, requests, thread_cpu;
	struct task_cpu task[TASKSTAT_MAX];
	int ntask;
};

static struct {
	bool open, closed;
	struct snapshot start, end;
	struct loghist service; /* TSC ticks */
} g_win;

static void snap(struct snapshot *s)
{
	s->mono = mono_ns();
	s->tsc = ticks();
	s->requests = g_requests;
	s->thread_cpu = thread_cpu_ns();
	s->ntask = taskstat_read(s->task, TASKSTAT_MAX, (long)gettid());
}

/* Opens the window (again: a later mark restarts it). */
static void window_mark(void)
{
	CALLGRIND_ZERO_STATS;
	lh_reset(&g_win.service);
	snap(&g_win.start);
	g_win.open = true;
	g_win.closed = false;
}

static void window_close(void)
{
	if (!g_win.open || g_win.closed)
		return;
	snap(&g_win.end);
	CALLGRIND_DUMP_STATS_AT("window");
	g_win.closed = true;
}

static inline void service_done(struct conn *c)
{
	if (c->unanswered) {
		uint64_t t = ticks() - c->t_in;

		for (uint32_t i = 0; i < c->unanswered; i++)
			lh_add(&g_win.service, t);
		c->unanswered = 0;
	}
}

static const struct header *find_header(const struct request *rq,
					const char *name)
{
	size_t n = strlen(name);

	for (int i = 0; i < rq->nh; i++)
		if (rq->h[i].name_len == n &&
		    strncasecmp(rq->h[i].name, name, n) == 0)
			return &rq->h[i];
	return NULL;
}

static bool header_has_token(const struct header *h, const char *tok)
{
	size_t n = strlen(tok);

	for (size_t i = 0; h && i + n <= h->value_len; i++)
		if (strncasecmp(h->value + i, tok, n) == 0)
			return true;
	return false;
}

/* Appends to the connection's output; false if it would not fit. */
static bool out_put(struct conn *c, const char *s, size_t n)
{
	if (c->out_len + n > OUT_CAP)
		return false;
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
	return true;
}

static bool out_str(struct conn *c, const char *s)
{
	return out_put(c, s, strlen(s));
}

/* ------------------------------------------------------------------ */
/* Context propagation: the only two places the server touches the     */
/* carrier.  The request's parsed headers are the extract carrier; the  */
/* response being written is the inject carrier.                       */
/* ------------------------------------------------------------------ */
#ifndef SR_COMPILED_OUT

static const char *carrier_get(void *carrier, const char *key, size_t *len)
{
	const struct header *h = find_header(carrier, key);

	if (!h)
		return NULL;
	*len = h->value_len;
	return h->value;
}

static void carrier_set(void *carrier, const char *key, const char *value,
			size_t value_len)
{
	struct conn *c = carrier;

	/* Response headers are written once each, so "replace" never
	 * arises; a response that would overflow loses the header. */
	if (c->out_len + strlen(key) + value_len + 4 > OUT_CAP)
		return;
	out_str(c, key);
	out_put(c, ": ", 2);
	out_put(c, value, value_len);
	out_put(c, "\r\n", 2);
}

static void ctx_extract(struct request *rq, sr_context_t *out)
{
	static const sr_carrier_getter_t getter = { carrier_get, NULL };

	/* On failure *out is a zeroed ("root") context, which is what a
	 * request without a valid traceparent should get. */
	sr_propagator_extract(sr_propagator_from_env(), rq, &getter, out);
}

static void ctx_inject(struct conn *c, const sr_span_t *span)
{
	sr_context_t ctx = sr_span_context(span);

	sr_propagator_inject(sr_propagator_from_env(), &ctx, c, carrier_set);
}

static const sr_tracer_t *g_tracer;

#endif /* SR_COMPILED_OUT */

/* FNV-1a over the path, rendered as hex: the handler's own work. */
static size_t render_body(const struct request *rq, char *buf, size_t cap)
{
	uint64_t h = 1469598103934665603ull;

	for (int round = 0; round < 8; round++)
		for (size_t i = 0; i < rq->path_len; i++)
			h = (h ^ (unsigned char)rq->path[i]) * 1099511628211ull;
	return (size_t)snprintf(buf, cap, "%016llx\n", (unsigned long long)h);
}

#ifdef SRB_FLOOR
#include "floor_trace.h"
#endif

/* The response's status line and headers but the trace context. */
static void put_head(struct conn *c, size_t blen)
{
	char line[96];

	out_str(c, "HTTP/1.1 200 OK\r\n"
		   "Content-Type: text/plain\r\n");
	snprintf(line, sizeof(line), "Content-Length: %zu\r\n", blen);
	out_str(c, line);
	if (c->close_after)
		out_str(c, "Connection: close\r\n");
}

#ifdef SRB_FLOOR
/* The same request traced by the floor (floor_trace.h): the spans,
 * attributes and propagation of respond() below, by hand. */
static void respond(struct conn *c, struct request *rq)
{
	struct srb_floor_span server, child;
	const struct header *tracestate, *baggage;
	struct fl_ctx parent, self;
	char body[64];
	size_t blen;
	unsigned n;

	fl_extract(rq, &parent, &tracestate, &baggage);
	(void)tracestate;
	(void)baggage;
	fl_start(&server, "GET /", SR_KIND_SERVER, &parent);
	fl_context(&server, &self);
	n = fl_attr_str(&server, 0, "http.request.method", rq->method, rq->method_len);
	n += fl_attr_str(&server, n, "url.path", rq->path, rq->path_len);

	fl_start(&child, "parse", SR_KIND_INTERNAL, &self);
	fl_attr_int(&child, 0, "http.request.header_count", rq->nh, SR_ATTR_INT);
	srb_floor_end(&child, 1);

	fl_start(&child, "auth", SR_KIND_INTERNAL, &self);
	fl_attr_int(&child, 0, "auth.anonymous", 1, SR_ATTR_BOOL);
	srb_floor_end(&child, 1);

	fl_start(&child, "handler", SR_KIND_INTERNAL, &self);
	blen = render_body(rq, body, sizeof(body));
	fl_attr_int(&child, 0, "app.digest_rounds", 8, SR_ATTR_INT);
	srb_floor_end(&child, 1);

	fl_start(&child, "render", SR_KIND_INTERNAL, &self);
	put_head(c, blen);
	fl_inject(c, &self);
	fl_attr_int(&child, 0, "http.response.body.size", (int64_t)blen, SR_ATTR_INT);
	out_put(c, "\r\n", 2);
	out_put(c, body, blen);
	srb_floor_end(&child, 1);

	fl_attr_int(&server, n, "http.response.status_code", 200, SR_ATTR_INT);
	srb_floor_end(&server, (uint16_t)(n + 1));
}
#else
static void respond(struct conn *c, struct request *rq)
{
	char body[64];
	size_t blen;

#ifndef SR_COMPILED_OUT
	sr_context_t parent;
	sr_span_t server;
	sr_scope_t scope;

	ctx_extract(rq, &parent);
	sr_span_start_ex(&server, g_tracer, "GET /", SR_KIND_SERVER, &parent,
			 0, 0);
	scope = sr_scope_enter(&server);
	sr_span_set_strn(&server, "http.request.method", rq->method,
			 rq->method_len);
	sr_span_set_strn(&server, "url.path", rq->path, rq->path_len);
	{
		SR_SPAN_AUTO(parse, g_tracer, "parse", SR_KIND_INTERNAL);
		SR_SET_INT(&parse.span, "http.request.header_count", rq->nh);
	}
	{
		SR_SPAN_AUTO(auth, g_tracer, "auth", SR_KIND_INTERNAL);
		SR_SET_BOOL(&auth.span, "auth.anonymous", true);
	}
	{
		SR_SPAN_AUTO(handler, g_tracer, "handler", SR_KIND_INTERNAL);
		blen = render_body(rq, body, sizeof(body));
		SR_SET_INT(&handler.span, "app.digest_rounds", 8);
	}
#else
	blen = render_body(rq, body, sizeof(body));
#endif
	{
#ifndef SR_COMPILED_OUT
		SR_SPAN_AUTO(render, g_tracer, "render", SR_KIND_INTERNAL);
#endif
		put_head(c, blen);
#ifndef SR_COMPILED_OUT
		ctx_inject(c, &server);
		SR_SET_INT(&render.span, "http.response.body.size",
			   (int64_t)blen);
#endif
		out_put(c, "\r\n", 2);
		out_put(c, body, blen);
	}
#ifndef SR_COMPILED_OUT
	sr_span_set_int(&server, "http.response.status_code", 200);
	sr_scope_exit(scope);
	sr_span_end(&server);
#endif
}
#endif /* SRB_FLOOR */

static void respond_sink(struct conn *c)
{
	out_str(c, "HTTP/1.1 200 OK\r\n"
		   "Content-Type: application/x-protobuf\r\n"
		   "Content-Length: 0\r\n");
	if (c->close_after)
		out_str(c, "Connection: close\r\n");
	out_put(c, "\r\n", 2);
}

/* Parses the head ending at `end` (just past the blank line). */
static bool parse_head(char *p, char *end, struct request *rq)
{
	char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
	char *sp1, *sp2;

	if (!eol)
		return false;
	sp1 = memchr(p, ' ', (size_t)(eol - p));
	if (!sp1)
		return false;
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (!sp2 || eol - sp2 < 9 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0)
		return false;
	rq->method = p;
	rq->method_len = (size_t)(sp1 - p);
	rq->path = sp1 + 1;
	rq->path_len = (size_t)(sp2 - sp1 - 1);
	rq->minor = sp2[8] - '0';
	rq->nh = 0;
	p = eol + 2;
	while (p < end - 2) {
		char *colon, *v, *ve;

		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (!eol || eol == p)
			break;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p)
			return false;
		v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		ve = eol;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (rq->nh < MAX_HEADERS) {
			struct header *h = &rq->h[rq->nh++];

			h->name = p;
			h->name_len = (size_t)(colon - p);
			h->value = v;
			h->value_len = (size_t)(ve - v);
		}
		p = eol + 2;
	}
	return true;
}

/*
 * Drops request-body bytes from in[0..in_len) according to the body
 * state; returns bytes consumed, sets *done when the body is complete.
 * Chunk extensions and trailers are skipped, not interpreted.
 */
static size_t skip_body(struct conn *c, bool *done, bool *bad)
{
	size_t pos = 0;

	*done = false;
	while (pos < c->in_len) {
		char *b = c->in + pos, *eol;
		size_t avail = c->in_len - pos, n;

		if (c->body == BODY_LENGTH ||
		    (c->body == BODY_CHUNKED && c->chunk == CH_DATA)) {
			n = avail < c->body_left ? avail : (size_t)c->body_left;
			c->body_left -= n;
			g_body_bytes += n;
			pos += n;
			if (c->body_left)
				return pos;
			if (c->body == BODY_LENGTH) {
				*done = true;
				return pos;
			}
			c->chunk = CH_DATA_CRLF;
			continue;
		}
		eol = memmem(b, avail, "\r\n", 2);
		if (!eol)
			return pos;
		n = (size_t)(eol - b) + 2;
		pos += n;
		switch (c->chunk) {
		case CH_SIZE: {
			char *endp;
			unsigned long long sz = strtoull(b, &endp, 16);

			if (endp == b) {
				*bad = true;
				return pos;
			}
			c->body_left = sz;
			c->chunk = sz ? CH_DATA : CH_TRAILER;
			break;
		}
		case CH_DATA_CRLF:
			c->chunk = CH_SIZE;
			break;
		case CH_TRAILER:
			if (n == 2) { /* the blank line ending the trailers */
				*done = true;
				return pos;
			}
			break;
		case CH_DATA:
			break;
		}
	}
	return pos;
}

static void conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	g_conns[c->fd] = NULL;
	free(c);
}

static void consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

enum progress { P_ERROR, P_NEED_INPUT, P_OUTPUT_FULL };

/* Handles the complete requests in the input buffer, until it needs more
 * input or half the output buffer is taken (the rest waits until the
 * peer has read what is pending: bounded buffers, pipelining allowed). */
static enum progress process(struct conn *c)
{
	for (;;) {
		struct request rq;
		char *end;
		bool done = false, bad = false;

		if (c->out_len > OUT_CAP / 2)
			return P_OUTPUT_FULL;
		if (c->body != BODY_NONE) {
			size_t used = skip_body(c, &done, &bad);

			consume(c, used);
			if (bad)
				return P_ERROR;
			if (!done)
				return P_NEED_INPUT;
			c->body = BODY_NONE;
			if (g_sink) {
				g_requests++;
				respond_sink(c);
			}
			continue;
		}
		end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
		if (!end) /* a head larger than the buffer is an error */
			return c->in_len < IN_CAP ? P_NEED_INPUT : P_ERROR;
		end += 4;
		if (!parse_head(c->in, end, &rq))
			return P_ERROR;

		const struct header *conn_h = find_header(&rq, "connection");
		const struct header *cl = find_header(&rq, "content-length");
		const struct header *te = find_header(&rq, "transfer-encoding");

		c->close_after = rq.minor == 0
					 ? !header_has_token(conn_h, "keep-alive")
					 : header_has_token(conn_h, "close");
		if (te && header_has_token(te, "chunked")) {
			c->body = BODY_CHUNKED;
			c->chunk = CH_SIZE;
		} else if (cl) {
			c->body_left = strtoull(cl->value, NULL, 10);
			c->body = c->body_left ? BODY_LENGTH : BODY_NONE;
		}
		if (g_sink) {
			if (header_has_token(find_header(&rq, "expect"),
					     "100-continue"))
				out_str(c, "HTTP/1.1 100 Continue\r\n\r\n");
			if (c->body == BODY_NONE) {
				g_requests++;
				respond_sink(c);
			}
		} else {
			g_requests++;
			c->unanswered++;
			respond(c, &rq);
		}
		consume(c, (size_t)(end - c->in));
		if (c->close_after)
			return P_NEED_INPUT; /* nothing after a closing request */
	}
}

/* Writes pending output.  Returns -1 on a dead connection, 0 when all is
 * written, 1 when the socket is full (EPOLLOUT armed). */
static int flush_out(int ep, struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off,
				  c->out_len - c->out_off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				/* Only writability matters until the peer
				 * has read this: no new input is taken. */
				struct epoll_event ev = { .events = EPOLLOUT,
							  .data.fd = c->fd };

				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				return 1;
			}
			return -1;
		}
		c->out_off += (size_t)n;
	}
	service_done(c);
	if (c->out_len) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = c->fd };

		c->out_len = c->out_off = 0;
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
	return 0;
}

/* Runs requests and writes responses until input runs out, the socket is
 * full, or the connection ends. */
static void drive(int ep, struct conn *c)
{
	for (;;) {
		enum progress p = process(c);
		int w;

		if (p == P_ERROR) {
			conn_close(ep, c);
			return;
		}
		w = flush_out(ep, c);
		if (w < 0 || (w == 0 && c->close_after)) {
			conn_close(ep, c);
			return;
		}
		if (w > 0 || p == P_NEED_INPUT)
			return;
	}
}

static void on_readable(int ep, struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->in_len == IN_CAP)
			break;
		n = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
		if (n == 0) {
			conn_close(ep, c);
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			conn_close(ep, c);
			return;
		}
		c->in_len += (size_t)n;
		c->t_in = ticks();
	}
	drive(ep, c);
}

static void on_accept(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int one = 1;
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c;

		if (fd < 0)
			return;
		if (fd >= MAX_FDS || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		g_conns[fd] = c;
		ev.data.fd = fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
}

static int listen_on(int port, int *bound)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 1024) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
		close(fd);
		return -1;
	}
	*bound = ntohs(a.sin_port);
	return fd;
}

/* Writes the port to `path` atomically (the driver polls for it). */
static int write_port_file(const char *path, int port)
{
	char tmp[4096];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: spanring-bench-server [--port N] [--port-file PATH]\n"
		"           [--sink] [--probe] [--poll] [--max-seconds N]\n"
		"           [--requests N] [--mark-after N] [--stats-file PATH]\n"
		"  --port N         listen on 127.0.0.1:N (0: any free port)\n"
		"  --port-file P    write the bound port to P once listening\n"
		"  --sink           accept and discard request bodies (a local\n"
		"                   OTLP/HTTP receiver), answer 200\n"
		"  --probe          start the tracing pipeline from the environment\n"
		"                   and exit 0 if every exporter started, else 3\n"
		"  --poll           poll for events, yielding when idle, instead of\n"
		"                   blocking in epoll_wait\n"
		"  --requests N     close the window and exit after N requests\n"
		"  --mark-after N   open the measurement window after N requests\n"
		"                   (else at SIGUSR1; SIGUSR2 closes it)\n"
		"  --max-seconds N  stop after N seconds (default 900)\n"
		"  --stats-file P   write the exit report (one JSON line) to P\n");
}

/* The window as JSON: service-time percentiles (ns), CPU time of the
 * request thread and of every other thread by name (ns), over `requests`
 * requests and `wall_ns`. */
static int window_json(char *buf, size_t cap)
{
	const struct snapshot *a = &g_win.start, *b = &g_win.end;
	const struct loghist *h = &g_win.service;
	double tpn;
	int n, k;

	if (!g_win.open)
		return snprintf(buf, cap, "null");
	if (!g_win.closed)
		window_close();
	tpn = b->mono > a->mono ? (double)(b->tsc - a->tsc) / (double)(b->mono - a->mono)
				: 1.0;
	if (tpn <= 0)
		tpn = 1.0;
#define NS(x) ((unsigned long long)((double)(x) / tpn))
	n = snprintf(buf, cap,
		     "{\"requests\":%llu,\"wall_ns\":%llu,\"ticks_per_ns\":%.4f,"
		     "\"service_ns\":{\"n\":%llu,\"mean\":%llu,\"p50\":%llu,"
		     "\"p90\":%llu,\"p99\":%llu,\"p99_9\":%llu,\"max\":%llu},"
		     "\"request_thread_cpu_ns\":%llu,\"threads_cpu_ns\":{",
		     (unsigned long long)(b->requests - a->requests),
		     (unsigned long long)(b->mono - a->mono), tpn,
		     (unsigned long long)h->n,
		     h->n ? NS(h->sum / h->n) : 0ull, NS(lh_quantile(h, 0.5)),
		     NS(lh_quantile(h, 0.9)), NS(lh_quantile(h, 0.99)),
		     NS(lh_quantile(h, 0.999)), NS(h->max),
		     (unsigned long long)(b->thread_cpu - a->thread_cpu));
#undef NS
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && n > 0 && (size_t)n < cap)
			n += snprintf(buf + n, cap - (size_t)n, "},\"threads_runs\":{");
		for (k = 0; k < b->ntask && n > 0 && (size_t)n < cap; k++) {
			const struct task_cpu *before =
				taskstat_find(a->task, a->ntask, b->task[k].comm);

			n += snprintf(buf + n, cap - (size_t)n, "%s\"%s\":%llu",
				      k ? "," : "", b->task[k].comm,
				      (unsigned long long)(pass == 0
					      ? b->task[k].ns - (before ? before->ns : 0)
					      : b->task[k].runs - (before ? before->runs : 0)));
		}
	}
	if (n > 0 && (size_t)n < cap)
		n += snprintf(buf + n, cap - (size_t)n, "}}");
	return n;
}

static void report_stats(const char *path)
{
	char json[2048] = "{}", win[2048], line[4200];
#ifndef SR_COMPILED_OUT
	sr_stats_t st = { .size = sizeof(st) };
	uint64_t lost = 0;
#endif

	/* Before the shutdown: its final drain is not the window's. */
	window_json(win, sizeof(win));
#ifdef SRB_FLOOR
	if (!g_sink) {
		srb_floor_stop();
		snprintf(json, sizeof(json), "{\"floor_dropped\":%llu}",
			 (unsigned long long)srb_floor_drops());
	}
#endif
#ifndef SR_COMPILED_OUT
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	if (!g_sink && sr_is_running()) {
		sr_shutdown(5000, &lost);
		if (sr_stats_get(&st) == 0)
			sr_stats_to_json(&st, json, sizeof(json));
	}
#endif
	snprintf(line, sizeof(line),
		 "{\"requests\":%llu,\"body_bytes\":%llu,\"window\":%s,"
		 "\"tracing\":%s}\n",
		 (unsigned long long)g_requests,
		 (unsigned long long)g_body_bytes, win, json);
	fputs(line, stderr);
	if (path) {
		FILE *f = fopen(path, "w");

		if (f) {
			fputs(line, f);
			fclose(f);
		}
	}
}

int main(int argc, char **argv)
{
	const char *port_file = NULL, *stats_file = NULL;
	int port = 0, bound = 0, lfd, ep;
	long max_seconds = 900;
	uint64_t max_requests = 0, mark_after = 0;
	bool probe = false, poll = false;
	uint64_t deadline;
	struct sigaction sa;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--sink") == 0)
			g_sink = true;
		else if (strcmp(a, "--probe") == 0)
			probe = true;
		else if (strcmp(a, "--poll") == 0)
			poll = true;
		else if (strcmp(a, "--port") == 0 && v)
			port = atoi(argv[++i]);
		else if (strcmp(a, "--port-file") == 0 && v)
			port_file = argv[++i];
		else if (strcmp(a, "--stats-file") == 0 && v)
			stats_file = argv[++i];
		else if (strcmp(a, "--max-seconds") == 0 && v)
			max_seconds = atol(argv[++i]);
		else if (strcmp(a, "--requests") == 0 && v)
			max_requests = strtoull(argv[++i], NULL, 10);
		else if (strcmp(a, "--mark-after") == 0 && v)
			mark_after = strtoull(argv[++i], NULL, 10);
		else if (strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}

#ifndef SR_COMPILED_OUT
	if (!g_sink) {
		int rc = sr_init_from_env();

		if (rc != 0) {
			fprintf(stderr, "spanring-bench-server: sr_init: %s: %s\n",
				sr_strerror(rc), sr_last_error());
			if (sr_is_running())
				sr_shutdown(1000, NULL);
			return 3;
		}
		g_tracer = sr_tracer_get("spanring-bench-server", "1");
	}
#endif
#ifdef SRB_FLOOR
	if (!g_sink) {
		sr_config_t cfg;

		sr_config_init(&cfg);
		srb_floor_start(SR__CFG_RECORDS(cfg.ring_records));
	}
#endif
	if (probe) {
#ifndef SR_COMPILED_OUT
		if (sr_is_running())
			sr_shutdown(1000, NULL);
#endif
		return 0;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lfd = listen_on(port, &bound);
	if (lfd < 0) {
		perror("spanring-bench-server: listen");
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };

		epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	}
	if (port_file && write_port_file(port_file, bound) != 0) {
		perror("spanring-bench-server: port file");
		return 1;
	}
	deadline = mono_ns() + (uint64_t)max_seconds * 1000000000ull;
	if (!g_sink && !mark_after)
		window_mark(); /* the whole run, unless a mark comes */

	while (!g_stop && mono_ns() < deadline) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, poll ? 0 : 100);

		if (n == 0 && poll)
			sched_yield();

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			struct conn *c;

			if (fd == lfd) {
				on_accept(ep, lfd);
				continue;
			}
			c = g_conns[fd];
			if (!c)
				continue;
			if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
				conn_close(ep, c);
				continue;
			}
			if (evs[i].events & EPOLLIN)
				on_readable(ep, c);
			else if (evs[i].events & EPOLLOUT)
				drive(ep, c);
		}
		if (g_mark_req || (mark_after && g_requests >= mark_after &&
				   !g_win.open)) {
			g_mark_req = 0;
			window_mark();
		}
		if (g_close_req) {
			g_close_req = 0;
			window_close();
		}
		if (max_requests && g_requests >= max_requests) {
			window_close();
			break;
		}
	}
	for (int fd = 0; fd < MAX_FDS; fd++)
		if (g_conns[fd])
			conn_close(ep, g_conns[fd]);
	close(lfd);
	close(ep);
	report_stats(stats_file);
	return 0;
}
