/*
 * console_tree_int.h - the trace tree the console exporter prints
 * (console_tree.c).  One per exporter instance, used by its worker only;
 * it grows with the largest batch seen and is reused.
 */
#ifndef SR_CONSOLE_TREE_INT_H
#define SR_CONSOLE_TREE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <spanring/spanring.h>

#define SR__CTREE_NONE UINT32_MAX

/* One span of the batch being printed, as the tree needs it. */
struct sr__ctree_node {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_id[8];
	uint64_t start_ns;
	uint32_t idx;         /* position in the batch                      */
	uint32_t parent;      /* node index; SR__CTREE_NONE for a root of this batch  */
	uint32_t child;       /* first child, children in start order       */
	uint32_t last_child;
	uint32_t sibling;     /* next child of the same parent (or root)    */
	uint8_t has_parent;   /* parent_span_id is not all zero             */
	uint8_t visited;
};

struct sr__ctree_group {            /* one trace: nodes[first .. first + count)   */
	uint32_t first;
	uint32_t count;
	uint64_t start_ns;    /* earliest start in the trace                */
};

struct sr__ctree {
	struct sr__ctree_node *nodes;   /* `cap` each; table has 2 * cap slots */
	struct sr__ctree_group *groups;
	uint32_t *table;      /* open-addressing (trace, span id) -> node   */
	size_t cap;
	size_t table_mask;
	uint32_t count;       /* nodes added since the last reset           */
	uint32_t ngroups;     /* traces, after sr__ctree_group_traces()     */
};

/* Room for n spans (n < SR__CTREE_NONE); 0 or SR_ENOMEM. */
int sr__ctree_reserve(struct sr__ctree *t, size_t n);
void sr__ctree_free(struct sr__ctree *t);

/* Start a batch, add its spans (idx: position in the batch), then group
 * them: groups[0 .. ngroups) in order of each trace's earliest start. */
static inline void sr__ctree_reset(struct sr__ctree *t) { t->count = 0; }
void sr__ctree_add(struct sr__ctree *t, const sr_span_data_t *s, uint32_t idx);
void sr__ctree_group_traces(struct sr__ctree *t);

/* Visit every span of trace g once, parents before children, children
 * in start order; depth 0 for the roots. */
typedef void (*sr__ctree_visit_fn)(void *arg, const struct sr__ctree_node *n,
				   uint32_t depth);
void sr__ctree_walk(struct sr__ctree *t, const struct sr__ctree_group *g,
		    sr__ctree_visit_fn visit, void *arg);

#endif /* SR_CONSOLE_TREE_INT_H */
