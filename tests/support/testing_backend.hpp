#pragma once
// The suite's configuration for the in-memory backend (<usock/testing.hpp>). The suite's cases run threads against
// each other and measure elapsed time on std::chrono::steady_clock, so the network runs in real time here
// (time_mode::real): the same network, rules and states as in manual time, with waits that take real time. Manual
// time, stalls and faults have their own tests in tests/testing.
#include <cstdio>

#include <usock/testing.hpp>

namespace usock_test {

using backend = usock::testing::backend;
inline constexpr const char* backend_name = "testing";
/// The network holds a listener's queue at backlog + 1 connections and leaves further ones connecting.
inline constexpr bool listen_backlog_enforced = true;

/// Switches the network to real time before the first case and checks afterwards that every socket was closed.
struct environment {
  environment() {
    usock::testing::network().reset();
    usock::testing::network().set_time_mode(usock::testing::time_mode::real);
  }
  bool leak_free() const {
    const std::size_t open = usock::testing::network().open_sockets();
    if (open == 0) return true;
    std::fprintf(stderr, "in-memory network: %zu sockets still open after the tests\n", open);
    return false;
  }
};

}  // namespace usock_test
