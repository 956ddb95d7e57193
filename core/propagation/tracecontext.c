/*
 * tracecontext.c - W3C Trace Context Level 2: the traceparent and
 * tracestate fields, and the trace state of a context.
 *
 * traceparent: version 00 is parsed strictly (exactly 55 chars after OWS
 * trimming, lowercase hex, non-zero ids); a higher version (01..fe) is
 * parsed by the spec's forward-compatibility rule (at least 55 chars,
 * the 00 layout as a prefix, then end or '-'), keeping the flags this
 * version knows (sampled, random); version ff, uppercase hex and anything
 * else restart the trace.  Injection always writes version 00 with the
 * sampled and random flags as the context has them (other flags MUST be
 * zero).
 *
 * tracestate: the Recommendation's grammar (keys of 1..256 chars, a
 * lowercase letter or digit first, then a-z 0-9 _ - * / @; values of
 * 1..256 printable chars except ',' and '=', not ending in a space),
 * empty members and OWS around members accepted, a repeated key keeps its
 * first member, at most 32 members, else the whole tracestate is
 * discarded (the traceparent stays).  What is kept is normalised
 * ("k=v,k=v") and limited to 512 bytes by the spec's truncation rule:
 * drop members longer than 128 chars first (from the end), then members
 * from the end.
 *
 * Left out: the traceresponse header (Level 3 draft).
 */
#include "prop_int.h"

/* ---- traceparent ----------------------------------------------------- */

#define TP_LEN 55
/* The flags Level 2 defines; the others are reserved and MUST be sent
 * as zero. */
#define TP_FLAGS_KNOWN (SR_TRACE_FLAG_SAMPLED | SR_TRACE_FLAG_RANDOM)

enum sr__pr sr__traceparent_parse(const char *s, size_t n,
				  struct sr__ids *out)
{
	const uint8_t *lc = sr__hexval_lc;
	uint8_t hi, lo, ver, flags;
	bool tnz, snz, fnz;
	struct sr__ids ids;

	sr__trim_ows(&s, &n);
	if (n < TP_LEN)
		return SR__PR_MALFORMED;
	hi = lc[(unsigned char)s[0]];
	lo = lc[(unsigned char)s[1]];
	if (((hi | lo) & 0xf0) || s[2] != '-')
		return SR__PR_MALFORMED;
	ver = (uint8_t)(hi << 4 | lo);
	if (ver == 0xff)
		return SR__PR_MALFORMED;
	if (ver == 0 ? n != TP_LEN : (n > TP_LEN && s[TP_LEN] != '-'))
		return SR__PR_MALFORMED;
	if (s[35] != '-' || s[52] != '-')
		return SR__PR_MALFORMED;
	if (!sr__hex_decode_lc(s + 3, 16, ids.trace_id, &tnz) ||
	    !sr__hex_decode_lc(s + 36, 8, ids.span_id, &snz) ||
	    !sr__hex_decode(lc, s + 53, 1, &flags, &fnz))
		return SR__PR_MALFORMED;
	if (!tnz || !snz)
		return SR__PR_MALFORMED;
	/* Version 00 keeps the byte as sent (the reserved bits are zeroed on
	 * inject); of a future version's flags only the bits this version
	 * defines are taken. */
	ids.flags = ver == 0 ? flags : (uint8_t)(flags & TP_FLAGS_KNOWN);
	ids.sampling = -1;
	*out = ids;
	return SR__PR_OK;
}

size_t sr__traceparent_format(const sr_context_t *ctx, char out[56])
{
	uint8_t f = ctx->trace_flags & TP_FLAGS_KNOWN;

	out[0] = '0';
	out[1] = '0';
	out[2] = '-';
	sr__hex_encode(ctx->trace_id, 16, out + 3);
	out[35] = '-';
	sr__hex_encode(ctx->span_id, 8, out + 36);
	out[52] = '-';
	sr__hex_encode(&f, 1, out + 53);
	out[TP_LEN] = '\0';
	return TP_LEN;
}

/* ---- tracestate grammar ---------------------------------------------- */

/*
 * The Recommendation's grammar (Level 2, which also holds for Level 1
 * headers: it accepts everything the older simple-key / multi-tenant-key
 * grammar did):
 *   key      = ( lcalpha / DIGIT ) 0*255( keychar )
 *   keychar  = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@"
 *   value    = 0*255(chr) nblk-chr
 *   chr      = %x20 / nblk-chr
 *   nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
 * so "@" may appear anywhere in a key but first, any number of times.
 * One table lookup per character: every extract with a tracestate
 * validates every character of it.
 */
#define TS_KEY0 1u   /* may start a key  */
#define TS_KEY 2u    /* may be in a key  */
#define TS_VAL 4u    /* chr              */

#define TS_KEYCHAR (TS_KEY | TS_VAL)
#define TS_ALNUM (TS_KEY0 | TS_KEY | TS_VAL)

/* Disjoint ranges in order, 0x20 to 0x7e; ',' (0x2c) and '=' (0x3d) are
 * in none. */
static const uint8_t ts_class[256] = {
	[0x20 ... 0x29] = TS_VAL,      /* SP ! " # $ % & ' ( ) */
	['*'] = TS_KEYCHAR,
	['+'] = TS_VAL,
	['-'] = TS_KEYCHAR,
	['.'] = TS_VAL,
	['/'] = TS_KEYCHAR,
	['0' ... '9'] = TS_ALNUM,
	[':' ... '<'] = TS_VAL,
	['>' ... '?'] = TS_VAL,
	['@'] = TS_KEYCHAR,
	['A' ... '^'] = TS_VAL,        /* A-Z [ \ ] ^ */
	['_'] = TS_KEYCHAR,
	['`'] = TS_VAL,
	['a' ... 'z'] = TS_ALNUM,
	['{' ... '~'] = TS_VAL,
};

static bool ts_key_valid(const char *k, size_t n)
{
	if (n == 0 || n > 256 || !(ts_class[(unsigned char)k[0]] & TS_KEY0))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(ts_class[(unsigned char)k[i]] & TS_KEY))
			return false;
	return true;
}

static bool ts_value_valid(const char *v, size_t n)
{
	if (n == 0 || n > 256 || v[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(ts_class[(unsigned char)v[i]] & TS_VAL))
			return false;
	return true;
}

/* One member: text "k=v" (trimmed) and where the key ends. */
struct ts_member {
	const char *p;
	uint16_t len;
	uint16_t klen;
	uint32_t hash;
};

#define TS_MAX SR_TRACESTATE_MAX_MEMBERS

/* A filter before the exact compare in ts_seen, not a hash of every
 * byte: distinct keys nearly always differ in length or at an end, and
 * most tracestates have one or two members.  n >= 1 (a valid key). */
static uint32_t key_hash(const char *k, size_t n)
{
	return (uint32_t)n | (uint32_t)(unsigned char)k[0] << 16 |
	       (uint32_t)(unsigned char)k[n - 1] << 24;
}

/* Is the key of `c` already among m[0 .. c - 1]? */
static bool ts_seen(const struct ts_member *m, int c, const struct ts_member *k)
{
	for (int i = 0; i < c; i++)
		if (m[i].hash == k->hash && m[i].klen == k->klen &&
		    memcmp(m[i].p, k->p, k->klen) == 0)
			return true;
	return false;
}

/*
 * Split and validate a tracestate value into at most `max` members.
 * Returns the member count or -1 if malformed (a bad member, or more
 * than `max` members with distinct keys).  A repeated key keeps its
 * first member: the sender broke the uniqueness rule, which the
 * Recommendation puts on whoever adds a key, and a receiver may drop
 * the repeats but must not lose the whole header for them (w3c
 * trace-context PR #477).  The first is kept because the left-most
 * member is the most recent position of its system.
 */
static int ts_split(const char *s, size_t n, struct ts_member *m, int max)
{
	struct sr__list l = { s, n, 0, ',' };
	struct ts_member cur;
	const char *seg, *eq;
	size_t len;
	int count = 0;

	while (sr__list_next(&l, &seg, &len)) {
		if (len == 0)
			continue;  /* empty and blank members are allowed */
		eq = memchr(seg, '=', len);
		if (!eq || !ts_key_valid(seg, (size_t)(eq - seg)) ||
		    !ts_value_valid(eq + 1, len - (size_t)(eq - seg) - 1))
			return -1;
		cur.p = seg;
		cur.len = (uint16_t)len;
		cur.klen = (uint16_t)(eq - seg);
		cur.hash = key_hash(seg, cur.klen);
		if (ts_seen(m, count, &cur))
			continue;
		if (count == max)
			return -1;
		m[count++] = cur;
	}
	return count;
}

/*
 * Join members into out, applying the 512-byte rule; members dropped are
 * marked by len = 0.  Returns the length written.
 */
static size_t ts_join(struct ts_member *m, int count,
		      char out[SR_TRACESTATE_MAX_BYTES], uint32_t *dropped)
{
	size_t total = 0, o = 0;
	int live = 0;

	for (int i = 0; i < count; i++) {
		total += m[i].len;
		live++;
	}
	total += live ? (size_t)live - 1 : 0;
	/* Entries longer than 128 chars go first, last one first ... */
	for (int i = count - 1; i >= 0 && total > SR_TRACESTATE_MAX_BYTES; i--)
		if (m[i].len > 128) {
			total -= m[i].len + (--live ? 1u : 0u);
			m[i].len = 0;
			(*dropped)++;
		}
	/* ... then entries from the end. */
	for (int i = count - 1; i >= 0 && total > SR_TRACESTATE_MAX_BYTES; i--)
		if (m[i].len) {
			total -= m[i].len + (--live ? 1u : 0u);
			m[i].len = 0;
			(*dropped)++;
		}
	for (int i = 0; i < count; i++) {
		if (!m[i].len)
			continue;
		if (o)
			out[o++] = ',';
		memcpy(out + o, m[i].p, m[i].len);
		o += m[i].len;
	}
	return o;
}

int sr__tracestate_normalise(const char *s, size_t n,
			     char out[SR_TRACESTATE_MAX_BYTES],
			     uint32_t *dropped)
{
	struct ts_member m[TS_MAX];
	int count = ts_split(s, n, m, TS_MAX);

	*dropped = 0;
	if (count < 0)
		return -1;
	return (int)ts_join(m, count, out, dropped);
}

/* ---- trace state of a context ---------------------------------------- */

/* Load the context's trace state text; 0 if none. */
static int ts_load(const sr_context_t *ctx, char buf[SR_TRACESTATE_MAX_BYTES])
{
	int n;

	if (!ctx || !ctx->state_[0])
		return 0;
	n = sr__arena_get(ctx->state_[0], SR__ARENA_TRACESTATE, buf,
			  SR_TRACESTATE_MAX_BYTES);
	return n < 0 ? 0 : n;
}

SR_API int sr_context_tracestate(const sr_context_t *ctx, char *buf,
				 size_t cap, size_t *len)
{
	char t[SR_TRACESTATE_MAX_BYTES];
	int n;

	if (!ctx) {
		sr__copy_out("", 0, buf, cap, len);
		return sr__null_arg("sr_context_tracestate", "ctx");
	}
	n = ts_load(ctx, t);
	if (n == 0) {
		sr__copy_out("", 0, buf, cap, len);
		return SR_ENOTFOUND;
	}
	return sr__copy_out(t, (size_t)n, buf, cap, len);
}

SR_API int sr_context_tracestate_get(const sr_context_t *ctx, const char *key,
				     char *buf, size_t cap, size_t *len)
{
	char t[SR_TRACESTATE_MAX_BYTES];
	struct ts_member m[TS_MAX];
	int n, count;
	size_t kl = key ? strlen(key) : 0;

	if (!ctx || !key) {
		sr__copy_out("", 0, buf, cap, len);
		return sr__null_arg("sr_context_tracestate_get", ctx ? "key" : "ctx");
	}
	n = ts_load(ctx, t);
	count = n ? ts_split(t, (size_t)n, m, TS_MAX) : 0;
	for (int i = 0; i < count; i++)
		if (m[i].klen == kl && memcmp(m[i].p, key, kl) == 0)
			return sr__copy_out(m[i].p + kl + 1,
					m[i].len - kl - 1u, buf, cap, len);
	sr__copy_out("", 0, buf, cap, len);
	return SR_ENOTFOUND;
}

/* Store text as the new trace state of *out (a copy of *in). */
static int ts_commit(const sr_context_t *in, const char *text, size_t n,
		     sr_context_t *out)
{
	uint64_t ref = 0;

	if (n) {
		ref = sr__arena_put(SR__ARENA_TRACESTATE, text, n);
		if (!ref)
			return SR_ENOMEM;
	}
	if (out != in)
		*out = *in;
	out->state_[0] = ref;
	return 0;
}

static int ts_mutate(const sr_context_t *in, const char *key,
		     const char *value, sr_context_t *out)
{
	char t[SR_TRACESTATE_MAX_BYTES], res[SR_TRACESTATE_MAX_BYTES];
	char fresh[256 + 1 + 256];
	struct ts_member m[TS_MAX + 1];
	size_t kl, vl = 0, o;
	uint32_t dropped = 0;
	int n, count, c = 0, j = 0;
	bool found = false;

	if (!in || !out || !key)
		return SR_EINVAL;
	kl = strlen(key);
	if (!ts_key_valid(key, kl))
		return SR_EINVAL;
	if (value) {
		vl = strlen(value);
		if (!ts_value_valid(value, vl))
			return SR_EINVAL;
		memcpy(fresh, key, kl);
		fresh[kl] = '=';
		memcpy(fresh + kl + 1, value, vl);
		m[c].p = fresh;
		m[c].len = (uint16_t)(kl + 1 + vl);
		m[c].klen = (uint16_t)kl;
		c++;
	}
	n = ts_load(in, t);
	count = n ? ts_split(t, (size_t)n, m + c, TS_MAX) : 0;
	if (count < 0)
		count = 0;  /* stored text is always valid; be safe anyway */
	/* The modified key moves to the front: drop its old position. */
	for (int i = c; i < c + count; i++)
		if (m[i].klen == kl && memcmp(m[i].p, key, kl) == 0) {
			m[i].len = 0;
			found = true;
		}
	if (!value && !found) {
		if (out != in)
			*out = *in;
		return SR_ENOTFOUND;
	}
	count += c;
	/* Compact, then keep at most 32 members (drop from the end). */
	for (int i = 0; i < count; i++)
		if (m[i].len)
			m[j++] = m[i];
	count = j;
	if (count > TS_MAX) {
		dropped += (uint32_t)(count - TS_MAX);
		count = TS_MAX;
	}
	o = ts_join(m, count, res, &dropped);
	if (dropped)
		sr__pc_add(SR__PC_TS_TRUNCATED, dropped);
	n = ts_commit(in, res, o, out);
	if (n)
		return n;
	/* The new member is m[0]; ts_join marks it dropped by len = 0. */
	return value && m[0].len == 0 ? SR_ELIMIT : 0;
}

SR_API int sr_context_tracestate_set(const sr_context_t *in, const char *key,
				     const char *value, sr_context_t *out)
{
	if (!value)
		return SR_EINVAL;
	return ts_mutate(in, key, value, out);
}

SR_API int sr_context_tracestate_delete(const sr_context_t *in,
					const char *key, sr_context_t *out)
{
	return ts_mutate(in, key, NULL, out);
}

SR_API int sr_context_tracestate_parse(const sr_context_t *in,
				       const char *header, size_t len,
				       sr_context_t *out)
{
	char res[SR_TRACESTATE_MAX_BYTES];
	uint32_t dropped;
	int n;

	if (!in || !out || (!header && len))
		return SR_EINVAL;
	if (len == SR_CARRIER_LEN_CSTR)
		len = strnlen(header, SR_PROP_TRACESTATE_MAX + 1);
	if (len > SR_PROP_TRACESTATE_MAX)
		return SR_ELIMIT;
	n = sr__tracestate_normalise(header ? header : "", len, res, &dropped);
	if (n < 0)
		return SR_EINVAL;
	if (dropped)
		sr__pc_add(SR__PC_TS_TRUNCATED, dropped);
	return ts_commit(in, res, (size_t)n, out);
}

/* ---- extract / inject ------------------------------------------------- */

void sr__x_tracecontext(struct sr__xstate *x)
{
	char ts[SR_TRACESTATE_MAX_BYTES];
	struct sr__ids ids;
	const char *s;
	size_t n;
	uint32_t dropped;
	int len;
	enum sr__pr r;

	r = sr__x_ids_field(x, "traceparent", SR_PROP_TRACEPARENT_MAX,
			    sr__traceparent_parse, SR_PF_TRACEPARENT,
			    SR_PROP_TRACECONTEXT, &ids);
	/* Without a valid traceparent, tracestate MUST NOT be parsed. */
	if (r != SR__PR_OK)
		return;

	/* A bad tracestate never affects the traceparent: it is only
	 * dropped (and counted). */
	r = sr__carrier_get(x, "tracestate", SR_PROP_TRACESTATE_MAX, &s, &n);
	if (r == SR__PR_OK) {
		len = sr__tracestate_normalise(s, n, ts, &dropped);
		if (len < 0) {
			r = SR__PR_MALFORMED;
		} else {
			if (dropped)
				sr__pc_add(SR__PC_TS_TRUNCATED, dropped);
			x->out->state_[0] =
				len ? sr__arena_put(SR__ARENA_TRACESTATE, ts,
						    (size_t)len)
				    : 0;
		}
	}
	sr__x_result(x, SR_PF_TRACESTATE, 0, r);
}

void sr__i_tracecontext(const sr_context_t *c, void *carrier,
			sr_carrier_set_fn set)
{
	char buf[SR_TRACESTATE_MAX_BYTES + 1];
	int n;

	if (!sr__ctx_has_ids(c))
		return;
	set(carrier, "traceparent", buf, sr__traceparent_format(c, buf));
	if (!c->state_[0])
		return;
	n = sr__arena_get(c->state_[0], SR__ARENA_TRACESTATE, buf,
			  SR_TRACESTATE_MAX_BYTES);
	if (n > 0) {
		buf[n] = '\0';
		set(carrier, "tracestate", buf, (size_t)n);
	}
}
