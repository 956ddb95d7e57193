/*
 * resource.c - the resource attributes every exported batch carries.
 *
 * Built once at sr_init(), read by exporters until shutdown.  Attributes,
 * in rising precedence (a later source replaces an earlier value of the
 * same key, as OpenTelemetry's Resource.merge does):
 *
 *   1. telemetry.sdk.name=spanring, telemetry.sdk.language=c,
 *      telemetry.sdk.version=<library version>,
 *      service.name=unknown_service:<process name>
 *   2. cfg->resource_attributes (OTEL_RESOURCE_ATTRIBUTES syntax)
 *   3. cfg->service_name (OTEL_SERVICE_NAME) as service.name
 *
 * OTEL_RESOURCE_ATTRIBUTES syntax: "key=value" entries separated by ',';
 * whitespace around entries, keys and values is trimmed; keys and values
 * are percent-decoded (so ',' and '=' can be written %2C and %3D; a raw
 * '=' inside a value is kept, since only the first '=' splits); empty
 * entries are ignored.  An entry with no '=', an empty key or a bad '%'
 * escape is skipped, the others are kept, and the call returns SR_EINVAL
 * describing the first bad one.  That is opentelemetry-go's behaviour; the
 * specification would rather discard the whole variable, which turns one
 * typo into losing service.namespace, deployment.environment and the rest.
 *
 * Memory: one sr__alloc block, sized from an upper bound computed before
 * parsing, so building never reallocates:
 *
 *   +----------+---------------------------+----------------------------+
 *   | size_t   | sr_attr_view_t attrs[cap] | key and value bytes, each  |
 *   | (16 B)   |                           | NUL-terminated             |
 *   +----------+---------------------------+----------------------------+
 *   ^ block    ^ r->attrs                  ^ r->strings
 *
 * The leading word holds the block size for sr__free(), which wants it
 * back and struct sr__resource has no field for it.
 *
 * Left out: resource detectors (host, container, k8s), schema URLs, and
 * any check that keys follow semantic-convention naming.
 */
#include "config_int.h"
#include "env_int.h"
#include "spanring_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef SR_VERSION_STRING
#error "SR_VERSION_STRING must be defined by the build"
#endif

#define HDR 16u
#define UNKNOWN_SERVICE "unknown_service:"
#define N_DEFAULTS 4u /* the attributes of precedence level 1 */

/* ---- parsing ---------------------------------------------------------- */

static void trim(const char **p, size_t *len)
{
	while (*len > 0 && sr__env_is_blank(**p)) {
		(*p)++;
		(*len)--;
	}
	while (*len > 0 && sr__env_is_blank((*p)[*len - 1]))
		(*len)--;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode src into dst (NULL: only check).  Returns the decoded
 * length, or -1 on a '%' not followed by two hex digits. */
static long pct_decode(const char *src, size_t len, char *dst)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = src[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return -1;
			hi = hexval(src[i + 1]);
			lo = hexval(src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (dst != NULL)
			dst[o] = c;
		o++;
	}
	return (long)o;
}

enum entry_verdict { E_OK, E_EMPTY, E_NO_EQ, E_NO_KEY, E_BAD_PCT };

struct kv {
	const char *k, *v;  /* raw, trimmed, still percent-encoded */
	size_t klen, vlen;
};

static enum entry_verdict split_entry(const char *p, size_t len,
				      struct kv *kv)
{
	const char *eq;

	trim(&p, &len);
	if (len == 0)
		return E_EMPTY;
	eq = memchr(p, '=', len);
	if (eq == NULL)
		return E_NO_EQ;
	kv->k = p;
	kv->klen = (size_t)(eq - p);
	kv->v = eq + 1;
	kv->vlen = len - kv->klen - 1;
	trim(&kv->k, &kv->klen);
	trim(&kv->v, &kv->vlen);
	if (kv->klen == 0)
		return E_NO_KEY;
	if (pct_decode(kv->k, kv->klen, NULL) < 0 ||
	    pct_decode(kv->v, kv->vlen, NULL) < 0)
		return E_BAD_PCT;
	return E_OK;
}

static void describe(char *why, size_t why_len, const char *p, size_t len,
		     enum entry_verdict v)
{
	static const char *const text[] = {
		[E_NO_EQ] = "no '='",
		[E_NO_KEY] = "empty key",
		[E_BAD_PCT] = "bad %-escape (want %XX)",
	};
	char shown[52];
	size_t n = 0;

	trim(&p, &len);
	for (size_t i = 0; i < len && n < 40; i++) {
		unsigned char c = (unsigned char)p[i];
		shown[n++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (n < len) {
		memcpy(shown + n, "...", 3);
		n += 3;
	}
	shown[n] = '\0';
	snprintf(why, why_len, "entry '%s': %s", shown, text[v]);
}

/* Calls `fn` for each entry of `s` with its verdict (E_EMPTY skipped);
 * returns the number of malformed entries. */
typedef void (*entry_fn)(void *ud, const char *p, size_t len,
			 enum entry_verdict v, const struct kv *kv);

static unsigned for_each_entry(const char *s, entry_fn fn, void *ud)
{
	unsigned bad = 0;

	while (s != NULL) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		struct kv kv;
		enum entry_verdict v = split_entry(s, len, &kv);

		if (v != E_EMPTY) {
			bad += v != E_OK;
			fn(ud, s, len, v, &kv);
		}
		s = comma ? comma + 1 : NULL;
	}
	return bad;
}

struct check_ctx {
	char *why;
	size_t why_len;
	bool seen;
};

static void check_entry(void *ud, const char *p, size_t len,
			enum entry_verdict v, const struct kv *kv)
{
	struct check_ctx *c = ud;

	if (v != E_OK && !c->seen) {
		c->seen = true;
		describe(c->why, c->why_len, p, len, v);
	}
}

int sr__resource_attrs_check(const char *attrs, char *why, size_t why_len)
{
	struct check_ctx c = { why, why_len, false };

	if (why_len > 0)
		why[0] = '\0';
	return for_each_entry(attrs, check_entry, &c) ? SR_EINVAL : 0;
}

/* ---- building --------------------------------------------------------- */

struct builder {
	sr_attr_view_t *attrs;
	uint32_t count, cap;
	char *str;              /* next free byte of the string area */
	struct check_ctx err;
};

/* Copy n bytes plus a NUL into the string area. */
static sr_str_t put_str(struct builder *b, const char *s, size_t n)
{
	sr_str_t out = { b->str, (uint32_t)n };

	memcpy(b->str, s, n);
	b->str[n] = '\0';
	b->str += n + 1;
	return out;
}

/* Set key (already in the string area) to value; a repeated key keeps its
 * position and takes the new value, and its second key copy is given
 * back. */
static void set_attr(struct builder *b, sr_str_t key, sr_str_t value)
{
	for (uint32_t i = 0; i < b->count; i++) {
		sr_attr_view_t *a = &b->attrs[i];
		if (a->key.len == key.len &&
		    memcmp(a->key.ptr, key.ptr, key.len) == 0) {
			a->v.s = value;
			if (key.ptr + key.len + 1 == value.ptr) {
				/* key then value were just appended: slide
				 * the value down over the spare key */
				memmove((char *)key.ptr, value.ptr,
					value.len + 1);
				a->v.s.ptr = key.ptr;
				b->str = (char *)key.ptr + value.len + 1;
			}
			return;
		}
	}
	b->attrs[b->count].key = key;
	b->attrs[b->count].type = SR_ATTR_STRING;
	b->attrs[b->count].v.s = value;
	b->count++;
}

static void set_cstr(struct builder *b, const char *key, const char *value,
		     size_t vlen)
{
	sr_str_t k = put_str(b, key, strlen(key));
	sr_str_t v = put_str(b, value, vlen);

	set_attr(b, k, v);
}

static void build_entry(void *ud, const char *p, size_t len,
			enum entry_verdict v, const struct kv *kv)
{
	struct builder *b = ud;
	sr_str_t key, value;

	if (v != E_OK) {
		check_entry(&b->err, p, len, v, kv);
		return;
	}
	key.ptr = b->str;
	key.len = (uint32_t)pct_decode(kv->k, kv->klen, b->str);
	b->str[key.len] = '\0';
	b->str += key.len + 1;
	value.ptr = b->str;
	value.len = (uint32_t)pct_decode(kv->v, kv->vlen, b->str);
	b->str[value.len] = '\0';
	b->str += value.len + 1;
	set_attr(b, key, value);
}

/* The executable's short name: argv[0]'s basename as the C library kept
 * it, else the kernel's comm (15 bytes at most). */
static size_t process_name(char *out, size_t cap)
{
	const char *n = program_invocation_short_name;
	size_t len = 0;

	if (n != NULL && *n != '\0') {
		len = strlen(n);
		if (len > cap - 1)
			len = cap - 1;
		memcpy(out, n, len);
	} else {
		int fd = open("/proc/self/comm", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t got = read(fd, out, cap - 1);
			len = got > 0 ? (size_t)got : 0;
			close(fd);
		}
		while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == '\0'))
			len--;
	}
	out[len] = '\0';
	return len;
}

int sr__resource_build(struct sr__resource *r, const sr_config_t *cfg)
{
	static const char *const sdk[][2] = {
		{ "telemetry.sdk.name", "spanring" },
		{ "telemetry.sdk.language", "c" },
		{ "telemetry.sdk.version", SR_VERSION_STRING },
	};
	const char *ra = cfg->resource_attributes;
	const char *svc = cfg->service_name;
	char proc[256], unknown[sizeof(UNKNOWN_SERVICE) + sizeof(proc)];
	size_t ra_len = ra ? strlen(ra) : 0, entries = 0, bytes = 0, total;
	size_t unknown_len, svc_len = svc ? strlen(svc) : 0;
	char why[160] = "";
	struct builder b = { .err = { why, sizeof(why), false } };
	unsigned bad;
	char *block;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < ra_len; i++)
		entries += ra[i] == ',';
	entries += ra_len > 0;

	unknown_len = (size_t)snprintf(unknown, sizeof(unknown), "%s",
				       UNKNOWN_SERVICE);
	unknown_len += process_name(unknown + unknown_len,
				    sizeof(unknown) - unknown_len);

	/* Upper bound of the string area.  An entry of n raw bytes decodes
	 * to at most n - 1 key and value bytes ('=' is dropped), plus two
	 * NULs; each comma saved one byte too. */
	for (size_t i = 0; i < sizeof(sdk) / sizeof(sdk[0]); i++)
		bytes += strlen(sdk[i][0]) + strlen(sdk[i][1]) + 2;
	bytes += 2 * sizeof("service.name") + unknown_len + 1 + svc_len + 1;
	bytes += ra_len + 2 * entries;

	b.cap = (uint32_t)(N_DEFAULTS + entries);
	total = HDR + b.cap * sizeof(sr_attr_view_t) + bytes;
	block = sr__alloc(total, HDR);
	if (block == NULL)
		return sr__set_error(SR_ENOMEM,
				     "resource: cannot allocate %zu bytes",
				     total);
	memcpy(block, &total, sizeof(total));
	b.attrs = (sr_attr_view_t *)(void *)(block + HDR);
	b.str = (char *)(b.attrs + b.cap);

	for (size_t i = 0; i < sizeof(sdk) / sizeof(sdk[0]); i++)
		set_cstr(&b, sdk[i][0], sdk[i][1], strlen(sdk[i][1]));
	set_cstr(&b, "service.name", unknown, unknown_len);
	bad = for_each_entry(ra, build_entry, &b);
	if (svc_len > 0)
		set_cstr(&b, "service.name", svc, svc_len);

	r->attrs = b.attrs;
	r->count = b.count;
	r->strings = (char *)(b.attrs + b.cap);
	if (bad > 0)
		return sr__set_error(SR_EINVAL,
				     "%s: %s; %u malformed entr%s skipped",
				     sr__config_origin(ra, "OTEL_RESOURCE_ATTRIBUTES",
						       "resource_attributes"),
				     why, bad, bad == 1 ? "y" : "ies");
	return 0;
}

void sr__resource_free(struct sr__resource *r)
{
	char *block;
	size_t total;

	if (r == NULL || r->attrs == NULL)
		return;
	block = (char *)r->attrs - HDR;
	memcpy(&total, block, sizeof(total));
	sr__free(block, total);
	memset(r, 0, sizeof(*r));
}
