/*
 * spanring/static/span_inline.h - the span calls' inline fast paths, and
 * the part of the ABI they bake into an application.
 *
 * <spanring/spanring.h> includes this header unless SR_NO_INLINE is
 * defined, and then maps each span call (sr_span_start, ..., sr_span_end)
 * to its function here (sr__inline_span_start, ..., sr__inline_span_end),
 * as liburcu maps rcu_read_lock to urcu/static's _rcu_read_lock under
 * _LGPL_SOURCE.  The fast paths do the common work without a call: a
 * program whose pipeline is not running pays a load and a branch per call,
 * an unsampled span skips its attribute calls and its end entirely, and a
 * sampled span's attributes (numbers, bools, static strings, copied
 * strings of up to 40 bytes) are written straight into the span while it
 * has inline room under its limits.  Everything else goes to the sr__span_*
 * entry points below.
 *
 * What an application compiled with this header depends on (the ABI, see
 * docs/abi.md; the library asserts all of it at build time, and changing
 * any of it changes the soname):
 *   - the sr__ entry points declared below and the sr__active flag: they
 *     are exported and versioned like the public calls, but they are not
 *     API: call the sr_span_* names;
 *   - part of sr_span_t's layout: the bytes at the SR__SPAN_*_AT offsets
 *     and the attribute slot format:
 *
 *   SR__SPAN_STATE_AT     state: 0 off, CONTEXT, RECORDING, 3 ended
 *   SR__SPAN_FAST_END_AT  attributes may be appended inline while the
 *                         slot count is below this (0 unless recording)
 *   SR__SPAN_NSLOTS_AT    uint16 slot count; slot i at
 *                         SR__SPAN_SLOTS_AT + i * SR__SPAN_SLOT_SIZE
 *
 *   slot (32 bytes): head word (kind, value type, count, string length),
 *   key pointer, value word, 8 bytes of a short copied string.  A copied
 *   string of 9 to 40 bytes continues into the next slot, whole (the
 *   record layout's continuation slot).
 *
 * An application that defines SR_NO_INLINE never includes this header:
 * its span calls are calls to the exported sr_span_* functions, and only
 * sr_span_t's size and alignment remain baked in.
 *
 * Include <spanring/spanring.h>, not this header; it compiles alone only
 * so that it is self-contained.
 */
/* Before the guard: included first, this header is included again from
 * spanring.h, and the fast paths must be complete before spanring.h's
 * own inline helpers (macros.h) use them. */
#include <spanring/spanring.h>

#ifndef SPANRING_STATIC_SPAN_INLINE_H
#define SPANRING_STATIC_SPAN_INLINE_H

#include <assert.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SR__SPAN_STATE_AT 512
#define SR__SPAN_FAST_END_AT 513
#define SR__SPAN_NSLOTS_AT 514
#define SR__SPAN_SLOTS_AT 64
#define SR__SPAN_SLOT_SIZE 32
#define SR__SPAN_CONTEXT 1      /* started, not sampled: context only */
#define SR__SPAN_RECORDING 2    /* sampled and open                   */
#define SR__SPAN_ITEM_ATTR 1
#define SR__SPAN_ITEM_INL_AT 24 /* a copied string's bytes in its slot */
#define SR__SPAN_ITEM_INL_MAX 8
/* The longest copied string written inline: its first slot's bytes and
 * one continuation slot. */
#define SR__SPAN_ITEM_INL2_MAX (SR__SPAN_ITEM_INL_MAX + SR__SPAN_SLOT_SIZE)
/* Casts that are C casts in C and named casts in C++ (where an
 * application may build with -Wold-style-cast).  SR__PUN reinterprets a
 * pointer (via void * in C, which keeps -Wcast-align quiet); SR__CAST
 * converts a value. */
#ifdef __cplusplus
#define SR__CAST(T, x) static_cast<T>(x)
#define SR__PUN(T, p) reinterpret_cast<T>(p)
#define SR__CPUN(T, p) reinterpret_cast<T>(p)
#else
#define SR__CAST(T, x) ((T)(x))
#define SR__PUN(T, p) ((T)(void *)(p))
#define SR__CPUN(T, p) ((T)(const void *)(p))
#endif
#if defined(__GNUC__) || defined(__clang__)
#define SR__EXPECT(x, v) __builtin_expect((x), (v))
#else
#define SR__EXPECT(x, v) (x)
#endif

/* An attribute item slot: kind, value type, (unused) count, the length
 * of a string value; key; value; a short copied string's bytes. */
struct sr__item_head {
	uint8_t kind;
	uint8_t vtype;
	uint16_t count;
	uint32_t len;
};
struct sr__slot {
	uint64_t head;          /* struct sr__item_head, as one word */
	const char *key;
	uint64_t v;
	char inl[SR__SPAN_ITEM_INL_MAX];
};

/* The bytes at SR__SPAN_STATE_AT.  Typed access (not byte copies) lets
 * the compiler keep nslots in a register across a run of attribute
 * calls: slot stores of other types cannot alias it. */
struct sr__span_tail {
	uint8_t state;
	uint8_t fast_end;
	uint16_t nslots;
};

static inline struct sr__span_tail *sr__tail(sr_span_t *span)
{
	return SR__PUN(struct sr__span_tail *, span->opaque_ + SR__SPAN_STATE_AT);
}

static inline bool sr__span_recording(const sr_span_t *span)
{
	return SR__CPUN(const struct sr__span_tail *,
			span->opaque_ + SR__SPAN_STATE_AT)
		       ->state == SR__SPAN_RECORDING;
}

/* A span that is off: state, fast_end and slot count all 0 (one store,
 * which the compiler then knows: the calls that follow fold away). */
static inline void sr__span_off(sr_span_t *span)
{
	struct sr__span_tail *t = sr__tail(span);

	t->state = 0;
	t->fast_end = 0;
	t->nslots = 0;
}

/*
 * ABI entry points.  Exported and versioned like the public calls, but
 * not API: only the fast paths below call them.
 *
 * sr__active is non-zero while a pipeline runs.  The library writes it at
 * sr_init() and sr_shutdown() (lifecycle lock held); the fast paths read
 * it with a relaxed atomic load, which orders nothing: a span started
 * with a value read as the pipeline stops carries a generation that no
 * longer matches and is ignored at its end.
 */
extern SR_API int sr__active;

SR_API void sr__span_start(sr_span_t *span, const sr_tracer_t *tracer,
			   const char *name, sr_span_kind_t kind);
SR_API void sr__span_start_ex(sr_span_t *span, const sr_tracer_t *tracer,
			      const char *name, sr_span_kind_t kind,
			      const sr_context_t *parent, uint64_t start_ns,
			      unsigned flags);
SR_API void sr__span_set_bool(sr_span_t *span, const char *key, bool v);
SR_API void sr__span_set_int(sr_span_t *span, const char *key, int64_t v);
SR_API void sr__span_set_double(sr_span_t *span, const char *key, double v);
SR_API void sr__span_set_strn(sr_span_t *span, const char *key,
			      const char *v, size_t len);
SR_API void sr__span_set_str_static(sr_span_t *span, const char *key,
				    const char *v);
SR_API void sr__span_add_event(sr_span_t *span, const char *name,
			       uint64_t ts_ns, const sr_attr_t *attrs, size_t n);
SR_API void sr__span_end(sr_span_t *span);
SR_API void sr__span_end_at(sr_span_t *span, uint64_t end_ns);

/* The next slot if an attribute may be appended inline, else NULL. */
static inline struct sr__slot *sr__span_slot(sr_span_t *span)
{
	struct sr__span_tail *t = sr__tail(span);
	uint16_t n = t->nslots;

	if (SR__EXPECT(n < t->fast_end, 1)) {
		t->nslots = SR__CAST(uint16_t, n + 1);
		return SR__PUN(struct sr__slot *,
			       span->opaque_ + SR__SPAN_SLOTS_AT +
				       SR__CAST(size_t, n) * SR__SPAN_SLOT_SIZE);
	}
	return NULL;
}

/* The first of the next two slots if a string attribute that continues
 * into a second slot may be appended inline, else NULL. */
static inline struct sr__slot *sr__span_slot2(sr_span_t *span)
{
	struct sr__span_tail *t = sr__tail(span);
	uint16_t n = t->nslots;

	if (SR__EXPECT(n + 2 <= t->fast_end, 1)) {
		t->nslots = SR__CAST(uint16_t, n + 2);
		return SR__PUN(struct sr__slot *,
			       span->opaque_ + SR__SPAN_SLOTS_AT +
				       SR__CAST(size_t, n) * SR__SPAN_SLOT_SIZE);
	}
	return NULL;
}

/* The head of an attribute item as one word: a 64-bit store, which
 * (unlike a store of byte-sized fields) cannot alias nslots. */
static inline uint64_t sr__slot_head(uint8_t vtype, uint32_t len)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return SR__CAST(uint64_t, SR__SPAN_ITEM_ATTR) << 56 |
	       SR__CAST(uint64_t, vtype) << 48 | SR__CAST(uint64_t, len);
#else
	return SR__CAST(uint64_t, SR__SPAN_ITEM_ATTR) |
	       SR__CAST(uint64_t, vtype) << 8 | SR__CAST(uint64_t, len) << 32;
#endif
}

static inline void sr__slot_put(struct sr__slot *slot, uint8_t vtype,
				const char *key, uint64_t v)
{
	slot->head = sr__slot_head(vtype, 0);
	slot->key = key;
	slot->v = v;
}

/* Copy n <= 8 bytes: a constant n becomes a move or two; otherwise
 * overlapping fixed-size moves, never reading outside [src, src + n). */
static inline void sr__copy_short(void *dst, const char *src, size_t n)
{
	unsigned char *d = SR__CAST(unsigned char *, dst);

	if (__builtin_constant_p(n)) {
		__builtin_memcpy(d, src, n);
	} else if (n >= 4) {
		uint32_t a, b;

		__builtin_memcpy(&a, src, 4);
		__builtin_memcpy(&b, src + n - 4, 4);
		__builtin_memcpy(d, &a, 4);
		__builtin_memcpy(d + n - 4, &b, 4);
	} else if (n) {
		d[0] = SR__CAST(unsigned char, src[0]);
		d[n / 2] = SR__CAST(unsigned char, src[n / 2]);
		d[n - 1] = SR__CAST(unsigned char, src[n - 1]);
	}
}

/* Copy 8 < n <= 40 bytes the same way: two overlapping moves of 8, 16
 * or 32 bytes, never reading outside [src, src + n); the destination
 * (a slot's bytes and its continuation slot) has room for all 40. */
static inline void sr__copy_medium(void *dst, const char *src, size_t n)
{
	unsigned char *d = SR__CAST(unsigned char *, dst);

	if (__builtin_constant_p(n)) {
		__builtin_memcpy(d, src, n);
	} else if (n <= 16) {
		uint64_t a, b;

		__builtin_memcpy(&a, src, 8);
		__builtin_memcpy(&b, src + n - 8, 8);
		__builtin_memcpy(d, &a, 8);
		__builtin_memcpy(d + n - 8, &b, 8);
	} else if (n <= 32) {
		struct { uint64_t w[2]; } a, b;

		__builtin_memcpy(&a, src, 16);
		__builtin_memcpy(&b, src + n - 16, 16);
		__builtin_memcpy(d, &a, 16);
		__builtin_memcpy(d + n - 16, &b, 16);
	} else {
		struct { uint64_t w[4]; } a;
		uint64_t b;

		__builtin_memcpy(&a, src, 32);
		__builtin_memcpy(&b, src + n - 8, 8);
		__builtin_memcpy(d, &a, 32);
		__builtin_memcpy(d + n - 8, &b, 8);
	}
}

static inline void
sr__inline_span_start(sr_span_t *span, const sr_tracer_t *tracer,
		      const char *name, sr_span_kind_t kind)
{
	assert(span != NULL); /* the fast paths' precondition */
	/* Name and kind made valid here, where they are usually constants. */
	if (SR__EXPECT(__atomic_load_n(&sr__active, __ATOMIC_RELAXED), 1))
		sr__span_start(span, tracer, name ? name : "",
			       SR__CAST(unsigned, kind) - 1u < 5u ? kind : SR_KIND_INTERNAL);
	else
		sr__span_off(span);
}

static inline void
sr__inline_span_start_ex(sr_span_t *span, const sr_tracer_t *tracer,
			 const char *name, sr_span_kind_t kind,
			 const sr_context_t *parent, uint64_t start_ns,
			 unsigned flags)
{
	assert(span != NULL); /* the fast paths' precondition */
	if (SR__EXPECT(__atomic_load_n(&sr__active, __ATOMIC_RELAXED), 1))
		sr__span_start_ex(span, tracer, name, kind, parent, start_ns, flags);
	else
		sr__span_off(span);
}

static inline void
sr__inline_span_set_bool(sr_span_t *span, const char *key, bool v)
{
	assert(span != NULL); /* the fast paths' precondition */
	struct sr__slot *slot = sr__span_slot(span);

	if (SR__EXPECT(slot != NULL, 1))
		sr__slot_put(slot, SR_ATTR_BOOL, key, v ? 1 : 0);
	else if (sr__span_recording(span))
		sr__span_set_bool(span, key, v);
}
static inline void
sr__inline_span_set_int(sr_span_t *span, const char *key, int64_t v)
{
	assert(span != NULL); /* the fast paths' precondition */
	struct sr__slot *slot = sr__span_slot(span);

	if (SR__EXPECT(slot != NULL, 1))
		sr__slot_put(slot, SR_ATTR_INT, key, SR__CAST(uint64_t, v));
	else if (sr__span_recording(span))
		sr__span_set_int(span, key, v);
}
static inline void
sr__inline_span_set_double(sr_span_t *span, const char *key, double v)
{
	assert(span != NULL); /* the fast paths' precondition */
	struct sr__slot *slot = sr__span_slot(span);
	uint64_t bits;

	__builtin_memcpy(&bits, &v, sizeof(bits));
	if (SR__EXPECT(slot != NULL, 1))
		sr__slot_put(slot, SR_ATTR_DOUBLE, key, bits);
	else if (sr__span_recording(span))
		sr__span_set_double(span, key, v);
}
static inline void
sr__inline_span_set_strn(sr_span_t *span, const char *key, const char *v,
			 size_t len)
{
	assert(span != NULL); /* the fast paths' precondition */
	struct sr__slot *slot;

	/* The value word stays unwritten: a copied string's bytes are in
	 * inl (and the continuation slot), and nothing reads v. */
	if (len <= SR__SPAN_ITEM_INL_MAX && v &&
	    SR__EXPECT((slot = sr__span_slot(span)) != NULL, 1)) {
		slot->head = sr__slot_head(SR_ATTR_STRING, SR__CAST(uint32_t, len));
		slot->key = key;
		sr__copy_short(slot->inl, v, len);
	} else if (len <= SR__SPAN_ITEM_INL2_MAX && len > SR__SPAN_ITEM_INL_MAX &&
		   v && SR__EXPECT((slot = sr__span_slot2(span)) != NULL, 1)) {
		slot->head = sr__slot_head(SR_ATTR_STRING, SR__CAST(uint32_t, len));
		slot->key = key;
		/* From the slot's address: the bytes run past inl[]. */
		sr__copy_medium(SR__PUN(unsigned char *, slot) + SR__SPAN_ITEM_INL_AT,
				v, len);
	} else if (sr__span_recording(span)) {
		sr__span_set_strn(span, key, v, len);
	}
}
static inline void
sr__inline_span_set_str(sr_span_t *span, const char *key, const char *v)
{
	assert(span != NULL); /* the fast paths' precondition */
	/* strlen here, where a literal's length is a constant. */
	sr__inline_span_set_strn(span, key, v ? v : "", sr__strlen(v));
}
static inline void
sr__inline_span_set_str_static(sr_span_t *span, const char *key, const char *v)
{
	assert(span != NULL); /* the fast paths' precondition */
	struct sr__slot *slot = sr__span_slot(span);

	if (SR__EXPECT(slot != NULL, 1)) {
		if (!v)
			v = "";
		slot->head = sr__slot_head(SR_ATTR_STRING_STATIC,
					   SR__CAST(uint32_t, sr__strlen(v)));
		slot->key = key;
		slot->v = SR__CAST(uint64_t, SR__CPUN(uintptr_t, v));
	} else if (sr__span_recording(span)) {
		sr__span_set_str_static(span, key, v);
	}
}

static inline void
sr__inline_span_add_event(sr_span_t *span, const char *name, uint64_t ts_ns,
			  const sr_attr_t *attrs, size_t n)
{
	assert(span != NULL); /* the fast paths' precondition */
	if (sr__span_recording(span))
		sr__span_add_event(span, name, ts_ns, attrs, n);
}

static inline void
sr__inline_span_end(sr_span_t *span)
{
	assert(span != NULL); /* the fast paths' precondition */
	if (SR__EXPECT(sr__span_recording(span), 1))
		sr__span_end(span);
}
static inline void
sr__inline_span_end_at(sr_span_t *span, uint64_t end_ns)
{
	assert(span != NULL); /* the fast paths' precondition */
	if (SR__EXPECT(sr__span_recording(span), 1))
		sr__span_end_at(span, end_ns);
}

#ifdef __cplusplus
}
#endif

#endif /* SPANRING_STATIC_SPAN_INLINE_H */
