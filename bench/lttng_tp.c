/*
 * lttng_tp.c - instantiates the spanring_bench tracepoint provider
 * (lttng_tp.h) inside spanring-bench itself, statically: the probes
 * register from a constructor, as an application that embeds its
 * provider does.
 */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "lttng_tp.h"
