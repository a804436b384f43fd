#pragma once
/// \file
/// The one `std::chrono` clock on lwIP's `sys_now()`, for both lwIP backends: `usock::lwip_sys_clock` (the
/// socket API, detail/lwip_clock.hpp) and `usock::lwip_raw::clock` (the raw API). They differ only in the lock
/// that serialises readers.

#include <cstdint>

#include "chrono.hpp"
#include "lwip/sys.h"

namespace usock::detail {

/// Milliseconds from lwIP's `sys_now()`, extended to 64 bits. `sys_now()` is 32 bits wide and wraps every 49.7
/// days; `now()` counts the wraps it sees, so a deadline that spans one still works. It must be read at least
/// once per wrap period, which any program whose sockets use timeouts does. `Guard` holds the lock that
/// serialises readers for the length of a read (its constructor takes it, its destructor releases it).
template <class Guard>
struct sys_now_clock {
  using rep = std::int64_t;
  using period = std::milli;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<sys_now_clock>;
  static constexpr bool is_steady = true;

  static time_point now() noexcept {
    static std::uint32_t last = 0;
    static std::uint32_t wraps = 0;
    Guard guard;
    const std::uint32_t ms = static_cast<std::uint32_t>(sys_now());
    if (ms < last) ++wraps;
    last = ms;
    return time_point(duration(static_cast<rep>((std::uint64_t{wraps} << 32) | ms)));
  }
};

/// lwIP's `SYS_ARCH_PROTECT` for a scope (nothing when the port has no lightweight protection).
class arch_protect {
 public:
#if SYS_LIGHTWEIGHT_PROT
  arch_protect() noexcept { SYS_ARCH_PROTECT(level_); }
  ~arch_protect() { SYS_ARCH_UNPROTECT(level_); }
#else
  arch_protect() noexcept = default;
#endif
  arch_protect(const arch_protect&) = delete;
  arch_protect& operator=(const arch_protect&) = delete;

#if SYS_LIGHTWEIGHT_PROT
 private:
  sys_prot_t level_;
#endif
};

}  // namespace usock::detail
