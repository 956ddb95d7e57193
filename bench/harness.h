/*
 * harness.h - what every bench_*.cc shares: hot-path benchmark
 * registration, malloc counting, pipeline set-up and the counters the
 * report reads.
 *
 * A hot-path operation is written once, as the body of SRB_HOT(), and
 * measured two ways from the same inlined code:
 *   - google-benchmark, as NAME and NAME/threads:2 (real time, so
 *     items_per_second is the throughput of all threads together);
 *   - `spanring-bench --sr-count=NAME --sr-iters=N`, which runs exactly N
 *     operations between two callgrind client requests, so that
 *     bench/callgrind.sh can count instructions per operation (Debian's
 *     google-benchmark has no hardware counters and this kind of VM has no
 *     PMU).  Outside valgrind the client requests are a few no-op
 *     instructions.
 *
 * Every hot-path run reports, besides time:
 *   mallocs/op  allocations made by the measuring threads inside the
 *               timed loop (the executable interposes malloc & co, see
 *               malloc_count.c; other threads are not counted);
 *   drops/op    spans the pipeline dropped (any reason) during the loop,
 *               so a fast number that is really the drop path shows up.
 *
 * The timed loop pauses now and then to let the consumer catch up (see
 * kQuiesceEvery), so the time is that of the recording path.
 *
 * What this leaves out: it does not pin threads (the machine has two
 * cores and the 2-thread runs need both); run.sh controls the rest.
 */
#ifndef SR_BENCH_HARNESS_H
#define SR_BENCH_HARNESS_H

#include "c_compat.h"

#include <benchmark/benchmark.h>
#include <stdint.h>

#include <spanring/spanring.h>

extern "C" {
/* Allocation calls (malloc, calloc, realloc, aligned forms) made by the
 * calling thread since it started; see malloc_count.c. */
uint64_t sr_bench_thread_mallocs(void);
}

namespace srb {

/* One hot-path operation known to the instruction counter. */
struct hot_op {
	const char *name;
	void (*setup)();            /* before a run: sr_init() etc.        */
	void (*teardown)();         /* after a run                          */
	void (*loop)(uint64_t n);   /* n operations, the body inlined        */
	const char *(*check)();     /* after set-up: why it cannot run, or NULL */
	int spans;                  /* spans one operation makes           */
};

int register_hot(const hot_op &op);
const hot_op *find_hot(const char *name);

/* Adapts a plain set-up function to google-benchmark's Setup(). */
template <void (*F)()> void adapt(const benchmark::State &)
{
	F();
}

/* Per-thread bookkeeping around a timed loop. */
class probe {
    public:
	explicit probe(benchmark::State &st);
	void finish(benchmark::State &st, int spans_per_iter);

    private:
	uint64_t mallocs_;
	uint64_t dropped_;
	bool have_stats_;
};

/* Spans lost so far (0 when not running): every drop reason but a
 * processor's, which is a decision (sampling), not a loss. */
uint64_t dropped_total(const sr_stats_t &st);

/* bench_pipeline.cc: the highest zero-drop rate of `producers` threads
 * with this processor chain ("" none); *full_speed the unpaced rate. */
double pipeline_sustained_rate(int producers, const char *processors,
			       double *full_speed);
/* bench_processors.cc: --sr-proc=CHAIN --sr-iters=N. */
int proc_count_mode(const char *chain, uint64_t iters);

/* A benchmark with its own drop counter (the floor's ring) installs it
 * here for the probes; NULL: read sr_stats. */
void set_extra_drops(uint64_t (*fn)());

/* Waits until every recorded span has been consumed, outside the timed
 * and counted windows (so they cover the path that records, not the one
 * that drops).  Default: until the pipeline's rings are empty. */
void set_quiesce(void (*fn)());
void quiesce();

/* Drops so far: the installed counter, else sr_stats; false if neither. */
bool drops_now(uint64_t *out);

/*
 * Records per ring, for the span benchmarks and the floor alike.  The
 * drainer sleeps up to drainer_max_sleep_us (1 ms) when it finds the
 * rings empty, and a nanosleep here overshoots; a thread recording
 * 10-20 million spans/s fills the default 1024-record ring long before
 * the drainer wakes, and the benchmark would time the drop path.  16384
 * records (4 MiB a ring) hold a full sleep's worth at these rates.
 */
constexpr uint32_t kRingRecords = 16384;

/*
 * What a span costs is measured on the path that records it.  Every
 * kQuiesceEvery operations (at most 3 records each, so an eighth of a
 * ring or less) the timer pauses while the consumer empties the rings;
 * otherwise, on this two-core machine, the drainer falls behind a
 * producer running flat out, the ring fills, and the timed loop becomes
 * a mix of recording and the cheaper drop path.  drops/op still reports
 * any drop inside the timed windows.  What the pipeline sustains without
 * pauses is BM_pipeline_sustained's question.
 */
constexpr uint32_t kQuiesceEvery = kRingRecords / 8;

/* Pipeline for the span benchmarks: defaults plus exporters="none",
 * kRingRecords and the given sampler.  Exits with the error on failure. */
void pipeline_start(sr_sampler_kind_t sampler);
void pipeline_start_cfg(const sr_config_t &cfg);
void pipeline_stop();

/* The span benchmarks' tracer, looked up by lookup_tracer() and the
 * set-ups below, outside the measured loops (sr_tracer_get takes a lock),
 * and kept in a plain global, as a C program keeps it: a function-local
 * static would add C++'s guard check to every operation measured. */
extern const sr_tracer_t *g_tracer;
void lookup_tracer();
/* lookup_tracer() and pipeline_start() with always_on / always_off. */
void sampled_on();
void sampled_off();

void nothing();
const char *runnable();         /* the default check: always runnable */

/* Process resident set size, bytes, from /proc/self/statm. */
uint64_t rss_bytes();

/* TSC ticks per ns, measured once against CLOCK_MONOTONIC (pacing). */
double tsc_per_ns();

/* SPANS: spans one iteration makes (items_per_second counts spans).
 * Every thread runs Check, so all of them skip together. */
template <void (*Op)(), int SPANS, const char *(*Check)()>
void hot_loop(benchmark::State &st)
{
	const char *why = Check();

	if (why) {
		st.SkipWithError(why);
		return;
	}
	probe p(st);

	/* Batches of kQuiesceEvery: the timed loop is then the operation
	 * plus an increment and a compare (as in count_loop), not
	 * google-benchmark's per-iteration bookkeeping, which is about a
	 * nanosecond and would dominate the sub-nanosecond operations. */
	while (st.KeepRunningBatch(kQuiesceEvery)) {
		for (uint32_t i = 0; i < kQuiesceEvery; i++) {
			Op();
			asm volatile("");
		}
		st.PauseTiming();
		quiesce();
		st.ResumeTiming();
	}
	p.finish(st, SPANS);
}

template <void (*Op)()> void count_loop(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		Op();
		/* Keeps the loop (and the empty baseline's loop) from being
		 * folded away without ordering any memory. */
		asm volatile("");
	}
}

} // namespace srb

/*
 * SRB_HOT(NAME, SETUP, TEARDOWN) { body }
 * Declares NAME as a hot-path benchmark in 1- and 2-thread forms, and
 * registers it for instruction counting.  SETUP/TEARDOWN are void()
 * functions run around each google-benchmark run (before the threads
 * start, after they stop).  SRB_HOT_X: one iteration makes SPANS spans,
 * and CHECK (const char *()) may name a reason to skip.
 */
#define SRB_HOT(NAME, SETUP, TEARDOWN) \
	SRB_HOT_X(NAME, SETUP, TEARDOWN, 1, srb::runnable)
#define SRB_HOT_X(NAME, SETUP, TEARDOWN, SPANS, CHECK)                       \
	static inline __attribute__((always_inline)) void NAME##_op_();       \
	static void NAME(benchmark::State &st)                               \
	{                                                                    \
		srb::hot_loop<NAME##_op_, SPANS, CHECK>(st);                 \
	}                                                                    \
	static void NAME##_count_(uint64_t n)                                \
	{                                                                    \
		srb::count_loop<NAME##_op_>(n);                              \
	}                                                                    \
	BENCHMARK(NAME)                                                      \
		->Setup(srb::adapt<SETUP>)                                   \
		->Teardown(srb::adapt<TEARDOWN>)                             \
		->UseRealTime();                                             \
	BENCHMARK(NAME)                                                      \
		->Setup(srb::adapt<SETUP>)                                   \
		->Teardown(srb::adapt<TEARDOWN>)                             \
		->Threads(2)                                                 \
		->UseRealTime();                                             \
	static int NAME##_reg_ __attribute__((unused)) =                     \
		srb::register_hot(                                           \
			{ #NAME, SETUP, TEARDOWN, NAME##_count_, CHECK,      \
			  SPANS });                                          \
	static inline __attribute__((always_inline)) void NAME##_op_()

#endif /* SR_BENCH_HARNESS_H */
