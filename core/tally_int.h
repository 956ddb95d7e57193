/*
 * tally_int.h - sampled spans counted at their start (tally.c).
 *
 * A sampled start adds one to its thread's TLS tally (one instruction,
 * nothing shared touched); a stats snapshot sums the tallies of every
 * live thread in place, under a lock, plus what exited threads left in
 * the pipeline.  So `sampled` counts a span from its start and `open`
 * (sampled, not yet ended) shows a span that was started and never
 * ended, at no cost to the hot path beyond that add.
 */
#ifndef SR_TALLY_INT_H
#define SR_TALLY_INT_H

#include "tls_int.h"

struct sr__pipeline;

/* Owner thread, hot path: one more sampled start. */
static inline void sr__tally_bump(struct sr__start_tally *t)
{
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
	/* One instruction: atomic against a signal handler on this thread,
	 * and an aligned 8-byte store is never torn for a reader. */
	__asm__ __volatile__("addq $1, %0" : "+m"(t->sampled));
#else
	__atomic_fetch_add(&t->sampled, 1, __ATOMIC_RELAXED);
#endif
}

/* Slow path of a start (span_start.c's tls_sync): this thread's tally
 * belongs to generation `gen` (zeroed if it counted for another) and is
 * on the list stats read. */
void sr__tally_sync(uint32_t gen);

/* Thread exit (registry.c): fold this thread's tally into p (the live
 * pipeline, or NULL) and leave the list. */
void sr__tally_exit(struct sr__pipeline *p);

/* Stats: sampled starts in p's generation, live threads and exited ones. */
uint64_t sr__tally_sum(struct sr__pipeline *p);

/* Fork child: only this thread is left. */
void sr__tally_after_fork_child(void);

#endif /* SR_TALLY_INT_H */
