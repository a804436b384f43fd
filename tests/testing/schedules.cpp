// Seeded random schedules reproduce byte for byte, and inspection: what each side sent, the counters, the log.
#include <array>
#include <vector>

#include <usock/usock.hpp>

#include "fixtures.hpp"

using namespace testing_test;

namespace {

/// One run of a transfer under chaos: how each call came out, and what the network logged.
struct transfer_trace {
  std::vector<long> calls;  // per call: bytes moved, or -1 for try-again
  std::vector<ut::fault_event> faults;
  std::string received;
  std::uint64_t bytes_sent = 0;

  bool same_schedule(const transfer_trace& other) const {
    if (calls != other.calls || faults.size() != other.faults.size()) return false;
    for (std::size_t i = 0; i < faults.size(); ++i) {  // handles differ between runs: compare everything else
      const auto &a = faults[i], &b = other.faults[i];
      if (a.sequence != b.sequence || a.call != b.call || a.kind != b.kind || a.size != b.size) return false;
    }
    return true;
  }
};

/// Moves 40 KiB from client to server on non-blocking sockets, one send and one recv per round, under a seeded
/// schedule of short sends, short reads, interruptions and would-blocks.
transfer_trace run_transfer(std::uint64_t seed) {
  connected_pair p;
  p.net.randomize(ut::chaos{seed, 300, 300, 100, 200});
  p.client.setblocking(false);
  p.server.setblocking(false);
  const std::string payload = pattern(40 << 10);
  transfer_trace t;
  std::size_t sent = 0;
  for (int round = 0; round < 100000 && t.received.size() < payload.size(); ++round) {
    std::error_code ec;
    if (sent < payload.size()) {
      const std::size_t n = p.client.send(std::string_view(payload).substr(sent, 3000), ec);
      REQUIRE((!ec || ec == std::errc::resource_unavailable_try_again));
      t.calls.push_back(ec ? -1 : long(n));
      sent += n;
    }
    std::array<char, 1500> buf;
    const std::size_t n = p.server.recv(buf, ec);
    REQUIRE((!ec || ec == std::errc::resource_unavailable_try_again));
    t.calls.push_back(ec ? -1 : long(n));
    t.received.append(buf.data(), n);
  }
  CHECK(t.received == payload);  // chaos never loses, duplicates or reorders a byte
  const auto log = p.net.fault_log();
  t.faults.assign(log.begin(), log.end());
  t.bytes_sent = p.net.stats().bytes_sent;
  return t;
}

}  // namespace

TEST_CASE("a seeded schedule reproduces byte for byte from its seed", "[testing][chaos]") {
  const std::uint64_t seed = ut::seed_from_environment();
  INFO("replay with USOCK_TESTING_SEED=" << seed);
  const transfer_trace first = run_transfer(seed);
  const transfer_trace again = run_transfer(seed);
  CHECK(first.faults.size() > 10);  // the schedule did something
  CHECK(first.same_schedule(again));
  CHECK(first.received == again.received);
  CHECK(first.bytes_sent == again.bytes_sent);
  const transfer_trace other = run_transfer(seed + 1);
  CHECK_FALSE(first.same_schedule(other));
}

TEST_CASE("USOCK_TESTING_SEED chooses the seed", "[testing][chaos]") {
  ::setenv("USOCK_TESTING_SEED", "12345", 1);
  CHECK(ut::seed_from_environment() == 12345);
  ::unsetenv("USOCK_TESTING_SEED");
  CHECK(ut::seed_from_environment() != ut::seed_from_environment());
}

TEST_CASE("inspection: what each side sent, byte-exact, also after it closed", "[testing][inspection]") {
  connected_pair p;
  p.client.sendall("request\n");
  p.server.sendall("reply\n");
  const auto client_handle = p.client.fileno();
  const auto server_handle = p.server.fileno();
  CHECK(p.net.peer_of(server_handle) == client_handle);
  CHECK(p.net.peer_of(client_handle) == server_handle);
  CHECK(p.net.sent(client_handle) == "request\n");
  CHECK(p.net.sent(server_handle) == "reply\n");
  p.client.close();
  const ut::socket_info info = p.net.info(client_handle);
  CHECK(info.known);
  CHECK_FALSE(info.open);
  CHECK(info.sent == "request\n");
  CHECK(info.bytes_sent == 8);
  CHECK(info.sends == 1);
  CHECK(p.net.peer_of(server_handle) == -1);
  CHECK_FALSE(p.net.info(12345678).known);
}

TEST_CASE("inspection: the record keeps the first bytes and says when it is truncated", "[testing][inspection]") {
  connected_pair p;
  const std::string big = pattern(ut::network_type::record_size + 100);
  p.client.sendall(big);
  const ut::socket_info info = p.net.info(p.client.fileno());
  CHECK(info.sent == big.substr(0, ut::network_type::record_size));
  CHECK(info.sent_truncated);
  CHECK(info.bytes_sent == big.size());
}

TEST_CASE("inspection: counters count calls, bytes and faults", "[testing][inspection]") {
  connected_pair p;
  p.net.add(ut::rule::short_send(2));
  p.client.sendall("abcd");
  CHECK(p.server.read(4) == "abcd");
  const ut::counters c = p.net.stats();
  CHECK(c.opens == 2);  // the listener and the client; the server's end came from accept
  CHECK(c.connects == 1);
  CHECK(c.accepts == 1);
  CHECK(c.sends == 2);
  CHECK(c.bytes_sent == 4);
  CHECK(c.bytes_received == 4);
  CHECK(c.faults == 1);
  std::array<ut::network_type::handle_type, 4> found{};
  CHECK(p.net.find_local_port(p.addr.port(), found) == 2);  // the listener and the server's end
  CHECK(p.net.open_sockets() == 3);
}

TEST_CASE("names: localhost and the names a test adds resolve, and others do not", "[testing][inspection]") {
  fresh_network fresh;
  std::error_code ec;
  ut::network().add_host("camera.local", {"127.0.0.1", 0}, ec);
  REQUIRE_FALSE(ec);
  CHECK(usock::getaddrinfo<ut::backend>("camera.local", 80) ==
        std::vector<usock::address>{{"127.0.0.1", 80}});
  CHECK(usock::getaddrinfo<ut::backend>("localhost", 1).size() == 2);
  usock::getaddrinfo<ut::backend>("unknown.example", 80, ec);
  CHECK(ec == std::errc::no_such_device_or_address);
}

TEST_CASE("every address belongs to the network: listen where the firmware expects its server",
          "[testing][inspection]") {
  fresh_network fresh;
  ut::socket server;
  server.bind({"10.1.2.3", 502});
  server.listen();
  ut::socket client;
  client.connect({"10.1.2.3", 502});
  auto [conn, peer] = server.accept();
  CHECK(client.getpeername() == usock::address{"10.1.2.3", 502});
  CHECK(peer.host() == "127.0.0.1");
  ut::socket nobody;
  std::error_code ec;
  nobody.connect({"10.1.2.4", 502}, ec);
  CHECK(ec == std::errc::connection_refused);
}
