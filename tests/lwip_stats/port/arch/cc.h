/* lwIP's architecture header for usock's host build of lwIP with an operating system (NO_SYS=0, the socket API
 * on POSIX threads): the NO_SYS=1 host build's (diagnostics, assertions, LWIP_RAND), plus what the socket API
 * and sys_arch.c need. */
#ifndef USOCK_SYS_ARCH_CC_H
#define USOCK_SYS_ARCH_CC_H

#include "../../../lwip_raw/port/arch/cc.h"

#include <sys/time.h> /* struct timeval for lwip_select: the system's (LWIP_TIMEVAL_PRIVATE 0 in lwipopts.h) */

/* errno values are the C library's, so that usock's translation and the system's strerror agree. */
#define LWIP_ERRNO_STDINCLUDE 1

/* SYS_ARCH_PROTECT's saved state (sys_arch.c: one recursive mutex, nothing to save). */
typedef int sys_prot_t;

#endif /* USOCK_SYS_ARCH_CC_H */
