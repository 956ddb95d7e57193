/*
 * buf_int.h - a growable byte buffer (buf.c): callers reserve their worst
 * case once, then append unchecked.  Kept across uses, it stops allocating
 * after the first few.  No threading: one owner.
 */
#ifndef SR_BUF_INT_H
#define SR_BUF_INT_H

#include <stddef.h>
#include <string.h>

struct sr__buf {
	char *data;
	size_t len;             /* bytes written                            */
	size_t cap;             /* bytes allocated                          */
};

/* Grow (doubling, never shrinking) so that `extra` more bytes fit.
 * 0 or SR_ENOMEM (the buffer is unchanged then). */
int sr__buf_grow(struct sr__buf *b, size_t extra);

static inline int sr__buf_reserve(struct sr__buf *b, size_t extra)
{
	if (__builtin_expect(b->cap - b->len >= extra, 1))
		return 0;
	return sr__buf_grow(b, extra);
}

static inline void sr__buf_put(struct sr__buf *b, const void *p, size_t n)
{
	memcpy(b->data + b->len, p, n); /* caller reserved */
	b->len += n;
}

void sr__buf_free(struct sr__buf *b);

#endif /* SR_BUF_INT_H */
