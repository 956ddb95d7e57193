/*
 * span_start.c - starting a span (the hot path's first half) and reading
 * its identity back.
 *
 * The common start (sr__span_start) is one frameless leaf: thread state
 * current, the TSC clock, a valid current context or none, a sampling
 * decision that needs no trace id.  Everything else goes to the full
 * start.  See span_end.c for the rest of the hot path and span_int.h for
 * the span's layout.
 */
#include <stddef.h>
#include <string.h>

#include "clock_int.h"
#include "error_int.h"
#include "ids_int.h"
#include "sampler_int.h"
#include "scope_int.h"
#include "span_int.h"
#include "tally_int.h"

SR_API bool sr_context_is_valid(const sr_context_t *ctx)
{
	return context_valid(ctx);
}

/* ------------------------------------------------------------------ */
/* Start                                                               */
/* ------------------------------------------------------------------ */

/*
 * An unsampled span is counted at its start, in a per-thread tally that
 * reaches the thread's node only every SR__UNSAMPLED_BATCH spans (or at a
 * stats call, flush or exit on that thread), so an unsampled span never
 * enters the RCU read side and its end costs nothing.  `started` in a stats snapshot can lag by less than
 * that many spans per thread.
 */
#define SR__UNSAMPLED_BATCH 64

/* Bring this thread's generator and tally to the running generation
 * (they are stale after an init or a fork), and allow the fast start once
 * they are and the clock is the TSC.  Slow path of every start. */
static __attribute__((noinline)) void tls_sync(void)
{
	uint32_t gen = SR__SETTING(sr__g.gen);

	if (sr__tls_rng.gen != gen)
		sr__rng_reseed(&sr__tls_rng);
	if (sr__tls_unsampled.gen != gen) {
		sr__unsampled_flush(false);
		sr__tally_sync(gen);
		sr__tls_unsampled.gen = gen;
		/* A thread that only ever starts unsampled spans takes no
		 * node, so nothing else would publish its tally at exit. */
		sr__thread_watch_exit();
	}
	sr__tls.synced_gen = sr__stamp_is_tsc() ? gen : 0;
}

static inline bool tls_synced(void)
{
	uint32_t gen = SR__SETTING(sr__g.gen);

	return SR__LIKELY(sr__tls_rng.gen == gen && sr__tls_unsampled.gen == gen);
}

/* The first 8 bytes of the span's tail (state, fast_end, nslots, gen) in
 * one store: a word sr__span_word() made at init. */
static inline void set_word(struct sr__span *s, uint64_t w)
{
	memcpy(&s->state, &w, 8);
}

/* Every start: the seed of the ids (drawn when read, record_int.h), and
 * the parent's trace id, span id and state, or none.  Returns the seed. */
static inline __attribute__((always_inline)) uint64_t
set_identity(struct sr__span *s, struct sr__tls_state *tl,
	     const sr_context_t *par)
{
	struct sr__span_header *h = HDR(s);
	uint64_t seed = sr__rng_take_seed(&tl->rng);

	memcpy(h->span_id, &seed, 8);
	if (par) {
		memcpy(h->trace_id, par->trace_id, 16);
		memcpy(h->parent_span_id, par->span_id, 8);
		s->state_words[0] = par->state_[0];
		s->state_words[1] = par->state_[1];
	} else {
		memset(h->parent_span_id, 0, 8);
		s->state_words[0] = s->state_words[1] = 0;
	}
	return seed;
}

/* One more unsampled start; returns the new count.  On x86 the add is one
 * instruction, so a signal handler on this thread that starts spans of
 * its own between a read and a write of the tally loses none of them (its
 * flush empties the tally with an exchange: span_end.c). */
static inline uint32_t tally_bump(uint32_t *pending)
{
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
	__asm__ __volatile__("addl $1, %0" : "+m"(*pending));
	return *pending;
#else
	return ++*pending;
#endif
}

/* The header's random bit for a span whose parent has W3C flags f.
 * Inverted (set when the flag is clear) so that a root, the common
 * case, adds nothing to the constant part of its bits. */
static inline unsigned hb_not_random(uint8_t f)
{
	return (unsigned)(~f & SR_TRACE_FLAG_RANDOM) << 5;
}
_Static_assert(SR__HB_NOT_RANDOM == SR_TRACE_FLAG_RANDOM << 5,
	       "hb_not_random()");

/* Every unsampled start, after set_identity: context only, counted in
 * the tally.  Of the header's bits only a child's random flag is kept
 * (see span_flags). */
static inline __attribute__((always_inline)) void
set_unsampled(struct sr__span *s, struct sr__tls_state *tl,
	      const sr_context_t *par)
{
	if (par)
		HDR(s)->bits = (uint8_t)hb_not_random(par->trace_flags);
	set_word(s, SR__SETTING(sr__g.span_word_ctx));
	if (SR__UNLIKELY(tally_bump(&tl->unsampled.pending) >= SR__UNSAMPLED_BATCH))
		sr__unsampled_flush(false);
}

/*
 * The full start: sr_span_start_ex, and sr_span_start's rarer cases (see
 * sr__span_start for the common one).  `par` is NULL or a valid context;
 * tls_synced() holds.
 */
static void span_start(sr_span_t *sp, const sr_tracer_t *tracer,
		       const char *name, sr_span_kind_t kind,
		       const sr_context_t *par, uint64_t start_ns,
		       unsigned flags)
{
	struct sr__span *s = S(sp);
	struct sr__span_header *h = HDR(s);
	struct sr__tls_state *tl = &sr__tls;
	const struct sr__sampler *smp = &sr__g.sampler;
	uint64_t seed = set_identity(s, tl, par);
	unsigned tsc_bit;
	bool sampled;

	if (par)
		sampled = SR__SETTING(smp->kind) >= SR_SAMPLER_PARENTBASED_ALWAYS_ON
				  ? (par->trace_flags & SR_TRACE_FLAG_SAMPLED) != 0
				  : sr__sample_root(smp, sr__load64(par->trace_id + 8));
	else /* always_off and always_on need no trace id to decide */
		sampled = SR__SETTING(smp->bound) != 0 &&
			  sr__sample_root(smp, sr__seed_trace_lo(seed));
	if (!sampled) {
		set_unsampled(s, tl, par);
		return;
	}
	sr__tally_bump(&tl->started);
	tsc_bit = !start_ns && sr__stamp_is_tsc() ? SR__HB_TSC : 0;
	h->name = name ? name : "";
	h->tracer = tracer ? (uint8_t)tracer->index : 0;
	h->bits = (uint8_t)(((unsigned)kind - 1u < 5u ? (unsigned)kind
						      : SR_KIND_INTERNAL) |
			    (par ? hb_not_random(par->trace_flags) |
					   (par->remote ? SR__HB_PARENT_REMOTE : 0)
				 : 0) |
			    tsc_bit);
	set_word(s, SR__SETTING(sr__g.span_word_rec));
	s->booked = BOOK_NONE;
	if (SR__LIKELY(tsc_bit))
		h->start_ns = sr__stamp_tsc();
	else
		h->start_ns = start_ns ? start_ns : sr__realtime_ns();
	if (SR__UNLIKELY(flags & SR_SPAN_NAME_COPY))
		sr_span_update_name(sp, name);
	if (par && SR__UNLIKELY(par->state_[0]))
		sr__span_add_tracestate(s);
}

/* A context without ids (say, extracted from a request that carried
 * only baggage) cannot be a parent, but its baggage still belongs to the
 * new root span. */
static __attribute__((noinline)) void keep_baggage(sr_span_t *sp,
						   const sr_context_t *c)
{
	S(sp)->state_words[1] = c->state_[1];
}

/*
 * The inline fast paths (span_inline.h) call these only while sr__active is
 * set; a span started as the pipeline stops carries a generation that no
 * longer matches and is ignored at its end.
 */
SR_API void sr__span_start_ex(sr_span_t *sp, const sr_tracer_t *tracer,
			     const char *name, sr_span_kind_t kind,
			     const sr_context_t *parent, uint64_t start_ns,
			     unsigned flags)
{
	const sr_context_t *par, *given;

	if (!tls_synced())
		tls_sync();
	given = (flags & SR_SPAN_ROOT) ? NULL : parent ? parent : sr__scope_top();
	par = given && context_valid(given) ? given : NULL;
	span_start(sp, tracer, name, kind, par, start_ns, flags);
	if (SR__UNLIKELY(given && !par && given->state_[1]))
		keep_baggage(sp, given);
}

static __attribute__((noinline)) void start_slow(sr_span_t *sp,
						 const sr_tracer_t *tracer,
						 const char *name,
						 sr_span_kind_t kind)
{
	sr__span_start_ex(sp, tracer, name, kind, NULL, 0, 0);
}

/* The fast start of an unsampled span, out of line so the sampled one
 * keeps its frameless shape. */
static __attribute__((noinline)) void start_unsampled(struct sr__span *s,
						      const sr_context_t *top)
{
	struct sr__tls_state *tl = &sr__tls;

	set_identity(s, tl, top);
	set_unsampled(s, tl, top);
}

/*
 * sr_span_start: the current context as parent, now as start time.  The
 * common case (thread state current and the TSC clock: synced_gen; a
 * valid current context or none; a decision that needs no trace id) is
 * written out here as a frameless leaf; the rest goes to the full form.
 */
SR_API void sr__span_start(sr_span_t *sp, const sr_tracer_t *tracer,
			  const char *name, sr_span_kind_t kind)
{
	struct sr__span *s = S(sp);
	struct sr__span_header *h = HDR(s);
	struct sr__tls_state *tl = &sr__tls;
	uint32_t depth = tl->scope.depth;
	const sr_context_t *top = depth ? &tl->scope.stack[depth - 1] : NULL;
	int decided = top ? SR__SETTING(sr__g.child_decision[top->trace_flags &
							     SR_TRACE_FLAG_SAMPLED])
			  : SR__SETTING(sr__g.root_decision);

	if (SR__UNLIKELY(tl->synced_gen != SR__SETTING(sr__g.gen) || decided < 0) ||
	    (top && SR__UNLIKELY(!context_valid(top)))) {
		start_slow(sp, tracer, name, kind); /* a tail call */
		return;
	}
	if (!decided) {
		start_unsampled(s, top); /* a tail call */
		return;
	}
	h->name = name; /* the wrapper made it non-NULL */
	h->tracer = tracer ? (uint8_t)tracer->index : 0;
	set_identity(s, tl, top);
	sr__tally_bump(&tl->started);
	h->bits = (uint8_t)(((unsigned)kind & SR__HB_KIND_MASK) |
			    (top ? hb_not_random(top->trace_flags) |
					   (top->remote ? SR__HB_PARENT_REMOTE : 0)
				 : 0) |
			    SR__HB_TSC);
	set_word(s, SR__SETTING(sr__g.span_word_rec));
	s->booked = BOOK_NONE;
	sr__stamp_tsc_to(&h->start_ns);
	if (top && SR__UNLIKELY(top->state_[0]))
		sr__span_add_tracestate(s);
}

/*
 * The span's W3C flags: sampled as decided at its start, random as its
 * trace's.  A root span's trace id is ours, drawn at random, so a root
 * (no parent span id) is random without storing it; a child has its
 * parent's random flag in the header's bits (written by every child
 * start, sampled or not).  The other bits are reserved ("MUST be zero")
 * and are not kept.
 */
static inline uint8_t span_flags(const struct sr__span *s)
{
	const struct sr__span_header *h =
		(const struct sr__span_header *)(const void *)s->rec;
	uint64_t parent;

	if (SR__LIKELY(s->state != SPAN_CTX)) /* bits written for a root too */
		return (uint8_t)((SR_TRACE_FLAG_SAMPLED | SR_TRACE_FLAG_RANDOM) ^
				 ((h->bits >> 5) & SR_TRACE_FLAG_RANDOM));
	memcpy(&parent, h->parent_span_id, 8);
	return parent && (h->bits & SR__HB_NOT_RANDOM) ? 0 : SR_TRACE_FLAG_RANDOM;
}

_Static_assert(offsetof(sr_context_t, remote) == offsetof(sr_context_t, trace_flags) + 1 &&
		       offsetof(sr_context_t, reserved_) == offsetof(sr_context_t, trace_flags) + 2 &&
		       sizeof(((sr_context_t *)0)->reserved_) == 6,
	       "sr__span_context_to() writes flags, remote and reserved_ at once");

void sr__span_context_to(const sr_span_t *sp, sr_context_t *c)
{
	const struct sr__span *s = (const struct sr__span *)(const void *)sp;
	uint64_t w;
	const struct sr__span_header *h =
		(const struct sr__span_header *)(const void *)s->rec;

	if (s->state == SPAN_OFF) {
		memset(c, 0, sizeof(*c));
		return;
	}
	sr__header_ids(h, c->trace_id, c->span_id);
	/* trace_flags, remote = 0 and the reserved bytes in one store. */
	w = span_flags(s);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w <<= 56;
#endif
	memcpy(&c->trace_flags, &w, 8);
	memcpy(c->state_, s->state_words, sizeof(c->state_));
}

SR_API sr_context_t sr_span_context(const sr_span_t *sp)
{
	sr_context_t c;

	if (!sp) {
		sr__null_arg("sr_span_context", "span");
		memset(&c, 0, sizeof(c));
		return c;
	}
	sr__span_context_to(sp, &c);
	return c;
}

SR_API bool sr_span_is_recording(const sr_span_t *sp)
{
	const struct sr__span *s = (const struct sr__span *)(const void *)sp;

	if (!sp) {
		sr__null_arg("sr_span_is_recording", "span");
		return false;
	}
	return s->state == SPAN_REC &&
	       ck_pr_load_int(&sr__g.running);
}
