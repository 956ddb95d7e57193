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

#ifdef SR_UBSAN_BUILD
void sr__rcu_read_lock(void);
void sr__rcu_read_unlock(void);
#else
#define sr__rcu_read_lock() urcu_bp_read_lock()
#define sr__rcu_read_unlock() urcu_bp_read_unlock()
#endif

#endif /* SR_RCU_INT_H */
