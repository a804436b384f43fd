#pragma once
/// \file
/// The command line every example takes: `HOST PORT`, as the seed's `("192.168.1.20", 9000)`.

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string_view>
#include <system_error>

namespace usock_example {

/// Where an example connects to, or what a server example binds.
struct endpoint {
  std::string_view host;  ///< numeric IPv4 text (the seed's sockets are AF_INET); a server may use `0.0.0.0`
  std::uint16_t port;     ///< a server may use 0: the system picks a free port and the server prints it
};

/// Reads `HOST PORT` from the command line. When they are missing or the port is not a number from 0 to 65535,
/// prints a usage line with `example` as a sample command line and exits with status 2.
inline endpoint host_and_port(int argc, char* argv[], std::string_view example) {
  if (argc == 3) {
    const std::string_view text = argv[2];
    std::uint16_t port = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec == std::errc{} && end == text.data() + text.size() && !text.empty()) return {argv[1], port};
  }
  const char* program = argc > 0 ? argv[0] : "example";
  std::cerr << "usage: " << program << " HOST PORT\n  for example: " << program << " " << example << "\n";
  std::exit(2);
}

}  // namespace usock_example
