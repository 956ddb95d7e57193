/*
 * otlp_json.c - OTLP/JSON encoding of resources, scopes and spans, and the
 * reader of JSON ExportTraceServiceResponse bodies.
 *
 * Follows the OTLP/JSON rules of the OTLP specification, which are the
 * proto3 JSON mapping with two exceptions: trace and span ids are lowercase
 * hex (not base64), and enums are integers (not names).  Keys are
 * lowerCamelCase field names; 64-bit integers (timestamps, int values) are
 * decimal strings; zero scalars and empty strings are omitted as proto3
 * does, except inside AnyValue and the span name, which is always written.
 * Strings go through the shared JSON writer, which escapes and replaces
 * invalid UTF-8 (counted).
 *
 * Left out: reading anything but partial_success from a response; the
 * reader is a bounded skip-parser, not a general JSON parser.
 */
#include "otlp_int.h"

#include <string.h>

#define KEY(w, lit) sr__jw_key_lit((w), lit)

static inline bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* An AnyValue object. */
static void put_value(struct sr__jw *w, const sr_attr_view_t *a)
{
	sr__jw_obj_begin(w);
	switch (a->type) {
	case SR_ATTR_BOOL:
		KEY(w, "boolValue");
		sr__jw_bool(w, a->v.b);
		break;
	case SR_ATTR_INT:
		KEY(w, "intValue");
		sr__jw_int_str(w, a->v.i);
		break;
	case SR_ATTR_DOUBLE:
		KEY(w, "doubleValue");
		sr__jw_double(w, a->v.d);
		break;
	case SR_ATTR_STRING:
	case SR_ATTR_STRING_STATIC:
		KEY(w, "stringValue");
		sr__jw_str(w, a->v.s.ptr, a->v.s.len);
		break;
	case SR_ATTR_ARRAY: {
		sr_array_iter_t it = sr_array_begin(&a->v.a);
		sr_attr_view_t e;

		KEY(w, "arrayValue");
		sr__jw_obj_begin(w);
		KEY(w, "values");
		sr__jw_arr_begin(w);
		while (sr_array_next(&it, &e))
			put_value(w, &e);
		sr__jw_arr_end(w);
		sr__jw_obj_end(w);
		break;
	}
	default:
		break; /* unknown type: an empty AnyValue */
	}
	sr__jw_obj_end(w);
}

static void put_kv(struct sr__jw *w, const sr_attr_view_t *a)
{
	sr__jw_obj_begin(w);
	KEY(w, "key");
	sr__jw_str(w, a->key.ptr, a->key.len);
	KEY(w, "value");
	put_value(w, a);
	sr__jw_obj_end(w);
}

static void put_kvs(struct sr__jw *w, const sr_attr_view_t *a, uint32_t n,
		    uint32_t dropped)
{
	if (n) {
		KEY(w, "attributes");
		sr__jw_arr_begin(w);
		for (uint32_t i = 0; i < n; i++)
			put_kv(w, &a[i]);
		sr__jw_arr_end(w);
	}
	if (dropped) {
		KEY(w, "droppedAttributesCount");
		sr__jw_uint(w, dropped);
	}
}

int sr__otlp_json_span(struct sr__buf *out, const sr_span_data_t *s,
		       uint64_t *bad, size_t *off, size_t *len)
{
	struct sr__jw w;
	size_t start = out->len;

	sr__jw_init(&w, out);
	sr__jw_obj_begin(&w);
	KEY(&w, "traceId");
	sr__jw_hex(&w, s->trace_id, 16);
	KEY(&w, "spanId");
	sr__jw_hex(&w, s->span_id, 8);
	if (s->trace_state.len) {
		KEY(&w, "traceState");
		sr__jw_str(&w, s->trace_state.ptr, s->trace_state.len);
	}
	if (!all_zero(s->parent_span_id, 8)) {
		KEY(&w, "parentSpanId");
		sr__jw_hex(&w, s->parent_span_id, 8);
	}
	KEY(&w, "flags");
	sr__jw_uint(&w, (uint32_t)s->trace_flags | SR__OTLP_FLAG_HAS_IS_REMOTE |
				(s->parent_remote ? SR__OTLP_FLAG_IS_REMOTE : 0));
	KEY(&w, "name");
	sr__jw_str(&w, s->name.ptr, s->name.len);
	if (s->kind) {
		KEY(&w, "kind");
		sr__jw_uint(&w, (uint32_t)s->kind);
	}
	KEY(&w, "startTimeUnixNano");
	sr__jw_uint_str(&w, s->start_ns);
	KEY(&w, "endTimeUnixNano");
	sr__jw_uint_str(&w, s->end_ns);
	put_kvs(&w, s->attrs, s->attr_count, s->dropped_attr_count);
	if (s->event_count) {
		KEY(&w, "events");
		sr__jw_arr_begin(&w);
		for (uint32_t i = 0; i < s->event_count; i++) {
			const sr_event_view_t *ev = &s->events[i];
			sr__jw_obj_begin(&w);
			KEY(&w, "timeUnixNano");
			sr__jw_uint_str(&w, ev->ts_ns);
			KEY(&w, "name");
			sr__jw_str(&w, ev->name.ptr, ev->name.len);
			put_kvs(&w, ev->attrs, ev->attr_count,
				ev->dropped_attr_count);
			sr__jw_obj_end(&w);
		}
		sr__jw_arr_end(&w);
	}
	if (s->dropped_event_count) {
		KEY(&w, "droppedEventsCount");
		sr__jw_uint(&w, s->dropped_event_count);
	}
	if (s->link_count) {
		KEY(&w, "links");
		sr__jw_arr_begin(&w);
		for (uint32_t i = 0; i < s->link_count; i++) {
			const sr_link_view_t *l = &s->links[i];
			sr__jw_obj_begin(&w);
			KEY(&w, "traceId");
			sr__jw_hex(&w, l->trace_id, 16);
			KEY(&w, "spanId");
			sr__jw_hex(&w, l->span_id, 8);
			put_kvs(&w, l->attrs, l->attr_count,
				l->dropped_attr_count);
			KEY(&w, "flags");
			sr__jw_uint(&w, l->trace_flags);
			sr__jw_obj_end(&w);
		}
		sr__jw_arr_end(&w);
	}
	if (s->dropped_link_count) {
		KEY(&w, "droppedLinksCount");
		sr__jw_uint(&w, s->dropped_link_count);
	}
	if (s->status != SR_STATUS_UNSET || s->status_message.len) {
		KEY(&w, "status");
		sr__jw_obj_begin(&w);
		if (s->status_message.len) {
			KEY(&w, "message");
			sr__jw_str(&w, s->status_message.ptr,
				   s->status_message.len);
		}
		if (s->status) {
			KEY(&w, "code");
			sr__jw_uint(&w, (uint32_t)s->status);
		}
		sr__jw_obj_end(&w);
	}
	sr__jw_obj_end(&w);

	*bad += w.invalid_utf8;
	if (w.oom) {
		out->len = start;
		return SR_ENOMEM;
	}
	*off = start;
	*len = out->len - start;
	return 0;
}

int sr__otlp_json_resource(struct sr__buf *out, const sr_attr_view_t *a,
			   uint32_t n, uint64_t *bad)
{
	struct sr__jw w;

	sr__jw_init(&w, out);
	sr__jw_obj_begin(&w);
	put_kvs(&w, a, n, 0);
	sr__jw_obj_end(&w);
	*bad += w.invalid_utf8;
	return w.oom ? SR_ENOMEM : 0;
}

int sr__otlp_json_scope(struct sr__buf *out, sr_str_t name, sr_str_t version,
			uint64_t *bad)
{
	struct sr__jw w;

	sr__jw_init(&w, out);
	sr__jw_obj_begin(&w);
	KEY(&w, "name");
	sr__jw_str(&w, name.ptr, name.len);
	if (version.len) {
		KEY(&w, "version");
		sr__jw_str(&w, version.ptr, version.len);
	}
	sr__jw_obj_end(&w);
	*bad += w.invalid_utf8;
	return w.oom ? SR_ENOMEM : 0;
}

/* {"resourceSpans":[{"resource":R,"scopeSpans":[{"scope":S,"spans":[ */
size_t sr__otlp_json_prefix_max(size_t res_len, size_t scope_len)
{
	return 80 + res_len + scope_len; /* 64 bytes of framing text */
}

/* ---- response ------------------------------------------------------------ */

/* A bounded reader over untrusted bytes: every step checks `end`, nesting
 * is capped, nothing is allocated. */
struct jr {
	const char *p, *end;
};

#define JR_MAX_DEPTH 32

static void jr_ws(struct jr *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
				 *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static bool jr_eat(struct jr *r, char c)
{
	jr_ws(r);
	if (r->p < r->end && *r->p == c) {
		r->p++;
		return true;
	}
	return false;
}

/* A string's raw bytes between the quotes (escapes left as they are). */
static bool jr_string(struct jr *r, const char **s, size_t *n)
{
	if (!jr_eat(r, '"'))
		return false;
	const char *b = r->p;
	while (r->p < r->end && *r->p != '"') {
		if (*r->p == '\\') {
			if (r->end - r->p < 2)
				return false;
			r->p++;
		}
		r->p++;
	}
	if (r->p >= r->end)
		return false;
	*s = b;
	*n = (size_t)(r->p - b);
	r->p++;
	return true;
}

static bool jr_value(struct jr *r, int depth);

static bool jr_container(struct jr *r, int depth, char close, bool object)
{
	if (depth > JR_MAX_DEPTH)
		return false;
	if (jr_eat(r, close))
		return true;
	for (;;) {
		if (object) {
			const char *k;
			size_t kn;
			if (!jr_string(r, &k, &kn) || !jr_eat(r, ':'))
				return false;
		}
		if (!jr_value(r, depth + 1))
			return false;
		if (jr_eat(r, close))
			return true;
		if (!jr_eat(r, ','))
			return false;
	}
}

static bool jr_value(struct jr *r, int depth)
{
	const char *s;
	size_t n;

	jr_ws(r);
	if (r->p >= r->end)
		return false;
	switch (*r->p) {
	case '"':
		return jr_string(r, &s, &n);
	case '{':
		r->p++;
		return jr_container(r, depth, '}', true);
	case '[':
		r->p++;
		return jr_container(r, depth, ']', false);
	default:
		/* number, true, false, null: a run of their characters */
		s = r->p;
		while (r->p < r->end && strchr("0123456789+-.eEtrufalsn", *r->p))
			r->p++;
		return r->p > s;
	}
}

/* rejectedSpans: a JSON number or, per the int64 rule, a string of one. */
static bool jr_count(struct jr *r, uint64_t *out)
{
	bool quoted = jr_eat(r, '"');
	uint64_t v = 0;
	bool neg = false, any = false;

	jr_ws(r);
	if (r->p < r->end && *r->p == '-') {
		neg = true;
		r->p++;
	}
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
		if (v < UINT64_MAX / 10)
			v = v * 10 + (uint64_t)(*r->p - '0');
		r->p++;
		any = true;
	}
	if (!any || (quoted && !jr_eat(r, '"')))
		return false;
	*out = neg ? 0 : v;
	return true;
}

int sr__otlp_json_parse_response(const char *body, size_t len,
				 uint64_t *rejected, char *msg, size_t msg_len)
{
	struct jr r = { body, body + len };
	const char *k, *s;
	size_t kn, sn;

	jr_ws(&r);
	if (r.p == r.end)
		return 0; /* an empty body is an empty response */
	if (!jr_eat(&r, '{'))
		return SR_EINVAL;
	if (jr_eat(&r, '}'))
		return 0;
	for (;;) {
		if (!jr_string(&r, &k, &kn) || !jr_eat(&r, ':'))
			return SR_EINVAL;
		jr_ws(&r);
		if (kn == 14 && !memcmp(k, "partialSuccess", 14) &&
		    jr_eat(&r, '{')) {
			if (!jr_eat(&r, '}')) {
				for (;;) {
					if (!jr_string(&r, &k, &kn) ||
					    !jr_eat(&r, ':'))
						return SR_EINVAL;
					jr_ws(&r);
					if (kn == 13 &&
					    !memcmp(k, "rejectedSpans", 13)) {
						if (!jr_count(&r, rejected))
							return SR_EINVAL;
					} else if (kn == 12 &&
						   !memcmp(k, "errorMessage", 12) &&
						   r.p < r.end && *r.p == '"') {
						if (!jr_string(&r, &s, &sn))
							return SR_EINVAL;
						if (msg && msg_len) {
							size_t n = sn < msg_len - 1
									   ? sn
									   : msg_len - 1;
							memcpy(msg, s, n);
							msg[n] = '\0';
						}
					} else if (!jr_value(&r, 2)) {
						return SR_EINVAL;
					}
					if (jr_eat(&r, '}'))
						break;
					if (!jr_eat(&r, ','))
						return SR_EINVAL;
				}
			}
		} else if (!jr_value(&r, 1)) {
			return SR_EINVAL;
		}
		if (jr_eat(&r, '}'))
			return 0;
		if (!jr_eat(&r, ','))
			return SR_EINVAL;
	}
}
