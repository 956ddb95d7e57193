/*
 * exporter_int.h - how the core reaches exporters: the table of built-in
 * exporters and the helpers exporters share.
 *
 * Each built-in exporter is one file in exporters/ defining one
 * `const sr_exporter_ops_t sr__exporter_<name>` and nothing else visible;
 * builtin.c lists them.  Applications and plugins use the same table type
 * through sr_exporter_register() (see <spanring/exporter.h>).
 */
#ifndef SR_EXPORTER_INT_H
#define SR_EXPORTER_INT_H

#include <spanring/spanring.h>

extern const sr_exporter_ops_t sr__exporter_none;
extern const sr_exporter_ops_t sr__exporter_console;
extern const sr_exporter_ops_t sr__exporter_memory;
extern const sr_exporter_ops_t sr__exporter_otlp;
extern const sr_exporter_ops_t sr__exporter_zipkin;
extern const sr_exporter_ops_t sr__exporter_file;
extern const sr_exporter_ops_t sr__exporter_chrome;

/* NULL-terminated list of the built-ins, in builtin.c. */
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

/* Reset the memory exporter's kept spans (called by sr_init()). */
void sr__memory_reset(void);

/* Fork child: forget the parent's kept spans and re-create the lock. */
void sr__memory_after_fork_child(void);

#endif /* SR_EXPORTER_INT_H */
