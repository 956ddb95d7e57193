/*
 * utf8.c - scanning and sanitising UTF-8 (utf8_int.h).
 */
#include "utf8_int.h"

#define HIGHS 0x8080808080808080ull

static inline uint64_t load8(const char *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	return x;
}

size_t sr__utf8_scan(const char *s, size_t n, size_t *out_len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, bad = 0, len = n;

	while (i < n) {
		if (i + 8 <= n && (load8(s + i) & HIGHS) == 0) {
			i += 8;
			continue;
		}
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		bool ok;
		size_t k = sr__utf8_seq(p + i, n - i, &ok);
		if (!ok) {
			bad++;
			len = len - k + SR__UTF8_REPL_LEN;
		}
		i += k;
	}
	*out_len = len;
	return bad;
}

const char sr__utf8_repl[SR__UTF8_REPL_LEN] = { (char)0xEF, (char)0xBF,
					      (char)0xBD };

size_t sr__utf8_copy_sanitised(char *dst, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	char *d = dst;
	size_t i = 0;
	uint64_t bad = 0;

	while (i < n) {
		if (p[i] < 0x80)
			*d++ = (char)p[i++];
		else
			i += sr__utf8_copy_seq(&d, p + i, n - i, &bad);
	}
	return (size_t)(d - dst);
}
