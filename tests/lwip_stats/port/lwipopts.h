/* lwIP options: the stats stack (NO_SYS=0, lwIP's socket API built from source on POSIX threads, sys_arch.c).
 * For: usock::lwip with statistics and fixed pools: the tests in tests/lwip_stats check that every pool and the
 *      heap are back to their starting figures after the suite, and that the stack holds exactly as many
 *      connections as configured here.
 * Shares: host_common.h with the raw host stack, and arch/cc.h builds on its (both in tests/lwip_raw/port).
 *
 * Socket settings follow Debian's liblwip build (socket API, LWIP_COMPAT_SOCKETS 0, LWIP_SOCKET_OFFSET 1,
 * lwip_poll, TCP core locking), so usock::lwip runs unchanged; the differences are the point of this build:
 * statistics on, lwIP's own heap and pools instead of malloc, and lwIP's own socket types (lwIP 2.1.3 as
 * released has no LWIP_SOCKET_EXTERNAL_HEADERS; Debian adds it with a patch). */
#ifndef USOCK_SYS_LWIPOPTS_H
#define USOCK_SYS_LWIPOPTS_H

#include "../../lwip_raw/port/host_common.h"

/* An operating system: POSIX threads (sys_arch.c), lwIP's tcpip thread, the socket API. */
#define NO_SYS                          0
#define SYS_LIGHTWEIGHT_PROT            1
#define LWIP_TCPIP_CORE_LOCKING         1
#define LWIP_NETCONN                    1
#define LWIP_SOCKET                     1
#define LWIP_COMPAT_SOCKETS             0
#define LWIP_SOCKET_OFFSET              1
#define LWIP_SOCKET_POLL                1
#define LWIP_SOCKET_SELECT              1
#define LWIP_TIMEVAL_PRIVATE            0  /* struct timeval is the system's (arch/cc.h includes sys/time.h) */
#define LWIP_SO_SNDTIMEO                1
#define LWIP_SO_RCVTIMEO                1
#define LWIP_SO_RCVBUF                  1
#define LWIP_SO_LINGER                  1
#define SO_REUSE                        1
#define LWIP_TCP_KEEPALIVE              1
#define LWIP_NETIF_API                  0

/* Protocols, besides host_common.h's: no UDP, so no resolver. */
#define LWIP_UDP                        0
#define LWIP_DNS                        0

/* Listen backlogs are enforced (the suite's full-backlog case runs), at most 255. */
#define TCP_LISTEN_BACKLOG              1
#define TCP_DEFAULT_LISTEN_BACKLOG      0xff

/* ---- The connection limit ----
 * Every socket holds one netconn, and lwIP allocates the netconn of an incoming connection when the handshake
 * completes, before accept(): MEMP_NUM_NETCONN is the socket table (NUM_SOCKETS in sockets.c) and the binding
 * limit. 201 = one listener and 100 connections with both ends in this process (200 sockets).
 * A socket has at most one TCP pcb, but a closed connection's pcb lives on without its socket until the peer has
 * closed too (FIN_WAIT_2, LAST_ACK, CLOSING; lwIP reclaims TIME_WAIT pcbs when it needs one): the 55 pcbs beyond
 * MEMP_NUM_NETCONN are for those. With MEMP_NUM_TCP_PCB == MEMP_NUM_NETCONN, a full table plus one half-closed
 * connection runs out of pcbs first, and a new connection's SYN is dropped: connect() times out.
 * Listening sockets use MEMP_NUM_TCP_PCB_LISTEN instead. */
#define MEMP_NUM_NETCONN                201
#define MEMP_NUM_TCP_PCB                256
#define MEMP_NUM_TCP_PCB_LISTEN         16

/* Memory: lwIP's own heap and fixed pools (no malloc), sized so the limit above is reached before any of them. */
#define MEM_LIBC_MALLOC                 0
#define MEMP_MEM_MALLOC                 0
#define MEM_USE_POOLS                   0
#define MEM_ALIGNMENT                   8
#define MEM_SIZE                        (16 * 1024 * 1024)
#define MEMP_NUM_PBUF                   256
#define MEMP_NUM_TCP_SEG                4096
#define MEMP_NUM_REASSDATA              8
#define MEMP_NUM_FRAG_PBUF              16
#define MEMP_NUM_NETBUF                 16
#define MEMP_NUM_TCPIP_MSG_API          256
#define MEMP_NUM_TCPIP_MSG_INPKT        256
#define MEMP_NUM_SELECT_CB              64
#define PBUF_POOL_SIZE                  64
#define ARP_TABLE_SIZE                  4

/* Mailboxes (sys_arch.c gives each a fixed ring of this many entries). */
#define TCPIP_MBOX_SIZE                 1024
#define DEFAULT_TCP_RECVMBOX_SIZE       64
#define DEFAULT_ACCEPTMBOX_SIZE         256
#define TCPIP_THREAD_STACKSIZE          0
#define TCPIP_THREAD_PRIO               0
#define TCPIP_THREAD_NAME               "tcpip"

/* Statistics, besides host_common.h's: the leak check also reads lwip_stats.sys. */
#define SYS_STATS                       1

#define LWIP_SINGLE_NETIF               0

/* The core lock, with an owner so that lwIP can check every core call holds it (sys_arch.c). */
#ifdef __cplusplus
extern "C" {
#endif
void usock_sys_lock_tcpip_core(void);
void usock_sys_unlock_tcpip_core(void);
void usock_sys_check_core_locked(void);
void usock_sys_mark_tcpip_thread(void);
#ifdef __cplusplus
}
#endif
#define LOCK_TCPIP_CORE()               usock_sys_lock_tcpip_core()
#define UNLOCK_TCPIP_CORE()             usock_sys_unlock_tcpip_core()
#define LWIP_ASSERT_CORE_LOCKED()       usock_sys_check_core_locked()
#define LWIP_MARK_TCPIP_THREAD()        usock_sys_mark_tcpip_thread()

#endif /* USOCK_SYS_LWIPOPTS_H */
