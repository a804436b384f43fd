#pragma once
/// \file
/// The first thing every example's `main` makes: the network stack its build runs on.
///
/// A host build uses the operating system's stack, which is always running, so `network_stack` does nothing. A build
/// with `USOCK_BACKEND_LWIP` runs lwIP inside the process: `network_stack` is then `usock::lwip_host::stack`, which
/// starts lwIP (with an interface at 127.0.0.1) when constructed and stops it when destroyed. Declare it before any
/// socket, so that every socket is closed before the stack stops.

#include <string_view>
#include <type_traits>

#include <usock/usock.hpp>

#if defined(USOCK_BACKEND_LWIP_RAW)
#include <host_stack.hpp>
#elif defined(USOCK_BACKEND_LWIP)
#include <usock_lwip_host.hpp>
#endif

namespace usock_example {

#if defined(USOCK_BACKEND_LWIP_RAW)
/// lwIP built with NO_SYS=1 in this process, driven by a thread of its own and locked around every call, as a
/// board with threads would run it (tests/lwip_raw/host).
struct network_stack {
  usock_lwip_raw_host::stack stack{usock_lwip_raw_host::mode::threaded};
};
inline constexpr std::string_view stack_name = "lwip_raw";
static_assert(std::is_same_v<usock::default_backend, usock::lwip_raw>);
#elif defined(USOCK_BACKEND_LWIP)
/// lwIP in this process, started for the lifetime of the object.
using network_stack = usock::lwip_host::stack;
/// The name of the stack `usock::socket` runs on, as the examples print it.
inline constexpr std::string_view stack_name = "lwip";
static_assert(std::is_same_v<usock::default_backend, usock::lwip>);
#else
/// The operating system's stack: nothing to start.
struct network_stack {
  network_stack() noexcept {}  // user-provided, so `network_stack stack;` is not an "unused variable"
};
/// The name of the stack `usock::socket` runs on, as the examples print it.
inline constexpr std::string_view stack_name = "posix";
static_assert(std::is_same_v<usock::default_backend, usock::posix>);
#endif

}  // namespace usock_example
