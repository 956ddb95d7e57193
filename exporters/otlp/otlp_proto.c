/*
 * otlp_proto.c - OTLP protobuf wire encoding of resources, scopes and spans,
 * and the ExportTraceServiceResponse reader.
 *
 * Hand-written against opentelemetry-proto (trace/v1/trace.proto,
 * common/v1/common.proto, collector/trace/v1/trace_service.proto): no
 * generated code, no message objects.  A span is written field by field
 * straight from its sr_span_data_t view into space reserved once for its
 * worst case (every string tripled for U+FFFD replacement, plus fixed
 * overheads per item).
 *
 * Lengths: a KeyValue's length is computed exactly before writing it (its
 * parts are strings and scalars of known encoded size), so attributes cost
 * no fix-up.  Span, Event and Link lengths are not known until their
 * content is written: a placeholder of the likely varint width is left and,
 * if the real width differs, the content is moved once (memmove of that
 * message only).  Proto3 rules: zero scalars and empty strings are
 * omitted, except inside AnyValue's oneof, where the chosen member is
 * always written so the receiver sees the type (a false bool, a 0 int, an
 * empty string).
 *
 * Left out: the proto3 "packed" and group encodings (OTLP uses neither);
 * reading any response field other than partial_success.
 */
#include "otlp_int.h"
#include "pb_read_int.h"

#include <string.h>

/* Field tags: (field << 3) | wire type. */
enum {
	WT_VARINT = 0,
	WT_I64 = 1,
	WT_LEN = 2,
	WT_I32 = 5
};
#define TAG(f, wt) ((char)(((f) << 3) | (wt)))

/* A string ready to write: its encoded (sanitised) length is known. */
struct pstr {
	const char *s;
	uint32_t n;
	uint32_t out;
	bool clean;
};

static inline void prep(struct pstr *ps, sr_str_t v, uint64_t *bad)
{
	ps->s = v.ptr;
	ps->n = v.len;
	ps->out = v.len;
	ps->clean = true;
	if (__builtin_expect(v.len == 0 || sr__is_ascii(v.ptr, v.len), 1))
		return;
	size_t out, b = sr__utf8_scan(v.ptr, v.len, &out);
	if (b) {
		ps->out = (uint32_t)out;
		ps->clean = false;
		*bad += b;
	}
}

/* Copy n bytes: the keys and values of a span are mostly under 32
 * bytes, where a call into memcpy costs more than the copy; fixed-size
 * moves that overlap in the middle, never touching bytes outside
 * [s, s + n) or [p, p + n). */
static inline char *put_bytes(char *p, const char *s, size_t n)
{
	uint64_t a, b, c, d;

	if (n >= 8 && n <= 16) {
		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(p, &a, 8);
		memcpy(p + n - 8, &b, 8);
	} else if (n > 16 && n <= 32) {
		memcpy(&a, s, 8);
		memcpy(&b, s + 8, 8);
		memcpy(&c, s + n - 16, 8);
		memcpy(&d, s + n - 8, 8);
		memcpy(p, &a, 8);
		memcpy(p + 8, &b, 8);
		memcpy(p + n - 16, &c, 8);
		memcpy(p + n - 8, &d, 8);
	} else if (n >= 4 && n < 8) {
		uint32_t x, y;

		memcpy(&x, s, 4);
		memcpy(&y, s + n - 4, 4);
		memcpy(p, &x, 4);
		memcpy(p + n - 4, &y, 4);
	} else if (n && n < 4) {
		p[0] = s[0];
		p[n / 2] = s[n / 2];
		p[n - 1] = s[n - 1];
	} else if (n) {
		memcpy(p, s, n);
	}
	return p + n;
}

static inline char *put_pstr(char *p, const struct pstr *ps)
{
	p = sr__pb_put_varint(p, ps->out);
	if (__builtin_expect(ps->clean, 1))
		return put_bytes(p, ps->s, ps->n);
	return p + sr__utf8_copy_sanitised(p, ps->s, ps->n);
}

static inline char *put_fixed64(char *p, uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	memcpy(p, &v, 8);
	return p + 8;
}

static inline char *put_fixed32(char *p, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	memcpy(p, &v, 4);
	return p + 4;
}

/* Close a length-delimited message whose content runs from
 * mark + reserved to end: write its length at mark, moving the content
 * if the varint needs another width than was reserved. */
static inline char *close_msg(char *mark, size_t reserved, char *end)
{
	size_t clen = (size_t)(end - (mark + reserved));
	size_t need = sr__pb_varint_size(clen);

	if (__builtin_expect(need != reserved, 0))
		memmove(mark + need, mark + reserved, clen);
	sr__pb_put_varint(mark, clen);
	return mark + need + clen;
}

static inline bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* ---- worst-case sizes ------------------------------------------------- */

/* Per item: tag (2) + length varint (5) for the item and each nested
 * message, a 10-byte varint or 8-byte fixed value, and up to 3 bytes per
 * input byte of string.  Generous on purpose: one comparison per span
 * instead of one per write. */
static inline size_t attrs_bound(const sr_attr_view_t *a, uint32_t n)
{
	size_t b = 0;

	for (uint32_t i = 0; i < n; i++) {
		b += 40 + 3 * (size_t)a[i].key.len;
		if (a[i].type == SR_ATTR_STRING ||
		    a[i].type == SR_ATTR_STRING_STATIC)
			b += 3 * (size_t)a[i].v.s.len;
		if (a[i].type == SR_ATTR_ARRAY) {
			sr_array_iter_t it = sr_array_begin(&a[i].v.a);
			sr_attr_view_t e;

			b += 10; /* ArrayValue tag and length */
			while (sr_array_next(&it, &e))
				b += 24 + (e.type == SR_ATTR_STRING
						   ? 3 * (size_t)e.v.s.len
						   : 0);
		}
	}
	return b;
}

static size_t span_bound(const sr_span_data_t *s)
{
	size_t b = 160 + 3 * ((size_t)s->name.len + s->trace_state.len +
			      s->status_message.len);

	b += attrs_bound(s->attrs, s->attr_count);
	for (uint32_t i = 0; i < s->event_count; i++)
		b += 48 + 3 * (size_t)s->events[i].name.len +
		     attrs_bound(s->events[i].attrs, s->events[i].attr_count);
	for (uint32_t i = 0; i < s->link_count; i++)
		b += 64 + attrs_bound(s->links[i].attrs, s->links[i].attr_count);
	return b;
}

/* ---- messages --------------------------------------------------------- */

/* A scalar AnyValue's content: its size, with *v (strings) and *u (ints)
 * ready for put_scalar. */
static size_t scalar_size(const sr_attr_view_t *a, struct pstr *v,
			  uint64_t *u, uint64_t *bad)
{
	switch (a->type) {
	case SR_ATTR_BOOL:
		return 2;
	case SR_ATTR_INT:
		*u = (uint64_t)a->v.i; /* int64: negatives take 10 bytes */
		return 1 + sr__pb_varint_size(*u);
	case SR_ATTR_DOUBLE:
		return 9;
	case SR_ATTR_STRING:
	case SR_ATTR_STRING_STATIC:
		prep(v, a->v.s, bad);
		return 1 + sr__pb_varint_size(v->out) + v->out;
	default:
		return 0; /* unknown type: an empty AnyValue */
	}
}

static char *put_scalar(char *p, const sr_attr_view_t *a,
			const struct pstr *v, uint64_t u)
{
	switch (a->type) {
	case SR_ATTR_BOOL:
		*p++ = TAG(2, WT_VARINT);       /* AnyValue.bool_value   */
		*p++ = a->v.b ? 1 : 0;
		break;
	case SR_ATTR_INT:
		*p++ = TAG(3, WT_VARINT);       /* AnyValue.int_value    */
		p = sr__pb_put_varint(p, u);
		break;
	case SR_ATTR_DOUBLE: {
		uint64_t bits;
		memcpy(&bits, &a->v.d, 8);
		*p++ = TAG(4, WT_I64);          /* AnyValue.double_value */
		p = put_fixed64(p, bits);
		break;
	}
	case SR_ATTR_STRING:
	case SR_ATTR_STRING_STATIC:
		*p++ = TAG(1, WT_LEN);          /* AnyValue.string_value */
		p = put_pstr(p, v);
		break;
	default:
		break;
	}
	return p;
}

/* ArrayValue content size: each element an AnyValue in field 1. */
static size_t array_size(const sr_array_view_t *arr)
{
	sr_array_iter_t it = sr_array_begin(arr);
	sr_attr_view_t e;
	size_t n = 0;

	while (sr_array_next(&it, &e)) {
		struct pstr v = { 0 };
		uint64_t u = 0, bad = 0; /* counted when written */
		size_t ev = scalar_size(&e, &v, &u, &bad);

		n += 1 + sr__pb_varint_size(ev) + ev;
	}
	return n;
}

static char *put_array(char *p, const sr_array_view_t *arr, size_t size,
		       uint64_t *bad)
{
	sr_array_iter_t it = sr_array_begin(arr);
	sr_attr_view_t e;

	*p++ = TAG(5, WT_LEN);                  /* AnyValue.array_value  */
	p = sr__pb_put_varint(p, size);
	while (sr_array_next(&it, &e)) {
		struct pstr v = { 0 };
		uint64_t u = 0;
		size_t ev = scalar_size(&e, &v, &u, bad);

		*p++ = TAG(1, WT_LEN);          /* ArrayValue.values     */
		p = sr__pb_put_varint(p, ev);
		p = put_scalar(p, &e, &v, u);
	}
	return p;
}

/* KeyValue as field `tag` of the enclosing message.  Inline: a span's
 * attributes are its bulk, and a call per attribute costs a tenth of
 * the attribute. */
static inline __attribute__((always_inline)) char *put_kv(char *p, char tag, const sr_attr_view_t *a, uint64_t *bad)
{
	struct pstr k, v = { 0 };
	size_t av, arr = 0;
	uint64_t u = 0;

	prep(&k, a->key, bad);
	/* The common attribute, a short string or an int under a short key:
	 * every length fits a one-byte varint, so the KeyValue is written
	 * straight through with its lengths known up front (the general
	 * path below writes the same bytes). */
	if (a->type == SR_ATTR_STRING || a->type == SR_ATTR_STRING_STATIC) {
		uint64_t vbad = 0; /* a clean string has none; the general
				      path counts an unclean one */

		prep(&v, a->v.s, &vbad);
		if (__builtin_expect(k.clean && v.clean &&
					     k.out + v.out <= 127 - 6, 1)) {
			p[0] = tag;
			p[1] = (char)(k.out + v.out + 6);
			p[2] = TAG(1, WT_LEN);  /* KeyValue.key          */
			p[3] = (char)k.out;
			p = put_bytes(p + 4, k.s, k.n);
			p[0] = TAG(2, WT_LEN);  /* KeyValue.value        */
			p[1] = (char)(v.out + 2);
			p[2] = TAG(1, WT_LEN);  /* AnyValue.string_value */
			p[3] = (char)v.out;
			return put_bytes(p + 4, v.s, v.n);
		}
	} else if (a->type == SR_ATTR_INT && k.clean && a->v.i >= 0 &&
		   k.out <= 127 - 14) {
		size_t vs = sr__pb_varint_size((uint64_t)a->v.i); /* <= 9 */

		p[0] = tag;
		p[1] = (char)(k.out + vs + 5);
		p[2] = TAG(1, WT_LEN);          /* KeyValue.key          */
		p[3] = (char)k.out;
		p = put_bytes(p + 4, k.s, k.n);
		p[0] = TAG(2, WT_LEN);          /* KeyValue.value        */
		p[1] = (char)(vs + 1);
		p[2] = TAG(3, WT_VARINT);       /* AnyValue.int_value    */
		return sr__pb_put_varint(p + 3, (uint64_t)a->v.i);
	}
	if (a->type == SR_ATTR_ARRAY) {
		arr = array_size(&a->v.a);
		av = 1 + sr__pb_varint_size(arr) + arr;
	} else {
		av = scalar_size(a, &v, &u, bad);
	}
	size_t kv = 1 + sr__pb_varint_size(k.out) + k.out + 1 +
		    sr__pb_varint_size(av) + av;

	*p++ = tag;
	p = sr__pb_put_varint(p, kv);
	*p++ = TAG(1, WT_LEN);                  /* KeyValue.key          */
	p = put_pstr(p, &k);
	*p++ = TAG(2, WT_LEN);                  /* KeyValue.value        */
	p = sr__pb_put_varint(p, av);
	if (a->type == SR_ATTR_ARRAY)
		return put_array(p, &a->v.a, arr, bad);
	return put_scalar(p, a, &v, u);
}

static inline char *put_kvs(char *p, char tag, const sr_attr_view_t *a,
			    uint32_t n, uint64_t *bad)
{
	for (uint32_t i = 0; i < n; i++)
		p = put_kv(p, tag, &a[i], bad);
	return p;
}

static inline char *put_str_field(char *p, char tag, sr_str_t v, uint64_t *bad)
{
	struct pstr ps;

	prep(&ps, v, bad);
	*p++ = tag;
	return put_pstr(p, &ps);
}

static char *put_event(char *p, const sr_event_view_t *ev, uint64_t *bad)
{
	size_t reserved = ev->attr_count ? 2 : 1;
	char *mark;

	*p++ = TAG(11, WT_LEN);                 /* Span.events           */
	mark = p;
	p += reserved;
	*p++ = TAG(1, WT_I64);                  /* Event.time_unix_nano  */
	p = put_fixed64(p, ev->ts_ns);
	if (ev->name.len)
		p = put_str_field(p, TAG(2, WT_LEN), ev->name, bad);
	p = put_kvs(p, TAG(3, WT_LEN), ev->attrs, ev->attr_count, bad);
	if (ev->dropped_attr_count) {
		*p++ = TAG(4, WT_VARINT);
		p = sr__pb_put_varint(p, ev->dropped_attr_count);
	}
	return close_msg(mark, reserved, p);
}

static char *put_link(char *p, const sr_link_view_t *l, uint64_t *bad)
{
	size_t reserved = l->attr_count ? 2 : 1;
	char *mark;

	*p++ = TAG(13, WT_LEN);                 /* Span.links            */
	mark = p;
	p += reserved;
	*p++ = TAG(1, WT_LEN);                  /* Link.trace_id         */
	*p++ = 16;
	memcpy(p, l->trace_id, 16);
	p += 16;
	*p++ = TAG(2, WT_LEN);                  /* Link.span_id          */
	*p++ = 8;
	memcpy(p, l->span_id, 8);
	p += 8;
	p = put_kvs(p, TAG(4, WT_LEN), l->attrs, l->attr_count, bad);
	if (l->dropped_attr_count) {
		*p++ = TAG(5, WT_VARINT);
		p = sr__pb_put_varint(p, l->dropped_attr_count);
	}
	*p++ = TAG(6, WT_I32);                  /* Link.flags            */
	p = put_fixed32(p, l->trace_flags);
	return close_msg(mark, reserved, p);
}

int sr__otlp_pb_span(struct sr__buf *out, const sr_span_data_t *s,
		     uint64_t *bad, size_t *off, size_t *len)
{
	if (sr__buf_reserve(out, span_bound(s)))
		return SR_ENOMEM;

	char *start = out->data + out->len, *p = start, *mark;

	*p++ = TAG(2, WT_LEN);                  /* ScopeSpans.spans      */
	mark = p;
	p += 2;                                 /* spans are 128..16383 B mostly */

	*p++ = TAG(1, WT_LEN);                  /* trace_id              */
	*p++ = 16;
	memcpy(p, s->trace_id, 16);
	p += 16;
	*p++ = TAG(2, WT_LEN);                  /* span_id               */
	*p++ = 8;
	memcpy(p, s->span_id, 8);
	p += 8;
	if (s->trace_state.len)                 /* trace_state           */
		p = put_str_field(p, TAG(3, WT_LEN), s->trace_state, bad);
	if (!all_zero(s->parent_span_id, 8)) {  /* parent_span_id        */
		*p++ = TAG(4, WT_LEN);
		*p++ = 8;
		memcpy(p, s->parent_span_id, 8);
		p += 8;
	}
	if (s->name.len)                        /* name                  */
		p = put_str_field(p, TAG(5, WT_LEN), s->name, bad);
	if (s->kind) {                          /* kind                  */
		*p++ = TAG(6, WT_VARINT);
		p = sr__pb_put_varint(p, (uint32_t)s->kind);
	}
	*p++ = TAG(7, WT_I64);                  /* start_time_unix_nano  */
	p = put_fixed64(p, s->start_ns);
	*p++ = TAG(8, WT_I64);                  /* end_time_unix_nano    */
	p = put_fixed64(p, s->end_ns);
	p = put_kvs(p, TAG(9, WT_LEN), s->attrs, s->attr_count, bad);
	if (s->dropped_attr_count) {            /* dropped_attributes_count */
		*p++ = TAG(10, WT_VARINT);
		p = sr__pb_put_varint(p, s->dropped_attr_count);
	}
	for (uint32_t i = 0; i < s->event_count; i++)
		p = put_event(p, &s->events[i], bad);
	if (s->dropped_event_count) {           /* dropped_events_count  */
		*p++ = TAG(12, WT_VARINT);
		p = sr__pb_put_varint(p, s->dropped_event_count);
	}
	for (uint32_t i = 0; i < s->link_count; i++)
		p = put_link(p, &s->links[i], bad);
	if (s->dropped_link_count) {            /* dropped_links_count   */
		*p++ = TAG(14, WT_VARINT);
		p = sr__pb_put_varint(p, s->dropped_link_count);
	}
	if (s->status != SR_STATUS_UNSET || s->status_message.len) {
		struct pstr m;                  /* status                */
		size_t slen = 0;

		prep(&m, s->status_message, bad);
		if (m.out)
			slen += 1 + sr__pb_varint_size(m.out) + m.out;
		if (s->status)
			slen += 2;
		*p++ = TAG(15, WT_LEN);
		p = sr__pb_put_varint(p, slen);
		if (m.out) {
			*p++ = TAG(2, WT_LEN);  /* Status.message        */
			p = put_pstr(p, &m);
		}
		if (s->status) {
			*p++ = TAG(3, WT_VARINT); /* Status.code         */
			*p++ = (char)s->status;
		}
	}
	/* flags (field 16 takes a two-byte tag): W3C flags, and whether the
	 * parent is remote, which spanring always knows. */
	*p++ = (char)0x85;
	*p++ = 0x01;
	p = put_fixed32(p, (uint32_t)s->trace_flags | SR__OTLP_FLAG_HAS_IS_REMOTE |
				   (s->parent_remote ? SR__OTLP_FLAG_IS_REMOTE : 0));

	p = close_msg(mark, 2, p);
	*off = out->len;
	*len = (size_t)(p - start);
	out->len += *len;
	return 0;
}

int sr__otlp_pb_resource(struct sr__buf *out, const sr_attr_view_t *a,
			 uint32_t n, uint64_t *bad)
{
	if (sr__buf_reserve(out, attrs_bound(a, n)))
		return SR_ENOMEM;
	char *p = out->data + out->len;
	p = put_kvs(p, TAG(1, WT_LEN), a, n, bad); /* Resource.attributes */
	out->len = (size_t)(p - out->data);
	return 0;
}

int sr__otlp_pb_scope(struct sr__buf *out, sr_str_t name, sr_str_t version,
		      uint64_t *bad)
{
	if (sr__buf_reserve(out, 24 + 3 * ((size_t)name.len + version.len)))
		return SR_ENOMEM;
	char *p = out->data + out->len;
	if (name.len)
		p = put_str_field(p, TAG(1, WT_LEN), name, bad);
	if (version.len)
		p = put_str_field(p, TAG(2, WT_LEN), version, bad);
	out->len = (size_t)(p - out->data);
	return 0;
}

/* Request framing: 3 length-delimited headers of at most 1 + 10 bytes
 * each, plus the resource and scope headers and bodies. */
size_t sr__otlp_pb_prefix_max(size_t res_len, size_t scope_len)
{
	return 4 * 11 + res_len + scope_len;
}

/* ---- response ----------------------------------------------------------- */

/* ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
 * ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; } */
int sr__otlp_pb_parse_response(const char *body, size_t len,
			       uint64_t *rejected, char *msg, size_t msg_len)
{
	const uint8_t *p = (const uint8_t *)body, *end = p + len;
	uint64_t tag, v;

	while (p < end) {
		if (!sr__pb_get_varint(&p, end, &tag))
			return SR_EINVAL;
		if (tag != ((1u << 3) | WT_LEN)) {
			if (!sr__pb_skip(&p, end, tag & 7))
				return SR_EINVAL;
			continue;
		}
		if (!sr__pb_get_varint(&p, end, &v) || v > (uint64_t)(end - p))
			return SR_EINVAL;
		const uint8_t *q = p, *qend = p + v;
		p = qend;
		while (q < qend) {
			if (!sr__pb_get_varint(&q, qend, &tag))
				return SR_EINVAL;
			if (tag == ((1u << 3) | WT_VARINT)) {
				if (!sr__pb_get_varint(&q, qend, &v))
					return SR_EINVAL;
				/* int64 on the wire; a negative count is
				 * nonsense and means nothing rejected. */
				*rejected = (int64_t)v > 0 ? v : 0;
			} else if (tag == ((2u << 3) | WT_LEN)) {
				if (!sr__pb_get_varint(&q, qend, &v) ||
				    v > (uint64_t)(qend - q))
					return SR_EINVAL;
				if (msg && msg_len) {
					size_t n = v < msg_len - 1 ? v : msg_len - 1;
					memcpy(msg, q, n);
					msg[n] = '\0';
				}
				q += v;
			} else if (!sr__pb_skip(&q, qend, tag & 7)) {
				return SR_EINVAL;
			}
		}
	}
	return 0;
}
