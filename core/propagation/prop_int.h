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
 * Copy entry `ref` of `kind` into buf (cap bytes); returns its length, or
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

static inline void sr__pc_add(enum sr__pc c, uint64_t n)
{
	struct sr__pc_stripe *s = sr__pc_mine;

	if (SR__LIKELY(s != NULL))
		__atomic_store_n(&s->c[c],
				 __atomic_load_n(&s->c[c], __ATOMIC_RELAXED) + n,
				 __ATOMIC_RELAXED);
	else
		sr__pc_add_slow(c, n);
}
static inline void sr__pc_inc(enum sr__pc c) { sr__pc_add(c, 1); }
uint64_t sr__arena_bytes(void);

/* ---- characters ------------------------------------------------------ */

/* Hex digit value, or 0xff.  sr__hexval_lc accepts only lowercase. */
extern const uint8_t sr__hexval_lc[256];
extern const uint8_t sr__hexval_any[256];
extern const char sr__hexdig[16];

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

/*
 * Decode 2*n hex chars into n bytes with the given table; false on any
 * non-hex char.  Returns, via *nonzero, whether any byte was non-zero.
 */
static inline bool sr__hex_decode(const uint8_t *tab, const char *s,
				  size_t n, uint8_t *out, bool *nonzero)
{
	uint8_t acc = 0, bad = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t hi = tab[(unsigned char)s[2 * i]];
		uint8_t lo = tab[(unsigned char)s[2 * i + 1]];
		bad |= (uint8_t)(hi | lo);
		out[i] = (uint8_t)((hi << 4) | (lo & 0x0f));
		acc |= out[i];
	}
	*nonzero = acc != 0;
	return (bad & 0xf0) == 0; /* 0xff marks a non-hex char */
}

/*
 * SWAR hex: 8 chars <-> 4 bytes in a 64-bit word, for the fixed-width ids
 * on the per-request path (trace ids, span ids).  Range checks add a bias
 * that sets a byte's top bit exactly when the byte is at or past a bound;
 * bytes >= 0x80 are rejected first, so no addition carries into the next
 * byte.  Little-endian layout: the first char is the word's low byte.
 */
#define SR__ONES 0x0101010101010101ull
#define SR__HIGH 0x8080808080808080ull

/* 8 lowercase hex chars to 4 bytes; false if any char is not one. */
static inline bool sr__hex8_lc(const char *s, uint8_t out[4])
{
	uint64_t x, ok, n, t;
	uint32_t v;

	memcpy(&x, s, 8);
	if (x & SR__HIGH)
		return false;
	ok = (((x + SR__ONES * (0x80 - '0')) & ~(x + SR__ONES * (0x80 - '9' - 1))) |
	      ((x + SR__ONES * (0x80 - 'a')) & ~(x + SR__ONES * (0x80 - 'f' - 1)))) &
	     SR__HIGH;
	if (ok != SR__HIGH)
		return false;
	/* '0'-'9' -> 0-9 (bit 6 clear), 'a'-'f' -> 1-6 + 9 (bit 6 set). */
	n = (x & (SR__ONES * 0x0f)) + ((x >> 6) & SR__ONES) * 9;
	/* Pair nibbles into bytes 0, 2, 4, 6, then pack them. */
	t = ((n << 4) | (n >> 8)) & 0x00ff00ff00ff00ffull;
	t = (t | (t >> 8)) & 0x0000ffff0000ffffull;
	t = (t | (t >> 16)) & 0xffffffffull;
	v = (uint32_t)t;
	memcpy(out, &v, 4);
	return true;
}

/* 4 bytes to 8 lowercase hex chars. */
static inline void sr__hex4_enc(const uint8_t in[4], char *out)
{
	uint32_t v;
	uint64_t x, n, c;

	memcpy(&v, in, 4);
	x = v;
	x = (x | (x << 16)) & 0x0000ffff0000ffffull;
	x = (x | (x << 8)) & 0x00ff00ff00ff00ffull;   /* byte 2i = in[i] */
	n = ((x >> 4) & 0x000f000f000f000full) |
	    ((x & 0x000f000f000f000full) << 8);       /* hi, lo nibbles  */
	c = n + SR__ONES * '0' +
	    (((n + SR__ONES * 0x76) >> 7) & SR__ONES) * ('a' - '0' - 10);
	memcpy(out, &c, 8);
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SR__SWAR_HEX 1
#else
#define SR__SWAR_HEX 0
#endif

#if defined(__SSE2__)
#include <emmintrin.h>

/*
 * SSE2 (every x86-64): 16 chars <-> 8 bytes per vector, for the 8- and
 * 16-byte ids.  Signed byte compares reject anything >= 0x80 for free.
 * Loads and stores touch exactly the 16 or 32 chars of the id.
 */
static inline bool sr__hex16_lc_sse2(const char *s, __m128i *pairs)
{
	__m128i c = _mm_loadu_si128((const __m128i *)(const void *)s);
	__m128i dig = _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8('0' - 1)),
				    _mm_cmplt_epi8(c, _mm_set1_epi8('9' + 1)));
	__m128i let = _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8('a' - 1)),
				    _mm_cmplt_epi8(c, _mm_set1_epi8('f' + 1)));
	__m128i n, w;

	if (_mm_movemask_epi8(_mm_or_si128(dig, let)) != 0xffff)
		return false;
	n = _mm_add_epi8(_mm_and_si128(c, _mm_set1_epi8(0x0f)),
			 _mm_and_si128(let, _mm_set1_epi8(9)));
	/* 16-bit lanes hold (first, second) nibble: make first<<4|second. */
	w = _mm_or_si128(_mm_slli_epi16(n, 4), _mm_srli_epi16(n, 8));
	*pairs = _mm_and_si128(w, _mm_set1_epi16(0x00ff));
	return true;
}

static inline __m128i sr__hex_ascii_sse2(__m128i n)
{
	__m128i gt9 = _mm_cmpgt_epi8(n, _mm_set1_epi8(9));

	return _mm_add_epi8(_mm_add_epi8(n, _mm_set1_epi8('0')),
			    _mm_and_si128(gt9, _mm_set1_epi8('a' - '0' - 10)));
}

/* 8 or 16 bytes -> 16 or 32 chars. */
static inline void sr__hex_encode_sse2(const uint8_t *in, size_t n, char *out)
{
	__m128i v = n == 16 ? _mm_loadu_si128((const __m128i *)(const void *)in)
			    : _mm_loadl_epi64((const __m128i *)(const void *)in);
	__m128i lo = _mm_and_si128(v, _mm_set1_epi8(0x0f));
	__m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(0x0f));

	_mm_storeu_si128((__m128i *)(void *)out,
			 sr__hex_ascii_sse2(_mm_unpacklo_epi8(hi, lo)));
	if (n == 16)
		_mm_storeu_si128((__m128i *)(void *)(out + 16),
				 sr__hex_ascii_sse2(_mm_unpackhi_epi8(hi, lo)));
}
#endif

/* Lowercase hex of n bytes (2n chars), the fast way for ids. */
static inline bool sr__hex_decode_lc(const char *s, size_t n, uint8_t *out,
				     bool *nonzero)
{
#if defined(__SSE2__)
	if (n == 8 || n == 16) {
		__m128i a, b, z, p;

		if (!sr__hex16_lc_sse2(s, &a))
			return false;
		if (n == 16) {
			if (!sr__hex16_lc_sse2(s + 16, &b))
				return false;
			p = _mm_packus_epi16(a, b);
			_mm_storeu_si128((__m128i *)(void *)out, p);
		} else {
			p = _mm_packus_epi16(a, a);
			_mm_storel_epi64((__m128i *)(void *)out, p);
		}
		z = _mm_cmpeq_epi8(p, _mm_setzero_si128());
		*nonzero = (_mm_movemask_epi8(z) & (n == 16 ? 0xffff : 0xff)) !=
			   (n == 16 ? 0xffff : 0xff);
		return true;
	}
#endif
	if (SR__SWAR_HEX && n % 4 == 0) {
		uint8_t acc = 0;
		for (size_t i = 0; i < n; i += 4) {
			if (!sr__hex8_lc(s + 2 * i, out + i))
				return false;
			acc |= (uint8_t)(out[i] | out[i + 1] | out[i + 2] |
					 out[i + 3]);
		}
		*nonzero = acc != 0;
		return true;
	}
	return sr__hex_decode(sr__hexval_lc, s, n, out, nonzero);
}

static inline void sr__hex_encode(const uint8_t *in, size_t n, char *out)
{
	const uint8_t *end = in + n;

#if defined(__SSE2__)
	if (n == 8 || n == 16) {
		sr__hex_encode_sse2(in, n, out);
		return;
	}
#endif
	if (SR__SWAR_HEX)
		for (; end - in >= 4; in += 4, out += 8)
			sr__hex4_enc(in, out);
	for (; in < end; in++, out += 2) {
		out[0] = sr__hexdig[*in >> 4];
		out[1] = sr__hexdig[*in & 0x0f];
	}
}

static inline bool sr__ids_nonzero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc != 0;
}

/* The context has ids to inject (sr_context_is_valid() without needing
 * the core). */
static inline bool sr__ctx_has_ids(const sr_context_t *c)
{
	return sr__ids_nonzero(c->trace_id, 16) && sr__ids_nonzero(c->span_id, 8);
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
extern const uint8_t sr__baggage_octet[256];
extern const uint8_t sr__tchar[256];

/* ---- extract / inject drivers (propagator.c) ----------------------- */

/* Working state of one extract call. */
struct sr__xstate {
	void *carrier;
	const sr_carrier_getter_t *g;
	sr_context_t *out;
	sr_extract_info_t *info;
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
		sr__pc_inc((enum sr__pc)(SR__PC_OK0 + field));
		return;
	}
	if (r == SR__PR_ABSENT)
		return;
	if (field == SR_PF_TRACEPARENT || field == SR_PF_B3 ||
	    field == SR_PF_B3MULTI || field == SR_PF_JAEGER)
		x->trace_bad = true;
	x->info->dropped |= SR_EXTRACT_DROPPED(field);
	if (r == SR__PR_MALFORMED) {
		sr__pc_inc((enum sr__pc)(SR__PC_MALFORMED0 + field));
		x->info->malformed |= format;
	} else {
		sr__pc_inc((enum sr__pc)(SR__PC_OVERSIZED0 + field));
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
