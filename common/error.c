/*
 * error.c - error codes, their text, and the per-thread detail message.
 *
 * Control-path calls (init, config, exporters) return an SR_E* code and
 * leave a sentence naming the offending variable or value in a
 * thread-local buffer, read back with sr_last_error().  The hot path never
 * touches it.
 */
#include <stdarg.h>
#include <stdio.h>

#include "error_int.h"

static __thread char last_error[256];

SR_API const char *sr_version(void)
{
	return SR_VERSION_STRING;
}

SR_API const char *sr_strerror(int err)
{
	switch (err) {
	case SR_OK: return "success";
	case SR_EINVAL: return "invalid argument or configuration value";
	case SR_ENOMEM: return "out of memory";
	case SR_ESTATE: return "wrong lifecycle state";
	case SR_ETIMEDOUT: return "deadline passed";
	case SR_ENOTFOUND: return "not found";
	case SR_EIO: return "I/O or exporter failure";
	case SR_ESCOPE: return "scopes closed out of order";
	case SR_ELIMIT: return "configured limit reached";
	case SR_EVERSION: return "ABI version mismatch";
	default: return "unknown error";
	}
}

SR_API const char *sr_last_error(void)
{
	return last_error;
}

int sr__set_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

int sr__null_arg(const char *call, const char *arg)
{
	return sr__set_error(SR_EINVAL, "%s: %s is NULL", call, arg);
}

void sr__clear_error(void)
{
	last_error[0] = '\0';
}
