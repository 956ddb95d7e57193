/*
 * ring_int.h - single-producer/single-consumer ring of fixed-size records.
 *
 * Each recording thread owns one ring (the producer); the drainer is the
 * only consumer.  Indices run freely (uint32_t, wrapping) and are masked
 * on use, so every slot of the power-of-two capacity is usable.
 *
 * Why not ck_ring itself: a span of n records must become visible to the
 * drainer all at once, or the drainer could export half a span.  ck_ring's
 * reserve/commit publishes one slot per commit; this ring keeps ck_ring's
 * shape (padded producer and consumer indices, reserve/commit split, the
 * _sp/_sc mode in every name) but commits n slots with a single
 * store-release.  All atomics are ck_pr.
 *
 * Memory-order rules (x86 makes the fences compiler barriers; they matter
 * on weaker machines):
 *   p_tail  producer writes: fence_store, then store (release).  Consumer
 *           reads: load, then fence_load (acquire).  Pairs the record
 *           writes with the record reads.
 *   c_head  consumer writes: fence_release (its record reads complete
 *           first), then store.  Producer reads: load, then fence_load,
 *           before overwriting slots.  Pairs slot reuse with the reads.
 *   p_look  producer only: the tail index past which a reservation looks
 *           at c_head again: where the ring would be full, or where it
 *           would reach its doorbell mark, by the c_head it last saw.  The
 *           producer touches the consumer's line only there, and the fast
 *           path is one compare whether or not the ring has a doorbell.
 *   doorbell (optional, shared by a consumer's rings) `asleep`: the
 *           consumer stores 1, full fence, looks at every ring, and
 *           futex-waits while it is 1; a producer whose reservation finds
 *           its ring at the mark does a full fence (its earlier p_tail
 *           stores before the load), loads it, and if 1 swaps it to 0 and
 *           wakes the consumer.  Either the consumer's look sees the
 *           producer's records or the producer sees it asleep (Dekker,
 *           both fences sequentially consistent): no lost wake-up.  The
 *           wake is rare, once per mark's worth of records at most, never
 *           per span.
 *   high_water  consumer writes (ck_pr store) what it finds waiting at
 *           each peek, the peak as far as the drainer can tell (the
 *           producer may add more while a pass copies); stats readers
 *           load.  Kept off the producer's line so the hot path does not
 *           pay for it.
 *
 * ThreadSanitizer cannot see ck_pr's inline-asm accesses, so the publish
 * and observe points also carry SR_TSAN_RELEASE / SR_TSAN_ACQUIRE marks.
 * They assert the ordering to TSan; the fences still need human review.
 *
 * Calls that may run concurrently: any one producer call with any one
 * consumer call.  Two producer calls, or two consumer calls, may not.
 * Every call is wait-free.
 */
#ifndef SR_RING_INT_H
#define SR_RING_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <ck_pr.h>

#include "tsan_int.h"

/*
 * One ring entry: SR__RING_RECORD_SIZE bytes, one cache line.  The ring
 * never looks inside; what the bytes mean is the writer's and reader's
 * business (the core's span record layout).
 */
#define SR__RING_RECORD_SIZE 64u
struct sr__record {
	_Alignas(64) unsigned char bytes[SR__RING_RECORD_SIZE];
};

/* A consumer's wake-up word (see the memory-order rules above). */
struct sr__doorbell {
	uint32_t asleep; /* consumer stores 1 / 0; producers swap 1 -> 0 */
};

struct sr__ring {
	/* consumer-written line */
	_Alignas(64) uint32_t c_head;
	uint32_t high_water;
	char pad0_[64 - 2 * sizeof(uint32_t)];

	/* producer-written line */
	_Alignas(64) uint32_t p_tail;
	uint32_t p_look;
	uint64_t p_bells;        /* producer writes (ck_pr store), stats read:
	                            doorbell rings that found the consumer
	                            asleep */
	char pad1_[64 - 2 * sizeof(uint32_t) - sizeof(uint64_t)];

	/* read-only after init */
	_Alignas(64) uint32_t mask;
	uint32_t capacity;
	uint32_t mark;           /* records waiting that ring the doorbell   */
	struct sr__doorbell *bell; /* NULL: no doorbell                      */
	struct sr__record *records;
};

/* Prepare `ring` over `records` (capacity must be a power of two), with
 * no doorbell. */
void sr__ring_init(struct sr__ring *ring, struct sr__record *records,
		   uint32_t capacity);

/* Before the ring is used: a reservation that finds `mark` (1..capacity)
 * or more records waiting rings `bell`. */
void sr__ring_set_doorbell(struct sr__ring *ring, struct sr__doorbell *bell,
			   uint32_t mark);

/* Producer: the reservation past p_look (ring.c): whether n records fit.
 * Cold, and given no pointer, so the inline fast path keeps its index in
 * a register. */
__attribute__((cold)) bool sr__ring_reserve_slow(struct sr__ring *ring,
						 uint32_t n);

/* Producer side: wake the consumer if it sleeps on `bell`.  Any thread. */
bool sr__doorbell_ring(struct sr__doorbell *bell);

/*
 * Consumer: sleep up to timeout_ns on `bell` unless `ready(arg)`, called
 * after the consumer is marked asleep, finds a reason to stay up (a ring
 * at its mark, a wake request), or a producer rings.
 */
void sr__doorbell_sleep(struct sr__doorbell *bell, uint64_t timeout_ns,
			bool (*ready)(void *), void *arg);

/* Consumer side helpers, see ring.c. */
uint32_t sr__ring_used(const struct sr__ring *ring);

/*
 * Producer: room for n records?  Returns the index of the first one to
 * write (with sr__ring_at), or false when the ring lacks n free slots.
 */
static inline bool sr__ring_reserve_sp(struct sr__ring *ring, uint32_t n,
				       uint32_t *first)
{
	uint32_t tail = ring->p_tail; /* own field */

	if (__builtin_expect((int32_t)(tail + n - ring->p_look) > 0, 0) &&
	    !sr__ring_reserve_slow(ring, n))
		return false;
	*first = tail;
	return true;
}

/*
 * Producer, for a fast path that must make no call: the reservation while
 * the ring is short of its look index; false means "reserve with
 * sr__ring_reserve_sp" (the ring may be full, or at its mark), never a
 * drop by itself.
 */
static inline bool sr__ring_reserve_fast_sp(const struct sr__ring *ring,
					    uint32_t n, uint32_t *first)
{
	uint32_t tail = ring->p_tail; /* own field */

	*first = tail;
	return (int32_t)(ring->p_look - tail) >= (int32_t)n;
}

static inline struct sr__record *sr__ring_at(const struct sr__ring *ring,
					     uint32_t index)
{
	return &ring->records[index & ring->mask];
}

/* Producer: publish the n records written since the reservation. */
static inline void sr__ring_commit_sp(struct sr__ring *ring, uint32_t n)
{
	SR_TSAN_RELEASE(&ring->p_tail);
	ck_pr_fence_store(); /* records before the index; pairs with peek_sc */
	ck_pr_store_32(&ring->p_tail, ring->p_tail + n);
}

/* Consumer: how many records are published and not yet consumed; *head
 * receives the consumer index to read from. */
static inline uint32_t sr__ring_peek_sc(struct sr__ring *ring,
					uint32_t *head)
{
	uint32_t tail = ck_pr_load_32(&ring->p_tail);

	ck_pr_fence_load(); /* index before records; pairs with commit_sp */
	SR_TSAN_ACQUIRE(&ring->p_tail);
	*head = ring->c_head;
	if (tail - *head > ring->high_water)
		ck_pr_store_32(&ring->high_water, tail - *head);
	return tail - *head;
}

/* Consumer: give back the next n records read since the last peek.  One
 * peek may be followed by several releases, in order, as long as they add
 * up to no more than it returned: the producer gets room back as soon as
 * each step is read. */
static inline void sr__ring_release_sc(struct sr__ring *ring, uint32_t n)
{
	SR_TSAN_RELEASE(&ring->c_head);
	ck_pr_fence_release(); /* reads done before slots are reused */
	ck_pr_store_32(&ring->c_head, ring->c_head + n);
}

#endif /* SR_RING_INT_H */
