/*
 * bgthread_int.h - the library's own threads (the drainer, one worker per
 * exporter): how they are started, named, placed and prioritised.
 *
 * Placement and priority come from SPANRING_BACKGROUND_CPUS, _SCHED and
 * _NICE (docs/architecture.md, "Background threads"), read and checked
 * by sr__config_validate() at sr_init(), so a bad value fails sr_init()
 * with the variable and value named before any thread starts.
 */
#ifndef SR_BGTHREAD_INT_H
#define SR_BGTHREAD_INT_H

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#include "thread_start_int.h"

enum sr__bg_sched {
	SR__BG_SCHED_INHERIT = 0, /* unset: the creating thread's policy    */
	SR__BG_SCHED_NORMAL,      /* SCHED_OTHER                            */
	SR__BG_SCHED_BATCH,       /* SCHED_BATCH: no wake-up preemption     */
	SR__BG_SCHED_IDLE         /* SCHED_IDLE: runs when nothing else can */
};

/* Settings for the background threads; all zero = inherit everything. */
struct sr__bg_opts {
	bool cpus_set;
	cpu_set_t cpus;          /* online CPUs only (checked)              */
	char cpus_text[48];      /* the value as given, for messages        */
	enum sr__bg_sched sched;
	bool nice_set;
	int nice;                /* [0, 19]                                 */
};

/*
 * Settings that threads started from now on get.  Called by
 * sr__config_validate() under sr__g.lifecycle_lock; read by
 * sr__thread_start*() which only run inside sr_init(), under the same
 * lock, so plain stores and loads suffice.
 */
void sr__bg_configure(const struct sr__bg_opts *o);

/* sr__thread_start_named(): thread_start_int.h, shared with the layers
 * above the core. */

/*
 * A CPU list as Linux writes one ("0-3,6") into *set (config.c, which
 * reads SPANRING_BACKGROUND_CPUS with it; the bench's floor consumers
 * place themselves with it too).  False with the first problem in why[].
 */
bool sr__parse_cpulist(const char *v, size_t len, cpu_set_t *set,
		       char *why, size_t why_len);

/* Settings the kernel refused since the process started (see above). */
uint64_t sr__bg_apply_failures(void);

#endif /* SR_BGTHREAD_INT_H */
