/*
 * flight_record.c - the crash flight recorder's writer: when the process
 * takes SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGABRT, write the spans still
 * in the rings and in batches not yet exported to a file, then let the
 * crash go on as it would have (docs/flight-recorder.md).
 *
 * Everything the handler needs is made at sr_init (sr__flight_start): the
 * file is opened (O_TRUNC, so an old recording never passes for a new
 * one), the resource serialised, the string table and the copy buffers
 * allocated.  The handler is async-signal-safe: loads, write(2),
 * process_vm_readv(2), sigaction(2), raise(3), nanosleep(2); no lock, no
 * allocation, no stdio (lseek(2) too, to fill in the header last).
 *
 * One dump per process, whatever happens: `state` goes ARMED -> WRITING
 * with one compare-and-swap, and only that thread writes.  A fault inside
 * the dump itself (corrupt memory under a pointer) is blocked while the
 * handler runs (sa_mask holds every signal), so the kernel kills the
 * process at once with the default action and the core dump: nothing
 * hangs, and what was written so far stays in the file.  A crash on a
 * second thread while the first dumps waits (bounded) for the dump, then
 * takes its own previous disposition.
 *
 * Chaining: the handler puts back the disposition it found at sr_init and
 * returns.  A fault (si_code > 0) then happens again on the same
 * instruction and meets that disposition: the application's handler, or
 * the default action with its core dump, sees the original fault.  A
 * signal that was sent (abort(), kill; si_code <= 0) does not come back by
 * itself: the handler sends it again to this thread, pending until it
 * returns.  abort() still ends the process: when its SIGABRT returns it
 * restores SIG_DFL and raises again.
 *
 * Strings: the records keep span names, keys and static values by
 * pointer.  The dump collects every distinct pointer in the records it
 * wrote (a hash table sized by flight_recorder_strings) and writes the
 * bytes behind each, read with process_vm_readv on this very process so
 * an unmapped pointer is an EFAULT, not a second fault, and bounded by
 * attr_value_length_limit.  Where process_vm_readv is refused (seccomp),
 * it copies directly, and a bad pointer then ends the dump (after the
 * records).
 *
 * Left out: an alternate signal stack.  SA_ONSTACK is set, so threads that
 * have one (sigaltstack) use it, but the library cannot give one to every
 * application thread: a stack overflow on a thread without one kills the
 * process without a dump.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "flight_int.h"
#include "pipeline_int.h"
#include "tracer_int.h"

enum { DISARMED = 0, ARMED = 1, WRITING = 2, DONE = 3 };

static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
#define NSIGS (sizeof(sigs) / sizeof(sigs[0]))

/* How long a second crashing thread waits for the dump, ms. */
#define WAIT_FOR_DUMP_MS 10000

/*
 * The recorder.  Static: the handler may outlive a pipeline (an
 * application that installed its handler over ours keeps calling it).
 *   state       CAS by the handler (ARMED -> WRITING), stores by start,
 *               stop and the handler (__atomic, acq_rel): the one-shot.
 *   writer_tid  the dumping thread, written before its dump (relaxed
 *               atomics); read by a handler that finds WRITING.
 *   the rest    written by start/stop/forget under the lifecycle lock,
 *               while state is DISARMED; the handler reads them after its
 *               CAS (acquire), which pairs with start's release store.
 */
static struct {
	int state;
	long writer_tid;
	struct sr__pipeline *pipe;
	int fd;
	pid_t pid;
	struct sigaction prev[NSIGS];
	bool installed[NSIGS];
	bool vm_ok;                 /* process_vm_readv works here        */
	uint32_t str_bound;         /* bytes copied per string at most    */

	char *res;                  /* RESOURCE section, serialised        */
	size_t res_len;
	uint32_t nres;

	uint64_t *addr;             /* string table: open addressing       */
	uint32_t *want;             /* UINT32_MAX: NUL-terminated          */
	uint32_t cap, limit, count;
	char *copy;                 /* 2 x str_bound: name, version        */
	struct sr__record *bounce;  /* one span's records, unwrapped       */
	uint32_t bounce_records;
	struct sr__flight_end end;
} fr = { .fd = -1 };

static long my_tid(void)
{
	return syscall(SYS_gettid);
}

/* ---- output ------------------------------------------------------------ */

/* write(2) until done; false on an error (the dump then stops). */
static bool put(const void *buf, size_t len)
{
	const char *b = buf;

	while (len) {
		ssize_t w = write(fr.fd, b, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		b += w;
		len -= (size_t)w;
	}
	return true;
}

static bool put_section(uint32_t type, uint32_t arg, uint64_t len)
{
	struct sr__flight_section s = { type, arg, len };

	return put(&s, sizeof(s));
}

static bool put_pad(uint64_t len)
{
	static const char zeros[8];

	return (len & 7) == 0 || put(zeros, 8 - (len & 7));
}

static uint64_t pad8(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

/* ---- strings ------------------------------------------------------------ */

static uint32_t hash_addr(uint64_t a)
{
	a ^= a >> 33;
	a *= 0xff51afd7ed558ccdull;
	a ^= a >> 33;
	return (uint32_t)a;
}

/* Remember that a written record points at `s` (len: static value bytes,
 * UINT32_MAX: NUL-terminated).  Called from the span walk. */
static void note_string(void *arg, const char *s, uint32_t len)
{
	uint64_t a = (uint64_t)(uintptr_t)s;
	uint32_t i;

	(void)arg;
	if (!fr.cap || a < 4096)
		return;
	for (i = hash_addr(a) & (fr.cap - 1);; i = (i + 1) & (fr.cap - 1)) {
		if (fr.addr[i] == a) {
			/* NUL-terminated wins: it reads up to the bound. */
			if (fr.want[i] != UINT32_MAX &&
			    (len == UINT32_MAX || len > fr.want[i]))
				fr.want[i] = len;
			return;
		}
		if (fr.addr[i] == 0)
			break;
	}
	if (fr.count == fr.limit) {
		fr.end.strings_dropped++;
		return;
	}
	fr.addr[i] = a;
	fr.want[i] = len;
	fr.count++;
}

/* Copy up to n bytes at addr into dst without faulting where the kernel
 * lets us check: process_vm_readv on this process reads page by page up
 * to the first unmapped one and says how far it got. */
static size_t safe_read(char *dst, uint64_t addr, size_t n)
{
	struct iovec local = { dst, n }, remote[24];
	const size_t page = 4096;
	size_t done = 0;
	int k = 0;
	ssize_t r;

	if (!fr.vm_ok) {
		memcpy(dst, (const void *)(uintptr_t)addr, n);
		return n;
	}
	while (done < n && k < 24) {
		uint64_t at = addr + done;
		size_t room = page - (size_t)(at & (page - 1));

		if (room > n - done)
			room = n - done;
		remote[k].iov_base = (void *)(uintptr_t)at;
		remote[k].iov_len = room;
		k++;
		done += room;
	}
	local.iov_len = done;
	r = syscall(SYS_process_vm_readv, (long)fr.pid, &local, 1L, remote,
		    (long)k, 0L);
	return r > 0 ? (size_t)r : 0;
}

/* A NUL-terminated string into dst (fr.str_bound bytes): its length, up
 * to the bound.  *flags gets SR__FSTR_TRUNCATED or _UNREADABLE.  Without
 * process_vm_readv it reads byte by byte, never past the NUL. */
static size_t read_cstr(char *dst, uint64_t addr, uint32_t *flags)
{
	size_t n, i;

	if (!fr.vm_ok) {
		const char *s = (const char *)(uintptr_t)addr;

		for (i = 0; i < fr.str_bound && s[i]; i++)
			dst[i] = s[i];
		if (i == fr.str_bound)
			*flags |= SR__FSTR_TRUNCATED;
		return i;
	}
	n = safe_read(dst, addr, fr.str_bound);
	if (n == 0) {
		*flags |= SR__FSTR_UNREADABLE;
		return 0;
	}
	for (i = 0; i < n && dst[i]; i++)
		;
	if (i == n)
		*flags |= SR__FSTR_TRUNCATED; /* bound, or unmapped after */
	return i;
}

static void count_flags(uint32_t flags)
{
	if (flags & SR__FSTR_UNREADABLE)
		fr.end.strings_unreadable++;
	if (flags & SR__FSTR_TRUNCATED)
		fr.end.strings_truncated++;
}

static bool put_string(uint64_t addr, uint32_t want)
{
	struct sr__flight_string s = { addr, 0, 0 };
	size_t n;

	if (want == UINT32_MAX) {
		n = read_cstr(fr.copy, addr, &s.flags);
	} else {
		size_t ask = want < fr.str_bound ? want : fr.str_bound;

		n = ask ? safe_read(fr.copy, addr, ask) : 0;
		if (ask && n == 0)
			s.flags |= SR__FSTR_UNREADABLE;
		else if (n < want)
			s.flags |= SR__FSTR_TRUNCATED;
	}
	count_flags(s.flags);
	s.len = (uint32_t)n;
	fr.end.strings++;
	return put_section(SR__FSEC_STRING, 0, sizeof(s) + pad8(n)) &&
	       put(&s, sizeof(s)) && put(fr.copy, n) && put_pad(n);
}

static bool put_strings(void)
{
	for (uint32_t i = 0; i < fr.cap; i++)
		if (fr.addr[i] && !put_string(fr.addr[i], fr.want[i]))
			return false;
	return true;
}

/* The tracer table: name and version of each index a record may carry. */
static bool put_scopes(void)
{
	uint32_t n = sr__tracer_count();
	char *ver = fr.copy + fr.str_bound;

	for (uint32_t i = 0; i < n; i++) {
		const sr_tracer_t *t = sr__tracer_at((uint16_t)i);
		struct sr__flight_scope sc;
		uint32_t flags = 0;
		size_t len;

		sc.name_len = (uint32_t)read_cstr(fr.copy, (uint64_t)(uintptr_t)t->name, &flags);
		sc.version_len = (uint32_t)read_cstr(ver, (uint64_t)(uintptr_t)t->version, &flags);
		len = sizeof(sc) + sc.name_len + sc.version_len;
		if (!put_section(SR__FSEC_SCOPE, i, pad8(len)) ||
		    !put(&sc, sizeof(sc)) || !put(fr.copy, sc.name_len) ||
		    !put(ver, sc.version_len) || !put_pad(len))
			return false;
	}
	return true;
}

/* ---- records ------------------------------------------------------------ */

/* Note the strings of the span at ring index `at` (a long span wrapping
 * the ring is walked from a contiguous copy; a short one is contiguous
 * already: record_int.h).  Sets *past_end to the records of a short span
 * that run into the ring's overhang, else leaves it. */
static uint32_t note_ring_span(const struct sr__ring *r, uint32_t at,
			       uint32_t left, uint32_t *past_end)
{
	const struct sr__span_header *h =
		(const void *)sr__ring_at(r, at)->bytes;
	uint32_t nrec = sr__records_for_slots(h->nslots);
	uint32_t slot0 = at & r->mask;

	if (nrec == 0 || nrec > left)
		return 0; /* not a span start we can trust: stop the walk */
	if (slot0 + nrec > r->capacity) {
		uint32_t first = r->capacity - slot0;

		if (sr__span_contiguous(nrec)) {
			*past_end = nrec - first;
		} else {
			if (nrec > fr.bounce_records)
				return nrec;
			memcpy(fr.bounce, &r->records[slot0],
			       (size_t)first * SR__RECORD_SIZE);
			memcpy(fr.bounce + first, r->records,
			       (size_t)(nrec - first) * SR__RECORD_SIZE);
			h = (const void *)fr.bounce->bytes;
		}
	}
	sr__flight_span_walk(h, sr__slots_in_records(nrec),
			     note_string, NULL);
	return nrec;
}

/*
 * The ring's waiting records in index order, as the reader parses them:
 * from head to the ring's end, then from its start.  A short span that
 * wraps has its wrapped records in the overhang, not at the start
 * (record_int.h): those `past_end` records are written from there and
 * the start's unused ones skipped.  A walk that stopped early found no
 * such span (past_end 0): the plain two pieces.
 */
static bool put_ring(struct sr__thread *t)
{
	struct sr__ring *r = &t->ring;
	uint32_t head = ck_pr_load_32(&r->c_head);
	uint32_t tail = ck_pr_load_32(&r->p_tail);
	uint32_t n = tail - head, slot, first, at, past_end = 0;
	struct sr__flight_ring fh;
	struct sr__flight_check ck;

	if (n == 0)
		return true;
	if (n > r->capacity) { /* refilled between the loads: newest only */
		head = tail - r->capacity;
		n = r->capacity;
	}
	for (at = head; at != tail;) {
		uint32_t k = note_ring_span(r, at, tail - at, &past_end);

		if (k == 0)
			break;
		fr.end.spans_in_rings++;
		at += k;
	}
	fh = (struct sr__flight_ring){ t->index, r->capacity, head, tail,
				       ck_pr_load_64(&t->tid) };
	slot = head & r->mask;
	first = r->capacity - slot < n ? r->capacity - slot : n;
	if (past_end > n - first)
		past_end = n - first;
	if (!put_section(SR__FSEC_RING, 0,
			 sizeof(fh) + (uint64_t)n * SR__RECORD_SIZE) ||
	    !put(&fh, sizeof(fh)) ||
	    !put(&r->records[slot], (size_t)first * SR__RECORD_SIZE) ||
	    !put(&r->records[r->capacity], (size_t)past_end * SR__RECORD_SIZE) ||
	    !put(&r->records[past_end],
		 (size_t)(n - first - past_end) * SR__RECORD_SIZE))
		return false;
	fr.end.records += n;
	ck.index = t->index;
	ck.value = ck_pr_load_32(&r->p_tail);
	return put_section(SR__FSEC_CHECK, SR__FSEC_RING, sizeof(ck)) &&
	       put(&ck, sizeof(ck));
}

static bool put_batch(struct sr__pipeline *p, uint32_t i)
{
	struct sr__batch *b = &p->batches[i];
	struct sr__flight_batch fb;
	struct sr__flight_check ck;
	uint32_t gen, nspans, nrec;
	uint64_t idx_len;

	if (!ck_pr_load_int(&b->outstanding))
		return true;
	ck_pr_fence_load(); /* taken before its contents: pairs with take */
	gen = ck_pr_load_32(&b->gen);
	nspans = ck_pr_load_32(&b->nspans);
	nrec = ck_pr_load_32(&b->nrecords);
	if (nspans > p->batch_spans)
		nspans = p->batch_spans;
	if (nrec > p->batch_records)
		nrec = p->batch_records;
	if (nspans == 0)
		return true;
	for (uint32_t s = 0; s < nspans; s++) {
		uint32_t f = b->first[s];

		if (f >= nrec)
			break;
		sr__flight_span_walk((const void *)b->records[f].bytes,
				     sr__slots_in_records(nrec - f),
				     note_string, NULL);
		fr.end.spans_in_batches++;
	}
	fb = (struct sr__flight_batch){ i, gen, nspans, nrec,
					b == ck_pr_load_ptr(&p->cur), 0 };
	idx_len = pad8((uint64_t)nspans * sizeof(uint32_t));
	if (!put_section(SR__FSEC_BATCH, 0,
			 sizeof(fb) + idx_len + (uint64_t)nrec * SR__RECORD_SIZE) ||
	    !put(&fb, sizeof(fb)) ||
	    !put(b->first, (size_t)nspans * sizeof(uint32_t)) ||
	    !put_pad((uint64_t)nspans * sizeof(uint32_t)) ||
	    !put(b->records, (size_t)nrec * SR__RECORD_SIZE))
		return false;
	fr.end.records += nrec;
	ck_pr_fence_load(); /* the copy before the generation check */
	ck.index = i;
	ck.value = ck_pr_load_32(&b->gen);
	return put_section(SR__FSEC_CHECK, SR__FSEC_BATCH, sizeof(ck)) &&
	       put(&ck, sizeof(ck));
}

/* The clock as the drainer last wrote it, without waiting on its
 * seqlock: a writer that crashed mid-update would keep it odd for ever. */
static uint32_t read_clock(struct sr__clock_params *c)
{
	for (int tries = 0; tries < 100; tries++) {
		unsigned v = ck_pr_load_uint(&sr__g.clock_seq.sequence);

		ck_pr_fence_load();
		*c = sr__g.clock;
		ck_pr_fence_load();
		if (!(v & 1) && v == ck_pr_load_uint(&sr__g.clock_seq.sequence))
			return 0;
	}
	return 1;
}

static void dump(struct sr__pipeline *p, int sig, const siginfo_t *si)
{
	struct sr__flight_header h;
	struct timespec ts;
	sr_stats_t st;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, SR__FLIGHT_MAGIC, 8);
	h.version = SR__FLIGHT_VERSION;
	h.header_size = sizeof(h);
	h.record_size = SR__RECORD_SIZE;
	h.byte_order = SR__FLIGHT_BYTE_ORDER;
	h.pointer_size = sizeof(void *);
	h.pid = (uint32_t)fr.pid;
	h.signo = sig;
	h.si_code = si ? si->si_code : 0;
	h.fault_addr = si ? (uint64_t)(uintptr_t)si->si_addr : 0;
	h.crash_tid = (uint64_t)my_tid();
	clock_gettime(CLOCK_REALTIME, &ts);
	h.crash_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	h.clock_torn = read_clock(&h.clock);
	h.max_threads = p->cfg.max_threads;
	h.ring_records = p->cfg.ring_records;
	h.nbatches = p->nbatches;
	/* Counters first, records after: a batch finalized in between is
	 * counted in neither (the reader reports it as unaccounted), never
	 * in both. */
	/* sr__stats_collect takes the start tallies' lock (tally.c).  Its
	 * holders block every signal while they hold it, so this thread
	 * cannot be one of them here (a fault inside it is fatal at once,
	 * without this handler); another thread holds it for a list walk
	 * only, and lets go. */
	sr__stats_collect(p, &st);
	h.started = st.started;
	h.sampled = st.sampled;
	h.open = st.open;
	h.exported = st.exported;
	h.dropped_ring_full = st.dropped_ring_full;
	h.dropped_limits = st.dropped_limits;
	h.dropped_queue_full = st.dropped_queue_full;
	h.dropped_exporter = st.dropped_exporter;
	h.dropped_shutdown = st.dropped_shutdown;
	h.dropped_reentrant = st.dropped_reentrant;
	h.records_discarded = st.records_discarded;
	ck_pr_fence_load();
	if (!put(&h, sizeof(h)) ||
	    !put_section(SR__FSEC_RESOURCE, fr.nres, fr.res_len) ||
	    !put(fr.res, fr.res_len))
		return;
	for (uint32_t i = 0; i < p->cfg.max_threads; i++)
		if (!put_ring(&p->threads[i]))
			return;
	for (uint32_t i = 0; i < p->nbatches; i++)
		if (!put_batch(p, i))
			return;
	if (!put_scopes() || !put_strings())
		return;
	if (!put_section(SR__FSEC_END, 0, sizeof(fr.end)) ||
	    !put(&fr.end, sizeof(fr.end)))
		return;
	/* The header counts the spans written too, now that they are. */
	h.recorded_in_rings = fr.end.spans_in_rings;
	h.recorded_in_batches = fr.end.spans_in_batches;
	if (lseek(fr.fd, (off_t)offsetof(struct sr__flight_header,
					 recorded_in_rings), SEEK_SET) >= 0)
		(void)put(&h.recorded_in_rings, 2 * sizeof(uint64_t));
}

/* ---- the handler ---------------------------------------------------------- */

static int sig_slot(int sig)
{
	for (unsigned i = 0; i < NSIGS; i++)
		if (sigs[i] == sig)
			return (int)i;
	return -1;
}

/* Put back what was there before us and let the signal reach it (file
 * comment: a fault recurs on return, a sent signal is sent again). */
static void chain(int sig, const siginfo_t *si)
{
	int k = sig_slot(sig);

	if (k >= 0)
		sigaction(sig, &fr.prev[k], NULL);
	else
		signal(sig, SIG_DFL);
	if (!si || si->si_code <= 0)
		raise(sig);
}

static void on_crash(int sig, siginfo_t *si, void *uc)
{
	int saved = errno, expect = ARMED;
	long tid = my_tid();

	(void)uc;
	if (__atomic_compare_exchange_n(&fr.state, &expect, WRITING, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&fr.writer_tid, tid, __ATOMIC_RELAXED);
		dump(fr.pipe, sig, si);
		__atomic_store_n(&fr.state, DONE, __ATOMIC_RELEASE);
	} else if (expect == WRITING) {
		if (__atomic_load_n(&fr.writer_tid, __ATOMIC_RELAXED) == tid) {
			/* Re-entered on the dumping thread: default action. */
			signal(sig, SIG_DFL);
			raise(sig);
			errno = saved;
			return;
		}
		for (int ms = 0; ms < WAIT_FOR_DUMP_MS &&
				 __atomic_load_n(&fr.state, __ATOMIC_ACQUIRE) == WRITING;
		     ms++) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
	}
	chain(sig, si);
	errno = saved;
}

/* ---- start and stop ------------------------------------------------------- */

static uint64_t pow2_at_least(uint64_t n)
{
	uint64_t c = 1;

	while (c < n)
		c <<= 1;
	return c;
}

/* The resource as a RESOURCE section body. */
static int serialise_resource(const struct sr__resource *res)
{
	size_t len = 0;
	char *w;

	for (uint32_t i = 0; i < res->count; i++) {
		const sr_attr_view_t *a = &res->attrs[i];

		len += pad8(sizeof(struct sr__flight_attr) + a->key.len +
			    (a->type == SR_ATTR_STRING ? a->v.s.len : 0));
	}
	fr.res = sr__alloc(len ? len : 8, 8);
	if (!fr.res)
		return SR_ENOMEM;
	fr.res_len = len;
	fr.nres = res->count;
	w = fr.res;
	for (uint32_t i = 0; i < res->count; i++) {
		const sr_attr_view_t *a = &res->attrs[i];
		struct sr__flight_attr fa = { a->key.len, 0, (uint32_t)a->type, 0, 0 };

		if (a->type == SR_ATTR_STRING)
			fa.str_len = a->v.s.len;
		else if (a->type == SR_ATTR_BOOL)
			fa.value = a->v.b;
		else
			memcpy(&fa.value, &a->v, 8);
		memcpy(w, &fa, sizeof(fa));
		memcpy(w + sizeof(fa), a->key.ptr, a->key.len);
		if (fa.str_len)
			memcpy(w + sizeof(fa) + a->key.len, a->v.s.ptr, fa.str_len);
		w += pad8(sizeof(fa) + a->key.len + fa.str_len);
	}
	return 0;
}

/* The recorder's memory is no longer ours (freed, or the parent's in a
 * fork child). */
static void forget_memory(void)
{
	fr.res = NULL;
	fr.addr = NULL;
	fr.want = NULL;
	fr.copy = NULL;
	fr.bounce = NULL;
	fr.cap = 0;
}

static void release_memory(void)
{
	sr__free(fr.res, fr.res_len ? fr.res_len : 8);
	sr__free(fr.addr, sizeof(*fr.addr) * fr.cap);
	sr__free(fr.want, sizeof(*fr.want) * fr.cap);
	sr__free(fr.copy, 2 * (size_t)fr.str_bound);
	sr__free(fr.bounce, sizeof(*fr.bounce) * fr.bounce_records);
	forget_memory();
}

/* Does process_vm_readv read this process here (not refused by seccomp
 * or a kernel without it)? */
static bool probe_vm_read(void)
{
	static const char probe[] = "spanring";
	char buf[sizeof(probe)];
	struct iovec l = { buf, sizeof(buf) }, r = { (void *)probe, sizeof(probe) };

	return syscall(SYS_process_vm_readv, (long)getpid(), &l, 1L, &r, 1L,
		       0L) == (long)sizeof(probe) &&
	       memcmp(buf, probe, sizeof(probe)) == 0;
}

static pid_t first_pid;          /* the process that started it first */
static char child_path[4096];

int sr__flight_start(struct sr__pipeline *p)
{
	const sr_config_t *c = &p->cfg;
	const char *path = c->flight_recorder;
	struct sigaction sa;
	int rc;

	if (!path || !*path)
		return 0;
	fr.pid = getpid();
	fr.str_bound = c->attr_value_length_limit;
	fr.limit = c->flight_recorder_strings;
	fr.cap = (uint32_t)pow2_at_least((uint64_t)fr.limit * 2);
	fr.bounce_records = SR__CFG_RECORDS(c->max_span_records);
	fr.count = 0;
	memset(&fr.end, 0, sizeof(fr.end));
	fr.addr = sr__alloc(sizeof(*fr.addr) * fr.cap, 64);
	fr.want = sr__alloc(sizeof(*fr.want) * fr.cap, 64);
	fr.copy = sr__alloc(2 * (size_t)fr.str_bound, 64);
	fr.bounce = sr__alloc(sizeof(*fr.bounce) * fr.bounce_records, 64);
	if (!fr.addr || !fr.want || !fr.copy || !fr.bounce ||
	    serialise_resource(&p->resource) != 0) {
		release_memory();
		return sr__set_error(SR_ENOMEM, "SPANRING_FLIGHT_RECORDER: cannot "
				     "allocate the recorder's tables");
	}
	p->bytes += sizeof(*fr.addr) * fr.cap + sizeof(*fr.want) * fr.cap +
		    2 * (size_t)fr.str_bound + fr.res_len +
		    sizeof(*fr.bounce) * fr.bounce_records;
	/* A forked child (the core restarts the pipeline there) writes
	 * <path>.<pid>, never over its parent's recording. */
	if (!first_pid)
		first_pid = fr.pid;
	if (fr.pid != first_pid) {
		snprintf(child_path, sizeof(child_path), "%s.%ld", path,
			 (long)fr.pid);
		path = child_path;
	}
	fr.fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	if (fr.fd < 0) {
		rc = errno;
		release_memory();
		return sr__set_error(SR_EIO, "SPANRING_FLIGHT_RECORDER='%s': "
				     "cannot open for writing: %s", path,
				     strerror(rc));
	}
	fr.vm_ok = probe_vm_read();
	fr.pipe = p;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_crash;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigfillset(&sa.sa_mask); /* a fault in the dump: kernel's default */
	for (unsigned i = 0; i < NSIGS; i++) {
		struct sigaction cur;

		/* Still ours from an earlier pipeline (inherited over a fork,
		 * or a handler installed over ours keeps calling it): keep
		 * the disposition found the first time.  Installing again
		 * over that other handler would make the two chain to each
		 * other for ever. */
		if (fr.installed[i] ||
		    (sigaction(sigs[i], NULL, &cur) == 0 &&
		     (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_crash)) {
			fr.installed[i] = true;
			continue;
		}
		fr.installed[i] = sigaction(sigs[i], &sa, &fr.prev[i]) == 0;
	}
	/* Everything above before the handler may use it. */
	__atomic_store_n(&fr.state, ARMED, __ATOMIC_RELEASE);
	return 0;
}

void sr__flight_stop(struct sr__pipeline *p)
{
	int expect = ARMED;

	if (fr.pipe != p || !p)
		return;
	if (!__atomic_compare_exchange_n(&fr.state, &expect, DISARMED, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		/* A crash is being written on another thread: the process is
		 * about to die; do not free what it reads. */
		while (__atomic_load_n(&fr.state, __ATOMIC_ACQUIRE) == WRITING) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
	}
	for (unsigned i = 0; i < NSIGS; i++) {
		struct sigaction cur;

		if (!fr.installed[i])
			continue;
		/* Only if still ours: a handler installed over ours keeps its
		 * place (and calls ours, which now only chains). */
		if (sigaction(sigs[i], NULL, &cur) == 0 &&
		    (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_crash) {
			sigaction(sigs[i], &fr.prev[i], NULL);
			fr.installed[i] = false;
		}
	}
	fr.pipe = NULL;
	if (fr.fd >= 0)
		close(fr.fd);
	fr.fd = -1;
	sr__alloc_use(&p->alloc); /* what the tables were allocated with */
	release_memory();
	sr__alloc_use(NULL);
}

void sr__flight_forget(void)
{
	__atomic_store_n(&fr.state, DISARMED, __ATOMIC_RELEASE);
	fr.pipe = NULL;
	if (fr.fd >= 0)
		close(fr.fd); /* the child's copy; the parent keeps its own */
	fr.fd = -1;
	/* The parent's pipeline is abandoned in the child, and these with it. */
	forget_memory();
}
