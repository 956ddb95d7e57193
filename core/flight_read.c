/*
 * flight_read.c - the crash flight recorder's reader: a recording
 * (flight_int.h) back into spans the exporters decode like any batch.
 *
 * Parsing trusts nothing: every section length is checked against the
 * file, a section cut off by the end of the file still gives the whole
 * records it holds (the dump may have died mid-write), and every span
 * passes the same walk the recorder used (sr__flight_span_walk: slot
 * count, items and strings within the span) plus kind and status checks
 * before record_decode.c sees it.
 *
 * What a span may have suffered, and how it is told:
 *   - torn: a ring's producer kept writing while the dump copied; its
 *     CHECK tail says which ring indices may have been overwritten
 *     (below tail - capacity), and spans starting there are dropped.  A
 *     batch whose generation changed while it was copied was reused:
 *     all of its spans are dropped.
 *   - duplicated: the drainer moved a span from its ring into a batch
 *     during the dump: both copies were written.  Spans are keyed by
 *     (id seed, start, end, tid) and kept once.
 *   - malformed: anything that fails the walk.  A ring whose span chain
 *     breaks loses the records after the break (records_lost).
 * Strings are looked up by the dead process's pointer; a pointer with no
 * copy decodes as "(lost)", an unreadable one as "(unreadable)".
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flight_int.h"

#define LOST "(lost)"
#define UNREADABLE "(unreadable)"

/* ---- helpers -------------------------------------------------------------- */

static void why(struct sr__flight *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void why(struct sr__flight *f, const char *fmt, ...)
{
	va_list ap;

	if (f->why[0])
		return; /* the first problem is the one to report */
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
}

static uint64_t pad8(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

/* ---- spans ---------------------------------------------------------------- */

/* Parser state beyond what the caller keeps. */
struct parse {
	struct sr__flight *f;
	uint32_t cap_records, nrecs, cap_spans;
	uint32_t *seen;             /* dedupe: span index + 1, open addressing */
	uint32_t seen_cap;
	/* A ring or batch section waiting for its CHECK. */
	const unsigned char *pend;
	uint64_t pend_len;
	uint32_t pend_type;
};

static uint64_t span_key(const struct sr__span_header *h)
{
	uint64_t k, seed;

	memcpy(&seed, h->span_id, 8);
	k = seed ^ (h->start_ns * 0x9e3779b97f4a7c15ull) ^
	    (h->end_ns * 0xc2b2ae3d27d4eb4full) ^ h->tid;
	k ^= k >> 31;
	return k;
}

static bool same_span(const struct sr__span_header *a,
		      const struct sr__span_header *b)
{
	return !memcmp(a->span_id, b->span_id, 8) && a->start_ns == b->start_ns &&
	       a->end_ns == b->end_ns && a->tid == b->tid &&
	       a->nslots == b->nslots;
}

static const struct sr__span_header *span_at(const struct sr__flight *f,
					     uint32_t i)
{
	return (const void *)f->recs[f->first[i]].bytes;
}

/* Is the span just copied to f->recs[at] one already kept?  Else keep it
 * in the dedupe table. */
static bool duplicate(struct parse *ps, uint32_t span)
{
	const struct sr__span_header *h = span_at(ps->f, span);
	uint32_t i = (uint32_t)span_key(h) & (ps->seen_cap - 1);

	for (;; i = (i + 1) & (ps->seen_cap - 1)) {
		if (!ps->seen[i]) {
			ps->seen[i] = span + 1;
			return false;
		}
		if (same_span(span_at(ps->f, ps->seen[i] - 1), h))
			return true;
	}
}

static bool span_ok(const struct sr__span_header *h, uint32_t nrec)
{
	uint32_t kind = h->bits & SR__HB_KIND_MASK;
	uint32_t status = (h->bits & SR__HB_STATUS_MASK) >> SR__HB_STATUS_SHIFT;

	return kind <= SR_KIND_CONSUMER && status <= SR_STATUS_ERROR &&
	       sr__flight_span_walk(h, sr__slots_in_records(nrec), NULL, NULL);
}

/* Add the span whose `nrec` records are at `src` in the file (any
 * alignment; the dump wrote a ring's records in index order, so a span
 * is contiguous there).  Checks it, drops it if already kept. */
static void add_span(struct parse *ps, const unsigned char *src,
		     uint32_t nrec, bool from_ring)
{
	struct sr__flight *f = ps->f;
	struct sr__record *dst;
	uint32_t span;

	/* The decode scratch holds the largest span a pipeline allows. */
	if (nrec > SR__CFG_RECORDS(SR__MAX_SPAN_RECORDS) || f->nspans == ps->cap_spans ||
	    ps->nrecs + nrec > ps->cap_records) {
		f->malformed++;
		return;
	}
	dst = &f->recs[ps->nrecs];
	memcpy(dst, src, (size_t)nrec * SR__RECORD_SIZE);
	if (!span_ok((const void *)dst->bytes, nrec)) {
		f->malformed++;
		return;
	}
	span = f->nspans;
	f->first[span] = ps->nrecs;
	if (duplicate(ps, span)) {
		f->duplicates++;
		return;
	}
	f->nspans++;
	ps->nrecs += nrec;
	if (from_ring)
		f->from_rings++;
	else
		f->from_batches++;
}

static uint32_t nslots_of(const unsigned char *rec)
{
	struct sr__span_header h;

	memcpy(&h, rec, sizeof(h));
	return h.nslots;
}

/* A RING section (`len` bytes at `p`, possibly cut short) and the tail its
 * CHECK gave (have_check false: none came, nothing is known torn). */
static void take_ring(struct parse *ps, const unsigned char *p, uint64_t len,
		      bool have_check, uint32_t tail_after)
{
	struct sr__flight *f = ps->f;
	struct sr__flight_ring rh;
	const unsigned char *recs = p + sizeof(rh);
	uint32_t n, avail, at = 0, limit;

	memcpy(&rh, p, sizeof(rh));
	n = rh.tail - rh.head;
	avail = (uint32_t)((len - sizeof(rh)) / SR__RECORD_SIZE);
	if (n > avail)
		n = avail;
	/* Indices below tail_after - capacity may have been rewritten. */
	limit = have_check ? tail_after - rh.capacity : rh.head;
	while (at < n) {
		uint32_t nrec = sr__records_for_slots(nslots_of(recs + (size_t)at * SR__RECORD_SIZE));
		bool torn = (int32_t)(rh.head + at - limit) < 0;

		if (nrec > SR__CFG_RECORDS(SR__MAX_SPAN_RECORDS) || nrec > n - at) {
			/* The chain is broken: nothing after can be placed. */
			f->malformed++;
			f->records_lost += n - at;
			return;
		}
		if (torn)
			f->torn++;
		else
			add_span(ps, recs + (size_t)at * SR__RECORD_SIZE, nrec,
				 true);
		at += nrec;
	}
}

static void take_batch(struct parse *ps, const unsigned char *p, uint64_t len,
		       bool have_check, uint32_t gen_after)
{
	struct sr__flight *f = ps->f;
	struct sr__flight_batch bh;
	uint64_t idx_len, avail;
	const unsigned char *idx, *recs;
	uint32_t nrec;

	memcpy(&bh, p, sizeof(bh));
	idx_len = pad8((uint64_t)bh.nspans * 4);
	if (sizeof(bh) + idx_len > len) {
		f->malformed += bh.nspans;
		return;
	}
	if (have_check && gen_after != bh.gen) {
		f->torn += bh.nspans;
		return;
	}
	idx = p + sizeof(bh);
	recs = idx + idx_len;
	avail = (len - sizeof(bh) - idx_len) / SR__RECORD_SIZE;
	nrec = bh.nrecords < avail ? bh.nrecords : (uint32_t)avail;
	for (uint32_t i = 0; i < bh.nspans; i++) {
		uint32_t first, next = nrec, want;

		memcpy(&first, idx + (size_t)i * 4, 4);
		if (i + 1 < bh.nspans)
			memcpy(&next, idx + (size_t)(i + 1) * 4, 4);
		if (first >= nrec || next > nrec || next <= first) {
			f->malformed++;
			continue;
		}
		want = sr__records_for_slots(nslots_of(recs + (size_t)first * SR__RECORD_SIZE));
		if (want > next - first) {
			/* The open batch's last span: the drainer publishes
			 * nspans before nrecords, so the dump may have seen
			 * the span but not all its records. */
			if (i + 1 == bh.nspans && bh.open)
				f->torn++;
			else
				f->malformed++;
			continue;
		}
		add_span(ps, recs + (size_t)first * SR__RECORD_SIZE, want,
			 false);
	}
}

static void flush_pending(struct parse *ps, bool have_check, uint32_t value)
{
	if (!ps->pend)
		return;
	if (ps->pend_type == SR__FSEC_RING)
		take_ring(ps, ps->pend, ps->pend_len, have_check, value);
	else
		take_batch(ps, ps->pend, ps->pend_len, have_check, value);
	ps->pend = NULL;
}

/* ---- other sections -------------------------------------------------------- */

static int take_string(struct sr__flight *f, const unsigned char *p,
		       uint64_t len, uint32_t *cap)
{
	struct sr__flight_string s;
	struct sr__flight_str *e;

	if (len < sizeof(s))
		return 0;
	memcpy(&s, p, sizeof(s));
	if (s.len > len - sizeof(s))
		return 0;
	if (f->nstrs == *cap) {
		uint32_t nc = *cap ? *cap * 2 : 256;
		void *n = realloc(f->strs, sizeof(*f->strs) * nc);

		if (!n)
			return SR_ENOMEM;
		f->strs = n;
		*cap = nc;
	}
	e = &f->strs[f->nstrs++];
	e->addr = s.addr;
	e->bytes = (const char *)p + sizeof(s);
	e->len = s.len;
	e->flags = s.flags;
	return 0;
}

static void take_scope(struct sr__flight *f, uint32_t index,
		       const unsigned char *p, uint64_t len)
{
	struct sr__flight_scope sc;

	if (index >= SR_MAX_TRACERS || len < sizeof(sc))
		return;
	memcpy(&sc, p, sizeof(sc));
	if ((uint64_t)sc.name_len + sc.version_len > len - sizeof(sc))
		return;
	f->scope_name[index] = (sr_str_t){ (const char *)p + sizeof(sc), sc.name_len };
	f->scope_version[index] = (sr_str_t){ (const char *)p + sizeof(sc) + sc.name_len,
					      sc.version_len };
}

static int take_resource(struct sr__flight *f, uint32_t count,
			 const unsigned char *p, uint64_t len)
{
	uint64_t at = 0;

	if (count > len / sizeof(struct sr__flight_attr))
		count = (uint32_t)(len / sizeof(struct sr__flight_attr));
	f->res = calloc(count ? count : 1, sizeof(*f->res));
	if (!f->res)
		return SR_ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		struct sr__flight_attr fa;
		sr_attr_view_t *a = &f->res[f->nres];

		if (at > len || len - at < sizeof(fa)) /* padding ran past */
			break;
		memcpy(&fa, p + at, sizeof(fa));
		if ((uint64_t)fa.key_len + fa.str_len > len - at - sizeof(fa))
			break;
		a->key = (sr_str_t){ (const char *)p + at + sizeof(fa), fa.key_len };
		switch (fa.type) {
		case SR_ATTR_BOOL:
			a->type = SR_ATTR_BOOL;
			a->v.b = fa.value != 0;
			break;
		case SR_ATTR_INT:
			a->type = SR_ATTR_INT;
			memcpy(&a->v.i, &fa.value, 8);
			break;
		case SR_ATTR_DOUBLE:
			a->type = SR_ATTR_DOUBLE;
			memcpy(&a->v.d, &fa.value, 8);
			break;
		default:
			a->type = SR_ATTR_STRING;
			a->v.s = (sr_str_t){ (const char *)p + at + sizeof(fa) + fa.key_len,
					     fa.str_len };
			break;
		}
		f->nres++;
		at += pad8(sizeof(fa) + fa.key_len + fa.str_len);
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	const struct sr__flight_str *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* ---- parse ----------------------------------------------------------------- */

static bool header_ok(struct sr__flight *f, const unsigned char *buf,
		      size_t len)
{
	struct sr__flight_header *h = &f->hdr;

	if (len == 0) {
		why(f, "empty file: no crash was recorded");
		return false;
	}
	if (len < sizeof(*h)) {
		why(f, "not a flight recording: %zu bytes, shorter than its "
		    "%zu-byte header", len, sizeof(*h));
		return false;
	}
	memcpy(h, buf, sizeof(*h));
	if (memcmp(h->magic, SR__FLIGHT_MAGIC, 8) != 0) {
		why(f, "not a flight recording: bad magic");
		return false;
	}
	if (h->version != SR__FLIGHT_VERSION) {
		why(f, "layout version %u, this reader knows %u", h->version,
		    SR__FLIGHT_VERSION);
		return false;
	}
	if (h->byte_order != SR__FLIGHT_BYTE_ORDER ||
	    h->pointer_size != sizeof(void *) ||
	    h->record_size != SR__RECORD_SIZE ||
	    h->header_size != sizeof(*h)) {
		why(f, "written by another kind of machine or build (byte order "
		    "%#x, %u-byte pointers, %u-byte records)", h->byte_order,
		    h->pointer_size, h->record_size);
		return false;
	}
	if (h->clock.shift > 63) {
		why(f, "clock calibration unusable (shift %u): times are off",
		    h->clock.shift);
		h->clock.mult = 0;
		h->clock.shift = 0;
	}
	f->have_hdr = true;
	return true;
}

int sr__flight_parse(struct sr__flight *f, const void *buf, size_t len)
{
	const unsigned char *b = buf;
	struct parse ps = { .f = f };
	uint64_t at;
	uint32_t str_cap = 0;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	for (uint32_t i = 0; i < SR_MAX_TRACERS; i++)
		f->scope_name[i] = f->scope_version[i] = (sr_str_t){ LOST, 6 };
	if (!header_ok(f, b, len))
		return SR_EINVAL;
	ps.cap_records = (uint32_t)((len / SR__RECORD_SIZE) + 1);
	ps.cap_spans = ps.cap_records;
	for (ps.seen_cap = 16; ps.seen_cap < 2 * ps.cap_spans;)
		ps.seen_cap *= 2;
	if (posix_memalign((void **)&f->recs, 64,
			   (size_t)ps.cap_records * SR__RECORD_SIZE) != 0)
		f->recs = NULL;
	f->first = malloc(sizeof(uint32_t) * ps.cap_spans);
	ps.seen = calloc(ps.seen_cap, sizeof(uint32_t));
	if (!f->recs || !f->first || !ps.seen) {
		free(ps.seen);
		return SR_ENOMEM;
	}

	for (at = sizeof(struct sr__flight_header); at < len;) {
		struct sr__flight_section s;
		const unsigned char *body;
		uint64_t blen;

		if (len - at < sizeof(s)) {
			f->truncated = true;
			why(f, "truncated at byte %llu: a section header is cut "
			    "off", (unsigned long long)at);
			break;
		}
		memcpy(&s, b + at, sizeof(s));
		body = b + at + sizeof(s);
		blen = len - at - sizeof(s);
		if (s.len > blen) {
			f->truncated = true;
			why(f, "truncated at byte %llu: section %u wants %llu "
			    "bytes, %llu left (the dump was cut short)",
			    (unsigned long long)at, s.type,
			    (unsigned long long)s.len, (unsigned long long)blen);
		} else {
			blen = s.len;
		}
		if (s.type != SR__FSEC_CHECK)
			flush_pending(&ps, false, 0);
		switch (s.type) {
		case SR__FSEC_RING:
			if (blen >= sizeof(struct sr__flight_ring)) {
				ps.pend = body;
				ps.pend_len = blen;
				ps.pend_type = s.type;
			}
			break;
		case SR__FSEC_BATCH:
			if (blen >= sizeof(struct sr__flight_batch)) {
				ps.pend = body;
				ps.pend_len = blen;
				ps.pend_type = s.type;
			}
			break;
		case SR__FSEC_CHECK:
			if (blen >= sizeof(struct sr__flight_check)) {
				struct sr__flight_check ck;

				memcpy(&ck, body, sizeof(ck));
				if (ps.pend && ps.pend_type == s.arg)
					flush_pending(&ps, true, ck.value);
			}
			break;
		case SR__FSEC_RESOURCE:
			if (!f->res)
				rc = take_resource(f, s.arg, body, blen);
			break;
		case SR__FSEC_SCOPE:
			take_scope(f, s.arg, body, blen);
			break;
		case SR__FSEC_STRING:
			rc = take_string(f, body, blen, &str_cap);
			break;
		case SR__FSEC_END:
			if (blen >= sizeof(f->end)) {
				memcpy(&f->end, body, sizeof(f->end));
				f->have_end = true;
			}
			break;
		default:
			break; /* a newer writer's section: skip it */
		}
		if (rc || f->truncated)
			break;
		at += sizeof(s) + s.len;
	}
	flush_pending(&ps, false, 0);
	free(ps.seen);
	if (rc)
		return rc;
	if (f->strs)
		qsort(f->strs, f->nstrs, sizeof(*f->strs), cmp_str);
	if (!f->have_end)
		why(f, "the dump was cut short (no end mark): what was written "
		    "is recovered");
	return 0;
}

void sr__flight_free(struct sr__flight *f)
{
	free(f->recs);
	free(f->first);
	free(f->strs);
	free(f->res);
	memset(f, 0, sizeof(*f));
}

/* ---- decoding --------------------------------------------------------------- */

sr_str_t sr__flight_string(struct sr__flight *f, const char *addr,
			   uint32_t len)
{
	uint64_t a = (uint64_t)(uintptr_t)addr;
	uint32_t lo = 0, hi = f->nstrs;

	if (!a)
		return (sr_str_t){ "", 0 };
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (f->strs[mid].addr < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < f->nstrs && f->strs[lo].addr == a) {
		const struct sr__flight_str *s = &f->strs[lo];

		if (s->flags & SR__FSTR_UNREADABLE)
			return (sr_str_t){ UNREADABLE, sizeof(UNREADABLE) - 1 };
		return (sr_str_t){ s->bytes, len < s->len ? len : s->len };
	}
	f->strings_missing++;
	return (sr_str_t){ LOST, sizeof(LOST) - 1 };
}

uint64_t sr__flight_tsc_to_ns(const struct sr__flight *f, uint64_t tsc)
{
	const struct sr__clock_params *c = &f->hdr.clock;
	__int128 d = (__int128)((int64_t)(tsc - c->tsc_base)) * (__int128)c->mult;

	return c->ns_base + (uint64_t)(int64_t)(d >> c->shift);
}

int sr__flight_scratch_init(struct sr__scratch *s)
{
	sr_config_t cfg;
	uint64_t bytes = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.max_span_records = SR__MAX_SPAN_RECORDS;
	return sr__scratch_init(s, &cfg, &bytes);
}

void sr__flight_view(struct sr__flight *f, uint32_t start, uint32_t n,
		     struct sr__batch *b, struct sr__scratch *scratch,
		     struct sr_batch *view)
{
	memset(b, 0, sizeof(*b));
	b->records = f->recs;
	b->first = f->first + start;
	b->nspans = n;
	view->b = b;
	view->scratch = scratch;
	view->pipe = NULL;
	view->flight = f;
}
