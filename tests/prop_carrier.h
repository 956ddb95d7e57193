/*
 * prop_carrier.h - a header-list carrier for the propagation tests, fuzz
 * targets and benchmarks: fixed storage (no malloc after creation), field
 * names compared case-insensitively, repeated fields combined with ","
 * by the getter as RFC 9110 section 5.3 describes, and a key iterator.
 */
#ifndef SR_PROP_CARRIER_H
#define SR_PROP_CARRIER_H

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include <spanring/spanring.h>

#define PC_FIELDS 256
#define PC_BYTES (256 * 1024)

struct pc_field {
	const char *key;   /* into buf */
	size_t klen;
	const char *val;   /* into buf */
	size_t vlen;
};

typedef struct pc {
	int n;
	size_t used;
	int gets;                    /* getter calls, for tests        */
	struct pc_field f[PC_FIELDS];
	char buf[PC_BYTES];
	char joined[PC_BYTES];
} pc_t;

static inline void pc_reset(pc_t *c)
{
	c->n = 0;
	c->used = 0;
	c->gets = 0;
}

static inline const char *pc_store(pc_t *c, const char *s, size_t n)
{
	char *d;

	if (c->used + n + 1 > sizeof(c->buf))
		return NULL;
	d = c->buf + c->used;
	memcpy(d, s, n);
	d[n] = '\0';
	c->used += n + 1;
	return d;
}

/* Append a field (a repeated name adds another line). */
static inline int pc_addn(pc_t *c, const char *k, size_t kl, const char *v,
			  size_t vl)
{
	struct pc_field *f;

	if (c->n == PC_FIELDS)
		return -1;
	f = &c->f[c->n];
	f->key = pc_store(c, k, kl);
	f->val = pc_store(c, v, vl);
	if (!f->key || !f->val)
		return -1;
	f->klen = kl;
	f->vlen = vl;
	c->n++;
	return 0;
}

static inline int pc_add(pc_t *c, const char *k, const char *v)
{
	return pc_addn(c, k, strlen(k), v, strlen(v));
}

/* Value of the only / first field named k (case-insensitive), or NULL. */
static inline const char *pc_find(const pc_t *c, const char *k, size_t *len)
{
	size_t kl = strlen(k);

	for (int i = 0; i < c->n; i++)
		if (c->f[i].klen == kl && strncasecmp(c->f[i].key, k, kl) == 0) {
			if (len)
				*len = c->f[i].vlen;
			return c->f[i].val;
		}
	return NULL;
}

static inline const char *pc_get(void *carrier, const char *key, size_t *len)
{
	pc_t *c = carrier;
	size_t kl = strlen(key), o = 0;
	int hits = 0, last = -1;

	c->gets++;
	for (int i = 0; i < c->n; i++) {
		if (c->f[i].klen != kl || strncasecmp(c->f[i].key, key, kl) != 0)
			continue;
		if (hits == 1) {  /* second line: start combining */
			memcpy(c->joined, c->f[last].val, c->f[last].vlen);
			o = c->f[last].vlen;
		}
		if (hits >= 1 && o + 1 + c->f[i].vlen < sizeof(c->joined)) {
			c->joined[o++] = ',';
			memcpy(c->joined + o, c->f[i].val, c->f[i].vlen);
			o += c->f[i].vlen;
		}
		hits++;
		last = i;
	}
	if (!hits)
		return NULL;
	if (hits == 1) {
		*len = c->f[last].vlen;
		return c->f[last].val;
	}
	c->joined[o] = '\0';
	*len = o;
	return c->joined;
}

static inline void pc_set(void *carrier, const char *key, const char *value,
			  size_t len)
{
	pc_t *c = carrier;
	size_t kl = strlen(key);

	for (int i = 0; i < c->n; i++)
		if (c->f[i].klen == kl && strncasecmp(c->f[i].key, key, kl) == 0) {
			c->f[i].val = pc_store(c, value, len);
			c->f[i].vlen = c->f[i].val ? len : 0;
			if (!c->f[i].val)
				c->f[i].val = "";
			return;
		}
	pc_addn(c, key, kl, value, len);
}

static inline void pc_keys(void *carrier, sr_carrier_visit_fn visit, void *ud)
{
	pc_t *c = carrier;

	for (int i = 0; i < c->n; i++)
		if (visit(ud, c->f[i].key, c->f[i].klen, c->f[i].val,
			  c->f[i].vlen))
			return;
}

static const sr_carrier_getter_t pc_getter = { pc_get, pc_keys };

#endif /* SR_PROP_CARRIER_H */
