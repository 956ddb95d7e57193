/*
 * span.c - the hot path: start a span, add items, end it into the ring.
 *
 * An sr_span_t holds the span's first two records inline (header + 14
 * item slots, see record_int.h), so most spans are built in place on the
 * caller's stack and ending one is: take a timestamp, reserve records in
 * this thread's ring, copy the used cache lines, publish.  Items past the
 * inline room go to continuation chunks from the pipeline's shared
 * overflow pool (a slow path, lock-free).
 *
 * What the hot path touches: the span, this thread's TLS (scope stack, id
 * generator, node pointer), the read-mostly sr__g, and, inside an RCU
 * read-side critical section (urcu-bp), this thread's node and ring.  No
 * lock, no syscall, no allocation.  The first span of a thread registers
 * it (a slow path that takes the registry lock once).
 *
 * Counting: started/sampled and every drop are counted when the span
 * ends, on the thread's own counters, because only then does the hot
 * path hold the pipeline under RCU.  A span started in one pipeline and
 * ended after it was shut down (or re-initialised) is ignored.
 */
#include <stddef.h>
#include <string.h>

#include "clock_int.h"
#include "ids_int.h"
#include "pipeline_int.h"
#include "sampler_int.h"
#include "scope_int.h"

#define SR__INLINE_SLOTS 14u

/* Span states.  One byte, so every item call checks a single compare.
 * DONE (ended) keeps the context readable, for links. */
enum { SPAN_OFF = 0, SPAN_CTX = 1, SPAN_REC = 2, SPAN_DONE = 3 };

/* `booked`: whether the out-of-line bookkeeping below is initialised. */
enum { BOOK_NONE = 0, BOOK_CLEAN = 1 };

/*
 * The private layout of sr_span_t.
 *
 * The inline attribute paths in spanring.h append single-slot ATTR items
 * on their own while nslots < fast_end, touching only rec[], nslots and
 * (to read) fast_end and state.  Everything else is bookkeeping for the
 * out-of-line calls, which initialise it on first use (book_in), so a
 * span that only ever gets inline attributes never pays for it.  `attrs`
 * counts ATTR items up to slot `synced`; every slot appended inline past
 * it is one more ATTR (book_in catches up).  fast_end is recomputed after
 * every out-of-line call (book_out) and is 0 whenever the state is not
 * RECORDING, which is what lets the inline paths test it alone.
 */
struct sr__span {
	unsigned char rec[2 * SR__RECORD_SIZE]; /* header + 14 slots     */
	uint8_t state;             /* SPAN_*                  (offset 512) */
	uint8_t fast_end;          /* inline appends while nslots < this   */
	uint16_t nslots;           /* slots used (the header's copy is set
	                              at end)                              */
	uint32_t gen;              /* pipeline generation at start         */
	uint64_t state_words[2];   /* trace state / baggage of the context */
	uint8_t booked;            /* BOOK_NONE or BOOK_CLEAN              */
	uint8_t nchunks;
	uint8_t status_final;      /* OK was set: status is frozen          */
	uint8_t pinned;            /* holds the RCU read side (see pin())   */
	uint16_t attrs, synced;
	uint16_t events, links;
	uint32_t d_attrs;
	struct sr__chunk *chunk_first;
	uint32_t d_events, d_links;
	uint32_t truncated;        /* strings truncated in this span        */
	uint32_t overflowed;       /* items lost to an empty overflow pool  */
};
_Static_assert(sizeof(struct sr__span) <= SR_SPAN_SIZE, "sr_span_t too small");
_Static_assert(_Alignof(sr_span_t) >= 64, "sr_span_t alignment");
_Static_assert(offsetof(struct sr__span, state) == SR__SPAN_STATE_AT &&
		       offsetof(struct sr__span, fast_end) == SR__SPAN_FAST_END_AT &&
		       offsetof(struct sr__span, nslots) == SR__SPAN_NSLOTS_AT,
	       "the inline fast paths in spanring.h use these offsets");
_Static_assert(offsetof(struct sr__span, gen) == SR__SPAN_STATE_AT + 4,
	       "sr__span_word() writes state, fast_end, nslots and gen at once");
_Static_assert(SPAN_CTX == SR__SPAN_CONTEXT && SPAN_REC == SR__SPAN_RECORDING,
	       "spanring.h state values");
_Static_assert(SR__SPAN_SLOTS_AT == SR__HEADER_SIZE &&
		       SR__SPAN_SLOT_SIZE == SR__SLOT_SIZE &&
		       SR__SPAN_ITEM_ATTR == SR__ITEM_ATTR &&
		       sizeof(struct sr__item_head) == 8 &&
		       offsetof(struct sr__item_head, len) == 4 &&
		       offsetof(struct sr__item, key) == 8 &&
		       offsetof(struct sr__item, v) == 16 &&
		       offsetof(struct sr__item, inl) == SR__SPAN_ITEM_INL_AT &&
		       sizeof(struct sr__slot) == SR__SLOT_SIZE &&
		       offsetof(struct sr__slot, key) == 8 &&
		       offsetof(struct sr__slot, v) == 16 &&
		       offsetof(struct sr__slot, inl) == SR__SPAN_ITEM_INL_AT &&
		       offsetof(struct sr__span_tail, fast_end) == 1 &&
		       offsetof(struct sr__span_tail, nslots) == 2 &&
		       SR__SPAN_ITEM_INL_MAX == SR__INLINE_STR,
	       "spanring.h writes ATTR items in the record layout");

#define S(sp) ((struct sr__span *)(void *)(sp))
/* A span whose end needs the slow path (something dropped, chunks held)
 * has the top bit of gen set, which the end's fast path compares anyway
 * (generations stay far below 2^31).  span_gen() is the generation
 * itself, span_slow() the mark. */
#define SR__GEN_SLOW 0x80000000u
#define MARK_SLOW(s) ((s)->gen |= SR__GEN_SLOW)
#define DROP(s, field) ((s)->field++, MARK_SLOW(s))
static inline uint32_t span_gen(const struct sr__span *s)
{
	return s->gen & ~SR__GEN_SLOW;
}
static inline bool span_slow(const struct sr__span *s)
{
	return (s->gen & SR__GEN_SLOW) != 0;
}
#define HDR(s) ((struct sr__span_header *)(void *)(s)->rec)

/* The header's random bit for a span whose parent has W3C flags f.
 * Inverted (set when the flag is clear) so that a root, the common
 * case, adds nothing to the constant part of its bits. */
static inline unsigned hb_not_random(uint8_t f)
{
	return (unsigned)(~f & SR_TRACE_FLAG_RANDOM) << 5;
}
_Static_assert(SR__HB_NOT_RANDOM == SR_TRACE_FLAG_RANDOM << 5,
	       "hb_not_random()");

/*
 * Overflow chunks belong to the pipeline, which sr_shutdown frees after
 * its grace period: a span may write into its chunks only inside an RCU
 * read-side critical section, in which it has checked that its pipeline
 * is still the live one.  pin() enters it (at most once per out-of-line
 * call: `pinned`), when the call starts with chunks held or when it first
 * needs a chunk; book_out leaves it.  A span whose pipeline is gone is
 * dead: nothing it holds may be touched, so it just stops recording.
 */
static __attribute__((noinline)) struct sr__pipeline *pin(struct sr__span *s)
{
	struct sr__pipeline *p;

	if (!s->pinned) {
		sr__rcu_read_lock();
		s->pinned = 1;
	}
	/* Checked again when already pinned: a shutdown that has begun
	 * since has unpublished the pipeline, and this span is dead too. */
	p = rcu_dereference(sr__g.pipe);
	if (SR__LIKELY(p && p->gen == span_gen(s)))
		return p;
	s->state = SPAN_DONE; /* its end would be ignored anyway */
	s->fast_end = 0;
	return NULL;
}

static inline void unpin(struct sr__span *s)
{
	if (SR__UNLIKELY(s->pinned)) {
		s->pinned = 0;
		sr__rcu_read_unlock();
	}
}

/* Out-of-line calls that change a recording span begin with book_in and,
 * if it returns true, end with book_out (see struct sr__span); false:
 * the span is dead (see pin). */
static inline bool book_in(struct sr__span *s)
{
	if (SR__UNLIKELY(s->booked == BOOK_NONE)) {
		memset(&s->nchunks, 0,
		       sizeof(*s) - offsetof(struct sr__span, nchunks));
		s->booked = BOOK_CLEAN;
		s->attrs = s->nslots; /* all appended inline: one ATTR each */
	} else {
		s->attrs = (uint16_t)(s->attrs + s->nslots - s->synced);
	}
	s->synced = s->nslots;
	if (SR__UNLIKELY(s->nchunks) && !pin(s)) {
		unpin(s);
		return false;
	}
	return true;
}

static inline void book_out(struct sr__span *s)
{
	uint32_t end = SR__SETTING(sr__g.limits.fast_end); /* 0: no inline appends */

	unpin(s);

	s->synced = s->nslots;
	if (end && s->attrs < SR__SETTING(sr__g.limits.attrs)) {
		uint32_t by_limit = s->nslots + SR__SETTING(sr__g.limits.attrs) - s->attrs;

		end = SR__SETTING(sr__g.limits.inline_slots) < by_limit
			      ? SR__SETTING(sr__g.limits.inline_slots)
			      : by_limit;
	} else {
		end = 0;
	}
	s->fast_end = (uint8_t)(s->state == SPAN_REC ? end : 0);
}

static inline bool id_nonzero(const uint8_t *p, size_t n)
{
	uint64_t a = 0, b;

	for (size_t i = 0; i < n; i += 8) {
		memcpy(&b, p + i, 8);
		a |= b;
	}
	return a != 0;
}

static inline bool context_valid(const sr_context_t *ctx)
{
	return ctx && id_nonzero(ctx->trace_id, 16) &&
	       id_nonzero(ctx->span_id, 8);
}

SR_API bool sr_context_is_valid(const sr_context_t *ctx)
{
	return context_valid(ctx);
}

/* ------------------------------------------------------------------ */
/* Start                                                               */
/* ------------------------------------------------------------------ */

static void add_tracestate(struct sr__span *s);

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
		sr__unsampled_flush();
		sr__tls_unsampled.gen = gen;
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
	if (SR__UNLIKELY(++tl->unsampled.pending >= SR__UNSAMPLED_BATCH))
		sr__unsampled_flush();
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
		add_tracestate(s);
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
 * The inline wrappers in spanring.h call these only while sr__active is
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
	h->bits = (uint8_t)(((unsigned)kind & SR__HB_KIND_MASK) |
			    (top ? hb_not_random(top->trace_flags) |
					   (top->remote ? SR__HB_PARENT_REMOTE : 0)
				 : 0) |
			    SR__HB_TSC);
	set_word(s, SR__SETTING(sr__g.span_word_rec));
	s->booked = BOOK_NONE;
	sr__stamp_tsc_to(&h->start_ns);
	if (top && SR__UNLIKELY(top->state_[0]))
		add_tracestate(s);
}

/* ------------------------------------------------------------------ */
/* The item stream                                                     */
/* ------------------------------------------------------------------ */

/* Address of stream byte `pos` (slot * 32 + offset). */
static unsigned char *stream_byte(struct sr__span *s, uint32_t pos)
{
	struct sr__chunk *c;
	uint32_t k;

	if (pos < SR__INLINE_SLOTS * SR__SLOT_SIZE)
		return s->rec + SR__HEADER_SIZE + pos;
	pos -= SR__INLINE_SLOTS * SR__SLOT_SIZE;
	for (c = s->chunk_first, k = pos / SR__RECORD_SIZE; k; k--)
		c = c->next;
	return c->rec.bytes + pos % SR__RECORD_SIZE;
}

/* Slow path of item_alloc: the span needs overflow chunks, or is at its
 * size limit.  One slot below max_slots is kept for the DROPPED item,
 * which passes `last` to use it. */
static struct sr__item *item_alloc_slow(struct sr__span *s, uint32_t n,
					bool last)
{
	struct sr__pipeline *p;
	struct sr__chunk **tail;
	uint32_t need = s->nslots + n;

	if (need > SR__SETTING(sr__g.limits.max_slots) - (last ? 0 : 1))
		return NULL;
	/* Pinned until book_out (or end_slow): the chunks, and writes
	 * into them, stay inside the read side. */
	if (!(p = pin(s)))
		return NULL;
	for (tail = &s->chunk_first; *tail; tail = &(*tail)->next)
		;
	while (SR__INLINE_SLOTS + s->nchunks * SR__CONT_SLOTS < need) {
		struct sr__chunk *c = sr__chunk_get(p);

		if (!c) {
			DROP(s, overflowed);
			return NULL;
		}
		c->next = NULL;
		*tail = c;
		tail = &c->next;
		s->nchunks++;
		MARK_SLOW(s); /* the end must copy and return chunks */
	}
	s->nslots = (uint16_t)need;
	return (struct sr__item *)(void *)stream_byte(
		s, (need - n) * SR__SLOT_SIZE);
}

/* Room for an item of n slots at the end of the stream, or NULL (the
 * caller counts the drop). */
static inline struct sr__item *item_alloc(struct sr__span *s, uint32_t n)
{
	uint32_t at = s->nslots;

	if (SR__LIKELY(at + n <= SR__SETTING(sr__g.limits.inline_slots))) {
		s->nslots = (uint16_t)(at + n);
		return (struct sr__item *)(void *)(s->rec + SR__HEADER_SIZE +
						   at * SR__SLOT_SIZE);
	}
	return item_alloc_slow(s, n, false);
}

/* Copy a string into the item that starts at stream slot `at` (bytes from
 * item->inl on, running into the following slots, possibly across into
 * overflow chunks, which are not contiguous with the inline slots). */
static void put_string(struct sr__span *s, uint32_t at, struct sr__item *it,
		       const char *v, uint32_t len)
{
	const uint32_t inline_end = SR__INLINE_SLOTS * SR__SLOT_SIZE;
	uint32_t pos = at * SR__SLOT_SIZE + (uint32_t)offsetof(struct sr__item, inl);

	it->len = len;
	if (SR__LIKELY(len <= SR__INLINE_STR)) {
		sr__copy_short(it->inl, v, len);
		return;
	}
	while (len) {
		/* Contiguous run: to the end of the inline area or chunk. */
		uint32_t bound = pos < inline_end
					 ? inline_end
					 : pos + SR__RECORD_SIZE -
						   (pos - inline_end) % SR__RECORD_SIZE;
		uint32_t room = bound - pos < len ? bound - pos : len;

		memcpy(stream_byte(s, pos), v, room);
		v += room;
		len -= room;
		pos += room;
	}
}

static inline uint32_t clamp_len(struct sr__span *s, size_t len)
{
	if (SR__UNLIKELY(len > SR__SETTING(sr__g.limits.value_len))) {
		DROP(s, truncated);
		return SR__SETTING(sr__g.limits.value_len);
	}
	return (uint32_t)len;
}

/* Append one attribute as an item; false if it did not fit. */
static bool put_attr(struct sr__span *s, const char *key, sr_attr_type_t t,
		     const sr_attr_t *a)
{
	struct sr__item *it;
	uint32_t len = 0, at = 0;

	if (t == SR_ATTR_STRING) {
		len = clamp_len(s, a->len);
		it = item_alloc(s, sr__str_slots(len));
		at = s->nslots - sr__str_slots(len);
	} else {
		it = item_alloc(s, 1);
	}
	if (SR__UNLIKELY(!it))
		return false;
	it->kind = SR__ITEM_ATTR;
	it->vtype = (uint8_t)t;
	it->count = 0;
	it->key = key;
	switch (t) {
	case SR_ATTR_BOOL: it->v.u = a->v.b; it->len = 0; break;
	case SR_ATTR_INT: it->v.i = a->v.i; it->len = 0; break;
	case SR_ATTR_DOUBLE: it->v.d = a->v.d; it->len = 0; break;
	case SR_ATTR_STRING_STATIC:
		it->v.s = a->v.s;
		it->len = a->len;
		break;
	case SR_ATTR_STRING:
		it->v.u = 0;
		put_string(s, at, it, a->v.s ? a->v.s : "", len);
		break;
	}
	return true;
}

/* One attribute, counted against the span's limit; inside book_in/out. */
static void span_attr(struct sr__span *s, const sr_attr_t *a)
{
	if (SR__UNLIKELY(s->attrs >= SR__SETTING(sr__g.limits.attrs)) ||
	    SR__UNLIKELY(!put_attr(s, a->key, a->type, a))) {
		DROP(s, d_attrs);
		return;
	}
	s->attrs++;
}

/* ------------------------------------------------------------------ */
/* Attributes, events, links, status, name                             */
/* ------------------------------------------------------------------ */

/*
 * The inline wrappers in spanring.h append attributes themselves while
 * there is room (see struct sr__span); these take the rest: past the
 * inline room or the attribute limit, long strings, a span that is not
 * recording.
 */
static void set_attr(sr_span_t *sp, const sr_attr_t *a)
{
	struct sr__span *s = S(sp);

	if (s->state != SPAN_REC)
		return;
	if (!book_in(s))
		return;
	span_attr(s, a);
	book_out(s);
}

SR_API void sr__span_set_int(sr_span_t *sp, const char *key, int64_t v)
{
	sr_attr_t a = SR_ATTR_INT_(key, v);

	set_attr(sp, &a);
}

SR_API void sr__span_set_bool(sr_span_t *sp, const char *key, bool v)
{
	sr_attr_t a = SR_ATTR_BOOL_(key, v);

	set_attr(sp, &a);
}

SR_API void sr__span_set_double(sr_span_t *sp, const char *key, double v)
{
	sr_attr_t a = SR_ATTR_DOUBLE_(key, v);

	set_attr(sp, &a);
}

SR_API void sr__span_set_strn(sr_span_t *sp, const char *key, const char *v,
			     size_t len)
{
	sr_attr_t a = SR_ATTR_STRN_(key, v ? v : "", v ? len : 0);

	set_attr(sp, &a);
}

SR_API void sr__span_set_str_static(sr_span_t *sp, const char *key,
				   const char *v)
{
	sr_attr_t a = SR_ATTR_STR_STATIC_(key, v ? v : "");

	set_attr(sp, &a);
}

SR_API void sr_span_set_attrs(sr_span_t *sp, const sr_attr_t *attrs, size_t n)
{
	struct sr__span *s = S(sp);

	if (s->state != SPAN_REC)
		return;
	if (!book_in(s))
		return;
	for (size_t i = 0; i < n; i++)
		span_attr(s, &attrs[i]);
	book_out(s);
}

/* Attributes owned by an event or a link: up to `limit` of them follow
 * the owner item; returns how many were kept (the rest are dropped). */
static uint16_t put_owned_attrs(struct sr__span *s, const sr_attr_t *attrs,
				size_t n, uint32_t limit, uint32_t *dropped)
{
	uint16_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		if (kept >= limit || !put_attr(s, attrs[i].key, attrs[i].type,
					       &attrs[i])) {
			(*dropped)++;
			continue;
		}
		kept++;
	}
	return kept;
}

/* Inside book_in/book_out: the owned attributes are not span attributes,
 * so `synced` moves past them without counting them. */
static void add_event(struct sr__span *s, const char *name, uint64_t ts_ns,
		      const sr_attr_t *attrs, size_t n)
{
	struct sr__item *it;
	uint32_t dropped = 0;

	if (s->events >= SR__SETTING(sr__g.limits.events) || !(it = item_alloc(s, 1))) {
		DROP(s, d_events);
		return;
	}
	/* Items never move once allocated (inline slots and chunks stay
	 * put), so `it` stays valid while its attributes are appended. */
	it->kind = SR__ITEM_EVENT;
	it->vtype = 0;
	it->key = name ? name : "";
	if (!ts_ns && (HDR(s)->bits & SR__HB_TSC)) {
		it->v.u = sr__stamp(); /* same clock as the span's own times */
		it->vtype = 1;
	} else {
		it->v.u = ts_ns ? ts_ns : sr__now_inline();
	}
	it->count = put_owned_attrs(s, attrs, n, SR__SETTING(sr__g.limits.event_attrs),
				    &dropped);
	it->len = dropped;
	s->events++;
}

SR_API void sr__span_add_event(sr_span_t *sp, const char *name, uint64_t ts_ns,
			      const sr_attr_t *attrs, size_t n)
{
	struct sr__span *s = S(sp);

	if (s->state != SPAN_REC)
		return;
	if (!book_in(s))
		return;
	add_event(s, name, ts_ns, attrs, n);
	book_out(s);
}

static void add_link(struct sr__span *s, const sr_context_t *ctx,
		     const sr_attr_t *attrs, size_t n)
{
	struct sr__link_item *li;
	uint32_t dropped = 0;
	uint16_t kept;

	if (s->links >= SR__SETTING(sr__g.limits.links) ||
	    !(li = (struct sr__link_item *)item_alloc(s, 1))) {
		DROP(s, d_links);
		return;
	}
	li->kind = SR__ITEM_LINK;
	li->trace_flags = ctx->trace_flags;
	memcpy(li->span_id, ctx->span_id, 8);
	memcpy(li->trace_id, ctx->trace_id, 16);
	kept = put_owned_attrs(s, attrs, n, SR__SETTING(sr__g.limits.link_attrs), &dropped);
	li->count = kept;
	li->dropped_attrs = dropped;
	s->links++;
}

SR_API void sr_span_add_link(sr_span_t *sp, const sr_context_t *ctx,
			     const sr_attr_t *attrs, size_t n)
{
	struct sr__span *s = S(sp);

	if (s->state != SPAN_REC || !sr_context_is_valid(ctx))
		return;
	if (!book_in(s))
		return;
	add_link(s, ctx, attrs, n);
	book_out(s);
}

/* A copied string as its own item (name, status message); inside
 * book_in/book_out. */
static void put_string_item(struct sr__span *s, uint8_t kind, const char *v)
{
	uint32_t len = clamp_len(s, v ? strlen(v) : 0);
	struct sr__item *it = item_alloc(s, sr__str_slots(len));

	if (!it) {
		DROP(s, d_attrs);
		return;
	}
	it->kind = kind;
	it->vtype = 0;
	it->count = 0;
	it->key = NULL;
	it->v.u = 0;
	put_string(s, s->nslots - sr__str_slots(len), it, v ? v : "", len);
}

SR_API void sr_span_set_status(sr_span_t *sp, sr_status_code_t code,
			       const char *message)
{
	struct sr__span *s = S(sp);
	struct sr__span_header *h = HDR(s);

	if (s->state != SPAN_REC || code == SR_STATUS_UNSET)
		return; /* OTel: setting Unset is ignored */
	if (!book_in(s))
		return;
	if (!s->status_final) {
		h->bits = (uint8_t)((h->bits & ~SR__HB_STATUS_MASK) |
				    ((unsigned)code << SR__HB_STATUS_SHIFT));
		if (code == SR_STATUS_OK)
			s->status_final = 1;
		else if (message && *message)
			put_string_item(s, SR__ITEM_STATUS_MSG, message);
	}
	book_out(s);
}

SR_API void sr_span_record_error(sr_span_t *sp, const char *type,
				 const char *message)
{
	sr_attr_t a[2];
	size_t n = 0;

	if (S(sp)->state != SPAN_REC)
		return;
	if (type)
		a[n++] = SR_ATTR_STR_("exception.type", type);
	if (message)
		a[n++] = SR_ATTR_STR_("exception.message", message);
	sr_span_add_event(sp, "exception", 0, a, n);
	sr_span_set_status(sp, SR_STATUS_ERROR, message);
}

SR_API void sr_span_update_name(sr_span_t *sp, const char *name)
{
	struct sr__span *s = S(sp);

	if (s->state != SPAN_REC)
		return;
	if (!book_in(s))
		return;
	/* The last NAME item wins at decode time. */
	HDR(s)->name = NULL;
	put_string_item(s, SR__ITEM_NAME, name);
	book_out(s);
}

static __attribute__((noinline)) void add_tracestate(struct sr__span *s)
{
	struct sr__item *it;

	if (!book_in(s))
		return;
	it = item_alloc(s, 1);
	if (it) {
		memset(it, 0, sizeof(*it));
		it->kind = SR__ITEM_TRACESTATE;
		it->v.u = s->state_words[0];
	}
	book_out(s);
}

/* ------------------------------------------------------------------ */
/* End                                                                 */
/* ------------------------------------------------------------------ */

static void give_back_chunks(struct sr__pipeline *p, struct sr__span *s)
{
	struct sr__chunk *c, *next;

	if (s->booked == BOOK_NONE)
		return; /* chunk_first is not even initialised */
	for (c = s->chunk_first; c; c = next) {
		next = c->next;
		sr__chunk_put(p, c);
	}
	s->chunk_first = NULL;
}

/* A cache line as two 32-byte vectors: one move each in the AVX2 clone
 * of the end (see SR__END_CLONES), two SSE moves each elsewhere. */
typedef unsigned char sr__v32 __attribute__((vector_size(32), aligned(32)));

static inline void copy_line(unsigned char *d, const unsigned char *s)
{
	((sr__v32 *)(void *)d)[0] = ((const sr__v32 *)(const void *)s)[0];
	((sr__v32 *)(void *)d)[1] = ((const sr__v32 *)(const void *)s)[1];
}

/* Copy `bytes` (a multiple of 64 or the whole record) cache line by line
 * between 64-byte aligned buffers (ring records, sr_span_t, chunks): the
 * common one-record span copies 2-4 lines with no memcpy call. */
static inline void copy_lines(void *dst, const void *src, uint32_t bytes)
{
	unsigned char *d = dst;
	const unsigned char *sr = src;

	switch (bytes >> 6) { /* 1..4 lines, unrolled */
	case 4: copy_line(d + 192, sr + 192); /* fall through */
	case 3: copy_line(d + 128, sr + 128); /* fall through */
	case 2: copy_line(d + 64, sr + 64);   /* fall through */
	default: copy_line(d, sr);
	}
}

/* The span's inline records (one or two): its whole stream when it has
 * no overflow chunks.  Copies only the cache lines in use. */
static inline __attribute__((always_inline)) void
write_inline_records(struct sr__ring *r, struct sr__span *s, uint32_t first,
		     uint32_t nrec)
{
	uint32_t slots = s->nslots;

	if (nrec == 1) {
		copy_lines(sr__ring_at(r, first), s->rec,
			   (SR__HEADER_SIZE + slots * SR__SLOT_SIZE + 63) & ~63u);
		return;
	}
	copy_lines(sr__ring_at(r, first), s->rec, SR__RECORD_SIZE);
	slots -= SR__HEAD_SLOTS;
	if (slots > SR__CONT_SLOTS)
		slots = SR__CONT_SLOTS;
	copy_lines(sr__ring_at(r, first + 1), s->rec + SR__RECORD_SIZE,
		   (slots * SR__SLOT_SIZE + 63) & ~63u);
}

static void write_records(struct sr__ring *r, struct sr__span *s,
			  uint32_t first, uint32_t nrec)
{
	uint32_t slots;

	write_inline_records(r, s, first, nrec < 2 ? nrec : 2);
	if (nrec <= 2)
		return;
	slots = s->nslots - SR__HEAD_SLOTS - SR__CONT_SLOTS;
	/* Chunk k is record 2 + k of the span. */
	first += 2;
	for (struct sr__chunk *c = s->chunk_first; slots; c = c->next) {
		uint32_t k = slots >= SR__CONT_SLOTS ? SR__CONT_SLOTS : slots;

		copy_lines(sr__ring_at(r, first++), c->rec.bytes,
			   (k * SR__SLOT_SIZE + 63) & ~63u);
		slots -= k;
	}
}

static void add_dropped_item(struct sr__span *s)
{
	struct sr__dropped_item *d =
		(struct sr__dropped_item *)(void *)item_alloc_slow(s, 1, true);

	if (!d)
		return;
	memset(d, 0, sizeof(*d));
	d->kind = SR__ITEM_DROPPED;
	d->attrs = s->d_attrs;
	d->events = s->d_events;
	d->links = s->d_links;
}

/* Inside the read side: move this thread's tally to node `t` of `p`. */
static inline void unsampled_to_node(struct sr__pipeline *p,
				     struct sr__thread *t)
{
	struct sr__unsampled_tally *u = &sr__tls_unsampled;

	if (u->pending && u->gen == p->gen) {
		if (t)
			SR__ADD(t->c.unsampled, u->pending);
		else
			ck_pr_add_64(&p->started_global, u->pending);
	}
	u->pending = 0;
}

void sr__unsampled_flush(void)
{
	struct sr__pipeline *p;

	if (!sr__tls_unsampled.pending)
		return;
	sr__rcu_read_lock();
	p = rcu_dereference(sr__g.pipe);
	if (p && p->gen == sr__tls_unsampled.gen)
		unsampled_to_node(p, sr__thread_get(p));
	sr__tls_unsampled.pending = 0;
	sr__rcu_read_unlock();
}

/* End time when it is not a plain TSC reading: an explicit time on one
 * side, or no TSC clock.  Settles both times on ns. */
static __attribute__((noinline)) uint64_t end_time_slow(struct sr__span *s,
							 uint64_t end_ns)
{
	struct sr__span_header *h = HDR(s);

	if (h->bits & SR__HB_TSC) {
		h->start_ns = sr__tsc_to_ns(h->start_ns);
		h->bits &= (uint8_t)~SR__HB_TSC;
	}
	return end_ns ? end_ns : sr__now_inline();
}

/* Every case but the common one, inside the read side: no node yet (or
 * none left), drops to count, shutdown in progress, overflow chunks, no
 * membarrier.  p is the live pipeline of s->gen. */
static void end_locked(struct sr__pipeline *p, struct sr__span *s)
{
	struct sr__span_header *h = HDR(s);
	struct sr__thread *t = sr__thread_get(p);
	uint32_t nrec, first;

	if (sr__tls_unsampled.pending)
		unsampled_to_node(p, t);
	if (!t) {
		/* No ring for this thread (max_threads): count globally. */
		ck_pr_inc_64(&p->sampled_global);
		ck_pr_inc_64(&p->dropped_limits_global);
		give_back_chunks(p, s);
		return;
	}
	SR__BUMP(t->c.sampled);
	if (span_slow(s)) {
		SR__ADD(t->c.attrs_dropped, s->d_attrs);
		SR__ADD(t->c.events_dropped, s->d_events);
		SR__ADD(t->c.links_dropped, s->d_links);
		SR__ADD(t->c.strings_truncated, s->truncated);
		SR__ADD(t->c.overflow_exhausted, s->overflowed);
	}
	if (!ck_pr_load_int(&sr__g.running)) {
		SR__BUMP(t->c.shutdown);
		give_back_chunks(p, s);
		return;
	}
	nrec = sr__records_for_slots(s->nslots);
	h->tid = (uint32_t)t->tid;
	if (!sr__ring_reserve_sp(&t->ring, nrec, &first)) {
		SR__BUMP(t->c.ring_full);
		give_back_chunks(p, s);
		return;
	}
	write_records(&t->ring, s, first, nrec);
	sr__ring_commit_sp(&t->ring, nrec);
	give_back_chunks(p, s);
}

static __attribute__((noinline)) void end_slow(struct sr__span *s)
{
	struct sr__pipeline *p;

	sr__rcu_read_lock();
	p = rcu_dereference(sr__g.pipe);
	if (SR__LIKELY(p && p->gen == span_gen(s))) {
		if (span_slow(s) &&
		    (s->d_attrs | s->d_events | s->d_links)) {
			s->pinned = 1; /* this read side: see pin() */
			add_dropped_item(s);
			s->pinned = 0;
			HDR(s)->nslots = s->nslots;
		}
		end_locked(p, s);
	}
	/* else: started in a pipeline that is gone */
	sr__rcu_read_unlock();
}

static void end_general(struct sr__span *s, uint64_t end_ns);

/*
 * The common case, under the busy mark instead of the RCU read side (see
 * sr__busy_enter): a TSC end time, this thread has its node in the span's
 * pipeline, the pipeline takes fast ends, nothing was dropped and no chunk
 * is held.  `general` (a constant) is false in the frameless fast copy,
 * which leaves every other case to end_general.
 */
static inline __attribute__((always_inline)) void
span_end(struct sr__span *s, uint64_t end_ns, bool general)
{
	struct sr__span_header *h = HDR(s);
	uint64_t now;
	uint32_t gen;

	if (SR__UNLIKELY(s->state != SPAN_REC))
		return;
	if (!general && SR__UNLIKELY(!(h->bits & SR__HB_TSC) || end_ns)) {
		end_general(s, end_ns);
		return;
	}
	/* fast_end stays: an inline attribute set after the end lands in
	 * the dead span, which is what ignoring it means. */
	s->state = SPAN_DONE;
	if (general) {
		now = (h->bits & SR__HB_TSC) && !end_ns ? sr__stamp()
							 : end_time_slow(s, end_ns);
		h->end_ns = now >= h->start_ns ? now : h->start_ns;
	} else {
		/* The TSC bit says the clock is the TSC.  No clamp: the
		 * decode clamps TSC times when it converts them. */
		sr__stamp_tsc_to(&h->end_ns);
	}
	h->nslots = s->nslots;
	gen = sr__tls_gen;
	if (SR__LIKELY(s->gen == gen)) { /* not MARK_SLOW'd either */
		sr__busy_enter();
		if (SR__LIKELY(gen == __atomic_load_n(&sr__fast_gen,
						      __ATOMIC_RELAXED))) {
			struct sr__thread *t = sr__tls_thread;
			uint32_t first;

			h->tid = (uint32_t)t->tid;
			SR__BUMP(t->c.sampled);
			/* One record (most spans) or two, spelt out so each
			 * copy is straight-line code. */
			if (SR__LIKELY(s->nslots <= SR__HEAD_SLOTS)) {
				if (SR__LIKELY(sr__ring_reserve_sp(&t->ring, 1,
								   &first))) {
					write_inline_records(&t->ring, s, first, 1);
					sr__ring_commit_sp(&t->ring, 1);
				} else {
					SR__BUMP(t->c.ring_full);
				}
			} else if (sr__ring_reserve_sp(&t->ring, 2, &first)) {
				write_inline_records(&t->ring, s, first, 2);
				sr__ring_commit_sp(&t->ring, 2);
			} else {
				SR__BUMP(t->c.ring_full);
			}
			sr__busy_exit();
			return;
		}
		sr__busy_exit();
	}
	end_slow(s);
}

static __attribute__((noinline)) void end_general(struct sr__span *s,
						  uint64_t end_ns)
{
	span_end(s, end_ns, true);
}

/* The end copies one or two records of cache lines: with AVX2 that is
 * half the instructions.  target_clones picks the copy at load time
 * (an ifunc), where the PLT call already goes through a pointer.  Not
 * under sanitizers: an instrumented ifunc resolver runs before their
 * runtime is up (ThreadSanitizer crashes at load). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
	!defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
#define SR__END_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SR__END_CLONES
#endif

SR_API SR__END_CLONES void sr__span_end_at(sr_span_t *sp, uint64_t end_ns)
{
	span_end(S(sp), end_ns, false);
}

SR_API SR__END_CLONES void sr__span_end(sr_span_t *sp)
{
	span_end(S(sp), 0, false);
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

	sr__span_context_to(sp, &c);
	return c;
}

SR_API bool sr_span_is_recording(const sr_span_t *sp)
{
	const struct sr__span *s = (const struct sr__span *)(const void *)sp;

	return s->state == SPAN_REC &&
	       ck_pr_load_int(&sr__g.running);
}
