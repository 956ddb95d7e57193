/*
 * sized_int.h - the one rule for versioned structs (docs/abi.md).
 *
 * A versioned public struct starts with `size_t size` and only ever
 * grows at the end.  The caller sets `size` to the sizeof it was compiled
 * with; the library reads and writes min(size, its own sizeof) bytes, so
 * an older caller's smaller struct is never overrun and a newer caller's
 * extra fields are left alone.  Out-parameters get `size` set to the
 * bytes written, so a newer caller sees which fields an older library
 * filled.  A caller must know at least the struct's first field after
 * `size` (SR__SIZED_MIN); less, or NULL, is SR_EINVAL.
 *
 * Used by every call that takes or fills a versioned struct:
 * sr_stats_get, sr_propagation_stats_get, sr_otlp_stats_get,
 * sr_stats_exporter, sr_batch_span (out) and sr_init,
 * sr_exporter_register (in).
 */
#ifndef SR_SIZED_INT_H
#define SR_SIZED_INT_H

#include <spanring/spanring.h>

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* The least `size` a caller may pass: up to the end of `first`, the
 * member after `size`. */
#define SR__SIZED_MIN(type, first) \
	(offsetof(type, first) + sizeof(((type *)0)->first))

/* Copy min(dst_size, src_size) bytes; returns that count. */
static inline size_t sr__sized_copy(void *dst, size_t dst_size,
				    const void *src, size_t src_size)
{
	size_t n = dst_size < src_size ? dst_size : src_size;

	memcpy(dst, src, n);
	return n;
}

/* The `size` a caller set in a versioned struct (its first member). */
static inline size_t sr__sized_get(const void *s)
{
	size_t n;

	memcpy(&n, s, sizeof(n));
	return n;
}

/* True if `out` is non-NULL and its `size` is at least min_size. */
static inline bool sr__sized_valid(const void *out, size_t min_size)
{
	return out && sr__sized_get(out) >= min_size;
}

/*
 * Fill the caller's versioned struct `out` (checked with
 * sr__sized_valid() first) from the library's complete `src`
 * (src_size bytes): writes min(out->size, src_size) bytes, then sets
 * out->size to that count.
 */
static inline void sr__sized_out(void *out, const void *src, size_t src_size)
{
	size_t n = sr__sized_copy(out, sr__sized_get(out), src, src_size);

	memcpy(out, &n, sizeof(n));
}

#endif /* SR_SIZED_INT_H */
