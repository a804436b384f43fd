#pragma once
/// \file
/// The clock `usock::lwip` measures deadlines with.
///
/// On a hosted system (Linux, macOS, BSD, Windows) that is `std::chrono::steady_clock`. On firmware it is
/// `usock::lwip_sys_clock`, built on lwIP's own `sys_now()`: every `NO_SYS=0` port has it (lwIP's timers run on
/// it), whereas `steady_clock` needs the C library's `clock_gettime`, which many bare newlib setups do not
/// provide or back with a clock that never advances. Define `USOCK_LWIP_STEADY_CLOCK` to 1 or 0 to choose.

#include "lwip_config.hpp"
#include "platform.hpp"
#include "lwip_sys_clock.hpp"

#ifndef USOCK_LWIP_STEADY_CLOCK
#define USOCK_LWIP_STEADY_CLOCK USOCK_HOSTED_OS
#endif

namespace usock {

/// A `std::chrono` clock on lwIP's `sys_now()` (milliseconds, extended past the 32-bit wrap), read under lwIP's
/// `SYS_ARCH_PROTECT` (detail/lwip_sys_clock.hpp).
using lwip_sys_clock = detail::sys_now_clock<detail::arch_protect>;

}  // namespace usock
