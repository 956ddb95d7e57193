/*
 * bench_pipeline.cc - the pipeline as a whole, under load: what rate it
 * sustains without dropping, and what happens to drops and memory past
 * that.
 *
 *   BM_pipeline_sustained/P/R/B  P producer threads record the
 *       BM_span_2attrs span into rings of R records, exporter `none`.
 *       First a full-speed trial (drops at full speed), then a bisection
 *       over paced rates for the highest with zero drops: a rate passes
 *       only if kConfirm trials in a row at it drop nothing.  Each trial
 *       is a fixed count of spans (rate x trial length), paced against
 *       the TSC from one start time (a producer that falls behind catches
 *       up at full speed); after it, sr_flush() and the drop counters
 *       decide.  A trial whose producers could not reach the asked rate
 *       is judged at the rate they reached.  B is the pacing: 0, idle
 *       between bursts (an application waiting for work); 1, busy (a
 *       CPU-bound application: with P = 2 both cores are always taken,
 *       and the drainer waits for the scheduler to preempt a producer,
 *       up to a tick).  See `enum pacing`.
 *   BM_pipeline_cpu/RATE/HOG  what the library's own threads cost per
 *       span: one producer records the BM_span_2attrs span at RATE
 *       spans/s (idle pacing) for a fixed time into the default
 *       configuration (1024-record rings, exporter `none`), pinned to CPU
 *       0 with the library's threads on CPU 1 (SPANRING_BACKGROUND_CPUS,
 *       a housekeeping core).  Reported: the run time of sr-drainer and
 *       sr-exp-* (schedstat, server/taskstat.h) per span, how often the
 *       drainer ran per second, its wake-ups and how many of them a
 *       producer's doorbell caused (sr_stats), the rings' high water, and
 *       the spans dropped.  SPANRING_* variables apply (sr_config_from_env:
 *       SPANRING_RING_RECORDS=4096 tries a ring size).  HOG = 1 adds a
 *       busy neighbour: a thread spinning on CPU 1 for the whole run,
 *       so the drainer gets the CPU only when the scheduler shares it
 *       (the defaults must still not drop).
 *   BM_pipeline_overload  a fixed count of spans offered at 10x what the
 *       exporter accepts: the exporter (`bench_slow`, registered here
 *       through the public exporter API) takes batches at a set capacity
 *       of spans/s, sleeping the rest, as a slow collector would.
 *       Reported: drops by reason, sr_stats.pipeline_bytes (the memory
 *       fixed at init) beside the rings' share computed from the config,
 *       and the process RSS after init and after the load: growth under
 *       overload must stay within the pipeline's fixed memory.
 *
 *   BM_pipeline_cpu_floor, BM_pipeline_sustained_floor  their floors: what
 *       any drainer that copies pays here (see "the floor under the
 *       library's threads" below).
 *
 * Counters are reported on the single iteration (google-benchmark
 * Iterations(1), manual time = the whole procedure).
 *
 * What this leaves out: real exporters (OTLP cost is measured by the
 * server runs and by bench_otlp.cc where present).
 */
#include "harness.h"

extern "C" {
#include "drainer_int.h" /* the pause policy the floor's consumer keeps */
#include "record_int.h"
#include "ring_int.h"
uint64_t sr__mono_ns(void); /* the drainer's clock (clock.c) */
}
#include "server/taskstat.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

/* Trial length (seconds) and bisection steps; --quick runs shorten them
 * through the environment so run.sh needs no second binary. */
double trial_seconds()
{
	const char *q = getenv("SR_BENCH_QUICK");
	return q && *q == '1' ? 0.05 : 0.25;
}

int bisect_steps()
{
	const char *q = getenv("SR_BENCH_QUICK");
	return q && *q == '1' ? 2 : 7;
}

const sr_tracer_t *tracer()
{
	static const sr_tracer_t *t = sr_tracer_get("spanring-bench", "1");
	return t;
}

inline void one_span()
{
	sr_span_t s;

	sr_span_start(&s, tracer(), "GET /users", SR_KIND_SERVER);
	sr_span_set_int(&s, "http.response.status_code", 200);
	sr_span_set_str(&s, "http.request.method", "GET");
	sr_span_end(&s);
}

/* How a paced producer waits for its next spans (the third argument of
 * BM_pipeline_sustained). */
enum pacing {
	/* Idle between bursts, as an application thread waiting for work:
	 * a producer more than kLeadNs ahead of its schedule sleeps until it
	 * is kLeadNs ahead, then records every span due by then as fast as
	 * it can.  Its core is free for the drainer and the exporter worker
	 * while it sleeps. */
	PACE_IDLE = 0,
	/* Spin until each burst of 16 is due (yielding when more than 20 us
	 * early, which at millions of spans/s it never is): a producer that
	 * keeps its core busy, as a CPU-bound application would.  With as
	 * many producers as cores, the library's threads run only when the
	 * scheduler preempts a producer. */
	PACE_BUSY = 1,
};

/* How far ahead of its schedule an idle-paced producer may run (ns):
 * long enough that its sleeps are not all timer slack (50 us by
 * default), short enough that a burst stays small beside a ring. */
constexpr double kLeadNs = 100000;

/* Records `count` spans (each one SPAN()) at `rate` spans/s (0: as fast
 * as possible), starting at TSC `t0`; span i is due at t0 + i / rate.
 * Returns the TSC at the end. */
template <void (*SPAN)()>
uint64_t produce_with(uint64_t count, double rate, uint64_t t0, pacing pace)
{
	const double ticks_per_span = rate > 0 ? srb::tsc_per_ns() * 1e9 / rate : 0;
	const uint64_t yield_ticks = (uint64_t)(srb::tsc_per_ns() * 20000);
	const uint64_t lead_ticks = (uint64_t)(srb::tsc_per_ns() * kLeadNs);

	for (uint64_t i = 0; i < count; i += 16) {
		uint64_t n = count - i < 16 ? count - i : 16;

		if (ticks_per_span > 0) {
			uint64_t due = t0 + (uint64_t)(ticks_per_span * (double)i);
			uint64_t now = __rdtsc();

			if (pace == PACE_IDLE) {
				if (due > now + lead_ticks) {
					double ns = (double)(due - now - lead_ticks) /
						    srb::tsc_per_ns();
					struct timespec ts = {
						(time_t)(ns / 1e9),
						(long)(ns - 1e9 * (double)(time_t)(ns / 1e9))
					};

					nanosleep(&ts, nullptr);
				}
			} else {
				while ((now = __rdtsc()) < due) {
					if (due - now > yield_ticks)
						sched_yield();
					else
						_mm_pause();
				}
			}
		}
		for (uint64_t k = 0; k < n; k++)
			SPAN();
	}
	return __rdtsc();
}

uint64_t produce(uint64_t count, double rate, uint64_t t0, pacing pace)
{
	return produce_with<one_span>(count, rate, t0, pace);
}

struct trial {
	double asked;     /* spans/s asked (0: full speed)      */
	double achieved;  /* spans/s the producers reached      */
	uint64_t spans;
	uint64_t drops;
	double seconds;
};

/* One trial with `producers` threads sharing `rate`; the spans a thread
 * records are counted on that thread. */
trial run_trial(int producers, double rate, uint64_t total, pacing pace)
{
	sr_stats_t a{}, b{};
	std::vector<std::thread> th;
	std::atomic<int> ready{ 0 };
	std::atomic<uint64_t> go{ 0 };
	uint64_t per = total / (uint64_t)producers, start, end = 0;
	std::vector<uint64_t> ends((size_t)producers);
	trial t = { rate, 0, per * (uint64_t)producers, 0, 0 };

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	b = a;
	sr_flush(10000, nullptr);
	a.size = sizeof(a);
	sr_stats_get(&a);
	for (int p = 0; p < producers; p++)
		th.emplace_back([&, p] {
			sr_thread_register();
			ready.fetch_add(1);
			uint64_t t0;
			while ((t0 = go.load()) == 0)
				_mm_pause();
			ends[(size_t)p] = produce(per, rate / producers, t0, pace);
		});
	while (ready.load() != producers)
		_mm_pause();
	start = __rdtsc();
	go.store(start);
	for (std::thread &x : th)
		x.join();
	for (uint64_t e : ends)
		end = e > end ? e : end;
	/* Every span recorded is now exported or counted dropped; a flush
	 * that timed out would leave spans undecided. */
	if (sr_flush(10000, nullptr) != 0) {
		fprintf(stderr, "bench_pipeline: sr_flush timed out\n");
		exit(2);
	}
	b.size = sizeof(b);
	sr_stats_get(&b);
	t.seconds = (double)(end - start) / srb::tsc_per_ns() / 1e9;
	t.achieved = (double)t.spans / t.seconds;
	t.drops = srb::dropped_total(b) - srb::dropped_total(a);
	if (getenv("SR_BENCH_VERBOSE"))
		fprintf(stderr,
			"trial: producers %d%s asked %.0f reached %.0f spans %llu "
			"ring_full %llu queue_full %llu limits %llu exporter %llu\n",
			producers, pace == PACE_BUSY ? " busy" : "", rate,
			t.achieved, (unsigned long long)t.spans,
			(unsigned long long)(b.dropped_ring_full - a.dropped_ring_full),
			(unsigned long long)(b.dropped_queue_full - a.dropped_queue_full),
			(unsigned long long)(b.dropped_limits - a.dropped_limits),
			(unsigned long long)(b.dropped_exporter - a.dropped_exporter));
	return t;
}

/* Trials in a row that must drop nothing before a rate counts as
 * sustained: a single lucky trial must not decide. */
constexpr int kConfirm = 2;

/* Whether `rate` is sustained: kConfirm trials at it, each of rate x
 * secs spans, drop nothing.  Returns the lowest rate they reached
 * (capped at `rate`), or 0 at the first trial that dropped. */
double sustained(int producers, double rate, double secs, pacing pace)
{
	double reached = rate;

	for (int i = 0; i < kConfirm; i++) {
		trial t = run_trial(producers, rate,
				    (uint64_t)(rate * secs) + 1000, pace);

		if (t.drops)
			return 0;
		if (t.achieved < reached)
			reached = t.achieved;
	}
	return reached;
}

void start_pipeline(uint32_t ring_records, const char *exporters,
		    const char *processors = nullptr)
{
	sr_config_t cfg;

	sr_config_init(&cfg);
	cfg.exporters = exporters;
	cfg.processors = processors;
	cfg.sampler = SR_SAMPLER_ALWAYS_ON;
	cfg.ring_records = ring_records;
	cfg.max_threads = 16;
	srb::pipeline_start_cfg(cfg);
}

void sustained_counters(benchmark::State &st, double best, const trial &full,
			int producers, uint32_t ring, pacing pace)
{
	st.counters["zero_drop_spans_per_s"] = best;
	st.counters["full_speed_spans_per_s"] = full.achieved;
	st.counters["full_speed_drop_ratio"] =
		full.spans ? (double)full.drops / (double)full.spans : 0;
	st.counters["full_speed_drops"] = (double)full.drops;
	st.counters["producers"] = producers;
	st.counters["ring_records"] = ring;
	st.counters["busy_pacing"] = pace == PACE_BUSY;
}

void BM_pipeline_sustained(benchmark::State &st)
{
	const int producers = (int)st.range(0);
	const uint32_t ring = (uint32_t)st.range(1);
	const pacing pace = (pacing)st.range(2);
	const double secs = trial_seconds();

	for (auto _ : st) {
		uint64_t c0 = __rdtsc();

		start_pipeline(ring, "none");
		/* Full speed: as many spans as a 2x-fast producer set would
		 * make in one trial length at 10 M/s. */
		trial full = run_trial(producers, 0, (uint64_t)(10e6 * secs),
				       pace);
		double lo = 0, hi = full.achieved, best = 0;

		/* Bisect on the asked rate (even when full speed dropped
		 * nothing: the answer is a paced rate); judge at the reached
		 * one. */
		for (int steps = 0; steps < bisect_steps(); steps++) {
			double mid = (lo + hi) / 2, reached = sustained(
				producers, mid, secs, pace);

			if (reached > 0) {
				lo = mid;
				best = reached;
			} else {
				hi = mid;
			}
		}
		srb::pipeline_stop();
		st.SetIterationTime((double)(__rdtsc() - c0) / srb::tsc_per_ns() / 1e9);
		sustained_counters(st, best, full, producers, ring, pace);
	}
}
} // namespace

/* The highest zero-drop rate as BM_pipeline_sustained finds it (idle
 * pacing, default rings, exporter none), with a processor chain
 * (bench_processors.cc); *full the full-speed rate. */
double srb::pipeline_sustained_rate(int producers, const char *processors,
				    double *full_speed)
{
	const double secs = trial_seconds();
	double lo = 0, hi, best = 0;

	start_pipeline(srb::kRingRecords, "none", processors);
	trial full = run_trial(producers, 0, (uint64_t)(10e6 * secs), PACE_IDLE);
	hi = full.achieved;
	*full_speed = full.achieved;
	for (int steps = 0; steps < bisect_steps(); steps++) {
		double mid = (lo + hi) / 2,
		       reached = sustained(producers, mid, secs, PACE_IDLE);

		if (reached > 0) {
			lo = mid;
			best = reached;
		} else {
			hi = mid;
		}
	}
	srb::pipeline_stop();
	return best;
}

namespace {

/* ---- the floor under the library's threads ---------------------------- */

/*
 * What any drainer that copies must pay on this machine, measured the
 * way BM_pipeline_cpu and BM_pipeline_sustained measure the library:
 *
 *   BM_pipeline_cpu_floor/RATE/HOG  one producer (CPU 0) writes spans of
 *       BM_span_2attrs's record bytes (a 64-byte header and two 32-byte
 *       slots: two 64-byte records, record_int.h) into one SPSC ring of
 *       the default size (ringbuf/ring_int.h, the library's own ring, its
 *       doorbell at the library's mark) at RATE spans/s, paced as
 *       BM_pipeline_cpu paces; one consumer (CPU 1, beside the hog when
 *       HOG = 1) sleeps and wakes exactly as the drainer does (the pause
 *       of sr__drainer_pause with the default configuration's longest
 *       pause and batch pool, on the doorbell, which the producer rings at
 *       the mark), reads each span's header for its length, copies the
 *       span into one batch buffer of the library's batch size (full,
 *       it starts again at the front: the best case of a pool reused
 *       last-in first-out, its lines hot in this core's cache), gives the
 *       slots back every SR__RELEASE_EVERY records (or quarter ring) and
 *       at the end of each pass, and hands nothing further: no exporter
 *       worker, no clock beyond the pause's, no registry, no counters but
 *       its own.  Its run time per span (schedstat, as the library's
 *       threads are measured) is the cost of the cross-core line pulls
 *       and the wake-ups themselves.
 *   BM_pipeline_sustained_floor/1/R/B  the same producer and consumer
 *       (unpinned, as BM_pipeline_sustained's), the same full-speed trial
 *       and bisection: the highest rate such a consumer takes without a
 *       drop, the floor under BM_pipeline_sustained/1/R/B.
 *
 * The gap between a BM_pipeline_* run and its _floor is what the library
 * adds on its own threads; the two are registered interleaved, rate by
 * rate, so one run measures both under the same load.
 */
struct drain_floor {
	struct sr__ring ring;
	struct sr__doorbell bell;
	struct sr__record *mem;
	uint32_t cap;                   /* records                           */
	struct sr__record *batch;       /* one batch, reused                 */
	uint32_t batch_records, batch_spans;
	int cpu;                        /* the consumer's CPU, -1: any       */
	uint64_t drops;                 /* producer only; read after join    */
	std::atomic<uint64_t> spans;    /* consumer adds (release) per pass  */
	std::atomic<uint64_t> wakeups;  /* consumer: pauses ended            */
	uint32_t wake_req;              /* ck_pr: the bench sets it, the
	                                   consumer clears it               */
	std::atomic<bool> stop;
	pthread_t thread;
};

drain_floor df;

/* The span the floor's producer writes: BM_span_2attrs's record bytes. */
constexpr uint32_t kFloorSlots = 2;
thread_local struct sr__record df_span[2];

void floor_span()
{
	struct sr__ring *r = &df.ring;
	struct sr__span_header *h = (struct sr__span_header *)(void *)df_span[0].bytes;
	uint32_t first;

	h->start_ns = __rdtsc();
	h->end_ns = __rdtsc();
	h->nslots = kFloorSlots;
	if (__builtin_expect(sr__ring_reserve_sp(r, 2, &first), 1)) {
		/* In one piece: a short span may run into the overhang. */
		memcpy(r->records[first & r->mask].bytes, df_span, sizeof(df_span));
		sr__ring_commit_sp(r, 2);
	} else {
		df.drops++;
	}
}

static_assert(sizeof(df_span) == 128, "BM_span_2attrs's two records");

bool pin_self(int cpu);

/* As the drainer's: stay up for a request or a ring at its mark. */
bool floor_ready(void *)
{
	return ck_pr_load_32(&df.wake_req) != 0 ||
	       sr__ring_used(&df.ring) >= df.ring.mark;
}

void *floor_consumer(void *)
{
	sr_config_t cfg;
	uint64_t pause_ns = 0, prev = sr__mono_ns();
	uint32_t bpos = 0, bspans = 0;
	const uint32_t mask = df.ring.mask;
	const uint32_t every = df.cap / 4 < SR__RELEASE_EVERY ? df.cap / 4
							      : SR__RELEASE_EVERY;

	/* As the pipeline under test is configured: the defaults, and what
	 * the environment sets (BM_pipeline_cpu applies it too). */
	sr_config_init(&cfg);
	sr_config_from_env(&cfg);
	/* The drainer's pool bound: its batches less the open one, for one
	 * exporter (batch.c, drainer.c). */
	const uint32_t nbatches = (cfg.max_queue_size + cfg.max_export_batch_size - 1) /
					  cfg.max_export_batch_size + 2;
	const uint32_t pool = (nbatches - 1) * cfg.max_export_batch_size;
	const uint64_t max_pause = (uint64_t)cfg.drainer_max_sleep_us * 1000;

	pthread_setname_np(pthread_self(), "sr-floor");
	if (df.cpu >= 0)
		pin_self(df.cpu);
	for (;;) {
		bool stop = df.stop.load(std::memory_order_acquire);
		struct sr__drain_look look = {};
		uint64_t now = sr__mono_ns();
		uint32_t head, avail = sr__ring_peek_sc(&df.ring, &head);
		uint32_t done = 0, released = 0;

		look.since = now - prev;
		prev = now;
		look.fullest = avail;
		while (done < avail) {
			const struct sr__record *src = &df.ring.records[(head + done) & mask];
			const struct sr__span_header *h =
				(const struct sr__span_header *)(const void *)src->bytes;
			uint32_t nrec;

			if (done + 8 < avail) /* as the drainer prefetches */
				__builtin_prefetch(
					df.ring.records[(head + done + 8) & mask].bytes, 0, 3);
			nrec = sr__records_for_slots(h->nslots);
			if (nrec > avail - done || !sr__span_contiguous(nrec))
				abort(); /* one well-formed producer */
			/* A full batch: the next one is this one again, its
			 * lines still in this core's cache. */
			if (bspans == df.batch_spans || bpos + nrec > df.batch_records)
				bpos = bspans = 0;
			bspans++;
			if (nrec == 2)
				memcpy(&df.batch[bpos], src, 2 * SR__RECORD_SIZE);
			else
				memcpy(&df.batch[bpos], src, (size_t)nrec * SR__RECORD_SIZE);
			bpos += nrec;
			done += nrec;
			look.total++;
			if (done - released >= every) {
				sr__ring_release_sc(&df.ring, done - released);
				released = done;
			}
		}
		if (done != released)
			sr__ring_release_sc(&df.ring, done - released);
		if (look.total)
			df.spans.fetch_add(look.total, std::memory_order_release);
		if (stop)
			break;
		look.spent = sr__mono_ns() - now;
		look.cap = df.cap;
		look.mark = sr__doorbell_mark(df.cap);
		look.pool = pool;
		pause_ns = sr__drainer_pause(pause_ns, &look, max_pause);
		if (pause_ns) {
			sr__doorbell_sleep(&df.bell, pause_ns, floor_ready, nullptr);
			ck_pr_store_32(&df.wake_req, 0);
			df.wakeups.fetch_add(1, std::memory_order_relaxed);
		}
	}
	return nullptr;
}

/* Ask the consumer up now (the end of a trial: sr_flush's part). */
void floor_wake()
{
	ck_pr_store_32(&df.wake_req, 1);
	sr__doorbell_ring(&df.bell);
}

/* A ring of `ring_records` (sr_config_t units) and its consumer on `cpu`. */
void floor_start(uint32_t ring_records, int cpu)
{
	sr_config_t cfg;

	sr_config_init(&cfg);
	sr_config_from_env(&cfg);
	df.cap = SR__CFG_RECORDS(ring_records);
	df.mem = (struct sr__record *)aligned_alloc(
		64, (size_t)sr__ring_memory_records(df.cap) * SR__RECORD_SIZE);
	memset(df.mem, 0, (size_t)sr__ring_memory_records(df.cap) * SR__RECORD_SIZE);
	sr__ring_init(&df.ring, df.mem, df.cap);
	df.bell.asleep = 0;
	sr__ring_set_doorbell(&df.ring, &df.bell, sr__doorbell_mark(df.cap));
	/* The library's batch: room for batch_spans spans of 512 bytes. */
	df.batch_spans = cfg.max_export_batch_size;
	df.batch_records = SR__CFG_RECORDS(cfg.max_export_batch_size * 2);
	df.batch = (struct sr__record *)aligned_alloc(
		64, (size_t)df.batch_records * SR__RECORD_SIZE);
	memset(df.batch, 0, (size_t)df.batch_records * SR__RECORD_SIZE);
	df.cpu = cpu;
	df.drops = 0;
	df.spans.store(0);
	df.wakeups.store(0);
	df.wake_req = 0;
	df.stop.store(false);
	pthread_create(&df.thread, nullptr, floor_consumer, nullptr);
}

void floor_stop()
{
	df.stop.store(true, std::memory_order_release);
	floor_wake();
	pthread_join(df.thread, nullptr);
	free(df.mem);
	free(df.batch);
}

/* One trial of one producer (on `cpu`, -1: any) into the floor's ring:
 * `total` spans at `rate`; done when the consumer has every span that
 * was not dropped. */
trial floor_trial(double rate, uint64_t total, pacing pace, int cpu)
{
	uint64_t s0 = df.spans.load(std::memory_order_acquire), d0 = df.drops;
	uint64_t start, end = 0;
	std::atomic<uint64_t> go{ 0 };
	trial t = { rate, 0, total, 0, 0 };
	std::thread th([&] {
		uint64_t t0;

		if (cpu >= 0)
			pin_self(cpu);
		while ((t0 = go.load()) == 0)
			_mm_pause();
		end = produce_with<floor_span>(total, rate, t0, pace);
	});

	start = __rdtsc();
	go.store(start);
	th.join();
	t.drops = df.drops - d0;
	floor_wake();
	while (df.spans.load(std::memory_order_acquire) - s0 < total - t.drops) {
		struct timespec ts = { 0, 100000 };

		nanosleep(&ts, nullptr);
		floor_wake();
	}
	t.seconds = (double)(end - start) / srb::tsc_per_ns() / 1e9;
	t.achieved = (double)t.spans / t.seconds;
	if (getenv("SR_BENCH_VERBOSE"))
		fprintf(stderr, "floor trial: asked %.0f reached %.0f spans %llu dropped %llu\n",
			rate, t.achieved, (unsigned long long)t.spans,
			(unsigned long long)t.drops);
	return t;
}

void BM_pipeline_sustained_floor(benchmark::State &st)
{
	const uint32_t ring = (uint32_t)st.range(1);
	const pacing pace = (pacing)st.range(2);
	const double secs = trial_seconds();

	for (auto _ : st) {
		uint64_t c0 = __rdtsc();

		floor_start(ring, -1);
		trial full = floor_trial(0, (uint64_t)(10e6 * secs), pace, -1);
		double lo = 0, hi = full.achieved, best = 0;

		for (int steps = 0; steps < bisect_steps(); steps++) {
			double mid = (lo + hi) / 2, reached = mid;

			for (int i = 0; i < kConfirm && reached > 0; i++) {
				trial t = floor_trial(mid, (uint64_t)(mid * secs) + 1000,
						      pace, -1);

				if (t.drops)
					reached = 0;
				else if (t.achieved < reached)
					reached = t.achieved;
			}
			if (reached > 0) {
				lo = mid;
				best = reached;
			} else {
				hi = mid;
			}
		}
		floor_stop();
		st.SetIterationTime((double)(__rdtsc() - c0) / srb::tsc_per_ns() / 1e9);
		sustained_counters(st, best, full, 1, ring, pace);
	}
}

BENCHMARK(BM_pipeline_sustained)
	->Args({ 1, srb::kRingRecords, PACE_IDLE })
	->Args({ 2, srb::kRingRecords, PACE_IDLE })
	->Args({ 1, 1024, PACE_IDLE })
	->Args({ 1, srb::kRingRecords, PACE_BUSY })
	->Args({ 2, srb::kRingRecords, PACE_BUSY })
	->Iterations(1)
	->UseManualTime()
	->Unit(benchmark::kMillisecond);
/* Beside its P = 1 runs, the floor's. */
BENCHMARK(BM_pipeline_sustained_floor)
	->Args({ 1, srb::kRingRecords, PACE_IDLE })
	->Args({ 1, 1024, PACE_IDLE })
	->Args({ 1, srb::kRingRecords, PACE_BUSY })
	->Iterations(1)
	->UseManualTime()
	->Unit(benchmark::kMillisecond);

/* ---- library threads' CPU per span ------------------------------------ */

/* Pins the calling thread to `cpu`; false where there is no such CPU. */
bool pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

/* The library's threads' run time (ns) and the drainer's runs, summed. */
struct lib_cpu {
	uint64_t drainer_ns, drainer_runs, drainer_waited, exporter_ns;
};

lib_cpu lib_cpu_now()
{
	struct task_cpu t[TASKSTAT_MAX];
	int n = taskstat_read(t, TASKSTAT_MAX, 0);
	lib_cpu c = {};

	for (int k = 0; k < n; k++) {
		if (strcmp(t[k].comm, "sr-drainer") == 0) {
			c.drainer_ns += t[k].ns;
			c.drainer_runs += t[k].runs;
			c.drainer_waited += t[k].waited;
		} else if (strncmp(t[k].comm, "sr-exp-", 7) == 0) {
			c.exporter_ns += t[k].ns;
		}
	}
	return c;
}

/* A busy neighbour: a thread spinning on `cpu` (-1: anywhere) from
 * start() to stop(). */
struct cpu_hog {
	std::atomic<bool> quit{ false };
	std::thread th;

	void start(int cpu)
	{
		th = std::thread([this, cpu] {
			if (cpu >= 0)
				pin_self(cpu);
			while (!quit.load(std::memory_order_relaxed))
				_mm_pause();
		});
	}
	void stop()
	{
		quit.store(true);
		if (th.joinable())
			th.join();
	}
	~cpu_hog() { stop(); }
};

/* How long BM_pipeline_cpu and its floor offer spans. */
double cpu_run_seconds()
{
	const char *q = getenv("SR_BENCH_QUICK");

	return q && *q == '1' ? 0.2 : 2.0;
}

void BM_pipeline_cpu(benchmark::State &st)
{
	const double rate = (double)st.range(0);
	const bool hog = st.range(1) != 0;
	const double secs = cpu_run_seconds();
	const bool two_cpus = std::thread::hardware_concurrency() >= 2;

	for (auto _ : st) {
		cpu_hog hogger;
		sr_config_t cfg;
		uint64_t c0 = __rdtsc();

		if (two_cpus)
			setenv("SPANRING_BACKGROUND_CPUS", "1", 1);
		sr_config_init(&cfg);
		/* The defaults, unless the environment sets SPANRING_* (to try
		 * a ring size or a pause without rebuilding). */
		sr_config_from_env(&cfg);
		cfg.exporters = "none";
		cfg.sampler = SR_SAMPLER_ALWAYS_ON;
		srb::pipeline_start_cfg(cfg);
		unsetenv("SPANRING_BACKGROUND_CPUS");
		if (hog)
			hogger.start(two_cpus ? 1 : -1);

		lib_cpu a = {}, b = {};
		sr_stats_t sa, sb;

		sa.size = sb.size = sizeof(sa);
		trial t = {};
		std::thread producer([&] {
			if (two_cpus)
				pin_self(0);
			sr_thread_register();
			one_span(); /* the thread's ring, before the clock starts */
			sr_flush(10000, nullptr);
			sr_stats_get(&sa);
			a = lib_cpu_now();
			t = run_trial(1, rate, (uint64_t)(rate * secs), PACE_IDLE);
			b = lib_cpu_now();
			sr_stats_get(&sb);
		});
		producer.join();
		hogger.stop();
		srb::pipeline_stop();
		st.SetIterationTime((double)(__rdtsc() - c0) / srb::tsc_per_ns() / 1e9);
		double spans = (double)t.spans;
		st.counters["offered_spans_per_s"] = rate;
		st.counters["achieved_spans_per_s"] = t.achieved;
		st.counters["hog"] = hog;
		st.counters["spans"] = spans;
		st.counters["dropped"] = (double)t.drops;
		st.counters["library_ns_per_span"] =
			(double)(b.drainer_ns - a.drainer_ns + b.exporter_ns - a.exporter_ns) / spans;
		st.counters["drainer_ns_per_span"] = (double)(b.drainer_ns - a.drainer_ns) / spans;
		st.counters["exporter_ns_per_span"] = (double)(b.exporter_ns - a.exporter_ns) / spans;
		st.counters["drainer_runs_per_s"] =
			(double)(b.drainer_runs - a.drainer_runs) / t.seconds;
		/* The wake-up policy at work: pauses ended per second, and how
		 * many of them the producer's doorbell ended (a futex wake on
		 * the producer's thread). */
		st.counters["drainer_wakeups_per_s"] =
			(double)(sb.drainer_wakeups - sa.drainer_wakeups) / t.seconds;
		st.counters["doorbell_rings_per_s"] =
			(double)(sb.doorbell_rings - sa.doorbell_rings) / t.seconds;
		st.counters["ring_high_water"] = sb.ring_high_water;
		st.counters["ring_records"] = sb.ring_records;
		/* How long the drainer, once runnable (woken, or preempted),
		 * waited for its CPU, on average: a ring must hold what its
		 * producer records in that time beyond the doorbell's mark. */
		st.counters["drainer_wait_us_per_run"] =
			(double)(b.drainer_waited - a.drainer_waited) / 1e3 /
			(double)(b.drainer_runs - a.drainer_runs ? b.drainer_runs - a.drainer_runs : 1);
	}
}
/* BM_pipeline_cpu's floor (see "the floor under the library's threads"):
 * the same rates, pinning, hog and counters, the floor's consumer in
 * place of the library's threads. */
void BM_pipeline_cpu_floor(benchmark::State &st)
{
	const double rate = (double)st.range(0);
	const bool hog = st.range(1) != 0;
	const double secs = cpu_run_seconds();
	const bool two_cpus = std::thread::hardware_concurrency() >= 2;

	for (auto _ : st) {
		cpu_hog hogger;
		sr_config_t cfg;
		uint64_t c0 = __rdtsc();

		sr_config_init(&cfg);
		sr_config_from_env(&cfg);
		floor_start(cfg.ring_records, two_cpus ? 1 : -1);
		if (hog)
			hogger.start(two_cpus ? 1 : -1);

		struct task_cpu a[TASKSTAT_MAX], b[TASKSTAT_MAX];
		uint64_t w0, w1, bells0, bells1;
		int na, nb;

		/* A first span, then the consumer idle, before the clock starts. */
		floor_trial(0, 1, PACE_IDLE, two_cpus ? 0 : -1);
		w0 = df.wakeups.load();
		bells0 = df.ring.p_bells;
		na = taskstat_read(a, TASKSTAT_MAX, 0);
		trial t = floor_trial(rate, (uint64_t)(rate * secs), PACE_IDLE,
				      two_cpus ? 0 : -1);
		nb = taskstat_read(b, TASKSTAT_MAX, 0);
		w1 = df.wakeups.load();
		bells1 = df.ring.p_bells;
		hogger.stop();
		floor_stop();
		st.SetIterationTime((double)(__rdtsc() - c0) / srb::tsc_per_ns() / 1e9);

		uint64_t ns = 0, runs = 0, waited = 0;

		for (int k = 0; k < nb; k++)
			if (strcmp(b[k].comm, "sr-floor") == 0) {
				ns += b[k].ns;
				runs += b[k].runs;
				waited += b[k].waited;
			}
		for (int k = 0; k < na; k++)
			if (strcmp(a[k].comm, "sr-floor") == 0) {
				ns -= a[k].ns;
				runs -= a[k].runs;
				waited -= a[k].waited;
			}
		double spans = (double)t.spans;
		st.counters["offered_spans_per_s"] = rate;
		st.counters["achieved_spans_per_s"] = t.achieved;
		st.counters["hog"] = hog;
		st.counters["spans"] = spans;
		st.counters["dropped"] = (double)t.drops;
		st.counters["library_ns_per_span"] = (double)ns / spans;
		st.counters["drainer_ns_per_span"] = (double)ns / spans;
		st.counters["exporter_ns_per_span"] = 0;
		st.counters["drainer_runs_per_s"] = (double)runs / t.seconds;
		st.counters["drainer_wakeups_per_s"] = (double)(w1 - w0) / t.seconds;
		st.counters["doorbell_rings_per_s"] = (double)(bells1 - bells0) / t.seconds;
		st.counters["ring_high_water"] =
			df.ring.high_water / (SR__CFG_RECORD_SIZE / SR__RECORD_SIZE);
		st.counters["ring_records"] = cfg.ring_records;
		st.counters["drainer_wait_us_per_run"] =
			(double)waited / 1e3 / (double)(runs ? runs : 1);
	}
}

/* Each rate's pipeline run, then its floor's: interleaved, so that one
 * run compares them under the same load. */
int register_cpu_runs()
{
	static const int64_t args[][2] = {
		{ 100000, 0 }, { 400000, 0 }, { 2000000, 0 }, { 1000000, 1 },
	};

	for (const auto &a : args) {
		benchmark::RegisterBenchmark("BM_pipeline_cpu", BM_pipeline_cpu)
			->Args({ a[0], a[1] })
			->Iterations(1)
			->UseManualTime()
			->Unit(benchmark::kMillisecond);
		benchmark::RegisterBenchmark("BM_pipeline_cpu_floor",
					     BM_pipeline_cpu_floor)
			->Args({ a[0], a[1] })
			->Iterations(1)
			->UseManualTime()
			->Unit(benchmark::kMillisecond);
	}
	return 0;
}
const int cpu_runs_registered = register_cpu_runs();

/* ---- overload ------------------------------------------------------- */

constexpr double kSlowCapacity = 200000; /* spans/s the exporter takes */

struct slow_state {
	uint64_t spans;
};

int slow_create(void *, const sr_config_t *, void **state, char *, size_t)
{
	*state = calloc(1, sizeof(slow_state));
	return *state ? 0 : SR_ENOMEM;
}

int slow_export(void *state, const sr_batch_t *batch, uint64_t *)
{
	size_t n = sr_batch_count(batch);
	double s = (double)n / kSlowCapacity;
	struct timespec ts = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	((slow_state *)state)->spans += n;
	nanosleep(&ts, nullptr);
	return 0;
}

void slow_destroy(void *state, uint32_t)
{
	free(state);
}

void register_slow()
{
	static bool done;

	if (!done) {
		/* Zeroed, then the mandatory callbacks: optional ones the
		 * table may gain stay NULL. */
		sr_exporter_ops_t ops = {};
		int rc;

		ops.size = sizeof(ops);
		ops.abi_version = SR_EXPORTER_ABI_VERSION;
		ops.name = "bench_slow";
		ops.create = slow_create;
		ops.export_batch = slow_export;
		ops.destroy = slow_destroy;
		rc = sr_exporter_register(&ops, nullptr);

		if (rc != 0 && rc != SR_ESTATE) {
			fprintf(stderr, "sr_exporter_register: %s\n", sr_strerror(rc));
			exit(2);
		}
		done = true;
	}
}

void BM_pipeline_overload(benchmark::State &st)
{
	const bool quick = getenv("SR_BENCH_QUICK") && *getenv("SR_BENCH_QUICK") == '1';
	const double offered = 10 * kSlowCapacity;
	const uint64_t count = quick ? 100000 : 1000000;

	register_slow();
	for (auto _ : st) {
		sr_config_t cfg;
		sr_stats_t s{};
		uint64_t rss0 = srb::rss_bytes(), rss1, rss2, c0 = __rdtsc();

		sr_config_init(&cfg);
		cfg.exporters = "bench_slow";
		cfg.sampler = SR_SAMPLER_ALWAYS_ON;
		cfg.ring_records = srb::kRingRecords;
		cfg.max_threads = 16;
		srb::pipeline_start_cfg(cfg);
		rss1 = srb::rss_bytes();
		trial t = run_trial(1, offered, count, PACE_BUSY);
		rss2 = srb::rss_bytes();
		memset(&s, 0, sizeof(s));
		s.size = sizeof(s);
		s.size = sizeof(s);
		sr_stats_get(&s);
		srb::pipeline_stop();
		st.SetIterationTime((double)(__rdtsc() - c0) / srb::tsc_per_ns() / 1e9);
		st.counters["offered_spans_per_s"] = t.achieved;
		st.counters["exporter_spans_per_s"] = kSlowCapacity;
		st.counters["spans"] = (double)t.spans;
		st.counters["dropped"] = (double)t.drops;
		st.counters["dropped_ring_full"] = (double)s.dropped_ring_full;
		st.counters["dropped_queue_full"] = (double)s.dropped_queue_full;
		st.counters["exported"] = (double)s.exported;
		st.counters["pipeline_bytes"] = (double)s.pipeline_bytes;
		st.counters["ring_bytes_bound"] =
			(double)cfg.max_threads * cfg.ring_records * SR__CFG_RECORD_SIZE;
		st.counters["rss_init_growth_bytes"] = (double)(rss1 - rss0);
		st.counters["rss_load_growth_bytes"] =
			rss2 > rss1 ? (double)(rss2 - rss1) : 0;
		st.counters["ring_high_water"] = s.ring_high_water;
	}
}
BENCHMARK(BM_pipeline_overload)
	->Iterations(1)
	->UseManualTime()
	->Unit(benchmark::kMillisecond);

} // namespace
