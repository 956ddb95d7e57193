/*
 * exp_util_int.h - small helpers shared by the exporters that read their
 * own variables and write local files (zipkin, file, chrome).
 *
 * Environment: the core's rules (config_int.h) with the message copied
 * into the exporter's create() error text, so the failure names the
 * variable and the value whoever reads it (sr_init() returns it through
 * sr_last_error()).
 *
 * JSON: attribute values as typed JSON and the OTLP span kind names, as
 * the zipkin annotations and the chrome args write them.
 *
 * Files: the exporters write on their own worker thread, which the core
 * starts with every signal blocked (sr__thread_start), so SIGXFSZ, the
 * kernel's answer to a write past RLIMIT_FSIZE that kills the process by
 * default, stays pending there and the write fails with EFBIG instead;
 * sr__exp_drain_xfsz() consumes the pending signal.
 */
#ifndef SR_EXP_UTIL_INT_H
#define SR_EXP_UTIL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <spanring/spanring.h>

#include "json_writer_int.h"

/* sr__env_u32() into *out (left alone when unset); a malformed value
 * returns SR_EINVAL with sr_last_error()'s text copied into err. */
int sr__exp_env_u32(const char *name, uint32_t min, uint32_t max,
		    uint32_t *out, char *err, size_t err_len);

/* One of `choices` (NULL-terminated) from `name`: its index in *out (left
 * alone when unset); anything else is SR_EINVAL naming the variable, the
 * value and the choices. */
int sr__exp_env_choice(const char *name, const char *const *choices,
		       unsigned *out, char *err, size_t err_len);

/* An attribute's value as typed JSON: true/false, a number, a string
 * (sanitised), null for an unknown type. */
void sr__exp_jw_value(struct sr__jw *w, const sr_attr_view_t *a);
/* {"key":value,...} of n attributes. */
void sr__exp_jw_attrs(struct sr__jw *w, const sr_attr_view_t *a, uint32_t n);

/* "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER", else
 * "UNSPECIFIED". */
const char *sr__exp_kind_name(sr_span_kind_t k);

/* Consume a SIGXFSZ left pending by a write that failed with EFBIG. */
void sr__exp_drain_xfsz(void);

/*
 * The path a file exporter should use: `path` itself, or, in a process
 * forked from the one that first created an exporter of this kind
 * (*creator_pid, 0 at first), `path` with "-<pid>" before its extension
 * ("trace.json" -> "trace-4242.json"), so parent and child never write
 * one file.  malloc'd; NULL when out of memory.
 */
char *sr__exp_owned_path(const char *path, size_t len, int *creator_pid);

#endif /* SR_EXP_UTIL_INT_H */
