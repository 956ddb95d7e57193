/*
 * static_keys.cc - what <spanring/spanring.hpp> must refuse to compile.
 * Built once per case by compile_fail.sh: CASE 0 (all the right uses)
 * must compile, every other case must not, and on its own line (marked
 * "case N:").  Keys and names are kept by
 * pointer, so a pointer into a std::string or a stack buffer must not
 * become one; a pointer must not become a bool value; a span is not
 * copyable.
 */
#include <spanring/spanring.hpp>

#include <string>

#ifndef CASE
#define CASE 0
#endif

void uses(const std::string &dynamic, int *some_pointer);
void uses(const std::string &dynamic, int *some_pointer)
{
	static const char marked[] = "marked.static";
	spanring::Span span(nullptr, "name");

	span.set("literal.key", dynamic);
	span.set(spanring::static_str(marked), 1);
	span.add_event("event", { { "k", 1 }, { "s", dynamic } });
	(void)some_pointer;
#if CASE == 1
	span.set(dynamic.c_str(), 1);             /* case 1: key from std::string */
#elif CASE == 2
	const char *p = "looks static";
	span.set(p, 1);                           /* case 2: key from a plain pointer */
#elif CASE == 3
	char buf[16] = "buffer";
	span.set(buf, 1);                         /* case 3: key from a writable buffer */
#elif CASE == 4
	spanring::Span named(nullptr, dynamic.c_str()); /* case 4: dynamic span name */
#elif CASE == 5
	span.set("k", some_pointer);              /* case 5: a pointer is not a bool */
#elif CASE == 6
	spanring::Span copy(span);                /* case 6: spans are not copyable */
#elif CASE == 7
	span.add_event("e", { { dynamic.c_str(), 1 } }); /* case 7: event attribute key */
#elif CASE == 8
	span.add_event("e", { { "k", some_pointer } });  /* case 8: pointer value */
#elif CASE == 9
	span.set(dynamic, 1);                     /* case 9: std::string as a key */
#endif
}
