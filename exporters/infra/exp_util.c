/*
 * exp_util.c - helpers shared by the zipkin, file and chrome exporters;
 * see exp_util_int.h.
 */
#include "exp_util_int.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "env_int.h"

int sr__exp_env_u32(const char *name, uint32_t min, uint32_t max,
		    uint32_t *out, char *err, size_t err_len)
{
	int rc = sr__env_u32(name, min, max, out);

	if (rc == SR_ENOTFOUND)
		return 0;
	if (rc)
		snprintf(err, err_len, "%s", sr_last_error());
	return rc;
}

int sr__exp_env_choice(const char *name, const char *const *choices,
		       unsigned *out, char *err, size_t err_len)
{
	size_t n, used = 0;
	const char *v = sr__env_get(name, &n);

	if (!v)
		return 0;
	for (unsigned i = 0; choices[i]; i++)
		if (strlen(choices[i]) == n && !strncmp(v, choices[i], n)) {
			*out = i;
			return 0;
		}
	used = (size_t)snprintf(err, err_len, "%s='%.*s': expected ", name,
				(int)n, v);
	for (unsigned i = 0; choices[i] && used < err_len; i++)
		used += (size_t)snprintf(err + used, err_len - used, "%s%s",
					 i == 0 ? "" : choices[i + 1] ? ", " : " or ",
					 choices[i]);
	return SR_EINVAL;
}

void sr__exp_jw_value(struct sr__jw *w, const sr_attr_view_t *a)
{
	switch (a->type) {
	case SR_ATTR_BOOL:
		sr__jw_bool(w, a->v.b);
		break;
	case SR_ATTR_INT:
		sr__jw_int(w, a->v.i);
		break;
	case SR_ATTR_DOUBLE:
		sr__jw_double(w, a->v.d);
		break;
	case SR_ATTR_STRING:
	case SR_ATTR_STRING_STATIC:
		sr__jw_str(w, a->v.s.ptr, a->v.s.len);
		break;
	case SR_ATTR_ARRAY: {
		sr_array_iter_t it = sr_array_begin(&a->v.a);
		sr_attr_view_t e;

		sr__jw_arr_begin(w);
		while (sr_array_next(&it, &e))
			sr__exp_jw_value(w, &e);
		sr__jw_arr_end(w);
		break;
	}
	default:
		sr__jw_null(w);
		break;
	}
}

void sr__exp_jw_attrs(struct sr__jw *w, const sr_attr_view_t *a, uint32_t n)
{
	sr__jw_obj_begin(w);
	for (uint32_t i = 0; i < n; i++) {
		sr__jw_key(w, a[i].key.ptr, a[i].key.len);
		sr__exp_jw_value(w, &a[i]);
	}
	sr__jw_obj_end(w);
}

const char *sr__exp_kind_name(sr_span_kind_t k)
{
	switch (k) {
	case SR_KIND_INTERNAL: return "INTERNAL";
	case SR_KIND_SERVER: return "SERVER";
	case SR_KIND_CLIENT: return "CLIENT";
	case SR_KIND_PRODUCER: return "PRODUCER";
	case SR_KIND_CONSUMER: return "CONSUMER";
	}
	return "UNSPECIFIED";
}

void sr__exp_drain_xfsz(void)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t s, pending;

	sigemptyset(&s);
	sigaddset(&s, SIGXFSZ);
	if (sigpending(&pending) == 0 && sigismember(&pending, SIGXFSZ))
		(void)sigtimedwait(&s, NULL, &zero);
}

char *sr__exp_owned_path(const char *path, size_t len, int *creator_pid)
{
	int pid = (int)getpid(), first = __atomic_load_n(creator_pid, __ATOMIC_RELAXED);
	const char *base, *dot;
	char *out;
	size_t cut;

	/* sr_init() runs under the core's lifecycle lock, so creates of
	 * one exporter kind never race; relaxed is enough. */
	if (!first)
		__atomic_store_n(creator_pid, first = pid, __ATOMIC_RELAXED);
	if (first == pid)
		return strndup(path, len);
	base = memrchr(path, '/', len);
	base = base ? base + 1 : path;
	dot = memrchr(base, '.', len - (size_t)(base - path));
	cut = dot && dot > base ? (size_t)(dot - path) : len;
	if (!(out = malloc(len + 16)))
		return NULL;
	snprintf(out, len + 16, "%.*s-%d%.*s", (int)cut, path, pid,
		 (int)(len - cut), path + cut);
	return out;
}
