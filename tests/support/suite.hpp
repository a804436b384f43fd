#pragma once
// What every case of the shared suite uses: the socket type under test and loopback fixtures.
// Cases are written against usock_test::socket_t only, so every backend runs them unchanged.
#include <chrono>
#include <cstdint>
#include <string>
#include <system_error>
#include <thread>

#include <usock/address.hpp>
#include <usock/basic_socket.hpp>

#include "backend_under_test.hpp"
#include "catch.hpp"
#include "skip.hpp"

namespace usock_test {

using socket_t = usock::basic_socket<backend>;
using namespace std::chrono_literals;

inline usock::address loopback(usock::address_family family = usock::af_inet, std::uint16_t port = 0) {
  return family == usock::af_inet6 ? usock::address{"::1", port} : usock::address{"127.0.0.1", port};
}

/// A socket listening on an ephemeral loopback port, and that port's address.
struct listener {
  socket_t sock;
  usock::address addr;

  explicit listener(int backlog = 8, usock::address_family family = usock::af_inet)
      : sock(family, usock::sock_stream) {
    sock.bind(loopback(family));
    sock.listen(backlog);
    addr = sock.getsockname();
  }
};

/// Both ends of one loopback connection.
struct connection {
  socket_t client;
  socket_t server;
};

inline connection connected_pair(usock::address_family family = usock::af_inet) {
  listener l(1, family);
  socket_t client(family, usock::sock_stream);
  client.connect(l.addr);
  auto [server, peer] = l.sock.accept();
  REQUIRE(peer == client.getsockname());
  return {std::move(client), std::move(server)};
}

/// True when this machine and stack can listen on ::1.
inline bool ipv6_loopback_available() {
  std::error_code ec;
  socket_t s(usock::af_inet6, usock::sock_stream, ec);
  if (!ec) s.bind(loopback(usock::af_inet6), ec);
  return !ec;
}

/// A deterministic byte pattern: byte i of a stream is pattern_byte(i), so a receiver can check every offset.
inline char pattern_byte(std::size_t i) { return static_cast<char>((i * 7 + i / 251) & 0xff); }
inline std::string pattern(std::size_t size, std::size_t offset = 0) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = pattern_byte(offset + i);
  return s;
}

/// Runs `f` on a thread that is joined when this object goes out of scope.
class background {
 public:
  template <class F>
  explicit background(F&& f) : thread_(std::forward<F>(f)) {}
  background(background&&) noexcept = default;
  ~background() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::thread thread_;
};

/// Runs `call` and returns the error it reported (the `error_code` form), for `CHECK(error_of(...) == errc)`.
template <class Call>
std::error_code error_of(Call&& call) {
  std::error_code ec;
  call(ec);
  return ec;
}

}  // namespace usock_test
