/*
 * chars_int.h - character tables and hex codecs, locale-free: a byte is
 * classified with one table load (chars.c holds the tables).  Used by the
 * propagation parsers, the ids the core prints and the exporters' hex.
 *
 * hexval_lc   W3C HEXDIGLC and B3 (lowercase only), 0xff otherwise
 * hexval_any  Jaeger ids, HTTP headers (both cases)
 * tchar       RFC 9110 token characters (baggage keys)
 * baggage_octet  W3C baggage value characters, unencoded
 */
#ifndef SR_CHARS_INT_H
#define SR_CHARS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Hex digit value, or 0xff.  sr__hexval_lc accepts only lowercase. */
extern const uint8_t sr__hexval_lc[256];
extern const uint8_t sr__hexval_any[256];
extern const char sr__hexdig[16];
extern const uint8_t sr__baggage_octet[256];
extern const uint8_t sr__tchar[256];

/*
 * Decode 2*n hex chars into n bytes with the given table; false on any
 * non-hex char.  Returns, via *nonzero, whether any byte was non-zero.
 */
static inline bool sr__hex_decode(const uint8_t *tab, const char *s,
				  size_t n, uint8_t *out, bool *nonzero)
{
	uint8_t acc = 0, bad = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t hi = tab[(unsigned char)s[2 * i]];
		uint8_t lo = tab[(unsigned char)s[2 * i + 1]];
		bad |= (uint8_t)(hi | lo);
		out[i] = (uint8_t)((hi << 4) | (lo & 0x0f));
		acc |= out[i];
	}
	*nonzero = acc != 0;
	return (bad & 0xf0) == 0; /* 0xff marks a non-hex char */
}

/*
 * SWAR hex: 8 chars <-> 4 bytes in a 64-bit word, for the fixed-width ids
 * on the per-request path (trace ids, span ids).  Range checks add a bias
 * that sets a byte's top bit exactly when the byte is at or past a bound;
 * bytes >= 0x80 are rejected first, so no addition carries into the next
 * byte.  Little-endian layout: the first char is the word's low byte.
 */
#define SR__ONES 0x0101010101010101ull
#define SR__HIGH 0x8080808080808080ull

/* 8 lowercase hex chars to 4 bytes; false if any char is not one. */
static inline bool sr__hex8_lc(const char *s, uint8_t out[4])
{
	uint64_t x, ok, n, t;
	uint32_t v;

	memcpy(&x, s, 8);
	if (x & SR__HIGH)
		return false;
	ok = (((x + SR__ONES * (0x80 - '0')) & ~(x + SR__ONES * (0x80 - '9' - 1))) |
	      ((x + SR__ONES * (0x80 - 'a')) & ~(x + SR__ONES * (0x80 - 'f' - 1)))) &
	     SR__HIGH;
	if (ok != SR__HIGH)
		return false;
	/* '0'-'9' -> 0-9 (bit 6 clear), 'a'-'f' -> 1-6 + 9 (bit 6 set). */
	n = (x & (SR__ONES * 0x0f)) + ((x >> 6) & SR__ONES) * 9;
	/* Pair nibbles into bytes 0, 2, 4, 6, then pack them. */
	t = ((n << 4) | (n >> 8)) & 0x00ff00ff00ff00ffull;
	t = (t | (t >> 8)) & 0x0000ffff0000ffffull;
	t = (t | (t >> 16)) & 0xffffffffull;
	v = (uint32_t)t;
	memcpy(out, &v, 4);
	return true;
}

/* 4 bytes to 8 lowercase hex chars. */
static inline void sr__hex4_enc(const uint8_t in[4], char *out)
{
	uint32_t v;
	uint64_t x, n, c;

	memcpy(&v, in, 4);
	x = v;
	x = (x | (x << 16)) & 0x0000ffff0000ffffull;
	x = (x | (x << 8)) & 0x00ff00ff00ff00ffull;   /* byte 2i = in[i] */
	n = ((x >> 4) & 0x000f000f000f000full) |
	    ((x & 0x000f000f000f000full) << 8);       /* hi, lo nibbles  */
	c = n + SR__ONES * '0' +
	    (((n + SR__ONES * 0x76) >> 7) & SR__ONES) * ('a' - '0' - 10);
	memcpy(out, &c, 8);
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SR__SWAR_HEX 1
#else
#define SR__SWAR_HEX 0
#endif

#if defined(__SSE2__)
#include <emmintrin.h>

/*
 * SSE2 (every x86-64): 16 chars <-> 8 bytes per vector, for the 8- and
 * 16-byte ids.  Signed byte compares reject anything >= 0x80 for free.
 * Loads and stores touch exactly the 16 or 32 chars of the id.
 */
static inline bool sr__hex16_lc_sse2(const char *s, __m128i *pairs)
{
	__m128i c = _mm_loadu_si128((const __m128i *)(const void *)s);
	__m128i dig = _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8('0' - 1)),
				    _mm_cmplt_epi8(c, _mm_set1_epi8('9' + 1)));
	__m128i let = _mm_and_si128(_mm_cmpgt_epi8(c, _mm_set1_epi8('a' - 1)),
				    _mm_cmplt_epi8(c, _mm_set1_epi8('f' + 1)));
	__m128i n, w;

	if (_mm_movemask_epi8(_mm_or_si128(dig, let)) != 0xffff)
		return false;
	n = _mm_add_epi8(_mm_and_si128(c, _mm_set1_epi8(0x0f)),
			 _mm_and_si128(let, _mm_set1_epi8(9)));
	/* 16-bit lanes hold (first, second) nibble: make first<<4|second. */
	w = _mm_or_si128(_mm_slli_epi16(n, 4), _mm_srli_epi16(n, 8));
	*pairs = _mm_and_si128(w, _mm_set1_epi16(0x00ff));
	return true;
}

static inline __m128i sr__hex_ascii_sse2(__m128i n)
{
	__m128i gt9 = _mm_cmpgt_epi8(n, _mm_set1_epi8(9));

	return _mm_add_epi8(_mm_add_epi8(n, _mm_set1_epi8('0')),
			    _mm_and_si128(gt9, _mm_set1_epi8('a' - '0' - 10)));
}

/* 8 or 16 bytes -> 16 or 32 chars. */
static inline void sr__hex_encode_sse2(const uint8_t *in, size_t n, char *out)
{
	__m128i v = n == 16 ? _mm_loadu_si128((const __m128i *)(const void *)in)
			    : _mm_loadl_epi64((const __m128i *)(const void *)in);
	__m128i lo = _mm_and_si128(v, _mm_set1_epi8(0x0f));
	__m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(0x0f));

	_mm_storeu_si128((__m128i *)(void *)out,
			 sr__hex_ascii_sse2(_mm_unpacklo_epi8(hi, lo)));
	if (n == 16)
		_mm_storeu_si128((__m128i *)(void *)(out + 16),
				 sr__hex_ascii_sse2(_mm_unpackhi_epi8(hi, lo)));
}
#endif

/* Lowercase hex of n bytes (2n chars), the fast way for ids. */
static inline bool sr__hex_decode_lc(const char *s, size_t n, uint8_t *out,
				     bool *nonzero)
{
#if defined(__SSE2__)
	if (n == 8 || n == 16) {
		__m128i a, b, z, p;

		if (!sr__hex16_lc_sse2(s, &a))
			return false;
		if (n == 16) {
			if (!sr__hex16_lc_sse2(s + 16, &b))
				return false;
			p = _mm_packus_epi16(a, b);
			_mm_storeu_si128((__m128i *)(void *)out, p);
		} else {
			p = _mm_packus_epi16(a, a);
			_mm_storel_epi64((__m128i *)(void *)out, p);
		}
		z = _mm_cmpeq_epi8(p, _mm_setzero_si128());
		*nonzero = (_mm_movemask_epi8(z) & (n == 16 ? 0xffff : 0xff)) !=
			   (n == 16 ? 0xffff : 0xff);
		return true;
	}
#endif
	if (SR__SWAR_HEX && n % 4 == 0) {
		uint8_t acc = 0;
		for (size_t i = 0; i < n; i += 4) {
			if (!sr__hex8_lc(s + 2 * i, out + i))
				return false;
			acc |= (uint8_t)(out[i] | out[i + 1] | out[i + 2] |
					 out[i + 3]);
		}
		*nonzero = acc != 0;
		return true;
	}
	return sr__hex_decode(sr__hexval_lc, s, n, out, nonzero);
}

static inline void sr__hex_encode(const uint8_t *in, size_t n, char *out)
{
	const uint8_t *end = in + n;

#if defined(__SSE2__)
	if (n == 8 || n == 16) {
		sr__hex_encode_sse2(in, n, out);
		return;
	}
#endif
	if (SR__SWAR_HEX)
		for (; end - in >= 4; in += 4, out += 8)
			sr__hex4_enc(in, out);
	for (; in < end; in++, out += 2) {
		out[0] = sr__hexdig[*in >> 4];
		out[1] = sr__hexdig[*in & 0x0f];
	}
}

#endif /* SR_CHARS_INT_H */
