/*
 * fuzz_redact.c - libFuzzer target for the redact processor's rule
 * parser (processors/redact_rules.c): the SPANRING_REDACT_CONFIG file and
 * sr_config_t.redact_rules syntax, PCRE2 compilation of every pattern and
 * of their alternation, and the Luhn check masking runs on matches.
 *
 * Input: the rules text (NUL-terminated copy).  Besides crashes and leaks
 * (ASan), the target aborts when a result breaks a documented invariant:
 * a refused text says why, naming where it came from; an accepted one
 * holds at most SR__REDACT_MAX_RULES rules, each with a name and, by
 * kind, a glob or a compiled pattern, and the alternation exists when
 * any pattern does; and the prefilter in front of PCRE2 never turns away
 * a subject its pattern matches (the input text itself, and each of its
 * lines, as subjects: patterns and values from one input share bytes).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redact_int.h"

#define CHECK(c)                                                        \
	do {                                                            \
		if (!(c)) {                                             \
			fprintf(stderr, "fuzz_redact: %s\n", #c);       \
			abort();                                        \
		}                                                       \
	} while (0)

/* A pattern that matches s[0..len) must pass its prefilter.  Bounded:
 * a fuzzed pattern may backtrack for ever; a match that hits the limit
 * proves nothing and is skipped. */
static void check_need(const struct sr__redact_rule *r, pcre2_match_data *md,
		       pcre2_match_context *mc, const char *s, size_t len)
{
	if (pcre2_match(r->re, (PCRE2_SPTR)s, len, 0, 0, md, mc) >= 0)
		CHECK(sr__redact_may_match(&r->need, s, len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sr__redact_rules rs;
	char *text = malloc(size + 1), err[256] = "";
	int rc;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&rs, 0, sizeof(rs));
	rc = sr__redact_parse(&rs, text, "fuzz", err, sizeof(err));
	if (!rc)
		rc = sr__redact_finish(&rs, err, sizeof(err));
	if (rc) {
		CHECK(err[0] != '\0');
	} else {
		CHECK(rs.n <= SR__REDACT_MAX_RULES);
		for (uint32_t i = 0; i < rs.n; i++) {
			const struct sr__redact_rule *r = &rs.r[i];

			CHECK(r->name[0] != '\0');
			if (r->kind == SR__REDACT_DENY || r->kind == SR__REDACT_ALLOW)
				CHECK(r->glob != NULL);
			else
				CHECK(r->re != NULL);
		}
		pcre2_match_data *md = pcre2_match_data_create(1, NULL);
		pcre2_match_context *mc = pcre2_match_context_create(NULL);

		if (md && mc) {
			pcre2_set_match_limit(mc, 10000);
			pcre2_set_depth_limit(mc, 1000);
			for (uint32_t i = 0; i < rs.n; i++) {
				const char *line = text, *end;

				if (!rs.r[i].re)
					continue;
				check_need(&rs.r[i], md, mc, text, size);
				while ((end = memchr(line, '\n',
						     size - (size_t)(line - text)))) {
					check_need(&rs.r[i], md, mc, line,
						   (size_t)(end - line));
					line = end + 1;
				}
			}
		}
		pcre2_match_context_free(mc);
		pcre2_match_data_free(md);
		/* rs.any, the alternation of every pattern, is only a
		 * filter and may fail to compile where each pattern alone
		 * compiles (an unterminated \Q swallows the group's
		 * close): NULL then, and every value runs every rule. */
	}
	sr__redact_free(&rs);
	(void)sr__luhn_ok(text, size);
	free(text);
	return 0;
}
