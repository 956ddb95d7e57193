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

/* Per-span bookkeeping reset at every sampled start (one memset). */
struct sr__span_book {
	struct sr__chunk *chunk_first, *chunk_last;
	uint16_t nchunks;
	uint16_t attrs, events, links;
	uint16_t d_attrs, d_events, d_links;
	uint8_t status_final;      /* OK was set: status is frozen          */
	uint8_t dirty;             /* something was dropped or truncated    */
	uint32_t truncated;        /* strings truncated in this span        */
	uint32_t overflowed;       /* items lost to an empty overflow pool  */
};

/* The private layout of sr_span_t. */
struct sr__span {
	unsigned char rec[2 * SR__RECORD_SIZE]; /* header + 14 slots     */
	uint8_t state;             /* SPAN_*; public offset, see spanring.h */
	uint8_t remote_parent;
	uint32_t gen;              /* pipeline generation at start          */
	uint64_t state_words[2];   /* trace state / baggage of the context */
	struct sr__span_book b;
};
_Static_assert(sizeof(struct sr__span) <= SR_SPAN_SIZE, "sr_span_t too small");
_Static_assert(_Alignof(sr_span_t) >= 64, "sr_span_t alignment");
_Static_assert(offsetof(struct sr__span, state) == SR__SPAN_STATE_AT,
	       "the inline fast paths in spanring.h read the state here");
_Static_assert(SPAN_CTX == SR__SPAN_CONTEXT && SPAN_REC == SR__SPAN_RECORDING,
	       "spanring.h state values");

#define S(sp) ((struct sr__span *)(void *)(sp))
#define DROP(s, field) ((s)->b.field++, (s)->b.dirty = 1)
#define HDR(s) ((struct sr__span_header *)(void *)(s)->rec)

static inline bool id_nonzero(const uint8_t *p, size_t n)
{
	uint64_t a = 0, b;

	for (size_t i = 0; i < n; i += 8) {
		memcpy(&b, p + i, 8);
		a |= b;
	}
	return a != 0;
}

SR_API bool sr_context_is_valid(const sr_context_t *ctx)
{
	return ctx && id_nonzero(ctx->trace_id, 16) &&
	       id_nonzero(ctx->span_id, 8);
}

/* ------------------------------------------------------------------ */
/* Start                                                               */
/* ------------------------------------------------------------------ */

static void add_tracestate(struct sr__span *s);

/* Both start calls, inlined into each: `par` is NULL or a valid context. */
static inline __attribute__((always_inline)) void
span_start(sr_span_t *sp, const sr_tracer_t *tracer, const char *name,
	   sr_span_kind_t kind, const sr_context_t *par, uint64_t start_ns,
	   unsigned flags)
{
	struct sr__span *s = S(sp);
	struct sr__span_header *h = HDR(s);
	struct sr__rng *rng = sr__rng_get();
	unsigned tsc = 0;

	if (par) {
		memcpy(h->trace_id, par->trace_id, 16);
		s->state_words[0] = par->state_[0];
		s->state_words[1] = par->state_[1];
		s->remote_parent = par->remote;
	} else {
		sr__new_trace_id_from(rng, h->trace_id);
		s->state_words[0] = s->state_words[1] = 0;
		s->remote_parent = 0;
	}
	sr__new_span_id_from(rng, h->span_id);
	s->gen = sr__g.gen;
	if (!sr__sample_inline(&sr__g.sampler, h->trace_id, par)) {
		h->bits = 0;
		s->state = SPAN_CTX;
		return;
	}
	s->state = SPAN_REC;
	if (par)
		memcpy(h->parent_span_id, par->span_id, 8);
	else
		memset(h->parent_span_id, 0, 8);
	if (SR__LIKELY(!start_ns)) {
		h->start_ns = sr__stamp();
		tsc = sr__stamp_is_tsc() ? SR__HB_TSC : 0;
	} else {
		h->start_ns = start_ns;
	}
	h->name = name ? name : "";
	h->tracer = tracer ? (uint8_t)tracer->index : 0;
	h->bits = (uint8_t)(((unsigned)kind - 1u < 5u ? (unsigned)kind
						      : SR_KIND_INTERNAL) |
			    (s->remote_parent ? SR__HB_PARENT_REMOTE : 0) |
			    SR__HB_SAMPLED | tsc);
	h->nslots = 0;
	memset(&s->b, 0, sizeof(s->b));
	if (SR__UNLIKELY(s->state_words[0]))
		add_tracestate(s);
	if (SR__UNLIKELY(flags & SR_SPAN_NAME_COPY))
		sr_span_update_name(sp, name);
}

/* A context without ids (say, extracted from a request that carried
 * only baggage) cannot be a parent, but its baggage still belongs to the
 * new root span. */
static __attribute__((noinline)) void keep_baggage(sr_span_t *sp,
						   const sr_context_t *c)
{
	S(sp)->state_words[1] = c->state_[1];
}

SR_API void sr__span_start_ex(sr_span_t *sp, const sr_tracer_t *tracer,
			     const char *name, sr_span_kind_t kind,
			     const sr_context_t *parent, uint64_t start_ns,
			     unsigned flags)
{
	const sr_context_t *par, *given;

	if (SR__UNLIKELY(!ck_pr_load_int(&sr__g.running))) {
		S(sp)->state = SPAN_OFF;
		return;
	}
	given = (flags & SR_SPAN_ROOT) ? NULL : parent ? parent : sr__scope_top();
	par = given && sr_context_is_valid(given) ? given : NULL;
	span_start(sp, tracer, name, kind, par, start_ns, flags);
	if (SR__UNLIKELY(given && !par && given->state_[1]))
		keep_baggage(sp, given);
}

SR_API void sr__span_start(sr_span_t *sp, const sr_tracer_t *tracer,
			  const char *name, sr_span_kind_t kind)
{
	const sr_context_t *top;

	if (SR__UNLIKELY(!ck_pr_load_int(&sr__g.running))) {
		S(sp)->state = SPAN_OFF;
		return;
	}
	top = sr__scope_top();
	if (SR__LIKELY(!top || sr_context_is_valid(top))) {
		span_start(sp, tracer, name, kind, top, 0, 0);
		return;
	}
	span_start(sp, tracer, name, kind, NULL, 0, 0);
	if (top->state_[1])
		keep_baggage(sp, top);
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
	for (c = s->b.chunk_first, k = pos / SR__RECORD_SIZE; k; k--)
		c = c->next;
	return c->rec.bytes + pos % SR__RECORD_SIZE;
}

/* Slow path of item_alloc: the span needs overflow chunks, or is at its
 * size limit.  One slot below max_slots is kept for the DROPPED item,
 * which passes `last` to use it. */
static struct sr__item *item_alloc_slow(struct sr__span *s, uint32_t n,
					bool last)
{
	struct sr__span_header *h = HDR(s);
	struct sr__pipeline *p;
	uint32_t need = h->nslots + n;

	if (need > sr__g.limits.max_slots - (last ? 0 : 1))
		return NULL;
	/* The pipeline cannot be freed under us: it is only freed after
	 * sr_shutdown's grace period, and a span of an old generation never
	 * reaches here. */
	sr__rcu_read_lock();
	p = rcu_dereference(sr__g.pipe);
	if (!p || p->gen != s->gen) {
		sr__rcu_read_unlock();
		return NULL;
	}
	while (SR__INLINE_SLOTS + s->b.nchunks * SR__CONT_SLOTS < need) {
		struct sr__chunk *c = sr__chunk_get(p);

		if (!c) {
			sr__rcu_read_unlock();
			DROP(s, overflowed);
			return NULL;
		}
		c->next = NULL;
		if (s->b.chunk_last)
			s->b.chunk_last->next = c;
		else
			s->b.chunk_first = c;
		s->b.chunk_last = c;
		s->b.nchunks++;
	}
	sr__rcu_read_unlock();
	h->nslots = (uint16_t)need;
	return (struct sr__item *)(void *)stream_byte(
		s, (need - n) * SR__SLOT_SIZE);
}

/* Room for an item of n slots at the end of the stream, or NULL (the
 * caller counts the drop). */
static inline struct sr__item *item_alloc(struct sr__span *s, uint32_t n)
{
	struct sr__span_header *h = HDR(s);
	uint32_t at = h->nslots;

	if (SR__LIKELY(at + n <= sr__g.limits.inline_slots)) {
		h->nslots = (uint16_t)(at + n);
		return (struct sr__item *)(void *)(s->rec + SR__HEADER_SIZE +
						   at * SR__SLOT_SIZE);
	}
	return item_alloc_slow(s, n, false);
}

/* Copy 0..8 bytes without a memcpy call: overlapping fixed-size moves
 * (the usual small-copy trick), never reading outside [src, src+len). */
static inline void copy_small(char *dst, const char *src, size_t len)
{
	if (len >= 4) {
		uint32_t a, b;

		memcpy(&a, src, 4);
		memcpy(&b, src + len - 4, 4);
		memcpy(dst, &a, 4);
		memcpy(dst + len - 4, &b, 4);
	} else if (len) {
		dst[0] = src[0];
		dst[len / 2] = src[len / 2];
		dst[len - 1] = src[len - 1];
	}
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
		copy_small(it->inl, v, len);
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
	if (SR__UNLIKELY(len > sr__g.limits.value_len)) {
		DROP(s, truncated);
		return sr__g.limits.value_len;
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
		at = HDR(s)->nslots - sr__str_slots(len);
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

static inline void span_attr(struct sr__span *s, const sr_attr_t *a)
{
	if (SR__UNLIKELY(s->b.attrs >= sr__g.limits.attrs) ||
	    SR__UNLIKELY(!put_attr(s, a->key, a->type, a))) {
		DROP(s, d_attrs);
		return;
	}
	s->b.attrs++;
}

/* ------------------------------------------------------------------ */
/* Attributes, events, links, status, name                             */
/* ------------------------------------------------------------------ */

SR_API void sr__span_set_int(sr_span_t *sp, const char *key, int64_t v)
{
	struct sr__span *s = S(sp);
	struct sr__item *it;

	if (s->state != SPAN_REC)
		return;
	/* Open-coded fast path of span_attr for the most common type. */
	if (SR__UNLIKELY(s->b.attrs >= sr__g.limits.attrs) ||
	    SR__UNLIKELY(!(it = item_alloc(s, 1)))) {
		DROP(s, d_attrs);
		return;
	}
	it->kind = SR__ITEM_ATTR;
	it->vtype = SR_ATTR_INT;
	it->count = 0;
	it->len = 0;
	it->key = key;
	it->v.i = v;
	s->b.attrs++;
}

SR_API void sr__span_set_bool(sr_span_t *sp, const char *key, bool v)
{
	sr_attr_t a = SR_ATTR_BOOL_(key, v);

	if (S(sp)->state == SPAN_REC)
		span_attr(S(sp), &a);
}

SR_API void sr__span_set_double(sr_span_t *sp, const char *key, double v)
{
	sr_attr_t a = SR_ATTR_DOUBLE_(key, v);

	if (S(sp)->state == SPAN_REC)
		span_attr(S(sp), &a);
}

SR_API void sr__span_set_strn(sr_span_t *sp, const char *key, const char *v,
			     size_t len)
{
	struct sr__span *s = S(sp);
	struct sr__item *it;
	sr_attr_t a;

	if (s->state != SPAN_REC)
		return;
	if (SR__LIKELY(len <= SR__INLINE_STR && len <= sr__g.limits.value_len &&
		       s->b.attrs < sr__g.limits.attrs)) {
		/* Short strings fit in the item itself. */
		if (SR__UNLIKELY(!(it = item_alloc(s, 1)))) {
			DROP(s, d_attrs);
			return;
		}
		it->kind = SR__ITEM_ATTR;
		it->vtype = SR_ATTR_STRING;
		it->count = 0;
		it->key = key;
		it->v.u = 0;
		it->len = (uint32_t)len;
		copy_small(it->inl, v, len);
		s->b.attrs++;
		return;
	}
	a = SR_ATTR_STRN_(key, v, len);
	span_attr(s, &a);
}

SR_API void sr__span_set_str_static(sr_span_t *sp, const char *key,
				   const char *v)
{
	sr_attr_t a = SR_ATTR_STR_STATIC_(key, v ? v : "");

	if (S(sp)->state == SPAN_REC)
		span_attr(S(sp), &a);
}

SR_API void sr_span_set_attrs(sr_span_t *sp, const sr_attr_t *attrs, size_t n)
{
	struct sr__span *s = S(sp);

	if (s->state != SPAN_REC)
		return;
	for (size_t i = 0; i < n; i++)
		span_attr(s, &attrs[i]);
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

SR_API void sr__span_add_event(sr_span_t *sp, const char *name, uint64_t ts_ns,
			      const sr_attr_t *attrs, size_t n)
{
	struct sr__span *s = S(sp);
	struct sr__item *it;
	uint32_t dropped = 0;

	if (s->state != SPAN_REC)
		return;
	if (s->b.events >= sr__g.limits.events || !(it = item_alloc(s, 1))) {
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
	it->count = put_owned_attrs(s, attrs, n, sr__g.limits.event_attrs,
				    &dropped);
	it->len = dropped;
	s->b.events++;
}

SR_API void sr_span_add_link(sr_span_t *sp, const sr_context_t *ctx,
			     const sr_attr_t *attrs, size_t n)
{
	struct sr__span *s = S(sp);
	struct sr__link_item *li;
	uint32_t dropped = 0;
	uint16_t kept;

	if (s->state != SPAN_REC || !sr_context_is_valid(ctx))
		return;
	if (s->b.links >= sr__g.limits.links ||
	    !(li = (struct sr__link_item *)item_alloc(s, 1))) {
		DROP(s, d_links);
		return;
	}
	li->kind = SR__ITEM_LINK;
	li->trace_flags = ctx->trace_flags;
	memcpy(li->span_id, ctx->span_id, 8);
	memcpy(li->trace_id, ctx->trace_id, 16);
	kept = put_owned_attrs(s, attrs, n, sr__g.limits.link_attrs, &dropped);
	li->count = kept;
	li->dropped_attrs = dropped;
	s->b.links++;
}

/* A copied string as its own item (name, status message). */
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
	put_string(s, HDR(s)->nslots - sr__str_slots(len), it, v ? v : "", len);
}

SR_API void sr_span_set_status(sr_span_t *sp, sr_status_code_t code,
			       const char *message)
{
	struct sr__span *s = S(sp);
	struct sr__span_header *h = HDR(s);

	if (s->state != SPAN_REC || s->b.status_final)
		return;
	if (code == SR_STATUS_UNSET)
		return; /* OTel: setting Unset is ignored */
	h->bits = (uint8_t)((h->bits & ~SR__HB_STATUS_MASK) |
			    ((unsigned)code << SR__HB_STATUS_SHIFT));
	if (code == SR_STATUS_OK)
		s->b.status_final = 1;
	else if (message && *message)
		put_string_item(s, SR__ITEM_STATUS_MSG, message);
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
	/* The last NAME item wins at decode time. */
	HDR(s)->name = NULL;
	put_string_item(s, SR__ITEM_NAME, name);
}

static void add_tracestate(struct sr__span *s)
{
	struct sr__item *it = item_alloc(s, 1);

	if (!it)
		return;
	memset(it, 0, sizeof(*it));
	it->kind = SR__ITEM_TRACESTATE;
	it->v.u = s->state_words[0];
}

/* ------------------------------------------------------------------ */
/* End                                                                 */
/* ------------------------------------------------------------------ */

static void give_back_chunks(struct sr__pipeline *p, struct sr__span *s)
{
	struct sr__chunk *c = s->b.chunk_first, *next;

	for (; c; c = next) {
		next = c->next;
		sr__chunk_put(p, c);
	}
	s->b.chunk_first = s->b.chunk_last = NULL;
}

/* Copy `bytes` (a multiple of 64 or the whole record) cache line by line:
 * the common one-record span copies 2-4 lines with no memcpy call. */
static inline void copy_lines(void *dst, const void *src, uint32_t bytes)
{
	unsigned char *d = dst;
	const unsigned char *sr = src;

	switch (bytes >> 6) { /* 1..4 lines, unrolled */
	case 4: __builtin_memcpy(d + 192, sr + 192, 64); /* fall through */
	case 3: __builtin_memcpy(d + 128, sr + 128, 64); /* fall through */
	case 2: __builtin_memcpy(d + 64, sr + 64, 64);   /* fall through */
	default: __builtin_memcpy(d, sr, 64);
	}
}

static void write_records(struct sr__thread *t, struct sr__span *s,
			  uint32_t first, uint32_t nrec)
{
	struct sr__span_header *h = HDR(s);
	uint32_t slots = h->nslots;
	uint32_t used;

	if (nrec == 1) {
		used = SR__HEADER_SIZE + slots * SR__SLOT_SIZE;
		copy_lines(sr__ring_at(&t->ring, first), s->rec,
			   (used + 63) & ~63u);
		return;
	}
	copy_lines(sr__ring_at(&t->ring, first), s->rec, SR__RECORD_SIZE);
	slots -= SR__HEAD_SLOTS;
	used = (slots >= SR__CONT_SLOTS ? SR__CONT_SLOTS : slots) * SR__SLOT_SIZE;
	copy_lines(sr__ring_at(&t->ring, first + 1), s->rec + SR__RECORD_SIZE,
		   (used + 63) & ~63u);
	slots = slots > SR__CONT_SLOTS ? slots - SR__CONT_SLOTS : 0;
	/* Chunk k is record 2 + k of the span. */
	first += 2;
	for (struct sr__chunk *c = s->b.chunk_first; slots; c = c->next) {
		uint32_t k = slots >= SR__CONT_SLOTS ? SR__CONT_SLOTS : slots;

		copy_lines(sr__ring_at(&t->ring, first++), c->rec.bytes,
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
	d->attrs = s->b.d_attrs;
	d->events = s->b.d_events;
	d->links = s->b.d_links;
}

/*
 * Unsampled spans are counted in a per-thread tally that reaches the
 * thread's node only every SR__UNSAMPLED_BATCH spans (or with its next
 * sampled span, or at a stats call or exit on that thread), so an
 * unsampled span never enters the RCU read side.  `started` in a stats
 * snapshot can lag by less than that many spans per thread.
 */
#define SR__UNSAMPLED_BATCH 64
SR__TLS struct sr__unsampled_tally sr__tls_unsampled;

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

static void end_unsampled(const struct sr__span *s)
{
	struct sr__unsampled_tally *u = &sr__tls_unsampled;

	if (SR__UNLIKELY(u->gen != s->gen)) {
		sr__unsampled_flush();
		u->gen = s->gen;
	}
	if (SR__UNLIKELY(++u->pending >= SR__UNSAMPLED_BATCH))
		sr__unsampled_flush();
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
 * none left), a pending unsampled tally, drops to count, shutdown in
 * progress, overflow chunks.  p is the live pipeline of s->gen. */
static __attribute__((noinline)) void end_slow(struct sr__pipeline *p,
					       struct sr__span *s)
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
	if (s->b.dirty) {
		SR__ADD(t->c.attrs_dropped, s->b.d_attrs);
		SR__ADD(t->c.events_dropped, s->b.d_events);
		SR__ADD(t->c.links_dropped, s->b.d_links);
		SR__ADD(t->c.strings_truncated, s->b.truncated);
		SR__ADD(t->c.overflow_exhausted, s->b.overflowed);
	}
	if (!ck_pr_load_int(&sr__g.running)) {
		SR__BUMP(t->c.shutdown);
		give_back_chunks(p, s);
		return;
	}
	nrec = sr__records_for_slots(h->nslots);
	h->tid = (uint32_t)t->tid;
	if (!sr__ring_reserve_sp(&t->ring, nrec, &first)) {
		SR__BUMP(t->c.ring_full);
		give_back_chunks(p, s);
		return;
	}
	write_records(t, s, first, nrec);
	sr__ring_commit_sp(&t->ring, nrec);
	give_back_chunks(p, s);
}

SR_API void sr__span_end_at(sr_span_t *sp, uint64_t end_ns)
{
	struct sr__span *s = S(sp);
	struct sr__span_header *h = HDR(s);
	struct sr__pipeline *p;
	struct sr__thread *t;
	uint32_t first;
	uint64_t now;

	if (SR__UNLIKELY(s->state != SPAN_REC)) {
		if (s->state == SPAN_CTX) {
			s->state = SPAN_DONE;
			end_unsampled(s);
		}
		return;
	}
	s->state = SPAN_DONE;
	now = SR__LIKELY((h->bits & SR__HB_TSC) && !end_ns)
		      ? sr__stamp()
		      : end_time_slow(s, end_ns);
	h->end_ns = now >= h->start_ns ? now : h->start_ns;
	if (SR__UNLIKELY(s->b.d_attrs | s->b.d_events | s->b.d_links))
		add_dropped_item(s);

	sr__rcu_read_lock();
	p = rcu_dereference(sr__g.pipe);
	if (SR__UNLIKELY(!p || p->gen != s->gen))
		goto out; /* started in a pipeline that is gone */
	t = sr__tls_thread;
	/* The common case: registered, nothing to count but the span, the
	 * span fits in the two inline records, and the ring has room. */
	if (SR__LIKELY(sr__tls_gen == p->gen && !(sr__tls_unsampled.pending |
						   s->b.dirty) &&
		       !s->b.chunk_first && ck_pr_load_int(&sr__g.running))) {
		uint32_t nrec = h->nslots <= SR__HEAD_SLOTS ? 1 : 2;

		h->tid = (uint32_t)t->tid;
		if (SR__LIKELY(sr__ring_reserve_sp(&t->ring, nrec, &first))) {
			write_records(t, s, first, nrec);
			sr__ring_commit_sp(&t->ring, nrec);
			SR__BUMP(t->c.sampled);
			goto out;
		}
	}
	end_slow(p, s);
out:
	sr__rcu_read_unlock();
}

SR_API void sr__span_end(sr_span_t *sp)
{
	sr_span_end_at(sp, 0);
}

SR_API sr_context_t sr_span_context(const sr_span_t *sp)
{
	const struct sr__span *s = (const struct sr__span *)(const void *)sp;
	const struct sr__span_header *h =
		(const struct sr__span_header *)(const void *)s->rec;
	sr_context_t c;

	memset(&c, 0, sizeof(c));
	if (s->state == SPAN_OFF)
		return c;
	memcpy(c.trace_id, h->trace_id, 16);
	memcpy(c.span_id, h->span_id, 8);
	c.trace_flags = (h->bits & SR__HB_SAMPLED) ? SR_TRACE_FLAG_SAMPLED : 0;
	c.state_[0] = s->state_words[0];
	c.state_[1] = s->state_words[1];
	return c;
}

SR_API bool sr_span_is_recording(const sr_span_t *sp)
{
	const struct sr__span *s = (const struct sr__span *)(const void *)sp;

	return s->state == SPAN_REC &&
	       ck_pr_load_int(&sr__g.running);
}
