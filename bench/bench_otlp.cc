/*
 * bench_otlp.cc - the OTLP exporter's costs: encoding (protobuf, JSON, with
 * and without gzip, spans of 2 and 10 attributes) and end to end into a
 * local receiver that discards what it gets.
 *
 * Encoding runs on synthetic batches of 512 spans (the default batch
 * size) built once as sr_span_data_t arrays, through the same entry point
 * the exporter uses per span (sr__otlp_encode), so the numbers are the
 * exporter worker's CPU per span with no pipeline around it.  Counters:
 * items_per_second = spans/s on one core, bytes/span = request bytes
 * (after gzip for the _gz variants; gzip is zlib level 1, the exporter's
 * default, with the transport's parameters).  The _grpc variants add
 * OTLP/gRPC's framing as the transport does it: the body copied (or
 * compressed) behind the 5-byte length prefix; bytes/span includes it.
 *
 * BM_otlp_end_to_end needs the test receiver (tests/receiver); it is
 * compiled in when bench/CMakeLists.txt puts tests/receiver on the include
 * path and receiver.c in the sources, and skipped otherwise.
 *
 * Left out: network cost to a real collector (loopback only here).
 */
#include "c_compat.h"

#include <benchmark/benchmark.h>
#include <string.h>
#include <zlib.h>

#include <vector>

#include "server/taskstat.h"

extern "C" {
#include "grpc_int.h"
#include "otlp_int.h"
}

#if __has_include(<receiver.h>)
#define SRB_HAVE_RECEIVER 1
extern "C" {
#include <receiver.h>
}
#endif

namespace {

constexpr size_t kBatch = 512;

sr_str_t str(const char *s)
{
	return sr_str_t{ s, (uint32_t)strlen(s) };
}

struct batch {
	std::vector<sr_attr_view_t> attrs;
	std::vector<sr_span_data_t> spans;
	sr_attr_view_t res[3];
};

/* Spans shaped like an HTTP server's: realistic keys and values, half
 * strings, half integers, a few distinct names, one scope. */
const batch &make_batch(int nattrs)
{
	static batch b2, b10;
	batch &b = nattrs == 2 ? b2 : b10;
	if (!b.spans.empty())
		return b;

	static const char *keys[] = { "http.request.method", "http.route",
				      "http.response.status_code", "server.port",
				      "url.path", "user_agent.original",
				      "network.peer.port", "db.rows",
				      "server.address", "retry.count" };
	static const char *svals[] = { "GET", "/api/v1/users/{id}", "", "",
				       "/api/v1/users/12345",
				       "curl/7.88.1", "", "", "api.example.com", "" };
	static const char *names[] = { "GET /api/v1/users/{id}", "db.query",
				       "cache.get", "render" };

	b.attrs.resize(kBatch * nattrs);
	b.spans.resize(kBatch);
	for (size_t i = 0; i < kBatch; i++) {
		sr_span_data_t &s = b.spans[i];
		memset(&s, 0, sizeof(s));
		for (int k = 0; k < 16; k++)
			s.trace_id[k] = (uint8_t)(i * 31 + k * 7 + 1);
		for (int k = 0; k < 8; k++) {
			s.span_id[k] = (uint8_t)(i * 17 + k + 3);
			s.parent_span_id[k] = (uint8_t)(i % 4 ? i * 13 + k : 0);
		}
		s.trace_flags = 1;
		s.kind = i % 4 ? SR_KIND_INTERNAL : SR_KIND_SERVER;
		s.status = i % 50 ? SR_STATUS_UNSET : SR_STATUS_ERROR;
		s.name = str(names[i % 4]);
		s.start_ns = 1700000000000000000ull + i * 1000;
		s.end_ns = s.start_ns + 250000 + i;
		s.scope_name = str("bench");
		s.scope_version = str("1.0.0");
		sr_attr_view_t *a = &b.attrs[i * nattrs];
		for (int k = 0; k < nattrs; k++) {
			a[k] = sr_attr_view_t{};
			a[k].key = str(keys[k]);
			if (*svals[k]) {
				a[k].type = SR_ATTR_STRING;
				a[k].v.s = str(svals[k]);
			} else {
				a[k].type = SR_ATTR_INT;
				a[k].v.i = (int64_t)(200 + i % 300);
			}
		}
		s.attrs = a;
		s.attr_count = (uint32_t)nattrs;
	}
	b.res[0] = sr_attr_view_t{};
	b.res[0].key = str("service.name");
	b.res[0].type = SR_ATTR_STRING;
	b.res[0].v.s = str("bench-service");
	b.res[1] = b.res[0];
	b.res[1].key = str("telemetry.sdk.name");
	b.res[1].v.s = str("spanring");
	b.res[2] = b.res[0];
	b.res[2].key = str("host.name");
	b.res[2].v.s = str("bench-host");
	return b;
}

/* gzip as the transport does it: level 1, gzip wrapper, reused stream. */
struct gz {
	z_stream zs{};
	std::vector<unsigned char> out;
	gz() { deflateInit2(&zs, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY); }
	~gz() { deflateEnd(&zs); }
	/* Compressed size; the output starts `pre` bytes into `out`. */
	size_t run(const char *p, size_t n, size_t pre = 0)
	{
		deflateReset(&zs);
		out.resize(pre + deflateBound(&zs, n));
		zs.next_in = (Bytef *)p;
		zs.avail_in = (uInt)n;
		zs.next_out = out.data() + pre;
		zs.avail_out = (uInt)(out.size() - pre);
		deflate(&zs, Z_FINISH);
		return zs.total_out;
	}
};

void encode(benchmark::State &st, sr__otlp_format f, int nattrs, bool gzip,
	    bool grpc = false)
{
	std::vector<unsigned char> framed;
	const batch &b = make_batch(nattrs);
	sr__otlp_enc e;
	gz z;
	const char *body = nullptr;
	size_t len = 0, wire = 0;

	sr__otlp_enc_init(&e, f);
	for (auto _ : st) {
		if (sr__otlp_encode(&e, b.res, 3, b.spans.data(), kBatch, &body,
				    &len) != 0) {
			st.SkipWithError("encode failed");
			break;
		}
		if (grpc && gzip) {
			wire = z.run(body, len, SR__GRPC_PREFIX_LEN);
			sr__grpc_frame(z.out.data(), true, (uint32_t)wire);
			wire += SR__GRPC_PREFIX_LEN;
		} else if (grpc) {
			framed.resize(SR__GRPC_PREFIX_LEN + len);
			memcpy(framed.data() + SR__GRPC_PREFIX_LEN, body, len);
			sr__grpc_frame(framed.data(), false, (uint32_t)len);
			wire = framed.size();
		} else {
			wire = gzip ? z.run(body, len) : len;
		}
		benchmark::DoNotOptimize(body);
		benchmark::ClobberMemory();
	}
	st.SetItemsProcessed((int64_t)(st.iterations() * kBatch));
	st.counters["bytes/span"] = (double)wire / kBatch;
	st.counters["raw_bytes/span"] = (double)len / kBatch;
	sr__otlp_enc_free(&e);
}

void BM_otlp_encode_pb_2attrs(benchmark::State &st) { encode(st, SR__OTLP_PROTOBUF, 2, false); }
void BM_otlp_encode_pb_10attrs(benchmark::State &st) { encode(st, SR__OTLP_PROTOBUF, 10, false); }
void BM_otlp_encode_pb_gz_2attrs(benchmark::State &st) { encode(st, SR__OTLP_PROTOBUF, 2, true); }
void BM_otlp_encode_pb_gz_10attrs(benchmark::State &st) { encode(st, SR__OTLP_PROTOBUF, 10, true); }
void BM_otlp_encode_grpc_2attrs(benchmark::State &st) { encode(st, SR__OTLP_PROTOBUF, 2, false, true); }
void BM_otlp_encode_grpc_10attrs(benchmark::State &st) { encode(st, SR__OTLP_PROTOBUF, 10, false, true); }
void BM_otlp_encode_grpc_gz_2attrs(benchmark::State &st) { encode(st, SR__OTLP_PROTOBUF, 2, true, true); }
void BM_otlp_encode_json_2attrs(benchmark::State &st) { encode(st, SR__OTLP_JSON, 2, false); }
void BM_otlp_encode_json_10attrs(benchmark::State &st) { encode(st, SR__OTLP_JSON, 10, false); }
void BM_otlp_encode_json_gz_2attrs(benchmark::State &st) { encode(st, SR__OTLP_JSON, 2, true); }
void BM_otlp_encode_json_gz_10attrs(benchmark::State &st) { encode(st, SR__OTLP_JSON, 10, true); }

BENCHMARK(BM_otlp_encode_pb_2attrs);
BENCHMARK(BM_otlp_encode_pb_10attrs);
BENCHMARK(BM_otlp_encode_pb_gz_2attrs);
BENCHMARK(BM_otlp_encode_pb_gz_10attrs);
BENCHMARK(BM_otlp_encode_grpc_2attrs);
BENCHMARK(BM_otlp_encode_grpc_10attrs);
BENCHMARK(BM_otlp_encode_grpc_gz_2attrs);
BENCHMARK(BM_otlp_encode_json_2attrs);
BENCHMARK(BM_otlp_encode_json_10attrs);
BENCHMARK(BM_otlp_encode_json_gz_2attrs);
BENCHMARK(BM_otlp_encode_json_gz_10attrs);

#ifdef SRB_HAVE_RECEIVER
/*
 * The whole path: one producer thread makes spans of 2 attributes as fast
 * as it can, the drainer batches them, the OTLP worker encodes and posts
 * them over one keep-alive loopback connection to a receiver that counts
 * and discards.  Each iteration is 100k spans plus the flush that waits
 * until they are through; items/s counts spans exported, and drops/span
 * shows how many the pipeline shed instead (rings or queue full).
 */
/* The test receiver (discarding bodies) and a pipeline exporting to it
 * over OTLP/HTTP; NULL, with the benchmark skipped, if either fails. */
struct sr_rcv *otlp_pipeline_start(benchmark::State &st, bool json,
				   const sr_config_t &cfg)
{
	struct sr_rcv *r = sr_rcv_start();
	char url[64];

	if (!r) {
		st.SkipWithError("receiver did not start");
		return nullptr;
	}
	sr_rcv_discard_bodies(r, true);
	sr_rcv_base_url(r, url, sizeof(url));
	setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url, 1);
	setenv("OTEL_EXPORTER_OTLP_PROTOCOL", json ? "http/json" : "http/protobuf", 1);
	if (sr_init(&cfg) != 0) {
		st.SkipWithError(sr_last_error());
		sr_rcv_stop(r);
		return nullptr;
	}
	return r;
}

void otlp_pipeline_stop(struct sr_rcv *r)
{
	sr_shutdown(10000, nullptr);
	unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT");
	unsetenv("OTEL_EXPORTER_OTLP_PROTOCOL");
	sr_rcv_stop(r);
}

void BM_otlp_end_to_end(benchmark::State &st)
{
	const bool json = st.range(0) != 0;
	sr_config_t cfg;
	sr_stats_t s0{}, s1{};
	const int n = 100000;

	sr_config_init(&cfg);
	cfg.exporters = "otlp";
	cfg.sampler = SR_SAMPLER_ALWAYS_ON;
	cfg.ring_records = 1u << 17;
	cfg.max_export_batch_size = 512;
	cfg.max_queue_size = 1u << 16;
	cfg.schedule_delay_ms = 5;
	struct sr_rcv *r = otlp_pipeline_start(st, json, cfg);
	if (!r)
		return;
	const sr_tracer_t *tr = sr_tracer_get("bench", "1.0.0");
	s0.size = sizeof(s0);
	sr_stats_get(&s0);
	for (auto _ : st) {
		for (int i = 0; i < n; i++) {
			sr_span_t sp;
			sr_span_start(&sp, tr, "GET /api/v1/users/{id}", SR_KIND_SERVER);
			sr_span_set_str_static(&sp, "http.route", "/api/v1/users/{id}");
			sr_span_set_int(&sp, "http.response.status_code", 200);
			sr_span_end(&sp);
		}
		sr_flush(30000, nullptr);
	}
	s1.size = sizeof(s1);
	sr_stats_get(&s1);
	uint64_t exported = s1.exported - s0.exported;
	uint64_t sampled = s1.sampled - s0.sampled;
	st.SetItemsProcessed((int64_t)exported);
	st.counters["drops/span"] = sampled ? (double)(sampled - exported) / sampled : 0;
	otlp_pipeline_stop(r);
}
BENCHMARK(BM_otlp_end_to_end)->ArgName("json")->Arg(0)->Arg(1)->UseRealTime()
	->Unit(benchmark::kMillisecond);

/* The library threads' run time (ns, schedstat) so far, by role. */
struct lib_ns {
	uint64_t drainer, exporter;
};

lib_ns lib_ns_now()
{
	struct task_cpu t[TASKSTAT_MAX];
	int n = taskstat_read(t, TASKSTAT_MAX, 0);
	lib_ns c = {};

	for (int k = 0; k < n; k++) {
		if (strcmp(t[k].comm, "sr-drainer") == 0)
			c.drainer += t[k].ns;
		else if (strncmp(t[k].comm, "sr-exp-", 7) == 0)
			c.exporter += t[k].ns;
	}
	return c;
}

/*
 * What the library threads pay per span of an HTTP server: range(0) SERVER
 * spans shaped like ngx_http_spanring_module's (12 attributes of the HTTP
 * server semantic conventions: 3 static strings, 4 copied, 5 integers)
 * through the whole pipeline into OTLP/HTTP protobuf to the local
 * receiver, in batches of 512 (the nginx module's default batch_size; a
 * flush every 512 spans, so valgrind's serialised threads cannot overrun
 * the ring).  One iteration.  Counters: exporter_ns/span and
 * drainer_ns/span, the sr-exp-otlp and sr-drainer threads' run time
 * (schedstat) divided by the spans; drops must be 0.
 *
 * Instructions per span on the library threads: the same benchmark at two
 * sizes under callgrind, (Ir(N2) - Ir(N1)) / (N2 - N1) over the library
 * threads' files (bench/otlp_callgrind.sh), which cancels start-up and
 * shutdown as bench/nginx/run.sh does.
 */
void BM_otlp_http_server_spans(benchmark::State &st)
{
	const int n = (int)st.range(0);
	sr_config_t cfg;
	sr_stats_t s0{}, s1{};

	sr_config_init(&cfg);
	cfg.exporters = "otlp";
	cfg.sampler = SR_SAMPLER_ALWAYS_ON;
	cfg.service_name = "bench-nginx";
	cfg.ring_records = 1u << 13;
	cfg.max_export_batch_size = 512;
	cfg.max_queue_size = 2048;
	cfg.schedule_delay_ms = 5000;
	struct sr_rcv *r = otlp_pipeline_start(st, false, cfg);
	if (!r)
		return;
	const sr_tracer_t *tr = sr_tracer_get("ngx_http_spanring_module", "0.1.0");
	static const char path[] = "/api/v1/users/12345";
	static const char ua[] = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101";
	static const char host[] = "api.example.com";
	static const char client[] = "192.168.17.42";
	lib_ns c0 = {}, c1 = {};

	sr_thread_register();
	s0.size = sizeof(s0);
	sr_stats_get(&s0);
	for (auto _ : st) {
		c0 = lib_ns_now();
		for (int i = 0; i < n; i++) {
			sr_span_t sp;
			sr_span_start(&sp, tr, "GET /api/v1/users/{id}", SR_KIND_SERVER);
			sr_span_set_str_static(&sp, "http.request.method", "GET");
			sr_span_set_strn(&sp, "url.path", path, sizeof(path) - 1);
			sr_span_set_str_static(&sp, "url.scheme", "http");
			sr_span_set_str_static(&sp, "network.protocol.version", "1.1");
			sr_span_set_int(&sp, "http.response.status_code", 200);
			sr_span_set_int(&sp, "http.request.body.size", 128 + i % 7);
			sr_span_set_int(&sp, "http.response.body.size", 612 + i % 1000);
			sr_span_set_strn(&sp, "user_agent.original", ua, sizeof(ua) - 1);
			sr_span_set_strn(&sp, "server.address", host, sizeof(host) - 1);
			sr_span_set_int(&sp, "server.port", 8080);
			sr_span_set_strn(&sp, "client.address", client, sizeof(client) - 1);
			sr_span_set_int(&sp, "client.port", 32768 + i % 28000);
			sr_span_end(&sp);
			if ((i & 511) == 511)
				sr_flush(60000, nullptr);
		}
		sr_flush(60000, nullptr);
		c1 = lib_ns_now();
	}
	s1.size = sizeof(s1);
	sr_stats_get(&s1);
	uint64_t exported = s1.exported - s0.exported;
	uint64_t sampled = s1.sampled - s0.sampled;
	st.SetItemsProcessed((int64_t)exported);
	st.counters["exporter_ns/span"] = (double)(c1.exporter - c0.exporter) / n;
	st.counters["drainer_ns/span"] = (double)(c1.drainer - c0.drainer) / n;
	st.counters["drops/span"] = sampled ? (double)(sampled - exported) / sampled : 0;
	otlp_pipeline_stop(r);
}
BENCHMARK(BM_otlp_http_server_spans)->Arg(2048)->Arg(6144)->Arg(102400)
	->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
#endif

} // namespace
