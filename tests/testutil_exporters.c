/*
 * testutil_exporters.c - the helpers of testutil.h for the tests of the
 * exporters that write files or talk to a receiver (zipkin, file, chrome,
 * plugin, fan-out) and for demo_exporters_check: temporary directories,
 * reading files back, counting spans in OTLP/JSON with a real JSON parser
 * (jansson), producer threads, per-exporter stats by name.
 */
#include "testutil.h"

#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* A fresh directory under $TMPDIR (or the system's temporary directory)
 * in out; 0 or -1. */
int sr_test_mkdtemp(char *out, size_t len, const char *tag)
{
	const char *base = getenv("TMPDIR");

	snprintf(out, len, "%s/spanring-%s-XXXXXX",
		 base && *base ? base : P_tmpdir, tag);
	return mkdtemp(out) ? 0 : -1;
}

static int rm_one(const char *p, const struct stat *sb, int flag,
		       struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

void sr_test_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Whole file, NUL-terminated, malloc'd; NULL if it cannot be read. */
char *sr_test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!f)
		return NULL;
	do {
		if (n + 65536 + 1 > cap) {
			char *nb = realloc(buf, cap = 2 * (n + 65536 + 1));
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, 65536, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* Spans in one OTLP/JSON ExportTraceServiceRequest; -1 if malformed. */
long sr_test_otlp_spans(json_t *root)
{
	json_t *rss = json_object_get(root, "resourceSpans");
	long n = 0;

	if (!json_is_array(rss))
		return -1;
	for (size_t i = 0; i < json_array_size(rss); i++) {
		json_t *sss = json_object_get(json_array_get(rss, i), "scopeSpans");

		if (!json_is_array(sss))
			return -1;
		for (size_t j = 0; j < json_array_size(sss); j++) {
			json_t *sp = json_object_get(json_array_get(sss, j), "spans");

			if (!json_is_array(sp))
				return -1;
			n += (long)json_array_size(sp);
		}
	}
	return n;
}

int sr_test_scan_lines(const char *path, struct sr_test_lines *out)
{
	size_t len;
	char *buf = sr_test_read_file(path, &len), *p, *nl;

	memset(out, 0, sizeof(*out));
	if (!buf)
		return -1;
	for (p = buf; p < buf + len; p = nl + 1) {
		json_error_t err;
		json_t *root;
		long n;

		nl = memchr(p, '\n', (size_t)(buf + len - p));
		if (!nl) {
			out->partial = true;
			break;
		}
		out->lines++;
		root = json_loadb(p, (size_t)(nl - p), 0, &err);
		n = root ? sr_test_otlp_spans(root) : -1;
		if (n < 0)
			out->bad++;
		else
			out->spans += n;
		json_decref(root);
	}
	free(buf);
	return 0;
}

/* Per-exporter counters of the running (or last) pipeline by name. */
int sr_test_exporter_stats(const char *name, sr_exporter_stats_t *out)
{
	out->size = sizeof(*out);
	for (uint32_t i = 0; sr_stats_exporter(i, out) == 0; i++)
		if (out->name && strcmp(out->name, name) == 0)
			return 0;
	return -1;
}

/* Producer threads: see struct sr_test_producers. */
struct producer {
	pthread_t t;
	int id;
	const struct sr_test_producers *cfg;
	uint64_t max_end_ns;
};

uint64_t sr_test_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *produce(void *arg)
{
	struct producer *p = arg;
	const struct sr_test_producers *c = p->cfg;
	const sr_tracer_t *tr = sr_tracer_get("sr-test", "1.0");

	for (unsigned i = 0; i < c->spans; i++) {
		sr_span_t s;

		sr_span_start(&s, tr, c->name ? c->name : "op", c->kind);
		sr_span_set_int(&s, "i", i);
		sr_span_set_int(&s, "producer", p->id);
		uint64_t t0 = sr_test_now_ns();
		sr_span_end(&s);
		uint64_t dt = sr_test_now_ns() - t0;
		if (dt > p->max_end_ns)
			p->max_end_ns = dt;
		if (c->pace_every && i % c->pace_every == c->pace_every - 1) {
			struct timespec ts = { 0, 2 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

void sr_test_produce(struct sr_test_producers *c)
{
	struct producer p[SR_TEST_PRODUCERS_MAX];
	unsigned n = c->threads < SR_TEST_PRODUCERS_MAX ? c->threads
							: SR_TEST_PRODUCERS_MAX;

	for (unsigned i = 0; i < n; i++) {
		p[i] = (struct producer){ .id = (int)i, .cfg = c };
		if (pthread_create(&p[i].t, NULL, produce, &p[i]) != 0)
			abort();
	}
	c->max_end_ns = 0;
	for (unsigned i = 0; i < n; i++) {
		pthread_join(p[i].t, NULL);
		if (p[i].max_end_ns > c->max_end_ns)
			c->max_end_ns = p[i].max_end_ns;
	}
}

void sr_test_check_otlp(const struct sr_test_otlp_want *w, const sr_stats_t *st,
			const sr_otlp_stats_t *os)
{
	if (w->all_exported)
		assert_int_equal(st->exported, st->sampled);
	if (w->none_exported)
		assert_int_equal(st->exported, 0);
	assert_int_equal(os->spans_rejected, w->rejected);
	if (w->fail_cause)
		assert_true(os->request_fail[w->fail_cause] > 0);
	if (w->retried)
		assert_true(os->retries > 0);
	if (w->not_retried)
		assert_int_equal(os->retries, 0);
}

void sr_test_produce_all(int n, int spans)
{
	struct sr_test_producers c = { .threads = (unsigned)n, .spans = (unsigned)spans,
				       .kind = SR_KIND_SERVER };

	sr_test_produce(&c);
}

/*
 * sr_init() through sr_test_init_memory(tweak), whose exporter list holds
 * the exporter under test and "memory", with var=value: it must fail with
 * an error naming `var` and containing `needle`, and the pipeline must run
 * with the memory exporter alone.  var gets its previous value back.
 */
void sr_test_expect_create_error(void (*tweak)(sr_config_t *),
					    const char *var, const char *value,
					    const char *needle)
{
	sr_stats_t st = { .size = sizeof(st) };
	const char *old = getenv(var);
	char *saved = old ? strdup(old) : NULL;
	int rc;

	setenv(var, value, 1);
	rc = sr_test_init_memory(tweak);
	printf("%s=%s -> %s: %s\n", var, value, sr_strerror(rc), sr_last_error());
	assert_int_not_equal(rc, 0);
	assert_true(sr_is_running());
	assert_non_null(strstr(sr_last_error(), var));
	assert_non_null(strstr(sr_last_error(), needle));
	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(st.exporters, 1);
	sr_shutdown(1000, NULL);
	if (saved)
		setenv(var, saved, 1);
	else
		unsetenv(var);
	free(saved);
}

/* ------------------------------------------------------------------ */
/* The "slow" exporter                                                 */
/* ------------------------------------------------------------------ */

static uint32_t slow_ms; /* set before sr_init, read by the worker after */

static int slow_create(void *ud, const sr_config_t *cfg, void **st,
		       char *err, size_t err_len)
{
	(void)ud, (void)cfg, (void)err, (void)err_len;
	*st = NULL;
	return 0;
}

static int slow_export(void *st, const sr_batch_t *b, uint64_t *rej)
{
	struct timespec ts = { (time_t)(slow_ms / 1000),
			       (long)(slow_ms % 1000) * 1000000L };

	(void)st, (void)b, (void)rej;
	nanosleep(&ts, NULL);
	return 0;
}

static void slow_destroy(void *st, uint32_t timeout_ms)
{
	(void)st, (void)timeout_ms;
}

int sr_test_register_slow(uint32_t ms_per_batch)
{
	static const sr_exporter_ops_t ops = {
		.size = sizeof(sr_exporter_ops_t),
		.abi_version = SR_EXPORTER_ABI_VERSION,
		.name = "slow",
		.create = slow_create,
		.export_batch = slow_export,
		.destroy = slow_destroy,
	};

	slow_ms = ms_per_batch;
	return sr_exporter_register(&ops, NULL);
}
