/* The operating-system layer of usock's NO_SYS=0 host build of lwIP (tests/lwip_stats/port/sys_arch.c): semaphores,
 * mutexes, mailboxes and threads on POSIX threads. Each object is a heap block that sys_arch.c counts in
 * lwip_stats.sys (SYS_STATS), so the tests' leak check sees a semaphore or mailbox that was never freed. */
#ifndef USOCK_SYS_ARCH_SYS_ARCH_H
#define USOCK_SYS_ARCH_SYS_ARCH_H

#include <pthread.h>

#define SYS_MBOX_NULL NULL
#define SYS_SEM_NULL NULL

struct usock_sys_sem;
struct usock_sys_mutex;
struct usock_sys_mbox;
typedef struct usock_sys_sem* sys_sem_t;
typedef struct usock_sys_mutex* sys_mutex_t;
typedef struct usock_sys_mbox* sys_mbox_t;
typedef pthread_t sys_thread_t;

#define sys_sem_valid(sem) (((sem) != NULL) && (*(sem) != NULL))
#define sys_sem_set_invalid(sem) \
  do {                           \
    if ((sem) != NULL) *(sem) = NULL; \
  } while (0)
#define sys_mutex_valid(mutex) (((mutex) != NULL) && (*(mutex) != NULL))
#define sys_mutex_set_invalid(mutex) \
  do {                               \
    if ((mutex) != NULL) *(mutex) = NULL; \
  } while (0)
#define sys_mbox_valid(mbox) (((mbox) != NULL) && (*(mbox) != NULL))
#define sys_mbox_set_invalid(mbox) \
  do {                             \
    if ((mbox) != NULL) *(mbox) = NULL; \
  } while (0)

#endif /* USOCK_SYS_ARCH_SYS_ARCH_H */
