/*
 * batch.c - batches: the fixed pool, hand-off to exporters, accounting.
 * Decoding a batch's records for exporters is record_decode.c's.
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
 * created).  Spans a processor dropped left the batch before the
 * hand-off, counted by the processor stage (processor_stage.c).
 */
#include <string.h>

#include "pipeline_int.h"

/* Free batches left at or under which a hand-off wakes the worker at once
 * instead of at the end of the pass (sr__batch_dispatch). */
#define SR__BATCHES_LOW 1u

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
	/* Room for the batch's spans at 512 bytes each on average (a span
	 * with 14 short items), and always for one span of the largest
	 * size. */
	p->batch_records = SR__CFG_RECORDS(p->batch_spans * 2);
	if (p->batch_records < SR__CFG_RECORDS(c->max_span_records))
		p->batch_records = SR__CFG_RECORDS(c->max_span_records);
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
	p->nfree = p->nbatches;
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
		ck_pr_store_32(&p->nfree, p->nfree - 1);
		ck_pr_store_32(&b->gen, b->gen + 1);
		ck_pr_store_32(&b->nspans, 0);
		b->nrecords = 0;
		/* Empty before taken: pairs with the crash recorder's loads
		 * (flight_record.c), which skip batches not taken. */
		ck_pr_fence_store();
		ck_pr_store_int(&b->outstanding, 1);
	}
	pthread_mutex_unlock(&p->batch_lock);
	if (b) {
		b->any_ok = b->any_failed = 0;
		b->min_rejected = UINT32_MAX;
		b->arena_used = 0;
		b->processed = false;
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
	ck_pr_store_int(&b->outstanding, 0);
	b->next_free = p->free_batches;
	p->free_batches = b;
	ck_pr_store_32(&p->nfree, p->nfree + 1);
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
 *
 * A worker is not signalled here but by sr__exporters_wake(), once at
 * the end of the drainer's pass (and before it waits for a batch): a
 * worker woken per batch preempts a drainer that shares its CPU in the
 * middle of the pass, one more pair of context switches per batch, and
 * lets a busy neighbour run before the drainer gets the CPU back.  Only
 * when the pool is down to SR__BATCHES_LOW free batches, or the worker's
 * queue is full, does a hand-off signal at once: a pass that long needs
 * batches back (or queue room) before it ends, or it runs out and sheds
 * (drainer.c).  A pass of the usual size with the default queue (the
 * pause keeps it under half the pool: two or three batches of four)
 * never gets there.
 */
bool sr__batch_dispatch(struct sr__pipeline *p, struct sr__batch *b)
{
	bool room = p->nexporters == 0;

	/* The processors first, once even if the hand-off must wait. */
	if (p->stage.n && !b->processed) {
		sr__processors_run(p, b);
		if (!b->nspans) { /* all dropped (and counted): reuse it */
			ck_pr_store_int(&b->refs, 1);
			sr__batch_release(p, b, 1, 0, false);
			return true;
		}
	}
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
			if (ck_pr_load_32(&p->nfree) <= SR__BATCHES_LOW ||
			    e->qcount == e->qcap) {
				/* The pool runs short, or this queue is now
				 * full: a worker on another CPU makes room
				 * while the pass goes on, or a long pass
				 * would run out. */
				e->wake_due = false;
				pthread_cond_signal(&e->cv);
			} else {
				e->wake_due = true;
				p->wake_due = true;
			}
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
		if (p->batches[i].outstanding &&
		    &p->batches[i] != ck_pr_load_ptr(&p->cur))
			n += ck_pr_load_32(&p->batches[i].nspans);
	pthread_mutex_unlock(&p->batch_lock);
	return n;
}
