/*
 * arena.c - the context arena: fixed memory holding the trace state and
 * baggage that contexts refer to through sr_context_t.state_[].
 *
 * A context is a plain value copied freely between threads, with no
 * destructor, so nothing can count its references.  The arena therefore
 * never frees an entry: it is one mapping, cut into NSEG segments, filled
 * front to back by a lock-free bump allocator and reused round-robin.
 * Reusing a segment first raises its generation, which invalidates every
 * reference into its previous life; a reference names the generation it
 * was written in, so a reader of an overwritten entry sees "absent"
 * (counted as arena_stale) instead of someone else's bytes.  Entries are
 * immutable once their reference has been handed out, so a context can
 * be read on any thread, later, e.g. by the drainer at export time.
 *
 *   mapping:  | struct arena (header, 1 page) | seg 0 | seg 1 | ... |
 *   entry:    | word0: len | kind | epoch tag | word1: checksum | payload, 8-aligned |
 *   reference (uint64, never 0):
 *             | epoch (32) | offset / 8 (24) | kind (8) |
 *
 * Lifetime: an entry survives until about (NSEG - 1) / NSEG of the arena
 * has been written after it.  With the default 4 MiB and 200-byte trace
 * states that is ~20000 extracts: the drainer resolves a span's trace
 * state within a batch interval, far sooner at any realistic rate (see
 * docs/propagation.md for the sizing rule).
 *
 * Readers copy (they never hand out pointers into the arena) with a
 * seqlock-style check: generation before, copy, acquire fence, generation
 * after.  A writer that was preempted between allocating and writing
 * could, if the arena wrapped all the way round meanwhile, scribble over
 * a newer entry at the same place; each entry therefore carries a
 * checksum of its payload that readers verify, so such an entry also
 * reads as stale rather than as wrong text.
 *
 * Left out: no deduplication of equal values (children share their
 * parent's reference, which covers the common case); the arena is never
 * unmapped (it is per process, like the tracer table).
 */
#include "prop_int.h"

#include <errno.h>
#include <ck_pr.h>
#include <stdlib.h>
#include <sys/mman.h>

#define ARENA_DEFAULT_BYTES (4u << 20)
#define ARENA_MIN_BYTES (64u << 10)
#define ARENA_MAX_BYTES (1ull << 30)
#define ARENA_MAX_SEGS 64u
#define ARENA_MIN_SEG (16u << 10)
#define ARENA_HDR_BYTES 4096u
#define ENTRY_HDR 16u
#define ARENA_FAILED ((struct arena *)1)

struct arena {
	/* Geometry: written once before the arena is published, then
	 * read-only. */
	uint64_t bytes;          /* segment bytes in total               */
	uint32_t seg_bytes;      /* multiple of 8, >= ENTRY_HDR + max entry */
	uint32_t nseg;
	unsigned char *data;     /* nseg * seg_bytes                     */

	/* Allocation cursor, (epoch << 32) | offset in the current segment.
	 * Every allocating thread CASes it (acq_rel); on its own cache line
	 * because it is the one contended word. */
	_Alignas(64) uint64_t cur;

	/* gen[s]: epoch that segment s currently holds.  Raised (CAS, never
	 * lowered) by the allocator that opens the epoch, before its CAS on
	 * `cur` publishes the epoch (release), so no writer of the new epoch
	 * can write before the raise is visible.  Readers load it before
	 * (acquire) and after (after an acquire fence) copying an entry. */
	_Alignas(64) uint32_t gen[ARENA_MAX_SEGS];
};
_Static_assert(sizeof(struct arena) <= ARENA_HDR_BYTES, "arena header");

/* Published once by CAS from NULL (release); read with acquire. */
static struct arena *g_arena;

/* ---- setup ----------------------------------------------------------- */

static uint64_t arena_size_from_env(void)
{
	const char *e = getenv("SPANRING_CONTEXT_ARENA_BYTES");
	char *end;
	unsigned long long v;

	if (!e || !*e)
		return ARENA_DEFAULT_BYTES;
	errno = 0;
	v = strtoull(e, &end, 0);
	if (errno || end == e)
		return ARENA_DEFAULT_BYTES;
	switch (*end) {  /* optional K / M / G suffix */
	case 'k': case 'K': v <<= 10; break;
	case 'm': case 'M': v <<= 20; break;
	case 'g': case 'G': v <<= 30; break;
	default: break;
	}
	if (v < ARENA_MIN_BYTES)
		v = ARENA_MIN_BYTES;
	if (v > ARENA_MAX_BYTES)
		v = ARENA_MAX_BYTES;
	return v;
}

static struct arena *arena_create(void)
{
	uint64_t want = arena_size_from_env();
	uint64_t seg = want / ARENA_MAX_SEGS;
	uint32_t nseg;
	unsigned char *m;
	struct arena *a;

	seg &= ~(uint64_t)4095;
	if (seg < ARENA_MIN_SEG)
		seg = ARENA_MIN_SEG;
	nseg = (uint32_t)(want / seg);
	if (nseg < 4)
		nseg = 4;
	if (nseg > ARENA_MAX_SEGS)
		nseg = ARENA_MAX_SEGS;

	/* MAP_NORESERVE: pages are touched only as entries are written. */
	m = mmap(NULL, ARENA_HDR_BYTES + (size_t)seg * nseg,
		 PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	a = (struct arena *)m;
	a->bytes = seg * nseg;
	a->seg_bytes = (uint32_t)seg;
	a->nseg = nseg;
	a->data = m + ARENA_HDR_BYTES;
	/* Epoch 1 lives in segment 1 % nseg; every other segment holds an
	 * epoch no reference can name (0). */
	a->cur = (uint64_t)1 << 32;
	a->gen[1 % nseg] = 1;
	return a;
}

static struct arena *arena_get_slow(void)
{
	struct arena *a = arena_create(), *expect = NULL;

	if (!a)
		a = ARENA_FAILED;
	/* Release: publishes the geometry written in arena_create(); pairs
	 * with the acquire load in arena_get().  A loser unmaps its copy. */
	if (!__atomic_compare_exchange_n(&g_arena, &expect, a, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		if (a != ARENA_FAILED)
			munmap(a, ARENA_HDR_BYTES + a->bytes);
		a = expect;
	}
	return a == ARENA_FAILED ? NULL : a;
}

static inline struct arena *arena_get(bool create)
{
	struct arena *a = __atomic_load_n(&g_arena, __ATOMIC_ACQUIRE);

	if (SR__LIKELY(a && a != ARENA_FAILED))
		return a;
	if (a == ARENA_FAILED || !create)
		return NULL;
	return arena_get_slow();
}

uint64_t sr__arena_bytes(void)
{
	struct arena *a = arena_get(false);
	return a ? a->bytes : 0;
}

/* ---- checksum -------------------------------------------------------- */

/*
 * One multiply-xorshift lane over the payload words as stored (zero-padded
 * past len), folded in while the words are written and while they are
 * read, then mixed once.  It need not resist an adversary (the data comes
 * from this process), only catch a torn overwrite; trace states are two or
 * three words, so a pass of its own and per-lane setup would cost more
 * than the words.
 */
#define SUM_K 0x9e3779b97f4a7c15ull

static inline uint64_t sum_step(uint64_t h, uint64_t w)
{
	h = (h ^ w) * SUM_K;
	return h ^ (h >> 29);
}

static inline uint64_t sum_final(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static inline uint64_t sum_seed(uint32_t e, uint32_t off, uint32_t len)
{
	return ((uint64_t)e << 32) ^ off ^ (uint64_t)len;
}

/* The i-th 8-byte word of (p, len), zero-padded past len, as memcpy into
 * a zeroed word would give it, without a variable-length memcpy call:
 * whole words load directly, a tail of 4..7 bytes as two overlapping
 * 4-byte loads, a shorter one bytewise.  Never reads outside (p, len). */
static inline uint64_t word_at(const unsigned char *p, size_t len, size_t i)
{
	size_t o = i * 8, n = len - o;
	uint64_t w = 0;

	if (n >= 8) {
		memcpy(&w, p + o, 8);
		return w;
	}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	p += o;
	if (n >= 4) {
		uint32_t lo, hi;

		memcpy(&lo, p, 4);
		memcpy(&hi, p + n - 4, 4);
		/* Bytes n-4 .. 3 are in both, with the same values. */
		return (uint64_t)lo | (uint64_t)hi << (8 * (n - 4));
	}
	return (uint64_t)p[0] | (uint64_t)p[n / 2] << (8 * (n / 2)) |
	       (uint64_t)p[n - 1] << (8 * (n - 1));
#else
	memcpy(&w, p + o, n);
	return w;
#endif
}

/* ---- write ----------------------------------------------------------- */

/* Raise gen[s] to at least e (never lower it: a slow thread may arrive
 * with an old epoch after the segment moved on). */
static void gen_raise(uint32_t *g, uint32_t e)
{
	uint32_t old = __atomic_load_n(g, __ATOMIC_RELAXED);

	while ((int32_t)(e - old) > 0 &&
	       !__atomic_compare_exchange_n(g, &old, e, true, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

/* Reserve `need` bytes; returns the epoch (0 on failure) and *off. */
static uint32_t arena_alloc(struct arena *a, uint32_t need, uint32_t *off)
{
	uint64_t v = __atomic_load_n(&a->cur, __ATOMIC_RELAXED), nv;

	for (int tries = 0; tries < 64; tries++) {
		uint32_t e = (uint32_t)(v >> 32), o = (uint32_t)v;
		uint32_t ne = e, no = o;

		if (o + (uint64_t)need <= a->seg_bytes) {
			nv = v + need;
		} else {
			ne = e + 1;
			if (ne == 0)  /* after 2^32 segments: skip epoch 0 */
				ne = 1;
			no = 0;
			nv = ((uint64_t)ne << 32) | need;
			/* Invalidate the segment's old references before the
			 * CAS below (release) publishes the new epoch. */
			gen_raise(&a->gen[ne % a->nseg], ne);
		}
		if (__atomic_compare_exchange_n(&a->cur, &v, nv, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED)) {
			if (ne != e)
				sr__pc_inc(SR__PC_ARENA_RECYCLED);
			*off = no;
			return ne;
		}
	}
	return 0; /* only under extreme contention; the caller counts it */
}

uint64_t sr__arena_put(enum sr__arena_kind kind, const void *data,
		       size_t len)
{
	const unsigned char *src = data;
	struct arena *a;
	uint32_t off, e, need;
	size_t nwords = (len + 7) / 8;
	uint64_t *dst, sum;

	if (len == 0 || len > SR__ARENA_MAX_ENTRY)
		goto fail;
	a = arena_get(true);
	if (!a)
		goto fail;
	need = ENTRY_HDR + (uint32_t)nwords * 8;
	e = arena_alloc(a, need, &off);
	if (!e)
		goto fail;

	dst = (uint64_t *)(a->data + (size_t)(e % a->nseg) * a->seg_bytes +
			   off);
	/* Release fence: orders the generation raise (which happens-before
	 * our CAS read of the epoch) before the relaxed stores below, for a
	 * reader that reads one of them and then fences (acquire) and
	 * rechecks the generation.  The classic seqlock writer barrier. */
	ck_pr_fence_release();
	__atomic_store_n(&dst[0],
			 (uint64_t)len | ((uint64_t)kind << 32) |
				 ((uint64_t)(e & 0xffffff) << 40),
			 __ATOMIC_RELAXED);
	/* The order of these relaxed stores does not matter: a reader
	 * checks them all against the generation and the checksum. */
	sum = sum_seed(e, off, (uint32_t)len);
	for (size_t i = 0; i < nwords; i++) {
		uint64_t w = word_at(src, len, i);

		sum = sum_step(sum, w);
		__atomic_store_n(&dst[2 + i], w, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&dst[1], sum_final(sum), __ATOMIC_RELAXED);
	sr__pc_inc(SR__PC_ARENA_ALLOCS);
	/* The reference reaches other threads inside a context, through
	 * whatever hand-off the application uses (a queue, the span ring):
	 * that hand-off's release/acquire orders these stores before any
	 * read through the reference. */
	return ((uint64_t)e << 32) | ((uint64_t)(off / 8) << 8) | kind;
fail:
	sr__pc_inc(SR__PC_ARENA_FAILED);
	return 0;
}

/* ---- read ------------------------------------------------------------ */

int sr__arena_get(uint64_t ref, enum sr__arena_kind kind, void *buf,
		  size_t cap)
{
	unsigned char *dst = buf;
	struct arena *a;
	uint32_t e = (uint32_t)(ref >> 32), off = ((uint32_t)ref >> 8) * 8;
	uint32_t s, len;
	uint64_t hdr, sum, h;
	const uint64_t *src;
	size_t nwords, whole;

	if (!ref)
		return -1;
	a = arena_get(false);
	if (!a || (ref & 0xff) != (uint64_t)kind || e == 0)
		goto stale;
	s = e % a->nseg;
	if (off + (uint64_t)ENTRY_HDR > a->seg_bytes)
		goto stale;
	/* Acquire: pairs with gen_raise + the allocator's release CAS. */
	if (__atomic_load_n(&a->gen[s], __ATOMIC_ACQUIRE) != e)
		goto stale;
	src = (const uint64_t *)(a->data + (size_t)s * a->seg_bytes + off);
	hdr = __atomic_load_n(&src[0], __ATOMIC_RELAXED);
	sum = __atomic_load_n(&src[1], __ATOMIC_RELAXED);
	len = (uint32_t)hdr;
	if (((hdr >> 32) & 0xff) != (uint64_t)kind ||
	    (hdr >> 40) != (e & 0xffffff) || len == 0 ||
	    len > SR__ARENA_MAX_ENTRY ||
	    off + (uint64_t)ENTRY_HDR + len > a->seg_bytes)
		goto stale;
	if (len > cap)
		return -1;
	nwords = (len + 7) / 8;
	/* Whole words into buf while they fit in cap (a caller's buffer is
	 * usually the field's maximum), the last one cut to len otherwise. */
	whole = nwords * 8 <= cap ? nwords : len / 8;
	h = sum_seed(e, off, len);
	for (size_t i = 0; i < nwords; i++) {
		uint64_t w = __atomic_load_n(&src[2 + i], __ATOMIC_RELAXED);

		h = sum_step(h, w);
		if (i < whole)
			memcpy(dst + i * 8, &w, 8);
		else
			memcpy(dst + i * 8, &w, len - i * 8);
	}
	/* Acquire fence, then recheck: if any word above came from a newer
	 * life of the segment, the raise of its generation is visible now
	 * (pairs with the writer's release fence in sr__arena_put).  The
	 * checksum catches a writer of an older life that stored late. */
	ck_pr_fence_acquire();
	if (__atomic_load_n(&a->gen[s], __ATOMIC_RELAXED) != e ||
	    sum_final(h) != sum)
		goto stale;
	return (int)len;
stale:
	sr__pc_inc(SR__PC_ARENA_STALE);
	return -1;
}

/* ---- the core's hook -------------------------------------------------- */

/*
 * The drainer / exporter resolves a span's TRACESTATE item here.  The text
 * is copied into a per-thread buffer: out->ptr stays valid until the next
 * sr__tracestate_resolve() call on the same thread.
 */
static SR__TLS char t_resolve_buf[SR_TRACESTATE_MAX_BYTES];

bool sr__tracestate_resolve(uint64_t ref, sr_str_t *out)
{
	int n = sr__arena_get(ref, SR__ARENA_TRACESTATE, t_resolve_buf,
			      sizeof(t_resolve_buf));

	if (n <= 0) {
		out->ptr = "";
		out->len = 0;
		return false;
	}
	out->ptr = t_resolve_buf;
	out->len = (uint32_t)n;
	return true;
}
