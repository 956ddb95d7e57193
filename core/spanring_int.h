/*
 * spanring_int.h - internal declarations shared by the core's files.
 *
 * Naming: sr__* is internal and hidden (the library is built with
 * -fvisibility=hidden; only SR_API symbols are exported).
 *
 * Global state is split by lifetime:
 *   struct sr__global sr__g   static, never freed: the hot path's read-only
 *                             view (running flag, generation, sampler,
 *                             limits, clock), so a span never dereferences
 *                             memory that shutdown could free;
 *   struct sr__pipeline       allocated at sr_init(), freed at shutdown:
 *                             rings, thread nodes, batches, exporters.
 */
#ifndef SR_SPANRING_INT_H
#define SR_SPANRING_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ck_sequence.h>

#include <spanring/spanring.h>

#include "error_int.h"
#include "tracer_struct_int.h"
#include "record_int.h"

#define SR__LIKELY(x) __builtin_expect(!!(x), 1)
#define SR__UNLIKELY(x) __builtin_expect(!!(x), 0)
/* A function that copies records (the end, the drainer), built twice:
 * with AVX2 its copies take half the instructions.  target_clones picks
 * the copy at load time (an ifunc), where the PLT call already goes
 * through a pointer.  Not under sanitizers: an instrumented ifunc
 * resolver runs before their runtime is up (ThreadSanitizer crashes at
 * load). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
	!defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
#define SR__AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SR__AVX2_CLONES
#endif
/* Initial-exec TLS: one load off the thread pointer.  A copy of the
 * library built into an object that is dlopen()ed (the nginx module)
 * defines SR_TLS_DLOPEN: glibc's static TLS surplus is smaller than our
 * thread state, so there the model comes from -ftls-model (descriptors). */
#ifdef SR_TLS_DLOPEN
#define SR__TLS __thread
#else
#define SR__TLS __thread __attribute__((tls_model("initial-exec")))
#endif

/* ---- allocation (alloc.c) -------------------------------------------- */

/* Pipeline allocations go through the configured allocator (or the
 * default: a dedicated jemalloc arena when the process runs on jemalloc,
 * else posix_memalign).  Returns zeroed memory. */
void *sr__alloc(size_t size, size_t align);
void sr__free(void *ptr, size_t size);
void sr__alloc_configure(const sr_allocator_t *a);
struct sr__alloc_choice {
	sr_allocator_t custom;
	bool have_custom;
};
void sr__alloc_capture(struct sr__alloc_choice *out);
/* Make this thread allocate and free through `c` (NULL: the current
 * choice again). */
void sr__alloc_use(const struct sr__alloc_choice *c);
const char *sr__alloc_name(void); /* "jemalloc arena 7", "libc", "custom" */

/* ---- clock (clock.c) ------------------------------------------------- */

void sr__clock_init(void);     /* once per process; idempotent          */
void sr__clock_recalibrate(void); /* drainer, about once a second        */

/* ---- ids (ids.c) ----------------------------------------------------- */

void sr__ids_seed(void);       /* at init: new process-wide seed          */

/* ---- sampler (sampler.c) -------------------------------------------- */

struct sr__sampler {
	sr_sampler_kind_t kind;
	uint64_t bound;      /* traceidratio: sample if id value < bound     */
};
void sr__sampler_setup(struct sr__sampler *s, sr_sampler_kind_t kind,
		       double ratio);
bool sr__sample(const struct sr__sampler *s, const uint8_t trace_id[16],
		const sr_context_t *parent);
const char *sr__sampler_name(sr_sampler_kind_t kind);
int sr__sampler_parse(const char *name, sr_sampler_kind_t *out);

/* ---- tracers (tracer.c) ---------------------------------------------- */

const sr_tracer_t *sr__tracer_at(uint16_t index);

/* ---- resource (resource.c) ------------------------------------------- */

struct sr__resource {
	sr_attr_view_t *attrs;
	uint32_t count;
	char *strings;          /* one block holding every key and value    */
};
int sr__resource_build(struct sr__resource *r, const sr_config_t *cfg);
void sr__resource_free(struct sr__resource *r);

/* ---- propagation hooks (core/propagation) ----------------------------
 * Resolve a context's trace-state reference (sr_context_t.state_[0]) to
 * its text, for export.  Returns false if the reference is 0 or expired. */
bool sr__tracestate_resolve(uint64_t ref, sr_str_t *out);

/* ---- global state (global.c) ----------------------------------------- */

struct sr__limits {
	uint32_t attrs, events, links, event_attrs, link_attrs;
	uint32_t value_len;
	uint32_t max_slots;     /* slots a span may use (max_span_records) */
	uint32_t inline_slots;  /* slots the fast path may use: min(14,
	                           max_slots - 1), the last is for DROPPED  */
	uint32_t fast_end;      /* inline attribute appends allowed below
	                           this slot count: min(inline_slots, attrs),
	                           0 if value_len < SR__SPAN_ITEM_INL2_MAX   */
};

struct sr__clock_params {
	uint64_t tsc_base;
	uint64_t ns_base;
	uint64_t mult;          /* ns = ns_base + ((tsc - tsc_base) * mult >> shift) */
	uint32_t shift;
	uint32_t use_tsc;
};

struct sr__global {
	/* Read on every span; written only by init/shutdown/fork. */
	_Alignas(64) int running;        /* ck_pr store by init/shutdown      */
	uint32_t gen;                    /* pipeline generation, never 0 when running */
	struct sr__pipeline *pipe;       /* valid while running (RCU)         */
	struct sr__sampler sampler;
	struct sr__limits limits;
	/* The first 8 bytes of a span's tail (state, fast_end, nslots, gen;
	 * see span_int.h) as a sampled / an unsampled start writes them.  Set
	 * before `running`, like the sampler and limits. */
	uint64_t span_word_rec, span_word_ctx;
	/* The sampler's decision where it needs no trace id: for a root
	 * span, and for a child by its parent's sampled flag; 1 sample,
	 * 0 drop, -1 compute it (traceidratio).  Set with the sampler. */
	int8_t root_decision, child_decision[2];

	/* Clock: seqlock-protected (ck_sequence), drainer writes. */
	_Alignas(64) ck_sequence_t clock_seq;
	struct sr__clock_params clock;

	/* Stats of the last pipeline, kept after shutdown. */
	sr_stats_t final_stats;
	bool have_final;

	pthread_mutex_t lifecycle_lock;  /* init/shutdown/fork serialisation */
};
extern struct sr__global sr__g;

/*
 * The settings part of sr__g (gen, span words, decisions, sampler,
 * limits, clock.use_tsc) is written by init (under the lifecycle lock,
 * before `running`) and read by the hot path without a lock.  A span that
 * began before a shutdown may still be reading them while the next init
 * rewrites them: both sides use relaxed atomics (plain moves on x86), the
 * span sees each setting from one pipeline or the other, and its
 * generation check at end discards it if they were not its own.
 */
#define SR__SETTING(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define SR__SET(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* The generation whose spans may end on the fast path (see sr__busy_enter
 * in thread_int.h); 0 when none may: not running, shutting down, or no
 * membarrier.  SR__SET by init/shutdown/fork, SR__SETTING (relaxed) load
 * by the hot path after its busy mark (membarrier orders them).  Its own
 * variable, not in sr__g, so the hot path compares against it with one
 * RIP-relative operand. */
extern uint32_t sr__fast_gen;

/* The word a start stores at SR__SPAN_STATE_AT of an sr_span_t (span_int.h
 * asserts the layout): state, fast_end, nslots = 0, gen. */
static inline uint64_t sr__span_word(uint8_t state, uint32_t fast_end,
				     uint32_t gen)
{
	struct { uint8_t state, fast_end; uint16_t nslots; uint32_t gen; } w =
		{ state, (uint8_t)fast_end, 0, gen };
	uint64_t v;

	memcpy(&v, &w, sizeof(v));
	return v;
}


#endif /* SR_SPANRING_INT_H */
