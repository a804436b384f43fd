// Errors: refused, reset, closed sockets, ports in use, misuse; each reported as its std::errc.
#include <array>
#include <string>

#include "suite.hpp"

using namespace usock_test;

TEST_CASE("connecting to a port nobody listens on is connection_refused", "[errors]") {
  socket_t reserved;  // bound but not listening: the port is ours and nothing accepts on it
  reserved.bind(loopback());
  socket_t s;
  CHECK(error_of([&](auto& ec) { s.connect(reserved.getsockname(), ec); }) == std::errc::connection_refused);

  socket_t timed;
  timed.settimeout(std::chrono::seconds(5));
  CHECK(error_of([&](auto& ec) { timed.connect(reserved.getsockname(), ec); }) == std::errc::connection_refused);
}

TEST_CASE("a reset peer delivers its data first, then connection_reset", "[errors]") {
  auto [client, server] = connected_pair();
  // Closing with unread data makes the client's stack reset the connection instead of closing it cleanly.
  server.sendall("unread-by-client");
  std::array<char, 6> head;
  REQUIRE(client.readinto(head) == 6);  // the rest of that segment is now sitting unread in the client
  client.sendall("before-reset");
  client.close();

  CHECK(server.read(12) == "before-reset");
  std::array<char, 16> buf;
  CHECK(error_of([&](auto& ec) { server.recv(buf, ec); }) == std::errc::connection_reset);
}

TEST_CASE("every call on a closed socket is bad_file_descriptor, and close is idempotent", "[errors]") {
  socket_t s;
  s.close();
  s.close();
  CHECK_FALSE(s.is_open());
  std::array<char, 4> buf;
  using std::errc;
  CHECK(error_of([&](auto& ec) { s.connect(loopback(usock::af_inet, 9), ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.bind(loopback(), ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.listen(1, ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.listen(ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.accept(ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.send("x", ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.sendall("x", ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.write("x", ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.recv(buf, ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.recv(4, ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.read(ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.read(4, ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.readinto(buf, ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.readline(ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.setsockopt(usock::sol_socket, usock::so_reuseaddr, 1, ec); }) ==
        errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.getsockopt(usock::sol_socket, usock::so_reuseaddr, ec); }) ==
        errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.settimeout(1ms, ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.setblocking(false, ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.shutdown(usock::shut_rdwr, ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.getsockname(ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.getpeername(ec); }) == errc::bad_file_descriptor);
  CHECK(error_of([&](auto& ec) { s.close(ec); }) == std::error_code{});
  CHECK_THROWS_AS(s.send("x"), usock::error);
}

TEST_CASE("binding a port that a listener holds is address_in_use", "[errors]") {
  listener l;
  socket_t second;
  std::error_code ec;
  second.bind(l.addr, ec);
  CHECK(ec == std::errc::address_in_use);
  try {
    second.bind(l.addr);
    FAIL("bind must throw");
  } catch (const usock::error& e) {
    CHECK(e.code() == std::errc::address_in_use);
    CHECK(std::string(e.what()).find("bind") != std::string::npos);
    const std::system_error& as_system_error = e;  // usock::error is a std::system_error
    CHECK(as_system_error.code() == std::errc::address_in_use);
  }
}

TEST_CASE("misuse is reported, not undefined: bind twice, accept without listen, unconnected I/O", "[errors]") {
  socket_t s;
  s.bind(loopback());
  CHECK(error_of([&](auto& ec) { s.bind(loopback(), ec); }) == std::errc::invalid_argument);
  CHECK(error_of([&](auto& ec) { s.accept(ec); }) == std::errc::invalid_argument);
  std::array<char, 4> buf;
  CHECK(error_of([&](auto& ec) { s.recv(buf, ec); }) == std::errc::not_connected);
  CHECK(error_of([&](auto& ec) { s.getpeername(ec); }) == std::errc::not_connected);
  CHECK(error_of([&](auto& ec) { s.shutdown(usock::shut_rdwr, ec); }) == std::errc::not_connected);
}

TEST_CASE("connecting a connected socket is already_connected", "[errors]") {
  listener l;
  socket_t c;
  c.connect(l.addr);
  CHECK(error_of([&](auto& ec) { c.connect(l.addr, ec); }) == std::errc::already_connected);
}

TEST_CASE("a failed, a moved-from and a closed socket all destruct quietly", "[errors]") {
  std::error_code ec;
  socket_t failed(usock::af_inet, usock::sock_stream, ec);  // succeeds here; the point is the error_code form
  CHECK_FALSE(ec);
  socket_t moved_to = std::move(failed);
  socket_t closed;
  closed.close();
  CHECK(moved_to.is_open());
}
