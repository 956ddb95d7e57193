/*
 * tail.c - the "tail" processor: tail-based sampling in process.
 *
 * Spans are held per trace for a decision window counted from the first
 * span of the trace this processor saw (SPANRING_TAIL_DECISION_MS); then
 * all of the trace's spans held here are kept or dropped together.  Kept
 * if any span has ERROR status, if the local root (a span without a
 * parent here: none, or a remote one) lasted at least
 * SPANRING_TAIL_LATENCY_MS, if an attribute matches a rule of
 * SPANRING_TAIL_ATTRIBUTES, else if the trace id passes the traceidratio
 * rule at SPANRING_TAIL_RATIO (the head sampler's rule, sampler.c, so a
 * service sampling at the same ratio keeps the same traces).  Each
 * decision is counted under its rule (sr_proc_note: traces), spans of
 * dropped traces under "not_sampled".
 *
 * A span of a trace already decided (it ended after the window) follows
 * the decision, found in a direct-mapped cache of decided trace ids
 * (SPANRING_TAIL_DECISION_CACHE entries; "late_spans").  A trace evicted
 * from it is decided afresh, by the same rules.
 *
 * Memory is fixed at init (docs/processors.md): a store of held span
 * copies (SPANRING_TAIL_MAX_SPANS spans at up to two records each, one
 * byte ring), the span entries, the traces tracked
 * (SPANRING_TAIL_MAX_TRACES) and the cache.  When spans, bytes or traces
 * run out, the oldest traces are decided at once ("early_spans_full",
 * "early_traces_full"); a span that still finds no room follows its
 * trace's (early) decision directly.  sr_flush() decides every trace
 * ("decided_at_flush").
 *
 * Why one FIFO suffices: every trace's deadline is its first sighting plus
 * the same window, so traces come due in the order they were created;
 * early decisions take the oldest, a flush takes all.  Decisions always
 * take the head of the creation queue.  The store is a byte ring for the
 * same reason: the oldest held copy belongs to the oldest traces.
 *
 * Drainer thread only; stats through the processor stage's counters.
 */
#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "env_int.h"
#include "processor_int.h"

#define NIL UINT32_MAX
#define MAX_ATTR_RULES 8
#define BLOCK_ALIGN 16u
/* Bytes of store per span: two records and the copy's heads. */
#define STORE_PER_SPAN (2u * 256u + 64u)

enum { T_ERROR = 1, T_SLOW = 2, T_ATTR = 4 };

/* A held span: its copy in the store, and the next of its trace (or of
 * the emit queue). */
struct hspan {
	uint64_t pos;                    /* its block's offset in the store */
	uint32_t next;
};

/* A store block: this head, then the held copy. */
struct block {
	uint32_t len;                    /* bytes, head included           */
	uint32_t freed;
	uint64_t pad_;
};

struct trace {
	uint8_t id[16];
	uint64_t key;                    /* id_key(id)                      */
	uint64_t deadline;
	uint32_t first, last;            /* its held spans                 */
	uint32_t nspans;
	uint32_t flags;
	uint32_t slot;                   /* where the index holds it: kept
	                                    as entries move, so a decision
	                                    removes it without a probe     */
};

struct attr_rule {
	char key[64];
	char value[128];                 /* fnmatch(3) pattern; "*" any     */
};

/* What one process() call counts, noted once at its end (a note is a
 * lookup of the rule by name). */
enum { N_KEEP_ERROR, N_KEEP_LATENCY, N_KEEP_ATTR, N_KEEP_RATIO, N_NOT_SAMPLED,
       N_LATE, N_EARLY_SPANS, N_EARLY_TRACES, N_FLUSH, N_COUNT };
static const char *const note_names[N_COUNT] = {
	"keep_error", "keep_latency", "keep_attribute", "keep_ratio",
	"not_sampled", "late_spans", "early_spans_full", "early_traces_full",
	"decided_at_flush",
};

struct tail {
	uint64_t window_ns, latency_ns, bound, slack_ns;
	uint64_t notes[N_COUNT];
	uint64_t held_dropped;           /* this call's, not_sampled        */
	struct attr_rule rules[MAX_ATTR_RULES];
	uint32_t nrules;
	bool flush_all;

	/* The store: a byte ring of blocks; head reclaims, tail allocates
	 * (offsets in [0, cap); used: bytes from head to tail, padding
	 * included). */
	char *store;
	uint64_t cap, head, tail, used;

	struct hspan *spans;
	uint32_t nspans_max, free_span;
	uint32_t emit_first, emit_last;  /* kept spans waiting for room     */

	struct trace *traces;
	uint32_t max_traces, free_trace;
	uint32_t *fifo;                  /* trace indices, creation order  */
	uint32_t fifo_head, fifo_n;
	uint32_t *index;                 /* open addressing: trace + 1     */
	uint32_t index_mask;

	uint64_t *cache;                 /* key | keep bit                  */
	uint32_t cache_mask;
};

/* ---- trace ids ------------------------------------------------------ */

static uint64_t id_key(const uint8_t id[16])
{
	uint64_t a, b;

	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	b ^= a * 0x9e3779b97f4a7c15ull;
	b ^= b >> 29;
	return b | 2u; /* never 0 (empty); bit 0 is the decision */
}

static uint32_t index_find(const struct tail *t, const uint8_t id[16],
			   uint64_t key, uint32_t *slot)
{
	uint32_t at = (uint32_t)(key >> 7) & t->index_mask;

	for (;; at = (at + 1) & t->index_mask) {
		uint32_t v = t->index[at];

		/* The stored key first: a probe past another trace costs
		 * one compare, not a memcmp. */
		if (!v || (t->traces[v - 1].key == key &&
			   !memcmp(t->traces[v - 1].id, id, 16))) {
			*slot = at;
			return v ? v - 1 : NIL;
		}
	}
}

/* Remove slot `at` (linear probing: shift the followers back). */
static void index_remove(struct tail *t, uint32_t at)
{
	uint32_t hole = at;

	for (uint32_t i = (at + 1) & t->index_mask; t->index[i];
	     i = (i + 1) & t->index_mask) {
		uint32_t want = (uint32_t)(t->traces[t->index[i] - 1].key >> 7) &
				t->index_mask;

		/* Movable into the hole if its home is not in (hole, i]. */
		if (((i - want) & t->index_mask) >= ((i - hole) & t->index_mask)) {
			t->index[hole] = t->index[i];
			t->traces[t->index[i] - 1].slot = hole;
			hole = i;
		}
	}
	t->index[hole] = 0;
}

static int cache_get(const struct tail *t, uint64_t key)
{
	uint64_t e = t->cache[(key >> 7) & t->cache_mask];

	if ((e | 1u) != (key | 1u))
		return -1;
	return (int)(e & 1u);
}

static void cache_put(struct tail *t, uint64_t key, bool keep)
{
	t->cache[(key >> 7) & t->cache_mask] = (key & ~(uint64_t)1) | keep;
}

/* ---- the store ------------------------------------------------------ */

static struct block *block_at(struct tail *t, uint64_t pos)
{
	return (struct block *)(void *)(t->store + pos);
}

/* Room for a copy of `len` bytes: its block's offset, or UINT64_MAX.
 * Offsets wrap by compare, not by division: this runs for every span. */
static uint64_t store_alloc(struct tail *t, uint32_t len)
{
	uint64_t need = (sizeof(struct block) + len + BLOCK_ALIGN - 1) &
			~(uint64_t)(BLOCK_ALIGN - 1);
	uint64_t pos = t->tail, pad = 0;

	if (pos + need > t->cap)
		pad = t->cap - pos; /* a block never wraps */
	if (t->used + pad + need > t->cap)
		return UINT64_MAX;
	if (pad) {
		struct block *b = block_at(t, pos);

		b->len = (uint32_t)pad;
		b->freed = 1;
		t->used += pad;
		pos = 0;
	}
	block_at(t, pos)->len = (uint32_t)need;
	block_at(t, pos)->freed = 0;
	t->used += need;
	t->tail = pos + need == t->cap ? 0 : pos + need;
	return pos;
}

static void store_free(struct tail *t, uint64_t pos)
{
	block_at(t, pos)->freed = 1;
	while (t->used && block_at(t, t->head)->freed) {
		uint32_t len = block_at(t, t->head)->len;

		t->used -= len;
		t->head = t->head + len == t->cap ? 0 : t->head + len;
	}
}

static void *copy_of(struct tail *t, const struct hspan *s)
{
	return (char *)block_at(t, s->pos) + sizeof(struct block);
}

static void span_free(struct tail *t, uint32_t i)
{
	store_free(t, t->spans[i].pos);
	t->spans[i].next = t->free_span;
	t->free_span = i;
}

/* ---- decisions ------------------------------------------------------ */

/* The keep rule (N_KEEP_*) for these flags, or N_NOT_SAMPLED. */
static int rule_for(const struct tail *t, const uint8_t id[16], uint32_t flags)
{
	uint64_t lo;

	if (flags & T_ERROR)
		return N_KEEP_ERROR;
	if (flags & T_SLOW)
		return N_KEEP_LATENCY;
	if (flags & T_ATTR)
		return N_KEEP_ATTR;
	memcpy(&lo, id + 8, 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	lo = __builtin_bswap64(lo);
#endif
	return (lo >> 1) < t->bound ? N_KEEP_RATIO : N_NOT_SAMPLED;
}

/* Decide the oldest trace; `why` (N_EARLY_*, or N_COUNT for none) notes
 * an early decision. */
static void decide_oldest(struct tail *t, int why)
{
	uint32_t ti = t->fifo[t->fifo_head];
	struct trace *tr = &t->traces[ti];
	int rule = rule_for(t, tr->id, tr->flags);

	if (++t->fifo_head == t->max_traces)
		t->fifo_head = 0;
	t->fifo_n--;
	index_remove(t, tr->slot);
	cache_put(t, tr->key, rule != N_NOT_SAMPLED);
	if (why < N_COUNT)
		t->notes[why]++;
	t->notes[rule]++;
	if (rule != N_NOT_SAMPLED) {
		if (tr->first != NIL) { /* queue its spans for emission */
			if (t->emit_last == NIL)
				t->emit_first = tr->first;
			else
				t->spans[t->emit_last].next = tr->first;
			t->emit_last = tr->last;
		}
	} else {
		for (uint32_t s = tr->first, nx; s != NIL; s = nx) {
			nx = t->spans[s].next;
			span_free(t, s);
		}
		t->held_dropped += tr->nspans;
	}
	tr->first = t->free_trace;
	t->free_trace = ti;
}

static uint32_t span_flags_rules(const struct tail *t, const sr_span_data_t *s,
				 uint32_t f);

/* Inline for the common case, no latency threshold and no attribute
 * rules: only the status counts. */
static inline uint32_t span_flags(const struct tail *t, const sr_span_data_t *s)
{
	uint32_t f = s->status == SR_STATUS_ERROR ? T_ERROR : 0;

	return t->latency_ns || t->nrules ? span_flags_rules(t, s, f) : f;
}

static uint32_t span_flags_rules(const struct tail *t, const sr_span_data_t *s,
				 uint32_t f)
{
	static const uint8_t zero[8];

	if (t->latency_ns && (s->parent_remote || !memcmp(s->parent_span_id, zero, 8)) &&
	    s->end_ns - s->start_ns >= t->latency_ns)
		f |= T_SLOW;
	for (uint32_t r = 0; r < t->nrules && !(f & T_ATTR); r++)
		for (uint32_t a = 0; a < s->attr_count; a++) {
			const sr_attr_view_t *v = &s->attrs[a];
			char val[128];

			if (v->key.len != strlen(t->rules[r].key) ||
			    memcmp(v->key.ptr, t->rules[r].key, v->key.len))
				continue;
			if (v->type == SR_ATTR_STRING)
				snprintf(val, sizeof(val), "%.*s", (int)v->v.s.len,
					 v->v.s.ptr);
			else if (v->type == SR_ATTR_INT)
				snprintf(val, sizeof(val), "%lld", (long long)v->v.i);
			else if (v->type == SR_ATTR_BOOL)
				snprintf(val, sizeof(val), "%s",
					 v->v.b ? "true" : "false");
			else
				val[0] = 0;
			if (!fnmatch(t->rules[r].value, val, 0))
				f |= T_ATTR;
			break;
		}
	return f;
}

/* A new trace for `id`, whose index slot index_find gave (deciding the
 * oldest if none is free). */
static uint32_t trace_new(struct tail *t, sr_proc_batch_t *pb,
			  const uint8_t id[16], uint64_t key, uint32_t slot)
{
	uint32_t ti, at;
	struct trace *tr;

	if (t->free_trace == NIL) {
		decide_oldest(t, N_EARLY_TRACES);
		index_find(t, id, key, &slot); /* the index moved */
	}
	ti = t->free_trace;
	tr = &t->traces[ti];
	t->free_trace = tr->first;
	memcpy(tr->id, id, 16);
	tr->key = key;
	tr->deadline = sr_proc_now(pb) + t->window_ns;
	tr->first = tr->last = NIL;
	tr->nspans = 0;
	tr->flags = 0;
	t->index[slot] = ti + 1;
	tr->slot = slot;
	at = t->fifo_head + t->fifo_n;
	if (at >= t->max_traces)
		at -= t->max_traces;
	t->fifo[at] = ti;
	t->fifo_n++;
	return ti;
}

/* Hold span i in trace ti; false when no room is left even after early
 * decisions (which may have decided ti itself). */
static bool hold(struct tail *t, sr_proc_batch_t *pb, size_t i, uint32_t ti,
		 uint64_t key)
{
	size_t len = sr_proc_hold_size(pb, i);
	uint64_t pos;
	uint32_t si, slot;

	for (;;) {
		if (t->free_span != NIL &&
		    (pos = store_alloc(t, (uint32_t)len)) != UINT64_MAX)
			break;
		if (!t->fifo_n)
			return false;
		decide_oldest(t, N_EARLY_SPANS);
		if (index_find(t, t->traces[ti].id, key, &slot) == NIL)
			return false; /* its own trace was the oldest */
	}
	si = t->free_span;
	t->free_span = t->spans[si].next;
	t->spans[si].pos = pos;
	t->spans[si].next = NIL;
	if (!sr_proc_hold(pb, i, copy_of(t, &t->spans[si]), len)) {
		span_free(t, si);
		return false;
	}
	if (t->traces[ti].last == NIL)
		t->traces[ti].first = si;
	else
		t->spans[t->traces[ti].last].next = si;
	t->traces[ti].last = si;
	t->traces[ti].nspans++;
	return true;
}

/* A span whose trace is decided (late, or decided early meanwhile). */
static void follow(struct tail *t, sr_proc_batch_t *pb, size_t i, int keep)
{
	t->notes[N_LATE]++;
	if (!keep)
		sr_proc_drop(pb, i, note_names[N_NOT_SAMPLED]);
}

static void tail_process(void *state, sr_proc_batch_t *pb)
{
	struct tail *t = state;
	size_t n = sr_proc_count(pb);
	uint64_t now = sr_proc_now(pb);

	for (size_t i = 0; i < n; i++) {
		sr_span_data_t s;
		uint64_t key;
		uint32_t ti, slot;
		int d;

		s.size = sizeof(s); /* written whole by the call */
		if ((t->nrules ? sr_proc_span(pb, i, &s)
			       : sr_proc_span_head(pb, i, &s)) != 0)
			continue;
		key = id_key(s.trace_id);
		if ((ti = index_find(t, s.trace_id, key, &slot)) == NIL) {
			if ((d = cache_get(t, key)) >= 0) {
				follow(t, pb, i, d);
				continue;
			}
			ti = trace_new(t, pb, s.trace_id, key, slot);
		}
		t->traces[ti].flags |= span_flags(t, &s);
		if (!hold(t, pb, i, ti, key)) {
			/* Decided early: by its trace's decision, or its own. */
			d = cache_get(t, key);
			if (d < 0)
				d = rule_for(t, s.trace_id, span_flags(t, &s)) !=
				    N_NOT_SAMPLED;
			follow(t, pb, i, d);
		}
	}
	if (t->flush_all) {
		t->notes[N_FLUSH] += t->fifo_n;
		while (t->fifo_n)
			decide_oldest(t, N_COUNT);
		t->flush_all = false;
	}
	while (t->fifo_n && t->traces[t->fifo[t->fifo_head]].deadline <= now)
		decide_oldest(t, N_COUNT);
	while (t->emit_first != NIL) {
		uint32_t s = t->emit_first;

		if (sr_proc_emit(pb, copy_of(t, &t->spans[s])) != 0) {
			if (sr_proc_count(pb)) /* no room left: a later batch */
				break;
			/* Not even an empty batch takes it (a view larger than
			 * SPANRING_PROCESSOR_SCRATCH_BYTES): it would wait
			 * forever. */
			sr_proc_drop_held(pb, "too_large", 1);
		}
		t->emit_first = t->spans[s].next;
		if (t->emit_first == NIL)
			t->emit_last = NIL;
		span_free(t, s);
	}
	sr_proc_drop_held(pb, note_names[N_NOT_SAMPLED], t->held_dropped);
	t->held_dropped = 0;
	for (int k = 0; k < N_COUNT; k++)
		if (t->notes[k]) {
			sr_proc_note(pb, note_names[k], t->notes[k]);
			t->notes[k] = 0;
		}
}

static void tail_flush(void *state)
{
	((struct tail *)state)->flush_all = true;
}

static uint64_t tail_due(void *state)
{
	struct tail *t = state;

	if (t->flush_all || t->emit_first != NIL)
		return 1; /* now */
	if (t->fifo_n)
		return t->traces[t->fifo[t->fifo_head]].deadline + t->slack_ns;
	return 0;
}

static void tail_shutdown(void *state)
{
	struct tail *t = state;

	if (!t)
		return;
	free(t->store);
	free(t->spans);
	free(t->traces);
	free(t->fifo);
	free(t->index);
	free(t->cache);
	free(t);
}

/* ---- configuration -------------------------------------------------- */

static int parse_ratio(struct tail *t, char *err, size_t err_len)
{
	size_t len;
	const char *v = sr__env_get("SPANRING_TAIL_RATIO", &len);
	char buf[64], *end;
	double r = 0.1;

	if (v) {
		snprintf(buf, sizeof(buf), "%.*s", (int)len, v);
		errno = 0;
		r = strtod(buf, &end);
		if (end == buf || *end || errno || !(r >= 0.0 && r <= 1.0)) {
			snprintf(err, err_len,
				 "SPANRING_TAIL_RATIO='%s': not a number in [0,1]",
				 buf);
			return SR_EINVAL;
		}
	}
	t->bound = r >= 1.0 ? (UINT64_C(1) << 63) : (uint64_t)(r * 0x1p63);
	return 0;
}

/* SPANRING_TAIL_ATTRIBUTES: key=pattern[,key=pattern...] */
static int parse_rules(struct tail *t, char *err, size_t err_len)
{
	size_t len;
	const char *s = sr__env_get("SPANRING_TAIL_ATTRIBUTES", &len), *a;
	char all[1024];

	if (!s)
		return 0;
	snprintf(all, sizeof(all), "%.*s", (int)len, s);
	s = all;
	while (sr__env_list_next(&s, &a, &len)) {
		const char *eq = memchr(a, '=', len);
		struct attr_rule *r = &t->rules[t->nrules];
		size_t klen = eq ? (size_t)(eq - a) : 0;

		if (!len)
			continue;
		if (!eq || !klen || klen >= sizeof(r->key) ||
		    len - klen - 1 >= sizeof(r->value) ||
		    t->nrules == MAX_ATTR_RULES) {
			snprintf(err, err_len,
				 "SPANRING_TAIL_ATTRIBUTES: rule '%.*s': want "
				 "key=pattern (key < 64, pattern < 128 bytes, "
				 "at most %d rules)",
				 (int)len, a, MAX_ATTR_RULES);
			return SR_EINVAL;
		}
		memcpy(r->key, a, klen);
		r->key[klen] = 0;
		memcpy(r->value, eq + 1, len - klen - 1);
		r->value[len - klen - 1] = 0;
		t->nrules++;
	}
	return 0;
}

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 1;

	while (p < n)
		p *= 2;
	return p;
}

static int tail_init(void *ud, const sr_config_t *cfg, void **state, char *err,
		     size_t err_len)
{
	struct tail *t = calloc(1, sizeof(*t));
	uint32_t window_ms = 1000, latency_ms = 0, max_spans = 16384;
	uint32_t max_traces = 4096, cache = 65536;
	int rc = SR_EINVAL;

	(void)ud;
	(void)cfg;
	if (!t)
		return SR_ENOMEM;
	*state = t;
	if (sr__env_u32("SPANRING_TAIL_DECISION_MS", 1, 3600000, &window_ms) == SR_EINVAL ||
	    sr__env_u32("SPANRING_TAIL_LATENCY_MS", 0, 3600000, &latency_ms) == SR_EINVAL ||
	    sr__env_u32("SPANRING_TAIL_MAX_SPANS", 16, 1u << 24, &max_spans) == SR_EINVAL ||
	    sr__env_u32("SPANRING_TAIL_MAX_TRACES", 16, 1u << 22, &max_traces) == SR_EINVAL ||
	    sr__env_u32("SPANRING_TAIL_DECISION_CACHE", 16, 1u << 26, &cache) == SR_EINVAL) {
		snprintf(err, err_len, "%s", sr_last_error());
		goto fail;
	}
	if ((rc = parse_ratio(t, err, err_len)) || (rc = parse_rules(t, err, err_len)))
		goto fail;
	t->window_ns = (uint64_t)window_ms * 1000000u;
	t->slack_ns = t->window_ns / 16;
	t->latency_ns = (uint64_t)latency_ms * 1000000u;
	t->cap = (uint64_t)max_spans * STORE_PER_SPAN;
	t->nspans_max = max_spans;
	t->max_traces = max_traces;
	t->index_mask = pow2_at_least(2 * max_traces) - 1;
	t->cache_mask = pow2_at_least(cache) - 1;
	rc = SR_ENOMEM;
	t->store = malloc(t->cap);
	t->spans = malloc(sizeof(*t->spans) * max_spans);
	t->traces = malloc(sizeof(*t->traces) * max_traces);
	t->fifo = malloc(sizeof(*t->fifo) * max_traces);
	t->index = calloc(t->index_mask + 1u, sizeof(*t->index));
	t->cache = calloc(t->cache_mask + 1u, sizeof(*t->cache));
	if (!t->store || !t->spans || !t->traces || !t->fifo || !t->index ||
	    !t->cache)
		goto fail;
	/* Touched now: the resident size does not grow under load. */
	memset(t->store, 0, t->cap);
	for (uint32_t i = 0; i < max_spans; i++)
		t->spans[i].next = i + 1 < max_spans ? i + 1 : NIL;
	for (uint32_t i = 0; i < max_traces; i++)
		t->traces[i].first = i + 1 < max_traces ? i + 1 : NIL;
	t->free_span = t->free_trace = 0;
	t->emit_first = t->emit_last = NIL;
	return 0;
fail:
	tail_shutdown(t);
	*state = NULL;
	return rc;
}

const sr_processor_ops_t sr__processor_tail = {
	.size = sizeof(sr_processor_ops_t),
	.abi_version = SR_PROCESSOR_ABI_VERSION,
	.name = "tail",
	.init = tail_init,
	.process = tail_process,
	.flush = tail_flush,
	.shutdown = tail_shutdown,
	.due = tail_due,
};
