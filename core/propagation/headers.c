/*
 * headers.c - the stock carrier over an array of header fields
 * (sr_headers_t): case-insensitive names, repeated fields joined by ","
 * as RFC 9110 section 5.3 says, so every user of it combines repeated
 * tracestate / baggage lines and rejects a repeated traceparent the same,
 * right way.
 *
 * A field seen once is returned in place; only a repeated one is copied,
 * into the carrier's own buffer, which bounds the work by the buffer and
 * needs no allocation.  Lookups scan the array (header lists are short:
 * tens of fields, three or four lookups per extract); there is no index.
 */
#include "prop_int.h"

static size_t field_len(const char *s, size_t n, size_t cap)
{
	return n == SR_CARRIER_LEN_CSTR ? strnlen(s, cap) : n;
}

static bool name_is(const sr_header_t *f, const char *key, size_t kl)
{
	size_t n = field_len(f->name, f->name_len, kl + 1);

	if (n != kl)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char a = (unsigned char)f->name[i];
		unsigned char b = (unsigned char)key[i];

		if (a >= 'A' && a <= 'Z')
			a = (unsigned char)(a + ('a' - 'A'));
		if (b >= 'A' && b <= 'Z')
			b = (unsigned char)(b + ('a' - 'A'));
		if (a != b)
			return false;
	}
	return true;
}

/* Append (s, n) to the join buffer at *o; a value past the end fills it
 * to SR_HEADERS_JOIN_MAX + 1 bytes (always over every field limit). */
static void join_append(sr_headers_t *h, size_t *o, const char *s, size_t n)
{
	size_t room = sizeof(h->join_) - *o;
	size_t c = n < room ? n : room;

	memcpy(h->join_ + *o, s, c);
	*o += c;
}

/* The value of the fields named (key, kl) from index `first` on (which
 * holds the first of them). */
static const char *lookup(sr_headers_t *h, size_t first, const char *key,
			  size_t kl, size_t *len)
{
	const sr_header_t *f = &h->fields[first];
	size_t o = 0, i, hits = 0;

	for (i = first + 1; i < h->count; i++)
		if (name_is(&h->fields[i], key, kl))
			break;
	if (i == h->count) {  /* the common case: one line */
		*len = f->value ? f->value_len : 0;
		return f->value ? f->value : "";
	}
	for (i = first; i < h->count; i++) {
		const sr_header_t *g = &h->fields[i];

		if (!name_is(g, key, kl))
			continue;
		if (hits++)
			join_append(h, &o, ",", 1);
		if (g->value)
			join_append(h, &o, g->value,
				    field_len(g->value, g->value_len,
					      sizeof(h->join_)));
	}
	if (o < sizeof(h->join_))
		h->join_[o] = '\0';
	*len = o;
	return h->join_;
}

static const char *headers_get(void *carrier, const char *key, size_t *len)
{
	sr_headers_t *h = carrier;
	size_t kl = strlen(key);

	for (size_t i = 0; i < h->count; i++)
		if (name_is(&h->fields[i], key, kl))
			return lookup(h, i, key, kl, len);
	return NULL;
}

static void headers_keys(void *carrier, sr_carrier_visit_fn visit, void *ud)
{
	sr_headers_t *h = carrier;

	for (size_t i = 0; i < h->count; i++) {
		const sr_header_t *f = &h->fields[i];
		size_t kl = field_len(f->name, f->name_len, SR_PROP_BAGGAGE_MAX);
		const char *v;
		size_t j, vl;

		/* Each name once, at its first line. */
		for (j = 0; j < i; j++)
			if (name_is(&h->fields[j], f->name, kl))
				break;
		if (j < i)
			continue;
		v = lookup(h, i, f->name, kl, &vl);
		if (visit(ud, f->name, kl, v, vl))
			return;
	}
}

static const sr_carrier_getter_t g_headers = { headers_get, headers_keys };

SR_API int sr_headers_init(sr_headers_t *h, const sr_header_t *fields,
			   size_t count)
{
	if (!h || (!fields && count))
		return SR_EINVAL;
	h->fields = fields;
	h->count = count;
	return 0;
}

SR_API const sr_carrier_getter_t *sr_headers_getter(void)
{
	return &g_headers;
}
