/*
 * ring.c - the out-of-line parts of the SPSC record ring (ring_int.h holds
 * the inline producer and consumer fast paths).
 */
#include "ring_int.h"

void sr__ring_init(struct sr__ring *ring, struct sr__record *records,
		   uint32_t capacity)
{
	ring->c_head = 0;
	ring->p_tail = 0;
	ring->c_cache = 0;
	ring->high_water = 0;
	ring->mask = capacity - 1;
	ring->capacity = capacity;
	ring->records = records;
}

/* Any thread: records waiting, for stats.  A racy but bounded view. */
uint32_t sr__ring_used(const struct sr__ring *ring)
{
	uint32_t head = ck_pr_load_32((uint32_t *)&ring->c_head);
	uint32_t tail = ck_pr_load_32((uint32_t *)&ring->p_tail);
	uint32_t used = tail - head;

	return used > ring->capacity ? ring->capacity : used;
}
