// The contenders on lwIP's socket API, with lwIP running inside this process (the host harness of tests/lwip):
// usock's lwIP backend, and plain C on the lwip_* calls. Workloads 1-3 (issue 5).
#include <usock/lwip.hpp>
#include <usock_lwip_host.hpp>

#include "contenders.hpp"
#include "plain_workloads.hpp"
#include "usock_workloads.hpp"

namespace usock_bench {

namespace {
/// lwIP's calls, as C calls them (lwIP never raises `SIGPIPE`, so no flag is needed).
struct lwip_api {
  static int socket(int domain, int type, int protocol) { return ::lwip_socket(domain, type, protocol); }
  static int bind(int fd, const sockaddr* a, socklen_t n) { return ::lwip_bind(fd, a, n); }
  static int listen(int fd, int backlog) { return ::lwip_listen(fd, backlog); }
  static int accept(int fd, sockaddr* a, socklen_t* n) { return ::lwip_accept(fd, a, n); }
  static int connect(int fd, const sockaddr* a, socklen_t n) { return ::lwip_connect(fd, a, n); }
  static ssize_t send(int fd, const void* p, std::size_t n, int flags) { return ::lwip_send(fd, p, n, flags); }
  static ssize_t recv(int fd, void* p, std::size_t n, int flags) { return ::lwip_recv(fd, p, n, flags); }
  static int setsockopt(int fd, int level, int name, const void* v, socklen_t n) {
    return ::lwip_setsockopt(fd, level, name, v, n);
  }
  static int getsockname(int fd, sockaddr* a, socklen_t* n) { return ::lwip_getsockname(fd, a, n); }
  static int shutdown(int fd, int how) { return ::lwip_shutdown(fd, how); }
  static int close(int fd) { return ::lwip_close(fd); }
  static constexpr int send_flags = 0;
};

using usock_lwip = usock_workloads<usock::basic_socket<usock::lwip>>;
using plain_lwip = plain_workloads<lwip_api>;

/// Runs `Workload` with lwIP up: the stack starts on first use and stays up until the process exits.
template <workload_fn Workload>
double on_lwip(const sizes& s) {
  static usock::lwip_host::stack stack;
  return Workload(s);
}
}  // namespace

contender usock_lwip_contender() {
  return {"usock", &on_lwip<&usock_lwip::bulk>, &on_lwip<&usock_lwip::pingpong>, &on_lwip<&usock_lwip::churn>,
          nullptr};
}
contender plain_lwip_contender() {
  return {"plain lwip_*", &on_lwip<&plain_lwip::bulk>, &on_lwip<&plain_lwip::pingpong>,
          &on_lwip<&plain_lwip::churn>, nullptr};
}

}  // namespace usock_bench
