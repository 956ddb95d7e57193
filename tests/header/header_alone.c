/* The umbrella header must compile alone, warning-free, as C11 and C++. */
#include <spanring/spanring.h>

int header_alone_uses(void);
int header_alone_uses(void)
{
	sr_config_t cfg;
	sr_attr_t a = SR_ATTR_INT_("k", 1);

	sr_config_init(&cfg);
	return (int)sizeof(sr_span_t) + (int)a.type;
}
