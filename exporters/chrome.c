/*
 * chrome.c - the "chrome" exporter: a Chrome trace-event JSON file that
 * Perfetto UI (ui.perfetto.dev) and chrome://tracing open, so a user can
 * look at a timeline of what each thread of the program did.
 *
 * Format: the JSON Object Format of the Trace Event Format,
 *
 *   {"displayTimeUnit":"ms","otherData":{...},"traceEvents":[ e, e, ... ]}
 *
 * with, per span, a complete event ("ph":"X", "ts" and "dur" in
 * microseconds with nanosecond decimals) on pid = this process and
 * tid = the span's thread_id (the OS thread that ended it), "cat" the span
 * kind and "args" holding the ids, kind, status, attributes and links.
 * Span events become thread-scoped instant events ("ph":"i") on the same
 * thread.  The first time a thread id appears, a thread_name metadata event
 * ("ph":"M") names its track after the thread's name as the kernel knows
 * it (/proc/self/task/<tid>/comm, set with pthread_setname_np), or
 * "thread <tid>" once the thread is gone; process_name carries
 * service.name.  So every thread that ended spans gets one named track.
 *
 * Timestamps are relative to an origin taken at create (its Unix time in
 * ns is in otherData["spanring.origin_unix_ns"]): JSON readers parse "ts"
 * as a double, which holds microseconds since 1970 only to about a quarter
 * of a microsecond, while offsets from the origin keep every nanosecond.
 *
 * A track must nest: Perfetto and chrome://tracing draw complete events of
 * one thread as a stack and cannot show two that partly overlap.  Spans
 * started and ended on one thread in LIFO order always nest; a span
 * started on one thread and ended on another (a request handed to a
 * worker) or given explicit times may not.  For each thread the exporter
 * keeps the last HIST_MAX intervals it placed as complete events (a
 * laminar family: any two are nested or disjoint); a span that would
 * partly overlap one of them goes out instead as an async pair ("ph":"b" /
 * "e", id = span id) that the viewers draw on a separate async track of
 * the process.  Overlaps with intervals older than that window are not
 * seen (the window bounds memory; LIFO spans never need it).
 *
 * The file is valid JSON whenever no write is in progress: create writes
 * the header and the closing "]}", and each batch overwrites those two
 * bytes with ",<events>]}" in one pwrite.  If that write comes up short
 * (disk full, RLIMIT_FSIZE: SIGXFSZ is blocked on the core's threads), the
 * closing bytes are put back and the file cut to its old length, and the
 * batch fails (counted).  A crash between batches thus leaves a file
 * Perfetto opens.  SPANRING_CHROME_MAX_BYTES (default 256 MiB) bounds the
 * file: of a batch that would pass it, the spans that fit are written and
 * the rest refused (counted), rather than produce a trace too large to
 * load.
 *
 * Each sr_init() starts the file anew (O_TRUNC: one trace per run); a
 * fork child writes <name>-<pid>.<ext> instead of clobbering its parent's.
 *
 * Left out: flow arrows between a parent and a child on another thread,
 * counters, the Perfetto protobuf format (JSON is what both viewers and
 * jq read).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chars_int.h" /* sr__hex_encode */
#include "env_int.h"
#include "exp_util_int.h"
#include "exporter_int.h"
#include "json_writer_int.h"
#include "numfmt_int.h"

#define DEFAULT_PATH "spanring-trace.json"
#define DEFAULT_MAX_BYTES (256u << 20)
#define HIST_MAX 256u          /* intervals remembered per thread         */
#define CLOSING "]}"

#define KEY(w, lit) sr__jw_key_lit((w), lit)

struct ival {
	uint64_t start, end;   /* ns since the epoch                       */
};

/* One thread's track. */
struct track {
	uint64_t tid;
	bool used;
	bool named;            /* its thread_name event is in the file      */
	uint64_t pending_seq;  /* batch whose chunk holds its thread_name    */
	struct ival *hist;     /* up to HIST_MAX placed complete events     */
	uint32_t n, cap, next; /* next: slot replaced once n == HIST_MAX    */
};

/* Exporter instance; after create() only its worker thread touches it. */
struct chrome {
	char *path;            /* malloc'd                                  */
	int fd;
	int pid;
	uint64_t origin_ns;    /* wall-clock ns at ts 0                     */
	uint64_t len;          /* file length; the file ends with CLOSING   */
	uint64_t max_bytes;
	bool have_event;       /* traceEvents has an element already        */
	bool named_process;
	struct sr__buf chunk;  /* one batch's events + CLOSING              */
	struct track *tracks;  /* open addressing on tid, tcap a power of 2 */
	size_t ntracks, tcap;
	uint64_t seq;          /* batches seen                              */
	uint64_t *fresh;       /* tids named by the chunk being built       */
	size_t nfresh, fresh_cap;
};

/* ---- tracks ----------------------------------------------------------------- */

static size_t tid_hash(uint64_t tid, size_t mask)
{
	return (size_t)((tid * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

static struct track *track_slot(struct track *t, size_t cap, uint64_t tid)
{
	size_t h = tid_hash(tid, cap - 1);

	while (t[h].used && t[h].tid != tid)
		h = (h + 1) & (cap - 1);
	return &t[h];
}

/* The track of `tid`, created if new.  NULL on no memory. */
static struct track *track_get(struct chrome *c, uint64_t tid)
{
	struct track *t;

	if (2 * (c->ntracks + 1) > c->tcap) {
		size_t cap = c->tcap ? 2 * c->tcap : 64;
		struct track *nt = calloc(cap, sizeof(*nt));

		if (!nt)
			return NULL;
		for (size_t i = 0; i < c->tcap; i++)
			if (c->tracks[i].used)
				*track_slot(nt, cap, c->tracks[i].tid) = c->tracks[i];
		free(c->tracks);
		c->tracks = nt;
		c->tcap = cap;
	}
	t = track_slot(c->tracks, c->tcap, tid);
	if (!t->used) {
		memset(t, 0, sizeof(*t));
		t->used = true;
		t->tid = tid;
		c->ntracks++;
	}
	return t;
}

/* True if [s, e] partly overlaps a placed interval of the track. */
static bool overlaps_partly(const struct track *t, uint64_t s, uint64_t e)
{
	for (uint32_t i = 0; i < t->n; i++) {
		const struct ival *v = &t->hist[i];

		if ((v->start < s && s < v->end && v->end < e) ||
		    (s < v->start && v->start < e && e < v->end))
			return true;
	}
	return false;
}

/* Remember [s, e] as placed.  False on no memory (then the span goes
 * async, which never breaks nesting). */
static bool track_place(struct track *t, uint64_t s, uint64_t e)
{
	if (t->n == HIST_MAX) {
		t->hist[t->next] = (struct ival){ s, e };
		t->next = (t->next + 1) % HIST_MAX;
		return true;
	}
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? 2 * t->cap : 8;
		struct ival *h = realloc(t->hist, cap * sizeof(*h));

		if (!h)
			return false;
		t->hist = h;
		t->cap = cap;
	}
	t->hist[t->n++] = (struct ival){ s, e };
	return true;
}

/* The kernel's name of thread `tid` of this process into buf, or
 * "thread <tid>" if it is gone. */
static void thread_name(uint64_t tid, char *buf, size_t len)
{
	char path[64];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%llu/comm",
		 (unsigned long long)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, len - 1);
		close(fd);
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
		n--;
	if (n > 0)
		buf[n] = '\0';
	else
		snprintf(buf, len, "thread %llu", (unsigned long long)tid);
}

/* ---- events ------------------------------------------------------------------ */

/* Microseconds from the origin with three decimals ("-1.250", "42.000"). */
static void put_us(struct sr__jw *w, uint64_t ns, uint64_t origin)
{
	char tmp[32];
	uint64_t d = ns >= origin ? ns - origin : origin - ns;
	size_t n = 0;

	if (ns < origin)
		tmp[n++] = '-';
	n += sr__u64_to_dec(tmp + n, d / 1000);
	tmp[n++] = '.';
	tmp[n++] = (char)('0' + d / 100 % 10);
	tmp[n++] = (char)('0' + d / 10 % 10);
	tmp[n++] = (char)('0' + d % 10);
	sr__jw_raw(w, tmp, n);
}

/* "name", "cat", "ph", "pid", "tid": the part every event repeats. */
static void put_head(struct chrome *c, struct sr__jw *w, sr_str_t name,
		     const char *cat, const char *ph, uint64_t tid)
{
	KEY(w, "name");
	sr__jw_str(w, name.ptr, name.len);
	if (cat) {
		KEY(w, "cat");
		sr__jw_str(w, cat, strlen(cat));
	}
	KEY(w, "ph");
	sr__jw_str(w, ph, strlen(ph));
	KEY(w, "pid");
	sr__jw_int(w, c->pid);
	KEY(w, "tid");
	sr__jw_uint(w, tid);
}

static void put_meta(struct chrome *c, struct sr__jw *w, const char *what,
		     uint64_t tid, const char *name, size_t len)
{
	sr__jw_obj_begin(w);
	put_head(c, w, (sr_str_t){ what, (uint32_t)strlen(what) }, NULL, "M", tid);
	KEY(w, "args");
	sr__jw_obj_begin(w);
	KEY(w, "name");
	sr__jw_str(w, name, len);
	sr__jw_obj_end(w);
	sr__jw_obj_end(w);
}

static void put_span_args(struct sr__jw *w, const sr_span_data_t *s)
{
	static const uint8_t zero[8];

	KEY(w, "args");
	sr__jw_obj_begin(w);
	KEY(w, "trace_id");
	sr__jw_hex(w, s->trace_id, 16);
	KEY(w, "span_id");
	sr__jw_hex(w, s->span_id, 8);
	if (memcmp(s->parent_span_id, zero, 8)) {
		KEY(w, "parent_span_id");
		sr__jw_hex(w, s->parent_span_id, 8);
	}
	KEY(w, "kind");
	sr__jw_str(w, sr__exp_kind_name(s->kind), strlen(sr__exp_kind_name(s->kind)));
	if (s->status != SR_STATUS_UNSET) {
		KEY(w, "status");
		if (s->status == SR_STATUS_ERROR)
			sr__jw_str(w, "ERROR", 5);
		else
			sr__jw_str(w, "OK", 2);
	}
	if (s->status_message.len) {
		KEY(w, "status_message");
		sr__jw_str(w, s->status_message.ptr, s->status_message.len);
	}
	if (s->scope_name.len) {
		KEY(w, "scope");
		sr__jw_str(w, s->scope_name.ptr, s->scope_name.len);
	}
	if (s->attr_count) {
		KEY(w, "attributes");
		sr__exp_jw_attrs(w, s->attrs, s->attr_count);
	}
	if (s->link_count) {
		KEY(w, "links");
		sr__jw_arr_begin(w);
		for (uint32_t i = 0; i < s->link_count; i++) {
			sr__jw_obj_begin(w);
			KEY(w, "trace_id");
			sr__jw_hex(w, s->links[i].trace_id, 16);
			KEY(w, "span_id");
			sr__jw_hex(w, s->links[i].span_id, 8);
			if (s->links[i].attr_count) {
				KEY(w, "attributes");
				sr__exp_jw_attrs(w, s->links[i].attrs, s->links[i].attr_count);
			}
			sr__jw_obj_end(w);
		}
		sr__jw_arr_end(w);
	}
	if (s->dropped_attr_count + s->dropped_event_count + s->dropped_link_count) {
		KEY(w, "dropped");
		sr__jw_obj_begin(w);
		KEY(w, "attributes");
		sr__jw_uint(w, s->dropped_attr_count);
		KEY(w, "events");
		sr__jw_uint(w, s->dropped_event_count);
		KEY(w, "links");
		sr__jw_uint(w, s->dropped_link_count);
		sr__jw_obj_end(w);
	}
	sr__jw_obj_end(w);
}

/* The async id: "0x" and the span id in hex. */
static void put_id(struct sr__jw *w, const uint8_t id[8])
{
	char tmp[18] = "0x";

	sr__hex_encode(id, 8, tmp + 2);
	KEY(w, "id");
	sr__jw_str(w, tmp, sizeof(tmp));
}

/* Everything one span contributes: a track name if its thread is new,
 * the slice (complete, or async when it would break the nesting), and
 * its events.  SR_ENOMEM if the track table cannot grow. */
static int put_span(struct chrome *c, struct sr__jw *w, const sr_span_data_t *s)
{
	uint64_t end = s->end_ns > s->start_ns ? s->end_ns : s->start_ns;
	const char *cat = sr__exp_kind_name(s->kind);
	struct track *t;
	bool nest;

	if (!(t = track_get(c, s->thread_id)))
		return SR_ENOMEM;
	/* Name the track until a chunk carrying its name made it to the
	 * file (a failed batch must not leave it unnamed for good). */
	if (!t->named && t->pending_seq != c->seq) {
		char name[64];

		if (c->nfresh == c->fresh_cap) {
			size_t cap = c->fresh_cap ? 2 * c->fresh_cap : 16;
			uint64_t *f = realloc(c->fresh, cap * sizeof(*f));

			if (!f)
				return SR_ENOMEM;
			c->fresh = f;
			c->fresh_cap = cap;
		}
		c->fresh[c->nfresh++] = s->thread_id;
		t->pending_seq = c->seq;
		thread_name(s->thread_id, name, sizeof(name));
		put_meta(c, w, "thread_name", s->thread_id, name, strlen(name));
	}
	nest = !overlaps_partly(t, s->start_ns, end) &&
	       track_place(t, s->start_ns, end);

	sr__jw_obj_begin(w);
	put_head(c, w, s->name, cat, nest ? "X" : "b", s->thread_id);
	KEY(w, "ts");
	put_us(w, s->start_ns, c->origin_ns);
	if (nest) {
		KEY(w, "dur");
		put_us(w, end, s->start_ns);
	} else {
		put_id(w, s->span_id);
	}
	put_span_args(w, s);
	sr__jw_obj_end(w);
	if (!nest) {
		sr__jw_obj_begin(w);
		put_head(c, w, s->name, cat, "e", s->thread_id);
		put_id(w, s->span_id);
		KEY(w, "ts");
		put_us(w, end, c->origin_ns);
		sr__jw_obj_end(w);
	}

	for (uint32_t i = 0; i < s->event_count; i++) {
		const sr_event_view_t *ev = &s->events[i];

		sr__jw_obj_begin(w);
		put_head(c, w, ev->name, "event", "i", s->thread_id);
		KEY(w, "s");
		sr__jw_str(w, "t", 1);
		KEY(w, "ts");
		put_us(w, ev->ts_ns, c->origin_ns);
		if (ev->attr_count) {
			KEY(w, "args");
			sr__exp_jw_attrs(w, ev->attrs, ev->attr_count);
		}
		sr__jw_obj_end(w);
	}
	return 0;
}

/* ---- the file ------------------------------------------------------------------ */

/* pwrite all of buf at off; 0 or -errno (some bytes may be written). */
static int pwrite_all(int fd, const char *buf, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, buf, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -ENOSPC;
		buf += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* Replace the closing bytes at the end of the file by chunk (which ends
 * with them again).  On failure the file is put back as it was. */
static int commit(struct chrome *c, const char *chunk, size_t n)
{
	uint64_t at = c->len - (sizeof(CLOSING) - 1);
	int rc = pwrite_all(c->fd, chunk, n, at);

	if (rc == 0) {
		c->len = at + n;
		return 0;
	}
	if (rc == -EFBIG)
		sr__exp_drain_xfsz();
	/* Both undo steps stay within the old length, so neither can hit
	 * the limit that failed the write. */
	(void)pwrite_all(c->fd, CLOSING, sizeof(CLOSING) - 1, at);
	(void)ftruncate(c->fd, (off_t)c->len);
	return rc;
}

/* ---- the exporter ----------------------------------------------------------------- */

static int creator_pid; /* see sr__exp_owned_path() */

static void chrome_destroy(void *state, uint32_t timeout_ms)
{
	struct chrome *c = state;

	(void)timeout_ms; /* the file is complete after every batch */
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	for (size_t i = 0; i < c->tcap; i++)
		free(c->tracks[i].hist);
	free(c->tracks);
	free(c->fresh);
	sr__buf_free(&c->chunk);
	free(c->path);
	free(c);
}

static int chrome_create(void *ud, const sr_config_t *cfg, void **state,
			 char *err, size_t err_len)
{
	struct chrome *c = calloc(1, sizeof(*c));
	uint32_t max_bytes = DEFAULT_MAX_BYTES;
	struct sr__jw w;
	const char *v;
	char d[20];
	size_t n;
	int rc;

	*state = NULL;
	if (!c) {
		snprintf(err, err_len, "out of memory");
		return SR_ENOMEM;
	}
	c->fd = -1;
	if ((rc = sr__exp_env_u32("SPANRING_CHROME_MAX_BYTES", 4096, UINT32_MAX,
				  &max_bytes, err, err_len)))
		goto fail;
	c->max_bytes = max_bytes;
	v = sr__env_get("SPANRING_CHROME_PATH", &n);
	if (!v) {
		v = DEFAULT_PATH;
		n = strlen(v);
	}
	if (!(c->path = sr__exp_owned_path(v, n, &creator_pid))) {
		snprintf(err, err_len, "out of memory");
		rc = SR_ENOMEM;
		goto fail;
	}
	c->fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (c->fd < 0) {
		snprintf(err, err_len, "SPANRING_CHROME_PATH='%s': cannot create: %s",
			 c->path, strerror(errno));
		rc = SR_EIO;
		goto fail;
	}
	c->pid = (int)getpid();
	c->origin_ns = sr_now_ns();

	sr__jw_init(&w, &c->chunk);
	sr__jw_obj_begin(&w);
	KEY(&w, "displayTimeUnit");
	sr__jw_str(&w, "ms", 2);
	KEY(&w, "otherData");
	sr__jw_obj_begin(&w);
	KEY(&w, "spanring.version");
	sr__jw_str(&w, sr_version(), strlen(sr_version()));
	KEY(&w, "spanring.origin_unix_ns");
	sr__jw_str(&w, d, sr__u64_to_dec(d, c->origin_ns));
	sr__jw_obj_end(&w);
	KEY(&w, "traceEvents");
	sr__jw_raw(&w, "[" CLOSING, 1 + sizeof(CLOSING) - 1);
	if (w.oom) {
		snprintf(err, err_len, "out of memory");
		rc = SR_ENOMEM;
		goto fail;
	}
	c->len = sizeof(CLOSING) - 1; /* commit() replaces these */
	if ((rc = commit(c, c->chunk.data, c->chunk.len)) != 0) {
		snprintf(err, err_len, "SPANRING_CHROME_PATH='%s': cannot write: %s",
			 c->path, strerror(-rc));
		rc = SR_EIO;
		goto fail;
	}
	*state = c;
	return 0;
fail:
	chrome_destroy(c, 0);
	return rc;
}

static void report_limit(const struct chrome *c, const sr_batch_t *batch,
			 size_t refused)
{
	char msg[SR_EXPORTER_ERROR_MAX];

	snprintf(msg, sizeof(msg), "%s: SPANRING_CHROME_MAX_BYTES=%llu "
		 "reached: %zu spans refused", c->path,
		 (unsigned long long)c->max_bytes, refused);
	sr_batch_report_error(batch, 0, -1, msg);
}

static int chrome_export(void *state, const sr_batch_t *batch,
			 uint64_t *rejected)
{
	struct chrome *c = state;
	size_t n = sr_batch_count(batch), first;
	/* The longest prefix of whole spans that keeps the file within
	 * max_bytes: chunk length, tracks it names, spans in it. */
	const uint64_t room = c->max_bytes - (c->len - (sizeof(CLOSING) - 1));
	size_t fit_len, fit_fresh = 0, put = 0, fit_put = 0;
	struct sr__jw w;
	int rc = 0;

	if (n == 0)
		return 0;
	/* The chunk continues traceEvents: a comma if it has elements
	 * already, the events (one writer at depth 0 places the commas
	 * between them), then the closing bytes. */
	c->seq++;
	c->nfresh = 0;
	c->chunk.len = 0;
	if (sr__buf_reserve(&c->chunk, 1) != 0)
		return SR_ENOMEM;
	if (c->have_event)
		sr__buf_put(&c->chunk, ",", 1);
	first = c->chunk.len;
	sr__jw_init(&w, &c->chunk);
	if (!c->named_process) {
		uint32_t nres = 0;
		const sr_attr_view_t *res = sr_batch_resource(batch, &nres);

		for (uint32_t i = 0; i < nres; i++)
			if (res[i].key.len == 12 &&
			    !memcmp(res[i].key.ptr, "service.name", 12) &&
			    res[i].type >= SR_ATTR_STRING)
				put_meta(c, &w, "process_name", 0, res[i].v.s.ptr,
					 res[i].v.s.len);
	}
	fit_len = c->chunk.len;
	for (size_t i = 0; !rc && i < n; i++) {
		sr_span_data_t sd = { .size = sizeof(sd) };

		if (sr_batch_span(batch, i, &sd) != 0) {
			(*rejected)++;
			continue;
		}
		rc = put_span(c, &w, &sd);
		put++;
		if (!rc && c->chunk.len + sizeof(CLOSING) - 1 <= room) {
			fit_len = c->chunk.len;
			fit_fresh = c->nfresh;
			fit_put = put;
		}
	}
	if (rc || w.oom || sr__buf_reserve(&c->chunk, sizeof(CLOSING) - 1) != 0)
		return SR_ENOMEM;
	if (c->chunk.len == first)
		return 0; /* nothing decodable */
	if (fit_put == 0) { /* not one span fits: the batch fails */
		report_limit(c, batch, put);
		return SR_ELIMIT;
	}
	/* Write what fits; the rest is refused (counted by the pipeline as
	 * dropped_exporter, and in this exporter's spans_failed).  Each
	 * span's events end at a span boundary, where the writer has put
	 * no comma yet. */
	*rejected += put - fit_put;
	if (put > fit_put)
		report_limit(c, batch, put - fit_put);
	c->chunk.len = fit_len;
	c->nfresh = fit_fresh;
	sr__buf_put(&c->chunk, CLOSING, sizeof(CLOSING) - 1);
	if ((rc = commit(c, c->chunk.data, c->chunk.len)) != 0) {
		char msg[SR_EXPORTER_ERROR_MAX];

		snprintf(msg, sizeof(msg), "%s: write: %s", c->path,
			 strerror(-rc));
		sr_batch_report_error(batch, 0, -1, msg);
		return SR_EIO;
	}
	c->have_event = true;
	c->named_process = true;
	for (size_t i = 0; i < c->nfresh; i++)
		track_slot(c->tracks, c->tcap, c->fresh[i])->named = true;
	return 0;
}

const sr_exporter_ops_t sr__exporter_chrome = {
	.size = sizeof(sr_exporter_ops_t),
	.abi_version = SR_EXPORTER_ABI_VERSION,
	.name = "chrome",
	.create = chrome_create,
	.export_batch = chrome_export,
	.flush = NULL,   /* every batch is written through */
	.destroy = chrome_destroy,
	.cancel = NULL,
};
