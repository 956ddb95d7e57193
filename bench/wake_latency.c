/*
 * wake_latency.c - how late a thread that sleeps as the drainer does gets
 * its CPU back: the floor under the rings' size.
 *
 * A thread pinned to --cpu N sleeps --pause-us (a timed futex-free
 * nanosleep, as long as the drainer's planned pause), then works
 * --work-us (its pass), --count times, and prints how late each wake-up
 * was (from the planned end of the sleep to the first instruction after
 * it) as percentiles.  --hog adds a thread spinning on the same CPU for
 * the whole run, the busy neighbour of BM_pipeline_cpu/RATE/1.  A ring
 * must hold what its producer records in the wake-up's lateness beyond
 * the doorbell's mark, or the producer drops: at R spans/s, a lateness of
 * L needs ring_records / 2 >= R * L.  No tracing library involved.
 *
 * usage: spanring-wakelat [--cpu N] [--hog] [--pause-us U] [--work-us W]
 *                         [--count C]
 * prints one line: key=value pairs, lateness in microseconds.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_int stop;
static int cpu = 1;

static void pin(int c)
{
	cpu_set_t s;

	CPU_ZERO(&s);
	CPU_SET(c, &s);
	if (pthread_setaffinity_np(pthread_self(), sizeof(s), &s) != 0) {
		fprintf(stderr, "spanring-wakelat: cannot pin to CPU %d\n", c);
		exit(2);
	}
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void *hog(void *arg)
{
	(void)arg;
	pin(cpu);
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		;
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long pause_us = 500, work_us = 20, count = 2000;
	int with_hog = 0;
	pthread_t h;
	uint64_t *late;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--hog"))
			with_hog = 1;
		else if (!strcmp(argv[i], "--cpu") && i + 1 < argc)
			cpu = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--pause-us") && i + 1 < argc)
			pause_us = atol(argv[++i]);
		else if (!strcmp(argv[i], "--work-us") && i + 1 < argc)
			work_us = atol(argv[++i]);
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = atol(argv[++i]);
		else {
			fprintf(stderr, "usage: spanring-wakelat [--cpu N] [--hog] "
					"[--pause-us U] [--work-us W] [--count C]\n");
			return 2;
		}
	}
	if (pause_us < 1 || pause_us > 1000000 || work_us < 0 || count < 100) {
		fprintf(stderr, "spanring-wakelat: --pause-us 1..1000000, "
				"--work-us >= 0, --count >= 100\n");
		return 2;
	}
	late = calloc((size_t)count, sizeof(*late));
	if (!late)
		return 2;
	if (with_hog)
		pthread_create(&h, NULL, hog, NULL);
	pin(cpu);
	for (long i = 0; i < count; i++) {
		struct timespec ts = { pause_us / 1000000, pause_us % 1000000 * 1000 };
		uint64_t planned = now_ns() + (uint64_t)pause_us * 1000, until;

		nanosleep(&ts, NULL);
		until = now_ns();
		late[i] = until > planned ? until - planned : 0;
		until += (uint64_t)work_us * 1000;
		while (now_ns() < until)
			;
	}
	atomic_store(&stop, 1);
	if (with_hog)
		pthread_join(h, NULL);
	qsort(late, (size_t)count, sizeof(*late), cmp);
	printf("cpu=%d hog=%d pause_us=%ld count=%ld late_us_p50=%.1f p90=%.1f "
	       "p99=%.1f p99.9=%.1f max=%.1f\n",
	       cpu, with_hog, pause_us, count, late[count / 2] / 1e3,
	       late[count * 9 / 10] / 1e3, late[count * 99 / 100] / 1e3,
	       late[count * 999 / 1000] / 1e3, late[count - 1] / 1e3);
	free(late);
	return 0;
}
