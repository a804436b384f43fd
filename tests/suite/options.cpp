// setsockopt / getsockopt with usock's constants, mismatched levels, and the SO_REUSEADDR restart.
#include "suite.hpp"

using namespace usock_test;

TEST_CASE("boolean options read back as set", "[options]") {
  auto [client, server] = connected_pair();
  client.setsockopt(usock::ipproto_tcp, usock::tcp_nodelay, 1);
  CHECK(client.getsockopt(usock::ipproto_tcp, usock::tcp_nodelay) != 0);
  client.setsockopt(usock::ipproto_tcp, usock::tcp_nodelay, 0);
  CHECK(client.getsockopt(usock::ipproto_tcp, usock::tcp_nodelay) == 0);

  client.setsockopt(usock::sol_socket, usock::so_keepalive, 1);
  CHECK(client.getsockopt(usock::sol_socket, usock::so_keepalive) != 0);
  client.setsockopt(usock::sol_socket, usock::so_keepalive, 0);
  CHECK(client.getsockopt(usock::sol_socket, usock::so_keepalive) == 0);

  socket_t s;
  s.setsockopt(usock::sol_socket, usock::so_reuseaddr, 1);
  CHECK(s.getsockopt(usock::sol_socket, usock::so_reuseaddr) != 0);
}

TEST_CASE("buffer sizes can be read, and set to at least what was asked", "[options]") {
  socket_t s;
  const int rcv = s.getsockopt(usock::sol_socket, usock::so_rcvbuf);
  const int snd = s.getsockopt(usock::sol_socket, usock::so_sndbuf);
  CHECK(rcv > 0);
  CHECK(snd > 0);
  std::error_code ec;
  s.setsockopt(usock::sol_socket, usock::so_rcvbuf, 8192, ec);
  if (ec == std::errc::no_protocol_option) USOCK_SKIP("the stack was built without SO_RCVBUF");
  REQUIRE_FALSE(ec);
  CHECK(s.getsockopt(usock::sol_socket, usock::so_rcvbuf) >= 4096);
}

TEST_CASE("an option at the wrong level is no_protocol_option, never silently applied", "[options]") {
  socket_t s;
  CHECK(error_of([&](auto& ec) { s.setsockopt(usock::sol_socket, usock::tcp_nodelay, 1, ec); }) ==
        std::errc::no_protocol_option);
  CHECK(error_of([&](auto& ec) { s.setsockopt(usock::ipproto_tcp, usock::so_reuseaddr, 1, ec); }) ==
        std::errc::no_protocol_option);
  CHECK(error_of([&](auto& ec) { s.getsockopt(usock::ipproto_tcp, usock::so_keepalive, ec); }) ==
        std::errc::no_protocol_option);
}

TEST_CASE("SO_REUSEADDR lets a restarted server bind while the old connection is in TIME_WAIT", "[options]") {
  usock::address addr;
  {
    socket_t server;
    server.setsockopt(usock::sol_socket, usock::so_reuseaddr, 1);
    server.bind(loopback());
    server.listen(1);
    addr = server.getsockname();
    socket_t client;
    client.connect(addr);
    auto [conn, peer] = server.accept();
    conn.close();  // the server closes first, so its side of the connection waits in TIME_WAIT
    CHECK(client.read().empty());
  }
  socket_t plain;  // without the option the port is still taken by the TIME_WAIT connection
  CHECK(error_of([&](auto& ec) { plain.bind(addr, ec); }) == std::errc::address_in_use);
  socket_t restarted;
  restarted.setsockopt(usock::sol_socket, usock::so_reuseaddr, 1);
  restarted.bind(addr);
  restarted.listen(1);
  CHECK(restarted.getsockname() == addr);
}
