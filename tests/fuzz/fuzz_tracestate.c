/*
 * fuzz_tracestate.c - libFuzzer target for the tracestate parser: lines
 * of the input are tracestate field lines (several lines exercise the
 * combining of repeated fields) under a valid traceparent; the whole input
 * also goes through sr_context_tracestate_parse(), and a first byte below
 * 0x20 picks a key to set and delete through the API afterwards.  The
 * lines also go, one field each, through the stock carrier
 * (sr_headers_t), which must combine them exactly as the joined field.
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
	CHECK(fp_extract_check(p, &c) == 0);
	fp_clear(&c);

	/* The stock carrier: each line a field of its own. */
	{
		sr_header_t f[9];
		sr_headers_t *h = malloc(sizeof(*h));
		sr_context_t a, b;
		char ta[600], tb[600];
		int ra, rb;

		f[0] = (sr_header_t){ "traceparent", 11, TP, strlen(TP) };
		for (int i = 0; i < n; i++)
			f[i + 1] = (sr_header_t){ i & 1 ? "TraceState" : "tracestate", 10,
						  (const char *)line[i], len[i] };
		sr_headers_init(h, f, (size_t)n + 1);
		CHECK(sr_propagator_extract(p, h, sr_headers_getter(), &a) == 0);
		size_t o = fp_join(data, size, &copy);
		fp_add(&c, "traceparent", 11, TP, strlen(TP));
		fp_add(&c, "tracestate", 10, copy, o);
		free(copy);
		CHECK(sr_propagator_extract(p, &c, &fp_getter, &b) == 0);
		fp_clear(&c);
		ra = sr_context_tracestate(&a, ta, sizeof(ta), NULL);
		rb = sr_context_tracestate(&b, tb, sizeof(tb), NULL);
		CHECK(ra == rb && (ra != 0 || strcmp(ta, tb) == 0));
		free(h);
	}

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
			CHECK(sr_context_tracestate_get(&ctx, key, got,
							   sizeof(got), NULL) == 0);
			CHECK(strcmp(got, val) == 0);
			CHECK(sr_context_tracestate_delete(&ctx, key, &ctx) == 0);
			CHECK(sr_context_tracestate_get(&ctx, key, got,
							   sizeof(got), NULL) ==
				 SR_ENOTFOUND);
		}
	}
	free(copy);
	return 0;
}
