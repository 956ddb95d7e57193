// An outside C++ program: the installed header as C++17, one span.
#include <spanring/spanring.h>

#include <cstdio>

int main()
{
	sr_config_t cfg;
	sr_span_t s;
	sr_attr_t a[] = { SR_ATTR_INT_("n", 1), SR_ATTR_STR_("s", "v") };

	sr_config_init(&cfg);
	cfg.exporters = "none";
	if (sr_init(&cfg) != 0)
		return 1;
	sr_span_start(&s, nullptr, "outside-cxx", SR_KIND_INTERNAL);
	sr_span_set_attrs(&s, a, 2);
	sr_span_end(&s);
	sr_shutdown(5000, nullptr);
	std::printf("consumer_cxx: spanring %s\n", sr_version());
	return 0;
}
