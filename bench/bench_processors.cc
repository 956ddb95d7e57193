/*
 * bench_processors.cc - the processor chain on the drainer (issue 13):
 * what each processor costs per span on the library's thread, and the
 * rate the pipeline sustains without dropping with the chain on against
 * off.
 *
 *   BM_pipeline_processor_cost/C  chain C (0 redact, 1 tail, 2 spanmetrics,
 *       3 redact,tail,spanmetrics) on one producer recording the
 *       BM_span_2attrs span plus an e-mail attribute on one span in
 *       eight (so redact masks something), at kCostRate spans/s for a
 *       fixed time, exporter `none`.  Reported per processor: the time
 *       in its process() per span it was given (sr_stats_processor:
 *       process_ns / spans_in), and the drainer's run time per span
 *       (schedstat) for the whole chain.
 *   BM_pipeline_processors_sustained/P/ON  P producers, the highest paced
 *       rate with zero drops (bench_pipeline.cc's bisection and trials)
 *       with the chain redact,tail,spanmetrics ON = 1, or none (0), in
 *       the same run so the ratio is read from one machine state.
 *
 * Instructions per span: spanring-bench --sr-proc=CHAIN --sr-iters=N
 * records N spans through the chain and prints each processor's spans;
 * bench/run.sh runs it under callgrind with --toggle-collect on each
 * processor's process function (bench/proc_callgrind.sh).
 *
 * tail runs with SPANRING_TAIL_DECISION_MS=100 and the default limits, so
 * under these rates it decides most traces early (its store is full):
 * the cost measured includes that path.
 */
#include "harness.h"

#include "server/taskstat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include <thread>

namespace {

const char *const kChains[] = { "redact", "tail", "spanmetrics",
				"redact,tail,spanmetrics" };
constexpr double kCostRate = 300000;

const sr_tracer_t *tracer()
{
	static const sr_tracer_t *t = sr_tracer_get("spanring-bench", "1");
	return t;
}

inline void proc_span(uint64_t i)
{
	sr_span_t s;

	sr_span_start(&s, tracer(), "GET /users", SR_KIND_SERVER);
	sr_span_set_int(&s, "http.response.status_code", 200);
	sr_span_set_str(&s, "http.request.method", "GET");
	if ((i & 7) == 0)
		sr_span_set_str(&s, "user.contact", "mail ann@example.com now");
	sr_span_end(&s);
}

void start_chain(const char *chain, uint32_t ring)
{
	sr_config_t cfg;

	setenv("SPANRING_TAIL_DECISION_MS", "100", 0);
	sr_config_init(&cfg);
	cfg.exporters = "none";
	cfg.sampler = SR_SAMPLER_ALWAYS_ON;
	cfg.processors = chain;
	cfg.ring_records = ring;
	srb::pipeline_start_cfg(cfg);
}

uint64_t drainer_ns()
{
	struct task_cpu t[TASKSTAT_MAX];
	int n = taskstat_read(t, TASKSTAT_MAX, 0);
	uint64_t ns = 0;

	for (int k = 0; k < n; k++)
		if (strcmp(t[k].comm, "sr-drainer") == 0)
			ns += t[k].ns;
	return ns;
}

void BM_pipeline_processor_cost(benchmark::State &st)
{
	const char *chain = kChains[st.range(0)];
	const bool quick = getenv("SR_BENCH_QUICK") && *getenv("SR_BENCH_QUICK") == '1';
	const uint64_t spans = (uint64_t)(kCostRate * (quick ? 0.1 : 1.0));

	for (auto _ : st) {
		uint64_t c0 = __rdtsc(), d0, d1, dropped;
		sr_stats_t s{};

		start_chain(chain, 16384);
		std::thread producer([&] {
			const double ticks = srb::tsc_per_ns() * 1e9 / kCostRate;
			uint64_t t0;

			sr_thread_register();
			proc_span(1);
			sr_flush(10000, nullptr);
			d0 = drainer_ns();
			t0 = __rdtsc();
			for (uint64_t i = 0; i < spans; i++) {
				while (__rdtsc() < t0 + (uint64_t)(ticks * (double)i)) {
					struct timespec ts = { 0, 50000 };

					nanosleep(&ts, nullptr);
				}
				proc_span(i);
			}
			sr_flush(10000, nullptr);
			d1 = drainer_ns();
		});
		producer.join();
		s.size = sizeof(s);
		sr_stats_get(&s);
		dropped = srb::dropped_total(s);
		for (uint32_t k = 0;; k++) {
			sr_processor_stats_t ps{};

			ps.size = sizeof(ps);
			if (sr_stats_processor(k, &ps) != 0)
				break;
			st.counters[std::string(ps.name) + "_ns_per_span"] =
				ps.spans_in ? (double)ps.process_ns / (double)ps.spans_in : 0;
			st.counters[std::string(ps.name) + "_spans_in"] = (double)ps.spans_in;
		}
		srb::pipeline_stop();
		st.SetIterationTime((double)(__rdtsc() - c0) / srb::tsc_per_ns() / 1e9);
		st.counters["drainer_ns_per_span"] = (double)(d1 - d0) / (double)spans;
		st.counters["spans"] = (double)spans;
		st.counters["dropped"] = (double)dropped;
		st.SetLabel(chain);
	}
}
BENCHMARK(BM_pipeline_processor_cost)
	->DenseRange(0, 3)
	->Iterations(1)
	->UseManualTime()
	->Unit(benchmark::kMillisecond);

void BM_pipeline_processors_sustained(benchmark::State &st)
{
	const int producers = (int)st.range(0);
	const bool on = st.range(1) != 0;

	for (auto _ : st) {
		uint64_t c0 = __rdtsc();
		double full = 0, best;

		setenv("SPANRING_TAIL_DECISION_MS", "100", 0);
		best = srb::pipeline_sustained_rate(
			producers, on ? kChains[3] : "", &full);
		st.SetIterationTime((double)(__rdtsc() - c0) / srb::tsc_per_ns() / 1e9);
		st.counters["zero_drop_spans_per_s"] = best;
		st.counters["full_speed_spans_per_s"] = full;
		st.counters["producers"] = producers;
		st.counters["chain_on"] = on;
		st.SetLabel(on ? kChains[3] : "none");
	}
}
BENCHMARK(BM_pipeline_processors_sustained)
	->Args({ 1, 0 })
	->Args({ 1, 1 })
	->Args({ 2, 0 })
	->Args({ 2, 1 })
	->Iterations(1)
	->UseManualTime()
	->Unit(benchmark::kMillisecond);

} // namespace

namespace srb {

/* --sr-proc=CHAIN --sr-iters=N: N spans through CHAIN, flushed every 4096
 * (no ring drops under valgrind's slowness); prints what each processor
 * was given, for proc_callgrind.sh's division. */
int proc_count_mode(const char *chain, uint64_t iters)
{
	start_chain(chain, 65536);
	sr_thread_register();
	for (uint64_t i = 0; i < iters; i++) {
		proc_span(i);
		if ((i & 4095) == 4095)
			sr_flush(60000, nullptr);
	}
	sr_flush(60000, nullptr);
	printf("{\"chain\":\"%s\",\"iters\":%llu,\"processors\":{", chain,
	       (unsigned long long)iters);
	for (uint32_t k = 0;; k++) {
		sr_processor_stats_t ps{};

		ps.size = sizeof(ps);
		if (sr_stats_processor(k, &ps) != 0)
			break;
		printf("%s\"%s\":%llu", k ? "," : "", ps.name,
		       (unsigned long long)ps.spans_in);
	}
	sr_stats_t s{};
	s.size = sizeof(s);
	sr_stats_get(&s);
	printf("},\"dropped\":%llu}\n", (unsigned long long)dropped_total(s));
	pipeline_stop();
	return 0;
}

} // namespace srb
