// The in-memory network's clock: manual time moves only when told or when nothing else can happen; deadlines are
// met exactly; waits nothing can end are reported; and how a blocked thread and an advancing one meet.
#include <array>
#include <atomic>
#include <thread>

#include "fixtures.hpp"

using namespace testing_test;

TEST_CASE("manual time stands still until the test advances it", "[testing][clock]") {
  fresh_network fresh;
  auto& net = ut::network();
  CHECK(net.now() == 0ns);
  CHECK(ut::backend::clock::now().time_since_epoch() == 0ns);
  net.advance(1500ms);
  CHECK(net.now() == 1500ms);
  CHECK(ut::backend::clock::now().time_since_epoch() == 1500ms);
  net.advance(-5s);  // time never goes back
  CHECK(net.now() == 1500ms);
}

TEST_CASE("a recv with a 30 s timeout times out after exactly 30 s of network time, in real microseconds",
          "[testing][clock]") {
  connected_pair p;
  p.server.settimeout(30s);
  const auto real_start = std::chrono::steady_clock::now();
  std::array<char, 8> buf;
  std::error_code ec;
  CHECK(p.server.recv(buf, ec) == 0);
  CHECK(ec == std::errc::timed_out);
  CHECK(p.net.now() == 30s);
  CHECK(std::chrono::steady_clock::now() - real_start < 1s);
  CHECK(p.net.stats().auto_advances == 1);
  p.client.sendall("late");  // the socket still works afterwards
  CHECK(p.server.read(4) == "late");
}

TEST_CASE("a timed-out recv: advancing by the timeout less 1 ms does not end it, the last 1 ms does",
          "[testing][clock]") {
  connected_pair p;
  p.net.expect_threads(2);  // the reader and this thread, which moves time
  p.server.settimeout(100ms);
  std::atomic<bool> done{false};
  std::error_code ec;
  std::thread reader([&] {
    std::array<char, 4> buf;
    p.server.recv(buf, ec);
    done = true;
  });
  REQUIRE(p.net.wait_until_blocked(1));
  p.net.advance(99ms);  // returns once the reader has looked at the new time
  CHECK(p.net.blocked() == 1);
  CHECK_FALSE(done);
  p.net.advance(1ms);
  reader.join();
  CHECK(done);
  CHECK(ec == std::errc::timed_out);
  CHECK(p.net.now() == 100ms);
  CHECK(p.net.stats().auto_advances == 0);
}

TEST_CASE("data from a peer thread before the deadline wins, and no time passes", "[testing][clock]") {
  connected_pair p;
  p.server.settimeout(5s);
  {
    ut::peer_thread peer([&] { p.client.sendall("hi"); });
    CHECK(p.server.read(2) == "hi");
  }
  CHECK(p.net.now() == 0ns);
}

TEST_CASE("when the peer thread ends, the test's blocked call runs to its deadline", "[testing][clock]") {
  connected_pair p;
  p.server.settimeout(3s);
  std::error_code ec;
  std::string got;
  {
    ut::peer_thread peer([&] { p.client.sendall("x"); });
    got = p.server.read(2, ec);  // one byte comes; the second never does
  }
  CHECK(got == "x");
  CHECK(ec == std::errc::timed_out);
  CHECK(p.net.now() == 3s);
}

TEST_CASE("a blocking call that nothing can complete reports resource_deadlock_would_occur at once",
          "[testing][clock]") {
  connected_pair p;
  std::error_code ec;
  std::array<char, 4> buf;
  CHECK(p.server.recv(buf, ec) == 0);  // blocking, and this thread is the only one
  CHECK(ec == std::errc::resource_deadlock_would_occur);
  p.listener.accept(ec);  // nobody is connecting
  CHECK(ec == std::errc::resource_deadlock_would_occur);
  const std::string big = pattern(ut::network_type::buffer_size + 1);
  CHECK(p.client.sendall(big, ec) == ut::network_type::buffer_size);  // the window fills; nobody reads
  CHECK(ec == std::errc::resource_deadlock_would_occur);
  CHECK(p.net.stats().stalls == 3);
  CHECK(p.net.now() == 0ns);
  std::string got(ut::network_type::buffer_size, '\0');  // and nothing was lost on the way
  CHECK(p.server.readinto(got) == got.size());
  CHECK(got == big.substr(0, got.size()));
}

TEST_CASE("two threads blocked on each other both hear of the deadlock", "[testing][clock]") {
  connected_pair p;
  p.net.expect_threads(2);
  std::error_code server_ec, client_ec;
  std::thread other([&] {
    std::array<char, 4> buf;
    p.server.recv(buf, server_ec);  // waits for the client, which waits for the server
  });
  std::array<char, 4> buf;
  p.client.recv(buf, client_ec);
  other.join();
  CHECK(server_ec == std::errc::resource_deadlock_would_occur);
  CHECK(client_ec == std::errc::resource_deadlock_would_occur);
}

TEST_CASE("poll in manual time: a timeout jumps to its deadline, forever with nothing to wait for is reported",
          "[testing][clock][poll]") {
  connected_pair p;
  ut::poller<8> poller;
  poller.add(p.server, usock::pollin);
  CHECK(poller.poll(5s).empty());
  CHECK(p.net.now() == 5s);
  std::error_code ec;
  CHECK(poller.poll(std::nullopt, ec).empty());
  CHECK(ec == std::errc::resource_deadlock_would_occur);
  p.client.sendall("x");
  const auto ready = poller.poll(std::nullopt);
  REQUIRE(ready.size() == 1);
  CHECK(ready[0].fd == p.server.fileno());
  CHECK(p.net.now() == 5s);
}

TEST_CASE("the stall limit ends a wait that no thread takes part in ending", "[testing][clock]") {
  connected_pair p;
  p.net.expect_threads(2);  // wrongly: no second thread exists
  p.net.set_stall_limit(50ms);
  const auto real_start = std::chrono::steady_clock::now();
  std::array<char, 4> buf;
  std::error_code ec;
  p.server.recv(buf, ec);
  CHECK(ec == std::errc::resource_deadlock_would_occur);
  CHECK(std::chrono::steady_clock::now() - real_start >= 50ms);
}

TEST_CASE("real time follows the steady clock, and advance still adds to it", "[testing][clock]") {
  connected_pair p;
  p.net.set_time_mode(ut::time_mode::real);
  p.server.settimeout(30ms);
  const auto real_start = std::chrono::steady_clock::now();
  const auto start = p.net.now();
  std::array<char, 4> buf;
  std::error_code ec;
  p.server.recv(buf, ec);
  CHECK(ec == std::errc::timed_out);
  CHECK(std::chrono::steady_clock::now() - real_start >= 30ms);
  CHECK(p.net.now() - start >= 30ms);
  const auto before = p.net.now();
  p.net.advance(1h);
  CHECK(p.net.now() - before >= 1h);
}

TEST_CASE("a closed connection holds its port in TIME_WAIT for 60 s of network time", "[testing][clock]") {
  usock::address addr;
  {
    connected_pair p;
    addr = p.addr;
    p.server.close();  // the server closes first: its end waits in TIME_WAIT
    CHECK(p.client.read().empty());
  }
  ut::socket plain;
  std::error_code ec;
  plain.bind(addr, ec);
  CHECK(ec == std::errc::address_in_use);
  ut::network().advance(59s);
  plain.bind(addr, ec);
  CHECK(ec == std::errc::address_in_use);
  ut::network().advance(1s);
  plain.bind(addr, ec);
  CHECK_FALSE(ec);
}
