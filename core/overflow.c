/*
 * overflow.c - the shared pool of continuation chunks.
 *
 * A span whose items outgrow the 14 slots inside sr_span_t borrows
 * 256-byte chunks from this pool and gives them back when it ends.  The
 * pool is a Treiber stack with ck_stack's generation-counted MPMC pop
 * (double-width CAS), so any thread may take or return chunks without a
 * lock and without ABA.  This is the slow path: most spans never get here.
 * When the pool is empty the item is dropped and counted
 * (overflow_exhausted); raise overflow_records if that shows up.
 */
#include "pipeline_int.h"

#define CHUNK_OF(e) \
	((struct sr__chunk *)((char *)(e) - offsetof(struct sr__chunk, entry)))

struct sr__chunk *sr__chunk_get(struct sr__pipeline *p)
{
	ck_stack_entry_t *e = ck_stack_pop_mpmc(&p->overflow);

	if (!e)
		return NULL;
	SR_TSAN_ACQUIRE(e);
	return CHUNK_OF(e);
}

void sr__chunk_put(struct sr__pipeline *p, struct sr__chunk *c)
{
	SR_TSAN_RELEASE(&c->entry);
	ck_stack_push_mpmc(&p->overflow, &c->entry);
}
