/*
 * spanring.h - the one header an application includes.
 *
 * spanring records spans with no lock, no syscall and no malloc on the
 * application's threads: a span lives in a caller-owned sr_span_t (stack or
 * request struct) and, when it ends, is copied as one or more fixed-size
 * records into the calling thread's own ring.  A background drainer batches
 * the records and hands them to exporters.  When anything downstream falls
 * behind, spans are dropped and counted in sr_stats, never queued without
 * bound, and the application never waits.
 *
 * Conventions used throughout:
 *   - Functions returning int return 0 or a negative SR_E* code; see
 *     sr_strerror().  A failed call never runs its callback.
 *   - Hot-path calls (span, scope and attribute calls) return nothing to
 *     check: on overflow they drop or truncate and count it in sr_stats.
 *   - Every call is a safe, cheap no-op before sr_init() and after
 *     sr_shutdown().
 *   - Pointer arguments, one rule for the whole API:
 *       * Every call off the hot path checks each pointer it takes.  A
 *         NULL one makes a call that returns int return SR_EINVAL, with
 *         sr_last_error() naming the call and the argument
 *         ("sr_context_current: out is NULL"); a call that returns no
 *         code does nothing (and sets that same text), one that returns
 *         a value returns its empty value (a zeroed context, false, 0,
 *         NULL).  An attribute array may be NULL only when its count is
 *         0.  Where NULL has a meaning of its own, the call says so
 *         (`tracer`, `parent`, `pending`, the output pointers of
 *         sr_flush/sr_shutdown, sr_propagator_destroy(NULL)).
 *       * The fast paths (the span calls marked "Fast path" below, and
 *         sr_context_is_sampled()) have one precondition: `span` (`ctx`)
 *         is not NULL.  They check it with assert() in an application
 *         built without NDEBUG, and not at all with NDEBUG, where it
 *         would cost every span.
 *       * A NULL string value is the empty string, length 0 whatever
 *         length came with it (sr_span_set_strn, SR_ATTR_STRN_, ...); a
 *         NULL key, name or status message reads as "".
 *   - Pointer ownership is stated per argument: "static" means kept by
 *     pointer and must stay valid until sr_shutdown() returns (string
 *     literals are the usual case); "copied" means copied before return;
 *     "borrowed" means only read during the call.
 *
 * Defining SR_COMPILED_OUT before including this header turns every SR_*
 * instrumentation macro into nothing; the functions stay declared.
 * Defining SR_NO_INLINE makes the span calls calls to exported functions
 * instead of inline fast paths, so the application depends on no part of
 * sr_span_t's layout (docs/abi.md says what is ABI).
 */
#ifndef SPANRING_H
#define SPANRING_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SR_VERSION_MAJOR 0
#define SR_VERSION_MINOR 1
#define SR_VERSION_PATCH 0
#define SR_VERSION_HEX \
	((SR_VERSION_MAJOR << 16) | (SR_VERSION_MINOR << 8) | SR_VERSION_PATCH)

#if defined(_WIN32)
#define SR_API
#elif defined(__GNUC__)
#define SR_API __attribute__((visibility("default")))
#else
#define SR_API
#endif

/* C11 and C++11 spellings of the same two keywords. */
#ifdef __cplusplus
#define SR_STATIC_ASSERT(c, m) static_assert(c, m)
#define SR_ALIGNAS(n) alignas(n)
#else
#define SR_STATIC_ASSERT(c, m) _Static_assert(c, m)
#define SR_ALIGNAS(n) _Alignas(n)
#endif

/* Version string "MAJOR.MINOR.PATCH" of the library actually linked. */
SR_API const char *sr_version(void);

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

enum sr_error {
	SR_OK = 0,
	SR_EINVAL = -1,     /* bad argument or malformed configuration value */
	SR_ENOMEM = -2,     /* allocation at init failed                     */
	SR_ESTATE = -3,     /* wrong lifecycle state (already initialised...) */
	SR_ETIMEDOUT = -4,  /* deadline passed before the work was done      */
	SR_ENOTFOUND = -5,  /* unknown name (exporter, sampler) or no value  */
	SR_EIO = -6,        /* an exporter or the OS reported a failure      */
	SR_ESCOPE = -7,     /* scopes closed out of order                    */
	SR_ELIMIT = -8,     /* a configured limit was reached                */
	SR_EVERSION = -9    /* ABI version mismatch (plugins)                */
};

/* Static text for an SR_E* code; never NULL. */
SR_API const char *sr_strerror(int err);

/*
 * Detail of the last error returned to this thread by a non-hot-path call,
 * e.g. "OTEL_TRACES_SAMPLER='foo': unknown sampler".  Thread-local; valid
 * until the next spanring call on this thread; "" if none.
 */
SR_API const char *sr_last_error(void);

/* ------------------------------------------------------------------ */
/* Configuration and lifecycle                                         */
/* ------------------------------------------------------------------ */

/*
 * Pipeline allocator.  Used only at init, at thread registration and at
 * shutdown; never on the hot path.  alloc returns memory aligned to
 * `align` (a power of two) or NULL.  Lets tests fail the n-th allocation.
 */
typedef struct sr_allocator {
	void *(*alloc)(void *ud, size_t size, size_t align);
	void (*free)(void *ud, void *ptr, size_t size);
	void *ud;
} sr_allocator_t;

/* Head samplers (the OpenTelemetry set). */
typedef enum sr_sampler_kind {
	SR_SAMPLER_ALWAYS_ON = 0,
	SR_SAMPLER_ALWAYS_OFF,
	SR_SAMPLER_TRACEIDRATIO,
	SR_SAMPLER_PARENTBASED_ALWAYS_ON,
	SR_SAMPLER_PARENTBASED_ALWAYS_OFF,
	SR_SAMPLER_PARENTBASED_TRACEIDRATIO
} sr_sampler_kind_t;

/*
 * Levels of the library's own log on stderr (OTEL_LOG_LEVEL: none, error,
 * warn, info, debug; any case).  Warnings say what an operator must act
 * on (an exporter failing, spans starting to drop), info what changed
 * back (an exporter delivering again), debug every failed export.
 */
typedef enum sr_log_level {
	SR_LOG_DEFAULT = 0,   /* info, the OpenTelemetry default */
	SR_LOG_NONE = 1,
	SR_LOG_ERROR = 2,
	SR_LOG_WARN = 3,
	SR_LOG_INFO = 4,
	SR_LOG_DEBUG = 5
} sr_log_level_t;

/*
 * Pipeline configuration.  Always start from sr_config_init(); fields are
 * only ever appended, and `size` tells the library which ones you know.
 * A zero limit means "use the default".  Every limit is enforced with a
 * counter in sr_stats that shows when it bit.
 */
typedef struct sr_config {
	size_t size;                      /* set by sr_config_init()        */

	/* Resource: copied at init. */
	const char *service_name;         /* OTEL_SERVICE_NAME               */
	const char *resource_attributes;  /* OTEL_RESOURCE_ATTRIBUTES k=v,.. */

	/* Exporters: comma-separated names ("console,memory").  Built in:
	 * none, console, memory, otlp, zipkin, file, chrome; "plugin:<path>"
	 * loads a shared object; plus any registered with
	 * sr_exporter_register().  OTEL_TRACES_EXPORTER. Default "otlp" (as
	 * the OpenTelemetry specification says). */
	const char *exporters;

	sr_sampler_kind_t sampler;        /* OTEL_TRACES_SAMPLER             */
	double sampler_ratio;             /* OTEL_TRACES_SAMPLER_ARG, [0,1]  */

	/* Rings. */
	/* Each thread's ring, in records of 256 bytes, power of 2, default
	 * 1024 (256 KiB).  A span takes 64 bytes plus 32 per item slot,
	 * rounded up to 64: a span with two attributes is half a record. */
	uint32_t ring_records;
	uint32_t max_threads;      /* rings preallocated at init, default 64            */
	uint32_t overflow_records; /* shared pool for spans larger than a sr_span_t,
	                              default 4096                                     */

	/* Batching (OTEL_BSP_*). */
	uint32_t max_export_batch_size; /* spans per batch, default 512              */
	uint32_t max_queue_size;        /* spans queued per exporter, default 2048   */
	uint32_t schedule_delay_ms;     /* max age of a partial batch, default 5000  */
	uint32_t export_timeout_ms;     /* per export call, default 30000            */

	/* Span limits (OTEL_SPAN_*_COUNT_LIMIT, OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT). */
	uint32_t attr_count_limit;       /* default 128                              */
	uint32_t event_count_limit;      /* default 128                              */
	uint32_t link_count_limit;       /* default 128                              */
	uint32_t event_attr_count_limit; /* OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT, 128    */
	uint32_t link_attr_count_limit;  /* OTEL_LINK_ATTRIBUTE_COUNT_LIMIT, 128     */
	uint32_t attr_value_length_limit;/* bytes of a copied string, default 4096   */
	uint32_t max_span_records;       /* 256-byte records one span may use, 64    */

	/* Drainer: its longest pause.  It sleeps until the fullest ring
	 * would be half full at the rate it saw, a ring reaching half full
	 * wakes it sooner (sr_stats_t.drainer_wakeups, doorbell_rings). */
	uint32_t drainer_max_sleep_us;   /* default 20000                            */

	const sr_allocator_t *allocator; /* NULL: the default (see docs)             */

	/* Crash flight recorder (docs/flight-recorder.md): on SIGSEGV, SIGBUS,
	 * SIGILL, SIGFPE or SIGABRT, the spans not yet exported are written
	 * to this file (truncated at init), which spanring-recover turns
	 * into OTLP.  NULL or "": off.  SPANRING_FLIGHT_RECORDER. */
	const char *flight_recorder;
	/* Distinct strings (names, keys, static values) a recording copies;
	 * past it they are lost and counted in the file.  Default 4096.
	 * SPANRING_FLIGHT_RECORDER_STRINGS. */
	uint32_t flight_recorder_strings;
	/* Appended.  The library's log on stderr: its level (OTEL_LOG_LEVEL)
	 * and most messages a minute (SPANRING_LOG_RATE, default 10, burst
	 * as many; the rest counted in sr_stats_t.log_suppressed). */
	sr_log_level_t log_level;
	uint32_t log_rate_per_min;

	/* Processors (<spanring/processor.h>, docs/processors.md):
	 * comma-separated names run in this order on every batch before the
	 * exporters ("redact,tail"); "plugin:<path>" loads a shared object.
	 * SPANRING_PROCESSORS.  NULL or "": none.  An unknown name fails
	 * sr_init(). */
	const char *processors;
	/* Bytes per batch for the processors' edits, default 262144
	 * (SPANRING_PROCESSOR_SCRATCH_BYTES; spans dropped as
	 * "scratch_full" when it runs out). */
	uint32_t processor_scratch_bytes;
	/* redact processor: rules as text (the SPANRING_REDACT_CONFIG file's
	 * syntax, one rule per line), and a file of rules
	 * (SPANRING_REDACT_CONFIG).  Both NULL: the default rule set. */
	const char *redact_rules;
	const char *redact_config;
} sr_config_t;

/* Fill `cfg` with defaults (no environment applied). */
SR_API void sr_config_init(sr_config_t *cfg);

/*
 * Overlay the standard OTEL_* variables (and SPANRING_* ones) onto `cfg`.
 * A malformed or out-of-range value returns SR_EINVAL, names the variable
 * and value in sr_last_error(), and leaves the remaining valid settings
 * applied; the next sr_init() on this thread reports it again (its
 * return and sr_last_error()) unless it has an error of its own.
 * String fields point into the environment (static until shutdown).
 */
SR_API int sr_config_from_env(sr_config_t *cfg);

/*
 * Start the pipeline: allocate all rings and batches, start the drainer and
 * one worker thread per exporter.  SR_ESTATE if already running.  If some
 * exporter names are unknown or fail to start, the pipeline still starts
 * with the rest and the first error is returned (and described by
 * sr_last_error()); an exporter that is unknown (SR_ENOTFOUND) or whose
 * settings are wrong (SR_EINVAL, SR_EIO: the variable and value are
 * named) is left out and the pipeline runs with the others, as it does
 * past a malformed resource attribute entry (SR_EINVAL, entry skipped).
 * A bad config field (SR_EINVAL) or SR_ENOMEM leaves it stopped.
 * sr_is_running() tells which.
 */
SR_API int sr_init(const sr_config_t *cfg);

/* sr_config_init() + sr_config_from_env() + sr_init(). */
SR_API int sr_init_from_env(void);

/* True between a successful sr_init() and sr_shutdown(). */
SR_API bool sr_is_running(void);

/*
 * Export every span that ended (on any thread, before this call) and wait
 * for the exporters to flush, up to `timeout_ms`.  Returns 0, or
 * SR_ETIMEDOUT with *pending (if non-NULL) set to the spans not yet
 * through the exporters.  SR_ESTATE when not running.  Blocks the caller;
 * never call it from an exporter.
 */
SR_API int sr_flush(uint32_t timeout_ms, uint64_t *pending);

/*
 * Flush, then stop the drainer and exporters and free the pipeline.
 * Spans still unexported when the deadline passes are counted as
 * dropped (shutdown) and reported in *lost.  Afterwards every call is a
 * no-op again and sr_init() may be called anew.
 */
SR_API int sr_shutdown(uint32_t timeout_ms, uint64_t *lost);

/*
 * Register the calling thread now (allocating its ring) instead of at its
 * first span.  Optional; SR_ELIMIT when max_threads rings are in use.
 */
SR_API int sr_thread_register(void);

/* ------------------------------------------------------------------ */
/* Tracers (instrumentation scopes)                                    */
/* ------------------------------------------------------------------ */

typedef struct sr_tracer sr_tracer_t;

/*
 * Return the tracer for (name, version), creating it once; both strings
 * are copied.  Tracers live for the whole process (across init cycles),
 * so a handle may be kept in a static.  Never returns NULL: past
 * SR_MAX_TRACERS distinct tracers the default tracer is returned.
 * Takes a lock: call it at start-up, not per span.
 */
#define SR_MAX_TRACERS 256
SR_API const sr_tracer_t *sr_tracer_get(const char *name, const char *version);

/* ------------------------------------------------------------------ */
/* Context                                                             */
/* ------------------------------------------------------------------ */

#define SR_TRACE_FLAG_SAMPLED 0x01
/* W3C Trace Context Level 2: at least the right-most 7 bytes of the trace
 * id are random.  Set on every trace spanring starts; a child span keeps
 * its parent's. */
#define SR_TRACE_FLAG_RANDOM 0x02

/*
 * A span's identity as a plain copyable value: store it in a request
 * struct, pass it to another thread or callback, use it as a parent.
 * A zeroed sr_context_t is "no context".  The state_ words refer to trace
 * state and baggage kept by the propagation layer; copy them along.
 */
typedef struct sr_context {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t trace_flags;   /* W3C flags, SR_TRACE_FLAG_SAMPLED / _RANDOM */
	uint8_t remote;        /* 1 if extracted from a carrier             */
	uint8_t reserved_[6];
	uint64_t state_[2];    /* trace state and baggage references        */
} sr_context_t;

SR_STATIC_ASSERT(sizeof(sr_context_t) == 48, "sr_context_t is ABI");

SR_API bool sr_context_is_valid(const sr_context_t *ctx);
/* Inline: `ctx` must not be NULL (asserted without NDEBUG). */
static inline bool sr_context_is_sampled(const sr_context_t *ctx)
{
	assert(ctx != NULL);
	return (ctx->trace_flags & SR_TRACE_FLAG_SAMPLED) != 0;
}

/* Lowercase hex of the ids; out must hold 33 / 17 bytes.  A NULL ctx
 * gives "" in out. */
SR_API void sr_context_trace_id_hex(const sr_context_t *ctx, char out[33]);
SR_API void sr_context_span_id_hex(const sr_context_t *ctx, char out[17]);

/* ------------------------------------------------------------------ */
/* Spans                                                               */
/* ------------------------------------------------------------------ */

typedef enum sr_span_kind {     /* numeric values are OTLP's */
	SR_KIND_INTERNAL = 1,
	SR_KIND_SERVER = 2,
	SR_KIND_CLIENT = 3,
	SR_KIND_PRODUCER = 4,
	SR_KIND_CONSUMER = 5
} sr_span_kind_t;

typedef enum sr_status_code {   /* numeric values are OTLP's */
	SR_STATUS_UNSET = 0,
	SR_STATUS_OK = 1,
	SR_STATUS_ERROR = 2
} sr_status_code_t;

/*
 * A span in progress: caller-owned storage, on the stack or in a request
 * struct.  Contents are private.  It holds the span's first records
 * inline, so ending it is a copy into the ring.  May be moved (memcpy)
 * while no scope refers to it; must be ended exactly once after start.
 */
#define SR_SPAN_SIZE 576
typedef struct sr_span {
	SR_ALIGNAS(64) unsigned char opaque_[SR_SPAN_SIZE];
} sr_span_t;

/* Attribute value types. */
typedef enum sr_attr_type {
	SR_ATTR_BOOL = 1,
	SR_ATTR_INT = 2,
	SR_ATTR_DOUBLE = 3,
	SR_ATTR_STRING = 4,        /* copied                                  */
	SR_ATTR_STRING_STATIC = 5, /* kept by pointer (static)                */
	SR_ATTR_ARRAY = 6          /* homogeneous array, elements copied      */
} sr_attr_type_t;

struct sr_attr;

/*
 * An array attribute's value (borrowed; its elements are copied by the
 * call that takes it).  `type` is the element type: SR_ATTR_BOOL,
 * SR_ATTR_INT, SR_ATTR_DOUBLE or SR_ATTR_STRING.  The elements are either
 * a C array (`v`; strings NUL-terminated, or of lengths `lens` when it is
 * not NULL) or, when `get` is set, produced one by one by
 * get(ud, i, &elem), which fills elem->v (and elem->len for strings):
 * containers whose elements are not laid out as C values (std::string,
 * std::vector<bool>, int32_t) need no conversion buffer; get may be
 * called twice per element (sizing, then copying) and must give the same
 * value both times.  Each string
 * element is limited to attr_value_length_limit bytes (truncated and
 * counted as strings_truncated); the whole array takes slots like a
 * copied string of its packed size (8 bytes per number, 1 per bool,
 * 4 + length per string) and is dropped (attrs_dropped) if the span
 * has no room for it.  At most SR_ARRAY_MAX_COUNT elements are kept.
 */
#define SR_ARRAY_MAX_COUNT 65535u
typedef struct sr_array {
	sr_attr_type_t type;       /* element type                          */
	uint32_t count;            /* elements                              */
	union {
		const bool *b;
		const int64_t *i;
		const double *d;
		const char *const *s;
	} v;
	const size_t *lens;        /* strings: lengths, or NULL (strlen)    */
	void (*get)(const void *ud, size_t i, struct sr_attr *elem);
	const void *ud;
} sr_array_t;

/*
 * One attribute, for the array forms (events, links, sr_span_set_attrs).
 * Keys are always static.  Build them with the SR_ATTR_* macros.
 */
typedef struct sr_attr {
	const char *key;
	sr_attr_type_t type;
	uint32_t len;              /* strings: length in bytes               */
	union {
		bool b;
		int64_t i;
		double d;
		const char *s;
		const sr_array_t *a; /* SR_ATTR_ARRAY (borrowed)         */
	} v;
} sr_attr_t;

static inline size_t sr__strlen(const char *s)
{
	return s ? __builtin_strlen(s) : 0;
}

/* A NULL string value is the empty string (length 0, whatever `n` says).
 * C: compound literals.  C++ has no designated union initialiser before
 * C++20, so there each macro calls a helper that fills the member. */
#ifdef __cplusplus
static inline sr_attr_t sr__attr_num(const char *k, sr_attr_type_t t, bool b,
				     int64_t i, double d)
{
	sr_attr_t a = sr_attr_t();

	a.key = k;
	a.type = t;
	if (t == SR_ATTR_BOOL)
		a.v.b = b;
	else if (t == SR_ATTR_INT)
		a.v.i = i;
	else
		a.v.d = d;
	return a;
}
static inline sr_attr_t sr__attr_str(const char *k, sr_attr_type_t t,
				     const char *s, size_t n)
{
	sr_attr_t a = sr_attr_t();

	a.key = k;
	a.type = t;
	a.len = s ? static_cast<uint32_t>(n) : 0;
	a.v.s = s;
	return a;
}
#define SR_ATTR_BOOL_(k, x)   sr__attr_num((k), SR_ATTR_BOOL, (x), 0, 0.0)
#define SR_ATTR_INT_(k, x)    sr__attr_num((k), SR_ATTR_INT, false, (x), 0.0)
#define SR_ATTR_DOUBLE_(k, x) sr__attr_num((k), SR_ATTR_DOUBLE, false, 0, (x))
#define SR_ATTR_STR_(k, x) \
	sr__attr_str((k), SR_ATTR_STRING, (x), sr__strlen(x))
#define SR_ATTR_STRN_(k, x, n) sr__attr_str((k), SR_ATTR_STRING, (x), (n))
#define SR_ATTR_STR_STATIC_(k, x) \
	sr__attr_str((k), SR_ATTR_STRING_STATIC, (x), sr__strlen(x))
#else
#define SR__ATTR_INIT(k, t, l, f, x) \
	((sr_attr_t){ .key = (k), .type = (t), .len = (l), .v = { .f = (x) } })
#define SR_ATTR_BOOL_(k, x)   SR__ATTR_INIT(k, SR_ATTR_BOOL, 0, b, x)
#define SR_ATTR_INT_(k, x)    SR__ATTR_INIT(k, SR_ATTR_INT, 0, i, x)
#define SR_ATTR_DOUBLE_(k, x) SR__ATTR_INIT(k, SR_ATTR_DOUBLE, 0, d, x)
#define SR_ATTR_STR_(k, x) \
	SR__ATTR_INIT(k, SR_ATTR_STRING, (uint32_t)sr__strlen(x), s, x)
#define SR_ATTR_STRN_(k, x, n) SR__ATTR_INIT(k, SR_ATTR_STRING, (uint32_t)(n), s, x)
#define SR_ATTR_STR_STATIC_(k, x) \
	SR__ATTR_INIT(k, SR_ATTR_STRING_STATIC, (uint32_t)sr__strlen(x), s, x)
#endif

/* Flags for sr_span_start_ex(). */
#define SR_SPAN_ROOT      0x1u  /* ignore the current span: start a new trace */
#define SR_SPAN_NAME_COPY 0x2u  /* copy `name` instead of keeping the pointer */

/*
 * The span calls.  Unless SR_NO_INLINE is defined, each call below marked
 * "fast path" (sr_span_end, say) is a macro for a static inline function
 * of <spanring/static/span_inline.h> (sr__inline_span_end), which does the
 * common work without a call and bakes part of sr_span_t's layout into
 * the application (see docs/abi.md).  Define SR_NO_INLINE (in every file of the application)
 * to call the exported functions declared here instead: a call more per
 * operation, in exchange for depending only on sr_span_t's size and
 * alignment.  Either way `(sr_span_start)(...)` calls the function.
 */

/*
 * Start a span named `name` (static) with the current active span of this
 * thread as parent, or as a root if there is none.  Hot path: no lock,
 * no syscall, no allocation.  `tracer` may be NULL (default tracer).
 * Fast path.
 */
SR_API void sr_span_start(sr_span_t *span, const sr_tracer_t *tracer,
			  const char *name, sr_span_kind_t kind);

/*
 * Full form.  `parent` (borrowed): NULL means the current active span;
 * a context without ids means root (as does SR_SPAN_ROOT; its baggage is
 * kept).  `start_ns`: ns since the epoch, 0 for now.  A remote or local
 * parent's sampled flag feeds the parent-based samplers.  Fast path.
 */
SR_API void sr_span_start_ex(sr_span_t *span, const sr_tracer_t *tracer,
			     const char *name, sr_span_kind_t kind,
			     const sr_context_t *parent, uint64_t start_ns,
			     unsigned flags);

/* Attributes.  Keys static.  sr_span_set_str copies (truncating past
 * attr_value_length_limit); _static keeps the pointer.  Setting a key
 * twice keeps the last value.  Fast paths. */
SR_API void sr_span_set_bool(sr_span_t *span, const char *key, bool v);
SR_API void sr_span_set_int(sr_span_t *span, const char *key, int64_t v);
SR_API void sr_span_set_double(sr_span_t *span, const char *key, double v);
SR_API void sr_span_set_strn(sr_span_t *span, const char *key,
			     const char *v, size_t len);
SR_API void sr_span_set_str(sr_span_t *span, const char *key, const char *v);
SR_API void sr_span_set_str_static(sr_span_t *span, const char *key,
				   const char *v);
SR_API void sr_span_set_attrs(sr_span_t *span, const sr_attr_t *attrs,
			      size_t n);

/* Array attribute (elements copied, see sr_array_t); events and links
 * take arrays as SR_ATTR_ARRAY_(key, &arr) entries of their attrs. */
SR_API void sr_span_set_array(sr_span_t *span, const char *key,
			      const sr_array_t *arr);
#define SR_ATTR_ARRAY_(k, arr) sr__attr_array((k), (arr))
static inline sr_attr_t sr__attr_array(const char *key, const sr_array_t *arr)
{
	sr_attr_t a;

	a.key = key;
	a.type = SR_ATTR_ARRAY;
	a.len = 0;
	a.v.a = arr;
	return a;
}

/* Event `name` (static) at `ts_ns` (0: now) with attributes (borrowed;
 * string values copied or kept per their type).  Fast path. */
SR_API void sr_span_add_event(sr_span_t *span, const char *name,
			      uint64_t ts_ns, const sr_attr_t *attrs, size_t n);

/* Link to another span's context (borrowed). */
SR_API void sr_span_add_link(sr_span_t *span, const sr_context_t *ctx,
			     const sr_attr_t *attrs, size_t n);

/* Status; `message` copied (only kept for SR_STATUS_ERROR, per OTel).
 * OK is final: later UNSET/ERROR are ignored. */
SR_API void sr_span_set_status(sr_span_t *span, sr_status_code_t code,
			       const char *message);

/* Record an "exception" event (exception.type / exception.message, copied)
 * and set status ERROR with `message`. */
SR_API void sr_span_record_error(sr_span_t *span, const char *type,
				 const char *message);

/* Replace the name (copied). */
SR_API void sr_span_update_name(sr_span_t *span, const char *name);

/* End at now, or at `end_ns` (clamped to >= start).  Writes the span to
 * the ring of the calling thread; a second end is ignored.  An unsampled
 * span has nothing to write (it was counted at its start).  Fast paths.
 *
 * Signal handlers: a handler may start and end its own spans on a thread
 * that has already recorded a span (or called sr_thread_register(): the
 * first registration takes a lock).  If the handler interrupted the
 * library's own end of a span on that thread, the handler's span is not
 * written (the ring is in the middle of that end) but counted in
 * sr_stats_t.dropped_reentrant, which is part of the accounting
 * invariant.  A span must not be used by the handler and the interrupted
 * code both (a span is used by one thread at a time). */
SR_API void sr_span_end(sr_span_t *span);
SR_API void sr_span_end_at(sr_span_t *span, uint64_t end_ns);

/*
 * The span's context: ids, W3C flags (sampled as decided, random as its
 * trace's), trace state and baggage.  Valid for every span started while
 * a pipeline runs, sampled or not, and stays so after the span ends.  A
 * span started while no pipeline runs (before sr_init(), after
 * sr_shutdown()) is off: its context is all zero, "no context"
 * (sr_context_is_valid() is false), so it injects no trace headers and
 * cannot be a parent.  An off start is one store; giving it ids would
 * put the id generator on every call of a program that runs untraced.
 * A service that must forward a trace without a pipeline injects the
 * extracted context itself.
 */
SR_API sr_context_t sr_span_context(const sr_span_t *span);

/* True if the span will be recorded (sampled, pipeline running, open). */
SR_API bool sr_span_is_recording(const sr_span_t *span);

#ifndef SR_NO_INLINE
#include <spanring/static/span_inline.h>
#define sr_span_start(span, tracer, name, kind) \
	sr__inline_span_start(span, tracer, name, kind)
#define sr_span_start_ex(span, tracer, name, kind, parent, start_ns, flags) \
	sr__inline_span_start_ex(span, tracer, name, kind, parent, start_ns, flags)
#define sr_span_set_bool(span, key, v) sr__inline_span_set_bool(span, key, v)
#define sr_span_set_int(span, key, v) sr__inline_span_set_int(span, key, v)
#define sr_span_set_double(span, key, v) sr__inline_span_set_double(span, key, v)
#define sr_span_set_strn(span, key, v, len) \
	sr__inline_span_set_strn(span, key, v, len)
#define sr_span_set_str(span, key, v) sr__inline_span_set_str(span, key, v)
#define sr_span_set_str_static(span, key, v) \
	sr__inline_span_set_str_static(span, key, v)
#define sr_span_add_event(span, name, ts_ns, attrs, n) \
	sr__inline_span_add_event(span, name, ts_ns, attrs, n)
#define sr_span_end(span) sr__inline_span_end(span)
#define sr_span_end_at(span, end_ns) sr__inline_span_end_at(span, end_ns)
#endif

/* Clock used for span timestamps: ns since the Unix epoch. */
SR_API uint64_t sr_now_ns(void);

/* ------------------------------------------------------------------ */
/* Scopes: the per-thread active-span stack                            */
/* ------------------------------------------------------------------ */

/* Returned by sr_scope_enter*; pass it back to sr_scope_exit(). */
typedef struct sr_scope {
	uint32_t depth_;
	uint32_t cookie_;
} sr_scope_t;

#define SR_SCOPE_MAX_DEPTH 64

/* Make the span / context current on this thread (the context is copied,
 * so the span may end or move before the scope exits).  Past
 * SR_SCOPE_MAX_DEPTH the push is ignored and counted. */
SR_API sr_scope_t sr_scope_enter(const sr_span_t *span);
SR_API sr_scope_t sr_scope_enter_ctx(const sr_context_t *ctx);

/* Restore what was current before `scope`.  If inner scopes are still
 * open (closed out of order), they are closed too, the error is counted
 * and SR_ESCOPE returned; an unknown or already closed scope also gives
 * SR_ESCOPE and changes nothing. */
SR_API int sr_scope_exit(sr_scope_t scope);

/* Copy the current context of this thread into *out: SR_ENOTFOUND (and a
 * zeroed *out) if no scope is active. */
SR_API int sr_context_current(sr_context_t *out);

/* Scope-stack save/restore for coroutines and fibers: detach this
 * thread's stack into `saved` (leaving it empty) and put one back. */
typedef struct sr_scope_stack {
	uint32_t depth_;
	uint32_t cookie_;
	uint32_t cookies_[SR_SCOPE_MAX_DEPTH];
	sr_context_t entries_[SR_SCOPE_MAX_DEPTH];
} sr_scope_stack_t;
SR_API void sr_scope_stack_save(sr_scope_stack_t *saved);
SR_API void sr_scope_stack_restore(const sr_scope_stack_t *saved);

/* ------------------------------------------------------------------ */
/* Stats                                                               */
/* ------------------------------------------------------------------ */

/*
 * A snapshot of the pipeline counters since sr_init().  Invariant once
 * flushed: sampled == exported + sum of dropped_* (span level, processor
 * drops included).  The
 * item-level counters (attrs_dropped...) count truncation, not spans.
 */
typedef struct sr_stats {
	size_t size;                 /* set by the caller: sizeof(sr_stats_t) */

	uint64_t started;            /* spans started (sampled or not)      */
	uint64_t sampled;            /* of those, sampled by the head sampler
	                                (counted at the start: see open)      */
	uint64_t recorded;           /* written into a ring                 */
	uint64_t exported;           /* accepted by at least one exporter   */
	uint64_t batches;            /* batches handed to exporters         */

	/* Span-level drops, exactly one reason each. */
	uint64_t dropped_ring_full;  /* the thread's ring had no room       */
	uint64_t dropped_limits;     /* no ring (max_threads) or span larger
	                                than max_span_records                */
	uint64_t dropped_queue_full; /* every exporter's queue was full     */
	uint64_t dropped_exporter;   /* every exporter failed the batch     */
	uint64_t dropped_shutdown;   /* still unexported at the shutdown deadline,
	                                or ended while the pipeline stopped   */

	/* Item-level limits. */
	uint64_t attrs_dropped;
	uint64_t events_dropped;
	uint64_t links_dropped;
	uint64_t strings_truncated;
	uint64_t overflow_exhausted; /* items lost: shared overflow pool empty */
	uint64_t scope_errors;       /* out-of-order or overflowing scopes   */

	/* Memory and rings. */
	uint64_t pipeline_bytes;     /* fixed at init: rings + batches + pools */
	uint32_t ring_records;       /* capacity of each ring                 */
	uint32_t rings_total;        /* max_threads                          */
	uint32_t rings_in_use;
	uint32_t ring_high_water;    /* max over rings of records used (256 B,
	                                rounded up)                          */
	uint32_t exporters;          /* number of running exporters           */
	uint32_t reserved_;

	/* Appended (docs/abi.md): an older caller's size stops before. */
	uint64_t dropped_reentrant;  /* span-level: ended by a signal handler
	                                that interrupted the library's own
	                                span end on the same thread (the
	                                signal-handler rule below)            */
	uint64_t records_discarded;  /* ring records the drainer could not
	                                read as a span; 0 unless memory was
	                                corrupted (records, not spans)        */
	uint64_t log_messages;       /* lines the library wrote to stderr
	                                (process-wide)                        */
	uint64_t log_suppressed;     /* lines it left out: over the rate,
	                                SPANRING_LOG_RATE (process-wide)       */
	uint64_t open;               /* sampled spans started and not ended
	                                (yet, or ever): sampled == exported +
	                                dropped_* + open once flushed         */

	/* Span-level drop by the processors, summed over the chain
	 * (per processor and rule: sr_stats_processor()). */
	uint64_t dropped_processor;
	uint32_t processors;         /* number of running processors          */
	uint32_t reserved2_;
	uint64_t drainer_wakeups;    /* times the drainer slept and woke: its
	                                timer, a producer's doorbell, an
	                                exiting thread, a flush (the library
	                                threads' main cost per span)          */
	uint64_t doorbell_rings;     /* of those, by a producer whose ring
	                                reached half full while the drainer
	                                slept (a futex wake on that thread; a
	                                rate that grows it: the drainer's CPU
	                                is busy, or the rate changed sharply) */
} sr_stats_t;

/* Set out->size = sizeof(*out) first (the versioned-struct rule: the
 * library writes min(out->size, its sizeof) bytes and sets out->size to
 * that; docs/abi.md).  SR_EINVAL if `out` is NULL or out->size does not
 * cover `started`; SR_ESTATE (only scope_errors filled) when no pipeline
 * has run. */
SR_API int sr_stats_get(sr_stats_t *out);

/* Per-ring view: calls cb once per ring in use.  Takes no lock. */
typedef struct sr_ring_stats {
	uint32_t ring_index;
	/* In records of 256 bytes, as sr_config_t.ring_records (rounded up). */
	uint32_t capacity;
	uint32_t used;           /* waiting right now                      */
	uint32_t high_water;     /* max used since registration            */
	uint64_t thread_id;      /* OS tid of the owner                    */
	bool orphaned;           /* owner thread exited, ring draining     */
} sr_ring_stats_t;
SR_API int sr_stats_foreach_ring(void (*cb)(const sr_ring_stats_t *, void *),
				 void *ud);

/* Longest last_error text, NUL included. */
#define SR_EXPORTER_ERROR_MAX 192

/* Per-exporter view.  Versioned (docs/abi.md): set size first. */
typedef struct sr_exporter_stats {
	size_t size;                 /* set by the caller: sizeof(sr_exporter_stats_t) */
	const char *name;
	uint64_t batches;
	uint64_t spans_ok;
	uint64_t spans_failed;       /* export call returned an error        */
	uint64_t spans_queue_full;   /* batch skipped: this queue was full    */

	/* Why it last failed: the exporter's own words
	 * (sr_batch_report_error) or the error code's.  Never holds a
	 * header value.  All zero / empty until a failure. */
	uint64_t batches_failed;     /* export calls that failed (or had
	                                spans rejected)                     */
	uint64_t last_error_ns;      /* when, ns since the Unix epoch         */
	int32_t last_http_status;    /* HTTP status of the answer, 0: none    */
	int32_t last_grpc_status;    /* gRPC status, -1: none (not gRPC, or
	                                no answer)                           */
	int32_t last_error_code;     /* SR_E* export_batch returned (0: the
	                                call succeeded, spans rejected)      */
	uint32_t reserved_;
	char last_error[SR_EXPORTER_ERROR_MAX];
} sr_exporter_stats_t;

/* Exporter `index` (0 up) of the running pipeline, or of the last one
 * after sr_shutdown().  Set out->size = sizeof(*out) first (the library
 * writes min(out->size, its sizeof) bytes and sets out->size to that).
 * SR_EINVAL if `out` is NULL or out->size does not cover `name`;
 * SR_ENOTFOUND past the last exporter. */
SR_API int sr_stats_exporter(uint32_t index, sr_exporter_stats_t *out);

/* Write `st` as one JSON object (no newline) into buf, followed by the
 * per-exporter views as of this call ("exporter_stats": name, counters
 * and, after a failure, "last_error" with its text, time and statuses);
 * returns the length it needs, as snprintf does, or SR_EINVAL if `st` is
 * NULL or its size too small. */
SR_API int sr_stats_to_json(const sr_stats_t *st, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#include <spanring/exporter.h>
#include <spanring/processor.h>
#include <spanring/macros.h>
#include <spanring/otlp.h>
#include <spanring/propagation.h>

#endif /* SPANRING_H */
