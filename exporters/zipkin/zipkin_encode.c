/*
 * zipkin_encode.c - the Zipkin v2 JSON encoder (zipkin_int.h): spans into
 * the body of one request, as the "zipkin" exporter (zipkin.c) sends it.
 *
 * Mapping (OpenTelemetry "OpenTelemetry to Zipkin Transformation" and the
 * generic "mapping to non-OTLP formats" rules):
 *   traceId, id, parentId   lowercase hex (32 / 16 / 16 digits); parentId
 *                           omitted for a root span
 *   kind                    CLIENT, SERVER, PRODUCER, CONSUMER; INTERNAL
 *                           and unknown kinds are omitted
 *   timestamp, duration     microseconds, truncated (1234 ns -> 1 us);
 *                           duration is (end - start) / 1000, and at least
 *                           1, as Zipkin rounds shorter durations up
 *   localEndpoint           {"serviceName": resource service.name}
 *   remoteEndpoint          CLIENT and PRODUCER spans: the first attribute
 *                           present in the specification's ranking
 *                           (peer.service, server.address, net.peer.name,
 *                           network.peer.address, server.socket.domain,
 *                           server.socket.address, net.sock.peer.name,
 *                           net.sock.peer.addr, peer.hostname,
 *                           peer.address, db.name); an IP literal becomes
 *                           ipv4/ipv6, anything else serviceName, and the
 *                           matching port attribute (server.port,
 *                           net.peer.port, network.peer.port, ...) becomes
 *                           port
 *   annotations             one per event: timestamp in us, value the
 *                           event name, or with attributes the JSON text
 *                           "name":{"key":value,...} the specification
 *                           shows; omitted when there are no events
 *   tags                    span attributes as strings (booleans
 *                           "true"/"false", numbers in the C locale),
 *                           then resource attributes other than
 *                           service.name that no span attribute shadows,
 *                           then otel.scope.name/version (and the
 *                           deprecated otel.library.name/version aliases
 *                           the specification still requires),
 *                           otel.status_code (OK or ERROR, absent when
 *                           UNSET), error (the status message, "" if none,
 *                           only for ERROR), otel.dropped_attributes_count,
 *                           otel.dropped_events_count,
 *                           otel.dropped_links_count (when non-zero).
 *                           Those keys belong to the exporter: a span or
 *                           resource attribute of the same name is not
 *                           written (so no key appears twice).  An "error"
 *                           attribute that is false (bool or "false") is
 *                           dropped, as the specification asks, since
 *                           Zipkin marks any span carrying "error" failed.
 *   shared, debug           omitted: spanring never shares a span id
 *                           between client and server (each side reports
 *                           its own span, the OpenTelemetry model), and
 *                           span data carries no B3 debug flag.
 *
 * Left out: links and trace state (the specification leaves them "TBD"),
 * Zipkin v1 and protobuf bodies.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exp_util_int.h"
#include "numfmt_int.h"
#include "zipkin_int.h"

#define KEY(w, lit) sr__jw_key_lit((w), lit)

static bool str_is(sr_str_t s, const char *lit, size_t n)
{
	return s.len == n && memcmp(s.ptr, lit, n) == 0;
}
#define STR_IS(s, lit) str_is((s), lit, sizeof(lit) - 1)

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* ---- tags ---------------------------------------------------------------- */

/* Tag keys the exporter writes itself; attributes of these names are not
 * copied into tags.  "error" is handled apart (see is_false_error). */
static const char *const reserved[] = {
	"otel.status_code", "otel.scope.name", "otel.scope.version",
	"otel.library.name", "otel.library.version",
	"otel.dropped_attributes_count", "otel.dropped_events_count",
	"otel.dropped_links_count",
};

static bool is_reserved(sr_str_t k)
{
	if (k.len < 5 || memcmp(k.ptr, "otel.", 5) != 0)
		return false;
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (str_is(k, reserved[i], strlen(reserved[i])))
			return true;
	return false;
}

/* An "error" attribute saying false: the specification wants it removed,
 * Zipkin would count the span as failed. */
static bool is_false_error(const sr_attr_view_t *a)
{
	if (!STR_IS(a->key, "error"))
		return false;
	if (a->type == SR_ATTR_BOOL)
		return !a->v.b;
	return (a->type == SR_ATTR_STRING || a->type == SR_ATTR_STRING_STATIC) &&
	       STR_IS(a->v.s, "false");
}

/* Text of a number in the C locale, in e->scratch; NULL on no memory. */
static const char *number_text(struct sr__zipkin_enc *e,
			       const sr_attr_view_t *a, size_t *n)
{
	struct sr__jw w;

	e->scratch.len = 0;
	sr__jw_init(&w, &e->scratch);
	if (a->type == SR_ATTR_INT)
		sr__jw_int(&w, a->v.i);
	else
		sr__jw_double(&w, a->v.d); /* finite here: a bare number */
	if (w.oom) {
		e->oom = true;
		return NULL;
	}
	*n = e->scratch.len;
	return e->scratch.data;
}

/* An attribute value as a Zipkin tag value (always a string). */
static void put_value_str(struct sr__zipkin_enc *e, struct sr__jw *w,
			  const sr_attr_view_t *a)
{
	const char *t;
	size_t n;

	switch (a->type) {
	case SR_ATTR_BOOL:
		if (a->v.b)
			sr__jw_str(w, "true", 4);
		else
			sr__jw_str(w, "false", 5);
		return;
	case SR_ATTR_DOUBLE:
		if (isnan(a->v.d)) {
			sr__jw_str(w, "NaN", 3);
			return;
		}
		if (isinf(a->v.d)) {
			if (a->v.d > 0)
				sr__jw_str(w, "Infinity", 8);
			else
				sr__jw_str(w, "-Infinity", 9);
			return;
		}
		/* fall through */
	case SR_ATTR_INT:
		t = number_text(e, a, &n);
		if (t)
			sr__jw_str(w, t, n);
		return;
	case SR_ATTR_STRING:
	case SR_ATTR_STRING_STATIC:
		sr__jw_str(w, a->v.s.ptr, a->v.s.len);
		return;
	case SR_ATTR_ARRAY: {
		/* The OpenTelemetry-to-Zipkin rule: the array as JSON text. */
		struct sr__jw aw;

		e->scratch.len = 0;
		sr__jw_init(&aw, &e->scratch);
		sr__exp_jw_value(&aw, a);
		if (aw.oom)
			e->oom = true;
		else
			sr__jw_str(w, e->scratch.data, e->scratch.len);
		return;
	}
	default:
		sr__jw_str(w, "", 0); /* unknown type: keep the key visible */
		return;
	}
}

static bool has_key(const sr_attr_view_t *a, uint32_t n, sr_str_t k)
{
	for (uint32_t i = 0; i < n; i++)
		if (a[i].key.len == k.len && memcmp(a[i].key.ptr, k.ptr, k.len) == 0)
			return true;
	return false;
}

static void put_count_tag(struct sr__jw *w, const char *key, size_t klen,
			  uint32_t n)
{
	char d[20];

	if (!n)
		return;
	sr__jw_key(w, key, klen);
	sr__jw_str(w, d, sr__u64_to_dec(d, n));
}
#define COUNT_TAG(w, lit, n) put_count_tag((w), lit, sizeof(lit) - 1, (n))

static void put_tags(struct sr__zipkin_enc *e, struct sr__jw *w,
		     const sr_span_data_t *s)
{
	bool error_status = s->status == SR_STATUS_ERROR;

	KEY(w, "tags");
	sr__jw_obj_begin(w);
	for (uint32_t i = 0; i < s->attr_count; i++) {
		const sr_attr_view_t *a = &s->attrs[i];

		if (is_reserved(a->key) || is_false_error(a) ||
		    (error_status && STR_IS(a->key, "error")))
			continue;
		sr__jw_key(w, a->key.ptr, a->key.len);
		put_value_str(e, w, a);
	}
	for (uint32_t i = 0; i < e->nres; i++) {
		const sr_attr_view_t *a = &e->res[i];

		if (STR_IS(a->key, "service.name") || is_reserved(a->key) ||
		    STR_IS(a->key, "error") ||
		    has_key(s->attrs, s->attr_count, a->key))
			continue;
		sr__jw_key(w, a->key.ptr, a->key.len);
		put_value_str(e, w, a);
	}
	if (s->scope_name.len) {
		KEY(w, "otel.scope.name");
		sr__jw_str(w, s->scope_name.ptr, s->scope_name.len);
		KEY(w, "otel.library.name");
		sr__jw_str(w, s->scope_name.ptr, s->scope_name.len);
	}
	if (s->scope_version.len) {
		KEY(w, "otel.scope.version");
		sr__jw_str(w, s->scope_version.ptr, s->scope_version.len);
		KEY(w, "otel.library.version");
		sr__jw_str(w, s->scope_version.ptr, s->scope_version.len);
	}
	if (s->status == SR_STATUS_OK) {
		KEY(w, "otel.status_code");
		sr__jw_str(w, "OK", 2);
	} else if (error_status) {
		KEY(w, "otel.status_code");
		sr__jw_str(w, "ERROR", 5);
		KEY(w, "error");
		sr__jw_str(w, s->status_message.ptr, s->status_message.len);
	}
	COUNT_TAG(w, "otel.dropped_attributes_count", s->dropped_attr_count);
	COUNT_TAG(w, "otel.dropped_events_count", s->dropped_event_count);
	COUNT_TAG(w, "otel.dropped_links_count", s->dropped_link_count);
	sr__jw_obj_end(w);
}

/* ---- remote endpoint ------------------------------------------------------ */

enum ep_kind { EP_NAME, EP_HOST, EP_ADDR };

/* The specification's ranking, best first.  EP_NAME values are always a
 * service name; EP_HOST and EP_ADDR values that parse as an IP literal go
 * to ipv4/ipv6. */
static const struct remote_key {
	const char *key;
	const char *port_key;      /* paired port attribute, or NULL        */
	enum ep_kind kind;
} remote_keys[] = {
	{ "peer.service", NULL, EP_NAME },
	{ "server.address", "server.port", EP_HOST },
	{ "net.peer.name", "net.peer.port", EP_HOST },
	{ "network.peer.address", "network.peer.port", EP_ADDR },
	{ "server.socket.domain", NULL, EP_HOST },
	{ "server.socket.address", "server.socket.port", EP_ADDR },
	{ "net.sock.peer.name", NULL, EP_HOST },
	{ "net.sock.peer.addr", "net.sock.peer.port", EP_ADDR },
	{ "peer.hostname", NULL, EP_HOST },
	{ "peer.address", NULL, EP_ADDR },
	{ "db.name", NULL, EP_NAME },
};
#define NREMOTE (sizeof(remote_keys) / sizeof(remote_keys[0]))

static const sr_attr_view_t *find_attr(const sr_attr_view_t *a, uint32_t n,
				       const char *key)
{
	size_t kl = strlen(key);

	for (uint32_t i = 0; i < n; i++)
		if (str_is(a[i].key, key, kl))
			return &a[i];
	return NULL;
}

static bool is_str(const sr_attr_view_t *a)
{
	return a && (a->type == SR_ATTR_STRING || a->type == SR_ATTR_STRING_STATIC) &&
	       a->v.s.len > 0;
}

/* 4 or 6 if s is an IPv4 / IPv6 literal, else 0. */
static int ip_family(sr_str_t s)
{
	char tmp[64];
	unsigned char bin[16];

	if (s.len == 0 || s.len >= sizeof(tmp))
		return 0;
	memcpy(tmp, s.ptr, s.len);
	tmp[s.len] = '\0';
	if (inet_pton(AF_INET, tmp, bin) == 1)
		return 4;
	if (inet_pton(AF_INET6, tmp, bin) == 1)
		return 6;
	return 0;
}

static void put_remote(struct sr__jw *w, const sr_span_data_t *s)
{
	const struct remote_key *rk = NULL;
	const sr_attr_view_t *v = NULL, *port;
	int fam;

	if (s->kind != SR_KIND_CLIENT && s->kind != SR_KIND_PRODUCER)
		return;
	for (size_t i = 0; i < NREMOTE && !rk; i++) {
		v = find_attr(s->attrs, s->attr_count, remote_keys[i].key);
		if (is_str(v))
			rk = &remote_keys[i];
	}
	if (!rk)
		return;
	KEY(w, "remoteEndpoint");
	sr__jw_obj_begin(w);
	fam = rk->kind == EP_NAME ? 0 : ip_family(v->v.s);
	if (fam == 4)
		KEY(w, "ipv4");
	else if (fam == 6)
		KEY(w, "ipv6");
	else
		KEY(w, "serviceName");
	sr__jw_str(w, v->v.s.ptr, v->v.s.len);
	port = rk->port_key ? find_attr(s->attrs, s->attr_count, rk->port_key)
			    : NULL;
	if (port && port->type == SR_ATTR_INT && port->v.i > 0 &&
	    port->v.i <= 65535) {
		KEY(w, "port");
		sr__jw_int(w, port->v.i);
	}
	sr__jw_obj_end(w);
}

/* ---- annotations ------------------------------------------------------------ */

/* "name":{"k":v,...} in e->scratch, the text the specification shows. */
static const char *event_text(struct sr__zipkin_enc *e,
			      const sr_event_view_t *ev, size_t *n)
{
	struct sr__jw w;

	e->scratch.len = 0;
	sr__jw_init(&w, &e->scratch);
	sr__jw_key(&w, ev->name.ptr, ev->name.len);
	sr__exp_jw_attrs(&w, ev->attrs, ev->attr_count);
	e->invalid_utf8 += w.invalid_utf8;
	if (w.oom) {
		e->oom = true;
		return NULL;
	}
	*n = e->scratch.len;
	return e->scratch.data;
}

static void put_annotations(struct sr__zipkin_enc *e, struct sr__jw *w,
			    const sr_span_data_t *s)
{
	if (!s->event_count)
		return;
	KEY(w, "annotations");
	sr__jw_arr_begin(w);
	for (uint32_t i = 0; i < s->event_count; i++) {
		const sr_event_view_t *ev = &s->events[i];
		const char *t;
		size_t n;

		sr__jw_obj_begin(w);
		KEY(w, "timestamp");
		sr__jw_uint(w, ev->ts_ns / 1000);
		KEY(w, "value");
		if (!ev->attr_count) {
			sr__jw_str(w, ev->name.ptr, ev->name.len);
		} else if ((t = event_text(e, ev, &n)) != NULL) {
			sr__jw_str(w, t, n);
		} else {
			sr__jw_str(w, ev->name.ptr, ev->name.len);
		}
		sr__jw_obj_end(w);
	}
	sr__jw_arr_end(w);
}

/* ---- encoder ----------------------------------------------------------------- */

/* Zipkin's kind, NULL for INTERNAL (omitted, per the specification) and
 * unknown kinds. */
static const char *kind_name(sr_span_kind_t k)
{
	if (k < SR_KIND_SERVER || k > SR_KIND_CONSUMER)
		return NULL;
	return sr__exp_kind_name(k);
}

void sr__zipkin_enc_init(struct sr__zipkin_enc *e)
{
	memset(e, 0, sizeof(*e));
}

void sr__zipkin_enc_free(struct sr__zipkin_enc *e)
{
	sr__buf_free(&e->out);
	sr__buf_free(&e->scratch);
}

void sr__zipkin_enc_begin(struct sr__zipkin_enc *e, const sr_attr_view_t *res,
			  uint32_t nres)
{
	static const sr_str_t unknown = { "unknown_service", 15 };
	const sr_attr_view_t *sn = find_attr(res, nres, "service.name");

	e->res = res;
	e->nres = nres;
	e->service = is_str(sn) ? sn->v.s : unknown;
	e->out.len = 0;
	e->nspans = 0;
	e->invalid_utf8 = 0;
	e->oom = sr__buf_reserve(&e->out, 1) != 0;
	if (!e->oom)
		sr__buf_put(&e->out, "[", 1);
}

void sr__zipkin_enc_add(struct sr__zipkin_enc *e, const sr_span_data_t *s)
{
	struct sr__jw w;
	size_t start = e->out.len;
	uint64_t dur_us = s->end_ns > s->start_ns ? (s->end_ns - s->start_ns) / 1000 : 0;
	const char *kind = kind_name(s->kind);

	if (e->oom)
		return;
	/* Each span gets a fresh writer (depth 0), so the array's commas
	 * are placed here. */
	if (e->nspans) {
		if (sr__buf_reserve(&e->out, 1) != 0) {
			e->oom = true;
			return;
		}
		sr__buf_put(&e->out, ",", 1);
	}
	sr__jw_init(&w, &e->out);
	sr__jw_obj_begin(&w);
	KEY(&w, "traceId");
	sr__jw_hex(&w, s->trace_id, 16);
	if (!all_zero(s->parent_span_id, 8)) {
		KEY(&w, "parentId");
		sr__jw_hex(&w, s->parent_span_id, 8);
	}
	KEY(&w, "id");
	sr__jw_hex(&w, s->span_id, 8);
	if (kind) {
		KEY(&w, "kind");
		sr__jw_str(&w, kind, strlen(kind));
	}
	KEY(&w, "name");
	sr__jw_str(&w, s->name.ptr, s->name.len);
	KEY(&w, "timestamp");
	sr__jw_uint(&w, s->start_ns / 1000);
	KEY(&w, "duration");
	sr__jw_uint(&w, dur_us ? dur_us : 1);
	KEY(&w, "localEndpoint");
	sr__jw_obj_begin(&w);
	KEY(&w, "serviceName");
	sr__jw_str(&w, e->service.ptr, e->service.len);
	sr__jw_obj_end(&w);
	put_remote(&w, s);
	put_annotations(e, &w, s);
	put_tags(e, &w, s);
	sr__jw_obj_end(&w);

	e->invalid_utf8 += w.invalid_utf8;
	if (w.oom || e->oom) {
		e->out.len = start;
		e->oom = true;
		return;
	}
	e->nspans++;
}

int sr__zipkin_enc_finish(struct sr__zipkin_enc *e, const char **body,
			  size_t *len)
{
	if (e->oom || sr__buf_reserve(&e->out, 1) != 0)
		return SR_ENOMEM;
	sr__buf_put(&e->out, "]", 1);
	*body = e->out.data;
	*len = e->out.len;
	return 0;
}
