/*
 * fuzz_jaeger.c - libFuzzer target for the Jaeger parsers.  Line 0 of the
 * input is the uber-trace-id value; each further line "name:value" is
 * one more field, so uberctx- baggage (and fields it must ignore) come
 * from the input too.
 */
#include "fuzz_prop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sr_propagator_t *p;
	static struct fp_carrier c;
	const uint8_t *line[FP_FIELDS];
	size_t len[FP_FIELDS];
	int n = fp_lines(data, size, line, len, FP_FIELDS);

	if (!p)
		p = fp_prop("jaeger");
	if (n > 0)
		fp_add(&c, "uber-trace-id", 13, line[0], len[0]);
	for (int i = 1; i < n; i++) {
		const uint8_t *colon = memchr(line[i], ':', len[i]);
		if (!colon)
			continue;
		fp_add(&c, (const char *)line[i], (size_t)(colon - line[i]),
		       colon + 1, len[i] - (size_t)(colon - line[i]) - 1);
	}
	fp_extract_check(p, &c);
	fp_clear(&c);
	return 0;
}
