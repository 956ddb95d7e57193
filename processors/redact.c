/*
 * redact.c - the "redact" processor: takes secrets out of spans before
 * any exporter sees them (rules: redact_rules.c, docs/processors.md).
 *
 * Over span, event and link attributes: a key matching a deny glob, or
 * (when allow globs are given) matching none of them, removes the
 * attribute; in string values, and with "names" in span and event names,
 * every match of a mask pattern becomes "****".  Each removal and each
 * masked match is counted under its rule (sr_stats_processor).  A span
 * whose edit does not fit the batch's scratch is dropped ("scratch_full")
 * rather than exported unredacted.
 *
 * Cost on the drainer: verdicts are cached by content, for keys (a few
 * dozen distinct ones in a real service) and for short values found
 * clean (methods, routes, db.system ...), each in a fixed direct-mapped
 * table: keys placed by their address (static strings, the same span
 * after span), values by a sample of their bytes (sr__hash_sketch); a
 * hit compares all the bytes either way.  Before any of that a value is checked against
 * what each pattern needs (sr__redact_may_match: its least length and
 * the bytes every match holds): most values, too short or lacking them,
 * never reach PCRE2.  A value that may match more than one pattern and
 * is not in the cache costs one match of all patterns at once, and only
 * a hit runs the rules one by one.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash_int.h"
#include "processor_int.h"
#include "redact_int.h"

/* A record holds at most 8 item slots and every item takes one at least
 * (docs/architecture.md): a span has at most max_span_records * 8 items. */
#define SLOTS_PER_RECORD 8
#define CACHE_SLOTS 1024       /* per cache, power of two             */
#define CACHE_STR 58           /* longest string a cache entry holds   */

struct cache_ent {
	uint32_t hash;
	uint8_t len;               /* 0: empty (the empty string is never cached) */
	int8_t verdict;            /* key: rule index or -1; value: unused */
	char s[CACHE_STR];
};
_Static_assert(sizeof(struct cache_ent) == 64, "a cache entry, a cache line");

struct redact {
	struct sr__redact_rules rules;
	pcre2_match_data *md;
	uint32_t cap;              /* items per span                       */
	sr_attr_view_t *attrs;     /* 2 * cap: span, event and link attrs  */
	sr_event_view_t *events;   /* cap                                  */
	sr_link_view_t *links;     /* cap                                  */
	char *buf[2];              /* masking, ping-pong                   */
	size_t buf_cap;
	uint64_t counts[SR__REDACT_MAX_RULES]; /* this batch's, then noted */
	_Alignas(64) struct cache_ent keys[CACHE_SLOTS];
	struct cache_ent clean[CACHE_SLOTS];
};

static uint32_t hash(const char *s, uint32_t len)
{
	return (uint32_t)sr__hash_sketch(s, len);
}

/* a[0..n) == b[0..n), n <= CACHE_STR, in word compares: called for
 * every attribute, where a call to memcmp costs more than the compare. */
static inline bool short_eq(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	uint32_t u, v;
	size_t i;

	if (n < 8) {
		if (n < 4) /* 0..3 bytes: first, middle, last cover them all */
			return !n || (a[0] == b[0] && a[n / 2] == b[n / 2] &&
				      a[n - 1] == b[n - 1]);
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		if (u != v)
			return false;
		memcpy(&u, a + n - 4, 4);
		memcpy(&v, b + n - 4, 4);
		return u == v;
	}
	for (i = 0; i + 8 < n; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return false;
	}
	memcpy(&x, a + n - 8, 8);
	memcpy(&y, b + n - 8, 8);
	return x == y;
}

static inline struct cache_ent *cache_find(struct cache_ent *c, sr_str_t s,
					   uint32_t h)
{
	struct cache_ent *e = &c[h & (CACHE_SLOTS - 1)];

	return s.len && e->len == s.len && e->hash == h &&
		       short_eq(e->s, s.ptr, s.len)
		       ? e
		       : NULL;
}

static void cache_put(struct cache_ent *c, sr_str_t s, uint32_t h, int verdict)
{
	struct cache_ent *e = &c[h & (CACHE_SLOTS - 1)];

	if (!s.len || s.len > CACHE_STR)
		return;
	e->hash = h;
	e->len = (uint8_t)s.len;
	e->verdict = (int8_t)verdict;
	memcpy(e->s, s.ptr, s.len);
}

/* A key's cache slot and tag, from its address: a span's keys are the
 * service's few static strings, at the same addresses span after span,
 * so hashing the address finds the entry for less than hashing bytes.
 * The entry still matches only on the bytes (cache_find compares them
 * all): a key at a reused address (an edited view's key in a batch
 * arena) with other bytes misses and is judged afresh. */
static uint32_t key_hash(sr_str_t key)
{
	return (uint32_t)(((uintptr_t)key.ptr * 0x9E3779B97F4A7C15ull) >> 32);
}

static int key_verdict_rules(struct redact *r, sr_str_t key, uint32_t h);

/* The rule that removes an attribute with this key, or -1 to keep it.
 * Inline: the cache answers for nearly every attribute. */
static inline int key_verdict(struct redact *r, sr_str_t key)
{
	uint32_t h = key_hash(key);
	const struct cache_ent *e = cache_find(r->keys, key, h);

	return e ? e->verdict : key_verdict_rules(r, key, h);
}

/* key_verdict() for a key not in the cache: the globs, then cached. */
static int key_verdict_rules(struct redact *r, sr_str_t key, uint32_t h)
{
	const struct sr__redact_rules *rs = &r->rules;
	char k[256];
	int v = -1, first_allow = -1;

	/* fnmatch wants a C string; a key past 255 bytes is judged by its
	 * first 255. */
	snprintf(k, sizeof(k), "%.*s", (int)key.len, key.ptr);
	for (uint32_t i = 0; i < rs->n && v < 0; i++) {
		const struct sr__redact_rule *ru = &rs->r[i];

		if (ru->kind == SR__REDACT_DENY &&
		    !fnmatch(ru->glob, k, FNM_CASEFOLD))
			v = (int)i;
	}
	if (v < 0 && rs->any_allow) {
		for (uint32_t i = 0; i < rs->n; i++) {
			const struct sr__redact_rule *ru = &rs->r[i];

			if (ru->kind != SR__REDACT_ALLOW)
				continue;
			if (first_allow < 0)
				first_allow = (int)i;
			if (!fnmatch(ru->glob, k, FNM_CASEFOLD)) {
				first_allow = -1;
				break;
			}
		}
		v = first_allow;
	}
	cache_put(r->keys, key, h, v);
	return v;
}

/* One mask rule over cur[0..*len) into out; true if it masked anything. */
static bool mask_rule(struct redact *r, uint32_t k, const char *cur,
		      size_t *len, char *out)
{
	const struct sr__redact_rule *ru = &r->rules.r[k];
	size_t start = 0, pos = 0, w = 0, n = *len;
	bool any = false;

	/* No match is shorter than minlen: a shorter rest holds none. */
	while (start <= n && n - start >= ru->need.minlen) {
		PCRE2_SIZE *ov;
		size_t s, e;

		if (pcre2_match(ru->re, (PCRE2_SPTR)cur, n, start, 0, r->md,
				NULL) < 0)
			break;
		ov = pcre2_get_ovector_pointer(r->md);
		s = ov[0];
		e = ov[1];
		if (e <= s) { /* an empty match masks nothing */
			start = s + 1;
			continue;
		}
		start = e;
		if (ru->kind == SR__REDACT_LUHN && !sr__luhn_ok(cur + s, e - s))
			continue;
		memcpy(out + w, cur + pos, s - pos);
		w += s - pos;
		memcpy(out + w, SR__REDACT_MASK, sizeof(SR__REDACT_MASK) - 1);
		w += sizeof(SR__REDACT_MASK) - 1;
		pos = e;
		r->counts[k]++;
		any = true;
	}
	if (!any)
		return false;
	memcpy(out + w, cur + pos, n - pos);
	*len = w + n - pos;
	return true;
}

/* The pattern rules that may match cur[0..len) (bit k: rule k). */
static uint64_t candidates(const struct sr__redact_rules *rs, const char *cur,
			   size_t len)
{
	uint64_t c = 0;

	for (uint32_t k = 0; k < rs->n; k++)
		if (rs->r[k].re && sr__redact_may_match(&rs->r[k].need, cur, len))
			c |= 1ull << k;
	return c;
}

/* Mask *v: 0 unchanged, 1 replaced by a copy in the batch, -1 the batch
 * scratch is full. */
static int mask_value(struct redact *r, sr_proc_batch_t *pb, sr_str_t *v)
{
	const struct sr__redact_rules *rs = &r->rules;
	uint32_t h = 0;
	const char *cur = v->ptr;
	size_t len = v->len;
	uint64_t cand;
	int t = 0;
	bool changed = false;
	char *copy;

	if (len < rs->minlen || !len || !(cand = candidates(rs, cur, len)))
		return 0;
	if (len <= CACHE_STR) {
		h = hash(v->ptr, v->len);
		if (cache_find(r->clean, *v, h))
			return 0;
	}
	if ((cand & (cand - 1)) && rs->any &&
	    pcre2_match(rs->any, (PCRE2_SPTR)v->ptr, len, 0, 0, r->md, NULL) < 0) {
		cache_put(r->clean, *v, h, 0);
		return 0;
	}
	if (len * 5 > r->buf_cap) {
		/* Longer than any copied value (a static name): a value
		 * that matches is masked whole. */
		for (uint32_t k = 0; k < rs->n; k++)
			if ((cand >> k & 1) &&
			    pcre2_match(rs->r[k].re, (PCRE2_SPTR)cur, len, 0, 0,
					r->md, NULL) >= 0) {
				r->counts[k]++;
				v->ptr = SR__REDACT_MASK;
				v->len = sizeof(SR__REDACT_MASK) - 1;
				return 1;
			}
		return 0;
	}
	/* Each rule sees what the ones before it left: once one masked,
	 * the others' needs are checked on the masked text. */
	for (uint32_t k = 0; k < rs->n; k++)
		if (rs->r[k].re &&
		    (changed ? sr__redact_may_match(&rs->r[k].need, cur, len)
			     : (cand >> k & 1)) &&
		    mask_rule(r, k, cur, &len, r->buf[t])) {
			cur = r->buf[t];
			t ^= 1;
			changed = true;
		}
	if (!changed) { /* only Luhn failures: clean after all */
		cache_put(r->clean, *v, h, 0);
		return 0;
	}
	if (!(copy = sr_proc_alloc(pb, len)))
		return -1;
	memcpy(copy, cur, len);
	v->ptr = copy;
	v->len = (uint32_t)len;
	return 1;
}

/* Filter and mask the n attributes at *attrs: when any is removed or
 * masked, the kept ones are copied to `out` and *attrs points there;
 * otherwise *attrs is left alone (most spans: no copy).  Returns the
 * count kept, sets *changed, and *full when the scratch ran out. */
static uint32_t do_attrs(struct redact *r, sr_proc_batch_t *pb,
			 const sr_attr_view_t **attrs, uint32_t n,
			 sr_attr_view_t *out, bool *changed, bool *full)
{
	const sr_attr_view_t *in = *attrs;
	uint32_t w = 0;
	bool copying = false;  /* out[0..w) holds the kept ones so far */

	for (uint32_t i = 0; i < n; i++) {
		int v = key_verdict(r, in[i].key), m = 0;
		sr_str_t val;

		if (v >= 0)
			r->counts[v]++;
		else if (in[i].type == SR_ATTR_STRING) {
			val = in[i].v.s;
			m = mask_value(r, pb, &val);
			*full |= m < 0;
		}
		if (!copying && (v >= 0 || m > 0)) {
			memcpy(out, in, i * sizeof(*in)); /* kept as they were */
			w = i;
			copying = true;
			*changed = true;
		}
		if (v >= 0 || !copying)
			continue;
		out[w] = in[i];
		if (m > 0)
			out[w].v.s = val;
		w++;
	}
	if (!copying)
		return n;
	*attrs = out;
	return w;
}

/* An event's or link's attributes, into the pool from r->attrs + *used
 * when they change. */
static void do_owned(struct redact *r, sr_proc_batch_t *pb,
		     const sr_attr_view_t **attrs, uint32_t *count,
		     uint32_t *used, bool *changed, bool *full)
{
	sr_attr_view_t *out = r->attrs + *used;

	*count = do_attrs(r, pb, attrs, *count, out, changed, full);
	if (*attrs == out)
		*used += *count;
}

static void redact_span(struct redact *r, sr_proc_batch_t *pb, size_t i)
{
	sr_span_data_t s;
	bool changed = false, full = false;
	uint32_t used = 0;
	int m;

	s.size = sizeof(s); /* sr_proc_span writes it all */
	if (sr_proc_span(pb, i, &s) != 0)
		return;
	s.attr_count = do_attrs(r, pb, &s.attrs, s.attr_count, r->attrs,
				&changed, &full);
	if (s.attrs == r->attrs)
		used = s.attr_count;
	if (s.event_count)
		memcpy(r->events, s.events, s.event_count * sizeof(*s.events));
	s.events = r->events;
	for (uint32_t k = 0; k < s.event_count; k++) {
		sr_event_view_t *e = &r->events[k];

		do_owned(r, pb, &e->attrs, &e->attr_count, &used, &changed,
			 &full);
		if (r->rules.names && (m = mask_value(r, pb, &e->name))) {
			changed = true;
			full |= m < 0;
		}
	}
	if (s.link_count)
		memcpy(r->links, s.links, s.link_count * sizeof(*s.links));
	s.links = r->links;
	for (uint32_t k = 0; k < s.link_count; k++) {
		sr_link_view_t *l = &r->links[k];

		do_owned(r, pb, &l->attrs, &l->attr_count, &used, &changed,
			 &full);
	}
	if (r->rules.names && (m = mask_value(r, pb, &s.name))) {
		changed = true;
		full |= m < 0;
	}
	if (full || (changed && sr_proc_span_set(pb, i, &s) != 0))
		sr_proc_drop(pb, i, "scratch_full");
}

static void redact_process(void *state, sr_proc_batch_t *pb)
{
	struct redact *r = state;
	size_t n = sr_proc_count(pb);

	for (size_t i = 0; i < n; i++)
		redact_span(r, pb, i);
	for (uint32_t k = 0; k < r->rules.n; k++)
		if (r->counts[k]) {
			sr_proc_note(pb, r->rules.r[k].name, r->counts[k]);
			r->counts[k] = 0;
		}
}

static void redact_shutdown(void *state)
{
	struct redact *r = state;

	if (!r)
		return;
	sr__redact_free(&r->rules);
	pcre2_match_data_free(r->md);
	free(r->attrs);
	free(r->events);
	free(r->links);
	free(r->buf[0]);
	free(r->buf[1]);
	free(r);
}

/* The whole file, NUL-terminated (malloc'd), or NULL with errno. */
static char *read_all(const char *path)
{
	FILE *f = fopen(path, "re");
	char *s = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *t = realloc(s, cap += 65536);

			if (!t) {
				free(s);
				fclose(f);
				return NULL;
			}
			s = t;
		}
		n = fread(s + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	s[len] = '\0';
	return s;
}

static int redact_init(void *ud, const sr_config_t *cfg, void **state,
		       char *err, size_t err_len)
{
	struct redact *r = calloc(1, sizeof(*r));
	const char *rules = cfg->redact_rules, *path = cfg->redact_config;
	int rc = 0;

	if (!r)
		return SR_ENOMEM;
	*state = r;
	r->cap = cfg->max_span_records * SLOTS_PER_RECORD;
	r->buf_cap = 5 * (size_t)cfg->attr_value_length_limit + 64;
	r->md = pcre2_match_data_create(1, NULL);
	r->attrs = calloc(2 * r->cap, sizeof(*r->attrs));
	r->events = calloc(r->cap, sizeof(*r->events));
	r->links = calloc(r->cap, sizeof(*r->links));
	r->buf[0] = malloc(r->buf_cap);
	r->buf[1] = malloc(r->buf_cap);
	if (!r->md || !r->attrs || !r->events || !r->links || !r->buf[0] ||
	    !r->buf[1])
		rc = SR_ENOMEM;
	if (!rc && rules)
		rc = sr__redact_parse(&r->rules, rules, "redact_rules", err,
				      err_len);
	if (!rc && path) {
		char *text = read_all(path), origin[300];

		if (!text) {
			snprintf(err, err_len, "SPANRING_REDACT_CONFIG=%s: cannot "
				 "read: %m", path);
			rc = SR_EINVAL;
		} else {
			snprintf(origin, sizeof(origin),
				 "SPANRING_REDACT_CONFIG=%s", path);
			rc = sr__redact_parse(&r->rules, text, origin, err,
					      err_len);
			free(text);
		}
	}
	if (!rc && !rules && !path)
		rc = sr__redact_parse(&r->rules, sr__redact_defaults, "defaults",
				      err, err_len);
	if (!rc)
		rc = sr__redact_finish(&r->rules, err, err_len);
	if (rc) {
		redact_shutdown(r);
		*state = NULL;
	}
	return rc;
}

const sr_processor_ops_t sr__processor_redact = {
	.size = sizeof(sr_processor_ops_t),
	.abi_version = SR_PROCESSOR_ABI_VERSION,
	.name = "redact",
	.init = redact_init,
	.process = redact_process,
	.shutdown = redact_shutdown,
};
