/*
 * test_exporters_builtin.c - the built-in exporters: console (tree layout,
 * fields, escaping, output selection), memory (deep copy, capacity,
 * clear/reset, concurrent readers) and none.
 *
 * Console tests send the output to a file in a fresh temporary directory
 * (SPANRING_CONSOLE_OUTPUT) and read it back after sr_shutdown().  They
 * use a long schedule delay so that the spans of a test reach the
 * exporter in the one batch sr_flush() cuts: the tree is per batch.
 * memory_concurrent_reader reads the store while the exporter worker
 * appends to it, hence the TSan label.
 */
// SR_TEST_LABELS: concurrency
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exporter_int.h"
#include "testutil.h"

static char tmpdir[256];
static char out_path[300];

/* ---- helpers ------------------------------------------------------------ */

static int group_setup(void **state)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/spanring-test-XXXXXX",
		 base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(out_path, sizeof(out_path), "%s/console.txt", tmpdir);
	setenv("NO_COLOR", "1", 1);
	return 0;
}

static int group_teardown(void **state)
{
	unlink(out_path);
	rmdir(tmpdir);
	return 0;
}

static int test_setup(void **state)
{
	unlink(out_path);
	unsetenv("SPANRING_CONSOLE_OUTPUT");
	unsetenv("SPANRING_MEMORY_CAPACITY");
	return 0;
}

static int test_teardown(void **state)
{
	if (sr_is_running())
		sr_shutdown(5000, NULL);
	return 0;
}

static void one_batch(sr_config_t *cfg)
{
	cfg->schedule_delay_ms = 60000;
	cfg->max_export_batch_size = 512;
}

static void console_one_batch(sr_config_t *cfg)
{
	one_batch(cfg);
	cfg->exporters = "console";
}

/* Flush and shut down, asserting the accounting invariant. */
static sr_stats_t finish(void)
{
	sr_stats_t st = { .size = sizeof(st) };
	uint64_t lost = 1;

	assert_int_equal(sr_flush(10000, NULL), 0);
	assert_int_equal(sr_shutdown(10000, &lost), 0);
	assert_int_equal(lost, 0);
	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(sr_test_check_invariant(&st), 0);
	return st;
}

/* The whole file, NUL-terminated; *len gets its size. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

/* Index of the first line starting with `prefix`, or -1. */
static int find_line(char **lines, int n, const char *prefix)
{
	size_t len = strlen(prefix);

	for (int i = 0; i < n; i++)
		if (strncmp(lines[i], prefix, len) == 0)
			return i;
	return -1;
}

/* Split `text` in place; returns the number of lines. */
static int split_lines(char *text, char **lines, int max)
{
	int n = 0;

	for (char *p = text; *p && n < max;) {
		char *nl = strchr(p, '\n');

		lines[n++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	return n;
}

static void short_span_id(const sr_context_t *ctx, char out[9])
{
	char hex[17];

	sr_context_span_id_hex(ctx, hex);
	memcpy(out, hex, 8);
	out[8] = '\0';
}

static void ctx_with(sr_context_t *ctx, const uint8_t trace_id[16],
		     uint64_t span_id, bool remote)
{
	memset(ctx, 0, sizeof(*ctx));
	memcpy(ctx->trace_id, trace_id, 16);
	for (int i = 0; i < 8; i++)
		ctx->span_id[i] = (uint8_t)(span_id >> (56 - 8 * i));
	ctx->trace_flags = SR_TRACE_FLAG_SAMPLED;
	ctx->remote = remote;
}

/* ---- console ------------------------------------------------------------ */

static void console_prints_tree_with_fields(void **state)
{
	sr_span_t root, db, sock, render, orphan, remote, fast, slow;
	sr_context_t root_ctx, orphan_parent, remote_parent;
	sr_scope_t s1, s2;
	char root_id[9], db_id[9], line[256], trace_hex[33];
	char *lines[64];
	int n, i_root, i_db, i_retry, i_exc, i_sock, i_render, i_link, i_hdr;
	static const uint8_t other_trace[16] = { 0xab, 0xcd, 1, 2, 3, 4, 5, 6,
						 7, 8, 9, 10, 11, 12, 13, 14 };
	uint64_t t0;
	char *text;

	setenv("SPANRING_CONSOLE_OUTPUT", out_path, 1);
	assert_int_equal(sr_test_init_memory(console_one_batch), 0);

	sr_span_start(&root, NULL, "GET /users", SR_KIND_SERVER);
	sr_span_set_str_static(&root, "http.request.method", "GET");
	sr_span_set_int(&root, "http.response.status_code", 500);
	sr_span_set_bool(&root, "cache.hit", false);
	sr_span_set_double(&root, "ratio", 0.5);
	sr_span_set_double(&root, "whole", 3.0);
	sr_span_set_str(&root, "note", "two words");
	sr_span_set_status(&root, SR_STATUS_ERROR, "boom \"quoted\"");
	root_ctx = sr_span_context(&root);
	s1 = sr_scope_enter(&root);

	sr_span_start(&db, NULL, "db.query", SR_KIND_CLIENT);
	{
		sr_attr_t a[] = { SR_ATTR_INT_("attempt", 2) };
		sr_span_add_event(&db, "retry", 0, a, 1);
	}
	sr_span_record_error(&db, "Timeout", "took too long");
	s2 = sr_scope_enter(&db);
	sr_span_start(&sock, NULL, "socket.read", SR_KIND_INTERNAL);
	sr_span_end(&sock);
	assert_int_equal(sr_scope_exit(s2), 0);
	sr_span_end(&db);

	sr_span_start(&render, NULL, "render", SR_KIND_INTERNAL);
	ctx_with(&orphan_parent, root_ctx.trace_id, 0x1122334455667788ull,
		 false);
	sr_span_add_link(&render, &orphan_parent, NULL, 0);
	sr_span_end(&render);
	assert_int_equal(sr_scope_exit(s1), 0);
	sr_span_end(&root);

	/* Parent in the same trace but not in the batch. */
	sr_span_start_ex(&orphan, NULL, "orphan", SR_KIND_INTERNAL,
			 &orphan_parent, 0, 0);
	sr_span_end(&orphan);
	/* Parent in another process. */
	ctx_with(&remote_parent, other_trace, 0x99aabbccddeeff00ull, true);
	sr_span_start_ex(&remote, NULL, "remote.child", SR_KIND_SERVER,
			 &remote_parent, 0, 0);
	sr_span_end(&remote);
	/* Durations with explicit times. */
	t0 = sr_now_ns();
	sr_span_start_ex(&fast, NULL, "fixed.1500ns", SR_KIND_INTERNAL, NULL,
			 t0, SR_SPAN_ROOT);
	sr_span_end_at(&fast, t0 + 1500);
	sr_span_start_ex(&slow, NULL, "fixed.2500us", SR_KIND_INTERNAL, NULL,
			 t0, SR_SPAN_ROOT);
	sr_span_end_at(&slow, t0 + 2500000);
	finish();

	text = slurp(out_path, NULL);
	assert_null(strchr(text, '\033')); /* not a terminal: no colours */
	n = split_lines(text, lines, 64);
	short_span_id(&root_ctx, root_id);
	{
		sr_context_t c = sr_span_context(&db);
		short_span_id(&c, db_id);
	}
	sr_context_trace_id_hex(&root_ctx, trace_hex);

	/* root, db.query, socket.read, render, orphan: one trace of 5. */
	snprintf(line, sizeof(line), "trace %s  5 spans", trace_hex);
	i_hdr = find_line(lines, n, line);
	assert_true(i_hdr >= 0);
	assert_string_equal(lines[i_hdr], line);

	i_root = find_line(lines, n, "GET /users  SERVER ");
	assert_int_equal(i_root, i_hdr + 1);
	assert_non_null(strstr(lines[i_root], " ERROR(\"boom \\\"quoted\\\"\")"));
	snprintf(line, sizeof(line), " span=%s tid=", root_id);
	assert_non_null(strstr(lines[i_root], line));
	assert_non_null(strstr(lines[i_root], " http.request.method=GET"));
	assert_non_null(strstr(lines[i_root], " http.response.status_code=500"));
	assert_non_null(strstr(lines[i_root], " cache.hit=false"));
	assert_non_null(strstr(lines[i_root], " ratio=0.5"));
	assert_non_null(strstr(lines[i_root], " whole=3.0"));
	assert_non_null(strstr(lines[i_root], " note=\"two words\""));

	/* Children one level in, in start order; events under their span. */
	i_db = find_line(lines, n, "  db.query  CLIENT ");
	assert_int_equal(i_db, i_root + 1);
	assert_non_null(strstr(lines[i_db], " ERROR(\"took too long\")"));
	snprintf(line, sizeof(line), " span=%s ", db_id);
	assert_non_null(strstr(lines[i_db], line));
	i_retry = find_line(lines, n, "    | event +");
	assert_int_equal(i_retry, i_db + 1);
	assert_non_null(strstr(lines[i_retry], " retry attempt=2"));
	i_exc = i_retry + 1;
	assert_non_null(strstr(lines[i_exc], " exception exception.type=Timeout"));
	assert_non_null(strstr(lines[i_exc], "exception.message=\"took too long\""));
	i_sock = find_line(lines, n, "    socket.read  INTERNAL ");
	assert_int_equal(i_sock, i_exc + 1);
	i_render = find_line(lines, n, "  render  INTERNAL ");
	assert_int_equal(i_render, i_sock + 1);
	i_link = find_line(lines, n, "    | link trace=");
	assert_int_equal(i_link, i_render + 1);
	snprintf(line, sizeof(line), "    | link trace=%.16s span=11223344",
		 trace_hex);
	assert_string_equal(lines[i_link], line);

	/* Parent outside the batch: a root of its own, marked. */
	assert_int_equal(find_line(lines, n, "^11223344 orphan  INTERNAL "),
			 i_link + 1);
	assert_true(find_line(lines, n, "^99aabbcc remote remote.child  SERVER ")
		    >= 0);
	assert_true(find_line(lines, n, "trace abcd0102030405060708090a0b0c0d0e  1 span")
		    >= 0);
	assert_true(find_line(lines, n, "fixed.1500ns  INTERNAL 1.5\xc2\xb5s span=")
		    >= 0);
	assert_true(find_line(lines, n, "fixed.2500us  INTERNAL 2.50ms span=")
		    >= 0);
	/* 8 spans, 4 trace headers, 2 events, 1 link. */
	assert_int_equal(n, 8 + 4 + 2 + 1);
	free(text);
}

static void console_escapes_hostile_strings(void **state)
{
	char big[1001], name[] = "line1\nline2", *text, *lines[16], *p;
	sr_span_t s;
	size_t len;
	int n, i;

	memset(big, 'a', 1000);
	big[1000] = '\0';
	setenv("SPANRING_CONSOLE_OUTPUT", out_path, 1);
	assert_int_equal(sr_test_init_memory(console_one_batch), 0);
	sr_span_start_ex(&s, NULL, name, SR_KIND_INTERNAL, NULL, 0,
			 SR_SPAN_NAME_COPY);
	sr_span_set_str(&s, "evil", "\033[31mred\n\xff\xc2\x9b\xc3\xa9=");
	sr_span_set_str(&s, "big", big);
	sr_span_set_str(&s, "empty", "");
	sr_span_end(&s);
	finish();

	text = slurp(out_path, &len);
	/* No raw control, invalid or C1 byte reached the output. */
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)text[k];
		assert_true(c >= 0x20 || c == '\n');
		assert_true(c != 0x7f && c != 0xff);
		if (c == 0xc2)
			assert_true((unsigned char)text[k + 1] != 0x9b);
	}
	n = split_lines(text, lines, 16);
	assert_int_equal(n, 2); /* header + one span line */
	i = find_line(lines, n, "line1\\nline2  INTERNAL ");
	assert_int_equal(i, 1);
	assert_non_null(strstr(lines[i],
		" evil=\"\\x1b[31mred\\n\\xff\\u009b\xc3\xa9=\""));
	assert_non_null(strstr(lines[i], " empty=\"\""));
	p = strstr(lines[i], " big=");
	assert_non_null(p);
	p += 5;
	assert_int_equal(strspn(p, "a"), 256);
	assert_memory_equal(p + 256, "...(1000 bytes) ", 16);
	free(text);
}

static void console_output_selection(void **state)
{
	char bad[400], err[256] = "";
	sr_config_t cfg;
	void *st = NULL;

	sr_config_init(&cfg);
	snprintf(bad, sizeof(bad), "%s/missing-dir/out.txt", tmpdir);
	setenv("SPANRING_CONSOLE_OUTPUT", bad, 1);
	assert_int_equal(sr__exporter_console.create(NULL, &cfg, &st, err,
						     sizeof(err)),
			 SR_EIO);
	assert_non_null(strstr(err, "SPANRING_CONSOLE_OUTPUT"));
	assert_non_null(strstr(err, bad));

	/* Through sr_init: the other exporter still runs, the error says
	 * which variable is wrong. */
	{
		sr_config_t c2;

		sr_config_init(&c2);
		c2.exporters = "console,memory";
		assert_int_equal(sr_init(&c2), SR_EIO);
		assert_true(sr_is_running());
		assert_non_null(strstr(sr_last_error(), "SPANRING_CONSOLE_OUTPUT"));
		assert_int_equal(sr_shutdown(1000, NULL), 0);
	}

	static const char *const good[] = { "stdout", "stderr", "", NULL };
	for (int i = 0; good[i]; i++) {
		setenv("SPANRING_CONSOLE_OUTPUT", good[i], 1);
		st = NULL;
		assert_int_equal(sr__exporter_console.create(NULL, &cfg, &st,
							     err, sizeof(err)),
				 0);
		assert_non_null(st);
		sr__exporter_console.destroy(st, 0);
	}
	setenv("SPANRING_CONSOLE_OUTPUT", out_path, 1);
	assert_int_equal(sr__exporter_console.create(NULL, &cfg, &st, err,
						     sizeof(err)),
			 0);
	sr__exporter_console.destroy(st, 0);
	assert_int_equal(access(out_path, F_OK), 0); /* created, appended to */
}

/* Deeper than the indentation cap: the depth is printed instead. */
static void console_caps_indentation(void **state)
{
	enum { DEPTH = 40 };
	sr_span_t spans[DEPTH];
	sr_scope_t scopes[DEPTH];
	char *text, *lines[DEPTH + 4], expect[128];
	int n;

	setenv("SPANRING_CONSOLE_OUTPUT", out_path, 1);
	assert_int_equal(sr_test_init_memory(console_one_batch), 0);
	for (int i = 0; i < DEPTH; i++) {
		sr_span_start(&spans[i], NULL, "level", SR_KIND_INTERNAL);
		scopes[i] = sr_scope_enter(&spans[i]);
	}
	for (int i = DEPTH - 1; i >= 0; i--) {
		assert_int_equal(sr_scope_exit(scopes[i]), 0);
		sr_span_end(&spans[i]);
	}
	finish();

	text = slurp(out_path, NULL);
	n = split_lines(text, lines, DEPTH + 4);
	assert_int_equal(n, DEPTH + 1);
	assert_int_equal(find_line(lines, n, "level  INTERNAL "), 1);
	/* Line i+1 holds depth i: 2*min(i, 32) spaces, then the marker. */
	assert_true(strncmp(lines[33], "                                "
				       "                                level  ",
			    71) == 0);
	snprintf(expect, sizeof(expect), "%64s[depth 39] level  INTERNAL ", "");
	assert_true(strncmp(lines[DEPTH], expect, strlen(expect)) == 0);
	free(text);
}

static void console_big_ring(sr_config_t *cfg)
{
	console_one_batch(cfg);
	cfg->ring_records = 8192;
	cfg->overflow_records = 8192;
}

/* A batch whose text is larger than the output buffer (escaping makes
 * each value's text 4x its bytes) goes out in several writes, with
 * nothing lost or cut. */
static void console_large_batch_is_complete(void **state)
{
	enum { SPANS = 500, VLEN = 250 };
	char value[VLEN + 1], expect[4 * VLEN + 8], *text, **lines;
	sr_span_t s;
	size_t len;
	int n;

	memset(value, 1, VLEN);
	value[VLEN] = '\0';
	strcpy(expect, "=\"");
	for (int i = 0; i < VLEN; i++)
		strcat(expect, "\\x01");
	strcat(expect, "\"");
	setenv("SPANRING_CONSOLE_OUTPUT", out_path, 1);
	assert_int_equal(sr_test_init_memory(console_big_ring), 0);
	for (int i = 0; i < SPANS; i++) {
		sr_span_start_ex(&s, NULL, "big", SR_KIND_INTERNAL, NULL, 0,
				 SR_SPAN_ROOT);
		sr_span_set_int(&s, "seq", i);
		sr_span_set_str(&s, "a", value);
		sr_span_set_str(&s, "b", value);
		sr_span_set_str(&s, "c", value);
		sr_span_end(&s);
	}
	{
		sr_stats_t st = finish();

		assert_int_equal(st.exported, SPANS);
		/* At least one batch carried more than a buffer of text. */
		assert_true(st.batches < SPANS * 3 * 4 * VLEN / (256 * 1024));
	}

	text = slurp(out_path, &len);
	lines = calloc(2 * SPANS + 1, sizeof(*lines));
	assert_non_null(lines);
	n = split_lines(text, lines, 2 * SPANS + 1);
	assert_int_equal(n, 2 * SPANS); /* one trace header per span */
	for (int i = 0; i < SPANS; i++) {
		char seq[32];

		assert_true(strncmp(lines[2 * i], "trace ", 6) == 0);
		assert_true(strncmp(lines[2 * i + 1], "big  INTERNAL ", 14) == 0);
		snprintf(seq, sizeof(seq), " seq=%d ", i);
		assert_non_null(strstr(lines[2 * i + 1], seq));
		assert_non_null(strstr(lines[2 * i + 1], expect));
	}
	free(lines);
	free(text);
}

/* ---- memory ------------------------------------------------------------- */

static void memory_keeps_deep_copy_after_shutdown(void **state)
{
	const sr_tracer_t *tr = sr_tracer_get("test.scope", "1.2.3");
	char buf[64], name[32];
	sr_span_t root, child;
	sr_context_t rc, cc, linked;
	sr_scope_t sc;
	const sr_span_data_t *r, *c;
	static const uint8_t ltrace[16] = { 1, 2, 3, 4, 5, 6, 7, 8,
					    9, 10, 11, 12, 13, 14, 15, 16 };

	assert_int_equal(sr_test_init_memory(one_batch), 0);
	strcpy(name, "copied-name");
	sr_span_start_ex(&root, tr, name, SR_KIND_SERVER, NULL, 0,
			 SR_SPAN_NAME_COPY);
	memset(name, 'X', sizeof(name) - 1);
	strcpy(buf, "copied value");
	sr_span_set_str(&root, "s", buf);
	memset(buf, 'Y', sizeof(buf) - 1);
	sr_span_set_str_static(&root, "st", "static value");
	sr_span_set_int(&root, "i", -42);
	sr_span_set_double(&root, "d", 2.25);
	sr_span_set_bool(&root, "b", true);
	sr_span_set_status(&root, SR_STATUS_ERROR, "bad things");
	rc = sr_span_context(&root);
	sc = sr_scope_enter(&root);
	sr_span_start(&child, tr, "child", SR_KIND_CLIENT);
	strcpy(buf, "event value");
	{
		sr_attr_t ev[] = { SR_ATTR_STR_("ek", buf),
				   SR_ATTR_INT_("en", 7) };
		sr_span_add_event(&child, "ev", 12345, ev, 2);
	}
	memset(buf, 'Z', sizeof(buf) - 1);
	ctx_with(&linked, ltrace, 0x0102030405060708ull, false);
	{
		sr_attr_t la[] = { SR_ATTR_STR_STATIC_("lk", "link value") };
		sr_span_add_link(&child, &linked, la, 1);
	}
	cc = sr_span_context(&child);
	sr_span_end(&child);
	assert_int_equal(sr_scope_exit(sc), 0);
	sr_span_end(&root);
	finish();

	/* Pipeline memory is gone; the copies must not point into it. */
	assert_int_equal(sr_memory_count(), 2);
	r = sr_test_find_span("copied-name");
	c = sr_test_find_span("child");
	assert_non_null(r);
	assert_non_null(c);
	assert_memory_equal(r->trace_id, rc.trace_id, 16);
	assert_memory_equal(r->span_id, rc.span_id, 8);
	assert_memory_equal(c->trace_id, rc.trace_id, 16);
	assert_memory_equal(c->parent_span_id, rc.span_id, 8);
	assert_memory_equal(c->span_id, cc.span_id, 8);
	assert_int_equal(r->kind, SR_KIND_SERVER);
	assert_int_equal(c->kind, SR_KIND_CLIENT);
	assert_int_equal(r->status, SR_STATUS_ERROR);
	assert_string_equal(r->status_message.ptr, "bad things");
	assert_true(r->end_ns >= r->start_ns);
	assert_string_equal(r->scope_name.ptr, "test.scope");
	assert_string_equal(r->scope_version.ptr, "1.2.3");

	assert_int_equal(r->attr_count, 5);
	for (uint32_t i = 0; i < r->attr_count; i++) {
		const sr_attr_view_t *a = &r->attrs[i];

		if (strcmp(a->key.ptr, "s") == 0) {
			assert_int_equal(a->type, SR_ATTR_STRING);
			assert_int_equal(a->v.s.len, strlen("copied value"));
			assert_string_equal(a->v.s.ptr, "copied value");
		} else if (strcmp(a->key.ptr, "st") == 0) {
			assert_int_equal(a->type, SR_ATTR_STRING);
			assert_string_equal(a->v.s.ptr, "static value");
		} else if (strcmp(a->key.ptr, "i") == 0) {
			assert_int_equal(a->type, SR_ATTR_INT);
			assert_true(a->v.i == -42);
		} else if (strcmp(a->key.ptr, "d") == 0) {
			assert_int_equal(a->type, SR_ATTR_DOUBLE);
			assert_true(a->v.d == 2.25);
		} else {
			assert_string_equal(a->key.ptr, "b");
			assert_int_equal(a->type, SR_ATTR_BOOL);
			assert_true(a->v.b);
		}
	}

	assert_int_equal(c->event_count, 1);
	assert_string_equal(c->events[0].name.ptr, "ev");
	assert_true(c->events[0].ts_ns == 12345);
	assert_int_equal(c->events[0].attr_count, 2);
	assert_string_equal(c->events[0].attrs[0].key.ptr, "ek");
	assert_string_equal(c->events[0].attrs[0].v.s.ptr, "event value");
	assert_true(c->events[0].attrs[1].v.i == 7);

	assert_int_equal(c->link_count, 1);
	assert_memory_equal(c->links[0].trace_id, ltrace, 16);
	assert_memory_equal(c->links[0].span_id, linked.span_id, 8);
	assert_int_equal(c->links[0].attr_count, 1);
	assert_string_equal(c->links[0].attrs[0].key.ptr, "lk");
	assert_string_equal(c->links[0].attrs[0].v.s.ptr, "link value");

	/* The copies belong to the store until cleared or re-init. */
	assert_int_equal(sr_test_init_memory(NULL), 0);
	assert_int_equal(sr_memory_count(), 0);
}

static void memory_capacity_overflow_counts_and_succeeds(void **state)
{
	sr_span_t s;
	sr_stats_t st = { .size = sizeof(st) };
	char name[16];

	setenv("SPANRING_MEMORY_CAPACITY", "10", 1);
	assert_int_equal(sr_test_init_memory(one_batch), 0);
	for (int i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		sr_span_start_ex(&s, NULL, name, SR_KIND_INTERNAL, NULL, 0,
				 SR_SPAN_NAME_COPY);
		sr_span_end(&s);
	}
	st = finish();
	assert_int_equal(st.exported, 25); /* the exporter accepted them all */
	assert_int_equal(sr_memory_count(), 10);
	assert_int_equal(sr_memory_overflow(), 15);
	for (size_t i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "s%zu", i);
		assert_string_equal(sr_memory_get(i)->name.ptr, name);
	}
	assert_null(sr_memory_get(10));

	sr_memory_clear();
	assert_int_equal(sr_memory_count(), 0);
	assert_int_equal(sr_memory_overflow(), 0);
	assert_null(sr_memory_get(0));
}

static void memory_rejects_bad_config(void **state)
{
	static const char *const bad[] = { "abc", "0", "-1", "12x",
					   "99999999999999", NULL };
	char err[256];
	sr_config_t cfg;
	void *st = NULL, *st2 = NULL;

	sr_config_init(&cfg);
	for (int i = 0; bad[i]; i++) {
		setenv("SPANRING_MEMORY_CAPACITY", bad[i], 1);
		err[0] = '\0';
		assert_int_equal(sr__exporter_memory.create(NULL, &cfg, &st,
							    err, sizeof(err)),
				 SR_EINVAL);
		assert_non_null(strstr(err, "SPANRING_MEMORY_CAPACITY"));
		assert_non_null(strstr(err, bad[i]));
	}
	unsetenv("SPANRING_MEMORY_CAPACITY");
	assert_int_equal(sr__exporter_memory.create(NULL, &cfg, &st, err,
						    sizeof(err)),
			 0);
	/* One store per process: a second instance would double it. */
	assert_int_equal(sr__exporter_memory.create(NULL, &cfg, &st2, err,
						    sizeof(err)),
			 SR_ESTATE);
	sr__exporter_memory.destroy(st, 0);
	assert_int_equal(sr__exporter_memory.create(NULL, &cfg, &st2, err,
						    sizeof(err)),
			 0);
	sr__exporter_memory.destroy(st2, 0);
}

/* A reader polls the store while the worker appends to it: values must
 * be complete when seen and pointers must not move as the store grows. */
#define READER_SPANS 3000

static atomic_bool reader_stop;

static void *reader(void *arg)
{
	const sr_span_data_t *first = NULL;
	uint64_t polls = 0;

	while (!atomic_load(&reader_stop) || polls == 0) {
		size_t n = sr_memory_count();

		polls++;
		if (n == 0)
			continue;
		const sr_span_data_t *last = sr_memory_get(n - 1);
		if (!last || last->attr_count != 1 ||
		    last->attrs[0].v.i != (int64_t)(n - 1) ||
		    strcmp(last->name.ptr, "w") != 0)
			return (void *)1;
		if (!first)
			first = sr_memory_get(0);
		if (first != sr_memory_get(0) || first->attrs[0].v.i != 0)
			return (void *)2;
	}
	return NULL;
}

static void memory_concurrent_reader(void **state)
{
	pthread_t t;
	void *res = (void *)3;
	sr_span_t s;

	assert_int_equal(sr_test_init_memory(one_batch), 0);
	atomic_store(&reader_stop, false);
	assert_int_equal(pthread_create(&t, NULL, reader, NULL), 0);
	for (int i = 0; i < READER_SPANS; i++) {
		sr_span_start(&s, NULL, "w", SR_KIND_INTERNAL);
		sr_span_set_int(&s, "seq", i);
		sr_span_end(&s);
		if (i % 100 == 99)
			assert_int_equal(sr_flush(10000, NULL), 0);
	}
	finish();
	atomic_store(&reader_stop, true);
	pthread_join(t, &res);
	assert_null(res);
	assert_int_equal(sr_memory_count(), READER_SPANS);
	for (size_t i = 0; i < READER_SPANS; i++)
		assert_true(sr_memory_get(i)->attrs[0].v.i == (int64_t)i);
}

/* The child of a fork starts with an empty store and a working memory
 * exporter; the parent's store is untouched. */
static void memory_store_after_fork(void **state)
{
	sr_span_t s;
	pid_t pid;
	int status = -1;

#if defined(__SANITIZE_THREAD__)
	skip(); /* TSan cannot follow a multi-threaded fork's child (exit 66) */
#endif
	assert_int_equal(sr_test_init_memory(one_batch), 0);
	for (int i = 0; i < 3; i++) {
		sr_span_start(&s, NULL, "parent", SR_KIND_INTERNAL);
		sr_span_end(&s);
	}
	assert_int_equal(sr_flush(10000, NULL), 0);
	assert_int_equal(sr_memory_count(), 3);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int bad = 0;

		bad |= sr_memory_count() != 0;
		sr_span_start(&s, NULL, "child", SR_KIND_INTERNAL);
		sr_span_end(&s);
		bad |= sr_flush(10000, NULL) != 0;
		bad |= sr_memory_count() != 1;
		bad |= sr_test_find_span("child") == NULL;
		bad |= sr_shutdown(10000, NULL) != 0;
		_exit(bad ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	sr_span_start(&s, NULL, "parent", SR_KIND_INTERNAL);
	sr_span_end(&s);
	finish();
	assert_int_equal(sr_memory_count(), 4);
	assert_null(sr_test_find_span("child"));
}

/* ---- none ---------------------------------------------------------------- */

static void none_discards_but_counts_exported(void **state)
{
	sr_exporter_stats_t ex = { .size = sizeof(ex) };
	sr_stats_t st = { .size = sizeof(st) };
	sr_span_t s;
	uint64_t rejected = 0;
	void *nst = NULL;
	char err[64];

	assert_int_equal(sr__exporter_none.create(NULL, NULL, &nst, err,
						  sizeof(err)),
			 0);
	assert_non_null(nst);
	/* It never looks at the batch. */
	assert_int_equal(sr__exporter_none.export_batch(nst, NULL, &rejected), 0);
	assert_int_equal(rejected, 0);
	sr__exporter_none.destroy(nst, 0);

	sr_memory_clear();
	{
		sr_config_t cfg;

		sr_config_init(&cfg);
		cfg.exporters = "none";
		cfg.sampler = SR_SAMPLER_ALWAYS_ON;
		assert_int_equal(sr_init(&cfg), 0);
	}
	for (int i = 0; i < 50; i++) {
		sr_span_start(&s, NULL, "n", SR_KIND_INTERNAL);
		sr_span_end(&s);
	}
	assert_int_equal(sr_flush(10000, NULL), 0);
	assert_int_equal(sr_stats_exporter(0, &ex), 0);
	assert_string_equal(ex.name, "none");
	assert_int_equal(ex.spans_ok, 50);
	assert_int_equal(ex.spans_failed, 0);
	st = finish();
	assert_int_equal(st.exported, 50);
	assert_int_equal(sr_memory_count(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, test_setup, test_teardown)
		T(console_prints_tree_with_fields),
		T(console_escapes_hostile_strings),
		T(console_output_selection),
		T(console_caps_indentation),
		T(console_large_batch_is_complete),
		T(memory_keeps_deep_copy_after_shutdown),
		T(memory_capacity_overflow_counts_and_succeeds),
		T(memory_rejects_bad_config),
		T(memory_concurrent_reader),
		T(memory_store_after_fork),
		T(none_discards_but_counts_exported),
#undef T
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
