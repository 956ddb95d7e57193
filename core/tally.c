/*
 * tally.c - the list of per-thread sampled-start tallies (tally_int.h).
 *
 * A doubly linked list through the threads' TLS, under one mutex.  A
 * thread joins it at its first start of a generation (a slow path) and
 * leaves it at exit, where its count moves to the pipeline
 * (sampled_started_global); stats walk it.  TLS stays valid while the
 * thread's key destructor runs, and the list never points at a thread
 * that has passed it, so a walker never reads freed TLS.
 *
 * Every holder of the lock blocks signals first: a signal handler may
 * start the first span of its thread and so join the list, and must not
 * find the lock held by the code it interrupted.
 */
#include <pthread.h>
#include <signal.h>

#include "pipeline_int.h"
#include "tally_int.h"

static pthread_mutex_t tally_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sr__start_tally *head; /* under tally_lock */

static void lock(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
	pthread_mutex_lock(&tally_lock);
}

static void unlock(const sigset_t *old)
{
	pthread_mutex_unlock(&tally_lock);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

void sr__tally_sync(uint32_t gen)
{
	struct sr__start_tally *t = &sr__tls.started;
	sigset_t old;

	lock(&old);
	if (t->gen != gen) {
		__atomic_store_n(&t->sampled, 0, __ATOMIC_RELAXED);
		t->gen = gen;
	}
	if (!t->linked) {
		t->prev = NULL;
		t->next = head;
		if (head)
			head->prev = t;
		head = t;
		t->linked = true;
	}
	unlock(&old);
}

void sr__tally_exit(struct sr__pipeline *p)
{
	struct sr__start_tally *t = &sr__tls.started;
	sigset_t old;

	lock(&old);
	if (t->linked) {
		uint64_t n = __atomic_load_n(&t->sampled, __ATOMIC_RELAXED);

		if (p && p->gen == t->gen && n)
			ck_pr_add_64(&p->sampled_started_global, n);
		if (t->prev)
			t->prev->next = t->next;
		else
			head = t->next;
		if (t->next)
			t->next->prev = t->prev;
		t->linked = false;
	}
	/* A start after this (from a later destructor) syncs again. */
	t->gen = 0;
	__atomic_store_n(&t->sampled, 0, __ATOMIC_RELAXED);
	unlock(&old);
}

uint64_t sr__tally_sum(struct sr__pipeline *p)
{
	uint64_t sum;
	sigset_t old;

	lock(&old);
	/* Under the lock: an exiting thread moves its count from its
	 * tally to the pipeline inside it, so it is in one or the other. */
	sum = ck_pr_load_64(&p->sampled_started_global);
	for (struct sr__start_tally *t = head; t; t = t->next)
		if (t->gen == p->gen)
			sum += __atomic_load_n(&t->sampled, __ATOMIC_RELAXED);
	unlock(&old);
	return sum;
}

void sr__tally_after_fork_child(void)
{
	/* The other threads are gone, their TLS with them. */
	pthread_mutex_init(&tally_lock, NULL);
	head = NULL;
	sr__tls.started.linked = false;
	sr__tls.started.gen = 0;
}
