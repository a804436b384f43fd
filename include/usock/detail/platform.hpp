#pragma once
/// \file
/// Whether usock is built for a hosted operating system (Linux, macOS, a BSD, Windows) or for firmware (bare
/// metal, or an RTOS such as FreeRTOS or Zephyr). Two defaults follow from it, each with its own override:
/// `usock::error_code` (`USOCK_STD_ERROR_CODE`, error.hpp) and the clock of `usock::lwip`
/// (`USOCK_LWIP_STEADY_CLOCK`, detail/lwip_clock.hpp).

#if defined(__linux__) || defined(__APPLE__) || defined(_WIN32) || defined(__FreeBSD__) || defined(__NetBSD__) || \
    defined(__OpenBSD__)
#define USOCK_HOSTED_OS 1
#else
#define USOCK_HOSTED_OS 0
#endif
