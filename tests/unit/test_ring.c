/*
 * test_ring.c - the ring against a FIFO model under random operations on
 * one thread (the two-thread version is stress_ring.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "ring_int.h"
#include "testutil.h"

static void test_ring_matches_fifo_model(void **state)
{
	enum { CAP = 16 };
	static struct sr__record recs[CAP];
	struct sr__ring r;
	uint32_t model[1 << 16], mhead = 0, mtail = 0, next = 1;
	uint64_t rng = sr_test_seed(7);

	(void)state;
	sr__ring_init(&r, recs, CAP);
	for (int op = 0; op < 200000; op++) {
		uint32_t n = 1 + (uint32_t)(sr_test_rand(&rng) % 5), first, head;

		if (sr_test_rand(&rng) % 2) {
			bool room = CAP - (mtail - mhead) >= n;
			bool ok = sr__ring_reserve_sp(&r, n, &first);

			assert_int_equal(ok, room);
			if (!ok)
				continue;
			for (uint32_t k = 0; k < n; k++) {
				memcpy(sr__ring_at(&r, first + k)->bytes, &next, 4);
				model[mtail++ & 0xffff] = next++;
			}
			sr__ring_commit_sp(&r, n);
		} else {
			uint32_t avail = sr__ring_peek_sc(&r, &head), take;

			assert_int_equal(avail, mtail - mhead);
			take = n < avail ? n : avail;
			for (uint32_t k = 0; k < take; k++) {
				uint32_t v;

				memcpy(&v, sr__ring_at(&r, head + k)->bytes, 4);
				assert_int_equal(v, model[mhead++ & 0xffff]);
			}
			sr__ring_release_sc(&r, take);
		}
		assert_int_equal(sr__ring_used(&r), mtail - mhead);
	}
	assert_true(r.high_water <= CAP);
}

static void test_ring_full_capacity_usable(void **state)
{
	static struct sr__record recs[8];
	struct sr__ring r;
	uint32_t first;

	(void)state;
	sr__ring_init(&r, recs, 8);
	assert_true(sr__ring_reserve_sp(&r, 8, &first));
	sr__ring_commit_sp(&r, 8);
	assert_false(sr__ring_reserve_sp(&r, 1, &first));
	assert_int_equal(sr__ring_used(&r), 8);
}

/* The drainer peeks once and releases in several steps while it copies;
 * each step gives the producer exactly that much room back. */
static void test_ring_releases_in_steps_after_one_peek(void **state)
{
	static struct sr__record recs[8];
	struct sr__ring r;
	uint32_t first, head;

	(void)state;
	sr__ring_init(&r, recs, 8);
	assert_true(sr__ring_reserve_sp(&r, 8, &first));
	sr__ring_commit_sp(&r, 8);
	assert_int_equal(sr__ring_peek_sc(&r, &head), 8);
	assert_int_equal(head, 0);
	sr__ring_release_sc(&r, 3);
	assert_false(sr__ring_reserve_sp(&r, 4, &first));
	assert_true(sr__ring_reserve_sp(&r, 3, &first));
	assert_int_equal(first, 8);
	sr__ring_commit_sp(&r, 3);
	sr__ring_release_sc(&r, 5);
	assert_int_equal(sr__ring_used(&r), 3);
	assert_int_equal(sr__ring_peek_sc(&r, &head), 3);
	assert_int_equal(head, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_matches_fifo_model),
		cmocka_unit_test(test_ring_full_capacity_usable),
		cmocka_unit_test(test_ring_releases_in_steps_after_one_peek),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
