/*
 * bench_floor.cc - the hardware floor a span cannot beat on this machine.
 *
 *   BM_floor_tsc   one rdtsc: the clock source the hot path reads
 *                  (sr_now_ns() is a TSC read plus a multiply-shift).
 *   BM_floor_ring  what a recorded span fundamentally is: two timestamps
 *                  and one 256-byte record (SR__RECORD_SIZE) copied into
 *                  the calling thread's SPSC ring, while a consumer thread
 *                  drains every ring into a batch buffer.  It uses the
 *                  core's own ring (ringbuf/ring_int.h: same layout, same
 *                  ck_pr fences, same capacity as the span benchmarks'
 *                  rings), and the consumer polls as the pipeline's
 *                  drainer does (an empty pass sleeps 1 us, doubling up
 *                  to the default drainer_max_sleep_us).  As in the
 *                  library, a full ring drops the record and counts it;
 *                  the producer never waits.
 *
 * What the floor leaves out, on purpose: ids, sampling, the thread's
 * registry lookup, attributes and stats; the ratio of a span benchmark to
 * BM_floor_ring is the price of those.
 */
#include "harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include <atomic>

extern "C" {
#include "record_int.h" /* the core record in the ring entries */
#include "ring_int.h"
}

SRB_HOT(BM_floor_tsc, srb::nothing, srb::nothing)
{
	benchmark::DoNotOptimize(__rdtsc());
}

namespace {

constexpr int kMaxRings = 8;

/* Rings and their memory live for the whole process; set-up resets them
 * and bumps the generation so a thread re-claims a ring per run. */
struct floor_state {
	struct sr__ring rings[kMaxRings];
	struct sr__record *mem[kMaxRings];
	uint64_t drops[kMaxRings];         /* ring's producer writes (relaxed
	                                      atomic store), probe reads    */
	uint32_t capacity;
	std::atomic<int> claimed;          /* producers claim ring indices  */
	std::atomic<uint32_t> gen;         /* set-up writes, producers read */
	std::atomic<bool> stop;            /* teardown writes, drainer reads */
	pthread_t drainer;
	uint64_t drained;                  /* drainer only                  */
};

floor_state fs;
thread_local uint32_t tl_gen;
thread_local int tl_ring;

uint64_t floor_drops()
{
	uint64_t n = 0;

	for (int i = 0; i < kMaxRings; i++)
		n += __atomic_load_n(&fs.drops[i], __ATOMIC_RELAXED);
	return n;
}

/* The consumer: drains every ring, copying each record into a batch
 * buffer as the pipeline's drainer does. */
void *floor_drainer(void *)
{
	static struct sr__record batch[512];
	sr_config_t cfg;
	uint64_t pause_ns = 0, max_pause;
	uint32_t bpos = 0;

	sr_config_init(&cfg);
	max_pause = (uint64_t)(cfg.drainer_max_sleep_us ? cfg.drainer_max_sleep_us
							: 1000) * 1000;

	while (!fs.stop.load(std::memory_order_relaxed)) {
		uint32_t got = 0;

		for (int i = 0; i < kMaxRings; i++) {
			uint32_t head, n = sr__ring_peek_sc(&fs.rings[i], &head);

			for (uint32_t k = 0; k < n; k++) {
				memcpy(&batch[bpos], sr__ring_at(&fs.rings[i], head + k),
				       SR__RECORD_SIZE);
				bpos = (bpos + 1) % 512;
			}
			if (n)
				sr__ring_release_sc(&fs.rings[i], n);
			got += n;
		}
		fs.drained += got;
		/* The pipeline drainer's policy: any work resets the pause;
		 * an empty pass sleeps 1 us, doubling up to the maximum. */
		if (got) {
			pause_ns = 0;
			continue;
		}
		pause_ns = pause_ns ? pause_ns * 2 : 1000;
		if (pause_ns > max_pause)
			pause_ns = max_pause;
		struct timespec ts = { 0, (long)pause_ns };
		nanosleep(&ts, nullptr);
	}
	return nullptr;
}

/* Until the consumer has emptied every ring. */
void floor_quiesce()
{
	for (int i = 0; i < kMaxRings; i++)
		while (sr__ring_used(&fs.rings[i]) != 0) {
			struct timespec ts = { 0, 100000 };
			nanosleep(&ts, nullptr);
		}
}

void floor_setup()
{
	fs.capacity = srb::kRingRecords;
	for (int i = 0; i < kMaxRings; i++) {
		if (!fs.mem[i]) {
			fs.mem[i] = (struct sr__record *)aligned_alloc(
				64, (size_t)fs.capacity * SR__RECORD_SIZE);
			memset(fs.mem[i], 0, (size_t)fs.capacity * SR__RECORD_SIZE);
		}
		sr__ring_init(&fs.rings[i], fs.mem[i], fs.capacity);
		fs.drops[i] = 0;
	}
	fs.claimed.store(0);
	fs.gen.fetch_add(1);
	fs.stop.store(false);
	srb::set_extra_drops(floor_drops);
	srb::set_quiesce(floor_quiesce);
	pthread_create(&fs.drainer, nullptr, floor_drainer, nullptr);
}

void floor_teardown()
{
	fs.stop.store(true);
	pthread_join(fs.drainer, nullptr);
	srb::set_extra_drops(nullptr);
	srb::set_quiesce(nullptr);
}

__attribute__((noinline)) int floor_claim()
{
	tl_gen = fs.gen.load();
	tl_ring = fs.claimed.fetch_add(1) % kMaxRings;
	return tl_ring;
}

} // namespace

/* The span's storage: the library keeps a span's first record inside the
 * caller's sr_span_t and copies it into the ring at end; the floor does
 * the same with this one. */
static thread_local struct sr__record tl_span;

SRB_HOT(BM_floor_ring, floor_setup, floor_teardown)
{
	int idx = __builtin_expect(
			  tl_gen == fs.gen.load(std::memory_order_relaxed), 1)
			  ? tl_ring
			  : floor_claim();
	struct sr__ring *r = &fs.rings[idx];
	struct sr__span_header *h = (struct sr__span_header *)tl_span.bytes;
	uint32_t first;

	h->start_ns = __rdtsc();
	h->end_ns = __rdtsc();
	if (__builtin_expect(sr__ring_reserve_sp(r, 1, &first), 1)) {
		memcpy(sr__ring_at(r, first), &tl_span, sizeof(tl_span));
		sr__ring_commit_sp(r, 1);
	} else {
		__atomic_store_n(&fs.drops[idx], fs.drops[idx] + 1,
				 __ATOMIC_RELAXED);
	}
}
