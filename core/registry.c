/*
 * registry.c - which threads have rings: lazy registration, exit, reuse.
 *
 * All nodes (a ring each) are preallocated at sr_init().  A node's life:
 *
 *   FREE --(a thread's first span, registry_lock)--> ACTIVE
 *   ACTIVE --(owner exits: store-release)--> ORPHAN
 *   ORPHAN, ring drained empty --> FREE       (drainer, registry_lock)
 *   ORPHAN --> ACTIVE  (a registering thread that found no FREE node
 *                       adopts it, undrained records and all)
 *
 * A node joins the RCU list the first time it is used and never leaves
 * it, so the list only ever grows (by max_threads at most) and reuse needs
 * no grace period: walkers (drainer, stats) never see a node unlinked and
 * relinked under them.  The ring is not reset on reuse: its indices run
 * freely and an empty ring is a valid ring for the next owner, which also
 * keeps the drainer's view of the indices consistent if it peeks at the
 * same moment.
 *
 * Emptiness of an orphaned ring is judged from c_head == p_tail: the
 * drainer releases records only after copying them, so once the two are
 * equal it is done with every record the old owner wrote.
 *
 * Adoption is what makes heavy thread churn lossless: threads exit and
 * new ones start faster than one drainer pass (which a busy machine may
 * not even schedule for a while), so a new thread must not depend on the
 * drainer having emptied an old ring.  The ring is SPSC in time: the dead
 * producer's last commit happens-before its orphan store, which
 * happens-before the adopter's acquire load of it.  Records carry the
 * id of the thread that wrote them, so mixed owners in one ring export
 * correctly.
 *
 * Thread exit is seen through a pthread key destructor (the only portable
 * hook); it runs while the thread's TLS is still valid.  A thread that
 * records again after its destructor ran (from another destructor)
 * registers anew.  Past max_threads live threads, sr__thread_get_slow()
 * returns NULL and the span is counted as dropped (limits); the thread
 * retries at its next span.
 */
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "drainer_int.h"
#include "pipeline_int.h"
#include "tally_int.h"


static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void on_thread_exit(void *arg)
{
	struct sr__pipeline *p;

	(void)arg;
	sr__unsampled_flush(true);
	sr__rcu_read_lock();
	p = rcu_dereference(sr__g.pipe);
	sr__tally_exit(p);
	/* A start after this (from another key's destructor) syncs again:
	 * joins the tally list and arms this hook anew. */
	sr__tls_unsampled.gen = 0;
	sr__tls.synced_gen = 0;
	if (p && sr__tls_gen == p->gen && sr__tls_thread) {
		/* This TLS is about to go: shutdown must stop looking at it. */
		pthread_mutex_lock(&p->registry_lock);
		if (sr__tls_thread->busy == &sr__tls_busy)
			sr__tls_thread->busy = NULL;
		pthread_mutex_unlock(&p->registry_lock);
		SR_TSAN_RELEASE(&sr__tls_thread->state);
		ck_pr_fence_store(); /* last commit before the state change */
		ck_pr_store_int(&sr__tls_thread->state, SR__NODE_ORPHAN);
		sr__drainer_wake(p);
	}
	sr__rcu_read_unlock();
	sr__tls_thread = NULL;
	sr__tls_gen = 0;
}

static void make_exit_key(void)
{
	pthread_key_create(&exit_key, on_thread_exit);
}

void sr__thread_watch_exit(void)
{
	static const char armed = 1; /* any non-NULL value runs the hook */

	pthread_once(&exit_key_once, make_exit_key);
	if (!pthread_getspecific(exit_key))
		pthread_setspecific(exit_key, (void *)&armed);
}

int sr__registry_init(struct sr__pipeline *p)
{
	uint32_t n = p->cfg.max_threads;
	const uint32_t cap = SR__CFG_RECORDS(p->cfg.ring_records);

	pthread_once(&exit_key_once, make_exit_key);
	CDS_INIT_LIST_HEAD(&p->active);
	pthread_mutex_init(&p->registry_lock, NULL);
	p->free_threads = NULL;
	for (uint32_t i = n; i-- > 0;) {
		struct sr__thread *t = &p->threads[i];

		t->index = i;
		sr__ring_init(&t->ring,
			      p->ring_mem + (size_t)i * sr__ring_memory_records(cap),
			      cap);
		/* Half full wakes the drainer: the other half is the margin
		 * for it to get a CPU (its pause aims at the same mark). */
		sr__ring_set_doorbell(&t->ring, &p->doorbell,
				      sr__doorbell_mark(cap));
		t->next_free = p->free_threads;
		p->free_threads = t;
	}
	return 0;
}

/* Any thread: true if `t`'s owner has exited; its last commit is then
 * visible (pairs with on_thread_exit). */
static bool orphaned(struct sr__thread *t)
{
	if (ck_pr_load_int(&t->state) != SR__NODE_ORPHAN)
		return false;
	ck_pr_fence_load();
	SR_TSAN_ACQUIRE(&t->state);
	return true;
}

/* Any thread: true if `t` is orphaned and the drainer is done with it. */
static bool orphan_drained(struct sr__thread *t)
{
	return orphaned(t) &&
	       ck_pr_load_32(&t->ring.c_head) == ck_pr_load_32(&t->ring.p_tail);
}

/* Called inside an RCU read-side critical section (the hot path's). */
struct sr__thread *sr__thread_get_slow(struct sr__pipeline *p)
{
	struct sr__thread *t;

	pthread_mutex_lock(&p->registry_lock);
	t = p->free_threads;
	if (t) {
		p->free_threads = t->next_free;
		t->next_free = NULL;
		p->rings_in_use++;
		ck_pr_store_64(&t->tid, (uint64_t)syscall(SYS_gettid));
	} else {
		/* No free node: adopt the emptiest orphan (see the file
		 * comment). */
		uint32_t best = UINT32_MAX;

		for (uint32_t i = 0; i < p->nlinked; i++) {
			struct sr__thread *o = &p->threads[i];
			uint32_t used;

			if (!orphaned(o))
				continue;
			used = sr__ring_used(&o->ring);
			if (used < best) {
				best = used;
				t = o;
			}
		}
		if (t)
			ck_pr_store_64(&t->tid, (uint64_t)syscall(SYS_gettid));
	}
	if (t) {
		SR_TSAN_ACQUIRE(&t->ring.c_head);
		ck_pr_store_int(&t->state, SR__NODE_ACTIVE);
		t->busy = &sr__tls_busy;
		if (!t->linked) {
			t->linked = 1;
			p->nlinked++;
			cds_list_add_tail_rcu(&t->node, &p->active);
		}
	}
	pthread_mutex_unlock(&p->registry_lock);
	if (!t)
		return NULL;
	sr__tls_thread = t;
	/* The node before the generation that makes it usable, for a
	 * signal handler on this thread (span_end.c's end_reentrant). */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	sr__tls_gen = p->gen;
	pthread_setspecific(exit_key, t);
	return t;
}

/* Drainer: `t` was orphaned and its ring is now empty: back to FREE. */
void sr__registry_release(struct sr__pipeline *p, struct sr__thread *t)
{
	pthread_mutex_lock(&p->registry_lock);
	if (orphan_drained(t)) {
		uint32_t hw = ck_pr_load_32(&t->ring.high_water);

		if (hw > t->hw_peak)
			ck_pr_store_32(&t->hw_peak, hw);
		ck_pr_store_32(&t->ring.high_water, 0);
		ck_pr_store_int(&t->state, SR__NODE_FREE);
		t->next_free = p->free_threads;
		p->free_threads = t;
		p->rings_in_use--;
	}
	pthread_mutex_unlock(&p->registry_lock);
}

void sr__registry_wait_writers(struct sr__pipeline *p)
{
	pthread_mutex_lock(&p->registry_lock);
	for (uint32_t i = 0; i < p->nlinked; i++) {
		uint32_t *busy = p->threads[i].busy;

		/* A writer inside its mark is copying one span into its ring:
		 * a few hundred ns, unless it was preempted right there. */
		while (busy && __atomic_load_n(busy, __ATOMIC_ACQUIRE))
			sched_yield();
	}
	pthread_mutex_unlock(&p->registry_lock);
}

/* Fork child / re-init: this thread's node belongs to a dead pipeline. */
void sr__registry_forget_thread(void)
{
	sr__tls_thread = NULL;
	sr__tls_gen = 0;
}
