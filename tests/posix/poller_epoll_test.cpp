// The poller on Linux's epoll: the traps of epoll that poll(2) does not have, each shown not to reach the user.
// (The shared suite's poll cases run on it too; these are the cases only epoll makes interesting.)
#include <sys/resource.h>

#include <algorithm>
#include <vector>

#include <usock/poll.hpp>

#include "suite.hpp"

using namespace usock_test;

#if USOCK_POSIX_EPOLL

namespace {
using poller_t = usock::poller;  // the host's: epoll, growing on registration

/// The events the next `poll(0ms)` reports for `handle`, 0 if none.
unsigned events_now(poller_t& p, int handle) {
  for (auto [fd, events] : p.poll(0ms))
    if (fd == handle) return events;
  return 0;
}

/// Opens and closes `n` sockets through usock, filling the close journal with other handles.
void close_many(int n) {
  for (int i = 0; i < n; ++i) {
    socket_t s;
    s.close();
  }
}
}  // namespace

TEST_CASE("epoll poller: a socket closed while registered reports pollnval even once its number is reused",
          "[poll][epoll]") {
  auto [client, server] = connected_pair();
  listener other;
  poller_t p;
  p.add(server, usock::pollin);
  const int old_handle = server.fileno();
  server.close();  // epoll forgets a closed descriptor by itself; the poller must not
  CHECK(events_now(p, old_handle) == usock::pollnval);

  // The number comes back for a new socket that is ready for reading: still the old, closed registration.
  socket_t fresh;
  REQUIRE(fresh.fileno() == old_handle);  // the lowest free descriptor is the one just closed
  socket_t* reused = &fresh;
  fresh.connect(other.addr);
  auto [peer, peer_addr] = other.sock.accept();
  peer.sendall("x");
  CHECK(events_now(p, old_handle) == usock::pollnval);

  // Adding the number again registers the new file: its own events now.
  p.add(reused->fileno(), usock::pollin);
  CHECK(p.size() == 1);
  CHECK(events_now(p, old_handle) == usock::pollin);
  CHECK(reused->recv(1) == "x");
  CHECK(events_now(p, old_handle) == 0);
}

TEST_CASE("epoll poller: a closed registration is found when more closes happened than the journal holds",
          "[poll][epoll]") {
  auto [client, server] = connected_pair();
  auto [client2, server2] = connected_pair();
  poller_t p;
  p.add(server, usock::pollin);
  p.add(server2, usock::pollin);
  const int closed_handle = server.fileno();
  server.close();
  close_many(1000);  // the journal holds 256: the poller has to ask the kernel about each registration
  CHECK(events_now(p, closed_handle) == usock::pollnval);
  client2.sendall("y");
  unsigned seen = 0;
  for (int i = 0; i < 100 && !(seen & usock::pollin); ++i) seen = events_now(p, server2.fileno());
  CHECK(seen == usock::pollin);  // the live registration is untouched
  p.remove(closed_handle);
  CHECK(p.size() == 1);
}

TEST_CASE("epoll poller: closed then reused and many closes later the stale registration is still pollnval",
          "[poll][epoll]") {
  auto [client, server] = connected_pair();
  poller_t p;
  p.add(server, usock::pollin);
  const int old_handle = server.fileno();
  server.close();
  close_many(300);
  socket_t fresh;  // takes the old number, a different file
  REQUIRE(fresh.fileno() == old_handle);
  CHECK(events_now(p, old_handle) == usock::pollnval);
  p.modify(fresh.fileno(), usock::pollin | usock::pollout);  // modify registers the new file as well
  CHECK((events_now(p, old_handle) & usock::pollhup) != 0);   // a new, unconnected socket: hang-up
}

TEST_CASE("epoll poller: remove before close and the number's next socket registers cleanly", "[poll][epoll]") {
  poller_t p;
  for (int round = 0; round < 200; ++round) {
    auto [client, server] = connected_pair();
    p.add(server, usock::pollin);
    client.sendall("z");
    unsigned seen = 0;
    for (int i = 0; i < 100 && !seen; ++i) seen = events_now(p, server.fileno());
    REQUIRE(seen == usock::pollin);
    p.remove(server);
    server.close();
  }
  CHECK(p.size() == 0);
  CHECK(p.poll(0ms).empty());
}

TEST_CASE("epoll poller: more ready sockets than one wait returns are all reported over the following waits",
          "[poll][epoll]") {
  // One wait fetches at most 512 events; level-triggered registrations stay ready until drained, so 600 ready
  // sockets take two waits and none is lost.
  rlimit limit{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
  if (limit.rlim_cur < 1400) {
    if (limit.rlim_max < 1400) USOCK_SKIP("RLIMIT_NOFILE's hard limit is below the 1,400 descriptors this case needs");
    limit.rlim_cur = 1400;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &limit) == 0);
  }
  std::vector<connection> pairs;
  poller_t p;
  for (int i = 0; i < 600; ++i) {
    pairs.push_back(connected_pair());
    p.add(pairs.back().client, usock::pollout);
  }
  std::vector<bool> seen(1 << 16);
  std::size_t distinct = 0, largest = 0;
  for (int wait = 0; wait < 50 && distinct < pairs.size(); ++wait) {
    const auto ready = p.poll(0ms);
    largest = std::max(largest, ready.size());
    for (auto [fd, events] : ready) {
      REQUIRE(events == usock::pollout);
      if (!seen[static_cast<std::size_t>(fd)]) seen[static_cast<std::size_t>(fd)] = true, ++distinct;
    }
  }
  CHECK(largest == 512);
  CHECK(distinct == pairs.size());
}

#else
TEST_CASE("epoll poller: not built (not Linux or USOCK_POSIX_POLL)", "[poll][epoll]") {
  USOCK_SKIP("this build's poller uses poll(2), not epoll");
}
#endif
