/*
 * builtin.c - the processors compiled into the library, by name.
 */
#include "processor_int.h"
#include "processor_table_int.h"

#include <stddef.h>

const sr_processor_ops_t *const sr__builtin_processors[] = {
	&sr__processor_redact,
	&sr__processor_spanmetrics,
	&sr__processor_tail,
	NULL,
};
