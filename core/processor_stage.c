/*
 * processor_stage.c - the processor chain: selection at init, the run on
 * each batch (drainer thread), the sr_proc_* calls processors make, and
 * their stats.
 *
 * Where edits live (docs/processors.md): a batch holds its spans' records
 * as the drainer copied them, and the records are never rewritten.  A
 * processor that changes a span stores a whole new sr_span_data_t, with
 * copies of its arrays, in the batch's arena (fixed size, allocated at
 * init with the batch), and the batch's overlay index points span i at
 * it; sr_batch_span() returns that view instead of decoding the records.
 * Strings are not copied: an edited view points into the batch's records
 * (the strings it kept), at static strings, or into the arena
 * (sr_proc_alloc).  A dropped span is marked during the processor's call,
 * so indices stay stable, and compacted out of the batch's span index
 * afterwards, so exporters never see it and count only what is left.
 *
 * Everything here runs on the drainer, except init (sr_init caller),
 * shutdown and the stats readers.
 */
#include <stdio.h>
#include <string.h>

#include "env_int.h"
#include "pipeline_int.h"
#include "processor_table_int.h"
#include "sized_int.h"

/* ---- registry of selectable processors ------------------------------ */

#define SR__MAX_REGISTERED 32

static struct {
	sr_processor_ops_t ops;
	void *ud;
} registered[SR__MAX_REGISTERED];
static uint32_t nregistered;
static pthread_mutex_t registered_lock = PTHREAD_MUTEX_INITIALIZER;

static bool name_is(const char *name, const char *s, size_t len)
{
	return strlen(name) == len && !memcmp(name, s, len);
}

static const sr_processor_ops_t *lookup(const char *s, size_t len, void **ud)
{
	const sr_processor_ops_t *o = NULL;

	*ud = NULL;
	for (const sr_processor_ops_t *const *b = sr__builtin_processors; *b; b++)
		if (name_is((*b)->name, s, len))
			return *b;
	pthread_mutex_lock(&registered_lock);
	for (uint32_t i = 0; i < nregistered && !o; i++)
		if (name_is(registered[i].ops.name, s, len)) {
			o = &registered[i].ops;
			*ud = registered[i].ud;
		}
	pthread_mutex_unlock(&registered_lock);
	return o;
}

SR_API int sr_processor_register(const sr_processor_ops_t *ops, void *ud)
{
	int rc = 0;

	if (!ops)
		return sr__null_arg("sr_processor_register", "ops");
	if (ops->size < offsetof(sr_processor_ops_t, shutdown) +
			sizeof(ops->shutdown))
		return sr__set_error(SR_EINVAL, "processor table too small");
	if (ops->abi_version != SR_PROCESSOR_ABI_VERSION)
		return sr__set_error(SR_EVERSION,
				     "processor '%s': ABI version %u, library has %u",
				     ops->name ? ops->name : "?",
				     ops->abi_version, SR_PROCESSOR_ABI_VERSION);
	if (!ops->name || !*ops->name || !ops->init || !ops->process ||
	    !ops->shutdown)
		return sr__set_error(SR_EINVAL,
				     "processor '%s': name, init, process and "
				     "shutdown are mandatory",
				     ops->name ? ops->name : "?");
	pthread_mutex_lock(&registered_lock);
	for (const sr_processor_ops_t *const *b = sr__builtin_processors;
	     *b && !rc; b++)
		if (!strcmp((*b)->name, ops->name))
			rc = SR_ESTATE;
	for (uint32_t i = 0; i < nregistered && !rc; i++)
		if (!strcmp(registered[i].ops.name, ops->name))
			rc = SR_ESTATE;
	if (rc) {
		sr__set_error(rc, "processor name '%s' is taken", ops->name);
	} else if (nregistered == SR__MAX_REGISTERED) {
		rc = sr__set_error(SR_ELIMIT, "more than %d registered processors",
				   SR__MAX_REGISTERED);
	} else {
		memset(&registered[nregistered].ops, 0, sizeof(sr_processor_ops_t));
		sr__sized_copy(&registered[nregistered].ops,
			       sizeof(sr_processor_ops_t), ops, ops->size);
		registered[nregistered].ud = ud;
		nregistered++;
	}
	pthread_mutex_unlock(&registered_lock);
	return rc;
}

/* ---- init ----------------------------------------------------------- */

static int start_one(struct sr__pipeline *p, const char *s, size_t len,
		     const sr_config_t *cfg)
{
	struct sr__proc_stage *st = &p->stage;
	const sr_processor_ops_t *ops;
	struct sr__processor *pr;
	char err[200] = "";
	void *ud = NULL;
	int rc;

	if (len > 7 && !memcmp(s, "plugin:", 7)) {
		ops = sr__processor_plugin_load(s, len, err, sizeof(err));
		if (!ops)
			return sr__set_error(SR_EIO, "%s", err);
	} else if (!(ops = lookup(s, len, &ud))) {
		return sr__set_error(SR_ENOTFOUND,
				     "SPANRING_PROCESSORS/processors='%.*s': "
				     "unknown processor",
				     (int)len, s);
	}
	if (st->n == SR__MAX_PROCESSORS)
		return sr__set_error(SR_ELIMIT,
				     "SPANRING_PROCESSORS/processors: more than "
				     "%d processors", SR__MAX_PROCESSORS);
	pr = &st->procs[st->n];
	memset(pr, 0, sizeof(*pr));
	pr->ops = ops;
	snprintf(pr->name, sizeof(pr->name), "%s", ops->name);
	snprintf(pr->rules[SR_PROCESSOR_MAX_RULES - 1].name, SR__RULE_NAME,
		 "other");
	rc = ops->init(ud, cfg, &pr->state, err, sizeof(err));
	if (rc)
		return sr__set_error(rc < 0 ? rc : SR_EINVAL, "processor '%s': %s",
				     pr->name, err[0] ? err : sr_strerror(rc));
	st->n++;
	return 0;
}

/* Create the processors named in cfg->processors, in order.  Unlike an
 * exporter, a processor that cannot start fails sr_init(): a pipeline
 * that runs without the redaction it was told to apply would export what
 * it was meant to hide. */
int sr__processors_start(struct sr__pipeline *p, const sr_config_t *cfg)
{
	const char *s = cfg->processors ? cfg->processors : "", *a;
	size_t len;
	int rc = 0;

	p->stage.arena_bytes = cfg->processor_scratch_bytes;
	while (!rc && sr__env_list_next(&s, &a, &len))
		if (len)
			rc = start_one(p, a, len, cfg);
	if (!rc && p->stage.n)
		rc = sr__scratch_init(&p->stage.scratch, cfg, &p->bytes);
	return rc;
}

int sr__processors_batch_mem(struct sr__pipeline *p)
{
	struct sr__proc_stage *st = &p->stage;
	size_t ovl = sizeof(uint32_t) * p->batch_spans;

	if (!st->n)
		return 0;
	st->memo_cap = p->batch_spans;
	st->memo = sr__alloc(sizeof(*st->memo) * st->memo_cap, 64);
	st->memo_of = sr__alloc(ovl, 64);
	if (!st->memo || !st->memo_of)
		return SR_ENOMEM;
	p->bytes += sizeof(*st->memo) * st->memo_cap + ovl;
	for (uint32_t i = 0; i < p->nbatches; i++) {
		struct sr__batch *b = &p->batches[i];

		b->ovl = sr__alloc(ovl, 64);
		b->arena = sr__alloc(p->stage.arena_bytes, 64);
		if (!b->ovl || !b->arena)
			return SR_ENOMEM;
		p->bytes += ovl + p->stage.arena_bytes;
	}
	return 0;
}

void sr__processors_stop(struct sr__pipeline *p)
{
	for (uint32_t i = 0; i < p->stage.n; i++) {
		struct sr__processor *pr = &p->stage.procs[i];

		if (pr->state || pr->ops) {
			pr->ops->shutdown(pr->state);
			pr->state = NULL;
			pr->ops = NULL;
		}
	}
}

void sr__processors_free(struct sr__pipeline *p)
{
	if (p->batches && p->stage.n)
		for (uint32_t i = 0; i < p->nbatches; i++) {
			sr__free(p->batches[i].ovl,
				 sizeof(uint32_t) * p->batch_spans);
			sr__free(p->batches[i].arena, p->stage.arena_bytes);
		}
	if (p->stage.scratch.attrs)
		sr__scratch_free(&p->stage.scratch);
	sr__free(p->stage.memo, sizeof(*p->stage.memo) * p->stage.memo_cap);
	sr__free(p->stage.memo_of, sizeof(uint32_t) * p->stage.memo_cap);
	p->stage.memo = NULL;
	p->stage.memo_of = NULL;
}

/* ---- the run (drainer) ---------------------------------------------- */

struct sr__proc_rule *sr__proc_rule_of(struct sr__processor *pr,
				       const char *rule)
{
	uint32_t n = pr->nrules;

	for (uint32_t i = 0; i < n; i++)
		if (!strncmp(pr->rules[i].name, rule, SR__RULE_NAME - 1))
			return &pr->rules[i];
	if (n == SR_PROCESSOR_MAX_RULES - 1)
		return &pr->rules[n]; /* "other" */
	snprintf(pr->rules[n].name, SR__RULE_NAME, "%s", rule);
	/* The name before the count that makes stats readers look at it. */
	SR_TSAN_RELEASE(&pr->nrules);
	ck_pr_fence_store();
	ck_pr_store_32(&pr->nrules, n + 1);
	return &pr->rules[n];
}

/* Take the dropped and held spans out of the batch's index (and the
 * memo's, which follows it). */
static void compact(struct sr__batch *b, uint32_t *memo_of)
{
	uint32_t w = 0;

	for (uint32_t i = 0; i < b->nspans; i++) {
		if (SR__OVL_GONE(b->ovl[i]))
			continue;
		b->first[w] = b->first[i];
		b->ovl[w] = b->ovl[i];
		memo_of[w] = memo_of[i];
		w++;
	}
	ck_pr_store_32(&b->nspans, w);
}

/* A processor's `due` answer, asked after each of its calls. */
static void ask_due(struct sr__processor *pr)
{
	if (pr->ops->size > offsetof(sr_processor_ops_t, due) && pr->ops->due)
		pr->due = pr->ops->due(pr->state);
}

void sr__processors_run(struct sr__pipeline *p, struct sr__batch *b)
{
	uint64_t t0 = sr__mono_ns();
	struct sr_proc_batch pb = { .p = p, .b = b, .now = t0 };

	b->processed = true;
	pb.view.b = b;
	pb.view.scratch = &p->stage.scratch;
	pb.view.pipe = p;
	p->stage.memo_used = 0;
	for (uint32_t i = 0; i < b->nspans; i++) {
		b->ovl[i] = SR__OVL_NONE;
		p->stage.memo_of[i] = SR__MEMO_NONE;
	}
	for (uint32_t k = 0; k < p->stage.n; k++) {
		struct sr__processor *pr = &p->stage.procs[k];
		uint64_t t1, n = b->nspans;

		/* An empty batch only for one that holds spans and is due. */
		if (!n && !(pr->due && pr->due <= t0))
			continue;
		pb.proc = pr;
		pb.gone = 0;
		pb.sized_i = SIZE_MAX;
		pr->ops->process(pr->state, &pb);
		ask_due(pr);
		t1 = sr__mono_ns();
		ck_pr_add_64(&pr->ns, t1 - t0);
		t0 = t1;
		ck_pr_add_64(&pr->batches, 1);
		ck_pr_add_64(&pr->spans_in, n);
		if (pb.gone)
			compact(b, p->stage.memo_of);
	}
}

static bool any_due(struct sr__pipeline *p, uint64_t now)
{
	for (uint32_t k = 0; k < p->stage.n; k++) {
		uint64_t due = p->stage.procs[k].due;

		if (due && due <= now)
			return true;
	}
	return false;
}

/* At most this many batches per pass for the processors' own spans: the
 * rings wait meanwhile. */
#define SR__TICK_BATCHES 4

bool sr__processors_tick(struct sr__pipeline *p, uint64_t now)
{
	for (int round = 0; round < SR__TICK_BATCHES; round++) {
		struct sr__batch *b = p->cur;

		if (!any_due(p, now))
			return true;
		if (!b) {
			if (!(b = sr__batch_take(p)))
				return false;
			b->opened_ns = now;
			ck_pr_store_ptr(&p->cur, b);
		}
		if (!sr__batch_dispatch(p, b))
			return false; /* processed, kept open: handed over later */
		ck_pr_store_ptr(&p->cur, NULL);
	}
	return !any_due(p, now);
}

bool sr__processors_finish(struct sr__pipeline *p, uint64_t now)
{
	sr__processors_flush(p, p->stage.flushed + 1);
	return sr__processors_tick(p, now) && !sr__processors_held(p);
}

uint64_t sr__processors_held(struct sr__pipeline *p)
{
	uint64_t n = 0;

	for (uint32_t k = 0; k < p->stage.n; k++)
		n += ck_pr_load_64(&p->stage.procs[k].held);
	return n;
}

void sr__processors_abandon(struct sr__pipeline *p)
{
	for (uint32_t k = 0; k < p->stage.n; k++) {
		struct sr__processor *pr = &p->stage.procs[k];
		uint64_t n = ck_pr_load_64(&pr->held);

		ck_pr_add_64(&p->dropped_shutdown, n);
		ck_pr_sub_64(&pr->held, n);
	}
}

void sr__processors_flush(struct sr__pipeline *p, uint64_t gen)
{
	if (gen <= p->stage.flushed)
		return;
	p->stage.flushed = gen;
	for (uint32_t k = 0; k < p->stage.n; k++) {
		struct sr__processor *pr = &p->stage.procs[k];

		if (pr->ops->flush) {
			uint64_t t0 = sr__mono_ns();

			pr->ops->flush(pr->state);
			ask_due(pr);
			ck_pr_add_64(&pr->ns, sr__mono_ns() - t0);
		}
	}
}

/* ---- what a processor calls ----------------------------------------- */

SR_API size_t sr_proc_count(const sr_proc_batch_t *pb)
{
	if (!pb) {
		sr__null_arg("sr_proc_count", "pb");
		return 0;
	}
	return pb->b->nspans;
}

/* Keep the head of span i, just decoded from its records into *s (head
 * or whole), for the processors after this one.  Not for the last one:
 * nobody would read it. */
static void memo_keep(sr_proc_batch_t *pb, size_t i, const sr_span_data_t *s)
{
	struct sr__proc_stage *st = &pb->p->stage;
	sr_span_data_t *m;

	if (pb->proc == &st->procs[st->n - 1] || st->memo_used == st->memo_cap ||
	    st->memo_of[i] != SR__MEMO_NONE)
		return;
	m = &st->memo[st->memo_used];
	memcpy(m, s, sizeof(*m));
	m->attr_count = m->event_count = m->link_count = 0;
	st->memo_of[i] = st->memo_used++;
}

SR_API int sr_proc_span(sr_proc_batch_t *pb, size_t i, sr_span_data_t *out)
{
	int rc;

	if (!pb || !out)
		return sr__null_arg("sr_proc_span", pb ? "out" : "pb");
	if (i >= pb->b->nspans)
		return SR_EINVAL;
	if (SR__OVL_GONE(pb->b->ovl[i]))
		return SR_ENOTFOUND;
	rc = sr_batch_span(&pb->view, i, out);
	if (!rc && pb->b->ovl[i] == SR__OVL_NONE && out->size >= sizeof(*out))
		memo_keep(pb, i, out);
	return rc;
}

/* Span i's head (a full-size out): the memo's copy, or decoded once. */
static int span_head(sr_proc_batch_t *pb, size_t i, sr_span_data_t *out)
{
	struct sr__proc_stage *st = &pb->p->stage;
	uint32_t m = st->memo_of[i];
	int rc;

	if (pb->b->ovl[i] != SR__OVL_NONE) /* edited: its overlay view */
		return sr__batch_span_head(&pb->view, i, out);
	if (m != SR__MEMO_NONE) {
		memcpy(out, &st->memo[m], sizeof(*out));
		return 0;
	}
	if ((rc = sr__batch_span_head(&pb->view, i, out)) == 0)
		memo_keep(pb, i, out);
	return rc;
}

SR_API int sr_proc_span_head(sr_proc_batch_t *pb, size_t i,
			     sr_span_data_t *out)
{
	sr_span_data_t full;
	int rc;

	if (!pb || !out)
		return sr__null_arg("sr_proc_span_head", pb ? "out" : "pb");
	if (i >= pb->b->nspans ||
	    !sr__sized_valid(out, SR__SIZED_MIN(sr_span_data_t, trace_id)))
		return SR_EINVAL;
	if (SR__OVL_GONE(pb->b->ovl[i]))
		return SR_ENOTFOUND;
	if (out->size >= sizeof(*out))
		return span_head(pb, i, out);
	if ((rc = span_head(pb, i, &full)) == 0)
		sr__sized_out(out, &full, sizeof(full));
	return rc;
}

SR_API void *sr_proc_alloc(sr_proc_batch_t *pb, size_t n)
{
	struct sr__batch *b;
	size_t at;

	if (!pb) {
		sr__null_arg("sr_proc_alloc", "pb");
		return NULL;
	}
	b = pb->b;
	at = (b->arena_used + 7u) & ~(size_t)7u;
	if (n > pb->p->stage.arena_bytes || at > pb->p->stage.arena_bytes - n)
		return NULL;
	b->arena_used = (uint32_t)(at + n);
	return b->arena + at;
}

/* Copy `n` items of `size` bytes into the arena; *dst the copy.  False
 * when the arena is full. */
static bool copy_array(sr_proc_batch_t *pb, const void *src, size_t n,
		       size_t size, const void **dst)
{
	void *d;

	if (!n) {
		*dst = NULL;
		return true;
	}
	if (!(d = sr_proc_alloc(pb, n * size)))
		return false;
	memcpy(d, src, n * size);
	*dst = d;
	return true;
}

SR_API int sr_proc_span_set(sr_proc_batch_t *pb, size_t i,
			    const sr_span_data_t *span)
{
	struct sr__batch *b;
	sr_span_data_t *d;
	sr_event_view_t *ev;
	sr_link_view_t *lv;
	uint32_t mark;
	bool ok;

	if (!pb || !span)
		return sr__null_arg("sr_proc_span_set", pb ? "span" : "pb");
	if (i >= pb->b->nspans ||
	    !sr__sized_valid(span, SR__SIZED_MIN(sr_span_data_t, trace_id)))
		return SR_EINVAL;
	b = pb->b;
	if (SR__OVL_GONE(b->ovl[i]))
		return SR_ENOTFOUND;
	mark = b->arena_used;
	if (!(d = sr_proc_alloc(pb, sizeof(*d))))
		return SR_ELIMIT;
	memset(d, 0, sizeof(*d));
	sr__sized_copy(d, sizeof(*d), span, span->size);
	d->size = sizeof(*d);
	ok = copy_array(pb, d->attrs, d->attr_count, sizeof(*d->attrs),
			(const void **)&d->attrs) &&
	     copy_array(pb, d->events, d->event_count, sizeof(*d->events),
			(const void **)&d->events) &&
	     copy_array(pb, d->links, d->link_count, sizeof(*d->links),
			(const void **)&d->links);
	ev = (sr_event_view_t *)d->events;
	for (uint32_t k = 0; ok && k < d->event_count; k++)
		ok = copy_array(pb, ev[k].attrs, ev[k].attr_count,
				sizeof(*ev[k].attrs), (const void **)&ev[k].attrs);
	lv = (sr_link_view_t *)d->links;
	for (uint32_t k = 0; ok && k < d->link_count; k++)
		ok = copy_array(pb, lv[k].attrs, lv[k].attr_count,
				sizeof(*lv[k].attrs), (const void **)&lv[k].attrs);
	if (!ok) {
		b->arena_used = mark; /* nothing of it is referenced */
		return SR_ELIMIT;
	}
	b->ovl[i] = (uint32_t)((char *)d - b->arena);
	pb->sized_i = SIZE_MAX;
	ck_pr_add_64(&pb->proc->modified, 1);
	return 0;
}

SR_API int sr_proc_drop(sr_proc_batch_t *pb, size_t i, const char *rule)
{
	if (!pb || !rule)
		return sr__null_arg("sr_proc_drop", pb ? "rule" : "pb");
	if (i >= pb->b->nspans)
		return SR_EINVAL;
	if (SR__OVL_GONE(pb->b->ovl[i]))
		return SR_ENOTFOUND;
	pb->b->ovl[i] = SR__OVL_DROPPED;
	pb->gone++;
	pb->sized_i = SIZE_MAX;
	ck_pr_add_64(&sr__proc_rule_of(pb->proc, rule)->dropped, 1);
	ck_pr_add_64(&pb->proc->dropped, 1);
	ck_pr_add_64(&pb->p->dropped_processor, 1);
	return 0;
}

SR_API void sr_proc_note(sr_proc_batch_t *pb, const char *rule, uint64_t n)
{
	if (!pb || !rule)
		sr__null_arg("sr_proc_note", pb ? "rule" : "pb");
	else if (n)
		ck_pr_add_64(&sr__proc_rule_of(pb->proc, rule)->noted, n);
}

SR_API const sr_attr_view_t *sr_proc_resource(const sr_proc_batch_t *pb,
					       uint32_t *count)
{
	if (!pb || !count) {
		sr__null_arg("sr_proc_resource", pb ? "count" : "pb");
		if (count)
			*count = 0;
		return NULL;
	}
	return sr_batch_resource(&pb->view, count);
}

/* ---- stats ---------------------------------------------------------- */

/* Kept across shutdown, as the exporters' are (stats.c). */
static sr_processor_stats_t final_procs[SR__MAX_PROCESSORS];
static char final_names[SR__MAX_PROCESSORS][32];
static char final_rules[SR__MAX_PROCESSORS][SR_PROCESSOR_MAX_RULES][SR__RULE_NAME];
static uint32_t final_n;

static void proc_stats(struct sr__processor *pr, sr_processor_stats_t *o)
{
	uint32_t n = ck_pr_load_32(&pr->nrules);

	ck_pr_fence_load(); /* pairs with rule_of's fence_store */
	SR_TSAN_ACQUIRE(&pr->nrules);
	memset(o, 0, sizeof(*o));
	o->size = sizeof(*o);
	o->name = pr->name;
	o->batches = ck_pr_load_64(&pr->batches);
	o->spans_in = ck_pr_load_64(&pr->spans_in);
	o->spans_modified = ck_pr_load_64(&pr->modified);
	o->spans_dropped = ck_pr_load_64(&pr->dropped);
	o->process_ns = ck_pr_load_64(&pr->ns);
	o->spans_held = ck_pr_load_64(&pr->held);
	o->spans_emitted = ck_pr_load_64(&pr->emitted);
	for (uint32_t i = 0; i < n; i++) {
		o->rules[i].name = pr->rules[i].name;
		o->rules[i].dropped = ck_pr_load_64(&pr->rules[i].dropped);
		o->rules[i].noted = ck_pr_load_64(&pr->rules[i].noted);
	}
	o->nrules = n;
	if (n == SR_PROCESSOR_MAX_RULES - 1) {
		struct sr__proc_rule *other = &pr->rules[n];

		o->rules[n].name = other->name;
		o->rules[n].dropped = ck_pr_load_64(&other->dropped);
		o->rules[n].noted = ck_pr_load_64(&other->noted);
		o->nrules = n + 1;
	}
}

void sr__processors_keep_stats(struct sr__pipeline *p)
{
	final_n = p->stage.n;
	for (uint32_t k = 0; k < p->stage.n; k++) {
		sr_processor_stats_t *f = &final_procs[k];

		proc_stats(&p->stage.procs[k], f);
		snprintf(final_names[k], sizeof(final_names[k]), "%s", f->name);
		f->name = final_names[k];
		for (uint32_t r = 0; r < f->nrules; r++) {
			snprintf(final_rules[k][r], SR__RULE_NAME, "%s",
				 f->rules[r].name);
			f->rules[r].name = final_rules[k][r];
		}
	}
}

SR_API int sr_stats_processor(uint32_t index, sr_processor_stats_t *out)
{
	struct sr__pipeline *p;
	sr_processor_stats_t st;
	int rc = 0;

	if (!out)
		return sr__null_arg("sr_stats_processor", "out");
	if (!sr__sized_valid(out, SR__SIZED_MIN(sr_processor_stats_t, name)))
		return SR_EINVAL;
	sr__rcu_read_lock();
	p = rcu_dereference(sr__g.pipe);
	if (p && index < p->stage.n)
		proc_stats(&p->stage.procs[index], &st);
	else if (!p && sr__g.have_final && index < final_n)
		st = final_procs[index];
	else
		rc = SR_ENOTFOUND;
	sr__rcu_read_unlock();
	if (!rc)
		sr__sized_out(out, &st, sizeof(st));
	return rc;
}
