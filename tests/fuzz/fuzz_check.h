/*
 * fuzz_check.h - what every libFuzzer target here shares besides the
 * sanitizers' own checks: CHECK(c), which aborts with the broken
 * invariant's text, so that libFuzzer keeps the input as a crash.  A
 * target checks what its code documents, not only "no crash".
 */
#ifndef SR_FUZZ_CHECK_H
#define SR_FUZZ_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                        \
	do {                                                            \
		if (!(c)) {                                             \
			fprintf(stderr, "invariant broken: %s\n", #c);  \
			abort();                                        \
		}                                                       \
	} while (0)

#endif /* SR_FUZZ_CHECK_H */
