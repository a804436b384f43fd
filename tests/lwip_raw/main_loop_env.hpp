#pragma once
// The environment of the lwip_raw backend's own tests (main_loop.cpp): the stack driven the way main-loop
// firmware drives it, from a single thread, with no lock hooks and a poll hook that services the stack itself.
#include <usock/lwip_raw.hpp>

#include "host_stack.hpp"

namespace usock_test {

using backend = usock::lwip_raw;
inline constexpr const char* backend_name = "lwip_raw (single thread)";

struct environment;
inline environment* current = nullptr;

struct environment {
  usock_lwip_raw_host::stack stack{usock_lwip_raw_host::mode::single_thread};
  environment() { current = this; }
  ~environment() { current = nullptr; }
  environment(const environment&) = delete;
  environment& operator=(const environment&) = delete;
  bool leak_free() const { return const_cast<usock_lwip_raw_host::stack&>(stack).leak_free(); }
};

/// The running stack, for the main loop's `service()` and the poll hook's call count.
inline usock_lwip_raw_host::stack& stack() { return current->stack; }

}  // namespace usock_test
