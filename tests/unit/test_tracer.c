/*
 * test_tracer.c - the process-wide tracer table (core/tracer.c): identity,
 * copying, lock-free lookup by index while writers append, fork safety
 * and the SR_MAX_TRACERS limit.
 *
 * The table lives as long as the process, so the tests share it and run
 * in order; the limit test is last because it fills the table.
 */
// SR_TEST_LABELS: concurrency
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spanring_int.h"
#include "tracer_int.h"
#include "testutil.h"

static void test_default_tracer(void **state)
{
	const sr_tracer_t *d = sr_tracer_get(NULL, NULL);

	(void)state;
	assert_non_null(d);
	assert_int_equal(d->index, 0);
	assert_string_equal(d->name, "spanring");
	assert_string_equal(d->version, sr_version());
	assert_ptr_equal(sr_tracer_get("", "1.0"), d);
	assert_ptr_equal(sr__tracer_at(0), d);
	assert_ptr_equal(sr_tracer_get("spanring", sr_version()), d);
	assert_true(sr__tracer_count() >= 1);
}

static void test_same_name_and_version_same_tracer(void **state)
{
	const sr_tracer_t *a = sr_tracer_get("db", "1.2");
	const sr_tracer_t *b = sr_tracer_get("db", "1.2");
	const sr_tracer_t *c = sr_tracer_get("db", "1.3");
	const sr_tracer_t *d = sr_tracer_get("db", NULL);

	(void)state;
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, c);
	assert_ptr_not_equal(a, d);
	assert_ptr_equal(d, sr_tracer_get("db", "")); /* NULL version = "" */
	assert_string_equal(d->version, "");
	assert_int_not_equal(a->index, 0);
	assert_int_not_equal(a->index, c->index);
	assert_ptr_equal(sr__tracer_at(a->index), a);
	assert_ptr_equal(sr__tracer_at(c->index), c);
}

static void test_names_are_copied(void **state)
{
	char name[16] = "cache", version[8] = "2.0";
	const sr_tracer_t *t = sr_tracer_get(name, version);

	(void)state;
	strcpy(name, "XXXXX");
	strcpy(version, "YYY");
	assert_string_equal(t->name, "cache");
	assert_string_equal(t->version, "2.0");
	assert_ptr_equal(sr_tracer_get("cache", "2.0"), t);
}

static void test_index_out_of_range_is_default(void **state)
{
	uint32_t n = sr__tracer_count();

	(void)state;
	assert_ptr_equal(sr__tracer_at((uint16_t)n), sr__tracer_at(0));
	assert_ptr_equal(sr__tracer_at(UINT16_MAX), sr__tracer_at(0));
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(sr__tracer_at((uint16_t)i)->index, i);
}

/* Writers race to create the same tracers while a reader walks the table
 * by index with no lock, as the drainer does. */
enum { WRITERS = 4, NAMES = 48 };
static const sr_tracer_t *seen[WRITERS][NAMES];
static int stop_reader;

static void *writer(void *arg)
{
	/* Strides coprime to NAMES: each writer visits every name once, in
	 * its own order. */
	static const int stride[WRITERS] = { 1, 5, 7, 11 };
	int w = (int)(intptr_t)arg;
	char name[32];

	for (int k = 0; k < NAMES; k++) {
		int i = (k * stride[w] + w * 13) % NAMES;
		snprintf(name, sizeof(name), "race.%d", i);
		seen[w][i] = sr_tracer_get(name, "v");
	}
	return NULL;
}

static void *reader(void *arg)
{
	unsigned long bad = 0, rounds = 0;

	(void)arg;
	while (!__atomic_load_n(&stop_reader, __ATOMIC_ACQUIRE) ||
	       rounds < 1000) {
		uint32_t n = sr__tracer_count();
		for (uint32_t i = 0; i < n; i++) {
			const sr_tracer_t *t = sr__tracer_at((uint16_t)i);
			bad += t->index != i || t->name == NULL ||
			       t->version == NULL || t->name[0] == '\0';
		}
		rounds++;
	}
	return (void *)bad;
}

static void test_concurrent_get_and_lockfree_lookup(void **state)
{
	pthread_t w[WRITERS], r;
	uint32_t before = sr__tracer_count();
	void *bad;

	(void)state;
	assert_int_equal(pthread_create(&r, NULL, reader, NULL), 0);
	for (int i = 0; i < WRITERS; i++)
		assert_int_equal(pthread_create(&w[i], NULL, writer,
						(void *)(intptr_t)i), 0);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	__atomic_store_n(&stop_reader, 1, __ATOMIC_RELEASE);
	pthread_join(r, &bad);

	assert_int_equal((uintptr_t)bad, 0);
	assert_int_equal(sr__tracer_count(), before + NAMES);
	for (int i = 0; i < NAMES; i++) {
		char name[32];
		snprintf(name, sizeof(name), "race.%d", i);
		for (int k = 1; k < WRITERS; k++)
			assert_ptr_equal(seen[k][i], seen[0][i]);
		assert_string_equal(seen[0][i]->name, name);
		assert_ptr_equal(sr__tracer_at(seen[0][i]->index), seen[0][i]);
	}
}

/* A fork while another thread is inside sr_tracer_get must not leave the
 * child's table locked. */
static int stop_spinner;

static void *spinner(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop_spinner, __ATOMIC_ACQUIRE))
		sr_tracer_get("race.0", "v");
	return NULL;
}

static void test_fork_while_another_thread_holds_the_lock(void **state)
{
	pthread_t t;

	(void)state;
	assert_int_equal(pthread_create(&t, NULL, spinner, NULL), 0);
	for (int i = 0; i < 50; i++) {
		int status = 0;
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			alarm(10); /* a deadlock becomes SIGALRM */
			const sr_tracer_t *c = sr_tracer_get("child", "1");
			_exit(c != NULL && strcmp(c->name, "child") == 0 ? 0
									 : 3);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("child %d: status 0x%x", i, status);
	}
	__atomic_store_n(&stop_spinner, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
}

static void test_table_full_returns_default_and_counts(void **state)
{
	const sr_tracer_t *d = sr__tracer_at(0), *kept;
	uint64_t over = sr__tracer_overflow();
	char name[32];
	int made = 0;

	(void)state;
	kept = sr_tracer_get("db", "1.2");
	while (sr__tracer_count() < SR_MAX_TRACERS) {
		snprintf(name, sizeof(name), "fill.%d", made++);
		assert_ptr_not_equal(sr_tracer_get(name, NULL), d);
	}
	assert_int_equal(sr__tracer_overflow(), over);
	assert_ptr_equal(sr_tracer_get("one.too.many", NULL), d);
	assert_ptr_equal(sr_tracer_get("two.too.many", "x"), d);
	assert_int_equal(sr__tracer_overflow(), over + 2);
	assert_int_equal(sr__tracer_count(), SR_MAX_TRACERS);
	/* Existing tracers are still found. */
	assert_ptr_equal(sr_tracer_get("db", "1.2"), kept);
	assert_int_equal(sr__tracer_at(SR_MAX_TRACERS - 1)->index,
			 SR_MAX_TRACERS - 1);
	assert_int_equal(sr__tracer_overflow(), over + 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_tracer),
		cmocka_unit_test(test_same_name_and_version_same_tracer),
		cmocka_unit_test(test_names_are_copied),
		cmocka_unit_test(test_index_out_of_range_is_default),
		cmocka_unit_test(test_concurrent_get_and_lockfree_lookup),
		cmocka_unit_test(test_fork_while_another_thread_holds_the_lock),
		cmocka_unit_test(test_table_full_returns_default_and_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
