/*
 * hash_int.h - a hash of short byte strings (attribute keys, span names,
 * cached values) for the lookup tables the processors keep on the
 * drainer: eight bytes at a time with one multiply each, where a bytewise
 * FNV loop took four instructions a byte.  Not for untrusted keys where
 * collisions matter: every table using it compares the bytes on a hit.
 */
#ifndef SR_HASH_INT_H
#define SR_HASH_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t sr__hash_mix(uint64_t h)
{
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ull;
	h ^= h >> 32;
	return h;
}

static inline uint64_t sr__hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len, w;

	while (len >= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
		h ^= h >> 29;
		s += 8;
		len -= 8;
	}
	if (len) {
		w = 0;
		memcpy(&w, s, len);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
	}
	return sr__hash_mix(h);
}

/* A hash of a string from at most three 8-byte loads (the head, the
 * middle and the tail; every byte of a string up to 16 long), a constant
 * cost whatever the length: for direct-mapped caches in front of a
 * table, which compare the bytes on a hit anyway, where two long strings
 * that differ only in between merely share a slot. */
static inline uint64_t sr__hash_sketch(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t a = 0, b = 0, c = 0;

	if (len >= 8) {
		memcpy(&a, s, 8);
		memcpy(&b, s + len - 8, 8);
		if (len > 16)
			memcpy(&c, s + len / 2 - 4, 8);
	} else if (len >= 4) {
		uint32_t x, y;

		memcpy(&x, s, 4);
		memcpy(&y, s + len - 4, 4);
		a = x;
		b = y;
	} else if (len) {
		a = (uint64_t)s[0] | (uint64_t)s[len / 2] << 8 |
		    (uint64_t)s[len - 1] << 16;
	}
	a = (a ^ len) * 0xbf58476d1ce4e5b9ull;
	b = (b ^ c) * 0x94d049bb133111ebull;
	return sr__hash_mix(a ^ b ^ (b >> 31));
}

#endif /* SR_HASH_INT_H */
