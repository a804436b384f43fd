/* lwIP options: the raw host stack (NO_SYS=1, lwIP built from source into the test programs).
 * For: usock::lwip_raw's host tests (tests/lwip_raw: the suite, main-loop cases, names, the simulated wire; the
 *      raw connection limit in tests/lwip_stats). TCP over IPv4 and IPv6, loopback through lwIP's own netif loop
 *      (netif_poll), UDP and DNS for the resolver, statistics on so that the tests can check no pool entry leaked.
 * Shares: host_common.h and arch/cc.h with the stats stack (tests/lwip_stats/port includes both).
 *      docs/bare-metal.md explains which of these settings a firmware needs. */
#ifndef USOCK_HOST_LWIPOPTS_H
#define USOCK_HOST_LWIPOPTS_H

#include "host_common.h"

/* No operating system: the application drives lwIP from its main loop (or, in these tests, under a lock). */
#define NO_SYS                          1
#define SYS_LIGHTWEIGHT_PROT            0
#define LWIP_TIMERS                     1
#define LWIP_SOCKET                     0
#define LWIP_NETCONN                    0

/* Protocols, besides host_common.h's: UDP and DNS for usock::getaddrinfo. */
#define LWIP_UDP                        1  /* for the resolver */
#define LWIP_DNS                        1  /* usock::getaddrinfo on lwip_raw; tests/lwip_raw/names.cpp serves it */
#define LWIP_DNS_SECURE                 LWIP_DNS_SECURE_RAND_XID  /* one UDP pcb, made by lwip_init */
#define DNS_LOCAL_HOSTLIST              1
#define DNS_LOCAL_HOSTLIST_INIT         {DNS_LOCAL_HOSTLIST_ELEM("localhost", IPADDR4_INIT_BYTES(127, 0, 0, 1))}

/* What usock::lwip_raw needs: the callback API, a listen backlog it can hold connections against
   (tcp_backlog_delayed), SO_REUSEADDR, keepalive. */
#define LWIP_CALLBACK_API               1
#define TCP_LISTEN_BACKLOG              1
#define TCP_DEFAULT_LISTEN_BACKLOG      0xff
#define SO_REUSE                        1
#define LWIP_TCP_KEEPALIVE              1
#define TCP_QUEUE_OOSEQ                 1

/* Memory: lwIP's own heap and pools, generous for a desktop (the suite opens many sockets at once). */
#define MEM_LIBC_MALLOC                 0
#define MEMP_MEM_MALLOC                 0
#define MEM_ALIGNMENT                   8
#define MEM_SIZE                        (1024 * 1024)
#define MEMP_NUM_PBUF                   64
#define MEMP_NUM_TCP_PCB                256  /* 100 clients and their 100 server ends at once (examples) */
#define MEMP_NUM_TCP_PCB_LISTEN         32
#define MEMP_NUM_TCP_SEG                512
#define MEMP_NUM_REASSDATA              8
#define MEMP_NUM_FRAG_PBUF              16
#define PBUF_POOL_SIZE                  256
#define ARP_TABLE_SIZE                  4

/* Statistics, besides host_common.h's. */
#define SYS_STATS                       0
#define ETHARP_STATS                    1

#define LWIP_SINGLE_NETIF               0

#endif /* USOCK_HOST_LWIPOPTS_H */
