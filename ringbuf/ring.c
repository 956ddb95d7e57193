/*
 * ring.c - the out-of-line parts of the SPSC record ring (ring_int.h holds
 * the inline producer and consumer fast paths).
 */
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ring_int.h"

void sr__ring_init(struct sr__ring *ring, struct sr__record *records,
		   uint32_t capacity)
{
	ring->c_head = 0;
	ring->p_tail = 0;
	ring->p_look = capacity;
	ring->p_bells = 0;
	ring->high_water = 0;
	ring->mask = capacity - 1;
	ring->capacity = capacity;
	ring->mark = 0;
	ring->bell = NULL;
	ring->records = records;
}

void sr__ring_set_doorbell(struct sr__ring *ring, struct sr__doorbell *bell,
			   uint32_t mark)
{
	ring->bell = bell;
	ring->mark = mark < 1 ? 1 : mark > ring->capacity ? ring->capacity : mark;
	ring->p_look = ring->c_head + ring->mark;
}

/*
 * Producer, past p_look: the ring would be full or reach its mark by the
 * c_head last seen.  Looks at c_head; when the records already waiting
 * and these reach the mark, rings the doorbell (the consumer wakes to
 * find at least mark - n + 1 published records) and looks again only
 * where the ring would be full; otherwise at the mark.
 */
bool sr__ring_reserve_slow(struct sr__ring *ring, uint32_t n)
{
	uint32_t tail = ring->p_tail, head, used;

	head = ck_pr_load_32(&ring->c_head);
	ck_pr_fence_load();
	SR_TSAN_ACQUIRE(&ring->c_head);
	used = tail - head;
	if (ring->bell && used + n > ring->mark) {
		if (sr__doorbell_ring(ring->bell))
			ck_pr_store_64(&ring->p_bells, ring->p_bells + 1);
		ring->p_look = head + ring->capacity;
	} else {
		ring->p_look = head + (ring->bell ? ring->mark : ring->capacity);
	}
	return ring->capacity - used >= n;
}

static long futex(uint32_t *word, int op, uint32_t val,
		  const struct timespec *ts)
{
	return syscall(SYS_futex, word, op, val, ts, NULL, 0);
}

bool sr__doorbell_ring(struct sr__doorbell *bell)
{
	/* This thread's p_tail stores before the load: pairs with the
	 * fence in sr__doorbell_sleep. */
	ck_pr_fence_memory();
	if (ck_pr_load_32(&bell->asleep) == 0 ||
	    ck_pr_fas_32(&bell->asleep, 0) == 0)
		return false;
	SR_TSAN_RELEASE(&bell->asleep);
	futex(&bell->asleep, FUTEX_WAKE_PRIVATE, 1, NULL);
	return true;
}

void sr__doorbell_sleep(struct sr__doorbell *bell, uint64_t timeout_ns,
			bool (*ready)(void *), void *arg)
{
	struct timespec ts = { (time_t)(timeout_ns / 1000000000ull),
			       (long)(timeout_ns % 1000000000ull) };

	ck_pr_store_32(&bell->asleep, 1);
	/* Asleep before the look at the rings: pairs with the fence in
	 * sr__doorbell_ring. */
	ck_pr_fence_memory();
	if (!ready(arg))
		futex(&bell->asleep, FUTEX_WAIT_PRIVATE, 1, &ts);
	SR_TSAN_ACQUIRE(&bell->asleep);
	ck_pr_store_32(&bell->asleep, 0);
}

/* Any thread: records waiting, for stats.  A racy but bounded view. */
uint32_t sr__ring_used(const struct sr__ring *ring)
{
	uint32_t head = ck_pr_load_32((uint32_t *)&ring->c_head);
	uint32_t tail = ck_pr_load_32((uint32_t *)&ring->p_tail);
	uint32_t used = tail - head;

	return used > ring->capacity ? ring->capacity : used;
}
