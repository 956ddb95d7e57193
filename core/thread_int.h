/*
 * thread_int.h - a recording thread's side of the pipeline (registry.c,
 * overflow.c, membarrier.c): its node (ring and counters) in the registry,
 * the busy mark of the fast end, and the overflow chunks big spans borrow.
 *
 * Who touches a node: its owner thread (ring producer, counters, busy
 * mark), the drainer (ring consumer, orphan reclaim), stats readers, and
 * registration (under the pipeline's registry_lock).  Each field below
 * names its writer, its readers and the order they use.
 */
#ifndef SR_THREAD_INT_H
#define SR_THREAD_INT_H

#include <ck_stack.h>

#include "rcu_int.h"
#include "ring_int.h"
#include "spanring_int.h"
#include "tls_int.h"

struct sr__pipeline;

/*
 * Per-thread counters.  Single writer (the owning thread): plain add,
 * then ck_pr_store_64 so a reader never sees a torn value; readers
 * (stats) ck_pr_load_64.  Never contended: one cache line per thread.
 * Counters are cumulative over every owner a node ever had, so stats sum
 * all nodes and nothing is lost when a thread exits.
 */
struct sr__tcounters {
	_Alignas(64) uint64_t unsampled; /* started = sampled + unsampled    */
	uint64_t sampled;                /* recorded = sampled - ring_full
	                                    - shutdown (a thread without a
	                                    node counts in the pipeline's
	                                    dropped_limits_global)           */
	uint64_t ring_full;
	uint64_t shutdown;
	uint64_t attrs_dropped;
	uint64_t events_dropped;
	uint64_t links_dropped;
	uint64_t strings_truncated;
	uint64_t overflow_exhausted;
	uint64_t reentrant;              /* sampled spans ended by a signal
	                                    handler that interrupted this
	                                    thread's own end (sr__busy_enter):
	                                    counted in sampled and dropped
	                                    by stats.c; written with one
	                                    instruction (SR__BUMP), so a
	                                    nested handler loses none        */
};

#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
/* One instruction: the owner is the only writer, and an aligned 8-byte
 * store is never torn on x86-64. */
#define SR__BUMP(field) __asm__ __volatile__("addq $1, %0" : "+m"(field))
#else
#define SR__BUMP(field) ck_pr_store_64(&(field), (field) + 1)
#endif
#define SR__ADD(field, n) ck_pr_store_64(&(field), (field) + (n))

enum { SR__NODE_FREE = 0, SR__NODE_ACTIVE = 1, SR__NODE_ORPHAN = 2 };

/* One registered thread: a ring and its counters. */
struct sr__thread {
	struct sr__ring ring;            /* owner produces, drainer consumes */
	struct sr__tcounters c;          /* owner writes                     */

	/* Registry (written under registry_lock; list walked under RCU). */
	_Alignas(64) struct cds_list_head node;
	struct sr__thread *next_free;    /* free list, under registry_lock   */
	uint64_t tid;                    /* owner's OS tid: set at registration
	                                    (ck_pr_store), read by the owner
	                                    and by stats (ck_pr_load)         */
	uint32_t index;
	int state;      /* SR__NODE_*: FREE->ACTIVE under registry_lock;
	                   ACTIVE->ORPHAN by the owner's exit (fence_store,
	                   ck_pr_store_int after its last commit); readers
	                   ck_pr_load_int then fence_load before the ring   */
	int linked;     /* on the RCU list (never leaves it), registry_lock */
	uint32_t hw_peak; /* high water of earlier owners: drainer stores,
	                     stats load                                      */
	uint32_t *busy;   /* the owner's sr__tls_busy, NULL when it has none:
	                     set and cleared under registry_lock, read under
	                     it by sr__registry_wait_writers                 */
};

/* Overflow chunk: SR__CHUNK_SLOTS more slots for a span bigger than an
 * sr_span_t holds inline.  Taken and returned with ck_stack's
 * generation-counted MPMC pop (no ABA), only on that slow path. */
struct sr__chunk {
	ck_stack_entry_t entry;
	struct sr__chunk *next;          /* next chunk of the same span      */
	_Alignas(64) unsigned char bytes[SR__CHUNK_SIZE];
};

/* registry.c */
int sr__registry_init(struct sr__pipeline *p);
struct sr__thread *sr__thread_get_slow(struct sr__pipeline *p);
void sr__registry_release(struct sr__pipeline *p, struct sr__thread *t);
void sr__registry_forget_thread(void);

/* registry.c: shutdown, after fast_gen = 0 and sr__membarrier(): wait
 * until no thread is inside its busy mark. */
void sr__registry_wait_writers(struct sr__pipeline *p);

/* membarrier.c: true if sr__membarrier() works in this process. */
bool sr__membarrier_register(void);
void sr__membarrier(void);

/*
 * The fast path of a span's end does not enter urcu-bp's read side (about
 * a fifth of its instructions went there).  It marks this thread busy in
 * TLS, and only then checks that its pipeline still accepts fast ends:
 *
 *   writer (thread)                     shutdown
 *   busy = 1         (plain store)      fast_gen = 0
 *   compiler barrier                    membarrier(): every running thread
 *   gen == fast_gen ? write the ring      executes a full fence
 *   busy = 0 (store-release)            wait until every busy == 0
 *
 * membarrier() is the fence the writer leaves out (the asymmetric fence
 * urcu's memb flavour is built on): after it, a writer either has its busy
 * mark visible to the shutdown's scan, or sees fast_gen == 0 and takes the
 * RCU path.  Without membarrier fast_gen stays 0 and every end takes the
 * RCU path.  Owner writes, shutdown reads (__atomic acquire) through the
 * node's `busy` pointer.
 *
 * The mark is also the re-entry detector.  A signal handler that ends a
 * span on top of an interrupted end on the same thread would reserve the
 * same ring slots (the producer index moves only at the commit) and the
 * two spans would overwrite each other.  sr__busy_enter() sets the mark
 * and says whether it was already set: then the caller is such a handler,
 * leaves the mark alone (it is the interrupted end's) and counts its span
 * dropped (dropped_reentrant) without touching the ring.  The mark is 0 or
 * 1, never nested.
 */
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
/* One read-modify-write instruction each: atomic against a signal handler
 * on this thread, and on x86 every store is a release; the "memory"
 * clobber keeps the compiler from moving ring accesses across.  bts sets
 * the mark and leaves the old bit in CF: the detector costs one branch. */
static inline bool sr__busy_enter(void)
{
	bool was;

	__asm__ __volatile__("btsl $0, %0" : "+m"(sr__tls_busy), "=@ccc"(was)
			     : : "memory");
	return was;
}

static inline void sr__busy_exit(void)
{
	__asm__ __volatile__("movl $0, %0" : "=m"(sr__tls_busy) : : "memory");
}
#else
/* A handler that interrupts between the load and the store finds the mark
 * clear and runs to completion (its own mark on and off) before the
 * interrupted code stores: the pair is atomic against it as well. */
static inline bool sr__busy_enter(void)
{
	if (__atomic_load_n(&sr__tls_busy, __ATOMIC_RELAXED))
		return true;
	__atomic_store_n(&sr__tls_busy, 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return false;
}

static inline void sr__busy_exit(void)
{
	__atomic_store_n(&sr__tls_busy, 0, __ATOMIC_RELEASE);
}
#endif


/* overflow.c */
struct sr__chunk *sr__chunk_get(struct sr__pipeline *p);
void sr__chunk_put(struct sr__pipeline *p, struct sr__chunk *c);

/* span_end.c: this thread's tally of unsampled spans not yet on its node;
 * at_exit from the thread-exit hook. */
void sr__unsampled_flush(bool at_exit);

/* registry.c: run the thread-exit hook (which publishes the tally) on
 * this thread even if it never takes a node.  Slow path: once per thread
 * and pipeline generation. */
void sr__thread_watch_exit(void);

#endif /* SR_THREAD_INT_H */
