// Clients and servers on loopback: the seed's programs, EOF, half-close, large transfers, IPv6, byte views,
// moves and name resolution.
#include <array>
#include <cstdint>
#include <string>
#include <vector>
#include <cstring>

#include <usock/usock.hpp>

#include "suite.hpp"

using namespace usock_test;

namespace {
/// The seed's echo loop on one accepted connection: recv, sendall, until the peer closes.
void echo_one_client(socket_t& server) {
  auto [conn, addr] = server.accept();
  std::array<std::byte, 1024> data;
  while (std::size_t n = conn.recv(data)) conn.sendall(std::span(data).first(n));
}
}  // namespace

TEST_CASE("the seed's client talks to the seed's echo server", "[client_server]") {
  listener l;
  background server([&] { echo_one_client(l.sock); });

  socket_t s(usock::af_inet, usock::sock_stream);
  s.connect(l.addr);
  CHECK(s.send("hello\n") == 6);
  std::string reply = s.recv(1024);
  CHECK(reply == "hello\n");
  s.close();
  CHECK_FALSE(s.is_open());
}

TEST_CASE("send of a string literal sends its characters and not its terminator", "[client_server]") {
  auto [client, server] = connected_pair();
  CHECK(client.send("hello\n") == 6);
  client.shutdown(usock::shut_wr);
  CHECK(server.read() == "hello\n");
}

TEST_CASE("accept reports the client's address and both ends agree on names", "[client_server]") {
  listener l;
  socket_t client;
  client.connect(l.addr);
  auto [conn, addr] = l.sock.accept();
  CHECK(addr == client.getsockname());
  CHECK(conn.getpeername() == client.getsockname());
  CHECK(client.getpeername() == l.addr);
  CHECK(conn.getsockname() == l.addr);
  CHECK(addr.host() == "127.0.0.1");
  CHECK(addr.port() != 0);
}

TEST_CASE("recv returns 0 at EOF, and keeps returning 0", "[client_server]") {
  auto [client, server] = connected_pair();
  client.sendall("last words");
  client.close();
  CHECK(server.read() == "last words");
  std::array<char, 16> buf;
  CHECK(server.recv(buf) == 0);
  CHECK(server.recv(buf) == 0);
  CHECK(server.recv(16).empty());
}

TEST_CASE("shutdown(shut_wr) half-closes: the peer sees EOF and can still reply", "[client_server]") {
  auto [client, server] = connected_pair();
  client.sendall("question");
  client.shutdown(usock::shut_wr);
  CHECK(server.read() == "question");
  server.sendall("answer");
  server.close();
  CHECK(client.read() == "answer");
}

TEST_CASE("sendall and readinto move 8 MiB without losing, duplicating or reordering a byte", "[client_server]") {
  constexpr std::size_t size = 8 << 20;
  auto [client, server] = connected_pair();
  const std::string payload = pattern(size);
  std::error_code send_ec;
  std::size_t sent = 0;
  background writer([&] {
    sent = client.sendall(payload, send_ec);
    client.shutdown(usock::shut_wr, send_ec);
  });
  std::vector<std::byte> received(size + 1);
  const std::size_t got = server.readinto(received);
  writer.join();
  CHECK_FALSE(send_ec);
  CHECK(sent == size);
  REQUIRE(got == size);
  CHECK(std::memcmp(received.data(), payload.data(), size) == 0);
}

TEST_CASE("send may be short and the seed's send loop finishes the job", "[client_server]") {
  constexpr std::size_t size = 4 << 20;
  auto [client, server] = connected_pair();
  const std::string payload = pattern(size);
  std::string received;
  background reader([&] { received = server.read(); });
  std::string_view rest = payload;
  std::size_t calls = 0;
  while (!rest.empty()) {
    const std::size_t n = client.send(rest);
    REQUIRE(n > 0);
    REQUIRE(n <= rest.size());
    rest.remove_prefix(n);
    ++calls;
  }
  client.close();
  reader.join();
  CHECK(calls >= 1);
  CHECK(received == payload);
}

TEST_CASE("every byte view type sends and receives", "[client_server]") {
  auto [client, server] = connected_pair();
  const std::vector<std::byte> bytes{std::byte{1}, std::byte{2}};
  const std::array<std::uint8_t, 2> octets{3, 4};
  const unsigned char c_array[2] = {5, 6};
  const std::string text("\x07\x08", 2);
  const char chars[] = {9, 10};  // no terminator: the whole array is sent
  CHECK(client.send(bytes) == 2);
  CHECK(client.send(octets) == 2);
  CHECK(client.send(c_array) == 2);
  CHECK(client.send(text) == 2);
  CHECK(client.send(chars) == 2);
  CHECK(client.send(std::span<const std::byte>(bytes).first(1)) == 1);
  client.close();

  std::array<unsigned char, 4> a{};
  std::vector<char> v(4);
  char c[2] = {};
  std::string s(64, '\0');
  CHECK(server.readinto(a) == 4);
  CHECK(server.readinto(v) == 4);
  CHECK(server.readinto(c) == 2);
  CHECK(server.readinto(std::span<char>(s)) == 1);
  CHECK(a == std::array<unsigned char, 4>{1, 2, 3, 4});
  CHECK(v == std::vector<char>{5, 6, 7, 8});
  CHECK(c[0] == 9);
  CHECK(c[1] == 10);
  CHECK(s[0] == 1);
}

TEST_CASE("IPv6 loopback works end to end", "[client_server][ipv6]") {
  if (!ipv6_loopback_available()) USOCK_SKIP("this machine or stack has no IPv6 loopback (::1)");
  auto [client, server] = connected_pair(usock::af_inet6);
  CHECK(client.getpeername().host() == "::1");
  CHECK(client.getpeername().to_string().starts_with("[::1]:"));
  client.sendall("six");
  CHECK(server.read(3) == "six");
}

TEST_CASE("binding \"\" means any interface in the socket's own family", "[client_server][ipv6]") {
  socket_t v4;
  v4.bind({"", 0});
  CHECK(v4.getsockname().host() == "0.0.0.0");
  if (!ipv6_loopback_available()) USOCK_SKIP("this machine or stack has no IPv6 (the IPv4 half passed)");
  socket_t v6(usock::af_inet6, usock::sock_stream);
  v6.bind({"", 0});
  CHECK(v6.getsockname().host() == "::");
  CHECK(v6.getsockname().family() == usock::af_inet6);
}

TEST_CASE("a moved-from socket is closed and the moved-to one works", "[client_server]") {
  auto [client, server] = connected_pair();
  const auto handle = client.fileno();
  socket_t moved = std::move(client);
  CHECK(moved.fileno() == handle);
  CHECK_FALSE(client.is_open());  // NOLINT: checking the moved-from state is the point
  CHECK(error_of([&](auto& ec) { client.send("x", ec); }) == std::errc::bad_file_descriptor);
  moved.sendall("ok");
  CHECK(server.read(2) == "ok");

  std::vector<socket_t> sockets;
  sockets.push_back(std::move(moved));
  sockets.emplace_back(usock::af_inet, usock::sock_stream);
  sockets[0].sendall("!");
  CHECK(server.read(1) == "!");
  socket_t assigned;
  assigned = std::move(sockets[0]);
  CHECK(assigned.fileno() == handle);
}

TEST_CASE("many connections open and close without leaking", "[client_server]") {
  listener l(64);
  for (int round = 0; round < 200; ++round) {
    socket_t client;
    client.connect(l.addr);
    auto [conn, addr] = l.sock.accept();
    client.sendall("x");
    CHECK(conn.read(1) == "x");
  }
  // main() fails the run if any descriptor is left open.
}


namespace {
template <class B>
  requires usock::resolving_backend<B>
void check_resolver() {
  const auto addrs = usock::getaddrinfo<B>("localhost", 4242);
  REQUIRE_FALSE(addrs.empty());
  for (const auto& a : addrs) {
    CHECK(a.port() == 4242);
    CHECK((a.host() == "127.0.0.1" || a.host() == "::1"));
  }
  CHECK(usock::getaddrinfo<B>("127.0.0.1", 1) == std::vector<usock::address>{{"127.0.0.1", 1}});

  listener l;  // IPv4 only: if localhost gives ::1 first, that attempt is refused and the next one connects
  auto conn = usock::create_connection<B>("localhost", l.addr.port(), std::chrono::seconds(5));
  CHECK(conn.gettimeout() == std::chrono::milliseconds(5000));
  auto [server, peer] = l.sock.accept();
  conn.sendall("hi");
  CHECK(server.read(2) == "hi");

  // No failing look-up here: resolving an unknown name would ask the machine's DNS server, off this host.
}
template <class B>
void check_resolver() {
  USOCK_SKIP("this backend was built without a resolver");
}
}  // namespace

TEST_CASE("getaddrinfo resolves localhost and create_connection tries each address", "[client_server][resolve]") {
  check_resolver<backend>();
}
