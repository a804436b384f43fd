#pragma once
/// \file
/// `usock::poller`: one thread serving many sockets, as MicroPython's `select.poll`.
///
/// ```cpp
/// usock::poller p;
/// p.add(server, usock::pollin);                 // select.poll().register(server, select.POLLIN)
/// for (auto [fd, events] : p.poll(1s)) { ... }  // for sock, ev in p.ipoll(1000): ...
/// ```

#include <array>
#include <climits>
#include <cstddef>
#include <optional>
#include <span>
#include <system_error>

#include "backend.hpp"
#include "basic_socket.hpp"
#include "constants.hpp"
#include "detail/chrono.hpp"
#include "error.hpp"
#include "usock.hpp"

#ifndef USOCK_POLLER_CAPACITY
/// How many sockets `usock::poller` can hold; `basic_poller<Backend, N>` chooses its own.
#define USOCK_POLLER_CAPACITY 4096
#endif

namespace usock {

/// One ready socket from `poll()`: binds as `auto [fd, events]`, `fd` being the socket's `fileno()`.
template <class Handle>
struct poll_ready {
  Handle fd;
  unsigned events;  ///< `pollin`, `pollout`, `pollerr`, `pollhup`, `pollnval`, combined
};

/// A set of up to `Capacity` sockets to wait on, with no heap: the firmware form. Registration is by handle, so
/// a registered socket may be moved (into a container, say) and stays registered. Remove a socket before
/// closing it, or remove its old `fileno()` afterwards: a closed handle reports `pollnval`, and a stack may hand
/// the same number to the next socket it opens.
template <polling_backend Backend, std::size_t Capacity>
class basic_poller {
 public:
  using handle_type = typename Backend::handle_type;
  using socket_type = basic_socket<Backend>;
  using ready_entry = poll_ready<handle_type>;

  /// `register(sock, events)`: adds the socket, or changes its events if it is registered already (as
  /// `select.poll` does). Errors: `bad_file_descriptor` (a closed socket), `no_buffer_space` (the poller holds
  /// `Capacity` sockets already).
  void add(const socket_type& sock, unsigned events, usock::error_code& ec) noexcept {
    add(sock.fileno(), events, ec);
  }
  void add(handle_type handle, unsigned events, usock::error_code& ec) noexcept {
    if (handle == Backend::invalid_handle) return fail(ec, std::errc::bad_file_descriptor);
    if (auto* entry = find(handle)) return Backend::set_poll_events(*entry, events), ec.clear();
    if (count_ == Capacity) return fail(ec, std::errc::no_buffer_space);
    entries_[count_++] = Backend::make_poll_entry(handle, events);
    ec.clear();
  }

  /// `modify(sock, events)`. Errors: `no_such_file_or_directory` (not registered).
  void modify(const socket_type& sock, unsigned events, usock::error_code& ec) noexcept {
    modify(sock.fileno(), events, ec);
  }
  void modify(handle_type handle, unsigned events, usock::error_code& ec) noexcept {
    auto* entry = find(handle);
    if (!entry) return fail(ec, std::errc::no_such_file_or_directory);
    Backend::set_poll_events(*entry, events);
    ec.clear();
  }

  /// `unregister(sock)`. Takes the handle too, for a socket already closed: `p.remove(old_fileno)`.
  /// Errors: `no_such_file_or_directory` (not registered), `bad_file_descriptor` (a closed socket object).
  void remove(const socket_type& sock, usock::error_code& ec) noexcept {
    if (!sock.is_open()) return fail(ec, std::errc::bad_file_descriptor);
    remove(sock.fileno(), ec);
  }
  void remove(handle_type handle, usock::error_code& ec) noexcept {
    auto* entry = find(handle);
    if (!entry) return fail(ec, std::errc::no_such_file_or_directory);
    *entry = entries_[--count_];  // order does not matter to poll
    ec.clear();
  }

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
      const std::size_t n = Backend::poll(entries_.data(), count_, wait_ms, ec);
      if (ec) return {};
      if (n > 0) return collect();
      if (wait_ms == 0) return {};
    }
  }
  template <class Rep, class Period>
  std::span<const ready_entry> poll(std::chrono::duration<Rep, Period> timeout, usock::error_code& ec) noexcept {
    return poll(std::optional(std::chrono::ceil<std::chrono::milliseconds>(timeout)), ec);
  }
  std::span<const ready_entry> poll(std::nullopt_t, usock::error_code& ec) noexcept {
    return poll(std::optional<std::chrono::milliseconds>{}, ec);
  }

  /// How many sockets are registered.
  std::size_t size() const noexcept { return count_; }
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

  typename Backend::poll_entry* find(handle_type handle) noexcept {
    for (std::size_t i = 0; i < count_; ++i)
      if (Backend::poll_entry_handle(entries_[i]) == handle) return &entries_[i];
    return nullptr;
  }

  std::span<const ready_entry> collect() noexcept {
    std::size_t n = 0;
    for (std::size_t i = 0; i < count_; ++i)
      if (const unsigned events = Backend::poll_revents(entries_[i]))
        ready_[n++] = ready_entry{Backend::poll_entry_handle(entries_[i]), events};
    return {ready_.data(), n};
  }

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

  std::array<typename Backend::poll_entry, Capacity> entries_{};
  std::array<ready_entry, Capacity> ready_{};
  std::size_t count_ = 0;
};

/// The default backend's poller, sized for a host (`USOCK_POLLER_CAPACITY`, 4096 unless defined otherwise).
using poller = basic_poller<default_backend, USOCK_POLLER_CAPACITY>;

}  // namespace usock
