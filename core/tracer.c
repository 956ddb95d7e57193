/*
 * tracer.c - the process-wide table of tracers (instrumentation scopes).
 *
 * A span record names its tracer by a 16-bit index, so the table is a
 * fixed array of SR_MAX_TRACERS entries that lives as long as the process
 * (across sr_init/sr_shutdown cycles): a handle kept in a static stays
 * valid, and the drainer can turn an index back into names at any time.
 * Entry 0 is the default tracer, "spanring" at the library's version,
 * and exists from the start.
 *
 * Writers (sr_tracer_get) serialise on a mutex and append; an entry never
 * changes once published.  Readers (sr__tracer_at, on the drainer) take no
 * lock: they load `count` with acquire order and only look at entries
 * below it.  Past SR_MAX_TRACERS, or when copying the names fails, the
 * default tracer is returned and the miss counted.
 *
 * Shared fields:
 *   table[i]  written once by sr_tracer_get under `lock` before `count`
 *             covers i; read by anyone after an acquire load of `count`.
 *   count     sr_tracer_get writes under `lock`: fence_store, then
 *             ck_pr store (release), so the entry is complete first.
 *             sr__tracer_at reads: ck_pr load, then fence_load (acquire).
 *             Pairs the entry writes with the entry reads.  Only grows.
 *   overflow  written under `lock` with a ck_pr store; read anywhere
 *             with a ck_pr load (a counter: no ordering needed).
 *
 * Left out: schema URLs and scope attributes, and any way to remove a
 * tracer (indices in flight in the rings must stay meaningful).
 */
#include "tracer_int.h"
#include "spanring_int.h"

#include "tsan_int.h"

#include <ck_pr.h>
#include <stdlib.h>
#include <string.h>

#ifndef SR_VERSION_STRING
#error "SR_VERSION_STRING must be defined by the build"
#endif

static struct sr_tracer table[SR_MAX_TRACERS] = {
	[0] = { .index = 0, .name = "spanring", .version = SR_VERSION_STRING },
};
static uint32_t count = 1;
static uint64_t overflow;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

_Static_assert(SR_MAX_TRACERS <= UINT16_MAX + 1, "index is 16 bits");

/* A fork while another thread holds `lock` would leave the child's copy
 * locked for ever; hold it across fork so both sides unlock it. */
static void fork_prepare(void)
{
	pthread_mutex_lock(&lock);
}

static void fork_release(void)
{
	pthread_mutex_unlock(&lock);
}

static void register_atfork(void)
{
	pthread_atfork(fork_prepare, fork_release, fork_release);
}

const sr_tracer_t *sr_tracer_get(const char *name, const char *version)
{
	const sr_tracer_t *found = &table[0];
	uint32_t n;
	char *name_copy, *version_copy;

	if (name == NULL || *name == '\0')
		return found;
	if (version == NULL)
		version = "";

	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&lock);
	n = count; /* only written under `lock` */
	for (uint32_t i = 0; i < n; i++) {
		if (strcmp(table[i].name, name) == 0 &&
		    strcmp(table[i].version, version) == 0) {
			found = &table[i];
			goto out;
		}
	}
	name_copy = n < SR_MAX_TRACERS ? strdup(name) : NULL;
	version_copy = name_copy != NULL ? strdup(version) : NULL;
	if (version_copy == NULL) {
		free(name_copy);
		ck_pr_store_64(&overflow, overflow + 1);
		goto out;
	}
	table[n].index = (uint16_t)n;
	table[n].name = name_copy;
	table[n].version = version_copy;
	SR_TSAN_RELEASE(&count);
	ck_pr_fence_store(); /* entry before count; pairs with sr__tracer_at */
	ck_pr_store_32(&count, n + 1);
	found = &table[n];
out:
	pthread_mutex_unlock(&lock);
	return found;
}

const sr_tracer_t *sr__tracer_at(uint16_t index)
{
	uint32_t n = ck_pr_load_32(&count);

	ck_pr_fence_load(); /* count before entry; pairs with sr_tracer_get */
	SR_TSAN_ACQUIRE(&count);
	return index < n ? &table[index] : &table[0];
}

uint64_t sr__tracer_overflow(void)
{
	return ck_pr_load_64(&overflow);
}

uint32_t sr__tracer_count(void)
{
	uint32_t n = ck_pr_load_32(&count);

	ck_pr_fence_load();
	SR_TSAN_ACQUIRE(&count);
	return n;
}
