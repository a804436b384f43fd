#pragma once
/// \file
/// The lwIP socket-API backend: `usock::basic_socket<usock::lwip>` on lwIP's `lwip_socket`, `lwip_connect`, ...
/// for firmware on an RTOS (ESP-IDF, FreeRTOS + lwIP, any `NO_SYS=0` port) and for lwIP running inside a
/// desktop process (Debian's `liblwip-dev`, see tests/lwip/host). Select it with the CMake target `usock::lwip`
/// or by defining `USOCK_BACKEND_LWIP`; `usock::socket` is then `basic_socket<usock::lwip>`.
///
/// Requirements on `lwipopts.h` are checked when this header compiles (see detail/lwip_config.hpp and
/// docs/lwip.md): `NO_SYS 0`, `LWIP_SOCKET 1`, `LWIP_TCP 1`, `LWIP_COMPAT_SOCKETS` 0 or 2, and `lwip_poll`
/// (`LWIP_SOCKET_POLL`) or `lwip_select` (`LWIP_SOCKET_SELECT`). Everything else is optional and reported at run
/// time when missing: `af_inet6` without `LWIP_IPV6` is `address_family_not_supported`, `so_reuseaddr` without
/// `SO_REUSE` is `no_protocol_option`, host names without `LWIP_DNS` are `no_such_device_or_address`.
///
/// Threads: as on every lwIP without `LWIP_NETCONN_FULLDUPLEX`, one socket must be used by one thread at a time
/// (two sockets on two threads are fine); in particular, do not close a socket while another thread waits on it.

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <system_error>
#include <vector>

#include "address.hpp"
#include "backend.hpp"
#include "buffer.hpp"
#include "constants.hpp"
#include "detail/chrono.hpp"
#include "detail/lwip_clock.hpp"
#include "detail/lwip_config.hpp"
#include "detail/lwip_errno.hpp"
#include "detail/scan_poll_set.hpp"

namespace usock {

/// The lwIP socket-API backend tag. Handles are lwIP socket numbers (not operating-system descriptors). lwIP
/// never raises `SIGPIPE` and has no close-on-exec. `listen()` without a backlog uses lwIP's
/// `TCP_DEFAULT_LISTEN_BACKLOG` (at most 255); lwIP enforces a backlog only when built with
/// `TCP_LISTEN_BACKLOG 1`.
///
/// Differences from POSIX that this backend evens out, so the shared semantics hold:
/// - a refused connection, which lwIP reports as `ECONNRESET`, is `connection_refused`;
/// - `bind` on a bound socket is `invalid_argument` (lwIP would rebind it);
/// - `listen` on an unbound socket binds it to an ephemeral port first, as POSIX does;
/// - `recv` and `shutdown` on a socket that was never connected are `not_connected` (lwIP would block, or
///   close the socket);
/// - boolean options read back as 0 or 1, and `so_sndbuf` reads as the stack's fixed `TCP_SND_BUF` (lwIP has
///   no `SO_SNDBUF`; setting it is `no_protocol_option`). Without `LWIP_SO_RCVBUF`, `so_rcvbuf` reads as
///   `TCP_WND` and setting it is `no_protocol_option`.
struct lwip {
  /// An lwIP socket number (`lwip_socket`'s result), not an operating-system descriptor.
  using handle_type = int;
#if USOCK_LWIP_STEADY_CLOCK
  /// Deadlines are measured on the host's monotonic clock.
  using clock = std::chrono::steady_clock;
#else
  /// Deadlines are measured on lwIP's `sys_now()` (see detail/lwip_clock.hpp).
  using clock = lwip_sys_clock;
#endif
  static constexpr handle_type invalid_handle = -1;
  /// `listen()`'s backlog when none is given: lwIP's `TCP_DEFAULT_LISTEN_BACKLOG`, at most 255.
  static constexpr int default_backlog = TCP_DEFAULT_LISTEN_BACKLOG < 255 ? TCP_DEFAULT_LISTEN_BACKLOG : 255;

  /// A new blocking TCP socket. Errors: `address_family_not_supported` (the stack lacks that IP version),
  /// `no_buffer_space` (lwIP 2.1 has no free netconn or pcb: the stack is at its configured connection limit),
  /// `too_many_files_open_in_system` / `not_enough_memory` (other lwIP versions and ports).
  static handle_type open(address_family family, socket_type, usock::error_code& ec) noexcept {
    int domain = 0;
    if (!native_family(family, domain, ec)) return invalid_handle;
    const int s = ::lwip_socket(domain, SOCK_STREAM, 0);
    if (s < 0) return fail(ec), invalid_handle;
    remember_peer(s, false);
    ec.clear();
    return s;
  }

  /// `lwip_close`. Errors: `bad_file_descriptor`.
  static void close(handle_type s, usock::error_code& ec) noexcept {
    remember_peer(s, false);
    if (::lwip_close(s) != 0) return fail(ec);
    ec.clear();
  }

  /// `lwip_ioctl(FIONBIO)`. Errors: `bad_file_descriptor`.
  static void set_nonblocking(handle_type s, bool on, usock::error_code& ec) noexcept {
    int flag = on ? 1 : 0;
    if (::lwip_ioctl(s, static_cast<long>(FIONBIO), &flag) != 0) return fail(ec);
    ec.clear();
  }

  /// One `lwip_connect`. Errors: `connection_refused`, `operation_in_progress` (non-blocking),
  /// `connection_already_in_progress`, `already_connected`, `connection_aborted` (SYN retries exhausted),
  /// `host_unreachable` (no route), `address_family_not_supported`.
  static void connect(handle_type s, const address& addr, usock::error_code& ec) noexcept {
    native_address sa;
    if (!to_native(s, addr, sa, ec)) return;
    if (::lwip_connect(s, sa.get(), sa.length) == 0) return remember_peer(s, true), ec.clear();
    connect_failed(errno, ec);
  }

  /// The outcome of a non-blocking connect (`SO_ERROR`, which lwIP clears on reading): the errors of `connect`.
  static void connect_result(handle_type s, usock::error_code& ec) noexcept {
    int err = 0;
    socklen_t len = sizeof err;
    if (::lwip_getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return fail(ec);
    if (err == 0) return remember_peer(s, true), ec.clear();
    connect_failed(err, ec);
  }

  /// `lwip_bind`. Errors: `address_in_use`, `invalid_argument` (bound already), `address_family_not_supported`.
  static void bind(handle_type s, const address& addr, usock::error_code& ec) noexcept {
    // lwIP would move a bound socket to the new address; every other stack refuses.
    const std::uint16_t bound = local_port(s, ec);
    if (ec) return;
    if (bound != 0) {
      ec = detail::make_error(std::errc::invalid_argument);
      return;
    }
    native_address sa;
    if (!to_native(s, addr, sa, ec)) return;
    if (::lwip_bind(s, sa.get(), sa.length) != 0) return fail(ec);
    ec.clear();
  }

  /// `lwip_listen` (backlog capped at 255 by lwIP), binding an unbound socket to an ephemeral port first.
  /// Errors: `address_in_use`, `not_enough_memory` (no listening PCB left).
  static void listen(handle_type s, int backlog, usock::error_code& ec) noexcept {
    // POSIX binds an unbound listener to an ephemeral port; lwIP would listen on port 0.
    if (local_port(s, ec) == 0 && !ec) bind(s, address{"", 0}, ec);
    if (ec) return;
    if (::lwip_listen(s, backlog) != 0) return fail(ec);
    ec.clear();
  }

  /// `lwip_accept`; the new socket is non-blocking when asked. Errors: `resource_unavailable_try_again`
  /// (non-blocking, none pending), `invalid_argument` (not listening), `too_many_files_open_in_system`,
  /// `connection_aborted` (the listener was aborted, or a connection arrived but lwIP had no netconn or pcb
  /// left for it: the client sees it refused or reset).
  static handle_type accept(handle_type s, address& peer, bool nonblocking, usock::error_code& ec) noexcept {
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    const int conn = ::lwip_accept(s, reinterpret_cast<sockaddr*>(&sa), &len);
    if (conn < 0) return fail(ec), invalid_handle;
    remember_peer(conn, true);
    if (nonblocking) {
      set_nonblocking(conn, true, ec);
      if (ec) {
        usock::error_code ignored;  // the error to report is the one in ec
        close(conn, ignored);
        return invalid_handle;
      }
    }
    peer = from_native(sa);
    ec.clear();
    return conn;
  }

  /// One `lwip_send` (a blocking socket returns once lwIP has queued everything). Errors:
  /// `resource_unavailable_try_again` (non-blocking, no room), `connection_reset`, `not_connected`.
  static std::size_t send(handle_type s, const_bytes data, usock::error_code& ec) noexcept {
    const auto n = ::lwip_send(s, data.data(), data.size(), 0);
    if (n < 0) return fail(ec), 0;
    ec.clear();
    return static_cast<std::size_t>(n);
  }

  /// `lwip_recv`: 0 at EOF (and after it). Errors: `resource_unavailable_try_again` (non-blocking, nothing
  /// there), `connection_reset` (after the data that came before it), `not_connected` (never connected).
  static std::size_t recv(handle_type s, mutable_bytes buffer, usock::error_code& ec) noexcept {
    if (known_peer(s)) {
      // Connected: one call, which honours the socket's own O_NONBLOCK.
      const auto n = ::lwip_recv(s, buffer.data(), buffer.size(), 0);
      if (n >= 0) return ec.clear(), static_cast<std::size_t>(n);
      if (errno == ENOTCONN) return at_eof(s, ec), 0;
      return fail(ec), 0;
    }
    // Not known to be connected. First without waiting: data, EOF and errors come back from this one call.
    const auto n = ::lwip_recv(s, buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n >= 0) return ec.clear(), static_cast<std::size_t>(n);
    if (errno == ENOTCONN) return at_eof(s, ec), 0;
    if (!would_block(errno)) return fail(ec), 0;
    // Nothing there yet. lwIP would wait forever on a socket that was never connected: say so instead.
    if (peer_error(s) != 0) {
      // A connection that died between the two calls has left its error or EOF behind: report that.
      const auto again = ::lwip_recv(s, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (again >= 0) return ec.clear(), static_cast<std::size_t>(again);
      if (!would_block(errno) && errno != ENOTCONN) return fail(ec), 0;
      return ec = detail::make_error(std::errc::not_connected), 0;
    }
    const int flags = ::lwip_fcntl(s, F_GETFL, 0);
    if (flags < 0) return fail(ec), 0;
    if ((flags & O_NONBLOCK) != 0) return ec = detail::make_error(std::errc::resource_unavailable_try_again), 0;
    const auto waited = ::lwip_recv(s, buffer.data(), buffer.size(), 0);
    if (waited >= 0) return ec.clear(), static_cast<std::size_t>(waited);
    if (errno == ENOTCONN) return at_eof(s, ec), 0;
    return fail(ec), 0;
  }

  /// `lwip_shutdown`. Errors: `not_connected`.
  static void shutdown(handle_type s, shutdown_how how, usock::error_code& ec) noexcept {
    // On a socket that never connected, lwIP's shutdown would release the socket's connection block.
    if (const int e = peer_error(s); e != 0) {
      ec = e == EBADF ? detail::lwip_errno_code(e) : detail::make_error(std::errc::not_connected);
      return;
    }
    const int h = how == shutdown_how::read ? SHUT_RD : how == shutdown_how::write ? SHUT_WR : SHUT_RDWR;
    if (::lwip_shutdown(s, h) != 0) return fail(ec);
    ec.clear();
  }

  /// `lwip_setsockopt` with lwIP's levels and names. Errors: `no_protocol_option` (a mismatched pair, or an
  /// option this lwIP lacks: `so_sndbuf` always, `so_reuseaddr` without `SO_REUSE`, `so_rcvbuf` without
  /// `LWIP_SO_RCVBUF`), `invalid_argument` (the connection is gone).
  static void setsockopt(handle_type s, option_level level, socket_option option, int value,
                         usock::error_code& ec) noexcept {
    int lvl = 0, name = 0;
    if (!native_option(level, option, lvl, name, ec)) return;
    if (option == socket_option::sndbuf || (option == socket_option::rcvbuf && !has_rcvbuf)) {
      // Fixed when lwIP is built (TCP_SND_BUF, TCP_WND): refusing is honest, ignoring would not be.
      if (!valid(s, ec)) return;
      ec = detail::make_error(std::errc::no_protocol_option);
      return;
    }
    if (::lwip_setsockopt(s, lvl, name, &value, sizeof value) != 0) return fail(ec);
    ec.clear();
  }

  /// `lwip_getsockopt`, flags as 0 or 1. Errors as `setsockopt`, except that `so_sndbuf` reads as
  /// `TCP_SND_BUF` (and `so_rcvbuf` as `TCP_WND` without `LWIP_SO_RCVBUF`).
  static int getsockopt(handle_type s, option_level level, socket_option option, usock::error_code& ec) noexcept {
    int lvl = 0, name = 0, value = 0;
    if (!native_option(level, option, lvl, name, ec)) return 0;
    if (option == socket_option::sndbuf) return valid(s, ec) ? static_cast<int>(TCP_SND_BUF) : 0;
    if (option == socket_option::rcvbuf && !has_rcvbuf) return valid(s, ec) ? static_cast<int>(TCP_WND) : 0;
    socklen_t len = sizeof value;
    if (::lwip_getsockopt(s, lvl, name, &value, &len) != 0) return fail(ec), 0;
    ec.clear();
    // lwIP reads flags back as their internal bit (SOF_KEEPALIVE is 8): report 0 or 1, as POSIX does.
    if (option != socket_option::rcvbuf) value = value != 0 ? 1 : 0;
    return value;
  }

  /// `lwip_getsockname`. Errors: `bad_file_descriptor`.
  static address local_address(handle_type s, usock::error_code& ec) noexcept {
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    if (::lwip_getsockname(s, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return fail(ec), address{};
    ec.clear();
    return from_native(sa);
  }

  /// `lwip_getpeername`. Errors: `not_connected`.
  static address peer_address(handle_type s, usock::error_code& ec) noexcept {
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    if (::lwip_getpeername(s, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return fail(ec), address{};
    ec.clear();
    return from_native(sa);
  }

  /// Waits with `lwip_poll` (or `lwip_select` where the stack has no poll). lwIP's waits are not interrupted by
  /// signals, so a `false` return always means the time ran out.
  static bool wait(handle_type s, wait_for what, int timeout_ms, usock::error_code& ec) noexcept {
    pollfd p = make_poll_entry(s, what == wait_for::read ? pollin : pollout);
    const int n = wait_native(&p, 1, timeout_ms);
    if (n > 0) return ec.clear(), true;
    if (n < 0) return fail_wait(p, ec), false;
    ec.clear();
    return false;
  }

  // ---- polling (usock::poller) --------------------------------------------------------------------------

  /// The readiness set of `usock::basic_poller`: an array of the entries below, each wait asking about all of
  /// them (a board's handful of sockets; see `detail/scan_poll_set.hpp`).
  template <std::size_t Capacity>
  using poll_set = detail::scan_poll_set<lwip, Capacity>;

  /// lwIP's `struct pollfd` (the host's, when lwIP uses the system's socket headers).
  using poll_entry = pollfd;

  /// An entry asking for `events` (`pollin`, `pollout`) on `s`.
  static poll_entry make_poll_entry(handle_type s, unsigned events) noexcept {
    pollfd p{};
    p.fd = s;
    p.events = native_events(events);
    return p;
  }
  /// The handle an entry watches.
  static handle_type poll_entry_handle(const poll_entry& entry) noexcept { return entry.fd; }
  /// Changes what an entry asks for.
  static void set_poll_events(poll_entry& entry, unsigned events) noexcept { entry.events = native_events(events); }
  /// What the last `poll` found for an entry, as usock's `pollin`... flags.
  static unsigned poll_revents(const poll_entry& entry) noexcept {
    const int r = entry.revents;
    return ((r & POLLIN) ? pollin : 0u) | ((r & POLLOUT) ? pollout : 0u) | ((r & POLLERR) ? pollerr : 0u) |
           ((r & POLLHUP) ? pollhup : 0u) | ((r & POLLNVAL) ? pollnval : 0u);
  }

  /// `poll` as usock defines it, on lwIP: lwIP itself reports no hang-up and fails the whole call for one
  /// closed handle, so each entry is looked at first. A closed handle is `pollnval`; a socket that is neither
  /// connected, connecting nor listening (a new one, or one whose connection is gone) is `pollhup`; either
  /// makes the call return at once, with the other entries' readiness as it is. A connection lwIP reports as
  /// failed (`POLLERR`: reset or aborted) is also `pollhup`, as on POSIX.
  static std::size_t poll(poll_entry* entries, std::size_t count, int timeout_ms, usock::error_code& ec) noexcept {
    bool at_once = false;
    for (std::size_t i = 0; i < count; ++i) {
      entries[i].revents = static_cast<short>(hang_up_state(entries[i].fd));
      at_once = at_once || entries[i].revents != 0;
    }
    ec.clear();
    if (!at_once) {
      const int n = wait_native(entries, count, timeout_ms);
      if (n < 0) {
        // A socket closed by another thread meanwhile: report it as the next look will.
        for (std::size_t i = 0; i < count; ++i)
          if (entries[i].revents & POLLNVAL) return 1;
        return fail(ec), 0;
      }
      std::size_t ready = 0;
      for (std::size_t i = 0; i < count; ++i) ready += mark_hang_up(entries[i]) != 0 ? 1 : 0;
      return ready;
    }
    std::size_t ready = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const short found = entries[i].revents;
      if (!(found & POLLNVAL) && wait_native(&entries[i], 1, 0) < 0) entries[i].revents = 0;
      entries[i].revents = static_cast<short>(entries[i].revents | found);
      ready += mark_hang_up(entries[i]) != 0 ? 1 : 0;
    }
    return ready;
  }

  /// Every address of `host` for TCP. Numeric text is returned as is; `localhost` is the loopback address of
  /// each IP version the stack has, and `""` the "any" address of each, without a look-up. Other names need
  /// `LWIP_DNS 1` (one address: lwIP's resolver gives no more); without it they are
  /// `no_such_device_or_address`, as is a name the resolver does not know (`not_enough_memory` if it ran out).
  static std::vector<address> resolve(std::string_view host, std::uint16_t port, usock::error_code& ec) {
    std::vector<address> result;
    ec.clear();
    const address numeric{host, port};
    if (numeric.valid() && !host.empty()) {
      result.push_back(numeric);
      return result;
    }
    if (host == "localhost" || host.empty()) {
      // "" is every interface (as AI_PASSIVE), "localhost" the loopback addresses, in each IP version there is.
      if (LWIP_IPV4) result.emplace_back(host.empty() ? "0.0.0.0" : "127.0.0.1", port);
      if (LWIP_IPV6) result.emplace_back(host.empty() ? "::" : "::1", port);
      return result;
    }
#if LWIP_DNS
    if (host.size() < 256) {
      char name[256];
      std::memcpy(name, host.data(), host.size());
      name[host.size()] = '\0';
      addrinfo hints{};
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* list = nullptr;
      const int rc = ::lwip_getaddrinfo(name, nullptr, &hints, &list);
      if (rc == 0) {
        for (const addrinfo* ai = list; ai; ai = ai->ai_next) {
          sockaddr_storage sa{};
          std::memcpy(&sa, ai->ai_addr, ai->ai_addrlen < sizeof sa ? ai->ai_addrlen : sizeof sa);
          address a = from_native(sa);
          if (a.valid()) result.push_back(with_port(a, port));
        }
        ::lwip_freeaddrinfo(list);
        if (!result.empty()) return result;
      }
      ec = detail::make_error(rc == EAI_MEMORY ? std::errc::not_enough_memory
                                                 : std::errc::no_such_device_or_address);
      return result;
    }
#endif
    ec = detail::make_error(std::errc::no_such_device_or_address);
    return result;
  }

 private:
#if LWIP_SO_RCVBUF
  static constexpr bool has_rcvbuf = true;
#else
  static constexpr bool has_rcvbuf = false;
#endif

  static short native_events(unsigned events) noexcept {
    return static_cast<short>(((events & pollin) ? POLLIN : 0) | ((events & pollout) ? POLLOUT : 0));
  }

  /// One wait on `count` entries: `lwip_poll`, or `lwip_select` on stacks built without poll.
  static int wait_native(pollfd* entries, std::size_t count, int timeout_ms) noexcept {
#if USOCK_LWIP_WAIT_WITH_POLL
    return ::lwip_poll(entries, static_cast<nfds_t>(count), timeout_ms);
#else
    fd_set readable, writable, failed;
    FD_ZERO(&readable);
    FD_ZERO(&writable);
    FD_ZERO(&failed);
    int top = -1;
    for (std::size_t i = 0; i < count; ++i) {
      entries[i].revents = 0;
      if (entries[i].fd < 0) continue;
      if (entries[i].events & POLLIN) FD_SET(entries[i].fd, &readable);
      if (entries[i].events & POLLOUT) FD_SET(entries[i].fd, &writable);
      FD_SET(entries[i].fd, &failed);
      top = entries[i].fd > top ? entries[i].fd : top;
    }
    timeval tv{};
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    const int n = ::lwip_select(top + 1, &readable, &writable, &failed, timeout_ms < 0 ? nullptr : &tv);
    if (n <= 0) return n;
    int ready = 0;
    for (std::size_t i = 0; i < count; ++i) {
      if (entries[i].fd < 0) continue;
      int r = 0;
      if (FD_ISSET(entries[i].fd, &readable)) r |= POLLIN;
      if (FD_ISSET(entries[i].fd, &writable)) r |= POLLOUT;
      if (FD_ISSET(entries[i].fd, &failed)) r |= POLLERR;
      entries[i].revents = static_cast<short>(r);
      ready += r != 0 ? 1 : 0;
    }
    return ready;
#endif
  }

  /// lwIP's poll marks a closed handle POLLNVAL and returns -1 without setting errno.
  static void fail_wait(const pollfd& p, usock::error_code& ec) noexcept {
    ec = (p.revents & POLLNVAL) ? detail::lwip_errno_code(EBADF) : detail::lwip_errno_code(errno);
  }

  /// POLLNVAL for a closed handle, POLLHUP for a socket with no connection that is not listening, else 0.
  static int hang_up_state(handle_type s) noexcept {
    if (s < 0) return 0;
    const int e = peer_error(s);
    if (e == 0) return 0;
    if (e == EBADF) return POLLNVAL;
    int listening = 0;
    socklen_t len = sizeof listening;
    if (::lwip_getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening) return 0;
    return POLLHUP;
  }

  /// A connection lwIP reports failed is hung up too; returns the entry's events.
  static short mark_hang_up(pollfd& p) noexcept {
    if (p.revents & POLLERR) p.revents = static_cast<short>(p.revents | POLLHUP);
    return p.revents;
  }

  static bool would_block(int e) noexcept { return e == EWOULDBLOCK || e == EAGAIN; }

  /// Whether each socket number has a peer (set by a successful `connect` and by `accept`, cleared by `open`
  /// and `close`): `recv` on such a socket can block in lwIP without the risk of waiting forever on a socket
  /// that never connected. Relaxed atomics: a socket is used by one thread at a time.
  static inline std::atomic<bool> has_peer_[USOCK_LWIP_TRACKED_SOCKETS]{};
  static std::atomic<bool>* peer_flag(handle_type s) noexcept {
    const auto i = static_cast<unsigned long>(static_cast<long>(s) - LWIP_SOCKET_OFFSET);
    return i < static_cast<unsigned long>(USOCK_LWIP_TRACKED_SOCKETS) ? &has_peer_[i] : nullptr;
  }
  static void remember_peer(handle_type s, bool connected) noexcept {
    if (auto* flag = peer_flag(s)) flag->store(connected, std::memory_order_relaxed);
  }
  static bool known_peer(handle_type s) noexcept {
    const auto* flag = peer_flag(s);
    return flag != nullptr && flag->load(std::memory_order_relaxed);
  }

  /// lwIP delivers EOF once, then answers ENOTCONN; POSIX keeps returning 0. A socket that still has its peer
  /// is at EOF (or shut for reading): 0 again. One without is not connected.
  static void at_eof(handle_type s, usock::error_code& ec) noexcept {
    if (peer_error(s) == 0) return ec.clear();
    ec = detail::make_error(std::errc::not_connected);
  }
  static void fail(usock::error_code& ec) noexcept { ec = detail::lwip_errno_code(errno); }

  /// lwIP reports a connection refused by the peer (a RST answering the SYN) as ECONNRESET.
  static void connect_failed(int e, usock::error_code& ec) noexcept {
    ec = e == ECONNRESET ? detail::make_error(std::errc::connection_refused) : detail::lwip_errno_code(e);
  }

  static bool native_family(address_family family, int& domain, usock::error_code& ec) noexcept {
    if (family == address_family::inet6) {
#if LWIP_IPV6
      domain = AF_INET6;
      return true;
#endif
    } else {
#if LWIP_IPV4
      domain = AF_INET;
      return true;
#endif
    }
    ec = detail::make_error(std::errc::address_family_not_supported);
    return false;
  }

  static bool native_option(option_level level, socket_option option, int& lvl, int& name,
                            usock::error_code& ec) noexcept {
    if (level_of(option) != level) {
      ec = detail::make_error(std::errc::no_protocol_option);
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

  /// True when `s` names an open socket (SO_TYPE is answered by every lwIP socket).
  static bool valid(handle_type s, usock::error_code& ec) noexcept {
    int type = 0;
    socklen_t len = sizeof type;
    if (::lwip_getsockopt(s, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return fail(ec), false;
    ec.clear();
    return true;
  }

  /// 0 when `s` has a peer (connected, or connecting: lwIP's getpeername answers from SYN_SENT on), else the
  /// `errno` value of asking: `ENOTCONN`, or `EBADF` for a handle that is not a socket.
  static int peer_error(handle_type s) noexcept {
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    return ::lwip_getpeername(s, reinterpret_cast<sockaddr*>(&sa), &len) == 0 ? 0 : (errno != 0 ? errno : ENOTCONN);
  }

  static std::uint16_t local_port(handle_type s, usock::error_code& ec) noexcept {
    const address a = local_address(s, ec);
    return ec ? 0 : a.port();
  }

  static address with_port(const address& a, std::uint16_t port) noexcept {
    return a.family() == address_family::inet6 ? address::ipv6(a.bytes().first<16>(), port)
                                               : address::ipv4(a.bytes().first<4>(), port);
  }

  /// A socket address in lwIP's layout (which is the host's when lwIP uses the system's socket headers).
  struct native_address {
    sockaddr_storage storage{};
    socklen_t length = 0;
    const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
  };

  template <class Sockaddr>
  static void set_length([[maybe_unused]] Sockaddr& sa) noexcept {
    if constexpr (requires { sa.sin_len; }) sa.sin_len = static_cast<decltype(sa.sin_len)>(sizeof sa);
    if constexpr (requires { sa.sin6_len; }) sa.sin6_len = static_cast<decltype(sa.sin6_len)>(sizeof sa);
  }

  static void put_port(void* field, std::uint16_t port) noexcept {
    const unsigned char be[2] = {static_cast<unsigned char>(port >> 8), static_cast<unsigned char>(port & 0xff)};
    std::memcpy(field, be, 2);
  }
  static std::uint16_t get_port(const void* field) noexcept {
    unsigned char be[2];
    std::memcpy(be, field, 2);
    return static_cast<std::uint16_t>(be[0] << 8 | be[1]);
  }

  /// The socket's own family, for `address{"", port}`: "any" in whichever family the socket has.
  static bool is_inet6_socket([[maybe_unused]] handle_type s) noexcept {
#if LWIP_IPV6
    sockaddr_storage sa{};
    socklen_t len = sizeof sa;
    return ::lwip_getsockname(s, reinterpret_cast<sockaddr*>(&sa), &len) == 0 && sa.ss_family == AF_INET6;
#else
    return false;
#endif
  }

  static bool to_native(handle_type s, const address& addr, native_address& out, usock::error_code& ec) noexcept {
    const bool inet6 = addr.family() == address_family::inet6 || (addr.any_family() && is_inet6_socket(s));
    if (inet6) {
#if LWIP_IPV6
      auto& in6 = reinterpret_cast<sockaddr_in6&>(out.storage);
      set_length(in6);
      in6.sin6_family = AF_INET6;
      put_port(&in6.sin6_port, addr.port());
      if (!addr.any_family()) std::memcpy(&in6.sin6_addr, addr.bytes().data(), 16);
      out.length = sizeof in6;
      return true;
#endif
    } else {
#if LWIP_IPV4
      auto& in4 = reinterpret_cast<sockaddr_in&>(out.storage);
      set_length(in4);
      in4.sin_family = AF_INET;
      put_port(&in4.sin_port, addr.port());
      std::memcpy(&in4.sin_addr, addr.bytes().data(), 4);
      out.length = sizeof in4;
      return true;
#endif
    }
    ec = detail::make_error(std::errc::address_family_not_supported);
    return false;
  }

  static address from_native(const sockaddr_storage& sa) noexcept {
#if LWIP_IPV6
    if (sa.ss_family == AF_INET6) {
      const auto& in6 = reinterpret_cast<const sockaddr_in6&>(sa);
      std::uint8_t bytes[16];
      std::memcpy(bytes, &in6.sin6_addr, 16);
      return address::ipv6(std::span<const std::uint8_t, 16>(bytes), get_port(&in6.sin6_port));
    }
#endif
#if LWIP_IPV4
    if (sa.ss_family == AF_INET) {
      const auto& in4 = reinterpret_cast<const sockaddr_in&>(sa);
      std::uint8_t bytes[4];
      std::memcpy(bytes, &in4.sin_addr, 4);
      return address::ipv4(std::span<const std::uint8_t, 4>(bytes), get_port(&in4.sin_port));
    }
#endif
    return address{};
  }
};

static_assert(socket_backend<lwip>);
static_assert(resolving_backend<lwip>);
static_assert(polling_backend<lwip>);

}  // namespace usock
