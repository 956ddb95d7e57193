/*
 * membarrier.c - the shutdown side of the hot path's busy mark (see
 * sr__busy_enter in pipeline_int.h): one call that makes every running
 * thread of the process execute a full memory fence.
 *
 * The expedited private command (Linux 4.14) costs an IPI to the CPUs
 * running our threads; it needs a registration, which does not survive
 * fork, so every sr_init registers again.  Without it the global command
 * (Linux 4.3) does the same job more slowly (it waits out a scheduler
 * grace period), which only shutdown pays.  Without either, the fast path
 * stays off.
 */
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ck_pr.h>

#include "pipeline_int.h"

uint32_t sr__fast_gen;

/* Written by sr_init under the lifecycle lock, read by shutdown under it. */
static int barrier_cmd;

static long membarrier_call(int cmd)
{
#ifdef SYS_membarrier
	return syscall(SYS_membarrier, cmd, 0, 0);
#else
	(void)cmd;
	return -1;
#endif
}

bool sr__membarrier_register(void)
{
	long have = membarrier_call(MEMBARRIER_CMD_QUERY);

	barrier_cmd = 0;
	if (have < 0)
		return false;
	if ((have & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
	    membarrier_call(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
		barrier_cmd = MEMBARRIER_CMD_PRIVATE_EXPEDITED;
	else if (have & MEMBARRIER_CMD_GLOBAL)
		barrier_cmd = MEMBARRIER_CMD_GLOBAL;
	return barrier_cmd != 0;
}

void sr__membarrier(void)
{
	if (barrier_cmd && membarrier_call(barrier_cmd) == 0)
		return;
	/* Registered at init, so this cannot fail short of a seccomp
	 * change mid-run; a fence here is all we can still do, and the
	 * writers' busy marks are still waited for. */
	ck_pr_fence_memory();
}
