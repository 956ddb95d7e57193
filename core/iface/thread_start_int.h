/*
 * thread_start_int.h - how every library thread starts, for the layers
 * above the core that run threads of their own (metrics/): the same
 * start the drainer and the exporter workers get (core/bgthread.c), so a
 * thread of any layer obeys SPANRING_BACKGROUND_CPUS, _SCHED and _NICE.
 */
#ifndef SR_THREAD_START_INT_H
#define SR_THREAD_START_INT_H

#include <pthread.h>

/*
 * Start a library thread named `name` (at most 15 bytes are kept; the
 * kernel's limit) with every signal blocked, then place and prioritise it
 * as configured (SPANRING_BACKGROUND_*) before `fn` runs.  Returns
 * pthread_create's result.  If the kernel refuses a setting (a cpuset
 * changed since sr_init() checked the CPUs, RLIMIT_NICE, ...), the thread
 * runs with what it inherited, the failure is counted
 * (sr__bg_apply_failures) and described on stderr.  Waits until the new
 * thread has applied its settings.  Only inside sr_init() (the settings
 * are read under its lock).  Not hot path.
 */
int sr__thread_start_named(pthread_t *t, const char *name,
			   void *(*fn)(void *), void *arg);

#endif /* SR_THREAD_START_INT_H */
