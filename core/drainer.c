/*
 * drainer.c - the one background thread that empties every ring.
 *
 * Loop: walk the registry (RCU read side), move whole spans from each
 * ring into the current batch, hand the batch to the exporters when it is
 * full or older than schedule_delay_ms, give back rings of exited
 * threads, answer flush requests, and keep the clock calibrated.
 *
 * Polling adapts to the rate the rings fill at: after each pass the
 * drainer pauses until, at the rate it just saw, the fullest ring would
 * reach the doorbell's mark (half full), less the timer's slack, or all
 * rings together half of what the batch pool takes (sr__drainer_pause),
 * and at most drainer_max_sleep_us (20 ms by default).  So a wake-up
 * finds nearly half a ring, and the wake-ups per second are the rate over
 * half a ring: their cost per span falls as the rate rises, down to the
 * copy's.  A ring found past three quarters (the drainer came late), or
 * a rate too high to sleep between passes, and the drainer polls
 * without pausing.
 *
 * The timer is not the only way up: the drainer sleeps on the rings'
 * doorbell (ring_int.h), and a producer whose reservation takes its ring
 * past half full rings it, a futex wake once per half ring at most,
 * never per span, and only when the drainer sleeps: when its timer fired
 * late (a busy CPU) or a burst came after a quiet pass.  The other half
 * of the ring is the margin for the drainer to get a CPU.  Thread exits,
 * flushes and shutdown ring it too (sr__drainer_wake).  sr_stats counts
 * the pauses (drainer_wakeups) and the producers' rings (doorbell_rings).
 *
 * The exporter workers are signalled once a pass, at its very end (just
 * before the pause, or the wait for a batch), not per batch (batch.c): a
 * worker woken in the middle of a pass preempts a drainer that shares its
 * CPU.  A hand-off that leaves the pool short of batches, or fills a
 * worker's queue, signals at once, so that a long pass does not run out
 * of them.
 *
 * Per ring and pass: one acquire load finds every published record; each
 * span is copied into the batch as one run of its records, the ones
 * ahead prefetched; the slots go back to the
 * producer with a release store every SR__RELEASE_EVERY records and
 * before each batch hand-off, so a full ring gets room while a long drain
 * is still copying.
 *
 * When no empty batch is left or every exporter's queue is full (the
 * exporters are behind), the drainer leaves the remaining records in
 * their rings and blocks until an exporter gives a batch back: the rings
 * absorb a burst or a slow export.  But it does not let them fill: a
 * ring found more than SR__SHED_ABOVE full in such a pass loses its
 * oldest spans down to SR__SHED_TO, counted where the loss is (the
 * pipeline's dropped_queue_full and every exporter's spans_queue_full),
 * so producers drop for ring_full only when the drainer itself falls
 * behind, and an operator is sent to the exporter, not to the ring size.
 * A shutdown's final pass sheds nothing (it waits for the exporters
 * until its deadline).  A flush completes only after a pass that found a
 * batch for every record that was waiting.
 */
#include <string.h>
#include <time.h>

#include "drainer_int.h"
#include "pipeline_int.h"

/* Exporters behind: a ring fuller than SR__SHED_ABOVE quarters of its
 * capacity is shed to SR__SHED_TO quarters (file comment). */
#define SR__SHED_ABOVE 3u
#define SR__SHED_TO 2u

/* How far ahead of the copy a record is prefetched, one per span (a
 * common span is two records, and the CPU's adjacent-line prefetch
 * brings the pair): far enough to overlap the misses to the producer's
 * core, near enough to stay in L1 until copied. */
#define SR__PREFETCH_AHEAD 8u

/* Copy the `nrec` records of one span, starting at ring index `at`, from
 * `ring` (mask + 1 records) to `dst`: one run (record_int.h: a span of up
 * to SR__CONTIG_RECORDS is contiguous, its wrapped part in the ring's
 * overhang: a copy of constant size, inlined), or for a longer one two
 * pieces where it wraps. */
static inline void copy_span(struct sr__record *dst,
			     const struct sr__record *ring, uint32_t mask,
			     uint32_t at, uint32_t nrec)
{
	const struct sr__record *src = &ring[at & mask];
	uint32_t first;

	switch (nrec) {
	case 1: memcpy(dst, src, 1 * SR__RECORD_SIZE); return;
	case 2: memcpy(dst, src, 2 * SR__RECORD_SIZE); return;
	case 3: memcpy(dst, src, 3 * SR__RECORD_SIZE); return;
	case 4: memcpy(dst, src, 4 * SR__RECORD_SIZE); return;
	case 5: memcpy(dst, src, 5 * SR__RECORD_SIZE); return;
	case 6: memcpy(dst, src, 6 * SR__RECORD_SIZE); return;
	case 7: memcpy(dst, src, 7 * SR__RECORD_SIZE); return;
	case 8: memcpy(dst, src, 8 * SR__RECORD_SIZE); return;
	default: break;
	}
	first = mask + 1 - (at & mask);
	if (first >= nrec) {
		memcpy(dst, src, (size_t)nrec * SR__RECORD_SIZE);
	} else {
		memcpy(dst, src, (size_t)first * SR__RECORD_SIZE);
		memcpy(dst + first, ring, (size_t)(nrec - first) * SR__RECORD_SIZE);
	}
}

_Static_assert(SR__CONTIG_RECORDS == 8, "copy_span has a case for each");

/* Skip the oldest spans of the `left` records waiting in ring `r` from
 * index `at` until no more than `keep` are left.  Returns the records
 * skipped (the caller releases them) and adds the spans to *spans. */
static uint32_t skip_spans(struct sr__pipeline *p, const struct sr__ring *r,
			   uint32_t at, uint32_t left, uint32_t keep,
			   uint64_t *spans)
{
	uint32_t done = 0;

	while (left - done > keep) {
		const struct sr__span_header *h =
			(const void *)sr__ring_at(r, at + done)->bytes;
		uint32_t nrec = sr__records_for_slots(h->nslots);

		if (SR__UNLIKELY(nrec > left - done)) {
			/* malformed: see drain_ring */
			ck_pr_add_64(&p->records_discarded, left - done);
			return left;
		}
		done += nrec;
		(*spans)++;
	}
	return done;
}

/* The exporters are behind: shed ring `r` (see the file comment), its
 * spans dropped at the queues, which every exporter missed. */
static uint32_t shed(struct sr__pipeline *p, const struct sr__ring *r,
		     uint32_t at, uint32_t left, uint32_t keep)
{
	uint64_t spans = 0;
	uint32_t done = skip_spans(p, r, at, left, keep, &spans);

	ck_pr_add_64(&p->dropped_queue_full, spans);
	for (uint32_t i = 0; i < p->nexporters; i++)
		ck_pr_add_64(&p->exporters[i].st_queue_full, spans);
	return done;
}

/* Move the published spans of one ring into batches.  Returns the
 * records consumed; sets *starved when it had to leave records behind
 * for want of a batch, and raises *fullest to the records it found
 * waiting.  One acquire (the peek) covers every record found; releases
 * come every SR__RELEASE_EVERY records and before each hand-off. */
static SR__AVX2_CLONES uint32_t drain_ring(struct sr__pipeline *p,
					   struct sr__thread *t, uint64_t now,
					   bool *starved,
					   struct sr__drain_look *look)
{
	struct sr__ring *r = &t->ring;
	uint32_t head, avail = sr__ring_peek_sc(r, &head);
	uint32_t done = 0, released = 0, copied = 0;
	const uint32_t every = r->capacity / 4 < SR__RELEASE_EVERY
				       ? r->capacity / 4
				       : SR__RELEASE_EVERY;
	const uint32_t max_spans = p->batch_spans, max_recs = p->batch_records;
	/* Read-only after init; in locals because, for all the compiler
	 * knows, the copies could change the fields they come from. */
	const struct sr__record *const ring = r->records;
	const uint32_t mask = r->mask;
	struct sr__batch *b = p->cur;
	/* The open batch, likewise in locals, stored back at each hand-off
	 * and at the end.  No batch yet: look full. */
	uint32_t nspans = b ? b->nspans : max_spans;
	uint32_t nrecs = b ? b->nrecords : 0;
	uint32_t *first = b ? b->first : NULL;
	struct sr__record *recs = b ? b->records : NULL;

	if (avail > look->fullest)
		look->fullest = avail;
	while (done < avail) {
		const struct sr__span_header *h =
			(const void *)ring[(head + done) & mask].bytes;
		uint32_t nrec;

		/* Where the next span starts is known only once this one's
		 * header is read, so without help the loads of successive
		 * headers are serial, each a miss to the producer's core.
		 * Ask for the records a few ahead now (only published ones:
		 * a line the producer is about to write is never pulled). */
		if (SR__LIKELY(done + SR__PREFETCH_AHEAD < avail))
			__builtin_prefetch(
				ring[(head + done + SR__PREFETCH_AHEAD) & mask].bytes,
				0, 3);
		nrec = sr__records_for_slots(h->nslots);

		if (SR__UNLIKELY(nrec > avail - done)) {
			/* Cannot happen with a well-formed producer (one
			 * writer per ring: sr__busy_enter turns a signal
			 * handler's re-entry into a counted drop); never read
			 * past what was published, and count what is lost. */
			ck_pr_add_64(&p->records_discarded, avail - done);
			done = avail;
			break;
		}
		/* A batch the processors ran on (its hand-off failed) takes
		 * no more spans: they would reach exporters unprocessed. */
		if (nspans == max_spans || nrecs + nrec > max_recs ||
		    b->processed) {
			/* What is copied is safe in the batch: give the slots
			 * back before the hand-off, which takes locks and
			 * may wake a worker. */
			if (done != released) {
				sr__ring_release_sc(r, done - released);
				released = done;
			}
			if (b) {
				ck_pr_store_32(&b->nspans, nspans);
				b->nrecords = nrecs;
				if (nspans && !sr__batch_dispatch(p, b)) {
					*starved = true; /* every queue full */
					/* The processors may have dropped some. */
					nspans = b->nspans;
					break;
				}
			}
			b = sr__batch_take(p);
			ck_pr_store_ptr(&p->cur, b);
			if (!b) {
				*starved = true;
				break;
			}
			b->opened_ns = now;
			nspans = nrecs = 0;
			first = b->first;
			recs = b->records;
		}
		first[nspans++] = nrecs;
		copied++;
		copy_span(&recs[nrecs], ring, mask, head + done, nrec);
		nrecs += nrec;
		done += nrec;
		if (done - released >= every) {
			sr__ring_release_sc(r, done - released);
			released = done;
		}
	}
	look->total += copied;
	if (b) { /* still the open batch: handed-over ones are not ours */
		ck_pr_store_32(&b->nspans, nspans);
		b->nrecords = nrecs;
	}
	if (*starved && avail - done > r->capacity / 4 * SR__SHED_ABOVE &&
	    !ck_pr_load_int(&p->drainer_stop))
		done += shed(p, r, head + done, avail - done,
			     r->capacity / 4 * SR__SHED_TO);
	if (done != released)
		sr__ring_release_sc(r, done - released);
	return done;
}

/* Shutdown past its deadline: count the published spans of one ring
 * dropped (one shared-counter update per ring) and release them. */
static uint32_t discard_ring(struct sr__pipeline *p, struct sr__thread *t)
{
	struct sr__ring *r = &t->ring;
	uint32_t head, avail = sr__ring_peek_sc(r, &head);
	uint64_t spans = 0;
	uint32_t done = skip_spans(p, r, head, avail, 0, &spans);

	if (spans)
		ck_pr_add_64(&p->dropped_shutdown, spans);
	if (done)
		sr__ring_release_sc(r, done);
	return done;
}

/* One pass over every ring; rings of exited threads, once empty, go
 * back to the free list. */
static void drain_all(struct sr__pipeline *p, bool discard, uint64_t now,
		      bool *starved, struct sr__drain_look *look)
{
	struct sr__thread *t;

	sr__rcu_read_lock();
	SR__FOREACH_THREAD(p, t, it) {
		/* Read the state before draining: everything an exited
		 * owner published is then visible to this pass. */
		int state = ck_pr_load_int(&t->state);

		ck_pr_fence_load();
		SR_TSAN_ACQUIRE(&t->state);
		if (state == SR__NODE_FREE)
			continue;
		if (discard)
			discard_ring(p, t);
		else
			drain_ring(p, t, now, starved, look);
		if (state == SR__NODE_ORPHAN)
			sr__registry_release(p, t);
	}
	sr__rcu_read_unlock();
}

/* Hand over the open batch; false if every queue is full (kept). */
static bool flush_cur(struct sr__pipeline *p)
{
	if (p->cur && p->cur->nspans) {
		if (!sr__batch_dispatch(p, p->cur))
			return false;
		ck_pr_store_ptr(&p->cur, NULL);
		sr__exporters_wake(p);
	}
	return true;
}

/*
 * Pause policy (promise in drainer_int.h).  The fullest ring took `since`
 * to gather `fullest` records; at that rate it reaches the doorbell's
 * mark in since * mark / fullest, counted from the pass's look (what
 * arrived while the pass copied is in the ring already).  The timer is
 * set that long, less the timer's slack, so that a drainer woken on time
 * finds nearly a mark's worth in the ring, and a late one (a busy CPU)
 * is woken by the producer at the mark: the room above the mark is the
 * margin for the drainer to get a CPU.  So the wake-ups per second are
 * the rate divided by the mark, not by a fraction of it, and the longest
 * pause binds only below mark / max_pause records a second per ring.
 * All rings together may gather only half of what the batch pool takes:
 * then the exporter worker recycles batches while the drainer sleeps,
 * and a pass does not stall half-way for want of a batch (the doorbell
 * sees one ring, not the pool).  A ring found past the middle of its
 * margin: the drainer came late, so it polls again at once, and does
 * not yield either: next to a producer that keeps its core busy, a
 * yield or a sleep can cost a whole scheduler tick.  Nothing found:
 * double the last pause, the idle back-off.  A pause under the floor:
 * no pause.
 */
uint64_t sr__drainer_pause(uint64_t last, const struct sr__drain_look *l,
			   uint64_t max_pause)
{
	const uint64_t floor = SR__DRAINER_MIN_SLEEP_NS < max_pause
				       ? SR__DRAINER_MIN_SLEEP_NS
				       : max_pause;
	const uint64_t late = l->mark + (l->cap - l->mark) / 2;
	uint64_t pause, by_pool, grow = last * 2 > floor ? last * 2 : floor;

	if (l->total == 0)
		return grow < max_pause ? grow : max_pause;
	if (l->fullest > late)
		return 0;
	pause = l->since * l->mark / l->fullest;
	by_pool = l->since * (l->pool / 2) / l->total;
	if (by_pool < pause)
		pause = by_pool;
	pause = pause > l->spent + SR__DRAINER_SLACK_NS
			? pause - l->spent - SR__DRAINER_SLACK_NS
			: 0;
	if (pause > max_pause)
		pause = max_pause;
	return pause < floor ? 0 : pause;
}

/* Under ctl_lock: could the pass that starved go on?  With a batch open
 * it waits for room in an exporter's queue (what sr__batch_dispatch
 * needs), without one for a free batch. */
static bool batch_room_locked(struct sr__pipeline *p)
{
	bool room = false;

	if (!p->cur) {
		pthread_mutex_lock(&p->batch_lock);
		room = p->free_batches != NULL;
		pthread_mutex_unlock(&p->batch_lock);
		return room;
	}
	for (uint32_t i = 0; i < p->nexporters && !room; i++) {
		struct sr__exporter *e = &p->exporters[i];

		pthread_mutex_lock(&e->lock);
		room = !e->stop && e->qcount < e->qcap;
		pthread_mutex_unlock(&e->lock);
	}
	return room;
}

/*
 * A pass starved: every batch is with the exporters, or every queue is
 * full.  Block until an exporter gives a batch back (finalize() puts it
 * on the free list, then broadcasts ctl_cv under ctl_lock, so checking
 * under ctl_lock loses no wake-up) or timeout_ns passes (a worker can
 * make room in its queue without a batch coming back, when another
 * exporter still holds it).  Blocking rather than napping a fixed time
 * gives this CPU to a worker queued on it at once, and brings the drainer
 * back as soon as it can go on.  Lock order: ctl_lock, then batch_lock or
 * an exporter's lock; nothing takes them the other way round.
 */
static void wait_for_room(struct sr__pipeline *p, uint64_t timeout_ns)
{
	uint64_t until = sr__mono_ns() + timeout_ns;
	struct timespec ts = { (time_t)(until / 1000000000ull),
			       (long)(until % 1000000000ull) };

	pthread_mutex_lock(&p->ctl_lock);
	while (!batch_room_locked(p) &&
	       pthread_cond_timedwait(&p->ctl_cv, &p->ctl_lock, &ts) == 0)
		;
	pthread_mutex_unlock(&p->ctl_lock);
}

/* After the drainer is marked asleep: stay up for a wake request or a
 * ring already at its mark (its producer may have looked before the mark
 * was set and will not ring). */
static bool ready(void *arg)
{
	struct sr__pipeline *p = arg;
	struct sr__thread *t;
	bool up = ck_pr_load_32(&p->wake_req) != 0;

	if (up)
		return true;
	sr__rcu_read_lock();
	SR__FOREACH_THREAD(p, t, it) {
		if (sr__ring_used(&t->ring) >= t->ring.mark) {
			up = true;
			break;
		}
	}
	sr__rcu_read_unlock();
	return up;
}

/* Sleep up to pause_ns unless a ring reaches its mark or someone asks
 * (an exiting thread, a flush, shutdown). */
static void idle(struct sr__pipeline *p, uint64_t pause_ns)
{
	sr__doorbell_sleep(&p->doorbell, pause_ns, ready, p);
	ck_pr_store_32(&p->wake_req, 0);
}

/* Thread exit, flush, shutdown (never the hot path): drain soon. */
void sr__drainer_wake(struct sr__pipeline *p)
{
	ck_pr_store_32(&p->wake_req, 1);
	sr__doorbell_ring(&p->doorbell);
}

static void *drainer_main(void *arg)
{
	struct sr__pipeline *p = arg;
	uint64_t last_cal = sr__mono_ns(), pause_ns = 0, prev = last_cal;
	const uint64_t max_pause = (uint64_t)p->cfg.drainer_max_sleep_us * 1000;
	const uint64_t delay = (uint64_t)p->cfg.schedule_delay_ms * 1000000;
	/* Spans the pool takes with one batch open (a batch's records hold
	 * batch_spans spans of up to 512 bytes). */
	const uint32_t pool = (p->nbatches - 1) * p->batch_spans;

	urcu_bp_register_thread();
	for (;;) {
		int stop = ck_pr_load_int(&p->drainer_stop);
		uint64_t req = ck_pr_load_64(&p->flush_req);
		struct sr__drain_look look = { 0 };
		uint64_t now, seen;
		bool discard, starved = false;

		/* The request before the rings it covers; pairs with the
		 * flusher's fence_store (flush_locked in lifecycle.c). */
		ck_pr_fence_load();
		now = sr__mono_ns();
		look.since = now - prev;
		prev = now;
		discard = stop && now >= ck_pr_load_64(&p->shutdown_deadline_ns);
		drain_all(p, discard, now, &starved, &look);
		if (stop) {
			sr__exporters_wake(p);
			/* Final pass: keep handing over until the rings are
			 * empty or the deadline passes; then what is left is
			 * lost and counted. */
			starved = !flush_cur(p) || starved;
			starved = !sr__processors_finish(p, now) || starved;
			while (starved && sr__mono_ns() < ck_pr_load_64(&p->shutdown_deadline_ns)) {
				struct timespec ts = { 0, 1000000 };

				nanosleep(&ts, NULL);
				starved = false;
				drain_all(p, false, sr__mono_ns(), &starved, &look);
				sr__exporters_wake(p);
				starved = !flush_cur(p) || starved;
				starved = !sr__processors_finish(p, sr__mono_ns()) ||
					  starved;
			}
			if (starved) {
				if (p->cur) {
					ck_pr_add_64(&p->dropped_shutdown, p->cur->nspans);
					ck_pr_store_32(&p->cur->nspans, 0);
				}
				sr__processors_abandon(p);
				drain_all(p, true, now, &starved, &look);
				sr__exporters_wake(p);
			}
			break;
		}

		seen = ck_pr_load_64(&p->flush_seen);
		if (req > seen)
			sr__processors_flush(p, req);
		if ((req > seen ||
		     (p->cur && p->cur->nspans && now - p->cur->opened_ns >= delay)) &&
		    !flush_cur(p))
			starved = true;
		/* Processors holding spans (tail) run when due, batch or not. */
		if (p->stage.n && !starved && !sr__processors_tick(p, now))
			starved = true;
		if (req > seen && !starved) {
			pthread_mutex_lock(&p->ctl_lock);
			ck_pr_store_64(&p->flush_seen, req);
			pthread_cond_broadcast(&p->ctl_cv);
			pthread_mutex_unlock(&p->ctl_lock);
			sr__exporters_request_flush(p, req);
		}
		if (now - last_cal >= 1000000000ull) {
			sr__clock_recalibrate();
			sr__stats_watch_drops(p);
			last_cal = now;
		}
		if (starved) {
			sr__exporters_wake(p);
			wait_for_room(p, max_pause);
			continue;
		}
		look.spent = sr__mono_ns() - now;
		look.cap = SR__CFG_RECORDS(p->cfg.ring_records);
		look.mark = sr__doorbell_mark(look.cap);
		look.pool = pool;
		pause_ns = sr__drainer_pause(pause_ns, &look, max_pause);
		/* The workers last, just before the pause: a worker woken
		 * earlier preempts the drainer for the rest of its pass, two
		 * more context switches; now it runs as the drainer sleeps. */
		sr__exporters_wake(p);
		if (pause_ns) {
			idle(p, pause_ns);
			ck_pr_store_64(&p->drainer_wakeups, p->drainer_wakeups + 1);
		}
	}
	/* A batch taken but left empty goes back to the pool. */
	if (p->cur) {
		ck_pr_store_int(&p->cur->refs, 1);
		sr__batch_release(p, p->cur, 1, 0, true);
		ck_pr_store_ptr(&p->cur, NULL);
	}
	urcu_bp_unregister_thread();
	return NULL;
}

int sr__drainer_start(struct sr__pipeline *p)
{
	p->doorbell.asleep = 0;
	p->wake_req = 0;
	if (sr__thread_start(&p->drainer, drainer_main, p) != 0)
		return sr__set_error(SR_ENOMEM, "cannot start the drainer thread");
	p->drainer_started = true;
	return 0;
}

/* Shutdown: every producer is already out (grace period passed).  One
 * last pass exports what is in the rings, or counts it dropped if the
 * deadline has passed. */
void sr__drainer_stop(struct sr__pipeline *p, uint64_t deadline_ns)
{
	if (!p->drainer_started)
		return;
	ck_pr_store_64(&p->shutdown_deadline_ns, deadline_ns);
	ck_pr_fence_store(); /* the deadline before the stop flag */
	ck_pr_store_int(&p->drainer_stop, 1);
	sr__drainer_wake(p);
	pthread_join(p->drainer, NULL);
	p->drainer_started = false;
}

uint64_t sr__rings_pending_spans(struct sr__pipeline *p)
{
	struct sr__thread *t;
	uint64_t n = 0;

	sr__rcu_read_lock();
	SR__FOREACH_THREAD(p, t, it)
		n += sr__ring_used(&t->ring);
	sr__rcu_read_unlock();
	return n;
}
