/*
 * redact_int.h - the redact processor's rules (redact_rules.c) and their
 * use on spans (redact.c).  Syntax and default set: docs/processors.md.
 */
#ifndef SR_REDACT_INT_H
#define SR_REDACT_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SR__REDACT_MAX_RULES 64
#define SR__REDACT_MASK "****"

enum sr__redact_kind {
	SR__REDACT_DENY,   /* key glob: the attribute is removed             */
	SR__REDACT_ALLOW,  /* key glob: with any, unmatched keys are removed */
	SR__REDACT_MASK_RE,/* value pattern: matches become "****"           */
	SR__REDACT_LUHN,   /* as MASK_RE, only matches whose digits pass Luhn */
};

/* What every match of a pattern needs from the value it is found in,
 * as PCRE2 works it out at compile (pcre2_pattern_info): at least minlen
 * bytes, the first and the last literal code unit of every match (with
 * its other ASCII case: a caseless pattern matches either), one byte of
 * the set a match may start with.  A value lacking any of them cannot
 * match: it is skipped without a call into PCRE2. */
struct sr__redact_need {
	uint32_t minlen;
	int16_t first[2], last[2]; /* code units, -1 none               */
	bool has_starts;
	uint8_t starts[32];        /* bitmap of possible first bytes     */
};

struct sr__redact_rule {
	enum sr__redact_kind kind;
	char name[32];             /* counted under this name              */
	char *glob;                /* DENY, ALLOW: fnmatch pattern         */
	pcre2_code *re;            /* MASK_RE, LUHN                        */
	char *src;                 /* its pattern text                      */
	struct sr__redact_need need; /* MASK_RE, LUHN, after finish       */
};

struct sr__redact_rules {
	struct sr__redact_rule r[SR__REDACT_MAX_RULES];
	uint32_t n;
	bool any_allow;
	bool names;                /* patterns apply to span and event names */
	pcre2_code *any;           /* every pattern as one alternation      */
	uint32_t minlen;           /* the least need.minlen of the patterns */
};

/* Parse rules `text` (one per line, '#' comments) from
 * `origin` (for messages: "SPANRING_REDACT_CONFIG=/etc/x line 3").  0, or
 * SR_EINVAL with the rule named in err. */
int sr__redact_parse(struct sr__redact_rules *rs, const char *text,
		     const char *origin, char *err, size_t err_len);
/* After the last parse: the combined pattern and JIT compilation. */
int sr__redact_finish(struct sr__redact_rules *rs, char *err, size_t err_len);
void sr__redact_free(struct sr__redact_rules *rs);

/* False only if no value of s[0..len) can hold a match of a pattern
 * with these needs. */
static inline bool sr__redact_may_match(const struct sr__redact_need *n,
					const char *s, size_t len)
{
	if (len < n->minlen)
		return false;
	if (n->first[0] >= 0 && !memchr(s, n->first[0], len) &&
	    (n->first[1] < 0 || !memchr(s, n->first[1], len)))
		return false;
	if (n->last[0] >= 0 && !memchr(s, n->last[0], len) &&
	    (n->last[1] < 0 || !memchr(s, n->last[1], len)))
		return false;
	if (n->has_starts) {
		for (size_t i = 0; i < len; i++) {
			unsigned c = (unsigned char)s[i];

			if (n->starts[c >> 3] & (1u << (c & 7)))
				return true;
		}
		return false;
	}
	return true;
}

/* The default rule set, what the rule "defaults" adds. */
extern const char sr__redact_defaults[];

/* True if the digits of s[0..len) (blanks and dashes skipped) pass the
 * Luhn check and number 13 to 19. */
bool sr__luhn_ok(const char *s, size_t len);

#endif /* SR_REDACT_INT_H */
