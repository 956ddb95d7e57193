/*
 * fuzz_otlp.c - libFuzzer target for what the OTLP exporter reads from
 * outside: response bodies (protobuf and JSON partial_success), the
 * OTEL_EXPORTER_OTLP_HEADERS syntax, and arbitrary bytes as strings to
 * sanitise and escape.
 *
 * Besides crashes (ASan), it aborts when a documented invariant breaks:
 * a rejected count is only reported on success, the error message is
 * NUL-terminated within its buffer, sanitised text is valid UTF-8 of the
 * announced length, and the JSON writer's output of any bytes is one
 * well-formed string (checked by the response reader's own skip-parser,
 * which must accept it as a value).
 */
#include "fuzz_check.h"

#include "http_int.h"
#include "otlp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	uint64_t rej = 0;
	char msg[16];

	for (int f = 0; f < 2; f++) {
		memset(msg, 'x', sizeof(msg));
		int rc = sr__otlp_parse_response((enum sr__otlp_format)f, s, size,
						 &rej, msg, sizeof(msg));
		CHECK(rc == 0 || rc == SR_EINVAL);
		CHECK(memchr(msg, '\0', sizeof(msg)) != NULL);
	}

	char *z = malloc(size + 1);
	if (!z)
		return 0;
	memcpy(z, data, size);
	z[size] = '\0';
	void *list = NULL;
	char err[128];
	if (sr__http_parse_headers(z, "V", &list, err, sizeof(err)) == 0)
		sr__http_free_headers(list);
	free(z);

	size_t out_len, again;
	size_t bad = sr__utf8_scan(s, size, &out_len);
	char *clean = malloc(out_len + 1);
	if (!clean)
		return 0;
	CHECK(sr__utf8_copy_sanitised(clean, s, size) == out_len);
	CHECK(sr__utf8_scan(clean, out_len, &again) == 0 && again == out_len);
	CHECK(bad == 0 || out_len != size || memcmp(clean, s, size) != 0);
	free(clean);

	/* {"partialSuccess":{"errorMessage":<the bytes as a JSON string>}} */
	struct sr__buf b = { 0 };
	struct sr__jw w;
	sr__jw_init(&w, &b);
	sr__jw_obj_begin(&w);
	sr__jw_key_lit(&w, "partialSuccess");
	sr__jw_obj_begin(&w);
	sr__jw_key_lit(&w, "errorMessage");
	sr__jw_str(&w, s, size);
	sr__jw_obj_end(&w);
	sr__jw_obj_end(&w);
	CHECK(!w.oom && w.invalid_utf8 == bad);
	CHECK(sr__otlp_parse_response(SR__OTLP_JSON, b.data, b.len, &rej, NULL, 0) == 0);
	CHECK(rej == 0);
	sr__buf_free(&b);
	return 0;
}
