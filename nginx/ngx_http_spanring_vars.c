/*
 * ngx_http_spanring_vars.c - the $otel_* variables, and the request
 * headers as a spanring carrier: W3C trace context read from the client's
 * request (extract) and written into the request headers that proxy_pass,
 * grpc_pass and the like forward upstream (inject), as ngx_otel_module
 * does.
 *
 *   $otel_trace_id        the request's trace id (32 hex digits)
 *   $otel_span_id         its server span's id (16 hex digits)
 *   $otel_parent_id       the incoming parent span's id, empty if none
 *   $otel_parent_sampled  "1" if the incoming parent was sampled, else "0"
 *
 * $otel_trace_id and $otel_span_id decide the request's context when
 * they are the first to need it, so they may be used anywhere
 * (proxy_set_header, log_format, add_header).
 */
#include "ngx_http_spanring.h"

/* ---- the request headers as a carrier ------------------------------------ */

/* The headers W3C trace context reads and writes (the module's propagator
 * is "tracecontext", see ngx_http_spanring_init_main_conf), indexed as
 * ngx_http_spanring_hdrs_t.h, with the hash nginx gives a header it
 * parsed (proxy_set_header and proxy's hide lists look headers up by it):
 * computed once, and the names are static. */
static struct {
	ngx_str_t name;
	ngx_uint_t hash;
} ngx_http_spanring_known[NGX_HTTP_SPANRING_KNOWN] = {
	{ ngx_string("traceparent"), 0 },
	{ ngx_string("tracestate"), 0 },
};

/* Which of ngx_http_spanring_known `key` is, or NGX_HTTP_SPANRING_KNOWN.
 * Compares of constant length, which the compiler makes a few loads. */
static ngx_inline ngx_uint_t ngx_http_spanring_known_index(const u_char *key,
							   size_t klen)
{
	if (klen == sizeof("traceparent") - 1 &&
	    ngx_memcmp(key, "traceparent", sizeof("traceparent") - 1) == 0)
		return 0;
	if (klen == sizeof("tracestate") - 1 &&
	    ngx_memcmp(key, "tracestate", sizeof("tracestate") - 1) == 0)
		return 1;
	return NGX_HTTP_SPANRING_KNOWN;
}

/*
 * One pass over the request headers finds both trace-context headers, so
 * that extract and inject do not walk the list once per key (and a
 * request without traceparent, most of an edge server's, is known to have
 * nothing to extract).  Header names come lowercased from nginx's parser;
 * a length check rejects nearly every other header before a compare.
 */
void ngx_http_spanring_scan(ngx_http_request_t *r, ngx_http_spanring_hdrs_t *hd)
{
	ngx_list_part_t *part = &r->headers_in.headers.part;
	ngx_table_elt_t *h = part->elts;
	ngx_uint_t i, k;

	hd->r = r;
	hd->h[0] = hd->h[1] = NULL;
	hd->many = 0;
	for (i = 0;; i++) {
		if (i >= part->nelts) {
			if (part->next == NULL)
				break;
			part = part->next;
			h = part->elts;
			i = 0;
			if (part->nelts == 0)
				continue;
		}
		if ((h[i].key.len != 11 && h[i].key.len != 10) ||
		    h[i].lowcase_key == NULL)
			continue;
		k = ngx_http_spanring_known_index(h[i].lowcase_key, h[i].key.len);
		if (k == NGX_HTTP_SPANRING_KNOWN)
			continue;
		if (hd->h[k] == NULL)
			hd->h[k] = &h[i];
		else
			hd->many |= 1u << k;
	}
	hd->scanned = 1;
}

/* Walks the request headers named `key` (lowercase), in order. */
typedef struct {
	ngx_list_part_t *part;
	ngx_uint_t i;
} ngx_http_spanring_hdr_iter_t;

static ngx_table_elt_t *ngx_http_spanring_header_next(
	ngx_http_spanring_hdr_iter_t *it, const char *key, size_t klen)
{
	ngx_table_elt_t *h;

	for (;;) {
		if (it->i >= it->part->nelts) {
			if (it->part->next == NULL)
				return NULL;
			it->part = it->part->next;
			it->i = 0;
			continue;
		}
		h = (ngx_table_elt_t *)it->part->elts + it->i++;
		if (h->key.len == klen && h->lowcase_key &&
		    ngx_memcmp(h->lowcase_key, key, klen) == 0)
			return h;
	}
}

/* The value of a request header, several occurrences joined by "," as
 * RFC 9110 combines them.  The carrier is a scanned
 * ngx_http_spanring_hdrs_t: a trace-context header seen once is returned
 * in place. */
static const char *ngx_http_spanring_header_get(void *carrier, const char *key,
						size_t *len)
{
	ngx_http_spanring_hdrs_t *hd = carrier;
	ngx_http_request_t *r = hd->r;
	ngx_http_spanring_hdr_iter_t it = { &r->headers_in.headers.part, 0 };
	size_t klen = ngx_strlen(key);
	ngx_uint_t k = ngx_http_spanring_known_index((const u_char *)key, klen);
	ngx_str_t found = ngx_null_string;
	ngx_table_elt_t *h;
	u_char *joined;

	if (k < NGX_HTTP_SPANRING_KNOWN && !(hd->many & (1u << k))) {
		if (hd->h[k] == NULL)
			return NULL;
		*len = hd->h[k]->value.len;
		return (const char *)hd->h[k]->value.data;
	}
	while ((h = ngx_http_spanring_header_next(&it, key, klen)) != NULL) {
		if (found.data == NULL) {
			found = h->value;
			continue;
		}
		joined = ngx_pnalloc(r->pool, found.len + 1 + h->value.len);
		if (joined == NULL)
			return NULL;
		ngx_memcpy(joined, found.data, found.len);
		joined[found.len] = ',';
		ngx_memcpy(joined + found.len + 1, h->value.data, h->value.len);
		found.data = joined;
		found.len += 1 + h->value.len;
	}
	if (found.data == NULL)
		return NULL;
	*len = found.len;
	return (const char *)found.data;
}

static const sr_carrier_getter_t ngx_http_spanring_getter = {
	ngx_http_spanring_header_get, NULL
};

/* Replace the request header `key` (its first line), or add it.  The
 * value is copied into the request pool, and so is a key we do not know.
 * The carrier is a scanned ngx_http_spanring_hdrs_t, kept up to date. */
static void ngx_http_spanring_header_set(void *carrier, const char *key,
					 const char *value, size_t value_len)
{
	ngx_http_spanring_hdrs_t *hd = carrier;
	ngx_http_request_t *r = hd->r;
	ngx_http_spanring_hdr_iter_t it = { &r->headers_in.headers.part, 0 };
	size_t klen = ngx_strlen(key);
	ngx_uint_t k = ngx_http_spanring_known_index((const u_char *)key, klen);
	ngx_table_elt_t *hit;
	u_char *v, *kd;

	v = ngx_pnalloc(r->pool, value_len);
	if (v == NULL)
		return;
	ngx_memcpy(v, value, value_len);
	hit = k < NGX_HTTP_SPANRING_KNOWN
		      ? hd->h[k]
		      : ngx_http_spanring_header_next(&it, key, klen);
	if (hit == NULL) {
		kd = k < NGX_HTTP_SPANRING_KNOWN
			     ? ngx_http_spanring_known[k].name.data
			     : ngx_pnalloc(r->pool, klen + 1);
		hit = kd ? ngx_list_push(&r->headers_in.headers) : NULL;
		if (hit == NULL)
			return;
		ngx_memzero(hit, sizeof(*hit));
		if (k == NGX_HTTP_SPANRING_KNOWN)
			ngx_memcpy(kd, key, klen + 1);
		hit->key.data = kd;
		hit->key.len = klen;
		hit->lowcase_key = kd;
		hit->hash = k < NGX_HTTP_SPANRING_KNOWN
				    ? ngx_http_spanring_known[k].hash
				    : ngx_hash_key(kd, klen);
		if (k < NGX_HTTP_SPANRING_KNOWN)
			hd->h[k] = hit;
	}
	hit->value.data = v;
	hit->value.len = value_len;
}

void ngx_http_spanring_extract(ngx_http_request_t *r,
			       ngx_http_spanring_ctx_t *ctx,
			       ngx_http_spanring_hdrs_t *hd)
{
	ngx_http_spanring_main_conf_t *mcf;

	ctx->extracted = 1;
	if (!hd->scanned)
		ngx_http_spanring_scan(r, hd);
	/* Without traceparent there is nothing to extract (W3C: tracestate
	 * is then ignored): the parent stays zeroed and the request starts
	 * a new trace, without a call into the propagator. */
	if (hd->h[0] == NULL)
		return;
	mcf = ngx_http_get_module_main_conf(r, ngx_http_spanring_module);
	/* A malformed header leaves a zeroed parent (counted by spanring's
	 * propagation stats): the request starts a new trace. */
	if (sr_propagator_extract(mcf->propagator, hd, &ngx_http_spanring_getter,
				  &ctx->parent) == 0)
		ctx->has_parent = 1;
	else
		ngx_memzero(&ctx->parent, sizeof(ctx->parent));
}

ngx_int_t ngx_http_spanring_inject(ngx_http_request_t *r,
				   ngx_http_spanring_ctx_t *ctx,
				   ngx_http_spanring_hdrs_t *hd)
{
	ngx_http_spanring_main_conf_t *mcf;

	if (!hd->scanned)
		ngx_http_spanring_scan(r, hd);
	mcf = ngx_http_get_module_main_conf(r, ngx_http_spanring_module);
	sr_propagator_inject(mcf->propagator, ngx_http_spanring_self(ctx), hd,
			     ngx_http_spanring_header_set);
	ctx->injected = 1;
	return NGX_OK;
}

/* ---- variables ------------------------------------------------------------ */

enum {
	NGX_HTTP_SPANRING_VAR_TRACE_ID,
	NGX_HTTP_SPANRING_VAR_SPAN_ID,
	NGX_HTTP_SPANRING_VAR_PARENT_ID,
	NGX_HTTP_SPANRING_VAR_PARENT_SAMPLED
};

static ngx_int_t ngx_http_spanring_variable(ngx_http_request_t *r,
					    ngx_http_variable_value_t *v,
					    uintptr_t data)
{
	ngx_http_spanring_loc_conf_t *lcf;
	ngx_http_spanring_ctx_t *ctx;
	ngx_http_spanring_hdrs_t hd;
	const sr_context_t *c;
	u_char *buf;

	hd.scanned = 0;
	ctx = ngx_http_spanring_get_ctx(r, 1);
	if (ctx == NULL)
		return NGX_ERROR;
	if (data <= NGX_HTTP_SPANRING_VAR_SPAN_ID) {
		if (!ctx->started) {
			if (ctx->starting) {
				/* otel_trace's own value asked for the ids it
				 * is deciding */
				v->not_found = 1;
				return NGX_OK;
			}
			if (ngx_http_spanring_start(r->main, ctx, 0, &hd) != NGX_OK)
				return NGX_ERROR;
		}
		c = ngx_http_spanring_self(ctx);
	} else {
		if (!ctx->extracted) {
			lcf = ngx_http_get_module_loc_conf(r, ngx_http_spanring_module);
			if (lcf->context & NGX_HTTP_SPANRING_EXTRACT)
				ngx_http_spanring_extract(r->main, ctx, &hd);
			ctx->extracted = 1;
		}
		c = &ctx->parent;
	}

	v->valid = 1;
	v->no_cacheable = 0;
	v->not_found = 0;
	if (data == NGX_HTTP_SPANRING_VAR_PARENT_SAMPLED) {
		v->data = (u_char *)(sr_context_is_valid(c) && sr_context_is_sampled(c)
					     ? "1" : "0");
		v->len = 1;
		return NGX_OK;
	}
	if (!sr_context_is_valid(c)) {
		v->not_found = 1;
		return NGX_OK;
	}
	buf = ngx_pnalloc(r->pool, 33);
	if (buf == NULL)
		return NGX_ERROR;
	if (data == NGX_HTTP_SPANRING_VAR_TRACE_ID) {
		sr_context_trace_id_hex(c, (char *)buf);
		v->len = 32;
	} else {
		sr_context_span_id_hex(c, (char *)buf);
		v->len = 16;
	}
	v->data = buf;
	return NGX_OK;
}

ngx_int_t ngx_http_spanring_add_variables(ngx_conf_t *cf)
{
	static ngx_str_t names[] = {
		ngx_string("otel_trace_id"), ngx_string("otel_span_id"),
		ngx_string("otel_parent_id"), ngx_string("otel_parent_sampled")
	};
	ngx_http_variable_t *var;
	ngx_uint_t i;

	for (i = 0; i < NGX_HTTP_SPANRING_KNOWN; i++)
		ngx_http_spanring_known[i].hash =
			ngx_hash_key(ngx_http_spanring_known[i].name.data,
				     ngx_http_spanring_known[i].name.len);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		var = ngx_http_add_variable(cf, &names[i], 0);
		if (var == NULL)
			return NGX_ERROR;
		var->get_handler = ngx_http_spanring_variable;
		var->data = i;
	}
	return NGX_OK;
}
