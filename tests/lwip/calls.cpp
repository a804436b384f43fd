// How many lwIP calls usock::lwip makes for a receive. This program defines lwip_recv, lwip_getpeername and
// lwip_fcntl itself, counting the calls made on the counting thread and handing each to Debian's liblwip
// (found with dlsym(RTLD_NEXT)); the program's own definitions take precedence over the shared library's.
#include <dlfcn.h>

#include <array>
#include <cstddef>
#include <cstdlib>

#include <usock/lwip.hpp>

#include "suite.hpp"

namespace {

struct lwip_calls {
  int recv = 0;
  int recv_dontwait = 0;
  int getpeername = 0;
  int fcntl = 0;
};
thread_local lwip_calls counted;

template <class F>
F next_definition(const char* name) {
  void* f = ::dlsym(RTLD_NEXT, name);
  if (f == nullptr) std::abort();  // the shared library must define what it declares
  return reinterpret_cast<F>(f);
}

}  // namespace

extern "C" ssize_t lwip_recv(int s, void* mem, size_t len, int flags) {
  static const auto real = next_definition<ssize_t (*)(int, void*, size_t, int)>("lwip_recv");
  ++counted.recv;
  if ((flags & MSG_DONTWAIT) != 0) ++counted.recv_dontwait;
  return real(s, mem, len, flags);
}

extern "C" int lwip_getpeername(int s, struct sockaddr* name, socklen_t* namelen) {
  static const auto real = next_definition<int (*)(int, struct sockaddr*, socklen_t*)>("lwip_getpeername");
  ++counted.getpeername;
  return real(s, name, namelen);
}

extern "C" int lwip_fcntl(int s, int cmd, int val) {
  static const auto real = next_definition<int (*)(int, int, int)>("lwip_fcntl");
  ++counted.fcntl;
  return real(s, cmd, val);
}

using namespace usock_test;

TEST_CASE("recv on a connected socket is one blocking lwip_recv, whether data is there or not", "[lwip]") {
  auto pair = connected_pair();
  std::array<char, 8> buf;

  // Data already there.
  pair.client.sendall("ab");
  counted = {};
  REQUIRE(pair.server.recv(buf) == 2);
  CHECK(counted.recv == 1);
  CHECK(counted.recv_dontwait == 0);
  CHECK(counted.getpeername == 0);
  CHECK(counted.fcntl == 0);

  // Data not there yet (or there by the time lwIP looks): still one call, which waits if it must.
  background sender([&] { pair.client.sendall("c"); });
  counted = {};
  REQUIRE(pair.server.recv(buf) == 1);
  CHECK(buf[0] == 'c');
  CHECK(counted.recv == 1);
  CHECK(counted.recv_dontwait == 0);
  CHECK(counted.getpeername == 0);
  CHECK(counted.fcntl == 0);

  // The client end, which connected, likewise.
  pair.server.sendall("d");
  counted = {};
  REQUIRE(pair.client.recv(buf) == 1);
  CHECK(counted.recv == 1);
  CHECK(counted.getpeername == 0);
}

TEST_CASE("recv on a socket not known to be connected checks for a peer before it could block", "[lwip]") {
  socket_t never_connected;
  std::array<char, 4> buf;
  counted = {};
  CHECK(error_of([&](auto& ec) { never_connected.recv(buf, ec); }) == std::errc::not_connected);
  CHECK(counted.recv_dontwait >= 1);
  CHECK(counted.recv == counted.recv_dontwait);  // it never called the blocking form
  CHECK(counted.getpeername >= 1);
}
