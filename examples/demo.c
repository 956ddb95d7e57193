/*
 * demo.c - spanring-demo: a simulated multi-threaded HTTP server, traced.
 *
 * Each server thread serves --requests requests, picked at random:
 *
 *   GET /api/users/{id}   cache.get -> (miss) SELECT users -> render
 *   GET /api/search       SELECT products (long copied statement) -> render
 *   POST /api/orders      accepted here, finished on an order worker
 *
 * Every request is a root SERVER span with children carrying attributes
 * and events; some fail (database timeouts, payment gateway errors) and
 * end with status ERROR and an exception event.  Orders show the
 * cross-thread pattern of an event-driven server: the "acceptor" (a
 * server thread) starts the request span inside a heap-allocated request
 * struct, stores the span's sr_context_t next to it and queues the
 * struct; an order worker takes it, starts its own spans with that
 * context as explicit parent, and finally ends the request span itself.
 * Workers also commit orders in groups, with a span that links to each
 * order's request (links, not parents: one span, many causes).
 *
 * Both API styles are used as a real service would: SR_SPAN_AUTO (span +
 * scope closed at block exit) for straight-line handlers, explicit
 * start/scope/end where a span outlives a block.
 *
 * Configuration comes from the environment (the OTEL_* variables, as
 * sr_init_from_env() reads them), except that when OTEL_TRACES_EXPORTER
 * is unset the demo uses the "file" exporter, so a first run needs no
 * collector: the traces land in spanring-traces.jsonl (OTLP/JSON, one
 * request per line) and the summary says how many lines were added.
 * Threads are named ("server-1", "orders-1") and stay alive until the
 * demo has flushed, as a server's threads live until shutdown; the
 * "chrome" exporter names each thread's track after them.  At the end
 * the demo flushes, shuts down with a deadline and prints what happened
 * to every span.  Exit status: 0,
 * 1 on bad usage or a pipeline that would not start, 2 if the accounting
 * does not add up (sampled != exported + dropped, or the library counted
 * a different number of started spans than the demo started).
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <spanring/spanring.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define ORDER_QUEUE_SIZE 64
#define COMMIT_GROUP 8       /* orders per orders.commit span            */
#define SHUTDOWN_DEADLINE_MS 10000
#define MAX_EXPORTERS 32
#define DEFAULT_EXPORTER "file"
#define FILE_DEFAULT_PATH "spanring-traces.jsonl"   /* the file exporter's */
#define CHROME_DEFAULT_PATH "spanring-trace.json"   /* the chrome exporter's */

struct options {
	unsigned threads;
	unsigned requests;
	unsigned work_us;    /* mean simulated work per operation, us */
	unsigned crash_after; /* 0, or crash (SIGSEGV) after that many requests */
	bool json;
};

static struct options opt = { .threads = 4, .requests = 50, .work_us = 100 };
static const sr_tracer_t *tracer;
static atomic_uint_fast64_t spans_started; /* the demo's own count */

/* A thread's simulation state: its random stream and span count, and
 * (for --crash-after) the last request spans it ended, newest last. */
#define LAST_KEPT 3
struct actor {
	uint64_t rng;
	uint64_t spans;
	sr_context_t last[LAST_KEPT];
	const char *last_name[LAST_KEPT];
	unsigned nlast;
};
static atomic_uint served; /* requests served by every server thread */

/* Note a request span about to end (--crash-after prints them). */
static void remember(struct actor *a, const sr_span_t *span, const char *name)
{
	unsigned k = a->nlast++ % LAST_KEPT;

	a->last[k] = sr_span_context(span);
	a->last_name[k] = name;
}

static uint64_t rnd(struct actor *a)
{
	uint64_t z = (a->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned percent(struct actor *a)
{
	return (unsigned)(rnd(a) % 100);
}

/* Simulated I/O: sleep 0..2x the mean. */
static void work(struct actor *a, unsigned mean_us)
{
	struct timespec ts;
	uint64_t ns;

	if (mean_us == 0)
		return;
	ns = (rnd(a) % (2 * (uint64_t)mean_us + 1)) * 1000;
	ts.tv_sec = (time_t)(ns / 1000000000);
	ts.tv_nsec = (long)(ns % 1000000000);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the order queue: acceptors -> order workers ----------------------- */

struct order_req {
	sr_span_t span;      /* "POST /api/orders": started by the acceptor,
	                        ended by the worker that answers            */
	sr_context_t ctx;    /* span's context: the workers' explicit parent */
	uint64_t order_id;
	uint64_t accepted_ns;
	unsigned items;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	struct order_req *slot[ORDER_QUEUE_SIZE];
	unsigned head, count;
	bool closed;
} orders = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.not_empty = PTHREAD_COND_INITIALIZER,
	.not_full = PTHREAD_COND_INITIALIZER,
};

/* Blocks while full: back-pressure on the acceptors, as a real server's
 * bounded work queue would apply. */
static void order_push(struct order_req *o)
{
	pthread_mutex_lock(&orders.lock);
	while (orders.count == ORDER_QUEUE_SIZE)
		pthread_cond_wait(&orders.not_full, &orders.lock);
	orders.slot[(orders.head + orders.count) % ORDER_QUEUE_SIZE] = o;
	orders.count++;
	pthread_cond_signal(&orders.not_empty);
	pthread_mutex_unlock(&orders.lock);
}

/* NULL once the queue is closed and empty. */
static struct order_req *order_pop(void)
{
	struct order_req *o = NULL;

	pthread_mutex_lock(&orders.lock);
	while (orders.count == 0 && !orders.closed)
		pthread_cond_wait(&orders.not_empty, &orders.lock);
	if (orders.count) {
		o = orders.slot[orders.head];
		orders.head = (orders.head + 1) % ORDER_QUEUE_SIZE;
		orders.count--;
		pthread_cond_signal(&orders.not_full);
	}
	pthread_mutex_unlock(&orders.lock);
	return o;
}

static void order_close(void)
{
	pthread_mutex_lock(&orders.lock);
	orders.closed = true;
	pthread_cond_broadcast(&orders.not_empty);
	pthread_mutex_unlock(&orders.lock);
}

/* ---- thread lifetime: until main has flushed ------------------------------ */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	unsigned servers_done, workers_done;
	bool release;
} life = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
};

/* Report this thread's work done and stay alive until main releases
 * every thread (after its flush). */
static void done_then_wait(bool server)
{
	pthread_mutex_lock(&life.lock);
	if (server)
		life.servers_done++;
	else
		life.workers_done++;
	pthread_cond_broadcast(&life.cv);
	while (!life.release)
		pthread_cond_wait(&life.cv, &life.lock);
	pthread_mutex_unlock(&life.lock);
}

static void wait_done(const unsigned *counter, unsigned n)
{
	pthread_mutex_lock(&life.lock);
	while (*counter < n)
		pthread_cond_wait(&life.cv, &life.lock);
	pthread_mutex_unlock(&life.lock);
}

static void release_threads(void)
{
	pthread_mutex_lock(&life.lock);
	life.release = true;
	pthread_cond_broadcast(&life.cv);
	pthread_mutex_unlock(&life.lock);
}

static void name_thread(const char *prefix, unsigned n)
{
	char name[16]; /* the kernel keeps 15 bytes */

	snprintf(name, sizeof(name), "%s-%u", prefix, n);
	pthread_setname_np(pthread_self(), name);
}

/* ---- request handling (runs with the request span current) -------------- */

/* A cache lookup: SR_SPAN_AUTO ends the span at return. */
static bool cache_get(struct actor *a, const char *key)
{
	bool hit = percent(a) < 55;
	SR_SPAN_AUTO(s, tracer, "cache.get", SR_KIND_CLIENT);

	a->spans++;
	sr_span_set_str_static(&s.span, "db.system", "redis");
	sr_span_set_str(&s.span, "cache.key", key);
	sr_span_set_bool(&s.span, "cache.hit", hit);
	work(a, opt.work_us / 4);
	return hit;
}

/* A database call, with the explicit API: 0, or -1 after a timeout. */
static int db_query(struct actor *a, const char *name, const char *stmt,
		    int64_t *rows)
{
	sr_span_t s;
	unsigned wait_us = (unsigned)(rnd(a) % 300);
	sr_attr_t pool[] = {
		SR_ATTR_INT_("db.client.connection.wait_us", wait_us),
		SR_ATTR_STR_STATIC_("db.client.connection.pool.name", "main"),
	};

	sr_span_start(&s, tracer, name, SR_KIND_CLIENT);
	a->spans++;
	sr_span_set_str_static(&s, "db.system", "postgresql");
	sr_span_set_str(&s, "db.statement", stmt); /* built per request: copied */
	sr_span_set_str_static(&s, "server.address", "db-primary.internal");
	sr_span_set_int(&s, "server.port", 5432);
	sr_span_add_event(&s, "connection.acquired", 0, pool, 2);
	work(a, opt.work_us);
	if (percent(a) < 5) {
		sr_span_record_error(&s, "QueryCanceled",
				     "canceling statement due to statement "
				     "timeout");
		sr_span_end(&s);
		return -1;
	}
	*rows = (int64_t)(rnd(a) % 40);
	sr_span_set_int(&s, "db.response.returned_rows", *rows);
	sr_span_end(&s);
	return 0;
}

static void render(struct actor *a, const char *template, int64_t items)
{
	SR_SPAN_AUTO(s, tracer, "render", SR_KIND_INTERNAL);

	a->spans++;
	sr_span_set_str_static(&s.span, "template", template);
	sr_span_set_int(&s.span, "render.items", items);
	sr_span_set_int(&s.span, "http.response.body.size",
			512 + (int64_t)(rnd(a) % 8192));
	work(a, opt.work_us / 2);
}

static void set_response(sr_span_t *span, int status, const char *error)
{
	sr_span_set_int(span, "http.response.status_code", status);
	/* Server spans: only 5xx is an error (OpenTelemetry HTTP semconv). */
	if (status >= 500)
		sr_span_set_status(span, SR_STATUS_ERROR, error);
}

static void get_user(struct actor *a)
{
	uint64_t id = rnd(a) % 100000;
	char path[48], key[32], stmt[96], email[48];
	int status = 200;
	int64_t rows = 1;
	SR_SPAN_AUTO(req, tracer, "GET /api/users/{id}", SR_KIND_SERVER);

	a->spans++;
	snprintf(path, sizeof(path), "/api/users/%" PRIu64, id);
	snprintf(key, sizeof(key), "user:%" PRIu64, id);
	snprintf(stmt, sizeof(stmt),
		 "SELECT id, name, email FROM users WHERE id = %" PRIu64, id);
	sr_span_set_str_static(&req.span, "http.request.method", "GET");
	sr_span_set_str_static(&req.span, "http.route", "/api/users/{id}");
	sr_span_set_str(&req.span, "url.path", path);
	/* Personal data of the kind SPANRING_PROCESSORS=redact takes out. */
	snprintf(email, sizeof(email), "user%" PRIu64 "@example.com", id);
	sr_span_set_str(&req.span, "enduser.id", email);

	if (!cache_get(a, key)) {
		if (db_query(a, "SELECT users", stmt, &rows) != 0)
			status = 503;
		else if (rows == 0)
			status = 404;
	}
	if (status == 200)
		render(a, "user.html", 1);
	set_response(&req.span, status, "database unavailable");
	remember(a, &req.span, "GET /api/users/{id}");
}

static void search(struct actor *a)
{
	static const char *const terms[] = { "lamp", "desk", "chair",
					     "monitor arm", "cable tray" };
	const char *q = terms[rnd(a) % 5];
	char query[64], stmt[256];
	int status = 200;
	int64_t rows = 0;
	SR_SPAN_AUTO(req, tracer, "GET /api/search", SR_KIND_SERVER);

	a->spans++;
	snprintf(query, sizeof(query), "q=%s", q);
	snprintf(stmt, sizeof(stmt),
		 "SELECT p.id, p.title, p.price FROM products p JOIN stock s "
		 "ON s.product_id = p.id WHERE s.available > 0 AND "
		 "p.search @@ plainto_tsquery('%s') ORDER BY rank DESC "
		 "LIMIT 20", q);
	sr_span_set_str_static(&req.span, "http.request.method", "GET");
	sr_span_set_str_static(&req.span, "http.route", "/api/search");
	sr_span_set_str(&req.span, "url.query", query);

	if (db_query(a, "SELECT products", stmt, &rows) != 0) {
		status = 503;
	} else {
		if (rows > 20) {
			sr_attr_t why[] = { SR_ATTR_INT_("search.hits", rows),
					    SR_ATTR_INT_("search.shown", 20) };
			sr_span_add_event(&req.span, "results.truncated", 0,
					  why, 2);
			rows = 20;
		}
		render(a, "search.html", rows);
	}
	set_response(&req.span, status, "search backend unavailable");
	remember(a, &req.span, "GET /api/search");
}

static void validate_order(struct actor *a, unsigned items)
{
	SR_SPAN_AUTO(s, tracer, "order.validate", SR_KIND_INTERNAL);

	a->spans++;
	sr_span_set_int(&s.span, "order.items", items);
	work(a, opt.work_us / 4);
}

/* The acceptor half of POST /api/orders: the request struct, with its
 * span and context, leaves this thread through the queue. */
static void accept_order(struct actor *a)
{
	/* sr_span_t is 64-byte aligned: plain malloc would not do. */
	size_t size = (sizeof(struct order_req) + 63) & ~(size_t)63;
	struct order_req *o = aligned_alloc(64, size);
	sr_scope_t scope;

	if (!o)
		return;
	o->order_id = rnd(a) % 1000000;
	o->items = 1 + (unsigned)(rnd(a) % 5);
	sr_span_start_ex(&o->span, tracer, "POST /api/orders", SR_KIND_SERVER,
			 NULL, 0, SR_SPAN_ROOT);
	a->spans++;
	sr_span_set_str_static(&o->span, "http.request.method", "POST");
	sr_span_set_str_static(&o->span, "http.route", "/api/orders");
	sr_span_set_str_static(&o->span, "url.path", "/api/orders");
	/* A credential (redact removes the header). */
	sr_span_set_str_static(&o->span, "http.request.header.authorization",
			       "Bearer eyJhbGciOiJIUzI1NiJ9.demo");
	sr_span_set_int(&o->span, "order.id", (int64_t)o->order_id);

	scope = sr_scope_enter(&o->span);
	validate_order(a, o->items);
	sr_scope_exit(scope);

	o->ctx = sr_span_context(&o->span);
	o->accepted_ns = sr_now_ns();
	sr_span_add_event(&o->span, "order.queued", o->accepted_ns, NULL, 0);
	order_push(o);
	/* From here `o`, and the span in it, belong to an order worker. */
}

/* ---- order workers ------------------------------------------------------ */

static int charge_payment(struct actor *a, uint64_t order_id)
{
	SR_SPAN_AUTO(s, tracer, "payment.charge", SR_KIND_CLIENT);
	unsigned p = percent(a);

	a->spans++;
	sr_span_set_str_static(&s.span, "http.request.method", "POST");
	sr_span_set_str_static(&s.span, "server.address", "payments.example");
	sr_span_set_int(&s.span, "order.id", (int64_t)order_id);
	work(a, opt.work_us * 2);
	if (p < 6) {
		sr_span_set_int(&s.span, "http.response.status_code", 504);
		sr_span_record_error(&s.span, "GatewayTimeout",
				     "payment gateway did not answer in time");
		return 502;
	}
	if (p < 10) {
		/* A client span's 4xx is an error for the caller. */
		sr_span_set_int(&s.span, "http.response.status_code", 402);
		sr_span_set_status(&s.span, SR_STATUS_ERROR, "card declined");
		return 402;
	}
	sr_span_set_int(&s.span, "http.response.status_code", 200);
	return 201;
}

static void process_order(struct actor *a, struct order_req *o)
{
	sr_span_t proc;
	sr_scope_t scope;
	char stmt[128];
	int64_t rows;
	int status;

	/* Explicit parent: the context that came with the request. */
	sr_span_start_ex(&proc, tracer, "order.process", SR_KIND_CONSUMER,
			 &o->ctx, 0, 0);
	a->spans++;
	sr_span_set_int(&proc, "order.id", (int64_t)o->order_id);
	sr_span_set_int(&proc, "order.queue_wait_us",
			(int64_t)((sr_now_ns() - o->accepted_ns) / 1000));

	scope = sr_scope_enter(&proc);
	snprintf(stmt, sizeof(stmt),
		 "UPDATE stock SET reserved = reserved + %u WHERE order_id = "
		 "%" PRIu64, o->items, o->order_id);
	if (db_query(a, "UPDATE stock", stmt, &rows) != 0)
		status = 503;
	else
		status = charge_payment(a, o->order_id);
	sr_scope_exit(scope);
	sr_span_end(&proc);

	/* Answer the request: the span the acceptor started ends here, on
	 * this thread. */
	set_response(&o->span, status, status == 503 ? "stock unavailable"
						     : "payment failed");
	sr_span_end(&o->span);
}

/* One span for a group of orders, linked to each order's request. */
static void commit_orders(struct actor *a, const sr_context_t *ctx,
			  const uint64_t *ids, unsigned n)
{
	sr_span_t s;

	sr_span_start_ex(&s, tracer, "orders.commit", SR_KIND_INTERNAL, NULL, 0,
			 SR_SPAN_ROOT);
	a->spans++;
	sr_span_set_int(&s, "orders.count", n);
	for (unsigned i = 0; i < n; i++) {
		sr_attr_t attr = SR_ATTR_INT_("order.id", (int64_t)ids[i]);

		sr_span_add_link(&s, &ctx[i], &attr, 1);
	}
	work(a, opt.work_us);
	sr_span_end(&s);
}

static void *order_worker(void *arg)
{
	struct actor a = { .rng = (uint64_t)(uintptr_t)arg * 7919 + 1 };
	sr_context_t ctx[COMMIT_GROUP];
	uint64_t ids[COMMIT_GROUP];
	unsigned n = 0;
	struct order_req *o;

	name_thread("orders", (unsigned)((uintptr_t)arg - 1000 + 1));
	while ((o = order_pop()) != NULL) {
		process_order(&a, o);
		ctx[n] = o->ctx;
		ids[n] = o->order_id;
		free(o);
		if (++n == COMMIT_GROUP) {
			commit_orders(&a, ctx, ids, n);
			n = 0;
		}
	}
	if (n)
		commit_orders(&a, ctx, ids, n);
	atomic_fetch_add(&spans_started, a.spans);
	done_then_wait(false);
	return NULL;
}

/* --crash-after: say which request spans this thread ended last (the
 * ones a flight recording must hold), then die of a bad pointer. */
static void crash(struct actor *a)
{
	/* An unmapped page (not NULL, which UBSan builds stop first), read
	 * through a volatile the compiler cannot fold. */
	volatile uintptr_t bad = 16;

	fprintf(stderr, "spanring-demo: crashing on purpose after %u requests "
		"(SIGSEGV); the last request spans this thread ended:\n",
		opt.crash_after);
	for (unsigned i = a->nlast > LAST_KEPT ? a->nlast - LAST_KEPT : 0;
	     i < a->nlast; i++) {
		char tid[33], sid[17];

		sr_context_trace_id_hex(&a->last[i % LAST_KEPT], tid);
		sr_context_span_id_hex(&a->last[i % LAST_KEPT], sid);
		fprintf(stderr, "  last-span trace=%s span=%s %s\n", tid, sid,
			a->last_name[i % LAST_KEPT]);
	}
	*(volatile int *)bad = 1;
}

static void *server_thread(void *arg)
{
	struct actor a = { .rng = (uint64_t)(uintptr_t)arg * 104729 + 17 };

	name_thread("server", (unsigned)(uintptr_t)arg);
	for (unsigned i = 0; i < opt.requests; i++) {
		unsigned p = percent(&a);

		if (p < 25)
			accept_order(&a);
		else if (p < 40)
			search(&a);
		else
			get_user(&a);
		if (opt.crash_after && a.nlast &&
		    atomic_fetch_add(&served, 1) + 1 == opt.crash_after)
			crash(&a);
	}
	atomic_fetch_add(&spans_started, a.spans);
	done_then_wait(true);
	return NULL;
}

/* ---- main ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
"usage: spanring-demo [--threads N] [--requests N] [--work-us N] [--json]\n"
"                     [--crash-after N]\n"
"\n"
"Simulates a multi-threaded HTTP server traced with spanring, then prints\n"
"what happened to every span.\n"
"\n"
"  --threads N    server threads (default 4); N/2 order workers run too\n"
"  --requests N   requests per server thread (default 50)\n"
"  --work-us N    mean simulated I/O per operation in microseconds\n"
"                 (default 100; 0 measures the tracing pipeline alone)\n"
"  --json         print the final sr_stats as one JSON object, last line\n"
"  --crash-after N  die of SIGSEGV after N requests in all, printing the\n"
"                 last request spans the crashing thread ended (try it with\n"
"                 SPANRING_FLIGHT_RECORDER=<path>, then spanring-recover)\n"
"  --help         this text\n"
"\n"
"Configured by the environment, e.g.\n"
"  OTEL_TRACES_EXPORTER=file|console|otlp|zipkin|chrome|none|plugin:<path>,...\n"
"                 (several at once, comma-separated; default here: file)\n"
"  SPANRING_FILE_PATH (default " FILE_DEFAULT_PATH "),\n"
"  SPANRING_CHROME_PATH (default " CHROME_DEFAULT_PATH "),\n"
"  OTEL_EXPORTER_ZIPKIN_ENDPOINT, OTEL_EXPORTER_OTLP_ENDPOINT\n"
"  OTEL_TRACES_SAMPLER=always_on|traceidratio|parentbased_always_on|...\n"
"  OTEL_SERVICE_NAME, OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_EXPORT_BATCH_SIZE\n"
"  SPANRING_CONSOLE_OUTPUT=stdout|stderr|<path>, NO_COLOR\n");
}

static int parse_uint(const char *flag, const char *v, unsigned lo,
		      unsigned hi, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = v ? strtoul(v, &end, 10) : 0;
	if (!v || !*v || *v == '-' || *end || errno || n < lo || n > hi) {
		fprintf(stderr, "spanring-demo: %s expects a number in %u..%u\n",
			flag, lo, hi);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

static int parse_args(int argc, char **argv)
{
	static const struct {
		const char *name;
		unsigned lo, hi;
		unsigned *out;
	} nums[] = {
		{ "--threads", 1, 1024, &opt.threads },
		{ "--requests", 1, 100000000, &opt.requests },
		{ "--work-us", 0, 1000000, &opt.work_us },
		{ "--crash-after", 1, 100000000, &opt.crash_after },
	};

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		bool matched = false;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage(stdout);
			exit(0);
		}
		if (strcmp(arg, "--json") == 0) {
			opt.json = true;
			continue;
		}
		for (size_t k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
			size_t len = strlen(nums[k].name);
			const char *v;

			if (strncmp(arg, nums[k].name, len) != 0)
				continue;
			if (arg[len] == '=')
				v = arg + len + 1;
			else if (arg[len] == '\0')
				v = ++i < argc ? argv[i] : NULL;
			else
				continue;
			if (parse_uint(nums[k].name, v, nums[k].lo, nums[k].hi,
				       nums[k].out) != 0)
				return -1;
			matched = true;
			break;
		}
		if (!matched) {
			fprintf(stderr, "spanring-demo: unknown argument '%s'\n",
				arg);
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

static uint64_t dropped_total(const sr_stats_t *st)
{
	return st->dropped_ring_full + st->dropped_limits +
	       st->dropped_queue_full + st->dropped_exporter +
	       st->dropped_shutdown + st->dropped_reentrant +
	       st->dropped_processor;
}

/* Each processor of the chain: spans in, dropped and noted per rule. */
static void print_processors(void)
{
	sr_processor_stats_t ps = { .size = sizeof(ps) };

	for (uint32_t i = 0; sr_stats_processor(i, &ps) == 0; i++) {
		printf("  processor %-8s in %" PRIu64 "  modified %" PRIu64
		       "  dropped %" PRIu64 "  (%.0f ns/span)", ps.name,
		       ps.spans_in, ps.spans_modified, ps.spans_dropped,
		       ps.spans_in ? (double)ps.process_ns / (double)ps.spans_in
				   : 0.0);
		if (ps.spans_emitted || ps.spans_held)
			printf("  held back and emitted %" PRIu64 ", held now %" PRIu64,
			       ps.spans_emitted, ps.spans_held);
		printf("\n");
		for (uint32_t r = 0; r < ps.nrules; r++)
			printf("    rule %-24s dropped %" PRIu64 "  noted %" PRIu64
			       "\n", ps.rules[r].name, ps.rules[r].dropped,
			       ps.rules[r].noted);
		ps.size = sizeof(ps);
	}
}

/* True if `name` is unset, empty or blank (the OpenTelemetry rule). */
static bool env_unset(const char *name)
{
	const char *v = getenv(name);

	return !v || v[strspn(v, " \t")] == '\0';
}

/* A file's identity and size before the run, to count the lines the run
 * added to it. */
struct file_mark {
	const char *path;
	bool existed;
	dev_t dev;
	ino_t ino;
	off_t size;
};

static void file_mark(struct file_mark *m, const char *var, const char *def)
{
	struct stat st;

	m->path = env_unset(var) ? def : getenv(var);
	m->existed = stat(m->path, &st) == 0;
	if (m->existed) {
		m->dev = st.st_dev;
		m->ino = st.st_ino;
		m->size = st.st_size;
	}
}

/* Newlines the run added to the file: after the old end if it is still
 * the same file, else in all of it (it was created or replaced by a
 * rotation).  -1 if it cannot be read.  *replaced tells which. */
static long long lines_added(const struct file_mark *m, bool *replaced)
{
	struct stat st;
	char buf[65536];
	long long n = 0;
	size_t got;
	FILE *f;

	if (stat(m->path, &st) != 0 || !(f = fopen(m->path, "rb")))
		return -1;
	*replaced = !m->existed || st.st_dev != m->dev || st.st_ino != m->ino ||
		    st.st_size < m->size;
	if (!*replaced && fseeko(f, m->size, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + got - p)));
		     p++)
			n++;
	fclose(f);
	return n;
}

static const sr_exporter_stats_t *find_exporter(const sr_exporter_stats_t *ex,
						uint32_t n, const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if (ex[i].name && strcmp(ex[i].name, name) == 0)
			return &ex[i];
	return NULL;
}

/* Why an exporter last failed, when, and the statuses it got. */
static void print_last_error(const sr_exporter_stats_t *e)
{
	char when[32] = "?";
	time_t sec = (time_t)(e->last_error_ns / 1000000000u);
	struct tm tm;

	if (gmtime_r(&sec, &tm))
		strftime(when, sizeof(when), "%H:%M:%S UTC", &tm);
	printf("           last error at %s (%" PRIu64 " failed export%s", when,
	       e->batches_failed, e->batches_failed == 1 ? "" : "s");
	if (e->last_http_status)
		printf(", HTTP %d", (int)e->last_http_status);
	if (e->last_grpc_status >= 0)
		printf(", gRPC status %d", (int)e->last_grpc_status);
	printf("): %s\n", e->last_error);
}

static int run_threads(unsigned n, void *(*fn)(void *), pthread_t *tids,
		       uintptr_t seed_base)
{
	for (unsigned i = 0; i < n; i++) {
		int rc = pthread_create(&tids[i], NULL, fn,
					(void *)(seed_base + i));
		if (rc) {
			fprintf(stderr, "spanring-demo: pthread_create: %s\n",
				strerror(rc));
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned nworkers;
	pthread_t *servers, *workers;
	sr_exporter_stats_t ex[MAX_EXPORTERS];
	uint32_t nex = 0;
	sr_stats_t st = { .size = sizeof(st) };
	uint64_t pending = 0, lost = 0, demo_spans, dropped;
	struct file_mark file_before = { 0 };
	const sr_exporter_stats_t *fx;
	sr_config_t cfg;
	double t0, t1, t2, t3;
	int rc, env_rc, flush_rc, shutdown_rc, status = 0;

	if (parse_args(argc, argv) != 0)
		return 1;
	nworkers = opt.threads / 2 ? opt.threads / 2 : 1;

	/* sr_init_from_env(), with the file exporter as the default sink. */
	sr_config_init(&cfg);
	env_rc = sr_config_from_env(&cfg);
	if (env_unset("OTEL_TRACES_EXPORTER"))
		cfg.exporters = DEFAULT_EXPORTER;
	file_mark(&file_before, "SPANRING_FILE_PATH", FILE_DEFAULT_PATH);
	rc = sr_init(&cfg);
	if (rc == 0)
		rc = env_rc;
	if (!sr_is_running()) {
		fprintf(stderr, "spanring-demo: the pipeline did not start: %s%s%s\n",
			sr_strerror(rc), *sr_last_error() ? ": " : "",
			sr_last_error());
		return 1;
	}
	if (rc != 0)
		fprintf(stderr, "spanring-demo: warning: %s%s%s (running anyway)\n",
			sr_strerror(rc), *sr_last_error() ? ": " : "",
			sr_last_error());
	tracer = sr_tracer_get("spanring-demo", sr_version());

	servers = calloc(opt.threads, sizeof(*servers));
	workers = calloc(nworkers, sizeof(*workers));
	if (!servers || !workers) {
		fprintf(stderr, "spanring-demo: out of memory\n");
		return 1;
	}

	t0 = mono_s();
	if (run_threads(nworkers, order_worker, workers, 1000) != 0 ||
	    run_threads(opt.threads, server_thread, servers, 1) != 0)
		return 1;
	wait_done(&life.servers_done, opt.threads);
	order_close();
	wait_done(&life.workers_done, nworkers);
	t1 = mono_s();

	flush_rc = sr_flush(SHUTDOWN_DEADLINE_MS, &pending);
	t2 = mono_s();
	release_threads();
	for (unsigned i = 0; i < opt.threads; i++)
		pthread_join(servers[i], NULL);
	for (unsigned i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	/* Exporter counters: read while running, again after shutdown if
	 * the library still has them. */
	for (uint32_t i = 0; i < MAX_EXPORTERS; i++)
		ex[i].size = sizeof(ex[i]);
	while (nex < MAX_EXPORTERS && sr_stats_exporter(nex, &ex[nex]) == 0)
		nex++;
	shutdown_rc = sr_shutdown(SHUTDOWN_DEADLINE_MS, &lost);
	t3 = mono_s();
	for (uint32_t i = 0; i < nex; i++) {
		sr_exporter_stats_t after = { .size = sizeof(after) };
		if (sr_stats_exporter(i, &after) == 0)
			ex[i] = after;
	}
	rc = sr_stats_get(&st);
	free(servers);
	free(workers);
	if (rc != 0) {
		fprintf(stderr, "spanring-demo: sr_stats_get after shutdown: %s\n",
			sr_strerror(rc));
		return 2;
	}

	demo_spans = atomic_load(&spans_started);
	dropped = dropped_total(&st);
	printf("\nspanring-demo %s: %u server thread%s x %u requests, %u order "
	       "worker%s\n", sr_version(), opt.threads,
	       opt.threads == 1 ? "" : "s", opt.requests, nworkers,
	       nworkers == 1 ? "" : "s");
	printf("  wall %.3f s for the requests (+%.3f s flush, +%.3f s "
	       "shutdown), %.0f spans/s\n", t1 - t0, t2 - t1, t3 - t2,
	       t1 > t0 ? (double)st.started / (t1 - t0) : 0.0);
	printf("  spans   started %" PRIu64 " (demo started %" PRIu64
	       ")  sampled %" PRIu64 "  exported %" PRIu64 "  in %" PRIu64
	       " batches\n", st.started, demo_spans, st.sampled, st.exported,
	       st.batches);
	printf("  dropped %" PRIu64 ": ring_full %" PRIu64 "  limits %" PRIu64
	       "  queue_full %" PRIu64 "  exporter %" PRIu64 "  shutdown %"
	       PRIu64 "  reentrant %" PRIu64 "  processor %" PRIu64 "\n", dropped,
	       st.dropped_ring_full, st.dropped_limits, st.dropped_queue_full,
	       st.dropped_exporter, st.dropped_shutdown, st.dropped_reentrant,
	       st.dropped_processor);
	if (st.records_discarded)
		printf("  DRAINER discarded %" PRIu64 " malformed ring records\n",
		       st.records_discarded);
	print_processors();
	if (st.attrs_dropped || st.events_dropped || st.links_dropped ||
	    st.strings_truncated)
		printf("  limits  attrs dropped %" PRIu64 "  events %" PRIu64
		       "  links %" PRIu64 "  strings truncated %" PRIu64 "\n",
		       st.attrs_dropped, st.events_dropped, st.links_dropped,
		       st.strings_truncated);
	if (nex == 0)
		printf("  exporters: none running\n");
	for (uint32_t i = 0; i < nex; i++) {
		printf("  exporter %-8s ok %" PRIu64 "  failed %" PRIu64
		       "  queue_full %" PRIu64 "  (%" PRIu64 " batches)\n",
		       ex[i].name ? ex[i].name : "?", ex[i].spans_ok,
		       ex[i].spans_failed, ex[i].spans_queue_full,
		       ex[i].batches);
		if (ex[i].last_error_ns)
			print_last_error(&ex[i]);
	}
	printf("  memory  %.1f MiB of pipeline memory, fixed at init (%" PRIu32
	       " rings x %" PRIu32 " records, %" PRIu64 " bytes); ring "
	       "high-water %" PRIu32 " records\n",
	       (double)st.pipeline_bytes / (1024.0 * 1024.0), st.rings_total,
	       st.ring_records, st.pipeline_bytes, st.ring_high_water);
	if ((fx = find_exporter(ex, nex, "file")) != NULL) {
		bool replaced = false;
		long long lines = lines_added(&file_before, &replaced);

		/* One line per batch: fewer lines than batches written means
		 * the exporter rotated the file during the run. */
		if (lines < 0)
			printf("  traces  %s: cannot read it back\n", file_before.path);
		else
			printf("  traces  %lld line%s of OTLP/JSON (one request per "
			       "line) %s %s%s\n", lines, lines == 1 ? "" : "s",
			       replaced ? "in" : "appended to", file_before.path,
			       fx->spans_failed == 0 && (uint64_t)lines < fx->batches
				       ? " (rotated at SPANRING_FILE_MAX_BYTES: "
					 "older lines in .1, .2, ...)"
				       : "");
	}
	if (find_exporter(ex, nex, "chrome"))
		printf("  timeline %s: open it in https://ui.perfetto.dev or "
		       "chrome://tracing\n",
		       env_unset("SPANRING_CHROME_PATH") ? CHROME_DEFAULT_PATH
							 : getenv("SPANRING_CHROME_PATH"));
	printf("  flush   %s", flush_rc == 0 ? "complete" : sr_strerror(flush_rc));
	if (flush_rc == SR_ETIMEDOUT)
		printf(" (%" PRIu64 " spans pending)", pending);
	printf("; shutdown %s, %" PRIu64 " spans lost\n",
	       shutdown_rc == 0 ? "clean" : sr_strerror(shutdown_rc), lost);

	/* Every demo span ends: one still open is a lost end. */
	if (st.sampled != st.exported + dropped + st.open || st.open) {
		printf("  ACCOUNTING BROKEN: sampled %" PRIu64 " != exported %"
		       PRIu64 " + dropped %" PRIu64 " (open %" PRIu64 ")\n",
		       st.sampled, st.exported, dropped, st.open);
		status = 2;
	} else {
		printf("  accounting: sampled %" PRIu64 " = exported %" PRIu64
		       " + dropped %" PRIu64 " + open %" PRIu64 "\n", st.sampled,
		       st.exported, dropped, st.open);
	}
	if (st.started != demo_spans) {
		printf("  ACCOUNTING BROKEN: the library counted %" PRIu64
		       " started spans, the demo started %" PRIu64 "\n",
		       st.started, demo_spans);
		status = 2;
	}

	if (opt.json) {
		char small[1024], *buf = small;
		int len = sr_stats_to_json(&st, small, sizeof(small));

		if (len >= (int)sizeof(small)) {
			buf = malloc((size_t)len + 1);
			if (!buf)
				return 1;
			sr_stats_to_json(&st, buf, (size_t)len + 1);
		}
		if (len < 0) {
			fprintf(stderr, "spanring-demo: sr_stats_to_json: %s\n",
				sr_strerror(len));
			return 2;
		}
		printf("%s\n", buf);
		if (buf != small)
			free(buf);
	}
	fflush(stdout);
	return status;
}
