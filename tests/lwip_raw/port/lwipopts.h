/* lwIP options: the raw host stack (NO_SYS=1, lwIP built from source into the test programs).
 * For: usock::lwip_raw's host tests (tests/lwip_raw: the suite, main-loop cases, names, the simulated wire; the
 *      raw connection limit in tests/lwip_stats). TCP over IPv4 and IPv6, loopback through lwIP's own netif loop
 *      (netif_poll), UDP and DNS for the resolver, statistics on so that the tests can check no pool entry leaked.
 * Shares: arch/cc.h with the stats stack (tests/lwip_stats/port includes it). docs/bare-metal.md explains which
 *      of these settings a firmware needs. */
#ifndef USOCK_HOST_LWIPOPTS_H
#define USOCK_HOST_LWIPOPTS_H

/* No operating system: the application drives lwIP from its main loop (or, in these tests, under a lock). */
#define NO_SYS                          1
#define SYS_LIGHTWEIGHT_PROT            0
#define LWIP_TIMERS                     1
#define LWIP_SOCKET                     0
#define LWIP_NETCONN                    0

/* Protocols: TCP over IPv4 and IPv6 on Ethernet (the simulated wire) or loopback (the suite). */
#define LWIP_IPV4                       1
#define LWIP_IPV6                       1
#define LWIP_IPV6_MLD                   0
#define LWIP_IPV6_AUTOCONFIG            0
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS   0
#define LWIP_IPV6_SEND_ROUTER_SOLICIT   0
#define IPV6_FRAG_COPYHEADER            1  /* needed where pointers are 8 bytes */
#define LWIP_ICMP                       1
#define LWIP_ARP                        1
#define LWIP_ETHERNET                   1
#define LWIP_RAW                        0
#define LWIP_UDP                        1  /* for the resolver */
#define LWIP_DHCP                       0
#define LWIP_DNS                        1  /* usock::getaddrinfo on lwip_raw; tests/lwip_raw/names.cpp serves it */
#define LWIP_DNS_SECURE                 LWIP_DNS_SECURE_RAND_XID  /* one UDP pcb, made by lwip_init */
#define DNS_LOCAL_HOSTLIST              1
#define DNS_LOCAL_HOSTLIST_INIT         {DNS_LOCAL_HOSTLIST_ELEM("localhost", IPADDR4_INIT_BYTES(127, 0, 0, 1))}
#define LWIP_IGMP                       0
#define LWIP_TCP                        1
#define LWIP_NETIF_LOOPBACK             1
#define LWIP_HAVE_LOOPIF                0
#define LWIP_LOOPBACK_MAX_PBUFS         0

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

/* TCP: a 1460-byte MSS, a 16-segment window and send buffer (23 KiB, no window scaling), and a short
   TIME_WAIT so closed connections leave the tables quickly. */
#define TCP_MSS                         1460
#define TCP_WND                         (16 * TCP_MSS)
#define TCP_SND_BUF                     (16 * TCP_MSS)
#define TCP_SND_QUEUELEN                (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_MSL                         1000UL

/* Statistics, read by the tests' leak check (lwip_stats.memp[...]->used, lwip_stats.mem.used). */
#define LWIP_STATS                      1
#define LWIP_STATS_DISPLAY              0
#define MEM_STATS                       1
#define MEMP_STATS                      1
#define SYS_STATS                       0
#define LINK_STATS                      1
#define ETHARP_STATS                    1
#define IP_STATS                        1
#define TCP_STATS                       1

#define LWIP_NETIF_STATUS_CALLBACK      0
#define LWIP_NETIF_LINK_CALLBACK        0
#define LWIP_SINGLE_NETIF               0

#endif /* USOCK_HOST_LWIPOPTS_H */
