/*
 * ids.c - seeding of the per-thread id generators (see ids_int.h).
 */
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <ck_pr.h>

#include "ids_int.h"

/* Written by sr__ids_seed (init, under the lifecycle lock, before
 * running is published); read by threads reseeding after that, or by one
 * whose span raced a shutdown and the next init (relaxed atomics, see
 * SR__SETTING). */
static uint64_t process_seed;
static uint64_t ticket;      /* ck_pr_faa_64 by reseeding threads */

static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void sr__ids_seed(void)
{
	uint64_t s = 0;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != sizeof(s)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		s = mix((uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32));
	}
	SR__SET(process_seed, s);
}

void sr__rng_reseed(struct sr__rng *r)
{
	uint64_t t = ck_pr_faa_64(&ticket, 1);

	r->s = mix(SR__SETTING(process_seed) ^ mix(t + 0x9e3779b97f4a7c15ull));
	r->gen = SR__SETTING(sr__g.gen);
}
