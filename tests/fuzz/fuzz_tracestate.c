/*
 * fuzz_tracestate.c - libFuzzer target for the tracestate parser: lines
 * of the input are tracestate field lines (several lines exercise the
 * combining of repeated fields) under a valid traceparent; the whole input
 * also goes through sr_context_tracestate_parse(), and a first byte below
 * 0x20 picks a key to set and delete through the API afterwards.
 */
#include "fuzz_prop.h"

#define TP "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sr_propagator_t *p;
	static struct fp_carrier c;
	const uint8_t *line[8];
	size_t len[8];
	int n = fp_lines(data, size, line, len, 8);
	sr_context_t ctx;
	char *copy;

	if (!p)
		p = fp_prop("tracecontext");
	fp_add(&c, "traceparent", 11, TP, strlen(TP));
	/* One combined field: repeated lines joined with ',' as a carrier
	 * must; the parser sees one value. */
	{
		size_t o = fp_join(data, size, &copy);
		fp_add(&c, "tracestate", 10, copy, o);
		free(copy);
	}
	FP_CHECK(fp_extract_check(p, &c) == 0);
	fp_clear(&c);

	/* The API parser on the raw bytes (exact-size copy, no NUL). */
	memset(&ctx, 0, sizeof(ctx));
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	if (sr_context_tracestate_parse(&ctx, copy, size, &ctx) == 0 &&
	    size && data[0] < 0x20 && n > 1) {
		char key[64], val[300];
		size_t kl = len[1] < 63 ? len[1] : 63;
		memcpy(key, line[1], kl);
		key[kl] = '\0';
		snprintf(val, sizeof(val), "%.*s", (int)(n > 2 ? len[2] : 0),
			 n > 2 ? (const char *)line[2] : "");
		if (sr_context_tracestate_set(&ctx, key, val, &ctx) == 0) {
			char got[300];
			FP_CHECK(sr_context_tracestate_get(&ctx, key, got,
							   sizeof(got), NULL) == 0);
			FP_CHECK(strcmp(got, val) == 0);
			FP_CHECK(sr_context_tracestate_delete(&ctx, key, &ctx) == 0);
			FP_CHECK(sr_context_tracestate_get(&ctx, key, got,
							   sizeof(got), NULL) ==
				 SR_ENOTFOUND);
		}
	}
	free(copy);
	return 0;
}
