/*
 * An application built with -DSR_NO_INLINE: every span call is a call to
 * the exported function of the same name, so the program depends on
 * sr_span_t's size and alignment only.  check_no_inline.sh runs it and
 * checks it references no sr__ symbol (nm -u).  Exits 0 when every span
 * arrived at the memory exporter with its attributes, event and times.
 */
#ifndef SR_NO_INLINE
#error "build this file with -DSR_NO_INLINE"
#endif
#include <spanring/spanring.h>
#include <stdio.h>
#include <string.h>

#ifdef SPANRING_STATIC_SPAN_INLINE_H
#error "SR_NO_INLINE must keep the inline fast paths out"
#endif

static int fails;

#define CHECK(c)                                                            \
	do {                                                                \
		if (!(c)) {                                                 \
			fprintf(stderr, "no_inline: %s:%d: %s\n", __FILE__, \
				__LINE__, #c);                              \
			fails++;                                            \
		}                                                           \
	} while (0)

static const sr_attr_view_t *attr(const sr_span_data_t *d, const char *key)
{
	for (uint32_t i = 0; i < d->attr_count; i++)
		if (d->attrs[i].key.len == strlen(key) &&
		    memcmp(d->attrs[i].key.ptr, key, d->attrs[i].key.len) == 0)
			return &d->attrs[i];
	return NULL;
}

static int str_is(const sr_attr_view_t *a, const char *s)
{
	return a && a->type == SR_ATTR_STRING && a->v.s.len == strlen(s) &&
	       memcmp(a->v.s.ptr, s, a->v.s.len) == 0;
}

static const sr_span_data_t *find(const char *name)
{
	for (size_t i = 0; i < sr_memory_count(); i++) {
		const sr_span_data_t *d = sr_memory_get(i);

		if (d->name.len == strlen(name) &&
		    memcmp(d->name.ptr, name, d->name.len) == 0)
			return d;
	}
	return NULL;
}

int main(void)
{
	sr_config_t cfg;
	sr_span_t parent, child;
	sr_context_t pctx;
	const sr_span_data_t *p, *c;
	const sr_attr_view_t *a;

	/* Before init: the calls are safe no-ops. */
	sr_span_start(&parent, NULL, "before", SR_KIND_INTERNAL);
	sr_span_set_int(&parent, "k", 1);
	sr_span_end(&parent);

	sr_config_init(&cfg);
	cfg.exporters = "memory";
	if (sr_init(&cfg) != 0) {
		fprintf(stderr, "no_inline: sr_init: %s\n", sr_last_error());
		return 1;
	}
	sr_span_start(&parent, NULL, "parent", SR_KIND_SERVER);
	sr_span_set_bool(&parent, "b", true);
	sr_span_set_int(&parent, "i", -42);
	sr_span_set_double(&parent, "d", 2.5);
	sr_span_set_str(&parent, "short", "abc");
	sr_span_set_str(&parent, "long", "a string longer than eight bytes");
	sr_span_set_strn(&parent, "n", "xyzzy", 2);
	sr_span_set_str_static(&parent, "static", "kept");
	sr_span_add_event(&parent, "ev", 0, NULL, 0);
	pctx = sr_span_context(&parent);
	sr_span_start_ex(&child, NULL, "child", SR_KIND_CLIENT, &pctx, 1000, 0);
	sr_span_end_at(&child, 5000);
	sr_span_end(&parent);
	CHECK(sr_flush(10000, NULL) == 0);

	CHECK(sr_memory_count() == 2);
	p = find("parent");
	c = find("child");
	CHECK(p && c);
	if (p && c) {
		CHECK(p->kind == SR_KIND_SERVER && c->kind == SR_KIND_CLIENT);
		CHECK(p->attr_count == 7);
		CHECK((a = attr(p, "b")) && a->type == SR_ATTR_BOOL && a->v.b);
		CHECK((a = attr(p, "i")) && a->type == SR_ATTR_INT &&
		      a->v.i == -42);
		CHECK((a = attr(p, "d")) && a->type == SR_ATTR_DOUBLE &&
		      a->v.d == 2.5);
		CHECK(str_is(attr(p, "short"), "abc"));
		CHECK(str_is(attr(p, "long"), "a string longer than eight bytes"));
		CHECK(str_is(attr(p, "n"), "xy"));
		CHECK(str_is(attr(p, "static"), "kept"));
		CHECK(p->event_count == 1);
		CHECK(memcmp(c->parent_span_id, p->span_id, 8) == 0);
		CHECK(memcmp(c->trace_id, p->trace_id, 16) == 0);
		CHECK(c->start_ns == 1000 && c->end_ns == 5000);
	}
	CHECK(sr_shutdown(10000, NULL) == 0);
	if (fails)
		return 1;
	printf("no_inline: 2 spans exported through the out-of-line calls\n");
	return 0;
}
