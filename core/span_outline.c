/*
 * span_outline.c - the span calls as exported functions, for applications
 * built with SR_NO_INLINE.
 *
 * Each function runs the same static inline fast path that
 * <spanring/spanring.h> otherwise inlines into the application, so the
 * two builds behave alike and differ only in what they bake in: an
 * application calling these depends on sr_span_t's size and alignment,
 * not on the offsets and slot format of spanring/static/span_inline.h.
 * Compiled into the library, the fast paths and the layout they assume
 * are checked against the span code by span.c's static asserts.
 */
#define SR_NO_INLINE
#include <spanring/spanring.h>
#include <spanring/static/span_inline.h>

SR_API void sr_span_start(sr_span_t *span, const sr_tracer_t *tracer,
			  const char *name, sr_span_kind_t kind)
{
	sr__inline_span_start(span, tracer, name, kind);
}

SR_API void sr_span_start_ex(sr_span_t *span, const sr_tracer_t *tracer,
			     const char *name, sr_span_kind_t kind,
			     const sr_context_t *parent, uint64_t start_ns,
			     unsigned flags)
{
	sr__inline_span_start_ex(span, tracer, name, kind, parent, start_ns,
				 flags);
}

SR_API void sr_span_set_bool(sr_span_t *span, const char *key, bool v)
{
	sr__inline_span_set_bool(span, key, v);
}

SR_API void sr_span_set_int(sr_span_t *span, const char *key, int64_t v)
{
	sr__inline_span_set_int(span, key, v);
}

SR_API void sr_span_set_double(sr_span_t *span, const char *key, double v)
{
	sr__inline_span_set_double(span, key, v);
}

SR_API void sr_span_set_strn(sr_span_t *span, const char *key,
			     const char *v, size_t len)
{
	sr__inline_span_set_strn(span, key, v, len);
}

SR_API void sr_span_set_str(sr_span_t *span, const char *key, const char *v)
{
	sr__inline_span_set_str(span, key, v);
}

SR_API void sr_span_set_str_static(sr_span_t *span, const char *key,
				   const char *v)
{
	sr__inline_span_set_str_static(span, key, v);
}

SR_API void sr_span_add_event(sr_span_t *span, const char *name,
			      uint64_t ts_ns, const sr_attr_t *attrs, size_t n)
{
	sr__inline_span_add_event(span, name, ts_ns, attrs, n);
}

SR_API void sr_span_end(sr_span_t *span)
{
	sr__inline_span_end(span);
}

SR_API void sr_span_end_at(sr_span_t *span, uint64_t end_ns)
{
	sr__inline_span_end_at(span, end_ns);
}
