/*
 * test_locale.c - numbers are written and read with '.' whatever locale
 * the application set.
 *
 * An application that calls setlocale(LC_ALL, "de_DE.UTF-8") has ',' as
 * its decimal point, and printf's %g and strtod follow it: every exporter
 * writing JSON (OTLP/JSON and the file exporter, Zipkin, chrome) and the
 * configuration parser would then write or misread "0,5".  Runs under
 * de_DE.UTF-8 (scripts/setup.sh generates it) and skips, saying so, only
 * where that locale is not installed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "numfmt_int.h"
#include "testutil.h"
#include "zipkin_int.h"

static char dir[256];

static int setup(void **state)
{
	(void)state;
	if (!setlocale(LC_ALL, "de_DE.UTF-8")) {
		fprintf(stderr, "test_locale: SKIPPED: locale de_DE.UTF-8 is not "
				"installed (scripts/setup.sh test generates it)\n");
		return 0;
	}
	/* The premise: this locale's decimal point is a comma. */
	if (strcmp(localeconv()->decimal_point, ",") != 0)
		return -1;
	return sr_test_mkdtemp(dir, sizeof(dir), "locale");
}

static int teardown(void **state)
{
	(void)state;
	if (sr_is_running())
		sr_shutdown(5000, NULL);
	if (dir[0])
		sr_test_rmtree(dir);
	setlocale(LC_ALL, "C");
	return 0;
}

#define NEED_LOCALE()                                              \
	do {                                                       \
		if (strcmp(localeconv()->decimal_point, ",") != 0) \
			skip();                                    \
	} while (0)

static void numbers_have_a_dot(void **state)
{
	static const struct { double v; const char *text; } cases[] = {
		{ 0.5, "0.5" }, { -1.25, "-1.25" }, { 0.1, "0.1" },
		{ 1e-7, "1e-07" }, { 123456.789, "123456.789" },
		{ 3.141592653589793, "3.141592653589793" },
	};
	char buf[SR__FMT_DOUBLE_MAX];
	char *end;

	(void)state;
	NEED_LOCALE();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = sr__fmt_double(buf, cases[i].v);

		assert_string_equal(buf, cases[i].text);
		assert_int_equal(n, strlen(cases[i].text));
		assert_true(sr__strtod_c(buf, &end) == cases[i].v);
		assert_true(*end == '\0');
	}
	/* And the reader takes '.', not the locale's ','. */
	assert_true(sr__strtod_c("0.25", &end) == 0.25 && *end == '\0');
}

static void config_reads_a_dot(void **state)
{
	sr_config_t cfg;

	(void)state;
	NEED_LOCALE();
	setenv("OTEL_TRACES_SAMPLER", "traceidratio", 1);
	setenv("OTEL_TRACES_SAMPLER_ARG", "0.25", 1);
	sr_config_init(&cfg);
	assert_int_equal(sr_config_from_env(&cfg), 0);
	assert_true(cfg.sampler_ratio == 0.25);
	unsetenv("OTEL_TRACES_SAMPLER");
	unsetenv("OTEL_TRACES_SAMPLER_ARG");
}

static char file_path[400], chrome_path[400];

static void file_and_chrome(sr_config_t *cfg)
{
	cfg->exporters = "file,chrome";
	cfg->schedule_delay_ms = 10;
}

/* The double attribute's value as the OTLP/JSON line has it. */
static double otlp_double(json_t *req, const char *key)
{
	json_t *spans = json_object_get(
		json_array_get(json_object_get(
				       json_array_get(json_object_get(req, "resourceSpans"), 0),
				       "scopeSpans"),
			       0),
		"spans");
	json_t *attrs = json_object_get(json_array_get(spans, 0), "attributes");

	for (size_t i = 0; i < json_array_size(attrs); i++) {
		json_t *a = json_array_get(attrs, i);

		if (!strcmp(json_string_value(json_object_get(a, "key")), key))
			return json_real_value(json_object_get(
				json_object_get(a, "value"), "doubleValue"));
	}
	return -1;
}

static void exporters_write_json(void **state)
{
	struct sr_test_lines l;
	json_error_t err;
	json_t *root;
	char *text;
	sr_span_t s;

	(void)state;
	NEED_LOCALE();
	snprintf(file_path, sizeof(file_path), "%s/spans.jsonl", dir);
	snprintf(chrome_path, sizeof(chrome_path), "%s/trace.json", dir);
	setenv("SPANRING_FILE_PATH", file_path, 1);
	setenv("SPANRING_CHROME_PATH", chrome_path, 1);
	assert_int_equal(sr_test_init_memory(file_and_chrome), 0);
	sr_span_start(&s, NULL, "decimal", SR_KIND_INTERNAL);
	sr_span_set_double(&s, "ratio", 0.5);
	sr_span_set_double(&s, "tiny", 1.5e-9);
	sr_span_end(&s);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	unsetenv("SPANRING_FILE_PATH");
	unsetenv("SPANRING_CHROME_PATH");

	/* OTLP/JSON lines: each a valid request, the numbers as given. */
	assert_int_equal(sr_test_scan_lines(file_path, &l), 0);
	assert_int_equal(l.bad, 0);
	assert_int_equal(l.spans, 1);
	text = sr_test_read_file(file_path, NULL);
	assert_non_null(text);
	assert_non_null(strstr(text, "0.5"));
	root = json_loads(text, JSON_DISABLE_EOF_CHECK, &err);
	assert_non_null(root);
	assert_true(otlp_double(root, "ratio") == 0.5);
	assert_true(otlp_double(root, "tiny") == 1.5e-9);
	json_decref(root);
	free(text);

	/* The chrome trace parses as one JSON object. */
	root = json_load_file(chrome_path, 0, &err);
	if (!root)
		fail_msg("chrome trace: %s (line %d)", err.text, err.line);
	json_decref(root);
}

static void zipkin_writes_json(void **state)
{
	static const sr_attr_view_t res[] = {
		{ { "service.name", 12 }, SR_ATTR_STRING, { .s = { "svc", 3 } } },
	};
	sr_attr_view_t attrs[] = {
		{ { "ratio", 5 }, SR_ATTR_DOUBLE, { .d = 0.5 } },
	};
	struct sr__zipkin_enc e;
	sr_span_data_t sp;
	const char *body;
	size_t len;
	json_t *root;
	json_error_t err;

	(void)state;
	NEED_LOCALE();
	memset(&sp, 0, sizeof(sp));
	sp.size = sizeof(sp);
	sp.trace_id[15] = 1;
	sp.span_id[7] = 1;
	sp.kind = SR_KIND_INTERNAL;
	sp.name = (sr_str_t){ "z", 1 };
	sp.start_ns = 1000000000;
	sp.end_ns = 1000001500; /* 1.5 us */
	sp.attrs = attrs;
	sp.attr_count = 1;
	sr__zipkin_enc_init(&e);
	sr__zipkin_enc_begin(&e, res, 1);
	sr__zipkin_enc_add(&e, &sp);
	assert_int_equal(sr__zipkin_enc_finish(&e, &body, &len), 0);
	root = json_loadb(body, len, 0, &err);
	if (!root)
		fail_msg("zipkin body %.*s: %s", (int)len, body, err.text);
	/* Zipkin tags are strings: valid JSON either way, so the text. */
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(json_array_get(root, 0), "tags"), "ratio")), "0.5");
	json_decref(root);
	sr__zipkin_enc_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(numbers_have_a_dot),
		cmocka_unit_test(config_reads_a_dot),
		cmocka_unit_test(exporters_write_json),
		cmocka_unit_test(zipkin_writes_json),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
