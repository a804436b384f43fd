#pragma once
/// \file
/// Build settings shared by the asyncio headers.

#include "../detail/platform.hpp"

#ifndef USOCK_ASYNCIO_THREAD_LOCAL
#if USOCK_HOSTED_OS
/// How the per-thread state of `usock::asyncio` (the thread's loop, its frame arena) is stored (after
/// `static`): `thread_local` on a hosted operating system (one loop per thread); nothing on firmware, where
/// `thread_local` needs a thread pointer that bare metal lacks (arm-none-eabi: `__aeabi_read_tp`) and one loop
/// serves the program. An RTOS whose toolchain has TLS may define it to `thread_local` (a loop per thread).
#define USOCK_ASYNCIO_THREAD_LOCAL thread_local
#else
#define USOCK_ASYNCIO_THREAD_LOCAL
#endif
#endif
