/*
 * harness.cc - main() of spanring-bench and the shared helpers declared in
 * harness.h.
 *
 * main() has two modes:
 *   spanring-bench [google-benchmark flags]   the benchmarks;
 *   spanring-bench --sr-count=NAME [--sr-iters=N]
 *       runs hot-path operation NAME exactly N times (default 200000)
 *       between CALLGRIND_TOGGLE_COLLECT requests, after set-up and a
 *       warm-up (thread registration, first-touch of the ring) that are
 *       not collected, then prints one JSON line with the pipeline's
 *       counters.  bench/callgrind.sh runs it under
 *       `valgrind --tool=callgrind --collect-atstart=no` and subtracts
 *       BM_empty, the same loop with an empty body.
 *   spanring-bench --sr-list-hot    names of the hot-path operations.
 *   spanring-bench --sr-proc=CHAIN [--sr-iters=N]
 *       N spans through the processor chain CHAIN (bench_processors.cc),
 *       for instruction counts per processor (bench/proc_callgrind.sh).
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <string>
#include <vector>

#include <valgrind/callgrind.h>

namespace srb {

static std::vector<hot_op> &hot_ops()
{
	static std::vector<hot_op> v;
	return v;
}

int register_hot(const hot_op &op)
{
	hot_ops().push_back(op);
	return 0;
}

const hot_op *find_hot(const char *name)
{
	for (const hot_op &op : hot_ops())
		if (strcmp(op.name, name) == 0)
			return &op;
	return nullptr;
}

uint64_t dropped_total(const sr_stats_t &st)
{
	return st.dropped_ring_full + st.dropped_limits +
	       st.dropped_queue_full + st.dropped_exporter +
	       st.dropped_shutdown + st.dropped_reentrant;
}

static bool stats_now(sr_stats_t *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return sr_stats_get(st) == 0;
}

static uint64_t (*g_extra_drops)();
static void (*g_quiesce)();

void set_extra_drops(uint64_t (*fn)())
{
	g_extra_drops = fn;
}

void set_quiesce(void (*fn)())
{
	g_quiesce = fn;
}

static void add_used(const sr_ring_stats_t *r, void *ud)
{
	*(uint64_t *)ud += r->used;
}

/* Until the drainer has taken everything out of the rings (bounded at
 * 10 s: a stuck drainer must not hang the run).  Cheap when nothing was
 * recorded, as for unsampled spans. */
void quiesce()
{
	if (g_quiesce) {
		g_quiesce();
		return;
	}
	for (int i = 0; i < 200000 && sr_is_running(); i++) {
		uint64_t used = 0;
		struct timespec ts = { 0, 50000 };

		if (sr_stats_foreach_ring(add_used, &used) != 0 || used == 0)
			return;
		nanosleep(&ts, nullptr);
	}
}

/* Drops so far, from the benchmark's own counter or the pipeline. */
bool drops_now(uint64_t *out)
{
	sr_stats_t s;

	if (g_extra_drops) {
		*out = g_extra_drops();
		return true;
	}
	if (!stats_now(&s))
		return false;
	*out = dropped_total(s);
	return true;
}

probe::probe(benchmark::State &st)
	: mallocs_(0), dropped_(0), have_stats_(false)
{
	/* Thread 0 reads the drop counters before the start barrier of the
	 * timed loop and after its end barrier, so the window covers every
	 * thread's loop and nothing else. */
	if (st.thread_index() == 0)
		have_stats_ = drops_now(&dropped_);
	mallocs_ = sr_bench_thread_mallocs();
}

void probe::finish(benchmark::State &st, int spans_per_iter)
{
	using benchmark::Counter;
	uint64_t mallocs = sr_bench_thread_mallocs() - mallocs_;
	double drops = 0;
	uint64_t now;

	if (have_stats_ && drops_now(&now))
		drops = (double)(now - dropped_);
	/* Counters are summed over threads, then divided by the iterations
	 * of all threads. */
	st.counters["mallocs/op"] =
		Counter((double)mallocs, Counter::kAvgIterations);
	st.counters["drops/op"] = Counter(drops, Counter::kAvgIterations);
	st.SetItemsProcessed(st.iterations() * spans_per_iter);
}

void pipeline_start_cfg(const sr_config_t &cfg)
{
	int rc = sr_init(&cfg);

	if (rc != 0) {
		fprintf(stderr, "spanring-bench: sr_init: %s (%s)\n",
			sr_strerror(rc), sr_last_error());
		exit(2);
	}
}

void pipeline_start(sr_sampler_kind_t sampler)
{
	sr_config_t cfg;

	sr_config_init(&cfg);
	cfg.exporters = "none";
	cfg.sampler = sampler;
	cfg.ring_records = kRingRecords;
	/* A few rings: google-benchmark starts fresh threads for each run
	 * and a ring is reclaimed only after its thread's exit is seen. */
	cfg.max_threads = 16;
	pipeline_start_cfg(cfg);
}

void pipeline_stop()
{
	uint64_t lost = 0;

	sr_shutdown(5000, &lost);
}

const sr_tracer_t *g_tracer;

void lookup_tracer()
{
	if (!g_tracer)
		g_tracer = sr_tracer_get("spanring-bench", "1");
}

void sampled_on()
{
	lookup_tracer();
	pipeline_start(SR_SAMPLER_ALWAYS_ON);
}

void sampled_off()
{
	lookup_tracer();
	pipeline_start(SR_SAMPLER_ALWAYS_OFF);
}

void nothing()
{
}

const char *runnable()
{
	return nullptr;
}

uint64_t rss_bytes()
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t mono_ns()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

double tsc_per_ns()
{
	static double rate;

	if (rate == 0) {
		uint64_t n0 = mono_ns(), t0 = __rdtsc(), n1, t1;

		do {
			n1 = mono_ns();
		} while (n1 - n0 < 50 * 1000 * 1000);
		t1 = __rdtsc();
		rate = (double)(t1 - t0) / (double)(n1 - n0);
	}
	return rate;
}

} // namespace srb

/* BM_empty: the loop alone.  Also the callgrind baseline. */
static void bm_empty_setup()
{
}

SRB_HOT(BM_empty, bm_empty_setup, srb::nothing)
{
}

/*
 * Counted in chunks: between chunks, outside the collected window, the
 * consumer is given time to empty the ring (quiesce), so every counted
 * operation takes the recording path even though, under valgrind, the
 * drainer thread runs far slower than natively.
 */
static int count_mode(const char *name, uint64_t iters)
{
	const srb::hot_op *op = srb::find_hot(name);
	const uint64_t chunk = srb::kQuiesceEvery;
	uint64_t warm = iters / 10 + 1000, m0, m1, d0 = 0, d1 = 0;
	sr_stats_t st;
	char json[2048] = "{}";

	if (!op) {
		fprintf(stderr, "spanring-bench: no hot-path operation %s\n",
			name);
		return 2;
	}
	op->setup();
	if (const char *why = op->check()) {
		op->teardown();
		printf("{\"name\":\"%s\",\"skipped\":\"%s\"}\n", name, why);
		return 0;
	}
	op->loop(warm);
	srb::quiesce();
	srb::drops_now(&d0);
	m0 = sr_bench_thread_mallocs();
	for (uint64_t done = 0; done < iters;) {
		uint64_t n = iters - done < chunk ? iters - done : chunk;

		CALLGRIND_TOGGLE_COLLECT;
		op->loop(n);
		CALLGRIND_TOGGLE_COLLECT;
		done += n;
		srb::quiesce();
	}
	m1 = sr_bench_thread_mallocs();
	srb::drops_now(&d1);
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	if (sr_stats_get(&st) == 0)
		sr_stats_to_json(&st, json, sizeof(json));
	op->teardown();
	printf("{\"name\":\"%s\",\"iters\":%llu,\"spans_per_iter\":%d,"
	       "\"mallocs\":%llu,\"drops\":%llu,\"stats\":%s}\n",
	       name, (unsigned long long)iters, op->spans,
	       (unsigned long long)(m1 - m0), (unsigned long long)(d1 - d0),
	       json);
	return 0;
}

/* The "mallocs/op" columns claim zero only if counting works: allocate
 * once through an opaque pointer and check the counter moved. */
static bool malloc_counting_works()
{
	void *(*volatile alloc)(size_t) = malloc;
	uint64_t before = sr_bench_thread_mallocs();
	void *p = alloc(24);

	benchmark::DoNotOptimize(p);
	free(p);
	return sr_bench_thread_mallocs() == before + 1;
}

int main(int argc, char **argv)
{
	const char *count = nullptr, *proc = nullptr;
	uint64_t iters = 200000;
	std::vector<char *> rest;

	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "--sr-count=", 11) == 0)
			count = argv[i] + 11;
		else if (strncmp(argv[i], "--sr-proc=", 10) == 0)
			proc = argv[i] + 10;
		else if (strncmp(argv[i], "--sr-iters=", 11) == 0)
			iters = strtoull(argv[i] + 11, nullptr, 10);
		else if (strcmp(argv[i], "--sr-list-hot") == 0) {
			for (const srb::hot_op &op : srb::hot_ops())
				printf("%s\n", op.name);
			return 0;
		} else
			rest.push_back(argv[i]);
	}
	if (!malloc_counting_works()) {
		fprintf(stderr, "spanring-bench: malloc counting is not active "
				"(malloc_count.c not linked first?)\n");
		return 3;
	}
	if (count)
		return count_mode(count, iters);
	if (proc)
		return srb::proc_count_mode(proc, iters);

	int n = (int)rest.size();
	rest.push_back(nullptr);
	benchmark::Initialize(&n, rest.data());
	if (benchmark::ReportUnrecognizedArguments(n, rest.data()))
		return 1;
	benchmark::AddCustomContext("spanring", sr_version());
	benchmark::AddCustomContext("tsc_per_ns",
				    std::to_string(srb::tsc_per_ns()));
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
