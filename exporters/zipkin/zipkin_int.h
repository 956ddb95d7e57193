/*
 * zipkin_int.h - the Zipkin v2 JSON encoder behind the "zipkin" exporter,
 * shared with its tests (the golden test feeds hand-built spans).
 *
 * An encoder turns spans into one request body: a JSON array of Zipkin v2
 * spans (zipkin2-api.yaml), mapped as the OpenTelemetry specification's
 * "OpenTelemetry to Zipkin Transformation" says; zipkin_encode.c documents
 * each rule.  It is fed one span at a time (sr_batch_span() views are only valid
 * until the next call) and writes each span at once into one reusable
 * buffer, so after the first batches it never allocates.
 *
 * Threading: none; one encoder per exporter instance, used on its worker
 * thread.
 */
#ifndef SR_ZIPKIN_INT_H
#define SR_ZIPKIN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <spanring/spanring.h>

#include "json_writer_int.h"

struct sr__zipkin_enc {
	struct sr__buf out;     /* the body being built                      */
	struct sr__buf scratch; /* annotation values and number text          */
	const sr_attr_view_t *res; /* resource of this batch (borrowed,      */
	uint32_t nres;          /*   static until shutdown)                  */
	sr_str_t service;       /* its service.name, points into `res`       */
	size_t nspans;
	uint64_t invalid_utf8;  /* strings sanitised, this batch             */
	bool oom;               /* an allocation failed in this batch        */
};

void sr__zipkin_enc_init(struct sr__zipkin_enc *e);
void sr__zipkin_enc_free(struct sr__zipkin_enc *e);

/* Start a body for spans of this resource (borrowed until finish). */
void sr__zipkin_enc_begin(struct sr__zipkin_enc *e, const sr_attr_view_t *res,
			  uint32_t nres);
/* Append one span (borrowed; fully copied before return). */
void sr__zipkin_enc_add(struct sr__zipkin_enc *e, const sr_span_data_t *s);
/* The body, valid until the next begin().  0 or SR_ENOMEM. */
int sr__zipkin_enc_finish(struct sr__zipkin_enc *e, const char **body,
			  size_t *len);

#endif /* SR_ZIPKIN_INT_H */
