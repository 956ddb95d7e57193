/*
 * receiver.c - the scriptable HTTP/1.1 test server of receiver.h.
 *
 * One acceptor thread polls the listening socket and a wake pipe; each
 * accepted connection gets a thread that reads requests (header block,
 * then Content-Length bytes), records them and acts out the next scripted
 * reply.  All blocking reads are poll()s of at most 20 ms that re-check the
 * stop flag, so sr_rcv_stop() returns promptly even while a connection is
 * "hanging".  Everything shared (script, records, counters) is under one
 * mutex; a condition variable signals new records to sr_rcv_wait().
 *
 * Left out: anything a test does not need (chunked bodies, TLS, HTTP/1.0).
 */
#include "receiver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_CONNS 512
#define MAX_HEADER 16384
#define SLICE_MS 20

struct conn {
	struct sr_rcv *r;
	int fd;
	pthread_t thread;
	bool used;
};

struct sr_rcv {
	int lfd;
	int wake[2];
	unsigned port;
	pthread_t acceptor;
	int stop;                      /* atomic; set by sr_rcv_stop()      */

	pthread_mutex_t lock;          /* everything below                  */
	pthread_cond_t cond;
	struct sr_rcv_reply *script;
	size_t script_n, script_next;
	struct sr_rcv_reply dflt;
	bool discard;
	struct sr_rcv_request **reqs;
	size_t nreqs, reqs_cap;
	size_t connections;
	struct conn conns[MAX_CONNS];
};

static bool stopping(struct sr_rcv *r)
{
	return __atomic_load_n(&r->stop, __ATOMIC_ACQUIRE) != 0;
}

static void copy_reply(struct sr_rcv_reply *d, const struct sr_rcv_reply *s)
{
	*d = *s;
	if (s->body) {
		char *b = malloc(s->body_len ? s->body_len : 1);
		if (b)
			memcpy(b, s->body, s->body_len);
		d->body = b;
	}
}

static void free_reply(struct sr_rcv_reply *d)
{
	free((char *)d->body);
	d->body = NULL;
}

/* ---- socket helpers ---------------------------------------------------- */

/* Wait for readability up to SLICE_MS; 1 readable, 0 not yet, -1 stop. */
static int wait_readable(struct sr_rcv *r, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (stopping(r))
		return -1;
	int n = poll(&p, 1, SLICE_MS);
	return n > 0 ? 1 : n < 0 && errno != EINTR ? -1 : 0;
}

/* Read exactly n bytes; false on EOF, error or stop. */
static bool read_full(struct sr_rcv *r, int fd, unsigned char *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		int w = wait_readable(r, fd);
		if (w < 0)
			return false;
		if (w == 0)
			continue;
		ssize_t k = recv(fd, buf + got, n - got, 0);
		if (k <= 0) {
			if (k < 0 && errno == EINTR)
				continue;
			return false;
		}
		got += (size_t)k;
	}
	return true;
}

static bool write_full(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static void sleep_ms(struct sr_rcv *r, unsigned ms)
{
	for (unsigned t = 0; t < ms && !stopping(r); t += 5) {
		struct timespec ts = { 0, 5 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

/* ---- requests ---------------------------------------------------------- */

static const char *find_header(const char *hdrs, const char *name, size_t *vlen)
{
	size_t nl = strlen(name);

	for (const char *p = hdrs; p && *p;) {
		const char *eol = strstr(p, "\r\n");
		if (!eol)
			eol = p + strlen(p);
		if ((size_t)(eol - p) > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			*vlen = (size_t)(eol - v);
			return v;
		}
		p = *eol ? eol + 2 : eol;
	}
	return NULL;
}

static unsigned char *gunzip(const unsigned char *in, size_t n, size_t *out_len)
{
	z_stream zs;
	size_t cap = n * 4 + 64, len = 0;
	unsigned char *out = malloc(cap);
	int rc = Z_OK;

	memset(&zs, 0, sizeof(zs));
	if (!out || inflateInit2(&zs, 15 + 32) != Z_OK) {
		free(out);
		return NULL;
	}
	zs.next_in = (unsigned char *)in;
	zs.avail_in = (uInt)n;
	while (rc != Z_STREAM_END) {
		if (len == cap) {
			unsigned char *p = realloc(out, cap *= 2);
			if (!p)
				break;
			out = p;
		}
		zs.next_out = out + len;
		zs.avail_out = (uInt)(cap - len);
		rc = inflate(&zs, Z_NO_FLUSH);
		len = cap - zs.avail_out;
		if (rc != Z_OK && rc != Z_STREAM_END)
			break;
	}
	inflateEnd(&zs);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	*out_len = len;
	return out;
}

static void next_reply(struct sr_rcv *r, struct sr_rcv_reply *out)
{
	pthread_mutex_lock(&r->lock);
	if (r->script_next < r->script_n)
		copy_reply(out, &r->script[r->script_next++]);
	else
		copy_reply(out, &r->dflt);
	pthread_mutex_unlock(&r->lock);
}

static struct sr_rcv_request *record(struct sr_rcv *r, struct sr_rcv_request *q)
{
	pthread_mutex_lock(&r->lock);
	if (r->discard) {
		free(q->body);
		q->body = NULL;
	}
	if (r->nreqs == r->reqs_cap) {
		size_t cap = r->reqs_cap ? r->reqs_cap * 2 : 64;
		void *p = realloc(r->reqs, cap * sizeof(*r->reqs));
		if (p) {
			r->reqs = p;
			r->reqs_cap = cap;
		}
	}
	if (r->nreqs < r->reqs_cap)
		r->reqs[r->nreqs++] = q;
	else
		q = NULL;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return q;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

/* Serve one request; false when the connection must close. */
static bool serve_one(struct sr_rcv *r, int fd)
{
	char hdr[MAX_HEADER + 1];
	size_t hl = 0;
	char *end = NULL;

	/* Header block, one byte at a time past what we have: simple, and
	 * the body that follows stays in the socket. */
	while (!end) {
		if (hl == MAX_HEADER)
			return false;
		int w = wait_readable(r, fd);
		if (w < 0)
			return false;
		if (w == 0)
			continue;
		ssize_t k = recv(fd, hdr + hl, 1, 0);
		if (k <= 0)
			return false;
		hl++;
		hdr[hl] = '\0';
		if (hl >= 4 && !memcmp(hdr + hl - 4, "\r\n\r\n", 4))
			end = hdr + hl - 4;
	}
	*end = '\0';

	struct sr_rcv_request *q = calloc(1, sizeof(*q));
	if (!q)
		return false;
	sscanf(hdr, "%15s %255s", q->method, q->path);
	char *hstart = strstr(hdr, "\r\n");
	q->headers = strdup(hstart ? hstart + 2 : "");

	size_t vl, clen = 0;
	const char *v = find_header(q->headers, "Content-Length", &vl);
	if (v)
		clen = strtoul(v, NULL, 10);
	v = find_header(q->headers, "Content-Encoding", &vl);
	q->gzip = v && vl >= 4 && !strncasecmp(v, "gzip", 4);

	struct sr_rcv_reply rep;
	next_reply(r, &rep);

	unsigned char *body = malloc(clen ? clen : 1);
	bool ok = body != NULL;
	if (ok && rep.action == SR_RCV_RESET_MID_BODY) {
		struct linger lg = { 1, 0 };
		read_full(r, fd, body, clen / 2);
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		free(body);
		free(q->headers);
		free(q);
		free_reply(&rep);
		return false; /* close() now sends RST */
	}
	ok = ok && read_full(r, fd, body, clen);
	if (!ok) {
		free(body);
		free(q->headers);
		free(q);
		free_reply(&rep);
		return false;
	}
	q->wire_len = clen;
	if (q->gzip) {
		q->body = gunzip(body, clen, &q->body_len);
		free(body);
	} else {
		q->body = body;
		q->body_len = clen;
	}

	int status = rep.status ? rep.status : 200;
	bool answer = rep.action == SR_RCV_REPLY || rep.action == SR_RCV_SLOW;
	q->status = answer ? status : 0;
	record(r, q);

	if (rep.action == SR_RCV_SLOW)
		sleep_ms(r, rep.delay_ms);
	if (rep.action == SR_RCV_HANG) {
		/* Until the client gives up (EOF) or the receiver stops. */
		char c;
		for (;;) {
			int w = wait_readable(r, fd);
			if (w < 0 || (w > 0 && recv(fd, &c, 1, 0) <= 0))
				break;
		}
		free_reply(&rep);
		return false;
	}
	if (!answer) {
		free_reply(&rep);
		return false;
	}

	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\n",
			 status, reason(status),
			 rep.content_type ? rep.content_type : "application/x-protobuf",
			 rep.body ? rep.body_len : 0);
	if (rep.retry_after > 0)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Retry-After: %d\r\n",
			      rep.retry_after);
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	ok = write_full(fd, head, (size_t)n) &&
	     (!rep.body || write_full(fd, rep.body, rep.body_len));
	free_reply(&rep);
	return ok;
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;

	while (serve_one(c->r, c->fd))
		;
	close(c->fd);
	return NULL;
}

static void *acceptor_main(void *arg)
{
	struct sr_rcv *r = arg;

	while (!stopping(r)) {
		struct pollfd p[2] = { { .fd = r->lfd, .events = POLLIN },
				       { .fd = r->wake[0], .events = POLLIN } };
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (stopping(r) || p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int fd = accept(r->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&r->lock);
		struct conn *c = NULL;
		for (int i = 0; i < MAX_CONNS && !c; i++)
			if (!r->conns[i].used)
				c = &r->conns[i];
		if (c) {
			c->used = true;
			c->r = r;
			c->fd = fd;
			r->connections++;
			if (pthread_create(&c->thread, NULL, conn_main, c)) {
				c->used = false;
				close(fd);
			}
		} else {
			close(fd); /* more than MAX_CONNS: refuse */
		}
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

/* ---- API ----------------------------------------------------------------- */

struct sr_rcv *sr_rcv_start(void)
{
	struct sr_rcv *r = calloc(1, sizeof(*r));
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int one = 1;

	if (!r)
		return NULL;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->lfd < 0 || pipe(r->wake) ||
	    setsockopt(r->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(r->lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(r->lfd, 64) ||
	    getsockname(r->lfd, (struct sockaddr *)&a, &al) ||
	    pthread_create(&r->acceptor, NULL, acceptor_main, r)) {
		perror("sr_rcv_start");
		if (r->lfd >= 0)
			close(r->lfd);
		free(r);
		return NULL;
	}
	r->port = ntohs(a.sin_port);
	return r;
}

void sr_rcv_stop(struct sr_rcv *r)
{
	if (!r)
		return;
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
	if (write(r->wake[1], "x", 1) < 0)
		perror("sr_rcv_stop");
	pthread_join(r->acceptor, NULL);
	for (int i = 0; i < MAX_CONNS; i++)
		if (r->conns[i].used)
			pthread_join(r->conns[i].thread, NULL);
	close(r->lfd);
	close(r->wake[0]);
	close(r->wake[1]);
	for (size_t i = 0; i < r->nreqs; i++) {
		free(r->reqs[i]->headers);
		free(r->reqs[i]->body);
		free(r->reqs[i]);
	}
	free(r->reqs);
	for (size_t i = 0; i < r->script_n; i++)
		free_reply(&r->script[i]);
	free(r->script);
	free_reply(&r->dflt);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

unsigned sr_rcv_port(const struct sr_rcv *r) { return r->port; }

void sr_rcv_base_url(const struct sr_rcv *r, char *buf, size_t len)
{
	snprintf(buf, len, "http://127.0.0.1:%u", r->port);
}

void sr_rcv_script(struct sr_rcv *r, const struct sr_rcv_reply *replies, size_t n)
{
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < r->script_n; i++)
		free_reply(&r->script[i]);
	free(r->script);
	r->script = calloc(n ? n : 1, sizeof(*r->script));
	r->script_n = r->script ? n : 0;
	r->script_next = 0;
	for (size_t i = 0; i < r->script_n; i++)
		copy_reply(&r->script[i], &replies[i]);
	pthread_mutex_unlock(&r->lock);
}

void sr_rcv_set_default(struct sr_rcv *r, const struct sr_rcv_reply *reply)
{
	pthread_mutex_lock(&r->lock);
	free_reply(&r->dflt);
	copy_reply(&r->dflt, reply);
	pthread_mutex_unlock(&r->lock);
}

void sr_rcv_discard_bodies(struct sr_rcv *r, bool discard)
{
	pthread_mutex_lock(&r->lock);
	r->discard = discard;
	pthread_mutex_unlock(&r->lock);
}

size_t sr_rcv_count(struct sr_rcv *r)
{
	pthread_mutex_lock(&r->lock);
	size_t n = r->nreqs;
	pthread_mutex_unlock(&r->lock);
	return n;
}

const struct sr_rcv_request *sr_rcv_get(struct sr_rcv *r, size_t i)
{
	const struct sr_rcv_request *q = NULL;

	pthread_mutex_lock(&r->lock);
	if (i < r->nreqs)
		q = r->reqs[i];
	pthread_mutex_unlock(&r->lock);
	return q;
}

size_t sr_rcv_connections(struct sr_rcv *r)
{
	pthread_mutex_lock(&r->lock);
	size_t n = r->connections;
	pthread_mutex_unlock(&r->lock);
	return n;
}

bool sr_rcv_wait(struct sr_rcv *r, size_t n, unsigned timeout_ms)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->lock);
	while (r->nreqs < n)
		if (pthread_cond_timedwait(&r->cond, &r->lock, &ts) == ETIMEDOUT)
			break;
	ok = r->nreqs >= n;
	pthread_mutex_unlock(&r->lock);
	return ok;
}

unsigned sr_rcv_unused_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	unsigned port = 0;

	if (fd >= 0 && !bind(fd, (struct sockaddr *)&a, sizeof(a)) &&
	    !getsockname(fd, (struct sockaddr *)&a, &al))
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* ---- OTLP protobuf span count --------------------------------------------- */

static bool pb_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned s = 0; s < 64 && *p < end; s += 7) {
		unsigned char b = *(*p)++;
		x |= (uint64_t)(b & 0x7f) << s;
		if (!(b & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

/* Visit the length-delimited fields numbered `want` of a message; count
 * them (depth 0) or recurse.  -1 if malformed. */
static long pb_walk(const unsigned char *p, const unsigned char *end,
		    const unsigned *path, int depth)
{
	long total = 0;

	while (p < end) {
		uint64_t tag, v;
		if (!pb_varint(&p, end, &tag))
			return -1;
		switch (tag & 7) {
		case 0:
			if (!pb_varint(&p, end, &v))
				return -1;
			break;
		case 1:
			if (end - p < 8)
				return -1;
			p += 8;
			break;
		case 5:
			if (end - p < 4)
				return -1;
			p += 4;
			break;
		case 2:
			if (!pb_varint(&p, end, &v) || v > (uint64_t)(end - p))
				return -1;
			if ((tag >> 3) == path[0]) {
				if (depth == 0) {
					total++;
				} else {
					long n = pb_walk(p, p + v, path + 1, depth - 1);
					if (n < 0)
						return -1;
					total += n;
				}
			}
			p += v;
			break;
		default:
			return -1;
		}
	}
	return total;
}

long sr_rcv_count_otlp_spans(const unsigned char *body, size_t len)
{
	static const unsigned path[] = { 1, 2, 2 };
	return pb_walk(body, body + len, path, 2);
}
