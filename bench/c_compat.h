/*
 * c_compat.h - lets C++ benchmark files include the library's C11
 * headers.
 *
 * The internal headers the floor benchmark reads (core/record_int.h,
 * ringbuf/ring_int.h) are C11 only: they spell alignment and static
 * assertions with the C keywords _Alignas and _Static_assert.  C++11 has
 * the same two things as alignas and static_assert, so when the C
 * keyword is not already known the spelling is mapped; the layout the
 * compiler produces is the same.  Include this before any spanring
 * header in a .cc file.
 */
#ifndef SR_BENCH_C_COMPAT_H
#define SR_BENCH_C_COMPAT_H

#ifdef __cplusplus
#ifndef _Alignas
#define _Alignas(x) alignas(x)
#endif
#ifndef _Static_assert
#define _Static_assert static_assert
#endif
#endif

#endif /* SR_BENCH_C_COMPAT_H */
