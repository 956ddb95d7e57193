/*
 * baggage.c - W3C Baggage: the `baggage` field, and baggage as an
 * immutable value of a context.
 *
 * Grammar (W3C Baggage):
 *   baggage-string = list-member 0*179( OWS "," OWS list-member )
 *   list-member    = key OWS "=" OWS value *( OWS ";" OWS property )
 *   property       = key OWS "=" OWS value / key OWS
 *   key = token (RFC 9110), value = *baggage-octet, percent-encoded UTF-8
 *
 * Extract: a malformed member (bad key, bad character, bad percent escape)
 * discards the whole field, so a context never carries half of a header;
 * members beyond the limits (180 entries, 4096 bytes per entry, 8192
 * bytes in all) are dropped and counted, as the spec allows.  Empty
 * members (from combining an empty field) are skipped.  A key that
 * occurs twice keeps its last value.  Values are stored decoded,
 * properties normalised without blanks ("p1;p2=v").
 *
 * Inject: values are percent-encoded (every byte outside baggage-octet,
 * and '%'); entries that would push the field past 8192 bytes are left
 * out and counted.
 *
 * Left out: values are not checked to be valid UTF-8 (they are bytes to
 * us); property values are kept as sent, not decoded.
 */
#include "prop_int.h"

/* ---- percent coding --------------------------------------------------- */

bool sr__pct_decode(const char *s, size_t n, char *out, size_t *outn)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t hi, lo;

		if (s[i] != '%') {
			if (out)
				out[o] = s[i];
			o++;
			continue;
		}
		if (n - i < 3)
			return false;
		hi = sr__hexval_any[(unsigned char)s[i + 1]];
		lo = sr__hexval_any[(unsigned char)s[i + 2]];
		if ((hi | lo) & 0xf0)
			return false;
		if (out)
			out[o] = (char)(hi << 4 | lo);
		o++;
		i += 2;
	}
	*outn = o;
	return true;
}

size_t sr__pct_encode(const char *s, size_t n, const uint8_t keep[256],
		      char *out, size_t cap)
{
	static const char up[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (keep[c] && c != '%') {
			if (o + 1 > cap)
				return (size_t)-1;
			out[o++] = (char)c;
		} else {
			if (o + 3 > cap)
				return (size_t)-1;
			out[o++] = '%';
			out[o++] = up[c >> 4];
			out[o++] = up[c & 15];
		}
	}
	return o;
}

/* ---- the blob ---------------------------------------------------------- */

#define ENT_HDR 6u

static inline uint16_t rd16(const unsigned char *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

static inline void wr16(unsigned char *p, uint16_t v) { memcpy(p, &v, 2); }

void sr__bag_init(struct sr__bag *b)
{
	b->used = 2;
	b->count = 0;
	wr16(b->buf, 0);
}

bool sr__bag_next(const struct sr__bag *b, uint32_t *pos,
		  sr_baggage_entry_t *e)
{
	const unsigned char *p = b->buf + *pos;
	uint16_t kl, vl, ml;

	if (*pos + ENT_HDR > b->used)
		return false;
	kl = rd16(p);
	vl = rd16(p + 2);
	ml = rd16(p + 4);
	if (*pos + ENT_HDR + (uint32_t)kl + vl + ml > b->used)
		return false;
	e->key.ptr = (const char *)p + ENT_HDR;
	e->key.len = kl;
	e->value.ptr = e->key.ptr + kl;
	e->value.len = vl;
	e->metadata.ptr = e->value.ptr + vl;
	e->metadata.len = ml;
	*pos += ENT_HDR + (uint32_t)kl + vl + ml;
	return true;
}

/* Check the structure of a loaded blob (it passed the arena checksum;
 * this guards against a reference of the right kind but foreign shape). */
static bool bag_valid(struct sr__bag *b)
{
	uint32_t pos = 2, n = 0;
	sr_baggage_entry_t e;

	if (b->used < 2)
		return false;
	b->count = rd16(b->buf);
	while (sr__bag_next(b, &pos, &e))
		n++;
	return pos == b->used && n == b->count;
}

void sr__bag_load(struct sr__bag *b, uint64_t ref)
{
	int n = ref ? sr__arena_get(ref, SR__ARENA_BAGGAGE, b->buf,
				    sizeof(b->buf))
		    : -1;

	if (n < 2) {
		sr__bag_init(b);
		return;
	}
	b->used = (uint32_t)n;
	if (!bag_valid(b))
		sr__bag_init(b);
}

static uint32_t bag_find(const struct sr__bag *b, const char *k, size_t kl)
{
	uint32_t pos = 2, at;
	sr_baggage_entry_t e;

	for (at = pos; sr__bag_next(b, &pos, &e); at = pos)
		if (e.key.len == kl && memcmp(e.key.ptr, k, kl) == 0)
			return at;
	return 0;
}

static bool bag_remove(struct sr__bag *b, const char *k, size_t kl)
{
	uint32_t at = bag_find(b, k, kl), next = at;
	sr_baggage_entry_t e;

	if (!at)
		return false;
	sr__bag_next(b, &next, &e);
	memmove(b->buf + at, b->buf + next, b->used - next);
	b->used -= next - at;
	b->count--;
	wr16(b->buf, b->count);
	return true;
}

/* Remove key, then reserve an entry of these lengths at the end and
 * return where its key goes (value and metadata follow), or NULL past a
 * limit.  The caller fills exactly kl + vl + ml bytes. */
static unsigned char *bag_reserve(struct sr__bag *b, const char *k, size_t kl,
				  size_t vl, size_t ml)
{
	unsigned char *p;
	size_t sz = kl + vl + ml;

	if (kl == 0 || sz > SR_BAGGAGE_MAX_ENTRY_BYTES)
		return NULL;
	bag_remove(b, k, kl);
	if (b->count >= SR_BAGGAGE_MAX_ENTRIES ||
	    b->used + ENT_HDR + sz > sizeof(b->buf))
		return NULL;
	p = b->buf + b->used;
	wr16(p, (uint16_t)kl);
	wr16(p + 2, (uint16_t)vl);
	wr16(p + 4, (uint16_t)ml);
	memmove(p + ENT_HDR, k, kl);
	b->used += ENT_HDR + (uint32_t)sz;
	b->count++;
	wr16(b->buf, b->count);
	return p + ENT_HDR;
}

int sr__bag_put(struct sr__bag *b, const char *k, size_t kl, const char *v,
		size_t vl, const char *m, size_t ml)
{
	unsigned char *p = bag_reserve(b, k, kl, vl, ml);

	if (!p)
		return SR_ELIMIT;
	if (vl)
		memcpy(p + kl, v, vl);
	if (ml)
		memcpy(p + kl + vl, m, ml);
	return 0;
}

uint64_t sr__bag_store(const struct sr__bag *b)
{
	if (b->count == 0)
		return 0;
	return sr__arena_put(SR__ARENA_BAGGAGE, b->buf, b->used);
}

/* ---- parsing ----------------------------------------------------------- */

static bool is_token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!sr__tchar[(unsigned char)s[i]])
			return false;
	return true;
}

static bool is_octets(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!sr__baggage_octet[(unsigned char)s[i]])
			return false;
	return true;
}

/*
 * Validate a property list ("p1; p2 = v") and write it normalised
 * ("p1;p2=v") to out (room for n bytes; NULL only measures).  Returns
 * the normalised length or -1 if malformed.
 */
static long props_normalise(const char *s, size_t n, char *out)
{
	struct sr__list l = { s, n, 0, ';' };
	const char *seg, *eq;
	size_t len, o = 0;

#define PUT(p, l) do { if (out) memcpy(out + o, (p), (l)); o += (l); } while (0)
	while (sr__list_next(&l, &seg, &len)) {
		eq = memchr(seg, '=', len);
		if (o)
			PUT(";", 1);
		if (eq) {
			const char *k = seg, *v = eq + 1;
			size_t kl = (size_t)(eq - seg), vl = len - kl - 1;
			sr__trim_ows(&k, &kl);
			sr__trim_ows(&v, &vl);
			if (!is_token(k, kl) || !is_octets(v, vl))
				return -1;
			PUT(k, kl);
			PUT("=", 1);
			PUT(v, vl);
		} else {
			if (!is_token(seg, len))
				return -1;
			PUT(seg, len);
		}
	}
#undef PUT
	return (long)o;
}

/* One parsed member, as offsets into the field (which is <= 8192). */
struct bg_member {
	uint16_t k, kl, v, vl, m, ml;
	uint16_t dl;   /* decoded value length    */
	uint16_t nml;  /* normalised metadata length */
	uint32_t hash;
};

#define HSLOTS 512u  /* power of two > 2 * SR_BAGGAGE_MAX_ENTRIES */

static uint32_t hash_bytes(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

enum sr__pr sr__baggage_parse(const char *s, size_t n, struct sr__bag *b)
{
	struct bg_member mem[SR_BAGGAGE_MAX_ENTRIES];
	uint8_t live[SR_BAGGAGE_MAX_ENTRIES];
	uint16_t slot[HSLOTS];  /* member index + 1, 0 = empty */
	struct sr__list l = { s, n, 0, ',' };
	const char *seg;
	size_t len;
	uint32_t count = 0, over = 0;

	if (n > SR_PROP_BAGGAGE_MAX)
		return SR__PR_OVERSIZED;
	/* Pass 1: validate every member, measure the first 180.  Nothing is
	 * written to b until the whole field is known to be valid. */
	while (sr__list_next(&l, &seg, &len)) {
		const char *eq, *semi, *k, *v;
		size_t kl, vl, dl;
		long nml = 0;

		if (len == 0)
			continue;
		semi = memchr(seg, ';', len);
		eq = memchr(seg, '=', semi ? (size_t)(semi - seg) : len);
		if (!eq)
			return SR__PR_MALFORMED;
		k = seg;
		kl = (size_t)(eq - seg);
		v = eq + 1;
		vl = semi ? (size_t)(semi - v) : len - kl - 1;
		sr__trim_ows(&k, &kl);
		sr__trim_ows(&v, &vl);
		if (!is_token(k, kl) || !is_octets(v, vl) ||
		    !sr__pct_decode(v, vl, NULL, &dl))
			return SR__PR_MALFORMED;
		if (semi) {
			nml = props_normalise(semi + 1,
					      len - (size_t)(semi + 1 - seg), NULL);
			if (nml < 0)
				return SR__PR_MALFORMED;
		}
		if (count == SR_BAGGAGE_MAX_ENTRIES ||
		    kl + dl + (size_t)nml > SR_BAGGAGE_MAX_ENTRY_BYTES) {
			over++;  /* valid, but past a limit */
			continue;
		}
		mem[count].k = (uint16_t)(k - s);
		mem[count].kl = (uint16_t)kl;
		mem[count].v = (uint16_t)(v - s);
		mem[count].vl = (uint16_t)vl;
		mem[count].m = semi ? (uint16_t)(semi + 1 - s) : 0;
		mem[count].ml =
			semi ? (uint16_t)(len - (size_t)(semi + 1 - seg)) : 0;
		mem[count].dl = (uint16_t)dl;
		mem[count].nml = (uint16_t)nml;
		mem[count].hash = hash_bytes(k, kl);
		count++;
	}

	/* Pass 2: a repeated key keeps its last value: walk backwards and
	 * mark a member dead if a later one had its key. */
	memset(slot, 0, sizeof(slot));
	for (uint32_t i = count; i-- > 0;) {
		uint32_t h = mem[i].hash & (HSLOTS - 1);
		live[i] = 1;
		for (;;) {
			uint16_t j = slot[h];
			if (!j) {
				slot[h] = (uint16_t)(i + 1);
				break;
			}
			if (mem[j - 1].kl == mem[i].kl &&
			    memcmp(s + mem[j - 1].k, s + mem[i].k, mem[i].kl) == 0) {
				live[i] = 0;
				break;
			}
			h = (h + 1) & (HSLOTS - 1);
		}
	}

	/* Pass 3: decode straight into the blob. */
	for (uint32_t i = 0; i < count; i++) {
		const struct bg_member *m = &mem[i];
		unsigned char *p;
		size_t dl;

		if (!live[i])
			continue;
		p = bag_reserve(b, s + m->k, m->kl, m->dl, m->nml);
		if (!p) {
			over++;
			continue;
		}
		sr__pct_decode(s + m->v, m->vl, (char *)p + m->kl, &dl);
		if (m->nml)
			props_normalise(s + m->m, m->ml,
					(char *)p + m->kl + m->dl);
	}
	if (over)
		sr__pc_add(SR__PC_BAG_DROPPED, over);
	return SR__PR_OK;
}

size_t sr__baggage_format(const struct sr__bag *b, char *out, size_t cap)
{
	uint32_t pos = 2;
	size_t o = 0, lim = cap - 1;
	sr_baggage_entry_t e;
	uint64_t skipped = 0;

	if (lim > SR_PROP_BAGGAGE_MAX)
		lim = SR_PROP_BAGGAGE_MAX;
	while (sr__bag_next(b, &pos, &e)) {
		size_t start = o, w;

		if (o && o < lim)
			out[o++] = ',';
		if (o + e.key.len + 1 > lim)
			goto skip;
		memcpy(out + o, e.key.ptr, e.key.len);
		o += e.key.len;
		out[o++] = '=';
		w = sr__pct_encode(e.value.ptr, e.value.len, sr__baggage_octet,
				   out + o, lim - o);
		if (w == (size_t)-1)
			goto skip;
		o += w;
		if (e.metadata.len) {
			if (o + 1 + e.metadata.len > lim)
				goto skip;
			out[o++] = ';';
			memcpy(out + o, e.metadata.ptr, e.metadata.len);
			o += e.metadata.len;
		}
		continue;
skip:
		o = start;
		skipped++;
	}
	if (skipped)
		sr__pc_add(SR__PC_INJECT_BAG_DROPPED, skipped);
	out[o] = '\0';
	return o;
}

/* ---- baggage of a context ---------------------------------------------- */

SR_API int sr_baggage_get(const sr_context_t *ctx, const char *key,
			  char *buf, size_t cap, size_t *len)
{
	struct sr__bag b;
	uint32_t pos = 2;
	sr_baggage_entry_t e;
	size_t kl = key ? strlen(key) : 0;

	if (len)
		*len = 0;
	if (buf && cap)
		buf[0] = '\0';
	if (!ctx || !key)
		return SR_EINVAL;
	sr__bag_load(&b, ctx->state_[1]);
	while (sr__bag_next(&b, &pos, &e)) {
		if (e.key.len == kl && memcmp(e.key.ptr, key, kl) == 0)
			return sr__copy_out(e.value.ptr, e.value.len, buf, cap,
					    len);
	}
	return SR_ENOTFOUND;
}

static int bag_commit(const sr_context_t *in, const struct sr__bag *b,
		      sr_context_t *out)
{
	uint64_t ref = sr__bag_store(b);

	if (b->count && !ref)
		return SR_ENOMEM;
	if (out != in)
		*out = *in;
	out->state_[1] = ref;
	return 0;
}

SR_API int sr_baggage_set(const sr_context_t *in, const char *key,
			  const char *value, size_t value_len,
			  const char *metadata, sr_context_t *out)
{
	struct sr__bag b;
	char meta[SR_BAGGAGE_MAX_ENTRY_BYTES];
	size_t kl, ml = 0;
	long mn = 0;
	int rc;

	if (!in || !out || !key || (!value && value_len))
		return SR_EINVAL;
	kl = strlen(key);
	if (!is_token(key, kl))
		return SR_EINVAL;
	if (value_len == SR_CARRIER_LEN_CSTR)
		value_len = strlen(value);
	if (metadata) {
		ml = strnlen(metadata, sizeof(meta) + 1);
		if (ml > sizeof(meta))
			return SR_ELIMIT;
		mn = ml ? props_normalise(metadata, ml, meta) : 0;
		if (mn < 0)
			return SR_EINVAL;
	}
	sr__bag_load(&b, in->state_[1]);
	rc = sr__bag_put(&b, key, kl, value ? value : "", value_len, meta,
			 (size_t)mn);
	if (rc)
		return rc;
	return bag_commit(in, &b, out);
}

SR_API int sr_baggage_remove(const sr_context_t *in, const char *key,
			     sr_context_t *out)
{
	struct sr__bag b;

	if (!in || !out || !key)
		return SR_EINVAL;
	sr__bag_load(&b, in->state_[1]);
	if (!bag_remove(&b, key, strlen(key))) {
		if (out != in)
			*out = *in;
		return SR_ENOTFOUND;
	}
	return bag_commit(in, &b, out);
}

SR_API int sr_baggage_count(const sr_context_t *ctx)
{
	struct sr__bag b;

	if (!ctx || !ctx->state_[1])
		return 0;
	sr__bag_load(&b, ctx->state_[1]);
	return b.count;
}

SR_API int sr_baggage_foreach(const sr_context_t *ctx,
			      int (*cb)(void *ud, const sr_baggage_entry_t *e),
			      void *ud)
{
	struct sr__bag b;
	uint32_t pos = 2;
	sr_baggage_entry_t e;

	if (!ctx || !cb)
		return SR_EINVAL;
	sr__bag_load(&b, ctx->state_[1]);
	if (!b.count)
		return SR_ENOTFOUND;
	while (sr__bag_next(&b, &pos, &e)) {
		int r = cb(ud, &e);
		if (r)
			return r;
	}
	return 0;
}

/* ---- extract / inject ------------------------------------------------- */

void sr__x_baggage(struct sr__xstate *x)
{
	const char *s;
	size_t n;
	enum sr__pr r;

	r = sr__carrier_get(x, "baggage", SR_PROP_BAGGAGE_MAX, &s, &n);
	if (r == SR__PR_OK) {
		/* Validates the whole field before it touches the bag. */
		r = sr__baggage_parse(s, n, sr__x_bag(x));
		if (r == SR__PR_OK)
			x->bag_dirty = true;
	}
	sr__x_result(x, SR_PF_BAGGAGE, SR_PROP_BAGGAGE, r);
}

void sr__i_baggage(const sr_context_t *c, void *carrier,
		   sr_carrier_set_fn set)
{
	struct sr__bag b;
	char hdr[SR_PROP_BAGGAGE_MAX + 1];
	size_t n;

	if (!c->state_[1])
		return;
	sr__bag_load(&b, c->state_[1]);
	if (!b.count)
		return;
	n = sr__baggage_format(&b, hdr, sizeof(hdr));
	if (n)
		set(carrier, "baggage", hdr, n);
}
