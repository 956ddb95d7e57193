/*
 * otlp_int.h - OTLP trace encoders (protobuf and JSON) shared by the OTLP
 * exporter, its tests and its benchmark.
 *
 * An encoder turns spans into one ExportTraceServiceRequest body.  It is
 * fed one span at a time (sr_batch_span() views are only valid until the
 * next call, so nothing may be kept by pointer) and writes each span at
 * once, in its final wire form, into one reusable buffer ("area"):
 *
 *   area:  [ headroom ][ span 0 ][ span 1 ] ... [ span n-1 ]
 *                    ^ request prefix (resource, scope) written here
 *                      at finish, right-aligned against span 0
 *
 * When every span of the batch comes from one instrumentation scope (the
 * usual case) the body is the area itself: the prefix fills the headroom
 * and nothing is copied.  With several scopes, finish() gathers the spans
 * of each scope, in order of first appearance, into a second buffer (one
 * memcpy per span).  Spans keep their batch order within a scope.  The
 * pipeline has one resource, so a request holds one ResourceSpans.
 *
 * No per-span allocation: the buffers grow to the largest batch seen and
 * are then reused; each span reserves its worst-case size once and is
 * written without bounds checks.
 *
 * Left out: schema_url (spanring has none), link trace_state (links carry
 * none in sr_link_view_t), array/kvlist/bytes attribute values (the API has
 * none).
 */
#ifndef SR_OTLP_INT_H
#define SR_OTLP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <spanring/spanring.h>

#include "json_writer_int.h"

enum sr__otlp_format {
	SR__OTLP_PROTOBUF = 0,
	SR__OTLP_JSON = 1
};

/* OTLP Span.flags bits above the W3C trace flags (trace.proto SpanFlags). */
#define SR__OTLP_FLAG_HAS_IS_REMOTE 0x100u
#define SR__OTLP_FLAG_IS_REMOTE 0x200u

/* One encoded span in the area. */
struct sr__otlp_ref {
	uint32_t group;         /* index into groups                        */
	uint32_t off;           /* first byte (JSON: after the comma)        */
	uint32_t len;
};

/* One instrumentation scope seen in the batch. */
struct sr__otlp_group {
	const sr_tracer_t *tracer; /* NULL: matched by name/version bytes  */
	uint32_t scope_off;     /* encoded scope in enc->scopes              */
	uint32_t scope_len;
	uint32_t key_off;       /* raw name\0version for NULL-tracer match  */
	uint32_t key_len;
	uint64_t span_bytes;    /* sum of the group's span entries           */
	uint32_t spans;
};

/* A static string (attribute key, span name) the record encoder met,
 * by address (records/otlp_pb_records.c).  128 bytes: the index scales
 * by a shift. */
struct sr__otlp_key {
	const char *ptr;        /* sr__otlp_no_key: an empty entry          */
	uint32_t len;           /* strlen                                   */
	uint32_t fast;          /* len when the attribute fast paths take
	                           the key (clean and short), else
	                           SR__OTLP_KEY_SLOW: one compare checks both */
	uint64_t bit;           /* duplicate-key filter bit (of hash)       */
	uint64_t hash;          /* of the bytes: copies of one key agree    */
	bool clean;             /* valid UTF-8: written as is               */
	uint8_t word;           /* the filter word of `bit` (hash >> 62)    */
	char kv[88];            /* fast: a span attribute's KeyValue up to
	                           its key's end, [tag][0][key tag][len][key],
	                           the 0 being the KeyValue length, patched */
};
_Static_assert(sizeof(struct sr__otlp_key) == 128, "the cache's index is a shift");
#define SR__OTLP_KEY_SLOW 0x10000u
extern const char sr__otlp_no_key[1]; /* no key's address (not even NULL) */
#define SR__OTLP_KEY_BITS 8     /* 256 entries, 32 KiB                  */
#define SR__OTLP_TMPL 32        /* keys of a span the template follows   */

struct sr__otlp_enc {
	enum sr__otlp_format format;
	struct sr__buf area;    /* headroom + span entries                   */
	struct sr__buf out;     /* assembled body for multi-scope batches    */
	struct sr__buf resource;/* encoded Resource message (cached)         */
	struct sr__buf scopes;  /* encoded scopes + group keys, per batch    */
	struct sr__buf refs;    /* struct sr__otlp_ref[], per batch          */
	struct sr__otlp_group *groups; /* grows by doubling                   */
	uint32_t ngroups;
	uint32_t groups_cap;
	uint32_t last_group;
	uint16_t group_of_tracer[SR_MAX_TRACERS]; /* tracer index -> group+1 */
	const sr_attr_view_t *res_attrs; /* cache key of `resource`          */
	uint32_t res_count;
	size_t headroom;        /* prefix room before span 0                 */
	size_t nspans;
	uint64_t invalid_utf8;  /* strings sanitised, this batch             */
	int err;                /* first error of this batch (SR_ENOMEM)    */
	uint64_t from_records;  /* spans written from records, ever         */
	struct sr__otlp_key keys[1u << SR__OTLP_KEY_BITS];
	/* The span-level keys of the last span written from its records,
	 * in order and without a repeat (records/otlp_pb_records.c): a
	 * span whose keys start the same way takes their entries from here,
	 * with no cache lookup and no duplicate check.  Emptied whenever an
	 * entry of `keys` is (re)filled, which could make one stale. */
	struct sr__otlp_tmpl {
		const char *key;
		const struct sr__otlp_key *k;
	} tmpl[SR__OTLP_TMPL];
	uint32_t tmpl_n;
};

int sr__otlp_enc_init(struct sr__otlp_enc *e, enum sr__otlp_format f);
void sr__otlp_enc_free(struct sr__otlp_enc *e);

/* Start a request for spans of this resource (borrowed; re-encoded only
 * when the pointer or count changes). */
int sr__otlp_enc_begin(struct sr__otlp_enc *e, const sr_attr_view_t *res,
		       uint32_t nres);
/* Append one span (borrowed; fully copied before return). */
int sr__otlp_enc_add(struct sr__otlp_enc *e, const sr_span_data_t *s);
/* The body; valid until the next begin().  0 or SR_ENOMEM. */
int sr__otlp_enc_finish(struct sr__otlp_enc *e, const char **body,
			size_t *len);

/* Append span i of `batch` (protobuf only), written from its records
 * (records/otlp_pb_records.c); the same bytes as sr_batch_span() and
 * sr__otlp_enc_add(), which it falls back on for what it does not
 * write itself. */
int sr__otlp_pb_add_record(struct sr__otlp_enc *e, const sr_batch_t *batch,
			   size_t i);

/* The two halves of sr__otlp_enc_add() around the span's bytes, for the
 * record encoder: open finds the group of tracer t's spans (creating it
 * with the tracer's scope) and reserves the entry's bookkeeping; close
 * records the entry written at [off, off + len) of the area.  Inline:
 * both run once per span. */
int sr__otlp_enc_open_scope(struct sr__otlp_enc *e, const sr_tracer_t *t,
			    uint32_t *g);

static inline int sr__otlp_enc_open_tracer(struct sr__otlp_enc *e,
					   const sr_tracer_t *t, uint32_t *g)
{
	/* The usual case, a span of the previous span's tracer, reads no
	 * scope string. */
	if (__builtin_expect(t && e->nspans && e->format == SR__OTLP_PROTOBUF &&
				     !e->err && e->groups[e->last_group].tracer == t,
			     1)) {
		if (sr__buf_reserve(&e->refs, sizeof(struct sr__otlp_ref)))
			return e->err = SR_ENOMEM;
		*g = e->last_group;
		return 0;
	}
	return sr__otlp_enc_open_scope(e, t, g);
}

static inline void sr__otlp_enc_close(struct sr__otlp_enc *e, uint32_t g,
				      size_t off, size_t len)
{
	struct sr__otlp_ref *ref =
		(struct sr__otlp_ref *)(void *)(e->refs.data + e->refs.len);

	ref->group = g;
	ref->off = (uint32_t)off;
	ref->len = (uint32_t)len;
	e->refs.len += sizeof(*ref);
	e->groups[g].span_bytes += len;
	e->groups[g].spans++;
	e->nspans++;
}

/* begin + add each + finish: the entry point for tests and benchmarks that
 * build span arrays by hand. */
int sr__otlp_encode(struct sr__otlp_enc *e, const sr_attr_view_t *res,
		    uint32_t nres, const sr_span_data_t *spans, size_t n,
		    const char **body, size_t *len);

/* ---- per-format pieces (otlp_proto.c, otlp_json.c) -------------------
 * Each appends to `out` and adds the strings it had to sanitise to *bad.
 * 0 or SR_ENOMEM. */

/* Resource message body (proto) / "resource" object (JSON). */
int sr__otlp_pb_resource(struct sr__buf *out, const sr_attr_view_t *a,
			 uint32_t n, uint64_t *bad);
int sr__otlp_json_resource(struct sr__buf *out, const sr_attr_view_t *a,
			   uint32_t n, uint64_t *bad);
/* InstrumentationScope message body / "scope" object. */
int sr__otlp_pb_scope(struct sr__buf *out, sr_str_t name, sr_str_t version,
		      uint64_t *bad);
int sr__otlp_json_scope(struct sr__buf *out, sr_str_t name, sr_str_t version,
			uint64_t *bad);
/* One span entry: proto = ScopeSpans.spans field (tag, length, Span);
 * JSON = the span object.  Sets the entry's offset and length in `out`. */
int sr__otlp_pb_span(struct sr__buf *out, const sr_span_data_t *s,
		     uint64_t *bad, size_t *off, size_t *len);
int sr__otlp_json_span(struct sr__buf *out, const sr_span_data_t *s,
		       uint64_t *bad, size_t *off, size_t *len);

/* Request framing around the groups, see otlp_encode.c. */
size_t sr__otlp_pb_prefix_max(size_t res_len, size_t scope_len);
size_t sr__otlp_json_prefix_max(size_t res_len, size_t scope_len);

/* ---- responses ------------------------------------------------------- */

/*
 * Parse an ExportTraceServiceResponse (protobuf or JSON) for
 * partial_success.rejected_spans and error_message.  Returns 0 (fields
 * absent means 0 rejected), or SR_EINVAL for a malformed body.  `msg`
 * receives up to msg_len-1 bytes of error_message (may be NULL).
 */
int sr__otlp_parse_response(enum sr__otlp_format f, const char *body,
			    size_t len, uint64_t *rejected, char *msg,
			    size_t msg_len);
int sr__otlp_pb_parse_response(const char *body, size_t len,
			       uint64_t *rejected, char *msg, size_t msg_len);
int sr__otlp_json_parse_response(const char *body, size_t len,
				 uint64_t *rejected, char *msg,
				 size_t msg_len);

/* protobuf varint size of v (1..10): 7 bits a byte, without a loop
 * ((bits * 9 + 64) / 64 = ceil(bits / 7) for bits in 1..64). */
static inline size_t sr__pb_varint_size(uint64_t v)
{
	unsigned bits = 64u - (unsigned)__builtin_clzll(v | 1);

	return (bits * 9u + 64u) / 64u;
}

static inline char *sr__pb_put_varint(char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (char)v;
	return p;
}

#endif /* SR_OTLP_INT_H */
