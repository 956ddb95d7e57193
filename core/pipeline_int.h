/*
 * pipeline_int.h - the running pipeline: thread nodes with their rings,
 * the overflow pool, batches, exporter workers, and the drainer.
 *
 * Everything here is allocated by sr_init() and freed by sr_shutdown();
 * nothing is allocated in between (thread registration takes a
 * preallocated node), so the pipeline's memory is fixed and reported in
 * sr_stats.pipeline_bytes:
 *
 *   max_threads * (ring_records * 256 B + node)       rings
 *   overflow_records * 320 B                          overflow pool
 *   nbatches * batch_records * 256 B (+ index)        batches
 *   nexporters * (queue + decode scratch)             exporter workers
 *
 * Lifetimes and who may touch what:
 *   - Application threads touch only their own node (ring producer side,
 *     counters) and the overflow pool, either inside an RCU read-side
 *     critical section (urcu-bp), or, on the fast path of a span's end,
 *     inside their busy mark (below); sr_shutdown() waits out both
 *     before freeing.
 *   - The drainer thread is the only ring consumer and the only writer of
 *     the registry list besides registering threads; list changes happen
 *     under `registry_lock`; readers walk it under RCU.
 *   - Exporter workers touch batches handed to them and their own queue.
 */
#ifndef SR_PIPELINE_INT_H
#define SR_PIPELINE_INT_H

#include <ck_stack.h>

#include "rcu_int.h"
#include "tls_int.h"

#include "ring_int.h"
#include "spanring_int.h"

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

/* Overflow chunk: one continuation record for spans bigger than an
 * sr_span_t holds inline.  Taken and returned with ck_stack's
 * generation-counted MPMC pop (no ABA), only on that slow path. */
struct sr__chunk {
	ck_stack_entry_t entry;
	struct sr__chunk *next;          /* next chunk of the same span      */
	_Alignas(64) struct sr__record rec;
};

/* A batch: contiguous copies of whole spans' records. */
struct sr__batch {
	struct sr__record *records;      /* cap_records                     */
	uint32_t *first;                 /* first record of each span        */
	uint32_t nspans, nrecords;
	uint64_t opened_ns;              /* monotonic time of the first span */

	/* Shared by the exporter workers holding it (ck_pr atomics). */
	int refs;
	int any_ok;
	int any_failed;
	uint32_t min_rejected;
	struct sr__batch *next_free;     /* under batch_lock                 */
	int outstanding;                 /* under batch_lock                 */
};

/* Decode scratch: sized for the largest span the limits allow. */
struct sr__scratch {
	sr_attr_view_t *attrs;
	sr_event_view_t *events;
	sr_link_view_t *links;
	uint32_t cap;                    /* entries in each array            */
};

/* What an exporter sees as sr_batch_t: the batch plus its worker's
 * scratch, so several workers can decode one batch at once. */
struct sr_batch {
	struct sr__batch *b;
	struct sr__scratch *scratch;
	const struct sr__pipeline *pipe;
};

/* One running exporter and its worker thread. */
struct sr__exporter {
	const sr_exporter_ops_t *ops;
	void *state;
	char name[32];
	pthread_t thread;
	bool thread_started;
	bool hung;                       /* abandoned at shutdown           */
	int fate;       /* SR__FATE_*: shutdown CASes RUNNING->ABANDONED when
	                   it gives up on the worker, the worker CASes
	                   RUNNING->EXITED on its way out; the loser adapts */

	/* Batch queue from the drainer: under `lock`. */
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct sr__batch **queue;
	uint32_t qcap, qhead, qcount;
	bool stop;                       /* shutdown: finish or drop queue   */
	uint64_t flush_req;              /* flush generation to honour       */
	uint64_t flush_done;             /* written under pipe->ctl_lock     */

	struct sr_batch view;            /* worker only                      */
	struct sr__scratch scratch;

	/* Stats: worker (and drainer for queue_full) with ck_pr_add_64. */
	uint64_t st_batches, st_ok, st_failed, st_queue_full;
};

enum { SR__FATE_RUNNING = 0, SR__FATE_ABANDONED = 1, SR__FATE_EXITED = 2 };

#define SR__MAX_EXPORTERS 16

struct sr__pipeline {
	sr_config_t cfg;                 /* validated copy                   */
	uint32_t gen;

	/* Thread nodes: one array, max_threads long. */
	struct sr__thread *threads;
	struct sr__record *ring_mem;
	struct cds_list_head active;     /* RCU list of nodes ever used      */
	uint32_t nlinked;                /* nodes on it, registry_lock       */
	struct sr__thread *free_threads; /* under registry_lock              */
	pthread_mutex_t registry_lock;
	uint32_t rings_in_use;           /* under registry_lock; stats load  */

	/* Overflow pool. */
	_Alignas(16) ck_stack_t overflow;
	struct sr__chunk *chunks;

	/* Batches. */
	struct sr__batch *batches;
	struct sr__record *batch_mem;
	uint32_t nbatches, batch_records, batch_spans;
	struct sr__batch *free_batches;  /* under batch_lock                 */
	pthread_mutex_t batch_lock;
	struct sr__batch *cur;           /* drainer only                     */

	struct sr__exporter exporters[SR__MAX_EXPORTERS];
	uint32_t nexporters;

	struct sr__resource resource;

	/* Drainer. */
	pthread_t drainer;
	bool drainer_started;
	int drainer_stop;                /* ck_pr: shutdown writes, drainer reads */
	pthread_mutex_t wake_lock;       /* drainer's idle wait; exiting threads */
	pthread_cond_t wake_cv;          /* signal it so their rings come back */
	bool wake_pending;               /* soon (under wake_lock)            */
	uint64_t shutdown_deadline_ns;   /* monotonic; set before drainer_stop */

	/* Flush protocol, under ctl_lock (see lifecycle.c). */
	pthread_mutex_t ctl_lock;
	pthread_cond_t ctl_cv;
	uint64_t flush_req;              /* flushers bump                   */
	uint64_t flush_seen;             /* drainer: passes done for this gen */

	/* Pipeline-level counters: ck_pr_add_64 from any thread. */
	uint64_t exported, batches_sent;
	uint64_t dropped_queue_full, dropped_exporter, dropped_shutdown;
	uint64_t dropped_limits_global;  /* spans with no node (max_threads) */
	uint64_t started_global, sampled_global;
	uint64_t scope_errors;

	uint64_t bytes;                  /* pipeline memory, fixed at init  */
	struct sr__alloc_choice alloc;   /* where that memory came from     */
	bool leaked;                     /* a stuck exporter kept it alive  */
	int refs;       /* 1 (shutdown's) + abandoned workers still running;
	                   ck_pr_dec_int_zero: the last one frees the pipeline */
};

/*
 * Walk the registry under RCU.  Unlike cds_list_for_each_entry_rcu this
 * never forms an sr__thread pointer from the list head itself (which is
 * not inside one): that would be undefined behaviour UBSan rightly flags.
 */
#define SR__FOREACH_THREAD(p, t, it)                                        \
	for (struct cds_list_head *it = rcu_dereference((p)->active.next);  \
	     it != &(p)->active &&                                           \
	     ((t) = caa_container_of(it, struct sr__thread, node), 1);       \
	     it = rcu_dereference(it->next))

/* registry.c */
int sr__registry_init(struct sr__pipeline *p);
struct sr__thread *sr__thread_get_slow(struct sr__pipeline *p);
void sr__registry_release(struct sr__pipeline *p, struct sr__thread *t);
void sr__registry_forget_thread(void);

/*
 * The fast path of a span's end does not enter urcu-bp's read side (about
 * a fifth of its instructions went there).  It marks this thread busy in
 * TLS, and only then checks that its pipeline still accepts fast ends:
 *
 *   writer (thread)                     shutdown
 *   busy++           (plain store)      fast_gen = 0
 *   compiler barrier                    membarrier(): every running thread
 *   gen == fast_gen ? write the ring      executes a full fence
 *   busy-- (store-release)              wait until every busy == 0
 *
 * membarrier() is the fence the writer leaves out (the asymmetric fence
 * urcu's memb flavour is built on): after it, a writer either has its busy
 * mark visible to the shutdown's scan, or sees fast_gen == 0 and takes the
 * RCU path.  Without membarrier fast_gen stays 0 and every end takes the
 * RCU path.  The mark is a counter so a signal handler ending a span on
 * top of an interrupted end leaves it balanced.  Owner writes, shutdown
 * reads (__atomic acquire) through the node's `busy` pointer.
 */
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
/* One read-modify-write instruction each: atomic against a signal handler
 * on this thread, and on x86 every store is a release; the "memory"
 * clobber keeps the compiler from moving ring accesses across. */
static inline void sr__busy_enter(void)
{
	__asm__ __volatile__("addl $1, %0" : "+m"(sr__tls_busy) : : "memory");
}

static inline void sr__busy_exit(void)
{
	__asm__ __volatile__("subl $1, %0" : "+m"(sr__tls_busy) : : "memory");
}
#else
static inline void sr__busy_enter(void)
{
	__atomic_store_n(&sr__tls_busy, sr__tls_busy + 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static inline void sr__busy_exit(void)
{
	__atomic_store_n(&sr__tls_busy, sr__tls_busy - 1, __ATOMIC_RELEASE);
}
#endif

/* registry.c: shutdown, after fast_gen = 0 and sr__membarrier(): wait
 * until no thread is inside its busy mark. */
void sr__registry_wait_writers(struct sr__pipeline *p);
/* membarrier.c: true if sr__membarrier() works in this process. */
bool sr__membarrier_register(void);
void sr__membarrier(void);

/* Hot path: this thread's node in the running pipeline, or NULL (limit).
 * Call inside an RCU read-side critical section. */
static inline struct sr__thread *sr__thread_get(struct sr__pipeline *p)
{
	if (SR__LIKELY(sr__tls_gen == p->gen))
		return sr__tls_thread;
	return sr__thread_get_slow(p);
}

/* span.c: this thread's tally of unsampled spans not yet on its node. */
void sr__unsampled_flush(void);

/* overflow.c */
struct sr__chunk *sr__chunk_get(struct sr__pipeline *p);
void sr__chunk_put(struct sr__pipeline *p, struct sr__chunk *c);

/* batch.c */
int sr__batches_init(struct sr__pipeline *p);
struct sr__batch *sr__batch_take(struct sr__pipeline *p);
void sr__batch_release(struct sr__pipeline *p, struct sr__batch *b,
		       int result, uint64_t rejected, bool shutdown);
bool sr__batch_dispatch(struct sr__pipeline *p, struct sr__batch *b);
uint64_t sr__batches_pending_spans(struct sr__pipeline *p);
int sr__scratch_init(struct sr__scratch *s, const sr_config_t *cfg,
		     uint64_t *bytes);
void sr__scratch_free(struct sr__scratch *s);

/* exporter_worker.c */
/* The optional process-wide hooks of every selectable exporter table
 * (reset at sr_init(), after_fork_child in a fork child); see
 * <spanring/exporter.h>. */
void sr__exporters_reset(void);
void sr__exporters_after_fork_child(void);
int sr__exporters_start(struct sr__pipeline *p, const sr_config_t *cfg);
int sr__exporters_launch(struct sr__pipeline *p);
void sr__exporters_stop(struct sr__pipeline *p, uint64_t deadline_ns);
void sr__exporters_free(struct sr__pipeline *p);
void sr__exporters_request_flush(struct sr__pipeline *p, uint64_t gen);
bool sr__exporters_flushed(struct sr__pipeline *p, uint64_t gen);

/* drainer.c */
int sr__drainer_start(struct sr__pipeline *p);
void sr__drainer_stop(struct sr__pipeline *p, uint64_t deadline_ns);
uint64_t sr__rings_pending_spans(struct sr__pipeline *p);
void sr__drainer_wake(struct sr__pipeline *p);

/* lifecycle.c: drop a reference; the last one frees the pipeline. */
void sr__pipeline_unref(struct sr__pipeline *p);

/* stats.c */
void sr__stats_collect(struct sr__pipeline *p, sr_stats_t *out);
void sr__stats_keep_exporters(struct sr__pipeline *p); /* at shutdown */

/* lifecycle.c: start a library thread with all signals blocked. */
int sr__thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* Monotonic ns, for deadlines (not span timestamps). */
uint64_t sr__mono_ns(void);

#endif /* SR_PIPELINE_INT_H */
