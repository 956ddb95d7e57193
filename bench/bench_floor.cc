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
 *                  line by line with 32-byte vector moves from the
 *                  thread's span buffer into its SPSC ring, published with
 *                  one release store.  It uses the core's own ring
 *                  (ringbuf/ring_int.h: same layout, same ck_pr fences,
 *                  same capacity as the span benchmarks' rings), and the
 *                  consumer is the drainer's: it copies each span's
 *                  records into a batch, gives slots back every
 *                  SR__RELEASE_EVERY records,
 *                  and pauses by the drainer's own policy
 *                  (sr__drainer_pause, the same maximum pause and pool).
 *                  So it writes and shares the same lines, as often, as
 *                  the span does.  As in the library, a full ring drops
 *                  the record and counts it; the producer never waits.
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

extern "C" {
#include "drainer_int.h"
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

/* The record BM_span_2attrs writes: header + two one-slot items. */
constexpr uint32_t kSlots = 2;
constexpr uint32_t kBytes = (SR__HEADER_SIZE + kSlots * SR__SLOT_SIZE + 63) & ~63u;
static_assert(kBytes == 128, "two cache lines");
constexpr uint32_t kRecs = kBytes / SR__RECORD_SIZE;

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

uint64_t mono_ns()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The consumer: the drainer's loop with the exporting left out.  Each
 * pass looks at every ring once, copies each span's records into a
 * batch, gives slots back every SR__RELEASE_EVERY records and at the
 * end, and pauses as sr__drainer_pause says, with the drainer's maximum
 * pause and batch pool (default configuration). */
void *floor_drainer(void *)
{
	static struct sr__record batch[1024];
	sr_config_t cfg;
	uint64_t pause_ns = 0, max_pause, prev = mono_ns();
	uint32_t bpos = 0, pool;

	sr_config_init(&cfg);
	max_pause = (uint64_t)cfg.drainer_max_sleep_us * 1000;
	pool = ((cfg.max_queue_size + cfg.max_export_batch_size - 1) /
			cfg.max_export_batch_size + 1) * cfg.max_export_batch_size;

	while (!fs.stop.load(std::memory_order_relaxed)) {
		struct sr__drain_look look = {};
		uint64_t now = mono_ns();

		look.since = now - prev;
		prev = now;
		for (int i = 0; i < kMaxRings; i++) {
			struct sr__ring *r = &fs.rings[i];
			uint32_t head, n = sr__ring_peek_sc(r, &head), released = 0;

			for (uint32_t k = 0; k < n;) {
				const struct sr__span_header *h =
					(const struct sr__span_header *)(const void *)
						sr__ring_at(r, head + k)->bytes;
				uint32_t nrec = sr__records_for_slots(h->nslots);

				if (nrec > n - k || !sr__span_contiguous(nrec))
					break; /* never: one well-formed producer */
				/* A short span is contiguous (record_int.h). */
				if (bpos + nrec > 1024)
					bpos = 0;
				memcpy(&batch[bpos], h, (size_t)nrec * SR__RECORD_SIZE);
				bpos += nrec;
				k += nrec;
				look.total++;
				if (k - released >= SR__RELEASE_EVERY) {
					sr__ring_release_sc(r, k - released);
					released = k;
				}
			}
			if (n != released)
				sr__ring_release_sc(r, n - released);
			if (n > look.fullest)
				look.fullest = n;
		}
		fs.drained += look.total; /* spans */
		look.spent = mono_ns() - now;
		look.cap = fs.capacity;
		look.mark = sr__doorbell_mark(fs.capacity);
		look.pool = pool;
		pause_ns = sr__drainer_pause(pause_ns, &look, max_pause);
		if (pause_ns) {
			struct timespec ts = { 0, (long)pause_ns };

			nanosleep(&ts, nullptr);
		}
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
	fs.capacity = SR__CFG_RECORDS(srb::kRingRecords);
	for (int i = 0; i < kMaxRings; i++) {
		if (!fs.mem[i]) {
			size_t bytes = (size_t)sr__ring_memory_records(fs.capacity) *
				       SR__RECORD_SIZE;

			fs.mem[i] = (struct sr__record *)aligned_alloc(64, bytes);
			memset(fs.mem[i], 0, bytes);
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

/* The span's storage: the library keeps a span's records inside the
 * caller's sr_span_t and copies them into the ring at end; the floor does
 * the same with these, holding BM_span_2attrs's slot count. */
static thread_local struct sr__record tl_span[kRecs];

typedef unsigned char floor_v32 __attribute__((vector_size(32), aligned(32)));

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
	int idx = __builtin_expect(
			  tl_gen == fs.gen.load(std::memory_order_relaxed), 1)
			  ? tl_ring
			  : floor_claim();
	struct sr__ring *r = &fs.rings[idx];
	struct sr__span_header *h = (struct sr__span_header *)tl_span[0].bytes;
	uint32_t first;

	h->start_ns = __rdtsc();
	h->end_ns = __rdtsc();
	h->nslots = kSlots;
	h->tid = (uint32_t)idx;
	if (__builtin_expect(sr__ring_reserve_sp(r, kRecs, &first), 1)) {
		/* In one piece, as the end writes a short span (its
		 * wrapped part in the ring's overhang: record_int.h). */
		floor_v32 *d = (floor_v32 *)(void *)r->records[first & r->mask].bytes;
		const floor_v32 *src = (const floor_v32 *)(const void *)tl_span[0].bytes;

		for (uint32_t k = 0; k < kBytes / 32; k++)
			d[k] = src[k];
		sr__ring_commit_sp(r, kRecs);
	} else {
		__atomic_store_n(&fs.drops[idx], fs.drops[idx] + 1,
				 __ATOMIC_RELAXED);
	}
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
		struct sr__ring *r = &fs.rings[tl_ring];
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
