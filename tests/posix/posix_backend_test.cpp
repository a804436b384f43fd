// What only the POSIX backend can show: descriptors are close-on-exec, blocking mode is left alone without a
// timeout, and descriptor exhaustion is a clear error.
#include <fcntl.h>
#include <sys/resource.h>

#include <vector>

#include <usock/usock.hpp>

#include "suite.hpp"

using namespace usock_test;

namespace {
bool close_on_exec(int fd) { return (::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0; }
bool nonblocking(int fd) { return (::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0; }
}  // namespace

TEST_CASE("sockets, accepted ones included, are created close-on-exec", "[posix]") {
  auto [client, server] = connected_pair();
  CHECK(close_on_exec(client.fileno()));
  CHECK(close_on_exec(server.fileno()));
  listener l;
  CHECK(close_on_exec(l.sock.fileno()));
}

TEST_CASE("the descriptor is non-blocking exactly when a timeout is set", "[posix]") {
  socket_t s;
  CHECK_FALSE(nonblocking(s.fileno()));
  s.settimeout(100ms);
  CHECK(nonblocking(s.fileno()));
  s.settimeout(0ms);
  CHECK(nonblocking(s.fileno()));
  s.settimeout(std::nullopt);
  CHECK_FALSE(nonblocking(s.fileno()));

  listener l;
  l.sock.settimeout(std::chrono::seconds(5));
  socket_t client;
  client.connect(l.addr);
  auto [timed, addr] = l.sock.accept();
  CHECK(nonblocking(timed.fileno()));  // inherits the timeout, so it is non-blocking from the start
  l.sock.settimeout(std::nullopt);
  socket_t client2;
  client2.connect(l.addr);
  auto [blocking, addr2] = l.sock.accept();
  CHECK_FALSE(nonblocking(blocking.fileno()));
}

TEST_CASE("running out of descriptors is too_many_files_open, and closing recovers", "[posix][errors]") {
  rlimit old{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &old) == 0);
  std::vector<socket_t> held;
  {
    rlimit low = old;
    low.rlim_cur = 64;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
    std::error_code ec;
    for (int i = 0; i < 100 && !ec; ++i) {
      socket_t s(usock::af_inet, usock::sock_stream, ec);
      if (!ec) held.push_back(std::move(s));
    }
    CHECK(ec == std::errc::too_many_files_open);
    CHECK_THROWS_AS(socket_t(), usock::error);
    held.pop_back();
    socket_t again(usock::af_inet, usock::sock_stream, ec);
    CHECK_FALSE(ec);
    CHECK(again.is_open());
  }
  held.clear();
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &old) == 0);
}
