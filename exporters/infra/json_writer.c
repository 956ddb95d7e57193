/*
 * json_writer.c - UTF-8 sanitising and the streaming JSON writer declared
 * in json_writer_int.h.
 *
 * Speed comes from two habits: every value reserves its worst case once and
 * then writes unchecked, and strings are scanned 8 bytes at a time for the
 * few bytes that need work (controls, '"', '\\', non-ASCII); runs of plain
 * bytes are copied with memcpy.  Invalid UTF-8 is replaced per the Unicode
 * "maximal subpart" practice (Unicode 15, section 3.9, U+FFFD substitution),
 * the same rule browsers and most JSON libraries follow, so counts agree
 * with what a receiver would see.
 *
 * Numbers are written by numfmt.c, the one place numbers become text.
 */
#include "json_writer_int.h"

#include "chars_int.h" /* sr__hex_encode */
#include "numfmt_int.h"
#include "utf8_int.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <spanring/spanring.h>

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

static inline uint64_t load8(const char *p)
{
	uint64_t x;
	memcpy(&x, p, 8);
	return x;
}

/* ---- JSON ------------------------------------------------------------- */

void sr__jw_init(struct sr__jw *w, struct sr__buf *out)
{
	w->out = out;
	w->has_elem = 0;
	w->depth = 0;
	w->after_key = false;
	w->oom = false;
	w->invalid_utf8 = 0;
}

/* Reserve n bytes; on failure mark the writer and return false. */
static inline bool jw_room(struct sr__jw *w, size_t n)
{
	if (__builtin_expect(sr__buf_reserve(w->out, n) == 0, 1))
		return true;
	w->oom = true;
	return false;
}

/* Separator before a value or key at the current depth.  Needs 1 byte of
 * reserved room. */
static inline void jw_sep(struct sr__jw *w)
{
	uint64_t bit = 1ull << w->depth;

	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->has_elem & bit)
		w->out->data[w->out->len++] = ',';
	w->has_elem |= bit;
}

static void jw_open(struct sr__jw *w, char c)
{
	if (!jw_room(w, 2))
		return;
	jw_sep(w);
	w->out->data[w->out->len++] = c;
	assert(w->depth + 1 < SR__JW_MAX_DEPTH);
	w->depth++;
	w->has_elem &= ~(1ull << w->depth);
}

static void jw_close(struct sr__jw *w, char c)
{
	if (!jw_room(w, 1))
		return;
	w->out->data[w->out->len++] = c;
	assert(w->depth > 0);
	w->depth--;
}

void sr__jw_obj_begin(struct sr__jw *w) { jw_open(w, '{'); }
void sr__jw_obj_end(struct sr__jw *w) { jw_close(w, '}'); }
void sr__jw_arr_begin(struct sr__jw *w) { jw_open(w, '['); }
void sr__jw_arr_end(struct sr__jw *w) { jw_close(w, ']'); }

/* True if any of the 8 bytes needs escaping or is non-ASCII. */
static inline bool needs_work8(uint64_t x)
{
	uint64_t ctl = (x - ONES * 0x20) & ~x & HIGHS;         /* < 0x20 */
	uint64_t q = x ^ (ONES * '"');
	uint64_t bs = x ^ (ONES * '\\');
	q = (q - ONES) & ~q & HIGHS;
	bs = (bs - ONES) & ~bs & HIGHS;
	return (ctl | q | bs | (x & HIGHS)) != 0;
}

/* Escaped, sanitised body of a string (no quotes) at d; room for 6n
 * reserved.  Returns the new end. */
static char *jw_escape(struct sr__jw *w, char *d, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;

	while (i < n) {
		size_t run = i;
		while (run + 8 <= n && !needs_work8(load8(s + run)))
			run += 8;
		while (run < n && p[run] >= 0x20 && p[run] < 0x80 &&
		       p[run] != '"' && p[run] != '\\')
			run++;
		memcpy(d, s + i, run - i);
		d += run - i;
		i = run;
		if (i == n)
			break;
		uint8_t c = p[i];
		if (c >= 0x80) {
			i += sr__utf8_copy_seq(&d, p + i, n - i, &w->invalid_utf8);
			continue;
		}
		*d++ = '\\';
		switch (c) {
		case '"': *d++ = '"'; break;
		case '\\': *d++ = '\\'; break;
		case '\n': *d++ = 'n'; break;
		case '\r': *d++ = 'r'; break;
		case '\t': *d++ = 't'; break;
		case '\b': *d++ = 'b'; break;
		case '\f': *d++ = 'f'; break;
		default:
			*d++ = 'u';
			*d++ = '0';
			*d++ = '0';
			*d++ = sr__hexdig[c >> 4];
			*d++ = sr__hexdig[c & 15];
		}
		i++;
	}
	return d;
}

static void jw_string(struct sr__jw *w, const char *s, size_t n, bool key)
{
	if (n > (SIZE_MAX - 8) / 6 || !jw_room(w, 6 * n + 4))
		return;
	jw_sep(w);
	char *d = w->out->data + w->out->len;
	*d++ = '"';
	d = jw_escape(w, d, s, n);
	*d++ = '"';
	if (key) {
		*d++ = ':';
		w->after_key = true;
	}
	w->out->len = (size_t)(d - w->out->data);
}

void sr__jw_key(struct sr__jw *w, const char *k, size_t n)
{
	jw_string(w, k, n, true);
}

void sr__jw_str(struct sr__jw *w, const char *s, size_t n)
{
	jw_string(w, s, n, false);
}

/* sign + 20 digits + 2 quotes + separator */
static void jw_number(struct sr__jw *w, uint64_t mag, bool neg, bool quoted)
{
	if (!jw_room(w, 24))
		return;
	jw_sep(w);
	char *d = w->out->data + w->out->len;
	if (quoted)
		*d++ = '"';
	if (neg)
		*d++ = '-';
	d += sr__u64_to_dec(d, mag);
	if (quoted)
		*d++ = '"';
	w->out->len = (size_t)(d - w->out->data);
}

/* |v| without overflow for INT64_MIN. */
static inline uint64_t mag64(int64_t v)
{
	return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

void sr__jw_int(struct sr__jw *w, int64_t v) { jw_number(w, mag64(v), v < 0, false); }
void sr__jw_uint(struct sr__jw *w, uint64_t v) { jw_number(w, v, false, false); }
void sr__jw_int_str(struct sr__jw *w, int64_t v) { jw_number(w, mag64(v), v < 0, true); }
void sr__jw_uint_str(struct sr__jw *w, uint64_t v) { jw_number(w, v, false, true); }

void sr__jw_double(struct sr__jw *w, double v)
{
	char tmp[SR__FMT_DOUBLE_MAX];
	size_t n;

	if (isnan(v)) {
		sr__jw_str(w, "NaN", 3);
		return;
	}
	if (isinf(v)) {
		if (v > 0)
			sr__jw_str(w, "Infinity", 8);
		else
			sr__jw_str(w, "-Infinity", 9);
		return;
	}
	n = sr__fmt_double(tmp, v);
	sr__jw_raw(w, tmp, n);
}

void sr__jw_bool(struct sr__jw *w, bool v)
{
	if (v)
		sr__jw_raw(w, "true", 4);
	else
		sr__jw_raw(w, "false", 5);
}

void sr__jw_null(struct sr__jw *w) { sr__jw_raw(w, "null", 4); }

void sr__jw_hex(struct sr__jw *w, const uint8_t *p, size_t n)
{
	if (!jw_room(w, 2 * n + 3))
		return;
	jw_sep(w);
	char *d = w->out->data + w->out->len;
	*d++ = '"';
	sr__hex_encode(p, n, d);
	d += 2 * n;
	*d++ = '"';
	w->out->len = (size_t)(d - w->out->data);
}

void sr__jw_raw(struct sr__jw *w, const char *json, size_t n)
{
	if (!jw_room(w, n + 1))
		return;
	jw_sep(w);
	sr__buf_put(w->out, json, n);
}
