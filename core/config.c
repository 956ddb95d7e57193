/*
 * config.c - sr_config_t defaults, the environment overlay and the checks
 * sr_init() applies before it sizes anything.
 *
 * Every numeric setting is one row of `u32_settings`: field, variables,
 * default and bounds.  The same row drives sr_config_init(), the
 * environment overlay and sr__config_validate(), so a bound cannot differ
 * between a value set in code and one set in the environment.
 *
 * Environment rules follow the OpenTelemetry SDK configuration spec: an
 * empty (or blank) variable is unset; an invalid value is reported and
 * ignored, so that setting keeps its previous value while every other
 * valid setting is still applied; enum values are case-insensitive; only
 * "true" is true.  Model-specific limits take precedence over the generic
 * ones (OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT over OTEL_ATTRIBUTE_COUNT_LIMIT),
 * and a generic limit also covers event and link attributes, as the OTel
 * attribute-limits section asks.  Only the first problem is described in
 * sr_last_error(); it is also what the call returns.
 *
 * Writes honour cfg->size: an application built against an older header
 * (a shorter sr_config_t) never has bytes past its struct touched.
 *
 * Left out: OTel gives a count limit of 0 the meaning "keep none"; in
 * sr_config_t 0 means "default", so 0 is rejected for those limits.  String
 * values (service name, exporter list, resource attributes) are not
 * copied: they point into the environment, as spanring.h says.
 */
#include "bgthread_int.h"
#include "config_int.h"
#include "env_int.h"
#include "numfmt_int.h"
#include "sized_int.h"
#include "spanring_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define OFF(f) offsetof(sr_config_t, f)
#define HAS(cfg, f) (OFF(f) + sizeof(((sr_config_t *)0)->f) <= (cfg)->size)

#define DEFAULT_SAMPLER SR_SAMPLER_PARENTBASED_ALWAYS_ON
/* The OpenTelemetry specification's default: a user who sets only
 * OTEL_EXPORTER_OTLP_ENDPOINT expects the spans there. */
#define DEFAULT_EXPORTERS "otlp"
#define LIMIT_MAX 65535u /* counts and lengths: more than a span can hold */

/* u32_setting.flags.  Out of range is always an error (the setting keeps
 * its default), never a silent clamp: the user learns the real bound. */
#define F_POW2 0x1u     /* must be a power of two                          */
#define F_ZERO_MIN 0x4u /* 0 in the environment means min                   */

struct u32_setting {
	const char *field;    /* sr_config_t member, for messages             */
	size_t off;
	const char *env;      /* its variable                                  */
	const char *generic;  /* consulted when `env` is unset or invalid      */
	uint32_t def, min, max;
	unsigned flags;
};

static const struct u32_setting u32_settings[] = {
	{ "ring_records", OFF(ring_records), "SPANRING_RING_RECORDS", NULL,
	  1024, SR__RING_RECORDS_MIN, SR__RING_RECORDS_MAX, F_POW2 },
	{ "max_threads", OFF(max_threads), "SPANRING_MAX_THREADS", NULL,
	  64, 1, SR__MAX_THREADS_MAX, 0 },
	{ "overflow_records", OFF(overflow_records),
	  "SPANRING_OVERFLOW_RECORDS", NULL, 4096, 1, 1u << 24, 0 },
	{ "max_export_batch_size", OFF(max_export_batch_size),
	  "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", NULL, 512, 1, 1u << 20, 0 },
	{ "max_queue_size", OFF(max_queue_size), "OTEL_BSP_MAX_QUEUE_SIZE",
	  NULL, 2048, 1, 1u << 20, 0 },
	/* 0 asks for "export as soon as possible": the shortest delay. */
	{ "schedule_delay_ms", OFF(schedule_delay_ms),
	  "OTEL_BSP_SCHEDULE_DELAY", NULL, 5000, 1, UINT32_MAX, F_ZERO_MIN },
	{ "export_timeout_ms", OFF(export_timeout_ms),
	  "OTEL_BSP_EXPORT_TIMEOUT", NULL, 30000, 1, UINT32_MAX, 0 },
	{ "attr_count_limit", OFF(attr_count_limit),
	  "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT",
	  128, 1, LIMIT_MAX, 0 },
	{ "event_count_limit", OFF(event_count_limit),
	  "OTEL_SPAN_EVENT_COUNT_LIMIT", NULL, 128, 1, LIMIT_MAX, 0 },
	{ "link_count_limit", OFF(link_count_limit),
	  "OTEL_SPAN_LINK_COUNT_LIMIT", NULL, 128, 1, LIMIT_MAX, 0 },
	{ "event_attr_count_limit", OFF(event_attr_count_limit),
	  "OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT",
	  128, 1, LIMIT_MAX, 0 },
	{ "link_attr_count_limit", OFF(link_attr_count_limit),
	  "OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT",
	  128, 1, LIMIT_MAX, 0 },
	{ "attr_value_length_limit", OFF(attr_value_length_limit),
	  "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT",
	  "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", 4096, 1, LIMIT_MAX, 0 },
	{ "max_span_records", OFF(max_span_records),
	  "SPANRING_MAX_SPAN_RECORDS", NULL, 64, 1, SR__MAX_SPAN_RECORDS,
	  0 },
	{ "drainer_max_sleep_us", OFF(drainer_max_sleep_us),
	  "SPANRING_DRAINER_MAX_SLEEP_US", NULL, 20000, 1, 1000000, 0 },
	{ "flight_recorder_strings", OFF(flight_recorder_strings),
	  "SPANRING_FLIGHT_RECORDER_STRINGS", NULL, 4096, 16, 1u << 20, 0 },
	{ "log_rate_per_min", OFF(log_rate_per_min), "SPANRING_LOG_RATE",
	  NULL, 10, 1, 60000, 0 },
	{ "processor_scratch_bytes", OFF(processor_scratch_bytes),
	  "SPANRING_PROCESSOR_SCRATCH_BYTES", NULL, 262144, 4096, 1u << 30, 0 },
};
#define N_U32 (sizeof(u32_settings) / sizeof(u32_settings[0]))

static inline uint32_t *u32_at(sr_config_t *cfg, const struct u32_setting *s)
{
	return (uint32_t *)(void *)((char *)cfg + s->off);
}

/* ---- first-error reporting -------------------------------------------- */

struct report {
	int err;
	char msg[256];
};

static void note(struct report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Keep only the first problem: it is the one the call returns. */
static void note(struct report *r, const char *fmt, ...)
{
	va_list ap;

	if (r->err != 0)
		return;
	r->err = SR_EINVAL;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

/* The last sr_config_from_env() report of this thread, for sr_init(). */
static __thread struct report env_report;

int sr__config_env_take(char *msg, size_t cap)
{
	int err = env_report.err;

	snprintf(msg, cap, "%s", env_report.msg);
	env_report.err = 0;
	env_report.msg[0] = '\0';
	return err;
}

const char *sr__config_origin(const char *value, const char *var,
			      const char *field)
{
	return value != NULL && value == getenv(var) ? var : field;
}

static int finish(const struct report *r)
{
	if (r->err == 0) {
		sr__clear_error();
		return 0;
	}
	return sr__set_error(r->err, "%s", r->msg);
}

/* ---- parsing ---------------------------------------------------------- */

enum u32_verdict { U32_OK, U32_LOW, U32_HIGH, U32_POW2 };

/* The setting's bounds on x. */
static enum u32_verdict check_u32(const struct u32_setting *s, uint64_t *x)
{
	if (*x < s->min)
		return U32_LOW;
	if (*x > s->max)
		return U32_HIGH;
	if ((s->flags & F_POW2) && (*x & (*x - 1)) != 0)
		return U32_POW2;
	return U32_OK;
}

static const char *verdict_text(char buf[48], const struct u32_setting *s,
				enum u32_verdict v)
{
	switch (v) {
	case U32_LOW:
		snprintf(buf, 48, "must be at least %u", s->min);
		break;
	case U32_HIGH:
		snprintf(buf, 48, "must be at most %u", s->max);
		break;
	case U32_POW2:
		snprintf(buf, 48, "not a power of two");
		break;
	default:
		buf[0] = '\0';
		break;
	}
	return buf;
}

/* One variable of one setting: true if it gave a value. */
static bool env_u32_var(const struct u32_setting *s, const char *var,
			uint32_t *out, struct report *r)
{
	char q[64], why[48];
	size_t len;
	const char *v = sr__env_get(var, &len);
	uint64_t x;
	enum u32_verdict verdict;

	if (v == NULL)
		return false;
	if (!sr__env_parse_u64(v, len, &x)) {
		if (len > 0 && strspn(v, "0123456789") == len) /* past 2^64 */
			note(r, "%s=%s: %s", var, sr__env_quote(q, v, len),
			     verdict_text(why, s, U32_HIGH));
		else
			note(r, "%s=%s: not a non-negative integer", var,
			     sr__env_quote(q, v, len));
		return false;
	}
	if (x == 0 && (s->flags & F_ZERO_MIN))
		x = s->min;
	verdict = check_u32(s, &x);
	if (verdict != U32_OK) {
		note(r, "%s=%s: %s", var, sr__env_quote(q, v, len),
		     verdict_text(why, s, verdict));
		return false;
	}
	*out = (uint32_t)x;
	return true;
}

/* sr__env_bool(), its complaint kept as this call's first problem. */
static int env_bool(const char *name, bool *out, struct report *r)
{
	int rc = sr__env_bool(name, out);

	if (rc == SR_EINVAL) {
		note(r, "%s", sr_last_error());
		rc = 0;
	}
	return rc;
}

/* A plain decimal number in [0, 1] ("0.25", "1", ".5", "5e-1"). */
static bool parse_ratio(const char *v, size_t len, double *out)
{
	char buf[64], *end;
	double d;

	if (len >= sizeof(buf) || !(v[0] == '.' || (v[0] >= '0' && v[0] <= '9')))
		return false;
	/* Rules out inf, nan and hex floats, which strtod would take. */
	if (strspn(v, "0123456789.eE+-") < len)
		return false;
	memcpy(buf, v, len);
	buf[len] = '\0';
	d = sr__strtod_c(buf, &end); /* '.' whatever the application's locale */
	if (end != buf + len || !(d >= 0.0 && d <= 1.0))
		return false;
	*out = d;
	return true;
}

static bool is_ratio_kind(sr_sampler_kind_t k)
{
	return k == SR_SAMPLER_TRACEIDRATIO ||
	       k == SR_SAMPLER_PARENTBASED_TRACEIDRATIO;
}

/* ---- public ----------------------------------------------------------- */

void sr_config_init(sr_config_t *cfg)
{
	if (cfg == NULL)
		return;
	memset(cfg, 0, sizeof(*cfg));
	cfg->size = sizeof(*cfg);
	cfg->exporters = DEFAULT_EXPORTERS;
	cfg->sampler = DEFAULT_SAMPLER;
	cfg->sampler_ratio = 1.0;
	for (size_t i = 0; i < N_U32; i++)
		*u32_at(cfg, &u32_settings[i]) = u32_settings[i].def;
}

static void env_sampler(sr_config_t *cfg, struct report *r)
{
	char q[64], name[32];
	size_t len;
	const char *v;
	sr_sampler_kind_t kind;

	if (!HAS(cfg, sampler))
		return;
	v = sr__env_get("OTEL_TRACES_SAMPLER", &len);
	if (v != NULL) {
		if (len < sizeof(name)) {
			memcpy(name, v, len);
			name[len] = '\0';
		}
		if (len < sizeof(name) && sr__sampler_parse(name, &kind) == 0)
			cfg->sampler = kind;
		else
			note(r,
			     "OTEL_TRACES_SAMPLER=%s: unknown sampler (always_on, "
			     "always_off, traceidratio, parentbased_always_on, "
			     "parentbased_always_off, parentbased_traceidratio)",
			     sr__env_quote(q, v, len));
	}

	/* The argument only means something to the ratio samplers. */
	if (!HAS(cfg, sampler_ratio) || !is_ratio_kind(cfg->sampler))
		return;
	v = sr__env_get("OTEL_TRACES_SAMPLER_ARG", &len);
	if (v != NULL && !parse_ratio(v, len, &cfg->sampler_ratio)) {
		note(r, "OTEL_TRACES_SAMPLER_ARG=%s: not a number in [0,1] "
			"(using 1.0)", sr__env_quote(q, v, len));
		cfg->sampler_ratio = 1.0; /* the OTel default for a bad arg */
	}
}

/* OTEL_LOG_LEVEL names, any case (the OpenTelemetry enum rule). */
static const struct {
	const char *name;
	sr_log_level_t level;
} log_levels[] = {
	{ "none", SR_LOG_NONE }, { "error", SR_LOG_ERROR },
	{ "warn", SR_LOG_WARN }, { "info", SR_LOG_INFO },
	{ "debug", SR_LOG_DEBUG },
};

static void env_log_level(sr_config_t *cfg, struct report *r)
{
	char q[64];
	size_t len, i;
	const char *v;

	if (!HAS(cfg, log_level) ||
	    (v = sr__env_get("OTEL_LOG_LEVEL", &len)) == NULL)
		return;
	for (i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (strlen(log_levels[i].name) == len &&
		    strncasecmp(log_levels[i].name, v, len) == 0) {
			cfg->log_level = log_levels[i].level;
			return;
		}
	note(r, "OTEL_LOG_LEVEL=%s: unknown level (none, error, warn, info, "
		"debug)", sr__env_quote(q, v, len));
}

int sr_config_from_env(sr_config_t *cfg)
{
	struct report r = { 0 };
	char why[128], q[64];
	size_t len;
	const char *v;
	bool disabled = false;

	if (cfg == NULL)
		return sr__null_arg("sr_config_from_env", "cfg");

	for (size_t i = 0; i < N_U32; i++) {
		const struct u32_setting *s = &u32_settings[i];
		uint32_t x;

		if (s->off + sizeof(uint32_t) > cfg->size)
			continue;
		if (env_u32_var(s, s->env, &x, &r) ||
		    (s->generic != NULL && env_u32_var(s, s->generic, &x, &r)))
			*u32_at(cfg, s) = x;
	}

	/* Strings are used as they are: they point into the environment. */
	if (HAS(cfg, service_name) &&
	    sr__env_get("OTEL_SERVICE_NAME", NULL) != NULL)
		cfg->service_name = getenv("OTEL_SERVICE_NAME");
	if (HAS(cfg, exporters) &&
	    sr__env_get("OTEL_TRACES_EXPORTER", NULL) != NULL)
		cfg->exporters = getenv("OTEL_TRACES_EXPORTER");
	if (HAS(cfg, flight_recorder) &&
	    sr__env_get("SPANRING_FLIGHT_RECORDER", NULL) != NULL)
		cfg->flight_recorder = getenv("SPANRING_FLIGHT_RECORDER");
	if (HAS(cfg, processors) &&
	    sr__env_get("SPANRING_PROCESSORS", NULL) != NULL)
		cfg->processors = getenv("SPANRING_PROCESSORS");
	if (HAS(cfg, redact_config) &&
	    sr__env_get("SPANRING_REDACT_CONFIG", NULL) != NULL)
		cfg->redact_config = getenv("SPANRING_REDACT_CONFIG");
	if (HAS(cfg, resource_attributes) &&
	    (v = sr__env_get("OTEL_RESOURCE_ATTRIBUTES", &len)) != NULL) {
		/* Kept even when an entry is bad: the resource skips only
		 * the bad entries. */
		cfg->resource_attributes = getenv("OTEL_RESOURCE_ATTRIBUTES");
		if (sr__resource_attrs_check(cfg->resource_attributes, why,
					     sizeof(why)) != 0)
			note(&r, "OTEL_RESOURCE_ATTRIBUTES=%s: %s (skipped)",
			     sr__env_quote(q, v, len), why);
	}

	env_sampler(cfg, &r);
	env_log_level(cfg, &r);

	/* Last, so that it wins over OTEL_TRACES_EXPORTER and _SAMPLER. */
	if (env_bool("OTEL_SDK_DISABLED", &disabled, &r) == 0 && disabled) {
		if (HAS(cfg, exporters))
			cfg->exporters = "none";
		if (HAS(cfg, sampler))
			cfg->sampler = SR_SAMPLER_ALWAYS_OFF;
	}
	env_report = r;
	return finish(&r);
}

/* ---- background threads (bgthread.c) ----------------------------------- */

/*
 * A CPU list as Linux writes one ("0-3,6"): decimal CPU numbers and
 * inclusive ranges, comma-separated, each below CPU_SETSIZE.  False with
 * the first problem in why[].
 */
bool sr__parse_cpulist(const char *v, size_t len, cpu_set_t *set,
		       char *why, size_t why_len)
{
	size_t i = 0;

	CPU_ZERO(set);
	while (i < len) {
		uint64_t lo, hi;
		size_t a = i, b;

		while (i < len && v[i] != ',' && v[i] != '-')
			i++;
		if (!sr__env_parse_u64(v + a, i - a, &lo)) {
			snprintf(why, why_len, "'%.*s' is not a CPU number",
				 (int)(i - a), v + a);
			return false;
		}
		hi = lo;
		if (i < len && v[i] == '-') {
			b = ++i;
			while (i < len && v[i] != ',')
				i++;
			if (!sr__env_parse_u64(v + b, i - b, &hi) || hi < lo) {
				snprintf(why, why_len,
					 "'%.*s' is not a range N-M with N <= M",
					 (int)(i - a), v + a);
				return false;
			}
		}
		if (hi >= CPU_SETSIZE) {
			snprintf(why, why_len, "CPU %llu is above %d",
				 (unsigned long long)hi, CPU_SETSIZE - 1);
			return false;
		}
		for (uint64_t c = lo; c <= hi; c++)
			CPU_SET((int)c, set);
		if (i < len && ++i == len) { /* skip ','; one may not end it */
			snprintf(why, why_len, "ends with ','");
			return false;
		}
	}
	return true;
}

/* The CPUs that exist now (/sys/.../online, else 0..nprocs-1), and that
 * list as text for messages. */
static void online_cpus(cpu_set_t *set, char *text, size_t text_len)
{
	char buf[256], why[64];
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	long nprocs;

	if (f)
		fclose(f);
	while (n > 0 && sr__env_is_blank(buf[n - 1]))
		n--;
	buf[n] = '\0';
	if (n > 0 && sr__parse_cpulist(buf, n, set, why, sizeof(why))) {
		snprintf(text, text_len, "%.60s", buf); /* a long list: cut */
		return;
	}
	nprocs = sysconf(_SC_NPROCESSORS_CONF);
	if (nprocs < 1)
		nprocs = 1;
	if (nprocs > CPU_SETSIZE)
		nprocs = CPU_SETSIZE;
	CPU_ZERO(set);
	for (long c = 0; c < nprocs; c++)
		CPU_SET((int)c, set);
	snprintf(text, text_len, "0-%ld", nprocs - 1);
}

/*
 * SPANRING_BACKGROUND_CPUS, _SCHED and _NICE into *o.  Unlike the OTel
 * variables, a bad value here fails sr_init() (through
 * sr__config_validate): an application that asked to keep the library
 * off its hot cores would rather not start than find the drainer there.
 */
static void env_background(struct sr__bg_opts *o, struct report *r)
{
	static const struct u32_setting nice_row = {
		"SPANRING_BACKGROUND_NICE", 0, "SPANRING_BACKGROUND_NICE", NULL,
		0, 0, 19, 0
	};
	static const struct {
		const char *name;
		enum sr__bg_sched sched;
	} scheds[] = {
		{ "inherit", SR__BG_SCHED_INHERIT }, { "normal", SR__BG_SCHED_NORMAL },
		{ "batch", SR__BG_SCHED_BATCH },     { "idle", SR__BG_SCHED_IDLE },
	};
	char q[64], why[96], online_text[64];
	cpu_set_t online, missing;
	size_t len;
	const char *v;
	uint32_t nice;

	memset(o, 0, sizeof(*o));
	v = sr__env_get("SPANRING_BACKGROUND_CPUS", &len);
	if (v != NULL) {
		if (!sr__parse_cpulist(v, len, &o->cpus, why, sizeof(why))) {
			note(r, "SPANRING_BACKGROUND_CPUS=%s: %s (expected a CPU "
				"list such as 0-3,6)", sr__env_quote(q, v, len), why);
		} else {
			online_cpus(&online, online_text, sizeof(online_text));
			CPU_AND(&missing, &o->cpus, &online);
			CPU_XOR(&missing, &missing, &o->cpus);
			if (CPU_COUNT(&missing) == 0) {
				o->cpus_set = true;
				snprintf(o->cpus_text, sizeof(o->cpus_text), "%.*s",
					 (int)len, v);
			} else {
				int c = 0;

				while (!CPU_ISSET(c, &missing))
					c++;
				note(r, "SPANRING_BACKGROUND_CPUS=%s: CPU %d is not "
					"online (online: %s)", sr__env_quote(q, v, len), c,
				     online_text);
			}
		}
	}

	v = sr__env_get("SPANRING_BACKGROUND_SCHED", &len);
	if (v != NULL) {
		size_t i;

		for (i = 0; i < sizeof(scheds) / sizeof(scheds[0]); i++)
			if (strlen(scheds[i].name) == len &&
			    strncasecmp(scheds[i].name, v, len) == 0)
				break;
		if (i < sizeof(scheds) / sizeof(scheds[0]))
			o->sched = scheds[i].sched;
		else
			note(r, "SPANRING_BACKGROUND_SCHED=%s: unknown class "
				"(inherit, normal, batch, idle)", sr__env_quote(q, v, len));
	}

	if (env_u32_var(&nice_row, nice_row.env, &nice, r)) {
		o->nice_set = true;
		o->nice = (int)nice;
	}
}

/* ---- validation ------------------------------------------------------- */

void sr__config_copy(sr_config_t *dst, const sr_config_t *src)
{
	sr_config_init(dst);
	if (src->size == 0) {
		dst->size = 0; /* never initialised: let validate say so */
		return;
	}
	sr__sized_copy(dst, sizeof(*dst), src, src->size);
	dst->size = sizeof(*dst);
}

int sr__config_validate(sr_config_t *cfg)
{
	struct sr__bg_opts bg;
	struct report r = { 0 };
	char why[48];

	if (cfg == NULL)
		return sr__set_error(SR_EINVAL, "config is NULL");
	if (cfg->size == 0)
		return sr__set_error(SR_EINVAL, "config size is 0: initialise "
						"it with sr_config_init()");

	for (size_t i = 0; i < N_U32; i++) {
		const struct u32_setting *s = &u32_settings[i];
		uint32_t *f = u32_at(cfg, s);
		uint64_t x = *f;
		enum u32_verdict verdict;

		if (x == 0)
			x = s->def;
		verdict = check_u32(s, &x);
		if (verdict != U32_OK) {
			note(&r, "%s=%u: %s", s->field, *f,
			     verdict_text(why, s, verdict));
			x = s->def;
		}
		*f = (uint32_t)x;
	}

	/* A span must fit in an empty ring, and a batch in a queue. */
	if (cfg->max_span_records > cfg->ring_records)
		cfg->max_span_records = cfg->ring_records;
	if (cfg->max_export_batch_size > cfg->max_queue_size)
		cfg->max_export_batch_size = cfg->max_queue_size;

	if (cfg->exporters == NULL)
		cfg->exporters = DEFAULT_EXPORTERS;
	if ((unsigned)cfg->sampler > SR_SAMPLER_PARENTBASED_TRACEIDRATIO) {
		note(&r, "sampler=%d: unknown sampler kind", (int)cfg->sampler);
		cfg->sampler = DEFAULT_SAMPLER;
	}
	if (is_ratio_kind(cfg->sampler) &&
	    !(cfg->sampler_ratio >= 0.0 && cfg->sampler_ratio <= 1.0)) {
		note(&r, "sampler_ratio=%g: not in [0,1]", cfg->sampler_ratio);
		cfg->sampler_ratio = 1.0;
	}
	if ((unsigned)cfg->log_level > SR_LOG_DEBUG) {
		note(&r, "log_level=%d: unknown level", (int)cfg->log_level);
		cfg->log_level = SR_LOG_DEFAULT;
	}
	if (cfg->allocator != NULL &&
	    (cfg->allocator->alloc == NULL || cfg->allocator->free == NULL)) {
		note(&r, "allocator: alloc and free must both be set");
		cfg->allocator = NULL;
	}
	env_background(&bg, &r);
	sr__bg_configure(&bg);
	return finish(&r);
}
