/*
 * taskstat.h - CPU time and scheduling count of this process's threads by
 * name, from /proc/self/task/<tid>/{comm,schedstat}: how the bench server
 * and the pipeline benchmarks charge the library's own threads
 * (sr-drainer, sr-exp-*) to the spans they handle.
 *
 * schedstat's fields are the thread's run time (ns, the scheduler's
 * accounting, finer than stat's clock ticks), its wait time on a run
 * queue, and how many times it was put on a CPU: its wake-ups plus its
 * resumptions after preemption.  Threads of one name are summed; threads
 * that exited are not seen.  C and C++.
 */
#ifndef SRB_TASKSTAT_H
#define SRB_TASKSTAT_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TASKSTAT_MAX 32

struct task_cpu {
	char comm[20];
	uint64_t ns, runs;
	uint64_t waited; /* ns runnable but waiting for a CPU */
};

/* Fills t[0..return) with the threads of this process other than `skip`
 * (a tid, 0: none), by name. */
static inline int taskstat_read(struct task_cpu *t, int max, long skip)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char path[300], comm[20] = "";
		unsigned long long ns = 0, waited = 0, runs = 0;
		FILE *f;
		int k;

		if (e->d_name[0] == '.' || atol(e->d_name) == skip)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
		comm[strcspn(comm, "\n")] = 0;
		snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fscanf(f, "%llu %llu %llu", &ns, &waited, &runs) != 3)
			ns = waited = runs = 0;
		fclose(f);
		for (k = 0; k < n; k++)
			if (strcmp(t[k].comm, comm) == 0)
				break;
		if (k == n) {
			if (k == max)
				continue;
			snprintf(t[k].comm, sizeof(t[k].comm), "%s", comm);
			t[k].ns = t[k].runs = t[k].waited = 0;
			n++;
		}
		t[k].ns += ns;
		t[k].runs += runs;
		t[k].waited += waited;
	}
	closedir(d);
	return n;
}

/* The entry named `comm` in t[0..n), or NULL. */
static inline const struct task_cpu *taskstat_find(const struct task_cpu *t,
						   int n, const char *comm)
{
	for (int k = 0; k < n; k++)
		if (strcmp(t[k].comm, comm) == 0)
			return &t[k];
	return NULL;
}

#endif /* SRB_TASKSTAT_H */
