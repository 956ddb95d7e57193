/*
 * test_otlp_encode.c - the OTLP encoders against independent decoders.
 *
 * A fixed golden batch exercises every field the encoders write: all
 * attribute types and their edge values (false, 0, INT64_MIN/MAX,
 * negative and non-integral doubles, empty and 4096-byte strings, an empty
 * key), non-ASCII text, invalid UTF-8 (overlong, surrogate, truncated and
 * stray bytes), events and links with attributes and dropped counts,
 * trace_state, remote parents, every kind and status, and spans from two
 * instrumentation scopes interleaved.
 *
 * Protobuf bodies are decoded by `protoc --decode_raw` (a real decoder
 * that knows nothing of our code) and compared field by field with the
 * input; JSON bodies are parsed by jansson, which also rejects invalid
 * UTF-8, and compared the same way.  Expected values of sanitised strings
 * are written out by hand from the Unicode substitution rule, not computed
 * by the code under test.
 *
 * protoc prints a length-delimited field as a nested message whenever its
 * bytes happen to parse as one; golden strings therefore start with a byte
 * that is not a valid tag ('G', '/', 0x4f ids: wire type 7), so strings
 * print as strings.
 *
 * Also here: the JSON writer, the UTF-8 scanner, response parsing
 * (partial_success), header parsing, configuration errors at create, and
 * buffer reuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exporter_int.h"
#include "http_int.h"
#include "otlp_int.h"
#include "protoc_tree.h"
#include "receiver.h"
#include "testutil.h"

static inline sr_str_t str_(const char *p, size_t n)
{
	return (sr_str_t){ p, (uint32_t)n };
}
#define S(x) str_((x), sizeof(x) - 1)

/* ---- golden batch ------------------------------------------------------- */

#define MAXLEN 4096
static char maxstr[MAXLEN];

/* Invalid UTF-8 inputs and their sanitised forms (U+FFFD = EF BF BD). */
#define FFFD "\xef\xbf\xbd"
static const char bad1[] = "Gok\xc3\x28mid\xff\xfe" "end\xe2\x82";
static const char bad1_exp[] = "Gok" FFFD "(mid" FFFD FFFD "end" FFFD;
#define BAD1_N 4
static const char bad2[] = "G\xed\xa0\x80x\xc0\xaf\xf0\x80\x80";
static const char bad2_exp[] = "G" FFFD FFFD FFFD "x" FFFD FFFD FFFD FFFD FFFD;
#define BAD2_N 8
static const char esc[] = "G\"quote\\back\nnl\ttab\x01\x1f/";
static const char nonascii[] = "/r\xc3\xa9sum\xc3\xa9 \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x9a\x80";

/* The expected encoding of a string input. */
static sr_str_t expected(sr_str_t in)
{
	if (in.ptr == bad1)
		return S(bad1_exp);
	if (in.ptr == bad2)
		return S(bad2_exp);
	return in;
}

static sr_attr_view_t res_attrs[2];
static sr_attr_view_t a_attrs[16];
static uint32_t a_nattrs;
static sr_attr_view_t ev_attrs[2], link_attrs[1];
static sr_event_view_t a_events[2];
static sr_link_view_t a_links[2];
static sr_span_data_t golden[4];
static uint64_t golden_invalid; /* invalid subparts in the batch */

#define ATTR_(k, t, f, x) ((sr_attr_view_t){ .key = (k), .type = (t), .v.f = (x) })
#define attr_s(k, x) ATTR_(k, SR_ATTR_STRING, s, x)
#define attr_i(k, x) ATTR_(k, SR_ATTR_INT, i, x)
#define attr_b(k, x) ATTR_(k, SR_ATTR_BOOL, b, x)
#define attr_d(k, x) ATTR_(k, SR_ATTR_DOUBLE, d, x)

static void ids(uint8_t *p, size_t n, uint8_t seed)
{
	p[0] = 0x4f; /* not a valid protobuf tag: printed as a string */
	for (size_t i = 1; i < n; i++)
		p[i] = (uint8_t)(seed + i * 17);
}

static void build_golden(void)
{
	sr_span_data_t *a = &golden[0], *b = &golden[1], *c = &golden[2],
		       *d = &golden[3];

	maxstr[0] = 'G';
	for (size_t i = 1; i < MAXLEN; i++)
		maxstr[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i % 36];

	res_attrs[0] = attr_s(S("Gservice.name"), S("Gsvc"));
	res_attrs[1] = attr_i(S("Ghost.cores"), 2);

	a_nattrs = 0;
	a_attrs[a_nattrs++] = attr_b(S("Gbool.t"), true);
	a_attrs[a_nattrs++] = attr_b(S("Gbool.f"), false);
	a_attrs[a_nattrs++] = attr_i(S("Gint.zero"), 0);
	a_attrs[a_nattrs++] = attr_i(S("Gint.min"), INT64_MIN);
	a_attrs[a_nattrs++] = attr_i(S("Gint.max"), INT64_MAX);
	a_attrs[a_nattrs++] = attr_i(S("Gint.neg"), -1);
	a_attrs[a_nattrs++] = attr_d(S("Gdbl"), 3.25);
	a_attrs[a_nattrs++] = attr_d(S("Gdbl.tenth"), 0.1);
	a_attrs[a_nattrs++] = attr_d(S("Gdbl.neg"), -1e300);
	a_attrs[a_nattrs++] = attr_s(S("Gstr.empty"), S(""));
	a_attrs[a_nattrs++] = attr_s(S("Gstr.max"), str_(maxstr, MAXLEN));
	a_attrs[a_nattrs++] = attr_s(S("Gstr.bad"), S(bad1));
	a_attrs[a_nattrs++] = attr_s(S("Gstr.esc"), S(esc));
	a_attrs[a_nattrs++] = attr_s(S("/cl\xc3\xa9"), S(nonascii));
	a_attrs[a_nattrs++] = attr_s(S(""), S("Gempty key"));
	a_attrs[a_nattrs] = attr_s(S("Gstatic"), S("Gkept by pointer"));
	a_attrs[a_nattrs++].type = SR_ATTR_STRING_STATIC;

	ev_attrs[0] = attr_s(S("Gexception.type"), S("GE"));
	ev_attrs[1] = attr_s(S("Gexception.message"), S(bad1));
	a_events[0] = (sr_event_view_t){ .name = S("Gexception"),
					 .ts_ns = 1700000000123457000ull,
					 .attrs = ev_attrs, .attr_count = 2,
					 .dropped_attr_count = 2 };
	a_events[1] = (sr_event_view_t){ .name = S(""), .ts_ns = 1 };

	link_attrs[0] = attr_i(S("Glink.i"), 42);
	memset(a_links, 0, sizeof(a_links));
	ids(a_links[0].trace_id, 16, 90);
	ids(a_links[0].span_id, 8, 91);
	a_links[0].trace_flags = 1;
	a_links[0].attrs = link_attrs;
	a_links[0].attr_count = 1;
	a_links[0].dropped_attr_count = 1;
	ids(a_links[1].trace_id, 16, 92);
	ids(a_links[1].span_id, 8, 93);

	memset(golden, 0, sizeof(golden));
	ids(a->trace_id, 16, 1);
	ids(a->span_id, 8, 2);
	ids(a->parent_span_id, 8, 3);
	a->trace_flags = 1;
	a->parent_remote = 1;
	a->kind = SR_KIND_CONSUMER;
	a->status = SR_STATUS_ERROR;
	a->status_message = S(bad2);
	a->name = S(nonascii);
	a->trace_state = S("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
	a->start_ns = 1700000000123456789ull;
	a->end_ns = 1700000000123457789ull;
	a->scope_name = S("Glib-a");
	a->scope_version = S("G1.2.3");
	a->attrs = a_attrs;
	a->attr_count = a_nattrs;
	a->dropped_attr_count = 7;
	a->events = a_events;
	a->event_count = 2;
	a->dropped_event_count = 3;
	a->links = a_links;
	a->link_count = 2;
	a->dropped_link_count = 4;

	ids(b->trace_id, 16, 11);
	ids(b->span_id, 8, 12);
	b->kind = SR_KIND_INTERNAL;
	b->start_ns = b->end_ns = 5;
	b->scope_name = S("Glib-a");
	b->scope_version = S("G1.2.3");

	ids(c->trace_id, 16, 21);
	ids(c->span_id, 8, 22);
	ids(c->parent_span_id, 8, 23);
	c->trace_flags = 1;
	c->kind = SR_KIND_CLIENT;
	c->status = SR_STATUS_OK;
	c->name = S("Gother");
	c->start_ns = 10;
	c->end_ns = 20;
	c->scope_name = S("Glib-b");

	ids(d->trace_id, 16, 31);
	ids(d->span_id, 8, 32);
	d->kind = SR_KIND_SERVER;
	d->status = SR_STATUS_ERROR;
	d->name = S("Gback");
	d->start_ns = 30;
	d->end_ns = 40;
	d->scope_name = S("Glib-a");
	d->scope_version = S("G1.2.3");

	/* bad1 twice (attribute, event attribute), bad2 once (status). */
	golden_invalid = 2 * BAD1_N + BAD2_N;
}

/* Spans in request order: scope a (A, B, D), then scope b (C). */
static const int order_a[] = { 0, 1, 3 };
static const int order_b[] = { 2 };

/* protoc --decode_raw trees: protoc_tree.h */

/* String/bytes field: absent when empty (proto3), else equal. */
static void expect_bytes(const struct pbn *m, unsigned field, const void *p,
			 size_t n, bool always)
{
	const struct pbn *k = kid(m, field, 0);
	if (!k) {
		if (n || always)
			fail_msg("field %u missing (want %zu bytes)", field, n);
		return;
	}
	assert_int_equal(nkid(m, field), 1);
	if (k->kind != 'S')
		fail_msg("field %u: expected bytes, got '%c'", field, k->kind);
	assert_int_equal(k->slen, n);
	assert_memory_equal(k->s, p, n);
}

static void expect_str(const struct pbn *m, unsigned field, sr_str_t in)
{
	sr_str_t e = expected(in);
	expect_bytes(m, field, e.ptr, e.len, false);
}

static void expect_varint(const struct pbn *m, unsigned field, uint64_t v)
{
	const struct pbn *k = kid(m, field, 0);
	if (!v && !k)
		return; /* proto3 omits zero */
	if (!k)
		fail_msg("varint field %u missing (want %" PRIu64 ")", field, v);
	assert_int_equal(k->kind, 'I');
	assert_int_equal(k->u, v);
}

static void expect_fixed(const struct pbn *m, unsigned field, uint64_t v,
			 int bits)
{
	const struct pbn *k = kid(m, field, 0);
	if (!k)
		fail_msg("fixed%d field %u missing", bits, field);
	assert_int_equal(k->kind, 'X');
	assert_int_equal(k->hexdigits, bits / 4);
	assert_int_equal(k->u, v);
}

static void check_kv_pb(const struct pbn *kv, const sr_attr_view_t *a)
{
	const struct pbn *v;
	uint64_t bits;

	expect_str(kv, 1, a->key);
	v = msg(kv, 2, 0);
	switch (a->type) {
	case SR_ATTR_BOOL:
		/* a oneof member is written even when false */
		assert_non_null(kid(v, 2, 0));
		assert_int_equal(kid(v, 2, 0)->u, a->v.b);
		break;
	case SR_ATTR_INT:
		assert_non_null(kid(v, 3, 0));
		assert_int_equal(kid(v, 3, 0)->u, (uint64_t)a->v.i);
		break;
	case SR_ATTR_DOUBLE:
		memcpy(&bits, &a->v.d, 8);
		expect_fixed(v, 4, bits, 64);
		break;
	default:
		expect_bytes(v, 1, expected(a->v.s).ptr, expected(a->v.s).len, true);
		break;
	}
}

static void check_kvs_pb(const struct pbn *m, unsigned field,
			 const sr_attr_view_t *a, uint32_t n)
{
	assert_int_equal(nkid(m, field), n);
	for (uint32_t i = 0; i < n; i++)
		check_kv_pb(msg(m, field, i), &a[i]);
}

static void check_span_pb(const struct pbn *sp, const sr_span_data_t *s)
{
	static const uint8_t zero[8];

	expect_bytes(sp, 1, s->trace_id, 16, true);
	expect_bytes(sp, 2, s->span_id, 8, true);
	expect_str(sp, 3, s->trace_state);
	if (memcmp(s->parent_span_id, zero, 8))
		expect_bytes(sp, 4, s->parent_span_id, 8, true);
	else
		assert_null(kid(sp, 4, 0));
	expect_str(sp, 5, s->name);
	expect_varint(sp, 6, (uint64_t)s->kind);
	expect_fixed(sp, 7, s->start_ns, 64);
	expect_fixed(sp, 8, s->end_ns, 64);
	check_kvs_pb(sp, 9, s->attrs, s->attr_count);
	expect_varint(sp, 10, s->dropped_attr_count);
	assert_int_equal(nkid(sp, 11), s->event_count);
	for (uint32_t i = 0; i < s->event_count; i++) {
		const struct pbn *ev = msg(sp, 11, i);
		expect_fixed(ev, 1, s->events[i].ts_ns, 64);
		expect_str(ev, 2, s->events[i].name);
		check_kvs_pb(ev, 3, s->events[i].attrs, s->events[i].attr_count);
		expect_varint(ev, 4, s->events[i].dropped_attr_count);
	}
	expect_varint(sp, 12, s->dropped_event_count);
	assert_int_equal(nkid(sp, 13), s->link_count);
	for (uint32_t i = 0; i < s->link_count; i++) {
		const struct pbn *l = msg(sp, 13, i);
		expect_bytes(l, 1, s->links[i].trace_id, 16, true);
		expect_bytes(l, 2, s->links[i].span_id, 8, true);
		check_kvs_pb(l, 4, s->links[i].attrs, s->links[i].attr_count);
		expect_varint(l, 5, s->links[i].dropped_attr_count);
		expect_fixed(l, 6, s->links[i].trace_flags, 32);
	}
	expect_varint(sp, 14, s->dropped_link_count);
	if (s->status == SR_STATUS_UNSET && !s->status_message.len) {
		assert_null(kid(sp, 15, 0));
	} else {
		const struct pbn *st = msg(sp, 15, 0);
		expect_str(st, 2, s->status_message);
		expect_varint(st, 3, (uint64_t)s->status);
	}
	expect_fixed(sp, 16, s->trace_flags | 0x100u | (s->parent_remote ? 0x200u : 0),
		     32);
}

static void check_scope_pb(const struct pbn *ss, const int *order, size_t n)
{
	const sr_span_data_t *first = &golden[order[0]];
	const struct pbn *scope = msg(ss, 1, 0);

	expect_str(scope, 1, first->scope_name);
	expect_str(scope, 2, first->scope_version);
	assert_int_equal(nkid(ss, 2), n);
	for (size_t i = 0; i < n; i++)
		check_span_pb(msg(ss, 2, i), &golden[order[i]]);
}

static void protobuf_golden_batch_decodes_field_by_field(void **state)
{
	struct sr__otlp_enc e;
	const char *body;
	size_t len;
	struct pbn root;

	build_golden();
	sr__otlp_enc_init(&e, SR__OTLP_PROTOBUF);
	assert_int_equal(sr__otlp_encode(&e, res_attrs, 2, golden, 4, &body, &len), 0);
	assert_int_equal(e.invalid_utf8, golden_invalid);

	char *text = run_protoc(body, len);
	parse_decode_raw(text, &root);
	assert_int_equal(nkid(&root, 1), 1);             /* one ResourceSpans */
	const struct pbn *rs = msg(&root, 1, 0);
	check_kvs_pb(msg(rs, 1, 0), 1, res_attrs, 2);    /* Resource.attributes */
	assert_int_equal(nkid(rs, 2), 2);                /* two ScopeSpans */
	check_scope_pb(msg(rs, 2, 0), order_a, 3);
	check_scope_pb(msg(rs, 2, 1), order_b, 1);
	pbn_free(&root);
	free(text);
	sr__otlp_enc_free(&e);
}

/* One scope: the zero-copy path (prefix written into the headroom). */
static void protobuf_single_scope_decodes(void **state)
{
	struct sr__otlp_enc e;
	sr_span_data_t spans[3];
	const char *body;
	size_t len;
	struct pbn root;

	build_golden();
	spans[0] = golden[0];
	spans[1] = golden[1];
	spans[2] = golden[3];
	sr__otlp_enc_init(&e, SR__OTLP_PROTOBUF);
	assert_int_equal(sr__otlp_encode(&e, res_attrs, 2, spans, 3, &body, &len), 0);
	char *text = run_protoc(body, len);
	parse_decode_raw(text, &root);
	const struct pbn *rs = msg(&root, 1, 0);
	assert_int_equal(nkid(rs, 2), 1);
	check_scope_pb(msg(rs, 2, 0), order_a, 3);
	assert_int_equal(sr_rcv_count_otlp_spans((const unsigned char *)body, len), 3);
	pbn_free(&root);
	free(text);
	sr__otlp_enc_free(&e);
}

/* ---- KeyValue lengths at the encoder's fast-path edges --------------------- */

/* A KeyValue as span field 9, written the plain way: each length computed
 * from the bytes that follow it.  Only for clean strings and ints. */
static size_t ref_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static size_t ref_kv(uint8_t *out, const sr_attr_view_t *a)
{
	static uint8_t av[MAXLEN], kv[2 * MAXLEN];
	size_t n = 0, m = 0, o = 0;

	if (a->type == SR_ATTR_INT) {
		av[n++] = 0x18;                         /* int_value     */
		n += ref_varint(av + n, (uint64_t)a->v.i);
	} else {
		av[n++] = 0x0A;                         /* string_value  */
		n += ref_varint(av + n, a->v.s.len);
		memcpy(av + n, a->v.s.ptr, a->v.s.len);
		n += a->v.s.len;
	}
	kv[m++] = 0x0A;                                 /* key           */
	m += ref_varint(kv + m, a->key.len);
	memcpy(kv + m, a->key.ptr, a->key.len);
	m += a->key.len;
	kv[m++] = 0x12;                                 /* value         */
	m += ref_varint(kv + m, n);
	memcpy(kv + m, av, n);
	m += n;
	out[o++] = 0x4A;                                /* Span.attributes */
	o += ref_varint(out + o, m);
	memcpy(out + o, kv, m);
	return o + m;
}

/* Keys and values whose lengths sit on each side of the one-byte
 * varint limits and of the copy widths (3/4, 7/8, 16/17, 32/33 bytes):
 * decoded by protoc field by field, and each clean KeyValue found in
 * the body byte for byte as the plain writer above makes it. */
static void protobuf_kv_lengths_at_the_edges(void **state)
{
	static char keys[8][128], vals[8][128];
	static sr_attr_view_t at[40];
	static const uint32_t vlens[] = { 0, 1, 3, 4, 7, 8, 16, 17, 32, 33, 118, 119 };
	static const int64_t ints[] = { 0, 127, 128, 16383, 16384, INT64_MAX, -1, INT64_MIN };
	uint8_t ref[512];
	struct sr__otlp_enc e;
	sr_span_data_t sp;
	const char *body;
	size_t len, n = 0, i, rl;
	struct pbn root;

	(void)state;
	build_golden();
	for (i = 0; i < 8; i++) {
		memset(keys[i], 'a' + (int)i, sizeof(keys[i]));
		keys[i][0] = 'G';
		memset(vals[i], 'p' + (int)i, sizeof(vals[i]));
		vals[i][0] = 'G';
	}
	/* String values after a 3-byte key: 3 + 118 is the last sum the
	 * one-byte KeyValue length holds, 3 + 119 the first it does not. */
	for (i = 0; i < sizeof(vlens) / sizeof(vlens[0]); i++) {
		char *k = malloc(8);
		snprintf(k, 8, "Gk%02zu", i);
		at[n++] = attr_s(str_(k, 4), str_(vals[i % 8], vlens[i]));
	}
	at[n++] = attr_s(str_(keys[0], 60), str_(vals[1], 57));  /* 117 */
	at[n++] = attr_s(str_(keys[1], 121), str_(vals[2], 0));  /* key alone */
	at[n++] = attr_s(str_(keys[2], 122), str_(vals[3], 1));
	at[n++] = attr_s(S("Gnon.ascii.\xc3\xa9"), S("G\xe2\x9c\x93 ok"));
	at[n++] = attr_s(S("Gbad.value"), str_(bad1, sizeof(bad1) - 1));
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		char *k = malloc(8);
		snprintf(k, 8, "Gi%02zu", i);
		at[n++] = attr_i(str_(k, 4), ints[i]);
	}
	at[n++] = attr_i(str_(keys[3], 113), INT64_MAX);        /* 127 */
	at[n++] = attr_i(str_(keys[4], 114), 1);
	at[n++] = attr_i(str_(keys[5], 120), 300);

	sp = golden[0];
	sp.attrs = at;
	sp.attr_count = (uint32_t)n;
	sr__otlp_enc_init(&e, SR__OTLP_PROTOBUF);
	assert_int_equal(sr__otlp_encode(&e, res_attrs, 2, &sp, 1, &body, &len), 0);

	char *text = run_protoc(body, len);
	parse_decode_raw(text, &root);
	const struct pbn *ss = msg(msg(&root, 1, 0), 2, 0);
	check_kvs_pb(msg(ss, 2, 0), 9, at, (uint32_t)n);
	pbn_free(&root);
	free(text);

	for (i = 0; i < n; i++) {
		if (at[i].key.ptr[at[i].key.len - 1] == '\xa9' ||
		    at[i].v.s.ptr == bad1)
			continue; /* checked by protoc above */
		rl = ref_kv(ref, &at[i]);
		if (!memmem(body, len, ref, rl))
			fail_msg("attribute %zu (key %u bytes) not written as the "
				 "plain encoding", i, at[i].key.len);
	}
	for (i = 0; i < n; i++)
		if (at[i].key.len == 4)
			free((void *)at[i].key.ptr);
	sr__otlp_enc_free(&e);
}

/* ---- JSON ----------------------------------------------------------------- */

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static json_t *jget(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (!v)
		fail_msg("JSON key '%s' missing", k);
	return v;
}

static void jexpect_str(json_t *o, const char *k, sr_str_t in, bool always)
{
	sr_str_t e = expected(in);
	json_t *v = json_object_get(o, k);

	if (!v) {
		if (e.len || always)
			fail_msg("JSON key '%s' missing", k);
		return;
	}
	assert_true(json_is_string(v));
	assert_int_equal(json_string_length(v), e.len);
	assert_memory_equal(json_string_value(v), e.ptr, e.len);
}

static void jexpect_hex(json_t *o, const char *k, const uint8_t *p, size_t n)
{
	char h[40];
	hex(p, n, h);
	assert_string_equal(json_string_value(jget(o, k)), h);
}

/* 64-bit integers are decimal strings. */
static void jexpect_u64s(json_t *o, const char *k, uint64_t v)
{
	char b[32];
	snprintf(b, sizeof(b), "%" PRIu64, v);
	assert_string_equal(json_string_value(jget(o, k)), b);
}

static void jexpect_uint(json_t *o, const char *k, uint64_t v)
{
	json_t *j = json_object_get(o, k);
	if (!v && !j)
		return;
	if (!j)
		fail_msg("JSON key '%s' missing", k);
	assert_true(json_is_integer(j));
	assert_int_equal((uint64_t)json_integer_value(j), v);
}

static void check_kvs_json(json_t *o, const sr_attr_view_t *a, uint32_t n,
			   uint32_t dropped)
{
	json_t *arr = json_object_get(o, "attributes");
	if (!n) {
		assert_null(arr);
	} else {
		assert_int_equal(json_array_size(arr), n);
		for (uint32_t i = 0; i < n; i++) {
			json_t *kv = json_array_get(arr, i), *v;
			jexpect_str(kv, "key", a[i].key, true);
			v = jget(kv, "value");
			assert_int_equal(json_object_size(v), 1);
			switch (a[i].type) {
			case SR_ATTR_BOOL:
				assert_true(json_is_boolean(jget(v, "boolValue")));
				assert_int_equal(json_is_true(jget(v, "boolValue")), a[i].v.b);
				break;
			case SR_ATTR_INT: {
				const char *s = json_string_value(jget(v, "intValue"));
				assert_non_null(s);
				assert_int_equal(strtoll(s, NULL, 10), a[i].v.i);
				break;
			}
			case SR_ATTR_DOUBLE:
				assert_true(json_number_value(jget(v, "doubleValue")) ==
					    a[i].v.d);
				break;
			default:
				jexpect_str(v, "stringValue", a[i].v.s, true);
				break;
			}
		}
	}
	jexpect_uint(o, "droppedAttributesCount", dropped);
}

static void check_span_json(json_t *j, const sr_span_data_t *s)
{
	static const uint8_t zero[8];

	jexpect_hex(j, "traceId", s->trace_id, 16);
	jexpect_hex(j, "spanId", s->span_id, 8);
	jexpect_str(j, "traceState", s->trace_state, false);
	if (memcmp(s->parent_span_id, zero, 8))
		jexpect_hex(j, "parentSpanId", s->parent_span_id, 8);
	else
		assert_null(json_object_get(j, "parentSpanId"));
	jexpect_uint(j, "flags", s->trace_flags | 0x100u | (s->parent_remote ? 0x200u : 0));
	jexpect_str(j, "name", s->name, true);
	jexpect_uint(j, "kind", (uint64_t)s->kind);
	jexpect_u64s(j, "startTimeUnixNano", s->start_ns);
	jexpect_u64s(j, "endTimeUnixNano", s->end_ns);
	check_kvs_json(j, s->attrs, s->attr_count, s->dropped_attr_count);
	json_t *evs = json_object_get(j, "events");
	assert_int_equal(json_array_size(evs), s->event_count);
	for (uint32_t i = 0; i < s->event_count; i++) {
		json_t *ev = json_array_get(evs, i);
		jexpect_u64s(ev, "timeUnixNano", s->events[i].ts_ns);
		jexpect_str(ev, "name", s->events[i].name, true);
		check_kvs_json(ev, s->events[i].attrs, s->events[i].attr_count,
			       s->events[i].dropped_attr_count);
	}
	jexpect_uint(j, "droppedEventsCount", s->dropped_event_count);
	json_t *ls = json_object_get(j, "links");
	assert_int_equal(json_array_size(ls), s->link_count);
	for (uint32_t i = 0; i < s->link_count; i++) {
		json_t *l = json_array_get(ls, i);
		jexpect_hex(l, "traceId", s->links[i].trace_id, 16);
		jexpect_hex(l, "spanId", s->links[i].span_id, 8);
		check_kvs_json(l, s->links[i].attrs, s->links[i].attr_count,
			       s->links[i].dropped_attr_count);
		assert_int_equal(json_integer_value(jget(l, "flags")),
				 s->links[i].trace_flags);
	}
	jexpect_uint(j, "droppedLinksCount", s->dropped_link_count);
	json_t *st = json_object_get(j, "status");
	if (s->status == SR_STATUS_UNSET && !s->status_message.len) {
		assert_null(st);
	} else {
		jexpect_str(st, "message", s->status_message, false);
		jexpect_uint(st, "code", (uint64_t)s->status);
	}
}

static void check_scope_json(json_t *ss, const int *order, size_t n)
{
	json_t *scope = jget(ss, "scope"), *spans = jget(ss, "spans");
	jexpect_str(scope, "name", golden[order[0]].scope_name, true);
	jexpect_str(scope, "version", golden[order[0]].scope_version, false);
	assert_int_equal(json_array_size(spans), n);
	for (size_t i = 0; i < n; i++)
		check_span_json(json_array_get(spans, i), &golden[order[i]]);
}

static void json_golden_batch_parses_and_matches(void **state)
{
	struct sr__otlp_enc e;
	const char *body;
	size_t len;
	json_error_t jerr;

	build_golden();
	sr__otlp_enc_init(&e, SR__OTLP_JSON);
	for (int round = 0; round < 2; round++) { /* a reused encoder too */
		assert_int_equal(sr__otlp_encode(&e, res_attrs, 2, golden, 4, &body, &len), 0);
		assert_int_equal(e.invalid_utf8, golden_invalid);
		/* jansson refuses invalid UTF-8: parsing proves sanitising */
		json_t *root = json_loadb(body, len, 0, &jerr);
		if (!root)
			fail_msg("JSON rejected: %s at %d", jerr.text, jerr.position);
		json_t *rss = jget(root, "resourceSpans");
		assert_int_equal(json_array_size(rss), 1);
		json_t *rs = json_array_get(rss, 0);
		check_kvs_json(jget(rs, "resource"), res_attrs, 2, 0);
		json_t *sss = jget(rs, "scopeSpans");
		assert_int_equal(json_array_size(sss), 2);
		check_scope_json(json_array_get(sss, 0), order_a, 3);
		check_scope_json(json_array_get(sss, 1), order_b, 1);
		json_decref(root);
	}
	sr__otlp_enc_free(&e);
}

static void json_single_scope_and_empty_batch(void **state)
{
	struct sr__otlp_enc e;
	const char *body;
	size_t len;
	json_error_t jerr;

	build_golden();
	sr__otlp_enc_init(&e, SR__OTLP_JSON);
	assert_int_equal(sr__otlp_encode(&e, NULL, 0, &golden[2], 1, &body, &len), 0);
	json_t *root = json_loadb(body, len, 0, &jerr);
	assert_non_null(root);
	json_t *rs = json_array_get(jget(root, "resourceSpans"), 0);
	assert_int_equal(json_object_size(jget(rs, "resource")), 0);
	check_scope_json(json_array_get(jget(rs, "scopeSpans"), 0), order_b, 1);
	json_decref(root);

	assert_int_equal(sr__otlp_encode(&e, NULL, 0, NULL, 0, &body, &len), 0);
	assert_true(len == 2 && !memcmp(body, "{}", 2));
	sr__otlp_enc_free(&e);
}

/* The buffers grow to the largest batch once, then are reused. */
static void encoder_reuses_its_buffers(void **state)
{
	struct sr__otlp_enc e;
	const char *body;
	size_t len;

	build_golden();
	for (int f = 0; f < 2; f++) {
		sr__otlp_enc_init(&e, (enum sr__otlp_format)f);
		assert_int_equal(sr__otlp_encode(&e, res_attrs, 2, golden, 4, &body, &len), 0);
		size_t area = e.area.cap, out = e.out.cap;
		char *p = e.area.data;
		for (int i = 0; i < 100; i++)
			assert_int_equal(sr__otlp_encode(&e, res_attrs, 2, golden, 4,
							 &body, &len), 0);
		assert_int_equal(e.area.cap, area);
		assert_int_equal(e.out.cap, out);
		assert_ptr_equal(e.area.data, p);
		sr__otlp_enc_free(&e);
	}
}

/* ---- pieces ---------------------------------------------------------------- */

static void utf8_scan_follows_maximal_subparts(void **state)
{
	static const struct {
		const char *in;
		size_t n, bad, out;
	} cases[] = {
		{ "plain", 5, 0, 5 },
		{ "\xc3\xa9", 2, 0, 2 },
		{ "\xc3", 1, 1, 3 },                 /* truncated */
		{ "\xe2\x82", 2, 1, 3 },             /* one subpart */
		{ "\xe0\x80\x80", 3, 3, 9 },         /* overlong: E0 then 2 strays */
		{ "\xed\xa0\x80", 3, 3, 9 },         /* surrogate */
		{ "\xf4\x90\x80\x80", 4, 4, 12 },    /* above U+10FFFF */
		{ "\xf0\x9f\x9a\x80", 4, 0, 4 },     /* U+1F680 */
		{ "\xff", 1, 1, 3 },
		{ "a\x80" "b", 3, 1, 5 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t out, bad = sr__utf8_scan(cases[i].in, cases[i].n, &out);
		char buf[32];
		assert_int_equal(bad, cases[i].bad);
		assert_int_equal(out, cases[i].out);
		assert_int_equal(sr__utf8_copy_sanitised(buf, cases[i].in, cases[i].n),
				 cases[i].out);
	}
}

static void json_writer_escapes_and_nests(void **state)
{
	struct sr__buf b = { 0 };
	struct sr__jw w;
	json_error_t jerr;
	static const char raw[] = "q\"b\\n\nc\x01z\x7f";

	sr__jw_init(&w, &b);
	sr__jw_obj_begin(&w);
	sr__jw_key_lit(&w, "s");
	sr__jw_str(&w, raw, sizeof(raw) - 1);
	sr__jw_key_lit(&w, "a");
	sr__jw_arr_begin(&w);
	sr__jw_int(&w, INT64_MIN);
	sr__jw_uint(&w, (uint64_t)INT64_MAX);
	sr__jw_double(&w, 0.1);
	sr__jw_double(&w, NAN);
	sr__jw_bool(&w, false);
	sr__jw_null(&w);
	sr__jw_arr_begin(&w);
	sr__jw_arr_end(&w);
	sr__jw_obj_begin(&w);
	sr__jw_obj_end(&w);
	sr__jw_arr_end(&w);
	sr__jw_key_lit(&w, "h");
	sr__jw_hex(&w, (const uint8_t *)"\x00\xab\xff", 3);
	sr__jw_obj_end(&w);
	assert_false(w.oom);
	assert_int_equal(w.depth, 0);

	json_t *j = json_loadb(b.data, b.len, 0, &jerr);
	if (!j)
		fail_msg("writer output rejected: %s: %.*s", jerr.text, (int)b.len, b.data);
	json_t *s = json_object_get(j, "s");
	assert_int_equal(json_string_length(s), sizeof(raw) - 1);
	assert_memory_equal(json_string_value(s), raw, sizeof(raw) - 1);
	json_t *a = json_object_get(j, "a");
	assert_int_equal(json_array_size(a), 8);
	assert_int_equal(json_integer_value(json_array_get(a, 0)), INT64_MIN);
	assert_int_equal(json_integer_value(json_array_get(a, 1)), INT64_MAX);
	assert_true(json_real_value(json_array_get(a, 2)) == 0.1);
	assert_string_equal(json_string_value(json_array_get(a, 3)), "NaN");
	assert_string_equal(json_string_value(json_object_get(j, "h")), "00abff");
	json_decref(j);
	sr__buf_free(&b);
}

static void response_partial_success_is_read(void **state)
{
	uint64_t rej;
	char m[32];
	/* partial_success { rejected_spans: 3, error_message: "x y" }, and an
	 * unknown field 9 before it */
	static const char pb[] = "\x48\x01\x0a\x07\x08\x03\x12\x03x y";

	assert_int_equal(sr__otlp_parse_response(SR__OTLP_PROTOBUF, pb,
						 sizeof(pb) - 1, &rej, m, sizeof(m)), 0);
	assert_int_equal(rej, 3);
	assert_string_equal(m, "x y");
	assert_int_equal(sr__otlp_parse_response(SR__OTLP_PROTOBUF, "", 0, &rej, m,
						 sizeof(m)), 0);
	assert_int_equal(rej, 0);
	assert_int_equal(sr__otlp_parse_response(SR__OTLP_PROTOBUF, "\x0a\x09\x08", 3,
						 &rej, NULL, 0), SR_EINVAL);

	static const char js[] = " {\"x\":[1,{\"y\":null}],\"partialSuccess\":"
				 "{\"errorMessage\":\"bad\",\"rejectedSpans\":\"5\"}} ";
	assert_int_equal(sr__otlp_parse_response(SR__OTLP_JSON, js, sizeof(js) - 1,
						 &rej, m, sizeof(m)), 0);
	assert_int_equal(rej, 5);
	assert_string_equal(m, "bad");
	static const char js2[] = "{\"partialSuccess\":{\"rejectedSpans\":7}}";
	assert_int_equal(sr__otlp_parse_response(SR__OTLP_JSON, js2, sizeof(js2) - 1,
						 &rej, NULL, 0), 0);
	assert_int_equal(rej, 7);
	assert_int_equal(sr__otlp_parse_response(SR__OTLP_JSON, "{}", 2, &rej, NULL, 0), 0);
	assert_int_equal(rej, 0);
	assert_int_equal(sr__otlp_parse_response(SR__OTLP_JSON, "{\"partialSuccess\":{",
						 19, &rej, NULL, 0), SR_EINVAL);
}

static void headers_parse_and_never_echo_values(void **state)
{
	void *list;
	char err[256];

	assert_int_equal(sr__http_parse_headers(" api-key = s3cr%3Dt ,, X-B=c d ",
						"OTEL_EXPORTER_OTLP_HEADERS", &list,
						err, sizeof(err)), 0);
	assert_non_null(list);
	sr__http_free_headers(list);

	assert_int_equal(sr__http_parse_headers("a=b,novalue-s3cret",
						"OTEL_EXPORTER_OTLP_HEADERS", &list,
						err, sizeof(err)), SR_EINVAL);
	assert_non_null(strstr(err, "OTEL_EXPORTER_OTLP_HEADERS"));
	assert_non_null(strstr(err, "entry 2"));
	assert_null(strstr(err, "s3cret"));
	/* a decoded CR LF may not inject another header */
	assert_int_equal(sr__http_parse_headers("a=x%0d%0aEvil: 1", "V", &list, err,
						sizeof(err)), SR_EINVAL);
	assert_int_equal(sr__http_parse_headers("bad key=1", "V", &list, err,
						sizeof(err)), SR_EINVAL);
}

/* A malformed variable fails create() and names variable and value. */
static void create_rejects_malformed_settings(void **state)
{
	static const struct {
		const char *var, *val, *want;
	} cases[] = {
		{ "OTEL_EXPORTER_OTLP_PROTOCOL", "grpcc", "expected grpc, http/protobuf or http/json" },
		{ "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/xml", "http/xml" },
		{ "OTEL_EXPORTER_OTLP_TIMEOUT", "10s", "10s" },
		{ "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "-1", "-1" },
		{ "OTEL_EXPORTER_OTLP_COMPRESSION", "zstd", "zstd" },
		{ "OTEL_EXPORTER_OTLP_INSECURE", "yes", "yes" },
		{ "OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem", "/nonexistent/ca.pem" },
		{ "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "/nonexistent/k.pem", "/nonexistent/k.pem" },
		{ "OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://h:21", "ftp://h:21" },
		{ "SPANRING_OTLP_MAX_ATTEMPTS", "0", "0" },
		{ "OTEL_EXPORTER_OTLP_HEADERS", "tok3n", NULL },
		/* Half a client certificate pair: both variables named. */
		{ "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/dev/null",
		  "OTEL_EXPORTER_OTLP_CLIENT_KEY" },
		{ "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "/dev/null",
		  "OTEL_EXPORTER_OTLP_CLIENT_KEY" },
		{ "OTEL_EXPORTER_OTLP_CLIENT_KEY", "/dev/null",
		  "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE" },
	};
	sr_config_t cfg;

	sr_config_init(&cfg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[256] = "";
		void *st = NULL;

		setenv(cases[i].var, cases[i].val, 1);
		int rc = sr__exporter_otlp.create(NULL, &cfg, &st, err, sizeof(err));
		unsetenv(cases[i].var);
		if (rc != SR_EINVAL)
			fail_msg("%s=%s: rc %d", cases[i].var, cases[i].val, rc);
		assert_null(st);
		assert_non_null(strstr(err, cases[i].var));
		if (cases[i].want)
			assert_non_null(strstr(err, cases[i].want));
		else
			assert_null(strstr(err, cases[i].val)); /* a secret */
	}
	/* and the defaults create fine, without any server */
	char err[256];
	void *st = NULL;
	assert_int_equal(sr__exporter_otlp.create(NULL, &cfg, &st, err, sizeof(err)), 0);
	sr__exporter_otlp.destroy(st, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(protobuf_golden_batch_decodes_field_by_field),
		cmocka_unit_test(protobuf_single_scope_decodes),
		cmocka_unit_test(json_golden_batch_parses_and_matches),
		cmocka_unit_test(json_single_scope_and_empty_batch),
		cmocka_unit_test(encoder_reuses_its_buffers),
		cmocka_unit_test(utf8_scan_follows_maximal_subparts),
		cmocka_unit_test(json_writer_escapes_and_nests),
		cmocka_unit_test(protobuf_kv_lengths_at_the_edges),
		cmocka_unit_test(response_partial_success_is_read),
		cmocka_unit_test(headers_parse_and_never_echo_values),
		cmocka_unit_test(create_rejects_malformed_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
