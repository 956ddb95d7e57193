/*
 * otlp_pb_records.c - OTLP protobuf spans written straight from a batch's
 * records, without decoding them into sr_span_data_t views first.
 *
 * The view path (sr_batch_span, then otlp_proto.c) touches every field
 * twice: once to decode the item slots into views (strlen of every static
 * key, a duplicate-key filter, the views' stores), once to encode them.
 * Here each item slot is read once and its KeyValue written at once,
 * through the same writers as the view path (otlp_pb_int.h), so the bytes
 * are the same as sr_batch_span() + sr__otlp_pb_span() would produce; a
 * test compares the two for every kind of item (test_otlp_records.c).
 *
 * Keys (and static span and event names) are static strings, by the
 * API's contract, for the life of the pipeline, and the encoder lives no
 * longer: their length, whether they need sanitising, their encoded
 * KeyValue up to the key's end (an image written with two 16-byte moves)
 * and their duplicate-filter bit are cached by address in a small
 * direct-mapped table (sr__otlp_key), so a key costs a load and a compare
 * instead of a strlen, a UTF-8 scan and a copy of unknown size.  And a
 * server's spans carry the same keys in the same order span after span:
 * the encoder keeps the last span's keys with their entries (the
 * template, sr__otlp_enc.tmpl), and a span whose keys start the same way
 * takes them from there, with neither the lookup nor the duplicate check
 * (the template has no repeat, so no prefix of it has one).
 *
 * Fields come in the order the view path writes them.  A copied name or a
 * trace state is an item found during the walk, after the fields that
 * follow it on the wire were written; it is inserted in place (a memmove
 * of the few bytes written since: both are recorded at the span's start).
 * Events and links come after the attributes on the wire but among them
 * in the slots: the walk passes over them and writes them afterwards,
 * from the first one on (put_owners).
 *
 * Room: one reservation per span covers every slot's worst case on the
 * fast paths (SLOT_BOUND); what can be longer than its slots (static
 * strings, arrays, long keys, names, inserted fields) checks its own room
 * and keeps the reservation for the slots after it.
 *
 * Left out, to the view path (the span is rewound and re-encoded from its
 * view): a key set twice (the view keeps the first position with the
 * last value), a second NAME or TRACESTATE item, processor-edited spans
 * and crash recordings (sr__batch_span_raw says no).  None is on the
 * common path of a server's spans.
 */
#include "clock_int.h"
#include "hash_int.h"
#include "otlp_pb_int.h"
#include "spanring_int.h"

/* Keys up to this long (and clean) take the attribute fast paths, whose
 * output fits the room reserved per item slot (SLOT_BOUND). */
#define FAST_KEY 64u
/* Keys up to this long are written by one 32-byte move of their entry's
 * image (4 bytes of tags and lengths before the key). */
#define KEY_ONE_MOVE 28u
/* The most one item slot can turn into: an item's overhead, its 32
 * bytes of string tripled by sanitising, a fast key tripled likewise
 * (which also covers put_key's whole moves past the key's end). */
#define SLOT_BOUND (40u + 3u * 32u + 3u * FAST_KEY)

static __attribute__((noinline)) const struct sr__otlp_key *
key_fill(struct sr__otlp_enc *e, struct sr__otlp_key *c, const char *k)
{
	size_t out;

	e->tmpl_n = 0; /* c may be one of its entries */
	if (!k)
		k = ""; /* as the view's cstr() reads it */
	c->len = (uint32_t)strlen(k);
	c->clean = sr__is_ascii(k, c->len) || sr__utf8_scan(k, c->len, &out) == 0;
	c->fast = c->clean && c->len <= FAST_KEY ? c->len : SR__OTLP_KEY_SLOW;
	if (c->fast == c->len) {
		_Static_assert(4 + FAST_KEY <= sizeof(c->kv), "key image");
		c->kv[0] = TAG(9, WT_LEN);      /* Span.attributes       */
		c->kv[1] = 0;                   /* KeyValue's length     */
		c->kv[2] = TAG(1, WT_LEN);      /* KeyValue.key          */
		c->kv[3] = (char)c->len;
		memcpy(c->kv + 4, k, c->len);
	}
	c->hash = sr__hash_bytes(k, c->len);
	c->bit = 1ull << ((c->hash >> 56) & 63);
	c->word = (uint8_t)(c->hash >> 62);
	c->ptr = k;
	return c;
}

/* A static string's cache entry. */
static inline const struct sr__otlp_key *key_get(struct sr__otlp_enc *e,
						  const char *k)
{
	struct sr__otlp_key *c =
		&e->keys[((uintptr_t)k * 0x9E3779B97F4A7C15ull) >> (64 - SR__OTLP_KEY_BITS)];

	if (__builtin_expect(c->ptr == k, 1))
		return c;
	return key_fill(e, c, k);
}

/* A fast key's KeyValue as field `tag`, `kvlen` bytes long, up to the
 * key's end, from its entry's image: whole 16-byte moves past the key's
 * end (into room the span reserved), no length switch.  Returns where
 * the KeyValue's value goes. */
static inline char *put_key(char *p, const struct sr__otlp_key *k, char tag,
			    size_t kvlen)
{
	memcpy(p, k->kv, 32);
	if (k->len > KEY_ONE_MOVE)
		memcpy(p + 32, k->kv + 32, sizeof(k->kv) - 32);
	if (tag != TAG(9, WT_LEN)) /* constant: the image's for a span's */
		p[0] = tag;
	p[1] = (char)kvlen;
	return p + 4 + k->len;
}

/* Room for `need` more bytes at p: p itself, or where it moved to if
 * the area grew; NULL when out of memory. */
static inline char *room(struct sr__otlp_enc *e, char *p, size_t need)
{
	size_t used = (size_t)(p - e->area.data);

	if (__builtin_expect(e->area.cap - used >= need, 1))
		return p;
	e->area.len = used;
	if (sr__buf_grow(&e->area, need))
		return NULL;
	return e->area.data + used;
}

/* Insert string field `tag` = v at offset `at` before p, moving what
 * follows, with `more` bytes of room left after it; returns the new
 * end, NULL when out of memory. */
static char *insert_str(struct sr__otlp_enc *e, char *p, size_t at, char tag,
			sr_str_t v, size_t more)
{
	struct pstr ps;
	uint64_t bad = 0;
	size_t n;
	char *q;

	prep(&ps, v, &bad);
	n = 1 + sr__pb_varint_size(ps.out) + ps.out;
	if (!(p = room(e, p, n + more)))
		return NULL;
	q = e->area.data + at;
	memmove(q + n, q, (size_t)(p - q));
	put_str_field(q, tag, v, &e->invalid_utf8);
	return p + n;
}

/* The attribute view sr_batch_span() would make of ATTR item `it`
 * (record_decode.c's decode_attr); returns the slots the item takes. */
static inline uint32_t attr_view(struct sr__otlp_enc *e,
				 const struct sr__item *it, sr_str_t key,
				 sr_attr_view_t *v)
{
	uint32_t n = sr__item_value(it, v);

	v->key = key;
	if (it->vtype == SR_ATTR_STRING_STATIC && it->len == UINT32_MAX) {
		/* NUL-terminated static: its length is cached like a key's */
		v->v.s.ptr = it->v.s ? it->v.s : "";
		v->v.s.len = key_get(e, it->v.s)->len;
	}
	return n;
}

/* Worst case of one KeyValue (otlp_proto.c's attrs_bound, for one). */
static inline size_t kv_bound(const sr_attr_view_t *a, const struct sr__item *it)
{
	size_t b = 40 + 3 * (size_t)a->key.len;

	if (a->type == SR_ATTR_STRING)
		b += 3 * (size_t)a->v.s.len;
	else if (a->type == SR_ATTR_ARRAY)
		b += 10 + 24 * (size_t)a->v.a.count + 3 * (size_t)it->len;
	return b;
}

/* Slots of the non-ATTR item `it` (NAME and STATUS_MSG carry strings). */
static inline uint32_t other_slots(const struct sr__item *it)
{
	return it->kind == SR__ITEM_NAME || it->kind == SR__ITEM_STATUS_MSG
		       ? sr__str_slots(it->len)
		       : 1;
}

/* Attributes an EVENT or LINK item says follow it (record_int.h). */
static inline uint32_t owned_count(const struct sr__item *it)
{
	return it->kind == SR__ITEM_LINK
		       ? ((const struct sr__link_item *)(const void *)it)->count
		       : it->count;
}

/* The span-level ATTR items among slots[0, end), passing over the
 * attributes of events and links as the view's decoder does: with
 * seen, each key's filter bit is set there; without, whether one has
 * key hash h.  The rare paths of the duplicate check, so it keeps no
 * list: it walks again. */
static __attribute__((noinline)) bool earlier_keys(struct sr__otlp_enc *e,
						   const struct sr__item *slots,
						   uint32_t end, uint64_t h,
						   uint64_t seen[4])
{
	uint32_t owned = 0;

	for (uint32_t j = 0; j < end;) {
		const struct sr__item *it = &slots[j];
		sr_attr_view_t av;

		if (it->kind != SR__ITEM_ATTR) {
			owned = it->kind == SR__ITEM_EVENT || it->kind == SR__ITEM_LINK
					? owned_count(it) : 0;
			j += other_slots(it);
			continue;
		}
		if (!owned) {
			const struct sr__otlp_key *k = key_get(e, it->key);

			if (seen)
				seen[k->word] |= k->bit;
			else if (k->hash == h)
				return true;
		}
		owned -= owned != 0;
		j += sr__item_value(it, &av);
	}
	return false;
}

/* Bytes of a copied string's first slot that are its own, as a mask of
 * their top bits: an ASCII check of the whole slot word. */
static const uint8_t inl_ascii[SR__INLINE_STR + 1][8] = {
	{ 0 },
	{ 0x80 },
	{ 0x80, 0x80 },
	{ 0x80, 0x80, 0x80 },
	{ 0x80, 0x80, 0x80, 0x80 },
	{ 0x80, 0x80, 0x80, 0x80, 0x80 },
	{ 0x80, 0x80, 0x80, 0x80, 0x80, 0x80 },
	{ 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80 },
	{ 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80 },
};

/* A fast path's KeyValue.value tag and length and its AnyValue's tag
 * (and, for a string, length) as one little-endian store: bytes
 * TAG(2, LEN), len + 2, TAG(1, LEN), len for a string of len <= 121,
 * TAG(2, LEN), vs + 1, TAG(3, VARINT) for an int of vs varint bytes (the
 * fourth byte is then the varint's first). */
_Static_assert(TAG(2, WT_LEN) == 0x12 && TAG(1, WT_LEN) == 0x0a &&
		       TAG(3, WT_VARINT) == 0x18, "value head constants");
static inline void put_str_head(char *q, uint32_t len)
{
	put_fixed32(q, 0x000a0212u + len * 0x01000100u);
}

static inline void put_int_head(char *q, size_t vs)
{
	put_fixed32(q, 0x00180112u + (uint32_t)vs * 0x100u);
}

/* ATTR item `it` through put_kv, keeping `after` bytes of room after it;
 * *taken = the slots it takes.  Out of line: the fast paths' loop keeps
 * its registers. */
static __attribute__((noinline)) char *
put_attr_slow(struct sr__otlp_enc *e, char *p, const struct sr__item *it,
	      const struct sr__otlp_key *k, char tag, size_t after,
	      uint32_t *taken)
{
	sr_attr_view_t av;

	*taken = attr_view(e, it, (sr_str_t){ k->ptr, k->len }, &av);
	if (!(p = room(e, p, kv_bound(&av, it) + after + 64)))
		return NULL;
	return put_kv(p, tag, &av, &e->invalid_utf8);
}

/* ATTR item slots[*j] as KeyValue field `tag` at p when it is a common
 * one: advances *j past it and returns the end of what it wrote; NULL
 * (having written nothing that counts) when it is not.
 *
 * The common attributes (a non-negative int, or an ASCII string whose
 * KeyValue's lengths all fit one byte, under a fast key) are written as
 * put_kv's fast paths write them, into the span's reservation: the key's
 * cached image, the value's four tag and length bytes in one store, and
 * the string's bytes checked for ASCII while they are copied.  A copied
 * string of up to 8 bytes is one word of its slot (the slot's bytes past
 * the string are masked from the check and overwritten on the wire by
 * what follows).  The rest go through put_attr_slow (put_kv), which
 * writes over whatever a fast path began. */
static inline __attribute__((always_inline)) char *
put_attr_fast(char *p, const struct sr__item *slots, uint32_t *j,
	      const struct sr__otlp_key *k, char tag)
{
	const struct sr__item *it = &slots[*j];
	const uint8_t vt = it->vtype;
	const uint32_t len = it->len;
	char *q;

	if (vt == SR_ATTR_INT) {
		if (k->fast <= 127 - 14 && it->v.i >= 0) {
			uint64_t v = (uint64_t)it->v.i;
			size_t vs = sr__pb_varint_size(v); /* <= 9 */

			q = put_key(p, k, tag, k->fast + vs + 5);
			put_int_head(q, vs);
			*j += 1;
			return sr__pb_put_varint(q + 3, v);
		}
	} else if (vt == SR_ATTR_STRING) {
		if (k->fast + (uint64_t)len <= 127 - 6) {
			q = put_key(p, k, tag, k->fast + len + 6);
			put_str_head(q, len);
			if (len <= SR__INLINE_STR) {
				uint64_t x, m;

				memcpy(&x, it->inl, 8);
				memcpy(&m, inl_ascii[len], 8);
				if (__builtin_expect((x & m) == 0, 1)) {
					memcpy(q + 4, &x, 8);
					*j += 1;
					return q + 4 + len;
				}
			} else if (__builtin_expect(put_ascii(q + 4, it->inl, len), 1)) {
				*j += sr__str_slots(len);
				return q + 4 + len;
			}
		}
	} else if (vt == SR_ATTR_STRING_STATIC && len != UINT32_MAX && it->v.s) {
		/* A static string with its length (SR_ATTR_STRN_-style) */
		if (k->fast + (uint64_t)len <= 127 - 6) {
			q = put_key(p, k, tag, k->fast + len + 6);
			put_str_head(q, len);
			if (__builtin_expect(put_ascii(q + 4, it->v.s, len), 1)) {
				*j += 1;
				return q + 4 + len;
			}
		}
	}
	return NULL;
}

/* put_attr_fast, or put_attr_slow when it does not take the item. */
static inline __attribute__((always_inline)) char *
put_attr(struct sr__otlp_enc *e, char *p, const struct sr__item *slots,
	 uint32_t *j, uint32_t n, const struct sr__otlp_key *k, char tag)
{
	char *q = put_attr_fast(p, slots, j, k, tag);
	uint32_t taken;

	if (__builtin_expect(q != NULL, 1))
		return q;
	/* the room for the slots after it: at most those after its first */
	p = put_attr_slow(e, p, &slots[*j], k, tag,
			  (size_t)(n - *j - 1) * SLOT_BOUND, &taken);
	*j += taken;
	return p;
}

/* The events (kind SR__ITEM_EVENT) or links (SR__ITEM_LINK) of the span,
 * from slot `from` on, each with the attributes that follow it, as
 * put_event / put_link in otlp_proto.c write them. */
static int put_owners(struct sr__otlp_enc *e, char **pp,
		      const struct sr__item *slots, uint32_t from, uint32_t n,
		      uint8_t kind)
{
	for (uint32_t j = from; j < n;) {
		const struct sr__item *it = &slots[j];
		uint32_t left;
		sr_str_t name = { "", 0 };
		size_t mark;            /* offset: the area may move */

		if (it->kind != kind) {
			j += it->kind == SR__ITEM_ATTR
				     ? sr__item_value(it, &(sr_attr_view_t){ 0 })
				     : other_slots(it);
			continue;
		}
		if (kind == SR__ITEM_EVENT)
			name = (sr_str_t){ it->key ? it->key : "",
					   key_get(e, it->key)->len };
		char *p = room(e, *pp, 128 + 3 * (size_t)name.len +
					   (size_t)(n - j) * SLOT_BOUND);

		if (!p)
			return SR_ENOMEM;

		left = owned_count(it);
		*p++ = kind == SR__ITEM_EVENT ? TAG(11, WT_LEN)  /* Span.events */
					      : TAG(13, WT_LEN); /* Span.links  */
		mark = (size_t)(p - e->area.data);
		p += 2;
		if (kind == SR__ITEM_EVENT) {
			*p++ = TAG(1, WT_I64);  /* Event.time_unix_nano  */
			p = put_fixed64(p, it->vtype == 1 ? sr__tsc_to_ns(it->v.u)
							  : it->v.u);
			if (name.len)
				p = put_str_field(p, TAG(2, WT_LEN), name,
						  &e->invalid_utf8);
		} else {
			const struct sr__link_item *li =
				(const struct sr__link_item *)(const void *)it;

			p = put_id(p, TAG(1, WT_LEN), li->trace_id, 16);
			p = put_id(p, TAG(2, WT_LEN), li->span_id, 8);
		}
		for (j++; left && j < n && slots[j].kind == SR__ITEM_ATTR; left--) {
			p = put_attr(e, p, slots, &j, n, key_get(e, slots[j].key),
				     kind == SR__ITEM_EVENT ? TAG(3, WT_LEN)
							    : TAG(4, WT_LEN));
			if (!p)
				return SR_ENOMEM;
		}
		if (kind == SR__ITEM_EVENT) {
			p = put_count(p, TAG(4, WT_VARINT), it->len);
		} else {
			const struct sr__link_item *li =
				(const struct sr__link_item *)(const void *)it;

			p = put_count(p, TAG(5, WT_VARINT), li->dropped_attrs);
			*p++ = TAG(6, WT_I32);  /* Link.flags            */
			p = put_fixed32(p, li->trace_flags);
		}
		if (!(p = room(e, p, 8 + (size_t)(n - j) * SLOT_BOUND)))
			return SR_ENOMEM; /* close_msg may widen by 3 */
		*pp = close_msg(e->area.data + mark, 2, p);
	}
	return 0;
}

enum walk { WALK_OK = 0, WALK_VIEW = 1 };

/* What the walk learns from the items that are not span attributes. */
struct walk_st {
	sr_str_t name, msg;
	uint32_t drop_a, drop_e, drop_l;
	uint32_t first_event, first_link;
	bool have_name, have_ts;
	size_t ts_at, name_at;  /* where a trace state, a name would go */
	uint32_t next;          /* other_item: the slot after the item  */
	int rc;                 /* other_item: why it returned NULL     */
};

/* Non-ATTR item slots[j]: noted in *w, or (a copied name, a trace
 * state) inserted before p; returns the end of what is written and sets
 * w->next to the slot after the item, or returns NULL with w->rc
 * WALK_VIEW (the span must be written from its view) or SR_ENOMEM.  Out
 * of line, and nothing of the loop's by address: the attributes' loop
 * keeps its registers. */
static __attribute__((noinline)) char *
other_item(struct sr__otlp_enc *e, struct walk_st *w,
	   const struct sr__item *slots, uint32_t n, uint32_t j, char *p)
{
	const struct sr__item *it = &slots[j];

	switch (it->kind) {
	case SR__ITEM_EVENT:
	case SR__ITEM_LINK:
		/* Written after the attributes (put_owners), with the ATTR
		 * items that follow, up to its count. */
		if (it->kind == SR__ITEM_EVENT && w->first_event == UINT32_MAX)
			w->first_event = j;
		if (it->kind == SR__ITEM_LINK && w->first_link == UINT32_MAX)
			w->first_link = j;
		j++;
		for (uint32_t left = owned_count(it);
		     left && j < n && slots[j].kind == SR__ITEM_ATTR; left--)
			j += sr__item_value(&slots[j], &(sr_attr_view_t){ 0 });
		break;
	case SR__ITEM_NAME:
		/* A copied name, the one name of a span whose header has
		 * none. */
		if (w->have_name)
			goto view;
		w->have_name = true;
		w->name.ptr = it->inl;
		w->name.len = it->len;
		if (w->name.len &&
		    !(p = insert_str(e, p, w->name_at, TAG(5, WT_LEN), w->name,
				     (size_t)(n - j) * SLOT_BOUND)))
			goto oom;
		j += sr__str_slots(it->len);
		break;
	case SR__ITEM_STATUS_MSG:
		w->msg.ptr = it->inl;
		w->msg.len = it->len;
		j += sr__str_slots(it->len);
		break;
	case SR__ITEM_TRACESTATE: {
		sr_str_t ts;

		if (w->have_ts)
			goto view;
		w->have_ts = true;
		if (sr__tracestate_resolve(it->v.u, &ts) && ts.len) {
			size_t before = (size_t)(p - e->area.data);

			if (!(p = insert_str(e, p, w->ts_at, TAG(3, WT_LEN), ts,
					     (size_t)(n - j) * SLOT_BOUND)))
				goto oom;
			w->name_at += (size_t)(p - e->area.data) - before;
		}
		j++;
		break;
	}
	case SR__ITEM_DROPPED: {
		const struct sr__dropped_item *d =
			(const struct sr__dropped_item *)(const void *)it;

		w->drop_a = d->attrs;
		w->drop_e = d->events;
		w->drop_l = d->links;
		j++;
		break;
	}
	default:
		j++; /* unknown item: skip one slot */
		break;
	}
	w->next = j;
	return p;
view:
	w->rc = WALK_VIEW;
	return NULL;
oom:
	w->rc = SR_ENOMEM;
	return NULL;
}

/* Write span `r` into the area from `start` on; WALK_VIEW when it must
 * be written from its view instead, or SR_ENOMEM. */
static int walk(struct sr__otlp_enc *e, const struct sr__span_raw *r,
		size_t start)
{
	const struct sr__item *slots = r->slots;
	const uint32_t n = r->nslots;
	const struct sr__otlp_key *nk = NULL;
	struct walk_st w = {
		.name = { "", 0 }, .msg = { "", 0 },
		.first_event = UINT32_MAX, .first_link = UINT32_MAX,
		.have_name = r->name != NULL,
	};
	uint64_t seen[4] = { 0 }, *bad = &e->invalid_utf8; /* key filter */
	char *p;

	if (r->name) {
		nk = key_get(e, r->name);
		w.name = (sr_str_t){ r->name, nk->len };
	}
	/* One reservation covers the head and every fast-path item; the
	 * rest (static strings, arrays, long or unclean keys, inserted
	 * fields, events and links) check their own room. */
	if (!(p = room(e, e->area.data + start,
		       72 + 3 * (size_t)w.name.len + (size_t)n * SLOT_BOUND)))
		return SR_ENOMEM;
	*p++ = TAG(2, WT_LEN);                  /* ScopeSpans.spans      */
	p += 2;                                 /* length, see close_msg */
	w.ts_at = start + 3 + 18 + 10;          /* after trace and span id */
	w.name_at = w.ts_at + (zero8(r->parent_span_id) ? 0 : 10);
	p = put_span_ids(p, r->trace_id, r->span_id, (sr_str_t){ "", 0 },
			 r->parent_span_id, bad);
	if (nk && nk->fast == nk->len && nk->len) {
		/* Span.name from the name's cached image: [key tag][len][name] */
		memcpy(p, nk->kv + 2, 32);
		if (nk->len > 30)
			memcpy(p + 32, nk->kv + 34, sizeof(nk->kv) - 34);
		p[0] = TAG(5, WT_LEN);
		p += 2 + nk->len;
	} else if (w.name.len) {
		p = put_str_field(p, TAG(5, WT_LEN), w.name, bad);
	}
	p = put_span_times(p, r->kind, r->start_ns, r->end_ns);

	/* Span-level attributes: while the keys so far are the template's
	 * (the last span's), an attribute's entry is the template's and
	 * it cannot repeat an earlier key (the template has no repeat).
	 * From the first key that differs on, the cache and the duplicate
	 * filter (first given the keys before it), and the template
	 * follows this span's keys instead.  A slow attribute may fill
	 * entries (a NUL-terminated static value's): the span stops
	 * following the template there. */
	const struct sr__otlp_tmpl *tp = e->tmpl, *tend = tp + e->tmpl_n;
	bool follow = true;
	uint32_t i = 0;         /* not following: keys written */

	for (uint32_t j = 0; j < n;) {
		const struct sr__item *it = &slots[j];
		const struct sr__otlp_key *k;
		char *q;

		if (__builtin_expect(it->kind != SR__ITEM_ATTR, 0)) {
			if (!(p = other_item(e, &w, slots, n, j, p)))
				return w.rc;
			j = w.next;
			continue;
		}
		if (__builtin_expect(tp < tend && tp->key == it->key, 1)) {
			k = tp++->k;
		} else {
			if (follow) {
				/* the filter starts with the keys before this
				 * one (the template's first i, whose entries a
				 * fill since may have taken) */
				follow = false;
				tend = tp;
				i = (uint32_t)(tp - e->tmpl);
				if (i)
					earlier_keys(e, slots, j, 0, seen);
				if (e->tmpl_n > i)
					e->tmpl_n = i;
			}
			k = key_get(e, it->key);

			/* A key set twice keeps its last value at its first
			 * position: the view's business.  A hit in the filter
			 * (the key's hash bit, 256 bits) looks for an earlier
			 * key of equal hash; a collision of two distinct keys
			 * only costs the detour. */
			uint64_t *sw = &seen[k->word];

			if (__builtin_expect((*sw & k->bit) != 0, 0)) {
				if (earlier_keys(e, slots, j, k->hash, NULL))
					return WALK_VIEW;
				/* its lookups may have taken k's entry */
				k = key_get(e, it->key);
			}
			*sw |= k->bit;
			/* A fill (here or in earlier_keys) emptied the
			 * template: it follows this span's keys again only
			 * while its first i are all there. */
			if (e->tmpl_n == i && i < SR__OTLP_TMPL) {
				e->tmpl[i] = (struct sr__otlp_tmpl){ it->key, k };
				e->tmpl_n = ++i;
			}
		}
		if (__builtin_expect((q = put_attr_fast(p, slots, &j, k,
							 TAG(9, WT_LEN))) != NULL, 1)) {
			p = q;
			continue;
		}
		uint32_t taken;

		p = put_attr_slow(e, p, it, k, TAG(9, WT_LEN),
				  (size_t)(n - j - 1) * SLOT_BOUND, &taken);
		if (!p)
			return SR_ENOMEM;
		j += taken;
		tend = tp; /* see above */
	}
	/* A span with fewer keys than the template, all its: the template
	 * keeps them all (the next span may have them all). */

	if (r->status != SR_STATUS_ERROR) /* OTel: message only with ERROR */
		w.msg.len = 0;
	/* Fields 10 to 14 (the dropped counts around events and links),
	 * then the tail; events and links check their own room. */
	if (!(p = room(e, p, 64 + 3 * (size_t)w.msg.len)))
		return SR_ENOMEM;
	p = put_count(p, TAG(10, WT_VARINT), w.drop_a);
	if (__builtin_expect(w.first_event != UINT32_MAX, 0) &&
	    (put_owners(e, &p, slots, w.first_event, n, SR__ITEM_EVENT) ||
	     !(p = room(e, p, 64 + 3 * (size_t)w.msg.len))))
		return SR_ENOMEM;
	p = put_count(p, TAG(12, WT_VARINT), w.drop_e);
	if (__builtin_expect(w.first_link != UINT32_MAX, 0) &&
	    (put_owners(e, &p, slots, w.first_link, n, SR__ITEM_LINK) ||
	     !(p = room(e, p, 64 + 3 * (size_t)w.msg.len))))
		return SR_ENOMEM;
	p = put_count(p, TAG(14, WT_VARINT), w.drop_l);
	p = put_span_tail(p, r->status, w.msg, r->trace_flags, r->parent_remote,
			  bad);
	/* close_msg may widen the length by up to 3: the 64 above cover it */
	p = close_msg(e->area.data + start + 1, 2, p);
	e->area.len = (size_t)(p - e->area.data);
	return WALK_OK;
}

int sr__otlp_pb_add_record(struct sr__otlp_enc *e, const sr_batch_t *batch,
			   size_t i)
{
	struct sr__span_raw r;
	sr_span_data_t sd;
	uint64_t bad0 = e->invalid_utf8;
	size_t start, off, len;
	uint32_t g;
	int rc;

	if (!sr__batch_span_raw(batch, i, &r))
		goto view;
	if ((rc = sr__otlp_enc_open_tracer(e, r.tracer, &g)))
		return rc;
	start = e->area.len;
	rc = walk(e, &r, start);
	if (__builtin_expect(rc == WALK_OK, 1)) {
		sr__otlp_enc_close(e, g, start, e->area.len - start);
		e->from_records++;
		return 0;
	}
	e->area.len = start;
	e->invalid_utf8 = bad0;
	if (rc != WALK_VIEW)
		return e->err = rc;
	sd.size = sizeof(sd);
	if ((rc = sr_batch_span(batch, i, &sd)))
		return e->err = rc;
	if ((rc = sr__otlp_pb_span(&e->area, &sd, &e->invalid_utf8, &off, &len)))
		return e->err = rc;
	sr__otlp_enc_close(e, g, off, len);
	return 0;

view:
	sd.size = sizeof(sd);
	if ((rc = sr_batch_span(batch, i, &sd)))
		return e->err = rc;
	return sr__otlp_enc_add(e, &sd);
}
