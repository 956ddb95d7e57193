/*
 * test_otlp_records.c - the OTLP protobuf encoder that writes spans
 * straight from a batch's records (exporters/otlp/records) against the one
 * that writes them from sr_batch_span() views (otlp_proto.c), which
 * test_otlp_encode.c checks against protoc field by field.
 *
 * A test exporter encodes every batch both ways and compares the bodies
 * byte for byte, so the two cannot drift: spans with every kind of item
 * (attributes of each type, arrays of each element type, static strings
 * with and without a length, copied strings short and long, non-ASCII and
 * invalid UTF-8, empty, long and non-ASCII keys, a key set twice, copied
 * names, trace state from a remote parent, error status with a message,
 * an OK status whose message is dropped, dropped attribute counts,
 * events and links with attributes and dropped counts), and spans a
 * processor edited.  It also counts the spans the record encoder wrote
 * itself, so the comparison cannot pass by having every span take the
 * view's way, and runs protoc --decode_raw over a record-encoded body.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spanring/propagation.h>

#include "otlp_int.h"
#include "protoc_tree.h"
#include "testutil.h"

struct cmp {
	struct sr__otlp_enc view, rec;
	uint64_t batches, spans, mismatches, failures;
	char *body;             /* a record-encoded body, for protoc */
	size_t body_len;
};

static struct cmp g;

static int cmp_create(void *ud, const sr_config_t *cfg, void **st, char *e,
		      size_t n)
{
	(void)cfg; (void)e; (void)n;
	sr__otlp_enc_init(&g.view, SR__OTLP_PROTOBUF);
	sr__otlp_enc_init(&g.rec, SR__OTLP_PROTOBUF);
	*st = ud;
	return 0;
}

static int cmp_export(void *st, const sr_batch_t *b, uint64_t *rej)
{
	size_t n = sr_batch_count(b), vlen = 0, rlen = 0;
	const sr_attr_view_t *res;
	const char *vb = NULL, *rb = NULL;
	uint32_t nres = 0;
	int rc;

	(void)st; (void)rej;
	res = sr_batch_resource(b, &nres);
	rc = sr__otlp_enc_begin(&g.view, res, nres);
	for (size_t i = 0; !rc && i < n; i++) {
		sr_span_data_t d = { .size = sizeof(d) };
		if ((rc = sr_batch_span(b, i, &d)) == 0)
			rc = sr__otlp_enc_add(&g.view, &d);
	}
	if (!rc)
		rc = sr__otlp_enc_finish(&g.view, &vb, &vlen);
	if (!rc)
		rc = sr__otlp_enc_begin(&g.rec, res, nres);
	for (size_t i = 0; !rc && i < n; i++)
		rc = sr__otlp_pb_add_record(&g.rec, b, i);
	if (!rc)
		rc = sr__otlp_enc_finish(&g.rec, &rb, &rlen);
	if (rc) {
		g.failures++;
		return 0;
	}
	g.batches++;
	g.spans += n;
	if (vlen != rlen || memcmp(vb, rb, vlen) != 0) {
		g.mismatches++;
		fprintf(stderr, "batch %llu: view %zu bytes, records %zu bytes\n",
			(unsigned long long)g.batches, vlen, rlen);
	}
	if (!g.body && (g.body = malloc(rlen)) != NULL) {
		memcpy(g.body, rb, rlen);
		g.body_len = rlen;
	}
	return 0;
}

static void cmp_destroy(void *st, uint32_t t)
{
	(void)st; (void)t;
	sr__otlp_enc_free(&g.view);
	sr__otlp_enc_free(&g.rec);
}

static const sr_exporter_ops_t cmp_ops = {
	.size = sizeof(sr_exporter_ops_t),
	.abi_version = SR_EXPORTER_ABI_VERSION,
	.name = "pbcmp",
	.create = cmp_create,
	.export_batch = cmp_export,
	.destroy = cmp_destroy,
};

static void start_ex(uint32_t attr_limit, const char *processors,
		     uint32_t value_limit)
{
	sr_config_t cfg;

	static bool registered;

	memset(&g, 0, sizeof(g));
	if (!registered) /* once per process */
		assert_int_equal(sr_exporter_register(&cmp_ops, NULL), 0);
	registered = true;
	sr_config_init(&cfg);
	cfg.exporters = "pbcmp";
	cfg.sampler = SR_SAMPLER_ALWAYS_ON;
	cfg.schedule_delay_ms = 20;
	cfg.max_export_batch_size = 16; /* several batches, several groups */
	cfg.attr_count_limit = attr_limit;
	cfg.ring_records = 1u << 14;
	cfg.event_attr_count_limit = 5;
	cfg.link_attr_count_limit = 4;
	cfg.resource_attributes = "deployment.environment=test,k=v";
	cfg.processors = processors;
	if (value_limit) {
		cfg.attr_value_length_limit = value_limit;
		cfg.max_span_records = 255;
	}
	assert_int_equal(sr_init(&cfg), 0);
}

static void start(uint32_t attr_limit, const char *processors)
{
	start_ex(attr_limit, processors, 0);
}

/* Flush, stop, check; returns the spans written from their records. */
static uint64_t finish(uint64_t spans, uint64_t direct_min)
{
	assert_int_equal(sr_flush(10000, NULL), 0);
	uint64_t direct = g.rec.from_records;

	assert_int_equal(sr_shutdown(10000, NULL), 0);
	assert_int_equal(g.failures, 0);
	assert_int_equal(g.mismatches, 0);
	assert_int_equal(g.spans, spans);
	assert_true(direct >= direct_min);
	assert_non_null(g.body);
	char *text = run_protoc(g.body, g.body_len);
	assert_non_null(text); /* protoc parsed it */
	free(text);
	free(g.body);
	g.body = NULL;
	return direct;
}

/* An HTTP server's span, as the nginx module makes it. */
static void http_span(const sr_tracer_t *tr, int i)
{
	static const char path[] = "/api/v1/users/12345";
	static const char ua[] = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101";
	sr_span_t sp;

	sr_span_start(&sp, tr, "GET /api/v1/users/{id}", SR_KIND_SERVER);
	sr_span_set_str_static(&sp, "http.request.method", "GET");
	sr_span_set_strn(&sp, "url.path", path, sizeof(path) - 1);
	sr_span_set_str_static(&sp, "url.scheme", "http");
	sr_span_set_int(&sp, "http.response.status_code", 200 + i % 300);
	sr_span_set_int(&sp, "http.response.body.size", (int64_t)i << (i % 40));
	sr_span_set_strn(&sp, "user_agent.original", ua, sizeof(ua) - 1);
	sr_span_set_strn(&sp, "client.address", "10.1.2.3", 8);
	if (i % 7 == 0)
		sr_span_set_status(&sp, SR_STATUS_ERROR, NULL);
	sr_span_end(&sp);
}

static void record_encoder_matches_view_encoder_on_server_spans(void **state)
{
	(void)state;
	start(128, NULL);
	const sr_tracer_t *a = sr_tracer_get("scope.a", "1.0");
	const sr_tracer_t *b = sr_tracer_get("scope.b", NULL);

	for (int i = 0; i < 200; i++)
		http_span(i % 3 ? a : b, i);
	finish(200, 200);
}

static const char long_key[] =
	"a.key.longer.than.the.fast.path.takes.which.is.sixty.four.bytes.and.more";
static const char utf8_key[] = "cl\xc3\xa9.\xe6\x97\xa5\xe6\x9c\xac";
static const char bad_utf8[] = "ok\xc3\x28mid\xff\xfe" "end\xe2\x82";
static const char nonascii[] = "/r\xc3\xa9sum\xc3\xa9 \xe2\x9c\x93";

static void every_attribute(sr_span_t *sp, int i)
{
	static char big[5000];
	static const int64_t ints[] = { 0, -1, INT64_MIN, INT64_MAX, 300 };
	static const double dbls[] = { 0.0, -2.5, 1e300 };
	static const bool bools[] = { true, false, true };
	static const char *const strs[] = { "", "x", "a longer element string" };
	sr_array_t ai = { .type = SR_ATTR_INT, .count = 5, .v.i = ints };
	sr_array_t ad = { .type = SR_ATTR_DOUBLE, .count = 3, .v.d = dbls };
	sr_array_t ab = { .type = SR_ATTR_BOOL, .count = 3, .v.b = bools };
	sr_array_t as = { .type = SR_ATTR_STRING, .count = 3, .v.s = strs };
	sr_attr_t lens[] = {
		SR_ATTR_STR_STATIC_("static.with.len", "abc"),
	};

	memset(big, 'G', sizeof(big) - 1);
	sr_span_set_bool(sp, "b.true", true);
	sr_span_set_bool(sp, "b.false", false);
	sr_span_set_int(sp, "i.zero", 0);
	sr_span_set_int(sp, "i.neg", -5 - i);
	sr_span_set_int(sp, "i.min", INT64_MIN);
	sr_span_set_int(sp, "i.max", INT64_MAX);
	sr_span_set_double(sp, "d", 3.25 * i);
	sr_span_set_strn(sp, "s.empty", "", 0);
	sr_span_set_strn(sp, "s.120", big, 120);
	sr_span_set_strn(sp, "s.200", big, 200);
	sr_span_set_strn(sp, "s.4000", big, 4000);
	sr_span_set_str(sp, "s.nonascii", nonascii);
	sr_span_set_str(sp, "s.bad", bad_utf8);
	sr_span_set_str_static(sp, "st.plain", "a static string");
	sr_span_set_str_static(sp, "st.bad", bad_utf8);
	sr_span_set_attrs(sp, lens, 1);
	sr_span_set_str(sp, "", "empty key");
	sr_span_set_int(sp, long_key, 7);
	sr_span_set_str(sp, long_key + 1, "long key, string value");
	sr_span_set_str(sp, utf8_key, "non-ASCII key");
	sr_span_set_array(sp, "arr.i", &ai);
	sr_span_set_array(sp, "arr.d", &ad);
	sr_span_set_array(sp, "arr.b", &ab);
	sr_span_set_array(sp, "arr.s", &as);
}

static void record_encoder_matches_view_encoder_on_every_item(void **state)
{
	(void)state;
	start(64, NULL);
	const sr_tracer_t *tr = sr_tracer_get("every.item", "2.0");
	static const char tp[] =
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
	static const char ts[] = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
	sr_header_t f[] = {
		{ "traceparent", SR_CARRIER_LEN_CSTR, tp, sizeof(tp) - 1 },
		{ "tracestate", SR_CARRIER_LEN_CSTR, ts, sizeof(ts) - 1 },
	};
	sr_propagator_t *prop;
	sr_headers_t h;
	sr_context_t parent;
	uint64_t direct = 0, spans = 0;

	assert_int_equal(sr_propagator_create("tracecontext", &prop), 0);
	assert_int_equal(sr_headers_init(&h, f, 2), 0);
	assert_int_equal(sr_propagator_extract(prop, &h, sr_headers_getter(),
					       &parent), 0);
	for (int i = 0; i < 40; i++) {
		sr_span_t sp;
		sr_attr_t ev[] = { SR_ATTR_INT_("ev.i", i),
				   SR_ATTR_STR_("ev.s", "event string") };
		static const int64_t ints[] = { 1, -2, 3 };
		sr_array_t arr = { .type = SR_ATTR_INT, .count = 3, .v.i = ints };
		sr_attr_t many[] = {
			SR_ATTR_ARRAY_("m.arr", &arr),
			SR_ATTR_STR_("m.long", long_key),
			SR_ATTR_STR_("m.bad", bad_utf8),
			SR_ATTR_DOUBLE_("m.d", -0.5),
			SR_ATTR_BOOL_("m.b", true),
			SR_ATTR_INT_("m.past.limit", -1),
		};

		/* Written from the records: */
		sr_span_start_ex(&sp, tr, "every.attribute", (sr_span_kind_t)(i % 6),
				 i % 2 ? &parent : NULL, 0, i % 2 ? 0 : SR_SPAN_ROOT);
		every_attribute(&sp, i);
		if (i % 4 == 1)
			sr_span_update_name(&sp, "a copied name, \xc3\xa9");
		if (i % 4 == 2)
			sr_span_set_status(&sp, SR_STATUS_ERROR, "it broke \xff");
		if (i % 4 == 3)
			sr_span_set_status(&sp, SR_STATUS_OK, "dropped message");
		sr_span_end(&sp);
		spans++;
		direct++;

		/* Past the attribute limit: a DROPPED item. */
		sr_span_start(&sp, tr, "over.limit", SR_KIND_CLIENT);
		every_attribute(&sp, i);
		every_attribute(&sp, i + 1); /* the same keys again... */
		for (int k = 0; k < 80; k++)
			sr_span_set_int(&sp, "counted", k);
		sr_span_end(&sp);
		spans++;

		/* Events and links, their attributes among the span's,
		 * some past their limit (dropped counts). */
		sr_span_start(&sp, tr, "with.event", SR_KIND_INTERNAL);
		sr_span_set_int(&sp, "before", 1);
		sr_span_add_event(&sp, "ev", 0, ev, 2);
		sr_span_set_int(&sp, "after", 2);
		sr_span_add_event(&sp, "ev.many", 1700000000000000000ull + i, many, 6);
		sr_span_add_event(&sp, "", 0, NULL, 0);
		sr_span_add_link(&sp, &parent, many, 6);
		sr_span_set_str(&sp, "last", "x");
		sr_span_end(&sp);
		spans++;
		direct++;
		sr_span_start(&sp, tr, "with.link", SR_KIND_PRODUCER);
		sr_span_add_link(&sp, &parent, ev, 1);
		sr_span_add_link(&sp, &parent, NULL, 0);
		sr_span_record_error(&sp, "io", "disk \xfe full");
		sr_span_end(&sp);
		spans++;
		direct++;

		/* The view's way: a key set twice. */
		sr_span_start(&sp, tr, "twice", SR_KIND_CONSUMER);
		sr_span_set_int(&sp, "k", 1);
		sr_span_set_str(&sp, "other", "x");
		sr_span_set_int(&sp, "k", 2);
		sr_span_end(&sp);
		spans++;
		assert_int_equal(sr_flush(10000, NULL), 0); /* no ring drops */
	}
	sr_propagator_destroy(prop);
	assert_int_equal(finish(spans, direct), direct);
}

/* Spans a processor edited are views, not records: written the view's
 * way, next to the unedited ones written from their records. */
static void record_encoder_matches_view_encoder_after_processor_edits(void **state)
{
	(void)state;
	start(128, "redact"); /* the default rules: deny *password* */
	const sr_tracer_t *tr = sr_tracer_get("edited", "1");

	for (int i = 0; i < 100; i++) {
		sr_span_t sp;

		sr_span_start(&sp, tr, "login", SR_KIND_SERVER);
		sr_span_set_int(&sp, "attempt", i);
		if (i % 2)
			sr_span_set_str(&sp, "user.password", "hunter2");
		sr_span_set_str(&sp, "user.name", "alice");
		sr_span_end(&sp);
	}
	/* the 50 with a password were edited: the view's way */
	assert_int_equal(finish(100, 50), 50);
}

/*
 * The fast paths' edges, each on both sides: copied strings of every
 * length a slot word holds and past it, with an invalid byte at every
 * position (the slot's bytes past a short string must not count), static
 * strings with a length, KeyValue and AnyValue lengths around the one-
 * and two-byte varints (127/128, 16383/16384), keys around the one-move
 * image (28 bytes) and the fast-key limit (64), int values around their
 * varint widths under keys around the int fast path's limit, and static
 * span names around their image's one move (30 bytes).
 */
#define EDGE_KEYS 16
static char edge_key[EDGE_KEYS][128];
static const uint32_t edge_key_len[EDGE_KEYS] = { 1, 10, 27, 28, 29, 30, 31,
	63, 64, 65, 100, 111, 112, 113, 114, 121 };
static char edge_name[8][80];
static const uint32_t edge_name_len[8] = { 1, 29, 30, 31, 32, 64, 65, 70 };

static void edge_strings(const sr_tracer_t *tr, const char *big, size_t from,
			 size_t to, const char *key)
{
	for (size_t len = from; len <= to; len++) {
		sr_span_t sp;

		sr_span_start(&sp, tr, "edge.str", SR_KIND_SERVER);
		sr_span_set_strn(&sp, key, big, len);
		sr_span_set_attrs(&sp, &(sr_attr_t){ .key = "static.n",
			.type = SR_ATTR_STRING_STATIC, .len = (uint32_t)len,
			.v = { .s = big } }, 1);
		sr_span_set_int(&sp, "after", (int64_t)len);
		sr_span_end(&sp);
	}
}

static void record_encoder_matches_view_encoder_at_the_edges(void **state)
{
	static char big[16500], bad[16500];
	uint64_t spans = 0;

	(void)state;
	memset(big, 'v', sizeof(big));
	for (int i = 0; i < EDGE_KEYS; i++) {
		memset(edge_key[i], 'k', edge_key_len[i]);
		edge_key[i][0] = (char)('A' + i); /* distinct keys */
	}
	for (int i = 0; i < 8; i++) {
		memset(edge_name[i], 'n', edge_name_len[i]);
		edge_name[i][0] = (char)('a' + i);
	}
	start_ex(128, NULL, 20000);
	const sr_tracer_t *tr = sr_tracer_get("edges", "1");

	/* Every short length, and through the multi-slot ones */
	edge_strings(tr, big, 0, 80, "s");
	spans += 81;
	/* KeyValue length 127/128 under a 10-byte key (fast up to 121
	 * bytes of key and value), AnyValue length 127/128 */
	edge_strings(tr, big, 105, 130, edge_key[1]);
	spans += 26;
	/* AnyValue and KeyValue lengths around 16383/16384 */
	edge_strings(tr, big, 16370, 16386, "s");
	spans += 17;
	for (int i = 0; i < 2; i++) {
		sr_span_t sp;

		sr_span_start(&sp, tr, "edge.flush", SR_KIND_SERVER);
		sr_span_end(&sp);
		spans++;
		assert_int_equal(sr_flush(10000, NULL), 0); /* no ring drops */
	}

	/* An invalid byte at every position of every short length (the
	 * static strings each their own: kept by pointer) */
	static char bad_static[21][20][20];
	for (size_t len = 1; len <= 20; len++) {
		for (size_t at = 0; at < len; at++) {
			sr_span_t sp;
			char *st = bad_static[len][at];

			memset(bad, 'b', len);
			bad[at] = (char)0xff;
			memset(st, 's', len);
			st[at] = at % 2 ? (char)0xc3 : (char)0x80;
			sr_span_start(&sp, tr, "edge.bad", SR_KIND_CLIENT);
			sr_span_set_strn(&sp, "bad", bad, len);
			sr_span_set_attrs(&sp, &(sr_attr_t){ .key = "bad.static",
				.type = SR_ATTR_STRING_STATIC, .len = (uint32_t)len,
				.v = { .s = st } }, 1);
			sr_span_end(&sp);
			spans++;
		}
		assert_int_equal(sr_flush(10000, NULL), 0);
	}
	/* A short copied string whose slot runs on with non-ASCII bytes */
	for (size_t len = 0; len <= 8; len++) {
		sr_span_t sp;

		sr_span_start(&sp, tr, "edge.tail", SR_KIND_CLIENT);
		sr_span_set_strn(&sp, "tail", "abcdefgh\xff\xff", len);
		sr_span_set_strn(&sp, "tail2", "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", len);
		sr_span_end(&sp);
		spans++;
	}

	/* Keys of every edge length with a string, an int of every
	 * varint width, and in an event */
	static const int64_t ints[] = { 0, 1, 127, 128, 16383, 16384,
		(1ll << 21) - 1, 1ll << 21, INT64_MAX, -1, INT64_MIN };
	for (int i = 0; i < EDGE_KEYS; i++) {
		for (size_t v = 0; v < sizeof(ints) / sizeof(ints[0]); v++) {
			sr_span_t sp;
			sr_attr_t ev[] = { SR_ATTR_INT_(edge_key[i], ints[v]),
					   SR_ATTR_STRN_("ev.s", big, v * 3) };

			sr_span_start(&sp, tr, "edge.key", SR_KIND_INTERNAL);
			sr_span_set_int(&sp, edge_key[i], ints[v]);
			sr_span_set_strn(&sp, edge_key[(i + 1) % EDGE_KEYS], big,
					 v * 7);
			sr_span_add_event(&sp, "edge.event", 0, ev, 2);
			sr_span_end(&sp);
			spans++;
		}
		assert_int_equal(sr_flush(10000, NULL), 0);
	}
	/* Static names around the image's lengths */
	for (int i = 0; i < 8; i++) {
		sr_span_t sp;

		sr_span_start(&sp, tr, edge_name[i], SR_KIND_SERVER);
		sr_span_set_int(&sp, "i", i);
		sr_span_end(&sp);
		spans++;
	}
	sr_span_t sp;
	sr_span_start(&sp, tr, "n\xc3\xa9\xff", SR_KIND_SERVER);
	sr_span_end(&sp);
	spans++;
	sr_span_start(&sp, tr, "", SR_KIND_SERVER);
	sr_span_end(&sp);
	spans++;
	/* every one written from its records */
	assert_int_equal(finish(spans, spans), spans);
}

/*
 * The template (the last span's keys, followed without lookups or the
 * duplicate check while a span's keys start the same way): spans that
 * follow it wholly, stop short of it, run past it, leave it at every
 * position, repeat a key of the followed part (by pointer, and by its
 * text under another pointer) right where they leave it and later, and
 * fill cache entries while following it (a NUL-terminated static value
 * of a new address each time), which must empty it.
 */
static const char tk_a[] = "t.a", tk_b[] = "t.b", tk_c[] = "t.c", tk_d[] = "t.d";
static const char tk_a2[] = "t.a"; /* tk_a's text at another address */

static void tmpl_span(const sr_tracer_t *tr, const char *const *keys, int n,
		      const char *nul_value)
{
	sr_span_t sp;

	sr_span_start(&sp, tr, "tmpl", SR_KIND_SERVER);
	for (int i = 0; i < n; i++) {
		if (nul_value && i == 1)
			sr_span_set_attrs(&sp, &(sr_attr_t){ .key = keys[i],
				.type = SR_ATTR_STRING_STATIC, .len = UINT32_MAX,
				.v = { .s = nul_value } }, 1);
		else if (i % 2)
			sr_span_set_int(&sp, keys[i], i);
		else
			sr_span_set_strn(&sp, keys[i], "val", 3);
	}
	sr_span_end(&sp);
}

static void record_encoder_matches_view_encoder_as_key_sequences_change(void **state)
{
	static const char *const abc[] = { tk_a, tk_b, tk_c };
	static const char *const abcd[] = { tk_a, tk_b, tk_c, tk_d };
	static const char *const ab[] = { tk_a, tk_b };
	static const char *const aa[] = { tk_a, tk_a };
	static const char *const aba[] = { tk_a, tk_b, tk_a };
	static const char *const abca[] = { tk_a, tk_b, tk_c, tk_a };
	static const char *const abca2[] = { tk_a, tk_b, tk_c, tk_a2 };
	static const char *const aba2[] = { tk_a, tk_b, tk_a2 };
	static const char *const dabc[] = { tk_d, tk_a, tk_b, tk_c };
	static const char *const adbc[] = { tk_a, tk_d, tk_b, tk_c };
	static const char *const abdc[] = { tk_a, tk_b, tk_d, tk_c };
	static const char *const abcb[] = { tk_a, tk_b, tk_c, tk_b };
	static const struct { const char *const *k; int n; bool twice; } seq[] = {
		{ abc, 3, false }, { abc, 3, false }, { ab, 2, false },
		{ abc, 3, false }, { abcd, 4, false }, { abcd, 4, false },
		{ aa, 2, true }, { abc, 3, false }, { aba, 3, true },
		{ abc, 3, false }, { abca, 4, true }, { abc, 3, false },
		{ abca2, 4, true }, { abc, 3, false }, { aba2, 3, true },
		{ dabc, 4, false }, { abc, 3, false }, { adbc, 4, false },
		{ abc, 3, false }, { abdc, 4, false }, { abdc, 4, false },
		{ abcb, 4, true }, { abc, 3, false },
	};
	/* consecutive addresses: their cache entries are spread over
	 * every entry, the template's among them */
	static char nul_values[2048][8];
	uint64_t spans = 0, direct = 0;

	(void)state;
	start(128, NULL);
	const sr_tracer_t *tr = sr_tracer_get("template", "1");

	for (int round = 0; round < 3; round++) {
		for (size_t s = 0; s < sizeof(seq) / sizeof(seq[0]); s++) {
			tmpl_span(tr, seq[s].k, seq[s].n, NULL);
			spans++;
			direct += !seq[s].twice;
		}
		/* A fill while following: a value at a new address after a
		 * span that made the template */
		for (int v = 0; v < 20; v++) {
			char *nv = nul_values[round * 20 + v];

			snprintf(nv, sizeof(nul_values[0]), "nv%d", v);
			tmpl_span(tr, v % 3 ? abcd : abca, 4, nv);
			spans++;
			direct += v % 3 != 0;
		}
	}
	for (int v = 60; v < 2048; v++) {
		char *nv = nul_values[v];

		snprintf(nv, sizeof(nul_values[0]), "nv%d", v);
		tmpl_span(tr, abcd, 4, NULL);
		tmpl_span(tr, abcd, 4, nv);
		spans += 2;
		direct += 2;
		if (v % 256 == 0)
			assert_int_equal(sr_flush(10000, NULL), 0);
	}
	assert_int_equal(finish(spans, direct), direct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record_encoder_matches_view_encoder_on_server_spans),
		cmocka_unit_test(record_encoder_matches_view_encoder_on_every_item),
		cmocka_unit_test(record_encoder_matches_view_encoder_after_processor_edits),
		cmocka_unit_test(record_encoder_matches_view_encoder_at_the_edges),
		cmocka_unit_test(record_encoder_matches_view_encoder_as_key_sequences_change),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
