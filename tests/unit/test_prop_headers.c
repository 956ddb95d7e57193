/*
 * test_prop_headers.c - the stock header-array carrier (sr_headers_t):
 * names in any case, a single field returned in place, repeated fields
 * joined by "," in order (RFC 9110 section 5.3) so repeated tracestate and
 * baggage lines combine and a repeated traceparent restarts the trace,
 * over-long combinations rejected as oversized, the key iterator.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "testutil.h"

#define TP1 "00-12345678901234567890123456789012-1234567890123456-01"
#define TP2 "00-12345678901234567890123456789011-1234567890123456-01"
#define F(n, v) { n, SR_CARRIER_LEN_CSTR, v, SR_CARRIER_LEN_CSTR }

static sr_headers_t h;

static void test_get_in_place_any_case(void **state)
{
	static const char tp[] = TP1;
	const sr_header_t f[] = {
		{ "Content-Type", 12, "text/plain", 10 },
		{ "TraceParent", 11, tp, sizeof(tp) - 1 },
	};
	const sr_carrier_getter_t *g = sr_headers_getter();
	size_t len = 0;

	(void)state;
	assert_int_equal(sr_headers_init(&h, f, 2), 0);
	/* One line: the caller's own bytes, no copy. */
	assert_ptr_equal(g->get(&h, "traceparent", &len), tp);
	assert_int_equal(len, 55);
	assert_ptr_equal(g->get(&h, "CONTENT-TYPE", &len), f[0].value);
	assert_null(g->get(&h, "tracestate", &len));
	assert_null(g->get(&h, "traceparen", &len));
	assert_int_equal(sr_headers_init(NULL, f, 2), SR_EINVAL);
	assert_int_equal(sr_headers_init(&h, NULL, 1), SR_EINVAL);
	assert_int_equal(sr_headers_init(&h, NULL, 0), 0);
	assert_null(g->get(&h, "traceparent", &len));
}

/* Repeated list fields combine in order, empty lines included. */
static void test_repeated_lists_join_in_order(void **state)
{
	const sr_header_t f[] = {
		F("traceparent", TP1),
		F("tracestate", "foo=1,bar=2"),
		F("baggage", "a=1"),
		F("TRACESTATE", ""),
		F("x-other", "y"),
		F("tracestate", "rojo=1,congo=2"),
		F("Baggage", "b=2"),
		F("tracestate", "baz=3"),
	};
	sr_propagator_t *p;
	sr_context_t ctx;
	char buf[128];
	size_t len;

	(void)state;
	assert_int_equal(sr_propagator_create("tracecontext,baggage", &p), 0);
	sr_headers_init(&h, f, sizeof(f) / sizeof(f[0]));
	assert_string_equal(sr_headers_getter()->get(&h, "tracestate", &len),
			    "foo=1,bar=2,,rojo=1,congo=2,baz=3");
	assert_int_equal(len, strlen("foo=1,bar=2,,rojo=1,congo=2,baz=3"));
	assert_int_equal(sr_propagator_extract(p, &h, sr_headers_getter(), &ctx), 0);
	assert_int_equal(sr_context_tracestate(&ctx, buf, sizeof(buf), NULL), 0);
	assert_string_equal(buf, "foo=1,bar=2,rojo=1,congo=2,baz=3");
	assert_int_equal(sr_baggage_count(&ctx), 2);
	sr_propagator_destroy(p);
}

/* Two traceparent lines, even identical ones, are no traceparent. */
static void test_repeated_traceparent_restarts(void **state)
{
	const sr_header_t two[] = { F("traceparent", TP1), F("traceparent", TP2) };
	const sr_header_t same[] = { F("traceparent", TP1), F("Traceparent", TP1) };
	const sr_header_t empty[] = { F("traceparent", TP1), F("traceparent", "") };
	const sr_header_t *cases[] = { two, same, empty };
	sr_propagator_t *p;
	sr_extract_info_t info;
	sr_context_t ctx;

	(void)state;
	assert_int_equal(sr_propagator_create("tracecontext", &p), 0);
	for (size_t i = 0; i < 3; i++) {
		sr_headers_init(&h, cases[i], 2);
		assert_int_equal(sr_propagator_extract_ex(p, &h, sr_headers_getter(),
							  &ctx, &info),
				 SR_EINVAL);
		assert_false(sr_context_is_valid(&ctx));
		assert_int_equal(info.malformed, SR_PROP_TRACECONTEXT);
	}
	sr_propagator_destroy(p);
}

/* A combination longer than every limit is rejected unread. */
static void test_overlong_join_is_oversized(void **state)
{
	static char big[SR_HEADERS_JOIN_MAX - 5]; /* 8186 bytes and a NUL */
	sr_header_t f[] = {
		F("traceparent", TP1),
		{ "baggage", 7, big, sizeof(big) - 1 },
		F("baggage", "k=v"),
		F("baggage", "k2=v2"),
	};
	sr_propagator_t *p;
	sr_extract_info_t info;
	sr_context_t ctx;
	size_t len;
	const char *v;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[0] = 'x';
	big[1] = '=';
	assert_int_equal(sr_propagator_create("tracecontext,baggage", &p), 0);
	sr_headers_init(&h, f, 4);
	v = sr_headers_getter()->get(&h, "baggage", &len);
	assert_int_equal(len, SR_HEADERS_JOIN_MAX + 1);
	assert_memory_equal(v, big, 8);
	assert_int_equal(sr_propagator_extract_ex(p, &h, sr_headers_getter(),
						  &ctx, &info), 0);
	assert_int_equal(info.oversized, SR_PROP_BAGGAGE);
	assert_int_equal(info.dropped, SR_EXTRACT_DROPPED(SR_PF_BAGGAGE));
	assert_int_equal(sr_baggage_count(&ctx), 0);
	/* Without the third line it fits (8190 bytes); the long entry is
	 * over the entry limit, which drops it alone. */
	sr_headers_init(&h, f, 3);
	assert_int_equal(sr_propagator_extract_ex(p, &h, sr_headers_getter(),
						  &ctx, &info), 0);
	assert_int_equal(info.dropped, 0);
	assert_int_equal(sr_baggage_count(&ctx), 1);
	sr_propagator_destroy(p);
}

struct seen {
	int n;
	char names[8][32];
	char values[8][64];
};

static int visit(void *ud, const char *k, size_t kl, const char *v, size_t vl)
{
	struct seen *s = ud;

	if (vl == SR_CARRIER_LEN_CSTR)
		vl = strlen(v);
	snprintf(s->names[s->n], 32, "%.*s", (int)kl, k);
	snprintf(s->values[s->n], 64, "%.*s", (int)vl, v);
	s->n++;
	return 0;
}

/* The key iterator: each name once, joined; Jaeger baggage through it. */
static void test_keys_each_name_once(void **state)
{
	const sr_header_t f[] = {
		F("uberctx-a", "1"),
		F("uber-trace-id", "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1"),
		F("UBERCTX-A", "2"),
		F("uberctx-b", "x"),
	};
	struct seen s = { 0 };
	sr_propagator_t *p;
	sr_context_t ctx;
	char buf[16];

	(void)state;
	sr_headers_init(&h, f, 4);
	sr_headers_getter()->keys(&h, visit, &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.names[0], "uberctx-a");
	assert_string_equal(s.values[0], "1,2");
	assert_string_equal(s.values[2], "x");
	assert_int_equal(sr_propagator_create("jaeger", &p), 0);
	assert_int_equal(sr_propagator_extract(p, &h, sr_headers_getter(), &ctx), 0);
	assert_int_equal(sr_baggage_get(&ctx, "uberctx-b" + 8, buf, sizeof(buf),
					NULL), 0);
	assert_string_equal(buf, "x");
	sr_propagator_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_in_place_any_case),
		cmocka_unit_test(test_repeated_lists_join_in_order),
		cmocka_unit_test(test_repeated_traceparent_restarts),
		cmocka_unit_test(test_overlong_join_is_oversized),
		cmocka_unit_test(test_keys_each_name_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
