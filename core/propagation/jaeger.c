/*
 * jaeger.c - Jaeger propagation: the uber-trace-id field and uberctx-*
 * baggage fields.
 *
 *   uber-trace-id: {trace-id}:{span-id}:{parent-span-id}:{flags}
 *
 * trace-id is 1..32 hex chars (shorter ids are left-padded with zeros;
 * Jaeger clients drop leading zeros), span-id and the deprecated parent
 * id 1..16, flags one byte as 1..2 hex chars (0x01 sampled, 0x02 debug,
 * which implies sampled).  Jaeger clients parse ids with strtoull, so
 * both hex cases are accepted.  A zero trace or span id is invalid.  The
 * value may arrive percent-encoded ("%3A" for ':'), as some HTTP stacks
 * and Jaeger clients send it.
 *
 *   uberctx-{key}: {percent-encoded value}
 *
 * Each field is one baggage entry; keys are lowercased as Jaeger clients
 * do.  Reading them needs the carrier's key iterator.  A malformed field
 * (bad escape, key not a token) discards all uberctx baggage of the
 * carrier, as does a control character in a value; an entry over 4096
 * bytes (decoded) or a field over 8192 is skipped and counted as
 * oversized.
 * Inject writes trace-id in 32 chars, parent 0, flags "1"/"0", and one
 * uberctx- field per baggage entry (value percent-encoded, properties
 * dropped since Jaeger has none).
 *
 * Left out: the jaeger-debug-id and jaeger-baggage fields; '+' is not
 * decoded as a space (we encode spaces as %20, which every client reads).
 */
#include "prop_int.h"

#include <ctype.h>

#define UBERCTX "uberctx-"
#define UBERCTX_LEN 8u

/* Decode 1..max hex chars (any case) right-aligned into `bytes` bytes. */
static bool hex_var(const char *s, size_t n, uint8_t *out, size_t bytes,
		    bool *nz)
{
	char pad[32];
	size_t w = bytes * 2;

	if (n == 0 || n > w)
		return false;
	memset(pad, '0', w - n);
	memcpy(pad + (w - n), s, n);
	return sr__hex_decode(sr__hexval_any, pad, bytes, out, nz);
}

enum sr__pr sr__jaeger_parse(const char *s, size_t n, struct sr__ids *out)
{
	char dec[SR_PROP_JAEGER_MAX];
	const char *f[4], *end;
	size_t fl[4];
	uint8_t parent[8], flags;
	bool tnz, snz, nz;
	struct sr__ids ids;

	sr__trim_ows(&s, &n);
	if (n > sizeof(dec))
		return SR__PR_OVERSIZED;
	if (memchr(s, '%', n)) {
		if (!sr__pct_decode(s, n, dec, &n))
			return SR__PR_MALFORMED;
		s = dec;
	}
	end = s + n;
	for (int i = 0; i < 4; i++) {
		const char *c = i < 3 ? memchr(s, ':', (size_t)(end - s)) : NULL;

		if (i < 3 && !c)
			return SR__PR_MALFORMED;
		f[i] = s;
		fl[i] = (size_t)((c ? c : end) - s);
		s = c ? c + 1 : end;
	}
	if (memchr(f[3], ':', fl[3]))
		return SR__PR_MALFORMED;  /* more than four fields */
	if (!hex_var(f[0], fl[0], ids.trace_id, 16, &tnz) || !tnz ||
	    !hex_var(f[1], fl[1], ids.span_id, 8, &snz) || !snz ||
	    !hex_var(f[2], fl[2], parent, 8, &nz) ||
	    !hex_var(f[3], fl[3], &flags, 1, &nz))
		return SR__PR_MALFORMED;
	ids.sampling = -1;
	ids.flags = (flags & 0x03) ? SR_TRACE_FLAG_SAMPLED : 0;
	if (flags & 0x02)
		ids.sampling = 2;
	*out = ids;
	return SR__PR_OK;
}

/* ---- uberctx- baggage ---------------------------------------------------- */

struct uctx_walk {
	struct sr__xstate *x;
	struct sr__bag *bag;      /* NULL: validation pass                */
	bool malformed;
	uint32_t oversized;
	uint32_t seen;
};

/* RFC 9110 field-vchar, SP, HTAB and obs-text: no other controls. */
static bool field_chars(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

static int uctx_visit(void *ud, const char *key, size_t kl, const char *v,
		      size_t vl)
{
	struct uctx_walk *w = ud;
	char k[SR_BAGGAGE_MAX_ENTRY_BYTES];
	size_t dl;

	if (kl <= UBERCTX_LEN || strncasecmp(key, UBERCTX, UBERCTX_LEN) != 0)
		return 0;
	key += UBERCTX_LEN;
	kl -= UBERCTX_LEN;
	/* The wire form may be up to 3x the entry (percent-encoding); the
	 * entry limit applies to the decoded bytes, as for W3C baggage. */
	if (vl == SR_CARRIER_LEN_CSTR)
		vl = strnlen(v, SR_PROP_BAGGAGE_MAX + 1);
	if (kl > sizeof(k) || vl > SR_PROP_BAGGAGE_MAX) {
		w->oversized++;
		return 0;
	}
	sr__trim_ows(&v, &vl);
	for (size_t i = 0; i < kl; i++) {
		if (!sr__tchar[(unsigned char)key[i]]) {
			w->malformed = true;
			return 1;
		}
		k[i] = (char)tolower((unsigned char)key[i]);
	}
	if (!field_chars(v, vl) || !sr__pct_decode(v, vl, NULL, &dl)) {
		w->malformed = true;
		return 1;
	}
	if (kl + dl > SR_BAGGAGE_MAX_ENTRY_BYTES) {
		w->oversized++;
		return 0;
	}
	w->seen++;
	if (w->bag) {
		char val[SR_BAGGAGE_MAX_ENTRY_BYTES];
		sr__pct_decode(v, vl, val, &dl);
		if (sr__bag_put(w->bag, k, kl, val, dl, NULL, 0) != 0)
			sr__pc_inc(SR__PC_BAG_DROPPED);
	}
	return 0;
}

static void uctx_extract(struct sr__xstate *x)
{
	struct uctx_walk w = { .x = x };

	if (!x->g->keys)
		return;
	/* Pass 1 validates every uberctx- field, pass 2 stores them: a
	 * malformed one leaves the bag untouched. */
	x->g->keys(x->carrier, uctx_visit, &w);
	if (w.oversized) {
		sr__pc_add(SR__PC_OVERSIZED0 + SR_PF_UBERCTX, w.oversized);
		x->info->dropped |= SR_EXTRACT_DROPPED(SR_PF_UBERCTX);
	}
	if (w.malformed) {
		sr__x_result(x, SR_PF_UBERCTX, SR_PROP_JAEGER, SR__PR_MALFORMED);
		return;
	}
	if (!w.seen)
		return;
	w.bag = sr__x_bag(x);
	w.seen = 0;
	w.oversized = 0;
	x->g->keys(x->carrier, uctx_visit, &w);
	x->bag_dirty = true;
	sr__x_result(x, SR_PF_UBERCTX, 0, SR__PR_OK);
}

void sr__x_jaeger(struct sr__xstate *x)
{
	struct sr__ids ids;

	sr__x_ids_field(x, "uber-trace-id", SR_PROP_JAEGER_MAX, sr__jaeger_parse,
			SR_PF_JAEGER, SR_PROP_JAEGER, &ids);
	uctx_extract(x);
}

void sr__i_jaeger(const sr_context_t *c, void *carrier, sr_carrier_set_fn set)
{
	char id[32 + 1 + 16 + 5];

	if (sr__ctx_has_ids(c)) {
		sr__hex_encode(c->trace_id, 16, id);
		id[32] = ':';
		sr__hex_encode(c->span_id, 8, id + 33);
		memcpy(id + 49, ":0:", 3);
		id[52] = (c->trace_flags & SR_TRACE_FLAG_SAMPLED) ? '1' : '0';
		id[53] = '\0';
		set(carrier, "uber-trace-id", id, 53);
	}
	if (c->state_[1]) {
		struct sr__bag b;
		char key[UBERCTX_LEN + SR_BAGGAGE_MAX_ENTRY_BYTES + 1];
		char val[SR_PROP_BAGGAGE_MAX + 1];
		uint32_t pos = 2;
		sr_baggage_entry_t e;

		sr__bag_load(&b, c->state_[1]);
		while (sr__bag_next(&b, &pos, &e)) {
			size_t vl = sr__pct_encode(e.value.ptr, e.value.len,
						   sr__baggage_octet, val,
						   sizeof(val) - 1);
			if (vl == (size_t)-1) {
				sr__pc_inc(SR__PC_INJECT_BAG_DROPPED);
				continue;
			}
			val[vl] = '\0';
			memcpy(key, UBERCTX, UBERCTX_LEN);
			for (size_t i = 0; i < e.key.len; i++)
				key[UBERCTX_LEN + i] =
					(char)tolower((unsigned char)e.key.ptr[i]);
			key[UBERCTX_LEN + e.key.len] = '\0';
			set(carrier, key, val, vl);
		}
	}
}
