/*
 * dso_int.h - opening a plugin's shared object and finding its entry
 * point, for every kind of plugin (exporters, processors): one place for
 * the loading rules and the messages that name the variable and path.
 */
#ifndef SR_DSO_INT_H
#define SR_DSO_INT_H

#include <stddef.h>

/*
 * dlopen(path, RTLD_NOW | RTLD_LOCAL) and return the address of the entry
 * "sr_<kind>_plugin_v1".  NULL with the reason in err, which names `var`
 * and "plugin:<path>": the object cannot be loaded (with a hint when a
 * spanring symbol is unresolved), or it offers only a later entry
 * version, or none.  A loaded object is never closed: its code may still
 * run (see the callers).  Not hot path.
 */
void *sr__dso_entry(const char *var, const char *kind, const char *path,
		    char *err, size_t err_len);

#endif /* SR_DSO_INT_H */
