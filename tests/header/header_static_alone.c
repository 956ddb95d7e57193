/* The inline fast paths' header is self-contained too: included first
 * and alone, it brings the umbrella header and compiles warning-free as
 * C11 and C++. */
#include <spanring/static/span_inline.h>

int header_static_alone_uses(sr_span_t *s);
int header_static_alone_uses(sr_span_t *s)
{
	sr_span_start(s, NULL, "x", SR_KIND_INTERNAL);
	sr_span_set_int(s, "k", 1);
	sr_span_end(s);
	return SR__SPAN_STATE_AT;
}
