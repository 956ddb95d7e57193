/*
 * record_decode.c - a batch's records as the sr_span_data_t views
 * exporters read (sr_batch_count, sr_batch_span, sr_batch_resource),
 * next to the layout it decodes (record_int.h).
 *
 * A batch holds whole spans as contiguous copies of their records, so a
 * span's item slots are one array in memory and copied strings that
 * crossed a record boundary in the ring are contiguous again: decoding
 * makes no copies, views point into the batch.  Each exporter worker
 * decodes with its own scratch, so several decode one batch at once.
 */
#include <string.h>

#include "clock_int.h"
#include "flight_int.h"
#include "ids_int.h"
#include "pipeline_int.h"
#include "sized_int.h"

int sr__scratch_init(struct sr__scratch *s, const sr_config_t *cfg,
		     uint64_t *bytes)
{
	/* Every item takes at least one slot: a span holds at most this
	 * many attributes, events or links. */
	uint32_t cap = sr__slots_in_records(SR__CFG_RECORDS(cfg->max_span_records));
	size_t a = sizeof(sr_attr_view_t) * 2 * cap;
	size_t e = sizeof(sr_event_view_t) * cap;
	size_t l = sizeof(sr_link_view_t) * cap;
	size_t k = sizeof(struct sr__slen) * SR__SLEN_SLOTS;

	s->cap = cap;
	s->attrs = sr__alloc(a, 64);
	s->events = sr__alloc(e, 64);
	s->links = sr__alloc(l, 64);
	s->slen = sr__alloc(k, 64);
	*bytes += a + e + l + k;
	if (s->slen)
		memset(s->slen, 0, k);
	return s->attrs && s->events && s->links && s->slen ? 0 : SR_ENOMEM;
}

void sr__scratch_free(struct sr__scratch *s)
{
	uint32_t cap = s->cap;

	sr__free(s->attrs, sizeof(sr_attr_view_t) * 2 * cap);
	sr__free(s->events, sizeof(sr_event_view_t) * cap);
	sr__free(s->links, sizeof(sr_link_view_t) * cap);
	sr__free(s->slen, sizeof(struct sr__slen) * SR__SLEN_SLOTS);
	memset(s, 0, sizeof(*s));
}

SR_API size_t sr_batch_count(const sr_batch_t *batch)
{
	return batch ? batch->b->nspans : 0;
}

SR_API const sr_attr_view_t *sr_batch_resource(const sr_batch_t *batch,
						uint32_t *count)
{
	if (!batch || !count) {
		if (count)
			*count = 0;
		sr__null_arg("sr_batch_resource", batch ? "count" : "batch");
		return NULL;
	}
	if (batch->flight) {
		*count = batch->flight->nres;
		return batch->flight->res;
	}
	*count = batch->pipe->resource.count;
	return batch->pipe->resource.attrs;
}

static sr_str_t cstr(const char *s)
{
	sr_str_t r = { s ? s : "", s ? (uint32_t)strlen(s) : 0 };

	return r;
}

/* A string the record keeps by pointer: in a crash recording, the copy
 * the file holds (the pointer was the dead process's). */
static sr_str_t ptr_str(struct sr__flight *f, const char *s, uint32_t len)
{
	sr_str_t r;

	if (f)
		return sr__flight_string(f, s, len);
	if (len == UINT32_MAX)
		return cstr(s);
	r.ptr = s;
	r.len = len;
	return r;
}

static uint64_t stamp_ns(struct sr__flight *f, uint64_t tsc)
{
	return f ? sr__flight_tsc_to_ns(f, tsc) : sr__tsc_to_ns(tsc);
}

static bool key_eq(sr_str_t a, sr_str_t b)
{
	return a.len == b.len && (a.ptr == b.ptr || !memcmp(a.ptr, b.ptr, a.len));
}

/* One bit of a 64-bit filter for a key, from its bytes (not its address:
 * two copies of one key must meet): a span's keys are nearly always
 * distinct, and a key whose bit is still clear needs no search among the
 * ones before it. */
static inline uint64_t key_bit(sr_str_t k)
{
	uint64_t h = k.len;

	if (k.len)
		h ^= (uint64_t)(uint8_t)k.ptr[k.len - 1] << 8 ^
		     (uint64_t)(uint8_t)k.ptr[k.len / 2] << 16;
	return 1ull << ((h * 0x9E3779B97F4A7C15ull) >> 58);
}

/* The cache entry of a static string of this process (a key, a span's or
 * event's name, a scope's name; not NULL): its length and key_bit(),
 * worked out once per address.  Every span repeats the same few keys:
 * the cache spares a strlen of each and the reads of its bytes, the bulk
 * of a decode's cost after the items' walk. */
static inline const struct sr__slen *slen_of(struct sr__scratch *sc,
					     const char *s)
{
	struct sr__slen *e = &sc->slen[((uintptr_t)s * 0x9E3779B97F4A7C15ull) >>
					       56 & (SR__SLEN_SLOTS - 1)];

	if (e->ptr != s) {
		e->ptr = s;
		e->len = (uint32_t)strlen(s);
		e->bit = key_bit((sr_str_t){ s, e->len });
	}
	return e;
}

static inline sr_str_t static_str(struct sr__scratch *sc, const char *s)
{
	sr_str_t r = { s, 0 };

	if (!s)
		return cstr(NULL);
	r.len = slen_of(sc, s)->len;
	return r;
}

/* A static string as the record keeps it: from a crash recording, the
 * file's copy. */
static inline sr_str_t key_str(struct sr__flight *f, struct sr__scratch *sc,
			       const char *s)
{
	return f ? sr__flight_string(f, s, UINT32_MAX) : static_str(sc, s);
}

/* Decode the ATTR item `it` into *v, its key's key_bit() into *bit;
 * returns the slots it takes.  Inline: it runs once per attribute, the
 * bulk of a span. */
static inline __attribute__((always_inline)) uint32_t
decode_attr(struct sr__flight *f, struct sr__scratch *sc,
	    const struct sr__item *it, sr_attr_view_t *v, uint64_t *bit)
{
	uint32_t n = sr__item_value(it, v);

	if (f || !it->key) {
		v->key = key_str(f, sc, it->key);
		*bit = key_bit(v->key);
	} else {
		const struct sr__slen *e = slen_of(sc, it->key);

		v->key.ptr = it->key;
		v->key.len = e->len;
		*bit = e->bit;
	}
	if (it->vtype == SR_ATTR_STRING_STATIC)
		v->v.s = ptr_str(f, it->v.s, it->len);
	return n;
}

/* Every recorded span is sampled. */
static inline uint8_t head_flags(const struct sr__span_header *h)
{
	return (uint8_t)(SR_TRACE_FLAG_SAMPLED |
			 ((h->bits & SR__HB_NOT_RANDOM) ? 0 : SR_TRACE_FLAG_RANDOM));
}

static inline void head_times(struct sr__flight *f,
			      const struct sr__span_header *h,
			      uint64_t *start, uint64_t *end)
{
	if (h->bits & SR__HB_TSC) {
		*start = stamp_ns(f, h->start_ns);
		*end = stamp_ns(f, h->end_ns);
		if (*end < *start)
			*end = *start;
	} else {
		*start = h->start_ns;
		*end = h->end_ns;
	}
}

/* Span i into *out; with `items` false, without its attributes, events
 * and links (counts 0): their slots are stepped over, not decoded. */
static int span_decode(const sr_batch_t *batch, size_t i, sr_span_data_t *out,
		       bool items)
{
	const struct sr__batch *b;
	const struct sr__span_header *h;
	const struct sr__item *slots;
	struct sr__scratch *sc;
	const struct sr_tracer *tr;
	sr_attr_view_t *owned;
	uint32_t n, j, nattr = 0, nowned = 0;
	uint32_t *owner_count = NULL, owner_left = 0;
	uint64_t seen = 0;      /* key_bit()s of the span's attributes */
	struct sr__flight *f;

	if (!batch || i >= batch->b->nspans)
		return SR_EINVAL;
	b = batch->b;
	if (b->ovl && b->ovl[i] < SR__OVL_HELD) {
		/* A processor's edited view (processor_stage.c). */
		memcpy(out, b->arena + b->ovl[i], sizeof(*out));
		return 0;
	}
	sc = batch->scratch;
	f = batch->flight;
	owned = sc->attrs + sc->cap;
	h = (const struct sr__span_header *)(const void *)
		    b->records[b->first[i]].bytes;
	slots = (const struct sr__item *)(const void *)((const char *)h +
							 SR__HEADER_SIZE);
	n = h->nslots;

	memset(out, 0, sizeof(*out));
	out->size = sizeof(*out);
	sr__header_ids(h, out->trace_id, out->span_id);
	memcpy(out->parent_span_id, h->parent_span_id, 8);
	out->trace_flags = head_flags(h);
	out->parent_remote = (h->bits & SR__HB_PARENT_REMOTE) != 0;
	out->kind = (sr_span_kind_t)(h->bits & SR__HB_KIND_MASK);
	out->status = (sr_status_code_t)((h->bits & SR__HB_STATUS_MASK) >>
					 SR__HB_STATUS_SHIFT);
	out->name = key_str(f, sc, h->name);
	head_times(f, h, &out->start_ns, &out->end_ns);
	if (f) {
		/* No tracer in this process: the exporters group by name. */
		out->tracer = NULL;
		out->scope_name = f->scope_name[h->tracer];
		out->scope_version = f->scope_version[h->tracer];
	} else {
		tr = sr__tracer_at(h->tracer);
		out->tracer = tr;
		out->scope_name = static_str(sc, tr ? tr->name : "");
		out->scope_version = static_str(sc, tr ? tr->version : "");
	}
	out->thread_id = h->tid;
	out->attrs = sc->attrs;
	out->events = sc->events;
	out->links = sc->links;

	for (j = 0; j < n;) {
		const struct sr__item *it = &slots[j];

		if (!items && (it->kind == SR__ITEM_ATTR ||
			       it->kind == SR__ITEM_EVENT ||
			       it->kind == SR__ITEM_LINK)) {
			j += it->kind == SR__ITEM_ATTR &&
					     it->vtype != SR_ATTR_BOOL &&
					     it->vtype != SR_ATTR_INT &&
					     it->vtype != SR_ATTR_DOUBLE &&
					     it->vtype != SR_ATTR_STRING_STATIC
				     ? sr__str_slots(it->len)
				     : 1;
			continue;
		}
		if (owner_left && it->kind == SR__ITEM_ATTR) {
			/* Attribute of the preceding event or link. */
			uint64_t unused;

			j += decode_attr(f, sc, it, &owned[nowned++], &unused);
			(*owner_count)++;
			owner_left--;
			continue;
		}
		owner_left = 0;
		switch (it->kind) {
		case SR__ITEM_ATTR: {
			sr_attr_view_t *v = &sc->attrs[nattr];
			uint64_t bit;
			uint32_t k = nattr;

			j += decode_attr(f, sc, it, v, &bit);
			/* Setting a key twice keeps the last value. */
			if (seen & bit) {
				for (k = 0; k < nattr; k++)
					if (key_eq(sc->attrs[k].key, v->key))
						break;
				if (k < nattr)
					sc->attrs[k] = *v;
			}
			seen |= bit;
			if (k == nattr)
				nattr++;
			break;
		}
		case SR__ITEM_EVENT: {
			sr_event_view_t *e = &sc->events[out->event_count++];

			e->name = key_str(f, sc, it->key);
			e->ts_ns = it->vtype == 1 ? stamp_ns(f, it->v.u) : it->v.u;
			e->attrs = owned + nowned;
			e->attr_count = 0;
			e->dropped_attr_count = it->len;
			owner_count = &e->attr_count;
			owner_left = it->count;
			j++;
			break;
		}
		case SR__ITEM_LINK: {
			const struct sr__link_item *li =
				(const struct sr__link_item *)(const void *)it;
			sr_link_view_t *l = &sc->links[out->link_count++];

			memcpy(l->trace_id, li->trace_id, 16);
			memcpy(l->span_id, li->span_id, 8);
			l->trace_flags = li->trace_flags;
			l->attrs = owned + nowned;
			l->attr_count = 0;
			l->dropped_attr_count = li->dropped_attrs;
			owner_count = &l->attr_count;
			owner_left = li->count;
			j++;
			break;
		}
		case SR__ITEM_NAME:
		case SR__ITEM_STATUS_MSG: {
			/* A copied string, laid out as an ATTR's value. */
			sr_str_t *dst = it->kind == SR__ITEM_NAME
						? &out->name
						: &out->status_message;

			dst->ptr = it->inl;
			dst->len = it->len;
			j += sr__str_slots(it->len);
			break;
		}
		case SR__ITEM_TRACESTATE:
			/* A recording has no trace-state arena: lost. */
			if (f || !sr__tracestate_resolve(it->v.u, &out->trace_state))
				out->trace_state = cstr("");
			j++;
			break;
		case SR__ITEM_DROPPED: {
			const struct sr__dropped_item *d =
				(const struct sr__dropped_item *)(const void *)it;

			out->dropped_attr_count = d->attrs;
			out->dropped_event_count = d->events;
			out->dropped_link_count = d->links;
			j++;
			break;
		}
		default:
			j++; /* unknown item: skip one slot */
			break;
		}
	}
	out->attr_count = nattr;
	if (out->status != SR_STATUS_ERROR) /* OTel: message only with ERROR */
		out->status_message = cstr("");
	return 0;
}

/* Exporters built against this header decode in place; an older one's
 * smaller struct gets its part of a full decode. */
SR_API int sr_batch_span(const sr_batch_t *batch, size_t i, sr_span_data_t *out)
{
	sr_span_data_t full;
	int rc;

	if (!sr__sized_valid(out, SR__SIZED_MIN(sr_span_data_t, trace_id)))
		return SR_EINVAL;
	if (out->size >= sizeof(*out))
		return span_decode(batch, i, out, true);
	if ((rc = span_decode(batch, i, &full, true)) == 0)
		sr__sized_out(out, &full, sizeof(full));
	return rc;
}

int sr__batch_span_head(const sr_batch_t *batch, size_t i, sr_span_data_t *out)
{
	return span_decode(batch, i, out, false);
}

bool sr__batch_span_raw(const sr_batch_t *batch, size_t i,
			struct sr__span_raw *out)
{
	const struct sr__batch *b = batch->b;
	const struct sr__span_header *h;

	if (i >= b->nspans || batch->flight ||
	    (b->ovl && b->ovl[i] < SR__OVL_HELD))
		return false;
	h = (const struct sr__span_header *)(const void *)
		    b->records[b->first[i]].bytes;
	sr__header_ids(h, out->trace_id, out->span_id);
	memcpy(out->parent_span_id, h->parent_span_id, 8);
	head_times(NULL, h, &out->start_ns, &out->end_ns);
	out->name = h->name;
	out->tracer = sr__tracer_at(h->tracer);
	out->slots = (const struct sr__item *)(const void *)((const char *)h +
							      SR__HEADER_SIZE);
	out->nslots = h->nslots;
	out->kind = (uint8_t)(h->bits & SR__HB_KIND_MASK);
	out->status = (uint8_t)((h->bits & SR__HB_STATUS_MASK) >>
				SR__HB_STATUS_SHIFT);
	out->trace_flags = head_flags(h);
	out->parent_remote = (h->bits & SR__HB_PARENT_REMOTE) != 0;
	return true;
}
