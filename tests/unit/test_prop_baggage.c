/*
 * test_prop_baggage.c - W3C baggage: the spec's examples, OWS,
 * properties, percent-encoding both ways, malformed members, duplicates,
 * the 180-entry / 4096-byte / 8192-byte limits, and the baggage API of a
 * context (immutable values, inheritance by child spans).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "testutil.h"
#include "prop_carrier.h"

static pc_t carrier, out;
static sr_propagator_t *bg;

/* Collect entries as "k=v;m|k=v|..." for comparison. */
struct dump {
	char s[20000];
	size_t o;
};

static int dump_cb(void *ud, const sr_baggage_entry_t *e)
{
	struct dump *d = ud;

	d->o += (size_t)snprintf(d->s + d->o, sizeof(d->s) - d->o, "%s%.*s=%.*s%s%.*s",
				 d->o ? "|" : "", (int)e->key.len, e->key.ptr,
				 (int)e->value.len, e->value.ptr,
				 e->metadata.len ? ";" : "", (int)e->metadata.len,
				 e->metadata.ptr);
	return 0;
}

static const char *dump(const sr_context_t *c)
{
	static struct dump d;

	d.o = 0;
	d.s[0] = '\0';
	sr_baggage_foreach(c, dump_cb, &d);
	return d.s;
}

/* Extract the given baggage field lines; return the dump or "ERR". */
static const char *ext(const char *const *lines, int *rc_out)
{
	sr_context_t ctx;
	int rc;

	pc_reset(&carrier);
	for (int i = 0; lines[i]; i++)
		pc_add(&carrier, "baggage", lines[i]);
	rc = sr_propagator_extract(bg, &carrier, &pc_getter, &ctx);
	if (rc_out)
		*rc_out = rc;
	assert_int_equal(rc, SR_ENOTFOUND);  /* no trace ids, ever */
	assert_false(sr_context_is_valid(&ctx));
	return dump(&ctx);
}

struct bcase {
	const char *lines[4];
	const char *want;   /* "" = no baggage */
};

static void test_table(void **state)
{
	static const struct bcase cases[] = {
		/* Spec examples. */
		{ { "key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue" },
		  "key1=value1;property1;property2|key2=value2|key3=value3;propertyKey=propertyValue" },
		{ { "userId=alice,serverNode=DF%2028,isProduction=false" },
		  "userId=alice|serverNode=DF 28|isProduction=false" },
		{ { "userId=alice", "serverNode=DF%2028,isProduction=false" },
		  "userId=alice|serverNode=DF 28|isProduction=false" },
		{ { "userId =   alice", "serverNode = DF%2028, isProduction = false" },
		  "userId=alice|serverNode=DF 28|isProduction=false" },
		/* Values may contain '=', may be empty, may be percent-encoded
		 * UTF-8 in either hex case. */
		{ { "k=a=b" }, "k=a=b" },
		{ { "k=" }, "k=" },
		{ { "k=%E2%82%AC,l=%e2%82%ac" }, "k=\xe2\x82\xac|l=\xe2\x82\xac" },
		{ { "k=%25%2C%3B" }, "k=%,;" },
		{ { "k=a+b" }, "k=a+b" },
		/* Properties: normalised, values kept raw. */
		{ { "k=v; p1 ;p2 = x%20y ; p3" }, "k=v;p1;p2=x%20y;p3" },
		/* Token keys. */
		{ { "!#$%&'*+-.^_`|~09AZaz=1" }, "!#$%&'*+-.^_`|~09AZaz=1" },
		/* Repeated key: the last value wins. */
		{ { "a=1,k=1,b=2,k=2" }, "a=1|b=2|k=2" },
		{ { "k=1", "k=2" }, "k=2" },
		/* Empty and blank members (from combined fields) are skipped. */
		{ { "a=1,,b=2, \t ,", "" }, "a=1|b=2" },
		{ { "" }, "" },
		/* Malformed: the whole field is discarded. */
		{ { "a=1,k" }, "" },
		{ { "=v" }, "" },
		{ { "a=1,k=v v" }, "" },
		{ { "k=\"v\"" }, "" },
		{ { "k=a\\b" }, "" },
		{ { "k y=v" }, "" },
		{ { "k(=v" }, "" },
		{ { "k=v;" }, "" },
		{ { "k=v;=x" }, "" },
		{ { "k=v;p=\"x\"" }, "" },
		{ { "k=v;p q" }, "" },
		{ { "k=%2" }, "" },
		{ { "k=%zz" }, "" },
		{ { "k=100%" }, "" },
		{ { "k=\x80" }, "" },
		{ { "k=a\tb" }, "" },
		/* ... but only that field's worth: another field can't rescue
		 * it since they are one combined value. */
		{ { "a=1", "b" }, "" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = ext(cases[i].lines, NULL);
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, got,
				 cases[i].want);
	}
}

static void test_malformed_counted(void **state)
{
	const char *bad[] = { "a=1,k", NULL };
	const char *good[] = { "a=1", NULL };
	sr_propagation_stats_t a = { .size = sizeof(a) }, b = { .size = sizeof(b) };

	(void)state;
	sr_propagation_stats_get(&a);
	ext(bad, NULL);
	ext(good, NULL);
	ext(good, NULL);
	sr_propagation_stats_get(&b);
	assert_int_equal(b.malformed[SR_PF_BAGGAGE] - a.malformed[SR_PF_BAGGAGE], 1);
	assert_int_equal(b.ok[SR_PF_BAGGAGE] - a.ok[SR_PF_BAGGAGE], 2);
}

/* 180 entries pass, the 181st is dropped and counted. */
static void test_entry_limit(void **state)
{
	static char f[4000];
	const char *lines[] = { f, NULL };
	sr_propagation_stats_t a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	sr_context_t ctx;
	int o = 0;

	(void)state;
	for (int i = 0; i < 181; i++)
		o += sprintf(f + o, "%sk%03d=%d", i ? "," : "", i, i);
	sr_propagation_stats_get(&a);
	ext(lines, NULL);
	sr_propagation_stats_get(&b);
	assert_int_equal(b.baggage_dropped - a.baggage_dropped, 1);
	pc_reset(&carrier);
	pc_add(&carrier, "baggage", f);
	sr_propagator_extract(bg, &carrier, &pc_getter, &ctx);
	assert_int_equal(sr_baggage_count(&ctx), 180);
	assert_int_equal(sr_baggage_get(&ctx, "k179", NULL, 0, NULL), 0);
	assert_int_equal(sr_baggage_get(&ctx, "k180", NULL, 0, NULL),
			 SR_ENOTFOUND);
}

/* An entry (key + decoded value + properties) over 4096 bytes is dropped;
 * the others stay.  "big" + 4093 bytes is exactly 4096. */
static void test_entry_size_limit(void **state)
{
	static char f[SR_PROP_BAGGAGE_MAX + 8];
	sr_context_t ctx;
	size_t len;

	(void)state;
	for (size_t vlen = 4093; vlen <= 4094; vlen++) {
		strcpy(f, "a=1,big=");
		memset(f + 8, 'x', vlen);
		strcpy(f + 8 + vlen, ",b=2");
		pc_reset(&carrier);
		pc_add(&carrier, "baggage", f);
		sr_propagator_extract(bg, &carrier, &pc_getter, &ctx);
		assert_int_equal(sr_baggage_count(&ctx), vlen == 4093 ? 3 : 2);
		assert_int_equal(sr_baggage_get(&ctx, "big", NULL, 0, &len),
				 vlen == 4093 ? 0 : SR_ENOTFOUND);
		assert_int_equal(len, vlen == 4093 ? 4093 : 0);
	}
	/* The limit is on decoded bytes: 2000 bytes sent as 6000 fit. */
	{
		static char g[3 * 2000 + 8];
		strcpy(g, "big=");
		for (int i = 0; i < 2000; i++)
			memcpy(g + 4 + 3 * i, "%78", 3);
		g[4 + 3 * 2000] = '\0';
		pc_reset(&carrier);
		pc_add(&carrier, "baggage", g);
		sr_propagator_extract(bg, &carrier, &pc_getter, &ctx);
		assert_int_equal(sr_baggage_get(&ctx, "big", NULL, 0, &len), 0);
		assert_int_equal(len, 2000);
	}
}

/* The field limit: 8192 bytes accepted, 8193 rejected unread. */
static void test_field_limit(void **state)
{
	static char f[SR_PROP_BAGGAGE_MAX + 2];
	const char *lines[] = { f, NULL };
	sr_propagation_stats_t a = { .size = sizeof(a) }, b = { .size = sizeof(b) };

	(void)state;
	memset(f, ' ', SR_PROP_BAGGAGE_MAX + 1);
	memcpy(f, "k=v", 3);
	f[SR_PROP_BAGGAGE_MAX] = '\0';
	assert_string_equal(ext(lines, NULL), "k=v");
	f[SR_PROP_BAGGAGE_MAX] = ' ';
	f[SR_PROP_BAGGAGE_MAX + 1] = '\0';
	sr_propagation_stats_get(&a);
	assert_string_equal(ext(lines, NULL), "");
	sr_propagation_stats_get(&b);
	assert_int_equal(b.oversized[SR_PF_BAGGAGE] - a.oversized[SR_PF_BAGGAGE], 1);
}

static void test_api(void **state)
{
	sr_context_t c0, c1, c2, c3;
	char buf[64];
	size_t len;

	(void)state;
	memset(&c0, 0, sizeof(c0));
	assert_int_equal(sr_baggage_count(&c0), 0);
	assert_int_equal(sr_baggage_foreach(&c0, dump_cb, NULL), SR_ENOTFOUND);
	assert_int_equal(sr_baggage_set(&c0, "user", "alice",
					SR_CARRIER_LEN_CSTR, NULL, &c1), 0);
	assert_int_equal(sr_baggage_set(&c1, "tier", "gold", 4, "p;q=1", &c2), 0);
	assert_int_equal(sr_baggage_set(&c2, "user", "bob", 3, NULL, &c3), 0);
	assert_string_equal(dump(&c1), "user=alice");
	assert_string_equal(dump(&c2), "user=alice|tier=gold;p;q=1");
	assert_string_equal(dump(&c3), "tier=gold;p;q=1|user=bob");
	assert_int_equal(sr_baggage_get(&c2, "user", buf, sizeof(buf), &len), 0);
	assert_string_equal(buf, "alice");
	assert_int_equal(len, 5);
	assert_int_equal(sr_baggage_get(&c3, "user", buf, 3, &len), SR_ELIMIT);
	assert_string_equal(buf, "bo");
	assert_int_equal(len, 3);
	assert_int_equal(sr_baggage_get(&c3, "nope", buf, sizeof(buf), &len),
			 SR_ENOTFOUND);
	/* Remove. */
	assert_int_equal(sr_baggage_remove(&c3, "tier", &c2), 0);
	assert_string_equal(dump(&c2), "user=bob");
	assert_int_equal(sr_baggage_remove(&c2, "tier", &c1), SR_ENOTFOUND);
	assert_int_equal(sr_baggage_remove(&c2, "user", &c1), 0);
	assert_int_equal(c1.state_[1], 0);
	/* Validation. */
	assert_int_equal(sr_baggage_set(&c0, "bad key", "v", 1, NULL, &c1),
			 SR_EINVAL);
	assert_int_equal(sr_baggage_set(&c0, "", "v", 1, NULL, &c1), SR_EINVAL);
	assert_int_equal(sr_baggage_set(&c0, "k", "v", 1, "p q", &c1), SR_EINVAL);
	assert_int_equal(sr_baggage_set(&c0, "k", "v", 1, ";", &c1), SR_EINVAL);
	/* Ids and trace state are left alone. */
	c0.trace_id[0] = 7;
	c0.state_[0] = 99;
	assert_int_equal(sr_baggage_set(&c0, "k", "v", 1, NULL, &c1), 0);
	assert_int_equal(c1.trace_id[0], 7);
	assert_int_equal(c1.state_[0], 99);
}

static void test_api_limits(void **state)
{
	static char big[SR_BAGGAGE_MAX_ENTRY_BYTES + 1];
	sr_context_t c;
	char k[16];

	(void)state;
	memset(&c, 0, sizeof(c));
	memset(big, 'v', sizeof(big));
	assert_int_equal(sr_baggage_set(&c, "k", big, SR_BAGGAGE_MAX_ENTRY_BYTES,
					NULL, &c), SR_ELIMIT);
	assert_int_equal(sr_baggage_set(&c, "k", big,
					SR_BAGGAGE_MAX_ENTRY_BYTES - 1, NULL, &c), 0);
	memset(&c, 0, sizeof(c));
	for (int i = 0; i < SR_BAGGAGE_MAX_ENTRIES; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		assert_int_equal(sr_baggage_set(&c, k, "1", 1, NULL, &c), 0);
	}
	assert_int_equal(sr_baggage_set(&c, "one-more", "1", 1, NULL, &c),
			 SR_ELIMIT);
	assert_int_equal(sr_baggage_count(&c), SR_BAGGAGE_MAX_ENTRIES);
	/* Replacing an existing key is not growth. */
	assert_int_equal(sr_baggage_set(&c, "k0", "2", 1, NULL, &c), 0);
}

/* Arbitrary bytes survive inject -> extract; the field is encoded as the
 * spec's example shows. */
static void test_inject_roundtrip(void **state)
{
	static const char weird[] = "a b,c;d=e%f\"g\\h\x01\xff\0z";
	sr_context_t c, d;
	char buf[64];
	size_t len;

	(void)state;
	memset(&c, 0, sizeof(c));
	sr_baggage_set(&c, "userId", "alice", 5, NULL, &c);
	sr_baggage_set(&c, "serverNode", "DF 28", 5, NULL, &c);
	sr_baggage_set(&c, "isProduction", "false", 5, NULL, &c);
	pc_reset(&out);
	sr_propagator_inject(bg, &c, &out, pc_set);
	assert_string_equal(pc_find(&out, "baggage", NULL),
			    "userId=alice,serverNode=DF%2028,isProduction=false");

	memset(&c, 0, sizeof(c));
	sr_baggage_set(&c, "w", weird, sizeof(weird) - 1, "p;q=1", &c);
	pc_reset(&out);
	sr_propagator_inject(bg, &c, &out, pc_set);
	assert_string_equal(pc_find(&out, "baggage", NULL),
			    "w=a%20b%2Cc%3Bd=e%25f%22g%5Ch%01%FF%00z;p;q=1");
	assert_int_equal(sr_propagator_extract(bg, &out, &pc_getter, &d),
			 SR_ENOTFOUND);
	assert_int_equal(sr_baggage_get(&d, "w", buf, sizeof(buf), &len), 0);
	assert_int_equal(len, sizeof(weird) - 1);
	assert_memory_equal(buf, weird, len);
}

/* Entries that would push the field past 8192 bytes are left out. */
static void test_inject_limit(void **state)
{
	static char pct[3000];
	sr_propagation_stats_t a = { .size = sizeof(a) }, b = { .size = sizeof(b) };
	sr_context_t c, d;
	size_t len;

	(void)state;
	memset(pct, '%', sizeof(pct));  /* 3000 bytes -> 9000 encoded */
	memset(&c, 0, sizeof(c));
	sr_baggage_set(&c, "a", "1", 1, NULL, &c);
	sr_baggage_set(&c, "big", pct, sizeof(pct), NULL, &c);
	sr_baggage_set(&c, "b", "2", 1, NULL, &c);
	sr_propagation_stats_get(&a);
	pc_reset(&out);
	sr_propagator_inject(bg, &c, &out, pc_set);
	sr_propagation_stats_get(&b);
	assert_string_equal(pc_find(&out, "baggage", &len), "a=1,b=2");
	assert_int_equal(b.inject_baggage_dropped - a.inject_baggage_dropped, 1);
	sr_propagator_extract(bg, &out, &pc_getter, &d);
	assert_string_equal(dump(&d), "a=1|b=2");
}

/* Baggage travels with the context into child spans. */
static void test_children_inherit(void **state)
{
	sr_context_t c, cc, gc;
	sr_span_t s1, s2;
	sr_scope_t sc;
	char buf[16];

	(void)state;
	assert_int_equal(sr_test_init_memory(NULL), 0);
	pc_reset(&carrier);
	pc_add(&carrier, "traceparent",
	       "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	pc_add(&carrier, "baggage", "tenant=acme");
	assert_int_equal(sr_propagator_extract(sr_propagator_from_env(),
					       &carrier, &pc_getter, &c), 0);
	sr_span_start_ex(&s1, NULL, "server", SR_KIND_SERVER, &c, 0, 0);
	cc = sr_span_context(&s1);
	sc = sr_scope_enter(&s1);
	sr_span_start(&s2, NULL, "child", SR_KIND_INTERNAL);
	gc = sr_span_context(&s2);
	assert_int_equal(sr_baggage_get(&cc, "tenant", buf, sizeof(buf), NULL), 0);
	assert_string_equal(buf, "acme");
	assert_int_equal(sr_baggage_get(&gc, "tenant", buf, sizeof(buf), NULL), 0);
	assert_string_equal(buf, "acme");
	sr_span_end(&s2);
	sr_scope_exit(sc);
	sr_span_end(&s1);
	/* And out again on the next hop. */
	pc_reset(&out);
	sr_propagator_inject(sr_propagator_from_env(), &gc, &out, pc_set);
	assert_string_equal(pc_find(&out, "baggage", NULL), "tenant=acme");
	assert_int_equal(sr_shutdown(5000, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_malformed_counted),
		cmocka_unit_test(test_entry_limit),
		cmocka_unit_test(test_entry_size_limit),
		cmocka_unit_test(test_field_limit),
		cmocka_unit_test(test_api),
		cmocka_unit_test(test_api_limits),
		cmocka_unit_test(test_inject_roundtrip),
		cmocka_unit_test(test_inject_limit),
		cmocka_unit_test(test_children_inherit),
	};

	unsetenv("OTEL_PROPAGATORS");
	if (sr_propagator_create("baggage", &bg) != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
