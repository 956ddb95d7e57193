/*
 * ngx_http_spanring_conf.c - the directives, parsed and checked in the
 * master (nginx -t, start, reload).
 *
 * ngx_otel_module's directives keep their syntax and meaning; what cannot
 * be honoured is refused here, by name, rather than half-done at run
 * time: an unreadable `trusted_certificate`, an unknown exporter or an
 * unreadable plugin in `spanring_exporter`.
 * Errors read like nginx's own: the directive is named, then the value.
 */
#include <unistd.h>

#include "ngx_http_spanring.h"

static char *ngx_http_spanring_exporter_block(ngx_conf_t *cf,
					      ngx_command_t *cmd, void *conf);
static char *ngx_http_spanring_resource_attr(ngx_conf_t *cf,
					     ngx_command_t *cmd, void *conf);
static char *ngx_http_spanring_set_trace(ngx_conf_t *cf, ngx_command_t *cmd,
					 void *conf);
static char *ngx_http_spanring_set_context(ngx_conf_t *cf, ngx_command_t *cmd,
					   void *conf);
static char *ngx_http_spanring_span_attr(ngx_conf_t *cf, ngx_command_t *cmd,
					 void *conf);
static char *ngx_http_spanring_set_exporters(ngx_conf_t *cf,
					     ngx_command_t *cmd, void *conf);

ngx_command_t ngx_http_spanring_commands[] = {
	{ ngx_string("otel_exporter"),
	  NGX_HTTP_MAIN_CONF | NGX_CONF_BLOCK | NGX_CONF_NOARGS,
	  ngx_http_spanring_exporter_block, NGX_HTTP_MAIN_CONF_OFFSET, 0,
	  NULL },
	{ ngx_string("otel_service_name"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
	  ngx_conf_set_str_slot, NGX_HTTP_MAIN_CONF_OFFSET,
	  offsetof(ngx_http_spanring_main_conf_t, service_name), NULL },
	{ ngx_string("otel_resource_attr"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE2,
	  ngx_http_spanring_resource_attr, NGX_HTTP_MAIN_CONF_OFFSET, 0, NULL },
	{ ngx_string("otel_trace"),
	  NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF |
		  NGX_CONF_TAKE1,
	  ngx_http_spanring_set_trace, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },
	{ ngx_string("otel_trace_context"),
	  NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF |
		  NGX_CONF_TAKE1,
	  ngx_http_spanring_set_context, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },
	{ ngx_string("otel_span_name"),
	  NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF |
		  NGX_CONF_TAKE1,
	  ngx_http_set_complex_value_slot, NGX_HTTP_LOC_CONF_OFFSET,
	  offsetof(ngx_http_spanring_loc_conf_t, span_name), NULL },
	{ ngx_string("otel_span_attr"),
	  NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF |
		  NGX_CONF_TAKE2,
	  ngx_http_spanring_span_attr, NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },
	{ ngx_string("spanring_exporter"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1,
	  ngx_http_spanring_set_exporters, NGX_HTTP_MAIN_CONF_OFFSET, 0, NULL },
	{ ngx_string("spanring_shutdown_timeout"),
	  NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_msec_slot,
	  NGX_HTTP_MAIN_CONF_OFFSET,
	  offsetof(ngx_http_spanring_main_conf_t, shutdown_timeout), NULL },
	ngx_null_command
};

/* ---- otel_exporter { ... } ---------------------------------------------- */

static char *ngx_http_spanring_endpoint(ngx_conf_t *cf, ngx_command_t *cmd,
					void *conf);
static char *ngx_http_spanring_exporter_header(ngx_conf_t *cf,
					       ngx_command_t *cmd, void *conf);
static char *ngx_http_spanring_trusted_cert(ngx_conf_t *cf,
					    ngx_command_t *cmd, void *conf);
static char *ngx_http_spanring_positive_size(ngx_conf_t *cf,
					     ngx_command_t *cmd, void *conf);

static ngx_command_t ngx_http_spanring_exporter_commands[] = {
	{ ngx_string("endpoint"), NGX_CONF_TAKE1, ngx_http_spanring_endpoint,
	  0, 0, NULL },
	{ ngx_string("interval"), NGX_CONF_TAKE1, ngx_conf_set_msec_slot, 0,
	  offsetof(ngx_http_spanring_main_conf_t, interval), NULL },
	{ ngx_string("batch_size"), NGX_CONF_TAKE1,
	  ngx_http_spanring_positive_size, 0,
	  offsetof(ngx_http_spanring_main_conf_t, batch_size), NULL },
	{ ngx_string("batch_count"), NGX_CONF_TAKE1,
	  ngx_http_spanring_positive_size, 0,
	  offsetof(ngx_http_spanring_main_conf_t, batch_count), NULL },
	{ ngx_string("header"), NGX_CONF_TAKE2,
	  ngx_http_spanring_exporter_header, 0, 0, NULL },
	{ ngx_string("trusted_certificate"), NGX_CONF_TAKE1,
	  ngx_http_spanring_trusted_cert, 0, 0, NULL },
	ngx_null_command
};

/* One directive inside the block: the same checks and messages as
 * nginx's own directives get, with the block named. */
static char *ngx_http_spanring_exporter_directive(ngx_conf_t *cf,
						  ngx_command_t *dummy,
						  void *conf)
{
	ngx_str_t *name = cf->args->elts;
	ngx_command_t *cmd;
	ngx_uint_t argc = cf->args->nelts - 1;
	char *rv;

	for (cmd = ngx_http_spanring_exporter_commands; cmd->name.len; cmd++) {
		if (name->len != cmd->name.len ||
		    ngx_strncmp(name->data, cmd->name.data, name->len) != 0)
			continue;
		if ((cmd->type & NGX_CONF_TAKE2) ? argc != 2 : argc != 1) {
			ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
					   "invalid number of arguments in "
					   "\"%V\" directive of \"otel_exporter\"",
					   name);
			return NGX_CONF_ERROR;
		}
		rv = cmd->set(cf, cmd, cf->handler_conf);
		if (rv == NGX_CONF_OK)
			return rv;
		if (rv != NGX_CONF_ERROR)
			ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
					   "\"%V\" directive of \"otel_exporter\" %s",
					   name, rv);
		return NGX_CONF_ERROR;
	}
	ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
			   "unknown directive \"%V\" in \"otel_exporter\"", name);
	return NGX_CONF_ERROR;
}

static char *ngx_http_spanring_exporter_block(ngx_conf_t *cf,
					      ngx_command_t *cmd, void *conf)
{
	ngx_http_spanring_main_conf_t *mcf = conf;
	ngx_conf_t save;
	char *rv;

	if (mcf->exporter)
		return "is duplicate";
	mcf->exporter = 1;
	save = *cf;
	cf->handler = ngx_http_spanring_exporter_directive;
	cf->handler_conf = conf;
	rv = ngx_conf_parse(cf, NULL);
	*cf = save;
	if (rv != NGX_CONF_OK)
		return rv;
	if (mcf->endpoint.len == 0) {
		ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
				   "\"otel_exporter\" requires \"endpoint\"");
		return NGX_CONF_ERROR;
	}
	return NGX_CONF_OK;
}

/*
 * The endpoint, in either form:
 *   http(s)://host[:port][/path]  OTLP/HTTP.  Without a path (or "/") the
 *                                 base URL, /v1/traces appended; with one
 *                                 the traces URL as is.
 *   host:port                     OTLP/gRPC in cleartext (h2c), as
 *                                 ngx_otel_module reads this form.
 */
static char *ngx_http_spanring_endpoint(ngx_conf_t *cf, ngx_command_t *cmd,
					void *conf)
{
	ngx_http_spanring_main_conf_t *mcf = conf;
	ngx_str_t *value = cf->args->elts;
	ngx_str_t url = value[1];
	u_char *p, *end, *host, *colon = NULL;
	ngx_int_t port;
	ngx_flag_t grpc = 0;

	if (mcf->endpoint.len)
		return "is duplicate";
	p = url.data;
	end = url.data + url.len;
	if (url.len > 7 && ngx_strncasecmp(p, (u_char *)"http://", 7) == 0)
		p += 7;
	else if (url.len > 8 && ngx_strncasecmp(p, (u_char *)"https://", 8) == 0)
		p += 8;
	else if (ngx_strlchr(url.data, end, '/') == NULL &&
		 ngx_strlchr(url.data, end, ':') != NULL)
		grpc = 1;
	else
		return "must be an OTLP/HTTP URL (\"http://host:port\" or "
		       "\"https://host:port\") or an OTLP/gRPC \"host:port\"";
	host = p;
	while (p < end && *p != '/') {
		if (*p == ':')
			colon = p;
		else if (*p == ']')
			colon = NULL; /* an IPv6 literal's colons */
		p++;
	}
	if ((colon ? colon : p) == host)
		return "has no host";
	if (colon || grpc) {
		port = colon ? ngx_atoi(colon + 1, (size_t)(p - colon - 1))
			     : NGX_ERROR;
		if (port < 1 || port > 65535)
			return "has an invalid port";
	}
	if (grpc) {
		/* The OTLP exporter takes a gRPC server as a URL too; the
		 * scheme says cleartext. */
		mcf->endpoint.len = sizeof("http://") - 1 + url.len;
		mcf->endpoint.data = ngx_pnalloc(cf->pool, mcf->endpoint.len);
		if (mcf->endpoint.data == NULL)
			return NGX_CONF_ERROR;
		ngx_memcpy(ngx_cpymem(mcf->endpoint.data, "http://",
				      sizeof("http://") - 1),
			   url.data, url.len);
		mcf->endpoint_grpc = 1;
		return NGX_CONF_OK;
	}
	mcf->endpoint = url;
	mcf->endpoint_is_full = (end - p) > 1;
	return NGX_CONF_OK;
}

static char *ngx_http_spanring_positive_size(ngx_conf_t *cf,
					     ngx_command_t *cmd, void *conf)
{
	size_t *sp = (size_t *)((char *)conf + cmd->offset);
	ngx_str_t *value = cf->args->elts;
	ssize_t n;

	n = ngx_parse_size(&value[1]);
	if (n <= 0 || n > 1000000)
		return "must be a number from 1 to 1000000";
	*sp = (size_t)n;
	return NGX_CONF_OK;
}

/* Percent-encode everything but unreserved characters: the form the
 * OTEL_* key=value lists decode. */
static u_char *ngx_http_spanring_pct(u_char *dst, ngx_str_t *s)
{
	static const u_char hex[] = "0123456789ABCDEF";
	ngx_uint_t i;
	u_char c;

	for (i = 0; i < s->len; i++) {
		c = s->data[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			*dst++ = c;
		} else {
			*dst++ = '%';
			*dst++ = hex[c >> 4];
			*dst++ = hex[c & 0xf];
		}
	}
	return dst;
}

/* Append "key=pct(value)" to a comma-separated list. */
static ngx_int_t ngx_http_spanring_list_add(ngx_conf_t *cf, ngx_str_t *list,
					    ngx_str_t *key, ngx_str_t *value)
{
	size_t len = list->len + 1 + key->len + 1 + 3 * value->len + 1;
	u_char *buf, *p;

	buf = ngx_pnalloc(cf->pool, len);
	if (buf == NULL)
		return NGX_ERROR;
	p = buf;
	if (list->len) {
		p = ngx_cpymem(p, list->data, list->len);
		*p++ = ',';
	}
	p = ngx_cpymem(p, key->data, key->len);
	*p++ = '=';
	p = ngx_http_spanring_pct(p, value);
	*p = '\0';
	list->data = buf;
	list->len = (size_t)(p - buf);
	return NGX_OK;
}

/* RFC 9110 token characters. */
static ngx_flag_t ngx_http_spanring_is_token(ngx_str_t *s)
{
	ngx_uint_t i;
	u_char c;

	if (s->len == 0)
		return 0;
	for (i = 0; i < s->len; i++) {
		c = s->data[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') ||
		      ngx_strlchr((u_char *)"!#$%&'*+-.^_`|~",
				  (u_char *)"!#$%&'*+-.^_`|~" + 15, c)))
			return 0;
	}
	return 1;
}

static char *ngx_http_spanring_exporter_header(ngx_conf_t *cf,
					       ngx_command_t *cmd, void *conf)
{
	ngx_http_spanring_main_conf_t *mcf = conf;
	ngx_str_t *value = cf->args->elts;
	ngx_uint_t i;

	if (!ngx_http_spanring_is_token(&value[1]))
		return "has an invalid header name";
	for (i = 0; i < value[2].len; i++) {
		if (value[2].data[i] == '\r' || value[2].data[i] == '\n' ||
		    value[2].data[i] == '\0')
			return "has an invalid header value";
	}
	if (ngx_http_spanring_list_add(cf, &mcf->headers, &value[1],
				       &value[2]) != NGX_OK)
		return NGX_CONF_ERROR;
	return NGX_CONF_OK;
}

static char *ngx_http_spanring_trusted_cert(ngx_conf_t *cf,
					    ngx_command_t *cmd, void *conf)
{
	ngx_http_spanring_main_conf_t *mcf = conf;
	ngx_str_t *value = cf->args->elts;
	ngx_str_t path = value[1];
	ngx_fd_t fd;

	if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK)
		return NGX_CONF_ERROR;
	/* Read by the exporter in each worker; checked here so that a
	 * wrong path fails nginx -t. */
	fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
	if (fd == NGX_INVALID_FILE) {
		ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
				   "\"trusted_certificate\" directive of "
				   "\"otel_exporter\": cannot read \"%V\"",
				   &path);
		return NGX_CONF_ERROR;
	}
	ngx_close_file(fd);
	mcf->trusted_certificate = path;
	return NGX_CONF_OK;
}

/* ---- main level ---------------------------------------------------------- */

static char *ngx_http_spanring_resource_attr(ngx_conf_t *cf,
					     ngx_command_t *cmd, void *conf)
{
	ngx_http_spanring_main_conf_t *mcf = conf;
	ngx_str_t *value = cf->args->elts;

	if (value[1].len == 0 ||
	    ngx_strlchr(value[1].data, value[1].data + value[1].len, ',') ||
	    ngx_strlchr(value[1].data, value[1].data + value[1].len, '=')) {
		ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
				   "invalid attribute name \"%V\" in "
				   "\"otel_resource_attr\" directive",
				   &value[1]);
		return NGX_CONF_ERROR;
	}
	if (ngx_http_spanring_list_add(cf, &mcf->resource_attrs, &value[1],
				       &value[2]) != NGX_OK)
		return NGX_CONF_ERROR;
	return NGX_CONF_OK;
}

/* Exporter names spanring builds in; others can only be registered by an
 * application, which nginx is not. */
static const char *const ngx_http_spanring_exporter_names[] = {
	"none", "console", "memory", "otlp", "zipkin", "file", "chrome", NULL
};

static char *ngx_http_spanring_set_exporters(ngx_conf_t *cf,
					     ngx_command_t *cmd, void *conf)
{
	ngx_http_spanring_main_conf_t *mcf = conf;
	ngx_str_t *value = cf->args->elts;
	u_char *p, *end, *next, *s, *e;
	const char *const *n;
	ngx_str_t name;

	if (mcf->exporters.data)
		return "is duplicate";
	p = value[1].data;
	end = p + value[1].len;
	for (; p <= end; p = next + 1) {
		next = ngx_strlchr(p, end, ',');
		if (next == NULL)
			next = end;
		for (s = p; s < next && *s == ' '; s++)
			;
		for (e = next; e > s && e[-1] == ' '; e--)
			;
		name.data = s;
		name.len = (size_t)(e - s);
		if (name.len > 7 && ngx_strncmp(s, "plugin:", 7) == 0) {
			/* loaded by each worker's sr_init: must be readable */
			u_char *path = ngx_pnalloc(cf->pool, name.len - 7 + 1);

			if (path == NULL)
				return NGX_CONF_ERROR;
			*ngx_cpymem(path, s + 7, name.len - 7) = '\0';
			if (access((char *)path, R_OK) != 0) {
				ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
						   "\"spanring_exporter\" directive: "
						   "cannot read plugin \"%s\"",
						   path);
				return NGX_CONF_ERROR;
			}
			continue;
		}
		for (n = ngx_http_spanring_exporter_names; *n; n++) {
			if (ngx_strlen(*n) == name.len &&
			    ngx_strncmp(*n, s, name.len) == 0)
				break;
		}
		if (*n == NULL) {
			ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
					   "unknown exporter \"%V\" in "
					   "\"spanring_exporter\" directive, it "
					   "must be none, console, memory, otlp, "
					   "zipkin, file, chrome or plugin:<path>",
					   &name);
			return NGX_CONF_ERROR;
		}
	}
	mcf->exporters = value[1];
	return NGX_CONF_OK;
}

static void ngx_http_spanring_destroy_propagator(void *data)
{
	sr_propagator_destroy(data);
}

void *ngx_http_spanring_create_main_conf(ngx_conf_t *cf)
{
	ngx_http_spanring_main_conf_t *mcf;

	mcf = ngx_pcalloc(cf->pool, sizeof(*mcf));
	if (mcf == NULL)
		return NULL;
	mcf->interval = NGX_CONF_UNSET_MSEC;
	mcf->batch_size = NGX_CONF_UNSET_SIZE;
	mcf->batch_count = NGX_CONF_UNSET_SIZE;
	mcf->shutdown_timeout = NGX_CONF_UNSET_MSEC;
	return mcf;
}

char *ngx_http_spanring_init_main_conf(ngx_conf_t *cf, void *conf)
{
	ngx_http_spanring_main_conf_t *mcf = conf;
	ngx_pool_cleanup_t *cln;

	ngx_conf_init_msec_value(mcf->interval, 5000);
	ngx_conf_init_size_value(mcf->batch_size, 512);
	ngx_conf_init_size_value(mcf->batch_count, 4);
	ngx_conf_init_msec_value(mcf->shutdown_timeout, 5000);
	if (mcf->service_name.data && mcf->service_name.len == 0)
		return "\"otel_service_name\" must not be empty";

	/* W3C trace context, the one format ngx_otel_module speaks. */
	cln = ngx_pool_cleanup_add(cf->pool, 0);
	if (cln == NULL)
		return NGX_CONF_ERROR;
	if (sr_propagator_create("tracecontext", &mcf->propagator) != 0) {
		ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
				   "spanring: cannot create the trace context "
				   "propagator: %s", sr_last_error());
		return NGX_CONF_ERROR;
	}
	cln->handler = ngx_http_spanring_destroy_propagator;
	cln->data = mcf->propagator;
	mcf->tracer = sr_tracer_get("nginx", NGINX_VERSION);
	return NGX_CONF_OK;
}

/* ---- location level ------------------------------------------------------ */

static char *ngx_http_spanring_set_trace(ngx_conf_t *cf, ngx_command_t *cmd,
					 void *conf)
{
	ngx_http_spanring_loc_conf_t *lcf = conf;
	ngx_http_spanring_main_conf_t *mcf;
	ngx_http_compile_complex_value_t ccv;
	ngx_str_t *value = cf->args->elts;

	if (lcf->trace != NGX_CONF_UNSET_UINT)
		return "is duplicate";
	mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_spanring_module);
	if (ngx_http_script_variables_count(&value[1]) == 0) {
		if (ngx_strcmp(value[1].data, "on") == 0 ||
		    ngx_strcmp(value[1].data, "1") == 0) {
			lcf->trace = NGX_HTTP_SPANRING_TRACE_ON;
			mcf->used = 1;
		} else if (ngx_strcmp(value[1].data, "off") == 0 ||
			   ngx_strcmp(value[1].data, "0") == 0) {
			lcf->trace = NGX_HTTP_SPANRING_TRACE_OFF;
		} else {
			ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
					   "invalid value \"%V\" in \"otel_trace\" "
					   "directive, it must be \"on\", \"off\" "
					   "or a variable", &value[1]);
			return NGX_CONF_ERROR;
		}
		return NGX_CONF_OK;
	}
	lcf->trace_cv = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
	if (lcf->trace_cv == NULL)
		return NGX_CONF_ERROR;
	ngx_memzero(&ccv, sizeof(ccv));
	ccv.cf = cf;
	ccv.value = &value[1];
	ccv.complex_value = lcf->trace_cv;
	if (ngx_http_compile_complex_value(&ccv) != NGX_OK)
		return NGX_CONF_ERROR;
	lcf->trace = NGX_HTTP_SPANRING_TRACE_VAR;
	mcf->used = 1;
	return NGX_CONF_OK;
}

static char *ngx_http_spanring_set_context(ngx_conf_t *cf, ngx_command_t *cmd,
					   void *conf)
{
	static const struct {
		const char *name;
		ngx_uint_t bits;
	} modes[] = {
		{ "ignore", 0 },
		{ "extract", NGX_HTTP_SPANRING_EXTRACT },
		{ "inject", NGX_HTTP_SPANRING_INJECT },
		{ "propagate", NGX_HTTP_SPANRING_EXTRACT | NGX_HTTP_SPANRING_INJECT },
	};
	ngx_http_spanring_loc_conf_t *lcf = conf;
	ngx_http_spanring_main_conf_t *mcf;
	ngx_str_t *value = cf->args->elts;
	ngx_uint_t i;

	if (lcf->context != NGX_CONF_UNSET_UINT)
		return "is duplicate";
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (ngx_strcmp(value[1].data, modes[i].name) == 0) {
			lcf->context = modes[i].bits;
			if (lcf->context) {
				mcf = ngx_http_conf_get_module_main_conf(
					cf, ngx_http_spanring_module);
				mcf->used = 1;
			}
			return NGX_CONF_OK;
		}
	}
	ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
			   "invalid value \"%V\" in \"otel_trace_context\" "
			   "directive, it must be \"extract\", \"inject\", "
			   "\"propagate\" or \"ignore\"", &value[1]);
	return NGX_CONF_ERROR;
}

static char *ngx_http_spanring_span_attr(ngx_conf_t *cf, ngx_command_t *cmd,
					 void *conf)
{
	ngx_http_spanring_loc_conf_t *lcf = conf;
	ngx_http_compile_complex_value_t ccv;
	ngx_str_t *value = cf->args->elts;
	ngx_http_spanring_attr_t *a;

	if (value[1].len == 0) {
		ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
				   "empty attribute name in \"otel_span_attr\" "
				   "directive");
		return NGX_CONF_ERROR;
	}
	if (lcf->span_attrs == NULL) {
		lcf->span_attrs = ngx_array_create(cf->pool, 4, sizeof(*a));
		if (lcf->span_attrs == NULL)
			return NGX_CONF_ERROR;
	}
	a = ngx_array_push(lcf->span_attrs);
	if (a == NULL)
		return NGX_CONF_ERROR;
	/* Configuration tokens are NUL-terminated and live as long as the
	 * worker: a static key for spanring. */
	a->key = (const char *)value[1].data;
	ngx_memzero(&ccv, sizeof(ccv));
	ccv.cf = cf;
	ccv.value = &value[2];
	ccv.complex_value = &a->value;
	if (ngx_http_compile_complex_value(&ccv) != NGX_OK)
		return NGX_CONF_ERROR;
	return NGX_CONF_OK;
}

void *ngx_http_spanring_create_loc_conf(ngx_conf_t *cf)
{
	ngx_http_spanring_loc_conf_t *lcf;

	lcf = ngx_pcalloc(cf->pool, sizeof(*lcf));
	if (lcf == NULL)
		return NULL;
	lcf->trace = NGX_CONF_UNSET_UINT;
	lcf->context = NGX_CONF_UNSET_UINT;
	return lcf;
}

char *ngx_http_spanring_merge_loc_conf(ngx_conf_t *cf, void *parent,
				       void *child)
{
	ngx_http_spanring_loc_conf_t *prev = parent, *conf = child;

	if (conf->trace == NGX_CONF_UNSET_UINT) {
		conf->trace = prev->trace == NGX_CONF_UNSET_UINT
				      ? NGX_HTTP_SPANRING_TRACE_OFF
				      : prev->trace;
		conf->trace_cv = prev->trace_cv;
	}
	ngx_conf_merge_uint_value(conf->context, prev->context, 0);
	if (conf->span_name == NULL)
		conf->span_name = prev->span_name;
	if (conf->span_attrs == NULL)
		conf->span_attrs = prev->span_attrs;
	return NGX_CONF_OK;
}
