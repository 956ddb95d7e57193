/*
 * sampler.c - the OpenTelemetry head samplers, decided at span start.
 *
 * Every sampler is reduced at setup to one 64-bit bound, so the decision
 * on the hot path is the same code for all six kinds: 16 instructions at
 * most on x86-64 (gcc -O2), no division, no floating point, no table.
 * The only branches ask whether a valid parent exists, which a given call
 * site nearly always answers the same way, so they predict well.
 *
 * Root rule (all kinds; the rule opentelemetry-go's TraceIDRatioBased
 * uses, so a trace sampled by a Go service at ratio r is sampled here at
 * the same r):
 *
 *     x      = bytes 8..15 of the trace id read as a big-endian uint64,
 *              shifted right by one (63 bits: the top bit of byte 8
 *              down to the second-lowest bit of byte 15)
 *     sample = x < bound
 *
 *     always_on            bound = 2^63   (every x passes)
 *     always_off           bound = 0      (no x passes)
 *     traceidratio(r)      bound = floor(r * 2^63), r clamped to [0,1]
 *
 * The decision depends only on the trace id, so every service that uses
 * this rule with the same r keeps the same traces.  It assumes bytes
 * 8..15 are random, as in ids from this library and the OpenTelemetry
 * SDKs; W3C trace-context level 2 promises randomness only for bytes
 * 9..15, so ids whose byte 8 is fixed skew the ratio.
 *
 * parentbased_<root>: a valid parent (non-zero trace id and span id, the
 * sr_context_is_valid() rule) decides by its sampled flag, whether it is
 * remote or local (the OpenTelemetry defaults for the four delegate
 * samplers); with no valid parent the root rule above applies.  The other
 * three kinds ignore the parent, as OpenTelemetry specifies.
 *
 * Left out: the delegate samplers of parentbased cannot be configured one
 * by one (remote_parent_not_sampled etc.), and no sampler looks at span
 * name, kind or attributes.  The jaeger_remote and xray samplers are not
 * provided.
 */
#include "sampler_int.h"

#include <string.h>
#include <strings.h>

_Static_assert(SR_SAMPLER_PARENTBASED_ALWAYS_ON == 3 &&
		       SR_SAMPLER_PARENTBASED_ALWAYS_OFF == 4 &&
		       SR_SAMPLER_PARENTBASED_TRACEIDRATIO == 5,
	       "sr__sample() tests kind >= PARENTBASED_ALWAYS_ON");


static const char *const sampler_names[] = {
	[SR_SAMPLER_ALWAYS_ON] = "always_on",
	[SR_SAMPLER_ALWAYS_OFF] = "always_off",
	[SR_SAMPLER_TRACEIDRATIO] = "traceidratio",
	[SR_SAMPLER_PARENTBASED_ALWAYS_ON] = "parentbased_always_on",
	[SR_SAMPLER_PARENTBASED_ALWAYS_OFF] = "parentbased_always_off",
	[SR_SAMPLER_PARENTBASED_TRACEIDRATIO] = "parentbased_traceidratio",
};
#define NKINDS (sizeof(sampler_names) / sizeof(sampler_names[0]))

void sr__sampler_setup(struct sr__sampler *s, sr_sampler_kind_t kind,
		       double ratio)
{
	if ((unsigned)kind >= NKINDS)
		kind = SR_SAMPLER_PARENTBASED_ALWAYS_ON;
	s->kind = kind;
	switch (kind) {
	case SR_SAMPLER_ALWAYS_OFF:
	case SR_SAMPLER_PARENTBASED_ALWAYS_OFF:
		s->bound = 0;
		break;
	case SR_SAMPLER_TRACEIDRATIO:
	case SR_SAMPLER_PARENTBASED_TRACEIDRATIO:
		/* !(ratio > 0) also catches NaN.  For ratio < 1 the product
		 * is below 2^63 and converts exactly after truncation. */
		if (!(ratio > 0.0))
			s->bound = 0;
		else if (ratio >= 1.0)
			s->bound = SR__SAMPLE_ALL;
		else
			s->bound = (uint64_t)(ratio * 0x1p63);
		break;
	default:
		s->bound = SR__SAMPLE_ALL;
		break;
	}
}

bool sr__sample(const struct sr__sampler *s, const uint8_t trace_id[16],
		const sr_context_t *parent)
{
	return sr__sample_inline(s, trace_id, parent);
}

const char *sr__sampler_name(sr_sampler_kind_t kind)
{
	return (unsigned)kind < NKINDS ? sampler_names[kind] : "unknown";
}

int sr__sampler_parse(const char *name, sr_sampler_kind_t *out)
{
	if (name == NULL || out == NULL)
		return SR_EINVAL;
	/* OTel: enum values of environment variables are case-insensitive. */
	for (unsigned i = 0; i < NKINDS; i++) {
		if (strcasecmp(name, sampler_names[i]) == 0) {
			*out = (sr_sampler_kind_t)i;
			return 0;
		}
	}
	return SR_ENOTFOUND;
}
