// The connection limit of the source-built socket-API stack (tests/lwip_stats/port/lwipopts.h): MEMP_NUM_NETCONN
// sockets at most, each holding one netconn, and a connection's server end takes its netconn when the handshake
// completes. Filled to the limit, every connection works; the next socket, and the next connection, get a clear
// error, nothing already connected loses a byte, and closing sockets makes room again. lwIP's pools end where
// they started.
#include <cstddef>
#include <string>
#include <system_error>
#include <vector>

#include "pool_check.hpp"
#include "limit_helpers.hpp"

using namespace usock_test;

static_assert(MEMP_NUM_NETCONN == 201, "the limit these cases fill: one listener and 100 connections");
static_assert(MEMP_NUM_TCP_PCB >= MEMP_NUM_NETCONN, "the socket table, not the pcbs, must be the binding limit");

namespace {

constexpr std::size_t connections = (MEMP_NUM_NETCONN - 1) / 2;  // both ends in this process, plus the listener

std::uint32_t netconns_in_use() { return usock_lwip_stats::take(false).pool_used[MEMP_NETCONN]; }

}  // namespace

TEST_CASE("socket API: MEMP_NUM_NETCONN sockets all work, the next one is no_buffer_space, a closed one frees room",
          "[limit]") {
  const auto before = usock_lwip_stats::take();
  {
    listener l(255);
    std::vector<pair> pairs;
    pairs.reserve(connections + 1);
    for (std::size_t i = 0; i < connections; ++i) {
      pairs.push_back(connect_through(l));
    }
    echo_all(pairs, 0);
    CHECK(netconns_in_use() == MEMP_NUM_NETCONN);

    // The table is full: socket() fails, clearly, and nothing breaks.
    std::error_code ec;
    socket_t extra(usock::af_inet, usock::sock_stream, ec);
    INFO(ec.message());
    CHECK(ec == std::errc::no_buffer_space);  // lwIP: no netconn left for it (ENOBUFS)
    CHECK_FALSE(extra.is_open());
    echo_all(pairs, 1);

    // One client closes: its server end reads EOF, and its netconn is free again.
    pair closing = std::move(pairs.back());
    pairs.pop_back();
    closing.client.close();
    CHECK(closing.server.read() == "");
    socket_t late(usock::af_inet, usock::sock_stream, ec);
    REQUIRE_FALSE(ec);
    CHECK(netconns_in_use() == MEMP_NUM_NETCONN);

    // That socket can connect, but its server end finds no netconn: lwIP resets the connection, and the
    // listener's next accept() reports the connection that could not be taken.
    late.settimeout(std::chrono::seconds(5));
    late.connect(l.addr, ec);
    if (!ec) late.recv(1, ec);
    INFO(ec.message());
    CHECK((ec == std::errc::connection_reset || ec == std::errc::connection_refused));
    l.sock.settimeout(std::chrono::seconds(5));
    l.sock.accept(ec);
    CHECK(ec == std::errc::connection_aborted);
    echo_all(pairs, 2);

    // Room for a whole connection again (two sockets): it works, and so does every other one.
    late.close();
    closing.server.close();
    pairs.push_back(connect_through(l));
    CHECK(netconns_in_use() == MEMP_NUM_NETCONN);
    echo_all(pairs, 3);
  }
  const std::string leaked = usock_lwip_stats::settle_and_compare(before);
  INFO(leaked);
  CHECK(leaked.empty());
}

TEST_CASE("socket API: pcbs of connections closed by one end count too: when they run out first, socket() is "
          "no_buffer_space",
          "[limit]") {
  const auto before = usock_lwip_stats::take();
  {
    listener l(255);
    // 100 connections whose clients close while their server ends stay open: 100 client pcbs wait in
    // FIN_WAIT_2 without a socket, so 200 pcbs are in use for 101 netconns.
    std::vector<socket_t> half_closed;
    for (std::size_t i = 0; i < connections; ++i) {
      pair p = connect_through(l);
      p.client.close();
      REQUIRE(p.server.read() == "");
      half_closed.push_back(std::move(p.server));
    }
    // New connections until socket() fails: the pcbs run out while the socket table still has room.
    std::vector<pair> pairs;
    std::error_code ec;
    for (int i = 0; i < MEMP_NUM_TCP_PCB && !ec; ++i) {
      socket_t client(usock::af_inet, usock::sock_stream, ec);
      if (ec) break;
      client.settimeout(std::chrono::seconds(5));
      client.connect(l.addr);
      auto [server, peer] = l.sock.accept();
      server.settimeout(std::chrono::seconds(5));
      pairs.push_back({std::move(client), std::move(server)});
    }
    INFO(ec.message());
    CHECK(ec == std::errc::no_buffer_space);
    const auto full = usock_lwip_stats::take(false);
    CHECK(full.pool_used[MEMP_TCP_PCB] == MEMP_NUM_TCP_PCB);
    CHECK(full.pool_used[MEMP_NETCONN] < MEMP_NUM_NETCONN);
    CHECK(pairs.size() == (MEMP_NUM_TCP_PCB - 2 * connections) / 2);
    echo_all(pairs, 0);

    // The server ends close: the half-closed connections finish (TIME_WAIT pcbs are reclaimed on demand).
    half_closed.clear();
    socket_t again(usock::af_inet, usock::sock_stream, ec);
    CHECK_FALSE(ec);
    echo_all(pairs, 1);
  }
  const std::string leaked = usock_lwip_stats::settle_and_compare(before);
  INFO(leaked);
  CHECK(leaked.empty());
}
