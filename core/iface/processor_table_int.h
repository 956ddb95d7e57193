/*
 * processor_table_int.h - the seam between the core and the processors
 * layer, as exporter_table_int.h is for the exporters: the built-in list
 * and the plugin loader, defined by the processors layer
 * (processors/builtin.c, processors/plugin.c).  The core reaches every
 * processor only through its sr_processor_ops_t.
 */
#ifndef SR_PROCESSOR_TABLE_INT_H
#define SR_PROCESSOR_TABLE_INT_H

#include <stddef.h>

#include <spanring/spanring.h>

/* NULL-terminated list of the built-in processors' tables. */
extern const sr_processor_ops_t *const sr__builtin_processors[];

/*
 * Load the processor plugin named by `spec` ("plugin:/path/libfoo.so",
 * len bytes, not NUL-terminated).  Returns its table (kept loaded for the
 * life of the process); NULL with the reason, naming the variable and
 * path, in err.  Not hot path.
 */
const sr_processor_ops_t *sr__processor_plugin_load(const char *spec,
						    size_t len, char *err,
						    size_t err_len);

#endif /* SR_PROCESSOR_TABLE_INT_H */
