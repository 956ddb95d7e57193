/*
 * fuzz_baggage.c - libFuzzer target for the W3C baggage parser: lines of
 * the input are baggage field lines, extracted with the baggage
 * propagator (round trip and the other invariants of fuzz_prop.h).
 */
#include "fuzz_prop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sr_propagator_t *p;
	static struct fp_carrier c;
	char *v;
	size_t n = fp_join(data, size, &v);

	if (!p)
		p = fp_prop("baggage");
	fp_add(&c, "baggage", 7, v, n);
	free(v);
	CHECK(fp_extract_check(p, &c) == SR_ENOTFOUND);
	fp_clear(&c);
	return 0;
}
