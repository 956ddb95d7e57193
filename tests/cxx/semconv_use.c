/*
 * semconv_use.c - <spanring/semconv.h> as C11 and as C++17 (compiled as
 * both by ctest semconv_c / semconv_cxx): every name is a literal usable
 * as a static key, from C with the C calls and from C++ as a
 * spanring::StaticStr (a non-literal would not compile there).
 */
#ifdef __cplusplus
#include <spanring/spanring.hpp>
#else
#include <spanring/spanring.h>
#endif
#include <spanring/semconv.h>

#ifdef __cplusplus
void semconv_cxx(const spanring::Tracer &t);
void semconv_cxx(const spanring::Tracer &t)
{
	spanring::Span span(t, "GET /users/{id}", SR_KIND_SERVER);

	span.set(SR_SEMCONV_HTTP_REQUEST_METHOD, SR_SEMCONV_HTTP_REQUEST_METHOD_GET)
		.set(SR_SEMCONV_HTTP_RESPONSE_STATUS_CODE, 200)
		.set(SR_SEMCONV_HTTP_ROUTE, "/users/{id}")
		.set(SR_SEMCONV_URL_PATH, "/users/7")
		.set(SR_SEMCONV_URL_SCHEME, "http")
		.set(SR_SEMCONV_SERVER_ADDRESS, "example.com")
		.set(SR_SEMCONV_SERVER_PORT, 8080)
		.set(SR_SEMCONV_CLIENT_ADDRESS, "192.0.2.1")
		.set(SR_SEMCONV_NETWORK_TRANSPORT, SR_SEMCONV_NETWORK_TRANSPORT_TCP)
		.set(SR_SEMCONV_NETWORK_PROTOCOL_VERSION, "1.1")
		.set(SR_SEMCONV_ERROR_TYPE, "timeout");
	spanring::Span db(t, "SELECT users", SR_KIND_CLIENT);
	db.set(SR_SEMCONV_DB_SYSTEM_NAME, SR_SEMCONV_DB_SYSTEM_NAME_POSTGRESQL)
		.set(SR_SEMCONV_DB_COLLECTION_NAME, "users")
		.set(SR_SEMCONV_DB_OPERATION_NAME, "SELECT")
		.set(SR_SEMCONV_DB_RESPONSE_STATUS_CODE, "08P01");
	db.add_event(SR_SEMCONV_EXCEPTION_EVENT, { { SR_SEMCONV_EXCEPTION_TYPE, "E" },
						   { SR_SEMCONV_EXCEPTION_MESSAGE, "m" } });
	spanring::Span rpc(t, "Export", SR_KIND_CLIENT);
	rpc.set(SR_SEMCONV_DEV_RPC_SYSTEM, SR_SEMCONV_DEV_RPC_SYSTEM_GRPC)
		.set(SR_SEMCONV_DEV_RPC_GRPC_STATUS_CODE, 0)
		.set(SR_SEMCONV_DEV_MESSAGING_SYSTEM, SR_SEMCONV_DEV_MESSAGING_SYSTEM_KAFKA);
}
#else
void semconv_c(const sr_tracer_t *t);
void semconv_c(const sr_tracer_t *t)
{
	sr_span_t s;
	sr_attr_t ev[2];

	sr_span_start(&s, t, "GET /users/{id}", SR_KIND_SERVER);
	sr_span_set_str(&s, SR_SEMCONV_HTTP_REQUEST_METHOD, SR_SEMCONV_HTTP_REQUEST_METHOD_POST);
	sr_span_set_int(&s, SR_SEMCONV_HTTP_RESPONSE_STATUS_CODE, 201);
	sr_span_set_str_static(&s, SR_SEMCONV_URL_FULL, "https://example.com/");
	sr_span_set_int(&s, SR_SEMCONV_NETWORK_PEER_PORT, 443);
	sr_span_set_str(&s, SR_SEMCONV_DB_SYSTEM_NAME, SR_SEMCONV_DB_SYSTEM_NAME_MYSQL);
	sr_span_set_str(&s, SR_SEMCONV_DEV_MESSAGING_OPERATION_TYPE,
			SR_SEMCONV_DEV_MESSAGING_OPERATION_TYPE_SEND);
	ev[0].key = SR_SEMCONV_EXCEPTION_TYPE;
	ev[0].type = SR_ATTR_STRING_STATIC;
	ev[0].len = 1;
	ev[0].v.s = "E";
	ev[1] = ev[0];
	ev[1].key = SR_SEMCONV_EXCEPTION_MESSAGE;
	sr_span_add_event(&s, SR_SEMCONV_EXCEPTION_EVENT, 0, ev, 2);
	sr_span_end(&s);
	(void)sizeof(SR_SEMCONV_VERSION SR_SEMCONV_SCHEMA_URL);
}
#endif
