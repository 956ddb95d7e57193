/*
 * pipeline_int.h - the running pipeline: thread nodes with their rings
 * (thread_int.h), the overflow pool, batches (batch_int.h), exporter
 * workers (exporter_worker_int.h), and the drainer.
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
 *   nbatches * (processor_scratch_bytes + index)      processor edits
 *
 * Synchronization of the pipeline (each field's comment has the detail):
 *
 *   what                     writers              readers             how
 *   -----------------------  -------------------  ------------------  ------------------------------
 *   ring p_tail / c_head     owner / drainer      drainer / owner     ck_pr + fences (ring_int.h)
 *   node counters            owner                stats               ck_pr_store_64 / _load_64
 *   node state               registration, owner  drainer, stats      registry_lock; ck_pr + fences
 *   registry list            registration         drainer, stats      registry_lock; RCU walk
 *   busy mark                owner                shutdown            __atomic release / acquire
 *   overflow pool            any recording thread any                 ck_stack MPMC (no ABA)
 *   free batches, outstanding drainer, workers    drainer, workers    batch_lock
 *   open batch (cur, nspans) drainer              flusher on timeout  ck_pr (an estimate)
 *   batch refs, results      workers              last worker         ck_pr atomics
 *   exporter queue, stop     drainer, shutdown    worker              e->lock + e->cv
 *   flush_req                flushers             drainer             ctl_lock; ck_pr + fence pair
 *   flush_seen, flush_done   drainer, workers     flushers            ctl_lock + ctl_cv
 *   drainer_stop, deadline   shutdown             drainer             ck_pr
 *   doorbell.asleep          drainer; producers   drainer; producers  ck_pr + full fences (ring_int.h)
 *   wake_req                 exiting threads,     drainer             ck_pr; then the doorbell
 *                            flushers, shutdown
 *   pipeline counters        any                  stats               ck_pr_add_64 / _load_64
 *   sr__g.pipe               init, shutdown       hot path, stats     RCU publish / rcu_dereference
 *
 * One vocabulary: ck_pr for shared fields, with its fences named with
 * their partner.  __atomic appears only where ThreadSanitizer must see
 * the synchronization (the busy mark, the pipeline's publication) and in
 * the hot path's relaxed setting loads (SR__SETTING, spanring_int.h),
 * which the compiler may fold into a compare.  A function named _locked
 * expects its lock held.
 *
 * Lifetimes and who may touch what:
 *   - Application threads touch only their own node (ring producer side,
 *     counters) and the overflow pool, either inside an RCU read-side
 *     critical section (urcu-bp), or, on the fast path of a span's end,
 *     inside their busy mark (thread_int.h); sr_shutdown() waits out both
 *     before freeing.
 *   - The drainer thread is the only ring consumer and the only writer of
 *     the registry list besides registering threads; list changes happen
 *     under `registry_lock`; readers walk it under RCU.
 *   - Exporter workers touch batches handed to them and their own queue.
 */
#ifndef SR_PIPELINE_INT_H
#define SR_PIPELINE_INT_H

#include "batch_int.h"
#include "exporter_worker_int.h"
#include "processor_stage_int.h"
#include "thread_int.h"

/* Fields without a comment on their synchronization are written by
 * sr_init() before the pipeline is published (release) and read-only
 * until sr_shutdown() frees it after every other thread is done. */
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
	/* Batches on free_batches: written under batch_lock (ck_pr_store_32),
	 * the drainer loads it without the lock to decide whether a worker
	 * must be woken at once (sr__batch_dispatch). */
	uint32_t nfree;
	pthread_mutex_t batch_lock;
	/* The open batch: the drainer writes it (ck_pr_store_ptr) and reads
	 * its own value plainly; sr__batches_pending_spans() (a flusher that
	 * timed out) reads it with ck_pr_load_ptr to skip it. */
	struct sr__batch *cur;

	struct sr__exporter exporters[SR__MAX_EXPORTERS];
	uint32_t nexporters;

	struct sr__proc_stage stage;     /* processor chain, drainer only    */
	/* OTEL_METRICS_EXPORTER's server: init / shutdown only. */
	struct sr__metrics_server *metrics;

	struct sr__resource resource;

	/* Drainer. */
	pthread_t drainer;
	bool drainer_started;
	int drainer_stop;                /* ck_pr: shutdown writes, drainer reads */
	/* The drainer sleeps on it; a ring reaching its mark (half full)
	 * rings it, and so does sr__drainer_wake. */
	struct sr__doorbell doorbell;
	uint32_t wake_req;               /* ck_pr: sr__drainer_wake sets it,
	                                    the drainer clears it          */
	bool wake_due;                   /* drainer only: some exporter has
	                                    batches it was not woken for   */
	uint64_t shutdown_deadline_ns;   /* monotonic; set before drainer_stop */

	/* Flush protocol (see lifecycle.c).  ctl_cv, under ctl_lock, wakes
	 * flushers when flush_seen or a worker's flush_done moves.
	 * flush_req: flushers bump it under ctl_lock (fence_store, then
	 * ck_pr_store_64, so the spans they ended before are in the rings
	 * first); the drainer reads it without the lock (ck_pr_load_64, then
	 * fence_load before it reads the rings: pairs with that fence_store).
	 * flush_seen: the drainer writes it under ctl_lock (ck_pr_store_64);
	 * flushers read it under ctl_lock, the drainer its own value. */
	pthread_mutex_t ctl_lock;
	pthread_cond_t ctl_cv;
	uint64_t flush_req;
	uint64_t flush_seen;

	/* Pipeline-level counters: ck_pr_add_64 from any thread. */
	uint64_t exported, batches_sent;
	uint64_t dropped_queue_full, dropped_exporter, dropped_shutdown;
	uint64_t dropped_processor;      /* sr_proc_drop (drainer)           */
	uint64_t dropped_limits_global;  /* spans with no node (max_threads) */
	uint64_t started_global, sampled_global;
	uint64_t sampled_started_global; /* exited threads' sampled starts
	                                    (tally.c, under its lock)       */
	uint64_t dropped_reentrant_global; /* slow-end re-entry (span_end.c) */
	uint64_t drainer_wakeups;        /* drainer: plain add + ck_pr_store_64
	                                    (single writer); stats load      */
	uint64_t records_discarded;      /* drainer: records it could not
	                                    read as a span (a run longer than
	                                    what was published)              */
	uint64_t scope_errors;

	/* Drainer only (sr__stats_watch_drops): span drops at its last
	 * look, and whether they were growing then. */
	uint64_t watch_drops;
	bool watch_dropping;

	uint64_t bytes;                  /* pipeline memory, fixed at init  */
	struct sr__alloc_choice alloc;   /* where that memory came from     */
	bool leaked;    /* a stuck exporter kept it alive: shutdown's own    */
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

/* Hot path: this thread's node in the running pipeline, or NULL (limit).
 * Call inside an RCU read-side critical section. */
static inline struct sr__thread *sr__thread_get(struct sr__pipeline *p)
{
	if (SR__LIKELY(sr__tls_gen == p->gen))
		return sr__tls_thread;
	return sr__thread_get_slow(p);
}

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
/* Drainer, about once a second: log when spans start (and stop) being
 * dropped. */
void sr__stats_watch_drops(struct sr__pipeline *p);

/* lifecycle.c: start a library thread with all signals blocked. */
int sr__thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* Monotonic ns, for deadlines (not span timestamps). */
uint64_t sr__mono_ns(void);

#endif /* SR_PIPELINE_INT_H */
