/*
 * loadgen.c - the open-loop HTTP/1.1 load generator bench/run.sh drives
 * the bench server with (Debian ships wrk, not wrk2).
 *
 * One thread, one epoll loop, N keep-alive connections to 127.0.0.1.
 * Open loop (--rate R): request i is due at t0 + i / R, on connection
 * i mod N, whether or not earlier answers have come back (a connection
 * pipelines up to --pipeline requests; a due request beyond that waits
 * its turn).  Its latency runs from the time it was *due*, not from when
 * it went out: a server that stalls is charged for every request that
 * should have been sent during the stall (no coordinated omission, as in
 * wrk2).  epoll_pwait2's nanosecond timeout (timer slack 1 ns) paces the
 * schedule: the loop sleeps until the next due time or an answer, and
 * every request due by then goes out, one write per connection.  Closed loop (--rate 0): each connection sends its next
 * request when the answer to the last arrives, as wrk does; latency from
 * the actual send.
 *
 * Phases: --warmup seconds (answers not counted), then --duration seconds
 * whose due requests are measured; with --mark-pid, the server gets
 * SIGUSR1 when the measured phase starts and SIGUSR2 when it ends, so
 * its own window (service time, CPU) covers the same requests.  After
 * the measured phase it waits up to --drain seconds for the answers still
 * out.  --requests N instead stops after N answers (closed loop: for the
 * server under callgrind).
 *
 * Output, one JSON line on stdout: requests due, sent, answered (in the
 * measured phase), errors, unanswered, the achieved rate, latency
 * percentiles (ns, log-bucket histogram, loghist.h) and how late the
 * generator itself sent (send_lag_ns: if that grows, the client, not the
 * server, was the bottleneck).
 *
 * What it leaves out: TLS, request bodies, responses other than
 * Content-Length framed, addresses other than IPv4 loopback.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loghist.h"

#define QCAP 4096u       /* due times queued per connection (power of 2) */
#define IN_CAP 65536
#define OUT_CAP 65536

struct conn {
	int fd;
	uint64_t due[QCAP];      /* due time of each request not yet answered,
	                            sent or waiting to be                       */
	uint32_t q_head;         /* oldest unanswered                          */
	uint32_t q_sent;         /* first not yet sent                         */
	uint32_t q_tail;         /* next free                                  */
	size_t in_len, out_len, out_off;
	bool want_out;
	char in[IN_CAP];
	char out[OUT_CAP];
};

static struct {
	int nconns, pipeline;
	double rate;
	uint64_t requests_max;
	const char *req;
	size_t req_len;
	struct conn *c;
	int ep;
	/* measured phase [m0, m1) in due time */
	uint64_t m0, m1;
	uint64_t due, sent, answered, errors, overrun;
	uint64_t answered_all;
	bool no_more;            /* the measured phase is over: send nothing new */
	struct loghist lat, lag;
} G;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "spanring-loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void set_events(struct conn *c, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0u),
				  .data.ptr = c };

	if (c->want_out == out)
		return;
	c->want_out = out;
	if (epoll_ctl(G.ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die("epoll_ctl");
}

static void flush_out(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			die("write");
		}
		c->out_off += (size_t)n;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	set_events(c, c->out_len != 0);
}

/* Sends the queued requests this connection may have in flight. */
static void send_queued(struct conn *c, uint64_t now)
{
	bool any = false;

	while (c->q_sent != c->q_tail &&
	       c->q_sent - c->q_head < (uint32_t)G.pipeline &&
	       c->out_len + G.req_len <= OUT_CAP) {
		uint64_t due = c->due[c->q_sent & (QCAP - 1)];

		memcpy(c->out + c->out_len, G.req, G.req_len);
		c->out_len += G.req_len;
		if (due >= G.m0 && due < G.m1) {
			lh_add(&G.lag, now > due ? now - due : 0);
			G.sent++;
		}
		c->q_sent++;
		any = true;
	}
	if (any && !c->want_out)
		flush_out(c);
}

static void enqueue(struct conn *c, uint64_t due)
{
	if (c->q_tail - c->q_head == QCAP) {
		G.overrun++; /* the server is that far behind: not sent */
		return;
	}
	c->due[c->q_tail++ & (QCAP - 1)] = due;
}

/* One complete response at the start of c->in?  Returns its length, 0 if
 * incomplete; *ok tells a 2xx status. */
static size_t response_len(const struct conn *c, bool *ok)
{
	const char *p = c->in, *end = memmem(p, c->in_len, "\r\n\r\n", 4);
	size_t head, body = 0;

	if (!end)
		return 0;
	head = (size_t)(end - p) + 4;
	*ok = c->in_len >= 12 && memcmp(p, "HTTP/1.", 7) == 0 && p[9] == '2';
	for (const char *l = p; l < end;) {
		const char *eol = memmem(l, (size_t)(end - l) + 2, "\r\n", 2);

		if (!eol)
			break;
		if (eol - l > 15 && strncasecmp(l, "content-length:", 15) == 0)
			body = strtoull(l + 15, NULL, 10);
		l = eol + 2;
	}
	return c->in_len >= head + body ? head + body : 0;
}

static void on_readable(struct conn *c, uint64_t *now)
{
	for (;;) {
		ssize_t n = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
		size_t len;
		bool ok = false;

		if (n == 0) {
			errno = ECONNRESET;
			die("server closed a connection");
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			die("read");
		}
		c->in_len += (size_t)n;
		*now = mono_ns();
		while ((len = response_len(c, &ok)) > 0) {
			uint64_t due;

			if (c->q_head == c->q_sent) {
				errno = EPROTO;
				die("an answer to no request");
			}
			due = c->due[c->q_head++ & (QCAP - 1)];
			G.answered_all++;
			if (due >= G.m0 && due < G.m1) {
				G.answered++;
				if (ok)
					lh_add(&G.lat, *now - due);
				else
					G.errors++;
			}
			memmove(c->in, c->in + len, c->in_len - len);
			c->in_len -= len;
			if (G.rate <= 0 && !G.no_more && (!G.requests_max ||
					    G.answered_all + (c->q_tail - c->q_head) <
						    G.requests_max))
				enqueue(c, *now); /* closed loop: the next one */
		}
		if (c->in_len == IN_CAP) {
			errno = EMSGSIZE;
			die("response larger than the buffer");
		}
	}
	send_queued(c, *now);
}

static int connect_one(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect to 127.0.0.1");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		die("O_NONBLOCK");
	return fd;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: spanring-loadgen --port N [--path P] [--conns N] [--rate R]\n"
		"           [--duration S] [--warmup S] [--drain S] [--pipeline K]\n"
		"           [--requests N] [--mark-pid PID] [--header 'Name: value']...\n"
		"  --rate R       requests/s, open loop, all connections together\n"
		"                 (default 0: closed loop, one in flight per connection)\n"
		"  --duration S   measured seconds (default 3), after --warmup S (1)\n"
		"  --drain S      wait this long for answers still out (default 2)\n"
		"  --pipeline K   requests in flight per connection (default 64)\n"
		"  --requests N   closed loop: stop after N answers (no phases)\n"
		"  --mark-pid P   SIGUSR1 to P when the measured phase starts,\n"
		"                 SIGUSR2 when it ends\n");
}

static void print_hist(const char *name, const struct loghist *h, bool last)
{
	printf("\"%s\":{\"n\":%llu,\"mean\":%llu,\"p50\":%llu,\"p90\":%llu,"
	       "\"p99\":%llu,\"p99_9\":%llu,\"max\":%llu}%s",
	       name, (unsigned long long)h->n,
	       (unsigned long long)(h->n ? h->sum / h->n : 0),
	       (unsigned long long)lh_quantile(h, 0.5),
	       (unsigned long long)lh_quantile(h, 0.9),
	       (unsigned long long)lh_quantile(h, 0.99),
	       (unsigned long long)lh_quantile(h, 0.999),
	       (unsigned long long)h->max, last ? "" : ",");
}

int main(int argc, char **argv)
{
	const char *path = "/", *hdrs[16];
	int port = 0, nh = 0;
	double duration = 3, warmup = 1, drain = 2;
	pid_t mark_pid = 0;
	uint64_t t0, now, next_due, i_next = 0, interval = 0, end_send, drain_end = 0;
	bool marked = false, closed = false;
	char req[2048];
	int rl;

	G.nconns = 1;
	G.pipeline = 64;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v) {
			usage(stderr);
			return 2;
		}
		if (strcmp(a, "--port") == 0)
			port = atoi(v);
		else if (strcmp(a, "--path") == 0)
			path = v;
		else if (strcmp(a, "--conns") == 0)
			G.nconns = atoi(v);
		else if (strcmp(a, "--rate") == 0)
			G.rate = atof(v);
		else if (strcmp(a, "--duration") == 0)
			duration = atof(v);
		else if (strcmp(a, "--warmup") == 0)
			warmup = atof(v);
		else if (strcmp(a, "--drain") == 0)
			drain = atof(v);
		else if (strcmp(a, "--pipeline") == 0)
			G.pipeline = atoi(v);
		else if (strcmp(a, "--requests") == 0)
			G.requests_max = strtoull(v, NULL, 10);
		else if (strcmp(a, "--mark-pid") == 0)
			mark_pid = (pid_t)atoi(v);
		else if (strcmp(a, "--header") == 0 && nh < 16)
			hdrs[nh++] = v;
		else {
			usage(stderr);
			return 2;
		}
		i++;
	}
	if (port <= 0 || port > 65535 || G.nconns < 1 || G.nconns > 4096 ||
	    G.pipeline < 1 || G.pipeline > (int)QCAP || G.rate < 0 ||
	    duration <= 0 || warmup < 0 || drain < 0) {
		fprintf(stderr, "spanring-loadgen: bad or missing argument "
				"(--port 1..65535, --conns 1..4096, --pipeline 1..%u, "
				"--rate >= 0, --duration > 0)\n", QCAP);
		return 2;
	}
	if (G.rate <= 0)
		G.pipeline = 1;

	rl = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n",
		      path, port);
	for (int k = 0; k < nh; k++)
		rl += snprintf(req + rl, sizeof(req) - (size_t)rl, "%s\r\n", hdrs[k]);
	rl += snprintf(req + rl, sizeof(req) - (size_t)rl, "\r\n");
	if (rl >= (int)sizeof(req)) {
		fprintf(stderr, "spanring-loadgen: headers too long\n");
		return 2;
	}
	G.req = req;
	G.req_len = (size_t)rl;

	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	G.ep = epoll_create1(EPOLL_CLOEXEC);
	if (G.ep < 0)
		die("epoll_create1");
	G.c = calloc((size_t)G.nconns, sizeof(*G.c));
	if (!G.c)
		die("calloc");
	for (int k = 0; k < G.nconns; k++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &G.c[k] };

		G.c[k].fd = connect_one(port);
		epoll_ctl(G.ep, EPOLL_CTL_ADD, G.c[k].fd, &ev);
	}

	t0 = mono_ns();
	if (G.requests_max) { /* closed loop for a count: all measured */
		G.m0 = 0;
		G.m1 = UINT64_MAX;
		end_send = UINT64_MAX;
	} else {
		G.m0 = t0 + (uint64_t)(warmup * 1e9);
		G.m1 = G.m0 + (uint64_t)(duration * 1e9);
		end_send = G.m1;
	}
	if (G.rate > 0) {
		interval = (uint64_t)(1e9 / G.rate);
		if (!interval)
			interval = 1;
		next_due = t0;
	} else {
		/* Closed loop: one request per connection to start. */
		for (int k = 0; k < G.nconns; k++)
			if (!G.requests_max || (uint64_t)k < G.requests_max) {
				enqueue(&G.c[k], t0);
				send_queued(&G.c[k], t0);
			}
		next_due = UINT64_MAX;
	}

	for (;;) {
		struct epoll_event evs[64];
		uint64_t outstanding = 0, wake;
		struct timespec ts;
		int n;

		now = mono_ns();
		if (!marked && now >= G.m0) {
			marked = true;
			if (mark_pid)
				kill(mark_pid, SIGUSR1);
		}
		if (!closed && now >= end_send) {
			closed = true;
			G.no_more = true;
			drain_end = now + (uint64_t)(drain * 1e9);
			if (mark_pid)
				kill(mark_pid, SIGUSR2);
		}
		if (G.rate > 0 && !closed && next_due <= now) {
			/* Everything due by now, each on its connection; then
			 * one write per connection. */
			while (next_due <= now && next_due < end_send) {
				struct conn *c = &G.c[i_next % (uint64_t)G.nconns];

				if (next_due >= G.m0 && next_due < G.m1)
					G.due++;
				enqueue(c, next_due);
				i_next++;
				next_due = t0 + i_next * interval;
			}
			for (int k = 0; k < G.nconns; k++)
				send_queued(&G.c[k], now);
		}
		for (int k = 0; k < G.nconns; k++)
			outstanding += G.c[k].q_tail - G.c[k].q_head;
		if (G.requests_max && G.answered_all >= G.requests_max)
			break;
		if (closed && (outstanding == 0 || now >= drain_end))
			break;

		/* Sleep until the next due request or phase change. */
		wake = closed ? drain_end : end_send;
		if (!marked && G.m0 < wake)
			wake = G.m0;
		if (G.rate > 0 && !closed && next_due < wake)
			wake = next_due;
		if (wake == UINT64_MAX) {
			n = epoll_wait(G.ep, evs, 64, -1);
		} else {
			uint64_t d = wake > now ? wake - now : 0;

			ts.tv_sec = (time_t)(d / 1000000000ull);
			ts.tv_nsec = (long)(d % 1000000000ull);
			n = epoll_pwait2(G.ep, evs, 64, &ts, NULL);
		}
		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;

			now = mono_ns();
			if (evs[k].events & EPOLLOUT)
				flush_out(c);
			if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_readable(c, &now);
		}
	}

	{
		uint64_t unanswered = 0;
		double secs = G.requests_max ? (double)(mono_ns() - t0) / 1e9 : duration;

		for (int k = 0; k < G.nconns; k++)
			unanswered += G.c[k].q_tail - G.c[k].q_head;
		if (G.rate <= 0)
			G.due = G.sent;
		printf("{\"mode\":\"%s\",\"rate\":%.0f,\"conns\":%d,\"pipeline\":%d,"
		       "\"duration_s\":%.3f,\"due\":%llu,\"sent\":%llu,\"answered\":%llu,"
		       "\"errors\":%llu,\"unanswered\":%llu,\"overrun\":%llu,"
		       "\"achieved_rps\":%.1f,",
		       G.rate > 0 ? "open" : "closed", G.rate, G.nconns, G.pipeline,
		       secs, (unsigned long long)G.due, (unsigned long long)G.sent,
		       (unsigned long long)G.answered, (unsigned long long)G.errors,
		       (unsigned long long)unanswered, (unsigned long long)G.overrun,
		       (double)G.answered / secs);
		print_hist("latency_ns", &G.lat, false);
		print_hist("send_lag_ns", &G.lag, true);
		printf("}\n");
	}
	for (int k = 0; k < G.nconns; k++)
		close(G.c[k].fd);
	return 0;
}
