/*
 * cxx_server.cc - spanring-cxx-server: a small simulated C++ server traced
 * with <spanring/spanring.hpp>.
 *
 * Two worker threads each serve a few requests from a fixed list:
 *
 *   GET /cart/{id}      SERVER span; a cache lookup and a database query
 *                       (CLIENT spans) nest under it through Scope
 *   POST /checkout      the payment client throws; the exception unwinds
 *                       through its span (recorded, status ERROR) and is
 *                       handled by the request, which records error.type
 *   GET /search         query terms and result ids as array attributes
 *
 * Attribute names come from <spanring/semconv.h>.  Configuration is the
 * environment's (sr_init_from_env: OTEL_TRACES_EXPORTER and the rest;
 * unset, the console exporter prints the traces).  At the end it shuts
 * down and prints one summary line; exit status 2 if the accounting does
 * not add up (sampled != exported + dropped) or a span was lost.
 */
#include <spanring/semconv.h>
#include <spanring/spanring.hpp>

#include <cinttypes>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

const spanring::Tracer &tracer()
{
	static const spanring::Tracer t("cxx-server", "1.0");
	return t;
}

struct payment_declined : std::runtime_error {
	using std::runtime_error::runtime_error;
};

std::string cache_get(int id)
{
	spanring::Span span(tracer(), "cache.get", SR_KIND_CLIENT);
	span.set("cache.key", "cart:" + std::to_string(id));
	bool hit = id % 2 == 0;
	span.set("cache.hit", hit);
	return hit ? "cached" : std::string();
}

int query_cart(int id)
{
	spanring::Span span(tracer(), "SELECT carts", SR_KIND_CLIENT);
	span.set(SR_SEMCONV_DB_SYSTEM_NAME, SR_SEMCONV_DB_SYSTEM_NAME_POSTGRESQL)
		.set(SR_SEMCONV_DB_COLLECTION_NAME, "carts")
		.set(SR_SEMCONV_DB_OPERATION_NAME, "SELECT")
		.set(SR_SEMCONV_DB_QUERY_TEXT, "SELECT * FROM carts WHERE id = $1")
		.set(SR_SEMCONV_SERVER_PORT, 5432);
	return id * 3;
}

void charge(int cents)
{
	spanring::Span span(tracer(), "payment.charge", SR_KIND_CLIENT);
	span.set("payment.cents", cents);
	if (cents > 5000)
		throw payment_declined("card declined: amount over limit");
}

void get_cart(int id)
{
	spanring::Span span(tracer(), "GET /cart/{id}", SR_KIND_SERVER);
	spanring::Scope scope(span);
	span.set(SR_SEMCONV_HTTP_REQUEST_METHOD, SR_SEMCONV_HTTP_REQUEST_METHOD_GET)
		.set(SR_SEMCONV_HTTP_ROUTE, "/cart/{id}")
		.set(SR_SEMCONV_URL_PATH, "/cart/" + std::to_string(id));
	if (cache_get(id).empty()) {
		int items = query_cart(id);
		span.add_event("cache.filled", { { "cart.items", items } });
	}
	span.set(SR_SEMCONV_HTTP_RESPONSE_STATUS_CODE, 200);
}

void checkout(int cents)
{
	spanring::Span span(tracer(), "POST /checkout", SR_KIND_SERVER);
	spanring::Scope scope(span);
	span.set(SR_SEMCONV_HTTP_REQUEST_METHOD, SR_SEMCONV_HTTP_REQUEST_METHOD_POST);
	try {
		charge(cents);
		span.set(SR_SEMCONV_HTTP_RESPONSE_STATUS_CODE, 200);
	} catch (const payment_declined &e) {
		/* payment.charge recorded the exception as it unwound; the
		 * request handled it and answers 402. */
		span.set(SR_SEMCONV_HTTP_RESPONSE_STATUS_CODE, 402)
			.set(SR_SEMCONV_ERROR_TYPE, "payment_declined")
			.set_status(SR_STATUS_ERROR, e.what());
	}
}

void search(const std::vector<std::string> &terms)
{
	spanring::in_span(tracer(), "GET /search", SR_KIND_SERVER, [&](spanring::Span &span) {
		span.set(SR_SEMCONV_HTTP_REQUEST_METHOD, SR_SEMCONV_HTTP_REQUEST_METHOD_GET)
			.set("search.terms", terms);
		std::vector<int64_t> ids;
		for (std::size_t i = 0; i < terms.size(); i++)
			ids.push_back(static_cast<int64_t>(100 + i * 7));
		span.set("search.result_ids", ids)
			.set("search.scores", { 0.9, 0.75, 0.5 })
			.set(SR_SEMCONV_HTTP_RESPONSE_STATUS_CODE, 200);
	});
}

void worker(int n)
{
	get_cart(n);
	get_cart(n + 1);
	checkout(n == 1 ? 9900 : 1500);
	search({ "red", "shoes", n == 1 ? "size 42" : "size 38" });
}

} // namespace

int main()
{
	if (sr_init_from_env() != 0 && !sr_is_running()) {
		std::fprintf(stderr, "spanring: %s\n", sr_last_error());
		return 1;
	}
	std::vector<std::thread> threads;
	for (int i = 1; i <= 2; i++)
		threads.emplace_back(worker, i);
	for (auto &t : threads)
		t.join();

	uint64_t lost = 0;
	sr_flush(10000, nullptr);
	sr_stats_t st{};
	st.size = sizeof(st);
	sr_stats_get(&st);
	sr_shutdown(10000, &lost);
	uint64_t dropped = st.dropped_ring_full + st.dropped_limits + st.dropped_queue_full +
			   st.dropped_exporter + st.dropped_shutdown + st.dropped_reentrant +
			   st.dropped_processor;
	std::printf("cxx-server: %" PRIu64 " spans started, %" PRIu64 " sampled, %" PRIu64
		    " exported, %" PRIu64 " dropped\n",
		    st.started, st.sampled, st.exported, dropped);
	/* carts 1 and 3 miss the cache (3 spans), 2 twice hits (2 spans);
	 * each thread adds checkout (2) and search (1): 16 spans */
	bool ok = st.sampled == st.exported + dropped && dropped == 0 && lost == 0 &&
		  st.started == 16;
	return ok ? 0 : 2;
}
