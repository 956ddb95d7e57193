/*
 * registry.c - which threads have rings: lazy registration, exit, reclaim.
 *
 * All nodes (a ring each) are preallocated at sr_init(); a thread takes a
 * free node at its first span and returns it, indirectly, when it exits:
 *
 *   free list --(first span: registry_lock)--> active RCU list
 *   active    --(thread exit: orphaned = 1)--> drainer drains it empty
 *   drained   --(drainer: unlink, synchronize_rcu)--> free list
 *
 * The grace period matters because stats readers walk the active list
 * under RCU and may still hold the node.  The exiting thread itself never
 * touches the node again after setting `orphaned`.
 *
 * Thread exit is seen through a pthread key destructor (the only portable
 * hook); it runs while the thread's TLS is still valid.  A thread that
 * records again after its destructor ran (from another destructor)
 * registers anew.
 *
 * Past max_threads, sr__thread_get_slow() returns NULL and the span is
 * counted as dropped (limits); the thread retries at its next span, so it
 * gets a ring as soon as one is reclaimed.
 */
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/pipeline_int.h"

SR__TLS struct sr__thread *sr__tls_thread;
SR__TLS uint32_t sr__tls_gen;

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void on_thread_exit(void *arg)
{
	struct sr__pipeline *p;

	(void)arg;
	urcu_bp_read_lock();
	p = rcu_dereference(sr__g.pipe);
	if (p && sr__tls_gen == p->gen && sr__tls_thread) {
		SR_TSAN_RELEASE(&sr__tls_thread->orphaned);
		ck_pr_fence_store(); /* last commit before the orphan flag */
		ck_pr_store_int(&sr__tls_thread->orphaned, 1);
	}
	urcu_bp_read_unlock();
	sr__tls_thread = NULL;
	sr__tls_gen = 0;
}

static void make_exit_key(void)
{
	pthread_key_create(&exit_key, on_thread_exit);
}

int sr__registry_init(struct sr__pipeline *p)
{
	uint32_t n = p->cfg.max_threads;

	pthread_once(&exit_key_once, make_exit_key);
	CDS_INIT_LIST_HEAD(&p->active);
	pthread_mutex_init(&p->registry_lock, NULL);
	p->free_threads = NULL;
	for (uint32_t i = n; i-- > 0;) {
		struct sr__thread *t = &p->threads[i];

		t->index = i;
		sr__ring_init(&t->ring,
			      p->ring_mem + (size_t)i * p->cfg.ring_records,
			      p->cfg.ring_records);
		t->next_free = p->free_threads;
		p->free_threads = t;
	}
	return 0;
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
		t->tid = (uint64_t)syscall(SYS_gettid);
		t->orphaned = 0;
		t->reclaiming = 0;
		p->rings_in_use++;
		cds_list_add_tail_rcu(&t->node, &p->active);
	}
	pthread_mutex_unlock(&p->registry_lock);
	if (!t)
		return NULL;
	sr__tls_thread = t;
	sr__tls_gen = p->gen;
	pthread_setspecific(exit_key, t);
	return t;
}

/*
 * Drainer: give back drained nodes of exited threads.  Not inside a
 * read-side critical section (synchronize_rcu would deadlock with itself).
 */
void sr__registry_reclaim(struct sr__pipeline *p, struct sr__thread **v,
			  uint32_t n)
{
	if (!n)
		return;
	pthread_mutex_lock(&p->registry_lock);
	for (uint32_t i = 0; i < n; i++)
		cds_list_del_rcu(&v[i]->node);
	pthread_mutex_unlock(&p->registry_lock);

	urcu_bp_synchronize_rcu(); /* stats readers are done with them */

	pthread_mutex_lock(&p->registry_lock);
	for (uint32_t i = 0; i < n; i++) {
		/* The ring is empty; reset indices for the next owner. */
		struct sr__ring *r = &v[i]->ring;
		uint32_t hw = ck_pr_load_32(&r->high_water);

		if (hw > v[i]->hw_peak)
			ck_pr_store_32(&v[i]->hw_peak, hw);
		sr__ring_init(r, r->records, r->capacity);
		v[i]->next_free = p->free_threads;
		p->free_threads = v[i];
		p->rings_in_use--;
	}
	pthread_mutex_unlock(&p->registry_lock);
}

/* Fork child / re-init: this thread's node belongs to a dead pipeline. */
void sr__registry_forget_thread(void)
{
	sr__tls_thread = NULL;
	sr__tls_gen = 0;
}
