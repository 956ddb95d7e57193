/*
 * lifecycle.c - sr_init, sr_flush, sr_shutdown, and fork.
 *
 * sr_init allocates every piece of pipeline memory up front (rings,
 * overflow pool, batches, exporter queues and scratch), starts one worker
 * thread per exporter and the drainer, and only then publishes the
 * pipeline: running = 1 and sr__g.pipe (rcu_assign_pointer).
 *
 * sr_shutdown unpublishes in the reverse order: running = 0 and pipe =
 * NULL, then synchronize_rcu() waits out every hot-path call that could
 * still be writing a ring or a counter.  After that the rings are final:
 * the drainer's last pass exports them (or counts them dropped if the
 * deadline passed), the exporter workers finish their queues, and the
 * memory is freed.
 *
 * Flush protocol (ctl_lock protects the handshake, counters are ck_pr):
 *   flusher  flush_req = g (bumped)           then waits on ctl_cv for:
 *   drainer  sees g, drains every ring, dispatches the open batch,
 *            flush_seen = g, asks each worker for flush g
 *   worker   after its queue (FIFO) is empty: ops->flush, flush_done = g
 *   done     flush_seen >= g and every worker's flush_done >= g
 *
 * Fork: the child inherits the parent's memory but none of its threads.
 * It abandons the parent's pipeline (its mutexes may be held by threads
 * that do not exist in the child; its records belong to the parent, which
 * exports them) and starts a fresh one from the same configuration, so
 * the child works, cannot deadlock, and never exports a parent's span.
 *
 * Lifecycle calls are serialised by sr__g.lifecycle_lock; sr_flush takes
 * it too, so a flush and a shutdown never interleave.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock_int.h"
#include "config_int.h"
#include "flight_int.h"
#include "log_int.h"
#include "metrics_table_int.h"
#include "tally_int.h"
#include "pipeline_int.h"
#include "sampler_int.h"

struct sr__global sr__g = {
	.lifecycle_lock = PTHREAD_MUTEX_INITIALIZER,
};

/* Mirror of sr__g.running for the inline fast paths
 * (spanring/static/span_inline.h): written with it (lifecycle lock held),
 * read by applications with a relaxed atomic load.  Exported: ABI. */
SR_API int sr__active;

static uint32_t gen_counter;  /* under lifecycle_lock */

/* Copy of the running configuration for the fork child, strings owned. */
static sr_config_t saved_cfg;
static char *saved_strings[7];

static void save_config(const sr_config_t *cfg)
{
	sr_config_t c = *cfg;
	const char **fields[7] = {
		&c.service_name, &c.resource_attributes, &c.exporters,
		&c.flight_recorder, &c.processors, &c.redact_rules,
		&c.redact_config,
	};
	char *copies[7];

	/* Copy first: in a fork child cfg is saved_cfg itself. */
	for (int i = 0; i < 7; i++)
		copies[i] = *fields[i] ? strdup(*fields[i]) : NULL;
	for (int i = 0; i < 7; i++) {
		free(saved_strings[i]);
		saved_strings[i] = copies[i];
		*fields[i] = copies[i];
	}
	saved_cfg = c;
}

/* ---- allocation of the pipeline ------------------------------------ */

static size_t ring_bytes(const sr_config_t *c)
{
	return (size_t)c->max_threads *
	       sr__ring_memory_records(SR__CFG_RECORDS(c->ring_records)) *
	       sizeof(struct sr__record);
}

static void pipeline_free(struct sr__pipeline *p)
{
	const sr_config_t *c = &p->cfg;
	struct sr__alloc_choice alloc = p->alloc;

	/* Free with the allocator this pipeline was made with (see alloc.c). */
	sr__alloc_use(&alloc);

	sr__processors_free(p); /* reads the batches */
	if (p->batches)
		for (uint32_t i = 0; i < p->nbatches; i++)
			sr__free(p->batches[i].first, p->batch_spans * sizeof(uint32_t));
	sr__free(p->batch_mem, (size_t)p->nbatches * p->batch_records *
				       sizeof(struct sr__record));
	sr__free(p->batches, sizeof(*p->batches) * p->nbatches);
	sr__exporters_free(p);
	sr__free(p->chunks, sizeof(*p->chunks) * c->overflow_records);
	sr__free(p->ring_mem, ring_bytes(c));
	sr__free(p->threads, sizeof(*p->threads) * c->max_threads);
	sr__resource_free(&p->resource);
	sr__free(p, sizeof(*p));
	sr__alloc_use(NULL);
}

/*
 * Normally shutdown holds the only reference.  An exporter abandoned past
 * the deadline holds one more until it finally returns, so its thread
 * never runs on freed memory, and the memory is not leaked for good.
 */
void sr__pipeline_unref(struct sr__pipeline *p)
{
	bool zero;

	ck_pr_dec_int_zero(&p->refs, &zero);
	if (!zero)
		return;
	/* Exporters abandoned at shutdown destroyed their own instance. */
	pipeline_free(p);
}

static int pipeline_alloc(struct sr__pipeline *p)
{
	const sr_config_t *c = &p->cfg;
	size_t tb = sizeof(*p->threads) * c->max_threads;
	size_t cb = sizeof(*p->chunks) * c->overflow_records;

	p->threads = sr__alloc(tb, 64);
	p->ring_mem = sr__alloc(ring_bytes(c), 64);
	p->chunks = c->overflow_records ? sr__alloc(cb, 64) : NULL;
	if (!p->threads || !p->ring_mem || (c->overflow_records && !p->chunks))
		return sr__set_error(SR_ENOMEM, "cannot allocate %zu bytes of rings",
				     ring_bytes(c) + tb + cb);
	p->bytes += sizeof(*p) + tb + ring_bytes(c) + cb;
	ck_stack_init(&p->overflow);
	for (uint32_t i = 0; i < c->overflow_records; i++)
		ck_stack_push_mpmc(&p->overflow, &p->chunks[i].entry);
	return 0;
}

static void publish_globals(struct sr__pipeline *p)
{
	const sr_config_t *c = &p->cfg;
	struct sr__sampler smp;
	struct sr__limits l;

	/* Computed in locals, then stored setting by setting with SR__SET
	 * (see spanring_int.h): a span racing this init reads them. */
	sr__sampler_setup(&smp, c->sampler, c->sampler_ratio);
	{
		int8_t root = smp.bound == SR__SAMPLE_ALL ? 1
			      : smp.bound == 0           ? 0
							 : -1;
		bool pb = smp.kind >= SR_SAMPLER_PARENTBASED_ALWAYS_ON;

		SR__SET(sr__g.sampler.kind, smp.kind);
		SR__SET(sr__g.sampler.bound, smp.bound);
		SR__SET(sr__g.root_decision, root);
		SR__SET(sr__g.child_decision[0], (int8_t)(pb ? 0 : root));
		SR__SET(sr__g.child_decision[1], (int8_t)(pb ? 1 : root));
	}
	l.attrs = c->attr_count_limit;
	l.events = c->event_count_limit;
	l.links = c->link_count_limit;
	l.event_attrs = c->event_attr_count_limit;
	l.link_attrs = c->link_attr_count_limit;
	l.value_len = c->attr_value_length_limit;
	l.max_slots = sr__slots_in_records(SR__CFG_RECORDS(c->max_span_records));
	l.inline_slots = l.max_slots - 1 < 14 ? l.max_slots - 1 : 14;
	/* The inline attribute paths (span_inline.h) append while they end
	 * at or below fast_end: under the attribute limit and the inline
	 * room, and only when every string they copy (up to
	 * SR__SPAN_ITEM_INL2_MAX bytes) fits the value limit uncut: they do
	 * not check it, so a limit below that sends every attribute out of
	 * line, where it is cut and counted. */
	l.fast_end = l.inline_slots;
	if (l.attrs < l.fast_end)
		l.fast_end = l.attrs;
	if (l.value_len < SR__SPAN_ITEM_INL2_MAX)
		l.fast_end = 0;
	SR__SET(sr__g.limits.attrs, l.attrs);
	SR__SET(sr__g.limits.events, l.events);
	SR__SET(sr__g.limits.links, l.links);
	SR__SET(sr__g.limits.event_attrs, l.event_attrs);
	SR__SET(sr__g.limits.link_attrs, l.link_attrs);
	SR__SET(sr__g.limits.value_len, l.value_len);
	SR__SET(sr__g.limits.max_slots, l.max_slots);
	SR__SET(sr__g.limits.inline_slots, l.inline_slots);
	SR__SET(sr__g.limits.fast_end, l.fast_end);
	SR__SET(sr__g.span_word_rec,
		sr__span_word(SR__SPAN_RECORDING, l.fast_end, p->gen));
	SR__SET(sr__g.span_word_ctx, sr__span_word(SR__SPAN_CONTEXT, 0, p->gen));
	SR__SET(sr__g.gen, p->gen);
	/* rcu_assign_pointer, in a form ThreadSanitizer understands. */
	__atomic_store_n(&sr__g.pipe, p, __ATOMIC_RELEASE);
	/* Everything above before `running`; a span that sees running = 1
	 * sees the sampler, limits and generation of this pipeline. */
	ck_pr_fence_store();
	ck_pr_store_int(&sr__g.running, 1);
	ck_pr_store_int(&sr__active, 1);
	if (sr__membarrier_register())
		SR__SET(sr__fast_gen, p->gen);
}

static int init_locked(const sr_config_t *user)
{
	struct sr__pipeline *p;
	pthread_condattr_t ca;
	sr_config_t cfg;
	int rc, soft = 0;

	if (sr__g.pipe)
		return sr__set_error(SR_ESTATE, "spanring is already running");
	sr__clear_error();
	if (!user)
		return sr__null_arg("sr_init", "cfg");
	sr__config_copy(&cfg, user);
	rc = sr__config_validate(&cfg);
	if (rc)
		return rc;
	sr__log_configure(cfg.log_level ? (int)cfg.log_level : SR__LOG_INFO,
			  cfg.log_rate_per_min);
	sr__alloc_configure(cfg.allocator);
	sr__clock_init();
	sr__ids_seed();

	p = sr__alloc(sizeof(*p), 64);
	if (!p)
		return sr__set_error(SR_ENOMEM, "cannot allocate the pipeline");
	p->cfg = cfg;
	p->refs = 1;
	sr__alloc_capture(&p->alloc);
	if (++gen_counter == 0)
		gen_counter = 1;
	p->gen = gen_counter;
	pthread_mutex_init(&p->ctl_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->ctl_cv, &ca);
	pthread_condattr_destroy(&ca);

	rc = pipeline_alloc(p);
	if (rc)
		goto fail;
	soft = sr__resource_build(&p->resource, &cfg);
	if (soft == SR_ENOMEM) {
		rc = soft;
		goto fail;
	}
	sr__exporters_reset();
	rc = sr__exporters_start(p, &cfg);
	if (rc == SR_ENOMEM)
		goto fail;
	if (rc && !soft)
		soft = rc;
	rc = sr__processors_start(p, &cfg);
	if (!rc)
		rc = sr__batches_init(p);
	if (!rc)
		rc = sr__processors_batch_mem(p);
	if (!rc)
		rc = sr__exporters_launch(p);
	if (!rc)
		rc = sr__registry_init(p);
	if (!rc)
		rc = sr__drainer_start(p);
	if (rc)
		goto fail;
	{
		/* Like an exporter's, a metrics exporter that cannot start is
		 * reported and the pipeline runs without it. */
		char err[200] = "";
		int mrc = sr__metrics_start(&p->metrics, err, sizeof(err));

		if (mrc == SR_ENOMEM) {
			rc = mrc;
			goto fail;
		}
		if (mrc && !soft)
			soft = sr__set_error(mrc, "%s", err);
	}
	/* Last: the recorder reads every piece above.  Its failure leaves
	 * the pipeline running without it, like an exporter's. */
	rc = sr__flight_start(p);
	if (rc && !soft)
		soft = rc;
	sr__g.have_final = false;
	publish_globals(p);
	save_config(&cfg);
	return soft;

fail:
	/* Nothing was published; stop what started and free it all. */
	if (p->drainer_started)
		sr__drainer_stop(p, 0);
	sr__exporters_stop(p, 0);
	sr__processors_stop(p);
	pipeline_free(p);
	return rc;
}

SR_API int sr_init(const sr_config_t *cfg)
{
	char msg[256];
	int rc, env_rc = sr__config_env_take(msg, sizeof(msg));

	pthread_mutex_lock(&sr__g.lifecycle_lock);
	rc = init_locked(cfg);
	pthread_mutex_unlock(&sr__g.lifecycle_lock);
	if (rc == 0 && env_rc) {
		/* Running, with the bad variable that sr_config_from_env()
		 * reported ignored: report it again, as the first error. */
		return sr__set_error(env_rc, "%s", msg);
	}
	return rc;
}

SR_API int sr_init_from_env(void)
{
	sr_config_t cfg;

	sr_config_init(&cfg);
	sr_config_from_env(&cfg); /* its problem: reported by sr_init() */
	return sr_init(&cfg);
}

SR_API bool sr_is_running(void)
{
	return ck_pr_load_int(&sr__g.running) != 0;
}

SR_API int sr_thread_register(void)
{
	struct sr__pipeline *p;
	int rc = 0;

	sr__rcu_read_lock();
	p = rcu_dereference(sr__g.pipe);
	if (!p)
		rc = SR_ESTATE;
	else if (!sr__thread_get(p))
		rc = SR_ELIMIT;
	sr__rcu_read_unlock();
	return rc;
}

/* ---- flush and shutdown --------------------------------------------- */

static int flush_locked(struct sr__pipeline *p, uint64_t deadline,
			uint64_t *pending)
{
	struct timespec ts = { (time_t)(deadline / 1000000000ull),
			       (long)(deadline % 1000000000ull) };
	uint64_t gen;
	int rc = 0;

	pthread_mutex_lock(&p->ctl_lock);
	gen = p->flush_req + 1;
	/* The spans this thread ended (or saw end) before, in the rings
	 * before the request; pairs with the drainer's fence_load. */
	ck_pr_fence_store();
	ck_pr_store_64(&p->flush_req, gen);
	sr__drainer_wake(p); /* it may be in a long sleep */
	while (!(ck_pr_load_64(&p->flush_seen) >= gen &&
		 sr__exporters_flushed_locked(p, gen))) {
		if (pthread_cond_timedwait(&p->ctl_cv, &p->ctl_lock, &ts) != 0 &&
		    sr__mono_ns() >= deadline) {
			rc = SR_ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&p->ctl_lock);
	if (pending)
		*pending = rc ? sr__rings_pending_spans(p) +
					sr__batches_pending_spans(p) +
					sr__processors_held(p)
			      : 0;
	return rc;
}

SR_API int sr_flush(uint32_t timeout_ms, uint64_t *pending)
{
	struct sr__pipeline *p;
	int rc;

	if (pending)
		*pending = 0;
	sr__unsampled_flush(false);
	pthread_mutex_lock(&sr__g.lifecycle_lock);
	p = sr__g.pipe;
	rc = p ? flush_locked(p, sr__mono_ns() + timeout_ms * 1000000ull, pending)
	       : SR_ESTATE;
	pthread_mutex_unlock(&sr__g.lifecycle_lock);
	return rc;
}

static int shutdown_locked(uint64_t deadline, uint64_t *lost)
{
	struct sr__pipeline *p = sr__g.pipe;
	sr_stats_t st;

	if (!p)
		return SR_ESTATE;
	sr__metrics_stop(p->metrics); /* before anything it reads goes */
	p->metrics = NULL;
	flush_locked(p, deadline, NULL);

	ck_pr_store_int(&sr__active, 0);
	ck_pr_store_int(&sr__g.running, 0);
	SR__SET(sr__fast_gen, 0);
	__atomic_store_n(&sr__g.pipe, NULL, __ATOMIC_RELEASE);
	sr__membarrier();
	sr__registry_wait_writers(p); /* no fast end still writes a ring */
	sr__rcu_synchronize(); /* no hot-path call still holds p */

	sr__drainer_stop(p, deadline);
	sr__processors_stop(p); /* the drainer was their only caller */
	sr__exporters_stop(p, deadline);

	sr__stats_collect(p, &st);
	if (p->leaked) {
		/* Batches still held by a stuck exporter never finish. */
		st.dropped_shutdown += sr__batches_pending_spans(p);
	}
	sr__g.final_stats = st;
	sr__g.have_final = true;
	sr__stats_keep_exporters(p);
	sr__processors_keep_stats(p);
	if (lost)
		*lost = st.dropped_shutdown;
	sr__flight_stop(p); /* before the memory it would dump goes */
	sr__pipeline_unref(p); /* freed now, or by the last stuck exporter */
	sr__registry_forget_thread();
	return st.dropped_shutdown ? SR_ETIMEDOUT : 0;
}

SR_API int sr_shutdown(uint32_t timeout_ms, uint64_t *lost)
{
	int rc;

	if (lost)
		*lost = 0;
	sr__unsampled_flush(false);
	pthread_mutex_lock(&sr__g.lifecycle_lock);
	rc = shutdown_locked(sr__mono_ns() + timeout_ms * 1000000ull, lost);
	pthread_mutex_unlock(&sr__g.lifecycle_lock);
	return rc;
}

/* ---- fork ----------------------------------------------------------- */

static void fork_prepare(void)
{
	pthread_mutex_lock(&sr__g.lifecycle_lock);
	urcu_bp_before_fork();
}

static void fork_parent(void)
{
	urcu_bp_after_fork_parent();
	pthread_mutex_unlock(&sr__g.lifecycle_lock);
}

static void fork_child(void)
{
	bool was_running = sr__g.pipe != NULL;

	urcu_bp_after_fork_child();
	sr__flight_forget(); /* the parent's file and rings are not ours */
	/* Abandon the parent's pipeline (see the file comment). */
	ck_pr_store_int(&sr__active, 0);
	ck_pr_store_int(&sr__g.running, 0);
	SR__SET(sr__fast_gen, 0);
	sr__g.pipe = NULL;
	sr__registry_forget_thread();
	sr__exporters_after_fork_child();
	sr__log_after_fork_child();
	sr__tally_after_fork_child();
	if (was_running)
		init_locked(&saved_cfg);
	pthread_mutex_unlock(&sr__g.lifecycle_lock);
}

__attribute__((constructor)) static void install_fork_handlers(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}
