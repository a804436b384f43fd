#pragma once
// The suite's configuration for usock::lwip on lwIP built from source with statistics (tests/lwip_stats): the
// host harness (tests/lwip/host) on that stack, and a leak check of lwIP's own memory after the run.
#include <cstdio>
#include <string>

#include <usock/lwip.hpp>
#include <usock_lwip_host.hpp>

#include "pool_check.hpp"

namespace usock_test {

using backend = usock::lwip;
inline constexpr const char* backend_name = "lwip (source-built, stats)";

/// This stack is built with TCP_LISTEN_BACKLOG 1 (tests/lwip_stats/port/lwipopts.h).
inline constexpr bool listen_backlog_enforced = TCP_LISTEN_BACKLOG != 0;

/// Starts lwIP (before main counts descriptors) and records its pools, heap, port objects and socket table;
/// `leak_free()` requires every one of them back at that figure after the tests, and prints what is not.
struct environment {
  environment() : before_(usock_lwip_stats::take()) {}

  bool leak_free() const {
    const std::string diff = usock_lwip_stats::settle_and_compare(before_);
    if (diff.empty()) return true;
    std::fprintf(stderr, "lwIP leak (source-built stack with statistics):\n%s", diff.c_str());
    return false;
  }

  /// The figures recorded before the first case.
  const usock_lwip_stats::snapshot& before() const { return before_; }

 private:
  usock::lwip_host::stack stack_;  // first: lwIP runs before the snapshot is taken
  usock_lwip_stats::snapshot before_;
};

}  // namespace usock_test
