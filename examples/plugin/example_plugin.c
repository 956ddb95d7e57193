/*
 * example_plugin.c - an exporter loaded at start-up from a shared object:
 *
 *     OTEL_TRACES_EXPORTER=plugin:/path/to/libspanring_example_plugin.so
 *
 * It keeps, per span name, the number of spans, how many ended with status
 * ERROR and their total and longest duration, and at shutdown writes one
 * line per name to SPANRING_EXAMPLE_OUTPUT (a path; stderr when unset):
 *
 *     example: GET /api/users/{id} spans=120 errors=3 total_us=41234 max_us=1890
 *
 * What a plugin needs, all shown here:
 *   - one exported function, sr_exporter_plugin_v1, returning a static
 *     sr_exporter_ops_t with abi_version = SR_EXPORTER_ABI_VERSION (the
 *     library refuses any other version, and any table without name,
 *     create, export_batch and destroy);
 *   - the batch API of <spanring/spanring.h> (sr_batch_count,
 *     sr_batch_span), resolved from the process that loads the plugin:
 *     build it as a module that does not link libspanring itself;
 *   - all state in the instance create() returns: export_batch runs on
 *     the exporter's own worker thread, so it needs no locks, and may
 *     block (a slow plugin only makes itself miss batches).
 * Views from sr_batch_span() are valid until the next call, so names are
 * copied.
 *
 * Left out: spans whose name does not fit the table (MAX_NAMES distinct
 * names) are summed under "(other)".
 */
#include <spanring/spanring.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 256
#define NAME_MAX_LEN 127

struct entry {
	char name[NAME_MAX_LEN + 1];
	uint64_t spans, errors, total_us, max_us;
};

struct example {
	FILE *out;
	bool owned;
	size_t n;
	struct entry other;
	struct entry e[MAX_NAMES];
};

static struct entry *entry_for(struct example *x, sr_str_t name)
{
	size_t len = name.len > NAME_MAX_LEN ? NAME_MAX_LEN : name.len;

	for (size_t i = 0; i < x->n; i++)
		if (strlen(x->e[i].name) == len &&
		    memcmp(x->e[i].name, name.ptr, len) == 0)
			return &x->e[i];
	if (x->n == MAX_NAMES)
		return &x->other;
	memcpy(x->e[x->n].name, name.ptr, len);
	x->e[x->n].name[len] = '\0';
	return &x->e[x->n++];
}

static int example_create(void *ud, const sr_config_t *cfg, void **state,
			  char *err, size_t err_len)
{
	const char *path = getenv("SPANRING_EXAMPLE_OUTPUT");
	struct example *x = calloc(1, sizeof(*x));

	(void)ud;
	(void)cfg;
	if (!x)
		return SR_ENOMEM;
	strcpy(x->other.name, "(other)");
	x->out = stderr;
	if (path && *path) {
		if (!(x->out = fopen(path, "w"))) {
			snprintf(err, err_len, "SPANRING_EXAMPLE_OUTPUT='%s': %s",
				 path, strerror(errno));
			free(x);
			return SR_EIO;
		}
		x->owned = true;
	}
	*state = x;
	return 0;
}

static int example_export(void *state, const sr_batch_t *batch,
			  uint64_t *rejected)
{
	struct example *x = state;
	size_t n = sr_batch_count(batch);

	for (size_t i = 0; i < n; i++) {
		sr_span_data_t s = { .size = sizeof(s) };
		struct entry *e;
		uint64_t us;

		if (sr_batch_span(batch, i, &s) != 0) {
			(*rejected)++;
			continue;
		}
		e = entry_for(x, s.name);
		us = s.end_ns > s.start_ns ? (s.end_ns - s.start_ns) / 1000 : 0;
		e->spans++;
		e->errors += s.status == SR_STATUS_ERROR;
		e->total_us += us;
		if (us > e->max_us)
			e->max_us = us;
	}
	return 0;
}

static void print_entry(FILE *f, const struct entry *e)
{
	fprintf(f, "example: %s spans=%" PRIu64 " errors=%" PRIu64
		" total_us=%" PRIu64 " max_us=%" PRIu64 "\n", e->name, e->spans,
		e->errors, e->total_us, e->max_us);
}

static void example_destroy(void *state, uint32_t timeout_ms)
{
	struct example *x = state;

	(void)timeout_ms;
	for (size_t i = 0; i < x->n; i++)
		print_entry(x->out, &x->e[i]);
	if (x->other.spans)
		print_entry(x->out, &x->other);
	if (x->owned)
		fclose(x->out);
	else
		fflush(x->out);
	free(x);
}

static const sr_exporter_ops_t example_ops = {
	.size = sizeof(sr_exporter_ops_t),
	.abi_version = SR_EXPORTER_ABI_VERSION,
	.name = "example",
	.create = example_create,
	.export_batch = example_export,
	.flush = NULL,
	.destroy = example_destroy,
	.cancel = NULL,
};

/* The entry point the library looks up (exporters/infra/plugin.c). */
__attribute__((visibility("default")))
const sr_exporter_ops_t *sr_exporter_plugin_v1(void)
{
	return &example_ops;
}
