/*
 * config_int.h - the configuration checks sr_init() applies (config.c).
 * Reading single variables is env_int.h's.
 */
#ifndef SR_CONFIG_INT_H
#define SR_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <spanring/spanring.h>

/* Largest ring and the bounds sr__config_validate() enforces. */
#define SR__RING_RECORDS_MIN 8u
#define SR__RING_RECORDS_MAX (1u << 20)
#define SR__MAX_THREADS_MAX (1u << 16)

/*
 * Copy an application's config into a full-size struct: the first
 * min(src->size, sizeof *dst) bytes are copied and every field the
 * application did not know about (it was built against an older header)
 * gets its default.  dst->size becomes sizeof *dst.
 */
void sr__config_copy(sr_config_t *dst, const sr_config_t *src);

/*
 * Check and normalise a full-size config (see sr__config_copy) before the
 * pipeline uses it.  Zero fields and a NULL exporter list get their
 * defaults; limits beyond what a record can carry are clamped (counts and
 * value length to 65535, max_span_records to [1, min(255, ring_records)],
 * drainer_max_sleep_us to 1 s); max_export_batch_size is clamped to
 * max_queue_size, as opentelemetry-go does.  Rejected with SR_EINVAL, the
 * field and value named in sr_last_error(): cfg->size == 0, ring_records
 * not a power of two in [8, 2^20], max_threads above 65536, batch or
 * queue sizes above 2^20, overflow_records above 2^24, an unknown
 * sampler, a ratio sampler whose ratio is not in [0,1], an allocator
 * missing alloc or free.  Every field is checked; a rejected field is
 * reset to its default and the first error is returned.
 *
 * It also reads SPANRING_BACKGROUND_CPUS, _SCHED and _NICE (placement of
 * the library's own threads; sr_config_t has no fields for them) and
 * hands them to bgthread.c for the threads sr_init() starts next.  Bad
 * values are rejected the same way: a syntax error, a CPU that is not
 * online, an unknown class, a nice value outside [0, 19].  Call it under
 * the lifecycle lock.  Not hot path.
 */
int sr__config_validate(sr_config_t *cfg);

/*
 * The name a message about a string setting gives: the environment
 * variable `var` when `value` is the very string sr_config_from_env()
 * took from it (the same pointer), else the sr_config_t field `field`.
 * The user learns what they actually set.
 */
const char *sr__config_origin(const char *value, const char *var,
			      const char *field);

/*
 * This thread's last sr_config_from_env() problem, taken once: its code
 * (0 if none) and text in msg.  sr_init() reports it when it has none of
 * its own, so the detail survives sr_config_from_env() + sr_init().
 */
int sr__config_env_take(char *msg, size_t cap);

/*
 * Check an OTEL_RESOURCE_ATTRIBUTES-syntax list (resource.c) without
 * building anything: 0, or SR_EINVAL with the first malformed entry
 * described in why[] ("entry 'foo': no '='").  sr__resource_build()
 * skips exactly the entries this rejects.
 */
int sr__resource_attrs_check(const char *attrs, char *why, size_t why_len);

#endif /* SR_CONFIG_INT_H */
