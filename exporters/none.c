/*
 * none.c - the "none" exporter: accepts every batch and throws it away.
 *
 * Selecting OTEL_TRACES_EXPORTER=none keeps the whole pipeline running
 * (sampling, rings, drainer, batching, stats) while sending spans
 * nowhere, which is what overhead measurements and the accounting tests
 * want: every sampled span is still counted as exported or dropped.
 * export_batch does not even look at the batch, so a batch costs one
 * indirect call on the exporter's worker thread.
 *
 * It keeps no state; the state pointer handed back is a static dummy so
 * that the core never sees NULL from a successful create().
 */
#include "exporter_int.h"

static char none_state; /* address only: never read or written */

static int none_create(void *ud, const sr_config_t *cfg, void **state,
		       char *err, size_t err_len)
{
	*state = &none_state;
	return 0;
}

static int none_export(void *state, const sr_batch_t *batch,
		       uint64_t *rejected)
{
	return 0;
}

static void none_destroy(void *state, uint32_t timeout_ms)
{
}

const sr_exporter_ops_t sr__exporter_none = {
	.size = sizeof(sr_exporter_ops_t),
	.abi_version = SR_EXPORTER_ABI_VERSION,
	.name = "none",
	.create = none_create,
	.export_batch = none_export,
	.flush = NULL,
	.destroy = none_destroy,
};
