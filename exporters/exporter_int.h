/*
 * exporter_int.h - the built-in exporters' tables, for builtin.c (which
 * lists them for the core, see core/iface/exporter_table_int.h) and for
 * white-box tests.
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

#endif /* SR_EXPORTER_INT_H */
