/*
 * console_tree.c - the console exporter's trace tree (console_tree_int.h):
 * a batch's spans grouped by trace, each trace's spans linked to their
 * parents in start order, and walked depth-first so that every span is
 * visited exactly once, whatever ids the batch holds (missing parents make
 * roots, duplicate or cyclic ids are cut).
 */
#include "console_tree_int.h"

#include <stdlib.h>
#include <string.h>

static int cmp_node(const void *a, const void *b)
{
	const struct sr__ctree_node *x = a, *y = b;
	int r = memcmp(x->trace_id, y->trace_id, 16);

	if (r)
		return r;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_group(const void *a, const void *b)
{
	const struct sr__ctree_group *x = a, *y = b;

	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

static size_t id_hash(const uint8_t span_id[8], size_t mask)
{
	uint64_t v;

	memcpy(&v, span_id, 8);
	v *= 0x9e3779b97f4a7c15ull; /* ids are random; this mixes zeros */
	return (size_t)(v >> 32) & mask;
}

static void table_insert(struct sr__ctree *c, uint32_t x)
{
	size_t h = id_hash(c->nodes[x].span_id, c->table_mask);

	while (c->table[h] != SR__CTREE_NONE)
		h = (h + 1) & c->table_mask;
	c->table[h] = x;
}

/* Node of span (trace_id, span_id), SR__CTREE_NONE if not in the batch.  With
 * duplicate ids the first inserted wins. */
static uint32_t table_find(const struct sr__ctree *c, const uint8_t *trace_id,
			   const uint8_t *span_id)
{
	size_t h = id_hash(span_id, c->table_mask);

	for (uint32_t x; (x = c->table[h]) != SR__CTREE_NONE;
	     h = (h + 1) & c->table_mask) {
		if (memcmp(c->nodes[x].span_id, span_id, 8) == 0 &&
		    memcmp(c->nodes[x].trace_id, trace_id, 16) == 0)
			return x;
	}
	return SR__CTREE_NONE;
}

static void add_child(struct sr__ctree *c, uint32_t p, uint32_t x)
{
	if (c->nodes[p].child == SR__CTREE_NONE)
		c->nodes[p].child = x;
	else
		c->nodes[c->nodes[p].last_child].sibling = x;
	c->nodes[p].last_child = x;
}

/* Visit the subtree under `root` depth-first without recursion (a batch
 * may hold a chain as deep as it is long). */
static void walk_subtree(struct sr__ctree *c, uint32_t root,
			 sr__ctree_visit_fn visit, void *arg)
{
	uint32_t x = root, depth = 0;

	for (;;) {
		c->nodes[x].visited = 1;
		visit(arg, &c->nodes[x], depth);
		if (c->nodes[x].child != SR__CTREE_NONE) {
			x = c->nodes[x].child;
			depth++;
			continue;
		}
		while (x != root && c->nodes[x].sibling == SR__CTREE_NONE) {
			x = c->nodes[x].parent;
			depth--;
		}
		if (x == root)
			return;
		x = c->nodes[x].sibling;
	}
}

/* Detach `x` from its parent's child list, making it a root. */
static void detach(struct sr__ctree *c, uint32_t x)
{
	uint32_t p = c->nodes[x].parent, *link = &c->nodes[p].child, prev = SR__CTREE_NONE;

	while (*link != x) {
		prev = *link;
		link = &c->nodes[*link].sibling;
	}
	*link = c->nodes[x].sibling;
	if (c->nodes[p].last_child == x)
		c->nodes[p].last_child = prev;
	c->nodes[x].parent = SR__CTREE_NONE;
	c->nodes[x].sibling = SR__CTREE_NONE;
}

void sr__ctree_walk(struct sr__ctree *c, const struct sr__ctree_group *g,
		    sr__ctree_visit_fn visit, void *arg)
{
	uint32_t end = g->first + g->count, roots = SR__CTREE_NONE, last = SR__CTREE_NONE;

	for (uint32_t x = g->first; x < end; x++)
		c->nodes[x].parent = c->nodes[x].child = c->nodes[x].sibling =
			SR__CTREE_NONE;
	/* Nodes are in start order, so children are appended in start
	 * order too. */
	for (uint32_t x = g->first; x < end; x++) {
		struct sr__ctree_node *n = &c->nodes[x];
		uint32_t p = n->has_parent ? table_find(c, n->trace_id,
							n->parent_id)
					   : SR__CTREE_NONE;

		if (p != SR__CTREE_NONE && p != x) {
			n->parent = p;
			add_child(c, p, x);
		} else if (roots == SR__CTREE_NONE) {
			roots = last = x;
		} else {
			c->nodes[last].sibling = x;
			last = x;
		}
	}

	for (uint32_t r = roots; r != SR__CTREE_NONE; r = c->nodes[r].sibling)
		walk_subtree(c, r, visit, arg);

	/*
	 * Whatever was not reached hangs under a parent cycle (duplicate or
	 * corrupt ids).  Each unvisited node has a parent; following parents
	 * `count` times from it lands on the cycle.  Cut the cycle there and
	 * print from that node, so every span is printed exactly once.
	 */
	for (uint32_t x = g->first; x < end; x++) {
		uint32_t y = x;

		if (c->nodes[x].visited)
			continue;
		for (uint32_t k = 0; k < g->count; k++)
			y = c->nodes[y].parent;
		detach(c, y);
		walk_subtree(c, y, visit, arg);
	}
}

int sr__ctree_reserve(struct sr__ctree *c, size_t n)
{
	size_t cap = c->cap ? c->cap : 64, tsize;
	struct sr__ctree_node *nodes;
	struct sr__ctree_group *groups;
	uint32_t *table;

	if (n <= c->cap)
		return 0;
	while (cap < n)
		cap *= 2;
	tsize = 2 * cap;
	nodes = malloc(cap * sizeof(*nodes));
	groups = malloc(cap * sizeof(*groups));
	table = malloc(tsize * sizeof(*table));
	if (!nodes || !groups || !table) {
		free(nodes);
		free(groups);
		free(table);
		return SR_ENOMEM;
	}
	free(c->nodes);
	free(c->groups);
	free(c->table);
	c->nodes = nodes;
	c->groups = groups;
	c->table = table;
	c->cap = cap;
	c->table_mask = tsize - 1;
	return 0;
}

void sr__ctree_add(struct sr__ctree *c, const sr_span_data_t *s, uint32_t idx)
{
	static const uint8_t zero[8];
	struct sr__ctree_node *x = &c->nodes[c->count++];

	memcpy(x->trace_id, s->trace_id, 16);
	memcpy(x->span_id, s->span_id, 8);
	memcpy(x->parent_id, s->parent_span_id, 8);
	x->has_parent = memcmp(s->parent_span_id, zero, 8) != 0;
	x->start_ns = s->start_ns;
	x->idx = idx;
	x->visited = 0;
}

void sr__ctree_group_traces(struct sr__ctree *c)
{
	qsort(c->nodes, c->count, sizeof(*c->nodes), cmp_node);
	memset(c->table, 0xff, (c->table_mask + 1) * sizeof(*c->table));
	c->ngroups = 0;
	for (uint32_t x = 0; x < c->count; x++) {
		table_insert(c, x);
		if (x == 0 || memcmp(c->nodes[x].trace_id,
				     c->nodes[x - 1].trace_id, 16) != 0)
			c->groups[c->ngroups++] = (struct sr__ctree_group){
				x, 0, c->nodes[x].start_ns };
		c->groups[c->ngroups - 1].count++;
	}
	qsort(c->groups, c->ngroups, sizeof(*c->groups), cmp_group);
}

void sr__ctree_free(struct sr__ctree *c)
{
	free(c->nodes);
	free(c->groups);
	free(c->table);
	memset(c, 0, sizeof(*c));
}
