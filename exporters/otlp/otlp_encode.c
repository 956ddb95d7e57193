/*
 * otlp_encode.c - the format-independent part of the OTLP encoders: groups
 * spans by instrumentation scope and frames the request around them (see
 * the layout in otlp_int.h).
 *
 * Grouping: a tracer's index (stable for the process) maps straight to its
 * group through a 256-entry table, so finding a span's group is one load;
 * spans built by hand without a tracer (tests, benchmarks, plugins) are
 * matched by scope name and version.  Each group's scope is encoded once,
 * when its first span arrives, because the span's strings are only valid
 * until the next sr_batch_span() call.
 *
 * Framing needs every length before the bytes that follow it.  Span entries
 * carry their own lengths; group and request lengths are sums known at
 * finish(), so the prefix is written last, into the headroom left before
 * the first span (one scope) or into the gathered copy (several scopes).
 *
 * Left out: several resources per request (the pipeline has one).
 */
#include "otlp_int.h"
#include "tracer_struct_int.h"

#include <stdlib.h>
#include <string.h>


#define NO_GROUP UINT32_MAX

const char sr__otlp_no_key[1];

int sr__otlp_enc_init(struct sr__otlp_enc *e, enum sr__otlp_format f)
{
	memset(e, 0, sizeof(*e));
	e->format = f;
	e->res_count = UINT32_MAX; /* nothing cached yet */
	e->last_group = NO_GROUP;
	for (size_t i = 0; i < sizeof(e->keys) / sizeof(e->keys[0]); i++)
		e->keys[i].ptr = sr__otlp_no_key;
	return 0;
}

void sr__otlp_enc_free(struct sr__otlp_enc *e)
{
	sr__buf_free(&e->area);
	sr__buf_free(&e->out);
	sr__buf_free(&e->resource);
	sr__buf_free(&e->scopes);
	sr__buf_free(&e->refs);
	free(e->groups);
	e->groups = NULL;
	e->groups_cap = e->ngroups = 0;
}

int sr__otlp_enc_begin(struct sr__otlp_enc *e, const sr_attr_view_t *res,
		       uint32_t nres)
{
	for (uint32_t g = 0; g < e->ngroups; g++) {
		const sr_tracer_t *t = e->groups[g].tracer;
		if (t && t->index < SR_MAX_TRACERS)
			e->group_of_tracer[t->index] = 0;
	}
	e->ngroups = 0;
	e->last_group = NO_GROUP;
	e->area.len = e->scopes.len = e->refs.len = 0;
	e->headroom = 0;
	e->nspans = 0;
	e->invalid_utf8 = 0;
	e->err = 0;

	if (res != e->res_attrs || nres != e->res_count) {
		uint64_t bad = 0;
		int rc;

		e->resource.len = 0;
		rc = e->format == SR__OTLP_PROTOBUF
			     ? sr__otlp_pb_resource(&e->resource, res, nres, &bad)
			     : sr__otlp_json_resource(&e->resource, res, nres, &bad);
		if (rc) {
			e->res_count = UINT32_MAX;
			return e->err = rc;
		}
		e->res_attrs = res;
		e->res_count = nres;
		e->invalid_utf8 += bad; /* counted with the first batch */
	}
	return 0;
}

/* Does group g hold the scope (name, version)? */
static bool group_key_eq(const struct sr__otlp_enc *e, uint32_t g,
			 const sr_span_data_t *s)
{
	const struct sr__otlp_group *gr = &e->groups[g];
	const char *k = e->scopes.data + gr->key_off;

	return gr->tracer == s->tracer &&
	       gr->key_len == (size_t)s->scope_name.len + 1 + s->scope_version.len &&
	       (!s->scope_name.len || !memcmp(k, s->scope_name.ptr, s->scope_name.len)) &&
	       (!s->scope_version.len ||
		!memcmp(k + s->scope_name.len + 1, s->scope_version.ptr,
			s->scope_version.len));
}

static int group_new(struct sr__otlp_enc *e, const sr_span_data_t *s,
		     uint32_t *out)
{
	struct sr__otlp_group *gr;
	uint64_t bad = 0;
	int rc;

	if (e->ngroups == e->groups_cap) {
		uint32_t n = e->groups_cap ? e->groups_cap * 2 : 16;
		void *p = realloc(e->groups, n * sizeof(*e->groups));
		if (!p)
			return SR_ENOMEM;
		e->groups = p;
		e->groups_cap = n;
	}
	gr = &e->groups[e->ngroups];
	memset(gr, 0, sizeof(*gr));
	gr->tracer = s->tracer;

	gr->scope_off = (uint32_t)e->scopes.len;
	rc = e->format == SR__OTLP_PROTOBUF
		     ? sr__otlp_pb_scope(&e->scopes, s->scope_name,
					 s->scope_version, &bad)
		     : sr__otlp_json_scope(&e->scopes, s->scope_name,
					   s->scope_version, &bad);
	if (rc)
		return rc;
	gr->scope_len = (uint32_t)(e->scopes.len - gr->scope_off);

	gr->key_len = s->scope_name.len + 1 + s->scope_version.len;
	if (sr__buf_reserve(&e->scopes, gr->key_len))
		return SR_ENOMEM;
	gr->key_off = (uint32_t)e->scopes.len;
	if (s->scope_name.len)
		sr__buf_put(&e->scopes, s->scope_name.ptr, s->scope_name.len);
	sr__buf_put(&e->scopes, "", 1);
	if (s->scope_version.len)
		sr__buf_put(&e->scopes, s->scope_version.ptr, s->scope_version.len);

	e->invalid_utf8 += bad;
	if (s->tracer && s->tracer->index < SR_MAX_TRACERS)
		e->group_of_tracer[s->tracer->index] = (uint16_t)(e->ngroups + 1);
	*out = e->ngroups++;
	return 0;
}

static inline int group_for(struct sr__otlp_enc *e, const sr_span_data_t *s,
			    uint32_t *out)
{
	const sr_tracer_t *t = s->tracer;

	if (e->last_group != NO_GROUP && t &&
	    e->groups[e->last_group].tracer == t) {
		*out = e->last_group;
		return 0;
	}
	if (t && t->index < SR_MAX_TRACERS) {
		uint16_t slot = e->group_of_tracer[t->index];
		if (slot && e->groups[slot - 1].tracer == t) {
			*out = e->last_group = slot - 1u;
			return 0;
		}
	} else {
		for (uint32_t g = 0; g < e->ngroups; g++) {
			if (group_key_eq(e, g, s)) {
				*out = e->last_group = g;
				return 0;
			}
		}
	}
	int rc = group_new(e, s, out);
	if (!rc)
		e->last_group = *out;
	return rc;
}

/* What every span entry needs before it is written: its group, the
 * headroom (first span) or the separating comma (JSON), and room for its
 * ref. */
static int entry_open(struct sr__otlp_enc *e, const sr_span_data_t *s,
		      uint32_t *g)
{
	int rc;

	if (e->err)
		return e->err;
	if ((rc = group_for(e, s, g)))
		return e->err = rc;
	if (e->nspans == 0) {
		size_t scope_len = e->groups[*g].scope_len;
		e->headroom = e->format == SR__OTLP_PROTOBUF
				      ? sr__otlp_pb_prefix_max(e->resource.len, scope_len)
				      : sr__otlp_json_prefix_max(e->resource.len, scope_len);
		if (sr__buf_reserve(&e->area, e->headroom))
			return e->err = SR_ENOMEM;
		e->area.len = e->headroom;
	} else if (e->format == SR__OTLP_JSON) {
		if (sr__buf_reserve(&e->area, 1))
			return e->err = SR_ENOMEM;
		e->area.data[e->area.len++] = ',';
	}
	if (sr__buf_reserve(&e->refs, sizeof(struct sr__otlp_ref)))
		return e->err = SR_ENOMEM;
	return 0;
}

int sr__otlp_enc_open_scope(struct sr__otlp_enc *e, const sr_tracer_t *t,
			    uint32_t *g)
{
	sr_span_data_t k = {
		.size = sizeof(k),
		.tracer = t,
		.scope_name = { t && t->name ? t->name : "",
				t && t->name ? (uint32_t)strlen(t->name) : 0 },
		.scope_version = { t && t->version ? t->version : "",
				   t && t->version ? (uint32_t)strlen(t->version) : 0 },
	};
	return entry_open(e, &k, g);
}

int sr__otlp_enc_add(struct sr__otlp_enc *e, const sr_span_data_t *s)
{
	uint32_t g;
	size_t off, len;
	int rc;

	if ((rc = entry_open(e, s, &g)))
		return rc;
	rc = e->format == SR__OTLP_PROTOBUF
		     ? sr__otlp_pb_span(&e->area, s, &e->invalid_utf8, &off, &len)
		     : sr__otlp_json_span(&e->area, s, &e->invalid_utf8, &off, &len);
	if (rc)
		return e->err = rc;
	sr__otlp_enc_close(e, g, off, len);
	return 0;
}

/* ---- protobuf framing ---------------------------------------------------- */

#define PB_TAG_LEN1 0x0A /* field 1, length-delimited */
#define PB_TAG_LEN2 0x12 /* field 2, length-delimited */

static inline char *pb_hdr(char *p, char tag, uint64_t len)
{
	*p++ = tag;
	return sr__pb_put_varint(p, len);
}

static inline size_t pb_hdr_size(uint64_t len)
{
	return 1 + sr__pb_varint_size(len);
}

/* ScopeSpans content length of group g. */
static uint64_t pb_ss_len(const struct sr__otlp_group *g)
{
	return pb_hdr_size(g->scope_len) + g->scope_len + g->span_bytes;
}

/* ResourceSpans content length. */
static uint64_t pb_rs_len(const struct sr__otlp_enc *e)
{
	uint64_t rs = pb_hdr_size(e->resource.len) + e->resource.len;

	for (uint32_t g = 0; g < e->ngroups; g++) {
		uint64_t ss = pb_ss_len(&e->groups[g]);
		rs += pb_hdr_size(ss) + ss;
	}
	return rs;
}

/* Request header + ResourceSpans header + Resource. */
static char *pb_put_head(const struct sr__otlp_enc *e, char *p, uint64_t rs)
{
	p = pb_hdr(p, PB_TAG_LEN1, rs);         /* request.resource_spans */
	p = pb_hdr(p, PB_TAG_LEN1, e->resource.len); /* .resource        */
	memcpy(p, e->resource.data, e->resource.len);
	return p + e->resource.len;
}

static char *pb_put_group_head(const struct sr__otlp_enc *e, char *p,
			       const struct sr__otlp_group *g)
{
	p = pb_hdr(p, PB_TAG_LEN2, pb_ss_len(g)); /* .scope_spans        */
	p = pb_hdr(p, PB_TAG_LEN1, g->scope_len); /* ScopeSpans.scope     */
	memcpy(p, e->scopes.data + g->scope_off, g->scope_len);
	return p + g->scope_len;
}

static size_t pb_head_size(const struct sr__otlp_enc *e, uint64_t rs)
{
	return pb_hdr_size(rs) + pb_hdr_size(e->resource.len) + e->resource.len;
}

static size_t pb_group_head_size(const struct sr__otlp_group *g)
{
	return pb_hdr_size(pb_ss_len(g)) + pb_hdr_size(g->scope_len) + g->scope_len;
}

/* ---- JSON framing ------------------------------------------------------- */

#define LIT(s) s, sizeof(s) - 1
static const char J_HEAD[] = "{\"resourceSpans\":[{\"resource\":";
static const char J_SCOPES[] = ",\"scopeSpans\":[";
static const char J_SCOPE[] = "{\"scope\":";
static const char J_SPANS[] = ",\"spans\":[";
static const char J_GROUP_END[] = "]}";
static const char J_TAIL[] = "]}]}";

static inline char *put(char *p, const void *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

static size_t json_group_size(const struct sr__otlp_group *g)
{
	return sizeof(J_SCOPE) - 1 + g->scope_len + sizeof(J_SPANS) - 1 +
	       g->span_bytes + (g->spans ? g->spans - 1 : 0) +
	       sizeof(J_GROUP_END) - 1;
}

static char *json_put_head(const struct sr__otlp_enc *e, char *p)
{
	p = put(p, LIT(J_HEAD));
	p = put(p, e->resource.data, e->resource.len);
	return put(p, LIT(J_SCOPES));
}

static char *json_put_group_head(const struct sr__otlp_enc *e, char *p,
				 const struct sr__otlp_group *g)
{
	p = put(p, LIT(J_SCOPE));
	p = put(p, e->scopes.data + g->scope_off, g->scope_len);
	return put(p, LIT(J_SPANS));
}

/* ---- finish -------------------------------------------------------------- */

static int finish_one_group(struct sr__otlp_enc *e, const char **body,
			    size_t *len)
{
	const struct sr__otlp_group *g = &e->groups[0];
	size_t head;
	char *p;

	if (e->format == SR__OTLP_PROTOBUF) {
		uint64_t rs = pb_rs_len(e);
		head = pb_head_size(e, rs) + pb_group_head_size(g);
		p = e->area.data + e->headroom - head;
		p = pb_put_head(e, p, rs);
		pb_put_group_head(e, p, g);
	} else {
		head = sizeof(J_HEAD) - 1 + e->resource.len + sizeof(J_SCOPES) - 1 +
		       sizeof(J_SCOPE) - 1 + g->scope_len + sizeof(J_SPANS) - 1;
		if (sr__buf_reserve(&e->area, sizeof(J_GROUP_END) + sizeof(J_TAIL)))
			return e->err = SR_ENOMEM;
		p = e->area.data + e->headroom - head;
		p = json_put_head(e, p);
		json_put_group_head(e, p, g);
		sr__buf_put(&e->area, LIT(J_GROUP_END));
		sr__buf_put(&e->area, LIT(J_TAIL));
	}
	/* The prefix bounds (sr__otlp_*_prefix_max) guarantee the fit. */
	*body = e->area.data + e->headroom - head;
	*len = e->area.len - (e->headroom - head);
	return 0;
}

static int finish_groups(struct sr__otlp_enc *e, const char **body,
			 size_t *len)
{
	const struct sr__otlp_ref *refs = (const void *)e->refs.data;
	struct sr__buf *o = &e->out;
	uint64_t total, rs = 0;
	char *p;

	if (e->format == SR__OTLP_PROTOBUF) {
		rs = pb_rs_len(e);
		total = pb_hdr_size(rs) + rs;
	} else {
		total = sizeof(J_HEAD) - 1 + e->resource.len + sizeof(J_SCOPES) - 1 +
			(e->ngroups - 1) + sizeof(J_TAIL) - 1;
		for (uint32_t g = 0; g < e->ngroups; g++)
			total += json_group_size(&e->groups[g]);
	}
	o->len = 0;
	if (total > SIZE_MAX / 2 || sr__buf_reserve(o, total))
		return e->err = SR_ENOMEM;

	/* Lay out each group's header and reserve its span bytes; `cursor`
	 * (reusing span_bytes) then tracks where its next span goes. */
	p = o->data;
	p = e->format == SR__OTLP_PROTOBUF ? pb_put_head(e, p, rs)
					   : json_put_head(e, p);
	for (uint32_t gi = 0; gi < e->ngroups; gi++) {
		struct sr__otlp_group *g = &e->groups[gi];
		uint64_t body_len = g->span_bytes;

		if (e->format == SR__OTLP_PROTOBUF) {
			p = pb_put_group_head(e, p, g);
		} else {
			if (gi)
				*p++ = ',';
			p = json_put_group_head(e, p, g);
			body_len += g->spans - 1;
		}
		g->span_bytes = (uint64_t)(p - o->data); /* cursor */
		g->spans = 0;                            /* placed so far */
		p += body_len;
		if (e->format == SR__OTLP_JSON)
			p = put(p, LIT(J_GROUP_END));
	}
	if (e->format == SR__OTLP_JSON)
		p = put(p, LIT(J_TAIL));

	for (size_t i = 0; i < e->nspans; i++) {
		struct sr__otlp_group *g = &e->groups[refs[i].group];
		char *d = o->data + g->span_bytes;
		if (e->format == SR__OTLP_JSON && g->spans)
			*d++ = ',';
		memcpy(d, e->area.data + refs[i].off, refs[i].len);
		g->span_bytes = (uint64_t)(d + refs[i].len - o->data);
		g->spans++;
	}
	o->len = (size_t)(p - o->data);
	*body = o->data;
	*len = o->len;
	return 0;
}

int sr__otlp_enc_finish(struct sr__otlp_enc *e, const char **body,
			size_t *len)
{
	if (e->err)
		return e->err;
	if (e->nspans == 0) {
		/* An empty request: zero bytes in protobuf, {} in JSON. */
		*body = e->format == SR__OTLP_PROTOBUF ? "" : "{}";
		*len = e->format == SR__OTLP_PROTOBUF ? 0 : 2;
		return 0;
	}
	if (e->ngroups == 1)
		return finish_one_group(e, body, len);
	return finish_groups(e, body, len);
}

int sr__otlp_encode(struct sr__otlp_enc *e, const sr_attr_view_t *res,
		    uint32_t nres, const sr_span_data_t *spans, size_t n,
		    const char **body, size_t *len)
{
	int rc = sr__otlp_enc_begin(e, res, nres);

	for (size_t i = 0; !rc && i < n; i++)
		rc = sr__otlp_enc_add(e, &spans[i]);
	return rc ? rc : sr__otlp_enc_finish(e, body, len);
}

int sr__otlp_parse_response(enum sr__otlp_format f, const char *body,
			    size_t len, uint64_t *rejected, char *msg,
			    size_t msg_len)
{
	*rejected = 0;
	if (msg && msg_len)
		msg[0] = '\0';
	return f == SR__OTLP_PROTOBUF
		       ? sr__otlp_pb_parse_response(body, len, rejected, msg, msg_len)
		       : sr__otlp_json_parse_response(body, len, rejected, msg,
						      msg_len);
}
