/*
 * malloc_count.c - counts heap allocations per thread, for the
 * "mallocs/op" column of the hot-path benchmarks.
 *
 * Design: the executable itself defines malloc, calloc, realloc,
 * posix_memalign, aligned_alloc, memalign, valloc and pvalloc.  A
 * definition in the executable interposes on glibc's for every object
 * in the process (the same mechanism as LD_PRELOAD, without needing a
 * separate library on the command line), so allocations made inside
 * libspanring, libstdc++ or any other library are seen.  Each call bumps
 * a thread-local counter and forwards to glibc's __libc_* entry points.
 * free is forwarded uncounted: the question is whether the hot path
 * allocates at all.
 *
 * What this leaves out: allocations made with mmap directly, or through
 * a third-party allocator's own API (mallocx), are not counted; the
 * library's pipeline memory is allocated at init, outside any timed loop.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);
void __libc_free(void *p);

/* Written only by the owning thread; read by it (sr_bench_thread_mallocs). */
static __thread uint64_t tl_mallocs;

uint64_t sr_bench_thread_mallocs(void)
{
	return tl_mallocs;
}

void *malloc(size_t size)
{
	tl_mallocs++;
	return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	tl_mallocs++;
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	tl_mallocs++;
	return __libc_realloc(p, size);
}

void free(void *p)
{
	__libc_free(p);
}

void *memalign(size_t align, size_t size)
{
	tl_mallocs++;
	return __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size)
{
	tl_mallocs++;
	return __libc_memalign(align, size);
}

int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;

	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	tl_mallocs++;
	p = __libc_memalign(align, size);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

void *valloc(size_t size)
{
	tl_mallocs++;
	return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), size);
}

void *pvalloc(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	tl_mallocs++;
	return __libc_memalign(page, (size + page - 1) & ~(page - 1));
}
