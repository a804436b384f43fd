// Timeouts: none blocks, zero never blocks, a duration is a deadline for the whole call; and what each mode
// reports when it runs out.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "suite.hpp"

using namespace usock_test;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

TEST_CASE("settimeout and gettimeout round-trip, and setblocking maps onto them", "[timeouts]") {
  socket_t s;
  CHECK(s.gettimeout() == std::nullopt);
  s.settimeout(500ms);
  CHECK(s.gettimeout() == milliseconds(500));
  s.settimeout(std::chrono::seconds(2));
  CHECK(s.gettimeout() == milliseconds(2000));
  s.settimeout(std::chrono::microseconds(1));  // rounds up: still a deadline, never non-blocking
  CHECK(s.gettimeout() == milliseconds(1));
  s.settimeout(0ms);
  CHECK(s.gettimeout() == milliseconds(0));
  s.settimeout(std::nullopt);
  CHECK(s.gettimeout() == std::nullopt);
  s.setblocking(false);
  CHECK(s.gettimeout() == milliseconds(0));
  s.setblocking(true);
  CHECK(s.gettimeout() == std::nullopt);
  const std::optional<milliseconds> saved = milliseconds(40);
  s.settimeout(saved);
  CHECK(s.gettimeout() == saved);

  CHECK(error_of([&](auto& ec) { s.settimeout(-1ms, ec); }) == std::errc::invalid_argument);
  CHECK(error_of([&](auto& ec) { s.settimeout(std::chrono::hours(24 * 365), ec); }) == std::errc::invalid_argument);
  CHECK(s.gettimeout() == saved);  // a rejected value changes nothing
}

TEST_CASE("recv with a timeout reports timed_out no sooner than the deadline, then still works", "[timeouts]") {
  auto [client, server] = connected_pair();
  server.settimeout(100ms);
  std::array<char, 8> buf;
  const auto start = steady_clock::now();
  CHECK(error_of([&](auto& ec) { server.recv(buf, ec); }) == std::errc::timed_out);
  CHECK(steady_clock::now() - start >= 100ms);
  client.sendall("late");
  server.settimeout(std::chrono::seconds(10));
  CHECK(server.read(4) == "late");
}

TEST_CASE("a non-blocking recv that would block is resource_unavailable_try_again", "[timeouts]") {
  auto [client, server] = connected_pair();
  server.setblocking(false);
  std::array<char, 8> buf;
  CHECK(error_of([&](auto& ec) { server.recv(buf, ec); }) == std::errc::resource_unavailable_try_again);
  try {
    server.recv(buf);
    FAIL("recv must throw");
  } catch (const usock::error& e) {
    CHECK(e.code() == std::errc::resource_unavailable_try_again);
  }
}

TEST_CASE("accept with a timeout: timed_out, and non-blocking: try again, never timed_out", "[timeouts]") {
  listener l;
  l.sock.settimeout(50ms);
  CHECK(error_of([&](auto& ec) { l.sock.accept(ec); }) == std::errc::timed_out);
  l.sock.settimeout(0ms);
  std::error_code ec;
  auto [conn, addr] = l.sock.accept(ec);
  CHECK(ec == std::errc::resource_unavailable_try_again);
  CHECK_FALSE(conn.is_open());
  CHECK_FALSE(addr.valid());
}

TEST_CASE("an accepted socket inherits the listener's timeout", "[timeouts]") {
  listener l;
  l.sock.settimeout(std::chrono::seconds(5));
  socket_t client;
  client.connect(l.addr);
  auto [conn, addr] = l.sock.accept();
  CHECK(conn.gettimeout() == milliseconds(5000));
  conn.settimeout(30ms);
  std::array<char, 4> buf;
  CHECK(error_of([&](auto& ec) { conn.recv(buf, ec); }) == std::errc::timed_out);

  l.sock.settimeout(std::nullopt);
  socket_t client2;
  client2.connect(l.addr);
  auto [blocking, addr2] = l.sock.accept();
  CHECK(blocking.gettimeout() == std::nullopt);
  client2.sendall("b");
  CHECK(blocking.recv(buf) == 1);  // a blocking socket really blocks until data comes
}

TEST_CASE("connect with a timeout to a listener whose backlog is full reports timed_out", "[timeouts]") {
  if (!listen_backlog_enforced) USOCK_SKIP("the stack does not enforce listen()'s backlog (lwIP: TCP_LISTEN_BACKLOG 0)");
  listener l(0);
  std::vector<socket_t> queued;
  bool timed_out = false;
  for (int i = 0; i < 64 && !timed_out; ++i) {
    socket_t c;
    c.settimeout(200ms);
    std::error_code ec;
    c.connect(l.addr, ec);
    if (ec == std::errc::timed_out) timed_out = true;
    else {
      REQUIRE_FALSE(ec);
      queued.push_back(std::move(c));
    }
  }
  CHECK(timed_out);
}

TEST_CASE("a non-blocking connect is operation_in_progress and completes in the background", "[timeouts]") {
  listener l;
  socket_t client;
  client.setblocking(false);
  std::error_code ec;
  client.connect(l.addr, ec);
  // Loopback may finish the handshake at once; either way the connection must come up.
  CHECK((ec == std::errc::operation_in_progress || !ec));
  auto [conn, addr] = l.sock.accept();
  client.setblocking(true);
  client.sendall("up");
  CHECK(conn.read(2) == "up");
}

TEST_CASE("sendall with a timeout has one deadline and reports how much it sent", "[timeouts]") {
  auto [client, server] = connected_pair();
  constexpr std::size_t size = 64 << 20;  // far more than loopback buffers hold
  const std::string payload = pattern(size);
  client.settimeout(200ms);
  std::error_code ec;
  const auto start = steady_clock::now();
  const std::size_t sent = client.sendall(payload, ec);
  const auto elapsed = steady_clock::now() - start;
  CHECK(ec == std::errc::timed_out);
  CHECK(sent > 0);
  CHECK(sent < size);
  CHECK(elapsed >= 200ms);
  client.close();
  // Exactly the first `sent` bytes arrive: nothing lost, nothing extra.
  const std::string received = server.read();
  CHECK(received.size() == sent);
  CHECK(received == std::string_view(payload).substr(0, sent));
}

TEST_CASE("a non-blocking send fills the buffer, comes back short, then would block", "[timeouts]") {
  auto [client, server] = connected_pair();
  const std::string payload = pattern(16 << 20);
  client.setblocking(false);
  std::size_t total = 0;
  std::error_code ec;
  bool short_send = false;
  for (int i = 0; i < 10000 && !ec; ++i) {
    const std::size_t n = client.send(std::string_view(payload).substr(total), ec);
    if (!ec && n < payload.size() - total) short_send = true;
    total += n;
  }
  CHECK(ec == std::errc::resource_unavailable_try_again);
  CHECK(short_send);
  CHECK(total < payload.size());
  // write() returns what it could send without an error; with nothing sendable it reports try-again. Stacks that
  // acknowledge on a thread of their own (lwIP) may free room at any moment, so a write that did send is
  // counted and the next one tried, in blocks large enough to fill what was freed (bounded by the payload).
  std::error_code write_ec;
  while (!write_ec && total < payload.size()) {
    const std::string_view block = std::string_view(payload).substr(total, 64 << 10);
    const std::size_t n = client.write(block, write_ec);
    if (write_ec) {
      CHECK(n == 0);
    } else {
      CHECK(n >= 1);
      CHECK(n <= block.size());
    }
    total += n;
  }
  CHECK(write_ec == std::errc::resource_unavailable_try_again);
  client.close();
  const std::string received = server.read();
  CHECK(received == std::string_view(payload).substr(0, total));
}

TEST_CASE("readline that times out loses nothing", "[timeouts][stream]") {
  auto [client, server] = connected_pair();
  server.settimeout(50ms);
  client.sendall("abc");
  SECTION("the error_code form returns the partial line") {
    std::error_code ec;
    CHECK(server.readline(ec) == "abc");
    CHECK(ec == std::errc::timed_out);
    server.settimeout(std::chrono::seconds(10));  // the rest may wait on the peer's delayed ACK (Nagle)
    client.sendall("def\n");
    CHECK(server.readline() == "def\n");
  }
  SECTION("the throwing form keeps the partial line for the next call") {
    CHECK_THROWS_AS(server.readline(), usock::error);
    server.settimeout(std::chrono::seconds(10));
    client.sendall("def\n");
    CHECK(server.readline() == "abcdef\n");
  }
}

TEST_CASE("read(n) and readinto that time out lose nothing", "[timeouts][stream]") {
  auto [client, server] = connected_pair();
  server.settimeout(50ms);
  client.sendall("12345");
  SECTION("read(n) error_code form") {
    std::error_code ec;
    CHECK(server.read(8, ec) == "12345");
    CHECK(ec == std::errc::timed_out);
  }
  SECTION("read(n) throwing form puts the bytes back") {
    CHECK_THROWS_AS(server.read(8), usock::error);
    server.settimeout(std::chrono::seconds(10));
    client.sendall("678");
    CHECK(server.read(8) == "12345678");
  }
  SECTION("readinto error_code form counts") {
    std::array<char, 8> buf{};
    std::error_code ec;
    CHECK(server.readinto(buf, ec) == 5);
    CHECK(ec == std::errc::timed_out);
    CHECK(std::string_view(buf.data(), 5) == "12345");
  }
  SECTION("readinto throwing form puts the bytes back") {
    std::array<char, 8> buf{};
    CHECK_THROWS_AS(server.readinto(buf), usock::error);
    server.settimeout(std::chrono::seconds(10));
    client.sendall("678");
    CHECK(server.readinto(buf) == 8);
    CHECK(std::string_view(buf.data(), 8) == "12345678");
  }
}
