#pragma once
/// \file
/// Compile-time configuration of the raw-API backend (`usock::lwip_raw`) and the checks of the firmware's
/// `lwipopts.h` that it depends on. Every setting can be overridden by defining it before including usock
/// (or with `-D` on the command line).

#include "lwip/opt.h"

#include "platform.hpp"

#ifndef USOCK_LWIP_RAW_MAX_SOCKETS
/// How many usock sockets can exist at once: listening, connected, accepted-but-not-yet-returned-by-`accept`,
/// and closed ones still sending their last data. The pool is a static array, `USOCK_LWIP_RAW_MAX_SOCKETS`
/// slots of about 60 bytes. When it is full, `socket()` reports `too_many_files_open` and an incoming
/// connection is reset. At most 255.
#define USOCK_LWIP_RAW_MAX_SOCKETS 8
#endif

#ifndef USOCK_LWIP_RAW_CLOSE_TIMEOUT_MS
/// How long a closed socket may keep sending the data it had queued before `close()` (a peer that stops
/// reading holds it) before the connection is aborted with a reset. `close()` itself never waits.
#define USOCK_LWIP_RAW_CLOSE_TIMEOUT_MS 10000
#endif

#ifndef USOCK_LWIP_RAW_DEFAULT_BACKLOG
/// The backlog of `listen()` without an argument (MicroPython's lwIP binding uses 2).
#define USOCK_LWIP_RAW_DEFAULT_BACKLOG 2
#endif

#ifndef USOCK_LWIP_RAW_LOCK_HOOK
/// 1: every lwIP call is bracketed by the lock hook (`usock::lwip_raw::set_lock_hooks`), a null check when no
/// hook is set. 0: the calls are compiled out and `set_lock_hooks` does not exist, for a firmware that runs lwIP
/// and usock on one thread only. Default: 0 on bare metal (`NO_SYS` 1 and no hosted operating system), else 1
/// (an RTOS, or a desktop test running lwIP in several threads).
#define USOCK_LWIP_RAW_LOCK_HOOK (USOCK_HOSTED_OS || !NO_SYS)
#endif

#if !LWIP_TCP
#error "usock::lwip_raw needs TCP: set LWIP_TCP to 1 in lwipopts.h"
#endif
#if !LWIP_CALLBACK_API
#error "usock::lwip_raw uses lwIP's raw TCP callbacks: set LWIP_CALLBACK_API to 1 (and LWIP_EVENT_API to 0) in lwipopts.h"
#endif
#if !TCP_LISTEN_BACKLOG
#error "usock::lwip_raw bounds accept queues with lwIP's listen backlog: set TCP_LISTEN_BACKLOG to 1 in lwipopts.h"
#endif
#if !LWIP_TIMERS
#error "usock::lwip_raw needs lwIP's timers (sys_check_timeouts from the poll hook): set LWIP_TIMERS to 1 in lwipopts.h"
#endif
#if LWIP_WND_SCALE
#error "usock::lwip_raw counts a connection's unread bytes in 16-bit pbuf fields: set LWIP_WND_SCALE to 0 in lwipopts.h"
#endif

static_assert(USOCK_LWIP_RAW_MAX_SOCKETS >= 1 && USOCK_LWIP_RAW_MAX_SOCKETS <= 255,
              "USOCK_LWIP_RAW_MAX_SOCKETS must be between 1 and 255");
static_assert(USOCK_LWIP_RAW_CLOSE_TIMEOUT_MS >= 0, "USOCK_LWIP_RAW_CLOSE_TIMEOUT_MS must not be negative");
