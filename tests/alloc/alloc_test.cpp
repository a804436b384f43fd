// Proves that usock's send, receive, accept and connect paths never touch the heap on the POSIX backend, with
// real loopback sockets, by counting every operator new and malloc the calling thread makes while armed; and
// that the allocating conveniences (recv(max), read, readline) are seen allocating, so the counter works.
#include "catch.hpp"
#include "catch_runner.hpp"  // Catch2's implementation and session: usock_catch_runner

#include <array>
#include <chrono>
#include <cstddef>
#include <string>
#include <system_error>
#include <vector>

#include <usock/usock.hpp>

#include "counting_allocator.hpp"
#include "suite.hpp"

static_assert(sizeof(usock::socket) <= 16, "a socket is a handle, a timeout and one pointer at most");

using namespace usock_test;
using usock_alloc::allocations_in;
using usock_alloc::counts;

namespace {

constexpr std::size_t big = 4 << 20;  // more than loopback buffers hold, so sendall loops over short sends

/// Reads and discards `n` bytes from `s` (on a peer thread, which is never armed).
void drain(socket_t& s, std::size_t n) {
  std::vector<std::byte> sink(64 << 10);
  std::size_t got = 0;
  while (got < n) {
    const std::size_t k = s.recv(sink);
    if (k == 0) break;
    got += k;
  }
  REQUIRE(got == n);
}

void require_none(const counts& c) {
  INFO("operator new calls: " << c.news << ", malloc-family calls: " << c.mallocs);
  CHECK(c.total() == 0);
}

}  // namespace

TEST_CASE("the counter sees the armed thread's allocations and only those", "[alloc]") {
  std::string escaped;
  const counts mine = allocations_in([&] { escaped.assign(1000, 'x'); });
  CHECK(mine.news >= 1);
  if (usock_alloc::counts_malloc()) CHECK(mine.mallocs >= 1);

  // A peer thread allocates while this thread is armed (ordered by a byte each way): not counted here.
  auto [a, b] = connected_pair();
  std::string other;
  background peer([&] {
    std::array<char, 1> go{};
    REQUIRE(b.recv(go) == 1);
    other.assign(1000, 'y');
    b.sendall("!");
  });
  std::array<char, 1> done{};
  const counts theirs = allocations_in([&] {
    a.sendall("?");
    (void)a.recv(done);
  });
  peer.join();
  CHECK(done[0] == '!');
  CHECK(other.size() == 1000);
  CHECK(theirs.total() == 0);
}

TEST_CASE("send and sendall do not allocate", "[alloc]") {
  auto [client, server] = connected_pair();
  const std::string payload(big, 'p');
  const std::array<std::byte, 64> small{};

  // Warm-up: one of each call before counting.
  client.sendall(small);
  drain(server, small.size());

  std::error_code ec;
  std::size_t sent = 0;
  require_none(allocations_in([&] {
    sent += client.send(small);
    sent += client.send(small, ec);
    sent += client.send("text\n");
  }));
  CHECK(!ec);
  CHECK(sent == 2 * small.size() + 5);
  drain(server, sent);

  for (const bool with_timeout : {false, true}) {
    INFO("timeout set: " << with_timeout);
    if (with_timeout) client.settimeout(std::chrono::seconds(30));
    background reader([&] { drain(server, 2 * big); });
    std::size_t all = 0;
    require_none(allocations_in([&] {
      client.sendall(payload);
      all = client.sendall(payload, ec);
    }));
    reader.join();
    CHECK(!ec);
    CHECK(all == big);
  }
}

TEST_CASE("recv into a buffer and readinto do not allocate", "[alloc]") {
  auto [client, server] = connected_pair();
  std::array<char, 512> buffer{};
  client.sendall("warm-up");
  REQUIRE(server.recv(buffer) == 7);

  for (const bool with_timeout : {false, true}) {
    INFO("timeout set: " << with_timeout);
    if (with_timeout) server.settimeout(std::chrono::seconds(30));
    client.sendall(std::string(300, 'a'));
    std::error_code ec;
    std::size_t got = 0;
    require_none(allocations_in([&] {
      got += server.recv(buffer);
      while (got < 300) got += server.recv(std::span(buffer).first(300 - got), ec);
    }));
    CHECK(!ec);
    CHECK(got == 300);

    std::vector<std::byte> whole(big);
    const std::string payload(big, 'r');
    background writer([&] { client.sendall(payload); });
    std::size_t filled = 0;
    require_none(allocations_in([&] { filled = server.readinto(whole, ec); }));
    writer.join();
    CHECK(!ec);
    CHECK(filled == big);
    CHECK(whole.back() == std::byte{'r'});
  }
}

TEST_CASE("connect and accept do not allocate", "[alloc]") {
  listener l;
  {  // Warm-up: one full cycle.
    socket_t c;
    c.connect(l.addr);
    auto [conn, addr] = l.sock.accept();
  }
  for (const bool with_timeout : {false, true}) {
    INFO("timeout set: " << with_timeout);
    if (with_timeout) l.sock.settimeout(std::chrono::seconds(30));
    std::error_code ec1, ec2, ec3;
    bool peers_match = false;
    require_none(allocations_in([&] {
      socket_t client(usock::af_inet, usock::sock_stream, ec1);
      if (with_timeout) client.settimeout(std::chrono::seconds(30), ec1);
      client.connect(l.addr, ec2);
      auto [conn, addr] = l.sock.accept(ec3);
      peers_match = conn.is_open() && addr == client.getsockname(ec1);
      conn.close(ec1);
      client.close(ec1);
    }));
    CHECK(!ec1);
    CHECK(!ec2);
    CHECK(!ec3);
    CHECK(peers_match);

    require_none(allocations_in([&] {  // the throwing forms, on success
      socket_t client;
      client.connect(l.addr);
      auto [conn, addr] = l.sock.accept();
      peers_match = addr == client.getsockname();
    }));
    CHECK(peers_match);
  }
}

TEST_CASE("a refused connect reports its error without allocating", "[alloc]") {
  usock::address closed_port;
  {
    listener l;
    closed_port = l.addr;
  }  // nothing listens there any more
  std::error_code ec;
  { socket_t warm; warm.connect(closed_port, ec); }
  require_none(allocations_in([&] {
    socket_t s;
    s.connect(closed_port, ec);
  }));
  CHECK(ec == std::errc::connection_refused);
}

TEST_CASE("readline(line) reuses the line's capacity and allocates nothing once warm", "[alloc]") {
  auto [client, server] = connected_pair();
  const std::string text = std::string(100, 'l') + "\n";
  std::string all;
  for (int i = 0; i < 50; ++i) all += text;
  client.sendall(all);

  std::string line;
  REQUIRE(server.readline(line) == text.size());  // warm-up: the read-ahead block and the line's capacity
  std::error_code ec;
  std::size_t total = 0;
  require_none(allocations_in([&] {
    for (int i = 1; i < 50; ++i) total += server.readline(line, ec);
  }));
  CHECK(!ec);
  CHECK(total == 49 * text.size());
  CHECK(line == text);
}

TEST_CASE("recv(max), read and readline allocate, and the counter sees it", "[alloc]") {
  auto [client, server] = connected_pair();
  const std::string line(100, 'l');
  client.sendall(line + "\n" + line + "\n");
  client.sendall(line);

  std::string a, b, c;
  const counts by_readline = allocations_in([&] { a = server.readline(); });
  const counts by_recv = allocations_in([&] { b = server.recv(101); });
  const counts by_read_n = allocations_in([&] { c = server.read(50); });
  CHECK(a == line + "\n");
  CHECK(b == line + "\n");
  CHECK(c == line.substr(0, 50));
  CHECK(by_readline.news >= 2);  // the read-ahead block and the line
  CHECK(by_recv.news >= 1);
  CHECK(by_read_n.news >= 1);

  client.close();
  std::string rest;
  const counts by_read = allocations_in([&] { rest = server.read(); });
  CHECK(rest == line.substr(50));
  CHECK(by_read.news >= 1);
}

int main(int argc, char** argv) {
  if (!usock_alloc::counts_malloc())
    std::fprintf(stderr, "note: not glibc; counting operator new only, not malloc\n");
  if (int rc = usock_test::catch_apply_command_line(argc, argv); rc != 0) return rc;
  return usock_test::catch_run();
}
