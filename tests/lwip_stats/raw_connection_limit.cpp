// The connection limit of the raw-API backend on tests/lwip_raw's NO_SYS=1 stack (tests/lwip_raw/port/lwipopts.h),
// threaded as the lwip_raw suite runs it. Built with USOCK_LWIP_RAW_MAX_SOCKETS=201: the socket pool, one slot per
// socket and per connection waiting to be accepted, binds before lwIP's MEMP_NUM_TCP_PCB (256). Filled to the
// limit, every connection works; the next socket and the next connection get a clear error, nothing connected
// loses a byte, and closing sockets makes room again. main() then checks lwIP's pools and heap are empty.
#include <chrono>
#include <cstddef>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "limit_helpers.hpp"

using namespace usock_test;

static_assert(USOCK_LWIP_RAW_MAX_SOCKETS == 201, "the limit this case fills: one listener and 100 connections");
static_assert(MEMP_NUM_TCP_PCB > USOCK_LWIP_RAW_MAX_SOCKETS, "the socket pool, not the pcbs, must be the binding limit");

namespace {

constexpr std::size_t connections = (USOCK_LWIP_RAW_MAX_SOCKETS - 1) / 2;  // both ends here, plus the listener

/// Waits (at most 5 s, polling the pool) until `n` slots are in use; true if they are.
bool slots_in_use_become(std::size_t n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (usock::lwip_raw::sockets_in_use() != n) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // a bounded poll of the pool, which has no event
  }
  return true;
}

}  // namespace

TEST_CASE("raw API: USOCK_LWIP_RAW_MAX_SOCKETS sockets all work, the next one is too_many_files_open, a closed "
          "one frees room",
          "[limit]") {
  REQUIRE(usock::lwip_raw::sockets_in_use() == 0);
  {
    listener l(255);
    std::vector<pair> pairs;
    pairs.reserve(connections + 1);
    for (std::size_t i = 0; i < connections; ++i) {
      pairs.push_back(connect_through(l));
    }
    echo_all(pairs, 0);
    CHECK(usock::lwip_raw::sockets_in_use() == USOCK_LWIP_RAW_MAX_SOCKETS);

    // The pool is full: socket() fails, clearly, and nothing breaks.
    std::error_code ec;
    socket_t extra(usock::af_inet, usock::sock_stream, ec);
    CHECK(ec == std::errc::too_many_files_open);
    CHECK_FALSE(extra.is_open());
    echo_all(pairs, 1);

    // One client closes: its server end reads EOF, and its slot is free again once lwIP has it.
    pair closing = std::move(pairs.back());
    pairs.pop_back();
    closing.client.close();
    CHECK(closing.server.read() == "");
    REQUIRE(slots_in_use_become(USOCK_LWIP_RAW_MAX_SOCKETS - 1));
    socket_t late(usock::af_inet, usock::sock_stream, ec);
    REQUIRE_FALSE(ec);

    // That socket can connect, but its server end finds no slot: the backend resets the connection.
    late.settimeout(std::chrono::seconds(5));
    late.connect(l.addr, ec);
    if (!ec) late.recv(1, ec);
    INFO(ec.message());
    CHECK((ec == std::errc::connection_reset || ec == std::errc::connection_refused));
    echo_all(pairs, 2);

    // Room for a whole connection again (two slots): it works, and so does every other one.
    late.close();
    closing.server.close();
    REQUIRE(slots_in_use_become(USOCK_LWIP_RAW_MAX_SOCKETS - 2));
    pairs.push_back(connect_through(l));
    CHECK(usock::lwip_raw::sockets_in_use() == USOCK_LWIP_RAW_MAX_SOCKETS);
    echo_all(pairs, 3);
  }
  CHECK(slots_in_use_become(0));  // main() then requires lwIP's pools and heap empty (host_stack.hpp leak_free)
}
