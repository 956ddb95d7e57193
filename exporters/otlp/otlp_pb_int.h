/*
 * otlp_pb_int.h - the protobuf writing primitives of the OTLP encoders:
 * the span-by-view encoder (otlp_proto.c) and the span-by-record encoder
 * (records/otlp_pb_records.c) write through the same functions, so the
 * two produce the same bytes for the same span.
 *
 * Every writer writes into space its caller reserved (no bounds checks)
 * and returns the end of what it wrote.  Strings are sanitised to valid
 * UTF-8 (U+FFFD per maximal invalid subpart), counted in *bad.
 */
#ifndef SR_OTLP_PB_INT_H
#define SR_OTLP_PB_INT_H

#include <string.h>

#include "otlp_int.h"

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

/* Copy n bytes as put_bytes does and say whether they were all ASCII
 * (written either way): one pass for the check and the copy of a string
 * that is not known clean.  Never reads outside [s, s + n); writes at
 * most max(n, 8) bytes rounded up to 8 (n < 8 writes up to 8: room the
 * caller reserved). */
static inline bool put_ascii(char *p, const char *s, size_t n)
{
	uint64_t acc, x;

	if (n >= 8) {
		acc = 0;
		for (size_t i = 0; i + 8 < n; i += 8) {
			memcpy(&x, s + i, 8);
			acc |= x;
			memcpy(p + i, &x, 8);
		}
		memcpy(&x, s + n - 8, 8);
		acc |= x;
		memcpy(p + n - 8, &x, 8);
	} else if (n >= 4) {
		uint32_t a, b;

		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		memcpy(p, &a, 4);
		memcpy(p + n - 4, &b, 4);
		acc = a | b;
	} else if (n) {
		p[0] = s[0];
		p[n / 2] = s[n / 2];
		p[n - 1] = s[n - 1];
		acc = (uint8_t)(s[0] | s[n / 2] | s[n - 1]);
	} else {
		acc = 0;
	}
	return (acc & 0x8080808080808080ull) == 0;
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

/* An 8-byte id is all zero (no parent): one load. */
static inline bool zero8(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v == 0;
}

/* A scalar AnyValue's content: its size, with *v (strings) and *u (ints)
 * ready for put_scalar. */
static inline size_t scalar_size(const sr_attr_view_t *a, struct pstr *v,
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

static inline char *put_scalar(char *p, const sr_attr_view_t *a,
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
static inline size_t array_size(const sr_array_view_t *arr)
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

static inline char *put_array(char *p, const sr_array_view_t *arr, size_t size,
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

/* An id field: n (8 or 16) bytes. */
static inline char *put_id(char *p, char tag, const uint8_t *id, size_t n)
{
	*p++ = tag;
	*p++ = (char)n;
	memcpy(p, id, n);
	return p + n;
}

/* A count field (varint), omitted when 0 (proto3). */
static inline char *put_count(char *p, char tag, uint32_t n)
{
	if (n) {
		*p++ = tag;
		p = sr__pb_put_varint(p, n);
	}
	return p;
}

/* Span fields 1 to 4: ids, trace_state, parent_span_id, each omitted
 * where proto3 omits it. */
static inline char *put_span_ids(char *p, const uint8_t trace_id[16],
				 const uint8_t span_id[8], sr_str_t trace_state,
				 const uint8_t parent_span_id[8], uint64_t *bad)
{
	p = put_id(p, TAG(1, WT_LEN), trace_id, 16); /* trace_id         */
	p = put_id(p, TAG(2, WT_LEN), span_id, 8);   /* span_id          */
	if (trace_state.len)                    /* trace_state           */
		p = put_str_field(p, TAG(3, WT_LEN), trace_state, bad);
	if (!zero8(parent_span_id))             /* parent_span_id        */
		p = put_id(p, TAG(4, WT_LEN), parent_span_id, 8);
	return p;
}

/* Span fields 6 to 8: kind and times. */
static inline char *put_span_times(char *p, uint32_t kind, uint64_t start_ns,
				   uint64_t end_ns)
{
	p = put_count(p, TAG(6, WT_VARINT), kind); /* kind              */
	*p++ = TAG(7, WT_I64);                  /* start_time_unix_nano  */
	p = put_fixed64(p, start_ns);
	*p++ = TAG(8, WT_I64);                  /* end_time_unix_nano    */
	return put_fixed64(p, end_ns);
}

/* Span fields 1 to 8: the two above around the name (field 5). */
static inline char *put_span_head(char *p, const uint8_t trace_id[16],
				  const uint8_t span_id[8], sr_str_t trace_state,
				  const uint8_t parent_span_id[8], sr_str_t name,
				  uint32_t kind, uint64_t start_ns,
				  uint64_t end_ns, uint64_t *bad)
{
	p = put_span_ids(p, trace_id, span_id, trace_state, parent_span_id, bad);
	if (name.len)                           /* name                  */
		p = put_str_field(p, TAG(5, WT_LEN), name, bad);
	return put_span_times(p, kind, start_ns, end_ns);
}

/* Span fields 15 and 16: status (when it says anything) and flags. */
static inline char *put_span_tail(char *p, uint32_t status, sr_str_t message,
				  uint8_t trace_flags, bool parent_remote,
				  uint64_t *bad)
{
	if (status != SR_STATUS_UNSET || message.len) {
		struct pstr m;                  /* status                */
		size_t slen = 0;

		prep(&m, message, bad);
		if (m.out)
			slen += 1 + sr__pb_varint_size(m.out) + m.out;
		if (status)
			slen += 2;
		*p++ = TAG(15, WT_LEN);
		p = sr__pb_put_varint(p, slen);
		if (m.out) {
			*p++ = TAG(2, WT_LEN);  /* Status.message        */
			p = put_pstr(p, &m);
		}
		if (status) {
			*p++ = TAG(3, WT_VARINT); /* Status.code         */
			*p++ = (char)status;
		}
	}
	/* flags (field 16 takes a two-byte tag): W3C flags, and whether the
	 * parent is remote, which spanring always knows. */
	*p++ = (char)0x85;
	*p++ = 0x01;
	return put_fixed32(p, (uint32_t)trace_flags | SR__OTLP_FLAG_HAS_IS_REMOTE |
				      (parent_remote ? SR__OTLP_FLAG_IS_REMOTE : 0));
}

#endif /* SR_OTLP_PB_INT_H */
