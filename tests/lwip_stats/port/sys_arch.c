/* The operating-system layer of usock's NO_SYS=0 host build of lwIP, on POSIX threads: what lwIP's sys.h asks of
 * a port (semaphores, mutexes and mailboxes with timed waits, threads, sys_now, SYS_ARCH_PROTECT) and the core
 * lock with an owner, which lets LWIP_ASSERT_CORE_LOCKED catch a call into lwIP's core made without it.
 *
 * Timed waits use CLOCK_MONOTONIC. Every semaphore, mutex and mailbox is counted in lwip_stats.sys, so the
 * tests' leak check also covers the objects netconns create. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "lwip/opt.h"
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "lwip/tcpip.h"

static uint64_t monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void fatal(const char* what) {
  fprintf(stderr, "usock lwIP sys_arch: %s\n", what);
  abort();
}

/* A condition variable that waits on CLOCK_MONOTONIC. */
static void cond_init(pthread_cond_t* c) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  if (pthread_cond_init(c, &attr) != 0) fatal("pthread_cond_init failed");
  pthread_condattr_destroy(&attr);
}

/* The absolute CLOCK_MONOTONIC time `ms` milliseconds from now. */
static struct timespec deadline_after(u32_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += (time_t)(ms / 1000u);
  ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec += 1;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

/* Waits on `c` until `ready(arg)` holds (the caller holds `m`). timeout_ms 0 waits forever. Returns the
 * milliseconds waited, or SYS_ARCH_TIMEOUT. */
static u32_t wait_until(pthread_cond_t* c, pthread_mutex_t* m, int (*ready)(void*), void* arg, u32_t timeout_ms) {
  const uint64_t start = monotonic_ms();
  if (timeout_ms == 0) {
    while (!ready(arg)) pthread_cond_wait(c, m);
  } else {
    const struct timespec deadline = deadline_after(timeout_ms);
    while (!ready(arg)) {
      if (pthread_cond_timedwait(c, m, &deadline) == ETIMEDOUT && !ready(arg)) return SYS_ARCH_TIMEOUT;
    }
  }
  const uint64_t waited = monotonic_ms() - start;
  return waited >= SYS_ARCH_TIMEOUT ? SYS_ARCH_TIMEOUT - 1 : (u32_t)waited;
}

/* ---- time and protection ---- */

u32_t sys_now(void) {
  static uint64_t start;
  if (start == 0) start = monotonic_ms() - 1;
  return (u32_t)(monotonic_ms() - start);
}

u32_t sys_jiffies(void) { return sys_now(); }

static pthread_mutex_t protect_mutex;
static pthread_once_t protect_once = PTHREAD_ONCE_INIT;
static void protect_init(void) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  pthread_mutex_init(&protect_mutex, &attr);
  pthread_mutexattr_destroy(&attr);
}

sys_prot_t sys_arch_protect(void) {
  pthread_once(&protect_once, protect_init);
  pthread_mutex_lock(&protect_mutex);
  return 0;
}

void sys_arch_unprotect(sys_prot_t unused) {
  (void)unused;
  pthread_mutex_unlock(&protect_mutex);
}

void sys_init(void) { pthread_once(&protect_once, protect_init); }

/* Updates lwip_stats.sys under SYS_ARCH_PROTECT: threads create and free these objects concurrently. */
#define COUNT(update)                              \
  do {                                             \
    const sys_prot_t count_level_ = sys_arch_protect(); \
    update;                                        \
    sys_arch_unprotect(count_level_);              \
  } while (0)

/* ---- semaphores ---- */

struct usock_sys_sem {
  pthread_mutex_t mutex;
  pthread_cond_t cond;
  unsigned count;
};

err_t sys_sem_new(sys_sem_t* sem, u8_t count) {
  struct usock_sys_sem* s = (struct usock_sys_sem*)malloc(sizeof *s);
  if (s == NULL) {
    COUNT(SYS_STATS_INC(sem.err));
    return ERR_MEM;
  }
  pthread_mutex_init(&s->mutex, NULL);
  cond_init(&s->cond);
  s->count = count;
  *sem = s;
  COUNT(SYS_STATS_INC_USED(sem));
  return ERR_OK;
}

void sys_sem_signal(sys_sem_t* sem) {
  struct usock_sys_sem* s = *sem;
  pthread_mutex_lock(&s->mutex);
  ++s->count;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->mutex);
}

static int sem_ready(void* arg) { return ((struct usock_sys_sem*)arg)->count > 0; }

u32_t sys_arch_sem_wait(sys_sem_t* sem, u32_t timeout) {
  struct usock_sys_sem* s = *sem;
  pthread_mutex_lock(&s->mutex);
  const u32_t waited = wait_until(&s->cond, &s->mutex, sem_ready, s, timeout);
  if (waited != SYS_ARCH_TIMEOUT) --s->count;
  pthread_mutex_unlock(&s->mutex);
  return waited;
}

void sys_sem_free(sys_sem_t* sem) {
  struct usock_sys_sem* s = *sem;
  if (s == NULL) return;
  pthread_cond_destroy(&s->cond);
  pthread_mutex_destroy(&s->mutex);
  free(s);
  *sem = NULL;
  COUNT(SYS_STATS_DEC(sem.used));
}

/* ---- mutexes ---- */

struct usock_sys_mutex {
  pthread_mutex_t mutex;
};

err_t sys_mutex_new(sys_mutex_t* mutex) {
  struct usock_sys_mutex* m = (struct usock_sys_mutex*)malloc(sizeof *m);
  if (m == NULL) {
    COUNT(SYS_STATS_INC(mutex.err));
    return ERR_MEM;
  }
  pthread_mutex_init(&m->mutex, NULL);
  *mutex = m;
  COUNT(SYS_STATS_INC_USED(mutex));
  return ERR_OK;
}

void sys_mutex_lock(sys_mutex_t* mutex) { pthread_mutex_lock(&(*mutex)->mutex); }
void sys_mutex_unlock(sys_mutex_t* mutex) { pthread_mutex_unlock(&(*mutex)->mutex); }

void sys_mutex_free(sys_mutex_t* mutex) {
  struct usock_sys_mutex* m = *mutex;
  if (m == NULL) return;
  pthread_mutex_destroy(&m->mutex);
  free(m);
  *mutex = NULL;
  COUNT(SYS_STATS_DEC(mutex.used));
}

/* ---- mailboxes: a fixed ring of `capacity` messages ---- */

struct usock_sys_mbox {
  pthread_mutex_t mutex;
  pthread_cond_t not_empty;
  pthread_cond_t not_full;
  unsigned capacity, head, count;
  void** slots;
};

err_t sys_mbox_new(sys_mbox_t* mbox, int size) {
  const unsigned capacity = size > 0 ? (unsigned)size : 256u;
  struct usock_sys_mbox* b = (struct usock_sys_mbox*)malloc(sizeof *b);
  void** slots = (void**)malloc(capacity * sizeof(void*));
  if (b == NULL || slots == NULL) {
    free(b);
    free(slots);
    COUNT(SYS_STATS_INC(mbox.err));
    return ERR_MEM;
  }
  pthread_mutex_init(&b->mutex, NULL);
  cond_init(&b->not_empty);
  cond_init(&b->not_full);
  b->capacity = capacity;
  b->head = 0;
  b->count = 0;
  b->slots = slots;
  *mbox = b;
  COUNT(SYS_STATS_INC_USED(mbox));
  return ERR_OK;
}

static void put_locked(struct usock_sys_mbox* b, void* msg) {
  b->slots[(b->head + b->count) % b->capacity] = msg;
  ++b->count;
  pthread_cond_signal(&b->not_empty);
}

static int mbox_has_room(void* arg) {
  const struct usock_sys_mbox* b = (const struct usock_sys_mbox*)arg;
  return b->count < b->capacity;
}

static int mbox_has_message(void* arg) { return ((const struct usock_sys_mbox*)arg)->count > 0; }

void sys_mbox_post(sys_mbox_t* mbox, void* msg) {
  struct usock_sys_mbox* b = *mbox;
  pthread_mutex_lock(&b->mutex);
  (void)wait_until(&b->not_full, &b->mutex, mbox_has_room, b, 0);
  put_locked(b, msg);
  pthread_mutex_unlock(&b->mutex);
}

err_t sys_mbox_trypost(sys_mbox_t* mbox, void* msg) {
  struct usock_sys_mbox* b = *mbox;
  pthread_mutex_lock(&b->mutex);
  const int room = mbox_has_room(b);
  if (room) put_locked(b, msg);
  pthread_mutex_unlock(&b->mutex);
  if (!room) COUNT(SYS_STATS_INC(mbox.err));
  return room ? ERR_OK : ERR_MEM;
}

err_t sys_mbox_trypost_fromisr(sys_mbox_t* mbox, void* msg) { return sys_mbox_trypost(mbox, msg); }

static void* take_locked(struct usock_sys_mbox* b) {
  void* msg = b->slots[b->head];
  b->head = (b->head + 1) % b->capacity;
  --b->count;
  pthread_cond_signal(&b->not_full);
  return msg;
}

u32_t sys_arch_mbox_fetch(sys_mbox_t* mbox, void** msg, u32_t timeout) {
  struct usock_sys_mbox* b = *mbox;
  pthread_mutex_lock(&b->mutex);
  const u32_t waited = wait_until(&b->not_empty, &b->mutex, mbox_has_message, b, timeout);
  void* got = waited != SYS_ARCH_TIMEOUT ? take_locked(b) : NULL;
  pthread_mutex_unlock(&b->mutex);
  if (msg != NULL) *msg = got;
  return waited;
}

u32_t sys_arch_mbox_tryfetch(sys_mbox_t* mbox, void** msg) {
  struct usock_sys_mbox* b = *mbox;
  pthread_mutex_lock(&b->mutex);
  const int has = b->count > 0;
  void* got = has ? take_locked(b) : NULL;
  pthread_mutex_unlock(&b->mutex);
  if (msg != NULL) *msg = got;
  return has ? 0 : SYS_MBOX_EMPTY;
}

void sys_mbox_free(sys_mbox_t* mbox) {
  struct usock_sys_mbox* b = *mbox;
  if (b == NULL) return;
  if (b->count != 0) COUNT(SYS_STATS_INC(mbox.err)); /* lwIP drains a mailbox before freeing it */
  pthread_cond_destroy(&b->not_full);
  pthread_cond_destroy(&b->not_empty);
  pthread_mutex_destroy(&b->mutex);
  free(b->slots);
  free(b);
  *mbox = NULL;
  COUNT(SYS_STATS_DEC(mbox.used));
}

/* ---- threads ---- */

struct thread_start {
  lwip_thread_fn fn;
  void* arg;
};

static void* thread_main(void* p) {
  struct thread_start start = *(struct thread_start*)p;
  free(p);
  start.fn(start.arg);
  return NULL;
}

sys_thread_t sys_thread_new(const char* name, lwip_thread_fn thread, void* arg, int stacksize, int prio) {
  (void)name;
  (void)stacksize;
  (void)prio;
  struct thread_start* start = (struct thread_start*)malloc(sizeof *start);
  if (start == NULL) fatal("no memory for a thread");
  start->fn = thread;
  start->arg = arg;
  pthread_t id;
  if (pthread_create(&id, NULL, thread_main, start) != 0) fatal("pthread_create failed");
  pthread_detach(id);
  return id;
}

/* ---- the core lock and its checks ---- */

static pthread_t core_owner;
static int core_owned; /* written only by the thread holding the core lock; read by any (atomics) */
static pthread_t tcpip_thread;
static int tcpip_thread_known;

void usock_sys_lock_tcpip_core(void) {
  sys_mutex_lock(&lock_tcpip_core);
  __atomic_store_n(&core_owner, pthread_self(), __ATOMIC_RELAXED);
  __atomic_store_n(&core_owned, 1, __ATOMIC_RELEASE);
}

void usock_sys_unlock_tcpip_core(void) {
  __atomic_store_n(&core_owned, 0, __ATOMIC_RELEASE);
  sys_mutex_unlock(&lock_tcpip_core);
}

void usock_sys_mark_tcpip_thread(void) {
  tcpip_thread = pthread_self();
  __atomic_store_n(&tcpip_thread_known, 1, __ATOMIC_RELEASE);
}

/* Before the tcpip thread runs (lwip_init inside tcpip_init), the one thread starting lwIP may call the core. */
void usock_sys_check_core_locked(void) {
  if (!__atomic_load_n(&tcpip_thread_known, __ATOMIC_ACQUIRE)) return;
  if (__atomic_load_n(&core_owned, __ATOMIC_ACQUIRE) &&
      pthread_equal(__atomic_load_n(&core_owner, __ATOMIC_RELAXED), pthread_self()))
    return;
  fatal("an lwIP core function was called without the core lock (LOCK_TCPIP_CORE)");
}
