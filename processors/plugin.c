/*
 * plugin.c - processors loaded from a shared object at start-up:
 * SPANRING_PROCESSORS=plugin:/path/to/libfoo.so (or the same entry in
 * sr_config_t.processors).
 *
 * The object exports
 *
 *     const sr_processor_ops_t *sr_processor_plugin_v1(void);
 *
 * returning a static table whose abi_version is SR_PROCESSOR_ABI_VERSION.
 * Opening and the entry's versioning are common/dso.c's, shared with the
 * exporter plugins; as there, the object is never unloaded (loading the
 * same path again gets the same mapping back from the dynamic loader),
 * and it calls the sr_proc_* functions of the library that loaded it, so
 * it must not link its own libspanring.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dso_int.h"
#include "processor_table_int.h"

#define VAR "SPANRING_PROCESSORS"

typedef const sr_processor_ops_t *(*entry_fn)(void);

const sr_processor_ops_t *sr__processor_plugin_load(const char *spec,
						    size_t len, char *err,
						    size_t err_len)
{
	const sr_processor_ops_t *ops = NULL;
	char *path;
	entry_fn entry;

	if (len <= 7) {
		snprintf(err, err_len, VAR "='plugin:': no path after 'plugin:'");
		return NULL;
	}
	if (!(path = strndup(spec + 7, len - 7))) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	*(void **)&entry = sr__dso_entry(VAR, "processor", path, err, err_len);
	if (entry && !(ops = entry()))
		snprintf(err, err_len, VAR "='plugin:%s': sr_processor_plugin_v1() "
			 "returned NULL", path);
	else if (ops && ops->abi_version != SR_PROCESSOR_ABI_VERSION) {
		snprintf(err, err_len, VAR "='plugin:%s': processor ABI version "
			 "%u, this library has %u", path, ops->abi_version,
			 SR_PROCESSOR_ABI_VERSION);
		ops = NULL;
	} else if (ops && (ops->size < offsetof(sr_processor_ops_t, shutdown) +
					       sizeof(ops->shutdown) ||
			   !ops->name || !*ops->name || !ops->init ||
			   !ops->process || !ops->shutdown)) {
		snprintf(err, err_len, VAR "='plugin:%s': the processor table "
			 "lacks a name, init, process or shutdown", path);
		ops = NULL;
	}
	free(path);
	return ops;
}
