// Built with -fno-exceptions -fno-rtti: the std::error_code form of each call is all there is, and it is enough. A
// connection to itself on 127.0.0.1, one line each way, plus errors reported through error codes. Exits 0 only if
// every step did what it should.
#include <array>
#include <chrono>
#include <cstdio>
#include <string>
#include <system_error>

#include <usock/usock.hpp>

#if defined(__cpp_exceptions) || defined(__GXX_RTTI)
#error "this consumer must be compiled with -fno-exceptions -fno-rtti"
#endif
static_assert(USOCK_HAS_EXCEPTIONS == 0);
// Only the error_code forms exist: a call without one does not compile.
template <class Socket>
concept connects_without_error_code = requires(Socket& s, const usock::address& a) { s.connect(a); };
template <class Socket>
concept connects_with_error_code = requires(Socket& s, const usock::address& a, std::error_code& ec) {
  s.connect(a, ec);
};
static_assert(!connects_without_error_code<usock::socket> && connects_with_error_code<usock::socket>);

using namespace std::chrono_literals;

namespace {

int failures = 0;

/// Records a failed step: prints what was expected and the error code the step produced.
void expect(bool ok, const char* what, const std::error_code& ec) {
  if (ok) return;
  ++failures;
  std::printf("FAIL: %s (error: %s)\n", what, ec.message().c_str());
}

}  // namespace

int main() {
  std::error_code ec;
  usock::socket server(usock::af_inet, usock::sock_stream, ec);
  expect(!ec, "socket()", ec);
  server.bind({"127.0.0.1", 0}, ec);
  expect(!ec, "bind(127.0.0.1:0)", ec);
  server.listen(1, ec);
  expect(!ec, "listen(1)", ec);
  server.settimeout(10s, ec);
  expect(!ec, "settimeout(10s)", ec);
  const usock::address server_address = server.getsockname(ec);
  expect(!ec && server_address.port() != 0, "getsockname()", ec);

  usock::socket client = usock::create_connection("127.0.0.1", server_address.port(), 10s, ec);
  expect(!ec && client.is_open(), "create_connection(127.0.0.1)", ec);
  auto [conn, addr] = server.accept(ec);
  expect(!ec && conn.is_open(), "accept()", ec);
  expect(addr == client.getsockname(ec), "accept() returns the client's address", ec);

  expect(client.sendall("ping\n", ec) == 5 && !ec, "sendall(ping)", ec);
  const std::string request = conn.readline(ec);
  expect(!ec && request == "ping\n", "readline() returns ping", ec);
  expect(conn.sendall("pong\n", ec) == 5 && !ec, "sendall(pong)", ec);
  conn.close(ec);
  expect(!ec, "close()", ec);
  std::array<char, 16> buffer{};
  const std::size_t n = client.readinto(buffer, ec);
  expect(!ec && std::string(buffer.data(), n) == "pong\n", "readinto() returns pong, then EOF", ec);

  // Errors come back through the code, never as an exception (which would not compile here anyway).
  client.connect(usock::address{"not an address", 1}, ec);
  expect(ec == std::errc::invalid_argument, "connect(invalid address) reports invalid_argument", ec);
  conn.send("late", ec);
  expect(ec == std::errc::bad_file_descriptor, "send() on a closed socket reports bad_file_descriptor", ec);

  client.close(ec);
  server.close(ec);
  std::printf("no_exceptions: %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : 1;
}
