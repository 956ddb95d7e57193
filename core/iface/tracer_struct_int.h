/*
 * tracer_struct_int.h - what a tracer is behind the public header's
 * opaque sr_tracer_t: the core creates them (tracer.c), exporters read
 * them (the OTLP encoder groups spans by `index`).  Immutable once
 * sr_tracer_get() returned it.
 */
#ifndef SR_TRACER_STRUCT_INT_H
#define SR_TRACER_STRUCT_INT_H

#include <stdint.h>

struct sr_tracer {
	uint16_t index;         /* < SR_MAX_TRACERS, dense                   */
	const char *name;
	const char *version;
};

#endif /* SR_TRACER_STRUCT_INT_H */
