/*
 * record_int.h - the fixed-size span record: what the hot path writes into
 * a ring and what the drainer and exporters read back.
 *
 * A finished span is a 64-byte header and a stream of 32-byte item slots,
 * laid out one after the other in 64-byte records (one cache line each:
 * the header fills the first, every further record holds two slots):
 *
 *   record 0      record 1         record 2         ...
 *   +----------+  +--------------+ +--------------+
 *   | header   |  | slot 0 slot 1| | slot 2 slot 3|
 *   +----------+  +--------------+ +--------------+
 *
 * So a span takes exactly the cache lines its items need: a span with two
 * attributes, the common case, is 128 bytes in the ring and in a batch,
 * and a ring of a given size holds as many such spans as its bytes allow
 * (a layout cut into fixed 256-byte records would hold half as many, its
 * unused lines riding along in every ring and batch).  The ring
 * publishes all records of a span at once, contiguous (across the ring's
 * wrap, in two pieces), so a copied string that runs from one slot into
 * the next needs no reassembly.
 *
 * A span of up to SR__CONTIG_RECORDS records (up to 14 slots: every span
 * the end writes from sr_span_t alone) lies contiguous in memory from its
 * first ring index even where its indices wrap: the ring has
 * SR__RING_OVERHANG records of memory past its end for the wrapped part,
 * and the records at the ring's start those indices name stay unused for
 * that lap.  So the end copies such a span in one piece, with no check,
 * and the drainer reads it in one.  A longer span wraps to the ring's
 * start.  sr__span_contiguous() says which; every reader of a ring
 * follows it.
 *
 * The sizes users configure (sr_config_t ring_records and
 * max_span_records) are in units of SR__CFG_RECORD_SIZE bytes, four of
 * these records: SR__CFG_RECORDS converts.
 *
 * While a span records, its stream lives in sr_span_t (header and
 * SR__INLINE_SLOTS slots) and, past that, in overflow chunks of
 * SR__CHUNK_SLOTS slots (span_int.h); the end copies them into records.
 *
 * Items (first slot of each; strings continue into the following slots):
 *
 *   ATTR       key (static), vtype, value; copied strings keep `len`
 *              bytes starting at `inl` and running on into the next
 *              slots: an item takes 1 + ceil(max(0, len - 8) / 32) slots.
 *              An array (vtype SR_ATTR_ARRAY) is laid out the same way:
 *              count = elements, v.u = element type, `len` packed bytes
 *              (sr_array_next's packing in exporter.h) from `inl` on.
 *   EVENT      key = name (static), v.u = timestamp (ns, or TSC when
 *              vtype is 1), count = number of ATTR items that follow
 *              and belong to it, len = dropped attribute count.
 *   LINK       (sr__link_item layout), count = ATTR items that follow.
 *   NAME       copied span name (string layout as ATTR).
 *   STATUS_MSG copied status message (string layout as ATTR).
 *   TRACESTATE v.u = trace-state reference from the parent context.
 *   DROPPED    (sr__dropped_item layout) span-level dropped counts.
 *
 * What this leaves out: keys are never copied (they are static by API
 * contract), so an ATTR item never carries key bytes.
 */
#ifndef SR_RECORD_INT_H
#define SR_RECORD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <spanring/spanring.h>

#include "ring_int.h" /* struct sr__record: one ring entry */

#define SR__RECORD_SIZE SR__RING_RECORD_SIZE /* one ring entry: 64 bytes */
#define SR__SLOT_SIZE 32u
#define SR__HEADER_SIZE 64u
#define SR__RECORD_SLOTS 2u /* slots in each record after the header's */
#define SR__INLINE_STR 8u   /* string bytes that fit in an item's first slot */
/* The unit of the configured sizes (ring_records, max_span_records),
 * and the records of this layout in one. */
#define SR__CFG_RECORD_SIZE 256u
#define SR__CFG_RECORDS(units) ((units) * (SR__CFG_RECORD_SIZE / SR__RECORD_SIZE))
#define SR__MAX_SPAN_RECORDS 255u /* max_span_records' upper bound, in units */
/* An overflow chunk of a recording span: slots past the inline ones. */
#define SR__CHUNK_SIZE 256u
#define SR__CHUNK_SLOTS (SR__CHUNK_SIZE / SR__SLOT_SIZE)

/* header.bits */
#define SR__HB_KIND_MASK 0x07u    /* sr_span_kind_t                       */
#define SR__HB_STATUS_SHIFT 3u    /* 2 bits: sr_status_code_t             */
#define SR__HB_STATUS_MASK 0x18u
#define SR__HB_PARENT_REMOTE 0x20u
#define SR__HB_NOT_RANDOM 0x40u   /* the W3C random flag is clear: a child
                                     of a parent without it (a trace we
                                     start has it; the sampled flag needs
                                     no bit: every recorded span is
                                     sampled)                            */
#define SR__HB_TSC 0x80u          /* start/end (and events with vtype 1)
                                     are raw TSC readings, not ns        */


/*
 * Ids are derived, not stored, on the hot path: span_id holds the seed of
 * the span's three id draws (ids_int.h), and the real span id is drawn
 * from it when someone reads it (sr_span_context, or the exporters'
 * decode: sr__header_ids).  A root span (parent_span_id all zero) draws
 * its trace id from the seed too; a child's trace_id is its parent's.
 */
struct sr__span_header {
	uint8_t trace_id[16];   /* a child's; unused (not even written) in a root */
	uint8_t span_id[8];     /* the seed                                     */
	uint8_t parent_span_id[8];
	uint64_t start_ns;
	uint64_t end_ns;
	const char *name;       /* static name; NULL when a NAME item follows */
	uint32_t tid;           /* OS id of the thread that ended the span    */
	uint16_t nslots;        /* slots used in the item stream; the span
	                           takes sr__records_for_slots(nslots) records */
	uint8_t tracer;         /* index into the tracer table (< 256)        */
	uint8_t bits;           /* kind, status, parent_remote, sampled       */
};

enum sr__item_kind {
	SR__ITEM_NONE = 0,
	SR__ITEM_ATTR = 1,
	SR__ITEM_EVENT = 2,
	SR__ITEM_LINK = 3,
	SR__ITEM_NAME = 4,
	SR__ITEM_STATUS_MSG = 5,
	SR__ITEM_TRACESTATE = 6,
	SR__ITEM_DROPPED = 7
};

/* ATTR, EVENT, NAME, STATUS_MSG, TRACESTATE. */
struct sr__item {
	uint8_t kind;
	uint8_t vtype;          /* sr_attr_type_t for ATTR                    */
	uint16_t count;         /* EVENT: attributes that follow              */
	uint32_t len;           /* copied string bytes; EVENT: dropped attrs  */
	const char *key;        /* ATTR key / EVENT name, static              */
	union {
		int64_t i;
		double d;
		uint64_t u;
		const char *s;      /* SR_ATTR_STRING_STATIC                     */
	} v;
	char inl[SR__INLINE_STR]; /* first bytes of a copied string          */
};

struct sr__link_item {
	uint8_t kind;           /* SR__ITEM_LINK                             */
	uint8_t trace_flags;
	uint16_t count;         /* attributes that follow                    */
	uint32_t dropped_attrs;
	uint8_t span_id[8];
	uint8_t trace_id[16];
};

struct sr__dropped_item {
	uint8_t kind;           /* SR__ITEM_DROPPED                          */
	uint8_t pad[3];
	uint32_t attrs;
	uint32_t events;
	uint32_t links;
	uint8_t pad2[16];
};

_Static_assert(sizeof(struct sr__span_header) == SR__HEADER_SIZE, "header");
_Static_assert(sizeof(struct sr__item) == SR__SLOT_SIZE, "item");
_Static_assert(sizeof(struct sr__link_item) == SR__SLOT_SIZE, "link");
_Static_assert(sizeof(struct sr__dropped_item) == SR__SLOT_SIZE, "dropped");
_Static_assert(SR__HEADER_SIZE == SR__RECORD_SIZE, "header record");
_Static_assert(SR__RECORD_SLOTS * SR__SLOT_SIZE == SR__RECORD_SIZE, "slots");

/* Slots an item holding a copied string of `len` bytes takes. */
static inline uint32_t sr__str_slots(uint32_t len)
{
	return len <= SR__INLINE_STR
		       ? 1u
		       : 1u + (len - SR__INLINE_STR + SR__SLOT_SIZE - 1) /
				      SR__SLOT_SIZE;
}

/* Records needed for a header plus `nslots` item slots. */
static inline uint32_t sr__records_for_slots(uint32_t nslots)
{
	return 1u + (nslots + SR__RECORD_SLOTS - 1) / SR__RECORD_SLOTS;
}

#define SR__CONTIG_RECORDS 8u
#define SR__RING_OVERHANG (SR__CONTIG_RECORDS - 1u)

/* Records of memory a ring of `capacity` records takes, its overhang
 * included. */
static inline uint32_t sr__ring_memory_records(uint32_t capacity)
{
	return capacity + SR__RING_OVERHANG;
}

/* Does a span of `nrec` records lie contiguous in ring memory (above)? */
static inline int sr__span_contiguous(uint32_t nrec)
{
	return nrec <= SR__CONTIG_RECORDS;
}

/* Item slots `nrec` records hold after the header. */
static inline uint32_t sr__slots_in_records(uint32_t nrec)
{
	return (nrec - 1u) * SR__RECORD_SLOTS;
}

/* An ATTR item's value as sr_batch_span() shows it, except a static
 * string's, which is left as it lies (pointer and len, len UINT32_MAX
 * when NUL-terminated) for the reader to resolve.  Returns the slots the
 * item takes. */
static inline __attribute__((always_inline)) uint32_t
sr__item_value(const struct sr__item *it, sr_attr_view_t *v)
{
	switch (it->vtype) {
	case SR_ATTR_BOOL:
		v->type = SR_ATTR_BOOL;
		v->v.b = it->v.u != 0;
		return 1;
	case SR_ATTR_INT:
		v->type = SR_ATTR_INT;
		v->v.i = it->v.i;
		return 1;
	case SR_ATTR_DOUBLE:
		v->type = SR_ATTR_DOUBLE;
		v->v.d = it->v.d;
		return 1;
	case SR_ATTR_STRING_STATIC:
		v->type = SR_ATTR_STRING;
		v->v.s.ptr = it->v.s;
		v->v.s.len = it->len;
		return 1;
	case SR_ATTR_ARRAY:
		/* Packed elements from inl on, laid out as a copied string. */
		v->type = SR_ATTR_ARRAY;
		v->v.a.data = it->inl;
		v->v.a.count = it->count;
		v->v.a.type = (sr_attr_type_t)it->v.u;
		return sr__str_slots(it->len);
	default:
		v->type = SR_ATTR_STRING;
		v->v.s.ptr = it->inl;
		v->v.s.len = it->len;
		return sr__str_slots(it->len);
	}
}

/*
 * Span i of a batch for an encoder that walks the item slots itself (the
 * OTLP protobuf encoder, exporters/otlp/records): the header decoded as
 * sr_batch_span() decodes it (ids drawn, times in ns, flags), the items
 * left as they lie in the batch.  Returns false when the span must be
 * read through sr_batch_span() instead: a processor's edited view, or a
 * crash recording (whose pointers are the dead process's).  Decoding the
 * items is the caller's, by sr_batch_span()'s rules (record_decode.c):
 * static strings with len UINT32_MAX are NUL-terminated, a key set twice
 * keeps its last value, a status message only with SR_STATUS_ERROR.
 */
struct sr__span_raw {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_span_id[8];   /* all zero: a root                */
	uint64_t start_ns, end_ns;
	const char *name;            /* static; NULL: a NAME item follows */
	const struct sr_tracer *tracer; /* NULL: none at that index     */
	const struct sr__item *slots;
	uint32_t nslots;
	uint8_t kind, status, trace_flags;
	bool parent_remote;
};

bool sr__batch_span_raw(const sr_batch_t *batch, size_t i,
			struct sr__span_raw *out);

#endif /* SR_RECORD_INT_H */
