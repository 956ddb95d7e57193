/*
 * redact_rules.c - the redact processor's rules: parsing, compiling,
 * the default set.
 *
 * Patterns are PCRE2 (Debian libpcre2-8), not POSIX <regex.h>: the rules
 * run on the drainer for every string value, and PCRE2's JIT matches a
 * short value in tens of nanoseconds where glibc's regexec takes
 * microseconds; PCRE2 also matches a subject given by length (values in
 * a batch are not NUL-terminated; REG_STARTEND is a glibc extension),
 * and offers \b, \d, (?i) that secret patterns are written with.
 * Matching is byte-wise (no UTF mode): a value need not be valid UTF-8,
 * and the secrets looked for are ASCII.
 */
#include <ctype.h>
#include <spanring/spanring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact_int.h"

/* What the one word "defaults" switches on (docs/processors.md): the
 * headers that carry credentials, anything named like one, bearer and
 * basic credentials, e-mail addresses, payment card numbers (13 to 19
 * digits passing the Luhn check, blanks or dashes between). */
const char sr__redact_defaults[] =
	"deny *authorization*\n"
	"deny *cookie*\n"
	"deny *password*\n"
	"deny *api[-_.]key*\n"
	"mask bearer (?i)\\b(?:bearer|basic)\\s+[A-Za-z0-9._~+/-]+=*\n"
	"mask email [A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}\n"
	"luhn card \\b\\d(?:[ -]?\\d){12,18}\\b\n";

bool sr__luhn_ok(const char *s, size_t len)
{
	unsigned sum = 0, n = 0;

	for (size_t i = len; i-- > 0;) {
		unsigned d;

		if (s[i] == ' ' || s[i] == '-')
			continue;
		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned)(s[i] - '0');
		if (n++ & 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return n >= 13 && n <= 19 && sum % 10 == 0;
}

static pcre2_code *compile(const char *pat, size_t len, char *why,
			   size_t why_len)
{
	int ec;
	PCRE2_SIZE off;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, 0, &ec, &off, NULL);

	if (!re) {
		PCRE2_UCHAR msg[120];

		pcre2_get_error_message(ec, msg, sizeof(msg));
		snprintf(why, why_len, "pattern error at offset %zu: %s",
			 (size_t)off, (const char *)msg);
	}
	return re;
}

/* One rule: line[0..len), trimmed, not empty, not a comment. */
static int parse_rule(struct sr__redact_rules *rs, const char *line,
		      size_t len, char *why, size_t why_len)
{
	struct sr__redact_rule *r;
	size_t w = 0, a, b;
	const char *arg;
	size_t arg_len;

	while (w < len && !isspace((unsigned char)line[w]))
		w++;
	a = w;
	while (a < len && isspace((unsigned char)line[a]))
		a++;
	arg = line + a;
	arg_len = len - a;
#define KW(s) (w == sizeof(s) - 1 && !memcmp(line, s, w))
	if (KW("defaults"))
		return arg_len ? (snprintf(why, why_len, "'defaults' takes no "
					   "argument"), SR_EINVAL)
			       : sr__redact_parse(rs, sr__redact_defaults,
						  "defaults", why, why_len);
	if (KW("names")) {
		rs->names = true;
		return arg_len ? (snprintf(why, why_len, "'names' takes no "
					   "argument"), SR_EINVAL)
			       : 0;
	}
	if (rs->n == SR__REDACT_MAX_RULES) {
		snprintf(why, why_len, "more than %d rules", SR__REDACT_MAX_RULES);
		return SR_EINVAL;
	}
	r = &rs->r[rs->n];
	memset(r, 0, sizeof(*r));
	if (KW("deny") || KW("allow")) {
		for (b = 0; b < arg_len; b++)
			if (isspace((unsigned char)arg[b]))
				break;
		if (!arg_len || b != arg_len) {
			snprintf(why, why_len, "expected one key pattern");
			return SR_EINVAL;
		}
		r->kind = KW("deny") ? SR__REDACT_DENY : SR__REDACT_ALLOW;
		if (!(r->glob = strndup(arg, arg_len))) {
			snprintf(why, why_len, "out of memory");
			return SR_ENOMEM;
		}
		if (r->kind == SR__REDACT_DENY)
			snprintf(r->name, sizeof(r->name), "deny:%.*s",
				 (int)arg_len, arg);
		else
			snprintf(r->name, sizeof(r->name), "not_allowed");
		rs->any_allow |= r->kind == SR__REDACT_ALLOW;
		rs->n++;
		return 0;
	}
	if (KW("mask") || KW("luhn")) {
		for (b = 0; b < arg_len && !isspace((unsigned char)arg[b]); b++)
			;
		if (b == 0 || b == arg_len || b >= sizeof(r->name)) {
			snprintf(why, why_len, "expected a name (up to %zu bytes) "
				 "and a pattern", sizeof(r->name) - 1);
			return SR_EINVAL;
		}
		r->kind = KW("mask") ? SR__REDACT_MASK_RE : SR__REDACT_LUHN;
		snprintf(r->name, sizeof(r->name), "%.*s", (int)b, arg);
		while (b < arg_len && isspace((unsigned char)arg[b]))
			b++;
		if (!(r->re = compile(arg + b, arg_len - b, why, why_len)))
			return SR_EINVAL;
		if (!(r->src = strndup(arg + b, arg_len - b))) {
			pcre2_code_free(r->re);
			snprintf(why, why_len, "out of memory");
			return SR_ENOMEM;
		}
		rs->n++;
		return 0;
	}
#undef KW
	snprintf(why, why_len, "unknown rule '%.*s' (expected deny, allow, "
		 "mask, luhn, names or defaults)", (int)w, line);
	return SR_EINVAL;
}

int sr__redact_parse(struct sr__redact_rules *rs, const char *text,
		     const char *origin, char *err, size_t err_len)
{
	unsigned lineno = 0;

	while (*text) {
		const char *end = strchr(text, '\n');
		size_t len = end ? (size_t)(end - text) : strlen(text);
		const char *a = text, *b = text + len;
		char why[160];
		int rc;

		lineno++;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (a < b && *a != '#' &&
		    (rc = parse_rule(rs, a, (size_t)(b - a), why, sizeof(why)))) {
			/* A rule of "defaults" names itself in why already. */
			if (!strcmp(origin, "defaults"))
				snprintf(err, err_len, "%s", why);
			else
				snprintf(err, err_len, "rule '%.*s' (%s line %u): %s",
					 (int)(b - a), a, origin, lineno, why);
			return rc;
		}
		text = end ? end + 1 : text + len;
	}
	return 0;
}

/* A code unit and its other ASCII case (the same one for a non-letter:
 * no UTF mode, so caseless matching folds ASCII letters only). */
static void unit_cases(int16_t out[2], uint32_t c)
{
	out[0] = (int16_t)c;
	out[1] = -1;
	if (c < 128 && isalpha((int)c))
		out[1] = (int16_t)(islower((int)c) ? toupper((int)c)
						   : tolower((int)c));
}

/* What any match of `re` needs (struct sr__redact_need). */
static void need_of(const pcre2_code *re, struct sr__redact_need *n)
{
	uint32_t type = 0, unit = 0;
	const uint8_t *map = NULL;

	memset(n, 0, sizeof(*n));
	n->first[0] = n->first[1] = n->last[0] = n->last[1] = -1;
	pcre2_pattern_info(re, PCRE2_INFO_MINLENGTH, &n->minlen);
	if (!pcre2_pattern_info(re, PCRE2_INFO_FIRSTCODETYPE, &type) &&
	    type == 1 &&
	    !pcre2_pattern_info(re, PCRE2_INFO_FIRSTCODEUNIT, &unit))
		unit_cases(n->first, unit);
	else if (!pcre2_pattern_info(re, PCRE2_INFO_FIRSTBITMAP, &map) && map) {
		n->has_starts = true;
		memcpy(n->starts, map, sizeof(n->starts));
	}
	if (!pcre2_pattern_info(re, PCRE2_INFO_LASTCODETYPE, &type) &&
	    type == 1 &&
	    !pcre2_pattern_info(re, PCRE2_INFO_LASTCODEUNIT, &unit))
		unit_cases(n->last, unit);
}

int sr__redact_finish(struct sr__redact_rules *rs, char *err, size_t err_len)
{
	size_t len = 0, at = 0;
	char *all, why[160];

	rs->minlen = UINT32_MAX;
	for (uint32_t i = 0; i < rs->n; i++)
		if (rs->r[i].re) {
			/* Without JIT (no support on this CPU) pcre2_match
			 * interprets: slower, same results. */
			pcre2_jit_compile(rs->r[i].re, PCRE2_JIT_COMPLETE);
			need_of(rs->r[i].re, &rs->r[i].need);
			if (rs->r[i].need.minlen < rs->minlen)
				rs->minlen = rs->r[i].need.minlen;
			len += strlen(rs->r[i].src) + 5;
		}
	if (!len)
		return 0;
	/* Every pattern as one alternation: a clean value, the common case,
	 * then costs one match for all rules, and only a hit runs the rules
	 * one by one (to count them and apply Luhn).  Only a filter: if it
	 * does not compile (a back reference numbered for its own pattern),
	 * each value runs every rule. */
	if (!(all = malloc(len))) {
		snprintf(err, err_len, "out of memory");
		return SR_ENOMEM;
	}
	for (uint32_t i = 0; i < rs->n; i++)
		if (rs->r[i].re)
			at += (size_t)sprintf(all + at, "%s(?:%s)", at ? "|" : "",
					      rs->r[i].src);
	rs->any = compile(all, at, why, sizeof(why));
	if (rs->any)
		pcre2_jit_compile(rs->any, PCRE2_JIT_COMPLETE);
	free(all);
	return 0;
}

void sr__redact_free(struct sr__redact_rules *rs)
{
	for (uint32_t i = 0; i < rs->n; i++) {
		free(rs->r[i].glob);
		free(rs->r[i].src);
		pcre2_code_free(rs->r[i].re);
	}
	pcre2_code_free(rs->any);
	memset(rs, 0, sizeof(*rs));
}
