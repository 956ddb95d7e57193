/*
 * stress_doorbell.c - the ring's doorbell loses no wake-up, two threads.
 *
 * The consumer drains a ring of 64 records with its mark at 32 and, each
 * time it finds the ring empty, sleeps on the doorbell with a timeout of
 * seconds.  The producer publishes spans of 1..4 records, waiting for
 * room when the ring is full (each retry looks at the consumer's index,
 * and rings if it sleeps), and now and then pauses (seeded: 1-200 us) so
 * that the consumer falls asleep in every phase of the producer's work.
 * At the end it sets a wake request and rings once, as a flush does: the
 * request, which the consumer's predicate checks after it is marked
 * asleep, is what keeps a ring that lands before the consumer sleeps from
 * being lost (the drainer's ready() checks its wake_req the same way).  A sleep that runs to its
 * timeout means a wake-up was lost (the producer crosses the mark within
 * microseconds of any pause): the test fails on the first one.  Every
 * span must also arrive whole and in order (as in stress_ring.c).
 * Fixed seed, bounded by iterations.
 */
// SR_TEST_LABELS: concurrency
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "ring_int.h"
#include "testutil.h"

#define SPANS 200000u
#define CAP 64u
#define MARK 32u
#define TIMEOUT_NS 3000000000ull

static struct sr__ring ring;
static struct sr__record recs[CAP];
static struct sr__doorbell bell;
static uint64_t seed;
static uint32_t finished; /* producer sets it (ck_pr), consumer reads */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *producer(void *arg)
{
	uint64_t rng = seed;

	(void)arg;
	for (uint32_t seq = 0; seq <= SPANS; seq++) {
		uint32_t n = seq == SPANS ? 1 : 1 + (uint32_t)(sr_test_rand(&rng) % 4);
		uint32_t first;

		while (!sr__ring_reserve_sp(&ring, n, &first))
			ck_pr_stall();
		for (uint32_t k = 0; k < n; k++) {
			uint32_t w[2] = { seq, k | n << 16 };

			memcpy(sr__ring_at(&ring, first + k)->bytes, w, sizeof(w));
		}
		sr__ring_commit_sp(&ring, n);
		if (sr_test_rand(&rng) % 512 == 0) {
			struct timespec ts = { 0, 1000 + (long)(sr_test_rand(&rng) % 200000) };

			nanosleep(&ts, NULL);
		}
	}
	/* The end marker is below the mark: a flush's request and ring. */
	ck_pr_store_32(&finished, 1);
	sr__doorbell_ring(&bell);
	return NULL;
}

static bool ready(void *arg)
{
	(void)arg;
	return ck_pr_load_32(&finished) != 0 || sr__ring_used(&ring) >= MARK;
}

int main(void)
{
	pthread_t t;
	uint32_t next = 0, sleeps = 0;
	bool done = false;

	seed = sr_test_seed(20261203);
	sr__ring_init(&ring, recs, CAP);
	sr__ring_set_doorbell(&ring, &bell, MARK);
	SR_CHECK(pthread_create(&t, NULL, producer, NULL) == 0);
	while (!done) {
		uint32_t head, avail = sr__ring_peek_sc(&ring, &head), used = 0;

		SR_CHECK(avail <= CAP);
		if (avail == 0) {
			uint64_t t0 = now_ns();

			sr__doorbell_sleep(&bell, TIMEOUT_NS, ready, NULL);
			sleeps++;
			if (now_ns() - t0 >= TIMEOUT_NS) {
				printf("lost wake-up: slept the whole timeout at "
				       "span %u, %u waiting\n", next,
				       sr__ring_used(&ring));
				SR_CHECK(false);
			}
			continue;
		}
		while (used < avail) {
			uint32_t w[2], n;

			memcpy(w, sr__ring_at(&ring, head + used)->bytes, sizeof(w));
			n = w[1] >> 16;
			SR_CHECK(w[0] == next && (w[1] & 0xffff) == 0);
			SR_CHECK(n >= 1 && n <= avail - used);
			for (uint32_t k = 1; k < n; k++) {
				memcpy(w, sr__ring_at(&ring, head + used + k)->bytes,
				       sizeof(w));
				SR_CHECK(w[0] == next && (w[1] & 0xffff) == k);
			}
			used += n;
			done = next++ == SPANS;
		}
		sr__ring_release_sc(&ring, used);
	}
	pthread_join(t, NULL);
	printf("%u spans, %u sleeps, %llu rings that woke the consumer\n",
	       SPANS, sleeps, (unsigned long long)ring.p_bells);
	SR_CHECK(sleeps > 0);
	printf("1 passed, 0 failed\n");
	return 0;
}
