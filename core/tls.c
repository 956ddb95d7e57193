/*
 * tls.c - the one per-thread object (see tls_int.h).
 */
#include "tls_int.h"

SR__TLS struct sr__tls_state sr__tls;
