// The leak check of tests/lwip_stats can fail: a socket, a connection and a buffer left behind are each reported,
// by name, and the report is empty again once they are released.
#include <chrono>
#include <string>

#include "pool_check.hpp"
#include "suite.hpp"

extern "C" {
#include <lwip/pbuf.h>
}

using namespace usock_test;
using usock_lwip_stats::settle_and_compare;

namespace {
/// Long enough for closed connections to finish on loopback; the cases that expect a leak wait this long.
constexpr auto settle = std::chrono::milliseconds(300);
bool mentions(const std::string& report, const std::string& what) { return report.find(what) != std::string::npos; }
}  // namespace

TEST_CASE("the leak check reports a socket left open", "[leak_check]") {
  const auto before = usock_lwip_stats::take();
  socket_t forgotten(usock::af_inet, usock::sock_stream);
  const std::string report = settle_and_compare(before, settle);
  INFO(report);
  CHECK(mentions(report, "pool NETCONN entries in use: " + std::to_string(before.pool_used[MEMP_NETCONN]) +
                             " before, " + std::to_string(before.pool_used[MEMP_NETCONN] + 1) + " after"));
  CHECK(mentions(report, "pool TCP_PCB entries in use"));
  CHECK(mentions(report, "semaphores"));  // a netconn's op_completed semaphore
  forgotten.close();
  CHECK(settle_and_compare(before) == "");
}

TEST_CASE("the leak check reports a connection left open, with its socket numbers", "[leak_check]") {
  const auto before = usock_lwip_stats::take();
  {
    auto [client, server] = connected_pair();
    client.sendall("x");
    CHECK(server.read(1) == "x");
    const std::string report = settle_and_compare(before, settle);
    INFO(report);
    CHECK(mentions(report, "pool NETCONN entries in use"));
    CHECK(mentions(report, "pool TCP_PCB entries in use"));
    CHECK(mentions(report, "mailboxes"));  // each connected netconn has a receive mailbox
  }
  CHECK(settle_and_compare(before) == "");
}

TEST_CASE("the leak check reports the socket table when a socket is left open", "[leak_check]") {
  const auto before = usock_lwip_stats::take();
  const int s = ::lwip_socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(s == before.first_free_socket);  // the lowest free number
  // Only the socket-table probe: compare the pools as they are now, so that just the table differs.
  usock_lwip_stats::snapshot with_socket = usock_lwip_stats::take(false);
  with_socket.first_free_socket = before.first_free_socket;
  const std::string report = settle_and_compare(with_socket, settle);
  INFO(report);
  CHECK(mentions(report, ("first free socket number: " + std::to_string(s) + " before, " + std::to_string(s + 1) +
                          " after")));
  ::lwip_close(s);
  CHECK(settle_and_compare(before) == "");
}

TEST_CASE("the leak check reports heap memory left allocated", "[leak_check]") {
  const auto before = usock_lwip_stats::take();
  LOCK_TCPIP_CORE();
  pbuf* p = pbuf_alloc(PBUF_RAW, 1000, PBUF_RAM);
  UNLOCK_TCPIP_CORE();
  REQUIRE(p != nullptr);
  const std::string report = settle_and_compare(before, settle);
  INFO(report);
  CHECK(mentions(report, "heap bytes in use"));
  LOCK_TCPIP_CORE();
  pbuf_free(p);
  UNLOCK_TCPIP_CORE();
  CHECK(settle_and_compare(before) == "");
}
