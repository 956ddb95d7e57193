/*
 * batch.c - batches: the fixed pool, hand-off to exporters, accounting,
 * and decoding records into the sr_span_data_t views exporters read.
 *
 * A batch holds whole spans as contiguous copies of their records, so a
 * span's item slots are one array in memory and copied strings that
 * crossed a record boundary in the ring are contiguous again: decoding
 * makes no copies, views point into the batch.
 *
 * One batch goes to every exporter at once (reference counted).  The
 * pool holds (max_queue_size / max_export_batch_size) batches per
 * exporter plus two, so a stalled exporter can fill its own queue but
 * never take the batches another exporter needs.
 *
 * Accounting, done exactly once per batch by whoever drops the last
 * reference: if any exporter delivered it, its spans count as exported
 * (minus the fewest spans an exporter that delivered it saw rejected,
 * which count as dropped_exporter); else if any exporter failed it,
 * dropped_exporter; else if shutdown discarded it, dropped_shutdown;
 * else dropped_queue_full (no exporter is running: none could be
 * created).
 */
#include <string.h>

#include "clock_int.h"
#include "ids_int.h"
#include "pipeline_int.h"

/* ------------------------------------------------------------------ */
/* Pool                                                                */
/* ------------------------------------------------------------------ */

int sr__batches_init(struct sr__pipeline *p)
{
	const sr_config_t *c = &p->cfg;
	uint32_t per_exp = (c->max_queue_size + c->max_export_batch_size - 1) /
			   c->max_export_batch_size;
	uint32_t nexp = p->nexporters ? p->nexporters : 1;
	size_t rec_bytes, idx_bytes;

	p->batch_spans = c->max_export_batch_size;
	/* Room for the batch's spans at two records each on average, and
	 * always for one span of the largest size. */
	p->batch_records = p->batch_spans * 2;
	if (p->batch_records < c->max_span_records)
		p->batch_records = c->max_span_records;
	p->nbatches = per_exp * nexp + 2;

	p->batches = sr__alloc(sizeof(*p->batches) * p->nbatches, 64);
	rec_bytes = (size_t)p->nbatches * p->batch_records *
		    sizeof(struct sr__record);
	p->batch_mem = sr__alloc(rec_bytes, 64);
	idx_bytes = (size_t)p->nbatches * p->batch_spans * sizeof(uint32_t);
	if (!p->batches || !p->batch_mem)
		return SR_ENOMEM;
	p->bytes += sizeof(*p->batches) * p->nbatches + rec_bytes + idx_bytes;
	pthread_mutex_init(&p->batch_lock, NULL);
	p->free_batches = NULL;
	for (uint32_t i = 0; i < p->nbatches; i++) {
		struct sr__batch *b = &p->batches[i];

		b->records = p->batch_mem + (size_t)i * p->batch_records;
		b->first = sr__alloc(p->batch_spans * sizeof(uint32_t), 64);
		if (!b->first)
			return SR_ENOMEM;
		b->next_free = p->free_batches;
		p->free_batches = b;
	}
	return 0;
}

/* Drainer: an empty batch, or NULL when every batch is in use. */
struct sr__batch *sr__batch_take(struct sr__pipeline *p)
{
	struct sr__batch *b;

	pthread_mutex_lock(&p->batch_lock);
	b = p->free_batches;
	if (b) {
		p->free_batches = b->next_free;
		b->outstanding = 1;
	}
	pthread_mutex_unlock(&p->batch_lock);
	if (b) {
		b->nspans = b->nrecords = 0;
		b->any_ok = b->any_failed = 0;
		b->min_rejected = UINT32_MAX;
	}
	return b;
}

static void finalize(struct sr__pipeline *p, struct sr__batch *b,
		     bool shutdown)
{
	uint64_t n = b->nspans;

	if (ck_pr_load_int(&b->any_ok)) {
		/* Set, and <= n, by the release that set any_ok. */
		uint32_t rej = ck_pr_load_32(&b->min_rejected);

		ck_pr_add_64(&p->exported, n - rej);
		ck_pr_add_64(&p->dropped_exporter, rej);
	} else if (ck_pr_load_int(&b->any_failed)) {
		ck_pr_add_64(&p->dropped_exporter, n);
	} else if (shutdown) {
		ck_pr_add_64(&p->dropped_shutdown, n);
	} else {
		ck_pr_add_64(&p->dropped_queue_full, n);
	}
	pthread_mutex_lock(&p->batch_lock);
	b->outstanding = 0;
	b->next_free = p->free_batches;
	p->free_batches = b;
	pthread_mutex_unlock(&p->batch_lock);
	/* Flushers wait for batches to come back. */
	pthread_mutex_lock(&p->ctl_lock);
	pthread_cond_broadcast(&p->ctl_cv);
	pthread_mutex_unlock(&p->ctl_lock);
}

/*
 * Worker (or drainer): drop one reference.  result: 0 delivered (with
 * `rejected` <= nspans spans refused), < 0 failed, > 0 not attempted (queue full or
 * shutdown).
 */
void sr__batch_release(struct sr__pipeline *p, struct sr__batch *b,
		       int result, uint64_t rejected, bool shutdown)
{
	bool zero;

	if (result == 0) {
		uint32_t cur = ck_pr_load_32(&b->min_rejected);
		uint32_t rej = (uint32_t)rejected; /* caller keeps it <= nspans */

		while (rej < cur &&
		       !ck_pr_cas_32_value(&b->min_rejected, cur, rej, &cur))
			;
		ck_pr_store_int(&b->any_ok, 1);
	} else if (result < 0) {
		ck_pr_store_int(&b->any_failed, 1);
	}
	/* Our writes to the batch's outcome before the reference drop;
	 * the last holder reads them after its drop. */
	SR_TSAN_RELEASE(&b->refs);
	ck_pr_fence_release();
	ck_pr_dec_int_zero(&b->refs, &zero);
	if (zero) {
		ck_pr_fence_acquire();
		SR_TSAN_ACQUIRE(&b->refs);
		finalize(p, b, shutdown);
	}
}

/*
 * Drainer: hand a filled batch to every exporter whose queue has room.
 * If no queue has room, nothing happens and false is returned: the
 * drainer keeps the batch and the records stay in the rings (back-
 * pressure, never a wait).  If only some queues are full, those exporters
 * miss this batch (counted in their spans_queue_full) and the rest get
 * it: a stalled exporter cannot hold up the others.  Only the drainer
 * pushes, so a queue seen with room still has room when pushed to.
 */
bool sr__batch_dispatch(struct sr__pipeline *p, struct sr__batch *b)
{
	bool room = p->nexporters == 0;

	for (uint32_t i = 0; i < p->nexporters && !room; i++) {
		struct sr__exporter *e = &p->exporters[i];

		pthread_mutex_lock(&e->lock);
		room = !e->stop && e->qcount < e->qcap;
		pthread_mutex_unlock(&e->lock);
	}
	if (!room)
		return false;
	ck_pr_store_int(&b->refs, (int)(p->nexporters + 1)); /* +1: ours */
	for (uint32_t i = 0; i < p->nexporters; i++) {
		struct sr__exporter *e = &p->exporters[i];
		bool queued = false;

		pthread_mutex_lock(&e->lock);
		if (!e->stop && e->qcount < e->qcap) {
			e->queue[(e->qhead + e->qcount) % e->qcap] = b;
			e->qcount++;
			queued = true;
			pthread_cond_signal(&e->cv);
		}
		pthread_mutex_unlock(&e->lock);
		if (!queued) {
			ck_pr_add_64(&e->st_queue_full, b->nspans);
			sr__batch_release(p, b, 1, 0, false);
		}
	}
	ck_pr_inc_64(&p->batches_sent);
	sr__batch_release(p, b, 1, 0, false);
	return true;
}

uint64_t sr__batches_pending_spans(struct sr__pipeline *p)
{
	uint64_t n = 0;

	pthread_mutex_lock(&p->batch_lock);
	for (uint32_t i = 0; i < p->nbatches; i++)
		if (p->batches[i].outstanding && &p->batches[i] != p->cur)
			n += p->batches[i].nspans;
	pthread_mutex_unlock(&p->batch_lock);
	return n;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

int sr__scratch_init(struct sr__scratch *s, const sr_config_t *cfg,
		     uint64_t *bytes)
{
	/* Every item takes at least one slot: a span holds at most this
	 * many attributes, events or links. */
	uint32_t cap = cfg->max_span_records * SR__CONT_SLOTS;
	size_t a = sizeof(sr_attr_view_t) * 2 * cap;
	size_t e = sizeof(sr_event_view_t) * cap;
	size_t l = sizeof(sr_link_view_t) * cap;

	s->cap = cap;
	s->attrs = sr__alloc(a, 64);
	s->events = sr__alloc(e, 64);
	s->links = sr__alloc(l, 64);
	*bytes += a + e + l;
	return s->attrs && s->events && s->links ? 0 : SR_ENOMEM;
}

void sr__scratch_free(struct sr__scratch *s)
{
	uint32_t cap = s->cap;

	sr__free(s->attrs, sizeof(sr_attr_view_t) * 2 * cap);
	sr__free(s->events, sizeof(sr_event_view_t) * cap);
	sr__free(s->links, sizeof(sr_link_view_t) * cap);
	memset(s, 0, sizeof(*s));
}

SR_API size_t sr_batch_count(const sr_batch_t *batch)
{
	return batch ? batch->b->nspans : 0;
}

SR_API const sr_attr_view_t *sr_batch_resource(const sr_batch_t *batch,
						uint32_t *count)
{
	*count = batch->pipe->resource.count;
	return batch->pipe->resource.attrs;
}

static sr_str_t cstr(const char *s)
{
	sr_str_t r = { s ? s : "", s ? (uint32_t)strlen(s) : 0 };

	return r;
}

static bool key_eq(sr_str_t a, sr_str_t b)
{
	return a.len == b.len && (a.ptr == b.ptr || !memcmp(a.ptr, b.ptr, a.len));
}

/* Decode the ATTR item `it` into *v; returns the slots it takes. */
static uint32_t decode_attr(const struct sr__item *it, sr_attr_view_t *v)
{
	v->key = cstr(it->key);
	switch (it->vtype) {
	case SR_ATTR_BOOL:
		v->type = SR_ATTR_BOOL;
		v->v.b = it->v.u != 0;
		return 1;
	case SR_ATTR_INT:
		v->type = SR_ATTR_INT;
		v->v.i = it->v.i;
		return 1;
	case SR_ATTR_DOUBLE:
		v->type = SR_ATTR_DOUBLE;
		v->v.d = it->v.d;
		return 1;
	case SR_ATTR_STRING_STATIC:
		v->type = SR_ATTR_STRING;
		v->v.s.ptr = it->v.s;
		v->v.s.len = it->len;
		return 1;
	default:
		v->type = SR_ATTR_STRING;
		v->v.s.ptr = it->inl;
		v->v.s.len = it->len;
		return sr__str_slots(it->len);
	}
}

SR_API int sr_batch_span(const sr_batch_t *batch, size_t i, sr_span_data_t *out)
{
	const struct sr__batch *b;
	const struct sr__span_header *h;
	const struct sr__item *slots;
	struct sr__scratch *sc;
	const struct sr_tracer *tr;
	sr_attr_view_t *owned;
	uint32_t n, j, nattr = 0, nowned = 0;
	uint32_t *owner_count = NULL, owner_left = 0;

	if (!batch || i >= batch->b->nspans)
		return SR_EINVAL;
	b = batch->b;
	sc = batch->scratch;
	owned = sc->attrs + sc->cap;
	h = (const struct sr__span_header *)(const void *)
		    b->records[b->first[i]].bytes;
	slots = (const struct sr__item *)(const void *)((const char *)h +
							 SR__HEADER_SIZE);
	n = h->nslots;

	memset(out, 0, sizeof(*out));
	sr__header_ids(h, out->trace_id, out->span_id);
	memcpy(out->parent_span_id, h->parent_span_id, 8);
	/* Every recorded span is sampled. */
	out->trace_flags = (uint8_t)(SR_TRACE_FLAG_SAMPLED |
				     ((h->bits & SR__HB_NOT_RANDOM) ? 0 : SR_TRACE_FLAG_RANDOM));
	out->parent_remote = (h->bits & SR__HB_PARENT_REMOTE) != 0;
	out->kind = (sr_span_kind_t)(h->bits & SR__HB_KIND_MASK);
	out->status = (sr_status_code_t)((h->bits & SR__HB_STATUS_MASK) >>
					 SR__HB_STATUS_SHIFT);
	out->name = cstr(h->name);
	if (h->bits & SR__HB_TSC) {
		out->start_ns = sr__tsc_to_ns(h->start_ns);
		out->end_ns = sr__tsc_to_ns(h->end_ns);
		if (out->end_ns < out->start_ns)
			out->end_ns = out->start_ns;
	} else {
		out->start_ns = h->start_ns;
		out->end_ns = h->end_ns;
	}
	tr = sr__tracer_at(h->tracer);
	out->tracer = tr;
	out->scope_name = cstr(tr ? tr->name : "");
	out->scope_version = cstr(tr ? tr->version : "");
	out->thread_id = h->tid;
	out->attrs = sc->attrs;
	out->events = sc->events;
	out->links = sc->links;

	for (j = 0; j < n;) {
		const struct sr__item *it = &slots[j];

		if (owner_left && it->kind == SR__ITEM_ATTR) {
			/* Attribute of the preceding event or link. */
			j += decode_attr(it, &owned[nowned++]);
			(*owner_count)++;
			owner_left--;
			continue;
		}
		owner_left = 0;
		switch (it->kind) {
		case SR__ITEM_ATTR: {
			sr_attr_view_t v;
			uint32_t k;

			j += decode_attr(it, &v);
			/* Setting a key twice keeps the last value. */
			for (k = 0; k < nattr; k++)
				if (key_eq(sc->attrs[k].key, v.key))
					break;
			sc->attrs[k] = v;
			if (k == nattr)
				nattr++;
			break;
		}
		case SR__ITEM_EVENT: {
			sr_event_view_t *e = &sc->events[out->event_count++];

			e->name = cstr(it->key);
			e->ts_ns = it->vtype == 1 ? sr__tsc_to_ns(it->v.u) : it->v.u;
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
			if (!sr__tracestate_resolve(it->v.u, &out->trace_state))
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
