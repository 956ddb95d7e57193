/*
 * exporter_worker.c - exporter selection and one worker thread per
 * exporter.
 *
 * Each exporter instance has a bounded FIFO of batch references fed by
 * the drainer and a thread that calls export_batch on them, so a slow or
 * hanging exporter delays only itself: the drainer never waits for an
 * exporter (a full queue means this exporter misses the batch, counted in
 * its spans_queue_full), and the batch pool reserves each exporter's queue
 * depth (batch.c).
 *
 * Concurrency table (who may run what at once):
 *   drainer: sr__batch_dispatch (queue push, under e->lock)
 *   worker:  queue pop (under e->lock), ops->export_batch/flush (no lock)
 *   flusher: sr__exporters_request_flush / _flushed (e->lock, ctl_lock)
 *   shutdown: sr__exporters_stop, after the drainer stopped
 * ops->create and ops->destroy run on the init / shutdown caller while no
 * worker runs for that instance.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock_int.h"
#include "config_int.h"
#include "exporter_table_int.h"
#include "log_int.h"
#include "bgthread_int.h"
#include "env_int.h"
#include "pipeline_int.h"
#include "sized_int.h"

/* ---- registry of selectable exporters ------------------------------- */

#define SR__MAX_REGISTERED 32

static struct {
	sr_exporter_ops_t ops;
	void *ud;
} registered[SR__MAX_REGISTERED];
static uint32_t nregistered;
static pthread_mutex_t registered_lock = PTHREAD_MUTEX_INITIALIZER;

static const sr_exporter_ops_t *builtin(const char *name, size_t len)
{
	for (const sr_exporter_ops_t *const *o = sr__builtin_exporters; *o; o++)
		if (strlen((*o)->name) == len && !memcmp((*o)->name, name, len))
			return *o;
	return NULL;
}

static int check_ops(const sr_exporter_ops_t *ops)
{
	if (!ops || ops->size < offsetof(sr_exporter_ops_t, destroy) +
					 sizeof(ops->destroy))
		return sr__set_error(SR_EINVAL, "exporter table too small");
	if (ops->abi_version != SR_EXPORTER_ABI_VERSION)
		return sr__set_error(SR_EVERSION,
				     "exporter '%s': ABI version %u, library has %u",
				     ops->name ? ops->name : "?",
				     ops->abi_version, SR_EXPORTER_ABI_VERSION);
	if (!ops->name || !*ops->name || !ops->create || !ops->export_batch ||
	    !ops->destroy)
		return sr__set_error(SR_EINVAL,
				     "exporter '%s': name, create, export_batch "
				     "and destroy are mandatory",
				     ops->name ? ops->name : "?");
	return 0;
}

SR_API int sr_exporter_register(const sr_exporter_ops_t *ops, void *ud)
{
	int rc = check_ops(ops);

	if (rc)
		return rc;
	pthread_mutex_lock(&registered_lock);
	if (builtin(ops->name, strlen(ops->name)))
		rc = SR_ESTATE;
	for (uint32_t i = 0; !rc && i < nregistered; i++)
		if (!strcmp(registered[i].ops.name, ops->name))
			rc = SR_ESTATE;
	if (rc)
		sr__set_error(rc, "exporter name '%s' is taken", ops->name);
	else if (nregistered == SR__MAX_REGISTERED)
		rc = sr__set_error(SR_ELIMIT, "more than %d registered exporters",
				   SR__MAX_REGISTERED);
	else {
		memset(&registered[nregistered].ops, 0, sizeof(sr_exporter_ops_t));
		sr__sized_copy(&registered[nregistered].ops,
			       sizeof(sr_exporter_ops_t), ops, ops->size);
		registered[nregistered].ud = ud;
		nregistered++;
	}
	pthread_mutex_unlock(&registered_lock);
	return rc;
}

static const sr_exporter_ops_t *lookup(const char *name, size_t len, void **ud)
{
	const sr_exporter_ops_t *o = builtin(name, len);

	*ud = NULL;
	if (o)
		return o;
	pthread_mutex_lock(&registered_lock);
	for (uint32_t i = 0; i < nregistered; i++)
		if (strlen(registered[i].ops.name) == len &&
		    !memcmp(registered[i].ops.name, name, len)) {
			o = &registered[i].ops;
			*ud = registered[i].ud;
		}
	pthread_mutex_unlock(&registered_lock);
	return o;
}

/* A hook of an ops table, NULL when the table is too short to have it. */
#define OPS_HOOK(o, f)                                                     \
	((o)->size >= offsetof(sr_exporter_ops_t, f) + sizeof((o)->f) ? (o)->f \
								      : NULL)

void sr__exporters_reset(void)
{
	for (const sr_exporter_ops_t *const *o = sr__builtin_exporters; *o; o++)
		if (OPS_HOOK(*o, reset))
			(*o)->reset(NULL);
	pthread_mutex_lock(&registered_lock);
	for (uint32_t i = 0; i < nregistered; i++)
		if (OPS_HOOK(&registered[i].ops, reset))
			registered[i].ops.reset(registered[i].ud);
	pthread_mutex_unlock(&registered_lock);
}

void sr__exporters_after_fork_child(void)
{
	/* Only this thread survived the fork: whoever held the lock in the
	 * parent will never release it here. */
	pthread_mutex_init(&registered_lock, NULL);
	for (const sr_exporter_ops_t *const *o = sr__builtin_exporters; *o; o++)
		if (OPS_HOOK(*o, after_fork_child))
			(*o)->after_fork_child(NULL);
	for (uint32_t i = 0; i < nregistered; i++)
		if (OPS_HOOK(&registered[i].ops, after_fork_child))
			registered[i].ops.after_fork_child(registered[i].ud);
}

/* ---- why an export failed ------------------------------------------- */

/* Copy msg as printable ASCII (the log and JSON take it as it is). */
static void copy_printable(char *dst, size_t cap, const char *msg)
{
	size_t n = 0;

	for (; msg && msg[n] && n + 1 < cap; n++) {
		unsigned char c = (unsigned char)msg[n];

		dst[n] = c >= 0x20 && c < 0x7f ? (char)c : '.';
	}
	dst[n] = '\0';
}

static void set_error(struct sr__exporter *e, int http_status,
		      int grpc_status, const char *msg)
{
	pthread_mutex_lock(&e->err_lock);
	copy_printable(e->err_text, sizeof(e->err_text), msg);
	e->err_ns = sr__realtime_ns();
	e->err_http = http_status;
	e->err_grpc = grpc_status;
	e->err_code = 0;
	pthread_mutex_unlock(&e->err_lock);
	e->reported = true;
}

SR_API void sr_batch_report_error(const sr_batch_t *batch, int http_status,
				  int grpc_status, const char *msg)
{
	if (batch && batch->exp)
		set_error(batch->exp, http_status, grpc_status,
			  msg ? msg : "");
}

/* After an export call: the last error, the counters and the log.  The
 * log warns when an exporter starts failing or fails differently (other
 * statuses), says at info when it delivers again, and has every failure
 * at debug: an exporter that stays down says so once, not per batch. */
static void export_outcome(struct sr__exporter *e, int rc, uint32_t nspans,
			   uint64_t rejected)
{
	char text[SR_EXPORTER_ERROR_MAX];
	int32_t http, grpc;
	bool changed;

	if (rc == 0 && rejected == 0) {
		if (e->failing)
			sr__log(SR__LOG_INFO, "exporter '%s' delivers again, "
				"after %llu failed exports", e->name,
				(unsigned long long)e->fail_streak);
		e->failing = false;
		e->fail_streak = 0;
		return;
	}
	ck_pr_inc_64(&e->st_batches_failed);
	if (!e->reported)
		set_error(e, 0, -1, rc ? sr_strerror(rc) : "spans rejected");
	pthread_mutex_lock(&e->err_lock);
	e->err_code = rc;
	memcpy(text, e->err_text, sizeof(text));
	http = e->err_http;
	grpc = e->err_grpc;
	pthread_mutex_unlock(&e->err_lock);

	changed = !e->failing || http != e->failing_http || grpc != e->failing_grpc;
	e->failing = true;
	e->failing_http = http;
	e->failing_grpc = grpc;
	e->fail_streak++;
	if (rc)
		sr__log(changed ? SR__LOG_WARN : SR__LOG_DEBUG,
			"exporter '%s': export of %u spans failed (%s): %s",
			e->name, nspans, sr_strerror(rc), text);
	else
		sr__log(changed ? SR__LOG_WARN : SR__LOG_DEBUG,
			"exporter '%s': %llu of %u spans rejected: %s", e->name,
			(unsigned long long)rejected, nspans, text);
}

/* ---- workers -------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct sr__exporter *e = arg;
	struct sr__pipeline *p = (struct sr__pipeline *)e->view.pipe;

	urcu_bp_register_thread();
	pthread_mutex_lock(&e->lock);
	for (;;) {
		struct sr__batch *b;
		uint64_t rejected = 0, flush;
		bool drop;
		int rc;

		while (!e->qcount && !e->stop && e->flush_req <= e->flush_done)
			pthread_cond_wait(&e->cv, &e->lock);
		if (!e->qcount) {
			flush = e->flush_req;
			if (flush > e->flush_done) {
				pthread_mutex_unlock(&e->lock);
				if (e->ops->flush)
					e->ops->flush(e->state,
						      p->cfg.export_timeout_ms);
				pthread_mutex_lock(&p->ctl_lock);
				e->flush_done = flush;
				pthread_cond_broadcast(&p->ctl_cv);
				pthread_mutex_unlock(&p->ctl_lock);
				pthread_mutex_lock(&e->lock);
				continue;
			}
			if (e->stop)
				break;
			continue;
		}
		b = e->queue[e->qhead];
		e->qhead = (e->qhead + 1) % e->qcap;
		e->qcount--;
		/* At shutdown past the deadline, queued batches are dropped. */
		drop = e->stop && sr__mono_ns() >= ck_pr_load_64(&p->shutdown_deadline_ns);
		pthread_mutex_unlock(&e->lock);

		if (drop) {
			sr__batch_release(p, b, 1, 0, true);
		} else {
			e->view.b = b;
			e->reported = false;
			rc = e->ops->export_batch(e->state, &e->view, &rejected);
			ck_pr_inc_64(&e->st_batches);
			if (rejected > b->nspans)
				rejected = b->nspans;
			export_outcome(e, rc, b->nspans, rejected);
			if (rc == 0) {
				ck_pr_add_64(&e->st_ok, b->nspans - rejected);
				ck_pr_add_64(&e->st_failed, rejected);
			} else {
				ck_pr_add_64(&e->st_failed, b->nspans);
			}
			sr__batch_release(p, b, rc == 0 ? 0 : -1, rejected, false);
		}
		pthread_mutex_lock(&e->lock);
	}
	pthread_mutex_unlock(&e->lock);
	if (!ck_pr_cas_int(&e->fate, SR__FATE_RUNNING, SR__FATE_EXITED)) {
		/* sr_shutdown() gave up on us and returned: clean up our own
		 * instance, and the pipeline if we are the last one out. */
		e->ops->destroy(e->state, 0);
		e->state = NULL;
		sr__pipeline_unref(p);
	}
	urcu_bp_unregister_thread();
	return NULL;
}

static int start_one(struct sr__pipeline *p, const char *name, size_t len,
		     const sr_config_t *cfg)
{
	struct sr__exporter *e;
	const sr_exporter_ops_t *ops;
	char err[200] = "";
	void *ud;
	int rc;

	if (len == 0)
		return 0;
	/* "plugin:<path>" names a shared object to load (exporters/infra/plugin.c)
	 * instead of a built-in or registered exporter. */
	if (len > 7 && !memcmp(name, "plugin:", 7)) {
		ops = sr__plugin_load(name, len, &ud, err, sizeof(err));
		if (!ops)
			return sr__set_error(SR_EIO, "%s", err);
	} else {
		ops = lookup(name, len, &ud);
	}
	if (!ops)
		return sr__set_error(SR_ENOTFOUND, "%s='%.*s': unknown exporter",
				     sr__config_origin(cfg->exporters,
						       "OTEL_TRACES_EXPORTER",
						       "exporters"),
				     (int)len, name);
	if (p->nexporters == SR__MAX_EXPORTERS)
		return sr__set_error(SR_ELIMIT, "more than %d exporters",
				     SR__MAX_EXPORTERS);
	e = &p->exporters[p->nexporters];
	memset(e, 0, sizeof(*e));
	e->ops = ops;
	/* A plugin goes by its own name, not its (long) path. */
	if (len > 7 && !memcmp(name, "plugin:", 7))
		snprintf(e->name, sizeof(e->name), "%s", ops->name);
	else
		snprintf(e->name, sizeof(e->name), "%.*s", (int)len, name);
	rc = ops->create(ud, cfg, &e->state, err, sizeof(err));
	if (rc)
		return sr__set_error(rc < 0 ? rc : SR_EIO, "exporter '%s': %s",
				     e->name, err[0] ? err : sr_strerror(rc));
	pthread_mutex_init(&e->err_lock, NULL);
	e->err_grpc = -1;
	p->nexporters++;
	return 0;
}

/* Create the exporters named in cfg->exporters.  Unknown or failing ones
 * are skipped; the first error is returned (the pipeline still runs). */
int sr__exporters_start(struct sr__pipeline *p, const sr_config_t *cfg)
{
	const char *s = cfg->exporters ? cfg->exporters : "", *a;
	size_t len;
	int first = 0;

	while (sr__env_list_next(&s, &a, &len)) {
		int rc;

		/* "none" alone means no exporter at all but still counts
		 * spans as exported: it is a real (discarding) exporter. */
		rc = start_one(p, a, len, cfg);
		if (rc && !first) {
			char msg[256];

			first = rc;
			snprintf(msg, sizeof(msg), "%s", sr_last_error());
			sr__set_error(rc, "%s", msg);
		}
	}
	return first;
}

/* After sr__batches_init: queues, scratch and threads. */
int sr__exporters_launch(struct sr__pipeline *p)
{
	uint32_t qcap = (p->cfg.max_queue_size + p->cfg.max_export_batch_size -
			 1) / p->cfg.max_export_batch_size;

	for (uint32_t i = 0; i < p->nexporters; i++) {
		struct sr__exporter *e = &p->exporters[i];
		char tname[16]; /* the kernel keeps 15 bytes of a name */

		pthread_mutex_init(&e->lock, NULL);
		pthread_cond_init(&e->cv, NULL);
		e->qcap = qcap;
		e->queue = sr__alloc(sizeof(*e->queue) * qcap, 64);
		if (!e->queue || sr__scratch_init(&e->scratch, &p->cfg, &p->bytes))
			return SR_ENOMEM;
		p->bytes += sizeof(*e->queue) * qcap;
		e->view.scratch = &e->scratch;
		e->view.pipe = p;
		e->view.exp = e;
		/* Thread names are cut at 15 bytes; say so to the compiler. */
		snprintf(tname, sizeof(tname), "sr-exp-%.8s", e->name);
		if (sr__thread_start_named(&e->thread, tname, worker_main, e) != 0)
			return sr__set_error(SR_ENOMEM, "cannot start exporter thread");
		e->thread_started = true;
	}
	return 0;
}

void sr__exporters_request_flush(struct sr__pipeline *p, uint64_t gen)
{
	for (uint32_t i = 0; i < p->nexporters; i++) {
		struct sr__exporter *e = &p->exporters[i];

		pthread_mutex_lock(&e->lock);
		if (e->flush_req < gen)
			e->flush_req = gen;
		pthread_cond_signal(&e->cv);
		pthread_mutex_unlock(&e->lock);
	}
}

void sr__exporters_wake(struct sr__pipeline *p)
{
	if (!p->wake_due)
		return;
	p->wake_due = false;
	for (uint32_t i = 0; i < p->nexporters; i++) {
		struct sr__exporter *e = &p->exporters[i];

		pthread_mutex_lock(&e->lock);
		if (e->wake_due) {
			e->wake_due = false;
			pthread_cond_signal(&e->cv);
		}
		pthread_mutex_unlock(&e->lock);
	}
}

bool sr__exporters_flushed_locked(struct sr__pipeline *p, uint64_t gen)
{
	for (uint32_t i = 0; i < p->nexporters; i++)
		if (p->exporters[i].flush_done < gen)
			return false;
	return true;
}

/* Pipeline free: the queues and scratch (after every worker is gone). */
void sr__exporters_free(struct sr__pipeline *p)
{
	for (uint32_t i = 0; i < p->nexporters; i++) {
		struct sr__exporter *e = &p->exporters[i];

		if (e->queue)
			sr__free(e->queue, sizeof(*e->queue) * e->qcap);
		e->queue = NULL;
		sr__scratch_free(&e->scratch);
		pthread_mutex_destroy(&e->lock);
		pthread_cond_destroy(&e->cv);
		pthread_mutex_destroy(&e->err_lock);
	}
}

/* pthread_join with a CLOCK_MONOTONIC deadline (ns). */
static int join_until(pthread_t t, uint64_t deadline_ns)
{
	uint64_t now = sr__mono_ns(), left = deadline_ns > now ? deadline_ns - now : 0;
	struct timespec ts;

	/* pthread_timedjoin_np takes CLOCK_REALTIME. */
	clock_gettime(CLOCK_REALTIME, &ts);
	left += (uint64_t)ts.tv_nsec;
	ts.tv_sec += (time_t)(left / 1000000000ull);
	ts.tv_nsec = (long)(left % 1000000000ull);
	return pthread_timedjoin_np(t, NULL, &ts);
}

/* Stop workers (they finish their queues until the deadline, then drop
 * what is left) and destroy the instances. */
void sr__exporters_stop(struct sr__pipeline *p, uint64_t deadline_ns)
{
	uint64_t now;

	for (uint32_t i = 0; i < p->nexporters; i++) {
		struct sr__exporter *e = &p->exporters[i];

		if (!e->thread_started)
			continue;
		pthread_mutex_lock(&e->lock);
		e->stop = true;
		pthread_cond_signal(&e->cv);
		pthread_mutex_unlock(&e->lock);
	}
	for (uint32_t i = 0; i < p->nexporters; i++) {
		struct sr__exporter *e = &p->exporters[i];

		if (!e->thread_started)
			continue;
		/* Until the deadline the worker finishes its queue.  Past it,
		 * an exporter that offers cancel() is asked to abort the call
		 * in progress; one still stuck after its own export timeout is
		 * abandoned: the caller gets control back and the pipeline's
		 * memory is leaked rather than freed under the stuck thread. */
		if (join_until(e->thread, deadline_ns) != 0) {
			if (OPS_HOOK(e->ops, cancel))
				e->ops->cancel(e->state);
			if (join_until(e->thread, sr__mono_ns() +
							  (uint64_t)p->cfg.export_timeout_ms *
								  1000000ull) != 0) {
				ck_pr_inc_int(&p->refs);
				if (ck_pr_cas_int(&e->fate, SR__FATE_RUNNING,
						  SR__FATE_ABANDONED)) {
					pthread_detach(e->thread);
					e->hung = true;
					p->leaked = true;
				} else {
					/* It finished just now after all. */
					ck_pr_dec_int(&p->refs);
					pthread_join(e->thread, NULL);
				}
			}
		}
		e->thread_started = false;
	}
	now = sr__mono_ns();
	for (uint32_t i = 0; i < p->nexporters; i++) {
		struct sr__exporter *e = &p->exporters[i];
		uint64_t left_ms = deadline_ns > now ? (deadline_ns - now) / 1000000 : 0;

		if (e->hung)
			continue;

		e->ops->destroy(e->state, (uint32_t)left_ms);
		e->state = NULL;
	}
}
