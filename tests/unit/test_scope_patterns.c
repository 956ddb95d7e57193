/*
 * test_scope_patterns.c - scope conformance for the three ways servers
 * hand work around, after OpenTracing's scope-manager checks (activate,
 * active(), restore-on-close, no leak into the next unit of work) and its
 * testbed patterns (client-server hand-off, multiple and nested
 * callbacks, suspend/resume):
 *
 *   worker pool   an acceptor thread puts each request, with its context
 *                 value inside, on a queue; worker threads activate the
 *                 context, start a child, and leave nothing active;
 *   event loop    one thread interleaves many requests in random order,
 *                 each callback re-activating the context stored in its
 *                 request struct (and callbacks scheduling callbacks);
 *   fibers        ucontext fibers that yield with scopes open, the
 *                 scheduler saving and restoring the thread's scope
 *                 stack around every switch.
 *
 * Every check ends at the exporter: each child span's trace id and parent
 * span id must be its request's, and no scope error may be counted.
 */
// SR_TEST_LABELS: concurrency
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <ucontext.h>

#include "testutil.h"

static uint64_t scope_errors(void)
{
	sr_stats_t st = { .size = sizeof(st) };

	st.size = sizeof(st);
	sr_stats_get(&st);
	return st.scope_errors;
}

static void no_context_active(void)
{
	sr_context_t c;

	assert_int_equal(sr_context_current(&c), SR_ENOTFOUND);
	assert_false(sr_context_is_valid(&c));
}

/* The exported span whose name is `name`: must be a child of `parent`. */
static void assert_child_of(const char *name, const sr_context_t *parent)
{
	const sr_span_data_t *d = sr_test_find_span(name);

	if (!d)
		fail_msg("span %s not exported", name);
	assert_memory_equal(d->trace_id, parent->trace_id, 16);
	assert_memory_equal(d->parent_span_id, parent->span_id, 8);
}

static void tweak(sr_config_t *cfg)
{
	cfg->ring_records = 4096;
}

static int setup(void **state)
{
	(void)state;
	return sr_test_init_memory(tweak);
}

static int teardown(void **state)
{
	(void)state;
	return sr_shutdown(5000, NULL);
}

/* Basic rules all patterns rely on: enter makes current, exit restores
 * the previous one, a context value survives its span ending. */
static void test_activate_restore(void **state)
{
	sr_span_t a, b;
	sr_context_t ca, cb, cur;
	sr_scope_t sa, sb;

	(void)state;
	no_context_active();
	sr_span_start(&a, NULL, "a", SR_KIND_INTERNAL);
	ca = sr_span_context(&a);
	sa = sr_scope_enter(&a);
	sr_span_start(&b, NULL, "b", SR_KIND_INTERNAL);
	cb = sr_span_context(&b);
	assert_memory_equal(cb.trace_id, ca.trace_id, 16);
	sb = sr_scope_enter(&b);
	sr_span_end(&b);            /* ended, still current: a copy */
	assert_int_equal(sr_context_current(&cur), 0);
	assert_memory_equal(cur.span_id, cb.span_id, 8);
	assert_int_equal(sr_scope_exit(sb), 0);
	sr_context_current(&cur);
	assert_memory_equal(cur.span_id, ca.span_id, 8);
	assert_int_equal(sr_scope_exit(sa), 0);
	sr_span_end(&a);
	no_context_active();
}

/* ---- worker pool ---------------------------------------------------- */

#define POOL_WORKERS 2
#define POOL_REQUESTS 300
#define QCAP 16

struct request {
	int id;
	sr_context_t ctx;       /* the hand-off: a plain value */
	sr_context_t child;     /* filled by the worker        */
	int baggage_ok;
	int leak;               /* something was active on arrival */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t nonempty, nonfull;
	struct request *q[QCAP];
	unsigned head, tail;
	bool closed;
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
	   PTHREAD_COND_INITIALIZER, { 0 }, 0, 0, false };

static struct request requests[POOL_REQUESTS];

static void pool_put(struct request *r)
{
	pthread_mutex_lock(&pool.lock);
	while (pool.tail - pool.head == QCAP)
		pthread_cond_wait(&pool.nonfull, &pool.lock);
	pool.q[pool.tail++ % QCAP] = r;
	pthread_cond_signal(&pool.nonempty);
	pthread_mutex_unlock(&pool.lock);
}

static struct request *pool_get(void)
{
	struct request *r = NULL;

	pthread_mutex_lock(&pool.lock);
	while (pool.tail == pool.head && !pool.closed)
		pthread_cond_wait(&pool.nonempty, &pool.lock);
	if (pool.tail != pool.head) {
		r = pool.q[pool.head++ % QCAP];
		pthread_cond_signal(&pool.nonfull);
	}
	pthread_mutex_unlock(&pool.lock);
	return r;
}

static char names[POOL_REQUESTS][24];

static void *worker(void *arg)
{
	struct request *r;

	(void)arg;
	while ((r = pool_get()) != NULL) {
		sr_context_t cur;
		sr_span_t s;
		sr_scope_t sc;
		char v[16], want[16];

		r->leak = sr_context_current(&cur) == 0;
		sc = sr_scope_enter_ctx(&r->ctx);
		sr_span_start(&s, NULL, names[r->id], SR_KIND_INTERNAL);
		r->child = sr_span_context(&s);
		snprintf(want, sizeof(want), "req-%d", r->id);
		r->baggage_ok =
			sr_baggage_get(&r->child, "request", v, sizeof(v), NULL) == 0 &&
			strcmp(v, want) == 0;
		sr_span_end(&s);
		if (sr_scope_exit(sc) != 0)
			r->leak = 1;
	}
	return NULL;
}

static void test_worker_pool(void **state)
{
	pthread_t w[POOL_WORKERS];
	uint64_t errs = scope_errors();
	sr_span_t accept_span;
	sr_scope_t accept_scope;

	(void)state;
	for (int i = 0; i < POOL_WORKERS; i++)
		assert_int_equal(pthread_create(&w[i], NULL, worker, NULL), 0);
	/* The acceptor has a scope of its own open throughout: handing
	 * requests off must neither use nor disturb it. */
	sr_span_start(&accept_span, NULL, "acceptor", SR_KIND_INTERNAL);
	accept_scope = sr_scope_enter(&accept_span);
	for (int i = 0; i < POOL_REQUESTS; i++) {
		struct request *r = &requests[i];
		sr_span_t root;
		char v[16];

		r->id = i;
		snprintf(names[i], sizeof(names[i]), "pool-%d", i);
		sr_span_start_ex(&root, NULL, "pool-root", SR_KIND_SERVER, NULL, 0,
				 SR_SPAN_ROOT);
		r->ctx = sr_span_context(&root);
		snprintf(v, sizeof(v), "req-%d", i);
		assert_int_equal(sr_baggage_set(&r->ctx, "request", v,
						SR_CARRIER_LEN_CSTR, NULL,
						&r->ctx), 0);
		sr_span_end(&root);  /* may end before the worker runs */
		pool_put(r);
	}
	pthread_mutex_lock(&pool.lock);
	pool.closed = true;
	pthread_cond_broadcast(&pool.nonempty);
	pthread_mutex_unlock(&pool.lock);
	for (int i = 0; i < POOL_WORKERS; i++)
		pthread_join(w[i], NULL);
	{
		sr_context_t cur, mine = sr_span_context(&accept_span);
		assert_int_equal(sr_context_current(&cur), 0);
		assert_memory_equal(cur.span_id, mine.span_id, 8);
	}
	assert_int_equal(sr_scope_exit(accept_scope), 0);
	sr_span_end(&accept_span);
	assert_int_equal(sr_flush(5000, NULL), 0);
	for (int i = 0; i < POOL_REQUESTS; i++) {
		assert_int_equal(requests[i].leak, 0);
		assert_true(requests[i].baggage_ok);
		assert_child_of(names[i], &requests[i].ctx);
	}
	assert_int_equal(scope_errors(), errs);
}

/* ---- event loop ------------------------------------------------------ */

#define LOOP_REQUESTS 64
#define LOOP_STEPS 5

struct loop_req {
	sr_context_t ctx;         /* the request's root, stored in the struct */
	sr_context_t pending;     /* context captured by a callback for the
	                             callback it scheduled (nested callbacks) */
	int step;
	char name[LOOP_STEPS][24];
	sr_context_t expect_parent[LOOP_STEPS];
};

static struct loop_req lreq[LOOP_REQUESTS];

/* One callback of request r: re-activate its context, do a step. */
static void loop_callback(struct loop_req *r, int idx)
{
	sr_context_t cur;
	sr_span_t s;
	sr_scope_t sc;
	int k = r->step;

	/* Odd steps resume the context the previous callback captured
	 * (its own span), even steps the request's root. */
	const sr_context_t *act = (k & 1) ? &r->pending : &r->ctx;

	no_context_active();
	sc = sr_scope_enter_ctx(act);
	snprintf(r->name[k], sizeof(r->name[k]), "loop-%d-%d", idx, k);
	r->expect_parent[k] = *act;
	sr_span_start(&s, NULL, r->name[k], SR_KIND_INTERNAL);
	{
		/* Capture what is current inside the child for the next
		 * callback, as a nested callback registration would. */
		sr_scope_t inner = sr_scope_enter(&s);
		assert_int_equal(sr_context_current(&cur), 0);
		r->pending = cur;
		assert_int_equal(sr_scope_exit(inner), 0);
	}
	sr_span_end(&s);
	assert_int_equal(sr_scope_exit(sc), 0);
	r->step++;
	no_context_active();
}

static void test_event_loop(void **state)
{
	uint64_t seed = sr_test_seed(6), errs = scope_errors();
	int remaining = LOOP_REQUESTS * LOOP_STEPS;

	(void)state;
	for (int i = 0; i < LOOP_REQUESTS; i++) {
		sr_span_t root;

		sr_span_start_ex(&root, NULL, "loop-root", SR_KIND_SERVER, NULL,
				 0, SR_SPAN_ROOT);
		lreq[i].ctx = sr_span_context(&root);
		lreq[i].step = 0;
		sr_span_end(&root);
	}
	/* The loop: pick any request with work left, run its next step. */
	while (remaining) {
		int i = (int)(sr_test_rand(&seed) % LOOP_REQUESTS);
		if (lreq[i].step == LOOP_STEPS)
			continue;
		loop_callback(&lreq[i], i);
		remaining--;
	}
	assert_int_equal(sr_flush(5000, NULL), 0);
	for (int i = 0; i < LOOP_REQUESTS; i++)
		for (int k = 0; k < LOOP_STEPS; k++) {
			assert_memory_equal(lreq[i].expect_parent[k].trace_id,
					    lreq[i].ctx.trace_id, 16);
			assert_child_of(lreq[i].name[k], &lreq[i].expect_parent[k]);
		}
	assert_int_equal(scope_errors(), errs);
}

/* ---- fibers ---------------------------------------------------------- */

#define FIBERS 8
#define FIBER_YIELDS 6
#define FIBER_STACK (128 * 1024)

struct fiber {
	ucontext_t uc;
	sr_scope_stack_t scopes;  /* this fiber's scope stack while parked */
	int id;
	bool done;
	int mismatches;           /* wrong context seen after a resume   */
	int scope_rc;             /* OR of sr_scope_exit results         */
	sr_context_t root;
	char name[24];
	unsigned char stack[FIBER_STACK];
};

static struct fiber fibers[FIBERS];
static ucontext_t sched_uc;
static struct fiber *running;
static bool save_restore = true;  /* false: show what breaks without it */

static void fiber_yield(void)
{
	struct fiber *f = running;

	if (save_restore)
		sr_scope_stack_save(&f->scopes);
	swapcontext(&f->uc, &sched_uc);
	if (save_restore)
		sr_scope_stack_restore(&f->scopes);
}

static void fiber_main(void)
{
	struct fiber *f = running;
	sr_span_t root, child;
	sr_scope_t s1, s2;
	sr_context_t cur, cc;

	sr_span_start_ex(&root, NULL, "fiber-root", SR_KIND_SERVER, NULL, 0,
			 SR_SPAN_ROOT);
	f->root = sr_span_context(&root);
	s1 = sr_scope_enter(&root);
	for (int y = 0; y < FIBER_YIELDS; y++) {
		fiber_yield();
		if (sr_context_current(&cur) != 0 ||
		    memcmp(cur.span_id, f->root.span_id, 8) != 0)
			f->mismatches++;
	}
	/* A nested scope that stays open across a yield. */
	sr_span_start(&child, NULL, f->name, SR_KIND_INTERNAL);
	cc = sr_span_context(&child);
	s2 = sr_scope_enter(&child);
	fiber_yield();
	if (sr_context_current(&cur) != 0 || memcmp(cur.span_id, cc.span_id, 8))
		f->mismatches++;
	f->scope_rc |= sr_scope_exit(s2);
	sr_span_end(&child);
	fiber_yield();
	f->scope_rc |= sr_scope_exit(s1);
	sr_span_end(&root);
	f->done = true;
	swapcontext(&f->uc, &sched_uc);
}

/* Out of line: getcontext returns twice, keep no loop state around it. */
static __attribute__((noinline)) void fiber_init(struct fiber *f, int i)
{
	memset(&f->scopes, 0, sizeof(f->scopes));
	f->id = i;
	f->done = false;
	f->mismatches = 0;
	f->scope_rc = 0;
	snprintf(f->name, sizeof(f->name), "fiber-%d", i);
	getcontext(&f->uc);
	f->uc.uc_stack.ss_sp = f->stack;
	f->uc.uc_stack.ss_size = sizeof(f->stack);
	f->uc.uc_link = &sched_uc;
	makecontext(&f->uc, fiber_main, 0);
}

static void run_fibers(uint64_t seed0)
{
	/* volatile: live across swapcontext, which returns twice. */
	volatile uint64_t seed = seed0;
	volatile int left = FIBERS;

	for (int i = 0; i < FIBERS; i++)
		fiber_init(&fibers[i], i);
	/* The scheduler has a scope of its own that fibers must not see
	 * (and must not disturb). */
	while (left) {
		uint64_t st = seed;
		struct fiber *f = &fibers[sr_test_rand(&st) % FIBERS];

		seed = st;
		if (f->done)
			continue;
		running = f;
		swapcontext(&sched_uc, &f->uc);
		if (f->done)
			left--;
	}
}

static void test_fibers(void **state)
{
	uint64_t errs = scope_errors();
	sr_span_t sched;
	sr_scope_t ss;
	sr_context_t cur, mine;

	(void)state;
	sr_span_start(&sched, NULL, "scheduler", SR_KIND_INTERNAL);
	mine = sr_span_context(&sched);
	ss = sr_scope_enter(&sched);
	/* The scheduler parks its own stack while fibers run. */
	{
		sr_scope_stack_t parked;
		sr_scope_stack_save(&parked);
		no_context_active();
		run_fibers(sr_test_seed(6));
		no_context_active();
		sr_scope_stack_restore(&parked);
	}
	assert_int_equal(sr_context_current(&cur), 0);
	assert_memory_equal(cur.span_id, mine.span_id, 8);
	assert_int_equal(sr_scope_exit(ss), 0);
	sr_span_end(&sched);
	assert_int_equal(sr_flush(5000, NULL), 0);
	for (int i = 0; i < FIBERS; i++) {
		assert_int_equal(fibers[i].mismatches, 0);
		assert_int_equal(fibers[i].scope_rc, 0);
		assert_child_of(fibers[i].name, &fibers[i].root);
	}
	assert_int_equal(scope_errors(), errs);
}

/* Without save/restore the same schedule goes wrong: the check above is
 * able to fail. */
static void test_fibers_without_save_restore(void **state)
{
	uint64_t errs = scope_errors();
	int mism = 0, rc = 0;

	(void)state;
	save_restore = false;
	run_fibers(sr_test_seed(6));
	save_restore = true;
	for (int i = 0; i < FIBERS; i++) {
		mism += fibers[i].mismatches;
		rc |= fibers[i].scope_rc;
	}
	assert_true(mism > 0);
	assert_true(rc != 0 || scope_errors() != errs);
	/* Leave the thread clean for whatever runs next. */
	{
		sr_scope_stack_t junk;
		sr_scope_stack_save(&junk);
	}
	no_context_active();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_activate_restore),
		cmocka_unit_test(test_worker_pool),
		cmocka_unit_test(test_event_loop),
		cmocka_unit_test(test_fibers),
		cmocka_unit_test(test_fibers_without_save_restore),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
