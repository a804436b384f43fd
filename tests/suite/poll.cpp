// usock::basic_poller, as select.poll: every event, timeouts, and registration by handle.
#include <algorithm>
#include <vector>

#include <usock/poll.hpp>

#include "suite.hpp"

using namespace usock_test;
using std::chrono::steady_clock;
using poller_t = usock::basic_poller<backend, 64>;

namespace {
/// The events `p.poll(timeout)` reports for `handle`, 0 if it is not among the ready ones.
unsigned events_of(poller_t& p, backend::handle_type handle, std::chrono::milliseconds timeout) {
  for (auto [fd, events] : p.poll(timeout))
    if (fd == handle) return events;
  return 0;
}
}  // namespace

TEST_CASE("poll: readable when data arrives", "[poll]") {
  auto [client, server] = connected_pair();
  poller_t p;
  p.add(server, usock::pollin);
  CHECK(p.poll(0ms).empty());
  client.sendall("x");
  const auto ready = p.poll(std::chrono::seconds(5));
  REQUIRE(ready.size() == 1);
  auto [fd, events] = ready[0];
  CHECK(fd == server.fileno());
  CHECK((events & usock::pollin) != 0);
  CHECK(server.recv(1) == "x");
  CHECK(p.poll(0ms).empty());
}

TEST_CASE("poll: readable at EOF", "[poll]") {
  auto [client, server] = connected_pair();
  poller_t p;
  p.add(server, usock::pollin);
  client.close();
  CHECK((events_of(p, server.fileno(), std::chrono::seconds(5)) & usock::pollin) != 0);
  std::array<char, 1> buf;
  CHECK(server.recv(buf) == 0);
}

TEST_CASE("poll: a reset connection reports an error or hang-up", "[poll][errors]") {
  auto [client, server] = connected_pair();
  server.sendall("unread-by-client");
  std::array<char, 6> head;
  REQUIRE(client.readinto(head) == 6);
  client.close();  // unread data: a reset, not a clean close
  poller_t p;
  p.add(server, usock::pollin);
  const unsigned events = events_of(p, server.fileno(), std::chrono::seconds(5));
  CHECK((events & (usock::pollerr | usock::pollhup)) != 0);
}

TEST_CASE("poll: writable again once a full send buffer drains", "[poll]") {
  auto [client, server] = connected_pair();
  client.setblocking(false);
  const std::string chunk = pattern(64 * 1024);
  std::size_t total = 0;
  std::error_code ec;
  poller_t p;
  p.add(client, usock::pollout);
  // Fill the send buffer until it stays full: on a stack that acknowledges on its own thread (lwIP's loopback),
  // acknowledgements still arriving after try-again make room again, so fill until 50 ms pass with no room.
  bool full = false;
  for (int round = 0; round < 100 && !full; ++round) {
    ec.clear();
    for (int i = 0; i < 10000 && !ec; ++i) total += client.send(chunk, ec);
    REQUIRE(ec == std::errc::resource_unavailable_try_again);
    full = (events_of(p, client.fileno(), 50ms) & usock::pollout) == 0;
  }
  CHECK(full);
  std::size_t drained = 0;
  background reader([&] {
    std::array<std::byte, 65536> buf;
    while (drained < total) drained += server.recv(buf);
  });
  CHECK((events_of(p, client.fileno(), std::chrono::seconds(10)) & usock::pollout) != 0);
  reader.join();
  CHECK(drained == total);
}

TEST_CASE("poll: a listener is readable when a connection is pending", "[poll]") {
  listener l;
  poller_t p;
  p.add(l.sock, usock::pollin);
  CHECK(p.poll(0ms).empty());
  socket_t client;
  client.connect(l.addr);
  CHECK((events_of(p, l.sock.fileno(), std::chrono::seconds(5)) & usock::pollin) != 0);
  l.sock.setblocking(false);
  auto [conn, addr] = l.sock.accept();
  CHECK(addr == client.getsockname());
}

TEST_CASE("poll: a timeout returns nothing after the time, zero returns at once", "[poll][timeouts]") {
  auto [client, server] = connected_pair();
  poller_t p;
  p.add(server, usock::pollin);
  auto start = steady_clock::now();
  CHECK(p.poll(80ms).empty());
  CHECK(steady_clock::now() - start >= 80ms);
  CHECK(p.poll(0ms).empty());
  p.add(client, usock::pollout);  // connected with an empty send buffer: writable
  const auto ready = p.poll(std::nullopt);  // no timeout: returns as soon as one socket is ready
  REQUIRE(ready.size() == 1);
  CHECK(ready[0].fd == client.fileno());
}

TEST_CASE("poll: a new, unconnected socket reports hang-up", "[poll]") {
  socket_t fresh;
  poller_t p;
  p.add(fresh, usock::pollin | usock::pollout);
  CHECK((events_of(p, fresh.fileno(), 0ms) & usock::pollhup) != 0);
}

TEST_CASE("poll: removing a socket that is closed", "[poll]") {
  auto [client, server] = connected_pair();
  poller_t p;
  p.add(server, usock::pollin);
  p.add(client, usock::pollin);
  const auto old_handle = server.fileno();
  server.close();
  CHECK((events_of(p, old_handle, 0ms) & usock::pollnval) != 0);  // registered but closed
  CHECK(error_of([&](auto& ec) { p.remove(server, ec); }) == std::errc::bad_file_descriptor);
  p.remove(old_handle);
  CHECK(p.size() == 1);
  CHECK(error_of([&](auto& ec) { p.remove(old_handle, ec); }) == std::errc::no_such_file_or_directory);
  CHECK(error_of([&](auto& ec) { p.add(server, usock::pollin, ec); }) == std::errc::bad_file_descriptor);
}

TEST_CASE("poll: registration follows the handle when the socket object moves", "[poll]") {
  auto [client, server] = connected_pair();
  poller_t p;
  p.add(server, usock::pollin);
  const auto handle = server.fileno();
  std::vector<socket_t> sockets;
  sockets.push_back(std::move(server));
  client.sendall("moved");
  CHECK((events_of(p, handle, std::chrono::seconds(5)) & usock::pollin) != 0);
  CHECK(sockets[0].recv(5) == "moved");
}

TEST_CASE("poll: add, modify and remove, also while iterating a result", "[poll]") {
  auto [a_client, a_server] = connected_pair();
  auto [b_client, b_server] = connected_pair();
  poller_t p;
  p.add(a_server, usock::pollin);
  p.add(b_server, usock::pollin);
  a_client.sendall("a");
  b_client.sendall("b");
  // Wait until both are readable (bounded), then change the set while walking the result.
  std::span<const poller_t::ready_entry> ready;
  // Bounded by time, not tries: while one is ready, poll returns at once (lwIP loops data back on its own thread).
  const auto deadline = steady_clock::now() + std::chrono::seconds(5);
  while (ready.size() < 2 && steady_clock::now() < deadline) ready = p.poll(std::chrono::milliseconds(50));
  REQUIRE(ready.size() == 2);
  std::vector<backend::handle_type> seen;
  for (auto [fd, events] : ready) {
    seen.push_back(fd);
    p.remove(fd);
    p.add(fd == a_server.fileno() ? a_client : b_client, usock::pollout);
  }
  std::sort(seen.begin(), seen.end());
  std::vector<backend::handle_type> expected{a_server.fileno(), b_server.fileno()};
  std::sort(expected.begin(), expected.end());
  CHECK(seen == expected);
  CHECK(p.size() == 2);
  CHECK(p.poll(std::chrono::seconds(5)).size() == 2);  // both clients are writable

  p.modify(a_client, usock::pollin);  // nothing to read: only b_client stays ready
  const auto after = p.poll(0ms);
  REQUIRE(after.size() == 1);
  CHECK(after[0].fd == b_client.fileno());

  p.add(b_client, usock::pollin);  // registering again changes the events, as select.poll does
  CHECK(p.size() == 2);
  CHECK(p.poll(0ms).empty());
}

TEST_CASE("poll: misuse is reported", "[poll][errors]") {
  usock::basic_poller<backend, 2> small;
  socket_t a, b, c;
  small.add(a, usock::pollin);
  small.add(b, usock::pollin);
  CHECK(error_of([&](auto& ec) { small.add(c, usock::pollin, ec); }) == std::errc::no_buffer_space);
  CHECK(error_of([&](auto& ec) { small.modify(c, usock::pollin, ec); }) == std::errc::no_such_file_or_directory);
  CHECK(error_of([&](auto& ec) { small.remove(c, ec); }) == std::errc::no_such_file_or_directory);
  CHECK_THROWS_AS(small.remove(c), usock::error);
  small.remove(a);
  small.add(c, usock::pollin);
  CHECK(small.size() == 2);
}
