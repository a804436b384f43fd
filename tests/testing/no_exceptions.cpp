// <usock/testing.hpp> with -fno-exceptions -fno-rtti: the error_code forms on the in-memory network, a fault
// rule and manual time. Exits 0 only if every step did what it should.
#include <array>
#include <cstdio>
#include <string>
#include <system_error>

#include <usock/testing.hpp>

#if defined(__cpp_exceptions) || defined(__GXX_RTTI)
#error "this program must be compiled with -fno-exceptions -fno-rtti"
#endif
static_assert(USOCK_HAS_EXCEPTIONS == 0);

using namespace std::chrono_literals;
namespace ut = usock::testing;

namespace {
int failures = 0;
void expect(bool ok, const char* what, const std::error_code& ec) {
  if (ok) return;
  ++failures;
  std::printf("FAIL: %s (error: %s)\n", what, ec.message().c_str());
}
}  // namespace

int main() {
  auto& net = ut::network();
  net.reset();
  std::error_code ec;
  ut::socket server(usock::af_inet, usock::sock_stream, ec);
  server.bind({"127.0.0.1", 7000}, ec);
  server.listen(1, ec);
  expect(!ec, "listen on 127.0.0.1:7000", ec);
  ut::socket client(usock::af_inet, usock::sock_stream, ec);
  client.settimeout(2s, ec);
  client.connect({"127.0.0.1", 7000}, ec);
  expect(!ec, "connect", ec);
  auto [conn, peer] = server.accept(ec);
  expect(!ec && peer == client.getsockname(ec), "accept", ec);

  const int rule = net.add(ut::rule::short_send(3).toward(7000));
  expect(client.sendall("GET temp\n", ec) == 9 && !ec, "sendall through a short send", ec);
  expect(net.fired(rule) == 1, "the short-send rule fired once", ec);
  expect(conn.readline(ec) == "GET temp\n" && !ec, "the request arrived whole", ec);

  std::array<char, 8> buffer{};
  client.recv(buffer, ec);
  expect(ec == std::errc::timed_out && net.now() == 2s, "recv timed out after exactly 2 s of network time", ec);

  net.add(ut::rule::reset_after(2).at(7000));
  conn.sendall("OK 21\n", ec);
  expect(ec == std::errc::connection_reset, "the server's side was reset after 2 bytes", ec);
  const std::string reply = client.readline(ec);
  expect(reply == "OK" && ec == std::errc::connection_reset, "the client read 2 bytes, then the reset", ec);

  client.close(ec);
  conn.close(ec);
  server.close(ec);
  expect(net.open_sockets() == 0, "every socket closed", ec);
  std::printf("testing no_exceptions: %s\n", failures == 0 ? "ok" : "FAILED");
  return failures == 0 ? 0 : 1;
}
