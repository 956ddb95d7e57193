/*
 * test_decode_strings.c - the lengths of static strings (attribute keys,
 * span and event names) as a decode gives them, through the cache of
 * lengths by address each decode scratch keeps (record_decode.c): right
 * for many more distinct addresses than the cache has slots, in any
 * order, on the exporters' scratch and on the processor stage's, and
 * right again after a restart with new bytes at an old address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "testutil.h"

/* More keys than the cache has slots (256): some share a slot, so a
 * cache that answered for a slot without its address would be caught.
 * Key k is "k" followed by k % 37 dashes and its number, so neighbours
 * differ in length. */
#define NKEYS 600
#define PER_SPAN 8
static char keys[NKEYS][64];

static void make_keys(void)
{
	for (int k = 0; k < NKEYS; k++) {
		int n = snprintf(keys[k], sizeof(keys[k]), "k%.*s%d", k % 37,
				 "-------------------------------------", k);

		assert_true(n > 0 && n < (int)sizeof(keys[k]));
	}
}

/* ---- a processor that checks what the stage decodes ------------------ */

static uint64_t stage_bad, stage_seen;

static int c_init(void *ud, const sr_config_t *c, void **st, char *e, size_t n)
{
	(void)ud;
	(void)c;
	(void)e;
	(void)n;
	*st = NULL;
	return 0;
}

static bool len_right(sr_str_t s)
{
	return strlen(s.ptr) == s.len;
}

static void c_process(void *st, sr_proc_batch_t *pb)
{
	(void)st;
	for (size_t i = 0; i < sr_proc_count(pb); i++) {
		sr_span_data_t s = { .size = sizeof(s) };

		assert_int_equal(sr_proc_span(pb, i, &s), 0);
		stage_bad += !len_right(s.name);
		for (uint32_t a = 0; a < s.attr_count; a++, stage_seen++)
			stage_bad += !len_right(s.attrs[a].key);
		for (uint32_t e = 0; e < s.event_count; e++, stage_seen++)
			stage_bad += !len_right(s.events[e].name);
	}
}

static void c_shutdown(void *st) { (void)st; }

static const sr_processor_ops_t check_ops = {
	.size = sizeof(sr_processor_ops_t),
	.abi_version = SR_PROCESSOR_ABI_VERSION,
	.name = "t_lengths",
	.init = c_init,
	.process = c_process,
	.shutdown = c_shutdown,
};

static const char *chain;
static void tweak(sr_config_t *c)
{
	c->processors = chain;
	c->schedule_delay_ms = 10;
}

/* Spans with every key, PER_SPAN to a span, from key `from` on with
 * stride `step` (mod NKEYS): the orders differ, the slots are fought
 * over.  Names and event names come from the same pool. */
static void record(int from, int step)
{
	const sr_tracer_t *t = sr_tracer_get("test", "1");

	for (int done = 0; done < NKEYS; done += PER_SPAN) {
		sr_span_t s;

		sr_span_start(&s, t, keys[(from + done * step) % NKEYS],
			      SR_KIND_INTERNAL);
		for (int j = 0; j < PER_SPAN; j++)
			sr_span_set_int(&s, keys[(from + (done + j) * step) % NKEYS],
					j);
		sr_span_add_event(&s, keys[(from + done * step + 1) % NKEYS], 0,
				  NULL, 0);
		sr_span_end(&s);
	}
}

/* Every exported key, name and event name has its own length. */
static void check_exported(size_t want_spans)
{
	size_t seen = 0;

	assert_int_equal(sr_flush(5000, NULL), 0);
	assert_int_equal(sr_memory_count(), want_spans);
	for (size_t i = 0; i < sr_memory_count(); i++) {
		const sr_span_data_t *d = sr_memory_get(i);

		assert_true(len_right(d->name));
		for (uint32_t a = 0; a < d->attr_count; a++, seen++)
			if (!len_right(d->attrs[a].key))
				fail_msg("key '%s' decoded with length %u",
					 d->attrs[a].key.ptr, d->attrs[a].key.len);
		for (uint32_t e = 0; e < d->event_count; e++)
			assert_true(len_right(d->events[e].name));
	}
	assert_int_equal(seen, want_spans * PER_SPAN);
}

static void test_many_keys_any_order(void **state)
{
	size_t spans = 0;

	(void)state;
	make_keys();
	chain = NULL;
	assert_int_equal(sr_test_init_memory(tweak), 0);
	/* 7 and 11 are prime to NKEYS' factors 2, 3, 5: every key, each
	 * pass in another order. */
	record(0, 1);
	record(5, 7);
	record(3, 11);
	spans = 3 * (NKEYS / PER_SPAN);
	check_exported(spans);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	sr_memory_clear();
}

static void test_stage_decodes_lengths(void **state)
{
	(void)state;
	make_keys();
	assert_int_equal(sr_processor_register(&check_ops, NULL), 0);
	chain = "t_lengths";
	stage_bad = stage_seen = 0;
	assert_int_equal(sr_test_init_memory(tweak), 0);
	record(0, 1);
	record(5, 7);
	record(3, 11);
	check_exported(3 * (NKEYS / PER_SPAN));
	assert_int_equal(stage_seen, 3 * (NKEYS / PER_SPAN) * (PER_SPAN + 1));
	assert_int_equal(stage_bad, 0);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	sr_memory_clear();
	chain = NULL;
}

/* A key's bytes may change once the pipeline that used them is shut
 * down (static means: until sr_shutdown): the next pipeline must not
 * answer with the old length. */
static void test_restart_forgets_lengths(void **state)
{
	static char key[32] = "ab";
	const sr_tracer_t *t;
	sr_span_t s;

	(void)state;
	for (int round = 0; round < 2; round++) {
		chain = round ? "t_lengths" : NULL;
		if (round) /* registered by the test before, or now */
			(void)sr_processor_register(&check_ops, NULL);
		for (int run = 0; run < 2; run++) {
			if (run)
				assert_int_equal(sr_shutdown(5000, NULL), 0);
			strcpy(key, run ? "a.much.longer.key" : "ab");
			assert_int_equal(sr_test_init_memory(tweak), 0);
			t = sr_tracer_get("test", "1");
			sr_span_start(&s, t, "x", SR_KIND_INTERNAL);
			sr_span_set_int(&s, key, run);
			sr_span_end(&s);
			assert_int_equal(sr_flush(5000, NULL), 0);
		}
		assert_int_equal(sr_memory_count(), 1); /* init cleared it */
		assert_int_equal(sr_memory_get(0)->attrs[0].key.len, 17);
		assert_memory_equal(sr_memory_get(0)->attrs[0].key.ptr,
				    "a.much.longer.key", 17);
		assert_int_equal(sr_shutdown(5000, NULL), 0);
		sr_memory_clear();
	}
	assert_int_equal(stage_bad, 0);
	chain = NULL;
}

/* A key set twice keeps its last value, whether the two sets name it by
 * one address or by two copies of its bytes (the duplicate filter works
 * from the bytes, cached by address). */
static void test_key_set_twice_keeps_last_value(void **state)
{
	static char copy_a[] = "dup.key", copy_b[] = "dup.key";
	const sr_tracer_t *t;
	sr_span_t s;

	(void)state;
	chain = NULL;
	assert_int_equal(sr_test_init_memory(tweak), 0);
	t = sr_tracer_get("test", "1");
	for (int i = 0; i < 4; i++) {
		sr_span_start(&s, t, "x", SR_KIND_INTERNAL);
		sr_span_set_int(&s, "other", 0);
		sr_span_set_int(&s, i & 1 ? copy_b : copy_a, 1);
		sr_span_set_int(&s, i & 2 ? copy_b : copy_a, 2);
		sr_span_end(&s);
	}
	assert_int_equal(sr_flush(5000, NULL), 0);
	assert_int_equal(sr_memory_count(), 4);
	for (size_t i = 0; i < 4; i++) {
		const sr_span_data_t *d = sr_memory_get(i);

		assert_int_equal(d->attr_count, 2);
		assert_int_equal(d->attrs[1].key.len, 7);
		assert_int_equal(d->attrs[1].v.i, 2);
	}
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	sr_memory_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_keys_any_order),
		cmocka_unit_test(test_stage_decodes_lengths),
		cmocka_unit_test(test_restart_forgets_lengths),
		cmocka_unit_test(test_key_set_twice_keeps_last_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
