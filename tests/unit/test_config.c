/*
 * test_config.c - sr_config_init(), sr_config_from_env() and
 * sr__config_validate(): every variable, bad values, empty values,
 * precedence, OTEL_SDK_DISABLED, and the checks sr_init() relies on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <locale.h>
#include <math.h>
#include <string.h>

#include "config_int.h"
#include "env_int.h"
#include "spanring_int.h"
#include "testutil.h"

#define OFF(f) offsetof(sr_config_t, f)

static const char *const all_vars[] = {
	"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
	"OTEL_TRACES_EXPORTER", "OTEL_TRACES_SAMPLER",
	"OTEL_TRACES_SAMPLER_ARG", "OTEL_BSP_SCHEDULE_DELAY",
	"OTEL_BSP_EXPORT_TIMEOUT", "OTEL_BSP_MAX_QUEUE_SIZE",
	"OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT",
	"OTEL_ATTRIBUTE_COUNT_LIMIT", "OTEL_SPAN_EVENT_COUNT_LIMIT",
	"OTEL_SPAN_LINK_COUNT_LIMIT", "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT",
	"OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT",
	"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_SDK_DISABLED",
	"SPANRING_RING_RECORDS", "SPANRING_MAX_THREADS",
	"SPANRING_OVERFLOW_RECORDS", "SPANRING_MAX_SPAN_RECORDS",
	"SPANRING_DRAINER_MAX_SLEEP_US",
};

static int clear_env(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(all_vars) / sizeof(all_vars[0]); i++)
		unsetenv(all_vars[i]);
	return 0;
}

static uint32_t *u32(sr_config_t *cfg, size_t off)
{
	return (uint32_t *)(void *)((char *)cfg + off);
}

/* One numeric variable, a valid value for it and the fields it sets. */
struct num_var {
	const char *var;
	const char *value;
	uint32_t want;
	size_t off[3];
	size_t noff;
};

static const struct num_var num_vars[] = {
	{ "SPANRING_RING_RECORDS", "4096", 4096, { OFF(ring_records) }, 1 },
	{ "SPANRING_MAX_THREADS", "17", 17, { OFF(max_threads) }, 1 },
	{ "SPANRING_OVERFLOW_RECORDS", "100", 100, { OFF(overflow_records) }, 1 },
	{ "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "100", 100,
	  { OFF(max_export_batch_size) }, 1 },
	{ "OTEL_BSP_MAX_QUEUE_SIZE", "999", 999, { OFF(max_queue_size) }, 1 },
	{ "OTEL_BSP_SCHEDULE_DELAY", "250", 250, { OFF(schedule_delay_ms) }, 1 },
	{ "OTEL_BSP_EXPORT_TIMEOUT", "1234", 1234, { OFF(export_timeout_ms) }, 1 },
	{ "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "7", 7, { OFF(attr_count_limit) }, 1 },
	{ "OTEL_SPAN_EVENT_COUNT_LIMIT", "8", 8, { OFF(event_count_limit) }, 1 },
	{ "OTEL_SPAN_LINK_COUNT_LIMIT", "9", 9, { OFF(link_count_limit) }, 1 },
	{ "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "10", 10,
	  { OFF(event_attr_count_limit) }, 1 },
	{ "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "11", 11,
	  { OFF(link_attr_count_limit) }, 1 },
	{ "OTEL_ATTRIBUTE_COUNT_LIMIT", "12", 12,
	  { OFF(attr_count_limit), OFF(event_attr_count_limit),
	    OFF(link_attr_count_limit) }, 3 },
	{ "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "300", 300,
	  { OFF(attr_value_length_limit) }, 1 },
	{ "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "301", 301,
	  { OFF(attr_value_length_limit) }, 1 },
	{ "SPANRING_MAX_SPAN_RECORDS", "16", 16, { OFF(max_span_records) }, 1 },
	{ "SPANRING_DRAINER_MAX_SLEEP_US", "500", 500,
	  { OFF(drainer_max_sleep_us) }, 1 },
};
#define N_NUM (sizeof(num_vars) / sizeof(num_vars[0]))

static void assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("'%s' does not contain '%s'", hay, needle);
}

/* ---- defaults --------------------------------------------------------- */

static void test_defaults_are_the_documented_ones(void **state)
{
	sr_config_t cfg;

	(void)state;
	memset(&cfg, 0xa5, sizeof(cfg));
	sr_config_init(&cfg);
	assert_int_equal(cfg.size, sizeof(cfg));
	assert_null(cfg.service_name);
	assert_null(cfg.resource_attributes);
	assert_string_equal(cfg.exporters, "otlp");
	assert_int_equal(cfg.sampler, SR_SAMPLER_PARENTBASED_ALWAYS_ON);
	assert_true(cfg.sampler_ratio == 1.0);
	assert_int_equal(cfg.ring_records, 1024);
	assert_int_equal(cfg.max_threads, 64);
	assert_int_equal(cfg.overflow_records, 4096);
	assert_int_equal(cfg.max_export_batch_size, 512);
	assert_int_equal(cfg.max_queue_size, 2048);
	assert_int_equal(cfg.schedule_delay_ms, 5000);
	assert_int_equal(cfg.export_timeout_ms, 30000);
	assert_int_equal(cfg.attr_count_limit, 128);
	assert_int_equal(cfg.event_count_limit, 128);
	assert_int_equal(cfg.link_count_limit, 128);
	assert_int_equal(cfg.event_attr_count_limit, 128);
	assert_int_equal(cfg.link_attr_count_limit, 128);
	assert_int_equal(cfg.attr_value_length_limit, 4096);
	assert_int_equal(cfg.max_span_records, 64);
	assert_int_equal(cfg.drainer_max_sleep_us, 20000);
	assert_null(cfg.allocator);
	sr_config_init(NULL); /* no crash */
}

static void test_no_variables_change_nothing(void **state)
{
	sr_config_t a, b;

	(void)state;
	sr_config_init(&a);
	sr_config_init(&b);
	assert_int_equal(sr_config_from_env(&a), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_string_equal(sr_last_error(), "");
}

static void test_null_config_is_einval(void **state)
{
	(void)state;
	assert_int_equal(sr_config_from_env(NULL), SR_EINVAL);
}

/* ---- numeric variables ------------------------------------------------ */

static void test_each_numeric_variable_sets_its_fields_only(void **state)
{
	for (size_t i = 0; i < N_NUM; i++) {
		const struct num_var *nv = &num_vars[i];
		sr_config_t cfg, want;

		clear_env(state);
		sr_config_init(&cfg);
		sr_config_init(&want);
		for (size_t k = 0; k < nv->noff; k++)
			*u32(&want, nv->off[k]) = nv->want;
		setenv(nv->var, nv->value, 1);
		if (sr_config_from_env(&cfg) != 0)
			fail_msg("%s=%s: %s", nv->var, nv->value,
				 sr_last_error());
		if (memcmp(&cfg, &want, sizeof(cfg)) != 0)
			fail_msg("%s changed the wrong fields", nv->var);
	}
}

static void test_bad_numbers_keep_previous_value_and_name_variable(void **state)
{
	static const char *const bad[] = { "abc", "-1", "12abc", "1.5", "+3",
					   "0x10", "1 2", "٣" };

	for (size_t i = 0; i < N_NUM; i++) {
		for (size_t j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			const struct num_var *nv = &num_vars[i];
			sr_config_t cfg;

			clear_env(state);
			sr_config_init(&cfg);
			for (size_t k = 0; k < nv->noff; k++)
				*u32(&cfg, nv->off[k]) = nv->want;
			setenv(nv->var, bad[j], 1);
			assert_int_equal(sr_config_from_env(&cfg), SR_EINVAL);
			for (size_t k = 0; k < nv->noff; k++)
				assert_int_equal(*u32(&cfg, nv->off[k]),
						 nv->want);
			assert_contains(sr_last_error(), nv->var);
			assert_contains(sr_last_error(), "not a non-negative integer");
		}
	}
}

static void test_schedule_delay_message_is_exact(void **state)
{
	sr_config_t cfg;

	(void)state;
	sr_config_init(&cfg);
	setenv("OTEL_BSP_SCHEDULE_DELAY", "abc", 1);
	assert_int_equal(sr_config_from_env(&cfg), SR_EINVAL);
	assert_string_equal(sr_last_error(),
			    "OTEL_BSP_SCHEDULE_DELAY='abc': not a non-negative "
			    "integer");
	assert_int_equal(cfg.schedule_delay_ms, 5000);
}

static void test_other_valid_settings_still_apply(void **state)
{
	sr_config_t cfg;

	(void)state;
	sr_config_init(&cfg);
	setenv("OTEL_BSP_MAX_QUEUE_SIZE", "777", 1);
	setenv("OTEL_BSP_SCHEDULE_DELAY", "soon", 1);
	setenv("OTEL_BSP_EXPORT_TIMEOUT", "later", 1);
	setenv("OTEL_SPAN_LINK_COUNT_LIMIT", "5", 1);
	setenv("OTEL_SERVICE_NAME", "checkout", 1);
	assert_int_equal(sr_config_from_env(&cfg), SR_EINVAL);
	/* The first problem is the one reported. */
	assert_contains(sr_last_error(), "OTEL_BSP_SCHEDULE_DELAY='soon'");
	assert_int_equal(cfg.max_queue_size, 777);
	assert_int_equal(cfg.schedule_delay_ms, 5000);
	assert_int_equal(cfg.export_timeout_ms, 30000);
	assert_int_equal(cfg.link_count_limit, 5);
	assert_string_equal(cfg.service_name, "checkout");
}

static void test_success_clears_the_last_error(void **state)
{
	sr_config_t cfg;

	sr_config_init(&cfg);
	setenv("SPANRING_MAX_THREADS", "x", 1);
	assert_int_equal(sr_config_from_env(&cfg), SR_EINVAL);
	assert_string_not_equal(sr_last_error(), "");
	clear_env(state);
	assert_int_equal(sr_config_from_env(&cfg), 0);
	assert_string_equal(sr_last_error(), "");
}

static void test_empty_and_blank_values_are_unset(void **state)
{
	static const char *const empty[] = { "", "   ", "\t \n" };

	for (size_t j = 0; j < 3; j++) {
		sr_config_t cfg, want;

		clear_env(state);
		for (size_t i = 0; i < sizeof(all_vars) / sizeof(all_vars[0]);
		     i++)
			setenv(all_vars[i], empty[j], 1);
		sr_config_init(&cfg);
		cfg.service_name = "from-code";
		cfg.resource_attributes = "a=1";
		cfg.exporters = "memory";
		cfg.sampler = SR_SAMPLER_TRACEIDRATIO;
		cfg.sampler_ratio = 0.25;
		memcpy(&want, &cfg, sizeof(cfg));
		assert_int_equal(sr_config_from_env(&cfg), 0);
		assert_memory_equal(&cfg, &want, sizeof(cfg));
	}
}

static void test_surrounding_whitespace_is_ignored(void **state)
{
	sr_config_t cfg;

	(void)state;
	sr_config_init(&cfg);
	setenv("OTEL_BSP_MAX_QUEUE_SIZE", " \t42 \n", 1);
	setenv("OTEL_TRACES_SAMPLER", "  always_off ", 1);
	setenv("OTEL_SDK_DISABLED", " false ", 1);
	assert_int_equal(sr_config_from_env(&cfg), 0);
	assert_int_equal(cfg.max_queue_size, 42);
	assert_int_equal(cfg.sampler, SR_SAMPLER_ALWAYS_OFF);
}

static void test_zero_is_rejected_except_schedule_delay(void **state)
{
	for (size_t i = 0; i < N_NUM; i++) {
		const struct num_var *nv = &num_vars[i];
		sr_config_t cfg;
		int rc;

		clear_env(state);
		sr_config_init(&cfg);
		setenv(nv->var, "0", 1);
		rc = sr_config_from_env(&cfg);
		if (strcmp(nv->var, "OTEL_BSP_SCHEDULE_DELAY") == 0) {
			/* 0 = export as soon as possible = the minimum. */
			assert_int_equal(rc, 0);
			assert_int_equal(cfg.schedule_delay_ms, 1);
			continue;
		}
		assert_int_equal(rc, SR_EINVAL);
		assert_contains(sr_last_error(), nv->var);
		assert_contains(sr_last_error(), "must be at least");
		assert_int_not_equal(*u32(&cfg, nv->off[0]), 0);
	}
}

/* Out of range is an error naming the variable and the bound, and the
 * setting keeps its default: never a silent clamp to the bound. */
static void test_out_of_range_is_an_error_not_a_clamp(void **state)
{
	static const struct {
		const char *var, *value, *bound;
		size_t off;
		uint32_t def;
	} cases[] = {
		{ "OTEL_SPAN_EVENT_COUNT_LIMIT", "99999999999999999999999",
		  "at most 65535", offsetof(sr_config_t, event_count_limit), 128 },
		{ "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "4294967296",
		  "at most 65535", offsetof(sr_config_t, attr_value_length_limit), 4096 },
		{ "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "65536", "at most 65535",
		  offsetof(sr_config_t, attr_count_limit), 128 },
		{ "SPANRING_MAX_SPAN_RECORDS", "1000", "at most 255",
		  offsetof(sr_config_t, max_span_records), 64 },
		{ "SPANRING_DRAINER_MAX_SLEEP_US", "5000000", "at most 1000000",
		  offsetof(sr_config_t, drainer_max_sleep_us), 20000 },
	};
	sr_config_t cfg;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		clear_env(state);
		sr_config_init(&cfg);
		setenv(cases[i].var, cases[i].value, 1);
		assert_int_equal(sr_config_from_env(&cfg), SR_EINVAL);
		assert_contains(sr_last_error(), cases[i].var);
		assert_contains(sr_last_error(), cases[i].value);
		assert_contains(sr_last_error(), cases[i].bound);
		assert_int_equal(*u32(&cfg, cases[i].off), cases[i].def);
	}

	clear_env(state);
	sr_config_init(&cfg);
	setenv("SPANRING_MAX_THREADS", "65537", 1);
	assert_int_equal(sr_config_from_env(&cfg), SR_EINVAL);
	assert_contains(sr_last_error(), "SPANRING_MAX_THREADS='65537'");
	assert_contains(sr_last_error(), "at most 65536");
	assert_int_equal(cfg.max_threads, 64);

	/* 2^64 + 1 must not wrap around to 1. */
	setenv("SPANRING_MAX_THREADS", "18446744073709551617", 1);
	assert_int_equal(sr_config_from_env(&cfg), SR_EINVAL);
	assert_int_equal(cfg.max_threads, 64);

	clear_env(state);
	setenv("OTEL_BSP_EXPORT_TIMEOUT", "4294967296", 1);
	assert_int_equal(sr_config_from_env(&cfg), SR_EINVAL);
	assert_int_equal(cfg.export_timeout_ms, 30000);
	setenv("OTEL_BSP_EXPORT_TIMEOUT", "4294967295", 1);
	assert_int_equal(sr_config_from_env(&cfg), 0);
	assert_int_equal(cfg.export_timeout_ms, 4294967295u);
}

static void test_ring_records_must_be_a_power_of_two_in_range(void **state)
{
	static const struct {
		const char *v;
		int rc;
		uint32_t want;
		const char *why;
	} cases[] = {
		{ "8", 0, 8, NULL },
		{ "1048576", 0, 1u << 20, NULL },
		{ "1000", SR_EINVAL, 1024, "not a power of two" },
		{ "4", SR_EINVAL, 1024, "at least 8" },
		{ "2097152", SR_EINVAL, 1024, "at most 1048576" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sr_config_t cfg;

		clear_env(state);
		sr_config_init(&cfg);
		setenv("SPANRING_RING_RECORDS", cases[i].v, 1);
		assert_int_equal(sr_config_from_env(&cfg), cases[i].rc);
		assert_int_equal(cfg.ring_records, cases[i].want);
		if (cases[i].why) {
			assert_contains(sr_last_error(), "SPANRING_RING_RECORDS");
			assert_contains(sr_last_error(), cases[i].v);
			assert_contains(sr_last_error(), cases[i].why);
		}
	}
}

/* ---- limit precedence ------------------------------------------------- */

static void test_specific_attribute_limits_win_over_generic(void **state)
{
	sr_config_t cfg;

	sr_config_init(&cfg);
	setenv("OTEL_ATTRIBUTE_COUNT_LIMIT", "12", 1);
	setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "5", 1);
	setenv("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "6", 1);
	setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "301", 1);
	setenv("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "300", 1);
	assert_int_equal(sr_config_from_env(&cfg), 0);
	assert_int_equal(cfg.attr_count_limit, 5);
	assert_int_equal(cfg.event_attr_count_limit, 12);
	assert_int_equal(cfg.link_attr_count_limit, 6);
	assert_int_equal(cfg.event_count_limit, 128);
	assert_int_equal(cfg.attr_value_length_limit, 300);

	/* An invalid specific value is ignored: the generic one applies. */
	clear_env(state);
	sr_config_init(&cfg);
	setenv("OTEL_ATTRIBUTE_COUNT_LIMIT", "12", 1);
	setenv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "many", 1);
	assert_int_equal(sr_config_from_env(&cfg), SR_EINVAL);
	assert_contains(sr_last_error(), "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT='many'");
	assert_int_equal(cfg.attr_count_limit, 12);
}

/* ---- sampler ---------------------------------------------------------- */

static void test_sampler_names_any_case(void **state)
{
	static const struct {
		const char *name;
		sr_sampler_kind_t kind;
	} names[] = {
		{ "always_on", SR_SAMPLER_ALWAYS_ON },
		{ "ALWAYS_OFF", SR_SAMPLER_ALWAYS_OFF },
		{ "TraceIdRatio", SR_SAMPLER_TRACEIDRATIO },
		{ "parentbased_always_on", SR_SAMPLER_PARENTBASED_ALWAYS_ON },
		{ "parentbased_always_off", SR_SAMPLER_PARENTBASED_ALWAYS_OFF },
		{ "ParentBased_TraceIdRatio",
		  SR_SAMPLER_PARENTBASED_TRACEIDRATIO },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		sr_config_t cfg;

		clear_env(state);
		sr_config_init(&cfg);
		cfg.sampler = names[i].kind == SR_SAMPLER_ALWAYS_ON
				      ? SR_SAMPLER_ALWAYS_OFF
				      : SR_SAMPLER_ALWAYS_ON;
		setenv("OTEL_TRACES_SAMPLER", names[i].name, 1);
		assert_int_equal(sr_config_from_env(&cfg), 0);
		assert_int_equal(cfg.sampler, names[i].kind);
	}
}

static void test_unknown_sampler_keeps_previous(void **state)
{
	static const char *const bad[] = {
		"jaeger_remote", "always", "always_on_", "xray",
		"parentbased_always_on_and_then_some_more_text_here",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sr_config_t cfg;

		clear_env(state);
		sr_config_init(&cfg);
		cfg.sampler = SR_SAMPLER_ALWAYS_OFF;
		setenv("OTEL_TRACES_SAMPLER", bad[i], 1);
		assert_int_equal(sr_config_from_env(&cfg), SR_EINVAL);
		assert_int_equal(cfg.sampler, SR_SAMPLER_ALWAYS_OFF);
		assert_contains(sr_last_error(), "OTEL_TRACES_SAMPLER=");
		assert_contains(sr_last_error(), "unknown sampler");
	}
}

static void test_sampler_arg_sets_ratio(void **state)
{
	static const struct {
		const char *sampler, *arg;
		double want;
	} cases[] = {
		{ "traceidratio", "0.25", 0.25 },
		{ "parentbased_traceidratio", " 0.5 ", 0.5 },
		{ "traceidratio", "1", 1.0 },
		{ "traceidratio", "0", 0.0 },
		{ "traceidratio", ".125", 0.125 },
		{ "traceidratio", "5e-1", 0.5 },
		{ "traceidratio", "1.0e0", 1.0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sr_config_t cfg;

		clear_env(state);
		sr_config_init(&cfg);
		setenv("OTEL_TRACES_SAMPLER", cases[i].sampler, 1);
		setenv("OTEL_TRACES_SAMPLER_ARG", cases[i].arg, 1);
		assert_int_equal(sr_config_from_env(&cfg), 0);
		assert_true(cfg.sampler_ratio == cases[i].want);
	}
}

static void test_bad_sampler_arg_reports_and_uses_one(void **state)
{
	static const char *const bad[] = { "1.5", "-0.1", "nan", "inf",
					   "0x1p-1", "abc", "0.5x", "1e400",
					   "0,5", "2e-1e1" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sr_config_t cfg;

		clear_env(state);
		sr_config_init(&cfg);
		cfg.sampler_ratio = 0.3;
		setenv("OTEL_TRACES_SAMPLER", "traceidratio", 1);
		setenv("OTEL_TRACES_SAMPLER_ARG", bad[i], 1);
		assert_int_equal(sr_config_from_env(&cfg), SR_EINVAL);
		assert_true(cfg.sampler_ratio == 1.0);
		assert_int_equal(cfg.sampler, SR_SAMPLER_TRACEIDRATIO);
		assert_contains(sr_last_error(), "OTEL_TRACES_SAMPLER_ARG=");
		assert_contains(sr_last_error(), bad[i]);
	}
}

static void test_sampler_arg_only_concerns_ratio_samplers(void **state)
{
	sr_config_t cfg;

	/* Not a ratio sampler: the argument is not looked at. */
	sr_config_init(&cfg);
	cfg.sampler_ratio = 0.3;
	setenv("OTEL_TRACES_SAMPLER", "always_on", 1);
	setenv("OTEL_TRACES_SAMPLER_ARG", "garbage", 1);
	assert_int_equal(sr_config_from_env(&cfg), 0);
	assert_true(cfg.sampler_ratio == 0.3);

	/* A ratio sampler chosen in code takes the argument too. */
	clear_env(state);
	sr_config_init(&cfg);
	cfg.sampler = SR_SAMPLER_PARENTBASED_TRACEIDRATIO;
	setenv("OTEL_TRACES_SAMPLER_ARG", "0.75", 1);
	assert_int_equal(sr_config_from_env(&cfg), 0);
	assert_true(cfg.sampler_ratio == 0.75);
}

static void test_sampler_arg_ignores_numeric_locale(void **state)
{
	static const char *const locales[] = { "de_DE.UTF-8", "de_DE.utf8",
					       "fr_FR.UTF-8", "ru_RU.UTF-8" };
	const char *got = NULL;
	sr_config_t cfg;

	(void)state;
	for (size_t i = 0; i < 4 && got == NULL; i++)
		got = setlocale(LC_NUMERIC, locales[i]);
	if (got == NULL)
		skip(); /* no locale with a decimal comma installed */
	assert_string_equal(localeconv()->decimal_point, ",");
	sr_config_init(&cfg);
	setenv("OTEL_TRACES_SAMPLER", "traceidratio", 1);
	setenv("OTEL_TRACES_SAMPLER_ARG", "0.25", 1);
	assert_int_equal(sr_config_from_env(&cfg), 0);
	setlocale(LC_NUMERIC, "C");
	assert_true(cfg.sampler_ratio == 0.25);
}

/* ---- strings and OTEL_SDK_DISABLED ------------------------------------- */

static void test_string_variables_point_into_environment(void **state)
{
	sr_config_t cfg;

	(void)state;
	sr_config_init(&cfg);
	setenv("OTEL_SERVICE_NAME", "checkout", 1);
	setenv("OTEL_TRACES_EXPORTER", "console,memory", 1);
	setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,a=b", 1);
	assert_int_equal(sr_config_from_env(&cfg), 0);
	assert_ptr_equal(cfg.service_name, getenv("OTEL_SERVICE_NAME"));
	assert_string_equal(cfg.service_name, "checkout");
	assert_string_equal(cfg.exporters, "console,memory");
	assert_string_equal(cfg.resource_attributes,
			    "deployment.environment=prod,a=b");
}

static void test_bad_resource_attributes_are_reported_but_kept(void **state)
{
	sr_config_t cfg;

	(void)state;
	sr_config_init(&cfg);
	setenv("OTEL_RESOURCE_ATTRIBUTES", "a=1,oops,b=2", 1);
	assert_int_equal(sr_config_from_env(&cfg), SR_EINVAL);
	assert_contains(sr_last_error(), "OTEL_RESOURCE_ATTRIBUTES=");
	assert_contains(sr_last_error(), "'oops'");
	/* The valid entries are still wanted: the value stays. */
	assert_string_equal(cfg.resource_attributes, "a=1,oops,b=2");
}

/* The messages of sr_init() name the variable the value came from, and
 * the field when the application set it; sr_config_from_env() followed
 * by sr_init() keeps the first detail in sr_last_error(). */
static void memory_exporter(sr_config_t *cfg)
{
	cfg->exporters = "memory";
}

static void test_init_names_the_variable_the_user_set(void **state)
{
	sr_config_t cfg;

	(void)state;
	/* OTEL_RESOURCE_ATTRIBUTES, through the environment ... */
	setenv("OTEL_RESOURCE_ATTRIBUTES", "a=1,oops", 1);
	setenv("OTEL_TRACES_EXPORTER", "memory", 1);
	assert_int_equal(sr_init_from_env(), SR_EINVAL);
	assert_true(sr_is_running());
	assert_contains(sr_last_error(), "OTEL_RESOURCE_ATTRIBUTES");
	assert_null(strstr(sr_last_error(), "resource_attributes"));
	sr_shutdown(5000, NULL);
	/* ... and in two steps: the detail survives sr_init(). */
	sr_config_init(&cfg);
	assert_int_equal(sr_config_from_env(&cfg), SR_EINVAL);
	assert_int_equal(sr_init(&cfg), SR_EINVAL);
	assert_contains(sr_last_error(), "OTEL_RESOURCE_ATTRIBUTES");
	assert_contains(sr_last_error(), "oops");
	sr_shutdown(5000, NULL);
	/* The field when the application set it. */
	unsetenv("OTEL_RESOURCE_ATTRIBUTES");
	sr_config_init(&cfg);
	cfg.exporters = "memory";
	cfg.resource_attributes = "oops";
	assert_int_equal(sr_init(&cfg), SR_EINVAL);
	assert_contains(sr_last_error(), "resource_attributes");
	assert_null(strstr(sr_last_error(), "OTEL_"));
	sr_shutdown(5000, NULL);

	/* An unknown exporter, either way. */
	setenv("OTEL_TRACES_EXPORTER", "memory,nosuch", 1);
	assert_int_equal(sr_init_from_env(), SR_ENOTFOUND);
	assert_contains(sr_last_error(), "OTEL_TRACES_EXPORTER='nosuch'");
	sr_shutdown(5000, NULL);
	unsetenv("OTEL_TRACES_EXPORTER");
	sr_config_init(&cfg);
	cfg.exporters = "memory,nosuch";
	assert_int_equal(sr_init(&cfg), SR_ENOTFOUND);
	assert_contains(sr_last_error(), "exporters='nosuch'");
	sr_shutdown(5000, NULL);

	/* A numeric variable out of range, in two steps. */
	setenv("OTEL_SPAN_LINK_COUNT_LIMIT", "70000", 1);
	sr_config_init(&cfg);
	assert_int_equal(sr_config_from_env(&cfg), SR_EINVAL);
	memory_exporter(&cfg);
	assert_int_equal(sr_init(&cfg), SR_EINVAL);
	assert_contains(sr_last_error(), "OTEL_SPAN_LINK_COUNT_LIMIT='70000'");
	assert_contains(sr_last_error(), "at most 65535");
	sr_shutdown(5000, NULL);
	/* Reported once: the next sr_init() has nothing to add. */
	assert_int_equal(sr_init(&cfg), 0);
	assert_string_equal(sr_last_error(), "");
	sr_shutdown(5000, NULL);
}

static void test_sdk_disabled_turns_everything_off(void **state)
{
	static const char *const yes[] = { "true", "TRUE", "True" };

	for (size_t i = 0; i < 3; i++) {
		sr_config_t cfg;

		clear_env(state);
		sr_config_init(&cfg);
		setenv("OTEL_TRACES_EXPORTER", "console", 1);
		setenv("OTEL_TRACES_SAMPLER", "always_on", 1);
		setenv("OTEL_SDK_DISABLED", yes[i], 1);
		assert_int_equal(sr_config_from_env(&cfg), 0);
		assert_string_equal(cfg.exporters, "none");
		assert_int_equal(cfg.sampler, SR_SAMPLER_ALWAYS_OFF);
	}
}

static void test_sdk_disabled_other_values_are_false(void **state)
{
	sr_config_t cfg;

	sr_config_init(&cfg);
	setenv("OTEL_SDK_DISABLED", "FALSE", 1);
	assert_int_equal(sr_config_from_env(&cfg), 0);
	assert_string_equal(cfg.exporters, "otlp");

	clear_env(state);
	setenv("OTEL_SDK_DISABLED", "yes", 1);
	setenv("OTEL_BSP_MAX_QUEUE_SIZE", "10", 1);
	assert_int_equal(sr_config_from_env(&cfg), SR_EINVAL);
	assert_contains(sr_last_error(), "OTEL_SDK_DISABLED='yes'");
	assert_string_equal(cfg.exporters, "otlp");
	assert_int_equal(cfg.sampler, SR_SAMPLER_PARENTBASED_ALWAYS_ON);
	assert_int_equal(cfg.max_queue_size, 10);
}

/* ---- ABI: a shorter sr_config_t ---------------------------------------- */

static void test_fields_past_size_are_never_written(void **state)
{
	struct {
		sr_config_t cfg;
	} s;
	const sr_allocator_t *sentinel = (const sr_allocator_t *)&s;

	(void)state;
	sr_config_init(&s.cfg);
	s.cfg.size = OFF(drainer_max_sleep_us);
	s.cfg.drainer_max_sleep_us = 0xdeadbeef;
	s.cfg.allocator = sentinel;
	setenv("SPANRING_DRAINER_MAX_SLEEP_US", "5", 1);
	setenv("SPANRING_MAX_SPAN_RECORDS", "3", 1);
	assert_int_equal(sr_config_from_env(&s.cfg), 0);
	assert_int_equal(s.cfg.max_span_records, 3);
	assert_int_equal(s.cfg.drainer_max_sleep_us, 0xdeadbeef);
	assert_ptr_equal(s.cfg.allocator, sentinel);
}

static void test_config_copy_defaults_unknown_tail(void **state)
{
	sr_config_t src, dst;

	(void)state;
	sr_config_init(&src);
	src.max_span_records = 9;
	src.drainer_max_sleep_us = 77;
	src.size = OFF(drainer_max_sleep_us);
	sr__config_copy(&dst, &src);
	assert_int_equal(dst.size, sizeof(dst));
	assert_int_equal(dst.max_span_records, 9);
	assert_int_equal(dst.drainer_max_sleep_us, 20000);

	/* A newer application's larger struct: known fields copied. */
	src.size = sizeof(src) + 64;
	sr__config_copy(&dst, &src);
	assert_int_equal(dst.size, sizeof(dst));
	assert_int_equal(dst.drainer_max_sleep_us, 77);

	/* Never initialised: validate must refuse it. */
	memset(&src, 0, sizeof(src));
	src.ring_records = 8;
	sr__config_copy(&dst, &src);
	assert_int_equal(sr__config_validate(&dst), SR_EINVAL);
	assert_contains(sr_last_error(), "sr_config_init");
}

/* ---- sr__config_validate ---------------------------------------------- */

static void test_validate_fills_zero_fields(void **state)
{
	sr_config_t cfg, want;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = sizeof(cfg);
	sr_config_init(&want);
	want.sampler = SR_SAMPLER_ALWAYS_ON; /* 0 is a valid kind */
	want.sampler_ratio = 0.0;
	assert_int_equal(sr__config_validate(&cfg), 0);
	assert_memory_equal(&cfg, &want, sizeof(cfg));
}

static void test_validate_accepts_defaults_unchanged(void **state)
{
	sr_config_t cfg, want;

	(void)state;
	sr_config_init(&cfg);
	memcpy(&want, &cfg, sizeof(cfg));
	assert_int_equal(sr__config_validate(&cfg), 0);
	assert_memory_equal(&cfg, &want, sizeof(cfg));
}

static void test_validate_rejects_bad_ring_records(void **state)
{
	static const uint32_t bad[] = { 1000, 4, 1u << 21, 3, UINT32_MAX };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sr_config_t cfg;
		char num[16];

		sr_config_init(&cfg);
		cfg.ring_records = bad[i];
		assert_int_equal(sr__config_validate(&cfg), SR_EINVAL);
		snprintf(num, sizeof(num), "=%u", bad[i]);
		assert_contains(sr_last_error(), "ring_records");
		assert_contains(sr_last_error(), num);
		assert_int_equal(cfg.ring_records, 1024);
	}
}

/* The same rule for sr_config_t fields: an error naming the field, the
 * default kept. */
static void test_validate_rejects_limits_out_of_range(void **state)
{
	sr_config_t cfg;

	(void)state;
	sr_config_init(&cfg);
	cfg.max_span_records = 300;
	assert_int_equal(sr__config_validate(&cfg), SR_EINVAL);
	assert_contains(sr_last_error(), "max_span_records=300: must be at most 255");
	assert_int_equal(cfg.max_span_records, 64);
	sr_config_init(&cfg);
	cfg.link_attr_count_limit = UINT32_MAX;
	assert_int_equal(sr__config_validate(&cfg), SR_EINVAL);
	assert_contains(sr_last_error(), "link_attr_count_limit=4294967295");
	assert_int_equal(cfg.link_attr_count_limit, 128);
	sr_config_init(&cfg);
	cfg.drainer_max_sleep_us = 10000000;
	assert_int_equal(sr__config_validate(&cfg), SR_EINVAL);
	assert_int_equal(cfg.drainer_max_sleep_us, 20000);

	/* A batch must fit in a queue: the batch is cut to it. */
	sr_config_init(&cfg);
	cfg.max_export_batch_size = 4096;
	cfg.max_queue_size = 2048;
	assert_int_equal(sr__config_validate(&cfg), 0);
	assert_int_equal(cfg.max_export_batch_size, 2048);

	/* A span must fit in an empty ring. */
	sr_config_init(&cfg);
	cfg.ring_records = 8;
	assert_int_equal(sr__config_validate(&cfg), 0);
	assert_int_equal(cfg.max_span_records, 8);
}

static void test_validate_rejects_bad_sampler_settings(void **state)
{
	sr_config_t cfg;

	(void)state;
	sr_config_init(&cfg);
	cfg.sampler = (sr_sampler_kind_t)99;
	assert_int_equal(sr__config_validate(&cfg), SR_EINVAL);
	assert_contains(sr_last_error(), "sampler=99");
	assert_int_equal(cfg.sampler, SR_SAMPLER_PARENTBASED_ALWAYS_ON);

	sr_config_init(&cfg);
	cfg.sampler = SR_SAMPLER_TRACEIDRATIO;
	cfg.sampler_ratio = 1.5;
	assert_int_equal(sr__config_validate(&cfg), SR_EINVAL);
	assert_contains(sr_last_error(), "sampler_ratio=1.5");
	assert_true(cfg.sampler_ratio == 1.0);

	cfg.sampler_ratio = NAN;
	assert_int_equal(sr__config_validate(&cfg), SR_EINVAL);

	/* The ratio does not matter to other samplers. */
	sr_config_init(&cfg);
	cfg.sampler = SR_SAMPLER_ALWAYS_ON;
	cfg.sampler_ratio = -3;
	assert_int_equal(sr__config_validate(&cfg), 0);
}

static void *dummy_alloc(void *ud, size_t size, size_t align)
{
	(void)ud;
	(void)size;
	(void)align;
	return NULL;
}

static void test_validate_rejects_half_an_allocator(void **state)
{
	sr_allocator_t a = { dummy_alloc, NULL, NULL };
	sr_config_t cfg;

	(void)state;
	sr_config_init(&cfg);
	cfg.allocator = &a;
	assert_int_equal(sr__config_validate(&cfg), SR_EINVAL);
	assert_contains(sr_last_error(), "allocator");
}

static void test_validate_reports_first_and_normalises_rest(void **state)
{
	sr_config_t cfg;

	(void)state;
	sr_config_init(&cfg);
	cfg.ring_records = 1000;
	cfg.max_threads = 70000;
	cfg.max_span_records = 0;
	cfg.exporters = NULL;
	assert_int_equal(sr__config_validate(&cfg), SR_EINVAL);
	assert_string_equal(sr_last_error(),
			    "ring_records=1000: not a power of two");
	assert_int_equal(cfg.ring_records, 1024);
	assert_int_equal(cfg.max_threads, 64);
	assert_int_equal(cfg.max_span_records, 64);
	assert_string_equal(cfg.exporters, "otlp");

	assert_int_equal(sr__config_validate(NULL), SR_EINVAL);
}

/* ---- helpers for exporters --------------------------------------------- */

static void test_env_helpers(void **state)
{
	uint32_t x = 7;
	bool b = false;
	size_t len = 0;

	(void)state;
	assert_int_equal(sr__env_u32("OTEL_BSP_EXPORT_TIMEOUT", 1, 10, &x),
			 SR_ENOTFOUND);
	assert_int_equal(x, 7);
	setenv("OTEL_BSP_EXPORT_TIMEOUT", " 9 ", 1);
	assert_int_equal(sr__env_u32("OTEL_BSP_EXPORT_TIMEOUT", 1, 10, &x), 0);
	assert_int_equal(x, 9);
	setenv("OTEL_BSP_EXPORT_TIMEOUT", "11", 1);
	assert_int_equal(sr__env_u32("OTEL_BSP_EXPORT_TIMEOUT", 1, 10, &x),
			 SR_EINVAL);
	assert_contains(sr_last_error(), "OTEL_BSP_EXPORT_TIMEOUT='11'");
	assert_int_equal(x, 9);

	assert_int_equal(sr__env_bool("OTEL_SDK_DISABLED", &b), SR_ENOTFOUND);
	setenv("OTEL_SDK_DISABLED", "tRuE", 1);
	assert_int_equal(sr__env_bool("OTEL_SDK_DISABLED", &b), 0);
	assert_true(b);
	setenv("OTEL_SDK_DISABLED", "1", 1);
	assert_int_equal(sr__env_bool("OTEL_SDK_DISABLED", &b), SR_EINVAL);
	assert_false(b);

	setenv("OTEL_SERVICE_NAME", "  svc a  ", 1);
	assert_string_equal(sr__env_get("OTEL_SERVICE_NAME", &len), "svc a  ");
	assert_int_equal(len, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, clear_env, clear_env)
		T(test_defaults_are_the_documented_ones),
		T(test_no_variables_change_nothing),
		T(test_null_config_is_einval),
		T(test_each_numeric_variable_sets_its_fields_only),
		T(test_bad_numbers_keep_previous_value_and_name_variable),
		T(test_schedule_delay_message_is_exact),
		T(test_other_valid_settings_still_apply),
		T(test_success_clears_the_last_error),
		T(test_empty_and_blank_values_are_unset),
		T(test_surrounding_whitespace_is_ignored),
		T(test_zero_is_rejected_except_schedule_delay),
		T(test_out_of_range_is_an_error_not_a_clamp),
		T(test_ring_records_must_be_a_power_of_two_in_range),
		T(test_specific_attribute_limits_win_over_generic),
		T(test_sampler_names_any_case),
		T(test_unknown_sampler_keeps_previous),
		T(test_sampler_arg_sets_ratio),
		T(test_bad_sampler_arg_reports_and_uses_one),
		T(test_sampler_arg_only_concerns_ratio_samplers),
		T(test_sampler_arg_ignores_numeric_locale),
		T(test_string_variables_point_into_environment),
		T(test_bad_resource_attributes_are_reported_but_kept),
		T(test_init_names_the_variable_the_user_set),
		T(test_sdk_disabled_turns_everything_off),
		T(test_sdk_disabled_other_values_are_false),
		T(test_fields_past_size_are_never_written),
		T(test_config_copy_defaults_unknown_tail),
		T(test_validate_fills_zero_fields),
		T(test_validate_accepts_defaults_unchanged),
		T(test_validate_rejects_bad_ring_records),
		T(test_validate_rejects_limits_out_of_range),
		T(test_validate_rejects_bad_sampler_settings),
		T(test_validate_rejects_half_an_allocator),
		T(test_validate_reports_first_and_normalises_rest),
		T(test_env_helpers),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
