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
#include "chars_int.h" /* sr__hex_encode */
#include "console_tree_int.h"
#include "exp_util_int.h"
#include "exporter_int.h"
#include "numfmt_int.h"
#include "utf8_int.h"

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

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_CYAN "\033[36m"

/* Exporter instance; used only by its worker thread after create(). */
struct console {
	FILE *out;
	bool owned;           /* opened by us: closed at destroy            */
	bool color;
	bool io_error;        /* a write of this batch failed               */
	locale_t c_locale;    /* for %g and strtod, whatever the app set     */

	char *buf;            /* OUT_BUF_SIZE bytes                         */
	size_t len;

	struct sr__ctree tree;
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
		k = sr__utf8_decode(p + i, n - i, &cp);
		if (k == 0 || !plain_char(cp, false))
			quote = true;
	}
	if (quote)
		out_ch(c, '"');
	for (i = 0; i < n; i += k) {
		size_t start = i;

		/* Copy the longest plain run in one go. */
		while (i < n && (k = sr__utf8_decode(p + i, n - i, &cp)) != 0 &&
		       (plain_char(cp, true) || (!value && cp == '=')))
			i += k;
		out_mem(c, p + start, i - start);
		if (i >= n)
			break;
		k = sr__utf8_decode(p + i, n - i, &cp);
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
	char tmp[SR__FMT_DOUBLE_MAX];

	if (isnan(d)) {
		out_str(c, "NaN");
		return;
	}
	if (isinf(d)) {
		out_str(c, d > 0 ? "+Inf" : "-Inf");
		return;
	}
	sr__fmt_double(tmp, d);
	out_str(c, tmp);
	if (strspn(tmp, "-0123456789") == strlen(tmp))
		out_mem(c, ".0", 2); /* 3.0 must not read as the integer 3 */
}

static void out_value(struct console *c, const sr_attr_view_t *a)
{
	switch (a->type) {
	case SR_ATTR_BOOL:
		out_str(c, a->v.b ? "true" : "false");
		break;
	case SR_ATTR_INT:
		out_i64(c, a->v.i);
		break;
	case SR_ATTR_DOUBLE:
		out_double(c, a->v.d);
		break;
	case SR_ATTR_STRING:
	case SR_ATTR_STRING_STATIC:
		out_escaped(c, a->v.s, true);
		break;
	case SR_ATTR_ARRAY: {
		sr_array_iter_t it = sr_array_begin(&a->v.a);
		sr_attr_view_t e;
		bool first = true;

		out_ch(c, '[');
		while (sr_array_next(&it, &e)) {
			if (!first)
				out_mem(c, ", ", 2);
			first = false;
			out_value(c, &e);
		}
		out_ch(c, ']');
		break;
	}
	default:
		out_fmt(c, "<type %d>", (int)a->type);
		break;
	}
}

static void out_attrs(struct console *c, const sr_attr_view_t *a, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		out_ch(c, ' ');
		out_escaped(c, a[i].key, false);
		out_ch(c, '=');
		out_value(c, &a[i]);
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

/* Print trace g of the tree: its header line, then every span. */
struct emit_ctx {
	struct console *c;
	const sr_batch_t *batch;
};

static void emit_visit(void *arg, const struct sr__ctree_node *n,
		       uint32_t depth)
{
	struct emit_ctx *e = arg;
	sr_span_data_t s = { .size = sizeof(s) };

	if (sr_batch_span(e->batch, n->idx, &s) == 0)
		emit_span(e->c, &s, depth, depth == 0 && n->has_parent);
}

static void print_trace(struct console *c, const sr_batch_t *batch,
			const struct sr__ctree_group *g)
{
	struct emit_ctx e = { c, batch };

	out_color(c, C_BOLD);
	out_str(c, "trace ");
	out_hex(c, c->tree.nodes[g->first].trace_id, 16);
	out_color(c, C_RESET);
	out_mem(c, "  ", 2);
	out_u64(c, g->count);
	out_str(c, g->count == 1 ? " span\n" : " spans\n");
	sr__ctree_walk(&c->tree, g, emit_visit, &e);
}

/* ---- exporter callbacks -------------------------------------------------- */

static int console_export(void *state, const sr_batch_t *batch,
			  uint64_t *rejected)
{
	struct console *c = state;
	size_t n = sr_batch_count(batch);
	locale_t saved;
	sr_span_data_t s = { .size = sizeof(s) };
	int rc = 0;

	if (n == 0)
		return 0;
	if (n >= SR__CTREE_NONE || sr__ctree_reserve(&c->tree, n) != 0)
		return SR_ENOMEM;

	/* Pass 1: the fields the tree needs.  Views are only valid until
	 * the next sr_batch_span(), so printing decodes each span again. */
	sr__ctree_reset(&c->tree);
	for (size_t i = 0; i < n; i++) {
		if (sr_batch_span(batch, i, &s) != 0) {
			(*rejected)++;
			continue;
		}
		sr__ctree_add(&c->tree, &s, (uint32_t)i);
	}
	sr__ctree_group_traces(&c->tree);

	saved = uselocale(c->c_locale);
	for (uint32_t g = 0; g < c->tree.ngroups; g++)
		print_trace(c, batch, &c->tree.groups[g]);
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
	sr__ctree_free(&c->tree);
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
	    sr__ctree_reserve(&c->tree, batch < 4096 ? batch : 4096) != 0) {
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
