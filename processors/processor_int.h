/*
 * processor_int.h - the built-in processors' tables (processors/builtin.c
 * lists them).  A built-in processor uses only the public processor
 * interface (<spanring/processor.h>), as a plugin would.
 */
#ifndef SR_PROCESSOR_INT_H
#define SR_PROCESSOR_INT_H

#include <spanring/spanring.h>

extern const sr_processor_ops_t sr__processor_redact;
extern const sr_processor_ops_t sr__processor_spanmetrics;
extern const sr_processor_ops_t sr__processor_tail;

#endif /* SR_PROCESSOR_INT_H */
