/*
 * http_mini.h - the little HTTP/1.1 the two-process propagation example
 * needs (front.c, back.c): a loopback listener on an ephemeral port whose
 * number is published in a file, reading one request or response head,
 * a header carrier for extract and inject, and writing the spans the
 * memory exporter kept to a file a test can compare.
 *
 * One request per connection (Connection: close), blocking sockets with
 * 5 s timeouts, no bodies beyond a short one.  Deliberately small: the
 * point of the example is the propagation, not the server (see
 * bench/server for that).
 */
#ifndef SR_HTTP_MINI_H
#define SR_HTTP_MINI_H

#include <arpa/inet.h>
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

#include <spanring/spanring.h>

#define HM_HEAD 16384
#define HM_FIELDS 64

struct hm_msg {
	char buf[HM_HEAD + 1];
	size_t len;
	char *line;               /* request or status line            */
	size_t body;              /* offset of the body in buf          */
	int n;
	struct {
		const char *name, *value;
		size_t nlen, vlen;
	} f[HM_FIELDS];
	char joined[HM_HEAD + 1]; /* repeated fields, combined with ',' */
};

/* Outgoing header block, filled by the inject setter. */
struct hm_out {
	char buf[HM_HEAD];
	size_t len;
};

static inline void hm_die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	exit(2);
}

static inline void hm_timeouts(int fd)
{
	struct timeval tv = { 5, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Listen on 127.0.0.1:0 and write the port to `port_file` (via rename,
 * so a reader never sees a partial file). */
static inline int hm_listen(const char *port_file)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	char tmp[4096];
	FILE *f;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		hm_die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&a, &al))
		hm_die("bind/listen");
	snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 || fclose(f) ||
	    rename(tmp, port_file))
		hm_die("port file");
	return fd;
}

static inline int hm_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	hm_timeouts(fd);
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

static inline int hm_write_all(int fd, const char *p, size_t n)
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

/* Read a message head (up to the blank line) and split its fields. */
static inline int hm_read(int fd, struct hm_msg *m)
{
	char *end = NULL, *p;

	m->len = 0;
	m->n = 0;
	while (!end) {
		ssize_t r;

		if (m->len == HM_HEAD)
			return -1;
		r = read(fd, m->buf + m->len, HM_HEAD - m->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		m->len += (size_t)r;
		m->buf[m->len] = '\0';
		end = strstr(m->buf, "\r\n\r\n");
	}
	end[2] = '\0';
	m->body = (size_t)(end + 4 - m->buf);
	m->line = m->buf;
	p = strstr(m->buf, "\r\n");
	*p = '\0';
	p += 2;
	while (*p && m->n < HM_FIELDS) {
		char *eol = strstr(p, "\r\n"), *colon = strchr(p, ':');
		if (!eol || !colon || colon > eol)
			return -1;
		*eol = '\0';
		m->f[m->n].name = p;
		m->f[m->n].nlen = (size_t)(colon - p);
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		m->f[m->n].value = colon;
		m->f[m->n].vlen = (size_t)(eol - colon);
		m->n++;
		p = eol + 2;
	}
	return 0;
}

/* Read the rest of a Connection: close body; returns it NUL-terminated. */
static inline const char *hm_read_body(int fd, struct hm_msg *m)
{
	while (m->len < HM_HEAD) {
		ssize_t r = read(fd, m->buf + m->len, HM_HEAD - m->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		m->len += (size_t)r;
	}
	m->buf[m->len] = '\0';
	return m->buf + m->body;
}

/* Getter over a parsed head: case-insensitive names, repeated fields
 * joined with ',' (RFC 9110 5.3). */
static inline const char *hm_get(void *carrier, const char *key, size_t *len)
{
	struct hm_msg *m = carrier;
	size_t kl = strlen(key), o = 0;
	int hits = 0, first = -1;

	for (int i = 0; i < m->n; i++) {
		if (m->f[i].nlen != kl || strncasecmp(m->f[i].name, key, kl))
			continue;
		if (hits++ == 0) {
			first = i;
			continue;
		}
		if (hits == 2) {
			memcpy(m->joined, m->f[first].value, m->f[first].vlen);
			o = m->f[first].vlen;
		}
		if (o + 1 + m->f[i].vlen > HM_HEAD)
			break;
		m->joined[o++] = ',';
		memcpy(m->joined + o, m->f[i].value, m->f[i].vlen);
		o += m->f[i].vlen;
	}
	if (!hits)
		return NULL;
	if (hits == 1) {
		*len = m->f[first].vlen;
		return m->f[first].value;
	}
	m->joined[o] = '\0';
	*len = o;
	return m->joined;
}

static inline void hm_keys(void *carrier, sr_carrier_visit_fn visit, void *ud)
{
	struct hm_msg *m = carrier;

	for (int i = 0; i < m->n; i++)
		if (visit(ud, m->f[i].name, m->f[i].nlen, m->f[i].value,
			  m->f[i].vlen))
			return;
}

static const sr_carrier_getter_t hm_getter = { hm_get, hm_keys };

/* Setter: append "key: value\r\n" to the outgoing head. */
static inline void hm_set(void *carrier, const char *key, const char *value,
		   size_t len)
{
	struct hm_out *o = carrier;
	int n = snprintf(o->buf + o->len, sizeof(o->buf) - o->len,
			 "%s: %.*s\r\n", key, (int)len, value);

	if (n > 0 && (size_t)n < sizeof(o->buf) - o->len)
		o->len += (size_t)n;
}

static inline void hm_hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/*
 * Write every span the memory exporter kept, one per line:
 *   name trace_id span_id parent_span_id parent_remote kind baggage.user
 * (the last column is the span's "baggage.user" attribute, or "-").
 */
static inline int hm_dump_spans(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	for (size_t i = 0; i < sr_memory_count(); i++) {
		const sr_span_data_t *d = sr_memory_get(i);
		char t[33], s[17], p[17];
		const char *user = "-";
		int ulen = 1;

		hm_hex(d->trace_id, 16, t);
		hm_hex(d->span_id, 8, s);
		hm_hex(d->parent_span_id, 8, p);
		for (uint32_t a = 0; a < d->attr_count; a++)
			if (d->attrs[a].key.len == 12 &&
			    memcmp(d->attrs[a].key.ptr, "baggage.user", 12) == 0) {
				user = d->attrs[a].v.s.ptr;
				ulen = (int)d->attrs[a].v.s.len;
			}
		fprintf(f, "%.*s %s %s %s %d %d %.*s\n", (int)d->name.len,
			d->name.ptr, t, s, p, d->parent_remote, (int)d->kind, ulen,
			user);
	}
	return fclose(f);
}

/* Memory exporter only, every span sampled by its parent's decision or
 * kept (parentbased_always_on), short batching delay. */
static inline void hm_start_tracing(const char *service)
{
	sr_config_t cfg;

	sr_config_init(&cfg);
	cfg.service_name = service;
	cfg.exporters = "memory";
	cfg.sampler = SR_SAMPLER_PARENTBASED_ALWAYS_ON;
	cfg.schedule_delay_ms = 50;
	if (sr_init(&cfg) != 0) {
		fprintf(stderr, "sr_init: %s\n", sr_last_error());
		exit(2);
	}
}

/* Command line of both services. */
struct hm_opts {
	const char *port_file, *back_port_file, *out;
	int requests, max_seconds;
};

static inline void hm_parse_args(int argc, char **argv, struct hm_opts *o)
{
	*o = (struct hm_opts){ .requests = 1, .max_seconds = 30 };
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port-file"))
			o->port_file = argv[i + 1];
		else if (!strcmp(argv[i], "--back-port-file"))
			o->back_port_file = argv[i + 1];
		else if (!strcmp(argv[i], "--out"))
			o->out = argv[i + 1];
		else if (!strcmp(argv[i], "--requests"))
			o->requests = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--max-seconds"))
			o->max_seconds = atoi(argv[i + 1]);
	}
}

/* The port number in a port file, or -1. */
static inline int hm_read_port(const char *path)
{
	FILE *f = fopen(path, "r");
	int port = -1;

	if (f) {
		if (fscanf(f, "%d", &port) != 1)
			port = -1;
		fclose(f);
	}
	return port;
}

static volatile sig_atomic_t hm_stop;

static void hm_on_signal(int sig)
{
	(void)sig;
	hm_stop = 1;
}

/* Stop on SIGTERM or after max_seconds; neither restarts accept(). */
static inline void hm_stop_on_signals(unsigned max_seconds)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = hm_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
	alarm(max_seconds);
}

/* Accept and serve one connection at a time, `requests` in all. */
static inline void hm_serve(int lfd, int requests,
			    void (*serve)(int fd, void *ud), void *ud)
{
	for (int done = 0; done < requests && !hm_stop;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		serve(fd, ud);
		close(fd);
		done++;
	}
	close(lfd);
}

/* Copy the baggage entry "user" into a span attribute. */
static inline void hm_note_baggage(sr_span_t *span, const sr_context_t *ctx)
{
	char user[128];

	if (sr_baggage_get(ctx, "user", user, sizeof(user), NULL) == 0)
		sr_span_set_str(span, "baggage.user", user);
}

#endif /* SR_HTTP_MINI_H */
