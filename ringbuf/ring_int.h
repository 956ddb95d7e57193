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
 *   c_cache producer only: its last seen c_head, so the producer touches
 *           the consumer's cache line only when the ring looks full.
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
 * One ring entry: SR__RING_RECORD_SIZE bytes, cache-line aligned (4
 * lines).  The ring never looks inside; what the bytes mean is the
 * writer's and reader's business (the core's span record layout).
 */
#define SR__RING_RECORD_SIZE 256u
struct sr__record {
	_Alignas(64) unsigned char bytes[SR__RING_RECORD_SIZE];
};

struct sr__ring {
	/* consumer-written line */
	_Alignas(64) uint32_t c_head;
	uint32_t high_water;
	char pad0_[64 - 2 * sizeof(uint32_t)];

	/* producer-written line */
	_Alignas(64) uint32_t p_tail;
	uint32_t c_cache;
	char pad1_[64 - 2 * sizeof(uint32_t)];

	/* read-only after init */
	_Alignas(64) uint32_t mask;
	uint32_t capacity;
	struct sr__record *records;
};

/* Prepare `ring` over `records` (capacity must be a power of two). */
void sr__ring_init(struct sr__ring *ring, struct sr__record *records,
		   uint32_t capacity);

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

	if (ring->capacity - (tail - ring->c_cache) < n) {
		ring->c_cache = ck_pr_load_32(&ring->c_head);
		ck_pr_fence_load();
		SR_TSAN_ACQUIRE(&ring->c_head);
		if (ring->capacity - (tail - ring->c_cache) < n)
			return false;
	}
	*first = tail;
	return true;
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
