/*
 * bgthread.c - how the library starts its own threads (the drainer and
 * one worker per exporter).
 *
 * They start with every signal blocked, so the application's handlers
 * never run on them and a write to a closed socket or pipe in an exporter
 * returns EPIPE instead of killing the process with SIGPIPE.
 */
#include <signal.h>

#include "pipeline_int.h"

int sr__thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
