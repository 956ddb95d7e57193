/*
 * bgthread.c - how the library starts its own threads (the drainer and
 * one worker per exporter): blocked signals, a name, and the placement
 * and priority the application asked for.
 *
 * Signals are all blocked, so the application's handlers never run on
 * these threads and a write to a closed socket or pipe in an exporter
 * returns EPIPE instead of killing the process with SIGPIPE.
 *
 * Placement matters to latency-sensitive applications: the threads
 * inherit the creating thread's CPU affinity, so an application pinned to
 * its hot core would otherwise share that core with the drainer, and CFS
 * wake-up preemption lets the drainer cut into its requests.  With
 * SPANRING_BACKGROUND_CPUS/_SCHED/_NICE the application moves them to a
 * housekeeping core and/or a lower scheduling class.
 *
 * The new thread applies its own settings before it runs its function,
 * while its creator waits, so it never does work with the inherited
 * settings and the creator learns whether the kernel took them.  A
 * refusal is not fatal (see bgthread_int.h): the values were checked at
 * sr_init(), so only a change made outside the process since then (a
 * cpuset shrunk, RLIMIT_NICE) gets here, and tracing with inherited
 * placement beats no tracing.
 *
 * Left out: real-time classes (SCHED_FIFO/RR) and raising priority
 * (a negative nice): housekeeping threads have no business above the
 * application's, and both need privileges.
 */
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bgthread_int.h"
#include "pipeline_int.h"

/* Written by sr__bg_configure(), read by thread starts: both under the
 * lifecycle lock (see bgthread_int.h). */
static struct sr__bg_opts bg;

/* Any thread that failed to apply a setting adds 1 (ck_pr); readers load. */
static uint64_t apply_failures;

void sr__bg_configure(const struct sr__bg_opts *o)
{
	bg = *o;
}

uint64_t sr__bg_apply_failures(void)
{
	return ck_pr_load_64(&apply_failures);
}

/* On the creator's stack; valid until the new thread posts `applied`. */
struct start {
	void *(*fn)(void *);
	void *arg;
	char name[16];
	const struct sr__bg_opts *opts;
	sem_t applied;
	char failed[160];  /* what the kernel refused, empty if nothing */
};

static const int policy_of[] = {
	[SR__BG_SCHED_NORMAL] = SCHED_OTHER,
	[SR__BG_SCHED_BATCH] = SCHED_BATCH,
	[SR__BG_SCHED_IDLE] = SCHED_IDLE,
};
static const char *const sched_name[] = {
	[SR__BG_SCHED_NORMAL] = "normal",
	[SR__BG_SCHED_BATCH] = "batch",
	[SR__BG_SCHED_IDLE] = "idle",
};

/* Runs on the new thread: name, CPUs, class, nice, in that order (the
 * class before nice: a switch of class keeps the nice value). */
static void apply(struct start *s)
{
	const struct sr__bg_opts *o = s->opts;
	struct sched_param sp = { .sched_priority = 0 };
	size_t n = 0;
	int rc;

	pthread_setname_np(pthread_self(), s->name);
	if (o->cpus_set) {
		rc = pthread_setaffinity_np(pthread_self(), sizeof(o->cpus),
					    &o->cpus);
		if (rc)
			n += (size_t)snprintf(s->failed + n, sizeof(s->failed) - n,
					      "SPANRING_BACKGROUND_CPUS=%s (%s) ",
					      o->cpus_text, strerror(rc));
	}
	if (o->sched != SR__BG_SCHED_INHERIT && n < sizeof(s->failed)) {
		rc = pthread_setschedparam(pthread_self(), policy_of[o->sched],
					   &sp);
		if (rc)
			n += (size_t)snprintf(s->failed + n, sizeof(s->failed) - n,
					      "SPANRING_BACKGROUND_SCHED=%s (%s) ",
					      sched_name[o->sched], strerror(rc));
	}
	if (o->nice_set && n < sizeof(s->failed) &&
	    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), o->nice) != 0)
		snprintf(s->failed + n, sizeof(s->failed) - n,
			 "SPANRING_BACKGROUND_NICE=%d (%s) ", o->nice,
			 strerror(errno));
}

static void *trampoline(void *v)
{
	struct start *s = v;
	void *(*fn)(void *) = s->fn;
	void *arg = s->arg;

	apply(s);
	sem_post(&s->applied); /* s is gone after this */
	return fn(arg);
}

int sr__thread_start_named(pthread_t *t, const char *name,
			   void *(*fn)(void *), void *arg)
{
	struct start s = { .fn = fn, .arg = arg, .opts = &bg };
	sigset_t all, old;
	int rc;

	snprintf(s.name, sizeof(s.name), "%s", name);
	if (sem_init(&s.applied, 0, 0) != 0)
		return errno;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, trampoline, &s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == 0) {
		while (sem_wait(&s.applied) != 0 && errno == EINTR)
			;
		if (s.failed[0]) {
			s.failed[strlen(s.failed) - 1] = '\0'; /* the last ' ' */
			ck_pr_inc_64(&apply_failures);
			fprintf(stderr,
				"spanring: thread %s runs with inherited "
				"settings: the kernel refused %s\n",
				s.name, s.failed);
		}
	}
	sem_destroy(&s.applied);
	return rc;
}

/* The drainer's entry point (drainer.c); exporter workers name theirs. */
int sr__thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	return sr__thread_start_named(t, "sr-drainer", fn, arg);
}
