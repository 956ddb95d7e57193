/*
 * test_resource.c - resource attributes (core/resource.c): defaults,
 * precedence, OTEL_RESOURCE_ATTRIBUTES parsing and decoding, malformed
 * entries, and memory through the pipeline allocator.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config_int.h"
#include "spanring_int.h"
#include "testutil.h"

static const sr_attr_view_t *find(const struct sr__resource *r,
				  const char *key)
{
	for (uint32_t i = 0; i < r->count; i++)
		if (r->attrs[i].key.len == strlen(key) &&
		    memcmp(r->attrs[i].key.ptr, key, r->attrs[i].key.len) == 0)
			return &r->attrs[i];
	return NULL;
}

static void assert_attr(const struct sr__resource *r, const char *key,
			const char *value)
{
	const sr_attr_view_t *a = find(r, key);

	if (a == NULL)
		fail_msg("no attribute '%s'", key);
	assert_int_equal(a->type, SR_ATTR_STRING);
	if (a->v.s.len != strlen(value) ||
	    memcmp(a->v.s.ptr, value, a->v.s.len) != 0)
		fail_msg("%s = '%.*s', want '%s'", key, (int)a->v.s.len,
			 a->v.s.ptr, value);
	/* Values are NUL-terminated too, for exporters that want C strings. */
	assert_int_equal(a->v.s.ptr[a->v.s.len], '\0');
	assert_int_equal(a->key.ptr[a->key.len], '\0');
}

static int build(struct sr__resource *r, const char *service,
		 const char *attrs)
{
	sr_config_t cfg;

	sr_config_init(&cfg);
	cfg.service_name = service;
	cfg.resource_attributes = attrs;
	return sr__resource_build(r, &cfg);
}

/* ---- allocator that counts and can fail -------------------------------- */

static struct {
	long live_blocks;
	long long live_bytes;
	int allocs;
	int fail_at; /* fail the n-th allocation (1-based), 0 = never */
} mem;

static void *count_alloc(void *ud, size_t size, size_t align)
{
	void *p = NULL;

	(void)ud;
	mem.allocs++;
	if (mem.fail_at != 0 && mem.allocs == mem.fail_at)
		return NULL;
	if (posix_memalign(&p, align, size) != 0)
		return NULL;
	mem.live_blocks++;
	mem.live_bytes += (long long)size;
	return p;
}

static void count_free(void *ud, void *ptr, size_t size)
{
	(void)ud;
	mem.live_blocks--;
	mem.live_bytes -= (long long)size;
	free(ptr);
}

static const sr_allocator_t counting = { count_alloc, count_free, NULL };

static int use_counting(void **state)
{
	(void)state;
	memset(&mem, 0, sizeof(mem));
	sr__alloc_configure(&counting);
	return 0;
}

static int use_default(void **state)
{
	(void)state;
	sr__alloc_configure(NULL);
	return 0;
}

/* ---- tests ------------------------------------------------------------ */

static void test_defaults(void **state)
{
	struct sr__resource r;
	char want[300];

	(void)state;
	assert_int_equal(build(&r, NULL, NULL), 0);
	assert_int_equal(r.count, 4);
	assert_attr(&r, "telemetry.sdk.name", "spanring");
	assert_attr(&r, "telemetry.sdk.language", "c");
	assert_attr(&r, "telemetry.sdk.version", sr_version());
	snprintf(want, sizeof(want), "unknown_service:%s",
		 program_invocation_short_name);
	assert_string_equal(program_invocation_short_name, "test_resource");
	assert_attr(&r, "service.name", want);
	sr__resource_free(&r);
	assert_null(r.attrs);
	assert_int_equal(r.count, 0);
}

static void test_service_name_wins_over_attributes(void **state)
{
	struct sr__resource r;

	(void)state;
	assert_int_equal(build(&r, "checkout", "service.name=cart,a=1"), 0);
	assert_attr(&r, "service.name", "checkout");
	assert_attr(&r, "a", "1");
	assert_int_equal(r.count, 5);
	sr__resource_free(&r);

	assert_int_equal(build(&r, NULL, "service.name=cart"), 0);
	assert_attr(&r, "service.name", "cart");
	assert_int_equal(r.count, 4);
	sr__resource_free(&r);

	/* An empty service name is no service name. */
	assert_int_equal(build(&r, "", "service.name=cart"), 0);
	assert_attr(&r, "service.name", "cart");
	sr__resource_free(&r);
}

static void test_attributes_are_trimmed_and_percent_decoded(void **state)
{
	struct sr__resource r;

	(void)state;
	assert_int_equal(build(&r, NULL,
			       " a=1 ,\tb = two words ,c=x%2Cy%3Dz,%6B%65y=v,"
			       "deployment.environment=prod%20eu,u=%E2%82%AC"),
			 0);
	assert_attr(&r, "a", "1");
	assert_attr(&r, "b", "two words");
	assert_attr(&r, "c", "x,y=z");
	assert_attr(&r, "key", "v");
	assert_attr(&r, "deployment.environment", "prod eu");
	assert_attr(&r, "u", "\xe2\x82\xac");
	assert_int_equal(r.count, 4 + 6);
	sr__resource_free(&r);
}

static void test_raw_equals_in_value_and_empty_value(void **state)
{
	struct sr__resource r;

	(void)state;
	assert_int_equal(build(&r, NULL, "k=a=b,empty=,plus=a+b"), 0);
	assert_attr(&r, "k", "a=b");
	assert_attr(&r, "empty", "");
	assert_attr(&r, "plus", "a+b"); /* '+' is not a space here */
	sr__resource_free(&r);
}

static void test_later_duplicates_replace_earlier(void **state)
{
	struct sr__resource r;

	(void)state;
	assert_int_equal(build(&r, NULL, "a=1,b=2,a=3,a%3D=4,a=5"), 0);
	assert_attr(&r, "a", "5");
	assert_attr(&r, "b", "2");
	assert_attr(&r, "a=", "4");
	assert_int_equal(r.count, 4 + 3);
	/* Attributes keep the order of first appearance. */
	assert_string_equal(r.attrs[4].key.ptr, "a");
	assert_string_equal(r.attrs[5].key.ptr, "b");
	sr__resource_free(&r);
}

static void test_sdk_attributes_can_be_overridden(void **state)
{
	struct sr__resource r;

	(void)state;
	/* Resource.merge semantics: the user's value wins. */
	assert_int_equal(build(&r, NULL, "telemetry.sdk.name=custom"), 0);
	assert_attr(&r, "telemetry.sdk.name", "custom");
	assert_int_equal(r.count, 4);
	sr__resource_free(&r);
}

static void test_empty_entries_are_ignored(void **state)
{
	struct sr__resource r;

	(void)state;
	assert_int_equal(build(&r, NULL, ",a=1,, ,b=2,"), 0);
	assert_attr(&r, "a", "1");
	assert_attr(&r, "b", "2");
	assert_int_equal(r.count, 6);
	sr__resource_free(&r);

	assert_int_equal(build(&r, NULL, ""), 0);
	assert_int_equal(r.count, 4);
	sr__resource_free(&r);
}

static void test_malformed_entries_are_skipped_and_reported(void **state)
{
	struct sr__resource r;

	(void)state;
	assert_int_equal(build(&r, NULL,
			       "a=1,bad,b=2,=x,c=%zz,d=%4,e=%,%g=1,f=ok"),
			 SR_EINVAL);
	assert_attr(&r, "a", "1");
	assert_attr(&r, "b", "2");
	assert_attr(&r, "f", "ok");
	assert_null(find(&r, "bad"));
	assert_null(find(&r, ""));
	assert_null(find(&r, "c"));
	assert_null(find(&r, "d"));
	assert_null(find(&r, "e"));
	assert_int_equal(r.count, 4 + 3);
	assert_non_null(strstr(sr_last_error(), "entry 'bad': no '='"));
	assert_non_null(strstr(sr_last_error(), "6 malformed entries"));
	sr__resource_free(&r);
}

static void test_percent_nul_is_kept_by_length(void **state)
{
	struct sr__resource r;
	const sr_attr_view_t *a;

	(void)state;
	assert_int_equal(build(&r, NULL, "z=a%00b"), 0);
	a = find(&r, "z");
	assert_non_null(a);
	assert_int_equal(a->v.s.len, 3);
	assert_memory_equal(a->v.s.ptr, "a\0b", 3);
	sr__resource_free(&r);
}

static void test_check_matches_build(void **state)
{
	static const char *const inputs[] = {
		"a=1", "a", "a=%", "=1", " , ", "a=1,b", "k=%41%42", "%zz=1",
	};
	char why[128];

	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct sr__resource r;
		int c = sr__resource_attrs_check(inputs[i], why, sizeof(why));
		int b = build(&r, NULL, inputs[i]);

		assert_int_equal(c, b);
		assert_true(c == 0 ? why[0] == '\0' : strstr(why, "entry") != NULL);
		sr__resource_free(&r);
	}
	assert_int_equal(sr__resource_attrs_check(NULL, why, sizeof(why)), 0);
}

/* Many entries, random escapes and blanks: exercises the size bound
 * (ASan catches an overrun) and the decoding against a model. */
static void test_large_random_input(void **state)
{
	enum { N = 3000 };
	static char input[N * 40];
	static char keys[N][16], vals[N][8];
	uint64_t st = sr_test_seed(0xa77a77);
	struct sr__resource r;
	size_t o = 0;

	(void)state;
	for (int i = 0; i < N; i++) {
		uint64_t x = sr_test_rand(&st);
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		for (int j = 0; j < 7; j++)
			vals[i][j] = (char)('a' + (x >> (j * 5)) % 26);
		vals[i][7] = '\0';
		o += (size_t)sprintf(input + o, "%s%s=", (x & 1) ? " " : "",
				     keys[i]);
		for (int j = 0; j < 7; j++) {
			if ((x >> (40 + j)) & 1)
				o += (size_t)sprintf(input + o, "%%%02X",
						     (unsigned char)vals[i][j]);
			else
				input[o++] = vals[i][j];
		}
		o += (size_t)sprintf(input + o, "%s,", (x & 2) ? "\t" : "");
	}
	input[o] = '\0';
	assert_int_equal(build(&r, NULL, input), 0);
	assert_int_equal(r.count, 4 + N);
	for (int i = 0; i < N; i++)
		assert_attr(&r, keys[i], vals[i]);
	sr__resource_free(&r);
}

static void test_one_block_from_pipeline_allocator(void **state)
{
	struct sr__resource r;

	(void)state;
	assert_int_equal(build(&r, "svc", "a=1,b=2,c=3"), 0);
	assert_int_equal(mem.allocs, 1);
	assert_int_equal(mem.live_blocks, 1);
	sr__resource_free(&r);
	assert_int_equal(mem.live_blocks, 0);
	assert_int_equal(mem.live_bytes, 0); /* free got the size back */
	sr__resource_free(&r);              /* twice: harmless */
	sr__resource_free(NULL);
	assert_int_equal(mem.live_blocks, 0);
}

static void test_allocation_failure_is_enomem(void **state)
{
	struct sr__resource r;

	(void)state;
	mem.fail_at = 1;
	assert_int_equal(build(&r, "svc", "a=1"), SR_ENOMEM);
	assert_null(r.attrs);
	assert_int_equal(r.count, 0);
	assert_int_equal(mem.live_blocks, 0);
	sr__resource_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_service_name_wins_over_attributes),
		cmocka_unit_test(test_attributes_are_trimmed_and_percent_decoded),
		cmocka_unit_test(test_raw_equals_in_value_and_empty_value),
		cmocka_unit_test(test_later_duplicates_replace_earlier),
		cmocka_unit_test(test_sdk_attributes_can_be_overridden),
		cmocka_unit_test(test_empty_entries_are_ignored),
		cmocka_unit_test(test_malformed_entries_are_skipped_and_reported),
		cmocka_unit_test(test_percent_nul_is_kept_by_length),
		cmocka_unit_test(test_check_matches_build),
		cmocka_unit_test(test_large_random_input),
		cmocka_unit_test_setup_teardown(
			test_one_block_from_pipeline_allocator, use_counting,
			use_default),
		cmocka_unit_test_setup_teardown(test_allocation_failure_is_enomem,
						use_counting, use_default),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
