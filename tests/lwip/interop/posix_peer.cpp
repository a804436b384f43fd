// The Linux-side peer of the interop test, on usock's POSIX backend (the kernel's TCP). Run inside the test's
// own network namespace by usock_lwip_interop; it only ever talks to the address it is given there.
//
//   usock_interop_peer serve HOST         listen on HOST, port 0; print "PORT <n>"; echo one connection to EOF;
//                                          print "PEER <address>"
//   usock_interop_peer connect HOST PORT BYTES
//                                          send "hello\n", expect it back as a line, then BYTES of the pattern;
//                                          half-close; expect the same bytes back, then EOF
//
// Exit status 0 when everything checked out. The pattern is interop_pattern.hpp's, shared with the lwIP side.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>

#include <usock/posix.hpp>
#include <usock/basic_socket.hpp>

#include "interop_pattern.hpp"

namespace {

using socket_t = usock::basic_socket<usock::posix>;

int serve(std::string_view host) {
  socket_t server;
  server.settimeout(std::chrono::seconds(30));
  server.bind({host, 0});
  server.listen(1);
  std::printf("PORT %u\n", static_cast<unsigned>(server.getsockname().port()));
  std::fflush(stdout);
  auto [conn, addr] = server.accept();
  conn.settimeout(std::chrono::seconds(30));
  std::printf("PEER %s\n", addr.to_string().c_str());
  std::array<std::byte, 16384> data;
  while (std::size_t n = conn.recv(data)) conn.sendall(std::span(data).first(n));
  std::fflush(stdout);
  return 0;
}

int connect_and_check(std::string_view host, std::uint16_t port, std::size_t bytes) {
  socket_t s;
  s.settimeout(std::chrono::seconds(30));
  s.connect({host, port});
  s.sendall("hello\n");
  if (s.readline() != "hello\n") return std::fprintf(stderr, "posix peer: the greeting did not come back\n"), 1;
  const std::string payload = usock_interop::pattern(bytes);
  std::thread writer([&] {
    s.sendall(payload);
    s.shutdown(usock::shut_wr);
  });
  const std::string echoed = s.read();
  writer.join();
  if (echoed != payload) {
    std::fprintf(stderr, "posix peer: %zu bytes came back for %zu sent, or different ones\n", echoed.size(), bytes);
    return 1;
  }
  std::printf("ECHOED %zu\n", echoed.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  const std::string_view mode = argc > 1 ? argv[1] : "";
  if (mode == "serve" && argc == 3) return serve(argv[2]);
  if (mode == "connect" && argc == 5)
    return connect_and_check(argv[2], static_cast<std::uint16_t>(std::atoi(argv[3])),
                             static_cast<std::size_t>(std::strtoull(argv[4], nullptr, 10)));
  std::fprintf(stderr, "usage: usock_interop_peer serve HOST | connect HOST PORT BYTES\n");
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "posix peer: %s\n", e.what());
  return 1;
}
