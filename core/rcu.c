/*
 * rcu.c - out-of-line read-side wrappers for UBSan builds (see rcu_int.h);
 * CMake compiles this file without UBSan's alignment check.
 */
#include "rcu_int.h"

#if defined(SR__TSAN) && !defined(SR_UBSAN_BUILD)
char sr__rcu_tsan_sync;
#endif

#ifdef SR_UBSAN_BUILD
void sr__rcu_read_lock(void)
{
	urcu_bp_read_lock();
}

void sr__rcu_read_unlock(void)
{
	urcu_bp_read_unlock();
}
#endif
