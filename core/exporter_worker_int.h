/*
 * exporter_worker_int.h - the exporters of a running pipeline
 * (exporter_worker.c): one worker thread and one bounded batch queue
 * each, fed by the drainer.
 */
#ifndef SR_EXPORTER_WORKER_INT_H
#define SR_EXPORTER_WORKER_INT_H

#include <pthread.h>

#include "batch_int.h"

struct sr__pipeline;

/* One running exporter and its worker thread.  ops, state, name and
 * thread are set by sr_init() before the worker starts and read-only
 * until shutdown, which alone (under the lifecycle lock) also writes
 * thread_started and hung, and clears state after destroy(). */
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

	/* Batch queue from the drainer: every field under `lock` (the
	 * drainer pushes, the worker pops, shutdown sets stop, the drainer
	 * raises flush_req); `cv` wakes the worker. */
	pthread_mutex_t lock;
	pthread_cond_t cv;
	struct sr__batch **queue;
	uint32_t qcap, qhead, qcount;
	bool stop;                       /* shutdown: finish or drop queue   */
	uint64_t flush_req;              /* flush generation to honour       */
	bool wake_due;                   /* batches queued since the worker
	                                    was last signalled (see
	                                    sr__exporters_wake)              */

	/* The worker writes it under pipe->ctl_lock (then broadcasts
	 * ctl_cv) and reads its own value without; flushers read it under
	 * ctl_lock (sr__exporters_flushed_locked). */
	uint64_t flush_done;

	struct sr_batch view;            /* worker only                      */
	struct sr__scratch scratch;      /* worker only                      */

	/* Stats: ck_pr_add_64 by the worker (and by the drainer for
	 * queue_full); stats readers ck_pr_load_64. */
	uint64_t st_batches, st_ok, st_failed, st_queue_full, st_batches_failed;

	/* The last failure: the worker writes all of it under err_lock
	 * (sr_batch_report_error, then the call's outcome), stats readers
	 * copy it under err_lock.  Initialised once create() succeeded. */
	pthread_mutex_t err_lock;
	char err_text[SR_EXPORTER_ERROR_MAX];
	uint64_t err_ns;
	int32_t err_http, err_grpc, err_code;

	/* Worker only: this call reported its error; the last call failed,
	 * with which statuses, and how many in a row (the log says when an
	 * exporter starts and stops failing, not every failure). */
	bool reported, failing;
	int32_t failing_http, failing_grpc;
	uint64_t fail_streak;
};

enum { SR__FATE_RUNNING = 0, SR__FATE_ABANDONED = 1, SR__FATE_EXITED = 2 };

#define SR__MAX_EXPORTERS 16

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
/* Drainer: signal the workers that sr__batch_dispatch gave batches to
 * since the last call (batch.c: one wake per pass, not per batch). */
void sr__exporters_wake(struct sr__pipeline *p);
/* Under ctl_lock: has every worker honoured flush generation gen? */
bool sr__exporters_flushed_locked(struct sr__pipeline *p, uint64_t gen);

#endif /* SR_EXPORTER_WORKER_INT_H */
