/*
 * context.c - small helpers on the context value.
 */
#include "chars_int.h" /* sr__hex_encode */
#include "spanring_int.h"

static void hex(const uint8_t *in, size_t n, char *out)
{
	sr__hex_encode(in, n, out);
	out[2 * n] = '\0';
}

SR_API void sr_context_trace_id_hex(const sr_context_t *ctx, char out[33])
{
	hex(ctx->trace_id, 16, out);
}

SR_API void sr_context_span_id_hex(const sr_context_t *ctx, char out[17])
{
	hex(ctx->span_id, 8, out);
}
