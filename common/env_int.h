/*
 * env_int.h - reading environment variables (env.c), for sr_init()'s
 * configuration and for exporters that read their own variables.
 *
 * Environment rules (the OpenTelemetry ones, applied everywhere):
 *   - a variable that is unset, empty or only whitespace is unset;
 *   - surrounding whitespace of numbers, booleans and names is ignored;
 *   - a malformed value is reported (SR_EINVAL, variable and value named
 *     in sr_last_error()) and ignored: the setting keeps its value.
 */
#ifndef SR_ENV_INT_H
#define SR_ENV_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline bool sr__env_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/* Trimmed value of an environment variable: NULL when it is unset, empty
 * or blank; else *len receives the length without the trailing blanks.
 * The pointer is into the environment. */
const char *sr__env_get(const char *name, size_t *len);

/*
 * Read a non-negative decimal integer in [min, max] from `name`.
 * 0 and *out set; SR_ENOTFOUND when unset (see sr__env_get), *out
 * untouched; SR_EINVAL when malformed or out of range, *out untouched and
 * sr_last_error() naming the variable and value.
 */
int sr__env_u32(const char *name, uint32_t min, uint32_t max,
		uint32_t *out);

/*
 * Read an OTel boolean: true only for "true" (any case).  Anything else is
 * false, and a value other than "false" also returns SR_EINVAL with an
 * explanation in sr_last_error() (OTel asks for a warning).  SR_ENOTFOUND
 * when unset, *out untouched.
 */
int sr__env_bool(const char *name, bool *out);

/* Decimal digits only (no sign, no base prefix) of v[0..len); saturates at
 * UINT64_MAX so that a huge value reads as "above the maximum".  False
 * when empty or not all digits. */
bool sr__env_parse_u64(const char *v, size_t len, uint64_t *out);

/* OTel boolean text: *out is true only for "true" (any case); returns
 * false when v is neither "true" nor "false". */
bool sr__env_parse_bool(const char *v, size_t len, bool *out);

/* Quote `len` bytes of an outside value for a message: at most 48 bytes,
 * control bytes as '?', "..." when cut. */
const char *sr__env_quote(char out[64], const char *v, size_t len);

/* The next entry of a comma-separated list (OTEL_TRACES_EXPORTER,
 * SPANRING_PROCESSORS): *item and *len get it without surrounding blanks
 * (possibly empty), *s moves past it.  False at the end of the list. */
bool sr__env_list_next(const char **s, const char **item, size_t *len);

#endif /* SR_ENV_INT_H */
