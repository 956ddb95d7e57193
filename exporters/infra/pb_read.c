/*
 * pb_read.c - protobuf wire-format reading steps (contract in
 * pb_read_int.h).  Every read is checked against the end of the input:
 * these bytes come from the network.
 */
#include "pb_read_int.h"

bool sr__pb_get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
	const uint8_t *p = *pp;
	uint64_t x = 0;

	for (unsigned shift = 0; shift < 64 && p < end; shift += 7) {
		uint8_t b = *p++;
		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*pp = p;
			*v = x;
			return true;
		}
	}
	return false;
}

bool sr__pb_get_len(const uint8_t **pp, const uint8_t *end,
		    const uint8_t **body, const uint8_t **body_end)
{
	const uint8_t *p = *pp;
	uint64_t v;

	if (!sr__pb_get_varint(&p, end, &v) || v > (uint64_t)(end - p))
		return false;
	*body = p;
	*body_end = p + v;
	*pp = p + v;
	return true;
}

bool sr__pb_skip(const uint8_t **pp, const uint8_t *end, unsigned wt)
{
	const uint8_t *b, *e;
	uint64_t v;

	switch (wt) {
	case SR__PB_VARINT:
		return sr__pb_get_varint(pp, end, &v);
	case SR__PB_I64:
		if (end - *pp < 8)
			return false;
		*pp += 8;
		return true;
	case SR__PB_LEN:
		return sr__pb_get_len(pp, end, &b, &e);
	case SR__PB_I32:
		if (end - *pp < 4)
			return false;
		*pp += 4;
		return true;
	default:
		return false;
	}
}
