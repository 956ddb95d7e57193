/*
 * tls_int.h - the library's per-thread state, in one TLS object.
 *
 * In a shared library each initial-exec TLS variable costs its own GOT
 * load (the variable's offset from the thread pointer) before the access
 * itself; with everything the hot path touches in one object, a span's
 * start or end loads that offset once.  The owning thread is the only
 * one to touch any of it, except `busy`, which shutdown reads (see
 * sr__busy_enter in pipeline_int.h).
 */
#ifndef SR_TLS_INT_H
#define SR_TLS_INT_H

#include <stdbool.h>

#include "spanring_int.h"

struct sr__thread;

/* ids_int.h: the id generator's Weyl state, and the generation it was
 * seeded for. */
struct sr__rng {
	uint64_t s;
	uint32_t gen;
};

/* span_end.c: unsampled spans counted here, not yet on the thread's node. */
struct sr__unsampled_tally {
	uint32_t gen;
	uint32_t pending;
};

/* tally.c: the sampled spans this thread started in pipeline generation
 * `gen`, which stats read in place (sr__tally_sum) instead of waiting for
 * the thread to publish them.
 *   sampled: the owner adds with one instruction (sr__tally_bump): the
 *            only writer, never split by a signal handler; stats read it
 *            with a relaxed atomic load under the tally lock.
 *   gen, linked, prev, next: under the tally lock (its holders block
 *            signals, so a handler's first start never waits on it). */
struct sr__start_tally {
	uint64_t sampled;
	uint32_t gen;
	bool linked;
	struct sr__start_tally *prev, *next;
};

/* scope_int.h: the active-span stack. */
struct sr__scope_tls {
	uint32_t depth;
	uint32_t next_cookie;
	uint32_t cookies[SR_SCOPE_MAX_DEPTH];
	sr_context_t stack[SR_SCOPE_MAX_DEPTH];
};

struct sr__tls_state {
	uint32_t synced_gen;        /* rng and tally belong to this
	                               generation and the clock is the TSC:
	                               span_start.c's fast start may run           */
	struct sr__rng rng;
	struct sr__unsampled_tally unsampled;
	struct sr__start_tally started;
	struct sr__thread *thread;  /* node in pipeline `gen` (registry.c)  */
	uint32_t gen;
	uint32_t busy;              /* see sr__busy_enter                   */
	struct sr__scope_tls scope;
};
extern SR__TLS struct sr__tls_state sr__tls;

#define sr__tls_rng (sr__tls.rng)
#define sr__tls_unsampled (sr__tls.unsampled)
#define sr__tls_thread (sr__tls.thread)
#define sr__tls_gen (sr__tls.gen)
#define sr__tls_busy (sr__tls.busy)
#define sr__tls_scope (sr__tls.scope)

#endif /* SR_TLS_INT_H */
