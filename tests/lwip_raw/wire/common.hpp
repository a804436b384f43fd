#pragma once
// What both ends of the raw-API wire test agree on: addresses on the private wire, the port, and the command
// line of a transfer.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <string_view>

namespace usock_wire_raw {

// Addresses exist only on the simulated wire between the two child processes; nothing reaches a real network.
inline constexpr const char* address_of[2] = {"10.0.1.1", "10.0.1.2"};  // [0]: the raw-API side
inline constexpr std::uint16_t port = 7001;

struct transfer_options {
  std::uint64_t bytes = 1u << 20;
  std::size_t connections = 1;
  std::chrono::seconds limit{60};

  /// Takes `--bytes`, `--connections` and `--limit-s`; false if `arg` is none of them.
  bool take(std::string_view arg, const char* value) {
    if (arg == "--bytes") bytes = std::strtoull(value, nullptr, 0);
    else if (arg == "--connections") connections = std::max<std::size_t>(1, std::strtoull(value, nullptr, 0));
    else if (arg == "--limit-s") limit = std::chrono::seconds(std::strtoll(value, nullptr, 0));
    else return false;
    return true;
  }
};

}  // namespace usock_wire_raw
