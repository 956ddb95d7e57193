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

#define SR__REDACT_MAX_RULES 64
#define SR__REDACT_MASK "****"

enum sr__redact_kind {
	SR__REDACT_DENY,   /* key glob: the attribute is removed             */
	SR__REDACT_ALLOW,  /* key glob: with any, unmatched keys are removed */
	SR__REDACT_MASK_RE,/* value pattern: matches become "****"           */
	SR__REDACT_LUHN,   /* as MASK_RE, only matches whose digits pass Luhn */
};

struct sr__redact_rule {
	enum sr__redact_kind kind;
	char name[32];             /* counted under this name              */
	char *glob;                /* DENY, ALLOW: fnmatch pattern         */
	pcre2_code *re;            /* MASK_RE, LUHN                        */
	char *src;                 /* its pattern text                      */
};

struct sr__redact_rules {
	struct sr__redact_rule r[SR__REDACT_MAX_RULES];
	uint32_t n;
	bool any_allow;
	bool names;                /* patterns apply to span and event names */
	pcre2_code *any;           /* every pattern as one alternation      */
};

/* Parse rules `text` (one per line, '#' comments) from
 * `origin` (for messages: "SPANRING_REDACT_CONFIG=/etc/x line 3").  0, or
 * SR_EINVAL with the rule named in err. */
int sr__redact_parse(struct sr__redact_rules *rs, const char *text,
		     const char *origin, char *err, size_t err_len);
/* After the last parse: the combined pattern and JIT compilation. */
int sr__redact_finish(struct sr__redact_rules *rs, char *err, size_t err_len);
void sr__redact_free(struct sr__redact_rules *rs);

/* The default rule set, what the rule "defaults" adds. */
extern const char sr__redact_defaults[];

/* True if the digits of s[0..len) (blanks and dashes skipped) pass the
 * Luhn check and number 13 to 19. */
bool sr__luhn_ok(const char *s, size_t len);

#endif /* SR_REDACT_INT_H */
