/*
 * bench_propagation.cc - what context propagation costs a request.
 *
 *   BM_prop_traceparent_inject_extract
 *       inject a context (tracecontext propagator) into a header carrier,
 *       then extract it back: the per-hop cost of W3C trace context.
 *       Target: <= 100 ns for the pair.
 *   BM_prop_default_inject_extract
 *       the same with the default propagator (tracecontext,baggage) and
 *       no baggage: what the default configuration adds.
 *   BM_prop_extract_malformed
 *       extract of a traceparent with uppercase hex (rejected, counted);
 *       mallocs/op must read 0 (so must the two above).
 *   BM_prop_extract_tracestate
 *       extract of traceparent + a two-member tracestate: parsing,
 *       normalising and storing the trace state in the context arena.
 *
 * The carrier is a fixed array of name/value slots with a case-
 * insensitive lookup, like a parsed HTTP header list; no pipeline runs
 * (propagation does not need one).
 *
 * What this leaves out: header parsing of the HTTP request itself, and
 * baggage of realistic size (see the unit tests for its limits).
 */
#include "harness.h"

#include <string.h>
#include <strings.h>

namespace {

struct slot {
	char key[32];
	size_t klen;
	char val[600];
	size_t len;
};

struct carrier {
	int n;
	slot s[4];
};

/* Like a parsed header list (picohttpparser gives name lengths): compare
 * lengths, then names case-insensitively. */
const char *get(void *c, const char *key, size_t *len)
{
	carrier *h = static_cast<carrier *>(c);
	size_t kl = strlen(key);

	for (int i = 0; i < h->n; i++)
		if (h->s[i].klen == kl && strncasecmp(h->s[i].key, key, kl) == 0) {
			*len = h->s[i].len;
			return h->s[i].val;
		}
	return nullptr;
}

void set(void *c, const char *key, const char *value, size_t len)
{
	carrier *h = static_cast<carrier *>(c);
	size_t kl = strlen(key);
	int i = 0;

	while (i < h->n &&
	       (h->s[i].klen != kl || strncasecmp(h->s[i].key, key, kl) != 0))
		i++;
	if (i == 4 || len >= sizeof(h->s[i].val) || kl >= sizeof(h->s[i].key))
		return;
	if (i == h->n) {
		memcpy(h->s[i].key, key, kl + 1);
		h->s[i].klen = kl;
		h->n++;
	}
	memcpy(h->s[i].val, value, len);
	h->s[i].len = len;
}

const sr_carrier_getter_t getter = { get, nullptr };

const sr_propagator_t *prop(const char *names)
{
	sr_propagator_t *p = nullptr;

	sr_propagator_create(names, &p);
	return p;
}

const sr_propagator_t *tc()
{
	static const sr_propagator_t *p = prop("tracecontext");
	return p;
}

const sr_propagator_t *dflt()
{
	static const sr_propagator_t *p = prop("tracecontext,baggage");
	return p;
}

sr_context_t sample_ctx()
{
	sr_context_t c;

	memset(&c, 0, sizeof(c));
	for (int i = 0; i < 16; i++)
		c.trace_id[i] = (uint8_t)(0x4b + 17 * i);
	for (int i = 0; i < 8; i++)
		c.span_id[i] = (uint8_t)(0xf0 - 13 * i);
	c.trace_flags = SR_TRACE_FLAG_SAMPLED;
	return c;
}

const sr_context_t k_in = sample_ctx();
thread_local carrier t_out;
thread_local carrier t_bad;
thread_local carrier t_ts;

void setup()
{
	tc();
	dflt();
	memset(&t_bad, 0, sizeof(t_bad));
	set(&t_bad, "traceparent",
	    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", 55);
	set(&t_ts, "traceparent",
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", 55);
	set(&t_ts, "tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", 39);
}

inline __attribute__((always_inline)) void roundtrip(const sr_propagator_t *p)
{
	sr_context_t out;

	/* The setter replaces the value of a field it already holds. */
	sr_propagator_inject(p, &k_in, &t_out, set);
	sr_propagator_extract(p, &t_out, &getter, &out);
	benchmark::DoNotOptimize(out);
}

/* Threads of the 2-thread runs get their own malformed / tracestate
 * carriers (thread_local), filled on first use. */
inline __attribute__((always_inline)) carrier *bad()
{
	if (__builtin_expect(t_bad.n == 0, 0))
		setup();
	return &t_bad;
}

inline __attribute__((always_inline)) carrier *with_ts()
{
	if (__builtin_expect(t_ts.n == 0, 0))
		setup();
	return &t_ts;
}

} // namespace

SRB_HOT_X(BM_prop_traceparent_inject_extract, setup, srb::nothing, 0,
	  srb::runnable)
{
	roundtrip(tc());
}

SRB_HOT_X(BM_prop_default_inject_extract, setup, srb::nothing, 0,
	  srb::runnable)
{
	roundtrip(dflt());
}

SRB_HOT_X(BM_prop_extract_malformed, setup, srb::nothing, 0, srb::runnable)
{
	sr_context_t out;

	sr_propagator_extract(tc(), bad(), &getter, &out);
	benchmark::DoNotOptimize(out);
}

SRB_HOT_X(BM_prop_extract_tracestate, setup, srb::nothing, 0, srb::runnable)
{
	sr_context_t out;

	sr_propagator_extract(tc(), with_ts(), &getter, &out);
	benchmark::DoNotOptimize(out);
}
