/*
 * pb_read_int.h - the few protobuf wire-format reading steps the exporters
 * need to look into small answers from outside (the OTLP response's
 * partial_success, gRPC's google.rpc.Status details): read a varint, skip
 * a field.  Bounds-checked against `end`; never reads past it.
 *
 * Left out: any message model; callers walk the fields they know and skip
 * the rest, as the protobuf rules ask of unknown fields.
 */
#ifndef SR_PB_READ_INT_H
#define SR_PB_READ_INT_H

#include <stdbool.h>
#include <stdint.h>

/* Wire types. */
enum {
	SR__PB_VARINT = 0,
	SR__PB_I64 = 1,
	SR__PB_LEN = 2,
	SR__PB_I32 = 5
};

/* Read a varint at *pp, advancing it; false (and *pp unchanged) if it is
 * cut short or longer than 10 bytes. */
bool sr__pb_get_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v);

/* Skip a field of wire type wt whose tag was just read; false if
 * malformed (unknown wire type, cut short). */
bool sr__pb_skip(const uint8_t **pp, const uint8_t *end, unsigned wt);

/* Read a length-delimited field's length and bound it: on success *body
 * and *body_end delimit the content and *pp is past it. */
bool sr__pb_get_len(const uint8_t **pp, const uint8_t *end,
		    const uint8_t **body, const uint8_t **body_end);

#endif /* SR_PB_READ_INT_H */
