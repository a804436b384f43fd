/* lwIP options: the board stack (NO_SYS=1, lwIP built with arm-none-eabi-gcc into the echo firmware).
 * For: the echo images (usock, usock::asyncio, plain C) on QEMU's mps2-an386, a small Cortex-M4F board with one
 *      Ethernet interface (the LAN9118): IPv4 and TCP only, no statistics or assertions, pools for 8 clients.
 * Shares: nothing with the host stacks: they need threads, IPv6, UDP, DNS and statistics this image does not.
 *      docs/bare-metal.md explains the settings usock::lwip_raw requires. */
#ifndef FIRMWARE_LWIPOPTS_H
#define FIRMWARE_LWIPOPTS_H

#define NO_SYS                          1
#define SYS_LIGHTWEIGHT_PROT            0
#define LWIP_TIMERS                     1
#define LWIP_SOCKET                     0
#define LWIP_NETCONN                    0

#define LWIP_IPV4                       1
#define LWIP_IPV6                       0
#define LWIP_ARP                        1
#define LWIP_ETHERNET                   1
#define LWIP_ICMP                       1
#define LWIP_RAW                        0
#define LWIP_UDP                        0
#define LWIP_DHCP                       0
#define LWIP_DNS                        0
#define LWIP_IGMP                       0
#define LWIP_TCP                        1

/* Needed by usock::lwip_raw (the C image has the same settings, so the comparison is fair). */
#define LWIP_CALLBACK_API               1
#define TCP_LISTEN_BACKLOG              1
#define SO_REUSE                        1
#define LWIP_WND_SCALE                  0

#define MEM_ALIGNMENT                   4
#define MEM_SIZE                        (16 * 1024)
#define MEMP_NUM_PBUF                   16
/* 16 pcbs: the asyncio image serves 8 connections at once, with up to 8 more waiting in its accept queue or
 * closing (6 were enough for the others: one connection served and 4 waiting, or the C server's 4). */
#define MEMP_NUM_TCP_PCB                16
#define MEMP_NUM_TCP_PCB_LISTEN         2
#define MEMP_NUM_TCP_SEG                32
#define PBUF_POOL_SIZE                  12
#define ARP_TABLE_SIZE                  4

#define TCP_MSS                         1460
#define TCP_WND                         (4 * TCP_MSS)
#define TCP_SND_BUF                     (4 * TCP_MSS)
#define TCP_SND_QUEUELEN                (4 * TCP_SND_BUF / TCP_MSS)

#define LWIP_STATS                      0
#define LWIP_NETIF_STATUS_CALLBACK      0
#define LWIP_NETIF_LINK_CALLBACK        0
#define LWIP_SINGLE_NETIF               1
#define LWIP_NOASSERT                   1

#endif /* FIRMWARE_LWIPOPTS_H */
