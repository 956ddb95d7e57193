/*
 * tracer_int.h - tracer-table counters for stats and tests (tracer.c).
 */
#ifndef SR_TRACER_INT_H
#define SR_TRACER_INT_H

#include <stdint.h>

/* sr_tracer_get() calls that returned the default tracer because the
 * table was full (SR_MAX_TRACERS) or copying the names failed.  Since
 * process start; any thread. */
uint64_t sr__tracer_overflow(void);

/* Tracers in the table, the default one included (1..SR_MAX_TRACERS). */
uint32_t sr__tracer_count(void);

#endif /* SR_TRACER_INT_H */
