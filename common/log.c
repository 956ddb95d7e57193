/*
 * log.c - the library's own rate-limited log on stderr (see log_int.h).
 *
 * The bucket holds up to `rate` tokens and gains `rate` a minute; a
 * message takes one or is suppressed.  State is under one mutex: the log
 * is for rare events, and a writer that waits for it is never on the
 * hot path.  Counters are read by stats with relaxed atomic loads.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log_int.h"

#define MINUTE_NS 60000000000ull

static uint64_t real_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* Under `lock`. */
static int level = SR__LOG_INFO;       /* the OpenTelemetry default */
static uint32_t rate = 10;             /* messages a minute          */
static uint64_t tokens_ns;             /* the bucket's fill, as time: full is
                                          MINUTE_NS, a message costs
                                          MINUTE_NS / rate (see take())   */
static uint64_t last_ns;
static bool primed;
static uint64_t unsaid;                /* suppressed since the last line */
static uint64_t (*clock_fn)(void) = real_now_ns;
/* Written under `lock`, read by stats with relaxed loads. */
static uint64_t n_written, n_suppressed;

void sr__log_configure(int lvl, uint32_t per_min)
{
	pthread_mutex_lock(&lock);
	level = lvl >= SR__LOG_NONE && lvl <= SR__LOG_DEBUG ? lvl : SR__LOG_INFO;
	rate = per_min ? per_min : 1;
	primed = false; /* a full bucket for the new pipeline */
	pthread_mutex_unlock(&lock);
}

/* Under lock: true if the bucket has a message's worth for one more. */
static bool take(void)
{
	uint64_t now = clock_fn(), per = MINUTE_NS / rate;

	if (!primed) {
		tokens_ns = MINUTE_NS;
		primed = true;
	} else if (now > last_ns) {
		tokens_ns += now - last_ns;
		if (tokens_ns > MINUTE_NS)
			tokens_ns = MINUTE_NS;
	}
	last_ns = now;
	if (tokens_ns < per)
		return false;
	tokens_ns -= per;
	return true;
}

static const char *level_name(int lvl)
{
	switch (lvl) {
	case SR__LOG_ERROR: return "error";
	case SR__LOG_WARN: return "warning";
	case SR__LOG_INFO: return "info";
	default: return "debug";
	}
}

void sr__log(int lvl, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n, m;

	pthread_mutex_lock(&lock);
	if (lvl > level || level == SR__LOG_NONE) {
		pthread_mutex_unlock(&lock);
		return;
	}
	if (!take()) {
		unsaid++;
		__atomic_store_n(&n_suppressed, n_suppressed + 1, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&lock);
		return;
	}
	n = snprintf(line, sizeof(line), "spanring: %s: ", level_name(lvl));
	va_start(ap, fmt);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	n = m < 0 ? n : n + m;
	if (n > (int)sizeof(line) - 128)
		n = (int)sizeof(line) - 128; /* cut: room for the note */
	if (unsaid)
		n += snprintf(line + n, sizeof(line) - (size_t)n,
			      " (%llu earlier messages suppressed: over "
			      "SPANRING_LOG_RATE=%u a minute)",
			      (unsigned long long)unsaid, rate);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	line[n++] = '\n';
	unsaid = 0;
	/* One write: a line is never interleaved with another writer's. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nowhere left to say it. */
	}
	__atomic_store_n(&n_written, n_written + 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&lock);
}

uint64_t sr__log_written(void)
{
	return __atomic_load_n(&n_written, __ATOMIC_RELAXED);
}

uint64_t sr__log_suppressed(void)
{
	return __atomic_load_n(&n_suppressed, __ATOMIC_RELAXED);
}

void sr__log_after_fork_child(void)
{
	pthread_mutex_init(&lock, NULL);
}

void sr__log_set_clock(uint64_t (*now_ns)(void))
{
	pthread_mutex_lock(&lock);
	clock_fn = now_ns ? now_ns : real_now_ns;
	primed = false;
	pthread_mutex_unlock(&lock);
}
