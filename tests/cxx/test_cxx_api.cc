/*
 * test_cxx_api.cc - <spanring/spanring.hpp> end to end through the memory
 * exporter: RAII ends, moves, scopes, every set() overload landing on the
 * right attribute type (a literal is a string, not a bool; every integer
 * width is an int), arrays from containers, events and links with
 * initializer lists, and exceptions recorded by a span they unwind (and
 * by in_span with their type).  Built with g++ and clang++, with and
 * without exceptions (SPANRING_CXX_EXCEPTIONS tells which), and as C++20
 * (std::span arrays).
 */
#include <spanring/spanring.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>
#if __cplusplus >= 202002L && __has_include(<span>)
#include <span>
#define HAVE_STD_SPAN 1
#endif

static int failures;

#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n",     \
				     __FILE__, __LINE__, #c);                  \
			failures++;                                           \
		}                                                             \
	} while (0)

static const sr_span_data_t *find(const char *name)
{
	for (size_t i = 0; i < sr_memory_count(); i++) {
		const sr_span_data_t *d = sr_memory_get(i);
		if (d->name.len == std::strlen(name) &&
		    !std::memcmp(d->name.ptr, name, d->name.len))
			return d;
	}
	std::fprintf(stderr, "span %s missing\n", name);
	std::exit(1);
}

static const sr_attr_view_t *attr(const sr_attr_view_t *a, uint32_t n,
				  const char *key)
{
	for (uint32_t i = 0; i < n; i++)
		if (a[i].key.len == std::strlen(key) &&
		    !std::memcmp(a[i].key.ptr, key, a[i].key.len))
			return &a[i];
	std::fprintf(stderr, "attribute %s missing\n", key);
	std::exit(1);
}

static bool str_is(sr_str_t s, const char *want)
{
	return s.len == std::strlen(want) && !std::memcmp(s.ptr, want, s.len);
}

/* Elements of an array view as "a|b|c". */
static std::string elems(const sr_attr_view_t *a)
{
	std::string out;
	sr_array_iter_t it = sr_array_begin(&a->v.a);
	sr_attr_view_t e;
	char tmp[64];

	while (sr_array_next(&it, &e)) {
		if (!out.empty() || it.left + 1 != a->v.a.count)
			out += '|';
		switch (e.type) {
		case SR_ATTR_BOOL: out += e.v.b ? "T" : "F"; break;
		case SR_ATTR_INT:
			std::snprintf(tmp, sizeof(tmp), "%lld", (long long)e.v.i);
			out += tmp;
			break;
		case SR_ATTR_DOUBLE:
			std::snprintf(tmp, sizeof(tmp), "%g", e.v.d);
			out += tmp;
			break;
		default: out.append(e.v.s.ptr, e.v.s.len); break;
		}
	}
	return out;
}

static const spanring::Tracer tracer("cxx-test", "1.0");

static void overloads()
{
	std::string dyn = "dynamic";
	std::string_view sv = "viewed";
	char buf[16] = "buffer";
	const char *cp = "pointer";
	static const char kept[] = "kept by pointer";

	spanring::Span span(tracer, "overloads", SR_KIND_SERVER);
	span.set("lit", "GET")
		.set("cp", cp)
		.set("buf", buf)
		.set("std.string", dyn)
		.set("string_view", sv)
		.set("static", spanring::static_str(kept))
		.set("b", true)
		.set("i8", static_cast<int8_t>(-8))
		.set("u8", static_cast<uint8_t>(200))
		.set("i16", static_cast<int16_t>(-16))
		.set("u16", static_cast<uint16_t>(65535))
		.set("i32", -32)
		.set("u32", 4000000000u)
		.set("l", -64L)
		.set("ull", 18446744073709551615ull)
		.set("f", 1.5f)
		.set("d", 2.25);
}

std::string dyn_name();

static void arrays()
{
	std::vector<int64_t> i64 = { 1, -2, 3 };
	std::vector<int> ints = { 4, 5 };
	std::array<double, 2> dbl = { 0.5, 1.5 };
	std::vector<bool> flags = { true, false };
	std::vector<std::string> strs = { "a", "bc", "" };
	std::deque<std::string_view> views = { "x", "yz" };
	const char *cstrs[] = { "p", "q" };
	uint16_t carr[] = { 7, 8, 9 };

	spanring::Span span(tracer, "arrays");
	span.set("i64", i64)
		.set("ints", ints)
		.set("dbl", dbl)
		.set("flags", flags)
		.set("strs", strs)
		.set("views", views)
		.set("cstrs", cstrs)
		.set("carr", carr)
		.set("list", { 10, 20 })
		.set("slist", { "s", "t" });
#ifdef HAVE_STD_SPAN
	/* C++20's std::span over any of them (the C++17 build has none). */
	span.set("span.i64", std::span<const int64_t>(i64))
		.set("span.strs", std::span<const std::string>(strs.data(), 2));
#endif
	span.add_event("ev", { { "ev.i", 1 }, { "ev.s", dyn_name() }, { "ev.arr", ints } });
	sr_context_t ctx = span.context();
	span.add_link(ctx, { { "link.strs", strs }, { "link.d", 0.25 } });
}

/* In a function so the argument is a temporary std::string. */
std::string dyn_name()
{
	return "made at run time";
}

static sr_context_t outer_ctx, inner_ctx;

static void moves_and_scopes()
{
	{
		spanring::Span a(tracer, "moved");
		spanring::Span b(std::move(a));   /* a is empty: ends nothing */
		b.set("k", 1);
		spanring::Scope sc(b);
		outer_ctx = b.context();
		spanring::Span inner(tracer.get(), "inner"); /* C tracer pointer */
		inner_ctx = inner.context();
	}
	spanring::Span early(nullptr, "early");
	early.end();
	early.set("after.end", 1); /* ignored: already ended */
}

#ifdef SPANRING_CXX_EXCEPTIONS
static void throws_through()
{
	spanring::Span span(tracer, "unwound");
	span.set("before", 1);
	throw std::runtime_error("boom");
}

static int caught()
{
	return spanring::in_span(tracer, "in_span", SR_KIND_INTERNAL,
				 [](spanring::Span &s) -> int {
					 s.set("inside", true);
					 throw std::invalid_argument("bad input");
				 });
}

/* Its destructor starts and ends a span while the exception that
 * destroys it unwinds: that span saw no exception pass through it. */
struct rollback {
	~rollback() { spanring::Span s(tracer, "in.destructor"); }
};

static void unwinds_past_rollback()
{
	rollback r;
	spanring::Span span(tracer, "unwound.past.rollback");
	throw std::runtime_error("boom");
}

/* A span started on this thread, moved to a new thread that has never
 * started a span of its own, and unwound through there. */
static void handed_over()
{
	spanring::Span span(tracer, "handed.over");
	std::thread t([s = std::move(span)]() mutable {
		try {
			spanring::Span here(std::move(s));
			throw std::runtime_error("on the other thread");
		} catch (const std::exception &) {
		}
	});
	t.join();
}

static void exceptions()
{
	try {
		throws_through();
	} catch (const std::exception &) {
	}
	try {
		caught();
	} catch (const std::invalid_argument &) {
	}
	try {
		/* A span that starts and ends inside a handler is not failed
		 * by the exception being handled. */
		throw 42;
	} catch (int) {
		spanring::Span ok(tracer, "in.handler");
	}
	try {
		unwinds_past_rollback();
	} catch (const std::exception &) {
	}
	handed_over();
}
#endif

int main()
{
	sr_config_t cfg;

	sr_config_init(&cfg);
	cfg.exporters = "memory";
	cfg.sampler = SR_SAMPLER_ALWAYS_ON;
	if (sr_init(&cfg) != 0) {
		std::fprintf(stderr, "sr_init: %s\n", sr_last_error());
		return 1;
	}
	overloads();
	arrays();
	moves_and_scopes();
#ifdef SPANRING_CXX_EXCEPTIONS
	exceptions();
#endif
	sr_shutdown(5000, nullptr);

	const sr_span_data_t *d = find("overloads");
	uint32_t n = d->attr_count;
	CHECK(d->kind == SR_KIND_SERVER);
	CHECK(attr(d->attrs, n, "lit")->type == SR_ATTR_STRING);
	CHECK(str_is(attr(d->attrs, n, "lit")->v.s, "GET"));
	CHECK(str_is(attr(d->attrs, n, "cp")->v.s, "pointer"));
	CHECK(str_is(attr(d->attrs, n, "buf")->v.s, "buffer"));
	CHECK(str_is(attr(d->attrs, n, "std.string")->v.s, "dynamic"));
	CHECK(str_is(attr(d->attrs, n, "string_view")->v.s, "viewed"));
	CHECK(str_is(attr(d->attrs, n, "static")->v.s, "kept by pointer"));
	CHECK(attr(d->attrs, n, "b")->type == SR_ATTR_BOOL && attr(d->attrs, n, "b")->v.b);
	CHECK(attr(d->attrs, n, "i8")->type == SR_ATTR_INT && attr(d->attrs, n, "i8")->v.i == -8);
	CHECK(attr(d->attrs, n, "u8")->v.i == 200);
	CHECK(attr(d->attrs, n, "i16")->v.i == -16);
	CHECK(attr(d->attrs, n, "u16")->v.i == 65535);
	CHECK(attr(d->attrs, n, "i32")->v.i == -32);
	CHECK(attr(d->attrs, n, "u32")->v.i == 4000000000);
	CHECK(attr(d->attrs, n, "l")->v.i == -64);
	CHECK(attr(d->attrs, n, "ull")->v.i == -1); /* wraps, documented */
	CHECK(attr(d->attrs, n, "f")->type == SR_ATTR_DOUBLE && attr(d->attrs, n, "f")->v.d == 1.5);
	CHECK(attr(d->attrs, n, "d")->v.d == 2.25);

	d = find("arrays");
	n = d->attr_count;
	CHECK(d->kind == SR_KIND_INTERNAL);
	CHECK(elems(attr(d->attrs, n, "i64")) == "1|-2|3");
	CHECK(elems(attr(d->attrs, n, "ints")) == "4|5");
	CHECK(elems(attr(d->attrs, n, "dbl")) == "0.5|1.5");
	CHECK(elems(attr(d->attrs, n, "flags")) == "T|F");
	CHECK(elems(attr(d->attrs, n, "strs")) == "a|bc|");
	CHECK(elems(attr(d->attrs, n, "views")) == "x|yz");
	CHECK(elems(attr(d->attrs, n, "cstrs")) == "p|q");
	CHECK(elems(attr(d->attrs, n, "carr")) == "7|8|9");
	CHECK(elems(attr(d->attrs, n, "list")) == "10|20");
	CHECK(elems(attr(d->attrs, n, "slist")) == "s|t");
#ifdef HAVE_STD_SPAN
	CHECK(elems(attr(d->attrs, n, "span.i64")) == "1|-2|3");
	CHECK(elems(attr(d->attrs, n, "span.strs")) == "a|bc");
#endif
	CHECK(d->event_count == 1 && d->events[0].attr_count == 3);
	CHECK(attr(d->events[0].attrs, 3, "ev.i")->v.i == 1);
	CHECK(str_is(attr(d->events[0].attrs, 3, "ev.s")->v.s, "made at run time"));
	CHECK(elems(attr(d->events[0].attrs, 3, "ev.arr")) == "4|5");
	CHECK(d->link_count == 1 && d->links[0].attr_count == 2);
	CHECK(elems(attr(d->links[0].attrs, 2, "link.strs")) == "a|bc|");
	CHECK(attr(d->links[0].attrs, 2, "link.d")->v.d == 0.25);

	d = find("moved");
	CHECK(d->attr_count == 1);
	CHECK(!std::memcmp(find("inner")->parent_span_id, outer_ctx.span_id, 8));
	CHECK(!std::memcmp(find("inner")->span_id, inner_ctx.span_id, 8));
	d = find("early");
	CHECK(d->attr_count == 0);
	size_t moved = 0;
	for (size_t i = 0; i < sr_memory_count(); i++)
		moved += str_is(sr_memory_get(i)->name, "moved");
	CHECK(moved == 1); /* the moved-from Span ended nothing */

#ifdef SPANRING_CXX_EXCEPTIONS
	d = find("unwound");
	CHECK(d->status == SR_STATUS_ERROR);
	CHECK(d->event_count == 1 && str_is(d->events[0].name, "exception"));
	CHECK(str_is(attr(d->events[0].attrs, d->events[0].attr_count,
			  "exception.message")->v.s,
		     "an exception unwound through the span"));
	d = find("in_span");
	CHECK(d->status == SR_STATUS_ERROR);
	CHECK(d->event_count == 1); /* recorded once, not again by unwinding */
	CHECK(str_is(attr(d->events[0].attrs, 2, "exception.type")->v.s,
		     "std::invalid_argument"));
	CHECK(str_is(attr(d->events[0].attrs, 2, "exception.message")->v.s,
		     "bad input"));
	CHECK(str_is(d->status_message, "bad input"));
	d = find("in.handler");
	CHECK(d->status == SR_STATUS_UNSET && d->event_count == 0);
	d = find("in.destructor");
	CHECK(d->status == SR_STATUS_UNSET && d->event_count == 0);
	d = find("unwound.past.rollback");
	CHECK(d->status == SR_STATUS_ERROR && d->event_count == 1);
	d = find("handed.over");
	CHECK(d->status == SR_STATUS_ERROR && d->event_count == 1);
#endif
	if (failures)
		std::fprintf(stderr, "%d checks failed\n", failures);
	else
		std::printf("all checks passed (%zu spans)\n", sr_memory_count());
	return failures ? 1 : 0;
}
