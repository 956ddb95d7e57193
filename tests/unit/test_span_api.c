/*
 * test_span_api.c - span semantics end to end through the memory
 * exporter: ids and parenting, attributes, limits and truncation, events,
 * links, status, names, large spans spread over overflow chunks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

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

static void flush(void)
{
	assert_int_equal(sr_flush(10000, NULL), 0);
}

static const sr_attr_view_t *attr(const sr_span_data_t *s, const char *key)
{
	for (uint32_t i = 0; i < s->attr_count; i++)
		if (s->attrs[i].key.len == strlen(key) &&
		    !memcmp(s->attrs[i].key.ptr, key, s->attrs[i].key.len))
			return &s->attrs[i];
	return NULL;
}

static void assert_str(sr_str_t s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.ptr, want, s.len);
}

static void test_parent_child_ids_follow_scopes(void **state)
{
	sr_span_t root, child, other;
	sr_scope_t sc;
	sr_context_t rc, cc;

	(void)state;
	sr_span_start(&root, NULL, "root", SR_KIND_SERVER);
	sc = sr_scope_enter(&root);
	sr_span_start(&child, NULL, "child", SR_KIND_CLIENT);
	assert_int_equal(sr_scope_exit(sc), 0);
	sr_span_start(&other, NULL, "other", SR_KIND_INTERNAL);
	rc = sr_span_context(&root);
	cc = sr_span_context(&child);
	sr_span_end(&child);
	sr_span_end(&other);
	sr_span_end(&root);
	flush();

	const sr_span_data_t *r = sr_test_find_span("root");
	const sr_span_data_t *c = sr_test_find_span("child");
	const sr_span_data_t *o = sr_test_find_span("other");
	assert_non_null(r);
	assert_non_null(c);
	assert_non_null(o);
	assert_memory_equal(c->trace_id, r->trace_id, 16);
	assert_memory_equal(c->parent_span_id, r->span_id, 8);
	assert_memory_equal(r->span_id, rc.span_id, 8);
	assert_memory_equal(c->span_id, cc.span_id, 8);
	assert_memory_not_equal(c->span_id, r->span_id, 8);
	static const uint8_t zero[16];
	assert_memory_equal(r->parent_span_id, zero, 8);
	/* Out of scope: a new trace. */
	assert_memory_not_equal(o->trace_id, r->trace_id, 16);
	assert_memory_equal(o->parent_span_id, zero, 8);
	assert_int_equal(r->kind, SR_KIND_SERVER);
	assert_int_equal(c->kind, SR_KIND_CLIENT);
	assert_true(c->start_ns >= r->start_ns);
	assert_true(r->end_ns >= c->end_ns);
	assert_true(c->end_ns >= c->start_ns);
}

static void test_explicit_parent_and_root_flag(void **state)
{
	sr_span_t a, b, c;
	sr_context_t ctx;
	sr_scope_t sc;

	(void)state;
	sr_span_start(&a, NULL, "a", SR_KIND_INTERNAL);
	ctx = sr_span_context(&a);
	sr_span_end(&a);
	/* Explicit parent, even from a "remote" context. */
	ctx.remote = 1;
	sr_span_start_ex(&b, NULL, "b", SR_KIND_SERVER, &ctx, 0, 0);
	sc = sr_scope_enter(&b);
	sr_span_start_ex(&c, NULL, "c", SR_KIND_INTERNAL, NULL, 0, SR_SPAN_ROOT);
	sr_scope_exit(sc);
	sr_span_end(&c);
	sr_span_end(&b);
	flush();
	const sr_span_data_t *sa = sr_test_find_span("a");
	const sr_span_data_t *sb = sr_test_find_span("b");
	const sr_span_data_t *sc2 = sr_test_find_span("c");
	assert_memory_equal(sb->parent_span_id, sa->span_id, 8);
	assert_true(sb->parent_remote);
	assert_memory_not_equal(sc2->trace_id, sa->trace_id, 16);
}

static void test_explicit_times_and_end_clamped(void **state)
{
	sr_span_t s;

	(void)state;
	sr_span_start_ex(&s, NULL, "timed", SR_KIND_INTERNAL, NULL, 5000, 0);
	sr_span_end_at(&s, 7000);
	sr_span_start_ex(&s, NULL, "backwards", SR_KIND_INTERNAL, NULL, 9000, 0);
	sr_span_end_at(&s, 100);
	flush();
	assert_int_equal(sr_test_find_span("timed")->start_ns, 5000);
	assert_int_equal(sr_test_find_span("timed")->end_ns, 7000);
	assert_int_equal(sr_test_find_span("backwards")->end_ns, 9000);
}

static void test_attributes_all_types_last_value_wins(void **state)
{
	sr_span_t s;
	char dyn[64];

	(void)state;
	sr_span_start(&s, NULL, "attrs", SR_KIND_INTERNAL);
	sr_span_set_int(&s, "i", -42);
	sr_span_set_bool(&s, "b", true);
	sr_span_set_double(&s, "d", 2.5);
	strcpy(dyn, "short");
	sr_span_set_str(&s, "s", dyn);
	strcpy(dyn, "a copied string longer than eight bytes");
	sr_span_set_str(&s, "long", dyn);
	memset(dyn, 'X', sizeof(dyn) - 1); /* copies must not alias */
	sr_span_set_str_static(&s, "st", "static value");
	sr_span_set_int(&s, "i", 7);
	sr_span_end(&s);
	flush();

	const sr_span_data_t *d = sr_test_find_span("attrs");
	assert_int_equal(d->attr_count, 6);
	assert_int_equal(attr(d, "i")->type, SR_ATTR_INT);
	assert_int_equal(attr(d, "i")->v.i, 7);
	assert_true(attr(d, "b")->v.b);
	assert_true(attr(d, "d")->v.d == 2.5);
	assert_str(attr(d, "s")->v.s, "short");
	assert_str(attr(d, "long")->v.s, "a copied string longer than eight bytes");
	assert_str(attr(d, "st")->v.s, "static value");
}

/* The exporters' view dedupes keys by content: a key set again through
 * another pointer to the same text replaces the value, and many distinct
 * keys (more than the 64 bits of the decoder's key filter, so some share
 * a bit) are all kept. */
static void test_attribute_keys_compared_by_content(void **state)
{
	static char keys[80][8];
	static char b_again[] = "b";
	sr_span_t s;

	(void)state;
	sr_span_start(&s, NULL, "keys", SR_KIND_INTERNAL);
	sr_span_set_bool(&s, "b", true);
	for (int i = 0; i < 80; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		sr_span_set_int(&s, keys[i], i);
	}
	sr_span_set_int(&s, b_again, 9);
	sr_span_end(&s);
	flush();

	const sr_span_data_t *d = sr_test_find_span("keys");
	assert_int_equal(d->attr_count, 81);
	assert_int_equal(attr(d, "b")->type, SR_ATTR_INT);
	assert_int_equal(attr(d, "b")->v.i, 9);
	for (int i = 0; i < 80; i++)
		assert_int_equal(attr(d, keys[i])->v.i, i);
}

static void test_events_links_status_error(void **state)
{
	sr_span_t a, s;
	sr_context_t la;

	(void)state;
	sr_span_start(&a, NULL, "linked", SR_KIND_INTERNAL);
	la = sr_span_context(&a);
	sr_span_end(&a);

	sr_span_start(&s, NULL, "rich", SR_KIND_SERVER);
	sr_attr_t ev[] = { SR_ATTR_INT_("n", 3), SR_ATTR_STR_("what", "cache miss") };
	sr_span_add_event(&s, "retry", 1234, ev, 2);
	sr_attr_t la_attrs[] = { SR_ATTR_BOOL_("follows", true) };
	sr_span_add_link(&s, &la, la_attrs, 1);
	sr_span_set_int(&s, "after", 1);
	sr_span_record_error(&s, "io", "disk on fire");
	sr_span_end(&s);
	flush();

	const sr_span_data_t *d = sr_test_find_span("rich");
	assert_int_equal(d->event_count, 2);
	assert_str(d->events[0].name, "retry");
	assert_int_equal(d->events[0].ts_ns, 1234);
	assert_int_equal(d->events[0].attr_count, 2);
	assert_int_equal(d->events[0].attrs[0].v.i, 3);
	assert_str(d->events[0].attrs[1].v.s, "cache miss");
	assert_str(d->events[1].name, "exception");
	assert_int_equal(d->events[1].attr_count, 2);
	assert_str(d->events[1].attrs[1].v.s, "disk on fire");
	assert_int_equal(d->link_count, 1);
	assert_memory_equal(d->links[0].trace_id, la.trace_id, 16);
	assert_memory_equal(d->links[0].span_id, la.span_id, 8);
	assert_int_equal(d->links[0].attr_count, 1);
	assert_true(d->links[0].attrs[0].v.b);
	/* Span attributes are not confused with owned ones. */
	assert_int_equal(d->attr_count, 1);
	assert_int_equal(attr(d, "after")->v.i, 1);
	assert_int_equal(d->status, SR_STATUS_ERROR);
	assert_str(d->status_message, "disk on fire");
}

static void test_status_ok_is_final(void **state)
{
	sr_span_t s;

	(void)state;
	sr_span_start(&s, NULL, "ok", SR_KIND_INTERNAL);
	sr_span_set_status(&s, SR_STATUS_OK, "ignored");
	sr_span_set_status(&s, SR_STATUS_ERROR, "too late");
	sr_span_end(&s);
	flush();
	const sr_span_data_t *d = sr_test_find_span("ok");
	assert_int_equal(d->status, SR_STATUS_OK);
	assert_int_equal(d->status_message.len, 0);
}

static void test_update_name_copies(void **state)
{
	sr_span_t s;
	char name[] = "GET /users/{id}";

	(void)state;
	sr_span_start(&s, NULL, "placeholder", SR_KIND_SERVER);
	sr_span_update_name(&s, name);
	name[0] = 'X';
	sr_span_end(&s);
	flush();
	assert_non_null(sr_test_find_span("GET /users/{id}"));
	assert_null(sr_test_find_span("placeholder"));
}

static void test_large_span_crosses_records(void **state)
{
	sr_span_t s;
	char big[300], key[40][8];

	(void)state;
	for (size_t i = 0; i < sizeof(big) - 1; i++)
		big[i] = (char)('a' + i % 26);
	big[sizeof(big) - 1] = '\0';
	sr_span_start(&s, NULL, "large", SR_KIND_INTERNAL);
	for (int i = 0; i < 40; i++) {
		snprintf(key[i], sizeof(key[i]), "k%d", i);
		if (i % 5 == 0)
			sr_span_set_str(&s, key[i], big);
		else
			sr_span_set_int(&s, key[i], i);
	}
	sr_span_end(&s);
	flush();
	const sr_span_data_t *d = sr_test_find_span("large");
	assert_non_null(d);
	assert_int_equal(d->attr_count, 40);
	for (int i = 0; i < 40; i++) {
		const sr_attr_view_t *a = attr(d, key[i]);
		assert_non_null(a);
		if (i % 5 == 0)
			assert_str(a->v.s, big);
		else
			assert_int_equal(a->v.i, i);
	}
	sr_stats_t st = { .size = sizeof(st) };
	sr_stats_get(&st);
	assert_int_equal(st.attrs_dropped, 0);
	assert_int_equal(st.overflow_exhausted, 0);
}

static void small_limits(sr_config_t *c)
{
	c->attr_count_limit = 3;
	c->event_count_limit = 2;
	c->link_count_limit = 1;
	c->event_attr_count_limit = 1;
	c->attr_value_length_limit = 10;
}

static void test_limits_truncate_and_count(void **state)
{
	sr_span_t s, a;
	sr_context_t c;
	sr_stats_t st = { .size = sizeof(st) };

	(void)state;
	sr_shutdown(5000, NULL);
	assert_int_equal(sr_test_init_memory(small_limits), 0);
	sr_span_start(&a, NULL, "peer", SR_KIND_INTERNAL);
	c = sr_span_context(&a);
	sr_span_end(&a);
	sr_span_start(&s, NULL, "limited", SR_KIND_INTERNAL);
	for (int i = 0; i < 5; i++)
		sr_span_set_int(&s, "same-key-counts-each-time", i);
	sr_span_set_str(&s, "x", "0123456789ABCDEF");
	sr_attr_t ev[] = { SR_ATTR_INT_("a", 1), SR_ATTR_INT_("b", 2) };
	for (int i = 0; i < 3; i++)
		sr_span_add_event(&s, "e", 0, ev, 2);
	sr_span_add_link(&s, &c, NULL, 0);
	sr_span_add_link(&s, &c, NULL, 0);
	sr_span_end(&s);
	sr_span_start(&s, NULL, "truncated", SR_KIND_INTERNAL);
	sr_span_set_str(&s, "x", "0123456789ABCDEF");
	sr_span_end(&s);
	flush();
	const sr_span_data_t *d = sr_test_find_span("limited");
	assert_int_equal(d->attr_count, 1); /* three sets of one key */
	assert_int_equal(d->dropped_attr_count, 3);
	assert_int_equal(d->event_count, 2);
	assert_int_equal(d->dropped_event_count, 1);
	assert_int_equal(d->events[0].attr_count, 1);
	assert_int_equal(d->events[0].dropped_attr_count, 1);
	assert_int_equal(d->link_count, 1);
	assert_int_equal(d->dropped_link_count, 1);
	assert_str(attr(sr_test_find_span("truncated"), "x")->v.s, "0123456789");
	sr_stats_get(&st);
	assert_int_equal(st.attrs_dropped, 3);
	assert_int_equal(st.events_dropped, 1);
	assert_int_equal(st.links_dropped, 1);
	assert_int_equal(st.strings_truncated, 1);
}

static void no_overflow(sr_config_t *c)
{
	c->overflow_records = 1;
	c->max_span_records = 3;
}

static void test_span_size_limits_counted(void **state)
{
	sr_span_t s;
	sr_stats_t st = { .size = sizeof(st) };

	(void)state;
	sr_shutdown(5000, NULL);
	assert_int_equal(sr_test_init_memory(no_overflow), 0);
	/* max_span_records 3 = 6 + 2*8 = 22 slots; overflow pool 1 chunk:
	 * inline 14 + 8 = 22 slots fit; more are dropped and counted. */
	sr_span_start(&s, NULL, "big", SR_KIND_INTERNAL);
	for (int i = 0; i < 30; i++)
		sr_span_set_int(&s, "k", i);
	sr_span_end(&s);
	flush();
	const sr_span_data_t *d = sr_test_find_span("big");
	assert_non_null(d);
	assert_int_equal(d->dropped_attr_count, 30 - 21); /* one slot kept for the drop count */
	sr_stats_get(&st);
	assert_int_equal(st.attrs_dropped, 9);
	assert_int_equal(st.exported, st.sampled);
}

/* Copied strings of 9 to 40 bytes go inline across two slots (the
 * header's copy reads exactly [v, v + len): each source is a heap block
 * of that size, which ASan guards); 41 bytes and up go out of line.
 * Every length keeps its bytes. */
static void test_inline_strings_every_length(void **state)
{
	static char keys[42][8], names[42][8]; /* static: kept by pointer */
	char want[42];
	sr_span_t s;

	(void)state;
	for (int n = 0; n < 42; n++)
		want[n] = (char)('a' + n % 26);
	for (int n = 1; n <= 41; n++) {
		char *v = malloc((size_t)n);

		assert_non_null(v);
		memcpy(v, want, (size_t)n);
		snprintf(keys[n], sizeof(keys[n]), "s%d", n);
		snprintf(names[n], sizeof(names[n]), "len%d", n);
		sr_span_start(&s, NULL, names[n], SR_KIND_INTERNAL);
		sr_span_set_int(&s, "before", n);
		sr_span_set_strn(&s, keys[n], v, (size_t)n);
		sr_span_set_int(&s, "after", -n);
		memset(v, 'X', (size_t)n); /* copied, not referenced */
		sr_span_end(&s);
		free(v);
		flush();

		const sr_span_data_t *d = sr_test_find_span(names[n]);
		char tmp[42];

		assert_non_null(d);
		assert_int_equal(d->attr_count, 3);
		assert_int_equal(attr(d, "before")->v.i, n);
		assert_int_equal(attr(d, "after")->v.i, -n);
		memcpy(tmp, want, (size_t)n);
		tmp[n] = '\0';
		assert_str(attr(d, keys[n])->v.s, tmp);
	}
}

static void four_attrs(sr_config_t *c)
{
	c->attr_count_limit = 4;
}

/* A two-slot inline string is one attribute against the limit: with a
 * limit of 4, four 20-byte strings (the first two inline, eight slots in
 * all) are kept and only a fifth is dropped. */
static void test_inline_two_slot_strings_count_once(void **state)
{
	static const char *keys[] = { "k0", "k1", "k2", "k3", "k4" };
	sr_span_t s;
	sr_stats_t st = { .size = sizeof(st) };

	(void)state;
	sr_shutdown(5000, NULL);
	assert_int_equal(sr_test_init_memory(four_attrs), 0);
	sr_span_start(&s, NULL, "counted", SR_KIND_INTERNAL);
	for (int i = 0; i < 5; i++)
		sr_span_set_strn(&s, keys[i], "twenty bytes of text", 20);
	sr_span_end(&s);
	flush();
	const sr_span_data_t *d = sr_test_find_span("counted");
	assert_non_null(d);
	assert_int_equal(d->attr_count, 4);
	assert_int_equal(d->dropped_attr_count, 1);
	for (int i = 0; i < 4; i++)
		assert_str(attr(d, keys[i])->v.s, "twenty bytes of text");
	sr_stats_get(&st);
	assert_int_equal(st.attrs_dropped, 1);
}

static void test_end_twice_and_after_end_ignored(void **state)
{
	sr_span_t s;
	sr_stats_t st = { .size = sizeof(st) };

	(void)state;
	sr_span_start(&s, NULL, "once", SR_KIND_INTERNAL);
	sr_span_end(&s);
	sr_span_set_int(&s, "late", 1);
	sr_span_end(&s);
	flush();
	sr_stats_get(&st);
	assert_int_equal(st.exported, 1);
	assert_int_equal(sr_test_find_span("once")->attr_count, 0);
	/* The context stays readable after end (for links). */
	sr_context_t c = sr_span_context(&s);
	assert_true(sr_context_is_valid(&c));
}

static void test_unsampled_span_keeps_context(void **state)
{
	sr_span_t root, child;
	sr_scope_t sc;
	sr_stats_t st = { .size = sizeof(st) };
	sr_context_t r, c;

	(void)state;
	sr_shutdown(5000, NULL);
	sr_config_t cfg;
	sr_config_init(&cfg);
	cfg.exporters = "memory";
	cfg.sampler = SR_SAMPLER_PARENTBASED_ALWAYS_OFF;
	assert_int_equal(sr_init(&cfg), 0);
	sr_span_start(&root, NULL, "root", SR_KIND_SERVER);
	assert_false(sr_span_is_recording(&root));
	sc = sr_scope_enter(&root);
	sr_span_start(&child, NULL, "child", SR_KIND_INTERNAL);
	sr_scope_exit(sc);
	r = sr_span_context(&root);
	c = sr_span_context(&child);
	assert_true(sr_context_is_valid(&r));
	assert_false(sr_context_is_sampled(&r));
	assert_memory_equal(r.trace_id, c.trace_id, 16);
	/* Unsampled ids are drawn when read: they must still be distinct,
	 * stable, and move with the span. */
	assert_memory_not_equal(r.span_id, c.span_id, 8);
	{
		sr_span_t moved, other;
		sr_context_t again = sr_span_context(&root), m, o;

		assert_memory_equal(&again, &r, sizeof(r));
		memcpy(&moved, &root, sizeof(moved));
		m = sr_span_context(&moved);
		assert_memory_equal(&m, &r, sizeof(r));
		sr_span_start_ex(&other, NULL, "other", SR_KIND_INTERNAL, NULL,
				 0, SR_SPAN_ROOT);
		o = sr_span_context(&other);
		assert_true(sr_context_is_valid(&o));
		assert_memory_not_equal(o.trace_id, r.trace_id, 16);
		sr_span_end(&other);
	}
	sr_span_end(&child);
	sr_span_end(&root);
	/* A sampled remote parent makes the child sampled. */
	r.trace_flags = SR_TRACE_FLAG_SAMPLED;
	r.remote = 1;
	sr_span_start_ex(&child, NULL, "sampled-child", SR_KIND_SERVER, &r, 0, 0);
	assert_true(sr_span_is_recording(&child));
	sr_span_end(&child);
	flush();
	sr_stats_get(&st);
	assert_int_equal(st.started, 4);
	assert_int_equal(st.sampled, 1);
	assert_int_equal(st.exported, 1);
	assert_int_equal(sr_memory_count(), 1);
}

/* The traceparent a context injects (with the tracecontext format). */
struct tp_out {
	char tp[64];
};
static void tp_set(void *carrier, const char *key, const char *value,
		   size_t len)
{
	struct tp_out *o = carrier;

	if (strcmp(key, "traceparent") == 0 && len < sizeof(o->tp))
		memcpy(o->tp, value, len + 1);
}
static const char *tp_flags(const sr_context_t *c)
{
	static struct tp_out o;
	static sr_propagator_t *p;

	if (!p)
		assert_int_equal(sr_propagator_create("tracecontext", &p), 0);
	memset(&o, 0, sizeof(o));
	sr_propagator_inject(p, c, &o, tp_set);
	assert_int_equal(strlen(o.tp), 55);
	return o.tp + 53;
}

static sr_context_t remote_parent(uint8_t flags)
{
	sr_context_t c;

	memset(&c, 0, sizeof(c));
	memset(c.trace_id, 0x12, 16);
	memset(c.span_id, 0x34, 8);
	c.trace_flags = flags;
	c.remote = 1;
	return c;
}

/*
 * W3C Level 2: a span carries the random flag of its trace (a root: set,
 * its trace id is ours and random; a child: its parent's), through the
 * full start (explicit parent), the fast start (current scope), its
 * context, inject and the exported span.  Regression: spans rebuilt their
 * flags from "sampled" alone.
 */
static void test_spans_carry_random_flag(void **state)
{
	static const struct {
		uint8_t parent, want;
	} cases[] = {
		{ 0x00, 0x01 }, { 0x01, 0x01 }, { 0x02, 0x03 }, { 0x03, 0x03 },
		{ 0xff, 0x03 }, { 0xfd, 0x01 },
	};
	sr_span_t root, child, grand;
	sr_context_t c;
	sr_scope_t sc;

	(void)state;
	sr_span_start(&root, NULL, "root", SR_KIND_SERVER);
	c = sr_span_context(&root);
	assert_int_equal(c.trace_flags, SR_TRACE_FLAG_SAMPLED | SR_TRACE_FLAG_RANDOM);
	assert_string_equal(tp_flags(&c), "03");
	sc = sr_scope_enter(&root);
	sr_span_start(&child, NULL, "child", SR_KIND_INTERNAL);
	sr_scope_exit(sc);
	c = sr_span_context(&child);
	assert_int_equal(c.trace_flags, 0x03);
	sr_span_end(&child);
	sr_span_end(&root);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sr_context_t par = remote_parent(cases[i].parent);
		char name[32];

		snprintf(name, sizeof(name), "flags-%02x", cases[i].parent);
		sr_span_start_ex(&child, NULL, name, SR_KIND_SERVER, &par, 0,
				 SR_SPAN_NAME_COPY);
		c = sr_span_context(&child);
		assert_int_equal(c.trace_flags, cases[i].want);
		/* The fast start, from the current scope. */
		sc = sr_scope_enter_ctx(&par);
		sr_span_start(&grand, NULL, "fast", SR_KIND_INTERNAL);
		sr_scope_exit(sc);
		c = sr_span_context(&grand);
		assert_int_equal(c.trace_flags, cases[i].want);
		assert_string_equal(tp_flags(&c), cases[i].want == 3 ? "03" : "01");
		sr_span_end(&grand);
		sr_span_end(&child);
	}
	flush();
	assert_int_equal(sr_test_find_span("root")->trace_flags, 0x03);
	assert_int_equal(sr_test_find_span("flags-00")->trace_flags, 0x01);
	assert_int_equal(sr_test_find_span("flags-02")->trace_flags, 0x03);
	assert_int_equal(sr_test_find_span("flags-fd")->trace_flags, 0x01);
}

/* The same for spans that are not sampled: they keep the random flag
 * (and only it) for the context they propagate. */
static void test_unsampled_spans_carry_random_flag(void **state)
{
	sr_span_t root, child, grand;
	sr_context_t c, par;
	sr_scope_t sc;
	sr_config_t cfg;

	(void)state;
	sr_shutdown(5000, NULL);
	sr_config_init(&cfg);
	cfg.exporters = "memory";
	cfg.sampler = SR_SAMPLER_PARENTBASED_ALWAYS_OFF;
	assert_int_equal(sr_init(&cfg), 0);
	sr_span_start(&root, NULL, "root", SR_KIND_SERVER);
	c = sr_span_context(&root);
	assert_int_equal(c.trace_flags, SR_TRACE_FLAG_RANDOM);
	assert_string_equal(tp_flags(&c), "02");
	for (uint8_t f = 0; f < 4; f += 2) {
		par = remote_parent(f);
		sr_span_start_ex(&child, NULL, "c", SR_KIND_SERVER, &par, 0, 0);
		assert_false(sr_span_is_recording(&child));
		c = sr_span_context(&child);
		assert_int_equal(c.trace_flags, f);
		sc = sr_scope_enter(&child);
		sr_span_start(&grand, NULL, "g", SR_KIND_INTERNAL);
		sr_scope_exit(sc);
		c = sr_span_context(&grand);
		assert_int_equal(c.trace_flags, f);
		assert_string_equal(tp_flags(&c), f ? "02" : "00");
		sr_span_end(&grand);
		sr_span_end(&child);
	}
	sr_span_end(&root);
}

/* sr_span_context() of a span started with no pipeline running is what
 * the header says: all zero, no context, nothing injected. */
static void test_span_without_pipeline_has_no_context(void **state)
{
	static const sr_context_t zero;
	sr_span_t s;
	sr_context_t c;

	(void)state;
	sr_shutdown(5000, NULL);
	memset(&s, 0xa5, sizeof(s));
	sr_span_start(&s, NULL, "off", SR_KIND_SERVER);
	c = sr_span_context(&s);
	assert_memory_equal(&c, &zero, sizeof(c));
	assert_false(sr_context_is_valid(&c));
	assert_false(sr_span_is_recording(&s));
	{
		struct tp_out o = { { 0 } };
		sr_propagator_t *p;

		assert_int_equal(sr_propagator_create("tracecontext", &p), 0);
		sr_propagator_inject(p, &c, &o, tp_set);
		assert_string_equal(o.tp, "");
		sr_propagator_destroy(p);
	}
	sr_span_end(&s);
	assert_int_equal(sr_test_init_memory(NULL), 0);
}

static void test_auto_span_macro_ends_and_restores(void **state)
{
	sr_context_t cur;

	(void)state;
	{
		SR_SPAN_AUTO(a, NULL, "auto", SR_KIND_INTERNAL);
		SR_SET_INT(&a.span, "n", 1);
		assert_int_equal(sr_context_current(&cur), 0);
		sr_context_t mine = sr_span_context(&a.span);
		assert_memory_equal(cur.span_id, mine.span_id, 8);
	}
	assert_int_equal(sr_context_current(&cur), SR_ENOTFOUND);
	flush();
	assert_non_null(sr_test_find_span("auto"));
}

static void test_tracer_scope_exported(void **state)
{
	const sr_tracer_t *t = sr_tracer_get("db-client", "1.2.3");
	sr_span_t s;

	(void)state;
	sr_span_start(&s, t, "query", SR_KIND_CLIENT);
	sr_span_end(&s);
	flush();
	const sr_span_data_t *d = sr_test_find_span("query");
	assert_str(d->scope_name, "db-client");
	assert_str(d->scope_version, "1.2.3");
	assert_true(d->thread_id != 0);
}

static void test_baggage_only_parent_starts_root_with_its_baggage(void **state)
{
	sr_context_t only_baggage, c;
	sr_span_t s;

	(void)state;
	memset(&only_baggage, 0, sizeof(only_baggage));
	only_baggage.state_[1] = 0x1234; /* a baggage reference, no ids */
	sr_span_start_ex(&s, NULL, "root-with-baggage", SR_KIND_SERVER,
			 &only_baggage, 0, 0);
	c = sr_span_context(&s);
	assert_true(sr_context_is_valid(&c));
	assert_int_equal(c.state_[1], 0x1234);
	sr_span_end(&s);
	/* The same through the current scope. */
	sr_scope_t sc = sr_scope_enter_ctx(&only_baggage);
	sr_span_start(&s, NULL, "scoped", SR_KIND_INTERNAL);
	sr_scope_exit(sc);
	c = sr_span_context(&s);
	assert_true(sr_context_is_valid(&c));
	assert_int_equal(c.state_[1], 0x1234);
	sr_span_end(&s);
	flush();
	static const uint8_t zero[8];
	assert_memory_equal(sr_test_find_span("scoped")->parent_span_id, zero, 8);
}

static void count_rings(const sr_ring_stats_t *r, void *ud)
{
	sr_ring_stats_t *last = ud;

	*last = *r;
	last->ring_index++; /* reused as a call counter below */
}

static void test_ring_stats_and_json(void **state)
{
	sr_ring_stats_t seen;
	sr_stats_t st = { .size = sizeof(st) };
	char json[1024];

	(void)state;
	assert_int_equal(sr_thread_register(), 0);
	for (int i = 0; i < 10; i++) {
		sr_span_t s;

		sr_span_start(&s, NULL, "r", SR_KIND_INTERNAL);
		sr_span_end(&s);
	}
	flush();
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(sr_stats_foreach_ring(count_rings, &seen), 0);
	assert_true(seen.ring_index >= 1);
	assert_int_equal(seen.capacity, 1024);
	assert_true(seen.high_water >= 1 && seen.high_water <= 10);
	assert_true(seen.thread_id != 0);
	assert_false(seen.orphaned);
	sr_stats_get(&st);
	assert_int_equal(st.rings_in_use, 1);
	assert_true(st.ring_high_water >= 1);
	assert_true(sr_stats_to_json(&st, json, sizeof(json)) < (int)sizeof(json));
	assert_non_null(strstr(json, "\"dropped\":{\"ring_full\":0"));
	assert_non_null(strstr(json, "\"exported\":10"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parent_child_ids_follow_scopes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explicit_parent_and_root_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explicit_times_and_end_clamped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attributes_all_types_last_value_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attribute_keys_compared_by_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_events_links_status_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_ok_is_final, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_name_copies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_span_crosses_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_truncate_and_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_span_size_limits_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inline_strings_every_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inline_two_slot_strings_count_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_twice_and_after_end_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsampled_span_keeps_context, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spans_carry_random_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsampled_spans_carry_random_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_span_without_pipeline_has_no_context, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_span_macro_ends_and_restores, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tracer_scope_exported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_stats_and_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_baggage_only_parent_starts_root_with_its_baggage, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
