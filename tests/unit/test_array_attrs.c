/*
 * test_array_attrs.c - array attributes end to end: set from C on spans,
 * events and links (C arrays, lengths, element callbacks), kept through
 * the record and decoded as array views, with their limits (string
 * elements truncated at attr_value_length_limit, arrays too large for the
 * span dropped and counted, arrays spread over overflow chunks); then
 * written by every exporter: OTLP protobuf decoded by `protoc
 * --decode_raw`, OTLP/JSON (the file exporter) and chrome parsed by
 * jansson, Zipkin tags as JSON array text, console as [a, b].
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "otlp_int.h"
#include "testutil.h"
#include "zipkin_int.h"

static char dir[256], con_path[400], chrome_path[400], file_path[400];

static int setup(void **state)
{
	(void)state;
	if (sr_test_mkdtemp(dir, sizeof(dir), "arrays") != 0)
		return -1;
	snprintf(con_path, sizeof(con_path), "%s/console.txt", dir);
	snprintf(chrome_path, sizeof(chrome_path), "%s/trace.json", dir);
	snprintf(file_path, sizeof(file_path), "%s/spans.jsonl", dir);
	setenv("SPANRING_CONSOLE_OUTPUT", con_path, 1);
	setenv("SPANRING_CHROME_PATH", chrome_path, 1);
	setenv("SPANRING_FILE_PATH", file_path, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sr_shutdown(5000, NULL);
	unsetenv("SPANRING_CONSOLE_OUTPUT");
	unsetenv("SPANRING_CHROME_PATH");
	unsetenv("SPANRING_FILE_PATH");
	sr_test_rmtree(dir);
	return 0;
}

static void all_exporters(sr_config_t *cfg)
{
	cfg->exporters = "memory,console,chrome,file";
	cfg->attr_value_length_limit = 16;
	cfg->max_span_records = 8;
}

static const sr_attr_view_t *find(const sr_attr_view_t *a, uint32_t n,
				  const char *key)
{
	for (uint32_t i = 0; i < n; i++)
		if (a[i].key.len == strlen(key) &&
		    !memcmp(a[i].key.ptr, key, a[i].key.len))
			return &a[i];
	fail_msg("attribute %s missing", key);
	return NULL;
}

/* The elements of an array view as text: "1,2,3", "a|b", "T,F". */
static void elems(const sr_attr_view_t *a, char *out, size_t len)
{
	sr_array_iter_t it;
	sr_attr_view_t e;
	size_t n = 0;

	assert_int_equal(a->type, SR_ATTR_ARRAY);
	it = sr_array_begin(&a->v.a);
	out[0] = '\0';
	while (sr_array_next(&it, &e)) {
		if (n)
			n += (size_t)snprintf(out + n, len - n, "|");
		switch (e.type) {
		case SR_ATTR_BOOL:
			n += (size_t)snprintf(out + n, len - n, e.v.b ? "T" : "F");
			break;
		case SR_ATTR_INT:
			n += (size_t)snprintf(out + n, len - n, "%lld",
					      (long long)e.v.i);
			break;
		case SR_ATTR_DOUBLE:
			n += (size_t)snprintf(out + n, len - n, "%g", e.v.d);
			break;
		default:
			n += (size_t)snprintf(out + n, len - n, "%.*s",
					      (int)e.v.s.len, e.v.s.ptr);
			break;
		}
	}
}

static void expect_elems(const sr_attr_view_t *a, uint32_t n, const char *key,
			 sr_attr_type_t type, uint32_t count, const char *want)
{
	const sr_attr_view_t *v = find(a, n, key);
	char got[2048];

	assert_int_equal(v->type, SR_ATTR_ARRAY);
	assert_int_equal(v->v.a.type, type);
	assert_int_equal(v->v.a.count, count);
	elems(v, got, sizeof(got));
	assert_string_equal(got, want);
}

/* An element callback: "e0", "e1", ... as an int32 container would. */
static void get_int32(const void *ud, size_t i, sr_attr_t *elem)
{
	elem->v.i = ((const int32_t *)ud)[i];
}

static const int64_t ints[] = { 1, -2, INT64_MAX };
static const double dbls[] = { 0.5, -1e300 };
static const bool bools[] = { true, false, true };
static const char *const strs[] = { "GET", "", "a string past the limit" };
static const int32_t small[] = { 7, 8, 9, -1 };

static void record_one(void)
{
	sr_array_t ai = { .type = SR_ATTR_INT, .count = 3, .v.i = ints };
	sr_array_t ad = { .type = SR_ATTR_DOUBLE, .count = 2, .v.d = dbls };
	sr_array_t ab = { .type = SR_ATTR_BOOL, .count = 3, .v.b = bools };
	sr_array_t as = { .type = SR_ATTR_STRING, .count = 3, .v.s = strs };
	static const size_t lens[] = { 2, 0, 1 };
	sr_array_t asl = { .type = SR_ATTR_STRING, .count = 3, .v.s = strs,
			   .lens = lens };
	sr_array_t acb = { .type = SR_ATTR_INT, .count = 4, .get = get_int32,
			   .ud = small };
	sr_array_t empty = { .type = SR_ATTR_STRING, .count = 0 };
	sr_span_t s, other;
	sr_context_t oc;

	sr_span_start(&other, NULL, "other", SR_KIND_INTERNAL);
	oc = sr_span_context(&other);
	sr_span_end(&other);

	sr_span_start(&s, NULL, "arrays", SR_KIND_SERVER);
	sr_span_set_array(&s, "a.int", &ai);
	sr_span_set_array(&s, "a.dbl", &ad);
	sr_span_set_array(&s, "a.bool", &ab);
	sr_span_set_array(&s, "a.str", &as);
	sr_span_set_array(&s, "a.lens", &asl);
	sr_span_set_array(&s, "a.cb", &acb);
	sr_span_set_array(&s, "a.empty", &empty);
	sr_span_set_int(&s, "plain", 5);

	sr_attr_t ev[] = { SR_ATTR_ARRAY_("ev.ints", &ai), SR_ATTR_INT_("ev.n", 1) };
	sr_span_add_event(&s, "with-array", 0, ev, 2);
	sr_attr_t lk[] = { SR_ATTR_ARRAY_("link.strs", &asl) };
	sr_span_add_link(&s, &oc, lk, 1);
	sr_span_end(&s);
	assert_int_equal(sr_flush(10000, NULL), 0);
}

static void arrays_decode_on_spans_events_links(void **state)
{
	sr_stats_t st = { .size = sizeof(st) };

	(void)state;
	assert_int_equal(sr_test_init_memory(all_exporters), 0);
	record_one();
	const sr_span_data_t *d = sr_test_find_span("arrays");
	assert_non_null(d);
	expect_elems(d->attrs, d->attr_count, "a.int", SR_ATTR_INT, 3,
		     "1|-2|9223372036854775807");
	expect_elems(d->attrs, d->attr_count, "a.dbl", SR_ATTR_DOUBLE, 2,
		     "0.5|-1e+300");
	expect_elems(d->attrs, d->attr_count, "a.bool", SR_ATTR_BOOL, 3, "T|F|T");
	/* The third element is cut at the 16-byte value limit. */
	expect_elems(d->attrs, d->attr_count, "a.str", SR_ATTR_STRING, 3,
		     "GET||a string past th");
	expect_elems(d->attrs, d->attr_count, "a.lens", SR_ATTR_STRING, 3, "GE||a");
	expect_elems(d->attrs, d->attr_count, "a.cb", SR_ATTR_INT, 4, "7|8|9|-1");
	expect_elems(d->attrs, d->attr_count, "a.empty", SR_ATTR_STRING, 0, "");
	assert_int_equal(find(d->attrs, d->attr_count, "plain")->v.i, 5);
	assert_int_equal(d->event_count, 1);
	assert_int_equal(d->events[0].attr_count, 2);
	expect_elems(d->events[0].attrs, 2, "ev.ints", SR_ATTR_INT, 3,
		     "1|-2|9223372036854775807");
	assert_int_equal(d->link_count, 1);
	assert_int_equal(d->links[0].attr_count, 1);
	expect_elems(d->links[0].attrs, 1, "link.strs", SR_ATTR_STRING, 3, "GE||a");
	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(st.strings_truncated, 1);
	assert_int_equal(st.attrs_dropped, 0);
}

/* An array longer than the inline slots runs into overflow chunks; one
 * larger than max_span_records allows is dropped whole and counted. */
static void arrays_span_chunks_and_limits(void **state)
{
	static int64_t many[150];
	static int64_t too_many[400];
	sr_array_t a = { .type = SR_ATTR_INT, .count = 150, .v.i = many };
	sr_array_t b = { .type = SR_ATTR_INT, .count = 400, .v.i = too_many };
	sr_stats_t st = { .size = sizeof(st) };
	sr_span_t s;
	char want[2048], got[2048];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 150; i++) {
		many[i] = i * 1000 - 7;
		n += (size_t)snprintf(want + n, sizeof(want) - n, "%s%d",
				      i ? "|" : "", i * 1000 - 7);
	}
	assert_int_equal(sr_test_init_memory(all_exporters), 0);
	sr_span_start(&s, NULL, "big", SR_KIND_INTERNAL);
	sr_span_set_int(&s, "before", 1);
	sr_span_set_array(&s, "many", &a);          /* 1200 bytes: 38 slots */
	sr_span_set_array(&s, "too.many", &b);      /* 3200 bytes: past 8 records */
	sr_span_set_int(&s, "after", 2);
	sr_span_end(&s);
	assert_int_equal(sr_flush(10000, NULL), 0);
	const sr_span_data_t *d = sr_test_find_span("big");
	assert_non_null(d);
	elems(find(d->attrs, d->attr_count, "many"), got, sizeof(got));
	assert_string_equal(got, want);
	assert_int_equal(find(d->attrs, d->attr_count, "after")->v.i, 2);
	assert_int_equal(d->attr_count, 3);
	assert_int_equal(d->dropped_attr_count, 1);
	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(st.attrs_dropped, 1);
}

/* ---- protobuf, through protoc --decode_raw ---------------------------- */

static char *run_protoc(const char *body, size_t len)
{
	char path[512], cmd[1024];
	int fd;
	FILE *f;
	size_t cap = 1 << 16, n = 0, k;
	char *out;

	snprintf(path, sizeof(path), "%s/body.pb", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "%s --decode_raw < '%s'", SR_PROTOC, path);
	f = popen(cmd, "r");
	assert_non_null(f);
	out = malloc(cap);
	assert_non_null(out);
	while ((k = fread(out + n, 1, cap - n - 1, f)) > 0)
		n += k;
	out[n] = '\0';
	assert_int_equal(pclose(f), 0);
	return out;
}

/* The decode_raw text of one KeyValue whose key is `key`: from the
 * `1: "key"` line to the end of its value message. */
static char *kv_text(const char *text, const char *key)
{
	char needle[128];
	const char *p, *start, *end;

	snprintf(needle, sizeof(needle), "1: \"%s\"\n", key);
	p = strstr(text, needle);
	if (!p)
		fail_msg("key %s not in protoc output", key);
	start = p;
	while (start > text && start[-1] != '{')
		start--;
	/* The KeyValue message closes at the first '}' at its own depth. */
	int depth = 0;
	for (end = start; *end; end++) {
		if (*end == '{')
			depth++;
		if (*end == '}' && depth-- == 0)
			break;
	}
	while (*start == '\n' || *start == ' ')
		start++;
	return strndup(start, (size_t)(end - start));
}

/* Strip indentation: compare structure, not layout. */
static char *squash(const char *s)
{
	char *o = malloc(strlen(s) + 1), *q = o;
	bool bol = true;

	for (; *s; s++) {
		if (bol && *s == ' ')
			continue;
		bol = *s == '\n';
		*q++ = *s;
	}
	*q = '\0';
	return o;
}

static void otlp_protobuf_array_value(void **state)
{
	struct sr__otlp_enc e;
	const char *body;
	size_t len;
	sr_attr_view_t res = { .key = { "service.name", 12 }, .type = SR_ATTR_STRING,
			       .v.s = { "arrays", 6 } };

	(void)state;
	assert_int_equal(sr_test_init_memory(all_exporters), 0);
	record_one();
	const sr_span_data_t *d = sr_test_find_span("arrays");
	assert_non_null(d);
	sr__otlp_enc_init(&e, SR__OTLP_PROTOBUF);
	assert_int_equal(sr__otlp_encode(&e, &res, 1, d, 1, &body, &len), 0);
	char *text = run_protoc(body, len);

	/* KeyValue{1: key, 2: AnyValue{5: ArrayValue{1: AnyValue ...}}} */
	char *kv = kv_text(text, "a.int"), *sq = squash(kv);
	printf("# a.int as protoc --decode_raw prints it:\n%s\n", kv);
	assert_string_equal(sq, "1: \"a.int\"\n2 {\n5 {\n"
				"1 {\n3: 1\n}\n"
				"1 {\n3: 18446744073709551614\n}\n"
				"1 {\n3: 9223372036854775807\n}\n}\n}\n");
	free(kv), free(sq);
	kv = kv_text(text, "a.bool"), sq = squash(kv);
	assert_string_equal(sq, "1: \"a.bool\"\n2 {\n5 {\n"
				"1 {\n2: 1\n}\n1 {\n2: 0\n}\n1 {\n2: 1\n}\n}\n}\n");
	free(kv), free(sq);
	kv = kv_text(text, "a.dbl"), sq = squash(kv);
	assert_string_equal(sq, "1: \"a.dbl\"\n2 {\n5 {\n"
				"1 {\n4: 0x3fe0000000000000\n}\n"
				"1 {\n4: 0xfe37e43c8800759c\n}\n}\n}\n");
	free(kv), free(sq);
	kv = kv_text(text, "a.lens"), sq = squash(kv);
	printf("# a.lens:\n%s\n", kv);
	assert_string_equal(sq, "1: \"a.lens\"\n2 {\n5 {\n"
				"1 {\n1: \"GE\"\n}\n1 {\n1: \"\"\n}\n"
				"1 {\n1: \"a\"\n}\n}\n}\n");
	free(kv), free(sq);
	/* An empty array is an ArrayValue with no values. */
	kv = kv_text(text, "a.empty"), sq = squash(kv);
	assert_string_equal(sq, "1: \"a.empty\"\n2 {\n5: \"\"\n}\n");
	free(kv), free(sq);
	/* Event and link attributes take the same form. */
	kv = kv_text(text, "ev.ints");
	assert_non_null(strstr(kv, "5 {"));
	free(kv);
	kv = kv_text(text, "link.strs");
	assert_non_null(strstr(kv, "5 {"));
	free(kv);
	free(text);
	sr__otlp_enc_free(&e);
}

/* ---- JSON exporters --------------------------------------------------- */

static json_t *otlp_json_value(json_t *attrs, const char *key)
{
	size_t i;
	json_t *kv;

	json_array_foreach(attrs, i, kv)
		if (!strcmp(json_string_value(json_object_get(kv, "key")), key))
			return json_object_get(kv, "value");
	fail_msg("OTLP/JSON attribute %s missing", key);
	return NULL;
}

static void otlp_json_file_and_chrome_arrays(void **state)
{
	json_error_t err;
	char *text;
	size_t len;

	(void)state;
	assert_int_equal(sr_test_init_memory(all_exporters), 0);
	record_one();
	assert_int_equal(sr_shutdown(5000, NULL), 0);

	/* file exporter: OTLP/JSON arrayValue. */
	text = sr_test_read_file(file_path, &len);
	assert_non_null(text);
	json_t *root = json_loads(strstr(text, "{\"resourceSpans\""), JSON_DISABLE_EOF_CHECK, &err);
	assert_non_null(root);
	json_t *span = NULL, *spans = json_object_get(json_array_get(json_object_get(
		json_array_get(json_object_get(root, "resourceSpans"), 0), "scopeSpans"), 0),
		"spans");
	size_t i;
	json_t *sp;
	json_array_foreach(spans, i, sp)
		if (!strcmp(json_string_value(json_object_get(sp, "name")), "arrays"))
			span = sp;
	assert_non_null(span);
	json_t *v = otlp_json_value(json_object_get(span, "attributes"), "a.int");
	json_t *vals = json_object_get(json_object_get(v, "arrayValue"), "values");
	assert_int_equal(json_array_size(vals), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(vals, 1),
							     "intValue")), "-2");
	v = otlp_json_value(json_object_get(span, "attributes"), "a.str");
	vals = json_object_get(json_object_get(v, "arrayValue"), "values");
	assert_string_equal(json_string_value(json_object_get(json_array_get(vals, 2),
							     "stringValue")), "a string past th");
	v = otlp_json_value(json_object_get(span, "attributes"), "a.bool");
	vals = json_object_get(json_object_get(v, "arrayValue"), "values");
	assert_true(json_is_false(json_object_get(json_array_get(vals, 1), "boolValue")));
	json_decref(root);
	free(text);

	/* chrome: args.attributes holds plain JSON arrays. */
	root = json_load_file(chrome_path, 0, &err);
	assert_non_null(root);
	json_t *ev, *found = NULL;
	json_array_foreach(json_object_get(root, "traceEvents"), i, ev) {
		const char *name = json_string_value(json_object_get(ev, "name"));
		if (name && !strcmp(name, "arrays") &&
		    json_object_get(json_object_get(ev, "args"), "attributes"))
			found = json_object_get(json_object_get(ev, "args"), "attributes");
	}
	assert_non_null(found);
	json_t *arr = json_object_get(found, "a.dbl");
	assert_true(json_is_array(arr));
	assert_true(json_real_value(json_array_get(arr, 0)) == 0.5);
	arr = json_object_get(found, "a.str");
	assert_string_equal(json_string_value(json_array_get(arr, 0)), "GET");
	assert_true(json_is_true(json_array_get(json_object_get(found, "a.bool"), 0)));
	json_decref(root);

	/* console: key=[a, b]. */
	text = sr_test_read_file(con_path, &len);
	assert_non_null(text);
	assert_non_null(strstr(text, "a.int=[1, -2, 9223372036854775807]"));
	assert_non_null(strstr(text, "a.bool=[true, false, true]"));
	/* Strings quoted only where a bare one would be ambiguous. */
	assert_non_null(strstr(text, "a.lens=[GE, \"\", a]"));
	assert_non_null(strstr(text, "a.str=[GET, \"\", \"a string past th\"]"));
	assert_non_null(strstr(text, "a.empty=[]"));
	free(text);
}

static void zipkin_tags_are_json_array_text(void **state)
{
	struct sr__zipkin_enc e;
	const char *body;
	size_t len;
	json_error_t err;

	(void)state;
	assert_int_equal(sr_test_init_memory(all_exporters), 0);
	record_one();
	const sr_span_data_t *d = sr_test_find_span("arrays");
	assert_non_null(d);
	sr__zipkin_enc_init(&e);
	sr__zipkin_enc_begin(&e, NULL, 0);
	sr__zipkin_enc_add(&e, d);
	assert_int_equal(sr__zipkin_enc_finish(&e, &body, &len), 0);
	json_t *root = json_loadb(body, len, 0, &err);
	assert_non_null(root);
	json_t *tags = json_object_get(json_array_get(root, 0), "tags");
	assert_string_equal(json_string_value(json_object_get(tags, "a.int")),
			    "[1,-2,9223372036854775807]");
	assert_string_equal(json_string_value(json_object_get(tags, "a.bool")),
			    "[true,false,true]");
	assert_string_equal(json_string_value(json_object_get(tags, "a.lens")),
			    "[\"GE\",\"\",\"a\"]");
	assert_string_equal(json_string_value(json_object_get(tags, "a.empty")), "[]");
	json_decref(root);
	sr__zipkin_enc_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(arrays_decode_on_spans_events_links,
						setup, teardown),
		cmocka_unit_test_setup_teardown(arrays_span_chunks_and_limits,
						setup, teardown),
		cmocka_unit_test_setup_teardown(otlp_protobuf_array_value, setup,
						teardown),
		cmocka_unit_test_setup_teardown(otlp_json_file_and_chrome_arrays,
						setup, teardown),
		cmocka_unit_test_setup_teardown(zipkin_tags_are_json_array_text,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
