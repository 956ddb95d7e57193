/*
 * prop_int.h - what the propagation files share: the context arena, the
 * striped counters, the character classes and the per-format parsers.
 *
 * Parsers work on a borrowed (ptr, len) that the caller has already
 * length-checked against the field's limit; they never read outside it,
 * never allocate and write their result only when the whole value is
 * valid.  Storing trace state or baggage in the arena is the caller's
 * last step, after validation.
 */
#ifndef SR_PROP_INT_H
#define SR_PROP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "chars_int.h"
#include "spanring_int.h"

/* ---- context arena (arena.c) ---------------------------------------- */

enum sr__arena_kind {
	SR__ARENA_TRACESTATE = 1,
	SR__ARENA_BAGGAGE = 2
};

/* Largest entry payload the arena stores. */
#define SR__ARENA_MAX_ENTRY 8192u

/*
 * Store `len` bytes as a new immutable entry; returns its reference
 * (never 0), or 0 if the arena cannot be mapped or len is too large
 * (counted as arena_failed).  Lock-free; maps the arena on first use.
 */
uint64_t sr__arena_put(enum sr__arena_kind kind, const void *data,
		       size_t len);

/*
 * Copy entry `ref` of `kind` into buf (cap bytes, which it may fill with
 * zeros past the entry's length); returns its length, or
 * -1 if ref is 0, of another kind, expired or torn (the last two counted
 * as arena_stale), or longer than cap.  Lock-free, wait-free for readers.
 */
int sr__arena_get(uint64_t ref, enum sr__arena_kind kind, void *buf,
		  size_t cap);

/* ---- counters (stats.c) ---------------------------------------------- */

enum sr__pc {
	SR__PC_EXTRACT,
	SR__PC_INJECT,
	SR__PC_OK0,                                   /* + enum sr_prop_field */
	SR__PC_MALFORMED0 = SR__PC_OK0 + SR_PF_COUNT,
	SR__PC_OVERSIZED0 = SR__PC_MALFORMED0 + SR_PF_COUNT,
	SR__PC_TS_TRUNCATED = SR__PC_OVERSIZED0 + SR_PF_COUNT,
	SR__PC_BAG_DROPPED,
	SR__PC_INJECT_BAG_DROPPED,
	SR__PC_ARENA_ALLOCS,
	SR__PC_ARENA_RECYCLED,
	SR__PC_ARENA_STALE,
	SR__PC_ARENA_FAILED,
	SR__PC_COUNT
};

/* A thread's own block of counters (see stats.c). */
struct sr__pc_stripe {
	/* Written only by the owning thread (relaxed load + store); read
	 * by snapshots (relaxed). */
	_Alignas(64) uint64_t c[SR__PC_COUNT];
};

/* This thread's stripe, NULL until its first count (or while it shares
 * the overflow stripe). */
extern SR__TLS struct sr__pc_stripe *sr__pc_mine;
void sr__pc_add_slow(enum sr__pc c, uint64_t n);

/* Add to a counter of this thread's own stripe (its only writer). */
static inline void sr__pc_bump(struct sr__pc_stripe *s, enum sr__pc c,
			       uint64_t n)
{
	__atomic_store_n(&s->c[c], __atomic_load_n(&s->c[c], __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

static inline void sr__pc_add(enum sr__pc c, uint64_t n)
{
	struct sr__pc_stripe *s = sr__pc_mine;

	if (SR__LIKELY(s != NULL))
		sr__pc_bump(s, c, n);
	else
		sr__pc_add_slow(c, n);
}
static inline void sr__pc_inc(enum sr__pc c) { sr__pc_add(c, 1); }

/* A count through a stripe read once for a run of counts (an extract's
 * per-field outcomes): in a copy of the library that is dlopen()ed, each
 * thread-local access is a call.  s NULL (no stripe yet, or the shared
 * one): through sr__pc_add, which takes one or reads the one taken since. */
static inline void sr__pc_add_to(struct sr__pc_stripe *s, enum sr__pc c,
				 uint64_t n)
{
	if (SR__LIKELY(s != NULL))
		sr__pc_bump(s, c, n);
	else
		sr__pc_add(c, n);
}
uint64_t sr__arena_bytes(void);

static inline bool sr__is_ows(char c) { return c == ' ' || c == '\t'; }

/* Trim leading and trailing OWS (SP / HTAB) of [*p, *p + *n). */
static inline void sr__trim_ows(const char **p, size_t *n)
{
	const char *s = *p;
	size_t len = *n;

	while (len && sr__is_ows(s[0])) {
		s++;
		len--;
	}
	while (len && sr__is_ows(s[len - 1]))
		len--;
	*p = s;
	*n = len;
}

/* The members of a `sep`-separated list, each OWS-trimmed (possibly
 * empty); the grammars of tracestate, baggage and baggage properties. */
struct sr__list {
	const char *s;
	size_t n, pos;
	char sep;
};

static inline bool sr__list_next(struct sr__list *l, const char **m,
				 size_t *len)
{
	const char *seg, *end;

	if (l->pos > l->n)
		return false;
	seg = l->s + l->pos;
	end = memchr(seg, l->sep, l->n - l->pos);
	*len = end ? (size_t)(end - seg) : l->n - l->pos;
	l->pos += *len + 1;
	*m = seg;
	sr__trim_ows(m, len);
	return true;
}

/* The context has ids to inject (sr_context_is_valid() without needing
 * the core).  Whole words: every inject asks, and a byte loop over the
 * span id is a chain of shifts. */
static inline bool sr__ctx_has_ids(const sr_context_t *c)
{
	uint64_t t0, t1, s;

	memcpy(&t0, c->trace_id, 8);
	memcpy(&t1, c->trace_id + 8, 8);
	memcpy(&s, c->span_id, 8);
	return (t0 | t1) != 0 && s != 0;
}

/* ---- per-format parsers and writers -------------------------------- */

/* Result of parsing one field. */
enum sr__pr {
	SR__PR_ABSENT = 0,
	SR__PR_OK = 1,        /* valid ids                                  */
	SR__PR_MALFORMED = 2,
	SR__PR_OVERSIZED = 3,
	SR__PR_DECISION = 4   /* valid: a sampling decision without ids (B3) */
};

/* Trace ids and flags a trace header carries. */
struct sr__ids {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t flags;     /* W3C flags byte                                */
	int8_t sampling;   /* -1 none, 0 deny, 1 accept, 2 debug           */
};

/* tracecontext.c */
enum sr__pr sr__traceparent_parse(const char *s, size_t n,
				  struct sr__ids *out);
size_t sr__traceparent_format(const sr_context_t *ctx, char out[56]);
/* Validate and normalise a tracestate header into out ("k=v,..."),
 * applying the member and 512-byte limits; returns its length, or -1 if
 * malformed.  *dropped gets the members truncated away. */
int sr__tracestate_normalise(const char *s, size_t n,
			     char out[SR_TRACESTATE_MAX_BYTES],
			     uint32_t *dropped);

/* b3.c: the single header, whole or sampling-only ("0", "1", "d"). */
enum sr__pr sr__b3_single_parse(const char *s, size_t n,
				struct sr__ids *out);
/* jaeger.c: uber-trace-id (percent-encoded form accepted). */
enum sr__pr sr__jaeger_parse(const char *s, size_t n, struct sr__ids *out);

/* ---- baggage blob (baggage.c) -------------------------------------- */

/*
 * Baggage as stored in the arena and built on the stack:
 *
 *   u16 count, then per entry: u16 klen, u16 vlen, u16 mlen,
 *   key bytes, value bytes (decoded), metadata bytes (raw properties)
 *
 * Lengths are little-endian host order (the blob never leaves the
 * process).  Total <= SR_BAGGAGE_MAX_BYTES.
 */
struct sr__bag {
	uint32_t used;     /* bytes of buf in use, >= 2 */
	uint16_t count;
	unsigned char buf[SR_BAGGAGE_MAX_BYTES];
};

void sr__bag_init(struct sr__bag *b);
/* Load the baggage of ref into b (empty if ref is 0 or expired). */
void sr__bag_load(struct sr__bag *b, uint64_t ref);
/* Set key (replacing, else appending); SR_ELIMIT when it does not fit. */
int sr__bag_put(struct sr__bag *b, const char *k, size_t kl, const char *v,
		size_t vl, const char *m, size_t ml);
/* Store b; 0 if empty or if the arena failed. */
uint64_t sr__bag_store(const struct sr__bag *b);

/* Iterate: *pos starts at 2; false at the end. */
bool sr__bag_next(const struct sr__bag *b, uint32_t *pos,
		  sr_baggage_entry_t *e);

/* Parse a W3C baggage header, merging its entries into b (later wins). */
enum sr__pr sr__baggage_parse(const char *s, size_t n, struct sr__bag *b);
/* Write b as a baggage header into out (cap >= SR_PROP_BAGGAGE_MAX + 1),
 * leaving out entries that do not fit; returns its length. */
size_t sr__baggage_format(const struct sr__bag *b, char *out, size_t cap);

/* Percent-decoding (RFC 3986): false on a bad escape.  *outn <= n. */
bool sr__pct_decode(const char *s, size_t n, char *out, size_t *outn);
/* Percent-encode bytes outside `keep`; returns the length written or
 * (size_t)-1 if it would exceed cap. */
size_t sr__pct_encode(const char *s, size_t n, const uint8_t keep[256],
		      char *out, size_t cap);

/* ---- extract / inject drivers (propagator.c) ----------------------- */

/* Working state of one extract call. */
struct sr__xstate {
	void *carrier;
	const sr_carrier_getter_t *g;
	sr_context_t *out;
	sr_extract_info_t *info;
	struct sr__pc_stripe *pc; /* sr__pc_mine at the start (see
	                             sr__pc_add_to)                       */
	bool trace_bad;           /* a trace-id field was rejected         */
	bool bag_ready;           /* bag initialised                       */
	bool bag_dirty;           /* bag holds entries to store at the end */
	struct sr__bag *bag;      /* baggage being merged (on the caller's
	                             stack only when a format can carry
	                             baggage); initialised by sr__x_bag() */
};

/* Get a field and check its length against limit without reading past
 * it.  ABSENT, OVERSIZED or OK (with *s, *n set, OWS not yet trimmed). */
static inline enum sr__pr sr__carrier_get(struct sr__xstate *x,
					  const char *key, size_t limit,
					  const char **s, size_t *n)
{
	size_t len = 0;
	const char *v = x->g->get(x->carrier, key, &len);

	if (!v)
		return SR__PR_ABSENT;
	/* A C string is measured only up to one byte past the limit. */
	if (len == SR_CARRIER_LEN_CSTR)
		len = strnlen(v, limit + 1);
	if (len > limit)
		return SR__PR_OVERSIZED;
	*s = v;
	*n = len;
	return SR__PR_OK;
}

/* Record the outcome of one field: counters and info bits. */
static inline void sr__x_result(struct sr__xstate *x, enum sr_prop_field field,
				unsigned format, enum sr__pr r)
{
	if (SR__LIKELY(r == SR__PR_OK || r == SR__PR_DECISION)) {
		sr__pc_add_to(x->pc, (enum sr__pc)(SR__PC_OK0 + field), 1);
		return;
	}
	if (r == SR__PR_ABSENT)
		return;
	if (field == SR_PF_TRACEPARENT || field == SR_PF_B3 ||
	    field == SR_PF_B3MULTI || field == SR_PF_JAEGER)
		x->trace_bad = true;
	x->info->dropped |= SR_EXTRACT_DROPPED(field);
	if (r == SR__PR_MALFORMED) {
		sr__pc_add_to(x->pc, (enum sr__pc)(SR__PC_MALFORMED0 + field), 1);
		x->info->malformed |= format;
	} else {
		sr__pc_add_to(x->pc, (enum sr__pc)(SR__PC_OVERSIZED0 + field), 1);
		x->info->oversized |= format;
	}
}

/* Install ids found by `format` into x->out (replacing earlier ones). */
void sr__x_set_ids(struct sr__xstate *x, const struct sr__ids *ids,
		   unsigned format);

/* The baggage being merged (empty at the start of an extract). */
struct sr__bag *sr__x_bag(struct sr__xstate *x);

/* Read one trace-id field with `parse`, count it, and on success install
 * its ids as coming from `format`. */
static inline enum sr__pr sr__x_ids_field(
	struct sr__xstate *x, const char *key, size_t limit,
	enum sr__pr (*parse)(const char *, size_t, struct sr__ids *),
	enum sr_prop_field field, unsigned format, struct sr__ids *ids)
{
	const char *s;
	size_t n;
	enum sr__pr r = sr__carrier_get(x, key, limit, &s, &n);

	if (r == SR__PR_OK)
		r = parse(s, n, ids);
	sr__x_result(x, field, format, r);
	if (r == SR__PR_OK)
		sr__x_set_ids(x, ids, format);
	return r;
}

/* Copy (p, n) into buf (cap bytes, NUL-terminated, truncating) and *len;
 * SR_ELIMIT if it did not fit (0 when buf is NULL: a length query). */
static inline int sr__copy_out(const char *p, size_t n, char *buf, size_t cap,
			       size_t *len)
{
	if (len)
		*len = n;
	if (buf && cap) {
		size_t c = n < cap ? n : cap - 1;
		memcpy(buf, p, c);
		buf[c] = '\0';
	}
	return !buf || n < cap ? 0 : SR_ELIMIT;
}

/* Per-format extract and inject. */
void sr__x_tracecontext(struct sr__xstate *x);
void sr__x_baggage(struct sr__xstate *x);
void sr__x_b3(struct sr__xstate *x);
void sr__x_jaeger(struct sr__xstate *x);
void sr__i_tracecontext(const sr_context_t *c, void *carrier,
			sr_carrier_set_fn set);
void sr__i_baggage(const sr_context_t *c, void *carrier,
		   sr_carrier_set_fn set);
void sr__i_b3_single(const sr_context_t *c, void *carrier,
		     sr_carrier_set_fn set);
void sr__i_b3_multi(const sr_context_t *c, void *carrier,
		    sr_carrier_set_fn set);
void sr__i_jaeger(const sr_context_t *c, void *carrier,
		  sr_carrier_set_fn set);

#endif /* SR_PROP_INT_H */
