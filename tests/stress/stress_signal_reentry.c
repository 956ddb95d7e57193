/*
 * stress_signal_reentry.c - spans ended from a signal handler on a thread
 * that is itself ending spans are exported whole or counted, never lost
 * silently and never corrupting the ring.
 *
 * One thread ends spans in a loop (one and two records, by a seeded
 * choice); another sends it SIGUSR1 at seeded random intervals.  The
 * handler starts and ends a span of its own, so it often lands inside the
 * interrupted thread's reserve/commit of its ring.  An exporter checks
 * every span it is handed: each loop span and each handler span carries a
 * sequence number that only grows within its kind (a span written over,
 * or an old record exported again, breaks that), and a loop span's
 * padding attributes are intact.  At the end: sampled counts every span
 * the test ended, sampled == exported + dropped (dropped_reentrant
 * included), the exporter checked exactly the exported spans, and the
 * drainer discarded no record.  Fixed seed (SR_TEST_SEED), bounded by the
 * number of signals.
 */
// SR_TEST_LABELS: concurrency
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"

#define SIGNALS 2000
#define PADS 9 /* attributes past the head record: a two-record span */

static uint64_t seed;
static pthread_t victim;
/* __atomic: the handler writes, the sender waits on it. */
static int sender_done;
static int64_t handler_seq;
static int64_t loop_spans;

/* The "check" exporter's worker only (one worker: batches arrive one at
 * a time). */
static int64_t last_loop = -1, last_sig = -1;
static uint64_t checked, bad;

static bool span_ok(const sr_span_data_t *d)
{
	int64_t seq, pads, v;

	if (d->name.len == 3 && !memcmp(d->name.ptr, "sig", 3)) {
		if (!sr_test_attr_int(d, "seq", &seq) || seq <= last_sig ||
		    d->attr_count != 1)
			return false;
		last_sig = seq;
		return true;
	}
	if (d->name.len != 4 || memcmp(d->name.ptr, "loop", 4) ||
	    !sr_test_attr_int(d, "seq", &seq) || seq <= last_loop ||
	    !sr_test_attr_int(d, "pads", &pads))
		return false;
	last_loop = seq;
	if (d->attr_count != 2u + (uint32_t)pads)
		return false;
	for (int j = 0; j < pads; j++) {
		char key[16];

		snprintf(key, sizeof(key), "p%d", j);
		if (!sr_test_attr_int(d, key, &v) || v != seq * 16 + j)
			return false;
	}
	return true;
}

static void on_signal(int sig)
{
	sr_span_t s;

	(void)sig;
	sr_span_start(&s, NULL, "sig", SR_KIND_INTERNAL);
	sr_span_set_int(&s, "seq", __atomic_load_n(&handler_seq, __ATOMIC_RELAXED));
	sr_span_end(&s);
	__atomic_add_fetch(&handler_seq, 1, __ATOMIC_RELEASE);
}

static void *sender(void *arg)
{
	uint64_t r = seed;

	(void)arg;
	for (int i = 0; i < SIGNALS; i++) {
		/* A seeded pause of 0..1023 spins: lands anywhere in a span. */
		for (volatile uint64_t k = sr_test_rand(&r) % 1024; k; k--)
			;
		pthread_kill(victim, SIGUSR1);
		/* Pending signals merge: one at a time, each handled. */
		while (__atomic_load_n(&handler_seq, __ATOMIC_ACQUIRE) <= i)
			sched_yield();
	}
	__atomic_store_n(&sender_done, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void *loop(void *arg)
{
	uint64_t r = seed ^ 0x5eed;

	(void)arg;
	for (int64_t seq = 0; !__atomic_load_n(&sender_done, __ATOMIC_RELAXED);
	     seq++) {
		uint64_t x = sr_test_rand(&r);
		int pads = x & 1 ? PADS : 0;
		sr_span_t s;

		/* A pause that keeps the ring from filling (a full ring
		 * takes no records: nothing to overwrite). */
		for (volatile uint64_t k = (x >> 8) % 64; k; k--)
			;
		sr_span_start(&s, NULL, "loop", SR_KIND_INTERNAL);
		sr_span_set_int(&s, "seq", seq);
		sr_span_set_int(&s, "pads", pads);
		for (int j = 0; j < pads; j++) {
			static const char *const keys[PADS] = {
				"p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"
			};

			sr_span_set_int(&s, keys[j], seq * 16 + j);
		}
		sr_span_end(&s);
		loop_spans = seq + 1;
	}
	return NULL;
}

static void tweak(sr_config_t *c)
{
	c->exporters = "check";
	c->ring_records = 4096;
	c->max_export_batch_size = 256;
	c->max_queue_size = 4096;
	c->schedule_delay_ms = 5;
}

int main(void)
{
	struct sigaction sa;
	pthread_t snd;
	sr_stats_t st = { .size = sizeof(st) };

	seed = sr_test_seed(12);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	SR_CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
	SR_CHECK(sr_test_register_check(span_ok, &checked, &bad) == 0);
	SR_CHECK(sr_test_init_memory(tweak) == 0);
	SR_CHECK(pthread_create(&victim, NULL, loop, NULL) == 0);
	SR_CHECK(pthread_create(&snd, NULL, sender, NULL) == 0);
	pthread_join(snd, NULL);
	pthread_join(victim, NULL);
	SR_CHECK(sr_shutdown(30000, NULL) == 0);
	SR_CHECK(sr_stats_get(&st) == 0);
	printf("loop spans %lld, handler spans %lld: sampled %llu exported %llu "
	       "(checked %llu, bad %llu), dropped reentrant %llu ring_full %llu,"
	       " records discarded %llu\n",
	       (long long)loop_spans, (long long)handler_seq,
	       (unsigned long long)st.sampled, (unsigned long long)st.exported,
	       (unsigned long long)checked, (unsigned long long)bad,
	       (unsigned long long)st.dropped_reentrant,
	       (unsigned long long)st.dropped_ring_full,
	       (unsigned long long)st.records_discarded);
	SR_CHECK(st.sampled == (uint64_t)(loop_spans + handler_seq));
	SR_CHECK(st.started == st.sampled);
	SR_CHECK(sr_test_check_invariant(&st) == 0);
	SR_CHECK(bad == 0);
	SR_CHECK(checked == st.exported);
	SR_CHECK(st.records_discarded == 0);
	printf("1 passed, 0 failed\n");
	return 0;
}
