/*
 * numfmt.c - numbers as text (numfmt_int.h).
 */
#include "numfmt_int.h"

#include <stdio.h>
#include <stdlib.h>

size_t sr__u64_to_dec(char *dst, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return n;
}

size_t sr__fmt_double(char dst[SR__FMT_DOUBLE_MAX], double v)
{
	int n = 0;

	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(dst, SR__FMT_DOUBLE_MAX, "%.*g", prec, v);
		if (strtod(dst, NULL) == v)
			break;
	}
	return (size_t)n;
}
