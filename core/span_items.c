/*
 * span_items.c - what a recording span accumulates out of line:
 * attributes past the inline room, events, links, status, name, the
 * parent's trace state, and the item stream with its overflow chunks.
 * The inline attribute setters are in span_inline.h; span_int.h says how
 * they and these calls share the span.
 */
#include <stddef.h>
#include <string.h>

#include "clock_int.h"
#include "error_int.h"
#include "span_int.h"

/* See span_int.h. */
__attribute__((noinline)) struct sr__pipeline *
sr__span_pin(struct sr__span *s)
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
	for (c = s->chunk_first, k = pos / SR__CHUNK_SIZE; k; k--)
		c = c->next;
	return c->bytes + pos % SR__CHUNK_SIZE;
}

/* Slow path of item_alloc: the span needs overflow chunks, or is at its
 * size limit.  One slot below max_slots is kept for the DROPPED item,
 * which passes `last` to use it. */
struct sr__item *sr__span_item_alloc_slow(struct sr__span *s, uint32_t n,
					  bool last)
{
	struct sr__pipeline *p;
	struct sr__chunk **tail;
	uint32_t need = s->nslots + n;

	if (need > SR__SETTING(sr__g.limits.max_slots) - (last ? 0 : 1))
		return NULL;
	/* Pinned until book_out (or end_slow): the chunks, and writes
	 * into them, stay inside the read side. */
	if (!(p = sr__span_pin(s)))
		return NULL;
	for (tail = &s->chunk_first; *tail; tail = &(*tail)->next)
		;
	while (SR__INLINE_SLOTS + s->nchunks * SR__CHUNK_SLOTS < need) {
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
	return sr__span_item_alloc_slow(s, n, false);
}

/* Copy n bytes to stream byte `pos` and on (running into the following
 * slots, possibly across into overflow chunks, which are not contiguous
 * with the inline slots); returns the position after them. */
static uint32_t put_bytes(struct sr__span *s, uint32_t pos, const void *src,
			  uint32_t n)
{
	const uint32_t inline_end = SR__INLINE_SLOTS * SR__SLOT_SIZE;
	const char *v = (const char *)src;

	while (n) {
		/* Contiguous run: to the end of the inline area or chunk. */
		uint32_t bound = pos < inline_end
					 ? inline_end
					 : pos + SR__CHUNK_SIZE -
						   (pos - inline_end) % SR__CHUNK_SIZE;
		uint32_t room = bound - pos < n ? bound - pos : n;

		memcpy(stream_byte(s, pos), v, room);
		v += room;
		n -= room;
		pos += room;
	}
	return pos;
}

/* Byte position of the inl bytes of the item at stream slot `at`. */
static inline uint32_t inl_pos(uint32_t at)
{
	return at * SR__SLOT_SIZE + (uint32_t)offsetof(struct sr__item, inl);
}

/* Copy a string into the item that starts at stream slot `at`: bytes
 * from item->inl on, through put_bytes. */
static void put_string(struct sr__span *s, uint32_t at, struct sr__item *it,
		       const char *v, uint32_t len)
{
	it->len = len;
	if (SR__LIKELY(len <= SR__INLINE_STR)) {
		sr__copy_short(it->inl, v, len);
		return;
	}
	put_bytes(s, inl_pos(at), v, len);
}

static inline uint32_t clamp_len(struct sr__span *s, size_t len)
{
	if (SR__UNLIKELY(len > SR__SETTING(sr__g.limits.value_len))) {
		DROP(s, truncated);
		return SR__SETTING(sr__g.limits.value_len);
	}
	return (uint32_t)len;
}

/* Element i of an array, as an sr_attr_t value (strings: v.s, len). */
static void array_elem(const sr_array_t *arr, size_t i, sr_attr_t *e)
{
	e->len = 0;
	if (arr->get) {
		e->v.i = 0;
		arr->get(arr->ud, i, e);
		if (arr->type == SR_ATTR_STRING && !e->v.s)
			e->len = 0;
		return;
	}
	switch (arr->type) {
	case SR_ATTR_BOOL: e->v.b = arr->v.b[i]; break;
	case SR_ATTR_INT: e->v.i = arr->v.i[i]; break;
	case SR_ATTR_DOUBLE: e->v.d = arr->v.d[i]; break;
	default:
		e->v.s = arr->v.s[i];
		e->len = (uint32_t)(!e->v.s ? 0
				    : arr->lens ? arr->lens[i] : strlen(e->v.s));
		break;
	}
}

/* A string element's kept length: at most value_len bytes (counted once
 * per truncated element when `count` is set). */
static uint32_t elem_len(struct sr__span *s, size_t len, bool count)
{
	uint32_t lim = SR__SETTING(sr__g.limits.value_len);

	if (len <= lim)
		return (uint32_t)len;
	if (count)
		DROP(s, truncated);
	return lim;
}

/*
 * An array attribute: an ATTR item with vtype SR_ATTR_ARRAY, count =
 * elements, v.u = element type, len = packed bytes from inl on (the
 * packing of sr_array_next(); the item takes slots as a copied string of
 * that length).  False if it did not fit (nothing is left behind: the
 * size is known before the item is allocated).
 */
static bool put_array(struct sr__span *s, const char *key,
		      const sr_array_t *arr)
{
	struct sr__item *it;
	sr_attr_t e;
	size_t bytes = 0, n, i;
	uint32_t pos, at, unit;

	/* No elements to read (a NULL array, or a count with neither a
	 * pointer nor a getter): dropped, never dereferenced. */
	if (!arr || (arr->count && !arr->get && !arr->v.b))
		return false;
	switch (arr->type) {
	case SR_ATTR_BOOL: unit = 1; break;
	case SR_ATTR_INT:
	case SR_ATTR_DOUBLE: unit = 8; break;
	case SR_ATTR_STRING:
	case SR_ATTR_STRING_STATIC: unit = 0; break;
	default: return false;
	}
	n = arr->count;
	if (n > SR_ARRAY_MAX_COUNT) {
		DROP(s, truncated);
		n = SR_ARRAY_MAX_COUNT;
	}
	if (unit) {
		bytes = n * unit;
	} else {
		for (i = 0; i < n; i++) {
			array_elem(arr, i, &e);
			bytes += 4 + elem_len(s, e.len, false);
			if (bytes > UINT16_MAX * (size_t)SR__SLOT_SIZE)
				return false; /* past any span's records */
		}
	}
	if (!(it = item_alloc(s, sr__str_slots((uint32_t)bytes))))
		return false;
	at = s->nslots - sr__str_slots((uint32_t)bytes);
	it->kind = SR__ITEM_ATTR;
	it->vtype = SR_ATTR_ARRAY;
	it->count = (uint16_t)n;
	it->len = (uint32_t)bytes;
	it->key = key;
	it->v.u = unit ? (uint64_t)arr->type : SR_ATTR_STRING;
	pos = inl_pos(at);
	for (i = 0; i < n; i++) {
		array_elem(arr, i, &e);
		switch (arr->type) {
		case SR_ATTR_BOOL: {
			unsigned char b = e.v.b ? 1 : 0;

			pos = put_bytes(s, pos, &b, 1);
			break;
		}
		case SR_ATTR_INT:
		case SR_ATTR_DOUBLE:
			pos = put_bytes(s, pos, &e.v.i, 8);
			break;
		default: {
			uint32_t len = elem_len(s, e.len, true);

			pos = put_bytes(s, pos, &len, 4);
			pos = put_bytes(s, pos, e.v.s, len);
			break;
		}
		}
	}
	return true;
}

/* Append one attribute as an item; false if it did not fit. */
static bool put_attr(struct sr__span *s, const char *key, sr_attr_type_t t,
		     const sr_attr_t *a)
{
	struct sr__item *it;
	uint32_t len = 0, at = 0;
	/* A NULL value is the empty string: its length is 0 whatever the
	 * caller said, or the length would be read from wherever "" is. */
	const char *str = a->v.s ? a->v.s : "";
	uint32_t slen = a->v.s ? a->len : 0;

	if (t == SR_ATTR_ARRAY)
		return put_array(s, key, a->v.a);
	if (SR__UNLIKELY(t < SR_ATTR_BOOL || t > SR_ATTR_STRING_STATIC))
		return false; /* not a type: dropped, never half-written */
	if (t == SR_ATTR_STRING) {
		len = clamp_len(s, slen);
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
		it->v.s = str;
		it->len = slen;
		break;
	case SR_ATTR_STRING:
		it->v.u = 0;
		put_string(s, at, it, str, len);
		break;
	default: /* unknown type: kept as an empty string */
		it->vtype = SR_ATTR_STRING;
		it->v.u = 0;
		it->len = 0;
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
 * The inline fast paths (span_inline.h) append attributes themselves while
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

SR_API void sr_span_set_array(sr_span_t *sp, const char *key,
			      const sr_array_t *arr)
{
	sr_attr_t a;

	if (!sp || !arr) {
		sr__null_arg("sr_span_set_array", sp ? "arr" : "span");
		return;
	}
	a.key = key;
	a.type = SR_ATTR_ARRAY;
	a.len = 0;
	a.v.a = arr;
	set_attr(sp, &a);
}

SR_API void sr_span_set_attrs(sr_span_t *sp, const sr_attr_t *attrs, size_t n)
{
	struct sr__span *s = S(sp);

	if (!sp || (!attrs && n)) {
		sr__null_arg("sr_span_set_attrs", sp ? "attrs" : "span");
		return;
	}
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

	if (!attrs && n) {
		sr__null_arg("sr_span_add_event", "attrs");
		return;
	}
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

	if (!sp || !ctx || (!attrs && n)) {
		sr__null_arg("sr_span_add_link",
			     !sp ? "span" : !ctx ? "ctx" : "attrs");
		return;
	}
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
	struct sr__span_header *h;

	if (!sp) {
		sr__null_arg("sr_span_set_status", "span");
		return;
	}
	if (s->state != SPAN_REC || code == SR_STATUS_UNSET)
		return; /* OTel: setting Unset is ignored */
	h = HDR(s);
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

	if (!sp) {
		sr__null_arg("sr_span_record_error", "span");
		return;
	}
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

	if (!sp) {
		sr__null_arg("sr_span_update_name", "span");
		return;
	}
	if (s->state != SPAN_REC)
		return;
	if (!book_in(s))
		return;
	/* The last NAME item wins at decode time. */
	HDR(s)->name = NULL;
	put_string_item(s, SR__ITEM_NAME, name);
	book_out(s);
}

__attribute__((noinline)) void sr__span_add_tracestate(struct sr__span *s)
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
