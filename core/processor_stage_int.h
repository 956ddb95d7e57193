/*
 * processor_stage_int.h - the processor chain of a running pipeline
 * (processor_stage.c): the drainer runs it on each batch just before the
 * batch goes to the exporters (docs/processors.md).
 */
#ifndef SR_PROCESSOR_STAGE_INT_H
#define SR_PROCESSOR_STAGE_INT_H

#include "batch_int.h"

struct sr__pipeline;

#define SR__MAX_PROCESSORS 16
#define SR__RULE_NAME 32

/* A batch span's overlay slot (sr__batch.ovl): none, or dropped during
 * the current process() call, or the arena offset of its edited view. */
#define SR__OVL_NONE UINT32_MAX
#define SR__OVL_DROPPED (UINT32_MAX - 1)

/* One counted rule of a processor.  The drainer writes the name before
 * it publishes the rule by raising nrules (ck_pr_store_32 after a
 * fence_store); counters: ck_pr_add_64 by the drainer, ck_pr_load_64 by
 * stats readers. */
struct sr__proc_rule {
	char name[SR__RULE_NAME];
	uint64_t dropped, noted;
};

/* One running processor.  ops, state and name are set by sr_init()
 * before the drainer starts and read-only until shutdown. */
struct sr__processor {
	const sr_processor_ops_t *ops;
	void *state;
	char name[32];
	/* Counters: drainer ck_pr_add_64, stats ck_pr_load_64. */
	uint64_t batches, spans_in, modified, dropped, ns;
	uint32_t nrules;                 /* see sr__proc_rule             */
	/* The last entry is "other": rules past SR_PROCESSOR_MAX_RULES-1. */
	struct sr__proc_rule rules[SR_PROCESSOR_MAX_RULES];
};

/* The chain: set by sr_init(), run by the drainer alone. */
struct sr__proc_stage {
	struct sr__processor procs[SR__MAX_PROCESSORS];
	uint32_t n;
	uint32_t arena_bytes;            /* per batch                     */
	uint64_t flushed;                /* last flush generation passed on */
	struct sr__scratch scratch;      /* drainer's decode scratch       */
};

/* processor_stage.c */
/* The optional hooks of the registered tables are not needed: processors
 * keep no state beyond an instance. */
int sr__processors_start(struct sr__pipeline *p, const sr_config_t *cfg);
/* After sr__batches_init: every batch's overlay index and arena. */
int sr__processors_batch_mem(struct sr__pipeline *p);
/* Drainer: run the chain on batch b once (b->processed), compacting out
 * what the processors dropped. */
void sr__processors_run(struct sr__pipeline *p, struct sr__batch *b);
/* Drainer: sr_flush() asked for generation gen; call every flush hook,
 * once per generation. */
void sr__processors_flush(struct sr__pipeline *p, uint64_t gen);
/* Shutdown (drainer stopped) or a failed init: shutdown every instance. */
void sr__processors_stop(struct sr__pipeline *p);
/* Pipeline free: batch memory and scratch. */
void sr__processors_free(struct sr__pipeline *p);
/* Stats: keep the final numbers at shutdown. */
void sr__processors_keep_stats(struct sr__pipeline *p);

#endif /* SR_PROCESSOR_STAGE_INT_H */
