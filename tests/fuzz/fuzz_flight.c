/*
 * fuzz_flight.c - libFuzzer target for the crash recording reader
 * (core/flight_read.c): any bytes are parsed, every span that passes the
 * reader's checks is decoded by record_decode.c and encoded to OTLP/JSON
 * by the file exporter's encoder, as spanring-recover does.  A recording
 * is outside input: it comes from a dead process's memory.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flight_int.h"
#include "otlp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sr__flight f;
	static struct sr__scratch scratch;
	static struct sr__otlp_enc enc;
	static int ready;
	/* The reader keeps pointers into the file: an aligned copy. */
	void *copy = malloc(size ? size : 1);

	if (!ready) {
		if (sr__flight_scratch_init(&scratch) != 0 ||
		    sr__otlp_enc_init(&enc, SR__OTLP_JSON) != 0)
			abort();
		ready = 1;
	}
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (sr__flight_parse(&f, copy, size) == 0) {
		for (uint32_t at = 0; at < f.nspans; at += 64) {
			uint32_t n = f.nspans - at < 64 ? f.nspans - at : 64;
			struct sr__batch b;
			struct sr_batch view;
			const sr_attr_view_t *res;
			uint32_t nres;
			const char *body;
			size_t len;

			sr__flight_view(&f, at, n, &b, &scratch, &view);
			res = sr_batch_resource(&view, &nres);
			sr__otlp_enc_begin(&enc, res, nres);
			for (uint32_t i = 0; i < n; i++) {
				sr_span_data_t sd = { .size = sizeof(sd) };

				if (sr_batch_span(&view, i, &sd) == 0)
					sr__otlp_enc_add(&enc, &sd);
			}
			sr__otlp_enc_finish(&enc, &body, &len);
		}
	}
	sr__flight_free(&f);
	free(copy);
	return 0;
}
