/*
 * w3c_service.c - a test service for the official W3C trace-context test
 * suite (w3c/trace-context, test/test.py), on spanring's public API.
 *
 * The suite POSTs to this service a JSON array of actions
 * [{"url": U, "arguments": A}, ...] with the trace headers of a test
 * case; for each action the service POSTs A (raw JSON) to U, a callback
 * into the harness, carrying the trace context it would propagate (see
 * w3c_flow.h: extract, server span, client span per call, inject).  The
 * harness then checks the callbacks' traceparent and tracestate.
 *
 *   w3c-service [--port N] [--port-file FILE]
 *
 * listens on 127.0.0.1:N (0 = any free port, written to FILE), serves
 * one connection at a time until SIGINT or SIGTERM, and calls out only
 * to 127.0.0.1.  Run the suite against http://127.0.0.1:N/test with
 * STRICT_LEVEL=2 SPEC_LEVEL=2 (tests/w3c/README.md).
 *
 * Deliberately small HTTP/1.1: Content-Length bodies, Connection: close,
 * 5 s socket timeouts; small JSON: only the action array is parsed, the
 * arguments are passed on as the bytes they arrived as.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "w3c_flow.h"

#define MAX_HEAD 32768
#define MAX_BODY 65536
#define MAX_FIELDS 64
#define MAX_OUT 16384

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void timeouts(int fd)
{
	struct timeval tv = { 5, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A message read off a socket: head, fields, body. */
struct msg {
	char buf[MAX_HEAD + MAX_BODY + 1];
	size_t len, head;     /* bytes read; length of the head       */
	char *start;          /* request or status line              */
	sr_header_t f[MAX_FIELDS];
	size_t nf;
	const char *body;
	size_t body_len;
};

/* Read a head and a Content-Length body (or up to EOF if none). */
static int read_msg(int fd, struct msg *m)
{
	char *end = NULL, *line, *next;
	size_t want = 0;
	bool have_len = false;

	m->len = m->nf = 0;
	while (!end) {
		ssize_t r = read(fd, m->buf + m->len, MAX_HEAD - m->len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		m->len += (size_t)r;
		m->buf[m->len] = '\0';
		end = strstr(m->buf, "\r\n\r\n");
		if (!end && m->len == MAX_HEAD)
			return -1;
	}
	m->head = (size_t)(end - m->buf) + 4;
	end[2] = '\0';
	m->start = m->buf;
	line = strstr(m->buf, "\r\n");
	*line = '\0';
	for (line += 2; *line; line = next) {
		char *colon;

		next = strstr(line, "\r\n");
		*next = '\0';
		next += 2;
		colon = strchr(line, ':');
		if (!colon || m->nf == MAX_FIELDS)
			continue;
		/* The value as it came after the colon: the parsers trim
		 * OWS themselves. */
		m->f[m->nf++] = (sr_header_t){ line, (size_t)(colon - line),
					       colon + 1, strlen(colon + 1) };
		if ((size_t)(colon - line) == 14 &&
		    strncasecmp(line, "content-length", 14) == 0) {
			want = strtoul(colon + 1, NULL, 10);
			have_len = true;
		}
	}
	if (want > MAX_BODY)
		return -1;
	while (have_len ? m->len - m->head < want : m->len < sizeof(m->buf) - 1) {
		ssize_t r = read(fd, m->buf + m->len, sizeof(m->buf) - 1 - m->len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		m->len += (size_t)r;
	}
	m->buf[m->len] = '\0';
	m->body = m->buf + m->head;
	m->body_len = m->len - m->head;
	return 0;
}

/* ---- JSON: just enough for [{"url": "...", "arguments": ...}, ...] --- */

static const char *ws(const char *p, const char *e)
{
	while (p < e && isspace((unsigned char)*p))
		p++;
	return p;
}

/* Skip one JSON value; NULL if malformed. */
static const char *skip_value(const char *p, const char *e)
{
	int depth = 0;

	p = ws(p, e);
	do {
		if (p >= e)
			return NULL;
		if (*p == '"') {
			for (p++; p < e && *p != '"'; p++)
				if (*p == '\\')
					p++;
			if (p >= e)
				return NULL;
			p++;
		} else if (*p == '[' || *p == '{') {
			depth++;
			p++;
		} else if (*p == ']' || *p == '}') {
			depth--;
			p++;
		} else {
			while (p < e && !strchr(",]} \t\r\n", *p))
				p++;
		}
		if (depth)
			while (p < e && (isspace((unsigned char)*p) ||
					 *p == ',' || *p == ':'))
				p++;
	} while (depth > 0);
	return p;
}

struct action {
	char url[512];
	const char *args; /* raw JSON, or NULL */
	size_t args_len;
};

/* Parse one {"url": ..., "arguments": ...} at *pp. */
static int parse_action(const char **pp, const char *e, struct action *a)
{
	const char *p = ws(*pp, e);

	memset(a, 0, sizeof(*a));
	if (p >= e || *p != '{')
		return -1;
	p = ws(p + 1, e);
	while (p < e && *p != '}') {
		const char *k = p + 1, *ke, *v, *ve;

		if (*p != '"' || !(ke = memchr(k, '"', (size_t)(e - k))))
			return -1;
		p = ws(ke + 1, e);
		if (p >= e || *p != ':')
			return -1;
		v = ws(p + 1, e);
		if (!(ve = skip_value(v, e)))
			return -1;
		if (ke - k == 3 && !memcmp(k, "url", 3) && *v == '"') {
			size_t n = 0;

			for (const char *c = v + 1; c < ve - 1 && n + 1 < sizeof(a->url); c++) {
				if (*c == '\\')
					c++;
				a->url[n++] = *c;
			}
			a->url[n] = '\0';
		} else if (ke - k == 9 && !memcmp(k, "arguments", 9) &&
			   strncmp(v, "null", 4) != 0) {
			a->args = v;
			a->args_len = (size_t)(ve - v);
		}
		p = ws(ve, e);
		if (p < e && *p == ',')
			p = ws(p + 1, e);
	}
	if (p >= e || !a->url[0])
		return -1;
	*pp = p + 1;
	return 0;
}

/* ---- outgoing call --------------------------------------------------- */

struct out_headers {
	char buf[MAX_OUT];
	size_t len;
};

static void set_header(void *carrier, const char *key, const char *value,
		       size_t len)
{
	struct out_headers *o = carrier;
	int n = snprintf(o->buf + o->len, sizeof(o->buf) - o->len,
			 "%s: %.*s\r\n", key, (int)len, value);

	if (n > 0 && (size_t)n < sizeof(o->buf) - o->len)
		o->len += (size_t)n;
}

/* POST body to url (http://127.0.0.1:PORT/PATH only) with the extra
 * header lines; reads the response to the end.  0 or -1. */
static int post(const char *url, const char *body, size_t body_len,
		const struct out_headers *extra)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	static struct msg resp;
	char head[MAX_OUT + 512], host[64];
	const char *hp = url + 7, *path;
	unsigned port;
	int fd, n, rc;

	if (strncmp(url, "http://", 7) != 0 || !(path = strchr(hp, '/')) ||
	    sscanf(hp, "%63[^:/]:%u", host, &port) != 2 ||
	    strcmp(host, "127.0.0.1") != 0 || port > 65535) {
		fprintf(stderr, "w3c-service: refusing url %s (loopback only)\n", url);
		return -1;
	}
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	timeouts(fd);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	n = snprintf(head, sizeof(head),
		     "POST %s HTTP/1.1\r\nHost: %s:%u\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n%.*s\r\n",
		     path, host, port, body_len, (int)extra->len, extra->buf);
	rc = n > 0 && (size_t)n < sizeof(head) && !write_all(fd, head, (size_t)n) &&
			     !write_all(fd, body, body_len)
		     ? read_msg(fd, &resp)
		     : -1;
	close(fd);
	return rc;
}

/* ---- one request ------------------------------------------------------ */

static void serve(int fd, const sr_propagator_t *p)
{
	static struct msg req;
	static struct w3c_request r;
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				 "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
	static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
				  "Connection: close\r\n\r\n";
	const char *b, *e;
	bool good = true;

	if (read_msg(fd, &req))
		return;
	w3c_begin(&r, p, req.f, req.nf);
	b = ws(req.body, req.body + req.body_len);
	e = req.body + req.body_len;
	if (b < e && *b == '[') {
		for (b = ws(b + 1, e); b < e && *b != ']'; b = ws(b, e)) {
			struct action act;
			struct out_headers out = { .len = 0 };
			sr_span_t client;

			if (parse_action(&b, e, &act)) {
				good = false;
				break;
			}
			w3c_call(&r, p, &client, &out, set_header);
			if (post(act.url, act.args ? act.args : "[]",
				 act.args ? act.args_len : 2, &out))
				fprintf(stderr, "w3c-service: call to %s failed\n", act.url);
			sr_span_end(&client);
			if (b < e && *b == ',')
				b++;
		}
	}
	w3c_end(&r);
	write_all(fd, good ? ok : bad, good ? sizeof(ok) - 1 : sizeof(bad) - 1);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	const char *port_file = NULL;
	sr_propagator_t *p;
	sr_config_t cfg;
	unsigned port = 0;
	int lfd, one = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--port-file") && i + 1 < argc)
			port_file = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--port N] [--port-file FILE]\n", argv[0]);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	{
		/* No SA_RESTART: accept() must return EINTR to see g_stop. */
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	sr_config_init(&cfg);
	cfg.exporters = "none";
	if (sr_init(&cfg) || sr_propagator_create("tracecontext,baggage", &p)) {
		fprintf(stderr, "w3c-service: %s\n", sr_last_error());
		return 1;
	}
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(lfd, 16) || getsockname(lfd, (struct sockaddr *)&a, &al)) {
		perror("w3c-service: listen");
		return 1;
	}
	if (port_file) {
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		f = fopen(tmp, "w");
		if (!f || fprintf(f, "%u\n", ntohs(a.sin_port)) < 0 || fclose(f) ||
		    rename(tmp, port_file)) {
			perror("w3c-service: port file");
			return 1;
		}
	}
	fprintf(stderr, "w3c-service: listening on http://127.0.0.1:%u/test\n",
		ntohs(a.sin_port));
	while (!g_stop) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		timeouts(fd);
		serve(fd, p);
		close(fd);
	}
	close(lfd);
	sr_propagator_destroy(p);
	sr_shutdown(5000, NULL);
	return 0;
}
