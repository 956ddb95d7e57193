/*
 * chars.c - the character tables of chars_int.h, 256 entries each, so a
 * parser tests one byte with one load and no locale.
 *
 * hexval_lc   W3C HEXDIGLC and B3 (lowercase only), 0xff otherwise
 * hexval_any  Jaeger ids (its clients parse with strtoull: both cases)
 * tchar       RFC 9110 token characters (baggage keys)
 * baggage_octet  W3C baggage value characters, unencoded
 */
#include "chars_int.h"

/* The tables start from a range default and override single entries,
 * which is the point, not a mistake. */
#if defined(__clang__)
#pragma clang diagnostic ignored "-Winitializer-overrides"
#elif defined(__GNUC__)
#pragma GCC diagnostic ignored "-Woverride-init"
#endif

#define HEX_LC                                                             \
	['0'] = 0, ['1'] = 1, ['2'] = 2, ['3'] = 3, ['4'] = 4, ['5'] = 5,  \
	['6'] = 6, ['7'] = 7, ['8'] = 8, ['9'] = 9, ['a'] = 10, ['b'] = 11, \
	['c'] = 12, ['d'] = 13, ['e'] = 14, ['f'] = 15

const uint8_t sr__hexval_lc[256] = { [0 ... 255] = 0xff, HEX_LC };

const uint8_t sr__hexval_any[256] = {
	[0 ... 255] = 0xff, HEX_LC,
	['A'] = 10, ['B'] = 11, ['C'] = 12, ['D'] = 13, ['E'] = 14, ['F'] = 15
};

const char sr__hexdig[16] = "0123456789abcdef";

/* tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 *         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
const uint8_t sr__tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1,
	['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1
};

/* baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E */
const uint8_t sr__baggage_octet[256] = {
	[0x21] = 1, [0x23 ... 0x2b] = 1, [0x2d ... 0x3a] = 1,
	[0x3c ... 0x5b] = 1, [0x5d ... 0x7e] = 1
};
