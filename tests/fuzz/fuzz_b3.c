/*
 * fuzz_b3.c - libFuzzer target for the B3 parsers.  Line 0 of the input
 * is the single `b3` field, lines 1-5 the x-b3-traceid, -spanid,
 * -parentspanid, -sampled and -flags fields (an empty line: absent).
 * Odd-length inputs use the b3 propagator, even ones b3multi, so both
 * inject forms are round-tripped.
 */
#include "fuzz_prop.h"

static const char *const names[] = { "b3", "x-b3-traceid", "x-b3-spanid",
				     "x-b3-parentspanid", "x-b3-sampled",
				     "x-b3-flags" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sr_propagator_t *single, *multi;
	static struct fp_carrier c;
	const uint8_t *line[6];
	size_t len[6];
	int n = fp_lines(data, size, line, len, 6);

	if (!single) {
		single = fp_prop("b3");
		multi = fp_prop("b3multi");
	}
	for (int i = 0; i < n; i++)
		if (len[i])
			fp_add(&c, names[i], strlen(names[i]), line[i], len[i]);
	fp_extract_check(size & 1 ? single : multi, &c);
	fp_clear(&c);
	return 0;
}
