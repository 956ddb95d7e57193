/*
 * tsan_int.h - ThreadSanitizer marks for ck_pr publish/observe points.
 *
 * ck_pr's loads and stores are inline asm that TSan does not instrument,
 * so TSan would report the plain record copies around them as races.  At
 * each publish point we tell TSan "release on this address", and at each
 * observe point "acquire on this address".  In normal builds the marks
 * compile to nothing.
 */
#ifndef SR_TSAN_INT_H
#define SR_TSAN_INT_H

#if defined(__SANITIZE_THREAD__)
#define SR__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SR__TSAN 1
#endif
#endif

#ifdef SR__TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define SR_TSAN_ACQUIRE(addr) __tsan_acquire((void *)(addr))
#define SR_TSAN_RELEASE(addr) __tsan_release((void *)(addr))
#else
#define SR_TSAN_ACQUIRE(addr) ((void)0)
#define SR_TSAN_RELEASE(addr) ((void)0)
#endif

#endif /* SR_TSAN_INT_H */
