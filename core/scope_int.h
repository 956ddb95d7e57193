/*
 * scope_int.h - the per-thread active-span stack.
 *
 * A scope entry is a copy of the context (not a pointer to the span), so
 * a span may end, move or belong to another thread while it is current
 * somewhere.  Each push gets a fresh non-zero cookie; exiting checks the
 * cookie at its depth, which is how out-of-order closes are caught.
 * Owner-thread only: nothing here is shared.
 */
#ifndef SR_SCOPE_INT_H
#define SR_SCOPE_INT_H

#include "tls_int.h"

/* Current context of this thread or NULL.  Hot path. */
static inline const sr_context_t *sr__scope_top(void)
{
	uint32_t d = sr__tls_scope.depth;

	return d ? &sr__tls_scope.stack[d - 1] : NULL;
}

uint64_t sr__scope_errors(void);

/* span_start.c: sr_span_context() into *out. */
void sr__span_context_to(const sr_span_t *span, sr_context_t *out);

#endif /* SR_SCOPE_INT_H */
