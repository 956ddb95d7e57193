/*
 * test_redact.c - the redact processor (processors/redact.c): the
 * default rule set over every attribute location (span, event, link),
 * names with "names", allow lists, per-rule counts, Luhn, the rule file
 * and its errors, that a bad rule stops sr_init() naming the rule, and
 * that the prefilter in front of PCRE2 never skips a value a pattern
 * matches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "redact_int.h"
#include "testutil.h"

static const char *rules, *rules_file;
static void tweak(sr_config_t *c)
{
	c->processors = "redact";
	c->redact_rules = rules;
	c->redact_config = rules_file;
}

static bool str_is(sr_str_t s, const char *n)
{
	return s.len == strlen(n) && !memcmp(s.ptr, n, s.len);
}

static const sr_attr_view_t *find(const sr_attr_view_t *a, uint32_t n,
				  const char *key)
{
	for (uint32_t i = 0; i < n; i++)
		if (str_is(a[i].key, key))
			return &a[i];
	return NULL;
}

static uint64_t rule_count(const char *name)
{
	sr_processor_stats_t ps = { .size = sizeof(ps) };

	for (uint32_t k = 0;; k++) { /* redact's, wherever in the chain */
		assert_int_equal(sr_stats_processor(k, &ps), 0);
		if (!strcmp(ps.name, "redact"))
			break;
	}
	for (uint32_t i = 0; i < ps.nrules; i++)
		if (!strcmp(ps.rules[i].name, name))
			return ps.rules[i].noted;
	return 0;
}

/* One span with secrets in every place an attribute can be. */
static void record_secrets(void)
{
	const sr_tracer_t *t = sr_tracer_get("test", "1");
	sr_context_t other;
	sr_span_t s, o;
	const sr_attr_t ev[] = {
		SR_ATTR_STR_("user.email", "mail bob.smith@example.co.uk now"),
		SR_ATTR_STR_("http.request.header.cookie", "sid=abc"),
		SR_ATTR_INT_("n", 3),
	};
	const sr_attr_t ln[] = {
		SR_ATTR_STR_("auth", "Bearer eyJhbGciOi.J9xyz"),
	};

	sr_span_start(&o, t, "other", SR_KIND_INTERNAL);
	other = sr_span_context(&o);
	sr_span_end(&o);
	sr_span_start(&s, t, "GET /users/alice@example.com", SR_KIND_SERVER);
	sr_span_set_str(&s, "http.request.header.authorization", "Basic dXNlcjpwYXNz");
	sr_span_set_str(&s, "http.request.method", "GET");
	sr_span_set_str(&s, "note", "card 4111 1111 1111 1111 and 4111 1111 1111 1112");
	sr_span_set_str(&s, "db.password", "x");
	sr_span_set_int(&s, "http.response.status_code", 200);
	sr_span_add_event(&s, "sent to carol@example.org", 0, ev, 3);
	sr_span_add_link(&s, &other, ln, 1);
	sr_span_end(&s);
}

static void test_defaults_everywhere(void **state)
{
	const sr_span_data_t *d;
	const sr_attr_view_t *a;
	sr_stats_t st = { .size = sizeof(st) };

	(void)state;
	rules = NULL;
	rules_file = NULL;
	assert_int_equal(sr_test_init_memory(tweak), 0);
	record_secrets();
	assert_int_equal(sr_flush(5000, NULL), 0);
	assert_non_null(d = sr_test_find_span("GET /users/alice@example.com"));
	/* Span attributes: denied keys gone, values masked, others kept. */
	assert_null(find(d->attrs, d->attr_count, "http.request.header.authorization"));
	assert_null(find(d->attrs, d->attr_count, "db.password"));
	assert_non_null(a = find(d->attrs, d->attr_count, "http.request.method"));
	assert_true(str_is(a->v.s, "GET"));
	assert_non_null(a = find(d->attrs, d->attr_count, "note"));
	/* The first number passes Luhn, the second does not. */
	assert_true(str_is(a->v.s, "card **** and 4111 1111 1111 1112"));
	assert_non_null(a = find(d->attrs, d->attr_count, "http.response.status_code"));
	assert_int_equal(a->v.i, 200);
	/* Event attributes. */
	assert_int_equal(d->event_count, 1);
	assert_int_equal(d->events[0].attr_count, 2);
	assert_non_null(a = find(d->events[0].attrs, 2, "user.email"));
	assert_true(str_is(a->v.s, "mail **** now"));
	assert_null(find(d->events[0].attrs, 2, "http.request.header.cookie"));
	/* Link attributes. */
	assert_int_equal(d->link_count, 1);
	assert_non_null(a = find(d->links[0].attrs, d->links[0].attr_count, "auth"));
	assert_true(str_is(a->v.s, "****"));
	/* Names are left alone without "names". */
	assert_true(str_is(d->events[0].name, "sent to carol@example.org"));

	assert_int_equal(rule_count("deny:*authorization*"), 1);
	assert_int_equal(rule_count("deny:*cookie*"), 1);
	assert_int_equal(rule_count("deny:*password*"), 1);
	assert_int_equal(rule_count("email"), 1);
	assert_int_equal(rule_count("bearer"), 1);
	assert_int_equal(rule_count("card"), 1);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(sr_test_check_invariant(&st), 0);
	assert_int_equal(st.dropped_processor, 0);
	sr_memory_clear();
}

/* redact copies a span's attributes only once one changes: the ones
 * before a change come along, in order; a span whose only change is in
 * an event keeps its own attributes as they were. */
static void test_copies_from_first_change(void **state)
{
	const sr_tracer_t *t;
	const sr_span_data_t *d;
	const sr_attr_t ev[] = {
		SR_ATTR_INT_("n", 1),
		SR_ATTR_STR_("cookie", "sid=abc"),
	};
	sr_span_t s;

	(void)state;
	rules = "defaults";
	rules_file = NULL;
	assert_int_equal(sr_test_init_memory(tweak), 0);
	t = sr_tracer_get("test", "1");
	sr_span_start(&s, t, "ev-only", SR_KIND_INTERNAL);
	sr_span_set_str(&s, "a", "plain value");
	sr_span_set_int(&s, "b", 2);
	sr_span_add_event(&s, "e", 0, ev, 2);
	sr_span_end(&s);
	sr_span_start(&s, t, "mid", SR_KIND_INTERNAL);
	sr_span_set_str(&s, "k1", "v1");
	sr_span_set_str(&s, "cookie", "x");
	sr_span_set_str(&s, "k3", "mail a@b.io now");
	sr_span_set_int(&s, "k4", 4);
	sr_span_end(&s);
	assert_int_equal(sr_flush(5000, NULL), 0);

	assert_non_null(d = sr_test_find_span("ev-only"));
	assert_int_equal(d->attr_count, 2);
	assert_true(str_is(d->attrs[0].key, "a") && str_is(d->attrs[0].v.s, "plain value"));
	assert_true(str_is(d->attrs[1].key, "b") && d->attrs[1].v.i == 2);
	assert_int_equal(d->events[0].attr_count, 1);
	assert_true(str_is(d->events[0].attrs[0].key, "n"));

	assert_non_null(d = sr_test_find_span("mid"));
	assert_int_equal(d->attr_count, 3);
	assert_true(str_is(d->attrs[0].key, "k1") && str_is(d->attrs[0].v.s, "v1"));
	assert_true(str_is(d->attrs[1].key, "k3") &&
		    str_is(d->attrs[1].v.s, "mail **** now"));
	assert_true(str_is(d->attrs[2].key, "k4") && d->attrs[2].v.i == 4);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	sr_memory_clear();
}

static void test_names_and_allow(void **state)
{
	const sr_span_data_t *d;

	(void)state;
	rules = "# only these keys leave the process\n"
		"allow http.*\n"
		"allow note\n"
		"names\n"
		"mask email [a-z.]+@[a-z.]+\n";
	rules_file = NULL;
	assert_int_equal(sr_test_init_memory(tweak), 0);
	record_secrets();
	assert_int_equal(sr_flush(5000, NULL), 0);
	assert_non_null(d = sr_test_find_span("GET /users/****"));
	/* no deny rules here: the authorization header is allowed by http.* */
	assert_non_null(find(d->attrs, d->attr_count, "http.request.header.authorization"));
	assert_non_null(find(d->attrs, d->attr_count, "note"));
	assert_null(find(d->attrs, d->attr_count, "db.password"));
	assert_int_equal(d->events[0].attr_count, 1); /* the cookie header */
	assert_true(str_is(d->events[0].name, "sent to ****"));
	assert_int_equal(d->links[0].attr_count, 0);
	assert_int_equal(rule_count("not_allowed"), 4); /* password, email, n, auth */
	assert_int_equal(rule_count("email"), 2);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	sr_memory_clear();
}

static void expect_bad(const char *r, const char *needle)
{
	rules = r;
	rules_file = NULL;
	assert_int_equal(sr_test_init_memory(tweak), SR_EINVAL);
	assert_false(sr_is_running());
	if (!strstr(sr_last_error(), needle))
		fail_msg("'%s' not in '%s'", needle, sr_last_error());
}

static void test_bad_rules_fail_init(void **state)
{
	(void)state;
	expect_bad("deny x\nmask card [0-9", "processor 'redact': rule 'mask card [0-9' "
		   "(redact_rules line 2): pattern error at offset 4: missing terminating ]");
	expect_bad("maks x y", "rule 'maks x y' (redact_rules line 1): unknown rule 'maks'");
	expect_bad("deny a b", "rule 'deny a b' (redact_rules line 1): expected one key pattern");
	expect_bad("mask onlyname", "expected a name");
	expect_bad("defaults please", "'defaults' takes no argument");
}

static void test_config_file(void **state)
{
	char dir[256], path[300];
	FILE *f;

	(void)state;
	assert_int_equal(sr_test_mkdtemp(dir, sizeof(dir), "redact"), 0);
	snprintf(path, sizeof(path), "%s/rules", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("defaults\n\n# extra\nmask ssn \\b\\d{3}-\\d{2}-\\d{4}\\b\nluhn bad (\n", f);
	fclose(f);
	rules = NULL;
	rules_file = path;
	assert_int_equal(sr_test_init_memory(tweak), SR_EINVAL);
	assert_non_null(strstr(sr_last_error(), "line 5"));
	assert_non_null(strstr(sr_last_error(), "SPANRING_REDACT_CONFIG="));

	assert_non_null(f = fopen(path, "w"));
	fputs("defaults\nmask ssn \\b\\d{3}-\\d{2}-\\d{4}\\b\n", f);
	fclose(f);
	assert_int_equal(sr_test_init_memory(tweak), 0);
	{
		const sr_tracer_t *t = sr_tracer_get("test", "1");
		sr_span_t s;
		const sr_span_data_t *d;

		sr_span_start(&s, t, "s", SR_KIND_INTERNAL);
		sr_span_set_str(&s, "x", "ssn 123-45-6789, mail a@b.io");
		sr_span_end(&s);
		assert_int_equal(sr_flush(5000, NULL), 0);
		assert_non_null(d = sr_test_find_span("s"));
		assert_true(str_is(d->attrs[0].v.s, "ssn ****, mail ****"));
	}
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	sr_memory_clear();

	rules_file = "/nonexistent/rules";
	assert_int_equal(sr_test_init_memory(tweak), SR_EINVAL);
	assert_non_null(strstr(sr_last_error(),
			       "SPANRING_REDACT_CONFIG=/nonexistent/rules: cannot read"));
	rules_file = NULL;
	sr_test_rmtree(dir);
}

static void test_luhn(void **state)
{
	(void)state;
	assert_true(sr__luhn_ok("4111111111111111", 16));
	assert_true(sr__luhn_ok("4111-1111-1111-1111", 19));
	assert_true(sr__luhn_ok("378282246310005", 15));
	assert_false(sr__luhn_ok("4111111111111112", 16));
	assert_false(sr__luhn_ok("411111111111", 12)); /* too short */
	assert_false(sr__luhn_ok("4111x11111111111", 16));
}

/* A clean value seen again comes from the cache, a dirty one never. */
static void test_cache_does_not_hide(void **state)
{
	const sr_tracer_t *t;

	(void)state;
	rules = "defaults";
	rules_file = NULL;
	assert_int_equal(sr_test_init_memory(tweak), 0);
	t = sr_tracer_get("test", "1");
	for (int i = 0; i < 3; i++) {
		sr_span_t s;

		sr_span_start(&s, t, i == 1 ? "dirty" : "clean", SR_KIND_INTERNAL);
		sr_span_set_str(&s, "v", i == 1 ? "x@y.io" : "x-y.io");
		sr_span_end(&s);
	}
	assert_int_equal(sr_flush(5000, NULL), 0);
	assert_int_equal(rule_count("email"), 1);
	assert_true(str_is(sr_test_find_span("dirty")->attrs[0].v.s, "****"));
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	sr_memory_clear();
}

/* Two keys alike but for byte 8 (which sr__hash_sketch does not read:
 * it reads bytes 0-7, 11-18 and 22-29 of a 30-byte key): each must get
 * its own verdict, whichever came first. */
static void test_key_cache_tells_alike_keys_apart(void **state)
{
	static const char ka[] = "abcdefghQxxmmmmmmmmyyyzzzzzzzz";
	static const char kb[] = "abcdefghRxxmmmmmmmmyyyzzzzzzzz";
	const sr_tracer_t *t;
	const sr_span_data_t *d;

	(void)state;
	assert_int_equal(sizeof(ka) - 1, 30);
	rules = "deny *Q*";
	rules_file = NULL;
	assert_int_equal(sr_test_init_memory(tweak), 0);
	t = sr_tracer_get("test", "1");
	for (int i = 0; i < 4; i++) {
		sr_span_t s;

		sr_span_start(&s, t, i & 1 ? "b-first" : "a-first", SR_KIND_INTERNAL);
		sr_span_set_int(&s, i & 1 ? kb : ka, 1);
		sr_span_set_int(&s, i & 1 ? ka : kb, 2);
		sr_span_end(&s);
		assert_int_equal(sr_flush(5000, NULL), 0);
	}
	assert_int_equal(rule_count("deny:*Q*"), 4);
	for (size_t i = 0; i < sr_memory_count(); i++) {
		d = sr_memory_get(i);
		assert_int_equal(d->attr_count, 1);
		assert_true(str_is(d->attrs[0].key, kb));
	}
	assert_int_equal(sr_memory_count(), 4);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	sr_memory_clear();
}

/* An earlier processor that gives attribute 0 a key of its own, copied
 * into the batch's arena first thing (so at the arena's start: the same
 * address in every batch that holds one span): "cookie" or "bakery" (the
 * same length) as the span's name says. */
static void t_rekey(void *st, sr_proc_batch_t *pb)
{
	(void)st;
	for (size_t i = 0; i < sr_proc_count(pb); i++) {
		sr_span_data_t s = { .size = sizeof(s) };
		sr_attr_view_t a;
		char *k = sr_proc_alloc(pb, 6);

		assert_non_null(k);
		assert_int_equal(sr_proc_span(pb, i, &s), 0);
		memcpy(k, str_is(s.name, "c") ? "cookie" : "bakery", 6);
		a = s.attrs[0];
		a.key.ptr = k;
		a.key.len = 6;
		s.attrs = &a;
		s.attr_count = 1;
		assert_int_equal(sr_proc_span_set(pb, i, &s), 0);
	}
}

static int t_rekey_init(void *ud, const sr_config_t *c, void **st, char *e,
			size_t n)
{
	(void)ud, (void)c, (void)e, (void)n;
	*st = NULL;
	return 0;
}

static void t_rekey_shutdown(void *st) { (void)st; }

static const sr_processor_ops_t rekey_ops = {
	.size = sizeof(sr_processor_ops_t),
	.abi_version = SR_PROCESSOR_ABI_VERSION,
	.name = "t_rekey",
	.init = t_rekey_init,
	.process = t_rekey,
	.shutdown = t_rekey_shutdown,
};

static void tweak_rekey(sr_config_t *c)
{
	tweak(c);
	c->processors = "t_rekey,redact";
}

/* Keys are cached by address: a key at an address that held another key
 * before (a batch arena's start, batch after batch) must get its own
 * verdict, not the one of the bytes that were there. */
static void test_key_cache_tells_keys_at_one_address_apart(void **state)
{
	const sr_tracer_t *t;
	size_t kept = 0;

	(void)state;
	assert_int_equal(sr_processor_register(&rekey_ops, NULL), 0);
	rules = "defaults";
	rules_file = NULL;
	assert_int_equal(sr_test_init_memory(tweak_rekey), 0);
	t = sr_tracer_get("test", "1");
	/* Runs of three: whichever batch the pool hands out, its arena's
	 * start holds each key in turn. */
	for (int i = 0; i < 24; i++) {
		sr_span_t s;

		sr_span_start(&s, t, (i / 3) & 1 ? "c" : "b", SR_KIND_INTERNAL);
		sr_span_set_int(&s, "k", i);
		sr_span_end(&s);
		assert_int_equal(sr_flush(5000, NULL), 0);
	}
	assert_int_equal(sr_memory_count(), 24);
	for (size_t i = 0; i < sr_memory_count(); i++) {
		const sr_span_data_t *d = sr_memory_get(i);

		if (str_is(d->name, "c")) {
			assert_int_equal(d->attr_count, 0);
		} else {
			assert_int_equal(d->attr_count, 1);
			assert_true(str_is(d->attrs[0].key, "bakery"));
			kept++;
		}
	}
	assert_int_equal(kept, 12);
	assert_int_equal(rule_count("deny:*cookie*"), 12);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	sr_memory_clear();
}

/* Patterns with every kind of need PCRE2 reports (first and last code
 * unit, caseless or not, a start bitmap, a least length) and the
 * constructs that could fool a careless one (look-around, (*ACCEPT),
 * anchors, empty matches, bytes past ASCII). */
static const char prefilter_rules[] =
	"defaults\n"
	"mask p_ci (?i)secret\n"
	"mask p_tok token=\\w+\n"
	"mask p_uuid [0-9a-f]{8}-[0-9a-f]{4}\n"
	"mask p_behind (?<=@)[a-z]+\n"
	"mask p_ahead foo(?=bar)\n"
	"mask p_accept a(*ACCEPT)zzz\n"
	"mask p_anchor ^key:\n"
	"mask p_alt (?i:AbC|aXy)d\n"
	"mask p_digits \\d{3,}x?\n"
	"mask p_byte (?i)\xc3\xa9|Z\n"
	"mask p_empty x*\n"
	"mask p_multi (?m)^end$\n"
	"mask p_class (?i)[k-m]{2}q\n";

/* Pieces that match some pattern, spliced into random text. */
static const char *const prefilter_pieces[] = {
	"Secret", "sEcReT", "token=ab", "deadbeef-12ab", "@abc", "foobar",
	"azzz", "a", "key:", "aXyd", "ABCD", "123", "9999x", "\xc3\xa9", "Z",
	"\nend\n", "end", "KlQ", "lmq", "Bearer abc", "basic Zm9v",
	"ann@example.com", "a@b.io", "4111 1111 1111 1111", "4111-1111-1111-1111",
};

/* Seeded: random values, many holding a piece of a match, each run
 * through every pattern and its prefilter.  A value a pattern matches
 * must pass the prefilter; the prefilter must also turn away values (or
 * it checks nothing) and every pattern must match some (or this test
 * checks nothing). */
static void test_prefilter_never_skips_a_match(void **state)
{
	static const char alphabet[] =
		"secrtSECRTokn=_wx0123456789abcdefABCDEF-@foobarzkey:AXYdqKLMQ.\n \t*";
	struct sr__redact_rules rs;
	uint64_t rng = sr_test_seed(13), matched[SR__REDACT_MAX_RULES] = { 0 };
	uint64_t skipped = 0, passed = 0;
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	char err[200] = "", v[96];

	(void)state;
	memset(&rs, 0, sizeof(rs));
	assert_int_equal(sr__redact_parse(&rs, prefilter_rules, "test", err,
					  sizeof(err)), 0);
	assert_int_equal(sr__redact_finish(&rs, err, sizeof(err)), 0);
	for (int it = 0; it < 40000; it++) {
		size_t len = sr_test_rand(&rng) % 48, at;

		for (size_t k = 0; k < len; k++) {
			uint64_t x = sr_test_rand(&rng);

			v[k] = x % 8 ? alphabet[(x >> 8) % (sizeof(alphabet) - 1)]
				     : (char)(x >> 16);
		}
		if (sr_test_rand(&rng) % 2) {
			const char *p = prefilter_pieces[sr_test_rand(&rng) %
				(sizeof(prefilter_pieces) / sizeof(*prefilter_pieces))];
			size_t pl = strlen(p);

			at = len ? sr_test_rand(&rng) % (len + 1) : 0;
			if (at + pl > sizeof(v))
				at = sizeof(v) - pl;
			memcpy(v + at, p, pl);
			if (at + pl > len)
				len = at + pl;
		}
		for (uint32_t r = 0; r < rs.n; r++) {
			bool may;

			if (!rs.r[r].re)
				continue;
			may = sr__redact_may_match(&rs.r[r].need, v, len);
			if (pcre2_match(rs.r[r].re, (PCRE2_SPTR)v, len, 0, 0, md,
					NULL) >= 0) {
				matched[r]++;
				if (!may)
					fail_msg("rule %s matches '%.*s' but its "
						 "prefilter skips it",
						 rs.r[r].name, (int)len, v);
			}
			if (may)
				passed++;
			else
				skipped++;
		}
	}
	for (uint32_t r = 0; r < rs.n; r++)
		if (rs.r[r].re && !matched[r])
			fail_msg("rule %s never matched: the test checks nothing "
				 "for it", rs.r[r].name);
	assert_true(skipped > passed / 4);
	pcre2_match_data_free(md);
	sr__redact_free(&rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_everywhere),
		cmocka_unit_test(test_copies_from_first_change),
		cmocka_unit_test(test_names_and_allow),
		cmocka_unit_test(test_bad_rules_fail_init),
		cmocka_unit_test(test_config_file),
		cmocka_unit_test(test_luhn),
		cmocka_unit_test(test_cache_does_not_hide),
		cmocka_unit_test(test_prefilter_never_skips_a_match),
		cmocka_unit_test(test_key_cache_tells_alike_keys_apart),
		cmocka_unit_test(test_key_cache_tells_keys_at_one_address_apart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
