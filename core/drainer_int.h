/*
 * drainer_int.h - the drainer's pause policy (drainer.c), declared apart
 * so that tests can hold it to its promise without running a thread.
 */
#ifndef SR_DRAINER_INT_H
#define SR_DRAINER_INT_H

#include <stdint.h>

/* Shortest pause the drainer sleeps (ns): below it the timer's slack (50 us
 * by default on Linux) and the wake-up would overshoot the plan many times
 * over, so the drainer polls again instead. */
#define SR__DRAINER_MIN_SLEEP_NS 50000u

/* How late a timer fires on a quiet CPU (ns): the kernel's default timer
 * slack.  The pause ends this much before the ring would ring its bell,
 * so that on time it is the timer, not the producer, that wakes the
 * drainer. */
#define SR__DRAINER_SLACK_NS 50000u

/* Records given back to a ring's producer at least this often (or every
 * quarter ring, if less) while the drainer copies them out: a producer
 * whose ring is full gets room back during a long drain, not only at its
 * end.  A release is one store.  (Here for the benchmark floor, which
 * releases as the drainer does.) */
#define SR__RELEASE_EVERY 1024u

/* Records waiting in a ring of `cap` that make its producer ring the
 * drainer's doorbell (registry.c), and that the pause aims at. */
static inline uint32_t sr__doorbell_mark(uint32_t cap)
{
	return cap / 2;
}

/* What one pass saw, for the pause after it (counts in records, but
 * total and pool in spans). */
struct sr__drain_look {
	uint64_t since;    /* ns from the previous pass's start to this one's */
	uint64_t spent;    /* ns from this pass's start to its end (copying)   */
	uint64_t total;    /* spans waiting in all rings together (those the
	                      pass copied: a pass that left some pauses not) */
	uint32_t fullest;  /* records waiting in the fullest ring              */
	uint32_t cap;      /* records one ring holds                           */
	uint32_t mark;     /* records waiting that ring the doorbell           */
	uint32_t pool;     /* spans the batch pool takes before an exporter
	                      must give a batch back                           */
};

/*
 * The pause after a pass, in ns; 0: poll again at once.  `last` is the
 * previous pause (0 after a pass that did not pause).
 *
 * Promise: when the pass found records, the pause is 0, or it ends, timer
 * slack included, no later than, at the rates the pass just saw, the
 * fullest ring has gathered `mark` records (when its producer would ring
 * the doorbell) and all rings together half of pool, counted from this
 * pass's look:
 *   (spent + pause + SR__DRAINER_SLACK_NS) * fullest <= since * mark
 *   (spent + pause + SR__DRAINER_SLACK_NS) * total   <= since * (pool / 2)
 * and it is at most max_pause.  A pass that found a ring past the middle
 * of the room above the mark (the drainer came late: its CPU was busy)
 * gets no pause.  A pass that found nothing pauses twice as long as the
 * last, up to max_pause.  Pure function; any thread.
 */
uint64_t sr__drainer_pause(uint64_t last, const struct sr__drain_look *l,
			   uint64_t max_pause);

#endif /* SR_DRAINER_INT_H */
