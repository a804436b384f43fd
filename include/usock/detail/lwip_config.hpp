#pragma once
/// \file
/// The one place that includes lwIP's headers for the socket-API backend (`usock::lwip`), and checks at
/// compile time that the stack was configured with what the backend needs. Each check names the `lwipopts.h`
/// setting to change; docs/lwip.md lists them all.

// lwIP's headers guard their own declarations with extern "C", but a port's lwipopts.h may not (Debian's
// declares sys_lock_tcpip_core() bare): C linkage for all of it.
extern "C" {
#include <lwip/opt.h>
#include <lwip/init.h>
#include <lwip/sys.h>
#include <lwip/sockets.h>
#include <lwip/errno.h>
#if LWIP_DNS
#include <lwip/netdb.h>
#endif
}

#if !defined(LWIP_VERSION_MAJOR) || LWIP_VERSION_MAJOR < 2
#error "usock::lwip needs lwIP 2.0 or newer (lwip/init.h reports an older LWIP_VERSION)."
#endif

#if NO_SYS
#error "usock::lwip runs on lwIP's socket API, which needs an RTOS: set NO_SYS 0 in lwipopts.h, or use the raw-API backend (usock::lwip_raw, USOCK_BACKEND_LWIP_RAW) on a NO_SYS=1 stack."
#endif

#if !LWIP_SOCKET
#error "usock::lwip calls lwIP's socket API: set LWIP_SOCKET 1 in lwipopts.h (it needs LWIP_NETCONN 1 and NO_SYS 0)."
#endif

#if !LWIP_TCP
#error "usock::lwip is a TCP library: set LWIP_TCP 1 in lwipopts.h."
#endif

#if !LWIP_IPV4 && !LWIP_IPV6
#error "usock::lwip needs an IP version: set LWIP_IPV4 1 and/or LWIP_IPV6 1 in lwipopts.h."
#endif

#if defined(LWIP_COMPAT_SOCKETS) && LWIP_COMPAT_SOCKETS == 1
// With LWIP_COMPAT_SOCKETS == 1, lwip/sockets.h defines connect(), send(), close(), bind()... as function-like
// macros, which would rewrite usock's own member calls (socket.connect(addr) -> socket.lwip_connect(addr)).
#error "usock::lwip cannot be used with LWIP_COMPAT_SOCKETS == 1 (lwIP then defines connect, send, close, bind... as macros that rewrite C++ member calls). Set LWIP_COMPAT_SOCKETS 0 (usock calls lwip_connect etc. by name) or 2 in lwipopts.h."
#endif

// Waiting with a deadline: lwip_poll (lwIP 2.1, LWIP_SOCKET_POLL) where the stack has it, lwip_select otherwise,
// or always when USOCK_LWIP_USE_SELECT is defined to 1. SO_RCVTIMEO is never used, so LWIP_SO_RCVTIMEO and
// LWIP_SO_SNDTIMEO may be 0.
#if defined(USOCK_LWIP_USE_SELECT) && USOCK_LWIP_USE_SELECT
#define USOCK_LWIP_WAIT_WITH_POLL 0
#elif defined(LWIP_SOCKET_POLL) && LWIP_SOCKET_POLL
#define USOCK_LWIP_WAIT_WITH_POLL 1
#elif !defined(LWIP_SOCKET_SELECT) || LWIP_SOCKET_SELECT
#define USOCK_LWIP_WAIT_WITH_POLL 0
#else
#error "usock::lwip implements timeouts with lwip_poll or lwip_select: set LWIP_SOCKET_POLL 1 (lwIP 2.1) or LWIP_SOCKET_SELECT 1 in lwipopts.h."
#endif

#if !defined(FIONBIO)
#error "usock::lwip switches sockets to non-blocking mode with lwip_ioctl(FIONBIO), which lwip/sockets.h (or the headers named by LWIP_SOCKET_EXTERNAL_HEADER_SOCKETS_H) must define."
#endif

#ifndef USOCK_LWIP_TRACKED_SOCKETS
/// How many lwIP socket numbers (from `LWIP_SOCKET_OFFSET` up) the backend remembers as connected, one byte
/// each, so that `recv` on them is a single `lwip_recv`. A socket beyond these still works: its `recv` first
/// checks, without blocking, that the socket has a peer (three more lwIP calls when it has to wait). The
/// default covers every socket of a stack with a fixed socket table (`MEMP_NUM_NETCONN`); a stack that
/// allocates sockets as it goes (Debian's `liblwip`) wants a larger figure.
#define USOCK_LWIP_TRACKED_SOCKETS MEMP_NUM_NETCONN
#endif
