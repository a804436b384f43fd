#pragma once
/// \file
/// The POSIX backend: `usock::basic_socket<usock::posix>` on the operating system's sockets (Linux, macOS, BSD).
/// This is the only usock header that includes the system's socket headers.

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "address.hpp"
#include "backend.hpp"
#include "buffer.hpp"
#include "constants.hpp"
#include "detail/chrono.hpp"
#include "detail/scan_poll_set.hpp"
#include "error.hpp"

#if !USOCK_STD_ERROR_CODE
#error "usock::posix runs on a hosted system, where usock::error_code is std::error_code: set USOCK_STD_ERROR_CODE to 1"
#endif

// The poller's readiness set: epoll on Linux, poll(2) on other systems or when the build defines USOCK_POSIX_POLL.
#if defined(__linux__) && !defined(USOCK_POSIX_POLL)
#define USOCK_POSIX_EPOLL 1
#include "detail/posix_epoll.hpp"
#else
#define USOCK_POSIX_EPOLL 0
#endif

namespace usock {

namespace detail {

/// Errors of `getaddrinfo`, which are not `errno` values. Each maps to the nearest `std::errc`, so
/// `ec == std::errc::...` works on them too; `message()` is `gai_strerror`'s text.
class resolver_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "usock.getaddrinfo"; }
  std::string message(int value) const override { return ::gai_strerror(value); }
  std::error_condition default_error_condition(int value) const noexcept override {
    switch (value) {
      case EAI_NONAME:
#ifdef EAI_NODATA
      case EAI_NODATA:
#endif
        return std::errc::no_such_device_or_address;
      case EAI_AGAIN: return std::errc::resource_unavailable_try_again;
      case EAI_MEMORY: return std::errc::not_enough_memory;
      case EAI_FAMILY: return std::errc::address_family_not_supported;
      default: return std::errc::invalid_argument;
    }
  }
};

inline const std::error_category& resolver_category() noexcept {
  static const resolver_category_impl category;
  return category;
}

}  // namespace detail

/// The POSIX backend tag. Sockets are created close-on-exec; `SIGPIPE` is suppressed per call (`MSG_NOSIGNAL`)
/// or, where that flag does not exist, per socket (`SO_NOSIGPIPE`). `listen()` uses a backlog of
/// `min(SOMAXCONN, 128)`, as CPython does.
struct posix {
  using handle_type = int;
  using clock = std::chrono::steady_clock;
  static constexpr handle_type invalid_handle = -1;
  static constexpr int default_backlog = SOMAXCONN < 128 ? SOMAXCONN : 128;

  static handle_type open(address_family family, socket_type, std::error_code& ec) noexcept {
    return open_socket(family, false, ec);
  }
  /// `open`, the socket non-blocking from the start (`SOCK_NONBLOCK`: no `ioctl` after it).
  static handle_type open_nonblocking(address_family family, socket_type, std::error_code& ec) noexcept {
    return open_socket(family, true, ec);
  }
  /// epoll and poll(2) report a failed connect with `EPOLLERR`/`POLLERR` (see `connect_failure_polls_error`).
  static constexpr bool connect_failure_polls_error = true;

  static void close(handle_type fd, std::error_code& ec) noexcept {
#if USOCK_POSIX_EPOLL
    detail::closed_handles.record(fd);  // so a poller still holding `fd` reports it closed (posix_epoll.hpp)
#endif
    // Never retried: on Linux the descriptor is gone even when close reports EINTR.
    if (::close(fd) != 0 && errno != EINTR) return fail(ec);
    ec.clear();
  }

  static void set_nonblocking(handle_type fd, bool on, std::error_code& ec) noexcept {
    int flag = on ? 1 : 0;
    if (::ioctl(fd, FIONBIO, &flag) != 0) return fail(ec);
    ec.clear();
  }

  static void connect(handle_type fd, const address& addr, std::error_code& ec) noexcept {
    sockaddr_storage sa;
    const socklen_t len = to_sockaddr(fd, addr, sa);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), len) == 0) return ec.clear();
    if (errno != EINTR) return fail(ec);
    // An interrupted connect goes on in the background: wait for its outcome rather than connecting again.
    pollfd p{fd, POLLOUT, 0};
    while (::poll(&p, 1, -1) < 0) {
      if (errno != EINTR) return fail(ec);
    }
    connect_result(fd, ec);
  }

  static void connect_result(handle_type fd, std::error_code& ec) noexcept {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return fail(ec);
    ec = err ? errno_code(err) : std::error_code{};
  }

  static void bind(handle_type fd, const address& addr, std::error_code& ec) noexcept {
    sockaddr_storage sa;
    const socklen_t len = to_sockaddr(fd, addr, sa);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), len) != 0) return fail(ec);
    ec.clear();
  }

  static void listen(handle_type fd, int backlog, std::error_code& ec) noexcept {
    if (::listen(fd, backlog) != 0) return fail(ec);
    ec.clear();
  }

  static handle_type accept(handle_type fd, address& peer, bool nonblocking, std::error_code& ec) noexcept {
    for (;;) {
      sockaddr_storage sa;
      socklen_t len = sizeof sa;
#if defined(__linux__)
      const int conn = ::accept4(fd, reinterpret_cast<sockaddr*>(&sa), &len,
                                 SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0));
#else
      const int conn = ::accept(fd, reinterpret_cast<sockaddr*>(&sa), &len);
#endif
      if (conn < 0) {
        // A connection that died in the queue is not this listener's error: take the next one.
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
        return fail(ec), invalid_handle;
      }
#if !defined(__linux__)
      ::fcntl(conn, F_SETFD, FD_CLOEXEC);
      if (nonblocking) set_nonblocking(conn, true, ec);
      if (ec || !no_sigpipe(conn, ec)) return ::close(conn), invalid_handle;
#else
      (void)nonblocking;
#endif
      peer = from_sockaddr(sa);
      ec.clear();
      return conn;
    }
  }

  static std::size_t send(handle_type fd, const_bytes data, std::error_code& ec) noexcept {
    for (;;) {
      const ssize_t n = ::send(fd, data.data(), data.size(), send_flags);
      if (n >= 0) return ec.clear(), static_cast<std::size_t>(n);
      if (errno != EINTR) return fail(ec), 0;
    }
  }

  static std::size_t recv(handle_type fd, mutable_bytes buffer, std::error_code& ec) noexcept {
    for (;;) {
      const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
      if (n >= 0) return ec.clear(), static_cast<std::size_t>(n);
      if (errno != EINTR) return fail(ec), 0;
    }
  }

  static void shutdown(handle_type fd, shutdown_how how, std::error_code& ec) noexcept {
    const int h = how == shutdown_how::read ? SHUT_RD : how == shutdown_how::write ? SHUT_WR : SHUT_RDWR;
    if (::shutdown(fd, h) != 0) return fail(ec);
    ec.clear();
  }

  static void setsockopt(handle_type fd, option_level level, socket_option option, int value,
                         std::error_code& ec) noexcept {
    int lvl = 0, name = 0;
    if (!native_option(level, option, lvl, name, ec)) return;
    if (::setsockopt(fd, lvl, name, &value, sizeof value) != 0) return fail(ec);
    ec.clear();
  }

  static int getsockopt(handle_type fd, option_level level, socket_option option, std::error_code& ec) noexcept {
    int lvl = 0, name = 0, value = 0;
    if (!native_option(level, option, lvl, name, ec)) return 0;
    socklen_t len = sizeof value;
    if (::getsockopt(fd, lvl, name, &value, &len) != 0) return fail(ec), 0;
    ec.clear();
    return value;
  }

  static address local_address(handle_type fd, std::error_code& ec) noexcept {
    sockaddr_storage sa;
    socklen_t len = sizeof sa;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return fail(ec), address{};
    ec.clear();
    return from_sockaddr(sa);
  }

  static address peer_address(handle_type fd, std::error_code& ec) noexcept {
    sockaddr_storage sa;
    socklen_t len = sizeof sa;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return fail(ec), address{};
    ec.clear();
    return from_sockaddr(sa);
  }

  static bool wait(handle_type fd, wait_for what, int timeout_ms, std::error_code& ec) noexcept {
    pollfd p{fd, static_cast<short>(what == wait_for::read ? POLLIN : POLLOUT), 0};
    const int n = ::poll(&p, 1, timeout_ms);
    if (n > 0) return ec.clear(), true;
    if (n < 0 && errno != EINTR) return fail(ec), false;
    ec.clear();
    return false;
  }

  // ---- polling (usock::poller) --------------------------------------------------------------------------

  /// The readiness set of `usock::basic_poller`: `epoll` on Linux (O(ready) per wait), `poll(2)` elsewhere
  /// or with `USOCK_POSIX_POLL` defined (O(registered) per wait, on the entries below).
#if USOCK_POSIX_EPOLL
  template <std::size_t Capacity>
  using poll_set = detail::epoll_poll_set<Capacity>;
#else
  template <std::size_t Capacity>
  using poll_set = detail::scan_poll_set<posix, Capacity>;
#endif

  /// `poll(2)`'s entries, for the `poll(2)` readiness set.
  using poll_entry = pollfd;

  static poll_entry make_poll_entry(handle_type fd, unsigned events) noexcept {
    return pollfd{fd, native_events(events), 0};
  }
  static handle_type poll_entry_handle(const poll_entry& entry) noexcept { return entry.fd; }
  static void set_poll_events(poll_entry& entry, unsigned events) noexcept { entry.events = native_events(events); }
  static unsigned poll_revents(const poll_entry& entry) noexcept {
    const short r = entry.revents;
    return ((r & POLLIN) ? pollin : 0u) | ((r & POLLOUT) ? pollout : 0u) | ((r & POLLERR) ? pollerr : 0u) |
           ((r & POLLHUP) ? pollhup : 0u) | ((r & POLLNVAL) ? pollnval : 0u);
  }
  static std::size_t poll(poll_entry* entries, std::size_t count, int timeout_ms, std::error_code& ec) noexcept {
    const int n = ::poll(entries, static_cast<nfds_t>(count), timeout_ms);
    if (n < 0 && errno != EINTR) return fail(ec), 0;
    ec.clear();
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }

  /// Every address `host` resolves to for TCP, in the resolver's order. Numeric text is not looked up.
  /// No `AI_ADDRCONFIG`: `localhost` resolves on a machine whose only interface is loopback.
  static std::vector<address> resolve(std::string_view host, std::uint16_t port, std::error_code& ec) {
    std::vector<address> result;
    const address numeric{host, port};
    if (numeric.valid() && !host.empty()) {
      result.push_back(numeric);
      ec.clear();
      return result;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    if (host.empty()) hints.ai_flags = AI_PASSIVE;
    const std::string name(host);
    addrinfo* list = nullptr;
    const int rc = ::getaddrinfo(host.empty() ? nullptr : name.c_str(), std::to_string(port).c_str(), &hints, &list);
    if (rc != 0) {
      ec = rc == EAI_SYSTEM ? errno_code(errno) : std::error_code(rc, detail::resolver_category());
      return result;
    }
    for (const addrinfo* ai = list; ai; ai = ai->ai_next) {
      if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
      sockaddr_storage sa{};
      std::memcpy(&sa, ai->ai_addr, ai->ai_addrlen);
      const address a = from_sockaddr(sa);
      bool seen = false;
      for (const address& r : result) seen = seen || r == a;
      if (!seen) result.push_back(a);
    }
    ::freeaddrinfo(list);
    ec.clear();
    return result;
  }

 private:
#ifdef MSG_NOSIGNAL
  static constexpr int send_flags = MSG_NOSIGNAL;
#else
  static constexpr int send_flags = 0;
#endif

  static short native_events(unsigned events) noexcept {
    return static_cast<short>(((events & pollin) ? POLLIN : 0) | ((events & pollout) ? POLLOUT : 0));
  }

  static std::error_code errno_code(int e) noexcept {
    // One spelling for "would block", so callers test a single value.
    if (e == EWOULDBLOCK) e = EAGAIN;
    return {e, std::generic_category()};
  }
  static void fail(std::error_code& ec) noexcept { ec = errno_code(errno); }

  static handle_type open_socket(address_family family, bool nonblocking, std::error_code& ec) noexcept {
    const int domain = family == address_family::inet6 ? AF_INET6 : AF_INET;
#if defined(SOCK_CLOEXEC) && defined(SOCK_NONBLOCK)
    const int fd = ::socket(domain, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) return fail(ec), invalid_handle;
#else
    const int fd = ::socket(domain, SOCK_STREAM, 0);
    if (fd < 0) return fail(ec), invalid_handle;
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (nonblocking) {
      set_nonblocking(fd, true, ec);
      if (ec) return ::close(fd), invalid_handle;
    }
#endif
    if (!no_sigpipe(fd, ec)) return ::close(fd), invalid_handle;
    ec.clear();
    return fd;
  }

  static bool no_sigpipe([[maybe_unused]] int fd, std::error_code& ec) noexcept {
#if defined(SO_NOSIGPIPE) && !defined(MSG_NOSIGNAL)
    const int on = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on) != 0) return fail(ec), false;
#endif
    ec.clear();
    return true;
  }

  static bool native_option(option_level level, socket_option option, int& lvl, int& name,
                            std::error_code& ec) noexcept {
    if (level_of(option) != level) {
      ec = errno_code(ENOPROTOOPT);
      return false;
    }
    lvl = level == option_level::tcp ? IPPROTO_TCP : SOL_SOCKET;
    switch (option) {
      case socket_option::reuseaddr: name = SO_REUSEADDR; break;
      case socket_option::keepalive: name = SO_KEEPALIVE; break;
      case socket_option::rcvbuf: name = SO_RCVBUF; break;
      case socket_option::sndbuf: name = SO_SNDBUF; break;
      case socket_option::nodelay: name = TCP_NODELAY; break;
    }
    return true;
  }

  /// The socket's own family, for `address{"", port}` ("any", in whichever family the socket has).
  static int family_of(int fd) noexcept {
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    return ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0 ? sa.ss_family : AF_INET;
  }

  static socklen_t to_sockaddr(int fd, const address& addr, sockaddr_storage& sa) noexcept {
    std::memset(&sa, 0, sizeof sa);
    if (addr.family() == address_family::inet6 || (addr.any_family() && family_of(fd) == AF_INET6)) {
      auto& in6 = reinterpret_cast<sockaddr_in6&>(sa);
      in6.sin6_family = AF_INET6;
      in6.sin6_port = htons(addr.port());
      if (!addr.any_family()) std::memcpy(&in6.sin6_addr, addr.bytes().data(), 16);
      return sizeof in6;
    }
    auto& in4 = reinterpret_cast<sockaddr_in&>(sa);
    in4.sin_family = AF_INET;
    in4.sin_port = htons(addr.port());
    std::memcpy(&in4.sin_addr, addr.bytes().data(), 4);
    return sizeof in4;
  }

  static address from_sockaddr(const sockaddr_storage& sa) noexcept {
    if (sa.ss_family == AF_INET6) {
      const auto& in6 = reinterpret_cast<const sockaddr_in6&>(sa);
      return address::ipv6(std::span<const std::uint8_t, 16>(in6.sin6_addr.s6_addr, 16), ntohs(in6.sin6_port));
    }
    if (sa.ss_family == AF_INET) {
      const auto& in4 = reinterpret_cast<const sockaddr_in&>(sa);
      return address::ipv4(std::span<const std::uint8_t, 4>(reinterpret_cast<const std::uint8_t*>(&in4.sin_addr), 4),
                           ntohs(in4.sin_port));
    }
    return address{};
  }
};

static_assert(socket_backend<posix>);
static_assert(resolving_backend<posix>);
static_assert(polling_backend<posix>);

}  // namespace usock
