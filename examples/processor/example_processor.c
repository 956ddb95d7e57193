/*
 * example_processor.c - a processor plugin: drops health-check spans and
 * tags the others, on the library's thread.
 *
 *   SPANRING_PROCESSORS=plugin:$PWD/build/examples/libspanring_example_processor.so \
 *       ./build/examples/spanring-demo
 *
 * A processor is a table of callbacks (<spanring/processor.h>); a plugin
 * exports sr_processor_plugin_v1() returning it.  It is built as a module
 * that does not link libspanring: sr_proc_* resolve to the library of the
 * process that loads it.  process() runs on the drainer thread, once per
 * batch, before any exporter sees the batch; it must not block.
 */
#include <spanring/spanring.h>
#include <stdlib.h>
#include <string.h>

/* Enough for every attribute a span can carry with the default limits;
 * allocated once, in init: processors do not allocate per batch. */
struct example {
	sr_attr_view_t *attrs;
	uint32_t cap;
};

static int ex_init(void *ud, const sr_config_t *cfg, void **state, char *err,
		   size_t err_len)
{
	struct example *x = calloc(1, sizeof(*x));

	(void)ud;
	(void)err;
	(void)err_len;
	if (!x)
		return SR_ENOMEM;
	x->cap = cfg->attr_count_limit + 1;
	if (!(x->attrs = calloc(x->cap, sizeof(*x->attrs)))) {
		free(x);
		return SR_ENOMEM;
	}
	*state = x;
	return 0;
}

static void ex_process(void *state, sr_proc_batch_t *pb)
{
	struct example *x = state;
	size_t n = sr_proc_count(pb);

	for (size_t i = 0; i < n; i++) {
		sr_span_data_t s = { .size = sizeof(s) };

		if (sr_proc_span(pb, i, &s) != 0)
			continue;
		if (s.name.len >= 6 && !memcmp(s.name.ptr, "health", 6)) {
			sr_proc_drop(pb, i, "health_check"); /* counted */
			continue;
		}
		if (s.attr_count >= x->cap)
			continue;
		/* Keep every attribute and add one: the new array is copied
		 * by sr_proc_span_set; the strings it points at (the span's
		 * own, a literal) stay where they are. */
		memcpy(x->attrs, s.attrs, s.attr_count * sizeof(*s.attrs));
		x->attrs[s.attr_count] = (sr_attr_view_t){
			.key = { "example.processed", 17 },
			.type = SR_ATTR_BOOL,
			.v.b = true,
		};
		s.attrs = x->attrs;
		s.attr_count++;
		if (sr_proc_span_set(pb, i, &s) == 0)
			sr_proc_note(pb, "tagged", 1);
	}
}

static void ex_shutdown(void *state)
{
	struct example *x = state;

	free(x->attrs);
	free(x);
}

static const sr_processor_ops_t ops = {
	.size = sizeof(sr_processor_ops_t),
	.abi_version = SR_PROCESSOR_ABI_VERSION,
	.name = "example",
	.init = ex_init,
	.process = ex_process,
	.shutdown = ex_shutdown,
};

__attribute__((visibility("default"))) const sr_processor_ops_t *
sr_processor_plugin_v1(void)
{
	return &ops;
}
