/*
 * utf8_int.h - the one UTF-8 decoder (Unicode Table 3-7, maximal-subpart
 * replacement as Unicode 15 section 3.9 practises it), for every writer of
 * text: the JSON writer sanitises with it, the console escapes with it.
 */
#ifndef SR_UTF8_INT_H
#define SR_UTF8_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Bytes the U+FFFD replacement character takes. */
#define SR__UTF8_REPL_LEN 3u

/*
 * Check s[0..n).  Returns the number of maximal invalid subparts (0 when
 * valid) and sets *out_len to the length after replacing each by U+FFFD.
 */
size_t sr__utf8_scan(const char *s, size_t n, size_t *out_len);

/* Copy s[0..n) to dst replacing invalid subparts by U+FFFD; dst needs the
 * *out_len reported by sr__utf8_scan().  Returns bytes written. */
size_t sr__utf8_copy_sanitised(char *dst, const char *s, size_t n);

/* True if all of s[0..n) is ASCII: the fast path every string takes
 * first, 8 bytes a step, the last step overlapping the one before it so
 * that no string pays a byte loop (keys and values are mostly 4 to 30
 * bytes).  Never reads outside s[0..n). */
static inline bool sr__is_ascii(const char *s, size_t n)
{
	uint64_t acc = 0, x;

	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8) {
			memcpy(&x, s + i, 8);
			acc |= x;
		}
		memcpy(&x, s + n - 8, 8);
		acc |= x;
	} else if (n >= 4) {
		uint32_t a, b;

		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		acc = a | b;
	} else if (n) {
		acc = (uint8_t)s[0] | (uint8_t)s[n / 2] | (uint8_t)s[n - 1];
	}
	return (acc & 0x8080808080808080ull) == 0;
}

/* U+FFFD as UTF-8. */
extern const char sr__utf8_repl[SR__UTF8_REPL_LEN];

/*
 * Length of the UTF-8 sequence at p (p[0] >= 0x80) and whether it is well
 * formed (Unicode Table 3-7).  When it is not, the length is that of the
 * maximal subpart: the lead byte plus the continuation bytes that were
 * still acceptable, at least 1.
 */
static inline size_t sr__utf8_seq(const uint8_t *p, size_t n, bool *ok)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xBF;
	size_t need;

	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		if (c == 0xE0)
			lo = 0xA0;      /* no overlong forms               */
		else if (c == 0xED)
			hi = 0x9F;      /* no surrogates                   */
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;      /* nothing above U+10FFFF          */
	} else {
		*ok = false;
		return 1;
	}
	for (size_t i = 1; i <= need; i++) {
		if (i >= n || p[i] < lo || p[i] > hi) {
			*ok = false;
			return i;
		}
		lo = 0x80;
		hi = 0xBF;
	}
	*ok = true;
	return need + 1;
}

/* The code point at p (n bytes available, n >= 1) and its length; 0 when
 * the bytes there are not a well-formed sequence. */
static inline size_t sr__utf8_decode(const uint8_t *p, size_t n, uint32_t *cp)
{
	static const uint8_t lead_mask[5] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	bool ok;
	size_t k;
	uint32_t v;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	k = sr__utf8_seq(p, n, &ok);
	if (!ok)
		return 0;
	v = p[0] & lead_mask[k];
	for (size_t i = 1; i < k; i++)
		v = v << 6 | (p[i] & 0x3fu);
	*cp = v;
	return k;
}

/* Copy the sequence at p (p[0] >= 0x80) or its replacement to *d; returns
 * the input bytes consumed and counts a replacement in *bad. */
static inline size_t sr__utf8_copy_seq(char **d, const uint8_t *p, size_t n,
			      uint64_t *bad)
{
	bool ok;
	size_t k = sr__utf8_seq(p, n, &ok);

	if (ok) {
		memcpy(*d, p, k);
		*d += k;
	} else {
		memcpy(*d, sr__utf8_repl, SR__UTF8_REPL_LEN);
		*d += SR__UTF8_REPL_LEN;
		(*bad)++;
	}
	return k;
}

#endif /* SR_UTF8_INT_H */
