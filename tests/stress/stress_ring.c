/*
 * stress_ring.c - the SPSC record ring against a model, two threads.
 *
 * The producer publishes "spans" of 1..4 records (the way span_end.c does:
 * reserve n, write, commit n) carrying a sequence number and a checksum
 * in every record; the consumer peeks, checks that each span arrives
 * whole, in order, with intact contents, and releases.  A full ring makes
 * the producer skip (as the hot path drops); the model counts what was
 * skipped, so consumed + skipped == produced exactly.  Fixed seed, bounded
 * by iterations.
 */
// SR_TEST_LABELS: concurrency
#include <pthread.h>
#include <string.h>

#include "ring_int.h"
#include "testutil.h"

#define SPANS 1000000u
#define CAP 64u

static struct sr__ring ring;
static struct sr__record recs[CAP];
static uint64_t seed;
static uint64_t skipped; /* producer only, read after join */

struct payload {
	uint32_t seq;      /* span sequence                   */
	uint16_t part;     /* record index within the span    */
	uint16_t nrec;
	uint64_t check;
};

static uint64_t check_of(uint32_t seq, uint16_t part)
{
	return (uint64_t)seq * 0x9e3779b97f4a7c15ull ^ part;
}

static void *producer(void *arg)
{
	uint64_t rng = seed;

	(void)arg;
	for (uint32_t seq = 0; seq < SPANS; seq++) {
		uint32_t n = 1 + (uint32_t)(sr_test_rand(&rng) % 4), first;

		/* Mostly wait for room, so most spans cross; sometimes give up
		 * at once, as the hot path does, to exercise the skip. */
		uint32_t spins = sr_test_rand(&rng) % 8 ? 100000 : 0;
		bool ok;

		while (!(ok = sr__ring_reserve_sp(&ring, n, &first)) && spins--)
			ck_pr_stall();
		if (!ok) {
			skipped++;
			continue;
		}
		for (uint32_t k = 0; k < n; k++) {
			struct sr__record *r = sr__ring_at(&ring, first + k);
			struct payload p = { seq, (uint16_t)k, (uint16_t)n,
					     check_of(seq, (uint16_t)k) };

			memcpy(r->bytes, &p, sizeof(p));
			memset(r->bytes + sizeof(p), (int)(seq & 0xff),
			       SR__RING_RECORD_SIZE - sizeof(p));
		}
		sr__ring_commit_sp(&ring, n);
	}
	/* end marker: a one-record span with seq = SPANS */
	uint32_t first;
	while (!sr__ring_reserve_sp(&ring, 1, &first))
		;
	struct payload end = { SPANS, 0, 1, check_of(SPANS, 0) };
	memcpy(sr__ring_at(&ring, first)->bytes, &end, sizeof(end));
	sr__ring_commit_sp(&ring, 1);
	return NULL;
}

int main(void)
{
	pthread_t t;
	uint64_t consumed = 0;
	int64_t last = -1;
	bool done = false;

	seed = sr_test_seed(20261122);
	sr__ring_init(&ring, recs, CAP);
	SR_CHECK(pthread_create(&t, NULL, producer, NULL) == 0);
	while (!done) {
		uint32_t head, avail = sr__ring_peek_sc(&ring, &head), used = 0;

		SR_CHECK(avail <= CAP);
		while (used < avail) {
			struct payload p;

			memcpy(&p, sr__ring_at(&ring, head + used)->bytes, sizeof(p));
			SR_CHECK(p.part == 0);                /* starts a span   */
			SR_CHECK(p.nrec >= 1 && p.nrec <= avail - used); /* whole */
			SR_CHECK((int64_t)p.seq > last);      /* in order        */
			for (uint16_t k = 0; k < p.nrec; k++) {
				struct payload q;
				const unsigned char *b =
					sr__ring_at(&ring, head + used + k)->bytes;

				memcpy(&q, b, sizeof(q));
				SR_CHECK(q.seq == p.seq && q.part == k);
				SR_CHECK(q.check == check_of(p.seq, k));
				if (p.seq != SPANS)
					SR_CHECK(b[SR__RING_RECORD_SIZE - 1] ==
						 (unsigned char)(p.seq & 0xff));
			}
			last = p.seq;
			used += p.nrec;
			if (p.seq == SPANS)
				done = true;
			else
				consumed++;
		}
		sr__ring_release_sc(&ring, used);
	}
	pthread_join(t, NULL);
	printf("produced %u spans: consumed %llu + skipped (ring full) %llu\n",
	       SPANS, (unsigned long long)consumed, (unsigned long long)skipped);
	SR_CHECK(consumed + skipped == SPANS);
	SR_CHECK(consumed > 0);
	printf("1 passed, 0 failed\n");
	return 0;
}
