// What usock::lwip does beyond forwarding to lwIP: errno translation by name, the sys_now() clock, and each place
// where the backend evens out an lwIP behaviour that differs from POSIX (see docs/lwip.md). Runs on the host
// harness, like the shared suite.
#include <array>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include <usock/lwip.hpp>
#include <usock/poll.hpp>

#include "suite.hpp"

using namespace usock_test;
using usock::lwip;

TEST_CASE("lwIP errno values translate by name to generic std::errc codes", "[lwip]") {
  using usock::detail::lwip_errno_code;
  CHECK(lwip_errno_code(EWOULDBLOCK) == std::errc::resource_unavailable_try_again);
  CHECK(lwip_errno_code(EAGAIN) == std::errc::resource_unavailable_try_again);
  CHECK(lwip_errno_code(ECONNRESET) == std::errc::connection_reset);
  CHECK(lwip_errno_code(ENOTCONN) == std::errc::not_connected);
  CHECK(lwip_errno_code(EADDRINUSE) == std::errc::address_in_use);
  CHECK(lwip_errno_code(ENOPROTOOPT) == std::errc::no_protocol_option);
  CHECK(lwip_errno_code(EINPROGRESS) == std::errc::operation_in_progress);
  CHECK(lwip_errno_code(EBADF) == std::errc::bad_file_descriptor);
  CHECK(lwip_errno_code(-12345) == std::errc::io_error);  // a value lwIP never sets
  for (const auto& e : usock::detail::lwip_errno_names) {
    const std::error_code ec = lwip_errno_code(e.value);
    CHECK(ec.category() == std::generic_category());
    CHECK(usock::detail::is(ec, e.meaning));
  }
}

TEST_CASE("lwip_sys_clock follows lwIP's sys_now and keeps pace with steady_clock", "[lwip]") {
  const auto sys0 = usock::lwip_sys_clock::now();
  const auto steady0 = std::chrono::steady_clock::now();
  CHECK(sys0.time_since_epoch().count() >= static_cast<std::int64_t>(sys_now()) - 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(120));  // measuring elapsed time, not synchronising
  const auto sys1 = usock::lwip_sys_clock::now();
  const auto steady1 = std::chrono::steady_clock::now();
  const auto sys_elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(sys1 - sys0).count();
  const auto steady_elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(steady1 - steady0).count();
  CHECK(sys_elapsed >= 115);
  CHECK(sys_elapsed <= steady_elapsed + 2);  // both are the monotonic clock on this host, sys_now in whole ms
  CHECK(sys_elapsed >= steady_elapsed - 2);
}

TEST_CASE("bind on a bound socket is invalid_argument and keeps the first address", "[lwip]") {
  socket_t s;
  s.bind(loopback());
  const usock::address first = s.getsockname();
  CHECK(error_of([&](auto& ec) { s.bind(loopback(), ec); }) == std::errc::invalid_argument);
  CHECK(s.getsockname() == first);
  s.listen(1);
  socket_t client;
  client.connect(first);  // the listener really is on the first port
  auto [conn, addr] = s.accept();
  CHECK(addr == client.getsockname());
}

TEST_CASE("listen on an unbound socket binds an ephemeral port first", "[lwip]") {
  socket_t s;
  s.listen(1);
  const usock::address addr = s.getsockname();
  CHECK(addr.port() != 0);
  socket_t client;
  client.connect({"127.0.0.1", addr.port()});
  auto [conn, peer] = s.accept();
  CHECK(peer == client.getsockname());
}

TEST_CASE("so_sndbuf reads as TCP_SND_BUF and refuses to be set, and flags read back as 0 or 1", "[lwip]") {
  socket_t s;
  CHECK(s.getsockopt(usock::sol_socket, usock::so_sndbuf) == static_cast<int>(TCP_SND_BUF));
  CHECK(error_of([&](auto& ec) { s.setsockopt(usock::sol_socket, usock::so_sndbuf, 4096, ec); }) ==
        std::errc::no_protocol_option);
  s.setsockopt(usock::sol_socket, usock::so_keepalive, 1);
  CHECK(s.getsockopt(usock::sol_socket, usock::so_keepalive) == 1);  // lwIP itself reads SOF_KEEPALIVE back
  s.setsockopt(usock::ipproto_tcp, usock::tcp_nodelay, 1);
  CHECK(s.getsockopt(usock::ipproto_tcp, usock::tcp_nodelay) == 1);
}

TEST_CASE("recv on a never-connected socket reports not_connected instead of waiting forever", "[lwip]") {
  socket_t s;  // blocking: lwIP's own lwip_recv would wait on it for ever
  std::array<char, 4> buf;
  CHECK(error_of([&](auto& ec) { s.recv(buf, ec); }) == std::errc::not_connected);
  s.setblocking(false);
  CHECK(error_of([&](auto& ec) { s.recv(buf, ec); }) == std::errc::not_connected);
  socket_t listening;
  listening.bind(loopback());
  listening.listen(1);
  CHECK(error_of([&](auto& ec) { listening.recv(buf, ec); }) == std::errc::not_connected);
}

TEST_CASE("a socket number that had a peer does not pass it on to the next socket given that number", "[lwip]") {
  // recv on a socket the backend knows is connected is one blocking lwip_recv; a new socket that gets the
  // number of a closed, connected one must not be taken for connected (lwIP would wait on it for ever).
  auto pair = connected_pair();
  const int number = pair.client.fileno();
  pair.client.close();
  std::vector<socket_t> fresh;
  while (fresh.size() < 16 && (fresh.empty() || fresh.back().fileno() != number)) fresh.emplace_back();
  REQUIRE(fresh.back().fileno() == number);  // lwIP hands out the lowest free number
  socket_t& reused = fresh.back();
  std::array<char, 4> buf;
  reused.settimeout(std::chrono::milliseconds(300));  // with the old owner's state this would time out
  CHECK(error_of([&](auto& ec) { reused.recv(buf, ec); }) == std::errc::not_connected);
  reused.settimeout(std::nullopt);
  CHECK(error_of([&](auto& ec) { reused.recv(buf, ec); }) == std::errc::not_connected);
  // and the accepted end, which keeps its number, still reads its peer's end of stream at once
  CHECK(pair.server.recv(buf) == 0);
}

TEST_CASE("a refused non-blocking connect ends writable with an error and hang-up, then connection_refused",
          "[lwip]") {
  socket_t reserved;
  reserved.bind(loopback());  // a port that is ours and that nobody listens on
  socket_t s;
  s.setblocking(false);
  std::error_code ec;
  s.connect(reserved.getsockname(), ec);
  CHECK(ec == std::errc::operation_in_progress);
  usock::basic_poller<lwip, 1> p;
  p.add(s, usock::pollout);
  const auto ready = p.poll(std::chrono::seconds(5));
  REQUIRE(ready.size() == 1);
  CHECK((ready[0].events & usock::pollerr) != 0);
  CHECK((ready[0].events & usock::pollhup) != 0);
  lwip::connect_result(s.fileno(), ec);
  CHECK(ec == std::errc::connection_refused);
}

TEST_CASE("wait on a closed handle reports bad_file_descriptor rather than a stale errno", "[lwip]") {
  socket_t s;
  const auto handle = s.fileno();
  s.close();
  std::error_code ec;
  CHECK_FALSE(lwip::wait(handle, usock::wait_for::read, 0, ec));
  CHECK(ec == std::errc::bad_file_descriptor);
}

TEST_CASE("resolve answers numeric text, localhost and \"\" without a resolver, and names need LWIP_DNS", "[lwip]") {
  std::error_code ec;
  CHECK(lwip::resolve("10.1.2.3", 7, ec) == std::vector<usock::address>{{"10.1.2.3", 7}});
  CHECK_FALSE(ec);
  const auto local = lwip::resolve("localhost", 7, ec);
  CHECK_FALSE(ec);
  REQUIRE_FALSE(local.empty());
  CHECK(local[0] == usock::address{"127.0.0.1", 7});  // IPv4 first, then ::1 where lwIP has IPv6
  const auto any = lwip::resolve("", 7, ec);
  REQUIRE_FALSE(any.empty());
  CHECK(any[0] == usock::address{"0.0.0.0", 7});
#if !LWIP_DNS
  // No look-up leaves this process either way: without LWIP_DNS there is no resolver to ask.
  CHECK(lwip::resolve("example.invalid", 7, ec).empty());
  CHECK(ec == std::errc::no_such_device_or_address);
#endif
}

TEST_CASE("without TCP_LISTEN_BACKLOG, a connection that finds the accept queue full is reset, not left hanging",
          "[lwip]") {
#if TCP_LISTEN_BACKLOG
  USOCK_SKIP("this lwIP enforces listen()'s backlog (TCP_LISTEN_BACKLOG 1): SYNs beyond it are dropped, not reset");
#else
  // lwIP queues each connection that completes its handshake in the listener's accept mailbox. When that is full
  // it resets the connection: the client's connect has already succeeded, so its next call reports the reset.
  // Nothing may hang, and every connection must end up either accepted or reset.
  constexpr std::size_t clients = 200;  // more than the mailbox of lwIP's unix port holds (docs/lwip.md)
  socket_t listener;
  listener.bind(loopback());
  listener.listen(1);  // not enforced: this build has TCP_LISTEN_BACKLOG 0
  std::vector<socket_t> out(clients);
  std::vector<bool> connected(clients, false);
  for (std::size_t i = 0; i < clients; ++i) {
    out[i].settimeout(std::chrono::seconds(5));
    const std::error_code ec = error_of([&](auto& e) { out[i].connect(listener.getsockname(), e); });
    connected[i] = !ec;
    // A reset that overtakes the handshake's end would show here already.
    if (ec) CHECK((ec == std::errc::connection_reset || ec == std::errc::connection_refused));
  }
  // Accept every connection the queue kept; the listener's timeout ends the loop once it is empty.
  listener.settimeout(std::chrono::milliseconds(500));
  std::vector<socket_t> accepted;
  for (;;) {
    std::error_code ec;
    auto [conn, peer] = listener.accept(ec);
    if (ec) {
      CHECK(ec == std::errc::timed_out);
      break;
    }
    conn.sendall(std::string_view("k"));
    accepted.push_back(std::move(conn));
  }
  std::printf("accept queue: %zu of %zu connections accepted, the rest reset\n", accepted.size(), clients);
  CHECK(accepted.size() > 0);
  CHECK(accepted.size() < clients);
  // Each client reads its one byte, or learns that its connection was reset.
  std::size_t kept = 0, reset = 0;
  for (std::size_t i = 0; i < clients; ++i) {
    if (!connected[i]) {
      ++reset;
      continue;
    }
    std::array<char, 2> buf{};
    std::error_code ec;
    const std::size_t n = out[i].recv(buf, ec);
    if (!ec && n == 1 && buf[0] == 'k') ++kept;
    else if (ec == std::errc::connection_reset) ++reset;
    else FAIL_CHECK("client " << i << ": " << n << " byte(s), " << (ec ? ec.message() : "no error"));
  }
  CHECK(kept == accepted.size());
  CHECK(kept + reset == clients);
#endif
}
