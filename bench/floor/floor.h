/*
 * floor.h - the least a span's end can do on this machine, shared by the
 * micro-benchmarks (bench_floor.cc: BM_floor_ring, BM_floor_ring_cold)
 * and the bench server's floor build (server.c, -DSRB_FLOOR).
 *
 * A floor span is a record in the core's own layout (record_int.h: a
 * 64-byte header and 32-byte item slots) held by the caller, as an
 * sr_span_t holds its records.  Its end stamps the TSC, copies the
 * records line by line with 32-byte vector moves into this thread's SPSC
 * ring (ringbuf/ring_int.h: the core's ring, same capacity as the span
 * benchmarks') and publishes them with one release store.  A full ring
 * drops the span and counts it; the producer never waits.
 *
 * The consumer is the drainer's loop with the exporting left out: each
 * pass looks at every ring once, copies each span's records into a
 * batch, gives slots back every SR__RELEASE_EVERY records, and pauses as
 * sr__drainer_pause says (default configuration), on a doorbell that a
 * producer rings when its ring passes the library's mark.  So a floor span writes
 * and shares the same lines, as often, as a library span does.
 *
 * What the floor leaves out, on purpose: sampling, the registry lookup,
 * scopes, the stats counter, everything an API adds for the caller's
 * convenience.  Ids, parents and attributes are the caller's to write.
 */
#ifndef SRB_FLOOR_H
#define SRB_FLOOR_H

#include <stdbool.h>
#include <stdint.h>
#include <x86intrin.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "record_int.h"
#include "ring_int.h"

#define SRB_FLOOR_MAX_RINGS 8
#define SRB_FLOOR_MAX_RECS 4 /* a header and up to 6 slots */

struct srb_floor_span {
	struct sr__record rec[SRB_FLOOR_MAX_RECS];
} __attribute__((aligned(64)));

struct srb_floor {
	struct sr__ring rings[SRB_FLOOR_MAX_RINGS];
	/* Each ring's producer writes (relaxed atomic store), readers sum. */
	uint64_t drops[SRB_FLOOR_MAX_RINGS];
	/* Set-up writes (relaxed: threads started after it see it);
	 * producers compare their claim's generation with it. */
	uint32_t gen;
};

extern struct srb_floor srb_floor;
extern __thread uint32_t srb_floor_tl_gen;
extern __thread int srb_floor_tl_ring;

/* Allocates the rings once, resets them and starts the consumer. */
void srb_floor_start(uint32_t ring_records);
/* Stops the consumer (the rings stay for the next start). */
void srb_floor_stop(void);
/* Spans dropped at a full ring since the last start. */
uint64_t srb_floor_drops(void);
/* Returns when the consumer has emptied every ring. */
void srb_floor_quiesce(void);
/* This thread's ring index (claimed on its first end after a start). */
int srb_floor_claim(void);

typedef unsigned char srb_floor_v32 __attribute__((vector_size(32), aligned(32)));

/* The end: stamps end time, slot count and ring, copies the span's
 * sr__records_for_slots(nslots) records in one piece (a short span's
 * wrapped part lands in the ring's overhang) and publishes them. */
static inline __attribute__((always_inline)) void
srb_floor_end(struct srb_floor_span *s, uint16_t nslots)
{
	int idx = __builtin_expect(srb_floor_tl_gen ==
					   __atomic_load_n(&srb_floor.gen, __ATOMIC_RELAXED),
				   1)
			  ? srb_floor_tl_ring
			  : srb_floor_claim();
	struct sr__ring *r = &srb_floor.rings[idx];
	struct sr__span_header *h = (struct sr__span_header *)(void *)s->rec[0].bytes;
	uint32_t nrec = sr__records_for_slots(nslots), first;

	h->end_ns = __rdtsc();
	h->nslots = nslots;
	h->tid = (uint32_t)idx;
	if (__builtin_expect(sr__ring_reserve_sp(r, nrec, &first), 1)) {
		srb_floor_v32 *d = (srb_floor_v32 *)(void *)r->records[first & r->mask].bytes;
		const srb_floor_v32 *src = (const srb_floor_v32 *)(const void *)s->rec[0].bytes;

		/* Whole records, as the library's end copies them: the bytes
		 * of a slot the span left unused are copied unread. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
		for (uint32_t k = 0; k < nrec * (SR__RECORD_SIZE / 32); k++)
			d[k] = src[k];
#pragma GCC diagnostic pop
		sr__ring_commit_sp(r, nrec);
	} else {
		__atomic_store_n(&srb_floor.drops[idx], srb_floor.drops[idx] + 1,
				 __ATOMIC_RELAXED);
	}
}

#ifdef __cplusplus
}
#endif

#endif /* SRB_FLOOR_H */
