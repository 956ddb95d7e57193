/*
 * exporter.h - the exporter interface: how finished spans leave the process.
 *
 * Included by <spanring/spanring.h>; included alone, it includes that
 * first (the types it uses are there).
 *
 * An exporter is a table of callbacks (sr_exporter_ops_t) plus a name.
 * Built-in exporters, exporters an application registers with
 * sr_exporter_register(), and plugins loaded from a shared object all use
 * this same table.  Each running exporter gets its own worker thread and
 * its own bounded queue of batches, so one slow exporter cannot starve
 * another: when its queue is full it misses batches (counted), the others
 * carry on.
 *
 * Callbacks, grouped as LTTng-UST groups its ring-buffer client callbacks:
 *   mandatory, slow path:  create, export_batch, destroy
 *   optional (may be NULL): flush, cancel
 * All callbacks of one instance run on that exporter's worker thread,
 * except create (on the sr_init() caller), destroy (on the sr_shutdown()
 * caller after the worker stopped) and cancel (on the sr_shutdown()
 * caller, concurrently, see below): no other locking is needed inside an
 * exporter.
 */
/* Before the guard, as spanring/static/span_inline.h does: included
 * first, this header is included again from spanring.h, whose types it
 * needs, and must then be complete where spanring.h includes it. */
#include <spanring/spanring.h>

#ifndef SPANRING_EXPORTER_H
#define SPANRING_EXPORTER_H

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when sr_exporter_ops_t or the batch API changes incompatibly;
 * sr_exporter_register() and the plugin loader refuse any other value.
 * 2: sr_span_data_t starts with `size` (the versioned-struct rule). */
#define SR_EXPORTER_ABI_VERSION 2

typedef struct sr_batch sr_batch_t;

/* A string that is not necessarily NUL-terminated. */
typedef struct sr_str {
	const char *ptr;
	uint32_t len;
} sr_str_t;

/* A decoded array attribute: `count` elements of `type` (SR_ATTR_BOOL,
 * _INT, _DOUBLE or _STRING), packed at `data`; read them in order with
 * sr_array_next(). */
typedef struct sr_array_view {
	const void *data;
	uint32_t count;
	sr_attr_type_t type;
} sr_array_view_t;

/* Decoded attribute.  Strings point into the batch (or static memory).
 * An exporter meets only the types it was built knowing plus those
 * appended later (SR_ATTR_ARRAY): it writes an unknown one as an empty
 * value and goes on. */
typedef struct sr_attr_view {
	sr_str_t key;
	sr_attr_type_t type;       /* SR_ATTR_STRING for both string kinds */
	union {
		bool b;
		int64_t i;
		double d;
		sr_str_t s;
		sr_array_view_t a; /* SR_ATTR_ARRAY                        */
	} v;
} sr_attr_view_t;

/*
 * Walking an array view's elements.  The packing (native byte order, no
 * alignment): BOOL one byte 0/1, INT and DOUBLE 8 bytes, STRING a 4-byte
 * length then its bytes.
 *
 *     sr_array_iter_t it = sr_array_begin(&attr->v.a);
 *     sr_attr_view_t e;
 *     while (sr_array_next(&it, &e)) ... e.type, e.v ...
 */
typedef struct sr_array_iter {
	const char *pos;
	uint32_t left;
	sr_attr_type_t type;
} sr_array_iter_t;

static inline sr_array_iter_t sr_array_begin(const sr_array_view_t *a)
{
	sr_array_iter_t it;

	/* Copied, not cast: the header compiles as C and as C++ without
	 * old-style casts. */
	__builtin_memcpy(&it.pos, &a->data, sizeof(it.pos));
	it.left = a->count;
	it.type = a->type;
	return it;
}

/* Next element into *elem (key empty); false past the last. */
static inline bool sr_array_next(sr_array_iter_t *it, sr_attr_view_t *elem)
{
	uint32_t len;

	if (!it->left)
		return false;
	it->left--;
	elem->key.ptr = "";
	elem->key.len = 0;
	elem->type = it->type;
	switch (it->type) {
	case SR_ATTR_BOOL:
		elem->v.b = *it->pos++ != 0;
		break;
	case SR_ATTR_INT:
		__builtin_memcpy(&elem->v.i, it->pos, 8);
		it->pos += 8;
		break;
	case SR_ATTR_DOUBLE:
		__builtin_memcpy(&elem->v.d, it->pos, 8);
		it->pos += 8;
		break;
	default:
		__builtin_memcpy(&len, it->pos, 4);
		elem->type = SR_ATTR_STRING;
		elem->v.s.ptr = it->pos + 4;
		elem->v.s.len = len;
		it->pos += 4;
		it->pos += len;
		break;
	}
	return true;
}

typedef struct sr_event_view {
	sr_str_t name;
	uint64_t ts_ns;
	const sr_attr_view_t *attrs;
	uint32_t attr_count;
	uint32_t dropped_attr_count;
} sr_event_view_t;

typedef struct sr_link_view {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t trace_flags;
	const sr_attr_view_t *attrs;
	uint32_t attr_count;
	uint32_t dropped_attr_count;
} sr_link_view_t;

/*
 * One finished span, decoded.  All pointers stay valid until the next
 * sr_batch_span() call on the same batch or the end of export_batch.
 * Versioned: fields are only appended (docs/abi.md).
 */
typedef struct sr_span_data {
	size_t size;               /* set by the caller: sizeof(sr_span_data_t) */
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_span_id[8]; /* all zero for a root span              */
	uint8_t trace_flags;
	uint8_t parent_remote;     /* parent came from another process      */
	sr_span_kind_t kind;
	sr_status_code_t status;
	sr_str_t status_message;
	sr_str_t name;
	sr_str_t trace_state;      /* W3C tracestate, may be empty          */
	uint64_t start_ns;
	uint64_t end_ns;
	const sr_tracer_t *tracer;
	sr_str_t scope_name;
	sr_str_t scope_version;
	uint64_t thread_id;        /* OS tid of the thread that ended it    */

	const sr_attr_view_t *attrs;
	uint32_t attr_count;
	uint32_t dropped_attr_count;
	const sr_event_view_t *events;
	uint32_t event_count;
	uint32_t dropped_event_count;
	const sr_link_view_t *links;
	uint32_t link_count;
	uint32_t dropped_link_count;
} sr_span_data_t;

/* Number of spans in the batch. */
SR_API size_t sr_batch_count(const sr_batch_t *batch);

/* Decode span `i` (0 <= i < count) into *out.  Set out->size =
 * sizeof(*out) first: the library writes min(out->size, its sizeof) bytes
 * and sets out->size to that (docs/abi.md).  SR_EINVAL out of range, or
 * if `out` is NULL or out->size does not cover trace_id. */
SR_API int sr_batch_span(const sr_batch_t *batch, size_t i,
			 sr_span_data_t *out);

/* Resource attributes (service.name, telemetry.sdk.*, ...); static until
 * shutdown. */
SR_API const sr_attr_view_t *sr_batch_resource(const sr_batch_t *batch,
						uint32_t *count);

/*
 * Say why this export is failing, from export_batch (the worker thread)
 * before it returns: shown in sr_exporter_stats_t (last_error, its time
 * and statuses) and in the library's log.  `http_status`: the HTTP status
 * of the answer, 0 if none came; `grpc_status`: the gRPC status, -1 if
 * not gRPC or none came; `msg`: in words, copied (cut at
 * SR_EXPORTER_ERROR_MAX - 1 bytes, bytes outside printable ASCII
 * replaced).  Never put a request header or credential in it.  An
 * export_batch that fails without calling it gets its return code's
 * sr_strerror() text; one that succeeds but reports rejected spans may
 * call it to say why.  Never fails: a NULL batch, or a call outside
 * export_batch, is ignored; a NULL msg is empty.
 */
SR_API void sr_batch_report_error(const sr_batch_t *batch, int http_status,
				  int grpc_status, const char *msg);

/* Return codes of export_batch besides 0. */
#define SR_EXPORT_RETRYABLE SR_ETIMEDOUT /* counted as failed; no retry by core */

typedef struct sr_exporter_ops {
	size_t size;            /* sizeof(sr_exporter_ops_t)              */
	uint32_t abi_version;   /* SR_EXPORTER_ABI_VERSION                */
	const char *name;       /* selection name, static                 */

	/* Create an instance.  `ud` as given to sr_exporter_register();
	 * `cfg` is the pipeline configuration (borrowed).  0 on success,
	 * else an SR_E* code, with a message via sr__set_error-like text
	 * in `err` (err_len bytes, may be left empty). */
	int (*create)(void *ud, const sr_config_t *cfg, void **state,
		      char *err, size_t err_len);

	/* Export one batch; may block up to cfg->export_timeout_ms.
	 * 0 = delivered; negative = every span of the batch failed.
	 * *rejected (preset 0) may report spans the receiver refused although
	 * the call succeeded (partial success). */
	int (*export_batch)(void *state, const sr_batch_t *batch,
			    uint64_t *rejected);

	/* Optional: push out anything buffered, within timeout_ms. */
	int (*flush)(void *state, uint32_t timeout_ms);

	/* Release the instance; nothing else is called after it. */
	void (*destroy)(void *state, uint32_t timeout_ms);

	/* Optional (appended; give `size` accordingly).  Called by
	 * sr_shutdown() from its own thread when the shutdown deadline has
	 * passed while export_batch or flush is still running: make them
	 * return promptly (abort the request, end a backoff wait).  Must be
	 * safe to call concurrently with those two. */
	void (*cancel)(void *state);

	/* Optional (appended): hooks for state an exporter keeps for the
	 * whole process, beyond any one instance (the memory exporter's kept
	 * spans).  `ud` as given to sr_exporter_register() (NULL for the
	 * built-ins).  reset: sr_init(), under its lock, before any create();
	 * forget what an earlier pipeline left.  after_fork_child: in the
	 * child of fork(), before sr_init() restarts the pipeline there; only
	 * the forking thread exists, so re-create locks rather than take them. */
	void (*reset)(void *ud);
	void (*after_fork_child)(void *ud);
} sr_exporter_ops_t;

/*
 * Make an exporter selectable by ops->name (copied table; `ud` kept).
 * Call before sr_init().  SR_EVERSION on ABI mismatch, SR_EINVAL on a
 * missing mandatory callback, SR_ELIMIT past 32 registrations, SR_ESTATE
 * if the name is taken.
 */
SR_API int sr_exporter_register(const sr_exporter_ops_t *ops, void *ud);

/* ------------------------------------------------------------------ */
/* The in-memory exporter ("memory"), for tests and embedding.         */
/* ------------------------------------------------------------------ */

/* A flattened copy of a span kept by the memory exporter. */
typedef struct sr_memory_span {
	sr_span_data_t data;       /* pointers refer to the exporter's copy */
} sr_memory_span_t;

/* Spans the memory exporter holds (up to its capacity,
 * SPANRING_MEMORY_CAPACITY, default 65536; beyond it new spans are
 * counted as exported but not kept, see sr_memory_overflow()).  Call only
 * after sr_flush() or sr_shutdown() returned, from one thread; the spans
 * survive sr_shutdown() and stay valid until sr_memory_clear() or the
 * next sr_init(). */
SR_API size_t sr_memory_count(void);
SR_API const sr_span_data_t *sr_memory_get(size_t i);
SR_API uint64_t sr_memory_overflow(void);
SR_API void sr_memory_clear(void);

#ifdef __cplusplus
}
#endif

#endif /* SPANRING_EXPORTER_H */
