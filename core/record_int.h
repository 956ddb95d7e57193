/*
 * record_int.h - the fixed-size span record: what the hot path writes into
 * a ring and what the drainer and exporters read back.
 *
 * A finished span is a header plus a stream of 32-byte item slots, cut
 * into 256-byte records.  The first record carries the 64-byte header and
 * 6 slots; each continuation record carries 8 more slots and no header
 * (the ring publishes all records of a span at once, contiguous, so a
 * continuation never needs to say whom it belongs to):
 *
 *   record 0 (head)              record 1..n-1 (continuation)
 *   +------------------------+   +------------------------+
 *   | header        64 B     |   | slot 6+8(k-1)  32 B    |
 *   +------------------------+   |  ...                   |
 *   | slot 0 .. slot 5 6x32B |   | slot 13+8(k-1) 32 B    |
 *   +------------------------+   +------------------------+
 *
 * Because the header is exactly two slots long, the records of one span
 * laid side by side (as the drainer copies them into a batch) form one
 * contiguous slot array: a copied string that runs over a record boundary
 * is contiguous again in the batch and needs no reassembly copy.
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

#define SR__RECORD_SIZE SR__RING_RECORD_SIZE /* one ring entry */
#define SR__SLOT_SIZE 32u
#define SR__HEADER_SIZE 64u
#define SR__HEAD_SLOTS 6u   /* slots in record 0                         */
#define SR__CONT_SLOTS 8u   /* slots in each continuation record          */
#define SR__INLINE_STR 8u   /* string bytes that fit in an item's first slot */
#define SR__MAX_SPAN_RECORDS 255u

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
_Static_assert(SR__HEADER_SIZE + SR__HEAD_SLOTS * SR__SLOT_SIZE ==
		       SR__RECORD_SIZE, "head record");
_Static_assert(SR__CONT_SLOTS * SR__SLOT_SIZE == SR__RECORD_SIZE, "cont");

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
	return nslots <= SR__HEAD_SLOTS
		       ? 1u
		       : 1u + (nslots - SR__HEAD_SLOTS + SR__CONT_SLOTS - 1) /
				      SR__CONT_SLOTS;
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
