/*
 * broken_plugin.c - plugins that must fail to load, one per compile-time
 * switch, for test_plugin.c:
 *
 *   BROKEN_ABI         the table says exporter ABI 99
 *   BROKEN_NO_DESTROY  the table lacks its mandatory destroy callback
 *   BROKEN_NULL        the entry point returns NULL
 *   BROKEN_NO_ENTRY    a shared object without sr_exporter_plugin_v1
 *   BROKEN_NEWER       only a future entry point, sr_exporter_plugin_v2
 */
#include <spanring/spanring.h>

#include <stddef.h>

static int b_create(void *ud, const sr_config_t *cfg, void **state, char *err,
		    size_t err_len)
{
	(void)ud; (void)cfg; (void)err; (void)err_len;
	*state = NULL;
	return 0;
}

static int b_export(void *state, const sr_batch_t *batch, uint64_t *rejected)
{
	(void)state; (void)batch; (void)rejected;
	return 0;
}

__attribute__((unused)) static void b_destroy(void *state, uint32_t timeout_ms)
{
	(void)state; (void)timeout_ms;
}

__attribute__((unused)) static const sr_exporter_ops_t ops = {
	.size = sizeof(sr_exporter_ops_t),
#ifdef BROKEN_ABI
	.abi_version = 99,
#else
	.abi_version = SR_EXPORTER_ABI_VERSION,
#endif
	.name = "broken",
	.create = b_create,
	.export_batch = b_export,
#ifndef BROKEN_NO_DESTROY
	.destroy = b_destroy,
#endif
};

#define EXPORT __attribute__((visibility("default")))

#if defined(BROKEN_NO_ENTRY)
EXPORT int not_a_spanring_plugin(void)
{
	return 42;
}
#elif defined(BROKEN_NEWER)
EXPORT const sr_exporter_ops_t *sr_exporter_plugin_v2(void)
{
	return &ops;
}
#else
EXPORT const sr_exporter_ops_t *sr_exporter_plugin_v1(void)
{
#ifdef BROKEN_NULL
	return NULL;
#else
	return &ops;
#endif
}
#endif
