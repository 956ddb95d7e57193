/*
 * span_int.h - the hot path's private header: what the span's three files
 * share (span_start.c, span_items.c, span_end.c): the private layout of
 * sr_span_t, the generation and slow marks, and the bookkeeping that every
 * out-of-line call that changes a recording span does (book_in/book_out,
 * sr__span_pin).  Everything the fast start and fast end use is static
 * inline here or in their own file, so each stays one leaf function.
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
#ifndef SR_SPAN_INT_H
#define SR_SPAN_INT_H

#include <stddef.h>
#include <string.h>

#include "pipeline_int.h"

#define SR__INLINE_SLOTS 14u

/* Span states.  One byte, so every item call checks a single compare.
 * DONE (ended) keeps the context readable, for links. */
enum { SPAN_OFF = 0, SPAN_CTX = 1, SPAN_REC = 2, SPAN_DONE = 3 };

/* `booked`: whether the out-of-line bookkeeping below is initialised. */
enum { BOOK_NONE = 0, BOOK_CLEAN = 1 };

/*
 * The private layout of sr_span_t.
 *
 * The inline attribute paths in span_inline.h append ATTR items of one
 * slot (two for a copied string of 9 to 40 bytes) on their own while they
 * end at or below fast_end, touching only rec[], nslots and (to read)
 * fast_end and state.  Everything else is bookkeeping for the
 * out-of-line calls, which initialise it on first use (book_in), so a
 * span that only ever gets inline attributes never pays for it.  `attrs`
 * counts ATTR items up to slot `synced`; book_in counts those appended
 * inline past it (inline_attrs).  fast_end allows one slot per attribute
 * left under the limit, so a two-slot string never takes the span past
 * it.  fast_end is recomputed after
 * every out-of-line call (book_out) and is 0 whenever the state is not
 * RECORDING, which is what lets the inline paths test it alone.
 */
struct sr__span {
	unsigned char rec[SR__HEADER_SIZE + SR__INLINE_SLOTS * SR__SLOT_SIZE];
	uint8_t state;             /* SPAN_*                  (offset 512) */
	uint8_t fast_end;          /* inline appends while nslots < this   */
	uint16_t nslots;           /* slots used (the header's copy is set
	                              at end)                              */
	uint32_t gen;              /* pipeline generation at start         */
	uint64_t state_words[2];   /* trace state / baggage of the context */
	uint8_t booked;            /* BOOK_NONE or BOOK_CLEAN              */
	uint8_t nchunks;
	uint8_t status_final;      /* OK was set: status is frozen          */
	uint8_t pinned;            /* holds the RCU read side (sr__span_pin)   */
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
	       "span_inline.h (the ABI) uses these offsets");
_Static_assert(offsetof(struct sr__span, gen) == SR__SPAN_STATE_AT + 4,
	       "sr__span_word() writes state, fast_end, nslots and gen at once");
_Static_assert(SPAN_CTX == SR__SPAN_CONTEXT && SPAN_REC == SR__SPAN_RECORDING,
	       "span_inline.h state values");
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
		       SR__SPAN_ITEM_INL_MAX == SR__INLINE_STR &&
		       SR__SPAN_ITEM_INL2_MAX == SR__INLINE_STR + SR__SLOT_SIZE &&
		       SR__INLINE_SLOTS >= 2,
	       "span_inline.h writes ATTR items in the record layout");

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

/*
 * Overflow chunks belong to the pipeline, which sr_shutdown frees after
 * its grace period: a span may write into its chunks only inside an RCU
 * read-side critical section, in which it has checked that its pipeline
 * is still the live one.  sr__span_pin() enters it (at most once per out-of-line
 * call: `pinned`), when the call starts with chunks held or when it first
 * needs a chunk; book_out leaves it.  A span whose pipeline is gone is
 * dead: nothing it holds may be touched, so it just stops recording.
 */
struct sr__pipeline *sr__span_pin(struct sr__span *s);

static inline void unpin(struct sr__span *s)
{
	if (SR__UNLIKELY(s->pinned)) {
		s->pinned = 0;
		sr__rcu_read_unlock();
	}
}

/* ATTR items appended inline in slots [from, to): one slot each, but a
 * copied string of more than SR__INLINE_STR bytes continues into the
 * next (span_inline.h). */
static inline uint32_t inline_attrs(const struct sr__span *s, uint32_t from,
				    uint32_t to)
{
	uint32_t n = 0;

	while (from < to) {
		const struct sr__item *it = (const struct sr__item *)(const void *)
			(s->rec + SR__HEADER_SIZE + (size_t)from * SR__SLOT_SIZE);

		from += it->vtype == SR_ATTR_STRING ? sr__str_slots(it->len) : 1;
		n++;
	}
	return n;
}

/* Out-of-line calls that change a recording span begin with book_in and,
 * if it returns true, end with book_out (see struct sr__span); false:
 * the span is dead (see sr__span_pin). */
static inline bool book_in(struct sr__span *s)
{
	if (SR__UNLIKELY(s->booked == BOOK_NONE)) {
		memset(&s->nchunks, 0,
		       sizeof(*s) - offsetof(struct sr__span, nchunks));
		s->booked = BOOK_CLEAN;
		s->attrs = (uint16_t)inline_attrs(s, 0, s->nslots);
	} else {
		s->attrs = (uint16_t)(s->attrs + inline_attrs(s, s->synced, s->nslots));
	}
	s->synced = s->nslots;
	if (SR__UNLIKELY(s->nchunks) && !sr__span_pin(s)) {
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

/* ---- shared out-of-line pieces ------------------------------------ */

/* span_items.c: append the parent's trace-state reference as an item. */
void sr__span_add_tracestate(struct sr__span *s);

/* span_items.c: room for n slots past the inline room (overflow chunks),
 * or NULL (the caller counts the drop).  One slot below max_slots is kept
 * for the DROPPED item, which passes `last` to use it. */
struct sr__item *sr__span_item_alloc_slow(struct sr__span *s, uint32_t n,
					  bool last);

#endif /* SR_SPAN_INT_H */
