/*
 * drainer.c - the one background thread that empties every ring.
 *
 * Loop: walk the registry (RCU read side), move whole spans from each
 * ring into the current batch, hand the batch to the exporters when it is
 * full or older than schedule_delay_ms, give back rings of exited
 * threads, answer flush requests, and keep the clock calibrated.
 *
 * Polling adapts to how full the rings were: a pass that found the
 * fullest ring under a quarter full (light load, or none) is followed by
 * the longest pause, drainer_max_sleep_us, so at a server's usual rates
 * the drainer wakes about a thousand times a second and takes almost no
 * CPU from the application; fuller rings shorten the pause, and past half
 * full it does not pause at all.  Producers never wake the drainer (that
 * would be a syscall on the hot path), so a ring must hold what its
 * thread records in one maximum pause (ring_records / span rate).
 *
 * When no empty batch is left (the exporters hold them all), the drainer
 * leaves the remaining records in their rings and comes back later: the
 * rings are the queue that absorbs a burst or a slow export, and when
 * they fill, producers drop and count (ring_full) without waiting.  A
 * flush completes only after a pass that found a batch for every record
 * that was waiting.
 */
#include <string.h>
#include <time.h>

#include "pipeline_int.h"

/* Move the published spans of one ring into batches (or count them
 * dropped when `discard`).  Returns the records consumed; sets *starved
 * when it had to leave records behind for want of a batch, and raises
 * *fullest to the records it found waiting. */
static uint32_t drain_ring(struct sr__pipeline *p, struct sr__thread *t,
			   bool discard, uint64_t now, bool *starved,
			   uint32_t *fullest)
{
	uint32_t head, avail = sr__ring_peek_sc(&t->ring, &head);
	uint32_t done = 0;

	if (avail > *fullest)
		*fullest = avail;

	while (done < avail) {
		const struct sr__span_header *h =
			(const void *)sr__ring_at(&t->ring, head + done)->bytes;
		uint32_t nrec = sr__records_for_slots(h->nslots);
		struct sr__batch *b = p->cur;

		if (nrec > avail - done) {
			/* Cannot happen with a well-formed producer; never
			 * read past what was published. */
			done = avail;
			break;
		}
		if (discard) {
			ck_pr_inc_64(&p->dropped_shutdown);
			done += nrec;
			continue;
		}
		if (!b || b->nspans == p->batch_spans ||
		    b->nrecords + nrec > p->batch_records) {
			if (b && b->nspans && !sr__batch_dispatch(p, b)) {
				*starved = true; /* every queue is full */
				break;
			}
			b = p->cur = sr__batch_take(p);
			if (!b) {
				*starved = true;
				break;
			}
			b->opened_ns = now;
		}
		b->first[b->nspans] = b->nrecords;
		if (nrec == 1) {
			/* Most spans: copy only the cache lines in use. */
			uint32_t used = SR__HEADER_SIZE + h->nslots * SR__SLOT_SIZE;

			memcpy(&b->records[b->nrecords], h, (used + 63) & ~63u);
		} else {
			for (uint32_t k = 0; k < nrec; k++)
				memcpy(&b->records[b->nrecords + k],
				       sr__ring_at(&t->ring, head + done + k),
				       SR__RECORD_SIZE);
		}
		b->nrecords += nrec;
		b->nspans++;
		done += nrec;
	}
	if (done)
		sr__ring_release_sc(&t->ring, done);
	return done;
}

/* One pass over every ring; rings of exited threads, once empty, go
 * back to the free list. */
static uint32_t drain_all(struct sr__pipeline *p, bool discard, uint64_t now,
			  bool *starved, uint32_t *fullest)
{
	struct sr__thread *t;
	uint32_t did = 0;

	sr__rcu_read_lock();
	SR__FOREACH_THREAD(p, t, it) {
		/* Read the state before draining: everything an exited
		 * owner published is then visible to this pass. */
		int state = ck_pr_load_int(&t->state);

		ck_pr_fence_load();
		SR_TSAN_ACQUIRE(&t->state);
		if (state == SR__NODE_FREE)
			continue;
		did += drain_ring(p, t, discard, now, starved, fullest);
		if (state == SR__NODE_ORPHAN)
			sr__registry_release(p, t);
	}
	sr__rcu_read_unlock();
	return did;
}

/* Hand over the open batch; false if every queue is full (kept). */
static bool flush_cur(struct sr__pipeline *p)
{
	if (p->cur && p->cur->nspans) {
		if (!sr__batch_dispatch(p, p->cur))
			return false;
		p->cur = NULL;
	}
	return true;
}

/* Sleep up to pause_ns unless woken (by an exiting thread). */
static void idle(struct sr__pipeline *p, uint64_t pause_ns)
{
	uint64_t until = sr__mono_ns() + pause_ns;
	struct timespec ts = { (time_t)(until / 1000000000ull),
			       (long)(until % 1000000000ull) };

	pthread_mutex_lock(&p->wake_lock);
	if (!p->wake_pending)
		pthread_cond_timedwait(&p->wake_cv, &p->wake_lock, &ts);
	p->wake_pending = false;
	pthread_mutex_unlock(&p->wake_lock);
}

/* Thread exit (never the hot path): drain my ring soon so the node comes
 * back for the next thread. */
void sr__drainer_wake(struct sr__pipeline *p)
{
	pthread_mutex_lock(&p->wake_lock);
	p->wake_pending = true;
	pthread_cond_signal(&p->wake_cv);
	pthread_mutex_unlock(&p->wake_lock);
}

static void *drainer_main(void *arg)
{
	struct sr__pipeline *p = arg;
	uint64_t last_cal = sr__mono_ns(), pause_ns = 0;
	const uint64_t max_pause = (uint64_t)p->cfg.drainer_max_sleep_us * 1000;
	const uint64_t delay = (uint64_t)p->cfg.schedule_delay_ms * 1000000;

	urcu_bp_register_thread();
	for (;;) {
		int stop = ck_pr_load_int(&p->drainer_stop);
		uint64_t req = ck_pr_load_64(&p->flush_req);
		uint64_t now, seen;
		uint32_t did, fullest = 0;
		bool discard, starved = false;

		ck_pr_fence_load(); /* requests before the rings they cover */
		now = sr__mono_ns();
		discard = stop && now >= ck_pr_load_64(&p->shutdown_deadline_ns);
		did = drain_all(p, discard, now, &starved, &fullest);
		if (stop) {
			/* Final pass: keep handing over until the rings are
			 * empty or the deadline passes; then what is left is
			 * lost and counted. */
			starved = !flush_cur(p) || starved;
			while (starved && sr__mono_ns() < ck_pr_load_64(&p->shutdown_deadline_ns)) {
				struct timespec ts = { 0, 1000000 };

				nanosleep(&ts, NULL);
				starved = false;
				drain_all(p, false, sr__mono_ns(), &starved, &fullest);
				starved = !flush_cur(p) || starved;
			}
			if (starved) {
				if (p->cur) {
					ck_pr_add_64(&p->dropped_shutdown, p->cur->nspans);
					p->cur->nspans = 0;
				}
				drain_all(p, true, now, &starved, &fullest);
			}
			break;
		}

		seen = ck_pr_load_64(&p->flush_seen);
		if ((req > seen ||
		     (p->cur && p->cur->nspans && now - p->cur->opened_ns >= delay)) &&
		    !flush_cur(p))
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
			last_cal = now;
		}
		if (starved) {
			/* Waiting for an exporter to give a batch back. */
			struct timespec ts = { 0, 50000 };

			nanosleep(&ts, NULL);
			continue;
		}
		if (did) {
			/* Pause by how full the fullest ring was (see top). */
			uint32_t cap = p->cfg.ring_records;

			if (fullest * 2 >= cap)
				continue;
			pause_ns = fullest * 4 >= cap ? max_pause / 8 : max_pause;
		} else {
			pause_ns = pause_ns ? pause_ns * 2 : 1000;
			if (pause_ns > max_pause)
				pause_ns = max_pause;
		}
		idle(p, pause_ns);
	}
	/* A batch taken but left empty goes back to the pool. */
	if (p->cur) {
		ck_pr_store_int(&p->cur->refs, 1);
		sr__batch_release(p, p->cur, 1, 0, true);
		p->cur = NULL;
	}
	urcu_bp_unregister_thread();
	return NULL;
}

int sr__drainer_start(struct sr__pipeline *p)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&p->wake_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake_cv, &ca);
	pthread_condattr_destroy(&ca);
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
