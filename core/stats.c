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
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log_int.h"
#include "pipeline_int.h"
#include "scope_int.h"
#include "sized_int.h"
#include "tally_int.h"

/* Ring records as the configured unit counts them (ring_records), rounded
 * up: what users set is what they read back. */
static uint32_t cfg_units(uint32_t records)
{
	return (records + SR__CFG_RECORDS(1) - 1) / SR__CFG_RECORDS(1);
}

void sr__stats_collect(struct sr__pipeline *p, sr_stats_t *o)
{
	uint64_t sampled_started;

	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	for (uint32_t i = 0; i < p->cfg.max_threads; i++) {
		struct sr__tcounters *c = &p->threads[i].c;
		uint32_t hw = ck_pr_load_32(&p->threads[i].ring.high_water);
		uint32_t peak = ck_pr_load_32(&p->threads[i].hw_peak);

		uint64_t reent = ck_pr_load_64(&c->reentrant);

		/* Ended sampled spans (their starts are added below).  A
		 * re-entrant end is sampled and dropped, never in
		 * c->sampled (span_end.c's end_reentrant). */
		o->started += ck_pr_load_64(&c->unsampled);
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
		o->doorbell_rings += ck_pr_load_64(&p->threads[i].ring.p_bells);
		if (peak > hw)
			hw = peak;
		hw = cfg_units(hw);
		if (hw > o->ring_high_water)
			o->ring_high_water = hw;
	}
	o->sampled += ck_pr_load_64(&p->sampled_global);
	o->started += ck_pr_load_64(&p->started_global);
	/* So far o->sampled counts sampled spans that ended.  Starts are
	 * read after the ends, and a span that ended had started, so
	 * starts come out at least as many; the guard is for a reader on a
	 * weakly ordered CPU, whose relaxed loads of other threads' tallies
	 * may lag their ends by a span or two. */
	sampled_started = sr__tally_sum(p);
	if (sampled_started < o->sampled)
		sampled_started = o->sampled;
	o->open = sampled_started - o->sampled;
	o->sampled = sampled_started;
	o->dropped_limits += ck_pr_load_64(&p->dropped_limits_global);
	o->dropped_reentrant += ck_pr_load_64(&p->dropped_reentrant_global);
	o->records_discarded = ck_pr_load_64(&p->records_discarded);
	o->started += o->sampled;
	o->log_messages = sr__log_written();
	o->log_suppressed = sr__log_suppressed();
	o->drainer_wakeups = ck_pr_load_64(&p->drainer_wakeups);
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

static uint64_t span_drops(const sr_stats_t *s)
{
	return s->dropped_ring_full + s->dropped_limits + s->dropped_queue_full +
	       s->dropped_exporter + s->dropped_shutdown + s->dropped_reentrant;
}

/*
 * The log says when spans start being dropped, with the counts so far by
 * cause and where to look, and (at info) when a second passes without a
 * new drop: one line per episode, not one per lost span.  An exporter's
 * own failures are logged by its worker (exporter_worker.c).
 */
void sr__stats_watch_drops(struct sr__pipeline *p)
{
	sr_stats_t st;
	uint64_t drops;

	sr__stats_collect(p, &st);
	drops = span_drops(&st) + st.records_discarded;
	if (drops > p->watch_drops && !p->watch_dropping)
		sr__log(SR__LOG_WARN,
			"spans are being dropped: %llu so far (ring_full %llu: "
			"the drainer is behind or rings too small; limits %llu: "
			"SPANRING_MAX_THREADS; queue_full %llu, exporter %llu: "
			"an exporter is slow or failing; reentrant %llu, "
			"records discarded %llu); see sr_stats_get()",
			(unsigned long long)drops,
			(unsigned long long)st.dropped_ring_full,
			(unsigned long long)st.dropped_limits,
			(unsigned long long)st.dropped_queue_full,
			(unsigned long long)st.dropped_exporter,
			(unsigned long long)st.dropped_reentrant,
			(unsigned long long)st.records_discarded);
	else if (drops == p->watch_drops && p->watch_dropping)
		sr__log(SR__LOG_INFO, "no span dropped in the last second "
			"(%llu in all)", (unsigned long long)drops);
	p->watch_dropping = drops > p->watch_drops;
	p->watch_drops = drops;
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
	/* The log is the process's, not a pipeline's: current even after
	 * shutdown. */
	st.log_messages = sr__log_written();
	st.log_suppressed = sr__log_suppressed();
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
			.capacity = cfg_units(t->ring.capacity),
			.used = cfg_units(sr__ring_used(&t->ring)),
			.high_water = cfg_units(ck_pr_load_32(&t->ring.high_water)),
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

static void exporter_stats(struct sr__exporter *e, sr_exporter_stats_t *o)
{
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->name = e->name;
	o->batches = ck_pr_load_64(&e->st_batches);
	o->spans_ok = ck_pr_load_64(&e->st_ok);
	o->spans_failed = ck_pr_load_64(&e->st_failed);
	o->spans_queue_full = ck_pr_load_64(&e->st_queue_full);
	o->batches_failed = ck_pr_load_64(&e->st_batches_failed);
	pthread_mutex_lock(&e->err_lock);
	o->last_error_ns = e->err_ns;
	o->last_http_status = e->err_http;
	o->last_grpc_status = e->err_grpc;
	o->last_error_code = e->err_code;
	memcpy(o->last_error, e->err_text, sizeof(o->last_error));
	pthread_mutex_unlock(&e->err_lock);
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

/* Exporter `index` of the running pipeline or of the last one. */
static int exporter_get(uint32_t index, sr_exporter_stats_t *es)
{
	struct sr__pipeline *p;
	int rc = 0;

	sr__rcu_read_lock();
	p = rcu_dereference(sr__g.pipe);
	if (p) {
		if (index < p->nexporters)
			exporter_stats(&p->exporters[index], es);
		else
			rc = SR_ENOTFOUND;
	} else if (sr__g.have_final && index < final_nexporters) {
		*es = final_exporters[index];
	} else {
		rc = SR_ENOTFOUND;
	}
	sr__rcu_read_unlock();
	return rc;
}

SR_API int sr_stats_exporter(uint32_t index, sr_exporter_stats_t *out)
{
	sr_exporter_stats_t es;
	int rc;

	if (!sr__sized_valid(out, SR__SIZED_MIN(sr_exporter_stats_t, name)))
		return SR_EINVAL;
	rc = exporter_get(index, &es);
	if (rc == 0)
		sr__sized_out(out, &es, sizeof(es));
	return rc;
}

/* ---- JSON ------------------------------------------------------------ */

/* A growing snprintf: `need` counts every byte asked for, as snprintf's
 * return does, whether or not it fit. */
struct jout {
	char *buf;
	size_t len, need;
};

static void jprintf(struct jout *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void jprintf(struct jout *j, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(j->need < j->len ? j->buf + j->need : NULL,
		      j->need < j->len ? j->len - j->need : 0, fmt, ap);
	va_end(ap);
	if (n > 0)
		j->need += (size_t)n;
}

/* A JSON string of text that is printable ASCII (exporter names and
 * last errors are kept so): only '"' and '\\' need escaping. */
static void jstring(struct jout *j, const char *s)
{
	jprintf(j, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			jprintf(j, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			jprintf(j, "\\u%04x", c);
		else
			jprintf(j, "%c", c);
	}
	jprintf(j, "\"");
}

/* Every exporter of the running (or last) pipeline, as of this call. */
static void json_exporters(struct jout *j)
{
	sr_exporter_stats_t es;

	jprintf(j, ",\"exporter_stats\":[");
	for (uint32_t i = 0; exporter_get(i, &es) == 0; i++) {
		jprintf(j, "%s{\"name\":", i ? "," : "");
		jstring(j, es.name ? es.name : "");
		jprintf(j, ",\"batches\":%" PRIu64 ",\"spans_ok\":%" PRIu64
			",\"spans_failed\":%" PRIu64
			",\"spans_queue_full\":%" PRIu64
			",\"batches_failed\":%" PRIu64, es.batches, es.spans_ok,
			es.spans_failed, es.spans_queue_full, es.batches_failed);
		if (es.last_error_ns) {
			jprintf(j, ",\"last_error\":{\"text\":");
			jstring(j, es.last_error);
			jprintf(j, ",\"time_unix_nano\":%" PRIu64
				",\"http_status\":%" PRId32
				",\"grpc_status\":%" PRId32 ",\"code\":%" PRId32 "}",
				es.last_error_ns, es.last_http_status,
				es.last_grpc_status, es.last_error_code);
		}
		jprintf(j, "}");
	}
	jprintf(j, "]");
}

SR_API int sr_stats_to_json(const sr_stats_t *st, char *buf, size_t len)
{
	sr_stats_t full = { 0 }, *s = &full;
	struct jout j = { buf, len, 0 };

	/* An older caller's struct: fields it does not know print as 0. */
	if (!sr__sized_valid(st, SR__SIZED_MIN(sr_stats_t, started)))
		return SR_EINVAL;
	if (!buf && len)
		return sr__null_arg("sr_stats_to_json", "buf");
	sr__sized_copy(&full, sizeof(full), st, st->size);
	jprintf(&j,
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
		",\"processors\":%" PRIu32
		",\"log\":{\"messages\":%" PRIu64 ",\"suppressed\":%" PRIu64 "}"
		",\"open\":%" PRIu64
		",\"drainer_wakeups\":%" PRIu64 ",\"doorbell_rings\":%" PRIu64,
		s->started, s->sampled, s->recorded, s->exported, s->batches,
		s->dropped_ring_full, s->dropped_limits, s->dropped_queue_full,
		s->dropped_exporter, s->dropped_shutdown, s->dropped_reentrant,
		s->dropped_processor, s->records_discarded, s->attrs_dropped,
		s->events_dropped, s->links_dropped, s->strings_truncated,
		s->overflow_exhausted, s->scope_errors, s->pipeline_bytes,
		s->ring_records, s->rings_total, s->rings_in_use,
		s->ring_high_water, s->exporters, s->processors, s->log_messages,
		s->log_suppressed, s->open, s->drainer_wakeups,
		s->doorbell_rings);
	json_exporters(&j);
	jprintf(&j, "}");
	if (j.need > INT32_MAX)
		return SR_ELIMIT;
	return (int)j.need;
}
