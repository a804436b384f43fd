#pragma once
/// \file
/// `usock::poller`: one thread serving many sockets, as MicroPython's `select.poll`.
///
/// ```cpp
/// usock::poller p;
/// p.add(server, usock::pollin);                 // select.poll().register(server, select.POLLIN)
/// for (auto [fd, events] : p.poll(1s)) { ... }  // for sock, ev in p.ipoll(1000): ...
/// ```

#include <climits>
#include <cstddef>
#include <optional>
#include <span>
#include <system_error>

#include "backend.hpp"
#include "basic_socket.hpp"
#include "constants.hpp"
#include "detail/chrono.hpp"
#include "detail/poll_storage.hpp"
#include "error.hpp"
#include "usock.hpp"

namespace usock {

/// A set of sockets to wait on: up to `Capacity` with no heap (the firmware form), or any number
/// (`usock::dynamic_capacity`, the host's `usock::poller`: the set grows when a registration needs room, never
/// during a `poll`). How a wait works is the backend's (`Backend::poll_set`, see `polling_backend`): on Linux
/// `epoll`, so a `poll` costs O(ready sockets) and `add`/`modify`/`remove` O(1) however many are registered.
///
/// Registration is by handle, so a registered socket may be moved (into a container, say) and stays registered.
/// Remove a socket before closing it, or remove its old `fileno()` afterwards: a closed handle reports
/// `pollnval`, and a stack may hand the same number to the next socket it opens.
template <polling_backend Backend, std::size_t Capacity>
class basic_poller {
 public:
  using handle_type = typename Backend::handle_type;
  using socket_type = basic_socket<Backend>;
  using ready_entry = poll_ready<handle_type>;

  basic_poller() noexcept = default;
  basic_poller(const basic_poller&) = delete;
  basic_poller& operator=(const basic_poller&) = delete;

  /// `register(sock, events)`: adds the socket, or changes its events if it is registered already (as
  /// `select.poll` does). Errors: `bad_file_descriptor` (a closed socket), `no_buffer_space` (the poller holds
  /// `Capacity` sockets already), `not_enough_memory` (a growing poller found no memory).
  void add(const socket_type& sock, unsigned events, usock::error_code& ec) noexcept {
    add(sock.fileno(), events, ec);
  }
  void add(handle_type handle, unsigned events, usock::error_code& ec) noexcept {
    if (handle == Backend::invalid_handle) return fail(ec, std::errc::bad_file_descriptor);
    set_.add(handle, events, ec);
  }

  /// `modify(sock, events)`. Errors: `no_such_file_or_directory` (not registered).
  void modify(const socket_type& sock, unsigned events, usock::error_code& ec) noexcept {
    modify(sock.fileno(), events, ec);
  }
  void modify(handle_type handle, unsigned events, usock::error_code& ec) noexcept { set_.modify(handle, events, ec); }

  /// `unregister(sock)`. Takes the handle too, for a socket already closed: `p.remove(old_fileno)`.
  /// Errors: `no_such_file_or_directory` (not registered), `bad_file_descriptor` (a closed socket object).
  void remove(const socket_type& sock, usock::error_code& ec) noexcept {
    if (!sock.is_open()) return fail(ec, std::errc::bad_file_descriptor);
    remove(sock.fileno(), ec);
  }
  void remove(handle_type handle, usock::error_code& ec) noexcept { set_.remove(handle, ec); }

  /// `poll(timeout)` / `ipoll(timeout)`: waits until at least one socket is ready or the timeout runs out
  /// (`std::nullopt` waits forever, zero only looks), and returns the ready sockets, none on a timeout. The
  /// result lives in the poller until the next `poll`; iterating it allocates nothing, and sockets may be added,
  /// modified and removed meanwhile. `pollerr`, `pollhup` and `pollnval` are reported whether asked for or not.
  /// Signals do not cut the wait short.
  std::span<const ready_entry> poll(std::optional<std::chrono::milliseconds> timeout, usock::error_code& ec) noexcept {
    using clock = typename Backend::clock;
    const bool forever = !timeout;
    const auto deadline = forever ? typename clock::time_point{} : clock::now() + *timeout;
    for (;;) {
      int wait_ms = -1;
      if (!forever) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()).count();
        wait_ms = left <= 0 ? 0 : static_cast<int>(left < INT_MAX ? left : INT_MAX);
      }
      const auto ready = set_.wait(wait_ms, ec);
      if (ec) return {};
      if (!ready.empty() || wait_ms == 0) return ready;
    }
  }
  /// One wait of the readiness set, at most `timeout` (`std::nullopt`: no limit): as `poll`, but it may return
  /// nothing before the time is up (a signal, or `Backend::interrupt_wait()`). For event loops, which look at
  /// their timers and flags after every wait anyway.
  std::span<const ready_entry> wait_once(std::optional<std::chrono::milliseconds> timeout, usock::error_code& ec) noexcept {
    int wait_ms = -1;
    if (timeout) {
      const auto ms = timeout->count();
      wait_ms = ms <= 0 ? 0 : static_cast<int>(ms < INT_MAX ? ms : INT_MAX);
    }
    const auto ready = set_.wait(wait_ms, ec);
    if (ec) return {};
    return ready;
  }
  template <class Rep, class Period>
  std::span<const ready_entry> poll(std::chrono::duration<Rep, Period> timeout, usock::error_code& ec) noexcept {
    return poll(std::optional(std::chrono::ceil<std::chrono::milliseconds>(timeout)), ec);
  }
  std::span<const ready_entry> poll(std::nullopt_t, usock::error_code& ec) noexcept {
    return poll(std::optional<std::chrono::milliseconds>{}, ec);
  }

  /// How many sockets are registered.
  std::size_t size() const noexcept { return set_.size(); }
  /// How many sockets it can hold (`usock::dynamic_capacity`: as many as memory allows).
  static constexpr std::size_t capacity() noexcept { return Capacity; }

#if USOCK_HAS_EXCEPTIONS
  void add(const socket_type& sock, unsigned events) { throw_on(&basic_poller::add_socket, "poller.add", sock, events); }
  void add(handle_type handle, unsigned events) { throw_on(&basic_poller::add_handle, "poller.add", handle, events); }
  void modify(const socket_type& sock, unsigned events) { modify(sock.fileno(), events); }
  void modify(handle_type handle, unsigned events) {
    throw_on(&basic_poller::modify_handle, "poller.modify", handle, events);
  }
  void remove(const socket_type& sock) { throw_on(&basic_poller::remove_socket, "poller.remove", sock); }
  void remove(handle_type handle) { throw_on(&basic_poller::remove_handle, "poller.remove", handle); }
  std::span<const ready_entry> poll(std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
    usock::error_code ec;
    auto ready = poll(timeout, ec);
    detail::throw_if(ec, "poller.poll");
    return ready;
  }
  template <class Rep, class Period>
  std::span<const ready_entry> poll(std::chrono::duration<Rep, Period> timeout) {
    return poll(std::optional(std::chrono::ceil<std::chrono::milliseconds>(timeout)));
  }
  std::span<const ready_entry> poll(std::nullopt_t) { return poll(std::optional<std::chrono::milliseconds>{}); }
#endif

 private:
  static void fail(usock::error_code& ec, std::errc e) noexcept { ec = detail::make_error(e); }

#if USOCK_HAS_EXCEPTIONS
  // Named forwarding targets, so the throwing forms need not pick among overloads of the same name.
  void add_socket(const socket_type& s, unsigned e, usock::error_code& ec) noexcept { add(s, e, ec); }
  void add_handle(handle_type h, unsigned e, usock::error_code& ec) noexcept { add(h, e, ec); }
  void modify_handle(handle_type h, unsigned e, usock::error_code& ec) noexcept { modify(h, e, ec); }
  void remove_socket(const socket_type& s, usock::error_code& ec) noexcept { remove(s, ec); }
  void remove_handle(handle_type h, usock::error_code& ec) noexcept { remove(h, ec); }
  template <class Member, class... Args>
  void throw_on(Member member, const char* operation, const Args&... args) {
    usock::error_code ec;
    (this->*member)(args..., ec);
    detail::throw_if(ec, operation);
  }
#endif

  typename Backend::template poll_set<Capacity> set_;
};

#ifdef USOCK_POLLER_CAPACITY
/// The default backend's poller, holding `USOCK_POLLER_CAPACITY` sockets, as the build chose.
using poller = basic_poller<default_backend, USOCK_POLLER_CAPACITY>;
#elif defined(USOCK_BACKEND_LWIP) || defined(USOCK_BACKEND_LWIP_RAW)
/// The default backend's poller: up to 4096 sockets with no heap on lwIP (`USOCK_POLLER_CAPACITY` changes it).
using poller = basic_poller<default_backend, 4096>;
#else
/// The default backend's poller on a host: it grows on registration, so C10k and beyond need no setting.
using poller = basic_poller<default_backend, dynamic_capacity>;
#endif

}  // namespace usock
