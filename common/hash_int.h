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

#endif /* SR_HASH_INT_H */
