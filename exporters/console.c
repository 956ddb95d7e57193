/*
 * console.c - the "console" exporter: spans as readable text, one line
 * per span, each trace of a batch drawn as an indented tree.
 *
 * Output (colours only on a terminal, and never when NO_COLOR is set):
 *
 *   trace 4bf92f3577b34da6a3ce929d0e0e4736  4 spans
 *   GET /api/users/{id}  SERVER 2.41ms ERROR("db timeout") span=00f067aa tid=4242 http.request.method=GET ...
 *     cache.get  CLIENT 18.3µs span=1c2d3e4f tid=4242 cache.hit=false
 *     SELECT users  CLIENT 2.10ms ERROR span=5e6f7081 tid=4242 db.system=postgresql db.statement="SELECT ..."
 *       | event +2.08ms exception exception.type=TimeoutError exception.message="statement timeout"
 *   ^a1b2c3d4 order.process  CONSUMER 310µs span=9a8b7c6d tid=4250
 *
 * Within a batch, spans are grouped by trace id; traces are printed in
 * the order of their earliest span, spans in start order under their
 * parent (found by parent_span_id).  A span whose parent is not in the
 * batch (it ended in an earlier or later batch, or lives in another
 * process) starts a subtree of its own, marked "^<parent id>"
 * ("^<id> remote" when the parent came from another process).  Ids are
 * shortened to their first 8 hex digits, trace ids shown in full once.
 * Strings are escaped (control bytes, invalid UTF-8, C1 controls), so a
 * span cannot inject terminal escapes; values are quoted when they
 * contain spaces or quotes, and cut after VALUE_MAX bytes with the full
 * length shown.  Numbers use the C locale whatever the application set.
 *
 * Where it goes: SPANRING_CONSOLE_OUTPUT=stdout (default) | stderr |
 * <path> (opened for appending).  A batch is formatted into one buffer
 * and written with a single fwrite, then flushed; stdio's stream lock
 * keeps it from interleaving with the application's own printf output.
 * Batches larger than the buffer (OUT_BUF_SIZE) go out in several writes.
 *
 * Left out: resource attributes (the same on every line), the
 * instrumentation scope and trace state; a tree across batches (use a
 * longer OTEL_BSP_SCHEDULE_DELAY to get bigger batches).
 */
#include "../core/propagation/prop_int.h" /* sr__hex_encode */
#include "exp_util_int.h"
#include "exporter_int.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUT_BUF_SIZE (256u * 1024u) /* bytes formatted before a write     */
#define VALUE_MAX 256u              /* bytes of a string shown           */
#define INDENT_MAX 32u              /* deeper levels print their depth    */
#define NONE UINT32_MAX

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_CYAN "\033[36m"

/* One span of the batch being printed, as the tree needs it. */
struct node {
	uint8_t trace_id[16];
	uint8_t span_id[8];
	uint8_t parent_id[8];
	uint64_t start_ns;
	uint32_t idx;         /* position in the batch                      */
	uint32_t parent;      /* node index; NONE for a root of this batch  */
	uint32_t child;       /* first child, children in start order       */
	uint32_t last_child;
	uint32_t sibling;     /* next child of the same parent (or root)    */
	uint8_t has_parent;   /* parent_span_id is not all zero             */
	uint8_t visited;
};

struct group {            /* one trace: nodes[first .. first + count)   */
	uint32_t first;
	uint32_t count;
	uint64_t start_ns;    /* earliest start in the trace                */
};

/* Exporter instance; used only by its worker thread after create(). */
struct console {
	FILE *out;
	bool owned;           /* opened by us: closed at destroy            */
	bool color;
	bool io_error;        /* a write of this batch failed               */
	locale_t c_locale;    /* for %g and strtod, whatever the app set     */

	char *buf;            /* OUT_BUF_SIZE bytes                         */
	size_t len;

	struct node *nodes;   /* `cap` each; table has 2 * cap slots        */
	struct group *groups;
	uint32_t *table;      /* open-addressing (trace, span id) -> node   */
	size_t cap;
	size_t table_mask;
};

/* ---- output buffer -------------------------------------------------- */

static void out_flush(struct console *c)
{
	if (c->len && fwrite(c->buf, 1, c->len, c->out) != c->len)
		c->io_error = true;
	c->len = 0;
}

static void out_mem(struct console *c, const void *p, size_t n)
{
	const char *s = p;

	while (n) {
		size_t room = OUT_BUF_SIZE - c->len, k;

		if (room == 0) {
			out_flush(c);
			room = OUT_BUF_SIZE;
		}
		k = n < room ? n : room;
		memcpy(c->buf + c->len, s, k);
		c->len += k;
		s += k;
		n -= k;
	}
}

static void out_str(struct console *c, const char *s)
{
	out_mem(c, s, strlen(s));
}

static void out_ch(struct console *c, char ch)
{
	if (c->len == OUT_BUF_SIZE)
		out_flush(c);
	c->buf[c->len++] = ch;
}

static void out_fmt(struct console *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void out_fmt(struct console *c, const char *fmt, ...)
{
	char tmp[64];
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (k > 0)
		out_mem(c, tmp, (size_t)k < sizeof(tmp) ? (size_t)k
							: sizeof(tmp) - 1);
}

static void out_color(struct console *c, const char *code)
{
	if (c->color)
		out_str(c, code);
}

static void out_hex(struct console *c, const uint8_t *b, size_t n)
{
	char tmp[64];

	for (size_t i = 0; i < n; i += 32) {
		size_t k = n - i < 32 ? n - i : 32;

		sr__hex_encode(b + i, k, tmp);
		for (size_t j = 0; j < 2 * k; j++)
			out_ch(c, tmp[j]);
	}
}

static void out_u64(struct console *c, uint64_t v)
{
	char tmp[20];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_mem(c, tmp + i, sizeof(tmp) - i);
}

static void out_i64(struct console *c, int64_t v)
{
	if (v < 0) {
		out_ch(c, '-');
		out_u64(c, (uint64_t)0 - (uint64_t)v); /* INT64_MIN too */
	} else {
		out_u64(c, (uint64_t)v);
	}
}

/* "<whole>.<frac>" with `digits` fraction digits (zero-padded). */
static void out_frac(struct console *c, uint64_t whole, uint64_t frac,
		     int digits)
{
	char tmp[3];

	out_u64(c, whole);
	out_ch(c, '.');
	for (int i = digits - 1; i >= 0; i--) {
		tmp[i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	out_mem(c, tmp, (size_t)digits);
}

static void out_indent(struct console *c, uint32_t depth)
{
	uint32_t shown = depth < INDENT_MAX ? depth : INDENT_MAX;

	for (uint32_t i = 0; i < shown; i++)
		out_mem(c, "  ", 2);
	if (depth > INDENT_MAX)
		out_fmt(c, "[depth %" PRIu32 "] ", depth);
}

/* ---- strings ---------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at p (n bytes available), or
 * 0 if the bytes there are not one.  *cp gets the code point. */
static size_t utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t v;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		v = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		v = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		v = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
	    v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Printed as is: printable ASCII other than the quoting characters, and
 * well-formed UTF-8 that is not a C1 control (U+0080..U+009F, which some
 * terminals obey like ESC). */
static bool plain_char(uint32_t cp, bool allow_space)
{
	if (cp == ' ')
		return allow_space;
	if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
		return false;
	return cp != '"' && cp != '\\' && cp != '=';
}

/* Bytes of `s` to show: at most VALUE_MAX, not cutting a UTF-8 sequence. */
static size_t shown_len(sr_str_t s)
{
	size_t n = s.len;

	if (n <= VALUE_MAX)
		return n;
	n = VALUE_MAX;
	while (n > 0 && ((unsigned char)s.ptr[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/*
 * Write `s` escaped.  Value mode quotes the string when it is empty or
 * anything in it is not plain (so `k=v k2=v2` splits on spaces); name
 * mode never quotes and lets spaces and '=' through.
 */
static void out_escaped(struct console *c, sr_str_t s, bool value)
{
	const unsigned char *p = (const unsigned char *)s.ptr;
	size_t n = shown_len(s), i, k;
	bool quote = value && n == 0;
	uint32_t cp;

	for (i = 0; value && !quote && i < n; i += k) {
		k = utf8_seq(p + i, n - i, &cp);
		if (k == 0 || !plain_char(cp, false))
			quote = true;
	}
	if (quote)
		out_ch(c, '"');
	for (i = 0; i < n; i += k) {
		size_t start = i;

		/* Copy the longest plain run in one go. */
		while (i < n && (k = utf8_seq(p + i, n - i, &cp)) != 0 &&
		       (plain_char(cp, true) || (!value && cp == '=')))
			i += k;
		out_mem(c, p + start, i - start);
		if (i >= n)
			break;
		k = utf8_seq(p + i, n - i, &cp);
		if (k == 0) {
			out_fmt(c, "\\x%02x", p[i]);
			k = 1;
		} else if (cp == '"' || cp == '\\') {
			out_ch(c, '\\');
			out_ch(c, (char)cp);
		} else if (cp == '=' || cp == ' ') {
			out_ch(c, (char)cp); /* quoted already */
		} else if (cp == '\n') {
			out_mem(c, "\\n", 2);
		} else if (cp == '\t') {
			out_mem(c, "\\t", 2);
		} else if (cp == '\r') {
			out_mem(c, "\\r", 2);
		} else if (cp < 0x80) {
			out_fmt(c, "\\x%02x", (unsigned)cp);
		} else {
			out_fmt(c, "\\u%04x", (unsigned)cp);
		}
	}
	if (quote)
		out_ch(c, '"');
	if (n < s.len)
		out_fmt(c, "...(%" PRIu32 " bytes)", s.len);
}

static void out_double(struct console *c, double d)
{
	char tmp[40];

	if (isnan(d)) {
		out_str(c, "NaN");
		return;
	}
	if (isinf(d)) {
		out_str(c, d > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Shortest of %.15g..%.17g that reads back as the same double. */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	out_str(c, tmp);
	if (strspn(tmp, "-0123456789") == strlen(tmp))
		out_mem(c, ".0", 2); /* 3.0 must not read as the integer 3 */
}

static void out_attrs(struct console *c, const sr_attr_view_t *a, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		out_ch(c, ' ');
		out_escaped(c, a[i].key, false);
		out_ch(c, '=');
		switch (a[i].type) {
		case SR_ATTR_BOOL:
			out_str(c, a[i].v.b ? "true" : "false");
			break;
		case SR_ATTR_INT:
			out_i64(c, a[i].v.i);
			break;
		case SR_ATTR_DOUBLE:
			out_double(c, a[i].v.d);
			break;
		case SR_ATTR_STRING:
		case SR_ATTR_STRING_STATIC:
			out_escaped(c, a[i].v.s, true);
			break;
		default:
			out_fmt(c, "<type %d>", (int)a[i].type);
			break;
		}
	}
}

/* ns as "850ns", "12.3µs", "2.41ms", "1.250s", rounded to the digits
 * shown; integer arithmetic, no printf on this per-span path. */
static void out_duration(struct console *c, uint64_t ns)
{
	uint64_t v;

	if (ns < 1000) {
		out_u64(c, ns);
		out_mem(c, "ns", 2);
	} else if (ns < 999950) {
		v = (ns + 50) / 100;             /* tenths of a microsecond   */
		out_frac(c, v / 10, v % 10, 1);
		out_str(c, "\xc2\xb5s");
	} else if (ns < 999995000) {
		v = (ns + 5000) / 10000;         /* hundredths of a millisecond */
		out_frac(c, v / 100, v % 100, 2);
		out_mem(c, "ms", 2);
	} else {
		v = (ns + 500000) / 1000000;     /* milliseconds               */
		out_frac(c, v / 1000, v % 1000, 3);
		out_ch(c, 's');
	}
}

static void out_dropped(struct console *c, const char *what, uint32_t n)
{
	if (n) {
		out_color(c, C_DIM);
		out_fmt(c, " (+%" PRIu32 " %s dropped)", n, what);
		out_color(c, C_RESET);
	}
}

/* ---- one span ---------------------------------------------------------- */

static void emit_span(struct console *c, const sr_span_data_t *s,
		      uint32_t depth, bool marker)
{
	static const sr_str_t unnamed = { "(unnamed)", 9 };

	out_indent(c, depth);
	if (marker) {
		out_color(c, C_YELLOW);
		out_ch(c, '^');
		out_hex(c, s->parent_span_id, 4);
		if (s->parent_remote)
			out_str(c, " remote");
		out_color(c, C_RESET);
		out_ch(c, ' ');
	}
	out_color(c, C_BOLD);
	out_escaped(c, s->name.len ? s->name : unnamed, false);
	out_color(c, C_RESET);
	out_mem(c, "  ", 2);
	out_color(c, C_CYAN);
	out_str(c, sr__exp_kind_name(s->kind));
	out_color(c, C_RESET);
	out_ch(c, ' ');
	out_duration(c, s->end_ns > s->start_ns ? s->end_ns - s->start_ns : 0);
	if (s->status == SR_STATUS_ERROR) {
		out_ch(c, ' ');
		out_color(c, C_RED);
		out_str(c, "ERROR");
		if (s->status_message.len) {
			out_ch(c, '(');
			/* Always quoted: a message is prose. */
			out_ch(c, '"');
			out_escaped(c, s->status_message, false);
			out_ch(c, '"');
			out_ch(c, ')');
		}
		out_color(c, C_RESET);
	} else if (s->status == SR_STATUS_OK) {
		out_ch(c, ' ');
		out_color(c, C_GREEN);
		out_str(c, "OK");
		out_color(c, C_RESET);
	}
	out_color(c, C_DIM);
	out_str(c, " span=");
	out_hex(c, s->span_id, 4);
	out_str(c, " tid=");
	out_u64(c, s->thread_id);
	out_color(c, C_RESET);
	out_attrs(c, s->attrs, s->attr_count);
	out_dropped(c, "attrs", s->dropped_attr_count);
	out_dropped(c, "events", s->dropped_event_count);
	out_dropped(c, "links", s->dropped_link_count);
	out_ch(c, '\n');

	for (uint32_t i = 0; i < s->event_count; i++) {
		const sr_event_view_t *e = &s->events[i];

		out_indent(c, depth);
		out_str(c, "  | event ");
		if (e->ts_ns >= s->start_ns) {
			out_ch(c, '+');
			out_duration(c, e->ts_ns - s->start_ns);
		} else {
			out_ch(c, '-');
			out_duration(c, s->start_ns - e->ts_ns);
		}
		out_ch(c, ' ');
		out_escaped(c, e->name, false);
		out_attrs(c, e->attrs, e->attr_count);
		out_dropped(c, "attrs", e->dropped_attr_count);
		out_ch(c, '\n');
	}
	for (uint32_t i = 0; i < s->link_count; i++) {
		const sr_link_view_t *l = &s->links[i];

		out_indent(c, depth);
		out_str(c, "  | link trace=");
		out_hex(c, l->trace_id, 8);
		out_str(c, " span=");
		out_hex(c, l->span_id, 4);
		out_attrs(c, l->attrs, l->attr_count);
		out_dropped(c, "attrs", l->dropped_attr_count);
		out_ch(c, '\n');
	}
}

static void emit_node(struct console *c, const sr_batch_t *batch,
		      uint32_t x, uint32_t depth)
{
	sr_span_data_t s = { .size = sizeof(s) };

	c->nodes[x].visited = 1;
	if (sr_batch_span(batch, c->nodes[x].idx, &s) == 0)
		emit_span(c, &s, depth, depth == 0 && c->nodes[x].has_parent);
}

/* ---- the tree ------------------------------------------------------------ */

static int cmp_node(const void *a, const void *b)
{
	const struct node *x = a, *y = b;
	int r = memcmp(x->trace_id, y->trace_id, 16);

	if (r)
		return r;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int cmp_group(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

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

static void table_insert(struct console *c, uint32_t x)
{
	size_t h = id_hash(c->nodes[x].span_id, c->table_mask);

	while (c->table[h] != NONE)
		h = (h + 1) & c->table_mask;
	c->table[h] = x;
}

/* Node of span (trace_id, span_id), NONE if not in the batch.  With
 * duplicate ids the first inserted wins. */
static uint32_t table_find(const struct console *c, const uint8_t *trace_id,
			   const uint8_t *span_id)
{
	size_t h = id_hash(span_id, c->table_mask);

	for (uint32_t x; (x = c->table[h]) != NONE;
	     h = (h + 1) & c->table_mask) {
		if (memcmp(c->nodes[x].span_id, span_id, 8) == 0 &&
		    memcmp(c->nodes[x].trace_id, trace_id, 16) == 0)
			return x;
	}
	return NONE;
}

static void add_child(struct console *c, uint32_t p, uint32_t x)
{
	if (c->nodes[p].child == NONE)
		c->nodes[p].child = x;
	else
		c->nodes[c->nodes[p].last_child].sibling = x;
	c->nodes[p].last_child = x;
}

/* Print the subtree under `root` depth-first without recursion (a batch
 * may hold a chain as deep as it is long). */
static void print_subtree(struct console *c, const sr_batch_t *batch,
			  uint32_t root)
{
	uint32_t x = root, depth = 0;

	for (;;) {
		emit_node(c, batch, x, depth);
		if (c->nodes[x].child != NONE) {
			x = c->nodes[x].child;
			depth++;
			continue;
		}
		while (x != root && c->nodes[x].sibling == NONE) {
			x = c->nodes[x].parent;
			depth--;
		}
		if (x == root)
			return;
		x = c->nodes[x].sibling;
	}
}

/* Detach `x` from its parent's child list, making it a root. */
static void detach(struct console *c, uint32_t x)
{
	uint32_t p = c->nodes[x].parent, *link = &c->nodes[p].child, prev = NONE;

	while (*link != x) {
		prev = *link;
		link = &c->nodes[*link].sibling;
	}
	*link = c->nodes[x].sibling;
	if (c->nodes[p].last_child == x)
		c->nodes[p].last_child = prev;
	c->nodes[x].parent = NONE;
	c->nodes[x].sibling = NONE;
}

static void print_trace(struct console *c, const sr_batch_t *batch,
			const struct group *g)
{
	uint32_t end = g->first + g->count, roots = NONE, last = NONE;

	for (uint32_t x = g->first; x < end; x++)
		c->nodes[x].parent = c->nodes[x].child = c->nodes[x].sibling =
			NONE;
	/* Nodes are in start order, so children are appended in start
	 * order too. */
	for (uint32_t x = g->first; x < end; x++) {
		struct node *n = &c->nodes[x];
		uint32_t p = n->has_parent ? table_find(c, n->trace_id,
							n->parent_id)
					   : NONE;

		if (p != NONE && p != x) {
			n->parent = p;
			add_child(c, p, x);
		} else if (roots == NONE) {
			roots = last = x;
		} else {
			c->nodes[last].sibling = x;
			last = x;
		}
	}

	out_color(c, C_BOLD);
	out_str(c, "trace ");
	out_hex(c, c->nodes[g->first].trace_id, 16);
	out_color(c, C_RESET);
	out_mem(c, "  ", 2);
	out_u64(c, g->count);
	out_str(c, g->count == 1 ? " span\n" : " spans\n");
	for (uint32_t r = roots; r != NONE; r = c->nodes[r].sibling)
		print_subtree(c, batch, r);

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
		print_subtree(c, batch, y);
	}
}

/* ---- exporter callbacks -------------------------------------------------- */

static int reserve_nodes(struct console *c, size_t n)
{
	size_t cap = c->cap ? c->cap : 64, tsize;
	struct node *nodes;
	struct group *groups;
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

static int console_export(void *state, const sr_batch_t *batch,
			  uint64_t *rejected)
{
	struct console *c = state;
	size_t n = sr_batch_count(batch);
	uint32_t count = 0, ngroups = 0;
	locale_t saved;
	sr_span_data_t s = { .size = sizeof(s) };
	int rc = 0;

	if (n == 0)
		return 0;
	if (n >= NONE || reserve_nodes(c, n) != 0)
		return SR_ENOMEM;

	/* Pass 1: the fields the tree needs.  Views are only valid until
	 * the next sr_batch_span(), so pass 2 decodes each span again. */
	for (size_t i = 0; i < n; i++) {
		struct node *x = &c->nodes[count];
		static const uint8_t zero[8];

		if (sr_batch_span(batch, i, &s) != 0) {
			(*rejected)++;
			continue;
		}
		memcpy(x->trace_id, s.trace_id, 16);
		memcpy(x->span_id, s.span_id, 8);
		memcpy(x->parent_id, s.parent_span_id, 8);
		x->has_parent = memcmp(s.parent_span_id, zero, 8) != 0;
		x->start_ns = s.start_ns;
		x->idx = (uint32_t)i;
		x->visited = 0;
		count++;
	}
	qsort(c->nodes, count, sizeof(*c->nodes), cmp_node);

	memset(c->table, 0xff, (c->table_mask + 1) * sizeof(*c->table));
	for (uint32_t x = 0; x < count; x++) {
		table_insert(c, x);
		if (x == 0 || memcmp(c->nodes[x].trace_id,
				     c->nodes[x - 1].trace_id, 16) != 0)
			c->groups[ngroups++] = (struct group){
				x, 0, c->nodes[x].start_ns };
		c->groups[ngroups - 1].count++;
	}
	qsort(c->groups, ngroups, sizeof(*c->groups), cmp_group);

	saved = uselocale(c->c_locale);
	for (uint32_t g = 0; g < ngroups; g++)
		print_trace(c, batch, &c->groups[g]);
	uselocale(saved);

	out_flush(c);
	if (fflush(c->out) != 0 || c->io_error || ferror(c->out)) {
		clearerr(c->out);
		c->io_error = false;
		rc = SR_EIO;
	}
	return rc;
}

static bool want_color(FILE *f)
{
	const char *no_color = getenv("NO_COLOR");
	const char *term = getenv("TERM");

	/* https://no-color.org: set and not empty disables colour. */
	if (no_color && *no_color)
		return false;
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(fileno(f)) == 1;
}

static void console_destroy(void *state, uint32_t timeout_ms)
{
	struct console *c = state;

	if (!c)
		return;
	if (c->out) {
		if (c->owned)
			fclose(c->out);
		else
			fflush(c->out);
	}
	if (c->c_locale)
		freelocale(c->c_locale);
	free(c->buf);
	free(c->nodes);
	free(c->groups);
	free(c->table);
	free(c);
}

static int console_create(void *ud, const sr_config_t *cfg, void **state,
			  char *err, size_t err_len)
{
	const char *where = getenv("SPANRING_CONSOLE_OUTPUT");
	/* Index for a usual batch up front; bigger ones grow it on demand. */
	uint32_t batch = cfg && cfg->max_export_batch_size
				 ? cfg->max_export_batch_size
				 : 512;
	struct console *c = calloc(1, sizeof(*c));

	if (!c)
		return SR_ENOMEM;
	if (!where || !*where || strcmp(where, "stdout") == 0) {
		c->out = stdout;
	} else if (strcmp(where, "stderr") == 0) {
		c->out = stderr;
	} else {
		c->out = fopen(where, "ae"); /* append; close-on-exec */
		if (!c->out) {
			snprintf(err, err_len,
				 "SPANRING_CONSOLE_OUTPUT='%s': cannot open: %s",
				 where, strerror(errno));
			free(c);
			return SR_EIO;
		}
		c->owned = true;
	}
	c->color = want_color(c->out);
	c->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
	c->buf = malloc(OUT_BUF_SIZE);
	if (!c->c_locale || !c->buf ||
	    reserve_nodes(c, batch < 4096 ? batch : 4096) != 0) {
		console_destroy(c, 0);
		return SR_ENOMEM;
	}
	*state = c;
	return 0;
}

static int console_flush(void *state, uint32_t timeout_ms)
{
	struct console *c = state;

	return fflush(c->out) == 0 ? 0 : SR_EIO;
}

const sr_exporter_ops_t sr__exporter_console = {
	.size = sizeof(sr_exporter_ops_t),
	.abi_version = SR_EXPORTER_ABI_VERSION,
	.name = "console",
	.create = console_create,
	.export_batch = console_export,
	.flush = console_flush,
	.destroy = console_destroy,
};
