/*
 * macros.h - instrumentation macros that a compile-time switch removes.
 *
 * Included by <spanring/spanring.h>.  Instrument code with these rather
 * than the functions when you want `-DSR_COMPILED_OUT` to remove every
 * trace of tracing from a build: the macros then expand to nothing (their
 * arguments are not evaluated), while the types stay so code still builds.
 *
 * SR_SPAN_AUTO declares a span that is started and made current at once,
 * and ended with its scope restored when the enclosing block exits, by
 * GCC/Clang's cleanup attribute:
 *
 *     {
 *         SR_SPAN_AUTO(s, tracer, "db.query", SR_KIND_CLIENT);
 *         SR_SET_INT(&s.span, "db.rows", rows);
 *     }   // ends here, even on return or goto out of the block
 */
/* Before the guard, as spanring/static/span_inline.h does: included
 * first, this header is included again from spanring.h, whose types it
 * needs, and must then be complete where spanring.h includes it. */
#include <spanring/spanring.h>

#ifndef SPANRING_MACROS_H
#define SPANRING_MACROS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Span + scope pair used by SR_SPAN_AUTO. */
typedef struct sr_auto_span {
	sr_span_t span;
	sr_scope_t scope;
} sr_auto_span_t;

static inline void sr__auto_span_cleanup(sr_auto_span_t *a)
{
	sr_scope_exit(a->scope);
	sr_span_end(&a->span);
}

/* An inert span: state "off", no slots (what sr_span_start() leaves when
 * no pipeline runs).  With the inline fast paths that is one 4-byte
 * store; without them the layout is not the application's to know, and
 * a zeroed span is off. */
static inline void sr__auto_span_inert(sr_auto_span_t *a)
{
#ifndef SR_NO_INLINE
	sr__span_off(&a->span);
#else
	__builtin_memset(&a->span, 0, sizeof(a->span));
#endif
	a->scope.depth_ = 0;
	a->scope.cookie_ = 0;
}

#ifndef SR_COMPILED_OUT

#define SR_SPAN_START(span, tracer, name, kind) \
	sr_span_start((span), (tracer), (name), (kind))
#define SR_SPAN_END(span) sr_span_end(span)
#define SR_SET_INT(span, k, v) sr_span_set_int((span), (k), (v))
#define SR_SET_BOOL(span, k, v) sr_span_set_bool((span), (k), (v))
#define SR_SET_DOUBLE(span, k, v) sr_span_set_double((span), (k), (v))
#define SR_SET_STR(span, k, v) sr_span_set_str((span), (k), (v))
#define SR_SET_STR_STATIC(span, k, v) sr_span_set_str_static((span), (k), (v))
#define SR_EVENT(span, name) sr_span_add_event((span), (name), 0, NULL, 0)
#define SR_STATUS(span, code, msg) sr_span_set_status((span), (code), (msg))
#define SR_ERROR(span, type, msg) sr_span_record_error((span), (type), (msg))

#if defined(__GNUC__) || defined(__clang__)
#define SR_SPAN_AUTO(var, tracer, name, kind)                               \
	sr_auto_span_t var __attribute__((cleanup(sr__auto_span_cleanup))); \
	sr_span_start(&(var).span, (tracer), (name), (kind));               \
	(var).scope = sr_scope_enter(&(var).span)
#endif

#else /* SR_COMPILED_OUT */

#define SR_SPAN_START(span, tracer, name, kind) ((void)0)
#define SR_SPAN_END(span) ((void)0)
#define SR_SET_INT(span, k, v) ((void)0)
#define SR_SET_BOOL(span, k, v) ((void)0)
#define SR_SET_DOUBLE(span, k, v) ((void)0)
#define SR_SET_STR(span, k, v) ((void)0)
#define SR_SET_STR_STATIC(span, k, v) ((void)0)
#define SR_EVENT(span, name) ((void)0)
#define SR_STATUS(span, code, msg) ((void)0)
#define SR_ERROR(span, type, msg) ((void)0)
/* Still a span, for code that goes on to use it (sr_span_set_str(&var.span,
 * ...), as spanring.h's functions stay): an inert one, which every span
 * call ignores, and a scope that sr_scope_exit() refuses. */
#define SR_SPAN_AUTO(var, tracer, name, kind)          \
	sr_auto_span_t var __attribute__((unused));    \
	sr__auto_span_inert(&(var))

#endif /* SR_COMPILED_OUT */

#ifdef __cplusplus
}
#endif

#endif /* SPANRING_MACROS_H */
