/*
 * json_writer_int.h - a small streaming JSON writer (into a growable
 * buffer, buf_int.h, sanitising UTF-8 with utf8_int.h), shared by the exporters that speak text (OTLP/JSON,
 * Zipkin, file, Chrome trace).
 *
 * Design: the writer appends straight into one sr__buf that the caller keeps
 * across exports, so after the first few batches it never allocates.  Each
 * value call reserves its worst case once (a string of n bytes needs at most
 * 6n + 2) and then writes without bounds checks.  Commas are placed
 * automatically from a per-depth bit set, so callers only say begin/key/
 * value/end.  Strings are escaped per RFC 8259 and sanitised: every maximal
 * invalid UTF-8 subpart becomes U+FFFD and is counted in `invalid_utf8`, so
 * the output is always valid UTF-8 JSON whatever bytes the application
 * recorded.
 *
 * Left out: no pretty printing, no reader (tests use a real parser), nesting
 * deeper than 64 levels (asserted), no \u escapes for non-ASCII (raw UTF-8
 * is valid JSON and three times shorter).  Non-finite doubles, which JSON
 * cannot hold, are written as the strings "NaN", "Infinity", "-Infinity"
 * (the proto3 JSON mapping's rule).
 *
 * Threading: none; one writer per thread (exporters write on their own
 * worker thread).
 */
#ifndef SR_JSON_WRITER_INT_H
#define SR_JSON_WRITER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf_int.h"
#include "utf8_int.h"

/* ---- JSON writer ----------------------------------------------------- */

#define SR__JW_MAX_DEPTH 64

struct sr__jw {
	struct sr__buf *out;
	uint64_t has_elem;      /* bit d: depth d already has an element     */
	uint32_t depth;
	bool after_key;         /* the next value belongs to a key           */
	bool oom;               /* an allocation failed: output is invalid   */
	uint64_t invalid_utf8;  /* invalid subparts replaced since reset     */
};

/* Start writing at the end of `out` (which keeps its contents). */
void sr__jw_init(struct sr__jw *w, struct sr__buf *out);

void sr__jw_obj_begin(struct sr__jw *w);
void sr__jw_obj_end(struct sr__jw *w);
void sr__jw_arr_begin(struct sr__jw *w);
void sr__jw_arr_end(struct sr__jw *w);

/* Object key; `k` is escaped like any string. */
void sr__jw_key(struct sr__jw *w, const char *k, size_t n);
#define sr__jw_key_lit(w, lit) sr__jw_key((w), (lit), sizeof(lit) - 1)

void sr__jw_str(struct sr__jw *w, const char *s, size_t n);
void sr__jw_int(struct sr__jw *w, int64_t v);
void sr__jw_uint(struct sr__jw *w, uint64_t v);
/* Integers as JSON strings ("123"): how proto3 JSON carries 64-bit ints,
 * which a JavaScript reader could not hold exactly as numbers. */
void sr__jw_int_str(struct sr__jw *w, int64_t v);
void sr__jw_uint_str(struct sr__jw *w, uint64_t v);
/* Shortest text that reads back as the same double. */
void sr__jw_double(struct sr__jw *w, double v);
void sr__jw_bool(struct sr__jw *w, bool v);
void sr__jw_null(struct sr__jw *w);
/* Lowercase hex of n bytes, quoted. */
void sr__jw_hex(struct sr__jw *w, const uint8_t *p, size_t n);
/* Already-encoded JSON value, copied as is (caller vouches for it). */
void sr__jw_raw(struct sr__jw *w, const char *json, size_t n);

#endif /* SR_JSON_WRITER_INT_H */
