/*
 * exporter_table_int.h - the seam between the core and the exporters
 * layer: what the core links against but never names one by one.  The
 * exporters layer defines these (exporters/builtin.c, infra/plugin.c);
 * the core reaches every exporter only through its sr_exporter_ops_t
 * (<spanring/exporter.h>), optional hooks included.
 */
#ifndef SR_EXPORTER_TABLE_INT_H
#define SR_EXPORTER_TABLE_INT_H

#include <stddef.h>

#include <spanring/spanring.h>

/* NULL-terminated list of the built-in exporters' tables. */
extern const sr_exporter_ops_t *const sr__builtin_exporters[];

/*
 * Load the exporter plugin named by `spec` ("plugin:/path/libfoo.so", len
 * bytes, not NUL-terminated), see plugin.c.  Returns its table (kept
 * loaded for the life of the process) and sets *ud for its create();
 * NULL with the reason, naming the path, in err.  Not hot path; takes a
 * lock.
 */
const sr_exporter_ops_t *sr__plugin_load(const char *spec, size_t len,
					 void **ud, char *err, size_t err_len);

#endif /* SR_EXPORTER_TABLE_INT_H */
