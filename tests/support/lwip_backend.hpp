#pragma once
// The suite's configuration for the lwIP socket-API backend: lwIP runs inside the test process (the host
// harness, tests/lwip/host), and every case's client and server talk over its loopback interface.
#include <cstdio>

#include <usock/lwip.hpp>
#include <usock_lwip_host.hpp>

namespace usock_test {

using backend = usock::lwip;
inline constexpr const char* backend_name = "lwip";

/// Whether listen()'s backlog is enforced: only when lwIP was built with TCP_LISTEN_BACKLOG 1 (Debian's is not).
/// Without it, every connection that arrives is accepted into the queue, so a full backlog cannot make
/// connect() time out.
inline constexpr bool listen_backlog_enforced = TCP_LISTEN_BACKLOG != 0;

/// Starts lwIP before the first case (and before main counts descriptors: lwIP's threads hold none) and
/// checks afterwards that the suite closed every lwIP socket it opened.
///
/// Debian's lwIP is built with LWIP_STATS 0 and MEMP_MEM_MALLOC 1, so there are no MEMP/MEM pool counters to
/// compare. What can be checked is sockets: lwIP hands out the lowest free socket number, so a fresh socket
/// gets the same number after the suite as before it exactly when no socket was left open.
struct environment {
  environment() : first_free_(probe()) {}

  bool leak_free() const {
    const int now = probe();
    if (now == first_free_) return true;
    std::fprintf(stderr, "lwIP socket leak: the first free socket number was %d before the tests and %d after\n",
                 first_free_, now);
    return false;
  }

 private:
  static int probe() {
    const int s = ::lwip_socket(AF_INET, SOCK_STREAM, 0);
    if (s >= 0) ::lwip_close(s);
    return s;
  }

  usock::lwip_host::stack stack_;
  int first_free_;
};

}  // namespace usock_test
