/*
 * context.c - small helpers on the context value.
 */
#include "chars_int.h" /* sr__hex_encode */
#include "error_int.h"
#include "spanring_int.h"

static void hex(const uint8_t *in, size_t n, char *out)
{
	sr__hex_encode(in, n, out);
	out[2 * n] = '\0';
}

/* NULL out: nothing to write; NULL ctx: out gets "" (not an id). */
static bool hex_args(const char *call, const sr_context_t *ctx, char *out)
{
	if (!out) {
		sr__null_arg(call, "out");
		return false;
	}
	if (!ctx) {
		out[0] = '\0';
		sr__null_arg(call, "ctx");
		return false;
	}
	return true;
}

SR_API void sr_context_trace_id_hex(const sr_context_t *ctx, char out[33])
{
	if (hex_args("sr_context_trace_id_hex", ctx, out))
		hex(ctx->trace_id, 16, out);
}

SR_API void sr_context_span_id_hex(const sr_context_t *ctx, char out[17])
{
	if (hex_args("sr_context_span_id_hex", ctx, out))
		hex(ctx->span_id, 8, out);
}
