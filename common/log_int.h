/*
 * log_int.h - the library's own log on stderr (log.c): warnings and
 * errors an operator must see (an exporter that stopped delivering, spans
 * starting to drop), at the level OTEL_LOG_LEVEL asks for, and never
 * more often than the configured rate.
 *
 * One line per message, written with one write(2): "spanring: <level>:
 * <text>".  A token bucket of `rate_per_min` messages (burst: as many)
 * bounds the output; a message over the rate is counted in `suppressed`
 * and the next one written says how many went unsaid.  Messages below
 * the level are neither written nor counted.  Off the hot path only:
 * the callers are the init thread, exporter workers and the drainer, and
 * a mutex serialises them.  Text given to sr__log must never hold a
 * header value (OTLP headers carry credentials).
 */
#ifndef SR_LOG_INT_H
#define SR_LOG_INT_H

#include <stdbool.h>
#include <stdint.h>

/* Same values as the public sr_log_level_t (spanring.h). */
enum sr__log_level {
	SR__LOG_NONE = 1,
	SR__LOG_ERROR = 2,
	SR__LOG_WARN = 3,
	SR__LOG_INFO = 4,
	SR__LOG_DEBUG = 5,
};

/* Level (SR__LOG_*) and rate (messages per minute, >= 1) from sr_init. */
void sr__log_configure(int level, uint32_t rate_per_min);

void sr__log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Messages written, and dropped for the rate, since the process began. */
uint64_t sr__log_written(void);
uint64_t sr__log_suppressed(void);

/* Fork child: the lock may have been held by a thread that is gone. */
void sr__log_after_fork_child(void);

/* Tests: the clock the bucket refills by (monotonic ns); NULL restores
 * the real one. */
void sr__log_set_clock(uint64_t (*now_ns)(void));

#endif /* SR_LOG_INT_H */
