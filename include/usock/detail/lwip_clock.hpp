#pragma once
/// \file
/// The clock `usock::lwip` measures deadlines with.
///
/// On a hosted system (Linux, macOS, BSD, Windows) that is `std::chrono::steady_clock`. On firmware it is
/// `usock::lwip_sys_clock`, built on lwIP's own `sys_now()`: every `NO_SYS=0` port has it (lwIP's timers run on
/// it), whereas `steady_clock` needs the C library's `clock_gettime`, which many bare newlib setups do not
/// provide or back with a clock that never advances. Define `USOCK_LWIP_STEADY_CLOCK` to 1 or 0 to choose.

#include <cstdint>

#include "chrono.hpp"
#include "lwip_config.hpp"

#ifndef USOCK_LWIP_STEADY_CLOCK
#if defined(__linux__) || defined(__APPLE__) || defined(_WIN32) || defined(__FreeBSD__) || defined(__NetBSD__) || \
    defined(__OpenBSD__)
#define USOCK_LWIP_STEADY_CLOCK 1
#else
#define USOCK_LWIP_STEADY_CLOCK 0
#endif
#endif

namespace usock {

/// A `std::chrono` clock on lwIP's `sys_now()` (milliseconds). `sys_now()` is 32 bits wide and wraps every
/// 49.7 days; `now()` extends it to 64 bits by counting the wraps it sees, under lwIP's `SYS_ARCH_PROTECT`, so
/// a deadline that spans a wrap still works. It must be read at least once per wrap period, which any program
/// whose sockets use timeouts does.
struct lwip_sys_clock {
  using rep = std::int64_t;
  using period = std::milli;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<lwip_sys_clock>;
  static constexpr bool is_steady = true;

  static time_point now() noexcept {
    static std::uint32_t last = 0;
    static std::uint32_t wraps = 0;
    SYS_ARCH_DECL_PROTECT(level);
    SYS_ARCH_PROTECT(level);
    const std::uint32_t ms = static_cast<std::uint32_t>(sys_now());
    if (ms < last) ++wraps;
    last = ms;
    const std::uint64_t total = (std::uint64_t{wraps} << 32) | ms;
    SYS_ARCH_UNPROTECT(level);
    return time_point(duration(static_cast<rep>(total)));
  }
};

}  // namespace usock
