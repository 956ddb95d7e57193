/*
 * fuzz_prop.h - what the propagation fuzz targets share: the input is put
 * into a header carrier, extracted, and checked against the invariants
 * extract promises, beyond "no crash, no leak, no out-of-bounds read"
 * (ASan):
 *
 *   - a failed extract leaves no ids (never a half-parsed context);
 *   - a successful one has non-zero ids, remote = 1;
 *   - inject then extract again gives the same ids, sampled flag (and
 *     with tracecontext the random flag), trace state and baggage
 *     (unless inject had to leave baggage out);
 *   - trace state text is normalised: re-parsing it gives itself, and
 *     no key occurs twice;
 *   - sr_extract_info_t agrees with the result: a dropped tracestate
 *     leaves no trace state, a dropped trace header no ids.
 *
 * Field values are copied into exactly-sized heap blocks, so a read one
 * byte past a value is an ASan error, not a silent read of the next one.
 */
#ifndef SR_FUZZ_PROP_H
#define SR_FUZZ_PROP_H

#include <strings.h>

#include "fuzz_check.h"

#include <spanring/spanring.h>

#define FP_FIELDS 16

struct fp_field {
	char key[64];
	char *val;           /* malloc'ed, exactly len bytes, no NUL */
	size_t len;
};

struct fp_carrier {
	int n;
	struct fp_field f[FP_FIELDS];
};

static void fp_clear(struct fp_carrier *c)
{
	for (int i = 0; i < c->n; i++)
		free(c->f[i].val);
	c->n = 0;
}

static void fp_add(struct fp_carrier *c, const char *key, size_t klen,
		   const void *val, size_t len)
{
	struct fp_field *f;

	if (c->n == FP_FIELDS || klen >= sizeof(f->key))
		return;
	f = &c->f[c->n++];
	memcpy(f->key, key, klen);
	f->key[klen] = '\0';
	f->val = malloc(len ? len : 1);
	memcpy(f->val, val, len);
	f->len = len;
}

static const char *fp_get(void *carrier, const char *key, size_t *len)
{
	struct fp_carrier *c = carrier;

	for (int i = 0; i < c->n; i++)
		if (strcasecmp(c->f[i].key, key) == 0) {
			*len = c->f[i].len;
			return c->f[i].val;
		}
	return NULL;
}

static void fp_keys(void *carrier, sr_carrier_visit_fn visit, void *ud)
{
	struct fp_carrier *c = carrier;

	for (int i = 0; i < c->n; i++)
		if (visit(ud, c->f[i].key, strlen(c->f[i].key), c->f[i].val,
			  c->f[i].len))
			return;
}

static void fp_set(void *carrier, const char *key, const char *value,
		   size_t len)
{
	struct fp_carrier *c = carrier;

	CHECK(strlen(value) == len);  /* setter values are NUL-terminated */
	fp_add(c, key, strlen(key), value, len);
}

static const sr_carrier_getter_t fp_getter = { fp_get, fp_keys };

/* Baggage as one comparable string. */
struct fp_dump {
	char s[32768];
	size_t o;
};

static int fp_dump_cb(void *ud, const sr_baggage_entry_t *e)
{
	struct fp_dump *d = ud;
	const sr_str_t *parts[3] = { &e->key, &e->value, &e->metadata };

	for (int i = 0; i < 3; i++) {
		if (d->o + parts[i]->len + 1 > sizeof(d->s))
			return 1;
		memcpy(d->s + d->o, parts[i]->ptr, parts[i]->len);
		d->o += parts[i]->len;
		d->s[d->o++] = '\x1f';
	}
	return 0;
}

static void fp_dump(const sr_context_t *c, struct fp_dump *d)
{
	d->o = 0;
	sr_baggage_foreach(c, fp_dump_cb, d);
}

static sr_propagator_t *fp_prop(const char *names)
{
	sr_propagator_t *p = NULL;

	CHECK(sr_propagator_create(names, &p) == 0);
	return p;
}

/* Each key of a normalised tracestate ("k=v,k=v") occurs once. */
static void fp_check_unique_keys(const char *ts)
{
	const char *keys[40];
	size_t kl[40];
	int n = 0;

	for (const char *m = ts; *m;) {
		const char *eq = strchr(m, '='), *end = strchr(m, ',');

		CHECK(eq && n < 40);
		keys[n] = m;
		kl[n] = (size_t)(eq - m);
		for (int i = 0; i < n; i++)
			CHECK(kl[i] != kl[n] || memcmp(keys[i], m, kl[n]) != 0);
		n++;
		m = end ? end + 1 : m + strlen(m);
	}
}

/* Extract with p from c and check the invariants; returns the result. */
static int fp_extract_check(const sr_propagator_t *p, struct fp_carrier *c)
{
	static struct fp_dump d1, d2;
	static struct fp_carrier out;
	sr_propagation_stats_t s0 = { .size = sizeof(s0) }, s1 = { .size = sizeof(s1) };
	sr_context_t ctx, back;
	char ts1[600], ts2[600];
	int rc, rc2, t1, t2;

	sr_extract_info_t info;

	rc = sr_propagator_extract_ex(p, c, &fp_getter, &ctx, &info);
	CHECK(rc == 0 || rc == SR_ENOTFOUND || rc == SR_EINVAL);
	if (info.dropped & SR_EXTRACT_DROPPED(SR_PF_TRACESTATE))
		CHECK(ctx.state_[0] == 0);
	if (info.dropped & SR_EXTRACT_DROPPED(SR_PF_TRACEPARENT))
		CHECK(info.source != SR_PROP_TRACECONTEXT);
	CHECK(!(info.malformed | info.oversized) || info.dropped);
	if (rc != 0) {
		CHECK(!sr_context_is_valid(&ctx));
		CHECK(ctx.remote == 0 && ctx.trace_flags == 0 &&
			 ctx.state_[0] == 0);
	} else {
		CHECK(sr_context_is_valid(&ctx));
		CHECK(ctx.remote == 1);
	}

	/* Round trip. */
	sr_propagation_stats_get(&s0);
	fp_clear(&out);
	sr_propagator_inject(p, &ctx, &out, fp_set);
	sr_propagation_stats_get(&s1);
	rc2 = sr_propagator_extract(p, &out, &fp_getter, &back);
	CHECK(rc2 == (rc == 0 ? 0 : SR_ENOTFOUND));
	if (rc == 0) {
		CHECK(memcmp(ctx.trace_id, back.trace_id, 16) == 0);
		CHECK(memcmp(ctx.span_id, back.span_id, 8) == 0);
		CHECK((ctx.trace_flags & 1) == (back.trace_flags & 1));
		if (sr_propagator_formats(p) & SR_PROP_TRACECONTEXT)
			CHECK((ctx.trace_flags & 3) == (back.trace_flags & 3));
	}
	t1 = sr_context_tracestate(&ctx, ts1, sizeof(ts1), NULL);
	t2 = sr_context_tracestate(&back, ts2, sizeof(ts2), NULL);
	if (sr_propagator_formats(p) & SR_PROP_TRACECONTEXT) {
		CHECK(t1 == t2);
		CHECK(t1 != 0 || strcmp(ts1, ts2) == 0);
	}
	if (t1 == 0) {
		/* Normalised: parsing it again changes nothing. */
		sr_context_t again;
		memset(&again, 0, sizeof(again));
		CHECK(sr_context_tracestate_parse(&again, ts1,
						     SR_CARRIER_LEN_CSTR,
						     &again) == 0);
		CHECK(sr_context_tracestate(&again, ts2, sizeof(ts2), NULL) == 0);
		CHECK(strcmp(ts1, ts2) == 0);
		fp_check_unique_keys(ts1);
	}
	if (s1.inject_baggage_dropped == s0.inject_baggage_dropped &&
	    (sr_propagator_formats(p) & (SR_PROP_BAGGAGE | SR_PROP_JAEGER))) {
		/* Exact for one baggage format at a time (uberctx- baggage
		 * is extracted lowercase and without properties, so it too
		 * survives its own round trip unchanged). */
		fp_dump(&ctx, &d1);
		fp_dump(&back, &d2);
		CHECK(d1.o == d2.o && memcmp(d1.s, d2.s, d1.o) == 0);
	}
	fp_clear(&out);
	return rc;
}

/* Split data at '\n' into up to max lines (pointers into data). */
static inline int fp_lines(const uint8_t *data, size_t size, const uint8_t **line,
		    size_t *len, int max)
{
	int n = 0;
	size_t start = 0;

	for (size_t i = 0; i <= size && n < max; i++)
		if (i == size || data[i] == '\n') {
			line[n] = data + start;
			len[n] = i - start;
			n++;
			start = i + 1;
		}
	return n;
}

/* Lines of data joined with ',' into an exact-size heap copy, as a
 * carrier combines repeated fields; caller frees *out. */
static inline size_t fp_join(const uint8_t *data, size_t size, char **out)
{
	const uint8_t *line[8];
	size_t len[8], o = 0;
	int n = fp_lines(data, size, line, len, 8);

	*out = malloc(size + 1);
	for (int i = 0; i < n; i++) {
		if (i)
			(*out)[o++] = ',';
		memcpy(*out + o, line[i], len[i]);
		o += len[i];
	}
	return o;
}

/* Every target: an arena small enough that the fuzzer also exercises
 * wrap-around. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("SPANRING_CONTEXT_ARENA_BYTES", "65536", 1);
	return 0;
}

#endif /* SR_FUZZ_PROP_H */
