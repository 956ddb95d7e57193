/*
 * ngx_http_spanring.h - what the files of ngx_http_spanring_module share.
 *
 * The module traces nginx with spanring, configured with the directives
 * of the official OpenTelemetry module (ngx_otel_module) so that a user
 * switches by changing load_module.  Its files, one job each:
 *   ngx_http_spanring_module.c  the module table, request context, phase
 *                               handlers and the server span's attributes
 *   ngx_http_spanring_conf.c    directives: parsing and validation (the
 *                               master, at nginx -t and at reload)
 *   ngx_http_spanring_worker.c  each worker's pipeline: sr_init after the
 *                               fork, sr_shutdown with a deadline at exit
 *   ngx_http_spanring_vars.c    $otel_* variables and trace context
 *                               extraction and injection
 *
 * Process model: the master only parses configuration (it never starts
 * spanring's threads, so forking it stays safe); every worker runs its
 * own pipeline.  On the request path the module calls nothing but
 * spanring's hot path: no lock, no syscall, no export.
 */
#ifndef NGX_HTTP_SPANRING_H
#define NGX_HTTP_SPANRING_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <spanring/spanring.h>

/* otel_trace_context, as bits. */
#define NGX_HTTP_SPANRING_EXTRACT 1
#define NGX_HTTP_SPANRING_INJECT 2

/* otel_trace when its value needs no request: the common case, decided
 * at configuration time so an untraced location costs one compare. */
#define NGX_HTTP_SPANRING_TRACE_OFF 0
#define NGX_HTTP_SPANRING_TRACE_ON 1
#define NGX_HTTP_SPANRING_TRACE_VAR 2

typedef struct {
	/* otel_exporter { ... } */
	ngx_flag_t exporter;          /* the block was given                */
	ngx_str_t endpoint;           /* an OTLP/HTTP URL, validated         */
	ngx_flag_t endpoint_is_full;  /* has a path: used as the traces URL  */
	ngx_flag_t endpoint_grpc;     /* host:port given: OTLP/gRPC, endpoint
	                                 holds it as http://host:port        */
	ngx_msec_t interval;          /* -> schedule_delay_ms                */
	size_t batch_size;            /* -> max_export_batch_size            */
	size_t batch_count;           /* x batch_size -> max_queue_size      */
	ngx_str_t headers;            /* OTEL_EXPORTER_OTLP_HEADERS form      */
	ngx_str_t trusted_certificate;/* full path, readable at parse time   */

	ngx_str_t service_name;       /* otel_service_name                   */
	ngx_str_t resource_attrs;     /* otel_resource_attr, "k=v,..." encoded */
	ngx_str_t exporters;          /* spanring_exporter "a,b"             */
	ngx_msec_t shutdown_timeout;  /* spanring_shutdown_timeout           */

	/* Some location may trace or handle trace context: only then does a
	 * worker start a pipeline and do the phase handlers exist. */
	ngx_flag_t used;

	sr_propagator_t *propagator;  /* W3C trace context                  */
	const sr_tracer_t *tracer;
} ngx_http_spanring_main_conf_t;

/* otel_span_attr: the key is static (configuration memory lives as long
 * as the worker, which shuts its pipeline down before exiting). */
typedef struct {
	const char *key;
	ngx_http_complex_value_t value;
} ngx_http_spanring_attr_t;

typedef struct {
	ngx_uint_t trace;                 /* NGX_HTTP_SPANRING_TRACE_*      */
	ngx_http_complex_value_t *trace_cv; /* the variable form            */
	ngx_uint_t context;               /* NGX_HTTP_SPANRING_EXTRACT|..   */
	ngx_http_complex_value_t *span_name;
	ngx_array_t *span_attrs;          /* ngx_http_spanring_attr_t       */
} ngx_http_spanring_loc_conf_t;

/*
 * Per request (the main request only).  Found through a cleanup of the
 * request pool, so that it survives the internal redirects that clear
 * r->ctx, and so that a span never ended by the log phase is still ended
 * when the pool goes.  The memory itself is recycled by the worker (see
 * ngx_http_spanring_get_ctx), not taken from the pool.
 */
typedef struct {
	sr_span_t span;             /* first: sr_span_t wants 64-byte alignment */
	sr_context_t parent;        /* extracted; zeroed when none              */
	sr_context_t self;          /* the span's context (or, untraced, one
	                               made for propagation); read it through
	                               ngx_http_spanring_self()                 */
	unsigned extracted:1;       /* parent is final                          */
	unsigned started:1;         /* self is final                            */
	unsigned starting:1;        /* guards otel_trace's own variable         */
	unsigned traced:1;          /* span was started and must be ended       */
	unsigned self_known:1;      /* self is filled in                        */
	unsigned has_parent:1;      /* parent holds a valid extracted context   */
	unsigned injected:1;
	unsigned ended:1;
	void *next_free;            /* on the worker's free list                */
} ngx_http_spanring_ctx_t;

/* The trace-context headers of the request, found by one pass over its
 * headers (ngx_http_spanring_scan).  Lives on the stack of one handler
 * call: another module may change the headers between two calls. */
#define NGX_HTTP_SPANRING_KNOWN 2   /* traceparent, tracestate */
typedef struct {
	ngx_http_request_t *r;
	ngx_table_elt_t *h[NGX_HTTP_SPANRING_KNOWN]; /* first line, or NULL  */
	unsigned many:NGX_HTTP_SPANRING_KNOWN;        /* bit k: h[k] repeats */
	unsigned scanned:1;         /* the rest is filled in                    */
} ngx_http_spanring_hdrs_t;

extern ngx_module_t ngx_http_spanring_module;
extern ngx_command_t ngx_http_spanring_commands[];

/* conf.c */
void *ngx_http_spanring_create_main_conf(ngx_conf_t *cf);
char *ngx_http_spanring_init_main_conf(ngx_conf_t *cf, void *conf);
void *ngx_http_spanring_create_loc_conf(ngx_conf_t *cf);
char *ngx_http_spanring_merge_loc_conf(ngx_conf_t *cf, void *parent,
				       void *child);

/* worker.c */
ngx_int_t ngx_http_spanring_init_process(ngx_cycle_t *cycle);
void ngx_http_spanring_exit_process(ngx_cycle_t *cycle);
/* Ids for a context that is propagated but not traced. */
void ngx_http_spanring_random_ids(uint8_t *out, size_t n);

/* module.c */
/* One more slab of request contexts on the worker's free list. */
ngx_int_t ngx_http_spanring_ctx_grow(ngx_log_t *log);
ngx_http_spanring_ctx_t *ngx_http_spanring_get_ctx(ngx_http_request_t *r,
						   ngx_flag_t create);
/* Decide the request's context (and start its span if it is traced);
 * NGX_ERROR only when out of memory. */
ngx_int_t ngx_http_spanring_start(ngx_http_request_t *r,
				  ngx_http_spanring_ctx_t *ctx,
				  uint64_t start_ns, ngx_http_spanring_hdrs_t *hd);

/* The request's own context; only asked for when propagated or read
 * through a variable. */
const sr_context_t *ngx_http_spanring_self(ngx_http_spanring_ctx_t *ctx);

/* vars.c */
ngx_int_t ngx_http_spanring_add_variables(ngx_conf_t *cf);
/* hd: scanned here if it is not yet (hd->scanned == 0). */
void ngx_http_spanring_scan(ngx_http_request_t *r, ngx_http_spanring_hdrs_t *hd);
void ngx_http_spanring_extract(ngx_http_request_t *r,
			       ngx_http_spanring_ctx_t *ctx,
			       ngx_http_spanring_hdrs_t *hd);
ngx_int_t ngx_http_spanring_inject(ngx_http_request_t *r,
				   ngx_http_spanring_ctx_t *ctx,
				   ngx_http_spanring_hdrs_t *hd);

#endif /* NGX_HTTP_SPANRING_H */
