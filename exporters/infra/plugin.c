/*
 * plugin.c - exporters loaded from a shared object at start-up:
 * OTEL_TRACES_EXPORTER=plugin:/path/to/libfoo.so (or the same entry in
 * sr_config_t.exporters).
 *
 * The ABI: the object exports
 *
 *     const sr_exporter_ops_t *sr_exporter_plugin_v1(void);
 *
 * returning a static table whose abi_version is SR_EXPORTER_ABI_VERSION
 * (2).  The "_v1" in the symbol is the version of this entry point: a
 * later, incompatible entry will be sr_exporter_plugin_v2, so an old
 * library finds no v1 symbol in a new plugin (and says which version the
 * plugin offers) instead of calling a function of the wrong type.  The
 * table's abi_version then guards the table itself.  The plugin calls the
 * batch API (sr_batch_count, sr_batch_span, sr_batch_resource) of the
 * library that loaded it, resolved from the process: it must not link its
 * own copy of libspanring, and an application that links spanring
 * statically must export its symbols (-rdynamic, CMake ENABLE_EXPORTS)
 * for a plugin to load.
 *
 * Loading is dlopen(RTLD_NOW | RTLD_LOCAL): a missing symbol is found at
 * start-up, not at the first batch.  Each failure (no such file, not a
 * shared object, unresolved symbols, no entry symbol, NULL table, ABI
 * version mismatch, missing mandatory callback) is an error naming the
 * variable and the path; the pipeline then starts with its other
 * exporters.
 *
 * Lifetime: a loaded object is never dlclose()d.  An instance's code may
 * still run after sr_shutdown() returned (a worker abandoned past the
 * deadline, see exporter_worker.c), and unloading code under a running
 * thread would crash it; the handle is remembered so that loading the same
 * path again (a later sr_init(), a fork child) reuses it.  At most
 * MAX_PLUGINS distinct objects per process.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dso_int.h"
#include "exporter_table_int.h"

#define PREFIX "plugin:"
#define ENTRY "sr_exporter_plugin_v1"
#define MAX_PLUGINS 16

typedef const sr_exporter_ops_t *(*entry_fn)(void);

static struct {
	char *path;             /* malloc'd, never freed (see above)        */
	const sr_exporter_ops_t *ops;
} loaded[MAX_PLUGINS];
static unsigned nloaded;
static pthread_mutex_t loaded_lock = PTHREAD_MUTEX_INITIALIZER;

#define VAR "OTEL_TRACES_EXPORTER"

static int check_table(const sr_exporter_ops_t *ops, const char *path,
		       char *err, size_t err_len)
{
	if (!ops) {
		snprintf(err, err_len, VAR "='" PREFIX "%s': " ENTRY "() returned NULL",
			 path);
		return SR_EINVAL;
	}
	if (ops->abi_version != SR_EXPORTER_ABI_VERSION) {
		snprintf(err, err_len, VAR "='" PREFIX "%s': exporter ABI version %u, "
			 "this library has %u", path, ops->abi_version,
			 SR_EXPORTER_ABI_VERSION);
		return SR_EVERSION;
	}
	if (ops->size < offsetof(sr_exporter_ops_t, destroy) + sizeof(ops->destroy) ||
	    !ops->name || !*ops->name || !ops->create || !ops->export_batch ||
	    !ops->destroy) {
		snprintf(err, err_len, VAR "='" PREFIX "%s': the exporter table lacks "
			 "a name, create, export_batch or destroy", path);
		return SR_EINVAL;
	}
	return 0;
}

const sr_exporter_ops_t *sr__plugin_load(const char *spec, size_t len,
					 void **ud, char *err, size_t err_len)
{
	const sr_exporter_ops_t *ops = NULL;
	const size_t plen = sizeof(PREFIX) - 1;
	char *path;
	entry_fn entry;

	*ud = NULL;
	if (len < plen || memcmp(spec, PREFIX, plen) != 0)
		return NULL;
	if (len == plen) {
		snprintf(err, err_len, VAR "='" PREFIX "': no path after '" PREFIX "'");
		return NULL;
	}
	if (!(path = strndup(spec + plen, len - plen))) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}

	pthread_mutex_lock(&loaded_lock);
	for (unsigned i = 0; i < nloaded; i++)
		if (!strcmp(loaded[i].path, path)) {
			ops = loaded[i].ops;
			goto out;
		}
	if (nloaded == MAX_PLUGINS) {
		snprintf(err, err_len, VAR "='" PREFIX "%s': more than %d plugins",
			 path, MAX_PLUGINS);
		goto out;
	}
	*(void **)&entry = sr__dso_entry(VAR, "exporter", path, err, err_len);
	if (!entry)
		goto out;
	ops = entry();
	if (check_table(ops, path, err, err_len) != 0) {
		ops = NULL;
		/* Its code ran (the entry), but no instance exists: still,
		 * keep it mapped, as its constructors may have started
		 * anything. */
		goto out;
	}
	loaded[nloaded].path = path;
	loaded[nloaded].ops = ops;
	nloaded++;
	path = NULL;
out:
	pthread_mutex_unlock(&loaded_lock);
	free(path);
	return ops;
}
