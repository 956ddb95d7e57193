/*
 * bench_floor.cc - the hardware floor a span cannot beat on this machine.
 *
 *   BM_floor_tsc   one rdtsc: the clock source the hot path reads
 *                  (sr_now_ns() is a TSC read plus a multiply-shift).
 *   BM_floor_ring  what the end of a BM_span_2attrs span must do at the
 *                  least, and nothing else: two TSC readings (start and
 *                  end), the record's end fields (end, slot count, thread
 *                  id), and the same record bytes (a 64-byte header and
 *                  two 32-byte items: 128 bytes, two cache lines) copied
 *                  into the thread's ring and consumed by the drainer's
 *                  own loop: floor/floor.h, which the bench server's
 *                  floor build shares.
 *   BM_floor_ring_cold  the same end with the ring's lines cold, as in a
 *                  server whose spans are far apart (a request's own work
 *                  and the drainer's reads have taken the lines away):
 *                  before each end, untimed, the two lines it will write
 *                  are flushed from every cache (clflush + mfence); each
 *                  end is then timed alone between serialising TSC reads
 *                  (rdtscp, lfence), less the same reads around nothing
 *                  (median of many, measured at set-up).  Manual time, so
 *                  the flush and the consumer's catch-up are not in it;
 *                  its instructions are BM_floor_ring's.
 *
 * What the floor leaves out, on purpose: ids, sampling, the thread's
 * registry lookup, the attribute writes, scopes and the per-thread stats
 * counter; the ratio of a span benchmark to BM_floor_ring is the price of
 * those.  It must stay below every span benchmark (report.py checks).
 */
#include "harness.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>

#include "floor/floor.h"

SRB_HOT(BM_floor_tsc, srb::nothing, srb::nothing)
{
	benchmark::DoNotOptimize(__rdtsc());
}

namespace {

/* The record BM_span_2attrs writes: header + two one-slot items. */
constexpr uint16_t kSlots = 2;
static_assert(SR__HEADER_SIZE + kSlots * SR__SLOT_SIZE == 128, "two cache lines");

void floor_setup()
{
	srb_floor_start(SR__CFG_RECORDS(srb::kRingRecords));
	srb::set_extra_drops(srb_floor_drops);
	srb::set_quiesce(srb_floor_quiesce);
}

void floor_teardown()
{
	srb_floor_stop();
	srb::set_extra_drops(nullptr);
	srb::set_quiesce(nullptr);
}

} // namespace

/* The span's storage: the library keeps a span's records inside the
 * caller's sr_span_t and copies them into the ring at end; the floor does
 * the same with this, holding BM_span_2attrs's slot count. */
static thread_local struct srb_floor_span tl_span;

/* The span end's minimum (see the top of the file).  Out of line and
 * cloned for AVX2 as sr__span_end is: one call, one 32-byte move per half
 * line where the CPU has AVX2. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
	!defined(__SANITIZE_THREAD__) && !defined(__SANITIZE_ADDRESS__)
#define FLOOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FLOOR_CLONES
#endif
__attribute__((noinline)) FLOOR_CLONES void floor_end(void)
{
	((struct sr__span_header *)(void *)tl_span.rec[0].bytes)->start_ns = __rdtsc();
	srb_floor_end(&tl_span, kSlots);
}

SRB_HOT(BM_floor_ring, floor_setup, floor_teardown)
{
	floor_end();
}

/* TSC ticks of rdtscp-lfence ... rdtscp-lfence around nothing: the
 * median of many, so one preemption does not set it. */
static uint64_t empty_ticks()
{
	static uint64_t v;
	uint64_t d[1001];
	unsigned aux;

	if (v)
		return v;
	for (auto &x : d) {
		uint64_t t0 = __rdtscp(&aux);

		_mm_lfence();
		uint64_t t1 = __rdtscp(&aux);

		_mm_lfence();
		x = t1 - t0;
	}
	std::sort(d, d + 1001);
	return v = d[500];
}

static void BM_floor_ring_cold(benchmark::State &st)
{
	const double tpn = srb::tsc_per_ns();
	const uint64_t empty = empty_ticks();
	uint32_t n = 0;
	unsigned aux;

	floor_end(); /* claims this thread's ring */
	srb::quiesce();
	for (auto _ : st) {
		struct sr__ring *r = &srb_floor.rings[srb_floor_tl_ring];
		_mm_clflush(r->records[r->p_tail & r->mask].bytes);
		_mm_clflush(r->records[r->p_tail & r->mask].bytes + 64);
		_mm_mfence();
		uint64_t t0 = __rdtscp(&aux);

		_mm_lfence();
		floor_end();
		uint64_t t1 = __rdtscp(&aux);

		_mm_lfence();
		st.SetIterationTime((double)(t1 - t0 > empty ? t1 - t0 - empty : 0) /
				    tpn * 1e-9);
		if (++n % srb::kQuiesceEvery == 0)
			srb::quiesce();
	}
	st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_floor_ring_cold)
	->Setup(srb::adapt<floor_setup>)
	->Teardown(srb::adapt<floor_teardown>)
	->UseManualTime();
