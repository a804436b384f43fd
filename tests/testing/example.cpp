// The README's example, as a user would write it: a line-protocol client tested for a reset in the middle of a
// reply, a short write and a timeout, on the in-memory network, single-threaded, in milliseconds.
#include <chrono>
#include <string>

#include <usock/testing.hpp>

#include "catch.hpp"
#include "line_client.hpp"

using namespace std::chrono_literals;
namespace ut = usock::testing;

namespace {
struct fresh_network {
  fresh_network() { ut::network().reset(); }  // time zero, no sockets, no rules
};

/// A fake server listening where the firmware expects its server, and the client under test connected to it.
struct fixture : fresh_network {
  ut::network_type& net = ut::network();
  ut::socket server;
  line_client<ut::backend> client{{"127.0.0.1", 7000}, 2s};

  fixture() {
    server.bind({"127.0.0.1", 7000});
    server.listen();
    std::error_code ec;
    client.connect(ec);  // completes at once: the connection waits in the listener's queue
    REQUIRE_FALSE(ec);
  }
  ut::socket accept() { return std::move(server.accept().conn); }
};
}  // namespace

TEST_CASE_METHOD(fixture, "example: the client reports a reset in the middle of a reply", "[example]") {
  ut::socket conn = accept();
  conn.sendall("OK 21.");                                // half of the reply is on its way...
  net.add(ut::rule::reset_after(9).toward(7000));        // ...and the connection resets once the request is out
  std::error_code ec;
  CHECK(client.get("temp", ec).empty());
  CHECK(ec == std::errc::connection_reset);
  CHECK(conn.readline() == "GET temp\n");                // the request did arrive, whole
}

TEST_CASE_METHOD(fixture, "example: the client finishes a request the stack takes 3 bytes at a time", "[example]") {
  ut::socket conn = accept();
  const int rule = net.add(ut::rule::short_send(3).toward(7000).times(2));
  conn.sendall("OK 21.5\n");
  std::error_code ec;
  CHECK(client.get("temp", ec) == "21.5");
  CHECK_FALSE(ec);
  CHECK(net.fired(rule) == 2);                           // "GET", " te", then "mp\n" in one send
  const auto sent_by_client = net.info(net.peer_of(conn.fileno()));
  CHECK(sent_by_client.sends == 3);
  CHECK(sent_by_client.sent == "GET temp\n");            // byte-exact, as the client sent it
  CHECK(conn.readline() == "GET temp\n");
}

TEST_CASE_METHOD(fixture, "example: the client times out after exactly its timeout, in microseconds", "[example]") {
  ut::socket conn = accept();
  const auto real_start = std::chrono::steady_clock::now();
  const auto start = net.now();
  std::error_code ec;
  CHECK(client.get("temp", ec).empty());                 // the server never answers
  CHECK(ec == std::errc::timed_out);
  CHECK(net.now() - start == 2s);                        // the network's clock jumped to the deadline
  CHECK(std::chrono::steady_clock::now() - real_start < 1s);
}
