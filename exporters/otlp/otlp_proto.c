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
#include "otlp_pb_int.h"
#include "pb_read_int.h"

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
	p = put_count(p, TAG(4, WT_VARINT), ev->dropped_attr_count);
	return close_msg(mark, reserved, p);
}

static char *put_link(char *p, const sr_link_view_t *l, uint64_t *bad)
{
	size_t reserved = l->attr_count ? 2 : 1;
	char *mark;

	*p++ = TAG(13, WT_LEN);                 /* Span.links            */
	mark = p;
	p += reserved;
	p = put_id(p, TAG(1, WT_LEN), l->trace_id, 16); /* Link.trace_id  */
	p = put_id(p, TAG(2, WT_LEN), l->span_id, 8);   /* Link.span_id   */
	p = put_kvs(p, TAG(4, WT_LEN), l->attrs, l->attr_count, bad);
	p = put_count(p, TAG(5, WT_VARINT), l->dropped_attr_count);
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

	p = put_span_head(p, s->trace_id, s->span_id, s->trace_state,
			  s->parent_span_id, s->name, (uint32_t)s->kind,
			  s->start_ns, s->end_ns, bad);
	p = put_kvs(p, TAG(9, WT_LEN), s->attrs, s->attr_count, bad);
	p = put_count(p, TAG(10, WT_VARINT), s->dropped_attr_count);
	for (uint32_t i = 0; i < s->event_count; i++)
		p = put_event(p, &s->events[i], bad);
	p = put_count(p, TAG(12, WT_VARINT), s->dropped_event_count);
	for (uint32_t i = 0; i < s->link_count; i++)
		p = put_link(p, &s->links[i], bad);
	p = put_count(p, TAG(14, WT_VARINT), s->dropped_link_count);
	p = put_span_tail(p, s->status, s->status_message, s->trace_flags,
			  s->parent_remote, bad);

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
