/* lwIP's architecture header for usock's host build of lwIP with an operating system (NO_SYS=0, the socket API
 * on POSIX threads): Linux, GCC or Clang. */
#ifndef USOCK_SYS_ARCH_CC_H
#define USOCK_SYS_ARCH_CC_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h> /* struct timeval for lwip_select: the system's (LWIP_TIMEVAL_PRIVATE 0 in lwipopts.h) */

/* errno values are the C library's, so that usock's translation and the system's strerror agree. */
#define LWIP_ERRNO_STDINCLUDE 1

#define LWIP_PLATFORM_DIAG(x) \
  do {                        \
    printf x;                 \
  } while (0)
#define LWIP_PLATFORM_ASSERT(x)                                                          \
  do {                                                                                   \
    fprintf(stderr, "lwIP assertion \"%s\" failed at %s:%d\n", x, __FILE__, __LINE__);  \
    abort();                                                                             \
  } while (0)

#define LWIP_RAND() ((u32_t)rand())

/* SYS_ARCH_PROTECT's saved state (sys_arch.c: one recursive mutex, nothing to save). */
typedef int sys_prot_t;

#endif /* USOCK_SYS_ARCH_CC_H */
