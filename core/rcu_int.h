/*
 * rcu_int.h - the urcu-bp read side as the core uses it.
 *
 * One place for the read-side calls so sanitizer builds can adjust them:
 * liburcu-bp allocates its per-thread reader records in arrays that do not
 * honour the 128-byte alignment the record's type declares, so UBSan's
 * alignment check fires inside liburcu's inline read-lock code.  That is
 * not our defect; in UBSan builds the read side goes through out-of-line
 * wrappers that skip only that check.  Normal builds inline it.
 */
#ifndef SR_RCU_INT_H
#define SR_RCU_INT_H

#include <urcu-bp.h>
#include <urcu/rculist.h>

#include "tsan_int.h"

#ifdef SR_UBSAN_BUILD
void sr__rcu_read_lock(void);
void sr__rcu_read_unlock(void);
#elif defined(SR__TSAN)
/*
 * ThreadSanitizer cannot see urcu's grace periods, so a pipeline freed
 * after synchronize_rcu() looks racy against the readers it waited for.
 * Each read-side section ends with a release on one address and each
 * grace period ends with an acquire on it: exactly the guarantee
 * synchronize_rcu() gives (every section that began before it has ended
 * before it returns).
 */
extern char sr__rcu_tsan_sync;
#define sr__rcu_read_lock() urcu_bp_read_lock()
#define sr__rcu_read_unlock()                                                \
	do {                                                                 \
		SR_TSAN_RELEASE(&sr__rcu_tsan_sync);                         \
		urcu_bp_read_unlock();                                       \
	} while (0)
#else
#define sr__rcu_read_lock() urcu_bp_read_lock()
#define sr__rcu_read_unlock() urcu_bp_read_unlock()
#endif

/* synchronize_rcu() for the core (shutdown): see the TSan note above. */
static inline void sr__rcu_synchronize(void)
{
	urcu_bp_synchronize_rcu();
#if defined(SR__TSAN) && !defined(SR_UBSAN_BUILD)
	SR_TSAN_ACQUIRE(&sr__rcu_tsan_sync);
#endif
}

#endif /* SR_RCU_INT_H */
