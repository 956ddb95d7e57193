/*
 * The versioned-struct rule (docs/abi.md): the caller sets `size`, the
 * library reads and writes min(size, its sizeof) and sets `size` to what
 * it wrote; NULL or a size short of the first field is SR_EINVAL.
 * Every struct is probed inside a guard buffer: an older caller's bytes
 * past its size must come back untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

#define GUARD 0xA5
#define SLACK 64

/* A caller's struct of `size` bytes at the start of a guard-filled
 * buffer with room for the library's full struct and then some. */
struct probe {
	size_t size;
	unsigned char buf[1024];
};

static void *probe_init(struct probe *p, size_t size)
{
	assert_true(size + SLACK <= sizeof(p->buf));
	memset(p->buf, GUARD, sizeof(p->buf));
	memcpy(p->buf, &size, sizeof(size));
	p->size = size;
	return p->buf;
}

static size_t probe_size(const struct probe *p)
{
	size_t n;

	memcpy(&n, p->buf, sizeof(n));
	return n;
}

/* Bytes [from, end of buffer) still hold the guard. */
static void assert_untouched_from(const struct probe *p, size_t from)
{
	for (size_t i = from; i < sizeof(p->buf); i++)
		if (p->buf[i] != GUARD) {
			fprintf(stderr, "byte %zu written (caller's size %zu)\n", i,
				p->size);
			fail();
		}
}

static void assert_all_untouched_but_size(const struct probe *p)
{
	assert_int_equal(probe_size(p), p->size);
	assert_untouched_from(p, sizeof(size_t));
}

static void span_one(void)
{
	sr_span_t s;

	sr_span_start(&s, NULL, "one", SR_KIND_INTERNAL);
	sr_span_set_int(&s, "k", 1);
	sr_span_end(&s);
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(sr_test_init_memory(NULL), 0);
	span_one();
	assert_int_equal(sr_flush(10000, NULL), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sr_shutdown(10000, NULL);
	return 0;
}

/* ---- sr_stats_get ------------------------------------------------------ */

static void stats_old_caller_gets_only_its_part(void **state)
{
	struct probe p;
	size_t old = offsetof(sr_stats_t, recorded); /* knows started, sampled */
	sr_stats_t full = { .size = sizeof(full) };
	sr_stats_t *st = probe_init(&p, old);

	(void)state;
	assert_int_equal(sr_stats_get(&full), 0);
	assert_int_equal(sr_stats_get(st), 0);
	assert_int_equal(probe_size(&p), old);
	assert_true(st->started >= 1 && st->started == full.started);
	assert_int_equal(st->sampled, full.sampled);
	assert_untouched_from(&p, old);
}

static void stats_newer_caller_learns_the_library_size(void **state)
{
	struct probe p;
	sr_stats_t *st = probe_init(&p, sizeof(sr_stats_t) + 32);

	(void)state;
	assert_int_equal(sr_stats_get(st), 0);
	assert_int_equal(probe_size(&p), sizeof(sr_stats_t));
	assert_int_equal(st->exporters, 1);
	assert_untouched_from(&p, sizeof(sr_stats_t));
}

static void stats_null_or_too_small_is_einval(void **state)
{
	struct probe p;

	(void)state;
	assert_int_equal(sr_stats_get(NULL), SR_EINVAL);
	for (size_t n = 0; n < offsetof(sr_stats_t, started) + 8; n++) {
		assert_int_equal(sr_stats_get(probe_init(&p, n)), SR_EINVAL);
		assert_all_untouched_but_size(&p);
	}
}

/* An older caller's struct: fields past its size are not read, they
 * print as 0. */
static void stats_to_json_reads_only_the_callers_part(void **state)
{
	struct probe p;
	sr_stats_t *st = probe_init(&p, offsetof(sr_stats_t, sampled));
	char json[2048];

	(void)state;
	st->started = 7; /* sampled and all later fields are guard bytes */
	assert_true(sr_stats_to_json(st, json, sizeof(json)) > 0);
	assert_non_null(strstr(json, "\"started\":7,\"sampled\":0,"));
	assert_non_null(strstr(json, "\"scope_errors\":0,"));
	assert_int_equal(sr_stats_to_json(NULL, json, sizeof(json)), SR_EINVAL);
	assert_int_equal(sr_stats_to_json(probe_init(&p, 0), json, sizeof(json)),
			 SR_EINVAL);
}

/* ---- sr_propagation_stats_get ------------------------------------------ */

static void ignore_header(void *carrier, const char *key, const char *value,
			  size_t value_len)
{
	(void)carrier, (void)key, (void)value, (void)value_len;
}

static void propagation_stats_old_caller_gets_only_its_part(void **state)
{
	struct probe p;
	size_t old = offsetof(sr_propagation_stats_t, ok);
	sr_propagation_stats_t *st = probe_init(&p, old);
	sr_context_t ctx;
	sr_span_t s;

	(void)state;
	sr_span_start(&s, NULL, "inject", SR_KIND_CLIENT);
	ctx = sr_span_context(&s);
	sr_span_end(&s);
	sr_propagator_inject(sr_propagator_from_env(), &ctx, NULL, ignore_header);
	assert_int_equal(sr_propagation_stats_get(st), 0);
	assert_int_equal(probe_size(&p), old);
	assert_true(st->inject_calls >= 1);
	assert_untouched_from(&p, old);
}

static void propagation_stats_null_or_too_small_is_einval(void **state)
{
	struct probe p;

	(void)state;
	assert_int_equal(sr_propagation_stats_get(NULL), SR_EINVAL);
	for (size_t n = 0; n < offsetof(sr_propagation_stats_t, extract_calls) + 8;
	     n++) {
		assert_int_equal(sr_propagation_stats_get(probe_init(&p, n)),
				 SR_EINVAL);
		assert_all_untouched_but_size(&p);
	}
}

/* ---- sr_otlp_stats_get ------------------------------------------------- */

static void otlp_stats_null_or_too_small_is_einval(void **state)
{
	struct probe p;

	(void)state;
	assert_int_equal(sr_otlp_stats_get(NULL), SR_EINVAL);
	for (size_t n = 0; n < offsetof(sr_otlp_stats_t, exports) + 8; n++) {
		assert_int_equal(sr_otlp_stats_get(probe_init(&p, n)), SR_EINVAL);
		assert_all_untouched_but_size(&p);
	}
}

/* ---- sr_batch_span ----------------------------------------------------- */

/* What the "sized" exporter saw, checked after a flush. */
static struct {
	int old_rc, small_rc, null_rc, full_rc;
	struct probe old, small;
	sr_span_data_t full;
	int calls;
} seen;

static int sized_create(void *ud, const sr_config_t *cfg, void **st,
			char *err, size_t err_len)
{
	(void)ud, (void)cfg, (void)err, (void)err_len;
	*st = NULL;
	return 0;
}

static int sized_export(void *st, const sr_batch_t *batch, uint64_t *rejected)
{
	(void)st, (void)rejected;
	if (seen.calls++ || sr_batch_count(batch) < 1)
		return 0;
	seen.full.size = sizeof(seen.full);
	seen.full_rc = sr_batch_span(batch, 0, &seen.full);
	seen.old_rc = sr_batch_span(
		batch, 0, probe_init(&seen.old, offsetof(sr_span_data_t, kind)));
	seen.small_rc = sr_batch_span(
		batch, 0,
		probe_init(&seen.small, offsetof(sr_span_data_t, trace_id) + 15));
	seen.null_rc = sr_batch_span(batch, 0, NULL);
	return 0;
}

static void sized_destroy(void *st, uint32_t timeout_ms)
{
	(void)st, (void)timeout_ms;
}

static const sr_exporter_ops_t sized = {
	.size = sizeof(sr_exporter_ops_t),
	.abi_version = SR_EXPORTER_ABI_VERSION,
	.name = "sized",
	.create = sized_create,
	.export_batch = sized_export,
	.destroy = sized_destroy,
};

static void only_sized(sr_config_t *cfg)
{
	cfg->exporters = "sized";
}

static void batch_span_old_caller_gets_only_its_part(void **state)
{
	const sr_span_data_t *old = (const void *)seen.old.buf;

	(void)state;
	sr_shutdown(10000, NULL); /* the setup's pipeline */
	assert_int_equal(sr_exporter_register(&sized, NULL), 0);
	assert_int_equal(sr_test_init_memory(only_sized), 0);
	span_one();
	assert_int_equal(sr_flush(10000, NULL), 0);
	assert_int_equal(seen.calls, 1);

	assert_int_equal(seen.full_rc, 0);
	assert_int_equal(seen.full.size, sizeof(sr_span_data_t));
	assert_int_equal(seen.full.name.len, 3);

	assert_int_equal(seen.old_rc, 0);
	assert_int_equal(probe_size(&seen.old), offsetof(sr_span_data_t, kind));
	assert_memory_equal(old->trace_id, seen.full.trace_id, 16);
	assert_memory_equal(old->span_id, seen.full.span_id, 8);
	assert_int_equal(old->trace_flags, seen.full.trace_flags);
	assert_untouched_from(&seen.old, offsetof(sr_span_data_t, kind));

	assert_int_equal(seen.small_rc, SR_EINVAL);
	assert_all_untouched_but_size(&seen.small);
	assert_int_equal(seen.null_rc, SR_EINVAL);
}

/* ---- sr_stats_exporter -------------------------------------------------- */

static void exporter_stats_old_caller_gets_only_its_part(void **state)
{
	struct probe p;
	/* A caller from before the last-error fields. */
	size_t old = offsetof(sr_exporter_stats_t, batches_failed);
	sr_exporter_stats_t *es = probe_init(&p, old);

	(void)state;
	assert_int_equal(sr_stats_exporter(0, es), 0);
	assert_int_equal(probe_size(&p), old);
	assert_string_equal(es->name, "memory");
	assert_int_equal(es->spans_ok, 1);
	assert_untouched_from(&p, old);

	es = probe_init(&p, sizeof(sr_exporter_stats_t) + 32);
	assert_int_equal(sr_stats_exporter(0, es), 0);
	assert_int_equal(probe_size(&p), sizeof(sr_exporter_stats_t));
	assert_untouched_from(&p, sizeof(sr_exporter_stats_t));
}

static void exporter_stats_null_or_too_small_is_einval(void **state)
{
	struct probe p;

	(void)state;
	assert_int_equal(sr_stats_exporter(0, NULL), SR_EINVAL);
	for (size_t n = 0; n < offsetof(sr_exporter_stats_t, name) + 8; n++) {
		assert_int_equal(sr_stats_exporter(0, probe_init(&p, n)), SR_EINVAL);
		assert_all_untouched_but_size(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(stats_old_caller_gets_only_its_part, setup, teardown),
		cmocka_unit_test_setup_teardown(stats_newer_caller_learns_the_library_size, setup, teardown),
		cmocka_unit_test_setup_teardown(stats_null_or_too_small_is_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(stats_to_json_reads_only_the_callers_part, setup, teardown),
		cmocka_unit_test_setup_teardown(propagation_stats_old_caller_gets_only_its_part, setup, teardown),
		cmocka_unit_test_setup_teardown(propagation_stats_null_or_too_small_is_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(otlp_stats_null_or_too_small_is_einval, setup, teardown),
		cmocka_unit_test_setup_teardown(batch_span_old_caller_gets_only_its_part, setup, teardown),
		cmocka_unit_test_setup_teardown(exporter_stats_old_caller_gets_only_its_part, setup, teardown),
		cmocka_unit_test_setup_teardown(exporter_stats_null_or_too_small_is_einval, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
