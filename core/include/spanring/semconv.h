/*
 * semconv.h - OpenTelemetry semantic-convention attribute names and
 * well-known values as string literals.
 *
 * Literals, so they are static as keys must be (C) and are accepted by
 * spanring::StaticStr (C++).  Names follow semantic conventions
 * SR_SEMCONV_VERSION; every name here is Stable in that version except
 * the RPC and messaging ones, which the conventions still mark
 * Development (their names may change: they carry _DEV_ in ours).
 *
 *     sr_span_set_str(&s, SR_SEMCONV_HTTP_REQUEST_METHOD, SR_SEMCONV_HTTP_REQUEST_METHOD_GET);
 *     span.set(SR_SEMCONV_HTTP_RESPONSE_STATUS_CODE, 200);       // C++
 *
 * Header only, no symbols; C11 and C++.
 */
#ifndef SPANRING_SEMCONV_H
#define SPANRING_SEMCONV_H

/* The semantic conventions release these names follow; a schema URL
 * for the resource or scope. */
#define SR_SEMCONV_VERSION "1.34.0"
#define SR_SEMCONV_SCHEMA_URL "https://opentelemetry.io/schemas/1.34.0"

/* ---- HTTP (client and server spans) ---------------------------------- */
#define SR_SEMCONV_HTTP_REQUEST_METHOD "http.request.method"
#define SR_SEMCONV_HTTP_REQUEST_METHOD_ORIGINAL "http.request.method_original"
#define SR_SEMCONV_HTTP_REQUEST_RESEND_COUNT "http.request.resend_count"
#define SR_SEMCONV_HTTP_RESPONSE_STATUS_CODE "http.response.status_code"
#define SR_SEMCONV_HTTP_ROUTE "http.route"
/* Prefixes: append the lowercase header name ("http.request.header.
 * content-type"); the value is an array of strings. */
#define SR_SEMCONV_HTTP_REQUEST_HEADER_PREFIX "http.request.header."
#define SR_SEMCONV_HTTP_RESPONSE_HEADER_PREFIX "http.response.header."
/* http.request.method values ("_OTHER" for methods not listed). */
#define SR_SEMCONV_HTTP_REQUEST_METHOD_CONNECT "CONNECT"
#define SR_SEMCONV_HTTP_REQUEST_METHOD_DELETE "DELETE"
#define SR_SEMCONV_HTTP_REQUEST_METHOD_GET "GET"
#define SR_SEMCONV_HTTP_REQUEST_METHOD_HEAD "HEAD"
#define SR_SEMCONV_HTTP_REQUEST_METHOD_OPTIONS "OPTIONS"
#define SR_SEMCONV_HTTP_REQUEST_METHOD_PATCH "PATCH"
#define SR_SEMCONV_HTTP_REQUEST_METHOD_POST "POST"
#define SR_SEMCONV_HTTP_REQUEST_METHOD_PUT "PUT"
#define SR_SEMCONV_HTTP_REQUEST_METHOD_TRACE "TRACE"
#define SR_SEMCONV_HTTP_REQUEST_METHOD_OTHER "_OTHER"

/* ---- URL -------------------------------------------------------------- */
#define SR_SEMCONV_URL_FULL "url.full"
#define SR_SEMCONV_URL_PATH "url.path"
#define SR_SEMCONV_URL_QUERY "url.query"
#define SR_SEMCONV_URL_SCHEME "url.scheme"
#define SR_SEMCONV_URL_FRAGMENT "url.fragment"

/* ---- server, client --------------------------------------------------- */
#define SR_SEMCONV_SERVER_ADDRESS "server.address"
#define SR_SEMCONV_SERVER_PORT "server.port"
#define SR_SEMCONV_CLIENT_ADDRESS "client.address"
#define SR_SEMCONV_CLIENT_PORT "client.port"

/* ---- user agent ------------------------------------------------------- */
#define SR_SEMCONV_USER_AGENT_ORIGINAL "user_agent.original"

/* ---- network ---------------------------------------------------------- */
#define SR_SEMCONV_NETWORK_LOCAL_ADDRESS "network.local.address"
#define SR_SEMCONV_NETWORK_LOCAL_PORT "network.local.port"
#define SR_SEMCONV_NETWORK_PEER_ADDRESS "network.peer.address"
#define SR_SEMCONV_NETWORK_PEER_PORT "network.peer.port"
#define SR_SEMCONV_NETWORK_PROTOCOL_NAME "network.protocol.name"
#define SR_SEMCONV_NETWORK_PROTOCOL_VERSION "network.protocol.version"
#define SR_SEMCONV_NETWORK_TRANSPORT "network.transport"
#define SR_SEMCONV_NETWORK_TYPE "network.type"
/* network.transport values */
#define SR_SEMCONV_NETWORK_TRANSPORT_TCP "tcp"
#define SR_SEMCONV_NETWORK_TRANSPORT_UDP "udp"
#define SR_SEMCONV_NETWORK_TRANSPORT_PIPE "pipe"
#define SR_SEMCONV_NETWORK_TRANSPORT_UNIX "unix"
#define SR_SEMCONV_NETWORK_TRANSPORT_QUIC "quic"
/* network.type values */
#define SR_SEMCONV_NETWORK_TYPE_IPV4 "ipv4"
#define SR_SEMCONV_NETWORK_TYPE_IPV6 "ipv6"

/* ---- database (client spans) ------------------------------------------ */
#define SR_SEMCONV_DB_SYSTEM_NAME "db.system.name"
#define SR_SEMCONV_DB_NAMESPACE "db.namespace"
#define SR_SEMCONV_DB_COLLECTION_NAME "db.collection.name"
#define SR_SEMCONV_DB_OPERATION_NAME "db.operation.name"
#define SR_SEMCONV_DB_OPERATION_BATCH_SIZE "db.operation.batch.size"
#define SR_SEMCONV_DB_QUERY_TEXT "db.query.text"
#define SR_SEMCONV_DB_QUERY_SUMMARY "db.query.summary"
#define SR_SEMCONV_DB_RESPONSE_STATUS_CODE "db.response.status_code"
#define SR_SEMCONV_DB_STORED_PROCEDURE_NAME "db.stored_procedure.name"
/* db.system.name values that are Stable */
#define SR_SEMCONV_DB_SYSTEM_NAME_MARIADB "mariadb"
#define SR_SEMCONV_DB_SYSTEM_NAME_MICROSOFT_SQL_SERVER "microsoft.sql_server"
#define SR_SEMCONV_DB_SYSTEM_NAME_MYSQL "mysql"
#define SR_SEMCONV_DB_SYSTEM_NAME_POSTGRESQL "postgresql"

/* ---- errors and exceptions ------------------------------------------- */
#define SR_SEMCONV_ERROR_TYPE "error.type"
#define SR_SEMCONV_ERROR_TYPE_OTHER "_OTHER"
#define SR_SEMCONV_EXCEPTION_EVENT "exception" /* the event's name */
#define SR_SEMCONV_EXCEPTION_TYPE "exception.type"
#define SR_SEMCONV_EXCEPTION_MESSAGE "exception.message"
#define SR_SEMCONV_EXCEPTION_STACKTRACE "exception.stacktrace"

/* ---- code ------------------------------------------------------------- */
#define SR_SEMCONV_CODE_FUNCTION_NAME "code.function.name"
#define SR_SEMCONV_CODE_FILE_PATH "code.file.path"
#define SR_SEMCONV_CODE_LINE_NUMBER "code.line.number"

/* ---- service (resource) ---------------------------------------------- */
#define SR_SEMCONV_SERVICE_NAME "service.name"
#define SR_SEMCONV_SERVICE_VERSION "service.version"

/* ---- RPC (Development in SR_SEMCONV_VERSION) -------------------------- */
#define SR_SEMCONV_DEV_RPC_SYSTEM "rpc.system"
#define SR_SEMCONV_DEV_RPC_SERVICE "rpc.service"
#define SR_SEMCONV_DEV_RPC_METHOD "rpc.method"
#define SR_SEMCONV_DEV_RPC_GRPC_STATUS_CODE "rpc.grpc.status_code"
#define SR_SEMCONV_DEV_RPC_SYSTEM_GRPC "grpc"
#define SR_SEMCONV_DEV_RPC_SYSTEM_JAVA_RMI "java_rmi"
#define SR_SEMCONV_DEV_RPC_SYSTEM_DOTNET_WCF "dotnet_wcf"
#define SR_SEMCONV_DEV_RPC_SYSTEM_APACHE_DUBBO "apache_dubbo"
#define SR_SEMCONV_DEV_RPC_SYSTEM_CONNECT_RPC "connect_rpc"

/* ---- messaging (Development in SR_SEMCONV_VERSION) -------------------- */
#define SR_SEMCONV_DEV_MESSAGING_SYSTEM "messaging.system"
#define SR_SEMCONV_DEV_MESSAGING_OPERATION_NAME "messaging.operation.name"
#define SR_SEMCONV_DEV_MESSAGING_OPERATION_TYPE "messaging.operation.type"
#define SR_SEMCONV_DEV_MESSAGING_DESTINATION_NAME "messaging.destination.name"
#define SR_SEMCONV_DEV_MESSAGING_MESSAGE_ID "messaging.message.id"
#define SR_SEMCONV_DEV_MESSAGING_BATCH_MESSAGE_COUNT "messaging.batch.message_count"
#define SR_SEMCONV_DEV_MESSAGING_CONSUMER_GROUP_NAME "messaging.consumer.group.name"
/* messaging.operation.type values */
#define SR_SEMCONV_DEV_MESSAGING_OPERATION_TYPE_CREATE "create"
#define SR_SEMCONV_DEV_MESSAGING_OPERATION_TYPE_SEND "send"
#define SR_SEMCONV_DEV_MESSAGING_OPERATION_TYPE_RECEIVE "receive"
#define SR_SEMCONV_DEV_MESSAGING_OPERATION_TYPE_PROCESS "process"
#define SR_SEMCONV_DEV_MESSAGING_OPERATION_TYPE_SETTLE "settle"
/* messaging.system values */
#define SR_SEMCONV_DEV_MESSAGING_SYSTEM_KAFKA "kafka"
#define SR_SEMCONV_DEV_MESSAGING_SYSTEM_RABBITMQ "rabbitmq"

#endif /* SPANRING_SEMCONV_H */
