/*
 * flight_int.h - the crash flight recorder's file (docs/flight-recorder.md):
 * its layout, shared by the writer (flight_record.c, a signal handler)
 * and the reader (flight_read.c, spanring-recover), and the span walk
 * both use to know a span's strings and whether its items hold together.
 *
 * A file is a fixed header, then sections, each a 16-byte section header
 * and `len` bytes.  All integers are in the writing machine's byte order
 * (the records are copied raw); the reader refuses another order or
 * pointer size.  What the handler writes, in order:
 *
 *   header      magic, version, pid, signal, clock calibration, counters
 *   RESOURCE    the resource attributes, serialised at init
 *   RING  ...   per ring with published records: head, tail, the records
 *   CHECK       per ring: the producer's tail once the records were written
 *   BATCH ...   per batch not yet accounted (open or with the exporters)
 *   CHECK       per batch: its generation once the records were written
 *   SCOPE ...   the tracer table (name, version)
 *   STRING ...  every string a written record points at, copied bounded
 *   END         what the dump wrote; missing: the dump was cut short
 *   (header)    the spans written, filled in last
 *
 * Records go before strings: a fault while copying a string (the one
 * place the handler reads memory it does not own) loses names, not spans.
 */
#ifndef SR_FLIGHT_INT_H
#define SR_FLIGHT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "batch_int.h"
#include "record_int.h"
#include "spanring_int.h"

#define SR__FLIGHT_MAGIC "SRFLIGHT"
/* Version of this file layout and of the record layout in it
 * (record_int.h): bump when either changes. */
#define SR__FLIGHT_VERSION 2u
#define SR__FLIGHT_BYTE_ORDER 0x01020304u

enum sr__flight_sec {
	SR__FSEC_RESOURCE = 1,
	SR__FSEC_RING = 2,
	SR__FSEC_BATCH = 3,
	SR__FSEC_CHECK = 4,
	SR__FSEC_SCOPE = 5,
	SR__FSEC_STRING = 6,
	SR__FSEC_END = 7,
};

/* At offset 0. */
struct sr__flight_header {
	char magic[8];              /* SR__FLIGHT_MAGIC, no NUL           */
	uint32_t version;           /* SR__FLIGHT_VERSION                 */
	uint32_t header_size;       /* sizeof(struct sr__flight_header)   */
	uint32_t record_size;       /* SR__RECORD_SIZE                    */
	uint32_t byte_order;        /* SR__FLIGHT_BYTE_ORDER as written   */
	uint32_t pointer_size;      /* sizeof(void *)                     */
	uint32_t pid;
	int32_t signo;
	int32_t si_code;
	uint64_t fault_addr;        /* si_addr                            */
	uint64_t crash_tid;         /* thread that took the signal        */
	uint64_t crash_ns;          /* CLOCK_REALTIME at the dump          */
	/* TSC calibration (clock_int.h): ns = ns_base + ((tsc - tsc_base) *
	 * mult >> shift).  clock_torn: the drainer was rewriting it and the
	 * copy may mix two calibrations (a few ns apart at most). */
	struct sr__clock_params clock;
	uint32_t clock_torn;
	uint32_t max_threads, ring_records, nbatches;
	/* Accounting of the pipeline when the dump began (sr_stats_t's
	 * meaning).  Every sampled span is in exactly one of: exported, a
	 * dropped_* reason, or the records this file holds. */
	uint64_t started, sampled, exported;
	uint64_t dropped_ring_full, dropped_limits, dropped_queue_full;
	uint64_t dropped_exporter, dropped_shutdown, dropped_reentrant;
	uint64_t records_discarded;
	/* The spans this file holds, as the recorder counted them while it
	 * wrote (duplicates and torn ones included): filled in when the dump
	 * is complete (lseek back, write), 0 if it was cut short. */
	uint64_t recorded_in_rings, recorded_in_batches;
	/* Sampled spans started and not yet ended (sr_stats_t.open): in no
	 * ring or batch, so in no recording.  0 in files of recorders that
	 * did not write it (it was reserved). */
	uint64_t open;
	uint64_t reserved[5];
};
_Static_assert(sizeof(struct sr__flight_header) == 256, "flight header");

struct sr__flight_section {
	uint32_t type;              /* enum sr__flight_sec                */
	uint32_t arg;               /* per type, below                    */
	uint64_t len;               /* bytes that follow                  */
};

/* RING: this, then (tail - head) records from ring index head on. */
struct sr__flight_ring {
	uint32_t index;             /* node index                         */
	uint32_t capacity;          /* ring_records                       */
	uint32_t head, tail;        /* consumer / producer index read     */
	uint64_t tid;               /* last owner's OS tid                */
};

/* BATCH: this, then first[nspans] (uint32_t, padded to 8 bytes), then
 * nrecords records. */
struct sr__flight_batch {
	uint32_t index;             /* in the pipeline's pool             */
	uint32_t gen;               /* batch generation (sr__batch_take)  */
	uint32_t nspans, nrecords;
	uint32_t open;              /* the drainer's open batch           */
	uint32_t pad;
};

/* CHECK (arg: SR__FSEC_RING or SR__FSEC_BATCH): read again once the
 * records were written.  Ring: the producer's tail; records below
 * tail - capacity may have been overwritten while they were copied.
 * Batch: its generation; another one means it was reused meanwhile. */
struct sr__flight_check {
	uint32_t index;
	uint32_t value;
};

/* SCOPE (arg: tracer index): name_len bytes of name, version_len bytes
 * of version. */
struct sr__flight_scope {
	uint32_t name_len, version_len;
};

/* STRING: the bytes at `addr` in the dead process, `len` of them. */
#define SR__FSTR_TRUNCATED 1u       /* longer than the bound            */
#define SR__FSTR_UNREADABLE 2u      /* not mapped: len is 0             */
struct sr__flight_string {
	uint64_t addr;
	uint32_t len;
	uint32_t flags;
};

/* RESOURCE: count (arg) entries, each this, then key_len + str_len bytes. */
struct sr__flight_attr {
	uint32_t key_len;
	uint32_t str_len;           /* SR_ATTR_STRING: value bytes        */
	uint32_t type;              /* sr_attr_type_t                     */
	uint32_t pad;
	uint64_t value;             /* bool, int, double bits             */
};

struct sr__flight_end {
	uint64_t spans_in_rings, spans_in_batches;
	uint64_t records;
	uint64_t strings, strings_unreadable, strings_truncated;
	uint64_t strings_dropped;   /* past the string table's capacity   */
};

/* An array item's packed elements (exporter.h's packing) stay within its
 * `len` bytes, so sr_array_next never reads past them. */
static inline bool sr__flight_array_fits(const struct sr__item *it)
{
	const unsigned char *p = (const unsigned char *)it->inl;
	uint64_t at = 0, len = it->len;

	for (uint32_t k = 0; k < it->count; k++) {
		uint32_t sl;

		switch (it->v.u) {
		case SR_ATTR_BOOL:
			at += 1;
			break;
		case SR_ATTR_INT:
		case SR_ATTR_DOUBLE:
			at += 8;
			break;
		default:
			if (at + 4 > len)
				return false;
			memcpy(&sl, p + at, 4);
			at += 4 + (uint64_t)sl;
			break;
		}
		if (at > len)
			return false;
	}
	return true;
}

/*
 * Walk the items of the span whose header is `h` and whose item slots may
 * run for at most `max_slots` (what the records that were published or
 * copied hold): false if its slot count or an item does not fit, so a
 * decoder would read past the span.  For each string the span names by
 * pointer, calls str(arg, ptr, len): len is the byte count of a static
 * value, UINT32_MAX for a NUL-terminated name or key.  Reads only the
 * span's own bytes: async-signal-safe.
 */
static inline bool sr__flight_span_walk(const struct sr__span_header *h,
					uint32_t max_slots,
					void (*str)(void *, const char *,
						    uint32_t),
					void *arg)
{
	const struct sr__item *slots =
		(const struct sr__item *)(const void *)((const char *)h +
							 SR__HEADER_SIZE);
	uint32_t n = h->nslots, j = 0;

	if (n > max_slots)
		return false;
	if (h->name && str)
		str(arg, h->name, UINT32_MAX);
	while (j < n) {
		const struct sr__item *it = &slots[j];
		uint32_t take = 1;

		switch (it->kind) {
		case SR__ITEM_ATTR:
			if (str && it->key)
				str(arg, it->key, UINT32_MAX);
			if (it->vtype == SR_ATTR_STRING_STATIC) {
				if (str && it->v.s)
					str(arg, it->v.s, it->len);
			} else if (it->vtype != SR_ATTR_BOOL &&
				   it->vtype != SR_ATTR_INT &&
				   it->vtype != SR_ATTR_DOUBLE) {
				if (it->len > n * SR__SLOT_SIZE)
					return false;
				take = sr__str_slots(it->len);
				if (take <= n - j && it->vtype == SR_ATTR_ARRAY &&
				    !sr__flight_array_fits(it))
					return false;
			}
			break;
		case SR__ITEM_EVENT:
			if (str && it->key)
				str(arg, it->key, UINT32_MAX);
			break;
		case SR__ITEM_NAME:
		case SR__ITEM_STATUS_MSG:
			take = sr__str_slots(it->len);
			if (it->len > n * SR__SLOT_SIZE)
				return false;
			break;
		default:
			break;
		}
		if (take > n - j)
			return false;
		/* A copied string runs from inl to the end of its slots. */
		j += take;
	}
	return true;
}

/* ---- writer (flight_record.c) ------------------------------------------ */

struct sr__pipeline;

/* sr_init, after the pipeline is built and before it is published: open
 * the file, preallocate, install the handlers.  0, or SR_EIO / SR_ENOMEM
 * with sr_last_error() naming the variable and path (the pipeline runs
 * on without the recorder). */
int sr__flight_start(struct sr__pipeline *p);
/* sr_shutdown, before the pipeline is freed: disarm, restore the
 * handlers that are still ours, close the file. */
void sr__flight_stop(struct sr__pipeline *p);
/* Fork child: the inherited recorder describes the parent; forget it
 * without touching the parent's file. */
void sr__flight_forget(void);

/* ---- reader (flight_read.c) --------------------------------------------- */

/* A recording parsed for decoding (flight_read.c).  Everything points
 * into the caller's copy of the file or into memory the reader owns. */
struct sr__flight_str {
	uint64_t addr;              /* in the dead process                */
	const char *bytes;
	uint32_t len;
	uint32_t flags;             /* SR__FSTR_*                         */
};

struct sr__flight {
	struct sr__flight_header hdr;   /* valid when have_hdr               */
	struct sr__flight_end end;      /* valid when have_end: else the dump
	                                   was cut short                     */
	bool have_hdr, have_end;
	bool truncated;                 /* a section ran past the end        */
	char why[160];                  /* first problem met, "" if none     */

	struct sr__flight_str *strs;    /* sorted by addr                    */
	uint32_t nstrs;
	sr_str_t scope_name[SR_MAX_TRACERS], scope_version[SR_MAX_TRACERS];
	sr_attr_view_t *res;
	uint32_t nres;

	/* Spans that passed every check, deduplicated, in file order: their
	 * records side by side, as in a batch, decoded in place. */
	struct sr__record *recs;
	uint32_t *first;
	uint32_t nspans;
	uint64_t from_rings, from_batches;

	/* What could not be used. */
	uint64_t torn;          /* overwritten while being written         */
	uint64_t malformed;     /* slot counts or items that do not fit    */
	uint64_t duplicates;    /* in a ring and a batch both (kept once)  */
	uint64_t records_lost;  /* ring records past a span that broke     */
	uint64_t strings_missing; /* pointers with no copied string: the
	                             decode counts them (not thread-safe)  */
};

/* Parse the `len` bytes at `buf` (kept, not copied).  0 when there is
 * something to recover (f->why may still describe a problem, such as a
 * truncated file); SR_EINVAL with f->why when the file is not a
 * recording or holds nothing usable, SR_ENOMEM.  Frees nothing on
 * failure: call sr__flight_free either way. */
int sr__flight_parse(struct sr__flight *f, const void *buf, size_t len);
void sr__flight_free(struct sr__flight *f);

/* A batch over spans [start, start + n) of the recording, for
 * sr_batch_span() (and an exporter's export_batch).  `b`, `view` and
 * `scratch` are the caller's; the scratch from sr__flight_scratch_init. */
void sr__flight_view(struct sr__flight *f, uint32_t start, uint32_t n,
		     struct sr__batch *b, struct sr__scratch *scratch,
		     struct sr_batch *view);
int sr__flight_scratch_init(struct sr__scratch *s);

/* record_decode.c's hooks for a recording's batch. */
sr_str_t sr__flight_string(struct sr__flight *f, const char *addr,
			   uint32_t len);
uint64_t sr__flight_tsc_to_ns(const struct sr__flight *f, uint64_t tsc);

#endif /* SR_FLIGHT_INT_H */
