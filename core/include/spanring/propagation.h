/*
 * propagation.h - carrying a context across process boundaries: W3C trace
 * context and baggage, B3 (single and multi header) and Jaeger, plus the
 * trace state and baggage that a context carries.
 *
 * Included by <spanring/spanring.h>; included alone, it includes that
 * first (the types it uses are there).
 *
 * A propagator writes a context into a carrier (inject) or reads one back
 * (extract).  The carrier is whatever the application already has, an
 * HTTP header map, gRPC metadata, a message header: spanring reaches it
 * only through the callbacks below, so nothing is copied into an
 * intermediate map.
 *
 * Extract never trusts its input.  A missing header yields "no context";
 * a malformed or oversized one also yields "no context" (never a partly
 * filled one), is counted in sr_propagation_stats_get(), and is rejected
 * without reading past the length limit and without allocating.
 *
 * Trace state and baggage are values of the context (sr_context_t.state_),
 * kept in a fixed-size process-wide arena (SPANRING_CONTEXT_ARENA_BYTES,
 * default 4 MiB, mapped once on first use).  They are immutable: every
 * change returns a new context and leaves the old one intact, so a
 * context may be copied by value to other threads and used there.  An
 * entry lives until the arena wraps around over it; reading a context
 * whose entry was overwritten finds no trace state / baggage and counts
 * it (`arena_stale`).  Child spans inherit both.
 *
 * None of these calls needs sr_init(): propagation works before, during
 * and after the pipeline runs.  All are thread-safe and lock-free.
 */
/* Before the guard, as spanring/static/span_inline.h does: included
 * first, this header is included again from spanring.h, whose types it
 * needs, and must then be complete where spanring.h includes it. */
#include <spanring/spanring.h>

#ifndef SPANRING_PROPAGATION_H
#define SPANRING_PROPAGATION_H

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Carriers                                                            */
/* ------------------------------------------------------------------ */

/*
 * Setter: store `key` = `value` in the carrier, replacing any previous
 * value of that key.  `key` is lowercase and NUL-terminated; `value` is
 * `value_len` bytes and also NUL-terminated.  Both are borrowed: copy
 * them if the carrier keeps them.
 */
typedef void (*sr_carrier_set_fn)(void *carrier, const char *key,
				  const char *value, size_t value_len);

/*
 * Getter: return the value of `key` and its length in *len, or NULL if
 * absent.  `key` is lowercase; HTTP carriers must compare names case-
 * insensitively.  When a field occurs several times, return the values
 * joined by "," in order (RFC 9110 section 5.3), which is how a repeated
 * `tracestate` or `baggage` is combined and how a repeated `traceparent`
 * is recognised as invalid.  The pointer need only stay valid until the
 * next call on the carrier.  A getter that does not know the length may
 * set *len = SR_CARRIER_LEN_CSTR for a NUL-terminated value: spanring
 * then reads at most one byte past the header's limit.
 */
typedef const char *(*sr_carrier_get_fn)(void *carrier, const char *key,
					 size_t *len);
#define SR_CARRIER_LEN_CSTR SIZE_MAX /* (size_t)-1, cast-free for C++ */

/* Called by a key iterator for each field; return nonzero to stop. */
typedef int (*sr_carrier_visit_fn)(void *visit_ud, const char *key,
				   size_t key_len, const char *value,
				   size_t value_len);

/*
 * Key iterator: call `visit` for every field of the carrier (value_len may
 * be SR_CARRIER_LEN_CSTR, as for the getter).  Only the Jaeger propagator
 * needs it (its baggage travels in `uberctx-<key>` fields whose names are
 * not known in advance).
 */
typedef void (*sr_carrier_keys_fn)(void *carrier, sr_carrier_visit_fn visit,
				   void *visit_ud);

typedef struct sr_carrier_getter {
	sr_carrier_get_fn get;   /* mandatory                             */
	sr_carrier_keys_fn keys; /* optional, NULL: no uberctx- baggage    */
} sr_carrier_getter_t;

/* ------------------------------------------------------------------ */
/* A stock carrier: the header fields of a message, as an array        */
/* ------------------------------------------------------------------ */

/*
 * One header field as the application's HTTP (or other) parser gave it,
 * in the order it came.  Both strings are borrowed; a length of
 * SR_CARRIER_LEN_CSTR means NUL-terminated.
 */
typedef struct sr_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
} sr_header_t;

/* The longest combined value the carrier builds: the largest field limit
 * above, so a longer combination is always rejected as oversized. */
#define SR_HEADERS_JOIN_MAX 8192

/*
 * A getter over an sr_header_t array that gets repeated fields right.
 * Names are compared case-insensitively (ASCII).  A field that occurs
 * once comes back as it is, without a copy; a field that occurs several
 * times comes back as its values joined by "," in order, RFC 9110
 * section 5.3, built in join_.  That is the only correct way to read
 * them: several `tracestate` or `baggage` lines are one list, and two
 * `traceparent` lines join to a value no traceparent can be, so the trace
 * restarts as the W3C specification requires (taking either line alone
 * would continue a trace from an ambiguous parent).  A combination longer
 * than SR_HEADERS_JOIN_MAX is cut to SR_HEADERS_JOIN_MAX + 1 bytes, which
 * every field limit rejects unread.
 *
 * Usage:
 *   sr_header_t f[] = { { "traceparent", SR_CARRIER_LEN_CSTR, v, vlen },
 *                       ... };
 *   sr_headers_t h;
 *   sr_headers_init(&h, f, n);
 *   sr_propagator_extract(p, &h, sr_headers_getter(), &ctx);
 *
 * sr_headers_t holds a 8 KiB buffer: keep it on the stack of the request
 * (one per thread at a time; a returned value stays valid until the next
 * call on the same sr_headers_t).  Its key iterator visits each distinct
 * name once, with its joined value.  No allocation, no lock.
 */
typedef struct sr_headers {
	const sr_header_t *fields;
	size_t count;
	char join_[SR_HEADERS_JOIN_MAX + 1];
} sr_headers_t;

/* Point h at count fields (borrowed until h is done with; may be NULL
 * when count is 0).  SR_EINVAL for a NULL h or fields with count > 0. */
SR_API int sr_headers_init(sr_headers_t *h, const sr_header_t *fields,
			   size_t count);

/* The getter (get + key iterator) whose carrier is an sr_headers_t. */
SR_API const sr_carrier_getter_t *sr_headers_getter(void);

/* ------------------------------------------------------------------ */
/* Propagators                                                         */
/* ------------------------------------------------------------------ */

/* Formats, also used as bits in sr_extract_info_t. */
#define SR_PROP_TRACECONTEXT 0x01u /* traceparent, tracestate          */
#define SR_PROP_BAGGAGE      0x02u /* baggage                          */
#define SR_PROP_B3           0x04u /* b3 (inject); extract: b3, x-b3-* */
#define SR_PROP_B3MULTI      0x08u /* x-b3-* (inject); extract: both   */
#define SR_PROP_JAEGER       0x10u /* uber-trace-id, uberctx-*         */

/* Limits on what extract reads (bytes of one field value, before OWS
 * trimming); a longer value is rejected unread and counted. */
#define SR_PROP_TRACEPARENT_MAX 512
#define SR_PROP_TRACESTATE_MAX 8192
#define SR_PROP_BAGGAGE_MAX 8192    /* W3C: at least 8192 must pass   */
#define SR_PROP_B3_MAX 128
#define SR_PROP_JAEGER_MAX 256
/* Kept trace state: the W3C guidance, truncated by its rules beyond. */
#define SR_TRACESTATE_MAX_BYTES 512
#define SR_TRACESTATE_MAX_MEMBERS 32
/* Kept baggage. */
#define SR_BAGGAGE_MAX_ENTRIES 180
#define SR_BAGGAGE_MAX_ENTRY_BYTES 4096 /* key + value + properties   */
#define SR_BAGGAGE_MAX_BYTES 8192       /* all entries, as stored     */

typedef struct sr_propagator sr_propagator_t;

/*
 * Create a composite propagator from a comma-separated list, in order:
 * tracecontext, baggage, b3, b3multi, jaeger, none (the OTEL_PROPAGATORS
 * names; case and blanks around names are ignored).  "none" alone, or an
 * empty list, gives a propagator that does nothing.  SR_ENOTFOUND for an
 * unknown name (described by sr_last_error(); *out is still created from
 * the known names), SR_EINVAL for NULL arguments, SR_ENOMEM.
 * Setup path: allocates; not for every request.
 */
SR_API int sr_propagator_create(const char *names, sr_propagator_t **out);
SR_API void sr_propagator_destroy(sr_propagator_t *p); /* NULL is fine */

/*
 * The process-wide propagator from OTEL_PROPAGATORS (default
 * "tracecontext,baggage"), read once on first call.  Never NULL, never
 * freed.  Unknown names are skipped and reported on stderr once.
 */
SR_API const sr_propagator_t *sr_propagator_from_env(void);

/* Formats of a propagator, as SR_PROP_* bits. */
SR_API unsigned sr_propagator_formats(const sr_propagator_t *p);

/*
 * Write `ctx` (borrowed) into the carrier with every format of `p`, in
 * order.  Trace headers are written only for a valid context; baggage
 * also for a context that carries only baggage.  Of the W3C flags the
 * sampled and random ones are sent (Level 2; the others MUST be zero).
 * Does not allocate.  Stack use: up to 21 KiB
 * when baggage is injected.
 */
SR_API void sr_propagator_inject(const sr_propagator_t *p,
				 const sr_context_t *ctx, void *carrier,
				 sr_carrier_set_fn set);

/*
 * Read a context from the carrier with every format of `p`, in order; a
 * later format that finds a valid trace context replaces an earlier one
 * (the OpenTelemetry composite rule), baggage from several formats is
 * merged (later wins per key).  *out is always written: on success it
 * holds the ids, flags, trace state and baggage with remote = 1.
 * Returns 0 if a valid trace context was found, SR_ENOTFOUND if none was
 * present, SR_EINVAL if one was present but malformed or oversized (the
 * ids in *out are then zero).  In the last two cases *out may still carry
 * baggage.  Does not allocate (the context arena is mapped once, on the
 * first valid trace state or baggage of the process).  Stack use: up to
 * 21 KiB with the baggage or jaeger format, about 1 KiB without.
 */
SR_API int sr_propagator_extract(const sr_propagator_t *p, void *carrier,
				 const sr_carrier_getter_t *getter,
				 sr_context_t *out);

/*
 * What extract saw, beyond the context itself.  `malformed` and
 * `oversized` name formats by their trace header (a bad `traceparent`
 * sets SR_PROP_TRACECONTEXT), except SR_PROP_BAGGAGE; `dropped` names
 * every field, trace header or not, that this extract found and threw
 * away, so a bad `tracestate` next to a good `traceparent` (kept: the
 * trace continues without its state) shows up here too.
 */
typedef struct sr_extract_info {
	unsigned found;      /* SR_PROP_* whose trace header was valid      */
	unsigned malformed;  /* SR_PROP_* whose header was malformed        */
	unsigned oversized;  /* SR_PROP_* whose header exceeded its limit   */
	unsigned source;     /* SR_PROP_* that supplied the ids, 0 if none  */
	/* Sampling decision sent without ids ("b3: 1", "x-b3-sampled: 0"),
	 * or the debug flag: -1 none, 0 deny, 1 accept, 2 debug. */
	int sampling;
	/* SR_EXTRACT_DROPPED(SR_PF_*) bits: fields present but discarded
	 * whole as malformed or oversized.  Members cut by the trace-state
	 * and baggage limits are only counted (sr_propagation_stats_get). */
	unsigned dropped;
} sr_extract_info_t;
#define SR_EXTRACT_DROPPED(field) (1u << (field))

SR_API int sr_propagator_extract_ex(const sr_propagator_t *p, void *carrier,
				    const sr_carrier_getter_t *getter,
				    sr_context_t *out, sr_extract_info_t *info);

/* ------------------------------------------------------------------ */
/* Trace state (W3C tracestate) of a context                           */
/* ------------------------------------------------------------------ */

/*
 * The whole trace state as a header value ("k1=v1,k2=v2", no blanks).
 * Copies up to cap - 1 bytes and a NUL into buf; *len (may be NULL) gets
 * the full length.  SR_ENOTFOUND if the context has none (or its entry
 * expired), SR_ELIMIT if cap was too small (buf holds a truncated copy).
 * buf may be NULL to ask only for presence and length.
 */
SR_API int sr_context_tracestate(const sr_context_t *ctx, char *buf,
				 size_t cap, size_t *len);

/* The value of one key, same conventions. */
SR_API int sr_context_tracestate_get(const sr_context_t *ctx, const char *key,
				     char *buf, size_t cap, size_t *len);

/*
 * Return in *out a copy of `in` whose trace state has `key` = `value`
 * moved to the front (W3C mutation rule; the 32-member and 512-byte
 * limits then drop members from the end, SR_ELIMIT if that drops the new
 * one).  SR_EINVAL if key or value break the tracestate grammar.  `in`
 * and `out` may be the same.  `in` is never changed when it is not `out`.
 */
SR_API int sr_context_tracestate_set(const sr_context_t *in, const char *key,
				     const char *value, sr_context_t *out);
SR_API int sr_context_tracestate_delete(const sr_context_t *in,
					const char *key, sr_context_t *out);

/* Replace the whole trace state by a header value (validated as extract
 * does; SR_EINVAL and nothing changed if malformed). len may be
 * SR_CARRIER_LEN_CSTR.  An empty header clears it. */
SR_API int sr_context_tracestate_parse(const sr_context_t *in,
				       const char *header, size_t len,
				       sr_context_t *out);

/* ------------------------------------------------------------------ */
/* Baggage of a context                                                */
/* ------------------------------------------------------------------ */

/* One entry: decoded key and value, raw properties ("p1;p2=v"). */
typedef struct sr_baggage_entry {
	sr_str_t key;
	sr_str_t value;
	sr_str_t metadata;
} sr_baggage_entry_t;

/* Value of `key`, conventions of sr_context_tracestate(). */
SR_API int sr_baggage_get(const sr_context_t *ctx, const char *key,
			  char *buf, size_t cap, size_t *len);

/*
 * *out = `in` with key set to value (value_len bytes, any bytes allowed:
 * it is percent-encoded on the wire; SR_CARRIER_LEN_CSTR for a C string),
 * replacing an existing entry and otherwise appending.  `metadata` (may
 * be NULL) is the property list without the leading ';'.  SR_EINVAL if
 * key is not an HTTP token or metadata breaks the property grammar,
 * SR_ELIMIT past the SR_BAGGAGE_* limits.  `in` may equal `out`.
 */
SR_API int sr_baggage_set(const sr_context_t *in, const char *key,
			  const char *value, size_t value_len,
			  const char *metadata, sr_context_t *out);
SR_API int sr_baggage_remove(const sr_context_t *in, const char *key,
			     sr_context_t *out);
/* Entries, or 0 if none / expired. */
SR_API int sr_baggage_count(const sr_context_t *ctx);

/*
 * Call cb for each entry, in order, until it returns nonzero (that value
 * is returned).  The entry's pointers are valid during the call only.
 * 0 when done, SR_ENOTFOUND if the context has no baggage.  Uses up to
 * 9 KiB of stack.
 */
SR_API int sr_baggage_foreach(const sr_context_t *ctx,
			      int (*cb)(void *ud, const sr_baggage_entry_t *e),
			      void *ud);

/* ------------------------------------------------------------------ */
/* Counters                                                            */
/* ------------------------------------------------------------------ */

/* Fields extract looks at, indices of the arrays below. */
enum sr_prop_field {
	SR_PF_TRACEPARENT = 0,
	SR_PF_TRACESTATE,
	SR_PF_BAGGAGE,
	SR_PF_B3,          /* single header "b3"                          */
	SR_PF_B3MULTI,     /* x-b3-* fields                               */
	SR_PF_JAEGER,      /* uber-trace-id                               */
	SR_PF_UBERCTX,     /* uberctx-* fields                            */
	SR_PF_COUNT
};

/*
 * Process-wide counters since start (not reset by sr_init).  Counted in
 * per-thread stripes, summed here: never contended on the request path.
 */
typedef struct sr_propagation_stats {
	size_t size;                     /* set by the caller: sizeof(...)  */
	uint64_t extract_calls;
	uint64_t inject_calls;
	uint64_t ok[SR_PF_COUNT];        /* field present and valid         */
	uint64_t malformed[SR_PF_COUNT]; /* field present and rejected      */
	uint64_t oversized[SR_PF_COUNT]; /* rejected unread: over the limit */
	uint64_t tracestate_truncated;   /* members dropped by the 512/32 rules */
	uint64_t baggage_dropped;        /* entries over the SR_BAGGAGE_* limits */
	uint64_t inject_baggage_dropped; /* entries left out of a full header */

	/* Context arena. */
	uint64_t arena_bytes;            /* size, 0 until first used         */
	uint64_t arena_allocs;           /* entries written                  */
	uint64_t arena_recycled;         /* segments reused (wrap-arounds)   */
	uint64_t arena_stale;            /* reads of an overwritten entry    */
	uint64_t arena_failed;           /* entries not stored (no memory)   */
} sr_propagation_stats_t;

/* Set out->size = sizeof(*out) first: the library writes
 * min(out->size, its sizeof) bytes and sets out->size to that
 * (docs/abi.md).  SR_EINVAL if `out` is NULL or out->size does not cover
 * extract_calls. */
SR_API int sr_propagation_stats_get(sr_propagation_stats_t *out);

#ifdef __cplusplus
}
#endif

#endif /* SPANRING_PROPAGATION_H */
