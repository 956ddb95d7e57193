/*
 * testutil.h - shared helpers for spanring's tests.
 *
 * Tests use cmocka for unit tests (one behaviour per test function) and
 * plain main() + SR_CHECK for stress tests.  Seeds: every randomised test
 * takes its seed from sr_test_seed(), which prints it and honours
 * SR_TEST_SEED.
 */
#ifndef SR_TESTUTIL_H
#define SR_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include <spanring/spanring.h>

/* Seed for randomised tests: SR_TEST_SEED if set, else `def`; printed. */
uint64_t sr_test_seed(uint64_t def);

/* Small deterministic PRNG (splitmix64) for tests. */
static inline uint64_t sr_test_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Init with the memory exporter only, always_on sampling, no env. The
 * config may be tweaked by `tweak` (may be NULL) before sr_init(). */
int sr_test_init_memory(void (*tweak)(sr_config_t *cfg));

/* Assert the accounting invariant on a flushed/shut-down pipeline:
 * sampled == exported + sum(dropped_*), processor drops included.
 * Returns 0 or prints and -1. */
int sr_test_check_invariant(const sr_stats_t *st);

/* Register an exporter named "check" that decodes every span it is handed
 * and counts it in *checked, and in *bad too when that fails or ok()
 * says no (called on the exporter's one worker thread).  0 or an SR_E
 * code. */
/* Register the exporter "slow": it delivers every batch after sleeping
 * `ms_per_batch` ms, so batches wait in its queue.  One delay per
 * process (the last registered). */
int sr_test_register_slow(uint32_t ms_per_batch);

int sr_test_register_check(bool (*ok)(const sr_span_data_t *),
			   uint64_t *checked, uint64_t *bad);

/* The integer attribute `key` of a decoded span: true and *out, or false. */
bool sr_test_attr_int(const sr_span_data_t *d, const char *key, int64_t *out);

/* A processor's rule `name`: its dropped (or, !dropped, noted) count; 0
 * when the processor has no such rule. */
uint64_t sr_test_proc_rule(const sr_processor_stats_t *ps, const char *name,
			   bool dropped);

/* Find the first kept span (memory exporter) with this name, or NULL. */
const sr_span_data_t *sr_test_find_span(const char *name);

/* ---- exporters that write files or post to a receiver
 * (testutil_exporters.c) ---------------------------------------------- */

/* A fresh directory under $TMPDIR (or the system's temporary directory)
 * in out; 0 or -1. */
int sr_test_mkdtemp(char *out, size_t len, const char *tag);
/* Remove a directory tree. */
void sr_test_rmtree(const char *dir);
/* Whole file, NUL-terminated, malloc'd; NULL if it cannot be read. */
char *sr_test_read_file(const char *path, size_t *len);
/* Spans in one OTLP/JSON ExportTraceServiceRequest; -1 if malformed. */
long sr_test_otlp_spans(json_t *root);

/* What a file of OTLP/JSON lines holds. */
struct sr_test_lines {
	long lines;      /* complete lines (ending in '\n')                */
	long bad;        /* lines that are not one OTLP/JSON request       */
	long spans;      /* spans in the good lines                        */
	bool partial;    /* the file ends with an unterminated line        */
};

int sr_test_scan_lines(const char *path, struct sr_test_lines *out);
/* Per-exporter counters of the running (or last) pipeline by name. */
int sr_test_exporter_stats(const char *name, sr_exporter_stats_t *out);
/*
 * Producer threads, run to completion: `threads` (at most
 * SR_TEST_PRODUCERS_MAX) each end `spans` spans named `name` (NULL: "op")
 * of `kind`, with the int attributes "i" (the span's number) and
 * "producer" (the thread's).  pace_every > 0: each sleeps 2 ms after that
 * many spans, so a long run stays within the rings when the point is the
 * exporter.  max_end_ns is set to the longest sr_span_end() any of them
 * took (the hot path must not wait for an exporter).
 */
#define SR_TEST_PRODUCERS_MAX 16
/* CLOCK_MONOTONIC in ns. */
uint64_t sr_test_now_ns(void);
struct sr_test_producers {
	unsigned threads, spans;
	const char *name;
	sr_span_kind_t kind;
	unsigned pace_every;
	uint64_t max_end_ns;       /* out */
};
void sr_test_produce(struct sr_test_producers *c);
/*
 * What an OTLP exporter test case expects of the counters after
 * shutdown; sr_test_check_otlp() asserts each that is set (cmocka tests
 * only).
 */
struct sr_test_otlp_want {
	bool all_exported;         /* exported == sampled                  */
	bool none_exported;        /* exported == 0                        */
	uint64_t rejected;         /* spans_rejected (partial success)     */
	int fail_cause;            /* request_fail[fail_cause] > 0         */
	bool retried;              /* retries > 0                          */
	bool not_retried;          /* retries == 0                         */
};
void sr_test_check_otlp(const struct sr_test_otlp_want *w, const sr_stats_t *st,
			const sr_otlp_stats_t *os);
/* n producers of `spans` SERVER spans named "op". */
void sr_test_produce_all(int n, int spans);
/*
 * cmocka tests only: sr_init() through sr_test_init_memory(tweak), whose
 * exporter list holds the exporter under test and "memory", with
 * var=value: it must fail with an error naming `var` and containing
 * `needle`, and the pipeline must run with the memory exporter alone.
 * var gets its previous value back.
 */
void sr_test_expect_create_error(void (*tweak)(sr_config_t *),
				 const char *var, const char *value,
				 const char *needle);

/* Failure check for non-cmocka tests. */
#define SR_CHECK(cond)                                                       \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                            \
			exit(1);                                             \
		}                                                            \
	} while (0)

#endif /* SR_TESTUTIL_H */
