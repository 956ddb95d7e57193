/*
 * w3c_flow.h - what a traced service does with one request, written once
 * for the W3C test service (w3c_service.c, driven over HTTP by the
 * official trace-context test suite) and for our own in-process
 * conformance test (tests/unit/test_w3c_conformance.c), so both judge
 * the same code path: the public API only.
 *
 *   incoming header fields --sr_headers_t--> extract --> server span
 *   --> one client span per outgoing call --> inject into its headers
 */
#ifndef SR_W3C_FLOW_H
#define SR_W3C_FLOW_H

#include <spanring/spanring.h>

struct w3c_request {
	sr_headers_t in;     /* the incoming fields (8 KiB join buffer) */
	sr_context_t remote; /* what extract found, or "no context"      */
	sr_span_t server;
};

/* Extract from the incoming fields and start the server span: a child of
 * a valid remote parent, else the root of a new trace. */
static inline void w3c_begin(struct w3c_request *r, const sr_propagator_t *p,
			     const sr_header_t *fields, size_t n)
{
	sr_headers_init(&r->in, fields, n);
	sr_propagator_extract(p, &r->in, sr_headers_getter(), &r->remote);
	sr_span_start_ex(&r->server, NULL, "w3c request", SR_KIND_SERVER,
			 &r->remote, 0, 0);
}

/* One outgoing call: a client span under the server span, its context
 * injected into the call's headers.  End `client` when the call is done. */
static inline void w3c_call(struct w3c_request *r, const sr_propagator_t *p,
			    sr_span_t *client, void *carrier,
			    sr_carrier_set_fn set)
{
	sr_context_t parent = sr_span_context(&r->server), ctx;

	sr_span_start_ex(client, NULL, "w3c callback", SR_KIND_CLIENT, &parent,
			 0, 0);
	ctx = sr_span_context(client);
	sr_propagator_inject(p, &ctx, carrier, set);
}

static inline void w3c_end(struct w3c_request *r)
{
	sr_span_end(&r->server);
}

#endif /* SR_W3C_FLOW_H */
