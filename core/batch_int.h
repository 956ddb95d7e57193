/*
 * batch_int.h - batches (batch.c): the fixed pool the drainer fills and
 * hands to the exporter workers, and the decode of a batch's records into
 * the views exporters read (record_decode.c, next to the record layout).
 */
#ifndef SR_BATCH_INT_H
#define SR_BATCH_INT_H

#include "spanring_int.h"

struct sr__pipeline;

/*
 * A batch: contiguous copies of whole spans' records.  Open (the
 * pipeline's `cur`), the drainer alone fills it; dispatched, it is
 * read-only and shared by the exporter workers it was queued to, the queue
 * push and pop (under each exporter's lock) publishing its contents; the
 * last worker to release it returns it to the free list.
 */
struct sr__batch {
	/* Set by sr__batches_init(), read-only after. */
	struct sr__record *records;      /* batch_records entries            */
	uint32_t *first;                 /* first record of each span        */

	/* nspans: the drainer writes while the batch is open (ck_pr_store_32
	 * at each hand-off point; sr__batch_take() resets it under
	 * batch_lock); workers read it after the queue pop (plain: the queue
	 * lock ordered it); sr__batches_pending_spans() (a flusher that timed
	 * out) reads it under batch_lock with ck_pr_load_32, an estimate
	 * that may be one hand-off stale.  nrecords, opened_ns: drainer only
	 * while open, read-only once dispatched. */
	uint32_t nspans, nrecords;
	uint64_t opened_ns;              /* monotonic time of the first span */

	/* Written by the workers holding it (ck_pr atomics: refs by
	 * ck_pr_dec_int_zero, the others by CAS or store); the worker whose
	 * decrement reaches zero reads them all. */
	int refs;
	int any_ok;
	int any_failed;
	uint32_t min_rejected;
	struct sr__batch *next_free;     /* under batch_lock                 */
	/* Taken from the pool (1) or free (0): written under batch_lock,
	 * ck_pr_store_int; the crash recorder reads it without the lock
	 * (ck_pr_load_int) to find the batches whose spans are not yet
	 * accounted.  A batch is emptied (nspans 0) before it is marked
	 * taken, so the recorder never mistakes old spans for pending ones. */
	int outstanding;
	/* Bumped by each sr__batch_take (drainer, ck_pr_store_32 under
	 * batch_lock); the crash recorder reads it before and after copying
	 * the batch: a change means it was reused meanwhile (torn). */
	uint32_t gen;

	/* Processor stage (processor_stage.c); ovl and arena NULL without
	 * processors.  The drainer writes them while the batch is open (the
	 * chain runs just before the hand-off); read-only once dispatched. */
	uint32_t *ovl;                   /* per span: SR__OVL_* or offset    */
	char *arena;                     /* edited views, arena_bytes        */
	uint32_t arena_used;
	bool processed;
};

/* A static string's length and key filter bit, cached by its address
 * (record_decode.c). */
struct sr__slen {
	const char *ptr;                 /* NULL: empty                     */
	uint64_t bit;                    /* key_bit() of its bytes          */
	uint32_t len;
};
#define SR__SLEN_SLOTS 256u          /* power of two                    */

/* Decode scratch: sized for the largest span the limits allow.  Owned by
 * one thread (a worker, the drainer), made at sr_init(). */
struct sr__scratch {
	sr_attr_view_t *attrs;
	sr_event_view_t *events;
	sr_link_view_t *links;
	uint32_t cap;                    /* entries in each array            */
	/* Lengths of the static strings this scratch decoded (keys, span
	 * and event names, scope names): direct-mapped by address.  Sound
	 * because a static string's bytes do not change while the pipeline
	 * runs (the API's contract), and a new pipeline gets a new cache. */
	struct sr__slen *slen;
};

struct sr__exporter;

/* What an exporter sees as sr_batch_t: the batch plus its worker's
 * scratch, so several workers can decode one batch at once. */
struct sr_batch {
	struct sr__batch *b;
	struct sr__scratch *scratch;
	const struct sr__pipeline *pipe;
	/* A batch of a crash recording (flight_read.c): its strings, scopes,
	 * clock and resource come from the file.  NULL for a live batch. */
	struct sr__flight *flight;
	struct sr__exporter *exp;  /* whose worker holds the view; NULL in
	                              views made outside a worker         */
};

/* batch.c */
int sr__batches_init(struct sr__pipeline *p);
struct sr__batch *sr__batch_take(struct sr__pipeline *p);
void sr__batch_release(struct sr__pipeline *p, struct sr__batch *b,
		       int result, uint64_t rejected, bool shutdown);
bool sr__batch_dispatch(struct sr__pipeline *p, struct sr__batch *b);
uint64_t sr__batches_pending_spans(struct sr__pipeline *p);

/* record_decode.c: span i without attributes, events and links (a
 * full-size *out; an edited span's view comes whole). */
int sr__batch_span_head(const sr_batch_t *batch, size_t i, sr_span_data_t *out);

/* record_decode.c: decode scratch sized by cfg's limits (added to *bytes),
 * and its release. */
int sr__scratch_init(struct sr__scratch *s, const sr_config_t *cfg,
		     uint64_t *bytes);
void sr__scratch_free(struct sr__scratch *s);

#endif /* SR_BATCH_INT_H */
