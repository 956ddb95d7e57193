/*
 * scope.c - making a span current and restoring the previous one.
 *
 * Scopes work whether or not the pipeline runs (propagation and context
 * hand-offs must not depend on it).  Errors (out-of-order exits, unknown
 * scopes, pushes past SR_SCOPE_MAX_DEPTH) are counted process-wide.
 */
#include <string.h>

#include <ck_pr.h>

#include "scope_int.h"
#include "error_int.h"


/* Any thread: ck_pr_inc_64 on error (rare); stats read it. */
static uint64_t scope_errors;

uint64_t sr__scope_errors(void)
{
	return ck_pr_load_64(&scope_errors);
}

static void count_error(void)
{
	ck_pr_inc_64(&scope_errors);
}

/* The next free entry (with its cookie set) or NULL past the limit. */
static inline sr_context_t *push(sr_scope_t *s)
{
	struct sr__scope_tls *t = &sr__tls_scope;
	uint32_t d = t->depth;

	if (SR__UNLIKELY(d >= SR_SCOPE_MAX_DEPTH)) {
		count_error();
		s->depth_ = s->cookie_ = 0;
		return NULL;
	}
	if (SR__UNLIKELY(++t->next_cookie == 0))
		t->next_cookie = 1;
	t->cookies[d] = t->next_cookie;
	t->depth = d + 1;
	s->depth_ = d + 1;
	s->cookie_ = t->next_cookie;
	return &t->stack[d];
}

SR_API sr_scope_t sr_scope_enter_ctx(const sr_context_t *ctx)
{
	sr_scope_t s = { 0, 0 };
	sr_context_t *e;

	if (!ctx) {
		sr__null_arg("sr_scope_enter_ctx", "ctx");
		return s;
	}
	e = push(&s);
	if (e)
		*e = *ctx;
	return s;
}

SR_API sr_scope_t sr_scope_enter(const sr_span_t *span)
{
	sr_scope_t s = { 0, 0 };
	sr_context_t *e;

	if (!span) {
		sr__null_arg("sr_scope_enter", "span");
		return s;
	}
	e = push(&s);
	/* Straight into the stack entry: no context copied twice. */
	if (e)
		sr__span_context_to(span, e);
	return s;
}

SR_API int sr_scope_exit(sr_scope_t s)
{
	struct sr__scope_tls *t = &sr__tls_scope;

	if (s.depth_ == 0 && s.cookie_ == 0)
		return SR_ESCOPE; /* push that overflowed: counted already */
	if (s.depth_ == 0 || s.depth_ > t->depth ||
	    t->cookies[s.depth_ - 1] != s.cookie_) {
		count_error();
		return SR_ESCOPE;
	}
	if (s.depth_ != t->depth) {
		/* Inner scopes left open: close them with this one. */
		count_error();
		t->depth = s.depth_ - 1;
		return SR_ESCOPE;
	}
	t->depth--;
	return 0;
}

SR_API int sr_context_current(sr_context_t *out)
{
	const sr_context_t *top = sr__scope_top();

	if (!out)
		return sr__null_arg("sr_context_current", "out");
	if (!top) {
		memset(out, 0, sizeof(*out));
		return SR_ENOTFOUND;
	}
	*out = *top;
	return 0;
}

SR_API void sr_scope_stack_save(sr_scope_stack_t *saved)
{
	struct sr__scope_tls *t = &sr__tls_scope;

	if (!saved) {
		sr__null_arg("sr_scope_stack_save", "saved");
		return;
	}
	_Static_assert(sizeof(saved->entries_) == sizeof(t->stack), "stack");
	saved->depth_ = t->depth;
	saved->cookie_ = t->next_cookie;
	memcpy(saved->entries_, t->stack, t->depth * sizeof(sr_context_t));
	memcpy(saved->cookies_, t->cookies, t->depth * sizeof(uint32_t));
	t->depth = 0;
}

SR_API void sr_scope_stack_restore(const sr_scope_stack_t *saved)
{
	struct sr__scope_tls *t = &sr__tls_scope;
	uint32_t d;

	if (!saved) {
		sr__null_arg("sr_scope_stack_restore", "saved");
		return;
	}
	d = saved->depth_ > SR_SCOPE_MAX_DEPTH ? SR_SCOPE_MAX_DEPTH
					       : saved->depth_;

	memcpy(t->stack, saved->entries_, d * sizeof(sr_context_t));
	memcpy(t->cookies, saved->cookies_, d * sizeof(uint32_t));
	/* Cookies keep growing across fibers so a scope token from one
	 * fiber never matches an entry of another. */
	if (t->next_cookie < saved->cookie_)
		t->next_cookie = saved->cookie_;
	t->depth = d;
}
