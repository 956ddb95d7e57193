/*
 * http_transport.c - libcurl POST transport with gzip and the OTLP retry
 * policy (contract in http_int.h).
 *
 * Design: one CURL easy handle and one multi handle per transport, both
 * kept for the exporter's lifetime.  Keeping the multi handle keeps its
 * connection cache, so consecutive posts reuse one keep-alive connection
 * (TCP and TLS set-up paid once).  Transfers run through the multi
 * interface rather than curl_easy_perform() so that a post can be
 * cancelled at once from another thread: curl_multi_poll() sleeps in the
 * transport and curl_multi_wakeup() (thread-safe) ends the sleep.  Backoff
 * waits are a condition-variable wait on CLOCK_MONOTONIC for the same
 * reason.  The gzip stream and the compressed-body buffer are reused.
 *
 * Secrets: the header list is built once into a curl_slist and is never
 * formatted into any message; parse errors name the entry number only.
 *
 * A protocol (gRPC) changes what is posted and how the answer reads
 * through its hooks (struct sr__http_proto): the body then goes out as
 * prefix + body (copied, or compressed, into the wire buffer), and a
 * per-attempt header line (the timeout) is rewritten in place in its
 * curl_slist node, so attempts allocate nothing.
 *
 * Left out: proxies configured here (libcurl reads the usual
 * *_proxy variables itself), redirects (see http_int.h).
 */
#include "http_int.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <spanring/spanring.h>

#include "json_writer_int.h"
#include "chars_int.h"

#define HEX(c) sr__hexval_any[(uint8_t)(c)]

#define RESP_MAX (64u * 1024u) /* response bytes kept (partial_success) */

struct sr__http {
	CURL *easy;
	CURLM *multi;
	struct curl_slist *headers;
	struct sr__http_opts o;       /* strings below are our copies      */
	char *url;
	struct sr__http_stats *st;
	char errbuf[CURL_ERROR_SIZE];

	struct sr__buf resp;          /* last response body, capped        */
	struct sr__buf gz;            /* wire body: [prefix] + (gzip'd) body */
	char *attempt_line;           /* per-attempt header (slist node)   */
	size_t attempt_cap;
	z_stream zs;
	bool zs_ready;

	uint64_t rng;                 /* jitter; worker thread only        */

	/* Cancellation: `cancelled` is set by any thread under `lock` (and
	 * read with an atomic load by the worker between steps); the cond
	 * wakes a backoff wait, curl_multi_wakeup() a transfer wait. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int cancelled;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

/* libcurl's global init is not thread-safe in every build; do it once.
 * Never cleaned up: other code in the process may use libcurl too. */
static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

uint64_t sr__http_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void stat_add(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

const char *sr__http_fail_name(enum sr__http_fail f)
{
	static const char *const names[SR__HTTP_FAIL_COUNT] = {
		"ok", "connect", "timeout", "retryable_status", "client_status",
		"server_status", "tls", "deadline", "cancelled", "other"
	};
	return (unsigned)f < SR__HTTP_FAIL_COUNT ? names[f] : "?";
}

/* ---- headers ---------------------------------------------------------- */

static bool is_tchar(unsigned char c)
{
	/* RFC 9110 token characters. */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

int sr__http_parse_headers(const char *spec, const char *var, void **slist,
			   char *err, size_t err_len)
{
	struct curl_slist *list = NULL;
	const char *p = spec ? spec : "";
	unsigned entry = 0;

	*slist = NULL;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *kb = p, *ke, *vb, *ve, *eq;

		entry++;
		p += n + (e ? 1 : 0);
		while (n && (*kb == ' ' || *kb == '\t')) {
			kb++;
			n--;
		}
		if (!n)
			continue; /* empty entries ("a=b,,c=d") are allowed */
		eq = memchr(kb, '=', n);
		if (!eq)
			goto bad;
		ke = eq;
		while (ke > kb && (ke[-1] == ' ' || ke[-1] == '\t'))
			ke--;
		vb = eq + 1;
		ve = kb + n;
		while (vb < ve && (*vb == ' ' || *vb == '\t'))
			vb++;
		while (ve > vb && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (ke == kb)
			goto bad;
		for (const char *c = kb; c < ke; c++)
			if (!is_tchar((unsigned char)*c))
				goto bad;

		size_t kl = (size_t)(ke - kb), vl = (size_t)(ve - vb);
		char *line = malloc(kl + 2 + vl + 1), *d;
		if (!line)
			goto oom;
		memcpy(line, kb, kl);
		d = line + kl;
		*d++ = ':';
		*d++ = ' ';
		for (const char *c = vb; c < ve; c++) {
			if (*c == '%' && ve - c >= 3 && HEX(c[1]) != 0xff &&
			    HEX(c[2]) != 0xff) {
				*d++ = (char)(HEX(c[1]) * 16 + HEX(c[2]));
				c += 2;
			} else {
				*d++ = *c;
			}
			/* No CR, LF or NUL: a header may not smuggle another. */
			if (d[-1] == '\r' || d[-1] == '\n' || d[-1] == '\0') {
				free(line);
				goto bad;
			}
		}
		*d = '\0';
		struct curl_slist *nl = curl_slist_append(list, line);
		free(line);
		if (!nl)
			goto oom;
		list = nl;
	}
	*slist = list;
	return 0;
bad:
	curl_slist_free_all(list);
	snprintf(err, err_len,
		 "%s: entry %u is not a valid key=value header "
		 "(values are not shown: they may be secrets)",
		 var ? var : "headers", entry);
	return SR_EINVAL;
oom:
	curl_slist_free_all(list);
	snprintf(err, err_len, "%s: out of memory", var ? var : "headers");
	return SR_ENOMEM;
}

void sr__http_free_headers(void *slist)
{
	curl_slist_free_all(slist);
}

/* ---- create / destroy -------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct sr__http *h = ud;
	size_t n = size * nmemb, keep = 0;

	if (h->resp.len < RESP_MAX) {
		keep = RESP_MAX - h->resp.len < n ? RESP_MAX - h->resp.len : n;
		if (sr__buf_reserve(&h->resp, keep) == 0)
			sr__buf_put(&h->resp, ptr, keep);
	}
	return n; /* the rest is read and dropped, keeping the connection */
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct sr__http *h = ud;

	h->o.proto->header(h->o.proto_state, ptr, size * nmemb);
	return size * nmemb;
}

bool sr__http_h2c_reuse_broken(unsigned version_num)
{
	return version_num < 0x080000u;
}

static int check_file(const char *path, const char *what, char *err,
		      size_t err_len)
{
	if (path && access(path, R_OK) != 0) {
		snprintf(err, err_len, "%s '%s': %s", what, path, strerror(errno));
		return SR_EINVAL;
	}
	return 0;
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	if (!(d = strdup(s)))
		*oom = true;
	return d;
}

#define SETOPT(opt, val)                                                     \
	do {                                                                 \
		if (curl_easy_setopt(h->easy, opt, val) != CURLE_OK) {       \
			snprintf(err, err_len, "libcurl rejected option %s", \
				 #opt);                                      \
			goto fail;                                           \
		}                                                            \
	} while (0)

#define SR__STR2(x) #x
#define SR__STR(x) SR__STR2(x)

int sr__http_create(struct sr__http **out, const struct sr__http_opts *o,
		    char *err, size_t err_len)
{
	struct sr__http *h;
	struct curl_slist *extra;
	bool oom = false;
	int rc = SR_EINVAL;
	const struct sr__http_proto *pr = o->proto;
	char ct[160];

	*out = NULL;
	if (!o->url || (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8))) {
		snprintf(err, err_len, "URL '%s' must start with http:// or https://",
			 o->url ? o->url : "");
		return SR_EINVAL;
	}
	if (check_file(o->ca_file, "certificate file", err, err_len) ||
	    check_file(o->cert_file, "client certificate file", err, err_len) ||
	    check_file(o->key_file, "client key file", err, err_len))
		return SR_EINVAL;
	if ((o->cert_file != NULL) != (o->key_file != NULL)) {
		snprintf(err, err_len, "a client certificate needs its key and "
				       "a key needs its certificate");
		return SR_EINVAL;
	}
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK) {
		snprintf(err, err_len, "curl_global_init: %s",
			 curl_easy_strerror(curl_init_rc));
		return SR_EIO;
	}

	if (!(h = calloc(1, sizeof(*h)))) {
		snprintf(err, err_len, "out of memory");
		return SR_ENOMEM;
	}
	h->o = *o;
	h->st = o->stats;
	h->url = dup_or_null(o->url, &oom);
	h->o.ca_file = dup_or_null(o->ca_file, &oom);
	h->o.cert_file = dup_or_null(o->cert_file, &oom);
	h->o.key_file = dup_or_null(o->key_file, &oom);
	h->o.headers = NULL; /* parsed below, never kept as text */
	h->rng = sr__http_now_ns() ^ (uintptr_t)h;
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&h->cond, &ca);
		pthread_condattr_destroy(&ca);
		pthread_mutex_init(&h->lock, NULL);
	}
	if (oom) {
		snprintf(err, err_len, "out of memory");
		rc = SR_ENOMEM;
		goto fail;
	}

	rc = sr__http_parse_headers(o->headers, o->headers_var, (void **)&h->headers,
				    err, err_len);
	if (rc)
		goto fail;
	rc = SR_ENOMEM;
	snprintf(ct, sizeof(ct), "Content-Type: %s", o->content_type);
	if (!(extra = curl_slist_append(h->headers, ct)))
		goto fail_oom;
	h->headers = extra;
	/* No "Expect: 100-continue" round trip before bodies over 1 KiB. */
	if (!(extra = curl_slist_append(h->headers, "Expect:")))
		goto fail_oom;
	h->headers = extra;
	for (size_t i = 0; pr && pr->headers && pr->headers[i]; i++) {
		if (!(extra = curl_slist_append(h->headers, pr->headers[i])))
			goto fail_oom;
		h->headers = extra;
	}
	if (pr && pr->timeout_header) {
		/* A node whose text each attempt rewrites (shorter or equal). */
		static const char room[] = "x-room-for-the-per-attempt-header-line-"
					   "of-up-to-63-bytes......";
		if (!(extra = curl_slist_append(h->headers, room)))
			goto fail_oom;
		h->headers = extra;
		while (extra->next)
			extra = extra->next;
		h->attempt_line = extra->data;
		h->attempt_cap = sizeof(room);
	}
	if (o->gzip) {
		const char *ce = pr && pr->gzip_header ? pr->gzip_header
						       : "Content-Encoding: gzip";
		if (!(extra = curl_slist_append(h->headers, ce)))
			goto fail_oom;
		h->headers = extra;
		if (deflateInit2(&h->zs, o->gzip_level, Z_DEFLATED, 15 + 16, 8,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			goto fail_oom;
		h->zs_ready = true;
	}

	if (!(h->easy = curl_easy_init()) || !(h->multi = curl_multi_init()))
		goto fail_oom;
	rc = SR_EINVAL;
	SETOPT(CURLOPT_URL, h->url);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_POST, 1L);
	SETOPT(CURLOPT_HTTPHEADER, h->headers);
	SETOPT(CURLOPT_USERAGENT, "spanring/" SR__STR(SR_VERSION_MAJOR) "."
			SR__STR(SR_VERSION_MINOR) "." SR__STR(SR_VERSION_PATCH));
	SETOPT(CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(CURLOPT_WRITEDATA, h);
	SETOPT(CURLOPT_ERRORBUFFER, h->errbuf);
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_TCP_NODELAY, 1L);
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	if (pr && pr->http2) {
		bool clear = !strncmp(h->url, "http://", 7);
		SETOPT(CURLOPT_HTTP_VERSION, clear ? (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
						   : (long)CURL_HTTP_VERSION_2TLS);
		if (clear && sr__http_h2c_reuse_broken(
				     curl_version_info(CURLVERSION_NOW)->version_num)) {
			SETOPT(CURLOPT_FRESH_CONNECT, 1L);
			SETOPT(CURLOPT_FORBID_REUSE, 1L);
		}
	} else {
		SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	}
	if (pr && pr->header) {
		SETOPT(CURLOPT_HEADERFUNCTION, on_header);
		SETOPT(CURLOPT_HEADERDATA, h);
	}
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (h->o.ca_file)
		SETOPT(CURLOPT_CAINFO, h->o.ca_file);
	if (h->o.cert_file) {
		SETOPT(CURLOPT_SSLCERT, h->o.cert_file);
		SETOPT(CURLOPT_SSLKEY, h->o.key_file);
	}
	*out = h;
	return 0;
fail_oom:
	snprintf(err, err_len, "out of memory");
	rc = SR_ENOMEM;
fail:
	sr__http_destroy(h);
	return rc;
}

void sr__http_destroy(struct sr__http *h)
{
	if (!h)
		return;
	if (h->multi)
		curl_multi_cleanup(h->multi);
	if (h->easy)
		curl_easy_cleanup(h->easy);
	curl_slist_free_all(h->headers);
	if (h->zs_ready)
		deflateEnd(&h->zs);
	sr__buf_free(&h->resp);
	sr__buf_free(&h->gz);
	free(h->url);
	free((char *)h->o.ca_file);
	free((char *)h->o.cert_file);
	free((char *)h->o.key_file);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void sr__http_cancel(struct sr__http *h)
{
	pthread_mutex_lock(&h->lock);
	__atomic_store_n(&h->cancelled, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	if (h->multi)
		curl_multi_wakeup(h->multi); /* thread-safe by libcurl's contract */
}

static inline bool is_cancelled(struct sr__http *h)
{
	/* pairs with the release store in sr__http_cancel() */
	return __atomic_load_n(&h->cancelled, __ATOMIC_ACQUIRE) != 0;
}

/* ---- one attempt -------------------------------------------------------- */

static enum sr__http_fail classify_curl(CURLcode c)
{
	switch (c) {
	case CURLE_OK:
		return SR__HTTP_OK;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:          /* connection-level HTTP/2 error, GOAWAY */
	case CURLE_HTTP2_STREAM:   /* stream reset by the peer              */
		return SR__HTTP_FAIL_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return SR__HTTP_FAIL_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_USE_SSL_FAILED:
		return SR__HTTP_FAIL_TLS;
	case CURLE_ABORTED_BY_CALLBACK:
		return SR__HTTP_FAIL_CANCELLED;
	default:
		return SR__HTTP_FAIL_OTHER;
	}
}

static enum sr__http_fail classify_status(long status)
{
	if (status >= 200 && status < 300)
		return SR__HTTP_OK;
	if (status == 429 || status == 502 || status == 503 || status == 504)
		return SR__HTTP_FAIL_RETRYABLE;
	if (status >= 400 && status < 500)
		return SR__HTTP_FAIL_CLIENT;
	return SR__HTTP_FAIL_SERVER;
}

static bool retryable(enum sr__http_fail f)
{
	return f == SR__HTTP_FAIL_CONNECT || f == SR__HTTP_FAIL_TIMEOUT ||
	       f == SR__HTTP_FAIL_RETRYABLE;
}

/* Run the prepared transfer to completion or cancellation. */
static CURLcode run_transfer(struct sr__http *h)
{
	CURLcode result = CURLE_FAILED_INIT;
	bool done = false;
	int running = 1;

	if (curl_multi_add_handle(h->multi, h->easy) != CURLM_OK)
		return CURLE_FAILED_INIT;
	while (!done) {
		CURLMsg *m;
		int left;

		if (curl_multi_perform(h->multi, &running) != CURLM_OK)
			break;
		while ((m = curl_multi_info_read(h->multi, &left))) {
			if (m->msg == CURLMSG_DONE && m->easy_handle == h->easy) {
				result = m->data.result;
				done = true;
			}
		}
		if (done || !running)
			break;
		if (is_cancelled(h)) {
			result = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		/* libcurl shortens this wait to its own next timer (the
		 * attempt timeout among them); cancel wakes it early. */
		curl_multi_poll(h->multi, NULL, 0, 1000, NULL);
	}
	curl_multi_remove_handle(h->multi, h->easy);
	return result;
}

/* Interruptible sleep until `until_ns`; false if cancelled. */
static bool backoff_sleep(struct sr__http *h, uint64_t until_ns)
{
	struct timespec ts = { (time_t)(until_ns / 1000000000ull),
			       (long)(until_ns % 1000000000ull) };
	bool ok = true;

	pthread_mutex_lock(&h->lock);
	while (!h->cancelled && sr__http_now_ns() < until_ns)
		if (pthread_cond_timedwait(&h->cond, &h->lock, &ts) == ETIMEDOUT)
			break;
	ok = !h->cancelled;
	pthread_mutex_unlock(&h->lock);
	return ok;
}

static uint64_t next_rand(struct sr__http *h)
{
	/* xorshift64*: jitter needs spread, not secrecy. */
	h->rng ^= h->rng >> 12;
	h->rng ^= h->rng << 25;
	h->rng ^= h->rng >> 27;
	return h->rng * 2685821657736338717ull;
}

/* Into h->gz after `pre` bytes of room for the protocol's prefix. */
static int compress_body(struct sr__http *h, const void *body, size_t len,
			 size_t pre)
{
	uLong bound;

	if (len > UINT32_MAX / 2 || deflateReset(&h->zs) != Z_OK)
		return SR_EINVAL;
	bound = deflateBound(&h->zs, (uLong)len);
	h->gz.len = 0;
	if (sr__buf_reserve(&h->gz, pre + bound))
		return SR_ENOMEM;
	h->zs.next_in = (Bytef *)(uintptr_t)body;
	h->zs.avail_in = (uInt)len;
	h->zs.next_out = (Bytef *)h->gz.data + pre;
	h->zs.avail_out = (uInt)bound;
	if (deflate(&h->zs, Z_FINISH) != Z_STREAM_END)
		return SR_EIO;
	h->gz.len = pre + h->zs.total_out;
	return 0;
}

/* The bytes to send: the body itself, or [prefix][body, gzip'd or not]
 * in h->gz. */
static int wire_body(struct sr__http *h, const void *body, size_t len,
		     const void **out, size_t *out_len)
{
	const struct sr__http_proto *pr = h->o.proto;
	size_t pre = pr && pr->frame ? pr->prefix_len : 0;
	int rc;

	*out = body;
	*out_len = len;
	if (h->o.gzip) {
		if ((rc = compress_body(h, body, len, pre)))
			return rc;
	} else if (pre) {
		if (len > UINT32_MAX)
			return SR_EINVAL;
		h->gz.len = 0;
		if (sr__buf_reserve(&h->gz, pre + len))
			return SR_ENOMEM;
		memcpy(h->gz.data + pre, body, len);
		h->gz.len = pre + len;
	} else {
		return 0;
	}
	if (pre)
		pr->frame((uint8_t *)h->gz.data, h->gz.len - pre, h->o.gzip);
	*out = h->gz.data;
	*out_len = h->gz.len;
	return 0;
}

int sr__http_post(struct sr__http *h, const void *body, size_t len,
		  uint64_t deadline_ns, struct sr__http_result *res)
{
	const void *wire = body;
	size_t wire_len = len;
	uint64_t backoff_ms = h->o.backoff_initial_ms;
	int rc;

	memset(res, 0, sizeof(*res));
	stat_add(&h->st->posts, 1);
	if ((rc = wire_body(h, body, len, &wire, &wire_len))) {
		res->fail = SR__HTTP_FAIL_OTHER;
		snprintf(res->detail, sizeof(res->detail), "%s",
			 rc == SR_ENOMEM ? "out of memory" : "gzip failed");
		return rc;
	}

	for (;;) {
		uint64_t now = sr__http_now_ns(), wait_ns;
		long status = 0;
		curl_off_t retry_after = 0;
		uint64_t proto_wait_ns = 0;
		const struct sr__http_proto *pr = h->o.proto;
		enum sr__http_fail f;
		CURLcode cc;

		if (is_cancelled(h)) {
			res->fail = SR__HTTP_FAIL_CANCELLED;
			snprintf(res->detail, sizeof(res->detail), "cancelled (shutdown)");
			return SR_ESTATE;
		}
		if (now >= deadline_ns) {
			res->fail = SR__HTTP_FAIL_DEADLINE;
			snprintf(res->detail, sizeof(res->detail),
				 "export deadline passed after %u attempt(s)",
				 res->attempts);
			return SR_ETIMEDOUT;
		}
		uint64_t left_ms = (deadline_ns - now + 999999) / 1000000;
		uint64_t t_ms = h->o.attempt_timeout_ms < left_ms ? h->o.attempt_timeout_ms
								  : left_ms;
		if (t_ms == 0)
			t_ms = 1;

		h->resp.len = 0;
		h->errbuf[0] = '\0';
		curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, wire);
		curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)wire_len);
		curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, (long)t_ms);
		curl_easy_setopt(h->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)t_ms);
		if (h->attempt_line)
			pr->timeout_header((uint32_t)t_ms, h->attempt_line, h->attempt_cap);
		if (pr && pr->begin)
			pr->begin(h->o.proto_state);

		res->attempts++;
		if (res->attempts > 1)
			stat_add(&h->st->retries, 1);
		stat_add(&h->st->requests, 1);
		stat_add(&h->st->bytes_raw, len);
		stat_add(&h->st->bytes_sent, wire_len);

		cc = run_transfer(h);
		f = classify_curl(cc);
		res->detail[0] = '\0';
		if (f == SR__HTTP_OK && pr && pr->classify) {
			curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
			f = pr->classify(h->o.proto_state, status, &proto_wait_ns,
					 res->detail, sizeof(res->detail));
		} else if (f == SR__HTTP_OK) {
			curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
			f = classify_status(status);
			if (f == SR__HTTP_FAIL_RETRYABLE)
				curl_easy_getinfo(h->easy, CURLINFO_RETRY_AFTER,
						  &retry_after);
		}
		res->status = status;
		res->body = h->resp.data;
		res->body_len = h->resp.len;
		res->fail = f;
		if (f == SR__HTTP_OK)
			return 0;
		stat_add(&h->st->attempt_fail[f], 1);
		if (res->detail[0]) {
			/* the protocol's classify() said it */
		} else if (status) {
			snprintf(res->detail, sizeof(res->detail), "HTTP %ld (%s)",
				 status, sr__http_fail_name(f));
		} else {
			snprintf(res->detail, sizeof(res->detail), "%s: %.150s",
				 sr__http_fail_name(f),
				 h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
		}
		if (f == SR__HTTP_FAIL_CANCELLED)
			return SR_ESTATE;
		if (!retryable(f))
			return SR_EIO;
		if (res->attempts >= h->o.max_attempts) {
			size_t n = strlen(res->detail);
			snprintf(res->detail + n, sizeof(res->detail) - n,
				 ", gave up after %u attempts", res->attempts);
			return SR_ETIMEDOUT;
		}

		/* Equal jitter: uniform in [d/2, d]; Retry-After wins. */
		wait_ns = backoff_ms * 1000000ull / 2 +
			  next_rand(h) % (backoff_ms * 1000000ull / 2 + 1);
		if (retry_after > 0)
			wait_ns = (uint64_t)retry_after * 1000000000ull;
		if (proto_wait_ns)
			wait_ns = proto_wait_ns;
		backoff_ms = backoff_ms * 2 < h->o.backoff_max_ms ? backoff_ms * 2
								  : h->o.backoff_max_ms;
		now = sr__http_now_ns();
		if (now + wait_ns >= deadline_ns) {
			size_t n = strlen(res->detail);
			snprintf(res->detail + n, sizeof(res->detail) - n,
				 ", no time left to retry");
			res->fail = SR__HTTP_FAIL_DEADLINE;
			return SR_ETIMEDOUT;
		}
		if (!backoff_sleep(h, now + wait_ns)) {
			res->fail = SR__HTTP_FAIL_CANCELLED;
			snprintf(res->detail, sizeof(res->detail), "cancelled (shutdown)");
			return SR_ESTATE;
		}
	}
}
