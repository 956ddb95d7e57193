/*
 * numfmt.c - numbers as text (numfmt_int.h).
 *
 * printf's %g and strtod follow LC_NUMERIC, and an application may well
 * have set a locale whose decimal point is ',' (setlocale(LC_ALL,
 * "de_DE.UTF-8")): "0,5" is not JSON.  Both are done here in the C
 * locale, switched in for this thread only (uselocale), and back.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* uselocale, strtod_l */
#endif
#include "numfmt_int.h"

#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Written once (pthread_once), read-only after; (locale_t)0 if
 * newlocale failed, which leaves the fallbacks below. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

static locale_t c_locale_get(void)
{
	pthread_once(&c_locale_once, c_locale_init);
	return c_locale;
}

size_t sr__u64_to_dec(char *dst, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		dst[i] = tmp[n - 1 - i];
	return n;
}

/* Without a C locale object (never seen on glibc): the locale's decimal
 * point, whatever it is, becomes '.'; %g writes no grouping. */
static size_t point_to_dot(char *s, int n)
{
	const char *dp = localeconv()->decimal_point;
	size_t dl = strlen(dp);
	char *p;

	if (dl == 1 && dp[0] == '.')
		return (size_t)n;
	if (dl && (p = strstr(s, dp)) != NULL) {
		*p = '.';
		memmove(p + 1, p + dl, strlen(p + dl) + 1);
		n -= (int)dl - 1;
	}
	return (size_t)n;
}

size_t sr__fmt_double(char dst[SR__FMT_DOUBLE_MAX], double v)
{
	locale_t c = c_locale_get();
	locale_t old = c ? uselocale(c) : (locale_t)0;
	int n = 0;

	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(dst, SR__FMT_DOUBLE_MAX, "%.*g", prec, v);
		if (strtod(dst, NULL) == v)
			break;
	}
	if (c)
		uselocale(old);
	return c ? (size_t)n : point_to_dot(dst, n);
}

double sr__strtod_c(const char *s, char **end)
{
	locale_t c = c_locale_get();

	return c ? strtod_l(s, end, c) : strtod(s, end);
}
