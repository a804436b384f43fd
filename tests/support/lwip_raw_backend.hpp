#pragma once
// The suite's configuration for the raw-API backend: an lwIP stack built with NO_SYS=1 inside the test process
// (tests/lwip_raw/host), serviced by a driver thread, with a mutex as the backend's lock hook so that the
// suite's peers can run in a second thread. The leak check lets closed connections finish, then requires an
// empty socket pool and lwIP pools and heap with nothing in use.
#include <usock/lwip_raw.hpp>

#include "host_stack.hpp"

namespace usock_test {

using backend = usock::lwip_raw;
inline constexpr const char* backend_name = "lwip_raw";
/// The accept queue is sized by listen()'s backlog; a full one makes lwIP drop further SYNs (tcp_backlog_delayed).
inline constexpr bool listen_backlog_enforced = true;

/// Started before the first case and stopped after the last one.
struct environment {
  usock_lwip_raw_host::stack stack{usock_lwip_raw_host::mode::threaded};
  bool leak_free() const { return const_cast<usock_lwip_raw_host::stack&>(stack).leak_free(); }
};

}  // namespace usock_test
