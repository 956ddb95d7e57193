/*
 * testutil.c - see testutil.h.
 */
#include "testutil.h"

#include <inttypes.h>
#include <string.h>

uint64_t sr_test_seed(uint64_t def)
{
	const char *env = getenv("SR_TEST_SEED");
	uint64_t seed = env && *env ? strtoull(env, NULL, 0) : def;

	printf("seed: %" PRIu64 " (override with SR_TEST_SEED)\n", seed);
	fflush(stdout);
	return seed;
}

int sr_test_init_memory(void (*tweak)(sr_config_t *cfg))
{
	sr_config_t cfg;

	sr_config_init(&cfg);
	cfg.exporters = "memory";
	cfg.sampler = SR_SAMPLER_ALWAYS_ON;
	cfg.schedule_delay_ms = 50;
	if (tweak)
		tweak(&cfg);
	return sr_init(&cfg);
}

int sr_test_check_invariant(const sr_stats_t *st)
{
	uint64_t dropped = st->dropped_ring_full + st->dropped_limits +
			   st->dropped_queue_full + st->dropped_exporter +
			   st->dropped_shutdown + st->dropped_processor;

	if (st->sampled == st->exported + dropped)
		return 0;
	fprintf(stderr,
		"invariant broken: sampled %" PRIu64 " != exported %" PRIu64
		" + dropped %" PRIu64 " (ring_full %" PRIu64 " limits %" PRIu64
		" queue_full %" PRIu64 " exporter %" PRIu64 " shutdown %" PRIu64
		" processor %" PRIu64 ")\n",
		st->sampled, st->exported, dropped, st->dropped_ring_full,
		st->dropped_limits, st->dropped_queue_full,
		st->dropped_exporter, st->dropped_shutdown,
		st->dropped_processor);
	return -1;
}

const sr_span_data_t *sr_test_find_span(const char *name)
{
	size_t n = sr_memory_count(), len = strlen(name);

	for (size_t i = 0; i < n; i++) {
		const sr_span_data_t *s = sr_memory_get(i);
		if (s->name.len == len && memcmp(s->name.ptr, name, len) == 0)
			return s;
	}
	return NULL;
}
