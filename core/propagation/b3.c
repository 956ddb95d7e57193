/*
 * b3.c - Zipkin B3 propagation, single header and multi header.
 *
 * Single:  b3: {TraceId}-{SpanId}[-{SamplingState}[-{ParentSpanId}]]
 *          b3: {SamplingState}            (a decision without ids)
 * Multi:   x-b3-traceid, x-b3-spanid, x-b3-parentspanid, x-b3-sampled,
 *          x-b3-flags
 *
 * TraceId is 16 or 32 lowercase hex chars (a 64-bit id is left-padded
 * with zeros to 128 bits), SpanId and ParentSpanId 16; all-zero ids are
 * invalid.  SamplingState is "1" (accept), "0" (deny) or "d" (debug,
 * which implies accept); x-b3-sampled also takes the legacy "true" and
 * "false", x-b3-flags "1" means debug.  A decision sent without ids
 * (e.g. "b3: 0") yields no context but is reported through
 * sr_extract_info_t.sampling.  Extract reads the single header first and
 * falls back to the multi headers (OpenTelemetry: single wins).
 *
 * Inject writes the 128-bit trace id and "1"/"0" (never the parent id,
 * which OpenTelemetry does not send either); propagator "b3" writes the
 * single header, "b3multi" the multi headers.
 *
 * Left out: uppercase hex (the B3 spec says lower-hex); the debug flag
 * is not carried in the context, so it is not re-injected.
 */
#include "prop_int.h"

/* Decode a 16- or 32-char trace id into 16 bytes; false if invalid. */
static bool b3_trace_id(const char *s, size_t n, uint8_t out[16])
{
	bool nz;

	if (n == 32)
		return sr__hex_decode_lc(s, 16, out, &nz) && nz;
	if (n == 16) {
		memset(out, 0, 8);
		return sr__hex_decode_lc(s, 8, out + 8, &nz) && nz;
	}
	return false;
}

static bool b3_span_id(const char *s, size_t n, uint8_t out[8])
{
	bool nz;

	return n == 16 && sr__hex_decode_lc(s, 8, out, &nz) && nz;
}

/* "1", "0", "d" -> 1, 0, 2; -1 if invalid. */
static int b3_sampling(const char *s, size_t n)
{
	if (n != 1)
		return -1;
	switch (s[0]) {
	case '0': return 0;
	case '1': return 1;
	case 'd': return 2;
	default: return -1;
	}
}

static void ids_sampling(struct sr__ids *ids, int sampling)
{
	ids->sampling = (int8_t)sampling;
	ids->flags = sampling >= 1 ? SR_TRACE_FLAG_SAMPLED : 0;
}

enum sr__pr sr__b3_single_parse(const char *s, size_t n, struct sr__ids *out)
{
	struct sr__ids ids;
	const char *d1, *d2 = NULL, *d3 = NULL, *end;
	int smp = -1;

	sr__trim_ows(&s, &n);
	if (n == 1) {
		smp = b3_sampling(s, n);
		if (smp < 0)
			return SR__PR_MALFORMED;
		memset(&ids, 0, sizeof(ids));
		ids_sampling(&ids, smp);
		*out = ids;
		return SR__PR_DECISION;
	}
	end = s + n;
	d1 = memchr(s, '-', n);
	if (!d1)
		return SR__PR_MALFORMED;
	d2 = memchr(d1 + 1, '-', (size_t)(end - d1 - 1));
	if (d2)
		d3 = memchr(d2 + 1, '-', (size_t)(end - d2 - 1));
	if (!b3_trace_id(s, (size_t)(d1 - s), ids.trace_id) ||
	    !b3_span_id(d1 + 1, (size_t)((d2 ? d2 : end) - d1 - 1), ids.span_id))
		return SR__PR_MALFORMED;
	if (d2) {
		smp = b3_sampling(d2 + 1, (size_t)((d3 ? d3 : end) - d2 - 1));
		if (smp < 0)
			return SR__PR_MALFORMED;
	}
	if (d3) {
		uint8_t parent[8];
		if (!b3_span_id(d3 + 1, (size_t)(end - d3 - 1), parent))
			return SR__PR_MALFORMED;
	}
	ids_sampling(&ids, smp);
	*out = ids;
	return SR__PR_OK;
}

/* x-b3-sampled: 1, 0, true, false (case-insensitive legacy words). */
static int b3_sampled_word(const char *s, size_t n)
{
	if (n == 1 && (s[0] == '0' || s[0] == '1'))
		return s[0] - '0';
	if (n == 4 && strncasecmp(s, "true", 4) == 0)
		return 1;
	if (n == 5 && strncasecmp(s, "false", 5) == 0)
		return 0;
	return -1;
}

/* Read one multi field: ABSENT, OVERSIZED or OK with a trimmed value. */
static enum sr__pr get_trimmed(struct sr__xstate *x, const char *key,
			       const char **s, size_t *n)
{
	enum sr__pr r = sr__carrier_get(x, key, 64, s, n);

	if (r == SR__PR_OK)
		sr__trim_ows(s, n);
	return r;
}

static enum sr__pr b3_multi_parse(struct sr__xstate *x, struct sr__ids *out)
{
	const char *t = NULL, *sp = NULL, *ps = NULL, *sm = NULL, *fl = NULL;
	size_t tn = 0, sn = 0, pn = 0, mn = 0, fn = 0;
	enum sr__pr rt, rs, rp, rm, rf;
	int smp = -1;
	struct sr__ids ids;

	rt = get_trimmed(x, "x-b3-traceid", &t, &tn);
	rs = get_trimmed(x, "x-b3-spanid", &sp, &sn);
	rp = get_trimmed(x, "x-b3-parentspanid", &ps, &pn);
	rm = get_trimmed(x, "x-b3-sampled", &sm, &mn);
	rf = get_trimmed(x, "x-b3-flags", &fl, &fn);
	if (rt == SR__PR_OVERSIZED || rs == SR__PR_OVERSIZED ||
	    rp == SR__PR_OVERSIZED || rm == SR__PR_OVERSIZED ||
	    rf == SR__PR_OVERSIZED)
		return SR__PR_OVERSIZED;
	if (rm == SR__PR_OK) {
		smp = b3_sampled_word(sm, mn);
		if (smp < 0)
			return SR__PR_MALFORMED;
	}
	if (rf == SR__PR_OK) {
		if (fn != 1 || (fl[0] != '0' && fl[0] != '1'))
			return SR__PR_MALFORMED;
		if (fl[0] == '1')
			smp = 2;  /* debug implies accept */
	}
	if (rt == SR__PR_ABSENT && rs == SR__PR_ABSENT) {
		if (rp == SR__PR_OK)
			return SR__PR_MALFORMED;  /* a parent of nothing */
		if (smp < 0)
			return SR__PR_ABSENT;
		memset(&ids, 0, sizeof(ids));
		ids_sampling(&ids, smp);
		*out = ids;
		return SR__PR_DECISION;
	}
	if (rt != SR__PR_OK || rs != SR__PR_OK ||
	    !b3_trace_id(t, tn, ids.trace_id) || !b3_span_id(sp, sn, ids.span_id))
		return SR__PR_MALFORMED;
	if (rp == SR__PR_OK) {
		uint8_t parent[8];
		if (!b3_span_id(ps, pn, parent))
			return SR__PR_MALFORMED;
	}
	ids_sampling(&ids, smp);
	*out = ids;
	return SR__PR_OK;
}

static void decision(struct sr__xstate *x, const struct sr__ids *ids)
{
	/* A decision alone replaces nothing, it is only reported. */
	x->info->sampling = ids->sampling;
}

void sr__x_b3(struct sr__xstate *x)
{
	struct sr__ids ids;
	enum sr__pr r;

	r = sr__x_ids_field(x, "b3", SR_PROP_B3_MAX, sr__b3_single_parse,
			    SR_PF_B3, SR_PROP_B3, &ids);
	if (r == SR__PR_OK)
		return;
	if (r == SR__PR_DECISION) {
		decision(x, &ids);
		return;
	}
	r = b3_multi_parse(x, &ids);
	sr__x_result(x, SR_PF_B3MULTI, SR_PROP_B3MULTI, r);
	if (r == SR__PR_OK)
		sr__x_set_ids(x, &ids, SR_PROP_B3MULTI);
	else if (r == SR__PR_DECISION)
		decision(x, &ids);
}

void sr__i_b3_single(const sr_context_t *c, void *carrier,
		     sr_carrier_set_fn set)
{
	char b[32 + 1 + 16 + 2 + 1];

	if (!sr__ctx_has_ids(c))
		return;
	sr__hex_encode(c->trace_id, 16, b);
	b[32] = '-';
	sr__hex_encode(c->span_id, 8, b + 33);
	b[49] = '-';
	b[50] = (c->trace_flags & SR_TRACE_FLAG_SAMPLED) ? '1' : '0';
	b[51] = '\0';
	set(carrier, "b3", b, 51);
}

void sr__i_b3_multi(const sr_context_t *c, void *carrier,
		    sr_carrier_set_fn set)
{
	char t[33], s[17];

	if (!sr__ctx_has_ids(c))
		return;
	sr__hex_encode(c->trace_id, 16, t);
	t[32] = '\0';
	sr__hex_encode(c->span_id, 8, s);
	s[16] = '\0';
	set(carrier, "x-b3-traceid", t, 32);
	set(carrier, "x-b3-spanid", s, 16);
	set(carrier, "x-b3-sampled",
	    (c->trace_flags & SR_TRACE_FLAG_SAMPLED) ? "1" : "0", 1);
}
