/*
 * fuzz_config.c - libFuzzer target for the environment parsers:
 * sr_config_from_env() over every OTEL_* / SPANRING_* variable,
 * sr__config_validate() on the result (it reads SPANRING_BACKGROUND_*
 * itself), and sr__resource_build() over
 * OTEL_RESOURCE_ATTRIBUTES.
 *
 * Input: NUL-separated values (an environment value cannot hold a NUL),
 * given to the variables in table order.  An input with no NUL becomes
 * the value of every variable at once, so each parser sees the same raw
 * bytes.  Besides crashes and leaks (ASan), the target aborts when a
 * result breaks a documented invariant: a validated config within its
 * bounds, resource strings inside the block and NUL-terminated.
 */
#include "fuzz_check.h"

#include "config_int.h"
#include "spanring_int.h"

static const char *const vars[] = {
	"OTEL_RESOURCE_ATTRIBUTES", "OTEL_SERVICE_NAME",
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
	"SPANRING_DRAINER_MAX_SLEEP_US", "SPANRING_BACKGROUND_CPUS",
	"SPANRING_BACKGROUND_SCHED", "SPANRING_BACKGROUND_NICE",
};
#define NVARS (sizeof(vars) / sizeof(vars[0]))

static void check_config(const sr_config_t *c)
{
	CHECK(c->ring_records >= 8 && c->ring_records <= (1u << 20));
	CHECK((c->ring_records & (c->ring_records - 1)) == 0);
	CHECK(c->max_threads >= 1 && c->max_threads <= (1u << 16));
	CHECK(c->max_span_records >= 1 && c->max_span_records <= 255 &&
	      c->max_span_records <= c->ring_records);
	CHECK(c->max_export_batch_size >= 1 &&
	      c->max_export_batch_size <= c->max_queue_size);
	CHECK(c->schedule_delay_ms >= 1 && c->export_timeout_ms >= 1);
	CHECK(c->attr_count_limit >= 1 && c->attr_count_limit <= 65535);
	CHECK(c->event_count_limit >= 1 && c->event_count_limit <= 65535);
	CHECK(c->link_count_limit >= 1 && c->link_count_limit <= 65535);
	CHECK(c->event_attr_count_limit >= 1 &&
	      c->event_attr_count_limit <= 65535);
	CHECK(c->link_attr_count_limit >= 1 &&
	      c->link_attr_count_limit <= 65535);
	CHECK(c->attr_value_length_limit >= 1 &&
	      c->attr_value_length_limit <= 65535);
	CHECK(c->drainer_max_sleep_us >= 1 &&
	      c->drainer_max_sleep_us <= 1000000);
	CHECK((unsigned)c->sampler <= SR_SAMPLER_PARENTBASED_TRACEIDRATIO);
	CHECK(c->sampler_ratio >= 0.0 && c->sampler_ratio <= 1.0);
	CHECK(c->exporters != NULL);
}

static void check_resource(const struct sr__resource *r)
{
	CHECK(r->count >= 4);
	for (uint32_t i = 0; i < r->count; i++) {
		const sr_attr_view_t *a = &r->attrs[i];
		CHECK(a->type == SR_ATTR_STRING);
		CHECK(a->key.len > 0);
		CHECK(a->key.ptr >= r->strings && a->v.s.ptr >= r->strings);
		CHECK(a->key.ptr[a->key.len] == '\0');
		CHECK(a->v.s.ptr[a->v.s.len] == '\0');
		for (uint32_t j = 0; j < i; j++)
			CHECK(a->key.len != r->attrs[j].key.len ||
			      memcmp(a->key.ptr, r->attrs[j].key.ptr,
				     a->key.len) != 0);
	}
}

/* "NAME=value" strings handed to putenv(), owned here.  setenv() would
 * copy every value and glibc never frees the copies, so a long run would
 * grow without bound and end in libFuzzer's rss limit. */
static char *owned[NVARS];

static void put(size_t i, const char *value)
{
	size_t n = strlen(vars[i]), m = strlen(value);
	char *s = malloc(n + m + 2);

	if (s == NULL)
		abort();
	memcpy(s, vars[i], n);
	s[n] = '=';
	memcpy(s + n + 1, value, m + 1);
	putenv(s);
	owned[i] = s;
}

static void clear_all(void)
{
	for (size_t i = 0; i < NVARS; i++) {
		unsetenv(vars[i]);
		free(owned[i]);
		owned[i] = NULL;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	const char *p;
	struct sr__resource res;
	sr_config_t cfg, full;
	char why[160];
	int rc;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';

	if (memchr(buf, '\0', size) == NULL) {
		for (size_t i = 0; i < NVARS; i++)
			put(i, buf);
	} else {
		p = buf;
		for (size_t i = 0; i < NVARS && p <= buf + size; i++) {
			put(i, p);
			p += strlen(p) + 1;
		}
	}

	sr_config_init(&cfg);
	rc = sr_config_from_env(&cfg);
	CHECK(rc == 0 || rc == SR_EINVAL);
	CHECK(rc == 0 || sr_last_error()[0] != '\0');
	sr__config_copy(&full, &cfg);
	rc = sr__config_validate(&full);
	/* The OTEL_* and other SPANRING_* parsers never make a bad config
	 * (bad values are reported and ignored); SPANRING_BACKGROUND_*, read
	 * here, fail init on purpose, naming the variable. */
	CHECK(rc == 0 || (rc == SR_EINVAL &&
			  strstr(sr_last_error(), "SPANRING_BACKGROUND_") != NULL));
	if (rc != 0) {
		/* Without them, the rest must validate. */
		unsetenv("SPANRING_BACKGROUND_CPUS");
		unsetenv("SPANRING_BACKGROUND_SCHED");
		unsetenv("SPANRING_BACKGROUND_NICE");
		sr__config_copy(&full, &cfg);
		rc = sr__config_validate(&full);
		CHECK(rc == 0);
	}
	check_config(&full);

	rc = sr__resource_build(&res, &full);
	CHECK(rc == 0 || rc == SR_EINVAL);
	CHECK((rc == 0) == (sr__resource_attrs_check(full.resource_attributes,
						     why, sizeof(why)) == 0));
	check_resource(&res);
	sr__resource_free(&res);

	clear_all();
	free(buf);
	return 0;
}
