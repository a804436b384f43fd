/* lwIP options: what both host stacks built from source share (the raw host stack, tests/lwip_raw/port, and the
 * stats stack, tests/lwip_stats/port). Included by their lwipopts.h, which add what differs (NO_SYS, the socket
 * API, UDP and DNS, pool sizes).
 * For: TCP over IPv4 and IPv6 on a loopback interface or the simulated wire, a TCP configuration a desktop can
 *      afford, and the statistics the tests' leak checks read. */
#ifndef USOCK_HOST_COMMON_LWIPOPTS_H
#define USOCK_HOST_COMMON_LWIPOPTS_H

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
#define LWIP_DHCP                       0
#define LWIP_IGMP                       0
#define LWIP_TCP                        1
#define LWIP_NETIF_LOOPBACK             1
#define LWIP_HAVE_LOOPIF                0
#define LWIP_LOOPBACK_MAX_PBUFS         0
#define LWIP_NETIF_STATUS_CALLBACK      0
#define LWIP_NETIF_LINK_CALLBACK        0

/* TCP: a 1460-byte MSS, a 16-segment window and send buffer (23 KiB, no window scaling), and a short
   TIME_WAIT so closed connections leave the tables quickly. */
#define TCP_MSS                         1460
#define TCP_WND                         (16 * TCP_MSS)
#define TCP_SND_BUF                     (16 * TCP_MSS)
#define TCP_SND_QUEUELEN                (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_MSL                         1000UL

/* Statistics, read by the tests' leak checks (lwip_stats.memp[...]->used, lwip_stats.mem.used). */
#define LWIP_STATS                      1
#define LWIP_STATS_DISPLAY              0
#define MEM_STATS                       1
#define MEMP_STATS                      1
#define LINK_STATS                      1
#define IP_STATS                        1
#define TCP_STATS                       1

#endif /* USOCK_HOST_COMMON_LWIPOPTS_H */
