/*
 * testutil.h - shared helpers for spanring's tests.
 *
 * Tests use cmocka for unit tests (one behaviour per test function) and
 * plain main() + SR_CHECK for stress tests.  Seeds: every randomised test
 * takes its seed from sr_test_seed(), which prints it and honours
 * SR_TEST_SEED.
 */
#ifndef SR_TESTUTIL_H
#define SR_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <spanring/spanring.h>

/* Seed for randomised tests: SR_TEST_SEED if set, else `def`; printed. */
uint64_t sr_test_seed(uint64_t def);

/* Small deterministic PRNG (splitmix64) for tests. */
static inline uint64_t sr_test_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Init with the memory exporter only, always_on sampling, no env. The
 * config may be tweaked by `tweak` (may be NULL) before sr_init(). */
int sr_test_init_memory(void (*tweak)(sr_config_t *cfg));

/* Assert the accounting invariant on a flushed/shut-down pipeline:
 * sampled == exported + sum(dropped_*).  Returns 0 or prints and -1. */
int sr_test_check_invariant(const sr_stats_t *st);

/* Find the first kept span (memory exporter) with this name, or NULL. */
const sr_span_data_t *sr_test_find_span(const char *name);

/* Failure check for non-cmocka tests. */
#define SR_CHECK(cond)                                                       \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                            \
			exit(1);                                             \
		}                                                            \
	} while (0)

#endif /* SR_TESTUTIL_H */
