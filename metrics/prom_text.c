/*
 * prom_text.c - Prometheus text exposition format 0.0.4 from metric
 * points: one "# HELP" and "# TYPE" per family, labels escaped, a
 * histogram as cumulative _bucket{le=...} series plus _sum and _count.
 * Names follow the OpenTelemetry-to-Prometheus rules the Collector's
 * Prometheus exporter applies (characters outside [a-zA-Z0-9_:] become
 * '_', the unit becomes a suffix, counters end in _total), so a
 * dashboard written for the Collector's output reads ours.
 */
#include <stdio.h>
#include <string.h>

#include "numfmt_int.h"
#include "prom_text_int.h"

static const struct {
	const char *unit, *suffix;
} units[] = {
	{ "ms", "_milliseconds" }, { "s", "_seconds" }, { "By", "_bytes" },
	{ "us", "_microseconds" }, { "ns", "_nanoseconds" },
};

static size_t sanitize(char *dst, size_t cap, const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < cap; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  c == '_' || c == ':' || (i && c >= '0' && c <= '9');

		dst[n++] = ok ? c : '_';
	}
	dst[n] = '\0';
	return n;
}

size_t sr__prom_name(char *dst, size_t cap, const sr_metric_point_t *pt)
{
	size_t n = sanitize(dst, cap, pt->name, strlen(pt->name));

	for (size_t i = 0; pt->unit && i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(pt->unit, units[i].unit))
			n += (size_t)snprintf(dst + n, cap - n, "%s", units[i].suffix);
	if (pt->kind == SR_METRIC_COUNTER)
		n += (size_t)snprintf(dst + n, cap - n, "_total");
	return n < cap ? n : cap - 1;
}

static void put(struct sr__prom_text *w, const char *s, size_t n)
{
	if (w->oom || sr__buf_reserve(&w->out, n)) {
		w->oom = true;
		return;
	}
	sr__buf_put(&w->out, s, n);
}

static void puts_(struct sr__prom_text *w, const char *s)
{
	put(w, s, strlen(s));
}

/* A label value: \\, \" and \n escaped. */
static void put_value(struct sr__prom_text *w, const sr_attr_view_t *a)
{
	char num[40];

	switch (a->type) {
	case SR_ATTR_STRING:
		for (uint32_t i = 0; i < a->v.s.len; i++) {
			char c = a->v.s.ptr[i];

			if (c == '\\' || c == '"')
				put(w, "\\", 1);
			if (c == '\n')
				put(w, "\\n", 2);
			else
				put(w, &c, 1);
		}
		break;
	case SR_ATTR_BOOL:
		puts_(w, a->v.b ? "true" : "false");
		break;
	case SR_ATTR_INT:
		snprintf(num, sizeof(num), "%lld", (long long)a->v.i);
		puts_(w, num);
		break;
	default:
		put(w, num, sr__fmt_double(num, a->v.d));
		break;
	}
}

/* name{labels[,le="x"]} value\n */
static void sample(struct sr__prom_text *w, const char *name, const char *sfx,
		   const sr_metric_point_t *pt, const char *le, const char *value)
{
	char key[128];

	puts_(w, name);
	puts_(w, sfx);
	if (pt->nattrs || le) {
		put(w, "{", 1);
		for (uint32_t i = 0; i < pt->nattrs; i++) {
			if (i)
				put(w, ",", 1);
			put(w, key, sanitize(key, sizeof(key), pt->attrs[i].key.ptr,
					     pt->attrs[i].key.len));
			put(w, "=\"", 2);
			put_value(w, &pt->attrs[i]);
			put(w, "\"", 1);
		}
		if (le) {
			puts_(w, pt->nattrs ? ",le=\"" : "le=\"");
			puts_(w, le);
			put(w, "\"", 1);
		}
		put(w, "}", 1);
	}
	put(w, " ", 1);
	puts_(w, value);
	put(w, "\n", 1);
}

void sr__prom_point(void *ctx, const sr_metric_point_t *pt)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	struct sr__prom_text *w = ctx;
	char name[160], num[40], le[40];
	uint64_t cum = 0;

	sr__prom_name(name, sizeof(name), pt);
	if (strcmp(name, w->family)) {
		snprintf(w->family, sizeof(w->family), "%s", name);
		puts_(w, "# HELP ");
		puts_(w, name);
		put(w, " ", 1);
		puts_(w, pt->help ? pt->help : "");
		puts_(w, "\n# TYPE ");
		puts_(w, name);
		put(w, " ", 1);
		puts_(w, types[pt->kind <= SR_METRIC_HISTOGRAM ? pt->kind : 1]);
		put(w, "\n", 1);
	}
	if (pt->kind != SR_METRIC_HISTOGRAM) {
		num[sr__u64_to_dec(num, pt->value)] = '\0';
		sample(w, name, "", pt, NULL, num);
		return;
	}
	/* The family's name for a histogram has no _total; its series add
	 * _bucket, _sum and _count. */
	for (uint32_t b = 0; b <= pt->nbounds; b++) {
		cum += pt->buckets[b];
		if (b < pt->nbounds)
			le[sr__fmt_double(le, pt->bounds[b])] = '\0';
		else
			snprintf(le, sizeof(le), "+Inf");
		num[sr__u64_to_dec(num, cum)] = '\0';
		sample(w, name, "_bucket", pt, le, num);
	}
	num[sr__fmt_double(num, pt->sum)] = '\0';
	sample(w, name, "_sum", pt, NULL, num);
	num[sr__u64_to_dec(num, pt->count)] = '\0';
	sample(w, name, "_count", pt, NULL, num);
}
