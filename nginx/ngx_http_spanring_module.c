/*
 * ngx_http_spanring_module.c - the module table, the request context, the
 * two phase handlers and the server span's attributes.
 *
 * A traced request has one SERVER span.  It starts in the rewrite phase
 * (our handler runs before the rewrite module's, so `return` is traced
 * too) or earlier, when a $otel_* variable needs its ids first; it ends
 * in the log phase, where its attributes are all known.  A request that
 * never reached the rewrite phase (400, a server-level `return`) gets its
 * span in the log phase, started at the request's start time.
 *
 * Sampling is nginx's: otel_trace decides per request, as in
 * ngx_otel_module.  The pipeline runs parentbased_always_on, and the
 * module hands spanring the incoming parent with its sampled flag set to
 * that decision; an untraced request that still propagates context gets
 * fresh ids from the module and no span at all.
 */
#include "ngx_http_spanring.h"

static ngx_int_t ngx_http_spanring_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_spanring_preconfiguration(ngx_conf_t *cf);

static ngx_http_module_t ngx_http_spanring_module_ctx = {
	ngx_http_spanring_preconfiguration,  /* preconfiguration  */
	ngx_http_spanring_postconfiguration, /* postconfiguration */
	ngx_http_spanring_create_main_conf,  /* create main conf  */
	ngx_http_spanring_init_main_conf,    /* init main conf    */
	NULL,                                /* create srv conf   */
	NULL,                                /* merge srv conf    */
	ngx_http_spanring_create_loc_conf,   /* create loc conf   */
	ngx_http_spanring_merge_loc_conf     /* merge loc conf    */
};

ngx_module_t ngx_http_spanring_module = {
	NGX_MODULE_V1,
	&ngx_http_spanring_module_ctx,   /* module context   */
	ngx_http_spanring_commands,      /* module directives */
	NGX_HTTP_MODULE,                 /* module type      */
	NULL,                            /* init master      */
	NULL,                            /* init module      */
	ngx_http_spanring_init_process,  /* init process     */
	NULL,                            /* init thread      */
	NULL,                            /* exit thread      */
	ngx_http_spanring_exit_process,  /* exit process     */
	NULL,                            /* exit master      */
	NGX_MODULE_V1_PADDING
};

/* ---- request context -------------------------------------------------- */

/*
 * Contexts are recycled through a free list rather than taken from the
 * request pool: with its 576-byte sr_span_t a context pushes a typical
 * request pool into a second block, a malloc and a free per request.
 * The list grows by slabs to the most requests traced at once and lives
 * as long as the worker; its first slab is allocated at the worker's
 * start, away from the heap that request pools churn.  Written and read
 * by the worker's event loop only.
 */
static ngx_http_spanring_ctx_t *ngx_http_spanring_free_ctx;

#define NGX_HTTP_SPANRING_SLAB 32

ngx_int_t ngx_http_spanring_ctx_grow(ngx_log_t *log)
{
	ngx_http_spanring_ctx_t *slab;
	ngx_uint_t i;

	slab = ngx_memalign(64, NGX_HTTP_SPANRING_SLAB * sizeof(*slab), log);
	if (slab == NULL)
		return NGX_ERROR;
	for (i = 0; i < NGX_HTTP_SPANRING_SLAB; i++) {
		slab[i].next_free = ngx_http_spanring_free_ctx;
		ngx_http_spanring_free_ctx = &slab[i];
	}
	return NGX_OK;
}

static void ngx_http_spanring_cleanup(void *data)
{
	ngx_http_spanring_ctx_t *ctx = data;

	/* The log phase ends the span; this only catches a request freed
	 * without one, so that no started span is lost uncounted. */
	if (ctx->traced && !ctx->ended) {
		ctx->ended = 1;
		sr_span_end(&ctx->span);
	}
	ctx->next_free = ngx_http_spanring_free_ctx;
	ngx_http_spanring_free_ctx = ctx;
}

ngx_http_spanring_ctx_t *ngx_http_spanring_get_ctx(ngx_http_request_t *r,
						   ngx_flag_t create)
{
	ngx_http_spanring_ctx_t *ctx;
	ngx_pool_cleanup_t *cln;

	r = r->main;
	ctx = ngx_http_get_module_ctx(r, ngx_http_spanring_module);
	if (ctx)
		return ctx;

	/* An internal redirect (or the finalize filter) cleared r->ctx: the
	 * context is still in the pool's cleanups, find it there. */
	if (r->internal || r->filter_finalize) {
		for (cln = r->pool->cleanup; cln; cln = cln->next) {
			if (cln->handler == ngx_http_spanring_cleanup) {
				ctx = cln->data;
				ngx_http_set_ctx(r, ctx, ngx_http_spanring_module);
				return ctx;
			}
		}
	}
	if (!create)
		return NULL;

	cln = ngx_pool_cleanup_add(r->pool, 0);
	if (cln == NULL)
		return NULL;
	if (ngx_http_spanring_free_ctx == NULL &&
	    ngx_http_spanring_ctx_grow(r->connection->log) != NGX_OK)
		return NULL; /* the cleanup has no handler: nginx skips it */
	ctx = ngx_http_spanring_free_ctx;
	ngx_http_spanring_free_ctx = ctx->next_free;
	/* Only the flags and contexts need zeroing: the span is written by
	 * its start before anything reads it. */
	ngx_memzero(&ctx->parent, sizeof(*ctx) - offsetof(ngx_http_spanring_ctx_t, parent));
	cln->handler = ngx_http_spanring_cleanup;
	cln->data = ctx;
	ngx_http_set_ctx(r, ctx, ngx_http_spanring_module);
	return ctx;
}

/* ---- span start --------------------------------------------------------- */

static ngx_flag_t ngx_http_spanring_traced(ngx_http_request_t *r,
					   ngx_http_spanring_loc_conf_t *lcf)
{
	ngx_str_t v;

	if (lcf->trace != NGX_HTTP_SPANRING_TRACE_VAR)
		return lcf->trace == NGX_HTTP_SPANRING_TRACE_ON;
	if (ngx_http_complex_value(r, lcf->trace_cv, &v) != NGX_OK)
		return 0;
	return (v.len == 2 && v.data[0] == 'o' && v.data[1] == 'n') ||
	       (v.len == 1 && v.data[0] == '1');
}

/* The span's name when otel_span_name is not set: the location's name as
 * ngx_otel_module does (configuration memory, kept by pointer), or the
 * method for a request that never found a location. */
static const char *ngx_http_spanring_default_name(ngx_http_request_t *r)
{
	ngx_http_core_loc_conf_t *clcf;

	clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
	if (clcf->name.len && clcf->name.data[clcf->name.len] == '\0')
		return (const char *)clcf->name.data;
	return "HTTP";
}

ngx_int_t ngx_http_spanring_start(ngx_http_request_t *r,
				  ngx_http_spanring_ctx_t *ctx,
				  uint64_t start_ns, ngx_http_spanring_hdrs_t *hd)
{
	ngx_http_spanring_main_conf_t *mcf;
	ngx_http_spanring_loc_conf_t *lcf;
	sr_context_t par;
	ngx_flag_t traced, has_parent;

	if (ctx->started || ctx->starting)
		return NGX_OK;
	ctx->starting = 1;
	lcf = ngx_http_get_module_loc_conf(r, ngx_http_spanring_module);
	mcf = ngx_http_get_module_main_conf(r, ngx_http_spanring_module);
	if (!ctx->extracted && (lcf->context & NGX_HTTP_SPANRING_EXTRACT))
		ngx_http_spanring_extract(r, ctx, hd);
	ctx->extracted = 1;
	traced = ngx_http_spanring_traced(r, lcf);
	has_parent = ctx->has_parent;

	if (traced && !has_parent) {
		sr_span_start_ex(&ctx->span, mcf->tracer,
				 ngx_http_spanring_default_name(r),
				 SR_KIND_SERVER, NULL, start_ns, SR_SPAN_ROOT);
		ctx->traced = 1;
	} else if (traced) {
		/* The sampled flag carries nginx's decision to the
		 * parent-based sampler. */
		par = ctx->parent;
		par.trace_flags |= SR_TRACE_FLAG_SAMPLED;
		sr_span_start_ex(&ctx->span, mcf->tracer,
				 ngx_http_spanring_default_name(r),
				 SR_KIND_SERVER, &par, start_ns, 0);
		ctx->traced = 1;
	} else {
		/* Propagated, not traced: new span id, the parent's trace id
		 * and trace state, sampled flag off. */
		ctx->self = ctx->parent;
		if (!has_parent)
			ngx_http_spanring_random_ids(ctx->self.trace_id, 16);
		ngx_http_spanring_random_ids(ctx->self.span_id, 8);
		ctx->self.trace_flags = 0;
		ctx->self.remote = 0;
		ctx->self_known = 1;
	}
	ctx->starting = 0;
	ctx->started = 1;
	return NGX_OK;
}

const sr_context_t *ngx_http_spanring_self(ngx_http_spanring_ctx_t *ctx)
{
	/* A span keeps its ids after it ends: the access log may ask. */
	if (!ctx->self_known) {
		ctx->self = sr_span_context(&ctx->span);
		ctx->self_known = 1;
	}
	return &ctx->self;
}

/* ---- phase handlers ----------------------------------------------------- */

static ngx_int_t ngx_http_spanring_rewrite_handler(ngx_http_request_t *r)
{
	ngx_http_spanring_loc_conf_t *lcf;
	ngx_http_spanring_ctx_t *ctx;
	ngx_http_spanring_hdrs_t hd;

	if (r != r->main)
		return NGX_DECLINED;
	lcf = ngx_http_get_module_loc_conf(r, ngx_http_spanring_module);
	if (lcf->trace == NGX_HTTP_SPANRING_TRACE_OFF && lcf->context == 0)
		return NGX_DECLINED;
	ctx = ngx_http_spanring_get_ctx(r, 1);
	if (ctx == NULL)
		return NGX_HTTP_INTERNAL_SERVER_ERROR;
	/* Extract and inject share one pass over the headers. */
	hd.scanned = 0;
	if (!ctx->started && ngx_http_spanring_start(r, ctx, 0, &hd) != NGX_OK)
		return NGX_HTTP_INTERNAL_SERVER_ERROR;
	if ((lcf->context & NGX_HTTP_SPANRING_INJECT) && !ctx->injected &&
	    ngx_http_spanring_inject(r, ctx, &hd) != NGX_OK)
		return NGX_HTTP_INTERNAL_SERVER_ERROR;
	return NGX_DECLINED;
}

/* Methods and protocol versions nginx knows, as literals: kept by
 * pointer, no copy, and each call sees its literal, so its length is a
 * constant (no strlen per request). */
#define SR_SET_LIT(span, key, lit) sr_span_set_str_static((span), (key), lit)

static ngx_flag_t ngx_http_spanring_method(ngx_http_request_t *r,
					   sr_span_t *span)
{
	switch (r->method) {
	case NGX_HTTP_GET: SR_SET_LIT(span, "http.request.method", "GET"); break;
	case NGX_HTTP_HEAD: SR_SET_LIT(span, "http.request.method", "HEAD"); break;
	case NGX_HTTP_POST: SR_SET_LIT(span, "http.request.method", "POST"); break;
	case NGX_HTTP_PUT: SR_SET_LIT(span, "http.request.method", "PUT"); break;
	case NGX_HTTP_DELETE: SR_SET_LIT(span, "http.request.method", "DELETE"); break;
	case NGX_HTTP_OPTIONS: SR_SET_LIT(span, "http.request.method", "OPTIONS"); break;
	case NGX_HTTP_PATCH: SR_SET_LIT(span, "http.request.method", "PATCH"); break;
	case NGX_HTTP_TRACE: SR_SET_LIT(span, "http.request.method", "TRACE"); break;
	case NGX_HTTP_CONNECT: SR_SET_LIT(span, "http.request.method", "CONNECT"); break;
	default: return 0;
	}
	return 1;
}

static void ngx_http_spanring_protocol(ngx_http_request_t *r, sr_span_t *span)
{
	switch (r->http_version) {
	case NGX_HTTP_VERSION_9: SR_SET_LIT(span, "network.protocol.version", "0.9"); break;
	case NGX_HTTP_VERSION_10: SR_SET_LIT(span, "network.protocol.version", "1.0"); break;
	case NGX_HTTP_VERSION_11: SR_SET_LIT(span, "network.protocol.version", "1.1"); break;
	case NGX_HTTP_VERSION_20: SR_SET_LIT(span, "network.protocol.version", "2"); break;
	default: break;
	}
}

/*
 * Copied strings: those spanring's inline fast path copies (up to 40
 * bytes: the client and server address, a path, most Hosts) go straight
 * into the span; longer ones (a user agent) are collected and handed to
 * spanring in one sr_span_set_attrs call, one entry into the library
 * instead of one per string.
 */
#define NGX_HTTP_SPANRING_LONG_ATTRS 8
#ifdef SR__SPAN_ITEM_INL2_MAX
#define NGX_HTTP_SPANRING_INLINE_STR SR__SPAN_ITEM_INL2_MAX
#else
#define NGX_HTTP_SPANRING_INLINE_STR 0 /* SR_NO_INLINE: every one a call */
#endif

typedef struct {
	sr_attr_t a[NGX_HTTP_SPANRING_LONG_ATTRS];
	ngx_uint_t n;
} ngx_http_spanring_long_t;

static ngx_inline __attribute__((always_inline)) void
ngx_http_spanring_set_str(sr_span_t *span, ngx_http_spanring_long_t *l,
			  const char *key, const u_char *v, size_t len)
{
	if (len <= NGX_HTTP_SPANRING_INLINE_STR ||
	    l->n == NGX_HTTP_SPANRING_LONG_ATTRS) {
		sr_span_set_strn(span, key, (const char *)v, len);
		return;
	}
	l->a[l->n++] = SR_ATTR_STRN_(key, (const char *)v, len);
}

/* A socket address's port: IPv4 read in place, without the call into
 * nginx; other families through ngx_inet_get_port. */
static ngx_inline in_port_t ngx_http_spanring_port(struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((struct sockaddr_in *)(void *)sa)->sin_port);
	return ngx_inet_get_port(sa);
}

#define SR_SET_NGX_STR(span, key, s) \
	ngx_http_spanring_set_str((span), &longs, (key), (s).data, (s).len)

/* HTTP server semantic conventions (stable since semconv 1.23). */
static void ngx_http_spanring_attrs(ngx_http_request_t *r, sr_span_t *span,
				    ngx_uint_t status)
{
	ngx_connection_t *c = r->connection;
	ngx_http_core_loc_conf_t *clcf;
	ngx_http_spanring_long_t longs;
	off_t sent;
	u_char *q;

	longs.n = 0;

	if (!ngx_http_spanring_method(r, span))
		SR_SET_NGX_STR(span, "http.request.method", r->method_name);

	/* url.path and url.query as received (before rewrites). */
	if (r->unparsed_uri.len) {
		q = r->args_start && r->args_start > r->unparsed_uri.data
			    ? r->args_start - 1
			    : r->unparsed_uri.data + r->unparsed_uri.len;
		if (q > r->unparsed_uri.data + r->unparsed_uri.len)
			q = r->unparsed_uri.data + r->unparsed_uri.len;
		ngx_http_spanring_set_str(span, &longs, "url.path",
					  r->unparsed_uri.data,
					  (size_t)(q - r->unparsed_uri.data));
		if (r->args.len)
			SR_SET_NGX_STR(span, "url.query", r->args);
	}
	/* The location: a name the inline path copies is copied (its length
	 * is known, which spares the strlen of a pointer kept), a longer
	 * one kept by pointer (configuration memory). */
	clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
	if (clcf->name.len && clcf->name.len <= NGX_HTTP_SPANRING_INLINE_STR)
		sr_span_set_strn(span, "http.route", (const char *)clcf->name.data,
				 clcf->name.len);
	else if (clcf->name.len && clcf->name.data[clcf->name.len] == '\0')
		sr_span_set_str_static(span, "http.route",
				       (const char *)clcf->name.data);
#if (NGX_HTTP_SSL)
	if (c->ssl)
		SR_SET_LIT(span, "url.scheme", "https");
	else
#endif
		SR_SET_LIT(span, "url.scheme", "http");
	ngx_http_spanring_protocol(r, span);
	if (status)
		sr_span_set_int(span, "http.response.status_code",
				(int64_t)status);
	if (r->headers_in.content_length_n > 0)
		sr_span_set_int(span, "http.request.body.size",
				(int64_t)r->headers_in.content_length_n);
	sent = c->sent - (off_t)r->header_size;
	sr_span_set_int(span, "http.response.body.size",
			(int64_t)(sent > 0 ? sent : 0));
	if (r->headers_in.user_agent)
		SR_SET_NGX_STR(span, "user_agent.original",
			       r->headers_in.user_agent->value);
	if (r->headers_in.server.len)
		SR_SET_NGX_STR(span, "server.address", r->headers_in.server);
	/* The listening socket's port: known without getsockname(). */
	if (c->local_sockaddr)
		sr_span_set_int(span, "server.port",
				ngx_http_spanring_port(c->local_sockaddr));
	SR_SET_NGX_STR(span, "client.address", c->addr_text);
	sr_span_set_int(span, "client.port", ngx_http_spanring_port(c->sockaddr));
	if (longs.n)
		sr_span_set_attrs(span, longs.a, longs.n);
}

static void ngx_http_spanring_custom_attrs(ngx_http_request_t *r,
					   sr_span_t *span,
					   ngx_http_spanring_loc_conf_t *lcf)
{
	ngx_http_spanring_attr_t *a;
	ngx_str_t v;
	ngx_uint_t i;

	if (lcf->span_name && ngx_http_complex_value(r, lcf->span_name, &v) == NGX_OK &&
	    v.len) {
		/* sr_span_update_name copies a NUL-terminated name. */
		u_char *name = ngx_pnalloc(r->pool, v.len + 1);

		if (name) {
			ngx_memcpy(name, v.data, v.len);
			name[v.len] = '\0';
			sr_span_update_name(span, (const char *)name);
		}
	}
	if (lcf->span_attrs == NULL)
		return;
	a = lcf->span_attrs->elts;
	for (i = 0; i < lcf->span_attrs->nelts; i++) {
		if (ngx_http_complex_value(r, &a[i].value, &v) == NGX_OK)
			sr_span_set_strn(span, a[i].key, (const char *)v.data,
					 v.len);
	}
}

static ngx_int_t ngx_http_spanring_log_handler(ngx_http_request_t *r)
{
	ngx_http_spanring_loc_conf_t *lcf;
	ngx_http_spanring_ctx_t *ctx;
	ngx_http_core_loc_conf_t *clcf;
	ngx_http_spanring_hdrs_t hd;
	const char *name;
	ngx_uint_t status;

	if (r != r->main)
		return NGX_DECLINED;
	lcf = ngx_http_get_module_loc_conf(r, ngx_http_spanring_module);
	ctx = ngx_http_spanring_get_ctx(r, 0);
	if (ctx == NULL) {
		/* Never reached the rewrite phase (a 400, a server-level
		 * return): start now, dated from the request's start. */
		if (lcf->trace == NGX_HTTP_SPANRING_TRACE_OFF)
			return NGX_DECLINED;
		ctx = ngx_http_spanring_get_ctx(r, 1);
		if (ctx == NULL)
			return NGX_ERROR;
		hd.scanned = 0;
		if (ngx_http_spanring_start(r, ctx,
					    ((uint64_t)r->start_sec * 1000 +
					     r->start_msec) * 1000000, &hd) != NGX_OK)
			return NGX_ERROR;
	}
	if (!ctx->traced || ctx->ended)
		return NGX_DECLINED;

	status = r->err_status ? r->err_status : r->headers_out.status;
	ngx_http_spanring_attrs(r, &ctx->span, status);
	if (status >= 500)
		sr_span_set_status(&ctx->span, SR_STATUS_ERROR, NULL);
	/* An internal redirect may have moved the request to another
	 * location since the span started: name it after the final one. */
	clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
	if (lcf->span_name == NULL && (r->internal || r->uri_changed) &&
	    clcf->name.len) {
		name = ngx_http_spanring_default_name(r);
		sr_span_update_name(&ctx->span, name);
	}
	ngx_http_spanring_custom_attrs(r, &ctx->span, lcf);
	ctx->ended = 1;
	sr_span_end(&ctx->span);
	return NGX_DECLINED;
}

/* ---- registration ------------------------------------------------------- */

static ngx_int_t ngx_http_spanring_preconfiguration(ngx_conf_t *cf)
{
	return ngx_http_spanring_add_variables(cf);
}

static ngx_int_t ngx_http_spanring_postconfiguration(ngx_conf_t *cf)
{
	ngx_http_spanring_main_conf_t *mcf;
	ngx_http_core_main_conf_t *cmcf;
	ngx_http_handler_pt *h;

	mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_spanring_module);
	/* Loaded but never configured to trace or propagate: no handler,
	 * so the module costs nothing per request. */
	if (!mcf->used)
		return NGX_OK;
	cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
	/* Handlers of one phase run last-registered first: a dynamic
	 * module's postconfiguration runs after the built-in modules', so
	 * this runs before the rewrite module's (and its `return`). */
	h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
	if (h == NULL)
		return NGX_ERROR;
	*h = ngx_http_spanring_rewrite_handler;
	h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
	if (h == NULL)
		return NGX_ERROR;
	*h = ngx_http_spanring_log_handler;
	return NGX_OK;
}
