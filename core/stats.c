/*
 * stats.c - the sr_stats snapshot, per-ring and per-exporter views, JSON.
 *
 * Counters live where they are written (per-thread nodes, the pipeline,
 * exporter instances); a snapshot sums them with plain atomic loads, so
 * taking one never disturbs the hot path.  Thread-node counters are
 * cumulative over all owners of a node, so summing every node (not just
 * the registered ones) is exact.  After sr_shutdown() the last pipeline's
 * final snapshot is returned.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pipeline_int.h"
#include "scope_int.h"
#include "sized_int.h"

void sr__stats_collect(struct sr__pipeline *p, sr_stats_t *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	for (uint32_t i = 0; i < p->cfg.max_threads; i++) {
		struct sr__tcounters *c = &p->threads[i].c;
		uint32_t hw = ck_pr_load_32(&p->threads[i].ring.high_water);
		uint32_t peak = ck_pr_load_32(&p->threads[i].hw_peak);

		uint64_t reent = ck_pr_load_64(&c->reentrant);

		/* A re-entrant end is sampled and dropped, never in
		 * c->sampled (span_end.c's end_reentrant). */
		o->started += ck_pr_load_64(&c->unsampled) +
			      ck_pr_load_64(&c->sampled) + reent;
		o->sampled += ck_pr_load_64(&c->sampled) + reent;
		o->dropped_reentrant += reent;
		o->recorded += ck_pr_load_64(&c->sampled) -
			       ck_pr_load_64(&c->ring_full) -
			       ck_pr_load_64(&c->shutdown);
		o->dropped_ring_full += ck_pr_load_64(&c->ring_full);
		o->dropped_shutdown += ck_pr_load_64(&c->shutdown);
		o->attrs_dropped += ck_pr_load_64(&c->attrs_dropped);
		o->events_dropped += ck_pr_load_64(&c->events_dropped);
		o->links_dropped += ck_pr_load_64(&c->links_dropped);
		o->strings_truncated += ck_pr_load_64(&c->strings_truncated);
		o->overflow_exhausted += ck_pr_load_64(&c->overflow_exhausted);
		if (peak > hw)
			hw = peak;
		if (hw > o->ring_high_water)
			o->ring_high_water = hw;
	}
	o->started += ck_pr_load_64(&p->started_global) +
		      ck_pr_load_64(&p->sampled_global);
	o->sampled += ck_pr_load_64(&p->sampled_global);
	o->dropped_limits += ck_pr_load_64(&p->dropped_limits_global);
	o->dropped_reentrant += ck_pr_load_64(&p->dropped_reentrant_global);
	o->records_discarded = ck_pr_load_64(&p->records_discarded);
	o->exported = ck_pr_load_64(&p->exported);
	o->batches = ck_pr_load_64(&p->batches_sent);
	o->dropped_queue_full = ck_pr_load_64(&p->dropped_queue_full);
	o->dropped_exporter = ck_pr_load_64(&p->dropped_exporter);
	o->dropped_shutdown += ck_pr_load_64(&p->dropped_shutdown);
	o->dropped_processor = ck_pr_load_64(&p->dropped_processor);
	o->processors = p->stage.n;
	o->scope_errors = sr__scope_errors();
	o->pipeline_bytes = p->bytes;
	o->ring_records = p->cfg.ring_records;
	o->rings_total = p->cfg.max_threads;
	o->rings_in_use = ck_pr_load_32(&p->rings_in_use);
	o->exporters = p->nexporters;
}

SR_API int sr_stats_get(sr_stats_t *out)
{
	struct sr__pipeline *p;
	sr_stats_t st;
	int rc = 0;

	if (!sr__sized_valid(out, SR__SIZED_MIN(sr_stats_t, started)))
		return SR_EINVAL;
	sr__unsampled_flush(false); /* this thread's own tally is exact */
	sr__rcu_read_lock();
	p = rcu_dereference(sr__g.pipe);
	if (p)
		sr__stats_collect(p, &st);
	else if (sr__g.have_final)
		st = sr__g.final_stats;
	else {
		memset(&st, 0, sizeof(st));
		st.size = sizeof(st);
		st.scope_errors = sr__scope_errors();
		rc = SR_ESTATE;
	}
	sr__rcu_read_unlock();
	sr__sized_out(out, &st, sizeof(st));
	return rc;
}

SR_API int sr_stats_foreach_ring(void (*cb)(const sr_ring_stats_t *, void *),
				 void *ud)
{
	struct sr__pipeline *p;
	struct sr__thread *t;

	if (!cb)
		return SR_EINVAL;
	sr__rcu_read_lock();
	p = rcu_dereference(sr__g.pipe);
	if (!p) {
		sr__rcu_read_unlock();
		return SR_ESTATE;
	}
	SR__FOREACH_THREAD(p, t, it) {
		int state = ck_pr_load_int(&t->state);

		if (state == SR__NODE_FREE)
			continue;
		sr_ring_stats_t rs = {
			.ring_index = t->index,
			.capacity = t->ring.capacity,
			.used = sr__ring_used(&t->ring),
			.high_water = ck_pr_load_32(&t->ring.high_water),
			.thread_id = t->tid,
			.orphaned = state == SR__NODE_ORPHAN,
		};
		cb(&rs, ud);
	}
	sr__rcu_read_unlock();
	return 0;
}

/* Kept across shutdown so a program can print where its spans went. */
static sr_exporter_stats_t final_exporters[SR__MAX_EXPORTERS];
static char final_names[SR__MAX_EXPORTERS][32];
static uint32_t final_nexporters;

static void exporter_stats(const struct sr__exporter *e, sr_exporter_stats_t *o)
{
	o->name = e->name;
	o->batches = ck_pr_load_64((uint64_t *)&e->st_batches);
	o->spans_ok = ck_pr_load_64((uint64_t *)&e->st_ok);
	o->spans_failed = ck_pr_load_64((uint64_t *)&e->st_failed);
	o->spans_queue_full = ck_pr_load_64((uint64_t *)&e->st_queue_full);
}

/* Shutdown: remember the exporters' final numbers. */
void sr__stats_keep_exporters(struct sr__pipeline *p)
{
	final_nexporters = p->nexporters;
	for (uint32_t i = 0; i < p->nexporters; i++) {
		exporter_stats(&p->exporters[i], &final_exporters[i]);
		snprintf(final_names[i], sizeof(final_names[i]), "%s",
			 p->exporters[i].name);
		final_exporters[i].name = final_names[i];
	}
}

SR_API int sr_stats_exporter(uint32_t index, sr_exporter_stats_t *out)
{
	struct sr__pipeline *p;
	int rc = 0;

	if (!out)
		return SR_EINVAL;
	sr__rcu_read_lock();
	p = rcu_dereference(sr__g.pipe);
	if (p) {
		if (index < p->nexporters)
			exporter_stats(&p->exporters[index], out);
		else
			rc = SR_ENOTFOUND;
	} else if (sr__g.have_final && index < final_nexporters) {
		*out = final_exporters[index];
	} else {
		rc = SR_ENOTFOUND;
	}
	sr__rcu_read_unlock();
	return rc;
}

SR_API int sr_stats_to_json(const sr_stats_t *st, char *buf, size_t len)
{
	sr_stats_t full = { 0 }, *s = &full;

	/* An older caller's struct: fields it does not know print as 0. */
	if (!sr__sized_valid(st, SR__SIZED_MIN(sr_stats_t, started)))
		return SR_EINVAL;
	if (!buf && len)
		return sr__null_arg("sr_stats_to_json", "buf");
	sr__sized_copy(&full, sizeof(full), st, st->size);
	return snprintf(
		buf, len,
		"{\"started\":%" PRIu64 ",\"sampled\":%" PRIu64
		",\"recorded\":%" PRIu64 ",\"exported\":%" PRIu64
		",\"batches\":%" PRIu64 ",\"dropped\":{\"ring_full\":%" PRIu64
		",\"limits\":%" PRIu64 ",\"queue_full\":%" PRIu64
		",\"exporter\":%" PRIu64 ",\"shutdown\":%" PRIu64
		",\"reentrant\":%" PRIu64 ",\"processor\":%" PRIu64 "},\"records_discarded\":%" PRIu64 ",\"attrs_dropped\":%" PRIu64 ",\"events_dropped\":%" PRIu64
		",\"links_dropped\":%" PRIu64 ",\"strings_truncated\":%" PRIu64
		",\"overflow_exhausted\":%" PRIu64 ",\"scope_errors\":%" PRIu64
		",\"pipeline_bytes\":%" PRIu64 ",\"ring_records\":%" PRIu32
		",\"rings_total\":%" PRIu32 ",\"rings_in_use\":%" PRIu32
		",\"ring_high_water\":%" PRIu32 ",\"exporters\":%" PRIu32
		",\"processors\":%" PRIu32 "}",
		s->started, s->sampled, s->recorded, s->exported, s->batches,
		s->dropped_ring_full, s->dropped_limits, s->dropped_queue_full,
		s->dropped_exporter, s->dropped_shutdown, s->dropped_reentrant,
		s->dropped_processor, s->records_discarded, s->attrs_dropped,
		s->events_dropped, s->links_dropped, s->strings_truncated,
		s->overflow_exhausted, s->scope_errors, s->pipeline_bytes,
		s->ring_records, s->rings_total, s->rings_in_use,
		s->ring_high_water, s->exporters, s->processors);
}
