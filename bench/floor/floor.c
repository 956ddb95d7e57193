/*
 * floor.c - the floor's rings and its consumer (see floor.h).
 */
#include "floor.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <spanring/spanring.h>

#include "bgthread_int.h"
#include "drainer_int.h"

struct srb_floor srb_floor;
__thread uint32_t srb_floor_tl_gen;
__thread int srb_floor_tl_ring;

/* Rings' memory lives for the whole process; a start resets it. */
static struct sr__record *ring_mem[SRB_FLOOR_MAX_RINGS];
static uint32_t capacity;
static int claimed;        /* producers claim ring indices (atomic add)  */
static struct sr__doorbell bell; /* every ring rings it at the mark, as
				    the library's rings ring the drainer */
static bool stop;          /* stop writes, the consumer reads (relaxed)  */
static pthread_t consumer;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One pass over one ring: copy each span into the batch, give slots back
 * every SR__RELEASE_EVERY records and at the end.  Returns spans. */
static uint64_t drain_one(struct sr__ring *r, struct sr__record *batch,
			  uint32_t batch_cap, uint32_t *bpos, uint32_t *fullest)
{
	uint32_t head, n = sr__ring_peek_sc(r, &head), released = 0, k = 0;
	uint64_t spans = 0;

	while (k < n) {
		const struct sr__span_header *h =
			(const struct sr__span_header *)(const void *)
				sr__ring_at(r, head + k)->bytes;
		uint32_t nrec = sr__records_for_slots(h->nslots);

		if (nrec > n - k || !sr__span_contiguous(nrec))
			break; /* never: one well-formed producer */
		if (*bpos + nrec > batch_cap)
			*bpos = 0;
		memcpy(&batch[*bpos], h, (size_t)nrec * SR__RECORD_SIZE);
		*bpos += nrec;
		k += nrec;
		spans++;
		if (k - released >= SR__RELEASE_EVERY) {
			sr__ring_release_sc(r, k - released);
			released = k;
		}
	}
	if (n != released)
		sr__ring_release_sc(r, n - released);
	if (n > *fullest)
		*fullest = n;
	return spans;
}

/* After the consumer is marked asleep: a ring already at its mark (its
 * producer may have looked before the mark was set), or a stop. */
static bool ready(void *arg)
{
	(void)arg;
	if (__atomic_load_n(&stop, __ATOMIC_RELAXED))
		return true;
	for (int i = 0; i < SRB_FLOOR_MAX_RINGS; i++)
		if (sr__ring_used(&srb_floor.rings[i]) >= srb_floor.rings[i].mark)
			return true;
	return false;
}

static void *consume(void *arg)
{
	static struct sr__record batch[1024];
	sr_config_t cfg;
	uint64_t pause_ns = 0, max_pause, prev = mono_ns();
	uint32_t bpos = 0, pool;

	(void)arg;
	sr_config_init(&cfg);
	max_pause = (uint64_t)cfg.drainer_max_sleep_us * 1000;
	pool = ((cfg.max_queue_size + cfg.max_export_batch_size - 1) /
			cfg.max_export_batch_size + 1) * cfg.max_export_batch_size;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		struct sr__drain_look look = { 0 };
		uint64_t now = mono_ns();

		look.since = now - prev;
		prev = now;
		for (int i = 0; i < SRB_FLOOR_MAX_RINGS; i++)
			look.total += drain_one(&srb_floor.rings[i], batch, 1024,
						&bpos, &look.fullest);
		look.spent = mono_ns() - now;
		look.cap = capacity;
		look.mark = sr__doorbell_mark(capacity);
		look.pool = pool;
		pause_ns = sr__drainer_pause(pause_ns, &look, max_pause);
		if (pause_ns)
			sr__doorbell_sleep(&bell, pause_ns, ready, NULL);
	}
	return NULL;
}

/* The CPUs of SPANRING_BACKGROUND_CPUS, read as the library reads it, so
 * the consumer runs where the library's drainer would; false when unset
 * or unreadable (then it runs anywhere, as the drainer does). */
static bool background_cpus(cpu_set_t *set)
{
	const char *v = getenv("SPANRING_BACKGROUND_CPUS");
	char why[96];

	return v && *v && sr__parse_cpulist(v, strlen(v), set, why, sizeof(why));
}

void srb_floor_start(uint32_t ring_records)
{
	pthread_attr_t attr;
	cpu_set_t cpus;

	capacity = ring_records;
	for (int i = 0; i < SRB_FLOOR_MAX_RINGS; i++) {
		if (!ring_mem[i]) {
			size_t bytes = (size_t)sr__ring_memory_records(capacity) *
				       SR__RECORD_SIZE;

			ring_mem[i] = aligned_alloc(64, bytes);
			if (!ring_mem[i])
				abort();
			memset(ring_mem[i], 0, bytes);
		}
		sr__ring_init(&srb_floor.rings[i], ring_mem[i], capacity);
		sr__ring_set_doorbell(&srb_floor.rings[i], &bell,
				      sr__doorbell_mark(capacity));
		srb_floor.drops[i] = 0;
	}
	__atomic_store_n(&claimed, 0, __ATOMIC_RELAXED);
	__atomic_fetch_add(&srb_floor.gen, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&stop, false, __ATOMIC_RELAXED);
	pthread_attr_init(&attr);
	if (background_cpus(&cpus))
		pthread_attr_setaffinity_np(&attr, sizeof(cpus), &cpus);
	if (pthread_create(&consumer, &attr, consume, NULL) != 0)
		abort();
	pthread_attr_destroy(&attr);
	/* Named as the drainer, so the bench counts it as a library thread. */
	pthread_setname_np(consumer, "sr-drainer-flr");
}

void srb_floor_stop(void)
{
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	sr__doorbell_ring(&bell);
	pthread_join(consumer, NULL);
}

uint64_t srb_floor_drops(void)
{
	uint64_t n = 0;

	for (int i = 0; i < SRB_FLOOR_MAX_RINGS; i++)
		n += __atomic_load_n(&srb_floor.drops[i], __ATOMIC_RELAXED);
	return n;
}

void srb_floor_quiesce(void)
{
	for (int i = 0; i < SRB_FLOOR_MAX_RINGS; i++)
		while (sr__ring_used(&srb_floor.rings[i]) != 0) {
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
		}
}

int srb_floor_claim(void)
{
	srb_floor_tl_gen = __atomic_load_n(&srb_floor.gen, __ATOMIC_RELAXED);
	srb_floor_tl_ring = __atomic_fetch_add(&claimed, 1, __ATOMIC_RELAXED) %
			    SRB_FLOOR_MAX_RINGS;
	return srb_floor_tl_ring;
}
