/*
 * propagator.c - composite propagators: selection by name
 * (OTEL_PROPAGATORS), and the extract / inject drivers that run the
 * formats in order over a carrier.
 *
 * Extract zeroes the output, then lets each format read its fields: a
 * format that finds valid ids replaces earlier ones (the OpenTelemetry
 * composite rule), trace state goes with the ids it came with, baggage
 * from several formats is merged in a stack buffer and stored once at
 * the end.  Each field is length-checked before it is parsed, and each
 * outcome (ok, malformed, oversized) is counted per field.
 *
 * Left out: the xray and ottrace propagators; a propagator object is
 * immutable after creation (no "add format" call).
 */
#include "prop_int.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_FORMATS 8

struct sr_propagator {
	uint32_t n;
	unsigned mask;
	unsigned fmt[MAX_FORMATS];   /* SR_PROP_* in order */
};

static const struct {
	const char *name;
	unsigned fmt;
} g_names[] = {
	{ "tracecontext", SR_PROP_TRACECONTEXT },
	{ "baggage", SR_PROP_BAGGAGE },
	{ "b3", SR_PROP_B3 },
	{ "b3multi", SR_PROP_B3MULTI },
	{ "jaeger", SR_PROP_JAEGER },
	{ "none", 0 },
};

/*
 * Fill p from a name list.  Returns 0, or SR_ENOTFOUND with the first
 * unknown name copied into bad.  Repeated names count once.
 */
static int parse_names(const char *names, struct sr_propagator *p, char *bad,
		       size_t badlen)
{
	const char *s = names;
	int rc = 0;

	memset(p, 0, sizeof(*p));
	while (s && *s) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		const char *w = s;
		size_t i, wl = len;
		bool known = false;

		s = e ? e + 1 : NULL;
		while (wl && isspace((unsigned char)w[0]))
			w++, wl--;
		while (wl && isspace((unsigned char)w[wl - 1]))
			wl--;
		if (!wl)
			continue;
		for (i = 0; i < sizeof(g_names) / sizeof(g_names[0]); i++)
			if (strlen(g_names[i].name) == wl &&
			    strncasecmp(g_names[i].name, w, wl) == 0) {
				known = true;
				break;
			}
		if (!known) {
			if (!rc) {
				snprintf(bad, badlen, "%.*s", (int)wl, w);
				rc = SR_ENOTFOUND;
			}
			continue;
		}
		if (g_names[i].fmt == 0 || (p->mask & g_names[i].fmt) ||
		    p->n == MAX_FORMATS)
			continue;
		p->fmt[p->n++] = g_names[i].fmt;
		p->mask |= g_names[i].fmt;
	}
	return rc;
}

SR_API int sr_propagator_create(const char *names, sr_propagator_t **out)
{
	struct sr_propagator *p;
	char bad[64];
	int rc;

	if (!names || !out)
		return SR_EINVAL;
	*out = NULL;
	p = malloc(sizeof(*p));
	if (!p)
		return sr__set_error(SR_ENOMEM, "propagator: out of memory");
	rc = parse_names(names, p, bad, sizeof(bad));
	*out = p;
	if (rc)
		return sr__set_error(rc, "propagator '%s': unknown name", bad);
	return 0;
}

SR_API void sr_propagator_destroy(sr_propagator_t *p)
{
	free(p);
}

static struct sr_propagator g_env;
static pthread_once_t g_env_once = PTHREAD_ONCE_INIT;

static void env_init(void)
{
	const char *v = getenv("OTEL_PROPAGATORS");
	char bad[64];

	if (!v || !*v)
		v = "tracecontext,baggage";
	if (parse_names(v, &g_env, bad, sizeof(bad)))
		fprintf(stderr,
			"spanring: OTEL_PROPAGATORS: unknown propagator '%s' "
			"ignored\n", bad);
}

SR_API const sr_propagator_t *sr_propagator_from_env(void)
{
	pthread_once(&g_env_once, env_init);
	return &g_env;
}

SR_API unsigned sr_propagator_formats(const sr_propagator_t *p)
{
	return p ? p->mask : 0;
}

/* ---- extract ------------------------------------------------------------ */

void sr__x_set_ids(struct sr__xstate *x, const struct sr__ids *ids,
		   unsigned format)
{
	sr_context_t *o = x->out;

	/* Trace state belongs to the ids it arrived with. */
	if (memcmp(o->trace_id, ids->trace_id, 16) != 0 ||
	    memcmp(o->span_id, ids->span_id, 8) != 0)
		o->state_[0] = 0;
	memcpy(o->trace_id, ids->trace_id, 16);
	memcpy(o->span_id, ids->span_id, 8);
	o->trace_flags = ids->flags;
	o->remote = 1;
	x->info->found |= format;
	x->info->source = format;
	if (ids->sampling >= 0)
		x->info->sampling = ids->sampling;
}

struct sr__bag *sr__x_bag(struct sr__xstate *x)
{
	if (!x->bag_ready) {
		sr__bag_init(x->bag);
		x->bag_ready = true;
	}
	return x->bag;
}

/* Run p's formats over x.  Split from extract_ex so the 8 KiB baggage
 * buffer is on the stack only for propagators that can fill it. */
static void run_formats(const sr_propagator_t *p, struct sr__xstate *x)
{
	bool b3_done = false;

	for (uint32_t i = 0; i < p->n; i++) {
		/* b3 and b3multi differ only in what they inject. */
		if ((p->fmt[i] & (SR_PROP_B3 | SR_PROP_B3MULTI)) && b3_done)
			continue;
		switch (p->fmt[i]) {
		case SR_PROP_TRACECONTEXT:
			sr__x_tracecontext(x);
			break;
		case SR_PROP_BAGGAGE:
			sr__x_baggage(x);
			break;
		case SR_PROP_B3:
		case SR_PROP_B3MULTI:
			sr__x_b3(x);
			b3_done = true;
			break;
		case SR_PROP_JAEGER:
			sr__x_jaeger(x);
			break;
		}
	}
}

static __attribute__((noinline)) void run_with_bag(const sr_propagator_t *p,
						   struct sr__xstate *x)
{
	struct sr__bag bag;

	x->bag = &bag;
	run_formats(p, x);
	if (x->bag_dirty)
		x->out->state_[1] = sr__bag_store(&bag);
	x->bag = NULL;
}

SR_API int sr_propagator_extract_ex(const sr_propagator_t *p, void *carrier,
				    const sr_carrier_getter_t *getter,
				    sr_context_t *out, sr_extract_info_t *info)
{
	struct sr__xstate x;
	sr_extract_info_t inf = { .sampling = -1 };

	if (!out)
		return SR_EINVAL;
	memset(out, 0, sizeof(*out));
	if (info)
		*info = inf;
	if (!p || !getter || !getter->get)
		return SR_EINVAL;
	x.pc = sr__pc_mine;
	sr__pc_add_to(x.pc, SR__PC_EXTRACT, 1);
	if (SR__UNLIKELY(!x.pc))
		x.pc = sr__pc_mine;  /* taken by that first count */
	x.carrier = carrier;
	x.g = getter;
	x.out = out;
	x.info = &inf;
	x.trace_bad = x.bag_ready = x.bag_dirty = false;
	x.bag = NULL;
	if (p->mask & (SR_PROP_BAGGAGE | SR_PROP_JAEGER))
		run_with_bag(p, &x);
	else
		run_formats(p, &x);
	if (info)
		*info = inf;
	if (inf.source)
		return 0;
	return x.trace_bad ? SR_EINVAL : SR_ENOTFOUND;
}

SR_API int sr_propagator_extract(const sr_propagator_t *p, void *carrier,
				 const sr_carrier_getter_t *getter,
				 sr_context_t *out)
{
	return sr_propagator_extract_ex(p, carrier, getter, out, NULL);
}

/* ---- inject ------------------------------------------------------------- */

SR_API void sr_propagator_inject(const sr_propagator_t *p,
				 const sr_context_t *ctx, void *carrier,
				 sr_carrier_set_fn set)
{
	if (!p || !ctx || !set)
		return;
	sr__pc_inc(SR__PC_INJECT);
	for (uint32_t i = 0; i < p->n; i++) {
		switch (p->fmt[i]) {
		case SR_PROP_TRACECONTEXT:
			sr__i_tracecontext(ctx, carrier, set);
			break;
		case SR_PROP_BAGGAGE:
			sr__i_baggage(ctx, carrier, set);
			break;
		case SR_PROP_B3:
			sr__i_b3_single(ctx, carrier, set);
			break;
		case SR_PROP_B3MULTI:
			sr__i_b3_multi(ctx, carrier, set);
			break;
		case SR_PROP_JAEGER:
			sr__i_jaeger(ctx, carrier, set);
			break;
		}
	}
}
