/*
 * builtin.c - the exporters compiled into the library, by name.
 */
#include "exporter_int.h"
#include "exporter_table_int.h"

#include <stddef.h>

const sr_exporter_ops_t *const sr__builtin_exporters[] = {
	&sr__exporter_none,
	&sr__exporter_console,
	&sr__exporter_memory,
	&sr__exporter_otlp,
	&sr__exporter_zipkin,
	&sr__exporter_file,
	&sr__exporter_chrome,
	NULL,
};
