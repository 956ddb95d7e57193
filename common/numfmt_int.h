/*
 * numfmt_int.h - numbers as text, in one place (numfmt.c), for every
 * writer of text (JSON, the console).
 */
#ifndef SR_NUMFMT_INT_H
#define SR_NUMFMT_INT_H

#include <stddef.h>
#include <stdint.h>

/* Decimal digits of v into dst (needs 20 bytes); returns the count. */
size_t sr__u64_to_dec(char *dst, uint64_t v);

/* Bytes sr__fmt_double() may write, NUL included. */
#define SR__FMT_DOUBLE_MAX 32

/* The shortest of %.15g, %.16g, %.17g that reads back as the same finite
 * double, NUL-terminated in dst; returns its length.  The caller handles
 * NaN and infinities, which each format spells its own way.  Always '.'
 * for the decimal point, whatever locale the application set. */
size_t sr__fmt_double(char dst[SR__FMT_DOUBLE_MAX], double v);

/* strtod in the C locale ('.' is the decimal point), as a parser of
 * configuration and wire text needs whatever locale the application set. */
double sr__strtod_c(const char *s, char **end);

#endif /* SR_NUMFMT_INT_H */
