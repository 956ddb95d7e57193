/*
 * processor_hold.c - holding spans past their batch (sr_proc_hold,
 * sr_proc_emit, sr_proc_drop_held): what tail sampling is built on.
 *
 * A held span is copied out of its batch, because the batch goes back to
 * the pool once exported.  The copy is one of two kinds:
 *
 *   records   a span no processor edited: its ring records, as the batch
 *             holds them (self-contained: strings are inline or static),
 *             up to its last used item slot (the rest of the last record
 *             is never read).  Emitting appends them to the new batch's
 *             records, where they decode as if drained there.  A copy and
 *             a copy back, nothing decoded or rebuilt.
 *   view      an edited span (its view in the batch's arena, strings in
 *             the batch's records and arena): the view with its arrays
 *             and every string that lives in the batch, packed together.
 *             Emitting copies the pack into the new batch's arena in one
 *             piece and moves the pointers that pointed into the pack.
 *             Strings outside the batch are static (the sr_proc_span_set
 *             contract) and stay pointed at.
 *
 * Drainer thread only, like the rest of a processor's calls.
 */
#include <string.h>

#include "pipeline_int.h"

#define HELD_RECORDS 0x31485253u /* "SRH1" */
#define HELD_VIEW 0x31565253u    /* "SRV1" */

/* The head of a held copy.  base: where a view pack was written (the
 * pointers inside it point there). */
struct held {
	uint32_t magic;
	uint32_t len;                    /* bytes, this head included      */
	uint32_t nrec;                   /* records kind: records it fills */
	uint32_t pad_;
	uint64_t base;
	uint64_t pad2_;
};
_Static_assert(sizeof(struct held) % 16 == 0, "held head keeps alignment");

/* ---- packing an edited view ----------------------------------------- */

struct pack {
	const struct sr__pipeline *p;
	const struct sr__batch *b;
	char *dst;                       /* NULL: only measure             */
	size_t at;
};

static bool in_batch(const struct pack *k, const void *s)
{
	const char *c = s;
	const char *r = (const char *)k->b->records;

	return (c >= r && c < r + (size_t)k->p->batch_records * SR__RECORD_SIZE) ||
	       (c >= k->b->arena && c < k->b->arena + k->p->stage.arena_bytes);
}

static size_t take(struct pack *k, size_t n, size_t align)
{
	size_t at = (k->at + align - 1) & ~(align - 1);

	k->at = at + n;
	return at;
}

/* *out = s, its bytes copied into the pack if they live in the batch. */
static void pack_str(struct pack *k, sr_str_t *out, sr_str_t s)
{
	if (s.len && in_batch(k, s.ptr)) {
		size_t at = take(k, s.len, 1);

		if (k->dst) {
			memcpy(k->dst + at, s.ptr, s.len);
			s.ptr = k->dst + at;
		}
	}
	*out = s;
}

static size_t array_bytes(const sr_array_view_t *a)
{
	sr_array_iter_t it = sr_array_begin(a);
	sr_attr_view_t e;

	while (sr_array_next(&it, &e))
		;
	return (size_t)((const char *)it.pos - (const char *)a->data);
}

static const sr_attr_view_t *pack_attrs(struct pack *k,
					const sr_attr_view_t *a, uint32_t n)
{
	size_t at = take(k, (size_t)n * sizeof(*a), 8);
	sr_attr_view_t *d = k->dst ? (void *)(k->dst + at) : NULL;

	for (uint32_t i = 0; i < n; i++) {
		sr_attr_view_t t = a[i];

		pack_str(k, &t.key, a[i].key);
		if (t.type == SR_ATTR_STRING) {
			pack_str(k, &t.v.s, a[i].v.s);
		} else if (t.type == SR_ATTR_ARRAY) {
			sr_str_t raw = { a[i].v.a.data,
					 (uint32_t)array_bytes(&a[i].v.a) };

			pack_str(k, &raw, raw);
			t.v.a.data = raw.ptr;
		}
		if (d)
			d[i] = t;
	}
	return n && d ? d : NULL;
}

/* The view, its arrays and batch strings after a struct held; returns
 * the bytes from the head on. */
static size_t pack_view(struct pack *k, const sr_span_data_t *s)
{
	size_t at, ev_at, ln_at;
	sr_span_data_t t = *s;
	sr_event_view_t *ev;
	sr_link_view_t *ln;

	k->at = sizeof(struct held);
	at = take(k, sizeof(t), 8);
	t.size = sizeof(t);
	pack_str(k, &t.name, s->name);
	pack_str(k, &t.status_message, s->status_message);
	pack_str(k, &t.trace_state, s->trace_state);
	pack_str(k, &t.scope_name, s->scope_name);
	pack_str(k, &t.scope_version, s->scope_version);
	t.attrs = pack_attrs(k, s->attrs, s->attr_count);
	ev_at = take(k, (size_t)s->event_count * sizeof(*ev), 8);
	ev = k->dst ? (void *)(k->dst + ev_at) : NULL;
	for (uint32_t i = 0; i < s->event_count; i++) {
		sr_event_view_t e = s->events[i];

		pack_str(k, &e.name, s->events[i].name);
		e.attrs = pack_attrs(k, s->events[i].attrs, e.attr_count);
		if (ev)
			ev[i] = e;
	}
	t.events = s->event_count ? ev : NULL;
	ln_at = take(k, (size_t)s->link_count * sizeof(*ln), 8);
	ln = k->dst ? (void *)(k->dst + ln_at) : NULL;
	for (uint32_t i = 0; i < s->link_count; i++) {
		sr_link_view_t l = s->links[i];

		l.attrs = pack_attrs(k, s->links[i].attrs, l.attr_count);
		if (ln)
			ln[i] = l;
	}
	t.links = s->link_count ? ln : NULL;
	if (k->dst)
		memcpy(k->dst + at, &t, sizeof(t));
	return (k->at + 15) & ~(size_t)15;
}

/* ---- moving a pack's pointers to where it was copied ----------------- */

struct move {
	uintptr_t lo, hi;                /* the pack where it was written  */
	intptr_t by;
};

#define MOVE(m, ptr)                                                       \
	do {                                                               \
		uintptr_t u_ = (uintptr_t)(ptr);                           \
		if (u_ >= (m)->lo && u_ < (m)->hi)                         \
			(ptr) = (void *)(u_ + (uintptr_t)(m)->by);         \
	} while (0)

static void move_attrs(const struct move *m, sr_attr_view_t *a, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		MOVE(m, a[i].key.ptr);
		if (a[i].type == SR_ATTR_STRING)
			MOVE(m, a[i].v.s.ptr);
		else if (a[i].type == SR_ATTR_ARRAY)
			MOVE(m, a[i].v.a.data);
	}
}

static void move_view(const struct move *m, sr_span_data_t *s)
{
	sr_event_view_t *ev;
	sr_link_view_t *ln;

	MOVE(m, s->name.ptr);
	MOVE(m, s->status_message.ptr);
	MOVE(m, s->trace_state.ptr);
	MOVE(m, s->scope_name.ptr);
	MOVE(m, s->scope_version.ptr);
	MOVE(m, s->attrs);
	MOVE(m, s->events);
	MOVE(m, s->links);
	move_attrs(m, (sr_attr_view_t *)s->attrs, s->attr_count);
	ev = (sr_event_view_t *)s->events;
	for (uint32_t i = 0; i < s->event_count; i++) {
		MOVE(m, ev[i].name.ptr);
		MOVE(m, ev[i].attrs);
		move_attrs(m, (sr_attr_view_t *)ev[i].attrs, ev[i].attr_count);
	}
	ln = (sr_link_view_t *)s->links;
	for (uint32_t i = 0; i < s->link_count; i++) {
		MOVE(m, ln[i].attrs);
		move_attrs(m, (sr_attr_view_t *)ln[i].attrs, ln[i].attr_count);
	}
}

/* ---- the calls ------------------------------------------------------ */

/* Span i's records, when no processor edited it: its header, and the
 * bytes of its held copy (head included).  Inline: tail holds every span
 * it sees, and this is most of what holding one costs. */
static inline size_t records_copy_len(const struct sr__batch *b, size_t i,
				      const struct sr__span_header **sh)
{
	*sh = (const void *)b->records[b->first[i]].bytes;
	return sizeof(struct held) + SR__HEADER_SIZE +
	       (size_t)(*sh)->nslots * SR__SLOT_SIZE;
}

/* Measure (dst NULL) or write span i's held copy. */
static size_t hold_copy(sr_proc_batch_t *pb, size_t i, char *dst)
{
	struct sr__batch *b = pb->b;
	struct held h = { 0 };

	if (b->ovl[i] == SR__OVL_NONE) {
		const struct sr__span_header *sh;

		h.magic = HELD_RECORDS;
		h.len = (uint32_t)records_copy_len(b, i, &sh);
		h.nrec = sr__records_for_slots(sh->nslots);
		if (dst)
			memcpy(dst + sizeof(h), sh, h.len - sizeof(h));
	} else {
		struct pack k = { .p = pb->p, .b = b, .dst = dst };
		sr_span_data_t v;

		memcpy(&v, b->arena + b->ovl[i], sizeof(v));
		h.magic = HELD_VIEW;
		h.len = (uint32_t)pack_view(&k, &v);
		h.base = (uint64_t)(uintptr_t)dst;
	}
	if (dst)
		memcpy(dst, &h, sizeof(h));
	return h.len;
}

SR_API size_t sr_proc_hold_size(sr_proc_batch_t *pb, size_t i)
{
	const struct sr__span_header *sh;

	if (!pb) {
		sr__null_arg("sr_proc_hold_size", "pb");
		return 0;
	}
	if (i >= pb->b->nspans || SR__OVL_GONE(pb->b->ovl[i]))
		return 0;
	if (pb->b->ovl[i] == SR__OVL_NONE) /* no packing to remember */
		return records_copy_len(pb->b, i, &sh);
	pb->sized_len = hold_copy(pb, i, NULL);
	pb->sized_i = i;
	return pb->sized_len;
}

SR_API size_t sr_proc_hold(sr_proc_batch_t *pb, size_t i, void *dst,
			   size_t cap)
{
	size_t need;

	if (!pb || !dst) {
		sr__null_arg("sr_proc_hold", pb ? "dst" : "pb");
		return 0;
	}
	/* Measuring an edited span packs it: not twice in a row. */
	need = pb->sized_i == i ? pb->sized_len : sr_proc_hold_size(pb, i);
	if (!need || need > cap || ((uintptr_t)dst & 7u))
		return 0;
	hold_copy(pb, i, dst);
	pb->b->ovl[i] = SR__OVL_HELD;
	pb->gone++;
	pb->sized_i = SIZE_MAX;
	ck_pr_add_64(&pb->proc->held, 1);
	return need;
}

SR_API int sr_proc_emit(sr_proc_batch_t *pb, const void *held)
{
	struct sr__batch *b;
	struct held h;
	uint32_t n;

	if (!pb || !held)
		return sr__null_arg("sr_proc_emit", pb ? "held" : "pb");
	memcpy(&h, held, sizeof(h));
	b = pb->b;
	n = b->nspans;
	if (n == pb->p->batch_spans)
		return SR_ELIMIT;
	if (h.magic == HELD_RECORDS) {
		if (h.len < sizeof(h) ||
		    h.len - sizeof(h) > (size_t)h.nrec * SR__RECORD_SIZE)
			return SR_EINVAL;
		if (b->nrecords + h.nrec > pb->p->batch_records)
			return SR_ELIMIT;
		memcpy(&b->records[b->nrecords], (const char *)held + sizeof(h),
		       h.len - sizeof(h));
		b->first[n] = b->nrecords;
		b->ovl[n] = SR__OVL_NONE;
		b->nrecords += h.nrec;
	} else if (h.magic == HELD_VIEW) {
		size_t body = h.len - sizeof(h);
		char *d = sr_proc_alloc(pb, body);
		struct move m;

		if (!d)
			return SR_ELIMIT;
		memcpy(d, (const char *)held + sizeof(h), body);
		m.lo = (uintptr_t)h.base + sizeof(h);
		m.hi = (uintptr_t)h.base + h.len;
		m.by = (intptr_t)((uintptr_t)d - m.lo);
		move_view(&m, (sr_span_data_t *)(void *)d);
		b->first[n] = 0; /* unused: the view stands for the records */
		b->ovl[n] = (uint32_t)(d - b->arena);
	} else {
		return SR_EINVAL;
	}
	pb->p->stage.memo_of[n] = SR__MEMO_NONE;
	ck_pr_store_32(&b->nspans, n + 1);
	ck_pr_sub_64(&pb->proc->held, 1);
	ck_pr_add_64(&pb->proc->emitted, 1);
	return 0;
}

SR_API void sr_proc_drop_held(sr_proc_batch_t *pb, const char *rule,
			      uint64_t n)
{
	if (!pb || !rule) {
		sr__null_arg("sr_proc_drop_held", pb ? "rule" : "pb");
		return;
	}
	if (!n)
		return;
	ck_pr_sub_64(&pb->proc->held, n);
	ck_pr_add_64(&sr__proc_rule_of(pb->proc, rule)->dropped, n);
	ck_pr_add_64(&pb->proc->dropped, n);
	ck_pr_add_64(&pb->p->dropped_processor, n);
}

SR_API uint64_t sr_proc_now(const sr_proc_batch_t *pb)
{
	if (!pb) {
		sr__null_arg("sr_proc_now", "pb");
		return 0;
	}
	return pb->now;
}
