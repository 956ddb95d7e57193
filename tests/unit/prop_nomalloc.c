/*
 * prop_nomalloc.c - extract and inject never allocate: malformed and
 * oversized fields of every format, valid fields, and inject, with the
 * heap calls of this executable and of the statically linked library
 * wrapped (-Wl,--wrap=malloc,...; see tests/propagation.cmake) and
 * counted.  A malformed field also never maps the context arena.
 *
 * Built by tests/propagation.cmake, not by the tests/unit glob, because
 * it needs the --wrap link options.
 */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "prop_carrier.h"

static __thread unsigned long t_allocs;

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n) { t_allocs++; return __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t m) { t_allocs++; return __real_calloc(n, m); }
void *__wrap_realloc(void *p, size_t n) { t_allocs++; return __real_realloc(p, n); }
int __wrap_posix_memalign(void **p, size_t a, size_t n)
{
	t_allocs++;
	return __real_posix_memalign(p, a, n);
}
void *__wrap_aligned_alloc(size_t a, size_t n)
{
	t_allocs++;
	return __real_aligned_alloc(a, n);
}
char *__wrap_strdup(const char *s) { t_allocs++; return __real_strdup(s); }
char *__wrap_strndup(const char *s, size_t n)
{
	t_allocs++;
	return __real_strndup(s, n);
}

static pc_t carrier, out;

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

/* Each row: field lines "name: value" of one carrier, all malformed or
 * oversized somewhere. */
static const char *const bad[][4] = {
	{ "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x" },
	{ "traceparent: ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
	{ "traceparent: " TP, "tracestate: foo=1,@foo=2" },
	{ "traceparent: " TP, "tracestate: FOO=1" },
	{ "baggage: k=%zz" },
	{ "baggage: a=1,b" },
	{ "baggage: k=v;p q" },
	{ "b3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-2" },
	{ "x-b3-traceid: 80f198ee56343ba864fe8b2a57d3eff7", "x-b3-sampled: yes" },
	{ "uber-trace-id: 0:1:0:1" },
	{ "uber-trace-id: 4bf92f3577b34da6a3ce929d0e0e4736%3" },
	{ "uberctx-a: %q" },
};

static void load(const char *const *lines)
{
	pc_reset(&carrier);
	for (int i = 0; i < 4 && lines[i]; i++) {
		const char *colon = strchr(lines[i], ':');
		pc_addn(&carrier, lines[i], (size_t)(colon - lines[i]),
			colon + 2, strlen(colon + 2));
	}
}

int main(void)
{
	static char huge[SR_PROP_BAGGAGE_MAX + 100];
	sr_propagator_t *p;
	sr_propagation_stats_t st = { .size = sizeof(st) };
	sr_context_t ctx;
	unsigned long before;

	SR_CHECK(sr_propagator_create("tracecontext,baggage,b3,jaeger", &p) == 0);

	/* Malformed, in a process whose arena was never mapped. */
	before = t_allocs;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		load(bad[i]);
		sr_propagator_extract(p, &carrier, &pc_getter, &ctx);
	}
	/* Oversized fields of each kind. */
	memset(huge, 'a', sizeof(huge) - 1);
	static const char *const names[] = { "traceparent", "baggage", "b3",
					     "uber-trace-id", "x-b3-traceid" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		pc_reset(&carrier);
		pc_add(&carrier, names[i], huge);
		SR_CHECK(sr_propagator_extract(p, &carrier, &pc_getter, &ctx) != 0 ||
			 strcmp(names[i], "baggage") == 0);
	}
	SR_CHECK(t_allocs == before);
	sr_propagation_stats_get(&st);
	SR_CHECK(st.arena_bytes == 0);
	SR_CHECK(st.arena_allocs == 0);
	printf("malformed/oversized: %zu carriers, 0 allocations, arena unmapped\n",
	       sizeof(bad) / sizeof(bad[0]) + 5);

	/* Valid fields, trace state and baggage included, then inject. */
	load((const char *const[]){ "traceparent: " TP,
				     "tracestate: rojo=00f067aa0ba902b7",
				     "baggage: k=v;p, u=%20x", NULL });
	before = t_allocs;
	for (int i = 0; i < 1000; i++) {
		SR_CHECK(sr_propagator_extract(p, &carrier, &pc_getter, &ctx) == 0);
		pc_reset(&out);
		sr_propagator_inject(p, &ctx, &out, pc_set);
	}
	SR_CHECK(t_allocs == before);
	SR_CHECK(pc_find(&out, "tracestate", NULL) != NULL);
	SR_CHECK(strcmp(pc_find(&out, "baggage", NULL), "k=v;p,u=%20x") == 0);
	printf("valid extract + inject x1000: 0 allocations\n");

	/* The wrapper does see the library's allocations: create does. */
	before = t_allocs;
	sr_propagator_destroy(p);
	SR_CHECK(sr_propagator_create("b3", &p) == 0);
	SR_CHECK(t_allocs == before + 1);
	sr_propagator_destroy(p);
	return 0;
}
