/*
 * error_int.h - the per-thread detail message behind sr_last_error(),
 * which every layer's control path sets (error.c).
 */
#ifndef SR_ERROR_INT_H
#define SR_ERROR_INT_H

#include <spanring/spanring.h>

/* Set this thread's sr_last_error() text and return `err`. */
int sr__set_error(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sr__clear_error(void);

/* The rule for a NULL pointer given to a call off the hot path (see
 * spanring.h): say which call and argument, return SR_EINVAL. */
int sr__null_arg(const char *call, const char *arg);

#endif /* SR_ERROR_INT_H */
