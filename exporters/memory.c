/*
 * memory.c - the "memory" exporter: keeps a deep copy of every exported
 * span in process memory, for tests and for applications that embed
 * spanring and want to look at their own spans.
 *
 * Design.  Each span is copied into one malloc'd block that holds the
 * sr_span_data_t followed by its attribute, event and link arrays and
 * then every string (each also NUL-terminated, so tests may use strcmp):
 *
 *   +--------------+-------+--------+-------------+-------+------------+---------+
 *   | sr_span_data | attrs | events | event attrs | links | link attrs | strings |
 *   +--------------+-------+--------+-------------+-------+------------+---------+
 *
 * so a kept span owns no pointer into the batch and survives the batch,
 * sr_shutdown() and the pipeline memory being freed.  The store is one
 * process-wide array of block pointers (the public sr_memory_* calls
 * take no handle), so a pointer from sr_memory_get() stays valid while
 * the array grows, until sr_memory_clear() or the next sr_init().
 *
 * Concurrency.  export_batch runs on the exporter's worker thread while
 * an application thread may call sr_memory_count()/get(); `store.lock`
 * protects every field of `store`.  Blocks are built outside the lock
 * and only appended under it, so the lock is a leaf (no spanring call,
 * no allocation of span blocks, while holding it) and the unlock
 * publishes the block's contents to whoever locks next.  This is not the
 * hot path: the application's threads never touch it.
 *
 * Capacity: SPANRING_MEMORY_CAPACITY spans (default 65536).  Spans past
 * it, or whose copy cannot be allocated, are counted in
 * sr_memory_overflow() and not kept; the export still succeeds, so they
 * count as exported in sr_stats (the exporter did accept them).
 *
 * Left out: resource attributes are not copied (they are the same for
 * every span, see sr_batch_resource()); a second "memory" instance in
 * the same pipeline is refused (it would store every span twice).
 * After fork() the child starts with an empty store.
 */
#include "exporter_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEMORY_DEFAULT_CAPACITY 65536u
#define MEMORY_MAX_CAPACITY (1u << 30)

static struct {
	pthread_mutex_t lock;
	sr_span_data_t **spans;  /* kept blocks, in export order          */
	size_t count;            /* spans[0..count) are valid              */
	size_t alloc;            /* slots allocated in spans               */
	size_t capacity;         /* SPANRING_MEMORY_CAPACITY at create     */
	uint64_t overflow;       /* spans exported but not kept           */
	int instances;           /* running "memory" exporters (0 or 1)   */
} store = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.capacity = MEMORY_DEFAULT_CAPACITY,
};

/*
 * In the child of a fork() only the forking thread survives: the worker
 * may have held the lock or been half-way through an append.  No prepare
 * handler takes the lock before fork (it would order us against the
 * core's own fork handlers), so the child cannot trust the store and
 * starts with an empty one; the parent's blocks are left to the child's
 * copy of the heap.  The core's fork child handler calls this before it
 * restarts the pipeline (whose sr_init() takes the lock), so no order of
 * atfork handlers can make the child wait on a lock of a dead thread.
 */
static void memory_after_fork_child(void *ud)
{
	pthread_mutex_init(&store.lock, NULL);
	store.spans = NULL;
	store.count = 0;
	store.alloc = 0;
	store.overflow = 0;
	store.instances = 0;
}

/* ---- deep copy ------------------------------------------------------ */

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* Packed bytes of an array view's elements. */
static size_t array_bytes(const sr_array_view_t *a)
{
	sr_array_iter_t it = sr_array_begin(a);
	sr_attr_view_t e;

	while (sr_array_next(&it, &e))
		;
	return (size_t)(it.pos - (const char *)a->data);
}

/* Adds the bytes of `n` attribute views to *fixed and of their strings
 * (with NULs) to *str. */
static void attrs_size(const sr_attr_view_t *a, uint32_t n, size_t *fixed,
		       size_t *str)
{
	*fixed += (size_t)n * sizeof(sr_attr_view_t);
	for (uint32_t i = 0; i < n; i++) {
		*str += a[i].key.len + 1;
		if (a[i].type == SR_ATTR_STRING ||
		    a[i].type == SR_ATTR_STRING_STATIC)
			*str += a[i].v.s.len + 1;
		if (a[i].type == SR_ATTR_ARRAY)
			*str += array_bytes(&a[i].v.a);
	}
}

/* Size of the block for `s`: *fixed bytes of structs (a multiple of 8:
 * every view struct is), then *str bytes of strings. */
static void span_block_size(const sr_span_data_t *s, size_t *fixed,
			    size_t *str)
{
	*fixed = align8(sizeof(*s));
	*str = s->name.len + 1 + s->status_message.len + 1 +
	       s->trace_state.len + 1 + s->scope_name.len + 1 +
	       s->scope_version.len + 1;
	attrs_size(s->attrs, s->attr_count, fixed, str);
	*fixed += (size_t)s->event_count * sizeof(sr_event_view_t);
	for (uint32_t i = 0; i < s->event_count; i++) {
		*str += s->events[i].name.len + 1;
		attrs_size(s->events[i].attrs, s->events[i].attr_count, fixed,
			   str);
	}
	*fixed += (size_t)s->link_count * sizeof(sr_link_view_t);
	for (uint32_t i = 0; i < s->link_count; i++)
		attrs_size(s->links[i].attrs, s->links[i].attr_count, fixed,
			   str);
}

_Static_assert(sizeof(sr_attr_view_t) % 8 == 0, "views keep 8-byte alignment");
_Static_assert(sizeof(sr_event_view_t) % 8 == 0, "views keep 8-byte alignment");
_Static_assert(sizeof(sr_link_view_t) % 8 == 0, "views keep 8-byte alignment");

/* Bump allocator over one block: structs from the front, strings after. */
struct cursor {
	char *fixed;
	char *str;
};

static void *take_fixed(struct cursor *c, size_t bytes)
{
	void *p = c->fixed;

	c->fixed += bytes;
	return p;
}

static sr_str_t copy_str(struct cursor *c, sr_str_t s)
{
	sr_str_t out = { c->str, s.len };

	if (s.len)
		memcpy(c->str, s.ptr, s.len);
	c->str[s.len] = '\0';
	c->str += s.len + 1;
	return out;
}

static const sr_attr_view_t *copy_attrs(struct cursor *c,
					const sr_attr_view_t *a, uint32_t n)
{
	sr_attr_view_t *out;

	if (n == 0)
		return NULL;
	out = take_fixed(c, (size_t)n * sizeof(*out));
	for (uint32_t i = 0; i < n; i++) {
		out[i] = a[i];
		out[i].key = copy_str(c, a[i].key);
		if (a[i].type == SR_ATTR_STRING ||
		    a[i].type == SR_ATTR_STRING_STATIC) {
			/* Once copied, a static string is a copied one. */
			out[i].type = SR_ATTR_STRING;
			out[i].v.s = copy_str(c, a[i].v.s);
		}
		if (a[i].type == SR_ATTR_ARRAY) {
			size_t bytes = array_bytes(&a[i].v.a);

			if (bytes)
				memcpy(c->str, a[i].v.a.data, bytes);
			out[i].v.a.data = c->str;
			c->str += bytes;
		}
	}
	return out;
}

/* A malloc'd deep copy of `s` (free() releases all of it), or NULL. */
static sr_span_data_t *span_copy(const sr_span_data_t *s)
{
	size_t fixed, str;
	struct cursor c;
	sr_span_data_t *d;
	sr_event_view_t *ev = NULL;
	sr_link_view_t *lk = NULL;
	char *block;

	span_block_size(s, &fixed, &str);
	block = malloc(fixed + str);
	if (!block)
		return NULL;
	c.fixed = block + align8(sizeof(*d));
	c.str = block + fixed;

	d = (sr_span_data_t *)block;
	*d = *s;
	d->name = copy_str(&c, s->name);
	d->status_message = copy_str(&c, s->status_message);
	d->trace_state = copy_str(&c, s->trace_state);
	d->scope_name = copy_str(&c, s->scope_name);
	d->scope_version = copy_str(&c, s->scope_version);
	d->attrs = copy_attrs(&c, s->attrs, s->attr_count);

	if (s->event_count)
		ev = take_fixed(&c, (size_t)s->event_count * sizeof(*ev));
	for (uint32_t i = 0; i < s->event_count; i++) {
		ev[i] = s->events[i];
		ev[i].name = copy_str(&c, s->events[i].name);
		ev[i].attrs = copy_attrs(&c, s->events[i].attrs,
					 s->events[i].attr_count);
	}
	d->events = ev;

	if (s->link_count)
		lk = take_fixed(&c, (size_t)s->link_count * sizeof(*lk));
	for (uint32_t i = 0; i < s->link_count; i++) {
		lk[i] = s->links[i];
		lk[i].attrs = copy_attrs(&c, s->links[i].attrs,
					 s->links[i].attr_count);
	}
	d->links = lk;
	return d;
}

/* ---- the store ------------------------------------------------------ */

/* Keep `n` copied blocks and count `failed` spans that could not be
 * copied.  Blocks past capacity (or past what the pointer array can grow
 * to) are freed and counted as overflow.  Takes the lock. */
static void store_append(sr_span_data_t **blocks, size_t n, uint64_t failed)
{
	size_t keep, i = 0;

	pthread_mutex_lock(&store.lock);
	store.overflow += failed;
	keep = store.count < store.capacity ? store.capacity - store.count : 0;
	if (keep > n)
		keep = n;
	if (store.count + keep > store.alloc) {
		size_t want = store.alloc ? store.alloc : 1024;
		sr_span_data_t **p;

		while (want < store.count + keep)
			want *= 2;
		if (want > store.capacity)
			want = store.capacity;
		p = realloc(store.spans, want * sizeof(*p));
		if (p) {
			store.spans = p;
			store.alloc = want;
		} else {
			keep = store.alloc - store.count;
		}
	}
	for (; i < keep; i++)
		store.spans[store.count++] = blocks[i];
	store.overflow += n - keep;
	pthread_mutex_unlock(&store.lock);

	/* Freed outside the lock: it is a leaf lock. */
	for (; i < n; i++)
		free(blocks[i]);
}

static void store_free_locked(void)
{
	for (size_t i = 0; i < store.count; i++)
		free(store.spans[i]);
	free(store.spans);
	store.spans = NULL;
	store.count = 0;
	store.alloc = 0;
	store.overflow = 0;
}

static void memory_reset(void *ud)
{
	pthread_mutex_lock(&store.lock);
	store_free_locked();
	pthread_mutex_unlock(&store.lock);
}

SR_API size_t sr_memory_count(void)
{
	size_t n;

	pthread_mutex_lock(&store.lock);
	n = store.count;
	pthread_mutex_unlock(&store.lock);
	return n;
}

SR_API const sr_span_data_t *sr_memory_get(size_t i)
{
	const sr_span_data_t *s;

	pthread_mutex_lock(&store.lock);
	s = i < store.count ? store.spans[i] : NULL;
	pthread_mutex_unlock(&store.lock);
	return s;
}

SR_API uint64_t sr_memory_overflow(void)
{
	uint64_t n;

	pthread_mutex_lock(&store.lock);
	n = store.overflow;
	pthread_mutex_unlock(&store.lock);
	return n;
}

SR_API void sr_memory_clear(void)
{
	memory_reset(NULL);
}

/* ---- exporter callbacks ---------------------------------------------- */

/* Copies are made a chunk at a time outside the lock, so a reader waits
 * at most for one chunk's append, never for a whole batch of mallocs. */
#define MEMORY_CHUNK 64

static int parse_capacity(const char *v, size_t *out)
{
	char *end;
	unsigned long long n;

	if (*v < '0' || *v > '9')
		return SR_EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end || n == 0 || n > MEMORY_MAX_CAPACITY)
		return SR_EINVAL;
	*out = (size_t)n;
	return 0;
}

static int memory_create(void *ud, const sr_config_t *cfg, void **state,
			 char *err, size_t err_len)
{
	const char *env = getenv("SPANRING_MEMORY_CAPACITY");
	size_t capacity = MEMORY_DEFAULT_CAPACITY;
	int rc = 0;

	if (env && *env && parse_capacity(env, &capacity) != 0) {
		snprintf(err, err_len,
			 "SPANRING_MEMORY_CAPACITY='%s': expected a span count "
			 "in 1..%u", env, MEMORY_MAX_CAPACITY);
		return SR_EINVAL;
	}

	pthread_mutex_lock(&store.lock);
	if (store.instances) {
		rc = SR_ESTATE;
	} else {
		store.instances = 1;
		store.capacity = capacity;
	}
	pthread_mutex_unlock(&store.lock);
	if (rc) {
		snprintf(err, err_len,
			 "memory exporter selected twice: its store is "
			 "process-wide");
		return rc;
	}
	*state = &store;
	return 0;
}

static int memory_export(void *state, const sr_batch_t *batch,
			 uint64_t *rejected)
{
	size_t n = sr_batch_count(batch);
	sr_span_data_t *blocks[MEMORY_CHUNK];
	sr_span_data_t data = { .size = sizeof(data) };

	for (size_t base = 0; base < n; base += MEMORY_CHUNK) {
		size_t m = n - base < MEMORY_CHUNK ? n - base : MEMORY_CHUNK;
		size_t kept = 0;
		uint64_t failed = 0;

		for (size_t i = 0; i < m; i++) {
			/* A span the batch cannot decode is the core's bug;
			 * count it rather than fail the spans around it. */
			if (sr_batch_span(batch, base + i, &data) != 0 ||
			    !(blocks[kept] = span_copy(&data)))
				failed++;
			else
				kept++;
		}
		store_append(blocks, kept, failed);
	}
	return 0;
}

static void memory_destroy(void *state, uint32_t timeout_ms)
{
	/* The kept spans outlive the instance, by contract. */
	pthread_mutex_lock(&store.lock);
	store.instances = 0;
	pthread_mutex_unlock(&store.lock);
}

const sr_exporter_ops_t sr__exporter_memory = {
	.size = sizeof(sr_exporter_ops_t),
	.abi_version = SR_EXPORTER_ABI_VERSION,
	.name = "memory",
	.create = memory_create,
	.export_batch = memory_export,
	.flush = NULL,
	.destroy = memory_destroy,
	.reset = memory_reset,
	.after_fork_child = memory_after_fork_child,
};
