/*
 * test_w3c_conformance.c - our own conformance test for W3C Trace Context
 * Level 2, the cases of the official test suite (w3c/trace-context,
 * test/test.py: 41 tests at STRICT_LEVEL=2 SPEC_LEVEL=2) run in-process
 * through the same request flow as the W3C test service (tests/w3c/
 * w3c_flow.h: header array -> extract -> server span -> client span ->
 * inject).  The official suite itself runs against tests/w3c/w3c_service.c
 * over HTTP (tests/w3c/README.md); this keeps its cases in ctest.
 *
 * Each case: the incoming header lines; what the outgoing traceparent's
 * trace id must be (kept, or new); the outgoing tracestate, exactly, as
 * this library normalises it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "testutil.h"
#include "w3c_flow.h"

#define TID "12345678901234567890123456789012"
#define TP(v, f) v "-" TID "-1234567890123456-" f
#define TP00 TP("00", "00")
#define TP01 TP("00", "01")
#define KEEP TID
#define NEW NULL
#define ABSENT NULL
/* Any tracestate (checked separately). */
static const char any_ts[] = "*";
#define ANY any_ts

struct out {
	char tp[64];
	char ts[1024];
	int n_tp;
};

static void set(void *carrier, const char *key, const char *value, size_t len)
{
	struct out *o = carrier;

	if (!strcmp(key, "traceparent") && len < sizeof(o->tp)) {
		memcpy(o->tp, value, len + 1);
		o->n_tp++;
	} else if (!strcmp(key, "tracestate") && len < sizeof(o->ts)) {
		memcpy(o->ts, value, len + 1);
	}
}

struct tcase {
	const char *test;       /* the official test it comes from        */
	const char *h[5][2];    /* incoming lines, name and value          */
	const char *trace_id;   /* KEEP or NEW (must differ from TID)      */
	const char *ts;         /* ABSENT, ANY, or the exact tracestate    */
};

static char z256[300], z257[300], t241[300], t242[300], t15[300], at257[300],
	allkey[300], allkey_v[300], ts32[400], ts32_out[400];

static void make_inputs(void)
{
	char val[128];
	int o = 0;

	memset(z256, 'z', 256);
	memset(z257, 'z', 257);
	memset(t241, 't', 241);
	t241[241] = '@';
	memset(t241 + 242, 'v', 14);
	memset(t242, 't', 242);
	strcpy(t242 + 242, "@v");
	strcpy(t15, "t@");
	memset(t15 + 2, 'v', 15);
	memset(at257, 't', 257);
	at257[128] = '@';
	strcat(z256, "=1");
	strcat(z257, "=1");
	strcat(t241, "=1");
	strcat(t242, "=1");
	strcat(t15, "=1");
	strcat(at257, "=1");
	for (int c = 0x20; c <= 0x7e; c++)
		if (c != ',' && c != '=')
			val[o++] = (char)c;
	val[o] = '\0';
	snprintf(allkey, sizeof(allkey), "abcdefghijklmnopqrstuvwxyz0123456789_-*/=%s", val);
	snprintf(allkey_v, sizeof(allkey_v),
		 "abcdefghijklmnopqrstuvwxyz0123456789_-*/@a-z0-9_-*/=%s", val);
	o = 0;
	for (int i = 1; i <= 32; i++)
		o += sprintf(ts32 + o, "%sbar%02d=%02d", i > 1 ? "," : "", i, i);
	strcpy(ts32_out, ts32);
}

static char *cat(const char *a, const char *b)
{
	static char buf[8][700];
	static int i;
	char *r = buf[i++ % 8];

	snprintf(r, sizeof(buf[0]), "%s%s", a, b);
	return r;
}

static void run(const struct tcase *c, const sr_propagator_t *p)
{
	static struct w3c_request r;
	sr_header_t f[5];
	struct out o;
	sr_span_t client;
	size_t n = 0;

	for (; n < 5 && c->h[n][0]; n++)
		f[n] = (sr_header_t){ c->h[n][0], SR_CARRIER_LEN_CSTR, c->h[n][1],
				      SR_CARRIER_LEN_CSTR };
	memset(&o, 0, sizeof(o));
	w3c_begin(&r, p, f, n);
	w3c_call(&r, p, &client, &o, set);
	sr_span_end(&client);
	w3c_end(&r);
	if (o.n_tp != 1 || strlen(o.tp) != 55 || strncmp(o.tp, "00-", 3) != 0)
		fail_msg("%s: traceparent '%s'", c->test, o.tp);
	if (c->trace_id ? strncmp(o.tp + 3, TID, 32) != 0
			: strncmp(o.tp + 3, TID, 32) == 0 ||
				  strncmp(o.tp + 3, "00000000000000000000000000000000", 32) == 0)
		fail_msg("%s: trace id of '%s' should be %s", c->test, o.tp,
			 c->trace_id ? "kept" : "new");
	if (!strncmp(o.tp + 36, "1234567890123456", 16))
		fail_msg("%s: parent id not replaced: '%s'", c->test, o.tp);
	/* Our own traces and the suite's "-02" parent are random. */
	if (!c->trace_id && strcmp(o.tp + 53, "03") != 0)
		fail_msg("%s: a new trace's flags are '%s', want 03", c->test, o.tp + 53);
	if (c->ts != ANY && strcmp(o.ts, c->ts ? c->ts : "") != 0)
		fail_msg("%s: tracestate '%s', want '%s'", c->test, o.ts,
			 c->ts ? c->ts : "(absent)");
}

static void test_official_suite_cases(void **state)
{
	const struct tcase cases[] = {
		{ "both_missing", { { 0 } }, NEW, ABSENT },
		{ "traceparent_included_tracestate_missing", { { "traceparent", TP01 } }, KEEP, ABSENT },
		{ "traceparent_duplicated", { { "traceparent", "00-12345678901234567890123456789011-1234567890123456-01" },
					      { "traceparent", TP01 } }, NEW, ABSENT },
		{ "traceparent_header_name", { { "trace-parent", TP01 } }, NEW, ABSENT },
		{ "traceparent_header_name", { { "trace.parent", TP01 } }, NEW, ABSENT },
		{ "traceparent_header_name_valid_casing", { { "TraceParent", TP01 } }, KEEP, ABSENT },
		{ "traceparent_header_name_valid_casing", { { "TrAcEpArEnT", TP01 } }, KEEP, ABSENT },
		{ "traceparent_header_name_valid_casing", { { "TRACEPARENT", TP01 } }, KEEP, ABSENT },
		{ "traceparent_version_0x00", { { "traceparent", TP01 "." } }, NEW, ABSENT },
		{ "traceparent_version_0x00", { { "traceparent", TP01 "-what-the-future-will-be-like" } }, NEW, ABSENT },
		{ "traceparent_version_0xcc", { { "traceparent", TP("cc", "01") } }, KEEP, ABSENT },
		{ "traceparent_version_0xcc", { { "traceparent", TP("cc", "01") "-what-the-future-will-be-like" } }, KEEP, ABSENT },
		{ "traceparent_version_0xcc", { { "traceparent", TP("cc", "01") ".what-the-future-will-be-like" } }, NEW, ABSENT },
		{ "traceparent_version_0xff", { { "traceparent", TP("ff", "01") } }, NEW, ABSENT },
		{ "traceparent_version_illegal_characters", { { "traceparent", TP(".0", "01") } }, NEW, ABSENT },
		{ "traceparent_version_illegal_characters", { { "traceparent", TP("0.", "01") } }, NEW, ABSENT },
		{ "traceparent_version_too_long", { { "traceparent", TP("000", "01") } }, NEW, ABSENT },
		{ "traceparent_version_too_long", { { "traceparent", TP("0000", "01") } }, NEW, ABSENT },
		{ "traceparent_version_too_short", { { "traceparent", TP("0", "01") } }, NEW, ABSENT },
		{ "traceparent_trace_id_all_zero", { { "traceparent", "00-00000000000000000000000000000000-1234567890123456-01" } }, NEW, ABSENT },
		{ "traceparent_trace_id_illegal_characters", { { "traceparent", "00-.2345678901234567890123456789012-1234567890123456-01" } }, NEW, ABSENT },
		{ "traceparent_trace_id_illegal_characters", { { "traceparent", "00-1234567890123456789012345678901.-1234567890123456-01" } }, NEW, ABSENT },
		{ "traceparent_trace_id_too_long", { { "traceparent", "00-123456789012345678901234567890123-1234567890123456-01" } }, NEW, ABSENT },
		{ "traceparent_trace_id_too_short", { { "traceparent", "00-1234567890123456789012345678901-1234567890123456-01" } }, NEW, ABSENT },
		{ "traceparent_parent_id_all_zero", { { "traceparent", "00-" TID "-0000000000000000-01" } }, NEW, ABSENT },
		{ "traceparent_parent_id_illegal_characters", { { "traceparent", "00-" TID "-.234567890123456-01" } }, NEW, ABSENT },
		{ "traceparent_parent_id_illegal_characters", { { "traceparent", "00-" TID "-123456789012345.-01" } }, NEW, ABSENT },
		{ "traceparent_parent_id_too_long", { { "traceparent", "00-" TID "-12345678901234567-01" } }, NEW, ABSENT },
		{ "traceparent_parent_id_too_short", { { "traceparent", "00-" TID "-123456789012345-01" } }, NEW, ABSENT },
		{ "traceparent_trace_flags_illegal_characters", { { "traceparent", TP("00", ".0") } }, NEW, ABSENT },
		{ "traceparent_trace_flags_illegal_characters", { { "traceparent", TP("00", "0.") } }, NEW, ABSENT },
		{ "traceparent_trace_flags_too_long", { { "traceparent", TP("00", "001") } }, NEW, ABSENT },
		{ "traceparent_trace_flags_too_short", { { "traceparent", TP("00", "1") } }, NEW, ABSENT },
		{ "traceparent_ows_handling", { { "traceparent", " " TP01 } }, KEEP, ABSENT },
		{ "traceparent_ows_handling", { { "traceparent", "\t" TP01 } }, KEEP, ABSENT },
		{ "traceparent_ows_handling", { { "traceparent", TP01 " " } }, KEEP, ABSENT },
		{ "traceparent_ows_handling", { { "traceparent", TP01 "\t" } }, KEEP, ABSENT },
		{ "traceparent_ows_handling", { { "traceparent", "\t " TP01 " \t" } }, KEEP, ABSENT },
		{ "tracestate_included_traceparent_missing", { { "tracestate", "foo=1" } }, NEW, ABSENT },
		{ "tracestate_included_traceparent_missing", { { "tracestate", "foo=1,bar=2" } }, NEW, ABSENT },
		{ "tracestate_included_traceparent_included", { { "traceparent", TP00 }, { "tracestate", "foo=1,bar=2" } }, KEEP, "foo=1,bar=2" },
		{ "tracestate_header_name", { { "traceparent", TP00 }, { "trace-state", "foo=1" } }, KEEP, ABSENT },
		{ "tracestate_header_name", { { "traceparent", TP00 }, { "trace.state", "foo=1" } }, KEEP, ABSENT },
		{ "tracestate_header_name_valid_casing", { { "traceparent", TP00 }, { "TraceState", "foo=1" } }, KEEP, "foo=1" },
		{ "tracestate_header_name_valid_casing", { { "traceparent", TP00 }, { "TrAcEsTaTe", "foo=1" } }, KEEP, "foo=1" },
		{ "tracestate_header_name_valid_casing", { { "traceparent", TP00 }, { "TRACESTATE", "foo=1" } }, KEEP, "foo=1" },
		{ "tracestate_empty_header", { { "traceparent", TP00 }, { "tracestate", "" } }, KEEP, ABSENT },
		{ "tracestate_empty_header", { { "traceparent", TP00 }, { "tracestate", "foo=1" }, { "tracestate", "" } }, KEEP, "foo=1" },
		{ "tracestate_empty_header", { { "traceparent", TP00 }, { "tracestate", "" }, { "tracestate", "foo=1" } }, KEEP, "foo=1" },
		{ "tracestate_multiple_headers_different_keys", { { "traceparent", TP00 }, { "tracestate", "foo=1,bar=2" },
			{ "tracestate", "rojo=1,congo=2" }, { "tracestate", "baz=3" } }, KEEP, "foo=1,bar=2,rojo=1,congo=2,baz=3" },
		{ "tracestate_duplicated_keys", { { "traceparent", TP00 }, { "tracestate", "foo=1,foo=1" } }, KEEP, "foo=1" },
		{ "tracestate_duplicated_keys", { { "traceparent", TP00 }, { "tracestate", "foo=1,foo=2" } }, KEEP, "foo=1" },
		{ "tracestate_duplicated_keys", { { "traceparent", TP00 }, { "tracestate", "foo=1" }, { "tracestate", "foo=1" } }, KEEP, "foo=1" },
		{ "tracestate_duplicated_keys", { { "traceparent", TP00 }, { "tracestate", "foo=1" }, { "tracestate", "foo=2" } }, KEEP, "foo=1" },
		{ "tracestate_all_allowed_characters", { { "traceparent", TP00 }, { "tracestate", allkey } }, KEEP, allkey },
		{ "tracestate_all_allowed_characters", { { "traceparent", TP00 }, { "tracestate", allkey_v } }, KEEP, allkey_v },
		{ "tracestate_ows_handling", { { "traceparent", TP00 }, { "tracestate", "foo=1 \t , \t bar=2, \t baz=3" } }, KEEP, "foo=1,bar=2,baz=3" },
		{ "tracestate_ows_handling", { { "traceparent", TP00 }, { "tracestate", "foo=1\t \t,\t \tbar=2,\t \tbaz=3" } }, KEEP, "foo=1,bar=2,baz=3" },
		{ "tracestate_ows_handling", { { "traceparent", TP00 }, { "tracestate", " foo=1" } }, KEEP, "foo=1" },
		{ "tracestate_ows_handling", { { "traceparent", TP00 }, { "tracestate", "\tfoo=1" } }, KEEP, "foo=1" },
		{ "tracestate_ows_handling", { { "traceparent", TP00 }, { "tracestate", "foo=1 " } }, KEEP, "foo=1" },
		{ "tracestate_ows_handling", { { "traceparent", TP00 }, { "tracestate", "foo=1\t" } }, KEEP, "foo=1" },
		{ "tracestate_ows_handling", { { "traceparent", TP00 }, { "tracestate", "\t foo=1 \t" } }, KEEP, "foo=1" },
		{ "tracestate_key_illegal_characters", { { "traceparent", TP00 }, { "tracestate", "foo =1" } }, KEEP, ABSENT },
		{ "tracestate_key_illegal_characters", { { "traceparent", TP00 }, { "tracestate", "FOO=1" } }, KEEP, ABSENT },
		{ "tracestate_key_illegal_characters", { { "traceparent", TP00 }, { "tracestate", "foo.bar=1" } }, KEEP, ABSENT },
		{ "tracestate_key_illegal_vendor_format", { { "traceparent", TP00 }, { "tracestate", "foo@=1,bar=2" } }, KEEP, "foo@=1,bar=2" },
		{ "tracestate_key_illegal_vendor_format", { { "traceparent", TP00 }, { "tracestate", "@foo=1,bar=2" } }, KEEP, ABSENT },
		{ "tracestate_key_illegal_vendor_format", { { "traceparent", TP00 }, { "tracestate", "foo@@bar=1,bar=2" } }, KEEP, "foo@@bar=1,bar=2" },
		{ "tracestate_key_illegal_vendor_format", { { "traceparent", TP00 }, { "tracestate", "foo@bar@baz=1,bar=2" } }, KEEP, "foo@bar@baz=1,bar=2" },
		{ "tracestate_member_count_limit", { { "traceparent", TP00 }, { "tracestate", ts32 } }, KEEP, ts32_out },
		{ "tracestate_member_count_limit", { { "traceparent", TP00 }, { "tracestate", ts32 }, { "tracestate", "bar33=33" } }, KEEP, ABSENT },
		{ "tracestate_key_length_limit", { { "traceparent", TP00 }, { "tracestate", "foo=1" }, { "tracestate", z256 } }, KEEP, ANY },
		{ "tracestate_key_length_limit", { { "traceparent", TP00 }, { "tracestate", "foo=1" }, { "tracestate", z257 } }, KEEP, ABSENT },
		{ "tracestate_key_length_limit", { { "traceparent", TP00 }, { "tracestate", "foo=1" }, { "tracestate", t241 } }, KEEP, ANY },
		{ "tracestate_key_length_limit", { { "traceparent", TP00 }, { "tracestate", "foo=1" }, { "tracestate", t242 } }, KEEP, ANY },
		{ "tracestate_key_length_limit", { { "traceparent", TP00 }, { "tracestate", "foo=1" }, { "tracestate", t15 } }, KEEP, ANY },
		{ "tracestate_key_length_limit", { { "traceparent", TP00 }, { "tracestate", "foo=1" }, { "tracestate", at257 } }, KEEP, ABSENT },
		{ "tracestate_value_illegal_characters", { { "traceparent", TP00 }, { "tracestate", "foo=bar=baz" } }, KEEP, ABSENT },
		{ "tracestate_value_illegal_characters", { { "traceparent", TP00 }, { "tracestate", "foo=,bar=3" } }, KEEP, ABSENT },
	};
	sr_propagator_t *p;

	(void)state;
	make_inputs();
	assert_int_equal(sr_propagator_create("tracecontext,baggage", &p), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run(&cases[i], p);
	/* The key-length cases that keep the tracestate keep both members
	 * (the 512-byte rule drops the long one first when both exceed). */
	{
		const struct tcase c = { "tracestate_key_length_limit",
			{ { "traceparent", TP00 }, { "tracestate", "foo=1" }, { "tracestate", t15 } },
			KEEP, cat("foo=1,", t15) };
		run(&c, p);
	}
	sr_propagator_destroy(p);
}

/* TraceContext2Test.test_propagates_random_flag, and its converse. */
static void test_random_flag_propagates(void **state)
{
	static const struct {
		const char *in, *flags;
	} cases[] = {
		{ TP("00", "02"), "03" }, { TP("00", "03"), "03" },
		{ TP("00", "01"), "01" }, { TP("00", "00"), "01" },
		{ TP("cc", "02") "-x", "03" },
	};
	sr_propagator_t *p;

	(void)state;
	assert_int_equal(sr_propagator_create("tracecontext", &p), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static struct w3c_request r;
		sr_header_t f = { "traceparent", SR_CARRIER_LEN_CSTR, cases[i].in,
				  SR_CARRIER_LEN_CSTR };
		struct out o = { { 0 }, { 0 }, 0 };
		sr_span_t client;

		w3c_begin(&r, p, &f, 1);
		w3c_call(&r, p, &client, &o, set);
		sr_span_end(&client);
		w3c_end(&r);
		assert_int_equal(strncmp(o.tp + 3, TID, 32), 0);
		/* always_on: sampled; random exactly when the parent's is. */
		assert_string_equal(o.tp + 53, cases[i].flags);
	}
	sr_propagator_destroy(p);
}

/* AdvancedTest: several calls of one request share the trace, each with
 * its own parent id; an illegal traceparent gives new trace ids. */
static void test_multiple_calls(void **state)
{
	static const char *const in[] = { TP01, NULL,
		"00-00000000000000000000000000000000-1234567890123456-01" };
	sr_propagator_t *p;

	(void)state;
	assert_int_equal(sr_propagator_create("tracecontext", &p), 0);
	for (size_t i = 0; i < 3; i++) {
		static struct w3c_request r;
		sr_header_t f = { "traceparent", SR_CARRIER_LEN_CSTR, in[i],
				  SR_CARRIER_LEN_CSTR };
		struct out o[3];

		memset(o, 0, sizeof(o));
		w3c_begin(&r, p, &f, in[i] ? 1 : 0);
		for (int k = 0; k < 3; k++) {
			sr_span_t client;

			w3c_call(&r, p, &client, &o[k], set);
			sr_span_end(&client);
		}
		w3c_end(&r);
		for (int k = 0; k < 3; k++) {
			assert_int_equal(strncmp(o[k].tp + 3, o[0].tp + 3, 32), 0);
			for (int j = 0; j < k; j++)
				assert_int_not_equal(strncmp(o[k].tp + 36, o[j].tp + 36, 16), 0);
		}
		assert_int_equal(strncmp(o[0].tp + 3, TID, 32) == 0, i == 0);
		assert_int_not_equal(strncmp(o[0].tp + 3, "00000000000000000000000000000000", 32), 0);
	}
	sr_propagator_destroy(p);
}

static int setup(void **state)
{
	(void)state;
	return sr_test_init_memory(NULL);
}

static int teardown(void **state)
{
	(void)state;
	sr_shutdown(5000, NULL);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_official_suite_cases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_flag_propagates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiple_calls, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
