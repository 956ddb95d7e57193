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

/* A batch span's overlay slot (sr__batch.ovl): none, or dropped or held
 * during the current process() call, or the arena offset of its edited
 * view (below SR__OVL_HELD, the lowest mark). */
#define SR__OVL_NONE UINT32_MAX
#define SR__OVL_DROPPED (UINT32_MAX - 1)
#define SR__OVL_HELD (UINT32_MAX - 2)
#define SR__OVL_GONE(v) ((v) == SR__OVL_DROPPED || (v) == SR__OVL_HELD)

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
	/* Counters: drainer ck_pr_add_64, stats ck_pr_load_64 (held: the
	 * drainer adds and subtracts; shutdown zeroes it after the drainer
	 * stopped). */
	uint64_t batches, spans_in, modified, dropped, ns, held, emitted;
	uint64_t due;                    /* ops->due's answer; drainer only */
	uint32_t nrules;                 /* see sr__proc_rule             */
	/* The last entry is "other": rules past SR_PROCESSOR_MAX_RULES-1. */
	struct sr__proc_rule rules[SR_PROCESSOR_MAX_RULES];
};

#define SR__MEMO_NONE UINT32_MAX

/* The chain: set by sr_init(), run by the drainer alone. */
struct sr__proc_stage {
	struct sr__processor procs[SR__MAX_PROCESSORS];
	uint32_t n;
	uint32_t arena_bytes;            /* per batch                     */
	uint64_t flushed;                /* last flush generation passed on */
	struct sr__scratch scratch;      /* drainer's decode scratch       */
	/* The shared decode: a span's head decoded by one processor is kept
	 * for the ones after it in the same run (records never change; an
	 * edited span is read from its overlay instead).  memo_of: per span
	 * index of the batch being run, its slot or SR__MEMO_NONE, moved
	 * along by compaction; memo: memo_cap (= batch_spans) slots, taken
	 * in order from 0 in each run.  Drainer only. */
	sr_span_data_t *memo;
	uint32_t *memo_of;
	uint32_t memo_cap, memo_used;
};

/* What a processor's sr_proc_batch_t is: the batch, the processor it is
 * given to (for counting), a decode view with the drainer's scratch, and
 * when the run started. */
struct sr_proc_batch {
	struct sr__pipeline *p;
	struct sr__batch *b;
	struct sr__processor *proc;
	struct sr_batch view;
	uint64_t now;
	/* Spans this processor's call dropped or held: none, no compaction. */
	uint32_t gone;
	/* sr_proc_hold_size's last answer (for span sized_i), which the
	 * sr_proc_hold that follows it takes; any change to a span's state
	 * forgets it (sized_i = SIZE_MAX). */
	size_t sized_i, sized_len;
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
/* Drainer, each pass: a processor whose due time passed runs even without
 * new spans (the open batch is handed over, or an empty one).  False
 * while one is still due (no batch free, or more to emit): go on without
 * pausing. */
bool sr__processors_tick(struct sr__pipeline *p, uint64_t now);
/* Drainer's final pass: ask every processor to let go of what it holds
 * (their flush), then tick.  False while spans are still held. */
bool sr__processors_finish(struct sr__pipeline *p, uint64_t now);
/* Drainer's final pass past its deadline: what is still held is lost,
 * counted dropped_shutdown. */
void sr__processors_abandon(struct sr__pipeline *p);
/* Spans held by the processors now (a flush that timed out reports them). */
uint64_t sr__processors_held(struct sr__pipeline *p);
/* Counted out of `rule` (the drop and hold bookkeeping, processor_hold.c). */
struct sr__proc_rule *sr__proc_rule_of(struct sr__processor *pr,
				       const char *rule);

/* Shutdown (drainer stopped) or a failed init: shutdown every instance. */
void sr__processors_stop(struct sr__pipeline *p);
/* Pipeline free: batch memory and scratch. */
void sr__processors_free(struct sr__pipeline *p);
/* Stats: keep the final numbers at shutdown. */
void sr__processors_keep_stats(struct sr__pipeline *p);

#endif /* SR_PROCESSOR_STAGE_INT_H */
