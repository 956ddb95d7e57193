/*
 * rcu.c - out-of-line read-side wrappers for UBSan builds (see rcu_int.h).
 */
#include "rcu_int.h"

#ifdef SR_UBSAN_BUILD
__attribute__((no_sanitize("alignment"))) void sr__rcu_read_lock(void)
{
	urcu_bp_read_lock();
}

__attribute__((no_sanitize("alignment"))) void sr__rcu_read_unlock(void)
{
	urcu_bp_read_unlock();
}
#endif
