/*
 * env.c - environment variables read by the rules of env_int.h.
 */
#include "env_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error_int.h"

const char *sr__env_get(const char *name, size_t *len)
{
	const char *v = getenv(name);
	size_t n;

	if (v == NULL)
		return NULL;
	while (sr__env_is_blank(*v))
		v++;
	n = strlen(v);
	while (n > 0 && sr__env_is_blank(v[n - 1]))
		n--;
	if (n == 0)
		return NULL;
	if (len != NULL)
		*len = n;
	return v;
}

bool sr__env_parse_u64(const char *v, size_t len, uint64_t *out)
{
	uint64_t x = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(unsigned char)v[i] - '0';
		if (d > 9)
			return false;
		x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
	}
	*out = x;
	return true;
}

bool sr__env_parse_bool(const char *v, size_t len, bool *out)
{
	*out = len == 4 && strncasecmp(v, "true", 4) == 0;
	return *out || (len == 5 && strncasecmp(v, "false", 5) == 0);
}

const char *sr__env_quote(char out[64], const char *v, size_t len)
{
	size_t n = len > 48 ? 48 : len, o = 0;

	out[o++] = '\'';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (n < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '\'';
	out[o] = '\0';
	return out;
}

int sr__env_u32(const char *name, uint32_t min, uint32_t max, uint32_t *out)
{
	char q[64];
	size_t len;
	const char *v = sr__env_get(name, &len);
	uint64_t x;

	if (v == NULL)
		return SR_ENOTFOUND;
	if (!sr__env_parse_u64(v, len, &x))
		return sr__set_error(SR_EINVAL, "%s=%s: not a non-negative integer",
				     name, sr__env_quote(q, v, len));
	if (x < min)
		return sr__set_error(SR_EINVAL, "%s=%s: must be at least %u",
				     name, sr__env_quote(q, v, len), min);
	if (x > max)
		return sr__set_error(SR_EINVAL, "%s=%s: must be at most %u",
				     name, sr__env_quote(q, v, len), max);
	*out = (uint32_t)x;
	return 0;
}

int sr__env_bool(const char *name, bool *out)
{
	char q[64];
	size_t len;
	const char *v = sr__env_get(name, &len);

	if (v == NULL)
		return SR_ENOTFOUND;
	if (!sr__env_parse_bool(v, len, out))
		return sr__set_error(SR_EINVAL,
				     "%s=%s: not true or false (taken as false)",
				     name, sr__env_quote(q, v, len));
	sr__clear_error();
	return 0;
}

bool sr__env_list_next(const char **s, const char **item, size_t *len)
{
	const char *p = *s, *end, *a, *b;

	if (!*p)
		return false;
	end = strchr(p, ',');
	a = p;
	b = end ? end : p + strlen(p);
	*s = end ? end + 1 : b;
	while (a < b && sr__env_is_blank(*a))
		a++;
	while (b > a && sr__env_is_blank(b[-1]))
		b--;
	*item = a;
	*len = (size_t)(b - a);
	return true;
}
