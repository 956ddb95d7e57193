/*
 * alloc.c - where pipeline memory comes from.
 *
 * All pipeline memory is taken at sr_init() (and given back at shutdown)
 * through one hook, so tests can fail the n-th allocation and the hot
 * path never allocates.  The default source:
 *
 *   - If the process already runs on jemalloc (the application linked or
 *     preloaded it; found with dlsym, so we never impose it), the pipeline
 *     gets its own jemalloc arena: our large, long-lived blocks stay out of
 *     the application's arenas and their fragmentation statistics, and
 *     jemalloc's stats can attribute them.
 *   - Otherwise posix_memalign: the blocks are few and live for the whole
 *     pipeline, so a general allocator's per-call costs do not matter.
 *
 * Linking jemalloc into the library itself would replace malloc in every
 * application that embeds us; a tracer has no business doing that.
 * -DSR_WITH_JEMALLOC=OFF leaves the probe out entirely.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spanring_int.h"

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
typedef void *(*mallocx_fn)(size_t, int);
typedef void (*dallocx_fn)(void *, int);

/* The choice for the next pipeline: written by sr_init() under the
 * lifecycle lock.  Each pipeline keeps a copy (sr__alloc_capture) and
 * frees through it (sr__alloc_use), because an exporter abandoned at
 * shutdown may free its pipeline later, on its own thread, after another
 * sr_init() chose a different allocator. */
static struct sr__alloc_choice cur;
static __thread const struct sr__alloc_choice *override;

/* Set once, by the first probe (under the lifecycle lock, before any
 * pipeline exists); read-only afterwards. */
static struct {
	mallocx_fn mallocx;
	dallocx_fn dallocx;
	unsigned arena;
	bool ok;
	char name[32];
} je;

/* MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE | MALLOCX_ZERO | MALLOCX_ALIGN(al),
 * spelled out so the library does not need jemalloc's header to build. */
static int je_flags(size_t align)
{
	int lg = __builtin_ctzl(align);
	return (int)(((je.arena + 1) << 20) | (1 << 8) /* TCACHE_NONE */ |
		     0x40 /* ZERO */ | lg);
}

static void je_probe(void)
{
#ifdef SR_HAVE_JEMALLOC
	static bool probed;
	mallctl_fn mallctl;
	size_t sz = sizeof(unsigned);

	if (probed)
		return;
	probed = true;
	mallctl = (mallctl_fn)dlsym(RTLD_DEFAULT, "mallctl");
	je.mallocx = (mallocx_fn)dlsym(RTLD_DEFAULT, "mallocx");
	je.dallocx = (dallocx_fn)dlsym(RTLD_DEFAULT, "dallocx");
	if (!mallctl || !je.mallocx || !je.dallocx)
		return;
	if (mallctl("arenas.create", &je.arena, &sz, NULL, 0) != 0)
		return;
	je.ok = true;
	snprintf(je.name, sizeof(je.name), "jemalloc arena %u", je.arena);
#endif /* built with -DSR_WITH_JEMALLOC=OFF: always libc */
}

static const struct sr__alloc_choice *choice(void)
{
	return override ? override : &cur;
}

void sr__alloc_configure(const sr_allocator_t *a)
{
	cur.have_custom = a && a->alloc && a->free;
	if (cur.have_custom)
		cur.custom = *a;
	else
		je_probe();
}

void sr__alloc_capture(struct sr__alloc_choice *out)
{
	*out = cur;
}

void sr__alloc_use(const struct sr__alloc_choice *c)
{
	override = c;
}

const char *sr__alloc_name(void)
{
	if (choice()->have_custom)
		return "custom";
	return je.ok ? je.name : "libc";
}

void *sr__alloc(size_t size, size_t align)
{
	void *p = NULL;

	const struct sr__alloc_choice *c = choice();

	if (align < sizeof(void *))
		align = sizeof(void *);
	if (c->have_custom) {
		p = c->custom.alloc(c->custom.ud, size, align);
		if (p)
			memset(p, 0, size);
		return p;
	}
	if (je.ok)
		return je.mallocx(size, je_flags(align));
	if (posix_memalign(&p, align, size) != 0)
		return NULL;
	memset(p, 0, size);
	return p;
}

void sr__free(void *ptr, size_t size)
{
	const struct sr__alloc_choice *c = choice();

	if (!ptr)
		return;
	if (c->have_custom)
		c->custom.free(c->custom.ud, ptr, size);
	else if (je.ok)
		je.dallocx(ptr, 1 << 8 /* TCACHE_NONE */);
	else
		free(ptr);
}
