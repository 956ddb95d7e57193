/*
 * fuzz_traceparent.c - libFuzzer target for the traceparent parser: the
 * input is the field value, extracted with the tracecontext propagator;
 * the invariants are those of fuzz_prop.h.
 */
#include "fuzz_prop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static sr_propagator_t *p;
	static struct fp_carrier c;

	if (!p)
		p = fp_prop("tracecontext");
	fp_add(&c, "traceparent", 11, data, size);
	fp_extract_check(p, &c);
	fp_clear(&c);
	return 0;
}
