/*
 * span_end.c - ending a span into this thread's ring: the frameless fast
 * end (TSC time, node in the span's pipeline, nothing dropped, no chunk)
 * under the busy mark, and every other case (slow end) inside the RCU
 * read side, together so they share one copy of the record writer.  Also
 * the unsampled tally other files flush.
 */
#include <stddef.h>
#include <string.h>

#include "clock_int.h"
#include "span_int.h"

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
 * of the end (see SR__AVX2_CLONES), two SSE moves each elsewhere. */
typedef unsigned char sr__v32 __attribute__((vector_size(32), aligned(32)));

static inline void copy_line(unsigned char *d, const unsigned char *s)
{
	((sr__v32 *)(void *)d)[0] = ((const sr__v32 *)(const void *)s)[0];
	((sr__v32 *)(void *)d)[1] = ((const sr__v32 *)(const void *)s)[1];
}

/* Copy `lines` (1 to 8) cache lines between 64-byte aligned buffers
 * (ring records, sr_span_t): a common span's 2-4 lines with no memcpy
 * call. */
static inline void copy_lines(void *dst, const void *src, uint32_t lines)
{
	unsigned char *d = dst;
	const unsigned char *sr = src;

	switch (lines) { /* unrolled */
	case 8: copy_line(d + 448, sr + 448); /* fall through */
	case 7: copy_line(d + 384, sr + 384); /* fall through */
	case 6: copy_line(d + 320, sr + 320); /* fall through */
	case 5: copy_line(d + 256, sr + 256); /* fall through */
	case 4: copy_line(d + 192, sr + 192); /* fall through */
	case 3: copy_line(d + 128, sr + 128); /* fall through */
	case 2: copy_line(d + 64, sr + 64);   /* fall through */
	default: copy_line(d, sr);
	}
}

/* Records in the inline part of a span's stream (header and
 * SR__INLINE_SLOTS slots), and in one overflow chunk. */
#define SR__INLINE_RECORDS (1u + SR__INLINE_SLOTS / SR__RECORD_SLOTS)
#define SR__CHUNK_RECORDS (SR__CHUNK_SLOTS / SR__RECORD_SLOTS)
_Static_assert(SR__INLINE_SLOTS % SR__RECORD_SLOTS == 0,
	       "a chunk's first slot starts a record");
_Static_assert(SR__INLINE_RECORDS == SR__CONTIG_RECORDS,
	       "every span sr_span_t holds is contiguous in the ring");

/* A span of `nrec` <= SR__CONTIG_RECORDS records: its whole stream is in
 * sr_span_t, and it goes into the ring in one piece (record_int.h). */
static inline __attribute__((always_inline)) void
write_contiguous(struct sr__ring *r, struct sr__span *s, uint32_t first,
		 uint32_t nrec)
{
	copy_lines(r->records + (first & r->mask), s->rec, nrec);
}

static void write_records(struct sr__ring *r, struct sr__span *s,
			  uint32_t first, uint32_t nrec)
{
	if (sr__span_contiguous(nrec)) {
		write_contiguous(r, s, first, nrec);
		return;
	}
	/* A longer span wraps to the ring's start: record by record. */
	for (uint32_t j = 0; j < SR__INLINE_RECORDS; j++)
		copy_line(sr__ring_at(r, first + j)->bytes,
			  s->rec + j * SR__RECORD_SIZE);
	first += SR__INLINE_RECORDS;
	nrec -= SR__INLINE_RECORDS;
	for (struct sr__chunk *c = s->chunk_first; nrec; c = c->next) {
		uint32_t k = nrec < SR__CHUNK_RECORDS ? nrec : SR__CHUNK_RECORDS;

		for (uint32_t j = 0; j < k; j++)
			copy_line(sr__ring_at(r, first + j)->bytes,
				  c->bytes + j * SR__RECORD_SIZE);
		first += k;
		nrec -= k;
	}
}

static void add_dropped_item(struct sr__span *s)
{
	struct sr__dropped_item *d =
		(struct sr__dropped_item *)(void *)sr__span_item_alloc_slow(s, 1, true);

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
	/* Taken with one instruction and added with a locked one: a signal
	 * handler on this thread that starts spans (and flushes) between a
	 * read and a clear, or inside the add, loses none.  Once per
	 * SR__UNSAMPLED_BATCH spans. */
	uint32_t n = __atomic_exchange_n(&u->pending, 0, __ATOMIC_RELAXED);

	if (n && u->gen == p->gen) {
		if (t)
			ck_pr_add_64(&t->c.unsampled, n);
		else
			ck_pr_add_64(&p->started_global, n);
	}
}

/* at_exit: the thread is going (registry.c's key destructor): a thread
 * without a node does not take one to count its last spans, they go to
 * the pipeline's global tally. */
void sr__unsampled_flush(bool at_exit)
{
	struct sr__pipeline *p;

	if (!sr__tls_unsampled.pending)
		return;
	sr__rcu_read_lock();
	p = rcu_dereference(sr__g.pipe);
	if (p && p->gen == sr__tls_unsampled.gen)
		unsampled_to_node(p, !at_exit ? sr__thread_get(p)
				     : sr__tls_gen == p->gen ? sr__tls_thread
							     : NULL);
	else
		__atomic_store_n(&sr__tls_unsampled.pending, 0, __ATOMIC_RELAXED);
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
static void end_marked(struct sr__pipeline *p, struct sr__span *s);

/* Inside the read side.  The busy mark (sr__busy_enter) covers the whole
 * slow end, registration included: a signal handler that interrupts it
 * and ends a span of its own on this thread counts that span dropped
 * (reentrant) instead of writing the ring, the node's counters or the
 * registry under the interrupted code's feet. */
static void end_locked(struct sr__pipeline *p, struct sr__span *s)
{
	if (SR__UNLIKELY(sr__busy_enter())) {
		ck_pr_inc_64(&p->sampled_global);
		ck_pr_inc_64(&p->dropped_reentrant_global);
		give_back_chunks(p, s);
		return;
	}
	end_marked(p, s);
	sr__busy_exit();
}

static void end_marked(struct sr__pipeline *p, struct sr__span *s)
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
			s->pinned = 1; /* this read side: see sr__span_pin() */
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

/* A signal handler's end found the busy mark set: the interrupted code on
 * this thread is inside an end of its own (fast or slow) and owns the
 * ring.  With the pipeline still taking fast ends the mark keeps the node
 * alive (see sr__busy_enter), so count it there; else the slow end, whose
 * own detector counts it in the read side. */
static __attribute__((noinline)) void end_reentrant(struct sr__span *s,
						     uint32_t gen)
{
	if (gen == SR__SETTING(sr__fast_gen)) {
		SR__BUMP(sr__tls_thread->c.reentrant);
		return;
	}
	end_slow(s);
}

/*
 * The common case, under the busy mark instead of the RCU read side (see
 * sr__busy_enter, which also catches a signal handler's re-entry): a TSC
 * end time, this thread has its node in the span's
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
		if (SR__UNLIKELY(sr__busy_enter())) {
			end_reentrant(s, gen);
			return;
		}
		if (SR__LIKELY(gen == SR__SETTING(sr__fast_gen))) {
			struct sr__thread *t = sr__tls_thread;
			uint32_t first;

			/* A ring past its look index (full, or at its
			 * doorbell mark: ring_int.h) goes to the general end,
			 * which looks, rings or counts the drop: this
			 * function makes no call. */
			uint32_t nrec = sr__records_for_slots(s->nslots);

			if (SR__LIKELY(sr__ring_reserve_fast_sp(&t->ring, nrec,
								&first))) {
				h->tid = (uint32_t)t->tid;
				SR__BUMP(t->c.sampled);
				write_contiguous(&t->ring, s, first, nrec);
				sr__ring_commit_sp(&t->ring, nrec);
				sr__busy_exit();
				return;
			}
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

/* The end copies its records as cache lines: with AVX2 that is half the
 * instructions (SR__AVX2_CLONES). */
SR_API SR__AVX2_CLONES void sr__span_end_at(sr_span_t *sp, uint64_t end_ns)
{
	span_end(S(sp), end_ns, false);
}

SR_API SR__AVX2_CLONES void sr__span_end(sr_span_t *sp)
{
	span_end(S(sp), 0, false);
}
