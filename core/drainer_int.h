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

/*
 * The pause after a pass, in ns; 0: poll again at once.
 *
 *   last       the previous pause (0 after a pass that did not pause)
 *   since      ns from the previous pass's start to this one's
 *   spent      ns from this pass's start to now (its copying)
 *   fullest    records the fullest ring held when this pass looked
 *   cap        records a ring holds
 *   max_pause  drainer_max_sleep_us, in ns
 *
 * Promise: with fullest > 0 the pause is 0 or ends no later than the
 * fullest ring, at the rate it just showed, has gathered a quarter of cap
 * since this pass looked ((spent + pause) * fullest <= since * (cap / 4)),
 * and it is at most max_pause.
 * Pure function; any thread.
 */
uint64_t sr__drainer_pause(uint64_t last, uint64_t since, uint64_t spent,
			   uint32_t fullest, uint32_t cap, uint64_t max_pause);

#endif /* SR_DRAINER_INT_H */
