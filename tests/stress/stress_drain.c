/*
 * stress_drain.c - the drainer hands over every span whole, in order,
 * with intact contents, while producers outrun it.
 *
 * Producers record spans of 64 bytes to about 1.5 KiB (copied strings of
 * random lengths, so strings cross slot and record boundaries) as fast as
 * they can into rings of 64 configured (256-byte) records: spans wrap the
 * ring end often, short ones through the ring's overhang and long ones to
 * its start (record_int.h), the rings fill and
 * the drainer gives slots back while it is still copying a ring out.  An
 * exporter decodes every span it is handed and checks each against what
 * its producer recorded: the thread, a per-thread sequence that only
 * grows (no span twice, none out of order), and every string byte.  At
 * the end, sampled == exported + dropped, and the exporter checked
 * exactly the spans counted as exported.  Fixed seed (SR_TEST_SEED),
 * bounded by span count.
 */
// SR_TEST_LABELS: concurrency
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#define THREADS 2
#define SPANS 100000
#define MAX_STRS 12
#define MAX_LEN 60

static const char *const keys[MAX_STRS] = {
	"s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11"
};

static uint64_t seed;
/* The "check" exporter's worker only (one worker: batches arrive one at
 * a time). */
static int64_t last_seq[THREADS];
static uint64_t checked, bad;

/* The string attribute j of span `seq` of thread `th`: length and bytes. */
static uint32_t str_len(int th, int64_t seq, int j)
{
	uint64_t r = seed ^ ((uint64_t)th << 56) ^ ((uint64_t)seq << 8) ^ (uint64_t)j;

	return (uint32_t)(sr_test_rand(&r) % (MAX_LEN + 1));
}

static char str_byte(int th, int64_t seq, int j, uint32_t k)
{
	return (char)('a' + (th * 7 + seq * 13 + j * 3 + k) % 26);
}

static int n_strs(int th, int64_t seq)
{
	uint64_t r = seed ^ ((uint64_t)th << 48) ^ (uint64_t)seq;

	return (int)(sr_test_rand(&r) % (MAX_STRS + 1));
}

static bool span_ok(const sr_span_data_t *d)
{
	int64_t th, seq;
	int n;

	if (!sr_test_attr_int(d, "thread", &th) || !sr_test_attr_int(d, "seq", &seq) ||
	    th < 0 || th >= THREADS || seq <= last_seq[th])
		return false;
	last_seq[th] = seq;
	n = n_strs((int)th, seq);
	if (d->attr_count != 2u + (uint32_t)n)
		return false;
	for (int j = 0; j < n; j++) {
		const sr_attr_view_t *a = NULL;
		uint32_t len = str_len((int)th, seq, j);

		for (uint32_t i = 0; i < d->attr_count; i++)
			if (d->attrs[i].key.len == strlen(keys[j]) &&
			    !memcmp(d->attrs[i].key.ptr, keys[j], strlen(keys[j])))
				a = &d->attrs[i];
		if (!a || a->type != SR_ATTR_STRING || a->v.s.len != len)
			return false;
		for (uint32_t k = 0; k < len; k++)
			if (a->v.s.ptr[k] != str_byte((int)th, seq, j, k))
				return false;
	}
	return true;
}

static void *producer(void *arg)
{
	int th = (int)(intptr_t)arg;
	char buf[MAX_LEN];

	for (int64_t seq = 0; seq < SPANS; seq++) {
		int n = n_strs(th, seq);
		sr_span_t s;

		sr_span_start(&s, NULL, "drain", SR_KIND_INTERNAL);
		sr_span_set_int(&s, "thread", th);
		sr_span_set_int(&s, "seq", seq);
		for (int j = 0; j < n; j++) {
			uint32_t len = str_len(th, seq, j);

			for (uint32_t k = 0; k < len; k++)
				buf[k] = str_byte(th, seq, j, k);
			sr_span_set_strn(&s, keys[j], buf, len);
		}
		sr_span_end(&s);
	}
	return NULL;
}

static void tweak(sr_config_t *c)
{
	c->exporters = "check";
	c->ring_records = 64;
	c->max_export_batch_size = 32;
	c->max_queue_size = 128;
	c->schedule_delay_ms = 5;
}

int main(void)
{
	pthread_t t[THREADS];
	sr_stats_t st = { .size = sizeof(st) };

	seed = sr_test_seed(1);
	for (int i = 0; i < THREADS; i++)
		last_seq[i] = -1;
	SR_CHECK(sr_test_register_check(span_ok, &checked, &bad) == 0);
	SR_CHECK(sr_test_init_memory(tweak) == 0);
	for (int i = 0; i < THREADS; i++)
		SR_CHECK(pthread_create(&t[i], NULL, producer,
					(void *)(intptr_t)i) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	SR_CHECK(sr_shutdown(30000, NULL) == 0);
	SR_CHECK(sr_stats_get(&st) == 0);
	SR_CHECK(sr_test_check_invariant(&st) == 0);
	SR_CHECK(st.sampled == (uint64_t)SPANS * THREADS);
	printf("spans %llu: exported %llu (checked %llu, bad %llu), dropped "
	       "ring_full %llu queue_full %llu limits %llu\n",
	       (unsigned long long)st.sampled,
	       (unsigned long long)st.exported, (unsigned long long)checked,
	       (unsigned long long)bad,
	       (unsigned long long)st.dropped_ring_full,
	       (unsigned long long)st.dropped_queue_full,
	       (unsigned long long)st.dropped_limits);
	SR_CHECK(bad == 0);
	SR_CHECK(checked == st.exported);
	SR_CHECK(st.dropped_limits == 0 && st.dropped_exporter == 0);
	printf("1 passed, 0 failed\n");
	return 0;
}
