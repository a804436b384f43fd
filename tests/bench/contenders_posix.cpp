// The contenders on the machine's own TCP/IP stack: usock's POSIX backend, and plain C on the POSIX calls.
#include <unistd.h>

#include <usock/usock.hpp>

#include "contenders.hpp"
#include "plain_workloads.hpp"
#include "usock_workloads.hpp"

namespace usock_bench {

namespace {
/// The POSIX calls, as C calls them (`MSG_NOSIGNAL` on send, as any program that must not die of `SIGPIPE`).
struct posix_api {
  static int socket(int domain, int type, int protocol) { return ::socket(domain, type, protocol); }
  static int bind(int fd, const sockaddr* a, socklen_t n) { return ::bind(fd, a, n); }
  static int listen(int fd, int backlog) { return ::listen(fd, backlog); }
  static int accept(int fd, sockaddr* a, socklen_t* n) { return ::accept(fd, a, n); }
  static int connect(int fd, const sockaddr* a, socklen_t n) { return ::connect(fd, a, n); }
  static ssize_t send(int fd, const void* p, std::size_t n, int flags) { return ::send(fd, p, n, flags); }
  static ssize_t recv(int fd, void* p, std::size_t n, int flags) { return ::recv(fd, p, n, flags); }
  static int setsockopt(int fd, int level, int name, const void* v, socklen_t n) {
    return ::setsockopt(fd, level, name, v, n);
  }
  static int getsockname(int fd, sockaddr* a, socklen_t* n) { return ::getsockname(fd, a, n); }
  static int shutdown(int fd, int how) { return ::shutdown(fd, how); }
  static int close(int fd) { return ::close(fd); }
  static constexpr int send_flags = MSG_NOSIGNAL;
};

using usock_posix = usock_workloads<usock::socket>;
using plain_posix = plain_workloads<posix_api>;
}  // namespace

contender usock_posix_contender() {
  return {"usock", &usock_posix::bulk, &usock_posix::pingpong, &usock_posix::churn, &usock_posix::lines};
}
contender usock_posix_reusing_contender() {
  return {"usock readline(line)", nullptr, nullptr, nullptr, usock_posix::lines_reusing};
}
contender plain_posix_contender() {
  return {"plain C", &plain_posix::bulk, &plain_posix::pingpong, &plain_posix::churn, &plain_posix::lines};
}

}  // namespace usock_bench
