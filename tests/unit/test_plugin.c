/*
 * test_plugin.c - exporters loaded from shared objects with
 * "plugin:<path>" in the exporter list: the example plugin
 * (examples/plugin) receives every span and goes by its own name in the
 * stats; loading it twice (two instances, one mapping) and again after a
 * restart works; and each way a plugin can be wrong is refused at
 * sr_init() with an error naming the variable and the path, while the
 * pipeline runs on with the other exporters: no such file, a file that
 * is not a shared object, no entry symbol, only a newer entry symbol, a
 * NULL table, a table with another ABI version, a table without destroy.
 *
 * This executable links spanring statically and exports its symbols
 * (ENABLE_EXPORTS, i.e. -rdynamic), the set-up plugin.c asks of static
 * applications; the demo checks (exporters.cmake) cover the shared
 * library.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static char dir[256];
static char out_path[300];
static char exporters[1024];

static int setup(void **state)
{
	if (sr_test_mkdtemp(dir, sizeof(dir), "plugin") != 0)
		return -1;
	snprintf(out_path, sizeof(out_path), "%s/example.txt", dir);
	setenv("SPANRING_EXAMPLE_OUTPUT", out_path, 1);
	return 0;
}

static int teardown(void **state)
{
	if (sr_is_running())
		sr_shutdown(5000, NULL);
	unsetenv("SPANRING_EXAMPLE_OUTPUT");
	sr_test_rmtree(dir);
	return 0;
}

static void use_exporters(sr_config_t *cfg)
{
	cfg->exporters = exporters;
}

/* The "example: op spans=N ..." lines of the plugin's summary, summed. */
static long example_spans(void)
{
	char *text = sr_test_read_file(out_path, NULL), *p;
	long total = 0;

	assert_non_null(text);
	for (p = text; (p = strstr(p, " spans=")) != NULL; p++)
		total += strtol(p + 7, NULL, 10);
	free(text);
	return total;
}

static void example_plugin_gets_every_span(void **state)
{
	sr_stats_t st = { .size = sizeof(st) };
	sr_exporter_stats_t ex = { .size = sizeof(ex) };
	char *text;

	snprintf(exporters, sizeof(exporters), "plugin:%s", SR_EXAMPLE_PLUGIN);
	assert_int_equal(sr_test_init_memory(use_exporters), 0);
	sr_test_produce_all(2, 500);
	sr_flush(5000, NULL);
	assert_int_equal(sr_test_exporter_stats("example", &ex), 0);
	assert_int_equal(sr_shutdown(5000, NULL), 0);
	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(st.exported, 1000);
	assert_int_equal(ex.spans_ok, 1000);
	text = sr_test_read_file(out_path, NULL);
	printf("%s", text);
	assert_non_null(strstr(text, "example: op spans=1000 errors=0"));
	free(text);
}

static void loaded_twice_and_after_restart(void **state)
{
	sr_stats_t st = { .size = sizeof(st) };

	for (int round = 0; round < 2; round++) {
		/* Two instances write one file in turn: the second destroy
		 * rewrites it, so count with one instance at the end. */
		snprintf(exporters, sizeof(exporters), "plugin:%s, plugin:%s, memory",
			 SR_EXAMPLE_PLUGIN, SR_EXAMPLE_PLUGIN);
		assert_int_equal(sr_test_init_memory(use_exporters), 0);
		assert_int_equal(sr_stats_get(&st), 0);
		assert_int_equal(st.exporters, 3);
		sr_test_produce_all(1, 100);
		sr_shutdown(5000, NULL);
		assert_int_equal(example_spans(), 100);
	}
}

static void expect_refused(const char *plugin, const char *needle)
{
	sr_stats_t st = { .size = sizeof(st) };
	int rc;

	snprintf(exporters, sizeof(exporters), "memory,plugin:%s", plugin);
	rc = sr_test_init_memory(use_exporters);
	printf("%s\n  -> %s: %s\n", plugin, sr_strerror(rc), sr_last_error());
	assert_int_equal(rc, SR_EIO);
	assert_true(sr_is_running());
	assert_non_null(strstr(sr_last_error(), "OTEL_TRACES_EXPORTER"));
	assert_non_null(strstr(sr_last_error(), plugin));
	assert_non_null(strstr(sr_last_error(), needle));
	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(st.exporters, 1);
	sr_test_produce_all(1, 10);
	sr_shutdown(5000, NULL);
	assert_int_equal(sr_stats_get(&st), 0);
	assert_int_equal(st.exported, 10);
}

static void missing_file(void **state)
{
	char p[400];

	snprintf(p, sizeof(p), "%s/libnothere.so", dir);
	expect_refused(p, "cannot load");
}

static void not_a_shared_object(void **state)
{
	char p[400];
	FILE *f;

	snprintf(p, sizeof(p), "%s/libtext.so", dir);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("not ELF\n", f);
	fclose(f);
	expect_refused(p, "cannot load");
}

static void missing_entry_symbol(void **state)
{
	expect_refused(SR_PLUGIN_NO_ENTRY, "no symbol sr_exporter_plugin_v1");
}

static void newer_entry_only(void **state)
{
	expect_refused(SR_PLUGIN_NEWER, "exporter ABI 2");
}

static void wrong_abi_version(void **state)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "exporter ABI version 99, this library has %d",
		 SR_EXPORTER_ABI_VERSION);
	expect_refused(SR_PLUGIN_ABI, needle);
}

static void null_table(void **state)
{
	expect_refused(SR_PLUGIN_NULL, "returned NULL");
}

static void table_without_destroy(void **state)
{
	expect_refused(SR_PLUGIN_NO_DESTROY, "lacks");
}

static void empty_path_is_unknown(void **state)
{
	int rc;

	snprintf(exporters, sizeof(exporters), "memory,plugin:");
	rc = sr_test_init_memory(use_exporters);
	assert_int_equal(rc, SR_ENOTFOUND);
	assert_non_null(strstr(sr_last_error(), "plugin:"));
	assert_true(sr_is_running());
	sr_shutdown(1000, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(example_plugin_gets_every_span, setup, teardown),
		cmocka_unit_test_setup_teardown(loaded_twice_and_after_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(not_a_shared_object, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_entry_symbol, setup, teardown),
		cmocka_unit_test_setup_teardown(newer_entry_only, setup, teardown),
		cmocka_unit_test_setup_teardown(wrong_abi_version, setup, teardown),
		cmocka_unit_test_setup_teardown(null_table, setup, teardown),
		cmocka_unit_test_setup_teardown(table_without_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(empty_path_is_unknown, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
