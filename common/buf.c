/*
 * buf.c - the growable byte buffer of buf_int.h.
 */
#include "buf_int.h"

#include <stdint.h>
#include <stdlib.h>

#include <spanring/spanring.h>

int sr__buf_grow(struct sr__buf *b, size_t extra)
{
	size_t need = b->len + extra;
	size_t cap = b->cap ? b->cap : 4096;

	if (need < b->len)
		return SR_ENOMEM; /* overflow */
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return SR_ENOMEM;
		cap *= 2;
	}
	char *p = realloc(b->data, cap);
	if (!p)
		return SR_ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

void sr__buf_free(struct sr__buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
