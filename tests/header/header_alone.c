/* The umbrella header must compile alone, warning-free, as C11 and C++
 * (C++17 -Wpedantic, clang++ -Wold-style-cast), macros used. */
#include <spanring/spanring.h>

int header_alone_uses(void);
int header_alone_uses(void)
{
	sr_config_t cfg;
	sr_attr_t a[] = { SR_ATTR_BOOL_("b", true), SR_ATTR_INT_("i", 1),
			  SR_ATTR_DOUBLE_("d", 0.5), SR_ATTR_STR_("s", "v"),
			  SR_ATTR_STRN_("n", "vv", 1),
			  SR_ATTR_STR_STATIC_("t", "v") };
	sr_span_t s;
	sr_context_t c;

	sr_config_init(&cfg);
	sr_span_start(&s, NULL, "n", SR_KIND_INTERNAL);
	sr_span_set_int(&s, "k", 1);
	sr_span_set_str(&s, "k", "v");
	sr_span_set_str_static(&s, "k", "v");
	sr_span_set_double(&s, "k", 1.0);
	sr_span_set_bool(&s, "k", true);
	sr_span_add_event(&s, "e", 0, a, 6);
	c = sr_span_context(&s);
	sr_span_end(&s);
	{
		SR_SPAN_AUTO(x, NULL, "auto", SR_KIND_CLIENT);
		SR_SET_INT(&x.span, "k", 2);
	}
	/* No casts here: the C++ checks reject old-style ones. */
	return a[0].type + (sr_context_is_sampled(&c) ? 1 : 0) +
	       (SR_CARRIER_LEN_CSTR > sizeof(sr_span_t) ? 1 : 0);
}
