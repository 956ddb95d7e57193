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

bool sr_test_attr_int(const sr_span_data_t *d, const char *key, int64_t *out)
{
	for (uint32_t i = 0; i < d->attr_count; i++)
		if (d->attrs[i].key.len == strlen(key) &&
		    !memcmp(d->attrs[i].key.ptr, key, strlen(key)) &&
		    d->attrs[i].type == SR_ATTR_INT) {
			*out = d->attrs[i].v.i;
			return true;
		}
	return false;
}

struct check_args {
	bool (*ok)(const sr_span_data_t *);
	uint64_t *checked, *bad;
};

static int check_create(void *ud, const sr_config_t *cfg, void **st, char *e,
			size_t n)
{
	(void)cfg; (void)e; (void)n;
	*st = ud;
	return 0;
}

static int check_export(void *st, const sr_batch_t *b, uint64_t *rej)
{
	const struct check_args *a = st;
	size_t n = sr_batch_count(b);

	(void)rej;
	for (size_t i = 0; i < n; i++) {
		sr_span_data_t d = { .size = sizeof(d) };

		if (sr_batch_span(b, i, &d) != 0 || !a->ok(&d))
			(*a->bad)++;
		(*a->checked)++;
	}
	return 0;
}

static void check_destroy(void *st, uint32_t t) { (void)st; (void)t; }

int sr_test_register_check(bool (*ok)(const sr_span_data_t *),
			   uint64_t *checked, uint64_t *bad)
{
	static const sr_exporter_ops_t check = {
		sizeof(sr_exporter_ops_t), SR_EXPORTER_ABI_VERSION, "check",
		check_create, check_export, NULL, check_destroy, NULL, NULL, NULL };
	static struct check_args args;

	args.ok = ok;
	args.checked = checked;
	args.bad = bad;
	return sr_exporter_register(&check, &args);
}

int sr_test_check_invariant(const sr_stats_t *st)
{
	uint64_t dropped = st->dropped_ring_full + st->dropped_limits +
			   st->dropped_queue_full + st->dropped_exporter +
			   st->dropped_shutdown + st->dropped_reentrant +
			   st->dropped_processor;

	if (st->sampled == st->exported + dropped + st->open)
		return 0;
	fprintf(stderr,
		"invariant broken: sampled %" PRIu64 " != exported %" PRIu64
		" + dropped %" PRIu64 " + open %" PRIu64 " (ring_full %" PRIu64 " limits %" PRIu64
		" queue_full %" PRIu64 " exporter %" PRIu64 " shutdown %" PRIu64
		" reentrant %" PRIu64 " processor %" PRIu64
		"; records discarded %" PRIu64 ")\n",
		st->sampled, st->exported, dropped, st->open, st->dropped_ring_full,
		st->dropped_limits, st->dropped_queue_full,
		st->dropped_exporter, st->dropped_shutdown,
		st->dropped_reentrant, st->dropped_processor,
		st->records_discarded);
	return -1;
}

uint64_t sr_test_proc_rule(const sr_processor_stats_t *ps, const char *name,
			   bool dropped)
{
	for (uint32_t i = 0; i < ps->nrules; i++)
		if (!strcmp(ps->rules[i].name, name))
			return dropped ? ps->rules[i].dropped : ps->rules[i].noted;
	return 0;
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
