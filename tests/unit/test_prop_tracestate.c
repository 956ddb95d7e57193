/*
 * test_prop_tracestate.c - W3C tracestate: grammar (the Recommendation's
 * keys, with '@' anywhere after the first character; values), OWS and
 * empty members, repeated fields, the 32-member limit, duplicates (the
 * first kept), the 512-byte truncation rule, and the
 * trace-state API of a context (W3C mutation rules, immutability), down to
 * the exported span.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "testutil.h"
#include "prop_carrier.h"
#include "spanring_int.h"

static pc_t carrier, out;
static sr_propagator_t *tc;

#define TP "00-12345678901234567890123456789012-1234567890123456-00"
#define DROP NULL  /* expected: tracestate discarded */

struct ts_case {
	const char *fields[5];  /* tracestate field lines, NULL-terminated */
	const char *want;       /* normalised result, or DROP              */
};

static char z256[300], z257[300], t241[300], t242[300], t15[300],
	at256[300], at257[300];
static char allkey[64], allkey_vendor[80], allval[128], allboth[300],
	allboth_v[300];

static char members32[400], members33[420];

static void make_inputs(void)
{
	int o = 0;

	memset(z256, 'z', 256);
	strcpy(z256 + 256, "=1");
	memset(z257, 'z', 257);
	strcpy(z257 + 257, "=1");
	memset(t241, 't', 241);
	t241[241] = '@';
	memset(t241 + 242, 'v', 14);
	strcpy(t241 + 256, "=1");
	memset(t242, 't', 242);
	strcpy(t242 + 242, "@v=1");
	strcpy(t15, "t@");
	memset(t15 + 2, 'v', 15);
	strcpy(t15 + 17, "=1");
	/* 256 and 257 characters with '@' in the middle. */
	memset(at256, 't', 256);
	at256[128] = '@';
	strcpy(at256 + 256, "=1");
	memset(at257, 't', 257);
	at257[128] = '@';
	strcpy(at257 + 257, "=1");

	/* Every legal key and value character (W3C test suite). */
	for (int c = 'a'; c <= 'z'; c++)
		allkey[o++] = (char)c;
	memcpy(allkey + o, "0123456789_-*/", 15);
	snprintf(allkey_vendor, sizeof(allkey_vendor), "%s@a-z0-9_-*/", allkey);
	o = 0;
	for (int c = 0x20; c <= 0x7e; c++)
		if (c != ',' && c != '=')
			allval[o++] = (char)c;
	allval[o] = '\0';
	snprintf(allboth, sizeof(allboth), "%s=%s", allkey, allval);
	snprintf(allboth_v, sizeof(allboth_v), "%s=%s", allkey_vendor, allval);

	/* bar01=01,...,bar32=32 and the same with bar33=33. */
	o = 0;
	for (int i = 1; i <= 32; i++)
		o += sprintf(members32 + o, "%sbar%02d=%02d", i > 1 ? "," : "",
			     i, i);
	snprintf(members33, sizeof(members33), "%s,bar33=33", members32);
}

static void run(const char *const *fields, const char *want, const char *what)
{
	sr_context_t ctx;
	char buf[600];
	int rc;

	pc_reset(&carrier);
	pc_add(&carrier, "traceparent", TP);
	for (int i = 0; fields[i]; i++)
		pc_add(&carrier, "tracestate", fields[i]);
	/* A bad tracestate never costs the traceparent. */
	assert_int_equal(sr_propagator_extract(tc, &carrier, &pc_getter, &ctx), 0);
	rc = sr_context_tracestate(&ctx, buf, sizeof(buf), NULL);
	if (!want) {
		if (rc != SR_ENOTFOUND)
			fail_msg("%s: kept '%s', want it dropped", what, buf);
		assert_int_equal(ctx.state_[0], 0);
		return;
	}
	if (rc != 0 || strcmp(buf, want) != 0)
		fail_msg("%s: got rc %d '%s', want '%s'", what, rc, buf, want);
}

static void test_table(void **state)
{
	const struct ts_case cases[] = {
		{ { "foo=1,bar=2" }, "foo=1,bar=2" },
		{ { "congo=t61rcWkgMzE" }, "congo=t61rcWkgMzE" },
		{ { "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE" },
		  "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE" },
		/* Several fields combine in order. */
		{ { "foo=1,bar=2", "rojo=1,congo=2", "baz=3" },
		  "foo=1,bar=2,rojo=1,congo=2,baz=3" },
		/* Empty fields and members. */
		{ { "" }, DROP },
		{ { "foo=1", "" }, "foo=1" },
		{ { "", "foo=1" }, "foo=1" },
		{ { ",,foo=1,, \t ,bar=2," }, "foo=1,bar=2" },
		/* OWS around members. */
		{ { "foo=1 \t , \t bar=2, \t baz=3" }, "foo=1,bar=2,baz=3" },
		{ { "foo=1\t \t,\t \tbar=2,\t \tbaz=3" }, "foo=1,bar=2,baz=3" },
		{ { " foo=1" }, "foo=1" },
		{ { "\tfoo=1" }, "foo=1" },
		{ { "foo=1 " }, "foo=1" },
		{ { "foo=1\t" }, "foo=1" },
		{ { "\t foo=1 \t" }, "foo=1" },
		/* Leading spaces of a value are part of it. */
		{ { "foo=  1" }, "foo=  1" },
		/* A repeated key keeps its first member; the rest of the
		 * field stays (regression: the whole field was dropped). */
		{ { "foo=1,foo=1" }, "foo=1" },
		{ { "foo=1,foo=2" }, "foo=1" },
		{ { "foo=1", "foo=1" }, "foo=1" },
		{ { "foo=1", "foo=2" }, "foo=1" },
		{ { "bar=0,foo=1,bar=2,foo=3,baz=4" }, "bar=0,foo=1,baz=4" },
		{ { "a@b=1,a@b=2" }, "a@b=1" },
		{ { "a@b=1,a@c=2,a=3" }, "a@b=1,a@c=2,a=3" },
		/* ... and takes no place among the 32. */
		{ { members32, "bar01=x" }, members32 },
		/* Every legal character. */
		{ { allboth }, allboth },
		{ { allboth_v }, allboth_v },
		/* Illegal keys. */
		{ { "foo =1" }, DROP },
		{ { "FOO=1" }, DROP },
		{ { "foo.bar=1" }, DROP },
		{ { "_foo=1" }, DROP },
		{ { "-foo=1" }, DROP },
		{ { "=1" }, DROP },
		{ { "@foo=1,bar=2" }, DROP },
		{ { "foo@=1,BAR=2" }, DROP },
		/* Keys the Recommendation allows: a digit first, '@' anywhere
		 * after it (regression: the Level 1 tenant@system split
		 * rejected these, w3c/trace-context PR #584). */
		{ { "1foo=2" }, "1foo=2" },
		{ { "1tenant@sys=1" }, "1tenant@sys=1" },
		{ { "t@1v=1" }, "t@1v=1" },
		{ { "foo@=1,bar=2" }, "foo@=1,bar=2" },
		{ { "foo@@bar=1,bar=2" }, "foo@@bar=1,bar=2" },
		{ { "foo@bar@baz=1,bar=2" }, "foo@bar@baz=1,bar=2" },
		{ { "a@/*_-=1" }, "a@/*_-=1" },
		/* Key lengths. */
		{ { "foo=1", z256 }, NULL },     /* filled in below */
		{ { "foo=1", z257 }, DROP },
		{ { "foo=1", t241 }, NULL },
		{ { "foo=1", t242 }, NULL },     /* 244 characters in all */
		{ { "foo=1", t15 }, NULL },
		{ { "foo=1", at256 }, NULL },
		{ { "foo=1", at257 }, DROP },
		/* Illegal values. */
		{ { "foo=bar=baz" }, DROP },
		{ { "foo=,bar=3" }, DROP },
		{ { "foo" }, DROP },
		{ { "foo=a\tb" }, DROP },
		{ { "foo=a\x7f" }, DROP },
		{ { "foo=\xc3\xa9" }, DROP },
		{ { "foo=   " }, DROP },
		/* Member count. */
		{ { members32 }, members32 },
		{ { members33 }, DROP },
	};
	char want[600];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *w = cases[i].want;
		char what[32];

		if (!w && (cases[i].fields[1] == z256 ||
			   cases[i].fields[1] == t241 ||
			   cases[i].fields[1] == t242 ||
			   cases[i].fields[1] == t15 ||
			   cases[i].fields[1] == at256)) {
			snprintf(want, sizeof(want), "foo=1,%s", cases[i].fields[1]);
			w = want;
		}
		snprintf(what, sizeof(what), "case %zu", i);
		run(cases[i].fields, w, what);
	}
}

/* Values of 256 chars pass, 257 do not. */
static void test_value_length(void **state)
{
	char f[300];
	const char *fields[2] = { f, NULL };

	(void)state;
	strcpy(f, "k=");
	memset(f + 2, 'v', 256);
	f[258] = '\0';
	run(fields, f, "value 256");
	f[258] = 'v';
	f[259] = '\0';
	run(fields, DROP, "value 257");
}

/* No traceparent: tracestate is not even read. */
static void test_needs_traceparent(void **state)
{
	sr_propagation_stats_t a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	sr_context_t ctx;

	(void)state;
	pc_reset(&carrier);
	pc_add(&carrier, "tracestate", "foo=1");
	sr_propagation_stats_get(&a);
	assert_int_equal(sr_propagator_extract(tc, &carrier, &pc_getter, &ctx),
			 SR_ENOTFOUND);
	assert_int_equal(carrier.gets, 1);  /* traceparent only */
	assert_int_equal(ctx.state_[0], 0);
	pc_reset(&carrier);
	pc_add(&carrier, "traceparent", "00-00000000000000000000000000000000-1234567890123456-01");
	pc_add(&carrier, "tracestate", "foo=1");
	assert_int_equal(sr_propagator_extract(tc, &carrier, &pc_getter, &ctx),
			 SR_EINVAL);
	assert_int_equal(ctx.state_[0], 0);
	sr_propagation_stats_get(&b);
	assert_int_equal(b.ok[SR_PF_TRACESTATE], a.ok[SR_PF_TRACESTATE]);
	assert_int_equal(b.malformed[SR_PF_TRACESTATE],
			 a.malformed[SR_PF_TRACESTATE]);
}

/* The 512-byte rule: whole entries, >128 chars first, then from the end. */
static void test_truncation(void **state)
{
	char f[2000], want[600], m[300];
	const char *fields[2] = { f, NULL };
	sr_propagation_stats_t a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	int o = 0;

	(void)state;
	sr_propagation_stats_get(&a);
	/* 4 x 100-char members, one 200-char member second: 4*100 + 200 + 4
	 * commas = 604 > 512: the long one goes, the rest (403) stay. */
	for (int i = 0; i < 5; i++) {
		int len = i == 1 ? 200 : 100;
		snprintf(m, sizeof(m), "k%d=", i);
		memset(m + 3, 'a' + i, (size_t)len - 3);
		m[len] = '\0';
		o += sprintf(f + o, "%s%s", i ? "," : "", m);
	}
	o = 0;
	for (int i = 0; i < 5; i++) {
		if (i == 1)
			continue;
		snprintf(m, sizeof(m), "k%d=", i);
		memset(m + 3, 'a' + i, 97);
		m[100] = '\0';
		o += sprintf(want + o, "%s%s", o ? "," : "", m);
	}
	run(fields, want, "drop long first");

	/* 10 x 60-char members (609 chars): the last two go (487). */
	o = 0;
	for (int i = 0; i < 10; i++) {
		snprintf(m, sizeof(m), "k%d=", i);
		memset(m + 3, 'a' + i, 57);
		m[60] = '\0';
		o += sprintf(f + o, "%s%s", i ? "," : "", m);
	}
	memcpy(want, f, 8 * 61 - 1);
	want[8 * 61 - 1] = '\0';
	run(fields, want, "drop from end");
	assert_int_equal(strlen(want), 487);

	/* Exactly 512 stays whole. */
	o = 0;
	for (int i = 0; i < 4; i++) {
		int len = i == 3 ? 125 : 128;   /* 3*128 + 125 + 3 = 512 */
		snprintf(m, sizeof(m), "k%d=", i);
		memset(m + 3, 'a' + i, (size_t)len - 3);
		m[len] = '\0';
		o += sprintf(f + o, "%s%s", i ? "," : "", m);
	}
	assert_int_equal(strlen(f), 512);
	run(fields, f, "exactly 512");
	sr_propagation_stats_get(&b);
	assert_int_equal(b.tracestate_truncated - a.tracestate_truncated, 3);
}

/* A field over SR_PROP_TRACESTATE_MAX is rejected unread. */
static void test_oversized(void **state)
{
	static char f[SR_PROP_TRACESTATE_MAX + 2];
	const char *fields[2] = { f, NULL };
	sr_propagation_stats_t a = { .size = sizeof(a) }, b = { .size = sizeof(b) };

	(void)state;
	memset(f, ' ', sizeof(f) - 1);
	memcpy(f, "foo=1", 5);
	f[SR_PROP_TRACESTATE_MAX] = '\0';
	run(fields, "foo=1", "at the limit");
	sr_propagation_stats_get(&a);
	f[SR_PROP_TRACESTATE_MAX] = ' ';
	run(fields, DROP, "over the limit");
	sr_propagation_stats_get(&b);
	assert_int_equal(b.oversized[SR_PF_TRACESTATE] -
				 a.oversized[SR_PF_TRACESTATE], 1);
}

/* The spec's mutation walk-through: congo, then rojo, then congo again. */
static void test_api_mutation_rules(void **state)
{
	sr_context_t c0, c1, c2, c3;
	char buf[600];
	size_t len;

	(void)state;
	memset(&c0, 0, sizeof(c0));
	assert_int_equal(sr_context_tracestate(&c0, buf, sizeof(buf), &len),
			 SR_ENOTFOUND);
	assert_int_equal(len, 0);
	assert_int_equal(sr_context_tracestate_set(&c0, "congo", "t61rcWkgMzE",
						   &c1), 0);
	assert_int_equal(sr_context_tracestate_set(&c1, "rojo",
						   "00f067aa0ba902b7", &c2), 0);
	sr_context_tracestate(&c2, buf, sizeof(buf), NULL);
	assert_string_equal(buf, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
	assert_int_equal(sr_context_tracestate_set(&c2, "congo", "ucfJifl5GOE",
						   &c3), 0);
	sr_context_tracestate(&c3, buf, sizeof(buf), NULL);
	assert_string_equal(buf, "congo=ucfJifl5GOE,rojo=00f067aa0ba902b7");
	/* Immutable: earlier contexts still read their own state. */
	sr_context_tracestate(&c2, buf, sizeof(buf), NULL);
	assert_string_equal(buf, "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
	assert_int_equal(sr_context_tracestate_get(&c1, "congo", buf,
						   sizeof(buf), &len), 0);
	assert_string_equal(buf, "t61rcWkgMzE");
	assert_int_equal(len, 11);
	assert_int_equal(sr_context_tracestate_get(&c1, "rojo", buf,
						   sizeof(buf), NULL),
			 SR_ENOTFOUND);
	/* Delete. */
	assert_int_equal(sr_context_tracestate_delete(&c3, "rojo", &c2), 0);
	sr_context_tracestate(&c2, buf, sizeof(buf), NULL);
	assert_string_equal(buf, "congo=ucfJifl5GOE");
	assert_int_equal(sr_context_tracestate_delete(&c2, "rojo", &c1),
			 SR_ENOTFOUND);
	assert_int_equal(sr_context_tracestate_delete(&c2, "congo", &c1), 0);
	assert_int_equal(c1.state_[0], 0);
	/* In place. */
	c1 = c3;
	assert_int_equal(sr_context_tracestate_set(&c1, "x", "1", &c1), 0);
	sr_context_tracestate(&c1, buf, sizeof(buf), NULL);
	assert_string_equal(buf, "x=1,congo=ucfJifl5GOE,rojo=00f067aa0ba902b7");
	/* Small buffer: truncated copy and SR_ELIMIT with the full length. */
	assert_int_equal(sr_context_tracestate(&c1, buf, 5, &len), SR_ELIMIT);
	assert_string_equal(buf, "x=1,");
	assert_int_equal(len, strlen("x=1,congo=ucfJifl5GOE,rojo=00f067aa0ba902b7"));
}

static void test_api_invalid(void **state)
{
	sr_context_t c, d;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(sr_context_tracestate_set(&c, "a", "1", &c), 0);
	d = c;
	assert_int_equal(sr_context_tracestate_set(&c, "A", "1", &d), SR_EINVAL);
	assert_int_equal(sr_context_tracestate_set(&c, "a", "1,2", &d), SR_EINVAL);
	assert_int_equal(sr_context_tracestate_set(&c, "a", "x=y", &d), SR_EINVAL);
	assert_int_equal(sr_context_tracestate_set(&c, "a", "", &d), SR_EINVAL);
	assert_int_equal(sr_context_tracestate_set(&c, "a", "1 ", &d), SR_EINVAL);
	assert_int_equal(sr_context_tracestate_set(&c, "", "1", &d), SR_EINVAL);
	assert_int_equal(sr_context_tracestate_set(&c, "a", NULL, &d), SR_EINVAL);
	assert_int_equal(sr_context_tracestate_parse(&c, "a=1,@b=2",
						     SR_CARRIER_LEN_CSTR, &d),
			 SR_EINVAL);
	assert_memory_equal(&c, &d, sizeof(c));  /* unchanged on error */
	assert_int_equal(sr_context_tracestate_parse(&c, " b=2 , c=3 ",
						     SR_CARRIER_LEN_CSTR, &d), 0);
	assert_int_not_equal(d.state_[0], c.state_[0]);
	assert_int_equal(sr_context_tracestate_parse(&c, "", 0, &d), 0);
	assert_int_equal(d.state_[0], 0);
	/* A repeated key is no error: the first member is kept. */
	{
		char buf[64];

		assert_int_equal(sr_context_tracestate_parse(
					 &c, "a=1,b=2,a=3", SR_CARRIER_LEN_CSTR, &d),
				 0);
		assert_int_equal(sr_context_tracestate(&d, buf, sizeof(buf), NULL), 0);
		assert_string_equal(buf, "a=1,b=2");
		/* Keys of the Recommendation's grammar may be set. */
		assert_int_equal(sr_context_tracestate_set(&c, "1foo@", "1", &d), 0);
		assert_int_equal(sr_context_tracestate_set(&c, "@foo", "1", &d),
				 SR_EINVAL);
	}
}

/* Every byte against the grammar, one character at a time, through the
 * API that validates a key and a value alone (no list splitting, no OWS). */
static bool want_keychar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
	       c == '-' || c == '*' || c == '/' || c == '@';
}

static void test_every_byte(void **state)
{
	sr_context_t c, d;
	char k[3], v[4];

	(void)state;
	memset(&c, 0, sizeof(c));
	for (int b = 1; b < 256; b++) {
		bool alnum = (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9');
		bool chr = b >= 0x20 && b <= 0x7e && b != ',' && b != '=';

		k[0] = (char)b, k[1] = '\0';
		if ((sr_context_tracestate_set(&c, k, "1", &d) == 0) != alnum)
			fail_msg("key first char 0x%02x", b);
		k[0] = 'a', k[1] = (char)b, k[2] = '\0';
		if ((sr_context_tracestate_set(&c, k, "1", &d) == 0) != want_keychar(b))
			fail_msg("key char 0x%02x", b);
		v[0] = 'v', v[1] = (char)b, v[2] = 'v', v[3] = '\0';
		if ((sr_context_tracestate_set(&c, "a", v, &d) == 0) != chr)
			fail_msg("value char 0x%02x", b);
		v[2] = '\0';
		if ((sr_context_tracestate_set(&c, "a", v, &d) == 0) != (chr && b != ' '))
			fail_msg("value's last char 0x%02x", b);
	}
}

/* Keys alike in length and at both ends are still different keys. */
static void test_keys_alike(void **state)
{
	const struct ts_case cases[] = {
		{ { "a1z=1,a2z=2,a1z=3" }, "a1z=1,a2z=2" },
		{ { "ab=1", "ab=2" }, "ab=1" },
		{ { "k@x=1,k@y=2,j@x=3" }, "k@x=1,k@y=2,j@x=3" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run(cases[i].fields, cases[i].want, cases[i].fields[0]);
}

/* 33rd member pushes the last one out; the new one is always kept. */
static void test_api_member_limit(void **state)
{
	sr_context_t c;
	char buf[600];

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(sr_context_tracestate_parse(&c, members32,
						     SR_CARRIER_LEN_CSTR, &c), 0);
	assert_int_equal(sr_context_tracestate_set(&c, "new", "1", &c), 0);
	sr_context_tracestate(&c, buf, sizeof(buf), NULL);
	assert_true(strncmp(buf, "new=1,bar01=01,", 15) == 0);
	assert_null(strstr(buf, "bar32"));
	assert_non_null(strstr(buf, "bar31=31"));
	/* A member too large for the 512 rule is refused. */
	{
		char v[257];
		memset(v, 'v', 256);
		v[256] = '\0';
		assert_int_equal(sr_context_tracestate_set(&c, "big", v, &c),
				 SR_ELIMIT);
	}
}

/* Extract -> inject writes the normalised tracestate. */
static void test_inject(void **state)
{
	sr_context_t ctx;
	size_t len;

	(void)state;
	pc_reset(&carrier);
	pc_add(&carrier, "traceparent", TP);
	pc_add(&carrier, "tracestate", " rojo=00f067aa0ba902b7 ,, congo=t61rcWkgMzE");
	assert_int_equal(sr_propagator_extract(tc, &carrier, &pc_getter, &ctx), 0);
	pc_reset(&out);
	sr_propagator_inject(tc, &ctx, &out, pc_set);
	assert_string_equal(pc_find(&out, "tracestate", &len),
			    "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
}

/* The core's export hook sees the same text. */
static void test_resolve_hook(void **state)
{
	sr_context_t c;
	sr_str_t s;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_false(sr__tracestate_resolve(0, &s));
	assert_int_equal(s.len, 0);
	assert_int_equal(sr_context_tracestate_set(&c, "k", "v", &c), 0);
	assert_true(sr__tracestate_resolve(c.state_[0], &s));
	assert_int_equal(s.len, 3);
	assert_memory_equal(s.ptr, "k=v", 3);
	/* A forged reference resolves to nothing, without crashing. */
	assert_false(sr__tracestate_resolve(c.state_[0] ^ (1ull << 40), &s));
	assert_false(sr__tracestate_resolve(0xffffffffffffff01ull, &s));
	assert_false(sr__tracestate_resolve(c.state_[0] + 1, &s)); /* kind */
}

/* End to end: an extracted trace state rides on a child span into the
 * exporter. */
static void test_exported(void **state)
{
	const sr_span_data_t *d;
	sr_context_t ctx;
	sr_span_t span, child;
	sr_scope_t sc;

	(void)state;
	assert_int_equal(sr_test_init_memory(NULL), 0);
	pc_reset(&carrier);
	pc_add(&carrier, "traceparent",
	       "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	pc_add(&carrier, "tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
	assert_int_equal(sr_propagator_extract(tc, &carrier, &pc_getter, &ctx), 0);
	sr_span_start_ex(&span, NULL, "server", SR_KIND_SERVER, &ctx, 0, 0);
	sc = sr_scope_enter(&span);
	sr_span_start(&child, NULL, "child", SR_KIND_INTERNAL);
	sr_span_end(&child);
	sr_scope_exit(sc);
	sr_span_end(&span);
	assert_int_equal(sr_flush(5000, NULL), 0);
	d = sr_test_find_span("server");
	assert_non_null(d);
	assert_int_equal(d->parent_remote, 1);
	assert_int_equal(d->trace_state.len,
			 strlen("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
	assert_memory_equal(d->trace_state.ptr,
			    "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
			    d->trace_state.len);
	d = sr_test_find_span("child");
	assert_non_null(d);
	assert_memory_equal(d->trace_state.ptr, "rojo=00f067aa0ba902b7",
			    strlen("rojo=00f067aa0ba902b7"));
	assert_int_equal(sr_shutdown(5000, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_value_length),
		cmocka_unit_test(test_needs_traceparent),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_api_mutation_rules),
		cmocka_unit_test(test_api_invalid),
		cmocka_unit_test(test_api_member_limit),
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_keys_alike),
		cmocka_unit_test(test_inject),
		cmocka_unit_test(test_resolve_hook),
		cmocka_unit_test(test_exported),
	};

	make_inputs();
	if (sr_propagator_create("tracecontext", &tc) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
