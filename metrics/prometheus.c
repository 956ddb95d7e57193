/*
 * prometheus.c - OTEL_METRICS_EXPORTER=prometheus: a library thread
 * ("sr-metrics") serving GET /metrics in the Prometheus text format on
 * OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT (the
 * specification's defaults, localhost:9464: loopback unless asked).
 *
 * One thread, poll(): the listening socket, at most MAX_CONN open
 * connections, and a pipe that stop() writes to.  A request must arrive
 * whole (headers up to REQ_MAX bytes) within REQ_TIMEOUT_MS of the
 * connection, or the connection is closed (408); past MAX_CONN the
 * listening socket is not polled and new connections wait in the
 * kernel's backlog; the answer is written with a send timeout, and every
 * connection closes after its answer.  So a slow or idle client holds one
 * slot for at most a few seconds and cannot stall the others for longer.
 * Answers: 200 for GET or HEAD /metrics (query ignored), 404 for another
 * path, 405 for another method, 400 for what is not an HTTP/1.x request
 * line, 431 for headers too long.
 *
 * The body is written into one buffer that grows to the largest answer
 * and is then reused (bounded by the series the processors keep).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "metrics_int.h"
#include "metrics_table_int.h"
#include "thread_start_int.h"
#include "prom_text_int.h"

#define MAX_CONN 8
#define REQ_MAX 8192
#define REQ_TIMEOUT_MS 3000
#define SEND_TIMEOUT_MS 2000

struct conn {
	int fd;                  /* -1: free                          */
	uint64_t deadline_ms;
	size_t len;
	char req[REQ_MAX];
};

struct sr__prom_server {
	int lfd;
	int wake[2];             /* stop() writes one byte            */
	uint16_t port;
	pthread_t thread;
	struct conn conns[MAX_CONN];
	struct sr__prom_text text;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* timeout or peer gone: give up on it */
		p += w;
		n -= (size_t)w;
	}
}

static void answer(int fd, const char *status, const char *type,
		   const char *body, size_t len, bool head)
{
	char h[256];
	int n = snprintf(h, sizeof(h),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "%sConnection: close\r\n\r\n",
			 status, type, len,
			 !strncmp(status, "405", 3) ? "Allow: GET, HEAD\r\n" : "");

	send_all(fd, h, (size_t)n);
	if (!head)
		send_all(fd, body, len);
}

static void error_answer(int fd, const char *status)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%s\n", status);

	answer(fd, status, "text/plain; charset=utf-8", body, (size_t)n, false);
}

/* A whole request's headers are in c->req: answer it. */
static void handle(struct sr__prom_server *s, struct conn *c)
{
	char *line_end = memchr(c->req, '\r', c->len), *sp1, *sp2, *q;
	bool head;

	if (!line_end || !(sp1 = memchr(c->req, ' ', (size_t)(line_end - c->req))) ||
	    !(sp2 = memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1))) ||
	    line_end - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) ||
	    sp1[1] != '/') {
		error_answer(c->fd, "400 Bad Request");
		return;
	}
	head = sp1 - c->req == 4 && !memcmp(c->req, "HEAD", 4);
	if (!head && !(sp1 - c->req == 3 && !memcmp(c->req, "GET", 3))) {
		error_answer(c->fd, "405 Method Not Allowed");
		return;
	}
	q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	if ((q ? q : sp2) - (sp1 + 1) != 8 || memcmp(sp1 + 1, "/metrics", 8)) {
		error_answer(c->fd, "404 Not Found");
		return;
	}
	s->text.out.len = 0;
	s->text.family[0] = '\0';
	s->text.oom = false;
	sr__metrics_collect(sr__prom_point, &s->text);
	if (s->text.oom) {
		error_answer(c->fd, "500 Internal Server Error");
		return;
	}
	answer(c->fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8",
	       s->text.out.data, s->text.out.len, head);
}

static void close_conn(struct conn *c)
{
	close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/* Read what arrived; answer once the headers are complete. */
static void on_readable(struct sr__prom_server *s, struct conn *c)
{
	ssize_t n = recv(c->fd, c->req + c->len, REQ_MAX - c->len, 0);

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close_conn(c);
		return;
	}
	c->len += (size_t)n;
	if (memmem(c->req, c->len, "\r\n\r\n", 4)) {
		handle(s, c);
		close_conn(c);
	} else if (c->len == REQ_MAX) {
		error_answer(c->fd, "431 Request Header Fields Too Large");
		close_conn(c);
	}
}

static void on_accept(struct sr__prom_server *s)
{
	struct timeval tv = { SEND_TIMEOUT_MS / 1000, (SEND_TIMEOUT_MS % 1000) * 1000 };
	/* Blocking: reads happen only after poll() saw data; answers are
	 * written with a send timeout. */
	int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CONN; i++)
		if (s->conns[i].fd < 0) {
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			s->conns[i].fd = fd;
			s->conns[i].len = 0;
			s->conns[i].deadline_ms = now_ms() + REQ_TIMEOUT_MS;
			return;
		}
	close(fd); /* cannot happen: not polled when full */
}

static void *serve(void *arg)
{
	struct sr__prom_server *s = arg;

	for (;;) {
		struct pollfd pf[MAX_CONN + 2];
		struct conn *who[MAX_CONN + 2];
		uint64_t now = now_ms(), next = now + 60000;
		int n = 0, used = 0;

		pf[n] = (struct pollfd){ .fd = s->wake[0], .events = POLLIN };
		who[n++] = NULL;
		for (int i = 0; i < MAX_CONN; i++) {
			struct conn *c = &s->conns[i];

			if (c->fd < 0)
				continue;
			used++;
			if (now >= c->deadline_ms) {
				error_answer(c->fd, "408 Request Timeout");
				close_conn(c);
				used--;
				continue;
			}
			if (c->deadline_ms < next)
				next = c->deadline_ms;
			pf[n] = (struct pollfd){ .fd = c->fd, .events = POLLIN };
			who[n++] = c;
		}
		if (used < MAX_CONN) {
			pf[n] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
			who[n++] = NULL;
		}
		if (poll(pf, (nfds_t)n, (int)(next - now)) < 0)
			continue;
		if (pf[0].revents)
			break;
		for (int i = 1; i < n; i++) {
			if (!pf[i].revents)
				continue;
			if (who[i])
				on_readable(s, who[i]);
			else
				on_accept(s);
		}
	}
	for (int i = 0; i < MAX_CONN; i++)
		if (s->conns[i].fd >= 0)
			close_conn(&s->conns[i]);
	return NULL;
}

void sr__prom_stop(struct sr__prom_server *s)
{
	char b = 1;

	if (!s)
		return;
	if (write(s->wake[1], &b, 1) < 0) {
		/* A pipe with room: cannot fail.  The join below would hang
		 * if it did, so say so. */
		perror("spanring: metrics server stop");
	}
	pthread_join(s->thread, NULL);
	close(s->lfd);
	close(s->wake[0]);
	close(s->wake[1]);
	sr__buf_free(&s->text.out);
	free(s);
}

uint16_t sr__prom_port(const struct sr__prom_server *s)
{
	return s ? s->port : 0;
}

int sr__prom_start(struct sr__prom_server **out, const char *host,
		   uint16_t port, char *err, size_t err_len)
{
	struct sr__prom_server *s = calloc(1, sizeof(*s));
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	struct sockaddr_storage sa;
	socklen_t sl = sizeof(sa);
	char ps[8];
	int rc, one = 1;

	*out = NULL;
	if (!s)
		return SR_ENOMEM;
	s->lfd = s->wake[0] = s->wake[1] = -1;
	for (int i = 0; i < MAX_CONN; i++)
		s->conns[i].fd = -1;
	snprintf(ps, sizeof(ps), "%u", port);
	if ((rc = getaddrinfo(host, ps, &hints, &ai)) != 0) {
		snprintf(err, err_len, "OTEL_EXPORTER_PROMETHEUS_HOST=%s: %s", host,
			 gai_strerror(rc));
		goto fail;
	}
	s->lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s->lfd < 0 ||
	    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s->lfd, ai->ai_addr, ai->ai_addrlen) || listen(s->lfd, 16) ||
	    getsockname(s->lfd, (struct sockaddr *)&sa, &sl) ||
	    pipe2(s->wake, O_CLOEXEC)) {
		snprintf(err, err_len, "OTEL_EXPORTER_PROMETHEUS_HOST:PORT=%s:%u: "
			 "cannot listen: %s", host, port, strerror(errno));
		goto fail;
	}
	s->port = ntohs(sa.ss_family == AF_INET6
				? ((struct sockaddr_in6 *)&sa)->sin6_port
				: ((struct sockaddr_in *)&sa)->sin_port);
	freeaddrinfo(ai);
	ai = NULL;
	/* Started as every library thread is: no signals, a name, the
	 * SPANRING_BACKGROUND_* placement. */
	rc = sr__thread_start_named(&s->thread, "sr-metrics", serve, s);
	if (rc) {
		snprintf(err, err_len, "cannot start the metrics thread");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (ai)
		freeaddrinfo(ai);
	if (s->lfd >= 0)
		close(s->lfd);
	if (s->wake[0] >= 0) {
		close(s->wake[0]);
		close(s->wake[1]);
	}
	free(s);
	return SR_EIO;
}
