/* An outside program: records one span through the installed library. */
#include <spanring/spanring.h>
#include <stdio.h>

int main(void)
{
	sr_config_t cfg;
	sr_span_t s;
	sr_stats_t st = { .size = sizeof(st) };

	sr_config_init(&cfg);
	cfg.exporters = "none";
	if (sr_init(&cfg) != 0)
		return 1;
	sr_span_start(&s, NULL, "outside", SR_KIND_INTERNAL);
	sr_span_end(&s);
	sr_shutdown(5000, NULL);
	sr_stats_get(&st);
	printf("consumer: spanring %s exported %llu\n", sr_version(),
	       (unsigned long long)st.exported);
	return st.exported == 1 ? 0 : 2;
}
