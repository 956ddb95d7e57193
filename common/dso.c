/*
 * dso.c - a plugin's shared object and its entry point (dso_int.h).
 *
 * The entry's "_v1" is the version of the entry point itself: a plugin
 * built for a later, incompatible interface exports sr_<kind>_plugin_v2,
 * so an older library finds no v1 and says which version the plugin
 * offers instead of calling a function of the wrong type.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "dso_int.h"

#define ENTRY_NEWEST 9 /* later entry versions we can name */

/* Which sr_<kind>_plugin_vN a plugin without v1 offers, 0 if none. */
static int newer_entry(void *h, const char *kind)
{
	char sym[48];

	for (int v = ENTRY_NEWEST; v >= 2; v--) {
		snprintf(sym, sizeof(sym), "sr_%s_plugin_v%d", kind, v);
		if (dlsym(h, sym))
			return v;
	}
	return 0;
}

void *sr__dso_entry(const char *var, const char *kind, const char *path,
		    char *err, size_t err_len)
{
	char entry[48];
	void *h, *fn;
	int newer;

	snprintf(entry, sizeof(entry), "sr_%s_plugin_v1", kind);
	dlerror();
	if (!(h = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
		const char *why = dlerror();

		snprintf(err, err_len, "%s='plugin:%s': cannot load: %s%s", var,
			 path, why ? why : "unknown error",
			 why && strstr(why, "undefined symbol: sr_")
				 ? " (the application must link libspanring "
				   "shared, or export its symbols with -rdynamic)"
				 : "");
		return NULL;
	}
	if ((fn = dlsym(h, entry)))
		return fn;
	newer = newer_entry(h, kind);
	if (newer)
		snprintf(err, err_len, "%s='plugin:%s': the plugin is for %s ABI "
			 "%d (sr_%s_plugin_v%d); this library loads %s", var, path,
			 kind, newer, kind, newer, entry);
	else
		snprintf(err, err_len, "%s='plugin:%s': no symbol %s (not a "
			 "spanring %s plugin?)", var, path, entry, kind);
	dlclose(h); /* nothing of it ever ran */
	return NULL;
}
